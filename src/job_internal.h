/*
 * job's private parts, shared by the files of the job layer, one file per
 * stage of the pipeline:
 *   job.c       mpiwc_run(): the phases in order, as steps that the
 *               library (api.c) takes too;
 *   job_agree.c what every phase uses to stay in step: agreement and a
 *               broadcast of bytes (a rank's own error goes through util.h's
 *               mpiwc_say_rank());
 *   job_plan.c  the plan phase: rank 0 reads the option files and lists the
 *               inputs, every rank probes a share, the plan goes to every rank;
 *   job_map.c   the map phase: each rank reads and counts its ranges, with
 *               agreement rounds for early shuffles, progress and checkpoints;
 *   job_ckpt.c  checkpoints: choosing one to resume, loading, writing, removing;
 *   job_memory.c each rank's memory budget (--memory-limit, auto worked out)
 *               and spill directory.
 * Nothing here is for other modules; mpiwc/job.h is the job's interface.
 *
 * Layer: collective over the job's communicator (each function says which
 * ranks call it).
 */
#ifndef MPIWC_JOB_INTERNAL_H
#define MPIWC_JOB_INTERNAL_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mpiwc/checkpoint.h"
#include "mpiwc/cli.h"
#include "mpiwc/plan.h"
#include "mpiwc/progress.h"
#include "mpiwc/report.h"
#include "mpiwc/shuffle.h"
#include "mpiwc/spill.h"
#include "mpiwc/table.h"
#include "mpiwc/topology.h"
#include "mpiwc/util.h"

/*
 * The files of options that rank 0 reads once for every rank, so that a path
 * seen from rank 0's node only (or a pipe) gives every rank the same words.
 */
struct shared_files {
    char *stopwords; /* --stopwords: the list's bytes; NULL: none */
    size_t stopwords_len;
};

/*
 * --checkpoint-dir: this rank's share. done lists the intervals whose words
 * are in this rank's tables (rank 0 also holds those of the checkpoint it
 * resumed from, whose words the ranks loaded).
 */
struct ckpt {
    const char *dir; /* NULL: no checkpoints */
    struct mpiwc_ckpt_done done;
    uint64_t next;   /* generation to write next */
    uint64_t loaded; /* generation resumed from, 0: none */
    uint64_t loaded_nranks;
    uint64_t inputs, options; /* fingerprints */
    uint64_t skipped;         /* bytes the restart did not read again (rank 0) */
    uint64_t total;           /* the plan's bytes, with those done (rank 0) */
    double last;              /* rank 0: MPI_Wtime() of the start or the last checkpoint */
    uint64_t count, bytes;
    double seconds;
};

/*
 * Agreement rounds during the map, for bounded memory and for progress: a
 * non-blocking allreduce (sum) of {local table at the limit, still reading,
 * bytes read}. A rank starts a round after a read buffer, tests it after the
 * next ones, and acts on its result once complete: if any table is at the
 * limit, all ranks run an early shuffle round (a single rank, whose local
 * table holds only its own words, spills it instead); rank 0 updates the
 * progress line. Every rank sees the same result for the same round, so the
 * collectives stay in one order on every rank; a rank done reading keeps
 * taking part until a round says that no rank reads.
 */
struct rounds {
    MPI_Comm comm;
    const struct mpiwc_topology *topo; /* the shuffle's, over comm */
    int nranks;
    struct mpiwc_table *local, *owned;
    size_t limit, cap;         /* limit 0: no early rounds */
    struct mpiwc_spill *spill; /* where owned words (one rank: local ones) go past the budget */
    size_t more;               /* words one read buffer may add to the local table */
    struct mpiwc_shuffle_stats *sh;
    FILE *err; /* where a rank reports its shuffle error */
    const uint64_t *bytes_read;
    struct mpiwc_progress *progress; /* rank 0's line, or NULL */
    MPI_Request req;
    bool pending;
    uint64_t send[3], recv[3];
    uint64_t early; /* early shuffle rounds run */
    int failed;
};

/* job_agree.c */

/* Collective. Every rank learns whether any rank failed. */
int mpiwc_job_agree(int failed, MPI_Comm comm);

/*
 * Collective. Every rank learns whether any rank failed (why: its reason,
 * NULL: it did not), and rank 0 prints the first failing rank's reason as
 * "[rank R on HOST] why": one line for the job, however many ranks failed.
 * Returns 0, or -1 on every rank.
 */
int mpiwc_job_agree_why(const char *why, MPI_Comm comm, FILE *err);

/*
 * Collective. Every rank learns whether any rank failed (its msg[0..len), the
 * same len on every rank, is not empty) and gets the first failing rank's
 * msg in its own. Returns 0, or -1 on every rank.
 */
int mpiwc_job_agree_msg(char *msg, size_t len, MPI_Comm comm);

/* Collective. Broadcast a byte buffer of any length from rank 0, in pieces below INT_MAX. */
void mpiwc_job_bcast_bytes(uint8_t *buf, uint64_t len, MPI_Comm comm);

/* job_plan.c */

/*
 * Collective. Rank 0 reads the shared files and lists the inputs, every rank
 * probes a share of them, then rank 0 checks the targets and splits. Returns
 * rank 0's verdict on rank 0 (0 on the others), and rank 0 prints the one
 * error line. sf is filled on rank 0 only (mpiwc_job_free_shared in every case).
 */
int mpiwc_job_make_plan(const struct mpiwc_options *opts, MPI_Comm comm, struct mpiwc_plan *plan,
                        struct shared_files *sf, FILE *err);

/*
 * Collective. The plan phase: rank 0 plans (and picks a checkpoint to resume
 * from); every rank receives the plan and the shared files, checks the
 * directories it will write into, and learns whether rank 0 shows progress.
 * Returns 0, or -1 on every rank (the error is printed).
 */
int mpiwc_job_distribute_plan(const struct mpiwc_options *opts, MPI_Comm comm,
                              struct mpiwc_plan *plan, struct shared_files *sf, bool *progress,
                              struct ckpt *ck, FILE *err);

void mpiwc_job_free_shared(struct shared_files *sf);

/* Local. Is a person watching err (a terminal, or a controlling terminal)? */
bool mpiwc_job_watched(FILE *err);

/* job_ckpt.c */

/* Local (rank 0), after planning: refuse what cannot be resumed, then pick a checkpoint. */
int mpiwc_job_ckpt_plan(const struct mpiwc_options *opts, const struct shared_files *sf, int nranks,
                        struct mpiwc_plan *plan, struct ckpt *ck, FILE *err);

/* Local (rank 0), once every rank agreed to go on: the checkpoint the job resumes from. */
void mpiwc_job_ckpt_say_resume(const struct mpiwc_options *opts, const struct ckpt *ck, FILE *err);

/* Collective. Load the resumed checkpoint's tables into local. */
int mpiwc_job_ckpt_load(struct ckpt *ck, const struct mpiwc_plan *plan, int rank, int nranks,
                        struct mpiwc_table *local, MPI_Comm comm, FILE *err);

/* Collective over r->comm. Write the next generation; 0 or -1 on every rank. */
int mpiwc_job_ckpt_write(struct ckpt *ck, const struct mpiwc_plan *plan, const struct rounds *r,
                         int rank, FILE *err);

/* Local. Remove dir's generations older than below (UINT64_MAX: every one). */
void mpiwc_job_ckpt_remove_older(const char *dir, uint64_t below);

/* job.c */

/* Everything one run holds between its phases, on every rank. */
struct job {
    const struct mpiwc_options *opts;
    MPI_Comm comm;
    int rank, nranks;
    FILE *out, *err;
    const char *output; /* the table's file, NULL: out (rank 0); opts->output, or the library's */
    struct mpiwc_report rep;
    struct mpiwc_plan plan;
    struct shared_files sf;
    struct ckpt ck;
    bool progress_on; /* rank 0 shows the progress line; every rank takes part in its rounds */
    struct mpiwc_progress progress;
    struct mpiwc_table local, owned;
    size_t budget;              /* this rank's bytes for its tables; 0: no limit */
    struct mpiwc_spill spill;   /* the owned words (one rank: the local ones) past the budget */
    struct mpiwc_topology topo; /* hosts, and the node shuffle's routes */
    struct mpiwc_shuffle_stats sh;
    struct rounds rounds;
    uint64_t all_bytes; /* every rank's input bytes, summed by the map's last round */
};

/*
 * The steps of a run, which mpiwc_run() and the library (api.c) take in this
 * order: init; count (plan, map, shuffle: every rank then holds its owned
 * words in owned and spill); output (gathers and writes the table, and
 * frees the owned words) or the library's own reading of them; report;
 * free (whatever step the run stopped after). Each collective step returns
 * an exit status, the same on every rank.
 */
void mpiwc_job_init(struct job *j, const struct mpiwc_options *opts, MPI_Comm comm, FILE *out,
                    FILE *err);
int mpiwc_job_count(struct job *j);
int mpiwc_job_output(struct job *j);
int mpiwc_job_report(struct job *j);
void mpiwc_job_free(struct job *j);

/* job_memory.c */

/*
 * Collective. This rank's budget for its tables: --memory-limit, or for auto
 * half the memory of its host (the smaller of the physical memory and the
 * cgroup's limit) shared by the job's ranks on that host, and at most half
 * of what its own ulimit -v or -d leaves beside what it maps already (MPI's
 * libraries and shared memory). 0: no limit.
 */
size_t mpiwc_job_budget(const struct mpiwc_options *opts, MPI_Comm comm);

/* Local. The bytes at which the local table goes to the owners early: 256 MiB, or a
 * quarter of a smaller budget; 0 with no budget. The owned words get the rest. */
size_t mpiwc_job_local_limit(size_t budget);

/* Local. Where this rank spills: --spill-dir, else $TMPDIR, else /tmp. */
const char *mpiwc_job_spill_dir(const struct mpiwc_options *opts);

/* job_map.c */

/*
 * Collective. The map phase: read this rank's ranges (and its pieces of
 * standard input) into r->local; prints the rank's error line. Returns 0, -1
 * when any rank failed, or 1 when the ranks stopped after a checkpoint.
 */
int mpiwc_job_map(const struct mpiwc_options *opts, const struct mpiwc_plan *plan,
                  const struct shared_files *sf, int rank, struct rounds *r, bool rounds,
                  struct ckpt *ck, struct mpiwc_report *rep, FILE *err);

#endif

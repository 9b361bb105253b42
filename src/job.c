#include "mpiwc/job.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/checkpoint.h"
#include "mpiwc/codec.h"
#include "mpiwc/output.h"
#include "mpiwc/plan.h"
#include "mpiwc/progress.h"
#include "mpiwc/reader.h"
#include "mpiwc/report.h"
#include "mpiwc/shuffle.h"
#include "mpiwc/stream.h"
#include "mpiwc/table.h"
#include "mpiwc/tokenize.h"
#include "mpiwc/util.h"

#define ERRLEN 4200 /* a path of PATH_MAX bytes plus a reason */

/* Collective. Every rank learns whether any rank failed. */
static int agree(int failed, MPI_Comm comm)
{
    int any;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm);
    return any;
}

/* Collective. Broadcast a byte buffer of any length from rank 0, in pieces below INT_MAX. */
static void bcast_bytes(uint8_t *buf, uint64_t len, MPI_Comm comm)
{
    const uint64_t piece = 1u << 30;
    for (uint64_t off = 0; off < len; off += piece) {
        uint64_t n = len - off < piece ? len - off : piece;
        MPI_Bcast(buf + off, (int)n, MPI_BYTE, 0, comm);
    }
}

/*
 * Rank 0: refuse an output target that is one of the inputs (it would be
 * replaced). res: the probes of plan->files, which carry each file's device
 * and inode, so a million inputs cost no second stat.
 */
static int overwrites_input(const char *target, const struct mpiwc_plan *plan,
                            const struct mpiwc_plan_probe *res, char *err, size_t errlen)
{
    struct stat t;
    if (!target || strcmp(target, "-") == 0 || stat(target, &t) != 0)
        return 0; /* "-" is standard output */
    for (size_t i = 0; i < plan->nfiles; i++) {
        if (plan->files[i].size == MPIWC_PLAN_STREAM || res[i].error || !res[i].regular)
            continue;
        if (res[i].dev == (uint64_t)t.st_dev && res[i].ino == (uint64_t)t.st_ino) {
            snprintf(err, errlen, "%s: is also an input (%s): refusing to overwrite it", target,
                     plan->files[i].path);
            return -1;
        }
    }
    return 0;
}

/*
 * The files of options that rank 0 reads once for every rank, so that a path
 * seen from rank 0's node only (or a pipe) gives every rank the same words.
 */
struct shared_files {
    char *stopwords; /* --stopwords: the list's bytes; NULL: none */
    size_t stopwords_len;
};

/* Rank 0: read the --stopwords file. */
static int read_shared(const struct mpiwc_options *opts, struct shared_files *sf, char *msg,
                       size_t msglen)
{
    if (!opts->stopwords)
        return 0;
    for (size_t i = 0; i < opts->npaths; i++)
        if (strcmp(opts->stopwords, "-") == 0 &&
            (strcmp(opts->paths[i], "-") == 0 ||
             (opts->files_from && strcmp(opts->files_from, "-") == 0))) {
            snprintf(msg, msglen, "-: standard input cannot be both an input and --stopwords");
            return -1;
        }
    if (mpiwc_read_whole(opts->stopwords, &sf->stopwords, &sf->stopwords_len, msg, msglen) == 0)
        return 0;
    size_t n = strlen(msg);
    snprintf(msg + n, msglen - n, " (--stopwords)");
    return -1;
}

/* Collective. Rank 0's shared files to every rank (rank 0 read them in make_plan). */
static void bcast_shared(struct shared_files *sf, MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    uint64_t head[2] = {sf->stopwords != NULL, sf->stopwords_len};
    MPI_Bcast(head, 2, MPI_UINT64_T, 0, comm);
    if (!head[0])
        return;
    if (rank != 0) {
        sf->stopwords_len = (size_t)head[1];
        sf->stopwords = mpiwc_xmalloc(sf->stopwords_len + 1);
    }
    bcast_bytes((uint8_t *)sf->stopwords, head[1], comm);
}

static void free_shared(struct shared_files *sf)
{
    free(sf->stopwords);
    memset(sf, 0, sizeof *sf);
}

/* Rank 0: the paths of the command line, then those of --files-from, listed into plan. */
static int expand_inputs(const struct mpiwc_options *opts, struct mpiwc_plan *plan, char *msg,
                         size_t msglen)
{
    struct mpiwc_plan_filter filter = {opts->include, opts->ninclude, opts->exclude, opts->nexclude,
                                       opts->compat_hadoop};
    if (!opts->files_from)
        return mpiwc_plan_list(plan, opts->paths, opts->npaths, &filter, msg, msglen);
    for (size_t i = 0; i < opts->npaths; i++)
        if (strcmp(opts->files_from, "-") == 0 && strcmp(opts->paths[i], "-") == 0) {
            snprintf(msg, msglen, "-: standard input cannot be both an input and --files-from");
            return -1;
        }
    char *data, **listed = NULL;
    size_t len;
    if (mpiwc_read_whole(opts->files_from, &data, &len, msg, msglen) != 0)
        return -1;
    size_t n = mpiwc_plan_split_list(data, len, opts->files_from_nul, &listed);
    char **all = mpiwc_xmalloc(mpiwc_mul_size(opts->npaths + n + 1, sizeof *all));
    for (size_t i = 0; i < opts->npaths; i++)
        all[i] = opts->paths[i];
    for (size_t i = 0; i < n; i++)
        all[opts->npaths + i] = listed[i];
    int rc = 0;
    if (opts->npaths + n == 0) {
        snprintf(msg, msglen, "%s: no paths in the list of files",
                 strcmp(opts->files_from, "-") == 0 ? "standard input" : opts->files_from);
        rc = -1;
    } else {
        rc = mpiwc_plan_list(plan, all, opts->npaths + n, &filter, msg, msglen);
    }
    free(all);
    free(listed);
    free(data);
    return rc;
}

/*
 * Collective. Open every listed file once, on some rank: rank r probes the
 * r-th of nranks nearly equal slices of rank 0's list (the paths arrive by
 * Scatterv) and rank 0 gathers the fixed-size results (caller frees; NULL on
 * the other ranks). With a million small files this is most of the planning,
 * and it now takes 1/nranks of the time. Lists too big for int counts
 * (2 GiB of paths) are probed by rank 0 alone.
 */
static struct mpiwc_plan_probe *probe_spread(const struct mpiwc_plan *plan, MPI_Comm comm)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    uint64_t head[2] = {0, 0}; /* files, spread */
    int *lens = NULL, *displs = NULL;
    char *all = NULL;
    uint64_t bytes = 0;
    if (rank == 0) {
        head[0] = plan->nfiles;
        for (size_t i = 0; i < plan->nfiles; i++)
            bytes += strlen(plan->files[i].path) + 1;
        head[1] = nranks > 1 && bytes < INT_MAX &&
                  plan->nfiles < INT_MAX / sizeof(struct mpiwc_plan_probe);
    }
    MPI_Bcast(head, 2, MPI_UINT64_T, 0, comm);
    if (!head[1])
        nranks = 1; /* rank 0 probes everything below */
    else if (rank == 0) {
        lens = mpiwc_xcalloc((size_t)nranks, sizeof *lens);
        displs = mpiwc_xcalloc((size_t)nranks, sizeof *displs);
        size_t off = 0;
        all = mpiwc_xmalloc((size_t)bytes + 1);
        for (int r = 0; r < nranks; r++) {
            displs[r] = (int)off;
            for (uint64_t i = mpiwc_plan_boundary(head[0], nranks, r);
                 i < mpiwc_plan_boundary(head[0], nranks, r + 1); i++) {
                size_t k = strlen(plan->files[i].path) + 1;
                memcpy(all + off, plan->files[i].path, k);
                off += k;
            }
            lens[r] = (int)(off - (size_t)displs[r]);
        }
    }
    if (head[1] == 0 && rank != 0)
        return NULL;
    uint64_t first = mpiwc_plan_boundary(head[0], nranks, rank);
    size_t n = (size_t)(mpiwc_plan_boundary(head[0], nranks, rank + 1) - first);
    char **paths = mpiwc_xmalloc(mpiwc_mul_size(n ? n : 1, sizeof *paths));
    char *mine = NULL;
    if (head[1]) {
        int len;
        MPI_Scatter(lens, 1, MPI_INT, &len, 1, MPI_INT, 0, comm);
        mine = mpiwc_xmalloc((size_t)len + 1);
        MPI_Scatterv(all, lens, displs, MPI_BYTE, mine, len, MPI_BYTE, 0, comm);
        char *p = mine;
        for (size_t i = 0; i < n; i++, p += strlen(p) + 1)
            paths[i] = p;
    } else {
        for (size_t i = 0; i < n; i++)
            paths[i] = plan->files[i].path;
    }
    struct mpiwc_plan_probe *res =
        mpiwc_xmalloc(mpiwc_mul_size(rank == 0 ? (size_t)head[0] + 1 : n + 1, sizeof *res));
    mpiwc_plan_probe(paths, n, res);
    if (head[1]) {
        if (rank == 0) {
            for (int r = 0; r < nranks; r++) {
                uint64_t a = mpiwc_plan_boundary(head[0], nranks, r);
                lens[r] = (int)((mpiwc_plan_boundary(head[0], nranks, r + 1) - a) * sizeof *res);
                displs[r] = (int)(a * sizeof *res);
            }
        }
        MPI_Gatherv(rank == 0 ? MPI_IN_PLACE : res, (int)(n * sizeof *res), MPI_BYTE, res, lens,
                    displs, MPI_BYTE, 0, comm);
    }
    free(paths);
    free(mine);
    free(all);
    free(lens);
    free(displs);
    if (rank != 0) {
        free(res);
        return NULL;
    }
    return res;
}

/*
 * Collective. Rank 0 reads the shared files and lists the inputs, every rank
 * probes a share of them, then rank 0 checks the targets and splits. Returns
 * rank 0's verdict on rank 0 (0 on the others), and rank 0 prints the one
 * error line. sf is filled on rank 0 only (free_shared in every case).
 */
static int make_plan(const struct mpiwc_options *opts, MPI_Comm comm, struct mpiwc_plan *plan,
                     struct shared_files *sf, FILE *err)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    char msg[ERRLEN];
    int failed = rank == 0 && (read_shared(opts, sf, msg, sizeof msg) != 0 ||
                               expand_inputs(opts, plan, msg, sizeof msg) != 0);
    MPI_Bcast(&failed, 1, MPI_INT, 0, comm);
    if (failed) {
        if (rank == 0)
            mpiwc_say(err, "", msg);
        return -1;
    }
    struct mpiwc_plan_probe *res = probe_spread(plan, comm);
    if (rank != 0)
        return 0;
    /* Checked before the probes are applied (that drops files), said after the rest. */
    char clash[ERRLEN];
    bool clashes = overwrites_input(opts->output, plan, res, clash, sizeof clash) != 0 ||
                   overwrites_input(opts->report, plan, res, clash, sizeof clash) != 0;
    /* Targets that are one file are refused before a probe could create a directory. A dry
     * run creates nothing. */
    failed =
        mpiwc_plan_apply_probes(plan, res, msg, sizeof msg) != 0 ||
        mpiwc_output_clash(opts->output, opts->output_dir, opts->report, msg, sizeof msg) != 0 ||
        (opts->output && mpiwc_output_probe(opts->output, msg, sizeof msg) != 0) ||
        (opts->output_dir &&
         mpiwc_output_dir_probe(opts->output_dir, !opts->dry_run, msg, sizeof msg) != 0) ||
        (opts->report && mpiwc_output_probe(opts->report, msg, sizeof msg) != 0);
    free(res);
    if (!failed && clashes) {
        memcpy(msg, clash, sizeof msg);
        failed = 1;
    }
    if (failed) {
        mpiwc_say(err, "", msg);
        mpiwc_plan_free(plan);
        return -1;
    }
    if (opts->verbosity >= 0 && plan->skipped) {
        snprintf(msg, sizeof msg, "skipped %zu entr%s that %s not a regular file (first: %s)",
                 plan->skipped, plan->skipped == 1 ? "y" : "ies", plan->skipped == 1 ? "is" : "are",
                 plan->first_skipped);
        mpiwc_say(err, "warning: ", msg);
    }
    if (opts->verbosity >= 0 && plan->duplicates) {
        snprintf(msg, sizeof msg,
                 "counted once: %zu path%s reach%s a file already listed (first: %s)",
                 plan->duplicates, plan->duplicates == 1 ? "" : "s",
                 plan->duplicates == 1 ? "es" : "", plan->first_duplicate);
        mpiwc_say(err, "warning: ", msg);
    }
    const char *simd = mpiwc_tokenize_bad_simd();
    if (opts->verbosity >= 0 && simd) {
        snprintf(msg, sizeof msg,
                 "MPIWC_SIMD=%s is not one of scalar, avx2, avx512: ignored, using the best "
                 "the processor has",
                 simd);
        mpiwc_say(err, "warning: ", msg);
    }
    mpiwc_plan_split(plan, nranks);
    return 0;
}

/*
 * Is a person watching err? Under mpirun a rank's stderr is a pipe to mpirun
 * even when mpirun writes to a terminal, but a rank started from a terminal
 * session still has it as its controlling terminal (batch jobs have none).
 */
static bool watched(FILE *err)
{
    if (isatty(fileno(err)))
        return true;
    int fd = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Rank 0: is the progress line shown? */
static bool show_progress(const struct mpiwc_options *opts, FILE *err)
{
    if (opts->verbosity < 0 || opts->progress == MPIWC_PROGRESS_NEVER)
        return false;
    return opts->progress == MPIWC_PROGRESS_ALWAYS || watched(err);
}

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

/* Rank 0, after planning: refuse what cannot be resumed, then pick a checkpoint. */
static int ckpt_plan(const struct mpiwc_options *opts, int nranks, struct mpiwc_plan *plan,
                     struct ckpt *ck, FILE *err)
{
    for (size_t i = 0; i < plan->nfiles; i++)
        if (plan->files[i].size == MPIWC_PLAN_STREAM) {
            mpiwc_say(err, "", "-: standard input cannot be checkpointed (--checkpoint-dir)");
            return -1;
        } else if (plan->files[i].to_eof) {
            char msg[ERRLEN];
            snprintf(msg, sizeof msg,
                     "%s: a file whose size is not its length (/proc, /sys) cannot be checkpointed "
                     "(--checkpoint-dir)",
                     plan->files[i].path);
            mpiwc_say(err, "", msg);
            return -1;
        }
    if (mkdir(ck->dir, 0777) != 0 && errno != EEXIST) {
        char msg[ERRLEN];
        snprintf(msg, sizeof msg, "%s: %s", ck->dir, strerror(errno));
        mpiwc_say(err, "", msg);
        return -1;
    }
    ck->inputs = mpiwc_ckpt_fingerprint_inputs(plan);
    ck->options = mpiwc_ckpt_fingerprint_options(opts);
    struct mpiwc_ckpt_choice choice;
    mpiwc_ckpt_select(ck->dir, plan, ck->inputs, ck->options, &choice, err);
    ck->next = choice.next;
    if (!choice.generation)
        return 0;
    uint64_t total = plan->total_bytes;
    ck->loaded = choice.generation;
    ck->loaded_nranks = choice.nranks;
    ck->done = choice.done;
    /* In the plan's units: a compressed file done counts its estimated text bytes. */
    ck->skipped = 0;
    for (size_t i = 0; i < ck->done.n; i++) {
        const struct mpiwc_plan_range *d = &ck->done.v[i];
        bool comp = plan->files[d->file].codec != MPIWC_CODEC_NONE;
        ck->skipped += comp ? plan->files[d->file].weight : d->end - d->start;
    }
    mpiwc_plan_split_remaining(plan, nranks, ck->done.v, ck->done.n);
    ck->total = total;
    return 0;
}

/* Rank 0, once every rank agreed to go on: say which checkpoint the job resumes from. */
static void say_resume(const struct mpiwc_options *opts, const struct ckpt *ck, FILE *err)
{
    if (!ck->loaded || opts->verbosity < 0)
        return;
    char *gdir = mpiwc_ckpt_gen_path(ck->dir, ck->loaded);
    char msg[ERRLEN];
    snprintf(msg, sizeof msg,
             "resuming from checkpoint %s (%" PRIu64 " of %" PRIu64 " bytes done, %" PRIu64
             " rank%s)",
             gdir, ck->skipped, ck->total, ck->loaded_nranks, ck->loaded_nranks == 1 ? "" : "s");
    mpiwc_say(err, "", msg);
    free(gdir);
}

/*
 * Collective. Every rank checks that it can create files in dir, which every
 * rank writes into (--checkpoint-dir, --output-dir; rank 0 made it): a path
 * that only some nodes see fails on the others. The ranks agree, and rank 0
 * prints the reason of the first rank that failed. Returns -1 on every rank
 * when any failed.
 */
static int every_rank_writes(const char *dir, const char *option, MPI_Comm comm, FILE *err)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    char msg[ERRLEN] = "", why[ERRLEN - MPI_MAX_PROCESSOR_NAME - 64];
    size_t n = strlen(dir) + sizeof "/.mpiwc-probe";
    char *probe = mpiwc_xmalloc(n);
    snprintf(probe, n, "%s/.mpiwc-probe", dir);
    int first = nranks, any;
    if (mpiwc_output_probe(probe, why, sizeof why) != 0) {
        char host[MPI_MAX_PROCESSOR_NAME] = "?";
        int hostlen;
        MPI_Get_processor_name(host, &hostlen);
        snprintf(msg, sizeof msg, "%s (%s, rank %d on %s)", why, option, rank, host);
        first = rank;
    }
    free(probe);
    MPI_Allreduce(&first, &any, 1, MPI_INT, MPI_MIN, comm);
    if (any == nranks)
        return 0;
    MPI_Bcast(msg, sizeof msg, MPI_CHAR, any, comm);
    if (rank == 0)
        mpiwc_say(err, "", msg);
    return -1;
}

/*
 * Collective. Rank 0 plans; every rank receives the plan and learns whether
 * rank 0 shows progress (all ranks then take part in the progress rounds).
 */
static int distribute_plan(const struct mpiwc_options *opts, MPI_Comm comm, struct mpiwc_plan *plan,
                           struct shared_files *sf, bool *progress, struct ckpt *ck, FILE *err)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    int verdict[2] = {0, 0}; /* failed, progress */
    uint8_t *packed = NULL;
    uint64_t len = 0;
    int planned = make_plan(opts, comm, plan, sf, err);
    if (rank == 0) {
        verdict[0] = planned != 0;
        if (!verdict[0] && ck->dir && ckpt_plan(opts, nranks, plan, ck, err) != 0) {
            mpiwc_plan_free(plan);
            verdict[0] = 1;
        }
        verdict[1] = show_progress(opts, err);
        if (!verdict[0])
            len = mpiwc_plan_pack(plan, &packed);
    }
    MPI_Bcast(verdict, 2, MPI_INT, 0, comm);
    *progress = verdict[1];
    if (verdict[0])
        return -1;
    MPI_Bcast(&len, 1, MPI_UINT64_T, 0, comm);
    if (rank != 0)
        packed = mpiwc_xmalloc(len);
    bcast_bytes(packed, len, comm);
    if (rank != 0 && mpiwc_plan_unpack(plan, packed, len) != 0)
        mpiwc_fatal("received a malformed plan");
    free(packed);
    bcast_shared(sf, comm);
    if (ck->dir) {
        uint64_t state[5] = {ck->next, ck->loaded, ck->loaded_nranks, ck->inputs, ck->options};
        MPI_Bcast(state, 5, MPI_UINT64_T, 0, comm);
        ck->next = state[0];
        ck->loaded = state[1];
        ck->loaded_nranks = state[2];
        ck->inputs = state[3];
        ck->options = state[4];
    }
    if ((ck->dir && every_rank_writes(ck->dir, "--checkpoint-dir", comm, err) != 0) ||
        (opts->output_dir && every_rank_writes(opts->output_dir, "--output-dir", comm, err) != 0)) {
        mpiwc_plan_free(plan);
        return -1;
    }
    if (rank == 0)
        say_resume(opts, ck, err);
    return 0;
}

/*
 * Agreement rounds during the map, for bounded memory and for progress: a
 * non-blocking allreduce (sum) of {local table at the limit, still reading,
 * bytes read}. A rank starts a round after a read buffer, tests it after the
 * next ones, and acts on its result once complete: if any table is at the
 * limit, all ranks run an early shuffle round; rank 0 updates the progress
 * line. Every rank sees the same result for the same round, so the
 * collectives stay in one order on every rank; a rank done reading keeps
 * taking part until a round says that no rank reads.
 */
struct rounds {
    MPI_Comm comm;
    int nranks;
    struct mpiwc_table *local, *owned;
    size_t limit, cap; /* limit 0: no early rounds */
    struct mpiwc_shuffle_stats *sh;
    const uint64_t *bytes_read;
    struct mpiwc_progress *progress; /* rank 0's line, or NULL */
    MPI_Request req;
    bool pending;
    uint64_t send[3], recv[3];
    uint64_t early; /* early shuffle rounds run */
    int failed;
};

/* Does this rank's local table ask for an early round? With one rank every
 * word is owned here: an early round would only move it. */
static bool at_limit(const struct rounds *r)
{
    return r->limit && r->nranks > 1 && mpiwc_table_memory_used(r->local) >= r->limit;
}

static void round_start(struct rounds *r, bool reading)
{
    r->send[0] = at_limit(r);
    r->send[1] = reading;
    r->send[2] = *r->bytes_read;
    MPI_Iallreduce(r->send, r->recv, 3, MPI_UINT64_T, MPI_SUM, r->comm, &r->req);
    r->pending = true;
}

/* Act on a completed round; returns whether any rank still reads. */
static bool round_done(struct rounds *r)
{
    r->pending = false;
    if (r->recv[0]) {
        if (mpiwc_shuffle(r->local, r->owned, r->cap, r->comm, r->sh) != 0)
            r->failed = 1;
        r->early++; /* local is empty, its arrays kept for the next round's words */
    }
    if (r->progress)
        mpiwc_progress_update(r->progress, "map", r->recv[2], MPI_Wtime(), false);
    return r->recv[1] != 0;
}

static void after_chunk(void *ctx)
{
    struct rounds *r = ctx;
    int complete = 1;
    if (r->pending)
        MPI_Test(&r->req, &complete, MPI_STATUS_IGNORE);
    if (!complete)
        return;
    if (r->pending)
        round_done(r);
    round_start(r, true);
}

/* Collective over r->comm. Done reading: take part until no rank reads. */
static void rounds_finish(struct rounds *r)
{
    for (;;) {
        if (!r->pending)
            round_start(r, false);
        MPI_Wait(&r->req, MPI_STATUS_IGNORE);
        if (!round_done(r))
            break;
    }
}

/* Standard input's rounds: every rank runs one agreement round per piece, in lockstep. */
static void stream_round(void *ctx)
{
    struct rounds *r = ctx;
    round_start(r, true);
    MPI_Wait(&r->req, MPI_STATUS_IGNORE);
    round_done(r);
}

static void say_rank_error(int rank, const char *msg, FILE *err)
{
    char host[MPI_MAX_PROCESSOR_NAME] = "?";
    int hostlen;
    MPI_Get_processor_name(host, &hostlen);
    char prefix[MPI_MAX_PROCESSOR_NAME + 32];
    snprintf(prefix, sizeof prefix, "[rank %d on %s] ", rank, host);
    mpiwc_say(err, prefix, msg);
}

/* Collective. Load the resumed checkpoint's tables: old rank k's file goes to rank k % nranks. */
static int ckpt_load(struct ckpt *ck, const struct mpiwc_plan *plan, int rank, int nranks,
                     struct mpiwc_table *local, MPI_Comm comm, FILE *err)
{
    int failed = 0;
    for (uint64_t k = (uint64_t)rank; k < ck->loaded_nranks && !failed; k += (uint64_t)nranks) {
        char *path = mpiwc_ckpt_rank_path(ck->dir, ck->loaded, (int)k);
        char why[512], msg[ERRLEN];
        if (mpiwc_ckpt_read_rank(path, ck->loaded, (int)k, (int)ck->loaded_nranks, plan->files,
                                 (uint32_t)plan->nfiles, NULL, local, why, sizeof why) != 0) {
            snprintf(msg, sizeof msg, "%s: %s", path, why);
            say_rank_error(rank, msg, err);
            failed = 1;
        }
        free(path);
    }
    return agree(failed, comm);
}

/*
 * Collective. Write generation ck->next: every rank its file, then rank 0
 * the manifest, then rank 0 removes the older generations. A failure is
 * reported by the rank that saw it; the run goes on without that checkpoint.
 * Returns 0 or -1 on every rank.
 */
static int ckpt_write(struct ckpt *ck, const struct mpiwc_plan *plan, const struct rounds *r,
                      int rank, FILE *err)
{
    double t0 = MPI_Wtime();
    uint64_t gen = ck->next++;
    char msg[ERRLEN];
    int failed = 0;
    if (rank == 0) {
        char *gdir = mpiwc_ckpt_gen_path(ck->dir, gen);
        if (mkdir(gdir, 0777) != 0 && errno != EEXIST) {
            snprintf(msg, sizeof msg, "checkpoint not written: %s: %s", gdir, strerror(errno));
            say_rank_error(rank, msg, err);
            failed = 1;
        }
        free(gdir);
    }
    MPI_Bcast(&failed, 1, MPI_INT, 0, r->comm);
    if (failed)
        return -1;
    const struct mpiwc_table *tables[2] = {r->local, r->owned};
    uint64_t bytes = 0;
    char why[ERRLEN - 64];
    if (mpiwc_ckpt_write_rank(ck->dir, gen, rank, r->nranks, (uint32_t)plan->nfiles, &ck->done,
                              tables, 2, &bytes, why, sizeof why) != 0) {
        snprintf(msg, sizeof msg, "checkpoint not written: %s", why);
        say_rank_error(rank, msg, err);
        failed = 1;
    }
    if (!agree(failed, r->comm) && rank == 0) {
        struct mpiwc_ckpt_manifest m = {gen, (uint32_t)r->nranks, ck->inputs, ck->options};
        if (mpiwc_ckpt_write_manifest(ck->dir, &m, why, sizeof why) != 0) {
            snprintf(msg, sizeof msg, "checkpoint not written: %s", why);
            say_rank_error(rank, msg, err);
            failed = 1;
        } else {
            uint64_t *gens;
            size_t n = mpiwc_ckpt_generations(ck->dir, &gens);
            for (size_t i = 0; i < n; i++)
                if (gens[i] < gen)
                    (void)mpiwc_ckpt_remove(ck->dir, gens[i]);
            free(gens);
        }
    } else if (rank == 0) {
        failed = 1;
    }
    MPI_Bcast(&failed, 1, MPI_INT, 0, r->comm);
    ck->bytes += bytes;
    ck->count += !failed;
    ck->seconds += MPI_Wtime() - t0;
    if (rank == 0)
        ck->last = MPI_Wtime();
    return failed ? -1 : 0;
}

/* Bytes read per checkpoint step (MPIWC_CHECKPOINT_STEP overrides, for tests). */
static uint64_t ckpt_step_bytes(void)
{
    const char *env = getenv("MPIWC_CHECKPOINT_STEP");
    uint64_t v;
    if (env && mpiwc_cli_parse_size(env, &v) == 0 && v > 0)
        return v;
    return (uint64_t)64 << 20;
}

/*
 * Collective. The map with --checkpoint-dir: every rank reads its ranges in
 * steps of ckpt_step_bytes(), and after each step all ranks agree (a
 * blocking allreduce) on failures, early shuffle rounds, progress, and
 * whether to checkpoint now (rank 0's interval passed, or a rank got
 * SIGUSR1/SIGTERM: then checkpoint and stop). A step boundary is a range
 * boundary, so what a rank has read is exactly its done intervals.
 * Returns 0, -1 (failed, error printed) or 1 (stopped after a checkpoint).
 */
static int map_steps(const struct mpiwc_options *opts, const struct mpiwc_plan *plan, int rank,
                     struct rounds *r, struct ckpt *ck, struct mpiwc_reader *reader,
                     struct mpiwc_tokenizer *tok, int rc, struct mpiwc_report *rep, FILE *err)
{
    const uint64_t step = ckpt_step_bytes();
    size_t i = plan->rank_first[rank], last = plan->rank_first[rank + 1];
    uint64_t pos = i < last ? plan->ranges[i].start : 0;
    /* A restart can give a rank several holes of one file, in file order: count the file once. */
    uint64_t counted = UINT64_MAX;
    char msg[ERRLEN];
    if (rank == 0)
        ck->last = MPI_Wtime();
    for (;;) {
        if (rc == 0 && i < last) {
            const struct mpiwc_plan_range *range = &plan->ranges[i];
            const struct mpiwc_plan_file *file = &plan->files[range->file];
            struct mpiwc_plan_range sub = *range;
            sub.start = pos;
            if (file->codec == MPIWC_CODEC_NONE && range->end - pos > step)
                sub.end = pos + step;
            rc = mpiwc_reader_range(reader, file, &sub, tok, msg, sizeof msg);
            if (rc != 0) {
                say_rank_error(rank, msg, err);
            } else {
                mpiwc_ckpt_done_add(&ck->done, sub.file, sub.start, sub.end);
                pos = sub.end;
                if (pos == range->end) {
                    rep->counter[MPIWC_COUNT_RANGES]++;
                    rep->counter[MPIWC_COUNT_FILES] += range->file != counted;
                    counted = range->file;
                    if (++i < last)
                        pos = plan->ranges[i].start;
                }
            }
        }
        bool timer = rank == 0 && MPI_Wtime() - ck->last >= (double)opts->checkpoint_interval;
        uint64_t send[6] = {rc != 0,
                            at_limit(r),
                            rc == 0 && i < last,
                            reader->bytes_read,
                            timer,
                            mpiwc_ckpt_stop_requested()};
        uint64_t recv[6];
        double t0 = MPI_Wtime();
        MPI_Allreduce(send, recv, 6, MPI_UINT64_T, MPI_SUM, r->comm);
        rep->counter[MPIWC_COUNT_MAP_WAIT_US] += (uint64_t)((MPI_Wtime() - t0) * 1e6);
        r->recv[2] = recv[3];
        if (recv[0])
            return -1;
        if (recv[1]) {
            if (mpiwc_shuffle(r->local, r->owned, r->cap, r->comm, r->sh) != 0)
                r->failed = 1;
            r->early++;
            if (agree(r->failed, r->comm))
                return -1;
        }
        if (r->progress)
            mpiwc_progress_update(r->progress, "map", recv[3], MPI_Wtime(), false);
        if (!recv[2])
            return 0;
        if (recv[4] || recv[5]) {
            int wrote = ckpt_write(ck, plan, r, rank, err) == 0;
            if (recv[5]) {
                if (rank == 0 && wrote && opts->verbosity >= 0)
                    mpiwc_say(err, "",
                              "stopped by a signal after writing a checkpoint; run the "
                              "same command again to resume");
                return wrote ? 1 : -1;
            }
        }
    }
}

/* The map without checkpoints: this rank's ranges, then standard input. Returns rc. */
static int map_ranges(const struct mpiwc_options *opts, const struct mpiwc_plan *plan, int rank,
                      struct rounds *r, bool rounds, struct mpiwc_reader *reader,
                      struct mpiwc_tokenizer *tok, int rc, struct mpiwc_report *rep, FILE *err)
{
    char msg[ERRLEN];
    if (rounds) {
        reader->after_chunk = after_chunk;
        reader->ctx = r;
    }
    bool stdin_planned = false;
    for (size_t i = 0; i < plan->nfiles && !stdin_planned; i++)
        stdin_planned = plan->files[i].size == MPIWC_PLAN_STREAM;
    for (size_t i = plan->rank_first[rank]; i < plan->rank_first[rank + 1]; i++) {
        const struct mpiwc_plan_range *range = &plan->ranges[i];
        if (plan->files[range->file].size == MPIWC_PLAN_STREAM)
            continue; /* handed out to every rank below */
        if (rc != 0)
            break;
        rc = mpiwc_reader_range(reader, &plan->files[range->file], range, tok, msg, sizeof msg);
        if (rc != 0) {
            say_rank_error(rank, msg, err);
            break;
        }
        rep->counter[MPIWC_COUNT_RANGES]++;
        rep->counter[MPIWC_COUNT_FILES]++; /* a rank never gets two ranges of one file */
    }
    if (rounds) { /* the ranks that finish first wait here for the last one */
        double t0 = MPI_Wtime();
        rounds_finish(r);
        rep->counter[MPIWC_COUNT_MAP_WAIT_US] += (uint64_t)((MPI_Wtime() - t0) * 1e6);
    }
    if (stdin_planned && !agree(rc != 0 || r->failed, r->comm)) {
        if (mpiwc_stream_scatter(STDIN_FILENO, opts->buffer_size, opts->compat_hadoop, r->comm, tok,
                                 &reader->bytes_read, &reader->read_s, rounds ? stream_round : NULL,
                                 r, msg, sizeof msg) != 0) {
            rc = -1;
            if (msg[0])
                say_rank_error(rank, msg, err);
        }
        rep->counter[MPIWC_COUNT_RANGES] += rank == 0;
    }
    return rc;
}

/* Read this rank's ranges into r->local; prints the rank's error line. Returns 0, -1 when
 * any rank failed, or 1 when the ranks stopped after a checkpoint (--checkpoint-dir). */
static int map(const struct mpiwc_options *opts, const struct mpiwc_plan *plan,
               const struct shared_files *sf, int rank, struct rounds *r, bool rounds,
               struct ckpt *ck, struct mpiwc_report *rep, FILE *err)
{
    struct mpiwc_tokenizer tok;
    struct mpiwc_reader reader;
    const struct mpiwc_word_rules rules = {
        .split = opts->split,
        .casing = opts->casing,
        .normalize = opts->normalize,
        .min_length = opts->min_length,
        .ignore_numbers = opts->ignore_numbers,
        .stopwords = (const uint8_t *)sf->stopwords,
        .stopwords_len = sf->stopwords_len,
    };
    int rc = 0;
    mpiwc_tokenizer_init_rules(&tok, &rules, r->local);
    mpiwc_reader_init(&reader, opts->buffer_size, opts->split);
    r->bytes_read = &reader.bytes_read;
    int stopped = 0;
    if (ck->dir) {
        /* No standard input here: ckpt_plan refused it. */
        rc = map_steps(opts, plan, rank, r, ck, &reader, &tok, rc, rep, err);
        stopped = rc == 1;
        rc = rc < 0 ? -1 : 0;
    } else {
        rc = map_ranges(opts, plan, rank, r, rounds, &reader, &tok, rc, rep, err);
    }
    rep->counter[MPIWC_COUNT_BYTES] = reader.bytes_read;
    rep->step[MPIWC_STEP_READ] = reader.read_s;
    rep->step[MPIWC_STEP_TOKENIZE] = tok.seconds;
    rep->counter[MPIWC_COUNT_WORDS] = tok.words;
    rep->counter[MPIWC_COUNT_LOCAL_DISTINCT] = r->local->size;
    rep->counter[MPIWC_COUNT_EARLY_ROUNDS] = r->early;
    rep->counter[MPIWC_COUNT_INVALID_UTF8] = tok.invalid_utf8;
    r->bytes_read = NULL;
    mpiwc_reader_free(&reader);
    mpiwc_tokenizer_free(&tok);
    if (rc != 0 || r->failed)
        return -1;
    return stopped;
}

/* Rank 0, --verbose: one line per finished phase. */
static void say_phase(const struct mpiwc_options *opts, int rank, const struct mpiwc_report *rep,
                      enum mpiwc_phase phase, FILE *err)
{
    if (opts->verbosity > 0 && rank == 0)
        fprintf(err, "mpiwc: %s done in %.3f s (rank 0)\n", mpiwc_report_phase_name(phase),
                rep->stop[phase] - rep->start[phase]);
}

/* Collective. --dry-run: rank 0 plans and prints; nothing is read. */
static int dry_run(const struct mpiwc_options *opts, MPI_Comm comm, FILE *out, FILE *err)
{
    int rank, failed = 0;
    MPI_Comm_rank(comm, &rank);
    struct mpiwc_plan plan;
    memset(&plan, 0, sizeof plan);
    struct shared_files sf = {0};
    failed = make_plan(opts, comm, &plan, &sf, err) != 0;
    free_shared(&sf);
    if (rank == 0) {
        errno = 0; /* the failing write's errno, or none: EIO */
        if (!failed && mpiwc_plan_print(&plan, out, opts->format == MPIWC_FORMAT_JSON) != 0) {
            fprintf(err, "mpiwc: standard output: %s\n", strerror(errno ? errno : EIO));
            failed = 1;
        }
        mpiwc_plan_free(&plan);
    }
    MPI_Bcast(&failed, 1, MPI_INT, 0, comm);
    return failed ? MPIWC_EXIT_FAILURE : MPIWC_EXIT_OK;
}

int mpiwc_run(const struct mpiwc_options *opts, MPI_Comm comm, FILE *out, FILE *err)
{
    if (opts->dry_run)
        return dry_run(opts, comm, out, err);
    int rank;
    MPI_Comm_rank(comm, &rank);
    struct mpiwc_report rep;
    mpiwc_report_init(&rep);
    struct mpiwc_plan plan;
    memset(&plan, 0, sizeof plan);

    mpiwc_report_start(&rep, MPIWC_PHASE_PLAN);
    bool progress_on;
    struct ckpt ck = {.dir = opts->checkpoint_dir};
    struct shared_files sf = {0};
    if (distribute_plan(opts, comm, &plan, &sf, &progress_on, &ck, err) != 0) {
        free_shared(&sf);
        mpiwc_ckpt_done_free(&ck.done);
        return MPIWC_EXIT_FAILURE;
    }
    mpiwc_report_stop(&rep, MPIWC_PHASE_PLAN);
    if (opts->verbosity > 0 && rank == 0)
        fprintf(err, "mpiwc: planned %zu file%s, %" PRIu64 " bytes over %d rank%s\n", plan.nfiles,
                plan.nfiles == 1 ? "" : "s", plan.total_bytes, plan.nranks,
                plan.nranks == 1 ? "" : "s");
    say_phase(opts, rank, &rep, MPIWC_PHASE_PLAN, err);

    struct mpiwc_progress progress;
    bool stream = false;
    for (size_t i = 0; i < plan.nfiles; i++)
        stream = stream || plan.files[i].size == MPIWC_PLAN_STREAM;
    mpiwc_progress_init(&progress, progress_on && rank == 0 ? err : NULL, rank == 0 && watched(err),
                        plan.total_bytes, !stream, rep.start[MPIWC_PHASE_PLAN]);

    mpiwc_report_start(&rep, MPIWC_PHASE_MAP);
    struct mpiwc_table local, owned;
    mpiwc_table_init(&local, 0);
    mpiwc_table_init(&owned, 0);
    struct mpiwc_shuffle_stats sh = {0};
    int nranks;
    MPI_Comm_size(comm, &nranks);
    struct rounds r = {
        .comm = comm,
        .nranks = nranks,
        .local = &local,
        .owned = &owned,
        .limit = opts->memory_limit,
        .cap = opts->shuffle_buffer,
        .sh = &sh,
        .progress = rank == 0 && progress_on ? &progress : NULL,
    };
    int failed = ck.loaded && ckpt_load(&ck, &plan, rank, nranks, &local, comm, err);
    int stopped = 0;
    if (!failed) {
        int m = map(opts, &plan, &sf, rank, &r, opts->memory_limit || progress_on, &ck, &rep, err);
        failed = m < 0;
        stopped = m > 0;
    }
    mpiwc_ckpt_map_over(); /* from here a SIGTERM ends the process, as without checkpoints */
    free_shared(&sf);
    mpiwc_plan_free(&plan);
    mpiwc_ckpt_done_free(&ck.done);
    mpiwc_report_stop(&rep, MPIWC_PHASE_MAP);
    rep.counter[MPIWC_COUNT_CHECKPOINTS] = ck.count;
    rep.counter[MPIWC_COUNT_CHECKPOINT_BYTES] = ck.bytes;
    rep.counter[MPIWC_COUNT_CHECKPOINT_US] = (uint64_t)(ck.seconds * 1e6);
    rep.counter[MPIWC_COUNT_RESTART_SKIPPED] = ck.skipped;
    failed = agree(failed, comm); /* the same on every rank, as stopped already is */
    if (failed || stopped) {
        mpiwc_progress_end(&progress);
        mpiwc_table_free(&local);
        mpiwc_table_free(&owned);
        return failed ? MPIWC_EXIT_FAILURE : MPIWC_EXIT_STOPPED;
    }
    say_phase(opts, rank, &rep, MPIWC_PHASE_MAP, err);

    /* The shuffle interleaves exchange rounds with merging what arrived; the
     * merge time is reported as the reduce phase, following the shuffle.
     * Early rounds (bounded memory) ran inside the map phase. */
    uint64_t all_bytes = r.recv[2]; /* the last round's sum: every rank's whole input */
    mpiwc_progress_update(&progress, "shuffle", all_bytes, MPI_Wtime(), true);
    mpiwc_report_start(&rep, MPIWC_PHASE_SHUFFLE);
    double merged_before = sh.reduce_s;
    failed = mpiwc_shuffle(&local, &owned, opts->shuffle_buffer, comm, &sh) != 0;
    mpiwc_table_free(&local);
    double now = MPI_Wtime();
    rep.stop[MPIWC_PHASE_SHUFFLE] = now - (sh.reduce_s - merged_before);
    rep.start[MPIWC_PHASE_REDUCE] = rep.stop[MPIWC_PHASE_SHUFFLE];
    rep.stop[MPIWC_PHASE_REDUCE] = now;
    rep.counter[MPIWC_COUNT_SHUFFLE_SENT] = sh.bytes_sent;
    rep.counter[MPIWC_COUNT_SHUFFLE_RECV] = sh.bytes_received;
    rep.counter[MPIWC_COUNT_SHUFFLE_ROUNDS] = sh.rounds;
    rep.step[MPIWC_STEP_PACK] = sh.pack_s; /* early rounds' too */
    rep.step[MPIWC_STEP_EXCHANGE] = sh.exchange_s;
    rep.step[MPIWC_STEP_MERGE] = sh.reduce_s;
    rep.counter[MPIWC_COUNT_OWNED_DISTINCT] = owned.size;
    if (failed) {
        mpiwc_progress_end(&progress);
        mpiwc_table_free(&owned);
        return MPIWC_EXIT_FAILURE;
    }
    say_phase(opts, rank, &rep, MPIWC_PHASE_SHUFFLE, err);
    say_phase(opts, rank, &rep, MPIWC_PHASE_REDUCE, err);

    mpiwc_progress_update(&progress, "output", all_bytes, MPI_Wtime(), true);
    mpiwc_report_start(&rep, MPIWC_PHASE_OUTPUT);
    struct mpiwc_output_request req = {
        .path = opts->output,
        .stream = out,
        .sort = opts->sort,
        .format = opts->format,
        .top = opts->top,
        .cap = opts->shuffle_buffer,
    };
    struct mpiwc_output_stats os = {0};
    if (opts->output_dir) {
        failed = mpiwc_output_parts(&owned, opts->output_dir, &req, comm, &os, err) != 0;
    } else {
        char msg[ERRLEN];
        failed = mpiwc_output_write(&owned, &req, comm, &os, msg, sizeof msg) != 0;
        if (failed && rank == 0) {
            mpiwc_progress_end(&progress);
            mpiwc_say(err, "", msg);
        }
    }
    mpiwc_table_free(&owned);
    mpiwc_report_stop(&rep, MPIWC_PHASE_OUTPUT);
    rep.step[MPIWC_STEP_GATHER] = os.gather_s;
    rep.step[MPIWC_STEP_SORT] = os.sort_s;
    rep.step[MPIWC_STEP_WRITE] = os.write_s;
    mpiwc_progress_end(&progress);
    if (failed)
        return MPIWC_EXIT_FAILURE;
    say_phase(opts, rank, &rep, MPIWC_PHASE_OUTPUT, err);

    if (mpiwc_report_finish(&rep, opts, progress_on, comm, out, err) != 0)
        return MPIWC_EXIT_FAILURE;
    if (ck.dir && !opts->keep_checkpoints && rank == 0) {
        /* The output is in place: the checkpoints are of no more use. */
        uint64_t *gens;
        size_t n = mpiwc_ckpt_generations(ck.dir, &gens);
        for (size_t i = 0; i < n; i++)
            (void)mpiwc_ckpt_remove(ck.dir, gens[i]);
        free(gens);
    }
    return MPIWC_EXIT_OK;
}

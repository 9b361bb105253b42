/*
 * checkpoint: the files of --checkpoint-dir, and the choice of the one to
 * restart from.
 *
 *     DIR/gen-G/rank-NNNNN.ckpt   one per rank of the job that wrote G
 *     DIR/gen-G/MANIFEST          written last, by rank 0: G is complete
 *
 * A rank file holds what its rank had finished: the done intervals (file
 * index into the plan, start, end: any partition of a file gives the same
 * counts, reader.h) and its tables as packed records (record.h):
 *
 *   "MPIWCCK1" | u32 version | u32 rank | u32 nranks | u32 nfiles |
 *   u64 generation | u64 nintervals | nintervals x (u32 file, u64 start,
 *   u64 end) | u64 nrecords | records | u32 CRC-32 of all bytes before it
 *
 * in host byte order (every rank runs the same binary on the same kind of
 * machine, record.h). Files and the manifest are written to a temporary
 * name, fsynced and renamed, so a name is either whole or absent; a torn or
 * corrupt file fails its checksum. The manifest is a few text lines: the
 * generation, the rank count, and two fingerprints: of the inputs (paths,
 * sizes, modification times, in plan order) and of the options that change
 * counts. A generation is complete when its manifest and every rank file
 * read back and agree; mpiwc_ckpt_select() takes the newest complete one
 * whose fingerprints match and reports every newer one it passes over in one
 * line each ("checkpoint DIR/gen-G: reason; ignored").
 *
 * What it does not do: decide when to checkpoint, or the collective steps
 * (job.c).
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_CHECKPOINT_H
#define MPIWC_CHECKPOINT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpiwc/cli.h"
#include "mpiwc/plan.h"
#include "mpiwc/table.h"

/* 2 to 4: the short-key and then the small-key hash changed (table_internal.h, table.h), and with
 * them every word's owner. 5: records (record.h) hold varints. */
#define MPIWC_CKPT_VERSION 5u

/* A growing list of done intervals (plan ranges); owned, free with mpiwc_ckpt_done_free. */
struct mpiwc_ckpt_done {
    struct mpiwc_plan_range *v;
    size_t n, cap;
};

/* Local. Append [start, end) of file, merged into the last interval when it continues it. */
void mpiwc_ckpt_done_add(struct mpiwc_ckpt_done *d, uint32_t file, uint64_t start, uint64_t end);
void mpiwc_ckpt_done_free(struct mpiwc_ckpt_done *d);

struct mpiwc_ckpt_manifest {
    uint64_t generation;
    uint32_t nranks;
    uint64_t inputs;  /* mpiwc_ckpt_fingerprint_inputs */
    uint64_t options; /* mpiwc_ckpt_fingerprint_options */
};

/* Local. Fingerprint of plan->files: paths, sizes, codecs and modification times (stat now). */
uint64_t mpiwc_ckpt_fingerprint_inputs(const struct mpiwc_plan *plan);

/* Local. Fingerprint of the options that change counts (split, case, normalize,
 * min-length, ignore-numbers, compat) and of the stop-word list's bytes
 * (stopwords[0..len); NULL: no list), whichever path they were read from. */
uint64_t mpiwc_ckpt_fingerprint_options(const struct mpiwc_options *opts, const void *stopwords,
                                        size_t len);

/* Local. "DIR/gen-G" and "DIR/gen-G/rank-NNNNN.ckpt" as new strings (caller frees). */
char *mpiwc_ckpt_gen_path(const char *dir, uint64_t gen);
char *mpiwc_ckpt_rank_path(const char *dir, uint64_t gen, int rank);

/*
 * Local. Write the rank file of rank (of nranks, plan of nfiles files) for
 * generation gen into DIR/gen-G (which must exist): done, then the words of
 * each of the ntables tables. Adds the file's size to *bytes. Returns 0, or
 * -1 with "PATH: reason" in err (no file left under the final name).
 */
int mpiwc_ckpt_write_rank(const char *dir, uint64_t gen, int rank, int nranks, uint32_t nfiles,
                          const struct mpiwc_ckpt_done *done,
                          const struct mpiwc_table *const *tables, size_t ntables, uint64_t *bytes,
                          char *err, size_t errlen);

/*
 * Local. Read and verify a rank file: checksum, header (gen, rank, nranks,
 * nfiles as expected), intervals within files[] sizes (nfiles of them),
 * records. Done intervals are appended to done and words added to into
 * (either may be NULL); nothing is added unless the whole file verifies.
 * Returns 0, or -1 with a reason in err (without the path).
 */
int mpiwc_ckpt_read_rank(const char *path, uint64_t gen, int rank, int nranks,
                         const struct mpiwc_plan_file *files, uint32_t nfiles,
                         struct mpiwc_ckpt_done *done, struct mpiwc_table *into, char *err,
                         size_t errlen);

/* Local. Write DIR/gen-G/MANIFEST (temporary name, fsync, rename, fsync the directory). */
int mpiwc_ckpt_write_manifest(const char *dir, const struct mpiwc_ckpt_manifest *m, char *err,
                              size_t errlen);

/* Local. Read DIR/gen-G/MANIFEST; -1 with a reason in err when absent or malformed. */
int mpiwc_ckpt_read_manifest(const char *dir, uint64_t gen, struct mpiwc_ckpt_manifest *m,
                             char *err, size_t errlen);

/* Local. The generations present in dir (gen-G directories), newest first; caller frees. */
size_t mpiwc_ckpt_generations(const char *dir, uint64_t **gens);

/* Local. Remove DIR/gen-G and the files mpiwc writes in it; 0 or -1. */
int mpiwc_ckpt_remove(const char *dir, uint64_t gen);

struct mpiwc_ckpt_choice {
    uint64_t generation;         /* 0: none usable, start fresh */
    uint32_t nranks;             /* ranks that wrote it */
    struct mpiwc_ckpt_done done; /* the union of every rank's done intervals */
    uint64_t next;               /* the generation to write next: above every one present */
};

/*
 * Local (rank 0). Choose the checkpoint to restart from: the newest
 * generation in dir whose manifest matches the fingerprints and whose rank
 * files all verify against plan->files. Each newer generation passed over
 * gets one line on err. choice->done is owned (mpiwc_ckpt_done_free).
 */
void mpiwc_ckpt_select(const char *dir, const struct mpiwc_plan *plan, uint64_t inputs,
                       uint64_t options, struct mpiwc_ckpt_choice *choice, FILE *err);

/*
 * Async-signal-safe: ask the job to checkpoint and stop (SIGUSR1, SIGTERM).
 * Returns false once the map is over (mpiwc_ckpt_map_over()): nothing is
 * left to checkpoint, and the caller acts on the signal as a job without
 * checkpoints does (SIGTERM ends the process).
 */
bool mpiwc_ckpt_request_stop(void);

/* Local. The map has ended: stop requests are no longer taken. */
void mpiwc_ckpt_map_over(void);

/* Local. Whether a stop was requested. */
bool mpiwc_ckpt_stop_requested(void);

#endif

/*
 * plan: which bytes of which files each rank reads.
 *
 * Rank 0 expands the command-line paths (files; directories recursively, in
 * byte order of their names; "-" for standard input), stats them, and splits
 * the concatenation of all regular files' bytes into nranks contiguous ranges
 * of nearly equal size (the first total % nranks ranks get one byte more). A
 * big file is thus spread over all ranks and small files are packed; empty
 * files take no range, and a rank may get nothing (more ranks than bytes).
 * Standard input cannot be split or re-read: its range is rank 0's, and the
 * job has rank 0 hand it out to all ranks in chunks (stream.h).
 *
 * Compressed files (codec.h, recognised by their first bytes when expanding)
 * cannot be cut: each goes whole to one rank. So does a regular file whose
 * size is not its length: reported as 0 but with bytes (most of /proc), or
 * a page on sysfs, which every attribute reports: its one rank reads it to
 * its end (to_eof), its text estimated at MPIWC_PLAN_EOF_WEIGHT bytes; a
 * file of size 0 that reads as empty takes no range. Ranks are balanced by
 * estimated text bytes: compressed files by their estimated decompressed
 * size (mpiwc_codec_estimate), largest first, each to the least loaded rank;
 * then the plain files' concatenation is cut so as to fill every rank up to
 * a common level (a rank whose compressed files already exceed it gets no
 * plain bytes). Without compressed files this is the equal split above.
 *
 * Ranges cut files at arbitrary bytes; the reader repairs words cut at a
 * boundary, so the plan needs no knowledge of words.
 *
 * The plan travels to every rank as one packed byte buffer (the job
 * broadcasts it); mpiwc_plan_unpack() validates what it reads.
 *
 * Layer: local, no MPI (the broadcast is the job's).
 */
#ifndef MPIWC_PLAN_H
#define MPIWC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpiwc/probe.h"

/* Size of the standard-input pseudo file: unknown until read. */
#define MPIWC_PLAN_STREAM UINT64_MAX

struct mpiwc_plan_file {
    char *path;      /* owned; "-" is standard input */
    uint64_t size;   /* bytes at planning time, MPIWC_PLAN_STREAM for stdin */
    uint64_t weight; /* planned text bytes: size, or the estimated decompressed size */
    uint8_t codec;   /* enum mpiwc_codec (codec.h): a compressed file is read whole by one rank */
    uint8_t to_eof;  /* size not its length (0 but bytes there; a sysfs page): read whole,
                        to EOF, by one rank */
};

/* Planned text bytes of a to_eof file (its size is not known before reading): one page. */
#define MPIWC_PLAN_EOF_WEIGHT 4096

/*
 * --include / --exclude globs applied to directory walks (borrowed arrays;
 * files named as paths are always input). A pattern is matched with
 * fnmatch(3), flags 0 (so '*' also matches '/'), against the entry's name
 * and against its path relative to the directory named as a path; either
 * match counts. A file is input when it matches one of include (or include
 * is empty) and none of exclude; a directory that matches one of exclude is
 * not entered. With hidden (--compat=hadoop, as Hadoop's FileInputFormat),
 * entries whose name starts with '_' or '.' (_SUCCESS, _logs, .crc files)
 * are neither read nor entered.
 */
struct mpiwc_plan_filter {
    const char *const *include;
    size_t ninclude;
    const char *const *exclude;
    size_t nexclude;
    bool hidden;
};

struct mpiwc_plan_range {
    uint32_t file;  /* index into files */
    uint64_t start; /* first byte */
    uint64_t end;   /* one past the last byte (MPIWC_PLAN_STREAM: to EOF) */
};

struct mpiwc_plan {
    struct mpiwc_plan_file *files;
    size_t nfiles;
    int nranks;
    struct mpiwc_plan_range *ranges; /* all ranks' ranges, rank by rank */
    size_t nranges;
    size_t
        *rank_first; /* nranks + 1 entries: rank r owns ranges[rank_first[r] .. rank_first[r+1]) */
    uint64_t total_bytes;  /* bytes of plain files + estimated bytes of compressed ones
                              (stdin excluded) */
    size_t skipped;        /* directory entries that are not files (FIFOs, sockets, devices,
                              dangling links, links to directories), by mpiwc_plan_expand_filtered */
    char *first_skipped;   /* owned: the first of them, or NULL; not packed */
    size_t duplicates;     /* paths dropped by mpiwc_plan_apply_probes: their file was
                              already listed (same device and inode) */
    char *first_duplicate; /* owned: the first of them, or NULL; not packed */
    size_t walk_units;     /* directories the ranks walked for rank 0 (the walk spread over
                              them; 0: rank 0 walked alone); not packed */
    char *paths;           /* owned, from mpiwc_plan_unpack: every path's bytes, which
                              files[i].path point into (NULL: each path owned alone) */
};

/*
 * Local (rank 0). Expand paths into plan->files. On a bad path returns -1 and
 * writes "PATH: reason" into err (missing, unreadable, not a regular file or
 * directory, a directory with no files, "-" twice). Inside directories,
 * entries that are neither files nor directories are skipped and counted in
 * plan->skipped (a FIFO could block forever; a device is not text); given by
 * name on the command line, they are refused. filter (NULL: none) applies the
 * --include/--exclude globs on directory walks.
 */
int mpiwc_plan_expand_filtered(struct mpiwc_plan *plan, char *const *paths, size_t npaths,
                               const struct mpiwc_plan_filter *filter, char *err, size_t errlen);

/*
 * Expansion in two steps, so that the costly one can be spread over the
 * ranks (the job does: with a million small files, opening each is most of
 * the planning). mpiwc_plan_expand_filtered is list, probe all, apply.
 *
 * Local (rank 0). mpiwc_plan_list walks and stats like mpiwc_plan_expand_filtered
 * but opens no file: plan->files holds the candidates in order, each with
 * size, weight and codec 0 (stdin still MPIWC_PLAN_STREAM). Errors of the
 * walk and of the command-line paths as there.
 */
int mpiwc_plan_list(struct mpiwc_plan *plan, char *const *paths, size_t npaths,
                    const struct mpiwc_plan_filter *filter, char *err, size_t errlen);

/*
 * The walk spread over the ranks (the job does it with several ranks). Rank 0
 * lists the paths as mpiwc_plan_list does, except that the directories at
 * some depth are left as units: the depth grows until there are want of
 * them, none is left, or the listing holds 100,000 files already. Each unit
 * is then walked whole by some rank (mpiwc_plan_walk_unit), and
 * mpiwc_plan_splice puts each unit's files in its place: the files, their
 * order and the skipped entries are those of mpiwc_plan_list.
 *
 * Whatever goes wrong (an error in the listing or in a unit, a command-line
 * directory with no file) makes these return -1 without a message: the
 * caller lists again with mpiwc_plan_list, which gives the error that a
 * whole walk meets first.
 */
struct mpiwc_plan_unit {
    char *path; /* the directory */
    char *rel;  /* its path relative to the command-line directory, for the filter */
    size_t at;  /* its files go before files[at] of the listing */
};

struct mpiwc_plan_cut {
    struct mpiwc_plan_unit *units; /* in the order of a whole walk */
    size_t nunits, cap;
    size_t (*roots)[2]; /* command-line directories with no file but in units [a, b) */
    size_t nroots, roots_cap;
    size_t skip_units; /* the listing's first skipped entry came after this many units */
};

/* Local (rank 0). 0, or -1 (list again with mpiwc_plan_list). */
int mpiwc_plan_list_cut(struct mpiwc_plan *plan, char *const *paths, size_t npaths,
                        const struct mpiwc_plan_filter *filter, size_t want,
                        struct mpiwc_plan_cut *cut);

/*
 * Local (any rank). The files under unit into out->files (and skipped); 0 or
 * -1. With a prober (not NULL), each directory's files are also probed as the
 * walk lists them, opened by their names in it (cheaper than by whole paths,
 * and no second pass): *probes gets out->nfiles records (caller frees), as
 * mpiwc_plan_probe would give them.
 */
int mpiwc_plan_walk_unit(const struct mpiwc_plan_unit *unit, const struct mpiwc_plan_filter *filter,
                         struct mpiwc_prober *prober, struct mpiwc_plan *out,
                         struct mpiwc_plan_probe **probes);

/*
 * Local (rank 0). Put walked[u]'s files (taken: walked[u] is emptied of
 * them) in place of cut's unit u in plan. 0, or -1 when a command-line
 * directory has no file after all (plan unchanged, list again). With res
 * (not NULL), *res gets a record per file of the new plan (caller frees):
 * probes[u]'s for unit u's files (probes[u] NULL: not done), not done for
 * the listing's own.
 */
int mpiwc_plan_splice(struct mpiwc_plan *plan, const struct mpiwc_plan_cut *cut,
                      struct mpiwc_plan *walked, struct mpiwc_plan_probe *const *probes,
                      struct mpiwc_plan_probe **res);

void mpiwc_plan_cut_free(struct mpiwc_plan_cut *cut);

/*
 * Local (any rank). Probe each of paths[0..n) (probe.h) into out[i]; "-"
 * gives zeroes (done).
 */
void mpiwc_plan_probe(char *const *paths, size_t n, struct mpiwc_plan_probe *out);

/*
 * Local (rank 0). Put res[i] (one per plan->files[i]) into the listed plan:
 * sizes, weights and codecs; a file that is no longer regular is dropped.
 * Each file is input once: a path whose device and inode are those of an
 * earlier one (the same path twice, a file and its directory, a link, a
 * hard link) is dropped and counted in plan->duplicates; the first keeps
 * its place. The first failed probe in file order gives -1 and
 * "PATH: reason" in err.
 */
int mpiwc_plan_apply_probes(struct mpiwc_plan *plan, const struct mpiwc_plan_probe *res, char *err,
                            size_t errlen);

/*
 * Local. Split a --files-from list in place (newline or NUL separated; empty
 * entries dropped; nothing else stripped) into *paths (caller frees the
 * array, NULL when empty; the strings borrow data, which must have room for
 * len + 1 bytes: the last entry's terminator). Returns the number of paths.
 */
size_t mpiwc_plan_split_list(char *data, size_t len, bool nul, char ***paths);

/* Local. Is f read whole by one rank (compressed, or to_eof)? Never standard input. */
bool mpiwc_plan_whole(const struct mpiwc_plan_file *f);

/*
 * Local. Split plan->files into ranges for nranks ranks (replaces any earlier
 * split): mpiwc_plan_split_remaining with nothing done.
 */
void mpiwc_plan_split(struct mpiwc_plan *plan, int nranks);

/*
 * Local. Split what is left of plan->files after the done intervals (a
 * restart from a checkpoint; any order, may overlap) into ranges for nranks
 * ranks. This is the one split: with nothing done, what is left of each file
 * is [0, size) and the result is a fresh run's plan. Files read whole
 * (mpiwc_plan_whole) that are not done go whole, largest first, to the least
 * loaded rank; one is done when a done interval of it ends past its first
 * byte. The plain bytes left fill every rank up to a common level, and a
 * rank may get several ranges of one file. Standard input is never done: it
 * stays rank 0's (the job refuses to checkpoint it, and to_eof files).
 * total_bytes becomes the bytes left.
 */
void mpiwc_plan_split_remaining(struct mpiwc_plan *plan, int nranks,
                                const struct mpiwc_plan_range *done, size_t ndone);

/* Local. Bytes of the range boundary before rank r: r * (total / n) + min(r, total % n). */
uint64_t mpiwc_plan_boundary(uint64_t total, int nranks, int r);

/* Local. Pack files and ranges into a new buffer (caller frees); returns its length. */
size_t mpiwc_plan_pack(const struct mpiwc_plan *plan, uint8_t **buf);

/* Local. Rebuild a plan from a packed buffer; -1 if it is malformed. */
int mpiwc_plan_unpack(struct mpiwc_plan *plan, const uint8_t *buf, size_t len);

/* Local. Planned bytes of rank r, compressed files at their estimate (stdin counts 0). */
uint64_t mpiwc_plan_rank_bytes(const struct mpiwc_plan *plan, int r);

/* What --dry-run shows of a rank's memory: its --memory-limit and where it would spill. */
struct mpiwc_plan_memory {
    uint64_t limit; /* bytes; 0: none */
    const char *spill_dir;
};

/*
 * Local. Write the plan for --dry-run: per rank its ranges and bytes (and,
 * with mem, mem[rank]'s limit and spill directory), then the total and the
 * imbalance (max / mean bytes per rank); read_ahead: the words each range
 * reads past its end for n-grams (--ngram, 0: none). As text, or as one JSON object when
 * json is true. Returns 0, or -1 when the stream failed.
 */
int mpiwc_plan_print(const struct mpiwc_plan *plan, const struct mpiwc_plan_memory *mem,
                     unsigned read_ahead, FILE *out, bool json);

/* Local. Frees everything the plan owns and zeroes it. */
void mpiwc_plan_free(struct mpiwc_plan *plan);

/* Local. Does the plan read standard input (a file of size MPIWC_PLAN_STREAM)? */
bool mpiwc_plan_reads_stdin(const struct mpiwc_plan *plan);

#endif

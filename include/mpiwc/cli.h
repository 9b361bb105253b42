/*
 * cli: the command line. Every rank parses the same argv with the same result;
 * only the caller decides who prints (rank 0).
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_CLI_H
#define MPIWC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpiwc/format.h"
#include "mpiwc/tokenize.h"

/* 128 KiB: the read buffer and the tokenizer's copy of it stay in a 1 MiB L2
 * cache with the table. 430 MiB of the Bible at np 1, map phase, median of
 * 11: 4M 0.65-0.68 s (earlier runs), 256K 0.68, 128K 0.59, 64K 0.60. */
#define MPIWC_DEFAULT_BUFFER_SIZE (128u << 10)
#define MPIWC_DEFAULT_SHUFFLE_BUFFER (64u << 20)
/* --memory-limit=auto: a share of the host's memory, worked out by each rank (job.h). */
#define MPIWC_MEMORY_AUTO SIZE_MAX
/* A local table goes to the owners early at this size, or a quarter of the limit. */
#define MPIWC_LOCAL_TABLE_LIMIT ((size_t)256 << 20)
#define MPIWC_MIN_BUFFER 64u
#define MPIWC_MAX_BUFFER (1u << 30)
#define MPIWC_MAX_GLOBS 32                    /* --include and --exclude patterns, each */
#define MPIWC_DEFAULT_CHECKPOINT_INTERVAL 300 /* seconds */

enum mpiwc_progress_mode { MPIWC_PROGRESS_AUTO, MPIWC_PROGRESS_ALWAYS, MPIWC_PROGRESS_NEVER };

/* --shuffle (topology.h, shuffle.h). */
enum mpiwc_shuffle_mode {
    MPIWC_SHUFFLE_AUTO, /* node when there are several hosts and one has several ranks */
    MPIWC_SHUFFLE_FLAT, /* one MPI_Alltoallv over every rank */
    MPIWC_SHUFFLE_NODE, /* combined within each host, then between hosts */
};

struct mpiwc_options {
    const char *output;     /* NULL: stdout */
    const char *output_dir; /* NULL: one table through rank 0; else part files per rank */
    enum mpiwc_sort sort;
    uint64_t top; /* 0: all */
    enum mpiwc_split split;
    enum mpiwc_case casing;
    enum mpiwc_normalize normalize; /* unicode and uax29 (default nfc) */
    size_t min_length;              /* --min-length characters; 0: none */
    bool ignore_numbers;
    const char *stopwords;         /* NULL: none; read by rank 0 when the job plans */
    bool compat_hadoop;            /* --compat=hadoop: split, case, sort and format fixed */
    unsigned ngram_min, ngram_max; /* --ngram=M:N (1 <= M <= N <= MPIWC_NGRAM_MAX); 1, 1 */
    enum mpiwc_format format;
    bool stats;
    bool dry_run;                      /* print the plan and exit */
    enum mpiwc_progress_mode progress; /* auto: when rank 0's stderr is a terminal */
    int verbosity;                     /* -1 --quiet, 0 default, 1 --verbose */
    const char *report;                /* NULL: none */
    size_t buffer_size;
    size_t shuffle_buffer;
    enum mpiwc_shuffle_mode shuffle; /* --shuffle; auto */
    int ranks_per_host;              /* --ranks-per-host; 0: the real hosts */
    size_t memory_limit;             /* a rank's bytes for its tables; 0: none; MPIWC_MEMORY_AUTO */
    const char *spill_dir;           /* NULL: $TMPDIR, else /tmp (each rank's own) */
    char *const *paths;              /* borrowed from argv */
    size_t npaths;
    const char *files_from; /* --files-from: more paths, one per line; "-": standard input */
    bool files_from_nul;    /* -0: that list is NUL-separated */
    const char *include[MPIWC_MAX_GLOBS]; /* --include globs for directory walks (plan.h) */
    size_t ninclude;
    const char *exclude[MPIWC_MAX_GLOBS]; /* --exclude globs */
    size_t nexclude;
    const char *checkpoint_dir;   /* NULL: no checkpoints */
    uint64_t checkpoint_interval; /* seconds between checkpoints; 0: at every step */
    bool keep_checkpoints;        /* keep DIR's checkpoints after a successful run */
    int argc;                     /* the whole argv, for the report */
    char *const *argv;
};

enum mpiwc_cli_result {
    MPIWC_CLI_RUN,   /* options are valid: run */
    MPIWC_CLI_EXIT,  /* --help or --version was printed: exit 0 */
    MPIWC_CLI_USAGE, /* usage error: exit 2 */
};

/*
 * Local. Parse argv into opts. out receives --help/--version text and err the
 * one-line usage error plus a hint; either may be NULL to stay silent (ranks
 * other than 0).
 */
enum mpiwc_cli_result mpiwc_cli_parse(int argc, char **argv, struct mpiwc_options *opts, FILE *out,
                                      FILE *err);

/* Local. Parse "64", "4K", "16M", "1G" (powers of 1024) into bytes; -1 if invalid or overflow. */
int mpiwc_cli_parse_size(const char *text, uint64_t *bytes);

/* Local. The --help text. */
void mpiwc_cli_usage(FILE *out);

#endif

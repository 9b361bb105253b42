/*
 * report: what each phase cost, summed over ranks, for --stats (text on
 * stderr) and --report=FILE (JSON).
 *
 *     struct mpiwc_report rep;
 *     mpiwc_report_init(&rep);
 *     mpiwc_report_start(&rep, MPIWC_PHASE_MAP);  ...  mpiwc_report_stop(&rep, MPIWC_PHASE_MAP);
 *     rep.counter[MPIWC_COUNT_BYTES] += n;
 *     mpiwc_report_finish(&rep, opts, false, comm, out, err);   // collective
 *
 * Metrics, per phase: wall = max(stop) - min(start) over ranks (the phase as
 * the job saw it), and min / avg / max of each rank's own stop - start (the
 * imbalance). Counters are summed over ranks, with min and max per rank.
 *
 * Steps split the phases into the work inside them: each rank adds the
 * seconds it spent in a step, wherever it ran (an early shuffle round packs
 * and exchanges inside the map phase), and the report gives each step's min,
 * mean and max over ranks. A rank's map is its read and tokenize steps, its
 * early rounds and its wait for the others (map_wait_us); its output is its
 * gather, sort and write steps.
 *
 * Layer: timers and counters are local; mpiwc_report_finish() is collective.
 */
#ifndef MPIWC_REPORT_H
#define MPIWC_REPORT_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mpiwc/cli.h"

enum mpiwc_phase {
    MPIWC_PHASE_PLAN,
    MPIWC_PHASE_MAP,
    MPIWC_PHASE_SHUFFLE,
    MPIWC_PHASE_REDUCE,
    MPIWC_PHASE_OUTPUT,
    MPIWC_PHASES
};

enum mpiwc_counter {
    MPIWC_COUNT_BYTES,            /* bytes read from input */
    MPIWC_COUNT_WORDS,            /* word occurrences */
    MPIWC_COUNT_LOCAL_DISTINCT,   /* distinct words in the local table before the shuffle */
    MPIWC_COUNT_OWNED_DISTINCT,   /* distinct words owned after the reduce */
    MPIWC_COUNT_SHUFFLE_SENT,     /* shuffle record bytes sent */
    MPIWC_COUNT_SHUFFLE_RECV,     /* shuffle record bytes received */
    MPIWC_COUNT_SHUFFLE_ROUNDS,   /* shuffle rounds */
    MPIWC_COUNT_RANGES,           /* planned ranges read */
    MPIWC_COUNT_EARLY_ROUNDS,     /* early shuffle rounds run because a table hit --memory-limit */
    MPIWC_COUNT_FILES,            /* input files a rank read, each once (stdin not counted) */
    MPIWC_COUNT_INVALID_UTF8,     /* ill-formed UTF-8 bytes (unicode, uax29, hadoop rules) */
    MPIWC_COUNT_CHECKPOINTS,      /* checkpoints written (--checkpoint-dir) */
    MPIWC_COUNT_CHECKPOINT_BYTES, /* bytes of checkpoint files written */
    MPIWC_COUNT_CHECKPOINT_US,    /* microseconds spent writing checkpoints */
    MPIWC_COUNT_RESTART_SKIPPED,  /* input bytes a restart did not read again (rank 0; a
                                     compressed file at its estimated text bytes) */
    MPIWC_COUNT_MAP_WAIT_US,      /* microseconds of the map spent waiting for other ranks:
                                     after the last range, or in checkpoint steps' agreements */
    MPIWC_COUNT_MEMORY_LIMIT,     /* the rank's --memory-limit in bytes (auto worked out) */
    MPIWC_COUNT_SPILL_RUNS,       /* runs the rank wrote to its spill directory */
    MPIWC_COUNT_SPILL_WRITTEN,    /* bytes of runs written */
    MPIWC_COUNT_SPILL_READ,       /* bytes of runs read back */
    MPIWC_COUNT_SPILL_MERGE_US,   /* microseconds merging runs and sorting them by count */
    MPIWC_COUNT_INTERNODE_BYTES,  /* shuffle record bytes sent to ranks on other hosts */
    MPIWC_COUNT_INTERNODE_MESSAGES, /* shuffle messages sent to ranks on other hosts */
    MPIWC_COUNT_SHUFFLE_IN_US,      /* microseconds of the node shuffle's exchanges within the
                                       host, toward the other hosts */
    MPIWC_COUNT_SHUFFLE_ACROSS_US,  /* microseconds exchanging between hosts (flat: every
                                       exchange) */
    MPIWC_COUNT_SHUFFLE_OUT_US,     /* microseconds of the node shuffle's exchanges within the
                                       host, to the owners */
    MPIWC_COUNTERS
};

enum mpiwc_step {
    MPIWC_STEP_READ,     /* read(2), pread(2) and decoding of the input */
    MPIWC_STEP_TOKENIZE, /* cutting words and counting them in the local table */
    MPIWC_STEP_PACK,     /* shuffle: grouping words by owner into send buffers */
    MPIWC_STEP_EXCHANGE, /* shuffle: in MPI (sizes, data, the agreement on rounds) */
    MPIWC_STEP_MERGE,    /* shuffle: unpacking what arrived into the owned table */
    MPIWC_STEP_GATHER,   /* output: moving the words to rank 0 (not with --output-dir) */
    MPIWC_STEP_SORT,     /* output: sorting this rank's words */
    MPIWC_STEP_WRITE,    /* output: formatting and writing the rows */
    MPIWC_STEPS
};

struct mpiwc_report {
    double start[MPIWC_PHASES]; /* MPI_Wtime(); a phase never started has stop < start */
    double stop[MPIWC_PHASES];
    double step[MPIWC_STEPS]; /* seconds this rank spent in each step */
    uint64_t counter[MPIWC_COUNTERS];
    int shuffle_hosts; /* the hosts of the node shuffle; 0: the shuffle was flat */
};

/* Local. */
void mpiwc_report_init(struct mpiwc_report *rep);
void mpiwc_report_start(struct mpiwc_report *rep, enum mpiwc_phase phase);
void mpiwc_report_stop(struct mpiwc_report *rep, enum mpiwc_phase phase);

/* Local. The phase's stable lower-case name ("plan", "map", ...). */
const char *mpiwc_report_phase_name(enum mpiwc_phase phase);

/*
 * Collective over comm. Reduce over ranks; rank 0 prints the summary to err
 * when opts->stats (or only its first line, the one-line summary, when
 * summary_line), and writes opts->report as JSON: to out when it is "-",
 * else as -o writes a file (mpiwc_output_file(): a temporary name and a
 * rename). Returns 0, or -1 on every rank when the report could not be
 * written (one line on err: the path and the reason).
 */
int mpiwc_report_finish(const struct mpiwc_report *rep, const struct mpiwc_options *opts,
                        bool summary_line, MPI_Comm comm, FILE *out, FILE *err);

#endif

/*
 * report: what each phase cost, summed over ranks, for --stats (text on
 * stderr) and --report=FILE (JSON).
 *
 *     struct mpiwc_report rep;
 *     mpiwc_report_init(&rep);
 *     mpiwc_report_start(&rep, MPIWC_PHASE_MAP);  ...  mpiwc_report_stop(&rep, MPIWC_PHASE_MAP);
 *     rep.counter[MPIWC_COUNT_BYTES] += n;
 *     mpiwc_report_finish(&rep, opts, comm, err);   // collective
 *
 * Metrics, per phase: wall = max(stop) - min(start) over ranks (the phase as
 * the job saw it), and min / avg / max of each rank's own stop - start (the
 * imbalance). Counters are summed over ranks, with min and max per rank.
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
    MPIWC_COUNT_FILES,            /* input files a rank opened (standard input not counted) */
    MPIWC_COUNT_INVALID_UTF8,     /* ill-formed UTF-8 bytes (unicode, uax29, hadoop rules) */
    MPIWC_COUNT_CHECKPOINTS,      /* checkpoints written (--checkpoint-dir) */
    MPIWC_COUNT_CHECKPOINT_BYTES, /* bytes of checkpoint files written */
    MPIWC_COUNT_CHECKPOINT_US,    /* microseconds spent writing checkpoints */
    MPIWC_COUNT_RESTART_SKIPPED,  /* input bytes a restart did not read again (rank 0; a
                                     compressed file at its estimated text bytes) */
    MPIWC_COUNT_MAP_WAIT_US,      /* microseconds of the map spent waiting for other ranks:
                                     after the last range, or in checkpoint steps' agreements */
    MPIWC_COUNTERS
};

struct mpiwc_report {
    double start[MPIWC_PHASES]; /* MPI_Wtime(); a phase never started has stop < start */
    double stop[MPIWC_PHASES];
    uint64_t counter[MPIWC_COUNTERS];
};

/* Local. */
void mpiwc_report_init(struct mpiwc_report *rep);
void mpiwc_report_start(struct mpiwc_report *rep, enum mpiwc_phase phase);
void mpiwc_report_stop(struct mpiwc_report *rep, enum mpiwc_phase phase);

/* Local. Stable lower-case names ("plan", "map", ...) and counter keys. */
const char *mpiwc_report_phase_name(enum mpiwc_phase phase);
const char *mpiwc_report_counter_name(enum mpiwc_counter counter);

/*
 * Collective over comm. Reduce over ranks; rank 0 prints the summary to err
 * when opts->stats (or only its first line, the one-line summary, when
 * summary_line), and writes opts->report as JSON. Returns 0, or -1 on every
 * rank when the report file could not be written (message on err).
 */
int mpiwc_report_finish(const struct mpiwc_report *rep, const struct mpiwc_options *opts,
                        bool summary_line, MPI_Comm comm, FILE *err);

#endif

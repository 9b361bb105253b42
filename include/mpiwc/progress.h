/*
 * progress: the one updating status line rank 0 shows while a job runs
 * (--progress), and its formatting.
 *
 *     struct mpiwc_progress p;
 *     mpiwc_progress_init(&p, stderr, true, total_bytes, true, MPI_Wtime());
 *     mpiwc_progress_update(&p, "map", bytes_done, MPI_Wtime());  // rate-limited
 *     mpiwc_progress_end(&p);                                       // clears the line
 *
 * On a terminal the line is redrawn in place ("\r", at most 4 times a
 * second); elsewhere each update is a plain line, at most one a second. The
 * numbers come from the caller: gathering other ranks' progress is the job's
 * business (a non-blocking allreduce per read buffer).
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_PROGRESS_H
#define MPIWC_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mpiwc_progress {
    FILE *out;        /* borrowed; NULL: disabled */
    bool tty;         /* redraw in place */
    uint64_t total;   /* planned bytes */
    bool total_known; /* false with standard input: no percentage, no ETA */
    double start, last;
    int width; /* characters of the line drawn last (tty) */
};

/* Local. out NULL disables every call below. */
void mpiwc_progress_init(struct mpiwc_progress *p, FILE *out, bool tty, uint64_t total,
                         bool total_known, double now);

/*
 * Local. Format "PHASE DONE / TOTAL (P%) RATE MB/s ETA Ns" into buf (always
 * NUL-terminated); returns the length. Sizes are in decimal units (MB, GB).
 */
size_t mpiwc_progress_format(char *buf, size_t len, const char *phase, uint64_t done,
                             uint64_t total, bool total_known, double elapsed);

/* Local. Show the line if enough time passed since the last one (or force). */
void mpiwc_progress_update(struct mpiwc_progress *p, const char *phase, uint64_t done, double now,
                           bool force);

/* Local. Clear a redrawn line so that the next output starts clean. */
void mpiwc_progress_end(struct mpiwc_progress *p);

#endif

/*
 * output: brings the owned words of every rank to rank 0, in order, and
 * writes the table.
 *
 * Each rank sorts its owned words; with --top N it keeps only its first N,
 * which is enough because every word has exactly one owner. Rank 0 gathers
 * the records with MPI_Gatherv in rounds of at most cap bytes in all, sorts
 * the union and writes it. A file target is written under a temporary name
 * in the same directory, flushed, synced and renamed into place, so a failed
 * run leaves no half file and an existing file untouched.
 *
 * Layer: collective over comm (sorting and formatting are format.h's, local).
 */
#ifndef MPIWC_OUTPUT_H
#define MPIWC_OUTPUT_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpiwc/format.h"
#include "mpiwc/table.h"

struct mpiwc_output_request {
    const char *path; /* NULL: write to stream */
    FILE *stream;     /* used when path is NULL (rank 0) */
    enum mpiwc_sort sort;
    enum mpiwc_format format;
    uint64_t top; /* 0: all */
    size_t cap;   /* gather round size, bytes */
};

struct mpiwc_output_stats {
    uint64_t distinct;       /* rows in the full table (before --top), valid on rank 0 */
    uint64_t rows;           /* rows written, valid on rank 0 */
    uint64_t bytes_gathered; /* record bytes rank 0 received */
    double gather_s, sort_s, write_s;
};

/*
 * Local, async-signal-safe. Remove the temporary output file this process is
 * writing, if any; for a handler of SIGTERM/SIGINT before the process dies.
 */
void mpiwc_output_on_signal(void);

/*
 * Local (rank 0). Check that path can be created: makes and removes a
 * temporary file beside it ("-", standard output, always can). Returns 0 or
 * -1 with "PATH: reason" in err.
 */
int mpiwc_output_probe(const char *path, char *err, size_t errlen);

/*
 * Local (rank 0). Prepare dir for part files: create it if missing and
 * create is set (its parent must exist; without create, only check that it
 * could be made); refuse one that already holds part files or _SUCCESS.
 * Returns 0 or -1 with "DIR: reason" in err.
 */
int mpiwc_output_dir_probe(const char *dir, bool create, char *err, size_t errlen);

/*
 * Local (rank 0). Refuse targets that are one file: report ("-": standard
 * output) and output (NULL: standard output, unless output_dir) naming the
 * same file under any spelling or link, report named like a part file or
 * _SUCCESS of output_dir, or report on standard output beside the table.
 * Any of them may be NULL. Returns 0 or -1 with "PATH: reason" in err.
 */
int mpiwc_output_clash(const char *output, const char *output_dir, const char *report, char *err,
                       size_t errlen);

/*
 * Local. Write path as -o does: fill(f, arg) writes the content (returns 0
 * or -1, errno set where it failed) to a temporary file in the same
 * directory, which is flushed, synced and renamed over path, with the
 * replaced file's permission bits (and, for root, owner and group); a device
 * or FIFO is written in place. Returns 0, or -1 with "PATH: reason" in err
 * and path untouched.
 */
int mpiwc_output_file(const char *path, int (*fill)(FILE *f, void *arg), void *arg, char *err,
                      size_t errlen);

/*
 * Collective over comm. Each rank writes its owned words, in req->sort order
 * and req->format, to DIR/part-NNNNN (N = rank, temporary name and rename);
 * when every rank succeeded rank 0 writes the empty marker DIR/_SUCCESS last,
 * as Hadoop does. On failure the part files are removed and no marker is
 * written. req->path, req->stream and req->top are ignored. Returns 0, or -1
 * on every rank (the failing rank prints its line on err).
 */
int mpiwc_output_parts(const struct mpiwc_table *owned, const char *dir,
                       const struct mpiwc_output_request *req, MPI_Comm comm,
                       struct mpiwc_output_stats *stats, FILE *err);

/*
 * Collective over comm. Gather owned words to rank 0 and write them. Returns 0,
 * or -1 on every rank when rank 0 failed to write (message in err on rank 0).
 */
int mpiwc_output_write(const struct mpiwc_table *owned, const struct mpiwc_output_request *req,
                       MPI_Comm comm, struct mpiwc_output_stats *stats, char *err, size_t errlen);

#endif

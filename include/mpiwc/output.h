/*
 * output: brings the owned words of every rank to rank 0, in order, and
 * writes the table.
 *
 * Each rank gives its owned words as a stream in the output's order (rows.h:
 * its sorted table, or the merge of what it spilled, spill.h); with --top N
 * it sends only its first N, which is enough because every word has exactly
 * one owner. Rank 0 merges its own stream with every other rank's as they
 * arrive, in chunks of about cap / nranks bytes that a rank sends only when
 * rank 0 has used up its previous one, and writes the rows as they come: no
 * rank holds the table, rank 0 holds one chunk per rank. A file target is
 * written under a temporary name in the same directory, flushed, synced and
 * renamed into place, so a failed run leaves no half file and an existing
 * file untouched.
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
#include "mpiwc/rows.h"

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
    uint64_t mine;           /* this rank's distinct words */
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
 * Collective over comm. Each rank writes the rows of mine (its owned words in
 * req->sort order) in req->format to DIR/part-NNNNN (N = rank, temporary
 * name and rename);
 * when every rank succeeded rank 0 writes the empty marker DIR/_SUCCESS last,
 * as Hadoop does. On failure the part files are removed and no marker is
 * written. req->path, req->stream and req->top are ignored. Returns 0, or -1
 * on every rank (the failing rank prints its line on err).
 */
int mpiwc_output_parts(struct mpiwc_rows *mine, const char *dir,
                       const struct mpiwc_output_request *req, MPI_Comm comm,
                       struct mpiwc_output_stats *stats, FILE *err);

/*
 * Collective over comm. Gather every rank's rows of mine (its owned words in
 * req->sort order, distinct of them; UINT64_MAX: count them) to rank 0 and
 * write them. Returns 0, or -1 on every rank when rank 0 failed to write or
 * a rank's stream failed (the message in err on rank 0; a rank's own carries
 * its "[rank R on HOST]").
 */
int mpiwc_output_write(struct mpiwc_rows *mine, uint64_t distinct,
                       const struct mpiwc_output_request *req, MPI_Comm comm,
                       struct mpiwc_output_stats *stats, char *err, size_t errlen);

#endif

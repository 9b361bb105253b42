/*
 * reader: streams one rank's byte ranges through a fixed-size buffer into the
 * tokenizer, repairing words cut by range boundaries.
 *
 * For a range [start, end) of a file:
 *   - if start > 0 and the bytes at start-1 and start are both word bytes,
 *     the range starts inside a word that the previous range owns: those
 *     word bytes are skipped (never past end);
 *   - if the range ends inside a word, reading goes on past end until that
 *     word ends (or the file does).
 * So every word is counted exactly once, by the range holding its first
 * byte, whatever the range and buffer boundaries. Memory is the buffer plus
 * the tokenizer's pending word: it does not grow with file size. The
 * optional after_chunk hook runs after each buffer, between words' worth of
 * work, so the caller can flush the table (the job's bounded-memory rounds).
 *
 * A compressed file (file->codec, codec.h) is planned whole: its one range
 * is decoded from the start to the end, through the same buffer; data that
 * does not decode is an error naming the offset, never a partial count.
 * bytes_read counts decoded bytes. A to_eof file (size reported as 0, plan.h)
 * is read whole the same way, to its end.
 *
 * A file that is shorter than planned (truncated or replaced since planning)
 * is an error, never a silently smaller count.
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_READER_H
#define MPIWC_READER_H

#include <stddef.h>
#include <stdint.h>

#include "mpiwc/plan.h"
#include "mpiwc/tokenize.h"

struct mpiwc_reader {
    uint8_t *buf; /* owned, bufsize bytes */
    size_t bufsize;
    enum mpiwc_split split;
    uint64_t bytes_read; /* bytes of the planned ranges read (read-on past an end not counted) */
    double read_s;       /* seconds in read(2), pread(2) and decoding, not tokenizing */
    void (*after_chunk)(void *ctx); /* optional: called after each buffer is tokenized */
    void *ctx;
};

/* Local. bufsize >= 1. */
void mpiwc_reader_init(struct mpiwc_reader *r, size_t bufsize, enum mpiwc_split split);
void mpiwc_reader_free(struct mpiwc_reader *r);

/*
 * Local. Read one range of file (planned size file->size) into tok. Returns 0,
 * or -1 with "PATH: reason" in err.
 */
int mpiwc_reader_range(struct mpiwc_reader *r, const struct mpiwc_plan_file *file,
                       const struct mpiwc_plan_range *range, struct mpiwc_tokenizer *tok, char *err,
                       size_t errlen);

#endif

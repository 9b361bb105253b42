#include "mpiwc/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpiwc/boundary.h"
#include "mpiwc/codec.h"
#include "mpiwc/unicode.h"
#include "mpiwc/util.h"

void mpiwc_reader_init(struct mpiwc_reader *r, size_t bufsize, enum mpiwc_split split)
{
    r->bufsize = bufsize ? bufsize : 1;
    r->buf = mpiwc_xmalloc(r->bufsize);
    r->split = split;
    r->bytes_read = 0;
    r->read_s = 0;
    r->after_chunk = NULL;
    r->ctx = NULL;
}

static void chunk_done(struct mpiwc_reader *r)
{
    if (r->after_chunk)
        r->after_chunk(r->ctx);
}

void mpiwc_reader_free(struct mpiwc_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* pread that retries on EINTR and short reads; returns bytes read (< n only at EOF) or -1. */
static ssize_t pread_full(int fd, uint8_t *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(fd, buf + done, n - done, (off_t)(off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        done += (size_t)k;
    }
    return (ssize_t)done;
}

/* pread_full(), its time added to r->read_s. */
static ssize_t read_at(struct mpiwc_reader *r, int fd, uint8_t *buf, size_t n, uint64_t off)
{
    double t0 = mpiwc_seconds();
    ssize_t k = pread_full(fd, buf, n, off);
    r->read_s += mpiwc_seconds() - t0;
    return k;
}

/* Input read front to back: decoded by d, or (d NULL) read(2) from fd. */
struct sequence {
    struct mpiwc_decoder *d;
    int fd;
};

/* Up to cap bytes of s into buf: their number, 0 at the end, or -1 with the reason in why. */
static ptrdiff_t sequence_read(struct mpiwc_reader *r, struct sequence *s, uint8_t *buf, size_t cap,
                               char *why, size_t whylen)
{
    double t0 = mpiwc_seconds();
    ptrdiff_t n;
    if (s->d) {
        n = mpiwc_decoder_read(s->d, buf, cap, why, whylen);
    } else {
        do
            n = read(s->fd, buf, cap);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            snprintf(why, whylen, "%s", strerror(errno));
    }
    r->read_s += mpiwc_seconds() - t0;
    return n;
}

/* --compat=hadoop: Hadoop's LineRecordReader drops a byte order mark at a file's offset 0. */
static bool drops_bom(const struct mpiwc_reader *r)
{
    return r->split == MPIWC_SPLIT_HADOOP;
}

/* All of s through the buffer (no range edges to repair): standard input, decoded or to_eof. */
static int read_sequence(struct mpiwc_reader *r, struct sequence *s, const char *path,
                         struct mpiwc_tokenizer *tok, char *err, size_t errlen)
{
    char why[256];
    ptrdiff_t n = 1;
    if (drops_bom(r)) { /* the first bytes, whatever the buffer's size */
        uint8_t head[MPIWC_UNICODE_BOM_LEN];
        size_t k = 0;
        while (k < sizeof head &&
               (n = sequence_read(r, s, head + k, sizeof head - k, why, sizeof why)) > 0)
            k += (size_t)n;
        if (n < 0)
            return mpiwc_fail(err, errlen, "%s: %s", path, why);
        r->bytes_read += k;
        size_t skip = mpiwc_unicode_bom(head, k);
        mpiwc_tokenizer_feed(tok, head + skip, k - skip);
    }
    while (n > 0 && (n = sequence_read(r, s, r->buf, r->bufsize, why, sizeof why)) > 0) {
        r->bytes_read += (uint64_t)n;
        mpiwc_tokenizer_feed(tok, r->buf, (size_t)n);
        chunk_done(r);
    }
    if (n < 0)
        return mpiwc_fail(err, errlen, "%s: %s", path, why);
    mpiwc_tokenizer_end(tok);
    return 0;
}

/* A file must still have the size it was planned with, never a silently smaller count. */
static int check_planned_size(int fd, const struct mpiwc_plan_file *file, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return mpiwc_fail(err, errlen, "%s: %s", file->path, strerror(errno));
    if ((uint64_t)st.st_size != file->size) {
        char why[128];
        snprintf(why, sizeof why, "size changed since planning (%" PRIu64 " -> %jd bytes)",
                 file->size, (intmax_t)st.st_size);
        return mpiwc_fail(err, errlen, "%s: %s", file->path, why);
    }
    return 0;
}

static int read_range(struct mpiwc_reader *r, int fd, const struct mpiwc_plan_file *file,
                      const struct mpiwc_plan_range *range, struct mpiwc_tokenizer *tok, char *err,
                      size_t errlen)
{
    const char *path = file->path;
    if (check_planned_size(fd, file, err, errlen) != 0)
        return -1;
    (void)posix_fadvise(fd, (off_t)range->start, (off_t)(range->end - range->start),
                        POSIX_FADV_SEQUENTIAL);

    uint64_t pos = range->start;
    /*
     * --compat=hadoop drops a byte order mark at offset 0. Its bytes are word
     * bytes, so the word they start is this range's even when the range ends
     * inside the mark: read on from there.
     */
    bool read_on = false;
    if (pos == 0 && drops_bom(r)) {
        uint8_t head[MPIWC_UNICODE_BOM_LEN];
        ssize_t k = read_at(r, fd, head, sizeof head, 0);
        if (k < 0)
            return mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
        if (mpiwc_unicode_bom(head, (size_t)k)) {
            pos = MPIWC_UNICODE_BOM_LEN < range->end ? MPIWC_UNICODE_BOM_LEN : range->end;
            r->bytes_read += pos;
            read_on = pos == range->end;
            pos = MPIWC_UNICODE_BOM_LEN;
        }
    }
    /* A range that starts inside a word leaves that word to the previous range. */
    bool skipping = false;
    if (range->start > 0) {
        uint8_t before;
        ssize_t k = read_at(r, fd, &before, 1, range->start - 1);
        if (k < 0)
            return mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
        if (k == 0)
            return mpiwc_fail(err, errlen, "%s: file is shorter than planned", path);
        skipping = mpiwc_boundary_is_word(r->split, before);
    }
    while (pos < range->end) {
        uint64_t left = range->end - pos;
        size_t want = left < r->bufsize ? (size_t)left : r->bufsize;
        ssize_t k = read_at(r, fd, r->buf, want, pos);
        if (k < 0)
            return mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
        if (k == 0)
            return mpiwc_fail(err, errlen, "%s: file is shorter than planned", path);
        size_t n = (size_t)k, i = 0;
        pos += n;
        r->bytes_read += n;
        if (skipping) {
            i = mpiwc_boundary_word_prefix(mpiwc_tokenizer_run_bytes(tok), r->buf, n);
            skipping = i == n;
        }
        if (i < n)
            mpiwc_tokenizer_feed(tok, r->buf + i, n - i);
        chunk_done(r);
    }
    /* A range that ends inside a word reads on until the word ends. */
    size_t rest = 0, rest_end = 0; /* r->buf[rest..rest_end): read on, past that word */
    while (read_on || mpiwc_tokenizer_in_word(tok)) {
        read_on = false;
        ssize_t k = read_at(r, fd, r->buf, r->bufsize, pos);
        if (k < 0)
            return mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
        if (k == 0)
            break;
        size_t n = (size_t)k,
               j = mpiwc_boundary_word_prefix(mpiwc_tokenizer_run_bytes(tok), r->buf, n);
        mpiwc_tokenizer_feed(tok, r->buf, j);
        pos += n;
        if (j < n) {
            rest = j;
            rest_end = n;
            break;
        }
    }
    /* N-grams: read on for the words that the range's last n-grams end with. */
    if (mpiwc_tokenizer_read_ahead(tok)) {
        mpiwc_tokenizer_feed(tok, r->buf + rest, rest_end - rest);
        while (mpiwc_tokenizer_wants_more(tok)) {
            ssize_t k = read_at(r, fd, r->buf, r->bufsize, pos);
            if (k < 0)
                return mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
            if (k == 0)
                break;
            pos += (size_t)k;
            mpiwc_tokenizer_feed(tok, r->buf, (size_t)k);
        }
    }
    mpiwc_tokenizer_end(tok);
    return 0;
}

/*
 * A file read whole: a compressed one decoded, a to_eof one (size reported
 * as 0) read to its end.
 */
static int read_whole(struct mpiwc_reader *r, int fd, const struct mpiwc_plan_file *file,
                      struct mpiwc_tokenizer *tok, char *err, size_t errlen)
{
    if (check_planned_size(fd, file, err, errlen) != 0)
        return -1;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    struct mpiwc_decoder d;
    struct sequence s = {NULL, fd};
    if (file->codec != MPIWC_CODEC_NONE) {
        mpiwc_decoder_open(&d, (enum mpiwc_codec)file->codec, fd, NULL, 0);
        s.d = &d;
    }
    int rc = read_sequence(r, &s, file->path, tok, err, errlen);
    if (s.d)
        mpiwc_decoder_close(&d);
    return rc;
}

int mpiwc_reader_range(struct mpiwc_reader *r, const struct mpiwc_plan_file *file,
                       const struct mpiwc_plan_range *range, struct mpiwc_tokenizer *tok, char *err,
                       size_t errlen)
{
    if (file->size == MPIWC_PLAN_STREAM) {
        struct sequence s = {NULL, STDIN_FILENO};
        return read_sequence(r, &s, "standard input", tok, err, errlen);
    }
    int fd = open(file->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mpiwc_fail(err, errlen, "%s: %s", file->path, strerror(errno));
    int rc = mpiwc_plan_whole(file) ? read_whole(r, fd, file, tok, err, errlen)
                                    : read_range(r, fd, file, range, tok, err, errlen);
    close(fd);
    if (rc != 0)
        mpiwc_tokenizer_end(tok);
    return rc;
}

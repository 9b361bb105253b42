#include "mpiwc/stream.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpiwc/boundary.h"
#include "mpiwc/codec.h"
#include "mpiwc/unicode.h"
#include "mpiwc/util.h"

#define ROUND_CAP ((size_t)64 << 20)

enum { MORE, LAST, FAILED };

size_t mpiwc_stream_cut(const uint8_t *buf, size_t len, bool eof, size_t *cut, int n)
{
    size_t end = len;
    if (!eof)
        while (end > 0 && !mpiwc_boundary_breaks_always(buf[end - 1]))
            end--;
    cut[0] = 0;
    for (int k = 1; k < n; k++) {
        size_t p = (size_t)((uint64_t)end * (uint64_t)k / (uint64_t)n);
        if (p < cut[k - 1])
            p = cut[k - 1];
        while (p < end && !(p > 0 && mpiwc_boundary_breaks_always(buf[p - 1])))
            p++;
        cut[k] = p;
    }
    cut[n] = end;
    return end;
}

/* Rank 0's input: the raw bytes of fd, or their decoding when they start with a codec's magic. */
struct source {
    int fd;
    bool eof;
    bool decoding;
    struct mpiwc_decoder d;
    double read_s; /* seconds in read(2) and decoding */
};

static int source_read(struct source *s, uint8_t *buf, size_t cap, size_t *got, char *err,
                       size_t errlen)
{
    ptrdiff_t k;
    double t0 = mpiwc_seconds();
    if (s->decoding) {
        char why[256];
        k = mpiwc_decoder_read(&s->d, buf, cap, why, sizeof why);
        if (k < 0) {
            return mpiwc_fail(err, errlen, "standard input: %s", why);
        }
    } else {
        do
            k = read(s->fd, buf, cap);
        while (k < 0 && errno == EINTR);
        if (k < 0) {
            return mpiwc_fail(err, errlen, "standard input: %s", strerror(errno));
        }
    }
    s->read_s += mpiwc_seconds() - t0;
    s->eof = k == 0;
    *got = (size_t)k;
    return 0;
}

/* Read the first bytes: a codec's magic turns decoding on; plain bytes go into buf. */
static int source_start(struct source *s, int fd, uint8_t *buf, size_t *len, char *err,
                        size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    uint8_t head[MPIWC_CODEC_HEAD];
    size_t n = 0;
    while (n < sizeof head && !s->eof) {
        size_t got;
        if (source_read(s, head + n, sizeof head - n, &got, err, errlen) != 0)
            return -1;
        n += got;
    }
    enum mpiwc_codec codec = mpiwc_codec_detect(head, n);
    if (codec != MPIWC_CODEC_NONE) {
        mpiwc_decoder_open(&s->d, codec, fd, head, n);
        s->decoding = true;
        s->eof = false;
        *len = 0;
    } else {
        memcpy(buf, head, n);
        *len = n;
    }
    return 0;
}

/* N-grams across pieces: each round's edges gathered at rank 0, which stitches them. */
struct stitching {
    uint8_t *mine, *all; /* this rank's edges; rank 0: every rank's */
    size_t mine_cap, all_cap;
    int *counts, *displs; /* rank 0 */
    uint64_t piece;       /* rank 0: pieces stitched so far */
};

/* Collective over comm. End this rank's piece; rank 0 counts the n-grams that span pieces. */
static void stitch(struct mpiwc_tokenizer *tok, MPI_Comm comm, int rank, int n,
                   struct stitching *st)
{
    size_t len = mpiwc_tokenizer_end_edges(tok, &st->mine, &st->mine_cap);
    /* At most 2 (N - 1) keys, each from the piece's bytes (a round is below INT_MAX / 2). */
    if (len > INT_MAX / 2 / (size_t)n)
        mpiwc_fatal("n-gram edges of %zu bytes: too long to stitch", len);
    int mylen = (int)len;
    MPI_Gather(&mylen, 1, MPI_INT, st->counts, 1, MPI_INT, 0, comm);
    size_t total = 0;
    if (rank == 0) {
        for (int k = 0; k < n; k++) {
            st->displs[k] = (int)total;
            total += (size_t)st->counts[k];
        }
        st->all = mpiwc_grow(st->all, &st->all_cap, total ? total : 1, 1);
    }
    MPI_Gatherv(st->mine, mylen, MPI_BYTE, st->all, st->counts, st->displs, MPI_BYTE, 0, comm);
    if (rank == 0)
        for (int k = 0; k < n; k++)
            mpiwc_tokenizer_stitch(tok, st->all + st->displs[k], (size_t)st->counts[k],
                                   st->piece++);
}

int mpiwc_stream_scatter(int fd, size_t piece, bool drop_bom, MPI_Comm comm,
                         struct mpiwc_tokenizer *tok, uint64_t *bytes, double *read_s,
                         void (*after)(void *ctx), void *ctx, char *err, size_t errlen)
{
    int rank, n;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &n);
    err[0] = '\0';
    size_t round =
        piece > ROUND_CAP / (size_t)n ? (piece > ROUND_CAP ? piece : ROUND_CAP) : piece * (size_t)n;
    if (round < 2 * MPIWC_CODEC_HEAD)
        round = 2 * MPIWC_CODEC_HEAD;
    if (round > INT_MAX / 2)
        round = INT_MAX / 2;

    uint8_t *buf = NULL; /* rank 0: the round; others: their piece */
    size_t cap = 0, len = 0;
    int64_t *hdr = NULL, mine[2];
    int *counts = NULL, *displs = NULL;
    size_t *cut = NULL;
    struct source src;
    bool failed = false;
    if (rank == 0) {
        cap = round;
        buf = mpiwc_xmalloc(cap);
        hdr = mpiwc_xmalloc(mpiwc_mul_size((size_t)n, 2 * sizeof *hdr));
        counts = mpiwc_xmalloc(mpiwc_mul_size((size_t)n, sizeof *counts));
        displs = mpiwc_xmalloc(mpiwc_mul_size((size_t)n, sizeof *displs));
        cut = mpiwc_xmalloc(mpiwc_mul_size((size_t)n + 1, sizeof *cut));
        failed = source_start(&src, fd, buf, &len, err, errlen) != 0;
        while (!failed && drop_bom && len < MPIWC_UNICODE_BOM_LEN && !src.eof) {
            size_t got = 0;
            failed = source_read(&src, buf + len, cap - len, &got, err, errlen) != 0;
            len += got;
        }
        if (!failed && drop_bom && mpiwc_unicode_bom(buf, len)) {
            len -= MPIWC_UNICODE_BOM_LEN;
            memmove(buf, buf + MPIWC_UNICODE_BOM_LEN, len);
        }
    }
    int rc = 0;
    bool ngrams = mpiwc_tokenizer_ngrams(tok);
    struct stitching st = {0};
    if (ngrams && rank == 0) {
        st.counts = mpiwc_xmalloc(mpiwc_mul_size((size_t)n, sizeof *st.counts));
        st.displs = mpiwc_xmalloc(mpiwc_mul_size((size_t)n, sizeof *st.displs));
    }
    for (;;) {
        if (rank == 0) {
            int64_t state = failed ? FAILED : MORE;
            size_t end = 0;
            while (state == MORE) {
                while (len < cap && !src.eof) {
                    size_t got;
                    if (source_read(&src, buf + len, cap - len, &got, err, errlen) != 0) {
                        state = FAILED;
                        break;
                    }
                    len += got;
                }
                if (state == FAILED)
                    break;
                end = mpiwc_stream_cut(buf, len, src.eof, cut, n);
                if (end > 0 || src.eof)
                    break;
                /* No whitespace in the whole buffer: one long run; read on. */
                if (cap > INT_MAX / 2) {
                    snprintf(err, errlen,
                             "standard input: more than %zu bytes without whitespace: too "
                             "long to hand out",
                             cap);
                    state = FAILED;
                    break;
                }
                cap *= 2;
                buf = mpiwc_xrealloc(buf, cap);
            }
            if (state == MORE && src.eof)
                state = LAST;
            for (int k = 0; k < n; k++) {
                hdr[2 * k] = state == FAILED ? 0 : (int64_t)(cut[k + 1] - cut[k]);
                hdr[2 * k + 1] = state;
                counts[k] = (int)hdr[2 * k];
                displs[k] = state == FAILED ? 0 : (int)cut[k];
            }
            MPI_Scatter(hdr, 2, MPI_INT64_T, mine, 2, MPI_INT64_T, 0, comm);
            if (state == FAILED) {
                rc = -1;
                break;
            }
            MPI_Scatterv(buf, counts, displs, MPI_BYTE, MPI_IN_PLACE, 0, MPI_BYTE, 0, comm);
            mpiwc_tokenizer_feed(tok, buf, (size_t)mine[0]);
            memmove(buf, buf + end, len - end);
            len -= end;
        } else {
            MPI_Scatter(NULL, 2, MPI_INT64_T, mine, 2, MPI_INT64_T, 0, comm);
            if (mine[1] == FAILED) {
                rc = -1;
                break;
            }
            size_t mylen = (size_t)mine[0];
            if (mylen > cap) {
                cap = mylen;
                buf = mpiwc_xrealloc(buf, cap);
            }
            MPI_Scatterv(NULL, NULL, NULL, MPI_BYTE, buf, (int)mylen, MPI_BYTE, 0, comm);
            mpiwc_tokenizer_feed(tok, buf, mylen);
        }
        if (ngrams)
            stitch(tok, comm, rank, n, &st);
        else
            mpiwc_tokenizer_end(tok);
        *bytes += (uint64_t)mine[0];
        if (after)
            after(ctx);
        if (mine[1] == LAST)
            break;
    }
    if (rank == 0)
        *read_s += src.read_s;
    if (rank == 0 && src.decoding)
        mpiwc_decoder_close(&src.d);
    free(st.mine);
    free(st.all);
    free(st.counts);
    free(st.displs);
    free(buf);
    free(hdr);
    free(counts);
    free(displs);
    free(cut);
    return rc;
}

#include "mpiwc/codec.h"

#include <bzlib.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "mpiwc/util.h"

#define IN_BUFFER (256u << 10)

/* ---- detection and estimates ---- */

static const char *const names[MPIWC_CODECS] = {"plain", "gzip", "bzip2", "xz", "zstd"};

const char *mpiwc_codec_name(enum mpiwc_codec codec)
{
    return codec < MPIWC_CODECS ? names[codec] : "unknown";
}

enum mpiwc_codec mpiwc_codec_detect(const uint8_t *h, size_t n)
{
    static const uint8_t xz[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    static const uint8_t bz_block[6] = {0x31, 0x41, 0x59, 0x26, 0x53, 0x59};
    static const uint8_t bz_end[6] = {0x17, 0x72, 0x45, 0x38, 0x50, 0x90};
    if (n >= 3 && h[0] == 0x1f && h[1] == 0x8b && h[2] == 8) /* deflate, the only method */
        return MPIWC_CODEC_GZIP;
    /* "BZh9" alone could open a text file: the block or end magic that must follow cannot. */
    if (n >= 10 && h[0] == 'B' && h[1] == 'Z' && h[2] == 'h' && h[3] >= '1' && h[3] <= '9' &&
        (memcmp(h + 4, bz_block, 6) == 0 || memcmp(h + 4, bz_end, 6) == 0))
        return MPIWC_CODEC_BZIP2;
    if (n >= 6 && memcmp(h, xz, 6) == 0)
        return MPIWC_CODEC_XZ;
    if (n >= 4 && ((h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) ||
                   ((h[0] & 0xf0) == 0x50 && h[1] == 0x2a && h[2] == 0x4d && h[3] == 0x18)))
        return MPIWC_CODEC_ZSTD;
    return MPIWC_CODEC_NONE;
}

/* Can v be the decompressed size of size compressed bytes? (deflate shrinks 1032:1 at most) */
static bool plausible(uint64_t v, uint64_t size)
{
    return v >= size / 2 && v / 1032 <= size;
}

uint64_t mpiwc_codec_estimate(enum mpiwc_codec codec, uint64_t size, const uint8_t *head,
                              size_t nhead, const uint8_t *tail)
{
    if (codec == MPIWC_CODEC_NONE)
        return size;
    if (codec == MPIWC_CODEC_GZIP && tail && size >= 18 && size < ((uint64_t)1 << 32)) {
        uint64_t isize = (uint64_t)tail[0] | (uint64_t)tail[1] << 8 | (uint64_t)tail[2] << 16 |
                         (uint64_t)tail[3] << 24;
        if (plausible(isize, size))
            return isize;
    }
    if (codec == MPIWC_CODEC_ZSTD && head) {
        unsigned long long fcs = ZSTD_getFrameContentSize(head, nhead);
        if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR &&
            plausible((uint64_t)fcs, size))
            return (uint64_t)fcs;
    }
    return size > UINT64_MAX / MPIWC_CODEC_RATIO ? UINT64_MAX : size * MPIWC_CODEC_RATIO;
}

/* ---- decoding ---- */

union state {
    z_stream z;
    bz_stream bz;
    lzma_stream xz;
    ZSTD_DStream *zs;
};

static void start(struct mpiwc_decoder *d)
{
    union state *s = d->state;
    memset(s, 0, sizeof *s);
    int ok = 1;
    switch (d->codec) {
    case MPIWC_CODEC_GZIP:
        ok = inflateInit2(&s->z, 16 + MAX_WBITS) == Z_OK; /* gzip wrapper only */
        break;
    case MPIWC_CODEC_BZIP2:
        ok = BZ2_bzDecompressInit(&s->bz, 0, 0) == BZ_OK;
        break;
    case MPIWC_CODEC_XZ:
        s->xz = (lzma_stream)LZMA_STREAM_INIT;
        ok = lzma_stream_decoder(&s->xz, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK;
        break;
    case MPIWC_CODEC_ZSTD:
        s->zs = ZSTD_createDStream();
        ok = s->zs && !ZSTD_isError(ZSTD_initDStream(s->zs));
        break;
    default:
        mpiwc_fatal("decoder for codec %d", (int)d->codec);
    }
    if (!ok)
        mpiwc_fatal("out of memory (starting a %s decoder)", mpiwc_codec_name(d->codec));
}

static void stop(struct mpiwc_decoder *d)
{
    union state *s = d->state;
    switch (d->codec) {
    case MPIWC_CODEC_GZIP:
        inflateEnd(&s->z);
        break;
    case MPIWC_CODEC_BZIP2:
        BZ2_bzDecompressEnd(&s->bz);
        break;
    case MPIWC_CODEC_XZ:
        lzma_end(&s->xz);
        break;
    case MPIWC_CODEC_ZSTD:
        ZSTD_freeDStream(s->zs);
        break;
    default:
        break;
    }
}

void mpiwc_decoder_open(struct mpiwc_decoder *d, enum mpiwc_codec codec, int fd,
                        const uint8_t *head, size_t nhead)
{
    memset(d, 0, sizeof *d);
    d->codec = codec;
    d->fd = fd;
    d->in_cap = nhead > IN_BUFFER ? nhead : IN_BUFFER;
    d->in = mpiwc_xmalloc(d->in_cap);
    if (nhead)
        memcpy(d->in, head, nhead);
    d->in_len = nhead;
    d->eof = fd < 0;
    d->state = mpiwc_xmalloc(sizeof(union state));
    start(d);
}

void mpiwc_decoder_close(struct mpiwc_decoder *d)
{
    if (d->state) {
        stop(d);
        free(d->state);
    }
    free(d->in);
    memset(d, 0, sizeof *d);
    d->fd = -1;
}

static int refill(struct mpiwc_decoder *d, char *err, size_t errlen)
{
    d->in_base += d->in_len;
    d->in_len = d->in_pos = 0;
    for (;;) {
        ssize_t k = read(d->fd, d->in, d->in_cap);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return mpiwc_fail(err, errlen, "%s", strerror(errno));
        d->in_len = (size_t)k;
        d->eof = k == 0;
        return 0;
    }
}

static int corrupt(struct mpiwc_decoder *d, const char *why, char *err, size_t errlen)
{
    return mpiwc_fail(err, errlen, "corrupt %s data at offset %" PRIu64 ": %s",
                      mpiwc_codec_name(d->codec), d->in_base + d->in_pos, why);
}

enum step { STEP_OK, STEP_MEMBER_END, STEP_DONE, STEP_ERROR };

/* One library call on in[in_pos..in_len) into out[0..cap); *wrote gets the bytes produced. */
static enum step step(struct mpiwc_decoder *d, uint8_t *out, size_t cap, size_t *wrote, char *err,
                      size_t errlen)
{
    union state *s = d->state;
    size_t avail = d->in_len - d->in_pos;
    if (cap > UINT_MAX)
        cap = UINT_MAX;
    switch (d->codec) {
    case MPIWC_CODEC_GZIP: {
        s->z.next_in = d->in + d->in_pos;
        s->z.avail_in = (uInt)avail;
        s->z.next_out = out;
        s->z.avail_out = (uInt)cap;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        d->in_pos += avail - s->z.avail_in;
        *wrote = cap - s->z.avail_out;
        if (rc == Z_STREAM_END)
            return STEP_MEMBER_END;
        if (rc == Z_OK || rc == Z_BUF_ERROR)
            return STEP_OK;
        if (rc == Z_MEM_ERROR)
            mpiwc_fatal("out of memory (inflate)");
        corrupt(d, s->z.msg ? s->z.msg : "invalid data", err, errlen);
        return STEP_ERROR;
    }
    case MPIWC_CODEC_BZIP2: {
        s->bz.next_in = (char *)(d->in + d->in_pos);
        s->bz.avail_in = (unsigned)avail;
        s->bz.next_out = (char *)out;
        s->bz.avail_out = (unsigned)cap;
        int rc = BZ2_bzDecompress(&s->bz);
        d->in_pos += avail - s->bz.avail_in;
        *wrote = cap - s->bz.avail_out;
        if (rc == BZ_STREAM_END)
            return STEP_MEMBER_END;
        if (rc == BZ_OK)
            return STEP_OK;
        if (rc == BZ_MEM_ERROR)
            mpiwc_fatal("out of memory (bzip2)");
        corrupt(d, rc == BZ_DATA_ERROR_MAGIC ? "not a bzip2 stream" : "invalid data", err, errlen);
        return STEP_ERROR;
    }
    case MPIWC_CODEC_XZ: {
        s->xz.next_in = d->in + d->in_pos;
        s->xz.avail_in = avail;
        s->xz.next_out = out;
        s->xz.avail_out = cap;
        /* With LZMA_CONCATENATED the end is known only once told there is no more input. */
        lzma_ret rc = lzma_code(&s->xz, d->eof && avail == 0 ? LZMA_FINISH : LZMA_RUN);
        d->in_pos += avail - s->xz.avail_in;
        *wrote = cap - s->xz.avail_out;
        if (rc == LZMA_STREAM_END)
            return STEP_DONE;
        if (rc == LZMA_OK || rc == LZMA_BUF_ERROR)
            return STEP_OK;
        if (rc == LZMA_MEM_ERROR)
            mpiwc_fatal("out of memory (xz)");
        corrupt(d,
                rc == LZMA_FORMAT_ERROR    ? "not an xz stream"
                : rc == LZMA_DATA_ERROR    ? "invalid data"
                : rc == LZMA_OPTIONS_ERROR ? "unsupported options"
                                           : "decoding failed",
                err, errlen);
        return STEP_ERROR;
    }
    case MPIWC_CODEC_ZSTD: {
        /* At most 64 KiB a call: on an error zstd does not say how far it got. */
        if (avail > ((size_t)64 << 10))
            avail = (size_t)64 << 10;
        ZSTD_inBuffer in = {d->in + d->in_pos, avail, 0};
        ZSTD_outBuffer o = {out, cap, 0};
        size_t rc = ZSTD_decompressStream(s->zs, &o, &in);
        d->in_pos += in.pos;
        *wrote = o.pos;
        if (ZSTD_isError(rc)) {
            d->in_pos += avail - in.pos; /* the end of the input it was given */
            corrupt(d, ZSTD_getErrorName(rc), err, errlen);
            return STEP_ERROR;
        }
        /* 0: a frame is decoded and flushed; the stream starts the next one by itself. */
        return rc == 0 ? STEP_MEMBER_END : STEP_OK;
    }
    default:
        mpiwc_fatal("decoder for codec %d", (int)d->codec);
    }
}

ptrdiff_t mpiwc_decoder_read(struct mpiwc_decoder *d, uint8_t *out, size_t cap, char *err,
                             size_t errlen)
{
    size_t produced = 0;
    while (produced < cap && !d->done) {
        if (d->in_pos == d->in_len && !d->eof) {
            if (refill(d, err, errlen) != 0)
                return -1;
            continue;
        }
        if (d->member_end) {
            if (d->codec == MPIWC_CODEC_GZIP) /* zero padding after a member, as gzip allows */
                while (d->in_pos < d->in_len && d->in[d->in_pos] == 0)
                    d->in_pos++;
            if (d->in_pos == d->in_len) {
                if (d->eof)
                    d->done = true;
                continue;
            }
            /* More bytes: another member (or garbage, which the decoder refuses). */
            if (d->codec == MPIWC_CODEC_GZIP) {
                inflateReset(&((union state *)d->state)->z);
            } else if (d->codec == MPIWC_CODEC_BZIP2) {
                stop(d);
                start(d);
            }
            d->member_end = false;
        }
        size_t wrote = 0, before = d->in_pos;
        enum step st = step(d, out + produced, cap - produced, &wrote, err, errlen);
        produced += wrote;
        if (st == STEP_ERROR)
            return -1;
        if (st == STEP_DONE)
            d->done = true;
        else if (st == STEP_MEMBER_END)
            d->member_end = true;
        else if (wrote == 0 && d->in_pos == before && d->eof && d->in_pos == d->in_len)
            return mpiwc_fail(err, errlen,
                              "truncated %s data: it ends at offset %" PRIu64 " inside a %s",
                              mpiwc_codec_name(d->codec), d->in_base + d->in_len,
                              d->codec == MPIWC_CODEC_ZSTD   ? "frame"
                              : d->codec == MPIWC_CODEC_GZIP ? "member"
                                                             : "stream");
    }
    return (ptrdiff_t)produced;
}

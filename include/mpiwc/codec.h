/*
 * codec: compressed input, recognised by its first bytes (never by its name)
 * and decoded as a stream through zlib, libbz2, liblzma and libzstd.
 *
 *     struct mpiwc_decoder d;
 *     mpiwc_decoder_open(&d, MPIWC_CODEC_GZIP, fd, NULL, 0);
 *     ptrdiff_t n;
 *     while ((n = mpiwc_decoder_read(&d, buf, sizeof buf, err, sizeof err)) > 0)
 *         use(buf, n);                       // n < 0: err says where decoding failed
 *     mpiwc_decoder_close(&d);
 *
 * Formats and their magic bytes:
 *   gzip   1f 8b                     every member of a multi-member file, in order;
 *                                    zero bytes after a member are padding
 *   bzip2  "BZh" 1-9 + block or end  every stream of a concatenation (pbzip2)
 *          magic (31 41 59 26 53 59 / 17 72 45 38 50 90)
 *   xz     fd 37 7a 58 5a 00         concatenated streams and stream padding
 *   zstd   28 b5 2f fd               every frame (skippable frames skipped)
 * Anything else is plain text (MPIWC_CODEC_NONE), read as bytes.
 *
 * A decoder never returns a silently shorter text: data that ends early
 * (truncation) or does not decode (corruption, a bad checksum, trailing
 * bytes that are neither padding nor another member) is an error whose
 * message gives the offset in the compressed file where decoding stopped.
 * A compressed file cannot be cut at arbitrary offsets, so it is read whole,
 * by one rank (plan.h).
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_CODEC_H
#define MPIWC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mpiwc_codec {
    MPIWC_CODEC_NONE,
    MPIWC_CODEC_GZIP,
    MPIWC_CODEC_BZIP2,
    MPIWC_CODEC_XZ,
    MPIWC_CODEC_ZSTD,
    MPIWC_CODECS
};

/* Bytes of a file's head that detection and estimation look at (fewer are fine). */
#define MPIWC_CODEC_HEAD 32

/* Local. The codec of data starting with head[0..n); MPIWC_CODEC_NONE when none matches. */
enum mpiwc_codec mpiwc_codec_detect(const uint8_t *head, size_t n);

/* Local. "plain", "gzip", "bzip2", "xz", "zstd". */
const char *mpiwc_codec_name(enum mpiwc_codec codec);

/*
 * Local. Estimated decompressed size of a compressed file of size bytes, for
 * balancing ranks (never for correctness):
 *   gzip  the trailer's ISIZE (tail = the file's last 4 bytes), when the file
 *         is under 4 GiB and ISIZE is between size / 2 and 1032 * size (the
 *         most deflate can shrink); a multi-member file's ISIZE is only its
 *         last member's, which this range check mostly catches;
 *   zstd  the first frame's content size from its header, when recorded and
 *         between size / 2 and 1032 * size;
 *   else  size * MPIWC_CODEC_RATIO (4: typical of text for these formats).
 * tail may be NULL (no trailer read).
 */
#define MPIWC_CODEC_RATIO 4
uint64_t mpiwc_codec_estimate(enum mpiwc_codec codec, uint64_t size, const uint8_t *head,
                              size_t nhead, const uint8_t *tail);

struct mpiwc_decoder {
    enum mpiwc_codec codec;
    int fd;           /* read sequentially; -1: no input beyond the primed bytes */
    uint8_t *in;      /* owned input buffer */
    size_t in_cap;    /* its size */
    size_t in_len;    /* bytes in it */
    size_t in_pos;    /* bytes of it consumed */
    uint64_t in_base; /* offset in the compressed data of in[0] */
    bool eof;         /* fd has no more bytes */
    bool done;        /* the last stream ended and nothing but padding follows */
    bool member_end;  /* between members/streams/frames: more may follow */
    void *state;      /* owned: the library's stream */
};

/*
 * Local. Start decoding codec from fd (read from its current position) after
 * the head bytes [0..nhead), which were already read from it (copied; may be
 * NULL). fd < 0: the head is all the input. Fatal only when out of memory.
 */
void mpiwc_decoder_open(struct mpiwc_decoder *d, enum mpiwc_codec codec, int fd,
                        const uint8_t *head, size_t nhead);

/*
 * Local. Decode up to cap (>= 1) bytes into out. Returns the bytes written,
 * 0 at the end of the data, or -1 with "truncated gzip data: ..." or
 * "corrupt gzip data at offset N: reason" (N: the offset in the compressed
 * input where decoding stopped) in err; after -1, only close.
 */
ptrdiff_t mpiwc_decoder_read(struct mpiwc_decoder *d, uint8_t *out, size_t cap, char *err,
                             size_t errlen);

/* Local. Frees the decoder's state and buffer; the fd is the caller's. */
void mpiwc_decoder_close(struct mpiwc_decoder *d);

#endif

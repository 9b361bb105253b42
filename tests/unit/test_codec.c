/*
 * Unit tests for codec.h: detection by magic bytes, the size estimate, and
 * decoding of every format (compressed here with the libraries themselves)
 * through output buffers of many sizes, from memory and from a file:
 * multi-member and empty data, and truncated or corrupt data of each format,
 * which must fail with the offset in the message, never return less text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "mpiwc/codec.h"

static const enum mpiwc_codec formats[] = {MPIWC_CODEC_GZIP, MPIWC_CODEC_BZIP2, MPIWC_CODEC_XZ,
                                           MPIWC_CODEC_ZSTD};

/* ---- compressing with the libraries ---- */

struct blob {
    uint8_t *p;
    size_t n;
};

static struct blob compress_with(enum mpiwc_codec codec, const uint8_t *src, size_t n)
{
    struct blob b = {0};
    size_t cap = n + n / 8 + 1024;
    b.p = malloc(cap);
    assert_non_null(b.p);
    switch (codec) {
    case MPIWC_CODEC_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof z);
        assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                         Z_OK);
        z.next_in = (Bytef *)(uintptr_t)src;
        z.avail_in = (uInt)n;
        z.next_out = b.p;
        z.avail_out = (uInt)cap;
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        b.n = cap - z.avail_out;
        deflateEnd(&z);
        break;
    }
    case MPIWC_CODEC_BZIP2: {
        unsigned int len = (unsigned int)cap;
        assert_int_equal(BZ2_bzBuffToBuffCompress((char *)b.p, &len, (char *)(uintptr_t)src,
                                                  (unsigned int)n, 9, 0, 0),
                         BZ_OK);
        b.n = len;
        break;
    }
    case MPIWC_CODEC_XZ: {
        size_t pos = 0;
        assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, src, n, b.p, &pos, cap),
                         LZMA_OK);
        b.n = pos;
        break;
    }
    case MPIWC_CODEC_ZSTD: {
        ZSTD_CCtx *c = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
        size_t k = ZSTD_compress2(c, b.p, cap, src, n);
        assert_false(ZSTD_isError(k));
        b.n = k;
        ZSTD_freeCCtx(c);
        break;
    }
    default:
        fail();
    }
    return b;
}

static void append(struct blob *b, const uint8_t *p, size_t n)
{
    b->p = realloc(b->p, b->n + n + 1);
    assert_non_null(b->p);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static uint8_t *text(size_t n, unsigned seed)
{
    static const char *const words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"};
    uint8_t *t = malloc(n + 1);
    assert_non_null(t);
    srand(seed);
    for (size_t i = 0; i < n;) {
        const char *w = words[rand() % 6];
        for (size_t k = 0; w[k] && i < n; k++)
            t[i++] = (uint8_t)w[k];
        if (i < n)
            t[i++] = rand() % 9 ? ' ' : '\n';
    }
    return t;
}

/* ---- decoding ---- */

/* Decode all of data (from memory, or through a file when via_file), out buffers of cap bytes. */
static int decode(enum mpiwc_codec codec, const uint8_t *data, size_t n, bool via_file, size_t cap,
                  struct blob *out, char *err, size_t errlen)
{
    struct mpiwc_decoder d;
    FILE *f = NULL;
    if (via_file) {
        f = tmpfile();
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, n, f), n);
        fflush(f);
        /* The first few bytes as the head (as the stream module primes it), the rest from fd. */
        size_t head = n < 7 ? n : 7;
        assert_int_equal(lseek(fileno(f), (off_t)head, SEEK_SET), (off_t)head);
        mpiwc_decoder_open(&d, codec, fileno(f), data, head);
    } else {
        mpiwc_decoder_open(&d, codec, -1, data, n);
    }
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    out->p = NULL;
    out->n = 0;
    ptrdiff_t k;
    while ((k = mpiwc_decoder_read(&d, buf, cap, err, errlen)) > 0)
        append(out, buf, (size_t)k);
    free(buf);
    mpiwc_decoder_close(&d);
    if (f)
        fclose(f);
    return k < 0 ? -1 : 0;
}

static void expect_text(enum mpiwc_codec codec, const struct blob *z, const uint8_t *want, size_t n)
{
    static const size_t caps[] = {1, 7, 64, 4096, 1 << 20};
    for (int via = 0; via < 2; via++)
        for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
            if (caps[c] == 1 && n > 100000)
                continue; /* one byte at a time: only for the small texts */
            struct blob out;
            char err[256] = "";
            int rc = decode(codec, z->p, z->n, via, caps[c], &out, err, sizeof err);
            if (rc != 0)
                fail_msg("%s, cap %zu: %s", mpiwc_codec_name(codec), caps[c], err);
            assert_int_equal(out.n, n);
            if (n)
                assert_memory_equal(out.p, want, n);
            free(out.p);
        }
}

static void test_round_trips(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 1000, 700000};
    for (size_t f = 0; f < 4; f++)
        for (size_t s = 0; s < 4; s++) {
            uint8_t *t = text(sizes[s], (unsigned)(s + 1));
            struct blob z = compress_with(formats[f], t, sizes[s]);
            assert_int_equal(mpiwc_codec_detect(z.p, z.n), formats[f]);
            expect_text(formats[f], &z, t, sizes[s]);
            free(z.p);
            free(t);
        }
}

/* Two members/streams/frames back to back (gzip: with zero padding too). */
static void test_multi_member(void **state)
{
    (void)state;
    uint8_t *a = text(5000, 7), *b = text(3000, 8);
    uint8_t *both = malloc(8000);
    memcpy(both, a, 5000);
    memcpy(both + 5000, b, 3000);
    for (size_t f = 0; f < 4; f++) {
        struct blob z = compress_with(formats[f], a, 5000);
        struct blob z2 = compress_with(formats[f], b, 3000);
        append(&z, z2.p, z2.n);
        expect_text(formats[f], &z, both, 8000);
        if (formats[f] == MPIWC_CODEC_GZIP) {
            static const uint8_t zeros[100] = {0};
            append(&z, zeros, sizeof zeros);
            expect_text(formats[f], &z, both, 8000);
        }
        free(z.p);
        free(z2.p);
    }
    free(a);
    free(b);
    free(both);
}

/* Every cut of the compressed data short of its end is an error naming the offset. */
static void test_truncated(void **state)
{
    (void)state;
    uint8_t *t = text(20000, 3);
    for (size_t f = 0; f < 4; f++) {
        struct blob z = compress_with(formats[f], t, 20000);
        size_t step = z.n / 37 + 1;
        for (size_t cut = 1; cut < z.n; cut += step) {
            for (int via = 0; via < 2; via++) {
                struct blob out;
                char err[256] = "", want[64];
                int rc = decode(formats[f], z.p, cut, via, 4096, &out, err, sizeof err);
                if (rc == 0)
                    fail_msg("%s cut at %zu of %zu decoded without error (%zu bytes)",
                             mpiwc_codec_name(formats[f]), cut, z.n, out.n);
                snprintf(want, sizeof want, "offset %zu", cut);
                if (!strstr(err, "offset"))
                    fail_msg("no offset in: %s", err);
                if (strstr(err, "truncated") && !strstr(err, want))
                    fail_msg("truncation at %zu, message: %s", cut, err);
                free(out.p);
            }
        }
        free(z.p);
    }
    free(t);
}

/* A flipped byte inside the data (every format here carries a checksum) is an error. */
static void test_corrupt(void **state)
{
    (void)state;
    uint8_t *t = text(50000, 4);
    for (size_t f = 0; f < 4; f++) {
        struct blob z = compress_with(formats[f], t, 50000);
        for (size_t at = 20; at < z.n - 4; at += z.n / 11) {
            uint8_t keep = z.p[at];
            z.p[at] ^= 0x5a;
            struct blob out;
            char err[256] = "";
            int rc = decode(formats[f], z.p, z.n, true, 4096, &out, err, sizeof err);
            if (rc == 0)
                fail_msg("%s: byte %zu flipped, decoded without error",
                         mpiwc_codec_name(formats[f]), at);
            if (!strstr(err, "offset") || !strstr(err, mpiwc_codec_name(formats[f])))
                fail_msg("message: %s", err);
            free(out.p);
            z.p[at] = keep;
        }
        free(z.p);
    }
    free(t);
}

static void test_trailing_garbage(void **state)
{
    (void)state;
    uint8_t *t = text(1000, 5);
    for (size_t f = 0; f < 4; f++) {
        struct blob z = compress_with(formats[f], t, 1000);
        size_t end = z.n;
        append(&z, (const uint8_t *)"garbage!", 8);
        struct blob out;
        char err[256] = "";
        assert_int_equal(decode(formats[f], z.p, z.n, false, 4096, &out, err, sizeof err), -1);
        /* Where the garbage starts, or a few bytes on (the header the library tried to read). */
        const char *at = strstr(err, "offset ");
        if (!at)
            fail_msg("%s: no offset in: %s", mpiwc_codec_name(formats[f]), err);
        unsigned long long off = strtoull(at + 7, NULL, 10);
        if (off < end || off > z.n)
            fail_msg("%s: garbage at %zu, message: %s", mpiwc_codec_name(formats[f]), end, err);
        free(out.p);
        free(z.p);
    }
    free(t);
}

static void test_detect(void **state)
{
    (void)state;
    assert_int_equal(mpiwc_codec_detect((const uint8_t *)"", 0), MPIWC_CODEC_NONE);
    assert_int_equal(mpiwc_codec_detect((const uint8_t *)"\x1f\x8b\x08", 3), MPIWC_CODEC_GZIP);
    assert_int_equal(mpiwc_codec_detect((const uint8_t *)"\x1f\x8b", 2), MPIWC_CODEC_NONE);
    /* Text that starts like a bzip2 header is text. */
    assert_int_equal(mpiwc_codec_detect((const uint8_t *)"BZh9 is not compressed", 22),
                     MPIWC_CODEC_NONE);
    assert_int_equal(mpiwc_codec_detect((const uint8_t *)"BZh91AY&SY", 10), MPIWC_CODEC_BZIP2);
    assert_int_equal(mpiwc_codec_detect((const uint8_t *)"\xfd"
                                                         "7zXZ\0",
                                        6),
                     MPIWC_CODEC_XZ);
    assert_int_equal(mpiwc_codec_detect((const uint8_t *)"\x28\xb5\x2f\xfd", 4), MPIWC_CODEC_ZSTD);
    assert_int_equal(mpiwc_codec_detect((const uint8_t *)"hello world", 11), MPIWC_CODEC_NONE);
    assert_string_equal(mpiwc_codec_name(MPIWC_CODEC_XZ), "xz");
}

static void test_estimate(void **state)
{
    (void)state;
    uint8_t *t = text(100000, 6);
    struct blob z = compress_with(MPIWC_CODEC_GZIP, t, 100000);
    /* gzip: the trailer's ISIZE */
    assert_int_equal(mpiwc_codec_estimate(MPIWC_CODEC_GZIP, z.n, z.p, 32, z.p + z.n - 4), 100000);
    /* without it, or implausible: the ratio */
    assert_int_equal(mpiwc_codec_estimate(MPIWC_CODEC_GZIP, z.n, z.p, 32, NULL),
                     (uint64_t)z.n * MPIWC_CODEC_RATIO);
    static const uint8_t tiny[4] = {1, 0, 0, 0};
    assert_int_equal(mpiwc_codec_estimate(MPIWC_CODEC_GZIP, 1000, z.p, 32, tiny),
                     1000 * MPIWC_CODEC_RATIO);
    free(z.p);
    /* zstd: the frame's content size */
    z = compress_with(MPIWC_CODEC_ZSTD, t, 100000);
    assert_int_equal(mpiwc_codec_estimate(MPIWC_CODEC_ZSTD, z.n, z.p, 32, NULL), 100000);
    free(z.p);
    assert_int_equal(mpiwc_codec_estimate(MPIWC_CODEC_XZ, 10, NULL, 0, NULL),
                     10 * MPIWC_CODEC_RATIO);
    assert_int_equal(mpiwc_codec_estimate(MPIWC_CODEC_NONE, 10, NULL, 0, NULL), 10);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),           cmocka_unit_test(test_estimate),
        cmocka_unit_test(test_round_trips),      cmocka_unit_test(test_multi_member),
        cmocka_unit_test(test_truncated),        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_trailing_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

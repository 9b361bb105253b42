/*
 * The word-boundary classifiers behind both tokenizers, one per SIMD level
 * and split rule, the ASCII case folders, and the run scan they share
 * (boundary.h's private half), exposed so that tests can check every level
 * the CPU offers against the scalar one.
 */
#ifndef MPIWC_BOUNDARY_INTERNAL_H
#define MPIWC_BOUNDARY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/boundary.h"
#include "mpiwc/util.h"

enum mpiwc_simd { MPIWC_SIMD_SCALAR, MPIWC_SIMD_AVX2, MPIWC_SIMD_AVX512 };

/* Local. Highest level this CPU supports, capped by MPIWC_SIMD in the environment. */
enum mpiwc_simd mpiwc_boundary_simd_level(void);

/* Local. Is this level usable on this CPU? */
bool mpiwc_boundary_simd_supported(enum mpiwc_simd level);

/*
 * Local. The classifier of a level (which must be supported) for a split
 * rule: it agrees with mpiwc_boundary_is_word() for every rule (hadoop's
 * is the table-driven one at every level).
 */
mpiwc_classify_fn mpiwc_boundary_classifier(enum mpiwc_simd level, enum mpiwc_split split);

/* Local. dst[i] = src[i] with A-Z folded to a-z, for i < n (dst and src do
 * not overlap); true when every byte is ASCII (below 0x80). */
typedef bool (*mpiwc_fold_fn)(uint8_t *restrict dst, const uint8_t *restrict src, size_t n);

/* Local. The ASCII folder of a level (which must be supported). */
mpiwc_fold_fn mpiwc_boundary_folder(enum mpiwc_simd level);

/* Bytes after the end of a scan copy that may be read (zero). */
#define MPIWC_SCAN_PAD 16

/*
 * Local. The copy the fast paths scan: buf[0..len) (len > 0), A-Z folded
 * when fold is not NULL, then MPIWC_SCAN_PAD zero bytes, so that every short
 * key is two 8-byte loads. *copy (*cap bytes, owned) is reused or replaced.
 * *ascii: every byte is ASCII (known only when folding; false otherwise).
 */
static inline uint8_t *mpiwc_boundary_scan_copy(uint8_t **copy, size_t *cap, const uint8_t *buf,
                                                size_t len, mpiwc_fold_fn fold, bool *ascii)
{
    if (*cap < len + MPIWC_SCAN_PAD) {
        free(*copy);
        *copy = mpiwc_xmalloc(len + MPIWC_SCAN_PAD);
        *cap = len + MPIWC_SCAN_PAD;
    }
    *ascii = false;
    if (fold)
        *ascii = fold(*copy, buf, len);
    else
        memcpy(*copy, buf, len);
    memset(*copy + len, 0, MPIWC_SCAN_PAD);
    return *copy;
}

typedef void (*mpiwc_run_fn)(void *ctx, const uint8_t *p, size_t n);

/*
 * The index of the lowest set bit of x != 0. GCC sign-extends the int of
 * __builtin_ctzll() to 64 bits, two instructions per word in the scan;
 * rep bsf is tzcnt where the CPU has it and bsf, equal for x != 0, where not.
 */
static inline size_t mpiwc_boundary_ctz(uint64_t x)
{
#if defined(__x86_64__) && defined(__GNUC__)
    uint64_t r;
    __asm__("rep bsfq %1, %0" : "=r"(r) : "rm"(x) : "cc");
    return r;
#else
    return (size_t)__builtin_ctzll(x);
#endif
}

/*
 * Local. The word-boundary scan both tokenizers share. Calls done(ctx, p, n)
 * for every run of word bytes that starts and ends inside buf[i..len), and
 * returns where a run still open at len starts, or len when none is.
 * buf[i - 1], if any, must not be a word byte.
 *
 * Per 64 bytes: m marks word bytes; a start is a word byte after a non-word
 * byte, an end a non-word byte after a word byte. Starts and ends alternate,
 * so each start pairs with the next end, here or in a later block. Always
 * inlined, so that done (a static function at each call site) is too.
 */
static inline __attribute__((always_inline)) size_t
mpiwc_boundary_scan_runs(const uint8_t *buf, size_t len, size_t i, mpiwc_classify_fn classify,
                         const uint8_t *is_word, mpiwc_run_fn done, void *ctx)
{
    bool open = false;
    size_t open_at = 0;
    uint64_t carry = 0; /* 1 when the previous block ended in a word byte */
    while (i < len) {
        size_t n = len - i < 64 ? len - i : 64;
        uint64_t m, valid = n == 64 ? ~0ull : (1ull << n) - 1;
        if (n == 64) {
            m = classify(buf + i, is_word);
        } else {
            uint8_t tail[64] = {0};
            memcpy(tail, buf + i, n);
            m = classify(tail, is_word) & valid;
        }
        uint64_t after_word = (m << 1) | carry;
        uint64_t starts = m & ~after_word;
        uint64_t ends = ~m & after_word & valid;
        carry = m >> 63;
        if (open && ends) {
            size_t e = i + mpiwc_boundary_ctz(ends);
            ends &= ends - 1;
            done(ctx, buf + open_at, e - open_at);
            open = false;
        }
        /* Every end left closes a run that starts here; a start left over opens one. */
        const uint8_t *block = buf + i;
        while (ends) {
            size_t s = mpiwc_boundary_ctz(starts), e = mpiwc_boundary_ctz(ends);
            starts &= starts - 1;
            ends &= ends - 1;
            done(ctx, block + s, e - s);
        }
        if (starts) {
            open = true;
            open_at = i + mpiwc_boundary_ctz(starts);
        }
        i += n;
    }
    return open ? open_at : len;
}

#endif

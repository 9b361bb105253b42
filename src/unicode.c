#include "mpiwc/unicode.h"

#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "mpiwc/util.h"

size_t mpiwc_unicode_next(const uint8_t *p, size_t n, int32_t *cp)
{
    uint8_t b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    /* Table 3-7: the length and the range of the second byte for each lead. */
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf;
    int32_t c;
    if (b >= 0xc2 && b <= 0xdf) {
        need = 2;
        c = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 3;
        c = b & 0x0f;
        if (b == 0xe0)
            lo = 0xa0; /* no overlongs */
        else if (b == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 4;
        c = b & 0x07;
        if (b == 0xf0)
            lo = 0x90; /* no overlongs */
        else if (b == 0xf4)
            hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        *cp = -1; /* a continuation byte, C0, C1, F5..FF */
        return 1;
    }
    size_t i = 1;
    for (; i < need; i++) {
        if (i >= n || p[i] < lo || p[i] > hi) {
            *cp = -1;
            return i;
        }
        c = (c << 6) | (p[i] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }
    *cp = c;
    return need;
}

bool mpiwc_unicode_is_word(int32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
    return (U_GET_GC_MASK(cp) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) != 0;
}

bool mpiwc_unicode_is_digit(int32_t cp)
{
    return cp >= 0 && u_charType(cp) == U_DECIMAL_DIGIT_NUMBER;
}

size_t mpiwc_unicode_bom(const uint8_t *p, size_t n)
{
    return n >= MPIWC_UNICODE_BOM_LEN && memcmp(p, MPIWC_UNICODE_BOM, MPIWC_UNICODE_BOM_LEN) == 0
               ? MPIWC_UNICODE_BOM_LEN
               : 0;
}

size_t mpiwc_unicode_length(const uint8_t *p, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t k = mpiwc_unicode_next(p + i, n - i, &cp);
        chars += cp < 0 ? k : 1;
        i += k;
    }
    return chars;
}

bool mpiwc_unicode_is_number(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        int32_t cp;
        i += mpiwc_unicode_next(p + i, n - i, &cp);
        if (!mpiwc_unicode_is_digit(cp))
            return false;
    }
    return n > 0;
}

static void buf_reserve(struct mpiwc_unicode_buf *b, size_t more)
{
    b->p = mpiwc_grow(b->p, &b->cap, mpiwc_add_size(b->len, more), 1);
}

size_t mpiwc_unicode_replace_invalid(const uint8_t *p, size_t n, struct mpiwc_unicode_buf *out)
{
    size_t bad = 0;
    buf_reserve(out, mpiwc_mul_size(n, 3)); /* each ill-formed byte may become 3 */
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t k = mpiwc_unicode_next(p + i, n - i, &cp);
        if (cp < 0) {
            memcpy(out->p + out->len, "\xef\xbf\xbd", 3);
            out->len += 3;
            bad += k;
        } else {
            memcpy(out->p + out->len, p + i, k);
            out->len += k;
        }
        i += k;
    }
    return bad;
}

/*
 * UTF-8 to UTF-16 with U+FFFD for each maximal ill-formed subpart; off, when
 * given, receives the byte offset of each unit and one past the end. u16 has
 * room for n + 1 units. Returns the units written; *bad the ill-formed bytes.
 */
static size_t to_utf16(const uint8_t *p, size_t n, uint16_t *u16, uint32_t *off, size_t *bad)
{
    size_t m = 0;
    *bad = 0;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t k = mpiwc_unicode_next(p + i, n - i, &cp);
        if (cp < 0) {
            *bad += k;
            cp = 0xfffd;
        }
        if (off)
            off[m] = (uint32_t)i;
        if (cp >= 0x10000) {
            u16[m++] = (uint16_t)(0xd7c0 + (cp >> 10));
            if (off)
                off[m] = (uint32_t)i;
            u16[m++] = (uint16_t)(0xdc00 | (cp & 0x3ff));
        } else {
            u16[m++] = (uint16_t)cp;
        }
        i += k;
    }
    if (off)
        off[m] = (uint32_t)n;
    return m;
}

void mpiwc_unicode_keyer_init(struct mpiwc_unicode_keyer *k, bool fold,
                              enum mpiwc_normalize normalize)
{
    memset(k, 0, sizeof *k);
    k->fold = fold;
    k->normalize = normalize;
    UErrorCode e = U_ZERO_ERROR;
    if (normalize == MPIWC_NORMALIZE_NFC)
        k->norm = unorm2_getNFCInstance(&e);
    else if (normalize == MPIWC_NORMALIZE_NFKC)
        k->norm = unorm2_getNFKCInstance(&e);
    if (U_FAILURE(e))
        mpiwc_fatal("ICU normalizer unavailable: %s", u_errorName(e));
}

void mpiwc_unicode_keyer_free(struct mpiwc_unicode_keyer *k)
{
    free(k->a);
    free(k->b);
    free(k->out);
    memset(k, 0, sizeof *k);
}

static void keyer_reserve(struct mpiwc_unicode_keyer *k, size_t units)
{
    if (units <= k->cap)
        return;
    size_t c = mpiwc_grow_cap(k->cap, units);
    free(k->a);
    free(k->b);
    k->a = mpiwc_xmalloc(mpiwc_mul_size(c, sizeof *k->a));
    k->b = mpiwc_xmalloc(mpiwc_mul_size(c, sizeof *k->b));
    k->cap = c;
}

/*
 * One ICU step from src[0..n) into dst (capacity k->cap), growing the scratch
 * and retrying when the result does not fit. dst and src are k->a / k->b;
 * returns the length. which: 0 normalize, 1 fold.
 */
static int32_t icu_step(struct mpiwc_unicode_keyer *k, int which, bool into_b, int32_t n)
{
    for (;;) {
        UChar *src = (UChar *)(into_b ? k->a : k->b);
        UChar *dst = (UChar *)(into_b ? k->b : k->a);
        UErrorCode e = U_ZERO_ERROR;
        int32_t m;
        if (which == 0)
            m = unorm2_normalize((const UNormalizer2 *)k->norm, src, n, dst, (int32_t)k->cap, &e);
        else
            m = u_strFoldCase(dst, (int32_t)k->cap, src, n, U_FOLD_CASE_DEFAULT, &e);
        if (e == U_BUFFER_OVERFLOW_ERROR || (U_SUCCESS(e) && (size_t)m >= k->cap)) {
            /* Grow both, keeping src. */
            size_t old = k->cap;
            uint16_t *keep = mpiwc_xmalloc(mpiwc_mul_size((size_t)n, sizeof *keep));
            memcpy(keep, src, (size_t)n * sizeof *keep);
            keyer_reserve(k, (size_t)m + 1 > 2 * old ? (size_t)m + 1 : 2 * old);
            memcpy(into_b ? k->a : k->b, keep, (size_t)n * sizeof *keep);
            free(keep);
            continue;
        }
        if (U_FAILURE(e))
            mpiwc_fatal("ICU %s failed: %s", which == 0 ? "normalization" : "case folding",
                        u_errorName(e));
        return m;
    }
}

const uint8_t *mpiwc_unicode_key(struct mpiwc_unicode_keyer *k, const uint8_t *w, size_t n,
                                 size_t *len)
{
    if (n > INT32_MAX / 4)
        mpiwc_fatal("word of %zu bytes is too long to normalize", n);
    keyer_reserve(k, n + 1);
    size_t bad;
    int32_t m = (int32_t)to_utf16(w, n, k->a, NULL, &bad);
    bool in_b = false; /* where the current text is: a or b */
    if (k->norm) {
        m = icu_step(k, 0, true, m);
        in_b = true;
    }
    if (k->fold) {
        m = icu_step(k, 1, !in_b, m);
        in_b = !in_b;
        if (k->norm) {
            m = icu_step(k, 0, !in_b, m);
            in_b = !in_b;
        }
    }
    const UChar *src = (const UChar *)(in_b ? k->b : k->a);
    size_t need = mpiwc_mul_size((size_t)m, 3) + 1;
    if (need > k->out_cap) {
        free(k->out);
        k->out = mpiwc_xmalloc(need);
        k->out_cap = need;
    }
    UErrorCode e = U_ZERO_ERROR;
    int32_t out_len = 0;
    u_strToUTF8((char *)k->out, (int32_t)k->out_cap, &out_len, src, m, &e);
    if (U_FAILURE(e))
        mpiwc_fatal("ICU UTF-8 conversion failed: %s", u_errorName(e));
    *len = (size_t)out_len;
    return k->out;
}

void mpiwc_unicode_segmenter_init(struct mpiwc_unicode_segmenter *s)
{
    memset(s, 0, sizeof *s);
    UErrorCode e = U_ZERO_ERROR;
    s->bi = ubrk_open(UBRK_WORD, "", NULL, 0, &e);
    if (U_FAILURE(e))
        mpiwc_fatal("ICU word break iterator unavailable: %s", u_errorName(e));
}

void mpiwc_unicode_segmenter_free(struct mpiwc_unicode_segmenter *s)
{
    if (s->bi)
        ubrk_close(s->bi);
    free(s->u16);
    free(s->off);
    memset(s, 0, sizeof *s);
}

size_t mpiwc_unicode_segment(struct mpiwc_unicode_segmenter *s, const uint8_t *text, size_t n,
                             void (*word)(void *ctx, const uint8_t *w, size_t len), void *ctx)
{
    if (n > INT32_MAX / 2)
        mpiwc_fatal("run of %zu bytes without ASCII space is too long to segment", n);
    if (n + 1 > s->cap) {
        size_t c = mpiwc_grow_cap(s->cap, n + 1);
        free(s->u16);
        free(s->off);
        s->u16 = mpiwc_xmalloc(mpiwc_mul_size(c, sizeof *s->u16));
        s->off = mpiwc_xmalloc(mpiwc_mul_size(c, sizeof *s->off));
        s->cap = c;
    }
    size_t bad;
    size_t m = to_utf16(text, n, s->u16, s->off, &bad);
    UBreakIterator *bi = s->bi;
    UErrorCode e = U_ZERO_ERROR;
    ubrk_setText(bi, (const UChar *)s->u16, (int32_t)m, &e);
    if (U_FAILURE(e))
        mpiwc_fatal("ICU word break iterator failed: %s", u_errorName(e));
    int32_t start = ubrk_first(bi);
    for (int32_t end = ubrk_next(bi); end != UBRK_DONE; start = end, end = ubrk_next(bi)) {
        if (ubrk_getRuleStatus(bi) >= UBRK_WORD_NONE_LIMIT)
            word(ctx, text + s->off[start], s->off[end] - s->off[start]);
    }
    return bad;
}

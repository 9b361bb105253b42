/*
 * Unit tests for format.h: both orders, and the exact bytes of TSV, CSV and
 * JSON (JSON is checked with a small parser written here that undoes the
 * escapes, plus a strict UTF-8 validator over the whole output).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "mpiwc/format.h"

#define W(s, c)                                                                                    \
    {                                                                                              \
        (const uint8_t *)(s), (uint32_t)(sizeof(s) - 1), (c)                                       \
    }

/* The rows in format, as the output writes them; 0, or -1 when the stream reports an error. */
static int format_write(FILE *out, const struct mpiwc_word *words, size_t n,
                        enum mpiwc_format format)
{
    mpiwc_format_begin(out, format);
    for (size_t i = 0; i < n; i++)
        mpiwc_format_row(out, &words[i], i, format);
    return mpiwc_format_end(out, format);
}

/* Output of format_write captured in memory. */
struct capture {
    char *buf;
    size_t len;
};

static void capture_write(struct capture *c, const struct mpiwc_word *words, size_t n,
                          enum mpiwc_format format)
{
    c->buf = NULL;
    c->len = 0;
    FILE *f = open_memstream(&c->buf, &c->len);
    assert_non_null(f);
    assert_int_equal(format_write(f, words, n, format), 0);
    assert_int_equal(fclose(f), 0);
}

static void assert_bytes(const struct capture *c, const char *want, size_t want_len)
{
    if (c->len != want_len || memcmp(c->buf, want, want_len) != 0) {
        print_message("got %zu bytes:\n", c->len);
        for (size_t i = 0; i < c->len; i++)
            print_message("%02x%c", (unsigned char)c->buf[i], i % 16 == 15 ? '\n' : ' ');
        print_message("\n");
        fail_msg("output differs from the expected %zu bytes", want_len);
    }
}
#define ASSERT_BYTES(c, lit) assert_bytes((c), (lit), sizeof(lit) - 1)

/* ---- the orders, written out here ---- */

static int ref_bytes_cmp(const struct mpiwc_word *a, const struct mpiwc_word *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++) {
        unsigned x = a->key[i], y = b->key[i];
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

static int ref_cmp(const struct mpiwc_word *a, const struct mpiwc_word *b, enum mpiwc_sort order)
{
    if (order == MPIWC_SORT_COUNT && a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return ref_bytes_cmp(a, b);
}

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

static void assert_order(const struct mpiwc_word *got, const struct mpiwc_word *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i].len, want[i].len);
        assert_memory_equal(got[i].key, want[i].key, want[i].len);
        assert_int_equal(got[i].count, want[i].count);
    }
}

static const struct mpiwc_word sort_input[] = {
    W("z", 3), W("\x80", 3), W("ab", 3),   W("a", 3), W("c", 1),    W("zz", 5),
    W("A", 3), W("a\0", 3),  W("\xff", 1), W("b", 3), W("\x7f", 1),
};
#define SORT_N (sizeof sort_input / sizeof sort_input[0])

static void test_sort_by_count(void **state)
{
    (void)state;
    struct mpiwc_word w[SORT_N];
    memcpy(w, sort_input, sizeof w);
    mpiwc_format_sort(w, SORT_N, MPIWC_SORT_COUNT);
    static const struct mpiwc_word want[] = {
        W("zz", 5), W("A", 3),    W("a", 3), W("a\0", 3),  W("ab", 3),   W("b", 3),
        W("z", 3),  W("\x80", 3), W("c", 1), W("\x7f", 1), W("\xff", 1),
    };
    assert_order(w, want, SORT_N);
}

static void test_sort_by_word(void **state)
{
    (void)state;
    struct mpiwc_word w[SORT_N];
    memcpy(w, sort_input, sizeof w);
    mpiwc_format_sort(w, SORT_N, MPIWC_SORT_WORD);
    static const struct mpiwc_word want[] = {
        W("A", 3), W("a", 3),  W("a\0", 3),  W("ab", 3),   W("b", 3),    W("c", 1),
        W("z", 3), W("zz", 5), W("\x7f", 1), W("\x80", 3), W("\xff", 1),
    };
    assert_order(w, want, SORT_N);
}

static void test_compare(void **state)
{
    (void)state;
    static const struct mpiwc_word a = W("a", 2), ab = W("ab", 2), b = W("b", 1), hi = W("\x80", 9),
                                   z = W("z", 9), a0 = W("a\0", 2);
    /* count order: higher count first */
    assert_true(mpiwc_format_compare(&hi, &a, MPIWC_SORT_COUNT) < 0);
    assert_true(mpiwc_format_compare(&a, &hi, MPIWC_SORT_COUNT) > 0);
    assert_true(mpiwc_format_compare(&a, &b, MPIWC_SORT_COUNT) < 0);
    /* ties by bytes, proper prefix first, unsigned bytes */
    assert_true(mpiwc_format_compare(&a, &ab, MPIWC_SORT_COUNT) < 0);
    assert_true(mpiwc_format_compare(&ab, &a, MPIWC_SORT_COUNT) > 0);
    assert_true(mpiwc_format_compare(&a, &a0, MPIWC_SORT_COUNT) < 0);
    assert_true(mpiwc_format_compare(&z, &hi, MPIWC_SORT_COUNT) < 0);
    assert_true(mpiwc_format_compare(&a, &a, MPIWC_SORT_COUNT) == 0);
    /* word order ignores counts */
    assert_true(mpiwc_format_compare(&b, &a, MPIWC_SORT_WORD) > 0);
    assert_true(mpiwc_format_compare(&a, &hi, MPIWC_SORT_WORD) < 0);
    assert_true(mpiwc_format_compare(&hi, &z, MPIWC_SORT_WORD) > 0);
    assert_true(mpiwc_format_compare(&ab, &ab, MPIWC_SORT_WORD) == 0);
    /* Same bytes at a different address compare equal. */
    uint8_t copy[2] = {'a', 'b'};
    struct mpiwc_word ab2 = {copy, 2, 2};
    assert_true(mpiwc_format_compare(&ab, &ab2, MPIWC_SORT_WORD) == 0);
    assert_true(mpiwc_format_compare(&ab, &ab2, MPIWC_SORT_COUNT) == 0);
}

/*
 * mpiwc_format_compare_prefixed() against the reference, over words of 1 to
 * 20 bytes that share long prefixes and hold zero and high bytes: every
 * length on either side of 8 and 16, where it reads bytes 8 to 15 itself.
 */
static void test_compare_prefixed(void **state)
{
    (void)state;
    enum { N = 400 };
    static uint8_t keys[N][20];
    static struct mpiwc_word w[N];
    const uint8_t bytes[] = {0x00, 0x01, 'a', 0xff};
    uint32_t x = 12345;
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        w[i].len = 1 + (x >> 16) % 20;
        for (size_t k = 0; k < 20; k++) { /* all but the last few bytes shared with word i - 1 */
            x = x * 1103515245u + 12345u;
            keys[i][k] =
                i > 0 && k + 1 + (x >> 28) % 4 < w[i].len ? keys[i - 1][k] : bytes[(x >> 16) % 4];
        }
        w[i].key = keys[i];
        w[i].count = 1 + (x >> 20) % 2;
    }
    for (int by = 0; by < 2; by++)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                enum mpiwc_sort order = by ? MPIWC_SORT_WORD : MPIWC_SORT_COUNT;
                int got = mpiwc_format_compare_prefixed(&w[i], mpiwc_format_prefix(&w[i]), &w[j],
                                                        mpiwc_format_prefix(&w[j]), order);
                if (sign(got) != ref_cmp(&w[i], &w[j], order))
                    fail_msg("words %zu (%u bytes) and %zu (%u bytes): %d", i, w[i].len, j,
                             w[j].len, got);
            }
}

static int cmp_ptr(const void *x, const void *y)
{
    const uint8_t *a = *(const uint8_t *const *)x, *b = *(const uint8_t *const *)y;
    return (a > b) - (a < b);
}

/* Many random distinct words: the result is a sorted permutation of the input. */
static void test_sort_random(void **state)
{
    (void)state;
    static const uint8_t alphabet[] = {'a', 'b', 'B', 0x00, 0x7f, 0x80, 0xff};
    const size_t max = 3000;
    struct mpiwc_word *w = calloc(max, sizeof *w);
    uint8_t *store = malloc(max * 5);
    assert_non_null(w);
    assert_non_null(store);
    size_t n = 0;
    uint32_t x = 7;
    for (size_t i = 0; i < max; i++) {
        x = x * 1664525u + 1013904223u;
        uint32_t len = 1 + (x >> 28) % 5;
        uint8_t *k = store + n * 5;
        for (uint32_t j = 0; j < len; j++) {
            x = x * 1664525u + 1013904223u;
            k[j] = alphabet[(x >> 24) % sizeof alphabet];
        }
        struct mpiwc_word cand = {k, len, 1 + (x >> 8) % 4};
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = ref_bytes_cmp(&w[j], &cand) == 0;
        if (!dup)
            w[n++] = cand;
    }
    assert_true(n > 1000);

    for (int o = 0; o < 2; o++) {
        enum mpiwc_sort order = o ? MPIWC_SORT_WORD : MPIWC_SORT_COUNT;
        struct mpiwc_word *s = malloc(n * sizeof *s);
        assert_non_null(s);
        memcpy(s, w, n * sizeof *s);
        mpiwc_format_sort(s, n, order);
        for (size_t i = 1; i < n; i++) {
            assert_true(ref_cmp(&s[i - 1], &s[i], order) < 0);
            assert_int_equal(sign(mpiwc_format_compare(&s[i - 1], &s[i], order)), -1);
            assert_int_equal(sign(mpiwc_format_compare(&s[i], &s[i - 1], order)), 1);
        }
        /* Permutation: the same key pointers, each once, with their counts. */
        const uint8_t **pa = malloc(n * sizeof *pa), **pb = malloc(n * sizeof *pb);
        assert_non_null(pa);
        assert_non_null(pb);
        uint64_t sa = 0, sb = 0;
        for (size_t i = 0; i < n; i++) {
            pa[i] = w[i].key;
            pb[i] = s[i].key;
            sa += w[i].count * (uint64_t)(w[i].key - store);
            sb += s[i].count * (uint64_t)(s[i].key - store);
        }
        qsort(pa, n, sizeof *pa, cmp_ptr);
        qsort(pb, n, sizeof *pb, cmp_ptr);
        assert_memory_equal(pa, pb, n * sizeof *pa);
        assert_int_equal(sa, sb);
        free(pa);
        free(pb);
        free(s);
    }
    free(w);
    free(store);
}

static enum mpiwc_sort qsort_order;

static int qsort_ref(const void *x, const void *y)
{
    return ref_cmp(x, y, qsort_order);
}

/*
 * 200,000 words, enough for the radix passes of a big sort: lengths 1 to 24
 * over a small alphabet, half of them with the same first 5 bytes (so many
 * share their first 8 bytes, and radix buckets stay big down to the last
 * bytes), some longer than 16 bytes, counts from 1 up to 2^40 (so several
 * bytes of the count vary). Checked row by row against qsort with
 * the reference comparison.
 */
static void test_sort_large(void **state)
{
    (void)state;
    static const uint8_t alphabet[] = {'a', 'b', 0x00, 0xff};
    const size_t n = 200000, width = 24;
    uint8_t *store = calloc(n, width);
    struct mpiwc_word *w = calloc(n, sizeof *w), *want = calloc(n, sizeof *want);
    assert_non_null(store);
    assert_non_null(w);
    assert_non_null(want);
    uint64_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t len = 1 + (uint32_t)(x >> 59) % 24;
        uint8_t *k = store + i * width;
        for (uint32_t j = 0; j < len; j++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            k[j] = alphabet[(x >> 60) % sizeof alphabet];
        }
        /* Half share their first 5 bytes, so buckets stay big for the later bytes. */
        if (len > 5 && (x >> 58) % 2)
            memcpy(k, "ab\0ba", 5);
        if (len >= 12)
            memcpy(k + len - 4, &i, 4);
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t count = (x >> 62) == 0 ? 1 + (x >> 24) : 1 + (x >> 40) % 5;
        w[i] = (struct mpiwc_word){k, len, count};
    }
    /* Drop duplicates (short words repeat): keep the first of equal keys. */
    qsort_order = MPIWC_SORT_WORD;
    memcpy(want, w, n * sizeof *w);
    qsort(want, n, sizeof *want, qsort_ref);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || ref_bytes_cmp(&want[m - 1], &want[i]) != 0)
            want[m++] = want[i];
    assert_true(m > 100000);
    memcpy(w, want, m * sizeof *w);
    for (int o = 0; o < 2; o++) {
        qsort_order = o ? MPIWC_SORT_WORD : MPIWC_SORT_COUNT;
        /* Start from a shuffled copy. */
        for (size_t i = m - 1; i > 0; i--) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            size_t j = (size_t)((x >> 33) % (i + 1));
            struct mpiwc_word t = w[i];
            w[i] = w[j];
            w[j] = t;
        }
        memcpy(want, w, m * sizeof *w);
        qsort(want, m, sizeof *want, qsort_ref);
        mpiwc_format_sort(w, m, qsort_order);
        assert_order(w, want, m);
    }
    free(store);
    free(w);
    free(want);
}

static void test_sort_edge_sizes(void **state)
{
    (void)state;
    mpiwc_format_sort(NULL, 0, MPIWC_SORT_COUNT);
    struct mpiwc_word one[1] = {W("x", 1)};
    mpiwc_format_sort(one, 1, MPIWC_SORT_WORD);
    assert_int_equal(one[0].count, 1);
}

/* ---- TSV ---- */

static void test_tsv_exact(void **state)
{
    (void)state;
    static const struct mpiwc_word w[] = {
        W("the", 3), W("a\"b,c", 2), W("\xff\0x", 1), W("tab\\", UINT64_MAX), W("\xc3\xa9", 10),
    };
    struct capture c;
    capture_write(&c, w, 5, MPIWC_FORMAT_TSV);
    ASSERT_BYTES(&c, "the\t3\na\"b,c\t2\n\xff\0x\t1\ntab\\\t18446744073709551615\n\xc3\xa9\t10\n");
    free(c.buf);

    capture_write(&c, w, 0, MPIWC_FORMAT_TSV);
    assert_int_equal(c.len, 0);
    free(c.buf);
}

/* ---- CSV ---- */

static void test_csv_exact(void **state)
{
    (void)state;
    static const struct mpiwc_word w[] = {
        W("plain", 1), W("a,b", 2), W("say \"hi\"", 3), W("cr\rx", 4),
        W("lf\nx", 5), W("\"", 6),  W(",", 7),          W("\xe2\x82\xac", UINT64_MAX),
    };
    struct capture c;
    capture_write(&c, w, sizeof w / sizeof w[0], MPIWC_FORMAT_CSV);
    ASSERT_BYTES(&c, "word,count\r\n"
                     "plain,1\r\n"
                     "\"a,b\",2\r\n"
                     "\"say \"\"hi\"\"\",3\r\n"
                     "\"cr\rx\",4\r\n"
                     "\"lf\nx\",5\r\n"
                     "\"\"\"\",6\r\n"
                     "\",\",7\r\n"
                     "\xe2\x82\xac,18446744073709551615\r\n");
    free(c.buf);

    capture_write(&c, w, 0, MPIWC_FORMAT_CSV);
    ASSERT_BYTES(&c, "word,count\r\n");
    free(c.buf);
}

/* ---- JSON: a strict reader for the documented shape ---- */

static bool utf8_valid_at(const uint8_t *s, size_t n, size_t *adv)
{
    uint8_t b = s[0];
    size_t need;
    uint32_t cp, min;
    if (b < 0x80) {
        *adv = 1;
        return true;
    } else if (b >= 0xc2 && b <= 0xdf) {
        need = 1, cp = b & 0x1f, min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 2, cp = b & 0x0f, min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3, cp = b & 0x07, min = 0x10000;
    } else {
        return false;
    }
    if (n < need + 1)
        return false;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return false;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    *adv = need + 1;
    return true;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t adv;
        if (!utf8_valid_at(s + i, n - i, &adv))
            return false;
        i += adv;
    }
    return true;
}

struct jrow {
    uint8_t word[64]; /* decoded bytes */
    size_t len;
    const char *lit; /* the raw literal between the quotes, in the output */
    size_t lit_len;
    uint64_t count;
};

struct jparser {
    const char *s;
    size_t n, i;
    size_t newlines; /* newlines seen in whitespace since the last object */
};

static void jskip(struct jparser *p)
{
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) {
        if (p->s[p->i] == '\n')
            p->newlines++;
        p->i++;
    }
}

static bool jexpect(struct jparser *p, const char *lit)
{
    jskip(p);
    size_t l = strlen(lit);
    if (p->n - p->i < l || memcmp(p->s + p->i, lit, l) != 0)
        return false;
    p->i += l;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool jhex4(struct jparser *p, uint32_t *v)
{
    if (p->n - p->i < 4)
        return false;
    *v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->s[p->i + (size_t)k]);
        if (h < 0)
            return false;
        *v = *v * 16 + (uint32_t)h;
    }
    p->i += 4;
    return true;
}

static bool put_byte(struct jrow *r, uint32_t b)
{
    if (r->len >= sizeof r->word)
        return false;
    r->word[r->len++] = (uint8_t)b;
    return true;
}

static bool put_utf8(struct jrow *r, uint32_t cp)
{
    if (cp < 0x80)
        return put_byte(r, cp);
    if (cp < 0x800)
        return put_byte(r, 0xc0 | (cp >> 6)) && put_byte(r, 0x80 | (cp & 0x3f));
    if (cp < 0x10000)
        return put_byte(r, 0xe0 | (cp >> 12)) && put_byte(r, 0x80 | ((cp >> 6) & 0x3f)) &&
               put_byte(r, 0x80 | (cp & 0x3f));
    return put_byte(r, 0xf0 | (cp >> 18)) && put_byte(r, 0x80 | ((cp >> 12) & 0x3f)) &&
           put_byte(r, 0x80 | ((cp >> 6) & 0x3f)) && put_byte(r, 0x80 | (cp & 0x3f));
}

static bool jstring(struct jparser *p, struct jrow *r)
{
    jskip(p);
    if (p->i >= p->n || p->s[p->i] != '"')
        return false;
    p->i++;
    r->lit = p->s + p->i;
    r->len = 0;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            r->lit_len = (size_t)(p->s + p->i - r->lit);
            p->i++;
            return true;
        }
        if (c < 0x20)
            return false; /* raw control byte inside a string */
        if (c != '\\') {
            if (!put_byte(r, c))
                return false;
            p->i++;
            continue;
        }
        p->i++;
        if (p->i >= p->n)
            return false;
        char e = p->s[p->i++];
        uint32_t v;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            if (!put_byte(r, (uint32_t)e))
                return false;
            break;
        case 'b':
            if (!put_byte(r, 8))
                return false;
            break;
        case 'f':
            if (!put_byte(r, 12))
                return false;
            break;
        case 'n':
            if (!put_byte(r, 10))
                return false;
            break;
        case 'r':
            if (!put_byte(r, 13))
                return false;
            break;
        case 't':
            if (!put_byte(r, 9))
                return false;
            break;
        case 'u':
            if (!jhex4(p, &v))
                return false;
            if (v >= 0xdc80 && v <= 0xdcff) {
                if (!put_byte(r, v & 0xff)) /* surrogateescape */
                    return false;
            } else if (v >= 0xd800 && v <= 0xdbff) {
                uint32_t lo;
                if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                    return false;
                p->i += 2;
                if (!jhex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff)
                    return false;
                if (!put_utf8(r, 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00)))
                    return false;
            } else if (v >= 0xdc00 && v <= 0xdfff) {
                return false; /* lone low surrogate outside the escape range */
            } else if (!put_utf8(r, v)) {
                return false;
            }
            break;
        default:
            return false;
        }
    }
    return false;
}

static bool jnumber(struct jparser *p, uint64_t *v)
{
    jskip(p);
    size_t start = p->i;
    *v = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        uint64_t d = (uint64_t)(p->s[p->i] - '0');
        if (*v > (UINT64_MAX - d) / 10)
            return false;
        *v = *v * 10 + d;
        p->i++;
    }
    if (p->i == start)
        return false;
    if (p->i - start > 1 && p->s[start] == '0')
        return false; /* no leading zeros in JSON */
    return true;
}

/* Parse the whole output into rows; false on any deviation from the shape. */
static bool jparse(const char *s, size_t n, struct jrow *rows, size_t max, size_t *nrows)
{
    struct jparser p = {s, n, 0, 0};
    *nrows = 0;
    if (!jexpect(&p, "["))
        return false;
    jskip(&p);
    if (p.i < n && s[p.i] == ']') {
        p.i++;
    } else {
        for (;;) {
            if (*nrows == max)
                return false;
            struct jrow *r = &rows[*nrows];
            jskip(&p);
            if (*nrows > 0 && p.newlines == 0)
                return false; /* one object a line */
            if (!jexpect(&p, "{"))
                return false;
            p.newlines = 0;
            struct jrow name;
            if (!jstring(&p, &name) || name.len != 4 || memcmp(name.word, "word", 4) != 0)
                return false;
            if (!jexpect(&p, ":") || !jstring(&p, r))
                return false;
            if (!jexpect(&p, ","))
                return false;
            if (!jstring(&p, &name) || name.len != 5 || memcmp(name.word, "count", 5) != 0)
                return false;
            if (!jexpect(&p, ":") || !jnumber(&p, &r->count) || !jexpect(&p, "}"))
                return false;
            if (p.newlines != 0)
                return false; /* an object stays on its line */
            (*nrows)++;
            jskip(&p);
            if (p.i < n && s[p.i] == ',') {
                p.i++;
                continue;
            }
            if (!jexpect(&p, "]"))
                return false;
            break;
        }
    }
    jskip(&p);
    return p.i == n;
}

/* Write words as JSON, check shape, UTF-8 validity and the exact round trip. */
static void json_roundtrip(const struct mpiwc_word *w, size_t n, struct jrow *rows,
                           struct capture *c)
{
    capture_write(c, w, n, MPIWC_FORMAT_JSON);
    if (!utf8_valid((const uint8_t *)c->buf, c->len))
        fail_msg("JSON output is not valid UTF-8: %.*s", (int)c->len, c->buf);
    size_t nrows = 0;
    if (!jparse(c->buf, c->len, rows, n + 1, &nrows))
        fail_msg("JSON output does not parse: %.*s", (int)c->len, c->buf);
    assert_int_equal(nrows, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].len, w[i].len);
        assert_memory_equal(rows[i].word, w[i].key, w[i].len);
        assert_int_equal(rows[i].count, w[i].count);
    }
}

static void assert_lit(const struct jrow *r, const char *want)
{
    if (r->lit_len != strlen(want) || memcmp(r->lit, want, r->lit_len) != 0)
        fail_msg("JSON literal '%.*s', want '%s'", (int)r->lit_len, r->lit, want);
}

/* Literal equal ignoring the case of hex digits in \u escapes (and only there). */
static void assert_lit_hexcase(const struct jrow *r, const char *want)
{
    if (r->lit_len != strlen(want) || strncasecmp(r->lit, want, r->lit_len) != 0)
        fail_msg("JSON literal '%.*s', want '%s'", (int)r->lit_len, r->lit, want);
    /* case-insensitivity allowed only for hex digits: the rest must match exactly */
    for (size_t i = 0; i < r->lit_len; i++) {
        if (r->lit[i] != want[i] && hexval(want[i]) < 0)
            fail_msg("JSON literal '%.*s', want '%s'", (int)r->lit_len, r->lit, want);
    }
}

static void assert_lit_either(const struct jrow *r, const char *a, const char *b)
{
    bool ok_a = r->lit_len == strlen(a) && memcmp(r->lit, a, r->lit_len) == 0;
    bool ok_b = r->lit_len == strlen(b) && strncasecmp(r->lit, b, r->lit_len) == 0;
    if (!ok_a && !ok_b)
        fail_msg("JSON literal '%.*s', want '%s' or '%s'", (int)r->lit_len, r->lit, a, b);
}

static void test_json_plain(void **state)
{
    (void)state;
    static const struct mpiwc_word w[] = {W("the", 3), W("a", 1), W("big", UINT64_MAX)};
    struct jrow rows[4];
    struct capture c;
    json_roundtrip(w, 3, rows, &c);
    assert_lit(&rows[0], "the");
    assert_lit(&rows[1], "a");
    /* The documented shape, compactly: {"word":"the","count":3}. */
    assert_non_null(memmem(c.buf, c.len, "{\"word\":\"the\",\"count\":3}", 24));
    assert_non_null(memmem(c.buf, c.len, "\"count\":18446744073709551615}", 29));
    assert_true(c.len > 0 && c.buf[0] == '[');
    free(c.buf);

    struct jrow none[1];
    json_roundtrip(w, 0, none, &c);
    free(c.buf);
}

static void test_json_escapes(void **state)
{
    (void)state;
    static const struct mpiwc_word w[] = {
        W("a\"b\\c", 1), W("\x01", 2), W("\x1f", 3),      W("\0", 4), W("x\ny", 5),
        W("\t", 6),      W("\r", 7),   W("\b\f", 8),      W("/", 9),  W("\x7f", 10),
        W("\"\"", 11),   W("\\", 12),  W("q\x1b[0m", 13),
    };
    const size_t n = sizeof w / sizeof w[0];
    struct jrow rows[sizeof w / sizeof w[0] + 1];
    struct capture c;
    json_roundtrip(w, n, rows, &c);
    assert_lit(&rows[0], "a\\\"b\\\\c");
    assert_lit_hexcase(&rows[1], "\\u0001");
    assert_lit_hexcase(&rows[2], "\\u001f");
    assert_lit_hexcase(&rows[3], "\\u0000");
    assert_lit_either(&rows[4], "x\\ny", "x\\u000ay");
    assert_lit_either(&rows[5], "\\t", "\\u0009");
    assert_lit_either(&rows[6], "\\r", "\\u000d");
    assert_true(rows[7].lit_len == 4 || rows[7].lit_len == 12); /* \b\f or \u0008\u000c */
    assert_lit(&rows[10], "\\\"\\\"");
    assert_lit(&rows[11], "\\\\");
    assert_lit_hexcase(&rows[12], "q\\u001b[0m");
    free(c.buf);
}

static void test_json_utf8(void **state)
{
    (void)state;
    static const struct mpiwc_word w[] = {
        /* valid: passes through */
        W("\xc3\xa9t\xc3\xa9", 1), /* été */
        W("\xe2\x82\xac", 2),      /* € */
        W("\xf0\x9f\x98\x80", 3),  /* U+1F600 */
        W("\xf4\x8f\xbf\xbf", 4),  /* U+10FFFF, the last code point */
        W("\xef\xbf\xbf", 5),      /* U+FFFF */
        W("\xc2\x80", 6),          /* U+0080, the first 2-byte one */
        W("\xee\x80\x80", 7),      /* U+E000, just past the surrogates */
        /* invalid: each byte as \udcXX */
        W("\xff", 8),
        W("a\x80"
          "b",
          9),
        W("\xc3", 10),                 /* truncated at the end */
        W("\xc3\xa9\xc3", 11),         /* valid, then truncated */
        W("\xc0\xaf", 12),             /* overlong '/' */
        W("\xe0\x80\x80", 13),         /* overlong 3-byte */
        W("\xed\xa0\x80", 14),         /* UTF-8 encoded surrogate U+D800 */
        W("\xf4\x90\x80\x80", 15),     /* above U+10FFFF */
        W("\xf5\x80\x80\x80", 16),     /* never a lead byte */
        W("\xe2\x82x", 17),            /* sequence cut by an ASCII byte */
        W("\xe2\x82\xe2\x82\xac", 18), /* cut sequence then a valid one */
        W("\xc1\xbf", 19),             /* overlong 2-byte */
        W("\xf0\x8f\xbf\xbf", 20),     /* overlong 4-byte */
    };
    const size_t n = sizeof w / sizeof w[0];
    struct jrow rows[sizeof w / sizeof w[0] + 1];
    struct capture c;
    json_roundtrip(w, n, rows, &c);
    for (size_t i = 0; i < 7; i++) {
        if (rows[i].lit_len != w[i].len || memcmp(rows[i].lit, w[i].key, w[i].len) != 0)
            fail_msg("valid UTF-8 word %zu did not pass through unchanged", i);
    }
    assert_lit_hexcase(&rows[7], "\\udcff");
    assert_lit_hexcase(&rows[8], "a\\udc80b");
    assert_lit_hexcase(&rows[9], "\\udcc3");
    assert_lit_hexcase(&rows[10], "\xc3\xa9\\udcc3");
    assert_lit_hexcase(&rows[11], "\\udcc0\\udcaf");
    assert_lit_hexcase(&rows[12], "\\udce0\\udc80\\udc80");
    assert_lit_hexcase(&rows[13], "\\udced\\udca0\\udc80");
    assert_lit_hexcase(&rows[14], "\\udcf4\\udc90\\udc80\\udc80");
    assert_lit_hexcase(&rows[15], "\\udcf5\\udc80\\udc80\\udc80");
    assert_lit_hexcase(&rows[16], "\\udce2\\udc82x");
    assert_lit_hexcase(&rows[17], "\\udce2\\udc82\xe2\x82\xac");
    assert_lit_hexcase(&rows[18], "\\udcc1\\udcbf");
    assert_lit_hexcase(&rows[19], "\\udcf0\\udc8f\\udcbf\\udcbf");
    free(c.buf);
}

/* Every single byte value as a word: the JSON always parses back to it. */
static void test_json_every_byte(void **state)
{
    (void)state;
    static uint8_t bytes[256][3];
    struct mpiwc_word w[256];
    for (unsigned b = 0; b < 256; b++) {
        bytes[b][0] = 'x';
        bytes[b][1] = (uint8_t)b;
        bytes[b][2] = 'y';
        w[b].key = bytes[b];
        w[b].len = 3;
        w[b].count = b + 1;
    }
    struct jrow rows[257];
    struct capture c;
    json_roundtrip(w, 256, rows, &c);
    for (unsigned b = 0x80; b < 256; b++) {
        char want[16];
        snprintf(want, sizeof want, "x\\udc%02xy", b);
        assert_lit_hexcase(&rows[b], want);
    }
    for (unsigned b = 0x20; b < 0x7f; b++) {
        if (b == '"' || b == '\\' || b == '/')
            continue;
        char want[4] = {'x', (char)b, 'y', 0};
        assert_lit(&rows[b], want); /* printable ASCII is never escaped */
    }
    free(c.buf);
}

/* Writing to a stream that fails reports -1. */
static void test_write_error(void **state)
{
    (void)state;
    static const struct mpiwc_word w[] = {W("alpha", 1), W("beta", 2), W("g\xffmma", 3)};
    for (int f = 0; f < 3; f++) {
        FILE *out = fopen("/dev/full", "w");
        if (!out)
            skip();
        setvbuf(out, NULL, _IONBF, 0);
        assert_int_equal(format_write(out, w, 3, (enum mpiwc_format)f), -1);
        fclose(out);
    }
    /* Buffered, with more rows than any stdio buffer holds. */
    const size_t n = 200000;
    struct mpiwc_word *many = malloc(n * sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i < n; i++)
        many[i] = w[i % 3];
    for (int f = 0; f < 3; f++) {
        FILE *out = fopen("/dev/full", "w");
        assert_non_null(out);
        assert_int_equal(format_write(out, many, n, (enum mpiwc_format)f), -1);
        fclose(out);
    }
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_by_count),   cmocka_unit_test(test_sort_by_word),
        cmocka_unit_test(test_compare),         cmocka_unit_test(test_compare_prefixed),
        cmocka_unit_test(test_sort_random),     cmocka_unit_test(test_sort_large),
        cmocka_unit_test(test_sort_edge_sizes), cmocka_unit_test(test_tsv_exact),
        cmocka_unit_test(test_csv_exact),       cmocka_unit_test(test_json_plain),
        cmocka_unit_test(test_json_escapes),    cmocka_unit_test(test_json_utf8),
        cmocka_unit_test(test_json_every_byte), cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

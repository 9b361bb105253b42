#include "mpiwc/format.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/unicode.h"
#include "mpiwc/util.h"

/* memcmp order of two keys, a proper prefix first. */
static int compare_keys(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return (alen > blen) - (alen < blen);
}

static int compare_bytes(const struct mpiwc_word *a, const struct mpiwc_word *b)
{
    return compare_keys(a->key, a->len, b->key, b->len);
}

int mpiwc_format_compare(const struct mpiwc_word *a, const struct mpiwc_word *b,
                         enum mpiwc_sort order)
{
    if (order == MPIWC_SORT_COUNT && a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return compare_bytes(a, b);
}

/*
 * Sorting compares precomputed keys first: the count (for count order) and
 * the word's first 8 bytes as a big-endian number, which orders like memcmp
 * on those bytes. Only words that share all 8 leading bytes (and a count)
 * reach memcmp; with millions of distinct words that is most of the cost saved.
 */
struct sort_item {
    uint64_t rank;   /* UINT64_MAX - count; ignored in word order */
    uint64_t prefix; /* first 8 bytes, big-endian, zero padded */
    const uint8_t *key;
    uint32_t len;
};

static inline bool item_before(const struct sort_item *a, const struct sort_item *b, bool by_count)
{
    if (by_count && a->rank != b->rank)
        return a->rank < b->rank;
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix;
    return compare_keys(a->key, a->len, b->key, b->len) < 0;
}

/*
 * Merge sort of items with the comparison inlined: qsort through a callback
 * on 40-byte rows spent most of a 6M-word output in memmove (glibc sorts
 * elements over 32 bytes indirectly) and in the callback.
 */
static void sort_items(struct sort_item *a, struct sort_item *tmp, size_t n, bool by_count)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            struct sort_item x = a[i];
            size_t j = i;
            for (; j > 0 && item_before(&x, &a[j - 1], by_count); j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    sort_items(a, tmp, h, by_count);
    sort_items(a + h, tmp, n - h, by_count);
    if (!item_before(&a[h], &a[h - 1], by_count))
        return; /* already in order */
    memcpy(tmp, a, h * sizeof *a);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        a[k++] = item_before(&a[j], &tmp[i], by_count) ? a[j++] : tmp[i++];
    while (i < h)
        a[k++] = tmp[i++];
}

/* Byte d (0 = most significant) of the 16-byte key (rank, prefix). */
static inline unsigned key_byte(uint64_t rank, uint64_t prefix, unsigned d)
{
    uint64_t v = d < 8 ? rank : prefix;
    return (unsigned)(v >> (56 - 8 * (d & 7))) & 0xff;
}

/*
 * The words being sorted and, beside them, each one's prefix (mpiwc_format_prefix):
 * the radix passes move both, so a pass reads no key through its pointer,
 * and the sort needs 8 bytes a word more, not a second array of items.
 */
struct sorting {
    struct mpiwc_word *w;
    uint64_t *prefix;
    bool by_count;
};

/* Byte d of the key of a word whose prefix is prefix. */
static inline unsigned word_byte(const struct mpiwc_word *w, uint64_t prefix, unsigned d)
{
    return key_byte(UINT64_MAX - w->count, prefix, d);
}

/* Below this many words a bucket is merge sorted, in the caches. */
#define RADIX_MIN 256

/* Merge sort words [from, from + n), which share the key bytes sorted so far. */
static void sort_ties(const struct sorting *s, size_t from, size_t n)
{
    struct sort_item small[RADIX_MIN + RADIX_MIN / 2 + 1];
    struct sort_item *items =
        n <= RADIX_MIN ? small : mpiwc_xmalloc(mpiwc_mul_size(n + n / 2 + 1, sizeof *items));
    struct mpiwc_word *w = s->w + from;
    for (size_t i = 0; i < n; i++)
        items[i] =
            (struct sort_item){UINT64_MAX - w[i].count, s->prefix[from + i], w[i].key, w[i].len};
    sort_items(items, items + n, n, s->by_count);
    for (size_t i = 0; i < n; i++)
        w[i] = (struct mpiwc_word){items[i].key, items[i].len, UINT64_MAX - items[i].rank};
    if (items != small)
        free(items);
}

/*
 * Most-significant-digit radix sort on the bytes of (rank, prefix), from byte
 * d on, then merge sort within buckets of equal leading bytes. varies has bit
 * k set when byte k differs between some words and orders them (the rank's
 * bytes only by count); the others are skipped. Each pass moves words into
 * their buckets in place (American flag sort, each swap placing one word, as
 * table.c tells), so the sort needs no second array. With tens of millions
 * of words, a merge sort's 25 passes over items far larger than the caches
 * cost most of the output phase; here a byte is one pass and the small
 * buckets sort in cache. 200 MB of text with 16.7M distinct words, output
 * phase (sort and write): 9.7 s -> 3.9 s.
 */
static void radix_words(const struct sorting *s, size_t from, size_t n, unsigned d, unsigned varies)
{
    while (d < 16 && !(varies >> d & 1))
        d++;
    if (n <= RADIX_MIN || d == 16) {
        sort_ties(s, from, n);
        return;
    }
    struct mpiwc_word *w = s->w;
    uint64_t *prefix = s->prefix;
    size_t count[256] = {0}, at[256], end[256];
    for (size_t i = from; i < from + n; i++)
        count[word_byte(&w[i], prefix[i], d)]++;
    size_t sum = from;
    for (unsigned b = 0; b < 256; b++) {
        at[b] = sum;
        sum += count[b];
        end[b] = sum;
    }
    for (bool left = true; left;) {
        left = false;
        for (unsigned b = 0; b < 256; b++) {
            for (size_t i = at[b], stop = end[b]; i < stop; i++) {
                size_t j = at[word_byte(&w[i], prefix[i], d)]++;
                struct mpiwc_word x = w[i];
                uint64_t xp = prefix[i];
                w[i] = w[j];
                prefix[i] = prefix[j];
                w[j] = x;
                prefix[j] = xp;
            }
            left |= at[b] < end[b];
        }
    }
    for (size_t b = 0, first = from; b < 256; first += count[b++])
        if (count[b] > 1)
            radix_words(s, first, count[b], d + 1, varies);
}

void mpiwc_format_sort(struct mpiwc_word *words, size_t n, enum mpiwc_sort order)
{
    if (n < 2)
        return;
    struct sorting s = {words, mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *s.prefix)),
                        order == MPIWC_SORT_COUNT};
    uint64_t rank_or = 0, rank_and = UINT64_MAX, prefix_or = 0, prefix_and = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        uint64_t rank = UINT64_MAX - words[i].count;
        s.prefix[i] = mpiwc_format_prefix(&words[i]);
        rank_or |= rank;
        rank_and &= rank;
        prefix_or |= s.prefix[i];
        prefix_and &= s.prefix[i];
    }
    unsigned varies = 0;
    for (unsigned d = 0; d < 16; d++)
        if (key_byte(rank_or, prefix_or, d) != key_byte(rank_and, prefix_and, d))
            varies |= 1u << d;
    if (!s.by_count)
        varies &= ~0xffu;
    radix_words(&s, 0, n, 0, varies);
    free(s.prefix);
}

/* Decimal digits of v, right-aligned in buf[0..20); returns where they start. */
static char *decimal(char buf[20], uint64_t v)
{
    char *p = buf + 20;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

/* sep, the count, then end: ",12\r\n" or "\t12\n" without printf's parsing per row. */
static void write_count(FILE *out, char sep, uint64_t count, const char *end, size_t endlen)
{
    char buf[22 + 2];
    char digits[20];
    char *d = decimal(digits, count);
    size_t n = (size_t)(digits + 20 - d);
    buf[0] = sep;
    memcpy(buf + 1, d, n);
    memcpy(buf + 1 + n, end, endlen);
    fwrite_unlocked(buf, 1, 1 + n + endlen, out);
}

/* The word, a tab, the count, a newline: one row, put together here and written by one call
 * when the word is short (most are). */
static void write_tsv(FILE *out, const struct mpiwc_word *w)
{
    char row[64];
    if (w->len > sizeof row - 22) {
        fwrite_unlocked(w->key, 1, w->len, out);
        write_count(out, '\t', w->count, "\n", 1);
        return;
    }
    char digits[20];
    char *d = decimal(digits, w->count);
    size_t n = (size_t)(digits + 20 - d);
    memcpy(row, w->key, w->len);
    row[w->len] = '\t';
    memcpy(row + w->len + 1, d, n);
    row[w->len + 1 + n] = '\n';
    fwrite_unlocked(row, 1, w->len + n + 2, out);
}

static void write_csv(FILE *out, const struct mpiwc_word *w)
{
    bool quote = false;
    for (uint32_t i = 0; i < w->len && !quote; i++)
        quote = w->key[i] == ',' || w->key[i] == '"' || w->key[i] == '\r' || w->key[i] == '\n';
    if (!quote) {
        fwrite_unlocked(w->key, 1, w->len, out);
    } else {
        fputc('"', out);
        for (uint32_t i = 0; i < w->len; i++) {
            if (w->key[i] == '"')
                fputc('"', out);
            fputc(w->key[i], out);
        }
        fputc('"', out);
    }
    write_count(out, ',', w->count, "\r\n", 2);
}

void mpiwc_format_json_string(FILE *out, const uint8_t *p, size_t n)
{
    fputc('"', out);
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (b == '"' || b == '\\') {
            fputc('\\', out);
            fputc(b, out);
            i++;
        } else if (b == '\n') {
            fputs("\\n", out), i++;
        } else if (b == '\r') {
            fputs("\\r", out), i++;
        } else if (b == '\t') {
            fputs("\\t", out), i++;
        } else if (b < 0x20 || b == 0x7f) {
            fprintf(out, "\\u%04x", b), i++;
        } else if (b < 0x80) {
            fputc(b, out), i++;
        } else {
            int32_t cp;
            size_t len = mpiwc_unicode_next(p + i, n - i, &cp);
            if (cp < 0) {
                fprintf(out, "\\udc%02x", b);
                i++;
            } else {
                fwrite(p + i, 1, len, out);
                i += len;
            }
        }
    }
    fputc('"', out);
}

void mpiwc_format_begin(FILE *out, enum mpiwc_format format)
{
    if (format == MPIWC_FORMAT_CSV)
        fputs("word,count\r\n", out);
    else if (format == MPIWC_FORMAT_JSON)
        fputc('[', out);
}

void mpiwc_format_row(FILE *out, const struct mpiwc_word *w, size_t index, enum mpiwc_format format)
{
    switch (format) {
    case MPIWC_FORMAT_TSV:
        write_tsv(out, w);
        break;
    case MPIWC_FORMAT_CSV:
        write_csv(out, w);
        break;
    case MPIWC_FORMAT_JSON:
        fputs(index ? ",\n{\"word\":" : "\n{\"word\":", out);
        mpiwc_format_json_string(out, w->key, w->len);
        fprintf(out, ",\"count\":%" PRIu64 "}", w->count);
        break;
    }
}

int mpiwc_format_end(FILE *out, enum mpiwc_format format)
{
    if (format == MPIWC_FORMAT_JSON)
        fputs("\n]\n", out);
    if (fflush(out) != 0 || ferror(out))
        return -1;
    return 0;
}

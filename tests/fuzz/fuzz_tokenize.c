/*
 * fuzz_tokenize: the streaming tokenizer and the table against a naive
 * reference on the same bytes (differential), for single words and for
 * n-grams (--ngram=M:N), with the text read three ways.
 *
 * Input layout:
 *   byte 0        configuration: bit 0 split (0 alnum, 1 space), bit 1 case
 *                 (0 fold, 1 keep), bits 2-3 SIMD cap (0 scalar, 1 avx2,
 *                 2 and 3 the best the CPU has; 3 with alnum: the unicode
 *                 split over the text with bit 7 of each byte cleared, an
 *                 ASCII text whose unicode words are alnum's, so that the
 *                 fast path's words and n-grams are tried), bits 4-6 number
 *                 of cuts, bit 7 n-grams: one more configuration byte follows
 *   byte 1        (bit 7 only) bits 0-2 N - 1, bits 3-5 M - 1 (M at most
 *                 N), bits 6-7 the read-ahead chunk: 1, 6, 11 or 16 bytes
 *   next 2*cuts   little-endian u16 cut offsets into the text (taken modulo
 *                 its length, then sorted)
 *   rest          the text
 * Without bit 7 the words are counted alone (as before
 * n-grams existed: old inputs mean what they meant).
 *
 * The three readings, each into a table of its own:
 *   stream  one stream fed in the chunks between the cuts, each chunk
 *           copied into a heap block of exactly its size so that
 *           AddressSanitizer sees any read past a chunk;
 *   ranges  the cuts are range boundaries, read as reader.c reads a file:
 *           a range that starts inside a word skips it, one that ends
 *           inside a word reads on to the word's end, then reads ahead in
 *           chunks while the tokenizer wants more words;
 *   pieces  each cut moved on to just after a separator byte (standard
 *           input's cuts, mpiwc_stream_cut), each piece a stream of its own
 *           ended with mpiwc_tokenizer_end_edges(), and one more tokenizer
 *           stitching every piece's edges in order.
 *
 * The reference splits the text with its own byte classes (the rules of
 * tokenize.h written out again, not mpiwc_boundary_is_word), folds with its
 * own loop, joins each run of M to N consecutive words with one space, sorts
 * the keys and counts runs. Every reference key must have its count in each
 * table, each table must hold nothing else, and each reading's count of
 * words must be the reference's.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/table.h"
#include "mpiwc/tokenize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_tokenize: check failed: %s (line %d)\n", #cond, __LINE__);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool ref_is_word(bool space, uint8_t b)
{
    if (space)
        return !(b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r');
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b >= 0x80;
}

struct span {
    const uint8_t *p;
    size_t n;
};

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    if (c)
        return c;
    return (x->n > y->n) - (x->n < y->n);
}

static int off_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* What one input asks for. */
struct config {
    bool space, keep;
    bool unicode;       /* the unicode split (the text made ASCII) instead of alnum */
    bool ngrams;        /* bit 7: the word rules with ngram_min..ngram_max */
    unsigned min, max;  /* --ngram=min:max (1:1 without bit 7) */
    size_t ahead_chunk; /* bytes per read-ahead feed */
};

static void tok_init(struct mpiwc_tokenizer *tok, const struct config *c, struct mpiwc_table *t)
{
    enum mpiwc_split split = c->space     ? MPIWC_SPLIT_SPACE
                             : c->unicode ? MPIWC_SPLIT_UNICODE
                                          : MPIWC_SPLIT_ALNUM;
    enum mpiwc_case casing = c->keep ? MPIWC_CASE_KEEP : MPIWC_CASE_FOLD;
    if (!c->ngrams) {
        mpiwc_tokenizer_init(tok, split, casing, t);
        return;
    }
    struct mpiwc_word_rules rules = {
        .split = split, .casing = casing, .ngram_min = c->min, .ngram_max = c->max};
    mpiwc_tokenizer_init_rules(tok, &rules, t);
}

/* Feed p[0..n) from a heap block of exactly n bytes. */
static void feed_copy(struct mpiwc_tokenizer *tok, const uint8_t *p, size_t n)
{
    uint8_t *chunk = malloc(n ? n : 1);
    CHECK(chunk);
    memcpy(chunk, p, n);
    mpiwc_tokenizer_feed(tok, chunk, n);
    free(chunk);
}

/* The table holds exactly the sorted reference keys[0..n) with their counts. */
static void check_table(const struct mpiwc_table *t, const struct span *keys, size_t n)
{
    size_t distinct = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && span_cmp(&keys[i], &keys[j]) == 0)
            j++;
        CHECK(mpiwc_table_get(t, keys[i].p, keys[i].n) == j - i);
        distinct++;
        i = j;
    }
    CHECK(t->size == distinct);
    uint64_t sum = 0;
    size_t occupied = 0;
    for (size_t i = 0; i < mpiwc_table_slots(t); i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(t, i, &e);
        if (!e.count)
            continue;
        occupied++;
        sum += e.count;
        CHECK(e.len > 0);
        CHECK(e.hash == mpiwc_hash(e.key, e.len));
    }
    CHECK(occupied == distinct);
    CHECK(sum == n);
}

/* One stream, fed in the chunks between cuts[0..ncuts] (the last is size). */
static uint64_t read_stream(const struct config *c, struct mpiwc_table *t, const uint8_t *data,
                            size_t size, const size_t *cuts, size_t ncuts)
{
    CHECK(cuts[ncuts] == size);
    struct mpiwc_tokenizer tok;
    tok_init(&tok, c, t);
    size_t at = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t n = cuts[k] - at;
        feed_copy(&tok, data + at, n);
        CHECK(mpiwc_tokenizer_in_word(&tok) ==
              (at + n > 0 && ref_is_word(c->space, data[at + n - 1])));
        at = cuts[k];
    }
    mpiwc_tokenizer_end(&tok);
    CHECK(!mpiwc_tokenizer_in_word(&tok));
    uint64_t words = tok.words;
    mpiwc_tokenizer_free(&tok);
    return words;
}

/* The ranges between cuts, each read as reader.c reads one, into one table. */
static uint64_t read_ranges(const struct config *c, struct mpiwc_table *t, const uint8_t *data,
                            size_t size, const size_t *cuts, size_t ncuts)
{
    uint64_t words = 0;
    size_t start = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = cuts[k], i = start;
        struct mpiwc_tokenizer tok;
        tok_init(&tok, c, t);
        /* A range that starts inside a word leaves it to the previous range. */
        if (start > 0 && ref_is_word(c->space, data[start - 1]))
            while (i < end && ref_is_word(c->space, data[i]))
                i++;
        feed_copy(&tok, data + i, end - i);
        /* One that ends inside a word reads on to the word's end (the tokenizer still in it). */
        size_t pos = end;
        if (mpiwc_tokenizer_in_word(&tok)) {
            size_t j = pos;
            while (j < size && ref_is_word(c->space, data[j]))
                j++;
            feed_copy(&tok, data + pos, j - pos);
            pos = j;
        }
        /* N-grams: the range's last ones end with words of the ranges after it. */
        bool more = mpiwc_tokenizer_read_ahead(&tok);
        CHECK(more == mpiwc_tokenizer_wants_more(&tok));
        CHECK(!more || (c->ngrams && c->max > 1));
        while (pos < size && mpiwc_tokenizer_wants_more(&tok)) {
            size_t n = size - pos < c->ahead_chunk ? size - pos : c->ahead_chunk;
            feed_copy(&tok, data + pos, n);
            pos += n;
        }
        mpiwc_tokenizer_end(&tok);
        words += tok.words;
        mpiwc_tokenizer_free(&tok);
        start = end;
    }
    return words;
}

/*
 * Standard input's pieces: each cut moved on to just after a separator, each
 * piece a stream of its own; one more tokenizer stitches their edges.
 */
static uint64_t read_pieces(const struct config *c, struct mpiwc_table *t, const uint8_t *data,
                            size_t size, const size_t *cuts, size_t ncuts)
{
    struct mpiwc_tokenizer stitcher;
    tok_init(&stitcher, c, t);
    uint8_t *edges = NULL;
    size_t cap = 0, start = 0;
    uint64_t words = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = cuts[k] > start ? cuts[k] : start;
        while (end < size && end > 0 && ref_is_word(c->space, data[end - 1]))
            end++;
        struct mpiwc_tokenizer tok;
        tok_init(&tok, c, t);
        feed_copy(&tok, data + start, end - start);
        size_t len = mpiwc_tokenizer_end_edges(&tok, &edges, &cap);
        CHECK(len == 0 || (c->ngrams && c->max > 1));
        CHECK(!mpiwc_tokenizer_in_word(&tok));
        words += tok.words;
        mpiwc_tokenizer_free(&tok);
        mpiwc_tokenizer_stitch(&stitcher, edges, len, k);
        start = end;
    }
    CHECK(start == size);
    CHECK(stitcher.words == 0);
    mpiwc_tokenizer_free(&stitcher);
    free(edges);
    return words;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    struct config c = {.space = cfg & 1, .keep = cfg & 2, .ngrams = cfg & 0x80};
    int simd = (cfg >> 2) & 3;
    size_t ncuts = (cfg >> 4) & 7;
    data++, size--;
    c.min = c.max = 1;
    c.ahead_chunk = 1;
    if (c.ngrams) {
        if (size < 1)
            return 0;
        c.max = 1 + (data[0] & 7);
        c.min = 1 + ((data[0] >> 3) & 7);
        if (c.min > c.max)
            c.min = c.max;
        c.ahead_chunk = 1 + 5 * (size_t)(data[0] >> 6);
        data++, size--;
    }
    if (size < 2 * ncuts)
        return 0;
    size_t cuts[9];
    const uint8_t *cutbytes = data;
    data += 2 * ncuts, size -= 2 * ncuts;
    for (size_t i = 0; i < ncuts; i++)
        cuts[i] = size ? (size_t)(cutbytes[2 * i] | cutbytes[2 * i + 1] << 8) % (size + 1) : 0;
    cuts[ncuts] = size;
    qsort(cuts, ncuts + 1, sizeof cuts[0], off_cmp);

    uint8_t *ascii = NULL;
    c.unicode = simd == 3 && !c.space;
    if (c.unicode) {
        ascii = malloc(size ? size : 1);
        CHECK(ascii);
        for (size_t i = 0; i < size; i++)
            ascii[i] = data[i] & 0x7f;
        data = ascii;
    }
    if (simd == 0)
        setenv("MPIWC_SIMD", "scalar", 1);
    else if (simd == 1)
        setenv("MPIWC_SIMD", "avx2", 1);
    else
        unsetenv("MPIWC_SIMD");

    /* The reference: fold the whole text, cut it into words. */
    uint8_t *text = malloc(size ? size : 1);
    CHECK(text);
    for (size_t i = 0; i < size; i++)
        text[i] = (uint8_t)(!c.keep && data[i] >= 'A' && data[i] <= 'Z' ? data[i] + 32 : data[i]);
    struct span *words = malloc((size / 2 + 1) * sizeof *words);
    CHECK(words);
    size_t nwords = 0;
    for (size_t i = 0; i < size;) {
        if (!ref_is_word(c.space, text[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < size && ref_is_word(c.space, text[i]))
            i++;
        words[nwords++] = (struct span){text + s, i - s};
    }
    /* Each run of min..max consecutive words, joined by one space, then sorted. */
    size_t nkeys = 0, bytes = 0;
    for (size_t i = 0; i < nwords; i++)
        for (size_t m = c.min; m <= c.max && i + m <= nwords; m++, nkeys++)
            for (size_t n = 0; n < m; n++)
                bytes += words[i + n].n + 1;
    struct span *keys = malloc((nkeys ? nkeys : 1) * sizeof *keys);
    uint8_t *joined = malloc(bytes ? bytes : 1), *at = joined;
    CHECK(keys && joined);
    nkeys = 0;
    for (size_t i = 0; i < nwords; i++) {
        for (size_t m = c.min; m <= c.max && i + m <= nwords; m++) {
            keys[nkeys].p = at;
            for (size_t n = 0; n < m; n++) {
                if (n > 0)
                    *at++ = ' ';
                memcpy(at, words[i + n].p, words[i + n].n);
                at += words[i + n].n;
            }
            keys[nkeys].n = (size_t)(at - keys[nkeys].p);
            nkeys++;
        }
    }
    CHECK(at <= joined + bytes);
    qsort(keys, nkeys, sizeof *keys, span_cmp);

    uint64_t (*const readings[])(const struct config *, struct mpiwc_table *, const uint8_t *,
                                 size_t, const size_t *,
                                 size_t) = {read_stream, read_ranges, read_pieces};
    for (size_t r = 0; r < sizeof readings / sizeof readings[0]; r++) {
        struct mpiwc_table table;
        mpiwc_table_init(&table, 0);
        CHECK(readings[r](&c, &table, data, size, cuts, ncuts) == nwords);
        check_table(&table, keys, nkeys);
        mpiwc_table_free(&table);
    }

    free(keys);
    free(joined);
    free(words);
    free(text);
    free(ascii);
    return 0;
}

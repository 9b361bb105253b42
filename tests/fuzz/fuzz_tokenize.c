/*
 * fuzz_tokenize: the streaming tokenizer and the table against a naive
 * reference on the same bytes (differential).
 *
 * Input layout:
 *   byte 0        configuration: bit 0 split (0 alnum, 1 space), bit 1 case
 *                 (0 fold, 1 keep), bits 2-3 SIMD cap (0 scalar, 1 avx2,
 *                 2 and 3 the best the CPU has), bits 4-6 number of cuts
 *   next 2*cuts   little-endian u16 cut offsets into the text (taken modulo
 *                 its length, then sorted): the text is fed in chunks between
 *                 them, each chunk copied into a heap block of exactly its
 *                 size so that AddressSanitizer sees any read past a chunk
 *   rest          the text
 *
 * The reference splits the text with its own byte classes (the rules of
 * tokenize.h written out again, not mpiwc_boundary_is_word), folds with its
 * own loop, sorts the words and counts runs. Every reference word must have
 * its count in the table, the table must hold nothing else, and the
 * tokenizer's occurrence count must be the reference's.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    bool space = cfg & 1, keep = cfg & 2;
    int simd = (cfg >> 2) & 3;
    size_t ncuts = (cfg >> 4) & 7;
    data++, size--;
    if (size < 2 * ncuts)
        return 0;
    size_t cuts[9];
    const uint8_t *cutbytes = data;
    data += 2 * ncuts, size -= 2 * ncuts;
    for (size_t i = 0; i < ncuts; i++)
        cuts[i] = size ? (size_t)(cutbytes[2 * i] | cutbytes[2 * i + 1] << 8) % (size + 1) : 0;
    cuts[ncuts] = size;
    qsort(cuts, ncuts + 1, sizeof cuts[0], off_cmp);

    if (simd == 0)
        setenv("MPIWC_SIMD", "scalar", 1);
    else if (simd == 1)
        setenv("MPIWC_SIMD", "avx2", 1);
    else
        unsetenv("MPIWC_SIMD");

    /* mpiwc: chunked feeding. */
    struct mpiwc_table table;
    mpiwc_table_init(&table, 0);
    struct mpiwc_tokenizer tok;
    mpiwc_tokenizer_init(&tok, space ? MPIWC_SPLIT_SPACE : MPIWC_SPLIT_ALNUM,
                         keep ? MPIWC_CASE_KEEP : MPIWC_CASE_FOLD, &table);
    size_t at = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t n = cuts[c] - at;
        uint8_t *chunk = malloc(n ? n : 1);
        CHECK(chunk);
        memcpy(chunk, data + at, n);
        mpiwc_tokenizer_feed(&tok, chunk, n);
        CHECK(mpiwc_tokenizer_in_word(&tok) ==
              (at + n > 0 && ref_is_word(space, data[at + n - 1])));
        free(chunk);
        at = cuts[c];
    }
    mpiwc_tokenizer_end(&tok);
    CHECK(!mpiwc_tokenizer_in_word(&tok));

    /* The reference: fold the whole text, cut it into words, sort, count. */
    uint8_t *text = malloc(size ? size : 1);
    CHECK(text);
    for (size_t i = 0; i < size; i++)
        text[i] = (uint8_t)(!keep && data[i] >= 'A' && data[i] <= 'Z' ? data[i] + 32 : data[i]);
    struct span *words = malloc((size / 2 + 1) * sizeof *words);
    CHECK(words);
    size_t nwords = 0;
    for (size_t i = 0; i < size;) {
        if (!ref_is_word(space, text[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < size && ref_is_word(space, text[i]))
            i++;
        words[nwords++] = (struct span){text + s, i - s};
    }
    qsort(words, nwords, sizeof *words, span_cmp);
    size_t distinct = 0;
    for (size_t i = 0; i < nwords;) {
        size_t j = i + 1;
        while (j < nwords && span_cmp(&words[i], &words[j]) == 0)
            j++;
        CHECK(mpiwc_table_get(&table, words[i].p, words[i].n) == j - i);
        distinct++;
        i = j;
    }
    CHECK(tok.words == nwords);
    CHECK(table.size == distinct);
    uint64_t sum = 0;
    size_t occupied = 0;
    for (size_t i = 0; i < mpiwc_table_slots(&table); i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(&table, i, &e);
        if (!e.count)
            continue;
        occupied++;
        sum += e.count;
        CHECK(e.len > 0);
        CHECK(e.hash == mpiwc_hash(e.key, e.len));
    }
    CHECK(occupied == distinct);
    CHECK(sum == nwords);

    free(words);
    free(text);
    mpiwc_tokenizer_free(&tok);
    mpiwc_table_free(&table);
    return 0;
}

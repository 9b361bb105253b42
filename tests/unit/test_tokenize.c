/*
 * Unit tests for tokenize.h: the word rules for every byte value in context, case
 * folding, and the streaming tokenizer against a naive reference counter
 * written here from the spec.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mpiwc/table.h"
#include "mpiwc/tokenize.h"

/* ---- the rules, written out independently of the implementation ---- */

static bool rule_alnum(unsigned b)
{
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b >= 0x80;
}

static bool rule_space(unsigned b)
{
    return !(b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r');
}

static bool rule_is_word(enum mpiwc_split split, unsigned b)
{
    return split == MPIWC_SPLIT_ALNUM ? rule_alnum(b) : rule_space(b);
}

static uint8_t rule_fold(enum mpiwc_case casing, unsigned b)
{
    if (casing == MPIWC_CASE_FOLD && b >= 'A' && b <= 'Z')
        return (uint8_t)(b - 'A' + 'a');
    return (uint8_t)b;
}

/* ---- naive reference counter ---- */

struct ref_word {
    uint8_t *key;
    size_t len;
    uint64_t count;
};

struct ref {
    struct ref_word *w;
    size_t n, cap;
    uint64_t total;
};

static void ref_add(struct ref *r, const uint8_t *key, size_t len)
{
    r->total++;
    for (size_t i = 0; i < r->n; i++) {
        if (r->w[i].len == len && memcmp(r->w[i].key, key, len) == 0) {
            r->w[i].count++;
            return;
        }
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->w = realloc(r->w, r->cap * sizeof *r->w);
        assert_non_null(r->w);
    }
    r->w[r->n].key = malloc(len);
    assert_non_null(r->w[r->n].key);
    memcpy(r->w[r->n].key, key, len);
    r->w[r->n].len = len;
    r->w[r->n].count = 1;
    r->n++;
}

/* Count the words of text[0..len) (one stream) into r, byte by byte. */
static void ref_count(struct ref *r, const uint8_t *text, size_t len, enum mpiwc_split split,
                      enum mpiwc_case casing)
{
    uint8_t *word = malloc(len + 1);
    size_t wlen = 0;
    assert_non_null(word);
    for (size_t i = 0; i < len; i++) {
        if (rule_is_word(split, text[i])) {
            word[wlen++] = rule_fold(casing, text[i]);
        } else if (wlen > 0) {
            ref_add(r, word, wlen);
            wlen = 0;
        }
    }
    if (wlen > 0)
        ref_add(r, word, wlen);
    free(word);
}

static void ref_free(struct ref *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->w[i].key);
    free(r->w);
    memset(r, 0, sizeof *r);
}

/* The table holds exactly the reference's words with the same counts. */
static void assert_table_matches(const struct mpiwc_table *t, const struct ref *r)
{
    assert_int_equal(t->size, r->n);
    for (size_t i = 0; i < r->n; i++)
        assert_int_equal(mpiwc_table_get(t, r->w[i].key, r->w[i].len), r->w[i].count);
    size_t seen = 0;
    for (size_t i = 0; i < mpiwc_table_slots(t); i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(t, i, &e);
        if (e.count == 0)
            continue;
        seen++;
        const uint8_t *key = e.key;
        bool found = false;
        for (size_t j = 0; j < r->n && !found; j++)
            found = r->w[j].len == e.len && memcmp(r->w[j].key, key, e.len) == 0 &&
                    r->w[j].count == e.count;
        assert_true(found);
    }
    assert_int_equal(seen, r->n);
}

/* Tokenize text with the given chunk boundaries (cuts ascending, within len). */
static void run_chunks(struct mpiwc_table *t, const uint8_t *text, size_t len,
                       enum mpiwc_split split, enum mpiwc_case casing, const size_t *cuts,
                       size_t ncuts, uint64_t *words)
{
    uint8_t *scratch = malloc(len + 1);
    assert_non_null(scratch);
    memcpy(scratch, text, len);
    struct mpiwc_tokenizer tok;
    mpiwc_tokenizer_init(&tok, split, casing, t);
    size_t prev = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t next = i < ncuts ? cuts[i] : len;
        mpiwc_tokenizer_feed(&tok, scratch + prev, next - prev);
        prev = next;
    }
    mpiwc_tokenizer_end(&tok);
    if (words)
        *words = tok.words;
    mpiwc_tokenizer_free(&tok);
    free(scratch);
}

static const enum mpiwc_split splits[] = {MPIWC_SPLIT_ALNUM, MPIWC_SPLIT_SPACE};
static const enum mpiwc_case casings[] = {MPIWC_CASE_FOLD, MPIWC_CASE_KEEP};

/* A text with every kind of edge: separators, CRLF, NUL, high bytes, case. */
static const uint8_t edge_text[] = "Hello, World!\r\nfoo\0bar  \xc3\xa9t\xc3\xa9 x\xff\x80y\t12ab"
                                   "\vCAT\fcat\x7f"
                                   "dog-Dog_DOG\n\n\x01z\x80";
#define EDGE_LEN (sizeof edge_text - 1)

/* ---- tests ---- */

/* Feeding "a" b "a" gives one word "a b a" or two words "a", per the rule. */
static void test_every_byte_in_context(void **state)
{
    (void)state;
    for (size_t s = 0; s < 2; s++) {
        for (size_t c = 0; c < 2; c++) {
            for (unsigned b = 0; b < 256; b++) {
                struct mpiwc_table t;
                mpiwc_table_init(&t, 0);
                uint8_t buf[3] = {'a', (uint8_t)b, 'a'};
                struct mpiwc_tokenizer tok;
                mpiwc_tokenizer_init(&tok, splits[s], casings[c], &t);
                mpiwc_tokenizer_feed(&tok, buf, 3);
                mpiwc_tokenizer_end(&tok);
                if (rule_is_word(splits[s], b)) {
                    uint8_t want[3] = {'a', rule_fold(casings[c], b), 'a'};
                    assert_int_equal(t.size, 1);
                    assert_int_equal(mpiwc_table_get(&t, want, 3), 1);
                    assert_int_equal(tok.words, 1);
                } else {
                    assert_int_equal(t.size, 1);
                    assert_int_equal(mpiwc_table_get(&t, "a", 1), 2);
                    assert_int_equal(tok.words, 2);
                }
                mpiwc_tokenizer_free(&tok);
                mpiwc_table_free(&t);
            }
        }
    }
}

/* Every word byte alone is a one-byte word; folding touches only A-Z. */
static void test_fold_every_byte(void **state)
{
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        for (unsigned b = 0; b < 256; b++) {
            if (!rule_space(b))
                continue;
            struct mpiwc_table t;
            mpiwc_table_init(&t, 0);
            uint8_t buf[1] = {(uint8_t)b};
            struct mpiwc_tokenizer tok;
            mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_SPACE, casings[c], &t);
            mpiwc_tokenizer_feed(&tok, buf, 1);
            mpiwc_tokenizer_end(&tok);
            uint8_t want = (uint8_t)b;
            if (casings[c] == MPIWC_CASE_FOLD && b >= 'A' && b <= 'Z')
                want = (uint8_t)(b + 32);
            assert_int_equal(t.size, 1);
            assert_int_equal(mpiwc_table_get(&t, &want, 1), 1);
            mpiwc_tokenizer_free(&tok);
            mpiwc_table_free(&t);
        }
    }
}

static void test_nul_crlf_high_bytes(void **state)
{
    (void)state;
    static const uint8_t text[] = "a\0b c\r\nd\r\n\x80\xff\xc3\x84"
                                  "BC \xc0\xde";
    const size_t len = sizeof text - 1;

    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    run_chunks(&t, text, len, MPIWC_SPLIT_SPACE, MPIWC_CASE_FOLD, NULL, 0, NULL);
    assert_int_equal(mpiwc_table_get(&t, "a\0b", 3), 1);
    assert_int_equal(mpiwc_table_get(&t, "a", 1), 0);
    assert_int_equal(mpiwc_table_get(&t, "c", 1), 1);
    assert_int_equal(mpiwc_table_get(&t, "d", 1), 1);
    assert_int_equal(mpiwc_table_get(&t,
                                     "\x80\xff\xc3\x84"
                                     "bc",
                                     6),
                     1);
    assert_int_equal(mpiwc_table_get(&t, "\xc0\xde", 2), 1); /* Latin-1 capitals untouched */
    assert_int_equal(t.size, 5);
    mpiwc_table_free(&t);

    mpiwc_table_init(&t, 0);
    run_chunks(&t, text, len, MPIWC_SPLIT_ALNUM, MPIWC_CASE_KEEP, NULL, 0, NULL);
    assert_int_equal(mpiwc_table_get(&t, "a", 1), 1);
    assert_int_equal(mpiwc_table_get(&t, "b", 1), 1);
    assert_int_equal(mpiwc_table_get(&t, "c", 1), 1);
    assert_int_equal(mpiwc_table_get(&t, "d", 1), 1);
    assert_int_equal(mpiwc_table_get(&t,
                                     "\x80\xff\xc3\x84"
                                     "BC",
                                     6),
                     1);
    assert_int_equal(mpiwc_table_get(&t, "\xc0\xde", 2), 1);
    assert_int_equal(t.size, 6);
    mpiwc_table_free(&t);
}

static void test_fold_only_az_not_neighbours(void **state)
{
    (void)state;
    uint8_t buf[] = "AZaz@[`{\xc0\xdd 09";
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_tokenizer tok;
    mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_SPACE, MPIWC_CASE_FOLD, &t);
    mpiwc_tokenizer_feed(&tok, buf, sizeof buf - 1);
    mpiwc_tokenizer_end(&tok);
    /* '@' '[' '`' '{' are the neighbours of A-Z and a-z: never folded. */
    assert_int_equal(mpiwc_table_get(&t, "azaz@[`{\xc0\xdd", 10), 1);
    assert_int_equal(mpiwc_table_get(&t, "09", 2), 1);
    assert_int_equal(t.size, 2);
    mpiwc_tokenizer_free(&tok);
    mpiwc_table_free(&t);
}

static void test_whole_text_matches_reference(void **state)
{
    (void)state;
    for (size_t s = 0; s < 2; s++) {
        for (size_t c = 0; c < 2; c++) {
            struct ref r = {0};
            ref_count(&r, edge_text, EDGE_LEN, splits[s], casings[c]);
            struct mpiwc_table t;
            mpiwc_table_init(&t, 0);
            uint64_t words = 0;
            run_chunks(&t, edge_text, EDGE_LEN, splits[s], casings[c], NULL, 0, &words);
            assert_table_matches(&t, &r);
            assert_int_equal(words, r.total);
            mpiwc_table_free(&t);
            ref_free(&r);
        }
    }
}

static void test_two_chunks_every_offset(void **state)
{
    (void)state;
    for (size_t s = 0; s < 2; s++) {
        for (size_t c = 0; c < 2; c++) {
            struct ref r = {0};
            ref_count(&r, edge_text, EDGE_LEN, splits[s], casings[c]);
            for (size_t i = 0; i <= EDGE_LEN; i++) {
                struct mpiwc_table t;
                mpiwc_table_init(&t, 0);
                uint64_t words = 0;
                run_chunks(&t, edge_text, EDGE_LEN, splits[s], casings[c], &i, 1, &words);
                assert_table_matches(&t, &r);
                assert_int_equal(words, r.total);
                mpiwc_table_free(&t);
            }
            ref_free(&r);
        }
    }
}

static void test_three_chunks_every_offset(void **state)
{
    (void)state;
    for (size_t s = 0; s < 2; s++) {
        for (size_t c = 0; c < 2; c++) {
            struct ref r = {0};
            ref_count(&r, edge_text, EDGE_LEN, splits[s], casings[c]);
            for (size_t i = 0; i <= EDGE_LEN; i++) {
                for (size_t j = i; j <= EDGE_LEN; j++) {
                    size_t cuts[2] = {i, j};
                    struct mpiwc_table t;
                    mpiwc_table_init(&t, 0);
                    run_chunks(&t, edge_text, EDGE_LEN, splits[s], casings[c], cuts, 2, NULL);
                    assert_table_matches(&t, &r);
                    mpiwc_table_free(&t);
                }
            }
            ref_free(&r);
        }
    }
}

/* One byte a time, and many words over one table: counts keep adding up. */
static void test_one_byte_chunks(void **state)
{
    (void)state;
    for (size_t s = 0; s < 2; s++) {
        struct ref r = {0};
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        for (int rep = 0; rep < 3; rep++) {
            ref_count(&r, edge_text, EDGE_LEN, splits[s], MPIWC_CASE_FOLD);
            size_t cuts[EDGE_LEN];
            for (size_t i = 0; i < EDGE_LEN; i++)
                cuts[i] = i;
            run_chunks(&t, edge_text, EDGE_LEN, splits[s], MPIWC_CASE_FOLD, cuts, EDGE_LEN, NULL);
        }
        assert_table_matches(&t, &r);
        mpiwc_table_free(&t);
        ref_free(&r);
    }
}

/* A word of 100000 bytes fed one byte at a time, then in uneven chunks. */
static void test_long_word(void **state)
{
    (void)state;
    const size_t n = 100000;
    uint8_t *word = malloc(n);
    uint8_t *folded = malloc(n);
    assert_non_null(word);
    assert_non_null(folded);
    for (size_t i = 0; i < n; i++) {
        word[i] = (uint8_t)("AbCdEfGh0123\xe9\xff"[i % 14]);
        folded[i] = rule_fold(MPIWC_CASE_FOLD, word[i]);
    }

    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_tokenizer tok;
    mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_ALNUM, MPIWC_CASE_FOLD, &t);
    uint8_t *scratch = malloc(n);
    assert_non_null(scratch);
    memcpy(scratch, word, n);
    for (size_t i = 0; i < n; i++) {
        mpiwc_tokenizer_feed(&tok, scratch + i, 1);
        assert_true(mpiwc_tokenizer_in_word(&tok));
        if (i % 9973 == 0)
            assert_int_equal(t.size, 0); /* nothing counted while the word runs on */
    }
    mpiwc_tokenizer_end(&tok);
    assert_int_equal(t.size, 1);
    assert_int_equal(mpiwc_table_get(&t, folded, n), 1);
    assert_int_equal(mpiwc_table_get(&t, folded, n - 1), 0);
    assert_int_equal(tok.words, 1);

    /* Again in growing chunks, followed by a separator and a short word. */
    memcpy(scratch, word, n);
    size_t pos = 0, step = 1;
    while (pos < n) {
        size_t k = step < n - pos ? step : n - pos;
        mpiwc_tokenizer_feed(&tok, scratch + pos, k);
        pos += k;
        step = step * 3 + 1;
    }
    uint8_t tail[] = " X";
    mpiwc_tokenizer_feed(&tok, tail, 2);
    mpiwc_tokenizer_end(&tok);
    assert_int_equal(mpiwc_table_get(&t, folded, n), 2);
    assert_int_equal(mpiwc_table_get(&t, "x", 1), 1);
    assert_int_equal(tok.words, 3);
    mpiwc_tokenizer_free(&tok);
    mpiwc_table_free(&t);
    free(scratch);
    free(word);
    free(folded);
}

static void test_pending_completed_by_end(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_tokenizer tok;
    mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_ALNUM, MPIWC_CASE_FOLD, &t);

    uint8_t a[] = "hello Wor";
    mpiwc_tokenizer_feed(&tok, a, 9);
    assert_int_equal(mpiwc_table_get(&t, "hello", 5), 1);
    assert_int_equal(mpiwc_table_get(&t, "wor", 3), 0);
    assert_int_equal(t.size, 1);
    assert_int_equal(tok.words, 1);
    assert_true(mpiwc_tokenizer_in_word(&tok));

    uint8_t b[] = "LD";
    mpiwc_tokenizer_feed(&tok, b, 2);
    assert_int_equal(t.size, 1);
    mpiwc_tokenizer_end(&tok);
    assert_int_equal(mpiwc_table_get(&t, "world", 5), 1);
    assert_int_equal(mpiwc_table_get(&t, "wor", 3), 0);
    assert_int_equal(tok.words, 2);
    assert_false(mpiwc_tokenizer_in_word(&tok));

    /* end twice, or end with nothing pending, counts nothing more. */
    mpiwc_tokenizer_end(&tok);
    assert_int_equal(tok.words, 2);
    assert_int_equal(t.size, 2);

    /* After end, a new stream does not join onto the old word. */
    uint8_t c[] = "ab";
    uint8_t d[] = "cd";
    mpiwc_tokenizer_feed(&tok, c, 2);
    mpiwc_tokenizer_end(&tok);
    mpiwc_tokenizer_feed(&tok, d, 2);
    mpiwc_tokenizer_end(&tok);
    assert_int_equal(mpiwc_table_get(&t, "ab", 2), 1);
    assert_int_equal(mpiwc_table_get(&t, "cd", 2), 1);
    assert_int_equal(mpiwc_table_get(&t, "abcd", 4), 0);
    assert_int_equal(tok.words, 4);

    mpiwc_tokenizer_free(&tok);
    mpiwc_table_free(&t);
}

static void test_in_word(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    for (size_t s = 0; s < 2; s++) {
        struct mpiwc_tokenizer tok;
        mpiwc_tokenizer_init(&tok, splits[s], MPIWC_CASE_FOLD, &t);
        assert_false(mpiwc_tokenizer_in_word(&tok));
        for (unsigned b = 0; b < 256; b++) {
            uint8_t buf[2] = {'x', (uint8_t)b};
            mpiwc_tokenizer_feed(&tok, buf, 2);
            assert_int_equal(mpiwc_tokenizer_in_word(&tok), rule_is_word(splits[s], b));
            /* An empty chunk changes nothing. */
            mpiwc_tokenizer_feed(&tok, buf, 0);
            assert_int_equal(mpiwc_tokenizer_in_word(&tok), rule_is_word(splits[s], b));
            /* A separator then closes any word. */
            uint8_t sep[1] = {' '};
            mpiwc_tokenizer_feed(&tok, sep, 1);
            assert_false(mpiwc_tokenizer_in_word(&tok));
        }
        mpiwc_tokenizer_end(&tok);
        assert_false(mpiwc_tokenizer_in_word(&tok));
        mpiwc_tokenizer_free(&tok);
        mpiwc_table_clear(&t);
    }
    mpiwc_table_free(&t);
}

static void test_empty_and_separator_only(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_tokenizer tok;
    mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_SPACE, MPIWC_CASE_FOLD, &t);
    mpiwc_tokenizer_end(&tok);
    uint8_t seps[] = " \t\n\v\f\r \r\n";
    mpiwc_tokenizer_feed(&tok, seps, sizeof seps - 1);
    mpiwc_tokenizer_end(&tok);
    assert_int_equal(t.size, 0);
    assert_int_equal(tok.words, 0);
    mpiwc_tokenizer_free(&tok);

    mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_ALNUM, MPIWC_CASE_FOLD, &t);
    uint8_t punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\x7f\x01\x00";
    mpiwc_tokenizer_feed(&tok, punct, sizeof punct - 1);
    mpiwc_tokenizer_end(&tok);
    assert_int_equal(t.size, 0);
    assert_int_equal(tok.words, 0);
    mpiwc_tokenizer_free(&tok);
    mpiwc_table_free(&t);
}

/* A pseudo-random text over a small alphabet, in random chunks. */
static void test_random_chunks(void **state)
{
    (void)state;
    static const uint8_t alphabet[] = "aAbB \n\r\0\x80\xff-1";
    const size_t len = 20000;
    uint8_t *text = malloc(len);
    assert_non_null(text);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        text[i] = alphabet[(x >> 16) % (sizeof alphabet - 1)];
    }
    for (size_t s = 0; s < 2; s++) {
        struct ref r = {0};
        ref_count(&r, text, len, splits[s], MPIWC_CASE_KEEP);
        size_t cuts[4000];
        size_t ncuts = 0, pos = 0;
        while (ncuts < 4000) {
            x = x * 1103515245u + 12345u;
            pos += (x >> 16) % 17;
            if (pos > len)
                break;
            cuts[ncuts++] = pos;
        }
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        uint64_t words = 0;
        run_chunks(&t, text, len, splits[s], MPIWC_CASE_KEEP, cuts, ncuts, &words);
        assert_table_matches(&t, &r);
        assert_int_equal(words, r.total);
        mpiwc_table_free(&t);
        ref_free(&r);
    }
    free(text);
}

/* Every byte value at every position of a 64-byte block (the SIMD classifiers' unit). */
static void test_every_byte_every_lane(void **state)
{
    (void)state;
    uint8_t *text = malloc(64 + 3 * 256 + 256);
    assert_non_null(text);
    for (size_t shift = 0; shift < 64; shift++) {
        for (int pattern = 0; pattern < 2; pattern++) {
            size_t len = 0;
            for (size_t i = 0; i < shift; i++)
                text[len++] = 'Q';
            for (unsigned b = 0; b < 256; b++) {
                if (pattern == 0) { /* isolated: 'A' b '.' */
                    text[len++] = 'A';
                    text[len++] = (uint8_t)b;
                    text[len++] = '.';
                } else { /* all byte values back to back */
                    text[len++] = (uint8_t)b;
                }
            }
            for (size_t s = 0; s < 2; s++) {
                for (size_t c = 0; c < 2; c++) {
                    struct ref r = {0};
                    ref_count(&r, text, len, splits[s], casings[c]);
                    struct mpiwc_table t;
                    mpiwc_table_init(&t, 0);
                    uint64_t words = 0;
                    run_chunks(&t, text, len, splits[s], casings[c], NULL, 0, &words);
                    assert_table_matches(&t, &r);
                    assert_int_equal(words, r.total);
                    mpiwc_table_free(&t);
                    ref_free(&r);
                }
            }
        }
    }
    free(text);
}

/* A text of several blocks with words of length 1..70 (around 16 and 64 bytes). */
static size_t make_long_text(uint8_t *text, size_t cap)
{
    static const uint8_t seps[] = {' ', '\n', ',', '\r', '\0', '\t', '-'};
    static const uint8_t letters[] = "aBcDeFgH19\x80\xff\xc3\xa9ZzyY";
    size_t len = 0;
    uint32_t x = 2024;
    for (size_t w = 1; len + 80 < cap; w = w % 70 + 1) {
        for (size_t i = 0; i < w; i++) {
            x = x * 1103515245u + 12345u;
            text[len++] = letters[(x >> 16) % (sizeof letters - 1)];
        }
        x = x * 1103515245u + 12345u;
        size_t nsep = 1 + (x >> 16) % 2;
        for (size_t i = 0; i < nsep; i++)
            text[len++] = seps[(x >> (20 + i)) % sizeof seps];
        if (w % 5 == 0) { /* repeat a word so that counts exceed 1 */
            memcpy(text + len, "Repeat ", 7);
            len += 7;
        }
    }
    return len;
}

static void test_long_text_chunks(void **state)
{
    (void)state;
    uint8_t text[700];
    const size_t len = make_long_text(text, sizeof text);
    assert_true(len > 600);
    for (size_t s = 0; s < 2; s++) {
        for (size_t c = 0; c < 2; c++) {
            struct ref r = {0};
            ref_count(&r, text, len, splits[s], casings[c]);
            for (size_t i = 0; i <= len; i++) {
                struct mpiwc_table t;
                mpiwc_table_init(&t, 0);
                uint64_t words = 0;
                run_chunks(&t, text, len, splits[s], casings[c], &i, 1, &words);
                assert_table_matches(&t, &r);
                assert_int_equal(words, r.total);
                mpiwc_table_free(&t);
            }
            for (size_t i = 0; i <= len; i += 3) {
                for (size_t j = i; j <= len; j += 29) {
                    size_t cuts[2] = {i, j};
                    struct mpiwc_table t;
                    mpiwc_table_init(&t, 0);
                    run_chunks(&t, text, len, splits[s], casings[c], cuts, 2, NULL);
                    assert_table_matches(&t, &r);
                    mpiwc_table_free(&t);
                }
            }
            /* Fixed chunk sizes, including 1 and sizes around the block size. */
            static const size_t steps[] = {1, 2, 15, 16, 17, 63, 64, 65, 128};
            for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
                size_t cuts[700];
                size_t ncuts = 0;
                for (size_t pos = steps[k]; pos < len; pos += steps[k])
                    cuts[ncuts++] = pos;
                struct mpiwc_table t;
                mpiwc_table_init(&t, 0);
                run_chunks(&t, text, len, splits[s], casings[c], cuts, ncuts, NULL);
                assert_table_matches(&t, &r);
                mpiwc_table_free(&t);
            }
            ref_free(&r);
        }
    }
}

/*
 * 100,000 distinct words in one feed, word i (i % 3) + 1 times: the table
 * grows many times during one scan and passes 65,536 slots, where words are
 * queued behind prefetches; every 7th word is longer than an inline key, so
 * the scan leaves its fast path (and reloads the table) between short words.
 * Last, 20,000 new words twice each, side by side in the queue: the second
 * copy must find the word the first one inserted.
 */
static void test_many_words_one_feed(void **state)
{
    (void)state;
    enum { N = 100000, D = 20000 };
    size_t cap = (size_t)N * 3 * 32 + (size_t)D * 32, len = 0;
    uint64_t total = 0;
    uint8_t *text = malloc(cap);
    assert_non_null(text);
    for (int rep = 0; rep < 3; rep++)
        for (int i = 0; i < N; i++)
            if (i % 3 >= rep) {
                total++;
                len += (size_t)sprintf((char *)text + len,
                                       i % 7 ? "W%dx " : "Long%dxxxxxxxxxxxxxx\n", i);
            }
    /* Then new words twice in a row, once the table queues (past 2^16 slots):
     * both copies of a word wait in the same queue. */
    for (int i = 0; i < D; i++, total += 2)
        len += (size_t)sprintf((char *)text + len, "D%dy D%dy ", i, i);
    static const enum mpiwc_split all[] = {MPIWC_SPLIT_ALNUM, MPIWC_SPLIT_SPACE,
                                           MPIWC_SPLIT_UNICODE};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        for (size_t c = 0; c < 2; c++) {
            struct mpiwc_table t;
            mpiwc_table_init(&t, 0);
            uint64_t words = 0;
            size_t cut = len / 3; /* two feeds: a third of the text, then the rest */
            run_chunks(&t, text, len, all[k], casings[c], &cut, 1, &words);
            assert_int_equal(words, total);
            assert_int_equal(t.size, N + D);
            for (int i = 0; i < D; i++) {
                char w[32];
                int n = sprintf(w, "%c%dy", casings[c] == MPIWC_CASE_FOLD ? 'd' : 'D', i);
                assert_int_equal(mpiwc_table_get(&t, w, (size_t)n), 2);
            }
            for (int i = 0; i < N; i++) {
                char w[32];
                int n = sprintf(w, i % 7 ? "%c%dx" : "%cong%dxxxxxxxxxxxxxx",
                                i % 7 ? (casings[c] == MPIWC_CASE_FOLD ? 'w' : 'W')
                                      : (casings[c] == MPIWC_CASE_FOLD ? 'l' : 'L'),
                                i);
                assert_int_equal(mpiwc_table_get(&t, w, (size_t)n), (uint64_t)(i % 3 + 1));
            }
            mpiwc_table_free(&t);
        }
    }
    free(text);
}

/*
 * With --split=space NUL is a word byte, so "a", "a\0", "a\0\0" ... are
 * different words whose zero-padded bytes agree: only the length tells them
 * apart. Lengths 1..20 cross the inline-key limit (15 bytes); the table is
 * small (counted at once) and then big enough to queue behind prefetches.
 */
static void test_nul_padded_words_apart(void **state)
{
    (void)state;
    uint8_t text[4096];
    size_t len = 0, distinct = 0;
    for (int rep = 0; rep < 3; rep++) {
        for (size_t wl = 1; wl <= 20; wl++) {
            for (size_t lead = 0; lead <= 2 && lead <= wl; lead++) {
                distinct += rep == 0;
                for (size_t i = 0; i < wl; i++)
                    text[len++] = (uint8_t)(i < lead ? 'a' + i : 0);
                text[len++] = rep == 1 ? '\n' : ' ';
            }
        }
    }
    assert_true(len <= sizeof text);
    struct ref r = {0};
    ref_count(&r, text, len, MPIWC_SPLIT_SPACE, MPIWC_CASE_FOLD);
    assert_int_equal(r.n, distinct); /* every word differs from every other */
    static const size_t hints[] = {0, 100000};
    for (size_t h = 0; h < 2; h++) {
        struct mpiwc_table t;
        mpiwc_table_init(&t, hints[h]);
        uint64_t words = 0;
        run_chunks(&t, text, len, MPIWC_SPLIT_SPACE, MPIWC_CASE_FOLD, NULL, 0, &words);
        assert_int_equal(words, r.total);
        assert_table_matches(&t, &r);
        mpiwc_table_free(&t);
    }
    ref_free(&r);
}

/* Words of every length 1..200 at every alignment within a block. */
static void test_word_lengths_and_alignments(void **state)
{
    (void)state;
    uint8_t text[64 + 2 * 200 + 1];
    for (size_t wl = 1; wl <= 200; wl += (wl < 70 ? 1 : 13)) {
        for (size_t align = 0; align < 64; align += (wl < 70 ? 1 : 5)) {
            size_t len = 0;
            for (size_t i = 0; i < align; i++)
                text[len++] = ' ';
            for (size_t i = 0; i < wl; i++)
                text[len++] = (uint8_t)("AbZ\xe9"[i % 4]);
            text[len++] = '.';
            for (size_t i = 0; i < wl; i++)
                text[len++] = (uint8_t)("aBz\xe9"[i % 4]);
            for (size_t s = 0; s < 2; s++) {
                struct mpiwc_table t;
                mpiwc_table_init(&t, 0);
                run_chunks(&t, text, len, splits[s], MPIWC_CASE_FOLD, NULL, 0, NULL);
                uint8_t want[200];
                for (size_t i = 0; i < wl; i++)
                    want[i] = (uint8_t)("abz\xe9"[i % 4]);
                if (splits[s] == MPIWC_SPLIT_ALNUM) {
                    assert_int_equal(t.size, 1);
                    assert_int_equal(mpiwc_table_get(&t, want, wl), 2);
                } else {
                    /* '.' is a word byte here: one word of 2 * wl + 1 bytes */
                    assert_int_equal(t.size, 1);
                    uint8_t both[401];
                    memcpy(both, want, wl);
                    both[wl] = '.';
                    memcpy(both + wl + 1, want, wl);
                    assert_int_equal(mpiwc_table_get(&t, both, 2 * wl + 1), 1);
                }
                mpiwc_table_free(&t);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte_in_context),
        cmocka_unit_test(test_fold_every_byte),
        cmocka_unit_test(test_nul_crlf_high_bytes),
        cmocka_unit_test(test_fold_only_az_not_neighbours),
        cmocka_unit_test(test_whole_text_matches_reference),
        cmocka_unit_test(test_two_chunks_every_offset),
        cmocka_unit_test(test_three_chunks_every_offset),
        cmocka_unit_test(test_one_byte_chunks),
        cmocka_unit_test(test_long_word),
        cmocka_unit_test(test_pending_completed_by_end),
        cmocka_unit_test(test_in_word),
        cmocka_unit_test(test_empty_and_separator_only),
        cmocka_unit_test(test_random_chunks),
        cmocka_unit_test(test_every_byte_every_lane),
        cmocka_unit_test(test_long_text_chunks),
        cmocka_unit_test(test_word_lengths_and_alignments),
        cmocka_unit_test(test_nul_padded_words_apart),
        cmocka_unit_test(test_many_words_one_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

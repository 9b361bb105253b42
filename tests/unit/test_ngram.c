/*
 * Unit tests for --ngram (tokenize.h, words.h): the n-grams of a text's kept
 * keys against a naive reference written here from the spec, whatever the
 * chunks fed to the tokenizer, the ranges the reader reads (read-ahead past a
 * range's end) and the pieces of standard input stitched together.
 *
 * The reference: words are maximal runs of word bytes (--split=space: every
 * byte but ASCII white space; --split=alnum: ASCII letters, digits and bytes
 * >= 0x80), A-Z folded; the filters drop keys shorter than min_length and
 * keys on the stop-word list; then every sequence of M to N consecutive kept
 * keys, joined by one space, counts once per position.
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

#include "mpiwc/plan.h"
#include "mpiwc/reader.h"
#include "mpiwc/table.h"
#include "mpiwc/tokenize.h"
#include "mpiwc/util.h"
#include "src/table_internal.h"

/* ---- the rules of a case ---- */

struct rules {
    enum mpiwc_split split; /* space, alnum or unicode (ASCII texts only), A-Z folded */
    unsigned min, max;      /* --ngram=min:max */
    const char *stop;       /* the stop-word list, one per line; NULL: none */
    size_t min_length;      /* 0: keep all (ASCII texts only: bytes are characters) */
};

static struct mpiwc_word_rules word_rules(const struct rules *r)
{
    return (struct mpiwc_word_rules){
        .split = r->split,
        .casing = MPIWC_CASE_FOLD,
        .normalize = MPIWC_NORMALIZE_NONE,
        .min_length = r->min_length,
        .stopwords = (const uint8_t *)r->stop,
        .stopwords_len = r->stop ? strlen(r->stop) : 0,
        .ngram_min = r->min,
        .ngram_max = r->max,
    };
}

static void tok_init(struct mpiwc_tokenizer *tok, const struct rules *r, struct mpiwc_table *t)
{
    struct mpiwc_word_rules wr = word_rules(r);
    mpiwc_tokenizer_init_rules(tok, &wr, t);
}

static const char *split_name(enum mpiwc_split split)
{
    return split == MPIWC_SPLIT_SPACE ? "space" : split == MPIWC_SPLIT_ALNUM ? "alnum" : "unicode";
}

/* ---- naive reference ---- */

/* Under unicode, an ASCII text's words are its runs of letters and digits, as under alnum. */
static bool ref_is_word(enum mpiwc_split split, uint8_t b)
{
    if (split != MPIWC_SPLIT_SPACE)
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
               b >= 0x80;
    return !(b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r');
}

static uint8_t ref_fold(uint8_t b)
{
    return (uint8_t)(b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b);
}

struct ref_key {
    uint8_t *p;
    size_t len, off; /* p: bytes + off, once all are kept */
};

/* The kept keys of a text, in order, their bytes in one block (a malloc a key took
 * minutes under ASan's slow unwinding, which the leak-checked run uses). */
struct ref_keys {
    struct ref_key *k;
    size_t n, cap;
    uint8_t *bytes;
    size_t len, bytes_cap;
};

static void keys_add(struct ref_keys *ks, const uint8_t *p, size_t len)
{
    ks->k = mpiwc_grow(ks->k, &ks->cap, ks->n + 1, sizeof *ks->k);
    ks->bytes = mpiwc_grow(ks->bytes, &ks->bytes_cap, ks->len + len + 1, 1);
    memcpy(ks->bytes + ks->len, p, len);
    ks->k[ks->n++] = (struct ref_key){NULL, len, ks->len};
    ks->len += len;
}

/* Point each key at its bytes. */
static void keys_done(struct ref_keys *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        ks->k[i].p = ks->bytes + ks->k[i].off;
}

static void keys_free(struct ref_keys *ks)
{
    free(ks->bytes);
    free(ks->k);
    memset(ks, 0, sizeof *ks);
}

/* Is key[0..len) a line of the stop-word list (each line folded)? */
static bool ref_stopped(const char *stop, const uint8_t *key, size_t len)
{
    for (const char *line = stop; stop && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        bool same = n == len;
        for (size_t i = 0; same && i < n; i++)
            same = ref_fold((uint8_t)line[i]) == key[i];
        if (same)
            return true;
        line += n + (nl != NULL);
    }
    return false;
}

/* Cut text into words, fold them, keep those the filters keep. */
static void ref_keys(struct ref_keys *ks, const uint8_t *text, size_t len, const struct rules *r)
{
    uint8_t *word = mpiwc_xmalloc(len + 1);
    for (size_t i = 0; i < len;) {
        if (!ref_is_word(r->split, text[i])) {
            i++;
            continue;
        }
        size_t n = 0;
        for (; i < len && ref_is_word(r->split, text[i]); i++) {
            assert_true(!r->min_length || text[i] < 0x80); /* bytes are characters */
            word[n++] = ref_fold(text[i]);
        }
        if (n < r->min_length || ref_stopped(r->stop, word, n))
            continue;
        keys_add(ks, word, n);
    }
    free(word);
    keys_done(ks);
}

struct ref_entry {
    uint8_t *key;
    size_t len;
    uint64_t count;
};

struct ref {
    struct ref_entry *e;
    size_t n, cap;
    uint64_t total; /* every n-gram counted, each occurrence */
    uint8_t *bytes; /* NULL: each entry's key is its own block; else all keys are in it */
};

static void ref_add(struct ref *r, const uint8_t *key, size_t len)
{
    r->total++;
    for (size_t i = 0; i < r->n; i++) {
        if (r->e[i].len == len && memcmp(r->e[i].key, key, len) == 0) {
            r->e[i].count++;
            return;
        }
    }
    r->e = mpiwc_grow(r->e, &r->cap, r->n + 1, sizeof *r->e);
    r->e[r->n].key = mpiwc_xmalloc(len);
    memcpy(r->e[r->n].key, key, len);
    r->e[r->n].len = len;
    r->e[r->n].count = 1;
    r->n++;
}

static void ref_free(struct ref *r)
{
    for (size_t i = 0; i < r->n && !r->bytes; i++)
        free(r->e[i].key);
    free(r->bytes);
    free(r->e);
    memset(r, 0, sizeof *r);
}

/* Every sequence of min..max consecutive keys (0 or 1 to 1 and less: single keys). */
static void ref_ngrams(struct ref *r, const struct ref_keys *ks, unsigned min, unsigned max)
{
    unsigned lo = min ? min : 1, hi = max > lo ? max : lo;
    size_t cap = 0;
    uint8_t *joined = NULL;
    for (size_t i = 0; i < ks->n; i++) {
        for (unsigned m = lo; m <= hi && i + m <= ks->n; m++) {
            size_t len = 0;
            for (size_t k = i; k < i + m; k++) {
                joined = mpiwc_grow(joined, &cap, len + ks->k[k].len + 1, 1);
                if (k > i)
                    joined[len++] = ' ';
                memcpy(joined + len, ks->k[k].p, ks->k[k].len);
                len += ks->k[k].len;
            }
            ref_add(r, joined, len);
        }
    }
    free(joined);
}

/* The reference over one stream; returns the number of kept keys. */
static uint64_t ref_count(struct ref *r, const uint8_t *text, size_t len, const struct rules *rules)
{
    struct ref_keys ks = {0};
    ref_keys(&ks, text, len, rules);
    ref_ngrams(r, &ks, rules->min, rules->max);
    uint64_t n = ks.n;
    keys_free(&ks);
    return n;
}

/* The table holds exactly the reference's n-grams with the same counts, both ways round. */
static bool table_matches(const struct mpiwc_table *t, const struct ref *r)
{
    if (t->size != r->n)
        return false;
    for (size_t i = 0; i < r->n; i++)
        if (mpiwc_table_get(t, r->e[i].key, r->e[i].len) != r->e[i].count)
            return false;
    size_t seen = 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < mpiwc_table_slots(t); i++) {
        struct mpiwc_table_word w = {0};
        if (!mpiwc_table_word(t, i, &w))
            continue;
        seen++;
        sum += w.count;
        bool found = false;
        for (size_t j = 0; j < r->n && !found; j++)
            found = r->e[j].len == w.len && memcmp(r->e[j].key, w.key, w.len) == 0 &&
                    r->e[j].count == w.count;
        if (!found)
            return false;
    }
    return seen == r->n && sum == r->total;
}

static void dump_mismatch(const struct mpiwc_table *t, const struct ref *r)
{
    print_message("table has %zu n-grams, reference %zu\n", t->size, r->n);
    for (size_t i = 0; i < r->n; i++) {
        uint64_t got = mpiwc_table_get(t, r->e[i].key, r->e[i].len);
        if (got != r->e[i].count)
            print_message("  '%.*s': got %llu want %llu\n", (int)r->e[i].len,
                          (const char *)r->e[i].key, (unsigned long long)got,
                          (unsigned long long)r->e[i].count);
    }
    for (size_t i = 0; i < mpiwc_table_slots(t); i++) {
        struct mpiwc_table_word w = {0};
        if (mpiwc_table_word(t, i, &w))
            print_message("  table: '%.*s' %llu\n", (int)w.len, (const char *)w.key,
                          (unsigned long long)w.count);
    }
}

static void print_cuts(const char *what, const size_t *cuts, size_t ncuts)
{
    print_message("%s:", what);
    for (size_t i = 0; i < ncuts; i++)
        print_message(" %zu", cuts[i]);
    print_message("\n");
}

/* ---- three ways of reading a text ---- */

/*
 * One stream fed in the chunks between cuts (ascending, within len), each
 * chunk copied into a heap block of exactly its size so that
 * AddressSanitizer sees a read past it. Returns the keys the stream counted.
 */
static uint64_t feed_chunks(struct mpiwc_table *t, const struct rules *r, const uint8_t *text,
                            size_t len, const size_t *cuts, size_t ncuts)
{
    struct mpiwc_tokenizer tok;
    tok_init(&tok, r, t);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t next = i < ncuts ? cuts[i] : len;
        uint8_t *chunk = mpiwc_xmalloc(next - at ? next - at : 1);
        memcpy(chunk, text + at, next - at);
        mpiwc_tokenizer_feed(&tok, chunk, next - at);
        free(chunk);
        at = next;
    }
    mpiwc_tokenizer_end(&tok);
    uint64_t words = tok.words;
    mpiwc_tokenizer_free(&tok);
    return words;
}

static void check_chunks(const struct rules *r, const uint8_t *text, size_t len, const size_t *cuts,
                         size_t ncuts, const struct ref *want, uint64_t want_keys)
{
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    uint64_t words = feed_chunks(&t, r, text, len, cuts, ncuts);
    if (!table_matches(&t, want) || words != want_keys) {
        dump_mismatch(&t, want);
        print_message("text: '%.*s'\n", (int)len, (const char *)text);
        print_cuts("chunks cut at", cuts, ncuts);
        fail_msg("split %s, ngram %u:%u: %llu keys (want %llu), n-grams differ from the "
                 "reference",
                 split_name(r->split), r->min, r->max, (unsigned long long)words,
                 (unsigned long long)want_keys);
    }
    mpiwc_table_free(&t);
}

/*
 * The file at path read as the ranges between cuts (ascending, within
 * (0, len)), a fresh tokenizer per range, into one table: compare with the
 * reference over the whole file.
 */
static void check_ranges(const char *path, uint64_t len, const uint64_t *cuts, size_t ncuts,
                         size_t bufsize, const struct rules *r, const struct ref *want,
                         uint64_t want_keys)
{
    struct mpiwc_plan_file file = {(char *)(uintptr_t)path, len, 0, 0, 0};
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_reader rd;
    mpiwc_reader_init(&rd, bufsize, r->split);
    uint64_t start = 0, words = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        uint64_t end = i < ncuts ? cuts[i] : len;
        struct mpiwc_plan_range range = {0, start, end};
        struct mpiwc_tokenizer tok;
        tok_init(&tok, r, &t);
        char err[512] = "";
        if (mpiwc_reader_range(&rd, &file, &range, &tok, err, sizeof err) != 0)
            fail_msg("reader_range [%llu, %llu) failed: %s", (unsigned long long)start,
                     (unsigned long long)end, err);
        words += tok.words;
        mpiwc_tokenizer_free(&tok);
        start = end;
    }
    if (!table_matches(&t, want) || words != want_keys) {
        dump_mismatch(&t, want);
        print_message("ranges cut at:");
        for (size_t i = 0; i < ncuts; i++)
            print_message(" %llu", (unsigned long long)cuts[i]);
        print_message("\n");
        fail_msg("split %s, ngram %u:%u, buffer %zu: %llu keys (want %llu), n-grams differ "
                 "from the whole-file reference",
                 split_name(r->split), r->min, r->max, bufsize, (unsigned long long)words,
                 (unsigned long long)want_keys);
    }
    mpiwc_reader_free(&rd);
    mpiwc_table_free(&t);
}

/*
 * Standard input as stream.c reads it: the pieces between cuts handed out in
 * rounds of nranks, each rank's tokenizer fed its piece and ended with
 * mpiwc_tokenizer_end_edges(); rank 0's tokenizer then stitches the round's
 * edges in order. Every tokenizer counts into one table (the shuffle's sum).
 */
static void check_pieces(const struct rules *r, const uint8_t *text, size_t len, const size_t *cuts,
                         size_t ncuts, int nranks, const struct ref *want, uint64_t want_keys)
{
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_tokenizer tok[3];
    uint8_t *edges[3] = {NULL, NULL, NULL};
    size_t edges_cap[3] = {0, 0, 0}, edges_len[3];
    assert_true(nranks >= 1 && nranks <= 3);
    for (int k = 0; k < nranks; k++)
        tok_init(&tok[k], r, &t);
    size_t at = 0;
    uint64_t piece = 0;
    for (size_t i = 0; i <= ncuts;) {
        for (int k = 0; k < nranks; k++, i++) {
            size_t next = i < ncuts ? cuts[i] : len;
            if (i > ncuts)
                next = at; /* more ranks than pieces left: an empty piece */
            uint8_t *chunk = mpiwc_xmalloc(next - at ? next - at : 1);
            memcpy(chunk, text + at, next - at);
            mpiwc_tokenizer_feed(&tok[k], chunk, next - at);
            free(chunk);
            edges_len[k] = mpiwc_tokenizer_end_edges(&tok[k], &edges[k], &edges_cap[k]);
            at = next;
        }
        for (int k = 0; k < nranks; k++)
            mpiwc_tokenizer_stitch(&tok[0], edges[k], edges_len[k], piece++);
    }
    uint64_t words = 0;
    for (int k = 0; k < nranks; k++) {
        words += tok[k].words;
        mpiwc_tokenizer_free(&tok[k]);
        free(edges[k]);
    }
    if (!table_matches(&t, want) || words != want_keys) {
        dump_mismatch(&t, want);
        print_message("text: '%.*s'\n", (int)len, (const char *)text);
        print_cuts("pieces cut at", cuts, ncuts);
        fail_msg("split %s, ngram %u:%u, %d ranks: %llu keys (want %llu), stitched n-grams "
                 "differ from the reference",
                 split_name(r->split), r->min, r->max, nranks, (unsigned long long)words,
                 (unsigned long long)want_keys);
    }
    mpiwc_table_free(&t);
}

/* ---- fixtures ---- */

struct text {
    const uint8_t *p;
    size_t len;
};

#define TEXT(s)                                                                                    \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

/*
 * Repeated n-grams, separators leading, trailing and in runs, fewer words
 * than N, one word, no words, case, NUL and bytes >= 0x80 (word bytes under
 * both rules, NUL under space only), punctuation (a separator under alnum),
 * and words longer than 15 and 64 bytes.
 */
static const struct text texts[] = {
    TEXT("the cat sat on the mat the cat sat on the hat"),
    TEXT("  \t lead and\n\n\r\n  trail \r\n "),
    TEXT("one two"),
    TEXT("a b c d e f g"),
    TEXT("single"),
    TEXT("   \n\t\v\f "),
    TEXT(""),
    TEXT("A a A b B b a A"),
    TEXT("x\0y \xc3\xa9t\xc3\xa9 caf\xc3\xa9 x\0y, z;z--w \xff\x80 x\0y \xc3\xa9t\xc3\xa9"),
    TEXT("short "
         "a-word-of-seventy-bytes-longer-than-a-sixty-four-byte-buffer-xxxxxxxxx"
         " sixteen-bytes-xx short"),
    /* n-grams of 3, 7, 8, 15, 16 and 17 bytes joined: either side of each key size */
    TEXT("abcdefg hijklmn abcdefgh ijklmno x abcdefghijklmno p qr s ABCDEFG"),
};
#define NTEXTS (sizeof texts / sizeof texts[0])

static const unsigned ngram_sizes[][2] = {{2, 2}, {1, 3}, {2, 3}, {3, 3}, {3, 5}, {8, 8}};
#define NSIZES (sizeof ngram_sizes / sizeof ngram_sizes[0])

/* unicode without filters is the tokenizer's fast path: n-grams of ASCII words in registers */
static const enum mpiwc_split splits[] = {MPIWC_SPLIT_SPACE, MPIWC_SPLIT_ALNUM,
                                          MPIWC_SPLIT_UNICODE};
#define NSPLITS (sizeof splits / sizeof splits[0])

/* Stop words that drop every other word of filter_text, and its short words. */
static const char stop_list[] = "THE\na\nof\n";
static const uint8_t filter_text[] = "The cat of hat a mat OF bat the rat\nof cab a dab the";
#define FILTER_LEN (sizeof filter_text - 1)

/* The cases: every split and size without filters, then with each filter. */
static size_t rule_cases(struct rules *out)
{
    size_t n = 0;
    for (size_t s = 0; s < NSPLITS; s++)
        for (size_t g = 0; g < NSIZES; g++)
            out[n++] = (struct rules){splits[s], ngram_sizes[g][0], ngram_sizes[g][1], NULL, 0};
    for (size_t g = 0; g < NSIZES; g++) {
        out[n++] =
            (struct rules){MPIWC_SPLIT_SPACE, ngram_sizes[g][0], ngram_sizes[g][1], stop_list, 0};
        out[n++] = (struct rules){MPIWC_SPLIT_ALNUM, ngram_sizes[g][0], ngram_sizes[g][1], NULL, 4};
    }
    return n;
}
#define MAX_CASES ((NSPLITS + 2) * NSIZES)

/* ---- a reference for many n-grams: sorted, not searched ---- */

static int entry_cmp(const void *a, const void *b)
{
    const struct ref_entry *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The n-grams of min..max keys, each occurrence an entry (its bytes in one block), sorted
 * and then summed: ref_ngrams' linear search would take hours over 10^5 distinct n-grams. */
static uint64_t ref_count_many(struct ref *r, const uint8_t *text, size_t len,
                               const struct rules *rules)
{
    struct ref_keys ks = {0};
    ref_keys(&ks, text, len, rules);
    struct ref_entry *all = NULL;
    size_t n = 0, cap = 0, used = 0, bytes_cap = 0;
    uint8_t *bytes = NULL;
    for (size_t i = 0; i < ks.n; i++) {
        for (unsigned m = rules->min; m <= rules->max && i + m <= ks.n; m++) {
            size_t klen = m - 1;
            for (size_t k = i; k < i + m; k++)
                klen += ks.k[k].len;
            bytes = mpiwc_grow(bytes, &bytes_cap, used + klen, 1);
            uint8_t *at = bytes + used;
            for (size_t k = i; k < i + m; k++) {
                if (k > i)
                    *at++ = ' ';
                memcpy(at, ks.k[k].p, ks.k[k].len);
                at += ks.k[k].len;
            }
            all = mpiwc_grow(all, &cap, n + 1, sizeof *all);
            all[n++] = (struct ref_entry){(uint8_t *)(uintptr_t)used, klen, 1}; /* an offset */
            used += klen;
        }
    }
    for (size_t i = 0; i < n; i++)
        all[i].key = bytes + (uintptr_t)all[i].key;
    qsort(all, n, sizeof *all, entry_cmp);
    memset(r, 0, sizeof *r);
    r->bytes = bytes;
    for (size_t i = 0; i < n; i++) {
        r->total++;
        if (r->n > 0 && entry_cmp(&r->e[r->n - 1], &all[i]) == 0) {
            r->e[r->n - 1].count++;
            continue;
        }
        r->e = mpiwc_grow(r->e, &r->cap, r->n + 1, sizeof *r->e);
        r->e[r->n++] = all[i];
    }
    free(all);
    uint64_t keys = ks.n;
    keys_free(&ks);
    return keys;
}

/* The table holds exactly r's n-grams: as many, each with its count, and the same sum. */
static void assert_table_is(const struct mpiwc_table *t, const struct ref *r, const char *what)
{
    if (t->size != r->n)
        fail_msg("%s: %zu n-grams, want %zu", what, t->size, r->n);
    for (size_t i = 0; i < r->n; i++) {
        uint64_t got = mpiwc_table_get(t, r->e[i].key, r->e[i].len);
        if (got != r->e[i].count)
            fail_msg("%s: '%.*s' counted %llu, want %llu", what, (int)r->e[i].len,
                     (const char *)r->e[i].key, (unsigned long long)got,
                     (unsigned long long)r->e[i].count);
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < mpiwc_table_slots(t); i++) {
        struct mpiwc_table_word w = {0};
        if (mpiwc_table_word(t, i, &w))
            sum += w.count;
    }
    assert_int_equal(sum, r->total);
}

/* ---- tests ---- */

/* The reference itself, on a text small enough to count by hand. */
static void test_reference_by_hand(void **state)
{
    (void)state;
    static const uint8_t text[] = " The cat, the CAT.\n";
    struct rules r = {MPIWC_SPLIT_SPACE, 1, 3, NULL, 0};
    struct ref want = {0};
    assert_int_equal(ref_count(&want, text, sizeof text - 1, &r), 4);
    /* the | cat, | the | cat. : 4 + 3 + 2 */
    assert_int_equal(want.total, 9);
    assert_int_equal(want.n, 8);
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    assert_int_equal(feed_chunks(&t, &r, text, sizeof text - 1, NULL, 0), 4);
    assert_int_equal(mpiwc_table_get(&t, "the", 3), 2);
    assert_int_equal(mpiwc_table_get(&t, "the cat,", 8), 1);
    assert_int_equal(mpiwc_table_get(&t, "cat, the", 8), 1);
    assert_int_equal(mpiwc_table_get(&t, "the cat.", 8), 1);
    assert_int_equal(mpiwc_table_get(&t, "the cat, the", 12), 1);
    assert_int_equal(mpiwc_table_get(&t, "cat, the cat.", 13), 1);
    assert_true(table_matches(&t, &want));
    mpiwc_table_free(&t);
    ref_free(&want);

    r = (struct rules){MPIWC_SPLIT_ALNUM, 2, 2, "the\n", 0};
    ref_count(&want, text, sizeof text - 1, &r); /* cat cat */
    assert_int_equal(want.n, 1);
    assert_int_equal(want.total, 1);
    mpiwc_table_init(&t, 0);
    assert_int_equal(feed_chunks(&t, &r, text, sizeof text - 1, NULL, 0), 2);
    assert_int_equal(mpiwc_table_get(&t, "cat cat", 7), 1);
    assert_true(table_matches(&t, &want));
    mpiwc_table_free(&t);
    ref_free(&want);
}

/* Whole, in two chunks at every offset, and in 1-byte chunks: the same n-grams. */
static void test_chunks_every_offset(void **state)
{
    (void)state;
    struct rules cases[MAX_CASES];
    size_t ncases = rule_cases(cases);
    for (size_t c = 0; c < ncases; c++) {
        for (size_t x = 0; x <= NTEXTS; x++) {
            const uint8_t *text = x < NTEXTS ? texts[x].p : filter_text;
            size_t len = x < NTEXTS ? texts[x].len : FILTER_LEN;
            bool ascii = true;
            for (size_t i = 0; i < len; i++)
                ascii = ascii && text[i] < 0x80;
            if ((cases[c].min_length || cases[c].split == MPIWC_SPLIT_UNICODE) && !ascii)
                continue;
            struct ref want = {0};
            uint64_t keys = ref_count(&want, text, len, &cases[c]);
            check_chunks(&cases[c], text, len, NULL, 0, &want, keys);
            for (size_t i = 0; i <= len; i++)
                check_chunks(&cases[c], text, len, &i, 1, &want, keys);
            size_t *ones = mpiwc_xmalloc((len + 1) * sizeof *ones);
            for (size_t i = 1; i < len; i++)
                ones[i - 1] = i;
            check_chunks(&cases[c], text, len, ones, len ? len - 1 : 0, &want, keys);
            free(ones);
            ref_free(&want);
        }
    }
}

/* N-grams of fewer words than N are none; exactly N words make one. */
static void test_too_few_words(void **state)
{
    (void)state;
    static const uint8_t text[] = "  one two three  ";
    struct rules r = {MPIWC_SPLIT_SPACE, 4, 8, NULL, 0};
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    assert_int_equal(feed_chunks(&t, &r, text, sizeof text - 1, NULL, 0), 3);
    assert_int_equal(t.size, 0);
    r.min = 3;
    assert_int_equal(feed_chunks(&t, &r, text, sizeof text - 1, NULL, 0), 3);
    assert_int_equal(t.size, 1);
    assert_int_equal(mpiwc_table_get(&t, "one two three", 13), 1);
    mpiwc_table_free(&t);
}

/* 0 or 1 to 1 (and a maximum below the minimum 1): single words, no read-ahead, no edges. */
static void test_single_words(void **state)
{
    (void)state;
    static const unsigned sizes[][2] = {{0, 0}, {1, 1}, {0, 1}, {1, 0}};
    for (size_t g = 0; g < 4; g++) {
        for (size_t s = 0; s < 2; s++) {
            for (size_t f = 0; f < 2; f++) {
                struct rules r = {splits[s], sizes[g][0], sizes[g][1], f ? stop_list : NULL, 0};
                struct ref want = {0};
                uint64_t keys = ref_count(&want, texts[0].p, texts[0].len, &r);
                assert_int_equal(want.total, keys);
                check_chunks(&r, texts[0].p, texts[0].len, NULL, 0, &want, keys);
                for (size_t i = 0; i <= texts[0].len; i++)
                    check_chunks(&r, texts[0].p, texts[0].len, &i, 1, &want, keys);

                struct mpiwc_table t;
                mpiwc_table_init(&t, 0);
                struct mpiwc_tokenizer tok;
                tok_init(&tok, &r, &t);
                assert_false(mpiwc_tokenizer_ngrams(&tok));
                mpiwc_tokenizer_feed(&tok, (const uint8_t *)"a b c", 5);
                assert_false(mpiwc_tokenizer_read_ahead(&tok));
                assert_false(mpiwc_tokenizer_wants_more(&tok));
                uint8_t *edges = NULL;
                size_t cap = 0;
                /* ends the stream: the pending word is counted */
                assert_int_equal(mpiwc_tokenizer_end_edges(&tok, &edges, &cap), 0);
                assert_int_equal(mpiwc_table_get(&t, "c", 1), 1);
                mpiwc_tokenizer_free(&tok);
                mpiwc_table_free(&t);
                free(edges);
                ref_free(&want);
            }
        }
    }
}

/* Filters act first: n-grams join the kept keys across the dropped ones. */
static void test_filters_first(void **state)
{
    (void)state;
    struct rules r = {MPIWC_SPLIT_SPACE, 2, 2, stop_list, 0};
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    /* The cat of hat a mat OF bat the rat of cab a dab the: every other word stopped */
    assert_int_equal(feed_chunks(&t, &r, filter_text, FILTER_LEN, NULL, 0), 7);
    assert_int_equal(mpiwc_table_get(&t, "cat hat", 7), 1);
    assert_int_equal(mpiwc_table_get(&t, "rat cab", 7), 1);
    assert_int_equal(mpiwc_table_get(&t, "cab dab", 7), 1);
    assert_int_equal(mpiwc_table_get(&t, "cat of", 6), 0);
    assert_int_equal(t.size, 6);
    mpiwc_table_free(&t);

    r = (struct rules){MPIWC_SPLIT_ALNUM, 1, 2, NULL, 4};
    static const uint8_t text[] = "tiny a longer b words, cc here";
    mpiwc_table_init(&t, 0);
    assert_int_equal(feed_chunks(&t, &r, text, sizeof text - 1, NULL, 0), 4);
    assert_int_equal(mpiwc_table_get(&t, "tiny longer", 11), 1);
    assert_int_equal(mpiwc_table_get(&t, "longer words", 12), 1);
    assert_int_equal(mpiwc_table_get(&t, "words here", 10), 1);
    assert_int_equal(t.size, 7);
    mpiwc_table_free(&t);
}

struct fixture {
    char path[64];
};

static void write_bytes(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int fixture_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->path, sizeof fx->path, "/tmp/mpiwc-ngram-XXXXXX");
    int fd = mkstemp(fx->path);
    if (fd < 0) {
        free(fx);
        return -1;
    }
    close(fd);
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;
    unlink(fx->path);
    free(fx);
    return 0;
}

static const size_t bufsizes[] = {1, 3, 64};
#define NBUFSIZES (sizeof bufsizes / sizeof bufsizes[0])

/*
 * A word longer than the 64-byte buffer with cuts inside it, words of one
 * byte, stop words and short words at the cuts, and separators in runs.
 */
static const uint8_t range_text[] =
    " Alpha beta  a-word-of-seventy-bytes-longer-than-a-sixty-four-byte-buffer-xxxxxx"
    " gamma\tDelta\n\nthe alpha BETA x of y gamma ";
#define RANGE_LEN (sizeof range_text - 1)

/* Two ranges [0, p) and [p, len) for every p: the first reads ahead past p. */
static void test_ranges_two_every_cut(void **state)
{
    struct fixture *fx = *state;
    write_bytes(fx->path, range_text, RANGE_LEN);
    struct rules cases[MAX_CASES];
    size_t ncases = rule_cases(cases);
    for (size_t c = 0; c < ncases; c++) {
        struct ref want = {0};
        uint64_t keys = ref_count(&want, range_text, RANGE_LEN, &cases[c]);
        for (size_t b = 0; b < NBUFSIZES; b++) {
            check_ranges(fx->path, RANGE_LEN, NULL, 0, bufsizes[b], &cases[c], &want, keys);
            for (uint64_t p = 1; p < RANGE_LEN; p++)
                check_ranges(fx->path, RANGE_LEN, &p, 1, bufsizes[b], &cases[c], &want, keys);
        }
        ref_free(&want);
    }
}

/* Three ranges for every pair of cuts of a short text: a range may hold no word at all. */
static void test_ranges_three_every_pair(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t text[] = "a bb  c\tThe d\n\ne f of g ";
    const size_t len = sizeof text - 1;
    write_bytes(fx->path, text, len);
    struct rules cases[MAX_CASES];
    size_t ncases = rule_cases(cases);
    for (size_t c = 0; c < ncases; c++) {
        struct ref want = {0};
        uint64_t keys = ref_count(&want, text, len, &cases[c]);
        for (size_t b = 0; b < NBUFSIZES; b++)
            for (uint64_t i = 1; i < len; i++)
                for (uint64_t j = i + 1; j < len; j++) {
                    uint64_t cuts[2] = {i, j};
                    check_ranges(fx->path, len, cuts, 2, bufsizes[b], &cases[c], &want, keys);
                }
        ref_free(&want);
    }
}

/* Every byte a range of its own: a range's n-grams end many ranges later. */
static void test_ranges_one_byte(void **state)
{
    struct fixture *fx = *state;
    write_bytes(fx->path, range_text, RANGE_LEN);
    uint64_t cuts[RANGE_LEN];
    for (size_t i = 1; i < RANGE_LEN; i++)
        cuts[i - 1] = i;
    struct rules cases[MAX_CASES];
    size_t ncases = rule_cases(cases);
    for (size_t c = 0; c < ncases; c++) {
        struct ref want = {0};
        uint64_t keys = ref_count(&want, range_text, RANGE_LEN, &cases[c]);
        for (size_t b = 0; b < NBUFSIZES; b++)
            check_ranges(fx->path, RANGE_LEN, cuts, RANGE_LEN - 1, bufsizes[b], &cases[c], &want,
                         keys);
        ref_free(&want);
    }
}

/*
 * Pieces of standard input cut just after white space (as mpiwc_stream_cut()
 * cuts): pieces with no word and with fewer than N - 1 words.
 */
static const uint8_t piece_text[] = " The a  b\n\ncc of d\te f The g h ";
#define PIECE_LEN (sizeof piece_text - 1)

static size_t piece_cuts(size_t *cuts)
{
    size_t n = 0;
    for (size_t i = 1; i < PIECE_LEN; i++)
        if (!ref_is_word(MPIWC_SPLIT_SPACE, piece_text[i - 1]))
            cuts[n++] = i;
    return n;
}

static void test_stitch_every_cut(void **state)
{
    (void)state;
    size_t all[PIECE_LEN];
    size_t nall = piece_cuts(all);
    assert_true(nall > 10);
    struct rules cases[MAX_CASES];
    size_t ncases = rule_cases(cases);
    for (size_t c = 0; c < ncases; c++) {
        struct ref want = {0};
        uint64_t keys = ref_count(&want, piece_text, PIECE_LEN, &cases[c]);
        for (int nranks = 1; nranks <= 3; nranks++) {
            check_pieces(&cases[c], piece_text, PIECE_LEN, NULL, 0, nranks, &want, keys);
            for (size_t i = 0; i < nall; i++)
                check_pieces(&cases[c], piece_text, PIECE_LEN, &all[i], 1, nranks, &want, keys);
        }
        ref_free(&want);
    }
}

static void test_stitch_every_pair(void **state)
{
    (void)state;
    size_t all[PIECE_LEN];
    size_t nall = piece_cuts(all);
    struct rules cases[MAX_CASES];
    size_t ncases = rule_cases(cases);
    for (size_t c = 0; c < ncases; c++) {
        struct ref want = {0};
        uint64_t keys = ref_count(&want, piece_text, PIECE_LEN, &cases[c]);
        for (int nranks = 1; nranks <= 3; nranks++)
            for (size_t i = 0; i < nall; i++)
                for (size_t j = i + 1; j < nall; j++) {
                    size_t cuts[2] = {all[i], all[j]};
                    check_pieces(&cases[c], piece_text, PIECE_LEN, cuts, 2, nranks, &want, keys);
                }
        ref_free(&want);
    }
}

/* Every possible cut at once: most pieces hold one word or none; n-grams span up to 8 pieces. */
static void test_stitch_all_cuts(void **state)
{
    (void)state;
    size_t all[PIECE_LEN];
    size_t nall = piece_cuts(all);
    struct rules cases[MAX_CASES];
    size_t ncases = rule_cases(cases);
    for (size_t c = 0; c < ncases; c++) {
        struct ref want = {0};
        uint64_t keys = ref_count(&want, piece_text, PIECE_LEN, &cases[c]);
        for (int nranks = 1; nranks <= 3; nranks++)
            check_pieces(&cases[c], piece_text, PIECE_LEN, all, nall, nranks, &want, keys);
        ref_free(&want);
    }
}

/* Pieces of many words: the edges of each piece leave its middle out. */
static void test_stitch_long_pieces(void **state)
{
    (void)state;
    for (size_t x = 0; x < 2; x++) {
        const uint8_t *text = x ? range_text : texts[0].p;
        size_t len = x ? RANGE_LEN : texts[0].len;
        size_t cuts[RANGE_LEN];
        size_t ncuts = 0;
        for (size_t i = 1; i < len; i++)
            if (!ref_is_word(MPIWC_SPLIT_SPACE, text[i - 1]))
                cuts[ncuts++] = i;
        struct rules cases[MAX_CASES];
        size_t ncases = rule_cases(cases);
        for (size_t c = 0; c < ncases; c++) {
            struct ref want = {0};
            uint64_t keys = ref_count(&want, text, len, &cases[c]);
            for (size_t i = 0; i < ncuts; i++)
                for (size_t j = i + 1; j < ncuts; j++) {
                    size_t two[2] = {cuts[i], cuts[j]};
                    check_pieces(&cases[c], text, len, two, 2, 2, &want, keys);
                }
            ref_free(&want);
        }
    }
}

/*
 * 200,000 words of a vocabulary of 5,000 (1 to 15 letters, most short),
 * their first quarter again, one bigram twice close together, then three
 * words of 50 letters twice: about 190,000 distinct bigrams of 3 to 31
 * bytes (and 101) and 200,000 trigrams, in a few feeds. The table grows during the scans and
 * passes the size from which words wait behind prefetches, in a queue per
 * kind of slot (small, short, and big for n-grams of 16 to 128 bytes);
 * repeats of an n-gram wait in one queue together, and trigrams of 152
 * bytes are counted at once. Against the sorting reference, under each
 * split rule.
 */
static void test_many_bigrams_queued(void **state)
{
    (void)state;
    enum { VOCAB = 5000, WORDS = 200000 };
    static char vocab[VOCAB][16];
    uint64_t x = 88172645463325252ull; /* xorshift64 */
    for (int v = 0; v < VOCAB; v++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned r = (unsigned)(x % 100), n = r < 60 ? 1 + r % 4 : r < 90 ? 5 + r % 3 : 8 + r % 8;
        for (unsigned i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            vocab[v][i] = (char)((i == 0 && v % 3 == 0 ? 'A' : 'a') + x % 26);
        }
        vocab[v][n] = 0;
    }
    size_t cap = (size_t)WORDS * 2 * 17 + 64, len = 0;
    char *text = mpiwc_xmalloc(cap);
    int *picks = mpiwc_xmalloc(WORDS * sizeof *picks);
    for (int i = 0; i < WORDS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        picks[i] = (int)(x % VOCAB);
    }
    for (int i = 0; i < WORDS + WORDS / 4; i++)
        len += (size_t)sprintf(text + len, i % 11 ? "%s " : "%s,\n", vocab[picks[i % WORDS]]);
    len += (size_t)sprintf(text + len, "abcdefgh ijklmnop abcdefgh ijklmnop abcdefgh ");
    for (int rep = 0; rep < 2; rep++) /* bigrams of 101 bytes, trigrams past the queue's 128 */
        for (char c = 'p'; c <= 'r'; c++)
            len += (size_t)sprintf(text + len, "%.50s ", (char *)memset((char[51]){0}, c, 50));
    const size_t cuts[] = {len / 3, len / 3 + 5, 2 * len / 3};
    static const struct rules cases[] = {
        {MPIWC_SPLIT_UNICODE, 2, 2, NULL, 0}, /* the fast path: bigrams in registers */
        {MPIWC_SPLIT_UNICODE, 1, 2, NULL, 0},
        {MPIWC_SPLIT_UNICODE, 1, 3, NULL, 0}, /* the fast path: trigrams too */
        {MPIWC_SPLIT_UNICODE, 3, 3, NULL, 0},
        {MPIWC_SPLIT_ALNUM, 2, 2, NULL, 0},
        {MPIWC_SPLIT_SPACE, 2, 3, NULL, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct ref want;
        uint64_t keys = ref_count_many(&want, (const uint8_t *)text, len, &cases[c]);
        size_t lengths[4] = {0, 0, 0, 0}; /* small, short, long, past 128 bytes */
        for (size_t i = 0; i < want.n; i++)
            lengths[want.e[i].len <= 7     ? 0
                    : want.e[i].len <= 15  ? 1
                    : want.e[i].len <= 128 ? 2
                                           : 3]++;
        assert_true(lengths[0] > 5000 && lengths[1] > 60000 && lengths[2] > 20000);
        assert_int_equal(lengths[3], cases[c].max == 3 ? 3 : 0);
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        assert_int_equal(feed_chunks(&t, &cases[c], (const uint8_t *)text, len, cuts, 3), keys);
        assert_true(mpiwc_table_queues(&t));
        char what[64];
        snprintf(what, sizeof what, "split %s, ngram %u:%u", split_name(cases[c].split),
                 cases[c].min, cases[c].max);
        assert_table_is(&t, &want, what);
        assert_int_equal(mpiwc_table_get(&t, "abcdefgh ijklmnop", 17), cases[c].min <= 2 ? 2 : 0);
        mpiwc_table_free(&t);
        ref_free(&want);
    }
    free(picks);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_by_hand),
        cmocka_unit_test(test_chunks_every_offset),
        cmocka_unit_test(test_too_few_words),
        cmocka_unit_test(test_single_words),
        cmocka_unit_test(test_filters_first),
        cmocka_unit_test_setup_teardown(test_ranges_two_every_cut, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_ranges_three_every_pair, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_ranges_one_byte, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_stitch_every_cut),
        cmocka_unit_test(test_stitch_every_pair),
        cmocka_unit_test(test_stitch_all_cuts),
        cmocka_unit_test(test_stitch_long_pieces),
        cmocka_unit_test(test_many_bigrams_queued),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

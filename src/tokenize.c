#include "mpiwc/tokenize.h"

#include <stdlib.h>
#include <string.h>

#include "mpiwc/table.h"
#include "mpiwc/util.h"
#include "mpiwc/words.h"
#include "table_internal.h"
#include "boundary_internal.h"

void mpiwc_tokenizer_init(struct mpiwc_tokenizer *tok, enum mpiwc_split split,
                          enum mpiwc_case casing, struct mpiwc_table *table)
{
    memset(tok, 0, sizeof *tok);
    for (int b = 0; b < 256; b++) {
        tok->is_word[b] = mpiwc_boundary_is_word(split, (uint8_t)b);
        tok->fold[b] = (uint8_t)((casing == MPIWC_CASE_FOLD && b >= 'A' && b <= 'Z') ? b + 32 : b);
    }
    tok->folds = casing == MPIWC_CASE_FOLD;
    tok->fold_bytes = mpiwc_boundary_folder(mpiwc_boundary_simd_level());
    tok->classify = mpiwc_boundary_classifier(mpiwc_boundary_simd_level(), split);
    tok->table = table;
    if (split >= MPIWC_SPLIT_UNICODE) {
        struct mpiwc_word_rules rules = {.split = split, .casing = casing};
        tok->text = mpiwc_xmalloc(sizeof *tok->text);
        mpiwc_words_init(tok->text, &rules, table);
    }
}

void mpiwc_tokenizer_init_rules(struct mpiwc_tokenizer *tok, const struct mpiwc_word_rules *rules,
                                struct mpiwc_table *table)
{
    bool text = rules->split >= MPIWC_SPLIT_UNICODE || rules->min_length > 0 ||
                rules->ignore_numbers || rules->stopwords || rules->ngram_max > 1 ||
                rules->ngram_min > 1;
    mpiwc_tokenizer_init(tok, text ? MPIWC_SPLIT_ALNUM : rules->split, rules->casing, table);
    if (!text)
        return;
    for (int b = 0; b < 256; b++) /* the run predicate, for the reader */
        tok->is_word[b] = mpiwc_boundary_is_word(rules->split, (uint8_t)b);
    tok->text = mpiwc_xmalloc(sizeof *tok->text);
    mpiwc_words_init(tok->text, rules, table);
}

/* The text engine's counters, mirrored after each call into it. */
static void text_sync(struct mpiwc_tokenizer *tok)
{
    tok->words = tok->text->words;
    tok->invalid_utf8 = tok->text->invalid;
}

static void count_long(struct mpiwc_tokenizer *tok, const uint8_t *p, size_t n, bool fold)
{
    if (fold) {
        tok->scratch = mpiwc_grow(tok->scratch, &tok->scratch_cap, n, 1);
        for (size_t i = 0; i < n; i++)
            tok->scratch[i] = tok->fold[p[i]];
        p = tok->scratch;
    }
    mpiwc_table_add(tok->table, p, n, 1);
}

/*
 * Count the word p[0..n), folding it if fold; avail bytes from p on may be
 * read (avail >= n). Outside a scan (pending words).
 */
static void count_word(struct mpiwc_tokenizer *tok, const uint8_t *p, size_t n, size_t avail,
                       bool fold)
{
    tok->words++;
    if (n > MPIWC_INLINE_KEY) {
        count_long(tok, p, n, fold);
        return;
    }
    uint64_t lo, hi;
    mpiwc_short_key_at(p, n, avail, &lo, &hi);
    if (fold) {
        lo = mpiwc_fold8(lo);
        hi = mpiwc_fold8(hi);
    }
    mpiwc_table_add_key(tok->table, mpiwc_hash_key(lo, hi, n), lo, hi, n, 1);
}

/* A scan's state: a local of mpiwc_tokenizer_feed, kept in registers. */
struct scan {
    struct mpiwc_tokenizer *tok;
    struct mpiwc_counter c;
    uint64_t words;
};

/* A word of the scanned bytes, folded already when folding; queue
 * (mpiwc_counter_count) is a constant at each call site. */
static inline __attribute__((always_inline)) void run_done(struct scan *s, const uint8_t *p,
                                                           size_t n, bool queue)
{
    s->words++;
    if (!mpiwc_counter_count_padded(&s->c, p, n, false, queue)) { /* the scan copy is padded */
        mpiwc_table_add(s->tok->table, p, n, 1);
        mpiwc_counter_load(&s->c, s->tok->table);
    }
}

static inline void run_direct(void *ctx, const uint8_t *p, size_t n)
{
    run_done(ctx, p, n, false);
}

static inline void run_queued(void *ctx, const uint8_t *p, size_t n)
{
    run_done(ctx, p, n, true);
}

static void feed(struct mpiwc_tokenizer *tok, const uint8_t *buf, size_t len)
{
    if (tok->text) {
        mpiwc_words_feed(tok->text, buf, len);
        text_sync(tok);
        return;
    }
    size_t i = 0;
    if (tok->pending.len) {
        i = mpiwc_boundary_pending_extend(&tok->pending, tok->is_word, buf, len);
        if (i == len)
            return;
        size_t n;
        const uint8_t *word = mpiwc_boundary_pending_take(&tok->pending, &n);
        count_word(tok, word, n, n, tok->folds);
    }
    /*
     * The words are cut from a copy, with A-Z folded when folding (one vector
     * pass over the bytes costs less than folding each word's key), padded so
     * that every short key is two 8-byte loads.
     */
    if (len == 0)
        return;
    bool ascii; /* the byte rules treat every byte alike */
    buf = mpiwc_boundary_scan_copy(&tok->folded, &tok->folded_cap, buf, len,
                                   tok->folds ? tok->fold_bytes : NULL, &ascii);
    struct scan sc = {.tok = tok};
    mpiwc_counter_init(&sc.c, tok->table);
    size_t open_at; /* one scan per run function, each inlined */
    if (mpiwc_table_queues(tok->table))
        open_at =
            mpiwc_boundary_scan_runs(buf, len, i, tok->classify, tok->is_word, run_queued, &sc);
    else
        open_at =
            mpiwc_boundary_scan_runs(buf, len, i, tok->classify, tok->is_word, run_direct, &sc);
    mpiwc_counter_flush(&sc.c);
    tok->words += sc.words;
    if (open_at < len)
        mpiwc_boundary_pending_append(&tok->pending, buf + open_at, len - open_at);
}

void mpiwc_tokenizer_feed(struct mpiwc_tokenizer *tok, const uint8_t *buf, size_t len)
{
    double t0 = mpiwc_seconds(); /* once a buffer: nothing next to a scan */
    feed(tok, buf, len);
    tok->seconds += mpiwc_seconds() - t0;
}

bool mpiwc_tokenizer_in_word(const struct mpiwc_tokenizer *tok)
{
    if (tok->text)
        return mpiwc_words_in_word(tok->text);
    return tok->pending.len > 0;
}

static void end(struct mpiwc_tokenizer *tok)
{
    if (tok->text) {
        mpiwc_words_end(tok->text);
        text_sync(tok);
        return;
    }
    if (tok->pending.len) {
        size_t n;
        const uint8_t *word = mpiwc_boundary_pending_take(&tok->pending, &n);
        count_word(tok, word, n, n, tok->folds);
    }
}

void mpiwc_tokenizer_end(struct mpiwc_tokenizer *tok)
{
    double t0 = mpiwc_seconds();
    end(tok);
    tok->seconds += mpiwc_seconds() - t0;
}

bool mpiwc_tokenizer_read_ahead(struct mpiwc_tokenizer *tok)
{
    if (!tok->text)
        return false;
    double t0 = mpiwc_seconds();
    bool more = mpiwc_words_read_ahead(tok->text);
    text_sync(tok);
    tok->seconds += mpiwc_seconds() - t0;
    return more;
}

bool mpiwc_tokenizer_wants_more(const struct mpiwc_tokenizer *tok)
{
    return tok->text && mpiwc_words_wants_more(tok->text);
}

bool mpiwc_tokenizer_ngrams(const struct mpiwc_tokenizer *tok)
{
    return tok->text && tok->text->ngram.max > 1;
}

size_t mpiwc_tokenizer_end_edges(struct mpiwc_tokenizer *tok, uint8_t **edges, size_t *cap)
{
    if (!mpiwc_tokenizer_ngrams(tok)) {
        mpiwc_tokenizer_end(tok);
        return 0;
    }
    double t0 = mpiwc_seconds();
    size_t n = mpiwc_words_end_edges(tok->text, edges, cap);
    text_sync(tok);
    tok->seconds += mpiwc_seconds() - t0;
    return n;
}

void mpiwc_tokenizer_stitch(struct mpiwc_tokenizer *tok, const uint8_t *edges, size_t len,
                            uint64_t piece)
{
    if (mpiwc_tokenizer_ngrams(tok))
        mpiwc_words_stitch(tok->text, edges, len, piece);
}

void mpiwc_tokenizer_free(struct mpiwc_tokenizer *tok)
{
    if (tok->text) {
        mpiwc_words_free(tok->text);
        free(tok->text);
        tok->text = NULL;
    }
    mpiwc_boundary_pending_free(&tok->pending);
    free(tok->scratch);
    free(tok->folded);
    tok->scratch = tok->folded = NULL;
    tok->scratch_cap = tok->folded_cap = 0;
}

#include "mpiwc/tokenize.h"

#include <stdlib.h>
#include <string.h>

#include "mpiwc/util.h"
#include "mpiwc/words.h"

void mpiwc_tokenizer_init(struct mpiwc_tokenizer *tok, enum mpiwc_split split,
                          enum mpiwc_case casing, struct mpiwc_table *table)
{
    struct mpiwc_word_rules rules = {.split = split, .casing = casing};
    mpiwc_tokenizer_init_rules(tok, &rules, table);
}

void mpiwc_tokenizer_init_rules(struct mpiwc_tokenizer *tok, const struct mpiwc_word_rules *rules,
                                struct mpiwc_table *table)
{
    memset(tok, 0, sizeof *tok);
    tok->text = mpiwc_xmalloc(sizeof *tok->text);
    mpiwc_words_init(tok->text, rules, table);
}

/* The text engine's counters, mirrored after each call into it. */
static void text_sync(struct mpiwc_tokenizer *tok)
{
    tok->words = tok->text->words;
    tok->invalid_utf8 = tok->text->invalid;
}

void mpiwc_tokenizer_feed(struct mpiwc_tokenizer *tok, const uint8_t *buf, size_t len)
{
    double t0 = mpiwc_seconds(); /* once a buffer: nothing next to a scan */
    mpiwc_words_feed(tok->text, buf, len);
    text_sync(tok);
    tok->seconds += mpiwc_seconds() - t0;
}

const uint8_t *mpiwc_tokenizer_run_bytes(const struct mpiwc_tokenizer *tok)
{
    return tok->text->is_word;
}

bool mpiwc_tokenizer_in_word(const struct mpiwc_tokenizer *tok)
{
    return mpiwc_words_in_word(tok->text);
}

void mpiwc_tokenizer_end(struct mpiwc_tokenizer *tok)
{
    double t0 = mpiwc_seconds();
    mpiwc_words_end(tok->text);
    text_sync(tok);
    tok->seconds += mpiwc_seconds() - t0;
}

bool mpiwc_tokenizer_read_ahead(struct mpiwc_tokenizer *tok)
{
    double t0 = mpiwc_seconds();
    bool more = mpiwc_words_read_ahead(tok->text);
    text_sync(tok);
    tok->seconds += mpiwc_seconds() - t0;
    return more;
}

bool mpiwc_tokenizer_wants_more(const struct mpiwc_tokenizer *tok)
{
    return mpiwc_words_wants_more(tok->text);
}

bool mpiwc_tokenizer_ngrams(const struct mpiwc_tokenizer *tok)
{
    return tok->text->ngram.max > 1;
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
    }
    memset(tok, 0, sizeof *tok);
}

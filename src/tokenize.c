#include "mpiwc/tokenize.h"

#include <stdlib.h>
#include <string.h>

#include "mpiwc/table.h"
#include "mpiwc/util.h"

bool mpiwc_tokenize_is_word(enum mpiwc_split split, uint8_t b)
{
    switch (split) {
    case MPIWC_SPLIT_SPACE:
        return !(b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r');
    case MPIWC_SPLIT_ALNUM:
    default:
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
               b >= 0x80;
    }
}

void mpiwc_tokenizer_init(struct mpiwc_tokenizer *tok, enum mpiwc_split split,
                          enum mpiwc_case casing, struct mpiwc_table *table)
{
    memset(tok, 0, sizeof *tok);
    for (int b = 0; b < 256; b++) {
        tok->is_word[b] = mpiwc_tokenize_is_word(split, (uint8_t)b);
        tok->fold[b] = (uint8_t)((casing == MPIWC_CASE_FOLD && b >= 'A' && b <= 'Z') ? b + 32 : b);
    }
    tok->folds = casing == MPIWC_CASE_FOLD;
    tok->table = table;
}

static void pending_append(struct mpiwc_tokenizer *tok, const uint8_t *p, size_t n)
{
    if (tok->pending_cap - tok->pending_len < n) {
        size_t cap = tok->pending_cap ? tok->pending_cap : 64;
        while (cap - tok->pending_len < n)
            cap = mpiwc_mul_size(cap, 2);
        tok->pending = mpiwc_xrealloc(tok->pending, cap);
        tok->pending_cap = cap;
    }
    memcpy(tok->pending + tok->pending_len, p, n);
    tok->pending_len += n;
}

static void count_word(struct mpiwc_tokenizer *tok, const uint8_t *p, size_t n)
{
    mpiwc_table_add(tok->table, p, n, 1);
    tok->words++;
}

void mpiwc_tokenizer_feed(struct mpiwc_tokenizer *tok, uint8_t *buf, size_t len)
{
    const uint8_t *is_word = tok->is_word;
    if (tok->folds) {
        const uint8_t *fold = tok->fold;
        for (size_t k = 0; k < len; k++)
            buf[k] = fold[buf[k]];
    }
    size_t i = 0;
    if (tok->pending_len) {
        while (i < len && is_word[buf[i]])
            i++;
        pending_append(tok, buf, i);
        if (i == len)
            return;
        count_word(tok, tok->pending, tok->pending_len);
        tok->pending_len = 0;
    }
    while (i < len) {
        while (i < len && !is_word[buf[i]])
            i++;
        size_t start = i;
        while (i < len && is_word[buf[i]])
            i++;
        if (i == len) {
            if (start < len)
                pending_append(tok, buf + start, len - start);
            return;
        }
        count_word(tok, buf + start, i - start);
    }
}

bool mpiwc_tokenizer_in_word(const struct mpiwc_tokenizer *tok)
{
    return tok->pending_len > 0;
}

void mpiwc_tokenizer_end(struct mpiwc_tokenizer *tok)
{
    if (tok->pending_len) {
        count_word(tok, tok->pending, tok->pending_len);
        tok->pending_len = 0;
    }
}

void mpiwc_tokenizer_free(struct mpiwc_tokenizer *tok)
{
    free(tok->pending);
    tok->pending = NULL;
    tok->pending_len = tok->pending_cap = 0;
}

/*
 * tokenize: the one definition of a word, and the streaming tokenizer that
 * counts words into a table.
 *
 * Rules (bytes, never decoded; non-UTF-8 input is counted, not rejected):
 *   MPIWC_SPLIT_ALNUM  a word is a maximal run of ASCII letters, digits and
 *                      bytes >= 0x80.
 *   MPIWC_SPLIT_SPACE  a word is a maximal run of bytes other than
 *                      ' ' \t \n \v \f \r (NUL is a word byte here).
 *   MPIWC_CASE_FOLD    ASCII A-Z become a-z; every other byte is untouched.
 *   MPIWC_CASE_KEEP    bytes untouched.
 *
 * The tokenizer is fed consecutive chunks of one stream (one byte range of a
 * file). A word that runs off the end of a chunk is kept in a pending buffer
 * and completed by the next chunk, so a word is counted whole whatever the
 * chunk boundaries; mpiwc_tokenizer_end() closes the stream. Pending memory
 * grows only to the longest word seen. Which bytes of a file a rank feeds
 * (skipping a word that started in the previous range, reading on past the
 * range end) is the reader's business, decided with mpiwc_tokenize_is_word().
 *
 *     struct mpiwc_tokenizer tok;
 *     mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_ALNUM, MPIWC_CASE_FOLD, &table);
 *     mpiwc_tokenizer_feed(&tok, buf, n);      // folds buf in place
 *     mpiwc_tokenizer_end(&tok);               // end of a range or file
 *     mpiwc_tokenizer_free(&tok);
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_TOKENIZE_H
#define MPIWC_TOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mpiwc_table;

enum mpiwc_split { MPIWC_SPLIT_ALNUM, MPIWC_SPLIT_SPACE };
enum mpiwc_case { MPIWC_CASE_FOLD, MPIWC_CASE_KEEP };

struct mpiwc_tokenizer {
    uint8_t is_word[256];      /* 1 for word bytes under the split rule */
    uint8_t fold[256];         /* byte -> byte under the case rule */
    bool folds;                /* fold is not the identity */
    struct mpiwc_table *table; /* borrowed; words are added here */
    uint8_t *pending;          /* owned: the unfinished word at the end of the last chunk */
    size_t pending_len, pending_cap;
    uint64_t words; /* words counted so far (each occurrence) */
};

/* Local. Is byte b part of a word under the split rule? */
bool mpiwc_tokenize_is_word(enum mpiwc_split split, uint8_t b);

/* Local. The table is borrowed and must outlive the tokenizer. */
void mpiwc_tokenizer_init(struct mpiwc_tokenizer *tok, enum mpiwc_split split,
                          enum mpiwc_case casing, struct mpiwc_table *table);

/*
 * Local. Count every word of buf[0..len) that ends inside the chunk; keep a
 * trailing unfinished word pending. buf is folded in place (it is scratch).
 */
void mpiwc_tokenizer_feed(struct mpiwc_tokenizer *tok, uint8_t *buf, size_t len);

/* Local. True when the last byte fed was a word byte (a word is pending). */
bool mpiwc_tokenizer_in_word(const struct mpiwc_tokenizer *tok);

/* Local. End of stream: count the pending word, if any. */
void mpiwc_tokenizer_end(struct mpiwc_tokenizer *tok);

/* Local. Frees the pending buffer; the table is untouched. */
void mpiwc_tokenizer_free(struct mpiwc_tokenizer *tok);

#endif

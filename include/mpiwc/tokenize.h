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
 * The byte predicate of each rule is mpiwc_boundary_is_word() (boundary.h).
 * Every rule, the text rules (--split=unicode|uax29, --compat=hadoop)
 * included, and the filters and n-grams run in one engine, words.h, which
 * the tokenizer wraps; for the text rules the byte predicate only says where
 * runs (and so ranges) may end.
 *
 * The tokenizer is fed consecutive chunks of one stream (one byte range of a
 * file). A word that runs off the end of a chunk is kept in a pending buffer
 * and completed by the next chunk, so a word is counted whole whatever the
 * chunk boundaries; mpiwc_tokenizer_end() closes the stream. Pending memory
 * grows only to the longest word seen.
 *
 * Word boundaries come from a 64-bit mask per 64 bytes, built with AVX-512BW,
 * AVX2 or a table (chosen at run time from what the CPU offers; the
 * environment variable MPIWC_SIMD=scalar|avx2|avx512 caps the choice); words
 * of up to 15 bytes are folded and hashed as one or two 64-bit words, in registers.
 * Which bytes of a file a rank feeds
 * (skipping a word that started in the previous range, reading on past the
 * range end) is the reader's business, decided with boundary.h's predicate.
 *
 *     struct mpiwc_tokenizer tok;
 *     mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_ALNUM, MPIWC_CASE_FOLD, &table);
 *     mpiwc_tokenizer_feed(&tok, buf, n);      // any chunking of the stream
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

#include "mpiwc/boundary.h"

struct mpiwc_table;

enum mpiwc_case { MPIWC_CASE_FOLD, MPIWC_CASE_KEEP };
/* Unicode normalization of words (unicode and uax29 rules only). */
enum mpiwc_normalize { MPIWC_NORMALIZE_NFC, MPIWC_NORMALIZE_NFKC, MPIWC_NORMALIZE_NONE };

/* Everything that decides what a word is and which words count (words.h). */
struct mpiwc_word_rules {
    enum mpiwc_split split;
    enum mpiwc_case casing;
    enum mpiwc_normalize normalize;
    size_t min_length;   /* drop keys of fewer characters; 0: keep all */
    bool ignore_numbers; /* drop keys made only of decimal digits */
    /* The stop-word list's bytes, one word per line (borrowed, for init only); NULL: none. */
    const uint8_t *stopwords;
    size_t stopwords_len;
    /* --ngram=M:N: count the sequences of ngram_min to ngram_max kept keys (words.h); 0 or
     * 1 to 1: single words */
    unsigned ngram_min, ngram_max;
};

/* The longest n-gram counted (--ngram=M:N, N <= MPIWC_NGRAM_MAX). */
#define MPIWC_NGRAM_MAX 8

struct mpiwc_words;

struct mpiwc_tokenizer {
    struct mpiwc_words *text; /* owned: the engine (words.h) */
    uint64_t words;           /* words counted so far (each occurrence) */
    uint64_t invalid_utf8;    /* ill-formed UTF-8 bytes seen (the text rules) */
    double seconds;           /* spent in mpiwc_tokenizer_feed() and _end() */
};

/* Local. The table is borrowed and must outlive the tokenizer. */
void mpiwc_tokenizer_init(struct mpiwc_tokenizer *tok, enum mpiwc_split split,
                          enum mpiwc_case casing, struct mpiwc_table *table);

/*
 * Local. The same for any word rules. The stop-word list is parsed here and
 * not kept (the caller read it: rank 0 reads the file once for every rank).
 */
void mpiwc_tokenizer_init_rules(struct mpiwc_tokenizer *tok, const struct mpiwc_word_rules *rules,
                                struct mpiwc_table *table);

/*
 * Local. Count every word of buf[0..len) that ends inside the chunk; keep a
 * trailing unfinished word pending. buf is only read.
 */
void mpiwc_tokenizer_feed(struct mpiwc_tokenizer *tok, const uint8_t *buf, size_t len);

/*
 * Local. The run predicate of tok's split rule, 1 for run bytes, indexed by
 * byte (mpiwc_boundary_is_word()): where the reader may cut a range. It is
 * the engine's own (words.h).
 */
const uint8_t *mpiwc_tokenizer_run_bytes(const struct mpiwc_tokenizer *tok);

/* Local. True when the last byte fed was a word byte (a word is pending). */
bool mpiwc_tokenizer_in_word(const struct mpiwc_tokenizer *tok);

/* Local. End of stream: count the pending word, if any. */
void mpiwc_tokenizer_end(struct mpiwc_tokenizer *tok);

/*
 * Local. N-grams: the stream's own bytes are all fed (a range's end, its last
 * word finished): what is fed from now on only completes the n-grams of the
 * words already fed, and counts nothing else. Returns whether any n-gram
 * waits for more words (then feed until mpiwc_tokenizer_wants_more() is
 * false or the input ends, then mpiwc_tokenizer_end()). False for single
 * words.
 */
bool mpiwc_tokenizer_read_ahead(struct mpiwc_tokenizer *tok);

/* Local. After mpiwc_tokenizer_read_ahead(): does an n-gram still wait for words? */
bool mpiwc_tokenizer_wants_more(const struct mpiwc_tokenizer *tok);

/* Local. Does tok count n-grams longer than one word? */
bool mpiwc_tokenizer_ngrams(const struct mpiwc_tokenizer *tok);

/*
 * Local. N-grams over pieces of one stream (standard input, stream.h), each
 * piece tokenized as a stream of its own on some rank:
 * mpiwc_tokenizer_end_edges() ends the piece like mpiwc_tokenizer_end() and
 * writes into *edges (grown with mpiwc_grow(), *cap its capacity) what the
 * n-grams across its edges need: its first and last N-1 kept keys (all of
 * them when there are no more than 2(N-1)); returns the length. One
 * tokenizer, given every piece's edges in the stream's order with
 * mpiwc_tokenizer_stitch() (piece: a number that grows from piece to piece),
 * counts the n-grams that span pieces, which no piece's own tokenizer counts.
 */
size_t mpiwc_tokenizer_end_edges(struct mpiwc_tokenizer *tok, uint8_t **edges, size_t *cap);
void mpiwc_tokenizer_stitch(struct mpiwc_tokenizer *tok, const uint8_t *edges, size_t len,
                            uint64_t piece);

/* Local. Frees the pending buffer; the table is untouched. */
void mpiwc_tokenizer_free(struct mpiwc_tokenizer *tok);

#endif

/*
 * words: the tokenizer's engine, for every word rule (--split=alnum, space,
 * unicode, uax29, --compat=hadoop), the filters (--min-length, --stopwords,
 * --ignore-numbers) and n-grams. The tokenizer (tokenize.h) forwards feed,
 * end, in_word and free to it, so the reader and the job do not know it
 * exists.
 *
 * Two levels. A *run* is a maximal run of bytes that the split's byte
 * predicate (mpiwc_boundary_is_word()) calls word bytes: ASCII letters and
 * digits plus bytes >= 0x80 for alnum and unicode, everything but ASCII
 * white space for space, uax29 and hadoop. Ranges and buffers are cut
 * between runs exactly as for the byte rules (reader.h). Each run is then
 * split into words by the rule, from the run's bytes alone:
 *   unicode  maximal runs of characters of general category L, M or N;
 *            everything else (punctuation, symbols, U+3000, '_' and the
 *            apostrophe included) and each ill-formed UTF-8 byte separates;
 *   uax29    ICU's UAX #29 word segments (dictionaries for CJK, Thai, ...)
 *            with a word rule status; ASCII white space always breaks;
 *   hadoop   the run is the word (Java StringTokenizer's " \t\n\r\f"), with
 *            ill-formed UTF-8 replaced by U+FFFD as Hadoop's Text.toString();
 *   alnum, space  the run is the word (ASCII folding only).
 * Because no unicode word can contain an ASCII separator and runs never
 * cross one, the result does not depend on range or buffer boundaries.
 *
 * Then each word becomes its key (unicode, uax29: N(fold(N(word))), see
 * unicode.h; alnum, space: ASCII A-Z folded; hadoop: as is) and the filters
 * drop keys shorter than min_length characters, keys made only of decimal
 * digits (Nd) and keys in the stop-word set (one per line, a UTF-8 byte
 * order mark at the start of the list dropped; stop words get the same key
 * treatment). Kept keys are added to the table; with --ngram=M:N, every
 * sequence of M to N consecutive kept keys of the stream instead, its keys
 * joined by one space (the filters act before n-grams are formed, as
 * scikit-learn's do). A stream's n-grams are those whose first word is its
 * own: at a range's end the reader feeds on (read-ahead) until the last
 * ones are complete.
 *
 * The fast path (every rule but uax29) scans a copy of each buffer, A-Z
 * folded in one vector pass when folding, and counts a word of up to 15
 * bytes from its bytes there, hashed in registers: any such word under
 * alnum and space, whose key is its bytes, and a pure-ASCII one under
 * unicode and hadoop, with the filters' tests made in the scan. Longer and
 * other words take the path above. Pending memory is the longest word
 * (unicode) or the longest run without ASCII white space (uax29).
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_WORDS_H
#define MPIWC_WORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpiwc/boundary.h"
#include "mpiwc/table.h"
#include "mpiwc/tokenize.h"
#include "mpiwc/unicode.h"

/* A kept key in an n-gram window (words.c). */
struct mpiwc_ngram_key {
    uint8_t *p; /* owned */
    size_t len, cap;
    bool starts;  /* counted as the stream's own: n-grams may start here */
    uint64_t tag; /* stitching: the piece of standard input it came from */
};

/*
 * The n-grams (--ngram=M:N) of one stream: the last N kept keys, a ring.
 * Each new key ends one n-gram of each length M..N that the window holds,
 * counted when its first key is the stream's own. After read-ahead starts
 * (a range's end), new keys only end n-grams: wanted counts the keys that
 * the stream's last n-grams still need.
 */
struct mpiwc_ngram {
    unsigned min, max; /* 1 and 1: single words, no window */
    struct mpiwc_ngram_key key[MPIWC_NGRAM_MAX];
    unsigned first, have; /* the ring's oldest key, and its number of keys */
    bool ahead;           /* reading ahead */
    unsigned wanted;      /* keys the stream's last n-grams still need */
    bool spanning;        /* stitching: count only n-grams whose first and last tags differ */
    struct mpiwc_ngram_key head[MPIWC_NGRAM_MAX]; /* the stream's first max - 1 keys */
    uint64_t keys;                                /* kept keys in the stream so far */
    uint8_t *joined;                              /* owned: an n-gram's keys joined by spaces */
    size_t joined_cap;
};

struct mpiwc_counter;

struct mpiwc_words {
    struct mpiwc_word_rules rules; /* the stop-word bytes not kept */
    uint8_t is_word[256];          /* the run predicate */
    mpiwc_classify_fn classify;
    bool fast;                             /* not uax29: short ASCII words in registers */
    bool filtering;                        /* --min-length, --ignore-numbers or --stopwords */
    bool folds;                            /* keys A-Z folded: folding, not hadoop */
    bool bytes_key;                        /* space, alnum: a key is its word's bytes */
    struct mpiwc_table *table;             /* borrowed */
    struct mpiwc_table stop;               /* owned: stop-word keys (count 1) */
    struct mpiwc_boundary_pending pending; /* owned: the unfinished run */
    size_t flush_at;              /* scan the pending run for finished words from this length on */
    bool in_run;                  /* the last byte fed was a run byte */
    struct mpiwc_unicode_buf tmp; /* owned scratch for keys */
    /* A-Z to a-z; true when every byte is ASCII */
    bool (*fold)(uint8_t *restrict, const uint8_t *restrict, size_t);
    uint8_t *folded; /* owned: the fast path's scan copy, A-Z folded when folding */
    size_t folded_cap;
    const uint8_t *scan, *fed; /* during a feed: the bytes scanned, and the bytes fed */
    struct mpiwc_unicode_keyer keyer;
    struct mpiwc_unicode_segmenter seg; /* uax29 only */
    struct mpiwc_ngram ngram;
    struct mpiwc_ngram stitch;   /* standard input's pieces joined (mpiwc_words_stitch) */
    struct mpiwc_counter *count; /* owned, with n-grams: their table, queued behind prefetches */
    uint64_t words;              /* the stream's own words counted (kept by the filters) */
    uint64_t invalid;            /* ill-formed UTF-8 bytes seen in runs */
};

/* Local. The table is borrowed; the stop-word list is parsed into w->stop. */
void mpiwc_words_init(struct mpiwc_words *w, const struct mpiwc_word_rules *rules,
                      struct mpiwc_table *table);
void mpiwc_words_free(struct mpiwc_words *w);

/* Local. The same contract as mpiwc_tokenizer_feed/_in_word/_end/_read_ahead/_wants_more. */
void mpiwc_words_feed(struct mpiwc_words *w, const uint8_t *buf, size_t len);
bool mpiwc_words_in_word(const struct mpiwc_words *w);
void mpiwc_words_end(struct mpiwc_words *w);
bool mpiwc_words_read_ahead(struct mpiwc_words *w);
bool mpiwc_words_wants_more(const struct mpiwc_words *w);
size_t mpiwc_words_end_edges(struct mpiwc_words *w, uint8_t **edges, size_t *cap);
void mpiwc_words_stitch(struct mpiwc_words *w, const uint8_t *edges, size_t len, uint64_t piece);

/*
 * Local. Apply the rule and filters to one complete run p[0..n) and count
 * its words (what feed does for each run; exposed for tests).
 */
void mpiwc_words_run(struct mpiwc_words *w, const uint8_t *p, size_t n);

#endif

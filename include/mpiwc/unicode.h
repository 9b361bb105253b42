/*
 * unicode: the Unicode knowledge behind the text word rules (--split=unicode,
 * --split=uax29, --compat=hadoop): UTF-8 decoding, general categories, case
 * folding, normalization and UAX #29 word segmentation. ICU is used here and
 * nowhere else, so the rest of mpiwc sees UTF-8 bytes only.
 *
 *     struct mpiwc_unicode_keyer k;
 *     mpiwc_unicode_keyer_init(&k, true, MPIWC_NORMALIZE_NFC);
 *     size_t n;
 *     const uint8_t *key = mpiwc_unicode_key(&k, (const uint8_t *)"STRASSE", 7, &n); // "strasse"
 *     mpiwc_unicode_keyer_free(&k);
 *
 * Decoding follows Unicode's well-formed UTF-8 (Table 3-7): overlong forms,
 * surrogates (U+D800..U+DFFF) and values above U+10FFFF are ill-formed; an
 * ill-formed sequence is reported as its "maximal subpart" (the longest
 * prefix of a well-formed sequence, at least one byte), the practice of
 * Unicode chapter 3, W3C, Python and Java. Whether a byte belongs to a
 * character therefore depends only on the three bytes before it, never on
 * where decoding started: a reader may resume at any ASCII byte.
 *
 * What it does not do: decide where words are in a stream (words.h), count,
 * or touch MPI.
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_UNICODE_H
#define MPIWC_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpiwc/tokenize.h"

/*
 * Local. Decode the character at p[0..n), n >= 1. Returns its length (1..4)
 * with *cp the code point; for ill-formed input, the length of the maximal
 * subpart (1..3, or fewer than a full sequence when n ends early) with *cp = -1.
 * The one UTF-8 validator: messages (mpiwc_escape) and JSON strings use it too.
 */
size_t mpiwc_unicode_next(const uint8_t *p, size_t n, int32_t *cp);

/* Local. Is cp a word character: general category L (letter), M (mark) or N (number)? */
bool mpiwc_unicode_is_word(int32_t cp);

/* Local. Is cp a decimal digit (general category Nd)? */
bool mpiwc_unicode_is_digit(int32_t cp);

/* Local. Characters in p[0..n): each ill-formed byte counts as one. */
size_t mpiwc_unicode_length(const uint8_t *p, size_t n);

/* The UTF-8 byte order mark (U+FEFF), and its length. */
#define MPIWC_UNICODE_BOM "\xef\xbb\xbf"
#define MPIWC_UNICODE_BOM_LEN 3

/*
 * Local. MPIWC_UNICODE_BOM_LEN when p[0..n) starts with the UTF-8 byte order
 * mark, else 0: the bytes to drop at the start of a stop-word list, and of
 * each input under --compat=hadoop (Hadoop's LineRecordReader drops them).
 */
size_t mpiwc_unicode_bom(const uint8_t *p, size_t n);

/* Local. Is p[0..n) (n > 0) well-formed and made only of decimal digits? */
bool mpiwc_unicode_is_number(const uint8_t *p, size_t n);

/* A growable byte buffer, owned by whoever holds it (free .p). */
struct mpiwc_unicode_buf {
    uint8_t *p;
    size_t len, cap;
};

/*
 * Local. Append p[0..n) to out with each maximal ill-formed subpart replaced
 * by U+FFFD (EF BF BD), as Java's (and so Hadoop's Text.toString()) decoder
 * does. Returns the number of ill-formed bytes.
 */
size_t mpiwc_unicode_replace_invalid(const uint8_t *p, size_t n, struct mpiwc_unicode_buf *out);

/*
 * Turns a word into its table key: key = N(fold(N(word))), where N is the
 * normalization form (skipped for none) and fold is Unicode full case folding
 * (CaseFolding.txt, statuses C and F; only when fold is set). Normalizing
 * again after folding keeps the key normalized (folding can decompose).
 */
struct mpiwc_unicode_keyer {
    bool fold;
    enum mpiwc_normalize normalize;
    const void *norm; /* ICU UNormalizer2, not owned (ICU's singleton); NULL for none */
    uint16_t *a, *b;  /* owned UTF-16 scratch */
    size_t cap;       /* UTF-16 units of a and b */
    uint8_t *out;     /* owned: the last key */
    size_t out_cap;
};

/* Local. */
void mpiwc_unicode_keyer_init(struct mpiwc_unicode_keyer *k, bool fold,
                              enum mpiwc_normalize normalize);
void mpiwc_unicode_keyer_free(struct mpiwc_unicode_keyer *k);

/*
 * Local. The key of w[0..n). Ill-formed bytes of w become U+FFFD. Returns a
 * borrowed pointer valid until the next call; *len is its length (> 0 when n > 0).
 */
const uint8_t *mpiwc_unicode_key(struct mpiwc_unicode_keyer *k, const uint8_t *w, size_t n,
                                 size_t *len);

/*
 * UAX #29 word segmentation with ICU's word break iterator (root locale),
 * which segments Chinese, Japanese, Thai, Lao, Khmer and Burmese with its
 * dictionaries. Only "word" segments (rule status number, letter, kana or
 * ideograph) are reported; spaces, punctuation and symbols (emoji) are not.
 */
struct mpiwc_unicode_segmenter {
    void *bi;      /* owned ICU UBreakIterator */
    uint16_t *u16; /* owned UTF-16 of the text */
    uint32_t *off; /* owned: byte offset of each UTF-16 unit, plus one past the end */
    size_t cap;
};

/* Local. */
void mpiwc_unicode_segmenter_init(struct mpiwc_unicode_segmenter *s);
void mpiwc_unicode_segmenter_free(struct mpiwc_unicode_segmenter *s);

/*
 * Local. Segment text[0..n) (ill-formed bytes are U+FFFD to the segmenter, so
 * never inside a word) and call word(ctx, start, len) for each word segment,
 * in order, with byte offsets into text. Returns the number of ill-formed bytes.
 */
size_t mpiwc_unicode_segment(struct mpiwc_unicode_segmenter *s, const uint8_t *text, size_t n,
                             void (*word)(void *ctx, const uint8_t *w, size_t len), void *ctx);

#endif

/*
 * boundary: where words may end, one home for the tokenizer and the
 * cutters. It owns the split rules' byte predicate (which bytes are word
 * bytes under each --split), the ASCII white space set, the bytes that
 * separate words under every rule, and the pending word: the unfinished
 * word (or run) a chunk ends in, carried to the next chunk. Its private header,
 * src/boundary_internal.h, holds the SIMD classifiers and case folders and
 * the run scan of the tokenizer's fast path.
 *
 * It does not say what a word's key is, nor count anything: the
 * tokenizer's engine (words.h) does that, and the reader
 * (reader.h) and the standard-input cutter (stream.h) only ask it where a
 * word ends.
 *
 *     size_t i = mpiwc_boundary_pending_extend(&pw, is_word, buf, len);
 *     if (i < len) {                       // the pending word ended at buf[i]
 *         size_t n;
 *         const uint8_t *word = mpiwc_boundary_pending_take(&pw, &n);
 *         ... count word[0..n), then scan buf[i..len) ...
 *     }
 *     mpiwc_boundary_pending_free(&pw);
 *
 * Layer: local, no MPI; the bottom of the tokenizer.
 */
#ifndef MPIWC_BOUNDARY_H
#define MPIWC_BOUNDARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * UNICODE, UAX29 and HADOOP are the text rules of words.h (decoded UTF-8);
 * HADOOP is set by --compat=hadoop, not by --split.
 */
enum mpiwc_split {
    MPIWC_SPLIT_ALNUM,
    MPIWC_SPLIT_SPACE,
    MPIWC_SPLIT_UNICODE,
    MPIWC_SPLIT_UAX29,
    MPIWC_SPLIT_HADOOP
};

/* Classifies 64 bytes: bit i is set when p[i] is a word byte. */
typedef uint64_t (*mpiwc_classify_fn)(const uint8_t *p, const uint8_t *is_word);

/*
 * Local. The value of MPIWC_SIMD when it is set but is none of scalar, avx2,
 * avx512 (borrowed from the environment); NULL when unset or valid. A value
 * that is not valid caps nothing: the best level the processor has is used.
 */
const char *mpiwc_boundary_bad_simd(void);

/* Local. Is b ASCII white space: ' ' \t \n \v \f \r? */
static inline bool mpiwc_boundary_is_space(uint8_t b)
{
    return b == ' ' || (b >= '\t' && b <= '\r');
}

/*
 * Local. Does b separate words under every split rule? ASCII white space
 * but \v, which Hadoop's StringTokenizer keeps inside a word: the cut points
 * of a stream whose rule the cutter need not know.
 */
static inline bool mpiwc_boundary_breaks_always(uint8_t b)
{
    return mpiwc_boundary_is_space(b) && b != '\v';
}

/*
 * Local. Is byte b part of a word under the split rule? For the text rules,
 * where runs (and so ranges and buffers) may end:
 *   alnum, unicode  ASCII letters and digits, and bytes >= 0x80;
 *   space, uax29    every byte but ASCII white space (NUL included);
 *   hadoop          every byte but ' ' \t \n \r \f (StringTokenizer's).
 */
bool mpiwc_boundary_is_word(enum mpiwc_split split, uint8_t b);

/* Local. How many of buf[0..len) are word bytes before the first non-word byte. */
static inline size_t mpiwc_boundary_word_prefix(const uint8_t *is_word, const uint8_t *buf,
                                                size_t len)
{
    size_t i = 0;
    while (i < len && is_word[buf[i]])
        i++;
    return i;
}

/*
 * The unfinished word at the end of the bytes fed so far: p[0..len), owned
 * (free with mpiwc_boundary_pending_free). Zeroed is empty. Memory grows by
 * doubling to the longest word kept.
 */
struct mpiwc_boundary_pending {
    uint8_t *p;
    size_t len, cap;
};

/* Local. Appends p[0..n) to the pending word. */
void mpiwc_boundary_pending_append(struct mpiwc_boundary_pending *pw, const uint8_t *p, size_t n);

/*
 * Local. Appends the word bytes that start buf[0..len) to the pending word
 * and returns how many there were: len when the word goes on past buf, else
 * the index of the byte that ends it.
 */
size_t mpiwc_boundary_pending_extend(struct mpiwc_boundary_pending *pw, const uint8_t *is_word,
                                     const uint8_t *buf, size_t len);

/*
 * Local. The pending word, which is then empty: *len bytes, borrowed until
 * the next append or extend.
 */
const uint8_t *mpiwc_boundary_pending_take(struct mpiwc_boundary_pending *pw, size_t *len);

/* Local. Frees the pending word's memory; it is empty and zeroed after. */
void mpiwc_boundary_pending_free(struct mpiwc_boundary_pending *pw);

#endif

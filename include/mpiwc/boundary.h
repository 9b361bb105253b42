/*
 * boundary: where words may end, one home for both tokenizers and the
 * cutters. It owns the split rules' byte predicate (which bytes are word
 * bytes under each --split), the ASCII white space set and the bytes that
 * separate words under every rule. Its private header,
 * src/boundary_internal.h, holds the SIMD classifiers and case folders and
 * the run scan both tokenizers share.
 *
 * It does not say what a word's key is, nor count anything: the byte
 * engine (tokenize.h) and the text engine (words.h) do that, and the reader
 * (reader.h) and the standard-input cutter (stream.h) only ask it where a
 * word ends.
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

#endif

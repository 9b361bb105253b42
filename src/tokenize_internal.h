/*
 * The word-boundary classifiers behind the tokenizer, one per SIMD level and
 * split rule, exposed so that tests can check every level the CPU offers
 * against the scalar one.
 */
#ifndef MPIWC_TOKENIZE_INTERNAL_H
#define MPIWC_TOKENIZE_INTERNAL_H

#include "mpiwc/tokenize.h"

enum mpiwc_simd { MPIWC_SIMD_SCALAR, MPIWC_SIMD_AVX2, MPIWC_SIMD_AVX512 };

/* Local. Highest level this CPU supports, capped by MPIWC_SIMD in the environment. */
enum mpiwc_simd mpiwc_simd_level(void);

/* Local. Is this level usable on this CPU? */
bool mpiwc_simd_supported(enum mpiwc_simd level);

/* Local. The classifier of a level (which must be supported) for a split rule. */
mpiwc_classify_fn mpiwc_classifier(enum mpiwc_simd level, enum mpiwc_split split);

#endif

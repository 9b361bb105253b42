#include "mpiwc/boundary.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "boundary_internal.h"
#include "mpiwc/util.h"

bool mpiwc_boundary_is_word(enum mpiwc_split split, uint8_t b)
{
    switch (split) {
    case MPIWC_SPLIT_HADOOP: /* java.util.StringTokenizer's default delimiters */
        return !mpiwc_boundary_breaks_always(b);
    case MPIWC_SPLIT_SPACE:
    case MPIWC_SPLIT_UAX29: /* runs end at ASCII white space (words.h) */
        return !mpiwc_boundary_is_space(b);
    case MPIWC_SPLIT_UNICODE: /* no unicode word holds an ASCII byte other than A-Z a-z 0-9 */
    case MPIWC_SPLIT_ALNUM:
    default:
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
               b >= 0x80;
    }
}

/* ---- the pending word ---- */

void mpiwc_boundary_pending_append(struct mpiwc_boundary_pending *pw, const uint8_t *p, size_t n)
{
    if (n == 0)
        return; /* an empty pending word may have no buffer yet: memcpy takes no NULL */
    pw->p = mpiwc_grow(pw->p, &pw->cap, mpiwc_add_size(pw->len, n), 1);
    memcpy(pw->p + pw->len, p, n);
    pw->len += n;
}

size_t mpiwc_boundary_pending_extend(struct mpiwc_boundary_pending *pw, const uint8_t *is_word,
                                     const uint8_t *buf, size_t len)
{
    size_t i = mpiwc_boundary_word_prefix(is_word, buf, len);
    mpiwc_boundary_pending_append(pw, buf, i);
    return i;
}

const uint8_t *mpiwc_boundary_pending_take(struct mpiwc_boundary_pending *pw, size_t *len)
{
    *len = pw->len;
    pw->len = 0;
    return pw->p;
}

void mpiwc_boundary_pending_free(struct mpiwc_boundary_pending *pw)
{
    free(pw->p);
    memset(pw, 0, sizeof *pw);
}

/* ---- word-byte masks for 64 bytes at a time: scalar, AVX2 and AVX-512BW versions ---- */

static uint64_t classify_scalar(const uint8_t *p, const uint8_t *is_word)
{
    uint64_t m = 0;
    for (int i = 0; i < 64; i++)
        m |= (uint64_t)is_word[p[i]] << i;
    return m;
}

/* Bytes of v in [lo, lo + n), as a byte mask: shift the range to the bottom of signed bytes. */
__attribute__((target("avx2"))) static inline __m256i in_range256(__m256i v, int lo, int n)
{
    __m256i y = _mm256_add_epi8(v, _mm256_set1_epi8((char)(0x80 - lo)));
    return _mm256_cmpgt_epi8(_mm256_set1_epi8((char)(-128 + n)), y);
}

__attribute__((target("avx2"))) static inline uint32_t alnum32(const uint8_t *p)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i high = _mm256_cmpgt_epi8(_mm256_setzero_si256(), v); /* >= 0x80 */
    __m256i alpha = in_range256(_mm256_or_si256(v, _mm256_set1_epi8(0x20)), 'a', 26);
    __m256i digit = in_range256(v, '0', 10);
    return (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(high, _mm256_or_si256(alpha, digit)));
}

__attribute__((target("avx2"))) static inline uint32_t space32(const uint8_t *p)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i sp = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(' '));
    __m256i ctl = in_range256(v, '\t', 5); /* \t \n \v \f \r */
    return ~(uint32_t)_mm256_movemask_epi8(_mm256_or_si256(sp, ctl));
}

__attribute__((target("avx2"))) static uint64_t classify_alnum_avx2(const uint8_t *p,
                                                                    const uint8_t *is_word)
{
    (void)is_word;
    return alnum32(p) | (uint64_t)alnum32(p + 32) << 32;
}

__attribute__((target("avx2"))) static uint64_t classify_space_avx2(const uint8_t *p,
                                                                    const uint8_t *is_word)
{
    (void)is_word;
    return space32(p) | (uint64_t)space32(p + 32) << 32;
}

__attribute__((target("avx512bw"))) static uint64_t classify_alnum_avx512(const uint8_t *p,
                                                                          const uint8_t *is_word)
{
    (void)is_word;
    __m512i v = _mm512_loadu_si512((const void *)p);
    __mmask64 high = _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8((char)0x80));
    __m512i lower = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
    __mmask64 alpha =
        _mm512_cmplt_epu8_mask(_mm512_sub_epi8(lower, _mm512_set1_epi8('a')), _mm512_set1_epi8(26));
    __mmask64 digit =
        _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('0')), _mm512_set1_epi8(10));
    return high | alpha | digit;
}

__attribute__((target("avx512bw"))) static uint64_t classify_space_avx512(const uint8_t *p,
                                                                          const uint8_t *is_word)
{
    (void)is_word;
    __m512i v = _mm512_loadu_si512((const void *)p);
    __mmask64 sp = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' '));
    __mmask64 ctl =
        _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('\t')), _mm512_set1_epi8(5));
    return ~(uint64_t)(sp | ctl);
}

/* ---- A-Z to a-z over a buffer ---- */

static bool fold_scalar(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
    unsigned any = 0;
    for (size_t i = 0; i < n; i++) {
        dst[i] = (uint8_t)((unsigned)(src[i] - 'A') < 26u ? src[i] | 0x20 : src[i]);
        any |= src[i];
    }
    return any < 0x80;
}

__attribute__((target("avx2"))) static bool fold_avx2(uint8_t *restrict dst,
                                                      const uint8_t *restrict src, size_t n)
{
    size_t i = 0;
    __m256i any = _mm256_setzero_si256();
    for (; i + 32 <= n; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(src + i));
        any = _mm256_or_si256(any, v);
        __m256i upper = in_range256(v, 'A', 26);
        v = _mm256_or_si256(v, _mm256_and_si256(upper, _mm256_set1_epi8(0x20)));
        _mm256_storeu_si256((__m256i *)(void *)(dst + i), v);
    }
    bool tail = fold_scalar(dst + i, src + i, n - i);
    return tail && _mm256_movemask_epi8(any) == 0;
}

__attribute__((target("avx512bw"))) static bool fold_avx512(uint8_t *restrict dst,
                                                            const uint8_t *restrict src, size_t n)
{
    size_t i = 0;
    __m512i any = _mm512_setzero_si512();
    for (; i + 64 <= n; i += 64) {
        __m512i v = _mm512_loadu_si512((const void *)(src + i));
        any = _mm512_or_si512(any, v);
        __mmask64 upper =
            _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('A')), _mm512_set1_epi8(26));
        v = _mm512_mask_blend_epi8(upper, v, _mm512_or_si512(v, _mm512_set1_epi8(0x20)));
        _mm512_storeu_si512((void *)(dst + i), v);
    }
    bool tail = fold_scalar(dst + i, src + i, n - i);
    return tail && _mm512_movepi8_mask(any) == 0;
}

mpiwc_fold_fn mpiwc_boundary_folder(enum mpiwc_simd level)
{
    switch (level) {
    case MPIWC_SIMD_AVX512:
        return fold_avx512;
    case MPIWC_SIMD_AVX2:
        return fold_avx2;
    case MPIWC_SIMD_SCALAR:
    default:
        return fold_scalar;
    }
}

bool mpiwc_boundary_simd_supported(enum mpiwc_simd level)
{
    __builtin_cpu_init();
    switch (level) {
    case MPIWC_SIMD_AVX512:
        return __builtin_cpu_supports("avx512bw");
    case MPIWC_SIMD_AVX2:
        return __builtin_cpu_supports("avx2");
    case MPIWC_SIMD_SCALAR:
    default:
        return true;
    }
}

/* MPIWC_SIMD as a cap: false (and no cap, AVX-512) when it is set to anything else. */
static bool simd_cap(enum mpiwc_simd *cap)
{
    static const char *const names[] = {"scalar", "avx2", "avx512"};
    const char *env = getenv("MPIWC_SIMD");
    *cap = MPIWC_SIMD_AVX512;
    if (!env)
        return true;
    for (int i = 0; i < 3; i++)
        if (strcmp(env, names[i]) == 0) {
            *cap = (enum mpiwc_simd)i;
            return true;
        }
    return false;
}

const char *mpiwc_boundary_bad_simd(void)
{
    enum mpiwc_simd cap;
    return simd_cap(&cap) ? NULL : getenv("MPIWC_SIMD");
}

enum mpiwc_simd mpiwc_boundary_simd_level(void)
{
    enum mpiwc_simd cap;
    simd_cap(&cap);
    for (int level = cap; level > MPIWC_SIMD_SCALAR; level--)
        if (mpiwc_boundary_simd_supported((enum mpiwc_simd)level))
            return (enum mpiwc_simd)level;
    return MPIWC_SIMD_SCALAR;
}

mpiwc_classify_fn mpiwc_boundary_classifier(enum mpiwc_simd level, enum mpiwc_split split)
{
    if (split == MPIWC_SPLIT_HADOOP) /* \v is a word byte: only the table-driven one knows */
        return classify_scalar;
    bool space = split == MPIWC_SPLIT_SPACE || split == MPIWC_SPLIT_UAX29;
    switch (level) {
    case MPIWC_SIMD_AVX512:
        return space ? classify_space_avx512 : classify_alnum_avx512;
    case MPIWC_SIMD_AVX2:
        return space ? classify_space_avx2 : classify_alnum_avx2;
    case MPIWC_SIMD_SCALAR:
    default:
        return classify_scalar;
    }
}

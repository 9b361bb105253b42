/*
 * Unit tests for boundary.h: the split rules' byte predicate for every byte
 * value and rule, the white space sets, every classifier and case folder
 * the CPU offers against the rules (run once per MPIWC_SIMD level), the
 * MPIWC_SIMD cap, and the pending word carried across chunks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mpiwc/boundary.h"
#include "src/boundary_internal.h"

static const enum mpiwc_split splits[] = {MPIWC_SPLIT_ALNUM, MPIWC_SPLIT_SPACE, MPIWC_SPLIT_UNICODE,
                                          MPIWC_SPLIT_UAX29, MPIWC_SPLIT_HADOOP};
#define NSPLITS (sizeof splits / sizeof splits[0])

/* ---- the rules, written out independently of the implementation ---- */

static bool spec_white(unsigned b)
{
    return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r';
}

static bool spec_is_word(enum mpiwc_split split, unsigned b)
{
    switch (split) {
    case MPIWC_SPLIT_ALNUM:
    case MPIWC_SPLIT_UNICODE:
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
               b >= 0x80;
    case MPIWC_SPLIT_SPACE:
    case MPIWC_SPLIT_UAX29:
        return !spec_white(b);
    case MPIWC_SPLIT_HADOOP: /* java.util.StringTokenizer: " \t\n\r\f" */
    default:
        return !(b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f');
    }
}

static uint8_t spec_fold(unsigned b)
{
    return (uint8_t)(b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b);
}

static void test_is_word_every_byte_every_rule(void **state)
{
    (void)state;
    for (size_t k = 0; k < NSPLITS; k++)
        for (unsigned b = 0; b < 256; b++)
            assert_int_equal(mpiwc_boundary_is_word(splits[k], (uint8_t)b),
                             spec_is_word(splits[k], b));
}

static void test_is_word_spelled_out(void **state)
{
    (void)state;
    /* A few spelled out, in case the rules above were wrong too. */
    assert_false(mpiwc_boundary_is_word(MPIWC_SPLIT_ALNUM, 0));
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_SPACE, 0));
    assert_false(mpiwc_boundary_is_word(MPIWC_SPLIT_ALNUM, '_'));
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_SPACE, '_'));
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_ALNUM, 0x80));
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_ALNUM, 0xff));
    assert_false(mpiwc_boundary_is_word(MPIWC_SPLIT_SPACE, '\v'));
    assert_false(mpiwc_boundary_is_word(MPIWC_SPLIT_SPACE, '\r'));
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_SPACE, 0xa0)); /* NBSP byte is not space */
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_SPACE, 0x85));
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_SPACE, 0x1c));
    /* The text rules' run predicate (the reader's). */
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_HADOOP, '\v'));
    assert_false(mpiwc_boundary_is_word(MPIWC_SPLIT_HADOOP, '\f'));
    assert_false(mpiwc_boundary_is_word(MPIWC_SPLIT_UAX29, '\v'));
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_UAX29, ','));
    assert_false(mpiwc_boundary_is_word(MPIWC_SPLIT_UNICODE, ','));
    assert_true(mpiwc_boundary_is_word(MPIWC_SPLIT_UNICODE, 0xe4));
}

static void test_is_space_every_byte(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++)
        assert_int_equal(mpiwc_boundary_is_space((uint8_t)b), spec_white(b));
    assert_false(mpiwc_boundary_is_space(0x85)); /* NEL and NBSP bytes are not ASCII */
    assert_false(mpiwc_boundary_is_space(0xa0));
    assert_false(mpiwc_boundary_is_space(0x1c));
}

/* The stream cutter's cut points: exactly the bytes no rule keeps in a word. */
static void test_breaks_always_is_no_rules_word_byte(void **state)
{
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        bool none = true;
        for (size_t k = 0; k < NSPLITS; k++)
            none = none && !mpiwc_boundary_is_word(splits[k], (uint8_t)b);
        assert_int_equal(mpiwc_boundary_breaks_always((uint8_t)b), none);
    }
    assert_false(mpiwc_boundary_breaks_always('\v'));
    assert_true(mpiwc_boundary_breaks_always('\f'));
}

/* Each classifier of this CPU (capped by MPIWC_SIMD) against the predicate, every byte in every
 * lane. */
static void test_classifiers_agree_with_is_word(void **state)
{
    (void)state;
    static const enum mpiwc_simd levels[] = {MPIWC_SIMD_SCALAR, MPIWC_SIMD_AVX2, MPIWC_SIMD_AVX512};
    enum mpiwc_simd top = mpiwc_boundary_simd_level();
    for (size_t l = 0; l < 3 && levels[l] <= top; l++) {
        assert_true(mpiwc_boundary_simd_supported(levels[l]));
        for (size_t k = 0; k < NSPLITS; k++) {
            uint8_t is_word[256];
            for (unsigned b = 0; b < 256; b++)
                is_word[b] = mpiwc_boundary_is_word(splits[k], (uint8_t)b);
            mpiwc_classify_fn classify = mpiwc_boundary_classifier(levels[l], splits[k]);
            uint8_t block[64];
            for (unsigned b = 0; b < 256; b++)
                for (int lane = 0; lane < 64; lane++) {
                    memset(block, 'x', sizeof block);
                    block[(lane + 17) % 64] = ' ';
                    block[lane] = (uint8_t)b;
                    uint64_t want = 0;
                    for (int i = 0; i < 64; i++)
                        want |= (uint64_t)is_word[block[i]] << i;
                    assert_true(classify(block, is_word) == want);
                }
        }
    }
}

/* MPIWC_SIMD: the three names cap the level; anything else is reported and caps nothing. */
static void test_simd_env(void **state)
{
    (void)state;
    /* meson runs this file again with MPIWC_SIMD set: put it back for the later tests. */
    const char *given = getenv("MPIWC_SIMD");
    char *saved = given ? strdup(given) : NULL;
    unsetenv("MPIWC_SIMD");
    assert_null(mpiwc_boundary_bad_simd());
    enum mpiwc_simd best = mpiwc_boundary_simd_level();
    setenv("MPIWC_SIMD", "scalar", 1);
    assert_null(mpiwc_boundary_bad_simd());
    assert_int_equal(mpiwc_boundary_simd_level(), MPIWC_SIMD_SCALAR);
    setenv("MPIWC_SIMD", "avx512", 1);
    assert_null(mpiwc_boundary_bad_simd());
    assert_int_equal(mpiwc_boundary_simd_level(), best);
    setenv("MPIWC_SIMD", "AVX2", 1); /* names are lower case */
    assert_string_equal(mpiwc_boundary_bad_simd(), "AVX2");
    assert_int_equal(mpiwc_boundary_simd_level(), best);
    setenv("MPIWC_SIMD", "", 1);
    assert_string_equal(mpiwc_boundary_bad_simd(), "");
    if (saved)
        setenv("MPIWC_SIMD", saved, 1);
    else
        unsetenv("MPIWC_SIMD");
    free(saved);
}

/*
 * Every SIMD level this CPU offers against the rules written out above:
 * the folder's bytes and its all-ASCII answer (one high byte at any lane or
 * in the scalar tail makes it false), and the classifiers' masks.
 */
static void test_simd_levels_agree(void **state)
{
    (void)state;
    enum { N = 1024 };
    uint8_t src[N + 64], dst[N + 64], want[N];
    uint32_t x = 12345;
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        src[i] = (uint8_t)(i < 256 ? i : (x >> 16) % 0x80); /* every byte, then ASCII */
    }
    static const enum mpiwc_simd levels[] = {MPIWC_SIMD_SCALAR, MPIWC_SIMD_AVX2, MPIWC_SIMD_AVX512};
    for (size_t l = 0; l < 3; l++) {
        if (!mpiwc_boundary_simd_supported(levels[l]))
            continue;
        mpiwc_fold_fn fold = mpiwc_boundary_folder(levels[l]);
        for (size_t n = 0; n <= 200; n++) {
            /* src[256..256+n) is ASCII; put one high byte at each place in turn. */
            uint8_t *p = src + 256;
            for (size_t i = 0; i < n; i++)
                want[i] = spec_fold(p[i]);
            assert_true(fold(dst, p, n));
            assert_memory_equal(dst, want, n);
            for (size_t at = 0; at < n; at++) {
                uint8_t keep = p[at];
                p[at] = (uint8_t)(0x80 | keep);
                assert_false(fold(dst, p, n));
                p[at] = keep;
            }
        }
        for (size_t i = 0; i < N; i++)
            want[i] = spec_fold(src[i]);
        assert_false(fold(dst, src, N));
        assert_memory_equal(dst, want, N);
        for (size_t k = 0; k < NSPLITS; k++) {
            uint8_t is_word[256];
            for (unsigned b = 0; b < 256; b++)
                is_word[b] = spec_is_word(splits[k], b);
            mpiwc_classify_fn classify = mpiwc_boundary_classifier(levels[l], splits[k]);
            for (size_t off = 0; off + 64 <= N; off += 16) {
                uint64_t m = 0;
                for (size_t i = 0; i < 64; i++)
                    m |= (uint64_t)is_word[src[off + i]] << i;
                assert_int_equal(classify(src + off, is_word), m);
            }
        }
    }
}

static void test_word_prefix(void **state)
{
    (void)state;
    uint8_t is_word[256];
    for (unsigned b = 0; b < 256; b++)
        is_word[b] = mpiwc_boundary_is_word(MPIWC_SPLIT_ALNUM, (uint8_t)b);
    const uint8_t *s = (const uint8_t *)"abc1\xc3\xa9, next";
    assert_int_equal(mpiwc_boundary_word_prefix(is_word, s, strlen((const char *)s)), 6);
    assert_int_equal(mpiwc_boundary_word_prefix(is_word, s, 3), 3);
    assert_int_equal(mpiwc_boundary_word_prefix(is_word, s, 0), 0);
    assert_int_equal(mpiwc_boundary_word_prefix(is_word, (const uint8_t *)" a", 2), 0);
}

/* A word fed in pieces of every size comes back whole; the buffer is empty after a take. */
static void test_pending_extend_take(void **state)
{
    (void)state;
    uint8_t is_word[256];
    for (unsigned b = 0; b < 256; b++)
        is_word[b] = mpiwc_boundary_is_word(MPIWC_SPLIT_SPACE, (uint8_t)b);
    enum { WORD = 100000 };
    uint8_t *text = malloc(WORD + 2);
    assert_non_null(text);
    for (size_t i = 0; i < WORD; i++)
        text[i] = (uint8_t)('a' + i % 26);
    text[WORD] = '\n';
    text[WORD + 1] = 'z';
    size_t pieces[] = {1, 7, 64, 4096, WORD + 2};
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
        struct mpiwc_boundary_pending pw = {0};
        size_t at = 0, ended = 0;
        bool done = false;
        while (!done && at < WORD + 2) {
            size_t n = WORD + 2 - at < pieces[k] ? WORD + 2 - at : pieces[k];
            size_t i = mpiwc_boundary_pending_extend(&pw, is_word, text + at, n);
            assert_true(i <= n);
            done = i < n;
            ended = at + i;
            at += n;
        }
        assert_true(done);
        assert_int_equal(ended, WORD); /* the newline ends it */
        assert_int_equal(pw.len, WORD);
        assert_true(pw.cap >= WORD);
        size_t len = 1;
        const uint8_t *word = mpiwc_boundary_pending_take(&pw, &len);
        assert_int_equal(len, WORD);
        assert_memory_equal(word, text, WORD);
        assert_int_equal(pw.len, 0);
        word = mpiwc_boundary_pending_take(&pw, &len);
        assert_int_equal(len, 0);
        mpiwc_boundary_pending_append(&pw, (const uint8_t *)"xy", 2);
        mpiwc_boundary_pending_append(&pw, (const uint8_t *)"z", 1);
        word = mpiwc_boundary_pending_take(&pw, &len);
        assert_int_equal(len, 3);
        assert_memory_equal(word, "xyz", 3);
        mpiwc_boundary_pending_free(&pw);
        assert_null(pw.p);
        assert_int_equal(pw.cap, 0);
    }
    struct mpiwc_boundary_pending pw = {0};
    assert_int_equal(mpiwc_boundary_pending_extend(&pw, is_word, text, 0), 0);
    assert_int_equal(pw.len, 0);
    mpiwc_boundary_pending_free(&pw);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_word_every_byte_every_rule),
        cmocka_unit_test(test_is_word_spelled_out),
        cmocka_unit_test(test_is_space_every_byte),
        cmocka_unit_test(test_breaks_always_is_no_rules_word_byte),
        cmocka_unit_test(test_classifiers_agree_with_is_word),
        cmocka_unit_test(test_simd_levels_agree),
        cmocka_unit_test(test_simd_env),
        cmocka_unit_test(test_word_prefix),
        cmocka_unit_test(test_pending_extend_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

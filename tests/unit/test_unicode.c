/*
 * Unit tests for unicode.h and words.h: UTF-8 decoding (overlongs,
 * surrogates, truncation), classification by general category, case folding
 * and normalization, U+FFFD replacement, UAX #29 segmentation, and the text
 * engine behind the tokenizer (chunking invariance, filters, stop words,
 * the ASCII fast paths against the general ones).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mpiwc/table.h"
#include "mpiwc/tokenize.h"
#include "mpiwc/unicode.h"
#include "mpiwc/words.h"

#define U8(s) ((const uint8_t *)(s))

/* ---- helpers ---- */

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The table as sorted "word count\n" lines (caller frees). */
static char *dump(const struct mpiwc_table *t)
{
    size_t n = 0;
    char **lines = calloc(t->size + 1, sizeof *lines);
    assert_non_null(lines);
    for (size_t i = 0; i < mpiwc_table_slots(t); i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(t, i, &e);
        if (!e.count)
            continue;
        lines[n] = malloc(e.len + 32);
        assert_non_null(lines[n]);
        memcpy(lines[n], e.key, e.len);
        snprintf(lines[n] + e.len, 32, " %llu\n", (unsigned long long)e.count);
        n++;
    }
    qsort(lines, n, sizeof *lines, cmp_line);
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(lines[i]);
    char *out = malloc(total);
    assert_non_null(out);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        strcat(out, lines[i]);
        free(lines[i]);
    }
    free(lines);
    return out;
}

/* Count text under rules, fed in chunks of `chunk` bytes (0: whole); dump. */
static char *count_text(const struct mpiwc_word_rules *rules, const char *text, size_t len,
                        size_t chunk, uint64_t *invalid)
{
    struct mpiwc_table t;
    struct mpiwc_tokenizer tok;
    mpiwc_table_init(&t, 0);
    mpiwc_tokenizer_init_rules(&tok, rules, &t);
    if (!chunk)
        chunk = len ? len : 1;
    for (size_t i = 0; i < len; i += chunk)
        mpiwc_tokenizer_feed(&tok, U8(text) + i, len - i < chunk ? len - i : chunk);
    mpiwc_tokenizer_end(&tok);
    if (invalid)
        *invalid = tok.invalid_utf8;
    mpiwc_tokenizer_free(&tok);
    char *d = dump(&t);
    mpiwc_table_free(&t);
    return d;
}

static char *count_str(const struct mpiwc_word_rules *rules, const char *text)
{
    return count_text(rules, text, strlen(text), 0, NULL);
}

static void expect_counts(const struct mpiwc_word_rules *rules, const char *text, const char *want)
{
    char *got = count_str(rules, text);
    assert_string_equal(got, want);
    free(got);
}

/* ---- decoding ---- */

static void expect_next(const char *bytes, size_t n, size_t len, int32_t cp)
{
    int32_t got;
    size_t k = mpiwc_unicode_next(U8(bytes), n, &got);
    if (k != len || got != cp)
        fail_msg("decoding %zu bytes starting %02x: got len %zu cp %d, want len %zu cp %d", n,
                 (unsigned)(uint8_t)bytes[0], k, (int)got, len, (int)cp);
}

static void test_decode(void **state)
{
    (void)state;
    expect_next("a", 1, 1, 'a');
    expect_next("\xc3\xa9", 2, 2, 0xe9);
    expect_next("\xe4\xb8\xad", 3, 3, 0x4e2d);
    expect_next("\xf0\x9f\x98\x80", 4, 4, 0x1f600);
    expect_next("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);
    expect_next("\xef\xbf\xbd", 3, 3, 0xfffd);
    /* Overlongs: C0 and C1 are never leads; E0 and F0 need a high second byte. */
    expect_next("\xc0\xaf", 2, 1, -1);
    expect_next("\xc1\xbf", 2, 1, -1);
    expect_next("\xe0\x80\xaf", 3, 1, -1);
    expect_next("\xf0\x80\x80\xaf", 4, 1, -1);
    /* Surrogates: ED needs 80..9F; above U+10FFFF: F4 needs 80..8F, F5.. never. */
    expect_next("\xed\xa0\x80", 3, 1, -1);
    expect_next("\xed\xbf\xbf", 3, 1, -1);
    expect_next("\xed\x9f\xbf", 3, 3, 0xd7ff);
    expect_next("\xf4\x90\x80\x80", 4, 1, -1);
    expect_next("\xf5\x80\x80\x80", 4, 1, -1);
    expect_next("\xfe", 1, 1, -1);
    expect_next("\xff", 1, 1, -1);
    /* Stray continuation bytes; truncated and interrupted sequences (maximal subparts). */
    expect_next("\x80", 1, 1, -1);
    expect_next("\xbf\xbf", 2, 1, -1);
    expect_next("\xe2\x82", 2, 2, -1);
    expect_next("\xe2\x82\x41", 3, 2, -1);
    expect_next("\xf0\x9f\x98 ", 4, 3, -1);
    expect_next("\xc3(", 2, 1, -1);
    expect_next("\xc3", 1, 1, -1);

    /* a é 中, then one per ill-formed byte: ff, e2, 82. */
    assert_int_equal(mpiwc_unicode_length(U8("a\xc3\xa9\xe4\xb8\xad\xff\xe2\x82"), 9), 6);
}

static void test_replace_invalid(void **state)
{
    (void)state;
    struct mpiwc_unicode_buf b = {0};
    /* As Java and Python: one U+FFFD per maximal subpart. */
    const char in[] = "a\xff"
                      "b\xe2\x82"
                      "c\xed\xa0\x80"
                      "\xc3\xa9";
    size_t bad = mpiwc_unicode_replace_invalid(U8(in), sizeof in - 1, &b);
    const char want[] = "a\xef\xbf\xbd"
                        "b\xef\xbf\xbd"
                        "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "\xc3\xa9";
    assert_int_equal(bad, 6);
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.p, want, b.len);
    free(b.p);
}

/* ---- classification ---- */

static void test_classify(void **state)
{
    (void)state;
    static const int32_t word[] = {
        'a',
        'Z',
        '0',
        0xe9,
        0xdf,
        0x4e2d,
        0x3042,
        0x30ab,
        0x0e01,
        0x05d0,
        0x0627,
        0x03a9,
        0x0301,
        0x0903,
        0x20dd,
        0x0663,
        0x216b,
        0x00bd,
        0x00b2,
        0xff21,
        0x1d400 /* math bold A */,
        0xfe0f /* variation selector: Mn */,
    };
    static const int32_t sep[] = {
        ' ',    '_',     '\'',    '-',    '.',    0x2019, 0x2014, 0x3000, 0x3001, 0x00a0,
        0x200d, 0x1f600, 0x1f3fd, 0x00ab, 0xfffd, 0xd800, 0x0000, 0x00ad, 0x060c,
    };
    for (size_t i = 0; i < sizeof word / sizeof word[0]; i++)
        if (!mpiwc_unicode_is_word(word[i]))
            fail_msg("U+%04X should be a word character", (unsigned)word[i]);
    for (size_t i = 0; i < sizeof sep / sizeof sep[0]; i++)
        if (mpiwc_unicode_is_word(sep[i]))
            fail_msg("U+%04X should separate", (unsigned)sep[i]);
    assert_true(mpiwc_unicode_is_digit('7'));
    assert_true(mpiwc_unicode_is_digit(0x0663));  /* ARABIC-INDIC DIGIT THREE */
    assert_true(mpiwc_unicode_is_digit(0xff19));  /* FULLWIDTH DIGIT NINE */
    assert_false(mpiwc_unicode_is_digit(0x00bd)); /* ½ is No */
    assert_false(mpiwc_unicode_is_digit(0x216b)); /* Ⅻ is Nl */
    assert_false(mpiwc_unicode_is_digit('a'));
    assert_false(mpiwc_unicode_is_digit(-1));
    assert_true(mpiwc_unicode_is_number(U8("2024"), 4));
    assert_true(mpiwc_unicode_is_number(U8("\xd9\xa1\xd9\xa2"), 4));
    assert_false(mpiwc_unicode_is_number(U8("12a"), 3));
    assert_false(mpiwc_unicode_is_number(U8("1\xff"), 2));
    assert_false(mpiwc_unicode_is_number(U8(""), 0));
}

/* ---- keys: folding and normalization ---- */

static void expect_key(bool fold, enum mpiwc_normalize nf, const char *word, const char *want)
{
    struct mpiwc_unicode_keyer k;
    mpiwc_unicode_keyer_init(&k, fold, nf);
    size_t len;
    const uint8_t *key = mpiwc_unicode_key(&k, U8(word), strlen(word), &len);
    if (len != strlen(want) || memcmp(key, want, len) != 0)
        fail_msg("key of '%s' is '%.*s', want '%s'", word, (int)len, (const char *)key, want);
    mpiwc_unicode_keyer_free(&k);
}

static void test_keys(void **state)
{
    (void)state;
    expect_key(true, MPIWC_NORMALIZE_NFC,
               "Stra\xc3\x9f"
               "e",
               "strasse");
    expect_key(true, MPIWC_NORMALIZE_NFC, "STRASSE", "strasse");
    expect_key(true, MPIWC_NORMALIZE_NFC, "\xe1\xba\x9e", "ss"); /* capital sharp s */
    expect_key(true, MPIWC_NORMALIZE_NFC, "\xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3",
               "\xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x83"); /* ΣΟΦΟΣ -> σοφοσ */
    /* NFC composes; NFKC also maps compatibility forms. */
    expect_key(false, MPIWC_NORMALIZE_NFC, "cafe\xcc\x81", "caf\xc3\xa9");
    expect_key(false, MPIWC_NORMALIZE_NONE, "cafe\xcc\x81", "cafe\xcc\x81");
    expect_key(false, MPIWC_NORMALIZE_NFC, "\xef\xac\x81", "\xef\xac\x81"); /* ﬁ kept */
    expect_key(false, MPIWC_NORMALIZE_NFKC, "\xef\xac\x81", "fi");
    expect_key(true, MPIWC_NORMALIZE_NFKC, "\xef\xbc\xa1\xef\xbc\xa2", "ab"); /* ＡＢ */
    expect_key(true, MPIWC_NORMALIZE_NFC, "\xef\xbc\xa1", "\xef\xbd\x81");    /* Ａ -> ａ */
    /* Folding decomposes ǰ (U+01F0 -> j + U+030C); NFC after folding composes it again. */
    expect_key(true, MPIWC_NORMALIZE_NFC, "\xc7\xb0", "\xc7\xb0");
    expect_key(true, MPIWC_NORMALIZE_NONE, "\xc7\xb0", "j\xcc\x8c");
    /* İ folds to i + combining dot (full folding, not Turkic). */
    expect_key(true, MPIWC_NORMALIZE_NFC, "\xc4\xb0", "i\xcc\x87");
    /* Ill-formed bytes become U+FFFD. */
    expect_key(false, MPIWC_NORMALIZE_NONE, "a\xff", "a\xef\xbf\xbd");
    /* A long word goes through the growing scratch. */
    char big[3000], want[3000];
    for (int i = 0; i < 1000; i++) {
        memcpy(big + 2 * i, "\xc3\x89", 2); /* É */
        memcpy(want + 2 * i, "\xc3\xa9", 2);
    }
    big[2000] = want[2000] = 0;
    expect_key(true, MPIWC_NORMALIZE_NFC, big, want);
}

/* ---- segmentation ---- */

struct seg_out {
    char text[1024];
};

static void seg_word(void *ctx, const uint8_t *w, size_t len)
{
    struct seg_out *o = ctx;
    strncat(o->text, (const char *)w, len);
    strcat(o->text, "|");
}

static void expect_segments(const char *text, const char *want)
{
    struct mpiwc_unicode_segmenter s;
    mpiwc_unicode_segmenter_init(&s);
    struct seg_out o = {{0}};
    mpiwc_unicode_segment(&s, U8(text), strlen(text), seg_word, &o);
    if (strcmp(o.text, want) != 0)
        fail_msg("segments of '%s': '%s', want '%s'", text, o.text, want);
    mpiwc_unicode_segmenter_free(&s);
}

static void test_segment(void **state)
{
    (void)state;
    /* The example: the dictionary's words, not one per sentence or per character. */
    expect_segments("云计算是一种基于互联网的计算资源共享和分配模式",
                    "云|计算|是|一种|基于|互|联|网|的|计算|资源|共享|和|分配|模式|");
    expect_segments("Hello, world! 3.14 don't e.g. under_score",
                    "Hello|world|3.14|don't|e.g|under_score|");
    expect_segments("東京都は日本の首都です。", "東京|都|は|日本|の|首都|です|");
    expect_segments("ภาษาไทยง่ายนิดเดียว", "ภาษา|ไทย|ง่าย|นิด|เดียว|");
    expect_segments("👩\u200d💻 😀 🇩🇪 ... —", "");
    /* Ill-formed bytes are U+FFFD to ICU: never inside a word. */
    expect_segments("ab\xff"
                    "cd \xe4\xb8 x",
                    "ab|cd|x|");
}

/* ---- the text engine ---- */

static const struct mpiwc_word_rules UNICODE_RULES = {.split = MPIWC_SPLIT_UNICODE};

static void test_unicode_words(void **state)
{
    (void)state;
    expect_counts(
        &UNICODE_RULES,
        "Stra\xc3\x9f"
        "e STRASSE caf\xc3\xa9 cafe\xcc\x81 \xe2\x80\x9cquoted\xe2\x80\x9d "
        "don\xe2\x80\x99t under_score \xe3\x80\x80全角\xe3\x80\x80 x\xc2\xb2 a\xe2\x80\x94"
        "b",
        "a 1\nb 1\ncaf\xc3\xa9 2\ndon 1\nquoted 1\nscore 1\nstrasse 2\nt 1\nunder 1\n"
        "x\xc2\xb2 1\n全角 1\n");
    /* Ill-formed bytes separate and are counted. */
    uint64_t bad;
    const char *text = "ab\xff"
                       "cd\xc0\xaf"
                       "ef\xed\xa0\x80"
                       "gh\xe2\x82";
    char *got = count_text(&UNICODE_RULES, text, strlen(text), 0, &bad);
    assert_string_equal(got, "ab 1\ncd 1\nef 1\ngh 1\n");
    assert_int_equal(bad, 1 + 2 + 3 + 2);
    free(got);
    /* Emoji and ZWJ separate; a lone combining mark is a word of its own. */
    expect_counts(&UNICODE_RULES,
                  "a\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb"
                  "b \xcc\x81x",
                  "a 1\nb 1\n\xcc\x81x 1\n");
    struct mpiwc_word_rules keep = {
        .split = MPIWC_SPLIT_UNICODE, .casing = MPIWC_CASE_KEEP, .normalize = MPIWC_NORMALIZE_NONE};
    expect_counts(&keep, "Caf\xc3\xa9 cafe\xcc\x81", "Caf\xc3\xa9 1\ncafe\xcc\x81 1\n");
}

/* Every chunking of the stream gives the same counts and the same invalid count. */
static void test_chunking(void **state)
{
    (void)state;
    const char *text =
        "Die Gr\xc3\xb6\xc3\x9f"
        "e GR\xc3\x96SSE \xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3 "
        "云计算是一种基于互联网的计算资源共享和分配模式。東京都は日本の首都です "
        "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd9\xa1\xd9\xa2 ab\xff\xfe"
        "cd\xe2\x82 \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb x "
        "ThisIsAVeryLongAsciiWordOf40Bytes"
        "Plus ab\xc3";
    size_t len = strlen(text);
    static const enum mpiwc_split splits[] = {MPIWC_SPLIT_UNICODE, MPIWC_SPLIT_UAX29,
                                              MPIWC_SPLIT_HADOOP, MPIWC_SPLIT_ALNUM};
    for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
        struct mpiwc_word_rules rules = {.split = splits[s], .min_length = s == 3 ? 2 : 0};
        uint64_t bad0, bad;
        char *whole = count_text(&rules, text, len, 0, &bad0);
        for (size_t chunk = 1; chunk <= 70; chunk++) {
            char *got = count_text(&rules, text, len, chunk, &bad);
            if (strcmp(got, whole) != 0 || bad != bad0)
                fail_msg("split %d, chunk %zu: '%s' (%llu bad) != '%s' (%llu bad)", (int)splits[s],
                         chunk, got, (unsigned long long)bad, whole, (unsigned long long)bad0);
            free(got);
        }
        free(whole);
    }
}

/* An unfinished unicode run over 64 KiB has its finished words counted early: same result. */
static void test_long_run(void **state)
{
    (void)state;
    size_t n = 0, cap = 400000;
    char *text = malloc(cap + 64);
    assert_non_null(text);
    static const char *const parts[] = {"计算", "资源", "。", "\xff", "日本", "\xe2\x82", "，"};
    for (unsigned i = 0; n < cap; i = i * 7 + 3) {
        const char *p = parts[i % 7];
        memcpy(text + n, p, strlen(p));
        n += strlen(p);
    }
    uint64_t bad0, bad;
    char *whole = count_text(&UNICODE_RULES, text, n, 0, &bad0);
    static const size_t chunks[] = {1000, 4096, 65536, 65537, 100000};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        char *got = count_text(&UNICODE_RULES, text, n, chunks[c], &bad);
        assert_string_equal(got, whole);
        assert_int_equal(bad, bad0);
        free(got);
    }
    assert_true(bad0 > 0);
    free(whole);
    free(text);
}

/* The ASCII fast paths (unicode words in registers, uax29 without ICU) agree with the slow ones. */
static void test_fast_paths(void **state)
{
    (void)state;
    const char *text = "The quick brown Fox, (jumps) over--the lazy dog's back; e.g. 3.14 and "
                       "x_y _z a:b \"quoted\" AVeryLongWordThatIsLongerThanSixteen 42 ... ! ";
    /* unicode: with a filter that keeps everything, the slow path runs for every word. */
    struct mpiwc_word_rules slow = {.split = MPIWC_SPLIT_UNICODE, .min_length = 1};
    char *a = count_str(&UNICODE_RULES, text), *b = count_str(&slow, text);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* uax29: each run against ICU directly. */
    struct mpiwc_word_rules uax = {
        .split = MPIWC_SPLIT_UAX29, .casing = MPIWC_CASE_KEEP, .normalize = MPIWC_NORMALIZE_NONE};
    static const char *const runs[] = {"hello", "hello,", "(hello)", "--",    "e.g.",  "3.14",
                                       "x_y",   "_z",     "a:b",     "\"q\"", "dog's", "a.",
                                       "'tis",  ",x,",    "_",       "a1b2",  "1,000", "...x"};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        struct seg_out o = {{0}};
        struct mpiwc_unicode_segmenter s;
        mpiwc_unicode_segmenter_init(&s);
        mpiwc_unicode_segment(&s, U8(runs[i]), strlen(runs[i]), seg_word, &o);
        mpiwc_unicode_segmenter_free(&s);
        /* The same words as counts: turn "a|b|" into sorted "a 1\nb 1\n" (distinct here). */
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        for (char *w = o.text, *bar; (bar = strchr(w, '|')); w = bar + 1)
            mpiwc_table_add(&t, w, (size_t)(bar - w), 1);
        char *want = dump(&t);
        mpiwc_table_free(&t);
        char *got = count_str(&uax, runs[i]);
        if (strcmp(got, want) != 0)
            fail_msg("uax29 of '%s': '%s', ICU says '%s'", runs[i], got, want);
        free(got);
        free(want);
    }
}

static void test_filters(void **state)
{
    (void)state;
    const char *text = "a bb ccc 日本 日本語 2024 \xd9\xa1\xd9\xa2 12a x\xc2\xb2";
    struct mpiwc_word_rules min3 = {.split = MPIWC_SPLIT_UNICODE, .min_length = 3};
    expect_counts(&min3, text, "12a 1\n2024 1\nccc 1\n日本語 1\n");
    struct mpiwc_word_rules nonum = {.split = MPIWC_SPLIT_UNICODE, .ignore_numbers = true};
    expect_counts(&nonum, text, "12a 1\na 1\nbb 1\nccc 1\nx\xc2\xb2 1\n日本 1\n日本語 1\n");
    /* With the byte rules too: characters are UTF-8 characters. */
    struct mpiwc_word_rules alnum = {
        .split = MPIWC_SPLIT_ALNUM, .min_length = 2, .ignore_numbers = true};
    expect_counts(&alnum, "A BB 12 \xd9\xa1\xd9\xa2 \xc3\xa9 x1", "bb 1\nx1 1\n");
}

static void test_stopwords(void **state)
{
    (void)state;
    const char stop[] = "THE\r\nStra\xc3\x9f"
                        "e\n\ncafe\xcc\x81\n\xe7\x9a\x84";
    struct mpiwc_word_rules rules = {
        .split = MPIWC_SPLIT_UNICODE, .stopwords = U8(stop), .stopwords_len = sizeof stop - 1};
    /* Folded and normalized like the text: THE drops "the", Straße drops STRASSE, the
     * decomposed café drops the composed one. */
    expect_counts(&rules, "The the STRASSE caf\xc3\xa9 kept 的 的确", "kept 1\n的确 1\n");
    rules.split = MPIWC_SPLIT_UAX29;
    expect_counts(&rules, "the 云计算的资源", "云 1\n计算 1\n资源 1\n");
    rules.split = MPIWC_SPLIT_SPACE;
    rules.casing = MPIWC_CASE_KEEP;
    expect_counts(&rules, "THE the", "the 1\n");
    /* An empty list drops nothing, and the filter still runs the text engine. */
    rules.stopwords_len = 0;
    expect_counts(&rules, "THE the", "THE 1\nthe 1\n");
}

static void test_hadoop(void **state)
{
    (void)state;
    struct mpiwc_word_rules rules = {
        .split = MPIWC_SPLIT_HADOOP, .casing = MPIWC_CASE_KEEP, .normalize = MPIWC_NORMALIZE_NONE};
    /* Only " \t\n\r\f" delimit: \v, controls and punctuation are word bytes; case kept. */
    const char text[] = "a\vb A a\tb, \x01z\fStra\xc3\x9f"
                        "e\r\n";
    char *got = count_text(&rules, text, sizeof text - 1, 0, NULL);
    assert_string_equal(got, "\x01z 1\nA 1\nStra\xc3\x9f"
                             "e 1\na\vb 1\na 1\nb, 1\n"); /* dump's strcmp order */
    free(got);
    uint64_t bad;
    const char bad_text[] = "x\xff y\xe2\x82z\n";
    got = count_text(&rules, bad_text, sizeof bad_text - 1, 0, &bad);
    assert_string_equal(got, "x\xef\xbf\xbd 1\ny\xef\xbf\xbdz 1\n");
    assert_int_equal(bad, 3);
    free(got);
}

/* The tokenizer forwards in_word to the engine: the reader's read-on relies on it. */
static void test_in_word(void **state)
{
    (void)state;
    struct mpiwc_table t;
    struct mpiwc_tokenizer tok;
    mpiwc_table_init(&t, 0);
    mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_UNICODE, MPIWC_CASE_FOLD, &t);
    mpiwc_tokenizer_feed(&tok, U8("ab \xe4\xb8"), 5);
    assert_true(mpiwc_tokenizer_in_word(&tok));
    mpiwc_tokenizer_feed(&tok, U8("\xad"), 1);
    assert_true(mpiwc_tokenizer_in_word(&tok));
    mpiwc_tokenizer_feed(&tok, U8(" "), 1);
    assert_false(mpiwc_tokenizer_in_word(&tok));
    mpiwc_tokenizer_end(&tok);
    assert_int_equal(tok.words, 2);
    assert_int_equal(mpiwc_table_get(&t, "\xe4\xb8\xad", 3), 1);
    mpiwc_tokenizer_free(&tok);
    mpiwc_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),     cmocka_unit_test(test_replace_invalid),
        cmocka_unit_test(test_classify),   cmocka_unit_test(test_keys),
        cmocka_unit_test(test_segment),    cmocka_unit_test(test_unicode_words),
        cmocka_unit_test(test_chunking),   cmocka_unit_test(test_long_run),
        cmocka_unit_test(test_fast_paths), cmocka_unit_test(test_filters),
        cmocka_unit_test(test_stopwords),  cmocka_unit_test(test_hadoop),
        cmocka_unit_test(test_in_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

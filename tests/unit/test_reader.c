/*
 * Unit tests for reader.h: ranges that cut words at every offset, through
 * buffers of every small size, must count every word of the file exactly
 * once (checked against a naive whole-file count written here); files that
 * shrank since planning and missing files are errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "mpiwc/plan.h"
#include "mpiwc/reader.h"
#include "mpiwc/table.h"
#include "mpiwc/tokenize.h"
#include "mpiwc/util.h"

/* ---- naive reference: the spec's rules, one byte at a time ---- */

static bool rule_is_word(enum mpiwc_split split, unsigned b)
{
    if (split == MPIWC_SPLIT_ALNUM)
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
               b >= 0x80;
    return !(b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r');
}

struct ref_word {
    uint8_t key[128];
    size_t len;
    uint64_t count;
};

struct ref {
    struct ref_word w[256];
    size_t n;
};

static void ref_add(struct ref *r, const uint8_t *key, size_t len)
{
    assert_true(len <= sizeof r->w[0].key);
    for (size_t i = 0; i < r->n; i++) {
        if (r->w[i].len == len && memcmp(r->w[i].key, key, len) == 0) {
            r->w[i].count++;
            return;
        }
    }
    assert_true(r->n < sizeof r->w / sizeof r->w[0]);
    memcpy(r->w[r->n].key, key, len);
    r->w[r->n].len = len;
    r->w[r->n].count = 1;
    r->n++;
}

/* Add the words of one file (fold case) to r. */
static void ref_count(struct ref *r, const uint8_t *text, size_t len, enum mpiwc_split split)
{
    uint8_t word[128];
    size_t wlen = 0;
    for (size_t i = 0; i < len; i++) {
        if (rule_is_word(split, text[i])) {
            uint8_t b = text[i];
            if (b >= 'A' && b <= 'Z')
                b = (uint8_t)(b + 32);
            assert_true(wlen < sizeof word);
            word[wlen++] = b;
        } else if (wlen) {
            ref_add(r, word, wlen);
            wlen = 0;
        }
    }
    if (wlen)
        ref_add(r, word, wlen);
}

static bool table_matches(const struct mpiwc_table *t, const struct ref *r)
{
    if (t->size != r->n)
        return false;
    for (size_t i = 0; i < r->n; i++) {
        if (mpiwc_table_get(t, r->w[i].key, r->w[i].len) != r->w[i].count)
            return false;
    }
    return true;
}

static void dump_mismatch(const struct mpiwc_table *t, const struct ref *r)
{
    print_message("table has %zu words, reference %zu\n", t->size, r->n);
    for (size_t i = 0; i < r->n; i++) {
        uint64_t got = mpiwc_table_get(t, r->w[i].key, r->w[i].len);
        if (got != r->w[i].count)
            print_message("  '%.*s': got %llu want %llu\n", (int)r->w[i].len,
                          (const char *)r->w[i].key, (unsigned long long)got,
                          (unsigned long long)r->w[i].count);
    }
    for (size_t i = 0; i < mpiwc_table_slots(t); i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(t, i, &e);
        if (e.count)
            print_message("  table: '%.*s' %llu\n", (int)e.len, (const char *)e.key,
                          (unsigned long long)e.count);
    }
}

/* ---- fixtures ---- */

/* Words cut everywhere: separators, CRLF, NUL, bytes >= 0x80, one-byte words. */
static const uint8_t text_a[] = "Hello, wor-ld!\r\nfoo\0bar  \xc3\xa9t\xc3\xa9 x\xff\x80y\t12ab"
                                " a b\r\nCAT cat\x7f"
                                "Dog\n\nend";
static const uint8_t text_b[] = " lead\tand trail \r\n";

struct fixture {
    char path[64];
};

static void write_bytes(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int fixture_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->path, sizeof fx->path, "/tmp/mpiwc-reader-XXXXXX");
    int fd = mkstemp(fx->path);
    if (fd < 0)
        return -1;
    close(fd);
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;
    char second[80];
    snprintf(second, sizeof second, "%s.b", fx->path);
    unlink(second); /* test_plan_split_two_files' second file, even when it failed */
    unlink(fx->path);
    free(fx);
    return 0;
}

static const size_t bufsizes[] = {1, 2, 3, 7, 64, 4096};
#define NBUFSIZES (sizeof bufsizes / sizeof bufsizes[0])

/*
 * Read the file through the given ranges (cuts ascending, strictly inside
 * (0, len)), a fresh tokenizer per range, into one table; compare.
 */
static void read_cut(const char *path, uint64_t len, const uint64_t *cuts, size_t ncuts,
                     size_t bufsize, enum mpiwc_split split, const struct ref *want)
{
    struct mpiwc_plan_file file = {(char *)(uintptr_t)path, len, 0, 0, 0};
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_reader rd;
    mpiwc_reader_init(&rd, bufsize, split);
    uint64_t start = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        uint64_t end = i < ncuts ? cuts[i] : len;
        struct mpiwc_plan_range range = {0, start, end};
        struct mpiwc_tokenizer tok;
        mpiwc_tokenizer_init(&tok, split, MPIWC_CASE_FOLD, &t);
        char err[512] = "";
        if (mpiwc_reader_range(&rd, &file, &range, &tok, err, sizeof err) != 0)
            fail_msg("reader_range [%llu, %llu) failed: %s", (unsigned long long)start,
                     (unsigned long long)end, err);
        mpiwc_tokenizer_end(&tok);
        mpiwc_tokenizer_free(&tok);
        start = end;
    }
    if (!table_matches(&t, want)) {
        dump_mismatch(&t, want);
        print_message("cuts:");
        for (size_t i = 0; i < ncuts; i++)
            print_message(" %llu", (unsigned long long)cuts[i]);
        fail_msg("split %d, bufsize %zu: counts differ from the whole-file reference", (int)split,
                 bufsize);
    }
    mpiwc_reader_free(&rd);
    mpiwc_table_free(&t);
}

static void check_text_two_ranges(const char *path, const uint8_t *text, size_t len)
{
    write_bytes(path, text, len);
    for (int s = 0; s < 2; s++) {
        enum mpiwc_split split = s ? MPIWC_SPLIT_SPACE : MPIWC_SPLIT_ALNUM;
        struct ref want = {0};
        ref_count(&want, text, len, split);
        for (size_t b = 0; b < NBUFSIZES; b++) {
            read_cut(path, len, NULL, 0, bufsizes[b], split, &want); /* one range */
            for (uint64_t c = 1; c < len; c++)
                read_cut(path, len, &c, 1, bufsizes[b], split, &want);
        }
    }
}

static void test_two_ranges_every_cut(void **state)
{
    struct fixture *fx = *state;
    check_text_two_ranges(fx->path, text_a, sizeof text_a - 1);
}

static void test_two_ranges_leading_trailing_separators(void **state)
{
    struct fixture *fx = *state;
    check_text_two_ranges(fx->path, text_b, sizeof text_b - 1);
}

static void test_three_ranges_every_pair(void **state)
{
    struct fixture *fx = *state;
    const size_t len = sizeof text_a - 1;
    write_bytes(fx->path, text_a, len);
    for (int s = 0; s < 2; s++) {
        enum mpiwc_split split = s ? MPIWC_SPLIT_SPACE : MPIWC_SPLIT_ALNUM;
        struct ref want = {0};
        ref_count(&want, text_a, len, split);
        for (size_t b = 0; b < NBUFSIZES; b++) {
            for (uint64_t i = 1; i < len; i++) {
                for (uint64_t j = i + 1; j < len; j++) {
                    uint64_t cuts[2] = {i, j};
                    read_cut(fx->path, len, cuts, 2, bufsizes[b], split, &want);
                }
            }
        }
    }
}

/* One-byte ranges: every range is a single byte (the worst case of cutting). */
static void test_one_byte_ranges(void **state)
{
    struct fixture *fx = *state;
    const size_t len = sizeof text_a - 1;
    write_bytes(fx->path, text_a, len);
    uint64_t cuts[sizeof text_a];
    for (size_t i = 1; i < len; i++)
        cuts[i - 1] = i;
    for (int s = 0; s < 2; s++) {
        enum mpiwc_split split = s ? MPIWC_SPLIT_SPACE : MPIWC_SPLIT_ALNUM;
        struct ref want = {0};
        ref_count(&want, text_a, len, split);
        for (size_t b = 0; b < NBUFSIZES; b++)
            read_cut(fx->path, len, cuts, len - 1, bufsizes[b], split, &want);
    }
}

/* A word longer than the buffer, cut by ranges, and a file of one long word. */
static void test_long_words(void **state)
{
    struct fixture *fx = *state;
    uint8_t text[300];
    size_t len = 0;
    for (size_t i = 0; i < 100; i++)
        text[len++] = (uint8_t)('a' + i % 26);
    text[len++] = ' ';
    for (size_t i = 0; i < 90; i++)
        text[len++] = (uint8_t)('A' + i % 26);
    write_bytes(fx->path, text, len);
    struct ref want = {0};
    ref_count(&want, text, len, MPIWC_SPLIT_ALNUM);
    assert_int_equal(want.n, 2);
    static const uint64_t cut_sets[][3] = {
        {1, 2, 3}, {50, 100, 101}, {99, 102, 150}, {10, 120, 189}};
    for (size_t b = 0; b < 4; b++) {
        for (size_t k = 0; k < sizeof cut_sets / sizeof cut_sets[0]; k++)
            read_cut(fx->path, len, cut_sets[k], 3, bufsizes[b], MPIWC_SPLIT_ALNUM, &want);
    }
}

/*
 * --compat=hadoop drops a UTF-8 byte order mark at offset 0 and nowhere
 * else, wherever two cuts fall (inside the mark, inside the word after it)
 * and whatever the buffer size.
 */
static void test_hadoop_bom_every_cut(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t text[] = "\xef\xbb\xbfhi zz\xef\xbb\xbf hi\n";
    const size_t len = sizeof text - 1;
    write_bytes(fx->path, text, len);
    struct ref want = {0};
    ref_count(&want, text + 3, len - 3, MPIWC_SPLIT_SPACE); /* no \v: hadoop's words */
    for (size_t b = 0; b < NBUFSIZES; b++) {
        read_cut(fx->path, len, NULL, 0, bufsizes[b], MPIWC_SPLIT_HADOOP, &want);
        for (uint64_t i = 1; i < len; i++) {
            read_cut(fx->path, len, &i, 1, bufsizes[b], MPIWC_SPLIT_HADOOP, &want);
            for (uint64_t j = i + 1; j < len; j++) {
                uint64_t cuts[2] = {i, j};
                read_cut(fx->path, len, cuts, 2, bufsizes[b], MPIWC_SPLIT_HADOOP, &want);
            }
        }
    }
}

/* Ranges produced by mpiwc_plan_split over two files, read rank by rank. */
static void test_plan_split_two_files(void **state)
{
    struct fixture *fx = *state;
    char second[80];
    snprintf(second, sizeof second, "%s.b", fx->path);
    const size_t la = sizeof text_a - 1, lb = sizeof text_b - 1;
    write_bytes(fx->path, text_a, la);
    write_bytes(second, text_b, lb);
    for (int s = 0; s < 2; s++) {
        enum mpiwc_split split = s ? MPIWC_SPLIT_SPACE : MPIWC_SPLIT_ALNUM;
        struct ref want = {0};
        ref_count(&want, text_a, la, split);
        ref_count(&want, text_b, lb, split); /* files never join words */
        for (int nranks = 1; nranks <= 90; nranks += (nranks < 12 ? 1 : 13)) {
            struct mpiwc_plan p;
            memset(&p, 0, sizeof p);
            p.files = mpiwc_xcalloc(2, sizeof *p.files);
            p.files[0].path = mpiwc_xstrdup(fx->path);
            p.files[0].size = la;
            p.files[1].path = mpiwc_xstrdup(second);
            p.files[1].size = lb;
            p.nfiles = 2;
            mpiwc_plan_split(&p, nranks);
            for (size_t b = 0; b < NBUFSIZES; b += 2) {
                struct mpiwc_table t;
                mpiwc_table_init(&t, 0);
                for (int r = 0; r < nranks; r++) {
                    struct mpiwc_reader rd;
                    mpiwc_reader_init(&rd, bufsizes[b], split);
                    for (size_t i = p.rank_first[r]; i < p.rank_first[r + 1]; i++) {
                        struct mpiwc_tokenizer tok;
                        mpiwc_tokenizer_init(&tok, split, MPIWC_CASE_FOLD, &t);
                        char err[512] = "";
                        const struct mpiwc_plan_range *g = &p.ranges[i];
                        if (mpiwc_reader_range(&rd, &p.files[g->file], g, &tok, err, sizeof err) !=
                            0)
                            fail_msg("read failed: %s", err);
                        mpiwc_tokenizer_end(&tok);
                        mpiwc_tokenizer_free(&tok);
                    }
                    mpiwc_reader_free(&rd);
                }
                if (!table_matches(&t, &want)) {
                    dump_mismatch(&t, &want);
                    fail_msg("nranks %d bufsize %zu split %d", nranks, bufsizes[b], s);
                }
                mpiwc_table_free(&t);
            }
            mpiwc_plan_free(&p);
        }
    }
    unlink(second);
}

/* bytes_read counts at least the bytes of the ranges. */
static void test_bytes_read(void **state)
{
    struct fixture *fx = *state;
    const size_t len = sizeof text_a - 1;
    write_bytes(fx->path, text_a, len);
    struct mpiwc_plan_file file = {fx->path, len, 0, 0, 0};
    struct mpiwc_plan_range range = {0, 0, len};
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_reader rd;
    mpiwc_reader_init(&rd, 7, MPIWC_SPLIT_ALNUM);
    assert_int_equal(rd.bytes_read, 0);
    struct mpiwc_tokenizer tok;
    mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_ALNUM, MPIWC_CASE_FOLD, &t);
    char err[256] = "";
    assert_int_equal(mpiwc_reader_range(&rd, &file, &range, &tok, err, sizeof err), 0);
    mpiwc_tokenizer_end(&tok);
    assert_int_equal(rd.bytes_read, len);
    mpiwc_tokenizer_free(&tok);
    mpiwc_reader_free(&rd);
    mpiwc_table_free(&t);
}

/* A range that ends inside a word reads on, and those bytes count in bytes_read. */
static void test_bytes_read_counts_the_range_once(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t text[] = "abc defghijkl mno";
    const size_t len = sizeof text - 1;
    write_bytes(fx->path, text, len);
    struct mpiwc_plan_file file = {fx->path, len, 0, 0, 0};
    struct mpiwc_plan_range range = {0, 0, 6}; /* ends after "de" of "defghijkl" */
    for (size_t b = 0; b < NBUFSIZES; b++) {
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        struct mpiwc_reader rd;
        mpiwc_reader_init(&rd, bufsizes[b], MPIWC_SPLIT_ALNUM);
        struct mpiwc_tokenizer tok;
        mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_ALNUM, MPIWC_CASE_FOLD, &t);
        char err[256] = "";
        assert_int_equal(mpiwc_reader_range(&rd, &file, &range, &tok, err, sizeof err), 0);
        mpiwc_tokenizer_end(&tok);
        assert_int_equal(mpiwc_table_get(&t, "defghijkl", 9), 1);
        assert_int_equal(mpiwc_table_get(&t, "abc", 3), 1);
        assert_int_equal(t.size, 2);
        /* The 6 bytes of the range; the read-on belongs to the next range's bytes. */
        if (rd.bytes_read != 6)
            fail_msg("bufsize %zu: bytes_read %llu, want 6 (the range, read-on not counted)",
                     bufsizes[b], (unsigned long long)rd.bytes_read);
        mpiwc_tokenizer_free(&tok);
        mpiwc_reader_free(&rd);
        mpiwc_table_free(&t);
    }
}

static void expect_read_error(const char *path, uint64_t planned, uint64_t start, uint64_t end)
{
    struct mpiwc_plan_file file = {(char *)(uintptr_t)path, planned, 0, 0, 0};
    struct mpiwc_plan_range range = {0, start, end};
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_reader rd;
    mpiwc_reader_init(&rd, 16, MPIWC_SPLIT_ALNUM);
    struct mpiwc_tokenizer tok;
    mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_ALNUM, MPIWC_CASE_FOLD, &t);
    char err[512] = "";
    assert_int_equal(mpiwc_reader_range(&rd, &file, &range, &tok, err, sizeof err), -1);
    if (!strstr(err, path))
        fail_msg("error '%s' does not name the path '%s'", err, path);
    mpiwc_tokenizer_free(&tok);
    mpiwc_reader_free(&rd);
    mpiwc_table_free(&t);
}

static void test_truncated_after_planning(void **state)
{
    struct fixture *fx = *state;
    const size_t len = sizeof text_a - 1;
    write_bytes(fx->path, text_a, len);
    /* planned 20 bytes more than there are */
    expect_read_error(fx->path, len + 20, 0, len + 20);
    expect_read_error(fx->path, len + 20, len / 2, len + 20);
    expect_read_error(fx->path, len + 20, len + 5, len + 20); /* starts past the real end */
    /* shrink the file under a plan made for its old size */
    write_bytes(fx->path, text_a, 10);
    expect_read_error(fx->path, len, 0, len);
    expect_read_error(fx->path, len, 5, len);
}

static void test_missing_file(void **state)
{
    struct fixture *fx = *state;
    char missing[96];
    snprintf(missing, sizeof missing, "%s.does-not-exist", fx->path);
    expect_read_error(missing, 10, 0, 10);
}

/* "-" reads standard input to EOF (here a file put on fd 0). */
static void test_stdin_range(void **state)
{
    struct fixture *fx = *state;
    const size_t len = sizeof text_a - 1;
    write_bytes(fx->path, text_a, len);
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    int fd = open(fx->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_true(dup2(fd, STDIN_FILENO) >= 0);
    close(fd);

    struct ref want = {0};
    ref_count(&want, text_a, len, MPIWC_SPLIT_ALNUM);
    struct mpiwc_plan_file file = {(char *)(uintptr_t) "-", MPIWC_PLAN_STREAM, 0, 0, 0};
    struct mpiwc_plan_range range = {0, 0, MPIWC_PLAN_STREAM};
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    struct mpiwc_reader rd;
    mpiwc_reader_init(&rd, 3, MPIWC_SPLIT_ALNUM);
    struct mpiwc_tokenizer tok;
    mpiwc_tokenizer_init(&tok, MPIWC_SPLIT_ALNUM, MPIWC_CASE_FOLD, &t);
    char err[256] = "";
    int rc = mpiwc_reader_range(&rd, &file, &range, &tok, err, sizeof err);
    mpiwc_tokenizer_end(&tok);
    assert_true(dup2(saved, STDIN_FILENO) >= 0);
    close(saved);
    assert_int_equal(rc, 0);
    if (!table_matches(&t, &want)) {
        dump_mismatch(&t, &want);
        fail_msg("stdin counts differ");
    }
    assert_int_equal(rd.bytes_read, len);
    mpiwc_tokenizer_free(&tok);
    mpiwc_reader_free(&rd);
    mpiwc_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_ranges_every_cut, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_two_ranges_leading_trailing_separators, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_three_ranges_every_pair, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_one_byte_ranges, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_long_words, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hadoop_bom_every_cut, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_plan_split_two_files, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bytes_read, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bytes_read_counts_the_range_once, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_after_planning, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stdin_range, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

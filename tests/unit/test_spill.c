/*
 * Unit tests for rows.h and spill.h: the k-way merge (with and without
 * combining), tables spilled under tiny limits and merged back in both
 * orders and with a top, every byte of a run checked on reading (a flipped
 * bit, a cut, bytes after the end: an error, never rows), and the private
 * directory removed by close and by the signal path.
 *
 * The expected tables are computed here without the table or the sort:
 * every occurrence in one array, qsort'ed, equal runs counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>

#include "mpiwc/rows.h"
#include "mpiwc/spill.h"
#include "mpiwc/table.h"
#include "mpiwc/util.h"

/* A word: up to 40 bytes, any byte value but mostly letters, so that short, inline and
 * arena keys, shared prefixes and NUL bytes all occur. */
struct occ {
    uint8_t key[40];
    uint32_t len;
};

static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 33;
}

/* Word number id: the same id, the same bytes. */
static void word_of(struct occ *o, unsigned id)
{
    uint64_t h = id * 0x9e3779b97f4a7c15ull + 7;
    o->len = 1 + (uint32_t)(h % 37);
    for (uint32_t i = 0; i < o->len; i++) {
        h = h * 6364136223846793005ull + 1;
        unsigned b = (unsigned)(h >> 56);
        o->key[i] = b < 230 ? (uint8_t)('a' + b % 6) : (uint8_t)b; /* a few letters: prefixes */
    }
    if (o->len > 3)
        o->key[o->len - 1] = (uint8_t)(id & 0xff); /* ids apart, some with a NUL */
}

/* A word drawn uniformly from vocab words. */
static void random_word(struct occ *o, unsigned vocab)
{
    word_of(o, (unsigned)(rng() % vocab));
}

/* A word drawn from vocab words, low ids far more often: the product of two uniform
 * draws, so that n draws give id about n / vocab * ln(vocab / id) occurrences. */
static void skewed_word(struct occ *o, unsigned vocab)
{
    uint64_t a = rng() % vocab, b = rng() % vocab;
    word_of(o, (unsigned)(a * b / vocab));
}

static int occ_cmp(const void *a, const void *b)
{
    const struct occ *x = a, *y = b;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

struct ref {
    struct occ *words; /* distinct, by bytes */
    uint64_t *counts;
    size_t n;
};

static void ref_of(struct occ *all, size_t n, struct ref *r)
{
    qsort(all, n, sizeof *all, occ_cmp);
    r->words = calloc(n ? n : 1, sizeof *r->words);
    r->counts = calloc(n ? n : 1, sizeof *r->counts);
    r->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (r->n && occ_cmp(&r->words[r->n - 1], &all[i]) == 0) {
            r->counts[r->n - 1]++;
            continue;
        }
        r->words[r->n] = all[i];
        r->counts[r->n++] = 1;
    }
}

static const struct ref *by_count_ref;
static int by_count(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    uint64_t ci = by_count_ref->counts[i], cj = by_count_ref->counts[j];
    if (ci != cj)
        return ci > cj ? -1 : 1;
    return occ_cmp(&by_count_ref->words[i], &by_count_ref->words[j]);
}

/* The reference rows' indices in order. */
static size_t *ref_order(const struct ref *r, enum mpiwc_sort order)
{
    size_t *ix = malloc((r->n ? r->n : 1) * sizeof *ix);
    for (size_t i = 0; i < r->n; i++)
        ix[i] = i;
    if (order == MPIWC_SORT_COUNT) {
        by_count_ref = r;
        qsort(ix, r->n, sizeof *ix, by_count);
    }
    return ix;
}

/* Read the whole stream and compare it with the reference's first top rows (0: all). */
static void expect_rows(struct mpiwc_rows *rows, const struct ref *r, enum mpiwc_sort order,
                        uint64_t top)
{
    size_t *ix = ref_order(r, order);
    size_t want = top && top < r->n ? (size_t)top : r->n, got = 0;
    struct mpiwc_word w;
    char why[MPIWC_ERRLEN];
    int rc;
    while (got < want && (rc = mpiwc_rows_next(rows, &w, why, sizeof why)) > 0) {
        const struct occ *o = &r->words[ix[got]];
        if (w.len != o->len || memcmp(w.key, o->key, o->len) != 0 || w.count != r->counts[ix[got]])
            fail_msg("row %zu: got (%u bytes, count %llu), want (%u bytes, count %llu)", got, w.len,
                     (unsigned long long)w.count, o->len, (unsigned long long)r->counts[ix[got]]);
        got++;
    }
    assert_int_equal(got, want);
    if (!top)
        assert_int_equal(mpiwc_rows_next(rows, &w, why, sizeof why), 0);
    free(ix);
}

static char tmpdir[] = "/tmp/mpiwc-test-spill-XXXXXX";

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(rmdir(tmpdir), 0); /* empty: every test removed its files */
    return 0;
}

/* Entries of dir (. and .. aside). */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Streams sorted by word, words shared between them: merged with combine, each word once
 * with the sum; without, every row in order (equal words side by side). */
static void test_merge_combine(void **state)
{
    (void)state;
    rng_state = 11;
    enum { K = 7, N = 3000 };
    struct occ *all = malloc(K * N * sizeof *all);
    size_t nrows[K];
    struct mpiwc_table t[K];
    size_t total = 0;
    for (int k = 0; k < K; k++) {
        mpiwc_table_init(&t[k], 0);
        size_t n = (size_t)(rng() % N); /* some streams empty or short */
        if (k == 3)
            n = 0;
        for (size_t i = 0; i < n; i++) {
            random_word(&all[total], 5000);
            mpiwc_table_add(&t[k], all[total].key, all[total].len, 1);
            total++;
        }
        nrows[k] = t[k].size;
    }
    struct ref r;
    ref_of(all, total, &r);
    struct mpiwc_rows_table a[K]; /* each table sorted in its own memory */
    struct mpiwc_rows *in[K];
    for (int k = 0; k < K; k++) {
        mpiwc_rows_table_init(&a[k], &t[k], MPIWC_SORT_WORD);
        in[k] = &a[k].rows;
    }
    struct mpiwc_rows_merge m;
    mpiwc_rows_merge_init(&m, in, K, MPIWC_SORT_WORD, true);
    expect_rows(&m.rows, &r, MPIWC_SORT_WORD, 0);
    mpiwc_rows_merge_free(&m);

    /* Without combining: as many rows as the streams hold, never out of order. */
    size_t want = 0;
    for (int k = 0; k < K; k++) {
        mpiwc_table_cursor_init(&a[k].c, &t[k], MPIWC_SORT_WORD); /* from the start again */
        want += nrows[k];
    }
    mpiwc_rows_merge_init(&m, in, K, MPIWC_SORT_WORD, false);
    struct mpiwc_word w, prev = {0};
    char why[MPIWC_ERRLEN];
    size_t got = 0;
    while (mpiwc_rows_next(&m.rows, &w, why, sizeof why) > 0) {
        if (got)
            assert_true(mpiwc_format_compare(&prev, &w, MPIWC_SORT_WORD) <= 0);
        prev = w;
        got++;
    }
    assert_int_equal(got, want);
    mpiwc_rows_merge_free(&m);
    for (int k = 0; k < K; k++)
        mpiwc_table_free(&t[k]);
    free(r.words);
    free(r.counts);
    free(all);
}

/* Count words into a table that spills under limit, as the job does; then the result.
 * Returns the runs written: table spills (runs_before), then the merge's and sort's. */
static uint64_t runs_before;
static uint64_t spill_and_check_words(size_t limit, struct occ *all, size_t nwords,
                                      enum mpiwc_sort order, uint64_t top, bool expect_spill)
{
    struct mpiwc_spill s;
    mpiwc_spill_init(&s, tmpdir, limit);
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    for (size_t i = 0; i < nwords; i++) {
        if (mpiwc_spill_due(&s, &t, 1))
            assert_int_equal(mpiwc_spill_table(&s, &t), 0);
        mpiwc_table_add(&t, all[i].key, all[i].len, 1);
    }
    assert_int_equal(s.st.runs > 0, expect_spill);
    runs_before = s.st.runs;
    struct ref r;
    ref_of(all, nwords, &r);
    struct mpiwc_spill_result res;
    assert_int_equal(mpiwc_spill_result_open(&s, &t, order, top, &res), 0);
    if (res.distinct != UINT64_MAX)
        assert_int_equal(res.distinct, r.n);
    expect_rows(res.rows, &r, order, top);
    mpiwc_spill_result_close(&res);
    if (expect_spill) { /* the private directory, mode 0700, named for its owner */
        struct stat st;
        assert_non_null(s.dir);
        assert_int_equal(stat(s.dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_non_null(strstr(s.dir, "/mpiwc-spill-"));
    }
    char *dir = s.dir ? strdup(s.dir) : NULL;
    uint64_t runs = s.st.runs;
    mpiwc_spill_close(&s);
    if (dir)
        assert_int_equal(access(dir, F_OK), -1); /* removed with its runs */
    free(dir);
    assert_int_equal(entries(tmpdir), 0);
    mpiwc_table_free(&t);
    free(r.words);
    free(r.counts);
    return runs;
}

/* The same for nwords uniform draws from vocab words. */
static uint64_t spill_and_check(size_t limit, size_t nwords, unsigned vocab, enum mpiwc_sort order,
                                uint64_t top, bool expect_spill)
{
    struct occ *all = malloc(nwords * sizeof *all);
    for (size_t i = 0; i < nwords; i++)
        random_word(&all[i], vocab);
    uint64_t runs = spill_and_check_words(limit, all, nwords, order, top, expect_spill);
    free(all);
    return runs;
}

static void test_spill_word_order(void **state)
{
    (void)state;
    rng_state = 1;
    (void)spill_and_check(64 << 10, 60000, 20000, MPIWC_SORT_WORD, 0, true);
}

static void test_spill_count_order(void **state)
{
    (void)state;
    rng_state = 2;
    (void)spill_and_check(64 << 10, 60000, 20000, MPIWC_SORT_COUNT, 0, true);
}

static void test_spill_top(void **state)
{
    (void)state;
    rng_state = 3;
    (void)spill_and_check(64 << 10, 60000, 20000, MPIWC_SORT_COUNT, 25, true);
    rng_state = 4;
    (void)spill_and_check(64 << 10, 60000, 20000, MPIWC_SORT_WORD, 25, true);
    /* Nearly every word once: a top that is mostly the bucket of count 1. */
    rng_state = 10;
    (void)spill_and_check(64 << 10, 100000, 1000000, MPIWC_SORT_COUNT, 50000, true);
}

/* More runs than the merge takes at once: merged into bigger runs first. */
static void test_spill_many_runs(void **state)
{
    (void)state;
    rng_state = 5;
    (void)spill_and_check(1, 120000, 100000, MPIWC_SORT_COUNT, 0, true);
    assert_true(runs_before > MPIWC_SPILL_FANIN);
}

/*
 * The count order's two ways: counts from 1 to hundreds, every count up to
 * MPIWC_SPILL_BUCKETS in its bucket, and more words of higher counts than
 * the external sort's 1 MiB buffer holds (two runs or more). A top that
 * ends among the sorted words and one that ends in a bucket.
 */
static void test_spill_count_runs(void **state)
{
    (void)state;
    rng_state = 6;
    enum { N = 1500000, VOCAB = 100000 };
    struct occ *all = malloc(N * sizeof *all);
    for (size_t i = 0; i < N; i++)
        skewed_word(&all[i], VOCAB);
    uint64_t runs = spill_and_check_words(1 << 20, all, N, MPIWC_SORT_COUNT, 0, true);
    /* The runs of the result: after the merge passes (FANIN runs into one, until FANIN are
     * left), two or more sorted by count and a bucket for each count. */
    uint64_t left = runs_before + 1, passes = 0; /* the table's last words too */
    for (; left > MPIWC_SPILL_FANIN; passes++)
        left -= MPIWC_SPILL_FANIN - 1;
    assert_true(runs - runs_before - 1 - passes >= 2 + MPIWC_SPILL_BUCKETS);
    (void)spill_and_check_words(256 << 10, all, N, MPIWC_SORT_COUNT, 1000, true);
    (void)spill_and_check_words(256 << 10, all, N, MPIWC_SORT_COUNT, 50000, true);
    (void)spill_and_check_words(256 << 10, all, N, MPIWC_SORT_WORD, 0, true);
    free(all);
}

/* No limit, or a table that fits: nothing spills, no directory is made. */
static void test_no_spill(void **state)
{
    (void)state;
    rng_state = 7;
    (void)spill_and_check(0, 20000, 5000, MPIWC_SORT_COUNT, 0, false);
    rng_state = 8;
    (void)spill_and_check(64 << 20, 20000, 5000, MPIWC_SORT_WORD, 3, false);
}

/* One run of a table: its path and bytes. */
static char *one_run(struct mpiwc_spill *s, uint8_t **bytes, size_t *len)
{
    mpiwc_spill_init(s, tmpdir, 1);
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    rng_state = 9;
    struct occ o;
    for (int i = 0; i < 50000; i++) {
        random_word(&o, 30000);
        mpiwc_table_add(&t, o.key, o.len, 1);
    }
    assert_int_equal(mpiwc_spill_table(s, &t), 0);
    mpiwc_table_free(&t);
    char *path = malloc(strlen(s->dir) + 32);
    sprintf(path, "%s/run-00000000", s->dir);
    char why[MPIWC_ERRLEN];
    char *data;
    assert_int_equal(mpiwc_read_whole(path, &data, len, why, sizeof why), 0);
    *bytes = (uint8_t *)data;
    return path;
}

/* Read the run at path to its end: the rows' count sum, or -1 on failure. */
static long long read_run(const char *path, char *why, size_t whylen)
{
    struct mpiwc_spill_stats st = {0};
    struct mpiwc_spill_reader *r;
    long long sum = 0;
    int rc = mpiwc_spill_reader_open(&r, path, &st, why, whylen);
    struct mpiwc_word w;
    if (rc == 0)
        while ((rc = mpiwc_rows_next(mpiwc_spill_reader_rows(r), &w, why, whylen)) > 0)
            sum += (long long)w.count;
    mpiwc_spill_reader_close(r);
    return rc < 0 ? -1 : sum;
}

static void put_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

/*
 * Every corruption is found: a bit flipped at many places (each block's CRC,
 * the header, the end), the file cut at many lengths, a byte appended. Never
 * rows with other counts.
 */
static void test_corrupt_runs(void **state)
{
    (void)state;
    struct mpiwc_spill s;
    uint8_t *bytes;
    size_t len;
    char *path = one_run(&s, &bytes, &len);
    char why[MPIWC_ERRLEN];
    assert_int_equal(read_run(path, why, sizeof why), 50000);
    uint8_t *copy = malloc(len + 1);
    for (size_t at = 0; at < len; at += 1 + len / 997) {
        memcpy(copy, bytes, len);
        copy[at] ^= 0x10;
        put_file(path, copy, len);
        assert_int_equal(read_run(path, why, sizeof why), -1);
        assert_non_null(strstr(why, path));
    }
    for (size_t cut = 0; cut < len; cut += 1 + len / 499) {
        put_file(path, bytes, cut);
        assert_int_equal(read_run(path, why, sizeof why), -1);
    }
    memcpy(copy, bytes, len);
    copy[len] = 0;
    put_file(path, copy, len + 1);
    assert_int_equal(read_run(path, why, sizeof why), -1);
    assert_non_null(strstr(why, "after its end"));
    put_file(path, bytes, len); /* intact again */
    assert_int_equal(read_run(path, why, sizeof why), 50000);
    free(copy);
    free(bytes);
    free(path);
    mpiwc_spill_close(&s);
    assert_int_equal(entries(tmpdir), 0);
}

/* A run of one block of rows (shared, rest, count, the rest's bytes) and the end block, as
 * spill.c writes them, header and CRCs right: only the rows' order can be wrong. */
static void put_run(const char *path, enum mpiwc_sort order, const char *const *rows, size_t n)
{
    uint8_t buf[512];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) { /* each row "S R C bytes": three one-byte varints */
        const char *r = rows[i];
        buf[len++] = (uint8_t)(r[0] - '0');
        buf[len++] = (uint8_t)(r[2] - '0');
        buf[len++] = (uint8_t)(r[4] - '0');
        memcpy(buf + len, r + 6, strlen(r + 6));
        len += strlen(r + 6);
    }
    uint8_t file[600];
    uint32_t head[4] = {2, (uint32_t)order, (uint32_t)len,
                        (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)len)};
    uint64_t nrows = n;
    uint32_t end[2] = {0, (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)&nrows, 8)};
    memcpy(file, "MPIWCRUN", 8);
    memcpy(file + 8, head, 16);
    memcpy(file + 24, buf, len);
    memcpy(file + 24 + len, end, 8);
    memcpy(file + 32 + len, &nrows, 8);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, file, 40 + len), (ssize_t)(40 + len));
    close(fd);
}

/*
 * Rows out of order in a run whose CRC is right are an error, never counts:
 * a smaller word, the same word again, a word that only shares its first
 * bytes with the last, a higher count in count order. Rows in order read.
 */
static void test_rows_out_of_order(void **state)
{
    (void)state;
    char path[sizeof tmpdir + 16];
    snprintf(path, sizeof path, "%s/run", tmpdir);
    char why[MPIWC_ERRLEN];
    static const struct {
        enum mpiwc_sort order;
        const char *rows[3];
        long long want; /* the count sum, or -1 */
    } cases[] = {
        {MPIWC_SORT_WORD, {"0 3 1 abc", "2 1 2 d", "0 2 3 b\xff"}, 6},
        {MPIWC_SORT_WORD, {"0 3 1 abc", "2 1 1 b", NULL}, -1},  /* abb after abc */
        {MPIWC_SORT_WORD, {"0 3 1 abc", "3 0 1 ", NULL}, -1},   /* abc twice */
        {MPIWC_SORT_WORD, {"0 3 1 abc", "2 0 1 ", NULL}, -1},   /* ab after abc */
        {MPIWC_SORT_WORD, {"0 2 1 ab", "2 1 1 \x01", NULL}, 2}, /* ab\x01 after ab */
        {MPIWC_SORT_WORD, {"0 2 1 bb", "0 2 1 ab", NULL}, -1},  /* shares nothing */
        {MPIWC_SORT_COUNT, {"0 2 5 zz", "0 1 3 a", "1 1 3 b"}, 11},
        {MPIWC_SORT_COUNT, {"0 2 3 zz", "0 1 5 a", NULL}, -1}, /* a higher count */
        {MPIWC_SORT_COUNT, {"0 2 3 zz", "1 0 3 ", NULL}, -1},  /* z after zz, same count */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].rows[2] ? 3 : 2;
        put_run(path, cases[i].order, cases[i].rows, n);
        long long got = read_run(path, why, sizeof why);
        if (got != cases[i].want)
            fail_msg("case %zu: %lld, want %lld (%s)", i, got, cases[i].want, got < 0 ? why : "");
        if (got < 0)
            assert_non_null(strstr(why, "out of order"));
    }
    assert_int_equal(unlink(path), 0);
}

/* The signal path removes the runs and the directory. */
static void test_on_signal(void **state)
{
    (void)state;
    struct mpiwc_spill s;
    uint8_t *bytes;
    size_t len;
    char *path = one_run(&s, &bytes, &len);
    assert_int_equal(entries(s.dir), 1);
    mpiwc_spill_on_signal();
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(s.dir, F_OK), -1);
    free(bytes);
    free(path);
    mpiwc_spill_close(&s); /* what is already gone is no error */
    assert_int_equal(entries(tmpdir), 0);
}

/* A spill directory that cannot be made: the reason, and the table emptied all the same. */
static void test_bad_dir(void **state)
{
    (void)state;
    char why[MPIWC_ERRLEN];
    assert_int_equal(mpiwc_spill_check_dir("/nonexistent/dir", why, sizeof why), -1);
    assert_non_null(strstr(why, "/nonexistent/dir"));
    assert_int_equal(mpiwc_spill_check_dir("/etc/hostname", why, sizeof why), -1);
    assert_int_equal(mpiwc_spill_check_dir(tmpdir, why, sizeof why), 0);
    struct mpiwc_spill s;
    mpiwc_spill_init(&s, "/nonexistent/dir", 1);
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    mpiwc_table_add(&t, "word", 4, 1);
    assert_int_equal(mpiwc_spill_table(&s, &t), -1);
    assert_true(s.failed);
    assert_non_null(strstr(s.msg, "/nonexistent/dir"));
    assert_int_equal(t.size, 0);
    mpiwc_table_free(&t);
    mpiwc_spill_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_combine),     cmocka_unit_test(test_spill_word_order),
        cmocka_unit_test(test_spill_count_order), cmocka_unit_test(test_spill_top),
        cmocka_unit_test(test_spill_many_runs),   cmocka_unit_test(test_spill_count_runs),
        cmocka_unit_test(test_no_spill),          cmocka_unit_test(test_corrupt_runs),
        cmocka_unit_test(test_rows_out_of_order), cmocka_unit_test(test_on_signal),
        cmocka_unit_test(test_bad_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

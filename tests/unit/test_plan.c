/*
 * Unit tests for plan.h: boundary arithmetic, the split of a file list over
 * ranks (every byte exactly once), pack/unpack, and path expansion on a
 * temporary directory tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mpiwc/plan.h"
#include "mpiwc/util.h"

/* ---- helpers ---- */

static void plan_files(struct mpiwc_plan *p, const char *const *paths, const uint64_t *sizes,
                       size_t n)
{
    memset(p, 0, sizeof *p);
    p->files = mpiwc_xcalloc(n ? n : 1, sizeof *p->files);
    for (size_t i = 0; i < n; i++) {
        p->files[i].path = mpiwc_xstrdup(paths[i]);
        p->files[i].size = sizes[i];
    }
    p->nfiles = n;
}

static void plan_sizes(struct mpiwc_plan *p, const uint64_t *sizes, size_t n)
{
    const char *names[64];
    char buf[64][24];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        snprintf(buf[i], sizeof buf[i], "f%zu", i);
        names[i] = buf[i];
    }
    plan_files(p, names, sizes, n);
}

/*
 * Check a split against the contract: rank r's ranges cover exactly the bytes
 * [boundary(r), boundary(r+1)) of the concatenation of the regular files,
 * every byte of every file once; stdin whole on rank 0; no empty ranges.
 */
static void check_split(const struct mpiwc_plan *p, int nranks)
{
    assert_int_equal(p->nranks, nranks);
    assert_non_null(p->rank_first);
    uint64_t total = 0;
    uint64_t *offset = calloc(p->nfiles + 1, sizeof *offset); /* file start in the concatenation */
    assert_non_null(offset);
    for (size_t f = 0; f < p->nfiles; f++) {
        offset[f] = total;
        if (p->files[f].size != MPIWC_PLAN_STREAM)
            total += p->files[f].size;
    }
    assert_int_equal(p->total_bytes, total);
    assert_int_equal(p->rank_first[0], 0);
    assert_int_equal(p->rank_first[nranks], p->nranges);

    /* Per-file coverage counters (files are small in these tests). */
    uint8_t **cover = calloc(p->nfiles + 1, sizeof *cover);
    size_t *stdin_ranges = calloc(p->nfiles + 1, sizeof *stdin_ranges);
    assert_non_null(cover);
    assert_non_null(stdin_ranges);
    for (size_t f = 0; f < p->nfiles; f++) {
        if (p->files[f].size != MPIWC_PLAN_STREAM) {
            cover[f] = calloc(p->files[f].size + 1, 1);
            assert_non_null(cover[f]);
        }
    }
    for (int r = 0; r < nranks; r++) {
        assert_true(p->rank_first[r] <= p->rank_first[r + 1]);
        uint64_t lo = mpiwc_plan_boundary(total, nranks, r);
        uint64_t hi = mpiwc_plan_boundary(total, nranks, r + 1);
        uint64_t got = 0;
        for (size_t i = p->rank_first[r]; i < p->rank_first[r + 1]; i++) {
            const struct mpiwc_plan_range *g = &p->ranges[i];
            assert_true(g->file < p->nfiles);
            const struct mpiwc_plan_file *f = &p->files[g->file];
            if (f->size == MPIWC_PLAN_STREAM) {
                assert_int_equal(r, 0); /* stdin goes whole to rank 0 */
                assert_int_equal(g->start, 0);
                assert_int_equal(g->end, MPIWC_PLAN_STREAM);
                stdin_ranges[g->file]++;
                continue;
            }
            assert_true(g->start < g->end); /* no empty range */
            assert_true(g->end <= f->size);
            assert_true(offset[g->file] + g->start >= lo);
            assert_true(offset[g->file] + g->end <= hi);
            got += g->end - g->start;
            for (uint64_t b = g->start; b < g->end; b++)
                cover[g->file][b]++;
        }
        assert_int_equal(got, hi - lo);
    }
    for (size_t f = 0; f < p->nfiles; f++) {
        if (p->files[f].size == MPIWC_PLAN_STREAM) {
            assert_int_equal(stdin_ranges[f], 1);
            continue;
        }
        for (uint64_t b = 0; b < p->files[f].size; b++)
            assert_int_equal(cover[f][b], 1);
        free(cover[f]);
    }
    free(cover);
    free(stdin_ranges);
    free(offset);
}

/* ---- boundary ---- */

static void test_boundary_arithmetic(void **state)
{
    (void)state;
    static const uint64_t totals[] = {0,
                                      1,
                                      2,
                                      3,
                                      5,
                                      7,
                                      10,
                                      63,
                                      64,
                                      65,
                                      100,
                                      1000,
                                      999,
                                      4097,
                                      1u << 20,
                                      UINT64_C(1) << 40,
                                      (UINT64_C(1) << 40) + 3,
                                      UINT64_MAX / 2};
    for (size_t t = 0; t < sizeof totals / sizeof totals[0]; t++) {
        uint64_t total = totals[t];
        for (int n = 1; n <= 130; n++) {
            uint64_t q = total / (uint64_t)n, rem = total % (uint64_t)n;
            assert_int_equal(mpiwc_plan_boundary(total, n, 0), 0);
            assert_int_equal(mpiwc_plan_boundary(total, n, n), total);
            uint64_t sum = 0, mn = UINT64_MAX, mx = 0;
            for (int r = 0; r < n; r++) {
                uint64_t a = mpiwc_plan_boundary(total, n, r);
                uint64_t b = mpiwc_plan_boundary(total, n, r + 1);
                assert_true(a <= b);
                uint64_t size = b - a;
                /* the first total % n ranks get one byte more */
                assert_int_equal(size, q + ((uint64_t)r < rem ? 1 : 0));
                sum += size;
                mn = size < mn ? size : mn;
                mx = size > mx ? size : mx;
            }
            assert_int_equal(sum, total);
            assert_true(mx - mn <= 1);
        }
    }
    /* Spelled out. */
    assert_int_equal(mpiwc_plan_boundary(10, 3, 1), 4);
    assert_int_equal(mpiwc_plan_boundary(10, 3, 2), 7);
    assert_int_equal(mpiwc_plan_boundary(2, 5, 1), 1);
    assert_int_equal(mpiwc_plan_boundary(2, 5, 2), 2);
    assert_int_equal(mpiwc_plan_boundary(2, 5, 4), 2);
    assert_int_equal(mpiwc_plan_boundary(0, 4, 3), 0);
    /* Large rank counts and totals without overflow. */
    assert_int_equal(mpiwc_plan_boundary(UINT64_MAX, 1 << 20, 1 << 20), UINT64_MAX);
    assert_int_equal(mpiwc_plan_boundary(UINT64_MAX - 1, 3, 3), UINT64_MAX - 1);
    assert_int_equal(mpiwc_plan_boundary(UINT64_MAX, 2, 1), UINT64_C(1) << 63);
}

/* ---- split ---- */

static void test_split_many_rank_counts(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {10, 0, 3, 0, 25, 1, 7, 0};
    struct mpiwc_plan p;
    plan_sizes(&p, sizes, sizeof sizes / sizeof sizes[0]);
    for (int n = 1; n <= 60; n++) { /* total 46: includes more ranks than bytes */
        mpiwc_plan_split(&p, n);
        check_split(&p, n);
    }
    /* One rank: exactly one range per non-empty file, whole files in order. */
    mpiwc_plan_split(&p, 1);
    assert_int_equal(p.nranges, 5);
    static const uint32_t nonempty[] = {0, 2, 4, 5, 6};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(p.ranges[i].file, nonempty[i]);
        assert_int_equal(p.ranges[i].start, 0);
        assert_int_equal(p.ranges[i].end, sizes[nonempty[i]]);
    }
    mpiwc_plan_free(&p);
    assert_null(p.files);
    assert_null(p.ranges);
    assert_null(p.rank_first);
    assert_int_equal(p.nfiles, 0);
    assert_int_equal(p.nranges, 0);
}

static void test_split_spelled_out(void **state)
{
    (void)state;
    /* files of 4 and 6 bytes over 3 ranks: boundaries 0, 4, 7, 10 */
    static const uint64_t sizes[] = {4, 6};
    struct mpiwc_plan p;
    plan_sizes(&p, sizes, 2);
    mpiwc_plan_split(&p, 3);
    check_split(&p, 3);
    assert_int_equal(p.nranges, 3);
    assert_int_equal(p.rank_first[1], 1);
    assert_int_equal(p.rank_first[2], 2);
    assert_int_equal(p.ranges[0].file, 0);
    assert_int_equal(p.ranges[0].start, 0);
    assert_int_equal(p.ranges[0].end, 4);
    assert_int_equal(p.ranges[1].file, 1);
    assert_int_equal(p.ranges[1].start, 0);
    assert_int_equal(p.ranges[1].end, 3);
    assert_int_equal(p.ranges[2].file, 1);
    assert_int_equal(p.ranges[2].start, 3);
    assert_int_equal(p.ranges[2].end, 6);

    /* 2 ranks: boundary 5 cuts the second file. */
    mpiwc_plan_split(&p, 2);
    check_split(&p, 2);
    assert_int_equal(p.nranges, 3);
    assert_int_equal(p.rank_first[1], 2);
    assert_int_equal(p.ranges[1].file, 1);
    assert_int_equal(p.ranges[1].end, 1);
    assert_int_equal(p.ranges[2].start, 1);
    mpiwc_plan_free(&p);
}

static void test_split_random_sizes(void **state)
{
    (void)state;
    uint32_t x = 4242;
    for (int trial = 0; trial < 200; trial++) {
        uint64_t sizes[12];
        x = x * 1664525u + 1013904223u;
        size_t n = 1 + (x >> 24) % 12;
        for (size_t i = 0; i < n; i++) {
            x = x * 1664525u + 1013904223u;
            sizes[i] = (x >> 28) < 4 ? 0 : (x >> 16) % 300;
        }
        struct mpiwc_plan p;
        plan_sizes(&p, sizes, n);
        x = x * 1664525u + 1013904223u;
        int nranks = 1 + (int)((x >> 20) % 40);
        mpiwc_plan_split(&p, nranks);
        check_split(&p, nranks);
        mpiwc_plan_free(&p);
    }
}

static void test_split_all_empty_and_no_files(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {0, 0, 0};
    struct mpiwc_plan p;
    plan_sizes(&p, sizes, 3);
    for (int n = 1; n <= 5; n++) {
        mpiwc_plan_split(&p, n);
        check_split(&p, n);
        assert_int_equal(p.nranges, 0);
        assert_int_equal(p.total_bytes, 0);
    }
    mpiwc_plan_free(&p);
}

static void test_split_stdin(void **state)
{
    (void)state;
    static const char *const paths[] = {"a", "-", "b", "c"};
    static const uint64_t sizes[] = {5, MPIWC_PLAN_STREAM, 0, 9};
    struct mpiwc_plan p;
    plan_files(&p, paths, sizes, 4);
    for (int n = 1; n <= 20; n++) {
        mpiwc_plan_split(&p, n);
        check_split(&p, n);
        assert_int_equal(p.total_bytes, 14); /* stdin excluded */
    }
    mpiwc_plan_free(&p);

    /* stdin only: rank 0 reads it, the others nothing. */
    static const char *const only[] = {"-"};
    static const uint64_t only_size[] = {MPIWC_PLAN_STREAM};
    plan_files(&p, only, only_size, 1);
    mpiwc_plan_split(&p, 4);
    check_split(&p, 4);
    assert_int_equal(p.nranges, 1);
    assert_int_equal(p.rank_first[1], 1);
    assert_int_equal(p.ranges[0].file, 0);
    assert_int_equal(p.total_bytes, 0);
    mpiwc_plan_free(&p);
}

static void test_split_big_sizes(void **state)
{
    (void)state;
    /* Byte coverage is not enumerable here: check the arithmetic only. */
    static const uint64_t sizes[] = {UINT64_C(5) << 40, 1, UINT64_C(3) << 33};
    struct mpiwc_plan p;
    plan_sizes(&p, sizes, 3);
    const int n = 7;
    mpiwc_plan_split(&p, n);
    assert_int_equal(p.total_bytes, sizes[0] + sizes[1] + sizes[2]);
    uint64_t per_file[3] = {0};
    for (int r = 0; r < n; r++) {
        uint64_t got = 0;
        for (size_t i = p.rank_first[r]; i < p.rank_first[r + 1]; i++) {
            const struct mpiwc_plan_range *g = &p.ranges[i];
            assert_true(g->file < 3);
            assert_true(g->start < g->end && g->end <= sizes[g->file]);
            got += g->end - g->start;
            per_file[g->file] += g->end - g->start;
        }
        assert_int_equal(got, mpiwc_plan_boundary(p.total_bytes, n, r + 1) -
                                  mpiwc_plan_boundary(p.total_bytes, n, r));
    }
    for (size_t f = 0; f < 3; f++)
        assert_int_equal(per_file[f], sizes[f]);
    mpiwc_plan_free(&p);
}

/* ---- pack / unpack ---- */

static void assert_plans_equal(const struct mpiwc_plan *a, const struct mpiwc_plan *b)
{
    assert_int_equal(a->nfiles, b->nfiles);
    for (size_t i = 0; i < a->nfiles; i++) {
        assert_string_equal(a->files[i].path, b->files[i].path);
        assert_int_equal(a->files[i].size, b->files[i].size);
        assert_int_equal(a->files[i].codec, b->files[i].codec);
        assert_int_equal(a->files[i].to_eof, b->files[i].to_eof);
    }
    assert_int_equal(a->nranks, b->nranks);
    assert_int_equal(a->nranges, b->nranges);
    for (size_t i = 0; i < a->nranges; i++) {
        assert_int_equal(a->ranges[i].file, b->ranges[i].file);
        assert_int_equal(a->ranges[i].start, b->ranges[i].start);
        assert_int_equal(a->ranges[i].end, b->ranges[i].end);
    }
    for (int r = 0; r <= a->nranks; r++)
        assert_int_equal(a->rank_first[r], b->rank_first[r]);
    assert_int_equal(a->total_bytes, b->total_bytes);
}

static void make_sample_plan(struct mpiwc_plan *p, int nranks)
{
    static const char *const paths[] = {"dir/one.txt", "-", "a", "two \xff\xc3\xa9 with spaces",
                                        "empty",       "x"};
    static const uint64_t sizes[] = {1000, MPIWC_PLAN_STREAM, 5, UINT64_C(1) << 40, 0, 17};
    plan_files(p, paths, sizes, 6);
    mpiwc_plan_split(p, nranks);
}

static void test_pack_round_trip(void **state)
{
    (void)state;
    static const int rank_counts[] = {1, 2, 3, 8, 100};
    for (size_t k = 0; k < sizeof rank_counts / sizeof rank_counts[0]; k++) {
        struct mpiwc_plan p;
        make_sample_plan(&p, rank_counts[k]);
        uint8_t *buf = NULL;
        size_t len = mpiwc_plan_pack(&p, &buf);
        assert_non_null(buf);
        assert_true(len > 0);
        struct mpiwc_plan q;
        memset(&q, 0, sizeof q);
        assert_int_equal(mpiwc_plan_unpack(&q, buf, len), 0);
        assert_plans_equal(&p, &q);
        /* The unpacked plan owns its memory: freeing the source changes nothing. */
        mpiwc_plan_free(&p);
        memset(buf, 0xee, len);
        assert_string_equal(q.files[0].path, "dir/one.txt");
        assert_string_equal(q.files[3].path, "two \xff\xc3\xa9 with spaces");
        mpiwc_plan_free(&q);
        free(buf);
    }

    /* A plan with no files at all. */
    struct mpiwc_plan p;
    plan_sizes(&p, NULL, 0);
    mpiwc_plan_split(&p, 3);
    uint8_t *buf = NULL;
    size_t len = mpiwc_plan_pack(&p, &buf);
    struct mpiwc_plan q;
    memset(&q, 0, sizeof q);
    assert_int_equal(mpiwc_plan_unpack(&q, buf, len), 0);
    assert_plans_equal(&p, &q);
    mpiwc_plan_free(&p);
    mpiwc_plan_free(&q);
    free(buf);
}

/* Copy len bytes to the end of a mapping followed by an inaccessible page. */
static uint8_t *guarded_copy(const uint8_t *src, size_t len, uint8_t **map, size_t *maplen)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    *maplen = ((len + page - 1) / page + 1) * page;
    void *m = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    *map = m;
    assert_int_equal(mprotect(*map + *maplen - page, page, PROT_NONE), 0);
    uint8_t *dst = *map + *maplen - page - len;
    if (len)
        memcpy(dst, src, len);
    return dst;
}

static void test_unpack_rejects_truncation(void **state)
{
    (void)state;
    struct mpiwc_plan p;
    make_sample_plan(&p, 5);
    uint8_t *buf = NULL;
    size_t len = mpiwc_plan_pack(&p, &buf);
    for (size_t l = 0; l < len; l++) {
        uint8_t *map;
        size_t maplen;
        uint8_t *g = guarded_copy(buf, l, &map, &maplen);
        struct mpiwc_plan q;
        memset(&q, 0, sizeof q);
        if (mpiwc_plan_unpack(&q, g, l) != -1)
            fail_msg("unpack accepted a buffer truncated to %zu of %zu bytes", l, len);
        munmap(map, maplen);
    }
    /* The full length, through the same guard, still works. */
    uint8_t *map;
    size_t maplen;
    uint8_t *g = guarded_copy(buf, len, &map, &maplen);
    struct mpiwc_plan q;
    memset(&q, 0, sizeof q);
    assert_int_equal(mpiwc_plan_unpack(&q, g, len), 0);
    assert_plans_equal(&p, &q);
    mpiwc_plan_free(&q);
    munmap(map, maplen);
    mpiwc_plan_free(&p);
    free(buf);
}

/*
 * Corrupt each byte in turn: unpack must not crash or read out of bounds, and
 * whatever it accepts must be a consistent plan.
 */
static void test_unpack_corrupt_bytes(void **state)
{
    (void)state;
    struct mpiwc_plan p;
    make_sample_plan(&p, 4);
    uint8_t *buf = NULL;
    size_t len = mpiwc_plan_pack(&p, &buf);
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0xff};
    for (size_t i = 0; i < len; i++) {
        for (size_t v = 0; v < sizeof values; v++) {
            uint8_t *map;
            size_t maplen;
            uint8_t *g = guarded_copy(buf, len, &map, &maplen);
            g[i] = values[v];
            struct mpiwc_plan q;
            memset(&q, 0, sizeof q);
            if (mpiwc_plan_unpack(&q, g, len) == 0) {
                assert_true(q.nranks >= 1);
                assert_non_null(q.rank_first);
                assert_int_equal(q.rank_first[0], 0);
                for (int r = 0; r < q.nranks; r++)
                    assert_true(q.rank_first[r] <= q.rank_first[r + 1]);
                assert_int_equal(q.rank_first[q.nranks], q.nranges);
                for (size_t k = 0; k < q.nranges; k++) {
                    assert_true(q.ranges[k].file < q.nfiles);
                    assert_true(q.ranges[k].start <= q.ranges[k].end);
                }
                for (size_t k = 0; k < q.nfiles; k++)
                    assert_non_null(q.files[k].path);
                mpiwc_plan_free(&q);
            }
            munmap(map, maplen);
        }
    }
    mpiwc_plan_free(&p);
    free(buf);
}

/* ---- expand ---- */

struct tree {
    char root[64];
};

static void write_file(const char *dir, const char *name, size_t size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc('a' + (int)(i % 26), f);
    assert_int_equal(fclose(f), 0);
}

static void make_dir(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void rm_tree(const char *root)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static int tree_setup(void **state)
{
    struct tree *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    snprintf(t->root, sizeof t->root, "/tmp/mpiwc-plan-XXXXXX");
    if (!mkdtemp(t->root))
        return -1;
    *state = t;
    return 0;
}

static int tree_teardown(void **state)
{
    struct tree *t = *state;
    rm_tree(t->root);
    free(t);
    return 0;
}

/* Expected order when root is expanded: depth first, names in byte order. */
static void test_expand_directory_order(void **state)
{
    struct tree *t = *state;
    const char *r = t->root;
    char d[512];
    write_file(r, "b", 3);
    write_file(r, "a", 0); /* empty: may be listed, takes no range */
    make_dir(r, "sub");
    make_dir(r, "c"); /* a directory without files inside the tree */
    snprintf(d, sizeof d, "%s/sub", r);
    write_file(d, "z", 5);
    write_file(d, "A", 1);        /* 'A' (0x41) before 'd' and 'z' */
    write_file(d, "\xc3\xa9", 4); /* bytes >= 0x80 after ASCII */
    make_dir(d, "deeper");
    snprintf(d, sizeof d, "%s/sub/deeper", r);
    write_file(d, "x", 2);
    write_file(r, "B", 6);

    static const char *const rel[] = {"B",     "a",           "b", "sub/A", "sub/deeper/x",
                                      "sub/z", "sub/\xc3\xa9"};
    static const uint64_t size[] = {6, 0, 3, 1, 2, 5, 4};
    const size_t nexp = sizeof rel / sizeof rel[0];

    struct mpiwc_plan p;
    memset(&p, 0, sizeof p);
    char err[1024] = "";
    char *paths[1] = {t->root};
    if (mpiwc_plan_expand_filtered(&p, paths, 1, NULL, err, sizeof err) != 0)
        fail_msg("expand failed: %s", err);
    /* Listed files are the expected ones in the expected order; only empty ones may be missing. */
    size_t j = 0;
    for (size_t i = 0; i < p.nfiles; i++) {
        char want[512];
        while (j < nexp) {
            snprintf(want, sizeof want, "%s/%s", r, rel[j]);
            if (strcmp(want, p.files[i].path) == 0)
                break;
            if (size[j] != 0)
                fail_msg("file %zu is '%s', expected '%s'", i, p.files[i].path, want);
            j++;
        }
        if (j == nexp)
            fail_msg("unexpected file '%s'", p.files[i].path);
        assert_int_equal(p.files[i].size, size[j]);
        j++;
    }
    for (; j < nexp; j++)
        assert_int_equal(size[j], 0);
    assert_true(p.nfiles >= nexp - 1);

    /* A split of the expanded plan is well formed too. */
    mpiwc_plan_split(&p, 4);
    check_split(&p, 4);
    assert_int_equal(p.total_bytes, 21);
    mpiwc_plan_free(&p);
}

/*
 * Walk the cut listing's units in reverse order (as ranks finish in any order)
 * and splice; with res, probing as they walk (*res: a record per file).
 */
static int cut_and_splice(char **paths, size_t npaths, size_t want, struct mpiwc_plan *p,
                          size_t *nunits, struct mpiwc_plan_probe **res)
{
    struct mpiwc_plan_cut cut;
    memset(p, 0, sizeof *p);
    if (mpiwc_plan_list_cut(p, paths, npaths, NULL, want, &cut) != 0)
        return -1;
    *nunits = cut.nunits;
    struct mpiwc_plan *walked = calloc(cut.nunits + 1, sizeof *walked);
    struct mpiwc_plan_probe **probes = calloc(cut.nunits + 1, sizeof *probes);
    assert_non_null(walked);
    assert_non_null(probes);
    struct mpiwc_prober prober;
    mpiwc_prober_init(&prober);
    int rc = 0;
    for (size_t u = cut.nunits; u-- > 0;)
        if (mpiwc_plan_walk_unit(&cut.units[u], NULL, res ? &prober : NULL, &walked[u],
                                 &probes[u]) != 0)
            rc = -1;
    mpiwc_prober_free(&prober);
    if (rc == 0)
        rc = mpiwc_plan_splice(p, &cut, walked, probes, res);
    for (size_t u = 0; u < cut.nunits; u++) {
        mpiwc_plan_free(&walked[u]);
        free(probes[u]);
    }
    free(walked);
    free(probes);
    mpiwc_plan_cut_free(&cut);
    if (rc != 0)
        mpiwc_plan_free(p);
    return rc;
}

/*
 * The walk cut into units (mpiwc_plan_list_cut, walked one by one, spliced)
 * gives mpiwc_plan_list's files in its order, and its skipped entries (the
 * count, and the first in walk order: inside a unit, before the listing's
 * own), whatever the units wanted; and -1 where the whole walk fails. The
 * units' files probed as walked (by name in their directory) give the
 * records of mpiwc_plan_probe by whole path; the listing's own are left.
 */
static void test_cut_walk_is_the_whole_walk(void **state)
{
    struct tree *t = *state;
    const char *r = t->root;
    char d[512], e[600];
    write_file(r, "a.txt", 3);
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof name, "d%d", i);
        make_dir(r, name);
        snprintf(d, sizeof d, "%s/%s", r, name);
        write_file(d, "f", (size_t)i + 1);
        make_dir(d, "sub");
        snprintf(e, sizeof e, "%s/sub", d);
        write_file(e, "g", 2);
        snprintf(name, sizeof name, "m%d.txt", i);
        write_file(r, name, 1);
    }
    snprintf(e, sizeof e, "%s/d2/sub/fifo", r);
    assert_int_equal(mkfifo(e, 0600), 0);
    snprintf(e, sizeof e, "%s/z-fifo", r);
    assert_int_equal(mkfifo(e, 0600), 0);
    snprintf(e, sizeof e, "%s/d1/link", r); /* a link to a file, followed */
    assert_int_equal(symlink("../m3.txt", e), 0);
    snprintf(d, sizeof d, "%s/d3", r);
    FILE *gz = fopen(strcat(d, "/z.gz"), "wb"); /* a gzip header: a codec and an estimate */
    assert_non_null(gz);
    static const unsigned char head[32] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, [28] = 200};
    assert_int_equal(fwrite(head, 1, sizeof head, gz), sizeof head);
    assert_int_equal(fclose(gz), 0);
    char *paths[1] = {t->root};
    char err[1024] = "";
    struct mpiwc_plan whole, cut;
    memset(&whole, 0, sizeof whole);
    if (mpiwc_plan_list(&whole, paths, 1, NULL, err, sizeof err) != 0)
        fail_msg("list failed: %s", err);
    assert_int_equal(whole.nfiles, 1 + 6 * 3 + 2);
    assert_int_equal(whole.skipped, 2);
    static const size_t wants[] = {0, 1, 6, 7, 100};
    for (size_t k = 0; k < sizeof wants / sizeof wants[0]; k++) {
        size_t nunits = 0;
        struct mpiwc_plan_probe *res = NULL;
        assert_int_equal(cut_and_splice(paths, 1, wants[k], &cut, &nunits, k % 2 ? &res : NULL), 0);
        /* 6 units at depth 1 and at depth 2, none deeper: the first depth */
        assert_int_equal(nunits, 6);
        assert_int_equal(cut.nfiles, whole.nfiles);
        for (size_t i = 0; i < whole.nfiles; i++)
            assert_string_equal(cut.files[i].path, whole.files[i].path);
        assert_int_equal(cut.skipped, whole.skipped);
        assert_string_equal(cut.first_skipped, whole.first_skipped);
        for (size_t i = 0; res && i < cut.nfiles; i++) {
            bool in_unit = strchr(cut.files[i].path + strlen(r) + 1, '/') != NULL;
            assert_int_equal(res[i].done, in_unit);
            struct mpiwc_plan_probe by_path;
            mpiwc_plan_probe(&cut.files[i].path, 1, &by_path);
            assert_int_equal(by_path.done, 1);
            assert_int_equal(by_path.error, 0);
            if (in_unit)
                assert_memory_equal(&res[i], &by_path, sizeof by_path);
            if (strstr(cut.files[i].path, "z.gz"))
                assert_int_not_equal(res[i].codec, 0);
        }
        free(res);
        mpiwc_plan_free(&cut);
    }
    mpiwc_plan_free(&whole);

    /* A command-line directory whose directories hold nothing: -1 (list again). */
    char empty[600];
    snprintf(empty, sizeof empty, "%s/d4/sub", r);
    char gone[700];
    snprintf(gone, sizeof gone, "%s/g", empty);
    assert_int_equal(unlink(gone), 0);
    char *only[1] = {empty};
    snprintf(d, sizeof d, "%s/d4", r);
    snprintf(gone, sizeof gone, "%s/f", d);
    assert_int_equal(unlink(gone), 0);
    char *four[1] = {d};
    size_t nunits = 0;
    assert_int_equal(cut_and_splice(four, 1, 8, &cut, &nunits, NULL), -1);
    assert_int_equal(mpiwc_plan_list(&whole, four, 1, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "directory has no files"));
    assert_int_equal(cut_and_splice(only, 1, 8, &cut, &nunits, NULL), -1);
}

/*
 * The job's way: list, probe in slices (as the ranks do, each its own share),
 * apply. The files, sizes and codecs equal one mpiwc_plan_expand_filtered; a probe
 * that fails names the first failing file in list order, whichever slice.
 */
static void test_list_probe_in_slices(void **state)
{
    struct tree *t = *state;
    const char *r = t->root;
    char d[512];
    for (int i = 0; i < 9; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        write_file(r, name, (size_t)(i * 7 % 5));
    }
    make_dir(r, "sub");
    snprintf(d, sizeof d, "%s/sub", r);
    write_file(d, "g", 11);
    char *paths[1] = {t->root};
    char err[1024] = "";
    struct mpiwc_plan whole, listed;
    memset(&whole, 0, sizeof whole);
    memset(&listed, 0, sizeof listed);
    if (mpiwc_plan_expand_filtered(&whole, paths, 1, NULL, err, sizeof err) != 0)
        fail_msg("expand failed: %s", err);
    for (int slices = 1; slices <= 4; slices++) {
        if (mpiwc_plan_list(&listed, paths, 1, NULL, err, sizeof err) != 0)
            fail_msg("list failed: %s", err);
        size_t n = listed.nfiles;
        assert_int_equal(n, 10);
        char **names = calloc(n, sizeof *names);
        struct mpiwc_plan_probe *res = calloc(n, sizeof *res);
        assert_non_null(names);
        assert_non_null(res);
        for (size_t i = 0; i < n; i++) {
            names[i] = listed.files[i].path;
            assert_int_equal(listed.files[i].size, 0); /* nothing opened yet */
        }
        for (int k = 0; k < slices; k++) {
            uint64_t a = mpiwc_plan_boundary(n, slices, k),
                     b = mpiwc_plan_boundary(n, slices, k + 1);
            mpiwc_plan_probe(names + a, (size_t)(b - a), res + a);
        }
        free(names);
        assert_int_equal(mpiwc_plan_apply_probes(&listed, res, err, sizeof err), 0);
        free(res);
        assert_int_equal(listed.nfiles, whole.nfiles);
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(listed.files[i].path, whole.files[i].path);
            assert_int_equal(listed.files[i].size, whole.files[i].size);
            assert_int_equal(listed.files[i].weight, whole.files[i].weight);
            assert_int_equal(listed.files[i].codec, whole.files[i].codec);
        }
        mpiwc_plan_free(&listed);
    }
    mpiwc_plan_free(&whole);

    /* Two files vanish after listing: the error names the first of them. */
    if (mpiwc_plan_list(&listed, paths, 1, NULL, err, sizeof err) != 0)
        fail_msg("list failed: %s", err);
    char gone3[600], gone7[600];
    snprintf(gone3, sizeof gone3, "%s/f3", r);
    snprintf(gone7, sizeof gone7, "%s/f7", r);
    assert_int_equal(unlink(gone7), 0);
    assert_int_equal(unlink(gone3), 0);
    struct mpiwc_plan_probe *res = calloc(listed.nfiles, sizeof *res);
    char **names = calloc(listed.nfiles, sizeof *names);
    assert_non_null(res);
    assert_non_null(names);
    for (size_t i = 0; i < listed.nfiles; i++)
        names[i] = listed.files[i].path;
    mpiwc_plan_probe(names + 5, listed.nfiles - 5, res + 5); /* the later slice first */
    mpiwc_plan_probe(names, 5, res);
    free(names);
    assert_int_equal(mpiwc_plan_apply_probes(&listed, res, err, sizeof err), -1);
    free(res);
    assert_non_null(strstr(err, gone3));
    assert_null(strstr(err, gone7));
    mpiwc_plan_free(&listed);
}

static void test_expand_files_in_command_order(void **state)
{
    struct tree *t = *state;
    write_file(t->root, "one", 10);
    write_file(t->root, "two", 20);
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/two", t->root);
    snprintf(p2, sizeof p2, "%s/one", t->root);
    char dash[] = "-";
    char *paths[3] = {p1, dash, p2};
    struct mpiwc_plan p;
    memset(&p, 0, sizeof p);
    char err[1024] = "";
    if (mpiwc_plan_expand_filtered(&p, paths, 3, NULL, err, sizeof err) != 0)
        fail_msg("expand failed: %s", err);
    assert_int_equal(p.nfiles, 3);
    assert_string_equal(p.files[0].path, p1);
    assert_int_equal(p.files[0].size, 20);
    assert_string_equal(p.files[1].path, "-");
    assert_int_equal(p.files[1].size, MPIWC_PLAN_STREAM);
    assert_string_equal(p.files[2].path, p2);
    assert_int_equal(p.files[2].size, 10);
    mpiwc_plan_free(&p);
}

static void expect_expand_error(char **paths, size_t n, const char *must_mention)
{
    struct mpiwc_plan p;
    memset(&p, 0, sizeof p);
    char err[1024] = "";
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, n, NULL, err, sizeof err), -1);
    if (!strstr(err, must_mention))
        fail_msg("error '%s' does not name '%s'", err, must_mention);
    mpiwc_plan_free(&p);
}

static void test_expand_missing(void **state)
{
    struct tree *t = *state;
    write_file(t->root, "here", 3);
    char good[512], bad[512];
    snprintf(good, sizeof good, "%s/here", t->root);
    snprintf(bad, sizeof bad, "%s/not-there", t->root);
    char *paths[2] = {good, bad};
    expect_expand_error(paths, 2, bad);
    char *first[1] = {bad};
    expect_expand_error(first, 1, bad);
    /* err is truncated safely to errlen. */
    struct mpiwc_plan p;
    memset(&p, 0, sizeof p);
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, first, 1, NULL, small, sizeof small), -1);
    assert_non_null(memchr(small, 0, sizeof small));
    mpiwc_plan_free(&p);
}

static void test_expand_dir_without_files(void **state)
{
    struct tree *t = *state;
    char empty[512], nested[512];
    snprintf(empty, sizeof empty, "%s/empty", t->root);
    assert_int_equal(mkdir(empty, 0755), 0);
    char *paths[1] = {empty};
    expect_expand_error(paths, 1, empty);
    /* Only empty subdirectories: still no files. */
    snprintf(nested, sizeof nested, "%s/empty/inner", t->root);
    assert_int_equal(mkdir(nested, 0755), 0);
    expect_expand_error(paths, 1, empty);
}

static void test_expand_dash_twice(void **state)
{
    (void)state;
    char d1[] = "-", d2[] = "-";
    char *paths[2] = {d1, d2};
    expect_expand_error(paths, 2, "-");
    /* Once is fine. */
    struct mpiwc_plan p;
    memset(&p, 0, sizeof p);
    char err[256] = "";
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, 1, NULL, err, sizeof err), 0);
    assert_int_equal(p.nfiles, 1);
    assert_string_equal(p.files[0].path, "-");
    assert_int_equal(p.files[0].size, MPIWC_PLAN_STREAM);
    mpiwc_plan_free(&p);
}

static void test_expand_not_regular(void **state)
{
    struct tree *t = *state;
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/fifo", t->root);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char *paths[1] = {fifo};
    expect_expand_error(paths, 1, fifo);
}

/* ---- compressed files, lists and filters ---- */

/* Plan files: sizes[i], and for compressed ones (weights[i] != 0) codec gzip and that weight. */
static void plan_mixed(struct mpiwc_plan *p, const uint64_t *sizes, const uint64_t *weights,
                       size_t n)
{
    plan_sizes(p, sizes, n);
    for (size_t i = 0; i < n; i++)
        if (weights[i]) {
            p->files[i].codec = 1; /* MPIWC_CODEC_GZIP */
            p->files[i].weight = weights[i];
        }
}

/* Every compressed file exactly once, whole; every plain byte once; returns rank loads. */
static void check_mixed(const struct mpiwc_plan *p, uint64_t *load)
{
    uint64_t *covered = calloc(p->nfiles + 1, sizeof *covered);
    assert_non_null(covered);
    for (int r = 0; r < p->nranks; r++) {
        load[r] = mpiwc_plan_rank_bytes(p, r);
        for (size_t i = p->rank_first[r]; i < p->rank_first[r + 1]; i++) {
            const struct mpiwc_plan_range *g = &p->ranges[i];
            const struct mpiwc_plan_file *f = &p->files[g->file];
            assert_true(g->end > g->start);
            if (f->codec) {
                assert_int_equal(g->start, 0);
                assert_int_equal(g->end, f->size);
            }
            covered[g->file] += g->end - g->start;
        }
    }
    for (size_t i = 0; i < p->nfiles; i++)
        assert_int_equal(covered[i], p->files[i].size);
    free(covered);
}

static void test_split_compressed_whole(void **state)
{
    (void)state;
    struct mpiwc_plan p;
    uint64_t load[16];
    /* 4 compressed files of 100 estimated bytes and 400 plain bytes over 4 ranks: 200 each. */
    static const uint64_t s1[] = {25, 300, 25, 25, 100, 25};
    static const uint64_t w1[] = {100, 0, 100, 100, 0, 100};
    plan_mixed(&p, s1, w1, 6);
    mpiwc_plan_split(&p, 4);
    check_mixed(&p, load);
    assert_int_equal(p.total_bytes, 800);
    for (int r = 0; r < 4; r++)
        assert_int_equal(load[r], 200);
    mpiwc_plan_free(&p);

    /* One big compressed file: its rank gets no plain bytes, the others share them. */
    static const uint64_t s2[] = {600, 250};
    static const uint64_t w2[] = {0, 1000};
    plan_mixed(&p, s2, w2, 2);
    mpiwc_plan_split(&p, 4);
    check_mixed(&p, load);
    assert_int_equal(load[0], 1000);
    assert_int_equal(p.rank_first[1] - p.rank_first[0], 1); /* only the compressed file */
    for (int r = 1; r < 4; r++)
        assert_int_equal(load[r], 200);
    mpiwc_plan_free(&p);

    /* Random mixes at many rank counts: well formed, and balanced within the largest file. */
    srand(11);
    for (int round = 0; round < 200; round++) {
        uint64_t s[40], w[40], maxw = 1, total = 0;
        size_t n = 1 + (size_t)(rand() % 40);
        for (size_t i = 0; i < n; i++) {
            s[i] = (uint64_t)(rand() % 5000);
            w[i] = rand() % 2 && s[i] ? s[i] * (uint64_t)(1 + rand() % 6) : 0;
            maxw = w[i] > maxw ? w[i] : maxw;
            total += w[i] ? w[i] : s[i];
        }
        int nranks = 1 + rand() % 16;
        plan_mixed(&p, s, w, n);
        mpiwc_plan_split(&p, nranks);
        check_mixed(&p, load);
        assert_int_equal(p.total_bytes, total);
        for (int r = 0; r < nranks; r++)
            assert_true(load[r] <= total / (uint64_t)nranks + maxw + 1);
        /* The packed plan keeps codecs and weights. */
        uint8_t *buf;
        size_t len = mpiwc_plan_pack(&p, &buf);
        struct mpiwc_plan q;
        assert_int_equal(mpiwc_plan_unpack(&q, buf, len), 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(q.files[i].codec, p.files[i].codec);
            if (p.files[i].codec)
                assert_int_equal(q.files[i].weight, p.files[i].weight);
        }
        free(buf);
        mpiwc_plan_free(&q);
        mpiwc_plan_free(&p);
    }
}

/* One question, one answer: does the plan read standard input? */
static void test_reads_stdin(void **state)
{
    (void)state;
    char a[] = "a", dash[] = "-", b[] = "b";
    struct mpiwc_plan_file files[3] = {
        {.path = a, .size = 10, .weight = 10},
        {.path = dash, .size = MPIWC_PLAN_STREAM},
        {.path = b, .size = 0, .to_eof = 1},
    };
    struct mpiwc_plan plan = {.files = files, .nfiles = 3};
    assert_true(mpiwc_plan_reads_stdin(&plan));
    plan.nfiles = 1;
    assert_false(mpiwc_plan_reads_stdin(&plan));
    plan.files = files + 2;
    assert_false(mpiwc_plan_reads_stdin(&plan));
    plan.nfiles = 0;
    assert_false(mpiwc_plan_reads_stdin(&plan));
}

static void test_split_list(void **state)
{
    (void)state;
    char lines[] = "a b.txt\n\nsecond\n  spaced  \nlast";
    char **v;
    size_t n = mpiwc_plan_split_list(lines, sizeof lines - 1, false, &v);
    assert_int_equal(n, 4);
    assert_string_equal(v[0], "a b.txt");
    assert_string_equal(v[1], "second");
    assert_string_equal(v[2], "  spaced  ");
    assert_string_equal(v[3], "last");
    free(v);
    char nul[] = "new\nline\0\0x\0"; /* plus the literal's own NUL: room for len + 1 */
    n = mpiwc_plan_split_list(nul, sizeof nul - 1, true, &v);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "new\nline");
    assert_string_equal(v[1], "x");
    free(v);
    char empty[] = "\n\n";
    assert_int_equal(mpiwc_plan_split_list(empty, 2, false, &v), 0);
    free(v);
}

static void expect_files(struct mpiwc_plan *p, const char *root, const char *const *rel, size_t n)
{
    assert_int_equal(p->nfiles, n);
    for (size_t i = 0; i < n; i++) {
        char want[512];
        snprintf(want, sizeof want, "%s/%s", root, rel[i]);
        assert_string_equal(p->files[i].path, want);
    }
}

static void test_expand_filters(void **state)
{
    struct tree *t = *state;
    const char *r = t->root;
    char d[512];
    write_file(r, "a.txt", 3);
    write_file(r, "b.log", 3);
    make_dir(r, "sub");
    make_dir(r, "skip");
    snprintf(d, sizeof d, "%s/sub", r);
    write_file(d, "c.txt", 3);
    write_file(d, "e.log", 3);
    snprintf(d, sizeof d, "%s/skip", r);
    write_file(d, "d.txt", 3);
    char *paths[1] = {t->root};
    char err[1024] = "";
    struct mpiwc_plan p;

    const char *inc[] = {"*.txt"}, *exc[] = {"skip"};
    struct mpiwc_plan_filter f1 = {inc, 1, exc, 1, false};
    memset(&p, 0, sizeof p);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, 1, &f1, err, sizeof err), 0);
    static const char *const want1[] = {"a.txt", "sub/c.txt"};
    expect_files(&p, r, want1, 2);
    mpiwc_plan_free(&p);

    /* The relative path matches too ('*' crosses '/'). */
    const char *inc2[] = {"sub/*"};
    struct mpiwc_plan_filter f2 = {inc2, 1, NULL, 0, false};
    memset(&p, 0, sizeof p);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, 1, &f2, err, sizeof err), 0);
    static const char *const want2[] = {"sub/c.txt", "sub/e.log"};
    expect_files(&p, r, want2, 2);
    mpiwc_plan_free(&p);

    /* Everything excluded: the directory has no files. */
    const char *exc3[] = {"*"};
    struct mpiwc_plan_filter f3 = {NULL, 0, exc3, 1, false};
    memset(&p, 0, sizeof p);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, 1, &f3, err, sizeof err), -1);
    assert_non_null(strstr(err, "no files"));
}

/*
 * --compat=hadoop (filter.hidden): in directories, entries named _* or .*
 * are neither read nor entered, as Hadoop's hiddenFileFilter; a file named
 * as a path is read whatever its name.
 */
static void test_expand_hidden(void **state)
{
    struct tree *t = *state;
    const char *r = t->root;
    char d[512], named[512];
    write_file(r, "a.txt", 3);
    write_file(r, "_SUCCESS", 3);
    write_file(r, ".crc", 3);
    write_file(r, "b_.txt", 3);
    make_dir(r, "_logs");
    make_dir(r, ".git");
    make_dir(r, "sub");
    snprintf(d, sizeof d, "%s/_logs", r);
    write_file(d, "history", 3);
    snprintf(d, sizeof d, "%s/.git", r);
    write_file(d, "config", 3);
    snprintf(d, sizeof d, "%s/sub", r);
    write_file(d, "c.txt", 3);
    write_file(d, "_temporary", 3);
    snprintf(named, sizeof named, "%s/_SUCCESS", r);
    char *paths[2] = {t->root, named};
    char err[1024] = "";
    struct mpiwc_plan p;
    struct mpiwc_plan_filter f = {NULL, 0, NULL, 0, true};
    memset(&p, 0, sizeof p);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, 2, &f, err, sizeof err), 0);
    static const char *const want[] = {"a.txt", "b_.txt", "sub/c.txt", "_SUCCESS"};
    expect_files(&p, r, want, 4);
    mpiwc_plan_free(&p);

    /* Without it, every entry is input. */
    memset(&p, 0, sizeof p);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, 1, NULL, err, sizeof err), 0);
    assert_int_equal(p.nfiles, 8);
    mpiwc_plan_free(&p);

    /* A named directory of hidden entries alone has no files, and the line says why. */
    make_dir(r, "done");
    snprintf(d, sizeof d, "%s/done", r);
    write_file(d, "_SUCCESS", 3);
    char *done[1] = {d};
    memset(&p, 0, sizeof p);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, done, 1, &f, err, sizeof err), -1);
    assert_non_null(strstr(err, "directory has no files"));
    assert_non_null(strstr(err, "_ or ."));
}

/*
 * A file reached twice (the same path, a path through '.', a symbolic link
 * inside a named directory, a hard link) is listed once, where it is first
 * reached; the others are counted in duplicates.
 */
static void test_expand_counts_each_file_once(void **state)
{
    struct tree *t = *state;
    const char *r = t->root;
    char a[512], dot[512], dir[512], hard[512], lnk[512], b[512];
    write_file(r, "a.txt", 5);
    make_dir(r, "dir");
    snprintf(dir, sizeof dir, "%s/dir", r);
    write_file(dir, "b.txt", 4);
    snprintf(a, sizeof a, "%s/a.txt", r);
    snprintf(b, sizeof b, "%s/dir/b.txt", r);
    snprintf(dot, sizeof dot, "%s/./a.txt", r);
    snprintf(lnk, sizeof lnk, "%s/dir/link", r);
    assert_int_equal(symlink(a, lnk), 0);
    snprintf(hard, sizeof hard, "%s/hard", r);
    assert_int_equal(link(a, hard), 0);
    char *paths[4] = {a, dir, dot, hard};
    char err[1024] = "";
    struct mpiwc_plan p;
    memset(&p, 0, sizeof p);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, 4, NULL, err, sizeof err), 0);
    assert_int_equal(p.nfiles, 2);
    assert_string_equal(p.files[0].path, a);
    assert_string_equal(p.files[1].path, b);
    assert_int_equal(p.duplicates, 3);
    assert_string_equal(p.first_duplicate, lnk);
    mpiwc_plan_split(&p, 2);
    assert_int_equal(p.total_bytes, 9);
    mpiwc_plan_free(&p);
}

static void test_expand_detects_codecs(void **state)
{
    struct tree *t = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/x.dat", t->root);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    /* a gzip header and 40 more bytes whose last 4 (ISIZE) say 1000 */
    static const uint8_t gz[] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3};
    fwrite(gz, 1, sizeof gz, f);
    for (int i = 0; i < 36; i++)
        fputc(0, f);
    static const uint8_t isize[] = {0xe8, 0x03, 0, 0};
    fwrite(isize, 1, 4, f);
    assert_int_equal(fclose(f), 0);
    write_file(t->root, "plain.txt", 10);
    char *paths[1] = {t->root};
    char err[1024] = "";
    struct mpiwc_plan p;
    memset(&p, 0, sizeof p);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, 1, NULL, err, sizeof err), 0);
    assert_int_equal(p.nfiles, 2);
    assert_int_equal(p.files[0].codec, 0); /* plain.txt */
    assert_int_equal(p.files[1].codec, 1); /* x.dat: gzip */
    assert_int_equal(p.files[1].size, 50);
    assert_int_equal(p.files[1].weight, 1000);
    mpiwc_plan_split(&p, 3);
    assert_int_equal(p.total_bytes, 1010);
    mpiwc_plan_free(&p);
}

/*
 * A file whose size is reported as 0 but that has bytes (/proc/version) is
 * to_eof and goes whole to exactly one rank; an empty file stays empty and
 * takes no range. The flag survives pack and unpack.
 */
static void test_expand_size_zero_with_bytes(void **state)
{
    struct tree *t = *state;
    struct stat st;
    if (stat("/proc/version", &st) != 0 || st.st_size != 0) {
        skip(); /* needs procfs */
        return;
    }
    write_file(t->root, "empty", 0);
    write_file(t->root, "plain.txt", 10);
    char empty[512], plain[512];
    snprintf(empty, sizeof empty, "%s/empty", t->root);
    snprintf(plain, sizeof plain, "%s/plain.txt", t->root);
    char proc[] = "/proc/version";
    char *paths[3] = {empty, proc, plain};
    char err[1024] = "";
    struct mpiwc_plan p;
    memset(&p, 0, sizeof p);
    assert_int_equal(mpiwc_plan_expand_filtered(&p, paths, 3, NULL, err, sizeof err), 0);
    assert_int_equal(p.nfiles, 3);
    assert_int_equal(p.files[0].to_eof, 0);
    assert_int_equal(p.files[1].to_eof, 1);
    assert_int_equal(p.files[1].size, 0);
    assert_int_equal(p.files[1].weight, MPIWC_PLAN_EOF_WEIGHT);
    assert_true(mpiwc_plan_whole(&p.files[1]));
    assert_int_equal(p.files[2].to_eof, 0);
    for (int nranks = 1; nranks <= 4; nranks++) {
        mpiwc_plan_split(&p, nranks);
        size_t seen[3] = {0, 0, 0};
        for (size_t i = 0; i < p.nranges; i++)
            seen[p.ranges[i].file]++;
        assert_int_equal(seen[0], 0);
        assert_int_equal(seen[1], 1);
        assert_true(seen[2] >= 1);
        assert_int_equal(p.total_bytes, 10 + MPIWC_PLAN_EOF_WEIGHT);
        uint8_t *buf;
        size_t len = mpiwc_plan_pack(&p, &buf);
        struct mpiwc_plan q;
        assert_int_equal(mpiwc_plan_unpack(&q, buf, len), 0);
        assert_plans_equal(&p, &q);
        mpiwc_plan_free(&q);
        free(buf);
    }
    mpiwc_plan_free(&p);
}

/*
 * mpiwc_plan_split_remaining: the done intervals plus the planned ranges
 * cover every byte of every file exactly once, ranges are never empty, and
 * plain bytes are split equally (within one byte) over the ranks.
 */
static void test_split_remaining(void **state)
{
    (void)state;
    struct mpiwc_plan p;
    srand(17);
    for (int round = 0; round < 300; round++) {
        uint64_t sizes[12];
        size_t n = 1 + (size_t)(rand() % 12);
        for (size_t i = 0; i < n; i++)
            sizes[i] = (uint64_t)(rand() % 300);
        plan_sizes(&p, sizes, n);
        /* Random disjoint done intervals, in random order. */
        struct mpiwc_plan_range done[64];
        size_t ndone = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t pos = 0;
            while (pos < sizes[i] && ndone < 64) {
                uint64_t gap = (uint64_t)(rand() % 80), len = 1 + (uint64_t)(rand() % 80);
                if (pos + gap >= sizes[i])
                    break;
                uint64_t end = pos + gap + len > sizes[i] ? sizes[i] : pos + gap + len;
                done[ndone++] = (struct mpiwc_plan_range){(uint32_t)i, pos + gap, end};
                pos = end;
            }
        }
        for (size_t i = ndone; i > 1; i--) {
            size_t j = (size_t)rand() % i;
            struct mpiwc_plan_range t = done[i - 1];
            done[i - 1] = done[j];
            done[j] = t;
        }
        int nranks = 1 + rand() % 9;
        mpiwc_plan_split_remaining(&p, nranks, done, ndone);
        assert_int_equal(p.nranks, nranks);
        uint8_t seen[12][300];
        memset(seen, 0, sizeof seen);
        uint64_t left = 0;
        for (size_t k = 0; k < ndone; k++)
            for (uint64_t b = done[k].start; b < done[k].end; b++)
                seen[done[k].file][b]++;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int r = 0; r < nranks; r++) {
            uint64_t bytes = 0;
            for (size_t k = p.rank_first[r]; k < p.rank_first[r + 1]; k++) {
                const struct mpiwc_plan_range *g = &p.ranges[k];
                assert_true(g->start < g->end);
                assert_true(g->end <= sizes[g->file]);
                for (uint64_t b = g->start; b < g->end; b++)
                    seen[g->file][b]++;
                bytes += g->end - g->start;
            }
            left += bytes;
            lo = bytes < lo ? bytes : lo;
            hi = bytes > hi ? bytes : hi;
        }
        assert_true(hi - lo <= 1);
        assert_int_equal(p.total_bytes, left);
        for (size_t i = 0; i < n; i++)
            for (uint64_t b = 0; b < sizes[i]; b++)
                assert_int_equal(seen[i][b], 1);
        mpiwc_plan_free(&p);
    }

    /* A compressed file is planned whole unless done; done, it is gone. */
    static const uint64_t s[] = {100, 50, 60};
    static const uint64_t w[] = {0, 200, 300};
    plan_mixed(&p, s, w, 3);
    const struct mpiwc_plan_range d[] = {{0, 0, 40}, {2, 0, 60}};
    mpiwc_plan_split_remaining(&p, 2, d, 2);
    assert_int_equal(p.total_bytes, 60 + 200);
    int whole = 0;
    for (size_t k = 0; k < p.nranges; k++) {
        assert_int_not_equal(p.ranges[k].file, 2);
        if (p.ranges[k].file == 1) {
            assert_int_equal(p.ranges[k].start, 0);
            assert_int_equal(p.ranges[k].end, 50);
            whole++;
        }
    }
    assert_int_equal(whole, 1);
    mpiwc_plan_free(&p);
}

/* The rank each file's first range is on in p, or -1 when it has none. */
static void owners(const struct mpiwc_plan *p, int *owner)
{
    for (size_t i = 0; i < p->nfiles; i++)
        owner[i] = -1;
    for (int r = p->nranks - 1; r >= 0; r--)
        for (size_t k = p->rank_first[r]; k < p->rank_first[r + 1]; k++)
            owner[p->ranges[k].file] = r;
}

/*
 * A restart places the compressed files left largest first, each on the
 * least loaded rank, as a fresh run does: in file order, 100 and 200 would
 * share rank 0 and 300 be alone on rank 1.
 */
static void test_split_remaining_places_compressed_like_split(void **state)
{
    (void)state;
    struct mpiwc_plan p;
    static const uint64_t s[] = {50, 10, 30, 20};
    static const uint64_t w[] = {0, 100, 300, 200};
    plan_mixed(&p, s, w, 4);
    mpiwc_plan_split(&p, 2);
    int fresh[4];
    owners(&p, fresh);
    assert_int_equal(fresh[2], 0); /* 300 first, to rank 0 */
    assert_int_equal(fresh[3], 1); /* 200 to rank 1 */
    assert_int_equal(fresh[1], 1); /* 100 to the lighter rank 1 */
    /* The plain file done: only the compressed ones are left, placed the same way. */
    const struct mpiwc_plan_range d[] = {{0, 0, 50}};
    mpiwc_plan_split_remaining(&p, 2, d, 1);
    int again[4];
    owners(&p, again);
    assert_int_equal(again[0], -1);
    for (size_t i = 1; i < 4; i++)
        assert_int_equal(again[i], fresh[i]);
    mpiwc_plan_free(&p);
}

/*
 * mpiwc_plan_split_remaining over random mixes of plain, compressed and
 * to_eof files and standard input, with random done sets (plain intervals
 * that may overlap; files read whole done whole or not at all): the ranges
 * cover exactly the bytes not done, each file read whole that is not done
 * lies whole on one rank, standard input stays rank 0's, and total_bytes is
 * what is left. With nothing done it is mpiwc_plan_split, range for range.
 */
static void test_split_remaining_is_the_split(void **state)
{
    (void)state;
    struct mpiwc_plan p;
    srand(23);
    for (int round = 0; round < 400; round++) {
        enum { PLAIN, COMP, EOF_ZERO, EOF_PAGE, STREAM } kind[12];
        uint64_t sizes[12];
        size_t n = 1 + (size_t)(rand() % 12), stream_at = (size_t)(rand() % 24);
        for (size_t i = 0; i < n; i++) {
            kind[i] = i == stream_at ? STREAM : rand() % 2 ? PLAIN : COMP + rand() % 3;
            sizes[i] = kind[i] == STREAM     ? MPIWC_PLAN_STREAM
                       : kind[i] == EOF_ZERO ? 0
                       : kind[i] == EOF_PAGE
                           ? 256
                           : (uint64_t)(kind[i] == COMP) + (uint64_t)(rand() % 300);
        }
        plan_sizes(&p, sizes, n);
        for (size_t i = 0; i < n; i++) {
            if (kind[i] == COMP) {
                p.files[i].codec = 1; /* MPIWC_CODEC_GZIP */
                p.files[i].weight = sizes[i] * (uint64_t)(1 + rand() % 6);
            } else if (kind[i] == EOF_ZERO || kind[i] == EOF_PAGE) {
                p.files[i].to_eof = 1;
                p.files[i].weight = MPIWC_PLAN_EOF_WEIGHT;
            }
        }
        int nranks = 1 + rand() % 9;

        /* Nothing done: the fresh split, range for range. */
        mpiwc_plan_split(&p, nranks);
        struct mpiwc_plan fresh = p;
        fresh.ranges = mpiwc_xmalloc(mpiwc_mul_size(p.nranges + 1, sizeof *p.ranges));
        memcpy(fresh.ranges, p.ranges, p.nranges * sizeof *p.ranges);
        fresh.rank_first = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks + 1, sizeof(size_t)));
        memcpy(fresh.rank_first, p.rank_first, ((size_t)nranks + 1) * sizeof(size_t));
        mpiwc_plan_split_remaining(&p, nranks, NULL, 0);
        assert_plans_equal(&fresh, &p);
        free(fresh.ranges);
        free(fresh.rank_first);

        /* Random done sets, in random order. */
        struct mpiwc_plan_range done[64];
        size_t ndone = 0;
        uint8_t is_done[12][300];
        memset(is_done, 0, sizeof is_done);
        for (size_t i = 0; i < n && ndone < 60; i++) {
            if (kind[i] == STREAM || kind[i] == EOF_ZERO || sizes[i] == 0)
                continue;
            if (kind[i] != PLAIN) {
                if (rand() % 3 == 0) {
                    done[ndone++] = (struct mpiwc_plan_range){(uint32_t)i, 0, sizes[i]};
                    memset(is_done[i], 1, sizes[i]);
                }
                continue;
            }
            for (int m = rand() % 4; m > 0 && ndone < 60; m--) {
                uint64_t a = (uint64_t)rand() % sizes[i];
                uint64_t b = a + 1 + (uint64_t)rand() % (sizes[i] - a);
                done[ndone++] = (struct mpiwc_plan_range){(uint32_t)i, a, b};
                memset(is_done[i] + a, 1, b - a);
            }
        }
        for (size_t i = ndone; i > 1; i--) {
            size_t j = (size_t)rand() % i;
            struct mpiwc_plan_range t = done[i - 1];
            done[i - 1] = done[j];
            done[j] = t;
        }
        mpiwc_plan_split_remaining(&p, nranks, done, ndone);
        assert_int_equal(p.nranks, nranks);
        assert_int_equal(p.rank_first[0], 0);
        assert_int_equal(p.rank_first[nranks], p.nranges);
        uint8_t planned[12][300];
        size_t pieces[12];
        memset(planned, 0, sizeof planned);
        memset(pieces, 0, sizeof pieces);
        for (int r = 0; r < nranks; r++)
            for (size_t k = p.rank_first[r]; k < p.rank_first[r + 1]; k++) {
                const struct mpiwc_plan_range *g = &p.ranges[k];
                assert_true(g->file < n);
                pieces[g->file]++;
                if (kind[g->file] == STREAM) {
                    assert_int_equal(r, 0);
                    assert_int_equal(g->start, 0);
                    assert_int_equal(g->end, MPIWC_PLAN_STREAM);
                    continue;
                }
                if (kind[g->file] != PLAIN) { /* whole: from its first byte to its size */
                    assert_int_equal(g->start, 0);
                    assert_int_equal(g->end, sizes[g->file]);
                } else {
                    assert_true(g->start < g->end);
                    assert_true(g->end <= sizes[g->file]);
                }
                for (uint64_t b = g->start; b < g->end; b++)
                    planned[g->file][b]++;
            }
        uint64_t left = 0;
        for (size_t i = 0; i < n; i++) {
            if (kind[i] == STREAM) {
                assert_int_equal(pieces[i], 1);
                continue;
            }
            if (kind[i] != PLAIN) {
                bool gone = sizes[i] > 0 && is_done[i][0];
                assert_int_equal(pieces[i], gone ? 0 : 1);
                left += gone ? 0 : p.files[i].weight;
            }
            for (uint64_t b = 0; b < sizes[i]; b++) {
                assert_int_equal(planned[i][b], !is_done[i][b]);
                left += kind[i] == PLAIN && !is_done[i][b];
            }
        }
        assert_int_equal(p.total_bytes, left);
        mpiwc_plan_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary_arithmetic),
        cmocka_unit_test(test_split_many_rank_counts),
        cmocka_unit_test(test_split_spelled_out),
        cmocka_unit_test(test_split_random_sizes),
        cmocka_unit_test(test_split_all_empty_and_no_files),
        cmocka_unit_test(test_split_stdin),
        cmocka_unit_test(test_split_big_sizes),
        cmocka_unit_test(test_pack_round_trip),
        cmocka_unit_test(test_unpack_rejects_truncation),
        cmocka_unit_test(test_unpack_corrupt_bytes),
        cmocka_unit_test_setup_teardown(test_expand_directory_order, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_expand_files_in_command_order, tree_setup,
                                        tree_teardown),
        cmocka_unit_test_setup_teardown(test_expand_missing, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_expand_dir_without_files, tree_setup, tree_teardown),
        cmocka_unit_test(test_expand_dash_twice),
        cmocka_unit_test_setup_teardown(test_expand_not_regular, tree_setup, tree_teardown),
        cmocka_unit_test(test_split_compressed_whole),
        cmocka_unit_test(test_split_remaining),
        cmocka_unit_test(test_split_remaining_places_compressed_like_split),
        cmocka_unit_test(test_split_remaining_is_the_split),
        cmocka_unit_test(test_split_list),
        cmocka_unit_test(test_reads_stdin),
        cmocka_unit_test_setup_teardown(test_list_probe_in_slices, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_cut_walk_is_the_whole_walk, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_expand_filters, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_expand_hidden, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_expand_counts_each_file_once, tree_setup,
                                        tree_teardown),
        cmocka_unit_test_setup_teardown(test_expand_detects_codecs, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_expand_size_zero_with_bytes, tree_setup,
                                        tree_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

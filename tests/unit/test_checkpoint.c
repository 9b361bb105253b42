/*
 * Unit tests for checkpoint.h: rank files round trip, every damaged file is
 * refused without adding anything, manifests, and the choice of the
 * checkpoint to resume from (newest complete and matching wins; partial,
 * corrupt and mismatched ones are reported in one line each).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mpiwc/checkpoint.h"
#include "mpiwc/util.h"

struct fixture {
    char dir[64];
    struct mpiwc_plan plan;
};

/* Bytes of the intervals. */
static uint64_t done_bytes(const struct mpiwc_ckpt_done *d)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < d->n; i++)
        sum += d->v[i].end - d->v[i].start;
    return sum;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/mpiwc-ckpt-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->plan.nfiles = 2;
    f->plan.files = mpiwc_xcalloc(2, sizeof *f->plan.files);
    f->plan.files[0].path = mpiwc_xstrdup("a.txt");
    f->plan.files[0].size = 1000;
    f->plan.files[1].path = mpiwc_xstrdup("b.txt");
    f->plan.files[1].size = 500;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    mpiwc_plan_free(&f->plan);
    free(f);
    return 0;
}

static void make_gen(const char *dir, uint64_t gen)
{
    char *g = mpiwc_ckpt_gen_path(dir, gen);
    assert_int_equal(mkdir(g, 0777), 0);
    free(g);
}

/* Write rank files 0..nranks-1 of gen: rank r has done [r*100, r*100+50) of file 0 and "w<r>". */
static void write_gen(const struct fixture *f, uint64_t gen, int nranks, bool manifest,
                      uint64_t options)
{
    make_gen(f->dir, gen);
    for (int r = 0; r < nranks; r++) {
        struct mpiwc_ckpt_done d = {0};
        mpiwc_ckpt_done_add(&d, 0, (uint64_t)r * 100, (uint64_t)r * 100 + 50);
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        char w[8];
        snprintf(w, sizeof w, "w%d", r);
        mpiwc_table_add(&t, w, strlen(w), (uint64_t)r + 1);
        const struct mpiwc_table *tabs[1] = {&t};
        uint64_t bytes = 0;
        char err[256];
        assert_int_equal(
            mpiwc_ckpt_write_rank(f->dir, gen, r, nranks, 2, &d, tabs, 1, &bytes, err, sizeof err),
            0);
        mpiwc_table_free(&t);
        mpiwc_ckpt_done_free(&d);
    }
    if (manifest) {
        struct mpiwc_ckpt_manifest m = {gen, (uint32_t)nranks, 7, options};
        char err[256];
        assert_int_equal(mpiwc_ckpt_write_manifest(f->dir, &m, err, sizeof err), 0);
    }
}

static void test_done_merge(void **state)
{
    (void)state;
    struct mpiwc_ckpt_done d = {0};
    mpiwc_ckpt_done_add(&d, 0, 0, 10);
    mpiwc_ckpt_done_add(&d, 0, 10, 20); /* continues: merged */
    mpiwc_ckpt_done_add(&d, 1, 20, 30); /* another file */
    mpiwc_ckpt_done_add(&d, 1, 40, 50); /* a gap */
    mpiwc_ckpt_done_add(&d, 1, 50, 50); /* empty: ignored */
    assert_int_equal(d.n, 3);
    assert_int_equal(d.v[0].end, 20);
    assert_int_equal(done_bytes(&d), 40);
    mpiwc_ckpt_done_free(&d);
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    make_gen(f->dir, 3);
    struct mpiwc_ckpt_done d = {0};
    mpiwc_ckpt_done_add(&d, 0, 0, 300);
    mpiwc_ckpt_done_add(&d, 1, 100, 500);
    struct mpiwc_table a, b;
    mpiwc_table_init(&a, 0);
    mpiwc_table_init(&b, 0);
    const char *long_word = "a-word-longer-than-sixteen-bytes";
    mpiwc_table_add(&a, "the", 3, 1000);
    mpiwc_table_add(&a, long_word, strlen(long_word), 3);
    mpiwc_table_add(&b, "the", 3, 5); /* the same word in both tables: summed on load */
    mpiwc_table_add(&b, "\xc3\xa9t\xc3\xa9", 6, MPIWC_COUNT_MAX);
    const struct mpiwc_table *tabs[2] = {&a, &b};
    uint64_t bytes = 0;
    char err[256];
    assert_int_equal(
        mpiwc_ckpt_write_rank(f->dir, 3, 1, 4, 2, &d, tabs, 2, &bytes, err, sizeof err), 0);
    char *path = mpiwc_ckpt_rank_path(f->dir, 3, 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, bytes);

    struct mpiwc_ckpt_done back = {0};
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    assert_int_equal(
        mpiwc_ckpt_read_rank(path, 3, 1, 4, f->plan.files, 2, &back, &t, err, sizeof err), 0);
    assert_int_equal(back.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(back.v[i].file, d.v[i].file);
        assert_int_equal(back.v[i].start, d.v[i].start);
        assert_int_equal(back.v[i].end, d.v[i].end);
    }
    assert_int_equal(t.size, 3);
    assert_int_equal(mpiwc_table_get(&t, "the", 3), 1005);
    assert_int_equal(mpiwc_table_get(&t, long_word, strlen(long_word)), 3);
    assert_int_equal(mpiwc_table_get(&t, "\xc3\xa9t\xc3\xa9", 6), MPIWC_COUNT_MAX);

    /* Read as another rank, generation or rank count, or with fewer files: refused. */
    assert_int_equal(
        mpiwc_ckpt_read_rank(path, 3, 2, 4, f->plan.files, 2, NULL, NULL, err, sizeof err), -1);
    assert_string_equal(err, "header does not match its manifest");
    assert_int_equal(
        mpiwc_ckpt_read_rank(path, 4, 1, 4, f->plan.files, 2, NULL, NULL, err, sizeof err), -1);
    assert_int_equal(
        mpiwc_ckpt_read_rank(path, 3, 1, 3, f->plan.files, 2, NULL, NULL, err, sizeof err), -1);
    /* An input that shrank below a done interval. */
    f->plan.files[1].size = 400;
    assert_int_equal(
        mpiwc_ckpt_read_rank(path, 3, 1, 4, f->plan.files, 2, NULL, NULL, err, sizeof err), -1);
    assert_string_equal(err, "an interval lies outside the input");
    free(path);
    mpiwc_table_free(&t);
    mpiwc_table_free(&a);
    mpiwc_table_free(&b);
    mpiwc_ckpt_done_free(&d);
    mpiwc_ckpt_done_free(&back);
}

/* Every flipped byte and every truncation is refused, and nothing is added. */
static void test_damage(void **state)
{
    struct fixture *f = *state;
    write_gen(f, 1, 1, false, 0);
    char *path = mpiwc_ckpt_rank_path(f->dir, 1, 0);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t good[512];
    size_t len = fread(good, 1, sizeof good, fp);
    fclose(fp);
    assert_true(len > 60 && len < sizeof good);
    char err[256];
    for (size_t cut = 0; cut <= len; cut++) {
        for (int flip = 0; flip < 2; flip++) {
            if (cut == len && !flip)
                continue; /* the intact file */
            uint8_t bad[512];
            memcpy(bad, good, len);
            size_t n = flip ? len : cut;
            if (flip) {
                if (cut == len)
                    break;
                bad[cut] ^= 0x20;
            }
            fp = fopen(path, "wb");
            assert_non_null(fp);
            assert_int_equal(fwrite(bad, 1, n, fp), n);
            fclose(fp);
            struct mpiwc_ckpt_done d = {0};
            struct mpiwc_table t;
            mpiwc_table_init(&t, 0);
            assert_int_equal(
                mpiwc_ckpt_read_rank(path, 1, 0, 1, f->plan.files, 2, &d, &t, err, sizeof err), -1);
            assert_int_equal(d.n, 0);
            assert_int_equal(t.size, 0);
            if (flip)
                assert_string_equal(err, "checksum mismatch");
            mpiwc_table_free(&t);
        }
    }
    assert_int_equal(mpiwc_ckpt_read_rank("/nonexistent/x", 1, 0, 1, f->plan.files, 2, NULL, NULL,
                                          err, sizeof err),
                     -1);
    free(path);
}

static void test_manifest(void **state)
{
    struct fixture *f = *state;
    make_gen(f->dir, 12);
    struct mpiwc_ckpt_manifest m = {12, 7, UINT64_C(0xfedcba9876543210), 42}, back;
    char err[256];
    assert_int_equal(mpiwc_ckpt_write_manifest(f->dir, &m, err, sizeof err), 0);
    assert_int_equal(mpiwc_ckpt_read_manifest(f->dir, 12, &back, err, sizeof err), 0);
    assert_int_equal(back.generation, 12);
    assert_int_equal(back.nranks, 7);
    assert_int_equal(back.inputs, m.inputs);
    assert_int_equal(back.options, 42);
    /* Another generation's name, no manifest, a malformed one. */
    assert_int_equal(mpiwc_ckpt_read_manifest(f->dir, 13, &back, err, sizeof err), -1);
    assert_string_equal(err, "no manifest (incomplete)");
    char path[128];
    snprintf(path, sizeof path, "%s/gen-12/MANIFEST", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "mpiwc-checkpoint %u\ngeneration 12\nranks 7\n", MPIWC_CKPT_VERSION);
    fclose(fp);
    assert_int_equal(mpiwc_ckpt_read_manifest(f->dir, 12, &back, err, sizeof err), -1);
    assert_string_equal(err, "malformed manifest");
    /* A whole manifest of the previous version, whose words had other owners (another hash). */
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp,
            "mpiwc-checkpoint %u\ngeneration 12\nranks 7\ninputs %016" PRIx64
            "\noptions %016x\nend\n",
            MPIWC_CKPT_VERSION - 1, m.inputs, 42u);
    fclose(fp);
    assert_int_equal(mpiwc_ckpt_read_manifest(f->dir, 12, &back, err, sizeof err), -1);
    assert_string_equal(err, "written by another version of mpiwc");
}

/* The lines select() printed, one string. */
static char *select_lines(const struct fixture *f, uint64_t options,
                          struct mpiwc_ckpt_choice *choice)
{
    char *text = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&text, &len);
    assert_non_null(err);
    mpiwc_ckpt_select(f->dir, &f->plan, 7, options, choice, err);
    fclose(err);
    return text;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_select(void **state)
{
    struct fixture *f = *state;
    struct mpiwc_ckpt_choice c;
    char *lines = select_lines(f, 1, &c);
    assert_int_equal(c.generation, 0); /* an empty directory: a fresh start */
    assert_int_equal(c.next, 1);
    assert_string_equal(lines, "");
    free(lines);

    write_gen(f, 1, 3, true, 1);
    write_gen(f, 2, 2, true, 1);
    write_gen(f, 4, 2, false, 1); /* partial: no manifest */
    write_gen(f, 5, 2, true, 1);  /* corrupt: one rank file damaged */
    char *p = mpiwc_ckpt_rank_path(f->dir, 5, 1);
    FILE *fp = fopen(p, "r+b");
    assert_non_null(fp);
    fseek(fp, 40, SEEK_SET);
    fputc('X', fp);
    fclose(fp);
    free(p);
    write_gen(f, 6, 1, true, 2); /* other options */
    p = mpiwc_ckpt_gen_path(f->dir, 9);
    assert_int_equal(mkdir(p, 0777), 0); /* empty: a checkpoint that died at once */
    free(p);

    lines = select_lines(f, 1, &c);
    assert_int_equal(c.generation, 2);
    assert_int_equal(c.nranks, 2);
    assert_int_equal(c.next, 10);
    assert_int_equal(c.done.n, 2); /* the union of both ranks' intervals */
    assert_int_equal(done_bytes(&c.done), 100);
    assert_int_equal(count_lines(lines), 4);
    assert_non_null(strstr(lines, "/gen-9: no manifest (incomplete); ignored\n"));
    assert_non_null(strstr(lines, "/gen-6: written with other word options"));
    assert_non_null(strstr(lines, "/gen-5: rank-00001.ckpt: checksum mismatch; ignored\n"));
    assert_non_null(strstr(lines, "/gen-4: no manifest (incomplete); ignored\n"));
    assert_true(strstr(lines, "gen-9") < strstr(lines, "gen-4")); /* newest first */
    free(lines);
    mpiwc_ckpt_done_free(&c.done);

    /* Changed inputs: nothing matches any more. */
    char *text = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&text, &len);
    mpiwc_ckpt_select(f->dir, &f->plan, 8, 1, &c, err);
    fclose(err);
    assert_int_equal(c.generation, 0);
    assert_non_null(strstr(text, "/gen-2: the inputs changed since it was written"));
    assert_int_equal(count_lines(text), 6);
    free(text);

    /* A removed generation is gone; the older complete one wins. */
    assert_int_equal(mpiwc_ckpt_remove(f->dir, 2), 0);
    lines = select_lines(f, 1, &c);
    assert_int_equal(c.generation, 1);
    assert_int_equal(c.nranks, 3);
    free(lines);
    mpiwc_ckpt_done_free(&c.done);
    uint64_t *gens;
    size_t n = mpiwc_ckpt_generations(f->dir, &gens);
    assert_int_equal(n, 5);
    assert_int_equal(gens[0], 9);
    assert_int_equal(gens[4], 1);
    free(gens);
}

static void test_fingerprints(void **state)
{
    (void)state;
    struct mpiwc_options a, b;
    memset(&a, 0, sizeof a);
    b = a;
    assert_int_equal(mpiwc_ckpt_fingerprint_options(&a, NULL, 0),
                     mpiwc_ckpt_fingerprint_options(&b, NULL, 0));
    b.min_length = 2;
    assert_int_not_equal(mpiwc_ckpt_fingerprint_options(&a, NULL, 0),
                         mpiwc_ckpt_fingerprint_options(&b, NULL, 0));
    b = a;
    b.verbosity = 1; /* does not change counts */
    b.buffer_size = 99;
    assert_int_equal(mpiwc_ckpt_fingerprint_options(&a, NULL, 0),
                     mpiwc_ckpt_fingerprint_options(&b, NULL, 0));
    /* The stop-word list counts by its bytes, not by the path it came through. */
    b = a;
    a.stopwords = "-";
    b.stopwords = "/dev/stdin";
    assert_int_equal(mpiwc_ckpt_fingerprint_options(&a, "the\n", 4),
                     mpiwc_ckpt_fingerprint_options(&b, "the\n", 4));
    assert_int_not_equal(mpiwc_ckpt_fingerprint_options(&a, "the\n", 4),
                         mpiwc_ckpt_fingerprint_options(&a, "a\n", 2));
    assert_int_not_equal(mpiwc_ckpt_fingerprint_options(&a, "", 0),
                         mpiwc_ckpt_fingerprint_options(&a, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_done_merge),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
        cmocka_unit_test(test_fingerprints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

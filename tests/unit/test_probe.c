/*
 * probe: the batched prober (io_uring) gives, file for file, the records of
 * the one-file prober (MPIWC_IO_URING=0), over more than one batch and on
 * every kind of file the plan meets: text of many sizes (0 and one page
 * included), gzip with its trailer, bzip2, xz and zstd headers, a link, a
 * FIFO, a directory and a missing name; by names in a directory and by
 * whole paths. Where the kernel has no io_uring, both are the one-file
 * prober and the test says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpiwc/codec.h"
#include "mpiwc/probe.h"

static char root[64];

static void put(const char *name, const void *data, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", root, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/mpiwc-probe-XXXXXX");
    assert_non_null(mkdtemp(root));
    static uint8_t text[3 * 4096];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = i % 7 == 6 ? ' ' : (uint8_t)('a' + i % 26);
    /* 150 text files of many sizes: more than two batches */
    static const size_t sizes[] = {0, 1, 5, 31, 32, 33, 100, 4095, 4096, 4097, 3 * 4096};
    for (int i = 0; i < 150; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%03d", i);
        put(name, text, sizes[i % (sizeof sizes / sizeof sizes[0])]);
    }
    /* compressed: gzip with a trailer (ISIZE 200), bzip2, xz and zstd headers */
    static const uint8_t gz[40] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, [36] = 200};
    static const uint8_t gz_short[12] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    static const uint8_t bz[16] = {'B', 'Z', 'h', '9', 0x31, 0x41, 0x59, 0x26, 0x53, 0x59};
    static const uint8_t xz[16] = {0xfd, '7', 'z', 'X', 'Z', 0};
    static const uint8_t zst[16] = {0x28, 0xb5, 0x2f, 0xfd, 0x20, 100};
    put("c.gz", gz, sizeof gz);
    put("c-short.gz", gz_short, sizeof gz_short);
    put("c.bz2", bz, sizeof bz);
    put("c.xz", xz, sizeof xz);
    put("c.zst", zst, sizeof zst);
    char path[128], target[128];
    snprintf(path, sizeof path, "%s/link", root);
    snprintf(target, sizeof target, "%s/t007", root);
    assert_int_equal(symlink(target, path), 0);
    snprintf(path, sizeof path, "%s/fifo", root);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof path, "%s/dir", root);
    assert_int_equal(mkdir(path, 0700), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* The names probed: every file made, a missing one among them. */
static size_t names(char **v, bool whole_paths)
{
    size_t n = 0;
    char name[160];
    for (int i = 0; i < 150; i++) {
        snprintf(name, sizeof name, "%s%st%03d", whole_paths ? root : "", whole_paths ? "/" : "",
                 i);
        v[n++] = strdup(name);
        if (i == 70) {
            snprintf(name, sizeof name, "%s%smissing", whole_paths ? root : "",
                     whole_paths ? "/" : "");
            v[n++] = strdup(name);
        }
    }
    static const char *const more[] = {"c.gz",  "c-short.gz", "c.bz2", "c.xz",
                                       "c.zst", "link",       "fifo",  "dir"};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        snprintf(name, sizeof name, "%s%s%s", whole_paths ? root : "", whole_paths ? "/" : "",
                 more[i]);
        v[n++] = strdup(name);
    }
    return n;
}

static void probe_all(bool batched_wanted, int dfd, char **v, size_t n,
                      struct mpiwc_plan_probe *out, bool *batched)
{
    if (!batched_wanted)
        setenv("MPIWC_IO_URING", "0", 1);
    struct mpiwc_prober p;
    mpiwc_prober_init(&p);
    unsetenv("MPIWC_IO_URING");
    *batched = mpiwc_prober_batched(&p);
    if (!batched_wanted)
        assert_false(*batched);
    memset(out, 0xa5, n * sizeof *out);
    mpiwc_prober_run(&p, dfd, (const char *const *)v, n, out);
    mpiwc_prober_free(&p);
}

static void check(bool whole_paths)
{
    char *v[200];
    size_t n = names(v, whole_paths);
    int dfd = whole_paths ? AT_FDCWD : open(root, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0 || dfd == AT_FDCWD);
    struct mpiwc_plan_probe one[200], batch[200];
    bool batched;
    probe_all(false, dfd, v, n, one, &batched);
    probe_all(true, dfd, v, n, batch, &batched);
    if (!batched)
        print_message("# io_uring is not available here: both probes are one file at a time\n");
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&one[i], &batch[i], sizeof one[i]) != 0)
            fail_msg("%s: batched size %llu codec %d error %d, alone size %llu codec %d error %d",
                     v[i], (unsigned long long)batch[i].size, batch[i].codec, batch[i].error,
                     (unsigned long long)one[i].size, one[i].codec, one[i].error);
        assert_int_equal(one[i].done, 1);
    }
    /* What they found, spot-checked against the files. */
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(v[i], '/') ? strrchr(v[i], '/') + 1 : v[i];
        if (strcmp(base, "missing") == 0) {
            assert_int_equal(one[i].error, ENOENT);
        } else if (strcmp(base, "c.gz") == 0) {
            assert_int_equal(one[i].codec, MPIWC_CODEC_GZIP);
            assert_int_equal(one[i].weight, 200);
        } else if (strcmp(base, "c.zst") == 0) {
            assert_int_equal(one[i].codec, MPIWC_CODEC_ZSTD);
        } else if (strcmp(base, "fifo") == 0 || strcmp(base, "dir") == 0) {
            assert_int_equal(one[i].error, 0);
            assert_int_equal(one[i].regular, 0);
        } else if (strcmp(base, "t011") == 0) { /* sizes[0]: empty */
            assert_int_equal(one[i].size, 0);
            assert_int_equal(one[i].regular, 1);
            assert_int_equal(one[i].to_eof, 0);
        } else if (strcmp(base, "t019") == 0) { /* sizes[8]: a page of text */
            assert_int_equal(one[i].size, 4096);
            assert_int_equal(one[i].weight, 4096);
            assert_int_equal(one[i].codec, MPIWC_CODEC_NONE);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    if (dfd >= 0)
        close(dfd);
}

static void test_batched_is_one_by_one_in_a_directory(void **state)
{
    (void)state;
    check(false);
}

static void test_batched_is_one_by_one_by_whole_paths(void **state)
{
    (void)state;
    check(true);
}

/* Zero files: nothing written, nothing failed. */
static void test_no_files(void **state)
{
    (void)state;
    struct mpiwc_prober p;
    mpiwc_prober_init(&p);
    struct mpiwc_plan_probe out = {.size = 7};
    mpiwc_prober_run(&p, AT_FDCWD, NULL, 0, &out);
    mpiwc_prober_free(&p);
    assert_int_equal(out.size, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batched_is_one_by_one_in_a_directory),
        cmocka_unit_test(test_batched_is_one_by_one_by_whole_paths),
        cmocka_unit_test(test_no_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests for util: growing buffers, error messages, escaping paths for one-line messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mpiwc/util.h"

static void expect_escape(const char *in, const char *want)
{
    char *got = mpiwc_escape(in);
    assert_string_equal(got, want);
    free(got);
}

static void test_read_whole(void **state)
{
    (void)state;
    char path[] = "/tmp/mpiwc-test-util-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = 200000; /* past the 64 KiB a pipe starts with */
    char *want = malloc(n);
    for (size_t i = 0; i < n; i++)
        want[i] = (char)('a' + i % 26);
    assert_int_equal(write(fd, want, n), (ssize_t)n);
    close(fd);
    char *data, err[MPIWC_ERRLEN];
    size_t len;
    assert_int_equal(mpiwc_read_whole(path, &data, &len, err, sizeof err), 0);
    assert_int_equal(len, n);
    assert_memory_equal(data, want, n);
    assert_int_equal(data[n], '\0');
    free(data);
    unlink(path);
    free(want);
    errno = 0;
    assert_int_equal(mpiwc_read_whole(path, &data, &len, err, sizeof err), -1);
    assert_int_equal(errno, ENOENT); /* errno says why, for callers that word it their way */
    assert_true(strncmp(err, path, strlen(path)) == 0);
    assert_string_equal(err + strlen(path), ": No such file or directory");
}

static void test_plain_text_is_kept(void **state)
{
    (void)state;
    expect_escape("", "");
    expect_escape("dir/file name.txt", "dir/file name.txt");
    expect_escape("~!@#$%^&*()[]{}'\"", "~!@#$%^&*()[]{}'\"");
}

static void test_control_characters(void **state)
{
    (void)state;
    expect_escape("a\nb", "a\\nb");
    expect_escape("\t\r", "\\t\\r");
    expect_escape("x\x01y\x1f\x7f", "x\\x01y\\x1F\\x7F");
    expect_escape("back\\slash", "back\\\\slash"); /* so that "\n" written by a user stays apart */
}

static void test_valid_utf8_is_kept(void **state)
{
    (void)state;
    expect_escape("caf\xc3\xa9", "caf\xc3\xa9");                           /* U+00E9 */
    expect_escape("\xe4\xb8\xad\xe6\x96\x87", "\xe4\xb8\xad\xe6\x96\x87"); /* two CJK */
    expect_escape("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");                 /* U+1F600 */
    expect_escape("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");                 /* U+10FFFF */
    expect_escape("\xed\x9f\xbf", "\xed\x9f\xbf");                         /* U+D7FF */
}

static void test_ill_formed_utf8_is_escaped(void **state)
{
    (void)state;
    expect_escape("\xff\xfe", "\\xFF\\xFE");
    expect_escape("\xc0\x80", "\\xC0\\x80");                   /* overlong NUL */
    expect_escape("\xe0\x80\xaf", "\\xE0\\x80\\xAF");          /* overlong '/' */
    expect_escape("\xed\xa0\x80", "\\xED\\xA0\\x80");          /* a surrogate */
    expect_escape("\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"); /* above U+10FFFF */
    expect_escape("\xe2\x82", "\\xE2\\x82");                   /* cut at the end */
    expect_escape("\xe2\x82x", "\\xE2\\x82x");                 /* cut by ASCII */
    expect_escape("\x80"
                  "a",
                  "\\x80a");                        /* a lone continuation byte */
    expect_escape("\xc3\xc3\xa9", "\\xC3\xc3\xa9"); /* a bad lead, then a good pair */
}

static void test_grow_cap_doubles_until_it_holds(void **state)
{
    (void)state;
    assert_int_equal(mpiwc_grow_cap(0, 0), 0);
    assert_int_equal(mpiwc_grow_cap(0, 1), 16);
    assert_int_equal(mpiwc_grow_cap(0, 17), 32);
    assert_int_equal(mpiwc_grow_cap(100, 100), 100); /* holds it: unchanged */
    assert_int_equal(mpiwc_grow_cap(100, 101), 200);
    assert_int_equal(mpiwc_grow_cap(100, 401), 800);
    assert_int_equal(mpiwc_grow_cap(64 << 10, 1), 64 << 10);
}

static void test_grow_keeps_the_elements(void **state)
{
    (void)state;
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        v = mpiwc_grow(v, &cap, n + 1, sizeof *v);
        assert_true(cap >= n + 1);
        v[n++] = i * 7;
    }
    assert_int_equal(cap, 1024);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i], i * 7);
    uint64_t *same = mpiwc_grow(v, &cap, 10, sizeof *v); /* room enough: nothing moves */
    assert_ptr_equal(same, v);
    assert_int_equal(cap, 1024);
    free(v);
}

/* mpiwc_fatal() calls the handler: jump back out of it instead of aborting. */
static jmp_buf fatal_jump;

static void fatal_returns(void)
{
    longjmp(fatal_jump, 1);
}

#define expect_fatal(call)                                                                         \
    do {                                                                                           \
        mpiwc_set_fatal_handler(fatal_returns);                                                    \
        int fatal_ = setjmp(fatal_jump);                                                           \
        if (!fatal_)                                                                               \
            (void)(call);                                                                          \
        mpiwc_set_fatal_handler(NULL);                                                             \
        assert_true(fatal_);                                                                       \
    } while (0)

static void test_grow_overflow_is_fatal(void **state)
{
    (void)state;
    size_t cap = (size_t)1 << 62;
    expect_fatal(mpiwc_grow(NULL, &cap, cap + 1, 8)); /* 2^63 elements of 8 bytes */
    assert_int_equal(cap, (size_t)1 << 62);
    expect_fatal(mpiwc_grow_cap((SIZE_MAX >> 1) + 1, SIZE_MAX)); /* doubling past SIZE_MAX */
}

static void test_add_size(void **state)
{
    (void)state;
    assert_int_equal(mpiwc_add_size(0, 0), 0);
    assert_int_equal(mpiwc_add_size(SIZE_MAX - 1, 1), SIZE_MAX);
}

static void test_add_size_overflow_is_fatal(void **state)
{
    (void)state;
    expect_fatal(mpiwc_add_size(SIZE_MAX, 1));
}

static void test_fail_formats_and_returns_minus_one(void **state)
{
    (void)state;
    char err[16];
    assert_int_equal(mpiwc_fail(err, sizeof err, "%s: %s", "a/b", "gone"), -1);
    assert_string_equal(err, "a/b: gone");
    assert_int_equal(mpiwc_fail(err, sizeof err, "%s: %d", "a long path", 123456), -1);
    assert_string_equal(err, "a long path: 12"); /* cut to the buffer, terminated */
}

static char *said(void (*say)(FILE *, const char *), const char *msg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    say(f, msg);
    fclose(f);
    return buf;
}

static void test_say_rank_names_the_origin(void **state)
{
    (void)state;
    mpiwc_set_origin(3, "node-7");
    char *got = said(mpiwc_say_rank, "in\\put\n.txt: No such file");
    assert_string_equal(got, "mpiwc: [rank 3 on node-7] in\\\\put\\n.txt: No such file\n");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_cap_doubles_until_it_holds),
        cmocka_unit_test(test_grow_keeps_the_elements),
        cmocka_unit_test(test_grow_overflow_is_fatal),
        cmocka_unit_test(test_add_size),
        cmocka_unit_test(test_add_size_overflow_is_fatal),
        cmocka_unit_test(test_fail_formats_and_returns_minus_one),
        cmocka_unit_test(test_say_rank_names_the_origin),
        cmocka_unit_test(test_read_whole),
        cmocka_unit_test(test_plain_text_is_kept),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_valid_utf8_is_kept),
        cmocka_unit_test(test_ill_formed_utf8_is_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

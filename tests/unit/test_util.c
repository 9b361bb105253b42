/* Unit tests for util: escaping paths for one-line messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpiwc/util.h"

static void expect_escape(const char *in, const char *want)
{
    char *got = mpiwc_escape(in);
    assert_string_equal(got, want);
    free(got);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_is_kept),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_valid_utf8_is_kept),
        cmocka_unit_test(test_ill_formed_utf8_is_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

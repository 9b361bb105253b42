/*
 * Unit tests for cli.h: every option of the spec, defaults, size suffixes,
 * bad values (usage error naming the option), --help and --version.
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

#include "mpiwc/cli.h"
#include "mpiwc_config.h"

/* A mutable argv built from string literals, kept alive for the borrowed pointers. */
struct args {
    int argc;
    char *argv[32];
    char *orig[32]; /* the strings, for freeing whatever order getopt leaves argv in */
};

static void args_make(struct args *a, const char *const *list)
{
    a->argc = 0;
    a->argv[a->argc] = strdup("mpiwc");
    a->orig[a->argc] = a->argv[a->argc];
    a->argc++;
    for (size_t i = 0; list[i]; i++) {
        assert_true(a->argc < 31);
        a->argv[a->argc] = strdup(list[i]);
        assert_non_null(a->argv[a->argc]);
        a->orig[a->argc] = a->argv[a->argc];
        a->argc++;
    }
    a->argv[a->argc] = NULL;
}

static void args_free(struct args *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->orig[i]);
}

struct result {
    enum mpiwc_cli_result rc;
    struct mpiwc_options opts;
    char *out, *err;
    size_t out_len, err_len;
    struct args args;
};

static void parse(struct result *r, const char *const *list)
{
    memset(r, 0, sizeof *r);
    args_make(&r->args, list);
    FILE *out = open_memstream(&r->out, &r->out_len);
    FILE *err = open_memstream(&r->err, &r->err_len);
    assert_non_null(out);
    assert_non_null(err);
    r->rc = mpiwc_cli_parse(r->args.argc, r->args.argv, &r->opts, out, err);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(fclose(err), 0);
}

static void result_free(struct result *r)
{
    free(r->out);
    free(r->err);
    args_free(&r->args);
}

#define PARSE(r, ...)                                                                              \
    do {                                                                                           \
        static const char *const list_[] = {__VA_ARGS__, NULL};                                    \
        parse((r), list_);                                                                         \
    } while (0)

/* The run succeeded and printed nothing. */
static void assert_run(const struct result *r)
{
    if (r->rc != MPIWC_CLI_RUN)
        fail_msg("expected RUN, got %d; err: %.*s", (int)r->rc, (int)r->err_len, r->err);
    assert_int_equal(r->out_len, 0);
    assert_int_equal(r->err_len, 0);
}

/* A usage error whose first line on err mentions `what`; nothing on out. */
static void assert_usage(const struct result *r, const char *what)
{
    if (r->rc != MPIWC_CLI_USAGE)
        fail_msg("expected USAGE for '%s', got %d", what, (int)r->rc);
    assert_int_equal(r->out_len, 0);
    assert_true(r->err_len > 0);
    const char *nl = memchr(r->err, '\n', r->err_len);
    assert_non_null(nl); /* a whole line */
    size_t first = (size_t)(nl - r->err);
    char line[1024];
    assert_true(first < sizeof line);
    memcpy(line, r->err, first);
    line[first] = 0;
    if (!strstr(line, what))
        fail_msg("first error line '%s' does not mention '%s'", line, what);
}

static void test_defaults(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "file.txt");
    assert_run(&r);
    assert_null(r.opts.output);
    assert_int_equal(r.opts.sort, MPIWC_SORT_COUNT);
    assert_int_equal(r.opts.top, 0);
    assert_int_equal(r.opts.split, MPIWC_SPLIT_UNICODE);
    assert_int_equal(r.opts.casing, MPIWC_CASE_FOLD);
    assert_int_equal(r.opts.format, MPIWC_FORMAT_TSV);
    assert_false(r.opts.stats);
    assert_null(r.opts.report);
    assert_int_equal(r.opts.buffer_size, MPIWC_DEFAULT_BUFFER_SIZE);
    assert_int_equal(r.opts.buffer_size, 128u << 10);
    assert_int_equal(r.opts.shuffle_buffer, MPIWC_DEFAULT_SHUFFLE_BUFFER);
    assert_int_equal(r.opts.shuffle_buffer, 64u << 20);
    assert_int_equal(r.opts.npaths, 1);
    assert_string_equal(r.opts.paths[0], "file.txt");
    assert_int_equal(r.opts.argc, 2);
    assert_ptr_equal(r.opts.argv, r.args.argv);
    result_free(&r);
}

static void test_all_long_options(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "--output=out.tsv", "--sort=word", "--top=25", "--split=space", "--case=keep",
          "--format=json", "--stats", "--report=rep.json", "--buffer-size=4K",
          "--shuffle-buffer=16M", "a", "b", "c");
    assert_run(&r);
    assert_string_equal(r.opts.output, "out.tsv");
    assert_int_equal(r.opts.sort, MPIWC_SORT_WORD);
    assert_int_equal(r.opts.top, 25);
    assert_int_equal(r.opts.split, MPIWC_SPLIT_SPACE);
    assert_int_equal(r.opts.casing, MPIWC_CASE_KEEP);
    assert_int_equal(r.opts.format, MPIWC_FORMAT_JSON);
    assert_true(r.opts.stats);
    assert_string_equal(r.opts.report, "rep.json");
    assert_int_equal(r.opts.buffer_size, 4096);
    assert_int_equal(r.opts.shuffle_buffer, 16u << 20);
    assert_int_equal(r.opts.npaths, 3);
    assert_string_equal(r.opts.paths[0], "a");
    assert_string_equal(r.opts.paths[1], "b");
    assert_string_equal(r.opts.paths[2], "c");
    assert_int_equal(r.opts.argc, 14);
    result_free(&r);
}

static void test_short_options_and_separate_args(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "-o", "x.csv", "-n", "3", "--format", "csv", "--sort", "count", "--split", "alnum",
          "--case", "fold", "p");
    assert_run(&r);
    assert_string_equal(r.opts.output, "x.csv");
    assert_int_equal(r.opts.top, 3);
    assert_int_equal(r.opts.format, MPIWC_FORMAT_CSV);
    assert_int_equal(r.opts.sort, MPIWC_SORT_COUNT);
    assert_int_equal(r.opts.split, MPIWC_SPLIT_ALNUM);
    assert_int_equal(r.opts.casing, MPIWC_CASE_FOLD);
    assert_int_equal(r.opts.npaths, 1);
    assert_string_equal(r.opts.paths[0], "p");
    result_free(&r);

    PARSE(&r, "-n0", "-oout", "--format=tsv", "q");
    assert_run(&r);
    assert_int_equal(r.opts.top, 0);
    assert_string_equal(r.opts.output, "out");
    assert_int_equal(r.opts.format, MPIWC_FORMAT_TSV);
    result_free(&r);

    PARSE(&r, "--top=18446744073709551615", "q");
    assert_run(&r);
    assert_int_equal(r.opts.top, UINT64_MAX);
    result_free(&r);
}

static void test_paths(void **state)
{
    (void)state;
    struct result r;
    /* options after paths, "-" as a path, "--" ending options */
    PARSE(&r, "a", "--stats", "-", "b", "--", "--not-an-option", "-n");
    assert_run(&r);
    assert_true(r.opts.stats);
    assert_int_equal(r.opts.npaths, 5);
    assert_string_equal(r.opts.paths[0], "a");
    assert_string_equal(r.opts.paths[1], "-");
    assert_string_equal(r.opts.paths[2], "b");
    assert_string_equal(r.opts.paths[3], "--not-an-option");
    assert_string_equal(r.opts.paths[4], "-n");
    result_free(&r);
}

static void test_size_suffixes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t bytes;
    } good[] = {
        {"0", 0},
        {"64", 64},
        {"1K", 1024},
        {"4K", 4096},
        {"16M", UINT64_C(16) << 20},
        {"1G", UINT64_C(1) << 30},
        {"3G", UINT64_C(3) << 30},
        {"1000", 1000},
        {"18446744073709551615", UINT64_MAX},
        {"17179869183G", UINT64_C(17179869183) << 30},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 12345;
        if (mpiwc_cli_parse_size(good[i].text, &v) != 0)
            fail_msg("'%s' rejected", good[i].text);
        assert_int_equal(v, good[i].bytes);
    }
    static const char *const bad[] = {
        "",
        "abc",
        "K",
        "-1",
        "1.5K",
        "4KB",
        "4 K",
        "0x40",
        "12Q",
        "17179869184G", /* 2^64: overflow */
        "18446744073709551616",
        "99999999999999999999999",
        "1T",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 0;
        if (mpiwc_cli_parse_size(bad[i], &v) != -1)
            fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)v);
    }
}

static void test_buffer_sizes(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "--buffer-size=64", "--shuffle-buffer=1G", "f");
    assert_run(&r);
    assert_int_equal(r.opts.buffer_size, 64);
    assert_int_equal(r.opts.shuffle_buffer, 1u << 30);
    result_free(&r);

    PARSE(&r, "--buffer-size=1M", "--shuffle-buffer=64", "f");
    assert_run(&r);
    assert_int_equal(r.opts.buffer_size, 1u << 20);
    assert_int_equal(r.opts.shuffle_buffer, 64);
    result_free(&r);

    PARSE(&r, "--buffer-size=10", "f");
    assert_usage(&r, "buffer-size");
    result_free(&r);
    PARSE(&r, "--buffer-size=63", "f");
    assert_usage(&r, "buffer-size");
    result_free(&r);
    PARSE(&r, "--buffer-size=0", "f");
    assert_usage(&r, "buffer-size");
    result_free(&r);
    PARSE(&r, "--buffer-size=2G", "f"); /* above MPIWC_MAX_BUFFER */
    assert_usage(&r, "buffer-size");
    result_free(&r);
    PARSE(&r, "--buffer-size=lots", "f");
    assert_usage(&r, "buffer-size");
    result_free(&r);
    PARSE(&r, "--shuffle-buffer=32", "f");
    assert_usage(&r, "shuffle-buffer");
    result_free(&r);
    PARSE(&r, "--shuffle-buffer=5X", "f");
    assert_usage(&r, "shuffle-buffer");
    result_free(&r);
}

static void test_bad_values(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "--split=words", "f");
    assert_usage(&r, "split");
    result_free(&r);
    PARSE(&r, "--split=", "f");
    assert_usage(&r, "split");
    result_free(&r);
    PARSE(&r, "--sort=size", "f");
    assert_usage(&r, "sort");
    result_free(&r);
    PARSE(&r, "--case=upper", "f");
    assert_usage(&r, "case");
    result_free(&r);
    PARSE(&r, "--format=xml", "f");
    assert_usage(&r, "format");
    result_free(&r);
    PARSE(&r, "--top=abc", "f");
    assert_usage(&r, "top");
    result_free(&r);
    PARSE(&r, "-n", "abc", "f");
    assert_usage(&r, "top");
    result_free(&r);
    PARSE(&r, "--top=-1", "f");
    assert_usage(&r, "top");
    result_free(&r);
    PARSE(&r, "--top=5x", "f");
    assert_usage(&r, "top");
    result_free(&r);
    PARSE(&r, "--top=", "f");
    assert_usage(&r, "top");
    result_free(&r);
    PARSE(&r, "--top=99999999999999999999", "f");
    assert_usage(&r, "top");
    result_free(&r);
}

static void test_missing_path_and_unknown_option(void **state)
{
    (void)state;
    struct result r;
    static const char *const none[] = {NULL};
    parse(&r, none);
    if (r.rc != MPIWC_CLI_USAGE)
        fail_msg("no path: expected USAGE");
    assert_true(r.err_len > 0);
    assert_non_null(memchr(r.err, '\n', r.err_len));
    char *lower = strndup(r.err, r.err_len);
    assert_non_null(lower);
    for (char *c = lower; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c + 32);
    if (!strstr(lower, "path"))
        fail_msg("missing-path error does not mention a path: %s", r.err);
    free(lower);
    result_free(&r);

    PARSE(&r, "--stats");
    assert_usage(&r, "");
    result_free(&r);

    PARSE(&r, "--frobnicate", "f");
    assert_usage(&r, "frobnicate");
    result_free(&r);

    PARSE(&r, "-o"); /* option argument missing */
    assert_int_equal(r.rc, MPIWC_CLI_USAGE);
    result_free(&r);

    PARSE(&r, "--stats=yes", "f"); /* flag takes no argument */
    assert_usage(&r, "stats");
    result_free(&r);
}

/* Inside a cluster of short options (-xq) the message names the option
 * itself, not the whole word nor a neighbouring argument. */
static void test_short_option_in_cluster(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "-xq", "f");
    assert_usage(&r, "unknown option '-x'");
    result_free(&r);
    PARSE(&r, "-qx", "f");
    assert_usage(&r, "unknown option '-x'");
    result_free(&r);
    PARSE(&r, "--stats", "-vxq", "f");
    assert_usage(&r, "unknown option '-x'");
    result_free(&r);
    PARSE(&r, "-Q", "f");
    assert_usage(&r, "unknown option '-Q'");
    result_free(&r);
    PARSE(&r, "-q:", "f");
    assert_usage(&r, "unknown option '-:'");
    result_free(&r);
    PARSE(&r, "f", "-qo");
    assert_usage(&r, "option '-o' needs a value");
    result_free(&r);
    PARSE(&r, "f", "-vn");
    assert_usage(&r, "option '-n' needs a value");
    result_free(&r);
    /* Long options keep their own spelling. */
    PARSE(&r, "--frobnicate", "f");
    assert_usage(&r, "unknown option '--frobnicate'");
    result_free(&r);
    PARSE(&r, "f", "--output");
    assert_usage(&r, "option '--output' needs a value");
    result_free(&r);
    PARSE(&r, "--stats=yes", "f");
    assert_usage(&r, "'--stats=yes'");
    result_free(&r);
}

static void test_silent_when_streams_null(void **state)
{
    (void)state;
    struct args a;
    static const char *const bad[] = {"--split=nope", "f", NULL};
    args_make(&a, bad);
    struct mpiwc_options o;
    assert_int_equal(mpiwc_cli_parse(a.argc, a.argv, &o, NULL, NULL), MPIWC_CLI_USAGE);
    args_free(&a);
    static const char *const help[] = {"--help", NULL};
    args_make(&a, help);
    assert_int_equal(mpiwc_cli_parse(a.argc, a.argv, &o, NULL, NULL), MPIWC_CLI_EXIT);
    args_free(&a);
    static const char *const ok[] = {"--top=7", "f", NULL};
    args_make(&a, ok);
    assert_int_equal(mpiwc_cli_parse(a.argc, a.argv, &o, NULL, NULL), MPIWC_CLI_RUN);
    assert_int_equal(o.top, 7);
    args_free(&a);
}

static void test_help_and_version(void **state)
{
    (void)state;
    static const char *const help_forms[][2] = {{"--help", NULL}, {"-h", NULL}};
    for (size_t i = 0; i < 2; i++) {
        struct result r;
        parse(&r, help_forms[i]);
        assert_int_equal(r.rc, MPIWC_CLI_EXIT);
        assert_int_equal(r.err_len, 0);
        assert_true(r.out_len > 0);
        char *text = strndup(r.out, r.out_len);
        assert_non_null(text);
        static const char *const mention[] = {"--output",
                                              "--sort",
                                              "--top",
                                              "--split",
                                              "--case",
                                              "--format",
                                              "--stats",
                                              "--report",
                                              "--buffer-size",
                                              "--shuffle-buffer",
                                              "--help",
                                              "--version",
                                              "--checkpoint-dir",
                                              "--checkpoint-interval",
                                              "--keep-checkpoints"};
        for (size_t k = 0; k < sizeof mention / sizeof mention[0]; k++)
            if (!strstr(text, mention[k]))
                fail_msg("--help does not mention %s", mention[k]);
        free(text);
        result_free(&r);
    }
    /* mpiwc_cli_usage writes the same text. */
    char *u = NULL;
    size_t ulen = 0;
    FILE *f = open_memstream(&u, &ulen);
    assert_non_null(f);
    mpiwc_cli_usage(f);
    fclose(f);
    struct result h;
    PARSE(&h, "--help");
    assert_int_equal(ulen, h.out_len);
    assert_memory_equal(u, h.out, ulen);
    result_free(&h);
    free(u);

    static const char *const version_forms[][2] = {{"--version", NULL}, {"-V", NULL}};
    for (size_t i = 0; i < 2; i++) {
        struct result r;
        parse(&r, version_forms[i]);
        assert_int_equal(r.rc, MPIWC_CLI_EXIT);
        assert_int_equal(r.err_len, 0);
        char *text = strndup(r.out, r.out_len);
        assert_non_null(text);
        if (!strstr(text, MPIWC_VERSION))
            fail_msg("--version output '%s' lacks %s", text, MPIWC_VERSION);
        free(text);
        result_free(&r);
    }

    /* --help wins even with paths and other options around it. */
    struct result r;
    PARSE(&r, "a", "--top=3", "--help");
    assert_int_equal(r.rc, MPIWC_CLI_EXIT);
    result_free(&r);
}

/* Parsing twice in one process gives the same answer (getopt state is reset). */
static void test_parse_repeatable(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        struct result r;
        PARSE(&r, "--top=9", "-o", "o", "x", "y");
        assert_run(&r);
        assert_int_equal(r.opts.top, 9);
        assert_string_equal(r.opts.output, "o");
        assert_int_equal(r.opts.npaths, 2);
        assert_string_equal(r.opts.paths[0], "x");
        assert_string_equal(r.opts.paths[1], "y");
        result_free(&r);
        PARSE(&r, "--split=bad", "x");
        assert_usage(&r, "split");
        result_free(&r);
    }
}

/* A later occurrence of an option overrides the earlier one. */
/* --shuffle and --ranks-per-host. */
static void test_shuffle_options(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "f");
    assert_run(&r);
    assert_int_equal(r.opts.shuffle, MPIWC_SHUFFLE_AUTO);
    assert_int_equal(r.opts.ranks_per_host, 0);
    result_free(&r);
    static const struct {
        const char *arg;
        enum mpiwc_shuffle_mode mode;
    } modes[] = {{"--shuffle=auto", MPIWC_SHUFFLE_AUTO},
                 {"--shuffle=flat", MPIWC_SHUFFLE_FLAT},
                 {"--shuffle=node", MPIWC_SHUFFLE_NODE}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        const char *list[] = {modes[i].arg, "--shuffle-buffer=1M", "f", NULL};
        parse(&r, list);
        assert_run(&r);
        assert_int_equal(r.opts.shuffle, modes[i].mode);
        assert_int_equal(r.opts.shuffle_buffer, 1u << 20); /* a different option */
        result_free(&r);
    }
    PARSE(&r, "--ranks-per-host=8", "f");
    assert_run(&r);
    assert_int_equal(r.opts.ranks_per_host, 8);
    result_free(&r);
    PARSE(&r, "--ranks-per-host", "1", "f");
    assert_run(&r);
    assert_int_equal(r.opts.ranks_per_host, 1);
    result_free(&r);

    static const char *const bad[][2] = {
        {"--shuffle=tree", "shuffle"},
        {"--shuffle=", "shuffle"},
        {"--ranks-per-host=0", "ranks-per-host"},
        {"--ranks-per-host=-2", "ranks-per-host"},
        {"--ranks-per-host=x", "ranks-per-host"},
        {"--ranks-per-host=3000000000", "ranks-per-host"},
        {"--ranks-per-host=", "ranks-per-host"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *list[] = {bad[i][0], "f", NULL};
        parse(&r, list);
        assert_usage(&r, bad[i][1]);
        result_free(&r);
    }
}

static void test_last_wins(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "--format=csv", "--format=json", "-n", "1", "--top=2", "f");
    assert_run(&r);
    assert_int_equal(r.opts.format, MPIWC_FORMAT_JSON);
    assert_int_equal(r.opts.top, 2);
    result_free(&r);
}

/* --checkpoint-dir, --checkpoint-interval, --keep-checkpoints. */
static void test_checkpoint_options(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "f");
    assert_run(&r);
    assert_null(r.opts.checkpoint_dir);
    assert_int_equal(r.opts.checkpoint_interval, MPIWC_DEFAULT_CHECKPOINT_INTERVAL);
    assert_false(r.opts.keep_checkpoints);
    result_free(&r);
    PARSE(&r, "--checkpoint-dir=ck", "--checkpoint-interval=0", "--keep-checkpoints", "f");
    assert_run(&r);
    assert_string_equal(r.opts.checkpoint_dir, "ck");
    assert_int_equal(r.opts.checkpoint_interval, 0);
    assert_true(r.opts.keep_checkpoints);
    result_free(&r);
    PARSE(&r, "--checkpoint-dir", "ck", "--checkpoint-interval", "86400", "f");
    assert_run(&r);
    assert_int_equal(r.opts.checkpoint_interval, 86400);
    result_free(&r);
    PARSE(&r, "--checkpoint-dir=", "f");
    assert_usage(&r, "checkpoint-dir");
    result_free(&r);
    PARSE(&r, "--checkpoint-dir=ck", "--checkpoint-interval=-1", "f");
    assert_usage(&r, "checkpoint-interval");
    result_free(&r);
    PARSE(&r, "--checkpoint-dir=ck", "--checkpoint-interval=5m", "f");
    assert_usage(&r, "checkpoint-interval");
    result_free(&r);
    PARSE(&r, "--keep-checkpoints", "f");
    assert_usage(&r, "checkpoint-dir");
    result_free(&r);
    PARSE(&r, "--checkpoint-interval=10", "f");
    assert_usage(&r, "checkpoint-dir");
    result_free(&r);
}

/* The word options: values, defaults, combinations. The stop-word file is not
 * touched while parsing (rank 0 reads it when the job plans: errors.py). */
static void test_word_options(void **state)
{
    (void)state;
    struct result r;
    PARSE(&r, "f");
    assert_run(&r);
    assert_int_equal(r.opts.normalize, MPIWC_NORMALIZE_NFC);
    assert_int_equal(r.opts.min_length, 0);
    assert_false(r.opts.ignore_numbers);
    assert_null(r.opts.stopwords);
    result_free(&r);

    PARSE(&r, "--split=uax29", "--normalize=nfkc", "--min-length=3", "--ignore-numbers",
          "--stopwords=/dev/null", "f");
    assert_run(&r);
    assert_int_equal(r.opts.split, MPIWC_SPLIT_UAX29);
    assert_int_equal(r.opts.normalize, MPIWC_NORMALIZE_NFKC);
    assert_int_equal(r.opts.min_length, 3);
    assert_true(r.opts.ignore_numbers);
    assert_string_equal(r.opts.stopwords, "/dev/null");
    result_free(&r);

    PARSE(&r, "--compat=hadoop", "--top=3", "f");
    assert_run(&r);
    assert_int_equal(r.opts.split, MPIWC_SPLIT_HADOOP);
    assert_int_equal(r.opts.casing, MPIWC_CASE_KEEP);
    assert_int_equal(r.opts.normalize, MPIWC_NORMALIZE_NONE);
    assert_int_equal(r.opts.sort, MPIWC_SORT_WORD);
    assert_int_equal(r.opts.format, MPIWC_FORMAT_TSV);
    result_free(&r);

    PARSE(&r, "f");
    assert_run(&r);
    assert_int_equal(r.opts.ngram_min, 1);
    assert_int_equal(r.opts.ngram_max, 1);
    result_free(&r);
    PARSE(&r, "--ngram=3", "f");
    assert_run(&r);
    assert_int_equal(r.opts.ngram_min, 3);
    assert_int_equal(r.opts.ngram_max, 3);
    result_free(&r);
    PARSE(&r, "--ngram=1:8", "f");
    assert_run(&r);
    assert_int_equal(r.opts.ngram_min, 1);
    assert_int_equal(r.opts.ngram_max, 8);
    result_free(&r);
    PARSE(&r, "--compat=hadoop", "--ngram=1", "f"); /* single words are Hadoop's */
    assert_run(&r);
    result_free(&r);

    static const char *const bad[][3] = {
        {"--ngram=0", "f", "ngram"},
        {"--ngram=9", "f", "ngram"},
        {"--ngram=10", "f", "ngram"},
        {"--ngram=3:2", "f", "ngram"},
        {"--ngram=2:", "f", "ngram"},
        {"--ngram=:2", "f", "ngram"},
        {"--ngram=1:2:3", "f", "ngram"},
        {"--ngram=x", "f", "ngram"},
        {"--ngram=", "f", "ngram"},
        {"--ngram=2", "--compat=hadoop", "ngram"},
        {"--normalize=nfd", "f", "normalize"},
        {"--split=alnum", "--normalize=nfc", "normalize"},
        {"--min-length=-1", "f", "min-length"},
        {"--min-length=x", "f", "min-length"},
        {"--compat=spark", "f", "compat"},
        {"--compat=hadoop", "--case=fold", "case"},
        {"--compat=hadoop", "--sort=count", "sort"},
        {"--compat=hadoop", "--split=unicode", "split"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *list[] = {bad[i][0], bad[i][1], strcmp(bad[i][1], "f") ? "f" : NULL, NULL};
        parse(&r, list);
        assert_usage(&r, bad[i][2]);
        result_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_word_options),
        cmocka_unit_test(test_all_long_options),
        cmocka_unit_test(test_short_options_and_separate_args),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_size_suffixes),
        cmocka_unit_test(test_buffer_sizes),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_missing_path_and_unknown_option),
        cmocka_unit_test(test_short_option_in_cluster),
        cmocka_unit_test(test_silent_when_streams_null),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_parse_repeatable),
        cmocka_unit_test(test_last_wins),
        cmocka_unit_test(test_shuffle_options),
        cmocka_unit_test(test_checkpoint_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

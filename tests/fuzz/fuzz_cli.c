/*
 * fuzz_cli: option parsing and size suffixes.
 *
 * The input is split at NUL bytes into at most 32 strings. The first string
 * goes to mpiwc_cli_parse_size() and is checked against a reference parser
 * written here from cli.h's contract (decimal digits, then at most one of
 * K M G k m g meaning powers of 1024; -1 on anything else or on overflow).
 * Then argv = {"mpiwc", strings...} goes to mpiwc_cli_parse() twice: the
 * result must be the same both times (every rank parses its own argv; glibc's
 * getopt permutes argv and keeps state between calls), and a RUN result must
 * satisfy the option invariants (buffers within 64..1G, at least one path, the
 * paths the tail of argv and present unless --files-from gives them,
 * --output-dir without -o or --top).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_cli: check failed: %s (line %d)\n", #cond, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_ARGS 32

static int ref_parse_size(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    unsigned shift = 0;
    if (*s == 'k' || *s == 'K')
        shift = 10;
    else if (*s == 'm' || *s == 'M')
        shift = 20;
    else if (*s == 'g' || *s == 'G')
        shift = 30;
    else if (*s != '\0')
        return -1;
    if (shift && s[1] != '\0')
        return -1;
    if (v > UINT64_MAX >> shift)
        return -1;
    *out = v << shift;
    return 0;
}

static bool same_opts(const struct mpiwc_options *a, const struct mpiwc_options *b)
{
#define STREQ(x, y) ((x) == NULL ? (y) == NULL : (y) != NULL && strcmp((x), (y)) == 0)
    if (!STREQ(a->output, b->output) || !STREQ(a->output_dir, b->output_dir) ||
        !STREQ(a->report, b->report) || a->sort != b->sort || a->top != b->top ||
        a->split != b->split || a->casing != b->casing || a->format != b->format ||
        a->stats != b->stats || a->buffer_size != b->buffer_size ||
        a->shuffle_buffer != b->shuffle_buffer || a->memory_limit != b->memory_limit ||
        !STREQ(a->spill_dir, b->spill_dir) || a->npaths != b->npaths ||
        !STREQ(a->files_from, b->files_from) || a->files_from_nul != b->files_from_nul ||
        !STREQ(a->stopwords, b->stopwords) || a->normalize != b->normalize ||
        a->min_length != b->min_length || a->ignore_numbers != b->ignore_numbers ||
        a->compat_hadoop != b->compat_hadoop || a->dry_run != b->dry_run ||
        a->progress != b->progress || a->verbosity != b->verbosity || a->ninclude != b->ninclude ||
        a->nexclude != b->nexclude)
        return false;
    for (size_t i = 0; i < a->ninclude; i++)
        if (strcmp(a->include[i], b->include[i]) != 0)
            return false;
    for (size_t i = 0; i < a->nexclude; i++)
        if (strcmp(a->exclude[i], b->exclude[i]) != 0)
            return false;
    for (size_t i = 0; i < a->npaths; i++)
        if (strcmp(a->paths[i], b->paths[i]) != 0)
            return false;
    return true;
#undef STREQ
}

static FILE *devnull(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    CHECK(f);
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Strings: the input plus a terminating NUL, cut at every NUL. */
    char *text = malloc(size + 1);
    CHECK(text);
    memcpy(text, data, size);
    text[size] = '\0';
    char *args[MAX_ARGS + 2];
    int argc = 0;
    static char prog[] = "mpiwc";
    args[argc++] = prog;
    for (char *p = text; p <= text + size && argc <= MAX_ARGS; p += strlen(p) + 1)
        args[argc++] = p;
    args[argc] = NULL;

    uint64_t got = 0, want = 0;
    int rc = mpiwc_cli_parse_size(args[1], &got), ref = ref_parse_size(args[1], &want);
    CHECK(rc == ref);
    CHECK(rc != 0 || got == want);

    /* Two parses of copies of argv (getopt permutes the array it is given). */
    char *argv1[MAX_ARGS + 2], *argv2[MAX_ARGS + 2];
    memcpy(argv1, args, sizeof args);
    memcpy(argv2, args, sizeof args);
    struct mpiwc_options o1, o2;
    enum mpiwc_cli_result r1 = mpiwc_cli_parse(argc, argv1, &o1, devnull(), devnull());
    enum mpiwc_cli_result r2 = mpiwc_cli_parse(argc, argv2, &o2, NULL, NULL);
    CHECK(r1 == r2);
    CHECK(r1 == MPIWC_CLI_RUN || r1 == MPIWC_CLI_EXIT || r1 == MPIWC_CLI_USAGE);
    if (r1 == MPIWC_CLI_RUN) {
        CHECK(same_opts(&o1, &o2));
        /* The paths are the tail of argv; none only with --files-from. */
        CHECK(o1.npaths >= 1 || o1.files_from);
        CHECK(o1.paths >= argv1 + 1 && o1.paths + o1.npaths == argv1 + argc);
        CHECK(o1.ninclude <= MPIWC_MAX_GLOBS && o1.nexclude <= MPIWC_MAX_GLOBS);
        CHECK(o1.buffer_size >= MPIWC_MIN_BUFFER && o1.buffer_size <= MPIWC_MAX_BUFFER);
        CHECK(o1.shuffle_buffer >= MPIWC_MIN_BUFFER && o1.shuffle_buffer <= MPIWC_MAX_BUFFER);
        CHECK(!(o1.output_dir && o1.output));
        CHECK(!(o1.output_dir && o1.top));
        CHECK(!o1.output || *o1.output);
        CHECK(!o1.output_dir || *o1.output_dir);
        CHECK(o1.sort == MPIWC_SORT_COUNT || o1.sort == MPIWC_SORT_WORD);
        CHECK(o1.format == MPIWC_FORMAT_TSV || o1.format == MPIWC_FORMAT_CSV ||
              o1.format == MPIWC_FORMAT_JSON);
        for (size_t i = 0; i < o1.npaths; i++)
            CHECK(o1.paths[i] != NULL);
    }
    free(text);
    return 0;
}

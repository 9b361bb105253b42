/*
 * fuzz_spill: the spill's run format and merge (spill.h) on arbitrary bytes.
 *
 * The first byte picks the mode:
 *   even: the rest is a run file, read to its end by a reader (every check
 *         of spill.h made as it reads). It may fail, never crash or read past
 *         a buffer; the rows it gives are in the run's order, counts > 0, and
 *         when it reads to the end without failing, writing its rows again as
 *         a run and reading that gives the same rows.
 *   odd:  the rest is words, one per line (empty lines skipped), counted in a
 *         table that spills after every few words (the second byte picks how
 *         many); the result in word order (the merge of the runs, combining)
 *         must be exactly the words sorted and counted here, with qsort.
 * Run files go to a private directory under $TMPDIR (or /tmp), removed as the
 * spill closes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpiwc/rows.h"
#include "mpiwc/spill.h"
#include "mpiwc/table.h"
#include "mpiwc/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_spill: check failed: %s (line %d)\n", #cond, __LINE__);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char *tmp(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

struct word {
    const uint8_t *p;
    size_t len;
};

static int word_cmp(const void *a, const void *b)
{
    const struct word *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void words_mode(const uint8_t *data, size_t size)
{
    size_t every = size ? 1 + data[0] % 16 : 1;
    struct word *w = malloc((size + 1) * sizeof *w);
    size_t n = 0;
    for (size_t i = size ? 1 : 0, start = i; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            if (i > start)
                w[n++] = (struct word){data + start, i - start};
            start = i + 1;
        }
    }
    struct mpiwc_spill s;
    mpiwc_spill_init(&s, tmp(), 1);
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    for (size_t i = 0; i < n; i++) {
        if (i % every == 0)
            CHECK(mpiwc_spill_table(&s, &t) == 0);
        mpiwc_table_add(&t, w[i].p, w[i].len, 1);
    }
    qsort(w, n, sizeof *w, word_cmp);
    struct mpiwc_spill_result res;
    CHECK(mpiwc_spill_result_open(&s, &t, MPIWC_SORT_WORD, 0, &res) == 0);
    struct mpiwc_word row;
    char why[MPIWC_ERRLEN];
    size_t i = 0;
    while (mpiwc_rows_next(res.rows, &row, why, sizeof why) > 0) {
        CHECK(i < n);
        size_t j = i;
        while (j < n && word_cmp(&w[j], &w[i]) == 0)
            j++;
        CHECK(row.len == w[i].len && memcmp(row.key, w[i].p, row.len) == 0);
        CHECK(row.count == j - i);
        i = j;
    }
    CHECK(i == n);
    mpiwc_spill_result_close(&res);
    mpiwc_spill_close(&s);
    mpiwc_table_free(&t);
    free(w);
}

/* Read path's rows; into t when t is set. Returns whether it read to the end. */
static bool read_all(const char *path, struct mpiwc_table *t, size_t *rows)
{
    struct mpiwc_spill_stats st = {0};
    struct mpiwc_spill_reader *r;
    char why[MPIWC_ERRLEN];
    int rc = mpiwc_spill_reader_open(&r, path, &st, why, sizeof why);
    struct mpiwc_word w;
    *rows = 0;
    if (rc == 0) {
        while ((rc = mpiwc_rows_next(mpiwc_spill_reader_rows(r), &w, why, sizeof why)) > 0) {
            CHECK(w.len > 0 && w.count > 0);
            if (t)
                mpiwc_table_add(t, w.key, w.len, w.count);
            (*rows)++;
        }
    }
    mpiwc_spill_reader_close(r);
    if (rc < 0)
        CHECK(why[0] != '\0');
    return rc == 0;
}

static void run_mode(const uint8_t *data, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/mpiwc-fuzz-spill-%ld", tmp(), (long)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, size, f) == size && fclose(f) == 0);
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    size_t rows;
    if (read_all(path, &t, &rows) && rows > 0) {
        /* A valid run of distinct words: spilled again, it reads back the same. */
        CHECK(t.size == rows);
        struct mpiwc_spill s;
        mpiwc_spill_init(&s, tmp(), 1);
        CHECK(mpiwc_spill_table(&s, &t) == 0);
        char again[4200];
        snprintf(again, sizeof again, "%s/run-00000000", s.dir);
        struct mpiwc_table u;
        mpiwc_table_init(&u, 0);
        size_t rows2;
        CHECK(read_all(again, &u, &rows2) && rows2 == rows);
        mpiwc_spill_close(&s);
        mpiwc_table_free(&u);
    }
    mpiwc_table_free(&t);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        words_mode(data + 1, size - 1);
    else
        run_mode(data + 1, size - 1);
    return 0;
}

/*
 * rows: streams of result rows in one order, and the k-way merge of them.
 *
 *     struct mpiwc_rows_table a;
 *     mpiwc_rows_table_init(&a, &owned, MPIWC_SORT_WORD);  // sorts the table in place
 *     struct mpiwc_rows *in[2] = {&a.rows, mpiwc_spill_reader_rows(reader)};
 *     struct mpiwc_rows_merge m;
 *     mpiwc_rows_merge_init(&m, in, 2, MPIWC_SORT_WORD, true);
 *     struct mpiwc_word row;
 *     char why[MPIWC_ERRLEN];
 *     while ((rc = mpiwc_rows_next(&m.rows, &row, why, sizeof why)) > 0) { ... }
 *     mpiwc_rows_merge_free(&m);
 *
 * A stream gives its rows one at a time, each borrowed until the stream's
 * next call. The output reads every table through one: a rank's sorted owned
 * words, the runs it spilled to disk (spill.h), what another rank sends (the
 * output's gather). The merge takes streams sorted in one order (format.h)
 * and gives their union in that order; with combine, rows of one word from
 * several streams become one row with the sum of their counts (the runs a
 * rank spilled hold the same words more than once; word order only), else
 * equal rows keep their streams' order. A stream fails with a message (a spill file that
 * reads back short or corrupt), and the merge passes the failure on.
 *
 * What it does not do: MPI, files, or copying keys.
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_ROWS_H
#define MPIWC_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpiwc/format.h"
#include "mpiwc/table.h"

/*
 * A stream. next() returns 1 and fills *w (borrowed until its next call), 0
 * at the end (and from then on), or -1 with "reason" in err.
 */
struct mpiwc_rows {
    int (*next)(struct mpiwc_rows *r, struct mpiwc_word *w, char *err, size_t errlen);
};

/* Local. The next row of r: 1, 0 at the end, -1 on failure (message in err). */
static inline int mpiwc_rows_next(struct mpiwc_rows *r, struct mpiwc_word *w, char *err,
                                  size_t errlen)
{
    return r->next(r, w, err, errlen);
}

/*
 * A stream over a table's words, sorted in the table's own memory
 * (mpiwc_table_sort: no array of rows beside it); keys borrowed from the
 * table, which is no hash table afterwards until it is cleared.
 */
struct mpiwc_rows_table {
    struct mpiwc_rows rows;
    struct mpiwc_table_cursor c;
};

/* Local. Sort t in order and read it from its first word. */
void mpiwc_rows_table_init(struct mpiwc_rows_table *r, struct mpiwc_table *t,
                           enum mpiwc_sort order);

/* A stream over an array of rows, in the array's order (borrowed). */
struct mpiwc_rows_array {
    struct mpiwc_rows rows;
    const struct mpiwc_word *w;
    size_t n, next;
};

/* Local. */
void mpiwc_rows_array_init(struct mpiwc_rows_array *a, const struct mpiwc_word *w, size_t n);

/* The merge of several streams sorted in one order; itself a stream. */
struct mpiwc_rows_merge {
    struct mpiwc_rows rows;
    struct mpiwc_rows **in; /* borrowed */
    struct mpiwc_word *cur; /* each stream's current row */
    uint64_t *prefix;       /* its first 8 bytes, big-endian: most comparisons end there */
    bool *done;             /* the stream has no row left */
    /* A tree of losers over the streams: tree[0] the stream whose row comes
     * first, tree[i] (0 < i < nin) the loser of the match at node i. */
    size_t *tree;
    size_t nin;
    size_t advance; /* the stream whose row was handed out last, to advance first; nin: none */
    uint8_t *key;   /* with combine: the word handed out last, copied */
    size_t key_cap;
    enum mpiwc_sort order;
    bool combine, started;
};

/* Local. Merge the n streams in (sorted in order; borrowed until free). */
void mpiwc_rows_merge_init(struct mpiwc_rows_merge *m, struct mpiwc_rows **in, size_t n,
                           enum mpiwc_sort order, bool combine);
void mpiwc_rows_merge_free(struct mpiwc_rows_merge *m);

#endif

#include "mpiwc/rows.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/util.h"

static int table_next(struct mpiwc_rows *r, struct mpiwc_word *w, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return mpiwc_table_cursor_next(&((struct mpiwc_rows_table *)r)->c, w) ? 1 : 0;
}

void mpiwc_rows_table_init(struct mpiwc_rows_table *r, struct mpiwc_table *t, enum mpiwc_sort order)
{
    mpiwc_table_sort(t, order);
    r->rows.next = table_next;
    mpiwc_table_cursor_init(&r->c, t, order);
}

static int array_next(struct mpiwc_rows *r, struct mpiwc_word *w, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct mpiwc_rows_array *a = (struct mpiwc_rows_array *)r;
    if (a->next == a->n)
        return 0;
    /* Rows are in order but their keys sit at random places in the table. */
    if (a->next + 16 < a->n)
        __builtin_prefetch(a->w[a->next + 16].key);
    *w = a->w[a->next++];
    return 1;
}

void mpiwc_rows_array_init(struct mpiwc_rows_array *a, const struct mpiwc_word *w, size_t n)
{
    *a = (struct mpiwc_rows_array){{array_next}, w, n, 0};
}

/* Does stream a's current row come first? Equal rows: the lower stream first. */
static bool before(const struct mpiwc_rows_merge *m, size_t a, size_t b)
{
    int c =
        mpiwc_format_compare_prefixed(&m->cur[a], m->prefix[a], &m->cur[b], m->prefix[b], m->order);
    return c < 0 || (c == 0 && a < b);
}

/* The next row of stream s into cur[s]: 1, 0 at its end, -1. */
static int pull(struct mpiwc_rows_merge *m, size_t s, char *err, size_t errlen)
{
    int rc = mpiwc_rows_next(m->in[s], &m->cur[s], err, errlen);
    if (rc > 0)
        m->prefix[s] = mpiwc_format_prefix(&m->cur[s]);
    return rc;
}

static void sift_down(struct mpiwc_rows_merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < m->nheap && before(m, m->heap[l], m->heap[min]))
            min = l;
        if (r < m->nheap && before(m, m->heap[r], m->heap[min]))
            min = r;
        if (min == i)
            return;
        size_t t = m->heap[i];
        m->heap[i] = m->heap[min];
        m->heap[min] = t;
        i = min;
    }
}

/* Move stream s to its next row: back into the heap at the top, or out of it. */
static int advance_top(struct mpiwc_rows_merge *m, char *err, size_t errlen)
{
    int rc = pull(m, m->heap[0], err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 0)
        m->heap[0] = m->heap[--m->nheap];
    sift_down(m, 0);
    return 0;
}

static int merge_next(struct mpiwc_rows *r, struct mpiwc_word *w, char *err, size_t errlen)
{
    struct mpiwc_rows_merge *m = (struct mpiwc_rows_merge *)r;
    if (m->nin == 1) /* one rank's rows: nothing to merge or combine */
        return mpiwc_rows_next(m->in[0], w, err, errlen);
    if (!m->started) { /* every stream's first row, then the heap */
        m->started = true;
        for (size_t s = 0; s < m->nin; s++) {
            int rc = pull(m, s, err, errlen);
            if (rc < 0)
                return -1;
            if (rc > 0)
                m->heap[m->nheap++] = s;
        }
        for (size_t i = m->nheap / 2; i-- > 0;)
            sift_down(m, i);
    } else if (m->advance < m->nin) { /* the row handed out last is no longer borrowed */
        m->advance = m->nin;
        if (advance_top(m, err, errlen) != 0)
            return -1;
    }
    if (m->nheap == 0)
        return 0;
    size_t s = m->heap[0];
    *w = m->cur[s];
    if (m->combine && m->nheap > 1) {
        /* The same word's rows from the other streams are counted here and their
         * streams moved on. Stream s keeps its row, which *w borrows, until the
         * next call: out of the heap meanwhile, then back on top (its word is now
         * smaller than every other stream's). */
        m->heap[0] = m->heap[--m->nheap];
        sift_down(m, 0);
        while (m->nheap > 0 && m->prefix[m->heap[0]] == m->prefix[s] &&
               mpiwc_format_compare(&m->cur[m->heap[0]], w, MPIWC_SORT_WORD) == 0) {
            uint64_t add = m->cur[m->heap[0]].count;
            if (add > MPIWC_COUNT_MAX - w->count)
                mpiwc_fatal("a word's count passes the supported %" PRIu64, MPIWC_COUNT_MAX);
            w->count += add;
            if (advance_top(m, err, errlen) != 0)
                return -1;
        }
        size_t i = m->nheap++; /* sift s up from a new leaf: it ends on top */
        for (; i > 0 && before(m, s, m->heap[(i - 1) / 2]); i = (i - 1) / 2)
            m->heap[i] = m->heap[(i - 1) / 2];
        m->heap[i] = s;
    }
    m->advance = s;
    return 1;
}

void mpiwc_rows_merge_init(struct mpiwc_rows_merge *m, struct mpiwc_rows **in, size_t n,
                           enum mpiwc_sort order, bool combine)
{
    size_t k = n ? n : 1;
    *m = (struct mpiwc_rows_merge){
        .rows = {merge_next},
        .in = in,
        .cur = mpiwc_xcalloc(k, sizeof *m->cur),
        .prefix = mpiwc_xcalloc(k, sizeof *m->prefix),
        .heap = mpiwc_xmalloc(mpiwc_mul_size(k, sizeof *m->heap)),
        .nin = n,
        .advance = n,
        .order = order,
        .combine = combine && order == MPIWC_SORT_WORD,
    };
}

void mpiwc_rows_merge_free(struct mpiwc_rows_merge *m)
{
    free(m->cur);
    free(m->prefix);
    free(m->heap);
    memset(m, 0, sizeof *m);
}

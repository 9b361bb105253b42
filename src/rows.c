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

/*
 * Does stream a's current row come first? Equal rows: the lower stream first;
 * a stream with no row left comes last. A total order, so the merge is the
 * same whatever order its matches are played in.
 */
static bool before(const struct mpiwc_rows_merge *m, size_t a, size_t b)
{
    if (m->done[a] || m->done[b])
        return !m->done[a] || (m->done[b] && a < b);
    int c =
        mpiwc_format_compare_prefixed(&m->cur[a], m->prefix[a], &m->cur[b], m->prefix[b], m->order);
    return c < 0 || (c == 0 && a < b);
}

/* The next row of stream s into cur[s], or done[s]: 0, or -1. */
static int pull(struct mpiwc_rows_merge *m, size_t s, char *err, size_t errlen)
{
    int rc = mpiwc_rows_next(m->in[s], &m->cur[s], err, errlen);
    if (rc > 0)
        m->prefix[s] = mpiwc_format_prefix(&m->cur[s]);
    m->done[s] = rc == 0;
    return rc < 0 ? -1 : 0;
}

/*
 * The tree of losers (Knuth, TAOCP 5.4.1): leaves nin .. 2 nin - 1 are the
 * streams, node i's children are 2i and 2i + 1, and each node keeps the
 * loser of its match. A stream's new row plays only the matches on its
 * leaf's path, one comparison a level: log2(nin) a row, where a binary heap
 * took two a level to sift down, and again to take the top out and put it
 * back when words are combined (merging 24 spilled runs of the
 * high-cardinality corpus: see the commit).
 */
static size_t play(struct mpiwc_rows_merge *m, size_t node)
{
    if (node >= m->nin)
        return node - m->nin;
    size_t a = play(m, 2 * node), b = play(m, 2 * node + 1);
    bool a_wins = before(m, a, b);
    m->tree[node] = a_wins ? b : a;
    return a_wins ? a : b;
}

/* Stream s has a new row (or none): replay its path to the root. */
static void replay(struct mpiwc_rows_merge *m, size_t s)
{
    size_t winner = s;
    for (size_t node = (s + m->nin) / 2; node > 0; node /= 2)
        if (before(m, m->tree[node], winner)) {
            size_t t = m->tree[node];
            m->tree[node] = winner;
            winner = t;
        }
    m->tree[0] = winner;
}

/* Move stream s on to its next row. */
static int advance(struct mpiwc_rows_merge *m, size_t s, char *err, size_t errlen)
{
    if (pull(m, s, err, errlen) != 0)
        return -1;
    replay(m, s);
    return 0;
}

static int merge_next(struct mpiwc_rows *r, struct mpiwc_word *w, char *err, size_t errlen)
{
    struct mpiwc_rows_merge *m = (struct mpiwc_rows_merge *)r;
    if (m->nin == 1) /* one rank's rows: nothing to merge or combine */
        return mpiwc_rows_next(m->in[0], w, err, errlen);
    if (m->nin == 0)
        return 0;
    if (!m->started) { /* every stream's first row, then the matches */
        m->started = true;
        for (size_t s = 0; s < m->nin; s++)
            if (pull(m, s, err, errlen) != 0)
                return -1;
        m->tree[0] = play(m, 1);
    } else if (m->advance < m->nin) { /* the row handed out last is no longer borrowed */
        size_t s = m->advance;
        m->advance = m->nin;
        if (advance(m, s, err, errlen) != 0)
            return -1;
    }
    size_t s = m->tree[0];
    if (m->done[s])
        return 0;
    *w = m->cur[s];
    if (!m->combine) {
        m->advance = s; /* *w borrows stream s's row until the next call */
        return 1;
    }
    /* The same word's rows from the other streams are counted here: the word is copied,
     * so that every stream moves on now, s first. */
    if (m->key_cap < w->len)
        m->key = mpiwc_grow(m->key, &m->key_cap, w->len, 1);
    memcpy(m->key, w->key, w->len);
    w->key = m->key;
    uint64_t prefix = m->prefix[s];
    for (;;) {
        if (advance(m, s, err, errlen) != 0)
            return -1;
        s = m->tree[0];
        if (m->done[s] || m->prefix[s] != prefix ||
            mpiwc_format_compare(&m->cur[s], w, MPIWC_SORT_WORD) != 0)
            return 1;
        uint64_t add = m->cur[s].count;
        if (add > MPIWC_COUNT_MAX - w->count)
            mpiwc_fatal("a word's count passes the supported %" PRIu64, MPIWC_COUNT_MAX);
        w->count += add;
    }
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
        .done = mpiwc_xcalloc(k, sizeof *m->done),
        .tree = mpiwc_xcalloc(k, sizeof *m->tree),
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
    free(m->done);
    free(m->tree);
    free(m->key);
    memset(m, 0, sizeof *m);
}

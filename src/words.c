#include "mpiwc/words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/record.h"
#include "mpiwc/util.h"
#include "table_internal.h"
#include "boundary_internal.h"

/* An unfinished unicode run longer than this has its finished words counted early. */
#define FLUSH_AT ((size_t)64 << 10)

#define HIGH_BITS 0x8080808080808080ull

static bool ascii_alnum(uint8_t b)
{
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9');
}

static bool all_ascii(const uint8_t *p, size_t n)
{
    size_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        acc |= v;
    }
    for (; i < n; i++)
        acc |= p[i];
    return (acc & HIGH_BITS) == 0;
}

static const uint8_t *ascii_fold(struct mpiwc_words *w, const uint8_t *p, size_t n)
{
    if (!w->folds)
        return p;
    w->tmp.len = 0;
    if (w->tmp.cap < n) {
        w->tmp.p = mpiwc_xrealloc(w->tmp.p, n);
        w->tmp.cap = n;
    }
    for (size_t i = 0; i < n; i++)
        w->tmp.p[i] = (uint8_t)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    return w->tmp.p;
}

/* The key of word p[0..n) under the rules; borrowed until the next call. */
static const uint8_t *key_of(struct mpiwc_words *w, const uint8_t *p, size_t n, size_t *len,
                             size_t *bad)
{
    *len = n;
    *bad = 0;
    switch (w->rules.split) {
    case MPIWC_SPLIT_HADOOP:
        w->tmp.len = 0;
        *bad = mpiwc_unicode_replace_invalid(p, n, &w->tmp);
        *len = w->tmp.len;
        return w->tmp.p;
    case MPIWC_SPLIT_ALNUM:
    case MPIWC_SPLIT_SPACE:
        return ascii_fold(w, p, n);
    case MPIWC_SPLIT_UNICODE:
    case MPIWC_SPLIT_UAX29:
    default:
        if (all_ascii(p, n)) /* ASCII is NFC and NFKC; full folding of ASCII is A-Z -> a-z */
            return ascii_fold(w, p, n);
        return mpiwc_unicode_key(&w->keyer, p, n, len);
    }
}

/* Copy key into an n-gram window slot (16 bytes at least: load_key() reads 16). */
static void ngram_set(struct mpiwc_ngram_key *k, const uint8_t *key, size_t len, bool starts,
                      uint64_t tag)
{
    if (k->cap < len || k->cap < 16)
        k->p = mpiwc_grow(k->p, &k->cap, len < 16 ? 16 : len, 1);
    memcpy(k->p, key, len);
    k->len = len;
    k->starts = starts;
    k->tag = tag;
}

/* The ring's slots: MPIWC_NGRAM_MAX, a power of two, so that a slot is an and, not a division. */
#define RING(i) ((i) & (MPIWC_NGRAM_MAX - 1))
_Static_assert((MPIWC_NGRAM_MAX & (MPIWC_NGRAM_MAX - 1)) == 0, "a power of two");

__extension__ typedef unsigned __int128 u128;

/* The first len < 16 bytes of p (16 may be read), zero padded. */
static inline u128 load_key(const uint8_t *p, size_t len)
{
    uint64_t lo, hi;
    memcpy(&lo, p, 8);
    memcpy(&hi, p + 8, 8);
    lo &= mpiwc_key_masks[len][0];
    hi &= mpiwc_key_masks[len][1];
    return (u128)hi << 64 | lo;
}

/* Count the short key (lo, hi) of n <= MPIWC_INLINE_KEY bytes, queued behind a prefetch or not. */
static inline __attribute__((always_inline)) void
ngram_count_short(struct mpiwc_counter *c, uint64_t lo, uint64_t hi, size_t n, bool queue)
{
    uint64_t h = mpiwc_hash_key(lo, hi, n);
    if (n <= MPIWC_SMALL_KEY)
        mpiwc_counter_count_small(c, h, lo | hi, queue);
    else
        mpiwc_counter_count(c, h, lo, hi, queue);
}

/*
 * Count the n-gram of m keys from ring slot start, n bytes joined. A short
 * one (most of a natural text's bigrams) is made in registers and queued
 * behind a prefetch of its slot: an n-gram table outgrows the caches long
 * before a word table does (the Bible's bigrams fill 6 MB). A long one is
 * joined in the counter's queue, or past MPIWC_COUNTER_LONG bytes in
 * g->joined and added at once.
 */
static void ngram_count(struct mpiwc_ngram *g, struct mpiwc_counter *c, unsigned start, unsigned m,
                        size_t n)
{
    if (n <= MPIWC_INLINE_KEY) {
        u128 acc = 0;
        unsigned shift = 0;
        for (unsigned k = 0; k < m; k++) {
            const struct mpiwc_ngram_key *e = &g->key[RING(start + k)];
            if (k > 0) {
                acc |= (u128)' ' << shift;
                shift += 8;
            }
            acc |= load_key(e->p, e->len) << shift;
            shift += 8 * (unsigned)e->len;
        }
        ngram_count_short(c, (uint64_t)acc, (uint64_t)(acc >> 64) | (uint64_t)n << 56, n, true);
        return;
    }
    bool queue = n <= MPIWC_COUNTER_LONG;
    if (!queue && g->joined_cap < n)
        g->joined = mpiwc_grow(g->joined, &g->joined_cap, n, 1);
    uint8_t *joined = queue ? mpiwc_counter_long_key(c) : g->joined, *p = joined;
    for (unsigned k = 0; k < m; k++) {
        const struct mpiwc_ngram_key *e = &g->key[RING(start + k)];
        if (k > 0)
            *p++ = ' ';
        memcpy(p, e->p, e->len);
        p += e->len;
    }
    if (queue) {
        mpiwc_counter_queue_long(c, n);
        return;
    }
    mpiwc_table_add(c->t, joined, n, 1);
    mpiwc_counter_load(c, c->t);
}

/* The kept key key[0..len) (of piece tag) joins g's window, uncounted: returns its slot. */
static unsigned ngram_remember(struct mpiwc_ngram *g, const uint8_t *key, size_t len, uint64_t tag)
{
    if (g->keys < g->max - 1)
        ngram_set(&g->head[g->keys], key, len, true, tag);
    g->keys++;
    if (g->have == g->max) {
        g->first = RING(g->first + 1);
        g->have--;
    }
    unsigned last = RING(g->first + g->have);
    ngram_set(&g->key[last], key, len, !g->ahead, tag);
    g->have++;
    if (g->ahead && g->wanted)
        g->wanted--;
    return last;
}

/*
 * The kept key key[0..len) (of piece tag) joins g's window: count with c the
 * n-gram of each length that it ends, when that n-gram's first key is the
 * stream's own (and, stitching, came from another piece than key).
 */
static void ngram_push(struct mpiwc_ngram *g, struct mpiwc_counter *c, const uint8_t *key,
                       size_t len, uint64_t tag)
{
    unsigned last = ngram_remember(g, key, len, tag);
    size_t n = len; /* the n-gram's bytes, joined */
    for (unsigned m = 1; m <= g->max && m <= g->have; m++) {
        unsigned start = RING(last + MPIWC_NGRAM_MAX + 1 - m);
        if (m > 1)
            n += g->key[start].len + 1;
        if (m < g->min || !g->key[start].starts || (g->spanning && g->key[start].tag == tag))
            continue;
        ngram_count(g, c, start, m, n);
    }
}

/* A public call that counts n-grams starts with this: the table may have changed since. */
static void ngram_begin(struct mpiwc_words *w)
{
    if (w->count)
        mpiwc_counter_init(w->count, w->table);
}

/* ... and ends with this: outside the calls, the table holds every n-gram counted. */
static void ngram_done(struct mpiwc_words *w)
{
    if (w->count)
        mpiwc_counter_flush(w->count);
}

/* The stream's next kept key. */
static void ngram_key(struct mpiwc_words *w, const uint8_t *key, size_t len)
{
    w->words += !w->ngram.ahead;
    ngram_push(&w->ngram, w->count, key, len, 0);
}

/* A new stream: an empty window. */
static void ngram_reset(struct mpiwc_ngram *g)
{
    g->first = g->have = g->wanted = 0;
    g->keys = 0;
    g->ahead = false;
}

/* Filter the key and count it (with n-grams: the n-grams it ends). */
static void count_key(struct mpiwc_words *w, const uint8_t *key, size_t len)
{
    if (len == 0)
        return;
    if (w->rules.min_length &&
        (len < w->rules.min_length || mpiwc_unicode_length(key, len) < w->rules.min_length))
        return;
    if (w->rules.ignore_numbers && mpiwc_unicode_is_number(key, len))
        return;
    if (w->stop.size && mpiwc_table_get(&w->stop, key, len))
        return;
    if (w->count) {
        ngram_key(w, key, len);
        return;
    }
    mpiwc_table_add(w->table, key, len, 1);
    w->words++;
}

/*
 * Does a filter drop the short ASCII key p[0..n), in slot form (lo, hi), of
 * the fast path? count_key()'s tests, where a byte is a character. The
 * filters once kept every word off the fast path: the Bible 256 MiB took
 * 3.6 to 6.3 times as long to tokenize with one as without (see the commit
 * that added this). Inlined into the filtered scans: called, it cost a
 * quarter of their time (see the commit that inlined it).
 */
static inline __attribute__((always_inline)) bool
fast_dropped(const struct mpiwc_words *w, const uint8_t *p, size_t n, uint64_t lo, uint64_t hi)
{
    if (n < w->rules.min_length)
        return true;
    if (w->rules.ignore_numbers) { /* no ASCII character but 0-9 is a decimal digit */
        size_t i = 0;
        while (i < n && (unsigned)(p[i] - '0') <= 9)
            i++;
        if (i == n && n > 0)
            return true;
    }
    if (!w->stop.size)
        return false;
    return mpiwc_table_has_key(&w->stop, mpiwc_hash_key(lo, hi, n), lo, hi, n);
}

static void count_word(void *ctx, const uint8_t *p, size_t n)
{
    struct mpiwc_words *w = ctx;
    size_t len, bad;
    const uint8_t *key = key_of(w, p, n, &len, &bad);
    w->invalid += bad;
    count_key(w, key, len);
}

/*
 * The unicode rule over p[0..n): count each finished word. Unless final, stop
 * before a word that may go on, or an ill-formed tail that more bytes may
 * complete; returns the bytes done (a character boundary after a separator).
 */
static size_t unicode_words(struct mpiwc_words *w, const uint8_t *p, size_t n, bool final)
{
    if (final && all_ascii(p, n)) { /* a run of ASCII letters and digits: one word */
        count_word(w, p, n);
        return n;
    }
    size_t i = 0, start = 0, done = 0;
    bool in = false;
    while (i < n) {
        int32_t cp;
        size_t k = mpiwc_unicode_next(p + i, n - i, &cp);
        if (!final && cp < 0 && i + k == n)
            break;
        if (cp >= 0 && mpiwc_unicode_is_word(cp)) {
            if (!in)
                start = i;
            in = true;
        } else {
            if (in)
                count_word(w, p + start, i - start);
            in = false;
            if (cp < 0)
                w->invalid += k;
            done = i + k;
        }
        i += k;
    }
    if (!final)
        return done;
    if (in)
        count_word(w, p + start, n - start);
    return n;
}

/*
 * uax29 without ICU where the answer is plain: ASCII punctuation (not '_')
 * around a run of ASCII letters and digits. The punctuation can only join
 * letters or digits on both sides (WB6/7, WB11/12) and '_' joins anything
 * (WB13a), so the inner run is the one word. Returns false when ICU is needed.
 */
static bool uax29_ascii(struct mpiwc_words *w, const uint8_t *p, size_t n)
{
    size_t a = 0, b = n;
    while (a < n && p[a] < 0x80 && !ascii_alnum(p[a]) && p[a] != '_')
        a++;
    while (b > a && p[b - 1] < 0x80 && !ascii_alnum(p[b - 1]) && p[b - 1] != '_')
        b--;
    for (size_t i = a; i < b; i++)
        if (!ascii_alnum(p[i]))
            return false;
    if (b > a)
        count_word(w, p + a, b - a);
    return true;
}

static void words_run(struct mpiwc_words *w, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    switch (w->rules.split) {
    case MPIWC_SPLIT_UNICODE:
        unicode_words(w, p, n, true);
        break;
    case MPIWC_SPLIT_UAX29:
        if (!uax29_ascii(w, p, n))
            w->invalid += mpiwc_unicode_segment(&w->seg, p, n, count_word, w);
        break;
    default:
        count_word(w, p, n);
        break;
    }
}

void mpiwc_words_run(struct mpiwc_words *w, const uint8_t *p, size_t n)
{
    ngram_begin(w);
    words_run(w, p, n);
    ngram_done(w);
}

/*
 * N-grams of N <= 3 on the fast path (--ngram=2, 3, 1:2, 1:3 or 2:3, not
 * reading ahead): the window's last two keys are kept here, zero padded,
 * and each short ASCII word is joined to them by shifts (or, past 15 bytes,
 * by three 16-byte copies into the counter's long queue), then hashed and
 * counted, with no copy into the window and no loop over lengths.
 * pair_sync() brings the window up to date before any other path reads or
 * changes it.
 */
struct pair {
    u128 last, before; /* the window's last two keys */
    size_t last_len, before_len;
    uint64_t keys; /* kept since the window was synced */
    bool ok;       /* the window's last N - 1 keys are short, after the stream's head */
};

/* Start from g's window. */
static void pair_load(struct pair *pr, const struct mpiwc_ngram *g)
{
    pr->keys = 0;
    pr->ok = false;
    if (g->keys < g->max - 1 || g->have < g->max - 1)
        return;
    const struct mpiwc_ngram_key *k = &g->key[RING(g->first + g->have - 1)];
    if (k->len > MPIWC_INLINE_KEY)
        return;
    pr->last = load_key(k->p, k->len); /* 16 bytes may be read: ngram_set */
    pr->last_len = k->len;
    if (g->max == 3) {
        k = &g->key[RING(g->first + g->have - 2)];
        if (k->len > MPIWC_INLINE_KEY)
            return;
        pr->before = load_key(k->p, k->len);
        pr->before_len = k->len;
    }
    pr->ok = true;
}

/*
 * Bring g's window up to date. Of the keys kept since the last sync, the
 * window holds the last two (all that N <= 3 needs) and counts the others.
 */
static void pair_sync(struct pair *pr, struct mpiwc_ngram *g)
{
    uint8_t key[16];
    if (pr->keys >= 2) {
        g->keys += pr->keys - 2;
        memcpy(key, &pr->before, sizeof key);
        ngram_remember(g, key, pr->before_len, 0);
    }
    if (pr->keys >= 1) {
        memcpy(key, &pr->last, sizeof key);
        ngram_remember(g, key, pr->last_len, 0);
    }
    pr->keys = 0;
}

/* A feed's scan state: a local of mpiwc_words_feed, kept in registers. */
struct scan {
    struct mpiwc_words *w;
    struct mpiwc_counter c;
    uint64_t words;
    struct pair pr;
};

/*
 * The word cur, its n <= MPIWC_INLINE_KEY ASCII bytes zero padded, after the
 * window's short last keys: count it (--ngram=1:N) and the n-grams it ends.
 */
static inline __attribute__((always_inline)) void pair_count(struct scan *s, u128 cur, size_t n,
                                                             bool queue)
{
    struct pair *pr = &s->pr;
    const struct mpiwc_ngram *g = &s->w->ngram;
    if (g->min == 1)
        ngram_count_short(&s->c, (uint64_t)cur, (uint64_t)(cur >> 64) | (uint64_t)n << 56, n,
                          queue);
    size_t m = pr->last_len + 1 + n;
    u128 key = 0; /* the bigram, when short */
    if (m <= MPIWC_INLINE_KEY)
        key = pr->last | (u128)' ' << (8 * pr->last_len) | cur << (8 * (pr->last_len + 1));
    if (g->min <= 2) {
        if (m <= MPIWC_INLINE_KEY) {
            ngram_count_short(&s->c, (uint64_t)key, (uint64_t)(key >> 64) | (uint64_t)m << 56, m,
                              queue);
        } else {
            uint8_t *joined = mpiwc_counter_long_key(&s->c); /* 31 bytes at most */
            memcpy(joined, &pr->last, 16);
            joined[pr->last_len] = ' ';
            memcpy(joined + pr->last_len + 1, &cur, 16);
            mpiwc_counter_queue_long(&s->c, m);
        }
    }
    if (g->max == 3) {
        size_t m3 = pr->before_len + 1 + m;
        if (m3 <= MPIWC_INLINE_KEY) {
            u128 key3 =
                pr->before | (u128)' ' << (8 * pr->before_len) | key << (8 * (pr->before_len + 1));
            ngram_count_short(&s->c, (uint64_t)key3, (uint64_t)(key3 >> 64) | (uint64_t)m3 << 56,
                              m3, queue);
        } else {
            uint8_t *joined = mpiwc_counter_long_key(&s->c); /* 47 bytes at most */
            memcpy(joined, &pr->before, 16);
            joined[pr->before_len] = ' ';
            uint8_t *at = joined + pr->before_len + 1;
            memcpy(at, &pr->last, 16);
            at[pr->last_len] = ' ';
            memcpy(at + pr->last_len + 1, &cur, 16);
            mpiwc_counter_queue_long(&s->c, m3);
        }
    }
    pr->before = pr->last;
    pr->before_len = pr->last_len;
    pr->last = cur;
    pr->last_len = n;
    pr->keys++;
    s->words++;
}

/*
 * Any other run p[0..n) of the scanned bytes, with the last keys kept in
 * s->pr: the window's path. filtered: a short ASCII word here has passed the
 * filters (run_done()), and any other goes through them (count_key()).
 */
static void pair_slow(struct scan *s, const uint8_t *p, size_t n, bool filtered)
{
    struct mpiwc_words *w = s->w;
    pair_sync(&s->pr, &w->ngram);
    mpiwc_counter_load(w->count, w->table); /* s->c may have grown the table */
    if ((!filtered && w->bytes_key) || (n <= MPIWC_INLINE_KEY && all_ascii(p, n)))
        ngram_key(w, p, n);
    else
        words_run(w, w->fed + (p - w->scan), n);
    mpiwc_counter_load(&s->c, w->table);
    pair_load(&s->pr, &w->ngram);
}

/*
 * A complete run p[0..n) of the scanned bytes (a padded copy on the fast
 * path). A word whose key is its bytes there, already folded when folding
 * (mpiwc_words_feed), is counted here: a short ASCII one, and when ascii any
 * one; any other run is keyed from the bytes as fed. fast (w->fast), ascii
 * (every run of the buffer is its word's key: the buffer is ASCII, or the
 * rule is alnum or space), queue (mpiwc_counter_count) and filter
 * (w->filtering: short ASCII words are filtered here, and ascii is false)
 * are constants at each call site.
 */
static inline __attribute__((always_inline)) void run_done(struct scan *s, const uint8_t *p,
                                                           size_t n, bool fast, bool ascii,
                                                           bool queue, bool pairs, bool filter)
{
    struct mpiwc_words *w = s->w;
    if (filter && n <= MPIWC_INLINE_KEY) { /* any other run is filtered on words_run()'s path */
        uint64_t lo, hi;
        mpiwc_short_key_padded(p, n, &lo, &hi); /* the scan copy is padded */
        if (!((lo | hi) & HIGH_BITS) && fast_dropped(w, p, n, lo, hi))
            return;
    }
    if (pairs) {
        if (n <= MPIWC_INLINE_KEY && s->pr.ok) {
            u128 cur = load_key(p, n);
            if ((!filter && (ascii || w->bytes_key)) ||
                !(((uint64_t)cur | (uint64_t)(cur >> 64)) & HIGH_BITS)) {
                pair_count(s, cur, n, queue);
                return;
            }
        }
        pair_slow(s, p, n, filter);
        return;
    }
    if (fast && w->count) { /* n-grams: a key is its scanned bytes, as above */
        if (ascii || (n <= MPIWC_INLINE_KEY && all_ascii(p, n)))
            ngram_key(w, p, n);
        else
            words_run(w, w->fed + (p - w->scan), n);
        return;
    }
    if (fast && mpiwc_counter_count_padded(&s->c, p, n, !ascii, queue)) {
        s->words++;
        return;
    }
    if (ascii) { /* a long word, whose key is its bytes in the copy too */
        mpiwc_table_add(w->table, p, n, 1);
        s->words++;
        mpiwc_counter_load(&s->c, w->table);
        return;
    }
    words_run(w, w->fed + (p - w->scan), n);
    mpiwc_counter_load(&s->c, w->table);
}

/*
 * The run functions, one per scan: each is inlined into its scan in
 * mpiwc_boundary_scan_runs(), so that the scan's state stays in registers.
 * Left to the compiler, the bigram scans were called per word, their state
 * in memory: the Bible x100 at np 1, --ngram=2, tokenize 5% slower (median
 * ratio of 15 alternating pairs).
 */
static inline __attribute__((always_inline)) void run_slow(void *ctx, const uint8_t *p, size_t n)
{
    run_done(ctx, p, n, false, false, false, false, false);
}

static inline __attribute__((always_inline)) void run_fast(void *ctx, const uint8_t *p, size_t n)
{
    run_done(ctx, p, n, true, false, false, false, false);
}

static inline __attribute__((always_inline)) void run_fast_queued(void *ctx, const uint8_t *p,
                                                                  size_t n)
{
    run_done(ctx, p, n, true, false, true, false, false);
}

static inline __attribute__((always_inline)) void run_ascii(void *ctx, const uint8_t *p, size_t n)
{
    run_done(ctx, p, n, true, true, false, false, false);
}

static inline __attribute__((always_inline)) void run_ascii_queued(void *ctx, const uint8_t *p,
                                                                   size_t n)
{
    run_done(ctx, p, n, true, true, true, false, false);
}

static inline __attribute__((always_inline)) void run_pairs(void *ctx, const uint8_t *p, size_t n)
{
    run_done(ctx, p, n, true, false, false, true, false);
}

static inline __attribute__((always_inline)) void run_pairs_queued(void *ctx, const uint8_t *p,
                                                                   size_t n)
{
    run_done(ctx, p, n, true, false, true, true, false);
}

static inline __attribute__((always_inline)) void run_pairs_filtered(void *ctx, const uint8_t *p,
                                                                     size_t n)
{
    run_done(ctx, p, n, true, false, false, true, true);
}

static inline __attribute__((always_inline)) void
run_pairs_filtered_queued(void *ctx, const uint8_t *p, size_t n)
{
    run_done(ctx, p, n, true, false, true, true, true);
}

static inline __attribute__((always_inline)) void run_filtered(void *ctx, const uint8_t *p,
                                                               size_t n)
{
    run_done(ctx, p, n, true, false, false, false, true);
}

static inline __attribute__((always_inline)) void run_filtered_queued(void *ctx, const uint8_t *p,
                                                                      size_t n)
{
    run_done(ctx, p, n, true, false, true, false, true);
}

/*
 * A long unfinished unicode run: count its finished words, keep the rest.
 * What is kept must double before the next scan, so one word of any length
 * costs O(length), not a rescan per buffer (64 MiB at 64 KiB buffers: 1024).
 */
static void pending_flush(struct mpiwc_words *w)
{
    struct mpiwc_boundary_pending *pw = &w->pending;
    if (w->rules.split != MPIWC_SPLIT_UNICODE || pw->len < FLUSH_AT || pw->len < w->flush_at)
        return;
    size_t done = unicode_words(w, pw->p, pw->len, false);
    memmove(pw->p, pw->p + done, pw->len - done);
    pw->len -= done;
    w->flush_at = mpiwc_mul_size(pw->len, 2);
}

/* filter: w->filtering, a constant in each of the two feeds below. */
static inline __attribute__((always_inline)) void
feed_with(struct mpiwc_words *w, const uint8_t *buf, size_t len, bool filter)
{
    size_t i = 0;
    if (w->in_run) {
        i = mpiwc_boundary_pending_extend(&w->pending, w->is_word, buf, len);
        if (i == len) {
            pending_flush(w);
            return;
        }
        size_t n;
        const uint8_t *run = mpiwc_boundary_pending_take(&w->pending, &n);
        words_run(w, run, n);
        w->flush_at = 0;
        w->in_run = false;
    }
    /*
     * The fast path scans a copy, with A-Z folded when folding: one vector pass
     * over the bytes costs less than folding each word's key (the Bible at
     * np 1: see the commit that added this).
     */
    w->scan = w->fed = buf;
    bool ascii = false; /* then no word needs its bytes checked */
    if (w->fast && len > 0)
        w->scan = mpiwc_boundary_scan_copy(&w->folded, &w->folded_cap, buf, len,
                                           w->folds ? w->fold : NULL, &ascii);
    /* Under the space and alnum rules a run of the copy is its word's key, ASCII or not
     * (key_of()). The filtering and bigram scans still check each word's bytes. */
    ascii = ascii || w->bytes_key;
    struct scan sc = {.w = w};
    mpiwc_counter_init(&sc.c, w->table);
    size_t open_at; /* one scan per run function, each inlined */
    const uint8_t *p = w->scan;
    mpiwc_classify_fn f = w->classify;
    bool queue = mpiwc_table_queues(w->table);
    bool pairs = w->fast && w->count && (w->ngram.max == 2 || w->ngram.max == 3) && !w->ngram.ahead;
    if (pairs)
        pair_load(&sc.pr, &w->ngram);
    if (!w->fast)
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_slow, &sc);
    else if (filter && pairs && queue)
        open_at =
            mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_pairs_filtered_queued, &sc);
    else if (filter && pairs)
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_pairs_filtered, &sc);
    else if (filter && queue)
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_filtered_queued, &sc);
    else if (filter)
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_filtered, &sc);
    else if (pairs && queue)
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_pairs_queued, &sc);
    else if (pairs)
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_pairs, &sc);
    else if (ascii && queue)
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_ascii_queued, &sc);
    else if (ascii)
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_ascii, &sc);
    else if (queue)
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_fast_queued, &sc);
    else
        open_at = mpiwc_boundary_scan_runs(p, len, i, f, w->is_word, run_fast, &sc);
    mpiwc_counter_flush(&sc.c);
    w->words += sc.words;
    if (pairs) {
        pair_sync(&sc.pr, &w->ngram);
        mpiwc_counter_load(w->count, w->table); /* sc.c may have grown the table */
    }
    if (open_at < len) {
        mpiwc_boundary_pending_append(&w->pending, buf + open_at, len - open_at);
        w->in_run = true;
        pending_flush(w);
    }
}

/*
 * The feeds with and without filters are compiled apart: with the filtered
 * scans in the same function, the default path's slowed by 4% (the Bible
 * x100 at np 1, 9 alternating runs, tokenize 0.390 -> 0.405 s).
 */
static void feed_filtered(struct mpiwc_words *w, const uint8_t *buf, size_t len)
{
    feed_with(w, buf, len, true);
}

static void feed_plain(struct mpiwc_words *w, const uint8_t *buf, size_t len)
{
    feed_with(w, buf, len, false);
}

static void feed(struct mpiwc_words *w, const uint8_t *buf, size_t len)
{
    if (w->filtering)
        feed_filtered(w, buf, len);
    else
        feed_plain(w, buf, len);
}

void mpiwc_words_feed(struct mpiwc_words *w, const uint8_t *buf, size_t len)
{
    ngram_begin(w);
    feed(w, buf, len);
    ngram_done(w);
}

bool mpiwc_words_in_word(const struct mpiwc_words *w)
{
    return w->in_run;
}

/* The pending run, if any, is complete: count it. */
static void run_end(struct mpiwc_words *w)
{
    size_t n;
    const uint8_t *run = mpiwc_boundary_pending_take(&w->pending, &n);
    if (w->in_run)
        words_run(w, run, n);
    w->flush_at = 0;
    w->in_run = false;
}

void mpiwc_words_end(struct mpiwc_words *w)
{
    ngram_begin(w);
    run_end(w);
    ngram_done(w);
    ngram_reset(&w->ngram);
}

/* Append key k to edges as a shuffle record (record.h) of count 1. */
static size_t edge_put(uint8_t **edges, size_t *cap, size_t at, const struct mpiwc_ngram_key *k)
{
    *edges = mpiwc_grow(*edges, cap, at + mpiwc_record_size(k->len, 1), 1);
    return (size_t)(mpiwc_record_put(*edges + at, k->p, (uint32_t)k->len, 1) - *edges);
}

size_t mpiwc_words_end_edges(struct mpiwc_words *w, uint8_t **edges, size_t *cap)
{
    struct mpiwc_ngram *g = &w->ngram;
    ngram_begin(w);
    run_end(w);
    ngram_done(w);
    size_t at = 0, edge = g->max - 1;
    uint64_t head = g->keys < edge ? g->keys : edge;
    for (unsigned k = 0; k < head; k++)
        at = edge_put(edges, cap, at, &g->head[k]);
    /*
     * The keys after the head, up to edge of them. Where the middle is left
     * out, no n-gram can run from a head key across it: the stitcher counts
     * only n-grams that start in an earlier piece, and one that runs through
     * all edge head keys into the tail is longer than N.
     */
    uint64_t rest = g->keys - head;
    rest = rest > edge ? edge : rest;
    for (unsigned k = g->have - (unsigned)rest; k < g->have; k++)
        at = edge_put(edges, cap, at, &g->key[RING(g->first + k)]);
    ngram_reset(g);
    return at;
}

void mpiwc_words_stitch(struct mpiwc_words *w, const uint8_t *edges, size_t len, uint64_t piece)
{
    const uint8_t *pos = edges, *key;
    uint32_t n;
    uint64_t one;
    if (!len)
        return; /* edges may be NULL: no piece had a key */
    ngram_begin(w);
    while (mpiwc_record_next(&pos, edges + len, &key, &n, &one) == MPIWC_RECORD_OK)
        ngram_push(&w->stitch, w->count, key, n, piece);
    ngram_done(w);
}

bool mpiwc_words_read_ahead(struct mpiwc_words *w)
{
    struct mpiwc_ngram *g = &w->ngram;
    if (g->max <= 1)
        return false;
    ngram_begin(w);
    run_end(w); /* the range's last run is its own */
    ngram_done(w);
    g->ahead = true;
    g->wanted = 0;
    for (unsigned k = 0; k < g->have; k++)
        if (g->key[RING(g->first + k)].starts)
            g->wanted = g->max - 1;
    return g->wanted > 0;
}

bool mpiwc_words_wants_more(const struct mpiwc_words *w)
{
    return w->ngram.ahead && w->ngram.wanted > 0;
}

/* The stop-word list: one word per line (LF or CRLF), keyed like the text. */
static void load_stopwords(struct mpiwc_words *w, const uint8_t *all, size_t all_len)
{
    /* A byte order mark is not part of the first word (editors on Windows write one). */
    for (size_t i = mpiwc_unicode_bom(all, all_len); i < all_len;) {
        const uint8_t *nl = memchr(all + i, '\n', all_len - i);
        size_t end = nl ? (size_t)(nl - all) : all_len, n = end - i;
        if (n && all[i + n - 1] == '\r')
            n--;
        if (n) {
            size_t len, bad;
            const uint8_t *key = key_of(w, all + i, n, &len, &bad);
            if (len)
                mpiwc_table_add(&w->stop, key, len, 1);
        }
        i = end + 1;
    }
}

void mpiwc_words_init(struct mpiwc_words *w, const struct mpiwc_word_rules *rules,
                      struct mpiwc_table *table)
{
    memset(w, 0, sizeof *w);
    w->rules = *rules;
    w->rules.stopwords = NULL;
    w->rules.stopwords_len = 0;
    if (rules->split == MPIWC_SPLIT_HADOOP || rules->split == MPIWC_SPLIT_ALNUM ||
        rules->split == MPIWC_SPLIT_SPACE)
        w->rules.normalize = MPIWC_NORMALIZE_NONE;
    for (int b = 0; b < 256; b++)
        w->is_word[b] = mpiwc_boundary_is_word(rules->split, (uint8_t)b);
    w->classify = mpiwc_boundary_classifier(mpiwc_boundary_simd_level(), rules->split);
    w->fold = mpiwc_boundary_folder(mpiwc_boundary_simd_level());
    w->ngram.min = rules->ngram_min ? rules->ngram_min : 1;
    w->ngram.max = rules->ngram_max > w->ngram.min ? rules->ngram_max : w->ngram.min;
    w->stitch.min = w->ngram.min > 2 ? w->ngram.min : 2; /* one word never spans two pieces */
    w->stitch.max = w->ngram.max;
    w->stitch.spanning = true;
    w->fast = rules->split != MPIWC_SPLIT_UAX29; /* a run is a word, or unicode's ASCII one is */
    w->filtering = rules->min_length || rules->ignore_numbers || rules->stopwords;
    /* Hadoop's keys are its words' bytes, never folded, whatever the casing. */
    w->folds = rules->casing == MPIWC_CASE_FOLD && rules->split != MPIWC_SPLIT_HADOOP;
    /* key_of(): A-Z folded when folding, every other byte as it is, ASCII or not. */
    w->bytes_key = rules->split == MPIWC_SPLIT_SPACE || rules->split == MPIWC_SPLIT_ALNUM;
    if (w->ngram.max > 1) {
        w->count = mpiwc_xmalloc(sizeof *w->count);
        mpiwc_counter_init(w->count, table);
    }
    w->table = table;
    mpiwc_table_init(&w->stop, 0);
    mpiwc_unicode_keyer_init(&w->keyer, w->folds, w->rules.normalize);
    if (rules->split == MPIWC_SPLIT_UAX29)
        mpiwc_unicode_segmenter_init(&w->seg);
    if (rules->stopwords)
        load_stopwords(w, rules->stopwords, rules->stopwords_len);
}

void mpiwc_words_free(struct mpiwc_words *w)
{
    mpiwc_boundary_pending_free(&w->pending);
    for (unsigned k = 0; k < MPIWC_NGRAM_MAX; k++) {
        free(w->ngram.key[k].p);
        free(w->ngram.head[k].p);
        free(w->stitch.key[k].p);
        free(w->stitch.head[k].p);
    }
    free(w->ngram.joined);
    free(w->stitch.joined);
    free(w->count);
    free(w->folded);
    free(w->tmp.p);
    mpiwc_table_free(&w->stop);
    mpiwc_unicode_keyer_free(&w->keyer);
    mpiwc_unicode_segmenter_free(&w->seg);
    memset(w, 0, sizeof *w);
}

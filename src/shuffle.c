#include "mpiwc/shuffle.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/record.h"
#include "mpiwc/util.h"
#include "table_internal.h"

/*
 * Slot indices of a table grouped by destination, a counting sort: a word's
 * destination is route[its owner rank] (NULL: the owner itself). The table
 * is compacted first (mpiwc_table_compact(); it is emptied after the
 * shuffle), so the two sweeps and every later read cover its words alone.
 * Each destination's words stay in slot order, which is their hash order:
 * the owner adds them as one sweep over its table. Two sweeps interleaved
 * (what grouping the slots in place by swaps gave) crowd the same part of a
 * smaller table twice as fast as it empties: clusters grew without end and
 * the merge of 100 MB at np 2 took 30 s, not 0.6.
 */
struct by_dest {
    size_t *slot;  /* slot indices, destination by destination */
    size_t *first; /* ndest + 1: destination d has slot[first[d] .. first[d+1]) */
};

static void group_by_dest(struct mpiwc_table *t, int nranks, const int *route, size_t ndest,
                          struct by_dest *g)
{
    mpiwc_table_compact(t);
    /* The compacted words: slots from[a] .. to[a] of array a (small, short, long). */
    size_t nsmall = t->small_mask + 1, nshort = t->short_mask + 1;
    size_t from[3] = {0, nsmall, nsmall + nshort};
    size_t to[3] = {t->small_size, nsmall + t->short_size, nsmall + nshort + t->big_size};
    g->first = mpiwc_xcalloc(ndest + 1, sizeof *g->first);
    g->slot = mpiwc_xmalloc(mpiwc_mul_size(t->size ? t->size : 1, sizeof *g->slot));
    struct mpiwc_table_word w = {0};
    for (int a = 0; a < 3; a++)
        for (size_t i = from[a]; i < to[a]; i++) {
            (void)mpiwc_table_word(t, i, &w);
            int o = mpiwc_table_owner(w.hash, nranks);
            g->first[(size_t)(route ? route[o] : o) + 1]++;
        }
    for (size_t d = 0; d < ndest; d++)
        g->first[d + 1] += g->first[d];
    size_t *fill = mpiwc_xmalloc(mpiwc_mul_size(ndest ? ndest : 1, sizeof *fill));
    memcpy(fill, g->first, ndest * sizeof *fill);
    for (int a = 0; a < 3; a++)
        for (size_t i = from[a]; i < to[a]; i++) {
            (void)mpiwc_table_word(t, i, &w);
            int o = mpiwc_table_owner(w.hash, nranks);
            g->slot[fill[route ? route[o] : o]++] = i;
        }
    free(fill);
}

static void by_dest_free(struct by_dest *g)
{
    free(g->slot);
    free(g->first);
}

/* Pack destination d's words from slot k to stop at p; returns the end. */
static uint8_t *pack_words(const struct mpiwc_table *t, const struct by_dest *g, size_t k,
                           size_t stop, uint8_t *p)
{
    struct mpiwc_table_word w = {0};
    for (; k < stop; k++) {
        (void)mpiwc_table_word(t, g->slot[k], &w);
        p = mpiwc_record_put(p, w.key, w.len, w.count);
    }
    return p;
}

/* The record bytes of destination d's words from slot k to stop. */
static size_t words_bytes(const struct mpiwc_table *t, const struct by_dest *g, size_t k,
                          size_t stop)
{
    size_t b = 0;
    struct mpiwc_table_word w = {0};
    for (; k < stop; k++) {
        (void)mpiwc_table_word(t, g->slot[k], &w);
        b += mpiwc_record_size(w.len, w.count);
    }
    return b;
}

/*
 * Words are merged in batches: the owned slots of a whole batch are
 * prefetched, then the batch is added. A big owned table misses the caches
 * on nearly every word, and the words come in the sender's slot order, so
 * nothing else hides that latency.
 */
#define MERGE_BATCH 64

struct merge {
    struct mpiwc_table *owned;
    struct mpiwc_spill *spill; /* NULL: the owned table grows as it must */
    size_t n;
    struct {
        const uint8_t *key; /* a long key's bytes */
        uint32_t len;
        uint64_t count, hash, lo, hi; /* lo, hi: a short key's slot form */
    } word[MERGE_BATCH];
};

static void merge_flush(struct merge *m)
{
    if (m->spill && mpiwc_spill_due(m->spill, m->owned, m->n))
        (void)mpiwc_spill_table(m->spill, m->owned); /* a failure is the caller's to agree on */
    if (m->spill && m->spill->failed) {
        m->n = 0; /* the job is failing: memory stays bounded */
        return;
    }
    for (size_t k = 0; k < m->n; k++)
        mpiwc_table_prefetch(m->owned, m->word[k].hash, m->word[k].len);
    for (size_t k = 0; k < m->n; k++)
        mpiwc_table_add_formed(m->owned, m->word[k].hash, m->word[k].key, m->word[k].len,
                               m->word[k].lo, m->word[k].hi, m->word[k].count);
    m->n = 0;
}

/* Merge the key of that hash and form (mpiwc_key_form()). */
static void merge_word(struct merge *m, uint64_t hash, const uint8_t *key, uint32_t len,
                       uint64_t lo, uint64_t hi, uint64_t count)
{
    m->word[m->n].key = key;
    m->word[m->n].len = len;
    m->word[m->n].count = count;
    m->word[m->n].hash = hash;
    m->word[m->n].lo = lo;
    m->word[m->n].hi = hi;
    if (++m->n == MERGE_BATCH)
        merge_flush(m);
}

static int merge_records(struct mpiwc_table *owned, struct mpiwc_spill *spill, const uint8_t *buf,
                         size_t len)
{
    const uint8_t *pos = buf, *end = buf + len, *key;
    uint32_t klen;
    uint64_t count, lo = 0, hi = 0;
    enum mpiwc_record_status st;
    struct merge m = {.owned = owned, .spill = spill};
    while ((st = mpiwc_record_next(&pos, end, &key, &klen, &count)) == MPIWC_RECORD_OK) {
        uint64_t hash = mpiwc_key_form(key, klen, (size_t)(end - key), &lo, &hi);
        merge_word(&m, hash, key, klen, lo, hi, count);
    }
    merge_flush(&m);
    return st == MPIWC_RECORD_END ? 0 : -1;
}

/* Merge destination d's words of t, this rank's own, into owned: no trip through MPI. */
static void merge_own(struct mpiwc_table *owned, struct mpiwc_spill *spill,
                      const struct mpiwc_table *t, const struct by_dest *g, size_t d)
{
    struct merge m = {.owned = owned, .spill = spill};
    struct mpiwc_table_word w = {0};
    for (size_t k = g->first[d]; k < g->first[d + 1]; k++) {
        (void)mpiwc_table_word(t, g->slot[k], &w);
        uint64_t lo = 0, hi = 0;
        if (w.len <= MPIWC_INLINE_KEY)
            mpiwc_short_key(w.key, w.len, &lo, &hi);
        merge_word(&m, w.hash, w.key, (uint32_t)w.len, lo, hi, w.count);
    }
    merge_flush(&m);
}

/*
 * This round's words of destination d: from cursor up to budget bytes (a
 * bigger record goes alone). Sets *stop past the last; returns the bytes.
 */
static size_t take_round(const struct mpiwc_table *t, const struct by_dest *g, size_t cursor,
                         size_t d, size_t budget, size_t *stop)
{
    size_t b = 0, k = cursor;
    struct mpiwc_table_word w = {0};
    while (k < g->first[d + 1]) {
        (void)mpiwc_table_word(t, g->slot[k], &w);
        size_t rec = mpiwc_record_size(w.len, w.count);
        if (b > 0 && b + rec > budget)
            break;
        b += rec;
        k++;
    }
    *stop = k;
    return b;
}

/* Send and receive buffers of one level of an exchange, reused round after round. */
struct level {
    int n_out, n_in;
    int *scount, *sdispl, *rcount, *rdispl;
    uint8_t *sbuf, *rbuf;
    size_t scap, rcap, stotal, rtotal;
};

static void level_init(struct level *l, int n_out, int n_in)
{
    *l = (struct level){.n_out = n_out, .n_in = n_in};
    size_t no = n_out ? (size_t)n_out : 1, ni = n_in ? (size_t)n_in : 1;
    l->scount = mpiwc_xcalloc(no, sizeof(int));
    l->sdispl = mpiwc_xcalloc(no, sizeof(int));
    l->rcount = mpiwc_xcalloc(ni, sizeof(int));
    l->rdispl = mpiwc_xcalloc(ni, sizeof(int));
}

static void level_free(struct level *l)
{
    free(l->scount);
    free(l->sdispl);
    free(l->rcount);
    free(l->rdispl);
    free(l->sbuf);
    free(l->rbuf);
}

static uint8_t *level_send_buffer(struct level *l, size_t total)
{
    if (total > l->scap) {
        l->scap = total;
        l->sbuf = mpiwc_xrealloc(l->sbuf, l->scap);
    }
    l->stotal = total;
    return l->sbuf;
}

/*
 * Collective over comm (a graph communicator's neighbours when neighbour).
 * Exchange the sizes; true when what this rank would receive fits an int
 * count (the caller agrees on it before level_data()).
 */
static bool level_sizes(struct level *l, MPI_Comm comm, bool neighbour)
{
    if (neighbour)
        MPI_Neighbor_alltoall(l->scount, 1, MPI_INT, l->rcount, 1, MPI_INT, comm);
    else
        MPI_Alltoall(l->scount, 1, MPI_INT, l->rcount, 1, MPI_INT, comm);
    l->rtotal = 0;
    for (int s = 0; s < l->n_in; s++) {
        l->rdispl[s] = l->rtotal <= INT_MAX ? (int)l->rtotal : 0;
        l->rtotal += (size_t)l->rcount[s];
    }
    return l->rtotal <= INT_MAX;
}

/* Collective over comm. Exchange the records whose sizes level_sizes() sent. */
static void level_data(struct level *l, MPI_Comm comm, bool neighbour)
{
    if (l->rtotal > l->rcap) {
        l->rcap = l->rtotal;
        l->rbuf = mpiwc_xrealloc(l->rbuf, l->rcap);
    }
    if (neighbour)
        MPI_Neighbor_alltoallv(l->sbuf, l->scount, l->sdispl, MPI_BYTE, l->rbuf, l->rcount,
                               l->rdispl, MPI_BYTE, comm);
    else
        MPI_Alltoallv(l->sbuf, l->scount, l->sdispl, MPI_BYTE, l->rbuf, l->rcount, l->rdispl,
                      MPI_BYTE, comm);
}

/* Sent sizes as counts, or none at all when a count would not fit an int. */
static bool level_counts(struct level *l, const size_t *bytes)
{
    size_t total = 0;
    bool fits = true;
    for (int d = 0; d < l->n_out; d++) {
        fits = fits && bytes[d] <= INT_MAX && total + bytes[d] <= INT_MAX;
        total += bytes[d];
    }
    size_t at = 0;
    for (int d = 0; d < l->n_out; d++) {
        l->sdispl[d] = fits ? (int)at : 0;
        l->scount[d] = fits ? (int)bytes[d] : 0;
        at += fits ? bytes[d] : 0;
    }
    level_send_buffer(l, at);
    return fits;
}

static void count_level(struct mpiwc_shuffle_stats *stats, const struct level *l)
{
    stats->bytes_sent += l->stotal;
    stats->bytes_received += l->rtotal;
}

static const char too_big_msg[] = "shuffle: a round exceeds the 2 GiB MPI count limit";

/* The flat shuffle: one MPI_Alltoallv over every rank a round. */
static int shuffle_flat(struct mpiwc_table *local, struct mpiwc_table *owned, size_t cap,
                        const struct mpiwc_topology *topo, struct mpiwc_spill *spill,
                        struct mpiwc_shuffle_stats *stats, FILE *err)
{
    MPI_Comm comm = topo->comm;
    int nranks = topo->nranks, rank = topo->rank;
    size_t n = (size_t)nranks, me = (size_t)rank;
    size_t per_dest = cap / n ? cap / n : 1;

    double t0 = MPI_Wtime();
    struct by_dest g;
    group_by_dest(local, nranks, NULL, n, &g);
    size_t *cursor = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *cursor));
    size_t *stop = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *stop));
    size_t *bytes = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *bytes));
    memcpy(cursor, g.first, n * sizeof *cursor);
    struct level l;
    level_init(&l, nranks, nranks);
    stats->pack_s += MPI_Wtime() - t0;

    t0 = MPI_Wtime();
    merge_own(owned, spill, local, &g, me);
    cursor[me] = g.first[me + 1];
    stats->reduce_s += MPI_Wtime() - t0;
    bool bad = false;
    int result = 0;

    for (;;) {
        /* Pack: up to per_dest bytes per destination. */
        t0 = MPI_Wtime();
        bool more = false;
        for (size_t d = 0; d < n; d++) {
            bytes[d] = take_round(local, &g, cursor[d], d, per_dest, &stop[d]);
            more = more || stop[d] < g.first[d + 1];
        }
        bool fits = level_counts(&l, bytes);
        for (size_t d = 0; d < n; d++) {
            if (fits)
                (void)pack_words(local, &g, cursor[d], stop[d], l.sbuf + l.sdispl[d]);
            cursor[d] = stop[d];
        }
        stats->pack_s += MPI_Wtime() - t0;

        /* Exchange sizes, agree on errors and on another round, exchange records. */
        t0 = MPI_Wtime();
        fits = level_sizes(&l, comm, false) && fits;
        int flags[2] = {more, !fits}, all[2];
        MPI_Allreduce(flags, all, 2, MPI_INT, MPI_MAX, comm);
        if (all[1]) {
            if (flags[1])
                mpiwc_say_rank(err, too_big_msg);
            result = -1;
            stats->exchange_s += MPI_Wtime() - t0;
            break;
        }
        level_data(&l, comm, false);
        double dt = MPI_Wtime() - t0;
        stats->exchange_s += dt;
        stats->across_s += dt;
        stats->rounds++;
        count_level(stats, &l);
        for (size_t d = 0; d < n; d++)
            if (l.scount[d] > 0 && topo->host[d] != topo->host[rank]) {
                stats->internode_messages++;
                stats->internode_bytes += (uint64_t)l.scount[d];
            }

        t0 = MPI_Wtime();
        if (merge_records(owned, spill, l.rbuf, l.rtotal) != 0)
            bad = true;
        stats->reduce_s += MPI_Wtime() - t0;
        if (!all[0])
            break;
    }

    if (result == 0) {
        int b = bad, any;
        MPI_Allreduce(&b, &any, 1, MPI_INT, MPI_MAX, comm);
        if (bad)
            mpiwc_say_rank(err, "shuffle: received a malformed record buffer");
        if (any)
            result = -1;
    }
    level_free(&l);
    free(cursor);
    free(stop);
    free(bytes);
    by_dest_free(&g);
    return result;
}

/*
 * Where the words that arrive at a level go: owned by this rank, merged
 * (owner); to be passed on, added to next (combined with the same words from
 * other senders). A word owned by another rank of this host that should not
 * be here, or a malformed buffer, is false.
 */
static bool sort_arrivals(const struct mpiwc_topology *topo, const uint8_t *buf, size_t len,
                          bool pass_own_host, struct mpiwc_table *owned, struct mpiwc_spill *spill,
                          struct mpiwc_table *next)
{
    const uint8_t *pos = buf, *end = buf + len, *key;
    uint32_t klen;
    uint64_t count, lo = 0, hi = 0;
    enum mpiwc_record_status st;
    struct merge m = {.owned = owned, .spill = spill};
    int h = topo->host[topo->rank];
    bool ok = true;
    while ((st = mpiwc_record_next(&pos, end, &key, &klen, &count)) == MPIWC_RECORD_OK) {
        uint64_t hash = mpiwc_key_form(key, klen, (size_t)(end - key), &lo, &hi);
        int o = mpiwc_table_owner(hash, topo->nranks);
        if (o == topo->rank)
            merge_word(&m, hash, key, klen, lo, hi, count);
        else if (pass_own_host ? topo->host[o] == h : topo->host[o] != h)
            mpiwc_table_add_formed(next, hash, key, klen, lo, hi, count);
        else
            ok = false;
    }
    merge_flush(&m);
    return ok && st == MPIWC_RECORD_END;
}

/* Pack all of t's words, grouped by g, for the level's destinations dest[0 .. n_out). */
static bool pack_all(struct level *l, const struct mpiwc_table *t, const struct by_dest *g,
                     const int *dest, size_t *bytes)
{
    for (int i = 0; i < l->n_out; i++) {
        size_t d = dest ? (size_t)dest[i] : (size_t)i;
        bytes[i] = words_bytes(t, g, g->first[d], g->first[d + 1]);
    }
    bool fits = level_counts(l, bytes);
    for (int i = 0; i < l->n_out && fits; i++) {
        size_t d = dest ? (size_t)dest[i] : (size_t)i;
        (void)pack_words(t, g, g->first[d], g->first[d + 1], l->sbuf + l->sdispl[i]);
    }
    return fits;
}

/*
 * Collective over the host's communicator. One level within the host: sizes,
 * an agreement there that every count fits, the records (none when one does
 * not: *too_big, failed at the round's end). Returns the seconds in MPI.
 */
static double host_level(struct level *l, MPI_Comm host, bool fits, bool *too_big,
                         struct mpiwc_shuffle_stats *stats)
{
    double t0 = MPI_Wtime();
    int ok[2] = {level_sizes(l, host, false) && fits, 0};
    MPI_Allreduce(&ok[0], &ok[1], 1, MPI_INT, MPI_MIN, host);
    if (ok[1])
        level_data(l, host, false);
    else
        l->rtotal = 0;
    *too_big = *too_big || !ok[0];
    count_level(stats, l);
    double dt = MPI_Wtime() - t0;
    stats->exchange_s += dt;
    return dt;
}

/*
 * The node shuffle, a round at a time:
 *  1. in: each rank sends, over its host's communicator, its words owned on
 *     this host to their owners and those of host o to o's forwarder here
 *     (topology.h), which combines them;
 *  2. across: each forwarder sends the combined words to the receiver on
 *     their host, one message per pair of hosts (neighbour collectives);
 *  3. out: each receiver combines what came from several hosts and delivers
 *     it, over its host's communicator, to the owners.
 * A round takes up to cap / (host ranks + hosts) bytes per route from each
 * rank, so what a rank sends or receives at each level stays near cap.
 */
static int shuffle_node(struct mpiwc_table *local, struct mpiwc_table *owned, size_t cap,
                        const struct mpiwc_topology *topo, struct mpiwc_spill *spill,
                        struct mpiwc_shuffle_stats *stats, FILE *err)
{
    int me = topo->rank, h = topo->host[me];
    int hsize = mpiwc_topology_host_size(topo, h);
    size_t nl = (size_t)hsize, nroutes = nl + (size_t)topo->nhosts;
    size_t budget = cap / nroutes ? cap / nroutes : 1;

    double t0 = MPI_Wtime();
    /* Routes 0 .. nl-1: the owner of that local index; nl + o: host o (not h). */
    int *route = mpiwc_xmalloc(mpiwc_mul_size((size_t)topo->nranks, sizeof *route));
    for (int r = 0; r < topo->nranks; r++)
        route[r] = topo->host[r] == h ? topo->local[r] : hsize + topo->host[r];
    struct by_dest g;
    group_by_dest(local, topo->nranks, route, nroutes, &g);
    free(route);
    size_t *cursor = mpiwc_xmalloc(mpiwc_mul_size(nroutes, sizeof *cursor));
    size_t *stop = mpiwc_xmalloc(mpiwc_mul_size(nroutes, sizeof *stop));
    size_t *bytes = mpiwc_xcalloc(nroutes > nl ? nroutes : nl, sizeof *bytes);
    memcpy(cursor, g.first, nroutes * sizeof *cursor);
    struct level in, across, out;
    level_init(&in, hsize, hsize);
    level_init(&across, topo->nout, topo->nin);
    level_init(&out, hsize, hsize);
    struct mpiwc_table fwd, rcv;
    mpiwc_table_init(&fwd, 0);
    mpiwc_table_init(&rcv, 0);
    stats->pack_s += MPI_Wtime() - t0;

    t0 = MPI_Wtime();
    size_t mine = (size_t)topo->local[me];
    merge_own(owned, spill, local, &g, mine);
    cursor[mine] = g.first[mine + 1];
    stats->reduce_s += MPI_Wtime() - t0;
    bool bad = false, too_big = false;
    int result = 0;

    for (;;) {
        /* 1. in: pack each route's share, by the local rank it goes to. */
        t0 = MPI_Wtime();
        bool more = false;
        memset(bytes, 0, nl * sizeof *bytes);
        for (size_t d = 0; d < nroutes; d++) {
            size_t b = take_round(local, &g, cursor[d], d, budget, &stop[d]);
            bytes[d < nl ? d : (d - nl) % nl] += b;
            more = more || stop[d] < g.first[d + 1];
        }
        bool fits = level_counts(&in, bytes);
        for (size_t l = 0; l < nl; l++) {
            uint8_t *p = in.sbuf + in.sdispl[l];
            for (size_t d = l; d < nroutes && fits; d++)
                if ((d < nl ? d : (d - nl) % nl) == l)
                    p = pack_words(local, &g, cursor[d], stop[d], p);
        }
        for (size_t d = 0; d < nroutes; d++)
            cursor[d] = stop[d];
        stats->pack_s += MPI_Wtime() - t0;

        stats->in_s += host_level(&in, topo->host_comm, fits, &too_big, stats);

        t0 = MPI_Wtime();
        bad = !sort_arrivals(topo, in.rbuf, in.rtotal, false, owned, spill, &fwd) || bad;
        stats->reduce_s += MPI_Wtime() - t0;

        /* 2. across: the forwarded words, one message to each destination host. */
        t0 = MPI_Wtime();
        struct by_dest gf;
        group_by_dest(&fwd, topo->nranks, topo->host, (size_t)topo->nhosts, &gf);
        fits = pack_all(&across, &fwd, &gf, topo->out_host, bytes);
        by_dest_free(&gf);
        stats->pack_s += MPI_Wtime() - t0;

        t0 = MPI_Wtime();
        fits = level_sizes(&across, topo->inter, true) && fits;
        int flags[2] = {more, !fits || too_big}, all[2];
        MPI_Allreduce(flags, all, 2, MPI_INT, MPI_MAX, topo->comm);
        if (all[1]) {
            if (flags[1])
                mpiwc_say_rank(err, too_big_msg);
            result = -1;
            stats->exchange_s += MPI_Wtime() - t0;
            break;
        }
        level_data(&across, topo->inter, true);
        double dt = MPI_Wtime() - t0;
        stats->across_s += dt;
        stats->exchange_s += dt;
        count_level(stats, &across);
        for (int i = 0; i < across.n_out; i++)
            if (across.scount[i] > 0) {
                stats->internode_messages++;
                stats->internode_bytes += (uint64_t)across.scount[i];
            }
        mpiwc_table_clear(&fwd);

        t0 = MPI_Wtime();
        bad = !sort_arrivals(topo, across.rbuf, across.rtotal, true, owned, spill, &rcv) || bad;
        stats->reduce_s += MPI_Wtime() - t0;

        /* 3. out: to the owners on this host. */
        t0 = MPI_Wtime();
        struct by_dest gr;
        group_by_dest(&rcv, topo->nranks, topo->local, nl, &gr);
        fits = pack_all(&out, &rcv, &gr, NULL, bytes);
        by_dest_free(&gr);
        stats->pack_s += MPI_Wtime() - t0;

        stats->out_s += host_level(&out, topo->host_comm, fits, &too_big, stats);
        mpiwc_table_clear(&rcv);
        stats->rounds++;

        t0 = MPI_Wtime();
        bad = merge_records(owned, spill, out.rbuf, out.rtotal) != 0 || bad;
        stats->reduce_s += MPI_Wtime() - t0;
        if (!all[0])
            break;
    }

    if (result == 0) {
        int b[2] = {bad, too_big}, any[2];
        MPI_Allreduce(b, any, 2, MPI_INT, MPI_MAX, topo->comm);
        if (bad)
            mpiwc_say_rank(err, "shuffle: received a malformed record buffer");
        if (too_big)
            mpiwc_say_rank(err, too_big_msg);
        if (any[0] || any[1])
            result = -1;
    }
    level_free(&in);
    level_free(&across);
    level_free(&out);
    mpiwc_table_free(&fwd);
    mpiwc_table_free(&rcv);
    free(cursor);
    free(stop);
    free(bytes);
    by_dest_free(&g);
    return result;
}

int mpiwc_shuffle(struct mpiwc_table *local, struct mpiwc_table *owned, size_t cap,
                  const struct mpiwc_topology *topo, struct mpiwc_spill *spill,
                  struct mpiwc_shuffle_stats *stats, FILE *err)
{
    double t0 = MPI_Wtime();
    int result = 0;
    if (topo->nranks == 1 && owned->size == 0) {
        /* Everything is this rank's and owned is empty: hand the table over. */
        struct mpiwc_table moved = *owned;
        *owned = *local;
        *local = moved;
        stats->reduce_s += MPI_Wtime() - t0;
        return 0;
    }
    if (topo->node)
        result = shuffle_node(local, owned, cap, topo, spill, stats, err);
    else
        result = shuffle_flat(local, owned, cap, topo, spill, stats, err);
    mpiwc_table_clear(local);
    return result;
}

#include "mpiwc/shuffle.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/record.h"
#include "mpiwc/util.h"

/* Slot indices of the local table grouped by owner rank (a counting sort). */
struct by_owner {
    size_t *slot;  /* slot indices, destination by destination */
    size_t *first; /* nranks + 1: destination d owns slot[first[d] .. first[d+1]) */
};

static void group_by_owner(const struct mpiwc_table *t, int nranks, struct by_owner *g)
{
    size_t nslots = mpiwc_table_slots(t);
    g->first = mpiwc_xcalloc((size_t)nranks + 1, sizeof *g->first);
    g->slot = mpiwc_xmalloc(mpiwc_mul_size(t->size ? t->size : 1, sizeof *g->slot));
    struct mpiwc_table_word w = {0};
    for (size_t i = 0; i < nslots; i++)
        if (mpiwc_table_word(t, i, &w))
            g->first[mpiwc_table_owner(w.hash, nranks) + 1]++;
    for (int d = 0; d < nranks; d++)
        g->first[d + 1] += g->first[d];
    size_t *fill = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *fill));
    memcpy(fill, g->first, (size_t)nranks * sizeof *fill);
    for (size_t i = 0; i < nslots; i++)
        if (mpiwc_table_word(t, i, &w))
            g->slot[fill[mpiwc_table_owner(w.hash, nranks)]++] = i;
    free(fill);
}

/*
 * Words are merged in batches: the owned slots of a whole batch are
 * prefetched, then the batch is added. A big owned table misses the caches
 * on nearly every word, and the words come in the sender's slot order, so
 * nothing else hides that latency.
 */
#define MERGE_BATCH 16

struct merge {
    struct mpiwc_table *owned;
    struct mpiwc_spill *spill; /* NULL: the owned table grows as it must */
    size_t n;
    struct {
        const uint8_t *key;
        uint32_t len;
        uint64_t count, hash;
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
        mpiwc_table_add_hashed(m->owned, m->word[k].hash, m->word[k].key, m->word[k].len,
                               m->word[k].count);
    m->n = 0;
}

static void merge_word(struct merge *m, uint64_t hash, const uint8_t *key, uint32_t len,
                       uint64_t count)
{
    m->word[m->n].key = key;
    m->word[m->n].len = len;
    m->word[m->n].count = count;
    m->word[m->n].hash = hash;
    if (++m->n == MERGE_BATCH)
        merge_flush(m);
}

static int merge_records(struct mpiwc_table *owned, struct mpiwc_spill *spill, const uint8_t *buf,
                         size_t len)
{
    const uint8_t *pos = buf, *end = buf + len, *key;
    uint32_t klen;
    uint64_t count;
    enum mpiwc_record_status st;
    struct merge m = {.owned = owned, .spill = spill};
    while ((st = mpiwc_record_next(&pos, end, &key, &klen, &count)) == MPIWC_RECORD_OK)
        merge_word(&m, mpiwc_hash(key, klen), key, klen, count);
    merge_flush(&m);
    return st == MPIWC_RECORD_END ? 0 : -1;
}

int mpiwc_shuffle(struct mpiwc_table *local, struct mpiwc_table *owned, size_t cap, MPI_Comm comm,
                  struct mpiwc_spill *spill, struct mpiwc_shuffle_stats *stats, FILE *err)
{
    int nranks, rank;
    MPI_Comm_size(comm, &nranks);
    MPI_Comm_rank(comm, &rank);
    size_t n = (size_t)nranks;
    size_t per_dest = cap / n ? cap / n : 1;

    double t0 = MPI_Wtime();
    if (nranks == 1 && owned->size == 0) {
        /* Everything is this rank's and owned is empty: hand the table over. */
        struct mpiwc_table moved = *owned;
        *owned = *local;
        *local = moved;
        stats->reduce_s += MPI_Wtime() - t0;
        return 0;
    }
    struct by_owner g;
    group_by_owner(local, nranks, &g);
    size_t *cursor = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *cursor));
    memcpy(cursor, g.first, n * sizeof *cursor);
    stats->pack_s += MPI_Wtime() - t0;

    /* The words this rank owns need no trip through MPI: merge them, hash and all. */
    t0 = MPI_Wtime();
    size_t me = (size_t)rank;
    struct merge m = {.owned = owned, .spill = spill};
    struct mpiwc_table_word w = {0};
    for (size_t k = g.first[me]; k < g.first[me + 1]; k++) {
        (void)mpiwc_table_word(local, g.slot[k], &w);
        merge_word(&m, w.hash, w.key, (uint32_t)w.len, w.count);
    }
    merge_flush(&m);
    cursor[me] = g.first[me + 1];
    stats->reduce_s += MPI_Wtime() - t0;
    t0 = MPI_Wtime();
    size_t *bytes = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *bytes));
    int *scount = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof(int)));
    int *sdispl = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof(int)));
    int *rcount = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof(int)));
    int *rdispl = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof(int)));
    uint8_t *sbuf = NULL, *rbuf = NULL;
    size_t scap = 0, rcap = 0;
    bool bad = false;
    int result = 0;
    stats->pack_s += MPI_Wtime() - t0;

    for (;;) {
        /* Pack: up to per_dest bytes per destination; a bigger record goes alone. */
        t0 = MPI_Wtime();
        size_t total = 0;
        bool more = false, too_big = false;
        size_t *stop = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *stop));
        for (size_t d = 0; d < n; d++) {
            size_t b = 0, k = cursor[d];
            while (k < g.first[d + 1]) {
                (void)mpiwc_table_word(local, g.slot[k], &w);
                size_t rec = mpiwc_record_size(w.len);
                if (b > 0 && b + rec > per_dest)
                    break;
                b += rec;
                k++;
            }
            stop[d] = k;
            bytes[d] = b;
            more = more || k < g.first[d + 1];
            too_big = too_big || b > INT_MAX || total + b > INT_MAX;
            total += b;
        }
        if (total > scap) {
            scap = total;
            sbuf = mpiwc_xrealloc(sbuf, scap);
        }
        uint8_t *p = sbuf;
        for (size_t d = 0; d < n; d++) {
            sdispl[d] = too_big ? 0 : (int)(p - sbuf);
            scount[d] = too_big ? 0 : (int)bytes[d];
            for (size_t k = cursor[d]; k < stop[d] && !too_big; k++) {
                (void)mpiwc_table_word(local, g.slot[k], &w);
                p = mpiwc_record_put(p, w.key, w.len, w.count);
            }
            cursor[d] = stop[d];
        }
        free(stop);
        stats->pack_s += MPI_Wtime() - t0;

        /* Exchange sizes, agree on errors and on another round, exchange records. */
        t0 = MPI_Wtime();
        MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, comm);
        size_t rtotal = 0;
        for (size_t s = 0; s < n; s++) {
            rdispl[s] = rtotal <= INT_MAX ? (int)rtotal : 0;
            rtotal += (size_t)rcount[s];
        }
        int flags[2] = {more, too_big || rtotal > INT_MAX}, all[2];
        MPI_Allreduce(flags, all, 2, MPI_INT, MPI_MAX, comm);
        if (all[1]) {
            if (flags[1])
                mpiwc_say_rank(err, "shuffle: a round exceeds the 2 GiB MPI count limit");
            result = -1;
            stats->exchange_s += MPI_Wtime() - t0;
            break;
        }
        if (rtotal > rcap) {
            rcap = rtotal;
            rbuf = mpiwc_xrealloc(rbuf, rcap);
        }
        MPI_Alltoallv(sbuf, scount, sdispl, MPI_BYTE, rbuf, rcount, rdispl, MPI_BYTE, comm);
        stats->exchange_s += MPI_Wtime() - t0;
        stats->rounds++;
        stats->bytes_sent += total;
        stats->bytes_received += rtotal;

        t0 = MPI_Wtime();
        if (merge_records(owned, spill, rbuf, rtotal) != 0)
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
    free(sbuf);
    free(rbuf);
    free(cursor);
    free(bytes);
    free(scount);
    free(sdispl);
    free(rcount);
    free(rdispl);
    free(g.slot);
    free(g.first);
    mpiwc_table_clear(local);
    return result;
}

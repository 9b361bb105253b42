/*
 * shuffle: moves every word of the local tables to its owner rank and merges
 * it there (the reduce).
 *
 *     struct mpiwc_shuffle_stats st = {0};
 *     if (mpiwc_shuffle(&local, &owned, 64u << 20, &topo, NULL, &st, err) != 0) ...;
 *     // local is now empty; owned holds this rank's words with global counts
 *     // st.rounds, st.bytes_sent, st.bytes_received, st.exchange_s, st.reduce_s
 *
 * Each word goes to mpiwc_table_owner(hash, nranks). Words this rank owns are
 * merged directly (with a single rank into an empty owned table, the local
 * table is simply handed over: no rounds). Records (see record.h)
 * are packed per destination, sizes are exchanged with MPI_Alltoall and data
 * with MPI_Alltoallv, in rounds: a round packs at most cap / nranks bytes per
 * destination (a single record larger than that still goes, alone), so the
 * send buffer stays near cap and no count or displacement exceeds INT_MAX.
 * Ranks agree on the number of rounds with an allreduce.
 *
 * That is the flat shuffle. Where topo->node (topology.h), words go to their
 * owners in three levels a round: within each host to the rank forwarding to
 * the owner's host (combined there), one message between each pair of hosts,
 * then within the owner's host; a word leaves a host at most once a round.
 * Owners are the same either way, so is the result.
 *
 * Layer: collective over topo->comm.
 */
#ifndef MPIWC_SHUFFLE_H
#define MPIWC_SHUFFLE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mpiwc/spill.h"
#include "mpiwc/table.h"
#include "mpiwc/topology.h"

struct mpiwc_shuffle_stats {
    uint64_t rounds;
    uint64_t bytes_sent;                 /* record bytes sent (every level, to self too) */
    uint64_t bytes_received;             /* record bytes received */
    uint64_t internode_bytes;            /* record bytes sent to ranks on other hosts */
    uint64_t internode_messages;         /* messages of records sent to ranks on other hosts */
    double pack_s, exchange_s, reduce_s; /* seconds packing, in MPI, merging */
    double in_s, across_s, out_s;        /* exchange_s by level: within the host before and
                                            after, between hosts (flat: all of it across) */
};

/*
 * Collective over topo->comm. Send local's words to their owners and add what this
 * rank receives into owned; local is cleared. cap: bytes, >= 64. With spill,
 * owned is written to a run and emptied whenever the next words would take
 * it past spill's limit (spill.h); a spill that fails sets spill->failed,
 * and the words that arrive after it are dropped: the caller agrees on it
 * (the shuffle itself returns 0). Returns 0, or -1 on every rank if a rank
 * received a malformed buffer or a round would not fit an int count
 * (mpiwc_say_rank() on err, by the rank that saw it).
 */
int mpiwc_shuffle(struct mpiwc_table *local, struct mpiwc_table *owned, size_t cap,
                  const struct mpiwc_topology *topo, struct mpiwc_spill *spill,
                  struct mpiwc_shuffle_stats *stats, FILE *err);

#endif

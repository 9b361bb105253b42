/*
 * topology: which ranks share a host, and the routes of the node-aware
 * shuffle (shuffle.h) between hosts.
 *
 *     struct mpiwc_topology t;
 *     mpiwc_topology_init(&t, comm, MPIWC_SHUFFLE_AUTO, 0);
 *     if (t.node) ... t.host_comm, t.inter ...
 *     mpiwc_topology_free(&t);
 *
 * Hosts are the groups of MPI_Comm_split_type(MPI_COMM_TYPE_SHARED), or with
 * ranks_per_host K > 0 each K consecutive ranks (a testing and modelling aid:
 * one machine then plays many hosts). Hosts are numbered in the order of
 * their lowest rank; a host's ranks keep their order (their local index).
 *
 * The node shuffle's routes: the words a host sends to host H leave it from
 * one forwarder, its local rank H mod (its size), and arrive at one receiver,
 * H's local rank h mod (H's size) for the sending host h. So the forwarding
 * is spread over a host's ranks, and each pair of hosts exchanges at most one
 * message a round. inter is a distributed graph communicator with exactly
 * those edges (neighbour collectives), host_comm the host's own ranks.
 *
 * Layer: collective over comm (init and free).
 */
#ifndef MPIWC_TOPOLOGY_H
#define MPIWC_TOPOLOGY_H

#include <mpi.h>
#include <stdbool.h>

#include "mpiwc/cli.h" /* enum mpiwc_shuffle_mode */

struct mpiwc_topology {
    MPI_Comm comm; /* every rank (borrowed) */
    int rank, nranks;
    int nhosts;
    int *host;          /* nranks: each rank's host */
    int *local;         /* nranks: each rank's index among its host's ranks */
    int *first;         /* nhosts + 1: host h's ranks are member[first[h] .. first[h + 1]) */
    int *member;        /* nranks: ranks host by host, each host's in rank order */
    bool node;          /* the shuffle goes through hosts (the mode, auto decided) */
    MPI_Comm host_comm; /* node: this host's ranks in local order; else MPI_COMM_NULL */
    MPI_Comm inter;     /* node: forwarders to receivers; else MPI_COMM_NULL */
    int nout, nin;      /* inter's destinations and sources */
    int *out_host;      /* nout: the host each destination is on, ascending */
    int *in_host;       /* nin: the host each source is on, ascending */
};

/* Collective over comm. ranks_per_host: 0 for the real hosts. Returns 0. */
int mpiwc_topology_init(struct mpiwc_topology *t, MPI_Comm comm, enum mpiwc_shuffle_mode mode,
                        int ranks_per_host);

/* Collective over t->comm. */
void mpiwc_topology_free(struct mpiwc_topology *t);

/* Local. The number of ranks on host h. */
static inline int mpiwc_topology_host_size(const struct mpiwc_topology *t, int h)
{
    return t->first[h + 1] - t->first[h];
}

/* Local. The rank that forwards host from's words to host to (from != to). */
static inline int mpiwc_topology_forwarder(const struct mpiwc_topology *t, int from, int to)
{
    return t->member[t->first[from] + to % mpiwc_topology_host_size(t, from)];
}

/* Local. The rank of host to that receives host from's words (from != to). */
static inline int mpiwc_topology_receiver(const struct mpiwc_topology *t, int from, int to)
{
    return t->member[t->first[to] + from % mpiwc_topology_host_size(t, to)];
}

#endif

#include "mpiwc/topology.h"

#include <stdlib.h>

#include "mpiwc/util.h"

/* Collective over comm. The lowest rank of each rank's host, on every rank. */
static int *host_keys(MPI_Comm comm, int rank, int nranks, int ranks_per_host)
{
    int key;
    if (ranks_per_host > 0) {
        key = rank / ranks_per_host * ranks_per_host;
    } else {
        MPI_Comm host;
        MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host);
        MPI_Allreduce(&rank, &key, 1, MPI_INT, MPI_MIN, host);
        MPI_Comm_free(&host);
    }
    int *keys = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *keys));
    MPI_Allgather(&key, 1, MPI_INT, keys, 1, MPI_INT, comm);
    return keys;
}

/* Collective over t->comm. The graph of the forwarders and receivers. */
static void make_inter(struct mpiwc_topology *t)
{
    int h = t->host[t->rank];
    int *out = mpiwc_xmalloc(mpiwc_mul_size((size_t)t->nhosts, sizeof *out));
    int *in = mpiwc_xmalloc(mpiwc_mul_size((size_t)t->nhosts, sizeof *in));
    t->out_host = mpiwc_xmalloc(mpiwc_mul_size((size_t)t->nhosts, sizeof *t->out_host));
    t->in_host = mpiwc_xmalloc(mpiwc_mul_size((size_t)t->nhosts, sizeof *t->in_host));
    t->nout = t->nin = 0;
    for (int o = 0; o < t->nhosts; o++) {
        if (o == h)
            continue;
        if (mpiwc_topology_forwarder(t, h, o) == t->rank) {
            t->out_host[t->nout] = o;
            out[t->nout++] = mpiwc_topology_receiver(t, h, o);
        }
        if (mpiwc_topology_receiver(t, o, h) == t->rank) {
            t->in_host[t->nin] = o;
            in[t->nin++] = mpiwc_topology_forwarder(t, o, h);
        }
    }
    /* Weights of 1, not MPI_UNWEIGHTED: GCC reads that sentinel as an empty array. */
    int *ones = mpiwc_xmalloc(mpiwc_mul_size((size_t)t->nhosts, sizeof *ones));
    for (int k = 0; k < t->nhosts; k++)
        ones[k] = 1;
    MPI_Dist_graph_create_adjacent(t->comm, t->nin, in, ones, t->nout, out, ones, MPI_INFO_NULL, 0,
                                   &t->inter);
    free(ones);
    free(out);
    free(in);
}

int mpiwc_topology_init(struct mpiwc_topology *t, MPI_Comm comm, enum mpiwc_shuffle_mode mode,
                        int ranks_per_host)
{
    *t = (struct mpiwc_topology){.comm = comm, .host_comm = MPI_COMM_NULL, .inter = MPI_COMM_NULL};
    MPI_Comm_rank(comm, &t->rank);
    MPI_Comm_size(comm, &t->nranks);
    size_t n = (size_t)t->nranks;
    int *keys = host_keys(comm, t->rank, t->nranks, ranks_per_host);
    t->host = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *t->host));
    t->local = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *t->local));
    t->member = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *t->member));
    t->first = mpiwc_xcalloc(n + 1, sizeof *t->first);
    /* A host's key is its lowest rank, so hosts are met in that order. */
    for (int r = 0; r < t->nranks; r++)
        t->host[r] = keys[r] == r ? t->nhosts++ : t->host[keys[r]];
    free(keys);
    for (int r = 0; r < t->nranks; r++)
        t->local[r] = t->first[t->host[r] + 1]++;
    for (int h = 0; h < t->nhosts; h++)
        t->first[h + 1] += t->first[h];
    for (int r = 0; r < t->nranks; r++)
        t->member[t->first[t->host[r]] + t->local[r]] = r;

    bool crowded = false;
    for (int h = 0; h < t->nhosts; h++)
        crowded = crowded || mpiwc_topology_host_size(t, h) > 1;
    t->node =
        mode == MPIWC_SHUFFLE_NODE || (mode == MPIWC_SHUFFLE_AUTO && t->nhosts > 1 && crowded);
    if (t->node) {
        MPI_Comm_split(comm, t->host[t->rank], t->rank, &t->host_comm);
        make_inter(t);
    }
    return 0;
}

void mpiwc_topology_free(struct mpiwc_topology *t)
{
    if (t->host_comm != MPI_COMM_NULL)
        MPI_Comm_free(&t->host_comm);
    if (t->inter != MPI_COMM_NULL)
        MPI_Comm_free(&t->inter);
    free(t->host);
    free(t->local);
    free(t->first);
    free(t->member);
    free(t->out_host);
    free(t->in_host);
    *t = (struct mpiwc_topology){.host_comm = MPI_COMM_NULL, .inter = MPI_COMM_NULL};
}

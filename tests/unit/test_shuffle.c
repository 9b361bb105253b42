/*
 * shuffle: words reach their owner with the global count, in several rounds
 * when the cap is tiny, flat and through hosts (--ranks-per-host layouts of
 * 1, 2 and 3 ranks a host, uneven where the rank count is not a multiple).
 * Runs as a singleton (MPI_COMM_WORLD of one rank) and under mpirun at
 * several rank counts (see meson.build).
 */
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mpiwc/shuffle.h"
#include "mpiwc/table.h"
#include "mpiwc/topology.h"

#define WORDS 2000

/* The layouts each test runs under: a shuffle mode and --ranks-per-host. */
static const struct layout {
    enum mpiwc_shuffle_mode mode;
    int ranks_per_host;
} layouts[] = {
    {MPIWC_SHUFFLE_FLAT, 0}, {MPIWC_SHUFFLE_NODE, 0}, {MPIWC_SHUFFLE_NODE, 1},
    {MPIWC_SHUFFLE_NODE, 2}, {MPIWC_SHUFFLE_NODE, 3}, {MPIWC_SHUFFLE_AUTO, 2},
};
#define NLAYOUTS (sizeof layouts / sizeof layouts[0])

static int word(char *buf, size_t cap, int i)
{
    /* Lengths 1..40 so records of many sizes cross the round boundaries. */
    int n = snprintf(buf, cap, "w%d", i);
    int len = 1 + i % 40;
    for (; n < len; n++)
        buf[n] = (char)('a' + (i + n) % 26);
    return n;
}

static void run_shuffle(size_t cap, const struct mpiwc_topology *topo,
                        struct mpiwc_shuffle_stats *out)
{
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    struct mpiwc_table local, owned;
    mpiwc_table_init(&local, 0);
    mpiwc_table_init(&owned, 0);
    char buf[64];
    /* Rank r holds every word with count r + 1, and the words i % nranks == r once more. */
    for (int i = 0; i < WORDS; i++) {
        int n = word(buf, sizeof buf, i);
        mpiwc_table_add(&local, buf, (size_t)n, (uint64_t)rank + 1);
        if (i % nranks == rank)
            mpiwc_table_add(&local, buf, (size_t)n, 1);
    }
    struct mpiwc_shuffle_stats st = {0};
    assert_int_equal(mpiwc_shuffle(&local, &owned, cap, topo, NULL, &st, stderr), 0);
    assert_int_equal(local.size, 0);

    uint64_t expect = (uint64_t)nranks * (uint64_t)(nranks + 1) / 2 + 1;
    for (size_t s = 0; s < mpiwc_table_slots(&owned); s++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(&owned, s, &e);
        if (!e.count)
            continue;
        assert_int_equal(mpiwc_table_owner(e.hash, nranks), rank);
        assert_int_equal(e.count, expect);
    }
    /* Every word is owned by exactly one rank. */
    for (int i = 0; i < WORDS; i++) {
        int n = word(buf, sizeof buf, i);
        uint64_t here = mpiwc_table_get(&owned, buf, (size_t)n) ? 1 : 0, ranks_holding = 0;
        MPI_Allreduce(&here, &ranks_holding, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
        assert_int_equal(ranks_holding, 1);
    }
    uint64_t sent = st.bytes_sent, received = st.bytes_received, all_sent, all_received;
    MPI_Allreduce(&sent, &all_sent, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&received, &all_received, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    assert_int_equal(all_sent, all_received);
    /* What went to other hosts: through hosts, at most one message a round per route. */
    if (topo->node)
        assert_true(st.internode_messages <= st.rounds * (uint64_t)topo->nout);
    if (topo->nhosts == 1)
        assert_int_equal(st.internode_bytes, 0);
    *out = st;
    mpiwc_table_free(&local);
    mpiwc_table_free(&owned);
}

static void test_one_round_with_default_cap(void **state)
{
    (void)state;
    int nranks;
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    for (size_t k = 0; k < NLAYOUTS; k++) {
        struct mpiwc_topology topo;
        mpiwc_topology_init(&topo, MPI_COMM_WORLD, layouts[k].mode, layouts[k].ranks_per_host);
        struct mpiwc_shuffle_stats st;
        run_shuffle(64u << 20, &topo, &st);
        assert_int_equal(st.rounds, nranks == 1 ? 0 : 1);
        mpiwc_topology_free(&topo);
    }
}

static void test_many_rounds_with_tiny_cap(void **state)
{
    (void)state;
    int nranks;
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    /* Flat, and through hosts of 2 and 3 ranks (the rounds are many: not every layout). */
    for (size_t k = 0; k < NLAYOUTS; k++) {
        if (layouts[k].mode == MPIWC_SHUFFLE_AUTO || layouts[k].ranks_per_host == 0 ||
            layouts[k].ranks_per_host == 1)
            if (layouts[k].mode != MPIWC_SHUFFLE_FLAT)
                continue;
        struct mpiwc_topology topo;
        mpiwc_topology_init(&topo, MPI_COMM_WORLD, layouts[k].mode, layouts[k].ranks_per_host);
        struct mpiwc_shuffle_stats st;
        run_shuffle(64, &topo, &st);
        if (nranks == 1) {
            /* A single rank keeps its words: the table is handed over, nothing is sent. */
            assert_int_equal(st.rounds, 0);
        } else {
            /* ~2000 (n-1)/n records of >= 13 bytes, a few tens of bytes per route a round. */
            assert_true(st.rounds > 100);
        }
        mpiwc_topology_free(&topo);
    }
}

/*
 * Every rank holds every word: through hosts of several ranks, a word leaves
 * its host once, so fewer bytes cross between hosts than flat, and at most
 * one message goes from a host to another.
 */
static void test_node_combines_within_hosts(void **state)
{
    (void)state;
    int nranks;
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    for (int per_host = 2; per_host <= 3; per_host++) {
        if (nranks <= per_host)
            continue; /* one host: nothing crosses */
        uint64_t bytes[2], messages[2];
        for (int node = 0; node <= 1; node++) {
            struct mpiwc_topology topo;
            mpiwc_topology_init(&topo, MPI_COMM_WORLD,
                                node ? MPIWC_SHUFFLE_NODE : MPIWC_SHUFFLE_FLAT, per_host);
            struct mpiwc_shuffle_stats st;
            run_shuffle(64u << 20, &topo, &st);
            MPI_Allreduce(&st.internode_bytes, &bytes[node], 1, MPI_UINT64_T, MPI_SUM,
                          MPI_COMM_WORLD);
            MPI_Allreduce(&st.internode_messages, &messages[node], 1, MPI_UINT64_T, MPI_SUM,
                          MPI_COMM_WORLD);
            if (node) {
                uint64_t pairs = (uint64_t)topo.nhosts * (uint64_t)(topo.nhosts - 1);
                assert_true(messages[node] <= pairs);
            }
            mpiwc_topology_free(&topo);
        }
        assert_true(bytes[1] < bytes[0]);
        assert_true(messages[1] < messages[0]);
    }
}

static void test_empty_tables(void **state)
{
    (void)state;
    int nranks;
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    for (size_t k = 0; k < NLAYOUTS; k++) {
        struct mpiwc_topology topo;
        mpiwc_topology_init(&topo, MPI_COMM_WORLD, layouts[k].mode, layouts[k].ranks_per_host);
        struct mpiwc_table local, owned;
        mpiwc_table_init(&local, 0);
        mpiwc_table_init(&owned, 0);
        struct mpiwc_shuffle_stats st = {0};
        assert_int_equal(mpiwc_shuffle(&local, &owned, 64, &topo, NULL, &st, stderr), 0);
        assert_int_equal(owned.size, 0);
        assert_int_equal(st.rounds, nranks == 1 ? 0 : 1);
        assert_int_equal(st.internode_messages, 0);
        mpiwc_table_free(&local);
        mpiwc_table_free(&owned);
        mpiwc_topology_free(&topo);
    }
}

/* Hosts of --ranks-per-host: consecutive ranks, the last host takes what is left. */
static void test_ranks_per_host_layout(void **state)
{
    (void)state;
    int nranks;
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    struct mpiwc_topology topo;
    mpiwc_topology_init(&topo, MPI_COMM_WORLD, MPIWC_SHUFFLE_AUTO, 3);
    assert_int_equal(topo.nhosts, (nranks + 2) / 3);
    for (int r = 0; r < nranks; r++) {
        assert_int_equal(topo.host[r], r / 3);
        assert_int_equal(topo.local[r], r % 3);
        assert_int_equal(topo.member[topo.first[r / 3] + r % 3], r);
    }
    /* auto: through hosts when there are several and one has several ranks. */
    assert_int_equal(topo.node, nranks > 3);
    mpiwc_topology_free(&topo);
    mpiwc_topology_init(&topo, MPI_COMM_WORLD, MPIWC_SHUFFLE_AUTO, 1);
    assert_false(topo.node);
    mpiwc_topology_free(&topo);
}

/*
 * A failed assertion on one rank ends its test there, while the other ranks
 * go on into the test's next collective and would wait for it until the
 * suite's timeout. So a rank whose test failed aborts every rank as soon as
 * cmocka has printed the failure: when its next test starts (run_body sees
 * that the last body did not return), or after the last test (main). The
 * run then fails in a second, not at the timeout.
 */
struct body {
    void (*fn)(void **state);
};
static bool body_started, body_returned;

static void abort_all(const char *when)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fflush(stdout);
    fprintf(stderr, "test_shuffle: %s failed on rank %d: aborting every rank\n", when, rank);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static void run_body(void **state)
{
    if (body_started && !body_returned)
        abort_all("the previous test");
    const struct body *b = *state;
    body_started = true;
    body_returned = false;
    b->fn(NULL);
    body_returned = true;
}

/* cmocka_unit_test(f), with f run by run_body(). */
// clang-format off
#define COLLECTIVE_TEST(f) {#f, run_body, NULL, NULL, &(struct body){f}}
// clang-format on

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        COLLECTIVE_TEST(test_one_round_with_default_cap),
        COLLECTIVE_TEST(test_many_rounds_with_tiny_cap),
        COLLECTIVE_TEST(test_node_combines_within_hosts),
        COLLECTIVE_TEST(test_empty_tables),
        COLLECTIVE_TEST(test_ranks_per_host_layout),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed)
        abort_all("a test");
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}

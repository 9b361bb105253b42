#include "mpiwc/job.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/output.h"
#include "mpiwc/plan.h"
#include "mpiwc/reader.h"
#include "mpiwc/report.h"
#include "mpiwc/shuffle.h"
#include "mpiwc/table.h"
#include "mpiwc/tokenize.h"
#include "mpiwc/util.h"

#define ERRLEN 4200 /* a path of PATH_MAX bytes plus a reason */

/* Collective. Every rank learns whether any rank failed. */
static int agree(int failed, MPI_Comm comm)
{
    int any;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm);
    return any;
}

/* Collective. Broadcast a byte buffer of any length from rank 0, in pieces below INT_MAX. */
static void bcast_bytes(uint8_t *buf, uint64_t len, MPI_Comm comm)
{
    const uint64_t piece = 1u << 30;
    for (uint64_t off = 0; off < len; off += piece) {
        uint64_t n = len - off < piece ? len - off : piece;
        MPI_Bcast(buf + off, (int)n, MPI_BYTE, 0, comm);
    }
}

/* Rank 0: expand and check the inputs and targets, then split. Prints the one error line. */
static int make_plan(const struct mpiwc_options *opts, int nranks, struct mpiwc_plan *plan,
                     FILE *err)
{
    char msg[ERRLEN];
    if (mpiwc_plan_expand(plan, opts->paths, opts->npaths, msg, sizeof msg) != 0 ||
        (opts->output && mpiwc_output_probe(opts->output, msg, sizeof msg) != 0) ||
        (opts->output_dir && mpiwc_output_dir_probe(opts->output_dir, msg, sizeof msg) != 0) ||
        (opts->report && mpiwc_output_probe(opts->report, msg, sizeof msg) != 0)) {
        fprintf(err, "mpiwc: %s\n", msg);
        return -1;
    }
    mpiwc_plan_split(plan, nranks);
    return 0;
}

/* Collective. Rank 0 plans; every rank receives the plan. */
static int distribute_plan(const struct mpiwc_options *opts, MPI_Comm comm, struct mpiwc_plan *plan,
                           FILE *err)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    int failed = 0;
    uint8_t *packed = NULL;
    uint64_t len = 0;
    if (rank == 0) {
        failed = make_plan(opts, nranks, plan, err) != 0;
        if (!failed)
            len = mpiwc_plan_pack(plan, &packed);
    }
    MPI_Bcast(&failed, 1, MPI_INT, 0, comm);
    if (failed)
        return -1;
    MPI_Bcast(&len, 1, MPI_UINT64_T, 0, comm);
    if (rank != 0)
        packed = mpiwc_xmalloc(len);
    bcast_bytes(packed, len, comm);
    if (rank != 0 && mpiwc_plan_unpack(plan, packed, len) != 0)
        mpiwc_fatal("received a malformed plan");
    free(packed);
    return 0;
}

/*
 * Bounded memory: with a limit, every rank takes part in one agreement step
 * after each buffer it reads (and, once done reading, until no rank reads):
 * when any rank's local table has reached the limit, all ranks run a shuffle
 * round into their owned tables and start a fresh local table.
 */
struct flush {
    MPI_Comm comm;
    struct mpiwc_table *local, *owned;
    size_t limit, cap;
    struct mpiwc_shuffle_stats *sh;
    uint64_t rounds;
    int failed;
};

/* Collective over f->comm. One agreement step; returns whether any rank still reads. */
static bool flush_step(struct flush *f, bool reading)
{
    int mine[2] = {mpiwc_table_memory(f->local) >= f->limit, reading}, all[2];
    MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MAX, f->comm);
    if (all[0]) {
        if (mpiwc_shuffle(f->local, f->owned, f->cap, f->comm, f->sh) != 0)
            f->failed = 1;
        mpiwc_table_free(f->local);
        mpiwc_table_init(f->local, 0);
        f->rounds++;
    }
    return all[1] != 0;
}

static void after_chunk(void *ctx)
{
    flush_step(ctx, true);
}

/* Read this rank's ranges into f->local; prints the rank's error line. Collective with a limit. */
static int map(const struct mpiwc_options *opts, const struct mpiwc_plan *plan, int rank,
               struct flush *f, struct mpiwc_report *rep, FILE *err)
{
    struct mpiwc_tokenizer tok;
    struct mpiwc_reader reader;
    mpiwc_tokenizer_init(&tok, opts->split, opts->casing, f->local);
    mpiwc_reader_init(&reader, opts->buffer_size, opts->split);
    if (f->limit) {
        reader.after_chunk = after_chunk;
        reader.ctx = f;
    }
    int rc = 0;
    char msg[ERRLEN];
    for (size_t i = plan->rank_first[rank]; i < plan->rank_first[rank + 1]; i++) {
        const struct mpiwc_plan_range *range = &plan->ranges[i];
        rc = mpiwc_reader_range(&reader, &plan->files[range->file], range, &tok, msg, sizeof msg);
        if (rc != 0) {
            char host[MPI_MAX_PROCESSOR_NAME] = "?";
            int hostlen;
            MPI_Get_processor_name(host, &hostlen);
            fprintf(err, "mpiwc: [rank %d on %s] %s\n", rank, host, msg);
            break;
        }
        rep->counter[MPIWC_COUNT_RANGES]++;
    }
    if (f->limit)
        while (flush_step(f, false))
            continue;
    rep->counter[MPIWC_COUNT_BYTES] = reader.bytes_read;
    rep->counter[MPIWC_COUNT_WORDS] = tok.words;
    rep->counter[MPIWC_COUNT_LOCAL_DISTINCT] = f->local->size;
    rep->counter[MPIWC_COUNT_EARLY_ROUNDS] = f->rounds;
    mpiwc_reader_free(&reader);
    mpiwc_tokenizer_free(&tok);
    return rc != 0 || f->failed;
}

int mpiwc_run(const struct mpiwc_options *opts, MPI_Comm comm, FILE *out, FILE *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    struct mpiwc_report rep;
    mpiwc_report_init(&rep);
    struct mpiwc_plan plan;
    memset(&plan, 0, sizeof plan);

    mpiwc_report_start(&rep, MPIWC_PHASE_PLAN);
    if (distribute_plan(opts, comm, &plan, err) != 0)
        return MPIWC_EXIT_FAILURE;
    mpiwc_report_stop(&rep, MPIWC_PHASE_PLAN);

    mpiwc_report_start(&rep, MPIWC_PHASE_MAP);
    struct mpiwc_table local, owned;
    mpiwc_table_init(&local, 0);
    mpiwc_table_init(&owned, 0);
    struct mpiwc_shuffle_stats sh = {0};
    struct flush f = {comm, &local, &owned, opts->memory_limit, opts->shuffle_buffer, &sh, 0, 0};
    int failed = map(opts, &plan, rank, &f, &rep, err) != 0;
    mpiwc_plan_free(&plan);
    mpiwc_report_stop(&rep, MPIWC_PHASE_MAP);
    if (agree(failed, comm)) {
        mpiwc_table_free(&local);
        mpiwc_table_free(&owned);
        return MPIWC_EXIT_FAILURE;
    }

    /* The shuffle interleaves exchange rounds with merging what arrived; the
     * merge time is reported as the reduce phase, following the shuffle.
     * Early rounds (bounded memory) ran inside the map phase. */
    mpiwc_report_start(&rep, MPIWC_PHASE_SHUFFLE);
    double merged_before = sh.reduce_s;
    failed = mpiwc_shuffle(&local, &owned, opts->shuffle_buffer, comm, &sh) != 0;
    mpiwc_table_free(&local);
    double now = MPI_Wtime();
    rep.stop[MPIWC_PHASE_SHUFFLE] = now - (sh.reduce_s - merged_before);
    rep.start[MPIWC_PHASE_REDUCE] = rep.stop[MPIWC_PHASE_SHUFFLE];
    rep.stop[MPIWC_PHASE_REDUCE] = now;
    rep.counter[MPIWC_COUNT_SHUFFLE_SENT] = sh.bytes_sent;
    rep.counter[MPIWC_COUNT_SHUFFLE_RECV] = sh.bytes_received;
    rep.counter[MPIWC_COUNT_SHUFFLE_ROUNDS] = sh.rounds;
    rep.counter[MPIWC_COUNT_OWNED_DISTINCT] = owned.size;
    if (failed) {
        mpiwc_table_free(&owned);
        return MPIWC_EXIT_FAILURE;
    }

    mpiwc_report_start(&rep, MPIWC_PHASE_OUTPUT);
    struct mpiwc_output_request req = {
        .path = opts->output,
        .stream = out,
        .sort = opts->sort,
        .format = opts->format,
        .top = opts->top,
        .cap = opts->shuffle_buffer,
    };
    struct mpiwc_output_stats os = {0};
    if (opts->output_dir) {
        failed = mpiwc_output_parts(&owned, opts->output_dir, &req, comm, &os, err) != 0;
    } else {
        char msg[ERRLEN];
        failed = mpiwc_output_write(&owned, &req, comm, &os, msg, sizeof msg) != 0;
        if (failed && rank == 0)
            fprintf(err, "mpiwc: %s\n", msg);
    }
    mpiwc_table_free(&owned);
    mpiwc_report_stop(&rep, MPIWC_PHASE_OUTPUT);
    if (failed)
        return MPIWC_EXIT_FAILURE;

    if (mpiwc_report_finish(&rep, opts, comm, err) != 0)
        return MPIWC_EXIT_FAILURE;
    return MPIWC_EXIT_OK;
}

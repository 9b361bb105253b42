#include "mpiwc/job.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job_internal.h"
#include "mpiwc/output.h"
#include "mpiwc/util.h"

/* Rank 0, --verbose: one line per finished phase. */
static void say_phase(const struct mpiwc_options *opts, int rank, const struct mpiwc_report *rep,
                      enum mpiwc_phase phase, FILE *err)
{
    if (opts->verbosity > 0 && rank == 0)
        fprintf(err, "mpiwc: %s done in %.3f s (rank 0)\n", mpiwc_report_phase_name(phase),
                rep->stop[phase] - rep->start[phase]);
}

/*
 * Collective. Rank 0's view of every rank's budget and spill directory, for
 * --dry-run (mem and its strings in one allocation: free(*mem)).
 */
static void gather_memory(const struct mpiwc_options *opts, MPI_Comm comm,
                          struct mpiwc_plan_memory **mem)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    uint64_t limit = mpiwc_job_budget(opts, comm);
    const char *dir = mpiwc_job_spill_dir(opts);
    int len = (int)strnlen(dir, 4095) + 1;
    uint64_t *limits = NULL;
    int *lens = NULL, *displs = NULL, total = 0;
    char *dirs = NULL;
    if (rank == 0) {
        limits = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *limits));
        lens = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *lens));
        displs = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *displs));
    }
    MPI_Gather(&limit, 1, MPI_UINT64_T, limits, 1, MPI_UINT64_T, 0, comm);
    MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, comm);
    if (rank == 0) {
        for (int r = 0; r < nranks; r++) {
            displs[r] = total;
            total += lens[r];
        }
        size_t head = mpiwc_mul_size((size_t)nranks, sizeof **mem);
        *mem = mpiwc_xmalloc(mpiwc_add_size(head, (size_t)total));
        dirs = (char *)*mem + head;
    }
    char *mine = mpiwc_xstrdup(dir);
    mine[len - 1] = '\0';
    MPI_Gatherv(mine, len, MPI_CHAR, dirs, lens, displs, MPI_CHAR, 0, comm);
    free(mine);
    if (rank == 0)
        for (int r = 0; r < nranks; r++)
            (*mem)[r] = (struct mpiwc_plan_memory){limits[r], dirs + displs[r]};
    free(limits);
    free(lens);
    free(displs);
}

/* Collective. --dry-run: rank 0 plans and prints; nothing is read. */
static int dry_run(const struct mpiwc_options *opts, MPI_Comm comm, FILE *out, FILE *err)
{
    int rank, failed = 0;
    MPI_Comm_rank(comm, &rank);
    struct mpiwc_plan plan;
    memset(&plan, 0, sizeof plan);
    struct shared_files sf = {0};
    failed = mpiwc_job_make_plan(opts, comm, &plan, &sf, err) != 0;
    mpiwc_job_free_shared(&sf);
    struct mpiwc_plan_memory *mem = NULL;
    gather_memory(opts, comm, &mem);
    if (rank == 0) {
        errno = 0; /* the failing write's errno, or none: EIO */
        if (!failed && mpiwc_plan_print(&plan, mem, opts->ngram_max - 1, out,
                                        opts->format == MPIWC_FORMAT_JSON) != 0) {
            fprintf(err, "mpiwc: standard output: %s\n", strerror(errno ? errno : EIO));
            failed = 1;
        }
        mpiwc_plan_free(&plan);
    }
    free(mem);
    MPI_Bcast(&failed, 1, MPI_INT, 0, comm);
    return failed ? MPIWC_EXIT_FAILURE : MPIWC_EXIT_OK;
}

void mpiwc_job_init(struct job *j, const struct mpiwc_options *opts, MPI_Comm comm, FILE *out,
                    FILE *err)
{
    memset(j, 0, sizeof *j);
    j->opts = opts;
    j->comm = comm;
    MPI_Comm_rank(comm, &j->rank);
    MPI_Comm_size(comm, &j->nranks);
    char host[MPI_MAX_PROCESSOR_NAME] = "?";
    int hostlen;
    MPI_Get_processor_name(host, &hostlen);
    mpiwc_set_origin(j->rank, host); /* a rank's errors name it, whoever calls mpiwc_run */
    j->out = out;
    j->output = opts->output;
    j->err = err;
    j->ck.dir = opts->checkpoint_dir;
    mpiwc_report_init(&j->rep);
    mpiwc_table_init(&j->local, 0);
    mpiwc_table_init(&j->owned, 0);
    mpiwc_topology_init(&j->topo, comm, opts->shuffle, opts->ranks_per_host);
}

void mpiwc_job_free(struct job *j)
{
    mpiwc_progress_end(&j->progress);
    mpiwc_job_free_shared(&j->sf);
    mpiwc_plan_free(&j->plan);
    mpiwc_ckpt_done_free(&j->ck.done);
    mpiwc_table_free(&j->local);
    mpiwc_table_free(&j->owned);
    mpiwc_spill_close(&j->spill);
    mpiwc_topology_free(&j->topo);
}

/*
 * Collective. The budget and the spill: a --spill-dir that some rank cannot
 * write into fails the job at once (the default, $TMPDIR or /tmp, only when
 * a rank spills). With --checkpoint-dir nothing spills: a checkpoint holds
 * the tables, not the runs, so a rank whose words outgrow the budget ends
 * the job instead, and the last checkpoint resumes with a larger limit.
 */
static int memory_setup(struct job *j)
{
    j->budget = mpiwc_job_budget(j->opts, j->comm);
    size_t local = mpiwc_job_local_limit(j->budget);
    const char *dir = mpiwc_job_spill_dir(j->opts);
    mpiwc_spill_init(&j->spill, dir, j->nranks == 1 ? j->budget : j->budget - local);
    j->rep.counter[MPIWC_COUNT_MEMORY_LIMIT] = j->budget;
    if (j->ck.dir)
        j->spill.refuse = "--memory-limit: the owned words need more memory than the limit, and "
                          "--checkpoint-dir cannot keep words spilled to disk: resume with a "
                          "larger --memory-limit";
    char why[MPIWC_ERRLEN - MPI_MAX_PROCESSOR_NAME - 64], msg[MPIWC_ERRLEN];
    bool failed = j->budget && j->opts->spill_dir && !j->ck.dir &&
                  mpiwc_spill_check_dir(dir, why, sizeof why) != 0;
    if (failed)
        snprintf(msg, sizeof msg, "%s (--spill-dir)", why);
    return mpiwc_job_agree_why(failed ? msg : NULL, j->comm, j->err);
}

/* Collective. Plan and hand the plan out; set up the progress line. */
static int plan_phase(struct job *j)
{
    mpiwc_report_start(&j->rep, MPIWC_PHASE_PLAN);
    if (mpiwc_job_distribute_plan(j->opts, j->comm, &j->plan, &j->sf, &j->progress_on, &j->ck,
                                  j->err) != 0 ||
        memory_setup(j) != 0)
        return MPIWC_EXIT_FAILURE;
    mpiwc_report_stop(&j->rep, MPIWC_PHASE_PLAN);
    if (j->opts->verbosity > 0 && j->rank == 0) {
        fprintf(j->err, "mpiwc: planned %zu file%s, %" PRIu64 " bytes over %d rank%s",
                j->plan.nfiles, j->plan.nfiles == 1 ? "" : "s", j->plan.total_bytes, j->plan.nranks,
                j->plan.nranks == 1 ? "" : "s");
        if (j->plan.walk_units)
            fprintf(j->err, "; %zu director%s walked by the ranks", j->plan.walk_units,
                    j->plan.walk_units == 1 ? "y" : "ies");
        fputc('\n', j->err);
    }
    say_phase(j->opts, j->rank, &j->rep, MPIWC_PHASE_PLAN, j->err);
    mpiwc_progress_init(&j->progress, j->progress_on && j->rank == 0 ? j->err : NULL,
                        j->rank == 0 && mpiwc_job_watched(j->err), j->plan.total_bytes,
                        !mpiwc_plan_reads_stdin(&j->plan), j->rep.start[MPIWC_PHASE_PLAN]);
    return MPIWC_EXIT_OK;
}

/* Collective. Load a checkpoint if resuming, then read and count into the local table. */
static int map_phase(struct job *j)
{
    const struct mpiwc_options *opts = j->opts;
    mpiwc_report_start(&j->rep, MPIWC_PHASE_MAP);
    j->rounds = (struct rounds){
        .comm = j->comm,
        .topo = &j->topo,
        .nranks = j->nranks,
        .local = &j->local,
        .owned = &j->owned,
        .limit = mpiwc_job_local_limit(j->budget),
        .cap = opts->shuffle_buffer,
        .spill = &j->spill,
        .more = opts->buffer_size / 2 + 1,
        .sh = &j->sh,
        .err = j->err,
        .progress = j->rank == 0 && j->progress_on ? &j->progress : NULL,
    };
    int failed = j->ck.loaded && mpiwc_job_ckpt_load(&j->ck, &j->plan, j->rank, j->nranks,
                                                     &j->local, j->comm, j->err);
    int stopped = 0;
    if (!failed) {
        int m = mpiwc_job_map(opts, &j->plan, &j->sf, j->rank, &j->rounds,
                              j->budget || j->progress_on, &j->ck, &j->rep, j->err);
        failed = m < 0;
        stopped = m > 0;
    }
    mpiwc_ckpt_map_over(); /* from here a SIGTERM ends the process, as without checkpoints */
    mpiwc_job_free_shared(&j->sf);
    mpiwc_plan_free(&j->plan);
    mpiwc_ckpt_done_free(&j->ck.done);
    mpiwc_report_stop(&j->rep, MPIWC_PHASE_MAP);
    j->rep.counter[MPIWC_COUNT_CHECKPOINTS] = j->ck.count;
    j->rep.counter[MPIWC_COUNT_CHECKPOINT_BYTES] = j->ck.bytes;
    j->rep.counter[MPIWC_COUNT_CHECKPOINT_US] = (uint64_t)(j->ck.seconds * 1e6);
    j->rep.counter[MPIWC_COUNT_RESTART_SKIPPED] = j->ck.skipped;
    failed = mpiwc_job_agree(failed, j->comm); /* the same on every rank, as stopped already is */
    if (failed || stopped)
        return failed ? MPIWC_EXIT_FAILURE : MPIWC_EXIT_STOPPED;
    say_phase(opts, j->rank, &j->rep, MPIWC_PHASE_MAP, j->err);
    j->all_bytes = j->rounds.recv[2]; /* the last round's sum: every rank's whole input */
    return MPIWC_EXIT_OK;
}

/*
 * Collective. Send every word to its owner. The shuffle interleaves exchange
 * rounds with merging what arrived; the merge time is reported as the reduce
 * phase, following the shuffle. Early rounds (bounded memory) ran inside the
 * map phase.
 */
static int shuffle_phase(struct job *j)
{
    mpiwc_progress_update(&j->progress, "shuffle", j->all_bytes, MPI_Wtime(), true);
    mpiwc_report_start(&j->rep, MPIWC_PHASE_SHUFFLE);
    double merged_before = j->sh.reduce_s;
    int failed = mpiwc_shuffle(&j->local, &j->owned, j->opts->shuffle_buffer, &j->topo, &j->spill,
                               &j->sh, j->err);
    failed = failed || mpiwc_job_agree_why(j->spill.failed ? j->spill.msg : NULL, j->comm, j->err);
    mpiwc_table_free(&j->local);
    double now = MPI_Wtime();
    struct mpiwc_report *rep = &j->rep;
    rep->stop[MPIWC_PHASE_SHUFFLE] = now - (j->sh.reduce_s - merged_before);
    rep->start[MPIWC_PHASE_REDUCE] = rep->stop[MPIWC_PHASE_SHUFFLE];
    rep->stop[MPIWC_PHASE_REDUCE] = now;
    rep->counter[MPIWC_COUNT_SHUFFLE_SENT] = j->sh.bytes_sent;
    rep->counter[MPIWC_COUNT_SHUFFLE_RECV] = j->sh.bytes_received;
    rep->counter[MPIWC_COUNT_SHUFFLE_ROUNDS] = j->sh.rounds;
    rep->counter[MPIWC_COUNT_INTERNODE_BYTES] = j->sh.internode_bytes;
    rep->counter[MPIWC_COUNT_INTERNODE_MESSAGES] = j->sh.internode_messages;
    rep->counter[MPIWC_COUNT_SHUFFLE_IN_US] = (uint64_t)(j->sh.in_s * 1e6);
    rep->counter[MPIWC_COUNT_SHUFFLE_ACROSS_US] = (uint64_t)(j->sh.across_s * 1e6);
    rep->counter[MPIWC_COUNT_SHUFFLE_OUT_US] = (uint64_t)(j->sh.out_s * 1e6);
    rep->shuffle_hosts = j->topo.node ? j->topo.nhosts : 0;
    rep->step[MPIWC_STEP_PACK] = j->sh.pack_s; /* early rounds' too */
    rep->step[MPIWC_STEP_EXCHANGE] = j->sh.exchange_s;
    rep->step[MPIWC_STEP_MERGE] = j->sh.reduce_s;
    rep->counter[MPIWC_COUNT_OWNED_DISTINCT] = j->owned.size;
    if (failed)
        return MPIWC_EXIT_FAILURE;
    say_phase(j->opts, j->rank, rep, MPIWC_PHASE_SHUFFLE, j->err);
    say_phase(j->opts, j->rank, rep, MPIWC_PHASE_REDUCE, j->err);
    return MPIWC_EXIT_OK;
}

/*
 * Collective. Gather and write the table, or each rank its part file: each
 * rank's words in order, from its table or merged from what it spilled.
 */
int mpiwc_job_output(struct job *j)
{
    const struct mpiwc_options *opts = j->opts;
    mpiwc_progress_update(&j->progress, "output", j->all_bytes, MPI_Wtime(), true);
    mpiwc_report_start(&j->rep, MPIWC_PHASE_OUTPUT);
    struct mpiwc_output_request req = {
        .path = j->output,
        .stream = j->out,
        .sort = opts->sort,
        .format = opts->format,
        .top = opts->output_dir ? 0 : opts->top,
        .cap = opts->shuffle_buffer,
    };
    struct mpiwc_output_stats os = {0};
    double t0 = MPI_Wtime();
    struct mpiwc_spill_result res;
    int opened = mpiwc_spill_result_open(&j->spill, &j->owned, req.sort, req.top, &res);
    os.sort_s = MPI_Wtime() - t0;
    int failed = mpiwc_job_agree_why(opened != 0 ? j->spill.msg : NULL, j->comm, j->err) != 0;
    if (failed) {
        /* nothing written */
    } else if (opts->output_dir) {
        failed = mpiwc_output_parts(res.rows, opts->output_dir, &req, j->comm, &os, j->err) != 0;
        os.mine = os.rows;
    } else {
        char msg[MPIWC_ERRLEN];
        failed =
            mpiwc_output_write(res.rows, res.distinct, &req, j->comm, &os, msg, sizeof msg) != 0;
        if (failed && j->rank == 0) {
            mpiwc_progress_end(&j->progress);
            mpiwc_say(j->err, "", msg);
        }
    }
    mpiwc_spill_result_close(&res);
    mpiwc_table_free(&j->owned);
    mpiwc_report_stop(&j->rep, MPIWC_PHASE_OUTPUT);
    j->rep.step[MPIWC_STEP_GATHER] = os.gather_s;
    j->rep.step[MPIWC_STEP_SORT] = os.sort_s;
    j->rep.step[MPIWC_STEP_WRITE] = os.write_s;
    if (!failed && j->spill.st.runs > 0)
        j->rep.counter[MPIWC_COUNT_OWNED_DISTINCT] = os.mine;
    j->rep.counter[MPIWC_COUNT_SPILL_RUNS] = j->spill.st.runs;
    j->rep.counter[MPIWC_COUNT_SPILL_WRITTEN] = j->spill.st.bytes_written;
    j->rep.counter[MPIWC_COUNT_SPILL_READ] = j->spill.st.bytes_read;
    j->rep.counter[MPIWC_COUNT_SPILL_MERGE_US] = (uint64_t)(j->spill.st.merge_s * 1e6);
    mpiwc_spill_close(&j->spill); /* every run and the directory: before the report */
    mpiwc_progress_end(&j->progress);
    if (failed)
        return MPIWC_EXIT_FAILURE;
    say_phase(opts, j->rank, &j->rep, MPIWC_PHASE_OUTPUT, j->err);
    return MPIWC_EXIT_OK;
}

/* Collective. --stats and --report; then the checkpoints, of no more use once the output
 * is in place. */
int mpiwc_job_report(struct job *j)
{
    if (mpiwc_report_finish(&j->rep, j->opts, j->progress_on, j->comm, j->out, j->err) != 0)
        return MPIWC_EXIT_FAILURE;
    if (j->ck.dir && !j->opts->keep_checkpoints && j->rank == 0)
        mpiwc_job_ckpt_remove_older(j->ck.dir, UINT64_MAX);
    return MPIWC_EXIT_OK;
}

int mpiwc_job_count(struct job *j)
{
    int status = plan_phase(j);
    if (status == MPIWC_EXIT_OK)
        status = map_phase(j);
    if (status == MPIWC_EXIT_OK)
        status = shuffle_phase(j);
    return status;
}

int mpiwc_run(const struct mpiwc_options *opts, MPI_Comm comm, FILE *out, FILE *err)
{
    if (opts->dry_run)
        return dry_run(opts, comm, out, err);
    struct job j;
    mpiwc_job_init(&j, opts, comm, out, err);
    int status = mpiwc_job_count(&j);
    if (status == MPIWC_EXIT_OK)
        status = mpiwc_job_output(&j);
    if (status == MPIWC_EXIT_OK)
        status = mpiwc_job_report(&j);
    mpiwc_job_free(&j);
    return status;
}

/* job_map.c: the map phase (see job_internal.h). */
#include <unistd.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job_internal.h"
#include "mpiwc/codec.h"
#include "mpiwc/reader.h"
#include "mpiwc/stream.h"
#include "mpiwc/tokenize.h"
#include "mpiwc/util.h"

/*
 * Does this rank's local table ask for an early round? At the local limit;
 * a single rank's, whose words are all its own, when it would pass the
 * spill's budget with another read buffer's words.
 */
static bool at_limit(const struct rounds *r)
{
    if (r->nranks == 1)
        return r->spill && mpiwc_spill_due(r->spill, r->local, r->more);
    return r->limit && mpiwc_table_memory_soon(r->local) >= r->limit;
}

/*
 * Collective over r->comm. An early round: the local table goes to the owners
 * (or, on a single rank, to a spill run) and is left empty, its arrays kept
 * for the next words. A spill that failed on any rank fails the job here,
 * in one line from rank 0; from then on the words read are dropped.
 */
static void early_round(struct rounds *r)
{
    if (r->failed) {
        mpiwc_table_clear(r->local);
        return;
    }
    if (r->nranks == 1)
        (void)mpiwc_spill_table(r->spill, r->local);
    else if (mpiwc_shuffle(r->local, r->owned, r->cap, r->topo, r->spill, r->sh, r->err) != 0)
        r->failed = 1;
    r->early++;
    if (!r->failed &&
        mpiwc_job_agree_why(r->spill && r->spill->failed ? r->spill->msg : NULL, r->comm, r->err))
        r->failed = 1;
}

/*
 * Local. A range read to its end: count it, and its file unless the rank's
 * previous range was of the same file (*counted: that file; UINT64_MAX at
 * first). A restart can give a rank several holes of one file, in file order.
 */
static void count_range(struct mpiwc_report *rep, uint64_t *counted, uint32_t file)
{
    rep->counter[MPIWC_COUNT_RANGES]++;
    rep->counter[MPIWC_COUNT_FILES] += file != *counted;
    *counted = file;
}

static void round_start(struct rounds *r, bool reading)
{
    r->send[0] = at_limit(r);
    r->send[1] = reading;
    r->send[2] = *r->bytes_read;
    MPI_Iallreduce(r->send, r->recv, 3, MPI_UINT64_T, MPI_SUM, r->comm, &r->req);
    r->pending = true;
}

/* Act on a completed round; returns whether any rank still reads. */
static bool round_done(struct rounds *r)
{
    r->pending = false;
    if (r->recv[0])
        early_round(r);
    if (r->progress)
        mpiwc_progress_update(r->progress, "map", r->recv[2], MPI_Wtime(), false);
    return r->recv[1] != 0;
}

static void after_chunk(void *ctx)
{
    struct rounds *r = ctx;
    int complete = 1;
    if (r->pending)
        MPI_Test(&r->req, &complete, MPI_STATUS_IGNORE);
    if (!complete)
        return;
    if (r->pending)
        round_done(r);
    round_start(r, true);
}

/* Collective over r->comm. Done reading: take part until no rank reads. */
static void rounds_finish(struct rounds *r)
{
    for (;;) {
        if (!r->pending)
            round_start(r, false);
        MPI_Wait(&r->req, MPI_STATUS_IGNORE);
        if (!round_done(r))
            break;
    }
}

/* Standard input's rounds: every rank runs one agreement round per piece, in lockstep. */
static void stream_round(void *ctx)
{
    struct rounds *r = ctx;
    round_start(r, true);
    MPI_Wait(&r->req, MPI_STATUS_IGNORE);
    round_done(r);
}

/* Bytes read per checkpoint step (MPIWC_CHECKPOINT_STEP overrides, for tests). */
static uint64_t ckpt_step_bytes(void)
{
    const char *env = getenv("MPIWC_CHECKPOINT_STEP");
    uint64_t v;
    if (env && mpiwc_cli_parse_size(env, &v) == 0 && v > 0)
        return v;
    return (uint64_t)64 << 20;
}

/*
 * Collective. The map with --checkpoint-dir: every rank reads its ranges in
 * steps of ckpt_step_bytes(), and after each step all ranks agree (a
 * blocking allreduce) on failures, early shuffle rounds, progress, and
 * whether to checkpoint now (rank 0's interval passed, or a rank got
 * SIGUSR1/SIGTERM: then checkpoint and stop). A step boundary is a range
 * boundary, so what a rank has read is exactly its done intervals.
 * Returns 0, -1 (failed, error printed) or 1 (stopped after a checkpoint).
 */
static int map_steps(const struct mpiwc_options *opts, const struct mpiwc_plan *plan, int rank,
                     struct rounds *r, struct ckpt *ck, struct mpiwc_reader *reader,
                     struct mpiwc_tokenizer *tok, int rc, struct mpiwc_report *rep, FILE *err)
{
    const uint64_t step = ckpt_step_bytes();
    size_t i = plan->rank_first[rank], last = plan->rank_first[rank + 1];
    uint64_t pos = i < last ? plan->ranges[i].start : 0;
    uint64_t counted = UINT64_MAX;
    char msg[MPIWC_ERRLEN];
    if (rank == 0)
        ck->last = MPI_Wtime();
    for (;;) {
        if (rc == 0 && i < last) {
            const struct mpiwc_plan_range *range = &plan->ranges[i];
            const struct mpiwc_plan_file *file = &plan->files[range->file];
            struct mpiwc_plan_range sub = *range;
            sub.start = pos;
            if (file->codec == MPIWC_CODEC_NONE && range->end - pos > step)
                sub.end = pos + step;
            rc = mpiwc_reader_range(reader, file, &sub, tok, msg, sizeof msg);
            if (rc != 0) {
                mpiwc_say_rank(err, msg);
            } else {
                mpiwc_ckpt_done_add(&ck->done, sub.file, sub.start, sub.end);
                pos = sub.end;
                if (pos == range->end) {
                    count_range(rep, &counted, range->file);
                    if (++i < last)
                        pos = plan->ranges[i].start;
                }
            }
        }
        bool timer = rank == 0 && MPI_Wtime() - ck->last >= (double)opts->checkpoint_interval;
        uint64_t send[6] = {rc != 0,
                            at_limit(r),
                            rc == 0 && i < last,
                            reader->bytes_read,
                            timer,
                            mpiwc_ckpt_stop_requested()};
        uint64_t recv[6];
        double t0 = MPI_Wtime();
        MPI_Allreduce(send, recv, 6, MPI_UINT64_T, MPI_SUM, r->comm);
        rep->counter[MPIWC_COUNT_MAP_WAIT_US] += (uint64_t)((MPI_Wtime() - t0) * 1e6);
        r->recv[2] = recv[3];
        if (recv[0])
            return -1;
        if (recv[1]) {
            early_round(r);
            if (mpiwc_job_agree(r->failed, r->comm))
                return -1;
        }
        if (r->progress)
            mpiwc_progress_update(r->progress, "map", recv[3], MPI_Wtime(), false);
        if (!recv[2])
            return 0;
        if (recv[4] || recv[5]) {
            int wrote = mpiwc_job_ckpt_write(ck, plan, r, rank, err) == 0;
            if (recv[5]) {
                if (rank == 0 && wrote && opts->verbosity >= 0)
                    mpiwc_say(err, "",
                              "stopped by a signal after writing a checkpoint; run the "
                              "same command again to resume");
                return wrote ? 1 : -1;
            }
        }
    }
}

/* The map without checkpoints: this rank's ranges, then standard input. Returns rc. */
static int map_ranges(const struct mpiwc_options *opts, const struct mpiwc_plan *plan, int rank,
                      struct rounds *r, bool rounds, struct mpiwc_reader *reader,
                      struct mpiwc_tokenizer *tok, int rc, struct mpiwc_report *rep, FILE *err)
{
    char msg[MPIWC_ERRLEN];
    if (rounds) {
        reader->after_chunk = after_chunk;
        reader->ctx = r;
    }
    uint64_t counted = UINT64_MAX;
    for (size_t i = plan->rank_first[rank]; i < plan->rank_first[rank + 1]; i++) {
        const struct mpiwc_plan_range *range = &plan->ranges[i];
        if (plan->files[range->file].size == MPIWC_PLAN_STREAM)
            continue; /* handed out to every rank below */
        if (rc != 0)
            break;
        rc = mpiwc_reader_range(reader, &plan->files[range->file], range, tok, msg, sizeof msg);
        if (rc != 0) {
            mpiwc_say_rank(err, msg);
            break;
        }
        count_range(rep, &counted, range->file);
    }
    if (rounds) { /* the ranks that finish first wait here for the last one */
        double t0 = MPI_Wtime();
        rounds_finish(r);
        rep->counter[MPIWC_COUNT_MAP_WAIT_US] += (uint64_t)((MPI_Wtime() - t0) * 1e6);
    }
    if (mpiwc_plan_reads_stdin(plan) && !mpiwc_job_agree(rc != 0 || r->failed, r->comm)) {
        if (mpiwc_stream_scatter(STDIN_FILENO, opts->buffer_size, opts->compat_hadoop, r->comm, tok,
                                 &reader->bytes_read, &reader->read_s, rounds ? stream_round : NULL,
                                 r, msg, sizeof msg) != 0) {
            rc = -1;
            if (msg[0])
                mpiwc_say_rank(err, msg);
        }
        rep->counter[MPIWC_COUNT_RANGES] += rank == 0;
    }
    return rc;
}

/* Read this rank's ranges into r->local; prints the rank's error line. Returns 0, -1 when
 * any rank failed, or 1 when the ranks stopped after a checkpoint (--checkpoint-dir). */
int mpiwc_job_map(const struct mpiwc_options *opts, const struct mpiwc_plan *plan,
                  const struct shared_files *sf, int rank, struct rounds *r, bool rounds,
                  struct ckpt *ck, struct mpiwc_report *rep, FILE *err)
{
    struct mpiwc_tokenizer tok;
    struct mpiwc_reader reader;
    const struct mpiwc_word_rules rules = {
        .split = opts->split,
        .casing = opts->casing,
        .normalize = opts->normalize,
        .min_length = opts->min_length,
        .ignore_numbers = opts->ignore_numbers,
        .stopwords = (const uint8_t *)sf->stopwords,
        .stopwords_len = sf->stopwords_len,
        .ngram_min = opts->ngram_min,
        .ngram_max = opts->ngram_max,
    };
    int rc = 0;
    mpiwc_tokenizer_init_rules(&tok, &rules, r->local);
    mpiwc_reader_init(&reader, opts->buffer_size, opts->split);
    r->bytes_read = &reader.bytes_read;
    int stopped = 0;
    if (ck->dir) {
        /* No standard input here: ckpt_plan refused it. */
        rc = map_steps(opts, plan, rank, r, ck, &reader, &tok, rc, rep, err);
        stopped = rc == 1;
        rc = rc < 0 ? -1 : 0;
    } else {
        rc = map_ranges(opts, plan, rank, r, rounds, &reader, &tok, rc, rep, err);
    }
    rep->counter[MPIWC_COUNT_BYTES] = reader.bytes_read;
    rep->step[MPIWC_STEP_READ] = reader.read_s;
    rep->step[MPIWC_STEP_TOKENIZE] = tok.seconds;
    rep->counter[MPIWC_COUNT_WORDS] = tok.words;
    rep->counter[MPIWC_COUNT_LOCAL_DISTINCT] = r->local->size;
    rep->counter[MPIWC_COUNT_EARLY_ROUNDS] = r->early;
    rep->counter[MPIWC_COUNT_INVALID_UTF8] = tok.invalid_utf8;
    r->bytes_read = NULL;
    mpiwc_reader_free(&reader);
    mpiwc_tokenizer_free(&tok);
    if (rc != 0 || r->failed)
        return -1;
    return stopped;
}

/* job_ckpt.c: checkpoints of a running job (see job_internal.h; the files' format is
 * checkpoint.h's). */
#include <sys/stat.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job_internal.h"
#include "mpiwc/codec.h"
#include "mpiwc/util.h"

/* Rank 0, after planning: refuse what cannot be resumed, then pick a checkpoint. */
int mpiwc_job_ckpt_plan(const struct mpiwc_options *opts, const struct shared_files *sf, int nranks,
                        struct mpiwc_plan *plan, struct ckpt *ck, FILE *err)
{
    if (mpiwc_plan_reads_stdin(plan)) {
        mpiwc_say(err, "", "-: standard input cannot be checkpointed (--checkpoint-dir)");
        return -1;
    }
    for (size_t i = 0; i < plan->nfiles; i++)
        if (plan->files[i].to_eof) {
            char msg[MPIWC_ERRLEN];
            snprintf(msg, sizeof msg,
                     "%s: a file whose size is not its length (/proc, /sys) cannot be checkpointed "
                     "(--checkpoint-dir)",
                     plan->files[i].path);
            mpiwc_say(err, "", msg);
            return -1;
        }
    if (mkdir(ck->dir, 0777) != 0 && errno != EEXIST) {
        char msg[MPIWC_ERRLEN];
        snprintf(msg, sizeof msg, "%s: %s", ck->dir, strerror(errno));
        mpiwc_say(err, "", msg);
        return -1;
    }
    ck->inputs = mpiwc_ckpt_fingerprint_inputs(plan);
    ck->options = mpiwc_ckpt_fingerprint_options(opts, sf->stopwords, sf->stopwords_len);
    struct mpiwc_ckpt_choice choice;
    mpiwc_ckpt_select(ck->dir, plan, ck->inputs, ck->options, &choice, err);
    ck->next = choice.next;
    if (!choice.generation)
        return 0;
    uint64_t total = plan->total_bytes;
    ck->loaded = choice.generation;
    ck->loaded_nranks = choice.nranks;
    ck->done = choice.done;
    /* In the plan's units: a compressed file done counts its estimated text bytes. */
    ck->skipped = 0;
    for (size_t i = 0; i < ck->done.n; i++) {
        const struct mpiwc_plan_range *d = &ck->done.v[i];
        bool comp = plan->files[d->file].codec != MPIWC_CODEC_NONE;
        ck->skipped += comp ? plan->files[d->file].weight : d->end - d->start;
    }
    mpiwc_plan_split_remaining(plan, nranks, ck->done.v, ck->done.n);
    ck->total = total;
    return 0;
}

/* Rank 0, once every rank agreed to go on: say which checkpoint the job resumes from. */
void mpiwc_job_ckpt_say_resume(const struct mpiwc_options *opts, const struct ckpt *ck, FILE *err)
{
    if (!ck->loaded || opts->verbosity < 0)
        return;
    char *gdir = mpiwc_ckpt_gen_path(ck->dir, ck->loaded);
    char msg[MPIWC_ERRLEN];
    snprintf(msg, sizeof msg,
             "resuming from checkpoint %s (%" PRIu64 " of %" PRIu64 " bytes done, %" PRIu64
             " rank%s)",
             gdir, ck->skipped, ck->total, ck->loaded_nranks, ck->loaded_nranks == 1 ? "" : "s");
    mpiwc_say(err, "", msg);
    free(gdir);
}

/* Collective. Load the resumed checkpoint's tables: old rank k's file goes to rank k % nranks. */
int mpiwc_job_ckpt_load(struct ckpt *ck, const struct mpiwc_plan *plan, int rank, int nranks,
                        struct mpiwc_table *local, MPI_Comm comm, FILE *err)
{
    int failed = 0;
    for (uint64_t k = (uint64_t)rank; k < ck->loaded_nranks && !failed; k += (uint64_t)nranks) {
        char *path = mpiwc_ckpt_rank_path(ck->dir, ck->loaded, (int)k);
        char why[512], msg[MPIWC_ERRLEN];
        if (mpiwc_ckpt_read_rank(path, ck->loaded, (int)k, (int)ck->loaded_nranks, plan->files,
                                 (uint32_t)plan->nfiles, NULL, local, why, sizeof why) != 0) {
            snprintf(msg, sizeof msg, "%s: %s", path, why);
            mpiwc_say_rank(err, msg);
            failed = 1;
        }
        free(path);
    }
    return mpiwc_job_agree(failed, comm);
}

/*
 * Collective. Write generation ck->next: every rank its file, then rank 0
 * the manifest, then rank 0 removes the older generations. A failure is
 * reported by the rank that saw it; the run goes on without that checkpoint.
 * Returns 0 or -1 on every rank.
 */
int mpiwc_job_ckpt_write(struct ckpt *ck, const struct mpiwc_plan *plan, const struct rounds *r,
                         int rank, FILE *err)
{
    double t0 = MPI_Wtime();
    uint64_t gen = ck->next++;
    char msg[MPIWC_ERRLEN];
    int failed = 0;
    if (rank == 0) {
        char *gdir = mpiwc_ckpt_gen_path(ck->dir, gen);
        if (mkdir(gdir, 0777) != 0 && errno != EEXIST) {
            snprintf(msg, sizeof msg, "checkpoint not written: %s: %s", gdir, strerror(errno));
            mpiwc_say_rank(err, msg);
            failed = 1;
        }
        free(gdir);
    }
    MPI_Bcast(&failed, 1, MPI_INT, 0, r->comm);
    if (failed)
        return -1;
    const struct mpiwc_table *tables[2] = {r->local, r->owned};
    uint64_t bytes = 0;
    char why[MPIWC_ERRLEN - 64];
    if (mpiwc_ckpt_write_rank(ck->dir, gen, rank, r->nranks, (uint32_t)plan->nfiles, &ck->done,
                              tables, 2, &bytes, why, sizeof why) != 0) {
        snprintf(msg, sizeof msg, "checkpoint not written: %s", why);
        mpiwc_say_rank(err, msg);
        failed = 1;
    }
    if (!mpiwc_job_agree(failed, r->comm) && rank == 0) {
        struct mpiwc_ckpt_manifest m = {gen, (uint32_t)r->nranks, ck->inputs, ck->options};
        if (mpiwc_ckpt_write_manifest(ck->dir, &m, why, sizeof why) != 0) {
            snprintf(msg, sizeof msg, "checkpoint not written: %s", why);
            mpiwc_say_rank(err, msg);
            failed = 1;
        } else {
            mpiwc_job_ckpt_remove_older(ck->dir, gen);
        }
    } else if (rank == 0) {
        failed = 1;
    }
    MPI_Bcast(&failed, 1, MPI_INT, 0, r->comm);
    ck->bytes += bytes;
    ck->count += !failed;
    ck->seconds += MPI_Wtime() - t0;
    if (rank == 0)
        ck->last = MPI_Wtime();
    return failed ? -1 : 0;
}

void mpiwc_job_ckpt_remove_older(const char *dir, uint64_t below)
{
    uint64_t *gens;
    size_t n = mpiwc_ckpt_generations(dir, &gens);
    for (size_t i = 0; i < n; i++)
        if (gens[i] < below)
            (void)mpiwc_ckpt_remove(dir, gens[i]);
    free(gens);
}

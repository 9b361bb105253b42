#include "mpiwc/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/format.h"
#include "mpiwc/output.h"
#include "mpiwc/util.h"
#include "mpiwc_config.h"

static const char *const phase_names[MPIWC_PHASES] = {"plan", "map", "shuffle", "reduce", "output"};
static const char *const step_names[MPIWC_STEPS] = {
    "read", "tokenize", "pack", "exchange", "merge", "gather", "sort", "write",
};
static const char *const counter_names[MPIWC_COUNTERS] = {
    "bytes",
    "words",
    "local_distinct",
    "owned_distinct",
    "shuffle_sent",
    "shuffle_recv",
    "shuffle_rounds",
    "ranges",
    "early_rounds",
    "files",
    "invalid_utf8",
    "checkpoints",
    "checkpoint_bytes",
    "checkpoint_us",
    "restart_skipped",
    "map_wait_us",
    "memory_limit",
    "spill_runs",
    "spill_written",
    "spill_read",
    "spill_merge_us",
    "internode_bytes",
    "internode_messages",
    "shuffle_in_us",
    "shuffle_across_us",
    "shuffle_out_us",
};

const char *mpiwc_report_phase_name(enum mpiwc_phase phase)
{
    return phase_names[phase];
}

void mpiwc_report_init(struct mpiwc_report *rep)
{
    memset(rep, 0, sizeof *rep);
}

void mpiwc_report_start(struct mpiwc_report *rep, enum mpiwc_phase phase)
{
    rep->start[phase] = MPI_Wtime();
    rep->stop[phase] = rep->start[phase];
}

void mpiwc_report_stop(struct mpiwc_report *rep, enum mpiwc_phase phase)
{
    rep->stop[phase] = MPI_Wtime();
}

/* The reduced view, valid on rank 0. */
struct summary {
    int nranks;
    double first_start[MPIWC_PHASES], last_stop[MPIWC_PHASES];
    double min[MPIWC_PHASES], max[MPIWC_PHASES], sum[MPIWC_PHASES];
    double smin[MPIWC_STEPS], smax[MPIWC_STEPS], ssum[MPIWC_STEPS];
    uint64_t csum[MPIWC_COUNTERS], cmin[MPIWC_COUNTERS], cmax[MPIWC_COUNTERS];
    int shuffle_hosts;  /* mpiwc_report's, the same on every rank */
    char *hosts;        /* nranks names of MPI_MAX_PROCESSOR_NAME bytes */
    uint64_t *per_rank; /* nranks rows of MPIWC_COUNTERS counters */
};

static void reduce(const struct mpiwc_report *rep, MPI_Comm comm, struct summary *s)
{
    int rank;
    MPI_Comm_size(comm, &s->nranks);
    MPI_Comm_rank(comm, &rank);
    s->shuffle_hosts = rep->shuffle_hosts;
    double own[MPIWC_PHASES];
    for (int p = 0; p < MPIWC_PHASES; p++)
        own[p] = rep->stop[p] - rep->start[p];
    MPI_Reduce(rep->start, s->first_start, MPIWC_PHASES, MPI_DOUBLE, MPI_MIN, 0, comm);
    MPI_Reduce(rep->stop, s->last_stop, MPIWC_PHASES, MPI_DOUBLE, MPI_MAX, 0, comm);
    MPI_Reduce(own, s->min, MPIWC_PHASES, MPI_DOUBLE, MPI_MIN, 0, comm);
    MPI_Reduce(own, s->max, MPIWC_PHASES, MPI_DOUBLE, MPI_MAX, 0, comm);
    MPI_Reduce(own, s->sum, MPIWC_PHASES, MPI_DOUBLE, MPI_SUM, 0, comm);
    MPI_Reduce(rep->step, s->smin, MPIWC_STEPS, MPI_DOUBLE, MPI_MIN, 0, comm);
    MPI_Reduce(rep->step, s->smax, MPIWC_STEPS, MPI_DOUBLE, MPI_MAX, 0, comm);
    MPI_Reduce(rep->step, s->ssum, MPIWC_STEPS, MPI_DOUBLE, MPI_SUM, 0, comm);
    MPI_Reduce(rep->counter, s->csum, MPIWC_COUNTERS, MPI_UINT64_T, MPI_SUM, 0, comm);
    MPI_Reduce(rep->counter, s->cmin, MPIWC_COUNTERS, MPI_UINT64_T, MPI_MIN, 0, comm);
    MPI_Reduce(rep->counter, s->cmax, MPIWC_COUNTERS, MPI_UINT64_T, MPI_MAX, 0, comm);
    s->per_rank =
        rank == 0
            ? mpiwc_xmalloc(mpiwc_mul_size((size_t)s->nranks, MPIWC_COUNTERS * sizeof *s->per_rank))
            : NULL;
    MPI_Gather(rep->counter, MPIWC_COUNTERS, MPI_UINT64_T, s->per_rank, MPIWC_COUNTERS,
               MPI_UINT64_T, 0, comm);
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    int len;
    MPI_Get_processor_name(name, &len);
    s->hosts = rank == 0 ? mpiwc_xcalloc((size_t)s->nranks, MPI_MAX_PROCESSOR_NAME) : NULL;
    MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, s->hosts, MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
               0, comm);
}

static double wall(const struct summary *s, int p)
{
    double w = s->last_stop[p] - s->first_start[p];
    return w > 0 ? w : 0;
}

static double total_wall(const struct summary *s)
{
    double w = s->last_stop[MPIWC_PHASES - 1] - s->first_start[0];
    return w > 0 ? w : 0;
}

/* Distinct host names in rank order; returns how many, names point into s->hosts. */
static int distinct_hosts(const struct summary *s, const char **names)
{
    int n = 0;
    for (int r = 0; r < s->nranks; r++) {
        const char *h = s->hosts + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        int seen = 0;
        for (int k = 0; k < n && !seen; k++)
            seen = strcmp(names[k], h) == 0;
        if (!seen)
            names[n++] = h;
    }
    return n;
}

static void print_text(const struct summary *s, bool first_line_only, FILE *err)
{
    const char **names = mpiwc_xmalloc(mpiwc_mul_size((size_t)s->nranks, sizeof *names));
    int nhosts = distinct_hosts(s, names);
    free(names);
    double t = total_wall(s);
    fprintf(err,
            "mpiwc: %d rank%s on %d host%s: %" PRIu64 " bytes, %" PRIu64 " words, %" PRIu64
            " distinct, %.3f s, %.1f MB/s\n",
            s->nranks, s->nranks == 1 ? "" : "s", nhosts, nhosts == 1 ? "" : "s",
            s->csum[MPIWC_COUNT_BYTES], s->csum[MPIWC_COUNT_WORDS],
            s->csum[MPIWC_COUNT_OWNED_DISTINCT], t,
            t > 0 ? (double)s->csum[MPIWC_COUNT_BYTES] / t / 1e6 : 0.0);
    if (first_line_only)
        return;
    fprintf(err, "%-8s %10s %10s %10s %10s\n", "phase", "wall_s", "min_s", "avg_s", "max_s");
    for (int p = 0; p < MPIWC_PHASES; p++)
        fprintf(err, "%-8s %10.4f %10.4f %10.4f %10.4f\n", phase_names[p], wall(s, p), s->min[p],
                s->sum[p] / s->nranks, s->max[p]);
    fprintf(err, "%-8s %10s %10s %10s %10s\n", "step", "", "min_s", "avg_s", "max_s");
    for (int k = 0; k < MPIWC_STEPS; k++)
        fprintf(err, "%-8s %10s %10.4f %10.4f %10.4f\n", step_names[k], "", s->smin[k],
                s->ssum[k] / s->nranks, s->smax[k]);
    /* Columns as wide as the longest name and the widest sum (at least 14 digits). */
    int name = (int)strlen("counter"), num = 14;
    for (int c = 0; c < MPIWC_COUNTERS; c++) {
        int n = (int)strlen(counter_names[c]), d = snprintf(NULL, 0, "%" PRIu64, s->csum[c]);
        name = n > name ? n : name;
        num = d > num ? d : num;
    }
    fprintf(err, "%-*s  %*s  %*s  %*s\n", name, "counter", num, "sum", num, "min/rank", num,
            "max/rank");
    for (int c = 0; c < MPIWC_COUNTERS; c++)
        fprintf(err, "%-*s  %*" PRIu64 "  %*" PRIu64 "  %*" PRIu64 "\n", name, counter_names[c],
                num, s->csum[c], num, s->cmin[c], num, s->cmax[c]);
}

static void json_str(FILE *f, const char *s)
{
    mpiwc_format_json_string(f, (const uint8_t *)s, strlen(s));
}

static int write_json(const struct summary *s, const struct mpiwc_options *opts, FILE *f)
{
    double t = total_wall(s);
    fprintf(f, "{\n  \"version\": \"%s\",\n  \"argv\": [", MPIWC_VERSION);
    for (int i = 0; i < opts->argc; i++) {
        fputs(i ? ", " : "", f);
        json_str(f, opts->argv[i]);
    }
    fprintf(f,
            "],\n  \"ngram\": [%u, %u],\n  \"shuffle\": \"%s\",\n  \"shuffle_hosts\": %d,\n"
            "  \"ranks\": %d,\n  \"hosts\": [",
            opts->ngram_min, opts->ngram_max, s->shuffle_hosts ? "node" : "flat", s->shuffle_hosts,
            s->nranks);
    const char **names = mpiwc_xmalloc(mpiwc_mul_size((size_t)s->nranks, sizeof *names));
    int nhosts = distinct_hosts(s, names);
    for (int i = 0; i < nhosts; i++) {
        fputs(i ? ", " : "", f);
        json_str(f, names[i]);
    }
    free(names);
    fprintf(f, "],\n  \"rank_hosts\": [");
    for (int r = 0; r < s->nranks; r++) {
        fputs(r ? ", " : "", f);
        json_str(f, s->hosts + (size_t)r * MPI_MAX_PROCESSOR_NAME);
    }
    fprintf(f, "],\n  \"wall_s\": %.6f,\n  \"throughput_mb_s\": %.3f,\n  \"phases\": {", t,
            t > 0 ? (double)s->csum[MPIWC_COUNT_BYTES] / t / 1e6 : 0.0);
    for (int p = 0; p < MPIWC_PHASES; p++)
        fprintf(f,
                "%s\n    \"%s\": {\"wall_s\": %.6f, \"min_s\": %.6f, \"avg_s\": %.6f, "
                "\"max_s\": %.6f}",
                p ? "," : "", phase_names[p], wall(s, p), s->min[p], s->sum[p] / s->nranks,
                s->max[p]);
    fputs("\n  },\n  \"steps\": {", f);
    for (int k = 0; k < MPIWC_STEPS; k++)
        fprintf(f, "%s\n    \"%s\": {\"min_s\": %.6f, \"avg_s\": %.6f, \"max_s\": %.6f}",
                k ? "," : "", step_names[k], s->smin[k], s->ssum[k] / s->nranks, s->smax[k]);
    fputs("\n  },\n  \"counters\": {", f);
    for (int c = 0; c < MPIWC_COUNTERS; c++) {
        fprintf(f,
                "%s\n    \"%s\": {\"sum\": %" PRIu64 ", \"min\": %" PRIu64 ", \"max\": %" PRIu64
                ", \"ranks\": [",
                c ? "," : "", counter_names[c], s->csum[c], s->cmin[c], s->cmax[c]);
        for (int r = 0; r < s->nranks; r++)
            fprintf(f, "%s%" PRIu64, r ? ", " : "", s->per_rank[(size_t)r * MPIWC_COUNTERS + c]);
        fputs("]}", f);
    }
    fputs("\n  }\n}\n", f);
    return fflush(f) != 0 || ferror(f) ? -1 : 0;
}

struct json_fill {
    const struct summary *s;
    const struct mpiwc_options *opts;
};

static int fill_json(FILE *f, void *arg)
{
    const struct json_fill *j = arg;
    return write_json(j->s, j->opts, f);
}

int mpiwc_report_finish(const struct mpiwc_report *rep, const struct mpiwc_options *opts,
                        bool summary_line, MPI_Comm comm, FILE *out, FILE *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    struct summary s;
    memset(&s, 0, sizeof s);
    reduce(rep, comm, &s);
    int rc = 0;
    if (rank == 0) {
        if (opts->stats || summary_line)
            print_text(&s, !opts->stats, err);
        if (opts->report && strcmp(opts->report, "-") == 0) {
            errno = 0; /* the failing write's errno, or none: EIO */
            if (write_json(&s, opts, out) != 0) {
                fprintf(err, "mpiwc: standard output: %s\n", strerror(errno ? errno : EIO));
                rc = -1;
            }
        } else if (opts->report) {
            /* As -o: a temporary name and a rename, never a half report. */
            struct json_fill j = {&s, opts};
            char msg[MPIWC_ERRLEN];
            rc = mpiwc_output_file(opts->report, fill_json, &j, msg, sizeof msg);
            if (rc != 0)
                mpiwc_say(err, "", msg);
        }
        free(s.hosts);
        free(s.per_rank);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    return rc;
}

/*
 * api.c: the library's calls (mpiwc.h) over the job's steps (job_internal.h).
 * Options go through the command's own parser, so a library option means
 * what the command's does; messages a job prints are caught in memory and
 * agreed on, so that every rank returns the same one.
 */
#include "mpiwc.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_internal.h"
#include "mpiwc/checkpoint.h"
#include "mpiwc/job.h"
#include "mpiwc/launch.h"
#include "mpiwc/output.h"
#include "mpiwc/record.h"
#include "mpiwc/rows.h"
#include "mpiwc_config.h"

_Static_assert((int)MPIWC_OK == (int)MPIWC_EXIT_OK &&
                   (int)MPIWC_FAILED == (int)MPIWC_EXIT_FAILURE &&
                   (int)MPIWC_BAD_OPTION == (int)MPIWC_EXIT_USAGE &&
                   (int)MPIWC_STOPPED == (int)MPIWC_EXIT_STOPPED,
               "the library's statuses are the command's exit statuses");

struct mpiwc_opts {
    char **args; /* owned: "--name=value" or "--name", in the order set */
    size_t n, cap;
    char err[MPIWC_ERRLEN];
};

struct mpiwc_result {
    int status;
    char err[MPIWC_ERRLEN];
    char **argv; /* owned: the command line opts points into (parse) */
    struct mpiwc_options opts;
    bool job_started; /* job holds the owned words (or what is left of them) */
    struct job job;
    bool read; /* the words were read (next, gather or write) */
    bool open; /* res is open */
    struct mpiwc_spill_result res;
    uint64_t words; /* every rank's, summed */
    uint64_t given; /* rows given by next */
    bool gathered;  /* next reads rows[] instead */
    struct mpiwc_word *rows;
    size_t nrows;
    uint8_t *bytes; /* owned: what rows[] borrow */
};

/* Options that only the command has: its inputs' lists, its targets, what it prints. */
static const char *const command_only[] = {"output",
                                           "output-dir",
                                           "files-from",
                                           "null",
                                           "stats",
                                           "report",
                                           "progress",
                                           "verbose",
                                           "quiet",
                                           "dry-run",
                                           "help",
                                           "version",
                                           "checkpoint-dir",
                                           "checkpoint-interval",
                                           "keep-checkpoints"};

const char *mpiwc_version(void)
{
    return MPIWC_VERSION;
}

mpiwc_opts *mpiwc_opts_new(void)
{
    return calloc(1, sizeof(struct mpiwc_opts));
}

void mpiwc_opts_free(mpiwc_opts *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        free(o->args[i]);
    free(o->args);
    free(o);
}

const char *mpiwc_opts_error(const mpiwc_opts *o)
{
    return o->err;
}

/* The first line of a usage error (the command's hint line after it dropped). */
static void first_line(char *dst, size_t len, const char *text)
{
    size_t n = strcspn(text, "\n");
    snprintf(dst, len, "%.*s", (int)(n < len ? n : len - 1), text);
}

/* The last line of text that is not empty. */
static void last_line(char *dst, size_t len, const char *text)
{
    size_t end = strlen(text);
    while (end > 0 && text[end - 1] == '\n')
        end--;
    size_t start = end;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    size_t n = end - start;
    snprintf(dst, len, "%.*s", (int)(n < len ? n : len - 1), text + start);
}

/* Free a command line made by parse(). */
static void free_argv(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/*
 * Parse "mpiwc ARGS... -- PATHS..." into *opts, as the command does (none of
 * the paths taken for an option); *argv (free_argv) holds copies of the
 * strings opts points into, so that opts outlives o and paths. Returns
 * MPIWC_OK, or MPIWC_BAD_OPTION with the message in err.
 */
static int parse(const mpiwc_opts *o, const char *const *paths, size_t npaths,
                 struct mpiwc_options *opts, char ***argv, char *err, size_t errlen)
{
    size_t nargs = o ? o->n : 0, argc = 2 + nargs + (npaths ? npaths : 1);
    char **v = mpiwc_xmalloc(mpiwc_mul_size(argc + 1, sizeof *v));
    size_t k = 0;
    v[k++] = mpiwc_xstrdup("mpiwc");
    for (size_t i = 0; i < nargs; i++)
        v[k++] = mpiwc_xstrdup(o->args[i]);
    v[k++] = mpiwc_xstrdup("--"); /* getopt takes nothing after it for an option */
    for (size_t i = 0; i < npaths; i++)
        v[k++] = mpiwc_xstrdup(paths[i]);
    if (!npaths)
        v[k++] = mpiwc_xstrdup("-"); /* a rank other than 0 may pass none: rank 0's are the job's */
    v[k] = NULL;
    *argv = v;
    char *text = NULL;
    size_t textlen = 0;
    FILE *f = open_memstream(&text, &textlen);
    if (!f)
        mpiwc_out_of_memory(1, 0);
    enum mpiwc_cli_result rc = mpiwc_cli_parse((int)k, v, opts, NULL, f);
    fclose(f);
    int status = MPIWC_OK;
    if (rc != MPIWC_CLI_RUN) {
        first_line(err, errlen, text && *text ? text : "mpiwc: invalid options");
        status = MPIWC_BAD_OPTION;
    }
    free(text);
    return status;
}

int mpiwc_opts_set(mpiwc_opts *o, const char *name, const char *value)
{
    o->err[0] = '\0';
    if (!name || !*name || name[0] == '-' || strchr(name, '=')) {
        snprintf(o->err, sizeof o->err,
                 "mpiwc: option name '%s': give the long name without dashes",
                 name ? name : "(null)");
        return MPIWC_BAD_OPTION;
    }
    for (size_t i = 0; i < sizeof command_only / sizeof *command_only; i++)
        if (strcmp(name, command_only[i]) == 0) {
            snprintf(o->err, sizeof o->err,
                     "mpiwc: option '--%s' is the command's: the library does not take it", name);
            return MPIWC_BAD_OPTION;
        }
    size_t len = 2 + strlen(name) + (value ? 1 + strlen(value) : 0) + 1;
    char *arg = mpiwc_xmalloc(len);
    o->args = mpiwc_grow(o->args, &o->cap, o->n + 1, sizeof *o->args);
    snprintf(arg, len, value ? "--%s=%s" : "--%s", name, value ? value : "");
    o->args[o->n++] = arg;
    /* Check it now, with the options set before it. */
    struct mpiwc_options opts;
    char **argv = NULL;
    int status = parse(o, NULL, 0, &opts, &argv, o->err, sizeof o->err);
    free_argv(argv);
    if (status != MPIWC_OK)
        free(o->args[--o->n]);
    return status;
}

/* The communicator a fatal error aborts (out of memory inside a library call). */
static MPI_Comm fatal_comm = MPI_COMM_NULL;

static void abort_call(void)
{
    mpiwc_output_on_signal();
    mpiwc_spill_on_signal();
    MPI_Abort(fatal_comm, MPIWC_EXIT_FAILURE);
}

/*
 * Run step(j) with the job's messages caught in memory. A failure's message
 * (each rank's last line, agreed on: the first failing rank's) goes to
 * r->err; after a success what was caught (a warning) goes to standard error.
 */
static int caught(mpiwc_result *r, int (*step)(struct job *j))
{
    char *text = NULL;
    size_t textlen = 0;
    FILE *f = open_memstream(&text, &textlen);
    if (!f)
        mpiwc_out_of_memory(1, 0);
    r->job.err = f;
    fatal_comm = r->job.comm;
    mpiwc_set_fatal_handler(abort_call);
    int status = step(&r->job);
    mpiwc_set_fatal_handler(NULL);
    fclose(f);
    r->job.err = stderr;
    char msg[MPIWC_ERRLEN] = "";
    if (status != MPIWC_OK && text)
        last_line(msg, sizeof msg, text); /* the rank that saw the failure printed it */
    else if (text && *text)
        fputs(text, stderr);
    free(text);
    mpiwc_job_agree_msg(msg, sizeof msg, r->job.comm);
    if (status != MPIWC_OK) /* the status is agreed already; the message, only now */
        snprintf(r->err, sizeof r->err, "%s", msg[0] ? msg : "mpiwc: the job failed");
    return status;
}

int mpiwc_count(MPI_Comm comm, const char *const *paths, size_t npaths, const mpiwc_opts *o,
                mpiwc_result **result)
{
    mpiwc_result *r = mpiwc_xmalloc(sizeof *r);
    memset(r, 0, sizeof *r);
    *result = r;
    parse(o, paths, npaths, &r->opts, &r->argv, r->err, sizeof r->err); /* message on failure */
    if (mpiwc_job_agree_msg(r->err, sizeof r->err, comm) != 0)
        return r->status = MPIWC_BAD_OPTION;
    mpiwc_job_init(&r->job, &r->opts, comm, stdout, stderr);
    r->job_started = true;
    r->status = caught(r, mpiwc_job_count);
    if (r->status == MPIWC_OK)
        MPI_Allreduce(&r->job.rep.counter[MPIWC_COUNT_WORDS], &r->words, 1, MPI_UINT64_T, MPI_SUM,
                      comm);
    return r->status;
}

const char *mpiwc_result_error(const mpiwc_result *r)
{
    return r->err;
}

uint64_t mpiwc_result_words(const mpiwc_result *r)
{
    return r->words;
}

/* Local. Start reading this rank's words: 0, or -1 with the message in r->err. */
static int open_words(mpiwc_result *r)
{
    if (r->status != MPIWC_OK)
        return -1;
    if (r->read) {
        snprintf(r->err, sizeof r->err, "mpiwc: the words were read already");
        return -1;
    }
    r->read = true;
    if (mpiwc_spill_result_open(&r->job.spill, &r->job.owned, r->opts.sort, r->opts.top, &r->res) !=
        0) {
        snprintf(r->err, sizeof r->err, "mpiwc: %.4000s", r->job.spill.msg);
        return -1;
    }
    r->open = true;
    return 0;
}

/* Local. This rank's next word, read from its table and spill: 1, 0, or -1 (message in r->err). */
static int next_row(mpiwc_result *r, struct mpiwc_word *w)
{
    if (r->opts.top && r->given >= r->opts.top)
        return 0;
    char why[MPIWC_ERRLEN - 64];
    int rc = mpiwc_rows_next(r->res.rows, w, why, sizeof why);
    if (rc < 0)
        snprintf(r->err, sizeof r->err, "mpiwc: %s", why);
    r->given += rc > 0;
    return rc;
}

int mpiwc_result_next(mpiwc_result *r, const char **word, size_t *len, uint64_t *count)
{
    struct mpiwc_word w;
    int rc;
    if (r->gathered) {
        if (r->given >= r->nrows)
            return 0;
        w = r->rows[r->given++];
        rc = 1;
    } else {
        if (!r->open && open_words(r) != 0)
            return -1;
        rc = next_row(r, &w);
    }
    if (rc > 0) {
        *word = (const char *)w.key;
        *len = w.len;
        *count = w.count;
    }
    return rc;
}

/* Local. Pack this rank's words as records into *buf (*len bytes): 0, or -1 with msg. */
static int pack_words(mpiwc_result *r, uint8_t **buf, size_t *len, char *msg, size_t msglen)
{
    size_t cap = 0, at = 0;
    *buf = NULL;
    if (open_words(r) != 0) {
        snprintf(msg, msglen, "%s", r->err);
        return -1;
    }
    struct mpiwc_word w;
    int rc;
    while ((rc = next_row(r, &w)) > 0) {
        *buf = mpiwc_grow(*buf, &cap, at + mpiwc_record_size(w.len, w.count), 1);
        at = (size_t)(mpiwc_record_put(*buf + at, w.key, w.len, w.count) - *buf);
    }
    *len = at;
    if (rc < 0)
        snprintf(msg, msglen, "%s", r->err);
    return rc;
}

/* Root. Merge the ranks' records (in bytes, rank k's at displs[k], lens[k] long) into r->rows. */
static void merge_words(mpiwc_result *r, const int *lens, const int *displs, int nranks)
{
    struct mpiwc_rows_array *arr = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *arr));
    struct mpiwc_rows **in = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *in));
    struct mpiwc_word **words = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *words));
    size_t total = 0;
    for (int k = 0; k < nranks; k++) {
        const uint8_t *pos = r->bytes + displs[k], *end = pos + lens[k], *key;
        size_t n = 0, cap = 0;
        uint32_t klen;
        uint64_t count;
        words[k] = NULL;
        while (mpiwc_record_next(&pos, end, &key, &klen, &count) == MPIWC_RECORD_OK) {
            words[k] = mpiwc_grow(words[k], &cap, n + 1, sizeof *words[k]);
            words[k][n++] = (struct mpiwc_word){key, klen, count};
        }
        mpiwc_rows_array_init(&arr[k], words[k], n);
        in[k] = &arr[k].rows;
        total += n;
    }
    struct mpiwc_rows_merge m;
    mpiwc_rows_merge_init(&m, in, (size_t)nranks, r->opts.sort, false);
    if (r->opts.top && total > r->opts.top)
        total = (size_t)r->opts.top;
    r->rows = mpiwc_xmalloc(mpiwc_mul_size(total ? total : 1, sizeof *r->rows));
    char why[MPIWC_ERRLEN];
    struct mpiwc_word w;
    while (r->nrows < total && mpiwc_rows_next(&m.rows, &w, why, sizeof why) > 0)
        r->rows[r->nrows++] = w; /* keys borrowed from r->bytes */
    mpiwc_rows_merge_free(&m);
    for (int k = 0; k < nranks; k++)
        free(words[k]);
    free(words);
    free(in);
    free(arr);
}

int mpiwc_result_gather(mpiwc_result *r, int root)
{
    if (r->status != MPIWC_OK)
        return r->status; /* the same on every rank */
    MPI_Comm comm = r->job.comm;
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    char msg[MPIWC_ERRLEN] = "";
    uint8_t *buf = NULL;
    size_t len = 0;
    if (root < 0 || root >= nranks)
        snprintf(msg, sizeof msg, "mpiwc: gather: root %d is not a rank of the communicator", root);
    else if (pack_words(r, &buf, &len, msg, sizeof msg) == 0 && len > INT_MAX)
        snprintf(msg, sizeof msg, "mpiwc: gather: more than 2 GiB of words on rank %d", rank);
    int ilen = msg[0] ? 0 : (int)len;
    int *lens = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *lens));
    MPI_Allgather(&ilen, 1, MPI_INT, lens, 1, MPI_INT, comm);
    uint64_t total = 0;
    for (int k = 0; k < nranks; k++)
        total += (uint64_t)lens[k];
    if (!msg[0] && total > INT_MAX)
        snprintf(msg, sizeof msg, "mpiwc: gather: more than 2 GiB of words for the root");
    if (mpiwc_job_agree_msg(msg, sizeof msg, comm) != 0) {
        free(buf);
        free(lens);
        memcpy(r->err, msg, sizeof msg);
        return r->status = MPIWC_FAILED;
    }
    int *displs = NULL;
    if (rank == root) {
        displs = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *displs));
        for (int k = 0, at = 0; k < nranks; at += lens[k], k++)
            displs[k] = at;
        r->bytes = mpiwc_xmalloc(total ? (size_t)total : 1);
    }
    MPI_Gatherv(buf, ilen, MPI_BYTE, r->bytes, lens, displs, MPI_BYTE, root, comm);
    free(buf);
    if (rank == root)
        merge_words(r, lens, displs, nranks);
    free(lens);
    free(displs);
    mpiwc_spill_result_close(&r->res);
    r->open = false;
    r->gathered = true;
    r->given = 0;
    return MPIWC_OK;
}

int mpiwc_result_write(mpiwc_result *r, const char *path)
{
    if (r->status != MPIWC_OK)
        return r->status;
    char msg[MPIWC_ERRLEN] = "";
    if (r->read)
        snprintf(msg, sizeof msg, "mpiwc: the words were read already");
    if (mpiwc_job_agree_msg(msg, sizeof msg, r->job.comm) != 0) {
        memcpy(r->err, msg, sizeof msg);
        return r->status = MPIWC_FAILED;
    }
    r->read = true;
    r->job.output = path && strcmp(path, "-") != 0 ? path : NULL;
    r->job.out = stdout;
    return r->status = caught(r, mpiwc_job_output);
}

void mpiwc_result_free(mpiwc_result *r)
{
    if (!r)
        return;
    if (r->open)
        mpiwc_spill_result_close(&r->res);
    if (r->job_started)
        mpiwc_job_free(&r->job);
    free_argv(r->argv);
    free(r->rows);
    free(r->bytes);
    free(r);
}

/* ---- the command ---- */

/*
 * One rank of several waits this long after its cleanup before it dies of a
 * signal. mpirun passes ^C or its own SIGTERM on to the ranks as SIGTERM, and
 * sends SIGKILL to all the others the moment the first one has died (Open MPI
 * 4.1: 0.1 ms later). A rank that got its SIGTERM a few milliseconds after
 * another, or had more runs to remove, was killed with its spill directory
 * half removed: 2 of 6 ^C to a spilling job at np 2 and 3 left one behind
 * (tests/mpi/spill.py). mpirun's own SIGKILL comes 1 s after its SIGTERM
 * (odls_base_sigkill_timeout), so the wait costs nothing there; Slurm waits
 * KillWait (30 s by default).
 */
#define SIGNAL_LINGER_NS 250000000L
static volatile sig_atomic_t linger_on_signal;

/* SIGTERM (Slurm's time limit, mpirun passing on ^C), SIGINT, SIGHUP: leave no
 * temporary output or spill files behind, then die of the signal as before. */
static void on_signal(int sig)
{
    int saved = errno;
    mpiwc_output_on_signal();
    mpiwc_spill_on_signal();
    if (linger_on_signal) {
        struct timespec left = {0, SIGNAL_LINGER_NS};
        while (nanosleep(&left, &left) != 0 && errno == EINTR)
            ;
    }
    errno = saved;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* --checkpoint-dir: SIGUSR1 and SIGTERM ask for a checkpoint, then a stop (exit 3).
 * After the map there is nothing to checkpoint: SIGTERM ends the process as
 * without checkpoints, and SIGUSR1 is ignored (the job is finishing). */
static void on_stop_signal(int sig)
{
    if (!mpiwc_ckpt_request_stop() && sig == SIGTERM)
        on_signal(sig);
}

int mpiwc_command(MPI_Comm comm, int argc, char **argv)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    linger_on_signal = size > 1;
    static const int signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    struct sigaction old[4], sa;
    for (int i = 0; i < 4; i++)
        sigaction(signals[i], NULL, &old[i]);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    struct mpiwc_options opts;
    int status;
    switch (
        mpiwc_cli_parse(argc, argv, &opts, rank == 0 ? stdout : NULL, rank == 0 ? stderr : NULL)) {
    case MPIWC_CLI_RUN:
        if (opts.checkpoint_dir) {
            sa.sa_handler = on_stop_signal;
            sa.sa_flags = SA_RESTART;
            sigaction(SIGTERM, &sa, NULL);
            sigaction(SIGUSR1, &sa, NULL);
        }
        fatal_comm = comm;
        mpiwc_set_fatal_handler(abort_call);
        status = mpiwc_run(&opts, comm, stdout, stderr);
        mpiwc_set_fatal_handler(NULL);
        break;
    case MPIWC_CLI_EXIT:
        status = MPIWC_EXIT_OK;
        break;
    case MPIWC_CLI_USAGE:
    default:
        status = MPIWC_EXIT_USAGE;
        break;
    }
    fflush(stdout);
    for (int i = 0; i < 4; i++)
        sigaction(signals[i], &old[i], NULL);
    return status;
}

int mpiwc_main(int argc, char **argv)
{
    /* mpirun gives a rank a pseudo-terminal as standard output, which stdio
     * would flush at every newline: one write, and one trip through mpirun's
     * forwarding, per row of the table. Flush in 64 KiB blocks instead. */
    setvbuf(stdout, NULL, _IOFBF, (size_t)1 << 16);
    /* --help and --version need no MPI: answered at once (MPI_Init costs
     * 0.1-0.3 s) and where MPI cannot start at all, such as a login node.
     * The parser writes to out only for them; under a launcher, rank 0
     * prints. Anything else is parsed again after MPI_Init, as before. */
    struct mpiwc_options opts;
    if (mpiwc_cli_parse(argc, argv, &opts, mpiwc_launch_rank() == 0 ? stdout : NULL, NULL) ==
        MPIWC_CLI_EXIT) {
        fflush(stdout);
        return MPIWC_EXIT_OK;
    }
    mpiwc_launch_prepare();
    MPI_Init(&argc, &argv);
    int rank, hostlen;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char host[MPI_MAX_PROCESSOR_NAME] = "?";
    MPI_Get_processor_name(host, &hostlen);
    mpiwc_set_origin(rank, host);
    int status = mpiwc_command(MPI_COMM_WORLD, argc, argv);
    MPI_Finalize();
    return status;
}

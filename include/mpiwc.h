/*
 * libmpiwc: mpiwc's word counting from a C program, over any MPI
 * communicator. The one installed header (pkg-config --cflags --libs mpiwc).
 *
 *     mpiwc_opts *o = mpiwc_opts_new();
 *     mpiwc_opts_set(o, "split", "space");       // any option of the command by its long name
 *     mpiwc_result *r;
 *     if (mpiwc_count(MPI_COMM_WORLD, paths, npaths, o, &r) != MPIWC_OK)
 *         fprintf(stderr, "%s\n", mpiwc_result_error(r));   // the same on every rank
 *     else if (mpiwc_result_gather(r, 0) == MPIWC_OK)        // or read each rank's own words
 *         while (mpiwc_result_next(r, &word, &len, &count) > 0)
 *             ...;                                           // rank 0: every word, in order
 *     mpiwc_result_free(r);
 *     mpiwc_opts_free(o);
 *
 * The words, their keys and the order are the command's (mpiwc(1)): the
 * output never depends on the number of ranks. Collective calls must be made
 * by every rank of the communicator, in the same order, and return the same
 * status on every rank: when one rank fails, all of them return the failure
 * with the same message, and none waits. No call exits the process or calls
 * MPI_Abort, with one exception shared with the command: running out of
 * memory, which aborts the job (set --memory-limit to bound the tables; past
 * it the words spill to disk). The library installs no signal handler,
 * except mpiwc_command(), which is the command.
 *
 * Thread safety: MPI_THREAD_SERIALIZED at least; one call at a time per
 * process.
 */
#ifndef MPIWC_H
#define MPIWC_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Statuses: the command's exit statuses. */
enum {
    MPIWC_OK = 0,         /* done */
    MPIWC_FAILED = 1,     /* an input, a disk or a write failed: see the message */
    MPIWC_BAD_OPTION = 2, /* an option or its value is wrong: see the message */
    MPIWC_STOPPED = 3     /* mpiwc_command() only: a checkpoint was written and the run stopped */
};

typedef struct mpiwc_opts mpiwc_opts;
typedef struct mpiwc_result mpiwc_result;

/* Local. The library's version, "MAJOR.MINOR.PATCH". */
const char *mpiwc_version(void);

/* Local. Options with the command's defaults; NULL when out of memory. */
mpiwc_opts *mpiwc_opts_new(void);

/*
 * Local. Set one option by the command's long name without its dashes
 * ("split", "case", "top", "sort", "memory-limit", "ngram", "stopwords",
 * ...), with value as the command takes it, or NULL for an option without
 * one ("ignore-numbers"). Checked at once, as the command checks it. Options
 * that only make sense for the command are refused: input lists
 * (files-from), output targets (output, output-dir), what it prints (stats,
 * report, progress, verbose, quiet, dry-run, help, version) and checkpoints.
 * Returns MPIWC_OK, or MPIWC_BAD_OPTION with the reason in mpiwc_opts_error()
 * and the options as they were.
 */
int mpiwc_opts_set(mpiwc_opts *o, const char *name, const char *value);

/* Local. The last mpiwc_opts_set() failure ("" when none); valid until the next call on o. */
const char *mpiwc_opts_error(const mpiwc_opts *o);

/* Local. NULL is allowed. */
void mpiwc_opts_free(mpiwc_opts *o);

/*
 * Collective over comm. Count the words of paths (files, directories walked
 * for their files, "-" for rank 0's standard input), as `mpiwc PATH...`
 * would with the options o (NULL: the defaults). Rank 0's paths are the
 * job's; the other ranks may pass none. Returns MPIWC_OK, MPIWC_FAILED or
 * MPIWC_BAD_OPTION, the same on every rank; *result is set on every rank
 * (NULL only when out of memory) and holds this rank's owned words, or the
 * message. Free it with mpiwc_result_free() in every case.
 */
int mpiwc_count(MPI_Comm comm, const char *const *paths, size_t npaths, const mpiwc_opts *o,
                mpiwc_result **result);

/* Local. The failure's message, the same on every rank ("" when none). */
const char *mpiwc_result_error(const mpiwc_result *r);

/* Local. The words counted by every rank together (after the filters). */
uint64_t mpiwc_result_words(const mpiwc_result *r);

/*
 * Local. The next of this rank's words, in the options' order ("sort":
 * count, the default, or word) and at most "top" of them; after
 * mpiwc_result_gather(), the root's words are every rank's. *word (not
 * NUL-terminated: *len bytes of UTF-8) is valid until the next call.
 * Returns 1, 0 at the end, or -1 with the message in mpiwc_result_error()
 * (a spill file that reads back short or corrupt).
 *
 * The words are read once, by this, mpiwc_result_gather() or
 * mpiwc_result_write(): they stream from the table and the spill files.
 */
int mpiwc_result_next(mpiwc_result *r, const char **word, size_t *len, uint64_t *count);

/*
 * Collective. Bring every rank's words to root, merged in the options' order
 * (and the first "top" of them), for mpiwc_result_next() to read there; the
 * other ranks have none left. Returns MPIWC_OK or MPIWC_FAILED, the same on
 * every rank. The root holds the whole table in memory: more than 2 GiB of
 * words from one rank fails.
 */
int mpiwc_result_gather(mpiwc_result *r, int root);

/*
 * Collective. Write the table as the command writes it: in the options'
 * "format", "sort" and "top", to the file path (replaced whole, or left as
 * it was on failure; "-" or NULL: standard output) through comm's rank 0.
 * Returns MPIWC_OK or MPIWC_FAILED, the same on every rank.
 */
int mpiwc_result_write(mpiwc_result *r, const char *path);

/*
 * Collective (it frees the communicators the count made), NULL allowed on
 * every rank. Removes the result's spill files.
 */
void mpiwc_result_free(mpiwc_result *r);

/*
 * Collective over comm. The mpiwc command, run in this process: argv as its
 * command line (argv[0] its name), its output on standard output and its
 * messages on standard error through rank 0, and its exit status returned
 * instead of exiting. While it runs, SIGTERM, SIGINT and SIGHUP remove its
 * temporary files and end the process as the command does, and with
 * --checkpoint-dir SIGTERM and SIGUSR1 ask for a checkpoint; the handlers
 * are put back on return.
 */
int mpiwc_command(MPI_Comm comm, int argc, char **argv);

/*
 * Not collective: the whole program. MPI_Init, mpiwc_command() over
 * MPI_COMM_WORLD, MPI_Finalize; returns the exit status. The mpiwc program
 * is this one call.
 */
int mpiwc_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif

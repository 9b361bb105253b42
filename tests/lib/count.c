/*
 * count: a client of the installed library, built by lib.sh with nothing but
 * <mpiwc.h> and `pkg-config --cflags --libs mpiwc`.
 *
 *   count MODE OUT [NAME=VALUE | NAME]... -- PATH...
 *
 * MODE gather: rank nranks - 1 gathers and writes every word to OUT as
 * "word<TAB>count" lines; local: each rank writes its own words to OUT.RANK,
 * and rank 0 the number of words counted to OUT.words;
 * write: mpiwc_result_write(OUT); error: every rank writes "status<TAB>message"
 * to OUT.RANK, whatever the status. Exits with the status (error: 0).
 */
#include <mpi.h>
#include <mpiwc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *open_out(const char *out, int rank, int ranked)
{
    char path[4096];
    snprintf(path, sizeof path, ranked ? "%s.%d" : "%s", out, rank);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        MPI_Abort(MPI_COMM_WORLD, 9);
    }
    return f;
}

static int dump(mpiwc_result *r, FILE *f)
{
    const char *word;
    size_t len;
    uint64_t count;
    int rc;
    while ((rc = mpiwc_result_next(r, &word, &len, &count)) > 0)
        fprintf(f, "%.*s\t%llu\n", (int)len, word, (unsigned long long)count);
    return rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (argc < 4) {
        fprintf(stderr, "usage: count MODE OUT [NAME=VALUE]... -- PATH...\n");
        MPI_Finalize();
        return 2;
    }
    const char *mode = argv[1], *out = argv[2];
    mpiwc_opts *o = mpiwc_opts_new();
    int i = 3, status = MPIWC_OK;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq)
            *eq = '\0';
        if (mpiwc_opts_set(o, argv[i], eq ? eq + 1 : NULL) != MPIWC_OK) {
            if (strcmp(mode, "error") != 0) {
                fprintf(stderr, "%s\n", mpiwc_opts_error(o));
                MPI_Abort(MPI_COMM_WORLD, 9);
            }
            FILE *f = open_out(out, rank, 1);
            fprintf(f, "%d\t%s\n", MPIWC_BAD_OPTION, mpiwc_opts_error(o));
            fclose(f);
            mpiwc_opts_free(o);
            MPI_Finalize();
            return 0;
        }
    }
    i += i < argc; /* the "--" */
    mpiwc_result *r;
    status = mpiwc_count(MPI_COMM_WORLD, (const char *const *)argv + i, (size_t)(argc - i), o, &r);
    if (strcmp(mode, "error") == 0) {
        FILE *f = open_out(out, rank, 1);
        fprintf(f, "%d\t%s\n", status, mpiwc_result_error(r));
        fclose(f);
        status = MPIWC_OK;
    } else if (status != MPIWC_OK) {
        if (rank == 0)
            fprintf(stderr, "%s\n", mpiwc_result_error(r));
    } else if (strcmp(mode, "gather") == 0) {
        int root = nranks - 1;
        status = mpiwc_result_gather(r, root);
        if (status == MPIWC_OK) {
            FILE *f = rank == root ? open_out(out, rank, 0) : NULL;
            const char *word;
            size_t len;
            uint64_t count;
            if (f)
                dump(r, f);
            else if (mpiwc_result_next(r, &word, &len, &count) != 0)
                status = 8; /* only the root has words after a gather */
            if (f)
                fclose(f);
        }
    } else if (strcmp(mode, "local") == 0) {
        FILE *f = open_out(out, rank, 1);
        status = dump(r, f) < 0 ? MPIWC_FAILED : MPIWC_OK;
        fclose(f);
        if (rank == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s.words", out);
            f = open_out(path, rank, 0);
            fprintf(f, "%llu\n", (unsigned long long)mpiwc_result_words(r));
            fclose(f);
        }
    } else {
        status = mpiwc_result_write(r, out);
    }
    if (status != MPIWC_OK && rank == 0)
        fprintf(stderr, "%s\n", mpiwc_result_error(r));
    mpiwc_result_free(r);
    mpiwc_opts_free(o);
    MPI_Finalize();
    return status;
}

#include "mpiwc/output.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpiwc/record.h"
#include "mpiwc/util.h"

/*
 * The temporary file that exists right now, if any, so that a signal
 * handler can remove it (SIGTERM at a time limit must leave no half file).
 * Only one output file is written at a time per process.
 */
static char pending_temp[4096];
static volatile sig_atomic_t pending_armed;

static void arm(const char *tmp)
{
    size_t n = strlen(tmp);
    if (n < sizeof pending_temp) {
        memcpy(pending_temp, tmp, n + 1);
        pending_armed = 1;
    }
}

static void disarm(void)
{
    pending_armed = 0;
}

void mpiwc_output_on_signal(void)
{
    if (pending_armed)
        unlink(pending_temp); /* async-signal-safe */
}

/* The temporary sibling of path: "DIR/.BASE.mpiwc-XXXXXX" (caller frees). */
static char *temp_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    size_t len = dirlen + 1 + strlen(base) + sizeof ".mpiwc-XXXXXX";
    char *t = mpiwc_xmalloc(len);
    snprintf(t, len, "%.*s.%s.mpiwc-XXXXXX", (int)dirlen, path, base);
    return t;
}

static int fail(char *err, size_t errlen, const char *path, const char *reason)
{
    snprintf(err, errlen, "%s: %s", path, reason);
    return -1;
}

/* Create the temporary file for path; returns its fd (name in *tmp) or -1 with err set. */
static int create_temp(const char *path, char **tmp, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fail(err, errlen, path, "is a directory");
    *tmp = temp_name(path);
    int fd = mkstemp(*tmp);
    if (fd < 0) {
        int e = errno;
        free(*tmp);
        *tmp = NULL;
        return fail(err, errlen, path, strerror(e));
    }
    arm(*tmp);
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    return fd;
}

int mpiwc_output_probe(const char *path, char *err, size_t errlen)
{
    char *tmp;
    int fd = create_temp(path, &tmp, err, errlen);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(tmp);
    disarm();
    free(tmp);
    return 0;
}

/* Write words to path through a temporary file and rename (rank 0). */
static int write_file(const char *path, const struct mpiwc_word *words, size_t n,
                      enum mpiwc_format format, char *err, size_t errlen)
{
    char *tmp;
    int fd = create_temp(path, &tmp, err, errlen);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        disarm();
        free(tmp);
        return fail(err, errlen, path, strerror(e));
    }
    static char iobuf[1 << 16];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    errno = 0;
    int rc = mpiwc_format_write(f, words, n, format);
    int e = errno ? errno : EIO;
    if (rc == 0 && fsync(fd) != 0)
        rc = -1, e = errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -1, e = errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1, e = errno;
    if (rc != 0) {
        unlink(tmp);
        fail(err, errlen, path, strerror(e));
    }
    disarm();
    free(tmp);
    return rc;
}

int mpiwc_output_dir_probe(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return fail(err, errlen, dir, strerror(errno));
    DIR *d = opendir(dir);
    if (!d)
        return fail(err, errlen, dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL)
        if (strncmp(de->d_name, "part-", 5) == 0 || strcmp(de->d_name, "_SUCCESS") == 0)
            rc = fail(err, errlen, dir, "already holds part files or _SUCCESS (remove them first)");
    closedir(d);
    if (rc != 0)
        return rc;
    char *probe = mpiwc_xmalloc(strlen(dir) + sizeof "/part-probe");
    sprintf(probe, "%s/part-probe", dir);
    rc = mpiwc_output_probe(probe, err, errlen);
    free(probe);
    if (rc != 0)
        snprintf(err, errlen, "%s: cannot create files in it", dir);
    return rc;
}

/* This rank's owned words as rows in order (borrowed keys; caller frees the array). */
static struct mpiwc_word *owned_rows(const struct mpiwc_table *owned, enum mpiwc_sort sort,
                                     size_t *n)
{
    struct mpiwc_word *rows =
        mpiwc_xmalloc(mpiwc_mul_size(owned->size ? owned->size : 1, sizeof *rows));
    size_t k = 0;
    for (size_t i = 0; i < mpiwc_table_slots(owned); i++) {
        const struct mpiwc_entry *e = mpiwc_table_at(owned, i);
        if (e->count)
            rows[k++] = (struct mpiwc_word){mpiwc_table_key(owned, e), e->key_len, e->count};
    }
    mpiwc_format_sort(rows, k, sort);
    *n = k;
    return rows;
}

int mpiwc_output_parts(const struct mpiwc_table *owned, const char *dir,
                       const struct mpiwc_output_request *req, MPI_Comm comm,
                       struct mpiwc_output_stats *stats, FILE *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    double t0 = MPI_Wtime();
    size_t n;
    struct mpiwc_word *rows = owned_rows(owned, req->sort, &n);
    stats->sort_s += MPI_Wtime() - t0;

    t0 = MPI_Wtime();
    size_t len = strlen(dir) + 32;
    char *part = mpiwc_xmalloc(len), msg[4200];
    snprintf(part, len, "%s/part-%05d", dir, rank);
    int failed = write_file(part, rows, n, req->format, msg, sizeof msg) != 0, any;
    free(rows);
    if (failed)
        fprintf(err, "mpiwc: [rank %d] %s\n", rank, msg);
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm);
    if (any && !failed)
        unlink(part);
    free(part);
    int rc = any ? -1 : 0;
    if (rank == 0 && rc == 0) {
        char *marker = mpiwc_xmalloc(strlen(dir) + sizeof "/_SUCCESS");
        sprintf(marker, "%s/_SUCCESS", dir);
        rc = write_file(marker, NULL, 0, MPIWC_FORMAT_TSV, msg, sizeof msg);
        if (rc != 0)
            fprintf(err, "mpiwc: %s\n", msg);
        free(marker);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    stats->rows = n;
    stats->write_s += MPI_Wtime() - t0;
    return rc;
}

/* Rank 0's collection of gathered rows; keys borrow from the kept round buffers. */
struct gathered {
    struct mpiwc_word *words;
    size_t n, cap;
    uint8_t **bufs;
    size_t nbufs;
};

static void gathered_add(struct gathered *g, const uint8_t *key, uint32_t len, uint64_t count)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 1024;
        g->words = mpiwc_xrealloc(g->words, mpiwc_mul_size(g->cap, sizeof *g->words));
    }
    g->words[g->n++] = (struct mpiwc_word){key, len, count};
}

int mpiwc_output_write(const struct mpiwc_table *owned, const struct mpiwc_output_request *req,
                       MPI_Comm comm, struct mpiwc_output_stats *stats, char *err, size_t errlen)
{
    int nranks, rank;
    MPI_Comm_size(comm, &nranks);
    MPI_Comm_rank(comm, &rank);

    /* Local: this rank's rows in order, cut to --top. */
    double t0 = MPI_Wtime();
    size_t mine;
    struct mpiwc_word *rows = owned_rows(owned, req->sort, &mine);
    if (req->top && mine > req->top)
        mine = (size_t)req->top;
    uint64_t distinct = owned->size, all_distinct = 0;
    MPI_Reduce(&distinct, &all_distinct, 1, MPI_UINT64_T, MPI_SUM, 0, comm);
    stats->sort_s += MPI_Wtime() - t0;

    /* Gather in rounds of about cap bytes in all; a bigger record goes alone. */
    t0 = MPI_Wtime();
    size_t per_rank = req->cap / (size_t)nranks ? req->cap / (size_t)nranks : 1;
    struct gathered g = {0};
    int *counts = rank == 0 ? mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof(int))) : NULL;
    int *displs = rank == 0 ? mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof(int))) : NULL;
    uint8_t *sbuf = NULL;
    size_t scap = 0, next = 0;
    bool bad = false;
    for (;;) {
        size_t b = 0, k = next;
        while (k < mine) {
            size_t rec = mpiwc_record_size(rows[k].len);
            if (b > 0 && b + rec > per_rank)
                break;
            b += rec;
            k++;
        }
        if (b > INT_MAX)
            mpiwc_fatal("a word of %u bytes exceeds the MPI count limit", rows[next].len);
        if (b > scap) {
            scap = b;
            sbuf = mpiwc_xrealloc(sbuf, scap);
        }
        uint8_t *p = sbuf;
        for (; next < k; next++)
            p = mpiwc_record_put(p, rows[next].key, rows[next].len, rows[next].count);
        int count = (int)b;
        MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, comm);
        uint8_t *rbuf = NULL;
        size_t total = 0;
        if (rank == 0) {
            for (int s = 0; s < nranks; s++) {
                if (total + (size_t)counts[s] > INT_MAX)
                    mpiwc_fatal("gather round exceeds the MPI count limit");
                displs[s] = (int)total;
                total += (size_t)counts[s];
            }
            rbuf = mpiwc_xmalloc(total);
        }
        MPI_Gatherv(sbuf, count, MPI_BYTE, rbuf, counts, displs, MPI_BYTE, 0, comm);
        if (rank == 0) {
            stats->bytes_gathered += total;
            g.bufs = mpiwc_xrealloc(g.bufs, mpiwc_mul_size(g.nbufs + 1, sizeof *g.bufs));
            g.bufs[g.nbufs++] = rbuf;
            const uint8_t *pos = rbuf, *key;
            uint32_t len;
            uint64_t c;
            enum mpiwc_record_status st;
            while ((st = mpiwc_record_next(&pos, rbuf + total, &key, &len, &c)) == MPIWC_RECORD_OK)
                gathered_add(&g, key, len, c);
            bad = bad || st == MPIWC_RECORD_BAD;
        }
        int more = next < mine, any;
        MPI_Allreduce(&more, &any, 1, MPI_INT, MPI_MAX, comm);
        if (!any)
            break;
    }
    free(sbuf);
    free(rows);
    stats->gather_s += MPI_Wtime() - t0;

    int rc = 0;
    if (rank == 0) {
        if (bad)
            mpiwc_fatal("gathered records are malformed");
        t0 = MPI_Wtime();
        mpiwc_format_sort(g.words, g.n, req->sort);
        size_t n = g.n;
        if (req->top && n > req->top)
            n = (size_t)req->top;
        stats->sort_s += MPI_Wtime() - t0;
        stats->distinct = all_distinct;
        stats->rows = n;
        t0 = MPI_Wtime();
        if (req->path) {
            rc = write_file(req->path, g.words, n, req->format, err, errlen);
        } else if (mpiwc_format_write(req->stream, g.words, n, req->format) != 0) {
            rc = fail(err, errlen, "standard output", strerror(errno ? errno : EIO));
        }
        stats->write_s += MPI_Wtime() - t0;
        for (size_t i = 0; i < g.nbufs; i++)
            free(g.bufs[i]);
        free(g.bufs);
        free(g.words);
    }
    free(counts);
    free(displs);
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    return rc;
}

#include "mpiwc/output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* The temporary sibling of path: "DIR/.BASE.mpiwc-PID-N" (caller frees). */
static char *temp_name(const char *path, unsigned n)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    size_t len = dirlen + strlen(base) + 64;
    char *t = mpiwc_xmalloc(len);
    snprintf(t, len, "%.*s.%s.mpiwc-%ld-%u", (int)dirlen, path, base, (long)getpid(), n);
    return t;
}

/* The directory of path ("." when it has none; caller frees). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return mpiwc_xstrdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = mpiwc_xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/*
 * The file an output is written to before it is renamed into place. Where the
 * file system allows, it has no name at all while it is written (O_TMPFILE):
 * a process killed by SIGKILL leaves nothing behind. It gets its temporary
 * name only once complete, for the two calls linkat + rename. Elsewhere it
 * is a named file from the start, removed by mpiwc_output_on_signal() on
 * SIGTERM/SIGINT/SIGHUP.
 */
struct temp_file {
    int fd;
    int error;  /* errno of a failed open */
    char *name; /* owned; exists on disk when named */
    bool named;
    char *target; /* owned; the file the rename replaces (a symbolic link resolved) */
    bool direct;  /* the target is a device, FIFO or socket: written in place, no rename */
};

static void block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, old);
}

/* Give the file a name: mkstemp-like, the name exists only armed for the signal handler. */
static int temp_name_it(const char *path, struct temp_file *t, bool link_fd)
{
    sigset_t old;
    int rc = -1;
    for (unsigned n = 0; n < 1000 && rc != 0; n++) {
        free(t->name);
        t->name = temp_name(path, n);
        block_signals(&old);
        if (link_fd) {
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", t->fd);
            rc = linkat(AT_FDCWD, proc, AT_FDCWD, t->name, AT_SYMLINK_FOLLOW);
        } else {
            t->fd = open(t->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            rc = t->fd < 0 ? -1 : 0;
        }
        if (rc == 0) {
            t->named = true;
            arm(t->name);
        }
        int e = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        errno = e;
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return rc;
}

/*
 * What -o PATH replaces: PATH itself, or the file a symbolic link PATH points
 * to (the link stays, as with `sort -o`). An existing device, FIFO or socket
 * (/dev/null, /dev/stdout, a pipe) is written in place: renaming a file over
 * it would replace the device itself.
 */
static int temp_target(const char *path, struct temp_file *t, char *err, size_t errlen)
{
    struct stat st;
    char *real = NULL;
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        real = realpath(path, NULL); /* NULL when dangling: the link itself is replaced */
    t->target = real ? mpiwc_xstrdup(real) : mpiwc_xstrdup(path);
    free(real);
    if (stat(t->target, &st) != 0)
        return 0;
    if (S_ISDIR(st.st_mode)) {
        t->error = EISDIR;
        return mpiwc_fail(err, errlen, "%s: is a directory", path);
    }
    t->direct = !S_ISREG(st.st_mode);
    return 0;
}

/* "PATH: cannot create a temporary file in DIR: reason": the file that failed is
 * not PATH itself (which may well exist) but its temporary sibling. */
#define TEMP_FAILED "%s: cannot create a temporary file in %s: %s"

/*
 * Open the temporary file for path; 0, or -1 with "PATH: reason" in err. The
 * new file gets the permission bits of the file it replaces (and, for root,
 * its owner and group), as sed -i does; a new name gets 0666 less the umask.
 */
static int temp_open(const char *path, struct temp_file *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (temp_target(path, t, err, errlen) != 0)
        return -1;
    if (t->direct) {
        t->fd = open(t->target, O_WRONLY | O_TRUNC | O_CLOEXEC);
        t->error = errno;
        return t->fd < 0 ? mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno)) : 0;
    }
    mode_t mask = umask(0);
    umask(mask);
    struct stat old;
    bool replaces = stat(t->target, &old) == 0;
    char *dir = dir_of(t->target);
    /* O_TMPFILE needs /proc to give the file a name later (linkat). */
    if (access("/proc/self/fd", X_OK) == 0) {
        t->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666 & ~mask);
        int e = errno;
        /* Unsupported by the file system: fall back to a named file; else a real error. */
        if (t->fd < 0 && e != EOPNOTSUPP && e != EISDIR && e != EINVAL) {
            t->error = e;
            mpiwc_fail(err, errlen, TEMP_FAILED, path, dir, strerror(e));
            free(dir);
            return -1;
        }
    }
    if (t->fd < 0 && temp_name_it(t->target, t, false) != 0) {
        int e = errno;
        free(t->name);
        t->name = NULL;
        t->error = e;
        mpiwc_fail(err, errlen, TEMP_FAILED, path, dir, strerror(e));
        free(dir);
        return -1;
    }
    free(dir);
    /* Owner first: fchown clears the set-user-ID and set-group-ID bits. */
    if (replaces && geteuid() == 0)
        (void)fchown(t->fd, old.st_uid, old.st_gid);
    (void)fchmod(t->fd, replaces ? old.st_mode & 07777 : 0666 & ~mask);
    return 0;
}

/* Remove the temporary file (if it has a name) and forget it; the fd is the caller's. */
static void temp_discard(struct temp_file *t)
{
    if (t->named)
        unlink(t->name);
    disarm();
    free(t->name);
    t->name = NULL;
    t->named = false;
    free(t->target);
    t->target = NULL;
}

/* mpiwc_output_probe(), returning 0 or the errno of what failed. */
static int probe(const char *path, char *err, size_t errlen)
{
    struct temp_file t;
    memset(&t, 0, sizeof t);
    /* Opening a FIFO would block for a reader and hand it an empty table: only ask. */
    if (temp_target(path, &t, err, errlen) == 0 && t.direct) {
        int e = access(t.target, W_OK) == 0 ? 0 : errno;
        if (e)
            mpiwc_fail(err, errlen, "%s: %s", path, strerror(e));
        temp_discard(&t);
        return e;
    }
    temp_discard(&t);
    if (temp_open(path, &t, err, errlen) != 0) {
        temp_discard(&t);
        return t.error ? t.error : EIO;
    }
    close(t.fd);
    temp_discard(&t);
    return 0;
}

int mpiwc_output_probe(const char *path, char *err, size_t errlen)
{
    if (strcmp(path, "-") == 0)
        return 0; /* standard output */
    return probe(path, err, errlen) ? -1 : 0;
}

/*
 * A path as one spelling: symbolic links, "." and ".." resolved as far as the
 * path exists, the missing rest appended (caller frees).
 */
static char *canonical(const char *path)
{
    char *real = realpath(path, NULL);
    if (real)
        return real;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = dir_of(path);
    char *cdir = strcmp(dir, path) == 0 ? mpiwc_xstrdup(dir) : canonical(dir);
    free(dir);
    size_t len = strlen(cdir) + strlen(base) + 2;
    char *c = mpiwc_xmalloc(len);
    snprintf(c, len, "%s%s%s", cdir, strcmp(cdir, "/") == 0 ? "" : "/", base);
    free(cdir);
    return c;
}

/*
 * Do a and b name the same file? The same device and inode when both exist
 * (any spelling, symbolic or hard link), else the same canonical name. A
 * character or block device (/dev/null) is no clash: it is written in place
 * and holds nothing.
 */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    bool ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && !S_ISCHR(sa.st_mode) &&
               !S_ISBLK(sa.st_mode);
    if (ea || eb)
        return false;
    char *ca = canonical(a), *cb = canonical(b);
    bool same = strcmp(ca, cb) == 0;
    free(ca);
    free(cb);
    return same;
}

int mpiwc_output_clash(const char *output, const char *output_dir, const char *report, char *err,
                       size_t errlen)
{
    if (!report)
        return 0;
    bool report_std = strcmp(report, "-") == 0;
    if (report_std && !output && !output_dir)
        return mpiwc_fail(err, errlen,
                          "-: --report and the table would both go to standard "
                          "output (give -o FILE)");
    if (report_std)
        return 0;
    if (output && same_file(output, report))
        return mpiwc_fail(err, errlen, "%s: --report and -o name the same file (%s)", report,
                          output);
    if (output_dir) {
        const char *slash = strrchr(report, '/');
        const char *base = slash ? slash + 1 : report;
        char *dir = dir_of(report);
        bool clash = (strncmp(base, "part-", 5) == 0 || strcmp(base, "_SUCCESS") == 0) &&
                     same_file(dir, output_dir);
        free(dir);
        if (clash)
            return mpiwc_fail(err, errlen, "%s: --report names a file of --output-dir %s", report,
                              output_dir);
    }
    return 0;
}

/*
 * Sorted runs of rows merged into one order: rank 0 merges the runs each rank
 * sorted (O(rows log ranks), no second sort); a part file is one run.
 */
struct run {
    struct mpiwc_word *w; /* borrowed or owned by the caller */
    size_t n, next;
};

struct merge {
    struct run *runs;
    size_t *heap; /* indices of runs with rows left, a min-heap by their next row */
    size_t nheap;
    enum mpiwc_sort order;
};

static bool run_before(const struct merge *m, size_t a, size_t b)
{
    const struct run *ra = &m->runs[a], *rb = &m->runs[b];
    int c = mpiwc_format_compare(&ra->w[ra->next], &rb->w[rb->next], m->order);
    return c < 0 || (c == 0 && a < b);
}

static void sift_down(struct merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < m->nheap && run_before(m, m->heap[l], m->heap[min]))
            min = l;
        if (r < m->nheap && run_before(m, m->heap[r], m->heap[min]))
            min = r;
        if (min == i)
            return;
        size_t t = m->heap[i];
        m->heap[i] = m->heap[min];
        m->heap[min] = t;
        i = min;
    }
}

static void merge_init(struct merge *m, struct run *runs, size_t nruns, enum mpiwc_sort order)
{
    m->runs = runs;
    m->order = order;
    m->heap = mpiwc_xmalloc(mpiwc_mul_size(nruns ? nruns : 1, sizeof *m->heap));
    m->nheap = 0;
    for (size_t i = 0; i < nruns; i++)
        if (runs[i].next < runs[i].n)
            m->heap[m->nheap++] = i;
    for (size_t i = m->nheap / 2; i-- > 0;)
        sift_down(m, i);
}

/* The next row in order, or NULL when every run is done. */
static const struct mpiwc_word *merge_next(struct merge *m)
{
    if (m->nheap == 0)
        return NULL;
    struct run *r = &m->runs[m->heap[0]];
    /* Rows are in order but their keys sit at random places in the table. */
    if (r->next + 16 < r->n)
        __builtin_prefetch(r->w[r->next + 16].key);
    const struct mpiwc_word *w = &r->w[r->next++];
    if (r->next == r->n)
        m->heap[0] = m->heap[--m->nheap];
    sift_down(m, 0);
    return w;
}

/* Write at most limit rows (0: all) of m to out; the stream's error state tells. */
static int write_rows(FILE *out, struct merge *m, uint64_t limit, enum mpiwc_format format,
                      uint64_t *rows)
{
    const struct mpiwc_word *w;
    size_t i = 0;
    mpiwc_format_begin(out, format);
    while ((!limit || i < limit) && (w = merge_next(m)) != NULL)
        mpiwc_format_row(out, w, i++, format);
    *rows = i;
    return mpiwc_format_end(out, format);
}

int mpiwc_output_file(const char *path, int (*fill)(FILE *f, void *arg), void *arg, char *err,
                      size_t errlen)
{
    struct temp_file t;
    if (temp_open(path, &t, err, errlen) != 0) {
        temp_discard(&t);
        return -1;
    }
    FILE *f = fdopen(t.fd, "w");
    if (!f) {
        int e = errno;
        close(t.fd);
        temp_discard(&t);
        return mpiwc_fail(err, errlen, "%s: %s", path, strerror(e));
    }
    static char iobuf[1 << 16];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    errno = 0;
    int rc = fill(f, arg) != 0 || fflush(f) != 0 || ferror(f) ? -1 : 0;
    int e = errno ? errno : EIO;
    if (rc == 0 && !t.direct && fsync(t.fd) != 0)
        rc = -1, e = errno;
    if (rc == 0 && !t.direct && !t.named && temp_name_it(t.target, &t, true) != 0)
        rc = -1, e = errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -1, e = errno;
    if (rc == 0 && !t.direct && rename(t.name, t.target) != 0)
        rc = -1, e = errno;
    if (rc == 0) {
        t.named = false; /* the name now belongs to the output */
    } else {
        mpiwc_fail(err, errlen, "%s: %s", path, strerror(e));
    }
    temp_discard(&t);
    return rc;
}

struct rows_fill {
    struct merge *m;
    uint64_t limit;
    enum mpiwc_format format;
    uint64_t *rows;
};

static int fill_rows(FILE *f, void *arg)
{
    struct rows_fill *r = arg;
    return write_rows(f, r->m, r->limit, r->format, r->rows);
}

/* Write the rows of m to path through a temporary file and rename (the writer's rank). */
static int write_file(const char *path, struct merge *m, uint64_t limit, enum mpiwc_format format,
                      uint64_t *rows, char *err, size_t errlen)
{
    struct rows_fill r = {m, limit, format, rows};
    return mpiwc_output_file(path, fill_rows, &r, err, errlen);
}

int mpiwc_output_dir_probe(const char *dir, bool create, char *err, size_t errlen)
{
    struct stat st;
    if (!create && stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return mpiwc_fail(err, errlen, "%s: %s", dir, strerror(errno));
        /* Only ask whether it could be made: a new name in an existing parent. */
        char *parent = dir_of(dir);
        int e = stat(parent, &st) != 0             ? errno
                : !S_ISDIR(st.st_mode)             ? ENOTDIR
                : access(parent, W_OK | X_OK) != 0 ? errno
                                                   : 0;
        free(parent);
        return e ? mpiwc_fail(err, errlen, "%s: %s", dir, strerror(e)) : 0;
    }
    if (create && mkdir(dir, 0777) != 0 && errno != EEXIST)
        return mpiwc_fail(err, errlen, "%s: %s", dir, strerror(errno));
    DIR *d = opendir(dir);
    if (!d)
        return mpiwc_fail(err, errlen, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL)
        if (strncmp(de->d_name, "part-", 5) == 0 || strcmp(de->d_name, "_SUCCESS") == 0)
            rc = mpiwc_fail(err, errlen,
                            "%s: already holds part files or _SUCCESS (remove them first)", dir);
    closedir(d);
    if (rc != 0)
        return rc;
    char *part = mpiwc_xmalloc(strlen(dir) + sizeof "/part-probe");
    sprintf(part, "%s/part-probe", dir);
    int e = probe(part, err, errlen);
    free(part);
    if (e != 0)
        return mpiwc_fail(err, errlen, "%s: cannot create files in it: %s", dir, strerror(e));
    return 0;
}

/* This rank's owned words as rows in order (borrowed keys; caller frees the array). */
static struct mpiwc_word *owned_rows(const struct mpiwc_table *owned, enum mpiwc_sort sort,
                                     size_t *n)
{
    struct mpiwc_word *rows =
        mpiwc_xmalloc(mpiwc_mul_size(owned->size ? owned->size : 1, sizeof *rows));
    size_t k = 0;
    struct mpiwc_table_word w;
    for (size_t i = 0; i < mpiwc_table_slots(owned); i++)
        if (mpiwc_table_word(owned, i, &w))
            rows[k++] = (struct mpiwc_word){w.key, w.len, w.count};
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
    char *part = mpiwc_xmalloc(len), msg[MPIWC_ERRLEN];
    snprintf(part, len, "%s/part-%05d", dir, rank);
    struct run run = {rows, n, 0};
    struct merge m;
    merge_init(&m, &run, 1, req->sort);
    uint64_t written;
    int failed = write_file(part, &m, 0, req->format, &written, msg, sizeof msg) != 0, any;
    free(m.heap);
    free(rows);
    if (failed)
        mpiwc_say_rank(err, msg);
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm);
    if (any && !failed)
        unlink(part);
    free(part);
    int rc = any ? -1 : 0;
    if (rank == 0 && rc == 0) {
        char *marker = mpiwc_xmalloc(strlen(dir) + sizeof "/_SUCCESS");
        sprintf(marker, "%s/_SUCCESS", dir);
        struct merge none;
        merge_init(&none, NULL, 0, req->sort);
        rc = write_file(marker, &none, 0, MPIWC_FORMAT_TSV, &written, msg, sizeof msg);
        free(none.heap);
        if (rc != 0)
            mpiwc_say(err, "", msg);
        free(marker);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    stats->rows = n;
    stats->write_s += MPI_Wtime() - t0;
    return rc;
}

/* Rank 0's runs: its own rows, then what each other rank sent, in arrival order. */
struct runs {
    struct run *run; /* nranks; run[0] borrows rank 0's rows */
    size_t *cap;
    uint8_t **bufs; /* round buffers the rows' keys point into */
    size_t nbufs, bufs_cap;
};

static void run_add(struct runs *rs, int s, const uint8_t *key, uint32_t len, uint64_t count)
{
    struct run *r = &rs->run[s];
    r->w = mpiwc_grow(r->w, &rs->cap[s], r->n + 1, sizeof *r->w);
    r->w[r->n++] = (struct mpiwc_word){key, len, count};
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

    /* Gather the other ranks' rows in rounds of about cap bytes in all; a bigger
     * record goes alone. Rank 0's own rows stay where they are. */
    t0 = MPI_Wtime();
    size_t per_rank = req->cap / (size_t)nranks ? req->cap / (size_t)nranks : 1;
    struct runs rs = {0};
    int *counts = NULL, *displs = NULL;
    if (rank == 0) {
        rs.run = mpiwc_xcalloc((size_t)nranks, sizeof *rs.run);
        rs.cap = mpiwc_xcalloc((size_t)nranks, sizeof *rs.cap);
        rs.run[0] = (struct run){rows, mine, 0};
        counts = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof(int)));
        displs = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof(int)));
    }
    uint8_t *sbuf = NULL;
    size_t scap = 0, next = rank == 0 ? mine : 0;
    bool bad = false;
    while (nranks > 1) {
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
            rs.bufs = mpiwc_grow(rs.bufs, &rs.bufs_cap, rs.nbufs + 1, sizeof *rs.bufs);
            rs.bufs[rs.nbufs++] = rbuf;
            for (int s = 1; s < nranks; s++) {
                const uint8_t *pos = rbuf + displs[s], *end = pos + counts[s], *key;
                uint32_t len;
                uint64_t c;
                enum mpiwc_record_status st;
                while ((st = mpiwc_record_next(&pos, end, &key, &len, &c)) == MPIWC_RECORD_OK)
                    run_add(&rs, s, key, len, c);
                bad = bad || st == MPIWC_RECORD_BAD;
            }
        }
        int more = next < mine, any;
        MPI_Allreduce(&more, &any, 1, MPI_INT, MPI_MAX, comm);
        if (!any)
            break;
    }
    free(sbuf);
    stats->gather_s += MPI_Wtime() - t0;

    int rc = 0;
    if (rank == 0) {
        if (bad)
            mpiwc_fatal("gathered records are malformed");
        t0 = MPI_Wtime();
        struct merge m;
        merge_init(&m, rs.run, (size_t)nranks, req->sort);
        stats->distinct = all_distinct;
        if (req->path) {
            rc = write_file(req->path, &m, req->top, req->format, &stats->rows, err, errlen);
        } else {
            /* errno as the failing write left it; none (a stream with no file): EIO. */
            errno = 0;
            if (write_rows(req->stream, &m, req->top, req->format, &stats->rows) != 0)
                rc = mpiwc_fail(err, errlen, "%s: %s", "standard output",
                                strerror(errno ? errno : EIO));
        }
        stats->write_s += MPI_Wtime() - t0;
        free(m.heap);
        for (int s = 1; s < nranks; s++)
            free(rs.run[s].w);
        free(rs.run);
        free(rs.cap);
        for (size_t i = 0; i < rs.nbufs; i++)
            free(rs.bufs[i]);
        free(rs.bufs);
    }
    free(rows);
    free(counts);
    free(displs);
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    return rc;
}

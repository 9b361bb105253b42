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
 * Write at most limit rows (0: all) of in to out; *rows counts them. -1 when
 * the stream failed (its message in why), else what the stream's error state
 * says.
 */
static int write_rows(FILE *out, struct mpiwc_rows *in, uint64_t limit, enum mpiwc_format format,
                      uint64_t *rows, char *why, size_t whylen)
{
    struct mpiwc_word w;
    size_t i = 0;
    int got = 1;
    mpiwc_format_begin(out, format);
    while ((!limit || i < limit) && (got = mpiwc_rows_next(in, &w, why, whylen)) > 0)
        mpiwc_format_row(out, &w, i++, format);
    *rows = i;
    if (got < 0)
        return -1;
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
    struct mpiwc_rows *in;
    uint64_t limit;
    enum mpiwc_format format;
    uint64_t *rows;
    char why[MPIWC_ERRLEN]; /* set when the stream failed */
};

static int fill_rows(FILE *f, void *arg)
{
    struct rows_fill *r = arg;
    return write_rows(f, r->in, r->limit, r->format, r->rows, r->why, sizeof r->why);
}

/*
 * Write the rows of in to path through a temporary file and rename (the
 * writer's rank). A stream that fails leaves no file and its own message.
 */
static int write_file(const char *path, struct mpiwc_rows *in, uint64_t limit,
                      enum mpiwc_format format, uint64_t *rows, char *err, size_t errlen)
{
    struct rows_fill r = {in, limit, format, rows, ""};
    int rc = mpiwc_output_file(path, fill_rows, &r, err, errlen);
    if (rc != 0 && r.why[0])
        snprintf(err, errlen, "%s", r.why);
    return rc;
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

/* A stream with no rows (the _SUCCESS marker's). */
static int no_rows(struct mpiwc_rows *r, struct mpiwc_word *w, char *err, size_t errlen)
{
    (void)r, (void)w, (void)err, (void)errlen;
    return 0;
}

int mpiwc_output_parts(struct mpiwc_rows *mine, const char *dir,
                       const struct mpiwc_output_request *req, MPI_Comm comm,
                       struct mpiwc_output_stats *stats, FILE *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    double t0 = MPI_Wtime();
    size_t len = strlen(dir) + 32;
    char *part = mpiwc_xmalloc(len), msg[MPIWC_ERRLEN];
    snprintf(part, len, "%s/part-%05d", dir, rank);
    uint64_t written = 0;
    int failed = write_file(part, mine, 0, req->format, &written, msg, sizeof msg) != 0, any;
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
        struct mpiwc_rows none = {no_rows};
        rc = write_file(marker, &none, 0, MPIWC_FORMAT_TSV, &written, msg, sizeof msg);
        if (rc != 0)
            mpiwc_say(err, "", msg);
        free(marker);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    stats->rows = written;
    stats->write_s += MPI_Wtime() - t0;
    return rc;
}

/*
 * The gather: each other rank sends its rows to rank 0 in chunks of records
 * (record.h), tag DATA, two in flight (MPI_Issend: a chunk leaves only when
 * rank 0 asks for it, so rank 0 holds one chunk per rank whatever the
 * table), then one END message: an int status and, when it failed, its
 * message. Rank 0 reads a rank's next chunk when the merge has used up the
 * last one.
 */
enum { TAG_DATA = 4101, TAG_END = 4102 };

struct remote {
    struct mpiwc_rows rows;
    MPI_Comm comm;
    int source;
    uint8_t *buf;
    size_t cap;
    const uint8_t *pos, *end;
    bool done;
    uint64_t *gathered;
};

/* Receive source's next message into r->buf: its tag and length. */
static int remote_recv(struct remote *r, int *count)
{
    MPI_Status st;
    MPI_Probe(r->source, MPI_ANY_TAG, r->comm, &st);
    MPI_Get_count(&st, MPI_BYTE, count);
    r->buf = mpiwc_grow(r->buf, &r->cap, (size_t)*count + 1, 1);
    MPI_Recv(r->buf, *count, MPI_BYTE, r->source, st.MPI_TAG, r->comm, MPI_STATUS_IGNORE);
    return st.MPI_TAG;
}

static int remote_next(struct mpiwc_rows *rows, struct mpiwc_word *w, char *err, size_t errlen)
{
    struct remote *r = (struct remote *)rows;
    while (r->pos == r->end) {
        if (r->done)
            return 0;
        int count, tag = remote_recv(r, &count);
        if (tag == TAG_END) {
            r->done = true;
            int status = 1;
            if ((size_t)count >= sizeof status)
                memcpy(&status, r->buf, sizeof status);
            if (status == 0)
                return 0;
            r->buf[count] = '\0';
            return mpiwc_fail(err, errlen, "%s",
                              (size_t)count > sizeof status ? (char *)r->buf + sizeof status
                                                            : "a rank failed to send its words");
        }
        *r->gathered += (uint64_t)count;
        r->pos = r->buf;
        r->end = r->buf + count;
    }
    const uint8_t *key;
    uint32_t len;
    uint64_t count;
    if (mpiwc_record_next(&r->pos, r->end, &key, &len, &count) != MPIWC_RECORD_OK)
        mpiwc_fatal("gathered records are malformed");
    *w = (struct mpiwc_word){key, len, count};
    return 1;
}

/*
 * A rank's rows as counted: rows handed out, and the rest read (when distinct
 * was unknown and the output stopped early, --top) for the distinct count.
 */
struct counted {
    struct mpiwc_rows rows;
    struct mpiwc_rows *in;
    uint64_t n;
};

static int counted_next(struct mpiwc_rows *rows, struct mpiwc_word *w, char *err, size_t errlen)
{
    struct counted *c = (struct counted *)rows;
    int rc = mpiwc_rows_next(c->in, w, err, errlen);
    c->n += rc > 0;
    return rc;
}

/* The rank's distinct words: known, or counted to the end of its stream. 0 or -1. */
static int count_rest(struct counted *c, uint64_t *distinct, char *why, size_t whylen)
{
    if (*distinct != UINT64_MAX)
        return 0;
    struct mpiwc_word w;
    int rc;
    while ((rc = counted_next(&c->rows, &w, why, whylen)) > 0)
        ;
    *distinct = c->n;
    return rc;
}

/* A rank other than 0: send the first limit rows (0: all) of in, then END. */
static void send_rows(struct counted *in, uint64_t limit, size_t chunk, uint64_t *distinct,
                      MPI_Comm comm)
{
    uint8_t *buf[2] = {NULL, NULL};
    size_t cap[2] = {0, 0};
    MPI_Request req[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    char why[MPIWC_ERRLEN] = "";
    struct mpiwc_word w;
    bool pending = false; /* w is a row not yet packed */
    int got = 1, status = 0;
    uint64_t sent = 0;
    for (int i = 0;; i ^= 1) {
        MPI_Wait(&req[i], MPI_STATUS_IGNORE);
        size_t b = 0;
        for (;;) {
            if (!pending) {
                if (limit && sent == limit)
                    break;
                if ((got = counted_next(&in->rows, &w, why, sizeof why)) <= 0)
                    break;
                pending = true;
            }
            size_t rec = mpiwc_record_size(w.len, w.count);
            if (b > 0 && b + rec > chunk)
                break;
            if (b + rec > INT_MAX)
                mpiwc_fatal("a word of %u bytes exceeds the MPI count limit", w.len);
            buf[i] = mpiwc_grow(buf[i], &cap[i], b + rec, 1);
            mpiwc_record_put(buf[i] + b, w.key, w.len, w.count);
            b += rec;
            pending = false;
            sent++;
        }
        if (b == 0)
            break;
        MPI_Issend(buf[i], (int)b, MPI_BYTE, 0, TAG_DATA, comm, &req[i]);
    }
    MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
    if (got < 0 || count_rest(in, distinct, why, sizeof why) != 0)
        status = 1;
    /* END: the status, then the message a failure printed by rank 0 carries. */
    char end[sizeof status + MPIWC_ERRLEN + MPI_MAX_PROCESSOR_NAME + 32];
    int n = (int)sizeof status;
    memcpy(end, &status, sizeof status);
    if (status) {
        int rank;
        char host[MPI_MAX_PROCESSOR_NAME] = "?";
        int hostlen;
        MPI_Comm_rank(comm, &rank);
        MPI_Get_processor_name(host, &hostlen);
        n += snprintf(end + n, sizeof end - (size_t)n, "[rank %d on %s] %s", rank, host, why) + 1;
        if (n > (int)sizeof end)
            n = (int)sizeof end;
    }
    MPI_Send(end, n, MPI_BYTE, 0, TAG_END, comm);
    free(buf[0]);
    free(buf[1]);
}

/* Rank 0's side of the gather: its own rows and every other rank's, merged as they arrive. */
struct gather {
    struct counted own;
    uint64_t *distinct; /* rank 0's */
    struct remote *rem; /* [1 .. nranks) */
    int nranks;
    struct mpiwc_rows_merge m;
    struct mpiwc_rows **in;
};

/*
 * Once the rows are written (or the write failed): take what every rank
 * still sends, up to its END, and count rank 0's remaining rows. Returns -1
 * when a rank's stream failed, with its message in why unless why already
 * holds one.
 */
static int gather_finish(struct gather *g, char *why, size_t whylen)
{
    int rc = 0;
    struct mpiwc_word w;
    char msg[MPIWC_ERRLEN];
    for (int s = 1; s < g->nranks; s++) {
        struct remote *r = &g->rem[s];
        int got;
        for (r->pos = r->end; (got = remote_next(&r->rows, &w, msg, sizeof msg)) != 0;
             r->pos = r->end) /* what is left of a chunk is not wanted */
            if (got < 0 && rc++ == 0 && !why[0])
                snprintf(why, whylen, "%s", msg);
    }
    if (count_rest(&g->own, g->distinct, msg, sizeof msg) != 0 && rc++ == 0 && !why[0])
        snprintf(why, whylen, "%s", msg);
    return rc ? -1 : 0;
}

struct gather_fill {
    struct gather *g;
    const struct mpiwc_output_request *req;
    uint64_t *rows;
    bool finished;
    char why[MPIWC_ERRLEN]; /* a rank's stream failed */
};

/* Write the rows, then finish the gather: before -o's file is renamed into place. */
static int fill_gathered(FILE *f, void *arg)
{
    struct gather_fill *gf = arg;
    int rc = write_rows(f, &gf->g->m.rows, gf->req->top, gf->req->format, gf->rows, gf->why,
                        sizeof gf->why);
    int e = errno;
    gf->finished = true;
    if (gather_finish(gf->g, gf->why, sizeof gf->why) != 0)
        rc = -1;
    errno = e;
    return rc;
}

/* Rank 0: write the merged rows to req's target. 0, or -1 with the message in err. */
static int write_gathered(struct gather *g, const struct mpiwc_output_request *req, uint64_t *rows,
                          char *err, size_t errlen)
{
    struct gather_fill gf = {g, req, rows, false, ""};
    int rc;
    if (req->path) {
        rc = mpiwc_output_file(req->path, fill_gathered, &gf, err, errlen);
    } else {
        /* errno as the failing write left it; none (a stream with no file): EIO. */
        errno = 0;
        rc = fill_gathered(req->stream, &gf);
        if (rc != 0)
            mpiwc_fail(err, errlen, "%s: %s", "standard output", strerror(errno ? errno : EIO));
    }
    if (!gf.finished) /* the file could not be made: the ranks still send */
        (void)gather_finish(g, gf.why, sizeof gf.why);
    if (rc != 0 && gf.why[0])
        snprintf(err, errlen, "%s", gf.why);
    return rc;
}

int mpiwc_output_write(struct mpiwc_rows *mine, uint64_t distinct,
                       const struct mpiwc_output_request *req, MPI_Comm comm,
                       struct mpiwc_output_stats *stats, char *err, size_t errlen)
{
    int nranks, rank;
    MPI_Comm_size(comm, &nranks);
    MPI_Comm_rank(comm, &rank);
    size_t chunk = req->cap / (size_t)nranks ? req->cap / (size_t)nranks : 1;
    double t0 = MPI_Wtime();
    int rc = 0;
    if (rank != 0) {
        struct counted own = {{counted_next}, mine, 0};
        send_rows(&own, req->top, chunk, &distinct, comm);
        stats->gather_s += MPI_Wtime() - t0;
    } else {
        struct gather g = {
            .own = {{counted_next}, mine, 0}, .distinct = &distinct, .nranks = nranks};
        g.rem = mpiwc_xcalloc((size_t)nranks, sizeof *g.rem);
        g.in = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *g.in));
        g.in[0] = &g.own.rows;
        for (int s = 1; s < nranks; s++) {
            g.rem[s] = (struct remote){.rows = {remote_next},
                                       .comm = comm,
                                       .source = s,
                                       .gathered = &stats->bytes_gathered};
            g.in[s] = &g.rem[s].rows;
        }
        mpiwc_rows_merge_init(&g.m, g.in, (size_t)nranks, req->sort, false);
        rc = write_gathered(&g, req, &stats->rows, err, errlen);
        mpiwc_rows_merge_free(&g.m);
        for (int s = 1; s < nranks; s++)
            free(g.rem[s].buf);
        free(g.rem);
        free(g.in);
        stats->write_s += MPI_Wtime() - t0;
    }
    uint64_t all_distinct = 0;
    stats->mine = distinct;
    MPI_Reduce(&distinct, &all_distinct, 1, MPI_UINT64_T, MPI_SUM, 0, comm);
    stats->distinct = all_distinct;
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    return rc;
}

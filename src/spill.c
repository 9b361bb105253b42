#include "mpiwc/spill.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "mpiwc/record.h"
#include "mpiwc/util.h"

#define RUN_MAGIC "MPIWCRUN"
#define RUN_VERSION 2u
#define RUN_HEADER 16u  /* magic, version, order */
#define BLOCK_HEADER 8u /* n, crc */

/* ---- what a signal handler removes ---- */

/*
 * The private directory of the spill in progress and how many runs were
 * named in it: run-00000000 .. run-(next - 1). The handler unlinks them all
 * (those already gone fail harmlessly) and the directory.
 *
 * It opens each run before unlinking it and never closes it: the name goes
 * at once, and the blocks are freed when the process ends, however it ends.
 * An unlink that frees a large run's blocks itself took milliseconds (2.5 ms
 * for a run of a few MB on this project's test machine), and under mpirun a
 * rank that is still unlinking when another rank dies is sent SIGKILL: see
 * on_signal() in api.c. Past the descriptor limit, a run is just unlinked.
 */
static char signal_dir[4096];
static volatile sig_atomic_t signal_next;
static volatile sig_atomic_t signal_armed;

/* "DIR/run-NNNNNNNN" into buf (room for it), without stdio: async-signal-safe. */
static void run_name(char *buf, const char *dir, uint32_t id)
{
    size_t n = strlen(dir);
    memcpy(buf, dir, n);
    memcpy(buf + n, "/run-", 5);
    n += 5;
    for (int i = 7; i >= 0; i--, id /= 10)
        buf[n + (size_t)i] = (char)('0' + id % 10);
    buf[n + 8] = '\0';
}
#define RUN_NAME_EXTRA 14 /* "/run-" + 8 digits + NUL */

void mpiwc_spill_on_signal(void)
{
    if (!signal_armed)
        return;
    char name[sizeof signal_dir + RUN_NAME_EXTRA];
    for (uint32_t id = 0; id < (uint32_t)signal_next; id++) {
        run_name(name, signal_dir, id);
        (void)open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC); /* kept open: see above */
        unlink(name);
    }
    rmdir(signal_dir);
}

/* ---- the directory ---- */

void mpiwc_spill_init(struct mpiwc_spill *s, const char *parent, size_t limit)
{
    memset(s, 0, sizeof *s);
    s->parent = mpiwc_xstrdup(parent);
    s->limit = limit;
}

int mpiwc_spill_check_dir(const char *parent, char *err, size_t errlen)
{
    struct stat st;
    if (stat(parent, &st) != 0)
        return mpiwc_fail(err, errlen, "%s: %s", parent, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return mpiwc_fail(err, errlen, "%s: %s", parent, strerror(ENOTDIR));
    if (access(parent, W_OK | X_OK) != 0)
        return mpiwc_fail(err, errlen, "%s: %s", parent, strerror(errno));
    return 0;
}

static int spill_fail(struct mpiwc_spill *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int spill_fail(struct mpiwc_spill *s, const char *fmt, ...)
{
    if (!s->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->msg, sizeof s->msg, fmt, ap);
        va_end(ap);
    }
    s->failed = true;
    return -1;
}

/* Make the private directory on the first run. */
static int make_dir(struct mpiwc_spill *s)
{
    if (s->dir)
        return 0;
    char host[256] = "host";
    (void)gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (char *c = host; *c; c++)
        if (*c == '/' || *c == '.')
            *c = *c == '.' ? '\0' : '_'; /* the short name */
    struct passwd *pw = getpwuid(geteuid());
    char user[64];
    if (pw && strlen(pw->pw_name) < sizeof user && !strchr(pw->pw_name, '/'))
        snprintf(user, sizeof user, "%s", pw->pw_name);
    else
        snprintf(user, sizeof user, "%lu", (unsigned long)geteuid());
    size_t len = strlen(s->parent) + strlen(user) + strlen(host) + 64;
    char *dir = mpiwc_xmalloc(len);
    snprintf(dir, len, "%s%smpiwc-spill-%s-%s-%ld-XXXXXX", s->parent,
             s->parent[strlen(s->parent) - 1] == '/' ? "" : "/", user, host, (long)getpid());
    if (strlen(dir) + RUN_NAME_EXTRA > sizeof signal_dir) {
        free(dir);
        return spill_fail(s, "%s: %s", s->parent, strerror(ENAMETOOLONG));
    }
    if (!mkdtemp(dir)) {
        int e = errno;
        free(dir);
        return spill_fail(s, "%s: cannot make a spill directory: %s", s->parent, strerror(e));
    }
    s->dir = dir;
    signal_armed = 0;
    memcpy(signal_dir, dir, strlen(dir) + 1);
    signal_next = 0;
    signal_armed = 1;
    return 0;
}

static char *path_of(const struct mpiwc_spill *s, uint32_t id)
{
    char *p = mpiwc_xmalloc(strlen(s->dir) + RUN_NAME_EXTRA);
    run_name(p, s->dir, id);
    return p;
}

static void remove_run(const struct mpiwc_spill *s, uint32_t id)
{
    char *p = path_of(s, id);
    unlink(p);
    free(p);
}

void mpiwc_spill_close(struct mpiwc_spill *s)
{
    if (s->dir) {
        for (uint32_t id = 0; id < s->next; id++)
            remove_run(s, id);
        rmdir(s->dir);
        signal_armed = 0;
    }
    free(s->dir);
    free(s->parent);
    free(s->runs);
    memset(s, 0, sizeof *s);
}

/* ---- writing a run ---- */

struct writer {
    struct mpiwc_spill *s;
    uint32_t id;
    char *path;
    int fd;
    uint8_t *buf; /* BLOCK_HEADER, then the block's rows */
    size_t len, cap;
    uint64_t rows;
    uint8_t *prev; /* the word of the block's last row (0 bytes at a block's start) */
    size_t prev_len, prev_cap;
};

/* A row's most bytes besides its word's own: three varints. */
#define ROW_EXTRA (5 + 5 + 10)

static int write_all(struct writer *w, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return spill_fail(w->s, "%s: %s", w->s->dir, strerror(errno));
        p += k;
        n -= (size_t)k;
        w->s->st.bytes_written += (uint64_t)k;
    }
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t crc_of(const uint8_t *p, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) { /* crc32 takes a uInt length */
        uInt k = n > UINT_MAX ? UINT_MAX : (uInt)n;
        crc = crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)crc;
}

static int flush_block(struct writer *w)
{
    size_t n = w->len - BLOCK_HEADER;
    if (n == 0)
        return 0;
    put32(w->buf, (uint32_t)n);
    put32(w->buf + 4, crc_of(w->buf + BLOCK_HEADER, n));
    w->len = BLOCK_HEADER;
    w->prev_len = 0; /* a block decodes on its own */
    return write_all(w, w->buf, BLOCK_HEADER + n);
}

static int writer_open(struct mpiwc_spill *s, struct writer *w, enum mpiwc_sort order)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    w->fd = -1;
    if (s->failed)
        return -1;
    if (s->refuse)
        return spill_fail(s, "%s", s->refuse);
    if (make_dir(s) != 0)
        return -1;
    if (s->next == UINT32_MAX / 2)
        return spill_fail(s, "%s: too many runs", s->dir);
    w->id = s->next++;
    signal_next = (sig_atomic_t)s->next;
    w->path = path_of(s, w->id);
    w->fd = open(w->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (w->fd < 0)
        return spill_fail(s, "%s: %s", s->dir, strerror(errno));
    w->cap = BLOCK_HEADER + MPIWC_SPILL_BLOCK;
    w->buf = mpiwc_xmalloc(w->cap);
    uint8_t head[RUN_HEADER];
    memcpy(head, RUN_MAGIC, 8);
    put32(head + 8, RUN_VERSION);
    put32(head + 12, (uint32_t)order);
    w->len = BLOCK_HEADER;
    s->st.runs++;
    return write_all(w, head, sizeof head);
}

/*
 * A row: varint shared (bytes its word shares with the block's previous
 * row's), varint rest, varint count, then the rest of the word. Sorted runs
 * share long prefixes: 256 MiB of high-cardinality text spilled 940 MB as
 * record.h records (12 bytes of header a row), 3.5 times its input.
 */
static int writer_put(struct writer *w, const struct mpiwc_word *row)
{
    size_t most = ROW_EXTRA + row->len;
    if (w->len + most > w->cap) {
        if (flush_block(w) != 0)
            return -1;
        if (BLOCK_HEADER + most > w->cap) { /* a word longer than a block: a block of its own */
            if (most > UINT32_MAX)
                return spill_fail(w->s, "%s: a word of %u bytes is too long to spill", w->s->dir,
                                  row->len);
            w->cap = BLOCK_HEADER + most;
            w->buf = mpiwc_xrealloc(w->buf, w->cap);
        }
    }
    /* The bytes it shares with the previous row's word, eight at a step (sorted words
     * share several): the first that differs is the lowest byte of the difference, the
     * words being little-endian (as table_internal.h requires); then one at a time. */
    size_t shared = 0, most_shared = w->prev_len < row->len ? w->prev_len : row->len;
    for (; shared + 8 <= most_shared; shared += 8) {
        uint64_t a, b;
        memcpy(&a, w->prev + shared, 8);
        memcpy(&b, row->key + shared, 8);
        if (a != b) {
            shared += (size_t)__builtin_ctzll(a ^ b) / 8;
            break;
        }
    }
    while (shared < most_shared && w->prev[shared] == row->key[shared])
        shared++;
    uint8_t *p = mpiwc_varint_put(w->buf + w->len, shared);
    p = mpiwc_varint_put(p, row->len - shared);
    p = mpiwc_varint_put(p, row->count);
    memcpy(p, row->key + shared, row->len - shared);
    w->len = (size_t)(p - w->buf) + (row->len - shared);
    if (w->prev_cap < row->len)
        w->prev = mpiwc_grow(w->prev, &w->prev_cap, row->len, 1);
    memcpy(w->prev + shared, row->key + shared, row->len - shared);
    w->prev_len = row->len;
    w->rows++;
    return 0;
}

/* Test hook: MPIWC_TEST_SPILL_CORRUPT=N flips a bit of byte N (modulo the size) of each run. */
static void corrupt_for_test(const struct writer *w)
{
    const char *env = getenv("MPIWC_TEST_SPILL_CORRUPT");
    if (!env || !*env)
        return;
    off_t size = lseek(w->fd, 0, SEEK_END);
    if (size <= 0)
        return;
    off_t at = (off_t)(strtoull(env, NULL, 10) % (unsigned long long)size);
    uint8_t b;
    if (pread(w->fd, &b, 1, at) == 1) {
        b ^= 0x10;
        (void)!pwrite(w->fd, &b, 1, at);
    }
}

/* Finish the run: 0, or -1 (s->msg) with the file removed. */
static int writer_close(struct writer *w, bool ok)
{
    int rc = ok ? 0 : -1;
    if (rc == 0 && w->fd >= 0)
        rc = flush_block(w);
    if (rc == 0) {
        uint8_t end[BLOCK_HEADER + 8];
        put32(end, 0);
        memcpy(end + BLOCK_HEADER, &w->rows, 8);
        put32(end + 4, crc_of(end + BLOCK_HEADER, 8));
        rc = write_all(w, end, sizeof end);
    }
    if (rc == 0)
        corrupt_for_test(w);
    if (w->fd >= 0 && close(w->fd) != 0 && rc == 0)
        rc = spill_fail(w->s, "%s: %s", w->s->dir, strerror(errno));
    if (rc != 0 && w->path)
        unlink(w->path);
    free(w->path);
    free(w->buf);
    free(w->prev);
    w->path = NULL;
    w->buf = NULL;
    w->prev = NULL;
    return rc;
}

/* Write the stream in as one run; *id its name. Returns 0 or -1 (s->msg). */
static int write_stream(struct mpiwc_spill *s, struct mpiwc_rows *in, enum mpiwc_sort order,
                        uint32_t *id)
{
    struct writer w;
    int rc = writer_open(s, &w, order);
    struct mpiwc_word row;
    char why[MPIWC_ERRLEN];
    int got;
    while (rc == 0 && (got = mpiwc_rows_next(in, &row, why, sizeof why)) != 0) {
        if (got < 0)
            rc = spill_fail(s, "%s", why);
        else
            rc = writer_put(&w, &row);
    }
    *id = w.id;
    return writer_close(&w, rc == 0);
}

/* ---- reading a run ---- */

struct mpiwc_spill_reader {
    struct mpiwc_rows rows;
    char *path;
    int fd;
    struct mpiwc_spill_stats *st;
    enum mpiwc_sort order;
    uint8_t *buf; /* the current block */
    size_t cap;
    const uint8_t *pos, *end;
    uint64_t rows_read;
    uint64_t offset, size;       /* of the next block in the file; the file's */
    bool done, have_prev, fresh; /* fresh: no row read from this block yet */
    struct mpiwc_word prev;      /* the last row handed out: its word is key */
    /* The last row's word, then the next row's: it keeps the bytes that row shares, and
     * the caller's borrow of the last row ends as the next is read (rows.h). */
    uint8_t *key;
    size_t key_cap;
};

static int read_full(struct mpiwc_spill_reader *r, uint8_t *p, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t k = read(r->fd, p + *got, n - *got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        *got += (size_t)k;
    }
    r->st->bytes_read += *got;
    return 0;
}

static int bad(struct mpiwc_spill_reader *r, char *err, size_t errlen, const char *what)
{
    return mpiwc_fail(err, errlen, "%s: spill file %s (at byte %llu)", r->path, what,
                      (unsigned long long)r->offset);
}

/* Read the next block into buf; 1, 0 at the run's end, -1 on failure. */
static int next_block(struct mpiwc_spill_reader *r, char *err, size_t errlen)
{
    uint8_t head[BLOCK_HEADER];
    size_t got;
    if (read_full(r, head, sizeof head, &got) != 0)
        return mpiwc_fail(err, errlen, "%s: %s", r->path, strerror(errno));
    if (got < sizeof head)
        return bad(r, err, errlen, "ends early");
    uint32_t n, crc;
    memcpy(&n, head, 4);
    memcpy(&crc, head + 4, 4);
    size_t need = n ? n : 8;
    if (need > r->size - r->offset - BLOCK_HEADER) /* before a corrupt length is allocated */
        return bad(r, err, errlen, "ends early");
    if (need > r->cap) {
        r->cap = need;
        r->buf = mpiwc_xrealloc(r->buf, r->cap);
    }
    if (read_full(r, r->buf, need, &got) != 0)
        return mpiwc_fail(err, errlen, "%s: %s", r->path, strerror(errno));
    if (got < need)
        return bad(r, err, errlen, "ends early");
    if (crc_of(r->buf, need) != crc)
        return bad(r, err, errlen, "is corrupt (checksum)");
    r->offset += BLOCK_HEADER + need;
    if (n == 0) {
        uint64_t rows;
        memcpy(&rows, r->buf, 8);
        uint8_t extra;
        if (rows != r->rows_read)
            return bad(r, err, errlen, "is corrupt (row count)");
        if (read_full(r, &extra, 1, &got) != 0 || got != 0)
            return bad(r, err, errlen, "is corrupt (bytes after its end)");
        return 0;
    }
    r->pos = r->buf;
    r->end = r->buf + n;
    r->fresh = true;
    return 1;
}

/*
 * Does the row of count whose word is prev's first shared bytes, then
 * rest[0..n), come after prev? Past the shared bytes the words' next bytes
 * differ (the writer shares all it can), so this is most often one
 * comparison of bytes, where a comparison of the words called memcmp on the
 * whole of both.
 */
static bool follows(const struct mpiwc_word *prev, size_t shared, const uint8_t *rest, size_t n,
                    uint64_t count, enum mpiwc_sort order)
{
    if (order == MPIWC_SORT_COUNT && prev->count != count)
        return prev->count > count;
    size_t left = prev->len - shared, common = left < n ? left : n;
    if (common > 0 && prev->key[shared] != rest[0])
        return prev->key[shared] < rest[0];
    int c = common > 0 ? memcmp(prev->key + shared, rest, common) : 0;
    return c != 0 ? c < 0 : left < n;
}

static int reader_next(struct mpiwc_rows *rows, struct mpiwc_word *w, char *err, size_t errlen)
{
    struct mpiwc_spill_reader *r = (struct mpiwc_spill_reader *)rows;
    if (r->done)
        return 0;
    while (r->pos == r->end) {
        int rc = next_block(r, err, errlen);
        if (rc <= 0) {
            r->done = rc == 0;
            return rc;
        }
    }
    uint64_t shared, rest, count;
    const uint8_t *p = r->pos;
    if (r->end - p >= 3 && ((p[0] | p[1] | p[2]) & 0x80) == 0) { /* three one-byte varints */
        shared = p[0];
        rest = p[1];
        count = p[2];
        p += 3;
    } else {
        p = mpiwc_varint_get(p, r->end, &shared);
        p = p ? mpiwc_varint_get(p, r->end, &rest) : NULL;
        p = p ? mpiwc_varint_get(p, r->end, &count) : NULL;
    }
    if (!p || (r->fresh ? shared != 0 : shared > r->prev.len) || rest > (uint64_t)(r->end - p) ||
        shared + rest == 0 || shared + rest > UINT32_MAX || count == 0 || count > MPIWC_COUNT_MAX)
        return bad(r, err, errlen, "is corrupt (row)");
    if (r->have_prev && !follows(&r->prev, (size_t)shared, p, (size_t)rest, count, r->order))
        return bad(r, err, errlen, "is corrupt (rows out of order)");
    /* The word: the last row's first shared bytes, in place already, then rest. */
    size_t len = (size_t)(shared + rest);
    if (r->key_cap < len)
        r->key = mpiwc_grow(r->key, &r->key_cap, len, 1);
    memcpy(r->key + shared, p, (size_t)rest);
    r->pos = p + rest;
    *w = (struct mpiwc_word){r->key, (uint32_t)len, count};
    r->prev = *w;
    r->have_prev = true;
    r->fresh = false;
    r->rows_read++;
    return 1;
}

int mpiwc_spill_reader_open(struct mpiwc_spill_reader **out, const char *path,
                            struct mpiwc_spill_stats *st, char *err, size_t errlen)
{
    struct mpiwc_spill_reader *r = mpiwc_xcalloc(1, sizeof *r);
    r->rows.next = reader_next;
    r->path = mpiwc_xstrdup(path);
    r->st = st;
    r->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    *out = r;
    if (r->fd < 0)
        return mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
    (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    struct stat st_;
    if (fstat(r->fd, &st_) != 0)
        return mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
    r->size = (uint64_t)st_.st_size;
    uint8_t head[RUN_HEADER];
    size_t got;
    if (read_full(r, head, sizeof head, &got) != 0)
        return mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
    uint32_t version, order;
    memcpy(&version, head + 8, 4);
    memcpy(&order, head + 12, 4);
    if (got < sizeof head || memcmp(head, RUN_MAGIC, 8) != 0 || version != RUN_VERSION ||
        (order != MPIWC_SORT_COUNT && order != MPIWC_SORT_WORD))
        return bad(r, err, errlen, "has no valid header");
    r->order = (enum mpiwc_sort)order;
    r->offset = RUN_HEADER;
    r->cap = MPIWC_SPILL_BLOCK;
    r->buf = mpiwc_xmalloc(r->cap);
    return 0;
}

struct mpiwc_rows *mpiwc_spill_reader_rows(struct mpiwc_spill_reader *r)
{
    return &r->rows;
}

void mpiwc_spill_reader_close(struct mpiwc_spill_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->path);
    free(r->buf);
    free(r->key);
    free(r);
}

/* ---- spilling a table ---- */

bool mpiwc_spill_due(const struct mpiwc_spill *s, const struct mpiwc_table *t, size_t more)
{
    if (s->limit == 0 || s->failed || t->size == 0)
        return false;
    /* Only growth takes more memory: a table that would not grow keeps its words, even
     * one whose smallest arrays are past a tiny limit (it then spills when they fill). */
    size_t now = mpiwc_table_memory_peak(t, 0), peak = mpiwc_table_memory_peak(t, more);
    if (peak == now)
        return false;
    return peak > s->limit; /* the sort needs nothing more: it is done in the table */
}

int mpiwc_spill_table(struct mpiwc_spill *s, struct mpiwc_table *t)
{
    int rc = -1;
    if (!s->failed && t->size > 0) {
        struct mpiwc_rows_table a;
        mpiwc_rows_table_init(&a, t, MPIWC_SORT_WORD);
        uint32_t id;
        rc = write_stream(s, &a.rows, MPIWC_SORT_WORD, &id);
        if (rc == 0) {
            s->runs = mpiwc_grow(s->runs, &s->runs_cap, s->nruns + 1, sizeof *s->runs);
            s->runs[s->nruns++] = id;
        }
    } else if (!s->failed) {
        rc = 0;
    }
    mpiwc_table_clear(t);
    return rc;
}

/* ---- merging runs ---- */

/* Open runs merged as one stream. */
struct spill_merged {
    struct mpiwc_spill_reader **readers;
    struct mpiwc_rows **in;
    size_t n;
    struct mpiwc_rows_merge merge;
    /* the count order's external sort, when it made runs: they are what readers read */
};

static void merged_free(struct spill_merged *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        mpiwc_spill_reader_close(m->readers[i]);
    mpiwc_rows_merge_free(&m->merge);
    free(m->readers);
    free(m->in);
    free(m);
}

/* Open runs ids[0..n) (n <= MPIWC_SPILL_FANIN) as one merged stream. */
static struct spill_merged *open_runs(struct mpiwc_spill *s, const uint32_t *ids, size_t n,
                                      enum mpiwc_sort order, bool combine)
{
    struct spill_merged *m = mpiwc_xcalloc(1, sizeof *m);
    m->readers = mpiwc_xcalloc(n ? n : 1, sizeof *m->readers);
    m->in = mpiwc_xcalloc(n ? n : 1, sizeof *m->in);
    m->n = n;
    char why[MPIWC_ERRLEN];
    for (size_t i = 0; i < n; i++) {
        char *path = path_of(s, ids[i]);
        int rc = mpiwc_spill_reader_open(&m->readers[i], path, &s->st, why, sizeof why);
        free(path);
        if (rc != 0) {
            spill_fail(s, "%s", why);
            merged_free(m);
            return NULL;
        }
        m->in[i] = &m->readers[i]->rows;
    }
    mpiwc_rows_merge_init(&m->merge, m->in, n, order, combine);
    return m;
}

/*
 * Merge the runs ids[0..*n) until at most MPIWC_SPILL_FANIN are left: the
 * first FANIN into one new run at a time, their files removed. 0 or -1.
 */
static int reduce_runs(struct mpiwc_spill *s, uint32_t *ids, size_t *n, enum mpiwc_sort order,
                       bool combine)
{
    while (*n > MPIWC_SPILL_FANIN) {
        struct spill_merged *m = open_runs(s, ids, MPIWC_SPILL_FANIN, order, combine);
        if (!m)
            return -1;
        uint32_t id;
        int rc = write_stream(s, &m->merge.rows, order, &id);
        merged_free(m);
        if (rc != 0)
            return -1;
        for (size_t i = 0; i < MPIWC_SPILL_FANIN; i++)
            remove_run(s, ids[i]);
        memmove(ids, ids + MPIWC_SPILL_FANIN, (*n - MPIWC_SPILL_FANIN) * sizeof *ids);
        *n -= MPIWC_SPILL_FANIN;
        ids[(*n)++] = id;
    }
    return 0;
}

/*
 * The count order's external sort of the merged words whose count passes
 * MPIWC_SPILL_BUCKETS (the others go to their count's bucket, already in
 * order): rows fill a buffer of s->limit bytes (keys copied), which is
 * sorted by count and written as a run when full. With keep (--top), a
 * full buffer first drops all but its first keep rows, which is all the
 * output can use. The runs' ids go to *ids (caller frees); or, when
 * everything fit, the sorted rows stay in *rows and *arena.
 */
struct sorter {
    struct mpiwc_spill *s;
    uint64_t keep;
    struct mpiwc_word *rows;
    size_t n, cap;
    uint8_t *arena;
    size_t len, acap;
    uint32_t *ids;
    size_t nids, ids_cap;
};

static size_t sorter_bytes(const struct sorter *so)
{
    return so->cap * sizeof *so->rows + so->acap + so->n * sizeof(uint64_t);
}

/* The sorter's buffer: the budget, or 1 MiB under a smaller one (a fixed buffer, as the
 * runs' blocks are: a tiny --memory-limit must not make a run of every few rows). */
#define SORTER_MIN ((size_t)1 << 20)
static size_t sorter_limit(const struct sorter *so)
{
    return so->s->limit > SORTER_MIN ? so->s->limit : SORTER_MIN;
}

/* Keys moved into a fresh arena of what the rows use (after rows were dropped). */
static void sorter_compact(struct sorter *so)
{
    size_t need = 0;
    for (size_t i = 0; i < so->n; i++)
        need += so->rows[i].len;
    uint8_t *arena = mpiwc_xmalloc(need ? need : 1);
    size_t at = 0;
    for (size_t i = 0; i < so->n; i++) {
        memcpy(arena + at, so->rows[i].key, so->rows[i].len);
        so->rows[i].key = arena + at;
        at += so->rows[i].len;
    }
    free(so->arena);
    so->arena = arena;
    so->len = at;
    so->acap = need ? need : 1;
}

static int sorter_flush(struct sorter *so, bool last)
{
    mpiwc_format_sort(so->rows, so->n, MPIWC_SORT_COUNT);
    if (so->keep && so->n > so->keep) {
        so->n = (size_t)so->keep;
        sorter_compact(so);
        so->rows = mpiwc_xrealloc(so->rows, so->n * sizeof *so->rows);
        so->cap = so->n;
        if (!last && sorter_bytes(so) < sorter_limit(so) / 2)
            return 0; /* room left for more rows */
    }
    if (last && so->nids == 0)
        return 0; /* everything fit: the rows stay */
    struct mpiwc_rows_array a;
    mpiwc_rows_array_init(&a, so->rows, so->n);
    uint32_t id;
    if (write_stream(so->s, &a.rows, MPIWC_SORT_COUNT, &id) != 0)
        return -1;
    so->ids = mpiwc_grow(so->ids, &so->ids_cap, so->nids + 1, sizeof *so->ids);
    so->ids[so->nids++] = id;
    so->n = 0;
    so->len = 0;
    return 0;
}

static int sorter_add(struct sorter *so, const struct mpiwc_word *w)
{
    if (so->n > 0 &&
        (sorter_bytes(so) >= sorter_limit(so) || so->acap - so->len < w->len || so->n == so->cap)) {
        /* Full, or about to grow: past the budget when it would. */
        size_t grow = so->n == so->cap ? so->cap * sizeof *so->rows : 0;
        grow += so->acap - so->len < w->len ? so->acap + w->len : 0;
        if (sorter_bytes(so) + grow >= sorter_limit(so) && sorter_flush(so, false) != 0)
            return -1;
    }
    so->rows = mpiwc_grow(so->rows, &so->cap, so->n + 1, sizeof *so->rows);
    if (so->acap - so->len < w->len) {
        /* Keys point into the arena: a new one, the old kept until the rows are gone. */
        if (so->len == 0) {
            so->acap = mpiwc_grow_cap(so->acap ? so->acap : 1 << 12, w->len);
            free(so->arena);
            so->arena = mpiwc_xmalloc(so->acap);
        } else {
            uint8_t *old = so->arena;
            size_t acap = mpiwc_grow_cap(so->acap, so->len + w->len);
            so->arena = mpiwc_xmalloc(acap);
            memcpy(so->arena, old, so->len);
            for (size_t i = 0; i < so->n; i++)
                so->rows[i].key = so->arena + (so->rows[i].key - old);
            free(old);
            so->acap = acap;
        }
    }
    memcpy(so->arena + so->len, w->key, w->len);
    so->rows[so->n++] = (struct mpiwc_word){so->arena + so->len, w->len, w->count};
    so->len += w->len;
    return 0;
}

/*
 * The count order's common counts: a row of count c <= MPIWC_SPILL_BUCKETS
 * goes to bucket c, a run of its own, as it comes. The merged words come in
 * word order, which is their order among the rows of one count, so a bucket
 * needs no sort and no merge: the output is the sorted rows of higher
 * counts, then the buckets from the highest count down. With keep (--top),
 * a bucket holds no more than its first keep rows.
 */
struct buckets {
    struct mpiwc_spill *s;
    uint64_t keep;
    struct writer w[MPIWC_SPILL_BUCKETS]; /* w[c - 1]: count c */
    bool used[MPIWC_SPILL_BUCKETS];
    uint32_t ids[MPIWC_SPILL_BUCKETS]; /* when closed: the runs, highest count first */
    size_t n;
};

/* Put the row in its bucket: 0, 1 when its count has none, -1 (s->msg). */
static int bucket_put(struct buckets *b, const struct mpiwc_word *row)
{
    if (row->count > MPIWC_SPILL_BUCKETS)
        return 1;
    size_t c = (size_t)row->count - 1;
    if (!b->used[c]) {
        b->used[c] = true;
        if (writer_open(b->s, &b->w[c], MPIWC_SORT_COUNT) != 0)
            return -1;
    }
    if (b->keep && b->w[c].rows >= b->keep)
        return 0;
    return writer_put(&b->w[c], row);
}

/* Finish every bucket (ok false: remove them all). 0, or -1 (s->msg). */
static int buckets_close(struct buckets *b, bool ok)
{
    int rc = ok ? 0 : -1;
    for (size_t c = MPIWC_SPILL_BUCKETS; c-- > 0;)
        if (b->used[c]) {
            rc = writer_close(&b->w[c], rc == 0) == 0 ? rc : -1;
            if (rc == 0)
                b->ids[b->n++] = b->w[c].id;
        }
    return rc;
}

/* A stream of the sorted rows (head), then of each bucket's run in turn, removed once read. */
struct spill_concat {
    struct mpiwc_rows rows;
    struct mpiwc_rows *head; /* NULL once read */
    struct mpiwc_spill *s;
    uint32_t ids[MPIWC_SPILL_BUCKETS];
    size_t n, at;
    struct mpiwc_spill_reader *r; /* of ids[at] */
};

static int concat_next(struct mpiwc_rows *rows, struct mpiwc_word *w, char *err, size_t errlen)
{
    struct spill_concat *c = (struct spill_concat *)rows;
    if (c->head) {
        int got = mpiwc_rows_next(c->head, w, err, errlen);
        if (got != 0)
            return got;
        c->head = NULL;
    }
    for (;;) {
        if (c->r) {
            int got = mpiwc_rows_next(mpiwc_spill_reader_rows(c->r), w, err, errlen);
            if (got != 0)
                return got;
            mpiwc_spill_reader_close(c->r);
            c->r = NULL;
            remove_run(c->s, c->ids[c->at++]);
        }
        if (c->at == c->n)
            return 0;
        char *path = path_of(c->s, c->ids[c->at]);
        int rc = mpiwc_spill_reader_open(&c->r, path, &c->s->st, err, errlen);
        free(path);
        if (rc != 0) {
            mpiwc_spill_reader_close(c->r);
            c->r = NULL;
            return -1;
        }
    }
}

static void concat_free(struct spill_concat *c)
{
    if (c)
        mpiwc_spill_reader_close(c->r);
    free(c);
}

/* ---- the result ---- */

int mpiwc_spill_result_open(struct mpiwc_spill *s, struct mpiwc_table *t, enum mpiwc_sort order,
                            uint64_t top, struct mpiwc_spill_result *res)
{
    memset(res, 0, sizeof *res);
    res->s = s;
    if (!mpiwc_spill_spilled(s)) {
        mpiwc_rows_table_init(&res->table, t, order);
        res->rows = &res->table.rows;
        res->distinct = t->size;
        return 0;
    }
    double t0 = mpiwc_seconds();
    /* The table's words become one more run, and its memory the merge's. */
    int spilled = mpiwc_spill_table(s, t);
    mpiwc_table_free(t);
    mpiwc_table_init(t, 0);
    if (spilled != 0 || reduce_runs(s, s->runs, &s->nruns, MPIWC_SORT_WORD, true))
        return -1;
    struct spill_merged *m = open_runs(s, s->runs, s->nruns, MPIWC_SORT_WORD, true);
    if (!m)
        return -1;
    if (order == MPIWC_SORT_WORD) {
        res->merged = m;
        res->rows = &m->merge.rows;
        res->distinct = UINT64_MAX;
        s->st.merge_s += mpiwc_seconds() - t0;
        return 0;
    }
    /* Count order: the common counts into buckets, the others sorted externally. */
    struct buckets b = {.s = s, .keep = top};
    struct sorter so = {.s = s, .keep = top};
    struct mpiwc_word row;
    char why[MPIWC_ERRLEN];
    int got, rc = 0;
    uint64_t distinct = 0;
    while (rc == 0 && (got = mpiwc_rows_next(&m->merge.rows, &row, why, sizeof why)) != 0) {
        if (got < 0) {
            rc = spill_fail(s, "%s", why);
        } else {
            distinct++;
            rc = bucket_put(&b, &row);
            if (rc > 0)
                rc = sorter_add(&so, &row);
        }
    }
    merged_free(m);
    rc = buckets_close(&b, rc == 0) == 0 ? rc : -1;
    if (rc == 0)
        rc = sorter_flush(&so, true);
    for (size_t i = 0; i < s->nruns; i++) /* merged: of no more use */
        remove_run(s, s->runs[i]);
    s->nruns = 0;
    res->distinct = distinct;
    if (rc == 0 && so.nids == 0) {
        res->array = so.rows; /* keys in so.arena, freed with the result */
        so.rows = NULL;
        mpiwc_rows_array_init(&res->arr, res->array, so.n);
        res->rows = &res->arr.rows;
        res->keys = so.arena;
        so.arena = NULL;
    } else if (rc == 0) {
        free(so.rows);
        free(so.arena);
        so.rows = NULL;
        so.arena = NULL;
        rc = reduce_runs(s, so.ids, &so.nids, MPIWC_SORT_COUNT, false);
        if (rc == 0 && (m = open_runs(s, so.ids, so.nids, MPIWC_SORT_COUNT, false)) == NULL)
            rc = -1;
        if (rc == 0) {
            res->merged = m;
            res->rows = &m->merge.rows;
        }
    }
    if (rc == 0 && b.n > 0) { /* the buckets after the sorted rows */
        struct spill_concat *c = mpiwc_xcalloc(1, sizeof *c);
        *c = (struct spill_concat){{concat_next}, res->rows, s, {0}, b.n, 0, NULL};
        memcpy(c->ids, b.ids, b.n * sizeof *b.ids);
        res->concat = c;
        res->rows = &c->rows;
    }
    free(so.rows);
    free(so.arena);
    free(so.ids);
    s->st.merge_s += mpiwc_seconds() - t0;
    return rc;
}

void mpiwc_spill_result_close(struct mpiwc_spill_result *res)
{
    free(res->array);
    free(res->keys);
    merged_free(res->merged);
    concat_free(res->concat);
    memset(res, 0, sizeof *res);
}

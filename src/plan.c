#include "mpiwc/plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpiwc/util.h"

/* ---- expansion (rank 0) ---- */

struct file_list {
    struct mpiwc_plan_file *v;
    size_t n, cap;
    size_t skipped;
    char *first_skipped;
};

static void list_push(struct file_list *l, char *path, uint64_t size)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = mpiwc_xrealloc(l->v, mpiwc_mul_size(l->cap, sizeof *l->v));
    }
    l->v[l->n].path = path;
    l->v[l->n].size = size;
    l->n++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a > 0 && dir[a - 1] == '/';
    char *p = mpiwc_xmalloc(a + b + 2);
    memcpy(p, dir, a);
    if (!slash)
        p[a++] = '/';
    memcpy(p + a, name, b + 1);
    return p;
}

static int fail(char *err, size_t errlen, const char *path, const char *reason)
{
    snprintf(err, errlen, "%s: %s", path, reason);
    return -1;
}

static int check_readable(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, path, strerror(errno));
    close(fd);
    return 0;
}

/*
 * Add the regular files under dir, recursively, names in byte order.
 * Symbolic links to files are followed; links to directories are not (no loops).
 */
static int walk(struct file_list *l, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return fail(err, errlen, dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = mpiwc_xrealloc(names, mpiwc_mul_size(cap, sizeof *names));
        }
        names[n++] = mpiwc_xstrdup(de->d_name);
    }
    int rc = errno ? fail(err, errlen, dir, strerror(errno)) : 0;
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char *path = join(dir, names[i]);
        free(names[i]);
        struct stat lst, st;
        if (rc != 0 || lstat(path, &lst) != 0) {
            if (rc == 0)
                rc = fail(err, errlen, path, strerror(errno));
            free(path);
            continue;
        }
        if (S_ISDIR(lst.st_mode)) {
            rc = walk(l, path, err, errlen);
            free(path);
        } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = check_readable(path, err, errlen);
            if (rc == 0)
                list_push(l, path, (uint64_t)st.st_size);
            else
                free(path);
        } else {
            /* FIFOs, sockets, devices, dangling or directory links: not input. */
            if (l->skipped++ == 0)
                l->first_skipped = path;
            else
                free(path);
        }
    }
    free(names);
    return rc;
}

int mpiwc_plan_expand(struct mpiwc_plan *plan, char *const *paths, size_t npaths, char *err,
                      size_t errlen)
{
    struct file_list l = {0};
    bool have_stdin = false;
    int rc = 0;
    for (size_t i = 0; i < npaths && rc == 0; i++) {
        const char *path = paths[i];
        struct stat st;
        if (strcmp(path, "-") == 0) {
            if (have_stdin)
                rc = fail(err, errlen, path, "standard input given more than once");
            else
                list_push(&l, mpiwc_xstrdup("-"), MPIWC_PLAN_STREAM);
            have_stdin = true;
        } else if (path[0] == '\0') {
            rc = fail(err, errlen, "''", "empty path");
        } else if (stat(path, &st) != 0) {
            rc = fail(err, errlen, path, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            size_t before = l.n;
            rc = walk(&l, path, err, errlen);
            if (rc == 0 && l.n == before)
                rc = fail(err, errlen, path, "directory has no files");
        } else if (S_ISREG(st.st_mode)) {
            rc = check_readable(path, err, errlen);
            if (rc == 0)
                list_push(&l, mpiwc_xstrdup(path), (uint64_t)st.st_size);
        } else {
            rc = fail(err, errlen, path, "not a regular file or directory");
        }
    }
    if (rc == 0 && l.n > UINT32_MAX)
        rc = fail(err, errlen, paths[0], "too many files (more than 2^32)");
    if (rc != 0) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i].path);
        free(l.v);
        free(l.first_skipped);
        return -1;
    }
    plan->files = l.v;
    plan->nfiles = l.n;
    plan->skipped = l.skipped;
    plan->first_skipped = l.first_skipped;
    return 0;
}

/* ---- split arithmetic ---- */

uint64_t mpiwc_plan_boundary(uint64_t total, int nranks, int r)
{
    uint64_t n = (uint64_t)nranks, k = (uint64_t)r;
    uint64_t q = total / n, rem = total % n;
    return k * q + (k < rem ? k : rem);
}

void mpiwc_plan_split(struct mpiwc_plan *plan, int nranks)
{
    free(plan->ranges);
    free(plan->rank_first);
    plan->nranks = nranks;
    plan->total_bytes = 0;
    size_t stream = SIZE_MAX;
    for (size_t i = 0; i < plan->nfiles; i++) {
        if (plan->files[i].size == MPIWC_PLAN_STREAM)
            stream = i;
        else
            plan->total_bytes += plan->files[i].size;
    }
    /* Every boundary inside a file adds at most one range to the file count. */
    size_t cap = plan->nfiles + (size_t)nranks + 1;
    plan->ranges = mpiwc_xmalloc(mpiwc_mul_size(cap, sizeof *plan->ranges));
    plan->rank_first = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks + 1, sizeof(size_t)));
    size_t nr = 0, f = 0;
    uint64_t file_start = 0; /* offset of files[f] in the concatenation */
    for (int r = 0; r < nranks; r++) {
        plan->rank_first[r] = nr;
        if (r == 0 && stream != SIZE_MAX)
            plan->ranges[nr++] = (struct mpiwc_plan_range){(uint32_t)stream, 0, MPIWC_PLAN_STREAM};
        uint64_t lo = mpiwc_plan_boundary(plan->total_bytes, nranks, r);
        uint64_t hi = mpiwc_plan_boundary(plan->total_bytes, nranks, r + 1);
        while (lo < hi) {
            /* Advance to the file that holds byte lo (skipping empty files and stdin). */
            while (plan->files[f].size == MPIWC_PLAN_STREAM ||
                   file_start + plan->files[f].size <= lo) {
                if (plan->files[f].size != MPIWC_PLAN_STREAM)
                    file_start += plan->files[f].size;
                f++;
            }
            uint64_t file_end = file_start + plan->files[f].size;
            uint64_t stop = hi < file_end ? hi : file_end;
            plan->ranges[nr++] =
                (struct mpiwc_plan_range){(uint32_t)f, lo - file_start, stop - file_start};
            lo = stop;
        }
    }
    plan->rank_first[nranks] = nr;
    plan->nranges = nr;
}

/* ---- packing ---- */

struct writer {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct writer *w, const void *src, size_t n)
{
    if (w->cap - w->len < n) {
        while (w->cap - w->len < n)
            w->cap = w->cap ? mpiwc_mul_size(w->cap, 2) : 256;
        w->p = mpiwc_xrealloc(w->p, w->cap);
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void put64(struct writer *w, uint64_t v)
{
    put(w, &v, sizeof v);
}

#define PLAN_MAGIC 0x4e414c50u /* "PLAN" */

size_t mpiwc_plan_pack(const struct mpiwc_plan *plan, uint8_t **buf)
{
    struct writer w = {0};
    uint32_t magic = PLAN_MAGIC;
    put(&w, &magic, sizeof magic);
    put64(&w, (uint64_t)plan->nranks);
    put64(&w, plan->total_bytes);
    put64(&w, plan->nfiles);
    for (size_t i = 0; i < plan->nfiles; i++) {
        uint64_t len = strlen(plan->files[i].path);
        put64(&w, plan->files[i].size);
        put64(&w, len);
        put(&w, plan->files[i].path, len);
    }
    put64(&w, plan->nranges);
    for (int r = 0; r <= plan->nranks; r++)
        put64(&w, plan->rank_first[r]);
    for (size_t i = 0; i < plan->nranges; i++) {
        put64(&w, plan->ranges[i].file);
        put64(&w, plan->ranges[i].start);
        put64(&w, plan->ranges[i].end);
    }
    *buf = w.p;
    return w.len;
}

struct reader {
    const uint8_t *p;
    size_t left;
    bool bad;
};

static uint64_t get64(struct reader *r)
{
    uint64_t v = 0;
    if (r->left < sizeof v) {
        r->bad = true;
        return 0;
    }
    memcpy(&v, r->p, sizeof v);
    r->p += sizeof v;
    r->left -= sizeof v;
    return v;
}

int mpiwc_plan_unpack(struct mpiwc_plan *plan, const uint8_t *buf, size_t len)
{
    struct reader r = {buf, len, false};
    memset(plan, 0, sizeof *plan);
    uint32_t magic = 0;
    if (len < sizeof magic)
        return -1;
    memcpy(&magic, buf, sizeof magic);
    r.p += sizeof magic;
    r.left -= sizeof magic;
    uint64_t nranks = get64(&r);
    plan->total_bytes = get64(&r);
    uint64_t nfiles = get64(&r);
    /* Each file takes at least 16 bytes, each range 24, each rank 8: bound before allocating. */
    if (r.bad || magic != PLAN_MAGIC || nranks == 0 || nranks > INT32_MAX || nfiles > r.left / 16 ||
        nfiles > UINT32_MAX)
        return -1;
    plan->nranks = (int)nranks;
    plan->files = mpiwc_xcalloc(nfiles ? nfiles : 1, sizeof *plan->files);
    for (uint64_t i = 0; i < nfiles && !r.bad; i++) {
        plan->files[i].size = get64(&r);
        uint64_t n = get64(&r);
        if (r.bad || n > r.left) {
            r.bad = true;
            break;
        }
        char *path = mpiwc_xmalloc(n + 1);
        memcpy(path, r.p, n);
        path[n] = '\0';
        r.p += n;
        r.left -= n;
        plan->files[i].path = path;
        plan->nfiles = i + 1;
    }
    uint64_t nranges = get64(&r);
    if (r.bad || nranks + 1 > r.left / 8 || nranges > r.left / 24)
        goto bad;
    plan->rank_first = mpiwc_xmalloc(mpiwc_mul_size(nranks + 1, sizeof(size_t)));
    for (uint64_t k = 0; k <= nranks; k++) {
        plan->rank_first[k] = get64(&r);
        if (plan->rank_first[k] > nranges ||
            (k > 0 && plan->rank_first[k] < plan->rank_first[k - 1]))
            goto bad;
    }
    if (plan->rank_first[0] != 0 || plan->rank_first[nranks] != nranges)
        goto bad;
    plan->ranges = mpiwc_xmalloc(mpiwc_mul_size(nranges ? nranges : 1, sizeof *plan->ranges));
    plan->nranges = nranges;
    for (uint64_t i = 0; i < nranges; i++) {
        uint64_t f = get64(&r);
        plan->ranges[i].file = (uint32_t)f;
        plan->ranges[i].start = get64(&r);
        plan->ranges[i].end = get64(&r);
        if (r.bad || f >= plan->nfiles || plan->ranges[i].start > plan->ranges[i].end)
            goto bad;
    }
    if (r.bad || r.left != 0)
        goto bad;
    return 0;
bad:
    mpiwc_plan_free(plan);
    return -1;
}

uint64_t mpiwc_plan_rank_bytes(const struct mpiwc_plan *plan, int r)
{
    uint64_t sum = 0;
    for (size_t i = plan->rank_first[r]; i < plan->rank_first[r + 1]; i++)
        if (plan->ranges[i].end != MPIWC_PLAN_STREAM)
            sum += plan->ranges[i].end - plan->ranges[i].start;
    return sum;
}

static double imbalance(const struct mpiwc_plan *plan)
{
    uint64_t max = 0;
    for (int r = 0; r < plan->nranks; r++) {
        uint64_t b = mpiwc_plan_rank_bytes(plan, r);
        max = b > max ? b : max;
    }
    double mean = (double)plan->total_bytes / plan->nranks;
    return mean > 0 ? (double)max / mean : 1.0;
}

static void json_path(FILE *out, const char *path)
{
    /* Paths are bytes: escape like the table's words (format.h), inline here to keep plan local. */
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else if (*p >= 0x80)
            fprintf(out, "\\udc%02x", *p); /* bytes, not decoded: see --format=json */
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

int mpiwc_plan_print(const struct mpiwc_plan *plan, FILE *out, bool json)
{
    size_t stdin_files = 0;
    for (size_t i = 0; i < plan->nfiles; i++)
        stdin_files += plan->files[i].size == MPIWC_PLAN_STREAM;
    if (json) {
        fprintf(out,
                "{\"ranks\": %d, \"files\": %zu, \"total_bytes\": %" PRIu64
                ", \"stdin\": %s, \"imbalance\": %.6f, \"rank_plans\": [",
                plan->nranks, plan->nfiles - stdin_files, plan->total_bytes,
                stdin_files ? "true" : "false", imbalance(plan));
        for (int r = 0; r < plan->nranks; r++) {
            fprintf(out, "%s\n  {\"rank\": %d, \"bytes\": %" PRIu64 ", \"ranges\": [", r ? "," : "",
                    r, mpiwc_plan_rank_bytes(plan, r));
            for (size_t i = plan->rank_first[r]; i < plan->rank_first[r + 1]; i++) {
                const struct mpiwc_plan_range *g = &plan->ranges[i];
                fputs(i > plan->rank_first[r] ? ", {\"path\": " : "{\"path\": ", out);
                json_path(out, plan->files[g->file].path);
                if (g->end == MPIWC_PLAN_STREAM)
                    fputs(", \"start\": 0, \"end\": null}", out);
                else
                    fprintf(out, ", \"start\": %" PRIu64 ", \"end\": %" PRIu64 "}", g->start,
                            g->end);
            }
            fputs("]}", out);
        }
        fputs("\n]}\n", out);
    } else {
        for (int r = 0; r < plan->nranks; r++) {
            size_t n = plan->rank_first[r + 1] - plan->rank_first[r];
            fprintf(out, "rank %d: %" PRIu64 " bytes in %zu range%s\n", r,
                    mpiwc_plan_rank_bytes(plan, r), n, n == 1 ? "" : "s");
            for (size_t i = plan->rank_first[r]; i < plan->rank_first[r + 1]; i++) {
                const struct mpiwc_plan_range *g = &plan->ranges[i];
                if (g->end == MPIWC_PLAN_STREAM)
                    fprintf(out, "  %s (standard input, to its end)\n", plan->files[g->file].path);
                else
                    fprintf(out, "  %s [%" PRIu64 ", %" PRIu64 ")\n", plan->files[g->file].path,
                            g->start, g->end);
            }
        }
        fprintf(
            out,
            "total: %" PRIu64 " bytes in %zu file%s%s over %d rank%s; imbalance (max/mean) %.3f\n",
            plan->total_bytes, plan->nfiles - stdin_files,
            plan->nfiles - stdin_files == 1 ? "" : "s", stdin_files ? " (and standard input)" : "",
            plan->nranks, plan->nranks == 1 ? "" : "s", imbalance(plan));
    }
    return fflush(out) != 0 || ferror(out) ? -1 : 0;
}

void mpiwc_plan_free(struct mpiwc_plan *plan)
{
    for (size_t i = 0; i < plan->nfiles; i++)
        free(plan->files[i].path);
    free(plan->files);
    free(plan->ranges);
    free(plan->rank_first);
    free(plan->first_skipped);
    memset(plan, 0, sizeof *plan);
}

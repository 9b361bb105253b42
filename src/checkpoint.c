#include "mpiwc/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "mpiwc/record.h"
#include "mpiwc/util.h"

static const char magic[8] = {'M', 'P', 'I', 'W', 'C', 'C', 'K', '1'};
#define HEADER_BYTES (8u + 4u * 4u + 8u + 8u)
#define INTERVAL_BYTES 20u

static volatile sig_atomic_t stop_requested, map_over;

bool mpiwc_ckpt_request_stop(void)
{
    if (map_over)
        return false;
    stop_requested = 1;
    return true;
}

void mpiwc_ckpt_map_over(void)
{
    map_over = 1;
}

bool mpiwc_ckpt_stop_requested(void)
{
    return stop_requested != 0;
}

void mpiwc_ckpt_done_add(struct mpiwc_ckpt_done *d, uint32_t file, uint64_t start, uint64_t end)
{
    if (start >= end)
        return;
    if (d->n && d->v[d->n - 1].file == file && d->v[d->n - 1].end == start) {
        d->v[d->n - 1].end = end;
        return;
    }
    d->v = mpiwc_grow(d->v, &d->cap, d->n + 1, sizeof *d->v);
    d->v[d->n++] = (struct mpiwc_plan_range){file, start, end};
}

void mpiwc_ckpt_done_free(struct mpiwc_ckpt_done *d)
{
    free(d->v);
    memset(d, 0, sizeof *d);
}

/* FNV-1a, 64 bits: a fingerprint, not a defence against an adversary. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}
#define FNV_START UINT64_C(0xcbf29ce484222325)

static uint64_t fnv64(uint64_t h, uint64_t v)
{
    return fnv(h, &v, sizeof v);
}

/* Size and modification time (ns) of path, or zeros when it cannot be stat'ed. */
static uint64_t fnv_stat(uint64_t h, const char *path)
{
    struct stat st;
    uint64_t size = 0, mtime = 0;
    if (stat(path, &st) == 0) {
        size = (uint64_t)st.st_size;
        mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
    }
    return fnv64(fnv64(h, size), mtime);
}

uint64_t mpiwc_ckpt_fingerprint_inputs(const struct mpiwc_plan *plan)
{
    uint64_t h = fnv64(FNV_START, plan->nfiles);
    for (size_t i = 0; i < plan->nfiles; i++) {
        const struct mpiwc_plan_file *f = &plan->files[i];
        h = fnv(h, f->path, strlen(f->path) + 1);
        h = fnv64(fnv64(h, f->size), f->codec);
        h = fnv_stat(h, f->path);
    }
    return h;
}

uint64_t mpiwc_ckpt_fingerprint_options(const struct mpiwc_options *opts, const void *stopwords,
                                        size_t len)
{
    uint64_t h = FNV_START;
    h = fnv64(h, (uint64_t)opts->split);
    h = fnv64(h, (uint64_t)opts->casing);
    h = fnv64(h, (uint64_t)opts->normalize);
    h = fnv64(h, (uint64_t)opts->min_length);
    h = fnv64(h, opts->ignore_numbers);
    h = fnv64(h, opts->compat_hadoop);
    if (opts->ngram_max > 1) /* single words keep the fingerprint they had before n-grams */
        h = fnv64(fnv64(h, opts->ngram_min), opts->ngram_max);
    if (stopwords)
        h = fnv(fnv64(h, len), stopwords, len);
    return h;
}

char *mpiwc_ckpt_gen_path(const char *dir, uint64_t gen)
{
    size_t n = strlen(dir) + 32;
    char *p = mpiwc_xmalloc(n);
    snprintf(p, n, "%s/gen-%" PRIu64, dir, gen);
    return p;
}

char *mpiwc_ckpt_rank_path(const char *dir, uint64_t gen, int rank)
{
    size_t n = strlen(dir) + 64;
    char *p = mpiwc_xmalloc(n);
    snprintf(p, n, "%s/gen-%" PRIu64 "/rank-%05d.ckpt", dir, gen, rank);
    return p;
}

/* A buffered writer that keeps the CRC-32 of everything written. */
struct out {
    int fd;
    uint8_t *buf;
    size_t len, cap;
    uLong crc;
    uint64_t total;
    int failed; /* errno of the first failure */
};

static void out_flush(struct out *o)
{
    size_t done = 0;
    while (done < o->len && !o->failed) {
        ssize_t k = write(o->fd, o->buf + done, o->len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            o->failed = errno;
        else
            done += (size_t)k;
    }
    o->len = 0;
}

static void out_put(struct out *o, const void *src, size_t n)
{
    const uint8_t *p = src;
    o->total += n;
    while (n > 0) {
        size_t take = o->cap - o->len < n ? o->cap - o->len : n;
        memcpy(o->buf + o->len, p, take);
        o->crc = crc32(o->crc, o->buf + o->len, (uInt)take);
        o->len += take;
        p += take;
        n -= take;
        if (o->len == o->cap)
            out_flush(o);
    }
}

static void out_u32(struct out *o, uint32_t v)
{
    out_put(o, &v, sizeof v);
}

static void out_u64(struct out *o, uint64_t v)
{
    out_put(o, &v, sizeof v);
}

/* fsync the directory that holds path, so a rename in it is durable. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Write tmp, fsync, rename to path; on failure remove tmp and describe it in err. */
static int finish_file(struct out *o, const char *tmp, const char *path, char *err, size_t errlen)
{
    out_flush(o);
    if (!o->failed && fsync(o->fd) != 0)
        o->failed = errno;
    if (close(o->fd) != 0 && !o->failed)
        o->failed = errno;
    if (!o->failed && rename(tmp, path) != 0)
        o->failed = errno;
    if (o->failed) {
        unlink(tmp);
        return mpiwc_fail(err, errlen, "%s: %s", path, strerror(o->failed));
    }
    return 0;
}

int mpiwc_ckpt_write_rank(const char *dir, uint64_t gen, int rank, int nranks, uint32_t nfiles,
                          const struct mpiwc_ckpt_done *done,
                          const struct mpiwc_table *const *tables, size_t ntables, uint64_t *bytes,
                          char *err, size_t errlen)
{
    char *path = mpiwc_ckpt_rank_path(dir, gen, rank);
    size_t tlen = strlen(path) + 5;
    char *tmp = mpiwc_xmalloc(tlen);
    snprintf(tmp, tlen, "%s.tmp", path);
    struct out o = {.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
                    .cap = 1u << 20,
                    .crc = crc32(0, NULL, 0)};
    if (o.fd < 0) {
        mpiwc_fail(err, errlen, "%s: %s", tmp, strerror(errno));
        free(tmp);
        free(path);
        return -1;
    }
    o.buf = mpiwc_xmalloc(o.cap);
    out_put(&o, magic, sizeof magic);
    out_u32(&o, MPIWC_CKPT_VERSION);
    out_u32(&o, (uint32_t)rank);
    out_u32(&o, (uint32_t)nranks);
    out_u32(&o, nfiles);
    out_u64(&o, gen);
    out_u64(&o, done->n);
    for (size_t i = 0; i < done->n; i++) {
        out_u32(&o, done->v[i].file);
        out_u64(&o, done->v[i].start);
        out_u64(&o, done->v[i].end);
    }
    uint64_t nrec = 0;
    for (size_t t = 0; t < ntables; t++)
        nrec += tables[t]->size;
    out_u64(&o, nrec);
    uint8_t *rec = mpiwc_xmalloc(mpiwc_record_size(UINT16_MAX, UINT64_MAX));
    size_t reccap = mpiwc_record_size(UINT16_MAX, UINT64_MAX);
    for (size_t t = 0; t < ntables; t++) {
        const struct mpiwc_table *tab = tables[t];
        struct mpiwc_table_word w;
        for (size_t i = 0; i < mpiwc_table_slots(tab); i++) {
            if (!mpiwc_table_word(tab, i, &w))
                continue;
            size_t need = mpiwc_record_size(w.len, w.count);
            if (need > reccap) {
                reccap = need;
                rec = mpiwc_xrealloc(rec, reccap);
            }
            mpiwc_record_put(rec, w.key, w.len, w.count);
            out_put(&o, rec, need);
        }
    }
    free(rec);
    uint32_t crc = (uint32_t)o.crc;
    out_put(&o, &crc, sizeof crc);
    uint64_t total = o.total;
    int rc = finish_file(&o, tmp, path, err, errlen);
    free(o.buf);
    free(tmp);
    free(path);
    if (rc == 0)
        *bytes += total;
    return rc;
}

static uint32_t get32(const uint8_t **p)
{
    uint32_t v;
    memcpy(&v, *p, sizeof v);
    *p += sizeof v;
    return v;
}

static uint64_t get64(const uint8_t **p)
{
    uint64_t v;
    memcpy(&v, *p, sizeof v);
    *p += sizeof v;
    return v;
}

static uLong crc_of(const uint8_t *p, size_t n)
{
    uLong crc = crc32(0, NULL, 0);
    for (size_t off = 0; off < n;) {
        size_t take = n - off < (1u << 30) ? n - off : (1u << 30);
        crc = crc32(crc, p + off, (uInt)take);
        off += take;
    }
    return crc;
}

int mpiwc_ckpt_read_rank(const char *path, uint64_t gen, int rank, int nranks,
                         const struct mpiwc_plan_file *files, uint32_t nfiles,
                         struct mpiwc_ckpt_done *done, struct mpiwc_table *into, char *err,
                         size_t errlen)
{
    char *text, why[MPIWC_ERRLEN];
    size_t len;
    if (mpiwc_read_whole(path, &text, &len, why, sizeof why) != 0) /* "PATH: reason" */
        return mpiwc_fail(err, errlen, "%s", strerror(errno));     /* the caller names the path */
    uint8_t *data = (uint8_t *)text;
    int rc = -1;
    const uint8_t *p = data, *end;
    if (len < HEADER_BYTES + 8 + 4) {
        mpiwc_fail(err, errlen, "truncated");
        goto out;
    }
    end = data + len - 4;
    uint32_t crc;
    memcpy(&crc, end, sizeof crc);
    if ((uint32_t)crc_of(data, len - 4) != crc) {
        mpiwc_fail(err, errlen, "checksum mismatch");
        goto out;
    }
    if (memcmp(p, magic, sizeof magic) != 0) {
        mpiwc_fail(err, errlen, "not a checkpoint file");
        goto out;
    }
    p += sizeof magic;
    uint32_t version = get32(&p), frank = get32(&p), franks = get32(&p), ffiles = get32(&p);
    uint64_t fgen = get64(&p), nint = get64(&p);
    if (version != MPIWC_CKPT_VERSION || frank != (uint32_t)rank || franks != (uint32_t)nranks ||
        ffiles != nfiles || fgen != gen) {
        mpiwc_fail(err, errlen, "header does not match its manifest");
        goto out;
    }
    if (nint > (size_t)(end - p) / INTERVAL_BYTES) {
        mpiwc_fail(err, errlen, "malformed intervals");
        goto out;
    }
    const uint8_t *ints = p;
    for (uint64_t i = 0; i < nint; i++) {
        uint32_t f = get32(&p);
        uint64_t s = get64(&p), e = get64(&p);
        if (f >= nfiles || s >= e || files[f].size == MPIWC_PLAN_STREAM || e > files[f].size) {
            mpiwc_fail(err, errlen, "an interval lies outside the input");
            goto out;
        }
    }
    if ((size_t)(end - p) < 8) {
        mpiwc_fail(err, errlen, "truncated");
        goto out;
    }
    uint64_t nrec = get64(&p);
    const uint8_t *recs = p, *key;
    uint32_t klen;
    uint64_t count, seen = 0;
    enum mpiwc_record_status st;
    while ((st = mpiwc_record_next(&p, end, &key, &klen, &count)) == MPIWC_RECORD_OK)
        seen++;
    if (st == MPIWC_RECORD_BAD || seen != nrec) {
        mpiwc_fail(err, errlen, "malformed records");
        goto out;
    }
    /* Verified: now add. */
    if (done) {
        p = ints;
        for (uint64_t i = 0; i < nint; i++) {
            uint32_t f = get32(&p);
            uint64_t s = get64(&p), e = get64(&p);
            mpiwc_ckpt_done_add(done, f, s, e);
        }
    }
    if (into) {
        p = recs;
        while (mpiwc_record_next(&p, end, &key, &klen, &count) == MPIWC_RECORD_OK)
            mpiwc_table_add(into, key, klen, count);
    }
    rc = 0;
out:
    free(data);
    return rc;
}

int mpiwc_ckpt_write_manifest(const char *dir, const struct mpiwc_ckpt_manifest *m, char *err,
                              size_t errlen)
{
    char *gdir = mpiwc_ckpt_gen_path(dir, m->generation);
    size_t n = strlen(gdir) + 32;
    char *path = mpiwc_xmalloc(n), *tmp = mpiwc_xmalloc(n);
    snprintf(path, n, "%s/MANIFEST", gdir);
    snprintf(tmp, n, "%s/MANIFEST.tmp", gdir);
    char text[256];
    int len = snprintf(text, sizeof text,
                       "mpiwc-checkpoint %u\ngeneration %" PRIu64 "\nranks %" PRIu32
                       "\ninputs %016" PRIx64 "\noptions %016" PRIx64 "\nend\n",
                       MPIWC_CKPT_VERSION, m->generation, m->nranks, m->inputs, m->options);
    struct out o = {.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
                    .cap = sizeof text,
                    .crc = crc32(0, NULL, 0)};
    int rc = -1;
    if (o.fd < 0) {
        mpiwc_fail(err, errlen, "%s: %s", tmp, strerror(errno));
    } else {
        o.buf = (uint8_t *)text;
        o.len = (size_t)len;
        rc = finish_file(&o, tmp, path, err, errlen);
        if (rc == 0 && sync_dir(gdir) != 0)
            rc = mpiwc_fail(err, errlen, "%s: %s", gdir, strerror(errno));
    }
    free(tmp);
    free(path);
    free(gdir);
    return rc;
}

int mpiwc_ckpt_read_manifest(const char *dir, uint64_t gen, struct mpiwc_ckpt_manifest *m,
                             char *err, size_t errlen)
{
    char *gdir = mpiwc_ckpt_gen_path(dir, gen);
    size_t n = strlen(gdir) + 16;
    char *path = mpiwc_xmalloc(n);
    snprintf(path, n, "%s/MANIFEST", gdir);
    free(gdir);
    char *text, why[MPIWC_ERRLEN];
    size_t len;
    int rc = mpiwc_read_whole(path, &text, &len, why, sizeof why);
    int e = errno;
    free(path);
    if (rc != 0)
        return mpiwc_fail(err, errlen, "%s",
                          e == ENOENT ? "no manifest (incomplete)" : "cannot read its manifest");
    unsigned version;
    char tail[8] = "";
    int fields = sscanf(text,
                        "mpiwc-checkpoint %u\ngeneration %" SCNu64 "\nranks %" SCNu32
                        "\ninputs %" SCNx64 "\noptions %" SCNx64 "\n%3s",
                        &version, &m->generation, &m->nranks, &m->inputs, &m->options, tail);
    free(text);
    if (fields != 6 || strcmp(tail, "end") != 0 || m->nranks == 0 || m->nranks > INT32_MAX)
        return mpiwc_fail(err, errlen, "malformed manifest");
    if (version != MPIWC_CKPT_VERSION)
        return mpiwc_fail(err, errlen, "written by another version of mpiwc");
    if (m->generation != gen)
        return mpiwc_fail(err, errlen, "manifest names another generation");
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x > y ? -1 : x < y;
}

size_t mpiwc_ckpt_generations(const char *dir, uint64_t **gens)
{
    *gens = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "gen-", 4) != 0 || e->d_name[4] < '1' || e->d_name[4] > '9')
            continue;
        char *stop;
        errno = 0;
        unsigned long long g = strtoull(e->d_name + 4, &stop, 10);
        if (*stop || errno)
            continue;
        *gens = mpiwc_grow(*gens, &cap, n + 1, sizeof **gens);
        (*gens)[n++] = g;
    }
    closedir(d);
    if (n)
        qsort(*gens, n, sizeof **gens, newest_first);
    return n;
}

int mpiwc_ckpt_remove(const char *dir, uint64_t gen)
{
    char *gdir = mpiwc_ckpt_gen_path(dir, gen);
    /* The manifest first: a removal cut short leaves an incomplete generation, never one that
     * looks complete but lacks a rank file. */
    size_t mlen = strlen(gdir) + 16;
    char *manifest = mpiwc_xmalloc(mlen);
    snprintf(manifest, mlen, "%s/MANIFEST", gdir);
    int rc = unlink(manifest) != 0 && errno != ENOENT ? -1 : 0;
    free(manifest);
    DIR *d = opendir(gdir);
    if (d) {
        struct dirent *e;
        size_t n = strlen(gdir) + 2;
        while ((e = readdir(d)) != NULL) {
            bool ours =
                strncmp(e->d_name, "rank-", 5) == 0 || strncmp(e->d_name, "MANIFEST", 8) == 0;
            if (!ours)
                continue;
            char *p = mpiwc_xmalloc(n + strlen(e->d_name));
            snprintf(p, n + strlen(e->d_name), "%s/%s", gdir, e->d_name);
            if (unlink(p) != 0)
                rc = -1;
            free(p);
        }
        closedir(d);
    }
    if (rmdir(gdir) != 0 && errno != ENOENT)
        rc = -1;
    free(gdir);
    return rc;
}

/* Whether generation gen is complete and matches; fills choice->done and nranks if so. */
static int check_generation(const char *dir, uint64_t gen, const struct mpiwc_plan *plan,
                            uint64_t inputs, uint64_t options, struct mpiwc_ckpt_choice *choice,
                            char *err, size_t errlen)
{
    struct mpiwc_ckpt_manifest m;
    if (mpiwc_ckpt_read_manifest(dir, gen, &m, err, errlen) != 0)
        return -1;
    if (m.options != options)
        return mpiwc_fail(err, errlen,
                          "written with other word options (split, case, normalize, "
                          "min-length, stopwords, ignore-numbers, ngram or compat)");
    if (m.inputs != inputs)
        return mpiwc_fail(err, errlen,
                          "the inputs changed since it was written (paths, sizes or "
                          "modification times)");
    struct mpiwc_ckpt_done done = {0};
    for (uint32_t r = 0; r < m.nranks; r++) {
        char *path = mpiwc_ckpt_rank_path(dir, gen, (int)r);
        char why[256];
        int rc = mpiwc_ckpt_read_rank(path, gen, (int)r, (int)m.nranks, plan->files,
                                      (uint32_t)plan->nfiles, &done, NULL, why, sizeof why);
        if (rc != 0) {
            snprintf(err, errlen, "rank-%05u.ckpt: %s", r, why);
            free(path);
            mpiwc_ckpt_done_free(&done);
            return -1;
        }
        free(path);
    }
    choice->nranks = m.nranks;
    choice->done = done;
    return 0;
}

void mpiwc_ckpt_select(const char *dir, const struct mpiwc_plan *plan, uint64_t inputs,
                       uint64_t options, struct mpiwc_ckpt_choice *choice, FILE *err)
{
    memset(choice, 0, sizeof *choice);
    uint64_t *gens;
    size_t n = mpiwc_ckpt_generations(dir, &gens);
    choice->next = n ? gens[0] + 1 : 1;
    for (size_t i = 0; i < n; i++) {
        char why[512];
        if (check_generation(dir, gens[i], plan, inputs, options, choice, why, sizeof why) == 0) {
            choice->generation = gens[i];
            break;
        }
        char *gdir = mpiwc_ckpt_gen_path(dir, gens[i]);
        size_t len = strlen(gdir) + strlen(why) + 64;
        char *msg = mpiwc_xmalloc(len);
        snprintf(msg, len, "checkpoint %s: %s; ignored", gdir, why);
        if (err)
            mpiwc_say(err, "", msg);
        free(msg);
        free(gdir);
    }
    free(gens);
}

#include "mpiwc/plan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpiwc/codec.h"
#include "mpiwc/format.h"
#include "mpiwc/util.h"

/* ---- expansion (rank 0) ---- */

struct file_list {
    struct mpiwc_plan_file *v;
    size_t n, cap;
    size_t skipped;
    char *first_skipped;
    unsigned cut;                /* directories this deep are left as units (0: none) */
    struct mpiwc_plan_cut *out;  /* where they go */
    struct mpiwc_prober *prober; /* not NULL: each walked file probed, into probes[i] */
    struct mpiwc_plan_probe *probes;
    size_t probes_cap;
};

static void list_free(struct file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    free(l->probes);
    free(l->first_skipped);
    memset(l, 0, sizeof *l);
}

static void list_push(struct file_list *l, char *path, uint64_t size, enum mpiwc_codec codec,
                      uint64_t weight)
{
    l->v = mpiwc_grow(l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n].path = path;
    l->v[l->n].size = size;
    l->v[l->n].codec = (uint8_t)codec;
    l->v[l->n].weight = weight;
    l->v[l->n].to_eof = 0;
    if (l->prober) {
        l->probes = mpiwc_grow(l->probes, &l->probes_cap, l->n + 1, sizeof *l->probes);
        memset(&l->probes[l->n], 0, sizeof *l->probes); /* not done yet */
    }
    l->n++;
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

void mpiwc_plan_probe(char *const *paths, size_t n, struct mpiwc_plan_probe *out)
{
    struct mpiwc_prober prober;
    mpiwc_prober_init(&prober);
    for (size_t i = 0; i < n;) {
        if (strcmp(paths[i], "-") == 0) {
            out[i++] = (struct mpiwc_plan_probe){.done = 1}; /* standard input: nothing to see */
            continue;
        }
        size_t j = i + 1; /* paths[i..j): no "-" */
        while (j < n && strcmp(paths[j], "-") != 0)
            j++;
        mpiwc_prober_run(&prober, AT_FDCWD, (const char *const *)(paths + i), j - i, out + i);
        i = j;
    }
    mpiwc_prober_free(&prober);
}

/* A file's identity, and where it stands in the list (for drop_duplicates). */
struct file_id {
    uint64_t dev, ino;
    size_t at;
};

/*
 * Keep the first of plan->files that share ids[i] (the device and inode of
 * files[ids[i].at], n of them, in list order); drop the others, counted in
 * plan->duplicates. One pass over a hash set of the identities seen, where
 * a sort of a million of them cost rank 0 about 20 ms more.
 */
static void drop_duplicates(struct mpiwc_plan *plan, const struct file_id *ids, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap = mpiwc_mul_size(cap, 2);
    size_t *seen = mpiwc_xcalloc(cap, sizeof *seen); /* 1 + an index of ids; 0: empty */
    bool *drop = mpiwc_xcalloc(plan->nfiles ? plan->nfiles : 1, sizeof *drop);
    size_t ndrop = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = (ids[i].dev ^ (ids[i].ino * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
        for (size_t at = (size_t)(h >> 32) & (cap - 1);; at = (at + 1) & (cap - 1)) {
            if (seen[at] == 0) {
                seen[at] = i + 1;
                break;
            }
            const struct file_id *first = &ids[seen[at] - 1];
            if (first->dev == ids[i].dev && first->ino == ids[i].ino) {
                drop[ids[i].at] = true;
                ndrop++;
                break;
            }
        }
    }
    free(seen);
    size_t k = 0;
    for (size_t i = 0; i < plan->nfiles && ndrop; i++) {
        if (!drop[i]) {
            plan->files[k++] = plan->files[i];
        } else if (plan->duplicates++ == 0) {
            plan->first_duplicate = plan->files[i].path;
        } else {
            free(plan->files[i].path);
        }
    }
    if (ndrop)
        plan->nfiles = k;
    free(drop);
}

int mpiwc_plan_apply_probes(struct mpiwc_plan *plan, const struct mpiwc_plan_probe *res, char *err,
                            size_t errlen)
{
    size_t k = 0, nids = 0;
    int rc = 0;
    struct file_id *ids =
        mpiwc_xmalloc(mpiwc_mul_size(plan->nfiles ? plan->nfiles : 1, sizeof *ids));
    for (size_t i = 0; i < plan->nfiles; i++) {
        struct mpiwc_plan_file *f = &plan->files[i];
        if (f->size == MPIWC_PLAN_STREAM) { /* standard input: nothing to probe */
            plan->files[k++] = *f;
            continue;
        }
        if (rc == 0 && res[i].error)
            rc = mpiwc_fail(err, errlen, "%s: %s", f->path, strerror(res[i].error));
        if (rc != 0 || !res[i].regular) { /* replaced by something else since the walk */
            free(f->path);
            continue;
        }
        f->size = res[i].size;
        f->weight = res[i].weight;
        f->codec = res[i].codec;
        f->to_eof = res[i].to_eof;
        ids[nids++] = (struct file_id){res[i].dev, res[i].ino, k};
        plan->files[k++] = *f;
    }
    plan->nfiles = k;
    if (rc == 0)
        drop_duplicates(plan, ids, nids);
    free(ids);
    return rc;
}

static bool matches(const char *const *globs, size_t n, const char *name, const char *rel)
{
    for (size_t i = 0; i < n; i++)
        if (fnmatch(globs[i], name, 0) == 0 || fnmatch(globs[i], rel, 0) == 0)
            return true;
    return false;
}

struct walk_entry {
    char *name;
    unsigned char type; /* d_type: DT_REG and DT_DIR spare an lstat and a stat */
};

static int by_entry_name(const void *a, const void *b)
{
    return strcmp(((const struct walk_entry *)a)->name, ((const struct walk_entry *)b)->name);
}

/*
 * Probe the files l->v[at[0..n)] of directory dir, opened by their names in
 * it: a path of several components costs a lookup of each, every time.
 */
static void probe_walked(struct file_list *l, const char *dir, const size_t *at, size_t n)
{
    if (n == 0)
        return;
    size_t len = strlen(dir), skip = len + (dir[len - 1] != '/'); /* join()'s prefix */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char **names = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *names));
    struct mpiwc_plan_probe *got = mpiwc_xmalloc(mpiwc_mul_size(n, sizeof *got));
    for (size_t i = 0; i < n; i++)
        names[i] = l->v[at[i]].path + (dfd >= 0 ? skip : 0);
    mpiwc_prober_run(l->prober, dfd >= 0 ? dfd : AT_FDCWD, names, n, got);
    for (size_t i = 0; i < n; i++)
        l->probes[at[i]] = got[i];
    free(got);
    free(names);
    if (dfd >= 0)
        close(dfd);
}

/*
 * Add the regular files under dir, recursively, names in byte order.
 * Symbolic links to files are followed; links to directories are not (no loops).
 * rel is dir relative to the walk's root ("" at the root), for the filter.
 */
static int walk(struct file_list *l, const char *dir, const char *rel, unsigned depth,
                const struct mpiwc_plan_filter *filter, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return mpiwc_fail(err, errlen, "%s: %s", dir, strerror(errno));
    struct walk_entry *ents = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        ents = mpiwc_grow(ents, &cap, n + 1, sizeof *ents);
        ents[n].name = mpiwc_xstrdup(de->d_name);
        ents[n++].type = de->d_type;
    }
    int rc = errno ? mpiwc_fail(err, errlen, "%s: %s", dir, strerror(errno)) : 0;
    closedir(d);
    if (n > 1)
        qsort(ents, n, sizeof *ents, by_entry_name);
    bool filtering = filter && (filter->ninclude || filter->nexclude);
    size_t *mine = NULL, nmine = 0, mine_cap = 0; /* this directory's files, to probe */
    for (size_t i = 0; i < n; i++) {
        char *name = ents[i].name;
        if (rc != 0 || (filter && filter->hidden && (name[0] == '_' || name[0] == '.'))) {
            free(name);
            continue;
        }
        char *relpath = NULL;
        if (filtering)
            relpath = *rel ? join(rel, name) : mpiwc_xstrdup(name);
        if (filtering && matches(filter->exclude, filter->nexclude, name, relpath)) {
            free(relpath);
            free(name);
            continue;
        }
        char *path = join(dir, name);
        unsigned char type = ents[i].type;
        struct stat st;
        if (type != DT_DIR && type != DT_REG) {
            /* A link, or a file system without d_type: look. */
            if (lstat(path, &st) != 0) {
                rc = mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
                free(path);
                free(relpath);
                free(name);
                continue;
            }
            type = S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
        }
        if (type == DT_DIR && l->cut && depth + 1 >= l->cut) {
            struct mpiwc_plan_cut *c = l->out;
            c->units = mpiwc_grow(c->units, &c->cap, c->nunits + 1, sizeof *c->units);
            c->units[c->nunits++] =
                (struct mpiwc_plan_unit){path, mpiwc_xstrdup(relpath ? relpath : ""), l->n};
        } else if (type == DT_DIR) {
            rc = walk(l, path, relpath ? relpath : "", depth + 1, filter, err, errlen);
            free(path);
        } else if (filtering && filter->ninclude &&
                   !matches(filter->include, filter->ninclude, name, relpath)) {
            free(path);
        } else if (type == DT_REG || (stat(path, &st) == 0 && S_ISREG(st.st_mode))) {
            if (l->prober) {
                mine = mpiwc_grow(mine, &mine_cap, nmine + 1, sizeof *mine);
                mine[nmine++] = l->n;
            }
            list_push(l, path, 0, MPIWC_CODEC_NONE, 0); /* probed below or later */
        } else if (l->skipped++ == 0) {
            /* FIFOs, sockets, devices, dangling or directory links: not input. */
            l->first_skipped = path;
            if (l->out)
                l->out->skip_units = l->out->nunits; /* after those, before the next */
        } else {
            free(path);
        }
        free(relpath);
        free(name);
    }
    free(ents);
    probe_walked(l, dir, mine, nmine);
    free(mine);
    return rc;
}

int mpiwc_plan_expand_filtered(struct mpiwc_plan *plan, char *const *paths, size_t npaths,
                               const struct mpiwc_plan_filter *filter, char *err, size_t errlen)
{
    if (mpiwc_plan_list(plan, paths, npaths, filter, err, errlen) != 0)
        return -1;
    char **names = mpiwc_xmalloc(mpiwc_mul_size(plan->nfiles ? plan->nfiles : 1, sizeof *names));
    struct mpiwc_plan_probe *res =
        mpiwc_xmalloc(mpiwc_mul_size(plan->nfiles ? plan->nfiles : 1, sizeof *res));
    for (size_t i = 0; i < plan->nfiles; i++)
        names[i] = plan->files[i].path;
    mpiwc_plan_probe(names, plan->nfiles, res);
    int rc = mpiwc_plan_apply_probes(plan, res, err, errlen);
    free(res);
    free(names);
    if (rc != 0)
        mpiwc_plan_free(plan);
    return rc;
}

/*
 * The paths' listing into l: files, standard input, directories walked (in
 * cut mode their directories at l->cut deep left as units in l->out).
 */
static int list_paths(struct file_list *l, char *const *paths, size_t npaths,
                      const struct mpiwc_plan_filter *filter, char *err, size_t errlen)
{
    bool have_stdin = false;
    int rc = 0;
    for (size_t i = 0; i < npaths && rc == 0; i++) {
        const char *path = paths[i];
        struct stat st;
        if (strcmp(path, "-") == 0) {
            if (have_stdin)
                rc = mpiwc_fail(err, errlen, "%s: standard input given more than once", path);
            else
                list_push(l, mpiwc_xstrdup("-"), MPIWC_PLAN_STREAM, MPIWC_CODEC_NONE, 0);
            have_stdin = true;
        } else if (path[0] == '\0') {
            rc = mpiwc_fail(err, errlen, "%s: empty path", "''");
        } else if (stat(path, &st) != 0) {
            rc = mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            size_t before = l->n, units = l->out ? l->out->nunits : 0;
            rc = walk(l, path, "", 0, filter, err, errlen);
            size_t now = l->out ? l->out->nunits : 0;
            if (rc == 0 && l->n == before && now > units) {
                /* Empty unless one of its units has a file: the splice checks. */
                struct mpiwc_plan_cut *c = l->out;
                c->roots = mpiwc_grow(c->roots, &c->roots_cap, c->nroots + 1, sizeof *c->roots);
                c->roots[c->nroots][0] = units;
                c->roots[c->nroots++][1] = now;
            } else if (rc == 0 && l->n == before) {
                const char *why = "directory has no files";
                if (filter && (filter->ninclude || filter->nexclude))
                    why = "directory has no files (after --include/--exclude)";
                else if (filter && filter->hidden)
                    why = "directory has no files (--compat=hadoop skips names that start "
                          "with _ or .)";
                rc = mpiwc_fail(err, errlen, "%s: %s", path, why);
            }
        } else if (S_ISREG(st.st_mode)) {
            list_push(l, mpiwc_xstrdup(path), 0, MPIWC_CODEC_NONE, 0);
        } else {
            rc = mpiwc_fail(err, errlen, "%s: not a regular file or directory", path);
        }
    }
    if (rc == 0 && l->n > UINT32_MAX)
        rc = mpiwc_fail(err, errlen, "%s: too many files (more than 2^32)", paths[0]);
    return rc;
}

static void list_to_plan(struct file_list *l, struct mpiwc_plan *plan)
{
    plan->files = l->v;
    plan->nfiles = l->n;
    plan->skipped = l->skipped;
    plan->first_skipped = l->first_skipped;
}

int mpiwc_plan_list(struct mpiwc_plan *plan, char *const *paths, size_t npaths,
                    const struct mpiwc_plan_filter *filter, char *err, size_t errlen)
{
    struct file_list l = {0};
    if (list_paths(&l, paths, npaths, filter, err, errlen) != 0) {
        list_free(&l);
        return -1;
    }
    list_to_plan(&l, plan);
    return 0;
}

void mpiwc_plan_cut_free(struct mpiwc_plan_cut *cut)
{
    for (size_t i = 0; i < cut->nunits; i++) {
        free(cut->units[i].path);
        free(cut->units[i].rel);
    }
    free(cut->units);
    free(cut->roots);
    memset(cut, 0, sizeof *cut);
}

int mpiwc_plan_list_cut(struct mpiwc_plan *plan, char *const *paths, size_t npaths,
                        const struct mpiwc_plan_filter *filter, size_t want,
                        struct mpiwc_plan_cut *cut)
{
    char err[MPIWC_ERRLEN];
    memset(cut, 0, sizeof *cut);
    /* Deeper until there are units enough, none are left, or the listing is big
     * already; then the depth that gave the most units. */
    size_t best = 0;
    unsigned best_depth = 1;
    for (unsigned depth = 1;; depth++) {
        struct file_list l = {.cut = depth, .out = cut};
        if (list_paths(&l, paths, npaths, filter, err, sizeof err) != 0) {
            list_free(&l);
            mpiwc_plan_cut_free(cut);
            return -1;
        }
        if (cut->nunits > best) {
            best = cut->nunits;
            best_depth = depth;
        }
        bool last = cut->nunits == 0 || cut->nunits >= want || depth == 8 || l.n >= 100000;
        if (last && best_depth == depth) {
            list_to_plan(&l, plan);
            return 0;
        }
        list_free(&l);
        mpiwc_plan_cut_free(cut);
        if (last) {
            depth = best_depth - 1; /* once more at the best depth */
            want = 0;
        }
    }
}

int mpiwc_plan_walk_unit(const struct mpiwc_plan_unit *unit, const struct mpiwc_plan_filter *filter,
                         struct mpiwc_prober *prober, struct mpiwc_plan *out,
                         struct mpiwc_plan_probe **probes)
{
    struct file_list l = {.prober = prober};
    char err[MPIWC_ERRLEN];
    memset(out, 0, sizeof *out);
    if (walk(&l, unit->path, unit->rel, 1, filter, err, sizeof err) != 0) {
        list_free(&l);
        return -1;
    }
    if (prober) {
        *probes = l.probes;
        l.probes = NULL;
    }
    list_to_plan(&l, out);
    return 0;
}

int mpiwc_plan_splice(struct mpiwc_plan *plan, const struct mpiwc_plan_cut *cut,
                      struct mpiwc_plan *walked, struct mpiwc_plan_probe *const *probes,
                      struct mpiwc_plan_probe **res)
{
    for (size_t r = 0; r < cut->nroots; r++) {
        size_t files = 0;
        for (size_t u = cut->roots[r][0]; u < cut->roots[r][1]; u++)
            files += walked[u].nfiles;
        if (files == 0)
            return -1;
    }
    size_t n = plan->nfiles;
    for (size_t u = 0; u < cut->nunits; u++)
        n += walked[u].nfiles;
    if (n > UINT32_MAX)
        return -1;
    struct mpiwc_plan_file *v = mpiwc_xmalloc(mpiwc_mul_size(n ? n : 1, sizeof *v));
    struct mpiwc_plan_probe *pr = res ? mpiwc_xcalloc(n ? n : 1, sizeof *pr) : NULL;
    size_t at = 0, next = 0;
    /* The first entry skipped, in the order of a whole walk: the listing's own
     * came after its first skip_units units. */
    char *first = plan->first_skipped;
    size_t skipped = 0;
    bool found = false;
    for (size_t u = 0; u <= cut->nunits; u++) {
        size_t upto = u < cut->nunits ? cut->units[u].at : plan->nfiles;
        for (; next < upto; next++)
            v[at++] = plan->files[next];
        if (!found && first && u == cut->skip_units)
            found = true; /* the listing's own is first */
        if (u == cut->nunits)
            break;
        struct mpiwc_plan *w = &walked[u];
        if (pr && probes[u])
            memcpy(pr + at, probes[u], w->nfiles * sizeof *pr);
        memcpy(v + at, w->files, w->nfiles * sizeof *v);
        at += w->nfiles;
        free(w->files);
        w->files = NULL;
        w->nfiles = 0;
        skipped += w->skipped;
        if (!found && w->first_skipped) {
            found = true;
            free(plan->first_skipped);
            plan->first_skipped = w->first_skipped;
            w->first_skipped = NULL;
        }
    }
    free(plan->files);
    plan->files = v;
    plan->nfiles = n;
    plan->skipped += skipped;
    if (res)
        *res = pr;
    return 0;
}

/* ---- split arithmetic ---- */

uint64_t mpiwc_plan_boundary(uint64_t total, int nranks, int r)
{
    uint64_t n = (uint64_t)nranks, k = (uint64_t)r;
    uint64_t q = total / n, rem = total % n;
    return k * q + (k < rem ? k : rem);
}

/* A min-heap of ranks by compressed load (ties: lower rank first, so the plan is deterministic). */
struct load_heap {
    uint64_t *load; /* per rank */
    int *h;
    int n;
};

static bool heap_less(const struct load_heap *q, int a, int b)
{
    return q->load[a] < q->load[b] || (q->load[a] == q->load[b] && a < b);
}

static void heap_sift_down(struct load_heap *q, int i)
{
    for (;;) {
        int l = 2 * i + 1, m = i;
        if (l < q->n && heap_less(q, q->h[l], q->h[m]))
            m = l;
        if (l + 1 < q->n && heap_less(q, q->h[l + 1], q->h[m]))
            m = l + 1;
        if (m == i)
            return;
        int t = q->h[i];
        q->h[i] = q->h[m];
        q->h[m] = t;
        i = m;
    }
}

static const struct mpiwc_plan *sort_plan; /* qsort has no context argument */

static int by_weight_desc(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    uint64_t wi = sort_plan->files[i].weight, wj = sort_plan->files[j].weight;
    if (wi != wj)
        return wi > wj ? -1 : 1;
    return i < j ? -1 : i > j;
}

/*
 * Place the files read whole (compressed, to_eof) files[order[0..n)]: largest
 * estimate first, each to the least loaded rank (ties: the lower rank), so no
 * rank ends far above the others. Adds their weights to load[0..nranks) and
 * sets owner[file]. Reorders order.
 */
static void place_whole(const struct mpiwc_plan *plan, size_t *order, size_t n, int nranks,
                        uint64_t *load, int *owner)
{
    if (n == 0)
        return;
    sort_plan = plan;
    qsort(order, n, sizeof *order, by_weight_desc);
    sort_plan = NULL;
    struct load_heap q = {load, mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof(int))), nranks};
    for (int r = 0; r < nranks; r++)
        q.h[r] = r;
    for (size_t k = 0; k < n; k++) {
        int r = q.h[0];
        owner[order[k]] = r;
        uint64_t w = plan->files[order[k]].weight;
        load[r] = w > UINT64_MAX - load[r] ? UINT64_MAX : load[r] + w;
        heap_sift_down(&q, 0);
    }
    free(q.h);
}

/* sum over ranks of max(0, level - load[r]), stopping once it reaches cap. */
static uint64_t fill(const uint64_t *load, int nranks, uint64_t level, uint64_t cap)
{
    uint64_t sum = 0;
    for (int r = 0; r < nranks && sum < cap; r++)
        if (load[r] < level)
            sum += level - load[r] < cap - sum ? level - load[r] : cap - sum;
    return sum;
}

/*
 * Plain bytes per rank: fill every rank up to a common level over its
 * compressed load. The level L is the smallest with fill(L) >= plain; each
 * rank gets max(0, L - 1 - load), and the fill(L) - fill(L - 1) ranks below
 * L share the rest one byte each, lowest ranks first. With no compressed
 * load, this is mpiwc_plan_boundary's equal split.
 */
static void plain_quotas(const uint64_t *load, int nranks, uint64_t plain, uint64_t *quota)
{
    if (plain == 0) {
        memset(quota, 0, (size_t)nranks * sizeof *quota);
        return;
    }
    uint64_t lo = 1, hi = 0;
    for (int r = 0; r < nranks; r++)
        hi = load[r] > hi ? load[r] : hi;
    hi = hi > UINT64_MAX - plain ? UINT64_MAX : hi + plain; /* fill(hi) >= plain */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (fill(load, nranks, mid, plain) >= plain)
            hi = mid;
        else
            lo = mid + 1;
    }
    uint64_t rest = plain;
    for (int r = 0; r < nranks; r++) {
        quota[r] = load[r] < lo - 1 ? lo - 1 - load[r] : 0;
        rest -= quota[r];
    }
    for (int r = 0; r < nranks && rest > 0; r++)
        if (load[r] < lo) {
            quota[r]++;
            rest--;
        }
}

bool mpiwc_plan_whole(const struct mpiwc_plan_file *f)
{
    return f->size != MPIWC_PLAN_STREAM && (f->codec != MPIWC_CODEC_NONE || f->to_eof);
}

static int by_file_start(const void *a, const void *b)
{
    const struct mpiwc_plan_range *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The one split, for a fresh run and a restart alike: what is left of each
 * file after the done intervals is planned. For a fresh run nothing is done
 * and what is left of a file is [0, size).
 */
void mpiwc_plan_split_remaining(struct mpiwc_plan *plan, int nranks,
                                const struct mpiwc_plan_range *done, size_t ndone)
{
    free(plan->ranges);
    free(plan->rank_first);
    plan->nranks = nranks;
    plan->total_bytes = 0;
    struct mpiwc_plan_range *d = mpiwc_xmalloc(mpiwc_mul_size(ndone ? ndone : 1, sizeof *d));
    if (ndone)
        memcpy(d, done, ndone * sizeof *d);
    qsort(d, ndone, sizeof *d, by_file_start);

    /*
     * What is left, in file order: the plain files' holes in rem, the files
     * read whole that are not done (an interval of one ending past its first
     * byte) in order, standard input (never done) at stream.
     */
    size_t nfiles = plan->nfiles, nrem = 0, nwhole = 0, stream = SIZE_MAX;
    struct mpiwc_plan_range *rem = mpiwc_xmalloc(mpiwc_mul_size(nfiles + ndone + 1, sizeof *rem));
    size_t *order = mpiwc_xmalloc(mpiwc_mul_size(nfiles ? nfiles : 1, sizeof *order));
    uint64_t plain = 0;
    size_t k = 0;
    for (size_t i = 0; i < nfiles; i++) {
        const struct mpiwc_plan_file *f = &plan->files[i];
        bool cut = f->size != MPIWC_PLAN_STREAM && !mpiwc_plan_whole(f);
        uint64_t pos = 0;
        for (; k < ndone && d[k].file == i; k++) {
            if (cut && d[k].start > pos)
                rem[nrem++] = (struct mpiwc_plan_range){(uint32_t)i, pos, d[k].start};
            pos = d[k].end > pos ? d[k].end : pos;
        }
        if (f->size == MPIWC_PLAN_STREAM) {
            stream = i;
        } else if (!cut) {
            if (pos == 0) {
                order[nwhole++] = i;
                plan->total_bytes += f->weight;
            }
        } else if (pos < f->size) {
            rem[nrem++] = (struct mpiwc_plan_range){(uint32_t)i, pos, f->size};
        }
    }
    free(d);
    for (size_t j = 0; j < nrem; j++)
        plain += rem[j].end - rem[j].start;
    plan->total_bytes += plain;

    /* Files read whole first, then the plain bytes fill every rank up to a common level. */
    uint64_t *load = mpiwc_xcalloc((size_t)nranks, sizeof *load);
    int *owner = mpiwc_xmalloc(mpiwc_mul_size(nfiles ? nfiles : 1, sizeof *owner));
    for (size_t i = 0; i < nfiles; i++)
        owner[i] = -1;
    place_whole(plan, order, nwhole, nranks, load, owner);
    uint64_t *quota = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks, sizeof *quota));
    plain_quotas(load, nranks, plain, quota);
    /* Files read whole by owner, in file order: order[first[r] .. first[r + 1]). */
    size_t *first = mpiwc_xcalloc((size_t)nranks + 1, sizeof *first);
    for (size_t i = 0; i < nfiles; i++)
        if (owner[i] >= 0)
            first[owner[i] + 1]++;
    for (int r = 0; r < nranks; r++)
        first[r + 1] += first[r];
    for (size_t i = 0; i < nfiles; i++)
        if (owner[i] >= 0)
            order[first[owner[i]]++] = i;
    for (int r = nranks; r > 0; r--) /* the fill loop moved each start to the next rank's */
        first[r] = first[r - 1];
    first[0] = 0;

    /* Every rank boundary cuts at most one plain interval in two. */
    plan->ranges =
        mpiwc_xmalloc(mpiwc_mul_size(nrem + nwhole + (size_t)nranks + 1, sizeof *plan->ranges));
    plan->rank_first = mpiwc_xmalloc(mpiwc_mul_size((size_t)nranks + 1, sizeof(size_t)));
    size_t nr = 0, j = 0;
    uint64_t off = 0; /* bytes of rem[j] already given to earlier ranks */
    for (int r = 0; r < nranks; r++) {
        plan->rank_first[r] = nr;
        if (r == 0 && stream != SIZE_MAX)
            plan->ranges[nr++] = (struct mpiwc_plan_range){(uint32_t)stream, 0, MPIWC_PLAN_STREAM};
        for (uint64_t want = quota[r]; want > 0;) {
            uint64_t left = rem[j].end - rem[j].start - off;
            uint64_t take = want < left ? want : left;
            plan->ranges[nr++] = (struct mpiwc_plan_range){rem[j].file, rem[j].start + off,
                                                           rem[j].start + off + take};
            want -= take;
            off += take;
            if (off == rem[j].end - rem[j].start) {
                j++;
                off = 0;
            }
        }
        for (size_t c = first[r]; c < first[r + 1]; c++)
            plan->ranges[nr++] =
                (struct mpiwc_plan_range){(uint32_t)order[c], 0, plan->files[order[c]].size};
    }
    plan->rank_first[nranks] = nr;
    plan->nranges = nr;
    free(first);
    free(quota);
    free(owner);
    free(load);
    free(order);
    free(rem);
}

void mpiwc_plan_split(struct mpiwc_plan *plan, int nranks)
{
    mpiwc_plan_split_remaining(plan, nranks, NULL, 0);
}

/* ---- packing ---- */

struct writer {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct writer *w, const void *src, size_t n)
{
    w->p = mpiwc_grow(w->p, &w->cap, mpiwc_add_size(w->len, n), 1);
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
    /* The exact size first: grown by doubling, the buffer of a million paths was
     * copied and touched anew at each step. */
    size_t bytes = 4 + 8 * 4 + 8 * ((size_t)plan->nranks + 1) + 24 * plan->nranges;
    for (size_t i = 0; i < plan->nfiles; i++)
        bytes = mpiwc_add_size(bytes, 8 * 3 + 2 + strlen(plan->files[i].path));
    struct writer w = {mpiwc_xmalloc(bytes), 0, bytes};
    uint32_t magic = PLAN_MAGIC;
    put(&w, &magic, sizeof magic);
    put64(&w, (uint64_t)plan->nranks);
    put64(&w, plan->total_bytes);
    put64(&w, plan->nfiles);
    for (size_t i = 0; i < plan->nfiles; i++) {
        uint64_t len = strlen(plan->files[i].path);
        put64(&w, plan->files[i].size);
        put64(&w, plan->files[i].weight);
        put(&w, &plan->files[i].codec, 1);
        put(&w, &plan->files[i].to_eof, 1);
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
    return w.len; /* == bytes */
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
    /* The paths in one block: a million of them unpacked one malloc each cost
     * every rank but rank 0 0.2 s of the plan phase. A path and its NUL take
     * fewer bytes than its record, so len bounds the block. */
    plan->paths = mpiwc_xmalloc(len);
    size_t used = 0;
    for (uint64_t i = 0; i < nfiles && !r.bad; i++) {
        plan->files[i].size = get64(&r);
        plan->files[i].weight = get64(&r);
        if (r.left < 1 || *r.p >= MPIWC_CODECS) {
            r.bad = true;
            break;
        }
        plan->files[i].codec = *r.p;
        r.p++;
        r.left--;
        if (r.left < 1 || *r.p > 1) {
            r.bad = true;
            break;
        }
        plan->files[i].to_eof = *r.p;
        r.p++;
        r.left--;
        uint64_t n = get64(&r);
        if (r.bad || n > r.left) {
            r.bad = true;
            break;
        }
        char *path = plan->paths + used;
        memcpy(path, r.p, n);
        path[n] = '\0';
        used += n + 1;
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
    for (size_t i = plan->rank_first[r]; i < plan->rank_first[r + 1]; i++) {
        const struct mpiwc_plan_range *g = &plan->ranges[i];
        if (mpiwc_plan_whole(&plan->files[g->file]))
            sum += plan->files[g->file].weight;
        else if (g->end != MPIWC_PLAN_STREAM)
            sum += g->end - g->start;
    }
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

int mpiwc_plan_print(const struct mpiwc_plan *plan, const struct mpiwc_plan_memory *mem,
                     unsigned read_ahead, FILE *out, bool json)
{
    size_t stdin_files = 0;
    for (size_t i = 0; i < plan->nfiles; i++)
        stdin_files += plan->files[i].size == MPIWC_PLAN_STREAM;
    if (json) {
        fprintf(out,
                "{\"ranks\": %d, \"files\": %zu, \"total_bytes\": %" PRIu64
                ", \"stdin\": %s, \"imbalance\": %.6f, \"read_ahead_words\": %u, "
                "\"rank_plans\": [",
                plan->nranks, plan->nfiles - stdin_files, plan->total_bytes,
                stdin_files ? "true" : "false", imbalance(plan), read_ahead);
        for (int r = 0; r < plan->nranks; r++) {
            fprintf(out, "%s\n  {\"rank\": %d, \"bytes\": %" PRIu64, r ? "," : "", r,
                    mpiwc_plan_rank_bytes(plan, r));
            if (mem) {
                fprintf(out, ", \"memory_limit\": %" PRIu64 ", \"spill_dir\": ", mem[r].limit);
                mpiwc_format_json_string(out, (const uint8_t *)mem[r].spill_dir,
                                         strlen(mem[r].spill_dir));
            }
            fputs(", \"ranges\": [", out);
            for (size_t i = plan->rank_first[r]; i < plan->rank_first[r + 1]; i++) {
                const struct mpiwc_plan_range *g = &plan->ranges[i];
                const char *path = plan->files[g->file].path;
                fputs(i > plan->rank_first[r] ? ", {\"path\": " : "{\"path\": ", out);
                /* Paths are bytes: escaped as the table's words and --report's strings. */
                mpiwc_format_json_string(out, (const uint8_t *)path, strlen(path));
                if (g->end == MPIWC_PLAN_STREAM)
                    fputs(", \"start\": 0, \"end\": null}", out);
                else if (plan->files[g->file].codec != MPIWC_CODEC_NONE)
                    fprintf(out,
                            ", \"start\": %" PRIu64 ", \"end\": %" PRIu64
                            ", \"codec\": \"%s\", \"estimate\": %" PRIu64 "}",
                            g->start, g->end, mpiwc_codec_name(plan->files[g->file].codec),
                            plan->files[g->file].weight);
                else if (plan->files[g->file].to_eof)
                    fputs(", \"start\": 0, \"end\": null}", out);
                else
                    fprintf(out, ", \"start\": %" PRIu64 ", \"end\": %" PRIu64 "}", g->start,
                            g->end);
            }
            fputs("]}", out);
        }
        fputs("\n]}\n", out);
    } else {
        if (read_ahead)
            fprintf(out, "n-grams: each range reads on past its end for up to %u word%s\n",
                    read_ahead, read_ahead == 1 ? "" : "s");
        for (int r = 0; r < plan->nranks; r++) {
            size_t n = plan->rank_first[r + 1] - plan->rank_first[r];
            fprintf(out, "rank %d: %" PRIu64 " bytes in %zu range%s", r,
                    mpiwc_plan_rank_bytes(plan, r), n, n == 1 ? "" : "s");
            if (mem && mem[r].limit) {
                char *dir = mpiwc_escape(mem[r].spill_dir);
                fprintf(out, "; memory limit %" PRIu64 " bytes, spills under %s", mem[r].limit,
                        dir);
                free(dir);
            } else if (mem) {
                fputs("; no memory limit", out);
            }
            fputc('\n', out);
            for (size_t i = plan->rank_first[r]; i < plan->rank_first[r + 1]; i++) {
                const struct mpiwc_plan_range *g = &plan->ranges[i];
                /* One line per range, whatever bytes the path holds. */
                char *path = mpiwc_escape(plan->files[g->file].path);
                if (g->end == MPIWC_PLAN_STREAM)
                    fprintf(out, "  %s (standard input, handed out to all ranks in chunks)\n",
                            path);
                else if (plan->files[g->file].codec != MPIWC_CODEC_NONE)
                    fprintf(out, "  %s (%s, whole: %" PRIu64 " bytes, about %" PRIu64 " decoded)\n",
                            path, mpiwc_codec_name(plan->files[g->file].codec), g->end,
                            plan->files[g->file].weight);
                else if (plan->files[g->file].to_eof)
                    fprintf(out, "  %s (size reported as 0: whole, read to its end)\n", path);
                else
                    fprintf(out, "  %s [%" PRIu64 ", %" PRIu64 ")\n", path, g->start, g->end);
                free(path);
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

bool mpiwc_plan_reads_stdin(const struct mpiwc_plan *plan)
{
    for (size_t i = 0; i < plan->nfiles; i++)
        if (plan->files[i].size == MPIWC_PLAN_STREAM)
            return true;
    return false;
}

void mpiwc_plan_free(struct mpiwc_plan *plan)
{
    for (size_t i = 0; i < plan->nfiles && !plan->paths; i++)
        free(plan->files[i].path);
    free(plan->paths);
    free(plan->files);
    free(plan->ranges);
    free(plan->rank_first);
    free(plan->first_skipped);
    free(plan->first_duplicate);
    memset(plan, 0, sizeof *plan);
}

size_t mpiwc_plan_split_list(char *data, size_t len, bool nul, char ***paths)
{
    char sep = nul ? '\0' : '\n';
    size_t n = 0, cap = 0;
    char **v = NULL;
    for (size_t i = 0; i < len;) {
        char *start = data + i;
        char *end = memchr(start, sep, len - i);
        size_t k = end ? (size_t)(end - start) : len - i;
        if (end)
            *end = '\0';
        i += k + 1;
        if (k == 0)
            continue;
        if (!end) {
            /* The last entry has no separator: it needs a terminator past len. */
            start[k] = '\0';
        }
        v = mpiwc_grow(v, &cap, n + 1, sizeof *v);
        v[n++] = start;
    }
    *paths = v;
    return n;
}

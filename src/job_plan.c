/* job_plan.c: the plan phase (see job_internal.h). */
#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "job_internal.h"
#include "mpiwc/boundary.h"
#include "mpiwc/output.h"
#include "mpiwc/tokenize.h"
#include "mpiwc/util.h"

/*
 * Rank 0: refuse an output target that is one of the inputs (it would be
 * replaced). res: the probes of plan->files, which carry each file's device
 * and inode, so a million inputs cost no second stat.
 */
static int overwrites_input(const char *target, const struct mpiwc_plan *plan,
                            const struct mpiwc_plan_probe *res, char *err, size_t errlen)
{
    struct stat t;
    if (!target || strcmp(target, "-") == 0 || stat(target, &t) != 0)
        return 0; /* "-" is standard output */
    for (size_t i = 0; i < plan->nfiles; i++) {
        if (plan->files[i].size == MPIWC_PLAN_STREAM || res[i].error || !res[i].regular)
            continue;
        if (res[i].dev == (uint64_t)t.st_dev && res[i].ino == (uint64_t)t.st_ino) {
            snprintf(err, errlen, "%s: is also an input (%s): refusing to overwrite it", target,
                     plan->files[i].path);
            return -1;
        }
    }
    return 0;
}

/* Rank 0: read the --stopwords file. */
static int read_shared(const struct mpiwc_options *opts, struct shared_files *sf, char *msg,
                       size_t msglen)
{
    if (!opts->stopwords)
        return 0;
    for (size_t i = 0; i < opts->npaths; i++)
        if (strcmp(opts->stopwords, "-") == 0 &&
            (strcmp(opts->paths[i], "-") == 0 ||
             (opts->files_from && strcmp(opts->files_from, "-") == 0))) {
            snprintf(msg, msglen, "-: standard input cannot be both an input and --stopwords");
            return -1;
        }
    if (mpiwc_read_whole(opts->stopwords, &sf->stopwords, &sf->stopwords_len, msg, msglen) == 0)
        return 0;
    size_t n = strlen(msg);
    snprintf(msg + n, msglen - n, " (--stopwords)");
    return -1;
}

/* Collective. Rank 0's shared files to every rank (rank 0 read them in make_plan). */
static void bcast_shared(struct shared_files *sf, MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    uint64_t head[2] = {sf->stopwords != NULL, sf->stopwords_len};
    MPI_Bcast(head, 2, MPI_UINT64_T, 0, comm);
    if (!head[0])
        return;
    if (rank != 0) {
        sf->stopwords_len = (size_t)head[1];
        sf->stopwords = mpiwc_xmalloc(sf->stopwords_len + 1);
    }
    mpiwc_job_bcast_bytes((uint8_t *)sf->stopwords, head[1], comm);
}

void mpiwc_job_free_shared(struct shared_files *sf)
{
    free(sf->stopwords);
    memset(sf, 0, sizeof *sf);
}

/* Append s and its NUL to buf. */
static void put_str(uint8_t **buf, size_t *cap, size_t *len, const char *s)
{
    size_t n = strlen(s) + 1;
    *buf = mpiwc_grow(*buf, cap, *len + n, 1);
    memcpy(*buf + *len, s, n);
    *len += n;
}

static void put_u64(uint8_t **buf, size_t *cap, size_t *len, uint64_t v)
{
    *buf = mpiwc_grow(*buf, cap, *len + sizeof v, 1);
    memcpy(*buf + *len, &v, sizeof v);
    *len += sizeof v;
}

/* The next string of a packed buffer (NULL past its end or unterminated). */
static const char *get_str(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nul = *p < end ? memchr(*p, 0, (size_t)(end - *p)) : NULL;
    if (!nul)
        return NULL;
    const char *s = (const char *)*p;
    *p = nul + 1;
    return s;
}

static bool get_u64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if ((size_t)(end - *p) < sizeof *v)
        return false;
    memcpy(v, *p, sizeof *v);
    *p += sizeof *v;
    return true;
}

/* Pack one walked unit: its number, whether the walk worked, its files and their probes. */
static void pack_walked(uint8_t **out, size_t *cap, size_t *len, uint64_t u, int rc,
                        const struct mpiwc_plan *w, const struct mpiwc_plan_probe *pr)
{
    put_u64(out, cap, len, u);
    put_u64(out, cap, len, rc == 0);
    put_u64(out, cap, len, rc == 0 ? w->nfiles : 0);
    put_u64(out, cap, len, rc == 0 ? w->skipped : 0);
    put_str(out, cap, len, rc == 0 && w->first_skipped ? w->first_skipped : "");
    if (rc != 0)
        return;
    for (size_t i = 0; i < w->nfiles; i++)
        put_str(out, cap, len, w->files[i].path);
    size_t bytes = w->nfiles * sizeof *pr;
    *out = mpiwc_grow(*out, cap, *len + bytes, 1);
    if (bytes)
        memcpy(*out + *len, pr, bytes);
    *len += bytes;
}

/*
 * Rank 0: unpack one rank's walked units into walked[u], their files' probes
 * into probes[u], and set seen[u]. False on a malformed buffer, a failed
 * walk or a unit seen before.
 */
static bool unpack_walked(const uint8_t *p, const uint8_t *end, size_t nunits,
                          struct mpiwc_plan *walked, struct mpiwc_plan_probe **probes, bool *seen)
{
    while (p < end) {
        uint64_t u, ok, n, skipped;
        const char *first_skipped;
        if (!get_u64(&p, end, &u) || !get_u64(&p, end, &ok) || !get_u64(&p, end, &n) ||
            !get_u64(&p, end, &skipped) || !(first_skipped = get_str(&p, end)) || !ok ||
            n > (size_t)(end - p) || u >= nunits || seen[u])
            return false;
        seen[u] = true;
        struct mpiwc_plan *w = &walked[u];
        w->files = mpiwc_xcalloc(n ? n : 1, sizeof *w->files);
        w->skipped = skipped;
        w->first_skipped = *first_skipped ? mpiwc_xstrdup(first_skipped) : NULL;
        for (; w->nfiles < n; w->nfiles++) {
            const char *path = get_str(&p, end);
            if (!path)
                return false;
            w->files[w->nfiles].path = mpiwc_xstrdup(path);
        }
        size_t bytes = n * sizeof **probes;
        if ((size_t)(end - p) < bytes)
            return false;
        probes[u] = mpiwc_xmalloc(bytes ? bytes : 1);
        memcpy(probes[u], p, bytes);
        p += bytes;
    }
    return true;
}

enum { TAG_UNIT = 4201 }; /* a rank asks rank 0 for a unit to walk, and gets its number */
enum { ASKS = 2 };        /* the requests a walking rank keeps open, so it never waits */
#define NO_UNIT UINT64_MAX

/*
 * Rank 0: answer the ranks that asked for a unit with the next one, *next
 * (or NO_UNIT once none is left); with block, wait for one to ask first.
 * Returns how many were told that none is left.
 */
static int hand_out_units(uint64_t *next, size_t nunits, bool block, MPI_Comm comm)
{
    int told = 0;
    for (;;) {
        int asked = 1;
        MPI_Status st;
        if (block)
            MPI_Probe(MPI_ANY_SOURCE, TAG_UNIT, comm, &st);
        else
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_UNIT, comm, &asked, &st);
        if (!asked)
            return told;
        block = false;
        uint64_t u;
        MPI_Recv(&u, 1, MPI_UINT64_T, st.MPI_SOURCE, TAG_UNIT, comm, MPI_STATUS_IGNORE);
        u = *next < nunits ? (*next)++ : NO_UNIT;
        told += u == NO_UNIT;
        MPI_Send(&u, 1, MPI_UINT64_T, st.MPI_SOURCE, TAG_UNIT, comm);
    }
}

/*
 * Collective. The units walked, shared out as the ranks go, so a rank that
 * walks faster walks more: rank r starts with unit r and asks rank 0 for
 * more, ASKS requests ahead (rank 0 walks too and answers between its own
 * units, so one request ahead would often wait for a whole unit of rank 0's),
 * until it is told that none is left. Rank 0's units land in walked[u] and
 * probes[u] (and seen[u] is set); the others' are packed into *out (*olen
 * bytes) for the gather. Returns false when one of rank 0's walks failed.
 */
static bool walk_units(const struct mpiwc_plan_unit *units, size_t nunits,
                       const struct mpiwc_plan_filter *filter, struct mpiwc_plan *walked,
                       struct mpiwc_plan_probe **probes, bool *seen, uint8_t **out, size_t *olen,
                       MPI_Comm comm)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    size_t ocap = 0;
    *out = NULL;
    *olen = 0;
    struct mpiwc_prober prober;
    mpiwc_prober_init(&prober);
    if (rank == 0) {
        bool ok = mpiwc_plan_walk_unit(&units[0], filter, &prober, &walked[0], &probes[0]) == 0;
        seen[0] = true;
        uint64_t next = nunits < (size_t)nranks ? nunits : (size_t)nranks;
        int told = 0, asking = ASKS * ((int)next - 1); /* the ranks that started with a unit */
        for (;;) {
            told += hand_out_units(&next, nunits, false, comm);
            if (next < nunits) {
                size_t u = (size_t)next++;
                ok = ok &&
                     mpiwc_plan_walk_unit(&units[u], filter, &prober, &walked[u], &probes[u]) == 0;
                seen[u] = true;
            } else if (told < asking) {
                told += hand_out_units(&next, nunits, true, comm);
            } else {
                break;
            }
        }
        mpiwc_prober_free(&prober);
        return ok;
    }
    if ((size_t)rank >= nunits) {
        mpiwc_prober_free(&prober);
        return true;
    }
    /* Request k: receive into got[k] (req[2k]), send the ask (req[2k + 1]). Answers come in
     * order, and once one says none is left, so do the later ones. */
    uint64_t u = (uint64_t)rank, ask = 0, got[ASKS];
    MPI_Request req[2 * ASKS];
    for (int k = 0; k < ASKS; k++) {
        MPI_Irecv(&got[k], 1, MPI_UINT64_T, 0, TAG_UNIT, comm, &req[2 * k]);
        MPI_Isend(&ask, 1, MPI_UINT64_T, 0, TAG_UNIT, comm, &req[2 * k + 1]);
    }
    for (int k = 0; u != NO_UNIT; k = (k + 1) % ASKS) {
        struct mpiwc_plan w;
        struct mpiwc_plan_probe *pr = NULL;
        int rc = mpiwc_plan_walk_unit(&units[u], filter, &prober, &w, &pr);
        pack_walked(out, &ocap, olen, u, rc, &w, pr);
        if (rc == 0)
            mpiwc_plan_free(&w);
        free(pr);
        MPI_Waitall(2, &req[2 * k], MPI_STATUSES_IGNORE);
        u = got[k];
        if (u != NO_UNIT) {
            MPI_Irecv(&got[k], 1, MPI_UINT64_T, 0, TAG_UNIT, comm, &req[2 * k]);
            MPI_Isend(&ask, 1, MPI_UINT64_T, 0, TAG_UNIT, comm, &req[2 * k + 1]);
        }
    }
    MPI_Waitall(2 * ASKS, req, MPI_STATUSES_IGNORE); /* the others' answers: none left */
    mpiwc_prober_free(&prober);
    return true;
}

/*
 * Collective. The listing of paths (rank 0's; go: rank 0 lists at all) with
 * the directory walk spread over the ranks: rank 0 lists down to where the
 * directories are many (mpiwc_plan_list_cut), the units are broadcast and
 * shared out as the ranks walk (walk_units), each rank probing the files as
 * it finds them, and rank 0 gathers and splices them. *res (rank 0; NULL
 * when nothing was probed) gets a probe record per listed file, done for the
 * walked units' files. Whatever fails, rank 0 lists again alone
 * (mpiwc_plan_list), which finds the error a whole walk meets first. Returns
 * rank 0's verdict on rank 0.
 */
static int list_spread(struct mpiwc_plan *plan, char *const *paths, size_t npaths,
                       const struct mpiwc_plan_filter *filter, bool go, char *msg, size_t msglen,
                       struct mpiwc_plan_probe **res, MPI_Comm comm)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    struct mpiwc_plan_cut cut = {0};
    *res = NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    uint64_t head[2] = {0, 0}; /* units, their packed bytes */
    bool listed = false;
    if (rank == 0 && go && nranks > 1 &&
        mpiwc_plan_list_cut(plan, paths, npaths, filter, 16 * (size_t)nranks, &cut) == 0) {
        listed = true;
        for (size_t u = 0; u < cut.nunits; u++) {
            put_str(&buf, &cap, &len, cut.units[u].path);
            put_str(&buf, &cap, &len, cut.units[u].rel);
        }
        head[0] = cut.nunits;
        head[1] = len;
    }
    if (nranks > 1)
        MPI_Bcast(head, 2, MPI_UINT64_T, 0, comm);
    if (head[0] == 0) {
        mpiwc_plan_cut_free(&cut);
        free(buf);
        if (rank != 0 || !go)
            return 0;
        return listed ? 0 : mpiwc_plan_list(plan, paths, npaths, filter, msg, msglen);
    }

    /* Every rank: the units, and its share of them walked. */
    size_t nunits = (size_t)head[0];
    if (rank != 0)
        buf = mpiwc_xmalloc((size_t)head[1] + 1);
    mpiwc_job_bcast_bytes(buf, head[1], comm);
    struct mpiwc_plan_unit *units = mpiwc_xcalloc(nunits, sizeof *units);
    const uint8_t *p = buf, *end = buf + head[1];
    for (size_t u = 0; u < nunits; u++) {
        units[u].path = (char *)(uintptr_t)get_str(&p, end);
        units[u].rel = (char *)(uintptr_t)get_str(&p, end);
        if (!units[u].path || !units[u].rel)
            mpiwc_fatal("received a malformed list of directories");
    }
    /* Rank 0 keeps its own units' files as they are; the others pack theirs. */
    struct mpiwc_plan *walked = rank == 0 ? mpiwc_xcalloc(nunits, sizeof *walked) : NULL;
    struct mpiwc_plan_probe **probes = rank == 0 ? mpiwc_xcalloc(nunits, sizeof *probes) : NULL;
    bool *seen = rank == 0 ? mpiwc_xcalloc(nunits, sizeof *seen) : NULL;
    uint8_t *out;
    size_t olen;
    bool mine_ok = walk_units(units, nunits, filter, walked, probes, seen, &out, &olen, comm);
    free(units);
    free(buf);

    /* Rank 0 gathers them, if they fit int counts, and splices. */
    uint64_t mine = olen, *sizes = rank == 0 ? mpiwc_xcalloc((size_t)nranks, sizeof *sizes) : NULL;
    MPI_Gather(&mine, 1, MPI_UINT64_T, sizes, 1, MPI_UINT64_T, 0, comm);
    int *counts = NULL, *displs = NULL, fits = 1;
    uint8_t *all = NULL;
    if (rank == 0) {
        counts = mpiwc_xcalloc((size_t)nranks, sizeof *counts);
        displs = mpiwc_xcalloc((size_t)nranks, sizeof *displs);
        uint64_t total = 0;
        for (int r = 0; r < nranks; r++) {
            displs[r] = (int)(total <= INT_MAX ? total : 0);
            counts[r] = (int)(sizes[r] <= INT_MAX ? sizes[r] : 0);
            total += sizes[r];
        }
        fits = total <= INT_MAX;
        if (fits)
            all = mpiwc_xmalloc((size_t)total + 1);
    }
    MPI_Bcast(&fits, 1, MPI_INT, 0, comm);
    if (fits)
        MPI_Gatherv(out, (int)olen, MPI_BYTE, all, counts, displs, MPI_BYTE, 0, comm);
    free(out);
    int rc = 0;
    if (rank == 0) {
        bool ok = fits && mine_ok;
        for (int r = 1; r < nranks && ok; r++)
            ok = unpack_walked(all + displs[r], all + displs[r] + counts[r], nunits, walked, probes,
                               seen);
        for (size_t u = 0; u < nunits && ok; u++)
            ok = seen[u]; /* every unit walked once */
        ok = ok && mpiwc_plan_splice(plan, &cut, walked, probes, res) == 0;
        plan->walk_units = ok ? nunits : 0;
        for (size_t u = 0; u < nunits; u++) {
            mpiwc_plan_free(&walked[u]);
            free(probes[u]);
        }
        free(walked);
        free(probes);
        free(seen);
        if (!ok) {
            mpiwc_plan_free(plan);
            rc = mpiwc_plan_list(plan, paths, npaths, filter, msg, msglen);
        }
    }
    mpiwc_plan_cut_free(&cut);
    free(all);
    free(sizes);
    free(counts);
    free(displs);
    return rc;
}

/*
 * Collective. The paths of the command line, then those of --files-from
 * (read by rank 0), listed into rank 0's plan (go: rank 0 has not failed
 * already), with *res as list_spread leaves it. Returns rank 0's verdict on
 * rank 0.
 */
static int expand_inputs(const struct mpiwc_options *opts, struct mpiwc_plan *plan, bool go,
                         char *msg, size_t msglen, struct mpiwc_plan_probe **res, MPI_Comm comm)
{
    struct mpiwc_plan_filter filter = {opts->include, opts->ninclude, opts->exclude, opts->nexclude,
                                       opts->compat_hadoop};
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (!opts->files_from || rank != 0 || !go)
        return list_spread(plan, opts->paths, opts->npaths, &filter, go && !opts->files_from, msg,
                           msglen, res, comm);
    int rc = 0;
    for (size_t i = 0; i < opts->npaths; i++)
        if (strcmp(opts->files_from, "-") == 0 && strcmp(opts->paths[i], "-") == 0) {
            snprintf(msg, msglen, "-: standard input cannot be both an input and --files-from");
            rc = -1;
        }
    char *data = NULL, **listed = NULL;
    size_t len, n = 0;
    if (rc == 0 && mpiwc_read_whole(opts->files_from, &data, &len, msg, msglen) != 0)
        rc = -1;
    if (rc == 0)
        n = mpiwc_plan_split_list(data, len, opts->files_from_nul, &listed);
    char **all = mpiwc_xmalloc(mpiwc_mul_size(opts->npaths + n + 1, sizeof *all));
    for (size_t i = 0; i < opts->npaths; i++)
        all[i] = opts->paths[i];
    for (size_t i = 0; i < n; i++)
        all[opts->npaths + i] = listed[i];
    if (rc == 0 && opts->npaths + n == 0) {
        snprintf(msg, msglen, "%s: no paths in the list of files",
                 strcmp(opts->files_from, "-") == 0 ? "standard input" : opts->files_from);
        rc = -1;
    }
    int listed_rc =
        list_spread(plan, all, opts->npaths + n, &filter, rc == 0, msg, msglen, res, comm);
    free(all);
    free(listed);
    free(data);
    return rc != 0 ? rc : listed_rc;
}

/*
 * Collective. Open every listed file that the walk has not probed (res, rank
 * 0's: NULL or a record per file, some done) once, on some rank: rank r
 * probes the r-th of nranks nearly equal slices of them (the paths arrive by
 * Scatterv) and rank 0 gathers the fixed-size results. Returns every file's
 * record on rank 0 (res, or a new array; caller frees), NULL on the others.
 * A flat directory of a million files is probed here, in 1/nranks of the
 * time. Lists too big for int counts (2 GiB of paths) are probed by rank 0
 * alone.
 */
static struct mpiwc_plan_probe *probe_spread(const struct mpiwc_plan *plan,
                                             struct mpiwc_plan_probe *res, MPI_Comm comm)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    uint64_t head[2] = {0, 0}; /* files to probe, spread */
    size_t *todo = NULL;       /* rank 0: their places in plan->files */
    int *lens = NULL, *displs = NULL;
    char *all = NULL;
    uint64_t bytes = 0;
    if (rank == 0) {
        if (!res)
            res = mpiwc_xcalloc(plan->nfiles ? plan->nfiles : 1, sizeof *res);
        todo = mpiwc_xmalloc(mpiwc_mul_size(plan->nfiles ? plan->nfiles : 1, sizeof *todo));
        for (size_t i = 0; i < plan->nfiles; i++)
            if (!res[i].done) {
                todo[head[0]++] = i;
                bytes += strlen(plan->files[i].path) + 1;
            }
        head[1] =
            nranks > 1 && bytes < INT_MAX && head[0] < INT_MAX / sizeof(struct mpiwc_plan_probe);
    }
    MPI_Bcast(head, 2, MPI_UINT64_T, 0, comm);
    if (!head[1])
        nranks = 1; /* rank 0 probes everything below */
    else if (rank == 0) {
        lens = mpiwc_xcalloc((size_t)nranks, sizeof *lens);
        displs = mpiwc_xcalloc((size_t)nranks, sizeof *displs);
        size_t off = 0;
        all = mpiwc_xmalloc((size_t)bytes + 1);
        for (int r = 0; r < nranks; r++) {
            displs[r] = (int)off;
            for (uint64_t i = mpiwc_plan_boundary(head[0], nranks, r);
                 i < mpiwc_plan_boundary(head[0], nranks, r + 1); i++) {
                const char *path = plan->files[todo[i]].path;
                size_t k = strlen(path) + 1;
                memcpy(all + off, path, k);
                off += k;
            }
            lens[r] = (int)(off - (size_t)displs[r]);
        }
    }
    if ((head[1] == 0 && rank != 0) || head[0] == 0) {
        free(todo);
        free(all);
        free(lens);
        free(displs);
        return rank == 0 ? res : NULL;
    }
    uint64_t first = mpiwc_plan_boundary(head[0], nranks, rank);
    size_t n = (size_t)(mpiwc_plan_boundary(head[0], nranks, rank + 1) - first);
    char **paths = mpiwc_xmalloc(mpiwc_mul_size(n ? n : 1, sizeof *paths));
    char *mine = NULL;
    if (head[1]) {
        int len;
        MPI_Scatter(lens, 1, MPI_INT, &len, 1, MPI_INT, 0, comm);
        mine = mpiwc_xmalloc((size_t)len + 1);
        MPI_Scatterv(all, lens, displs, MPI_BYTE, mine, len, MPI_BYTE, 0, comm);
        char *p = mine;
        for (size_t i = 0; i < n; i++, p += strlen(p) + 1)
            paths[i] = p;
    } else {
        for (size_t i = 0; i < n; i++)
            paths[i] = plan->files[todo[i]].path;
    }
    struct mpiwc_plan_probe *got =
        mpiwc_xmalloc(mpiwc_mul_size(rank == 0 ? (size_t)head[0] + 1 : n + 1, sizeof *got));
    mpiwc_plan_probe(paths, n, got);
    if (head[1]) {
        if (rank == 0) {
            for (int r = 0; r < nranks; r++) {
                uint64_t a = mpiwc_plan_boundary(head[0], nranks, r);
                lens[r] = (int)((mpiwc_plan_boundary(head[0], nranks, r + 1) - a) * sizeof *got);
                displs[r] = (int)(a * sizeof *got);
            }
        }
        MPI_Gatherv(rank == 0 ? MPI_IN_PLACE : got, (int)(n * sizeof *got), MPI_BYTE, got, lens,
                    displs, MPI_BYTE, 0, comm);
    }
    if (rank == 0)
        for (uint64_t i = 0; i < head[0]; i++)
            res[todo[i]] = got[i];
    free(got);
    free(paths);
    free(mine);
    free(all);
    free(lens);
    free(displs);
    free(todo);
    return rank == 0 ? res : NULL;
}

/*
 * Collective. Rank 0 reads the shared files and lists the inputs, every rank
 * probes a share of them, then rank 0 checks the targets and splits. Returns
 * rank 0's verdict on rank 0 (0 on the others), and rank 0 prints the one
 * error line. sf is filled on rank 0 only (free_shared in every case).
 */
int mpiwc_job_make_plan(const struct mpiwc_options *opts, MPI_Comm comm, struct mpiwc_plan *plan,
                        struct shared_files *sf, FILE *err)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    char msg[MPIWC_ERRLEN];
    int failed = rank == 0 && read_shared(opts, sf, msg, sizeof msg) != 0;
    struct mpiwc_plan_probe *res = NULL; /* rank 0: the walk's probes */
    failed = expand_inputs(opts, plan, !failed, msg, sizeof msg, &res, comm) != 0 || failed;
    MPI_Bcast(&failed, 1, MPI_INT, 0, comm);
    if (failed) {
        if (rank == 0)
            mpiwc_say(err, "", msg);
        free(res);
        return -1;
    }
    res = probe_spread(plan, res, comm);
    if (rank != 0)
        return 0;
    /* Checked before the probes are applied (that drops files), said after the rest. */
    char clash[MPIWC_ERRLEN];
    bool clashes = overwrites_input(opts->output, plan, res, clash, sizeof clash) != 0 ||
                   overwrites_input(opts->report, plan, res, clash, sizeof clash) != 0;
    /* Targets that are one file are refused before a probe could create a directory. A dry
     * run creates nothing. */
    failed =
        mpiwc_plan_apply_probes(plan, res, msg, sizeof msg) != 0 ||
        mpiwc_output_clash(opts->output, opts->output_dir, opts->report, msg, sizeof msg) != 0 ||
        (opts->output && mpiwc_output_probe(opts->output, msg, sizeof msg) != 0) ||
        (opts->output_dir &&
         mpiwc_output_dir_probe(opts->output_dir, !opts->dry_run, msg, sizeof msg) != 0) ||
        (opts->report && mpiwc_output_probe(opts->report, msg, sizeof msg) != 0);
    free(res);
    if (!failed && clashes) {
        memcpy(msg, clash, sizeof msg);
        failed = 1;
    }
    if (failed) {
        mpiwc_say(err, "", msg);
        mpiwc_plan_free(plan);
        return -1;
    }
    if (opts->verbosity >= 0 && plan->skipped) {
        snprintf(msg, sizeof msg, "skipped %zu entr%s that %s not a regular file (first: %s)",
                 plan->skipped, plan->skipped == 1 ? "y" : "ies", plan->skipped == 1 ? "is" : "are",
                 plan->first_skipped);
        mpiwc_say(err, "warning: ", msg);
    }
    if (opts->verbosity >= 0 && plan->duplicates) {
        snprintf(msg, sizeof msg,
                 "counted once: %zu path%s reach%s a file already listed (first: %s)",
                 plan->duplicates, plan->duplicates == 1 ? "" : "s",
                 plan->duplicates == 1 ? "es" : "", plan->first_duplicate);
        mpiwc_say(err, "warning: ", msg);
    }
    const char *simd = mpiwc_boundary_bad_simd();
    if (opts->verbosity >= 0 && simd) {
        snprintf(msg, sizeof msg,
                 "MPIWC_SIMD=%s is not one of scalar, avx2, avx512: ignored, using the best "
                 "the processor has",
                 simd);
        mpiwc_say(err, "warning: ", msg);
    }
    mpiwc_plan_split(plan, nranks);
    return 0;
}

/*
 * Is a person watching err? Under mpirun a rank's stderr is a pipe to mpirun
 * even when mpirun writes to a terminal, but a rank started from a terminal
 * session still has it as its controlling terminal (batch jobs have none).
 */
bool mpiwc_job_watched(FILE *err)
{
    if (isatty(fileno(err)))
        return true;
    int fd = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Rank 0: is the progress line shown? */
static bool show_progress(const struct mpiwc_options *opts, FILE *err)
{
    if (opts->verbosity < 0 || opts->progress == MPIWC_PROGRESS_NEVER)
        return false;
    return opts->progress == MPIWC_PROGRESS_ALWAYS || mpiwc_job_watched(err);
}

/*
 * Collective. Every rank checks that it can create files in dir, which every
 * rank writes into (--checkpoint-dir, --output-dir; rank 0 made it): a path
 * that only some nodes see fails on the others. The ranks agree, and rank 0
 * prints the reason of the first rank that failed. Returns -1 on every rank
 * when any failed.
 */
static int every_rank_writes(const char *dir, const char *option, MPI_Comm comm, FILE *err)
{
    char why[MPIWC_ERRLEN - MPI_MAX_PROCESSOR_NAME - 64], msg[MPIWC_ERRLEN];
    size_t n = strlen(dir) + sizeof "/.mpiwc-probe";
    char *probe = mpiwc_xmalloc(n);
    snprintf(probe, n, "%s/.mpiwc-probe", dir);
    bool failed = mpiwc_output_probe(probe, why, sizeof why) != 0;
    free(probe);
    if (failed)
        snprintf(msg, sizeof msg, "%s (%s)", why, option);
    return mpiwc_job_agree_why(failed ? msg : NULL, comm, err);
}

/*
 * Collective. Rank 0 plans; every rank receives the plan and learns whether
 * rank 0 shows progress (all ranks then take part in the progress rounds).
 */
int mpiwc_job_distribute_plan(const struct mpiwc_options *opts, MPI_Comm comm,
                              struct mpiwc_plan *plan, struct shared_files *sf, bool *progress,
                              struct ckpt *ck, FILE *err)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    int verdict[2] = {0, 0}; /* failed, progress */
    uint8_t *packed = NULL;
    uint64_t len = 0;
    int planned = mpiwc_job_make_plan(opts, comm, plan, sf, err);
    if (rank == 0) {
        verdict[0] = planned != 0;
        if (!verdict[0] && ck->dir && mpiwc_job_ckpt_plan(opts, sf, nranks, plan, ck, err) != 0) {
            mpiwc_plan_free(plan);
            verdict[0] = 1;
        }
        verdict[1] = show_progress(opts, err);
        if (!verdict[0])
            len = mpiwc_plan_pack(plan, &packed);
    }
    MPI_Bcast(verdict, 2, MPI_INT, 0, comm);
    *progress = verdict[1];
    if (verdict[0])
        return -1;
    MPI_Bcast(&len, 1, MPI_UINT64_T, 0, comm);
    if (rank != 0)
        packed = mpiwc_xmalloc(len);
    mpiwc_job_bcast_bytes(packed, len, comm);
    if (rank != 0 && mpiwc_plan_unpack(plan, packed, len) != 0)
        mpiwc_fatal("received a malformed plan");
    free(packed);
    bcast_shared(sf, comm);
    if (ck->dir) {
        uint64_t state[5] = {ck->next, ck->loaded, ck->loaded_nranks, ck->inputs, ck->options};
        MPI_Bcast(state, 5, MPI_UINT64_T, 0, comm);
        ck->next = state[0];
        ck->loaded = state[1];
        ck->loaded_nranks = state[2];
        ck->inputs = state[3];
        ck->options = state[4];
    }
    if ((ck->dir && every_rank_writes(ck->dir, "--checkpoint-dir", comm, err) != 0) ||
        (opts->output_dir && every_rank_writes(opts->output_dir, "--output-dir", comm, err) != 0)) {
        mpiwc_plan_free(plan);
        return -1;
    }
    if (rank == 0)
        mpiwc_job_ckpt_say_resume(opts, ck, err);
    return 0;
}

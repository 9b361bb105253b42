#include "mpiwc/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "mpiwc/codec.h"
#include "mpiwc/plan.h"
#include "mpiwc/util.h"

/*
 * Does fd's st_size say nothing of its length? On procfs most files report
 * 0 and on sysfs every attribute reports a page, whatever they hold.
 */
static bool pseudo_file(int fd)
{
    struct statfs sfs;
    return fstatfs(fd, &sfs) == 0 && (sfs.f_type == 0x9fa0 /* PROC_SUPER_MAGIC */ ||
                                      sfs.f_type == 0x62656572 /* SYSFS_MAGIC */);
}

/*
 * One file alone: open it (it must be readable), take its size, and look at
 * its first bytes (and a gzip file's last 4) for its codec and estimated
 * text size. path is relative to the directory dfd.
 */
static void probe_one(int dfd, const char *path, struct mpiwc_plan_probe *r)
{
    memset(r, 0, sizeof *r);
    r->done = 1;
    int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        r->error = errno;
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        r->error = errno;
        close(fd);
        return;
    }
    r->regular = S_ISREG(st.st_mode);
    r->dev = (uint64_t)st.st_dev;
    r->ino = (uint64_t)st.st_ino;
    r->size = r->weight = (uint64_t)st.st_size;
    r->codec = MPIWC_CODEC_NONE;
    if (r->regular) {
        uint8_t head[MPIWC_CODEC_HEAD], tail[4];
        ssize_t k = pread(fd, head, sizeof head, 0);
        if (k < 0) {
            r->error = errno;
            close(fd);
            return;
        }
        /*
         * A size of 0 is not always the truth (/proc): one read tells. Nor is
         * a page on sysfs; fstatfs is asked only then, not of every file.
         */
        if ((r->size == 0 && k > 0) ||
            (r->size == (uint64_t)sysconf(_SC_PAGESIZE) && pseudo_file(fd))) {
            r->to_eof = 1;
            r->weight = MPIWC_PLAN_EOF_WEIGHT;
        }
        enum mpiwc_codec codec = mpiwc_codec_detect(head, (size_t)k);
        bool have_tail = false;
        if (codec == MPIWC_CODEC_GZIP && r->size >= 18)
            have_tail = pread(fd, tail, sizeof tail, (off_t)(r->size - 4)) == (ssize_t)sizeof tail;
        if (codec != MPIWC_CODEC_NONE)
            r->weight =
                mpiwc_codec_estimate(codec, r->size, head, (size_t)k, have_tail ? tail : NULL);
        r->codec = (uint8_t)codec;
    }
    close(fd);
}

/* Files a batch: 4 entries each in the ring, and as many direct descriptors. */
enum { BATCH = 64 };

void mpiwc_prober_init(struct mpiwc_prober *p)
{
    p->ring = NULL;
    const char *env = getenv("MPIWC_IO_URING");
    if (env && strcmp(env, "0") == 0)
        return;
    struct io_uring *ring = mpiwc_xmalloc(sizeof *ring);
    if (io_uring_queue_init(4 * BATCH, ring, 0) != 0) {
        free(ring); /* no io_uring here (old kernel, disabled, seccomp) */
        return;
    }
    if (io_uring_register_files_sparse(ring, BATCH) != 0) {
        io_uring_queue_exit(ring); /* no direct descriptors (before Linux 5.19) */
        free(ring);
        return;
    }
    p->ring = ring;
}

bool mpiwc_prober_batched(const struct mpiwc_prober *p)
{
    return p->ring != NULL;
}

void mpiwc_prober_free(struct mpiwc_prober *p)
{
    if (p->ring) {
        io_uring_queue_exit(p->ring);
        free(p->ring);
    }
    p->ring = NULL;
}

/*
 * Up to BATCH files through the ring: file k is a statx of its name, then
 * an openat into direct descriptor k, a read of its first bytes and a close,
 * linked (the close also after a failed read). What the batch cannot answer
 * alone is probed again by probe_one. False when the ring itself failed
 * (nothing filled).
 */
static bool run_batch(struct io_uring *ring, int dfd, const char *const *names, size_t n,
                      struct mpiwc_plan_probe *out)
{
    struct statx stx[BATCH];
    uint8_t head[BATCH][MPIWC_CODEC_HEAD];
    int res[BATCH][4];
    memset(stx, 0, sizeof stx); /* the kernel fills them; valgrind cannot see that */
    memset(head, 0, sizeof head);
    if (io_uring_sq_space_left(ring) < 4 * n)
        return false; /* cannot happen: the ring holds 4 BATCH and is empty between batches */
    for (size_t k = 0; k < n; k++) {
        struct io_uring_sqe *sqe[4];
        for (int op = 0; op < 4; op++) {
            sqe[op] = io_uring_get_sqe(ring);
            res[k][op] = -ECANCELED;
        }
        io_uring_prep_statx(sqe[0], dfd, names[k], 0, STATX_TYPE | STATX_SIZE | STATX_INO, &stx[k]);
        io_uring_prep_openat_direct(sqe[1], dfd, names[k], O_RDONLY | O_NONBLOCK | O_NOCTTY, 0,
                                    (unsigned)k);
        sqe[1]->flags |= IOSQE_IO_LINK;
        io_uring_prep_read(sqe[2], (int)k, head[k], MPIWC_CODEC_HEAD, 0);
        sqe[2]->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
        io_uring_prep_close_direct(sqe[3], (unsigned)k);
        for (int op = 0; op < 4; op++)
            io_uring_sqe_set_data64(sqe[op], 4 * k + (uint64_t)op);
    }
    if (io_uring_submit_and_wait(ring, (unsigned)(4 * n)) != (int)(4 * n))
        return false;
    for (size_t got = 0; got < 4 * n; got++) {
        struct io_uring_cqe *cqe;
        if (io_uring_wait_cqe(ring, &cqe) != 0)
            return false;
        uint64_t id = io_uring_cqe_get_data64(cqe);
        if (id < 4 * n)
            res[id / 4][id % 4] = cqe->res;
        io_uring_cqe_seen(ring, cqe);
    }
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    for (size_t k = 0; k < n; k++) {
        struct mpiwc_plan_probe *r = &out[k];
        bool whole = res[k][0] == 0 && res[k][1] >= 0 && res[k][2] >= 0 && res[k][3] == 0 &&
                     S_ISREG(stx[k].stx_mode);
        uint64_t size = stx[k].stx_size;
        size_t got = whole ? (size_t)res[k][2] : 0;
        enum mpiwc_codec codec = mpiwc_codec_detect(head[k], got);
        /* A failure (its errno is probe_one's to give), /proc, sysfs, a gzip trailer. */
        if (!whole || (size == 0 && got > 0) || size == page ||
            (codec == MPIWC_CODEC_GZIP && size >= 18)) {
            probe_one(dfd, names[k], r);
            continue;
        }
        *r = (struct mpiwc_plan_probe){
            .size = size,
            .weight = codec == MPIWC_CODEC_NONE
                          ? size
                          : mpiwc_codec_estimate(codec, size, head[k], got, NULL),
            .dev = (uint64_t)makedev(stx[k].stx_dev_major, stx[k].stx_dev_minor),
            .ino = stx[k].stx_ino,
            .codec = (uint8_t)codec,
            .regular = 1,
            .done = 1};
    }
    return true;
}

void mpiwc_prober_run(struct mpiwc_prober *p, int dfd, const char *const *names, size_t n,
                      struct mpiwc_plan_probe *out)
{
    for (size_t i = 0; i < n;) {
        size_t m = n - i < BATCH ? n - i : BATCH;
        if (p->ring && !run_batch(p->ring, dfd, names + i, m, out + i))
            mpiwc_prober_free(p); /* one file at a time from here on, this batch too */
        if (!p->ring) {
            for (size_t k = 0; k < m; k++)
                probe_one(dfd, names[i + k], &out[i + k]);
        }
        i += m;
    }
}

/*
 * probe: what opening an input file finds before the plan is made: its size,
 * its identity (device and inode), its codec and the text bytes it should
 * give. One open, fstat, pread of its first bytes and close per file, the
 * whole cost of planning a million small files.
 *
 *     struct mpiwc_prober p;
 *     mpiwc_prober_init(&p);
 *     mpiwc_prober_run(&p, dirfd, names, n, out);  // names in the directory dirfd
 *     mpiwc_prober_free(&p);
 *
 * Where the kernel allows it (io_uring with direct descriptors, Linux 5.19),
 * the files of one call go in batches of 64, each a statx of the name and a
 * linked openat, read and close: one system call a batch instead of four a
 * file, which is most of a probe's cost where system calls are dear (about
 * 3x faster on this project's VM). A file whose answer needs more (a gzip
 * file's trailer, a size of 0 or of one page, as on /proc and sysfs), or
 * whose batched probe failed in any way, is probed again alone, so every
 * answer and every error is the one-file probe's. MPIWC_IO_URING=0 in the
 * environment, or a kernel or seccomp policy without io_uring, gives the
 * one-file probe for all.
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_PROBE_H
#define MPIWC_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What opening one candidate found (a fixed-size record: it travels as bytes). */
struct mpiwc_plan_probe {
    uint64_t size;   /* st_size */
    uint64_t weight; /* planned text bytes (mpiwc_codec_estimate for a compressed file) */
    uint64_t dev;    /* st_dev and st_ino: is an output target one of the inputs? */
    uint64_t ino;
    int32_t error;   /* errno of a failed open, fstat or pread; 0 when it worked */
    uint8_t codec;   /* enum mpiwc_codec, from the first bytes */
    uint8_t regular; /* still a regular file when opened */
    uint8_t to_eof;  /* st_size 0 yet the first read returned bytes, or a sysfs page */
    uint8_t done;    /* 1 once probed; 0: not yet (a record of mpiwc_plan_splice) */
};

struct io_uring;

/* A prober: batched through its ring, or one file at a time (ring NULL). */
struct mpiwc_prober {
    struct io_uring *ring; /* owned; NULL: one file at a time */
};

/* Local. A prober, batched where io_uring works and MPIWC_IO_URING is not 0. */
void mpiwc_prober_init(struct mpiwc_prober *p);

/* Local. Does it batch (for tests)? */
bool mpiwc_prober_batched(const struct mpiwc_prober *p);

/*
 * Local. Probe names[0..n), each relative to the directory dfd (AT_FDCWD:
 * the working directory; an absolute name ignores dfd), into out[0..n)
 * (done set in each).
 */
void mpiwc_prober_run(struct mpiwc_prober *p, int dfd, const char *const *names, size_t n,
                      struct mpiwc_plan_probe *out);

void mpiwc_prober_free(struct mpiwc_prober *p);

#endif

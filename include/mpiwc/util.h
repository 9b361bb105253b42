/*
 * util: the few helpers every module shares -- checked allocation, overflow
 * checked size arithmetic, the one way a buffer grows, the one shape of an
 * error message, and mpiwc_fatal() for broken invariants.
 *
 * Errors a user can cause (bad paths, bad options, read failures) are never
 * fatal: mpiwc_fail() words them into the caller's buffer and they travel as
 * return codes up to the job, which agrees on them collectively; a rank
 * reports its own with mpiwc_say_rank(). mpiwc_fatal() is for bugs: it prints "mpiwc:
 * ORIGIN fatal: file.c:line: message" (the source's name, never a build path)
 * and calls the installed handler (abort() by default, so cmocka can expect
 * the crash; the program installs one that calls MPI_Abort). Running out of
 * memory is not a bug: the x*alloc functions say "mpiwc: ORIGIN out of memory
 * (allocating N bytes)" and what the user can do, then call the same handler.
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_UTIL_H
#define MPIWC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The size of an error buffer: a path of PATH_MAX bytes plus a reason. */
#define MPIWC_ERRLEN 4200

typedef void (*mpiwc_fatal_handler)(void);

/* Local. Replace the handler called after the fatal message; NULL restores abort(). */
void mpiwc_set_fatal_handler(mpiwc_fatal_handler handler);

/*
 * Local. Name this process "[rank N on HOST] ": what stands after "mpiwc: "
 * in mpiwc_say_rank(), the fatal and the out-of-memory lines. Set by the
 * program once MPI is up, and by whoever runs a job on a communicator; until
 * then those lines name no rank. host is copied.
 */
void mpiwc_set_origin(int rank, const char *host);

/*
 * Local. Report this rank's runtime error: "mpiwc: [rank N on HOST] msg" (msg
 * escaped, one write) to err. The one format of a rank's error; the caller
 * then takes part in the phase's agreement.
 */
void mpiwc_say_rank(FILE *err, const char *msg);

/* Local. Print the message with its origin and call the handler; never returns. */
_Noreturn void mpiwc_fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define mpiwc_fatal(...) mpiwc_fatal_at(__FILE__, __LINE__, __VA_ARGS__)

/*
 * Local. malloc/realloc/calloc/strdup that never return NULL: out of memory
 * ends the process through the handler, with the line above.
 */
void *mpiwc_xmalloc_at(const char *file, int line, size_t size);

/* Local. That line for n x size bytes that could not be had (mmap, mremap), then the
 * handler: what the x*alloc functions do when they fail. */
_Noreturn void mpiwc_out_of_memory(size_t n, size_t size);
void *mpiwc_xrealloc_at(const char *file, int line, void *ptr, size_t size);
void *mpiwc_xcalloc_at(const char *file, int line, size_t n, size_t size);
char *mpiwc_xstrdup_at(const char *file, int line, const char *s);
#define mpiwc_xmalloc(size) mpiwc_xmalloc_at(__FILE__, __LINE__, size)
#define mpiwc_xrealloc(ptr, size) mpiwc_xrealloc_at(__FILE__, __LINE__, ptr, size)
#define mpiwc_xcalloc(n, size) mpiwc_xcalloc_at(__FILE__, __LINE__, n, size)
#define mpiwc_xstrdup(s) mpiwc_xstrdup_at(__FILE__, __LINE__, s)

/* Local. a * b, fatal on overflow: use before every n * size allocation. */
size_t mpiwc_mul_size(size_t a, size_t b);

/* Local. a + b, fatal on overflow: the room a buffer needs for more bytes. */
size_t mpiwc_add_size(size_t a, size_t b);

/*
 * Local. The capacity that holds need elements: cap itself when it does,
 * else cap (16 when 0) doubled until it does; doubling past SIZE_MAX is fatal.
 */
size_t mpiwc_grow_cap(size_t cap, size_t need);

/*
 * Local. Make room for need elements of elem bytes in p, an array of *cap
 * elements (NULL with *cap 0 to start): grows *cap by mpiwc_grow_cap(), the
 * byte size overflow-checked, and returns p, moved if it grew. The one way a
 * buffer grows:
 *
 *     v = mpiwc_grow(v, &cap, n + 1, sizeof *v);
 *     v[n++] = x;
 */
void *mpiwc_grow(void *p, size_t *cap, size_t need, size_t elem);

/*
 * Local. Write the message into err[0..errlen) and return -1, so that a
 * function reports a user's error in one statement:
 *
 *     return mpiwc_fail(err, errlen, "%s: %s", path, strerror(errno));
 */
int mpiwc_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Local. s with what would break a one-line message escaped, as a new string
 * (caller frees): control characters as \n, \t, \r or \xHH, a backslash as
 * \\, and each byte that is not part of well-formed UTF-8 as \xHH. Valid
 * UTF-8 text (accents, CJK) is kept. Paths reach messages through this.
 */
char *mpiwc_escape(const char *s);

/*
 * Local. Read all of path ("-": standard input) with read(2), so a pipe is
 * read exactly once, whole. *data (caller frees) holds *len bytes and a NUL
 * after them; a regular file takes one allocation of its size. Returns 0,
 * or -1 with "PATH: reason" in err and errno saying why. The one way a whole
 * file is read.
 */
int mpiwc_read_whole(const char *path, char **data, size_t *len, char *err, size_t errlen);

/* Local. Seconds on a monotonic clock, for durations (MPI-free modules' MPI_Wtime). */
double mpiwc_seconds(void);

/* Local. Print "mpiwc: " prefix escaped(msg) "\n" to f as one write. */
void mpiwc_say(FILE *f, const char *prefix, const char *msg);

#endif

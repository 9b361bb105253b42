#include "mpiwc/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mpiwc/unicode.h"

static mpiwc_fatal_handler fatal_handler;
static char fatal_origin[320]; /* "[rank N on HOST] " */

void mpiwc_set_fatal_handler(mpiwc_fatal_handler handler)
{
    fatal_handler = handler;
}

void mpiwc_set_origin(int rank, const char *host)
{
    snprintf(fatal_origin, sizeof fatal_origin, "[rank %d on %s] ", rank, host);
}

/* The message, then the handler; never returns. */
static _Noreturn void die(void)
{
    fflush(stderr);
    if (fatal_handler)
        fatal_handler();
    abort();
}

void mpiwc_fatal_at(const char *file, int line, const char *fmt, ...)
{
    const char *base = strrchr(file, '/'); /* the source's name, never the build's path */
    va_list ap;
    fprintf(stderr, "mpiwc: %sfatal: %s:%d: ", fatal_origin, base ? base + 1 : file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    die();
}

/* Running out of memory is not a bug: say what ran out and what the user can do. */
void mpiwc_out_of_memory(size_t n, size_t size)
{
    char what[64];
    if (n == 1)
        snprintf(what, sizeof what, "%zu bytes", size);
    else
        snprintf(what, sizeof what, "%zu x %zu bytes", n, size);
    fprintf(stderr,
            "mpiwc: %sout of memory (allocating %s): run fewer ranks per host, or lower "
            "--memory-limit, --buffer-size or --shuffle-buffer\n",
            fatal_origin, what);
    die();
}

void *mpiwc_xmalloc_at(const char *file, int line, size_t size)
{
    (void)file;
    (void)line;
    void *p = malloc(size ? size : 1);
    if (!p)
        mpiwc_out_of_memory(1, size);
    return p;
}

void *mpiwc_xrealloc_at(const char *file, int line, void *ptr, size_t size)
{
    (void)file;
    (void)line;
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        mpiwc_out_of_memory(1, size);
    return p;
}

void *mpiwc_xcalloc_at(const char *file, int line, size_t n, size_t size)
{
    (void)file;
    (void)line;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        mpiwc_out_of_memory(n, size);
    return p;
}

char *mpiwc_xstrdup_at(const char *file, int line, const char *s)
{
    size_t len = strlen(s) + 1;
    return memcpy(mpiwc_xmalloc_at(file, line, len), s, len);
}

size_t mpiwc_mul_size(size_t a, size_t b)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        mpiwc_fatal("size overflow (%zu x %zu)", a, b);
    return r;
}

size_t mpiwc_add_size(size_t a, size_t b)
{
    size_t r;
    if (__builtin_add_overflow(a, b, &r))
        mpiwc_fatal("size overflow (%zu + %zu)", a, b);
    return r;
}

size_t mpiwc_grow_cap(size_t cap, size_t need)
{
    if (cap >= need)
        return cap;
    size_t c = cap ? cap : 16;
    while (c < need)
        c = mpiwc_mul_size(c, 2);
    return c;
}

void *mpiwc_grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (*cap >= need)
        return p;
    size_t c = mpiwc_grow_cap(*cap, need);
    p = mpiwc_xrealloc(p, mpiwc_mul_size(c, elem));
    *cap = c;
    return p;
}

int mpiwc_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

char *mpiwc_escape(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t len = strlen(s);
    const uint8_t *end = p + len;
    char *out = mpiwc_xmalloc(mpiwc_mul_size(len, 4) + 1);
    size_t o = 0;
    while (*p) {
        int32_t cp = -1;
        size_t n = *p >= 0x80 ? mpiwc_unicode_next(p, (size_t)(end - p), &cp) : 0;
        if (cp >= 0) {
            memcpy(out + o, p, n);
            o += n;
            p += n;
            continue;
        }
        unsigned char c = *p++;
        const char *named = c == '\\'   ? "\\\\"
                            : c == '\n' ? "\\n"
                            : c == '\t' ? "\\t"
                            : c == '\r' ? "\\r"
                                        : NULL;
        if (named) {
            memcpy(out + o, named, 2);
            o += 2;
        } else if (c < 0x20 || c >= 0x7F) {
            o += (size_t)sprintf(out + o, "\\x%02X", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

void mpiwc_say(FILE *f, const char *prefix, const char *msg)
{
    char *e = mpiwc_escape(msg);
    fprintf(f, "mpiwc: %s%s\n", prefix, e);
    free(e);
}

void mpiwc_say_rank(FILE *err, const char *msg)
{
    mpiwc_say(err, fatal_origin, msg);
}

double mpiwc_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int mpiwc_read_whole(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    bool std = strcmp(path, "-") == 0;
    int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        mpiwc_fail(err, errlen, "%s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    /* A regular file is read into one buffer of its size (and the NUL, and a
     * byte for read to find the end): a large checkpoint is never doubled. */
    struct stat st;
    size_t cap = (size_t)1 << 16, n = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < SIZE_MAX - 2)
        cap = (size_t)st.st_size + 2;
    char *p = mpiwc_xmalloc(cap);
    for (;;) {
        p = mpiwc_grow(p, &cap, n + 2, 1); /* a byte to read, and the NUL */
        ssize_t k = read(fd, p + n, cap - n - 1);
        if (k > 0) {
            n += (size_t)k;
        } else if (k == 0) {
            break;
        } else if (errno != EINTR) {
            int e = errno;
            mpiwc_fail(err, errlen, "%s: %s", std ? "standard input" : path, strerror(e));
            if (!std)
                close(fd);
            free(p);
            errno = e;
            return -1;
        }
    }
    if (!std)
        close(fd);
    p[n] = '\0';
    *data = p;
    *len = n;
    return 0;
}

#include "mpiwc/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mpiwc_fatal_handler fatal_handler;

void mpiwc_set_fatal_handler(mpiwc_fatal_handler handler)
{
    fatal_handler = handler;
}

void mpiwc_fatal_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mpiwc: fatal: %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    if (fatal_handler)
        fatal_handler();
    abort();
}

void *mpiwc_xmalloc_at(const char *file, int line, size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        mpiwc_fatal_at(file, line, "out of memory (allocating %zu bytes)", size);
    return p;
}

void *mpiwc_xrealloc_at(const char *file, int line, void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        mpiwc_fatal_at(file, line, "out of memory (allocating %zu bytes)", size);
    return p;
}

void *mpiwc_xcalloc_at(const char *file, int line, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        mpiwc_fatal_at(file, line, "out of memory (allocating %zu x %zu bytes)", n, size);
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

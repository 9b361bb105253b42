/*
 * Unit tests for record.h: the varints, the byte layout, round trips, and
 * rejection of every malformed, overlong or truncated buffer without reading
 * past its end (buffers under test end right at a PROT_NONE guard page).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "mpiwc/record.h"

/* A buffer of len bytes whose last byte is followed by an inaccessible page. */
struct guarded {
    uint8_t *map;
    size_t maplen;
    uint8_t *data;
};

static void guarded_alloc(struct guarded *g, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (len + page - 1) / page + 1;
    g->maplen = pages * page;
    void *m = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    g->map = m;
    assert_int_equal(mprotect(g->map + g->maplen - page, page, PROT_NONE), 0);
    g->data = g->map + g->maplen - page - len;
}

static void guarded_free(struct guarded *g)
{
    munmap(g->map, g->maplen);
}

static void test_size(void **state)
{
    (void)state;
    assert_int_equal(mpiwc_varint_size(0), 1);
    assert_int_equal(mpiwc_varint_size(127), 1);
    assert_int_equal(mpiwc_varint_size(128), 2);
    assert_int_equal(mpiwc_varint_size(16383), 2);
    assert_int_equal(mpiwc_varint_size(16384), 3);
    assert_int_equal(mpiwc_varint_size(UINT32_MAX), 5);
    assert_int_equal(mpiwc_varint_size(UINT64_MAX), 10);
    assert_int_equal(MPIWC_RECORD_HEADER_MAX, 15);
    assert_int_equal(mpiwc_record_size(1, 1), 3);
    assert_int_equal(mpiwc_record_size(100, 300), 103);
    assert_int_equal(mpiwc_record_size(200, UINT64_MAX), 212);
}

/* Every value around each 7-bit boundary: written in varint_size bytes, read back, and
 * rejected when any byte of it is missing. */
static void test_varint(void **state)
{
    (void)state;
    for (unsigned bits = 0; bits <= 64; bits++) {
        uint64_t base = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits);
        for (int d = -1; d <= 1; d++) {
            uint64_t v = base + (uint64_t)(int64_t)d;
            if ((d < 0 && base == 0) || (d > 0 && base == UINT64_MAX))
                continue;
            uint8_t buf[16];
            uint8_t *end = mpiwc_varint_put(buf, v);
            assert_int_equal(end - buf, mpiwc_varint_size(v));
            uint64_t got = 0;
            assert_ptr_equal(mpiwc_varint_get(buf, end, &got), end);
            assert_true(got == v);
            for (uint8_t *cut = buf; cut < end; cut++)
                assert_null(mpiwc_varint_get(buf, cut, &got));
        }
    }
}

static void test_layout(void **state)
{
    (void)state;
    struct guarded g;
    static const uint8_t want[] = {0x05, 0xac, 0x02, 'h', 'e', 'l', 'l', 'o'}; /* 300 = 0x12c */
    guarded_alloc(&g, sizeof want);
    uint8_t *end = mpiwc_record_put(g.data, "hello", 5, 300);
    assert_ptr_equal(end, g.data + sizeof want);
    assert_memory_equal(g.data, want, sizeof want);
    guarded_free(&g);

    static const uint8_t most[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x01, 'x'};
    guarded_alloc(&g, sizeof most);
    end = mpiwc_record_put(g.data, "x", 1, UINT64_MAX);
    assert_ptr_equal(end, g.data + sizeof most);
    assert_memory_equal(g.data, most, sizeof most);
    guarded_free(&g);
}

static void test_end_on_empty(void **state)
{
    (void)state;
    uint8_t buf[4] = {0};
    const uint8_t *pos = buf;
    const uint8_t *key = NULL;
    uint32_t len = 0;
    uint64_t count = 0;
    assert_int_equal(mpiwc_record_next(&pos, buf, &key, &len, &count), MPIWC_RECORD_END);
    assert_ptr_equal(pos, buf);
}

struct rec {
    uint8_t *key;
    uint32_t len;
    uint64_t count;
};

static size_t make_records(struct rec *r, size_t n)
{
    size_t total = 0;
    uint32_t x = 99;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        uint32_t len;
        if (i % 97 == 5)
            len = 70000 + (x >> 20); /* long keys */
        else
            len = 1 + (x >> 24) % 40;
        r[i].len = len;
        r[i].key = malloc(len);
        assert_non_null(r[i].key);
        for (uint32_t j = 0; j < len; j++)
            r[i].key[j] = (uint8_t)(x >> (j % 24)) ^ (uint8_t)j;
        r[i].count = (i % 50 == 0) ? UINT64_MAX : (uint64_t)i * 1000003u + 1;
        total += mpiwc_record_size(len, r[i].count);
    }
    return total;
}

static void test_round_trip(void **state)
{
    (void)state;
    const size_t n = 1000;
    struct rec *r = calloc(n, sizeof *r);
    assert_non_null(r);
    size_t total = make_records(r, n);

    struct guarded g;
    guarded_alloc(&g, total);
    uint8_t *p = g.data;
    for (size_t i = 0; i < n; i++)
        p = mpiwc_record_put(p, r[i].key, r[i].len, r[i].count);
    assert_ptr_equal(p, g.data + total);

    const uint8_t *pos = g.data;
    const uint8_t *end = g.data + total;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *key = NULL;
        uint32_t len = 0;
        uint64_t count = 0;
        const uint8_t *before = pos;
        assert_int_equal(mpiwc_record_next(&pos, end, &key, &len, &count), MPIWC_RECORD_OK);
        assert_int_equal(len, r[i].len);
        assert_int_equal(count, r[i].count);
        /* borrowed, not copied */
        assert_ptr_equal(key, before + mpiwc_varint_size(len) + mpiwc_varint_size(count));
        assert_memory_equal(key, r[i].key, len);
        assert_ptr_equal(pos, before + mpiwc_record_size(len, count));
    }
    const uint8_t *key = NULL;
    uint32_t len = 0;
    uint64_t count = 0;
    assert_int_equal(mpiwc_record_next(&pos, end, &key, &len, &count), MPIWC_RECORD_END);
    assert_int_equal(mpiwc_record_next(&pos, end, &key, &len, &count), MPIWC_RECORD_END);
    guarded_free(&g);
    for (size_t i = 0; i < n; i++)
        free(r[i].key);
    free(r);
}

/* Records at odd addresses decode the same (fields are memcpy'd). */
static void test_unaligned(void **state)
{
    (void)state;
    uint8_t buf[64];
    for (size_t off = 0; off < 8; off++) {
        uint8_t *p = mpiwc_record_put(buf + off, "ab", 2, 42);
        p = mpiwc_record_put(p, "xyz", 3, 7);
        const uint8_t *pos = buf + off;
        const uint8_t *key;
        uint32_t len;
        uint64_t count;
        assert_int_equal(mpiwc_record_next(&pos, p, &key, &len, &count), MPIWC_RECORD_OK);
        assert_int_equal(len, 2);
        assert_int_equal(count, 42);
        assert_memory_equal(key, "ab", 2);
        assert_int_equal(mpiwc_record_next(&pos, p, &key, &len, &count), MPIWC_RECORD_OK);
        assert_int_equal(len, 3);
        assert_int_equal(count, 7);
        assert_memory_equal(key, "xyz", 3);
        assert_int_equal(mpiwc_record_next(&pos, p, &key, &len, &count), MPIWC_RECORD_END);
    }
}

/* The bytes raw[0 .. n) at the end of a guard buffer. */
static void raw_bytes(struct guarded *g, const void *raw, size_t n)
{
    guarded_alloc(g, n);
    memcpy(g->data, raw, n);
}

static enum mpiwc_record_status decode_one(const struct guarded *g, size_t buflen)
{
    const uint8_t *pos = g->data;
    const uint8_t *key = NULL;
    uint32_t len = 0;
    uint64_t count = 0;
    return mpiwc_record_next(&pos, g->data + buflen, &key, &len, &count);
}

/* raw[0 .. n) alone decodes to want. */
static void expect(const void *raw, size_t n, enum mpiwc_record_status want)
{
    struct guarded g;
    raw_bytes(&g, raw, n);
    assert_int_equal(decode_one(&g, n), want);
    guarded_free(&g);
}

static void test_bad_truncated_header(void **state)
{
    (void)state;
    uint8_t rec[3 + 200];
    memset(rec, 'k', sizeof rec);
    rec[0] = 0xc8; /* key_len 200: two bytes */
    rec[1] = 0x01;
    rec[2] = 0x07; /* count 7 */
    for (size_t l = 1; l <= 3; l++)
        expect(rec, l, MPIWC_RECORD_BAD);
    expect(rec, sizeof rec, MPIWC_RECORD_OK);
}

static void test_bad_truncated_key(void **state)
{
    (void)state;
    const uint8_t rec[] = {10, 1, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'};
    expect(rec, 2 + 5, MPIWC_RECORD_BAD);
    expect(rec, 2 + 9, MPIWC_RECORD_BAD);
    expect(rec, 2 + 10, MPIWC_RECORD_OK);

    /* key_len near UINT32_MAX must not wrap a pointer or size computation. */
    const uint8_t most[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 1, 'a', 'b', 'c', 'd'};
    expect(most, sizeof most, MPIWC_RECORD_BAD);
    const uint8_t half[] = {0x80, 0x80, 0x80, 0x80, 0x08, 1, 'a', 'b', 'c', 'd'}; /* 2^31 */
    expect(half, sizeof half, MPIWC_RECORD_BAD);
}

/* A key_len past 32 bits, a count past 64, or a varint longer than its value needs. */
static void test_bad_varints(void **state)
{
    (void)state;
    const uint8_t len33[] = {0x80, 0x80, 0x80, 0x80, 0x10, 1, 'a'}; /* 2^32 */
    expect(len33, sizeof len33, MPIWC_RECORD_BAD);
    const uint8_t count65[] = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 'a'};
    expect(count65, sizeof count65, MPIWC_RECORD_BAD);
    const uint8_t count_max[] = {1,    0xff, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0x01, 'a'};
    expect(count_max, sizeof count_max, MPIWC_RECORD_OK);
    const uint8_t count11[] = {1,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0x81, 0x00, 'a'};
    expect(count11, sizeof count11, MPIWC_RECORD_BAD);
    const uint8_t long_len[] = {0x83, 0x00, 1, 'a', 'b', 'c'}; /* 3 in two bytes */
    expect(long_len, sizeof long_len, MPIWC_RECORD_BAD);
    const uint8_t long_count[] = {3, 0x85, 0x80, 0x00, 'a', 'b', 'c'}; /* 5 in three bytes */
    expect(long_count, sizeof long_count, MPIWC_RECORD_BAD);
    const uint8_t zero_two[] = {3, 0x80, 0x00, 'a', 'b', 'c'}; /* 0 in two bytes */
    expect(zero_two, sizeof zero_two, MPIWC_RECORD_BAD);
}

static void test_bad_key_len_zero(void **state)
{
    (void)state;
    const uint8_t empty[] = {0, 5};
    expect(empty, sizeof empty, MPIWC_RECORD_BAD);
    const uint8_t more[] = {0, 5, 'a', 'b', 'c', 'd'};
    expect(more, sizeof more, MPIWC_RECORD_BAD);
}

static void test_bad_count_zero(void **state)
{
    (void)state;
    const uint8_t rec[] = {3, 0, 'a', 'b', 'c'};
    expect(rec, sizeof rec, MPIWC_RECORD_BAD);
}

/* A bad record after good ones: the good ones decode, then BAD. */
static void test_bad_after_good(void **state)
{
    (void)state;
    uint8_t buf[128];
    uint8_t *p = mpiwc_record_put(buf, "one", 3, 1);
    p = mpiwc_record_put(p, "two", 3, 2);
    *p++ = 0; /* key_len 0 */
    *p++ = 9;
    const uint8_t *pos = buf;
    const uint8_t *key;
    uint32_t len;
    uint64_t count;
    assert_int_equal(mpiwc_record_next(&pos, p, &key, &len, &count), MPIWC_RECORD_OK);
    assert_int_equal(mpiwc_record_next(&pos, p, &key, &len, &count), MPIWC_RECORD_OK);
    assert_int_equal(count, 2);
    assert_int_equal(mpiwc_record_next(&pos, p, &key, &len, &count), MPIWC_RECORD_BAD);
}

/* Every prefix of a valid buffer: OK up to the last whole record, then END exactly
 * at a record boundary and BAD otherwise; never a read past the prefix. */
static void test_every_truncation(void **state)
{
    (void)state;
    static const struct {
        const char *k;
        uint32_t len;
        uint64_t count;
    } in[] = {{"a", 1, 1}, {"hello", 5, 300}, {"\0\xff", 2, UINT64_MAX}, {"xyzzy-plugh", 11, 2}};
    const size_t n = sizeof in / sizeof in[0];
    size_t bounds[5] = {0};
    uint8_t full[128];
    uint8_t *p = full;
    for (size_t i = 0; i < n; i++) {
        p = mpiwc_record_put(p, in[i].k, in[i].len, in[i].count);
        bounds[i + 1] = (size_t)(p - full);
    }
    const size_t total = (size_t)(p - full);
    for (size_t l = 0; l <= total; l++) {
        struct guarded g;
        guarded_alloc(&g, l);
        memcpy(g.data, full, l);
        const uint8_t *pos = g.data;
        const uint8_t *end = g.data + l;
        size_t whole = 0; /* records entirely inside the prefix */
        while (whole < n && bounds[whole + 1] <= l)
            whole++;
        for (size_t i = 0; i < whole; i++) {
            const uint8_t *key;
            uint32_t len;
            uint64_t count;
            assert_int_equal(mpiwc_record_next(&pos, end, &key, &len, &count), MPIWC_RECORD_OK);
            assert_int_equal(len, in[i].len);
            assert_int_equal(count, in[i].count);
            assert_memory_equal(key, in[i].k, len);
        }
        const uint8_t *key;
        uint32_t len;
        uint64_t count;
        enum mpiwc_record_status want = bounds[whole] == l ? MPIWC_RECORD_END : MPIWC_RECORD_BAD;
        assert_int_equal(mpiwc_record_next(&pos, end, &key, &len, &count), want);
        guarded_free(&g);
    }
}

/* put writes exactly record_size bytes (a guard page right after them). */
static void test_put_exact_size(void **state)
{
    (void)state;
    for (uint32_t len = 1; len < 300; len += 37) {
        struct guarded g;
        guarded_alloc(&g, mpiwc_record_size(len, len));
        uint8_t key[300];
        memset(key, 'k', len);
        uint8_t *end = mpiwc_record_put(g.data, key, len, len);
        assert_ptr_equal(end, g.data + mpiwc_record_size(len, len));
        guarded_free(&g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_varint),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_end_on_empty),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_unaligned),
        cmocka_unit_test(test_bad_truncated_header),
        cmocka_unit_test(test_bad_truncated_key),
        cmocka_unit_test(test_bad_varints),
        cmocka_unit_test(test_bad_key_len_zero),
        cmocka_unit_test(test_bad_count_zero),
        cmocka_unit_test(test_bad_after_good),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_put_exact_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

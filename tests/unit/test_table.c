/*
 * Unit tests for table.h: insert and lookup, growth, clear, binary keys, the
 * hash and the owner function.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "mpiwc/table.h"
#include "mpiwc/util.h"
#include "src/table_internal.h"

/* Bytes of memory the table holds now: its slot arrays and the arena's capacity. */
static size_t table_held(const struct mpiwc_table *t)
{
    return (t->small_mask + 1) * sizeof *t->small + (t->short_mask + 1) * sizeof *t->shorts +
           (t->mask + 1) * sizeof *t->slots + t->arena_cap;
}

static size_t count_occupied(const struct mpiwc_table *t, uint64_t *sum)
{
    size_t n = 0;
    uint64_t s = 0;
    for (size_t i = 0; i < mpiwc_table_slots(t); i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(t, i, &e);
        if (e.count) {
            n++;
            s += e.count;
        }
    }
    if (sum)
        *sum = s;
    return n;
}

static void test_insert_get(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    assert_int_equal(t.size, 0);
    assert_int_equal(mpiwc_table_get(&t, "word", 4), 0);

    mpiwc_table_add(&t, "word", 4, 1);
    assert_int_equal(mpiwc_table_get(&t, "word", 4), 1);
    assert_int_equal(mpiwc_table_get(&t, "wor", 3), 0);
    assert_int_equal(mpiwc_table_get(&t, "words", 5), 0);
    assert_int_equal(mpiwc_table_get(&t, "Word", 4), 0);
    assert_int_equal(t.size, 1);

    mpiwc_table_add(&t, "other", 5, 7);
    assert_int_equal(mpiwc_table_get(&t, "other", 5), 7);
    assert_int_equal(mpiwc_table_get(&t, "word", 4), 1);
    assert_int_equal(t.size, 2);

    /* The key is copied: changing the caller's buffer changes nothing. */
    char buf[] = "copy";
    mpiwc_table_add(&t, buf, 4, 3);
    buf[0] = 'X';
    assert_int_equal(mpiwc_table_get(&t, "copy", 4), 3);
    assert_int_equal(mpiwc_table_get(&t, "Xopy", 4), 0);

    /* Iteration shows exactly the keys with their counts and hashes. */
    size_t seen = 0;
    for (size_t i = 0; i < mpiwc_table_slots(&t); i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(&t, i, &e);
        if (e.count == 0)
            continue;
        seen++;
        const uint8_t *k = e.key;
        assert_int_equal(e.hash, mpiwc_hash(k, e.len));
        if (e.len == 4 && memcmp(k, "word", 4) == 0)
            assert_int_equal(e.count, 1);
        else if (e.len == 5 && memcmp(k, "other", 5) == 0)
            assert_int_equal(e.count, 7);
        else if (e.len == 4 && memcmp(k, "copy", 4) == 0)
            assert_int_equal(e.count, 3);
        else
            fail_msg("unexpected key in table");
    }
    assert_int_equal(seen, 3);
    mpiwc_table_free(&t);
}

static void test_counts_add_up(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 4);
    uint64_t want_a = 0, want_b = 0;
    for (uint64_t i = 1; i <= 1000; i++) {
        mpiwc_table_add(&t, "a", 1, i);
        want_a += i;
        if (i % 3 == 0) {
            mpiwc_table_add(&t, "b", 1, 1);
            want_b++;
        }
    }
    assert_int_equal(mpiwc_table_get(&t, "a", 1), want_a);
    assert_int_equal(want_a, 500500);
    assert_int_equal(mpiwc_table_get(&t, "b", 1), want_b);
    assert_int_equal(t.size, 2);

    /* Counts are 64-bit: no wrap at 2^32, in every array (a short key's slot keeps 32 bits of
     * it: the rest goes to the carry, and back). */
    mpiwc_table_add(&t, "big", 3, UINT64_C(0xffffffff));
    mpiwc_table_add(&t, "big", 3, 2);
    assert_int_equal(mpiwc_table_get(&t, "big", 3), UINT64_C(0x100000001));
    mpiwc_table_add(&t, "eleven-byte", 11, UINT64_C(0xffffffff));
    assert_null(t.carry);
    mpiwc_table_add(&t, "eleven-byte", 11, 2);
    assert_non_null(t.carry);
    assert_int_equal(mpiwc_table_get(&t, "eleven-byte", 11), UINT64_C(0x100000001));
    mpiwc_table_add(&t, "fifteen-bytes!!", 15, UINT64_C(5) << 40);
    mpiwc_table_add(&t, "fifteen-bytes!!", 15, UINT64_C(7) << 31);
    assert_int_equal(mpiwc_table_get(&t, "fifteen-bytes!!", 15),
                     (UINT64_C(5) << 40) + (UINT64_C(7) << 31));
    assert_int_equal(mpiwc_table_get(&t, "fifteen-bytes!", 14), 0);
    mpiwc_table_add(&t, "an 8-byte", 9, UINT64_C(1) << 55);
    mpiwc_table_add(&t, "an 8-byte", 9, (UINT64_C(1) << 55) - 1);
    assert_int_equal(mpiwc_table_get(&t, "an 8-byte", 9), MPIWC_COUNT_MAX);
    /* Up to 2^56 - 1, short and long keys alike, and the key's length survives. */
    mpiwc_table_add(&t, "huge", 4, UINT64_C(1) << 55);
    mpiwc_table_add(&t, "huge", 4, (UINT64_C(1) << 55) - 2);
    mpiwc_table_add(&t, "huge", 4, 1);
    assert_int_equal(mpiwc_table_get(&t, "huge", 4), MPIWC_COUNT_MAX);
    assert_int_equal(mpiwc_table_get(&t, "hug", 3), 0);
    const char *long_key = "a key longer than sixteen bytes";
    mpiwc_table_add(&t, long_key, strlen(long_key), MPIWC_COUNT_MAX - 1);
    mpiwc_table_add(&t, long_key, strlen(long_key), 1);
    assert_int_equal(mpiwc_table_get(&t, long_key, strlen(long_key)), MPIWC_COUNT_MAX);
    mpiwc_table_free(&t);
}

static jmp_buf fatal_jump;

static void fatal_to_test(void)
{
    longjmp(fatal_jump, 1);
}

/* A merged count past 2^56 - 1 is a fatal error, never a count that wraps into the key's length. */
static void test_count_overflow_is_fatal(void **state)
{
    (void)state;
    const char *keys[] = {"w", "a short key", "a key longer than sixteen bytes"};
    for (volatile int k = 0; k < 3; k++) { /* volatile: read again after a longjmp */
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        mpiwc_table_add(&t, keys[k], strlen(keys[k]), MPIWC_COUNT_MAX - 1);
        mpiwc_set_fatal_handler(fatal_to_test);
        volatile int died = 0;
        if (setjmp(fatal_jump) == 0)
            mpiwc_table_add(&t, keys[k], strlen(keys[k]), 2);
        else
            died = 1;
        assert_int_equal(died, 1);
        if (setjmp(fatal_jump) == 0)
            mpiwc_table_add(&t, "new", 3, MPIWC_COUNT_MAX + 1);
        else
            died = 2;
        assert_int_equal(died, 2);
        if (setjmp(fatal_jump) == 0) /* a sum past 2^64 must not wrap to a small count */
            mpiwc_table_add(&t, keys[k], strlen(keys[k]), UINT64_MAX - 2);
        else
            died = 3;
        mpiwc_set_fatal_handler(NULL);
        assert_int_equal(died, 3);
        assert_int_equal(mpiwc_table_get(&t, keys[k], strlen(keys[k])), MPIWC_COUNT_MAX - 1);
        mpiwc_table_free(&t);
    }
}

static int make_key(char *buf, uint32_t i)
{
    return snprintf(buf, 32, "key-%u-%x", i, i * 2654435761u);
}

static void test_growth_200k(void **state)
{
    (void)state;
    const uint32_t n = 200000;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    char key[32];
    for (uint32_t i = 0; i < n; i++) {
        int len = make_key(key, i);
        mpiwc_table_add(&t, key, (size_t)len, (uint64_t)i + 1);
        if (i % 2 == 0)
            mpiwc_table_add(&t, key, (size_t)len, 1);
    }
    assert_int_equal(t.size, n);
    size_t slots = mpiwc_table_slots(&t), big = t.mask + 1, small = t.small_mask + 1,
           shorts = t.short_mask + 1;
    assert_int_equal(slots, small + shorts + big);
    assert_int_equal(big & (big - 1), 0); /* powers of two */
    assert_int_equal(small & (small - 1), 0);
    assert_int_equal(shorts & (shorts - 1), 0);
    assert_int_equal(t.small_size + t.short_size + t.big_size, n);
    assert_int_equal(t.small_size, 1); /* "key-0-0"; every other key is longer */
    assert_true(t.short_size > 0 && t.big_size > 0);
    assert_true(t.big_size <= big / 4 * 3); /* each array doubles at 3/4 load */
    assert_true(t.short_size <= shorts / 4 * 3);

    for (uint32_t i = 0; i < n; i++) {
        int len = make_key(key, i);
        uint64_t want = (uint64_t)i + 1 + (i % 2 == 0);
        assert_int_equal(mpiwc_table_get(&t, key, (size_t)len), want);
    }
    uint64_t sum = 0;
    assert_int_equal(count_occupied(&t, &sum), n);
    uint64_t want_sum = (uint64_t)n * (n + 1) / 2 + n / 2;
    assert_int_equal(sum, want_sum);

    /* Every key seen in iteration is one of ours, with its count. */
    for (size_t i = 0; i < slots; i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(&t, i, &e);
        if (e.count == 0)
            continue;
        const uint8_t *k = e.key;
        unsigned id = 0;
        char tmp[32];
        assert_true(e.len < sizeof tmp);
        memcpy(tmp, k, e.len);
        tmp[e.len] = 0;
        assert_int_equal(sscanf(tmp, "key-%u-", &id), 1);
        assert_true(id < n);
        int len = make_key(key, id);
        assert_int_equal(e.len, (uint32_t)len);
        assert_memory_equal(k, key, (size_t)len);
        assert_int_equal(e.count, (uint64_t)id + 1 + (id % 2 == 0));
    }
    assert_true(table_held(&t) >= small * sizeof(struct mpiwc_small_entry) +
                                      shorts * sizeof(struct mpiwc_short_entry) +
                                      big * sizeof(struct mpiwc_entry) + t.arena_len);
    mpiwc_table_free(&t);
}

static void test_clear_then_reuse(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    char key[32];
    for (uint32_t i = 0; i < 5000; i++)
        mpiwc_table_add(&t, key, (size_t)make_key(key, i), 2);
    size_t slots = mpiwc_table_slots(&t);
    size_t mem = table_held(&t);
    assert_true(mem > 0);

    mpiwc_table_clear(&t);
    assert_int_equal(t.size, 0);
    assert_int_equal(count_occupied(&t, NULL), 0);
    assert_int_equal(mpiwc_table_slots(&t), slots); /* memory kept */
    assert_int_equal(table_held(&t), mem);
    for (uint32_t i = 0; i < 5000; i++)
        assert_int_equal(mpiwc_table_get(&t, key, (size_t)make_key(key, i)), 0);

    /* Reuse: a different set of keys, some overlapping the old ones. */
    for (uint32_t i = 2500; i < 7500; i++)
        mpiwc_table_add(&t, key, (size_t)make_key(key, i), 5);
    assert_int_equal(t.size, 5000);
    for (uint32_t i = 0; i < 10000; i++) {
        uint64_t want = (i >= 2500 && i < 7500) ? 5 : 0;
        assert_int_equal(mpiwc_table_get(&t, key, (size_t)make_key(key, i)), want);
    }
    uint64_t sum = 0;
    assert_int_equal(count_occupied(&t, &sum), 5000);
    assert_int_equal(sum, 25000);

    /* Clearing an empty or fresh table is fine too. */
    mpiwc_table_clear(&t);
    mpiwc_table_clear(&t);
    assert_int_equal(t.size, 0);
    mpiwc_table_free(&t);

    struct mpiwc_table u;
    mpiwc_table_init(&u, 0);
    mpiwc_table_clear(&u);
    mpiwc_table_add(&u, "x", 1, 1);
    assert_int_equal(mpiwc_table_get(&u, "x", 1), 1);
    mpiwc_table_free(&u);
}

/* Word i (distinct for i < 26^4) of 4 to 40 bytes: small (<= 7), short (8-15) and long. */
static size_t mixed_key(char *buf, uint32_t i)
{
    size_t len = 4 + i % 37;
    uint32_t v = i;
    for (size_t k = 0; k < 4; k++, v /= 26)
        buf[k] = (char)('a' + v % 26);
    memset(buf + 4, 'z', len - 4);
    return len;
}

/*
 * mpiwc_table_memory_used() is the memory of a table grown from empty for the
 * present words: equal to table_held() along the way, back to a fresh
 * table's after a clear (the arrays stay), and equal again once the same
 * words are back.
 */
static void test_memory_used(void **state)
{
    (void)state;
    struct mpiwc_table t, fresh;
    mpiwc_table_init(&t, 0);
    mpiwc_table_init(&fresh, 0);
    assert_int_equal(mpiwc_table_memory_used(&t), table_held(&t));
    char key[48];
    for (uint32_t i = 0; i < 60000; i++) {
        mpiwc_table_add(&t, key, mixed_key(key, i), 1);
        if (i % 997 == 0)
            assert_int_equal(mpiwc_table_memory_used(&t), table_held(&t));
    }
    size_t mem = table_held(&t);
    assert_int_equal(mpiwc_table_memory_used(&t), mem);
    assert_true(mem > 4 * table_held(&fresh));

    mpiwc_table_clear(&t);
    assert_int_equal(table_held(&t), mem);
    assert_int_equal(mpiwc_table_memory_used(&t), table_held(&fresh));
    for (uint32_t i = 0; i < 60000; i++) /* the same words again */
        mpiwc_table_add(&t, key, mixed_key(key, i), 1);
    assert_int_equal(table_held(&t), mem);
    assert_int_equal(mpiwc_table_memory_used(&t), mem);
    mpiwc_table_free(&t);
    mpiwc_table_free(&fresh);
}

/* mpiwc_table_memory_soon() adds an array's doubling from 7/8 of the way to it, until it happens.
 */
static void test_memory_soon(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    char key[32];
    size_t ahead = 0, growths = 0;
    for (uint32_t i = 0; i < 20000; i++) {
        size_t slots = t.short_mask + 1, used = mpiwc_table_memory_used(&t);
        size_t soon = mpiwc_table_memory_soon(&t);
        if (t.short_size >= slots / 4 * 3 / 8 * 7) {
            assert_int_equal(soon, used + slots * sizeof(struct mpiwc_short_entry));
            ahead++;
        } else {
            assert_int_equal(soon, used);
        }
        mpiwc_table_add(&t, key, (size_t)snprintf(key, sizeof key, "w%07u", i), 1);
        if (t.short_mask + 1 > slots) {
            growths++;
            /* What was announced is what the table now holds. */
            assert_int_equal(mpiwc_table_memory_used(&t), soon);
        }
    }
    assert_true(growths >= 4 && ahead > 0);
    mpiwc_table_free(&t);
}

static void test_binary_keys(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    static const struct {
        const char *k;
        size_t len;
    } keys[] = {
        {"a", 1},          {"a\0", 2},      {"a\0b", 3},  {"a\0c", 3},  {"\0", 1},
        {"\0\0", 2},       {"\0a", 2},      {"\x80", 1},  {"\xff", 1},  {"\xff\xff", 2},
        {"\xc3\xa9", 2},   {"\xc3\x89", 2}, {"a\x80", 2}, {"a\xff", 2}, {"\x7f", 1},
        {"ab\0\0\0\0", 6}, {"ab\0\0\0", 5},
    };
    const size_t nkeys = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < nkeys; i++)
        mpiwc_table_add(&t, keys[i].k, keys[i].len, i + 1);
    assert_int_equal(t.size, nkeys);
    for (size_t i = 0; i < nkeys; i++)
        assert_int_equal(mpiwc_table_get(&t, keys[i].k, keys[i].len), i + 1);
    assert_int_equal(mpiwc_table_get(&t, "a\0d", 3), 0);
    assert_int_equal(mpiwc_table_get(&t, "\0\0\0", 3), 0);
    assert_int_equal(mpiwc_table_get(&t, "\xfe", 1), 0);

    for (size_t i = 0; i < mpiwc_table_slots(&t); i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(&t, i, &e);
        if (e.count == 0)
            continue;
        assert_true(e.count >= 1 && e.count <= nkeys);
        size_t k = (size_t)e.count - 1;
        assert_int_equal(e.len, keys[k].len);
        assert_memory_equal(e.key, keys[k].k, keys[k].len);
    }
    mpiwc_table_free(&t);
}

static void test_add_hashed_same_as_add(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    char key[32];
    for (uint32_t i = 0; i < 3000; i++) {
        int len = make_key(key, i);
        if (i % 2)
            mpiwc_table_add(&t, key, (size_t)len, 1);
        else
            mpiwc_table_add_hashed(&t, mpiwc_hash(key, (size_t)len), key, (size_t)len, 1);
    }
    for (uint32_t i = 0; i < 3000; i++) {
        int len = make_key(key, i);
        mpiwc_table_add_hashed(&t, mpiwc_hash(key, (size_t)len), key, (size_t)len, 2);
        mpiwc_table_add(&t, key, (size_t)len, 4);
    }
    assert_int_equal(t.size, 3000);
    for (uint32_t i = 0; i < 3000; i++)
        assert_int_equal(mpiwc_table_get(&t, key, (size_t)make_key(key, i)), 7);
    mpiwc_table_free(&t);
}

/* A long key, and keys longer than any default arena. */
static void test_long_keys(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    const size_t len = 1 << 20;
    uint8_t *k = malloc(len);
    assert_non_null(k);
    for (size_t i = 0; i < len; i++)
        k[i] = (uint8_t)(i * 7 + 1);
    for (size_t l = len; l >= 1; l /= 2)
        mpiwc_table_add(&t, k, l, l);
    for (size_t l = len; l >= 1; l /= 2)
        assert_int_equal(mpiwc_table_get(&t, k, l), l);
    assert_int_equal(mpiwc_table_get(&t, k, len - 1), 0);
    assert_int_equal(t.size, 21);
    mpiwc_table_free(&t);
    free(k);
}

static void test_hash_deterministic_and_length_sensitive(void **state)
{
    (void)state;
    /* The same bytes at different addresses and alignments hash the same. */
    static const char text[] = "the quick brown fox jumps over the lazy dog";
    const size_t n = sizeof text - 1;
    uint8_t *copy = malloc(n + 16);
    assert_non_null(copy);
    for (size_t off = 0; off < 16; off++) {
        memcpy(copy + off, text, n);
        for (size_t len = 1; len <= n; len++)
            assert_int_equal(mpiwc_hash(copy + off, len), mpiwc_hash(text, len));
    }
    free(copy);
    assert_int_equal(mpiwc_hash("abc", 3), mpiwc_hash("abc", 3));

    /* Prefixes (including zero bytes) all hash differently. */
    uint8_t zeros[65] = {0};
    uint64_t h[65];
    for (size_t len = 0; len <= 64; len++) {
        h[len] = mpiwc_hash(zeros, len);
        for (size_t j = 0; j < len; j++)
            assert_true(h[j] != h[len]);
    }
    assert_true(mpiwc_hash("abc", 3) != mpiwc_hash("abc", 2));
    assert_true(mpiwc_hash("a\0", 2) != mpiwc_hash("a", 1));
    assert_true(mpiwc_hash("ab", 2) != mpiwc_hash("ba", 2));
    assert_true(mpiwc_hash("a", 1) != mpiwc_hash("A", 1));
    for (size_t len = 1; len < n; len++)
        assert_true(mpiwc_hash(text, len) != mpiwc_hash(text, len + 1));
}

/* No full 64-bit collisions among many similar keys; low and high halves spread. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_hash_spread(void **state)
{
    (void)state;
    const size_t n = 100000;
    uint64_t *h = malloc(n * sizeof *h);
    assert_non_null(h);
    char key[32];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "w%zu", i);
        h[i] = mpiwc_hash(key, (size_t)len);
    }
    /* Low 10 bits (the bucket in a small table): each of 1024 buckets near n/1024. */
    size_t low[1024] = {0};
    for (size_t i = 0; i < n; i++)
        low[h[i] & 1023]++;
    for (size_t b = 0; b < 1024; b++)
        assert_true(low[b] > 40 && low[b] < 160); /* mean ~97.7 */
    qsort(h, n, sizeof *h, cmp_u64);
    for (size_t i = 1; i < n; i++)
        assert_true(h[i] != h[i - 1]);
    free(h);
}

static void test_owner_range_and_balance(void **state)
{
    (void)state;
    /* Range, over extreme hashes and many rank counts. */
    static const uint64_t extremes[] = {0,
                                        1,
                                        UINT64_C(0xffffffff),
                                        UINT64_C(0x100000000),
                                        UINT64_C(0x7fffffffffffffff),
                                        UINT64_C(0x8000000000000000),
                                        UINT64_C(0xfffffffeffffffff),
                                        UINT64_MAX};
    for (int nranks = 1; nranks <= 4096; nranks++) {
        for (size_t i = 0; i < sizeof extremes / sizeof extremes[0]; i++) {
            int o = mpiwc_table_owner(extremes[i], nranks);
            assert_true(o >= 0 && o < nranks);
        }
    }
    assert_int_equal(mpiwc_table_owner(UINT64_MAX, 7), 6);
    assert_int_equal(mpiwc_table_owner(0, 7), 0);
    assert_int_equal(mpiwc_table_owner(UINT64_MAX, 1 << 30), (1 << 30) - 1);

    /* Balance over word hashes: keys of 6 to 10 bytes, then of 1 to 5 (the small slots'). */
    const size_t n = 200000;
    uint64_t *h = malloc(n * sizeof *h);
    assert_non_null(h);
    char key[32];
    static const int rank_counts[] = {1, 2, 3, 4, 5, 7, 8, 12, 16, 31, 64, 100, 128, 1000};
    const size_t ncounts = sizeof rank_counts / sizeof rank_counts[0];
    for (size_t c = 0; c < 2 * ncounts; c++) {
        if (c % ncounts == 0)
            for (size_t i = 0; i < n; i++) {
                int len = snprintf(key, sizeof key, c ? "%zx" : "%zx.word", i * 31);
                h[i] = mpiwc_hash(key, (size_t)len);
            }
        int nranks = rank_counts[c % ncounts];
        size_t *per = calloc((size_t)nranks, sizeof *per);
        assert_non_null(per);
        for (size_t i = 0; i < n; i++) {
            int o = mpiwc_table_owner(h[i], nranks);
            assert_true(o >= 0 && o < nranks);
            per[o]++;
        }
        /* Each rank's share is binomial: allow 6 standard deviations, and a
         * chi-square statistic near its expectation (nranks - 1). */
        double mean = (double)n / nranks;
        double var = mean * (1.0 - 1.0 / nranks);
        double chi2 = 0;
        for (int r = 0; r < nranks; r++) {
            double d = (double)per[r] - mean;
            if (d * d > 36 * var)
                fail_msg("nranks %d: rank %d owns %zu words, mean %.1f", nranks, r, per[r], mean);
            chi2 += d * d / mean;
        }
        if (nranks > 1 && chi2 > 1.5 * (nranks - 1) + 30)
            fail_msg("nranks %d: chi-square %.1f for %d degrees of freedom", nranks, chi2,
                     nranks - 1);
        free(per);
    }
    free(h);
}

/* Keys of 1 to 7 bytes (the small slots) through several doublings. */
static int small_key(char *buf, uint32_t i)
{
    int n = 0;
    do {
        buf[n++] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
        i /= 36;
    } while (i);
    return n;
}

static void test_small_keys_growth(void **state)
{
    (void)state;
    const uint32_t n = 150000;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    char key[8];
    for (uint32_t i = 0; i < n; i++) {
        int len = small_key(key, i);
        mpiwc_table_add(&t, key, (size_t)len, 2 * (uint64_t)i + 1);
        if (i % 3 == 0)
            mpiwc_table_add(&t, key, (size_t)len, 1);
    }
    assert_int_equal(t.size, n);
    assert_int_equal(t.small_size, n);
    assert_int_equal(t.short_size, 0);
    assert_int_equal(t.big_size, 0);
    assert_true(t.small_size <= (t.small_mask + 1) / 4 * 3);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(mpiwc_table_get(&t, key, (size_t)small_key(key, i)),
                         2 * (uint64_t)i + 1 + (i % 3 == 0));
    assert_int_equal(mpiwc_table_get(&t, "zzzzzz", 6), 0);
    /* Iteration: each key once, with its length, count and hash. */
    uint8_t *seen = calloc(n, 1);
    assert_non_null(seen);
    size_t found = 0;
    struct mpiwc_table_word w;
    for (size_t i = 0; i < mpiwc_table_slots(&t); i++) {
        if (!mpiwc_table_word(&t, i, &w))
            continue;
        found++;
        assert_true(w.len >= 1 && w.len <= 7);
        uint32_t id = (uint32_t)((w.count - 1) / 2); /* counts 2i + 1, or 2i + 2 */
        assert_int_equal(w.count, 2 * (uint64_t)id + 1 + (id % 3 == 0));
        assert_int_equal(w.len, (size_t)small_key(key, id));
        assert_memory_equal(w.key, key, w.len);
        assert_int_equal(w.hash, mpiwc_hash(key, w.len));
        assert_int_equal(seen[id], 0);
        seen[id] = 1;
    }
    assert_int_equal(found, n);
    free(seen);
    mpiwc_table_clear(&t);
    assert_int_equal(mpiwc_table_get(&t, "a", 1), 0);
    mpiwc_table_add(&t, "a", 1, 5);
    assert_int_equal(mpiwc_table_get(&t, "a", 1), 5);
    assert_int_equal(t.size, 1);
    mpiwc_table_free(&t);
}

static void test_capacity_hint(void **state)
{
    (void)state;
    struct mpiwc_table t;
    mpiwc_table_init(&t, 100000);
    char key[32];
    for (uint32_t i = 0; i < 100000; i++)
        mpiwc_table_add(&t, key, (size_t)make_key(key, i), 1);
    assert_int_equal(t.size, 100000);
    for (uint32_t i = 0; i < 100000; i += 97)
        assert_int_equal(mpiwc_table_get(&t, key, (size_t)make_key(key, i)), 1);
    mpiwc_table_free(&t);
}

/* Keys around the in-slot size: lengths 1..40, zero bytes at the end included. */
static void test_key_lengths_inline_boundary(void **state)
{
    (void)state;
    uint8_t zeros[41] = {0};
    uint8_t mixed[41];
    for (size_t i = 0; i < sizeof mixed; i++)
        mixed[i] = (uint8_t)(i % 3 == 1 ? 0 : i % 3 == 2 ? 0xff : 'a' + i);
    struct mpiwc_table t;
    mpiwc_table_init(&t, 0);
    for (size_t len = 1; len <= 40; len++) {
        mpiwc_table_add(&t, zeros, len, len);
        mpiwc_table_add(&t, mixed, len, 100 + len);
    }
    assert_int_equal(t.size, 80);
    for (size_t len = 1; len <= 40; len++) {
        assert_int_equal(mpiwc_table_get(&t, zeros, len), len);
        assert_int_equal(mpiwc_table_get(&t, mixed, len), 100 + len);
    }
    /* Same length, one byte different at each position. */
    for (size_t len = 1; len <= 40; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            uint8_t k[41];
            memcpy(k, mixed, len);
            k[pos] ^= 0x5a;
            assert_int_equal(mpiwc_table_get(&t, k, len), 0);
        }
    }
    for (size_t i = 0; i < mpiwc_table_slots(&t); i++) {
        struct mpiwc_table_word e = {0};
        (void)mpiwc_table_word(&t, i, &e);
        if (e.count == 0)
            continue;
        const uint8_t *want = e.count > 100 ? mixed : zeros;
        size_t len = e.count > 100 ? e.count - 100 : e.count;
        assert_int_equal(e.len, len);
        assert_memory_equal(e.key, want, len);
        assert_int_equal(e.hash, mpiwc_hash(want, len));
    }
    /* Clear and re-add: no stale bytes in reused slots. */
    mpiwc_table_clear(&t);
    for (size_t len = 40; len >= 1; len--)
        mpiwc_table_add(&t, mixed, len, 1);
    for (size_t len = 1; len <= 40; len++) {
        assert_int_equal(mpiwc_table_get(&t, mixed, len), 1);
        assert_int_equal(mpiwc_table_get(&t, zeros, len), 0);
    }
    mpiwc_table_free(&t);
}

/* Slots of the small (0) or short (1) array holding a word that wrapped around the end. */
static size_t wrapped_words(const struct mpiwc_table *t, int array)
{
    size_t n = 0, first = array ? t->small_mask + 1 : 0;
    size_t slots = array ? t->short_mask + 1 : t->small_mask + 1;
    size_t mask = array ? t->short_mask : t->small_mask;
    struct mpiwc_table_word w;
    for (size_t i = 0; i < slots; i++)
        if (mpiwc_table_word(t, first + i, &w) && i < (w.hash & mask))
            n++;
    return n;
}

/*
 * The small and short arrays double in place: every word must stay
 * reachable, those whose probe wrapped around the end of the old array
 * included. Each doubling is checked right after it, and the test makes
 * sure that some array did hold wrapped words just before one.
 */
static void test_growth_in_place(void **state)
{
    (void)state;
    for (int array = 0; array < 2; array++) {
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        char key[32];
        size_t wrapped = 0, doublings = 0;
        const uint32_t n = 100000;
        for (uint32_t i = 0; i < n; i++) {
            size_t mask = array ? t.short_mask : t.small_mask;
            size_t size = array ? t.short_size : t.small_size;
            bool grows = size + 1 > (mask + 1) / 4 * 3;
            if (grows)
                wrapped += wrapped_words(&t, array);
            int len = array ? snprintf(key, sizeof key, "w%07u", i) : small_key(key, i);
            mpiwc_table_add(&t, key, (size_t)len, i + 1);
            if (grows) {
                doublings++;
                assert_int_equal(array ? t.short_mask : t.small_mask, 2 * mask + 1);
                for (uint32_t j = 0; j <= i; j++) {
                    len = array ? snprintf(key, sizeof key, "w%07u", j) : small_key(key, j);
                    assert_int_equal(mpiwc_table_get(&t, key, (size_t)len), j + 1);
                }
            }
        }
        assert_true(doublings >= 7);
        assert_true(wrapped > 0);
        assert_int_equal(t.size, n);
        assert_int_equal(count_occupied(&t, NULL), n);
        mpiwc_table_free(&t);
    }
}

/* Word i of a set that mixes small, short and long keys, zero and high bytes, and
 * words that are prefixes of others; count(i) repeats, so ties are common. */
static size_t sort_word(uint8_t *buf, uint32_t i)
{
    size_t len = 1 + (i * 7) % 23;
    for (size_t k = 0; k < len; k++)
        buf[k] = (uint8_t) "ab\0z\xff\x80"[(i >> (2 * (k % 8))) % 6];
    buf[0] = (uint8_t)('a' + i % 3);
    buf[len - 1] = (uint8_t)(i % 5 == 0 ? 0 : buf[len - 1]);
    return len;
}

static uint64_t sort_count(uint32_t i)
{
    return i % 7 == 0 ? (UINT64_C(1) << 40) + i % 3 : 1 + i % 4;
}

/* The longest key sort_and_check() takes. */
#define SORT_KEY_MAX 64

/* Sort t in place by by and check the cursor against mpiwc_format_sort() of
 * the words mpiwc_table_word() iterates. */
static void sort_and_check(struct mpiwc_table *t, enum mpiwc_sort by)
{
    /* The reference: the words as iteration gives them, sorted by format. */
    size_t n = t->size;
    struct mpiwc_word *want = calloc(n + 1, sizeof *want);
    uint8_t *copy = calloc(n + 1, SORT_KEY_MAX);
    assert_non_null(want);
    assert_non_null(copy);
    size_t k = 0;
    struct mpiwc_table_word w;
    for (size_t i = 0; i < mpiwc_table_slots(t); i++)
        if (mpiwc_table_word(t, i, &w)) {
            assert_true(w.len <= SORT_KEY_MAX);
            memcpy(copy + SORT_KEY_MAX * k, w.key, w.len);
            want[k] = (struct mpiwc_word){copy + SORT_KEY_MAX * k, (uint32_t)w.len, w.count};
            k++;
        }
    assert_int_equal(k, n);
    mpiwc_format_sort(want, n, by);

    mpiwc_table_sort(t, by);
    assert_int_equal(t->size, n);
    assert_int_equal(count_occupied(t, NULL), n);
    struct mpiwc_table_cursor c;
    mpiwc_table_cursor_init(&c, t, by);
    struct mpiwc_word got;
    for (k = 0; k < n; k++) {
        assert_true(mpiwc_table_cursor_next(&c, &got));
        assert_int_equal(got.len, want[k].len);
        assert_memory_equal(got.key, want[k].key, got.len);
        assert_int_equal(got.count, want[k].count);
    }
    assert_false(mpiwc_table_cursor_next(&c, &got));
    assert_false(mpiwc_table_cursor_next(&c, &got));
    /* Each word's hash is its own again (the long sort borrows the field). */
    for (size_t i = 0; i < mpiwc_table_slots(t); i++)
        if (mpiwc_table_word(t, i, &w))
            assert_true(w.hash == mpiwc_hash(w.key, w.len));
    free(want);
    free(copy);
}

/*
 * mpiwc_table_sort() and the cursor give exactly mpiwc_format_sort()'s
 * order of the words mpiwc_table_word() iterates, in both orders and for
 * tables of every mix of arrays; iteration still sees every word afterwards,
 * and a clear makes an empty hash table again.
 */
static void test_sort_in_place(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {0, 1, 2, 30, 1000, 40000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int order = 0; order < 2; order++) {
            enum mpiwc_sort by = order ? MPIWC_SORT_WORD : MPIWC_SORT_COUNT;
            struct mpiwc_table t;
            mpiwc_table_init(&t, 0);
            uint8_t key[32];
            for (uint32_t i = 0; i < sizes[s]; i++) {
                size_t len = sort_word(key, i);
                mpiwc_table_add(&t, key, len, sort_count(i));
            }
            size_t n = t.size;
            sort_and_check(&t, by);
            mpiwc_table_clear(&t);
            assert_false(t.sorted);
            assert_int_equal(count_occupied(&t, NULL), 0);
            for (uint32_t i = 0; i < sizes[s]; i++) {
                size_t len = sort_word(key, i);
                mpiwc_table_add(&t, key, len, 1);
            }
            assert_int_equal(t.size, n);
            for (uint32_t i = 0; i < sizes[s]; i++) {
                size_t len = sort_word(key, i);
                assert_true(mpiwc_table_get(&t, key, len) >= 1);
            }
            mpiwc_table_free(&t);
        }
    }
}

/*
 * Long keys as n-grams make them: many share their first 8 or 16 bytes (the
 * sort compares 8-byte prefixes before the bytes), some are prefixes of
 * others, and bytes 0x00, 0x80 and 0xff sit before, at and after the 8th.
 * Both orders, against mpiwc_format_sort().
 */
static void test_sort_long_prefixes(void **state)
{
    (void)state;
    /* 8 or 16 bytes each; the first and the last of the 8 order "of the z" and "to the a"
     * oppositely */
    static const char *const heads[] = {"of the l",         "of the\xffl",        "of the\x80l",
                                        "of the\0l",        "of the z",           "to the a",
                                        "and the lord sai", "and the lord sa\xff"};
    static const uint8_t tails[] = {'d', ' ', 0, 0x80, 0xff, 'a'};
    for (int order = 0; order < 2; order++) {
        enum mpiwc_sort by = order ? MPIWC_SORT_WORD : MPIWC_SORT_COUNT;
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        uint8_t key[SORT_KEY_MAX];
        for (uint32_t i = 0; i < 5000; i++) {
            size_t h = i % 8, head = h < 6 ? 8 : 16;
            memcpy(key, heads[h], head);
            size_t len = 16 + (i / 8) % (SORT_KEY_MAX - 15);
            for (size_t k = head; k < len; k++)
                key[k] = tails[(i / 8 + k * (i % 5 + 1)) % 6];
            mpiwc_table_add(&t, key, len, 1 + i % 3);
        }
        assert_true(t.big_size > 1000);
        sort_and_check(&t, by);
        mpiwc_table_free(&t);
    }
}

/* Arrays of over 2^18 words: buckets too big for insertion down to the last key bytes. */
static void test_sort_in_place_big(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        char key[32];
        for (uint32_t i = 0; i < 600000; i++) {
            int len = snprintf(key, sizeof key, "%x-%u", i * 2654435761u, i % 13);
            mpiwc_table_add(&t, key, (size_t)len, 1 + i % 5);
            if (i < 300000)
                mpiwc_table_add(&t, key, (size_t)small_key(key, i), 1 + i % 3);
        }
        assert_true(t.short_size > (1u << 18) && t.small_size > (1u << 18));
        sort_and_check(&t, order ? MPIWC_SORT_WORD : MPIWC_SORT_COUNT);
        mpiwc_table_free(&t);
    }
}

/*
 * Compaction: each array's words at its front, every word once with its
 * count, in the order the slots held them; every slot after them empty.
 */
static void test_compact_keeps_order(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {0, 1, 3, 5000, 40000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        char key[48];
        for (uint32_t i = 0; i < sizes[s]; i++) {
            /* 1 to 24 bytes: all three arrays */
            int len =
                snprintf(key, sizeof key, "%.*s%x", (int)(i % 20), "abcdefghijklmnopqrstu", i);
            mpiwc_table_add(&t, key, (size_t)len, 1 + i % 7);
        }
        /* Before: each array's words in slot order, as (slot array, key, count). */
        size_t n = t.size, k = 0;
        struct {
            int a;
            char key[32];
            size_t len;
            uint64_t count;
        } *before = mpiwc_xcalloc(n ? n : 1, sizeof *before);
        size_t base[4] = {0, t.small_mask + 1, t.small_mask + 1 + t.short_mask + 1,
                          mpiwc_table_slots(&t)};
        for (int a = 0; a < 3; a++)
            for (size_t i = base[a]; i < base[a + 1]; i++) {
                struct mpiwc_table_word w = {0};
                if (!mpiwc_table_word(&t, i, &w))
                    continue;
                assert_true(k < n && w.len < sizeof before[k].key);
                before[k].a = a;
                memcpy(before[k].key, w.key, w.len);
                before[k].len = w.len;
                before[k++].count = w.count;
            }
        assert_int_equal(k, n);
        mpiwc_table_compact(&t);
        assert_true(t.sorted);
        assert_int_equal(t.size, n);
        k = 0;
        for (int a = 0; a < 3; a++) {
            size_t i = base[a];
            for (; k < n && before[k].a == a; k++, i++) {
                struct mpiwc_table_word w = {0};
                assert_true(mpiwc_table_word(&t, i, &w));
                assert_int_equal(w.len, before[k].len);
                assert_memory_equal(w.key, before[k].key, w.len);
                assert_int_equal(w.count, before[k].count);
            }
            for (; i < base[a + 1]; i++) {
                struct mpiwc_table_word w = {0};
                assert_false(mpiwc_table_word(&t, i, &w));
            }
        }
        mpiwc_table_clear(&t); /* a hash table again, and an empty one */
        assert_false(t.sorted);
        assert_int_equal(t.size, 0);
        assert_int_equal(count_occupied(&t, NULL), 0);
        for (k = 0; k < n; k++)
            assert_int_equal(mpiwc_table_get(&t, before[k].key, before[k].len), 0);
        mpiwc_table_add(&t, "again", 5, 2);
        assert_int_equal(mpiwc_table_get(&t, "again", 5), 2);
        free(before);
        mpiwc_table_free(&t);
    }
}

/*
 * mpiwc_short_key() against the layout built byte by byte (table_internal.h:
 * bytes 0-7 in lo, 8-14 in hi, the length in hi's top byte), for every length
 * and for keys that end right at an inaccessible page, so that a read past
 * the key faults. mpiwc_hash() of the key is that of the same words.
 */
static void test_short_key_layout(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + page, page, PROT_NONE), 0);
    uint32_t x = 12345;
    for (int round = 0; round < 200; round++) {
        for (size_t len = 0; len <= MPIWC_INLINE_KEY; len++) {
            uint8_t *p = map + page - len;
            for (size_t i = 0; i < len; i++) {
                x = x * 1664525u + 1013904223u;
                p[i] = round == 0 ? 0xff : round == 1 ? (uint8_t)(i + 1) : (uint8_t)(x >> 24);
            }
            uint64_t want_lo = 0, want_hi = (uint64_t)len << 56, lo, hi;
            for (size_t i = 0; i < len; i++) {
                if (i < 8)
                    want_lo |= (uint64_t)p[i] << (8 * i);
                else
                    want_hi |= (uint64_t)p[i] << (8 * (i - 8));
            }
            mpiwc_short_key(p, len, &lo, &hi);
            assert_true(lo == want_lo);
            assert_true(hi == want_hi);
            if (len > 0)
                assert_true(mpiwc_hash(p, len) == mpiwc_hash_key(lo, hi, len));
        }
    }
    munmap(map, 2 * page);
}

/*
 * The tokenizers' counter adds one at a time into a short slot's 32 bits:
 * past 2^32 - 1 the carry takes the rest, queued or not, and iteration, the
 * cursor and a sort by count see the whole count. A table cleared forgets it.
 */
static void test_counter_carries(void **state)
{
    (void)state;
    for (int queue = 0; queue < 2; queue++) {
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        const char *word = "carried-word", *other = "other-word";
        size_t len = strlen(word);
        uint64_t lo, hi;
        mpiwc_short_key((const uint8_t *)word, len, &lo, &hi);
        uint64_t h = mpiwc_hash(word, len);
        mpiwc_table_add(&t, word, len, UINT64_C(0xfffffffe));
        mpiwc_table_add(&t, other, strlen(other), UINT64_C(0xffffffff));
        struct mpiwc_counter c;
        mpiwc_counter_init(&c, &t);
        for (int i = 0; i < 3; i++)
            mpiwc_counter_count(&c, h, lo, hi, queue);
        mpiwc_counter_flush(&c);
        assert_non_null(t.carry);
        assert_int_equal(mpiwc_table_get(&t, word, len), UINT64_C(0x100000001));
        uint64_t sum = 0;
        assert_int_equal(count_occupied(&t, &sum), 2);
        assert_int_equal(sum, UINT64_C(0x100000001) + UINT64_C(0xffffffff));
        /* In count order the carried word comes first, though its slot holds 1. */
        sort_and_check(&t, MPIWC_SORT_COUNT);
        struct mpiwc_table_cursor cur;
        mpiwc_table_cursor_init(&cur, &t, MPIWC_SORT_COUNT);
        struct mpiwc_word w;
        assert_true(mpiwc_table_cursor_next(&cur, &w));
        assert_memory_equal(w.key, word, len);
        assert_int_equal(w.count, UINT64_C(0x100000001));
        mpiwc_table_clear(&t);
        assert_null(t.carry);
        mpiwc_table_add(&t, word, len, 1);
        assert_int_equal(mpiwc_table_get(&t, word, len), 1);
        mpiwc_table_free(&t);
    }
}

/* Word i's count in test_carry_survives_growth: every 97th past 2^33. */
static uint64_t carry_count(uint32_t i)
{
    return i % 97 == 0 ? (UINT64_C(3) << 32) + i : i + 1;
}

/* Carried counts survive the short array's growth in place, a sort in either order and a
 * clear that lets the same words in again. */
static void test_carry_survives_growth(void **state)
{
    (void)state;
    for (int order = 0; order < 2; order++) {
        struct mpiwc_table t;
        mpiwc_table_init(&t, 0);
        char key[32];
        for (int round = 0; round < 2; round++) {
            for (uint32_t i = 0; i < 50000; i++) {
                int len = snprintf(key, sizeof key, "k%08x", i * 2654435761u);
                mpiwc_table_add(&t, key, (size_t)len, carry_count(i));
            }
            assert_true(t.short_mask + 1 > 4096);
            for (uint32_t i = 0; i < 50000; i++) {
                int len = snprintf(key, sizeof key, "k%08x", i * 2654435761u);
                assert_int_equal(mpiwc_table_get(&t, key, (size_t)len), carry_count(i));
            }
            sort_and_check(&t, order ? MPIWC_SORT_WORD : MPIWC_SORT_COUNT);
            mpiwc_table_clear(&t);
        }
        mpiwc_table_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_get),
        cmocka_unit_test(test_counts_add_up),
        cmocka_unit_test(test_count_overflow_is_fatal),
        cmocka_unit_test(test_growth_200k),
        cmocka_unit_test(test_clear_then_reuse),
        cmocka_unit_test(test_memory_used),
        cmocka_unit_test(test_memory_soon),
        cmocka_unit_test(test_binary_keys),
        cmocka_unit_test(test_add_hashed_same_as_add),
        cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_sort_long_prefixes),
        cmocka_unit_test(test_hash_deterministic_and_length_sensitive),
        cmocka_unit_test(test_hash_spread),
        cmocka_unit_test(test_owner_range_and_balance),
        cmocka_unit_test(test_small_keys_growth),
        cmocka_unit_test(test_capacity_hint),
        cmocka_unit_test(test_key_lengths_inline_boundary),
        cmocka_unit_test(test_growth_in_place),
        cmocka_unit_test(test_sort_in_place),
        cmocka_unit_test(test_sort_in_place_big),
        cmocka_unit_test(test_compact_keeps_order),
        cmocka_unit_test(test_short_key_layout),
        cmocka_unit_test(test_counter_carries),
        cmocka_unit_test(test_carry_survives_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

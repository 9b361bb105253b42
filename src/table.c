#include "mpiwc/table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mpiwc/util.h"
#include "table_internal.h"

#define MIN_SLOTS 1024u
#define MIN_ARENA (64u << 10) /* a fresh table's arena, doubled as it fills */

#define KEEP(n) ((n) >= 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * (n))) - 1)
#define MASKS(n)                                                                                   \
    {                                                                                              \
        KEEP(n), (n) > 8 ? KEEP((n)-8) : 0, (uint64_t)(n) << 56, 0                                 \
    }
const uint64_t mpiwc_key_masks[MPIWC_INLINE_KEY + 1][4] = {
    MASKS(0), MASKS(1), MASKS(2),  MASKS(3),  MASKS(4),  MASKS(5),  MASKS(6),  MASKS(7),
    MASKS(8), MASKS(9), MASKS(10), MASKS(11), MASKS(12), MASKS(13), MASKS(14), MASKS(15),
};
#undef MASKS
#undef KEEP

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

uint64_t mpiwc_hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t lo, hi;
    if (len <= MPIWC_INLINE_KEY) {
        mpiwc_short_key(p, len, &lo, &hi);
        return mpiwc_hash_key(lo, hi, len);
    }
    uint64_t h = MPIWC_K0 ^ (uint64_t)len;
    size_t n = len;
    while (n > 16) {
        h = mpiwc_mum(load64(p) ^ MPIWC_K1, load64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    /* The last 16 bytes of the key, overlapping what the loop hashed. */
    const uint8_t *last = (const uint8_t *)key + len - 16;
    h = mpiwc_mum(load64(last) ^ MPIWC_K1, load64(last + 8) ^ h ^ MPIWC_K2);
    return mpiwc_mum(h ^ MPIWC_K3, (uint64_t)len ^ MPIWC_K1);
}

static size_t slots_for(size_t hint)
{
    size_t n = MIN_SLOTS;
    while (n / 4 * 3 < hint) {
        if (n > SIZE_MAX / 4)
            mpiwc_fatal("table capacity overflow");
        n *= 2;
    }
    return n;
}

/*
 * A zeroed slot array. A big one is asked to be backed by huge pages: with
 * millions of words every probe lands on a different 4 KiB page, and the TLB
 * misses cost as much as the cache misses (high-cardinality map phase, 1 GiB
 * of text with 37M distinct words at np 1: see the commit that added this).
 */
_Static_assert(sizeof(struct mpiwc_entry) == 32, "two slots to a cache line");
_Static_assert(sizeof(struct mpiwc_short_entry) == 24, "the key's two words and the count");
_Static_assert(sizeof(struct mpiwc_small_entry) == 16, "four small slots to a cache line");

static void *slots_alloc(size_t n, size_t size)
{
    size_t bytes = mpiwc_mul_size(n, size);
    void *slots = mpiwc_xcalloc(n, size);
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (bytes >= 2 * huge) {
        uintptr_t from = ((uintptr_t)slots + huge - 1) & ~(huge - 1);
        uintptr_t to = ((uintptr_t)slots + bytes) & ~(huge - 1);
        if (to > from)
            (void)madvise((void *)from, to - from, MADV_HUGEPAGE); /* a hint: failure is harmless */
    }
#endif
    return slots;
}

void mpiwc_table_init(struct mpiwc_table *t, size_t capacity_hint)
{
    size_t n = slots_for(capacity_hint);
    t->size = 0;
    t->small = slots_alloc(n, sizeof *t->small);
    t->small_mask = n - 1;
    t->small_grow_at = n / 4 * 3;
    t->small_size = 0;
    t->shorts = slots_alloc(n, sizeof *t->shorts);
    t->short_mask = n - 1;
    t->short_grow_at = n / 4 * 3;
    t->short_size = 0;
    t->slots = slots_alloc(n, sizeof *t->slots);
    t->mask = n - 1;
    t->grow_at = n / 4 * 3;
    t->big_size = 0;
    t->arena_cap = MIN_ARENA;
    t->arena = mpiwc_xmalloc(t->arena_cap);
    t->arena_len = 0;
}

void mpiwc_table_free(struct mpiwc_table *t)
{
    free(t->small);
    free(t->shorts);
    free(t->slots);
    free(t->arena);
    memset(t, 0, sizeof *t);
}

void mpiwc_table_clear(struct mpiwc_table *t)
{
    memset(t->small, 0, mpiwc_mul_size(t->small_mask + 1, sizeof *t->small));
    memset(t->shorts, 0, mpiwc_mul_size(t->short_mask + 1, sizeof *t->shorts));
    memset(t->slots, 0, mpiwc_mul_size(t->mask + 1, sizeof *t->slots));
    t->size = t->small_size = t->short_size = t->big_size = 0;
    t->arena_len = 0;
}

void mpiwc_table_overflow(void)
{
    mpiwc_fatal("a word's count passes the supported %" PRIu64, MPIWC_COUNT_MAX);
}

void mpiwc_table_grow(struct mpiwc_table *t)
{
    size_t old_n = t->mask + 1;
    size_t n = mpiwc_mul_size(old_n, 2);
    struct mpiwc_entry *old = t->slots;
    struct mpiwc_entry *slots = slots_alloc(n, sizeof *slots);
    size_t mask = n - 1;
    for (size_t i = 0; i < old_n; i++) {
        /* A big table misses the caches on every move: start a later one's load. */
        if (i + 16 < old_n)
            __builtin_prefetch(&slots[old[i + 16].hash & mask], 1);
        if (old[i].len == 0)
            continue;
        size_t j = old[i].hash & mask;
        while (slots[j].len != 0)
            j = (j + 1) & mask;
        slots[j] = old[i];
    }
    free(old);
    t->slots = slots;
    t->mask = mask;
    t->grow_at = n / 4 * 3;
}

/* The short slots keep no hash: one multiply a key finds its new place. */
void mpiwc_table_grow_short(struct mpiwc_table *t)
{
    size_t old_n = t->short_mask + 1;
    size_t n = mpiwc_mul_size(old_n, 2);
    struct mpiwc_short_entry *old = t->shorts;
    struct mpiwc_short_entry *slots = slots_alloc(n, sizeof *slots);
    size_t mask = n - 1;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].hi == 0)
            continue;
        size_t j = mpiwc_hash_short(old[i].lo, old[i].hi) & mask;
        while (slots[j].hi != 0)
            j = (j + 1) & mask;
        slots[j] = old[i];
    }
    free(old);
    t->shorts = slots;
    t->short_mask = mask;
    t->short_grow_at = n / 4 * 3;
}

/* The small slots keep no hash: one multiply a key finds its new place. */
void mpiwc_table_grow_small(struct mpiwc_table *t)
{
    size_t old_n = t->small_mask + 1;
    size_t n = mpiwc_mul_size(old_n, 2);
    struct mpiwc_small_entry *old = t->small;
    struct mpiwc_small_entry *slots = slots_alloc(n, sizeof *slots);
    size_t mask = n - 1;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].key == 0)
            continue;
        size_t j = mpiwc_hash_small(old[i].key) & mask;
        while (slots[j].key != 0)
            j = (j + 1) & mask;
        slots[j] = old[i];
    }
    free(old);
    t->small = slots;
    t->small_mask = mask;
    t->small_grow_at = n / 4 * 3;
}

static uint64_t arena_append(struct mpiwc_table *t, const void *key, size_t len)
{
    if (t->arena_cap - t->arena_len < len) /* the common case costs no call */
        t->arena = mpiwc_grow(t->arena, &t->arena_cap, mpiwc_add_size(t->arena_len, len), 1);
    uint64_t off = t->arena_len;
    memcpy(t->arena + off, key, len);
    t->arena_len += len;
    return off;
}

void mpiwc_table_insert_short(struct mpiwc_table *t, uint64_t h, uint64_t lo, uint64_t hi)
{
    if (t->short_size >= t->short_grow_at)
        mpiwc_table_grow_short(t);
    size_t i = h & t->short_mask;
    while (t->shorts[i].hi != 0)
        i = (i + 1) & t->short_mask;
    t->shorts[i] = (struct mpiwc_short_entry){lo, hi, 1};
    t->short_size++;
    t->size++;
}

void mpiwc_table_insert_small(struct mpiwc_table *t, uint64_t h, uint64_t k)
{
    if (t->small_size >= t->small_grow_at)
        mpiwc_table_grow_small(t);
    size_t i = h & t->small_mask;
    while (t->small[i].key != 0)
        i = (i + 1) & t->small_mask;
    t->small[i].key = k;
    t->small[i].count = 1;
    t->small_size++;
    t->size++;
}

void mpiwc_table_add_hashed(struct mpiwc_table *t, uint64_t hash, const void *key, size_t len,
                            uint64_t count)
{
    if (len <= MPIWC_INLINE_KEY) {
        uint64_t lo, hi;
        mpiwc_short_key(key, len, &lo, &hi);
        mpiwc_table_add_key(t, hash, lo, hi, len, count);
        return;
    }
    if (len > UINT32_MAX)
        mpiwc_fatal("word of %zu bytes is longer than the supported 4 GiB", len);
    if (mpiwc_table_full(t))
        mpiwc_table_grow(t);
    size_t i = hash & t->mask;
    for (;;) {
        struct mpiwc_entry *e = &t->slots[i];
        if (e->len == 0) {
            mpiwc_table_check_sum(0, count);
            *e = (struct mpiwc_entry){hash, count, arena_append(t, key, len), len};
            t->big_size++;
            t->size++;
            return;
        }
        if (e->hash == hash && e->len == len && memcmp(t->arena + e->off, key, len) == 0) {
            mpiwc_table_check_sum(e->count, count);
            e->count += count;
            return;
        }
        i = (i + 1) & t->mask;
    }
}

void mpiwc_table_add(struct mpiwc_table *t, const void *key, size_t len, uint64_t count)
{
    mpiwc_table_add_hashed(t, mpiwc_hash(key, len), key, len, count);
}

uint64_t mpiwc_table_get(const struct mpiwc_table *t, const void *key, size_t len)
{
    uint64_t hash = mpiwc_hash(key, len);
    if (len <= MPIWC_SMALL_KEY) {
        uint64_t lo, hi;
        mpiwc_short_key(key, len, &lo, &hi);
        for (size_t i = hash & t->small_mask;; i = (i + 1) & t->small_mask) {
            if (t->small[i].key == (lo | hi))
                return t->small[i].count;
            if (t->small[i].key == 0)
                return 0;
        }
    }
    if (len <= MPIWC_INLINE_KEY) {
        uint64_t lo, hi;
        mpiwc_short_key(key, len, &lo, &hi);
        for (size_t i = hash & t->short_mask;; i = (i + 1) & t->short_mask) {
            if (mpiwc_entry_is(&t->shorts[i], lo, hi))
                return t->shorts[i].count;
            if (t->shorts[i].hi == 0)
                return 0;
        }
    }
    size_t i = hash & t->mask;
    for (;;) {
        const struct mpiwc_entry *e = &t->slots[i];
        if (e->len == 0)
            return 0;
        if (e->hash == hash && e->len == len && memcmp(t->arena + e->off, key, len) == 0)
            return e->count;
        i = (i + 1) & t->mask;
    }
}

size_t mpiwc_table_memory_used(const struct mpiwc_table *t)
{
    size_t arena = mpiwc_grow_cap(MIN_ARENA, t->arena_len); /* as arena_append grows it */
    return mpiwc_mul_size(slots_for(t->small_size), sizeof *t->small) +
           mpiwc_mul_size(slots_for(t->short_size), sizeof *t->shorts) +
           mpiwc_mul_size(slots_for(t->big_size), sizeof *t->slots) + arena;
}

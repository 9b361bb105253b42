#include "mpiwc/table.h"

#include <stdlib.h>
#include <string.h>

#include "mpiwc/util.h"
#include "table_internal.h"

#define MIN_SLOTS 1024u

#define KEEP(n) ((n) >= 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * (n))) - 1)
#define MASKS(n)                                                                                   \
    {                                                                                              \
        KEEP(n), (n) > 8 ? KEEP((n)-8) : 0                                                         \
    }
const uint64_t mpiwc_key_masks[MPIWC_INLINE_KEY + 1][2] = {
    MASKS(0), MASKS(1),  MASKS(2),  MASKS(3),  MASKS(4),  MASKS(5),  MASKS(6),  MASKS(7),  MASKS(8),
    MASKS(9), MASKS(10), MASKS(11), MASKS(12), MASKS(13), MASKS(14), MASKS(15), MASKS(16),
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
        return mpiwc_hash_short(lo, hi, len);
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

void mpiwc_table_init(struct mpiwc_table *t, size_t capacity_hint)
{
    size_t n = slots_for(capacity_hint);
    t->slots = mpiwc_xcalloc(n, sizeof *t->slots);
    t->mask = n - 1;
    t->grow_at = n / 4 * 3;
    t->size = 0;
    t->queued = 0;
    t->arena_cap = 64u << 10;
    t->arena = mpiwc_xmalloc(t->arena_cap);
    t->arena_len = 0;
}

void mpiwc_table_free(struct mpiwc_table *t)
{
    free(t->slots);
    free(t->arena);
    memset(t, 0, sizeof *t);
}

void mpiwc_table_clear(struct mpiwc_table *t)
{
    memset(t->slots, 0, mpiwc_mul_size(t->mask + 1, sizeof *t->slots));
    t->size = 0;
    t->queued = 0;
    t->arena_len = 0;
}

void mpiwc_table_grow(struct mpiwc_table *t)
{
    size_t old_n = t->mask + 1;
    size_t n = mpiwc_mul_size(old_n, 2);
    struct mpiwc_entry *old = t->slots;
    struct mpiwc_entry *slots = mpiwc_xcalloc(n, sizeof *slots);
    size_t mask = n - 1;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].count == 0)
            continue;
        size_t j = old[i].hash & mask;
        while (slots[j].count != 0)
            j = (j + 1) & mask;
        slots[j] = old[i];
    }
    free(old);
    t->slots = slots;
    t->mask = mask;
    t->grow_at = n / 4 * 3;
}

static uint64_t arena_append(struct mpiwc_table *t, const void *key, size_t len)
{
    if (t->arena_cap - t->arena_len < len) {
        size_t cap = t->arena_cap;
        while (cap - t->arena_len < len)
            cap = mpiwc_mul_size(cap, 2);
        t->arena = mpiwc_xrealloc(t->arena, cap);
        t->arena_cap = cap;
    }
    uint64_t off = t->arena_len;
    memcpy(t->arena + off, key, len);
    t->arena_len += len;
    return off;
}

void mpiwc_table_add_hashed(struct mpiwc_table *t, uint64_t hash, const void *key, size_t len,
                            uint64_t count)
{
    if (len <= MPIWC_INLINE_KEY) {
        uint64_t lo, hi;
        mpiwc_short_key(key, len, &lo, &hi);
        mpiwc_table_add_short(t, hash, lo, hi, (uint32_t)len, count);
        return;
    }
    if (len > UINT32_MAX)
        mpiwc_fatal("word of %zu bytes is longer than the supported 4 GiB", len);
    if (mpiwc_table_full(t))
        mpiwc_table_grow(t);
    size_t i = hash & t->mask;
    for (;;) {
        struct mpiwc_entry *e = &t->slots[i];
        if (e->count == 0) {
            e->hash = hash;
            e->count = count;
            e->key_len = (uint32_t)len;
            e->key.off = arena_append(t, key, len);
            t->size++;
            return;
        }
        if (e->hash == hash && e->key_len == len && memcmp(t->arena + e->key.off, key, len) == 0) {
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
    size_t i = hash & t->mask;
    for (;;) {
        const struct mpiwc_entry *e = &t->slots[i];
        if (e->count == 0)
            return 0;
        if (e->hash == hash && e->key_len == len && memcmp(mpiwc_table_key(t, e), key, len) == 0)
            return e->count;
        i = (i + 1) & t->mask;
    }
}

size_t mpiwc_table_memory(const struct mpiwc_table *t)
{
    return (t->mask + 1) * sizeof *t->slots + t->arena_cap;
}

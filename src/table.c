#include "mpiwc/table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mpiwc/util.h"
#include "table_internal.h"

#define MIN_SLOTS 1024u
#define MIN_ARENA (64u << 10) /* a fresh table's arena, doubled as it fills */

/* The shift is masked: clang warns of the branch a constant n never takes (MASKS(0)'s n - 8). */
#define KEEP(n) ((n) >= 8 ? ~UINT64_C(0) : (UINT64_C(1) << ((8 * (n)) & 63)) - 1)
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
 *
 * Arrays of BIG_SLOTS bytes or more are mapped directly, so that doubling
 * one in place (GROW_IN_PLACE) is an mremap: the kernel moves the pages and
 * zero-fills the new ones as they are touched, with no copy and no memset.
 * Through realloc, glibc copied some arrays and the memset of the new half
 * touched every page a second time: the map phase of the high-cardinality
 * corpus took twice as long.
 */
_Static_assert(sizeof(struct mpiwc_entry) == 32, "two slots to a cache line");
_Static_assert(sizeof(struct mpiwc_short_entry) == 20, "the key's two words and 32 bits of count");
_Static_assert(sizeof(struct mpiwc_small_entry) == 16, "four small slots to a cache line");

#define BIG_SLOTS ((size_t)2 << 20)

static void advise_huge(void *slots, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (bytes >= 2 * huge) {
        uintptr_t from = ((uintptr_t)slots + huge - 1) & ~(huge - 1);
        uintptr_t to = ((uintptr_t)slots + bytes) & ~(huge - 1);
        if (to > from)
            (void)madvise((void *)from, to - from, MADV_HUGEPAGE); /* a hint: failure is harmless */
    }
#else
    (void)slots;
    (void)bytes;
#endif
}

static void *slots_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        mpiwc_out_of_memory(1, bytes);
    advise_huge(p, bytes);
    return p;
}

static void *slots_alloc(size_t n, size_t size)
{
    size_t bytes = mpiwc_mul_size(n, size);
    return bytes >= BIG_SLOTS ? slots_map(bytes) : mpiwc_xcalloc(n, size);
}

static void slots_free(void *slots, size_t n, size_t size)
{
    if (n * size >= BIG_SLOTS)
        munmap(slots, n * size);
    else
        free(slots);
}

/* slots, an array of old_n, made an array of n > old_n slots, the new ones zeroed. */
static void *slots_realloc(void *slots, size_t old_n, size_t n, size_t size)
{
    size_t bytes = mpiwc_mul_size(n, size), old_bytes = old_n * size;
    if (bytes < BIG_SLOTS) {
        slots = mpiwc_xrealloc(slots, bytes);
        memset((uint8_t *)slots + old_bytes, 0, bytes - old_bytes);
        return slots;
    }
    if (old_bytes < BIG_SLOTS) {
        void *p = slots_map(bytes);
        memcpy(p, slots, old_bytes);
        free(slots);
        return p;
    }
    void *p = mremap(slots, old_bytes, bytes, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) { /* valgrind refuses to move a mapping: a copy, as realloc would */
        p = slots_map(bytes);
        memcpy(p, slots, old_bytes);
        munmap(slots, old_bytes);
        return p;
    }
    advise_huge(p, bytes);
    return p;
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
    t->sorted = t->sorted_by_count = false;
    t->carry = NULL;
}

static void carry_free(struct mpiwc_table *t)
{
    if (t->carry) {
        mpiwc_table_free(t->carry);
        free(t->carry);
        t->carry = NULL;
    }
}

void mpiwc_table_free(struct mpiwc_table *t)
{
    carry_free(t);
    if (t->slots) {
        slots_free(t->small, t->small_mask + 1, sizeof *t->small);
        slots_free(t->shorts, t->short_mask + 1, sizeof *t->shorts);
        slots_free(t->slots, t->mask + 1, sizeof *t->slots);
    }
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
    t->sorted = false;
    carry_free(t);
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
    slots_free(old, old_n, sizeof *old);
    t->slots = slots;
    t->mask = mask;
    t->grow_at = n / 4 * 3;
}

/*
 * Double a slot array in place: the array is reallocated to twice its size
 * (a big one is moved by the kernel, page by page, not copied) and its words
 * are moved within it. A fresh array beside the old one would hold both
 * during the move: with the high-cardinality corpus that was the peak of
 * the run once the output sorts inside the table (256 MiB of uniform draws,
 * np 1: 192 MiB of old short slots beside the new 384 MiB).
 *
 * Linear probing allows it. Let s be the first empty slot: the words before
 * it may have wrapped around from the end, so they wait in a side list. Each
 * word after s, in order, leaves its slot and goes to the first empty slot
 * from its new home, which is either its old home (its old cluster, all
 * moved already from there to its old slot, so it lands at or before that
 * slot) or that plus the old size (the new upper half, which holds only
 * moved words). A word that would wrap past the end of the new array joins
 * the side list, which is added last, when no slot will be emptied again.
 * No slot that a moved word's probe passed over is emptied later, so every
 * word stays reachable from its home.
 *
 * GROW_IN_PLACE(NAME, TYPE, EMPTY, HASH) defines grow_NAME(slots, &mask):
 * EMPTY(e) tells an empty slot, HASH(e) a word's hash.
 */
#define GROW_IN_PLACE(NAME, TYPE, EMPTY, HASH)                                                     \
    static TYPE *grow_##NAME(TYPE *slots, size_t *maskp)                                           \
    {                                                                                              \
        size_t old_n = *maskp + 1, n = mpiwc_mul_size(old_n, 2), mask = n - 1;                     \
        slots = slots_realloc(slots, old_n, n, sizeof *slots);                                     \
        TYPE *side = NULL;                                                                         \
        size_t nside = 0, side_cap = 0, s = 0;                                                     \
        while (!EMPTY(&slots[s]))                                                                  \
            s++;                                                                                   \
        for (size_t i = 0; i < s; i++) {                                                           \
            side = mpiwc_grow(side, &side_cap, nside + 1, sizeof *side);                           \
            side[nside++] = slots[i];                                                              \
            memset(&slots[i], 0, sizeof slots[i]);                                                 \
        }                                                                                          \
        for (size_t i = s + 1; i < old_n; i++) {                                                   \
            if (i + 16 < old_n && !EMPTY(&slots[i + 16]))                                          \
                __builtin_prefetch(&slots[HASH(&slots[i + 16]) & mask], 1);                        \
            if (EMPTY(&slots[i]))                                                                  \
                continue;                                                                          \
            TYPE x = slots[i];                                                                     \
            memset(&slots[i], 0, sizeof slots[i]);                                                 \
            size_t j = HASH(&x) & mask;                                                            \
            while (j < n && !EMPTY(&slots[j]))                                                     \
                j++;                                                                               \
            if (j < n) {                                                                           \
                slots[j] = x;                                                                      \
            } else {                                                                               \
                side = mpiwc_grow(side, &side_cap, nside + 1, sizeof *side);                       \
                side[nside++] = x;                                                                 \
            }                                                                                      \
        }                                                                                          \
        for (size_t k = 0; k < nside; k++) {                                                       \
            size_t j = HASH(&side[k]) & mask;                                                      \
            while (!EMPTY(&slots[j]))                                                              \
                j = (j + 1) & mask;                                                                \
            slots[j] = side[k];                                                                    \
        }                                                                                          \
        free(side);                                                                                \
        *maskp = mask;                                                                             \
        return slots;                                                                              \
    }

#define SHORT_EMPTY(e) ((e)->hi == 0)
#define SHORT_HASH(e) mpiwc_hash_short((e)->lo, (e)->hi)
#define SMALL_EMPTY(e) ((e)->key == 0)
#define SMALL_HASH(e) mpiwc_hash_small((e)->key)
GROW_IN_PLACE(short, struct mpiwc_short_entry, SHORT_EMPTY, SHORT_HASH)
GROW_IN_PLACE(small, struct mpiwc_small_entry, SMALL_EMPTY, SMALL_HASH)

/* The short slots keep no hash: one multiply a key finds its new place. */
void mpiwc_table_grow_short(struct mpiwc_table *t)
{
    t->shorts = grow_short(t->shorts, &t->short_mask);
    t->short_grow_at = (t->short_mask + 1) / 4 * 3;
}

void mpiwc_table_grow_small(struct mpiwc_table *t)
{
    t->small = grow_small(t->small, &t->small_mask);
    t->small_grow_at = (t->small_mask + 1) / 4 * 3;
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

/*
 * The carry is a table of its own, whose short keys are those of t that
 * passed 2^32 - 1, each counting the times it did: never 2^24 (the count's
 * 56 bits), so the carry's own slots never carry. Kept by key, not by slot,
 * it stays right as t grows, compacts and sorts.
 */
uint64_t mpiwc_table_carried(const struct mpiwc_table *t, uint64_t lo, uint64_t hi)
{
    const struct mpiwc_short_entry *e =
        t->carry ? mpiwc_table_find_short(t->carry, mpiwc_hash_short(lo, hi), lo, hi) : NULL;
    return e ? e->count : 0;
}

void mpiwc_table_carry_short(struct mpiwc_table *t, uint64_t lo, uint64_t hi, uint64_t carry)
{
    if (carry > (MPIWC_COUNT_MAX >> 32) - mpiwc_table_carried(t, lo, hi))
        mpiwc_table_overflow();
    if (!t->carry) {
        t->carry = mpiwc_xmalloc(sizeof *t->carry);
        mpiwc_table_init(t->carry, 0);
    }
    mpiwc_table_add_short(t->carry, mpiwc_hash_short(lo, hi), lo, hi, carry);
}

void mpiwc_table_insert_short(struct mpiwc_table *t, uint64_t h, uint64_t lo, uint64_t hi)
{
    if (t->short_size >= t->short_grow_at)
        mpiwc_table_grow_short(t);
    size_t i = h & t->short_mask;
    while (t->shorts[i].hi != 0)
        i = (i + 1) & t->short_mask;
    mpiwc_table_fill_short(t, &t->shorts[i], lo, hi, 1);
}

void mpiwc_table_insert_small(struct mpiwc_table *t, uint64_t h, uint64_t k)
{
    if (t->small_size >= t->small_grow_at)
        mpiwc_table_grow_small(t);
    size_t i = h & t->small_mask;
    while (t->small[i].key != 0)
        i = (i + 1) & t->small_mask;
    mpiwc_table_fill_small(t, &t->small[i], k, 1);
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

/*
 * The queued long keys: first, where a key's slot (arrived by now) holds
 * its hash, start loading the key's bytes from the arena; then add each.
 * The adds may grow the table.
 */
void mpiwc_counter_flush_long(struct mpiwc_counter *c)
{
    struct mpiwc_table *t = c->t;
    for (size_t k = 0; k < c->queued_long; k++) {
        const struct mpiwc_entry *e = &t->slots[c->queue_long[k].hash & t->mask];
        if (e->hash == c->queue_long[k].hash)
            __builtin_prefetch(t->arena + e->off);
    }
    for (size_t k = 0; k < c->queued_long; k++)
        mpiwc_table_add_hashed(t, c->queue_long[k].hash, c->queue_long[k].key, c->queue_long[k].len,
                               1);
    c->queued_long = 0;
    mpiwc_counter_load(c, t);
}

void mpiwc_table_add(struct mpiwc_table *t, const void *key, size_t len, uint64_t count)
{
    uint64_t lo = 0, hi = 0, hash = mpiwc_key_form(key, len, 0, &lo, &hi);
    mpiwc_table_add_formed(t, hash, key, len, lo, hi, count);
}

uint64_t mpiwc_table_get(const struct mpiwc_table *t, const void *key, size_t len)
{
    uint64_t lo = 0, hi = 0, hash = mpiwc_key_form(key, len, 0, &lo, &hi);
    if (len <= MPIWC_SMALL_KEY) {
        const struct mpiwc_small_entry *e = mpiwc_table_find_small(t, hash, lo | hi);
        return e ? e->count : 0;
    }
    if (len <= MPIWC_INLINE_KEY) {
        const struct mpiwc_short_entry *e = mpiwc_table_find_short(t, hash, lo, hi);
        return e ? mpiwc_table_short_count(t, e) : 0;
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

/* The bytes an array of this many words and slots of size adds when it doubles soon, else 0. */
static size_t growth_soon(size_t words, size_t size)
{
    size_t n = slots_for(words);
    return words >= n / 4 * 3 / 8 * 7 ? mpiwc_mul_size(n, size) : 0;
}

size_t mpiwc_table_memory_soon(const struct mpiwc_table *t)
{
    return mpiwc_table_memory_used(t) + growth_soon(t->small_size, sizeof *t->small) +
           growth_soon(t->short_size, sizeof *t->shorts) +
           growth_soon(t->big_size, sizeof *t->slots);
}

/*
 * Sorting in place. Each array's words are moved to its front and sorted
 * there, by a key of up to three 64-bit words compared in order: the count
 * reversed (count order only), then the key's bytes as big-endian numbers
 * with the length in the last byte, which orders like memcmp with a proper
 * prefix first (the bytes past the length are zero). The sort is a
 * most-significant-byte radix sort that moves the slots themselves (American
 * flag sort), skipping the key bytes that no two words of the array differ
 * in; small buckets finish by insertion. No second array: the memory is the
 * table's, and the words come out one after another in memory, not
 * scattered over the table as pointers to slots would be.
 *
 * A pass walks each bucket's unplaced slots in order and swaps each slot's
 * word to the next free place of its own bucket, where it stays; the word
 * that comes back waits for the next round over the buckets. Each swap is
 * independent of the last, so the processor has many misses in flight. The
 * cycles of the classic pass (a word's swap brings the word whose place is
 * looked up next) made every miss wait for the one before: the sort of the
 * 1 GiB high-cardinality corpus took 2.57-2.62 s, now 1.82-1.84.
 */
struct sort_key {
    uint64_t k[3];
};

/* Word w (0 to 2) of a slot's sort key. */
static inline uint64_t small_sort_word(const struct mpiwc_small_entry *e, unsigned w, bool by_count)
{
    if (w == 0)
        return by_count ? UINT64_MAX - e->count : 0;
    return w == 1 ? __builtin_bswap64(e->key & ~(UINT64_C(0xff) << 56)) | (e->key >> 56) : 0;
}

/* The count is the slot's 32 bits: a table with a carry is sorted by count otherwise. */
static inline uint64_t short_sort_word(const struct mpiwc_short_entry *e, unsigned w, bool by_count)
{
    if (w == 0)
        return by_count ? UINT64_MAX - e->count : 0;
    if (w == 1)
        return __builtin_bswap64(e->lo);
    return __builtin_bswap64(e->hi & ~(UINT64_C(0xff) << 56)) | (e->hi >> 56);
}

static inline struct sort_key small_sort_key(const struct mpiwc_small_entry *e, bool by_count)
{
    return (struct sort_key){{small_sort_word(e, 0, by_count), small_sort_word(e, 1, by_count),
                              small_sort_word(e, 2, by_count)}};
}

static inline struct sort_key short_sort_key(const struct mpiwc_short_entry *e, bool by_count)
{
    return (struct sort_key){{short_sort_word(e, 0, by_count), short_sort_word(e, 1, by_count),
                              short_sort_word(e, 2, by_count)}};
}

static inline bool key_before(const struct sort_key *a, const struct sort_key *b)
{
    if (a->k[0] != b->k[0])
        return a->k[0] < b->k[0];
    if (a->k[1] != b->k[1])
        return a->k[1] < b->k[1];
    return a->k[2] < b->k[2];
}

static inline unsigned key_digit(const struct sort_key *k, unsigned d)
{
    return (unsigned)(k->k[d / 8] >> (56 - 8 * (d % 8))) & 0xff;
}

/* Below this many words a bucket is sorted by insertion. */
#define SORT_INSERTION 24
/*
 * One key byte a pass. Two at once (65536 buckets), for arrays of 2^18 words
 * or more, halve the passes but were slower: 9.4M words of hc256 in a
 * table, 3 interleaved runs, count order 1.23 s with one byte a pass
 * (median) against 1.91 s, word order 1.25 against 1.56 s. Each pass moves
 * every word far from where it was; 256 places being filled at once stay
 * in the caches, 65536 do not.
 *
 * Each swap prefetches the slot 16 places past the one its bucket fills next:
 * over an array past the caches the next swap into that bucket would
 * otherwise wait on a miss. hc256 (20M distinct) at np 1, count order, 6
 * alternating runs: sort step 1.010 -> 0.962 s (medians).
 */

/* The first byte from d on that varies, or 24. */
static unsigned next_varying(uint32_t varies, unsigned d)
{
    while (d < 24 && !(varies >> d & 1))
        d++;
    return d;
}

/* radix_NAME(e, n, d, varies, by_count): sort e[0..n) from key byte d on. */
#define DEFINE_RADIX(NAME, TYPE, KEY, WORD)                                                        \
    static void radix_##NAME(TYPE *e, size_t n, unsigned d, uint32_t varies, bool by_count)        \
    {                                                                                              \
        d = next_varying(varies, d);                                                               \
        if (n <= SORT_INSERTION || d == 24) {                                                      \
            for (size_t i = 1; i < n; i++) {                                                       \
                TYPE x = e[i];                                                                     \
                struct sort_key kx = KEY(&x, by_count), kj;                                        \
                size_t j = i;                                                                      \
                for (; j > 0 && (kj = KEY(&e[j - 1], by_count), key_before(&kx, &kj)); j--)        \
                    e[j] = e[j - 1];                                                               \
                e[j] = x;                                                                          \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        size_t count[256] = {0}, at[256], end[256];                                                \
        unsigned lo = 255, hi = 0; /* the digits seen: loops over buckets go from lo to hi */      \
        /* Byte d of a key: only its word is made (through a struct of three, indexed by d, */     \
        /* the key went through the stack on every move of the cycles below). */                   \
        unsigned w = d / 8, shift = 56 - 8 * (d % 8);                                              \
        for (size_t i = 0; i < n; i++) {                                                           \
            unsigned c = (unsigned)(WORD(&e[i], w, by_count) >> shift) & 0xff;                     \
            count[c]++;                                                                            \
            lo = c < lo ? c : lo;                                                                  \
            hi = c > hi ? c : hi;                                                                  \
        }                                                                                          \
        size_t sum = 0;                                                                            \
        for (unsigned b = lo; b <= hi; b++) {                                                      \
            at[b] = sum;                                                                           \
            sum += count[b];                                                                       \
            end[b] = sum;                                                                          \
        }                                                                                          \
        for (bool left = true; left;) {                                                            \
            left = false;                                                                          \
            for (unsigned b = lo; b <= hi; b++) {                                                  \
                for (size_t i = at[b], stop = end[b]; i < stop; i++) {                             \
                    unsigned c = (unsigned)(WORD(&e[i], w, by_count) >> shift) & 0xff;             \
                    size_t j = at[c]++;                                                            \
                    __builtin_prefetch((const void *)((uintptr_t)(e + j) + 16 * sizeof *e), 1);    \
                    TYPE x = e[i];                                                                 \
                    e[i] = e[j];                                                                   \
                    e[j] = x;                                                                      \
                }                                                                                  \
                left |= at[b] < end[b];                                                            \
            }                                                                                      \
        }                                                                                          \
        size_t first = 0;                                                                          \
        for (unsigned b = lo; b <= hi; first += count[b++])                                        \
            if (count[b] > 1)                                                                      \
                radix_##NAME(e + first, count[b], d + 1, varies, by_count);                        \
    }                                                                                              \
                                                                                                   \
    /* The key bytes that differ between some words of e[0..n). */                                 \
    static uint32_t varies_##NAME(const TYPE *e, size_t n, bool by_count)                          \
    {                                                                                              \
        uint64_t or_[3] = {0, 0, 0}, and_[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX};               \
        for (size_t i = 0; i < n; i++) {                                                           \
            struct sort_key k = KEY(&e[i], by_count);                                              \
            for (int w = 0; w < 3; w++) {                                                          \
                or_[w] |= k.k[w];                                                                  \
                and_[w] &= k.k[w];                                                                 \
            }                                                                                      \
        }                                                                                          \
        uint32_t varies = 0;                                                                       \
        for (unsigned d = 0; d < 24; d++) {                                                        \
            struct sort_key o = {{or_[0], or_[1], or_[2]}}, a = {{and_[0], and_[1], and_[2]}};     \
            if (key_digit(&o, d) != key_digit(&a, d))                                              \
                varies |= UINT32_C(1) << d;                                                        \
        }                                                                                          \
        return varies;                                                                             \
    }

DEFINE_RADIX(small, struct mpiwc_small_entry, small_sort_key, small_sort_word)
DEFINE_RADIX(short, struct mpiwc_short_entry, short_sort_key, short_sort_word)

/* Short keys in count order while some count passed 32 bits (the carry): a
 * qsort of the whole counts, never met short of billions of words a rank. */
static int compare_short_carried(const void *pa, const void *pb, void *arg)
{
    const struct mpiwc_short_entry *a = pa, *b = pb;
    const struct mpiwc_table *t = arg;
    uint64_t ca = mpiwc_table_short_count(t, a), cb = mpiwc_table_short_count(t, b);
    if (ca != cb)
        return ca > cb ? -1 : 1;
    struct sort_key ka = short_sort_key(a, false), kb = short_sort_key(b, false);
    return key_before(&ka, &kb) ? -1 : key_before(&kb, &ka);
}

/* The first 8 bytes of long slot e's key (16 bytes or more), big-endian: ordered as memcmp
 * orders them. */
static uint64_t long_prefix(const struct mpiwc_table *t, const struct mpiwc_entry *e)
{
    uint64_t v;
    memcpy(&v, t->arena + e->off, sizeof v);
    return __builtin_bswap64(v);
}

/*
 * Long keys: a qsort. They are few among words (0.002% of the high-
 * cardinality corpus'), but most of an n-gram table's keys (trigrams), and
 * the sort before each spill run compared them by memcmp in the arena, one
 * cache miss a key. While the long slots are sorted, their hash field holds
 * the key's first 8 bytes as a big-endian number (long_prefix), so most
 * comparisons end there: --ngram=1:3 of 256 MiB of natural text under
 * --memory-limit=256M, np 1, 3 interleaved runs: 32.1-35.2 s -> 26.4-29.3 s
 * (memcmp had 22% of the samples). mpiwc_table_sort() puts the hashes back.
 */
static int compare_long(const void *pa, const void *pb, void *arg)
{
    const struct mpiwc_entry *a = pa, *b = pb;
    const struct mpiwc_table *t = arg;
    if (t->sorted_by_count && a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->hash != b->hash) /* the prefixes */
        return a->hash < b->hash ? -1 : 1;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(t->arena + a->off, t->arena + b->off, n);
    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* compact_NAME(e, nslots): move e's words to its front, in order. */
#define DEFINE_COMPACT(NAME, TYPE, EMPTY)                                                          \
    static void compact_##NAME(TYPE *e, size_t nslots)                                             \
    {                                                                                              \
        size_t n = 0;                                                                              \
        for (size_t i = 0; i < nslots; i++)                                                        \
            if (!EMPTY(&e[i])) {                                                                   \
                if (i != n) {                                                                      \
                    e[n] = e[i];                                                                   \
                    memset(&e[i], 0, sizeof e[i]);                                                 \
                }                                                                                  \
                n++;                                                                               \
            }                                                                                      \
    }

#define LONG_EMPTY(e) ((e)->len == 0)
DEFINE_COMPACT(small, struct mpiwc_small_entry, SMALL_EMPTY)
DEFINE_COMPACT(short, struct mpiwc_short_entry, SHORT_EMPTY)
DEFINE_COMPACT(long, struct mpiwc_entry, LONG_EMPTY)

void mpiwc_table_compact(struct mpiwc_table *t)
{
    compact_small(t->small, t->small_mask + 1);
    compact_short(t->shorts, t->short_mask + 1);
    compact_long(t->slots, t->mask + 1);
    t->sorted = true;
    t->sorted_by_count = false;
}

void mpiwc_table_sort(struct mpiwc_table *t, enum mpiwc_sort order)
{
    bool by_count = order == MPIWC_SORT_COUNT;
    mpiwc_table_compact(t); /* each array's words now fill its first _size slots */
    size_t ns = t->small_size, nh = t->short_size, nl = t->big_size;
    radix_small(t->small, ns, 0, varies_small(t->small, ns, by_count), by_count);
    if (by_count && t->carry)
        qsort_r(t->shorts, nh, sizeof *t->shorts, compare_short_carried, t);
    else
        radix_short(t->shorts, nh, 0, varies_short(t->shorts, nh, by_count), by_count);
    t->sorted_by_count = by_count;
    for (size_t i = 0; i < nl; i++)
        t->slots[i].hash = long_prefix(t, &t->slots[i]);
    qsort_r(t->slots, nl, sizeof *t->slots, compare_long, t);
    for (size_t i = 0; i < nl; i++)
        t->slots[i].hash = mpiwc_hash(t->arena + t->slots[i].off, t->slots[i].len);
}

void mpiwc_table_cursor_init(struct mpiwc_table_cursor *c, const struct mpiwc_table *t,
                             enum mpiwc_sort order)
{
    *c = (struct mpiwc_table_cursor){.t = t, .order = order};
}

/* Load array a's next word (0 small, 1 short, 2 long), if any, into c->head[a]. */
static void cursor_head(struct mpiwc_table_cursor *c, int a)
{
    const struct mpiwc_table *t = c->t;
    size_t i = c->next[a];
    struct mpiwc_word *w = &c->head[a];
    uint64_t first8; /* the key's first 8 bytes, zero padded, as loaded (little-endian) */
    c->has[a] = false;
    if (a == 0) {
        if (i > t->small_mask || t->small[i].key == 0)
            return;
        *w = (struct mpiwc_word){(const uint8_t *)&t->small[i].key,
                                 (uint32_t)(t->small[i].key >> 56), t->small[i].count};
        first8 = t->small[i].key & ~(UINT64_C(0xff) << 56);
    } else if (a == 1) {
        if (i > t->short_mask || t->shorts[i].hi == 0)
            return;
        *w = (struct mpiwc_word){(const uint8_t *)&t->shorts[i], (uint32_t)(t->shorts[i].hi >> 56),
                                 mpiwc_table_short_count(t, &t->shorts[i])};
        first8 = t->shorts[i].lo;
    } else {
        if (i > t->mask || t->slots[i].len == 0)
            return;
        *w = (struct mpiwc_word){t->arena + t->slots[i].off, (uint32_t)t->slots[i].len,
                                 t->slots[i].count};
        first8 = load64(w->key); /* a long key has 16 bytes and more */
    }
    c->prefix[a] = __builtin_bswap64(first8); /* mpiwc_format_prefix(w), from the slot */
    c->has[a] = true;
}

/* Does array a's next word come before array b's? */
static bool cursor_before(const struct mpiwc_table_cursor *c, int a, int b)
{
    return mpiwc_format_compare_prefixed(&c->head[a], c->prefix[a], &c->head[b], c->prefix[b],
                                         c->order) < 0;
}

/*
 * Each array's next word is kept with its prefix, and only the array that
 * gave the last word loads its next: a row costs a comparison or two of
 * integers, where it cost three loads and two calls of memcmp (a third of the
 * output's time on the high-cardinality corpus: see the commit).
 */
bool mpiwc_table_cursor_next(struct mpiwc_table_cursor *c, struct mpiwc_word *w)
{
    if (!c->started) {
        for (int a = 0; a < 3; a++)
            cursor_head(c, a);
        c->started = true;
    }
    int best = -1;
    for (int a = 0; a < 3; a++)
        if (c->has[a] && (best < 0 || cursor_before(c, a, best)))
            best = a;
    if (best < 0)
        return false;
    *w = c->head[best];
    c->next[best]++;
    cursor_head(c, best);
    return true;
}

size_t mpiwc_table_memory_peak(const struct mpiwc_table *t, size_t more)
{
    size_t small = mpiwc_mul_size(t->small_mask + 1, sizeof *t->small);
    size_t shorts = mpiwc_mul_size(t->short_mask + 1, sizeof *t->shorts);
    size_t big = mpiwc_mul_size(t->mask + 1, sizeof *t->slots);
    size_t now = small + shorts + big + t->arena_cap, grow = 0;
    /* The small and short arrays double in place (their size again); the long one beside
     * the old (twice its size), and realloc may move the arena. More words of unknown
     * length: each may take a long key's 64 bytes or so. */
    if (t->small_size + more > t->small_grow_at)
        grow += small;
    if (t->short_size + more > t->short_grow_at)
        grow += shorts;
    if (t->big_size + more > t->grow_at)
        grow += mpiwc_mul_size(big, 2);
    if (t->arena_cap - t->arena_len < mpiwc_mul_size(more, 64))
        grow += mpiwc_mul_size(t->arena_cap, 2);
    return mpiwc_add_size(now, grow);
}

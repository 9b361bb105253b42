/*
 * The table's hot path, shared with the tokenizer so that counting a short
 * word is inlined: no call, no memcmp, no arena access.
 *
 * A key of len <= 16 bytes is handled as two little-endian 64-bit words lo
 * and hi (bytes 0-7 and 8-15), zero padded; mpiwc_hash() of such a key is
 * mpiwc_hash_short(lo, hi, len), so both paths give the same hash.
 */
#ifndef MPIWC_TABLE_INTERNAL_H
#define MPIWC_TABLE_INTERNAL_H

#include <stdbool.h>
#include <string.h>

#include "mpiwc/table.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mpiwc packs short keys as little-endian words"
#endif

__extension__ typedef unsigned __int128 mpiwc_u128;

#define MPIWC_K0 0xa0761d6478bd642full
#define MPIWC_K1 0xe7037ed1a0b428dbull
#define MPIWC_K2 0x8ebc6af09c88c6e3ull
#define MPIWC_K3 0x589965cc75374cc3ull

/* 64x64 -> 128 multiply folded to 64 bits: every input bit reaches every output bit. */
static inline uint64_t mpiwc_mum(uint64_t a, uint64_t b)
{
    mpiwc_u128 r = (mpiwc_u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/*
 * One multiply, then the well-mixed high half folded onto the low bits that
 * index the table; mpiwc_table_owner() takes the high 32 bits. A second
 * multiply (mpiwc_mum of this with a constant) cost a dependent multiply per
 * word for no fewer probes: in a linear-probing simulation at 0.39 to 0.72
 * load, over the Bible's words, dates, padded numbers and short letter runs,
 * both gave the same mean probe count within 2%, and without the fold the
 * padded numbers took 24% more.
 */
static inline uint64_t mpiwc_hash_short(uint64_t lo, uint64_t hi, size_t len)
{
    uint64_t h = mpiwc_mum(lo ^ MPIWC_K1, hi ^ MPIWC_K2 ^ (uint64_t)len);
    return h ^ (h >> 32);
}

void mpiwc_table_grow(struct mpiwc_table *t);

/* Does not return: a count would pass MPIWC_COUNT_MAX (fatal). */
void mpiwc_table_overflow(void) __attribute__((noreturn, cold));

/* Adding add to a count of have must stay within the count's 56 bits. */
static inline void mpiwc_table_check_sum(uint64_t have, uint64_t add)
{
    if (add > MPIWC_COUNT_MAX - have)
        mpiwc_table_overflow();
}

/*
 * Grow before one more word would pass 3/4 load. Linear probing stays short
 * there with a good hash, and a table of tens of millions of words needs half
 * the memory it would at 1/2 (the high-cardinality benchmark: 8.6 GB peak).
 */
static inline bool mpiwc_table_full(const struct mpiwc_table *t)
{
    return t->size >= t->grow_at;
}

/* Add count to the short key (lo, hi, len <= 16) whose hash is h. */
static inline void mpiwc_table_add_short(struct mpiwc_table *t, uint64_t h, uint64_t lo,
                                         uint64_t hi, uint32_t len, uint64_t count)
{
    if (mpiwc_table_full(t))
        mpiwc_table_grow(t);
    size_t i = h & t->mask;
    for (;;) {
        struct mpiwc_entry *e = &t->slots[i];
        if (e->tagged == 0) {
            if (count > 1) /* a merged count; a constant 1 on the tokenizers' path */
                mpiwc_table_check_sum(0, count);
            e->hash = h;
            e->tagged = count | (uint64_t)len << 56;
            memcpy(e->key.bytes, &lo, 8);
            memcpy(e->key.bytes + 8, &hi, 8);
            t->size++;
            return;
        }
        if (e->hash == h && (e->tagged >> 56) == len) {
            uint64_t elo, ehi;
            memcpy(&elo, e->key.bytes, 8);
            memcpy(&ehi, e->key.bytes + 8, 8);
            if (elo == lo && ehi == hi) {
                /* One at a time, 2^56 words take a rank years: only merged counts are checked. */
                if (count > 1)
                    mpiwc_table_check_sum(mpiwc_entry_count(e), count);
                e->tagged += count;
                return;
            }
        }
        i = (i + 1) & t->mask;
    }
}

/* Insert the short key (lo, hi, len) with a count of 1, known to be absent. */
void mpiwc_table_insert_short(struct mpiwc_table *t, uint64_t h, uint64_t lo, uint64_t hi,
                              uint32_t len);

/* Past the caches (more than 2^16 slots): words are queued behind prefetches. */
static inline bool mpiwc_table_queues(const struct mpiwc_table *t)
{
    return t->mask >= (1u << 16);
}

/*
 * The tokenizers' view of a table while they scan a buffer: its slot array
 * and mask as locals of the scanning function (declare one there, never take
 * its address), which the compiler keeps in registers. Read through t, they
 * would be loaded again after every count, whose store may alias t->mask.
 * Reload with mpiwc_counter_load() after anything else may have grown t.
 */
struct mpiwc_counter {
    struct mpiwc_table *t;
    struct mpiwc_entry *slots;
    size_t mask;
};

static inline void mpiwc_counter_load(struct mpiwc_counter *c, struct mpiwc_table *t)
{
    c->t = t;
    c->slots = t->slots;
    c->mask = t->mask;
}

/*
 * Count one occurrence of the short key (lo, hi, len >= 1) whose hash is h.
 * A slot holds the key when its tag (the length) and both key words match:
 * one comparison, without the stored hash. An empty slot (all zero) never
 * matches, as len >= 1; a long key's tag never does.
 */
static inline void mpiwc_counter_add1(struct mpiwc_counter *c, uint64_t h, uint64_t lo, uint64_t hi,
                                      uint32_t len)
{
    size_t i = h & c->mask;
    for (;;) {
        struct mpiwc_entry *e = &c->slots[i];
        uint64_t elo, ehi;
        memcpy(&elo, e->key.bytes, 8);
        memcpy(&ehi, e->key.bytes + 8, 8);
        if (((e->tagged >> 56 ^ len) | (elo ^ lo) | (ehi ^ hi)) == 0) {
            e->tagged++; /* one at a time, 2^56 words take a rank years */
            return;
        }
        if (e->tagged == 0) {
            mpiwc_table_insert_short(c->t, h, lo, hi, len);
            mpiwc_counter_load(c, c->t);
            return;
        }
        i = (i + 1) & c->mask;
    }
}

/* Count the queued short words (see struct mpiwc_table), through a counter:
 * one comparison per slot, no growth check per word. */
static inline void mpiwc_table_flush(struct mpiwc_table *t)
{
    struct mpiwc_counter c;
    mpiwc_counter_load(&c, t);
    for (size_t k = 0; k < t->queued; k++)
        mpiwc_counter_add1(&c, t->queue[k].hash, t->queue[k].lo, t->queue[k].hi, t->queue[k].len);
    t->queued = 0;
}

/* Queue a short word behind a prefetch of its slot; true when the queue was
 * counted (which may have grown the table). */
static inline bool mpiwc_table_enqueue(struct mpiwc_table *t, uint64_t h, uint64_t lo, uint64_t hi,
                                       uint32_t len)
{
    __builtin_prefetch(&t->slots[h & t->mask]);
    t->queue[t->queued].lo = lo;
    t->queue[t->queued].hi = hi;
    t->queue[t->queued].hash = h;
    t->queue[t->queued].len = len;
    if (++t->queued < MPIWC_TABLE_QUEUE)
        return false;
    mpiwc_table_flush(t);
    return true;
}

/*
 * Count one occurrence of a short key. A table larger than the caches (over
 * 2^16 slots, 4 MiB) misses on nearly every probe, so there the word's slot
 * is prefetched and the word queued; the queue is counted when full or at
 * mpiwc_table_flush(), by when the slots have arrived. Measured in-memory:
 * 200 MB of text with 8M distinct words 44 -> 83 MB/s; KJV with --split=space
 * (65536 slots) 446 -> 498 MB/s; smaller tables are added at once, as before.
 */
static inline void mpiwc_table_count_short(struct mpiwc_table *t, uint64_t h, uint64_t lo,
                                           uint64_t hi, uint32_t len)
{
    if (mpiwc_table_queues(t))
        (void)mpiwc_table_enqueue(t, h, lo, hi, len);
    else
        mpiwc_table_add_short(t, h, lo, hi, len, 1);
}

/*
 * mpiwc_table_count_short() through a counter, queued or not as the caller
 * decided for a whole buffer from mpiwc_table_queues(): a constant, so that
 * the scan has no branch on it per word. Either way counts right; a table
 * that grows past the caches in mid-buffer is queued from the next one.
 */
static inline __attribute__((always_inline)) void mpiwc_counter_count(struct mpiwc_counter *c,
                                                                      uint64_t h, uint64_t lo,
                                                                      uint64_t hi, uint32_t len,
                                                                      bool queue)
{
    if (!queue)
        mpiwc_counter_add1(c, h, lo, hi, len);
    else if (mpiwc_table_enqueue(c->t, h, lo, hi, len))
        mpiwc_counter_load(c, c->t);
}

/* ASCII A-Z to a-z in each byte of x, every other byte left as it is (SWAR). */
static inline uint64_t mpiwc_fold8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = ones * 0x80;
    uint64_t low7 = x & ~high;
    uint64_t ge_a = low7 + ones * (0x80 - 'A');     /* high bit: byte >= 'A' (ignoring bit 7) */
    uint64_t gt_z = low7 + ones * (0x80 - 'Z' - 1); /* high bit: byte > 'Z' */
    uint64_t upper = ge_a & ~gt_z & ~x & high;      /* ... and bit 7 clear */
    return x | (upper >> 2);
}

/* Split a short key (len <= 16) into its zero-padded words. */
static inline void mpiwc_short_key(const uint8_t *p, size_t len, uint64_t *lo, uint64_t *hi)
{
    uint8_t tmp[16] = {0};
    memcpy(tmp, p, len);
    memcpy(lo, tmp, 8);
    memcpy(hi, tmp + 8, 8);
}

/* Masks that keep the first len (0..16) bytes of a key: [len][0] for bytes
 * 0-7, [len][1] for bytes 8-15. Hidden: the library's code reaches it
 * directly, not through the global offset table, once per word. */
extern const uint64_t mpiwc_key_masks[MPIWC_INLINE_KEY + 1][2]
    __attribute__((visibility("hidden")));

/* The short key (len <= 16) at p, where 16 bytes from p may be read. */
static inline void mpiwc_short_key_padded(const uint8_t *p, size_t len, uint64_t *lo, uint64_t *hi)
{
    memcpy(lo, p, 8);
    memcpy(hi, p + 8, 8);
    *lo &= mpiwc_key_masks[len][0];
    *hi &= mpiwc_key_masks[len][1];
}

/*
 * The same, reading 16 bytes at once where avail >= 16 bytes may be read from
 * p: two loads and two masks, with no branch on the length, which words of up
 * to 8 bytes and longer ones make unpredictable.
 */
static inline void mpiwc_short_key_at(const uint8_t *p, size_t len, size_t avail, uint64_t *lo,
                                      uint64_t *hi)
{
    if (__builtin_expect(avail < 16, 0))
        mpiwc_short_key(p, len, lo, hi);
    else
        mpiwc_short_key_padded(p, len, lo, hi);
}

#endif

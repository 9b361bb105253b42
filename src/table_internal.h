/*
 * The table's hot path, shared with the tokenizer so that counting a short
 * word is inlined: no call, no memcmp, no arena access.
 *
 * A key of len <= MPIWC_INLINE_KEY (15) bytes is handled as two
 * little-endian 64-bit words: lo holds bytes 0-7 and hi bytes 8-14, zero
 * padded, with len in hi's top byte. Two short keys are equal exactly when
 * their (lo, hi) are, so a probe compares two words and nothing else, and
 * mpiwc_hash() of such a key is mpiwc_hash_short(lo, hi).
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

/*
 * 64x64 -> 128 multiply folded to 64 bits: every input bit reaches every
 * output bit. On x86-64 one mulq: in the space tokenizer's scan GCC sent the
 * __int128 product through the stack (three moves per word).
 */
static inline uint64_t mpiwc_mum(uint64_t a, uint64_t b)
{
#if defined(__x86_64__) && defined(__GNUC__)
    uint64_t lo, hi;
    __asm__("mulq %3" : "=a"(lo), "=d"(hi) : "%0"(a), "rm"(b) : "cc");
    return lo ^ hi;
#else
    mpiwc_u128 r = (mpiwc_u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#endif
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
static inline uint64_t mpiwc_hash_short(uint64_t lo, uint64_t hi)
{
    uint64_t h = mpiwc_mum(lo ^ MPIWC_K1, hi ^ MPIWC_K2);
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

/* The length of the short key whose high word is hi. */
static inline uint32_t mpiwc_short_len(uint64_t hi)
{
    return (uint32_t)(hi >> 56);
}

/* Does slot e hold the short key (lo, hi)? Never true of an empty slot (hi
 * is 0 there) or of a long key's (its length, in hi's place, is < 2^56). */
static inline bool mpiwc_entry_is(const struct mpiwc_entry *e, uint64_t lo, uint64_t hi)
{
    uint64_t elo, ehi;
    memcpy(&elo, e->key.bytes, 8);
    memcpy(&ehi, e->key.bytes + 8, 8);
    return ((elo ^ lo) | (ehi ^ hi)) == 0;
}

/* Fill the empty slot e with the short key (lo, hi), hash h and count. */
static inline void mpiwc_entry_set_short(struct mpiwc_entry *e, uint64_t h, uint64_t lo,
                                         uint64_t hi, uint64_t count)
{
    e->hash = h;
    e->tagged = count | (uint64_t)mpiwc_short_len(hi) << 56;
    memcpy(e->key.bytes, &lo, 8);
    memcpy(e->key.bytes + 8, &hi, 8);
}

/* Add count to the short key (lo, hi) whose hash is h. */
static inline void mpiwc_table_add_short(struct mpiwc_table *t, uint64_t h, uint64_t lo,
                                         uint64_t hi, uint64_t count)
{
    if (mpiwc_table_full(t))
        mpiwc_table_grow(t);
    size_t i = h & t->mask;
    for (;;) {
        struct mpiwc_entry *e = &t->slots[i];
        if (mpiwc_entry_is(e, lo, hi)) {
            /* One at a time, 2^56 words take a rank years: only merged counts are checked. */
            if (count > 1)
                mpiwc_table_check_sum(mpiwc_entry_count(e), count);
            e->tagged += count;
            return;
        }
        if (e->tagged == 0) {
            if (count > 1) /* a merged count; a constant 1 on the tokenizers' path */
                mpiwc_table_check_sum(0, count);
            mpiwc_entry_set_short(e, h, lo, hi, count);
            t->size++;
            return;
        }
        i = (i + 1) & t->mask;
    }
}

/* Insert the short key (lo, hi) with a count of 1, known to be absent. */
void mpiwc_table_insert_short(struct mpiwc_table *t, uint64_t h, uint64_t lo, uint64_t hi);

/* Past the caches (more than 2^16 slots): words are queued behind prefetches. */
#define MPIWC_TABLE_QUEUE 64
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
 *
 * A table larger than the caches (over 2^16 slots, 4 MiB) misses on nearly
 * every probe, so there a word's slot is prefetched and the word queued
 * here; the queue is counted when full or at mpiwc_counter_flush(), by when
 * the slots have arrived. Measured in memory when it came: 200 MB of text
 * with 8M distinct words 44 -> 83 MB/s. Smaller tables are counted at once.
 * 64 words deep: 16 left the generated natural text's 4-8 MiB tables
 * waiting on their slots (see the commit that made it 64).
 */
struct mpiwc_counter {
    struct mpiwc_table *t;
    uint8_t *slots;
    size_t mask; /* in bytes: (t->mask + 1) slots of 32 bytes, less one slot */
    size_t queued;
    struct {
        uint64_t lo, hi, hash;
    } queue[MPIWC_TABLE_QUEUE];
};

static inline void mpiwc_counter_load(struct mpiwc_counter *c, struct mpiwc_table *t)
{
    c->t = t;
    c->slots = (uint8_t *)t->slots;
    c->mask = t->mask * sizeof(struct mpiwc_entry);
}

/* Start counting into t, with an empty queue. */
static inline void mpiwc_counter_init(struct mpiwc_counter *c, struct mpiwc_table *t)
{
    mpiwc_counter_load(c, t);
    c->queued = 0;
}

/*
 * Count one occurrence of the short key (lo, hi) whose hash is h: a slot
 * holds it when both key words match (mpiwc_entry_is), one comparison.
 */
static inline void mpiwc_counter_add1(struct mpiwc_counter *c, uint64_t h, uint64_t lo, uint64_t hi)
{
    size_t at = (h * sizeof(struct mpiwc_entry)) & c->mask; /* a byte offset: no shift per probe */
    for (;;) {
        struct mpiwc_entry *e = (struct mpiwc_entry *)(c->slots + at);
        if (__builtin_expect(mpiwc_entry_is(e, lo, hi), 1)) {
            e->tagged++; /* one at a time, 2^56 words take a rank years */
            return;
        }
        if (e->tagged == 0) {
            mpiwc_table_insert_short(c->t, h, lo, hi);
            mpiwc_counter_load(c, c->t);
            return;
        }
        at = (at + sizeof(struct mpiwc_entry)) & c->mask;
    }
}

/* Count the queued words. A scan calls this before it returns: outside a
 * scan the table holds every word counted. */
static inline void mpiwc_counter_flush(struct mpiwc_counter *c)
{
    for (size_t k = 0; k < c->queued; k++)
        mpiwc_counter_add1(c, c->queue[k].hash, c->queue[k].lo, c->queue[k].hi);
    c->queued = 0;
}

/*
 * Count one occurrence of the short key (lo, hi) whose hash is h, queued
 * behind a prefetch of its slot or not, as the caller decided for a whole
 * buffer from mpiwc_table_queues(): a constant, so that the scan has no
 * branch on it per word. Either way counts right; a table that grows past
 * the caches in mid-buffer is queued from the next one.
 */
static inline __attribute__((always_inline)) void
mpiwc_counter_count(struct mpiwc_counter *c, uint64_t h, uint64_t lo, uint64_t hi, bool queue)
{
    if (!queue) {
        mpiwc_counter_add1(c, h, lo, hi);
        return;
    }
    __builtin_prefetch(c->slots + ((h * sizeof(struct mpiwc_entry)) & c->mask));
    c->queue[c->queued].lo = lo;
    c->queue[c->queued].hi = hi;
    c->queue[c->queued].hash = h;
    if (++c->queued == MPIWC_TABLE_QUEUE)
        mpiwc_counter_flush(c);
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

/* The words (lo, hi) of the short key p[0..len), len <= MPIWC_INLINE_KEY. */
static inline void mpiwc_short_key(const uint8_t *p, size_t len, uint64_t *lo, uint64_t *hi)
{
    uint8_t tmp[16] = {0};
    memcpy(tmp, p, len);
    tmp[15] = (uint8_t)len;
    memcpy(lo, tmp, 8);
    memcpy(hi, tmp + 8, 8);
}

/* Per key length len (0..15): [0] keeps bytes 0-7 of a key, [1] bytes 8-14,
 * [2] is len in the top byte; [3] pads a row to 32 bytes. Hidden: the
 * library's code reaches it directly, not through the global offset table,
 * once per word. */
extern const uint64_t mpiwc_key_masks[MPIWC_INLINE_KEY + 1][4]
    __attribute__((visibility("hidden")));

/* The short key (len <= MPIWC_INLINE_KEY) at p, where 16 bytes from p may be read. */
static inline void mpiwc_short_key_padded(const uint8_t *p, size_t len, uint64_t *lo, uint64_t *hi)
{
    memcpy(lo, p, 8);
    memcpy(hi, p + 8, 8);
    *lo &= mpiwc_key_masks[len][0];
    *hi = (*hi & mpiwc_key_masks[len][1]) | mpiwc_key_masks[len][2];
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

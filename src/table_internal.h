/*
 * The table's hot paths, shared with the tokenizer's engine (words.c) so
 * that counting a short word is inlined: no call, no memcmp, no arena
 * access; and with the shuffle's merge (shuffle.c), which makes each
 * received key's slot form once for its hash and its add. Nothing else
 * includes it: the rest of mpiwc sees the table through mpiwc/table.h.
 *
 * A key of len <= MPIWC_SMALL_KEY (7) bytes is one little-endian 64-bit word
 * k, its bytes zero padded with len in the top byte: the form it has in a
 * small slot, and mpiwc_hash() of it is mpiwc_hash_small(k). A key of 8 to
 * MPIWC_INLINE_KEY (15) bytes is two: lo holds bytes 0-7 and hi bytes 8-14,
 * zero padded, with len in hi's top byte, and its hash is
 * mpiwc_hash_short(lo, hi). Either way two keys are equal exactly when their
 * words are, so a probe compares words and nothing else.
 */
#ifndef MPIWC_TABLE_INTERNAL_H
#define MPIWC_TABLE_INTERNAL_H

#include <stdbool.h>
#include <string.h>

#include "mpiwc/table.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mpiwc packs short keys as little-endian words"
#endif

void mpiwc_table_grow(struct mpiwc_table *t);
void mpiwc_table_grow_short(struct mpiwc_table *t);
void mpiwc_table_grow_small(struct mpiwc_table *t);

/* Does not return: a count would pass MPIWC_COUNT_MAX (fatal). */
void mpiwc_table_overflow(void) __attribute__((noreturn, cold));

/* Add carry << 32 to the count of t's short key (lo, hi), after checking that the sum stays
 * within MPIWC_COUNT_MAX (fatal if not, with t left as it was). */
void mpiwc_table_carry_short(struct mpiwc_table *t, uint64_t lo, uint64_t hi, uint64_t carry)
    __attribute__((cold));

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
    return t->big_size >= t->grow_at;
}

/* The length of the short key whose high word is hi. */
static inline uint32_t mpiwc_short_len(uint64_t hi)
{
    return (uint32_t)(hi >> 56);
}

/* Does slot e hold the short key (lo, hi)? Never true of an empty slot (hi is 0 there). */
static inline bool mpiwc_entry_is(const struct mpiwc_short_entry *e, uint64_t lo, uint64_t hi)
{
    return ((e->lo ^ lo) | (e->hi ^ hi)) == 0;
}

/* Store the short key (lo, hi), new to t, with count (checked) in t's empty short slot e. */
static inline void mpiwc_table_fill_short(struct mpiwc_table *t, struct mpiwc_short_entry *e,
                                          uint64_t lo, uint64_t hi, uint64_t count)
{
    if (count >> 32) /* a merged count; a constant 1 on the tokenizers' path */
        mpiwc_table_carry_short(t, lo, hi, count >> 32);
    *e = (struct mpiwc_short_entry){lo, hi, (uint32_t)count};
    t->short_size++;
    t->size++;
}

/* Store the small key k, new to t, with count in t's empty small slot e. */
static inline void mpiwc_table_fill_small(struct mpiwc_table *t, struct mpiwc_small_entry *e,
                                          uint64_t k, uint64_t count)
{
    e->key = k;
    e->count = count;
    t->small_size++;
    t->size++;
}

/* Add count to the short key (lo, hi) whose hash is h. */
static inline void mpiwc_table_add_short(struct mpiwc_table *t, uint64_t h, uint64_t lo,
                                         uint64_t hi, uint64_t count)
{
    if (t->short_size >= t->short_grow_at)
        mpiwc_table_grow_short(t);
    size_t i = h & t->short_mask;
    for (;;) {
        struct mpiwc_short_entry *e = &t->shorts[i];
        if (mpiwc_entry_is(e, lo, hi)) {
            if (count > MPIWC_COUNT_MAX) /* else the sum below could wrap */
                mpiwc_table_overflow();
            uint64_t sum = (uint64_t)e->count + count;
            if (__builtin_expect(sum >> 32, 0)) /* checks the whole count, then carries */
                mpiwc_table_carry_short(t, lo, hi, sum >> 32);
            e->count = (uint32_t)sum;
            return;
        }
        if (e->hi == 0) {
            if (count > 1) /* a merged count; a constant 1 on the tokenizers' path */
                mpiwc_table_check_sum(0, count);
            mpiwc_table_fill_short(t, e, lo, hi, count);
            return;
        }
        i = (i + 1) & t->short_mask;
    }
}

/* Insert the short key (lo, hi) with a count of 1, known to be absent, once t has grown as
 * it must: a counter's path when its probe found the key absent but t full. */
void mpiwc_table_insert_short(struct mpiwc_table *t, uint64_t h, uint64_t lo, uint64_t hi);

/* Add count to the small key k (len <= MPIWC_SMALL_KEY) whose hash is h. */
static inline void mpiwc_table_add_small(struct mpiwc_table *t, uint64_t h, uint64_t k,
                                         uint64_t count)
{
    if (t->small_size >= t->small_grow_at)
        mpiwc_table_grow_small(t);
    size_t i = h & t->small_mask;
    for (;;) {
        struct mpiwc_small_entry *e = &t->small[i];
        if (e->key == k) {
            if (count > 1)
                mpiwc_table_check_sum(e->count, count);
            e->count += count;
            return;
        }
        if (e->key == 0) {
            if (count > 1)
                mpiwc_table_check_sum(0, count);
            mpiwc_table_fill_small(t, e, k, count);
            return;
        }
        i = (i + 1) & t->small_mask;
    }
}

/* The same for the small key k. */
void mpiwc_table_insert_small(struct mpiwc_table *t, uint64_t h, uint64_t k);

/* Past the caches (either array over 2 MiB): words are queued behind prefetches. */
#define MPIWC_TABLE_QUEUE 64
static inline bool mpiwc_table_queues(const struct mpiwc_table *t)
{
    return t->short_mask >= (1u << 16) || t->small_mask >= (1u << 17);
}

/*
 * Longer keys (n-grams of 16 bytes and more: 2% of the Bible's bigrams,
 * most of its trigrams) live in big slots, with their bytes in the arena.
 * Those of up to MPIWC_COUNTER_LONG bytes wait too, copied into a queue of
 * MPIWC_COUNTER_LONGS. Counted at once, each missed the caches twice (slot
 * and arena): 2% of the bigrams took 10% of the time (see the commit that
 * queued them).
 */
#define MPIWC_COUNTER_LONG 128
#define MPIWC_COUNTER_LONGS 16

/*
 * The tokenizers' view of a table while they scan a buffer: its slot array
 * and mask as locals of the scanning function (declare one there, never take
 * its address), which the compiler keeps in registers. Read through t, they
 * would be loaded again after every count, whose store may alias t->mask.
 * Reload with mpiwc_counter_load() after anything else may have grown t.
 *
 * A table larger than the caches (an array over 2 MiB) misses on nearly
 * every probe, so there a word's slot is prefetched and the word queued
 * here; the queue is counted when full or at mpiwc_counter_flush(), by when
 * the slots have arrived. Measured in memory when it came: 200 MB of text
 * with 8M distinct words 44 -> 83 MB/s. Smaller tables are counted at once.
 * 64 words deep: 16 left the generated natural text's 4-8 MiB tables
 * waiting on their slots (see the commit that made it 64).
 */
struct mpiwc_counter {
    struct mpiwc_table *t;
    struct mpiwc_short_entry *shorts;
    uint8_t *small;
    size_t mask;       /* t->short_mask */
    size_t small_mask; /* in bytes: (t->small_mask + 1) slots of 16 bytes, less one slot */
    size_t queued, queued_small, queued_long;
    struct {
        uint64_t lo, hi, hash;
    } queue[MPIWC_TABLE_QUEUE]; /* short keys */
    struct {
        uint64_t key, hash;
    } queue_small[MPIWC_TABLE_QUEUE]; /* small keys */
    struct {
        uint64_t hash;
        size_t len;
        uint8_t key[MPIWC_COUNTER_LONG];
    } queue_long[MPIWC_COUNTER_LONGS]; /* long keys (n-grams) */
};

static inline void mpiwc_counter_load(struct mpiwc_counter *c, struct mpiwc_table *t)
{
    c->t = t;
    c->shorts = t->shorts;
    c->mask = t->short_mask;
    c->small = (uint8_t *)t->small;
    c->small_mask = t->small_mask * sizeof(struct mpiwc_small_entry);
}

/* Start counting into t, with an empty queue. */
static inline void mpiwc_counter_init(struct mpiwc_counter *c, struct mpiwc_table *t)
{
    mpiwc_counter_load(c, t);
    c->queued = c->queued_small = c->queued_long = 0;
}

/*
 * Count one occurrence of the short key (lo, hi) whose hash is h: a slot
 * holds it when both key words match (mpiwc_entry_is), one comparison.
 */
static inline void mpiwc_counter_add1(struct mpiwc_counter *c, uint64_t h, uint64_t lo, uint64_t hi)
{
    size_t i = h & c->mask;
    for (;;) {
        struct mpiwc_short_entry *e = &c->shorts[i];
        if (__builtin_expect(mpiwc_entry_is(e, lo, hi), 1)) {
            if (__builtin_expect(++e->count == 0, 0)) /* its 32 bits wrapped */
                mpiwc_table_carry_short(c->t, lo, hi, 1);
            return;
        }
        if (e->hi == 0) {
            struct mpiwc_table *t = c->t;
            if (__builtin_expect(t->short_size >= t->short_grow_at, 0)) {
                mpiwc_table_insert_short(t, h, lo, hi);
                mpiwc_counter_load(c, t);
                return;
            }
            mpiwc_table_fill_short(t, e, lo, hi, 1); /* where the probe ended: no second walk */
            return;
        }
        i = (i + 1) & c->mask;
    }
}

/* Count one occurrence of the small key k whose hash is h. */
static inline void mpiwc_counter_add1_small(struct mpiwc_counter *c, uint64_t h, uint64_t k)
{
    size_t at = (h * sizeof(struct mpiwc_small_entry)) & c->small_mask;
    for (;;) {
        struct mpiwc_small_entry *e = (struct mpiwc_small_entry *)(c->small + at);
        if (__builtin_expect(e->key == k, 1)) {
            e->count++;
            return;
        }
        if (e->key == 0) {
            struct mpiwc_table *t = c->t;
            if (__builtin_expect(t->small_size >= t->small_grow_at, 0)) {
                mpiwc_table_insert_small(t, h, k);
                mpiwc_counter_load(c, t);
                return;
            }
            mpiwc_table_fill_small(t, e, k, 1);
            return;
        }
        at = (at + sizeof(struct mpiwc_small_entry)) & c->small_mask;
    }
}

/* Count the queued short keys. */
static inline void mpiwc_counter_flush_short(struct mpiwc_counter *c)
{
    for (size_t k = 0; k < c->queued; k++)
        mpiwc_counter_add1(c, c->queue[k].hash, c->queue[k].lo, c->queue[k].hi);
    c->queued = 0;
}

/* Count the queued small keys. */
static inline void mpiwc_counter_flush_small(struct mpiwc_counter *c)
{
    for (size_t k = 0; k < c->queued_small; k++)
        mpiwc_counter_add1_small(c, c->queue_small[k].hash, c->queue_small[k].key);
    c->queued_small = 0;
}

/*
 * Count the queued long keys (out of line: rarer than the others, and
 * inlined it swelled every scan that counts).
 */
void mpiwc_counter_flush_long(struct mpiwc_counter *c);

/*
 * Count the queued words. A scan calls this before it returns: outside a
 * scan the table holds every word counted. Small and short keys wait in
 * queues of their own, so that counting them takes no branch on the kind:
 * a natural text's bigrams are of either kind at random (31% of the
 * Bible's are small), and the branch missed (see the commit that split
 * the queue).
 */
static inline void mpiwc_counter_flush(struct mpiwc_counter *c)
{
    mpiwc_counter_flush_short(c);
    mpiwc_counter_flush_small(c);
    if (c->queued_long)
        mpiwc_counter_flush_long(c);
}

/* Where to write a long key of up to MPIWC_COUNTER_LONG bytes, then queued with
 * mpiwc_counter_queue_long(). */
static inline uint8_t *mpiwc_counter_long_key(struct mpiwc_counter *c)
{
    return c->queue_long[c->queued_long].key;
}

/* Queue the long key of len bytes (16 to MPIWC_COUNTER_LONG) written at
 * mpiwc_counter_long_key(), behind a prefetch of its slot. */
static inline void mpiwc_counter_queue_long(struct mpiwc_counter *c, size_t len)
{
    uint64_t h = mpiwc_hash(c->queue_long[c->queued_long].key, len);
    c->queue_long[c->queued_long].hash = h;
    c->queue_long[c->queued_long].len = len;
    __builtin_prefetch(&c->t->slots[h & c->t->mask]);
    if (++c->queued_long == MPIWC_COUNTER_LONGS)
        mpiwc_counter_flush_long(c);
}

/* Queue a short key whose slot the caller has prefetched. */
static inline __attribute__((always_inline)) void
mpiwc_counter_enqueue(struct mpiwc_counter *c, uint64_t h, uint64_t lo, uint64_t hi)
{
    c->queue[c->queued].lo = lo;
    c->queue[c->queued].hi = hi;
    c->queue[c->queued].hash = h;
    if (++c->queued == MPIWC_TABLE_QUEUE)
        mpiwc_counter_flush_short(c);
}

/* Queue a small key whose slot the caller has prefetched. */
static inline __attribute__((always_inline)) void
mpiwc_counter_enqueue_small(struct mpiwc_counter *c, uint64_t h, uint64_t k)
{
    c->queue_small[c->queued_small].key = k;
    c->queue_small[c->queued_small].hash = h;
    if (++c->queued_small == MPIWC_TABLE_QUEUE)
        mpiwc_counter_flush_small(c);
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
    const struct mpiwc_short_entry *slot = &c->shorts[h & c->mask];
    mpiwc_table_prefetch_short(slot);
    mpiwc_counter_enqueue(c, h, lo, hi);
}

/* The same for the small key k. */
static inline __attribute__((always_inline)) void
mpiwc_counter_count_small(struct mpiwc_counter *c, uint64_t h, uint64_t k, bool queue)
{
    if (!queue) {
        mpiwc_counter_add1_small(c, h, k);
        return;
    }
    __builtin_prefetch(c->small + ((h * sizeof(struct mpiwc_small_entry)) & c->small_mask));
    mpiwc_counter_enqueue_small(c, h, k);
}

/* The bytes p[0..len), len <= 8, as a little-endian word, zero padded: loads of those bytes alone,
 * overlapping where len is not 1, 2, 4 or 8. */
static inline uint64_t mpiwc_load_upto8(const uint8_t *p, size_t len)
{
    if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + len - 4, 4);
        return (uint64_t)a | (uint64_t)b << (8 * (len - 4));
    }
    if (len == 0)
        return 0;
    return (uint64_t)p[0] | (uint64_t)p[len / 2] << (8 * (len / 2)) |
           (uint64_t)p[len - 1] << (8 * (len - 1));
}

/*
 * The words (lo, hi) of the short key p[0..len), len <= MPIWC_INLINE_KEY,
 * reading only those bytes. Loads of the key itself: copied into a zeroed
 * 16-byte buffer first, the two 8-byte loads waited for the copy's stores
 * to reach the cache (no store forwarding across stores of other sizes),
 * on every word that a shuffle merges (see the commit that made this).
 */
static inline void mpiwc_short_key(const uint8_t *p, size_t len, uint64_t *lo, uint64_t *hi)
{
    uint64_t l, h = 0;
    if (len > 8) {
        memcpy(&l, p, 8);
        memcpy(&h, p + len - 8, 8);
        h >>= 8 * (16 - len); /* the bytes past 8, at the bottom */
    } else {
        l = mpiwc_load_upto8(p, len);
    }
    *lo = l;
    *hi = h | (uint64_t)len << 56;
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

/* The small key (len <= MPIWC_SMALL_KEY) at p, where 8 bytes from p may be read. */
static inline uint64_t mpiwc_small_key_padded(const uint8_t *p, size_t len)
{
    uint64_t k;
    memcpy(&k, p, 8);
    return (k & mpiwc_key_masks[len][0]) | mpiwc_key_masks[len][2];
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

/*
 * Count one occurrence of the word p[0..len), where 16 bytes from p may be
 * read, if it is short (len <= MPIWC_INLINE_KEY) and, when only_ascii, all
 * ASCII; returns whether it did. The length picks the array before any key is
 * made: a small key needs one load and one mask.
 */
static inline __attribute__((always_inline)) bool
mpiwc_counter_count_padded(struct mpiwc_counter *c, const uint8_t *p, size_t len, bool only_ascii,
                           bool queue)
{
    const uint64_t high = 0x8080808080808080ull;
    if (len <= MPIWC_SMALL_KEY) {
        uint64_t k = mpiwc_small_key_padded(p, len);
        if (only_ascii && (k & high))
            return false;
        mpiwc_counter_count_small(c, mpiwc_hash_small(k), k, queue);
        return true;
    }
    if (len > MPIWC_INLINE_KEY)
        return false;
    uint64_t lo, hi;
    mpiwc_short_key_padded(p, len, &lo, &hi);
    if (only_ascii && ((lo | hi) & high))
        return false;
    mpiwc_counter_count(c, mpiwc_hash_short(lo, hi), lo, hi, queue);
    return true;
}

/* Add count to the short key (lo, hi) of len bytes, whose hash is h. */
static inline void mpiwc_table_add_key(struct mpiwc_table *t, uint64_t h, uint64_t lo, uint64_t hi,
                                       size_t len, uint64_t count)
{
    if (len <= MPIWC_SMALL_KEY)
        mpiwc_table_add_small(t, h, lo | hi, count);
    else
        mpiwc_table_add_short(t, h, lo, hi, count);
}

/* mpiwc_hash() of the short key (lo, hi) of len bytes. */
static inline uint64_t mpiwc_hash_key(uint64_t lo, uint64_t hi, size_t len)
{
    return len <= MPIWC_SMALL_KEY ? mpiwc_hash_small(lo | hi) : mpiwc_hash_short(lo, hi);
}

/*
 * mpiwc_hash() of the key p[0..len), where avail bytes from p may be read
 * (fewer than 16: only the key's), and, when it is short (len <=
 * MPIWC_INLINE_KEY), its slot form (lo, hi) (else they are left alone): made
 * once for both, where mpiwc_hash() and then mpiwc_table_add_hashed() each
 * made it (see the commit that made this).
 */
static inline uint64_t mpiwc_key_form(const uint8_t *p, size_t len, size_t avail, uint64_t *lo,
                                      uint64_t *hi)
{
    if (len > MPIWC_INLINE_KEY)
        return mpiwc_hash(p, len);
    mpiwc_short_key_at(p, len, avail, lo, hi);
    return mpiwc_hash_key(*lo, *hi, len);
}

/* t's slot of the small key k whose hash is h, or NULL. */
static inline const struct mpiwc_small_entry *mpiwc_table_find_small(const struct mpiwc_table *t,
                                                                     uint64_t h, uint64_t k)
{
    for (size_t i = h & t->small_mask;; i = (i + 1) & t->small_mask) {
        if (t->small[i].key == k)
            return &t->small[i];
        if (t->small[i].key == 0)
            return NULL;
    }
}

/* t's slot of the short key (lo, hi) whose hash is h, or NULL. */
static inline const struct mpiwc_short_entry *
mpiwc_table_find_short(const struct mpiwc_table *t, uint64_t h, uint64_t lo, uint64_t hi)
{
    for (size_t i = h & t->short_mask;; i = (i + 1) & t->short_mask) {
        if (mpiwc_entry_is(&t->shorts[i], lo, hi))
            return &t->shorts[i];
        if (t->shorts[i].hi == 0)
            return NULL;
    }
}

/* Does t hold the key of len <= MPIWC_INLINE_KEY bytes, of slot form (lo, hi), whose hash is h?
 * (A lookup, inlined: the tokenizer's stop words.) */
static inline bool mpiwc_table_has_key(const struct mpiwc_table *t, uint64_t h, uint64_t lo,
                                       uint64_t hi, size_t len)
{
    if (len <= MPIWC_SMALL_KEY)
        return mpiwc_table_find_small(t, h, lo | hi) != NULL;
    return mpiwc_table_find_short(t, h, lo, hi) != NULL;
}

/* Add count to t's key p[0..len) of that hash and, if short, that slot form (mpiwc_key_form()). */
static inline void mpiwc_table_add_formed(struct mpiwc_table *t, uint64_t hash, const uint8_t *p,
                                          size_t len, uint64_t lo, uint64_t hi, uint64_t count)
{
    if (len <= MPIWC_INLINE_KEY)
        mpiwc_table_add_key(t, hash, lo, hi, len, count);
    else
        mpiwc_table_add_hashed(t, hash, p, len, count);
}

#endif

/*
 * table: the word -> count hash table used for the local combine and for the
 * owned words after the shuffle.
 *
 *     struct mpiwc_table t;
 *     mpiwc_table_init(&t, 0);
 *     mpiwc_table_add(&t, "word", 4, 1);        // copies the key on first insert
 *     uint64_t n = mpiwc_table_get(&t, "word", 4);
 *     struct mpiwc_table_word w;
 *     for (size_t i = 0; i < mpiwc_table_slots(&t); i++)
 *         if (mpiwc_table_word(&t, i, &w)) { ... w.key, w.len, w.count ... }
 *     mpiwc_table_free(&t);
 *
 * Open addressing with linear probing over three power-of-two slot arrays,
 * by key length, none of which keeps what it can recompute. Keys of up to 7
 * bytes (most words of natural text: 92% of the Bible's) live in 16-byte
 * slots, four to a cache line: the key's bytes and its length in one 64-bit
 * word, then the count, so a probe is one comparison. Keys of 8 to 15 bytes
 * live in 20-byte slots: the key in two words, its length in the last byte
 * of the second, then the count's low 32 bits (a probe compares two words);
 * their hash is one multiply, recomputed when the array grows, so the slot
 * does not keep it. A short key whose count passes 2^32 - 1 keeps the rest
 * in a second table, the carry, made for the first such key (a word met 4
 * billion times on one rank) and read only while it exists. Longer keys live in 32-byte slots with
 * their hash, count and the place of their bytes in one arena owned by the table, addressed by
 * offset, so growth of the arena does not invalidate entries; their probes
 * compare hashes before bytes. Counts are checked to stay below 2^56 (far
 * beyond what a rank can read). Each array doubles at 3/4 load, the small
 * and short ones in place (table.c tells how); an empty slot is all zero.
 *
 * The short slots came from the high-cardinality benchmark, where 92-94% of
 * the distinct words have 8 to 15 bytes: with the hash kept, 32 bytes a slot
 * at 3/8 to 3/4 load made 43 to 85 bytes of table a distinct word (256 MiB of
 * uniform draws over 10M words, 8.4M distinct of 8-15 bytes: 512 MiB of
 * slots, then 384 at 24 bytes a slot with a 64-bit count, now 320).
 *
 * The hash is fixed and unseeded, identical on every rank: the same hash
 * picks the bucket (low bits) and, through mpiwc_table_owner(), the owner
 * rank (high 32 bits), so a power-of-two rank count leaves no bucket idle.
 *
 * What it does not do: ordering, MPI, or bounding memory (the caller decides
 * when to flush and clear).
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_TABLE_H
#define MPIWC_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpiwc/format.h"

/* Keys up to this many bytes are stored inside the slot, zero padded, with
 * the length in the slot's last key byte. */
#define MPIWC_INLINE_KEY 15
/* Keys up to this many bytes go to the 16-byte slots. */
#define MPIWC_SMALL_KEY 7

/* The largest count a slot holds. */
#define MPIWC_COUNT_MAX ((UINT64_C(1) << 56) - 1)

/* A slot for a key of 1 to 7 bytes: its bytes, zero padded, with the length in
 * the top byte (0: an empty slot); then the count. */
struct mpiwc_small_entry {
    uint64_t key;
    uint64_t count;
};

/* A slot for a key of 8 to 15 bytes: bytes 0-7 in lo, bytes 8-14 in hi, zero
 * padded, with the length in hi's top byte (hi 0: an empty slot); then the
 * count's low 32 bits, the rest of it in the table's carry (20 bytes a slot;
 * read the count with mpiwc_table_short_count()). lo and hi are the key's
 * bytes in order. */
struct __attribute__((packed, aligned(4))) mpiwc_short_entry {
    uint64_t lo, hi;
    uint32_t count;
};

/* A slot for a key of 16 bytes or more, whose bytes are in the arena (len 0: an empty slot). */
struct mpiwc_entry {
    uint64_t hash;
    uint64_t count;
    uint64_t off, len;
};

struct mpiwc_table {
    size_t size;                     /* distinct words, in all arrays */
    struct mpiwc_small_entry *small; /* owned; small_mask + 1 of them */
    size_t small_mask, small_size, small_grow_at;
    struct mpiwc_short_entry *shorts; /* owned; short_mask + 1 of them: keys of 8 to 15 bytes */
    size_t short_mask, short_size, short_grow_at;
    struct mpiwc_entry *slots; /* owned; mask + 1 of them: keys of 16 bytes or more */
    size_t mask;
    size_t big_size; /* occupied slots of slots[] */
    size_t grow_at;  /* big_size at which one more word grows slots[] (3/4 load) */
    uint8_t *arena;  /* owned key bytes */
    size_t arena_len, arena_cap;
    bool sorted;          /* sorted or compacted: no more adds or lookups until a clear */
    bool sorted_by_count; /* and in count order */
    /* Owned; NULL until a short key's count first passes 2^32 - 1: each such
     * key (as a short key of its own) with its count >> 32. */
    struct mpiwc_table *carry;
};

/* Local. The fixed 64-bit hash of a word's bytes (after case folding). */
uint64_t mpiwc_hash(const void *key, size_t len);

/*
 * Local. Start loading short slot e, with the line that ends the next slot:
 * a probe that reaches a second line (a 20-byte slot across two, one time
 * in four, or the next slots) would otherwise wait a whole miss. The
 * second line was once fetched only from 2M slots on (48 MiB, past the
 * last level cache), as smaller arrays seemed to lose a little. Measured
 * again for every array, np 1, tokenize step medians of alternating runs:
 * --ngram=1:3 of the Bible (256 MiB) 2.482 -> 2.104 and 2.364 -> 2.067 s,
 * of the natural text 12.586 -> 11.692 s; bigrams within noise (the Bible
 * x100 1.323 -> 1.321 s in 7, the natural text 2.344 -> 2.157 s in 7 and
 * 2.073 -> 2.154 s in 5); words of the natural text (all small keys, never
 * on this path) 0.301 -> 0.305 s in 9.
 */
static inline void mpiwc_table_prefetch_short(const struct mpiwc_short_entry *e)
{
    __builtin_prefetch(e);
    __builtin_prefetch((const uint8_t *)e + 2 * sizeof *e - 1);
}

/* Local. Start loading the slot where a key of len bytes with this hash is looked for first. */
static inline void mpiwc_table_prefetch(const struct mpiwc_table *t, uint64_t hash, size_t len)
{
    if (len <= MPIWC_SMALL_KEY)
        __builtin_prefetch(&t->small[hash & t->small_mask]);
    else if (len <= MPIWC_INLINE_KEY)
        mpiwc_table_prefetch_short(&t->shorts[hash & t->short_mask]);
    else
        __builtin_prefetch(&t->slots[hash & t->mask]);
}

/* Local. Owner rank of a hash among nranks (uses the high 32 bits). */
static inline int mpiwc_table_owner(uint64_t hash, int nranks)
{
    return (int)(((hash >> 32) * (uint64_t)nranks) >> 32);
}

/* Local. capacity_hint: expected distinct words (0 for a small default). */
void mpiwc_table_init(struct mpiwc_table *t, size_t capacity_hint);
void mpiwc_table_free(struct mpiwc_table *t);

/* Local. Forget every word but keep the memory for reuse. */
void mpiwc_table_clear(struct mpiwc_table *t);

/* Local. Add count to key (inserted with a copy of the bytes if new). len > 0. */
void mpiwc_table_add(struct mpiwc_table *t, const void *key, size_t len, uint64_t count);
void mpiwc_table_add_hashed(struct mpiwc_table *t, uint64_t hash, const void *key, size_t len,
                            uint64_t count);

/* Local. The count of key, 0 when absent. */
uint64_t mpiwc_table_get(const struct mpiwc_table *t, const void *key, size_t len);

#define MPIWC_K0 0xa0761d6478bd642full
#define MPIWC_K1 0xe7037ed1a0b428dbull
#define MPIWC_K2 0x8ebc6af09c88c6e3ull
#define MPIWC_K3 0x589965cc75374cc3ull

/*
 * Local. 64x64 -> 128 multiply folded to 64 bits: every input bit reaches
 * every output bit. On x86-64 one mulq: in the space tokenizer's scan GCC
 * sent the __int128 product through the stack (three moves per word).
 */
static inline uint64_t mpiwc_mum(uint64_t a, uint64_t b)
{
#if defined(__x86_64__) && defined(__GNUC__)
    uint64_t lo, hi;
    __asm__("mulq %3" : "=a"(lo), "=d"(hi) : "%0"(a), "rm"(b) : "cc");
    return lo ^ hi;
#else
    __extension__ typedef unsigned __int128 u128;
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#endif
}

/*
 * Local. mpiwc_hash() of a key of 1 to 7 bytes, given in its slot form
 * (struct mpiwc_small_entry): one multiply, whose two halves are already
 * mixed into each other's bits. The xor of a constant before it and the
 * fold of the high 32 bits onto the low ones after it (five instructions per
 * word) were not worth keeping: in a linear-probing simulation over the
 * vocabularies of the Bible, the generated texts (both rules), a
 * high-cardinality sample, numbers, padded numbers and every 3- and 4-letter
 * word, at the loads the table runs at, dropping them moved the mean probe
 * count by 3.2% at most (shorter on four of the seven, longer on the
 * generated texts and the sample), and the owners' chi-square stayed at
 * chance.
 */
static inline uint64_t mpiwc_hash_small(uint64_t key)
{
    return mpiwc_mum(key, MPIWC_K2);
}

/*
 * Local. mpiwc_hash() of a key of 8 to 15 bytes in its slot form (struct
 * mpiwc_short_entry): one multiply, then the well-mixed high half folded onto
 * the low bits that index the table; mpiwc_table_owner() takes the high 32
 * bits. A second multiply (mpiwc_mum of this with a constant) cost a
 * dependent multiply per word for no fewer probes: in a linear-probing
 * simulation at 0.39 to 0.72 load, over the Bible's words, dates, padded
 * numbers and short letter runs, both gave the same mean probe count within
 * 2%, and without the fold the padded numbers took 24% more.
 */
static inline uint64_t mpiwc_hash_short(uint64_t lo, uint64_t hi)
{
    uint64_t h = mpiwc_mum(lo ^ MPIWC_K1, hi ^ MPIWC_K2);
    return h ^ (h >> 32);
}

/* Local. The part of a short key's count above its slot's 32 bits, shifted down (t->carry). */
uint64_t mpiwc_table_carried(const struct mpiwc_table *t, uint64_t lo, uint64_t hi)
    __attribute__((cold));

/* Local. The count of t's short slot e. */
static inline uint64_t mpiwc_table_short_count(const struct mpiwc_table *t,
                                               const struct mpiwc_short_entry *e)
{
    uint64_t n = e->count;
    if (__builtin_expect(t->carry != NULL, 0))
        n += mpiwc_table_carried(t, e->lo, e->hi) << 32;
    return n;
}

/* Local. A word of the table; key borrowed until the next add, clear or free. */
struct mpiwc_table_word {
    const uint8_t *key;
    size_t len;
    uint64_t count;
    uint64_t hash;
};

/* Local. Iteration: the slots are numbered 0 .. mpiwc_table_slots(t) - 1;
 * mpiwc_table_word(t, i, &w) fills w and is true for an occupied one. */
static inline size_t mpiwc_table_slots(const struct mpiwc_table *t)
{
    return t->slots ? t->small_mask + 1 + t->short_mask + 1 + t->mask + 1 : 0;
}
static inline bool mpiwc_table_word(const struct mpiwc_table *t, size_t i,
                                    struct mpiwc_table_word *w)
{
    size_t nsmall = t->small_mask + 1, nshort = t->short_mask + 1;
    if (i < nsmall) {
        const struct mpiwc_small_entry *e = &t->small[i];
        if (e->key == 0)
            return false;
        *w = (struct mpiwc_table_word){(const uint8_t *)&e->key, (size_t)(e->key >> 56), e->count,
                                       mpiwc_hash_small(e->key)};
        return true;
    }
    i -= nsmall;
    if (i < nshort) {
        const struct mpiwc_short_entry *e = &t->shorts[i];
        if (e->hi == 0)
            return false;
        *w = (struct mpiwc_table_word){(const uint8_t *)e, (size_t)(e->hi >> 56),
                                       mpiwc_table_short_count(t, e),
                                       mpiwc_hash_short(e->lo, e->hi)};
        return true;
    }
    const struct mpiwc_entry *e = &t->slots[i - nshort];
    if (e->len == 0)
        return false;
    *w = (struct mpiwc_table_word){t->arena + e->off, (size_t)e->len, e->count, e->hash};
    return true;
}

/*
 * Local. Sort the words in the table's own memory, in order: each slot array
 * ends with its words at its front, in that order, so that a cursor reads
 * them in order with no array of rows beside the table, one slot after
 * another. Afterwards the table holds the same words (mpiwc_table_word()
 * still iterates them) but is no hash table: no add or get until
 * mpiwc_table_clear() or mpiwc_table_free().
 *
 *     mpiwc_table_sort(&t, MPIWC_SORT_COUNT);
 *     struct mpiwc_table_cursor c;
 *     mpiwc_table_cursor_init(&c, &t, MPIWC_SORT_COUNT);
 *     struct mpiwc_word w;
 *     while (mpiwc_table_cursor_next(&c, &w)) { ... w.key, w.len, w.count ... }
 */
void mpiwc_table_sort(struct mpiwc_table *t, enum mpiwc_sort order);

/*
 * Local. Move each slot array's words to its front, keeping their order:
 * the slots numbered from each array's first (mpiwc_table_word()) hold its
 * words, one after another, and the rest are empty. Afterwards the table is
 * no hash table, as after a sort, until a clear. The shuffle reads a table
 * that it is about to empty this way: its sweeps and reads then cover the
 * words alone, not the sparse slots (see the commit that added this).
 */
void mpiwc_table_compact(struct mpiwc_table *t);

/* Local. The words of a sorted table, in the order it was sorted in (a merge of its arrays). */
struct mpiwc_table_cursor {
    const struct mpiwc_table *t;
    enum mpiwc_sort order;
    size_t next[3]; /* per array: small, short, long */
    /* Each array's next word, if has[a], and its prefix (mpiwc_format_prefix),
     * which decides most comparisons. */
    bool started, has[3];
    struct mpiwc_word head[3];
    uint64_t prefix[3];
};
void mpiwc_table_cursor_init(struct mpiwc_table_cursor *c, const struct mpiwc_table *t,
                             enum mpiwc_sort order);
/* Local. The next word (key borrowed from the table), or false after the last. */
bool mpiwc_table_cursor_next(struct mpiwc_table_cursor *c, struct mpiwc_word *w);

/*
 * Local. Bytes a table started empty would hold for the words this one has
 * (its slot arrays and the arena's capacity): what a fresh table holds, and
 * a cleared one that kept its larger arrays once it has as many words again.
 */
size_t mpiwc_table_memory_used(const struct mpiwc_table *t);

/*
 * Local. Bytes t holds as allocated (its slot arrays and the arena's
 * capacity), at the peak of adding up to more words: the small and short
 * arrays double in place, the long one beside its old self.
 */
size_t mpiwc_table_memory_peak(const struct mpiwc_table *t, size_t more);

/*
 * Local. mpiwc_table_memory_used() plus what each slot array past 7/8 of the
 * words that make it double would add when it does: the memory the table is
 * about to hold. A limit checked against it is met before an array doubles
 * past it, not after: the short array steps from 160 to 320 MiB, across
 * the default 256 MiB --memory-limit (hc256 at np 2, when its slots had 24
 * bytes: 778 MiB a rank at peak, the local table's 400 MiB beside the owned
 * one).
 */
size_t mpiwc_table_memory_soon(const struct mpiwc_table *t);

#endif

/*
 * table: the word -> count hash table used for the local combine and for the
 * owned words after the shuffle.
 *
 *     struct mpiwc_table t;
 *     mpiwc_table_init(&t, 0);
 *     mpiwc_table_add(&t, "word", 4, 1);        // copies the key on first insert
 *     uint64_t n = mpiwc_table_get(&t, "word", 4);
 *     for (size_t i = 0; i < mpiwc_table_slots(&t); i++) { ... mpiwc_table_at(&t, i) ... }
 *     mpiwc_table_free(&t);
 *
 * Open addressing with linear probing over a power-of-two slot array. Every
 * entry keeps the word's 64-bit hash, so growth (doubling at 75% load) never
 * rehashes key bytes. Keys of up to 15 bytes (most words of natural text)
 * sit inside the slot with their length, so a probe is one comparison of two
 * words and needs no pointer chase; longer keys live in one arena owned by
 * the table, addressed by offset, so growth of the arena does not invalidate
 * entries, and their probes compare hashes before bytes. A slot is 32
 * bytes, two to a cache line, so a probe touches one line: the count shares
 * its 64 bits with the key's length (counts up to 2^56 - 1, far beyond what a
 * rank can read). An empty slot is all zero.
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

#include <stddef.h>
#include <stdint.h>

/* Keys up to this many bytes are stored inside the slot, zero padded, with
 * the length in the slot's last key byte. */
#define MPIWC_INLINE_KEY 15

/* The largest count a slot holds. */
#define MPIWC_COUNT_MAX ((UINT64_C(1) << 56) - 1)
/* The length tag of a key in the arena. */
#define MPIWC_TAG_LONG 0xffu

struct mpiwc_entry {
    uint64_t hash;
    uint64_t tagged; /* count | tag << 56: tag = key length if inline, else MPIWC_TAG_LONG */
    union {
        uint8_t bytes[16]; /* tag <= MPIWC_INLINE_KEY: the key, zero padded; [15] = tag */
        struct {
            uint64_t off, len; /* tag MPIWC_TAG_LONG: the key's bytes in the arena */
        } arena;
    } key;
};

struct mpiwc_table {
    struct mpiwc_entry *slots; /* owned; mask + 1 of them */
    size_t mask;
    size_t size;    /* occupied slots = distinct words */
    size_t grow_at; /* size at which one more word grows the table (3/4 load) */
    uint8_t *arena; /* owned key bytes */
    size_t arena_len, arena_cap;
};

/* Local. The fixed 64-bit hash of a word's bytes (after case folding). */
uint64_t mpiwc_hash(const void *key, size_t len);

/* Local. Start loading the slot where a key with this hash is looked for first. */
static inline void mpiwc_table_prefetch(const struct mpiwc_table *t, uint64_t hash)
{
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

/* Local. An entry's count (0: an empty slot) and key length. */
static inline uint64_t mpiwc_entry_count(const struct mpiwc_entry *e)
{
    return e->tagged & MPIWC_COUNT_MAX;
}
static inline size_t mpiwc_entry_len(const struct mpiwc_entry *e)
{
    unsigned tag = (unsigned)(e->tagged >> 56);
    return tag == MPIWC_TAG_LONG ? (size_t)e->key.arena.len : tag;
}

/* Local. Iteration: slots() slots, at(i) is a slot; skip those with count 0. */
static inline size_t mpiwc_table_slots(const struct mpiwc_table *t)
{
    return t->slots ? t->mask + 1 : 0;
}
static inline const struct mpiwc_entry *mpiwc_table_at(const struct mpiwc_table *t, size_t i)
{
    return &t->slots[i];
}
/* Local. The key bytes of an entry; borrowed, valid until the next add, clear or free. */
static inline const uint8_t *mpiwc_table_key(const struct mpiwc_table *t,
                                             const struct mpiwc_entry *e)
{
    return (e->tagged >> 56) == MPIWC_TAG_LONG ? t->arena + e->key.arena.off : e->key.bytes;
}

/* Local. Bytes of memory the table holds (slots + arena capacity). */
size_t mpiwc_table_memory(const struct mpiwc_table *t);

#endif

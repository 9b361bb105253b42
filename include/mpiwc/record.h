/*
 * record: the packed (word, count) record that crosses the network in the
 * shuffle and the output gather, and fills checkpoint files.
 *
 *   varint key_len | varint count | key_len key bytes
 *
 * Each varint is unsigned LEB128: seven bits a byte, low bits first, the
 * high bit set on every byte but the last, and no byte more than the value
 * needs. A word of a natural or high-cardinality text (1 to 15 bytes, a count
 * under 128) takes 2 header bytes, not the 12 of two fixed fields: the
 * shuffle sends about half the bytes (see the commit that made them
 * varints). The decoder validates every record (canonical varints, key_len
 * of 1 to 2^32 - 1, count > 0, the key within the buffer) and reports a
 * malformed buffer instead of reading out of bounds. The same varints code
 * the rows of spill runs (spill.c).
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_RECORD_H
#define MPIWC_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* The most header bytes a record takes: a 32-bit length and a 64-bit count, as varints. */
#define MPIWC_RECORD_HEADER_MAX 15u

/* Local. The bytes of v as a varint (1 to 10). */
static inline size_t mpiwc_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Local. Write v as a varint at p; returns the byte after it. */
static inline uint8_t *mpiwc_varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/*
 * Local. The varint at p (before end) into *v; returns the byte after it, or
 * NULL when it runs past end, takes more bytes than its value needs, or
 * passes 64 bits.
 */
static inline const uint8_t *mpiwc_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    if (p < end && *p < 0x80) { /* one byte: most lengths and counts */
        *v = *p;
        return p + 1;
    }
    uint64_t x = 0;
    for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return NULL; /* past 64 bits */
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return b == 0 && shift > 0 ? NULL : (*v = x, p); /* a last byte of 0: too long */
    }
    return NULL;
}

/* Local. Bytes one record of a key_len-byte word with this count takes. */
static inline size_t mpiwc_record_size(size_t key_len, uint64_t count)
{
    return mpiwc_varint_size(key_len) + mpiwc_varint_size(count) + key_len;
}

/* Local. Write one record at dst (room for mpiwc_record_size(len, count)); returns the byte after
 * it. */
uint8_t *mpiwc_record_put(uint8_t *dst, const void *key, uint32_t len, uint64_t count);

enum mpiwc_record_status { MPIWC_RECORD_END = 0, MPIWC_RECORD_OK = 1, MPIWC_RECORD_BAD = -1 };

/*
 * Local. Decode the record at *pos (pos < end): on OK, *key borrows the bytes
 * in the buffer and *pos moves past the record. END when *pos == end; BAD
 * when the bytes left cannot be a valid record.
 */
enum mpiwc_record_status mpiwc_record_next(const uint8_t **pos, const uint8_t *end,
                                           const uint8_t **key, uint32_t *len, uint64_t *count);

#endif

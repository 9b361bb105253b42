/*
 * record: the packed (word, count) record that crosses the network in the
 * shuffle and the output gather.
 *
 *   u32 key_len | u64 count | key_len key bytes        (host byte order)
 *
 * All MPI ranks of a job run the same binary on the same kind of machine, so
 * host byte order is used. Fields are read and written with memcpy, never by
 * casting a pointer into the buffer. The decoder validates every record
 * (length within the buffer, key_len > 0, count > 0) and reports a malformed
 * buffer instead of reading out of bounds.
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_RECORD_H
#define MPIWC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define MPIWC_RECORD_HEADER 12u

/* Local. Bytes one record of a key_len-byte word takes. */
static inline size_t mpiwc_record_size(size_t key_len)
{
    return MPIWC_RECORD_HEADER + key_len;
}

/* Local. Write one record at dst (room for mpiwc_record_size(len)); returns the byte after it. */
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

/*
 * fuzz_record: mpiwc_record_next() on arbitrary bytes.
 *
 * The input is copied into a heap block of exactly its size, so any read
 * past the end is an AddressSanitizer report. The decoder must walk the
 * buffer record by record and stop with END exactly at the end or BAD; every
 * OK record must lie inside the buffer, have key_len > 0 and count > 0, and
 * the records decoded so far must re-encode (mpiwc_record_put) to exactly the
 * bytes they came from.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_record: check failed: %s (line %d)\n", #cond, __LINE__);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    uint8_t *again = malloc(size ? size : 1);
    CHECK(buf && again);
    memcpy(buf, data, size);
    const uint8_t *pos = buf, *end = buf + size, *key;
    uint8_t *w = again;
    uint32_t len;
    uint64_t count;
    enum mpiwc_record_status st;
    while ((st = mpiwc_record_next(&pos, end, &key, &len, &count)) == MPIWC_RECORD_OK) {
        CHECK(len > 0 && count > 0);
        CHECK(key >= buf + 2 && key <= end && (size_t)(end - key) >= len);
        CHECK(pos == key + len);
        w = mpiwc_record_put(w, key, len, count);
        CHECK(w - again == pos - buf);
    }
    CHECK(st == MPIWC_RECORD_END || st == MPIWC_RECORD_BAD);
    CHECK(pos >= buf && pos <= end);
    CHECK((st == MPIWC_RECORD_END) == (pos == end));
    CHECK(memcmp(again, buf, (size_t)(pos - buf)) == 0);
    free(again);
    free(buf);
    return 0;
}

#include "mpiwc/record.h"

#include <string.h>

uint8_t *mpiwc_record_put(uint8_t *dst, const void *key, uint32_t len, uint64_t count)
{
    memcpy(dst, &len, sizeof len);
    memcpy(dst + 4, &count, sizeof count);
    memcpy(dst + MPIWC_RECORD_HEADER, key, len);
    return dst + MPIWC_RECORD_HEADER + len;
}

enum mpiwc_record_status mpiwc_record_next(const uint8_t **pos, const uint8_t *end,
                                           const uint8_t **key, uint32_t *len, uint64_t *count)
{
    const uint8_t *p = *pos;
    if (p == end)
        return MPIWC_RECORD_END;
    if (p > end || (size_t)(end - p) < MPIWC_RECORD_HEADER)
        return MPIWC_RECORD_BAD;
    uint32_t n;
    uint64_t c;
    memcpy(&n, p, sizeof n);
    memcpy(&c, p + 4, sizeof c);
    if (n == 0 || c == 0 || (size_t)(end - p) - MPIWC_RECORD_HEADER < n)
        return MPIWC_RECORD_BAD;
    *key = p + MPIWC_RECORD_HEADER;
    *len = n;
    *count = c;
    *pos = p + MPIWC_RECORD_HEADER + n;
    return MPIWC_RECORD_OK;
}

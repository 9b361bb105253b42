#include "mpiwc/record.h"

#include <string.h>

uint8_t *mpiwc_record_put(uint8_t *dst, const void *key, uint32_t len, uint64_t count)
{
    dst = mpiwc_varint_put(dst, len);
    dst = mpiwc_varint_put(dst, count);
    memcpy(dst, key, len);
    return dst + len;
}

enum mpiwc_record_status mpiwc_record_next(const uint8_t **pos, const uint8_t *end,
                                           const uint8_t **key, uint32_t *len, uint64_t *count)
{
    const uint8_t *p = *pos;
    if (p == end)
        return MPIWC_RECORD_END;
    if (p > end)
        return MPIWC_RECORD_BAD;
    uint64_t n, c;
    if (!(p = mpiwc_varint_get(p, end, &n)) || !(p = mpiwc_varint_get(p, end, &c)))
        return MPIWC_RECORD_BAD;
    if (n == 0 || n > UINT32_MAX || c == 0 || (size_t)(end - p) < n)
        return MPIWC_RECORD_BAD;
    *key = p;
    *len = (uint32_t)n;
    *count = c;
    *pos = p + n;
    return MPIWC_RECORD_OK;
}

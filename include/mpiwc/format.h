/*
 * format: the order and the bytes of the result table.
 *
 * Orders:
 *   MPIWC_SORT_COUNT  count descending, then word bytes ascending
 *   MPIWC_SORT_WORD   word bytes ascending
 * "Bytes ascending" is memcmp order, a proper prefix first. Both are total
 * orders over distinct words, so the output never depends on rank count.
 *
 * Formats:
 *   MPIWC_FORMAT_TSV   word<TAB>count<LF>, word bytes as they are
 *   MPIWC_FORMAT_CSV   RFC 4180: header "word,count", CRLF line ends, a word
 *                      containing , " CR or LF is quoted with "" doubled
 *   MPIWC_FORMAT_JSON  "[" then one {"word":"...","count":N} a line, joined
 *                      by ",\n", then "\n]\n" (empty: "[\n]\n"). In words,
 *                      " and \ are backslash-escaped, \n \r \t use short
 *                      escapes, other bytes < 0x20 and 0x7f become \u00xx;
 *                      valid UTF-8 passes through; each byte of invalid
 *                      UTF-8 becomes \udcxx (xx = the byte, 80..ff), the
 *                      "surrogateescape" convention, so the bytes can be
 *                      recovered exactly (Python: json.loads, then
 *                      .encode('utf-8', 'surrogateescape'))
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_FORMAT_H
#define MPIWC_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum mpiwc_sort { MPIWC_SORT_COUNT, MPIWC_SORT_WORD };
enum mpiwc_format { MPIWC_FORMAT_TSV, MPIWC_FORMAT_CSV, MPIWC_FORMAT_JSON };

/* A borrowed view of one result row. */
struct mpiwc_word {
    const uint8_t *key;
    uint32_t len;
    uint64_t count;
};

/* Local. Sort words in the given order. */
void mpiwc_format_sort(struct mpiwc_word *words, size_t n, enum mpiwc_sort order);

/* Local. Negative, zero or positive as a sorts before, with or after b. */
int mpiwc_format_compare(const struct mpiwc_word *a, const struct mpiwc_word *b,
                         enum mpiwc_sort order);

/* Local. The first 8 bytes of w's key, zero padded, as a big-endian number: ordered as
 * memcmp orders those bytes. */
static inline uint64_t mpiwc_format_prefix(const struct mpiwc_word *w)
{
    uint64_t v = 0;
    memcpy(&v, w->key, w->len < 8 ? w->len : 8);
    return __builtin_bswap64(v); /* a little-endian load: byte 0 becomes the top byte */
}

/*
 * Local. mpiwc_format_compare() of a and b, given their prefixes
 * (mpiwc_format_prefix): the count and the prefixes decide most comparisons,
 * with no call of memcmp (merging 15 runs of 9.4M distinct words spent 10%
 * of its time there).
 */
static inline int mpiwc_format_compare_prefixed(const struct mpiwc_word *a, uint64_t a_prefix,
                                                const struct mpiwc_word *b, uint64_t b_prefix,
                                                enum mpiwc_sort order)
{
    if (order == MPIWC_SORT_COUNT && a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a_prefix != b_prefix)
        return a_prefix < b_prefix ? -1 : 1;
    if (a->len <= 16 && b->len <= 16) {
        /* Bytes 8 to 15 the same way, from a load that ends with the word: words next to
         * each other in order share their first 8 bytes more often than not (the heads of
         * the runs a merge reads; memcmp was 9% of merging 24 of them). */
        uint64_t x = 0, y = 0;
        if (a->len > 8) {
            memcpy(&x, a->key + a->len - 8, 8);
            x = __builtin_bswap64(x) << (8 * (16 - a->len));
        }
        if (b->len > 8) {
            memcpy(&y, b->key + b->len - 8, 8);
            y = __builtin_bswap64(y) << (8 * (16 - b->len));
        }
        if (x != y)
            return x < y ? -1 : 1;
        return (a->len > b->len) - (a->len < b->len);
    }
    return mpiwc_format_compare(a, b, MPIWC_SORT_WORD);
}

/* Local. Write rows in format: begin, mpiwc_format_row() for rows 0, 1, ... in order, end. */
void mpiwc_format_begin(FILE *out, enum mpiwc_format format);
void mpiwc_format_row(FILE *out, const struct mpiwc_word *w, size_t index,
                      enum mpiwc_format format);
int mpiwc_format_end(FILE *out, enum mpiwc_format format);

/* Local. Write bytes as a JSON string literal with the escaping described above: the one
 * escaper of every JSON mpiwc writes (the table, --report, --dry-run). */
void mpiwc_format_json_string(FILE *out, const uint8_t *bytes, size_t len);

#endif

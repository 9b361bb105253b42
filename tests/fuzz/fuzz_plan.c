/*
 * fuzz_plan: the range planner and the packed plan.
 *
 * Byte 0, bit 7 picks the mode.
 *
 * Split mode (bit 7 clear):
 *   bytes 0-1   nranks = 1 + (bits 0-1 of byte 0 << 8 | byte 1): 1..1024
 *   byte 0      bit 2: add standard input at position byte 2 % (nfiles + 1);
 *               bits 3-5: scale, file sizes are shifted left by 4 * scale
 *   byte 2      where standard input goes
 *   then        3 bytes per file (at most 1024 files): its size, little endian
 * mpiwc_plan_split() must give every rank boundary(r + 1) - boundary(r)
 * bytes, cover every byte of every regular file exactly once and in order,
 * send standard input whole to rank 0, and produce no empty range; the packed
 * plan must unpack to an equal plan.
 *
 * Unpack mode (bit 7 set): the rest of the input goes to mpiwc_plan_unpack()
 * (from a heap block of exactly its size). It must either fail or give a
 * plan whose indexes are all in bounds, and that plan must survive another
 * pack and unpack unchanged.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_plan: check failed: %s (line %d)\n", #cond, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_FILES 1024

static void check_indexes(const struct mpiwc_plan *p)
{
    CHECK(p->nranks >= 1);
    CHECK(p->rank_first[0] == 0 && p->rank_first[p->nranks] == p->nranges);
    for (int r = 0; r < p->nranks; r++)
        CHECK(p->rank_first[r] <= p->rank_first[r + 1]);
    for (size_t i = 0; i < p->nranges; i++) {
        CHECK(p->ranges[i].file < p->nfiles);
        CHECK(p->ranges[i].start <= p->ranges[i].end);
    }
    for (size_t i = 0; i < p->nfiles; i++)
        CHECK(p->files[i].path != NULL);
}

static void check_equal(const struct mpiwc_plan *a, const struct mpiwc_plan *b)
{
    CHECK(a->nranks == b->nranks && a->nfiles == b->nfiles && a->nranges == b->nranges);
    CHECK(a->total_bytes == b->total_bytes);
    for (size_t i = 0; i < a->nfiles; i++) {
        CHECK(strcmp(a->files[i].path, b->files[i].path) == 0);
        CHECK(a->files[i].size == b->files[i].size);
    }
    for (int r = 0; r <= a->nranks; r++)
        CHECK(a->rank_first[r] == b->rank_first[r]);
    for (size_t i = 0; i < a->nranges; i++)
        CHECK(a->ranges[i].file == b->ranges[i].file && a->ranges[i].start == b->ranges[i].start &&
              a->ranges[i].end == b->ranges[i].end);
}

/* pack, unpack, compare; frees nothing of p. */
static void check_roundtrip(const struct mpiwc_plan *p)
{
    uint8_t *buf = NULL;
    size_t len = mpiwc_plan_pack(p, &buf);
    struct mpiwc_plan q;
    CHECK(mpiwc_plan_unpack(&q, buf, len) == 0);
    check_equal(p, &q);
    /* Every proper prefix of a valid buffer is malformed. */
    struct mpiwc_plan cut;
    CHECK(len == 0 || mpiwc_plan_unpack(&cut, buf, len - 1) != 0);
    mpiwc_plan_free(&q);
    free(buf);
}

static void split_mode(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    int nranks = 1 + ((data[0] & 3) << 8 | data[1]);
    bool with_stdin = data[0] & 4;
    unsigned shift = 4u * ((data[0] >> 3) & 7);
    size_t nfiles = (size - 3) / 3;
    if (nfiles > MAX_FILES)
        nfiles = MAX_FILES;
    size_t stdin_at = with_stdin ? data[2] % (nfiles + 1) : SIZE_MAX;

    struct mpiwc_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.files = calloc(nfiles + 1, sizeof *plan.files);
    CHECK(plan.files);
    uint64_t total = 0;
    const uint8_t *p = data + 3;
    for (size_t i = 0; i < nfiles + (with_stdin ? 1 : 0); i++) {
        char name[32];
        if (i == stdin_at) {
            plan.files[plan.nfiles].path = strdup("-");
            plan.files[plan.nfiles].size = MPIWC_PLAN_STREAM;
        } else {
            uint64_t s = ((uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16) << shift;
            p += 3;
            snprintf(name, sizeof name, "f%zu", i);
            plan.files[plan.nfiles].path = strdup(name);
            plan.files[plan.nfiles].size = s;
            total += s;
        }
        CHECK(plan.files[plan.nfiles].path);
        plan.nfiles++;
    }

    mpiwc_plan_split(&plan, nranks);
    check_indexes(&plan);
    CHECK(plan.nranks == nranks);
    CHECK(plan.total_bytes == total);
    CHECK(plan.nranges <= plan.nfiles + (size_t)nranks);

    /* Walk the ranges in order with a cursor over the concatenated regular files. */
    size_t f = 0;
    uint64_t off = 0, min_bytes = UINT64_MAX, max_bytes = 0;
    bool saw_stdin = false;
    for (int r = 0; r < nranks; r++) {
        uint64_t bytes = 0;
        for (size_t i = plan.rank_first[r]; i < plan.rank_first[r + 1]; i++) {
            const struct mpiwc_plan_range *rg = &plan.ranges[i];
            if (plan.files[rg->file].size == MPIWC_PLAN_STREAM) {
                CHECK(with_stdin && !saw_stdin && r == 0 && i == 0);
                CHECK(rg->file == stdin_at && rg->start == 0 && rg->end == MPIWC_PLAN_STREAM);
                saw_stdin = true;
                continue;
            }
            while (f < plan.nfiles &&
                   (plan.files[f].size == MPIWC_PLAN_STREAM || off == plan.files[f].size)) {
                f++;
                off = 0;
            }
            CHECK(f < plan.nfiles);
            CHECK(rg->file == f && rg->start == off);
            CHECK(rg->end > rg->start && rg->end <= plan.files[f].size);
            bytes += rg->end - rg->start;
            off = rg->end;
        }
        CHECK(bytes ==
              mpiwc_plan_boundary(total, nranks, r + 1) - mpiwc_plan_boundary(total, nranks, r));
        if (bytes < min_bytes)
            min_bytes = bytes;
        if (bytes > max_bytes)
            max_bytes = bytes;
    }
    CHECK(saw_stdin == with_stdin);
    CHECK(max_bytes - min_bytes <= 1);
    /* Nothing left uncovered. */
    while (f < plan.nfiles &&
           (plan.files[f].size == MPIWC_PLAN_STREAM || off == plan.files[f].size)) {
        f++;
        off = 0;
    }
    CHECK(f == plan.nfiles);
    CHECK(mpiwc_plan_boundary(total, nranks, 0) == 0);
    CHECK(mpiwc_plan_boundary(total, nranks, nranks) == total);

    check_roundtrip(&plan);
    mpiwc_plan_free(&plan);
}

static void unpack_mode(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    CHECK(buf);
    memcpy(buf, data, size);
    struct mpiwc_plan plan;
    if (mpiwc_plan_unpack(&plan, buf, size) == 0) {
        check_indexes(&plan);
        check_roundtrip(&plan);
        mpiwc_plan_free(&plan);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 0x80)
        unpack_mode(data + 1, size - 1);
    else
        split_mode(data, size);
    return 0;
}

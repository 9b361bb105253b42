/*
 * tokenize_bench: tokenizer throughput per word rule, in memory, one core.
 *
 * usage: tokenize_bench FILE REPEAT RULE...   (RULE: alnum space unicode uax29 hadoop,
 *                                             each with an optional /N: --ngram=N)
 *
 * Reads FILE into memory, then REPEAT times, for each rule in turn
 * (interleaved, so machine noise hits every rule alike): a fresh table,
 * the file fed in 4 MiB chunks (TOKENIZE_BENCH_CHUNK=BYTES: others; mpiwc
 * reads 128 KiB at a time by default), end. Time is this process's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID), so other load on the machine adds less noise
 * than wall time would. Prints "rule best_s median_s best_MBps" lines.
 * Built and run by bench/unicode.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpiwc/table.h"
#include "mpiwc/tokenize.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: tokenize_bench FILE REPEAT RULE...\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        perror(argv[1]);
        return 1;
    }
    fclose(f);
    int repeat = atoi(argv[2]), nrules = argc - 3;
    const char *chunk_env = getenv("TOKENIZE_BENCH_CHUNK");
    long chunk = chunk_env ? atol(chunk_env) : 0;
    if (chunk <= 0)
        chunk = 4 << 20;
    static const char *const names[] = {"alnum", "space", "unicode", "uax29", "hadoop"};
    double *t = calloc((size_t)(repeat * nrules), sizeof *t);
    for (int r = 0; r < repeat; r++) {
        for (int k = 0; k < nrules; k++) {
            struct mpiwc_word_rules rules = {.casing = MPIWC_CASE_FOLD};
            const char *slash = strchr(argv[3 + k], '/');
            size_t name_len = slash ? (size_t)(slash - argv[3 + k]) : strlen(argv[3 + k]);
            for (int s = 0; s < 5; s++)
                if (strlen(names[s]) == name_len && strncmp(argv[3 + k], names[s], name_len) == 0)
                    rules.split = (enum mpiwc_split)s;
            if (slash)
                rules.ngram_min = rules.ngram_max = (unsigned)atoi(slash + 1);
            if (rules.split == MPIWC_SPLIT_HADOOP)
                rules.casing = MPIWC_CASE_KEEP;
            struct mpiwc_table table;
            struct mpiwc_tokenizer tok;
            mpiwc_table_init(&table, 0);
            mpiwc_tokenizer_init_rules(&tok, &rules, &table);
            double t0 = cpu_now();
            for (long off = 0; off < size; off += chunk) {
                long n = size - off < chunk ? size - off : chunk;
                mpiwc_tokenizer_feed(&tok, buf + off, (size_t)n);
            }
            mpiwc_tokenizer_end(&tok);
            t[k * repeat + r] = cpu_now() - t0;
            mpiwc_tokenizer_free(&tok);
            mpiwc_table_free(&table);
        }
    }
    for (int k = 0; k < nrules; k++) {
        double *v = t + k * repeat;
        qsort(v, (size_t)repeat, sizeof *v, cmp_double);
        printf("%s %.4f %.4f %.1f\n", argv[3 + k], v[0], v[repeat / 2], (double)size / v[0] / 1e6);
    }
    free(t);
    free(buf);
    return 0;
}

#include "mpiwc/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mpiwc/util.h"
#include "mpiwc_config.h"

void mpiwc_cli_usage(FILE *out)
{
    fputs("Usage: mpirun -np N mpiwc [OPTION]... PATH...\n"
          "Count word frequencies over files with any number of MPI ranks.\n"
          "PATH is a file, a directory (read recursively, names in byte order) or - for\n"
          "standard input (read by rank 0). Compressed files (gzip, bzip2, xz, zstd,\n"
          "known by their first bytes) are decoded, each by one rank. A file reached\n"
          "more than once (named twice, by name and in its directory, through a link) is\n"
          "counted once. The output is the same for any rank count.\n"
          "\n"
          "  -o, --output=FILE         write the table to FILE (temporary name, then rename;\n"
          "                            never a half file; mode kept; a device or FIFO is\n"
          "                            written in place); - or default: standard output\n"
          "      --output-dir=DIR      each rank writes its own words, sorted, to\n"
          "                            DIR/part-NNNNN (NNNNN = rank; each a whole csv or\n"
          "                            json document), then _SUCCESS is written last; no\n"
          "                            gather through rank 0 (not with -o or --top)\n"
          "      --sort=count|word     count: count descending, then word bytes ascending\n"
          "                            (default); word: word bytes ascending\n"
          "  -n, --top=N               only the first N lines of that order (0: all)\n"
          "      --split=unicode|uax29|alnum|space\n"
          "                            unicode (default): a word is a maximal run of\n"
          "                            Unicode letters, marks and digits (categories L, M,\n"
          "                            N) of UTF-8 text, ill-formed bytes separate; uax29:\n"
          "                            Unicode word segmentation (UAX #29) with dictionaries\n"
          "                            for Chinese, Japanese, Thai, Lao, Khmer, Burmese;\n"
          "                            alnum: a maximal run of ASCII letters, digits and\n"
          "                            bytes >= 0x80; space: a maximal run of bytes other\n"
          "                            than space \\t \\n \\v \\f \\r\n"
          "      --case=fold|keep      fold (default): full Unicode case folding (alnum,\n"
          "                            space: ASCII A-Z only); keep: as-is\n"
          "      --normalize=nfc|nfkc|none  Unicode normalization of words for unicode and\n"
          "                            uax29 (default nfc)\n"
          "      --min-length=N        drop words shorter than N characters\n"
          "      --stopwords=FILE      drop the words of FILE (one per line, UTF-8; folded\n"
          "                            and normalized like the text; a leading byte order\n"
          "                            mark is dropped; read once by rank 0; - : standard\n"
          "                            input)\n"
          "      --ignore-numbers      drop words made only of decimal digits\n"
          "      --ngram=N|M:N         count sequences of N consecutive words (M:N: of\n"
          "                            each length M to N, at most 8), joined by one\n"
          "                            space, formed after the filters above, never across\n"
          "                            two files (default 1: single words)\n"
          "      --compat=hadoop       Hadoop WordCount's output: split at space \\t \\n \\r \\f\n"
          "                            only, case kept, sorted by word bytes, word<TAB>count;\n"
          "                            ill-formed UTF-8 becomes U+FFFD; a byte order mark\n"
          "                            starting an input is dropped; in directories,\n"
          "                            entries named _* or .* are not read\n",
          out);
    fputs("      --files-from=FILE     also read the paths listed in FILE, one per line\n"
          "                            (- : standard input); empty lines are skipped\n"
          "  -0, --null                the --files-from list is NUL-separated\n"
          "      --include=GLOB        in directories, read only files whose name or path\n"
          "                            below the directory matches GLOB (fnmatch; repeatable)\n"
          "      --exclude=GLOB        in directories, skip files and directories whose\n"
          "                            name or relative path matches GLOB (repeatable)\n",
          out);
    /* Two literals: ISO C guarantees string literals of 4095 bytes only. */
    fputs("      --format=tsv|csv|json tsv (default): word<TAB>count; csv: RFC 4180 with a\n"
          "                            header; json: an array of {\"word\",\"count\"}\n"
          "      --stats               per-phase and per-step times on standard error\n"
          "      --report=FILE         the same summary as JSON, with version, argv, ranks\n"
          "                            and host names (written as -o is; - : standard\n"
          "                            output, when the table goes elsewhere)\n"
          "      --dry-run             print the plan (each rank's files and byte ranges,\n"
          "                            bytes per rank, imbalance) and exit without reading;\n"
          "                            JSON with --format=json\n"
          "      --progress=auto|always|never  one updating status line on standard\n"
          "                            error (phase, bytes, MB/s, ETA); auto (default): when\n"
          "                            it is a terminal; always: plain lines elsewhere\n"
          "  -v, --verbose             also report the plan and each phase on standard error\n"
          "  -q, --quiet               only errors on standard error (no progress)\n"
          "      --buffer-size=BYTES   read buffer per rank (default 128K)\n"
          "      --shuffle-buffer=BYTES  bytes a rank sends per shuffle or gather round\n"
          "                            (default 64M); BYTES take K, M or G (powers of\n"
          "                            1024), at least 64, at most 1G\n"
          "      --shuffle=auto|flat|node  how words reach their owners: flat, one\n"
          "                            exchange among all ranks; node, combined within\n"
          "                            each host first, so a word leaves a host once a\n"
          "                            round; auto (default): node when there are several\n"
          "                            hosts and one has several ranks\n"
          "      --ranks-per-host=K    treat each K consecutive ranks as one host (for\n"
          "                            tests and models of big clusters on one machine)\n"
          "      --memory-limit=BYTES|auto  each rank's budget for its word tables: a\n"
          "                            local table sends its words to their owners early\n"
          "                            (at 256M or a quarter of BYTES), and owned words past\n"
          "                            the rest spill to --spill-dir as sorted runs, merged\n"
          "                            at the end (default auto: half the host's memory or\n"
          "                            cgroup limit, shared by its ranks; 0: no limit)\n"
          "      --spill-dir=DIR       where each rank makes its private spill directory\n"
          "                            (default $TMPDIR, else /tmp)\n"
          "      --checkpoint-dir=DIR  every --checkpoint-interval, and on SIGUSR1 or SIGTERM,\n"
          "                            save the progress and counts to DIR (seen by all\n"
          "                            ranks); the same command resumes from the newest\n"
          "                            complete checkpoint whose inputs and word options\n"
          "                            match, at any rank count (not with standard input)\n"
          "      --checkpoint-interval=SECONDS  between checkpoints (default 300; 0: as\n"
          "                            often as possible)\n"
          "      --keep-checkpoints    keep DIR's checkpoints after a successful run\n"
          "  -h, --help                show this help and exit\n"
          "  -V, --version             show the version and exit\n"
          "\n"
          "Exit status: 0 success, 1 runtime error (bad path, read or write failure),\n"
          "2 usage error, 3 stopped by SIGUSR1 or SIGTERM after writing a checkpoint\n"
          "(run the same command again to resume); other values come from MPI or signals.\n"
          "\n"
          "Environment: when mpirun starts every rank on one host, or mpiwc runs\n"
          "without a launcher, it sets OMPI_MCA_pml=ob1 (shared memory) before\n"
          "MPI_Init, unless OMPI_MCA_pml or OMPI_MCA_mtl is set or\n"
          "MPIWC_MPI_DEFAULTS=1.\n"
          "MPIWC_SIMD=scalar|avx2|avx512 caps the vector instructions used to find words\n"
          "(any other value: a warning, and no cap).\n"
          "\n"
          "Examples:\n"
          "  mpirun -np 4 mpiwc --top 20 corpus/\n"
          "  mpirun --hostfile hostfiles/localhost mpiwc -o counts.tsv big.txt\n"
          "  sbatch --nodes=2 slurm/mpiwc.sbatch /shared/corpus\n",
          out);
}

int mpiwc_cli_parse_size(const char *text, uint64_t *bytes)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    default:
        return -1;
    }
    if (*end != '\0' && end[1] != '\0')
        return -1;
    if (v > (UINT64_MAX >> shift))
        return -1;
    *bytes = (uint64_t)v << shift;
    return 0;
}

static int usage_error(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(FILE *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        fputs("mpiwc: ", err);
        va_start(ap, fmt);
        vfprintf(err, fmt, ap);
        va_end(ap);
        fputs("\nTry 'mpiwc --help' for more information.\n", err);
    }
    return MPIWC_CLI_USAGE;
}

#define SHORT_OPTIONS ":o:n:hVvq0"

/*
 * Report getopt_long's ':' (missing value) or '?' (unknown option). Inside a
 * cluster of short options (-xq) glibc has not yet moved optind past the
 * cluster, so argv[optind - 1] is some earlier argument: name a short option
 * by optopt instead. A long option always moves optind past itself. optopt
 * tells them apart for '?': 0 for an unknown long option, a long option's
 * own value when it got a value it does not take, and for an unknown short
 * option the letter, which is not among SHORT_OPTIONS.
 */
static int option_error(FILE *err, int c, int argc, char **argv)
{
    const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    bool is_short;
    if (c == ':')
        is_short = strncmp(word, "--", 2) != 0;
    else
        is_short = optopt != 0 && optopt < 256 &&
                   (optopt < 0 || optopt == ':' || !strchr(&SHORT_OPTIONS[1], optopt));
    if (!is_short) {
        if (c == ':')
            return usage_error(err, "option '%s' needs a value", word);
        return usage_error(err, "unknown option '%s'", word);
    }
    char name[3] = {'-', (char)optopt, 0};
    char *shown = mpiwc_escape(name);
    int rc = c == ':' ? usage_error(err, "option '%s' needs a value", shown)
                      : usage_error(err, "unknown option '%s'", shown);
    free(shown);
    return rc;
}

/* Match arg against a '|' separated list of names; index or -1. */
static int choose(const char *arg, const char *names)
{
    int i = 0;
    size_t n = strlen(arg);
    for (const char *p = names; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, arg, n) == 0)
            return i;
        p += len + (bar ? 1 : 0);
    }
    return -1;
}

enum {
    OPT_OUTPUT_DIR = 256,
    OPT_SORT,
    OPT_SPLIT,
    OPT_CASE,
    OPT_FORMAT,
    OPT_STATS,
    OPT_REPORT,
    OPT_BUFFER,
    OPT_SHUFFLE,
    OPT_MEMORY,
    OPT_DRY_RUN,
    OPT_PROGRESS,
    OPT_NORMALIZE,
    OPT_MIN_LENGTH,
    OPT_STOPWORDS,
    OPT_IGNORE_NUMBERS,
    OPT_COMPAT,
    OPT_NGRAM,
    OPT_SHUFFLE_MODE,
    OPT_RANKS_PER_HOST
};

/* A decimal count from min to max (digits only: no sign, no spaces); 0 or -1. */
static int parse_count(const char *text, unsigned long long min, unsigned long long max,
                       unsigned long long *n)
{
    char *end;
    errno = 0;
    *n = strtoull(text, &end, 10);
    return *text >= '0' && *text <= '9' && !*end && !errno && *n >= min && *n <= max ? 0 : -1;
}

/* --ngram=N or --ngram=M:N, 1 <= M <= N <= MPIWC_NGRAM_MAX. */
static int parse_ngram(const char *arg, unsigned *min, unsigned *max)
{
    unsigned v[2];
    int n = 0;
    const char *p = arg;
    for (;;) {
        if (*p < '1' || *p > '9' || (p[1] >= '0' && p[1] <= '9'))
            return -1;
        v[n++] = (unsigned)(*p++ - '0');
        if (*p == '\0')
            break;
        if (*p != ':' || n == 2)
            return -1;
        p++;
    }
    *min = v[0];
    *max = v[n - 1];
    return *min <= *max && *max <= MPIWC_NGRAM_MAX ? 0 : -1;
}

/* The word options after the loop: their combinations. */
static enum mpiwc_cli_result check_words(struct mpiwc_options *opts, unsigned given, FILE *err)
{
    static const char *const fixed[] = {"split", "case", "normalize", "sort", "format"};
    if (opts->compat_hadoop) {
        for (unsigned i = 0; i < 5; i++)
            if (given & (1u << i))
                return usage_error(err, "option '--%s' cannot be used with '--compat=hadoop'",
                                   fixed[i]);
        if (opts->ngram_max > 1)
            return usage_error(err, "option '--ngram' cannot be used with '--compat=hadoop': "
                                    "Hadoop's WordCount counts single words");
        opts->split = MPIWC_SPLIT_HADOOP;
        opts->casing = MPIWC_CASE_KEEP;
        opts->normalize = MPIWC_NORMALIZE_NONE;
        opts->sort = MPIWC_SORT_WORD;
        opts->format = MPIWC_FORMAT_TSV;
    }
    if ((given & 4u) && opts->split != MPIWC_SPLIT_UNICODE && opts->split != MPIWC_SPLIT_UAX29)
        return usage_error(err, "option '--normalize' needs '--split=unicode' or '--split=uax29'");
    return MPIWC_CLI_RUN;
}

/* Input options (kept apart from the list above, which other options extend). */
enum { OPT_FILES_FROM = 512, OPT_INCLUDE, OPT_EXCLUDE };

/* Checkpoint options. */
enum { OPT_CHECKPOINT_DIR = 768, OPT_CHECKPOINT_INTERVAL, OPT_KEEP_CHECKPOINTS };

/* Memory options. */
enum { OPT_SPILL_DIR = 1024 };

enum mpiwc_cli_result mpiwc_cli_parse(int argc, char **argv, struct mpiwc_options *opts, FILE *out,
                                      FILE *err)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"output-dir", required_argument, NULL, OPT_OUTPUT_DIR},
        {"sort", required_argument, NULL, OPT_SORT},
        {"top", required_argument, NULL, 'n'},
        {"split", required_argument, NULL, OPT_SPLIT},
        {"case", required_argument, NULL, OPT_CASE},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"stats", no_argument, NULL, OPT_STATS},
        {"report", required_argument, NULL, OPT_REPORT},
        {"buffer-size", required_argument, NULL, OPT_BUFFER},
        {"shuffle-buffer", required_argument, NULL, OPT_SHUFFLE},
        {"memory-limit", required_argument, NULL, OPT_MEMORY},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"progress", required_argument, NULL, OPT_PROGRESS},
        {"normalize", required_argument, NULL, OPT_NORMALIZE},
        {"min-length", required_argument, NULL, OPT_MIN_LENGTH},
        {"stopwords", required_argument, NULL, OPT_STOPWORDS},
        {"ignore-numbers", no_argument, NULL, OPT_IGNORE_NUMBERS},
        {"compat", required_argument, NULL, OPT_COMPAT},
        {"ngram", required_argument, NULL, OPT_NGRAM},
        {"shuffle", required_argument, NULL, OPT_SHUFFLE_MODE},
        {"ranks-per-host", required_argument, NULL, OPT_RANKS_PER_HOST},
        {"files-from", required_argument, NULL, OPT_FILES_FROM},
        {"null", no_argument, NULL, '0'},
        {"include", required_argument, NULL, OPT_INCLUDE},
        {"exclude", required_argument, NULL, OPT_EXCLUDE},
        {"checkpoint-dir", required_argument, NULL, OPT_CHECKPOINT_DIR},
        {"spill-dir", required_argument, NULL, OPT_SPILL_DIR},
        {"checkpoint-interval", required_argument, NULL, OPT_CHECKPOINT_INTERVAL},
        {"keep-checkpoints", no_argument, NULL, OPT_KEEP_CHECKPOINTS},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    *opts = (struct mpiwc_options){
        .sort = MPIWC_SORT_COUNT,
        .split = MPIWC_SPLIT_UNICODE,
        .casing = MPIWC_CASE_FOLD,
        .format = MPIWC_FORMAT_TSV,
        .buffer_size = MPIWC_DEFAULT_BUFFER_SIZE,
        .shuffle_buffer = MPIWC_DEFAULT_SHUFFLE_BUFFER,
        .memory_limit = MPIWC_MEMORY_AUTO,
        .ngram_min = 1,
        .ngram_max = 1,
        .checkpoint_interval = MPIWC_DEFAULT_CHECKPOINT_INTERVAL,
        .argc = argc,
        .argv = argv,
    };
    opterr = 0; /* errors are reported here, by rank 0 only */
    optind = 0; /* glibc: 0 also resets its internal state, so parsing twice works */
    int c, idx;
    unsigned given = 0; /* bits: --split, --case, --normalize, --sort, --format */
    while ((c = getopt_long(argc, argv, SHORT_OPTIONS, longopts, &idx)) != -1) {
        const char *name = NULL;
        if (c >= OPT_OUTPUT_DIR)
            name = longopts[idx].name;
        int k;
        uint64_t v;
        switch (c) {
        case 'o':
            if (!*optarg)
                return usage_error(err, "option '--output' needs a file name");
            opts->output = optarg;
            break;
        case 'n': {
            unsigned long long n;
            if (parse_count(optarg, 0, ULLONG_MAX, &n) != 0)
                return usage_error(err, "invalid value '%s' for '--top': expected a count", optarg);
            opts->top = n;
            break;
        }
        case OPT_OUTPUT_DIR:
            if (!*optarg)
                return usage_error(err, "option '--output-dir' needs a directory name");
            opts->output_dir = optarg;
            break;
        case OPT_SORT:
            if ((k = choose(optarg, "count|word")) < 0)
                return usage_error(err, "invalid value '%s' for '--%s' (count|word)", optarg, name);
            opts->sort = (enum mpiwc_sort)k;
            given |= 8u;
            break;
        case OPT_SPLIT:
            if ((k = choose(optarg, "alnum|space|unicode|uax29")) < 0)
                return usage_error(err, "invalid value '%s' for '--%s' (alnum|space|unicode|uax29)",
                                   optarg, name);
            opts->split = (enum mpiwc_split)k;
            given |= 1u;
            break;
        case OPT_CASE:
            if ((k = choose(optarg, "fold|keep")) < 0)
                return usage_error(err, "invalid value '%s' for '--%s' (fold|keep)", optarg, name);
            opts->casing = (enum mpiwc_case)k;
            given |= 2u;
            break;
        case OPT_FORMAT:
            if ((k = choose(optarg, "tsv|csv|json")) < 0)
                return usage_error(err, "invalid value '%s' for '--%s' (tsv|csv|json)", optarg,
                                   name);
            opts->format = (enum mpiwc_format)k;
            given |= 16u;
            break;
        case OPT_STATS:
            opts->stats = true;
            break;
        case OPT_REPORT:
            if (!*optarg)
                return usage_error(err, "option '--report' needs a file name");
            opts->report = optarg;
            break;
        case OPT_BUFFER:
        case OPT_SHUFFLE:
            if (mpiwc_cli_parse_size(optarg, &v) != 0 || v < MPIWC_MIN_BUFFER ||
                v > MPIWC_MAX_BUFFER)
                return usage_error(err, "invalid value '%s' for '--%s': expected 64 to 1G bytes",
                                   optarg, name);
            if (c == OPT_BUFFER)
                opts->buffer_size = (size_t)v;
            else
                opts->shuffle_buffer = (size_t)v;
            break;
        case OPT_MEMORY:
            if (strcmp(optarg, "auto") == 0) {
                opts->memory_limit = MPIWC_MEMORY_AUTO;
                break;
            }
            if (mpiwc_cli_parse_size(optarg, &v) != 0 || v >= SIZE_MAX)
                return usage_error(err, "invalid value '%s' for '--%s': expected bytes or auto",
                                   optarg, name);
            opts->memory_limit = (size_t)v;
            break;
        case OPT_SPILL_DIR:
            if (!*optarg)
                return usage_error(err, "option '--spill-dir' needs a directory name");
            opts->spill_dir = optarg;
            break;
        case OPT_DRY_RUN:
            opts->dry_run = true;
            break;
        case OPT_PROGRESS:
            if ((k = choose(optarg, "auto|always|never")) < 0)
                return usage_error(err, "invalid value '%s' for '--%s' (auto|always|never)", optarg,
                                   name);
            opts->progress = (enum mpiwc_progress_mode)k;
            break;
        case OPT_NORMALIZE:
            if ((k = choose(optarg, "nfc|nfkc|none")) < 0)
                return usage_error(err, "invalid value '%s' for '--%s' (nfc|nfkc|none)", optarg,
                                   name);
            opts->normalize = (enum mpiwc_normalize)k;
            given |= 4u;
            break;
        case OPT_MIN_LENGTH: {
            unsigned long long n;
            if (parse_count(optarg, 0, SIZE_MAX, &n) != 0)
                return usage_error(err, "invalid value '%s' for '--%s': expected a count", optarg,
                                   name);
            opts->min_length = (size_t)n;
            break;
        }
        case OPT_STOPWORDS:
            if (!*optarg)
                return usage_error(err, "option '--stopwords' needs a file name");
            opts->stopwords = optarg;
            break;
        case OPT_IGNORE_NUMBERS:
            opts->ignore_numbers = true;
            break;
        case OPT_COMPAT:
            if ((k = choose(optarg, "hadoop")) < 0)
                return usage_error(err, "invalid value '%s' for '--%s' (hadoop)", optarg, name);
            opts->compat_hadoop = k == 0;
            break;
        case OPT_NGRAM:
            if (parse_ngram(optarg, &opts->ngram_min, &opts->ngram_max) != 0)
                return usage_error(err,
                                   "invalid value '%s' for '--%s': expected N or M:N, "
                                   "1 <= M <= N <= %d",
                                   optarg, name, MPIWC_NGRAM_MAX);
            break;
        case OPT_SHUFFLE_MODE:
            if ((k = choose(optarg, "auto|flat|node")) < 0)
                return usage_error(err, "invalid value '%s' for '--%s' (auto|flat|node)", optarg,
                                   name);
            opts->shuffle = (enum mpiwc_shuffle_mode)k;
            break;
        case OPT_RANKS_PER_HOST: {
            unsigned long long n;
            if (parse_count(optarg, 1, INT_MAX, &n) != 0)
                return usage_error(err,
                                   "invalid value '%s' for '--%s': expected a count of 1 or more",
                                   optarg, name);
            opts->ranks_per_host = (int)n;
            break;
        }
        case OPT_FILES_FROM:
            if (!*optarg)
                return usage_error(err, "option '--files-from' needs a file name");
            opts->files_from = optarg;
            break;
        case '0':
            opts->files_from_nul = true;
            break;
        case OPT_INCLUDE:
        case OPT_EXCLUDE: {
            const char **globs = c == OPT_INCLUDE ? opts->include : opts->exclude;
            size_t *n = c == OPT_INCLUDE ? &opts->ninclude : &opts->nexclude;
            if (!*optarg)
                return usage_error(err, "option '--%s' needs a pattern", name);
            if (*n == MPIWC_MAX_GLOBS)
                return usage_error(err, "too many '--%s' patterns (at most %d)", name,
                                   MPIWC_MAX_GLOBS);
            globs[(*n)++] = optarg;
            break;
        }
        case OPT_CHECKPOINT_DIR:
            if (!*optarg)
                return usage_error(err, "option '--checkpoint-dir' needs a directory name");
            opts->checkpoint_dir = optarg;
            break;
        case OPT_CHECKPOINT_INTERVAL: {
            unsigned long long n;
            if (parse_count(optarg, 0, ULLONG_MAX, &n) != 0)
                return usage_error(err, "invalid value '%s' for '--%s': expected seconds", optarg,
                                   name);
            opts->checkpoint_interval = n;
            break;
        }
        case OPT_KEEP_CHECKPOINTS:
            opts->keep_checkpoints = true;
            break;
        case 'v':
            opts->verbosity = 1;
            break;
        case 'q':
            opts->verbosity = -1;
            break;
        case 'h':
            if (out)
                mpiwc_cli_usage(out);
            return MPIWC_CLI_EXIT;
        case 'V':
            if (out)
                fprintf(out, "mpiwc %s\n", MPIWC_VERSION);
            return MPIWC_CLI_EXIT;
        case ':':
        case '?':
        default:
            return option_error(err, c, argc, argv);
        }
    }
    if (check_words(opts, given, err) != MPIWC_CLI_RUN)
        return MPIWC_CLI_USAGE;
    if (opts->output_dir && opts->output)
        return usage_error(err, "options '--output-dir' and '--output' exclude each other");
    if (opts->output_dir && opts->top)
        return usage_error(err, "option '--top' needs one table: not with '--output-dir'");
    if (opts->files_from_nul && !opts->files_from)
        return usage_error(err, "option '-0' needs '--files-from'");
    if ((opts->keep_checkpoints ||
         opts->checkpoint_interval != MPIWC_DEFAULT_CHECKPOINT_INTERVAL) &&
        !opts->checkpoint_dir)
        return usage_error(err, "options '--checkpoint-interval' and '--keep-checkpoints' need "
                                "'--checkpoint-dir'");
    if (optind >= argc && !opts->files_from)
        return usage_error(err, "no input: give at least one PATH (or --files-from)");
    if (opts->output && strcmp(opts->output, "-") == 0)
        opts->output = NULL; /* "-" is standard output, as among the inputs */
    opts->paths = argv + optind;
    opts->npaths = (size_t)(argc - optind);
    return MPIWC_CLI_RUN;
}

/*
 * mpiwc-gen: a deterministic, seeded generator of natural-looking text for
 * benchmarking mpiwc.
 *
 *     mpiwc-gen --size=430M --seed=1 -o corpus.txt
 *     mpiwc-gen --size=1G --vocab=40000000 --zipf=0 -o highcard.txt
 *     mpiwc-gen --size=430M --files=64 --out-dir=many/
 *
 * Words are drawn from a Zipf distribution (weight of the word of rank i, from
 * 0, is (i + 1)^-S; S = 0 is uniform) over a vocabulary of N synthetic words.
 * Word i is the bijective numeration of i in syllables: a first syllable from
 * {V, VC, CV, CVC} and further ones from {CV, CVC}, with single-letter onsets,
 * vowels and codas. Every syllable holds exactly one vowel and every
 * non-initial syllable starts with a consonant, so a string parses into
 * syllables in one way only: distinct indices give distinct words, for any N.
 * Frequent words are short (one syllable), rare ones longer, as in real text.
 * With --non-ascii one word in eight is rewritten by one of seven injective
 * maps whose results are disjoint (e -> é, s -> ß, u -> ü, o -> ö, n -> ñ,
 * c -> ç, or the whole word in Cyrillic), so words stay unique.
 *
 * Layout: words separated by one space, a newline every 10 to 15 words,
 * sentences of 4 to 20 words that start capitalised and end with '.', an
 * occasional ',' or ';' after a word, and one word in 64 of the vocabulary
 * always capitalised (names). So --split=alnum and --split=space, and
 * --case=fold and --case=keep, all count differently.
 *
 * Size: the output is exactly --size bytes. Words are written while they fit
 * in size - 1 bytes; the gap (shorter than one word) is filled with spaces and
 * the last byte is a newline. With --files=N the size is the total, split as
 * evenly as possible; file k is DIR/part-KKKKK.txt and has its own random
 * stream derived from (seed, k), so --files=1 equals -o for the same options.
 *
 * Same options and seed, same bytes (on the same build: the Zipf weights use
 * libm's pow()). Speed: xoshiro256** for randomness, Vose's alias table for
 * the Zipf draw (one or two table reads), a precomputed vocabulary when it is
 * small and on-the-fly encoding when it is not, and 1 MiB writes; no
 * allocation per word.
 *
 * Exit status: 0 success, 1 runtime error (cannot create or write, out of
 * memory), 2 usage error. Every error is one line on standard error.
 *
 * No MPI; links nothing of the core.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define PROG "mpiwc-gen"

/* Longest word in bytes: 4 syllables of 3 letters (2^32 words need 4), each
 * letter at most 2 bytes in UTF-8. A token is separator + word + punctuation. */
#define MAX_SYLLABLES 4
#define MAX_WORD (MAX_SYLLABLES * 3 * 2)
#define MAX_TOKEN (MAX_WORD + 2)
#define OUT_CHUNK (1u << 20)
/* Vocabularies up to this size are rendered once into a table. */
#define PRECOMPUTE_MAX (1u << 20)

struct options {
    uint64_t size;
    uint64_t vocab;
    double zipf;
    uint64_t seed;
    uint64_t files;
    const char *out_dir;
    const char *output;
    bool non_ascii;
};

static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void runtime_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void verror(const char *fmt, va_list ap)
{
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static _Noreturn void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
    exit(2);
}

static _Noreturn void runtime_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes))
        runtime_error("out of memory (%zu x %zu bytes)", n, size);
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        runtime_error("out of memory (%zu bytes)", bytes);
    return p;
}

/* ---- randomness ------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A fixed mix of one value: per-word properties (name, non-ASCII class). */
static uint64_t mix64(uint64_t x)
{
    uint64_t s = x;
    return splitmix64(&s);
}

struct rng {
    uint64_t s[4];
};

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t sm = seed ^ mix64(stream + 0x6d70697763u);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&sm);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) from 32 random bits, n <= 2^32 (Lemire's multiply). */
static inline uint32_t bounded32(uint32_t bits, uint64_t n)
{
    return (uint32_t)(((uint64_t)bits * n) >> 32);
}

/* ---- the Zipf draw ------------------------------------------------------ */

/* Vose's alias table: draw a column uniformly, keep it if 32 more random bits
 * are below its threshold, else take its alias. Full columns alias
 * themselves, so a threshold of UINT32_MAX is exact. */
struct sampler {
    uint64_t n;
    uint32_t *thresh; /* NULL: uniform */
    uint32_t *alias;
};

static void sampler_init(struct sampler *z, uint64_t n, double s)
{
    z->n = n;
    z->thresh = NULL;
    z->alias = NULL;
    if (s == 0 || n == 1)
        return;
    double *p = xmalloc(n, sizeof *p);
    uint32_t *small = xmalloc(n, sizeof *small);
    uint32_t *large = xmalloc(n, sizeof *large);
    z->thresh = xmalloc(n, sizeof *z->thresh);
    z->alias = xmalloc(n, sizeof *z->alias);
    double sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        p[i] = pow((double)(i + 1), -s);
        sum += p[i];
    }
    uint64_t ns = 0, nl = 0;
    for (uint64_t i = 0; i < n; i++) {
        p[i] = p[i] * (double)n / sum;
        if (p[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns > 0 && nl > 0) {
        uint32_t a = small[--ns], g = large[--nl];
        z->thresh[a] = (uint32_t)(p[a] * 4294967296.0);
        z->alias[a] = g;
        p[g] = (p[g] + p[a]) - 1.0;
        if (p[g] < 1.0)
            small[ns++] = g;
        else
            large[nl++] = g;
    }
    /* What is left is 1 up to rounding. */
    while (nl > 0) {
        uint32_t g = large[--nl];
        z->thresh[g] = UINT32_MAX;
        z->alias[g] = g;
    }
    while (ns > 0) {
        uint32_t a = small[--ns];
        z->thresh[a] = UINT32_MAX;
        z->alias[a] = a;
    }
    free(p);
    free(small);
    free(large);
}

static inline uint32_t sampler_draw(const struct sampler *z, struct rng *r)
{
    uint64_t x = rng_next(r);
    uint32_t i = bounded32((uint32_t)(x >> 32), z->n);
    if (!z->thresh || (uint32_t)x < z->thresh[i])
        return i;
    return z->alias[i];
}

/* ---- the vocabulary ----------------------------------------------------- */

/* Syllable alphabets: first syllables (V, VC, CV, CVC) and later ones (CV,
 * CVC), each shuffled once with a fixed seed so the most frequent words mix
 * the shapes. Letters only a-z; onsets, vowels and codas are single letters
 * (the unique-parse argument in the file comment needs that). */
#define MAX_SYL 1024
static const char onsets[] = "bcdfghjklmnprstvwz";
static const char vowels[] = "aeiou";
static const char codas[] = "lmnrst";

struct syllables {
    char text[MAX_SYL][4];
    uint8_t len[MAX_SYL];
    uint32_t n;
};

static struct syllables first_syl, rest_syl;

static void syl_add(struct syllables *t, const char *s)
{
    size_t len = strlen(s);
    memcpy(t->text[t->n], s, len);
    t->len[t->n] = (uint8_t)len;
    t->n++;
}

static void syl_build(struct syllables *t, bool initial)
{
    char buf[4] = {0};
    t->n = 0;
    if (initial) {
        for (const char *v = vowels; *v; v++) {
            buf[0] = *v;
            buf[1] = 0;
            syl_add(t, buf);
            for (const char *k = codas; *k; k++) {
                buf[1] = *k;
                buf[2] = 0;
                syl_add(t, buf);
            }
        }
    }
    for (const char *c = onsets; *c; c++) {
        for (const char *v = vowels; *v; v++) {
            buf[0] = *c;
            buf[1] = *v;
            buf[2] = 0;
            syl_add(t, buf);
            for (const char *k = codas; *k; k++) {
                buf[2] = *k;
                buf[3] = 0;
                syl_add(t, buf);
            }
            buf[3] = 0;
        }
    }
    /* Fisher-Yates with a fixed seed: the vocabulary does not depend on --seed. */
    struct rng r;
    rng_seed(&r, 0x766f636162u, initial);
    for (uint32_t i = t->n - 1; i > 0; i--) {
        uint32_t j = bounded32((uint32_t)(rng_next(&r) >> 32), (uint64_t)i + 1);
        char tmp[4];
        memcpy(tmp, t->text[i], 4);
        memcpy(t->text[i], t->text[j], 4);
        memcpy(t->text[j], tmp, 4);
        uint8_t l = t->len[i];
        t->len[i] = t->len[j];
        t->len[j] = l;
    }
}

/* Cyrillic for each of a-z (2 bytes each, all distinct; x and q unused). */
static const char *const cyrillic[26] = {
    "а", "б", "ц", "д", "е", "ф", "г", "х", "и", "й", "к", "л", "м",
    "н", "о", "п", "я", "р", "с", "т", "у", "в", "ш", "ъ", "ы", "ж",
};

/* One letter replaced by a two-byte Latin letter, per non-ASCII class 0-5. */
static const char latin_from[6] = {'e', 's', 'u', 'o', 'n', 'c'};
static const char *const latin_to[6] = {"é", "ß", "ü", "ö", "ñ", "ç"};

/* Writes word `index` at out (at least MAX_WORD bytes), returns its length.
 * Sets *name when the word is always capitalised. */
static size_t encode_word(uint64_t index, bool non_ascii, uint8_t *out, bool *name)
{
    /* Bijective numeration: k syllables cover first.n * rest.n^(k-1) words. */
    uint64_t rem = index;
    uint64_t block = first_syl.n;
    int k = 1;
    while (rem >= block) {
        rem -= block;
        block *= rest_syl.n;
        k++;
    }
    char ascii[MAX_SYLLABLES * 3];
    size_t len = 0;
    uint32_t d = (uint32_t)(rem % first_syl.n);
    rem /= first_syl.n;
    memcpy(ascii + len, first_syl.text[d], 4);
    len += first_syl.len[d];
    for (int i = 1; i < k; i++) {
        d = (uint32_t)(rem % rest_syl.n);
        rem /= rest_syl.n;
        memcpy(ascii + len, rest_syl.text[d], 4);
        len += rest_syl.len[d];
    }
    uint64_t h = mix64(index ^ 0x776f7264u);
    *name = (h & 63) == 1;
    int cls = -1;
    if (non_ascii && ((h >> 8) & 7) == 0)
        cls = (int)((h >> 16) % 7);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = ascii[i];
        if (cls == 6) {
            memcpy(out + n, cyrillic[c - 'a'], 2);
            n += 2;
        } else if (cls >= 0 && c == latin_from[cls]) {
            memcpy(out + n, latin_to[cls], 2);
            n += 2;
        } else {
            out[n++] = (uint8_t)c;
        }
    }
    return n;
}

/* The vocabulary rendered once: word i is bytes[off[i] .. off[i] + len[i]). */
struct vocab {
    uint64_t n;
    bool non_ascii;
    uint8_t *bytes; /* NULL: encode on the fly */
    uint32_t *off;
    uint8_t *len; /* bit 7: name */
};

static void vocab_init(struct vocab *v, uint64_t n, bool non_ascii)
{
    v->n = n;
    v->non_ascii = non_ascii;
    v->bytes = NULL;
    if (n > PRECOMPUTE_MAX)
        return;
    v->bytes = xmalloc(n, MAX_WORD);
    v->off = xmalloc(n, sizeof *v->off);
    v->len = xmalloc(n, sizeof *v->len);
    size_t pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        bool name;
        size_t len = encode_word(i, non_ascii, v->bytes + pos, &name);
        v->off[i] = (uint32_t)pos;
        v->len[i] = (uint8_t)(len | (name ? 0x80u : 0));
        pos += len;
    }
}

/* Writes word i at out, returns its length; *name as for encode_word. */
static inline size_t vocab_put(const struct vocab *v, uint32_t i, uint8_t *out, bool *name)
{
    if (!v->bytes)
        return encode_word(i, v->non_ascii, out, name);
    size_t len = v->len[i] & 0x7fu;
    *name = v->len[i] & 0x80u;
    /* A fixed 16-byte copy covers most words; the arena has room after the last. */
    memcpy(out, v->bytes + v->off[i], 16);
    if (len > 16)
        memcpy(out + 16, v->bytes + v->off[i] + 16, len - 16);
    return len;
}

/* ---- the text ----------------------------------------------------------- */

static void write_all(FILE *f, const char *path, const uint8_t *buf, size_t n)
{
    if (n && fwrite(buf, 1, n, f) != n)
        runtime_error("%s: %s", path, strerror(errno ? errno : EIO));
}

/* Writes exactly `size` bytes of text for stream `stream` to f. */
static void generate(FILE *f, const char *path, uint64_t size, uint64_t seed, uint64_t stream,
                     const struct sampler *z, const struct vocab *v, uint8_t *buf)
{
    if (size == 0)
        return;
    struct rng r;
    rng_seed(&r, seed, stream);
    uint64_t left = size - 1; /* the last byte is a newline */
    size_t pos = 0;
    bool first = true;
    int line_left = 0, sentence_left = 0;
    for (;;) {
        /* Layout decisions from one draw: line and sentence lengths when
         * they run out, punctuation odds otherwise. */
        uint64_t lay = rng_next(&r);
        uint8_t *p = buf + pos;
        size_t n = 0;
        bool start = sentence_left == 0;
        if (start)
            sentence_left = 4 + (int)bounded32((uint32_t)lay, 17);
        if (!first) {
            if (line_left == 0) {
                p[n++] = '\n';
                line_left = 10 + (int)bounded32((uint32_t)(lay >> 32), 6);
            } else {
                p[n++] = ' ';
            }
        } else {
            line_left = 10 + (int)bounded32((uint32_t)(lay >> 32), 6);
        }
        bool name;
        size_t wlen = vocab_put(v, sampler_draw(z, &r), p + n, &name);
        if ((start || name) && p[n] >= 'a' && p[n] <= 'z')
            p[n] = (uint8_t)(p[n] - 'a' + 'A');
        n += wlen;
        sentence_left--;
        line_left--;
        uint32_t odds = (uint32_t)(lay >> 48) & 0xffu;
        if (sentence_left == 0)
            p[n++] = '.';
        else if (odds < 20)
            p[n++] = ',';
        else if (odds < 26)
            p[n++] = ';';
        if (n > left)
            break;
        left -= n;
        pos += n;
        first = false;
        if (pos >= OUT_CHUNK) {
            write_all(f, path, buf, pos);
            pos = 0;
        }
    }
    /* Fill the gap (shorter than the token that did not fit) and end the line. */
    write_all(f, path, buf, pos);
    pos = 0;
    while (left > 0) {
        size_t n = left < OUT_CHUNK ? (size_t)left : OUT_CHUNK;
        memset(buf, ' ', n);
        write_all(f, path, buf, n);
        left -= n;
    }
    write_all(f, path, (const uint8_t *)"\n", 1);
}

static void generate_to_path(const char *path, uint64_t size, uint64_t seed, uint64_t stream,
                             const struct sampler *z, const struct vocab *v, uint8_t *buf)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        runtime_error("%s: %s", path, strerror(errno));
    errno = 0;
    generate(f, path, size, seed, stream, z, v, buf);
    if (fclose(f) != 0)
        runtime_error("%s: %s", path, strerror(errno));
}

/* ---- options ------------------------------------------------------------ */

static const char help_text[] =
    "Usage: " PROG " [OPTION]...\n"
    "Write deterministic natural-looking text: Zipf-distributed synthetic words.\n"
    "\n"
    "      --size=BYTES     total bytes to write, exactly (K, M, G: powers of 1024;\n"
    "                       default 1M)\n"
    "      --vocab=N        distinct words in the vocabulary (default 50000)\n"
    "      --zipf=S         Zipf exponent: word of rank i has weight (i+1)^-S;\n"
    "                       0 is uniform (default 1.0)\n"
    "      --seed=N         random seed (default 1); same options, same bytes\n"
    "      --files=N        with --out-dir: N files part-00000.txt ... sharing --size\n"
    "      --out-dir=DIR    write the files into DIR (created if missing)\n"
    "  -o, --output=FILE    write to FILE; default standard output\n"
    "      --non-ascii      one word in eight with UTF-8 letters (é ß ü ö ñ ç, Cyrillic)\n"
    "  -h, --help           show this help and exit\n";

static uint64_t parse_u64(const char *opt, const char *s, bool suffix)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        usage_error("%s: '%s' is not a non-negative integer", opt, s);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        usage_error("%s: '%s' is not a non-negative integer", opt, s);
    uint64_t mult = 1;
    if (suffix && *end) {
        switch (*end) {
        case 'k':
        case 'K':
            mult = 1ull << 10;
            break;
        case 'm':
        case 'M':
            mult = 1ull << 20;
            break;
        case 'g':
        case 'G':
            mult = 1ull << 30;
            break;
        default:
            usage_error("%s: '%s': unknown suffix (K, M or G)", opt, s);
        }
        end++;
    }
    if (*end)
        usage_error("%s: '%s' is not a non-negative integer%s", opt, s,
                    suffix ? " with an optional K, M or G" : "");
    uint64_t r;
    if (__builtin_mul_overflow((uint64_t)v, mult, &r))
        usage_error("%s: '%s' is too large", opt, s);
    return r;
}

static double parse_zipf(const char *s)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 100)
        usage_error("--zipf: '%s' is not a number from 0 to 100", s);
    return v;
}

static void parse(int argc, char **argv, struct options *o)
{
    enum { OPT_SIZE = 256, OPT_VOCAB, OPT_ZIPF, OPT_SEED, OPT_FILES, OPT_OUT_DIR, OPT_NON_ASCII };
    static const struct option longopts[] = {
        {"size", required_argument, NULL, OPT_SIZE},
        {"vocab", required_argument, NULL, OPT_VOCAB},
        {"zipf", required_argument, NULL, OPT_ZIPF},
        {"seed", required_argument, NULL, OPT_SEED},
        {"files", required_argument, NULL, OPT_FILES},
        {"out-dir", required_argument, NULL, OPT_OUT_DIR},
        {"output", required_argument, NULL, 'o'},
        {"non-ascii", no_argument, NULL, OPT_NON_ASCII},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.size = 1ull << 20, .vocab = 50000, .zipf = 1.0, .seed = 1, .files = 0};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SIZE:
            o->size = parse_u64("--size", optarg, true);
            break;
        case OPT_VOCAB:
            o->vocab = parse_u64("--vocab", optarg, true);
            if (o->vocab < 1 || o->vocab > UINT32_MAX)
                usage_error("--vocab: '%s' is not from 1 to %" PRIu32, optarg, UINT32_MAX);
            break;
        case OPT_ZIPF:
            o->zipf = parse_zipf(optarg);
            break;
        case OPT_SEED:
            o->seed = parse_u64("--seed", optarg, false);
            break;
        case OPT_FILES:
            o->files = parse_u64("--files", optarg, false);
            if (o->files < 1 || o->files > 100000)
                usage_error("--files: '%s' is not from 1 to 100000", optarg);
            break;
        case OPT_OUT_DIR:
            o->out_dir = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_NON_ASCII:
            o->non_ascii = true;
            break;
        case 'h':
            fputs(help_text, stdout);
            exit(ferror(stdout) || fflush(stdout) ? 1 : 0);
        case ':':
            usage_error("option '%s' needs a value (try --help)", argv[optind - 1]);
        default:
            usage_error("unknown option '%s' (try --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s' (try --help)", argv[optind]);
    if (o->files && !o->out_dir)
        usage_error("--files needs --out-dir (try --help)");
    if (o->out_dir && o->output)
        usage_error("--out-dir and --output exclude each other (try --help)");
    if (o->out_dir && !o->files)
        o->files = 1;
}

int main(int argc, char **argv)
{
    struct options o;
    parse(argc, argv, &o);
    syl_build(&first_syl, true);
    syl_build(&rest_syl, false);
    struct sampler z;
    sampler_init(&z, o.vocab, o.zipf);
    struct vocab v;
    vocab_init(&v, o.vocab, o.non_ascii);
    uint8_t *buf = xmalloc(OUT_CHUNK + MAX_TOKEN + 64, 1);

    if (o.out_dir) {
        if (mkdir(o.out_dir, 0777) != 0 && errno != EEXIST)
            runtime_error("%s: %s", o.out_dir, strerror(errno));
        size_t plen = strlen(o.out_dir) + 32;
        char *path = xmalloc(plen, 1);
        for (uint64_t k = 0; k < o.files; k++) {
            uint64_t part = o.size / o.files + (k < o.size % o.files ? 1 : 0);
            snprintf(path, plen, "%s/part-%05" PRIu64 ".txt", o.out_dir, k);
            generate_to_path(path, part, o.seed, k, &z, &v, buf);
        }
        free(path);
    } else if (o.output) {
        generate_to_path(o.output, o.size, o.seed, 0, &z, &v, buf);
    } else {
        errno = 0;
        generate(stdout, "standard output", o.size, o.seed, 0, &z, &v, buf);
        if (fflush(stdout) != 0 || ferror(stdout))
            runtime_error("standard output: %s", strerror(errno ? errno : EIO));
    }
    free(buf);
    return 0;
}

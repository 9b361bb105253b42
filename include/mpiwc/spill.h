/*
 * spill: a rank's words on disk when its tables outgrow its memory budget.
 *
 *     struct mpiwc_spill s;
 *     mpiwc_spill_init(&s, "/tmp", 192u << 20);      // --spill-dir, the table's share
 *     if (mpiwc_spill_due(&s, &owned, 16) && mpiwc_spill_table(&s, &owned) != 0) ... s.msg
 *     ...
 *     struct mpiwc_spill_result res;                // at the end: every word once, in order
 *     mpiwc_spill_result_open(&s, &owned, MPIWC_SORT_COUNT, 0, &res);
 *     while (mpiwc_rows_next(res.rows, &w, ...) > 0) ...
 *     mpiwc_spill_result_close(&res);
 *     mpiwc_spill_close(&s);                        // removes every file and the directory
 *
 * When a table reaches the budget, its words are sorted by their bytes and
 * written as one run, and the table is emptied for more words. At the end
 * the runs and what is left in the table are merged (k-way, streaming, at
 * most MPIWC_SPILL_FANIN runs at a time: more are first merged into bigger
 * runs), so each word appears once with its whole count. Count order takes
 * that merge apart by count: a word whose count is at most
 * MPIWC_SPILL_BUCKETS goes to that count's bucket, a run written in the
 * order the words come, which is already theirs among the words of one
 * count; the words of higher counts fill a buffer of the budget, which is
 * sorted by count and written as a run, and those runs are merged. The
 * output reads the merged higher counts, then each bucket from the highest
 * count down. With --top N, only the first N rows of each buffer and of
 * each bucket are kept. Nothing spills, and nothing changes, while a table
 * stays within its budget.
 *
 * The runs live in a private directory that the first spill makes in the
 * spill directory: mpiwc-spill-USER-HOST-PID-XXXXXX (mkdtemp: a new name,
 * mode 0700, never one that exists or a link someone planted), so that
 * a directory left by a killed process tells whose it was. Its runs are
 * named run-NNNNNNNN and opened with O_EXCL | O_NOFOLLOW. mpiwc_spill_close()
 * removes them and the directory, and mpiwc_spill_on_signal() does from a
 * signal handler.
 *
 * A run file, its fixed-size integers in host byte order (the ranks of a job
 * share one binary and one kind of machine, as the shuffle's records do):
 *
 *     "MPIWCRUN" | u32 version (2) | u32 order (format.h's enum)
 *     blocks:    u32 n (> 0) | u32 crc32 of the n bytes | n bytes of rows
 *     end:       u32 0 | u32 crc32 of the row count's 8 bytes | u64 rows
 *     and nothing after it.
 *
 * A row is three LEB128 varints, shared, rest and count, then rest bytes:
 * its word is the first shared bytes of the previous row's word in the same
 * block (0 for a block's first row: a block decodes on its own) followed by
 * those. Sorted words share long prefixes: 12 bytes of fixed header a row
 * (record.h) made runs 3.5 times their input on high-cardinality text.
 *
 * A reader checks every block's CRC (zlib), every row, that the rows keep
 * the run's order (each word once), the row count and the end: a run that
 * reads back short or corrupt is an error naming the file, never a count.
 *
 * Layer: local, no MPI.
 */
#ifndef MPIWC_SPILL_H
#define MPIWC_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpiwc/format.h"
#include "mpiwc/rows.h"
#include "mpiwc/table.h"
#include "mpiwc/util.h"

/* Runs merged at once; each open run holds one block (MPIWC_SPILL_BLOCK) in memory. */
#define MPIWC_SPILL_FANIN 64
#define MPIWC_SPILL_BLOCK ((size_t)256 << 10)
/* Count order's buckets: the counts 1 .. this, each written as it comes (one block each). */
#define MPIWC_SPILL_BUCKETS 16

struct mpiwc_spill_stats {
    uint64_t runs;          /* runs written: table spills, merge passes, count-order runs */
    uint64_t bytes_written; /* bytes of run files written */
    uint64_t bytes_read;    /* bytes of run files read back */
    double merge_s;         /* seconds merging runs and sorting them by count */
};

struct mpiwc_spill {
    char *parent;       /* --spill-dir (owned) */
    char *dir;          /* the private directory (owned); NULL until the first run */
    size_t limit;       /* bytes a table may hold, with its sort, before it spills; 0: never */
    const char *refuse; /* set: a spill fails with this reason instead (--checkpoint-dir) */
    uint32_t next;      /* runs named so far */
    uint32_t *runs;     /* the word-order runs of spilled tables, not yet merged */
    size_t nruns, runs_cap;
    bool failed;            /* a spill failed: msg says why; later spills are not tried */
    char msg[MPIWC_ERRLEN]; /* "DIR: reason" */
    struct mpiwc_spill_stats st;
};

/* Local. Spill into a private directory under parent when a table passes limit bytes. */
void mpiwc_spill_init(struct mpiwc_spill *s, const char *parent, size_t limit);

/* Local. Remove every run and the private directory; free s. */
void mpiwc_spill_close(struct mpiwc_spill *s);

/*
 * Local, async-signal-safe. Remove the runs and the private directory of the
 * spill in progress (the last one initialised), if any; for a handler of
 * SIGTERM/SIGINT before the process dies.
 */
void mpiwc_spill_on_signal(void);

/* Local. Can runs be made in parent (a directory this process may write)? 0 or -1 with
 * "PARENT: reason" in err. */
int mpiwc_spill_check_dir(const char *parent, char *err, size_t errlen);

/*
 * Local. Should t spill before up to more words more are added: would they
 * make it grow (table.h's mpiwc_table_memory_peak) past s's limit? (The
 * spill sorts the table in its own memory: nothing more.) A table that
 * would not grow never needs to, even when its smallest arrays are past a
 * tiny limit.
 */
bool mpiwc_spill_due(const struct mpiwc_spill *s, const struct mpiwc_table *t, size_t more);

/*
 * Local. Write t's words as a run, sorted by their bytes in t's own memory,
 * and empty t (its arrays kept). Returns 0, or -1 with s->failed and s->msg set (t emptied
 * all the same: the job is failing, and memory must stay bounded).
 */
int mpiwc_spill_table(struct mpiwc_spill *s, struct mpiwc_table *t);

/* Has s written a run of a table? */
static inline bool mpiwc_spill_spilled(const struct mpiwc_spill *s)
{
    return s->nruns > 0;
}

/*
 * A rank's words once each, in one order: the sorted table alone when
 * nothing spilled, else the merge of the runs (the table spilled too).
 */
struct mpiwc_spill_result {
    struct mpiwc_rows *rows; /* read this; borrowed from the result */
    uint64_t distinct;       /* the rank's distinct words; UINT64_MAX: known once rows are read */
    /* private */
    struct mpiwc_word *array;
    uint8_t *keys; /* the keys of array, when they are not the table's */
    struct mpiwc_rows_array arr;
    struct mpiwc_rows_table table;
    struct spill_merged *merged;
    struct spill_concat *concat; /* count order: merged, then the buckets */
    struct mpiwc_spill *s;
};

/*
 * Local. Open t's and s's words as one stream in order (top: the stream may
 * stop after that many rows; 0: all). t must not change until the result is
 * closed; when s spilled, t's words are spilled too and t is left empty, at
 * its smallest. Returns 0, or -1 with s->msg set (a spill file failed).
 */
int mpiwc_spill_result_open(struct mpiwc_spill *s, struct mpiwc_table *t, enum mpiwc_sort order,
                            uint64_t top, struct mpiwc_spill_result *res);
void mpiwc_spill_result_close(struct mpiwc_spill_result *res);

/*
 * Local. A run file read on its own, as a stream (what the merge reads; for
 * tests and the fuzz harness): opened with O_NOFOLLOW, every check above
 * made as it is read; its bytes are added to st->bytes_read.
 */
struct mpiwc_spill_reader;
int mpiwc_spill_reader_open(struct mpiwc_spill_reader **r, const char *path,
                            struct mpiwc_spill_stats *st, char *err, size_t errlen);
struct mpiwc_rows *mpiwc_spill_reader_rows(struct mpiwc_spill_reader *r);
void mpiwc_spill_reader_close(struct mpiwc_spill_reader *r);

#endif

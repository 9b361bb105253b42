#include "mpiwc/progress.h"

#include <inttypes.h>
#include <string.h>

void mpiwc_progress_init(struct mpiwc_progress *p, FILE *out, bool tty, uint64_t total,
                         bool total_known, double now)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->total = total;
    p->total_known = total_known;
    p->start = now;
    p->last = now;
}

/* "812.3 MB", "4.30 GB", "512 B": decimal units, three significant digits or so. */
static void human(char *buf, size_t len, double bytes)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (bytes >= 1000 && u < 5) {
        bytes /= 1000;
        u++;
    }
    snprintf(buf, len, u == 0 ? "%.0f %s" : bytes < 10 ? "%.2f %s" : "%.1f %s", bytes, unit[u]);
}

size_t mpiwc_progress_format(char *buf, size_t len, const char *phase, uint64_t done,
                             uint64_t total, bool total_known, double elapsed)
{
    char d[32], t[32];
    human(d, sizeof d, (double)done);
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    int n;
    if (total_known) {
        human(t, sizeof t, (double)total);
        double pct = total ? 100.0 * (double)done / (double)total : 100.0;
        if (pct > 100)
            pct = 100;
        double eta = rate > 0 && done < total ? (double)(total - done) / rate : 0;
        n = snprintf(buf, len, "mpiwc: %s %s / %s (%.0f%%) %.1f MB/s ETA %.0fs", phase, d, t, pct,
                     rate / 1e6, eta);
    } else {
        n = snprintf(buf, len, "mpiwc: %s %s %.1f MB/s", phase, d, rate / 1e6);
    }
    if (n < 0)
        n = 0;
    return (size_t)n < len ? (size_t)n : len - 1;
}

void mpiwc_progress_update(struct mpiwc_progress *p, const char *phase, uint64_t done, double now,
                           bool force)
{
    if (!p->out)
        return;
    double every = p->tty ? 0.25 : 1.0;
    if (!force && now - p->last < every)
        return;
    p->last = now;
    char line[160];
    int n = (int)mpiwc_progress_format(line, sizeof line, phase, done, p->total, p->total_known,
                                       now - p->start);
    if (p->tty) {
        /* Pad with spaces over the rest of a longer previous line. */
        fprintf(p->out, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
        p->width = n;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
}

void mpiwc_progress_end(struct mpiwc_progress *p)
{
    if (p->out && p->tty && p->width > 0) {
        fprintf(p->out, "\r%*s\r", p->width, "");
        fflush(p->out);
        p->width = 0;
    }
}

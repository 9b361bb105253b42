#!/usr/bin/env python3
"""performance.py - write docs/PERFORMANCE.md from bench/run.sh's results.

    python3 bench/performance.py RESULTS.csv RESULTS.json OUT.md

Reads the rows of RESULTS.csv and the run's configuration from the "meta" of
RESULTS.json (both written by bench/summarize.py; bench/run.sh copies them to
docs/bench/), fills the template bench/PERFORMANCE.md.in and writes OUT.md:

  ${tables}         one table per corpus (and size): every program, rank count
                    and option set with runs, median s, min-max s, MB/s, the
                    ratios to LC_ALL=C wc -w and (where the run measured it)
                    to LC_ALL=C.UTF-8 wc -w, speedup, efficiency and peak RSS
                    per rank in MiB, as summarize.py computed them
  ${bigvocab}       the highcard and huge rows again (mpiwc in memory and
                    spilling, LC_ALL=C wc -w, sort|uniq -c): MB/s, words/s, the
                    ratio to wc -w, peak RSS per rank, bytes of peak RSS per
                    distinct word, spill runs, MB spilled and read back; then
                    each spilling option set's throughput and RSS against the
                    same np in memory, the byte-identity verdict of the run
                    and whether the huge corpus ran. Columns that RESULTS.csv
                    lacks (a run from before issue 20) are left out and named
                    as not measured in this run
  ${plots}          the PNGs that lie next to RESULTS.csv, linked relative to
                    OUT.md's folder
  ${configuration}  date, commit, host, CPU, memory, nproc, versions and the
                    knobs (SIZE, RANKS, REPEAT, ...) of the run, and its NOTE
  ${commands}       the exact commands of the first timed round
  ${wc}             the version line of the wc that was measured

Every other line of OUT.md is the template's. Standard library only.
"""

import csv
import json
import os
import string
import sys

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "PERFORMANCE.md.in")
PLOTS = [("throughput.png", "Throughput against MPI ranks; dashed: the LC_ALL=C wc -w baseline."),
         ("speedup.png", "Speedup and efficiency against np=1; dashed: ideal."),
         ("phases.png", "Median wall per phase of mpiwc, the map split into its read and "
          "tokenize steps; other: mpirun start-up and exit.")]
# (meta key, what the page calls it)
KNOBS = [("size", "SIZE"), ("corpora", "CORPORA"), ("files", "FILES"), ("ranks", "RANKS"),
         ("repeat", "REPEAT"), ("warmup", "WARMUP"), ("variants", "VARIANTS"),
         ("ngram_variants", "NGRAM_VARIANTS"),
         ("mpiwc_args", "MPIWC_ARGS"), ("mpirun_args", "MPIRUN_ARGS"), ("highcard", "HIGHCARD"),
         ("highcard_size", "HIGHCARD_SIZE"), ("highcard_vocab", "HIGHCARD_VOCAB"),
         ("highcard_repeat", "HIGHCARD_REPEAT"), ("highcard_variants", "HIGHCARD_VARIANTS"),
         ("huge", "HUGE"), ("huge_size", "HUGE_SIZE"), ("huge_vocab", "HUGE_VOCAB"),
         ("huge_ranks", "HUGE_RANKS"), ("sort_baseline", "SORT_BASELINE"), ("weak", "WEAK"),
         ("seed", "SEED")]
BIG_CORPORA = ["highcard", "huge"]
NOT_MEASURED = "not measured in this run"


def size_text(nbytes):
    return f"{nbytes / 2**20:.0f} MiB" if nbytes < 2**30 else f"{nbytes / 2**30:.1f} GiB"


def num(s, digits):
    """A CSV cell as a number with `digits` decimals; '' stays ''."""
    return "" if s in ("", None) else f"{float(s):.{digits}f}"


def cell(s):
    return s.replace("|", "\\|")


def program(r):
    """A row's program as the tables name it: each wc -w with its locale."""
    names = {"wc -w": "`LC_ALL=C wc -w`", "wc -w C.UTF-8": "`LC_ALL=C.UTF-8 wc -w`",
             "mpiwc": "mpiwc"}
    return cell(names.get(r["program"], f"`{r['program']}`"))


def tables(rows):
    """Markdown: one section per (corpus, bytes), in the order of the rows."""
    groups = {}
    for r in rows:
        groups.setdefault((r["corpus"], int(r["bytes"])), []).append(r)
    out = ["## Results"]
    for (corpus, nbytes), group in groups.items():
        files = group[0]["files"]
        utf8 = any(r.get("vs_wc_utf8") for r in group)
        out += ["", f"### {corpus}, {size_text(nbytes)} ({nbytes} bytes) in {files} "
                f"file{'' if files == '1' else 's'}", "",
                "| program | np | options | runs | median s | min–max s | MB/s | × wc -w (C) "
                + ("| × wc -w (C.UTF-8) " if utf8 else "")
                + "| speedup | efficiency | peak RSS/rank MiB |",
                "|---|---:|---|---:|---:|---:|---:|---:|" + ("---:|" if utf8 else "")
                + "---:|---:|---:|"]
        for r in group:
            mpiwc = r["program"] == "mpiwc"
            out.append("| " + " | ".join([
                program(r), r["ranks"] if mpiwc else "",
                cell(r["options"]) if mpiwc else "", r["runs"], num(r["median_s"], 3),
                f"{num(r['min_s'], 3)}–{num(r['max_s'], 3)}", num(r["mb_s"], 0),
                num(r["vs_wc"], 2)] + ([num(r.get("vs_wc_utf8"), 2)] if utf8 else []) + [
                num(r["speedup"], 2), num(r["efficiency"], 2),
                num(float(r["rss_kib"]) / 1024, 0) if r["rss_kib"] else ""]) + " |")
    return "\n".join(out)


def binary_size(nbytes):
    """Bytes as MiB or GiB (powers of 1024), the way --memory-limit reads them."""
    nbytes = float(nbytes)
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:.0f} MiB"


def big_options(r):
    """mpiwc's options, with the per-rank budget its report gave where the
    options do not state one."""
    opts = cell(r["options"])
    limit = r.get("memory_limit", "")
    if limit in ("", None) or "--memory-limit" in r["options"]:
        return opts
    limit = "no limit" if float(limit) == 0 else f"limit {binary_size(limit)}/rank"
    return f"{opts} ({limit})"


def bigvocab(rows, meta):
    """Markdown: the highcard and huge rows, one table, then the run's facts."""
    big = [r for r in rows if r["corpus"] in BIG_CORPORA]
    huge_status = meta.get("huge_status", "")
    if not any(r["corpus"] == "huge" for r in big):
        huge_line = "The huge corpus (`HUGE=1`): " + (
            huge_status if huge_status and huge_status != "run" else NOT_MEASURED) + "."
    else:
        huge_line = ""
    if not big:
        return "Highcard and huge corpora: " + NOT_MEASURED + ".\n\n" + huge_line
    have = set(rows[0].keys())
    # (header, the columns it needs, how a row shows it)
    spilled = lambda r: "" if r["spill_written"] in ("", None) else \
        f"{float(r['spill_written']) / 1e6:.0f} / {float(r['spill_read'] or 0) / 1e6:.0f}"
    columns = [
        ("program", [], program),
        ("np", [], lambda r: r["ranks"] if r["program"] == "mpiwc" else ""),
        ("options", [], lambda r: big_options(r) if r["program"] == "mpiwc" else ""),
        ("MB/s", [], lambda r: num(r["mb_s"], 0)),
        ("M words/s", ["words_s"], lambda r: num(r["words_s"] and float(r["words_s"]) / 1e6, 2)),
        ("× wc -w (C)", [], lambda r: num(r["vs_wc"], 2)),
        ("× wc -w (C.UTF-8)", ["vs_wc_utf8"], lambda r: num(r["vs_wc_utf8"], 2)),
        ("peak RSS/rank MiB", [], lambda r: num(r["rss_kib"] and float(r["rss_kib"]) / 1024, 0)),
        ("bytes per distinct word", ["rss_per_distinct"], lambda r: num(r["rss_per_distinct"], 0)),
        ("spill runs", ["spill_runs"], lambda r: num(r["spill_runs"], 0)),
        ("spilled MB written / read", ["spill_written", "spill_read"], spilled)]
    missing = [h for h, need, _ in columns if not set(need) <= have]
    columns = [c for c in columns if set(c[1]) <= have]
    groups = {}
    for r in big:
        groups.setdefault((r["corpus"], int(r["bytes"])), []).append(r)
    out = ["| corpus | " + " | ".join(h for h, _, _ in columns) + " |",
           "|---|" + "|".join("---" if h in ("program", "options") else "---:"
                              for h, _, _ in columns) + "|"]
    for (corpus, nbytes), group in groups.items():
        distinct = next((r["distinct"] for r in group if r["program"] == "mpiwc"
                         and r["distinct"] not in ("", None)), "")
        name = f"{corpus} {size_text(nbytes)}" + \
            (f", {float(distinct) / 1e6:.1f}M distinct" if distinct else "")
        for r in group:
            out.append(f"| {name} | " + " | ".join(show(r) for _, _, show in columns) + " |")
    if missing:
        out += ["", "Not measured in this run (its results.csv predates these columns): "
                + ", ".join(missing) + "."]
    facts = []
    by_key = {(r["corpus"], r["bytes"], r["program"], r["ranks"], r["options"]): r for r in big}
    for r in big:
        if r["program"] != "mpiwc" or r["options"] == "default":
            continue
        base = by_key.get((r["corpus"], r["bytes"], "mpiwc", r["ranks"], "default"))
        if not base or not r["mb_s"] or not base["mb_s"]:
            continue
        ratio = float(r["mb_s"]) / float(base["mb_s"])
        rss = ""
        if r["rss_kib"] and base["rss_kib"]:
            rss = (f"; peak RSS/rank {float(r['rss_kib']) / 1024:.0f} MiB against "
                   f"{float(base['rss_kib']) / 1024:.0f} MiB")
        facts.append(f"- {r['corpus']} {size_text(int(r['bytes']))}, np {r['ranks']}: "
                     f"`{r['options']}` at {ratio:.2f} × the throughput in memory{rss}.")
    identical = meta.get("highcard_identical", "")
    facts.append("- Tables of the highcard option sets compared: "
                 + (identical if identical else NOT_MEASURED) + ".")
    if huge_line:
        facts.append("- " + huge_line)
    return "\n".join(out + [""] + facts)


def ngrams(rows):
    """Each n-gram option set of the bible corpus against words (default
    options) at the same np, and its own speedup from np 1 to the largest np:
    ratios of medians from the same rounds."""
    mine = [r for r in rows if r["program"] == "mpiwc" and r["corpus"] == "bible"
            and "--ngram" in r["options"]]
    if not mine:
        return "Not measured in this run (no `NGRAM_VARIANTS`)."
    by_key = {(r["bytes"], r["ranks"], r["options"]): r for r in rows
              if r["program"] == "mpiwc" and r["corpus"] == "bible"}
    out = []
    for r in mine:
        base = by_key.get((r["bytes"], r["ranks"], "default"))
        if not base or not r["mb_s"] or not base["mb_s"]:
            continue
        ratio = float(r["mb_s"]) / float(base["mb_s"])
        line = (f"- bible {size_text(int(r['bytes']))}, np {r['ranks']}: `{r['options']}` at "
                f"{float(r['mb_s']):.1f} MB/s, {ratio:.2f} × the throughput of single words")
        one = by_key.get((r["bytes"], "1", r["options"]))
        if r["ranks"] != "1" and one and one["median_s"] and r["median_s"]:
            line += (f"; {float(one['median_s']) / float(r['median_s']):.2f} × its own "
                     "np 1 speed")
        out.append(line + ".")
    return "\n".join(out)


def plots(results_dir, out_dir):
    out = []
    for name, caption in PLOTS:
        path = os.path.join(results_dir, name)
        if os.path.exists(path):
            rel = os.path.relpath(path, out_dir).replace(os.sep, "/")
            out += [f"![{name[:-4]}]({rel})", "", caption, ""]
    return "\n".join(out).rstrip() or "No plots: the run had no gnuplot."


def configuration(meta):
    def get(k):
        return meta.get(k, "") or "unknown"
    out = [f"- date (UTC): {get('date')}; commit `{get('commit')}`; {get('mpiwc')}",
           f"- host `{get('host')}`: CPU {get('cpu')}, nproc {get('nproc')}, "
           f"memory {get('mem_gib')} GiB",
           f"- baseline: `LC_ALL=C wc -w` ({get('wc')}); {get('mpirun')}",
           "- knobs: " + ", ".join(f"`{name}={meta[k]}`" for k, name in KNOBS if k in meta)]
    if meta.get("spill_dir"):
        out.append(f"- spill files (mpiwc's default `--spill-dir`): `{meta['spill_dir']}`")
    if meta.get("note"):
        out.append(f"- note: {meta['note']}")
    return "\n".join(out)


def render(results_csv, results_json, out_path, template=TEMPLATE):
    with open(results_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(results_json) as f:
        meta = json.load(f).get("meta", {})
    with open(template) as f:
        text = string.Template(f.read())
    out_dir = os.path.dirname(os.path.abspath(out_path))
    return text.substitute(
        tables=tables(rows),
        bigvocab=bigvocab(rows, meta),
        ngrams=ngrams(rows),
        plots=plots(os.path.dirname(os.path.abspath(results_csv)), out_dir),
        configuration=configuration(meta),
        commands=meta.get("commands", "").strip() or "(not recorded)",
        wc=meta.get("wc", "") or "version unknown")


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    text = render(*argv)
    tmp = argv[2] + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, argv[2])
    print(f"wrote {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

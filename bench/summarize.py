#!/usr/bin/env python3
"""summarize.py - turn bench/run.sh's raw measurements into results and plots.

    python3 bench/summarize.py [--weak=0|1] [--meta KEY=VALUE...] -- RAW.csv OUT_DIR
    python3 bench/summarize.py --plots RESULTS.csv OUT_DIR

The first form reads RAW.csv (one row per timed run) and the --report JSON
files it names, and writes OUT_DIR/results.csv, results.json and table.md: one
row per (corpus, bytes, program, ranks, options) with

  runs, median_s, min_s, max_s   wall seconds over the timed runs
  mb_s          bytes / median_s / 10^6
  vs_wc         median wall of `LC_ALL=C wc -w` (program "wc -w") on the same
                input in the same run divided by this row's median: how many
                times faster than wc -w in the C locale
  speedup       mpiwc rows only; strong scaling (WEAK=0): median at np=1 / median at np=N, same
                corpus, program and options; weak scaling (WEAK=1, input N times
                larger at np=N): N * median(np=1) / median(np=N)
  efficiency    speedup / N
  rss_kib       peak resident set size, max over ranks and runs (GNU time %M)
  plan_s .. output_s  median over runs of each phase's wall time from --report
  read_s .. write_s   median over runs of each step's mean over ranks from
                      --report (read, tokenize, pack, exchange, merge, gather,
                      sort, write: the work inside the phases)
  map_wait_max_s      median over runs of the longest wait of a rank for the
                      others at the end of the map (--report's map_wait_us max):
                      load imbalance, or a slow core
  words, distinct     from the --report counters (sum over ranks)

and, appended after them (older results.csv files stop at distinct):

  words_s       words / median_s
  rss_per_distinct    peak RSS bytes per distinct word a rank holds:
                      rss_kib * 1024 / (distinct / ranks), i.e. at np 1 peak
                      RSS bytes / distinct words, at np N the largest rank's
                      peak RSS bytes / (distinct / N), its even share
  spill_runs, spill_written, spill_read   --report's counters summed over
                      ranks (runs written; bytes written to and read back from
                      --spill-dir), median over runs; 0 where nothing spilled
  spill_merge_s       median over runs of the longest merge of spilled runs
                      of a rank (--report's spill_merge_us max, in seconds)
  memory_limit        median over runs of each rank's budget in bytes
                      (--report's memory_limit max; what --memory-limit=auto
                      came to; 0: no limit)
  vs_wc_utf8    as vs_wc, against `LC_ALL=C.UTF-8 wc -w` (program
                "wc -w C.UTF-8"), which decodes UTF-8 and is slower; empty
                where the run did not measure it

A counter missing from the --report files (an older mpiwc) leaves its field
empty.

The second form reads results.csv and writes OUT_DIR/plots.gp, a gnuplot script
with the data inline that draws throughput.png, speedup.png and phases.png
(the map's bar split into read, tokenize and the rest: early rounds, waiting).
Standard library only.
"""

import csv
import json
import os
import statistics
import sys

PHASES = ["plan", "map", "shuffle", "reduce", "output"]
STEPS = ["read", "tokenize", "pack", "exchange", "merge", "gather", "sort", "write"]
FIELDS = (["corpus", "bytes", "files", "program", "ranks", "options", "runs", "median_s",
           "min_s", "max_s", "mb_s", "vs_wc", "speedup", "efficiency", "rss_kib"]
          + [p + "_s" for p in PHASES] + [s + "_s" for s in STEPS]
          + ["map_wait_max_s", "words", "distinct"]
          + ["words_s", "rss_per_distinct", "spill_runs", "spill_written", "spill_read",
             "spill_merge_s", "memory_limit", "vs_wc_utf8"])
# --report counters summed over ranks, then the median over runs
SPILL_SUMS = ["spill_runs", "spill_written", "spill_read"]
PROGRAM_ORDER = {"wc -w": 0, "wc -w C.UTF-8": 1, "mpiwc": 2, "sort|uniq -c": 3}


def fmt(x, digits=4):
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def summarize(raw_path, out_dir, weak, meta):
    groups = {}
    with open(raw_path, newline="") as f:
        for r in csv.DictReader(f):
            key = (r["corpus"], int(r["bytes"]), r["program"], int(r["ranks"]), r["options"])
            groups.setdefault(key, {"files": int(r["files"]), "runs": []})["runs"].append(r)

    rows = []
    for key, g in groups.items():
        corpus, nbytes, program, ranks, options = key
        walls = [float(r["wall_s"]) for r in g["runs"]]
        rss = [int(r["rss_kib"]) for r in g["runs"] if r["rss_kib"]]
        med = statistics.median(walls)
        row = {"corpus": corpus, "bytes": nbytes, "files": g["files"], "program": program,
               "ranks": ranks, "options": options, "runs": len(walls), "median_s": med,
               "min_s": min(walls), "max_s": max(walls),
               "mb_s": nbytes / med / 1e6 if med > 0 else None,
               "rss_kib": max(rss) if rss else None}
        phases = {p: [] for p in PHASES + STEPS}
        waits = []
        spill = {k: [] for k in SPILL_SUMS + ["spill_merge_s", "memory_limit"]}
        words = distinct = None
        for r in g["runs"]:
            if not r["report"] or not os.path.exists(r["report"]):
                continue
            with open(r["report"]) as rf:
                rep = json.load(rf)
            for p in PHASES:
                if p in rep.get("phases", {}):
                    phases[p].append(rep["phases"][p]["wall_s"])
            for s in STEPS:
                if s in rep.get("steps", {}):
                    phases[s].append(rep["steps"][s]["avg_s"])
            c = rep.get("counters", {})
            if "map_wait_us" in c:
                waits.append(c["map_wait_us"]["max"] / 1e6)
            for k in SPILL_SUMS:
                if k in c:
                    spill[k].append(c[k]["sum"])
            if "spill_merge_us" in c:
                spill["spill_merge_s"].append(c["spill_merge_us"]["max"] / 1e6)
            if "memory_limit" in c:
                spill["memory_limit"].append(c["memory_limit"]["max"])
            words = c.get("words", {}).get("sum", words)
            distinct = c.get("owned_distinct", {}).get("sum", distinct)
        for p in PHASES + STEPS:
            row[p + "_s"] = statistics.median(phases[p]) if phases[p] else None
        row["map_wait_max_s"] = statistics.median(waits) if waits else None
        row["words"], row["distinct"] = words, distinct
        row["words_s"] = words / med if words is not None and med > 0 else None
        row["rss_per_distinct"] = row["rss_kib"] * 1024 / (distinct / ranks) \
            if row["rss_kib"] and distinct else None
        for k, v in spill.items():
            row[k] = statistics.median(v) if v else None
        rows.append(row)

    by_key = {(r["corpus"], r["bytes"], r["program"], r["ranks"], r["options"]): r for r in rows}
    for r in rows:
        for field, program in (("vs_wc", "wc -w"), ("vs_wc_utf8", "wc -w C.UTF-8")):
            wc = by_key.get((r["corpus"], r["bytes"], program, 1, "default"))
            r[field] = wc["median_s"] / r["median_s"] if wc and r["median_s"] > 0 else None
        base = None
        for b in rows:
            if (b["corpus"], b["program"], b["options"], b["ranks"]) == \
                    (r["corpus"], r["program"], r["options"], 1) and \
                    (weak or b["bytes"] == r["bytes"]):
                base = b
        r["speedup"] = r["efficiency"] = None
        if base and r["program"] == "mpiwc" and r["median_s"] > 0:
            t1 = base["median_s"]
            r["speedup"] = (r["ranks"] * t1 if weak else t1) / r["median_s"]
            r["efficiency"] = r["speedup"] / r["ranks"]
    corpus_order = []
    for r in rows:
        if r["corpus"] not in corpus_order:
            corpus_order.append(r["corpus"])
    rows.sort(key=lambda r: (corpus_order.index(r["corpus"]), PROGRAM_ORDER.get(r["program"], 9),
                             r["options"] != "default", r["options"], r["ranks"], r["bytes"]))

    with open(os.path.join(out_dir, "results.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FIELDS)
        for r in rows:
            w.writerow([fmt(r[k]) for k in FIELDS])
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"meta": meta, "rows": [{k: r[k] for k in FIELDS} for r in rows]}, f, indent=1)
        f.write("\n")

    lines = ["| corpus | program | np | options | median s | MB/s | x wc -w (C) "
             "| x wc -w (C.UTF-8) | speedup | peak RSS/rank MiB |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        size = f"{r['bytes'] / 2**20:.0f} MiB" if r["bytes"] < 2**30 else \
            f"{r['bytes'] / 2**30:.1f} GiB"
        lines.append("| {} {} | {} | {} | {} | {:.2f} | {:.0f} | {} | {} | {} | {} |".format(
            r["corpus"], size, r["program"].replace("|", "\\|"),
            r["ranks"] if r["program"] == "mpiwc" else "",
            r["options"].replace("|", "\\|") if r["program"] == "mpiwc" else "",
            r["median_s"], r["mb_s"], fmt(r["vs_wc"], 2), fmt(r["vs_wc_utf8"], 2),
            fmt(r["speedup"], 2),
            f"{r['rss_kib'] / 1024:.0f}" if r["rss_kib"] else ""))
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def gp_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plots(results_path, out_dir):
    with open(results_path, newline="") as f:
        rows = list(csv.DictReader(f))
    mp = [r for r in rows if r["program"] == "mpiwc"]
    series = []
    for r in mp:
        k = (r["corpus"], r["options"])
        if k not in series:
            series.append(k)
    out = []
    # Data blocks: one per mpiwc series (ranks, MB/s, speedup, efficiency),
    # one per wc -w baseline, one for the phase bars.
    for i, (corpus, options) in enumerate(series):
        out.append(f"$s{i} << EOD")
        for r in mp:
            if (r["corpus"], r["options"]) == (corpus, options):
                out.append(" ".join([r["ranks"], r["mb_s"] or "NaN", r["speedup"] or "NaN",
                                     r["efficiency"] or "NaN"]))
        out.append("EOD")
    wcs = [r for r in rows if r["program"] == "wc -w"]
    ranks = sorted({int(r["ranks"]) for r in mp}) or [1]
    for i, r in enumerate(wcs):
        out.append(f"$w{i} << EOD")
        out.extend(f"{n} {r['mb_s']}" for n in ranks)
        out.append("EOD")
    out.append("$phases << EOD")
    for r in mp:
        ph = [float(r[p + "_s"] or 0) for p in PHASES]
        other = max(float(r["median_s"]) - sum(ph), 0.0)
        # The map as read, tokenize and the rest; the steps are means over
        # ranks, which fit inside the map's wall.
        read, tok = (float(r[s + "_s"] or 0) for s in ("read", "tokenize"))
        ph[1:2] = [read, tok, max(ph[1] - read - tok, 0.0)]
        label = f"{r['corpus']} np{r['ranks']}" + \
            ("" if r["options"] == "default" else " " + r["options"].lstrip("-"))
        out.append(gp_str(label) + " " + " ".join(f"{x:.4f}" for x in ph + [other]))
    out.append("EOD")
    maxn = max(ranks)

    def png(name, h=480):
        return [f"set terminal pngcairo size 900,{h} noenhanced font ',10'",
                f"set output {gp_str(os.path.join(out_dir, name))}"]

    out += png("throughput.png")
    out += ["set title 'mpiwc throughput (median of timed runs; dashed: LC_ALL=C wc -w)'",
            "set xlabel 'MPI ranks'", "set ylabel 'MB/s (10^6 bytes/s)'",
            f"set xrange [0.8:{maxn + 0.2}]", "set xtics 1", "set yrange [0:*]", "set grid",
            "set key outside right top"]
    cmds = [f"$s{i} using 1:2 with linespoints lw 2 lc {i + 1} title "
            + gp_str(f"{c} {o}") for i, (c, o) in enumerate(series)]
    cmds += [f"$w{i} using 1:2 with lines dt 2 lc {i + 1} title " + gp_str(f"{r['corpus']} wc -w")
             for i, r in enumerate(wcs)]
    out.append("plot " + ", \\\n     ".join(cmds) if cmds else "plot 0 notitle")
    out.append("unset output")

    out += png("speedup.png", 420)
    out += ["set multiplot layout 1,2 title 'mpiwc scaling vs np=1 (ideal dashed)'",
            "set key inside left top", "set xlabel 'MPI ranks'", "set ylabel 'speedup'",
            f"set xrange [0.8:{maxn + 0.2}]", f"set yrange [0:{maxn + 0.5}]", "set title ''"]
    cmds = [f"$s{i} using 1:3 with linespoints lw 2 lc {i + 1} title " + gp_str(f"{c} {o}")
            for i, (c, o) in enumerate(series)]
    out.append("plot " + ", \\\n     ".join(cmds + ["x with lines dt 2 lc 'black' title 'ideal'"]))
    out += ["set ylabel 'efficiency (speedup / ranks)'", "set yrange [0:1.2]", "set key off"]
    cmds = [f"$s{i} using 1:4 with linespoints lw 2 lc {i + 1} notitle"
            for i in range(len(series))]
    out.append("plot " + ", \\\n     ".join(cmds + ["1 with lines dt 2 lc 'black' notitle"]))
    out += ["unset multiplot", "unset output"]

    out += png("phases.png", 520)
    out += ["set title 'mpiwc phase breakdown (median wall per phase, the map split by its "
            "steps; other = mpirun start-up and exit)'", "set style data histograms", "set style histogram rowstacked",
            "set style fill solid 0.8 border -1", "set boxwidth 0.75", "set xlabel ''",
            "set ylabel 'seconds'", "set xrange [*:*]", "set yrange [0:*]", "set xtics rotate by -35",
            "set key outside right top", "set grid ytics"]
    names = ["plan", "map: read", "map: tokenize", "map: rest", "shuffle", "reduce", "output",
             "other"]
    cmds = [f"$phases using {j + 2}{':xtic(1)' if j == 0 else ''} title '{n}'"
            for j, n in enumerate(names)]
    out.append("plot " + ", \\\n     ".join(cmds))
    out.append("unset output")
    path = os.path.join(out_dir, "plots.gp")
    with open(path, "w") as f:
        f.write("# Generated by bench/summarize.py --plots from results.csv; run: gnuplot "
                + "plots.gp\n" + "\n".join(out) + "\n")
    print(f"wrote {path}")


def main(argv):
    if argv[:1] == ["--plots"] and len(argv) == 3:
        plots(argv[1], argv[2])
        return 0
    weak = False
    meta = {}
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i].startswith("--weak="):
            weak = argv[i].split("=", 1)[1] == "1"
        elif argv[i] == "--meta":
            pass
        elif "=" in argv[i]:
            k, v = argv[i].split("=", 1)
            meta[k] = v
        else:
            break
        i += 1
    rest = argv[i + 1:] if i < len(argv) and argv[i] == "--" else []
    if len(rest) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    summarize(rest[0], rest[1], weak, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

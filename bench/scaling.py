#!/usr/bin/env python3
"""scaling.py - the arithmetic and the plots of slurm/scaling.sh's study.

    python3 bench/scaling.py csv OUT.csv MODE NODES JOBS REPORT...
    python3 bench/scaling.py plots SCALING.csv OUT_DIR MODE

The first form reads one --report JSON per job (REPORT..., in the order of
NODES and JOBS, each a space-separated list) and writes OUT.csv, one row per
job whose report exists:

  mode,nodes,ranks,hosts,bytes,wall_s,throughput_mb_s,speedup,efficiency,
  plan_s,map_s,shuffle_s,reduce_s,output_s,read_s,tokenize_s,pack_s,
  exchange_s,merge_s,gather_s,sort_s,write_s,job_id

  hosts        distinct host names in the report
  bytes        the bytes counter summed over ranks
  speedup      throughput (bytes / wall_s) relative to the first row: T1/TN for
               a strong study, the scaled speedup for a weak one (4 decimals)
  efficiency   speedup * ranks(first row) / ranks (4 decimals)
  plan_s ..    the job-wide wall time of each phase
  read_s ..    each step's mean over ranks (the work inside the phases)

It names every missing report on stderr and exits 1 if there was one (the CSV
then holds the jobs that did report).

The second form reads the CSV's header and writes OUT_DIR/scaling.gp, a
gnuplot script that draws from the CSV OUT_DIR/speedup.png (speedup and
efficiency against ranks, with the ideal), phases.png (time per phase) and
steps.png (time per step). Its columns are found by name in the header, so
a column added to the CSV moves no curve. Standard library only.
"""

import csv
import json
import os
import sys

PHASES = ["plan", "map", "shuffle", "reduce", "output"]
STEPS = ["read", "tokenize", "pack", "exchange", "merge", "gather", "sort", "write"]
COLUMNS = (["mode", "nodes", "ranks", "hosts", "bytes", "wall_s", "throughput_mb_s", "speedup",
            "efficiency"] + [p + "_s" for p in PHASES] + [s + "_s" for s in STEPS] + ["job_id"])


def row_of(mode, nodes, job, report):
    """One CSV row (without speedup and efficiency) from a parsed --report."""
    return {"mode": mode, "nodes": int(nodes), "ranks": report["ranks"],
            "hosts": len(set(report["hosts"])), "bytes": report["counters"]["bytes"]["sum"],
            "wall_s": report["wall_s"], "throughput_mb_s": report["throughput_mb_s"],
            "job_id": job,
            **{p + "_s": report["phases"][p]["wall_s"] for p in PHASES},
            **{s + "_s": report["steps"][s]["avg_s"] for s in STEPS}}


def add_speedup(rows):
    """Speedup and efficiency of every row relative to the first."""
    if not rows:
        return
    base = rows[0]
    for row in rows:
        row["speedup"] = round((row["bytes"] / row["wall_s"]) / (base["bytes"] / base["wall_s"]), 4)
        row["efficiency"] = round(row["speedup"] * base["ranks"] / row["ranks"], 4)


def write_csv(out, mode, nodes, jobs, reports):
    """Writes OUT; returns the reports that were missing."""
    rows, missing = [], []
    for n, job, path in zip(nodes, jobs, reports):
        if not os.path.exists(path):
            missing.append(path)
            continue
        with open(path) as f:
            rows.append(row_of(mode, n, job, json.load(f)))
    add_speedup(rows)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return missing


def gp_str(s):
    return "'" + s.replace("'", "''") + "'"


def plot_script(csv_path, out_dir, mode):
    """The gnuplot script for the CSV at csv_path, its columns found by name."""
    with open(csv_path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        first = next(reader, None)
    col = {name: i + 1 for i, name in enumerate(header)}
    missing = [c for c in ["ranks", "wall_s", "speedup", "efficiency"]
               + [p + "_s" for p in PHASES + STEPS] if c not in col]
    if missing:
        raise ValueError(f"{csv_path}: no column {', '.join(missing)}")
    r0 = float(first[col["ranks"] - 1]) if first else 1.0
    x, total = col["ranks"], col["wall_s"]

    def lines(names):
        return [f"csv using {x}:{col[n + '_s']}:xtic({x}) with linespoints title {gp_str(n + '_s')}"
                for n in names] + [f"csv using {x}:{total} with linespoints lw 2 title 'total'"]

    out = [f"csv = {gp_str(csv_path)}",
           "set datafile separator ','",
           "set terminal pngcairo size 900,600 noenhanced",
           "set key bottom right",
           "set grid",
           "set xlabel 'ranks'",
           # the first line of the CSV is its header
           "set key autotitle columnheader",
           f"r0 = {r0!r}",
           f"set output {gp_str(os.path.join(out_dir, 'speedup.png'))}",
           f"set title {gp_str('mpiwc ' + mode + ' scaling')}",
           "set ylabel 'speedup'",
           "set y2label 'efficiency'",
           "set y2range [0:*]",
           "set ytics nomirror",
           "set y2tics",
           "plot " + ", \\\n     ".join([
               f"csv using {x}:{col['speedup']}:xtic({x}) with linespoints lw 2 title 'speedup'",
               f"csv using {x}:(${x} / r0) with lines dt 2 title 'ideal'",
               f"csv using {x}:{col['efficiency']} axes x1y2 with linespoints title 'efficiency'"]),
           "unset y2label",
           "unset y2tics",
           "set ytics mirror",
           f"set output {gp_str(os.path.join(out_dir, 'phases.png'))}",
           f"set title {gp_str('mpiwc ' + mode + ' scaling: time per phase')}",
           "set ylabel 'seconds'",
           "set logscale y",
           "set key outside right",
           "plot " + ", \\\n     ".join(lines(PHASES)),
           f"set output {gp_str(os.path.join(out_dir, 'steps.png'))}",
           f"set title {gp_str('mpiwc ' + mode + ' scaling: time per step (mean over ranks)')}",
           "plot " + ", \\\n     ".join(lines(STEPS)),
           "unset output"]
    return "# Generated by bench/scaling.py plots from the CSV; run: gnuplot scaling.gp\n" + \
        "\n".join(out) + "\n"


def main(argv):
    if len(argv) >= 5 and argv[0] == "csv":
        out, mode, nodes, jobs, reports = argv[1], argv[2], argv[3].split(), argv[4].split(), argv[5:]
        missing = write_csv(out, mode, nodes, jobs, reports)
        for path in missing:
            print("scaling.sh: no report " + path, file=sys.stderr)
        return 1 if missing else 0
    if len(argv) == 4 and argv[0] == "plots":
        path = os.path.join(argv[2], "scaling.gp")
        with open(path, "w") as f:
            f.write(plot_script(argv[1], argv[2], argv[3]))
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

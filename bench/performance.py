#!/usr/bin/env python3
"""performance.py - write docs/PERFORMANCE.md from bench/run.sh's results.

    python3 bench/performance.py RESULTS.csv RESULTS.json OUT.md

Reads the rows of RESULTS.csv and the run's configuration from the "meta" of
RESULTS.json (both written by bench/summarize.py; bench/run.sh copies them to
docs/bench/), fills the template bench/PERFORMANCE.md.in and writes OUT.md:

  ${tables}         one table per corpus (and size): every program, rank count
                    and option set with runs, median s, min-max s, MB/s, the
                    ratio to LC_ALL=C wc -w, speedup, efficiency and peak RSS
                    per rank in MiB, as summarize.py computed them
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
         ("mpiwc_args", "MPIWC_ARGS"), ("mpirun_args", "MPIRUN_ARGS"), ("highcard", "HIGHCARD"),
         ("highcard_size", "HIGHCARD_SIZE"), ("highcard_vocab", "HIGHCARD_VOCAB"),
         ("highcard_repeat", "HIGHCARD_REPEAT"), ("weak", "WEAK"), ("seed", "SEED")]


def size_text(nbytes):
    return f"{nbytes / 2**20:.0f} MiB" if nbytes < 2**30 else f"{nbytes / 2**30:.1f} GiB"


def num(s, digits):
    """A CSV cell as a number with `digits` decimals; '' stays ''."""
    return "" if s in ("", None) else f"{float(s):.{digits}f}"


def cell(s):
    return s.replace("|", "\\|")


def tables(rows):
    """Markdown: one section per (corpus, bytes), in the order of the rows."""
    groups = {}
    for r in rows:
        groups.setdefault((r["corpus"], int(r["bytes"])), []).append(r)
    out = ["## Results"]
    for (corpus, nbytes), group in groups.items():
        files = group[0]["files"]
        out += ["", f"### {corpus}, {size_text(nbytes)} ({nbytes} bytes) in {files} "
                f"file{'' if files == '1' else 's'}", "",
                "| program | np | options | runs | median s | min–max s | MB/s | × wc -w "
                "| speedup | efficiency | peak RSS/rank MiB |",
                "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in group:
            mpiwc = r["program"] == "mpiwc"
            program = "`LC_ALL=C wc -w`" if r["program"] == "wc -w" else \
                f"`{r['program']}`" if not mpiwc else "mpiwc"
            out.append("| " + " | ".join([
                cell(program), r["ranks"] if mpiwc else "",
                cell(r["options"]) if mpiwc else "", r["runs"], num(r["median_s"], 3),
                f"{num(r['min_s'], 3)}–{num(r['max_s'], 3)}", num(r["mb_s"], 0),
                num(r["vs_wc"], 2), num(r["speedup"], 2), num(r["efficiency"], 2),
                num(float(r["rss_kib"]) / 1024, 0) if r["rss_kib"] else ""]) + " |")
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

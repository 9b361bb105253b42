#!/usr/bin/env bash
# scaling.sh - a strong or weak scaling study of mpiwc under Slurm.
#
#   NODES="1 2 4 8" TASKS_PER_NODE=16 bash slurm/scaling.sh
#   MODE=weak MB_PER_RANK=256 NODES="1 2 4 8" TASKS_PER_NODE=16 bash slurm/scaling.sh
#   INPUT=/shared/corpus NODES="1 2 4" bash slurm/scaling.sh
#
# Run it on the login node from a directory on the shared file system. For
# each node count N in NODES it submits one job,
#   sbatch --nodes=N --ntasks-per-node=TASKS_PER_NODE slurm/mpiwc.sbatch INPUT
# (the jobs share one name and --dependency=singleton, so they run one at a
# time and do not disturb each other's timings), waits for all of them by
# polling `scontrol show job -o JOBID`, and collects every job's --report
# JSON into OUT_DIR/scaling.csv with bench/scaling.py, one row per job in
# NODES order:
#   mode,nodes,ranks,hosts,bytes,wall_s,throughput_mb_s,speedup,efficiency,
#   plan_s,map_s,shuffle_s,reduce_s,output_s,read_s,tokenize_s,pack_s,
#   exchange_s,merge_s,gather_s,sort_s,write_s,job_id
# speedup is the throughput (bytes / wall_s) relative to the first row, so
# it is T1/TN for a strong study and the scaled speedup for a weak one;
# efficiency is speedup * ranks(first row) / ranks; the phase times are the
# job-wide wall times of mpiwc's phases, the step times each step's mean over
# ranks (--report's steps: the work inside the phases). bench/scaling.py
# also writes OUT_DIR/scaling.gp, with which gnuplot (Debian: gnuplot-nox)
# draws OUT_DIR/speedup.png (speedup and efficiency against ranks, with the
# ideal), OUT_DIR/phases.png (time per phase against ranks) and
# OUT_DIR/steps.png (time per step against ranks) from the CSV.
#
# Knobs (environment variables):
#   NODES           node counts, one job each           default "1 2 4 8"
#   TASKS_PER_NODE  ranks per node (set it to the cores) default 1
#   MODE            strong (same input for every job) or weak (input grows
#                   with the ranks)                      default strong
#   INPUT           strong: the input paths, space-separated; default: a
#                   file of SIZE_MB MiB made by MPIWC_GEN
#   WEAK_INPUTS     weak: one input path per entry of NODES, same order, each
#                   MB_PER_RANK MiB times that job's ranks; default: made by
#                   MPIWC_GEN
#   SIZE_MB         strong, generated input size         default 1024
#   MB_PER_RANK     weak, generated input per rank       default 256
#   SEED            seed for MPIWC_GEN                   default 1
#   MPIWC           the program                          default build/mpiwc
#   MPIWC_GEN       the corpus generator                 default
#                   tools/gen/mpiwc-gen next to MPIWC (build/tools/gen/mpiwc-gen),
#                   else mpiwc-gen next to MPIWC, else on PATH
#   MPIWC_ARGS      extra mpiwc options for every job    default none
#   LAUNCHER        srun or mpirun (see mpiwc.sbatch)    default srun
#   SBATCH_ARGS     extra sbatch options (partition, account, time...),
#                   split on whitespace                  default "--exclusive"
#   JOB_NAME        the jobs' name (singleton)           default mpiwc-scaling
#   OUT_DIR         results, logs, generated inputs      default
#                   scaling-YYYYmmdd-HHMMSS in the current directory
#   POLL_S          seconds between polls                default 5
#
# Every command is echoed before it runs. Exit status: 0 when every job
# completed and its report was collected, 1 otherwise (the CSV then holds the
# jobs that did complete).
set -euo pipefail

# run CMD...: echo the exact command (on stderr, so $(run ...) is the output)
run() {
    {
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    } >&2
    "$@"
}
die() {
    echo "scaling.sh: $*" >&2
    exit 1
}

NODES=${NODES:-1 2 4 8}
TASKS_PER_NODE=${TASKS_PER_NODE:-1}
MODE=${MODE:-strong}
SIZE_MB=${SIZE_MB:-1024}
MB_PER_RANK=${MB_PER_RANK:-256}
SEED=${SEED:-1}
MPIWC=${MPIWC:-build/mpiwc}
case $MPIWC in
    */*) MPIWC=$(realpath "$MPIWC") ;;
    *) MPIWC=$(command -v "$MPIWC") || die "$MPIWC is not on PATH" ;;
esac
[ -x "$MPIWC" ] || die "MPIWC: not an executable: $MPIWC (build it, or set MPIWC)"
# the generator of the same build tree, else of the same install, else on PATH
if [ -z "${MPIWC_GEN:-}" ]; then
    MPIWC_GEN=$(dirname "$MPIWC")/tools/gen/mpiwc-gen
    [ -x "$MPIWC_GEN" ] || MPIWC_GEN=$(dirname "$MPIWC")/mpiwc-gen
    [ -x "$MPIWC_GEN" ] || MPIWC_GEN=$(command -v mpiwc-gen || echo mpiwc-gen)
fi
MPIWC_ARGS=${MPIWC_ARGS:-}
LAUNCHER=${LAUNCHER:-srun}
SBATCH_ARGS=${SBATCH_ARGS---exclusive}
JOB_NAME=${JOB_NAME:-mpiwc-scaling}
OUT_DIR=${OUT_DIR:-scaling-$(date +%Y%m%d-%H%M%S)}
POLL_S=${POLL_S:-5}
SBATCH_SCRIPT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mpiwc.sbatch
# the study's arithmetic and plots, under tests/bench
SCALING_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")/../bench" && pwd)/scaling.py

mkdir -p "$OUT_DIR"
OUT_DIR=$(realpath "$OUT_DIR")
read -r -a nodes <<<"$NODES"
read -r -a sbatch_args <<<"$SBATCH_ARGS"
echo "scaling.sh: $MODE scaling over nodes ${nodes[*]}, $TASKS_PER_NODE ranks per node, results in $OUT_DIR"

# ------------------------------------------------------------------ inputs
inputs=() # the input of job i, as one space-separated string
case $MODE in
    strong)
        if [ -z "${INPUT:-}" ]; then
            [ -x "$MPIWC_GEN" ] || die "no INPUT and no generator at $MPIWC_GEN (set INPUT or MPIWC_GEN)"
            INPUT=$OUT_DIR/input/strong-${SIZE_MB}M.txt
            mkdir -p "$OUT_DIR/input"
            run "$MPIWC_GEN" --size="${SIZE_MB}M" --seed="$SEED" -o "$INPUT"
        fi
        for n in "${nodes[@]}"; do inputs+=("$INPUT"); done
        ;;
    weak)
        if [ -n "${WEAK_INPUTS:-}" ]; then
            read -r -a inputs <<<"$WEAK_INPUTS"
            [ "${#inputs[@]}" -eq "${#nodes[@]}" ] || die "WEAK_INPUTS needs one path per entry of NODES"
        else
            [ -x "$MPIWC_GEN" ] || die "no WEAK_INPUTS and no generator at $MPIWC_GEN (set WEAK_INPUTS or MPIWC_GEN)"
            mkdir -p "$OUT_DIR/input"
            for n in "${nodes[@]}"; do
                mb=$((MB_PER_RANK * n * TASKS_PER_NODE))
                run "$MPIWC_GEN" --size="${mb}M" --seed="$SEED" -o "$OUT_DIR/input/weak-${mb}M.txt"
                inputs+=("$OUT_DIR/input/weak-${mb}M.txt")
            done
        fi
        ;;
    *) die "MODE must be strong or weak, not '$MODE'" ;;
esac

# ------------------------------------------------------------------ submit
jobs=()
for i in "${!nodes[@]}"; do
    n=${nodes[i]}
    read -r -a input <<<"${inputs[i]}"
    id=$(run env MPIWC="$MPIWC" MPIWC_ARGS="$MPIWC_ARGS" LAUNCHER="$LAUNCHER" OUTPUT="$OUT_DIR/n$n.tsv" \
        sbatch --parsable --job-name="$JOB_NAME" --dependency=singleton \
        --nodes="$n" --ntasks-per-node="$TASKS_PER_NODE" --output="$OUT_DIR/n$n.log" \
        "${sbatch_args[@]}" "$SBATCH_SCRIPT" "${input[@]}")
    id=${id%%;*}
    echo "scaling.sh: nodes $n: job $id"
    jobs+=("$id")
done

# ------------------------------------------------------------------ wait
states=()
while :; do
    pending=0
    for i in "${!jobs[@]}"; do
        line=$(scontrol show job -o "${jobs[i]}" 2>/dev/null || true)
        state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
        case $state in
            PENDING | CONFIGURING | RUNNING | COMPLETING | SUSPENDED | REQUEUED | RESIZING) pending=$((pending + 1)) ;;
            "") state=${states[i]:-GONE} ;; # aged out of slurmctld: keep what was seen last
        esac
        states[i]=$state
    done
    [ "$pending" -eq 0 ] && break
    sleep "$POLL_S"
done
status=0
for i in "${!jobs[@]}"; do
    echo "scaling.sh: job ${jobs[i]} (nodes ${nodes[i]}): ${states[i]}"
    [ "${states[i]}" = COMPLETED ] || status=1
done

# ------------------------------------------------------------------ collect
reports=()
for n in "${nodes[@]}"; do reports+=("$OUT_DIR/n$n.json"); done
run python3 "$SCALING_PY" csv "$OUT_DIR/scaling.csv" "$MODE" "$NODES" "${jobs[*]}" "${reports[@]}" || status=1
echo "scaling.sh: wrote $OUT_DIR/scaling.csv"

# ------------------------------------------------------------------ plot
if command -v gnuplot >/dev/null; then
    run python3 "$SCALING_PY" plots "$OUT_DIR/scaling.csv" "$OUT_DIR" "$MODE"
    run gnuplot "$OUT_DIR/scaling.gp"
    echo "scaling.sh: wrote $OUT_DIR/speedup.png $OUT_DIR/phases.png $OUT_DIR/steps.png"
else
    echo "scaling.sh: gnuplot not found (Debian: gnuplot-nox), no plots"
fi
exit "$status"

#!/usr/bin/env bash
# slurm-single.sh - slurm/mpiwc.sbatch on a real single-node Slurm.
#
#   bash tests/cluster/slurm-single.sh BUILD/mpiwc      (meson: suite 'cluster')
#
# Starts slurmctld and slurmd by hand (private slurm.conf in the work
# directory, auth/none, both bound to 127.0.0.1, ports 16827/16828; /etc/slurm
# is never touched), then submits, with 2 tasks each, on samples/:
#   1. LAUNCHER=srun, all defaults: MPIWC found as build/mpiwc in the submit
#      directory; output, report and log land there as mpiwc-JOBID.*
#   2. LAUNCHER=mpirun, MPIWC, OUTPUT and MPIWC_ARGS set
#   3. and 4. a missing input path, with each launcher: the job must end
#      FAILED with ExitCode 1 and mpiwc's error line in its log
#   5. a Python program (docs/examples/wordcount.py) with the mpiwc package
#      installed into a DESTDIR, under srun --mpi=pmix
# Each job is polled with scontrol; the output of 1 and 2 must be identical to
# a plain mpirun run's. Exit 0 passed, 1 failed, 77 skipped (not root; never
# under CI=true). Work directory: ${TMPDIR:-/tmp}/mpiwc-cluster/slurm-single
# (MPIWC_CLUSTER_WORK overrides the parent), removed when the test passes.
# shellcheck disable=SC2034 # used by lib.sh
TEST_NAME=slurm-single
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 MPIWC"
MPIWC=$(realpath "$1")
[ -x "$MPIWC" ] || die "not an executable: $MPIWC"
need_root
install_deps
begin_work

NODE=$(hostname -s)
CTLD_PORT=16827
SLURMD_PORT=16828
unset "${!SLURM_@}" # nothing from an outer Slurm job
export SLURM_CONF=$WORK/slurm.conf
# mpirun inside the jobs: shared memory, and its control channel on loopback
export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo

# ------------------------------------------------------------------ cluster
slurm_dirs "$NODE"
{
    cat <<EOF
ClusterName=mpiwc-single
SlurmctldHost=$NODE(127.0.0.1)
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
EOF
    slurm_conf_common
    echo "NodeName=$NODE NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN"
    echo "PartitionName=single Nodes=ALL Default=YES MaxTime=10 State=UP"
} >"$SLURM_CONF"

if ss -ltn | grep -qE "[:.]($CTLD_PORT|$SLURMD_PORT)[[:space:]]"; then
    die "ports $CTLD_PORT/$SLURMD_PORT are in use by something this test did not start"
fi
run /usr/sbin/slurmctld -c -f "$SLURM_CONF"
run /usr/sbin/slurmd -f "$SLURM_CONF" -N "$NODE"
wait_idle 1
log "slurmctld pid $(cat "$WORK/run/slurmctld.pid"), slurmd pid $(cat "$WORK/run/slurmd.$NODE.pid"), node $NODE idle"

# ------------------------------------------------------------------ inputs
mkdir -p "$WORK/submit/build" "$WORK/out"
cp -r "$REPO/samples" "$WORK/submit/samples"
ln -s "$MPIWC" "$WORK/submit/build/mpiwc"
(cd "$WORK/submit" && reference_run "$WORK/ref.tsv" samples/)
(cd "$WORK/submit" && reference_run "$WORK/ref-top5.tsv" --top 5 samples/)
SBATCH="$REPO/slurm/mpiwc.sbatch"

# ------------------------------------------------------------------ 1. srun, defaults
log "job 1: LAUNCHER=srun; MPIWC, OUTPUT and the log left to their defaults"
job=$(submit -u MPIWC -u OUTPUT -u MPIWC_ARGS LAUNCHER=srun -- --ntasks=2 --time=2 "$SBATCH" samples/)
wait_job "$job"
expect_job COMPLETED 0:0 "$WORK/submit/mpiwc-$job.log"
grep -qxF "+ srun --mpi=pmix $WORK/submit/build/mpiwc --report=$WORK/submit/mpiwc-$job.json -o $WORK/submit/mpiwc-$job.tsv samples/" \
    "$WORK/submit/mpiwc-$job.log" || die "job 1: the echoed command is not the expected one"
cmp "$WORK/ref.tsv" "$WORK/submit/mpiwc-$job.tsv" || die "job 1: output differs from the plain mpirun run"
[ "$(report_ranks "$WORK/submit/mpiwc-$job.json")" = "2 2" ] || die "job 1: the report does not show 2 ranks"

# ------------------------------------------------------------------ 2. mpirun, knobs set
log "job 2: LAUNCHER=mpirun; MPIWC, OUTPUT and MPIWC_ARGS set"
job=$(submit MPIWC="$MPIWC" OUTPUT="$WORK/out/words.tsv" MPIWC_ARGS="--top 5" LAUNCHER=mpirun -- \
    --ntasks=2 --time=2 --output="$WORK/out/job-%j.log" "$SBATCH" samples/)
wait_job "$job"
expect_job COMPLETED 0:0 "$WORK/out/job-$job.log"
grep -qxF "+ mpirun $MPIWC --top 5 --report=$WORK/out/words.json -o $WORK/out/words.tsv samples/" \
    "$WORK/out/job-$job.log" || die "job 2: the echoed command is not the expected one"
cmp "$WORK/ref-top5.tsv" "$WORK/out/words.tsv" || die "job 2: output differs from the plain mpirun run"
[ "$(report_ranks "$WORK/out/words.json")" = "2 2" ] || die "job 2: the report does not show 2 ranks"

# ------------------------------------------------------------------ 3, 4. missing input
n=3
for launcher in srun mpirun; do
    log "job $n: LAUNCHER=$launcher, a missing input path"
    job=$(submit MPIWC="$MPIWC" OUTPUT="$WORK/out/fail-$launcher.tsv" LAUNCHER=$launcher -- \
        --ntasks=2 --time=2 --output="$WORK/out/job-%j.log" "$SBATCH" samples/ no-such-dir/)
    wait_job "$job"
    expect_job FAILED 1:0 "$WORK/out/job-$job.log"
    grep -qxF "mpiwc: no-such-dir/: No such file or directory" "$WORK/out/job-$job.log" ||
        die "job $n: mpiwc's error line is not in the job log"
    grep -qF "exit status 1" "$WORK/out/job-$job.log" || die "job $n: the log does not give the status"
    [ ! -e "$WORK/out/fail-$launcher.tsv" ] || die "job $n: a failed run left an output file"
    n=$((n + 1))
done

# ------------------------------------------------------------------ 5. Python
# A sanitized libmpiwc cannot be loaded into python3 (tests/lib runs the
# library under the sanitizers).
if ldd "$(dirname "$MPIWC")/libmpiwc.so.0" | grep -qE 'lib(a|ub)san'; then
    log "job 5: skipped: libmpiwc is built with sanitizers"
else
    log "job 5: docs/examples/wordcount.py with the installed mpiwc package, srun --mpi=pmix"
    run meson install -C "$(dirname "$MPIWC")" --destdir "$WORK/inst" --no-rebuild --quiet >/dev/null
    pkg=$(find "$WORK/inst" -path '*/mpiwc/__init__.py' | head -1)
    [ -n "$pkg" ] || die "job 5: meson install put no mpiwc package in $WORK/inst"
    cat >"$WORK/submit/python.sbatch" <<EOF
#!/bin/bash
srun --mpi=pmix /usr/bin/python3 $REPO/docs/examples/wordcount.py samples/ >$WORK/out/python.tsv
EOF
    job=$(submit PYTHONPATH="$(dirname "$(dirname "$pkg")")" -- \
        --ntasks=2 --time=2 --output="$WORK/out/job-%j.log" "$WORK/submit/python.sbatch")
    wait_job "$job"
    expect_job COMPLETED 0:0 "$WORK/out/job-$job.log"
    (cd "$WORK/submit" && reference_run "$WORK/ref-space.tsv" --split=space --case=keep --sort=word samples/)
    cmp "$WORK/ref-space.tsv" "$WORK/out/python.tsv" || die "job 5: the Python program's table differs from mpiwc's"
fi

log "PASS (ran): single-node Slurm, sbatch slurm/mpiwc.sbatch via srun --mpi=pmix and mpirun = plain mpirun; a missing input ends FAILED with mpiwc's error; a Python program with the mpiwc package under srun"

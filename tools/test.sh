#!/usr/bin/env bash
# test.sh - the project's whole test command (what CI runs).
#
#   bash tools/test.sh
#
# Installs the Debian dependencies, configures a fresh build directory build-ci
# with warnings as errors, builds, and runs every test; then, each in its own
# build directory:
#   - the release tarball (meson dist) unpacked, built as users build it (the
#     default buildtype, release: -O3, the only optimized build tested), and
#     its unit, error, install, property and three MPI tests run,
#   - the unit tests once more under valgrind (memcheck),
#   - the whole suite again built with AddressSanitizer + UndefinedBehavior-
#     Sanitizer in build-asan (leak checking on for the unit and fuzz-replay
#     tests, with tests/sanitize/lsan.supp for Open MPI's own leaks; off for
#     the runs under mpirun, where Open MPI leaks at finalize),
#   - each libFuzzer harness for FUZZ_SECONDS in build-fuzz (clang only).
# Exits with the status of the first step that fails (a failing test step
# does not stop the later ones). The last line counts every test of every step.
# Knobs: BUILD_DIR (default build-ci), DIST=0, VALGRIND=0, SANITIZE=0, FUZZ=0
# skip a step; FUZZ_SECONDS (default 20), PROPERTY_ITERATIONS (default 30),
# FAULTS_MB (default 300) size the fuzz, property and fault tests.
set -euo pipefail

# /dev/null must be the null device. Run as root, a program that renames a
# file over it (mpiwc -o /dev/null did, before it wrote devices in place)
# turns it into a plain file that collects everything written to it, and
# every later reader -- meson's probe of the compiler runs `clang -E -` with
# standard input from /dev/null -- reads that back. devnull_intact STEP puts
# the device back and says so; after a test step it also counts as a failure.
devnull_intact() {
    [ -c /dev/null ] && return 0
    printf '==> /dev/null is not a character device %s; making it again\n' "$1" >&2
    if [ "$(id -u)" = 0 ]; then rm -f /dev/null && mknod -m 666 /dev/null c 1 3; fi
    return 1
}
devnull_intact "before the tests" || true
# No test reads standard input: tools that do (clang -E - while meson probes
# the compiler) must not inherit whatever the caller left there.
exec </dev/null

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build-ci}
ASAN_DIR=build-asan
FUZZ_DIR=build-fuzz
export FUZZ_SECONDS=${FUZZ_SECONDS:-20}

current="starting"
step() {
    current=$*
    printf '\n==> %s\n' "$*"
}
run() {
    printf '+ %s\n' "$*"
    "$@"
}
finish() {
    local rc=$?
    if [ "$rc" -eq 0 ]; then
        printf '\n==> PASS: configured, built and tested in %s\n' "$BUILD_DIR"
    elif [ -n "$first_failed" ]; then
        printf '\n==> FAIL: %s (exit %s; every later step ran)\n' "$first_failed" "$rc"
    else
        printf '\n==> FAIL: %s (exit %s)\n' "$current" "$rc"
    fi
    # Last line: the summary in the plain form CI reads.
    [ -z "$summary" ] || printf '%s\n' "$summary"
}
summary=""
first_failed=""
trap finish EXIT

step "installing dependencies"
run bash tools/install-deps.sh

step "configuring a fresh $BUILD_DIR"
run rm -rf "$BUILD_DIR"
run meson setup "$BUILD_DIR" --werror --buildtype=debugoptimized

step "building"
run meson compile -C "$BUILD_DIR"

# mtest LABEL meson-test-args...: run one `meson test`, keep its output in
# LABEL.txt, remember the first failing status, and add its counts to the
# summary (Ok and Expected Fail pass; Fail and Timeout fail).
status=0
passed=0
failed=0
mtest() {
    local out=$1 rc=0
    shift
    run meson test "$@" | tee "$out" || rc=$?
    [ "$status" -ne 0 ] || status=$rc
    [ "$rc" -eq 0 ] || [ -n "$first_failed" ] || first_failed=$current
    local ok xfail fail timeout
    ok=$(sed -n 's/^Ok: *\([0-9]*\) *$/\1/p' "$out" | tail -n 1)
    xfail=$(sed -n 's/^Expected Fail: *\([0-9]*\) *$/\1/p' "$out" | tail -n 1)
    fail=$(sed -n 's/^Fail: *\([0-9]*\) *$/\1/p' "$out" | tail -n 1)
    timeout=$(sed -n 's/^Timeout: *\([0-9]*\) *$/\1/p' "$out" | tail -n 1)
    passed=$(( passed + ${ok:-0} + ${xfail:-0} ))
    failed=$(( failed + ${fail:-0} + ${timeout:-0} ))
    # A meson that fails before it prints its counts still counts as a failure.
    if [ "$rc" -ne 0 ] && [ -z "$fail$timeout" ]; then failed=$(( failed + 1 )); fi
    if ! devnull_intact "after: meson test $*"; then
        failed=$(( failed + 1 ))
        [ "$status" -ne 0 ] || status=1
        [ -n "$first_failed" ] || first_failed="$current (it left /dev/null a plain file)"
    fi
    summary=$(printf 'tests: %d passed, %d failed' "$passed" "$failed")
}
timed() {
    local t0=$SECONDS
    "$@"
    printf '(step took %d s)\n' "$(( SECONDS - t0 ))"
}

step "testing (log: $BUILD_DIR/meson-logs/testlog.txt)"
timed mtest "$BUILD_DIR/test-output.txt" -C "$BUILD_DIR" --print-errorlogs

# The release tarball (meson dist: the committed files only) builds on its
# own and passes the unit, error, install, property and a few MPI tests. It
# is built with the default buildtype (release), as the README installs it:
# every other step builds debugoptimized, and -O3 has been seen to miscount
# where -O2 did not (an inline-asm multiply, since dropped). Needs a git
# checkout; skipped in a tree unpacked from a tarball.
if [ "${DIST:-1}" != 0 ] && git rev-parse --git-dir >/dev/null 2>&1; then
    step "release tarball: meson dist, then build and test what it unpacks to"
    rm -rf "$BUILD_DIR/meson-dist" "$BUILD_DIR/dist-check"
    run meson dist -C "$BUILD_DIR" --no-tests --allow-dirty --formats xztar
    mkdir -p "$BUILD_DIR/dist-check"
    run tar -xJf "$BUILD_DIR"/meson-dist/mpiwc-*.tar.xz -C "$BUILD_DIR/dist-check"
    dist_src=$(echo "$BUILD_DIR"/dist-check/mpiwc-*)
    run meson setup "$dist_src/build" --werror
    run meson compile -C "$dist_src/build"
    timed mtest "$BUILD_DIR/test-dist.txt" -C "$dist_src/build" --no-rebuild --print-errorlogs \
        --suite unit --suite errors --suite install
    timed mtest "$BUILD_DIR/test-dist-mpi.txt" -C "$dist_src/build" --no-rebuild --print-errorlogs \
        mpi-few-words mpi-tree mpi-compressed property
fi

# The unit tests that start no MPI (the shuffle ones do: Open MPI's own
# allocations are checked by the sanitizer step instead).
if [ "${VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
    step "unit tests under valgrind (log: $BUILD_DIR/meson-logs/testlog-valgrind.txt)"
    # Not codec either: its round trips through every buffer size take minutes under memcheck
    # (the sanitizer step covers it). Nor ngram-scalar (45 s here): the n-gram code has no
    # SIMD of its own, and tokenize-scalar checks the scalar scan it shares under memcheck.
    mapfile -t unit_names < <(meson test -C "$BUILD_DIR" --no-rebuild --list --suite unit 2>/dev/null |
        sed -n 's|^[^:]*:unit / ||p' | grep -v -e '^shuffle' -e '^codec$' -e '^ngram-scalar$')
    # Nor NAME-avx2 where valgrind hides AVX-512 from the program (3.19 has
    # none): NAME itself then runs at AVX2, the same code under memcheck.
    # A probe built here asks what this valgrind shows.
    probe=$BUILD_DIR/valgrind-avx512-probe
    if printf '%s\n' '#include <stdio.h>' 'int main(void) { __builtin_cpu_init();' \
        'printf("%d", !!__builtin_cpu_supports("avx512bw")); return 0; }' |
        cc -x c -o "$probe" - && [ "$(valgrind -q "$probe")" = 0 ]; then
        printf 'valgrind hides AVX-512: NAME runs at AVX2 here, NAME-avx2 skipped\n'
        mapfile -t unit_names < <(printf '%s\n' "${unit_names[@]}" | grep -v -e '-avx2$')
    fi
    timed mtest "$BUILD_DIR/test-valgrind.txt" -C "$BUILD_DIR" --no-rebuild --setup=valgrind \
        --print-errorlogs "${unit_names[@]}"
fi

if [ "${SANITIZE:-1}" != 0 ]; then
    step "configuring a fresh $ASAN_DIR (AddressSanitizer + UndefinedBehaviorSanitizer)"
    run rm -rf "$ASAN_DIR"
    run meson setup "$ASAN_DIR" --werror --buildtype=debugoptimized \
        -Db_sanitize=address,undefined -Db_lundef=false
    step "building $ASAN_DIR"
    run meson compile -C "$ASAN_DIR"
    supp=$PWD/tests/sanitize/lsan.supp
    ubsan=halt_on_error=1:abort_on_error=1:print_stacktrace=1
    step "sanitizers: unit and fuzz-replay tests, leaks checked (slow unwinding, so that Open MPI's leaks match $supp)"
    # Not the codec unit test: its round trips through buffers of 1 byte to 1 MiB
    # make ASan's allocator map and unmap memory for minutes (5 min, 4 of them in
    # the kernel, even without leak checks). The codec still runs under ASan in
    # the MPI suites below (compressed files and stdin, corrupt and truncated input).
    mapfile -t leak_names < <(meson test -C "$ASAN_DIR" --no-rebuild --list --suite unit --suite fuzz \
        2>/dev/null | sed -n 's|^[^:]*:[a-z]* / ||p' | grep -v '^codec$')
    ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=1 \
        LSAN_OPTIONS=suppressions=$supp:print_suppressions=0 UBSAN_OPTIONS=$ubsan \
        timed mtest "$ASAN_DIR/test-output-leaks.txt" -C "$ASAN_DIR" --no-rebuild --print-errorlogs \
        "${leak_names[@]}"
    # Not cluster-slurm-requeue: it needs its job to outlast a 1-minute Slurm
    # time limit several times over, a matter of Slurm's clock, not of memory
    # (the checkpoint code it drives runs under the sanitizers in mpi-checkpoint).
    # Not mpi-shuffle and mpi-walk (84 s and more here under the sanitizers):
    # the node shuffle runs under them in shuffle-np* above, leaks checked, and
    # the shared walk in every directory case of the mpi suite at np 2 to 7
    # and in the plan unit test. Not mpi-cjk-runs, mpi-multilingual,
    # mpi-high-bytes and mpi-stdin-vt (65-72 s each): word rules and bytes
    # that the tokenize, unicode and words unit tests (leaks checked) and the
    # tokenize fuzz harness run under the sanitizers, and standard input that
    # mpi-stdin, mpi-stdin-mixed and mpi-stdin-long-runs run here. Together
    # they kept the whole run near 49 minutes, past its 45.
    step "sanitizers: every other suite (under mpirun; leak checking off)"
    mapfile -t other_names < <(meson test -C "$ASAN_DIR" --no-rebuild --list --no-suite unit \
        --no-suite fuzz 2>/dev/null | sed -n 's|^[^:]*:[a-z]* / ||p' |
        grep -v -x -e cluster-slurm-requeue -e mpi-shuffle -e mpi-walk -e mpi-cjk-runs \
            -e mpi-multilingual -e mpi-high-bytes -e mpi-stdin-vt)
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=$ubsan \
        timed mtest "$ASAN_DIR/test-output.txt" -C "$ASAN_DIR" --no-rebuild --print-errorlogs \
        "${other_names[@]}"
fi

# libFuzzer comes with clang: without it the step is skipped (the committed
# inputs still replay in every build, as the fuzz suite's replay tests).
if [ "${FUZZ:-1}" != 0 ] && command -v clang >/dev/null &&
    echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return (int)(d[0] + n) * 0; }' |
    clang -x c -fsanitize=fuzzer,address -o /dev/null - 2>/dev/null; then
    step "configuring a fresh $FUZZ_DIR (clang, libFuzzer, ASan + UBSan)"
    run rm -rf "$FUZZ_DIR"
    run env CC=clang meson setup "$FUZZ_DIR" --buildtype=debugoptimized -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false
    step "building the fuzz harnesses"
    mapfile -t harnesses < <(meson introspect "$FUZZ_DIR" --targets |
        python3 -c 'import json,sys; print("\n".join(t["name"] for t in json.load(sys.stdin) if t["name"].startswith("fuzz_")))')
    run meson compile -C "$FUZZ_DIR" "${harnesses[@]}"
    step "fuzzing each harness for $FUZZ_SECONDS s (log: $FUZZ_DIR/meson-logs/testlog.txt)"
    ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
        timed mtest "$FUZZ_DIR/test-output.txt" -C "$FUZZ_DIR" --no-rebuild --print-errorlogs --suite fuzz
    grep -h '^fuzz [a-z]*: ' "$FUZZ_DIR/meson-logs/testlog.txt" || true
else
    step "fuzzing skipped (FUZZ=0, or no clang with libFuzzer)"
fi

exit "$status"

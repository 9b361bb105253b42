#!/usr/bin/env bash
# test.sh - the project's whole test command (what CI runs).
#
#   bash tools/test.sh
#
# Installs the Debian dependencies, configures a fresh build directory build-ci
# with warnings as errors, builds, and runs every test. Exits with the status of
# the first step that fails, which for the tests is `meson test`'s.
# Knob: BUILD_DIR (default build-ci).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build-ci}

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
    else
        printf '\n==> FAIL: %s (exit %s)\n' "$current" "$rc"
    fi
    # Last line: the summary in the plain form CI reads.
    [ -z "$summary" ] || printf '%s\n' "$summary"
}
summary=""
trap finish EXIT

step "installing dependencies"
run bash tools/install-deps.sh

step "configuring a fresh $BUILD_DIR"
run rm -rf "$BUILD_DIR"
run meson setup "$BUILD_DIR" --werror --buildtype=debugoptimized

step "building"
run meson compile -C "$BUILD_DIR"

step "testing (log: $BUILD_DIR/meson-logs/testlog.txt)"
status=0
run meson test -C "$BUILD_DIR" --print-errorlogs | tee "$BUILD_DIR/test-output.txt" || status=$?

# The closing line in the plain form CI reads: "tests: N passed, N failed".
ok=$(sed -n 's/^Ok: *\([0-9]*\)$/\1/p' "$BUILD_DIR/test-output.txt" | tail -n 1)
expected_fail=$(sed -n 's/^Expected Fail: *\([0-9]*\)$/\1/p' "$BUILD_DIR/test-output.txt" | tail -n 1)
failed=$(sed -n 's/^Fail: *\([0-9]*\)$/\1/p' "$BUILD_DIR/test-output.txt" | tail -n 1)
timeouts=$(sed -n 's/^Timeout: *\([0-9]*\)$/\1/p' "$BUILD_DIR/test-output.txt" | tail -n 1)
summary=$(printf 'tests: %d passed, %d failed' "$(( ${ok:-0} + ${expected_fail:-0} ))" \
    "$(( ${failed:-0} + ${timeouts:-0} ))")
exit "$status"

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
}
trap finish EXIT

step "installing dependencies"
run bash tools/install-deps.sh

step "configuring a fresh $BUILD_DIR"
run rm -rf "$BUILD_DIR"
run meson setup "$BUILD_DIR" --werror --buildtype=debugoptimized

step "building"
run meson compile -C "$BUILD_DIR"

step "testing (log: $BUILD_DIR/meson-logs/testlog.txt)"
run meson test -C "$BUILD_DIR" --print-errorlogs

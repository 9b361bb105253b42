# tap.sh - TAP checks for the shell tests that install mpiwc (sourced).
#
#   source tests/tap.sh; check "what it shows" COMMAND...; ...; tap_end
#
# check runs COMMAND (a function or a program) with its output kept in
# $TAP_LOG, prints "ok N - ..." or "not ok N - ..." with the first 20 lines
# of that output as comments; tap_end prints the plan and exits 1 if any
# check failed. TAP_LOG defaults to a file in ${TMPDIR:-/tmp}.
n=0
failed=0
TAP_LOG=${TAP_LOG:-$(mktemp)}
check() { # check DESCRIPTION COMMAND...
    n=$((n + 1))
    if "${@:2}" >"$TAP_LOG" 2>&1; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        sed 's/^/# /' "$TAP_LOG" | head -20
        failed=1
    fi
}
tap_end() {
    rm -f "$TAP_LOG"
    echo "1..$n"
    exit "$failed"
}

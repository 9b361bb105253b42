#!/usr/bin/env bash
# bible-corpus.sh CACHE BYTES - bench/lib.sh's bible_corpus for a script that
# does not source lib.sh (bench/multihost.sh, whose helpers are the cluster
# tests'): the King James Bible repeated to BYTES bytes, made once as
# CACHE/bible-BYTES.txt; prints its path. Run from the checkout's root.
set -euo pipefail
# shellcheck disable=SC2034 # used by lib.sh
BENCH=bible-corpus LOG=${LOG:-/dev/null}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CACHE_DIR=$1 bible_corpus "$2"

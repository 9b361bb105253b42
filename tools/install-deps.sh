#!/usr/bin/env bash
# install-deps.sh - install the Debian packages mpiwc needs to build and test.
#
# Idempotent: when every package is already installed it does nothing (no apt).
# Otherwise it runs `apt-get update` once and installs only the missing ones.
# Uses sudo only when not root and sudo exists.
#
#   bash tools/install-deps.sh
set -euo pipefail

# The one list of the project's Debian packages.
PACKAGES=(
    build-essential # C compiler, libc headers
    pkg-config      # meson finds cmocka through it
    meson
    ninja-build
    openmpi-bin     # mpirun
    libopenmpi-dev  # mpicc, mpi.h, libmpi (and libpmix for srun --mpi=pmix)
    libcmocka-dev   # unit tests
    python3         # MPI test runner and reference counter
    libicu-dev      # Unicode words: categories, folding, normalization, UAX #29
    python3-icu     # the reference counter's UAX #29 segmentation
    python3-mpi4py  # the Python package (python/mpiwc): communicators from Python
    python3-pandas  # the Python package's count_frame()
    # Compressed input (src/codec.c), detected by magic bytes.
    zlib1g-dev      # gzip
    libbz2-dev      # bzip2
    liblzma-dev     # xz
    libzstd-dev     # zstd
    zstd            # the zstd command: test fixtures and the reference counter
    liburing-dev    # io_uring: many input files probed in batches (src/probe.c)
    # The cluster tests (tests/cluster) and slurm/scaling.sh. The Debian
    # services stay down: they need /etc/slurm/slurm.conf, which is never
    # written; the tests start their own daemons with a private config.
    slurmctld       # Slurm controller
    slurmd          # Slurm node daemon
    slurm-client    # sbatch, srun, scontrol, sinfo
    gnuplot-nox     # scaling.sh's plots
    time            # GNU time: peak RSS in bench/run.sh (and its test, bench-run)
    iproute2        # ip netns: hosts as network namespaces; ss
    # Memory checking in tools/test.sh: valgrind for the unit tests; clang
    # with its runtime (libFuzzer, ASan, UBSan) for the fuzz harnesses.
    valgrind
    clang
    libclang-rt-dev
    clang-format    # tests/check_format.py: every C file as .clang-format says
)

log() { printf 'install-deps: %s\n' "$*"; }

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    log "all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        log "not root and no sudo: cannot install: ${missing[*]}" >&2
        exit 1
    fi
fi

log "installing: ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
log "done"

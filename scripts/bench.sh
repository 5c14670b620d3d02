#!/usr/bin/env bash
# Runs the library benchmark (bench/bench_jose.c) pinned to one core and prints its table, also kept in
# BUILD_DIR/bench-jose.txt for scripts/bench-charts.sh.
# Usage: scripts/bench.sh BUILD_DIR   (env: BENCH_CPU, BENCH_BATCHES, BENCH_BATCH_MS)
# Figures only: it never fails on a timing, only when the benchmark cannot be built or run.
set -euo pipefail

build=${1:-build}
bin="$build/bench/bench_jose"
if [[ ! -x "$bin" ]]; then
    echo "bench: $bin not built (needs libjwt-dev and libcjose-dev; run scripts/deps.sh, then make)" >&2
    exit 1
fi

# Core 1 when the machine has one, else core 0: the same core for every figure of a run.
cpu=${BENCH_CPU:-$(( $(nproc) > 1 ? 1 : 0 ))}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "note: this machine may be shared with other work; figures are noisy, compare within one run."
echo "command: taskset -c $cpu $bin"
echo
pin=(taskset -c "$cpu")
if ! command -v taskset >/dev/null 2>&1; then
    echo "bench: taskset not found, running unpinned" >&2
    pin=()
fi
"${pin[@]}" "$bin" | tee "$build/bench-jose.txt"

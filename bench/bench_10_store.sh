#!/usr/bin/env bash
# bench/bench_10_store.sh — partition-log append throughput vs the raw disk
# (bench/store_bench.c), both measured in this run in a temporary directory
# under build/ (same disk as the repo; set STORE_BENCH_DIR to override).
# Prints MB/s per row (best of 3 runs of <= 1 s / 256 MiB each) and the
# ratio to the matching raw figure.
# Goals: 1 MiB + never >= 80% of raw write; always x64 >= 50% of raw write.
set -eu
cd "$(dirname "$0")/.."
BUILD=${SLUICE_BUILD:-$PWD/build/release}
BIN="$BUILD/bench/store_bench"
if [ ! -x "$BIN" ]; then
	make -s MODE=release "$BIN" >/dev/null
fi
base=${STORE_BENCH_DIR:-$PWD/build}
mkdir -p "$base"
dir=$(mktemp -d "$base/store-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$BIN" "$dir" "${STORE_BENCH_SECONDS:-1}" "${STORE_BENCH_MIB:-256}"

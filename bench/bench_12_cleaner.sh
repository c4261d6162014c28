#!/usr/bin/env bash
# bench/bench_12_cleaner.sh — the Kafka log cleaner's throughput
# (bench/clean_bench.c: one whole compaction pass over a partition log)
# beside raw sequential disk write, both measured in this run in a
# temporary directory under build/ (set STORE_BENCH_DIR to override).
# Prints MB/s of segment bytes cleaned and the ratio to raw write.
set -eu
cd "$(dirname "$0")/.."
BUILD=${SLUICE_BUILD:-$PWD/build/release}
BIN="$BUILD/bench/clean_bench"
if [ ! -x "$BIN" ]; then
	make -s MODE=release "$BIN" >/dev/null
fi
base=${STORE_BENCH_DIR:-$PWD/build}
mkdir -p "$base"
dir=$(mktemp -d "$base/clean-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
timeout -k 10 "${BENCH_TIME_LIMIT:-600}" "$BIN" "$dir" "${CLEAN_BENCH_MIB:-256}"

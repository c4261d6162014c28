#!/usr/bin/env bash
# bench/run.sh — `make bench`: runs every bench/bench_*.sh part in order.
# Each part measures sluice side by side with the machine's limit or the
# reference server in the same run and prints ratios. Never a timed test.
set -u
cd "$(dirname "$0")/.."
export SLUICE_BUILD="$PWD/build/release"
status=0
for part in bench/bench_*.sh; do
	[ -e "$part" ] || continue
	echo "=== $part"
	bash "$part" || { echo "bench part $part failed"; status=1; }
done
exit $status

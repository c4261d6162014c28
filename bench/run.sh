#!/usr/bin/env bash
# bench/run.sh — `make bench`: runs every bench/bench_*.sh part in order.
# Each part measures sluice side by side with the machine's limit or the
# reference server in the same run and prints ratios. Never a timed test.
#
# Bounded: every load run inside a part has its own limit
# (BENCH_TIME_LIMIT seconds, 600 by default: timeout(1) in the scripts,
# bench/bound.h in the C programs), and each part as a whole is killed
# after BENCH_PART_LIMIT seconds (2400), so `make bench` never hangs.
set -u
cd "$(dirname "$0")/.."
export SLUICE_BUILD="$PWD/build/release"
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
PART_LIMIT=${BENCH_PART_LIMIT:-2400}
status=0
for part in bench/bench_*.sh; do
	[ -e "$part" ] || continue
	echo "=== $part"
	timeout -k 30 "$PART_LIMIT" bash "$part"
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "bench part $part exceeded ${PART_LIMIT}s and was stopped"
		status=1
	elif [ $rc -ne 0 ]; then
		echo "bench part $part failed"
		status=1
	fi
done
exit $status

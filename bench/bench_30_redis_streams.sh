#!/usr/bin/env bash
# bench_30_redis_streams.sh — Redis streams: sluiced vs Debian's redis-server
# in the same run, printed as ratios (sluice / redis, higher is better).
#
#   XADD with a 100-byte value, 50 clients, pipeline 1, 16 and 64
#     (redis-benchmark): sluice fsync=never vs redis appendonly no, and
#     sluice fsync=always vs redis appendonly yes + appendfsync always;
#   batch readers over BENCH_STREAM_N entries (default 1M): XREAD COUNT 1000
#     from the last seen ID, and XREADGROUP COUNT 1000 + XACK of each batch
#     (bench/resp_stream_read.c).
# Every figure but the group reader (which consumes) is the best of 3 runs.
#
# Uses $SLUICE_BUILD/sluiced (bench/run.sh exports build/release).
set -u
# Every load run is bounded (bench/run.sh; bound.h for the C programs).
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
BUILD=${SLUICE_BUILD:-$PWD/build/release}
SLUICED=$BUILD/sluiced
READER=$BUILD/bench/resp_stream_read
N_NEVER=${BENCH_XADD_N:-200000}
N_ALWAYS=${BENCH_XADD_N_ALWAYS:-50000}
N_READ=${BENCH_STREAM_N:-1000000}
for f in "$SLUICED" "$READER"; do
	[ -x "$f" ] || { echo "missing $f (make MODE=release build benches)"; exit 1; }
done
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
	{ echo "redis-server/redis-benchmark missing"; exit 1; }

TMP=$(mktemp -d /tmp/bench-streams.XXXXXX)
. bench/redis_lib.sh

# The machine's disk and CPUs are shared: each figure is the best of 3.
best3() {
	local best=0 v
	for _ in 1 2 3; do
		v=$("$@")
		best=$(awk -v a="$v" -v b="$best" 'BEGIN { print (a + 0 > b + 0) ? a : b }')
	done
	echo "$best"
}

xadd_once() { # PORT PIPELINE N
	timeout -k 5 "$BENCH_TIME_LIMIT" redis-benchmark -p "$1" -c 50 -n "$3" -P "$2" -q XADD bench '*' f "$VAL" 2>/dev/null |
		tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1
}
xadd_rps() { best3 xadd_once "$@"; }



printf "%-44s %12s %12s %9s\n" "streams" "sluice" "redis" "ratio"
for mode in never always; do
	if [ "$mode" = never ]; then
		sp=$(start_sluice never); rp=$(start_redis no everysec); n=$N_NEVER
		ref="appendonly no"
	else
		sp=$(start_sluice always); rp=$(start_redis yes always); n=$N_ALWAYS
		ref="appendfsync always"
	fi
	for pl in 1 16 64; do
		s=$(xadd_rps "$sp" "$pl" "$n")
		r=$(xadd_rps "$rp" "$pl" "$n")
		row "XADD 100B P$pl fsync=$mode vs $ref (ops/s)" "$s" "$r"
	done
	if [ "$mode" = never ]; then
		for p in "$sp" "$rp"; do "$READER" "$p" fill "$N_READ" >/dev/null || exit 1; done
		s=$(best3 "$READER" "$sp" xread "$N_READ" 1000)
		r=$(best3 "$READER" "$rp" xread "$N_READ" 1000)
		row "XREAD COUNT 1000 over $N_READ (entries/s)" "$s" "$r"
		s=$("$READER" "$sp" group "$N_READ" 1000)
		r=$("$READER" "$rp" group "$N_READ" 1000)
		row "XREADGROUP COUNT 1000 + XACK (entries/s)" "$s" "$r"
	fi
	stop_servers
done

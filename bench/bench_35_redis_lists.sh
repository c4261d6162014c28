#!/usr/bin/env bash
# bench_35_redis_lists.sh — Redis lists, pub/sub and string keys: sluiced vs
# Debian's redis-server in the same run, printed as ratios (sluice / redis,
# higher is better).
#
#   redis-benchmark, 50 clients, 100-byte values, pipeline 1, 16 and 64:
#     LPUSH, RPOP, LPOP (on a list filled by the LPUSH run), PUBLISH (no
#     subscribers), SET, GET; sluice fsync=never vs redis appendonly no, and
#     sluice fsync=always vs redis appendonly yes + appendfsync always;
#   a BLPOP worker pool (BENCH_BLPOP_WORKERS threads, default 8) draining
#     BENCH_BLPOP_N items (default 1M) with BLPOP q 1 (bench/resp_blpop_drain.c);
#   each row BENCH_ROUNDS times (default 3) per server, alternately, medians.
#
# Uses $SLUICE_BUILD/sluiced (bench/run.sh exports build/release).
set -u
# Every load run is bounded (bench/run.sh; bound.h for the C programs).
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
BUILD=${SLUICE_BUILD:-$PWD/build/release}
SLUICED=$BUILD/sluiced
DRAIN=$BUILD/bench/resp_blpop_drain
N_NEVER=${BENCH_LISTS_N:-200000}
N_ALWAYS=${BENCH_LISTS_N_ALWAYS:-50000}
N_BLPOP=${BENCH_BLPOP_N:-1000000}
W_BLPOP=${BENCH_BLPOP_WORKERS:-8}
for f in "$SLUICED" "$DRAIN"; do
	[ -x "$f" ] || { echo "missing $f (make MODE=release build benches)"; exit 1; }
done
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
	{ echo "redis-server/redis-benchmark missing"; exit 1; }

TMP=$(mktemp -d /tmp/bench-lists.XXXXXX)
. bench/redis_lib.sh

rps() { # PORT PIPELINE N COMMAND...
	local port=$1 pl=$2 n=$3
	shift 3
	timeout -k 5 "$BENCH_TIME_LIMIT" redis-benchmark -p "$port" -c 50 -n "$n" -P "$pl" -q "$@" 2>/dev/null |
		tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1
}


# One round of every row on one server (run_rounds, redis_lib.sh).
group() { # PORT WHO
	local p=$1 pl
	for pl in 1 16 64; do
		redis-cli -p "$p" del bl >/dev/null
		# LPUSH runs twice (2n items) so that RPOP and LPOP each pop n.
		measure "LPUSH P$pl fsync=$mode vs $ref" "$2" "$p" "$n" rps "$p" "$pl" "$n" LPUSH bl "$VAL"
		rps "$p" "$pl" "$n" LPUSH bl "$VAL" >/dev/null
		measure "RPOP P$pl fsync=$mode vs $ref" "$2" "$p" "$n" rps "$p" "$pl" "$n" RPOP bl
		measure "LPOP P$pl fsync=$mode vs $ref" "$2" "$p" "$n" rps "$p" "$pl" "$n" LPOP bl
		measure "PUBLISH P$pl fsync=$mode vs $ref" "$2" "$p" "$n" rps "$p" "$pl" "$n" PUBLISH ch "$VAL"
		measure "SET P$pl fsync=$mode vs $ref" "$2" "$p" "$n" \
			rps "$p" "$pl" "$n" -r 100000 SET k:__rand_int__ "$VAL"
		measure "GET P$pl fsync=$mode vs $ref" "$2" "$p" "$n" rps "$p" "$pl" "$n" -r 100000 GET k:__rand_int__
	done
	if [ "$mode" = never ]; then
		redis-cli -p "$p" del q >/dev/null
		"$DRAIN" "$p" fill "$N_BLPOP" || exit 1
		measure "BLPOP x$W_BLPOP workers, $N_BLPOP items (items/s)" "$2" "$p" "$N_BLPOP" \
			"$DRAIN" "$p" drain "$N_BLPOP" "$W_BLPOP"
	fi
}

header "lists, pub/sub, keys (ops/s)"
for mode in never always; do
	if [ "$mode" = never ]; then
		sp=$(start_sluice never); rp=$(start_redis no everysec); n=$N_NEVER; ref="aof no"
	else
		sp=$(start_sluice always); rp=$(start_redis yes always); n=$N_ALWAYS; ref="fsync always"
	fi
	run_rounds "$sp" "$rp"
	stop_servers
done

#!/usr/bin/env bash
# bench_36_redis_types.sh — Redis hashes, sets and sorted sets: sluiced vs
# Debian's redis-server in the same run, printed as ratios (sluice / redis,
# higher is better).
#
#   redis-benchmark, 50 clients, pipeline 1 and 16:
#     HSET (random fields of one hash, 100-byte values), SADD (random
#     members of one set), ZADD (random scores and members of one sorted
#     set), ZPOPMIN (from the sorted set the ZADD runs filled: they run
#     twice, so the pops find members throughout);
#   sluice fsync=never vs redis appendonly no, and sluice fsync=always vs
#   redis appendonly yes + appendfsync always;
#   each row BENCH_ROUNDS times (default 3) per server, alternately, medians.
#
# Goal (issue 15): at least 1.0x with never, 1.5x with always.
# Uses $SLUICE_BUILD/sluiced (bench/run.sh exports build/release).
set -u
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
BUILD=${SLUICE_BUILD:-$PWD/build/release}
SLUICED=$BUILD/sluiced
N_NEVER=${BENCH_TYPES_N:-200000}
N_ALWAYS=${BENCH_TYPES_N_ALWAYS:-50000}
[ -x "$SLUICED" ] || { echo "missing $SLUICED (make MODE=release build)"; exit 1; }
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
	{ echo "redis-server/redis-benchmark missing"; exit 1; }

TMP=$(mktemp -d /tmp/bench-types.XXXXXX)
. bench/redis_lib.sh

rps() { # PORT PIPELINE N COMMAND...
	local port=$1 pl=$2 n=$3
	shift 3
	timeout -k 5 "$BENCH_TIME_LIMIT" redis-benchmark -p "$port" -c 50 -n "$n" -P "$pl" -r 100000 -q "$@" 2>/dev/null |
		tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1
}

# One round of every row on one server (run_rounds, redis_lib.sh). The
# sorted set starts each round with the same members (ZADD's m:* and the
# fill's n:*), so ZPOPMIN pops the same number in every round.
group() { # PORT WHO
	local p=$1 pl
	for pl in 1 16; do
		redis-cli -p "$p" del bh bs bz >/dev/null
		measure "HSET P$pl fsync=$mode vs $ref" "$2" "$p" "$n" rps "$p" "$pl" "$n" HSET bh f:__rand_int__ "$VAL"
		measure "SADD P$pl fsync=$mode vs $ref" "$2" "$p" "$n" rps "$p" "$pl" "$n" SADD bs m:__rand_int__
		measure "ZADD P$pl fsync=$mode vs $ref" "$2" "$p" "$n" \
			rps "$p" "$pl" "$n" ZADD bz __rand_int__ m:__rand_int__
		rps "$p" "$pl" "$n" ZADD bz __rand_int__ n:__rand_int__ >/dev/null
		measure "ZPOPMIN P$pl fsync=$mode vs $ref" "$2" "$p" "$n" rps "$p" "$pl" "$n" ZPOPMIN bz
	done
}

header "hashes, sets, sorted sets (ops/s)"
for mode in never always; do
	if [ "$mode" = never ]; then
		sp=$(start_sluice never); rp=$(start_redis no everysec); n=$N_NEVER; ref="aof no"
	else
		sp=$(start_sluice always); rp=$(start_redis yes always); n=$N_ALWAYS; ref="fsync always"
	fi
	run_rounds "$sp" "$rp"
	stop_servers
done

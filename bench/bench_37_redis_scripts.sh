#!/usr/bin/env bash
# bench_37_redis_scripts.sh — Lua scripting: sluiced vs Debian's
# redis-server in the same run, printed as ratios (sluice / redis, higher
# is better).
#
#   redis-benchmark EVALSHA of a short script (INCR of one key through
#   redis.call), 50 clients, pipeline 1 and 16;
#   bullmq jobs/s: N jobs added (addBulk) and processed by 4 Workers
#   (concurrency 8 each), tests/clients/resp-bullmq/bench.js;
#   sluice fsync=never vs redis appendonly no, and sluice fsync=always vs
#   redis appendonly yes + appendfsync always;
#   each row BENCH_ROUNDS times (default 3) per server, alternately, medians.
#
# Goal (issue 15): at least 1.0x with never, 1.5x with always.
# Uses $SLUICE_BUILD/sluiced (bench/run.sh exports build/release) and the
# npm project in tests/clients/resp-bullmq (scripts/deps.sh test installs it).
set -u
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
BUILD=${SLUICE_BUILD:-$PWD/build/release}
SLUICED=$BUILD/sluiced
N_NEVER=${BENCH_SCRIPTS_N:-200000}
N_ALWAYS=${BENCH_SCRIPTS_N_ALWAYS:-50000}
JOBS_NEVER=${BENCH_BULLMQ_N:-20000}
JOBS_ALWAYS=${BENCH_BULLMQ_N_ALWAYS:-5000}
BULLMQ=tests/clients/resp-bullmq
[ -x "$SLUICED" ] || { echo "missing $SLUICED (make MODE=release build)"; exit 1; }
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
	{ echo "redis-server/redis-benchmark missing"; exit 1; }
[ -d "$BULLMQ/node_modules" ] || { echo "missing $BULLMQ/node_modules (scripts/deps.sh test)"; exit 1; }

TMP=$(mktemp -d /tmp/bench-scripts.XXXXXX)
. bench/redis_lib.sh

SCRIPT="return redis.call('incr', KEYS[1])"

rps() { # PORT PIPELINE N COMMAND...
	local port=$1 pl=$2 n=$3
	shift 3
	timeout -k 5 "$BENCH_TIME_LIMIT" redis-benchmark -p "$port" -c 50 -n "$n" -P "$pl" -q "$@" 2>/dev/null |
		tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1
}

jobs() { # PORT N
	(cd "$BULLMQ" && timeout -k 5 "$BENCH_TIME_LIMIT" node bench.js "$1" "$2" 2>/dev/null | tail -1)
}

# One round of every row on one server (run_rounds, redis_lib.sh).
group() { # PORT WHO
	local p=$1 pl sha
	sha=$(redis-cli -p "$p" script load "$SCRIPT")
	for pl in 1 16; do
		measure "EVALSHA P$pl fsync=$mode vs $ref" "$2" "$p" "$n" \
			rps "$p" "$pl" "$n" EVALSHA "$sha" 1 bench:counter
	done
	measure "bullmq add+process 4 workers fsync=$mode vs $ref" "$2" "$p" "$nj" jobs "$p" "$nj"
}

header "scripts (ops/s, jobs/s)"
for mode in never always; do
	if [ "$mode" = never ]; then
		sp=$(start_sluice never); rp=$(start_redis no everysec); n=$N_NEVER; nj=$JOBS_NEVER
		ref="aof no"
	else
		sp=$(start_sluice always); rp=$(start_redis yes always); n=$N_ALWAYS; nj=$JOBS_ALWAYS
		ref="fsync always"
	fi
	run_rounds "$sp" "$rp"
	stop_servers
done

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
# Servers are started inside $(...) subshells, so their pids go to files.
stop_servers() {
	for f in "$TMP"/*.pid; do
		[ -e "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null
		rm -f "$f"
	done
	wait 2>/dev/null
}
cleanup() {
	stop_servers
	rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_sluice FSYNC -> prints the port (reads the READY line from a fifo).
start_sluice() {
	local dir=$TMP/sluice-$1-$RANDOM fifo=$TMP/ready-$RANDOM
	mkdir -p "$dir"
	mkfifo "$fifo"
	"$SLUICED" --data-dir="$dir" --fsync="$1" --resp-port=0 --kafka-port=off \
		--beanstalk-port=off --http-port=off --log.level=warn --ready-fd=3 3>"$fifo" \
		>>"$TMP/sluiced.log" 2>&1 &
	echo $! >"$TMP/sluice-$RANDOM.pid"
	local line
	read -r line <"$fifo"
	sed -E 's/.*resp=([0-9]+).*/\1/' <<<"$line"
}

# start_redis APPENDONLY APPENDFSYNC -> prints the port.
start_redis() {
	local port dir=$TMP/redis-$RANDOM
	mkdir -p "$dir"
	port=$(free_port)
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly "$1" \
		--appendfsync "$2" --dir "$dir" --daemonize no >/dev/null 2>&1 &
	echo $! >"$TMP/redis-$RANDOM.pid"
	for _ in $(seq 200); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.05 # a foreign server without a ready fd
	done
	echo "$port"
}

VAL=$(head -c 100 /dev/zero | tr '\0' v)
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
	redis-benchmark -p "$1" -c 50 -n "$3" -P "$2" -q XADD bench '*' f "$VAL" 2>/dev/null |
		tr '\r' '\n' | grep -Eo '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1
}
xadd_rps() { best3 xadd_once "$@"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

row() { # LABEL SLUICE REDIS
	printf "%-44s %12s %12s %8sx\n" "$1" "$2" "$3" "$(ratio "$2" "$3")"
}

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

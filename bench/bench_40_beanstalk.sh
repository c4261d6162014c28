#!/usr/bin/env bash
# bench/bench_40_beanstalk.sh — beanstalkd protocol: sluiced against Debian's
# beanstalkd 1.12 in the same run, with bench/bstk_load (pipelined put of
# 100-byte jobs, then reserve+delete), 1 and 4 connections.
#   in memory: sluiced --fsync=never   vs beanstalkd (no -b)
#   durable:   sluiced --fsync=always  vs beanstalkd -b DIR -f0
# Prints jobs/s of both and the ratio sluice/beanstalkd. Goals: >= 1.5x in
# memory, >= 3x durable.
set -u
# Every load run is bounded (bench/run.sh; bound.h for the C programs).
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
B=${SLUICE_BUILD:-$PWD/build/release}
LOAD=$B/bench/bstk_load
SLUICED=$B/sluiced
WINDOW=64
[ -x "$LOAD" ] && [ -x "$SLUICED" ] || { echo "build first: make MODE=release build benches"; exit 1; }
command -v beanstalkd >/dev/null || { echo "beanstalkd not installed"; exit 1; }
TMP=$(mktemp -d /tmp/bench-bstk.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
	for _ in $(seq 1 200); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "port $1 never opened"; exit 1
}

start_sluiced() { # fsync -> sets SP
	local d=$TMP/sluice-$1-$RANDOM
	mkdir -p "$d"
	"$SLUICED" --data-dir="$d" --fsync="$1" --kafka-port=off --resp-port=off --http-port=off \
		--log.level=warn --beanstalk-port=0 --ready-fd=3 3>"$d.ready" >"$d.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 200); do
		grep -q READY "$d.ready" 2>/dev/null && break
		sleep 0.05 # the READY line is written to a file; poll it
	done
	SP=$(sed -n 's/.*beanstalk=\([0-9]*\).*/\1/p' "$d.ready")
	[ -n "$SP" ] || { echo "sluiced did not start"; cat "$d.log"; exit 1; }
}

start_beanstalkd() { # extra args... -> sets BP
	BP=$(free_port)
	beanstalkd -l 127.0.0.1 -p "$BP" "$@" >/dev/null 2>&1 &
	PIDS+=($!)
	wait_port "$BP"
}

stop_last() { local p=${PIDS[-1]}; kill "$p"; wait "$p" 2>/dev/null; unset 'PIDS[-1]'; }

field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }

compare() { # label conns jobs_sluice jobs_ref sluice_port ref_port
	local s r
	s=$("$LOAD" "$5" "$2" "$3" $WINDOW) || { echo "sluice load failed"; exit 1; }
	r=$("$LOAD" "$6" "$2" "$4" $WINDOW) || { echo "beanstalkd load failed"; exit 1; }
	for what in put_per_s reserve_delete_per_s; do
		local a b
		a=$(echo "$s" | field $what)
		b=$(echo "$r" | field $what)
		awk -v l="$1" -v c="$2" -v w="$what" -v a="$a" -v b="$b" 'BEGIN {
			printf "beanstalk %-9s conns=%d %-21s sluice=%8d/s beanstalkd=%8d/s ratio=%.2fx\n",
			       l, c, w, a, b, (b > 0 ? a / b : 0) }'
	done
}

for conns in 1 4; do
	start_sluiced never
	start_beanstalkd
	compare in-memory "$conns" $((200000 / conns)) $((40000 / conns)) "$SP" "$BP"
	stop_last; stop_last
done
for conns in 1 4; do
	start_sluiced always
	mkdir -p "$TMP/binlog-$conns"
	start_beanstalkd -b "$TMP/binlog-$conns" -f0
	compare durable "$conns" $((40000 / conns)) $((2000 / conns)) "$SP" "$BP"
	stop_last; stop_last
done

#!/usr/bin/env bash
# bench/bench_50_cli.sh — `sluice bench` (libsluice's pusher and queue)
# against build/release/sluiced with fsync=always: produce, consume and
# end-to-end latency, 100-byte messages. Prints the tool's summary lines
# (msg/s, MB/s, p50/p99). Measured, never asserted. CLI_BENCH_SCALE=0.1
# for a quick run.
set -u
# Every load run is bounded (bench/run.sh; bound.h for the C programs).
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
B=${SLUICE_BUILD:-$PWD/build/release}
SCALE=${CLI_BENCH_SCALE:-1}
for t in "$B/sluiced" "$B/sluice"; do
	[ -x "$t" ] || { echo "bench_50_cli: missing $t (make MODE=release build)"; exit 1; }
done
TMP=$(mktemp -d /tmp/sluice-bench-cli.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

n() { awk -v s="$SCALE" -v v="$1" 'BEGIN { printf "%d", v * s < 100 ? 100 : v * s }'; }

# sluiced with only Kafka on an ephemeral port; the READY line gives it.
mkfifo "$TMP/ready"
"$B/sluiced" --data-dir="$TMP/data" --kafka-port=0 --resp-port=off --beanstalk-port=off \
	--http-port=off --fsync=always --log.level=warn --ready-fd=3 \
	3>"$TMP/ready" 2>"$TMP/sluiced.log" &
PIDS+=($!)
read -r ready <"$TMP/ready"
PORT=$(sed -n 's/.*kafka=\([0-9]*\).*/\1/p' <<<"$ready")
[ -n "$PORT" ] || { echo "bench_50_cli: sluiced did not start"; cat "$TMP/sluiced.log"; exit 1; }
export SLUICE_BROKERS=127.0.0.1:$PORT

run() { # label args...
	local label=$1 out
	shift
	out=$(timeout -k 5 "$BENCH_TIME_LIMIT" "$B/sluice" bench "$@" 2>"$TMP/err") || { echo "cli $label: failed: $(cat "$TMP/err")"; exit 1; }
	printf 'cli %-22s %s\n' "$label" "$out"
}

"$B/sluice" topics create cli-bench --partitions 4 >/dev/null || exit 1
run "produce acks=1" produce -t cli-bench -n "$(n 500000)" -s 100 --acks 1
run "produce acks=all" produce -t cli-bench -n "$(n 200000)" -s 100 --acks all
run "consume" consume -t cli-bench
run "e2e 1000 msg/s" e2e -n "$(n 5000)" -s 100 --rate 1000
run "e2e unpaced" e2e -n "$(n 100000)" -s 100

# Beside it, in the same run: the same produce with plain librdkafka
# (bench/kafka_load.c: batch.size 1 MB, linger 5 ms, no compression, best of
# three) against the same sluiced — what the library layer costs.
# kafka_load writes partition 0 only, so the like-for-like line runs the
# pusher on a one-partition topic (same partition layout); the 4-partition
# line adds what spreading every other message over 4 partitions costs
# (least-bytes with equal sizes alternates per message: librdkafka then
# batches, acknowledges and frees 4 interleaved queues).
LOAD=$B/bench/kafka_load
if [ -x "$LOAD" ]; then
	N=$(n 500000)
	"$B/sluice" topics create raw-bench --partitions 4 >/dev/null || exit 1
	"$B/sluice" topics create cli-raw --partitions 4 >/dev/null || exit 1
	"$B/sluice" topics create cli-raw1 --partitions 1 >/dev/null || exit 1
	raw=$("$LOAD" --bootstrap "$SLUICE_BROKERS" --topic raw-bench throughput --count "$N" \
		--size 100 --acks 1 2>"$TMP/err") || { echo "kafka_load failed: $(cat "$TMP/err")"; exit 1; }
	raw_mps=$(grep -o 'produce_mps=[0-9.]*' <<<"$raw" | cut -d= -f2)
	best_of3() { # topic: the best msg/s of three runs
		local best=0 out mps
		for _ in 1 2 3; do
			out=$(timeout -k 5 "$BENCH_TIME_LIMIT" "$B/sluice" bench produce -t "$1" -n "$N" -s 100 --acks 1 \
				-o compression=none -o flush.interval=5 2>"$TMP/err") || { echo "cli failed: $(cat "$TMP/err")" >&2; return 1; }
			mps=$(grep -oE '[0-9]+ msg/s' <<<"$out" | head -n1 | cut -d' ' -f1)
			[ "${mps:-0}" -gt "$best" ] && best=$mps
		done
		echo "$best"
	}
	one=$(best_of3 cli-raw1) || exit 1
	four=$(best_of3 cli-raw) || exit 1
	awk -v c="$one" -v f="$four" -v r="$raw_mps" 'BEGIN {
		printf "cli produce vs librdkafka  %d msg/s vs %d msg/s = %.2fx (100 B, acks=1, no compression, best of 3, both 1 partition)\n", c, r, (r > 0 ? c / r : 0)
		printf "cli produce, 4 partitions  %d msg/s = %.2fx of librdkafka on 1 (least-bytes spreads every message)\n", f, (r > 0 ? f / r : 0) }'
fi

# The consume side, likewise: plain librdkafka (kafka_load throughput: one
# consumer reading partition 0 from the start, timed first to last message,
# best of three) and `sluice bench consume` (sl_queue with the bench's
# settings, also timed first to last counted message, best of three) over
# the same messages of the same topic.
if [ -x "$LOAD" ]; then
	N=$(n 500000)
	"$B/sluice" topics create raw-consume --partitions 1 >/dev/null || exit 1
	raw=$("$LOAD" --bootstrap "$SLUICE_BROKERS" --topic raw-consume throughput --count "$N" \
		--size 100 --acks 1 2>"$TMP/err") || { echo "kafka_load failed: $(cat "$TMP/err")"; exit 1; }
	raw_mps=$(grep -o 'consume_mps=[0-9.]*' <<<"$raw" | cut -d= -f2)
	best=0
	for _ in 1 2 3; do
		out=$(timeout -k 5 "$BENCH_TIME_LIMIT" "$B/sluice" bench consume -t raw-consume 2>"$TMP/err") || { echo "cli failed: $(cat "$TMP/err")"; exit 1; }
		mps=$(grep -oE '[0-9]+ msg/s' <<<"$out" | head -n1 | cut -d' ' -f1)
		[ "${mps:-0}" -gt "$best" ] && best=$mps
	done
	awk -v c="$best" -v r="$raw_mps" 'BEGIN { printf "cli consume vs librdkafka  %d msg/s vs %d msg/s = %.2fx (100 B, one partition, best of 3)\n", c, r, (r > 0 ? c / r : 0) }'
fi

#!/usr/bin/env bash
# bench/bench_20_kafka.sh — Kafka produce/consume throughput and latency.
#
# Drives build/release/sluiced (fsync=always) with bench/kafka_load.c (a
# librdkafka load generator) and prints each figure beside three references
# measured in the same run:
#   mock   the same generator against librdkafka's in-process mock broker
#          (test.mock.num.brokers=1, no disk, keeps only its last 5 MB, so
#          its consume figure reads that tail)
#   redis  redis-benchmark XADD against Debian's redis-server, same payload,
#          pipeline 16
#   iperf3 loopback TCP bandwidth (for 1 MB-message consume)
# Latency is measured at half of the produce+consume rate the broker
# sustains here (kafka_load sustain: a producer and a consumer at once, as
# the latency run has), not at half the produce-only peak: with both on the
# same 2 cores that is past saturation and measures the queue (p50 ~1 s).
# Every load run is bounded in time (--max-seconds, timeout(1)): a
# reference that cannot keep up reports n/a instead of hanging the bench.
# Measured, never asserted. Set KAFKA_BENCH_SCALE=0.2 for a quick run.
set -u
# Every load run is bounded (bench/run.sh; bound.h for the C programs).
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
B=${SLUICE_BUILD:-$PWD/build/release}
LOAD=$B/bench/kafka_load
SCALE=${KAFKA_BENCH_SCALE:-1}
for t in "$B/sluiced" "$LOAD" redis-server redis-benchmark iperf3; do
	command -v "$t" >/dev/null || { echo "bench_20_kafka: missing $t"; exit 1; }
done
TMP=$(mktemp -d /tmp/sluice-bench-kafka.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

n() { awk -v s="$SCALE" -v v="$1" 'BEGIN { printf "%d", v * s < 50 ? 50 : v * s }'; }
field() { sed -nE "s/.*(^| )$1=([^ ]+).*/\2/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# sluiced with only the Kafka listener on an ephemeral port (READY line).
mkfifo "$TMP/ready"
"$B/sluiced" --data-dir="$TMP/data" --kafka-port=0 --resp-port=off --beanstalk-port=off \
	--http-port=off --fsync=always --message.max.bytes=4194304 --ready-fd=3 \
	3>"$TMP/ready" 2>"$TMP/sluiced.log" &
PIDS+=($!)
read -r ready <"$TMP/ready"
KPORT=$(sed -nE 's/.*kafka=([0-9]+).*/\1/p' <<<"$ready")
[ -n "$KPORT" ] || { echo "sluiced did not start"; cat "$TMP/sluiced.log"; exit 1; }
BS=127.0.0.1:$KPORT

# Each run gets its own topic (run is called in a subshell, so no counter).
# Bounded: kafka_load gives up after --max-seconds, timeout(1) kills it 60 s
# later if even that fails.
RUN_LIMIT=${KAFKA_BENCH_RUN_LIMIT:-300}
run() {
	timeout -k 5 $((RUN_LIMIT + 60)) "$LOAD" "$@" --max-seconds "$RUN_LIMIT" \
		--topic "t-$(date +%s%N)" 2>>"$TMP/load.log" | tail -n 1 | tee -a "$TMP/raw.log"
}

echo "kafka: sluiced at $BS (fsync=always), librdkafka load generator, scale $SCALE"
S100=$(run --bootstrap "$BS" throughput --size 100 --count "$(n 500000)" --acks 1)
S1K=$(run --bootstrap "$BS" throughput --size 1024 --count "$(n 200000)" --acks 1)
S100A=$(run --bootstrap "$BS" throughput --size 100 --count "$(n 300000)" --acks -1)
S1KA=$(run --bootstrap "$BS" throughput --size 1024 --count "$(n 100000)" --acks -1)
S1M=$(run --bootstrap "$BS" throughput --size 1000000 --count "$(n 200)" --acks 1)
M100=$(run --mock throughput --size 100 --count "$(n 500000)" --consume-count 40000 --acks 1)
M1K=$(run --mock throughput --size 1024 --count "$(n 200000)" --consume-count 4000 --acks 1)
# The same tail length for sluice's consume, to compare like with like.
S100T=$(run --bootstrap "$BS" throughput --size 100 --count "$(n 500000)" --consume-count 40000 --acks 1)
S1KT=$(run --bootstrap "$BS" throughput --size 1024 --count "$(n 200000)" --consume-count 4000 --acks 1)
for v in S100 S1K S100A S1KA S1M M100 M1K S100T S1KT; do
	[ -n "${!v}" ] || { echo "load run $v failed:"; tail -5 "$TMP/load.log"; exit 1; }
done
SUST=$(run --bootstrap "$BS" sustain --size 100 --seconds 4)
[ -n "$SUST" ] || { echo "sustain run failed:"; tail -5 "$TMP/load.log"; exit 1; }
HALF=$(awk -v p="$(field sustain_mps "$SUST")" 'BEGIN { printf "%d", p / 2 }')
LAT=$(run --bootstrap "$BS" latency --size 100 --rate "$HALF" --seconds 3)
LAT50=$(run --bootstrap "$BS" latency --size 100 --rate 50000 --seconds 3)
# The mock broker does not long-poll, so its latency is a loose reference;
# it may not keep up at this rate at all (then n/a, within the bound).
LATM=$(run --mock latency --size 100 --rate "$HALF" --seconds 3)
[ -n "$LATM" ] || LATM="p50_us=n/a p99_us=n/a"

# redis-server XADD at pipeline 16, same payloads.
RPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$TMP" \
	--daemonize no >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
xadd() {
	local val
	val=$(head -c "$1" /dev/zero | tr '\0' x)
	timeout -k 5 "$BENCH_TIME_LIMIT" redis-benchmark -p "$RPORT" -n "$(n 500000)" -P 16 -c 4 -q XADD "s$1" '*' f "$val" 2>/dev/null |
		sed -nE 's/.*: ([0-9.]+) requests per second.*/\1/p' | tail -n 1
}
R100=$(xadd 100)
R1K=$(xadd 1024)

# Loopback bandwidth.
IPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
iperf3 -s -1 -p "$IPORT" -B 127.0.0.1 >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do timeout -k 5 60 iperf3 -c 127.0.0.1 -p "$IPORT" -t 3 -f M 2>/dev/null >"$TMP/iperf" && break; sleep 0.05; done
IPERF=$(sed -nE 's/.* ([0-9.]+) MBytes\/sec.*receiver.*/\1/p' "$TMP/iperf" | tail -n 1)
IPERF_MB=$(awk -v m="$IPERF" 'BEGIN { printf "%.1f", m * 1.048576 }')

echo "raw load-generator lines:"
sed 's/^/  /' "$TMP/raw.log"
p() { printf '  %-44s %12s %s\n' "$1" "$2" "$3"; }
echo "results (msgs/s unless noted; ratio = sluice / reference)"
p "produce 100 B acks=1" "$(field produce_mps "$S100")" \
	"mock $(field produce_mps "$M100") ratio $(ratio "$(field produce_mps "$S100")" "$(field produce_mps "$M100")"); redis XADD $R100 ratio $(ratio "$(field produce_mps "$S100")" "$R100")"
p "produce 1 KiB acks=1" "$(field produce_mps "$S1K")" \
	"mock $(field produce_mps "$M1K") ratio $(ratio "$(field produce_mps "$S1K")" "$(field produce_mps "$M1K")"); redis XADD $R1K ratio $(ratio "$(field produce_mps "$S1K")" "$R1K")"
p "consume 100 B (all 1.5M from start)" "$(field consume_mps "$S100")" \
	"redis XADD $R100 ratio $(ratio "$(field consume_mps "$S100")" "$R100")"
p "consume 100 B (last 40000, as the mock)" "$(field consume_mps "$S100T")" \
	"mock $(field consume_mps "$M100") ratio $(ratio "$(field consume_mps "$S100T")" "$(field consume_mps "$M100")")"
p "consume 1 KiB (all 600k from start)" "$(field consume_mps "$S1K")" \
	"redis XADD $R1K ratio $(ratio "$(field consume_mps "$S1K")" "$R1K")"
p "consume 1 KiB (last 4000, as the mock)" "$(field consume_mps "$S1KT")" \
	"mock $(field consume_mps "$M1K") ratio $(ratio "$(field consume_mps "$S1KT")" "$(field consume_mps "$M1K")")"
p "produce 100 B acks=-1 fsync=always" "$(field produce_mps "$S100A")" \
	"vs acks=1 ratio $(ratio "$(field produce_mps "$S100A")" "$(field produce_mps "$S100")")"
p "produce 1 KiB acks=-1 fsync=always" "$(field produce_mps "$S1KA")" \
	"vs acks=1 ratio $(ratio "$(field produce_mps "$S1KA")" "$(field produce_mps "$S1K")")"
p "consume 1 MB messages (MB/s)" "$(field consume_mbps "$S1M")" \
	"iperf3 loopback $IPERF_MB MB/s ratio $(ratio "$(field consume_mbps "$S1M")" "$IPERF_MB")"
p "produce+consume sustained 100 B" "$(field sustain_mps "$SUST")" "(latency below runs at half)"
p "latency at $HALF msgs/s p50/p99 (us)" "$(field p50_us "$LAT")/$(field p99_us "$LAT")" \
	"mock $(field p50_us "$LATM")/$(field p99_us "$LATM")"
p "latency at 50000 msgs/s p50/p99 (us)" "$(field p50_us "$LAT50")/$(field p99_us "$LAT50")" ""

#!/usr/bin/env bash
# bench/bench_38_kafka_txn.sh — Kafka transactions (issue 17): transactional
# produce (1 KiB records, 100 per transaction: begin, 100 produces, commit)
# against idempotent produce of the same records, and read_committed against
# read_uncommitted consume of the transactional topic (one commit marker per
# 100 records; read_committed stops at the last stable offset and receives
# the aborted-transactions list). Drives build/release/sluiced
# (fsync=always) with bench/kafka_txn_load.c (librdkafka). Goals (issue 17):
# transactional >= 0.7x idempotent, read_committed >= 0.95x
# read_uncommitted. Measured, never asserted. A transaction costs one
# producer three sequential syncs under fsync=always (AddPartitionsToTxn's
# journal record, the produce, the decision; EndTxn is answered once the
# decision is durable and the markers' syncs run alongside the next
# transaction), plus three client round trips, which bounds one
# producer's transactional rate by the disk's sync latency, not by
# bandwidth, while idempotent produce pipelines its syncs. The client
# bounds it first: librdkafka runs a transaction as a series of round trips
# between its threads (begin, register the partition, flush, EndTxn), so the
# same producer against librdkafka's in-process mock broker (no disk, no
# sync, answers at once) is printed beside sluice as the ceiling.
# KAFKA_BENCH_SCALE=0.2 for a quick run.
set -u
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
B=${SLUICE_BUILD:-$PWD/build/release}
LOAD=$B/bench/kafka_txn_load
SCALE=${KAFKA_BENCH_SCALE:-1}
for t in "$B/sluiced" "$LOAD"; do
	command -v "$t" >/dev/null || { echo "bench_38_kafka_txn: missing $t"; exit 1; }
done
TMP=$(mktemp -d /tmp/sluice-bench-txn.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

n() { awk -v s="$SCALE" -v v="$1" 'BEGIN { printf "%d", v * s < 1000 ? 1000 : v * s }'; }
field() { sed -nE "s/.*(^| )$1=([^ ]+).*/\2/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

mkfifo "$TMP/ready"
"$B/sluiced" --data-dir="$TMP/data" --kafka-port=0 --resp-port=off --beanstalk-port=off \
	--http-port=off --fsync=always --ready-fd=3 3>"$TMP/ready" 2>"$TMP/sluiced.log" &
PIDS+=($!)
read -r ready <"$TMP/ready"
KPORT=$(sed -nE 's/.*kafka=([0-9]+).*/\1/p' <<<"$ready")
[ -n "$KPORT" ] || { echo "sluiced did not start"; cat "$TMP/sluiced.log"; exit 1; }
BS=127.0.0.1:$KPORT

RUN_LIMIT=${KAFKA_BENCH_RUN_LIMIT:-300}
run() {
	timeout -k 5 $((RUN_LIMIT + 60)) "$LOAD" --bootstrap "$BS" --max-seconds "$RUN_LIMIT" "$@" \
		2>>"$TMP/load.log" | tail -n 1
}
# The same producer against librdkafka's in-process mock broker, which
# answers at once with no disk and no sync: what the client itself allows.
run_mock() {
	timeout -k 5 $((RUN_LIMIT + 60)) "$LOAD" --mock --max-seconds "$RUN_LIMIT" "$@" \
		2>>"$TMP/load.log" | tail -n 1
}

COUNT=$(n 200000)
echo "kafka transactions: sluiced at $BS (fsync=always), $COUNT records of 1 KiB, scale $SCALE"
IDEM=$(run --topic idem produce --count "$COUNT" --size 1024)
TXN=$(run --topic txn produce --count "$COUNT" --size 1024 --txn 100)
# The same records from 8 transactional producers at once (one partition):
# their syncs are shared (group commit), which one producer cannot do.
TXN8=$(run --topic txn8 produce --count "$COUNT" --size 1024 --txn 100 --producers 8)
MIDEM=$(run_mock --topic idem produce --count "$COUNT" --size 1024)
MTXN=$(run_mock --topic txn produce --count "$COUNT" --size 1024 --txn 100)
# Consumes are short: alternate the two levels three times, keep each
# level's best run (the page cache is warm for both).
best() { awk -v a="$(field mps "$1")" -v b="$(field mps "$2")" 'BEGIN { exit !(b > a) }' && echo "$2" || echo "$1"; }
RC="mps=0"
RU="mps=0"
for i in 1 2 3; do
	RU=$(best "$RU" "$(run --topic txn consume --count "$COUNT" --isolation read_uncommitted)")
	RC=$(best "$RC" "$(run --topic txn consume --count "$COUNT" --isolation read_committed)")
done
for v in IDEM TXN TXN8 MIDEM MTXN RC RU; do
	[ -n "${!v}" ] || { echo "load run $v failed:"; tail -5 "$TMP/load.log"; exit 1; }
done
printf '%-44s %12s %10s\n' "" "msgs/s" "MB/s"
printf '%-44s %12s %10s\n' "idempotent produce (acks=all)" "$(field mps "$IDEM")" "$(field mbps "$IDEM")"
printf '%-44s %12s %10s\n' "transactional produce (100 per txn)" "$(field mps "$TXN")" "$(field mbps "$TXN")"
printf '%-44s %12s %10s\n' "transactional produce, 8 producers" "$(field mps "$TXN8")" "$(field mbps "$TXN8")"
printf '%-44s %12s %10s\n' "mock broker: idempotent produce" "$(field mps "$MIDEM")" "$(field mbps "$MIDEM")"
printf '%-44s %12s %10s\n' "mock broker: transactional produce" "$(field mps "$MTXN")" "$(field mbps "$MTXN")"
printf '%-44s %12s %10s\n' "consume read_uncommitted" "$(field mps "$RU")" "$(field mbps "$RU")"
printf '%-44s %12s %10s\n' "consume read_committed" "$(field mps "$RC")" "$(field mbps "$RC")"
echo "transactional / idempotent produce: $(ratio "$(field mps "$TXN")" "$(field mps "$IDEM")")x (goal >= 0.7)"
echo "8 transactional producers / idempotent: $(ratio "$(field mps "$TXN8")" "$(field mps "$IDEM")")x"
# The client's ceiling: the same ratio against a broker that does no work.
# sluice cannot beat it; the second line is how close sluice gets to it.
echo "client ceiling (mock transactional / mock idempotent): $(ratio "$(field mps "$MTXN")" "$(field mps "$MIDEM")")x"
echo "transactional produce, sluice / mock broker: $(ratio "$(field mps "$TXN")" "$(field mps "$MTXN")")x"
echo "read_committed / read_uncommitted:  $(ratio "$(field mps "$RC")" "$(field mps "$RU")")x (goal >= 0.95)"

#!/usr/bin/env bash
# bench/bench_40_tls.sh — what TLS costs: the same load over a TLS listener
# and over the plaintext one of the same sluiced, in the same run.
#
#   redis   redis-benchmark SET/GET (50 clients, pipeline 16, 100-byte
#           values) on resp.port vs resp.tls.port (--tls)
#   kafka   bench/kafka_load throughput, 1 KiB records, acks=1: produce and
#           consume through a PLAINTEXT and an SSL listener (kafka.listeners)
#
# Prints each pair and the ratio TLS / plaintext. Goals (issue 14): >= 0.7x
# for Kafka consume with kTLS (the kernel's tls module loaded: `modprobe
# tls`; the line says whether it was), >= 0.5x elsewhere. fsync=never, so
# the figures measure the transport, not the disk. Certificates are made
# with openssl for the run. Bounded (timeout(1), kafka_load --max-seconds).
# Measured, never asserted. TLS_BENCH_SCALE=0.2 for a quick run.
set -u
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
B=${SLUICE_BUILD:-$PWD/build/release}
LOAD=$B/bench/kafka_load
SCALE=${TLS_BENCH_SCALE:-1}
LIMIT=${TLS_BENCH_RUN_LIMIT:-300}
for t in "$B/sluiced" "$LOAD" redis-benchmark openssl; do
	command -v "$t" >/dev/null || { echo "bench_40_tls: missing $t"; exit 1; }
done
TMP=$(mktemp -d /tmp/sluice-bench-tls.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
	rm -rf "$TMP"
}
trap cleanup EXIT
n() { awk -v s="$SCALE" -v v="$1" 'BEGIN { printf "%d", v * s < 50 ? 50 : v * s }'; }
field() { sed -nE "s/.*(^| )$1=([^ ]+).*/\2/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

(
	cd "$TMP"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 \
		-subj /CN=bench-ca
	openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=bench
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-out server.crt -extfile ext
) >/dev/null 2>&1 || { echo "bench_40_tls: openssl failed"; exit 1; }

mkfifo "$TMP/ready"
"$B/sluiced" --data-dir="$TMP/data" --fsync=never --log.level=warn \
	--kafka.listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0 \
	--resp-port=0 --resp.tls.port=0 --beanstalk-port=off --http-port=off \
	--tls.cert.file="$TMP/server.crt" --tls.key.file="$TMP/server.key" \
	--message.max.bytes=4194304 --ready-fd=3 3>"$TMP/ready" 2>"$TMP/sluiced.log" &
PID=$!
read -r ready <"$TMP/ready"
port() { sed -nE "s/.* $1=([0-9]+).*/\1/p" <<<"$ready"; }
KP=$(port kafka) KS=$(port kafka.SSL) RP=$(port resp) RS=$(port resp.tls)
[ -n "$KP" ] && [ -n "$KS" ] && [ -n "$RP" ] && [ -n "$RS" ] ||
	{ echo "sluiced did not start: $ready"; cat "$TMP/sluiced.log"; exit 1; }
ktls=no
grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null && ktls=yes

# redis-benchmark -q prints "SET: 123456.78 requests per second, ...".
rb() {
	timeout -k 5 "$LIMIT" redis-benchmark -h 127.0.0.1 -q -c 50 -P 16 -d 100 \
		-n "$(n 400000)" -t set,get "$@" 2>/dev/null | tr '\r' '\n' |
		sed -nE 's/^([A-Z]+): ([0-9.]+) requests per second.*/\1 \2/p'
}
RPLAIN=$(rb -p "$RP")
RTLS=$(rb -p "$RS" --tls --cacert "$TMP/ca.crt")
echo "tls: sluiced fsync=never, kTLS module available: $ktls, scale $SCALE"
for cmd in SET GET; do
	a=$(awk -v c=$cmd '$1 == c { print $2 }' <<<"$RPLAIN")
	b=$(awk -v c=$cmd '$1 == c { print $2 }' <<<"$RTLS")
	printf "  redis %-4s   plain %10s req/s   tls %10s req/s   ratio %s\n" "$cmd" \
		"${a:-n/a}" "${b:-n/a}" "$(ratio "${b:-0}" "${a:-0}")"
done

kl() {
	timeout -k 5 $((LIMIT + 60)) "$LOAD" --bootstrap "$1" --max-seconds "$LIMIT" \
		--topic "t-$(date +%s%N)" "${@:2}" throughput --size 1024 --count "$(n 200000)" \
		--acks 1 2>>"$TMP/load.log" | tail -n 1
}
KPLAIN=$(kl "127.0.0.1:$KP")
KTLS=$(kl "127.0.0.1:$KS" --conf security.protocol=SSL --conf "ssl.ca.location=$TMP/ca.crt")
[ -n "$KPLAIN" ] && [ -n "$KTLS" ] || { echo "kafka load failed:"; tail -5 "$TMP/load.log"; exit 1; }
for what in produce consume; do
	a=$(field ${what}_mbps "$KPLAIN") b=$(field ${what}_mbps "$KTLS")
	printf "  kafka %-8s plain %7s MB/s   ssl %7s MB/s   ratio %s\n" "$what" "$a" "$b" \
		"$(ratio "$b" "$a")"
done

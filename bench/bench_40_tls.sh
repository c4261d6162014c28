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
PID='' PID2='' SPID=''
cleanup() {
	for p in $SPID $PID2 $PID; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
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

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# kl ADDR SERVER_PID [kafka_load options]: kafka_load's line, then
# "srv_cpu=S cli_cpu=S" (CPU seconds of that sluiced and of the client).
kl() {
	local s0 s1 out
	s0=$(ticks "$2")
	out=$({
		timeout -k 5 $((LIMIT + 60)) "$LOAD" --bootstrap "$1" --max-seconds "$LIMIT" \
			--topic "t-$(date +%s%N)" "${@:3}" throughput --size 1024 --count "$(n 200000)" \
			--acks 1 2>>"$TMP/load.log" | tail -n 1
		times # two lines: this shell's time, then its children's
	})
	s1=$(ticks "$2")
	# The children's line of times: "0m1.234s 0m0.567s", user and system.
	awk -v s="$((s1 - s0))" -v hz="$hz" 'NR == 1 { line = $0 }
		NR == 3 && line ~ /produce_mbps/ { gsub(/[ms]/, " ");
			printf "%s srv_cpu=%.2f cli_cpu=%.2f\n", line, s / hz, $1 * 60 + $2 + $3 * 60 + $4 }' <<<"$out"
}
SSLCONF=(--conf security.protocol=SSL --conf "ssl.ca.location=$TMP/ca.crt")
# Produce-only runs first (consume 50 records): their CPU is produce's.
KPLAIN_P=$(kl "127.0.0.1:$KP" "$PID" --consume-count 50)
KTLS_P=$(kl "127.0.0.1:$KS" "$PID" "${SSLCONF[@]}" --consume-count 50)
KPLAIN=$(kl "127.0.0.1:$KP" "$PID")
KTLS=$(kl "127.0.0.1:$KS" "$PID" "${SSLCONF[@]}")
[ -n "$KPLAIN" ] && [ -n "$KTLS" ] && [ -n "$KPLAIN_P" ] && [ -n "$KTLS_P" ] ||
	{ echo "kafka load failed:"; tail -5 "$TMP/load.log"; exit 1; }
for what in produce consume; do
	a=$(field ${what}_mbps "$KPLAIN") b=$(field ${what}_mbps "$KTLS")
	printf "  kafka %-8s plain %7s MB/s   ssl %7s MB/s   ratio %s\n" "$what" "$a" "$b" \
		"$(ratio "$b" "$a")"
done

# CPU seconds per GB: produce moves 3 rounds of count records, consume 3
# rounds of all 3 * count; consume's CPU is the full run's less the
# produce-only run's.
gb_p=$(awk -v c="$(n 200000)" 'BEGIN { print 3 * c * 1024 / 1e9 }')
gb_c=$(awk -v c="$(n 200000)" 'BEGIN { print 9 * c * 1024 / 1e9 }')
cpu_row() { # what plain_srv plain_cli tls_srv tls_cli gb
	awk -v w="$1" -v ps="$2" -v pc="$3" -v ts="$4" -v tc="$5" -v gb="$6" 'BEGIN {
		printf "  kafka %-8s cpu s/GB   plain: sluiced %5.2f client %5.2f   ssl: sluiced %5.2f client %5.2f   cpu-bound ratio %.2f\n",
			w, ps / gb, pc / gb, ts / gb, tc / gb, (ts + tc > 0 ? (ps + pc) / (ts + tc) : 0) }'
}
minus() { awk -v a="$1" -v b="$2" 'BEGIN { v = a - b; print (v > 0 ? v : 0) }'; }
cpu_row produce "$(field srv_cpu "$KPLAIN_P")" "$(field cli_cpu "$KPLAIN_P")" \
	"$(field srv_cpu "$KTLS_P")" "$(field cli_cpu "$KTLS_P")" "$gb_p"
cpu_row consume "$(minus "$(field srv_cpu "$KPLAIN")" "$(field srv_cpu "$KPLAIN_P")")" \
	"$(minus "$(field cli_cpu "$KPLAIN")" "$(field cli_cpu "$KPLAIN_P")")" \
	"$(minus "$(field srv_cpu "$KTLS")" "$(field srv_cpu "$KTLS_P")")" \
	"$(minus "$(field cli_cpu "$KTLS")" "$(field cli_cpu "$KTLS_P")")" "$gb_c"

# The reference: stunnel terminating TLS in front of a second, plaintext
# sluiced. Metadata advertises advertised.host and the port the client
# connected to, so that sluiced listens on 127.0.0.2:P and stunnel on
# 127.0.0.1:P: clients sent to 127.0.0.1:P by Metadata reach stunnel.
ST=$(command -v stunnel4 || command -v stunnel || true)
if [ -z "$ST" ]; then
	echo "  kafka via stunnel: stunnel4 not installed (scripts/deps.sh test)"
	exit 0
fi
mkfifo "$TMP/ready2"
"$B/sluiced" --data-dir="$TMP/data2" --fsync=never --log.level=warn \
	--kafka.listeners=PLAINTEXT://127.0.0.2:0 --advertised.host=127.0.0.1 \
	--resp-port=off --beanstalk-port=off --http-port=off \
	--ready-fd=3 3>"$TMP/ready2" 2>"$TMP/sluiced2.log" &
PID2=$!
read -r ready2 <"$TMP/ready2"
P2=$(sed -nE "s/.* kafka=([0-9]+).*/\1/p" <<<"$ready2")
[ -n "$P2" ] || { echo "second sluiced did not start: $ready2"; exit 1; }
printf 'foreground = yes\npid =\n[kafka]\naccept = 127.0.0.1:%s\nconnect = 127.0.0.2:%s\ncert = %s\nkey = %s\n' \
	"$P2" "$P2" "$TMP/server.crt" "$TMP/server.key" >"$TMP/stunnel.conf"
"$ST" "$TMP/stunnel.conf" 2>"$TMP/stunnel.log" &
SPID=$!
# stunnel has no readiness signal: poll (bounded) until its port accepts.
for _ in $(seq 200); do
	(exec 3<>"/dev/tcp/127.0.0.1/$P2") 2>/dev/null && break
	kill -0 "$SPID" 2>/dev/null || break
	sleep 0.05
done
KST=$(kl "127.0.0.1:$P2" "$PID2" "${SSLCONF[@]}")
kill "$SPID" "$PID2" 2>/dev/null
wait "$SPID" "$PID2" 2>/dev/null
SPID='' PID2=''
if [ -z "$KST" ]; then
	echo "  kafka via stunnel: load failed:"
	tail -n 3 "$TMP/load.log" "$TMP/stunnel.log"
	exit 0
fi
for what in produce consume; do
	a=$(field ${what}_mbps "$KPLAIN") b=$(field ${what}_mbps "$KST")
	printf "  kafka %-8s plain %7s MB/s   stunnel %7s MB/s   ratio %s (TLS terminator before a plaintext sluiced)\n" \
		"$what" "$a" "$b" "$(ratio "$b" "$a")"
done

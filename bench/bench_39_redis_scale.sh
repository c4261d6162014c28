#!/usr/bin/env bash
# bench_39_redis_scale.sh — the Redis keyspace at scale: sluiced vs Debian's
# redis-server in the same run, alternately, BENCH_SCALE_ROUNDS rounds
# (default 3), medians printed with ratios.
#
# Per server and round (sluice fsync=never vs redis appendonly no):
#   bytes/key  RSS growth after loading BENCH_SCALE_N (default 1M) string
#              keys "key:<n>" with 16-byte values and an expiry time (PX
#              BENCH_SCALE_TTL_MS, default 30000, long enough that none
#              expires during the load on a loaded machine: the count is
#              checked), over N (lower is better, so the ratio printed is
#              redis/sluice);
#   gone after seconds from the last key's expiry (the end of the load plus
#              the TTL) until DBSIZE is 0, with no client reading them:
#              active expiry alone (lower is better, ratio redis/sluice);
#   DEL/s      N keys without expiry loaded again, then deleted by one
#              pipelined client (redis-cli --pipe): keys per second;
#   RSS after  what the server holds once every key is deleted (MiB).
#
# Goals (issue 18): bytes/key <= redis, gone no later than redis, DEL/s >=
# redis. Bounded: every wait has a limit (BENCH_TIME_LIMIT, and the expiry
# wait BENCH_SCALE_EXPIRE_LIMIT seconds, default 120), so the part always
# stops by itself.
# Uses $SLUICE_BUILD/sluiced (bench/run.sh exports build/release).
set -u
export BENCH_TIME_LIMIT=${BENCH_TIME_LIMIT:-600}
cd "$(dirname "$0")/.."
BUILD=${SLUICE_BUILD:-$PWD/build/release}
SLUICED=$BUILD/sluiced
N=${BENCH_SCALE_N:-1000000}
ROUNDS=${BENCH_SCALE_ROUNDS:-3}
EXPIRE_LIMIT=${BENCH_SCALE_EXPIRE_LIMIT:-120}
TTL=${BENCH_SCALE_TTL_MS:-30000}
[ -x "$SLUICED" ] || { echo "missing $SLUICED (make MODE=release build)"; exit 1; }
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	{ echo "redis-server/redis-cli missing"; exit 1; }

TMP=$(mktemp -d /tmp/bench-scale.XXXXXX)
. bench/redis_lib.sh

# gen CMD N [PX]: N commands in RESP for redis-cli --pipe.
gen() {
	python3 - "$@" <<'EOF'
import sys
cmd, n = sys.argv[1], int(sys.argv[2])
at = sys.argv[3] if len(sys.argv) > 3 else None
out = sys.stdout.buffer
val = b"v" * 16
def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)
parts = []
for i in range(n):
    k = b"key:%d" % i
    if cmd == "SET" and at:
        parts.append(b"*5\r\n$3\r\nSET\r\n" + bulk(k) + bulk(val) + b"$2\r\nPX\r\n" + bulk(at.encode()))
    elif cmd == "SET":
        parts.append(b"*3\r\n$3\r\nSET\r\n" + bulk(k) + bulk(val))
    else:
        parts.append(b"*2\r\n$3\r\nDEL\r\n" + bulk(k))
    if len(parts) == 65536:
        out.write(b"".join(parts))
        parts = []
out.write(b"".join(parts))
EOF
}

pipe() { # PORT FILE
	timeout -k 5 "$BENCH_TIME_LIMIT" redis-cli -p "$1" --pipe <"$2" >/dev/null 2>&1
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# The pid listening on PORT (the servers were started in subshells).
pid_of() { ss -ltnpH "sport = :$1" | grep -Eo 'pid=[0-9]+' | head -1 | cut -d= -f2; }
now_ms() { date +%s%3N; }

gen SET "$N" >"$TMP/set.resp"
gen SET "$N" "$TTL" >"$TMP/setx.resp"
gen DEL "$N" >"$TMP/del.resp"

# one NAME PORT: one round against one server; appends to $TMP/NAME.*
one() {
	local name=$1 port=$2 pid r0 r1 at t0 t1 gone
	pid=$(pid_of "$port")
	r0=$(rss_kib "$pid")
	pipe "$port" "$TMP/setx.resp"
	at=$(($(now_ms) + TTL))
	r1=$(rss_kib "$pid")
	if [ "$(redis-cli -p "$port" dbsize)" = "$N" ]; then
		awk -v a="$r0" -v b="$r1" -v n="$N" 'BEGIN { printf "%.0f\n", (b - a) * 1024 / n }' >>"$TMP/$name.bpk"
	else
		echo "$name: keys expired during the load (raise BENCH_SCALE_TTL_MS)" >&2
	fi
	while [ "$(now_ms)" -lt "$at" ]; do sleep 0.05; done
	gone=$EXPIRE_LIMIT # not gone within the limit: the limit (a lower bound)
	while :; do
		t1=$(now_ms)
		if [ "$(redis-cli -p "$port" dbsize)" = 0 ]; then
			gone=$(awk -v a="$at" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
			break
		fi
		[ $((t1 - at)) -gt $((EXPIRE_LIMIT * 1000)) ] && break
		sleep 0.1
	done
	echo "$gone" >>"$TMP/$name.gone"
	pipe "$port" "$TMP/set.resp"
	t0=$(now_ms)
	pipe "$port" "$TMP/del.resp"
	t1=$(now_ms)
	awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "%.0f\n", n * 1000 / (b - a) }' >>"$TMP/$name.del"
	awk -v r="$(rss_kib "$pid")" 'BEGIN { printf "%.0f\n", r / 1024 }' >>"$TMP/$name.rss"
}

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }

for round in $(seq "$ROUNDS"); do
	sp=$(start_sluice never)
	one sluice "$sp"
	stop_servers
	rp=$(start_redis no everysec)
	one redis "$rp"
	stop_servers
	echo "round $round: sluice bytes/key $(tail -1 "$TMP/sluice.bpk") gone $(tail -1 "$TMP/sluice.gone") s DEL/s $(tail -1 "$TMP/sluice.del");" \
		"redis bytes/key $(tail -1 "$TMP/redis.bpk") gone $(tail -1 "$TMP/redis.gone") s DEL/s $(tail -1 "$TMP/redis.del")"
done

printf "%-44s %12s %12s %9s\n" "keyspace at scale, $N keys (medians of $ROUNDS)" "sluice" "redis" "ratio"
s=$(median "$TMP/sluice.bpk"); r=$(median "$TMP/redis.bpk")
printf "%-44s %12s %12s %8sx\n" "bytes per key (redis/sluice)" "$s" "$r" "$(ratio "$r" "$s")"
s=$(median "$TMP/sluice.gone"); r=$(median "$TMP/redis.gone")
printf "%-44s %12s %12s %8sx\n" "expired keys gone after, s (redis/sluice)" "$s" "$r" "$(ratio "$r" "$s")"
s=$(median "$TMP/sluice.del"); r=$(median "$TMP/redis.del")
row "DEL, keys/s" "$s" "$r"
s=$(median "$TMP/sluice.rss"); r=$(median "$TMP/redis.rss")
printf "%-44s %12s %12s\n" "RSS after deleting every key, MiB" "$s" "$r"

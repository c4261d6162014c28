#!/usr/bin/env bash
# bench_39b_keys_compaction.sh — what a client sees while the keys journal
# compacts a large keyspace (issue 18: persistence whose cost per operation
# does not depend on the keyspace size).
#
# One sluiced (fsync=never): BENCH_COMPACT_N (default 1M) string keys with
# 16-byte values loaded with redis-cli --pipe; then, with a probe client
# doing PING round trips back to back, one key is overwritten with a 1 MiB
# value until the journal is half garbage, which makes the next idle moment
# compact it (a snapshot of every key). Printed: the compaction's duration
# (from keys.journal.tmp appearing to its rename; 0 when it was written in
# one go, which the probe then sees as one stall), and the probe's round
# trips: the longest, the 99.9th percentile and how many took over 10 ms,
# over the BENCH_COMPACT_WINDOW seconds (default 20) of the run.
# Uses $SLUICE_BUILD/sluiced (bench/run.sh exports build/release).
set -u
cd "$(dirname "$0")/.."
BUILD=${SLUICE_BUILD:-$PWD/build/release}
SLUICED=$BUILD/sluiced
N=${BENCH_COMPACT_N:-1000000}
WINDOW=${BENCH_COMPACT_WINDOW:-20}
[ -x "$SLUICED" ] || { echo "missing $SLUICED (make MODE=release build)"; exit 1; }
command -v redis-cli >/dev/null || { echo "redis-cli missing"; exit 1; }

TMP=$(mktemp -d /tmp/bench-compact.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

mkdir -p "$TMP/data"
mkfifo "$TMP/ready"
"$SLUICED" --data-dir="$TMP/data" --fsync=never --resp-port=0 --kafka-port=off \
	--beanstalk-port=off --http-port=off --log.level=info ${BENCH_COMPACT_ARGS:-} \
	--ready-fd=3 3>"$TMP/ready" \
	2>"$TMP/log" >&2 &
PID=$!
read -r line <"$TMP/ready"
PORT=$(sed -E 's/.*resp=([0-9]+).*/\1/' <<<"$line")

python3 - "$N" <<'EOF' | redis-cli -p "$PORT" --pipe >/dev/null
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
val = b"v" * 16
parts = []
for i in range(n):
    k = b"key:%d" % i
    parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(k), k, val))
    if len(parts) == 65536:
        out.write(b"".join(parts))
        parts = []
out.write(b"".join(parts))
EOF
echo "keys loaded: $(redis-cli -p "$PORT" DBSIZE)  (load: $(uptime | sed 's/.*average: //'))"

python3 - "$PORT" "$TMP/data/resp/keys.journal" "$WINDOW" <<'EOF'
import os, socket, sys, threading, time
port, path, window = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
tmp = path + ".tmp"

def conn():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def cmd(s, *args):
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))

lat = []
stop = threading.Event()
tmp_seen = [None, None]

def probe():
    s = conn()
    while not stop.is_set():
        t0 = time.perf_counter()
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        buf = b""
        while not buf.endswith(b"\r\n"):
            buf += s.recv(64)
        t1 = time.perf_counter()
        lat.append(t1 - t0)
        there = os.path.exists(tmp)
        if there and tmp_seen[0] is None:
            tmp_seen[0] = t1
        if not there and tmp_seen[0] is not None and tmp_seen[1] is None:
            tmp_seen[1] = t1

th = threading.Thread(target=probe)
th.start()
w = conn()
big = b"x" * (1 << 20)
start = time.monotonic()
# Overwrite one key until the journal is about as large again as it was:
# half garbage, so the compaction is due (the writes are paced, so idle
# moments come between them).
size0 = os.path.getsize(path)
while os.path.getsize(path) < 2.2 * size0 and time.monotonic() - start < window:
    cmd(w, b"SET", b"big", big)
    w.recv(16)
    time.sleep(0.02)
cmd(w, b"DEL", b"big")
w.recv(16)
while time.monotonic() - start < window:
    time.sleep(0.1)
stop.set()
th.join()
lat.sort()
n = len(lat)
dur = (tmp_seen[1] - tmp_seen[0]) if tmp_seen[0] and tmp_seen[1] else 0.0
print("compaction: .tmp present %.3f s; probe round trips %d: max %.2f ms, p99.9 %.3f ms, "
      "over 10 ms: %d" % (dur, n, lat[-1] * 1e3, lat[int(n * 0.999)] * 1e3,
                          sum(1 for x in lat if x > 0.010)))
EOF
grep -c "keys.journal: compacted" "$TMP/log" | sed "s/^/compactions logged: /"
grep "incremental compaction wrote" "$TMP/log" | sed "s/.*keys: //"
echo "load after: $(uptime | sed 's/.*average: //')"

# bench/redis_lib.sh — shared by the Redis benchmark parts: start sluiced and
# Debian's redis-server on free loopback ports, stop them on exit, ratios.
# The sourcing script sets SLUICED and TMP (a fresh temp dir) first.

# Servers are started inside $(...) subshells, so their pids go to files;
# they are not this shell's children, so `wait` cannot wait for them: each
# is polled until gone (bounded), or the cleanup's rm races the server's
# last writes ("Directory not empty").
stop_servers() {
	local pids=() f pid
	for f in "$TMP"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null && pids+=("$pid")
		rm -f "$f"
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 200); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05 # a stopping foreign process: no fd to wait on
		done
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
	local pid=$! line port
	echo "$pid" >"$TMP/sluice-$RANDOM.pid"
	read -r line <"$fifo"
	port=$(sed -E 's/.*resp=([0-9]+).*/\1/' <<<"$line")
	echo "$pid" >"$TMP/port-$port.srv"
	echo "$port"
}

# start_redis APPENDONLY APPENDFSYNC -> prints the port.
start_redis() {
	local port dir=$TMP/redis-$RANDOM
	mkdir -p "$dir"
	port=$(free_port)
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly "$1" \
		--appendfsync "$2" --dir "$dir" --daemonize no >/dev/null 2>&1 &
	echo $! >"$TMP/redis-$RANDOM.pid"
	echo $! >"$TMP/port-$port.srv"
	for _ in $(seq 200); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.05 # a foreign server without a ready fd
	done
	echo "$port"
}

VAL=$(head -c 100 /dev/zero | tr '\0' v)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

row() { # LABEL SLUICE REDIS
	printf "%-44s %12s %12s %8sx\n" "$1" "$2" "$3" "$(ratio "$2" "$3")"
}

# Rounds: a single run of a row swings by 10-20% on a shared 2-core
# machine, which is as much as the differences measured. So each part runs
# its rows BENCH_ROUNDS times (default 3) on each server, alternating which
# server goes first, and prints each server's median. A part defines
# `group PORT WHO` (WHO: s for sluice, r for redis) running every row once
# on that server and calling `record LABEL WHO VALUE` for each; then
# `run_rounds SLUICE_PORT REDIS_PORT` measures and prints the rows.
ROUNDS=${BENCH_ROUNDS:-3}
declare -A RES=() CPU=()
ROW_ORDER=()
record() { # LABEL WHO VALUE
	[[ -v "RES[$1|s]" || -v "RES[$1|r]" ]] || ROW_ORDER+=("$1")
	RES[$1|$2]+="$3 "
}
# Throughput on this machine swings with where the scheduler puts the
# client and the server; the server's own CPU time per operation does not
# (much), so it is printed beside: microseconds per operation (user +
# system, from /proc) and redis/sluice (above 1: sluice spends less).
HZ=$(getconf CLK_TCK)
cpu_ticks() { # PORT -> clock ticks the server on PORT has used
	awk '{ print $14 + $15 }' "/proc/$(cat "$TMP/port-$1.srv")/stat" 2>/dev/null || echo 0
}
measure() { # LABEL WHO PORT OPS COMMAND...: COMMAND prints the rate; records it and the CPU
	local label=$1 who=$2 port=$3 ops=$4 t0 t1 v
	shift 4
	t0=$(cpu_ticks "$port")
	v=$("$@")
	t1=$(cpu_ticks "$port")
	record "$label" "$who" "$v"
	CPU[$label|$who]+="$(awk -v t=$((t1 - t0)) -v n="$ops" -v hz="$HZ" \
		'BEGIN { printf "%.2f", t * 1e6 / hz / n }') "
}
header() { # TITLE
	printf "%-44s %12s %12s %9s %9s %9s %8s\n" "$1 (median of $ROUNDS)" "sluice" "redis" "ratio" \
		"cpu us/op" "redis" "ratio"
}
median_of() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
run_rounds() { # SLUICE_PORT REDIS_PORT
	local i l
	for ((i = 0; i < ROUNDS; i++)); do
		if ((i % 2 == 0)); then
			group "$1" s
			group "$2" r
		else
			group "$2" r
			group "$1" s
		fi
	done
	local s r cs cr
	for l in "${ROW_ORDER[@]}"; do
		s=$(median_of <<<"${RES[$l|s]:-}")
		r=$(median_of <<<"${RES[$l|r]:-}")
		cs=$(median_of <<<"${CPU[$l|s]:-}")
		cr=$(median_of <<<"${CPU[$l|r]:-}")
		printf "%-44s %12s %12s %8sx %9s %9s %7sx\n" "$l" "$s" "$r" "$(ratio "$s" "$r")" \
			"${cs:--}" "${cr:--}" "$(ratio "$cr" "$cs")"
		# BENCH_VERBOSE=1: every round's figures (sluice; redis) too.
		[ -z "${BENCH_VERBOSE:-}" ] || printf '    rounds: %s; %s; cpu %s; %s\n' "${RES[$l|s]:-}" \
			"${RES[$l|r]:-}" "${CPU[$l|s]:-}" "${CPU[$l|r]:-}"
	done
	ROW_ORDER=()
	RES=()
	CPU=()
}

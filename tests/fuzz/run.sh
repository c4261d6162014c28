#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS — runs every libFuzzer target built by `make
# fuzz` (build/fuzz/lf/fuzz_*) for SECONDS seconds each, one at a time.
#
# Each target reads its committed corpus (tests/fuzz/corpus/<name>, or the
# protocol's folder for fuzz_<proto>_<part>, as tests/run.sh replays them)
# and writes what it finds new to build/fuzz/corpus/<name>, so the
# repository is never touched; crash, leak and timeout reproducers go to
# build/fuzz/crashes/<name>/. Ends with one line per target: executions,
# executions per second, and "ok" or what it found; exits 1 when any
# target found something. Add reproducers (small files) to the committed
# corpus by hand once the bug is fixed.
set -u
cd "$(dirname "$0")/../.."
SECS=${1:-60}
OUT=build/fuzz
status=0
summary=()
for f in "$OUT"/lf/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	short=${name#fuzz_}
	seeds="tests/fuzz/corpus/$short"
	[ -d "$seeds" ] || seeds="tests/fuzz/corpus/$(cut -d_ -f2 <<<"$name")"
	work="$OUT/corpus/$short"
	crashes="$OUT/crashes/$short"
	mkdir -p "$work" "$crashes"
	log="$OUT/$name.log"
	echo "=== $name (${SECS}s, seeds $seeds)"
	# -rss_limit_mb: the harness keeps one broker per process; the
	# sanitizers' own overhead is included. -detect_leaks=0: the harness's
	# broker lives across inputs, so nearly every input ends with more
	# allocations than frees and libFuzzer would run a whole-heap leak scan
	# after each (a third of the time per input); leaks are looked for
	# instead by the replay below, which ends with everything freed.
	# -entropic=0: with the same long-lived state, each input touches many
	# features, and the entropic schedule's per-feature bookkeeping
	# (UpdateFeatureFrequency) took half of the time per input.
	"$f" "$work" "$seeds" -max_total_time="$SECS" -print_final_stats=1 -detect_leaks=0 -entropic=0 \
		-artifact_prefix="$crashes/" -rss_limit_mb=4096 -timeout=25 >"$log" 2>&1
	rc=$?
	# The leak check: every input of the run (new and seed) once, in one
	# process, LeakSanitizer at its exit (as `make test` replays the
	# committed corpora).
	if [ $rc -eq 0 ]; then
		find "$work" "$seeds" -maxdepth 1 -type f -print0 |
			xargs -0 -r "$f" -detect_leaks=1 -artifact_prefix="$crashes/" >>"$log" 2>&1
		rc=$?
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	if [ $rc -eq 0 ]; then
		result=ok
	else
		status=1
		result="FOUND: $(grep -m1 -E 'ERROR:|runtime error|deadly signal|Timeout' "$log" | cut -c1-120) (see $log, $crashes)"
	fi
	tail -n 3 "$log"
	summary+=("$(printf '%-22s %10s execs %8s exec/s  %s' "$name" "${execs:-?}" "${rate:-?}" "$result")")
done
echo
printf '%s\n' "${summary[@]}"
exit $status

#!/usr/bin/env bash
# tests/run.sh — runs every test suite and ends with "N passed, N failed".
#
# Suites: the C unit tests (build/asan/test-unit), the fuzz corpus
# replayers, then every integration suite: tests/integration/*.py under
# pytest with Debian's Python (/usr/bin/python3, which has the Debian client
# libraries). Each suite's own summary is parsed and added up; a suite that
# dies without a summary counts as one failure. Logs go to build/test-logs/.
#
# Parallel: the unit runner runs SLUICE_TEST_JOBS tests at once, and pytest
# (with pytest-xdist) as many workers; the default is twice the CPUs, since
# the tests mostly wait on fsync, sockets and child processes. Each
# integration test starts its own sluiced on ephemeral ports; tests sharing
# a module-scoped server stay together on one worker (conftest.py).
# SLUICE_TEST_JOBS=1 runs everything one at a time.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export SLUICE_BUILD="$ROOT/build/asan"
export SLUICE_HELPERS="$SLUICE_BUILD/helpers"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
JOBS=${SLUICE_TEST_JOBS:-$((2 * $(nproc 2>/dev/null || echo 1)))}
LOGS="$ROOT/build/test-logs"
mkdir -p "$LOGS"

total_pass=0
total_fail=0

# add_counts LOGFILE RC: parse "N passed" / "N failed" / "N error(s)" from
# the last summary-looking line of a suite's output.
add_counts() {
	local log=$1 rc=$2 line p f e
	line=$(grep -E '[0-9]+ (passed|failed)' "$log" | tail -n 1)
	p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' | head -n1)
	f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' | head -n1)
	e=$(grep -oE '[0-9]+ errors?' <<<"$line" | grep -oE '[0-9]+' | head -n1)
	p=${p:-0}; f=${f:-0}; e=${e:-0}
	f=$((f + e))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "suite exited with status $rc without reporting a failure: counted as 1 failed"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

run_suite() {
	local name=$1
	shift
	echo "=== $name"
	local log="$LOGS/$name.log"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	add_counts "$log" "$rc"
}

run_suite unit "$SLUICE_BUILD/test-unit" -j "$JOBS"

# Fuzz targets replay their committed corpora (tests/fuzz/README.md).
for f in "$SLUICE_BUILD"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus="tests/fuzz/corpus/${name#fuzz_}"
	# fuzz_resp_parse shares corpus/resp with fuzz_resp, and so on.
	[ -d "$corpus" ] || corpus="tests/fuzz/corpus/$(cut -d_ -f2 <<<"$name")"
	run_suite "$name" "$f" "$corpus"
done

if compgen -G "tests/integration/test_*.py" >/dev/null; then
	par=()
	if [ "$JOBS" -gt 1 ]; then
		if /usr/bin/python3 -c 'import xdist' 2>/dev/null; then
			par=(-n "$JOBS" --dist loadgroup)
		else
			echo "pytest-xdist is missing (scripts/deps.sh test): integration tests run one at a time"
		fi
	fi
	run_suite integration /usr/bin/python3 -m pytest -q -p no:cacheprovider \
		-o addopts="" --timeout=600 -rfE --durations=15 "${par[@]}" tests/integration
fi

echo
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]

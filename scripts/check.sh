#!/usr/bin/env bash
# scripts/check.sh all|format|includes|clang|tsan — the static checks that
# `make check` (and so .ci/run, before the tests) runs.
#
#   format    every C file changed since the commit in .ci/format-base
#             (committed, staged, in the work tree, or new and untracked)
#             is clang-format clean (.clang-format). Only changed files:
#             the tree is not reformatted wholesale while others edit it;
#             a file, once touched, is formatted whole. Without that
#             commit in the history (a shallow clone) the files changed by
#             the last commit are checked instead, and the script says so.
#   includes  the include direction (scripts/check_includes.sh):
#             proto -> broker -> store -> net/core, nothing upward or
#             sideways.
#   clang     the whole tree (server, library, tool, helpers, fuzz
#             replayers, benchmarks, unit tests) built with clang and
#             -Werror into build/clang.
#   tsan      the unit tests that use threads built with ThreadSanitizer
#             (build/tsan) and run with halt_on_error: the syncer's helper
#             thread, libsluice (balancer, delay consumer, queue commit
#             tracking, configuration), the loop's cross-thread wake-up and
#             the in-memory connection's threaded waits. Tests that start
#             librdkafka clients are left out: librdkafka starts its
#             threads with C11 thrd_create, which GCC's ThreadSanitizer
#             does not intercept, and its allocator then crashes inside
#             those threads (no suppression helps with that).
#
# Ends with one line per check and "N passed, N failed" (checks, not tests).
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
NPROC=$(nproc 2>/dev/null || echo 2)
pass=0
fail=0
failed=""

result() {
	if [ "$2" -eq 0 ]; then
		echo "check $1: ok"
		pass=$((pass + 1))
	else
		echo "check $1: FAILED"
		fail=$((fail + 1))
		failed="$failed $1"
	fi
}

# The C files to format-check, one per line.
changed_c_files() {
	local base
	base=$(sed -n 's/^\([0-9a-f]\{7,40\}\).*/\1/p' .ci/format-base 2>/dev/null | head -n1)
	if [ -n "$base" ] && git cat-file -e "$base^{commit}" 2>/dev/null; then
		git diff --name-only --diff-filter=ACMR "$base" -- '*.c' '*.h'
	else
		echo "format: base ${base:-?} (.ci/format-base) not in this clone; checking the last commit's files" >&2
		git diff --name-only --diff-filter=ACMR HEAD~1 -- '*.c' '*.h' 2>/dev/null ||
			git ls-files -- '*.c' '*.h'
	fi
	git ls-files --others --exclude-standard -- '*.c' '*.h'
}

check_format() {
	if ! command -v clang-format >/dev/null; then
		echo "format: clang-format not installed (scripts/deps.sh check)"
		return 1
	fi
	local rc=0 n=0 f
	while IFS= read -r f; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
			echo "format: $f is not clang-format clean (run: clang-format -i $f)"
			rc=1
		fi
	done < <(changed_c_files | sort -u)
	echo "format: $n changed C files checked"
	return $rc
}

check_includes() {
	scripts/check_includes.sh
}

check_clang() {
	local log=build/check-clang.log
	mkdir -p build
	# -k: report every file that does not build, not just the first.
	if make -k -j"$NPROC" MODE=clang build build/clang/test-unit benches >"$log" 2>&1; then
		echo "clang: build/clang built with -Werror"
		return 0
	fi
	grep -E 'error:|warning:|Error [0-9]' "$log" | head -n 40
	echo "clang: build failed (full log: $log)"
	return 1
}

# Substrings selecting the threaded unit tests, and the ones left out.
TSAN_TESTS="syncer tests/unit/store/test_plog_fdcache.c tests/unit/lib/ tests/unit/net/test_loop.c tests/unit/net/test_memconn.c"
TSAN_SKIP="queue_api_extreme_fetch_settings_start"

check_tsan() {
	local log=build/check-tsan.log
	mkdir -p build
	# Warnings are the clang check's business; gcc at -O1 with TSan sees
	# format-truncation cases the normal builds do not, so no -Werror here.
	if ! env -u CI make -j"$NPROC" MODE=tsan build/tsan/test-unit >"$log" 2>&1; then
		tail -n 30 "$log"
		echo "tsan: build failed (full log: $log)"
		return 1
	fi
	local skip="" s
	for s in $TSAN_SKIP; do
		skip="$skip -x $s"
	done
	# halt_on_error: a race ends the test with a report (the runner's
	# children leave through _exit, which would skip TSan's exit code).
	# shellcheck disable=SC2086
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
		build/tsan/test-unit -j"$NPROC" $skip $TSAN_TESTS
}

run_check() {
	echo "=== check $1"
	"check_$1"
	result "$1" $?
}

case $what in
all)
	for c in format includes clang tsan; do
		run_check $c
	done
	;;
format | includes | clang | tsan) run_check "$what" ;;
*)
	echo "usage: $0 all|format|includes|clang|tsan" >&2
	exit 2
	;;
esac

echo
[ -n "$failed" ] && echo "failed checks:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

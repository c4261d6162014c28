/*
 * test_journal_crash.c — kill -9 test for the journal: runs the jrnl_crash
 * helper (tests/helpers/jrnl_crash.c) on one journal again and again, kills
 * it with SIGKILL at a random moment after it started acknowledging, and
 * checks after every kill that every record it acknowledged (printed after
 * its jrnl_when_durable callback) replays intact, with no gap.
 */
#include "test_journal_util.h"

#include "../../helpers/jrnl_crash.h"
#include "core/time.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#define RUNS 24

typedef struct reader {
	char buf[8192];
	size_t len;
	uint64_t lines;
	uint64_t max_plus_one; /* highest acknowledged seq + 1 */
} reader_t;

/* Consumes complete lines; a trailing partial line stays buffered (and is
 * never counted as an acknowledgement). Returns 0 at EOF, 1 otherwise. */
static int read_acks(int fd, reader_t *r)
{
	ssize_t n = read(fd, r->buf + r->len, sizeof r->buf - r->len);
	if (n < 0 && errno == EINTR)
		return 1;
	CHECK(n >= 0);
	if (n == 0)
		return 0;
	r->len += (size_t)n;
	size_t start = 0;
	for (size_t i = 0; i < r->len; i++) {
		if (r->buf[i] != '\n')
			continue;
		r->buf[i] = 0;
		char *end;
		unsigned long long seq = strtoull(r->buf + start, &end, 10);
		CHECK_MSG(*end == 0 && end != r->buf + start, "bad ack line '%s'", r->buf + start);
		if (seq + 1 > r->max_plus_one)
			r->max_plus_one = seq + 1;
		r->lines++;
		start = i + 1;
	}
	memmove(r->buf, r->buf + start, r->len - start);
	r->len -= start;
	CHECK(r->len < sizeof r->buf);
	return 1;
}

/* Runs the helper once; kills it delay_ms after its first acknowledgement.
 * Returns the highest acknowledged seq + 1 (0 if none). */
static uint64_t run_once(const char *helper, int delay_ms, uint64_t *lines)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(helper, helper, ".", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	reader_t r = {.len = 0};
	int64_t kill_at = -1;
	int alive = 1;
	for (;;) {
		int timeout = -1;
		if (kill_at >= 0) {
			int64_t left = kill_at - time_mono_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		struct pollfd pf = {p[0], POLLIN, 0};
		int n = poll(&pf, 1, alive ? timeout : -1);
		CHECK(n >= 0 || errno == EINTR);
		if (n > 0 && !read_acks(p[0], &r))
			break;
		if (kill_at < 0 && r.lines > 0)
			kill_at = time_mono_ms() + delay_ms;
		if (alive && kill_at >= 0 && time_mono_ms() >= kill_at) {
			CHECK_EQ(kill(pid, SIGKILL), 0);
			alive = 0;
		}
	}
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	          "helper ended by itself (status %d) instead of being killed", st);
	close(p[0]);
	*lines += r.lines;
	return r.max_plus_one;
}

TEST_T(jrnl_kill9_keeps_every_acknowledged_record, 120)
{
	char helper[4096];
	snprintf(helper, sizeof helper, "%s/jrnl_crash", test_helpers_dir());
	CHECK_MSG(access(helper, X_OK) == 0, "helper %s missing", helper);
	uint64_t seed = 0xc4a5u;
	uint64_t acked = 0, lines = 0, prev_next = 0;
	int compacted = 0;
	fixture_t fx;
	for (int run = 0; run < RUNS; run++) {
		int delay = (int)(test_rand(&seed) % 150);
		uint64_t a = run_once(helper, delay, &lines);
		if (a > acked)
			acked = a;

		/* Reopen here, as the server would after the crash. */
		fx_init(&fx);
		crash_state_t st = {0, 0};
		jrnl_opts_t o = {.fsync = {FSYNC_ALWAYS, 0},
		                 .compact_ratio_pct = 50,
		                 .compact_min_bytes = 64 * 1024,
		                 .max_record = 4096};
		jrnl_t *j;
		int rc =
		    jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "crash", &o, crash_replay, &st);
		CHECK_MSG(rc == 0, "run %d: reopen failed: %s", run, sl_strerror(rc));
		CHECK_MSG(st.next >= acked,
		          "run %d: %llu records acknowledged but only %llu replayed", run,
		          (unsigned long long)acked, (unsigned long long)st.next);
		CHECK(st.next >= prev_next);
		/* Fewer records than seqs: the journal starts with a compaction
		 * summary, so compactions happened (and were killed) too. */
		if (st.records < st.next)
			compacted++;
		prev_next = st.next;
		jrnl_close(j);
		fx_deinit(&fx);
	}
	fprintf(stderr,
	        "  %d kills, %llu acknowledgements, %llu records survive, %d reopens "
	        "after compactions\n",
	        RUNS, (unsigned long long)lines, (unsigned long long)prev_next, compacted);
	CHECK(acked >= (uint64_t)RUNS);
	CHECK(compacted > 0);
}

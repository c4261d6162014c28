/*
 * test_plog_crash.c — kill -9 during fsync=always appends: runs
 * helpers/plog_appender, kills it with SIGKILL at random moments (24
 * times, 30..400 ms each, deterministic seed), reopens the log after each
 * kill and checks that every batch it acknowledged is present and
 * byte-identical to what it appended. The appender continues on the same
 * directory after each recovery, so recovery is exercised repeatedly,
 * across segment rolls.
 */
#include "test_plog_util.h"

#include "../../helpers/plog_gen.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define KILLS 24
#define MAX_ACKS 200000

static int64_t acks[MAX_ACKS];
static int nacks;

/* Parses complete "acked N" lines; a line cut by the kill is ignored. */
static void parse_acks(const char *s, size_t n)
{
	size_t at = 0;
	while (at < n) {
		const char *nl = memchr(s + at, '\n', n - at);
		if (!nl)
			break;
		long long v;
		CHECK(sscanf(s + at, "acked %lld", &v) == 1);
		CHECK(nacks < MAX_ACKS);
		acks[nacks++] = v;
		at = (size_t)(nl - s) + 1;
	}
}

static void run_and_kill(const char *dir, int ms)
{
	char prog[4200];
	snprintf(prog, sizeof prog, "%s/plog_appender", test_helpers_dir());
	CHECK_MSG(access(prog, X_OK) == 0, "helper %s not built", prog);
	int fds[2];
	CHECK_EQ(pipe(fds), 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(prog, prog, dir, "262144", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	/* The kill comes `ms` after the appender's first acknowledgement (not
	 * after its start, which a loaded machine delays by more than that):
	 * every run is killed mid-write, after recovery let it run. */
	buf_t out = BUF_INIT;
	char tmp[65536];
	ssize_t n;
	struct pollfd pfd = {fds[0], POLLIN, 0};
	for (int waited = 0;
	     (!buf_len(&out) || !memchr(buf_data(&out), '\n', buf_len(&out))) && waited < 30000;
	     waited += 10) {
		if (poll(&pfd, 1, 10) > 0) {
			n = read(fds[0], tmp, sizeof tmp);
			if (n <= 0)
				break;
			buf_append(&out, tmp, (size_t)n);
		}
	}
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	kill(pid, SIGKILL);
	int st = 0;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_MSG(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0),
	          "appender failed (status %d)", st);
	while ((n = read(fds[0], tmp, sizeof tmp)) > 0)
		buf_append(&out, tmp, (size_t)n);
	close(fds[0]);
	parse_acks((const char *)buf_data(&out), buf_len(&out));
	buf_deinit(&out);
}

/* Checks acks[from..nacks) byte for byte (and that every earlier ack is
 * still below the end offset), then walks the stored batches from offset
 * `walk_from`: everything stored, acknowledged or not, is a whole valid
 * batch in sequence with the content the appender wrote. Returns the end. */
static int64_t verify(const char *dir, int from, int64_t walk_from)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 262144;
	o.index_interval_bytes = 4096;
	plog_t *p;
	CHECK_EQ(plog_open(&p, dir, &o, NULL, NULL, 0), 0);
	int64_t end = plog_end_offset(p);
	buf_t want = BUF_INIT;
	for (int i = 0; i < nacks; i++) {
		int64_t b = acks[i];
		CHECK_MSG(b < end, "acked %lld lost (end %lld)", (long long)b, (long long)end);
		if (i < from)
			continue;
		buf_reset(&want);
		CHECK_EQ(plog_gen_stored(&want, b), 0);
		CHECK_EQ(t_check_read(p, b, 1, buf_data(&want), buf_len(&want)), b);
	}
	int64_t off = walk_from > plog_start_offset(p) ? walk_from : plog_start_offset(p);
	while (off < end) {
		buf_reset(&want);
		CHECK_EQ(plog_gen_stored(&want, off), 0);
		CHECK_EQ(t_check_read(p, off, 1, buf_data(&want), buf_len(&want)), off);
		off += plog_gen_nrec(off);
	}
	CHECK_EQ(off, end);
	buf_deinit(&want);
	plog_close(p);
	return end;
}

TEST_T(plog_crash_kill9_keeps_acked_batches, 180)
{
	uint64_t seed = 0xc0ffee;
	int prev = 0;
	int grew = 0;
	int64_t end = 0;
	for (int k = 0; k < KILLS; k++) {
		int ms = 30 + (int)(test_rand(&seed) % 370);
		run_and_kill("log", ms);
		/* The previous end is re-walked too: recovery must not have
		 * changed what was there. */
		int64_t back = end > 64 ? end - 64 : 0;
		end = verify("log", prev, back);
		grew += nacks > prev;
		prev = nacks;
	}
	/* Finally every acknowledged batch and the whole log, byte for byte. */
	verify("log", 0, 0);
	/* Most runs got far enough to acknowledge something. */
	CHECK_MSG(grew >= KILLS / 2, "only %d of %d runs acknowledged batches", grew, KILLS);
	CHECK(nacks > 100);
	fprintf(stderr, "  %d acknowledged batches\n", nacks);
}

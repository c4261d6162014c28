/*
 * test_syncer.c — unit tests for store/syncer.c: durability callbacks and
 * their order, group commit, the interval and never policies, release while
 * a sync is in flight, and fdatasync failures. Drives a real loop and the
 * real helper thread on files in the test's temporary directory.
 */
#include "test.h"

#include "core/err.h"
#include "store/syncer.h"

#include <fcntl.h>
#include <unistd.h>

typedef struct rec {
	int order[256];
	int status[256];
	int n;
} rec_t;

typedef struct waiter_arg {
	rec_t *rec;
	int tag;
} waiter_arg_t;

static void on_durable(void *arg, int status)
{
	waiter_arg_t *w = arg;
	w->rec->order[w->rec->n] = w->tag;
	w->rec->status[w->rec->n] = status;
	w->rec->n++;
}

static void run_until(loop_t *loop, const rec_t *rec, int n)
{
	for (int i = 0; i < 400 && rec->n < n; i++)
		CHECK_EQ(loop_run_once(loop, 50), 0);
	CHECK_EQ(rec->n, n);
}

static int open_file(const char *name)
{
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	return fd;
}

static uint64_t append_bytes(int fd, uint64_t pos, size_t n)
{
	uint8_t b[4096];
	memset(b, 0xab, sizeof b);
	while (n) {
		size_t k = n < sizeof b ? n : sizeof b;
		CHECK_EQ(pwrite(fd, b, k, (off_t)pos), (long long)k);
		pos += k;
		n -= k;
	}
	return pos;
}

static const fsync_policy_t ALWAYS = {FSYNC_ALWAYS, 0};

TEST(syncer_callbacks_fire_in_order_after_sync)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	CHECK(s);
	int fd = open_file("a");
	sync_file_t *f = sync_file_new(s, fd, ALWAYS, "a");
	CHECK(f);
	rec_t rec = {.n = 0};
	waiter_arg_t w[4];
	for (int i = 0; i < 4; i++)
		w[i] = (waiter_arg_t){&rec, i};

	uint64_t pos = append_bytes(fd, 0, 100);
	sync_file_written(f, pos);
	sync_file_when_durable(f, 50, on_durable, &w[0]);
	sync_file_when_durable(f, 100, on_durable, &w[1]);
	pos = append_bytes(fd, pos, 100);
	sync_file_written(f, pos);
	sync_file_when_durable(f, 200, on_durable, &w[2]);
	CHECK_EQ(rec.n, 0); /* never from inside the call */
	run_until(loop, &rec, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(rec.order[i], i);
		CHECK_EQ(rec.status[i], 0);
	}
	CHECK_EQ(sync_file_synced_pos(f), 200);

	/* Already durable: still fires in a later turn, not re-entrantly. */
	sync_file_when_durable(f, 150, on_durable, &w[3]);
	CHECK_EQ(rec.n, 3);
	run_until(loop, &rec, 4);
	CHECK_EQ(rec.order[3], 3);
	CHECK_EQ(rec.status[3], 0);

	sync_file_release(f);
	close(fd);
	syncer_free(s);
	loop_free(loop);
}

TEST(syncer_group_commit_64_waiters_share_syncs)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	int fd = open_file("g");
	sync_file_t *f = sync_file_new(s, fd, ALWAYS, "g");
	rec_t rec = {.n = 0};
	waiter_arg_t w[64];
	uint64_t before = syncer_sync_count(s);

	/* The first waiter starts a sync; the other 63 arrive while it is
	 * queued or running and must ride on at most one more. */
	uint64_t pos = 0;
	for (int i = 0; i < 64; i++) {
		w[i] = (waiter_arg_t){&rec, i};
		pos = append_bytes(fd, pos, 4096);
		sync_file_written(f, pos);
		sync_file_when_durable(f, pos, on_durable, &w[i]);
	}
	run_until(loop, &rec, 64);
	for (int i = 0; i < 64; i++) {
		CHECK_EQ(rec.order[i], i);
		CHECK_EQ(rec.status[i], 0);
	}
	uint64_t syncs = syncer_sync_count(s) - before;
	fprintf(stderr, "  64 waiters needed %llu fdatasync calls\n", (unsigned long long)syncs);
	CHECK(syncs >= 1);
	CHECK(syncs <= 2);
	CHECK_EQ(sync_file_synced_pos(f), pos);

	sync_file_release(f);
	close(fd);
	syncer_free(s);
	loop_free(loop);
}

/* Waiters arriving in many turns while syncs run still complete in order
 * and never need more syncs than waiters. */
TEST(syncer_waiters_across_turns_complete_in_order)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	int fd = open_file("t");
	sync_file_t *f = sync_file_new(s, fd, ALWAYS, "t");
	rec_t rec = {.n = 0};
	waiter_arg_t w[200];
	uint64_t before = syncer_sync_count(s), pos = 0;
	for (int i = 0; i < 200; i++) {
		w[i] = (waiter_arg_t){&rec, i};
		pos = append_bytes(fd, pos, 512);
		sync_file_written(f, pos);
		sync_file_when_durable(f, pos, on_durable, &w[i]);
		CHECK_EQ(loop_run_once(loop, 0), 0);
	}
	run_until(loop, &rec, 200);
	for (int i = 0; i < 200; i++) {
		CHECK_EQ(rec.order[i], i);
		CHECK_EQ(rec.status[i], 0);
	}
	CHECK(syncer_sync_count(s) - before <= 200);
	sync_file_release(f);
	close(fd);
	syncer_free(s);
	loop_free(loop);
}

TEST(syncer_interval_policy_syncs_in_background)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	int fd = open_file("i");
	sync_file_t *f = sync_file_new(s, fd, (fsync_policy_t){FSYNC_INTERVAL, 10}, "i");
	uint64_t before = syncer_sync_count(s);
	uint64_t pos = append_bytes(fd, 0, 1000);
	sync_file_written(f, pos);
	CHECK_EQ(sync_file_synced_pos(f), 0);
	for (int i = 0; i < 400 && sync_file_synced_pos(f) < pos; i++)
		CHECK_EQ(loop_run_once(loop, 50), 0);
	CHECK_EQ(sync_file_synced_pos(f), pos);
	CHECK(syncer_sync_count(s) > before);

	/* Dirty again: the timer re-arms and covers the new bytes too. */
	pos = append_bytes(fd, pos, 1000);
	sync_file_written(f, pos);
	for (int i = 0; i < 400 && sync_file_synced_pos(f) < pos; i++)
		CHECK_EQ(loop_run_once(loop, 50), 0);
	CHECK_EQ(sync_file_synced_pos(f), pos);
	sync_file_release(f);
	close(fd);
	syncer_free(s);
	loop_free(loop);
}

TEST(syncer_never_policy_syncs_only_on_request)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	int fd = open_file("n");
	sync_file_t *f = sync_file_new(s, fd, (fsync_policy_t){FSYNC_NEVER, 0}, "n");
	uint64_t before = syncer_sync_count(s);
	uint64_t pos = append_bytes(fd, 0, 1000);
	sync_file_written(f, pos);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(loop_run_once(loop, 10), 0);
	CHECK_EQ(syncer_sync_count(s), before);
	CHECK_EQ(sync_file_synced_pos(f), 0);

	/* An explicit wait forces a sync whatever the policy. */
	rec_t rec = {.n = 0};
	waiter_arg_t w = {&rec, 7};
	sync_file_when_durable(f, pos, on_durable, &w);
	run_until(loop, &rec, 1);
	CHECK_EQ(rec.status[0], 0);
	CHECK_EQ(sync_file_synced_pos(f), pos);

	pos = append_bytes(fd, pos, 10);
	sync_file_written(f, pos);
	CHECK_EQ(sync_file_sync_now(f), 0);
	CHECK_EQ(sync_file_synced_pos(f), pos);
	sync_file_release(f);
	close(fd);
	syncer_free(s);
	loop_free(loop);
}

/* The owner releases the file and closes its fd while the sync runs; the
 * waiter still gets a true answer and nothing is touched after free (ASan). */
TEST(syncer_release_while_in_flight_is_safe)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	rec_t rec = {.n = 0};
	waiter_arg_t w[20];
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof name, "r%d", i);
		int fd = open_file(name);
		sync_file_t *f = sync_file_new(s, fd, ALWAYS, name);
		uint64_t pos = append_bytes(fd, 0, 8192);
		sync_file_written(f, pos);
		w[i] = (waiter_arg_t){&rec, i};
		sync_file_when_durable(f, pos, on_durable, &w[i]);
		sync_file_release(f);
		close(fd);
		if (i % 3 == 0)
			CHECK_EQ(loop_run_once(loop, 0), 0);
	}
	run_until(loop, &rec, 20);
	for (int i = 0; i < 20; i++)
		CHECK_EQ(rec.status[i], 0);
	syncer_free(s);
	loop_free(loop);
}

/* A waiter for bytes never written, on a released file, is told so. */
TEST(syncer_release_fails_unreachable_waiters)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	int fd = open_file("u");
	sync_file_t *f = sync_file_new(s, fd, ALWAYS, "u");
	uint64_t pos = append_bytes(fd, 0, 100);
	sync_file_written(f, pos);
	rec_t rec = {.n = 0};
	waiter_arg_t w[2] = {{&rec, 0}, {&rec, 1}};
	sync_file_when_durable(f, 100, on_durable, &w[0]);
	sync_file_when_durable(f, 500, on_durable, &w[1]);
	sync_file_release(f);
	close(fd);
	run_until(loop, &rec, 2);
	CHECK_EQ(rec.order[0], 0);
	CHECK_EQ(rec.status[0], 0);
	CHECK_EQ(rec.order[1], 1);
	CHECK_EQ(rec.status[1], SL_ECLOSED);
	syncer_free(s);
	loop_free(loop);
}

/* fdatasync on a pipe fails (EINVAL): waiters get SL_EIO, and the error is
 * sticky for that file. Other files are unaffected. */
TEST(syncer_fdatasync_failure_reaches_waiters)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	sync_file_t *bad = sync_file_new(s, p[1], ALWAYS, "pipe");
	CHECK(bad);
	CHECK_EQ(write(p[1], "x", 1), 1);
	sync_file_written(bad, 1);
	int fd = open_file("ok");
	sync_file_t *good = sync_file_new(s, fd, ALWAYS, "ok");
	uint64_t pos = append_bytes(fd, 0, 10);
	sync_file_written(good, pos);

	rec_t rec = {.n = 0};
	waiter_arg_t w[4] = {{&rec, 0}, {&rec, 1}, {&rec, 2}, {&rec, 3}};
	sync_file_when_durable(bad, 1, on_durable, &w[0]);
	sync_file_when_durable(good, pos, on_durable, &w[1]);
	run_until(loop, &rec, 2);
	for (int i = 0; i < 2; i++) {
		if (rec.order[i] == 0)
			CHECK_EQ(rec.status[i], SL_EIO);
		else
			CHECK_EQ(rec.status[i], 0);
	}
	/* Sticky: a later wait, even for an old position, fails too. */
	sync_file_when_durable(bad, 0, on_durable, &w[2]);
	run_until(loop, &rec, 3);
	CHECK_EQ(rec.order[2], 2);
	CHECK_EQ(rec.status[2], SL_EIO);
	CHECK_EQ(sync_file_sync_now(bad), SL_EIO);
	CHECK_EQ(sync_file_synced_pos(bad), 0);

	/* The syncer keeps working for healthy files. */
	pos = append_bytes(fd, pos, 10);
	sync_file_written(good, pos);
	sync_file_when_durable(good, pos, on_durable, &w[3]);
	run_until(loop, &rec, 4);
	CHECK_EQ(rec.status[3], 0);

	sync_file_release(bad);
	sync_file_release(good);
	close(p[0]);
	close(p[1]);
	close(fd);
	syncer_free(s);
	loop_free(loop);
}

typedef struct chain {
	sync_file_t *f;
	int fd;
	uint64_t pos;
	int fired;
	int status;
} chain_t;

/* A callback that appends and waits again on the same file. */
static void on_chain(void *arg, int status)
{
	chain_t *c = arg;
	c->fired++;
	c->status |= status;
	if (c->fired < 10) {
		c->pos = append_bytes(c->fd, c->pos, 100);
		sync_file_written(c->f, c->pos);
		sync_file_when_durable(c->f, c->pos, on_chain, c);
	}
}

TEST(syncer_callback_may_wait_again)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	chain_t c = {0};
	c.fd = open_file("c");
	c.f = sync_file_new(s, c.fd, ALWAYS, "c");
	c.pos = append_bytes(c.fd, 0, 100);
	sync_file_written(c.f, c.pos);
	sync_file_when_durable(c.f, c.pos, on_chain, &c);
	for (int i = 0; i < 400 && c.fired < 10; i++)
		CHECK_EQ(loop_run_once(loop, 50), 0);
	CHECK_EQ(c.fired, 10);
	CHECK_EQ(c.status, 0);
	CHECK_EQ(sync_file_synced_pos(c.f), c.pos);
	sync_file_release(c.f);
	close(c.fd);
	syncer_free(s);
	loop_free(loop);
}

/* syncer_free with a sync still in flight joins cleanly and answers the
 * waiter. */
TEST(syncer_free_with_sync_in_flight)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	int fd = open_file("f");
	sync_file_t *f = sync_file_new(s, fd, ALWAYS, "f");
	uint64_t pos = append_bytes(fd, 0, 1 << 20);
	sync_file_written(f, pos);
	rec_t rec = {.n = 0};
	waiter_arg_t w = {&rec, 0};
	sync_file_when_durable(f, pos, on_durable, &w);
	sync_file_release(f);
	close(fd);
	syncer_free(s);
	CHECK_EQ(rec.n, 1);
	CHECK_EQ(rec.status[0], 0);
	loop_free(loop);
}

/* A waiter whose answer is only queued (already durable, fire task not yet
 * run) is still answered by syncer_free. */
TEST(syncer_free_answers_queued_fires)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	int fd = open_file("q");
	sync_file_t *f = sync_file_new(s, fd, ALWAYS, "q");
	uint64_t pos = append_bytes(fd, 0, 10);
	sync_file_written(f, pos);
	CHECK_EQ(sync_file_sync_now(f), 0);
	rec_t rec = {.n = 0};
	waiter_arg_t w[2] = {{&rec, 0}, {&rec, 1}};
	sync_file_when_durable(f, pos, on_durable, &w[0]);
	sync_file_when_durable(f, pos + 1, on_durable, &w[1]);
	sync_file_release(f);
	close(fd);
	CHECK_EQ(rec.n, 0);
	syncer_free(s);
	CHECK_EQ(rec.n, 2);
	CHECK_EQ(rec.order[0], 0);
	CHECK_EQ(rec.status[0], 0);
	CHECK_EQ(rec.order[1], 1);
	CHECK_EQ(rec.status[1], SL_ECLOSED);
	loop_free(loop);
}

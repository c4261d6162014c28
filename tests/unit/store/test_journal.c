/*
 * test_journal.c — unit tests for store/journal.c: append/replay round
 * trips, reopen, durability callbacks, limits, write failures and the
 * header rules. Compaction and damage tests are in test_journal_recovery.c.
 * Each test runs in its own temporary directory (the cwd).
 */
#include "test_journal_util.h"

#include <dirent.h>

#include <signal.h>
#include <sys/resource.h>

typedef struct durable {
	int fired;
	int status;
} durable_t;

static void on_durable(void *arg, int status)
{
	durable_t *d = arg;
	d->fired++;
	d->status = status;
}

static void wait_durable(fixture_t *fx, durable_t *d, int n)
{
	for (int i = 0; i < 400 && d->fired < n; i++)
		CHECK_EQ(loop_run_once(fx->loop, 50), 0);
	CHECK_EQ(d->fired, n);
}

TEST(jrnl_roundtrip_many_records)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "rt", &o, collect, &c), 0);
	CHECK_EQ(c.n, 0);
	CHECK_EQ(jrnl_size(j), 8);
	CHECK_EQ(file_size("rt.journal"), 8);
	uint64_t expect = 8;
	for (uint32_t i = 0; i < 3000; i++) {
		CHECK_EQ(gen_append(j, i), 0);
		expect += jrnl_record_size(gen_len(i));
		if (i % 100 == 0)
			drain(&fx, 1);
	}
	CHECK_EQ(jrnl_size(j), expect);
	drain(&fx, 1);
	/* Written at the end of the turn (the file is preallocated beyond). */
	CHECK(file_size("rt.journal") >= (long long)expect);
	jrnl_close(j);
	/* Closing trims the preallocated space. */
	CHECK_EQ(file_size("rt.journal"), (long long)expect);

	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "rt", &o, collect, &c), 0);
	CHECK_EQ(c.n, 3000);
	check_gen(&c, 0, 0, 3000);
	CHECK_EQ(jrnl_size(j), expect);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

TEST(jrnl_reopen_appends_continue)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	uint32_t next = 0;
	for (int round = 0; round < 5; round++) {
		collector_t c = {0};
		jrnl_t *j;
		CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "re", &o, collect, &c), 0);
		CHECK_EQ(c.n, next);
		check_gen(&c, 0, 0, next);
		for (int k = 0; k < 100; k++)
			CHECK_EQ(gen_append(j, next++), 0);
		/* Closing flushes what the turn has not written yet. */
		jrnl_close(j);
		collector_free(&c);
	}
	fx_deinit(&fx);
}

TEST(jrnl_when_durable_fires_after_sync)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "d", &o, collect, &c), 0);
	CHECK(jrnl_sync_required(j));
	durable_t d[3] = {{0, 1}, {0, 1}, {0, 1}};
	CHECK_EQ(jrnl_append(j, 1, "a", 1), 0);
	jrnl_when_durable(j, on_durable, &d[0]);
	CHECK_EQ(jrnl_append(j, 2, "bb", 2), 0);
	jrnl_when_durable(j, on_durable, &d[1]);
	/* Flushed by the call: in the file before the sync is asked for. */
	int fd = open("d.journal", O_RDONLY);
	uint8_t frames[21];
	CHECK_EQ(pread(fd, frames, sizeof frames, 8), (long long)sizeof frames);
	close(fd);
	CHECK_EQ(be32_load(frames), 2);
	CHECK_EQ(frames[8], 1);
	CHECK_EQ(be32_load(frames + 10), 3);
	CHECK_MEM(frames + 19, "bb", 2);
	CHECK_EQ(d[0].fired + d[1].fired, 0);
	wait_durable(&fx, &d[0], 1);
	wait_durable(&fx, &d[1], 1);
	CHECK_EQ(d[0].status, 0);
	CHECK_EQ(d[1].status, 0);
	/* Nothing new: still answered, in a later turn. */
	jrnl_when_durable(j, on_durable, &d[2]);
	CHECK_EQ(d[2].fired, 0);
	wait_durable(&fx, &d[2], 1);
	CHECK_EQ(d[2].status, 0);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

TEST(jrnl_policies)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	o.fsync = (fsync_policy_t){FSYNC_NEVER, 0};
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "p", &o, collect, &c), 0);
	CHECK(!jrnl_sync_required(j));
	CHECK_EQ(jrnl_append(j, 9, "x", 1), 0);
	/* when_durable forces a sync even under `never`. */
	durable_t d = {0, 1};
	jrnl_when_durable(j, on_durable, &d);
	wait_durable(&fx, &d, 1);
	CHECK_EQ(d.status, 0);
	jrnl_close(j);
	o.fsync = (fsync_policy_t){FSYNC_INTERVAL, 5};
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "p", &o, collect, &c), 0);
	CHECK(!jrnl_sync_required(j));
	CHECK_EQ(c.n, 1);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

TEST(jrnl_limits)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	o.max_record = 100;
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "l", &o, collect, &c), 0);
	uint8_t big[200] = {0};
	CHECK_EQ(jrnl_append(j, 1, big, 101), SL_ETOOBIG);
	CHECK_EQ(jrnl_append2(j, 1, big, 60, big, 41), SL_ETOOBIG);
	CHECK_EQ(jrnl_append2(j, 1, big, (size_t)-1, big, 2), SL_ETOOBIG);
	CHECK_EQ(jrnl_append(j, 0, big, 1), SL_EINVAL);
	CHECK_EQ(jrnl_append(j, 1, big, 100), 0);
	CHECK_EQ(jrnl_append2(j, 2, big, 50, big, 50), 0);
	jrnl_close(j);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "l", &o, collect, &c), 0);
	CHECK_EQ(c.n, 2);
	jrnl_close(j);

	/* Reopened with a smaller limit, a valid record above it refuses the
	 * open instead of being cut as damage. */
	int64_t size = file_size("l.journal");
	o.max_record = 99;
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "l", &o, collect, &c), SL_ETOOBIG);
	CHECK_EQ(file_size("l.journal"), size);

	/* Damage it (CRC mismatch): now it is a corrupt tail and is cut. */
	int fd = open("l.journal", O_RDWR);
	CHECK_EQ(pwrite(fd, "\xff", 1, 8 + 9 + 50), 1);
	close(fd);
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "l", &o, collect, &c), 0);
	CHECK_EQ(c.n, 0);
	CHECK_EQ(file_size("l.journal"), 8);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

static int refuse_third(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	int *n = arg;
	(void)type, (void)p, (void)len;
	return ++*n == 3 ? SL_EPROTO : 0;
}

TEST(jrnl_replay_error_stops_open)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "e", &o, collect, &c), 0);
	for (uint32_t i = 0; i < 5; i++)
		CHECK_EQ(gen_append(j, i), 0);
	jrnl_close(j);
	int64_t size = file_size("e.journal");
	int n = 0;
	j = (jrnl_t *)&n;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "e", &o, refuse_third, &n),
	         SL_EPROTO);
	CHECK(j == NULL);
	CHECK_EQ(n, 3);
	/* The owner's refusal is not damage: nothing was cut. */
	CHECK_EQ(file_size("e.journal"), size);
	collector_free(&c);
	fx_deinit(&fx);
}

/* How many files in the current directory start with prefix. */
static int count_prefixed(const char *prefix)
{
	DIR *d = opendir(".");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

/* A file that is not a journal this version reads is never cut or
 * deleted: set aside whole (NAME.journal.damaged-<time>, a new name each
 * time) while the journal starts empty, or, under strict recovery, left
 * untouched with the open refused. */
TEST(jrnl_sets_foreign_files_aside)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	static const char junk[] = "this is not a journal at all\n";
	/* A future format version is not guessed at either. */
	static const uint8_t v3[12] = {'S', 'L', 'J', 'R', 'N', 'L', 0, 3, 1, 2, 3, 4};
	/* Neither is a short file that is not the start of a header. */
	static const char shortf[] = "SLX";
	const struct {
		const char *name;
		const void *data;
		size_t len;
	} cases[] = {{"x", junk, sizeof junk - 1}, {"v", v3, sizeof v3}, {"s", shortf, 3}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[64], aside[64];
		snprintf(path, sizeof path, "%s.journal", cases[i].name);
		snprintf(aside, sizeof aside, "%s.journal.damaged-", cases[i].name);
		write_all_file(path, cases[i].data, cases[i].len);
		o.strict = 1;
		CHECK_EQ(
		    jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", cases[i].name, &o, collect, &c),
		    SL_ECORRUPT);
		CHECK_EQ(file_size(path), (long long)cases[i].len);
		CHECK_EQ(count_prefixed(aside), 0);
		o.strict = 0;
		for (int round = 1; round <= 2; round++) {
			/* Twice within a second: the second copy gets its own name. */
			write_all_file(path, cases[i].data, cases[i].len);
			CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", cases[i].name, &o,
			                   collect, &c),
			         0);
			CHECK_EQ(jrnl_open_damaged(j), 1);
			CHECK_EQ(c.n, 0);
			CHECK_EQ(jrnl_append(j, 5, "new", 3), 0);
			jrnl_close(j);
			CHECK_EQ(count_prefixed(aside), round);
		}
		collector_free(&c);
		CHECK_EQ(
		    jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", cases[i].name, &o, collect, &c),
		    0);
		CHECK_EQ(jrnl_open_damaged(j), 0);
		CHECK_EQ(c.n, 1);
		jrnl_close(j);
		collector_free(&c);
	}
	/* A missing directory is an error, not a crash. */
	CHECK(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, "nodir", "y", &o, collect, &c) < 0);
	collector_free(&c);
	fx_deinit(&fx);
}

/* Writes n records of 100 bytes to NAME.journal and closes it; returns
 * the file size. */
static long long write_records(fixture_t *fx, const char *name, int n)
{
	jrnl_opts_t o = opts_default();
	jrnl_t *j;
	collector_t c = {0};
	CHECK_EQ(jrnl_open(&j, fx->loop, fx->syncer, &fx->log, ".", name, &o, collect, &c), 0);
	uint8_t rec[100];
	for (int i = 0; i < n; i++) {
		memset(rec, 'a' + i % 26, sizeof rec);
		CHECK_EQ(jrnl_append(j, 1, rec, sizeof rec), 0);
	}
	jrnl_close(j);
	collector_free(&c);
	char path[64];
	snprintf(path, sizeof path, "%s.journal", name);
	return file_size(path);
}

/* A damaged last record: after a crash it may be a torn append, cut without
 * a copy; after a clean stop nothing was being written, so it is damage,
 * and its bytes are kept aside before the cut (or, strict, the open is
 * refused). Damage followed by valid records is kept aside either way. */
TEST(jrnl_damaged_tail_kept_aside_after_a_clean_stop)
{
	fixture_t fx;
	fx_init(&fx);
	collector_t c = {0};
	jrnl_t *j;
	long long size = write_records(&fx, "t", 5);
	CHECK_EQ(size, 8 + 5 * 109);
	jrnl_opts_t o = opts_default();

	/* Unclean: the flipped last record is cut, nothing kept. */
	uint8_t b = 0x55;
	size_t n;
	uint8_t *orig = read_all("t.journal", &n);
	uint8_t *d = malloc(n);
	memcpy(d, orig, n);
	d[n - 10] ^= b;
	write_all_file("t.journal", d, n);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c), 0);
	CHECK_EQ(c.n, 4);
	CHECK_EQ(jrnl_open_damaged(j), 1);
	jrnl_close(j);
	CHECK_EQ(count_prefixed("t.journal.damaged-"), 0);

	/* Clean stop, strict: refused, file untouched. */
	write_all_file("t.journal", d, n);
	o.clean_stop = 1;
	o.strict = 1;
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c),
	         SL_ECORRUPT);
	CHECK_EQ(file_size("t.journal"), (long long)n);

	/* Clean stop: the 109 damaged bytes are kept, then cut. */
	o.strict = 0;
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c), 0);
	CHECK_EQ(c.n, 4);
	jrnl_close(j);
	CHECK_EQ(file_size("t.journal"), (long long)n - 109);
	CHECK_EQ(count_prefixed("t.journal.damaged-"), 1);

	/* A clean journal after a clean stop: nothing set aside, not damaged. */
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c), 0);
	CHECK_EQ(jrnl_open_damaged(j), 0);
	jrnl_close(j);
	CHECK_EQ(count_prefixed("t.journal.damaged-"), 1);

	/* Mid-file damage, strict, even after a crash: refused. */
	memcpy(d, orig, n);
	d[8 + 109 + 20] ^= b;
	write_all_file("t.journal", d, n);
	o.clean_stop = 0;
	o.strict = 1;
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c),
	         SL_ECORRUPT);
	CHECK_EQ(file_size("t.journal"), (long long)n);
	free(d);
	free(orig);
	collector_free(&c);
	fx_deinit(&fx);
}

/* A file-size limit (like a full disk) shows up when an append reserves
 * its space: that append is refused and nothing of it is written, the
 * journal itself stays healthy, and appends resume once the limit is
 * lifted, without a reopen. */
TEST(jrnl_space_failure_refuses_the_append_and_recovers)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "w", &o, collect, &c), 0);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, lim;
	CHECK_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 10000;
	CHECK_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);

	uint8_t p[300];
	memset(p, 7, sizeof p);
	int ok = 0, rc = 0;
	for (int i = 0; i < 100 && rc == 0; i++) {
		rc = jrnl_append(j, 1, p, sizeof p);
		if (rc == 0)
			ok++;
		drain(&fx, 1);
	}
	CHECK_EQ(rc, SL_EIO);
	CHECK(ok > 0);
	CHECK_EQ(jrnl_error(j), 0);
	durable_t d = {0, 0};
	jrnl_when_durable(j, on_durable, &d);
	wait_durable(&fx, &d, 1);
	CHECK_EQ(d.status, 0);
	CHECK_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
	/* Space is back: the next append works on the same journal. */
	CHECK_EQ(jrnl_append(j, 1, p, sizeof p), 0);
	jrnl_close(j);

	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "w", &o, collect, &c), 0);
	CHECK_EQ(c.n, (size_t)ok + 1);
	CHECK_EQ(file_size("w.journal"), (long long)(8 + (ok + 1) * jrnl_record_size(sizeof p)));
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

typedef struct failcount {
	int n, err;
} failcount_t;

static void on_failed(void *arg, int err)
{
	failcount_t *f = arg;
	f->n++;
	f->err = err;
}

/* A write that fails after the append was accepted (at the end of the turn)
 * makes the journal refuse appends and fail its waiters until the owner
 * cuts it back to the synced point; the owner hears of it once, from a
 * task; the cut journal holds exactly the records synced before. */
TEST(jrnl_deferred_write_failure_is_sticky_until_cut)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "d", &o, collect, &c), 0);
	failcount_t fc = {0, 0};
	store_watch_t w = {NULL, on_failed, NULL, &fc};
	jrnl_watch(j, &w);
	for (uint32_t i = 0; i < 10; i++)
		CHECK_EQ(gen_append(j, i), 0);
	durable_t d = {0, 0};
	jrnl_when_durable(j, on_durable, &d);
	wait_durable(&fx, &d, 1);
	CHECK_EQ(d.status, 0);
	uint64_t synced = jrnl_synced(j);
	CHECK_EQ(synced, jrnl_size(j));

	fx_fault(&fx, "op=pwrite,path=d.journal,count=1,errno=EIO");
	for (uint32_t i = 10; i < 15; i++)
		CHECK_EQ(gen_append(j, i), 0); /* space reserved: accepted */
	durable_t d2 = {0, 0};
	jrnl_when_durable(j, on_durable, &d2);
	wait_durable(&fx, &d2, 1);
	CHECK_EQ(d2.status, SL_EIO);
	drain(&fx, 2);
	CHECK_EQ(fc.n, 1);
	CHECK_EQ(fc.err, SL_EIO);
	CHECK_EQ(jrnl_error(j), SL_EIO);
	CHECK_EQ(gen_append(j, 99), SL_EIO);

	CHECK_EQ(jrnl_cut(j, synced), 0);
	CHECK_EQ(jrnl_error(j), 0);
	CHECK_EQ(jrnl_size(j), synced);
	collector_free(&c);
	memset(&c, 0, sizeof c);
	CHECK_EQ(jrnl_replay(j, collect, &c), 0);
	CHECK_EQ(c.n, 10);
	check_gen(&c, 0, 0, 10);
	/* Appends work again and are durable. */
	CHECK_EQ(gen_append(j, 10), 0);
	durable_t d3 = {0, 0};
	jrnl_when_durable(j, on_durable, &d3);
	wait_durable(&fx, &d3, 1);
	CHECK_EQ(d3.status, 0);
	jrnl_close(j);
	collector_free(&c);
	memset(&c, 0, sizeof c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "d", &o, collect, &c), 0);
	CHECK_EQ(c.n, 11);
	check_gen(&c, 0, 0, 11);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

/* A failed fdatasync: the waiters get the error, and cutting back to the
 * synced point removes the records whose sync failed, on disk too. */
TEST(jrnl_sync_failure_cut_back_to_synced)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "s", &o, collect, &c), 0);
	for (uint32_t i = 0; i < 5; i++)
		CHECK_EQ(gen_append(j, i), 0);
	durable_t d = {0, 0};
	jrnl_when_durable(j, on_durable, &d);
	wait_durable(&fx, &d, 1);
	uint64_t synced = jrnl_synced(j);
	fx_fault(&fx, "op=fdatasync,path=s.journal,count=1,errno=EIO");
	for (uint32_t i = 5; i < 9; i++)
		CHECK_EQ(gen_append(j, i), 0);
	durable_t d2 = {0, 0};
	jrnl_when_durable(j, on_durable, &d2);
	wait_durable(&fx, &d2, 1);
	CHECK_EQ(d2.status, SL_EIO);
	CHECK_EQ(sio_fault_hits(fx.io), 1);
	CHECK_EQ(jrnl_synced(j), synced);
	CHECK_EQ(jrnl_cut(j, jrnl_synced(j)), 0);
	jrnl_close(j);
	collector_free(&c);
	memset(&c, 0, sizeof c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "s", &o, collect, &c), 0);
	CHECK_EQ(c.n, 5);
	check_gen(&c, 0, 0, 5);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

/* Write-ahead for rare operations: jrnl_commit_now writes and syncs at
 * once; when either fails, the record is undone and the journal works on. */
TEST(jrnl_commit_now_undoes_a_failed_record)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "c", &o, collect, &c), 0);
	CHECK_EQ(gen_append(j, 0), 0);
	CHECK_EQ(jrnl_commit_now(j), 0);
	CHECK_EQ(jrnl_synced(j), jrnl_size(j));
	uint64_t good = jrnl_size(j);
	fx_fault(&fx, "op=fdatasync,path=c.journal,count=1");
	CHECK_EQ(gen_append(j, 1), 0);
	CHECK_EQ(jrnl_commit_now(j), SL_EIO);
	CHECK_EQ(jrnl_size(j), good);
	CHECK_EQ(jrnl_error(j), 0);
	fx_fault(&fx, "op=pwrite,path=c.journal,count=1,errno=ENOSPC");
	CHECK_EQ(gen_append(j, 2), 0);
	CHECK_EQ(jrnl_commit_now(j), SL_ENOSPC);
	CHECK_EQ(jrnl_size(j), good);
	CHECK_EQ(gen_append(j, 1), 0);
	CHECK_EQ(jrnl_commit_now(j), 0);
	drain(&fx, 2);
	jrnl_close(j);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "c", &o, collect, &c), 0);
	CHECK_EQ(c.n, 2);
	check_gen(&c, 0, 0, 2);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

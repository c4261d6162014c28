/*
 * test_journal_recovery.c — journal compaction and recovery: compaction
 * keeps exactly the live state, a crash at any compaction step keeps one
 * complete journal, and damage anywhere in the file (truncation or a flipped
 * byte at ~200 seeded positions) replays every record before it intact and
 * nothing after it. Each test runs in its own temporary directory.
 */
#include "test_journal_util.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

/* --- a key/value owner, for compaction ------------------------------------ */

#define NKEYS 64
enum { T_SET = 1, T_DEL = 2 };

typedef struct kv {
	uint8_t *val[NKEYS];
	size_t len[NKEYS];
	int live[NKEYS];
	uint64_t rec_size[NKEYS]; /* bytes of the record that set the key */
	jrnl_t *j;
} kv_t;

static void kv_clear(kv_t *m)
{
	for (int k = 0; k < NKEYS; k++) {
		free(m->val[k]);
		m->val[k] = NULL;
		m->live[k] = 0;
	}
}

static void kv_put(kv_t *m, uint32_t k, const uint8_t *v, size_t n)
{
	free(m->val[k]);
	m->val[k] = malloc(n ? n : 1);
	CHECK(m->val[k]);
	if (n)
		memcpy(m->val[k], v, n);
	m->len[k] = n;
	m->live[k] = 1;
	m->rec_size[k] = jrnl_record_size(4 + n);
}

static int kv_replay(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	kv_t *m = arg;
	if (len < 4 || be32_load(p) >= NKEYS)
		return SL_ECORRUPT;
	uint32_t k = be32_load(p);
	if (type == T_SET)
		kv_put(m, k, p + 4, len - 4);
	else if (type == T_DEL)
		m->live[k] = 0;
	else
		return SL_ECORRUPT;
	return 0;
}

static int kv_set(kv_t *m, uint32_t k, const uint8_t *v, size_t n)
{
	uint8_t kb[4];
	be32_store(kb, k);
	int rc = jrnl_append2(m->j, T_SET, kb, 4, v, n);
	if (rc)
		return rc;
	if (m->live[k])
		jrnl_garbage(m->j, m->rec_size[k]);
	kv_put(m, k, v, n);
	return 0;
}

static int kv_del(kv_t *m, uint32_t k)
{
	uint8_t kb[4];
	be32_store(kb, k);
	int rc = jrnl_append(m->j, T_DEL, kb, 4);
	if (rc)
		return rc;
	if (m->live[k])
		jrnl_garbage(m->j, m->rec_size[k]);
	/* The delete itself is dead weight once a snapshot has been taken. */
	jrnl_garbage(m->j, jrnl_record_size(4));
	m->live[k] = 0;
	return 0;
}

static int kv_snapshot(void *arg, jrnl_t *j)
{
	kv_t *m = arg;
	for (uint32_t k = 0; k < NKEYS; k++) {
		if (!m->live[k])
			continue;
		uint8_t kb[4];
		be32_store(kb, k);
		int rc = jrnl_append2(j, T_SET, kb, 4, m->val[k], m->len[k]);
		if (rc)
			return rc;
	}
	return 0;
}

static uint64_t kv_live_bytes(const kv_t *m)
{
	uint64_t n = 8;
	for (int k = 0; k < NKEYS; k++)
		if (m->live[k])
			n += jrnl_record_size(4 + m->len[k]);
	return n;
}

static void kv_check_equal(const kv_t *a, const kv_t *b)
{
	for (int k = 0; k < NKEYS; k++) {
		CHECK_MSG(a->live[k] == b->live[k], "key %d: live %d != %d", k, a->live[k],
		          b->live[k]);
		if (!a->live[k])
			continue;
		CHECK_EQ(a->len[k], b->len[k]);
		CHECK(a->len[k] == 0 || memcmp(a->val[k], b->val[k], a->len[k]) == 0);
	}
}

static void random_ops(kv_t *m, uint64_t *seed, int n, fixture_t *fx, int *compactions)
{
	uint8_t v[3000];
	for (int i = 0; i < n; i++) {
		uint32_t k = (uint32_t)(test_rand(seed) % NKEYS);
		if (test_rand(seed) % 5 == 0) {
			CHECK_EQ(kv_del(m, k), 0);
		} else {
			size_t len = (size_t)(test_rand(seed) % sizeof v);
			for (size_t b = 0; b < len; b++)
				v[b] = (uint8_t)(k + b * 3 + (uint64_t)i);
			CHECK_EQ(kv_set(m, k, v, len), 0);
		}
		if (i % 16 == 0) {
			uint64_t before = jrnl_size(m->j);
			CHECK_EQ(jrnl_maybe_compact(m->j, kv_snapshot, m), 0);
			if (jrnl_size(m->j) < before) {
				++*compactions;
				/* Exactly the live state, nothing else. */
				CHECK_EQ(jrnl_size(m->j), kv_live_bytes(m));
				CHECK_EQ(jrnl_garbage_bytes(m->j), 0);
			}
			drain(fx, 1);
		}
	}
}

TEST(jrnl_compaction_keeps_exactly_live_state)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	o.compact_ratio_pct = 50;
	o.compact_min_bytes = 64 * 1024;
	kv_t m = {0};
	CHECK_EQ(jrnl_open(&m.j, fx.loop, fx.syncer, &fx.log, ".", "kv", &o, kv_replay, &m), 0);
	uint64_t seed = 0x5eed1234;
	int compactions = 0;
	random_ops(&m, &seed, 4000, &fx, &compactions);
	CHECK(compactions >= 2);
	drain(&fx, 1);
	CHECK_EQ(file_size("kv.journal.tmp"), -1);
	uint64_t logical = jrnl_size(m.j);
	jrnl_close(m.j);
	CHECK_EQ(file_size("kv.journal"), (long long)logical);

	/* Replay reproduces the model. */
	kv_t r = {0};
	CHECK_EQ(jrnl_open(&r.j, fx.loop, fx.syncer, &fx.log, ".", "kv", &o, kv_replay, &r), 0);
	kv_check_equal(&m, &r);

	/* Appends after a compaction and a reopen keep working. */
	int more = 0;
	random_ops(&r, &seed, 500, &fx, &more);
	jrnl_close(r.j);
	kv_t r2 = {0};
	CHECK_EQ(jrnl_open(&r2.j, fx.loop, fx.syncer, &fx.log, ".", "kv", &o, kv_replay, &r2), 0);
	kv_check_equal(&r, &r2);
	jrnl_close(r2.j);
	kv_clear(&m);
	kv_clear(&r);
	kv_clear(&r2);
	fx_deinit(&fx);
}

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

/* Waiters registered just before a compaction still fire, with success;
 * a waiter registered after it waits on the new file. */
TEST(jrnl_compaction_waiters_still_fire)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	o.compact_ratio_pct = 10;
	kv_t m = {0};
	CHECK_EQ(jrnl_open(&m.j, fx.loop, fx.syncer, &fx.log, ".", "w", &o, kv_replay, &m), 0);
	durable_t d[3] = {{0, 1}, {0, 1}, {0, 1}};
	uint8_t v[100] = {1};
	for (int i = 0; i < 50; i++)
		CHECK_EQ(kv_set(&m, (uint32_t)(i % 4), v, sizeof v), 0);
	jrnl_when_durable(m.j, on_durable, &d[0]);
	CHECK_EQ(kv_set(&m, 1, v, 10), 0);
	jrnl_when_durable(m.j, on_durable, &d[1]);
	uint64_t before = jrnl_size(m.j);
	CHECK_EQ(jrnl_maybe_compact(m.j, kv_snapshot, &m), 0);
	CHECK(jrnl_size(m.j) < before);
	CHECK_EQ(kv_set(&m, 2, v, 20), 0);
	jrnl_when_durable(m.j, on_durable, &d[2]);
	for (int i = 0; i < 400 && d[0].fired + d[1].fired + d[2].fired < 3; i++)
		CHECK_EQ(loop_run_once(fx.loop, 50), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(d[i].fired, 1);
		CHECK_EQ(d[i].status, 0);
	}
	jrnl_close(m.j);
	kv_t r = {0};
	CHECK_EQ(jrnl_open(&r.j, fx.loop, fx.syncer, &fx.log, ".", "w", &o, kv_replay, &r), 0);
	kv_check_equal(&m, &r);
	jrnl_close(r.j);
	kv_clear(&m);
	kv_clear(&r);
	fx_deinit(&fx);
}

static int failing_snapshot(void *arg, jrnl_t *j)
{
	int rc = kv_snapshot(arg, j);
	return rc ? rc : SL_EIO;
}

/* A snapshot that fails leaves the old journal in use and no .tmp. */
TEST(jrnl_compaction_failure_keeps_old_journal)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	o.compact_ratio_pct = 10;
	kv_t m = {0};
	CHECK_EQ(jrnl_open(&m.j, fx.loop, fx.syncer, &fx.log, ".", "f", &o, kv_replay, &m), 0);
	uint8_t v[5000] = {3};
	for (int i = 0; i < 200; i++)
		CHECK_EQ(kv_set(&m, (uint32_t)(i % 8), v, sizeof v), 0);
	uint64_t size = jrnl_size(m.j);
	CHECK_EQ(jrnl_maybe_compact(m.j, failing_snapshot, &m), SL_EIO);
	CHECK_EQ(jrnl_size(m.j), size);
	CHECK_EQ(file_size("f.journal.tmp"), -1);
	CHECK_EQ(kv_set(&m, 9, v, 10), 0);
	jrnl_close(m.j);
	kv_t r = {0};
	CHECK_EQ(jrnl_open(&r.j, fx.loop, fx.syncer, &fx.log, ".", "f", &o, kv_replay, &r), 0);
	kv_check_equal(&m, &r);
	jrnl_close(r.j);
	kv_clear(&m);
	kv_clear(&r);
	fx_deinit(&fx);
}

static void copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	CHECK(a && b);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, a)) > 0)
		CHECK_EQ(fwrite(buf, 1, n, b), n);
	fclose(a);
	fclose(b);
}

/* The state a crash leaves after the .tmp was written and fsynced but
 * before the rename: the old journal must win and the .tmp go away. */
TEST(jrnl_crash_before_rename_keeps_old_journal)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(mkdir("other", 0755), 0);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "a", &o, collect, &c), 0);
	for (uint32_t i = 0; i < 40; i++)
		CHECK_EQ(gen_append(j, i), 0);
	jrnl_close(j);
	/* A complete, valid journal with different records plays the .tmp. */
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, "other", "a", &o, collect, &c), 0);
	for (uint32_t i = 1000; i < 1010; i++)
		CHECK_EQ(gen_append(j, i), 0);
	jrnl_close(j);
	copy_file("other/a.journal", "a.journal.tmp");

	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "a", &o, collect, &c), 0);
	CHECK_EQ(c.n, 40);
	check_gen(&c, 0, 0, 40);
	CHECK_EQ(file_size("a.journal.tmp"), -1);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

static int killing_snapshot(void *arg, jrnl_t *j)
{
	/* Write more than the flush threshold so the .tmp has data, then die
	 * mid-compaction. */
	uint8_t v[4096] = {9};
	for (uint32_t i = 0; i < 200; i++) {
		uint8_t kb[4];
		be32_store(kb, i % NKEYS);
		if (jrnl_append2(j, T_SET, kb, 4, v, sizeof v))
			break;
	}
	(void)arg;
	raise(SIGKILL);
	return 0;
}

/* A real process killed inside its snapshot: the old journal is intact. */
TEST(jrnl_crash_during_snapshot_keeps_old_journal)
{
	kv_t m = {0};
	uint8_t v[700];
	for (size_t b = 0; b < sizeof v; b++)
		v[b] = (uint8_t)b;
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		fixture_t fx;
		fx_init(&fx);
		jrnl_opts_t o = opts_default();
		o.compact_ratio_pct = 1;
		if (jrnl_open(&m.j, fx.loop, fx.syncer, NULL, ".", "s", &o, kv_replay, &m))
			_exit(2);
		for (uint32_t i = 0; i < 300; i++)
			if (kv_set(&m, i % NKEYS, v, (i * 7) % sizeof v))
				_exit(3);
		jrnl_close(m.j);
		if (jrnl_open(&m.j, fx.loop, fx.syncer, NULL, ".", "s", &o, kv_replay, &m))
			_exit(4);
		jrnl_garbage(m.j, jrnl_size(m.j));
		jrnl_maybe_compact(m.j, killing_snapshot, &m);
		_exit(5);
	}
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %d", st);
	CHECK(file_size("s.journal.tmp") > 256 * 1024);

	/* The model the child had built before the compaction started. */
	for (uint32_t i = 0; i < 300; i++)
		kv_put(&m, i % NKEYS, v, (i * 7) % sizeof v);
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	kv_t r = {0};
	CHECK_EQ(jrnl_open(&r.j, fx.loop, fx.syncer, &fx.log, ".", "s", &o, kv_replay, &r), 0);
	kv_check_equal(&m, &r);
	CHECK_EQ(file_size("s.journal.tmp"), -1);
	jrnl_close(r.j);
	kv_clear(&m);
	kv_clear(&r);
	fx_deinit(&fx);
}

/* --- damage ------------------------------------------------------------- */

#define DMG_RECORDS 120

/* For ~200 seeded damage points, truncate the file there or flip a byte
 * there, reopen, and check: every record wholly before the damage comes back
 * intact, none at or after it does, the file is cut to the last valid
 * record, and appends after the reopen replay correctly. */
TEST_T(jrnl_damage_replays_exactly_the_intact_prefix, 120)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, NULL, ".", "orig", &o, collect, &c), 0);
	uint64_t end[DMG_RECORDS + 1];
	end[0] = 8;
	for (uint32_t i = 0; i < DMG_RECORDS; i++) {
		CHECK_EQ(gen_append(j, i), 0);
		end[i + 1] = end[i] + jrnl_record_size(gen_len(i));
	}
	jrnl_close(j);
	size_t size;
	uint8_t *orig = read_all("orig.journal", &size);
	CHECK_EQ(size, end[DMG_RECORDS]);
	uint8_t *dmg = malloc(size);
	CHECK(dmg);

	uint64_t seed = 0xd1a9u;
	int cut_cases = 0, flip_cases = 0;
	for (int cs = 0; cs < 200; cs++) {
		/* Pick a record, then a byte in its frame, so small records are hit
		 * as often as big ones; the first cases hit the file header. */
		uint64_t pos;
		if (cs < 16) {
			pos = (uint64_t)(cs % 8);
		} else {
			uint32_t k = (uint32_t)(test_rand(&seed) % DMG_RECORDS);
			pos = end[k] + test_rand(&seed) % (end[k + 1] - end[k]);
		}
		int flip = cs < 16 ? cs >= 8 : (int)(test_rand(&seed) & 1);
		size_t n = size;
		memcpy(dmg, orig, size);
		if (flip) {
			dmg[pos] ^= (uint8_t)(1 + test_rand(&seed) % 255);
			flip_cases++;
		} else {
			n = (size_t)pos;
			cut_cases++;
		}
		write_all_file("d.journal", dmg, n);

		/* Records wholly before pos survive. */
		uint32_t keep = 0;
		while (keep < DMG_RECORDS && end[keep + 1] <= pos)
			keep++;
		collector_free(&c);
		int rc = jrnl_open(&j, fx.loop, fx.syncer, NULL, ".", "d", &o, collect, &c);
		if (flip && pos < 8) {
			/* A damaged magic in front of valid records is rewritten;
			 * an unknown version is not guessed at: the file is set
			 * aside whole and the journal starts empty. */
			CHECK_MSG(rc == 0, "case %d pos %llu: rc %d", cs, (unsigned long long)pos,
			          rc);
			CHECK_EQ(c.n, pos < 6 ? DMG_RECORDS : 0);
			CHECK_EQ(file_size("d.journal"), pos < 6 ? (long long)size : 8);
			CHECK_EQ(jrnl_open_damaged(j), 1);
			jrnl_close(j);
			continue;
		}
		CHECK_MSG(rc == 0, "case %d pos %llu flip %d: rc %d", cs, (unsigned long long)pos,
		          flip, rc);
		CHECK_MSG(c.n == keep, "case %d pos %llu flip %d: replayed %zu, want %u", cs,
		          (unsigned long long)pos, flip, c.n, keep);
		check_gen(&c, 0, 0, keep);
		CHECK_EQ(file_size("d.journal"), (long long)end[keep]);
		CHECK_EQ(jrnl_append(j, 77, "after", 5), 0);
		jrnl_close(j);

		collector_free(&c);
		CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, NULL, ".", "d", &o, collect, &c), 0);
		CHECK_EQ(c.n, keep + 1);
		check_gen(&c, 0, 0, keep);
		CHECK_EQ(c.r[keep].type, 77);
		CHECK_EQ(c.r[keep].len, 5);
		CHECK_MEM(c.r[keep].data, "after", 5);
		jrnl_close(j);
	}
	CHECK(cut_cases > 50 && flip_cases > 50);
	free(orig);
	free(dmg);
	collector_free(&c);
	fx_deinit(&fx);
}

/* A frame torn mid-write (header only, or header and part of a payload) is
 * cut with one log line, and the journal grows normally afterwards. */
TEST(jrnl_torn_tail_is_cut_and_appends_follow)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c), 0);
	for (uint32_t i = 0; i < 10; i++)
		CHECK_EQ(gen_append(j, i), 0);
	jrnl_close(j);
	int64_t good = file_size("t.journal");
	/* Half a frame: length 100, a CRC, a type and 20 of 99 payload bytes. */
	uint8_t torn[29] = {0, 0, 0, 100, 1, 2, 3, 4, 5};
	int fd = open("t.journal", O_WRONLY | O_APPEND);
	CHECK_EQ(write(fd, torn, sizeof torn), (long long)sizeof torn);
	close(fd);

	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c), 0);
	CHECK_EQ(c.n, 10);
	CHECK_EQ(file_size("t.journal"), good);
	for (uint32_t i = 10; i < 20; i++)
		CHECK_EQ(gen_append(j, i), 0);
	jrnl_close(j);
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c), 0);
	CHECK_EQ(c.n, 20);
	check_gen(&c, 0, 0, 20);
	jrnl_close(j);

	/* Zeros up to the end of the file are preallocated space: the journal
	 * ends there, nothing is cut, and appends go right after the records. */
	uint8_t zeros[4096] = {0};
	good = file_size("t.journal");
	fd = open("t.journal", O_WRONLY | O_APPEND);
	CHECK_EQ(write(fd, zeros, sizeof zeros), (long long)sizeof zeros);
	close(fd);
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c), 0);
	CHECK_EQ(c.n, 20);
	CHECK_EQ(jrnl_size(j), good);
	CHECK_EQ(file_size("t.journal"), good + 4096);
	CHECK_EQ(gen_append(j, 20), 0);
	jrnl_close(j);
	CHECK_EQ(file_size("t.journal"), (long long)(good + jrnl_record_size(gen_len(20))));
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c), 0);
	CHECK_EQ(c.n, 21);
	check_gen(&c, 0, 0, 21);
	jrnl_close(j);

	/* Zeros followed by anything else are damage, and are cut. */
	good = file_size("t.journal");
	fd = open("t.journal", O_WRONLY | O_APPEND);
	CHECK_EQ(write(fd, zeros, sizeof zeros), (long long)sizeof zeros);
	CHECK_EQ(write(fd, "x", 1), 1);
	CHECK_EQ(write(fd, zeros, sizeof zeros), (long long)sizeof zeros);
	close(fd);
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "t", &o, collect, &c), 0);
	CHECK_EQ(c.n, 21);
	CHECK_EQ(file_size("t.journal"), good);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

/* The file as a crash leaves it, preallocated space and all (copied while
 * the journal is open): every record replays, and appends continue at the
 * end of the records, not at the end of the file. */
TEST(jrnl_preallocated_file_reopens_after_crash)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(mkdir("copy", 0755), 0);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "p", &o, collect, &c), 0);
	for (uint32_t i = 0; i < 30; i++)
		CHECK_EQ(gen_append(j, i), 0);
	drain(&fx, 1);
	uint64_t logical = jrnl_size(j);
	CHECK(file_size("p.journal") > (long long)logical);
	copy_file("p.journal", "copy/p.journal");
	jrnl_close(j);

	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, "copy", "p", &o, collect, &c), 0);
	CHECK_EQ(c.n, 30);
	check_gen(&c, 0, 0, 30);
	CHECK_EQ(jrnl_size(j), logical);
	for (uint32_t i = 30; i < 40; i++)
		CHECK_EQ(gen_append(j, i), 0);
	jrnl_close(j);
	collector_free(&c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, "copy", "p", &o, collect, &c), 0);
	CHECK_EQ(c.n, 40);
	check_gen(&c, 0, 0, 40);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

/* Damage in the middle (valid records after it) is not a torn append: the
 * prefix is replayed, and the tail from the damage on is kept aside in
 * NAME.journal.damaged-* before the journal is cut, never deleted. */
TEST(jrnl_damage_in_the_middle_keeps_the_tail_aside)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "m", &o, collect, &c), 0);
	uint64_t at5 = 0;
	for (uint32_t i = 0; i < 10; i++) {
		if (i == 5)
			at5 = jrnl_size(j);
		CHECK_EQ(gen_append(j, i), 0);
	}
	uint64_t size = jrnl_size(j);
	jrnl_close(j);
	int fd = open("m.journal", O_RDWR);
	CHECK(fd >= 0);
	uint8_t b = 0x77;
	CHECK_EQ(pwrite(fd, &b, 1, (off_t)at5 + 12), 1); /* inside record 5 */
	close(fd);
	collector_free(&c);
	memset(&c, 0, sizeof c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "m", &o, collect, &c), 0);
	CHECK_EQ(c.n, 5);
	check_gen(&c, 0, 0, 5);
	jrnl_close(j);
	CHECK_EQ(file_size("m.journal"), (long long)at5);
	DIR *d = opendir(".");
	CHECK(d != NULL);
	struct dirent *e;
	int aside = 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "m.journal.damaged-", 18))
			continue;
		aside++;
		CHECK_EQ(file_size(e->d_name), (long long)(size - at5));
	}
	closedir(d);
	CHECK_EQ(aside, 1);
	/* A torn tail (nothing valid after it) is cut without a copy. */
	collector_free(&c);
	memset(&c, 0, sizeof c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "m", &o, collect, &c), 0);
	CHECK_EQ(gen_append(j, 5), 0);
	jrnl_close(j);
	CHECK(truncate("m.journal", (off_t)at5 + 5) == 0);
	collector_free(&c);
	memset(&c, 0, sizeof c);
	CHECK_EQ(jrnl_open(&j, fx.loop, fx.syncer, &fx.log, ".", "m", &o, collect, &c), 0);
	CHECK_EQ(c.n, 5);
	jrnl_close(j);
	collector_free(&c);
	fx_deinit(&fx);
}

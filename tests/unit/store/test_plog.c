/*
 * test_plog.c — the partition log with the real loop and syncer:
 * durability callbacks (never re-entrant, in order, group commit), rolls
 * with waiters pending, durability of older offsets under fsync=never, and
 * what a reopen sees afterwards.
 */
#include "test_plog_util.h"

#include "net/loop.h"
#include "store/sio.h"
#include "store/syncer.h"

typedef struct fx {
	loop_t *loop;
	syncer_t *syncer;
	log_t log;
} fx_t;

static void fx_init(fx_t *f)
{
	log_init(&f->log, LOG_WARN, 2);
	f->loop = loop_new(NULL);
	CHECK(f->loop);
	f->syncer = syncer_new(f->loop, &f->log);
	CHECK(f->syncer);
}

static void fx_deinit(fx_t *f)
{
	syncer_free(f->syncer);
	loop_free(f->loop);
}

typedef struct acks {
	int64_t order[4096];
	int status[4096];
	int n;
} acks_t;

typedef struct waiter {
	acks_t *acks;
	int64_t end;
} waiter_t;

static void on_durable(void *arg, int status)
{
	waiter_t *w = arg;
	w->acks->order[w->acks->n] = w->end;
	w->acks->status[w->acks->n] = status;
	w->acks->n++;
}

static void run_until(fx_t *f, acks_t *a, int n)
{
	for (int i = 0; i < 10000 && a->n < n; i++)
		CHECK(loop_run_once(f->loop, 100) >= 0);
	CHECK_EQ(a->n, n);
}

TEST(plog_when_durable_group_commit)
{
	fx_t f;
	fx_init(&f);
	plog_opts_t o = t_opts();
	o.fsync.mode = FSYNC_ALWAYS;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, f.syncer, &f.log, 0), 0);
	CHECK(plog_sync_required(p));
	static acks_t a;
	static waiter_t w[64];
	uint64_t syncs0 = syncer_sync_count(f.syncer);
	for (int i = 0; i < 64; i++) {
		t_append(p, i);
		w[i] = (waiter_t){&a, plog_end_offset(p)};
		plog_when_durable(p, w[i].end, on_durable, &w[i]);
		CHECK_EQ(a.n, 0); /* never called back re-entrantly */
	}
	run_until(&f, &a, 64);
	for (int i = 0; i < 64; i++) {
		CHECK_EQ(a.status[i], 0);
		CHECK_EQ(a.order[i], w[i].end);
	}
	/* One sync started with the first waiter; everything else rode on at
	 * most a couple more. */
	CHECK(syncer_sync_count(f.syncer) - syncs0 <= 3);
	plog_close(p);
	fx_deinit(&f);
}

TEST(plog_when_durable_across_rolls)
{
	fx_t f;
	fx_init(&f);
	plog_opts_t o = t_opts();
	o.fsync.mode = FSYNC_ALWAYS;
	o.segment_bytes = 16384;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, f.syncer, &f.log, 0), 0);
	static acks_t a;
	static waiter_t w[300];
	for (int i = 0; i < 300; i++) {
		t_append(p, i);
		w[i] = (waiter_t){&a, plog_end_offset(p)};
		plog_when_durable(p, w[i].end, on_durable, &w[i]);
		if (i % 7 == 0)
			CHECK(loop_run_once(f.loop, 0) >= 0);
	}
	CHECK(plog_segment_count(p) > 10);
	run_until(&f, &a, 300);
	for (int i = 0; i < 300; i++)
		CHECK_EQ(a.status[i], 0);
	int64_t end = plog_end_offset(p);
	plog_close(p);
	CHECK_EQ(plog_open(&p, "log", &o, f.syncer, &f.log, 1), 0);
	CHECK_EQ(plog_end_offset(p), end);
	plog_close(p);
	fx_deinit(&f);
}

TEST(plog_when_durable_older_offsets_under_never)
{
	fx_t f;
	fx_init(&f);
	plog_opts_t o = t_opts();
	o.fsync.mode = FSYNC_NEVER;
	o.segment_bytes = 16384;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, f.syncer, &f.log, 0), 0);
	CHECK(!plog_sync_required(p));
	for (int i = 0; i < 60; i++)
		t_append(p, i);
	CHECK(plog_segment_count(p) > 2);
	static acks_t a;
	waiter_t w1 = {&a, 3}, w2 = {&a, plog_end_offset(p)};
	plog_when_durable(p, 3, on_durable, &w1);
	plog_when_durable(p, w2.end, on_durable, &w2);
	CHECK_EQ(a.n, 0);
	run_until(&f, &a, 2);
	CHECK_EQ(a.status[0], 0);
	CHECK_EQ(a.status[1], 0);
	plog_close(p);
	fx_deinit(&f);
}

TEST(plog_opts_follow_config)
{
	sl_config_t c;
	config_init(&c);
	plog_opts_t o;
	plog_opts_from_config(&o, &c);
	CHECK_EQ(o.segment_bytes, c.log_segment_bytes);
	CHECK_EQ(o.retention_ms, c.log_retention_ms);
	CHECK_EQ(o.retention_bytes, -1);
	CHECK_EQ(o.max_batch_bytes, c.message_max_bytes);
	CHECK_EQ(o.index_interval_bytes, 4096);
	CHECK_EQ(o.fsync.mode, FSYNC_ALWAYS);
	config_deinit(&c);
}

static void copy_to(const char *from_dir, const char *to_dir, const char *name)
{
	char a[256], b[256];
	snprintf(a, sizeof a, "%s/%s", from_dir, name);
	snprintf(b, sizeof b, "%s/%s", to_dir, name);
	buf_t x = BUF_INIT;
	if (t_slurp(a, &x) >= 0)
		t_spit(b, buf_data(&x), buf_len(&x));
	buf_deinit(&x);
}

/* Appends n batches durably; returns their sizes' running positions. */
static void append_durably(fx_t *f, plog_t *p, int n, uint64_t *pos)
{
	static acks_t a;
	static waiter_t w;
	uint64_t at = plog_size_bytes(p);
	for (int i = 0; i < n; i++) {
		buf_t b = BUF_INIT;
		t_batch(&b, i);
		pos[i] = at;
		at += buf_len(&b);
		buf_deinit(&b);
		t_append(p, i);
	}
	a.n = 0;
	w = (waiter_t){&a, plog_end_offset(p)};
	plog_when_durable(p, w.end, on_durable, &w);
	run_until(f, &a, 1);
	CHECK_EQ(a.status[0], 0);
}

TEST(plog_recovery_point_bounds_the_unclean_scan)
{
	fx_t f;
	fx_init(&f);
	plog_opts_t o = t_opts();
	o.fsync.mode = FSYNC_ALWAYS;
	o.index_interval_bytes = 1024;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, f.syncer, &f.log, 0), 0);
	static uint64_t pos[200];
	append_durably(&f, p, 100, pos);
	CHECK_EQ(plog_housekeep(p, T_TS0), 0);
	CHECK(t_file_size("log/recovery-point") == 24);
	/* More data after the recovery point, not yet in it. */
	append_durably(&f, p, 100, pos + 100);
	int64_t end = plog_end_offset(p);
	/* A crash image: the files as they are now. */
	static const char *const names[] = {"00000000000000000000.log",
	                                    "00000000000000000000.index",
	                                    "00000000000000000000.timeindex", "recovery-point"};
	for (int round = 0; round < 2; round++) {
		char dir[32];
		snprintf(dir, sizeof dir, "crash%d", round);
		CHECK_EQ(mkdir(dir, 0755), 0);
		for (int i = 0; i < 4; i++)
			copy_to("log", dir, names[i]);
		char path[64];
		snprintf(path, sizeof path, "%s/%s", dir, names[0]);
		buf_t x = BUF_INIT;
		CHECK(t_slurp(path, &x) > 0);
		/* Round 0 damages batch 150 (after the recovery point): valid
		 * batches follow it, so it is damage, not a torn append: a hole,
		 * and the batches after it stay. Round 1 damages batch 10, which
		 * the recovery point vouches for as synced: the scan no longer
		 * reaches it (that is the point: the unclean scan is bounded). */
		int victim = round == 0 ? 150 : 10;
		buf_data(&x)[pos[victim] + 30] ^= 0x5a;
		t_spit(path, buf_data(&x), buf_len(&x));
		buf_deinit(&x);
		plog_t *q;
		CHECK_EQ(plog_open(&q, dir, &o, f.syncer, &f.log, 0), 0);
		/* Consumed at open. */
		snprintf(path, sizeof path, "%s/recovery-point", dir);
		CHECK(t_file_size(path) == (uint64_t)-1);
		CHECK_EQ(plog_end_offset(q), end);
		int64_t missing = 0;
		CHECK_EQ(plog_damage(q, &missing), round == 0 ? 1u : 0u);
		CHECK_EQ(missing, round == 0 ? t_nrec(50) : 0);
		plog_close(q);
	}
	plog_close(p);
	fx_deinit(&f);
}

static void hw_moved(void *arg)
{
	(*(int *)arg)++;
}

static void run_until_hw(fx_t *f, plog_t *p, int64_t hw)
{
	for (int i = 0; i < 1000 && plog_hw(p) < hw; i++)
		CHECK(loop_run_once(f->loop, 10) >= 0);
	CHECK_EQ(plog_hw(p), hw);
}

/* fsync=always with gated reads: a batch is readable only once its sync
 * landed (the high watermark), which the hook announces; nothing past it
 * is ever returned. */
TEST(plog_reads_stop_at_the_high_watermark)
{
	fx_t f;
	fx_init(&f);
	plog_opts_t o = t_opts();
	o.fsync.mode = FSYNC_ALWAYS;
	o.gate_reads = 1;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, f.syncer, &f.log, 0), 0);
	int moved = 0;
	plog_on_hw(p, hw_moved, &moved);
	t_append(p, 0);
	t_append(p, 1);
	int64_t end = plog_end_offset(p);
	CHECK(plog_hw(p) < end);
	plog_region_t r;
	CHECK_EQ(plog_read(p, 0, 1 << 20, &r), 0);
	CHECK_EQ(r.len, 0);
	run_until_hw(&f, p, end);
	CHECK(moved > 0);
	CHECK_EQ(plog_read(p, 0, 1 << 20, &r), 0);
	CHECK(r.len > 0);
	/* Without gating (a Redis stream's log) the end is readable at once. */
	plog_close(p);
	o.gate_reads = 0;
	CHECK_EQ(plog_open(&p, "log2", &o, f.syncer, &f.log, 0), 0);
	t_append(p, 0);
	CHECK_EQ(plog_hw(p), plog_end_offset(p));
	plog_close(p);
	fx_deinit(&f);
}

typedef struct fails {
	int n, err;
} fails_t;

static void on_failed(void *arg, int err)
{
	fails_t *fl = arg;
	fl->n++;
	fl->err = err;
}

/* A failed sync: the log refuses appends, tells its owner once, and
 * plog_cut takes it back to the synced offset, on disk too; appends work
 * again without a reopen. */
TEST(plog_failed_sync_is_cut_back)
{
	fx_t f;
	fx_init(&f);
	sio_t *io = sio_new();
	syncer_set_io(f.syncer, io);
	plog_opts_t o = t_opts();
	o.fsync.mode = FSYNC_ALWAYS;
	o.gate_reads = 1;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, f.syncer, &f.log, 0), 0);
	fails_t fl = {0, 0};
	store_watch_t w = {NULL, on_failed, NULL, &fl};
	plog_watch(p, &w);
	for (int i = 0; i < 3; i++)
		t_append(p, i);
	int64_t good = plog_end_offset(p);
	run_until_hw(&f, p, good);
	sio_fault_t ft;
	char err[80];
	CHECK_EQ(sio_fault_parse("op=fdatasync,path=log/,count=1", &ft, err, sizeof err), 0);
	CHECK_EQ(sio_fault_add(io, &ft), 0);
	t_append(p, 3);
	t_append(p, 4);
	for (int i = 0; i < 1000 && !fl.n; i++)
		CHECK(loop_run_once(f.loop, 10) >= 0);
	CHECK_EQ(fl.n, 1);
	CHECK_EQ(fl.err, SL_EIO);
	CHECK_EQ(plog_error(p), SL_EIO);
	CHECK_EQ(plog_hw(p), good);
	CHECK_EQ(plog_synced_offset(p), good);
	int64_t off;
	buf_t b = BUF_INIT;
	t_batch(&b, 9);
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &off), SL_EIO);
	buf_deinit(&b);
	CHECK_EQ(plog_cut(p, plog_synced_offset(p)), 0);
	CHECK_EQ(plog_error(p), 0);
	CHECK_EQ(plog_end_offset(p), good);
	t_append(p, 5);
	int64_t end = plog_end_offset(p);
	CHECK(end > good);
	run_until_hw(&f, p, end);
	plog_close(p);
	CHECK_EQ(plog_open(&p, "log", &o, f.syncer, &f.log, 0), 0);
	CHECK_EQ(plog_end_offset(p), end);
	plog_close(p);
	fx_deinit(&f);
	sio_free(io);
}

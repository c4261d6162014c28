/*
 * test_keyspace.c — the keyspace's write and recovery paths with storage
 * faults (store/sio.h): a write refused for lack of space changes nothing
 * and the next one goes through; a failed sync or log write rebuilds the
 * keyspace from disk without the failed writes, keeps stream IDs from
 * being handed out twice, and keeps a deleted or trimmed stream's entries
 * until the deletion is durable; a change of several records is all or
 * nothing; and a reopen finds exactly what was acknowledged.
 */
#include "../test.h"

#include "broker/keyspace.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/time.h"
#include "net/memconn.h"
#include "store/sio.h"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct kfx {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	sio_t *io;
	keyspace_t *ks;
	memconn_t *m; /* a connection to hand replies on (they drive syncs) */
	int released, failed;
} kfx_t;

static int ignore_input(conn_t *c)
{
	buf_consume(&c->in, buf_len(&c->in));
	return 0;
}

static const proto_t null_proto = {.name = "null", .on_input = ignore_input};

static int fin(dur_hold_t *h, buf_t *reply, int status, void *arg)
{
	kfx_t *f = arg;
	(void)h;
	(void)reply;
	f->released++;
	f->failed += status < 0;
	return 0;
}

/* A reply, as a front hands one: it waits for everything written so far
 * (fsync=always). */
static void reply(kfx_t *f)
{
	ks_reply(f->ks, f->m->conn, "x", 1, fin, f);
}

static void kfx_open(kfx_t *f, const char *fsync)
{
	char err[128];
	memset(f, 0, sizeof *f);
	config_init(&f->cfg);
	CHECK(config_set(&f->cfg, "fsync", fsync, err, sizeof err) == 0);
	log_init(&f->log, LOG_WARN, 2);
	f->b.cfg = &f->cfg;
	f->b.log = &f->log;
	f->b.data_dir = ".";
	f->b.loop = loop_new(NULL);
	f->b.syncer = syncer_new(f->b.loop, &f->log);
	f->io = sio_new();
	syncer_set_io(f->b.syncer, f->io);
	f->b.io = f->io;
	CHECK_EQ(ks_open(&f->ks, &f->b), 0);
	f->m = memconn_new(f->b.loop, &null_proto, NULL, NULL);
	CHECK(f->m);
}

static void kfx_close(kfx_t *f)
{
	memconn_free(f->m);
	for (int i = 0; i < 1000 && ks_busy(f->ks); i++)
		loop_run_once(f->b.loop, 10);
	ks_close(f->ks);
	loop_run_once(f->b.loop, 0);
	syncer_free(f->b.syncer);
	sio_free(f->io);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

static void kfx_reopen(kfx_t *f)
{
	char fs[32];
	fsync_policy_format(&f->cfg.fsync, fs, sizeof fs);
	kfx_close(f);
	kfx_open(f, fs);
}

static void fault(kfx_t *f, const char *spec)
{
	sio_fault_t r;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &r, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(f->io, &r), 0);
}

/* Hands a reply and runs the loop until it is released: everything
 * written before it is durable (or failed). Returns the reply's status. */
static int settle(kfx_t *f)
{
	int released = f->released, failed = f->failed;
	if (!ks_must_hold(f->ks))
		return 0; /* a reply would go at once */
	reply(f);
	for (int i = 0; i < 5000 && f->released == released; i++)
		loop_run_once(f->b.loop, 1);
	CHECK_MSG(f->released > released, "the reply was never released");
	return f->failed > failed ? -1 : 0;
}

/* Runs the loop until the domain recovered n times. */
static void wait_recoveries(kfx_t *f, uint64_t n)
{
	for (int i = 0; i < 5000 && dur_recoveries(ks_dur(f->ks)) < n; i++)
		loop_run_once(f->b.loop, 1);
	CHECK_EQ(dur_recoveries(ks_dur(f->ks)), n);
	CHECK_EQ(ks_state(f->ks), 0);
}

static int push(kfx_t *f, const char *key, const char *v)
{
	int64_t len;
	size_t n = strlen(v);
	return ks_push(f->ks, key, strlen(key), 1, 0, 1, &v, &n, &len);
}

/* The list at key as "a,b,c" ("" when absent). */
static void list_str(kfx_t *f, const char *key, char *out, size_t cap)
{
	int wrong;
	qlist_t *l = ks_list(f->ks, key, strlen(key), &wrong);
	out[0] = 0;
	CHECK(!wrong);
	if (!l)
		return;
	qlist_iter_t it;
	qlist_iter_init(l, &it, 0, 0);
	size_t o = 0;
	for (qlv_t *v; (v = qlist_iter_next(&it)) != NULL;)
		o += (size_t)snprintf(out + o, cap - o, "%s%.*s", o ? "," : "", (int)v->len, v->p);
}

static void check_list(kfx_t *f, const char *key, const char *want)
{
	char got[256];
	list_str(f, key, got, sizeof got);
	CHECK_STR(got, want);
}

static int xadd(kfx_t *f, const char *key, sid_t id, int mode, sid_t *out)
{
	const char *p[2] = {"f", "v"};
	size_t l[2] = {1, 1};
	return ks_xadd(f->ks, key, strlen(key), id, mode, 0, 1, p, l, NULL, out);
}

static uint64_t stream_len(kfx_t *f, const char *key)
{
	stream_t *s;
	CHECK_EQ(ks_stream(f->ks, key, strlen(key), &s), 0);
	return s ? s->length : 0;
}

TEST(keyspace_full_disk_refuses_before_anything_changes)
{
	kfx_t f;
	kfx_open(&f, "always");
	/* A new journal reserves its first step on the first append. */
	fault(&f, "op=fallocate,path=keys.journal,count=-1,errno=ENOSPC");
	CHECK_EQ(push(&f, "q", "a"), SL_ENOSPC);
	CHECK_EQ(ks_set(f.ks, "k", 1, "v", 1, 0), SL_ENOSPC);
	CHECK(ks_find(f.ks, "q", 1) == NULL);
	CHECK(ks_find(f.ks, "k", 1) == NULL);
	CHECK_EQ(ks_state(f.ks), 0); /* the journal stays healthy */
	sio_fault_clear(f.io);
	CHECK_EQ(push(&f, "q", "b"), 0);
	CHECK_EQ(settle(&f), 0);
	check_list(&f, "q", "b");
	kfx_reopen(&f);
	check_list(&f, "q", "b");
	CHECK(ks_find(f.ks, "k", 1) == NULL);
	kfx_close(&f);
}

TEST(keyspace_failed_sync_is_undone_and_writes_resume)
{
	kfx_t f;
	kfx_open(&f, "always");
	CHECK_EQ(push(&f, "q", "a"), 0);
	CHECK_EQ(push(&f, "q", "b"), 0);
	CHECK_EQ(settle(&f), 0);
	fault(&f, "op=fdatasync,path=keys.journal,count=1,errno=EIO");
	CHECK_EQ(push(&f, "q", "c"), 0);
	CHECK_EQ(ks_set(f.ks, "k", 1, "v", 1, 0), 0);
	/* Applied, not yet durable: a reply waits, and gets the error. */
	CHECK(ks_must_hold(f.ks));
	CHECK_EQ(settle(&f), -1);
	wait_recoveries(&f, 1);
	check_list(&f, "q", "a,b");
	CHECK(ks_find(f.ks, "k", 1) == NULL);
	CHECK_EQ(push(&f, "q", "d"), 0);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	check_list(&f, "q", "a,b,d");
	CHECK(ks_find(f.ks, "k", 1) == NULL);
	kfx_close(&f);
}

TEST(keyspace_failed_write_refuses_until_recovered)
{
	kfx_t f;
	kfx_open(&f, "always");
	CHECK_EQ(push(&f, "q", "a"), 0);
	CHECK_EQ(settle(&f), 0);
	fault(&f, "op=pwrite,path=keys.journal,count=1,errno=EIO");
	CHECK_EQ(push(&f, "q", "b"), 0);
	/* The end-of-turn write fails: the reply gets the error, and writes
	 * are refused until the domain cut back and reloaded. */
	reply(&f);
	loop_run_once(f.b.loop, 0);
	wait_recoveries(&f, 1);
	CHECK_EQ(f.failed, 1);
	check_list(&f, "q", "a");
	CHECK_EQ(push(&f, "q", "c"), 0);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	check_list(&f, "q", "a,c");
	kfx_close(&f);
}

TEST(keyspace_failed_log_write_keeps_ids_unique)
{
	kfx_t f;
	kfx_open(&f, "always");
	sid_t id;
	CHECK_EQ(xadd(&f, "s", (sid_t){5, 1}, KS_ID_EXPLICIT, &id), 0);
	CHECK_EQ(settle(&f), 0);
	/* The turn's entries are written at its end: that write fails. */
	fault(&f, "op=pwrite,path=.log,count=1,errno=EIO");
	CHECK_EQ(xadd(&f, "s", (sid_t){5, 0}, KS_ID_AUTOSEQ, &id), 0);
	CHECK_EQ(id.ms, 5);
	CHECK_EQ(id.seq, 2);
	CHECK_EQ(stream_len(&f, "s"), 2);
	/* A reply that may have seen the entry waits for its write. */
	CHECK(ks_must_hold(f.ks));
	CHECK_EQ(settle(&f), -1);
	wait_recoveries(&f, 1);
	CHECK_EQ(stream_len(&f, "s"), 1);
	/* 5-2 was handed out for a write that failed: never again. */
	CHECK_EQ(xadd(&f, "s", (sid_t){5, 0}, KS_ID_AUTOSEQ, &id), 0);
	CHECK_EQ(id.seq, 3);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	stream_t *s;
	CHECK_EQ(ks_stream(f.ks, "s", 1, &s), 0);
	CHECK(s && s->length == 2);
	CHECK_EQ(stream_first(s)->id.seq, 1);
	CHECK_EQ(stream_last(s)->id.seq, 3);
	CHECK(stream_entry_data(s, stream_last(s)) != NULL);
	kfx_close(&f);
}

TEST(keyspace_failed_stream_creation_leaves_no_stream)
{
	kfx_t f;
	kfx_open(&f, "always");
	fault(&f, "op=fdatasync,path=streams.journal,count=1,errno=EIO");
	sid_t id;
	CHECK_EQ(xadd(&f, "s", (sid_t){9, 0}, KS_ID_AUTOSEQ, &id), 0);
	CHECK_EQ(id.seq, 0);
	CHECK_EQ(settle(&f), -1);
	wait_recoveries(&f, 1);
	CHECK(ks_find(f.ks, "s", 1) == NULL);
	/* The vanished stream's IDs are not handed out again either. */
	CHECK_EQ(xadd(&f, "s", (sid_t){9, 0}, KS_ID_AUTOSEQ, &id), 0);
	CHECK_EQ(id.seq, 1);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	CHECK_EQ(stream_len(&f, "s"), 1);
	/* The log of the undone creation is gone; the new one is the only. */
	CHECK(access("streams/0", F_OK) != 0);
	CHECK(access("streams/1", F_OK) == 0);
	kfx_close(&f);
}

TEST(keyspace_undone_delete_keeps_the_stream_log)
{
	kfx_t f;
	kfx_open(&f, "always");
	sid_t id;
	for (int i = 1; i <= 3; i++)
		CHECK_EQ(xadd(&f, "s", (sid_t){(uint64_t)i, 1}, KS_ID_EXPLICIT, &id), 0);
	CHECK_EQ(settle(&f), 0);
	fault(&f, "op=fdatasync,path=streams.journal,count=1,errno=EIO");
	const char *k = "s";
	size_t kl = 1;
	int64_t n;
	CHECK_EQ(ks_del(f.ks, 1, &k, &kl, &n), 0);
	CHECK_EQ(n, 1);
	CHECK(ks_find(f.ks, "s", 1) == NULL);
	CHECK_EQ(settle(&f), -1);
	wait_recoveries(&f, 1);
	/* The deletion was undone: the stream and its entries are back. */
	CHECK_EQ(stream_len(&f, "s"), 3);
	stream_t *s;
	ks_stream(f.ks, "s", 1, &s);
	CHECK(stream_entry_data(s, stream_first(s)) != NULL);
	/* A durable deletion removes the log. */
	CHECK_EQ(ks_del(f.ks, 1, &k, &kl, &n), 0);
	CHECK_EQ(settle(&f), 0);
	CHECK(access("streams/0", F_OK) != 0);
	kfx_reopen(&f);
	CHECK(ks_find(f.ks, "s", 1) == NULL);
	kfx_close(&f);
}

TEST(keyspace_undone_trim_keeps_the_entries)
{
	kfx_t f;
	kfx_open(&f, "always");
	sid_t id;
	for (int i = 1; i <= 5; i++)
		CHECK_EQ(xadd(&f, "s", (sid_t){(uint64_t)i, 1}, KS_ID_EXPLICIT, &id), 0);
	CHECK_EQ(settle(&f), 0);
	fault(&f, "op=fdatasync,path=streams.journal,count=1,errno=EIO");
	ks_trim_t t = {KS_TRIM_MAXLEN, 0, 1, SID_MIN, 0, 0};
	int64_t n;
	CHECK_EQ(ks_xtrim(f.ks, "s", 1, &t, &n), 0);
	CHECK_EQ(n, 4);
	CHECK_EQ(settle(&f), -1);
	wait_recoveries(&f, 1);
	CHECK_EQ(stream_len(&f, "s"), 5);
	stream_t *s;
	ks_stream(f.ks, "s", 1, &s);
	CHECK(stream_entry_data(s, stream_first(s)) != NULL);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	CHECK_EQ(stream_len(&f, "s"), 5);
	kfx_close(&f);
}

TEST(keyspace_change_across_journals_is_all_or_nothing)
{
	kfx_t f;
	kfx_open(&f, "always");
	sid_t id;
	CHECK_EQ(xadd(&f, "s", (sid_t){1, 1}, KS_ID_EXPLICIT, &id), 0);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f); /* journals trimmed: the next append reserves */
	/* MSET over a stream takes a DELKEY in the streams journal and SETs
	 * in the keys journal: the streams journal has no room. */
	fault(&f, "op=fallocate,path=streams.journal,count=-1,errno=ENOSPC");
	const char *keys[2] = {"a", "s"}, *vals[2] = {"1", "2"};
	size_t kl[2] = {1, 1}, vl[2] = {1, 1};
	CHECK_EQ(ks_mset(f.ks, 2, keys, kl, vals, vl), SL_ENOSPC);
	CHECK(ks_find(f.ks, "a", 1) == NULL);
	CHECK_EQ(stream_len(&f, "s"), 1);
	sio_fault_clear(f.io);
	CHECK_EQ(ks_mset(f.ks, 2, keys, kl, vals, vl), 0);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	ks_obj_t *o = ks_find(f.ks, "s", 1);
	CHECK(o && o->type == KS_STRING);
	CHECK(ks_find(f.ks, "a", 1) != NULL);
	kfx_close(&f);
}

TEST(keyspace_never_policy_refuses_on_full_disk_too)
{
	kfx_t f;
	kfx_open(&f, "never");
	fault(&f, "op=fallocate,path=keys.journal,count=-1,errno=ENOSPC");
	CHECK_EQ(push(&f, "q", "a"), SL_ENOSPC);
	CHECK(ks_find(f.ks, "q", 1) == NULL);
	CHECK(!ks_must_hold(f.ks));
	sio_fault_clear(f.io);
	CHECK_EQ(push(&f, "q", "b"), 0);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	check_list(&f, "q", "b");
	kfx_close(&f);
}

TEST(keyspace_failure_under_never_keeps_what_was_acknowledged)
{
	/* Without `always`, replies leave at once: a failed write loses only
	 * what it did not get to disk, never what came before it. */
	kfx_t f;
	kfx_open(&f, "never");
	CHECK_EQ(push(&f, "q", "a"), 0);
	CHECK_EQ(push(&f, "q", "b"), 0);
	for (int i = 0; i < 5; i++)
		loop_run_once(f.b.loop, 0);
	fault(&f, "op=pwrite,path=keys.journal,count=1,errno=EIO");
	CHECK_EQ(push(&f, "q", "c"), 0);
	wait_recoveries(&f, 1);
	check_list(&f, "q", "a,b");
	CHECK_EQ(push(&f, "q", "d"), 0);
	kfx_reopen(&f);
	check_list(&f, "q", "a,b,d");
	kfx_close(&f);
}

/* --- metadata damage never deletes stream entries --------------------------------- */

static int64_t flen(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static int isdir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* n entries with explicit IDs 1-1, 2-1, ...; each settled (its own batch). */
static void xadd_n(kfx_t *f, const char *key, int n)
{
	for (int i = 1; i <= n; i++) {
		sid_t id;
		CHECK_EQ(xadd(f, key, (sid_t){(uint64_t)i, 1}, KS_ID_EXPLICIT, &id), 0);
		CHECK_EQ(settle(f), 0);
	}
}

/* Every indexed entry of key reads back intact; returns how many. */
static uint64_t check_entries(kfx_t *f, const char *key)
{
	stream_t *s;
	CHECK_EQ(ks_stream(f->ks, key, strlen(key), &s), 0);
	CHECK(s != NULL);
	siter_t it;
	stream_iter(&it, s, SID_MIN, SID_MAX, 0);
	uint64_t n = 0;
	for (sentry_t *e; (e = stream_iter_next(&it)) != NULL; n++) {
		const uint8_t *p = stream_entry_data(s, e);
		CHECK_MSG(p != NULL, "entry %llu unreadable", (unsigned long long)e->id.ms);
		const uint8_t *v;
		uint32_t vn;
		p = sentry_field(p, &v, &vn);
		CHECK(vn == 1 && v[0] == 'f');
		sentry_field(p, &v, &vn);
		CHECK(vn == 1 && v[0] == 'v');
	}
	CHECK_EQ(n, s->length);
	return n;
}

/* A torn streams.journal (even one cut to its header) costs no entries:
 * each log is adopted under the key its key file names, journaled. */
TEST(keyspace_torn_streams_journal_adopts_the_logs)
{
	kfx_t f;
	kfx_open(&f, "always");
	xadd_n(&f, "s1", 30);
	xadd_n(&f, "s2", 5);
	kfx_close(&f);
	CHECK(flen("streams/0.key") > 0 && flen("streams/1.key") > 0);
	CHECK_EQ(truncate("streams/streams.journal", 20), 0);
	kfx_open(&f, "always");
	CHECK_EQ(stream_len(&f, "s1"), 30);
	CHECK_EQ(stream_len(&f, "s2"), 5);
	CHECK_EQ(check_entries(&f, "s1"), 30);
	sid_t id;
	CHECK_EQ(xadd(&f, "s1", (sid_t){31, 1}, KS_ID_EXPLICIT, &id), 0);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	CHECK_EQ(stream_len(&f, "s1"), 31);
	CHECK_EQ(stream_len(&f, "s2"), 5);
	kfx_close(&f);
}

/* A log whose key is unknown or taken is adopted under a recovery name;
 * a log whose deletion is journaled is removed; one the journal never
 * knew that holds nothing is removed; strict recovery refuses. */
TEST(keyspace_stray_logs_adopted_or_finished)
{
	kfx_t f;
	kfx_open(&f, "always");
	xadd_n(&f, "taken", 3);
	xadd_n(&f, "gone", 2);
	CHECK_EQ(push(&f, "lst", "a"), 0);
	CHECK_EQ(settle(&f), 0);
	kfx_close(&f);
	/* Copies of log 0 ("taken") the journal never saw: one named, one
	 * nameless, one named after a list of the keys journal; and an empty
	 * one. */
	CHECK_EQ(system("cp -r streams/0 streams/7 && cp streams/0.key streams/7.key && "
	                "cp -r streams/0 streams/8 && cp -r streams/0 streams/10 && "
	                "mkdir streams/9"),
	         0);
	uint8_t kf[4 + 4 + 3 + 4] = {'S', 'L', 'S', 'K', 0, 0, 0, 3, 'l', 's', 't'};
	be32_store(kf + 11, crc32c(0, kf, 11));
	FILE *kfp = fopen("streams/10.key", "wb");
	CHECK(kfp && fwrite(kf, 1, sizeof kf, kfp) == sizeof kf);
	fclose(kfp);
	kfx_open(&f, "always");
	/* The deletion is journaled, its removal fails. */
	fault(&f, "op=unlink,path=streams/1/,count=-1,errno=EIO");
	const char *k = "gone";
	size_t kl = 4;
	int64_t deleted = 0;
	CHECK_EQ(ks_del(f.ks, 1, &k, &kl, &deleted), 0);
	CHECK_EQ(deleted, 1);
	CHECK_EQ(settle(&f), 0);
	for (int i = 0; i < 5; i++)
		loop_run_once(f.b.loop, 1);
	sio_fault_clear(f.io);
	CHECK(isdir("streams/1"));
	CHECK_EQ(stream_len(&f, "taken"), 3);
	CHECK_EQ(stream_len(&f, "sluice:recovered:7"), 3);
	CHECK_EQ(stream_len(&f, "sluice:recovered:8"), 3);
	CHECK_EQ(stream_len(&f, "sluice:recovered:10"), 3);
	check_list(&f, "lst", "a");
	CHECK(!isdir("streams/9"));
	kfx_close(&f);
	/* Strict: a stray log stops the open, untouched. */
	CHECK_EQ(system("cp -r streams/0 streams/12"), 0);
	memset(&f, 0, sizeof f);
	config_init(&f.cfg);
	f.cfg.strict_recovery = 1;
	log_init(&f.log, LOG_ERROR, 2);
	f.b.cfg = &f.cfg;
	f.b.log = &f.log;
	f.b.data_dir = ".";
	f.b.loop = loop_new(NULL);
	f.b.syncer = syncer_new(f.b.loop, &f.log);
	f.io = sio_new();
	syncer_set_io(f.b.syncer, f.io);
	f.b.io = f.io;
	CHECK_EQ(ks_open(&f.ks, &f.b), SL_ECORRUPT);
	CHECK(isdir("streams/12"));
	syncer_free(f.b.syncer);
	sio_free(f.io);
	loop_free(f.b.loop);
	config_deinit(&f.cfg);
	/* Without it: the interrupted deletion is finished, 12 adopted. */
	kfx_open(&f, "always");
	CHECK(!isdir("streams/1"));
	CHECK_EQ(flen("streams/1.key"), -1);
	CHECK(ks_find(f.ks, "gone", 4) == NULL);
	CHECK_EQ(stream_len(&f, "sluice:recovered:12"), 3);
	CHECK_EQ(stream_len(&f, "sluice:recovered:7"), 3);
	kfx_close(&f);
}

/* A damaged stream log: the damaged entries are left out, every other one
 * reads back intact, XLEN counts what is served, and the open ends. */
TEST(keyspace_damaged_stream_log_serves_the_rest)
{
	kfx_t f;
	kfx_open(&f, "always");
	xadd_n(&f, "s", 60);
	kfx_close(&f);
	const char *seg = "streams/0/00000000000000000000.log";
	int64_t n = flen(seg);
	CHECK(n > 1000);
	FILE *fp = fopen(seg, "r+b");
	CHECK(fp);
	for (int64_t at = n / 3; at < n; at += n / 3) {
		fseek(fp, (long)at, SEEK_SET);
		int c = fgetc(fp);
		fseek(fp, (long)at, SEEK_SET);
		fputc(c ^ 0x40, fp);
	}
	fclose(fp);
	kfx_open(&f, "always");
	uint64_t len = stream_len(&f, "s");
	CHECK_MSG(len >= 57 && len < 60, "len %llu", (unsigned long long)len);
	CHECK_EQ(check_entries(&f, "s"), len);
	stream_t *s;
	CHECK_EQ(ks_stream(f.ks, "s", 1, &s), 0);
	CHECK_EQ(s->lost, 60 - len);
	/* New entries go on after the damaged ones. */
	sid_t id;
	CHECK_EQ(xadd(&f, "s", (sid_t){61, 1}, KS_ID_EXPLICIT, &id), 0);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	CHECK_EQ(stream_len(&f, "s"), len + 1);
	CHECK_EQ(check_entries(&f, "s"), len + 1);
	kfx_close(&f);
}

/* --- units (keyspace_unit.c) ---------------------------------------------------------------- */

static int set(kfx_t *f, const char *key, const char *v)
{
	return ks_set(f->ks, key, strlen(key), v, strlen(v), 0);
}

/* The segment file of stream "s" (the first log, number 0). */
static const char *seg_path(void)
{
	static char path[512];
	glob_t g;
	CHECK_EQ(glob("streams/0/*.log", 0, NULL, &g), 0);
	CHECK_EQ(g.gl_pathc, 1);
	snprintf(path, sizeof path, "%s", g.gl_pathv[0]);
	globfree(&g);
	return path;
}

static int64_t unit_log_size; /* the segment's size before the unit */

/* One unit that writes strings "a" and "b" and entry 2-1 of stream "s",
 * settled; the journals' sizes before and after it in *k0, *k1, *s0, *s1
 * (after a reopen that trimmed them, so they are the files' sizes). */
static void unit_across(kfx_t *f, int64_t *k0, int64_t *k1, int64_t *s0, int64_t *s1)
{
	CHECK_EQ(set(f, "pre", "x"), 0);
	xadd_n(f, "s", 1);
	kfx_reopen(f);
	*k0 = flen("resp/keys.journal");
	*s0 = flen("streams/streams.journal");
	unit_log_size = flen(seg_path());
	ks_unit_begin(f->ks, 1);
	CHECK_EQ(set(f, "a", "1"), 0);
	sid_t id;
	CHECK_EQ(xadd(f, "s", (sid_t){2, 1}, KS_ID_EXPLICIT, &id), 0);
	CHECK_EQ(set(f, "b", "1"), 0);
	ks_unit_end(f->ks);
	CHECK_EQ(settle(f), 0);
	kfx_close(f);
	*k1 = flen("resp/keys.journal");
	*s1 = flen("streams/streams.journal");
	CHECK(*k1 > *k0 && *s1 > *s0);
}

/* What a unit that was dropped leaves: the state before it, its stream
 * entry cut from the log too; and writing goes on. */
static void check_unit_dropped(kfx_t *f)
{
	CHECK(ks_find(f->ks, "pre", 3) != NULL);
	CHECK(ks_find(f->ks, "a", 1) == NULL);
	CHECK(ks_find(f->ks, "b", 1) == NULL);
	CHECK_EQ(stream_len(f, "s"), 1);
	CHECK_EQ(check_entries(f, "s"), 1);
	stream_t *s;
	CHECK_EQ(ks_stream(f->ks, "s", 1, &s), 0);
	CHECK_EQ(plog_end_offset(s->log), 1);
	CHECK_EQ(set(f, "c", "1"), 0);
	sid_t id;
	CHECK_EQ(xadd(f, "s", (sid_t){3, 1}, KS_ID_EXPLICIT, &id), 0);
	CHECK_EQ(settle(f), 0);
	kfx_reopen(f);
	CHECK(ks_find(f->ks, "a", 1) == NULL);
	CHECK(ks_find(f->ks, "c", 1) != NULL);
	CHECK_EQ(stream_len(f, "s"), 2);
}

/* A kill between the two journals' writes: the streams journal (and the
 * log) got the unit, the keys journal did not. */
TEST(keyspace_unit_missing_from_keys_journal_drops_it_everywhere)
{
	kfx_t f;
	kfx_open(&f, "always");
	int64_t k0, k1, s0, s1;
	unit_across(&f, &k0, &k1, &s0, &s1);
	CHECK_EQ(truncate("resp/keys.journal", k0), 0);
	kfx_open(&f, "always");
	check_unit_dropped(&f);
	kfx_close(&f);
}

/* The other order: the keys journal has the unit whole, the streams
 * journal its UNITLOG (written before the entry) but not its COMMIT. */
TEST(keyspace_unit_torn_in_streams_journal_drops_it_everywhere)
{
	kfx_t f;
	kfx_open(&f, "always");
	int64_t k0, k1, s0, s1;
	unit_across(&f, &k0, &k1, &s0, &s1);
	CHECK_EQ(truncate("streams/streams.journal", s1 - 19), 0); /* its COMMIT */
	kfx_open(&f, "always");
	check_unit_dropped(&f);
	kfx_close(&f);
}

/* A power loss kept both journals' COMMITs but not the entry in the log
 * (written before the COMMIT, not synced before it): dropped too. */
TEST(keyspace_unit_whose_entry_the_log_lost_is_dropped)
{
	kfx_t f;
	kfx_open(&f, "always");
	int64_t k0, k1, s0, s1;
	unit_across(&f, &k0, &k1, &s0, &s1);
	CHECK(flen(seg_path()) > unit_log_size);
	CHECK_EQ(truncate(seg_path(), unit_log_size), 0);
	kfx_open(&f, "always");
	check_unit_dropped(&f);
	kfx_close(&f);
}

/* Every cut of the keys journal inside a unit of keys only: all or none. */
TEST(keyspace_unit_torn_keys_journal_applies_none)
{
	kfx_t f;
	kfx_open(&f, "always");
	CHECK_EQ(set(&f, "pre", "x"), 0);
	CHECK_EQ(settle(&f), 0);
	kfx_reopen(&f);
	int64_t k0 = flen("resp/keys.journal");
	ks_unit_begin(f.ks, 0);
	CHECK_EQ(set(&f, "a", "1"), 0);
	CHECK_EQ(push(&f, "l", "v"), 0);
	CHECK_EQ(set(&f, "b", "1"), 0);
	ks_unit_end(f.ks);
	CHECK_EQ(settle(&f), 0);
	kfx_close(&f);
	int64_t k1 = flen("resp/keys.journal");
	FILE *in = fopen("resp/keys.journal", "rb");
	CHECK(in);
	uint8_t *all = malloc((size_t)k1);
	CHECK_EQ(fread(all, 1, (size_t)k1, in), (size_t)k1);
	fclose(in);
	for (int64_t len = k0; len <= k1; len += 7) {
		FILE *out = fopen("resp/keys.journal", "wb");
		CHECK(out);
		CHECK_EQ(fwrite(all, 1, (size_t)len, out), (size_t)len);
		fclose(out);
		kfx_open(&f, "always");
		int whole = len == k1;
		CHECK(ks_find(f.ks, "pre", 3) != NULL);
		CHECK_EQ(ks_find(f.ks, "a", 1) != NULL, whole);
		CHECK_EQ(ks_find(f.ks, "l", 1) != NULL, whole);
		CHECK_EQ(ks_find(f.ks, "b", 1) != NULL, whole);
		kfx_close(&f);
		if (len < k1 && len + 7 > k1)
			len = k1 - 7;
	}
	free(all);
}

/* --- one allocation per key (issue 18) ----------------------------------- */

enum { MK = 64 };

typedef struct mkey {
	int live;
	char v[160];
	size_t n;
	int64_t at;
} mkey_t;

static size_t mk_name(int i, char *out)
{
	return (size_t)snprintf(out, 16, "mk:%d", i);
}

/* Every model key against the keyspace: value, time, and the counts. */
static void check_model(kfx_t *f, const mkey_t *m)
{
	size_t live = 0, timed = 0;
	for (int i = 0; i < MK; i++) {
		char k[16];
		size_t kl = mk_name(i, k);
		ks_obj_t *o = ks_find(f->ks, k, kl);
		CHECK_MSG((o != NULL) == m[i].live, "key %s", k);
		if (!o)
			continue;
		live++;
		timed += m[i].at != 0;
		CHECK_EQ(o->type, KS_STRING);
		const qlv_t *v = o->ptr;
		CHECK_EQ(v->len, m[i].n);
		CHECK(memcmp(v->p, m[i].v, v->len) == 0);
		CHECK_EQ(v->p[v->len], 0);
		CHECK_EQ(ks_expire_at(f->ks, k, kl), m[i].at);
		CHECK_EQ(o->klen, kl);
		CHECK(memcmp(o->key, k, kl + 1) == 0);
	}
	CHECK_EQ(ks_size(f->ks), live);
	CHECK_EQ(ks_expires_count(f->ks), timed);
}

/* Strings short (in the key's object) and long (their own allocation),
 * rewritten to other sizes, renamed, copied, appended to, given and
 * stripped of times: the objects move, their times and values follow,
 * and a reopen (the journal replayed) finds the same. */
TEST(keyspace_objects_move_with_their_times)
{
	kfx_t f;
	static mkey_t m[MK];
	memset(m, 0, sizeof m);
	kfx_open(&f, "never");
	uint64_t seed = 11;
	int64_t base = time_wall_ms() + 3600 * 1000;
	for (int step = 0; step < 6000; step++) {
		int a = (int)(test_rand(&seed) % MK), b = (int)(test_rand(&seed) % MK);
		char ka[16], kb[16];
		size_t la = mk_name(a, ka), lb = mk_name(b, kb);
		int64_t n64;
		switch (test_rand(&seed) % 8) {
		case 0:
		case 1: { /* SET, sizes on both sides of what is embedded */
			size_t n = (size_t)(test_rand(&seed) % 100);
			for (size_t i = 0; i < n; i++)
				m[a].v[i] = (char)('a' + (step + i) % 26);
			int64_t at = test_rand(&seed) % 2 ? base + step : 0;
			CHECK_EQ(ks_set(f.ks, ka, la, m[a].v, n, at), 0);
			m[a].n = n;
			m[a].at = at;
			m[a].live = 1;
			break;
		}
		case 2: {
			const char *k = ka;
			int64_t del;
			CHECK_EQ(ks_del(f.ks, 1, &k, &la, &del), 0);
			CHECK_EQ(del, m[a].live);
			m[a].live = 0;
			break;
		}
		case 3:
			CHECK_EQ(ks_expire(f.ks, ka, la, base + 7 * step), m[a].live);
			if (m[a].live)
				m[a].at = base + 7 * step;
			break;
		case 4:
			CHECK_EQ(ks_persist(f.ks, ka, la), m[a].live && m[a].at != 0);
			m[a].at = 0;
			break;
		case 5:
			if (a == b)
				break;
			CHECK_EQ(ks_rename(f.ks, ka, la, kb, lb), m[a].live ? 0 : SL_ENOENT);
			if (m[a].live) {
				m[b] = m[a];
				m[a].live = 0;
			}
			break;
		case 6:
			if (a == b)
				break;
			CHECK_EQ(ks_copy(f.ks, ka, la, kb, lb, 1), m[a].live);
			if (m[a].live)
				m[b] = m[a];
			break;
		default:
			if (m[a].n + 3 > sizeof m[a].v)
				break;
			CHECK_EQ(ks_append(f.ks, ka, la, "xyz", 3, 1 << 20, &n64), 0);
			if (!m[a].live)
				m[a].n = m[a].at = 0;
			memcpy(m[a].v + m[a].n, "xyz", 3);
			m[a].n += 3;
			m[a].live = 1;
			CHECK_EQ(n64, (int64_t)m[a].n);
		}
		if (step % 500 == 0)
			check_model(&f, m);
	}
	check_model(&f, m);
	kfx_reopen(&f);
	check_model(&f, m);
	kfx_close(&f);
}

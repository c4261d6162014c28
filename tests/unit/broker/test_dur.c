/*
 * test_dur.c — durability domains (broker/dur.c): replies held until the
 * domain is on disk, in order, reads included; the failure policy (every
 * unreleased reply fails, stores cut back across members, the owner
 * reloads, recovery retried until the cut works); forced holds under
 * fsync=never. Faults are injected through the syncer's sio interface.
 */
#include "broker/dur.h"
#include "core/err.h"
#include "net/memconn.h"
#include "store/journal.h"
#include "store/sio.h"
#include "test.h"

#include <errno.h>
#include <sys/stat.h>

static int nop_open(conn_t *c, void *srv)
{
	(void)c, (void)srv;
	return 0;
}

static int nop_input(conn_t *c)
{
	buf_reset(&c->in);
	return 0;
}

static void nop_close(conn_t *c)
{
	(void)c;
}

static const proto_t nop = {"nop", nop_open, nop_input, NULL, nop_close};

typedef struct owner {
	int reloads;
	int reload_rc;
	int idles;
	size_t replayed;
	jrnl_t *j;
} owner_t;

static int count_rec(void *arg, uint8_t type, const uint8_t *p, size_t n)
{
	(void)type, (void)p, (void)n;
	((owner_t *)arg)->replayed++;
	return 0;
}

static int reload(void *arg)
{
	owner_t *o = arg;
	o->reloads++;
	if (o->reload_rc)
		return o->reload_rc;
	o->replayed = 0;
	return o->j ? jrnl_replay(o->j, count_rec, o) : 0;
}

static void idle(void *arg)
{
	((owner_t *)arg)->idles++;
}

typedef struct fx {
	loop_t *loop;
	syncer_t *syncer;
	sio_t *io;
	log_t log;
	owner_t own;
	dur_t *d;
	jrnl_t *j;
} fx_t;

static jrnl_t *open_jrnl(fx_t *f, const char *name, fsync_mode_t mode, owner_t *o)
{
	jrnl_opts_t jo = {.fsync = {mode, 0}, .compact_ratio_pct = 50, .max_record = 1 << 20};
	jrnl_t *j = NULL;
	o->replayed = 0;
	CHECK_EQ(jrnl_open(&j, f->loop, f->syncer, &f->log, ".", name, &jo, count_rec, o), 0);
	return j;
}

static void fx_init(fx_t *f, fsync_mode_t mode)
{
	memset(f, 0, sizeof *f);
	log_init(&f->log, LOG_ERROR, 2);
	f->loop = loop_new(NULL);
	f->syncer = syncer_new(f->loop, &f->log);
	f->io = sio_new();
	syncer_set_io(f->syncer, f->io);
	f->j = open_jrnl(f, "a", mode, &f->own);
	f->own.j = f->j;
	dur_hooks_t h = {reload, idle, &f->own};
	f->d = dur_new(f->loop, &f->log, "test", (fsync_policy_t){mode, 0}, &h);
	dur_add_jrnl(f->d, f->j);
}

static void fx_deinit(fx_t *f)
{
	for (int i = 0; i < 200 && dur_busy(f->d); i++)
		loop_run_once(f->loop, 10);
	dur_free(f->d);
	jrnl_close(f->j);
	loop_run_once(f->loop, 0);
	syncer_free(f->syncer);
	sio_free(f->io);
	loop_free(f->loop);
}

/* As a restart: the journal is opened again (counting its records) under
 * a fresh domain. */
static void reopen(fx_t *f)
{
	dur_free(f->d);
	jrnl_close(f->j);
	f->j = open_jrnl(f, "a", FSYNC_ALWAYS, &f->own);
	f->own.j = f->j;
	dur_hooks_t h = {reload, idle, &f->own};
	f->d = dur_new(f->loop, &f->log, "test", (fsync_policy_t){FSYNC_ALWAYS, 0}, &h);
	dur_add_jrnl(f->d, f->j);
}

static void fault(fx_t *f, const char *spec)
{
	sio_fault_t r;
	char err[100];
	CHECK_MSG(sio_fault_parse(spec, &r, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(f->io, &r), 0);
}

static void rec(jrnl_t *j, int i)
{
	uint8_t p[40];
	memset(p, i, sizeof p);
	CHECK_EQ(jrnl_append(j, 1, p, sizeof p), 0);
}

/* Rewrites a failed reply to "E" + the original's first byte. */
static int fin_err(dur_hold_t *h, buf_t *reply, int status, void *arg)
{
	(void)h, (void)arg;
	if (status < 0) {
		uint8_t first = buf_len(reply) ? buf_data(reply)[0] : '?';
		buf_reset(reply);
		buf_put_u8(reply, 'E');
		buf_put_u8(reply, first);
	}
	return 0;
}

static void expect(memconn_t *m, const char *want)
{
	buf_t out = BUF_INIT;
	size_t n = strlen(want);
	CHECK_EQ(memconn_recv_wait(m, &out, n, 5000), 0);
	CHECK_EQ(buf_len(&out), n);
	CHECK_MEM(buf_data(&out), want, n);
	buf_deinit(&out);
}

static void settle(fx_t *f)
{
	for (int i = 0; i < 500 && (dur_busy(f->d) || dur_state(f->d)); i++)
		loop_run_once(f->loop, 10);
	CHECK_EQ(dur_busy(f->d), 0);
}

TEST(dur_never_replies_at_once)
{
	fx_t f;
	fx_init(&f, FSYNC_NEVER);
	memconn_t *m = memconn_new(f.loop, &nop, NULL, NULL);
	rec(f.j, 1);
	CHECK(!dur_must_hold(f.d));
	dur_reply(f.d, m->conn, "a", 1, fin_err, NULL);
	CHECK_EQ(dur_busy(f.d), 0);
	expect(m, "a");
	memconn_free(m);
	fx_deinit(&f);
}

/* A write's reply waits for the sync; so does a read on another connection
 * made while the write is unsynced; one batch per turn, order kept. */
TEST(dur_always_holds_writes_and_reads_until_synced)
{
	fx_t f;
	fx_init(&f, FSYNC_ALWAYS);
	memconn_t *a = memconn_new(f.loop, &nop, NULL, NULL);
	memconn_t *b = memconn_new(f.loop, &nop, NULL, NULL);
	CHECK(!dur_must_hold(f.d));
	rec(f.j, 1);
	CHECK(dur_must_hold(f.d));
	dur_reply(f.d, a->conn, "w", 1, fin_err, NULL);
	dur_reply(f.d, b->conn, "r", 1, fin_err, NULL); /* a read */
	dur_reply(f.d, a->conn, "x", 1, fin_err, NULL);
	conn_write(a->conn, "y", 1); /* queues behind the held ones */
	CHECK_EQ(dur_busy(f.d), 3);
	uint64_t batches = dur_batches(f.d);
	expect(a, "wxy");
	expect(b, "r");
	CHECK_EQ(dur_batches(f.d), batches + 1);
	settle(&f);
	CHECK(!dur_must_hold(f.d));
	CHECK(f.own.idles > 0);
	CHECK(jrnl_synced(f.j) == jrnl_size(f.j));
	memconn_free(a);
	memconn_free(b);
	fx_deinit(&f);
}

/* A failed sync: every unreleased reply fails (writes and reads), the
 * journal is cut back to what was acknowledged, the owner reloads once,
 * mutations are refused until then, and the next write works. */
TEST(dur_failure_fails_replies_cuts_and_reloads)
{
	fx_t f;
	fx_init(&f, FSYNC_ALWAYS);
	memconn_t *a = memconn_new(f.loop, &nop, NULL, NULL);
	memconn_t *b = memconn_new(f.loop, &nop, NULL, NULL);
	for (int i = 0; i < 5; i++)
		rec(f.j, i);
	dur_reply(f.d, a->conn, "1", 1, fin_err, NULL);
	expect(a, "1");
	settle(&f);
	uint64_t good = jrnl_size(f.j);
	fault(&f, "op=fdatasync,path=a.journal,count=1");
	rec(f.j, 5);
	dur_reply(f.d, a->conn, "w", 1, fin_err, NULL);
	dur_reply(f.d, b->conn, "r", 1, fin_err, NULL);
	expect(a, "Ew");
	expect(b, "Er");
	settle(&f);
	CHECK_EQ(f.own.reloads, 1);
	CHECK_EQ(f.own.replayed, 5);
	CHECK_EQ(jrnl_size(f.j), good);
	CHECK_EQ(dur_state(f.d), 0);
	CHECK_EQ(dur_recoveries(f.d), 1);
	rec(f.j, 6);
	dur_reply(f.d, a->conn, "2", 1, fin_err, NULL);
	expect(a, "2");
	settle(&f);
	memconn_free(a);
	memconn_free(b);
	reopen(&f);
	CHECK_EQ(f.own.replayed, 6);
	fx_deinit(&f);
}

/* Pipelined replies of one connection in one turn share a hold (one busy
 * count) and leave in order; output queued between them, or a reply with
 * another fin, starts a new hold; a failure still gives every reply its
 * own error (fin once per reply). */
TEST(dur_pipelined_replies_share_a_hold)
{
	fx_t f;
	fx_init(&f, FSYNC_ALWAYS);
	memconn_t *a = memconn_new(f.loop, &nop, NULL, NULL);
	rec(f.j, 1);
	dur_reply(f.d, a->conn, "1", 1, fin_err, NULL);
	dur_reply(f.d, a->conn, "2", 1, fin_err, NULL);
	dur_reply(f.d, a->conn, "3", 1, fin_err, NULL);
	CHECK_EQ(dur_busy(f.d), 1);
	conn_write(a->conn, "-", 1);
	dur_reply(f.d, a->conn, "4", 1, fin_err, NULL);
	dur_reply(f.d, a->conn, "5", 1, NULL, NULL);
	CHECK_EQ(dur_busy(f.d), 3);
	expect(a, "123-45");
	settle(&f);
	fault(&f, "op=fdatasync,path=a.journal,count=1");
	rec(f.j, 2);
	dur_reply(f.d, a->conn, "w", 1, fin_err, NULL);
	dur_reply(f.d, a->conn, "x", 1, fin_err, NULL);
	dur_reply(f.d, a->conn, "y", 1, fin_err, NULL);
	CHECK_EQ(dur_busy(f.d), 1);
	expect(a, "EwExEy");
	settle(&f);
	/* The next turn's reply waits for a later batch: a hold of its own. */
	rec(f.j, 3);
	dur_reply(f.d, a->conn, "6", 1, fin_err, NULL);
	loop_run_once(f.loop, 0);
	rec(f.j, 4);
	dur_reply(f.d, a->conn, "7", 1, fin_err, NULL);
	CHECK(dur_busy(f.d) <= 2);
	expect(a, "67");
	settle(&f);
	memconn_free(a);
	fx_deinit(&f);
}

/* Two journals in one domain; only the second one's sync fails. The first
 * one's records of the failed batch are cut too: its reply failed, so the
 * write must not survive a restart. */
TEST(dur_failure_cuts_every_member_of_the_batch)
{
	fx_t f;
	fx_init(&f, FSYNC_ALWAYS);
	owner_t o2 = {0};
	jrnl_t *j2 = open_jrnl(&f, "b", FSYNC_ALWAYS, &o2);
	dur_mem_t *m2 = dur_add_jrnl(f.d, j2);
	memconn_t *a = memconn_new(f.loop, &nop, NULL, NULL);
	rec(f.j, 1);
	rec(j2, 1);
	dur_reply(f.d, a->conn, "1", 1, fin_err, NULL);
	expect(a, "1");
	settle(&f);
	uint64_t a_good = jrnl_size(f.j), b_good = jrnl_size(j2);
	fault(&f, "op=fdatasync,path=b.journal,count=1");
	rec(f.j, 2);
	rec(j2, 2);
	dur_reply(f.d, a->conn, "w", 1, fin_err, NULL);
	expect(a, "Ew");
	settle(&f);
	CHECK_EQ(jrnl_size(f.j), a_good);
	CHECK_EQ(jrnl_size(j2), b_good);
	dur_del(f.d, m2);
	jrnl_close(j2);
	memconn_free(a);
	reopen(&f);
	CHECK_EQ(f.own.replayed, 1);
	fx_deinit(&f);
}

/* The cut itself fails (its fdatasync): the domain stays failed, refuses
 * (dur_state), and retries until the cut works. */
TEST(dur_recovery_is_retried_until_the_cut_works)
{
	fx_t f;
	fx_init(&f, FSYNC_ALWAYS);
	memconn_t *a = memconn_new(f.loop, &nop, NULL, NULL);
	rec(f.j, 1);
	dur_reply(f.d, a->conn, "1", 1, fin_err, NULL);
	expect(a, "1");
	settle(&f);
	fault(&f, "op=fdatasync,path=a.journal,count=2");
	rec(f.j, 2);
	dur_reply(f.d, a->conn, "w", 1, fin_err, NULL);
	expect(a, "Ew");
	for (int i = 0; i < 20 && sio_fault_hits(f.io) < 2; i++)
		loop_run_once(f.loop, 10);
	CHECK_EQ(sio_fault_hits(f.io), 2);
	CHECK(dur_state(f.d) < 0);
	/* A reply while failed fails at once. */
	dur_reply(f.d, a->conn, "r", 1, fin_err, NULL);
	expect(a, "Er");
	settle(&f); /* the retry, a second later */
	CHECK_EQ(dur_state(f.d), 0);
	CHECK_EQ(f.own.reloads, 1);
	CHECK_EQ(f.own.replayed, 1);
	memconn_free(a);
	fx_deinit(&f);
}

/* Under fsync=never a forced hold (Kafka acks=-1) still waits for a sync
 * of the domain's unsynced data. */
TEST(dur_forced_hold_syncs_under_never)
{
	fx_t f;
	fx_init(&f, FSYNC_NEVER);
	memconn_t *a = memconn_new(f.loop, &nop, NULL, NULL);
	rec(f.j, 1);
	CHECK(!dur_must_hold(f.d));
	dur_hold_t *h = dur_hold_new(a->conn, fin_err, NULL);
	buf_put_u8(dur_hold_buf(h), 'f');
	dur_hold_join(h, f.d, 1);
	dur_hold_arm(h);
	CHECK_EQ(dur_busy(f.d), 1);
	expect(a, "f");
	settle(&f);
	CHECK(jrnl_synced(f.j) == jrnl_size(f.j));
	memconn_free(a);
	fx_deinit(&f);
}

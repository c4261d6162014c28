/*
 * test_partition.c — a partition's durability domain (broker/partition.h)
 * with storage faults injected through store/sio.h: an acknowledgement
 * held on the domain fails when the sync fails, the log is cut back and
 * the idempotent producer state rebuilt (the producer's retry is
 * accepted), a write failure changes nothing, appends are refused while
 * the cut cannot complete and resume once it does, and a reopen finds
 * exactly what was acknowledged.
 */
#include "test.h"

#include "broker/topic.h"
#include "net/memconn.h"
#include "net/tproto.h"
#include "store/batch.h"

typedef struct pfix {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	sio_t *io;
	topics_t *ts;
	partition_t *p; /* partition 0 of topic "p" */
} pfix_t;

static void pf_open(pfix_t *f)
{
	CHECK_EQ(topics_open(&f->ts, &f->b), 0);
	topic_t *t = topics_find(f->ts, "p", 1);
	if (!t)
		CHECK_EQ(topics_create(f->ts, "p", 1, NULL, 0, &t), 0);
	f->p = t->parts[0];
}

static void pf_init(pfix_t *f)
{
	memset(f, 0, sizeof *f);
	config_init(&f->cfg);
	log_init(&f->log, LOG_WARN, 2);
	f->b.cfg = &f->cfg;
	f->b.log = &f->log;
	f->b.data_dir = ".";
	f->b.loop = loop_new(NULL);
	f->b.syncer = syncer_new(f->b.loop, &f->log);
	CHECK(f->b.loop && f->b.syncer);
	f->io = sio_new();
	syncer_set_io(f->b.syncer, f->io);
	f->b.io = f->io;
	pf_open(f);
}

static void pf_deinit(pfix_t *f)
{
	topics_close(f->ts);
	loop_run_once(f->b.loop, 0);
	syncer_free(f->b.syncer);
	sio_free(f->io);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

static void pf_fault(pfix_t *f, const char *spec)
{
	sio_fault_t sf;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &sf, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(f->io, &sf), 0);
}

/* Appends one single-record batch of producer pid (-1: none) at seq. */
static int append(pfix_t *f, int64_t pid, int32_t seq, int64_t *base)
{
	buf_t b = BUF_INIT;
	batch_record_t r = {0};
	r.key_len = -1;
	r.value = (const uint8_t *)"v";
	r.value_len = 1;
	batch_build_opts_t o = {pid, pid < 0 ? -1 : 0, pid < 0 ? -1 : seq, 0, 0};
	CHECK_EQ(batch_build(&b, &o, &r, 1), 0);
	part_append_t a;
	int rc = partition_append(f->p, buf_data(&b), buf_len(&b), &a);
	if (base)
		*base = a.base_offset;
	buf_deinit(&b);
	return rc;
}

/* An acks=-1 acknowledgement: a reply held (forced) on the partition's
 * domain. Returns 0 once it arrived, SL_EIO when the domain failed it. */
static int ack(pfix_t *f)
{
	tsrv_t ts;
	memset(&ts, 0, sizeof ts);
	memconn_t *m = memconn_new(f->b.loop, &tproto, &ts, NULL);
	CHECK(m);
	dur_hold_t *h = dur_hold_new(m->conn, NULL, NULL);
	buf_append(dur_hold_buf(h), "k", 1);
	dur_hold_join(h, f->p->dur, 1);
	dur_hold_arm(h);
	buf_t out = BUF_INIT;
	int rc = SL_EIO;
	for (int i = 0; i < 100 && rc == SL_EIO; i++) {
		(void)memconn_recv_wait(m, &out, 1, 50);
		if (buf_len(&out) == 1)
			rc = 0;
		else if (conn_is_closed(m->conn))
			break;
	}
	buf_deinit(&out);
	memconn_free(m);
	return rc;
}

static void wait_recoveries(pfix_t *f, uint64_t n)
{
	for (int i = 0; i < 400 && dur_recoveries(f->p->dur) < n; i++)
		CHECK_EQ(loop_run_once(f->b.loop, 10), 0);
	CHECK_EQ(dur_recoveries(f->p->dur), n);
	CHECK_EQ(dur_state(f->p->dur), 0);
}

TEST(partition_failed_sync_is_cut_back_and_the_retry_accepted)
{
	pfix_t f;
	pf_init(&f);
	int64_t base;
	for (int32_t s = 0; s < 3; s++)
		CHECK_EQ(append(&f, 42, s, &base), 0);
	CHECK_EQ(ack(&f), 0);
	CHECK_EQ(plog_hw(f.p->log), 3);
	pf_fault(&f, "op=fdatasync,path=p-0/,count=1,errno=EIO");
	CHECK_EQ(append(&f, 42, 3, &base), 0);
	CHECK_EQ(append(&f, 42, 4, &base), 0);
	CHECK_EQ(ack(&f), SL_EIO);
	wait_recoveries(&f, 1);
	/* Nothing of the failed batches is left, nor readable. */
	CHECK_EQ(plog_end_offset(f.p->log), 3);
	CHECK_EQ(plog_hw(f.p->log), 3);
	int64_t dup;
	CHECK_EQ(pstate_check(&f.p->pstate, 42, 0, 3, 3, &dup), PS_OK);
	CHECK_EQ(pstate_check(&f.p->pstate, 42, 0, 2, 2, &dup), PS_DUPLICATE);
	/* The producer's retry (same sequences) is the next batch again. */
	CHECK_EQ(append(&f, 42, 3, &base), 0);
	CHECK_EQ(base, 3);
	CHECK_EQ(append(&f, 42, 4, &base), 0);
	CHECK_EQ(base, 4);
	CHECK_EQ(ack(&f), 0);
	topics_close(f.ts);
	pf_open(&f);
	CHECK_EQ(plog_end_offset(f.p->log), 5);
	CHECK_EQ(pstate_check(&f.p->pstate, 42, 0, 5, 5, &dup), PS_OK);
	pf_deinit(&f);
}

TEST(partition_write_failure_changes_nothing)
{
	pfix_t f;
	pf_init(&f);
	int64_t base;
	CHECK_EQ(append(&f, 7, 0, &base), 0);
	pf_fault(&f, "op=pwrite,path=p-0/,count=1,errno=EIO");
	CHECK_EQ(append(&f, 7, 1, &base), SL_EIO);
	/* Pre-apply: no offset taken, no sequence recorded, no recovery. */
	CHECK_EQ(plog_end_offset(f.p->log), 1);
	CHECK_EQ(dur_state(f.p->dur), 0);
	CHECK_EQ(append(&f, 7, 1, &base), 0);
	CHECK_EQ(base, 1);
	CHECK_EQ(ack(&f), 0);
	CHECK_EQ(dur_recoveries(f.p->dur), 0);
	pf_deinit(&f);
}

TEST(partition_refuses_appends_until_the_cut_completes)
{
	pfix_t f;
	pf_init(&f);
	int64_t base;
	CHECK_EQ(append(&f, -1, 0, &base), 0);
	CHECK_EQ(ack(&f), 0);
	/* The sync fails, then the cut's own sync: the domain stays failed
	 * and retries every second. */
	pf_fault(&f, "op=fdatasync,path=p-0/,count=2,errno=EIO");
	CHECK_EQ(append(&f, -1, 0, &base), 0);
	CHECK_EQ(ack(&f), SL_EIO);
	for (int i = 0; i < 100 && sio_fault_hits(f.io) < 2; i++)
		CHECK_EQ(loop_run_once(f.b.loop, 10), 0);
	CHECK_EQ(sio_fault_hits(f.io), 2);
	CHECK(dur_state(f.p->dur) < 0);
	CHECK(append(&f, -1, 0, &base) < 0);
	/* Reads are still served. */
	plog_region_t reg;
	CHECK_EQ(plog_read(f.p->log, 0, 1 << 20, &reg), 0);
	CHECK(reg.len > 0);
	wait_recoveries(&f, 1);
	CHECK_EQ(plog_end_offset(f.p->log), 1);
	CHECK_EQ(append(&f, -1, 0, &base), 0);
	CHECK_EQ(base, 1);
	CHECK_EQ(ack(&f), 0);
	topics_close(f.ts);
	pf_open(&f);
	CHECK_EQ(plog_end_offset(f.p->log), 2);
	pf_deinit(&f);
}

TEST(partition_delete_finishes_held_replies)
{
	pfix_t f;
	pf_init(&f);
	tsrv_t ts;
	memset(&ts, 0, sizeof ts);
	memconn_t *m = memconn_new(f.b.loop, &tproto, &ts, NULL);
	int64_t base;
	CHECK_EQ(append(&f, -1, 0, &base), 0);
	dur_hold_t *h = dur_hold_new(m->conn, NULL, NULL);
	buf_append(dur_hold_buf(h), "k", 1);
	dur_hold_join(h, f.p->dur, 1);
	dur_hold_arm(h);
	CHECK_EQ(topics_busy(f.ts), 1);
	/* The topic goes before the sync: the reply is failed, not leaked. */
	CHECK_EQ(topics_delete(f.ts, "p"), 0);
	memconn_pump(m);
	CHECK(conn_is_closed(m->conn));
	CHECK_EQ(topics_busy(f.ts), 0);
	memconn_free(m);
	f.p = NULL;
	pf_deinit(&f);
}

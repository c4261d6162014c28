/*
 * test_txn.c — the transaction coordinator (broker/txn.h) and the
 * partitions' transaction bookkeeping (broker/partition.h): control batches
 * round-trip; the last stable offset and the aborted index follow markers
 * and are rebuilt on reopen; commit and abort write markers; an id's new
 * instance fences the old epoch; a transaction open at a restart is
 * aborted on recovery; a failed sync of the decision writes no marker and
 * leaves the transaction Ongoing, to be committed by the client's retry;
 * the offsets of open transactions are pending (KIP-447) until they end.
 */
#include "test.h"

#include "broker/broker.h"
#include "broker/group.h"
#include "broker/topic.h"
#include "broker/txn.h"
#include "core/crc32c.h"
#include "core/time.h"
#include "net/memconn.h"
#include "net/tproto.h"
#include "store/batch.h"

typedef struct tfix {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	sio_t *io;
	partition_t *p; /* partition 0 of topic "t" */
} tfix_t;

static void tf_open(tfix_t *f)
{
	CHECK_EQ(broker_open(&f->b), 0);
	topic_t *t = topics_find(f->b.topics, "t", 1);
	if (!t)
		CHECK_EQ(topics_create(f->b.topics, "t", 2, NULL, 0, &t), 0);
	f->p = t->parts[0];
}

static void tf_init(tfix_t *f)
{
	memset(f, 0, sizeof *f);
	config_init(&f->cfg);
	log_init(&f->log, LOG_ERROR, 2);
	f->b.cfg = &f->cfg;
	f->b.log = &f->log;
	f->b.data_dir = ".";
	f->b.loop = loop_new(NULL);
	f->b.syncer = syncer_new(f->b.loop, &f->log);
	CHECK(f->b.loop && f->b.syncer);
	f->io = sio_new();
	syncer_set_io(f->b.syncer, f->io);
	f->b.io = f->io;
	tf_open(f);
}

static void tf_close(tfix_t *f)
{
	broker_close(&f->b);
	loop_run_once(f->b.loop, 0);
}

static void tf_deinit(tfix_t *f)
{
	tf_close(f);
	syncer_free(f->b.syncer);
	sio_free(f->io);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

static void tf_fault(tfix_t *f, const char *spec)
{
	sio_fault_t sf;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &sf, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(f->io, &sf), 0);
}

/* Appends one transactional (or plain, pid -1) single-record batch. */
static int64_t append(partition_t *p, int64_t pid, int16_t epoch, int32_t seq)
{
	buf_t b = BUF_INIT;
	batch_record_t r = {0};
	r.key_len = -1;
	r.value = (const uint8_t *)"v";
	r.value_len = 1;
	batch_build_opts_t o = {pid, pid < 0 ? -1 : epoch, pid < 0 ? -1 : seq, 0, 0};
	CHECK_EQ(batch_build(&b, &o, &r, 1), 0);
	if (pid >= 0) {
		uint8_t *h = buf_data(&b);
		be16_store(h + BATCH_OFF_ATTRIBUTES, BATCH_ATTR_TRANSACTIONAL);
		be32_store(h + BATCH_OFF_CRC,
		           crc32c(0, h + BATCH_OFF_ATTRIBUTES, buf_len(&b) - BATCH_OFF_ATTRIBUTES));
	}
	part_append_t a;
	CHECK_EQ(partition_append(p, buf_data(&b), buf_len(&b), &a), 0);
	buf_deinit(&b);
	return a.base_offset;
}

/* A reply held (forced) on domain d, as the fronts hold theirs: returns 0
 * once it is released, SL_EIO when the domain failed it. */
static int ack(tfix_t *f, dur_t *d)
{
	tsrv_t ts;
	memset(&ts, 0, sizeof ts);
	memconn_t *m = memconn_new(f->b.loop, &tproto, &ts, NULL);
	CHECK(m);
	dur_hold_t *h = dur_hold_new(m->conn, NULL, NULL);
	buf_append(dur_hold_buf(h), "k", 1);
	dur_hold_join(h, d, 1);
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

static void settle(tfix_t *f)
{
	for (int i = 0; i < 20; i++)
		loop_run_once(f->b.loop, 5);
}

TEST(txn_control_batch_round_trips)
{
	buf_t b = BUF_INIT;
	CHECK_EQ(batch_build_control(&b, 77, 3, 1, 0, 1234), 0);
	batch_hdr_t h;
	CHECK_EQ(batch_validate(buf_data(&b), buf_len(&b), 1 << 20, &h), 0);
	CHECK_EQ(h.attributes, BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL);
	CHECK_EQ(h.producer_id, 77);
	CHECK_EQ(h.producer_epoch, 3);
	CHECK_EQ(h.base_sequence, -1);
	CHECK_EQ(batch_control_type(buf_data(&b), buf_len(&b)), BATCH_CONTROL_COMMIT);
	buf_reset(&b);
	CHECK_EQ(batch_build_control(&b, 77, 3, 0, 0, 1234), 0);
	CHECK_EQ(batch_control_type(buf_data(&b), buf_len(&b)), BATCH_CONTROL_ABORT);
	buf_deinit(&b);
}

TEST(txn_partition_lso_and_aborted_index_survive_reopen)
{
	tfix_t f;
	tf_init(&f);
	CHECK_EQ(append(f.p, -1, 0, 0), 0);
	CHECK_EQ(append(f.p, 5, 0, 0), 1); /* pid 5 opens at 1 */
	CHECK_EQ(append(f.p, -1, 0, 0), 2);
	CHECK_EQ(append(f.p, 6, 0, 0), 3); /* pid 6 opens at 3 */
	settle(&f);
	CHECK_EQ(partition_lso(f.p), 1);
	int wrote;
	CHECK_EQ(partition_append_marker(f.p, 5, 0, 0, &wrote), 0); /* abort 5 at 4 */
	CHECK_EQ(wrote, 1);
	settle(&f);
	CHECK_EQ(partition_lso(f.p), 3);
	/* No open transaction of 9 here: nothing written. */
	CHECK_EQ(partition_append_marker(f.p, 9, 0, 1, &wrote), 0);
	CHECK_EQ(wrote, 0);
	const part_aborted_t *a;
	CHECK_EQ(partition_aborted_from(f.p, 0, &a), 1);
	CHECK_EQ(a[0].pid, 5);
	CHECK_EQ(a[0].first, 1);
	CHECK_EQ(a[0].last, 4);
	CHECK_EQ(partition_aborted_from(f.p, 5, &a), 0);
	/* The marker fenced epoch 0 of producer 5 out once it was bumped. */
	CHECK_EQ(partition_append_marker(f.p, 6, 2, 1, &wrote), 0); /* commit 6 at 5 */
	int64_t dup;
	CHECK_EQ(pstate_check(&f.p->pstate, 6, 1, 0, 0, &dup), PS_FENCED);
	settle(&f);
	CHECK_EQ(partition_lso(f.p), 6);
	tf_close(&f);
	tf_open(&f);
	CHECK_EQ(partition_lso(f.p), 6);
	CHECK_EQ(partition_aborted_from(f.p, 0, &a), 1);
	CHECK_EQ(a[0].first, 1);
	CHECK_EQ(a[0].last, 4);
	CHECK_EQ(pstate_check(&f.p->pstate, 6, 1, 0, 0, &dup), PS_FENCED);
	tf_deinit(&f);
}

typedef struct endres {
	int called;
	txn_err_t err;
	int ndoms;
} endres_t;

static void on_end(void *arg, const txn_done_t *d)
{
	endres_t *r = arg;
	r->called++;
	r->err = d->err;
	r->ndoms = d->ndoms;
}

static void wait_end(tfix_t *f, endres_t *r)
{
	for (int i = 0; i < 400 && !r->called; i++)
		loop_run_once(f->b.loop, 5);
	CHECK_EQ(r->called, 1);
}

#define ID "app-1"
#define IDL 5

TEST(txn_commit_abort_and_fencing)
{
	tfix_t f;
	tf_init(&f);
	txn_coord_t *tc = f.b.txns;
	int64_t pid;
	int16_t epoch;
	CHECK_EQ(txn_init_pid(tc, ID, IDL, 60000, -1, -1, &pid, &epoch), TXN_OK);
	CHECK(pid >= 0);
	CHECK_EQ(epoch, 0);
	txn_tp_t tp = {"t", 1, 0};
	txn_err_t errs[1];
	CHECK_EQ(txn_add_partitions(tc, ID, IDL, pid, epoch, &tp, 1, errs), TXN_OK);
	CHECK_EQ(errs[0], TXN_OK);
	append(f.p, pid, epoch, 0);
	settle(&f);
	CHECK_EQ(partition_lso(f.p), 0);
	endres_t r = {0};
	CHECK_EQ(txn_end(tc, ID, IDL, pid, epoch, 1, on_end, &r), TXN_OK);
	wait_end(&f, &r);
	CHECK_EQ(r.err, TXN_OK);
	/* Nothing to wait for: the decision was durable before the answer,
	 * the marker's sync runs on its own, Complete rides on the id's next
	 * sync. */
	CHECK_EQ(r.ndoms, 0);
	settle(&f);
	CHECK_EQ(plog_end_offset(f.p->log), 2);
	CHECK_EQ(partition_lso(f.p), 2);
	/* A retried EndTxn of a completed commit answers OK again. */
	endres_t r2 = {0};
	CHECK_EQ(txn_end(tc, ID, IDL, pid, epoch, 1, on_end, &r2), TXN_OK);
	CHECK_EQ(r2.called, 1);
	CHECK_EQ(r2.err, TXN_OK);
	/* Unknown partitions are refused. */
	txn_tp_t bad = {"nope", 4, 0};
	CHECK_EQ(txn_add_partitions(tc, ID, IDL, pid, epoch, &bad, 1, errs), TXN_OK);
	CHECK_EQ(errs[0], TXN_ERR_UNKNOWN_PARTITION);
	/* A new instance: the next epoch; the old one is fenced. */
	int64_t pid2;
	int16_t epoch2;
	CHECK_EQ(txn_init_pid(tc, ID, IDL, 60000, -1, -1, &pid2, &epoch2), TXN_OK);
	CHECK_EQ(pid2, pid);
	CHECK_EQ(epoch2, 1);
	CHECK_EQ(txn_add_partitions(tc, ID, IDL, pid, epoch, &tp, 1, errs), TXN_ERR_FENCED);
	CHECK_EQ(txn_end(tc, ID, IDL, pid, epoch, 1, on_end, &r2), TXN_ERR_FENCED);
	/* An abort of the new instance. */
	CHECK_EQ(txn_add_partitions(tc, ID, IDL, pid, epoch2, &tp, 1, errs), TXN_OK);
	int64_t first = append(f.p, pid, epoch2, 0);
	endres_t r3 = {0};
	CHECK_EQ(txn_end(tc, ID, IDL, pid, epoch2, 0, on_end, &r3), TXN_OK);
	wait_end(&f, &r3);
	CHECK_EQ(r3.err, TXN_OK);
	const part_aborted_t *a;
	CHECK_EQ(partition_aborted_from(f.p, 0, &a), 1);
	CHECK_EQ(a[0].first, first);
	/* A timeout beyond the maximum is refused. */
	CHECK_EQ(txn_init_pid(tc, "x", 1, TXN_MAX_TIMEOUT_MS + 1, -1, -1, &pid2, &epoch2),
	         TXN_ERR_INVALID_TIMEOUT);
	tf_deinit(&f);
}

TEST(txn_open_at_restart_is_aborted)
{
	tfix_t f;
	tf_init(&f);
	txn_coord_t *tc = f.b.txns;
	int64_t pid;
	int16_t epoch;
	CHECK_EQ(txn_init_pid(tc, ID, IDL, 60000, -1, -1, &pid, &epoch), TXN_OK);
	txn_tp_t tp = {"t", 1, 0};
	txn_err_t errs[1];
	CHECK_EQ(txn_add_partitions(tc, ID, IDL, pid, epoch, &tp, 1, errs), TXN_OK);
	append(f.p, pid, epoch, 0);
	append(f.p, pid, epoch, 1);
	CHECK_EQ(ack(&f, txn_dur(tc)), 0);
	settle(&f);
	tf_close(&f);
	tf_open(&f);
	settle(&f);
	/* Recovery aborted it: an abort marker, the LSO past it. */
	CHECK_EQ(plog_end_offset(f.p->log), 3);
	CHECK_EQ(partition_lso(f.p), 3);
	const part_aborted_t *a;
	CHECK_EQ(partition_aborted_from(f.p, 0, &a), 1);
	CHECK_EQ(a[0].first, 0);
	/* With a bumped epoch: the old instance is fenced. */
	CHECK_EQ(txn_add_partitions(f.b.txns, ID, IDL, pid, epoch, &tp, 1, errs), TXN_ERR_FENCED);
	tf_deinit(&f);
}

TEST(txn_failed_decision_sync_writes_no_marker)
{
	tfix_t f;
	tf_init(&f);
	txn_coord_t *tc = f.b.txns;
	int64_t pid;
	int16_t epoch;
	CHECK_EQ(txn_init_pid(tc, ID, IDL, 60000, -1, -1, &pid, &epoch), TXN_OK);
	txn_tp_t tps[2] = {{"t", 1, 0}, {"t", 1, 1}};
	txn_err_t errs[2];
	CHECK_EQ(txn_add_partitions(tc, ID, IDL, pid, epoch, tps, 2, errs), TXN_OK);
	topic_t *t = topics_find(f.b.topics, "t", 1);
	append(t->parts[0], pid, epoch, 0);
	append(t->parts[1], pid, epoch, 0);
	/* Acknowledged, as the coordinator's replies are. */
	CHECK_EQ(ack(&f, txn_dur(tc)), 0);
	settle(&f);
	tf_fault(&f, "op=fdatasync,path=txn.journal,count=1,errno=EIO");
	endres_t r = {0};
	CHECK_EQ(txn_end(tc, ID, IDL, pid, epoch, 1, on_end, &r), TXN_OK);
	wait_end(&f, &r);
	CHECK_EQ(r.err, TXN_ERR_STORAGE);
	/* No marker anywhere: nothing half-visible. */
	CHECK_EQ(plog_end_offset(t->parts[0]->log), 1);
	CHECK_EQ(plog_end_offset(t->parts[1]->log), 1);
	CHECK_EQ(partition_lso(t->parts[0]), 0);
	CHECK_EQ(partition_lso(t->parts[1]), 0);
	/* Once the domain recovered, the client's retry commits. */
	endres_t r2 = {0};
	txn_err_t e = TXN_ERR_STORAGE;
	for (int i = 0; i < 400 && e != TXN_OK; i++) {
		loop_run_once(f.b.loop, 10);
		if (dur_state(txn_dur(tc)) == 0)
			e = txn_end(tc, ID, IDL, pid, epoch, 1, on_end, &r2);
	}
	CHECK_EQ(e, TXN_OK);
	wait_end(&f, &r2);
	CHECK_EQ(r2.err, TXN_OK);
	settle(&f);
	/* The markers may land a turn after the reply (Kafka answers EndTxn
	 * before it writes them): a loaded machine showed partition 1's. */
	for (int i = 0; i < 400 && partition_lso(t->parts[1]) != 2; i++)
		loop_run_once(f.b.loop, 10);
	CHECK_EQ(partition_lso(t->parts[0]), 2);
	CHECK_EQ(partition_lso(t->parts[1]), 2);
	const part_aborted_t *a;
	CHECK_EQ(partition_aborted_from(t->parts[0], 0, &a), 0);
	tf_deinit(&f);
}

TEST(txn_open_transaction_of_an_unknown_producer_is_aborted)
{
	tfix_t f;
	tf_init(&f);
	/* As after txn.journal was lost: no id knows producer 999. */
	append(f.p, 999, 4, 0);
	settle(&f);
	CHECK_EQ(partition_lso(f.p), 0);
	for (int i = 0; i < 300 && partition_lso(f.p) < 2; i++)
		loop_run_once(f.b.loop, 10);
	CHECK_EQ(partition_lso(f.p), 2);
	const part_aborted_t *a;
	CHECK_EQ(partition_aborted_from(f.p, 0, &a), 1);
	CHECK_EQ(a[0].pid, 999);
	tf_deinit(&f);
}

#define PENDING(tc, g, part) txn_pending_offset(tc, g, (int32_t)strlen(g), "t", 1, part)

/* The offsets of TxnOffsetCommit are pending (OffsetFetch's RequireStable,
 * KIP-447) while a transaction holding them is open, whichever holds
 * them, and no longer once it ends; the group then has the committed
 * ones. */
TEST(txn_pending_offsets_follow_open_transactions)
{
	tfix_t f;
	tf_init(&f);
	txn_coord_t *tc = f.b.txns;
	int64_t pa, pb;
	int16_t ea, eb;
	CHECK_EQ(txn_init_pid(tc, "a", 1, 60000, -1, -1, &pa, &ea), TXN_OK);
	CHECK_EQ(txn_init_pid(tc, "b", 1, 60000, -1, -1, &pb, &eb), TXN_OK);
	CHECK(!PENDING(tc, "g", 0));
	txn_off_t offs[2] = {{"t", 1, 0, 10, -1, NULL, -1}, {"t", 1, 1, 20, -1, "m", 1}};
	CHECK_EQ(txn_add_offsets(tc, "a", 1, pa, ea, "g", 1), TXN_OK);
	CHECK_EQ(txn_offset_commit(tc, "a", 1, pa, ea, "g", 1, offs, 2), TXN_OK);
	CHECK(PENDING(tc, "g", 0));
	CHECK(PENDING(tc, "g", 1));
	/* Another partition, group, or a key that only concatenates alike. */
	CHECK(!txn_pending_offset(tc, "g", 1, "t", 1, 2));
	CHECK(!txn_pending_offset(tc, "h", 1, "t", 1, 0));
	CHECK(!txn_pending_offset(tc, "gt", 2, "", 0, 0));
	/* The same offset again, replaced: still one holder. */
	CHECK_EQ(txn_offset_commit(tc, "a", 1, pa, ea, "g", 1, offs, 1), TXN_OK);
	/* A second transaction holding partition 0 of the same group. */
	txn_off_t ob = {"t", 1, 0, 30, -1, NULL, -1};
	CHECK_EQ(txn_add_offsets(tc, "b", 1, pb, eb, "g", 1), TXN_OK);
	CHECK_EQ(txn_offset_commit(tc, "b", 1, pb, eb, "g", 1, &ob, 1), TXN_OK);
	endres_t r = {0};
	CHECK_EQ(txn_end(tc, "a", 1, pa, ea, 1, on_end, &r), TXN_OK);
	/* Decided, not yet applied to the group: still pending. */
	CHECK(PENDING(tc, "g", 1));
	wait_end(&f, &r);
	CHECK_EQ(r.err, TXN_OK);
	CHECK(PENDING(tc, "g", 0)); /* b still holds it */
	CHECK(!PENDING(tc, "g", 1));
	grp_offset_t o;
	CHECK_EQ(grp_offset_get(f.b.groups, grp_s("g"), grp_s("t"), 1, &o), 0);
	CHECK_EQ(o.offset, 20);
	CHECK_EQ(grp_offset_get(f.b.groups, grp_s("g"), grp_s("t"), 0, &o), 0);
	CHECK_EQ(o.offset, 10);
	endres_t r2 = {0};
	CHECK_EQ(txn_end(tc, "b", 1, pb, eb, 0, on_end, &r2), TXN_OK);
	wait_end(&f, &r2);
	CHECK_EQ(r2.err, TXN_OK);
	CHECK(!PENDING(tc, "g", 0));
	CHECK_EQ(grp_offset_get(f.b.groups, grp_s("g"), grp_s("t"), 0, &o), 0);
	CHECK_EQ(o.offset, 10); /* the abort applied nothing */
	/* A new transaction of a: pending again, until a restart aborts it. */
	CHECK_EQ(txn_add_offsets(tc, "a", 1, pa, ea, "g", 1), TXN_OK);
	CHECK_EQ(txn_offset_commit(tc, "a", 1, pa, ea, "g", 1, &offs[1], 1), TXN_OK);
	CHECK(PENDING(tc, "g", 1));
	CHECK_EQ(ack(&f, txn_dur(tc)), 0);
	tf_close(&f);
	tf_open(&f);
	settle(&f);
	CHECK(!PENDING(f.b.txns, "g", 1));
	tf_deinit(&f);
}

/* A failed sync of the decision cuts the journal back and replays it:
 * the transaction is Ongoing again with its offsets, still pending, until
 * the client's retried commit applies them. */
TEST(txn_pending_offsets_survive_a_replay)
{
	tfix_t f;
	tf_init(&f);
	txn_coord_t *tc = f.b.txns;
	int64_t pid;
	int16_t epoch;
	CHECK_EQ(txn_init_pid(tc, ID, IDL, 60000, -1, -1, &pid, &epoch), TXN_OK);
	txn_off_t o1 = {"t", 1, 0, 7, -1, NULL, -1};
	CHECK_EQ(txn_add_offsets(tc, ID, IDL, pid, epoch, "g", 1), TXN_OK);
	CHECK_EQ(txn_offset_commit(tc, ID, IDL, pid, epoch, "g", 1, &o1, 1), TXN_OK);
	CHECK_EQ(ack(&f, txn_dur(tc)), 0);
	settle(&f);
	tf_fault(&f, "op=fdatasync,path=txn.journal,count=1,errno=EIO");
	endres_t r = {0};
	CHECK_EQ(txn_end(tc, ID, IDL, pid, epoch, 1, on_end, &r), TXN_OK);
	wait_end(&f, &r);
	CHECK_EQ(r.err, TXN_ERR_STORAGE);
	for (int i = 0; i < 400 && dur_state(txn_dur(tc)) != 0; i++)
		loop_run_once(f.b.loop, 10);
	CHECK_EQ(dur_state(txn_dur(tc)), 0);
	CHECK(PENDING(tc, "g", 0));
	grp_offset_t o;
	CHECK(grp_offset_get(f.b.groups, grp_s("g"), grp_s("t"), 0, &o) != 0);
	endres_t r2 = {0};
	CHECK_EQ(txn_end(tc, ID, IDL, pid, epoch, 1, on_end, &r2), TXN_OK);
	wait_end(&f, &r2);
	CHECK_EQ(r2.err, TXN_OK);
	CHECK(!PENDING(tc, "g", 0));
	CHECK_EQ(grp_offset_get(f.b.groups, grp_s("g"), grp_s("t"), 0, &o), 0);
	CHECK_EQ(o.offset, 7);
	tf_deinit(&f);
}

/* transactional.id.expiration.ms: an id with no transaction open whose
 * last change is older is forgotten, and stays forgotten after a restart
 * (its tombstone is journaled); one with a transaction open is kept. The
 * forgotten id's next InitProducerId gets a new producer id. */
TEST(txn_idle_ids_expire_and_stay_forgotten)
{
	tfix_t f;
	tf_init(&f);
	txn_coord_t *tc = f.b.txns;
	int64_t pid, pid2;
	int16_t epoch, epoch2;
	CHECK_EQ(txn_init_pid(tc, "idle", 4, 60000, -1, -1, &pid, &epoch), TXN_OK);
	CHECK_EQ(txn_init_pid(tc, "busy", 4, 60000, -1, -1, &pid2, &epoch2), TXN_OK);
	txn_tp_t tp = {"t", 1, 0};
	txn_err_t errs[1];
	CHECK_EQ(txn_add_partitions(tc, "busy", 4, pid2, epoch2, &tp, 1, errs), TXN_OK);
	int64_t now = time_wall_ms();
	int64_t ttl = f.cfg.transactional_id_expiration_ms;
	CHECK_EQ(ttl, 604800000);
	/* Not yet idle long enough: nothing. */
	CHECK_EQ(txn_expire(tc, now), 0);
	txn_info_t info;
	CHECK_EQ(txn_describe(tc, "idle", 4, &info), 0);
	txn_info_release(&info);
	/* Past the expiration: the idle id goes, the open transaction stays. */
	CHECK_EQ(txn_expire(tc, now + ttl + 1000), 1);
	CHECK_EQ(txn_describe(tc, "idle", 4, &info), -1);
	CHECK_EQ(txn_describe(tc, "busy", 4, &info), 0);
	CHECK_EQ(info.state, TXN_ONGOING);
	txn_info_release(&info);
	/* The old producer is no longer known. */
	CHECK_EQ(txn_add_partitions(tc, "idle", 4, pid, epoch, &tp, 1, errs),
	         TXN_ERR_INVALID_MAPPING);
	CHECK_EQ(ack(&f, txn_dur(tc)), 0);
	tf_close(&f);
	tf_open(&f);
	settle(&f);
	tc = f.b.txns;
	CHECK_EQ(txn_describe(tc, "idle", 4, &info), -1);
	CHECK_EQ(txn_describe(tc, "busy", 4, &info), 0); /* aborted by recovery */
	txn_info_release(&info);
	int64_t pid3;
	int16_t epoch3;
	CHECK_EQ(txn_init_pid(tc, "idle", 4, 60000, -1, -1, &pid3, &epoch3), TXN_OK);
	CHECK(pid3 != pid);
	CHECK_EQ(epoch3, 0);
	tf_deinit(&f);
}

/* Names longer than Kafka's strings (a flexible request's compact string
 * can say more) are refused before the journal, which keeps u16 lengths,
 * could hold them. */
TEST(txn_names_longer_than_kafka_strings_are_refused)
{
	tfix_t f;
	tf_init(&f);
	txn_coord_t *tc = f.b.txns;
	size_t big = 70000;
	char *s = malloc(big);
	CHECK(s);
	memset(s, 'x', big);
	int64_t pid;
	int16_t epoch;
	CHECK_EQ(txn_init_pid(tc, s, (int32_t)big, 60000, -1, -1, &pid, &epoch),
	         TXN_ERR_INVALID_REQUEST);
	txn_info_t info;
	CHECK_EQ(txn_describe(tc, s, (int32_t)big, &info), -1);
	CHECK_EQ(txn_init_pid(tc, ID, IDL, 60000, -1, -1, &pid, &epoch), TXN_OK);
	CHECK_EQ(txn_add_offsets(tc, ID, IDL, pid, epoch, "g", 1), TXN_OK);
	txn_off_t o = {s, (int32_t)big, 0, 1, -1, NULL, -1};
	CHECK_EQ(txn_offset_commit(tc, ID, IDL, pid, epoch, "g", 1, &o, 1),
	         TXN_ERR_INVALID_REQUEST);
	o = (txn_off_t){"t", 1, 0, 1, -1, NULL, -1};
	CHECK_EQ(txn_offset_commit(tc, ID, IDL, pid, epoch, s, (int32_t)big, &o, 1),
	         TXN_ERR_INVALID_REQUEST);
	CHECK(!txn_pending_offset(tc, s, (int32_t)big, "t", 1, 0));
	/* The journal replays whole. */
	CHECK_EQ(ack(&f, txn_dur(tc)), 0);
	tf_close(&f);
	tf_open(&f);
	CHECK_EQ(txn_describe(f.b.txns, ID, IDL, &info), 0);
	txn_info_release(&info);
	free(s);
	tf_deinit(&f);
}

/*
 * h_InitProducerId.c — InitProducerId (key 22), v0–5, for idempotent
 * producers. Producer ids come from a counter written ahead (the record is
 * durable before the id is handed out), so they are never reused across
 * restarts; when it cannot be written the answer is
 * COORDINATOR_LOAD_IN_PROGRESS, which clients retry. A v3+ request that names its current id and
 * epoch (KIP-360, recovering after an error) gets the same id with the
 * next epoch. A transactional id goes to the transaction coordinator
 * (broker/txn.h): its reply waits for the coordinator's journal.
 * Loop thread.
 */
#include "broker/txn.h"
#include "proto/kafka/kafka.h"

int kafka_h_InitProducerId(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	kstr_t txn = kr_str(r, flex);
	int32_t timeout_ms = kr_i32(r);
	int64_t pid = -1;
	int16_t epoch = -1;
	if (v >= 3) {
		pid = kr_i64(r);
		epoch = kr_i16(r);
	}
	kr_tags(r, flex);
	if (r->err)
		return SL_EPROTO;
	int16_t err = kafka_authz_init_pid(rq, txn);
	if (err) {
		pid = -1;
		epoch = -1;
	} else if (txn.len >= 0) {
		txn_coord_t *tc = rq->srv->b->txns;
		txn_err_t e =
		    txn_init_pid(tc, txn.p, txn.len, timeout_ms, pid, epoch, &pid, &epoch);
		/* PRODUCER_FENCED is v3+ (KIP-588); older clients know
		 * INVALID_PRODUCER_EPOCH. */
		if (e == TXN_ERR_FENCED && v < 3)
			e = TXN_ERR_INVALID_EPOCH;
		dur_t *d = txn_dur(tc);
		kdur_t k;
		kdur_begin(&k, rq, d);
		size_t mark = kafka_reply_begin(rq, k.b);
		kw_i32(k.b, 0);
		kdur_err(&k, (int16_t)e);
		kw_i64(k.b, pid);
		kw_i16(k.b, epoch);
		kw_tags(k.b, flex);
		kafka_reply_end(k.b, mark);
		kdur_end(&k, d, KERR_COORDINATOR_NOT_AVAILABLE);
		return 0;
	} else if (pid >= 0 && epoch >= 0 && epoch < INT16_MAX - 1) {
		epoch++;
	} else if (topics_next_producer_id(rq->srv->topics, &pid) < 0) {
		/* The counter could not be made durable: no id handed out.
		 * Kafka's answer when it cannot allocate producer ids; every
		 * client retries it (librdkafka retries any non-fatal code). */
		err = KERR_COORDINATOR_LOAD_IN_PROGRESS;
		pid = -1;
		epoch = -1;
	} else {
		epoch = 0;
	}
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_i16(b, err);
	kw_i64(b, pid);
	kw_i16(b, epoch);
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

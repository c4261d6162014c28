/*
 * h_InitProducerId.c — InitProducerId (key 22), v0–5, for idempotent
 * producers. Producer ids come from a counter written ahead (the record is
 * durable before the id is handed out), so they are never reused across
 * restarts; when it cannot be written the answer is
 * COORDINATOR_LOAD_IN_PROGRESS, which clients retry. A v3+ request that names its current id and
 * epoch (KIP-360, recovering after an error) gets the same id with the
 * next epoch. Transactional ids are refused: sluice has no transactions.
 * Loop thread.
 */
#include "proto/kafka/kafka.h"

#define KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED 53

int kafka_h_InitProducerId(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	kstr_t txn = kr_str(r, flex);
	(void)kr_i32(r);
	int64_t pid = -1;
	int16_t epoch = -1;
	if (v >= 3) {
		pid = kr_i64(r);
		epoch = kr_i16(r);
	}
	kr_tags(r, flex);
	if (r->err)
		return SL_EPROTO;
	int16_t err = KERR_NONE;
	if (txn.len >= 0) {
		err = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
		pid = -1;
		epoch = -1;
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

/*
 * h_DescribeProducers.c — DescribeProducers (key 61), v0 (flexible,
 * KIP-664): the idempotent and transactional producers each partition
 * tracks (broker/producer_state.h), with the first offset of a producer's
 * open transaction (broker/partition.h). LastTimestamp and CoordinatorEpoch
 * are not tracked (-1). Loop thread.
 */
#include "proto/kafka/kafka.h"

int kafka_h_DescribeProducers(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	int32_t nt = kr_arr(r, flex, 2);
	rd_t tr = *r;
	for (int32_t i = 0; i < nt && !r->err; i++) {
		(void)kr_str(r, flex);
		int32_t np = kr_arr(r, flex, 4);
		rd_skip(r, np > 0 ? (size_t)np * 4 : 0);
		kr_tags(r, flex);
	}
	kr_tags(r, flex);
	if (r->err || nt < 0)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, flex, nt);
	for (int32_t i = 0; i < nt; i++) {
		kstr_t name = kr_str(&tr, flex);
		int32_t np = kr_arr(&tr, flex, 4);
		topic_t *t =
		    name.len > 0 ? topics_find(rq->srv->topics, name.p, (size_t)name.len) : NULL;
		int16_t terr = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		t = kafka_authz_topic_or_null(rq, name, ACL_OP_READ, t, &terr);
		kw_kstr(b, flex, name);
		kw_arr(b, flex, np);
		for (int32_t k = 0; k < np; k++) {
			int32_t idx = kr_i32(&tr);
			kw_i32(b, idx);
			partition_t *p = t && idx >= 0 && idx < t->npart ? t->parts[idx] : NULL;
			kw_i16(b, p ? KERR_NONE : terr);
			kw_str(b, flex, NULL);
			kw_arr(b, flex, p ? (int32_t)pstate_count(&p->pstate) : 0);
			size_t it = 0;
			int64_t pid;
			const pstate_entry_t *e;
			while (p && pstate_next(&p->pstate, &it, &pid, &e)) {
				kw_i64(b, pid);
				kw_i32(b, e->epoch);
				kw_i32(b, e->n ? e->b[e->n - 1].last_seq : -1);
				kw_i64(b, -1); /* LastTimestamp */
				kw_i32(b, -1); /* CoordinatorEpoch */
				kw_i64(b, partition_txn_first(p, pid));
				kw_tags(b, flex);
			}
			kw_tags(b, flex);
		}
		kr_tags(&tr, flex);
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

/*
 * h_CreatePartitions.c — CreatePartitions (key 37), v0–3: grows a topic.
 * Manual assignments may only name node 1. New partitions exist only once
 * their record is durable; a storage failure leaves the topic as it was and
 * answers KAFKA_STORAGE_ERROR. Loop thread.
 */
#include "proto/kafka/kafka.h"

int kafka_h_CreatePartitions(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	int32_t nt = kr_arr(r, flex, 10);
	rd_t tr = *r;
	for (int32_t i = 0; i < nt && !r->err; i++) {
		(void)kr_str(r, flex);
		(void)kr_i32(r);
		int32_t na = kr_arr(r, flex, 4);
		for (int32_t a = 0; a < na && !r->err; a++) {
			int32_t nb = kr_arr(r, flex, 4);
			rd_skip(r, nb > 0 ? (size_t)nb * 4 : 0);
			kr_tags(r, flex);
		}
		kr_tags(r, flex);
	}
	(void)kr_i32(r);
	int validate_only = kr_i8(r) != 0;
	kr_tags(r, flex);
	if (r->err || nt < 0)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, flex, nt);
	for (int32_t i = 0; i < nt; i++) {
		kstr_t name = kr_str(&tr, flex);
		int32_t count = kr_i32(&tr);
		int16_t err = KERR_NONE;
		const char *msg = NULL;
		int32_t na = kr_arr(&tr, flex, 4);
		for (int32_t a = 0; a < na; a++) {
			int32_t nb = kr_arr(&tr, flex, 4);
			for (int32_t k = 0; k < nb; k++)
				if (kr_i32(&tr) != KAFKA_NODE_ID)
					err = KERR_INVALID_REPLICA_ASSIGNMENT;
			kr_tags(&tr, flex);
		}
		kr_tags(&tr, flex);
		topic_t *t =
		    name.len >= 0 ? topics_find(rq->srv->topics, name.p, (size_t)name.len) : NULL;
		t = kafka_authz_topic_or_null(rq, name, ACL_OP_ALTER, t, &err);
		if (!t) {
			if (err != KERR_TOPIC_AUTHORIZATION_FAILED)
				err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		} else if (!err && (count <= t->npart || count > TOPIC_MAX_PARTITIONS)) {
			err = KERR_INVALID_PARTITIONS;
			msg = count <= t->npart ? "the partition count can only grow"
			                        : "too many partitions";
		} else if (!err && !validate_only) {
			err = kafka_err_from_sl(topics_add_partitions(rq->srv->topics, t, count));
			if (err == KERR_KAFKA_STORAGE_ERROR)
				msg = "storage failure: the partitions could not be made durable "
				      "and were not created";
		}
		kw_kstr(b, flex, name);
		kw_i16(b, err);
		kw_str(b, flex, err ? msg : NULL);
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

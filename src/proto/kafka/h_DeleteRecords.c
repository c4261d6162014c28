/*
 * h_DeleteRecords.c — DeleteRecords (key 21), v0–2: advances a partition's
 * log start offset (whole segments below it are removed). Offset -1 means
 * the high watermark, and offsets past it are out of range (Kafka's rule:
 * under fsync=always nothing not yet synced can be deleted up to). The new
 * start is persisted before it takes effect (plog_delete_before), so a
 * storage failure changes nothing and answers KAFKA_STORAGE_ERROR, as does
 * a partition recovering from a failed sync. Loop thread.
 */
#include "proto/kafka/kafka.h"

int kafka_h_DeleteRecords(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	int32_t nt = kr_arr(r, flex, 2);
	rd_t tr = *r;
	for (int32_t i = 0; i < nt && !r->err; i++) {
		(void)kr_str(r, flex);
		int32_t np = kr_arr(r, flex, 12);
		for (int32_t k = 0; k < np && !r->err; k++) {
			(void)kr_i32(r);
			(void)kr_i64(r);
			kr_tags(r, flex);
		}
		kr_tags(r, flex);
	}
	(void)kr_i32(r);
	kr_tags(r, flex);
	if (r->err || nt < 0)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, flex, nt);
	for (int32_t i = 0; i < nt; i++) {
		kstr_t name = kr_str(&tr, flex);
		int32_t np = kr_arr(&tr, flex, 12);
		topic_t *t =
		    name.len >= 0 ? topics_find(rq->srv->topics, name.p, (size_t)name.len) : NULL;
		int16_t terr = KERR_NONE;
		t = kafka_authz_topic_or_null(rq, name, ACL_OP_DELETE, t, &terr);
		kw_kstr(b, flex, name);
		kw_arr(b, flex, np);
		for (int32_t k = 0; k < np; k++) {
			int32_t idx = kr_i32(&tr);
			int64_t off = kr_i64(&tr);
			kr_tags(&tr, flex);
			int16_t err = terr;
			int64_t low = -1;
			if (!t || idx < 0 || idx >= t->npart) {
				if (!err)
					err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			} else {
				partition_t *part = t->parts[idx];
				plog_t *p = part->log;
				if (off == -1)
					off = plog_hw(p);
				if (dur_state(part->dur) < 0)
					err = KERR_KAFKA_STORAGE_ERROR;
				else if (off < 0 || off > plog_hw(p))
					err = KERR_OFFSET_OUT_OF_RANGE;
				else if (off > plog_start_offset(p))
					err = kafka_err_from_sl(plog_delete_before(p, off));
				low = plog_start_offset(p);
			}
			kw_i32(b, idx);
			kw_i64(b, low);
			kw_i16(b, err);
			kw_tags(b, flex);
		}
		kr_tags(&tr, flex);
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

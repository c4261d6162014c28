/*
 * h_ListOffsets.c — ListOffsets (key 2), v1–7: earliest (-2), latest (-1),
 * max timestamp (-3, v7) and first offset at or after a timestamp.
 *
 * "Latest" is the high watermark (plog_hw: under fsync=always the end of the
 * last synced batch), and lookups by time find only batches below it, as
 * Kafka answers consumers. For read_committed (IsolationLevel 1) "latest"
 * is the last stable offset (broker/partition.h), as in Kafka.
 * A timestamp lookup finds the first batch whose MaxTimestamp is at or
 * after the time (the partition log's time index), then decodes that one
 * batch (decompressing it if need be: store/batch.h batch_find_time) for
 * the first record at or after the time, and answers that record's offset
 * and timestamp, as Kafka. Max timestamp (-3) finds the batch the same way
 * and answers the record holding the maximum. No match: offset -1,
 * timestamp -1. A batch that cannot be decoded is answered at its first
 * offset (the batch-level answer). Loop thread.
 */
#include "proto/kafka/kafka.h"
#include "store/batch.h"

#include <stdlib.h>
#include <unistd.h>

/* The batch starting at *off holds the answer: move *off (and *rts) to the
 * first record at or after ts. */
static void exact(plog_t *p, int64_t ts, int64_t *off, int64_t *rts)
{
	plog_region_t reg;
	if (plog_read(p, *off, 1, &reg) < 0 || reg.len < BATCH_HDR_SIZE)
		return;
	uint8_t hb[BATCH_HDR_SIZE];
	batch_hdr_t h;
	if (pread(reg.fd, hb, sizeof hb, reg.pos) != (ssize_t)sizeof hb ||
	    batch_peek(hb, sizeof hb, &h) < 0 || batch_size(&h) > reg.len)
		return;
	size_t n = batch_size(&h);
	uint8_t *b = malloc(n);
	if (!b)
		abort();
	int64_t o, t;
	if (pread(reg.fd, b, n, reg.pos) == (ssize_t)n &&
	    batch_find_time(b, n, ts, (size_t)64 << 20, &o, &t) == 0) {
		*off = o;
		*rts = t;
	}
	free(b);
}

static void lookup(int8_t iso, topic_t *t, int32_t idx, int64_t ts, buf_t *b, int16_t v,
                   int16_t terr)
{
	int16_t err = terr;
	int64_t off = -1, rts = -1;
	if (!err && (idx < 0 || idx >= t->npart))
		err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
	if (!err) {
		plog_t *p = t->parts[idx]->log;
		if (ts == -1) {
			off = iso == 1 ? partition_lso(t->parts[idx]) : plog_hw(p);
		} else if (ts == -2) {
			off = plog_start_offset(p);
		} else if (ts == -3) {
			plog_max_timestamp(p, &rts, &off);
			/* As Kafka: only what a consumer may read counts. */
			if (off >= plog_hw(p))
				rts = off = -1;
			else if (off >= 0)
				exact(p, rts, &off, &rts);
		} else if (ts < 0) {
			err = KERR_INVALID_REQUEST;
		} else {
			int rc = plog_find_by_time(p, ts, &off);
			if (rc == 0) {
				rts = ts;
				exact(p, ts, &off, &rts);
			} else if (rc == SL_ENOENT)
				off = -1;
			else
				err = kafka_err_from_sl(rc);
		}
	}
	kw_i16(b, err);
	kw_i64(b, err ? -1 : rts);
	kw_i64(b, err ? -1 : off);
	if (v >= 4)
		kw_i32(b, 0); /* LeaderEpoch */
}

int kafka_h_ListOffsets(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	(void)kr_i32(r); /* ReplicaId */
	int8_t iso = v >= 2 ? kr_i8(r) : 0;
	int32_t nt = kr_arr(r, flex, 2);
	rd_t tr = *r;
	for (int32_t i = 0; i < nt && !r->err; i++) {
		(void)kr_str(r, flex);
		int32_t np = kr_arr(r, flex, 12);
		for (int32_t k = 0; k < np && !r->err; k++) {
			(void)kr_i32(r);
			if (v >= 4)
				(void)kr_i32(r);
			(void)kr_i64(r);
			kr_tags(r, flex);
		}
		kr_tags(r, flex);
	}
	kr_tags(r, flex);
	if (r->err || nt < 0)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	if (v >= 2)
		kw_i32(b, 0);
	kw_arr(b, flex, nt);
	for (int32_t i = 0; i < nt; i++) {
		kstr_t name = kr_str(&tr, flex);
		int32_t np = kr_arr(&tr, flex, 12);
		int16_t terr;
		topic_t *t = kafka_topic_get(rq->srv, name, 0, &terr);
		t = kafka_authz_topic_or_null(rq, name, ACL_OP_DESCRIBE, t, &terr);
		kw_kstr(b, flex, name);
		kw_arr(b, flex, np);
		for (int32_t k = 0; k < np; k++) {
			int32_t idx = kr_i32(&tr);
			if (v >= 4)
				(void)kr_i32(&tr);
			int64_t ts = kr_i64(&tr);
			kr_tags(&tr, flex);
			kw_i32(b, idx);
			lookup(iso, t, idx, ts, b, v, terr);
			kw_tags(b, flex);
		}
		kr_tags(&tr, flex);
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

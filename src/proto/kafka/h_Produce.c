/*
 * h_Produce.c — Produce (key 0), v3–9 served, v0–2 answered with
 * UNSUPPORTED_VERSION (advertised from v0 for librdkafka's compression
 * probe, KAFKA-18659).
 *
 * Each partition carries exactly one RecordBatch v2 (Kafka's rule from v3),
 * stored as received whatever its codec; only BaseOffset (and, for
 * LogAppendTime topics, the timestamp type, MaxTimestamp and CRC) is
 * rewritten. Batches are rewritten in place in the connection's input
 * buffer, which the request owns until it returns.
 *
 * acks: 0 — no response at all; 1 — answer once written to the page cache
 * (as Kafka's leader-only acknowledgement: should the sync fail, the domain
 * cuts the batch back, so it can be lost like a Kafka leader's unreplicated
 * write); -1 — the complete response is written now into one dur_hold
 * joined (forced, whatever the fsync policy) to the durability domain of
 * every partition it appended to (broker/partition.h), and released when
 * they are all durable (group commit). Each partition's own outcome comes
 * back through dur_hold_join_status: should a partition's sync fail, its
 * ErrorCode is patched to KAFKA_STORAGE_ERROR (and its offsets to -1) before
 * release, while partitions whose writes were made durable keep their
 * success, so nothing errored is ever durable and nothing acknowledged is
 * lost. A duplicate of an idempotent batch waits too: its original may
 * still be unsynced. Appends whose write fails, and appends to a partition
 * recovering from a failed sync, answer KAFKA_STORAGE_ERROR at once; the
 * producer's retry is accepted once the partition recovered. The topic
 * journal needs no wait: it writes ahead (Produce never creates a topic;
 * a Metadata request that did answered only after its record was
 * durable). A compacted topic (cleanup.policy compact) refuses a batch
 * holding records without a key, INVALID_RECORD with v8+ RecordErrors as
 * Kafka; only such topics look inside (and decompress) batches. Loop
 * thread.
 */
#include "proto/kafka/kafka.h"
#include "store/batch.h"

#include <stdlib.h>
#include <string.h>

typedef struct presult {
	kstr_t topic;    /* view into the request */
	int topic_first; /* first partition of this topic in the request */
	int32_t index;
	int16_t err;
	int64_t base_offset;
	int64_t log_append_time;
	int64_t log_start;
	partition_t *p; /* set when the batch was appended (or a duplicate) */
	size_t err_pos; /* where ErrorCode sits in the response buffer */
	/* v8+ RecordErrors: keyless records refused by a compacted topic
	 * (the first MAX_RECORD_ERRORS batch indexes; nkeyless in all). */
	int32_t *keyless;
	size_t nkeyless;
} presult_t;

#define MAX_RECORD_ERRORS 1000

/* As Kafka's LogValidator: a compacted topic refuses records without a
 * key, naming each one. Only compacted topics pay for looking inside the
 * batch (decompressing it). Returns KERR_NONE or INVALID_RECORD. */
static int16_t check_keys(topic_t *t, presult_t *res, const uint8_t *batch, size_t len)
{
	if (!t->compact)
		return KERR_NONE;
	int32_t idx[MAX_RECORD_ERRORS];
	size_t n = 0;
	if (batch_keyless(batch, len, (size_t)t->max_message_bytes * 4 + (1 << 20), idx,
	                  MAX_RECORD_ERRORS, &n) < 0)
		return KERR_CORRUPT_MESSAGE;
	if (n == 0)
		return KERR_NONE;
	size_t keep = n < MAX_RECORD_ERRORS ? n : MAX_RECORD_ERRORS;
	res->keyless = malloc(keep * sizeof *res->keyless);
	if (!res->keyless)
		abort();
	memcpy(res->keyless, idx, keep * sizeof *idx);
	res->nkeyless = n;
	return KERR_INVALID_RECORD;
}

/* Kafka's per-record message and the partition's ErrorMessage (Kafka 3's
 * RecordValidationException text, showing the first three). */
static void record_error_msg(buf_t *b, const presult_t *r)
{
	buf_printf(b,
	           "Compacted topic cannot accept message without key in topic partition %.*s-%d.",
	           (int)r->topic.len, r->topic.p, (int)r->index);
}

static void write_record_errors(buf_t *b, int flex, const presult_t *r)
{
	size_t n = r->nkeyless < MAX_RECORD_ERRORS ? r->nkeyless : MAX_RECORD_ERRORS;
	buf_t m = BUF_INIT;
	record_error_msg(&m, r);
	buf_put_u8(&m, 0);
	const char *msg = (const char *)buf_data(&m);
	kw_arr(b, flex, (int32_t)n);
	for (size_t i = 0; i < n; i++) {
		kw_i32(b, r->keyless[i]);
		kw_str(b, flex, msg);
		kw_tags(b, flex);
	}
	if (!n) {
		kw_str(b, flex, NULL);
		buf_deinit(&m);
		return;
	}
	buf_t all = BUF_INIT;
	buf_printf(&all,
	           "One or more records have been rejected due to %zu record errors in total, and "
	           "only showing the first three errors at most: [",
	           r->nkeyless);
	for (size_t i = 0; i < n && i < 3; i++)
		buf_printf(&all, "%sRecordError(batchIndex=%d, message='%s')", i ? ", " : "",
		           (int)r->keyless[i], msg);
	buf_puts(&all, "]");
	buf_put_u8(&all, 0);
	kw_str(b, flex, (const char *)buf_data(&all));
	buf_deinit(&all);
	buf_deinit(&m);
}

/* A held acks=-1 response: one allocation, one entry per partition that
 * waits (the hold's arg, freed by produce_fin). */
typedef struct pwait {
	int16_t v;
	int n;
	struct {
		size_t err_pos; /* ErrorCode of the partition in the hold buffer */
		int status;     /* the partition's domain outcome (dur_hold_join_status) */
	} e[];
} pwait_t;

static int16_t check_batch(const uint8_t *p, size_t len, int16_t v)
{
	batch_hdr_t h;
	if (batch_peek(p, len, &h) < 0)
		return KERR_CORRUPT_MESSAGE;
	if (batch_size(&h) < len)
		return KERR_INVALID_RECORD; /* more than one batch */
	if (batch_size(&h) > len)
		return KERR_CORRUPT_MESSAGE;
	/* Markers are the coordinator's to write (broker/txn.h); a
	 * transactional batch needs a producer id and sequence. */
	if (h.attributes & BATCH_ATTR_CONTROL)
		return KERR_INVALID_RECORD;
	if ((h.attributes & BATCH_ATTR_TRANSACTIONAL) && (h.producer_id < 0 || h.base_sequence < 0))
		return KERR_INVALID_RECORD;
	if ((h.attributes & BATCH_ATTR_CODEC_MASK) > 4)
		return KERR_UNSUPPORTED_COMPRESSION_TYPE;
	if ((h.attributes & BATCH_ATTR_CODEC_MASK) == 4 && v < 7)
		return KERR_UNSUPPORTED_COMPRESSION_TYPE;
	return KERR_NONE;
}

static void append_one(kreq_t *rq, topic_t *t, presult_t *res, kstr_t rec)
{
	if (res->index < 0 || res->index >= t->npart) {
		res->err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return;
	}
	partition_t *p = t->parts[res->index];
	if (rec.len <= 0) {
		res->err = KERR_CORRUPT_MESSAGE;
		return;
	}
	/* The records lie inside the request body, which this request owns. */
	uint8_t *batch = rq->body + ((const uint8_t *)rec.p - rq->body);
	res->err = check_batch(batch, (size_t)rec.len, rq->h.ApiVersion);
	if (!res->err)
		res->err = check_keys(t, res, batch, (size_t)rec.len);
	if (res->err)
		return;
	part_append_t a;
	int rc = partition_append(p, batch, (size_t)rec.len, &a);
	if (rc == SL_ESTATE)
		res->err = kafka_err_from_pstate(a.pserr);
	else if (rc < 0)
		res->err = kafka_err_from_sl(rc);
	if (rc < 0) {
		if (rc != SL_ESTATE && rc != SL_ECORRUPT && rc != SL_ETOOBIG && rc != SL_EPROTO)
			log_warn(rq->srv->b->log, "kafka: append to %s-%d failed: %s", t->name,
			         (int)res->index, sl_strerror(rc));
		return;
	}
	res->base_offset = a.base_offset;
	res->log_append_time = a.log_append_time;
	res->log_start = plog_start_offset(p->log);
	res->p = p;
}

static void results_free(presult_t *res, int n)
{
	for (int i = 0; i < n; i++)
		free(res[i].keyless);
	free(res);
}

static void write_response(const kreq_t *rq, buf_t *b, presult_t *res, int n)
{
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	size_t mark = kafka_reply_begin(rq, b);
	int ntopics = 0;
	for (int i = 0; i < n; i++)
		ntopics += res[i].topic_first == i;
	kw_arr(b, flex, ntopics);
	for (int i = 0; i < n;) {
		int j = i + 1;
		while (j < n && res[j].topic_first == i)
			j++;
		kw_kstr(b, flex, res[i].topic);
		kw_arr(b, flex, j - i);
		for (int k = i; k < j; k++) {
			kw_i32(b, res[k].index);
			res[k].err_pos = buf_len(b);
			kw_i16(b, res[k].err);
			kw_i64(b, res[k].err ? -1 : res[k].base_offset);
			if (v >= 2)
				kw_i64(b, res[k].err ? -1 : res[k].log_append_time);
			if (v >= 5)
				kw_i64(b, res[k].err ? -1 : res[k].log_start);
			if (v >= 8)
				write_record_errors(b, flex,
				                    &res[k]); /* RecordErrors, ErrorMessage */
			kw_tags(b, flex);
		}
		kw_tags(b, flex);
		i = j;
	}
	if (v >= 1)
		kw_i32(b, 0);
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
}

static int produce_fin(dur_hold_t *h, buf_t *reply, int status, void *arg)
{
	(void)h;
	pwait_t *w = arg;
	for (int i = 0; status < 0 && i < w->n; i++) {
		if (w->e[i].status == 0)
			continue;
		uint8_t *p = buf_data(reply) + w->e[i].err_pos;
		be16_store(p, KERR_KAFKA_STORAGE_ERROR);
		be64_store(p + 2, (uint64_t)-1); /* BaseOffset */
		if (w->v >= 2)
			be64_store(p + 10, (uint64_t)-1); /* LogAppendTimeMs */
		if (w->v >= 5)
			be64_store(p + 18, (uint64_t)-1); /* LogStartOffset */
	}
	free(w);
	return 0;
}

/* Produce v0–2: parsed only to answer every partition UNSUPPORTED_VERSION. */
static int produce_old(kreq_t *rq, int16_t acks, rd_t topics_r, int32_t ntopics)
{
	if (acks == 0)
		return 0;
	int flex = 0;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_arr(b, flex, ntopics);
	for (int32_t i = 0; i < ntopics; i++) {
		kw_kstr(b, flex, kr_str(&topics_r, 0));
		int32_t np = kr_arr(&topics_r, 0, 8);
		kw_arr(b, flex, np < 0 ? 0 : np);
		for (int32_t k = 0; k < np; k++) {
			kw_i32(b, kr_i32(&topics_r));
			(void)kr_bytes(&topics_r, 0);
			kw_i16(b, KERR_UNSUPPORTED_VERSION);
			kw_i64(b, -1);
			if (rq->h.ApiVersion >= 2)
				kw_i64(b, -1);
		}
	}
	if (rq->h.ApiVersion >= 1)
		kw_i32(b, 0);
	kafka_reply_end(b, mark);
	return 0;
}

int kafka_h_Produce(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	/* TransactionalId: the batches carry the producer; only the ACL
	 * check reads it. */
	kstr_t txnid = v >= 3 ? kr_str(r, flex) : KSTR_NULL;
	int16_t acks = kr_i16(r);
	(void)kr_i32(r); /* TimeoutMs */
	int32_t ntopics = kr_arr(r, flex, 2);
	rd_t topics_r = *r;
	/* First pass: validate the framing and count partitions. */
	int total = 0;
	for (int32_t i = 0; i < ntopics && !r->err; i++) {
		(void)kr_str(r, flex);
		int32_t np = kr_arr(r, flex, 5);
		for (int32_t k = 0; k < np && !r->err; k++) {
			(void)kr_i32(r);
			(void)kr_bytes(r, flex);
			kr_tags(r, flex);
			total++;
		}
		kr_tags(r, flex);
	}
	kr_tags(r, flex);
	if (r->err || ntopics < 0)
		return SL_EPROTO;
	if (v < 3)
		return produce_old(rq, acks, topics_r, ntopics);

	presult_t *res = calloc(total ? (size_t)total : 1, sizeof *res);
	if (!res)
		abort();
	int16_t acks_err =
	    (acks == 0 || acks == 1 || acks == -1) ? KERR_NONE : KERR_INVALID_REQUIRED_ACKS;
	int n = 0;
	for (int32_t i = 0; i < ntopics; i++) {
		kstr_t name = kr_str(&topics_r, flex);
		int32_t np = kr_arr(&topics_r, flex, 5);
		int16_t terr = acks_err;
		topic_t *t = NULL;
		/* As Kafka: Produce never creates a topic (UNKNOWN_TOPIC_OR_PARTITION);
		 * clients create one through Metadata's allow_auto_topic_creation,
		 * so a client that turned that off is not overruled here. */
		if (!terr)
			terr = kafka_authz_produce(rq, txnid, name);
		if (!terr)
			t = kafka_topic_get(rq->srv, name, 0, &terr);
		int first = n;
		for (int32_t k = 0; k < np; k++, n++) {
			res[n].topic = name;
			res[n].topic_first = first;
			res[n].index = kr_i32(&topics_r);
			kstr_t rec = kr_bytes(&topics_r, flex);
			kr_tags(&topics_r, flex);
			res[n].base_offset = res[n].log_append_time = res[n].log_start = -1;
			res[n].err = terr;
			if (!terr && t)
				append_one(rq, t, &res[n], rec);
		}
		kr_tags(&topics_r, flex);
	}
	if (acks == 0) {
		results_free(res, n);
		return 0;
	}
	int waits = 0;
	for (int i = 0; i < n; i++)
		waits += acks == -1 && res[i].p != NULL;
	if (waits == 0 || !rq->c || rq->out) {
		write_response(rq, kreq_out(rq), res, n);
		results_free(res, n);
		return 0;
	}
	pwait_t *w = malloc(sizeof *w + (size_t)waits * sizeof w->e[0]);
	if (!w)
		abort();
	w->v = rq->h.ApiVersion;
	w->n = waits;
	dur_hold_t *h = dur_hold_new(rq->c, produce_fin, w);
	write_response(rq, dur_hold_buf(h), res, n);
	for (int i = 0, k = 0; i < n; i++) {
		if (!res[i].p)
			continue;
		w->e[k].err_pos = res[i].err_pos;
		w->e[k].status = 0;
		dur_hold_join_status(h, res[i].p->dur, 1, &w->e[k].status);
		k++;
	}
	results_free(res, n);
	dur_hold_arm(h);
	return 0;
}

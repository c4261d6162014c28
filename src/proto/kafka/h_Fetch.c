/*
 * h_Fetch.c — Fetch (key 1), v4–12 served, v0–3 answered with
 * UNSUPPORTED_VERSION (advertised from v0 for librdkafka's probes).
 *
 * Fetch sessions (KIP-227, v7+, fetch_session.h): a full fetch with
 * SessionEpoch 0 opens a session, incremental ones (epoch 1, 2, ...) name
 * only changed partitions and get only partitions with news; a wrong id
 * or epoch gets FETCH_SESSION_ID_NOT_FOUND / INVALID_FETCH_SESSION_EPOCH
 * with no topics. A parked incremental fetch keeps the session's id and
 * selects what changed when it is answered. PreferredReadReplica -1. Transactions (broker/partition.h):
 * every answer carries the last stable offset; a read_committed fetch
 * (IsolationLevel 1) reads only below it (the region is cut at the first
 * batch at or past it) and gets the aborted transactions that overlap
 * what it may read, which the client skips. The high watermark is
 * plog_hw: under fsync=always the end of the last synced batch, so a
 * consumer never receives (or is told of) data that could still be lost;
 * a fetch between it and the log end gets no records (as in Kafka), and
 * the watermark moving wakes parked fetches. Record data goes out as
 * file regions (sendfile) straight from the segments.
 *
 * Sizes (KIP-74): each partition gets at most PartitionMaxBytes and the
 * response at most MaxBytes, except that the first partition with data
 * always gets at least one whole batch, so a consumer never stalls on a
 * batch bigger than its limits. Like Kafka, one fetch reads from one segment
 * per partition; the client's next fetch continues in the next segment.
 *
 * Long poll: when fewer than MinBytes are available and MaxWaitMs > 0, the
 * request is copied into a kafka_fetch, parked on its partitions
 * (broker/fetchwait.h) and the connection paused, so later requests on it
 * wait their turn; a produce or the timer re-runs it. Parked fetches keep
 * topic names, not pointers, so a topic deleted meanwhile is simply
 * reported unknown.
 *
 * Damage: plog_read never serves damaged bytes; a fetch at an offset in a
 * hole gets the next batch after it and skips forward, as at a compacted
 * gap. A hole that reaches the high watermark has no batch after it, so
 * such a fetch gets one empty batch (61 bytes, RecordsCount 0, valid CRC)
 * covering the missing offsets instead of nothing for ever: consumers
 * continue at its last offset + 1, as they do over a batch compaction
 * emptied (KAFKA-5443). Loop thread.
 */
#include "broker/fetchwait.h"
#include "core/crc32c.h"
#include "core/time.h"
#include "proto/kafka/fetch_session.h"
#include "proto/kafka/kafka.h"
#include "store/batch.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fpart {
	int32_t index;
	int64_t offset;
	int32_t max_bytes;
	/* Results of the last evaluation. */
	int16_t err;
	int64_t hw, lso, log_start;
	plog_region_t reg; /* one segment's worth, as Kafka reads */
	size_t bytes;
	int filler;  /* the records are `skip`: an empty batch over damage */
	int include; /* in the response (an incremental one leaves out the unchanged) */
	uint8_t skip[BATCH_HDR_SIZE];
} fpart_t;

typedef struct ftopic {
	char *name;
	int16_t denied; /* TOPIC_AUTHORIZATION_FAILED when the principal may not Read */
	int npart;
	fpart_t *parts;
} ftopic_t;

typedef struct kafka_fetch {
	kafka_srv_t *srv;
	conn_t *c;
	kafka_reqhdr_t h; /* ClientId is not kept */
	int flex;
	int32_t min_bytes;
	int32_t max_bytes;
	int8_t isolation; /* 1: read_committed */
	int ntopics;
	ftopic_t *topics;
	fetchwait_t wait;
	int parked;
	int32_t session_id; /* KIP-227: 0 sessionless */
	int incremental;    /* the topics are the session's; answer only changes */
} kafka_fetch_t;

static void fetch_free(kafka_fetch_t *f)
{
	for (int i = 0; i < f->ntopics; i++) {
		free(f->topics[i].name);
		free(f->topics[i].parts);
	}
	free(f->topics);
	free(f);
}

static partition_t *resolve(kafka_srv_t *srv, const ftopic_t *t, const fpart_t *p, int16_t *err)
{
	topic_t *tp = topics_find(srv->topics, t->name, strlen(t->name));
	if (t->denied) {
		*err = t->denied;
		return NULL;
	}
	if (!tp || p->index < 0 || p->index >= tp->npart) {
		*err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return NULL;
	}
	*err = KERR_NONE;
	return tp->parts[p->index];
}

/* An empty RecordBatch v2 over offsets [from, to): nothing but a header
 * whose LastOffsetDelta carries the reader past them. */
static void empty_batch(uint8_t *b, int64_t from, int64_t to)
{
	int64_t delta = to - from - 1 > INT32_MAX ? INT32_MAX : to - from - 1;
	memset(b, 0, BATCH_HDR_SIZE);
	be64_store(b + BATCH_OFF_BASE_OFFSET, (uint64_t)from);
	be32_store(b + BATCH_OFF_LENGTH, BATCH_HDR_SIZE - 12);
	be32_store(b + BATCH_OFF_LEADER_EPOCH, 0);
	b[BATCH_OFF_MAGIC] = 2;
	be32_store(b + BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)delta);
	be64_store(b + BATCH_OFF_BASE_TIMESTAMP, (uint64_t)-1);
	be64_store(b + BATCH_OFF_MAX_TIMESTAMP, (uint64_t)-1);
	be64_store(b + BATCH_OFF_PRODUCER_ID, (uint64_t)-1);
	be16_store(b + BATCH_OFF_PRODUCER_EPOCH, (uint16_t)-1);
	be32_store(b + BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
	be32_store(b + BATCH_OFF_RECORDS_COUNT, 0);
	be32_store(b + BATCH_OFF_CRC,
	           crc32c(0, b + BATCH_OFF_ATTRIBUTES, BATCH_HDR_SIZE - BATCH_OFF_ATTRIBUTES));
}

/* read_committed: drops the batches at or past the last stable offset
 * from a region (headers read from the file). */
static void cut_at(plog_region_t *reg, int64_t lso)
{
	off_t pos = reg->pos;
	off_t stop = reg->pos + (off_t)reg->len;
	while (pos + BATCH_HDR_SIZE <= stop) {
		uint8_t hb[BATCH_HDR_SIZE];
		batch_hdr_t h;
		if (pread(reg->fd, hb, sizeof hb, pos) != (ssize_t)sizeof hb ||
		    batch_peek(hb, sizeof hb, &h) < 0)
			break;
		if (h.base_offset >= lso)
			break;
		pos += (off_t)batch_size(&h);
	}
	if (pos > stop)
		pos = stop;
	reg->len = (size_t)(pos - reg->pos);
}

/* Reads what each partition has to offer; returns the total byte count. */
static size_t evaluate(kafka_fetch_t *f, int *any_error)
{
	size_t total = 0;
	size_t budget = f->max_bytes > 0 ? (size_t)f->max_bytes : 0;
	int have_data = 0;
	*any_error = 0;
	for (int i = 0; i < f->ntopics; i++) {
		for (int k = 0; k < f->topics[i].npart; k++) {
			fpart_t *fp = &f->topics[i].parts[k];
			fp->bytes = 0;
			fp->filler = 0;
			fp->hw = fp->lso = fp->log_start = -1;
			partition_t *p = resolve(f->srv, &f->topics[i], fp, &fp->err);
			if (!p) {
				*any_error = 1;
				continue;
			}
			/* The high watermark: under fsync=always the last synced
			 * batch, so nothing that could still be lost is served. */
			fp->hw = plog_hw(p->log);
			fp->lso = partition_lso(p);
			fp->log_start = plog_start_offset(p->log);
			int64_t upto = f->isolation == 1 ? fp->lso : fp->hw;
			if (fp->offset < fp->log_start || fp->offset > plog_end_offset(p->log)) {
				fp->err = KERR_OFFSET_OUT_OF_RANGE;
				*any_error = 1;
				continue;
			}
			if (fp->offset >= upto)
				continue;
			size_t limit = fp->max_bytes > 0 ? (size_t)fp->max_bytes : 0;
			if (budget < limit)
				limit = budget;
			if (limit == 0 && have_data)
				continue;
			/* At least one whole batch: plog_read never returns less. */
			int rc = plog_read(p->log, fp->offset, limit ? limit : 1, &fp->reg);
			if (rc < 0) {
				fp->err = kafka_err_from_sl(rc);
				*any_error = 1;
				continue;
			}
			if (upto < fp->hw && fp->reg.len > 0)
				cut_at(&fp->reg, upto);
			if (fp->reg.len == 0 && upto < fp->hw)
				continue; /* an open transaction starts here */
			if (fp->reg.len == 0 && fp->offset < fp->hw) {
				/* Damage up to the high watermark: step over it. */
				empty_batch(fp->skip, fp->offset, fp->hw);
				fp->filler = 1;
				fp->bytes = BATCH_HDR_SIZE;
				have_data = 1;
				total += fp->bytes;
				budget = budget > fp->bytes ? budget - fp->bytes : 0;
				continue;
			}
			/* Only the first partition with data may exceed the limits. */
			if (have_data && fp->reg.len > limit)
				fp->reg.len = 0;
			fp->bytes = fp->reg.len;
			if (fp->bytes)
				have_data = 1;
			total += fp->bytes;
			budget = budget > fp->bytes ? budget - fp->bytes : 0;
		}
	}
	return total;
}

/* AbortedTransactions: for read_committed those overlapping [offset, lso);
 * empty for read_uncommitted (Kafka sends null; every client takes both). */
static void write_aborted(kafka_fetch_t *f, const ftopic_t *t, const fpart_t *fp, buf_t *m)
{
	int16_t e;
	partition_t *p = fp->err ? NULL : resolve(f->srv, t, fp, &e);
	if (f->isolation != 1 || !p) {
		kw_arr(m, f->flex, 0);
		return;
	}
	const part_aborted_t *a;
	size_t n = partition_aborted_from(p, fp->offset, &a);
	int32_t cnt = 0;
	for (size_t i = 0; i < n; i++)
		cnt += a[i].first < fp->lso;
	kw_arr(m, f->flex, cnt);
	for (size_t i = 0; i < n; i++) {
		if (a[i].first >= fp->lso)
			continue;
		kw_i64(m, a[i].pid);
		kw_i64(m, a[i].first);
		kw_tags(m, f->flex);
	}
}

/* KIP-227: marks the partitions the response carries (fp->include) and
 * records in the session what it tells the client. A full fetch carries
 * all; an incremental one those with records, an error, or a watermark or
 * offset that changed since the session last sent them. */
static void select_parts(kafka_fetch_t *f)
{
	kfs_t *s = NULL;
	if (f->session_id && f->c && !conn_is_closed(f->c))
		s = kfs_find(f->srv->fsessions, f->session_id, f->c->pdata);
	for (int i = 0; i < f->ntopics; i++) {
		ftopic_t *t = &f->topics[i];
		for (int k = 0; k < t->npart; k++) {
			fpart_t *fp = &t->parts[k];
			fp->include = 1;
			kfs_part_t *sp =
			    s ? kfs_part_find(s, t->name, strlen(t->name), fp->index) : NULL;
			if (!sp)
				continue;
			size_t bytes = fp->err ? 0 : fp->bytes;
			if (f->incremental && sp->sent && !fp->err && !bytes && sp->hw == fp->hw &&
			    sp->lso == fp->lso && sp->log_start == fp->log_start)
				fp->include = 0;
			sp->sent = 1;
			sp->hw = fp->hw;
			sp->lso = fp->lso;
			sp->log_start = fp->log_start;
			/* Kafka's fairness: what returned data waits behind the rest. */
			if (bytes && f->incremental)
				kfs_to_end(s, sp);
		}
	}
}

static int32_t topic_included(const ftopic_t *t)
{
	int32_t n = 0;
	for (int k = 0; k < t->npart; k++)
		n += t->parts[k].include;
	return n;
}

typedef struct insert {
	size_t pos; /* in the memory part */
	const plog_region_t *reg;
} insert_t;

/* Writes the response: to the connection (memory + file regions), or, for
 * handler tests without a connection, entirely into `direct`. Returns 0 or
 * negative when a file region could not be queued (close). */
static int respond(kafka_fetch_t *f, buf_t *direct)
{
	int16_t v = f->h.ApiVersion;
	int flex = f->flex;
	buf_t m = BUF_INIT;
	int nins = 0;
	for (int i = 0; i < f->ntopics; i++)
		nins += f->topics[i].npart;
	insert_t *ins = calloc(nins ? (size_t)nins : 1, sizeof *ins);
	if (!ins)
		abort();
	nins = 0;
	size_t file_bytes = 0;
	select_parts(f);
	size_t mark = kafka_resp_begin(&m, f->h.CorrelationId, flex);
	if (v >= 1)
		kw_i32(&m, 0);
	if (v >= 7) {
		kw_i16(&m, KERR_NONE);
		kw_i32(&m, f->session_id);
	}
	int32_t ntopics = 0;
	for (int i = 0; i < f->ntopics; i++)
		ntopics += topic_included(&f->topics[i]) > 0;
	kw_arr(&m, flex, ntopics);
	for (int i = 0; i < f->ntopics; i++) {
		ftopic_t *t = &f->topics[i];
		int32_t nparts = topic_included(t);
		if (!nparts)
			continue;
		kw_str(&m, flex, t->name);
		kw_arr(&m, flex, nparts);
		for (int k = 0; k < t->npart; k++) {
			fpart_t *fp = &t->parts[k];
			if (!fp->include)
				continue;
			kw_i32(&m, fp->index);
			kw_i16(&m, fp->err);
			kw_i64(&m, fp->hw);
			kw_i64(&m, fp->lso);
			if (v >= 5)
				kw_i64(&m, fp->log_start);
			write_aborted(f, t, fp, &m);
			if (v >= 11)
				kw_i32(&m, -1); /* PreferredReadReplica */
			size_t bytes = fp->err ? 0 : fp->bytes;
			kw_bytes_len(&m, flex, (int32_t)bytes);
			if (bytes) {
				int16_t e;
				partition_t *pp = resolve(f->srv, t, fp, &e);
				if (pp)
					pp->bytes_out += bytes; /* /metrics: bytes sent */
			}
			if (bytes && fp->filler) {
				buf_append(&m, fp->skip, bytes);
			} else if (bytes) {
				ins[nins].pos = buf_len(&m);
				ins[nins].reg = &fp->reg;
				nins++;
				file_bytes += bytes;
			}
			kw_tags(&m, flex);
		}
		kw_tags(&m, flex);
	}
	kw_tags(&m, flex);
	be32_store(buf_data(&m) + mark, (uint32_t)(buf_len(&m) - mark - 4 + file_bytes));
	int rc = 0;
	size_t pos = 0;
	for (int i = 0; i <= nins; i++) {
		size_t upto = i < nins ? ins[i].pos : buf_len(&m);
		if (f->c)
			conn_write(f->c, buf_data(&m) + pos, upto - pos);
		else
			buf_append(direct, buf_data(&m) + pos, upto - pos);
		pos = upto;
		if (i == nins)
			break;
		const plog_region_t *rg = ins[i].reg;
		/* The region's descriptor may have been closed by the
		 * descriptor cache while later partitions were read: go
		 * through its file. */
		if (f->c) {
			rc = conn_send_region(f->c, rg->file, rg->pos, rg->len);
			if (rc < 0)
				break;
		} else {
			uint8_t *dst = buf_reserve(direct, rg->len);
			int fd = fdc_fd(rg->file);
			if (fd < 0 || pread(fd, dst, rg->len, rg->pos) != (ssize_t)rg->len) {
				rc = SL_EIO;
				break;
			}
			buf_commit(direct, rg->len);
		}
	}
	free(ins);
	buf_deinit(&m);
	return rc;
}

static void finish_parked(kafka_fetch_t *f)
{
	conn_t *c = f->c;
	kafka_conn_t *kc = c->pdata;
	fetchwait_cancel(&f->wait);
	if (kc)
		kc->parked = NULL;
	if (!conn_is_closed(c)) {
		if (respond(f, NULL) < 0)
			conn_close(c, 0);
		conn_resume(c);
	}
	conn_unref(c);
	fetch_free(f);
}

static void on_wake(fetchwait_t *w, int timed_out)
{
	kafka_fetch_t *f = w->arg;
	int any_error;
	size_t total = evaluate(f, &any_error);
	if (timed_out || any_error || total >= (size_t)(f->min_bytes > 0 ? f->min_bytes : 1))
		finish_parked(f);
}

void kafka_fetch_abandon(kafka_fetch_t *f)
{
	fetchwait_cancel(&f->wait);
	conn_unref(f->c);
	fetch_free(f);
}

/* Fetch v0–3: every partition answered UNSUPPORTED_VERSION. */
static void fetch_old(kreq_t *rq, kafka_fetch_t *f)
{
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	if (rq->h.ApiVersion >= 1)
		kw_i32(b, 0);
	kw_arr(b, 0, f->ntopics);
	for (int i = 0; i < f->ntopics; i++) {
		kw_str(b, 0, f->topics[i].name);
		kw_arr(b, 0, f->topics[i].npart);
		for (int k = 0; k < f->topics[i].npart; k++) {
			kw_i32(b, f->topics[i].parts[k].index);
			kw_i16(b, KERR_UNSUPPORTED_VERSION);
			kw_i64(b, -1);
			kw_bytes_len(b, 0, 0);
		}
	}
	kafka_reply_end(b, mark);
}

/* A fetch refused for its session: the error, SessionId 0, no topics. */
static void session_error(kreq_t *rq, int16_t err)
{
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_i16(b, err);
	kw_i32(b, 0);
	kw_arr(b, rq->flex, 0);
	kw_tags(b, rq->flex);
	kafka_reply_end(b, mark);
}

/* Replaces f's topics with the session's partitions, in its order (runs
 * of one topic become one topic entry). Each topic's Read permission is
 * checked again, as for the request's own topics: a session remembers
 * partitions, not what the principal was allowed when it named them. */
static void topics_from_session(kreq_t *rq, kafka_fetch_t *f, const kfs_t *s)
{
	for (int i = 0; i < f->ntopics; i++) {
		free(f->topics[i].name);
		free(f->topics[i].parts);
	}
	free(f->topics);
	size_t n = kfs_count(s);
	f->topics = calloc(n + 1, sizeof *f->topics);
	if (!f->topics)
		abort();
	f->ntopics = 0;
	for (size_t i = 0; i < n;) {
		const kfs_part_t *p0 = kfs_at(s, i);
		size_t j = i;
		while (j < n && strcmp(kfs_at(s, j)->topic, p0->topic) == 0)
			j++;
		ftopic_t *t = &f->topics[f->ntopics++];
		t->name = strdup(p0->topic);
		t->parts = calloc(j - i, sizeof *t->parts);
		if (!t->name || !t->parts)
			abort();
		t->denied = kafka_authz_topic(
		    rq, (kstr_t){.p = t->name, .len = (int32_t)strlen(t->name)}, ACL_OP_READ);
		for (; i < j; i++) {
			const kfs_part_t *p = kfs_at(s, i);
			fpart_t *fp = &t->parts[t->npart++];
			fp->index = p->partition;
			fp->offset = p->offset;
			fp->max_bytes = p->max_bytes;
		}
	}
}

/* Sets the request's partitions (fetch offset, max bytes) in session s.
 * Returns 0, or -1 when a bound of fetch_session.h was reached. */
static int session_update(const kafka_fetch_t *f, kfs_t *s)
{
	for (int i = 0; i < f->ntopics; i++)
		for (int k = 0; k < f->topics[i].npart; k++) {
			const fpart_t *fp = &f->topics[i].parts[k];
			if (!kfs_set(s, f->topics[i].name, strlen(f->topics[i].name), fp->index,
			             fp->offset, fp->max_bytes))
				return -1;
		}
	return 0;
}

/* KIP-227: the request's session fields (fg at its validated
 * ForgottenTopicsData). SessionEpoch -1 is a sessionless full fetch (and
 * ends session sid, if any), 0 a full fetch that ends sid and opens a new
 * session when the cache has room, above 0 an incremental fetch of
 * session sid: its partitions are updated with the request's, the
 * forgotten ones dropped, and f then fetches all of the session's.
 * Returns 0 or the error to answer. */
static int16_t session_apply(kreq_t *rq, kafka_fetch_t *f, int32_t sid, int32_t epoch, rd_t *fg)
{
	kfs_cache_t *cache = rq->srv->fsessions;
	const void *owner = rq->c ? rq->c->pdata : NULL;
	int64_t now = time_mono_ms();
	if (!cache || !owner)
		return epoch > 0 ? KERR_FETCH_SESSION_ID_NOT_FOUND : 0;
	kfs_t *s = sid ? kfs_find(cache, sid, owner) : NULL;
	if (epoch <= 0) {
		if (s)
			kfs_remove(cache, s);
		if (epoch < 0)
			return 0;
		int n = 0;
		for (int i = 0; i < f->ntopics; i++)
			n += f->topics[i].npart;
		if (!(s = kfs_create(cache, owner, n, now)))
			return 0; /* no room: answered without a session */
		if (session_update(f, s) < 0) {
			kfs_remove(cache, s); /* the cache is full: sessionless */
			return 0;
		}
		f->session_id = kfs_id(s);
		return 0;
	}
	if (!s)
		return KERR_FETCH_SESSION_ID_NOT_FOUND;
	if (kfs_epoch(s) != epoch)
		return KERR_INVALID_FETCH_SESSION_EPOCH;
	if (session_update(f, s) < 0) {
		/* Past the partition bounds: the client starts over. */
		kfs_remove(cache, s);
		return KERR_FETCH_SESSION_ID_NOT_FOUND;
	}
	int flex = rq->flex;
	int32_t nf = kr_arr(fg, flex, 2);
	for (int32_t i = 0; i < nf; i++) {
		kstr_t name = kr_str(fg, flex);
		int32_t np = kr_arr(fg, flex, 4);
		for (int32_t k = 0; k < np; k++) {
			int32_t idx = kr_i32(fg);
			if (name.len >= 0)
				kfs_forget(s, name.p, (size_t)name.len, idx);
		}
		kr_tags(fg, flex);
	}
	kfs_next_epoch(s, now);
	topics_from_session(rq, f, s);
	f->session_id = sid;
	f->incremental = 1;
	return 0;
}

int kafka_h_Fetch(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	kafka_fetch_t *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->srv = rq->srv;
	f->h = rq->h;
	f->h.ClientId = KSTR_NULL;
	f->flex = flex;
	(void)kr_i32(r); /* ReplicaId */
	int32_t max_wait = kr_i32(r);
	f->min_bytes = kr_i32(r);
	f->max_bytes = v >= 3 ? kr_i32(r) : INT32_MAX;
	if (v >= 4)
		f->isolation = kr_i8(r);
	int32_t sid = 0, sepoch = -1;
	if (v >= 7) {
		sid = kr_i32(r);
		sepoch = kr_i32(r);
	}
	int32_t nt = kr_arr(r, flex, 2);
	if (nt > 0) {
		f->topics = calloc((size_t)nt, sizeof *f->topics);
		if (!f->topics)
			abort();
	}
	for (int32_t i = 0; i < nt && !r->err; i++) {
		ftopic_t *t = &f->topics[i];
		f->ntopics = i + 1;
		kstr_t name = kr_str(r, flex);
		int32_t np = kr_arr(r, flex, 16);
		if (r->err || name.len < 0) {
			rd_fail(r);
			break;
		}
		t->name = strndup(name.p, (size_t)name.len);
		t->denied = kafka_authz_topic(rq, name, ACL_OP_READ);
		if (!t->name)
			abort();
		if (np > 0) {
			t->parts = calloc((size_t)np, sizeof *t->parts);
			if (!t->parts)
				abort();
		}
		for (int32_t k = 0; k < np && !r->err; k++) {
			fpart_t *fp = &t->parts[k];
			t->npart = k + 1;
			fp->index = kr_i32(r);
			if (v >= 9)
				(void)kr_i32(r); /* CurrentLeaderEpoch */
			fp->offset = kr_i64(r);
			if (v >= 12)
				(void)kr_i32(r); /* LastFetchedEpoch */
			if (v >= 5)
				(void)kr_i64(r); /* LogStartOffset (followers only) */
			fp->max_bytes = kr_i32(r);
			kr_tags(r, flex);
		}
		kr_tags(r, flex);
	}
	rd_t forgotten = *r;
	if (v >= 7) {
		int32_t nf = kr_arr(r, flex, 2);
		for (int32_t i = 0; i < nf && !r->err; i++) {
			(void)kr_str(r, flex);
			int32_t np = kr_arr(r, flex, 4);
			rd_skip(r, np > 0 ? (size_t)np * 4 : 0);
			kr_tags(r, flex);
		}
	}
	if (v >= 11)
		(void)kr_str(r, flex); /* RackId */
	kr_tags(r, flex);
	if (r->err || nt < 0) {
		fetch_free(f);
		return SL_EPROTO;
	}
	if (v < 4) {
		fetch_old(rq, f);
		fetch_free(f);
		return 0;
	}
	if (v >= 7) {
		int16_t serr = session_apply(rq, f, sid, sepoch, &forgotten);
		if (serr) {
			session_error(rq, serr);
			fetch_free(f);
			return 0;
		}
	}
	int any_error;
	size_t total = evaluate(f, &any_error);
	size_t min = (size_t)(f->min_bytes > 0 ? f->min_bytes : 1);
	if (total >= min || max_wait <= 0 || any_error || !rq->c || f->ntopics == 0) {
		f->c = rq->c;
		int rc = respond(f, rq->out);
		fetch_free(f);
		return rc;
	}
	/* Park: collect the partitions to watch. */
	int n = 0;
	for (int i = 0; i < f->ntopics; i++)
		n += f->topics[i].npart;
	partition_t **parts = calloc((size_t)n, sizeof *parts);
	if (!parts)
		abort();
	n = 0;
	for (int i = 0; i < f->ntopics; i++)
		for (int k = 0; k < f->topics[i].npart; k++) {
			int16_t err;
			partition_t *p =
			    resolve(f->srv, &f->topics[i], &f->topics[i].parts[k], &err);
			if (p)
				parts[n++] = p;
		}
	f->c = rq->c;
	conn_ref(f->c);
	conn_pause(f->c);
	((kafka_conn_t *)rq->c->pdata)->parked = f;
	fetchwait_start(&f->wait, rq->srv->b->loop, parts, n, max_wait, on_wake, f);
	free(parts);
	return 0;
}

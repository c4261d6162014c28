/*
 * h_Txn.c — the transaction coordinator's APIs (KIP-98), adapters over
 * broker/txn.h: AddPartitionsToTxn (key 24, v0–5; v4+ batched, KIP-890),
 * AddOffsetsToTxn (25, v0–4), EndTxn (26, v0–4) and TxnOffsetCommit (28,
 * v0–4); the v4s only allow KIP-890's TRANSACTION_ABORTABLE, which the
 * coordinator never answers, so they are served as v3.
 *
 * Every reply waits for the transaction journal's domain (the change it
 * acknowledges is journaled there); a failure turns its ErrorCode fields
 * into COORDINATOR_NOT_AVAILABLE, which clients retry. EndTxn answers once
 * its decision (Prepare*) is synced and its markers appended, as Kafka's
 * coordinator does: a crash from then on completes the markers at
 * recovery (broker/txn.c). The markers' syncs start at once and nothing
 * waits for them (a lost one is written again from the coordinator's
 * list); committed group offsets are synced behind an empty hold in the
 * connection's output, so the producer's next request is answered only
 * once they are durable. Loop thread.
 */
#include "broker/txn.h"
#include "proto/kafka/kafka.h"

#include <stdlib.h>

#define ERR_FAIL KERR_COORDINATOR_NOT_AVAILABLE

/* Skips one Topics array of AddPartitionsToTxn; returns its partition
 * count (r->err set on malformed input). */
static int skip_topics(rd_t *r, int flex)
{
	int total = 0;
	int32_t nt = kr_arr(r, flex, 2);
	if (nt < 0)
		rd_fail(r);
	for (int32_t i = 0; i < nt && !r->err; i++) {
		(void)kr_str(r, flex);
		int32_t np = kr_arr(r, flex, 4);
		rd_skip(r, np > 0 ? (size_t)np * 4 : 0);
		total += np > 0 ? np : 0;
		kr_tags(r, flex);
	}
	return total;
}

/* One transaction of an AddPartitionsToTxn request and its results. */
typedef struct addtx {
	kstr_t id;
	int32_t nt;
	kstr_t *names;
	int32_t *counts;
	txn_tp_t *tps;
	txn_err_t *errs;
} addtx_t;

/* Reads one transaction's block (r validated) and adds its partitions to
 * it (or, verify, checks they are in it: KIP-890). */
static void addtx_apply(kreq_t *rq, rd_t *r, int batched, addtx_t *a)
{
	int flex = rq->flex;
	a->id = kr_str(r, flex);
	int64_t pid = kr_i64(r);
	int16_t epoch = kr_i16(r);
	int verify = batched ? kr_i8(r) != 0 : 0;
	rd_t count_r = *r;
	int total = skip_topics(&count_r, flex);
	a->nt = kr_arr(r, flex, 2);
	a->tps = calloc((size_t)total + 1, sizeof *a->tps);
	a->errs = calloc((size_t)total + 1, sizeof *a->errs);
	a->names = calloc((size_t)a->nt + 1, sizeof *a->names);
	a->counts = calloc((size_t)a->nt + 1, sizeof *a->counts);
	if (!a->tps || !a->errs || !a->names || !a->counts)
		abort();
	int n = 0;
	for (int32_t i = 0; i < a->nt; i++) {
		a->names[i] = kr_str(r, flex);
		a->counts[i] = kr_arr(r, flex, 4);
		for (int32_t j = 0; j < a->counts[i]; j++, n++) {
			a->tps[n].topic = a->names[i].p;
			a->tps[n].topic_len = a->names[i].len < 0 ? 0 : a->names[i].len;
			a->tps[n].partition = kr_i32(r);
		}
		kr_tags(r, flex);
	}
	if (batched)
		kr_tags(r, flex);
	txn_coord_t *tc = rq->srv->b->txns;
	if (a->id.len < 0) {
		for (int i = 0; i < n; i++)
			a->errs[i] = TXN_ERR_INVALID_MAPPING;
	} else if (kafka_authz_txn_parts(rq, a->id, a->names, a->counts, a->nt, a->errs)) {
		/* refused: errs holds the authorization errors */
	} else if (verify) {
		txn_verify_partitions(tc, a->id.p, a->id.len, pid, epoch, a->tps, n, a->errs);
	} else {
		(void)txn_add_partitions(tc, a->id.p, a->id.len, pid, epoch, a->tps, n, a->errs);
	}
}

/* Writes one transaction's TopicResults and frees a. */
static void addtx_write(kdur_t *k, int flex, addtx_t *a)
{
	kw_arr(k->b, flex, a->nt);
	int n = 0;
	for (int32_t i = 0; i < a->nt; i++) {
		kw_kstr(k->b, flex, a->names[i]);
		kw_arr(k->b, flex, a->counts[i]);
		for (int32_t j = 0; j < a->counts[i]; j++, n++) {
			kw_i32(k->b, a->tps[n].partition);
			kdur_err(k, (int16_t)a->errs[n]);
			kw_tags(k->b, flex);
		}
		kw_tags(k->b, flex);
	}
	free(a->tps);
	free(a->errs);
	free(a->names);
	free(a->counts);
}

/* AddPartitionsToTxn v0–5: v0–3 one transaction, v4+ (KIP-890) a batch
 * of them, each possibly VerifyOnly. */
int kafka_h_AddPartitionsToTxn(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	int batched = rq->h.ApiVersion >= 4;
	/* Validate the whole request before changing anything. */
	rd_t start = *r;
	int32_t ntx = batched ? kr_arr(r, flex, 2) : 1;
	if (ntx < 0)
		rd_fail(r);
	for (int32_t i = 0; i < ntx && !r->err; i++) {
		kstr_t id = kr_str(r, flex);
		(void)kr_i64(r);
		(void)kr_i16(r);
		if (batched)
			(void)kr_i8(r);
		(void)skip_topics(r, flex);
		if (batched)
			kr_tags(r, flex);
		if (!batched && id.len < 0)
			rd_fail(r);
	}
	kr_tags(r, flex);
	if (r->err)
		return SL_EPROTO;
	addtx_t *txs = calloc((size_t)ntx + 1, sizeof *txs);
	if (!txs)
		abort();
	rd_t tr = start;
	if (batched)
		(void)kr_arr(&tr, flex, 2);
	for (int32_t i = 0; i < ntx; i++)
		addtx_apply(rq, &tr, batched, &txs[i]);
	dur_t *d = txn_dur(rq->srv->b->txns);
	kdur_t k;
	kdur_begin(&k, rq, d);
	size_t mark = kafka_reply_begin(rq, k.b);
	kw_i32(k.b, 0);
	if (batched) {
		kw_i16(k.b, KERR_NONE);
		kw_arr(k.b, flex, ntx);
	}
	for (int32_t i = 0; i < ntx; i++) {
		if (batched)
			kw_kstr(k.b, flex, txs[i].id);
		addtx_write(&k, flex, &txs[i]);
		if (batched)
			kw_tags(k.b, flex);
	}
	kw_tags(k.b, flex);
	kafka_reply_end(k.b, mark);
	kdur_end(&k, d, ERR_FAIL);
	free(txs);
	return 0;
}

/* AddOffsetsToTxn v0–4 (v4: KIP-890's TRANSACTION_ABORTABLE, never sent). */
int kafka_h_AddOffsetsToTxn(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	kstr_t id = kr_str(r, flex);
	int64_t pid = kr_i64(r);
	int16_t epoch = kr_i16(r);
	kstr_t group = kr_str(r, flex);
	kr_tags(r, flex);
	if (r->err || id.len < 0)
		return SL_EPROTO;
	txn_coord_t *tc = rq->srv->b->txns;
	txn_err_t e = kafka_authz_txn_group(rq, id, group);
	if (!e)
		e = txn_add_offsets(tc, id.p, id.len, pid, epoch, group.p, group.len);
	dur_t *d = txn_dur(tc);
	kdur_t k;
	kdur_begin(&k, rq, d);
	size_t mark = kafka_reply_begin(rq, k.b);
	kw_i32(k.b, 0);
	kdur_err(&k, (int16_t)e);
	kw_tags(k.b, flex);
	kafka_reply_end(k.b, mark);
	kdur_end(&k, d, ERR_FAIL);
	return 0;
}

/* TxnOffsetCommit v0–4 (v4 as v3). */
int kafka_h_TxnOffsetCommit(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	kstr_t id = kr_str(r, flex);
	kstr_t group = kr_str(r, flex);
	int64_t pid = kr_i64(r);
	int16_t epoch = kr_i16(r);
	if (v >= 3) {
		(void)kr_i32(r);       /* GenerationId */
		(void)kr_str(r, flex); /* MemberId */
		(void)kr_str(r, flex); /* GroupInstanceId */
	}
	int32_t nt = kr_arr(r, flex, 2);
	rd_t topics_r = *r;
	int total = 0;
	for (int32_t i = 0; i < nt && !r->err; i++) {
		(void)kr_str(r, flex);
		int32_t np = kr_arr(r, flex, 4);
		for (int32_t k = 0; k < np && !r->err; k++) {
			(void)kr_i32(r);
			(void)kr_i64(r);
			if (v >= 2)
				(void)kr_i32(r);
			(void)kr_str(r, flex);
			kr_tags(r, flex);
			total++;
		}
		kr_tags(r, flex);
	}
	kr_tags(r, flex);
	if (r->err || nt < 0 || id.len < 0 || group.len < 0)
		return SL_EPROTO;
	txn_off_t *offs = calloc((size_t)total + 1, sizeof *offs);
	kstr_t *names = calloc((size_t)nt + 1, sizeof *names);
	int32_t *counts = calloc((size_t)nt + 1, sizeof *counts);
	if (!offs || !names || !counts)
		abort();
	int n = 0;
	for (int32_t i = 0; i < nt; i++) {
		names[i] = kr_str(&topics_r, flex);
		counts[i] = kr_arr(&topics_r, flex, 4);
		for (int32_t k = 0; k < counts[i]; k++, n++) {
			offs[n].topic = names[i].p;
			offs[n].topic_len = names[i].len < 0 ? 0 : names[i].len;
			offs[n].partition = kr_i32(&topics_r);
			offs[n].offset = kr_i64(&topics_r);
			offs[n].leader_epoch = v >= 2 ? kr_i32(&topics_r) : -1;
			kstr_t meta = kr_str(&topics_r, flex);
			offs[n].meta = meta.p;
			offs[n].meta_len = meta.len;
			kr_tags(&topics_r, flex);
		}
		kr_tags(&topics_r, flex);
	}
	txn_coord_t *tc = rq->srv->b->txns;
	int16_t *deny = calloc((size_t)n + 1, sizeof *deny);
	if (!deny)
		abort();
	txn_err_t e = kafka_txn_offset_commit_authorized(rq, id, pid, epoch, group, offs, n, deny);
	dur_t *d = txn_dur(tc);
	kdur_t k;
	kdur_begin(&k, rq, d);
	size_t mark = kafka_reply_begin(rq, k.b);
	kw_i32(k.b, 0);
	kw_arr(k.b, flex, nt);
	n = 0;
	for (int32_t i = 0; i < nt; i++) {
		kw_kstr(k.b, flex, names[i]);
		kw_arr(k.b, flex, counts[i]);
		for (int32_t j = 0; j < counts[i]; j++, n++) {
			kw_i32(k.b, offs[n].partition);
			kdur_err(&k, deny[n] ? deny[n] : (int16_t)e);
			kw_tags(k.b, flex);
		}
		kw_tags(k.b, flex);
	}
	kw_tags(k.b, flex);
	kafka_reply_end(k.b, mark);
	kdur_end(&k, d, ERR_FAIL);
	free(deny);
	free(offs);
	free(names);
	free(counts);
	return 0;
}

/* EndTxn's held reply, finished when the coordinator calls back. */
typedef struct endw {
	kdur_t k;
	kreq_t rq; /* header only (no body) */
	conn_t *c;
} endw_t;

static void end_reply(const kreq_t *rq, kdur_t *k, int16_t err)
{
	size_t mark = kafka_reply_begin(rq, k->b);
	kw_i32(k->b, 0);
	kdur_err(k, err);
	kw_tags(k->b, rq->flex);
	kafka_reply_end(k->b, mark);
}

static int markers_fin(dur_hold_t *h, buf_t *reply, int status, void *arg)
{
	(void)h;
	(void)reply;
	(void)status; /* the markers are the coordinator's to write again */
	(void)arg;
	return 0;
}

static void on_end(void *arg, const txn_done_t *d)
{
	endw_t *w = arg;
	end_reply(&w->rq, &w->k, d->err == TXN_OK ? KERR_NONE : (int16_t)d->err);
	/* The decision is durable: the reply leaves now (as Kafka's
	 * coordinator answers once PrepareCommit is written). Committed group
	 * offsets (d->doms: the groups' domain) are synced behind an empty
	 * hold, so this connection's next replies wait for them; the markers'
	 * syncs run on their own (broker/txn.c lists them until durable). */
	kdur_end_multi(&w->k, NULL, 0, ERR_FAIL);
	if (d->ndoms > 0 && !conn_is_closed(w->c)) {
		dur_hold_t *h = dur_hold_new(w->c, markers_fin, NULL);
		for (int i = 0; i < d->ndoms; i++)
			dur_hold_join(h, d->doms[i], 1);
		dur_hold_arm(h);
	}
	conn_unref(w->c);
	free(w);
}

static void on_end_nowait(void *arg, const txn_done_t *d)
{
	(void)arg;
	(void)d;
}

/* EndTxn v0–4 (v4 as v3). */
int kafka_h_EndTxn(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	kstr_t id = kr_str(r, flex);
	int64_t pid = kr_i64(r);
	int16_t epoch = kr_i16(r);
	int commit = kr_i8(r) != 0;
	kr_tags(r, flex);
	if (r->err || id.len < 0)
		return SL_EPROTO;
	txn_coord_t *tc = rq->srv->b->txns;
	txn_err_t deny = (txn_err_t)kafka_authz_txn(rq, id, ACL_OP_WRITE);
	if (!rq->c || rq->out) {
		/* No connection to hold a reply on (handler tests, fuzzing). */
		txn_err_t e =
		    deny ? deny
		         : txn_end(tc, id.p, id.len, pid, epoch, commit, on_end_nowait, NULL);
		kdur_t k = {kreq_out(rq), NULL, NULL};
		end_reply(rq, &k, (int16_t)e);
		return 0;
	}
	endw_t *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->rq.h = rq->h;
	w->rq.h.ClientId = KSTR_NULL;
	w->rq.flex = rq->flex;
	w->c = rq->c;
	conn_ref(w->c);
	kdur_hold(&w->k, rq->c);
	txn_err_t e = deny ? deny : txn_end(tc, id.p, id.len, pid, epoch, commit, on_end, w);
	if (e != TXN_OK) {
		txn_done_t d = {e, NULL, 0};
		on_end(w, &d);
	}
	return 0;
}

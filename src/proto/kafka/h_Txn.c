/*
 * h_Txn.c — the transaction coordinator's APIs (KIP-98), adapters over
 * broker/txn.h: AddPartitionsToTxn (key 24, v0–3), AddOffsetsToTxn (25,
 * v0–3), EndTxn (26, v0–3) and TxnOffsetCommit (28, v0–3).
 *
 * Every reply waits for the transaction journal's domain (the change it
 * acknowledges is journaled there); a failure turns its ErrorCode fields
 * into COORDINATOR_NOT_AVAILABLE, which clients retry. EndTxn answers once
 * its decision is synced and its markers written: its reply is held in the
 * connection's output (later replies queue behind it) and joined to the
 * domains of every partition that got a marker, the groups' (offsets
 * applied) and the coordinator's (Complete written), so a successful
 * EndTxn means the whole transaction is durable. Loop thread.
 */
#include "broker/txn.h"
#include "proto/kafka/kafka.h"

#include <stdlib.h>

#define ERR_FAIL KERR_COORDINATOR_NOT_AVAILABLE

/* AddPartitionsToTxn v0–3. */
int kafka_h_AddPartitionsToTxn(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	kstr_t id = kr_str(r, flex);
	int64_t pid = kr_i64(r);
	int16_t epoch = kr_i16(r);
	int32_t nt = kr_arr(r, flex, 2);
	rd_t topics_r = *r;
	int total = 0;
	for (int32_t i = 0; i < nt && !r->err; i++) {
		(void)kr_str(r, flex);
		int32_t np = kr_arr(r, flex, 4);
		for (int32_t k = 0; k < np && !r->err; k++) {
			(void)kr_i32(r);
			total++;
		}
		kr_tags(r, flex);
	}
	kr_tags(r, flex);
	if (r->err || nt < 0 || id.len < 0)
		return SL_EPROTO;
	txn_tp_t *tps = calloc((size_t)total + 1, sizeof *tps);
	txn_err_t *errs = calloc((size_t)total + 1, sizeof *errs);
	kstr_t *names = calloc((size_t)nt + 1, sizeof *names);
	int32_t *counts = calloc((size_t)nt + 1, sizeof *counts);
	if (!tps || !errs || !names || !counts)
		abort();
	int n = 0;
	for (int32_t i = 0; i < nt; i++) {
		names[i] = kr_str(&topics_r, flex);
		counts[i] = kr_arr(&topics_r, flex, 4);
		for (int32_t k = 0; k < counts[i]; k++, n++) {
			tps[n].topic = names[i].p;
			tps[n].topic_len = names[i].len < 0 ? 0 : names[i].len;
			tps[n].partition = kr_i32(&topics_r);
		}
		kr_tags(&topics_r, flex);
	}
	txn_coord_t *tc = rq->srv->b->txns;
	if (!kafka_authz_txn_parts(rq, id, names, counts, nt, errs))
		(void)txn_add_partitions(tc, id.p, id.len, pid, epoch, tps, n, errs);
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
			kw_i32(k.b, tps[n].partition);
			kdur_err(&k, (int16_t)errs[n]);
			kw_tags(k.b, flex);
		}
		kw_tags(k.b, flex);
	}
	kw_tags(k.b, flex);
	kafka_reply_end(k.b, mark);
	kdur_end(&k, d, ERR_FAIL);
	free(tps);
	free(errs);
	free(names);
	free(counts);
	return 0;
}

/* AddOffsetsToTxn v0–3. */
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

/* TxnOffsetCommit v0–3. */
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

static void on_end(void *arg, const txn_done_t *d)
{
	endw_t *w = arg;
	end_reply(&w->rq, &w->k, d->err == TXN_OK ? KERR_NONE : (int16_t)d->err);
	kdur_end_multi(&w->k, d->doms, d->ndoms, ERR_FAIL);
	conn_unref(w->c);
	free(w);
}

static void on_end_nowait(void *arg, const txn_done_t *d)
{
	(void)arg;
	(void)d;
}

/* EndTxn v0–3. */
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

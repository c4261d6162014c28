/*
 * h_Transactions.c — the transaction coordinator's admin APIs (KIP-664),
 * read-only views over broker/txn.h:
 *   - DescribeTransactions (key 65, v0): per transactional id its state,
 *     producer id and epoch, timeout, the wall-clock start of its last
 *     transaction and the partitions of the current one; an unknown id
 *     gets TRANSACTIONAL_ID_NOT_FOUND.
 *   - ListTransactions (key 66, v0–1): every id, filtered by states,
 *     producer ids and (v1, KIP-994) a minimum running time in ms; state
 *     names Kafka does not know are returned in UnknownStateFilters.
 * Nothing waits for a sync: they journal nothing. Loop thread.
 */
#include "broker/txn.h"
#include "core/time.h"
#include "proto/kafka/kafka.h"

#include <stdlib.h>
#include <string.h>

#define KERR_TRANSACTIONAL_ID_NOT_FOUND 105

static int same_topic(const txn_tp_t *a, const txn_tp_t *b)
{
	return a->topic_len == b->topic_len &&
	       memcmp(a->topic, b->topic, (size_t)a->topic_len) == 0;
}

/* Whether partition k is its topic's first in the list. */
static int first_of_topic(const txn_info_t *t, int k)
{
	for (int j = 0; j < k; j++)
		if (same_topic(&t->tps[j], &t->tps[k]))
			return 0;
	return 1;
}

/* DescribeTransactions v0. */
int kafka_h_DescribeTransactions(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	int32_t n = kr_arr(r, flex, 1);
	rd_t ids = *r;
	for (int32_t i = 0; i < n && !r->err; i++)
		(void)kr_str(r, flex);
	kr_tags(r, flex);
	if (r->err || n < 0)
		return SL_EPROTO;
	txn_coord_t *tc = rq->srv->b->txns;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, flex, n);
	for (int32_t i = 0; i < n; i++) {
		kstr_t id = kr_str(&ids, flex);
		txn_info_t info;
		/* Kafka checks Describe on the id before looking it up. */
		int16_t err = KERR_TRANSACTIONAL_ID_NOT_FOUND;
		if (id.len >= 0 && !kafka_authz(rq, ACL_RES_TRANSACTIONAL_ID, id.p, (size_t)id.len,
		                                ACL_OP_DESCRIBE))
			err = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
		if (err != KERR_TRANSACTIONAL_ID_NOT_FOUND || id.len < 0 ||
		    txn_describe(tc, id.p, id.len, &info) < 0) {
			kw_i16(b, err);
			kw_kstr(b, flex, id);
			kw_str(b, flex, "");
			kw_i32(b, -1);
			kw_i64(b, -1);
			kw_i64(b, -1);
			kw_i16(b, -1);
			kw_arr(b, flex, 0);
			kw_tags(b, flex);
			continue;
		}
		kw_i16(b, KERR_NONE);
		kw_kstr(b, flex, id);
		kw_str(b, flex, txn_state_name(info.state));
		kw_i32(b, info.timeout_ms);
		kw_i64(b, info.start_ms);
		kw_i64(b, info.pid);
		kw_i16(b, info.epoch);
		/* Topics: the partitions grouped by topic, in first-added order. */
		int32_t ntopics = 0;
		for (int k = 0; k < info.ntp; k++)
			ntopics += first_of_topic(&info, k);
		kw_arr(b, flex, ntopics);
		for (int k = 0; k < info.ntp; k++) {
			if (!first_of_topic(&info, k))
				continue;
			const txn_tp_t *t0 = &info.tps[k];
			int32_t cnt = 0;
			for (int j = k; j < info.ntp; j++)
				cnt += same_topic(&info.tps[j], t0);
			kw_strn(b, flex, t0->topic, t0->topic_len);
			kw_arr(b, flex, cnt);
			for (int j = k; j < info.ntp; j++)
				if (same_topic(&info.tps[j], t0))
					kw_i32(b, info.tps[j].partition);
			kw_tags(b, flex);
		}
		txn_info_release(&info);
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

typedef struct list_ctx {
	uint32_t states;     /* bit per txn_state_t; 0: any */
	const uint8_t *pids; /* big-endian int64s */
	int32_t npids;
	int64_t min_ms; /* -1: any */
	int64_t now_ms;
	buf_t *b;
	int flex;
	int32_t count;
	int counting;
	const kreq_t *rq; /* ids the principal may not Describe are left out */
} list_ctx_t;

static int list_match(const list_ctx_t *x, const txn_info_t *t)
{
	if (x->states && !(x->states & (1u << t->state)))
		return 0;
	if (x->npids > 0) {
		int hit = 0;
		for (int32_t i = 0; i < x->npids && !hit; i++)
			hit = (int64_t)be64_load(x->pids + 8 * i) == t->pid;
		if (!hit)
			return 0;
	}
	if (!kafka_authz(x->rq, ACL_RES_TRANSACTIONAL_ID, t->id, strlen(t->id), ACL_OP_DESCRIBE))
		return 0;
	/* KIP-994: only transactions running for at least min_ms. */
	if (x->min_ms >= 0 &&
	    (t->state != TXN_ONGOING || t->start_ms < 0 || x->now_ms - t->start_ms < x->min_ms))
		return 0;
	return 1;
}

static void list_one(void *arg, const txn_info_t *t)
{
	list_ctx_t *x = arg;
	if (!list_match(x, t))
		return;
	if (x->counting) {
		x->count++;
		return;
	}
	kw_str(x->b, x->flex, t->id);
	kw_i64(x->b, t->pid);
	kw_str(x->b, x->flex, txn_state_name(t->state));
	kw_tags(x->b, x->flex);
}

/* ListTransactions v0–1. */
int kafka_h_ListTransactions(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	list_ctx_t x;
	memset(&x, 0, sizeof x);
	x.min_ms = -1;
	x.flex = flex;
	x.rq = rq;
	int32_t ns = kr_arr(r, flex, 1);
	rd_t states = *r;
	for (int32_t i = 0; i < ns && !r->err; i++)
		(void)kr_str(r, flex);
	x.npids = kr_arr(r, flex, 8);
	x.pids = rd_bytes(r, x.npids > 0 ? (size_t)x.npids * 8 : 0);
	if (rq->h.ApiVersion >= 1)
		x.min_ms = kr_i64(r);
	kr_tags(r, flex);
	if (r->err || ns < 0 || x.npids < 0)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	x.b = b;
	x.now_ms = time_wall_ms();
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_i16(b, KERR_NONE);
	/* UnknownStateFilters: counted first, then written. */
	rd_t sr = states;
	int32_t unknown = 0;
	for (int32_t i = 0; i < ns; i++) {
		kstr_t s = kr_str(&sr, flex);
		int st = s.len >= 0 ? txn_state_parse(s.p, s.len) : -1;
		if (st < 0)
			unknown++;
		else
			x.states |= 1u << st;
	}
	kw_arr(b, flex, unknown);
	sr = states;
	for (int32_t i = 0; i < ns; i++) {
		kstr_t s = kr_str(&sr, flex);
		if ((s.len >= 0 ? txn_state_parse(s.p, s.len) : -1) < 0)
			kw_kstr(b, flex, s);
	}
	/* Only unknown names given: nothing can match (as Kafka). */
	int none = ns > 0 && !x.states;
	txn_coord_t *tc = rq->srv->b->txns;
	x.counting = 1;
	if (!none)
		txn_each(tc, list_one, &x);
	kw_arr(b, flex, x.count);
	x.counting = 0;
	if (!none)
		txn_each(tc, list_one, &x);
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

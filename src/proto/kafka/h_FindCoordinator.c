/*
 * h_FindCoordinator.c — FindCoordinator (key 10), v0–4 (flexible from v3;
 * v4 batches several keys, KIP-699). On a single node the coordinator of
 * every group is this node. Advertised from v0 because librdkafka 2.0.2
 * enables its consumer groups only when FindCoordinator v0 is in range.
 * The transaction coordinator (key type 1, broker/txn.h) is this node
 * too. Loop thread.
 */
#include "proto/kafka/kafka.h"

#include <stdlib.h>

enum { KEY_GROUP = 0, KEY_TXN = 1 };

static int16_t key_error(int8_t type, const char **msg)
{
	if (type == KEY_GROUP) {
		*msg = NULL;
		return KERR_NONE;
	}
	if (type == KEY_TXN) {
		*msg = NULL; /* this broker coordinates transactions too */
		return KERR_NONE;
	}
	*msg = "unknown key type";
	return KERR_INVALID_REQUEST;
}

int kafka_h_FindCoordinator(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	const char *host = rq->srv->b->cfg->advertised_host;
	int port = kafka_advertised_port(rq);
	if (v <= 3) {
		kstr_t key = kr_str(r, flex);
		int8_t type = v >= 1 ? kr_i8(r) : KEY_GROUP;
		kr_tags(r, flex);
		if (r->err || key.len < 0)
			return SL_EPROTO;
		const char *msg;
		int16_t err = key_error(type, &msg);
		if (!err)
			err = kafka_authz_coordinator(rq, type, key);
		buf_t *b = kreq_out(rq);
		size_t mark = kafka_reply_begin(rq, b);
		if (v >= 1)
			kw_i32(b, 0);
		kw_i16(b, err);
		if (v >= 1)
			kw_str(b, flex, msg);
		kw_i32(b, err ? -1 : KAFKA_NODE_ID);
		kw_str(b, flex, err ? "" : host);
		kw_i32(b, err ? -1 : port);
		kw_tags(b, flex);
		kafka_reply_end(b, mark);
		return 0;
	}
	int8_t type = kr_i8(r);
	int32_t n = kr_arr(r, flex, 1);
	if (r->err || n < 0)
		return SL_EPROTO;
	kstr_t *keys = calloc((size_t)n + 1, sizeof *keys);
	if (!keys)
		abort();
	for (int32_t i = 0; i < n; i++)
		keys[i] = kr_str(r, flex);
	kr_tags(r, flex);
	for (int32_t i = 0; i < n && !r->err; i++)
		if (keys[i].len < 0)
			rd_fail(r);
	if (r->err) {
		free(keys);
		return SL_EPROTO;
	}
	const char *msg;
	int16_t err = key_error(type, &msg);
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, flex, n);
	for (int32_t i = 0; i < n; i++) {
		int16_t e = err ? err : kafka_authz_coordinator(rq, type, keys[i]);
		kw_kstr(b, flex, keys[i]);
		kw_i32(b, e ? -1 : KAFKA_NODE_ID);
		kw_str(b, flex, e ? "" : host);
		kw_i32(b, e ? -1 : port);
		kw_i16(b, e);
		kw_str(b, flex, msg);
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	free(keys);
	return 0;
}

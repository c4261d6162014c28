/*
 * h_CreateTopics.c — CreateTopics (key 19), v1–7.
 *
 * NumPartitions / ReplicationFactor -1 mean the server defaults (v4+).
 * sluice is one node: a replication factor other than 1 (or -1) gets
 * INVALID_REPLICATION_FACTOR, and manual assignments may only name node 1.
 * v5+ answers with the topic's effective configuration; v7 with its id.
 * A topic is created only once its record is durable (broker/topic.h); if
 * the disk fails it is not created and answers KAFKA_STORAGE_ERROR, which
 * clients report to the application. Loop thread.
 */
#include "proto/kafka/kafka.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_CONFIGS 256

/* Writes a v5+ config list (CreatableTopicConfigs) for t. */
static void write_configs(kafka_srv_t *srv, buf_t *b, int flex, const topic_t *t)
{
	int n = 0;
	while (topics_config_key(n))
		n++;
	kw_arr(b, flex, n);
	for (int i = 0; i < n; i++) {
		const char *k = topics_config_key(i);
		char tmp[64];
		int dflt;
		const char *val = topics_config_value(srv->topics, t, k, &dflt, tmp, sizeof tmp);
		kw_str(b, flex, k);
		kw_str(b, flex, val);
		kw_bool(b, 0);          /* ReadOnly */
		kw_i8(b, dflt ? 5 : 1); /* DEFAULT_CONFIG / DYNAMIC_TOPIC_CONFIG */
		kw_bool(b, 0);          /* IsSensitive */
		kw_tags(b, flex);
	}
}

static char *zdup(kstr_t s)
{
	char *z = strndup(s.len > 0 ? s.p : "", s.len > 0 ? (size_t)s.len : 0);
	if (!z)
		abort();
	return z;
}

int kafka_h_CreateTopics(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	int32_t nt = kr_arr(r, flex, 10);
	rd_t tr = *r;
	for (int32_t i = 0; i < nt && !r->err; i++) {
		(void)kr_str(r, flex);
		(void)kr_i32(r);
		(void)kr_i16(r);
		int32_t na = kr_arr(r, flex, 5);
		for (int32_t a = 0; a < na && !r->err; a++) {
			(void)kr_i32(r);
			int32_t nb = kr_arr(r, flex, 4);
			rd_skip(r, nb > 0 ? (size_t)nb * 4 : 0);
			kr_tags(r, flex);
		}
		int32_t nc = kr_arr(r, flex, 2);
		for (int32_t c = 0; c < nc && !r->err; c++) {
			(void)kr_str(r, flex);
			(void)kr_str(r, flex);
			kr_tags(r, flex);
		}
		kr_tags(r, flex);
	}
	(void)kr_i32(r); /* timeoutMs */
	int validate_only = kr_i8(r) != 0;
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
		int32_t np = kr_i32(&tr);
		int16_t rf = kr_i16(&tr);
		int16_t err = KERR_NONE;
		const char *msg = NULL;
		int32_t na = kr_arr(&tr, flex, 5);
		for (int32_t a = 0; a < na; a++) {
			(void)kr_i32(&tr);
			int32_t nb = kr_arr(&tr, flex, 4);
			for (int32_t k = 0; k < nb; k++)
				if (kr_i32(&tr) != KAFKA_NODE_ID)
					err = KERR_INVALID_REPLICA_ASSIGNMENT;
			if (nb != 1)
				err = KERR_INVALID_REPLICA_ASSIGNMENT;
			kr_tags(&tr, flex);
		}
		int32_t nc = kr_arr(&tr, flex, 2);
		topic_kv_t cfg[MAX_CONFIGS];
		int ncfg = 0;
		for (int32_t c = 0; c < nc; c++) {
			kstr_t k = kr_str(&tr, flex), val = kr_str(&tr, flex);
			kr_tags(&tr, flex);
			if (ncfg == MAX_CONFIGS) {
				err = KERR_INVALID_CONFIG;
				continue;
			}
			cfg[ncfg].key = zdup(k);
			cfg[ncfg].value = val.len < 0 ? NULL : zdup(val);
			ncfg++;
		}
		kr_tags(&tr, flex);
		if (na > 0) {
			if (np != -1 && np != na)
				err = KERR_INVALID_REQUEST;
			np = na;
		}
		if (np == -1)
			np = (int32_t)rq->srv->b->cfg->num_partitions;
		if (!err && rf != -1 && rf != 1) {
			err = KERR_INVALID_REPLICATION_FACTOR;
			msg = "sluice is a single node: replication factor must be 1";
		}
		if (!err && (np < 1 || np > TOPIC_MAX_PARTITIONS))
			err = KERR_INVALID_PARTITIONS;
		if (!err && (name.len < 0 || !topics_name_valid(name.p, (size_t)name.len)))
			err = KERR_INVALID_TOPIC_EXCEPTION;
		if (!err)
			err = kafka_authz_create_topic(rq, name);
		for (int c = 0; c < ncfg && !err; c++) {
			if (topics_config_check(cfg[c].key, cfg[c].value) < 0) {
				err = KERR_INVALID_CONFIG;
				msg = "unknown or unsupported topic config";
			}
		}
		topic_t *t = NULL;
		if (!err) {
			t = topics_find(rq->srv->topics, name.p, (size_t)name.len);
			if (t) {
				err = KERR_TOPIC_ALREADY_EXISTS;
				t = NULL;
			}
		}
		if (!err && !validate_only) {
			char z[TOPIC_NAME_MAX + 1];
			snprintf(z, sizeof z, "%.*s", (int)name.len, name.p);
			int rc = topics_create(rq->srv->topics, z, np, cfg, ncfg, &t);
			err = kafka_err_from_create(rc);
			if (err == KERR_KAFKA_STORAGE_ERROR)
				msg = "storage failure: the topic could not be made durable and "
				      "was not created";
		}
		for (int c = 0; c < ncfg; c++) {
			free(cfg[c].key);
			free(cfg[c].value);
		}
		kw_kstr(b, flex, name);
		if (v >= 7)
			kw_uuid(b, t ? t->id : NULL);
		kw_i16(b, err);
		kw_str(b, flex, err ? msg : NULL);
		if (v >= 5) {
			kw_i32(b, err ? -1 : np);
			kw_i16(b, err ? -1 : 1);
			if (err)
				kw_arr(b, flex, -1);
			else
				write_configs(rq->srv, b, flex, t);
		}
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

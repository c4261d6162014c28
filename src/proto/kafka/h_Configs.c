/*
 * h_Configs.c — DescribeConfigs (key 32, v0–4), AlterConfigs (key 33,
 * v0–2) and IncrementalAlterConfigs (key 44, v0–1) for topic configs.
 *
 * Topic resources (type 2) list every topic config sluice knows (topic.c)
 * with its effective value; overrides are DYNAMIC_TOPIC_CONFIG (source 1),
 * the rest DEFAULT_CONFIG (5). The broker resource (type 4) is described
 * read-only from the server settings and cannot be altered. AlterConfigs
 * replaces a topic's whole override set, as in Kafka; the incremental form
 * supports SET, DELETE, and APPEND/SUBTRACT on list-valued configs
 * (cleanup.policy): items added to or removed from the effective value,
 * which then becomes an override (other keys answer INVALID_CONFIG, as
 * Kafka). A resource's changes are one
 * write-ahead commit (topics_set_configs): should the disk fail, none is
 * applied and the resource answers KAFKA_STORAGE_ERROR. Loop thread.
 */
#include "proto/kafka/kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RES_TOPIC = 2, RES_BROKER = 4 };
enum { SRC_DYNAMIC_TOPIC = 1, SRC_STATIC_BROKER = 4, SRC_DEFAULT = 5 };
enum { TYPE_STRING = 2, TYPE_LONG = 5, TYPE_BOOLEAN = 1, TYPE_DOUBLE = 6, TYPE_LIST = 7 };
enum { OP_SET = 0, OP_DELETE = 1, OP_APPEND = 2, OP_SUBTRACT = 3 };

static int wanted(rd_t keys, int32_t nkeys, int flex, const char *name)
{
	if (nkeys < 0)
		return 1;
	for (int32_t i = 0; i < nkeys; i++)
		if (kstr_eq(kr_str(&keys, flex), name))
			return 1;
	return 0;
}

static void write_entry(buf_t *b, int16_t v, int flex, const char *name, const char *value,
                        int read_only, int dflt, int source, int type, int synonyms)
{
	kw_str(b, flex, name);
	kw_str(b, flex, value);
	kw_bool(b, read_only);
	if (v == 0)
		kw_bool(b, dflt);
	else
		kw_i8(b, (int8_t)source);
	kw_bool(b, 0); /* IsSensitive */
	if (v >= 1) {
		int n = synonyms && !dflt ? 1 : 0;
		kw_arr(b, flex, n);
		if (n) {
			kw_str(b, flex, name);
			kw_str(b, flex, value);
			kw_i8(b, (int8_t)source);
			kw_tags(b, flex);
		}
	}
	if (v >= 3) {
		kw_i8(b, (int8_t)type);
		kw_str(b, flex, NULL); /* Documentation */
	}
	kw_tags(b, flex);
}

static void describe_topic(kreq_t *rq, buf_t *b, topic_t *t, rd_t keys, int32_t nkeys, int synonyms)
{
	int16_t v = rq->h.ApiVersion;
	int n = 0;
	for (int i = 0; topics_config_key(i); i++)
		n += wanted(keys, nkeys, rq->flex, topics_config_key(i));
	kw_arr(b, rq->flex, n);
	for (int i = 0; topics_config_key(i); i++) {
		const char *k = topics_config_key(i);
		if (!wanted(keys, nkeys, rq->flex, k))
			continue;
		char tmp[64];
		int dflt;
		const char *val =
		    topics_config_value(rq->srv->topics, t, k, &dflt, tmp, sizeof tmp);
		int type =
		    (val[0] == '-' || (val[0] >= '0' && val[0] <= '9')) ? TYPE_LONG : TYPE_STRING;
		if (type == TYPE_LONG && strchr(val, '.'))
			type = TYPE_DOUBLE;
		else if (topics_config_is_list(k))
			type = TYPE_LIST;
		write_entry(b, v, rq->flex, k, val, 0, dflt, dflt ? SRC_DEFAULT : SRC_DYNAMIC_TOPIC,
		            type, synonyms);
	}
}

static void describe_broker(kreq_t *rq, buf_t *b, rd_t keys, int32_t nkeys, int synonyms)
{
	const sl_config_t *c = rq->srv->b->cfg;
	char vals[8][32];
	const char *names[8] = {"auto.create.topics.enable", "num.partitions",
	                        "message.max.bytes",         "log.retention.ms",
	                        "log.retention.bytes",       "log.segment.bytes",
	                        "socket.request.max.bytes",  "default.replication.factor"};
	snprintf(vals[0], 32, "%s", c->auto_create_topics_enable ? "true" : "false");
	snprintf(vals[1], 32, "%lld", (long long)c->num_partitions);
	snprintf(vals[2], 32, "%lld", (long long)c->message_max_bytes);
	snprintf(vals[3], 32, "%lld", (long long)c->log_retention_ms);
	snprintf(vals[4], 32, "%lld", (long long)c->log_retention_bytes);
	snprintf(vals[5], 32, "%lld", (long long)c->log_segment_bytes);
	snprintf(vals[6], 32, "%lld", (long long)c->socket_request_max_bytes);
	snprintf(vals[7], 32, "1");
	int n = 0;
	for (int i = 0; i < 8; i++)
		n += wanted(keys, nkeys, rq->flex, names[i]);
	kw_arr(b, rq->flex, n);
	for (int i = 0; i < 8; i++)
		if (wanted(keys, nkeys, rq->flex, names[i]))
			write_entry(b, rq->h.ApiVersion, rq->flex, names[i], vals[i], 1, 0,
			            SRC_STATIC_BROKER, i == 0 ? TYPE_BOOLEAN : TYPE_LONG, synonyms);
}

int kafka_h_DescribeConfigs(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	int32_t nres = kr_arr(r, flex, 4);
	rd_t rr = *r;
	for (int32_t i = 0; i < nres && !r->err; i++) {
		(void)kr_i8(r);
		(void)kr_str(r, flex);
		int32_t nk = kr_arr(r, flex, 1);
		for (int32_t k = 0; k < nk && !r->err; k++)
			(void)kr_str(r, flex);
		kr_tags(r, flex);
	}
	int synonyms = v >= 1 ? kr_i8(r) != 0 : 0;
	if (v >= 3)
		(void)kr_i8(r);
	kr_tags(r, flex);
	if (r->err || nres < 0)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, flex, nres);
	for (int32_t i = 0; i < nres; i++) {
		int8_t type = kr_i8(&rr);
		kstr_t name = kr_str(&rr, flex);
		int32_t nk = kr_arr(&rr, flex, 1);
		rd_t keys = rr;
		for (int32_t k = 0; k < nk; k++)
			(void)kr_str(&rr, flex);
		kr_tags(&rr, flex);
		topic_t *t = NULL;
		int16_t err = kafka_authz_configs(rq, type, name, ACL_OP_DESCRIBE_CONFIGS);
		const char *msg = NULL;
		if (!err && type == RES_TOPIC) {
			t = name.len >= 0 ? topics_find(rq->srv->topics, name.p, (size_t)name.len)
			                  : NULL;
			if (!t)
				err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		} else if (!err && type != RES_BROKER) {
			err = KERR_INVALID_REQUEST;
			msg = "only topic and broker resources are supported";
		}
		kw_i16(b, err);
		kw_str(b, flex, msg);
		kw_i8(b, type);
		kw_kstr(b, flex, name);
		if (err)
			kw_arr(b, flex, 0);
		else if (type == RES_TOPIC)
			describe_topic(rq, b, t, keys, nk, synonyms);
		else
			describe_broker(rq, b, keys, nk, synonyms);
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

/* --- altering ---------------------------------------------------------------- */

typedef struct change {
	char *key;
	char *value; /* NULL: delete */
	int8_t op;
} change_t;

#define MAX_CHANGES 256

static char *zdup(kstr_t s)
{
	if (s.len < 0)
		return NULL;
	char *z = strndup(s.p, (size_t)s.len);
	if (!z)
		abort();
	return z;
}

/* Turns an APPEND or SUBTRACT of list items into the SET of the
 * resulting list (the effective value with the items added, in order and
 * once each, or removed). 0, or -1 when the key is not a list. */
static int list_op(kafka_srv_t *srv, topic_t *t, change_t *c)
{
	if (!topics_config_is_list(c->key) || !c->value)
		return -1;
	char tmp[64];
	int dflt;
	const char *cur = topics_config_value(srv->topics, t, c->key, &dflt, tmp, sizeof tmp);
	buf_t out = BUF_INIT;
	const char *src[2] = {cur, c->op == OP_APPEND ? c->value : NULL};
	for (int s = 0; s < 2; s++) {
		for (const char *p = src[s]; p && *p;) {
			while (*p == ' ')
				p++;
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			while (n && p[n - 1] == ' ')
				n--;
			char item[64];
			snprintf(item, sizeof item, "%.*s", (int)(n < 63 ? n : 63), p);
			buf_put_u8(&out, 0);
			out.end--;
			int have = topics_list_has((const char *)buf_data(&out), item);
			int drop = c->op == OP_SUBTRACT && topics_list_has(c->value, item);
			if (n && !have && !drop)
				buf_printf(&out, "%s%s", buf_len(&out) ? "," : "", item);
			p = comma ? comma + 1 : NULL;
		}
	}
	buf_put_u8(&out, 0);
	free(c->value);
	c->value = strdup((const char *)buf_data(&out));
	if (!c->value)
		abort();
	buf_deinit(&out);
	c->op = OP_SET;
	return 0;
}

/* Applies changes to topic t. incremental: ops are SET / DELETE, or APPEND
 * / SUBTRACT on list configs; otherwise the changes replace every
 * override. */
static int16_t apply(kafka_srv_t *srv, topic_t *t, change_t *ch, int n, int incremental,
                     int validate_only)
{
	for (int i = 0; i < n; i++) {
		if (incremental && (ch[i].op == OP_APPEND || ch[i].op == OP_SUBTRACT) &&
		    list_op(srv, t, &ch[i]) < 0)
			return KERR_INVALID_CONFIG;
		if (incremental && ch[i].op != OP_SET && ch[i].op != OP_DELETE)
			return KERR_INVALID_CONFIG;
		const char *val = (incremental && ch[i].op == 1) ? NULL : ch[i].value;
		if (topics_config_check(ch[i].key, val) < 0)
			return KERR_INVALID_CONFIG;
	}
	if (validate_only)
		return KERR_NONE;
	/* One commit for the whole resource: all of it applies, or (on a
	 * storage failure) none of it. */
	topic_kv_t kv[MAX_CHANGES + 16];
	int nkv = 0;
	if (!incremental) {
		/* Remove overrides the new set does not mention. */
		for (int k = 0; topics_config_key(k); k++) {
			const char *key = topics_config_key(k);
			int keep = 0;
			for (int i = 0; i < n; i++)
				keep |= strcmp(ch[i].key, key) == 0;
			if (!keep && topic_config(t, key) && nkv < MAX_CHANGES + 16)
				kv[nkv++] = (topic_kv_t){(char *)key, NULL};
		}
	}
	for (int i = 0; i < n && nkv < MAX_CHANGES + 16; i++)
		kv[nkv++] =
		    (topic_kv_t){ch[i].key, (incremental && ch[i].op == 1) ? NULL : ch[i].value};
	int rc = topics_set_configs(srv->topics, t, kv, nkv);
	if (rc < 0)
		return rc == SL_EINVAL || rc == SL_ENOENT ? KERR_INVALID_CONFIG
		                                          : kafka_err_from_sl(rc);
	return KERR_NONE;
}

static int alter(kreq_t *rq, int incremental)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	int32_t nres = kr_arr(r, flex, 4);
	rd_t rr = *r;
	for (int32_t i = 0; i < nres && !r->err; i++) {
		(void)kr_i8(r);
		(void)kr_str(r, flex);
		int32_t nc = kr_arr(r, flex, 3);
		for (int32_t k = 0; k < nc && !r->err; k++) {
			(void)kr_str(r, flex);
			if (incremental)
				(void)kr_i8(r);
			(void)kr_str(r, flex);
			kr_tags(r, flex);
		}
		kr_tags(r, flex);
	}
	int validate_only = kr_i8(r) != 0;
	kr_tags(r, flex);
	if (r->err || nres < 0)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, flex, nres);
	for (int32_t i = 0; i < nres; i++) {
		int8_t type = kr_i8(&rr);
		kstr_t name = kr_str(&rr, flex);
		int32_t nc = kr_arr(&rr, flex, 3);
		change_t ch[MAX_CHANGES];
		int n = 0;
		int16_t err = KERR_NONE;
		for (int32_t k = 0; k < nc; k++) {
			kstr_t key = kr_str(&rr, flex);
			int8_t op = incremental ? kr_i8(&rr) : 0;
			kstr_t val = kr_str(&rr, flex);
			kr_tags(&rr, flex);
			if (n == MAX_CHANGES || key.len < 0) {
				err = KERR_INVALID_CONFIG;
				continue;
			}
			ch[n].key = zdup(key);
			ch[n].value = zdup(val);
			ch[n].op = op;
			n++;
		}
		kr_tags(&rr, flex);
		const char *msg = NULL;
		if (!err)
			err = kafka_authz_configs(rq, type, name, ACL_OP_ALTER_CONFIGS);
		if (!err) {
			if (type == RES_TOPIC) {
				topic_t *t = name.len >= 0 ? topics_find(rq->srv->topics, name.p,
				                                         (size_t)name.len)
				                           : NULL;
				if (!t)
					err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				else
					err = apply(rq->srv, t, ch, n, incremental, validate_only);
				if (err == KERR_KAFKA_STORAGE_ERROR)
					msg =
					    "storage failure: the change could not be made durable "
					    "and was not applied";
			} else {
				err = KERR_INVALID_REQUEST;
				msg = "only topic configs can be altered";
			}
		}
		for (int k = 0; k < n; k++) {
			free(ch[k].key);
			free(ch[k].value);
		}
		kw_i16(b, err);
		kw_str(b, flex, msg);
		kw_i8(b, type);
		kw_kstr(b, flex, name);
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

int kafka_h_AlterConfigs(kreq_t *rq)
{
	return alter(rq, 0);
}
int kafka_h_IncrementalAlterConfigs(kreq_t *rq)
{
	return alter(rq, 1);
}

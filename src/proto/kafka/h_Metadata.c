/*
 * h_Metadata.c — Metadata (key 3), v0–12, and topic auto-creation.
 *
 * sluice is one node: node 1 is the controller and the leader (and only
 * replica) of every partition, advertised at advertised.host and the port
 * the client connected to. Topic list semantics: v0 empty = all topics;
 * v1+ null = all, empty = none. Auto-creation needs
 * auto.create.topics.enable and, from v4, the request's
 * AllowAutoTopicCreation. v10+ carries topic ids; v12 may ask by id alone.
 * Loop thread.
 */
#include "proto/kafka/kafka.h"

#include <stdio.h>

topic_t *kafka_topic_get(kafka_srv_t *srv, kstr_t name, int allow_create, int16_t *err)
{
	*err = KERR_NONE;
	if (name.len < 0 || !topics_name_valid(name.p, (size_t)name.len)) {
		*err = KERR_INVALID_TOPIC_EXCEPTION;
		return NULL;
	}
	topic_t *t = topics_find(srv->topics, name.p, (size_t)name.len);
	if (t)
		return t;
	if (!allow_create || !srv->b->cfg->auto_create_topics_enable) {
		*err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		return NULL;
	}
	char z[TOPIC_NAME_MAX + 1];
	memcpy(z, name.p, (size_t)name.len);
	z[name.len] = 0;
	int rc = topics_create(srv->topics, z, (int32_t)srv->b->cfg->num_partitions, NULL, 0, &t);
	if (rc == SL_EIO || rc == SL_ENOSPC || rc == SL_EMFILE) {
		/* Nothing was created. As Kafka answers a topic whose creation
		 * is under way: retriable, so the client asks again (and the
		 * creation is tried again) without failing its messages. */
		*err = KERR_LEADER_NOT_AVAILABLE;
		return NULL;
	}
	if (rc < 0) {
		*err = rc == SL_EEXIST ? KERR_NONE : kafka_err_from_sl(rc);
		return topics_find(srv->topics, name.p, (size_t)name.len);
	}
	return t;
}

static topic_t *find_by_id(kafka_srv_t *srv, const uint8_t *id)
{
	size_t it = 0;
	topic_t *t;
	while ((t = topics_next(srv->topics, &it)))
		if (memcmp(t->id, id, 16) == 0)
			return t;
	return NULL;
}

static void write_topic(buf_t *b, int16_t v, int flex, int16_t err, kstr_t name, const topic_t *t)
{
	kw_i16(b, err);
	if (t)
		kw_str(b, flex, t->name);
	else
		kw_kstr(b, flex, name);
	if (v >= 10)
		kw_uuid(b, t ? t->id : NULL);
	if (v >= 1)
		kw_bool(b, 0); /* IsInternal */
	int32_t np = t ? t->npart : 0;
	kw_arr(b, flex, np);
	for (int32_t i = 0; i < np; i++) {
		kw_i16(b, KERR_NONE);
		kw_i32(b, i);
		kw_i32(b, KAFKA_NODE_ID);
		if (v >= 7)
			kw_i32(b, 0); /* LeaderEpoch */
		kw_arr(b, flex, 1);
		kw_i32(b, KAFKA_NODE_ID);
		kw_arr(b, flex, 1);
		kw_i32(b, KAFKA_NODE_ID);
		if (v >= 5)
			kw_arr(b, flex, 0);
		kw_tags(b, flex);
	}
	if (v >= 8)
		kw_i32(b, INT32_MIN); /* TopicAuthorizedOperations: not computed */
	kw_tags(b, flex);
}

int kafka_h_Metadata(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	int32_t n = kr_arr(r, flex, v >= 10 ? 17 : 2);
	rd_t topics_r = *r;
	for (int32_t i = 0; i < n && !r->err; i++) {
		if (v >= 10)
			(void)kr_uuid(r);
		(void)kr_str(r, flex);
		kr_tags(r, flex);
	}
	int allow_auto = 1;
	if (v >= 4)
		allow_auto = kr_i8(r) != 0;
	if (v >= 8 && v <= 10)
		(void)kr_i8(r);
	if (v >= 8)
		(void)kr_i8(r);
	kr_tags(r, flex);
	if (r->err)
		return SL_EPROTO;
	int all = n < 0 || (v == 0 && n == 0);

	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	if (v >= 3)
		kw_i32(b, 0);
	kw_arr(b, flex, 1);
	kw_i32(b, KAFKA_NODE_ID);
	kw_str(b, flex, rq->srv->b->cfg->advertised_host);
	kw_i32(b, kafka_advertised_port(rq));
	if (v >= 1)
		kw_str(b, flex, NULL); /* Rack */
	kw_tags(b, flex);
	if (v >= 2)
		kw_str(b, flex, topics_cluster_id(rq->srv->topics));
	if (v >= 1)
		kw_i32(b, KAFKA_NODE_ID);
	if (all) {
		kw_arr(b, flex, kafka_authz_described_topics(rq));
		size_t it = 0;
		topic_t *t;
		while ((t = topics_next(rq->srv->topics, &it)))
			if (kafka_authz(rq, ACL_RES_TOPIC, t->name, strlen(t->name),
			                ACL_OP_DESCRIBE))
				write_topic(b, v, flex, KERR_NONE, KSTR_NULL, t);
	} else {
		kw_arr(b, flex, n);
		for (int32_t i = 0; i < n; i++) {
			const uint8_t *id = v >= 10 ? kr_uuid(&topics_r) : NULL;
			kstr_t name = kr_str(&topics_r, flex);
			kr_tags(&topics_r, flex);
			int16_t err;
			topic_t *t;
			if (name.len < 0 && id) {
				t = find_by_id(rq->srv, id);
				err = t ? KERR_NONE : KERR_UNKNOWN_TOPIC_ID;
			} else {
				t = kafka_authz_metadata_topic(rq, name, allow_auto, &err);
			}
			write_topic(b, v, flex, err, name, t);
		}
	}
	if (v >= 8 && v <= 10)
		kw_i32(b, INT32_MIN); /* ClusterAuthorizedOperations */
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

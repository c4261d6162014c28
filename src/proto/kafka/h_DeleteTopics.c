/*
 * h_DeleteTopics.c — DeleteTopics (key 20), v1–6 (v6 names topics by name
 * or by id). Parked fetches on a deleted topic answer it as unknown when
 * they wake. A topic is deleted only once the deletion is durable; if the
 * disk fails it is kept and answers KAFKA_STORAGE_ERROR. The groups' offsets
 * of a deleted topic are removed through the coordinator's own journal
 * (grp_topic_deleted). Loop thread.
 */
#include "broker/group.h"
#include "proto/kafka/kafka.h"

#include <stdio.h>

static topic_t *by_id(kafka_srv_t *srv, const uint8_t *id)
{
	size_t it = 0;
	topic_t *t;
	while ((t = topics_next(srv->topics, &it)))
		if (memcmp(t->id, id, 16) == 0)
			return t;
	return NULL;
}

static void delete_one(kreq_t *rq, buf_t *b, kstr_t name, const uint8_t *id)
{
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	static const uint8_t zero[16];
	topic_t *t = NULL;
	int16_t err = KERR_NONE;
	if (name.len >= 0)
		t = topics_find(rq->srv->topics, name.p, (size_t)name.len);
	else if (id && memcmp(id, zero, 16) != 0)
		t = by_id(rq->srv, id);
	if (!t)
		err = name.len >= 0 ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_UNKNOWN_TOPIC_ID;
	if (t || name.len >= 0)
		t = kafka_authz_topic_or_null(
		    rq, t ? (kstr_t){t->name, (int32_t)strlen(t->name)} : name, ACL_OP_DELETE, t,
		    &err);
	char z[TOPIC_NAME_MAX + 1] = "";
	uint8_t tid[16] = {0};
	if (t) {
		snprintf(z, sizeof z, "%s", t->name);
		memcpy(tid, t->id, 16);
		err = kafka_err_from_sl(topics_delete(rq->srv->topics, z));
		if (err == KERR_NONE && rq->srv->groups)
			grp_topic_deleted(rq->srv->groups, grp_s(z));
	}
	if (t)
		kw_str(b, flex, z);
	else
		kw_kstr(b, flex, name);
	if (v >= 6)
		kw_uuid(b, t ? tid : id);
	kw_i16(b, err);
	if (v >= 5)
		kw_str(b, flex,
		       err == KERR_KAFKA_STORAGE_ERROR
		           ? "storage failure: the deletion could not be made durable; the "
		             "topic is kept"
		           : NULL);
	kw_tags(b, flex);
}

int kafka_h_DeleteTopics(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	int32_t nt = kr_arr(r, flex, v >= 6 ? 17 : 1);
	rd_t tr = *r;
	for (int32_t i = 0; i < nt && !r->err; i++) {
		(void)kr_str(r, flex);
		if (v >= 6) {
			(void)kr_uuid(r);
			kr_tags(r, flex);
		}
	}
	(void)kr_i32(r);
	kr_tags(r, flex);
	if (r->err || nt < 0)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, flex, nt);
	for (int32_t i = 0; i < nt; i++) {
		kstr_t name = kr_str(&tr, flex);
		const uint8_t *id = NULL;
		if (v >= 6) {
			id = kr_uuid(&tr);
			kr_tags(&tr, flex);
		}
		delete_one(rq, b, name, id);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	return 0;
}

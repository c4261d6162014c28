/*
 * h_JoinGroup.c — the group membership APIs: JoinGroup (key 11, v0–9),
 * SyncGroup (14, v0–5), Heartbeat (12, v0–4), LeaveGroup (13, v0–5);
 * plus the coordinator's lifecycle with the front and the one mapping of
 * coordinator results to Kafka error codes.
 *
 * JoinGroup and SyncGroup are long polls: the coordinator (broker/group.h)
 * answers them through a callback, possibly much later. A reply that is not
 * ready when the handler returns goes into a hold opened when it parks, so
 * the responses to requests pipelined behind it stay in order while they
 * are processed. The hold keeps a reference on the connection; a
 * connection that closes meanwhile just discards the late reply.
 *
 * Every reply goes through the coordinator's durability domain (kdur.c):
 * under fsync=always it leaves once the group state it reflects is on
 * disk. Should the journal fail first, its ErrorCode fields become
 * NOT_COORDINATOR, Kafka's answer to a coordinator storage failure, and the
 * members rejoin. Loop thread only.
 */
#include "broker/group.h"
#include "proto/kafka/kafka.h"

#include <stdlib.h>
#include <string.h>

int16_t kafka_err_from_grp(int e)
{
	switch ((grp_err_t)e) {
	case GRP_ERR_OK:
		return 0;
	case GRP_ERR_OFFSET_METADATA_TOO_LARGE:
		return 12;
	case GRP_ERR_COORDINATOR_NOT_AVAILABLE:
		return 15;
	case GRP_ERR_STORAGE_ERROR:
		/* Kafka's GroupMetadataManager answers a storage failure with
		 * NOT_COORDINATOR: clients find the coordinator again and retry
		 * (a commit, a join), which works once the domain recovered. */
		return KERR_NOT_COORDINATOR;
	case GRP_ERR_ILLEGAL_GENERATION:
		return 22;
	case GRP_ERR_INCONSISTENT_GROUP_PROTOCOL:
		return 23;
	case GRP_ERR_INVALID_GROUP_ID:
		return 24;
	case GRP_ERR_UNKNOWN_MEMBER_ID:
		return 25;
	case GRP_ERR_INVALID_SESSION_TIMEOUT:
		return 26;
	case GRP_ERR_REBALANCE_IN_PROGRESS:
		return 27;
	case GRP_ERR_UNKNOWN_TOPIC_OR_PARTITION:
		return 3;
	case GRP_ERR_NON_EMPTY_GROUP:
		return 68;
	case GRP_ERR_GROUP_ID_NOT_FOUND:
		return 69;
	case GRP_ERR_MEMBER_ID_REQUIRED:
		return 79;
	case GRP_ERR_GROUP_MAX_SIZE_REACHED:
		return 81;
	case GRP_ERR_FENCED_INSTANCE_ID:
		return 82;
	case GRP_ERR_GROUP_SUBSCRIBED_TO_TOPIC:
		return 86;
	case GRP_ERR_GROUP_AUTHORIZATION_FAILED: /* the front's ACL check (authz.c) */
		return KERR_GROUP_AUTHORIZATION_FAILED;
	case GRP_ERR_TOPIC_AUTHORIZATION_FAILED:
		return KERR_TOPIC_AUTHORIZATION_FAILED;
	}
	return 15;
}

static grp_str_t gs(kstr_t k)
{
	grp_str_t s = {k.p, k.len};
	return s;
}

static void w_gs(buf_t *b, int flex, grp_str_t s)
{
	kw_strn(b, flex, s.p, s.len);
}

/* A non-nullable string field: null is written as "". */
static void w_gs_nn(buf_t *b, int flex, grp_str_t s)
{
	kw_strn(b, flex, s.len < 0 ? "" : s.p, s.len < 0 ? 0 : s.len);
}

static void w_bytes(buf_t *b, int flex, grp_str_t s)
{
	int32_t n = s.len < 0 ? 0 : s.len;
	kw_bytes_len(b, flex, n);
	if (n)
		buf_append(b, s.p, (size_t)n);
}

/* --- parked replies -------------------------------------------------------------- */

typedef struct gwait {
	kreq_t *rq;    /* while the handler runs */
	kreq_t saved;  /* header fields for a late reply (no body views) */
	dur_t *dur;    /* the coordinator's domain (the front may stop first) */
	kdur_t k;      /* the reply's hold, once parked */
	int parked;    /* k holds a place in the connection's output */
	buf_t scratch; /* a late reply with no connection to go to */
	int in_call;
	int answered;
} gwait_t;

static gwait_t *gwait_new(kreq_t *rq)
{
	gwait_t *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->rq = rq;
	w->saved = *rq;
	w->saved.h.ClientId = KSTR_NULL;
	w->saved.body = NULL;
	w->saved.body_len = 0;
	w->dur = grp_coord_dur(rq->srv->groups);
	buf_init(&w->scratch);
	w->in_call = 1;
	return w;
}

/* Where the reply goes: through the domain while the handler runs, else
 * into the hold opened when the request parked. A connection-less request
 * (the fuzz harness, tests) cannot wait: its caller's buffer is gone by
 * then, so a late reply is dropped. */
static void gwait_begin(gwait_t *w, kdur_t *k)
{
	if (w->in_call) {
		kdur_begin(k, w->rq, w->dur);
	} else if (w->parked) {
		*k = w->k;
	} else {
		memset(k, 0, sizeof *k);
		k->b = &w->scratch;
	}
}

static void gwait_finish(gwait_t *w, kdur_t *k)
{
	kdur_end(k, w->dur, KERR_NOT_COORDINATOR);
	w->answered = 1;
	if (w->in_call)
		return;
	buf_deinit(&w->scratch);
	free(w);
}

/* After the coordinator call: frees an answered wait, or parks it. */
static void gwait_park(gwait_t *w, kreq_t *rq)
{
	w->in_call = 0;
	w->rq = NULL;
	if (w->answered) {
		buf_deinit(&w->scratch);
		free(w);
		return;
	}
	if (rq->c && !rq->out) {
		kdur_hold(&w->k, rq->c);
		w->parked = 1;
	}
}

/* --- JoinGroup ----------------------------------------------------------------------- */

static void join_reply(void *arg, const grp_join_res_t *res)
{
	gwait_t *w = arg;
	const kreq_t *rq = &w->saved;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	kdur_t k;
	gwait_begin(w, &k);
	buf_t *b = k.b;
	size_t mark = kafka_reply_begin(rq, b);
	if (v >= 2)
		kw_i32(b, 0);
	kdur_err(&k, kafka_err_from_grp(res->err));
	kw_i32(b, res->generation);
	if (v >= 7) {
		w_gs(b, flex, res->protocol_type);
		w_gs(b, flex, res->protocol_name);
	} else {
		w_gs_nn(b, flex, res->protocol_name);
	}
	w_gs_nn(b, flex, res->leader_id);
	if (v >= 9)
		kw_bool(b, res->skip_assignment);
	w_gs_nn(b, flex, res->member_id);
	kw_arr(b, flex, (int32_t)res->nmembers);
	for (size_t i = 0; i < res->nmembers; i++) {
		w_gs_nn(b, flex, res->members[i].member_id);
		if (v >= 5)
			w_gs(b, flex, res->members[i].instance_id);
		w_bytes(b, flex, res->members[i].meta);
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	gwait_finish(w, &k);
}

static const char *peer_host(const kreq_t *rq, char *buf, size_t n)
{
	/* Kafka reports the client address as "/host". */
	if (!rq->c) {
		snprintf(buf, n, "/127.0.0.1");
		return buf;
	}
	const char *p = rq->c->peer;
	const char *colon = strrchr(p, ':');
	int len = colon ? (int)(colon - p) : (int)strlen(p);
	snprintf(buf, n, "/%.*s", len, p);
	return buf;
}

int kafka_h_JoinGroup(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	grp_join_req_t req;
	memset(&req, 0, sizeof req);
	req.group_id = gs(kr_str(r, flex));
	req.session_timeout_ms = kr_i32(r);
	req.rebalance_timeout_ms = v >= 1 ? kr_i32(r) : -1;
	req.member_id = gs(kr_str(r, flex));
	req.instance_id = v >= 5 ? gs(kr_str(r, flex)) : GRP_NULL;
	req.protocol_type = gs(kr_str(r, flex));
	int32_t n = kr_arr(r, flex, flex ? 3 : 6);
	if (r->err || n < 0)
		return SL_EPROTO;
	grp_protocol_t *protos = calloc((size_t)n + 1, sizeof *protos);
	if (!protos)
		abort();
	for (int32_t i = 0; i < n; i++) {
		protos[i].name = gs(kr_str(r, flex));
		protos[i].meta = gs(kr_bytes(r, flex));
		kr_tags(r, flex);
	}
	req.reason = v >= 8 ? gs(kr_str(r, flex)) : GRP_NULL;
	kr_tags(r, flex);
	if (r->err || req.group_id.len < 0 || req.member_id.len < 0 || req.protocol_type.len < 0) {
		free(protos);
		return SL_EPROTO;
	}
	req.protocols = protos;
	req.nprotocols = (size_t)n;
	req.client_id = gs(rq->h.ClientId);
	char host[80];
	req.client_host = grp_s(peer_host(rq, host, sizeof host));
	req.require_known_member_id = v >= 4;
	gwait_t *w = gwait_new(rq);
	if (kafka_authz_grp(rq, req.group_id.p, req.group_id.len, ACL_OP_READ))
		join_reply(w, &(grp_join_res_t){GRP_ERR_GROUP_AUTHORIZATION_FAILED, -1, GRP_NULL,
		                                GRP_NULL, grp_s(""), req.member_id, 0, NULL, 0});
	else
		grp_join(rq->srv->groups, &req, join_reply, w);
	free(protos);
	gwait_park(w, rq);
	return 0;
}

/* --- SyncGroup ------------------------------------------------------------------------ */

static void sync_reply(void *arg, const grp_sync_res_t *res)
{
	gwait_t *w = arg;
	const kreq_t *rq = &w->saved;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	kdur_t k;
	gwait_begin(w, &k);
	buf_t *b = k.b;
	size_t mark = kafka_reply_begin(rq, b);
	if (v >= 1)
		kw_i32(b, 0);
	kdur_err(&k, kafka_err_from_grp(res->err));
	if (v >= 5) {
		w_gs(b, flex, res->protocol_type);
		w_gs(b, flex, res->protocol_name);
	}
	w_bytes(b, flex, res->assignment);
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	gwait_finish(w, &k);
}

int kafka_h_SyncGroup(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	grp_sync_req_t req;
	memset(&req, 0, sizeof req);
	req.group_id = gs(kr_str(r, flex));
	req.generation = kr_i32(r);
	req.member_id = gs(kr_str(r, flex));
	req.instance_id = v >= 3 ? gs(kr_str(r, flex)) : GRP_NULL;
	req.protocol_type = v >= 5 ? gs(kr_str(r, flex)) : GRP_NULL;
	req.protocol_name = v >= 5 ? gs(kr_str(r, flex)) : GRP_NULL;
	int32_t n = kr_arr(r, flex, flex ? 3 : 6);
	if (r->err || n < 0)
		return SL_EPROTO;
	grp_assignment_t *a = calloc((size_t)n + 1, sizeof *a);
	if (!a)
		abort();
	for (int32_t i = 0; i < n; i++) {
		a[i].member_id = gs(kr_str(r, flex));
		a[i].assignment = gs(kr_bytes(r, flex));
		kr_tags(r, flex);
	}
	kr_tags(r, flex);
	if (r->err || req.group_id.len < 0 || req.member_id.len < 0) {
		free(a);
		return SL_EPROTO;
	}
	req.assignments = a;
	req.nassignments = (size_t)n;
	gwait_t *w = gwait_new(rq);
	if (kafka_authz_grp(rq, req.group_id.p, req.group_id.len, ACL_OP_READ))
		sync_reply(w, &(grp_sync_res_t){GRP_ERR_GROUP_AUTHORIZATION_FAILED, GRP_NULL,
		                                GRP_NULL, GRP_NULL});
	else
		grp_sync(rq->srv->groups, &req, sync_reply, w);
	free(a);
	gwait_park(w, rq);
	return 0;
}

/* --- Heartbeat ------------------------------------------------------------------------ */

int kafka_h_Heartbeat(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	grp_str_t group = gs(kr_str(r, flex));
	int32_t gen = kr_i32(r);
	grp_str_t member = gs(kr_str(r, flex));
	grp_str_t instance = v >= 3 ? gs(kr_str(r, flex)) : GRP_NULL;
	kr_tags(r, flex);
	if (r->err || group.len < 0 || member.len < 0)
		return SL_EPROTO;
	grp_err_t e = kafka_authz_grp(rq, group.p, group.len, ACL_OP_READ);
	if (!e)
		e = grp_heartbeat(rq->srv->groups, group, member, instance, gen);
	dur_t *d = grp_coord_dur(rq->srv->groups);
	kdur_t k;
	kdur_begin(&k, rq, d);
	size_t mark = kafka_reply_begin(rq, k.b);
	if (v >= 1)
		kw_i32(k.b, 0);
	kdur_err(&k, kafka_err_from_grp(e));
	kw_tags(k.b, flex);
	kafka_reply_end(k.b, mark);
	kdur_end(&k, d, KERR_NOT_COORDINATOR);
	return 0;
}

/* --- LeaveGroup ----------------------------------------------------------------------- */

int kafka_h_LeaveGroup(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	grp_str_t group = gs(kr_str(r, flex));
	grp_leave_member_t *ms;
	int32_t n = 1;
	if (v <= 2) {
		ms = calloc(1, sizeof *ms);
		if (!ms)
			abort();
		ms[0].member_id = gs(kr_str(r, flex));
		ms[0].instance_id = GRP_NULL;
		ms[0].reason = GRP_NULL;
	} else {
		n = kr_arr(r, flex, flex ? 3 : 4);
		if (r->err || n < 0)
			return SL_EPROTO;
		ms = calloc((size_t)n + 1, sizeof *ms);
		if (!ms)
			abort();
		for (int32_t i = 0; i < n; i++) {
			ms[i].member_id = gs(kr_str(r, flex));
			ms[i].instance_id = gs(kr_str(r, flex));
			ms[i].reason = v >= 5 ? gs(kr_str(r, flex)) : GRP_NULL;
			kr_tags(r, flex);
			if (ms[i].member_id.len < 0)
				rd_fail(r);
		}
	}
	kr_tags(r, flex);
	if (r->err || group.len < 0 || (v <= 2 && ms[0].member_id.len < 0)) {
		free(ms);
		return SL_EPROTO;
	}
	grp_err_t top = kafka_authz_grp(rq, group.p, group.len, ACL_OP_READ);
	if (!top)
		top = grp_leave(rq->srv->groups, group, ms, (size_t)n);
	dur_t *d = grp_coord_dur(rq->srv->groups);
	kdur_t k;
	kdur_begin(&k, rq, d);
	buf_t *b = k.b;
	size_t mark = kafka_reply_begin(rq, b);
	if (v >= 1)
		kw_i32(b, 0);
	/* v0–2 carry one member: its result is the request's. */
	if (v <= 2 && top == GRP_ERR_OK)
		top = ms[0].err;
	kdur_err(&k, kafka_err_from_grp(top));
	if (v >= 3) {
		int all = top == GRP_ERR_OK;
		kw_arr(b, flex, all ? n : 0);
		for (int32_t i = 0; all && i < n; i++) {
			w_gs_nn(b, flex, ms[i].member_id);
			w_gs(b, flex, ms[i].instance_id);
			kdur_err(&k, kafka_err_from_grp(ms[i].err));
			kw_tags(b, flex);
		}
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	kdur_end(&k, d, KERR_NOT_COORDINATOR);
	free(ms);
	return 0;
}

/*
 * h_DescribeGroups.c — group administration: DescribeGroups (key 15,
 * v0–5), ListGroups (key 16, v0–4, with the v4 states filter) and
 * DeleteGroups (key 42, v0–2). States use Kafka's names ("Stable",
 * "PreparingRebalance", ...); an unknown group describes as "Dead", as in
 * Kafka. Requests are validated before anything is written. Replies go
 * through the coordinator's durability domain (kdur.c), so under
 * fsync=always they show only state that is on disk, and their ErrorCode
 * fields become NOT_COORDINATOR should the journal fail first (a deletion
 * is then undone by the domain's reload). Loop thread.
 */
#include "broker/group.h"
#include "proto/kafka/kafka.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static grp_str_t gs(kstr_t k)
{
	grp_str_t s = {k.p, k.len};
	return s;
}

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

/* Reads a []string into an owned array of views (NULL on a bad request). */
static kstr_t *read_strings(rd_t *r, int flex, int32_t *n)
{
	*n = kr_arr(r, flex, flex ? 1 : 2);
	if (r->err || *n < 0)
		return NULL;
	kstr_t *v = calloc((size_t)*n + 1, sizeof *v);
	if (!v)
		abort();
	for (int32_t i = 0; i < *n; i++) {
		v[i] = kr_str(r, flex);
		if (v[i].len < 0)
			rd_fail(r);
	}
	if (r->err) {
		free(v);
		return NULL;
	}
	return v;
}

int kafka_h_DescribeGroups(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	int32_t n;
	kstr_t *ids = read_strings(r, flex, &n);
	if (!ids)
		return SL_EPROTO;
	if (v >= 3)
		(void)kr_i8(r); /* IncludeAuthorizedOperations */
	kr_tags(r, flex);
	if (r->err) {
		free(ids);
		return SL_EPROTO;
	}
	dur_t *dd = grp_coord_dur(rq->srv->groups);
	kdur_t kd;
	kdur_begin(&kd, rq, dd);
	buf_t *b = kd.b;
	size_t mark = kafka_reply_begin(rq, b);
	if (v >= 1)
		kw_i32(b, 0);
	kw_arr(b, flex, n);
	for (int32_t i = 0; i < n; i++) {
		grp_desc_t d = {0};
		grp_err_t e = kafka_authz_grp(rq, ids[i].p, ids[i].len, ACL_OP_DESCRIBE);
		if (!e)
			e = grp_describe(rq->srv->groups, gs(ids[i]), &d);
		kdur_err(&kd, kafka_err_from_grp(e));
		kw_kstr(b, flex, ids[i]);
		kw_str(b, flex, e ? "" : grp_state_name(d.state));
		w_gs_nn(b, flex, d.protocol_type);
		w_gs_nn(b, flex, d.protocol_name);
		kw_arr(b, flex, (int32_t)d.nmembers);
		for (size_t k = 0; k < d.nmembers; k++) {
			const grp_member_desc_t *m = &d.members[k];
			w_gs_nn(b, flex, m->member_id);
			if (v >= 4)
				kw_strn(b, flex, m->instance_id.p, m->instance_id.len);
			w_gs_nn(b, flex, m->client_id);
			w_gs_nn(b, flex, m->client_host);
			w_bytes(b, flex, m->meta);
			w_bytes(b, flex, m->assignment);
			kw_tags(b, flex);
		}
		if (v >= 3)
			kw_i32(b, INT32_MIN); /* authorized operations: not computed */
		kw_tags(b, flex);
		grp_desc_free(&d);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	kdur_end(&kd, dd, KERR_NOT_COORDINATOR);
	free(ids);
	return 0;
}

int kafka_h_ListGroups(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	int32_t nf = 0;
	kstr_t *filter = NULL;
	if (v >= 4) {
		filter = read_strings(r, flex, &nf);
		if (!filter)
			return SL_EPROTO;
	}
	kr_tags(r, flex);
	if (r->err) {
		free(filter);
		return SL_EPROTO;
	}
	size_t n;
	grp_listing_t *l = grp_list(rq->srv->groups, &n);
	/* Kafka matches the states filter case-insensitively. */
	size_t keep = 0;
	for (size_t i = 0; i < n; i++) {
		int ok = nf == 0;
		const char *name = grp_state_name(l[i].state);
		for (int32_t k = 0; k < nf && !ok; k++)
			ok = (size_t)filter[k].len == strlen(name) &&
			     strncasecmp(filter[k].p, name, (size_t)filter[k].len) == 0;
		if (ok && kafka_authz_listed_group(rq, l[i].group_id.p, l[i].group_id.len))
			l[keep++] = l[i];
	}
	dur_t *d = grp_coord_dur(rq->srv->groups);
	kdur_t kd;
	kdur_begin(&kd, rq, d);
	buf_t *b = kd.b;
	size_t mark = kafka_reply_begin(rq, b);
	if (v >= 1)
		kw_i32(b, 0);
	kdur_err(&kd, KERR_NONE);
	kw_arr(b, flex, (int32_t)keep);
	for (size_t i = 0; i < keep; i++) {
		kw_strn(b, flex, l[i].group_id.p, l[i].group_id.len);
		w_gs_nn(b, flex, l[i].protocol_type);
		if (v >= 4)
			kw_str(b, flex, grp_state_name(l[i].state));
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	kdur_end(&kd, d, KERR_NOT_COORDINATOR);
	free(l);
	free(filter);
	return 0;
}

int kafka_h_DeleteGroups(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	int32_t n;
	kstr_t *ids = read_strings(r, flex, &n);
	if (!ids)
		return SL_EPROTO;
	kr_tags(r, flex);
	if (r->err) {
		free(ids);
		return SL_EPROTO;
	}
	/* The deletions first: the reply is begun once the domain holds
	 * their records (kdur_begin decides whether it must wait). */
	grp_err_t *res = calloc((size_t)n + 1, sizeof *res);
	if (!res)
		abort();
	for (int32_t i = 0; i < n; i++)
		if (!(res[i] = kafka_authz_grp(rq, ids[i].p, ids[i].len, ACL_OP_DELETE)))
			res[i] = grp_delete(rq->srv->groups, gs(ids[i]));
	dur_t *d = grp_coord_dur(rq->srv->groups);
	kdur_t kd;
	kdur_begin(&kd, rq, d);
	buf_t *b = kd.b;
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, flex, n);
	for (int32_t i = 0; i < n; i++) {
		kw_kstr(b, flex, ids[i]);
		kdur_err(&kd, kafka_err_from_grp(res[i]));
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	kdur_end(&kd, d, KERR_NOT_COORDINATOR);
	free(res);
	free(ids);
	return 0;
}

/*
 * h_Acls.c — DescribeAcls (key 29), CreateAcls (30) and DeleteAcls (31),
 * v0–3 (flexible from v2): the Kafka view of the broker's ACL store
 * (broker/acl.h).
 *
 * v0 has no pattern type: creations are literal, filters match literal
 * bindings (the schema's default, 3). Who may call them, as Kafka: Describe
 * on the cluster for DescribeAcls, Alter on the cluster for the others
 * (CLUSTER_AUTHORIZATION_FAILED otherwise). An invalid binding or filter
 * gets INVALID_REQUEST with Kafka's message, per creation or filter (for
 * DescribeAcls in the top-level error).
 * Loop thread only.
 */
#include "broker/acl.h"
#include "core/err.h"
#include "proto/kafka/kafka.h"

#include <stdlib.h>
#include <string.h>

/* A string field as an owned C string (NULL for null, or one longer than
 * ACL_STR_MAX or holding a NUL: *bad set). */
static char *own(kstr_t s, int *bad)
{
	if (s.len < 0)
		return NULL;
	if (s.len > ACL_STR_MAX || memchr(s.p, 0, (size_t)s.len)) {
		*bad = 1;
		return NULL;
	}
	char *z = malloc((size_t)s.len + 1);
	if (!z)
		abort();
	memcpy(z, s.p, (size_t)s.len);
	z[s.len] = 0;
	return z;
}

static void unown(acl_binding_t *x)
{
	free(x->name);
	free(x->principal);
	free(x->host);
}

/* Reads one binding or filter (the same fields in the same order in all
 * three requests). */
static void read_binding(kreq_t *rq, acl_binding_t *x, int *bad)
{
	rd_t *r = &rq->r;
	int flex = rq->flex;
	memset(x, 0, sizeof *x);
	x->rtype = kr_i8(r);
	x->name = own(kr_str(r, flex), bad);
	x->ptype = rq->h.ApiVersion >= 1 ? kr_i8(r) : ACL_PAT_LITERAL;
	x->principal = own(kr_str(r, flex), bad);
	x->host = own(kr_str(r, flex), bad);
	x->op = kr_i8(r);
	x->perm = kr_i8(r);
	kr_tags(r, flex);
}

static void write_entry(buf_t *b, int flex, const acl_binding_t *x)
{
	kw_str(b, flex, x->principal);
	kw_str(b, flex, x->host);
	kw_i8(b, x->op);
	kw_i8(b, x->perm);
}

/* The creations or filters of a request, read whole. */
typedef struct blist {
	acl_binding_t *v;
	int *bad; /* per entry: a string field could not be taken */
	int32_t n;
} blist_t;

static void list_free(blist_t *l)
{
	for (int32_t i = 0; i < l->n; i++)
		unown(&l->v[i]);
	free(l->v);
	free(l->bad);
}

/* Reads the request's array (each entry at least min_elem bytes) and the
 * final tags. 0, or SL_EPROTO with l freed. */
static int list_read(kreq_t *rq, size_t min_elem, blist_t *l)
{
	rd_t *r = &rq->r;
	int32_t n = kr_arr(r, rq->flex, min_elem);
	l->n = n < 0 ? 0 : n;
	l->v = calloc((size_t)l->n + 1, sizeof *l->v);
	l->bad = calloc((size_t)l->n + 1, sizeof *l->bad);
	if (!l->v || !l->bad)
		abort();
	for (int32_t i = 0; i < l->n && !r->err; i++)
		read_binding(rq, &l->v[i], &l->bad[i]);
	kr_tags(r, rq->flex);
	if (r->err) {
		list_free(l);
		return SL_EPROTO;
	}
	return 0;
}

/* One entry of CreateAcls or DeleteAcls: its result. auth is the
 * request's authorization (Alter on the cluster). */
typedef void (*alter_one_fn)(kreq_t *rq, buf_t *b, acl_binding_t *x, int bad, int16_t auth);

/* CreateAcls and DeleteAcls: the list, then one result per entry. */
static int alter_acls(kreq_t *rq, size_t min_elem, alter_one_fn one)
{
	blist_t l;
	if (list_read(rq, min_elem, &l) < 0)
		return SL_EPROTO;
	int16_t auth = kafka_authz_cluster(rq, ACL_OP_ALTER);
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_arr(b, rq->flex, l.n);
	for (int32_t i = 0; i < l.n; i++)
		one(rq, b, &l.v[i], l.bad[i], auth);
	kw_tags(b, rq->flex);
	kafka_reply_end(b, mark);
	list_free(&l);
	return 0;
}

static void create_one(kreq_t *rq, buf_t *b, acl_binding_t *x, int bad, int16_t auth)
{
	const char *msg = bad ? "Invalid string field" : acl_binding_invalid(x);
	int16_t err = auth;
	if (err == KERR_NONE && msg) {
		err = KERR_INVALID_REQUEST;
	} else if (err == KERR_NONE) {
		int e = acl_create(rq->srv->b->acls, x);
		err = e == 0 ? KERR_NONE : kafka_err_from_sl(e);
		msg = e == 0 ? NULL : "The ACL could not be stored";
	} else {
		msg = NULL;
	}
	kw_i16(b, err);
	kw_str(b, rq->flex, msg);
	kw_tags(b, rq->flex);
}

int kafka_h_CreateAcls(kreq_t *rq)
{
	return alter_acls(rq, 8, create_one);
}

int kafka_h_DescribeAcls(kreq_t *rq)
{
	acl_binding_t f;
	int bad = 0;
	read_binding(rq, &f, &bad);
	if (rq->r.err) {
		unown(&f);
		return SL_EPROTO;
	}
	int flex = rq->flex;
	const acls_t *a = rq->srv->b->acls;
	int16_t err = kafka_authz_cluster(rq, ACL_OP_DESCRIBE);
	const char *msg = NULL;
	if (err == KERR_NONE && (msg = bad ? "Invalid string field" : acl_filter_invalid(&f)))
		err = KERR_INVALID_REQUEST;
	if (err == KERR_NONE && rq->h.ApiVersion == 0 && f.ptype != ACL_PAT_LITERAL)
		err = KERR_INVALID_REQUEST;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_i16(b, err);
	kw_str(b, flex, msg);
	/* Matches grouped by resource pattern, each group once, in the order
	 * of its first binding. */
	size_t total = err == KERR_NONE ? acl_count(a) : 0;
	const acl_binding_t **m = calloc(total + 1, sizeof *m);
	char *done = calloc(total + 1, 1);
	if (!m || !done)
		abort();
	size_t nm = 0, it = 0, groups = 0;
	const acl_binding_t *x;
	while (total && (x = acl_next(a, &it)))
		if (acl_filter_matches(&f, x))
			m[nm++] = x;
	for (size_t i = 0; i < nm; i++) {
		if (done[i])
			continue;
		groups++;
		for (size_t k = i; k < nm; k++)
			if (m[k]->rtype == m[i]->rtype && m[k]->ptype == m[i]->ptype &&
			    !strcmp(m[k]->name, m[i]->name))
				done[k] = 1;
	}
	kw_arr(b, flex, (int32_t)groups);
	memset(done, 0, total + 1);
	for (size_t i = 0; i < nm; i++) {
		if (done[i])
			continue;
		size_t same = 0;
		for (size_t k = i; k < nm; k++)
			same += m[k]->rtype == m[i]->rtype && m[k]->ptype == m[i]->ptype &&
			        !strcmp(m[k]->name, m[i]->name);
		kw_i8(b, m[i]->rtype);
		kw_str(b, flex, m[i]->name);
		if (rq->h.ApiVersion >= 1)
			kw_i8(b, m[i]->ptype);
		kw_arr(b, flex, (int32_t)same);
		for (size_t k = i; k < nm; k++) {
			if (m[k]->rtype != m[i]->rtype || m[k]->ptype != m[i]->ptype ||
			    strcmp(m[k]->name, m[i]->name) != 0)
				continue;
			done[k] = 1;
			write_entry(b, flex, m[k]);
			kw_tags(b, flex);
		}
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
	free(m);
	free(done);
	unown(&f);
	return 0;
}

typedef struct delctx {
	buf_t *b;
	int flex, v1;
	int32_t count;
} delctx_t;

static void write_deleted(void *arg, const acl_binding_t *x)
{
	delctx_t *d = arg;
	kw_i16(d->b, KERR_NONE);
	kw_str(d->b, d->flex, NULL);
	kw_i8(d->b, x->rtype);
	kw_str(d->b, d->flex, x->name);
	if (d->v1)
		kw_i8(d->b, x->ptype);
	write_entry(d->b, d->flex, x);
	kw_tags(d->b, d->flex);
	d->count++;
}

static void delete_one(kreq_t *rq, buf_t *b, acl_binding_t *f, int bad, int16_t auth)
{
	int flex = rq->flex;
	const char *msg = bad ? "Invalid string field" : acl_filter_invalid(f);
	int16_t err = auth != KERR_NONE ? auth : msg ? KERR_INVALID_REQUEST : KERR_NONE;
	if (err == KERR_NONE) {
		/* The matches go to a side buffer first: their count precedes
		 * them. */
		buf_t tmp;
		buf_init(&tmp);
		delctx_t d = {&tmp, flex, rq->h.ApiVersion >= 1, 0};
		int e = acl_delete(rq->srv->b->acls, f, write_deleted, &d);
		if (e == 0) {
			kw_i16(b, KERR_NONE);
			kw_str(b, flex, NULL);
			kw_arr(b, flex, d.count);
			buf_append(b, buf_data(&tmp), buf_len(&tmp));
			kw_tags(b, flex);
		}
		buf_deinit(&tmp);
		if (e == 0)
			return;
		/* Nothing was deleted. */
		err = kafka_err_from_sl(e);
		msg = "The ACLs could not be deleted";
	}
	kw_i16(b, err);
	kw_str(b, flex, auth != KERR_NONE ? NULL : msg);
	kw_arr(b, flex, 0);
	kw_tags(b, flex);
}

int kafka_h_DeleteAcls(kreq_t *rq)
{
	return alter_acls(rq, 7, delete_one);
}

/*
 * h_UserScram.c — DescribeUserScramCredentials (key 50, v0) and
 * AlterUserScramCredentials (key 51, v0), both flexible: the Kafka view of
 * the broker's one user database (broker/users.h).
 *
 * Mechanism numbers are Kafka's ScramMechanism: 1 SCRAM-SHA-256,
 * 2 SCRAM-SHA-512. Upsertions carry the client-computed salted password
 * (the password itself never travels); the broker keeps StoredKey and
 * ServerKey derived from it. Errors and messages follow Kafka's
 * ControllerApis/ScramControlManager: RESOURCE_NOT_FOUND for unknown users
 * or credentials, UNSUPPORTED_SASL_MECHANISM, UNACCEPTABLE_CREDENTIAL for
 * iterations outside 4096..16384, DUPLICATE_RESOURCE for a user named twice.
 *
 * Who may call them, as Kafka: Describe (Alter) on the cluster by the ACLs
 * (authz.c), so an unauthenticated connection (User:ANONYMOUS on a
 * PLAINTEXT listener) gets CLUSTER_AUTHORIZATION_FAILED unless an ACL
 * grants it. An empty database accepts the first user from anyone who can
 * reach the listener (how `kafka-configs.sh` bootstraps).
 * Loop thread only.
 */
#include "broker/users.h"
#include "proto/kafka/kafka.h"

#include <string.h>

#define KERR_UNSUPPORTED_SASL_MECHANISM 33
#define KERR_RESOURCE_NOT_FOUND 91
#define KERR_DUPLICATE_RESOURCE 92
#define KERR_UNACCEPTABLE_CREDENTIAL 93

static int authorized(kreq_t *rq, int op)
{
	return kafka_authz_cluster(rq, op) == KERR_NONE;
}

static int same(kstr_t x, kstr_t y)
{
	return x.len == y.len && (x.len <= 0 || !memcmp(x.p, y.p, (size_t)x.len));
}

/* Kafka's ScramMechanism number ↔ users.h's. */
static int mech_of(int8_t m)
{
	return m == 1 ? USERS_SCRAM_SHA_256 : m == 2 ? USERS_SCRAM_SHA_512 : -1;
}

int kafka_h_DescribeUserScramCredentials(kreq_t *rq)
{
	rd_t *r = &rq->r;
	users_t *u = rq->srv->b->users;
	int32_t n = kr_arr(r, 1, 2);
	kstr_t names[256];
	if (n > 256)
		return SL_EPROTO;
	for (int32_t i = 0; i < n; i++) {
		names[i] = kr_str(r, 1);
		kr_tags(r, 1);
	}
	kr_tags(r, 1);
	if (r->err)
		return SL_EPROTO;
	int ok = authorized(rq, ACL_OP_DESCRIBE);
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_i16(b, ok ? KERR_NONE : KERR_CLUSTER_AUTHORIZATION_FAILED);
	kw_str(b, 1, NULL);
	if (!ok) {
		kw_arr(b, 1, 0);
	} else if (n < 0 || n == 0) {
		/* All users with credentials. */
		size_t it = 0, count = 0;
		const user_t *x;
		while ((x = users_next(u, &it)))
			count += x->scram[0].set || x->scram[1].set;
		kw_arr(b, 1, (int32_t)count);
		it = 0;
		while ((x = users_next(u, &it))) {
			if (!x->scram[0].set && !x->scram[1].set)
				continue;
			kw_strn(b, 1, x->name, (int32_t)x->name_len);
			kw_i16(b, KERR_NONE);
			kw_str(b, 1, NULL);
			kw_arr(b, 1, x->scram[0].set + x->scram[1].set);
			for (int m = 0; m < USERS_NMECH; m++)
				if (x->scram[m].set) {
					kw_i8(b, (int8_t)(m + 1));
					kw_i32(b, x->scram[m].iterations);
					kw_tags(b, 1);
				}
			kw_tags(b, 1);
		}
	} else {
		kw_arr(b, 1, n);
		for (int32_t i = 0; i < n; i++) {
			int dup = 0;
			for (int32_t k = 0; k < n; k++)
				dup |= k != i && same(names[k], names[i]);
			const user_t *x = names[i].len > 0
			                      ? users_find(u, names[i].p, (size_t)names[i].len)
			                      : NULL;
			int any = x && (x->scram[0].set || x->scram[1].set);
			kw_kstr(b, 1, names[i]);
			if (dup) {
				kw_i16(b, KERR_DUPLICATE_RESOURCE);
				kw_str(b, 1,
				       "Cannot describe SCRAM credentials for the same user "
				       "twice in a single request");
			} else if (!any) {
				kw_i16(b, KERR_RESOURCE_NOT_FOUND);
				kw_str(b, 1,
				       "Attempt to describe a user credential that does not exist");
			} else {
				kw_i16(b, KERR_NONE);
				kw_str(b, 1, NULL);
			}
			if (dup || !any) {
				kw_arr(b, 1, 0);
			} else {
				kw_arr(b, 1, x->scram[0].set + x->scram[1].set);
				for (int m = 0; m < USERS_NMECH; m++)
					if (x->scram[m].set) {
						kw_i8(b, (int8_t)(m + 1));
						kw_i32(b, x->scram[m].iterations);
						kw_tags(b, 1);
					}
			}
			kw_tags(b, 1);
		}
	}
	kw_tags(b, 1);
	kafka_reply_end(b, mark);
	return 0;
}

typedef struct alter {
	kstr_t name;
	int8_t mech;
	int32_t iterations; /* upsertions only */
	kstr_t salt, salted;
	int del;
} alter_t;

static void result(buf_t *b, kstr_t name, int16_t err, const char *msg)
{
	kw_kstr(b, 1, name);
	kw_i16(b, err);
	kw_str(b, 1, msg);
	kw_tags(b, 1);
}

int kafka_h_AlterUserScramCredentials(kreq_t *rq)
{
	rd_t *r = &rq->r;
	users_t *u = rq->srv->b->users;
	alter_t a[256];
	int32_t n = 0;
	int32_t nd = kr_arr(r, 1, 3);
	for (int32_t i = 0; i < nd && !r->err && n < 256; i++, n++) {
		a[n] = (alter_t){.del = 1};
		a[n].name = kr_str(r, 1);
		a[n].mech = kr_i8(r);
		kr_tags(r, 1);
	}
	int32_t nu = kr_arr(r, 1, 9);
	for (int32_t i = 0; i < nu && !r->err && n < 256; i++, n++) {
		a[n] = (alter_t){0};
		a[n].name = kr_str(r, 1);
		a[n].mech = kr_i8(r);
		a[n].iterations = kr_i32(r);
		a[n].salt = kr_bytes(r, 1);
		a[n].salted = kr_bytes(r, 1);
		kr_tags(r, 1);
	}
	kr_tags(r, 1);
	if (r->err || (nd > 0 ? nd : 0) + (nu > 0 ? nu : 0) > 256)
		return SL_EPROTO;
	int ok = authorized(rq, ACL_OP_ALTER);
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	/* One result per distinct user: Kafka answers per user, and a user
	 * named twice (for the same mechanism) fails as a whole. */
	int32_t nres = 0;
	for (int32_t i = 0; i < n; i++) {
		int first = 1;
		for (int32_t k = 0; k < i; k++)
			first &= !same(a[k].name, a[i].name);
		nres += first;
	}
	kw_arr(b, 1, nres);
	for (int32_t i = 0; i < n; i++) {
		int first = 1, dup = 0;
		for (int32_t k = 0; k < n; k++) {
			if (same(a[k].name, a[i].name) && k < i)
				first = 0;
			if (same(a[k].name, a[i].name) && k != i && a[k].mech == a[i].mech)
				dup = 1;
		}
		if (!first)
			continue;
		kstr_t nm = a[i].name;
		if (!ok) {
			result(b, nm, KERR_CLUSTER_AUTHORIZATION_FAILED, NULL);
			continue;
		}
		if (nm.len <= 0) {
			result(b, nm, KERR_UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
			continue;
		}
		if (dup) {
			result(b, nm, KERR_DUPLICATE_RESOURCE,
			       "A user credential cannot be altered twice in the same request");
			continue;
		}
		/* Apply every change of this user, stopping at the first error. */
		int16_t err = KERR_NONE;
		const char *msg = NULL;
		for (int32_t k = i; k < n && err == KERR_NONE; k++) {
			if (!same(a[k].name, nm))
				continue;
			int m = mech_of(a[k].mech);
			if (m < 0) {
				err = KERR_UNSUPPORTED_SASL_MECHANISM;
				msg = "Unknown SCRAM mechanism";
				continue;
			}
			int rc;
			if (a[k].del) {
				rc = users_delete_scram(u, nm.p, (size_t)nm.len, m);
				if (rc == SL_ENOENT) {
					err = KERR_RESOURCE_NOT_FOUND;
					msg = "Attempt to delete a user credential that does not "
					      "exist";
					continue;
				}
			} else {
				if (a[k].iterations < USERS_ITER_MIN) {
					err = KERR_UNACCEPTABLE_CREDENTIAL;
					msg = "Too few iterations";
					continue;
				}
				if (a[k].iterations > USERS_ITER_MAX) {
					err = KERR_UNACCEPTABLE_CREDENTIAL;
					msg = "Too many iterations";
					continue;
				}
				rc = users_set_scram(
				    u, nm.p, (size_t)nm.len, m, (const uint8_t *)a[k].salt.p,
				    a[k].salt.len > 0 ? (size_t)a[k].salt.len : 0, a[k].iterations,
				    (const uint8_t *)a[k].salted.p,
				    a[k].salted.len > 0 ? (size_t)a[k].salted.len : 0);
				if (rc == SL_EINVAL) {
					err = KERR_UNACCEPTABLE_CREDENTIAL;
					msg = "Invalid salt or salted password";
					continue;
				}
			}
			if (rc < 0) {
				err = KERR_KAFKA_STORAGE_ERROR;
				msg = "The user database could not be written";
			}
		}
		result(b, nm, err, msg);
	}
	kw_tags(b, 1);
	kafka_reply_end(b, mark);
	return 0;
}

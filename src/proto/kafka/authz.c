/*
 * authz.c — the Kafka front's one entry to the broker's ACLs (broker/acl.h):
 * who is asking (the principal and host of the request's connection) and
 * the error code each API answers when the answer is no.
 *
 * The principal is "User:<name>" after SASL, "User:ANONYMOUS" on a
 * listener without SASL (Kafka's name for it). The rule of sluice: while
 * the user database is empty, authentication is off everywhere and every
 * request is allowed (as before users existed); once a user exists, the
 * ACLs decide, as Kafka's AclAuthorizer does (super.users,
 * allow.everyone.if.no.acl.found default false). Handlers call one of the
 * kafka_authz_* functions per resource, in one line.
 * Loop thread only.
 */
#include "broker/acl.h"
#include "broker/group.h"
#include "broker/topic.h"
#include "broker/users.h"
#include "proto/kafka/kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The request's principal ("User:x") and host; 0 when auth is off. */
static int who(const kreq_t *rq, char *principal, size_t pn, char *host, size_t hn)
{
	broker_t *b = rq->srv ? rq->srv->b : NULL;
	if (!b || !b->acls || !users_enabled(b->users))
		return 0;
	const kafka_conn_t *kc = rq->c ? rq->c->pdata : NULL;
	const char *user = kc ? kafka_sasl_principal(kc->sasl) : NULL;
	snprintf(principal, pn, "User:%s", user ? user : "ANONYMOUS");
	/* The peer is "1.2.3.4:port" or "[::1]:port": Kafka's host is the
	 * address alone. */
	const char *peer = rq->c ? rq->c->peer : "";
	const char *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
	if (n >= 2 && peer[0] == '[' && peer[n - 1] == ']')
		peer++, n -= 2;
	/* An IPv4 client of a dual-stack socket is named by its IPv4
	 * address, as Kafka (Java) reports it. */
	if (n > 7 && !strncmp(peer, "::ffff:", 7) && memchr(peer + 7, '.', n - 7))
		peer += 7, n -= 7;
	if (n >= hn)
		n = hn - 1;
	memcpy(host, peer, n);
	host[n] = 0;
	return 1;
}

int kafka_authz(const kreq_t *rq, int rtype, const char *name, size_t n, int op)
{
	char principal[USERS_NAME_MAX + 8], host[64];
	if (!who(rq, principal, sizeof principal, host, sizeof host))
		return 1;
	return acl_authorize(rq->srv->b->acls, principal, host, rtype, name, n, op);
}

static int kauthz(const kreq_t *rq, int rtype, kstr_t name, int op)
{
	return kafka_authz(rq, rtype, name.len > 0 ? name.p : "",
	                   name.len > 0 ? (size_t)name.len : 0, op);
}

int16_t kafka_authz_topic(const kreq_t *rq, kstr_t topic, int op)
{
	return kauthz(rq, ACL_RES_TOPIC, topic, op) ? KERR_NONE : KERR_TOPIC_AUTHORIZATION_FAILED;
}

int16_t kafka_authz_group(const kreq_t *rq, kstr_t group, int op)
{
	return kauthz(rq, ACL_RES_GROUP, group, op) ? KERR_NONE : KERR_GROUP_AUTHORIZATION_FAILED;
}

int16_t kafka_authz_cluster(const kreq_t *rq, int op)
{
	return kafka_authz(rq, ACL_RES_CLUSTER, "kafka-cluster", 13, op)
	           ? KERR_NONE
	           : KERR_CLUSTER_AUTHORIZATION_FAILED;
}

int16_t kafka_authz_txn(const kreq_t *rq, kstr_t id, int op)
{
	return kauthz(rq, ACL_RES_TRANSACTIONAL_ID, id, op)
	           ? KERR_NONE
	           : KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

int16_t kafka_authz_create_topic(const kreq_t *rq, kstr_t topic)
{
	/* Kafka: Create on the cluster, or else on the topic. */
	if (kafka_authz_cluster(rq, ACL_OP_CREATE) == KERR_NONE)
		return KERR_NONE;
	return kafka_authz_topic(rq, topic, ACL_OP_CREATE);
}

int16_t kafka_authz_produce(const kreq_t *rq, kstr_t txnid, kstr_t topic)
{
	if (txnid.len >= 0 && !kauthz(rq, ACL_RES_TRANSACTIONAL_ID, txnid, ACL_OP_WRITE))
		return KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	return kafka_authz_topic(rq, topic, ACL_OP_WRITE);
}

topic_t *kafka_authz_topic_or_null(const kreq_t *rq, kstr_t name, int op, topic_t *t, int16_t *err)
{
	if (kafka_authz_topic(rq, name, op) == KERR_NONE)
		return t;
	*err = KERR_TOPIC_AUTHORIZATION_FAILED;
	return NULL;
}

int32_t kafka_authz_described_topics(const kreq_t *rq)
{
	size_t it = 0;
	int32_t n = 0;
	topic_t *t;
	while ((t = topics_next(rq->srv->topics, &it)))
		n += kafka_authz(rq, ACL_RES_TOPIC, t->name, strlen(t->name), ACL_OP_DESCRIBE);
	return n;
}

topic_t *kafka_authz_metadata_topic(const kreq_t *rq, kstr_t name, int allow_auto, int16_t *err)
{
	if (name.len >= 0 && kafka_authz_topic(rq, name, ACL_OP_DESCRIBE) != KERR_NONE) {
		*err = KERR_TOPIC_AUTHORIZATION_FAILED;
		return NULL;
	}
	/* Kafka: a topic that would be auto-created needs Create too, and
	 * without it the answer is TOPIC_AUTHORIZATION_FAILED. */
	int16_t e;
	topic_t *t = kafka_topic_get(rq->srv, name, 0, &e);
	if (!t && allow_auto && rq->srv->b->cfg->auto_create_topics_enable &&
	    e == KERR_UNKNOWN_TOPIC_OR_PARTITION &&
	    kafka_authz_create_topic(rq, name) != KERR_NONE) {
		*err = KERR_TOPIC_AUTHORIZATION_FAILED;
		return NULL;
	}
	return t ? (*err = e, t) : kafka_topic_get(rq->srv, name, allow_auto, err);
}

int kafka_authz_grp(const kreq_t *rq, const char *group, int32_t len, int op)
{
	return kafka_authz(rq, ACL_RES_GROUP, len > 0 ? group : "", len > 0 ? (size_t)len : 0, op)
	           ? GRP_ERR_OK
	           : GRP_ERR_GROUP_AUTHORIZATION_FAILED;
}

int kafka_authz_offsets(const kreq_t *rq, const char *group, int32_t len, kstr_t topic, int op)
{
	int e = kafka_authz_grp(rq, group, len, ACL_OP_READ);
	if (e == GRP_ERR_OK && kafka_authz_topic(rq, topic, op) != KERR_NONE)
		e = GRP_ERR_TOPIC_AUTHORIZATION_FAILED;
	return e;
}

int16_t kafka_authz_coordinator(const kreq_t *rq, int8_t key_type, kstr_t key)
{
	if (key_type == 1)
		return kafka_authz_txn(rq, key, ACL_OP_DESCRIBE);
	return kafka_authz_group(rq, key, ACL_OP_DESCRIBE);
}

int16_t kafka_authz_init_pid(const kreq_t *rq, kstr_t txnid)
{
	if (txnid.len >= 0)
		return kafka_authz_txn(rq, txnid, ACL_OP_WRITE);
	char principal[USERS_NAME_MAX + 8], host[64];
	if (!who(rq, principal, sizeof principal, host, sizeof host) ||
	    kafka_authz_cluster(rq, ACL_OP_IDEMPOTENT_WRITE) == KERR_NONE ||
	    acl_authorize_any(rq->srv->b->acls, principal, host, ACL_RES_TOPIC, ACL_OP_WRITE))
		return KERR_NONE;
	return KERR_CLUSTER_AUTHORIZATION_FAILED;
}

int16_t kafka_authz_configs(const kreq_t *rq, int8_t res_type, kstr_t name, int op)
{
	if (res_type == 2)
		return kafka_authz_topic(rq, name, op);
	if (res_type == 4)
		return kafka_authz_cluster(rq, op);
	return KERR_NONE;
}

int kafka_authz_listed_group(const kreq_t *rq, const char *group, int32_t len)
{
	return kafka_authz_cluster(rq, ACL_OP_DESCRIBE) == KERR_NONE ||
	       kafka_authz_grp(rq, group, len, ACL_OP_DESCRIBE) == GRP_ERR_OK;
}

int kafka_authz_txn_parts(const kreq_t *rq, kstr_t id, const kstr_t *names, const int32_t *counts,
                          int32_t nt, txn_err_t *errs)
{
	int16_t top = kafka_authz_txn(rq, id, ACL_OP_WRITE);
	int denied = top != KERR_NONE;
	for (int32_t i = 0; i < nt && !denied; i++)
		denied = kafka_authz_topic(rq, names[i], ACL_OP_WRITE) != KERR_NONE;
	if (!denied)
		return 0;
	int n = 0;
	for (int32_t i = 0; i < nt; i++) {
		int16_t e = top ? top : kafka_authz_topic(rq, names[i], ACL_OP_WRITE);
		if (!e)
			e = KERR_OPERATION_NOT_ATTEMPTED;
		for (int32_t k = 0; k < counts[i]; k++)
			errs[n++] = (txn_err_t)e;
	}
	return 1;
}

int kafka_authz_txn_group(const kreq_t *rq, kstr_t id, kstr_t group)
{
	int16_t e = kafka_authz_txn(rq, id, ACL_OP_WRITE);
	return e ? e : kafka_authz_group(rq, group, ACL_OP_READ);
}

int kafka_offset_delete_authorized(const kreq_t *rq, const char *group, int32_t len, grp_tp_t *tps,
                                   size_t n)
{
	int top = kafka_authz_grp(rq, group, len, ACL_OP_DELETE);
	if (top != GRP_ERR_OK)
		return top;
	/* Only the partitions of readable topics reach the coordinator. */
	grp_tp_t *ok = calloc(n + 1, sizeof *ok);
	size_t *at = calloc(n + 1, sizeof *at);
	if (!ok || !at)
		abort();
	size_t nok = 0;
	for (size_t i = 0; i < n; i++) {
		kstr_t topic = {tps[i].topic.p, tps[i].topic.len};
		if (kafka_authz_topic(rq, topic, ACL_OP_READ) != KERR_NONE) {
			tps[i].err = GRP_ERR_TOPIC_AUTHORIZATION_FAILED;
			continue;
		}
		at[nok] = i;
		ok[nok++] = tps[i];
	}
	top = grp_offset_delete(rq->srv->groups, (grp_str_t){group, len}, ok, nok);
	for (size_t k = 0; k < nok; k++)
		tps[at[k]].err = ok[k].err;
	free(ok);
	free(at);
	return top;
}

txn_err_t kafka_txn_offset_commit_authorized(const kreq_t *rq, kstr_t id, int64_t pid,
                                             int16_t epoch, kstr_t group, const txn_off_t *offs,
                                             int n, int16_t *deny)
{
	txn_err_t e = (txn_err_t)kafka_authz_txn_group(rq, id, group);
	if (e != TXN_OK)
		return e;
	txn_off_t *ok = calloc((size_t)n + 1, sizeof *ok);
	if (!ok)
		abort();
	int nok = 0;
	for (int i = 0; i < n; i++) {
		kstr_t topic = {offs[i].topic, offs[i].topic_len};
		if ((deny[i] = kafka_authz_topic(rq, topic, ACL_OP_READ)) == KERR_NONE)
			ok[nok++] = offs[i];
	}
	/* Nothing readable: nothing to commit, every partition refused. */
	if (nok > 0 || n == 0)
		e = txn_offset_commit(rq->srv->b->txns, id.p, id.len, pid, epoch, group.p,
		                      group.len, ok, nok);
	free(ok);
	return e;
}

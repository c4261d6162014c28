/*
 * test_acl.c — the Kafka ACL store: validity of bindings and filters,
 * filter matching (literal, prefixed, MATCH, ANY), the authorizer's rules
 * (super users, deny wins, implied Describe/DescribeConfigs, wildcard
 * principal and resource, allow.everyone.if.no.acl.found), deletion by
 * filter, the journal's replay across reopenings, and write failures that
 * change nothing.
 */
#include "broker/acl.h"
#include "broker/broker.h"
#include "core/config.h"
#include "core/err.h"
#include "test.h"

#include <stdlib.h>

typedef struct afx {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	sio_t *io;
	acls_t *a;
} afx_t;

static void aopen(afx_t *f, const char *supers, int allow_if_none)
{
	char err[128];
	memset(f, 0, sizeof *f);
	config_init(&f->cfg);
	if (supers)
		CHECK(config_set(&f->cfg, "super.users", supers, err, sizeof err) == 0);
	CHECK(config_set(&f->cfg, "allow.everyone.if.no.acl.found",
	                 allow_if_none ? "true" : "false", err, sizeof err) == 0);
	log_init(&f->log, LOG_ERROR, 2);
	f->b.cfg = &f->cfg;
	f->b.log = &f->log;
	f->b.data_dir = ".";
	f->b.loop = loop_new(NULL);
	f->b.syncer = syncer_new(f->b.loop, &f->log);
	f->io = sio_new();
	syncer_set_io(f->b.syncer, f->io);
	f->b.io = f->io;
	CHECK_EQ(acl_open(&f->a, &f->b), 0);
}

static void aclose(afx_t *f)
{
	acl_close(f->a);
	loop_run_once(f->b.loop, 0);
	syncer_free(f->b.syncer);
	sio_free(f->io);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

static acl_binding_t B(int rtype, int ptype, const char *name, const char *principal,
                       const char *host, int op, int perm)
{
	acl_binding_t x = {(int8_t)rtype, (int8_t)ptype, (char *)name, (char *)principal,
	                   (char *)host,  (int8_t)op,    (int8_t)perm, 0};
	return x;
}

static int can(afx_t *f, const char *who, int rtype, const char *name, int op)
{
	return acl_authorize(f->a, who, "127.0.0.1", rtype, name, strlen(name), op);
}

#define ALICE "User:alice"
#define BOB "User:bob"

TEST(acl_binding_and_filter_validity)
{
	acl_binding_t ok =
	    B(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ALICE, "*", ACL_OP_READ, ACL_PERM_ALLOW);
	CHECK(acl_binding_invalid(&ok) == NULL);
	acl_binding_t x = ok;
	x.ptype = ACL_PAT_MATCH;
	CHECK(acl_binding_invalid(&x) != NULL);
	x = ok;
	x.rtype = ACL_RES_ANY;
	CHECK(acl_binding_invalid(&x) != NULL);
	x = ok;
	x.op = ACL_OP_ANY;
	CHECK(acl_binding_invalid(&x) != NULL);
	x = ok;
	x.perm = ACL_PERM_ANY;
	CHECK(acl_binding_invalid(&x) != NULL);
	x = ok;
	x.principal = "alice";
	CHECK(acl_binding_invalid(&x) != NULL);
	x = ok;
	x.name = "";
	CHECK(acl_binding_invalid(&x) != NULL);
	x = B(ACL_RES_CLUSTER, ACL_PAT_LITERAL, "other", ALICE, "*", ACL_OP_ALTER, ACL_PERM_ALLOW);
	CHECK(acl_binding_invalid(&x) != NULL);
	x.name = "kafka-cluster";
	CHECK(acl_binding_invalid(&x) == NULL);
	acl_binding_t f = B(ACL_RES_ANY, ACL_PAT_ANY, NULL, NULL, NULL, ACL_OP_ANY, ACL_PERM_ANY);
	CHECK(acl_filter_invalid(&f) == NULL);
	f.ptype = ACL_PAT_UNKNOWN;
	CHECK(acl_filter_invalid(&f) != NULL);
}

TEST(acl_filter_matching)
{
	acl_binding_t lit =
	    B(ACL_RES_TOPIC, ACL_PAT_LITERAL, "orders", ALICE, "*", ACL_OP_READ, ACL_PERM_ALLOW);
	acl_binding_t pre =
	    B(ACL_RES_TOPIC, ACL_PAT_PREFIXED, "ord", ALICE, "*", ACL_OP_WRITE, ACL_PERM_ALLOW);
	acl_binding_t star =
	    B(ACL_RES_TOPIC, ACL_PAT_LITERAL, "*", BOB, "*", ACL_OP_READ, ACL_PERM_DENY);
	acl_binding_t any = B(ACL_RES_ANY, ACL_PAT_ANY, NULL, NULL, NULL, ACL_OP_ANY, ACL_PERM_ANY);
	CHECK(acl_filter_matches(&any, &lit) && acl_filter_matches(&any, &pre) &&
	      acl_filter_matches(&any, &star));
	/* ANY with a name: the exact name whatever the pattern type. */
	acl_binding_t f = any;
	f.name = "ord";
	CHECK(!acl_filter_matches(&f, &lit) && acl_filter_matches(&f, &pre));
	/* MATCH: every binding that would apply to the resource "orders". */
	f = any;
	f.ptype = ACL_PAT_MATCH;
	f.name = "orders";
	CHECK(acl_filter_matches(&f, &lit) && acl_filter_matches(&f, &pre) &&
	      acl_filter_matches(&f, &star));
	f.name = "other";
	CHECK(!acl_filter_matches(&f, &lit) && !acl_filter_matches(&f, &pre) &&
	      acl_filter_matches(&f, &star));
	/* A pattern type, principal, operation and permission each narrow. */
	f = any;
	f.ptype = ACL_PAT_PREFIXED;
	CHECK(!acl_filter_matches(&f, &lit) && acl_filter_matches(&f, &pre));
	f = any;
	f.principal = BOB;
	CHECK(!acl_filter_matches(&f, &lit) && acl_filter_matches(&f, &star));
	f = any;
	f.op = ACL_OP_WRITE;
	CHECK(!acl_filter_matches(&f, &lit) && acl_filter_matches(&f, &pre));
	f = any;
	f.perm = ACL_PERM_DENY;
	CHECK(!acl_filter_matches(&f, &lit) && acl_filter_matches(&f, &star));
	f = any;
	f.rtype = ACL_RES_GROUP;
	CHECK(!acl_filter_matches(&f, &lit));
}

TEST(acl_authorizer_rules)
{
	afx_t f;
	aopen(&f, "User:root; User:ops", 0);
	/* No ACL at all: denied (allow.everyone.if.no.acl.found=false),
	 * except for super users (super.users and the bootstrap admin). */
	CHECK(!can(&f, ALICE, ACL_RES_TOPIC, "t", ACL_OP_READ));
	CHECK(can(&f, "User:root", ACL_RES_TOPIC, "t", ACL_OP_READ));
	CHECK(can(&f, "User:ops", ACL_RES_CLUSTER, "kafka-cluster", ACL_OP_ALTER));
	CHECK(can(&f, "User:admin", ACL_RES_GROUP, "g", ACL_OP_DELETE));
	acl_binding_t x =
	    B(ACL_RES_TOPIC, ACL_PAT_PREFIXED, "app.", ALICE, "*", ACL_OP_WRITE, ACL_PERM_ALLOW);
	CHECK_EQ(acl_create(f.a, &x), 0);
	CHECK(can(&f, ALICE, ACL_RES_TOPIC, "app.orders", ACL_OP_WRITE));
	/* Write implies Describe, not Read. */
	CHECK(can(&f, ALICE, ACL_RES_TOPIC, "app.orders", ACL_OP_DESCRIBE));
	CHECK(!can(&f, ALICE, ACL_RES_TOPIC, "app.orders", ACL_OP_READ));
	CHECK(!can(&f, ALICE, ACL_RES_TOPIC, "other", ACL_OP_WRITE));
	CHECK(!can(&f, BOB, ACL_RES_TOPIC, "app.orders", ACL_OP_WRITE));
	/* Deny wins over allow, even through a wildcard principal. */
	x = B(ACL_RES_TOPIC, ACL_PAT_LITERAL, "app.secret", "User:*", "*", ACL_OP_ALL,
	      ACL_PERM_DENY);
	CHECK_EQ(acl_create(f.a, &x), 0);
	CHECK(!can(&f, ALICE, ACL_RES_TOPIC, "app.secret", ACL_OP_WRITE));
	CHECK(can(&f, "User:root", ACL_RES_TOPIC, "app.secret", ACL_OP_WRITE));
	/* A Deny of Write does not deny Describe (Kafka's deny covers its own
	 * operation and All only). */
	x = B(ACL_RES_TOPIC, ACL_PAT_LITERAL, "app.ro", ALICE, "*", ACL_OP_WRITE, ACL_PERM_DENY);
	CHECK_EQ(acl_create(f.a, &x), 0);
	CHECK(!can(&f, ALICE, ACL_RES_TOPIC, "app.ro", ACL_OP_WRITE));
	CHECK(can(&f, ALICE, ACL_RES_TOPIC, "app.ro", ACL_OP_DESCRIBE));
	/* AlterConfigs implies DescribeConfigs; the host must match. */
	x = B(ACL_RES_CLUSTER, ACL_PAT_LITERAL, "kafka-cluster", BOB, "10.0.0.1",
	      ACL_OP_ALTER_CONFIGS, ACL_PERM_ALLOW);
	CHECK_EQ(acl_create(f.a, &x), 0);
	CHECK(!can(&f, BOB, ACL_RES_CLUSTER, "kafka-cluster", ACL_OP_DESCRIBE_CONFIGS));
	CHECK(acl_authorize(f.a, BOB, "10.0.0.1", ACL_RES_CLUSTER, "kafka-cluster", 13,
	                    ACL_OP_DESCRIBE_CONFIGS));
	/* A literal "*" resource covers every name of its type. */
	x = B(ACL_RES_GROUP, ACL_PAT_LITERAL, "*", BOB, "*", ACL_OP_READ, ACL_PERM_ALLOW);
	CHECK_EQ(acl_create(f.a, &x), 0);
	CHECK(can(&f, BOB, ACL_RES_GROUP, "anything", ACL_OP_READ));
	/* A name longer than any binding can still match "*" or a prefix. */
	char *big = malloc(ACL_STR_MAX + 10);
	memset(big, 'g', ACL_STR_MAX + 9);
	big[ACL_STR_MAX + 9] = 0;
	CHECK(can(&f, BOB, ACL_RES_GROUP, big, ACL_OP_READ));
	CHECK(!can(&f, ALICE, ACL_RES_GROUP, big, ACL_OP_READ));
	free(big);
	/* By resource type (KIP-679): any Allow of Write on some topic. */
	CHECK(acl_authorize_any(f.a, ALICE, "1.2.3.4", ACL_RES_TOPIC, ACL_OP_WRITE));
	CHECK(!acl_authorize_any(f.a, BOB, "1.2.3.4", ACL_RES_TOPIC, ACL_OP_WRITE));
	aclose(&f);
}

TEST(acl_allow_everyone_if_no_acl_found)
{
	afx_t f;
	aopen(&f, NULL, 1);
	CHECK(can(&f, ALICE, ACL_RES_TOPIC, "t", ACL_OP_READ));
	/* Once a binding names the resource, the ACLs decide. */
	acl_binding_t x =
	    B(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", BOB, "*", ACL_OP_READ, ACL_PERM_ALLOW);
	CHECK_EQ(acl_create(f.a, &x), 0);
	CHECK(!can(&f, ALICE, ACL_RES_TOPIC, "t", ACL_OP_READ));
	CHECK(can(&f, ALICE, ACL_RES_TOPIC, "u", ACL_OP_READ));
	aclose(&f);
}

static void count_cb(void *arg, const acl_binding_t *x)
{
	(void)x;
	(*(int *)arg)++;
}

TEST(acl_journal_replay_and_delete)
{
	afx_t f;
	aopen(&f, NULL, 0);
	acl_binding_t a =
	    B(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t1", ALICE, "*", ACL_OP_READ, ACL_PERM_ALLOW);
	acl_binding_t b =
	    B(ACL_RES_TOPIC, ACL_PAT_PREFIXED, "t", BOB, "*", ACL_OP_WRITE, ACL_PERM_ALLOW);
	acl_binding_t c =
	    B(ACL_RES_GROUP, ACL_PAT_LITERAL, "g", ALICE, "*", ACL_OP_READ, ACL_PERM_DENY);
	CHECK_EQ(acl_create(f.a, &a), 0);
	CHECK_EQ(acl_create(f.a, &a), 0); /* an equal binding: stored once */
	CHECK_EQ(acl_create(f.a, &b), 0);
	CHECK_EQ(acl_create(f.a, &c), 0);
	CHECK_EQ(acl_count(f.a), 3);
	acl_binding_t bad = a;
	bad.ptype = ACL_PAT_ANY;
	CHECK_EQ(acl_create(f.a, &bad), SL_EINVAL);
	aclose(&f);

	aopen(&f, NULL, 0);
	CHECK_EQ(acl_count(f.a), 3);
	CHECK(can(&f, BOB, ACL_RES_TOPIC, "t9", ACL_OP_WRITE));
	CHECK(can(&f, ALICE, ACL_RES_TOPIC, "t1", ACL_OP_READ));
	/* Delete everything of alice's. */
	acl_binding_t filt =
	    B(ACL_RES_ANY, ACL_PAT_ANY, NULL, ALICE, NULL, ACL_OP_ANY, ACL_PERM_ANY);
	int n = 0;
	CHECK_EQ(acl_delete(f.a, &filt, count_cb, &n), 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(acl_count(f.a), 1);
	/* The check sees the deletion at once (the index is rebuilt). */
	CHECK(!can(&f, ALICE, ACL_RES_TOPIC, "t1", ACL_OP_READ));
	CHECK(can(&f, BOB, ACL_RES_TOPIC, "t1", ACL_OP_WRITE));
	aclose(&f);

	aopen(&f, NULL, 0);
	CHECK_EQ(acl_count(f.a), 1);
	size_t it = 0;
	const acl_binding_t *x = acl_next(f.a, &it);
	CHECK(x && !strcmp(x->principal, BOB) && x->ptype == ACL_PAT_PREFIXED);
	CHECK(!can(&f, ALICE, ACL_RES_TOPIC, "t1", ACL_OP_READ));
	aclose(&f);
}

static void fault(afx_t *f, const char *spec)
{
	sio_fault_t sf;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &sf, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(f->io, &sf), 0);
}

TEST(acl_write_failure_changes_nothing)
{
	afx_t f;
	aopen(&f, NULL, 0);
	acl_binding_t a =
	    B(ACL_RES_TOPIC, ACL_PAT_LITERAL, "t", ALICE, "*", ACL_OP_READ, ACL_PERM_ALLOW);
	acl_binding_t b =
	    B(ACL_RES_TOPIC, ACL_PAT_LITERAL, "u", ALICE, "*", ACL_OP_READ, ACL_PERM_ALLOW);
	CHECK_EQ(acl_create(f.a, &a), 0);
	/* A failed sync: the creation is refused and not applied. */
	fault(&f, "op=fsync,path=acls.journal,count=1,errno=EIO");
	CHECK(acl_create(f.a, &b) < 0);
	CHECK_EQ(acl_count(f.a), 1);
	CHECK(!can(&f, ALICE, ACL_RES_TOPIC, "u", ACL_OP_READ));
	sio_fault_clear(f.io);
	/* A failed deletion leaves every binding in place. */
	acl_binding_t all = B(ACL_RES_ANY, ACL_PAT_ANY, NULL, NULL, NULL, ACL_OP_ANY, ACL_PERM_ANY);
	fault(&f, "op=fsync,path=acls.journal,count=1,errno=ENOSPC");
	CHECK(acl_delete(f.a, &all, NULL, NULL) < 0);
	CHECK_EQ(acl_count(f.a), 1);
	CHECK(can(&f, ALICE, ACL_RES_TOPIC, "t", ACL_OP_READ));
	sio_fault_clear(f.io);
	/* The journal works again, and a reopening sees exactly what was
	 * acknowledged. */
	CHECK_EQ(acl_create(f.a, &b), 0);
	aclose(&f);
	aopen(&f, NULL, 0);
	CHECK_EQ(acl_count(f.a), 2);
	CHECK(can(&f, ALICE, ACL_RES_TOPIC, "t", ACL_OP_READ));
	CHECK(can(&f, ALICE, ACL_RES_TOPIC, "u", ACL_OP_READ));
	aclose(&f);
}

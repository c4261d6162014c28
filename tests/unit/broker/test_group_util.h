/*
 * test_group_util.h — helpers for the coordinator tests: a loop (and
 * syncer) fixture, recorders for JoinGroup/SyncGroup callbacks that copy
 * what they were given, and one-line wrappers for the module's calls.
 * Test code only, single thread.
 */
#ifndef SL_TESTS_GROUP_UTIL_H
#define SL_TESTS_GROUP_UTIL_H

#include "test.h"

#include "broker/dur.h"
#include "broker/group.h"
#include "core/buf.h"
#include "core/err.h"
#include "net/loop.h"
#include "net/memconn.h"
#include "net/tproto.h"
#include "store/syncer.h"

#include <stdlib.h>
#include <string.h>

typedef struct gfx {
	loop_t *loop;
	syncer_t *syncer;
	sio_t *io; /* the syncer's file interface: tests arm faults on it */
	log_t log;
	grp_opts_t opts;
	grp_coord_t *gc;
} gfx_t;

/* Options for tests: no initial delay, sessions from 1 ms, a day of
 * retention (tests that test retention lower it). */
static inline void gfx_opts(grp_opts_t *o)
{
	sl_config_t cfg;
	config_init(&cfg);
	grp_opts_from_config(o, &cfg);
	config_deinit(&cfg);
	o->initial_rebalance_delay_ms = 0;
	o->min_session_timeout_ms = 1;
	o->offsets_retention_ms = 24 * 3600 * 1000;
	o->retention_check_ms = 3600 * 1000;
}

static inline void gfx_init(gfx_t *fx, const char *dir)
{
	log_init(&fx->log, LOG_WARN, 2);
	fx->loop = loop_new(NULL);
	CHECK(fx->loop);
	fx->syncer = syncer_new(fx->loop, &fx->log);
	CHECK(fx->syncer);
	fx->io = sio_new();
	syncer_set_io(fx->syncer, fx->io);
	if (fx->opts.max_session_timeout_ms == 0)
		gfx_opts(&fx->opts);
	CHECK_EQ(grp_coord_open(&fx->gc, fx->loop, fx->syncer, &fx->log, &fx->opts, dir), 0);
}

static inline void gfx_close(gfx_t *fx)
{
	grp_coord_close(fx->gc);
	fx->gc = NULL;
	/* Let callbacks queued by the final syncs run. */
	loop_run_once(fx->loop, 0);
}

static inline void gfx_deinit(gfx_t *fx)
{
	if (fx->gc)
		gfx_close(fx);
	syncer_free(fx->syncer);
	sio_free(fx->io);
	loop_free(fx->loop);
}

/* Arms a fault rule in the store/sio.h syntax. */
static inline void gfx_fault(gfx_t *fx, const char *spec)
{
	sio_fault_t f;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &f, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(fx->io, &f), 0);
}

/* What a front does with an acknowledgement: hands a one-byte reply to the
 * coordinator's domain and waits for it. Returns 0 once it arrived (what
 * the domain held is durable, under fsync=always), or SL_EIO when the
 * domain failed it (the probe's connection is closed). */
static inline int gfx_ack(gfx_t *fx)
{
	tsrv_t ts;
	memset(&ts, 0, sizeof ts);
	memconn_t *m = memconn_new(fx->loop, &tproto, &ts, NULL);
	CHECK(m);
	dur_reply(grp_coord_dur(fx->gc), m->conn, "k", 1, NULL, NULL);
	buf_t out = BUF_INIT;
	int rc = SL_EIO;
	for (int i = 0; i < 100 && rc == SL_EIO; i++) {
		(void)memconn_recv_wait(m, &out, 1, 50);
		if (buf_len(&out) == 1)
			rc = 0;
		else if (conn_is_closed(m->conn))
			break;
	}
	CHECK(buf_len(&out) <= 1);
	buf_deinit(&out);
	memconn_free(m);
	return rc;
}

/* Runs loop turns until *flag is non-zero (bounded: 10 s). */
static inline void gfx_run_until(gfx_t *fx, const int *flag)
{
	for (int i = 0; i < 1000 && !*flag; i++)
		CHECK_EQ(loop_run_once(fx->loop, 10), 0);
	CHECK_MSG(*flag, "condition not reached in time");
}

/* Runs loop turns for about ms milliseconds. */
static inline void gfx_run_for(gfx_t *fx, int ms)
{
	int64_t end = loop_now_ms(fx->loop) + ms;
	for (int i = 0; i < 10000 && loop_now_ms(fx->loop) < end; i++)
		CHECK_EQ(loop_run_once(fx->loop, 5), 0);
}

/* --- JoinGroup recorder --- */

typedef struct jrec {
	int called;
	grp_err_t err;
	int32_t generation;
	char member_id[160];
	char leader_id[160];
	char protocol[64];
	int protocol_null;
	int skip;
	size_t nmembers;
	char members[8][160];
	char metas[8][64];
} jrec_t;

static inline void cpy(char *dst, size_t n, grp_str_t s)
{
	size_t k = s.len < 0 ? 0 : (size_t)s.len;
	if (k >= n)
		k = n - 1;
	if (k)
		memcpy(dst, s.p, k);
	dst[k] = 0;
}

static inline void on_join(void *arg, const grp_join_res_t *r)
{
	jrec_t *j = arg;
	j->called++;
	j->err = r->err;
	j->generation = r->generation;
	cpy(j->member_id, sizeof j->member_id, r->member_id);
	cpy(j->leader_id, sizeof j->leader_id, r->leader_id);
	cpy(j->protocol, sizeof j->protocol, r->protocol_name);
	j->protocol_null = r->protocol_name.len < 0;
	j->skip = r->skip_assignment;
	j->nmembers = r->nmembers;
	for (size_t i = 0; i < r->nmembers && i < 8; i++) {
		cpy(j->members[i], sizeof j->members[i], r->members[i].member_id);
		cpy(j->metas[i], sizeof j->metas[i], r->members[i].meta);
	}
}

/* Protocol lists as "name=meta,name=meta" for brevity. */
typedef struct plist {
	grp_protocol_t p[4];
	char store[256];
	size_t n;
} plist_t;

static inline void plist(plist_t *pl, const char *spec)
{
	memset(pl, 0, sizeof *pl);
	snprintf(pl->store, sizeof pl->store, "%s", spec);
	char *save = NULL;
	for (char *tok = strtok_r(pl->store, ",", &save); tok && pl->n < 4;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *meta = "";
		if (eq) {
			*eq = 0;
			meta = eq + 1;
		}
		pl->p[pl->n].name = grp_s(tok);
		pl->p[pl->n].meta = grp_s(meta);
		pl->n++;
	}
}

typedef struct jargs {
	const char *group;
	const char *member;   /* NULL: "" */
	const char *instance; /* NULL: none */
	const char *protos;   /* "range=a" */
	int32_t session_ms;
	int32_t rebalance_ms;
	int require_known;
	const char *protocol_type; /* NULL: "consumer" */
} jargs_t;

static inline void join_req(grp_coord_t *gc, const jargs_t *a, jrec_t *out)
{
	memset(out, 0, sizeof *out);
	plist_t pl;
	plist(&pl, a->protos ? a->protos : "range=m");
	grp_join_req_t req;
	memset(&req, 0, sizeof req);
	req.group_id = grp_s(a->group);
	req.member_id = grp_s(a->member ? a->member : "");
	req.instance_id = grp_s(a->instance);
	req.client_id = grp_s("cli");
	req.client_host = grp_s("/127.0.0.1");
	req.protocol_type = grp_s(a->protocol_type ? a->protocol_type : "consumer");
	req.session_timeout_ms = a->session_ms ? a->session_ms : 10000;
	req.rebalance_timeout_ms = a->rebalance_ms ? a->rebalance_ms : 10000;
	req.protocols = pl.p;
	req.nprotocols = pl.n;
	req.require_known_member_id = a->require_known;
	req.reason = GRP_NULL;
	grp_join(gc, &req, on_join, out);
}

/* --- SyncGroup recorder --- */

typedef struct srec {
	int called;
	grp_err_t err;
	char asg[128];
	int32_t asg_len;
	char protocol[64];
} srec_t;

static inline void on_sync(void *arg, const grp_sync_res_t *r)
{
	srec_t *s = arg;
	s->called++;
	s->err = r->err;
	s->asg_len = r->assignment.len;
	if (r->assignment.len > 0 && r->assignment.len < (int32_t)sizeof s->asg)
		memcpy(s->asg, r->assignment.p, (size_t)r->assignment.len);
	cpy(s->protocol, sizeof s->protocol, r->protocol_name);
}

/* assignments: alternating member id, assignment bytes; NULL-terminated. */
static inline void sync_req(grp_coord_t *gc, const char *group, const char *member, int32_t gen,
                            const char *const *asg, srec_t *out)
{
	memset(out, 0, sizeof *out);
	grp_assignment_t a[8];
	size_t n = 0;
	for (; asg && asg[2 * n] && n < 8; n++) {
		a[n].member_id = grp_s(asg[2 * n]);
		a[n].assignment = grp_s(asg[2 * n + 1]);
	}
	grp_sync_req_t req;
	memset(&req, 0, sizeof req);
	req.group_id = grp_s(group);
	req.member_id = grp_s(member);
	req.instance_id = GRP_NULL;
	req.generation = gen;
	req.protocol_type = GRP_NULL;
	req.protocol_name = GRP_NULL;
	req.assignments = a;
	req.nassignments = n;
	grp_sync(gc, &req, on_sync, out);
}

static inline grp_err_t hb(grp_coord_t *gc, const char *group, const char *member, int32_t gen)
{
	return grp_heartbeat(gc, grp_s(group), grp_s(member), GRP_NULL, gen);
}

static inline grp_state_t state_of(grp_coord_t *gc, const char *group)
{
	grp_desc_t d;
	CHECK_EQ(grp_describe(gc, grp_s(group), &d), GRP_ERR_OK);
	grp_state_t s = d.state;
	grp_desc_free(&d);
	return s;
}

/* Joins a fresh member (no MEMBER_ID_REQUIRED round trip) and returns its
 * recorder; the answer comes when the rebalance completes. */
static inline void join_new(gfx_t *fx, const char *group, const char *protos, jrec_t *out)
{
	jargs_t a = {group, NULL, NULL, protos, 0, 0, 0, NULL};
	join_req(fx->gc, &a, out);
}

/* A consumer-protocol subscription (version 0) for the given topics. */
static inline size_t subscription(char *out, size_t cap, const char *const *topics)
{
	buf_t b = BUF_INIT;
	buf_put_be16(&b, 0);
	size_t n = 0;
	while (topics[n])
		n++;
	buf_put_be32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		buf_put_be16(&b, (uint16_t)strlen(topics[i]));
		buf_puts(&b, topics[i]);
	}
	buf_put_be32(&b, UINT32_MAX); /* null user data */
	size_t len = buf_len(&b);
	CHECK(len <= cap);
	memcpy(out, buf_data(&b), len);
	buf_deinit(&b);
	return len;
}

#endif

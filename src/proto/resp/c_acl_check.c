/*
 * c_acl_check.c — the RESP front's ACL enforcement: the compiled rules of
 * each user (a cache over the user database's rule texts), the check of
 * dispatch, MULTI and scripts, AUTH against the rules' passwords, ACL LOG,
 * and closing connections that lost their user or their channels.
 *
 * The rules are read from the user database (broker/users.h) at every
 * command: the cache only saves parsing, keyed by user name and checked
 * against the stored text, so a change applies at once to connected
 * clients. The ACL LOG lives in memory, as in Redis (lost on restart).
 * Loop thread only.
 */
#include "broker/users.h"
#include "core/map.h"
#include "core/time.h"
#include "proto/resp/acl_rules.h"
#include "proto/resp/c_lists.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACL_LOG_GROUP_MS 60000 /* Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA */
#define ACL_LOG_GROUP_SCAN 10  /* how many recent entries an entry may join */

typedef struct acl_cached {
	char *text;
	acl_user_t u;
} acl_cached_t;

typedef struct acl_log_entry {
	int64_t count;
	const char *reason, *context; /* static strings */
	char *object, *username, *cinfo;
	int64_t ctime_ms; /* wall */
} acl_log_entry_t;

struct resp_acl {
	map_t cache;          /* user name → acl_cached_t */
	acl_log_entry_t *log; /* newest first */
	size_t nlog;
};

static struct resp_acl *state(resp_srv_t *srv)
{
	if (!srv->acl) {
		srv->acl = calloc(1, sizeof *srv->acl);
		if (!srv->acl)
			abort();
		map_init(&srv->acl->cache);
	}
	return srv->acl;
}

static void entry_free(acl_log_entry_t *e)
{
	free(e->object);
	free(e->username);
	free(e->cinfo);
}

static void log_reset(struct resp_acl *a)
{
	for (size_t i = 0; i < a->nlog; i++)
		entry_free(&a->log[i]);
	free(a->log);
	a->log = NULL;
	a->nlog = 0;
}

void resp_acl_free(resp_srv_t *srv)
{
	struct resp_acl *a = srv->acl;
	if (!a)
		return;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&a->cache, &it, &k, &kl, &v)) {
		acl_cached_t *c = v;
		free(c->text);
		acl_user_deinit(&c->u);
		free(c);
	}
	map_deinit(&a->cache);
	log_reset(a);
	free(a);
	srv->acl = NULL;
}

static users_t *db(resp_srv_t *srv)
{
	return srv->b ? srv->b->users : NULL;
}

/* The default user when the database has none: requirepass is its
 * password (Redis's rule); without one it is nopass, and disabled while
 * other users exist (c_conn.c). */
static char *default_text(resp_srv_t *srv)
{
	const char *rp = srv->cfg->requirepass;
	acl_user_t u;
	acl_user_init(&u);
	u.on = (rp && *rp) || !users_enabled(db(srv));
	u.allkeys = u.allchans = u.allcmds = 1;
	char *text;
	if (rp && *rp) {
		size_t n = strlen(rp) + 2;
		char *m = malloc(n);
		if (!m)
			abort();
		snprintf(m, n, ">%s", rp);
		const char *why;
		(void)acl_apply(&u, m, n - 1, &why);
		free(m);
	} else {
		u.nopass = 1;
	}
	text = acl_describe(&u);
	acl_user_deinit(&u);
	return text;
}

const acl_user_t *resp_acl_user(resp_srv_t *srv, const char *name, size_t n)
{
	const user_t *x = db(srv) ? users_find(db(srv), name, n) : NULL;
	char *dflt = NULL;
	if (!x && !(n == 7 && memcmp(name, "default", 7) == 0))
		return NULL;
	const char *text = x ? x->acl : (dflt = default_text(srv));
	struct resp_acl *a = state(srv);
	acl_cached_t *c = map_get(&a->cache, name, n);
	if (c && strcmp(c->text, text) != 0) {
		free(c->text);
		acl_user_deinit(&c->u);
		c->text = NULL;
	} else if (!c) {
		c = calloc(1, sizeof *c);
		if (!c)
			abort();
		map_put(&a->cache, name, n, c);
	}
	if (!c->text) {
		c->text = strdup(text);
		if (!c->text)
			abort();
		acl_user_from_text(&c->u, text);
	}
	free(dflt);
	return &c->u;
}

/* --- ACL LOG ------------------------------------------------------------------- */

static const char *const contexts[] = {"toplevel", "multi", "lua"};

void resp_acl_log(resp_cli_t *cl, const char *reason, int ctx, const char *obj, size_t objn,
                  const char *user)
{
	resp_srv_t *srv = cl->srv;
	struct resp_acl *a = state(srv);
	int64_t now = time_wall_ms();
	buf_t info = BUF_INIT;
	resp_client_line(&info, cl);
	char *cinfo =
	    strndup((const char *)buf_data(&info), buf_len(&info) - 1); /* without its "\n" */
	buf_deinit(&info);
	if (!cinfo)
		abort();
	for (size_t i = 0; i < a->nlog && i < ACL_LOG_GROUP_SCAN; i++) {
		acl_log_entry_t *e = &a->log[i];
		if (e->reason == reason && e->context == contexts[ctx] &&
		    strlen(e->object) == objn && memcmp(e->object, obj, objn) == 0 &&
		    strcmp(e->username, user) == 0 && now - e->ctime_ms <= ACL_LOG_GROUP_MS) {
			acl_log_entry_t keep = *e; /* joins it, and moves to the head */
			keep.count++;
			keep.ctime_ms = now;
			free(keep.cinfo);
			keep.cinfo = cinfo;
			memmove(&a->log[1], &a->log[0], i * sizeof *a->log);
			a->log[0] = keep;
			return;
		}
	}
	int64_t max = srv->acllog_max_len;
	a->log = realloc(a->log, (a->nlog + 1) * sizeof *a->log);
	if (!a->log)
		abort();
	memmove(&a->log[1], &a->log[0], a->nlog * sizeof *a->log);
	a->log[0] = (acl_log_entry_t){
	    1, reason, contexts[ctx], strndup(obj, objn), strdup(user), cinfo, now};
	if (!a->log[0].object || !a->log[0].username)
		abort();
	a->nlog++;
	while (a->nlog > 0 && (int64_t)a->nlog > max)
		entry_free(&a->log[--a->nlog]);
}

RESP_HANDLER(resp_c_acl_log)
{
	struct resp_acl *a = state(cl->srv);
	int64_t count = 10;
	if (argc > 3) {
		resp_errorf(
		    cl->out,
		    "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try ACL "
		    "HELP.",
		    (int)(argv[1].len < 64 ? argv[1].len : 64), argv[1].p);
		return 0;
	}
	if (argc == 3 && resp_arg_is(&argv[2], "reset")) {
		log_reset(a);
		resp_ok(cl->out);
		return 0;
	}
	if (argc == 3 && resp_arg_ll_or_reply(cl, &argv[2], &count) < 0)
		return 0;
	size_t n = count < 0 ? 0 : (size_t)count < a->nlog ? (size_t)count : a->nlog;
	int64_t now = time_wall_ms();
	resp_array(cl->out, n);
	for (size_t i = 0; i < n; i++) {
		const acl_log_entry_t *e = &a->log[i];
		buf_t *o = cl->out;
		resp_map(o, cl->proto, 7);
		resp_bulk_str(o, "count");
		resp_int(o, e->count);
		resp_bulk_str(o, "reason");
		resp_bulk_str(o, e->reason);
		resp_bulk_str(o, "context");
		resp_bulk_str(o, e->context);
		resp_bulk_str(o, "object");
		resp_bulk_str(o, e->object);
		resp_bulk_str(o, "username");
		resp_bulk_str(o, e->username);
		resp_bulk_str(o, "age-seconds");
		resp_double(o, cl->proto, (double)(now - e->ctime_ms) / 1000.0);
		resp_bulk_str(o, "client-info");
		resp_bulk_str(o, e->cinfo);
	}
	return 0;
}

/* --- the checks ---------------------------------------------------------------- */

int resp_acl_denied(resp_cli_t *cl, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc,
                    const resp_arg_t *argv, int ctx)
{
	if (!cl->user)
		return RESP_ACL_OK;
	const acl_user_t *u = resp_acl_user(cl->srv, cl->user, strlen(cl->user));
	if (!u)
		return RESP_ACL_GONE;
	int bad, v = acl_check(u, parent, cmd, argc, argv, &bad);
	if (v == RESP_ACL_CMD) {
		char full[160];
		if (parent)
			snprintf(full, sizeof full, "%s|%s", parent->name, cmd->name);
		else
			snprintf(full, sizeof full, "%s", cmd->name);
		resp_acl_log(cl, "command", ctx, full, strlen(full), cl->user);
	} else if (v == RESP_ACL_KEY || v == RESP_ACL_CHANNEL) {
		resp_acl_log(cl, v == RESP_ACL_KEY ? "key" : "channel", ctx, argv[bad].p,
		             argv[bad].len, cl->user);
	}
	return v;
}

int resp_acl_check(resp_cli_t *cl, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc,
                   const resp_arg_t *argv, int ctx)
{
	int v = resp_acl_denied(cl, parent, cmd, argc, argv, ctx);
	if (v != RESP_ACL_OK && v != RESP_ACL_GONE && resp_lx_in_exec(cl)) {
		/* Redis 7.0's execCommand checks again: the rules changed since
		 * the command was queued. */
		static const char *const why[] = {
		    [RESP_ACL_CMD] = "no permission to execute the command or subcommand",
		    [RESP_ACL_KEY] = "no permission to touch the specified keys",
		    [RESP_ACL_CHANNEL] = "no permission to access one of the channels used as "
		                         "arguments"};
		resp_errorf(cl->out,
		            "NOPERM ACLs rules changed between the moment the transaction was "
		            "accumulated and the EXEC call. This command is no longer allowed for "
		            "the following reason: %s",
		            why[v]);
		return 1;
	}
	switch (v) {
	case RESP_ACL_GONE:
		resp_error(cl->out, "ERR the user of this connection was deleted");
		return -1; /* Redis disconnects a deleted user's clients */
	case RESP_ACL_CMD:
		if (parent)
			resp_errorf(
			    cl->out,
			    "NOPERM this user has no permissions to run the '%s|%s' command",
			    parent->name, cmd->name);
		else
			resp_errorf(cl->out,
			            "NOPERM this user has no permissions to run the '%s' command",
			            cmd->name);
		return 1;
	case RESP_ACL_KEY:
		resp_error(cl->out, "NOPERM this user has no permissions to access one of the keys "
		                    "used as arguments");
		return 1;
	case RESP_ACL_CHANNEL:
		resp_error(cl->out, "NOPERM this user has no permissions to access one of the "
		                    "channels used as arguments");
		return 1;
	}
	return 0;
}

/* --- AUTH ---------------------------------------------------------------------- */

int resp_acl_auth(resp_cli_t *cl, const char *name, size_t n, const char *pass, size_t passn)
{
	users_t *d = db(cl->srv);
	const user_t *x = users_find(d, name, n);
	const acl_user_t *u = resp_acl_user(cl->srv, name, n);
	const char *peer = cl->c->peer;
	int ok = 0;
	if (!x || !u) {
		/* the same work and log as a wrong password: no user enumeration */
		(void)users_check_password(d, name, n, pass, passn, peer);
	} else if (!u->on) {
		users_login_result(d, name, n, 0, "redis-acl-off", peer);
	} else if (users_may_try(d, name, n, peer) < 0) {
		users_login_result(d, name, n, 0, "locked", peer); /* locked out for a while */
	} else if (u->nopass || acl_pass_ok(u, pass, passn)) {
		users_login_result(d, name, n, 1, "redis-acl", peer);
		ok = 1;
	} else if (x->scram[0].set || x->scram[1].set) {
		/* a user with Kafka (SCRAM) credentials */
		ok = users_check_password(d, name, n, pass, passn, peer) == 0;
	} else {
		users_login_result(d, name, n, 0, "redis-acl", peer);
	}
	if (!ok) {
		char *who = strndup(name, n);
		if (!who)
			abort();
		resp_acl_log(cl, "auth", 0, "AUTH", 4, who);
		free(who);
	}
	return ok;
}

/* --- connections that lost their user or channels ------------------------------ */

struct kick {
	resp_srv_t *srv;
	const char *user;
};

static int subs_allowed(resp_cli_t *cl, const acl_user_t *u)
{
	struct resp_lxcli *x = cl->lx;
	if (!x || u->allchans)
		return 1;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&x->chans, &it, &k, &kl, &v))
		if (!acl_chan_ok(u, k, kl, 0))
			return 0;
	for (size_t i = 0; i < x->npats; i++)
		if (!acl_chan_ok(u, x->pats[i].p, x->pats[i].len, 1))
			return 0;
	return 1;
}

static void kick_one(conn_t *c, void *arg)
{
	struct kick *k = arg;
	resp_cli_t *cl = c->pdata;
	if (!cl || cl->srv != k->srv || conn_is_closed(c))
		return;
	/* Connections logged in as the built-in default user (requirepass, or
	 * no AUTH) become the database's "default" once it has rules, as in
	 * Redis where they always were that user. */
	if (!cl->user && cl->authed && !strcmp(k->user, "default") &&
	    users_find(db(k->srv), "default", 7) && !(cl->user = strdup("default")))
		abort();
	if (!cl->user || strcmp(cl->user, k->user) != 0)
		return;
	const acl_user_t *u = resp_acl_user(k->srv, cl->user, strlen(cl->user));
	if (!u || !subs_allowed(cl, u))
		conn_close(c, 1);
}

void resp_acl_kick(resp_cli_t *cl, const char *user)
{
	struct kick k = {cl->srv, user};
	conn_foreach(cl->c->loop, kick_one, &k);
}

/*
 * c_conn.c — connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH,
 * HELLO and CLIENT *. Replies and error texts are Redis 7.0's; HELLO
 * reports version 7.0.15 so that clients enable the features sluice has
 * (RESP3, XAUTOCLAIM's three-element reply). Loop thread only.
 */
#include "proto/resp/acl_rules.h"
#include "proto/resp/c_admin.h"
#include "proto/resp/c_lists.h"
#include "proto/resp/resp.h"

#include "broker/users.h"
#include "core/time.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESP_REDIS_VERSION "7.0.15"

RESP_HANDLER(resp_c_ping)
{
	if (argc > 2) {
		resp_err_arity(cl, "ping");
		return 0;
	}
	if (argc == 1)
		buf_append(cl->out, "+PONG\r\n", 7);
	else
		resp_bulk(cl->out, argv[1].p, argv[1].len);
	return 0;
}

RESP_HANDLER(resp_c_echo)
{
	(void)argc;
	resp_bulk(cl->out, argv[1].p, argv[1].len);
	return 0;
}

RESP_HANDLER(resp_c_quit)
{
	(void)argc;
	(void)argv;
	resp_ok(cl->out);
	cl->closing = 1;
	return 0;
}

static int has_requirepass(const resp_srv_t *srv)
{
	const char *p = srv->cfg->requirepass;
	return p && *p;
}

/* Whether a new connection starts unauthenticated: requirepass is set, or
 * the broker's user database has users (then the "default" user has no
 * password unless requirepass gives it one or the database holds a user
 * named "default": it is disabled, not open to everyone). */
int resp_auth_required(const resp_srv_t *srv)
{
	return has_requirepass(srv) || (srv->b && users_enabled(srv->b->users));
}

static int has_password(const resp_cli_t *cl)
{
	return resp_auth_required(cl->srv);
}

static void set_authed(resp_cli_t *cl, int authed)
{
	cl->authed = authed;
	cl->parser.unauth = !authed;
}

void resp_conn_default(resp_cli_t *cl)
{
	free(cl->user);
	cl->user = NULL;
	users_t *db = cl->srv->b ? cl->srv->b->users : NULL;
	if (db && users_find(db, "default", 7)) {
		const acl_user_t *u = resp_acl_user(cl->srv, "default", 7);
		int open = u && u->on && u->nopass;
		set_authed(cl, open);
		if (open && !(cl->user = strdup("default")))
			abort();
		return;
	}
	set_authed(cl, !resp_auth_required(cl->srv));
}

RESP_HANDLER(resp_c_reset)
{
	(void)argc;
	(void)argv;
	cl->proto = 2;
	free(cl->name);
	cl->name = NULL;
	resp_conn_default(cl);
	resp_simple(cl->out, "RESET");
	return 0;
}

RESP_HANDLER(resp_c_select)
{
	(void)argc;
	int64_t id;
	if (resp_arg_ll(&argv[1], &id) < 0 || id < INT32_MIN || id > INT32_MAX) {
		resp_err_int(cl);
		return 0;
	}
	if (id != 0) {
		resp_error(cl->out, "ERR DB index is out of range");
		return 0;
	}
	resp_ok(cl->out);
	return 0;
}

/* Checks user/password: a user of the broker's database (users.h, the
 * same users as Kafka SASL), or "default" with requirepass. Returns 1 when
 * they match. Comparisons are constant-time; failures are logged with the
 * user and the peer by users.c (requirepass failures here). */
static int check_auth(resp_cli_t *cl, const resp_arg_t *user, const resp_arg_t *pass)
{
	users_t *db = cl->srv->b ? cl->srv->b->users : NULL;
	const char *name = user ? user->p : "default";
	size_t namelen = user ? user->len : 7;
	int is_default = namelen == 7 && memcmp(name, "default", 7) == 0;
	if (db && (!is_default || users_find(db, name, namelen))) {
		if (!resp_acl_auth(cl, name, namelen, pass->p, pass->len)) /* c_acl_check.c */
			return 0;
		free(cl->user); /* commands are checked against this user's rules */
		cl->user = strndup(name, namelen);
		if (!cl->user)
			abort();
		return 1;
	}
	if (!is_default)
		return 0;
	if (!has_requirepass(cl->srv)) {
		if (has_password(cl))
			return 0; /* users exist: the default user is disabled */
		free(cl->user);   /* "default" is nopass */
		cl->user = NULL;
		return 1;
	}
	const char *want = cl->srv->cfg->requirepass;
	size_t wl = strlen(want);
	int ok = pass->len == wl && CRYPTO_memcmp(pass->p, want, wl) == 0;
	if (!ok && db)
		users_login_result(db, "default", 7, 0, "requirepass", cl->c->peer);
	if (!ok)
		resp_acl_log(cl, "auth", 0, "AUTH", 4, "default");
	if (ok) { /* now the default user: no per-user rules */
		free(cl->user);
		cl->user = NULL;
	}
	return ok;
}

RESP_HANDLER(resp_c_auth)
{
	if (argc > 3) {
		resp_err_syntax(cl);
		return 0;
	}
	if (argc == 2 && !has_password(cl) &&
	    !(cl->srv->b && cl->srv->b->users && users_find(cl->srv->b->users, "default", 7))) {
		resp_error(cl->out,
		           "ERR AUTH <password> called without any password configured for "
		           "the default user. Are you sure your configuration is correct?");
		return 0;
	}
	if (!check_auth(cl, argc == 3 ? &argv[1] : NULL, &argv[argc - 1])) {
		resp_error(cl->out,
		           "WRONGPASS invalid username-password pair or user is disabled.");
		return 0;
	}
	set_authed(cl, 1);
	resp_ok(cl->out);
	return 0;
}

/* Validates and sets the client name like Redis's clientSetNameOrReply. */
static int set_name(resp_cli_t *cl, const resp_arg_t *a)
{
	for (size_t i = 0; i < a->len; i++) {
		if (a->p[i] < '!' || a->p[i] > '~') {
			resp_error(cl->out,
			           "ERR Client names cannot contain spaces, newlines or special "
			           "characters.");
			return -1;
		}
	}
	free(cl->name);
	cl->name = NULL;
	if (a->len) {
		cl->name = malloc(a->len + 1);
		if (!cl->name)
			abort();
		memcpy(cl->name, a->p, a->len);
		cl->name[a->len] = 0;
	}
	return 0;
}

RESP_HANDLER(resp_c_hello)
{
	int64_t ver = 0;
	int next = 1;
	const resp_arg_t *user = NULL, *pass = NULL, *name = NULL;
	if (argc >= 2) {
		if (resp_arg_ll(&argv[1], &ver) < 0) {
			resp_error(cl->out,
			           "ERR Protocol version is not an integer or out of range");
			return 0;
		}
		next = 2;
		if (ver < 2 || ver > 3) {
			resp_error(cl->out, "NOPROTO unsupported protocol version");
			return 0;
		}
	}
	for (int j = next; j < argc; j++) {
		int more = argc - 1 - j;
		if (resp_arg_is(&argv[j], "auth") && more >= 2) {
			user = &argv[j + 1];
			pass = &argv[j + 2];
			j += 2;
		} else if (resp_arg_is(&argv[j], "setname") && more) {
			name = &argv[j + 1];
			j++;
		} else {
			resp_errorf(cl->out, "ERR Syntax error in HELLO option '%.*s'",
			            (int)argv[j].len, argv[j].p);
			return 0;
		}
	}
	if (user) {
		if (!check_auth(cl, user, pass)) {
			resp_error(cl->out,
			           "WRONGPASS invalid username-password pair or user is disabled.");
			return 0;
		}
		set_authed(cl, 1);
	}
	if (!cl->authed) {
		resp_error(cl->out,
		           "NOAUTH HELLO must be called with the client already authenticated, "
		           "otherwise the HELLO AUTH <user> <pass> option can be used to "
		           "authenticate the client and select the RESP protocol version at the "
		           "same time");
		return 0;
	}
	if (name && set_name(cl, name) < 0)
		return 0;
	if (ver)
		cl->proto = (int)ver;
	buf_t *o = cl->out;
	resp_map(o, cl->proto, 7);
	resp_bulk_str(o, "server");
	resp_bulk_str(o, "redis");
	resp_bulk_str(o, "version");
	resp_bulk_str(o, RESP_REDIS_VERSION);
	resp_bulk_str(o, "proto");
	resp_int(o, cl->proto);
	resp_bulk_str(o, "id");
	resp_int(o, (int64_t)cl->c->id);
	resp_bulk_str(o, "mode");
	resp_bulk_str(o, "standalone");
	resp_bulk_str(o, "role");
	resp_bulk_str(o, "master");
	resp_bulk_str(o, "modules");
	resp_array(o, 0);
	return 0;
}

RESP_HANDLER(resp_c_client_setname)
{
	(void)argc;
	if (set_name(cl, &argv[2]) == 0)
		resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_client_getname)
{
	(void)argc;
	(void)argv;
	if (cl->name)
		resp_bulk_str(cl->out, cl->name);
	else
		resp_null(cl->out, cl->proto);
	return 0;
}

RESP_HANDLER(resp_c_client_id)
{
	(void)argc;
	(void)argv;
	resp_int(cl->out, (int64_t)cl->c->id);
	return 0;
}

/* Redis 7.0's flag letters, in its order. */
static void client_flags(const resp_cli_t *cl, char *f)
{
	char *p = f;
	if (cl->monitor)
		*p++ = 'O';
	if (resp_cli_type(cl) == RESP_CT_PUBSUB)
		*p++ = 'P';
	if (cl->lx && cl->lx->in_multi)
		*p++ = 'x';
	if (cl->blk || cl->held)
		*p++ = 'b';
	if (cl->lx && cl->lx->watch_dirty)
		*p++ = 'd';
	if (cl->closing)
		*p++ = 'c';
	if (cl->no_evict)
		*p++ = 'e';
	if (p == f)
		*p++ = 'N';
	*p = 0;
}

/* The last command's name, "parent|sub" for a subcommand (7.0's
 * fullname). */
static void client_cmd(const resp_cli_t *cl, char *out, size_t n)
{
	const resp_cmd_t *par = cl->last_parent;
	if (!cl->last_cmd) {
		snprintf(out, n, "NULL");
		return;
	}
	for (const resp_cmd_t *s = par ? par->subs : NULL; s && s->name; s++) {
		if (s->name == cl->last_cmd) {
			snprintf(out, n, "%s|%s", par->name, s->name);
			return;
		}
	}
	snprintf(out, n, "%s", cl->last_cmd);
}

static void client_line(buf_t *b, resp_cli_t *cl, int64_t now_wall, int64_t now_mono)
{
	char flags[16], laddr[128], cmd[80];
	client_flags(cl, flags);
	resp_cli_sockname(cl, laddr, sizeof laddr);
	client_cmd(cl, cmd, sizeof cmd);
	const resp_lxcli_t *x = cl->lx;
	size_t out = conn_out_pending(cl->c);
	buf_printf(
	    b,
	    "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=0 sub=%zu "
	    "psub=%zu ssub=0 multi=%lld qbuf=%zu qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 "
	    "rbp=0 obl=0 oll=0 omem=%zu tot-mem=0 events=%s cmd=%s user=%s redir=-1 resp=%d "
	    "lib-name=%s lib-ver=%s\n",
	    (unsigned long long)cl->c->id, cl->c->peer, laddr, cl->c->fd, cl->name ? cl->name : "",
	    (long long)((now_wall - cl->ctime_ms) / 1000),
	    (long long)((now_mono - cl->last_ms) / 1000), flags, x ? map_len(&x->chans) : 0,
	    x ? x->npats : 0, x && x->in_multi ? (long long)x->nq : -1LL, buf_len(&cl->c->in), out,
	    out ? "rw" : "r", cmd, cl->user ? cl->user : "default", cl->proto,
	    cl->lib_name ? cl->lib_name : "", cl->lib_ver ? cl->lib_ver : "");
}

void resp_client_line(buf_t *b, resp_cli_t *cl)
{
	client_line(b, cl, time_wall_ms(), time_mono_ms());
}

struct list_ctx {
	buf_t *b;
	resp_srv_t *srv;
	int type; /* -1: any */
	const resp_arg_t *ids;
	int nids;
};

static int id_listed(const struct list_ctx *x, uint64_t id)
{
	for (int i = 0; i < x->nids; i++) {
		int64_t v;
		if (resp_arg_ll(&x->ids[i], &v) == 0 && (uint64_t)v == id)
			return 1;
	}
	return 0;
}

static void list_one(conn_t *c, void *arg)
{
	struct list_ctx *x = arg;
	resp_cli_t *cl = c->pdata;
	if (!cl || cl->srv != x->srv || conn_is_closed(c))
		return;
	if (x->type >= 0 && resp_cli_type(cl) != x->type)
		return;
	if (x->ids && !id_listed(x, cl->c->id))
		return;
	client_line(x->b, cl, time_wall_ms(), time_mono_ms());
}

/* CLIENT LIST [TYPE type] [ID id...], Redis 7.0's checks and texts. */
RESP_HANDLER(resp_c_client_list)
{
	buf_t tmp = BUF_INIT;
	struct list_ctx x = {&tmp, cl->srv, -1, NULL, 0};
	if (argc == 4 && resp_arg_is(&argv[2], "type")) {
		x.type = resp_cli_type_by_name(&argv[3]);
		if (x.type == -2) {
			resp_errorf(cl->out, "ERR Unknown client type '%.*s'", (int)argv[3].len,
			            argv[3].p);
			return 0;
		}
	} else if (argc > 3 && resp_arg_is(&argv[2], "id")) {
		for (int j = 3; j < argc; j++) {
			int64_t v;
			if (resp_arg_ll(&argv[j], &v) < 0 || v <= 0) {
				resp_error(cl->out, "ERR Invalid client ID");
				return 0;
			}
		}
		x.ids = &argv[3];
		x.nids = argc - 3;
	} else if (argc != 2) {
		resp_err_syntax(cl);
		return 0;
	}
	conn_foreach(cl->c->loop, list_one, &x);
	resp_verbatim(cl->out, cl->proto, buf_data(&tmp), buf_len(&tmp));
	buf_deinit(&tmp);
	return 0;
}

RESP_HANDLER(resp_c_client_info)
{
	(void)argc;
	(void)argv;
	buf_t tmp = BUF_INIT;
	resp_client_line(&tmp, cl);
	resp_verbatim(cl->out, cl->proto, buf_data(&tmp), buf_len(&tmp));
	buf_deinit(&tmp);
	return 0;
}

static int set_str(char **dst, const resp_arg_t *a)
{
	for (size_t i = 0; i < a->len; i++)
		if (a->p[i] < '!' || a->p[i] > '~')
			return -1;
	free(*dst);
	*dst = malloc(a->len + 1);
	if (!*dst)
		abort();
	memcpy(*dst, a->p, a->len);
	(*dst)[a->len] = 0;
	return 0;
}

/* CLIENT SETINFO is Redis 7.2's; clients send it on connect and ignore
 * errors, so answering it as 7.2 does costs nothing. */
RESP_HANDLER(resp_c_client_setinfo)
{
	(void)argc;
	char **dst;
	if (resp_arg_is(&argv[2], "lib-name"))
		dst = &cl->lib_name;
	else if (resp_arg_is(&argv[2], "lib-ver"))
		dst = &cl->lib_ver;
	else {
		resp_errorf(cl->out, "ERR Unrecognized option '%.*s'", (int)argv[2].len, argv[2].p);
		return 0;
	}
	if (set_str(dst, &argv[3]) < 0) {
		resp_errorf(cl->out,
		            "ERR %s cannot contain spaces, newlines or special characters.",
		            dst == &cl->lib_name ? "lib-name" : "lib-ver");
		return 0;
	}
	resp_ok(cl->out);
	return 0;
}

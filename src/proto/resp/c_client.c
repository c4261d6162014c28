/*
 * c_client.c — the CLIENT subcommands that act on connections, as Redis
 * 7.0's clientCommand: KILL (the old "addr" form and the filters ID, ADDR,
 * LADDR, TYPE, USER, SKIPME), PAUSE / UNPAUSE, UNBLOCK, REPLY, NO-EVICT,
 * HELP, and TRACKING / TRACKINGINFO / GETREDIR for a server without
 * client-side caching (TRACKING ON is refused with a clear error, OFF is
 * accepted).
 *
 * CLIENT PAUSE holds back, until the pause ends, every request (ALL) or
 * those that may write (WRITE: write commands, EVAL/EVALSHA/FCALL,
 * PUBLISH, EXEC): dispatch asks resp_pause_hold() before running one,
 * and a held client's connection is paused with its request left unread
 * in the input, so it runs, in order, when the timer or UNPAUSE resumes
 * it. Loop thread only.
 */
#include "proto/resp/c_admin.h"
#include "proto/resp/c_types.h"
#include "proto/resp/c_lists.h"

#include "broker/users.h"
#include "core/time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* --- PAUSE ---------------------------------------------------------------------- */

static void pause_end(resp_srv_t *srv)
{
	struct resp_admin *a = srv->adm;
	a->pause_until = 0;
	a->pause_all = 0;
	if (loop_timer_armed(&a->pause_timer))
		loop_timer_stop(srv->b->loop, &a->pause_timer);
	/* Resumed in arrival order: each runs its held request from its
	 * connection's end-of-turn task. */
	for (size_t i = 0; i < a->nheld; i++) {
		resp_cli_t *cl = a->held[i];
		cl->held = 0;
		if (!conn_is_closed(cl->c))
			conn_resume(cl->c);
	}
	a->nheld = 0;
}

void resp_pause_timer(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	pause_end(t->arg);
}

/* Redis 7.0's "may replicate" commands besides the write ones. */
static int may_write(const resp_cmd_t *cmd)
{
	static const char *const names[] = {"eval",     "evalsha", "fcall", "publish",
	                                    "spublish", "pfcount", "exec",  NULL};
	if (cmd->flags & RESP_CMD_WRITE)
		return 1;
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(cmd->name, names[i]))
			return 1;
	return 0;
}

int resp_pause_hold(resp_cli_t *cl, const resp_cmd_t *cmd)
{
	struct resp_admin *a = cl->srv->adm;
	if (!a || !a->pause_until || resp_lx_in_exec(cl))
		return 0;
	if (!a->pause_all && (!cmd || !may_write(cmd)))
		return 0;
	a->held = resp_admin_grow(a->held, &a->held_cap, a->nheld, sizeof *a->held);
	a->held[a->nheld++] = cl;
	cl->held = 1;
	conn_pause(cl->c);
	return 1;
}

/* Redis's getTimeoutFromObjectOrReply in milliseconds. */
static int parse_timeout_ms(resp_cli_t *cl, const resp_arg_t *a, int64_t *ms)
{
	if (resp_arg_ll(a, ms) < 0) {
		resp_error(cl->out, "ERR timeout is not an integer or out of range");
		return -1;
	}
	if (*ms < 0) {
		resp_error(cl->out, "ERR timeout is negative");
		return -1;
	}
	return 0;
}

RESP_HANDLER(resp_c_client_pause)
{
	int64_t ms;
	if (argc > 4) {
		resp_err_syntax(cl);
		return 0;
	}
	if (parse_timeout_ms(cl, &argv[2], &ms) < 0)
		return 0;
	int all = 1;
	if (argc == 4) {
		if (resp_arg_is(&argv[3], "write")) {
			all = 0;
		} else if (!resp_arg_is(&argv[3], "all")) {
			resp_error(cl->out, "ERR CLIENT PAUSE mode must be WRITE or ALL");
			return 0;
		}
	}
	resp_srv_t *srv = cl->srv;
	struct resp_admin *a = resp_admin(srv);
	int64_t now = time_mono_ms();
	int64_t until = ms > INT64_MAX - now ? INT64_MAX : now + ms;
	/* A second pause can only widen (ALL over WRITE) and lengthen one in
	 * progress, as in Redis. */
	if (!a->pause_until) {
		a->pause_all = all;
		a->pause_until = until;
	} else {
		a->pause_all |= all;
		if (until > a->pause_until)
			a->pause_until = until;
	}
	loop_timer_start_at(srv->b->loop, &a->pause_timer, a->pause_until);
	resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_client_unpause)
{
	(void)argc;
	(void)argv;
	if (cl->srv->adm && cl->srv->adm->pause_until)
		pause_end(cl->srv);
	resp_ok(cl->out);
	return 0;
}

/* --- finding clients ------------------------------------------------------------- */

typedef struct {
	resp_srv_t *srv;
	resp_cli_t **v;
	size_t n, cap;
} cli_list_t;

static void collect_one(conn_t *c, void *arg)
{
	cli_list_t *x = arg;
	resp_cli_t *cl = c->pdata;
	if (!cl || cl->srv != x->srv || conn_is_closed(c))
		return;
	x->v = resp_admin_grow(x->v, &x->cap, x->n, sizeof *x->v);
	x->v[x->n++] = cl;
}

/* Every open client of this front (the caller frees x->v). */
static void collect(resp_cli_t *cl, cli_list_t *x)
{
	memset(x, 0, sizeof *x);
	x->srv = cl->srv;
	conn_foreach(cl->c->loop, collect_one, x);
}

static resp_cli_t *find_id(resp_cli_t *cl, uint64_t id)
{
	cli_list_t x;
	collect(cl, &x);
	resp_cli_t *hit = NULL;
	for (size_t i = 0; i < x.n && !hit; i++)
		if (x.v[i]->c->id == id)
			hit = x.v[i];
	free(x.v);
	return hit;
}

/* The local address "ip:port" as Redis's getClientSockname prints it. */
void resp_cli_sockname(const resp_cli_t *cl, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (getsockname(cl->c->fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
			port = ntohs(s->sin_port);
		} else if (ss.ss_family == AF_UNIX) {
			/* Redis prints a unix socket's local end as "<path>:0". */
			struct sockaddr_un *s = (struct sockaddr_un *)&ss;
			snprintf(out, n, "%.*s:0", (int)sizeof s->sun_path, s->sun_path);
			return;
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
			port = ntohs(s->sin6_port);
		}
	}
	snprintf(out, n, "%s:%d", ip, port);
}

#define T_ANY (-1)

int resp_cli_type(const resp_cli_t *cl)
{
	if (cl->lx && (map_len(&cl->lx->chans) || cl->lx->npats))
		return RESP_CT_PUBSUB;
	return RESP_CT_NORMAL;
}

int resp_cli_type_by_name(const resp_arg_t *a)
{
	if (resp_arg_is(a, "normal"))
		return RESP_CT_NORMAL;
	if (resp_arg_is(a, "slave") || resp_arg_is(a, "replica"))
		return RESP_CT_REPLICA;
	if (resp_arg_is(a, "pubsub"))
		return RESP_CT_PUBSUB;
	if (resp_arg_is(a, "master"))
		return RESP_CT_MASTER;
	return -2;
}

/* --- KILL ------------------------------------------------------------------------- */

typedef struct {
	const resp_arg_t *addr, *laddr, *user;
	int type, skipme;
	uint64_t id;
} kill_filter_t;

static int arg_eq(const resp_arg_t *a, const char *s)
{
	return a->len == strlen(s) && memcmp(a->p, s, a->len) == 0;
}

static int kill_matches(resp_cli_t *self, resp_cli_t *t, const kill_filter_t *f)
{
	if (f->addr && !arg_eq(f->addr, t->c->peer))
		return 0;
	if (f->laddr) {
		char la[128];
		resp_cli_sockname(t, la, sizeof la);
		if (!arg_eq(f->laddr, la))
			return 0;
	}
	if (f->type != T_ANY && resp_cli_type(t) != f->type)
		return 0;
	if (f->id && t->c->id != f->id)
		return 0;
	if (f->user && !arg_eq(f->user, t->user ? t->user : "default"))
		return 0;
	return !(t == self && f->skipme);
}

/* Parses the filters of the new form; 0, or -1 with the error written. */
static int kill_parse(resp_cli_t *cl, int argc, resp_arg_t *argv, kill_filter_t *f)
{
	for (int i = 2; i < argc; i += 2) {
		const resp_arg_t *o = &argv[i], *v = &argv[i + 1];
		if (i + 1 >= argc) {
			resp_err_syntax(cl);
			return -1;
		}
		if (resp_arg_is(o, "id")) {
			int64_t id;
			if (resp_arg_ll(v, &id) < 0 || id < 1) {
				resp_error(cl->out, "ERR client-id should be greater than 0");
				return -1;
			}
			f->id = (uint64_t)id;
		} else if (resp_arg_is(o, "type")) {
			f->type = resp_cli_type_by_name(v);
			if (f->type == -2) {
				resp_errorf(cl->out, "ERR Unknown client type '%.*s'", (int)v->len,
				            v->p);
				return -1;
			}
		} else if (resp_arg_is(o, "addr")) {
			f->addr = v;
		} else if (resp_arg_is(o, "laddr")) {
			f->laddr = v;
		} else if (resp_arg_is(o, "user")) {
			users_t *db = cl->srv->b ? cl->srv->b->users : NULL;
			if (!arg_eq(v, "default") && !(db && users_find(db, v->p, v->len))) {
				resp_errorf(cl->out, "ERR No such user '%.*s'", (int)v->len, v->p);
				return -1;
			}
			f->user = v;
		} else if (resp_arg_is(o, "skipme")) {
			if (resp_arg_is(v, "yes")) {
				f->skipme = 1;
			} else if (resp_arg_is(v, "no")) {
				f->skipme = 0;
			} else {
				resp_err_syntax(cl);
				return -1;
			}
		} else {
			resp_err_syntax(cl);
			return -1;
		}
	}
	return 0;
}

RESP_HANDLER(resp_c_client_kill)
{
	kill_filter_t f = {NULL, NULL, NULL, T_ANY, 1, 0};
	if (argc == 3) {
		f.addr = &argv[2]; /* the old form: may kill the caller */
		f.skipme = 0;
	} else if (kill_parse(cl, argc, argv, &f) < 0) {
		return 0;
	}
	cli_list_t x;
	collect(cl, &x);
	int64_t killed = 0;
	for (size_t i = 0; i < x.n; i++) {
		resp_cli_t *t = x.v[i];
		if (!kill_matches(cl, t, &f))
			continue;
		killed++;
		if (t == cl)
			cl->closing = 1; /* after this reply */
		else
			conn_close(t->c, 0);
	}
	free(x.v);
	if (argc != 3)
		resp_int(cl->out, killed);
	else if (!killed)
		resp_error(cl->out, "ERR No such client");
	else
		resp_ok(cl->out);
	return 0;
}

/* --- UNBLOCK, REPLY, NO-EVICT ---------------------------------------------------- */

RESP_HANDLER(resp_c_client_unblock)
{
	int err = 0;
	if (argc > 4) {
		resp_err_syntax(cl);
		return 0;
	}
	if (argc == 4) {
		if (resp_arg_is(&argv[3], "error")) {
			err = 1;
		} else if (!resp_arg_is(&argv[3], "timeout")) {
			resp_error(cl->out, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
			return 0;
		}
	}
	int64_t id;
	if (resp_arg_ll_or_reply(cl, &argv[2], &id) < 0)
		return 0;
	resp_cli_t *t = id > 0 ? find_id(cl, (uint64_t)id) : NULL;
	if (!t || !t->blk) {
		resp_int(cl->out, 0);
		return 0;
	}
	/* The target's answer takes its own reply path (resp.h), as a
	 * timeout's does. */
	buf_t scratch = BUF_INIT;
	t->out = resp_reply_begin(t, &scratch);
	if (err)
		resp_error(t->out, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
	else
		resp_null_array(t->out, t->proto);
	resp_reply_end(t, &scratch);
	t->out = NULL;
	buf_deinit(&scratch);
	resp_unblock(t);
	resp_int(cl->out, 1);
	return 0;
}

RESP_HANDLER(resp_c_client_reply)
{
	(void)argc;
	if (resp_arg_is(&argv[2], "on")) {
		cl->reply_mode = RESP_REPLY_ON;
		resp_ok(cl->out);
	} else if (resp_arg_is(&argv[2], "off")) {
		cl->reply_mode = RESP_REPLY_OFF;
	} else if (resp_arg_is(&argv[2], "skip")) {
		if (cl->reply_mode != RESP_REPLY_OFF)
			cl->reply_mode = RESP_REPLY_SKIP_NEXT;
	} else {
		resp_err_syntax(cl);
	}
	return 0;
}

RESP_HANDLER(resp_c_client_no_evict)
{
	(void)argc;
	if (resp_arg_is(&argv[2], "on")) {
		cl->no_evict = 1;
	} else if (resp_arg_is(&argv[2], "off")) {
		cl->no_evict = 0;
	} else {
		resp_err_syntax(cl);
		return 0;
	}
	resp_ok(cl->out);
	return 0;
}

/* --- tracking (not supported) ------------------------------------------------------ */

RESP_HANDLER(resp_c_client_tracking)
{
	if (resp_arg_is(&argv[2], "off") && argc == 3) {
		resp_ok(cl->out); /* already off */
		return 0;
	}
	if (!resp_arg_is(&argv[2], "on") && !resp_arg_is(&argv[2], "off")) {
		resp_err_syntax(cl);
		return 0;
	}
	resp_error(cl->out, "ERR sluice does not support client-side caching (CLIENT TRACKING)");
	return 0;
}

RESP_HANDLER(resp_c_client_trackinginfo)
{
	(void)argc;
	(void)argv;
	resp_map(cl->out, cl->proto, 3);
	resp_bulk_str(cl->out, "flags");
	resp_set(cl->out, cl->proto, 1);
	resp_bulk_str(cl->out, "off");
	resp_bulk_str(cl->out, "redirect");
	resp_int(cl->out, -1);
	resp_bulk_str(cl->out, "prefixes");
	resp_array(cl->out, 0);
	return 0;
}

RESP_HANDLER(resp_c_client_getredir)
{
	(void)argc;
	(void)argv;
	resp_int(cl->out, -1);
	return 0;
}

RESP_HANDLER(resp_c_client_help)
{
	(void)argc;
	(void)argv;
	static const char *const lines[] = {
	    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "CACHING (YES|NO)",
	    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
	    "GETREDIR",
	    "    Return the client ID we are redirecting to when tracking is enabled.",
	    "GETNAME",
	    "    Return the name of the current connection.",
	    "ID",
	    "    Return the ID of the current connection.",
	    "INFO",
	    "    Return information about the current client connection.",
	    "KILL <ip:port>",
	    "    Kill connection made from <ip:port>.",
	    "KILL <option> <value> [<option> <value> [...]]",
	    "    Kill connections. Options are:",
	    "    * ADDR (<ip:port>|<unixsocket>:0)",
	    "      Kill connections made from the specified address",
	    "    * LADDR (<ip:port>|<unixsocket>:0)",
	    "      Kill connections made to specified local address",
	    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	    "      Kill connections by type.",
	    "    * USER <username>",
	    "      Kill connections authenticated by <username>.",
	    "    * SKIPME (YES|NO)",
	    "      Skip killing current connection (default: yes).",
	    "LIST [options ...]",
	    "    Return information about client connections. Options:",
	    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	    "      Return clients of specified type.",
	    "UNPAUSE",
	    "    Stop the current client pause, resuming traffic.",
	    "PAUSE <timeout> [WRITE|ALL]",
	    "    Suspend all, or just write, clients for <timeout> milliseconds.",
	    "REPLY (ON|OFF|SKIP)",
	    "    Control the replies sent to the current connection.",
	    "SETNAME <name>",
	    "    Assign the name <name> to the current connection.",
	    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
	    "    Unblock the specified blocked client.",
	    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
	    "         [OPTIN] [OPTOUT] [NOLOOP]",
	    "    Control server assisted client side caching.",
	    "TRACKINGINFO",
	    "    Report tracking status for the current connection.",
	    "NO-EVICT (ON|OFF)",
	    "    Protect current client connection from eviction.",
	    "HELP",
	    "    Prints this help.",
	    NULL,
	};
	resp_help(cl, lines);
	return 0;
}

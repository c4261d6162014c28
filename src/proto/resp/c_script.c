/*
 * c_script.c — EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the RESP
 * adapter over the Lua engine (script_lua.h).
 *
 * A script's redis.call() runs through resp_dispatch_script() (commands.c):
 * the same command table, handlers and keyspace calls as a client's
 * request, with the script's checks (unknown command, arity, noscript,
 * read-only scripts, MISCONF) first. The command writes its reply into
 * the engine's scratch buffer, in the protocol the script chose, and the
 * engine converts it. While the script runs the client counts as inside
 * EXEC (resp_lx_in_exec), so blocking commands answer at once instead of
 * blocking, as Redis's scripts do.
 *
 * Atomicity and durability: the script runs to its end on the loop thread,
 * so no other request sees part of it. Its writes journal themselves in
 * the keyspace as any command's do, and EVAL's reply is one request's
 * reply: under fsync=always it is held (front.c's reply path, the keyspace
 * durability domain) until every write it could depend on is synced, and
 * becomes the MISCONF error if they fail; so nothing the script did is
 * acknowledged before its sync. A write refused mid-script (MISCONF)
 * raises the script error; what ran before stays, as in Redis.
 *
 * Long scripts (Redis 7.0's busy scripts). Once a script has run for
 * busy-reply-threshold (lua-time-limit) ms, the engine's hook calls
 * script_busy() every 100,000 instructions: one busy pass of the event
 * loop (net/conn.h conn_busy_pass) over the RESP connections other than
 * the caller's. Those clients' requests go through the normal dispatch,
 * which answers -BUSY to everything but the commands flagged
 * RESP_CMD_ALLOW_BUSY (AUTH, HELLO, MULTI, DISCARD, WATCH, UNWATCH, RESET,
 * QUIT, SCRIPT KILL, FUNCTION KILL/STATS, as 7.0); front.c sends those
 * answers at once (they depend on no unsynced write) and serves no
 * blocked client meanwhile. Nothing else runs during a pass: no timers,
 * no end-of-turn tasks (sync completions, blocked-client wake-ups), no
 * other protocol (new RESP connections are accepted, and read in the next
 * pass); so no request can observe or change the keyspace in the middle of the
 * script. SCRIPT KILL stops a script that has not run a write command
 * (its caller gets Redis's "Script killed by user" error; it wrote
 * nothing, so nothing is journaled); one that has written is UNKILLABLE
 * and runs to its end, and its writes become durable together as any
 * script's (above).
 *
 * The engine is made on the first use and lives with the front (srv->lua).
 * Loop thread only.
 */
#include "proto/resp/acl_rules.h"
#include "proto/resp/c_lists.h"
#include "proto/resp/c_types.h"
#include "proto/resp/parse.h"
#include "proto/resp/script_lua.h"

#include "core/time.h"

#include <stdlib.h>
#include <string.h>

static resp_lua_t *engine(resp_cli_t *cl)
{
	resp_srv_t *srv = cl->srv;
	if (!srv->lua)
		srv->lua = resp_lua_new(srv->b->log);
	return srv->lua;
}

void resp_script_free(resp_srv_t *srv)
{
	resp_lua_free(srv->lua);
	srv->lua = NULL;
}

typedef struct {
	resp_cli_t *cl;
	int ro;
	resp_run_t run;
} script_ctx_t;

static const char busy_eval[] =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
static const char busy_fn[] =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

const char *resp_script_busy_err(const resp_srv_t *srv, const resp_cmd_t *cmd)
{
	const resp_run_t *r = srv->run;
	if (!r || !r->busy || (cmd->flags & RESP_CMD_ALLOW_BUSY))
		return NULL;
	return r->is_fn ? busy_fn : busy_eval;
}

int resp_script_refuse_busy(resp_cli_t *cl, const resp_cmd_t *cmd)
{
	const char *e = resp_script_busy_err(cl->srv, cmd);
	if (e)
		resp_error(cl->out, e);
	return e != NULL;
}

/* Only RESP connections, and never the caller's: its request (the
 * script's arguments) lives in its input buffer. */
static int busy_admit(conn_t *c, void *arg)
{
	const conn_t *caller = arg;
	return c != caller && c->proto == caller->proto;
}

static int script_busy(void *ctx)
{
	script_ctx_t *x = ctx;
	x->run.busy = 1;
	conn_busy_pass(x->cl->c->loop, x->cl->c->proto, busy_admit, x->cl->c);
	return x->run.kill;
}

static int script_acl(void *ctx, int argc, resp_arg_t *argv)
{
	script_ctx_t *x = ctx;
	const resp_cmd_t *cmd = resp_cmd_find(x->cl->srv, argv[0].p, argv[0].len), *parent = NULL;
	if (cmd && cmd->subs && argc >= 2) {
		parent = cmd;
		cmd = resp_cmd_lookup(cmd->subs, argv[1].p, argv[1].len);
	}
	if (!cmd || !cmd->fn)
		return -1;
	/* redis.acl_check_cmd asks without logging, as Redis's does. */
	resp_cli_t *cl = x->cl;
	if (!cl->user)
		return 1;
	const acl_user_t *u = resp_acl_user(cl->srv, cl->user, strlen(cl->user));
	int bad;
	return u && acl_check(u, parent, cmd, argc, argv, &bad) == RESP_ACL_OK;
}

/* SCRIPT KILL (is_fn 0) and FUNCTION KILL (1), Redis 7.0's scriptKill. */
void resp_script_kill(resp_cli_t *cl, int is_fn)
{
	resp_run_t *r = cl->srv->run;
	if (!r || !r->busy)
		resp_error(cl->out, "NOTBUSY No scripts in execution right now.");
	else if (r->dirty)
		resp_error(
		    cl->out,
		    "UNKILLABLE Sorry the script already executed write commands against the "
		    "dataset. You can either wait the script termination or kill the server in "
		    "a hard way using the SHUTDOWN NOSAVE command.");
	else if (r->is_fn != is_fn)
		resp_error(cl->out, r->is_fn ? busy_fn : busy_eval);
	else
		r->kill = 1, resp_ok(cl->out);
}

static int script_call(void *ctx, int argc, resp_arg_t *argv, int proto, buf_t *out)
{
	script_ctx_t *x = ctx;
	resp_cli_t *cl = x->cl;
	if (argc > 1 && (resp_arg_is(&argv[0], "xread") || resp_arg_is(&argv[0], "xreadgroup"))) {
		for (int i = 1; i < argc && !resp_arg_is(&argv[i], "streams"); i++) {
			if (resp_arg_is(&argv[i], "block")) {
				/* Redis's xread refuses this itself (a reply, not a
				 * refusal of the call). */
				resp_errorf(
				    out,
				    "ERR %s command is not allowed with BLOCK option from scripts",
				    resp_arg_is(&argv[0], "xread") ? "xread" : "xreadgroup");
				return 0;
			}
		}
	}
	buf_t *saved_out = cl->out;
	int saved_proto = cl->proto;
	const char *saved_cmd = cl->last_cmd;
	cl->out = out;
	cl->proto = proto;
	int rc = resp_dispatch_script(cl, argc, argv, x->ro);
	cl->out = saved_out;
	cl->proto = saved_proto;
	cl->last_cmd = saved_cmd;
	return rc;
}

int resp_script_numkeys(resp_cli_t *cl, int argc, resp_arg_t *argv, int64_t *numkeys)
{
	if (resp_arg_ll_or_reply(cl, &argv[2], numkeys) < 0)
		return -1;
	if (*numkeys > argc - 3) {
		resp_error(cl->out, "ERR Number of keys can't be greater than number of args");
		return -1;
	}
	if (*numkeys < 0) {
		resp_error(cl->out, "ERR Number of keys can't be negative");
		return -1;
	}
	return 0;
}

void resp_script_exec(resp_cli_t *cl, struct resp_lua *e, const char *name, int is_fn, int ro,
                      int64_t numkeys, int argc, resp_arg_t *argv)
{
	script_ctx_t ctx = {.cl = cl, .ro = ro, .run = {.cl = cl, .is_fn = is_fn}};
	resp_lua_run_t run = {
	    .proto = cl->proto,
	    .time_limit_ms = cl->srv->busy_reply_threshold,
	    .call = script_call,
	    .busy = script_busy,
	    .acl = script_acl,
	    .ctx = &ctx,
	    .fn = is_fn,
	    .nkeys = (int)numkeys,
	    .keys = argv + 3,
	    .nargs = argc - 3 - (int)numkeys,
	    .args = argv + 3 + numkeys,
	};
	ctx.run.name = name;
	ctx.run.argc = argc;
	ctx.run.argv = argv;
	ctx.run.start_ms = run.start_ms = time_mono_ms(); /* one clock read for both */
	/* Blocking commands must not block inside a script: they see the
	 * client as inside EXEC. */
	resp_lxcli_t *x = resp_lx_cli(cl);
	int was = x->in_exec;
	x->in_exec = 1;
	resp_run_t *outer = cl->srv->run;
	cl->srv->run = &ctx.run;
	resp_lua_run(e, name, &run, cl->out);
	cl->srv->run = outer;
	x->in_exec = was;
}

/* A body's "#!lua flags=a,b" first line, split and checked as 7.0's
 * evalExtractShebangFlags does (the line split like an inline request,
 * quotes included; the engine exactly "#!lua"; only flags= options; the
 * flags by name). *flags gets the RESP_FN_* bits and RESP_SCRIPT_SHEBANG,
 * *skip the shebang's length (up to its newline); a body without one gets
 * 0 and 0. Returns 0, or -1 with the error reply in err. */
static int shebang(const char *body, size_t n, uint32_t *flags, size_t *skip, buf_t *err)
{
	*flags = 0;
	*skip = 0;
	if (n < 2 || body[0] != '#' || body[1] != '!')
		return 0;
	const char *nl = memchr(body, '\n', n);
	if (!nl) {
		buf_puts(err, "ERR Invalid script shebang");
		return -1;
	}
	resp_parser_t p;
	resp_parser_init(&p, INT64_MAX);
	size_t argc = 0;
	int rc = -1;
	if (resp_parse(&p, (const uint8_t *)body, (size_t)(nl - body) + 1, &argc) <= 0 ||
	    argc == 0) {
		buf_puts(err, "ERR Invalid engine in script shebang");
		goto out;
	}
	if (p.argv[0].len != 5 || memcmp(p.argv[0].p, "#!lua", 5) != 0) {
		buf_printf(err, "ERR Unexpected engine in script shebang: %.*s", (int)p.argv[0].len,
		           p.argv[0].p);
		goto out;
	}
	uint32_t f = RESP_SCRIPT_SHEBANG;
	for (size_t i = 1; i < argc; i++) {
		const resp_arg_t *a = &p.argv[i];
		if (a->len < 6 || memcmp(a->p, "flags=", 6) != 0) {
			buf_printf(err, "ERR Unknown lua shebang option: %.*s", (int)a->len, a->p);
			goto out;
		}
		const char *s = a->p + 6, *end = a->p + a->len;
		while (s <= end) {
			const char *c = memchr(s, ',', (size_t)(end - s));
			size_t len = (size_t)((c ? c : end) - s);
			int bit = -1;
			for (int b = 0; resp_fn_flag_names[b]; b++)
				if (strlen(resp_fn_flag_names[b]) == len &&
				    memcmp(resp_fn_flag_names[b], s, len) == 0)
					bit = b;
			/* 7.0 splits "flags=" into no parts: no flag at all. */
			if (bit < 0 && !(len == 0 && a->len == 6)) {
				buf_printf(err, "ERR Unexpected flag in script shebang: %.*s",
				           (int)len, s);
				goto out;
			}
			if (bit >= 0)
				f |= 1u << bit;
			if (!c)
				break;
			s = c + 1;
		}
	}
	*flags = f;
	*skip = (size_t)(nl - body);
	rc = 0;
out:
	resp_parser_deinit(&p);
	return rc;
}

/* Compiles an EVAL / SCRIPT LOAD body with its shebang's flags. */
static int load_body(resp_cli_t *cl, resp_lua_t *e, const resp_arg_t *body, char sha[41])
{
	buf_t err = BUF_INIT;
	uint32_t flags;
	size_t skip;
	int rc = shebang(body->p, body->len, &flags, &skip, &err);
	if (rc == 0)
		rc = resp_lua_load_ex(e, body->p, body->len, skip, flags, sha, &err);
	if (rc < 0) {
		buf_put_u8(&err, 0);
		resp_error(cl->out, (const char *)buf_data(&err));
	}
	buf_deinit(&err);
	return rc;
}

/* EVAL-family common part: argv[1] body or SHA1, argv[2] numkeys. */
static int eval_generic(resp_cli_t *cl, int argc, resp_arg_t *argv, int bysha, int ro)
{
	int64_t numkeys;
	if (resp_script_numkeys(cl, argc, argv, &numkeys) < 0)
		return 0;
	resp_lua_t *e = engine(cl);
	char sha[41];
	if (bysha) {
		if (!resp_lua_exists(e, argv[1].p, argv[1].len)) {
			resp_error(cl->out, "NOSCRIPT No matching script. Please use EVAL.");
			return 0;
		}
		for (int i = 0; i < 40; i++) {
			char c = argv[1].p[i];
			sha[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
		}
		sha[40] = 0;
	} else if (load_body(cl, e, &argv[1], sha) < 0) {
		return 0;
	}
	uint32_t flags = resp_lua_script_flags(e, sha);
	int no_writes = (flags & RESP_FN_NO_WRITES) != 0;
	if (ro && (flags & RESP_SCRIPT_SHEBANG) && !no_writes) {
		resp_error(cl->out,
		           "ERR Can not execute a script with write flag using *_ro command.");
		return 0;
	}
	resp_script_exec(cl, e, sha, 0, ro || no_writes, numkeys, argc, argv);
	return 0;
}

RESP_HANDLER(resp_c_eval)
{
	return eval_generic(cl, argc, argv, 0, 0);
}

RESP_HANDLER(resp_c_evalsha)
{
	return eval_generic(cl, argc, argv, 1, 0);
}

RESP_HANDLER(resp_c_eval_ro)
{
	return eval_generic(cl, argc, argv, 0, 1);
}

RESP_HANDLER(resp_c_evalsha_ro)
{
	return eval_generic(cl, argc, argv, 1, 1);
}

RESP_HANDLER(resp_c_script_load)
{
	(void)argc;
	char sha[41];
	if (load_body(cl, engine(cl), &argv[2], sha) == 0)
		resp_bulk(cl->out, sha, 40);
	return 0;
}

RESP_HANDLER(resp_c_script_exists)
{
	resp_lua_t *e = engine(cl);
	resp_array(cl->out, (size_t)argc - 2);
	for (int i = 2; i < argc; i++)
		resp_int(cl->out, resp_lua_exists(e, argv[i].p, argv[i].len));
	return 0;
}

RESP_HANDLER(resp_c_script_flush)
{
	if (argc > 3 ||
	    (argc == 3 && !resp_arg_is(&argv[2], "sync") && !resp_arg_is(&argv[2], "async"))) {
		resp_error(cl->out, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
		return 0;
	}
	if (cl->srv->lua)
		resp_lua_flush(cl->srv->lua);
	resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_script_kill)
{
	(void)argc;
	(void)argv;
	resp_script_kill(cl, 0);
	return 0;
}

RESP_HANDLER(resp_c_script_help)
{
	(void)argc;
	(void)argv;
	static const char *const lines[] = {
	    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "DEBUG (YES|SYNC|NO)",
	    "    Set the debug mode for subsequent scripts executed.",
	    "EXISTS <sha1> [<sha1> ...]",
	    "    Return information about the existence of the scripts in the script cache.",
	    "FLUSH [ASYNC|SYNC]",
	    "    Flush the Lua scripts cache. Very dangerous on replicas.",
	    "    When called without the optional mode argument, the behavior is determined by the",
	    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	    "    * ASYNC: Asynchronously flush the scripts cache.",
	    "    * SYNC: Synchronously flush the scripts cache.",
	    "KILL",
	    "    Kill the currently executing Lua script.",
	    "LOAD <script>",
	    "    Load a script into the scripts cache without executing it.",
	    "HELP",
	    "    Prints this help.",
	    NULL,
	};
	resp_help(cl, lines);
	return 0;
}

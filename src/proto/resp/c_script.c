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
 * The engine is made on the first use and lives with the front (srv->lua).
 * Loop thread only.
 */
#include "proto/resp/c_lists.h"
#include "proto/resp/c_types.h"
#include "proto/resp/script_lua.h"

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
} script_ctx_t;

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

/* EVAL-family common part: argv[1] body or SHA1, argv[2] numkeys. */
static int eval_generic(resp_cli_t *cl, int argc, resp_arg_t *argv, int bysha, int ro)
{
	int64_t numkeys;
	if (resp_arg_ll_or_reply(cl, &argv[2], &numkeys) < 0)
		return 0;
	if (numkeys > argc - 3) {
		resp_error(cl->out, "ERR Number of keys can't be greater than number of args");
		return 0;
	}
	if (numkeys < 0) {
		resp_error(cl->out, "ERR Number of keys can't be negative");
		return 0;
	}
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
	} else {
		buf_t err = BUF_INIT;
		if (resp_lua_load(e, argv[1].p, argv[1].len, sha, &err) < 0) {
			buf_put_u8(&err, 0);
			resp_error(cl->out, (const char *)buf_data(&err));
			buf_deinit(&err);
			return 0;
		}
		buf_deinit(&err);
	}
	script_ctx_t ctx = {cl, ro};
	resp_lua_run_t run = {
	    .proto = cl->proto,
	    .time_limit_ms = cl->srv->busy_reply_threshold,
	    .call = script_call,
	    .ctx = &ctx,
	    .nkeys = (int)numkeys,
	    .keys = argv + 3,
	    .nargs = argc - 3 - (int)numkeys,
	    .args = argv + 3 + numkeys,
	};
	/* Blocking commands must not block inside a script: they see the
	 * client as inside EXEC. */
	resp_lxcli_t *x = resp_lx_cli(cl);
	int was = x->in_exec;
	x->in_exec = 1;
	resp_lua_run(e, sha, &run, cl->out);
	x->in_exec = was;
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
	buf_t err = BUF_INIT;
	if (resp_lua_load(engine(cl), argv[2].p, argv[2].len, sha, &err) < 0) {
		buf_put_u8(&err, 0);
		resp_error(cl->out, (const char *)buf_data(&err));
	} else {
		resp_bulk(cl->out, sha, 40);
	}
	buf_deinit(&err);
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
	/* A script runs to its end on the loop thread: none is ever running
	 * when another request is read. */
	resp_error(cl->out, "NOTBUSY No scripts in execution right now.");
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

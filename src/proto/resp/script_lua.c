/*
 * script_lua.c — the Lua engine: state (sandbox: script_sandbox.c), the redis.* API,
 * Redis 7.0's type conversions both ways, the script cache, running.
 *
 * The state: base, table, string and math libraries, cjson and bit
 * (Debian's lua-cjson and lua-bitop, the code Redis embeds), struct and
 * cmsgpack (script_lib.c), the redis table. os, io, package, require,
 * loadfile, dofile, print and debug are not reachable. Scripts run with an
 * environment that is a proxy of the globals: reading a name that does
 * not exist raises "Script attempted to access nonexistent global
 * variable", any assignment "Attempt to modify a readonly table" (Redis
 * 7.0 gets this from its patched Lua VM; the stock 5.1 from Debian gets
 * it from the proxy's metatable). The library tables (redis, string,
 * math, table, cjson, bit, struct, cmsgpack) are read-only proxies the
 * same way, and rawset, setmetatable, rawget, next, pairs and ipairs see
 * through (or refuse on) every proxy, so the library tables behave as
 * Redis's read-only tables; only '#' of a library table differs (0).
 *
 * Errors: a failing redis.call, error() or a runtime error unwind to an
 * error handler (C, so debug stays hidden) that turns the error into
 * Redis's {err=..., source=..., line=...} table; the reply is then
 * "-<err> script: <sha>, on <source>:<line>." as in 7.0.
 *
 * Conversions, RESP → Lua (a command's reply, in the protocol the script
 * chose with redis.setresp): integer → number, bulk → string, null bulk /
 * null array → false (RESP2) or nil (RESP3 null), status → {ok=s}, error
 * → {err=s}, array → table; RESP3 map → {map={...}}, set → {set={k=true}},
 * boolean → boolean, double → {double=n}, big number → {big_number=s},
 * verbatim → {verbatim_string={format=f, string=s}}. Lua → RESP (the
 * script's result, for the calling client's protocol): string → bulk,
 * number → integer (truncated), boolean as 7.0 (RESP2 scripts: true → 1,
 * false → null; RESP3 scripts: a boolean), table with err → error, ok →
 * status, double/map/set/big_number/verbatim_string → the RESP3 types,
 * other tables → arrays up to the first nil, nil → null.
 *
 * Time: a count hook checks the clock every 100,000 instructions. Past
 * lua-time-limit (busy-reply-threshold) it logs once and from then on
 * calls the run's busy hook each time (c_script.c: other clients are
 * answered -BUSY, SCRIPT KILL can reach the script). A killed script gets
 * Redis's error from the hook, and the hook then fires on every line so a
 * pcall in the script cannot swallow it for good.
 * Loop thread only.
 */
#include "proto/resp/script_lua.h"

#include "core/log.h"
#include "proto/resp/script_alloc.h"
#include "core/time.h"
#include "proto/resp/reply.h"

#include <lua5.1/lauxlib.h>
#include <lua5.1/lua-bitop.h>
#include <lua5.1/lua-cjson.h>
#include <lua5.1/lua.h>
#include <lua5.1/lualib.h>

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct resp_lua {
	lua_State *L;
	script_pool_t pool; /* the state's allocator; its address finds the engine */
	const log_t *log;
	size_t nscripts;
	uint64_t rand; /* math.random's rand48 state */
	uint64_t runs;
	/* The current run (NULL between runs). */
	const resp_lua_run_t *run;
	int resp;         /* redis.setresp */
	int64_t start_ms; /* mono */
	int warned;
	int killed;
	int loading; /* a library's code runs: globals are the load API */
	resp_lua_reg_fn reg;
	void *reg_ctx;
	buf_t scratch; /* a command's reply */
};

/* Registry keys. */
#define REG_SCRIPTS "sluice.scripts"
#define REG_SFLAGS "sluice.script_flags" /* sha → the flags of its shebang */
#define REG_ENV RESP_LUA_REG_ENV
#define REG_FUNCS "sluice.functions" /* function name → callback */
#define REG_PENDING "sluice.pending" /* registered by the library loading */
#define REG_LOADAPI "sluice.loadapi" /* the load-time globals: {redis = ...} */
#define REG_FENV "sluice.fenv"       /* the environment of library code */

/* Every redis.call needs the engine: the allocator's data is inside it,
 * which is cheaper to reach than a registry field. */
static resp_lua_t *engine_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return (resp_lua_t *)((char *)ud - offsetof(resp_lua_t, pool));
}

/* --- RESP → Lua --------------------------------------------------------------------- */

/* Reads a CRLF-terminated line at p (the RESP the command wrote: well
 * formed by construction). */
static const char *line_end(const char *p, const char *end)
{
	const char *q = memchr(p, '\r', (size_t)(end - p));
	return q ? q : end;
}

static void push_field_table(lua_State *L, const char *field)
{
	lua_newtable(L);
	lua_pushstring(L, field);
}

/* Pushes the RESP value at p as a Lua value; returns the position after it. */
static const char *resp_to_lua(lua_State *L, const char *p, const char *end)
{
	luaL_checkstack(L, 4, "reply too deep");
	char t = *p++;
	const char *le = line_end(p, end);
	size_t ll = (size_t)(le - p);
	const char *next = le + 2 <= end ? le + 2 : end;
	switch (t) {
	case ':':
		lua_pushnumber(L, (lua_Number)strtoll(p, NULL, 10));
		return next;
	case '$':
	case '=': {
		long long n = strtoll(p, NULL, 10);
		if (n < 0) {
			lua_pushboolean(L, 0);
			return next;
		}
		if (t == '=' && n >= 4) {
			lua_newtable(L);
			lua_pushstring(L, "verbatim_string");
			lua_newtable(L);
			lua_pushlstring(L, next, 3);
			lua_setfield(L, -2, "format");
			lua_pushlstring(L, next + 4, (size_t)n - 4);
			lua_setfield(L, -2, "string");
			lua_settable(L, -3);
		} else {
			lua_pushlstring(L, next, (size_t)n);
		}
		return next + n + 2;
	}
	case '+':
		push_field_table(L, "ok");
		lua_pushlstring(L, p, ll);
		lua_settable(L, -3);
		return next;
	case '-':
		push_field_table(L, "err");
		lua_pushlstring(L, p, ll);
		lua_settable(L, -3);
		return next;
	case '*':
	case '~':
	case '>': {
		long long n = strtoll(p, NULL, 10);
		if (n < 0) {
			lua_pushboolean(L, 0);
			return next;
		}
		if (t == '~') {
			push_field_table(L, "set");
			lua_newtable(L);
			for (long long i = 0; i < n; i++) {
				next = resp_to_lua(L, next, end);
				lua_pushboolean(L, 1);
				lua_settable(L, -3);
			}
			lua_settable(L, -3);
			return next;
		}
		lua_newtable(L);
		for (long long i = 1; i <= n; i++) {
			next = resp_to_lua(L, next, end);
			lua_rawseti(L, -2, (int)i);
		}
		return next;
	}
	case '%':
	case '|': {
		long long n = strtoll(p, NULL, 10);
		if (t == '|') { /* attributes: skipped, the value follows */
			for (long long i = 0; i < 2 * n; i++) {
				next = resp_to_lua(L, next, end);
				lua_pop(L, 1);
			}
			return resp_to_lua(L, next, end);
		}
		push_field_table(L, "map");
		lua_newtable(L);
		for (long long i = 0; i < n; i++) {
			next = resp_to_lua(L, next, end);
			next = resp_to_lua(L, next, end);
			lua_settable(L, -3);
		}
		lua_settable(L, -3);
		return next;
	}
	case '_':
		lua_pushnil(L);
		return next;
	case '#':
		lua_pushboolean(L, *p == 't');
		return next;
	case ',':
		push_field_table(L, "double");
		lua_pushnumber(L, strtod(p, NULL));
		lua_settable(L, -3);
		return next;
	case '(':
		push_field_table(L, "big_number");
		lua_pushlstring(L, p, ll);
		lua_settable(L, -3);
		return next;
	default:
		lua_pushnil(L);
		return end;
	}
}

/* --- errors ----------------------------------------------------------------------- */

/* Pushes Redis's error table for text: "-CODE msg" keeps its code, "msg"
 * gets ERR; a trailing CRLF goes (luaPushErrorBuff). */
static void push_error_table(lua_State *L, const char *text, size_t n)
{
	while (n && (text[n - 1] == '\r' || text[n - 1] == '\n'))
		n--;
	luaL_Buffer b;
	lua_newtable(L);
	lua_pushstring(L, "err");
	luaL_buffinit(L, &b);
	if (n && text[0] == '-') {
		const char *sp = memchr(text, ' ', n);
		if (!sp) {
			luaL_addstring(&b, "ERR ");
			luaL_addlstring(&b, text + 1, n - 1);
		} else {
			luaL_addlstring(&b, text + 1, (size_t)(sp - text - 1));
			luaL_addchar(&b, ' ');
			luaL_addlstring(&b, sp + 1, n - (size_t)(sp + 1 - text));
		}
	} else {
		luaL_addstring(&b, "ERR ");
		luaL_addlstring(&b, text, n);
	}
	luaL_pushresult(&b);
	lua_settable(L, -3);
}

/* The error handler every script runs under (Redis's __redis__err__handler
 * in C): where the error was raised, and a table for a plain error. */
static int err_handler(lua_State *L)
{
	lua_Debug ar;
	int have = lua_getstack(L, 1, &ar) && lua_getinfo(L, "nSl", &ar);
	if (have && strcmp(ar.what, "C") == 0)
		have = lua_getstack(L, 2, &ar) && lua_getinfo(L, "nSl", &ar);
	if (!lua_istable(L, 1)) {
		const char *s = lua_tostring(L, 1);
		lua_newtable(L);
		lua_pushstring(L, "err");
		lua_pushfstring(L, "ERR %s", s ? s : "(error object is not a string)");
		lua_settable(L, -3);
		lua_replace(L, 1);
	}
	if (have) {
		lua_pushstring(L, ar.source);
		lua_setfield(L, 1, "source");
		lua_pushinteger(L, ar.currentline);
		lua_setfield(L, 1, "line");
	}
	lua_settop(L, 1);
	return 1;
}

/* --- redis.* ------------------------------------------------------------------------ */

/* Raises msg as Redis's API functions do: an error table, so the reply
 * carries no "user_script:1:" prefix. */
static int raise_err(lua_State *L, const char *msg)
{
	push_error_table(L, msg, strlen(msg));
	return lua_error(L);
}

/* A call's arguments as a command: the usual few fit on the C stack. */
#define CALL_ARGS_INLINE 16

typedef struct {
	resp_arg_t *argv;
	char (*nums)[32]; /* the text of number arguments */
	resp_arg_t argv_in[CALL_ARGS_INLINE];
	char nums_in[CALL_ARGS_INLINE][32];
} call_args_t;

static void call_args_free(call_args_t *a)
{
	if (a->argv != a->argv_in) {
		free(a->argv);
		free(a->nums);
	}
}

/* A number as redis.call sends it: %.17g (not Lua's %.14g), so numbers
 * keep their precision; an integer below 1e17 prints as %.17g would, so it
 * skips printf (bullmq passes timestamps and counters this way). */
static size_t number_text(lua_Number d, char out[32])
{
	if (d > -1e17 && d < 1e17 && d == (lua_Number)(long long)d && !(d == 0 && signbit(d))) {
		long long v = (long long)d;
		unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
		char tmp[24];
		size_t n = 0, k = 0;
		do
			tmp[n++] = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (v < 0)
			out[k++] = '-';
		while (n)
			out[k++] = tmp[--n];
		out[k] = 0;
		return k;
	}
	return (size_t)snprintf(out, 32, "%.17g", d);
}

/* The arguments of a redis lib call as a command (a->argv, call_args_free
 * after): NULL, or Redis's error text. */
static const char *call_args(lua_State *L, call_args_t *a)
{
	int argc = lua_gettop(L);
	a->argv = a->argv_in;
	a->nums = a->nums_in;
	if (argc == 0)
		return "Please specify at least one argument for this redis lib call";
	if (argc > CALL_ARGS_INLINE) {
		a->argv = calloc((size_t)argc, sizeof *a->argv);
		a->nums = calloc((size_t)argc, sizeof *a->nums);
		if (!a->argv || !a->nums)
			abort();
	}
	for (int j = 0; j < argc; j++) {
		int t = lua_type(L, j + 1);
		if (t == LUA_TNUMBER) {
			a->argv[j].len = number_text(lua_tonumber(L, j + 1), a->nums[j]);
			a->argv[j].p = a->nums[j];
		} else if (t == LUA_TSTRING) {
			a->argv[j].p = lua_tolstring(L, j + 1, &a->argv[j].len);
		} else {
			return "Lua redis lib command arguments must be strings or integers";
		}
	}
	return NULL;
}

static int l_acl_check_cmd(lua_State *L);

/* redis.call / redis.pcall. */
static int redis_generic_call(lua_State *L, int raise)
{
	resp_lua_t *e = engine_of(L);
	int argc = lua_gettop(L);
	call_args_t a;
	const char *bad = call_args(L, &a);
	if (bad) {
		call_args_free(&a);
		return raise_err(L, bad);
	}
	buf_t *out = &e->scratch;
	buf_reset(out);
	int rc = e->run->call(e->run->ctx, argc, a.argv, e->resp, out);
	call_args_free(&a);
	/* The arguments are done with: their slots hold the reply (a call
	 * with unpack() of ~8000 values leaves no room otherwise; as 7.0's
	 * luaRedisGenericCommand pops them). */
	lua_settop(L, 0);
	if (rc < 0) {
		push_error_table(L, (const char *)buf_data(out), buf_len(out));
		return raise ? lua_error(L) : 1;
	}
	const char *p = (const char *)buf_data(out);
	if (!buf_len(out)) {
		lua_pushnil(L);
		return 1;
	}
	resp_to_lua(L, p, p + buf_len(out));
	if (raise && p[0] == '-')
		return lua_error(L);
	return 1;
}

static int l_call(lua_State *L)
{
	return redis_generic_call(L, 1);
}

static int l_pcall(lua_State *L)
{
	return redis_generic_call(L, 0);
}

static int l_sha1hex(lua_State *L)
{
	if (lua_gettop(L) != 1)
		return raise_err(L, "wrong number of arguments");
	size_t n;
	const char *s = lua_tolstring(L, 1, &n);
	char hex[41];
	resp_lua_sha1hex(s ? s : "", s ? n : 0, hex);
	lua_pushstring(L, hex);
	return 1;
}

static int l_reply_table(lua_State *L, const char *field)
{
	if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING)
		return raise_err(L, "wrong number or type of arguments");
	lua_newtable(L);
	lua_pushstring(L, field);
	lua_pushvalue(L, -3);
	lua_settable(L, -3);
	return 1;
}

static int l_error_reply(lua_State *L)
{
	if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING)
		return raise_err(L, "wrong number or type of arguments");
	/* 7.0 takes the first word as the error code ("-CODE msg", the '-'
	 * optional); a text of one word is a message with the code ERR
	 * ("foo" → "ERR foo", "" → "ERR "). Trailing CR/LF are trimmed. */
	size_t n;
	const char *s = lua_tolstring(L, 1, &n);
	if (n && s[0] == '-') {
		s++;
		n--;
	}
	while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	lua_newtable(L);
	lua_pushstring(L, "err");
	if (memchr(s, ' ', n)) {
		lua_pushlstring(L, s, n);
	} else {
		lua_pushliteral(L, "ERR ");
		lua_pushlstring(L, s, n);
		lua_concat(L, 2);
	}
	lua_settable(L, -3);
	return 1;
}

static int l_status_reply(lua_State *L)
{
	return l_reply_table(L, "ok");
}

static int l_log(lua_State *L)
{
	int argc = lua_gettop(L);
	if (argc < 2)
		return raise_err(L, "redis.log() requires two arguments or more.");
	if (!lua_isnumber(L, 1))
		return raise_err(L, "First argument must be a number (log level).");
	int level = (int)lua_tonumber(L, 1);
	if (level < 0 || level > 3)
		return raise_err(L, "Invalid debug level.");
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int j = 2; j <= argc; j++) {
		size_t n;
		const char *s = lua_tolstring(L, j, &n);
		if (!s)
			continue;
		if (j > 2)
			luaL_addchar(&b, ' ');
		luaL_addlstring(&b, s, n);
	}
	luaL_pushresult(&b);
	const char *msg = lua_tostring(L, -1);
	if (level == 3)
		log_warn(engine_of(L)->log, "script: %s", msg);
	else
		log_info(engine_of(L)->log, "script: %s", msg);
	return 0;
}

static int l_setresp(lua_State *L)
{
	if (lua_gettop(L) != 1)
		return raise_err(L, "redis.setresp() requires one argument.");
	int v = (int)lua_tonumber(L, 1);
	if (v != 2 && v != 3)
		return raise_err(L, "RESP version must be 2 or 3.");
	engine_of(L)->resp = v;
	return 0;
}

static int l_set_repl(lua_State *L)
{
	if (lua_gettop(L) != 1)
		return raise_err(L, "redis.set_repl() requires two arguments.");
	int v = (int)lua_tonumber(L, 1);
	if (v & ~3)
		return raise_err(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
		                    "REPL_ALL or REPL_NONE.");
	return 0;
}

static int l_noop_true(lua_State *L)
{
	lua_pushboolean(L, 1);
	return 1;
}

static int l_breakpoint(lua_State *L)
{
	lua_pushboolean(L, 0);
	return 1;
}

static void set_int(lua_State *L, const char *name, int v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, name);
}

static void register_redis(lua_State *L)
{
	static const luaL_Reg fns[] = {{"call", l_call},
	                               {"pcall", l_pcall},
	                               {"sha1hex", l_sha1hex},
	                               {"acl_check_cmd", l_acl_check_cmd},
	                               {"error_reply", l_error_reply},
	                               {"status_reply", l_status_reply},
	                               {"log", l_log},
	                               {"setresp", l_setresp},
	                               {"set_repl", l_set_repl},
	                               {"replicate_commands", l_noop_true},
	                               {"breakpoint", l_breakpoint},
	                               {"debug", l_breakpoint},
	                               {NULL, NULL}};
	luaL_register(L, "redis", fns);
	set_int(L, "LOG_DEBUG", 0);
	set_int(L, "LOG_VERBOSE", 1);
	set_int(L, "LOG_NOTICE", 2);
	set_int(L, "LOG_WARNING", 3);
	set_int(L, "REPL_NONE", 0);
	set_int(L, "REPL_AOF", 1);
	set_int(L, "REPL_SLAVE", 2);
	set_int(L, "REPL_REPLICA", 2);
	set_int(L, "REPL_ALL", 3);
	lua_pushstring(L, "7.0.15");
	lua_setfield(L, -2, "REDIS_VERSION");
	set_int(L, "REDIS_VERSION_NUM", 0x07000f);
	lua_pop(L, 1);
}

/* Lua's pcall as Redis 7.0 replaces it: an error table raised by the
 * redis API comes back as its err string. */
static int l_lua_pcall(lua_State *L)
{
	int argc = lua_gettop(L);
	luaL_checkany(L, 1);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
		lua_remove(L, 1);
		if (lua_istable(L, -1)) {
			lua_getfield(L, -1, "err");
			if (lua_isstring(L, -1))
				lua_replace(L, -2);
			else
				lua_pop(L, 1);
		}
		lua_pushboolean(L, 0);
		lua_insert(L, 1);
	}
	return lua_gettop(L);
}

/* redis.acl_check_cmd(cmd, args...): whether the script's user may run it. */
static int l_acl_check_cmd(lua_State *L)
{
	resp_lua_t *e = engine_of(L);
	int argc = lua_gettop(L);
	call_args_t a;
	const char *bad = call_args(L, &a);
	int ok = bad ? 0 : e->run && e->run->acl ? e->run->acl(e->run->ctx, argc, a.argv) : 1;
	call_args_free(&a);
	if (bad)
		return raise_err(L, bad);
	if (ok < 0)
		return raise_err(L, "Invalid command passed to redis.acl_check_cmd()");
	lua_pushboolean(L, ok);
	return 1;
}

static void open_lib(lua_State *L, lua_CFunction f, const char *name)
{
	lua_pushcfunction(L, f);
	lua_pushstring(L, name);
	lua_call(L, 1, 0);
}

/* Debian's lua-cjson returns its table without setting a global. */
static void open_global(lua_State *L, lua_CFunction f, const char *name)
{
	lua_pushcfunction(L, f);
	lua_pushstring(L, name);
	lua_call(L, 1, 1);
	lua_setglobal(L, name);
}

/* As lauxlib's: an error outside any pcall (a bug) ends the process. */
static int panic(lua_State *L)
{
	fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n",
	        lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
	return 0;
}

static lua_State *new_state(resp_lua_t *e)
{
	lua_State *L = lua_newstate(script_alloc, &e->pool);
	if (!L)
		abort();
	lua_atpanic(L, panic);
	open_lib(L, luaopen_base, "");
	open_lib(L, luaopen_table, LUA_TABLIBNAME);
	open_lib(L, luaopen_string, LUA_STRLIBNAME);
	open_lib(L, luaopen_math, LUA_MATHLIBNAME);
	open_global(L, luaopen_cjson, "cjson");
	open_global(L, luaopen_bit, "bit");
	open_lib(L, resp_lua_open_struct, "struct");
	open_lib(L, resp_lua_open_cmsgpack, "cmsgpack");
	lua_settop(L, 0);
	resp_lua_rand_install(L, &e->rand);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_SCRIPTS);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_SFLAGS);
	register_redis(L);
	lua_pushcfunction(L, l_lua_pcall);
	lua_setglobal(L, "pcall");
	resp_lua_sandbox_build(L);
	return L;
}

/* --- the engine -------------------------------------------------------------------- */

resp_lua_t *resp_lua_new(const log_t *log)
{
	resp_lua_t *e = calloc(1, sizeof *e);
	if (!e)
		abort();
	e->log = log;
	e->rand = ((uint64_t)(uint32_t)time_wall_ms() << 16) | 0x330E;
	e->L = new_state(e);
	buf_init(&e->scratch);
	return e;
}

void resp_lua_free(resp_lua_t *e)
{
	if (!e)
		return;
	lua_close(e->L);
	script_pool_drain(&e->pool);
	buf_deinit(&e->scratch);
	free(e);
}

void resp_lua_flush(resp_lua_t *e)
{
	lua_close(e->L);
	e->L = new_state(e);
	e->nscripts = 0;
}

size_t resp_lua_count(const resp_lua_t *e)
{
	return e->nscripts;
}

/* Pushes the compiled script sha (nil if unknown). */
static void get_script(lua_State *L, const char *sha)
{
	lua_getfield(L, LUA_REGISTRYINDEX, REG_SCRIPTS);
	lua_getfield(L, -1, sha);
	lua_remove(L, -2);
}

int resp_lua_exists(resp_lua_t *e, const char *sha, size_t len)
{
	if (len != 40)
		return 0;
	char lc[41];
	for (size_t i = 0; i < 40; i++)
		lc[i] = (char)tolower((unsigned char)sha[i]);
	lc[40] = 0;
	get_script(e->L, lc);
	int ok = !lua_isnil(e->L, -1);
	lua_pop(e->L, 1);
	return ok;
}

int resp_lua_load(resp_lua_t *e, const char *body, size_t n, char sha[41], buf_t *err)
{
	return resp_lua_load_ex(e, body, n, 0, 0, sha, err);
}

uint32_t resp_lua_script_flags(resp_lua_t *e, const char *sha)
{
	lua_State *L = e->L;
	lua_getfield(L, LUA_REGISTRYINDEX, REG_SFLAGS);
	lua_getfield(L, -1, sha);
	uint32_t f = (uint32_t)lua_tonumber(L, -1);
	lua_pop(L, 2);
	return f;
}

int resp_lua_load_ex(resp_lua_t *e, const char *body, size_t n, size_t skip, uint32_t flags,
                     char sha[41], buf_t *err)
{
	lua_State *L = e->L;
	resp_lua_sha1hex(body, n, sha);
	get_script(L, sha);
	int known = !lua_isnil(L, -1);
	lua_pop(L, 1);
	if (known)
		return 0;
	if (flags) {
		lua_getfield(L, LUA_REGISTRYINDEX, REG_SFLAGS);
		lua_pushnumber(L, (lua_Number)flags);
		lua_setfield(L, -2, sha);
		lua_pop(L, 1);
	}
	if (luaL_loadbuffer(L, body + skip, n - skip, "@user_script")) {
		buf_printf(err, "ERR Error compiling script (new function): %s",
		           lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	lua_getfield(L, LUA_REGISTRYINDEX, REG_ENV);
	lua_setfenv(L, -2);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_SCRIPTS);
	lua_insert(L, -2);
	lua_setfield(L, -2, sha);
	lua_pop(L, 1);
	e->nscripts++;
	return 0;
}

static void hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	resp_lua_t *e = engine_of(L);
	if (!e->run || e->run->time_limit_ms <= 0)
		return;
	if (!e->warned) {
		if (time_mono_ms() - e->start_ms <= e->run->time_limit_ms)
			return;
		e->warned = 1;
		log_warn(e->log,
		         "a script has run for more than lua-time-limit (%lld ms); other clients "
		         "are answered -BUSY until it ends or SCRIPT KILL stops it",
		         (long long)e->run->time_limit_ms);
	}
	if (!e->killed && e->run->busy && e->run->busy(e->run->ctx)) {
		e->killed = 1;
		log_warn(e->log, "Lua script killed by user with SCRIPT KILL.");
		lua_sethook(L, hook, LUA_MASKLINE, 0);
	}
	if (e->killed)
		raise_err(L, "Script killed by user with SCRIPT KILL...");
}

static void push_array(lua_State *L, int n, const resp_arg_t *a)
{
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_pushlstring(L, a[i].p, a[i].len);
		lua_rawseti(L, -2, i + 1);
	}
}

static void set_array(lua_State *L, const char *name, int n, const resp_arg_t *a)
{
	push_array(L, n, a);
	lua_setglobal(L, name);
}

/* --- Lua → RESP ----------------------------------------------------------------------- */

/* Field f of the table at idx when it has type t (pushed; 0 and nothing
 * pushed otherwise). */
static int field_of(lua_State *L, int idx, const char *f, int t)
{
	lua_pushstring(L, f);
	lua_rawget(L, idx);
	if (lua_type(L, -1) == t)
		return 1;
	lua_pop(L, 1);
	return 0;
}

static void lua_to_resp(resp_lua_t *e, lua_State *L, buf_t *out, int level);

static void table_to_resp(resp_lua_t *e, lua_State *L, buf_t *out, int level)
{
	int proto = e->run->proto;
	int t = lua_gettop(L);
	/* Redis's limit: what Lua's stack allows (a self-referencing table
	 * ends in this error some 8,000 arrays deep). */
	if (!lua_checkstack(L, 4)) {
		resp_error(out, "ERR reached lua stack limit");
		return;
	}
	if (field_of(L, t, "err", LUA_TSTRING)) {
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);
		buf_t tmp = BUF_INIT;
		buf_append(&tmp, s, n);
		buf_put_u8(&tmp, 0);
		resp_error(out, (const char *)buf_data(&tmp));
		buf_deinit(&tmp);
		lua_pop(L, 1);
		return;
	}
	if (field_of(L, t, "ok", LUA_TSTRING)) {
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);
		buf_put_u8(out, '+');
		for (size_t i = 0; i < n; i++)
			buf_put_u8(out, s[i] == '\r' || s[i] == '\n' ? ' ' : (uint8_t)s[i]);
		buf_append(out, "\r\n", 2);
		lua_pop(L, 1);
		return;
	}
	if (field_of(L, t, "double", LUA_TNUMBER)) {
		resp_double(out, proto, lua_tonumber(L, -1));
		lua_pop(L, 1);
		return;
	}
	if (field_of(L, t, "big_number", LUA_TSTRING)) {
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);
		if (proto == 3) {
			buf_put_u8(out, '(');
			buf_append(out, s, n);
			buf_append(out, "\r\n", 2);
		} else {
			resp_bulk(out, s, n);
		}
		lua_pop(L, 1);
		return;
	}
	if (field_of(L, t, "verbatim_string", LUA_TTABLE)) {
		int v = lua_gettop(L);
		if (field_of(L, v, "format", LUA_TSTRING)) {
			if (field_of(L, v, "string", LUA_TSTRING)) {
				size_t fn, sn;
				const char *f = lua_tolstring(L, -2, &fn);
				const char *s = lua_tolstring(L, -1, &sn);
				if (proto == 3 && fn == 3) {
					buf_printf(out, "=%zu\r\n%.3s:", sn + 4, f);
					buf_append(out, s, sn);
					buf_append(out, "\r\n", 2);
				} else {
					resp_bulk(out, s, sn);
				}
				lua_settop(L, t);
				return;
			}
		}
		lua_settop(L, t);
	}
	if (field_of(L, t, "map", LUA_TTABLE)) {
		int m = lua_gettop(L);
		size_t mark = resp_defer(out), n = 0;
		lua_pushnil(L);
		while (lua_next(L, m)) {
			lua_pushvalue(L, -2);
			lua_to_resp(e, L, out, level + 1); /* the key (popped) */
			lua_to_resp(e, L, out, level + 1); /* the value (popped) */
			n++;
		}
		resp_defer_map(out, mark, proto, n);
		lua_settop(L, t);
		return;
	}
	if (field_of(L, t, "set", LUA_TTABLE)) {
		int m = lua_gettop(L);
		size_t mark = resp_defer(out), n = 0;
		lua_pushnil(L);
		while (lua_next(L, m)) {
			lua_pop(L, 1);
			lua_pushvalue(L, -1);
			lua_to_resp(e, L, out, level + 1);
			n++;
		}
		resp_defer_set(out, mark, proto == 3 ? '~' : '*', n);
		lua_settop(L, t);
		return;
	}
	size_t mark = resp_defer(out), n = 0;
	for (int j = 1;; j++) {
		lua_rawgeti(L, t, j);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			break;
		}
		lua_to_resp(e, L, out, level + 1);
		n++;
	}
	resp_defer_set(out, mark, '*', n);
}

/* Writes the value on top of the stack and pops it. */
static void lua_to_resp(resp_lua_t *e, lua_State *L, buf_t *out, int level)
{
	int proto = e->run->proto;
	switch (lua_type(L, -1)) {
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);
		resp_bulk(out, s, n);
		break;
	}
	case LUA_TBOOLEAN: {
		int v = lua_toboolean(L, -1);
		if (e->resp == 2) {
			if (v)
				resp_int(out, 1);
			else
				resp_null(out, proto);
		} else if (proto == 3) {
			buf_append(out, v ? "#t\r\n" : "#f\r\n", 4);
		} else {
			resp_int(out, v);
		}
		break;
	}
	case LUA_TNUMBER:
		resp_int(out, (int64_t)lua_tonumber(L, -1));
		break;
	case LUA_TTABLE:
		table_to_resp(e, L, out, level);
		break;
	default:
		resp_null(out, proto);
		break;
	}
	lua_pop(L, 1);
}

/* The reply for an error table on top ({err, source, line}). */
static void error_reply(lua_State *L, const char *sha, buf_t *out)
{
	buf_t t = BUF_INIT;
	if (!lua_istable(L, -1)) {
		const char *s = lua_tostring(L, -1);
		buf_printf(&t, "ERR Error running script f_%s, %.100s", sha,
		           s ? s : "execution failure");
	} else {
		lua_getfield(L, -1, "err");
		lua_getfield(L, -2, "source");
		lua_getfield(L, -3, "line");
		const char *msg = lua_tostring(L, -3);
		const char *src = lua_tostring(L, -2);
		const char *line = lua_tostring(L, -1);
		buf_puts(&t, msg ? msg : "");
		if (src && line)
			buf_printf(&t, " script: %s, on %s:%s.", sha, src, line);
		lua_pop(L, 3);
	}
	buf_put_u8(&t, 0);
	resp_error(out, (const char *)buf_data(&t));
	buf_deinit(&t);
}

void resp_lua_run(resp_lua_t *e, const char *sha, const resp_lua_run_t *run, buf_t *out)
{
	lua_State *L = e->L;
	e->run = run;
	e->resp = 2;
	e->start_ms = run->start_ms ? run->start_ms : time_mono_ms();
	e->warned = 0;
	e->killed = 0;
	int nargs = 0;
	if (!run->fn) {
		set_array(L, "KEYS", run->nkeys, run->keys);
		set_array(L, "ARGV", run->nargs, run->args);
	}
	lua_pushcfunction(L, err_handler);
	int eh = lua_gettop(L);
	if (run->fn) {
		lua_getfield(L, LUA_REGISTRYINDEX, REG_FUNCS);
		lua_getfield(L, -1, sha);
		lua_remove(L, -2);
		push_array(L, run->nkeys, run->keys);
		push_array(L, run->nargs, run->args);
		nargs = 2;
	} else {
		get_script(L, sha);
	}
	lua_sethook(L, hook, LUA_MASKCOUNT, 100000);
	int rc = lua_pcall(L, nargs, 1, eh);
	lua_sethook(L, NULL, 0, 0);
	if (rc)
		error_reply(L, sha, out);
	else
		lua_to_resp(e, L, out, 0);
	lua_settop(L, 0);
	/* Lua's incremental collector runs as scripts allocate; an extra
	 * step every 50 runs (as Redis does) keeps the garbage of many small
	 * scripts from waiting for the next threshold. */
	if (++e->runs % 50 == 0)
		lua_gc(L, LUA_GCSTEP, 50);
	e->run = NULL;
}

/* --- functions -------------------------------------------------------------------- */

const char *const resp_fn_flag_names[] = {
    "no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", NULL};

static int fn_flags(lua_State *L, int idx, uint32_t *flags)
{
	if (!lua_istable(L, idx))
		return raise_err(L, "flags argument to redis.register_function must be a table "
		                    "representing function flags");
	for (int i = 1;; i++) {
		lua_rawgeti(L, idx, i);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			return 0;
		}
		const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		int bit = -1;
		for (int b = 0; s && resp_fn_flag_names[b]; b++)
			if (strcmp(s, resp_fn_flag_names[b]) == 0)
				bit = b;
		if (bit < 0)
			return raise_err(L, "unknown flag given");
		*flags |= 1u << bit;
		lua_pop(L, 1);
	}
}

/* redis.register_function{function_name=, callback=, flags=, description=}:
 * the named arguments in table 1; leaves the callback on top. */
static int named_args(lua_State *L, const char **name, size_t *nlen, const char **desc,
                      size_t *dlen, uint32_t *flags)
{
	int cb = 0;
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
		int v = lua_gettop(L);
		if (strcmp(k, "function_name") == 0) {
			if (!lua_isstring(L, v))
				return raise_err(L, "function_name argument given to "
				                    "redis.register_function must be a string");
			*name = lua_tolstring(L, v, nlen);
		} else if (strcmp(k, "description") == 0) {
			if (lua_type(L, v) != LUA_TSTRING)
				return raise_err(L, "description argument given to "
				                    "redis.register_function must be a string");
			*desc = lua_tolstring(L, v, dlen);
		} else if (strcmp(k, "callback") == 0) {
			if (!lua_isfunction(L, v))
				return raise_err(L, "callback argument given to "
				                    "redis.register_function must be a function");
			cb = 1;
		} else if (strcmp(k, "flags") == 0) {
			fn_flags(L, v, flags);
		} else {
			return raise_err(L, "unknown argument given to redis.register_function");
		}
		/* The strings stay referenced by table 1. */
		lua_pop(L, 1);
	}
	if (!*name)
		return raise_err(L, "redis.register_function must get a function name argument");
	if (!cb)
		return raise_err(L, "redis.register_function must get a callback argument");
	lua_getfield(L, 1, "callback");
	return 0;
}

/* redis.register_function(name, callback) or (named arguments), with
 * Redis 7.0's texts. */
static int l_register_function(lua_State *L)
{
	resp_lua_t *e = engine_of(L);
	/* A function can still reach the load API through a local the
	 * library's code kept: it must not add functions at run time. */
	if (!e->loading)
		return raise_err(L, "redis.register_function can only be called on FUNCTION LOAD "
		                    "command");
	int argc = lua_gettop(L);
	uint32_t flags = 0;
	const char *name = NULL, *desc = NULL;
	size_t nlen = 0, dlen = 0;
	if (argc == 1) {
		if (!lua_istable(L, 1))
			return raise_err(
			    L, "calling redis.register_function with a single argument is "
			       "only applicable to Lua table (representing named arguments).");
		named_args(L, &name, &nlen, &desc, &dlen, &flags);
	} else if (argc == 2) {
		if (!lua_isstring(L, 1))
			return raise_err(
			    L, "first argument to redis.register_function must be a string");
		if (!lua_isfunction(L, 2))
			return raise_err(
			    L, "second argument to redis.register_function must be a function");
		name = lua_tolstring(L, 1, &nlen);
		lua_pushvalue(L, 2);
	} else {
		return raise_err(L, "wrong number of arguments to redis.register_function");
	}
	int cb = lua_gettop(L);
	const char *err = e->reg ? e->reg(e->reg_ctx, name, nlen, flags, desc, dlen) : NULL;
	if (err)
		return raise_err(L, err);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_PENDING);
	lua_pushlstring(L, name, nlen);
	lua_pushvalue(L, cb);
	lua_rawset(L, -3);
	return 0;
}

static int nonexistent(lua_State *L, int key)
{
	const char *k = lua_type(L, key) == LUA_TSTRING ? lua_tostring(L, key) : "?";
	return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", k);
}

/* The environment of library code and of the functions it defines: the
 * load API while the library loads, the scripts' globals afterwards (as
 * 7.0 switches its globals' __index). */
static int fenv_index(lua_State *L)
{
	resp_lua_t *e = engine_of(L);
	const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";
	if (!e->loading && (strcmp(k, "KEYS") == 0 || strcmp(k, "ARGV") == 0))
		return nonexistent(L, 2); /* a function gets them as arguments */
	if (!e->loading) {
		lua_getfield(L, LUA_REGISTRYINDEX, REG_ENV);
		lua_pushvalue(L, 2);
		lua_gettable(L, -2);
		return 1;
	}
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LOADAPI);
	lua_pushvalue(L, 2);
	lua_rawget(L, -2);
	return lua_isnil(L, -1) ? nonexistent(L, 2) : 1;
}

/* A table whose missing keys raise, as 7.0's luaSetErrorMetatable. */
static int strict_index(lua_State *L)
{
	return nonexistent(L, 2);
}

/* Sets on the table on top a metatable: index for reads, writes fail. */
static void guard_table(lua_State *L, lua_CFunction index)
{
	lua_newtable(L);
	lua_pushcfunction(L, index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, resp_lua_readonly_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_setmetatable(L, -2);
}

/* Builds the load API and the functions' environment (once per state). */
static void fn_setup(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LOADAPI);
	int done = !lua_isnil(L, -1);
	lua_pop(L, 1);
	if (done)
		return;
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_FUNCS);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_PENDING);
	/* {redis = {register_function, log, LOG_*, REDIS_VERSION*}} */
	static const char *const copy[] = {
	    "log",         "LOG_DEBUG",     "LOG_VERBOSE",       "LOG_NOTICE",
	    "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM", NULL};
	lua_newtable(L);
	lua_newtable(L);
	lua_pushcfunction(L, l_register_function);
	lua_setfield(L, -2, "register_function");
	lua_getglobal(L, "redis");
	for (int i = 0; copy[i]; i++) {
		lua_getfield(L, -1, copy[i]);
		lua_setfield(L, -3, copy[i]);
	}
	lua_pop(L, 1);
	guard_table(L, strict_index);
	lua_setfield(L, -2, "redis");
	lua_setfield(L, LUA_REGISTRYINDEX, REG_LOADAPI);
	lua_newtable(L);
	guard_table(L, fenv_index);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_FENV);
}

/* A library's code gets 500 ms to load (7.0's LOAD_TIMEOUT_MS): the
 * server answers nobody meanwhile. The hook then fires on every line so a
 * pcall in the code cannot keep it going. */
#define LOAD_TIMEOUT_MS 500

static void load_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	resp_lua_t *e = engine_of(L);
	if (time_mono_ms() - e->start_ms <= LOAD_TIMEOUT_MS)
		return;
	lua_sethook(L, load_hook, LUA_MASKLINE, 0);
	raise_err(L, "FUNCTION LOAD timeout");
}

int resp_lua_lib_load(resp_lua_t *e, const char *code, size_t n, resp_lua_reg_fn reg, void *ctx,
                      buf_t *err)
{
	lua_State *L = e->L;
	fn_setup(L);
	resp_lua_lib_abort(e);
	if (luaL_loadbuffer(L, code, n, "@user_function")) {
		buf_printf(err, "ERR Error compiling function: %s", lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	lua_getfield(L, LUA_REGISTRYINDEX, REG_FENV);
	lua_setfenv(L, -2);
	e->loading = 1;
	e->reg = reg;
	e->reg_ctx = ctx;
	e->start_ms = time_mono_ms();
	lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
	int rc = lua_pcall(L, 0, 0, 0);
	lua_sethook(L, NULL, 0, 0);
	e->loading = 0;
	e->reg = NULL;
	if (!rc)
		return 0;
	/* An API error is a table {err = "CODE msg"}, a Lua error a string. */
	const char *pre = "ERR ";
	if (lua_istable(L, -1)) {
		lua_getfield(L, -1, "err");
		lua_remove(L, -2);
		pre = "";
	}
	const char *msg = lua_tostring(L, -1);
	buf_printf(err, "ERR Error registering functions: %s%s", pre, msg ? msg : "");
	lua_pop(L, 1);
	resp_lua_lib_abort(e);
	return -1;
}

void resp_lua_lib_commit(resp_lua_t *e, const char *const *drop, size_t ndrop)
{
	lua_State *L = e->L;
	fn_setup(L);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_FUNCS);
	for (size_t i = 0; i < ndrop; i++) {
		lua_pushnil(L);
		lua_setfield(L, -2, drop[i]);
	}
	/* funcs[k] = v for each (k, v) of the pending table. */
	lua_getfield(L, LUA_REGISTRYINDEX, REG_PENDING);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -5);
	}
	lua_pop(L, 2);
	resp_lua_lib_abort(e);
}

void resp_lua_lib_abort(resp_lua_t *e)
{
	lua_newtable(e->L);
	lua_setfield(e->L, LUA_REGISTRYINDEX, REG_PENDING);
}

/*
 * script_lua.h — the Lua 5.1 engine behind EVAL and SCRIPT (c_script.c).
 *
 * The engine knows Lua, Redis's scripting API and its type conversions; it
 * knows nothing of the keyspace or of clients. A script's redis.call()
 * goes through the run's call hook, which runs the command through the
 * RESP front's one command table (commands.c: resp_dispatch_script) and
 * hands back the command's RESP reply, which the engine turns into Lua
 * values as Redis 7.0 does (RESP2 or RESP3, per redis.setresp). The
 * script's result is written as a RESP reply for the calling client.
 *
 * Scripts are kept by SHA1 until SCRIPT FLUSH, which recreates the Lua
 * state. Loop thread only; one engine per RESP front.
 */
#ifndef SL_PROTO_RESP_SCRIPT_LUA_H
#define SL_PROTO_RESP_SCRIPT_LUA_H

#include "core/buf.h"
#include "core/log.h"
#include "proto/resp/parse.h"

#include <stddef.h>
#include <stdint.h>

typedef struct resp_lua resp_lua_t;

/* Runs one command for a script. On success returns 0 with the command's
 * reply (RESP, protocol version proto, an error reply included) in out;
 * a command the script may not run returns -1 with Redis's refusal text
 * in out: "msg" (the engine prefixes ERR) or "-CODE msg". */
typedef int (*resp_lua_call_fn)(void *ctx, int argc, resp_arg_t *argv, int proto, buf_t *out);

typedef struct {
	int proto;             /* the calling client's RESP version */
	int64_t time_limit_ms; /* lua-time-limit / busy-reply-threshold */
	resp_lua_call_fn call; /* redis.call / redis.pcall */
	/* Called from the script's hook (every 100,000 instructions) once it
	 * has run time_limit_ms: serves other clients; returns nonzero when
	 * the script must stop (SCRIPT or FUNCTION KILL), which fails it with
	 * "Script killed by user with SCRIPT KILL..." that pcall cannot keep. */
	int (*busy)(void *ctx);
	/* redis.acl_check_cmd: 1 the caller's user may run the command, 0
	 * not, -1 no such command. */
	int (*acl)(void *ctx, int argc, resp_arg_t *argv);
	void *ctx;        /* for call and busy */
	int fn;           /* run a function (FCALL; its name is the sha) */
	int64_t start_ms; /* when the run began (mono); 0: the engine reads the clock */
	int nkeys, nargs; /* KEYS and ARGV */
	const resp_arg_t *keys, *args;
} resp_lua_run_t;

/* log: where redis.log() and the lua-time-limit warning go. */
resp_lua_t *resp_lua_new(const struct log *log);
void resp_lua_free(resp_lua_t *e);

/* SHA1 of p[0..n) as 40 lower-case hex digits and a NUL. */
void resp_lua_sha1hex(const void *p, size_t n, char out[41]);

/* Compiles body (if its SHA1 is not known yet) and keeps it; sha gets its
 * SHA1. Returns 0, or -1 with Redis's error reply (without '-' and CRLF)
 * in err. */
int resp_lua_load(resp_lua_t *e, const char *body, size_t n, char sha[41], buf_t *err);
/* The same for an EVAL body with a shebang line ("#!lua flags=..."):
 * the SHA1 covers the whole body, the first skip bytes (the shebang up to
 * its newline, so line numbers hold) are not compiled, and flags (the
 * RESP_FN_* bits and RESP_SCRIPT_SHEBANG) are kept with the script. */
int resp_lua_load_ex(resp_lua_t *e, const char *body, size_t n, size_t skip, uint32_t flags,
                     char sha[41], buf_t *err);
/* The flags kept with a loaded script (0: none, no shebang). */
uint32_t resp_lua_script_flags(resp_lua_t *e, const char *sha);
/* Whether the script with this SHA1 (40 hex digits, any case) is known. */
int resp_lua_exists(resp_lua_t *e, const char *sha, size_t len);
size_t resp_lua_count(const resp_lua_t *e);
/* Forgets every script (a fresh Lua state). */
void resp_lua_flush(resp_lua_t *e);

/* Runs the known script sha (lower-case) and writes its result, converted
 * as Redis does, or its error, as one RESP reply to out. */
void resp_lua_run(resp_lua_t *e, const char *sha, const resp_lua_run_t *run, buf_t *out);

/* --- functions (c_function.c) ---------------------------------------------
 * A function engine is an engine of its own (functions outlive SCRIPT
 * FLUSH). A library's code runs once at load in Redis 7.0's load-time
 * environment: its only global is a redis table with register_function,
 * log, the LOG_* levels and the version; functions then run with the
 * scripts' environment, called with (KEYS, ARGV) tables. */
enum {
	RESP_FN_NO_WRITES = 1 << 0,
	RESP_FN_ALLOW_OOM = 1 << 1,
	RESP_FN_ALLOW_STALE = 1 << 2,
	RESP_FN_NO_CLUSTER = 1 << 3,
	RESP_FN_ALLOW_CROSS_SLOT = 1 << 4,
	/* An EVAL script that declared its flags in a shebang (7.0's
	 * non-compatibility mode; EVAL_RO then needs no-writes). */
	RESP_SCRIPT_SHEBANG = 1u << 31,
};
/* Names of the flags by bit (NULL-terminated). */
extern const char *const resp_fn_flag_names[];
/* Told of each redis.register_function of the library being loaded;
 * returns NULL to accept it, or the error message (without "ERR "). */
typedef const char *(*resp_lua_reg_fn)(void *ctx, const char *name, size_t n, uint32_t flags,
                                       const char *desc, size_t dlen);
/* Compiles and runs a library's code (code: everything after the "#!lua"
 * line, which starts with its newline so line numbers hold) and keeps the
 * functions it registered aside. Returns 0, or -1 with Redis's error
 * reply (without '-') in err and nothing kept. */
int resp_lua_lib_load(resp_lua_t *e, const char *code, size_t n, resp_lua_reg_fn reg, void *ctx,
                      buf_t *err);
/* Drops the functions named drop[0..ndrop) and makes the ones kept aside
 * by the last load callable (commit), or forgets those (abort). */
void resp_lua_lib_commit(resp_lua_t *e, const char *const *drop, size_t ndrop);
void resp_lua_lib_abort(resp_lua_t *e);

/* The libraries Redis gives scripts that Debian does not package for Lua
 * 5.1 (script_lib.c): struct and cmsgpack, and the math.random generator
 * (Redis's rand48; state in the engine). */
struct lua_State;
int resp_lua_open_struct(struct lua_State *L);
int resp_lua_open_cmsgpack(struct lua_State *L);
void resp_lua_rand_install(struct lua_State *L, uint64_t *state);

/* The sandbox (script_sandbox.c): builds it in a new state (the globals
 * proxy left in the registry under RESP_LUA_REG_ENV, the read-only proxies
 * mapped to their tables under RESP_LUA_REG_RO), and the __newindex that
 * refuses every write with Redis's error. */
#define RESP_LUA_REG_ENV "sluice.env"
#define RESP_LUA_REG_RO "sluice.readonly" /* read-only proxy → the table it shows */
void resp_lua_sandbox_build(struct lua_State *L);
int resp_lua_readonly_newindex(struct lua_State *L);

#endif

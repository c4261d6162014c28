/*
 * resp.h — internals shared by the RESP front's files: the server context,
 * the per-connection client, the command table types, the reply path and
 * the blocking machinery.
 *
 * The front is an adapter over the broker's keyspace (broker/keyspace.h,
 * srv->ks): handlers parse, call the keyspace, and encode what it returns;
 * the data, its durability and its failure policy are the keyspace's.
 * What lives here is connection state: blocked clients, MULTI queues,
 * WATCH lists, each connection's subscriptions.
 *
 * Layout: parse.c reads requests, commands.c holds the one command table
 * and dispatches, reply.c writes replies, block.c parks clients that wait
 * for a key, c_*.c are the command families, front.c plugs it all into
 * net/ and into the keyspace (replies, key notifications). Loop thread
 * only.
 */
#ifndef SL_PROTO_RESP_RESP_H
#define SL_PROTO_RESP_RESP_H

#include "broker/broker.h"
#include "broker/stream.h"
#include "broker/keyspace.h"
#include "core/map.h"
#include "net/conn.h"
#include "proto/resp/parse.h"
#include "proto/resp/reply.h"

#include <stdint.h>

typedef struct resp_srv resp_srv_t;
typedef struct resp_cli resp_cli_t;
typedef struct resp_cmd resp_cmd_t;

/* Handlers write the reply to cl->out and return 0; a negative return
 * closes the connection (after flushing). argv[0] is the command name. */
typedef int (*resp_cmd_fn)(resp_cli_t *cl, int argc, resp_arg_t *argv);

enum {
	RESP_CMD_WRITE = 1 << 0, /* mutates the keyspace: MISCONF while it recovers */
	RESP_CMD_READONLY = 1 << 1,
	RESP_CMD_NOAUTH = 1 << 2, /* allowed before AUTH */
	RESP_CMD_FAST = 1 << 3,
	RESP_CMD_BLOCKING = 1 << 4,
	RESP_CMD_LOADING = 1 << 5,
	RESP_CMD_STALE = 1 << 6,
	RESP_CMD_DENYOOM = 1 << 7,
	RESP_CMD_NOSCRIPT = 1 << 8,
	RESP_CMD_PUBSUB = 1 << 9,
	RESP_CMD_ALLOW_BUSY = 1 << 10,       /* runs while a script is busy (others: -BUSY) */
	RESP_CMD_NO_MULTI = 1 << 11,         /* refused inside MULTI (7.0's CMD_NO_MULTI) */
	RESP_CMD_NO_ASYNC_LOADING = 1 << 12, /* COMMAND INFO only: sluice never loads async */
};

struct resp_cmd {
	const char *name; /* lower case; subcommands without the parent */
	int arity;        /* > 0 exact, < 0 at least -arity (Redis rule) */
	uint32_t flags;
	resp_cmd_fn fn; /* NULL for a container (see subs) */
	int first_key, last_key, key_step;
	const char *group; /* COMMAND DOCS group */
	const char *since;
	const char *summary;
	const char *acl;        /* ACL categories, space separated, without '@' */
	const resp_cmd_t *subs; /* container's subcommands, NULL-name terminated */
};

/* --- blocking ---------------------------------------------------------------- */

typedef struct resp_wait resp_wait_t;
typedef struct resp_block resp_block_t;

/* Tries to serve a blocked client now; returns 1 when it wrote a reply
 * (the client is then unblocked by the caller), 0 to keep waiting. */
typedef int (*resp_serve_fn)(resp_cli_t *cl, resp_block_t *bk);
typedef void (*resp_block_free_fn)(resp_block_t *bk);

struct resp_block {
	resp_cli_t *cl;
	resp_serve_fn serve;
	resp_block_free_fn free_fn; /* frees what the command put in arg */
	void *arg;
	loop_timer_t timer;
	size_t nwaits;
	resp_wait_t **waits;
};

/* Parks cl on keys until serve() succeeds, a timeout (ms > 0; 0 = forever)
 * writes a null array, or the client goes away. Pauses the connection. */
void resp_block(resp_cli_t *cl, int nkeys, const resp_arg_t *keys, int64_t timeout_ms,
                resp_serve_fn serve, resp_block_free_fn free_fn, void *arg);
void resp_unblock(resp_cli_t *cl);
/* A key received data or was deleted: its waiters get a chance to run
 * after the current command (Redis serves blocked clients between
 * commands). */
void resp_signal_key(resp_srv_t *srv, const char *key, size_t klen);
void resp_serve_ready(resp_srv_t *srv);
/* c_conn.c: whether new connections must AUTH (requirepass, or users in
 * the broker's user database). */
int resp_auth_required(const resp_srv_t *srv);
/* A new or RESET connection is the default user: logged in at once unless
 * it needs a password. A "default" user in the database (ACL SETUSER
 * default ...) brings its rules, and on + nopass logs in, as in Redis. */
void resp_conn_default(resp_cli_t *cl);
/* The ACL verdict on running cmd (c_acl_check.c), for a client logged in
 * as a user: why not, without replying (scripts word refusals their own
 * way), or checked and answered (0 allowed, 1 refused with NOPERM, -1
 * close: the user is gone). Refusals go to the ACL LOG with the context
 * ctx: 0 top level, 1 MULTI, 2 a script. */
enum { RESP_ACL_OK, RESP_ACL_CMD, RESP_ACL_KEY, RESP_ACL_CHANNEL, RESP_ACL_GONE };
int resp_acl_denied(resp_cli_t *cl, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc,
                    const resp_arg_t *argv, int ctx);
int resp_acl_check(resp_cli_t *cl, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc,
                   const resp_arg_t *argv, int ctx);
/* AUTH/HELLO as a user of the database against its ACL rules (on/off,
 * nopass, the rules' passwords, else its SCRAM credential): 1 when
 * accepted. Rate-limited and logged by users.c, failures in the ACL LOG. */
int resp_acl_auth(resp_cli_t *cl, const char *name, size_t n, const char *pass, size_t passn);
/* Adds an ACL LOG entry (reason "auth", "command", "key", "channel"). */
void resp_acl_log(resp_cli_t *cl, const char *reason, int ctx, const char *obj, size_t objn,
                  const char *user);
void resp_acl_free(resp_srv_t *srv);
/* CLIENT INFO's line of cl, "\n"-terminated (c_conn.c). */
void resp_client_line(buf_t *b, resp_cli_t *cl);

/* --- server and client ------------------------------------------------------- */

struct resp_srv {
	broker_t *b;
	const sl_config_t *cfg;
	keyspace_t *ks; /* the broker's */
	int always;     /* fsync=always: replies may have to wait */
	map_t waiting;  /* key → list of resp_wait_t (blocked clients) */
	char **ready;   /* keys signalled since the last serve */
	size_t *ready_len;
	size_t nready, ready_cap;
	loop_task_t serve_task; /* serves blocked clients after a reload */
	/* Connections paused until the keyspace is quiet (ks_wants_quiet). */
	resp_cli_t **quiet;
	size_t nquiet, quiet_cap;
	uint64_t quiet_pauses; /* connections paused so (INFO) */
	int64_t start_wall_ms;
	uint64_t total_conns, total_cmds;
	size_t nclients, nblocked;
	struct resp_lx *lx; /* WATCH registry, ready order (c_lists.h) */
	map_t cmds;         /* lower-case name → top-level resp_cmd_t (dispatch) */
	/* Keyspace notifications (notify.c): the enabled classes, and the
	 * command being run (its events are named after it). */
	int notify;
	const resp_cmd_t *ncmd;
	resp_arg_t *nargv;
	int nargc;
	/* CONFIG SET values sluice keeps but does not act on (c_server.c). */
	int64_t list_max_listpack_size, list_compress_depth, busy_reply_threshold;
	int64_t stream_node_max_bytes, stream_node_max_entries; /* accepted, unused */
	struct resp_lua *lua;     /* the Lua engine (c_script.c), made on first use */
	struct resp_run *run;     /* the script running (c_script.c), NULL between scripts */
	struct resp_fns *fns;     /* function libraries (c_function.c), made on first use */
	int64_t attack_logged_ms; /* last "SECURITY ATTACK" warning (front.c), mono */
	struct resp_acl *acl;     /* rules cache and ACL LOG (c_acl_check.c) */
	int64_t acllog_max_len;   /* CONFIG acllog-max-len */
	/* MONITOR, SLOWLOG, CLIENT PAUSE (c_admin.h); the slowlog configs. */
	struct resp_admin *adm;
	int64_t slowlog_slower_than, slowlog_max_len;
	/* While one connection's requests run back to back (front.c
	 * on_input): when the last one ended (monotonic us), which is when
	 * the next one starts, or 0 when unknown; -1 outside such a run.
	 * Saves one clock read per pipelined request. */
	int64_t chain_us;
};

struct resp_cli {
	conn_t *c;
	resp_srv_t *srv;
	resp_parser_t parser;
	int proto; /* 2 or 3 */
	int authed;
	char *user; /* authenticated as this user of the database (NULL: default) */
	int closing;
	char *name, *lib_name, *lib_ver;
	int64_t ctime_ms; /* wall */
	int64_t last_ms;  /* mono, last command */
	const char *last_cmd;
	const resp_cmd_t *last_parent; /* last_cmd's container, if it is a subcommand */
	const resp_cmd_t *last_top;    /* dispatch cache: the last top-level command found */
	buf_t *out;                    /* where the current reply goes */
	resp_block_t *blk;             /* non-NULL while blocked */
	int quieted;                   /* paused until the keyspace is quiet */
	struct resp_lxcli *lx;         /* pub/sub, MULTI, WATCH state (c_lists.h) */
	uint64_t nreq;                 /* requests run (0: the first decides the log hint) */
	int sniffed;                   /* the wrong-protocol hint was logged */
	/* c_admin.h: a MONITOR, CLIENT REPLY mode, CLIENT NO-EVICT, held by
	 * CLIENT PAUSE. */
	int monitor, reply_mode, no_evict, held;
};

/* The script running (c_script.c). Past busy-reply-threshold it is busy:
 * its hook serves the other RESP clients (net/conn.h busy passes), which
 * get -BUSY for every command without RESP_CMD_ALLOW_BUSY. */
typedef struct resp_run {
	resp_cli_t *cl; /* the caller; its connection is not read meanwhile */
	int busy;
	int is_fn; /* FCALL: FUNCTION KILL stops it; EVAL: SCRIPT KILL */
	int dirty; /* ran a write command: it can no longer be killed */
	int kill;  /* a KILL asked it to stop */
	/* For FUNCTION STATS: the function or SHA1, the command, the start. */
	const char *name;
	int argc;
	resp_arg_t *argv;
	int64_t start_ms; /* mono */
} resp_run_t;
/* While a script is busy: the -BUSY refusal of cmd (without '-'), or NULL
 * (not busy, or cmd has RESP_CMD_ALLOW_BUSY). refuse_busy writes it and
 * returns 1, or returns 0. */
const char *resp_script_busy_err(const resp_srv_t *srv, const resp_cmd_t *cmd);
int resp_script_refuse_busy(resp_cli_t *cl, const resp_cmd_t *cmd);
/* SCRIPT KILL (is_fn 0) / FUNCTION KILL (1): stops the busy script if it
 * may be stopped, and answers as Redis 7.0. */
void resp_script_kill(resp_cli_t *cl, int is_fn);
/* EVAL and FCALL: parses numkeys (argv[2]) or replies the error (-1). */
int resp_script_numkeys(resp_cli_t *cl, int argc, resp_arg_t *argv, int64_t *numkeys);
/* Runs the script (sha) or function (is_fn: name) of engine e with the
 * keys and arguments of argv[3..], its reply to cl->out. */
struct resp_lua;
void resp_script_exec(resp_cli_t *cl, struct resp_lua *e, const char *name, int is_fn, int ro,
                      int64_t numkeys, int argc, resp_arg_t *argv);

/* The reply path (front.c). A request's reply is written to the buffer
 * resp_reply_begin() returns: the connection itself while replies can
 * never wait (fsync other than always), else scratch. resp_reply_end()
 * then hands a scratch reply to the keyspace, which sends it at once or
 * holds it until everything it could depend on is durable; on a storage
 * failure it becomes the MISCONF error. One pair per request (or served
 * blocked client, or timeout): one reply in, one error out. */
buf_t *resp_reply_begin(resp_cli_t *cl, buf_t *scratch);
void resp_reply_end(resp_cli_t *cl, buf_t *scratch);

/* Dispatch one parsed request (commands.c). */
int resp_dispatch(resp_cli_t *cl, int argc, resp_arg_t *argv);
const resp_cmd_t *resp_cmd_lookup(const resp_cmd_t *table, const char *name, size_t len);
/* Top-level command by name, any case, through srv->cmds (the hash index
 * of the table): what dispatch, MULTI queueing and WATCH use. */
const resp_cmd_t *resp_cmd_find(const resp_srv_t *srv, const char *name, size_t len);
/* Builds srv->cmds from the table (front start) / frees it (stop). */
void resp_cmds_index(resp_srv_t *srv);

/* Runs one command for a script (c_script.c): Redis's scriptCall checks
 * (unknown command, arity, noscript, writes from a read-only script,
 * MISCONF), then the handler as dispatch runs it. A refused command
 * returns -1 with the refusal's text in cl->out; else 0 and the reply. */
int resp_dispatch_script(resp_cli_t *cl, int argc, resp_arg_t *argv, int ro);

/* Shared error replies (Redis's texts). */
void resp_err_arity(resp_cli_t *cl, const char *fullname);
void resp_err_syntax(resp_cli_t *cl);
void resp_err_wrongtype(resp_cli_t *cl);
void resp_err_int(resp_cli_t *cl);
/* "-MISCONF Errors writing to the AOF file: <strerror>", Redis's reply to
 * a write refused because persistence failed, for the storage error rc. */
void resp_misconf(buf_t *b, int rc);
/* The reply for a keyspace error that is not the command's own: SL_ESTATE
 * is WRONGTYPE, anything else a storage error (MISCONF). */
void resp_err_ks(resp_cli_t *cl, int rc);

/* Argument helpers. */
int resp_arg_is(const resp_arg_t *a, const char *s); /* case-insensitive */
int resp_arg_ll(const resp_arg_t *a, int64_t *out);  /* strict integer */
/* Integer or the "value is not an integer or out of range" reply. */
int resp_arg_ll_or_reply(resp_cli_t *cl, const resp_arg_t *a, int64_t *out);

/* Command families (c_*.c): the table in commands.c points at these. */
#define RESP_HANDLER(name) int name(resp_cli_t *cl, int argc, resp_arg_t *argv)
RESP_HANDLER(resp_c_ping);
RESP_HANDLER(resp_c_echo);
RESP_HANDLER(resp_c_quit);
RESP_HANDLER(resp_c_reset);
RESP_HANDLER(resp_c_select);
RESP_HANDLER(resp_c_auth);
RESP_HANDLER(resp_c_acl_whoami);
RESP_HANDLER(resp_c_acl_users);
RESP_HANDLER(resp_c_acl_list);
RESP_HANDLER(resp_c_acl_getuser);
RESP_HANDLER(resp_c_acl_setuser);
RESP_HANDLER(resp_c_acl_deluser);
RESP_HANDLER(resp_c_acl_cat);
RESP_HANDLER(resp_c_acl_log);
RESP_HANDLER(resp_c_acl_dryrun);
RESP_HANDLER(resp_c_acl_genpass);
RESP_HANDLER(resp_c_acl_load);
RESP_HANDLER(resp_c_hello);
RESP_HANDLER(resp_c_client_setname);
RESP_HANDLER(resp_c_client_getname);
RESP_HANDLER(resp_c_client_id);
RESP_HANDLER(resp_c_client_list);
RESP_HANDLER(resp_c_client_info);
RESP_HANDLER(resp_c_client_setinfo);
RESP_HANDLER(resp_c_info);
RESP_HANDLER(resp_c_config_get);
RESP_HANDLER(resp_c_config_set);
RESP_HANDLER(resp_c_config_resetstat);
RESP_HANDLER(resp_c_time);
RESP_HANDLER(resp_c_dbsize);
RESP_HANDLER(resp_c_flushdb);
RESP_HANDLER(resp_c_shutdown);
RESP_HANDLER(resp_c_cluster);
RESP_HANDLER(resp_c_command);
RESP_HANDLER(resp_c_command_count);
RESP_HANDLER(resp_c_command_docs);
RESP_HANDLER(resp_c_command_info);
RESP_HANDLER(resp_c_command_list);
RESP_HANDLER(resp_c_help);
RESP_HANDLER(resp_c_type);
RESP_HANDLER(resp_c_del);
RESP_HANDLER(resp_c_exists);
RESP_HANDLER(resp_c_keys);
RESP_HANDLER(resp_c_scan);
RESP_HANDLER(resp_c_xadd);
RESP_HANDLER(resp_c_xrange);
RESP_HANDLER(resp_c_xrevrange);
RESP_HANDLER(resp_c_xlen);
RESP_HANDLER(resp_c_xtrim);
RESP_HANDLER(resp_c_xdel);
RESP_HANDLER(resp_c_xsetid);
RESP_HANDLER(resp_c_xread);
RESP_HANDLER(resp_c_xreadgroup);
RESP_HANDLER(resp_c_xgroup_create);
RESP_HANDLER(resp_c_xgroup_setid);
RESP_HANDLER(resp_c_xgroup_destroy);
RESP_HANDLER(resp_c_xgroup_createconsumer);
RESP_HANDLER(resp_c_xgroup_delconsumer);
RESP_HANDLER(resp_c_xack);
RESP_HANDLER(resp_c_xpending);
RESP_HANDLER(resp_c_xclaim);
RESP_HANDLER(resp_c_xautoclaim);
RESP_HANDLER(resp_c_xinfo_stream);
RESP_HANDLER(resp_c_xinfo_groups);
RESP_HANDLER(resp_c_xinfo_consumers);
RESP_HANDLER(resp_c_xgroup_help);
RESP_HANDLER(resp_c_xinfo_help);

#endif

/*
 * c_admin.h — the RESP front's administration state: MONITOR feeds and
 * the SLOWLOG (c_monitor.c), CLIENT PAUSE / KILL / UNBLOCK / REPLY and the
 * other CLIENT subcommands that act on connections (c_client.c). The
 * hooks here are what dispatch (commands.c) and the connection code
 * (front.c) call; none of this state is persistent (Redis keeps it in
 * memory too). Loop thread only.
 */
#ifndef SL_PROTO_RESP_C_ADMIN_H
#define SL_PROTO_RESP_C_ADMIN_H

#include "proto/resp/resp.h"

/* CLIENT REPLY modes (cl->reply_mode). */
enum { RESP_REPLY_ON, RESP_REPLY_OFF, RESP_REPLY_SKIP_NEXT, RESP_REPLY_SKIP };

/* dispatch's return for a request held back by CLIENT PAUSE: the input
 * is not consumed and the connection stays paused until the pause ends. */
#define RESP_POSTPONED 2

typedef struct slow_entry slow_entry_t;

/* Per-server state (srv->adm), made on first use. */
struct resp_admin {
	resp_cli_t **monitors;
	size_t nmon, mon_cap;
	slow_entry_t *slow; /* oldest first */
	size_t nslow, slow_cap;
	uint64_t slow_next_id;
	/* CLIENT PAUSE: until (mono ms), whether writes only, the clients
	 * held back meanwhile. */
	int64_t pause_until;
	int pause_all;
	loop_timer_t pause_timer;
	resp_cli_t **held;
	size_t nheld, held_cap;
	/* INFO errorstats: error prefix → count (as uintptr_t); the total. */
	map_t errs;
	uint64_t total_errors;
};

/* Before a command runs: MONITOR shows scripts before their commands. */
void resp_admin_before(resp_cli_t *cl, const resp_cmd_t *top, int argc, const resp_arg_t *argv);
/* After a command ran (run_cmd): MONITOR lines and the SLOWLOG entry.
 * script: the command came from redis.call(). dur_us < 0: not timed. */
void resp_admin_after(resp_cli_t *cl, const resp_cmd_t *top, const resp_cmd_t *cmd, int argc,
                      const resp_arg_t *argv, int script, int64_t dur_us);
/* Whether the slowlog needs commands timed. */
static inline int resp_slowlog_on(const resp_srv_t *srv)
{
	return srv->slowlog_slower_than >= 0;
}
/* A request was answered with the error text p[0..n) (after the '-'). */
void resp_errorstat(resp_srv_t *srv, const char *p, size_t n);
/* INFO's "# CPU" and "# Errorstats" sections; total_error_replies. */
void resp_info_cpu(buf_t *b);
void resp_info_errorstats(buf_t *b, resp_srv_t *srv);
uint64_t resp_total_errors(const resp_srv_t *srv);
/* CONFIG RESETSTAT: the error counts. */
void resp_errorstats_reset(resp_srv_t *srv);
/* Whether cmd must wait for the end of CLIENT PAUSE (then cl is held and
 * its connection paused). */
int resp_pause_hold(resp_cli_t *cl, const resp_cmd_t *cmd);
/* The pause timer's callback (arg: the server). */
void resp_pause_timer(loop_t *loop, loop_timer_t *t);
/* CLIENT KILL / LIST TYPE: a client's type, a type's name (-2 unknown). */
enum { RESP_CT_NORMAL, RESP_CT_REPLICA, RESP_CT_PUBSUB, RESP_CT_MASTER };
int resp_cli_type(const resp_cli_t *cl);
int resp_cli_type_by_name(const resp_arg_t *a);
/* CLIENT LIST / INFO's laddr: "ip:port" of the local end. */
void resp_cli_sockname(const resp_cli_t *cl, char *out, size_t n);
/* A connection goes away: forget it as a monitor and as a held client. */
void resp_admin_cli_close(resp_cli_t *cl);
void resp_admin_free(resp_srv_t *srv);
struct resp_admin *resp_admin(resp_srv_t *srv);
/* p grown (doubling) so that it holds more than n elements of size. */
void *resp_admin_grow(void *p, size_t *cap, size_t n, size_t size);

RESP_HANDLER(resp_c_monitor);
RESP_HANDLER(resp_c_slowlog_get);
RESP_HANDLER(resp_c_slowlog_len);
RESP_HANDLER(resp_c_slowlog_reset);
RESP_HANDLER(resp_c_slowlog_help);
RESP_HANDLER(resp_c_client_kill);
RESP_HANDLER(resp_c_client_pause);
RESP_HANDLER(resp_c_client_unpause);
RESP_HANDLER(resp_c_client_unblock);
RESP_HANDLER(resp_c_client_reply);
RESP_HANDLER(resp_c_client_no_evict);
RESP_HANDLER(resp_c_client_tracking);
RESP_HANDLER(resp_c_client_trackinginfo);
RESP_HANDLER(resp_c_client_getredir);
RESP_HANDLER(resp_c_client_help);

#endif

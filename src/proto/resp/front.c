/*
 * front.c — the RESP front: plugs the parser and the command table into
 * net/ (proto_t hooks), into sluiced (front_t start/busy/stop), and into
 * the broker's keyspace (the reply path and the key notifications).
 *
 * on_input parses and runs every complete request in the input buffer
 * (pipelining), serves clients blocked on keys the command touched, and
 * stops early when the client blocked (its connection is paused, so the
 * rest waits) or asked to quit. A malformed request gets Redis's protocol
 * error and the connection is closed after that reply is flushed.
 *
 * Replies. Under fsync other than always no reply ever waits, so handlers
 * write straight into the connection's output. Under always each
 * request's reply is built in a scratch buffer and handed to the keyspace
 * (ks_reply): sent at once when nothing it could depend on is pending,
 * else held — in order with the connection's later output — until it is
 * durable, and replaced by MISCONF if a write failed (fin_reply). Reads
 * wait too while writes are unsynced, as Redis does with appendfsync
 * always, so no client is shown data that could still be lost.
 *
 * Notifications. The keyspace tells the front when a key changed (WATCH),
 * received data or was deleted (blocked clients), and when it was rebuilt
 * after a storage failure (every WATCH invalidated, every blocked client
 * looked at again).
 *
 * Quiet points. A journal may only be compacted while nothing is in flight
 * (broker/dur.h). Such moments come by themselves under any measured load,
 * but a steady enough stream of requests under fsync=always could keep the
 * domain busy for ever; once a due compaction has waited too long the
 * keyspace asks for one (ks_wants_quiet), and a connection about to run a
 * request is paused instead until the keyspace reports it compacted (the
 * quiet hook): one sync's wait. Loop thread only.
 */
#include "proto/front.h"
#include "proto/resp/c_admin.h"
#include "proto/resp/c_lists.h"
#include "proto/resp/c_types.h"
#include "proto/resp/resp.h"
#include "proto/sniff.h"

#include "core/err.h"
#include "core/time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- replies -------------------------------------------------------------------- */

void resp_misconf(buf_t *b, int rc)
{
	int e = rc == SL_ENOSPC ? ENOSPC : EIO;
	resp_errorf(b, "MISCONF Errors writing to the AOF file: %s", strerror(e));
}

void resp_err_ks(resp_cli_t *cl, int rc)
{
	if (rc == SL_ESTATE)
		resp_err_wrongtype(cl);
	else
		resp_misconf(cl->out, rc);
}

/* A held reply is released: on a failure it becomes the MISCONF error
 * (one reply in, one error out). */
static int fin_reply(dur_hold_t *h, buf_t *reply, int status, void *arg)
{
	(void)h;
	(void)arg;
	if (status < 0) {
		buf_reset(reply);
		resp_misconf(reply, status);
	}
	return 0;
}

buf_t *resp_reply_begin(resp_cli_t *cl, buf_t *scratch)
{
	if (!cl->srv->always)
		return conn_out(cl->c);
	buf_reset(scratch);
	return scratch;
}

void resp_reply_end(resp_cli_t *cl, buf_t *scratch)
{
	if (!cl->srv->always || !buf_len(scratch))
		return;
	keyspace_t *ks = cl->srv->ks;
	if (ks_must_hold(ks))
		ks_reply(ks, cl->c, buf_data(scratch), buf_len(scratch), fin_reply, NULL);
	else
		conn_write(cl->c, buf_data(scratch), buf_len(scratch));
}

/* Runs one request, its reply through the reply path. */
static int run_request(resp_cli_t *cl, int argc, resp_arg_t *argv, buf_t *scratch)
{
	/* While a script is busy (another client's, c_script.c) the answers
	 * are refusals and KILL's: they depend on no unsynced write and must
	 * not wait for the script's own sync. */
	int busy = cl->srv->run != NULL;
	cl->out = busy ? conn_out(cl->c) : resp_reply_begin(cl, scratch);
	size_t mark = buf_len(cl->out);
	int rc = resp_dispatch(cl, argc, argv);
	buf_t *o = cl->out;
	if (rc != RESP_POSTPONED && buf_len(o) > mark && buf_data(o)[mark] == '-')
		resp_errorstat(cl->srv, (const char *)buf_data(o) + mark + 1,
		               buf_len(o) - mark - 1);
	/* CLIENT REPLY OFF / SKIP: the reply is dropped (Redis's
	 * prepareClientToWrite); SKIP applies to the command after it. */
	if (cl->reply_mode != RESP_REPLY_ON && rc != RESP_POSTPONED) {
		if (cl->reply_mode == RESP_REPLY_OFF || cl->reply_mode == RESP_REPLY_SKIP)
			resp_undo(cl->out, mark);
		if (cl->reply_mode == RESP_REPLY_SKIP)
			cl->reply_mode = RESP_REPLY_ON;
		else if (cl->reply_mode == RESP_REPLY_SKIP_NEXT)
			cl->reply_mode = RESP_REPLY_SKIP;
	}
	if (!busy)
		resp_reply_end(cl, scratch);
	cl->out = NULL;
	return rc;
}

/* --- connections ------------------------------------------------------------------ */

/* Protected mode, as redis-server 7.0.15 (its text, typo included, so
 * clients and scanners that match it keep working): with no password, a client that is
 * neither on loopback nor on a unix socket gets this one error and the
 * connection closes. Whether the listener binds loopback does not matter
 * (as in 7.0): a loopback bind only makes this unreachable. */
static int protected_refuse(conn_t *c, const resp_srv_t *srv)
{
	if (!srv->cfg->protected_mode || (srv->cfg->requirepass && *srv->cfg->requirepass) ||
	    conn_peer_is_local(c))
		return 0;
	static const char denied[] =
	    "-DENIED Redis is running in protected mode because protected mode is enabled and "
	    "no password is set for the default user. In this mode connections are only "
	    "accepted from the loopback interface. If you want to connect from external "
	    "computers to Redis you may adopt one of the following solutions: 1) Just disable "
	    "protected mode sending the command 'CONFIG SET protected-mode no' from the "
	    "loopback interface by connecting to Redis from the same host the server is "
	    "running, however MAKE SURE Redis is not publicly accessible from internet if you "
	    "do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can "
	    "just disable the protected mode by editing the Redis configuration file, and "
	    "setting the protected mode option to 'no', and then restarting the server. 3) If "
	    "you started the server manually just for testing, restart it with the "
	    "'--protected-mode no' option. 4) Setup a an authentication password for the "
	    "default user. NOTE: You only need to do one of the above things in order for the "
	    "server to start accepting connections from the outside.\r\n";
	conn_write(c, denied, sizeof denied - 1);
	log_info(srv->b->log, "resp: %s: refused by protected mode (no requirepass)", c->peer);
	return 1;
}

/* An HTTP request sent to the Redis port (cross-protocol scripting: a web
 * page posting to localhost:6379) parses as inline commands, its body as
 * more commands. As redis-server 7.0 does, a request named POST or Host:
 * closes the connection at once, before anything after it runs; the
 * warning is logged at most once a minute so the attack cannot flood the
 * log. The wording is Redis 7.0's ("Setup a an" included) so that log
 * watchers written for redis-server match. */
static int http_attack(resp_cli_t *cl, const resp_arg_t *name)
{
	/* Runs before every request: the first letter rules out almost all. */
	char c0 = name->len ? (char)(name->p[0] | 0x20) : 0;
	if (c0 != 'p' && c0 != 'h')
		return 0;
	if (!((name->len == 4 && strncasecmp(name->p, "post", 4) == 0) ||
	      (name->len == 5 && strncasecmp(name->p, "host:", 5) == 0)))
		return 0;
	int64_t now = time_mono_ms();
	if (!cl->srv->attack_logged_ms || now - cl->srv->attack_logged_ms > 60000) {
		log_warn(
		    cl->srv->b->log,
		    "Possible SECURITY ATTACK detected. It looks like somebody is sending POST "
		    "or Host: commands to Redis. This is likely due to an attacker attempting to "
		    "use Cross Protocol Scripting to compromise your Redis instance. Connection "
		    "aborted. (peer %s)",
		    cl->c->peer);
		cl->srv->attack_logged_ms = now;
	}
	/* Redis sends nothing more to a client it closes so (not even the
	 * replies of commands before it in the same read). */
	conn_abort(cl->c);
	return 1;
}

static int on_open(conn_t *c, void *srvp)
{
	resp_srv_t *srv = srvp;
	resp_cli_t *cl = calloc(1, sizeof *cl);
	if (!cl)
		abort();
	cl->c = c;
	cl->srv = srv;
	cl->proto = 2;
	resp_parser_init(&cl->parser, srv->cfg->proto_max_bulk_len);
	cl->parser.max_request = (size_t)srv->cfg->max_request_bytes;
	resp_conn_default(cl); /* c_conn.c */
	cl->ctime_ms = time_wall_ms();
	cl->last_ms = time_mono_ms();
	c->pdata = cl;
	srv->nclients++;
	srv->total_conns++;
	if (protected_refuse(c, srv))
		conn_close(c, 1);
	return 0;
}

/* Pauses cl until the keyspace is quiet (see the top comment). */
static void quiet_pause(resp_cli_t *cl)
{
	resp_srv_t *srv = cl->srv;
	if (srv->nquiet == srv->quiet_cap) {
		srv->quiet_cap = srv->quiet_cap ? srv->quiet_cap * 2 : 16;
		srv->quiet = realloc(srv->quiet, srv->quiet_cap * sizeof *srv->quiet);
		if (!srv->quiet)
			abort();
	}
	srv->quiet[srv->nquiet++] = cl;
	srv->quiet_pauses++;
	cl->quieted = 1;
	conn_pause(cl->c);
}

static void quiet_forget(resp_cli_t *cl)
{
	resp_srv_t *srv = cl->srv;
	for (size_t i = 0; i < srv->nquiet; i++) {
		if (srv->quiet[i] == cl) {
			srv->quiet[i] = srv->quiet[--srv->nquiet];
			break;
		}
	}
	cl->quieted = 0;
}

/* The first thing a connection sends is no Redis request: log once, with
 * the peer, what it looks like (another protocol on the wrong port). */
static void sniff_first(resp_cli_t *cl, const uint8_t *p, size_t n)
{
	if (cl->nreq || cl->sniffed)
		return;
	const char *what = proto_sniff(p, n);
	if (!what || strcmp(what, "a Redis command") == 0)
		return;
	cl->sniffed = 1;
	log_info(cl->srv->b->log, "resp: %s: looks like %s on the Redis listener", cl->c->peer,
	         what);
}

static int on_input(conn_t *c)
{
	resp_cli_t *cl = c->pdata;
	buf_t scratch = BUF_INIT;
	int rc = 0;
	/* A run of requests: each one's end times the next (run_cmd). Not
	 * across calls, whose gaps are idle time. */
	int64_t outer = cl->srv->chain_us;
	cl->srv->chain_us = 0;
	while (!cl->blk && !cl->closing && !conn_is_closed(c)) {
		/* While a script is busy nothing runs but refusals and KILL. */
		if (cl->srv->always && !cl->srv->run && ks_wants_quiet(cl->srv->ks)) {
			quiet_pause(cl);
			break;
		}
		size_t argc;
		int64_t n = resp_parse(&cl->parser, buf_data(&c->in), buf_len(&c->in), &argc);
		if (n == SL_EAGAIN) {
			/* A binary client (Kafka, TLS) may never end a line. */
			sniff_first(cl, buf_data(&c->in), buf_len(&c->in));
			break;
		}
		if (n == SL_EPROTO) {
			sniff_first(cl, buf_data(&c->in), buf_len(&c->in));
			/* Not an answer about data: it goes out behind whatever is
			 * held, then the connection closes. */
			resp_errorf(conn_out(c), "ERR %s", cl->parser.err);
			rc = -1;
			break;
		}
		/* Idle time has second resolution: the turn's cached clock is
		 * enough and saves a clock read per pipelined request. */
		cl->last_ms = loop_now_ms(c->loop);
		if (!cl->nreq)
			sniff_first(cl, buf_data(&c->in), buf_len(&c->in));
		cl->nreq++;
		if (argc > 0 && http_attack(cl, &cl->parser.argv[0]))
			break;
		rc = run_request(cl, (int)argc, cl->parser.argv, &scratch);
		if (rc == RESP_POSTPONED) {
			/* Held by CLIENT PAUSE: parsed again when it ends. */
			rc = 0;
			break;
		}
		buf_consume(&c->in, (size_t)n);
		if (cl->srv->nready && !cl->srv->run)
			resp_serve_ready(cl->srv);
		if (rc < 0)
			break;
	}
	cl->srv->chain_us = outer < 0 ? -1 : 0;
	buf_deinit(&scratch);
	/* The parser's tables count in the client-memory cap (net/conn.h). */
	conn_set_held(c, resp_parser_mem(&cl->parser));
	if (cl->closing)
		return -1;
	return rc;
}

static void on_close(conn_t *c)
{
	resp_cli_t *cl = c->pdata;
	if (!cl)
		return;
	if (cl->blk)
		resp_unblock(cl);
	if (cl->quieted)
		quiet_forget(cl);
	resp_admin_cli_close(cl);
	if (cl->lx)
		resp_lx_cli_close(cl);
	cl->srv->nclients--;
	resp_parser_deinit(&cl->parser);
	free(cl->name);
	free(cl->user);
	free(cl->lib_name);
	free(cl->lib_ver);
	free(cl);
	c->pdata = NULL;
}

static const proto_t resp_proto = {
    .name = "resp",
    .on_open = on_open,
    .on_input = on_input,
    .on_close = on_close,
};

/* --- keyspace notifications ----------------------------------------------------------- */

static void on_key(void *arg, const char *key, size_t klen, int ev)
{
	resp_srv_t *srv = arg;
	resp_lx_touch(srv, key, klen);
	if (srv->notify)
		resp_notify_key(srv, key, klen, ev);
	if (!map_len(&srv->waiting))
		return;
	if (ev == KS_EV_DATA)
		resp_lx_signal(srv, key, klen);
	else if (ev == KS_EV_DELETED || ev == KS_EV_GROUP || ev == KS_EV_EXPIRED)
		resp_signal_key(srv, key, klen);
}

static void serve_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	resp_srv_t *srv = t->arg;
	if (srv->nready)
		resp_serve_ready(srv);
}

static void on_reloaded(void *arg)
{
	resp_srv_t *srv = arg;
	resp_lx_reloaded(srv);
	/* Every blocked client looks again (a group or key it waits on may be
	 * gone); served after the recovery finished, from a task, so their
	 * replies are not failed with the error being recovered from. */
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&srv->waiting, &it, &k, &kl, &v))
		resp_signal_key(srv, k, kl);
	if (srv->nready)
		loop_defer(srv->b->loop, &srv->serve_task);
}

static void on_quiet(void *arg)
{
	resp_srv_t *srv = arg;
	while (srv->nquiet) {
		resp_cli_t *cl = srv->quiet[--srv->nquiet];
		cl->quieted = 0;
		if (!conn_is_closed(cl->c))
			conn_resume(cl->c);
	}
}

/* --- the front ----------------------------------------------------------------------- */

static int start(broker_t *b, void **out)
{
	if (!b->ks) {
		log_error(b->log, "resp: the broker has no keyspace");
		return SL_ESTATE;
	}
	resp_srv_t *srv = calloc(1, sizeof *srv);
	if (!srv)
		abort();
	srv->b = b;
	srv->cfg = b->cfg;
	srv->ks = b->ks;
	srv->always = b->cfg->fsync.mode == FSYNC_ALWAYS;
	srv->start_wall_ms = time_wall_ms();
	srv->list_max_listpack_size = -2; /* Redis 7.0's defaults */
	srv->stream_node_max_bytes = 4096;
	srv->stream_node_max_entries = 100;
	srv->acllog_max_len = 128;
	srv->busy_reply_threshold = 5000;
	srv->slowlog_slower_than = 10000;
	srv->chain_us = -1;
	srv->slowlog_max_len = 128;
	map_init(&srv->waiting);
	loop_task_init(&srv->serve_task, serve_task, srv);
	resp_cmds_index(srv);
	resp_lx_start(srv);
	ks_hooks_t hooks = {on_key, on_reloaded, on_quiet, srv};
	ks_set_hooks(srv->ks, &hooks);
	*out = srv;
	return 0;
}

static int busy(void *p)
{
	resp_srv_t *srv = p;
	return ks_busy(srv->ks) > 0;
}

static void stop(void *p)
{
	resp_srv_t *srv = p;
	/* The keyspace outlives the front (the broker closes it). */
	ks_set_hooks(srv->ks, NULL);
	loop_task_cancel(srv->b->loop, &srv->serve_task);
	resp_lx_stop(srv);
	resp_script_free(srv);
	resp_acl_free(srv);
	resp_admin_free(srv);
	resp_function_free(srv);
	map_deinit(&srv->waiting);
	map_deinit(&srv->cmds);
	free(srv->quiet);
	free(srv->ready);
	free(srv->ready_len);
	free(srv);
}

const front_t resp_front = {
    .name = "resp",
    .proto = &resp_proto,
    .start = start,
    .busy = busy,
    .stop = stop,
};

/*
 * front.c — the RESP front: plugs the parser, command table and keyspace
 * into net/ (proto_t hooks) and into sluiced (front_t start/busy/stop).
 *
 * on_input parses and runs every complete request in the input buffer
 * (pipelining), serves clients blocked on keys the command touched, and
 * stops early when the client blocked (its connection is paused, so the
 * rest waits) or asked to quit. A malformed request gets Redis's protocol
 * error and the connection is closed after that reply is flushed.
 *
 * Durability: a write command's reply is built in a scratch buffer; if the
 * command changed state and the fsync policy is `always`, the reply goes
 * into a conn hold and waits for the journal sync. All holds of a turn
 * share one sync (group commit through one end-of-turn task). Replies of
 * later commands queue behind the hold, so order is kept.
 * Loop thread only.
 */
#include "proto/front.h"
#include "proto/resp/c_lists.h"
#include "proto/resp/resp.h"

#include "core/err.h"
#include "core/time.h"

#include <stdlib.h>

typedef struct resp_pending {
	struct resp_pending *next;
	conn_t *c;
	conn_hold_t *h;
} resp_pending_t;

typedef struct sync_batch {
	resp_srv_t *srv;
	resp_pending_t *list;
	int left, status; /* journals still syncing (streams, keys), worst status */
} sync_batch_t;

static void on_durable(void *arg, int status)
{
	sync_batch_t *b = arg;
	resp_pending_t *p = b->list;
	while (p) {
		resp_pending_t *next = p->next;
		if (status < 0) {
			buf_t *hb = conn_hold_buf(p->h);
			buf_reset(hb);
			resp_error(hb, "ERR sluice: the write could not be made durable");
		}
		conn_hold_done(p->c, p->h);
		conn_unref(p->c);
		free(p);
		p = next;
	}
	b->srv->inflight_syncs--;
	free(b);
}

/* Each journal's sync reports here; the replies go once both are done. */
static void on_part_durable(void *arg, int status)
{
	sync_batch_t *b = arg;
	if (status < 0)
		b->status = status;
	if (--b->left == 0)
		on_durable(b, b->status);
}

static void sync_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	resp_srv_t *srv = t->arg;
	if (!srv->pending)
		return;
	sync_batch_t *b = malloc(sizeof *b);
	if (!b)
		abort();
	b->srv = srv;
	b->list = srv->pending;
	srv->pending = NULL;
	srv->inflight_syncs++;
	b->left = 2;
	b->status = 0;
	sstore_when_durable(srv->store, on_part_durable, b);
	resp_lx_when_durable(srv, on_part_durable, b);
}

void resp_hold_reply(resp_cli_t *cl, buf_t *reply)
{
	resp_srv_t *srv = cl->srv;
	resp_pending_t *p = malloc(sizeof *p);
	if (!p)
		abort();
	p->c = cl->c;
	p->h = conn_hold(cl->c);
	buf_append(conn_hold_buf(p->h), buf_data(reply), buf_len(reply));
	conn_ref(cl->c);
	p->next = srv->pending;
	srv->pending = p;
	loop_defer(cl->c->loop, &srv->sync_task);
}

/* Runs one request; the reply of a state-changing command waits for the
 * sync when the policy requires it. */
static int run_request(resp_cli_t *cl, int argc, resp_arg_t *argv, buf_t *scratch)
{
	resp_srv_t *srv = cl->srv;
	int durable = srv->store && sstore_sync_required(srv->store);
	buf_reset(scratch);
	cl->out = durable ? scratch : conn_out(cl->c);
	cl->dirty = 0;
	int rc = resp_dispatch(cl, argc, argv);
	/* Between commands the model and the journal agree: the one safe
	 * point for compaction (cheap when not needed). */
	if (cl->dirty) {
		sstore_maintain(srv->store);
		resp_lx_after_write(cl, argc, argv);
	}
	if (durable && buf_len(scratch)) {
		if (cl->dirty)
			resp_hold_reply(cl, scratch);
		else
			conn_write(cl->c, buf_data(scratch), buf_len(scratch));
	}
	cl->out = NULL;
	return rc;
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
	cl->authed = !(srv->cfg->requirepass && *srv->cfg->requirepass);
	cl->parser.unauth = !cl->authed;
	cl->ctime_ms = time_wall_ms();
	cl->last_ms = time_mono_ms();
	c->pdata = cl;
	srv->nclients++;
	srv->total_conns++;
	return 0;
}

static int on_input(conn_t *c)
{
	resp_cli_t *cl = c->pdata;
	buf_t scratch = BUF_INIT;
	int rc = 0;
	while (!cl->blk && !cl->closing && !conn_is_closed(c)) {
		size_t argc;
		int64_t n = resp_parse(&cl->parser, buf_data(&c->in), buf_len(&c->in), &argc);
		if (n == SL_EAGAIN)
			break;
		if (n == SL_EPROTO) {
			resp_errorf(conn_out(c), "ERR %s", cl->parser.err);
			rc = -1;
			break;
		}
		/* Idle time has second resolution: the turn's cached clock is
		 * enough and saves a clock read per pipelined request. */
		cl->last_ms = loop_now_ms(c->loop);
		rc = run_request(cl, (int)argc, cl->parser.argv, &scratch);
		buf_consume(&c->in, (size_t)n);
		if (cl->srv->nready)
			resp_serve_ready(cl->srv);
		if (rc < 0)
			break;
	}
	buf_deinit(&scratch);
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
	if (cl->lx)
		resp_lx_cli_close(cl);
	cl->srv->nclients--;
	resp_parser_deinit(&cl->parser);
	free(cl->name);
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

/* --- the keyspace as the stream store's sink ----------------------------------- */

static stream_t *sink_get(void *arg, const char *key, size_t klen, int create)
{
	resp_srv_t *srv = arg;
	resp_obj_t *o = resp_db_find(srv, key, klen);
	if (o)
		return o->type == RESP_T_STREAM ? o->ptr : NULL;
	if (!create)
		return NULL;
	stream_t *s = stream_new();
	resp_db_add(srv, key, klen, RESP_T_STREAM, s);
	return s;
}

static void sink_del(void *arg, const char *key, size_t klen)
{
	resp_srv_t *srv = arg;
	resp_obj_t *o = map_del(&srv->keys, key, klen);
	if (o) {
		if (o->type == RESP_T_STREAM)
			stream_free(o->ptr);
		free(o);
	}
}

static void sink_each(void *arg, void (*fn)(void *farg, const char *key, size_t klen, stream_t *s),
		      void *farg)
{
	resp_srv_t *srv = arg;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&srv->keys, &it, &k, &kl, &v)) {
		resp_obj_t *o = v;
		if (o->type == RESP_T_STREAM)
			fn(farg, k, kl, o->ptr);
	}
}

static int start(broker_t *b, void **out)
{
	resp_srv_t *srv = calloc(1, sizeof *srv);
	if (!srv)
		abort();
	srv->b = b;
	srv->cfg = b->cfg;
	srv->start_wall_ms = time_wall_ms();
	map_init(&srv->keys);
	map_init(&srv->waiting);
	resp_cmds_index(srv);
	loop_task_init(&srv->sync_task, sync_task, srv);
	sstore_sink_t sink = { sink_get, sink_del, sink_each, srv };
	int rc = sstore_open(&srv->store, b, &sink);
	if (rc < 0) {
		log_error(b->log, "resp: cannot open the stream store: %s", sl_strerror(rc));
		resp_db_free_all(srv);
		map_deinit(&srv->keys);
		map_deinit(&srv->waiting);
		map_deinit(&srv->cmds);
		free(srv);
		return rc;
	}
	rc = resp_lx_start(srv);
	if (rc < 0) {
		log_error(b->log, "resp: cannot open the keys store: %s", sl_strerror(rc));
		sstore_close(srv->store);
		resp_db_free_all(srv);
		map_deinit(&srv->keys);
		map_deinit(&srv->waiting);
		map_deinit(&srv->cmds);
		free(srv);
		return rc;
	}
	*out = srv;
	return 0;
}

static int busy(void *p)
{
	resp_srv_t *srv = p;
	return srv->inflight_syncs > 0 || srv->pending != NULL;
}

static void stop(void *p)
{
	resp_srv_t *srv = p;
	loop_task_cancel(srv->b->loop, &srv->sync_task);
	/* busy() kept the loop running until every held reply was released;
	 * anything still pending here belongs to connections being torn down. */
	while (srv->pending) {
		resp_pending_t *p2 = srv->pending;
		srv->pending = p2->next;
		conn_hold_done(p2->c, p2->h);
		conn_unref(p2->c);
		free(p2);
	}
	sstore_close(srv->store);
	resp_lx_stop(srv);
	resp_db_free_all(srv);
	map_deinit(&srv->keys);
	map_deinit(&srv->waiting);
	map_deinit(&srv->cmds);
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

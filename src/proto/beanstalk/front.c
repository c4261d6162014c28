/*
 * front.c — the beanstalkd protocol front: connection hooks, the resumable
 * input state machine, group commit of acknowledgements, and the front's
 * start/stop (journal open and replay). Loop thread only.
 *
 * Input: each connection is in one of four modes (bstk.h): a command line
 * (framed by parse.c's rules), an over-long line being discarded, a put body
 * being copied into its job, or a too-big body being discarded before
 * JOB_TOO_BIG. Every complete command in the input buffer is run in one
 * on_input call (pipelining); a reserve that has to wait pauses input so the
 * commands behind it run only after it is answered.
 *
 * Group commit: with fsync=always, acknowledgements of journaled changes go
 * into conn_holds collected in one batch per loop turn; at the end of the
 * turn one jrnl_when_durable() covers all of them, and when it fires every
 * hold is released. A failed sync closes the affected connections instead of
 * acknowledging.
 */
#include "proto/front.h"

#include "core/fs.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "proto/beanstalk/bstk.h"
#include "proto/beanstalk/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

typedef struct bstk_batch {
	bstk_srv_t *srv;
	conn_t **conns;
	conn_hold_t **holds;
	size_t n, cap;
} bstk_batch_t;

/* --- replies and group commit ------------------------------------------------- */

static int hold_open(const bstk_conn_t *bc)
{
	return bc->hold && bc->srv->batch && bc->hold_seq == bc->srv->batch_seq;
}

buf_t *bstk_out(bstk_conn_t *bc)
{
	if (hold_open(bc))
		return conn_hold_buf(bc->hold);
	return conn_out(bc->c);
}

buf_t *bstk_out_durable(bstk_conn_t *bc)
{
	bstk_srv_t *srv = bc->srv;
	if (!srv->sync_required)
		return conn_out(bc->c);
	if (hold_open(bc))
		return conn_hold_buf(bc->hold);
	if (!srv->batch) {
		srv->batch = calloc(1, sizeof *srv->batch);
		if (!srv->batch)
			abort();
		srv->batch->srv = srv;
		loop_defer(srv->loop, &srv->batch_task);
	}
	bstk_batch_t *bt = srv->batch;
	if (bt->n == bt->cap) {
		bt->cap = bt->cap ? bt->cap * 2 : 8;
		bt->conns = realloc(bt->conns, bt->cap * sizeof *bt->conns);
		bt->holds = realloc(bt->holds, bt->cap * sizeof *bt->holds);
		if (!bt->conns || !bt->holds)
			abort();
	}
	conn_hold_t *h = conn_hold(bc->c);
	conn_ref(bc->c);
	bt->conns[bt->n] = bc->c;
	bt->holds[bt->n] = h;
	bt->n++;
	bc->hold = h;
	bc->hold_seq = srv->batch_seq;
	bc->nholds++;
	return conn_hold_buf(h);
}

static void batch_done(void *arg, int status)
{
	bstk_batch_t *bt = arg;
	bstk_srv_t *srv = bt->srv;
	if (status < 0)
		log_error(srv->b->log,
		          "beanstalk: journal sync failed: %s; closing %zu connections",
		          sl_strerror(status), bt->n);
	for (size_t i = 0; i < bt->n; i++) {
		conn_t *c = bt->conns[i];
		bstk_conn_t *bc = c->pdata; /* NULL once on_close ran */
		if (status < 0)
			conn_close(c, 0);
		if (bc) {
			if (bc->hold == bt->holds[i])
				bc->hold = NULL;
			bc->nholds--;
		}
		conn_hold_done(c, bt->holds[i]);
		if (bc && bc->quit && !bc->nholds)
			conn_close(c, 1);
		conn_unref(c);
	}
	srv->pending--;
	free(bt->conns);
	free(bt->holds);
	free(bt);
}

static void batch_flush(loop_t *loop, loop_task_t *task)
{
	(void)loop;
	bstk_srv_t *srv = task->arg;
	bstk_batch_t *bt = srv->batch;
	if (!bt)
		return;
	srv->batch = NULL;
	srv->batch_seq++;
	srv->pending++;
	jrnl_when_durable(srv->jobs->jr, batch_done, bt);
}

/* --- input ---------------------------------------------------------------------- */

static const char *const mode_names[] = {"command", "endline", "body", "skip"};

void bstk_set_mode(bstk_conn_t *bc, int mode)
{
	log_debug(bc->srv->b->log, "beanstalk: conn %llu %s: %s -> %s",
	          (unsigned long long)bc->c->id, bc->c->peer, mode_names[bc->mode],
	          mode_names[mode]);
	bc->mode = mode;
}

static int on_input(conn_t *c)
{
	bstk_conn_t *bc = c->pdata;
	for (;;) {
		if (bc->waiting || bc->quit)
			break;
		size_t avail = buf_len(&c->in);
		uint8_t *p = buf_data(&c->in);
		if (bc->mode == M_BODY) {
			job_t *j = bc->in_job;
			size_t k = j->body_len - bc->in_got;
			if (k > avail)
				k = avail;
			memcpy(j->body + bc->in_got, p, k);
			bc->in_got += (uint32_t)k;
			buf_consume(&c->in, k);
			if (bc->in_got < j->body_len)
				break;
			bstk_put_done(bc);
			continue;
		}
		if (bc->mode == M_SKIP) {
			size_t k = bc->skip_left < avail ? (size_t)bc->skip_left : avail;
			buf_consume(&c->in, k);
			bc->skip_left -= k;
			if (bc->skip_left)
				break;
			bstk_set_mode(bc, M_CMD);
			bstk_reply(bc, bc->skip_reply);
			continue;
		}
		size_t len = 0;
		int r = bstk_scan_line(p, avail, &len);
		if (r == BSTK_NEED)
			break;
		if (r == BSTK_OVERFLOW) {
			buf_consume(&c->in, BSTK_LINE_MAX);
			if (bc->mode != M_ENDLINE)
				bstk_set_mode(bc, M_ENDLINE);
			continue;
		}
		if (bc->mode == M_ENDLINE) {
			buf_consume(&c->in, len);
			bstk_set_mode(bc, M_CMD);
			bstk_reply(bc, "BAD_FORMAT\r\n");
			continue;
		}
		char line[BSTK_LINE_MAX + 1];
		memcpy(line, p, len - 2);
		line[len - 2] = 0;
		buf_consume(&c->in, len);
		int rc = bstk_dispatch(bc, line, len - 2);
		if (rc < 0)
			return rc;
		if (bc->quit && !bc->nholds)
			conn_close(c, 1);
	}
	jrnl_t *jr = bc->srv->jobs->jr;
	if (jr && jrnl_garbage_bytes(jr))
		jrnl_maybe_compact(jr, jobs_j_snapshot, bc->srv->jobs);
	return 0;
}

static int on_open(conn_t *c, void *srv)
{
	bstk_conn_t *bc = calloc(1, sizeof *bc);
	if (!bc)
		return SL_ENOMEM;
	bc->c = c;
	bc->srv = srv;
	job_client_init(bc->srv->jobs, &bc->jc, bstk_wake, bc);
	c->pdata = bc;
	return 0;
}

static void on_close(conn_t *c)
{
	bstk_conn_t *bc = c->pdata;
	if (!bc)
		return;
	if (bc->in_job)
		jobs_discard(bc->srv->jobs, bc->in_job);
	job_client_deinit(&bc->jc);
	free(bc);
	c->pdata = NULL;
}

static const proto_t bstk_proto = {
    .name = "beanstalk",
    .on_open = on_open,
    .on_input = on_input,
    .on_close = on_close,
};

/* --- start / stop --------------------------------------------------------------- */

static int start(broker_t *b, void **out)
{
	bstk_srv_t *srv = calloc(1, sizeof *srv);
	if (!srv)
		return SL_ENOMEM;
	srv->b = b;
	srv->loop = b->loop;
	srv->jobs = b->jobs; /* the broker's (broker_open) */
	loop_task_init(&srv->batch_task, batch_flush, srv);
	uname(&srv->uts);
	uint8_t rnd[8] = {0};
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		memcpy(rnd, &srv, sizeof srv < sizeof rnd ? sizeof srv : sizeof rnd);
	for (int i = 0; i < 8; i++)
		snprintf(srv->instance + 2 * i, 3, "%02x", rnd[i]);
	srv->sync_required = jrnl_sync_required(srv->jobs->jr);
	*out = srv;
	return 0;
}

static int busy(void *arg)
{
	bstk_srv_t *srv = arg;
	return srv->pending > 0 || srv->batch != NULL;
}

static void stop(void *arg)
{
	bstk_srv_t *srv = arg;
	if (!srv)
		return;
	loop_task_cancel(srv->loop, &srv->batch_task);
	/* Held acknowledgements must be released (and their connection
	 * references dropped) before srv goes away: hand the open batch to the
	 * journal and let every pending sync report, bounded. */
	if (srv->batch)
		batch_flush(srv->loop, &srv->batch_task);
	int64_t deadline = time_mono_ms() + 10000;
	while (srv->pending > 0 && time_mono_ms() < deadline)
		loop_run_once(srv->loop, 50);
	if (srv->pending > 0)
		log_error(srv->b->log, "beanstalk: %d journal syncs did not finish", srv->pending);
	buf_deinit(&srv->scratch);
	free(srv);
}

const front_t bstk_front = {
    .name = "beanstalk",
    .proto = &bstk_proto,
    .start = start,
    .busy = busy,
    .stop = stop,
};

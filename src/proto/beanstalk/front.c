/*
 * front.c — the beanstalkd protocol front: connection hooks, the resumable
 * input state machine, and the path of every reply through the jobs'
 * durability domain. The jobs themselves are the broker's (job.h,
 * job_store.c). Loop thread only.
 *
 * Input: each connection is in one of four modes (bstk.h): a command line
 * (framed by parse.c's rules), an over-long line being discarded, a put body
 * being copied into its job, or a too-big body being discarded before
 * JOB_TOO_BIG. Every complete command in the input buffer is run in one
 * on_input call (pipelining); a reserve that has to wait pauses input so the
 * commands behind it run only after it is answered.
 *
 * Durability: with fsync=always each reply is built in the connection's
 * reply buffer and handed to the domain (dur_reply), which sends it at once
 * when no job change is pending and otherwise holds it until the turn's
 * group commit lands (bstk.h says what a failure turns it into). Later
 * replies of the connection queue behind it, so order is kept. Under
 * interval/never replies are written straight to the connection.
 */
#include "proto/front.h"

#include "broker/dur.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "proto/beanstalk/bstk.h"
#include "proto/beanstalk/parse.h"
#include "proto/sniff.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

/* --- replies ------------------------------------------------------------------- */

#define MSG_OUT_OF_MEMORY "OUT_OF_MEMORY\r\n"
#define MSG_INTERNAL_ERROR "INTERNAL_ERROR\r\n"

/* A held reply whose job changes could not be made durable: one error line
 * instead, the connection stays. */
static int reply_fin(dur_hold_t *h, buf_t *reply, int status, void *arg)
{
	(void)h;
	if (status < 0) {
		buf_reset(reply);
		buf_puts(reply, arg);
	}
	return 0;
}

void bstk_reply_begin(bstk_conn_t *bc, int journaled)
{
	bc->journaled = journaled;
	if (bc->srv->sync_required) {
		buf_reset(&bc->reply);
		bc->out = &bc->reply;
	} else {
		bc->out = conn_out(bc->c);
	}
}

void bstk_reply_end(bstk_conn_t *bc)
{
	if (bc->out == &bc->reply && buf_len(&bc->reply))
		dur_reply(bc->srv->jobs->dur, bc->c, buf_data(&bc->reply), buf_len(&bc->reply),
		          reply_fin, bc->journaled ? MSG_OUT_OF_MEMORY : MSG_INTERNAL_ERROR);
	bc->out = NULL;
}

buf_t *bstk_out(bstk_conn_t *bc)
{
	return bc->out ? bc->out : conn_out(bc->c);
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

/* The first thing a connection sends is no beanstalkd command: log once,
 * with the peer, what it looks like (another protocol on the wrong port). */
static void sniff_first(bstk_conn_t *bc, const uint8_t *p, size_t n)
{
	if (bc->lines || bc->sniffed)
		return;
	bc->sniffed = 1;
	const char *what = proto_sniff(p, n);
	if (what && strcmp(what, "a beanstalkd command") == 0)
		what = NULL; /* a command still arriving, or a mistyped one */
	if (!what) {
		bc->sniffed = 0; /* look again at the next bytes */
		return;
	}
	log_info(bc->srv->b->log, "beanstalk: %s: looks like %s on the beanstalkd listener",
	         bc->c->peer, what);
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
			if (bc->in_got < j->body_len) {
				/* A body in progress counts in the client-memory
				 * cap (net/conn.h) until it is complete. */
				conn_set_held(c, j->body_len);
				break;
			}
			conn_set_held(c, 0);
			bstk_reply_begin(bc, 1);
			bstk_put_done(bc);
			bstk_reply_end(bc);
			continue;
		}
		if (bc->mode == M_SKIP) {
			size_t k = bc->skip_left < avail ? (size_t)bc->skip_left : avail;
			buf_consume(&c->in, k);
			bc->skip_left -= k;
			if (bc->skip_left)
				break;
			bstk_set_mode(bc, M_CMD);
			bstk_reply_begin(bc, 0);
			bstk_reply(bc, bc->skip_reply);
			bstk_reply_end(bc);
			continue;
		}
		size_t len = 0;
		int r = bstk_scan_line(p, avail, &len);
		if (r == BSTK_NEED) {
			/* A binary client (Kafka, TLS) may never send a CRLF. */
			if (!bc->lines)
				sniff_first(bc, p, avail);
			break;
		}
		if (r == BSTK_OVERFLOW) {
			sniff_first(bc, p, avail);
			buf_consume(&c->in, BSTK_LINE_MAX);
			if (bc->mode != M_ENDLINE)
				bstk_set_mode(bc, M_ENDLINE);
			continue;
		}
		if (bc->mode == M_ENDLINE) {
			buf_consume(&c->in, len);
			bstk_set_mode(bc, M_CMD);
			bstk_reply_begin(bc, 0);
			bstk_reply(bc, "BAD_FORMAT\r\n");
			bstk_reply_end(bc);
			continue;
		}
		char line[BSTK_LINE_MAX + 1];
		memcpy(line, p, len - 2);
		line[len - 2] = 0;
		if (!bstk_cmd_find(line))
			sniff_first(bc, p, avail);
		bc->lines++;
		buf_consume(&c->in, len);
		bstk_reply_begin(bc, 0);
		int rc = bstk_dispatch(bc, line, len - 2);
		bstk_reply_end(bc);
		if (rc < 0)
			return rc;
		/* A flushing close sends the held replies first. */
		if (bc->quit)
			conn_close(c, 1);
	}
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
	buf_deinit(&bc->reply);
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
	uname(&srv->uts);
	uint8_t rnd[8] = {0};
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		memcpy(rnd, &srv, sizeof srv < sizeof rnd ? sizeof srv : sizeof rnd);
	for (int i = 0; i < 8; i++)
		snprintf(srv->instance + 2 * i, 3, "%02x", rnd[i]);
	srv->sync_required = b->cfg->fsync.mode == FSYNC_ALWAYS;
	*out = srv;
	return 0;
}

static void stop(void *arg)
{
	bstk_srv_t *srv = arg;
	if (!srv)
		return;
	buf_deinit(&srv->scratch);
	free(srv);
}

const front_t bstk_front = {
    .name = "beanstalk",
    .proto = &bstk_proto,
    .start = start,
    .stop = stop,
};

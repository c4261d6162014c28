/*
 * queue.c — sl_queue: a handler-driven Kafka consumer (go-queue kq's Queue).
 *
 * Threads and what they own:
 *   fetchers   (max(consumers, conns)) fetcher i polls conn i % conns with
 *              rd_kafka_consumer_poll and appends each message to the ring
 *              (queue.capacity), blocking while it is full. The rebalance
 *              and commit callbacks run inside these polls.
 *   processors take messages off the ring, call the handler (with retries
 *              and the dead-letter topic), then mark the offset handled in
 *              its partition's tracker (queue_commit.c).
 *   committer  (group mode) every commit.interval commits each assigned
 *              partition's in-order point asynchronously.
 *   controller the caller of sl_queue_start/stop/free.
 *
 * Invariants that make "a crash re-delivers, never skips" hold:
 *   - Every message of an assigned partition that a fetcher polled is
 *     recorded in the tracker before anything later of that partition
 *     (a fetcher holds its conn's poll_lock from poll until the message is
 *     recorded, and the rebalance callback runs inside a poll, so no
 *     message of an old assignment can be recorded after a revoke).
 *     Dropping a polled message without recording it is allowed only when
 *     no later message of that partition will be recorded (revoked, or
 *     the queue is stopping).
 *   - A recorded message dropped before it was handled (revoke, stop)
 *     stays pending in the tracker, so the commit point stays below it.
 *   - On revoke the partition's unstarted messages are dropped, in-flight
 *     ones finish (retry back-offs are cut short and abandon the message),
 *     then the in-order point is committed synchronously and only then is
 *     the partition unassigned.
 *
 * Lock order: conn->poll_lock, then q->mu. The handler, the error callback
 * and librdkafka calls that may block run without q->mu held.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue_commit.h"
#include "queue_dlq.h"
#include "rdk.h"

#define MAX_TOPICS 64
#define FETCH_POLL_MS 100
#define META_TIMEOUT_MS 10000
#define COMMITTED_TIMEOUT_MS 10000
#define DLQ_MIN_BACKOFF_MS 100

typedef struct qpart {
	char *topic;
	int32_t partition;
	int conn;
	bool assigned;
	bool revoking; /* revoke in progress: abandon retries */
	int inflight;  /* taken by processors, not finished */
	qc_tracker tr;
	int64_t committed; /* the broker's committed offset as last known, -1 */
	int64_t sent;      /* the commit point last sent since assignment */
} qpart;

typedef struct qitem {
	rd_kafka_message_t *m;
	qpart *p;
} qitem;

typedef struct qconn {
	sl_queue *q;
	int idx;
	rd_kafka_t *rk;
	pthread_mutex_t poll_lock;
} qconn;

enum { Q_NEW, Q_RUNNING, Q_STOPPED };

struct sl_queue {
	sl_conf *conf;
	sl_handler handler;
	void *user;
	sl_error_cb err_cb;
	void *err_user;
	int32_t only_partition;
	rdk_prop *props;
	size_t nprops;

	char topics[MAX_TOPICS][256];
	int ntopics;
	bool grouped;
	int64_t offset; /* -2 first, -1 last, or an offset */
	int nconns, nfetchers, nprocs, max_attempts;
	int64_t backoff_ms, commit_ms;
	char dlq_topic[256];
	rd_kafka_t *dlq;

	qconn *conns;
	pthread_t *fetchers, *procs, committer;
	int fetchers_started, procs_started;
	bool committer_started;

	pthread_mutex_t mu;
	pthread_cond_t items, space, idle, abort_wait, commit_wake;
	qitem *ring;
	size_t cap, head, len;
	qpart **parts;
	size_t nparts, partcap;
	atomic_int state; /* written by the controller, read by sl_queue_lag */
	atomic_bool stopping;
	bool commit_stop;

	atomic_uint_fast64_t handled, failed, dead_lettered, handled_bytes;
};

/* ---- helpers ---------------------------------------------------------- */

static void report(sl_queue *q, const sl_message *m, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(sl_queue *q, const sl_message *m, int err, const char *fmt, ...)
{
	if (!q->err_cb)
		return;
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	q->err_cb(m, err, why, q->err_user);
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static int cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	int r = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return r;
}

/* The partition entry of (conn, topic, partition); q->mu held. */
static qpart *part_find(sl_queue *q, int conn, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < q->nparts; i++) {
		qpart *p = q->parts[i];
		if (p->conn == conn && p->partition == partition && !strcmp(p->topic, topic))
			return p;
	}
	return NULL;
}

/* Finds or creates; q->mu held. NULL when out of memory. */
static qpart *part_get(sl_queue *q, int conn, const char *topic, int32_t partition)
{
	qpart *p = part_find(q, conn, topic, partition);
	if (p)
		return p;
	if (q->nparts == q->partcap) {
		size_t ncap = q->partcap ? q->partcap * 2 : 16;
		qpart **n = realloc(q->parts, ncap * sizeof *n);
		if (!n)
			return NULL;
		q->parts = n;
		q->partcap = ncap;
	}
	p = calloc(1, sizeof *p);
	if (!p || !(p->topic = strdup(topic))) {
		free(p);
		return NULL;
	}
	p->partition = partition;
	p->conn = conn;
	p->committed = p->sent = -1;
	qc_init(&p->tr);
	q->parts[q->nparts++] = p;
	return p;
}

/* Removes the ring's messages of partitions being revoked (or all when
 * all is set) and destroys them; q->mu held. They stay pending in their
 * trackers, so nothing past them is committed. */
static void ring_drop(sl_queue *q, bool all)
{
	size_t w = 0;
	for (size_t i = 0; i < q->len; i++) {
		qitem it = q->ring[(q->head + i) % q->cap];
		if (all || it.p->revoking)
			rd_kafka_message_destroy(it.m);
		else
			q->ring[(q->head + w++) % q->cap] = it;
	}
	q->len = w;
	pthread_cond_broadcast(&q->space);
}

/* ---- commits ---------------------------------------------------------- */

/* Marks the partitions of a successful commit as committed; q->mu held.
 * Commits of one client reach the coordinator, and come back, in order. */
static void note_committed(sl_queue *q, int conn, const rd_kafka_topic_partition_list_t *l)
{
	for (int i = 0; i < l->cnt; i++) {
		qpart *p = part_find(q, conn, l->elems[i].topic, l->elems[i].partition);
		if (p && !l->elems[i].err && l->elems[i].offset >= 0)
			p->committed = l->elems[i].offset;
	}
}

/* The list of conn's partitions to commit (NULL if none); q->mu held.
 * Async rounds send an in-order point once; a sync commit (revoke, stop)
 * sends every point the broker has not acknowledged, since an async one
 * still in flight may yet fail. revoking_only picks the partitions being
 * revoked, otherwise the assigned ones. */
static rd_kafka_topic_partition_list_t *commit_list(sl_queue *q, int conn, bool sync,
                                                    bool revoking_only)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	for (size_t i = 0; i < q->nparts; i++) {
		qpart *p = q->parts[i];
		if (p->conn != conn || (revoking_only ? !p->revoking : !p->assigned))
			continue;
		int64_t cp = qc_commit_point(&p->tr);
		if (cp < 0 || cp == p->committed || (!sync && cp == p->sent))
			continue;
		if (!l && !(l = rd_kafka_topic_partition_list_new(8)))
			return NULL;
		rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = cp;
		p->sent = cp;
	}
	return l;
}

/* Commits conn's in-order points; sync waits for the broker. Runs on the
 * committer, in the rebalance callback, or in sl_queue_stop. */
static void commit_conn(sl_queue *q, qconn *c, bool sync, bool revoking_only)
{
	pthread_mutex_lock(&q->mu);
	rd_kafka_topic_partition_list_t *l = commit_list(q, c->idx, sync, revoking_only);
	pthread_mutex_unlock(&q->mu);
	if (!l)
		return;
	rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, l, sync ? 0 : 1);
	pthread_mutex_lock(&q->mu);
	if (sync && !err) {
		note_committed(q, c->idx, l);
	} else if (err) {
		/* Sent nothing: let the next round send these points again. */
		for (int i = 0; i < l->cnt; i++) {
			qpart *p = part_find(q, c->idx, l->elems[i].topic, l->elems[i].partition);
			if (p)
				p->sent = p->committed;
		}
	}
	pthread_mutex_unlock(&q->mu);
	if (err)
		report(q, NULL, lib_rdk_code(err), "commit: %s", rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(l);
}

/* Result of an async commit; runs inside a fetcher's poll. */
static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l,
                      void *opaque)
{
	(void)rk;
	qconn *c = opaque;
	sl_queue *q = c->q;
	if (!l || err == RD_KAFKA_RESP_ERR__NO_OFFSET)
		return;
	pthread_mutex_lock(&q->mu);
	note_committed(q, c->idx, l);
	rd_kafka_resp_err_t first = err;
	for (int i = 0; i < l->cnt; i++) {
		if (!l->elems[i].err)
			continue;
		if (!first)
			first = l->elems[i].err;
		qpart *p = part_find(q, c->idx, l->elems[i].topic, l->elems[i].partition);
		if (p)
			p->sent = p->committed;
	}
	pthread_mutex_unlock(&q->mu);
	if (first)
		report(q, NULL, lib_rdk_code(first), "commit: %s", rd_kafka_err2str(first));
}

static void *committer_main(void *arg)
{
	sl_queue *q = arg;
	pthread_mutex_lock(&q->mu);
	while (!q->commit_stop) {
		struct timespec ts;
		deadline_after(&ts, q->commit_ms ? q->commit_ms : 1000);
		pthread_cond_timedwait(&q->commit_wake, &q->mu, &ts);
		if (q->commit_stop)
			break;
		pthread_mutex_unlock(&q->mu);
		for (int i = 0; i < q->nconns; i++)
			commit_conn(q, &q->conns[i], false, false);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* ---- rebalance -------------------------------------------------------- */

/* Eager revoke of everything conn holds: stop handing its messages out,
 * wait for those in flight, commit synchronously, unassign. */
static void revoke_all(sl_queue *q, qconn *c)
{
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < q->nparts; i++) {
		qpart *p = q->parts[i];
		if (p->conn == c->idx && p->assigned) {
			p->assigned = false;
			p->revoking = true;
		}
	}
	ring_drop(q, false);
	pthread_cond_broadcast(&q->abort_wait);
	for (;;) {
		bool busy = false;
		for (size_t i = 0; i < q->nparts; i++)
			busy |= q->parts[i]->revoking && q->parts[i]->conn == c->idx &&
			        q->parts[i]->inflight > 0;
		if (!busy)
			break;
		pthread_cond_wait(&q->idle, &q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	if (q->grouped)
		commit_conn(q, c, true, true);
	rd_kafka_assign(c->rk, NULL);
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < q->nparts; i++)
		if (q->parts[i]->conn == c->idx)
			q->parts[i]->revoking = false;
	pthread_mutex_unlock(&q->mu);
}

/* The offset a partition without a commit starts at. */
static int64_t start_offset(const sl_queue *q)
{
	if (q->offset == -2)
		return RD_KAFKA_OFFSET_BEGINNING;
	if (q->offset == -1)
		return RD_KAFKA_OFFSET_END;
	return q->offset;
}

/* Assigns l (offsets filled in) and resets the partitions' trackers. */
static void assign(sl_queue *q, qconn *c, rd_kafka_topic_partition_list_t *l,
                   const int64_t *committed)
{
	pthread_mutex_lock(&q->mu);
	for (int i = 0; i < l->cnt; i++) {
		qpart *p = part_get(q, c->idx, l->elems[i].topic, l->elems[i].partition);
		if (!p) {
			pthread_mutex_unlock(&q->mu);
			report(q, NULL, SL_ENOMEM, "assign: out of memory");
			atomic_store(&q->stopping, true);
			return;
		}
		qc_reset(&p->tr);
		p->assigned = true;
		p->revoking = false;
		p->committed = p->sent = committed ? committed[i] : -1;
	}
	pthread_mutex_unlock(&q->mu);
	rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, l);
	if (err)
		report(q, NULL, lib_rdk_code(err), "assign: %s", rd_kafka_err2str(err));
}

/* Runs inside a poll of conn's fetcher (holding its poll_lock) or inside
 * rd_kafka_consumer_close in sl_queue_stop. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *l, void *opaque)
{
	qconn *c = opaque;
	sl_queue *q = c->q;
	if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		revoke_all(q, c);
		return;
	}
	/* Resolve start offsets here: the committed one, else offset. If the
	 * lookup fails, leave them to librdkafka (committed, else
	 * auto.offset.reset), which loses only a numeric start. */
	int64_t *committed = calloc((size_t)l->cnt + 1, sizeof *committed);
	rd_kafka_resp_err_t cerr = rd_kafka_committed(rk, l, COMMITTED_TIMEOUT_MS);
	if (cerr || !committed) {
		if (cerr)
			report(q, NULL, lib_rdk_code(cerr), "committed offsets: %s",
			       rd_kafka_err2str(cerr));
		for (int i = 0; i < l->cnt; i++)
			l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
		free(committed);
		committed = NULL;
	} else {
		for (int i = 0; i < l->cnt; i++) {
			committed[i] = l->elems[i].offset >= 0 ? l->elems[i].offset : -1;
			if (l->elems[i].offset < 0)
				l->elems[i].offset = start_offset(q);
		}
	}
	assign(q, c, l, committed);
	free(committed);
}

static void on_client_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	qconn *c = opaque;
	report(c->q, NULL, lib_rdk_code((rd_kafka_resp_err_t)err), "kafka: %s", reason);
}

/* ---- fetchers --------------------------------------------------------- */

/* Records m in its partition's tracker and appends it to the ring, or
 * drops it when it may be dropped (see the invariants at the top). */
static void push(sl_queue *q, qconn *c, rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	pthread_mutex_lock(&q->mu);
	qpart *p = part_find(q, c->idx, topic, m->partition);
	while (p && p->assigned && q->len == q->cap && !atomic_load(&q->stopping))
		pthread_cond_wait(&q->space, &q->mu);
	if (!p || !p->assigned || atomic_load(&q->stopping)) {
		pthread_mutex_unlock(&q->mu);
		rd_kafka_message_destroy(m);
		return;
	}
	int r = qc_add(&p->tr, m->offset);
	if (r == 0) {
		q->ring[(q->head + q->len) % q->cap] = (qitem){m, p};
		q->len++;
		pthread_cond_signal(&q->items);
	} else if (r == SL_ENOMEM) {
		/* It cannot be recorded, so nothing later may be: stop. */
		atomic_store(&q->stopping, true);
		pthread_cond_broadcast(&q->items);
		pthread_cond_broadcast(&q->space);
	}
	pthread_mutex_unlock(&q->mu);
	if (r == SL_ENOMEM)
		report(q, NULL, SL_ENOMEM, "out of memory recording an offset; stopping");
	if (r)
		rd_kafka_message_destroy(m); /* SL_EINVAL: a re-delivered duplicate */
}

static void *fetcher_main(void *arg)
{
	qconn *c = arg;
	sl_queue *q = c->q;
	while (!atomic_load(&q->stopping)) {
		pthread_mutex_lock(&c->poll_lock);
		if (atomic_load(&q->stopping)) {
			/* Fetchers queue on the lock; do not poll once more each. */
			pthread_mutex_unlock(&c->poll_lock);
			break;
		}
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, FETCH_POLL_MS);
		if (m && m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				report(q, NULL, lib_rdk_code(m->err), "fetch: %s",
				       rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
		} else if (m) {
			push(q, c, m);
		}
		pthread_mutex_unlock(&c->poll_lock);
	}
	return NULL;
}

/* ---- processors ------------------------------------------------------- */

/* Waits ms unless the queue stops or p is revoked; false then. */
static bool backoff(sl_queue *q, qpart *p, int64_t ms)
{
	struct timespec ts;
	deadline_after(&ts, ms);
	pthread_mutex_lock(&q->mu);
	while (!atomic_load(&q->stopping) && !p->revoking &&
	       pthread_cond_timedwait(&q->abort_wait, &q->mu, &ts) == 0) {
	}
	bool go_on = !atomic_load(&q->stopping) && !p->revoking;
	pthread_mutex_unlock(&q->mu);
	return go_on;
}

/* Handles one message: the handler with retries, then the dead-letter
 * topic. True when it is done (its offset may be committed). */
static bool process(sl_queue *q, qpart *p, const rd_kafka_message_t *m)
{
	sl_header stack_hdrs[16], *hdrs = stack_hdrs;
	size_t nh = 0;
	rd_kafka_headers_t *rh = NULL;
	if (rd_kafka_message_headers(m, &rh) == RD_KAFKA_RESP_ERR_NO_ERROR && rh) {
		size_t cnt = rd_kafka_header_cnt(rh);
		if (cnt > 16 && !(hdrs = malloc(cnt * sizeof *hdrs))) {
			report(q, NULL, SL_ENOMEM, "out of memory for headers");
			return false;
		}
		const char *name;
		const void *val;
		size_t size;
		while (nh < cnt && rd_kafka_header_get_all(rh, nh, &name, &val, &size) == 0) {
			hdrs[nh] = (sl_header){name, val, size};
			nh++;
		}
	}
	rd_kafka_timestamp_type_t tstype;
	sl_message msg = {
	    .topic = rd_kafka_topic_name(m->rkt),
	    .partition = m->partition,
	    .offset = m->offset,
	    .timestamp_ms = rd_kafka_message_timestamp(m, &tstype),
	    .key = m->key,
	    .key_len = m->key_len,
	    .value = m->payload,
	    .value_len = m->len,
	    .headers = hdrs,
	    .header_count = nh,
	};
	bool done = false;
	int rc = 0;
	for (int attempt = 1; attempt <= q->max_attempts; attempt++) {
		msg.attempt = attempt;
		rc = q->handler(&msg, q->user);
		if (rc == 0) {
			atomic_fetch_add(&q->handled, 1);
			atomic_fetch_add(&q->handled_bytes, m->key_len + m->len);
			done = true;
			goto out;
		}
		atomic_fetch_add(&q->failed, 1);
		report(q, &msg, rc, "handler failed (attempt %d of %d)", attempt, q->max_attempts);
		if (attempt < q->max_attempts && !backoff(q, p, q->backoff_ms))
			goto out; /* abandoned: it will be re-delivered */
	}
	if (!q->dlq) {
		done = true; /* no dead-letter topic: the partition moves on */
		goto out;
	}
	char why[96];
	snprintf(why, sizeof why, "handler returned %d on each of %d attempts", rc,
	         q->max_attempts);
	for (;;) {
		int r = qdlq_send(q->dlq, q->dlq_topic, &msg, why);
		if (r == 0) {
			atomic_fetch_add(&q->dead_lettered, 1);
			done = true;
			break;
		}
		report(q, &msg, r, "%s", sl_last_error());
		int64_t ms =
		    q->backoff_ms > DLQ_MIN_BACKOFF_MS ? q->backoff_ms : DLQ_MIN_BACKOFF_MS;
		if (!backoff(q, p, ms))
			break; /* not handled: re-delivered, never lost */
	}
out:
	if (hdrs != stack_hdrs)
		free(hdrs);
	return done;
}

static void *processor_main(void *arg)
{
	sl_queue *q = arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!atomic_load(&q->stopping) && q->len == 0)
			pthread_cond_wait(&q->items, &q->mu);
		if (atomic_load(&q->stopping))
			break;
		qitem it = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
		it.p->inflight++;
		pthread_cond_signal(&q->space);
		pthread_mutex_unlock(&q->mu);

		bool done = process(q, it.p, it.m);
		int64_t off = it.m->offset;
		rd_kafka_message_destroy(it.m);

		pthread_mutex_lock(&q->mu);
		if (done)
			qc_done(&it.p->tr, off);
		it.p->inflight--;
		pthread_cond_broadcast(&q->idle);
		if (q->commit_ms == 0)
			pthread_cond_signal(&q->commit_wake);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* ---- lifecycle -------------------------------------------------------- */

sl_queue *sl_queue_new(const sl_conf *conf, sl_handler handler, void *user)
{
	if (!conf || !handler) {
		lib_err(SL_EINVAL, "sl_queue_new: conf and handler are required");
		return NULL;
	}
	sl_queue *q = calloc(1, sizeof *q);
	if (!q || !(q->conf = sl_conf_dup(conf))) {
		free(q);
		lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	q->handler = handler;
	q->user = user;
	q->only_partition = -1;
	pthread_mutex_init(&q->mu, NULL);
	cond_init_mono(&q->items);
	cond_init_mono(&q->space);
	cond_init_mono(&q->idle);
	cond_init_mono(&q->abort_wait);
	cond_init_mono(&q->commit_wake);
	atomic_init(&q->stopping, false);
	atomic_init(&q->handled, 0);
	atomic_init(&q->failed, 0);
	atomic_init(&q->dead_lettered, 0);
	atomic_init(&q->handled_bytes, 0);
	return q;
}

void sl_queue_set_error_cb(sl_queue *q, sl_error_cb cb, void *user)
{
	q->err_cb = cb;
	q->err_user = user;
}

int sl_queue_set_partition(sl_queue *q, int32_t partition)
{
	if (q->state != Q_NEW)
		return lib_err(SL_ESTATE, "sl_queue_set_partition: the queue was started");
	if (partition < -1)
		return lib_err(SL_EINVAL, "partition %d: expected -1 or a partition",
		               (int)partition);
	q->only_partition = partition;
	return 0;
}

int sl_queue_set_rdkafka(sl_queue *q, const char *name, const char *value)
{
	if (q->state != Q_NEW)
		return lib_err(SL_ESTATE, "sl_queue_set_rdkafka: the queue was started");
	if (!name || !value)
		return lib_err(SL_EINVAL, "sl_queue_set_rdkafka: NULL argument");
	rd_kafka_conf_t *probe = rd_kafka_conf_new();
	if (!probe)
		return lib_err(SL_ENOMEM, "out of memory");
	int r = lib_rdk_set(probe, name, value);
	rd_kafka_conf_destroy(probe);
	if (r)
		return r;
	rdk_prop *n = realloc(q->props, (q->nprops + 1) * sizeof *n);
	if (!n)
		return lib_err(SL_ENOMEM, "out of memory");
	q->props = n;
	char *nm = strdup(name), *v = strdup(value);
	if (!nm || !v) {
		free(nm);
		free(v);
		return lib_err(SL_ENOMEM, "out of memory");
	}
	q->props[q->nprops++] = (rdk_prop){nm, v};
	return 0;
}

/* Reads the conf into q's fields. */
static int read_conf(sl_queue *q)
{
	const sl_conf *c = q->conf;
	q->ntopics = lib_conf_list(c, "topic", q->topics, MAX_TOPICS);
	if (q->ntopics == 0)
		return lib_err(SL_ECONF, "topic: a queue needs at least one topic");
	q->grouped = *lib_conf_str(c, "group") != '\0';
	if (q->grouped && q->only_partition >= 0)
		return lib_err(SL_EINVAL, "sl_queue_set_partition: only without a group");
	q->offset = lib_conf_int(c, "offset");
	q->nconns = q->grouped ? (int)lib_conf_int(c, "conns") : 1;
	q->nfetchers = (int)lib_conf_int(c, "consumers");
	if (q->nfetchers < q->nconns)
		q->nfetchers = q->nconns; /* every client needs a poller to stay in the group */
	q->nprocs = (int)lib_conf_int(c, "processors");
	q->max_attempts = (int)lib_conf_int(c, "max.attempts");
	q->backoff_ms = lib_conf_int(c, "retry.backoff");
	q->commit_ms = lib_conf_int(c, "commit.interval");
	q->cap = (size_t)lib_conf_int(c, "queue.capacity");
	snprintf(q->dlq_topic, sizeof q->dlq_topic, "%s", lib_conf_str(c, "dead.letter.topic"));
	return 0;
}

static int set_int(rd_kafka_conf_t *rc, const char *name, int64_t v)
{
	char s[24];
	snprintf(s, sizeof s, "%lld", (long long)v);
	return lib_rdk_set(rc, name, s);
}

/* The librdkafka conf of one consumer client. */
static rd_kafka_conf_t *consumer_conf(sl_queue *q, qconn *c)
{
	const sl_conf *sc = q->conf;
	rd_kafka_conf_t *rc = lib_rdk_conf(sc);
	if (!rc)
		return NULL;
	int64_t maxb = lib_conf_int(sc, "max.bytes"), wait = lib_conf_int(sc, "max.wait");
	int r =
	    lib_rdk_set(rc, "enable.auto.commit", "false") ||
	    lib_rdk_set(rc, "enable.auto.offset.store", "false") ||
	    lib_rdk_set(rc, "auto.offset.reset", q->offset == -1 ? "latest" : "earliest") ||
	    set_int(rc, "fetch.min.bytes", lib_conf_int(sc, "min.bytes")) ||
	    set_int(rc, "fetch.wait.max.ms", wait) || set_int(rc, "fetch.max.bytes", maxb) ||
	    set_int(rc, "max.partition.fetch.bytes", maxb) ||
	    /* librdkafka wants message.max.bytes <= fetch.max.bytes and
		 * receive.message.max.bytes above it. */
	    (maxb < 1000000 && set_int(rc, "message.max.bytes", maxb)) ||
	    (maxb + 512 > 100000000 && set_int(rc, "receive.message.max.bytes", maxb + 512)) ||
	    (wait + 1000 > 60000 &&
	     set_int(rc, "socket.timeout.ms", wait + 1000 < 300000 ? wait + 1000 : 300000)) ||
	    /* librdkafka 2.0 consumes only with a group.id, even for
		 * assign(): without a group the queue uses a placeholder that
		 * never joins (no subscribe) and never commits. */
	    lib_rdk_set(rc, "group.id", q->grouped ? lib_conf_str(sc, "group") : "sluice.nogroup");
	for (size_t i = 0; !r && i < q->nprops; i++)
		r = lib_rdk_set(rc, q->props[i].name, q->props[i].value);
	if (r) {
		rd_kafka_conf_destroy(rc);
		return NULL;
	}
	rd_kafka_conf_set_opaque(rc, c);
	rd_kafka_conf_set_error_cb(rc, on_client_error);
	if (q->grouped) {
		rd_kafka_conf_set_rebalance_cb(rc, on_rebalance);
		rd_kafka_conf_set_offset_commit_cb(rc, on_commit);
	}
	return rc;
}

/* Without a group: assign the topics' partitions (or the one chosen) at
 * offset on conn 0. */
static int assign_static(sl_queue *q)
{
	qconn *c = &q->conns[0];
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
	if (!l)
		return lib_err(SL_ENOMEM, "out of memory");
	int r = 0;
	for (int t = 0; t < q->ntopics && !r; t++) {
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, q->topics[t], NULL);
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t err =
		    rkt ? rd_kafka_metadata(c->rk, 0, rkt, &md, META_TIMEOUT_MS)
		        : RD_KAFKA_RESP_ERR__FAIL;
		if (!err && md->topic_cnt == 1 && md->topics[0].err)
			err = md->topics[0].err;
		if (err) {
			r = lib_err(lib_rdk_code(err), "topic %s: %s", q->topics[t],
			            rd_kafka_err2str(err));
		} else {
			const struct rd_kafka_metadata_topic *mt = &md->topics[0];
			bool found = false;
			for (int i = 0; i < mt->partition_cnt; i++) {
				int32_t id = mt->partitions[i].id;
				if (q->only_partition >= 0 && id != q->only_partition)
					continue;
				found = true;
				rd_kafka_topic_partition_list_add(l, q->topics[t], id)->offset =
				    start_offset(q);
			}
			if (!found)
				r = lib_err(SL_ENOENT, "topic %s has no partition %d", q->topics[t],
				            (int)q->only_partition);
		}
		if (md)
			rd_kafka_metadata_destroy(md);
		if (rkt)
			rd_kafka_topic_destroy(rkt);
	}
	if (!r)
		assign(q, c, l, NULL);
	rd_kafka_topic_partition_list_destroy(l);
	return r;
}

static int start_clients(sl_queue *q)
{
	if (!(q->conns = calloc((size_t)q->nconns, sizeof *q->conns)))
		return lib_err(SL_ENOMEM, "out of memory");
	for (int i = 0; i < q->nconns; i++) {
		qconn *c = &q->conns[i];
		c->q = q;
		c->idx = i;
		pthread_mutex_init(&c->poll_lock, NULL);
	}
	for (int i = 0; i < q->nconns; i++) {
		qconn *c = &q->conns[i];
		rd_kafka_conf_t *rc = consumer_conf(q, c);
		if (!rc)
			return SL_ECONF;
		char why[256];
		if (!(c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rc, why, sizeof why))) {
			rd_kafka_conf_destroy(rc);
			return lib_err(SL_ECONF, "kafka consumer: %s", why);
		}
		rd_kafka_poll_set_consumer(c->rk);
		if (q->grouped) {
			rd_kafka_topic_partition_list_t *l =
			    rd_kafka_topic_partition_list_new(q->ntopics);
			if (!l)
				return lib_err(SL_ENOMEM, "out of memory");
			for (int t = 0; t < q->ntopics; t++)
				rd_kafka_topic_partition_list_add(l, q->topics[t],
				                                  RD_KAFKA_PARTITION_UA);
			rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, l);
			rd_kafka_topic_partition_list_destroy(l);
			if (err)
				return lib_err(lib_rdk_code(err), "subscribe: %s",
				               rd_kafka_err2str(err));
		}
	}
	if (!q->grouped) {
		int r = assign_static(q);
		if (r)
			return r;
	}
	if (*q->dlq_topic && !(q->dlq = qdlq_new(q->conf, q->props, q->nprops)))
		return SL_ECONF;
	return 0;
}

static int start_threads(sl_queue *q)
{
	if (!(q->fetchers = calloc((size_t)q->nfetchers, sizeof *q->fetchers)) ||
	    !(q->procs = calloc((size_t)q->nprocs, sizeof *q->procs)))
		return lib_err(SL_ENOMEM, "out of memory");
	if (q->grouped) {
		if (pthread_create(&q->committer, NULL, committer_main, q))
			return lib_err(SL_ENOMEM, "cannot start the commit thread");
		q->committer_started = true;
	}
	for (; q->procs_started < q->nprocs; q->procs_started++)
		if (pthread_create(&q->procs[q->procs_started], NULL, processor_main, q))
			return lib_err(SL_ENOMEM, "cannot start processor threads");
	for (; q->fetchers_started < q->nfetchers; q->fetchers_started++)
		if (pthread_create(&q->fetchers[q->fetchers_started], NULL, fetcher_main,
		                   &q->conns[q->fetchers_started % q->nconns]))
			return lib_err(SL_ENOMEM, "cannot start fetcher threads");
	return 0;
}

static void shutdown_queue(sl_queue *q);

int sl_queue_start(sl_queue *q)
{
	if (q->state != Q_NEW)
		return lib_err(SL_ESTATE, "sl_queue_start: already started");
	int r = read_conf(q);
	if (r)
		return r;
	if (!(q->ring = calloc(q->cap, sizeof *q->ring)))
		return lib_err(SL_ENOMEM, "out of memory");
	q->state = Q_RUNNING;
	if ((r = start_clients(q)) || (r = start_threads(q))) {
		char why[512];
		snprintf(why, sizeof why, "%s", sl_last_error());
		shutdown_queue(q);
		return lib_err(r, "%s", why);
	}
	return 0;
}

void sl_queue_request_stop(sl_queue *q)
{
	pthread_mutex_lock(&q->mu);
	atomic_store(&q->stopping, true);
	pthread_cond_broadcast(&q->items);
	pthread_cond_broadcast(&q->space);
	pthread_cond_broadcast(&q->abort_wait);
	pthread_mutex_unlock(&q->mu);
	/* Cut the fetchers' current polls short. */
	for (int i = 0; q->conns && i < q->nconns; i++)
		if (q->conns[i].rk)
			rd_kafka_yield(q->conns[i].rk);
}

/* Stops whatever runs, in the order the header promises; also undoes a
 * half-done start. */
static void shutdown_queue(sl_queue *q)
{
	sl_queue_request_stop(q);
	for (int i = 0; i < q->fetchers_started; i++)
		pthread_join(q->fetchers[i], NULL);
	for (int i = 0; i < q->procs_started; i++)
		pthread_join(q->procs[i], NULL);
	q->fetchers_started = q->procs_started = 0;
	pthread_mutex_lock(&q->mu);
	ring_drop(q, true);
	q->commit_stop = true;
	pthread_cond_signal(&q->commit_wake);
	pthread_mutex_unlock(&q->mu);
	if (q->committer_started)
		pthread_join(q->committer, NULL);
	q->committer_started = false;
	for (int i = 0; q->conns && i < q->nconns; i++) {
		qconn *c = &q->conns[i];
		if (!c->rk)
			continue;
		if (q->grouped)
			commit_conn(q, c, true, false);
		/* Leaves the group; the revoke callback commits (nothing new by
		 * now) and unassigns. */
		rd_kafka_consumer_close(c->rk);
	}
	if (q->dlq)
		rd_kafka_flush(q->dlq, 10000);
	q->state = Q_STOPPED;
}

int sl_queue_stop(sl_queue *q)
{
	if (q->state == Q_STOPPED)
		return 0;
	if (q->state != Q_RUNNING)
		return lib_err(SL_ESTATE, "sl_queue_stop: the queue was not started");
	shutdown_queue(q);
	return 0;
}

void sl_queue_free(sl_queue *q)
{
	if (!q)
		return;
	if (q->state == Q_RUNNING)
		shutdown_queue(q);
	for (int i = 0; q->conns && i < q->nconns; i++) {
		if (q->conns[i].rk)
			rd_kafka_destroy(q->conns[i].rk);
		pthread_mutex_destroy(&q->conns[i].poll_lock);
	}
	if (q->dlq)
		rd_kafka_destroy(q->dlq);
	for (size_t i = 0; i < q->nparts; i++) {
		qc_deinit(&q->parts[i]->tr);
		free(q->parts[i]->topic);
		free(q->parts[i]);
	}
	for (size_t i = 0; i < q->nprops; i++) {
		free(q->props[i].name);
		free(q->props[i].value);
	}
	free(q->props);
	free(q->parts);
	free(q->conns);
	free(q->fetchers);
	free(q->procs);
	free(q->ring);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->items);
	pthread_cond_destroy(&q->space);
	pthread_cond_destroy(&q->idle);
	pthread_cond_destroy(&q->abort_wait);
	pthread_cond_destroy(&q->commit_wake);
	sl_conf_free(q->conf);
	free(q);
}

/* ---- observation ------------------------------------------------------ */

void sl_queue_metrics(const sl_queue *q, sl_metrics *out)
{
	sl_queue *mq = (sl_queue *)q; /* atomics are read, never written */
	memset(out, 0, sizeof *out);
	out->handled = atomic_load(&mq->handled);
	out->failed = atomic_load(&mq->failed);
	out->dead_lettered = atomic_load(&mq->dead_lettered);
	out->handled_bytes = atomic_load(&mq->handled_bytes);
}

int sl_queue_lag(sl_queue *q, sl_partition_lag *out, size_t cap)
{
	if (q->state != Q_RUNNING)
		return lib_err(SL_ESTATE, "sl_queue_lag: the queue is not running");
	typedef struct {
		sl_partition_lag lag;
		int conn;
	} snap;
	pthread_mutex_lock(&q->mu);
	snap *s = calloc(q->nparts + 1, sizeof *s);
	size_t n = 0;
	for (size_t i = 0; s && i < q->nparts; i++) {
		qpart *p = q->parts[i];
		if (!p->assigned)
			continue;
		snprintf(s[n].lag.topic, sizeof s[n].lag.topic, "%s", p->topic);
		s[n].lag.partition = p->partition;
		/* Without a group nothing is committed: report the in-order
		 * point, what a commit would store. */
		s[n].lag.committed = q->grouped ? p->committed : qc_commit_point(&p->tr);
		s[n].conn = p->conn;
		n++;
	}
	pthread_mutex_unlock(&q->mu);
	if (!s)
		return lib_err(SL_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && i < cap; i++) {
		sl_partition_lag *l = &s[i].lag;
		rd_kafka_t *rk = q->conns[s[i].conn].rk;
		int64_t lo = -1, hi = -1;
		/* Every fetch response carries the high watermark, so the cached
		 * one is at most a fetch old; asking the broker would queue
		 * behind the long-polling fetch on the same connection. */
		if ((rd_kafka_get_watermark_offsets(rk, l->topic, l->partition, &lo, &hi) ||
		     hi < 0) &&
		    rd_kafka_query_watermark_offsets(rk, l->topic, l->partition, &lo, &hi, 5000))
			hi = -1;
		l->high_watermark = hi >= 0 ? hi : -1;
		l->lag =
		    l->high_watermark >= 0 && l->committed >= 0
		        ? (l->high_watermark > l->committed ? l->high_watermark - l->committed : 0)
		        : -1;
		out[i] = *l;
	}
	free(s);
	return (int)n;
}

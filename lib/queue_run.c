/*
 * queue_run.c — the running sl_queue: fetcher, processor and commit
 * threads and the librdkafka callbacks. The API, the clients and start/stop
 * are in queue.c.
 *
 * Threads and what they own:
 *   fetchers   (max(consumers, conns)) fetcher i polls conn i % conns with
 *              rd_kafka_consumer_poll: one poll that may wait, then polls
 *              with timeout 0 for up to FETCH_BATCH messages in all, which
 *              it records and appends to the ring (queue.capacity) under
 *              one lock, blocking while it is full. A fetcher keeps its
 *              conn's poll_lock while polls deliver and lets the conn's
 *              other fetchers take over after an empty poll. The rebalance
 *              and commit callbacks run inside these polls.
 *   processors take a share of the ring (up to PROC_BATCH messages) per
 *              lock, call the handler on each in order (with retries and
 *              the dead-letter topic), then mark the handled offsets in
 *              their partitions' trackers (queue_commit.c) under one lock.
 *              A taken message not started yet is dropped when the queue
 *              stops or its partition is revoked, as a queued one is,
 *              unless a later one of its partition was handled or started
 *              (drop_ok): then it is handled, so no gap is left below the
 *              handled ones (a rebalance causes no duplicates).
 *   committer  (group mode) every commit.interval commits each assigned
 *              partition's in-order point asynchronously.
 *   controller the caller of sl_queue_start/stop/free.
 *
 * Invariants that make "a crash re-delivers, never skips" hold:
 *   - Every message of an assigned partition that a fetcher polled is
 *     recorded in the tracker before anything later of that partition
 *     (a fetcher holds its conn's poll_lock from poll until its batch is
 *     recorded, and the rebalance callback runs inside a poll, so no
 *     message of an old assignment can be recorded after a revoke: when a
 *     callback ran inside one of a batch's polls, which the conn's gen
 *     tells, the messages polled before it are dropped unrecorded).
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
 *
 * Wake-ups: a thread about to wait on items, space or idle counts itself
 * in q->*_waiting, and the other side signals only when that is non-zero.
 * Processors wake one another in a chain (one that took messages and left
 * some wakes one more), so a batch wakes as many as it has work for.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue_priv.h"

/* ---- helpers ---------------------------------------------------------- */

void qrun_report(sl_queue *q, const sl_message *m, int err, const char *fmt, ...)
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
	p->committed = p->sent = p->max_done = -1;
	atomic_init(&p->revoking, false);
	qc_init(&p->tr);
	q->parts[q->nparts++] = p;
	return p;
}

/* Removes the ring's messages of partitions being revoked (or all when
 * all is set) and destroys them; q->mu held. They stay pending in their
 * trackers, so nothing past them is committed. */
void qrun_ring_drop(sl_queue *q, bool all)
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
	if (q->space_waiting)
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
	qrun_fold(q);
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
void qrun_commit_conn(sl_queue *q, qconn *c, bool sync, bool revoking_only)
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
		qrun_report(q, NULL, lib_rdk_code(err), "commit: %s", rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(l);
}

/* Result of an async commit; runs inside a fetcher's poll. */
void qrun_on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l,
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
		qrun_report(q, NULL, lib_rdk_code(first), "commit: %s", rd_kafka_err2str(first));
}

void *qrun_committer_main(void *arg)
{
	sl_queue *q = arg;
	pthread_mutex_lock(&q->mu);
	while (!q->commit_stop) {
		struct timespec ts;
		lib_deadline_after(&ts, q->commit_ms ? q->commit_ms : 1000);
		pthread_cond_timedwait(&q->commit_wake, &q->mu, &ts);
		if (q->commit_stop)
			break;
		pthread_mutex_unlock(&q->mu);
		for (int i = 0; i < q->nconns; i++)
			qrun_commit_conn(q, &q->conns[i], false, false);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* ---- rebalance -------------------------------------------------------- */

/* Whether a processor still has a message of conn's revoking partitions
 * in flight (being handled, or taken and not started); q->mu held. */
static bool revoke_busy(sl_queue *q, int conn)
{
	for (int k = 0; k < q->nprocs; k++) {
		qproc *ps = &q->pstats[k];
		for (size_t i = atomic_load(&ps->ndone); i < ps->n; i++)
			if (ps->batch[i].p->conn == conn && atomic_load(&ps->batch[i].p->revoking))
				return true;
	}
	return false;
}

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
	qrun_ring_drop(q, false);
	pthread_cond_broadcast(&q->abort_wait);
	/* Counted before looking, so a processor that finishes after the look
	 * sees it and wakes us (both sides use seq_cst: see processor_main). */
	atomic_fetch_add(&q->idle_waiting, 1);
	while (revoke_busy(q, c->idx))
		pthread_cond_wait(&q->idle, &q->mu);
	atomic_fetch_sub(&q->idle_waiting, 1);
	pthread_mutex_unlock(&q->mu);
	if (q->grouped)
		qrun_commit_conn(q, c, true, true);
	rd_kafka_assign(c->rk, NULL);
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < q->nparts; i++)
		if (q->parts[i]->conn == c->idx)
			q->parts[i]->revoking = false;
	pthread_mutex_unlock(&q->mu);
}

/* The offset a partition without a commit starts at. */
int64_t qrun_start_offset(const sl_queue *q)
{
	if (q->offset == -2)
		return RD_KAFKA_OFFSET_BEGINNING;
	if (q->offset == -1)
		return RD_KAFKA_OFFSET_END;
	return q->offset;
}

/* Assigns l (offsets filled in) and resets the partitions' trackers. */
void qrun_assign(sl_queue *q, qconn *c, rd_kafka_topic_partition_list_t *l,
                 const int64_t *committed)
{
	pthread_mutex_lock(&q->mu);
	for (int i = 0; i < l->cnt; i++) {
		qpart *p = part_get(q, c->idx, l->elems[i].topic, l->elems[i].partition);
		if (!p) {
			pthread_mutex_unlock(&q->mu);
			qrun_report(q, NULL, SL_ENOMEM, "assign: out of memory");
			atomic_store(&q->stopping, true);
			return;
		}
		qc_reset(&p->tr);
		p->max_done = -1;
		p->assigned = true;
		p->revoking = false;
		p->committed = p->sent = committed ? committed[i] : -1;
	}
	pthread_mutex_unlock(&q->mu);
	rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, l);
	if (err)
		qrun_report(q, NULL, lib_rdk_code(err), "assign: %s", rd_kafka_err2str(err));
}

/* Runs inside a poll of conn's fetcher (holding its poll_lock) or inside
 * rd_kafka_consumer_close in sl_queue_stop. */
void qrun_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l,
                       void *opaque)
{
	qconn *c = opaque;
	sl_queue *q = c->q;
	c->gen++; /* a fetcher drops what it polled before this (see top) */
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
			qrun_report(q, NULL, lib_rdk_code(cerr), "committed offsets: %s",
			            rd_kafka_err2str(cerr));
		for (int i = 0; i < l->cnt; i++)
			l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
		free(committed);
		committed = NULL;
	} else {
		for (int i = 0; i < l->cnt; i++) {
			committed[i] = l->elems[i].offset >= 0 ? l->elems[i].offset : -1;
			if (l->elems[i].offset < 0)
				l->elems[i].offset = qrun_start_offset(q);
		}
	}
	qrun_assign(q, c, l, committed);
	free(committed);
}

void qrun_on_client_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	qconn *c = opaque;
	qrun_report(c->q, NULL, lib_rdk_code((rd_kafka_resp_err_t)err), "kafka: %s", reason);
}

/* ---- fetchers --------------------------------------------------------- */

/* Records a fetcher's batch in the partitions' trackers and appends it to
 * the ring under one lock, or drops what may be dropped (see the
 * invariants at the top). Waits for space as often as the ring fills. */
static void push_batch(sl_queue *q, qconn *c, rd_kafka_message_t **batch, size_t n)
{
	bool nomem = false;
	size_t ndrop = 0;
	/* A batch is mostly runs of one partition: remember the last lookup. */
	const rd_kafka_topic_t *last_rkt = NULL;
	int32_t last_part = -1;
	qpart *p = NULL;
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < n; i++) {
		rd_kafka_message_t *m = batch[i];
		if (m->rkt != last_rkt || m->partition != last_part) {
			p = part_find(q, c->idx, rd_kafka_topic_name(m->rkt), m->partition);
			last_rkt = m->rkt;
			last_part = m->partition;
		}
		while (p && p->assigned && q->len == q->cap && !atomic_load(&q->stopping)) {
			/* Let idle processors at what is queued before sleeping. */
			if (q->items_waiting)
				pthread_cond_signal(&q->items);
			q->space_waiting++;
			pthread_cond_wait(&q->space, &q->mu);
			q->space_waiting--;
		}
		int r = SL_EINVAL;
		if (p && p->assigned && !atomic_load(&q->stopping) && !nomem)
			r = qc_add(&p->tr, m->offset);
		if (r == 0) {
			q->ring[(q->head + q->len) % q->cap] = (qitem){m, p};
			q->len++;
			continue;
		}
		if (r == SL_ENOMEM && !nomem) {
			/* It cannot be recorded, so nothing later may be: stop. */
			nomem = true;
			atomic_store(&q->stopping, true);
			pthread_cond_broadcast(&q->items);
			pthread_cond_broadcast(&q->space);
		}
		/* Not assigned, stopping, or SL_EINVAL (a re-delivered
		 * duplicate): destroyed after the unlock. */
		batch[ndrop++] = m;
	}
	if (q->len && q->items_waiting)
		pthread_cond_signal(&q->items);
	pthread_mutex_unlock(&q->mu);
	if (nomem)
		qrun_report(q, NULL, SL_ENOMEM, "out of memory recording an offset; stopping");
	for (size_t i = 0; i < ndrop; i++)
		rd_kafka_message_destroy(batch[i]);
}

/* Keeps m for the batch, or reports and destroys an error event. */
static bool fetched(sl_queue *q, rd_kafka_message_t *m)
{
	if (!m->err)
		return true;
	if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
		qrun_report(q, NULL, lib_rdk_code(m->err), "fetch: %s", rd_kafka_message_errstr(m));
	rd_kafka_message_destroy(m);
	return false;
}

void *qrun_fetcher_main(void *arg)
{
	qconn *c = arg;
	sl_queue *q = c->q;
	rd_kafka_message_t *batch[FETCH_BATCH];
	/* Never hold more polled messages than the ring takes. */
	size_t max = q->cap < FETCH_BATCH ? q->cap : FETCH_BATCH;
	bool locked = false;
	while (!atomic_load(&q->stopping)) {
		if (!locked) {
			pthread_mutex_lock(&c->poll_lock);
			locked = true;
			/* Fetchers queue on the lock; do not poll once more each. */
			if (atomic_load(&q->stopping))
				break;
		}
		size_t n = 0;
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, FETCH_POLL_MS);
		unsigned gen = c->gen; /* callbacks in that poll ran before m */
		while (m) {
			if (c->gen != gen) {
				/* A rebalance ran inside the last poll: what was polled
				 * before it belongs to the old assignment and must not be
				 * recorded (see the invariants at the top). */
				for (size_t i = 0; i < n; i++)
					rd_kafka_message_destroy(batch[i]);
				n = 0;
				gen = c->gen;
			}
			if (fetched(q, m))
				batch[n++] = m;
			if (n == max || atomic_load(&q->stopping))
				break;
			m = rd_kafka_consumer_poll(c->rk, 0);
		}
		if (n)
			push_batch(q, c, batch, n);
		/* Keep the conn while it delivers: handing the lock to the next
		 * fetcher after every batch costs a wake-up and a sleep each, for
		 * nothing (one poller per client is enough). Turns change when a
		 * poll comes back empty. */
		if (!n) {
			pthread_mutex_unlock(&c->poll_lock);
			locked = false;
		}
	}
	if (locked)
		pthread_mutex_unlock(&c->poll_lock);
	return NULL;
}

/* ---- processors ------------------------------------------------------- */

/* Waits ms unless the queue stops or p is revoked; false then. */
static bool backoff(sl_queue *q, qpart *p, int64_t ms)
{
	struct timespec ts;
	lib_deadline_after(&ts, ms);
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
static bool process(sl_queue *q, qproc *ps, qpart *p, const rd_kafka_message_t *m)
{
	sl_header stack_hdrs[16], *hdrs = stack_hdrs;
	size_t nh = 0;
	rd_kafka_headers_t *rh = NULL;
	if (rd_kafka_message_headers(m, &rh) == RD_KAFKA_RESP_ERR_NO_ERROR && rh) {
		size_t cnt = rd_kafka_header_cnt(rh);
		if (cnt > 16 && !(hdrs = malloc(cnt * sizeof *hdrs))) {
			qrun_report(q, NULL, SL_ENOMEM, "out of memory for headers");
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
	    .topic = p->topic,
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
			/* Only this thread writes its counters: no locked add. */
			atomic_store_explicit(
			    &ps->handled,
			    atomic_load_explicit(&ps->handled, memory_order_relaxed) + 1,
			    memory_order_relaxed);
			atomic_store_explicit(
			    &ps->handled_bytes,
			    atomic_load_explicit(&ps->handled_bytes, memory_order_relaxed) +
			        m->key_len + m->len,
			    memory_order_relaxed);
			done = true;
			goto out;
		}
		atomic_fetch_add(&q->failed, 1);
		qrun_report(q, &msg, rc, "handler failed (attempt %d of %d)", attempt,
		            q->max_attempts);
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
		qrun_report(q, &msg, r, "%s", sl_last_error());
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

/* How many queued messages one processor takes: what its handler is
 * expected to finish in PROC_BUDGET_NS, at least one and at most
 * PROC_BATCH. Slow handlers so take one at a time and spread over the
 * processors as before batching (and a revoke or stop waits no longer);
 * fast ones take many, and fewer processors need waking. q->mu held. */
static size_t take_count(const sl_queue *q, const qproc *ps)
{
	size_t n = q->len;
	int64_t fit = PROC_BUDGET_NS / (ps->avg_ns > 0 ? ps->avg_ns : 1);
	if (n > (size_t)fit)
		n = (size_t)fit;
	if (n > PROC_BATCH)
		n = PROC_BATCH;
	return n < 1 ? 1 : n;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Moves ps's published marks into the trackers; q->mu held. */
static void fold_one(qproc *ps)
{
	size_t nd = atomic_load(&ps->ndone);
	for (size_t i = ps->applied; i < nd; i++) {
		qpart *p = ps->batch[i].p;
		if (ps->done[i] && qc_done(&p->tr, ps->offs[i]) == 0 && ps->offs[i] > p->max_done)
			p->max_done = ps->offs[i];
	}
	ps->applied = nd;
}

/* Whether self may drop its taken, unstarted message (p, off) on a stop or
 * revoke without leaving a hole: only when no later message of p was
 * handled or may have been started by another processor. Otherwise
 * dropping it would put the commit point below handled messages, which a
 * rebalance would then re-deliver (the docs promise it does not). Batches
 * are taken in ring order, so other processors' later messages of p are
 * in their batches; the one at a processor's ndone counts as started
 * (it may be, without the lock). q->mu held. */
static bool drop_ok(sl_queue *q, const qproc *self, const qpart *p, int64_t off)
{
	qrun_fold(q);
	if (p->max_done > off)
		return false;
	for (int k = 0; k < q->nprocs; k++) {
		const qproc *o = &q->pstats[k];
		if (o == self)
			continue;
		size_t nd = atomic_load(&o->ndone);
		if (nd < o->n && o->batch[nd].p == p && o->offs[nd] > off)
			return false;
	}
	return true;
}

void qrun_fold(sl_queue *q)
{
	for (int k = 0; q->pstats && k < q->nprocs; k++)
		fold_one(&q->pstats[k]);
}

void *qrun_processor_main(void *arg)
{
	qproc *ps = arg;
	sl_queue *q = ps->q;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!atomic_load(&q->stopping) && q->len == 0) {
			q->items_waiting++;
			pthread_cond_wait(&q->items, &q->mu);
			q->items_waiting--;
		}
		if (atomic_load(&q->stopping))
			break;
		size_t n = take_count(q, ps);
		for (size_t i = 0; i < n; i++) {
			ps->batch[i] = q->ring[q->head];
			ps->offs[i] = ps->batch[i].m->offset;
			q->head = (q->head + 1) % q->cap;
		}
		q->len -= n;
		ps->n = n;
		ps->applied = 0;
		atomic_store(&ps->ndone, 0);
		/* Fetchers wait for room for a batch, not for one slot. */
		if (q->space_waiting && q->len <= q->cap / 2)
			pthread_cond_broadcast(&q->space);
		if (q->len && q->items_waiting)
			pthread_cond_signal(&q->items); /* the chain: see the top */
		pthread_mutex_unlock(&q->mu);

		int64_t t0 = now_ns();
		for (size_t i = 0; i < n; i++) {
			qitem *it = &ps->batch[i];
			/* Taken but not started counts as queued: dropped on stop and
			 * revoke (it stays pending, so it is re-delivered), unless that
			 * would leave a hole below handled messages. */
			bool drop = false;
			if (atomic_load(&q->stopping) || atomic_load(&it->p->revoking)) {
				pthread_mutex_lock(&q->mu);
				drop = drop_ok(q, ps, it->p, ps->offs[i]);
				pthread_mutex_unlock(&q->mu);
			}
			ps->done[i] = !drop && process(q, ps, it->p, it->m);
			rd_kafka_message_destroy(it->m);
			/* Publish, then look for a waiting revoke: with the revoke's
			 * count-then-look (seq_cst on both sides) one of the two sees
			 * the other, so no wake-up is lost. */
			atomic_store(&ps->ndone, i + 1);
			if (atomic_load(&q->idle_waiting) || (q->commit_ms == 0 && ps->done[i])) {
				pthread_mutex_lock(&q->mu);
				pthread_cond_broadcast(&q->idle);
				if (q->commit_ms == 0)
					pthread_cond_signal(&q->commit_wake);
				pthread_mutex_unlock(&q->mu);
			}
		}

		ps->avg_ns = (ps->avg_ns + (now_ns() - t0) / (int64_t)n) / 2;

		pthread_mutex_lock(&q->mu);
		fold_one(ps);
		ps->n = ps->applied = 0;
		atomic_store(&ps->ndone, 0);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

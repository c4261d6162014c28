/*
 * queue.c — sl_queue: a handler-driven Kafka consumer (go-queue kq's Queue).
 *
 * This half holds the API: the conf read into librdkafka settings, the
 * consumer clients (subscribed, or assigned directly without a group),
 * start, the graceful stop, metrics and lag. The threads it starts and the
 * guarantees they keep are in queue_run.c. Everything here runs on the
 * controlling thread except sl_queue_request_stop (any thread, handlers
 * included), sl_queue_metrics and sl_queue_lag (any thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue_priv.h"

static int cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	int r = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return r;
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
	/* The processors' counters exist from the start, so sl_queue_metrics
	 * may run on any thread at any time; the conf is a private copy, so
	 * processors stays what read_conf will read. */
	q->nprocs = (int)lib_conf_int(q->conf, "processors");
	if (!(q->pstats = calloc((size_t)q->nprocs, sizeof *q->pstats))) {
		sl_conf_free(q->conf);
		free(q);
		lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	for (int i = 0; i < q->nprocs; i++) {
		q->pstats[i].q = q;
		atomic_init(&q->pstats[i].handled, 0);
		atomic_init(&q->pstats[i].handled_bytes, 0);
		atomic_init(&q->pstats[i].ndone, 0);
		q->pstats[i].avg_ns = PROC_BUDGET_NS; /* one at a time until measured */
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
	atomic_init(&q->idle_waiting, 0);
	atomic_init(&q->failed, 0);
	atomic_init(&q->dead_lettered, 0);
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
		 * rd_kafka_assign(): without a group the queue uses a placeholder that
		 * never joins (no subscribe) and never commits. */
	    lib_rdk_set(rc, "group.id", q->grouped ? lib_conf_str(sc, "group") : "sluice.nogroup");
	/* librdkafka (2.0) stops fetching a partition once queued.min.messages
	 * (100000) are prefetched and looks again only at its next fetch
	 * round, up to max.wait later: with small messages and fast handlers
	 * the queue drains that in less and then idles (measured: a third of
	 * the time at 100 bytes). Prefetch stays bounded by
	 * queued.max.messages.kbytes (64 MB). sl_queue_set_rdkafka overrides. */
	if (!r)
		r = lib_rdk_set(rc, "queued.min.messages", "1000000");
	for (size_t i = 0; !r && i < q->nprops; i++)
		r = lib_rdk_set(rc, q->props[i].name, q->props[i].value);
	if (r) {
		rd_kafka_conf_destroy(rc);
		return NULL;
	}
	rd_kafka_conf_set_opaque(rc, c);
	rd_kafka_conf_set_error_cb(rc, qrun_on_client_error);
	if (q->grouped) {
		rd_kafka_conf_set_rebalance_cb(rc, qrun_on_rebalance);
		rd_kafka_conf_set_offset_commit_cb(rc, qrun_on_commit);
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
				    qrun_start_offset(q);
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
		qrun_assign(q, c, l, NULL);
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
		if (pthread_create(&q->committer, NULL, qrun_committer_main, q))
			return lib_err(SL_ENOMEM, "cannot start the commit thread");
		q->committer_started = true;
	}
	for (; q->procs_started < q->nprocs; q->procs_started++)
		if (pthread_create(&q->procs[q->procs_started], NULL, qrun_processor_main,
		                   &q->pstats[q->procs_started]))
			return lib_err(SL_ENOMEM, "cannot start processor threads");
	for (; q->fetchers_started < q->nfetchers; q->fetchers_started++)
		if (pthread_create(&q->fetchers[q->fetchers_started], NULL, qrun_fetcher_main,
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
	qrun_ring_drop(q, true);
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
			qrun_commit_conn(q, c, true, false);
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
	free(q->pstats);
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
	for (int i = 0; i < mq->nprocs; i++) {
		out->handled += atomic_load_explicit(&mq->pstats[i].handled, memory_order_relaxed);
		out->handled_bytes +=
		    atomic_load_explicit(&mq->pstats[i].handled_bytes, memory_order_relaxed);
	}
	out->failed = atomic_load(&mq->failed);
	out->dead_lettered = atomic_load(&mq->dead_lettered);
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
	qrun_fold(q); /* the handled marks the in-order points need */
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

/*
 * pusher.c — sl_pusher: go-queue kq's Pusher on a librdkafka producer.
 *
 * Mapping of the conf keys (see sluice/pusher.h):
 *   chunk.size      batch.size; message.max.bytes at least as large so a
 *                   whole chunk fits one request; batch.num.messages high
 *                   enough that bytes, not a message count, close a batch
 *   flush.interval  linger.ms (0 with sync: each push goes out at once,
 *                   like kq's WithSyncPush, which sets kafka-go's BatchSize 1)
 *   balancer        our partitioner callback (balancer.c); librdkafka's
 *                   sticky partitioning is off so the callback also sees
 *                   null keys
 *   acks            acks; acks=all turns on enable.idempotence so
 *                   librdkafka's retries cannot write a message twice
 *   compression     compression.codec
 *   auto.create     allow.auto.create.topics; when false the first push
 *                   asks the brokers for the topic's metadata and fails
 *                   with SL_ENOENT if it does not exist, instead of
 *                   librdkafka holding the messages until
 *                   topic.metadata.propagation.max.ms
 *
 * Threads: callers push from any thread. Delivery reports are librdkafka
 * events (RD_KAFKA_EVENT_DR) on its main queue, served by one pusher
 * thread (dr_main): it updates the metrics, calls the delivery callback,
 * wakes a sync push waiting for its message and records the first
 * asynchronous error for sl_pusher_flush. With event delivery reports,
 * rd_kafka_flush does not serve callbacks itself; it waits until that
 * thread has destroyed every report, so after a flush every callback of
 * the flushed messages has returned.
 *
 * Each message carries its opaque (librdkafka's per-message one) from the
 * push to its delivery report. An asynchronous push without a msg_opaque
 * needs only its start time and size: both travel in the opaque pointer
 * itself (a "tagged" opaque, see tag_make), so the common push touches no
 * shared memory. The others carry a pmsg from the pusher's own pool, not
 * malloc: a malloc on the pushing thread freed on the pusher thread costs
 * more than the rest of the push (glibc then serves every allocation from
 * the shared arena under its lock). Pushers take pmsgs under pool_mu; the
 * pusher thread hands a report batch's pmsgs back in one atomic swap on
 * pool_back, which a pusher takes whole when its list runs dry. The pool
 * keeps its peak size (one pmsg per message in flight, 40 bytes) until
 * close.
 *
 * Delivery reports are handled a batch at a time (one event holds the
 * reports of one produce response): one atomic add per counter, and the
 * mutex only when a sync push waits or a message failed.
 *
 * Latency: librdkafka stamps each message when producev takes it (its
 * CLOCK_MONOTONIC, rd_kafka_message_latency), so a push reads no clock of
 * its own; only a push that waits (the first push's topic check, a full
 * queue) measures that wait and adds it to the opaque.
 *
 * Destroying a report event frees its messages, which librdkafka
 * allocated on the pushing thread; freeing them on the pusher thread makes
 * both threads fight over glibc's arena. So after its callbacks the pusher
 * thread parks the event (at most GRAVE_MAX, under grave_mu) and the next
 * push destroys the parked events on the pushing thread. Parked events
 * still count as queued messages for librdkafka, so: a push meeting a
 * full queue destroys them first; while a flush runs the pusher thread
 * destroys events itself (a flush waits for the count to reach zero); and
 * when no report came for 200 ms it destroys what is parked, so an idle
 * pusher holds nothing.
 */
#include "balancer.h"
#include "rdk.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLOSE_FLUSH_MS 30000
#define PURGE_FLUSH_MS 5000
#define METADATA_TIMEOUT_MS 10000
#define PSLAB_N 1024 /* pmsgs per pool allocation */
#define DR_CHUNK 256 /* delivery reports handled per pass */
#define GRAVE_MAX 64 /* report events parked for a pushing thread */

/* A sync push waiting for its own delivery report (on its stack). */
typedef struct waiter {
	bool done;
	int err;
	char reason[512];
} waiter;

typedef struct pmsg {
	int64_t pre_us;    /* from the push call to the producev that took it */
	void *user;        /* msg_opaque of sl_push_msg_opaque */
	size_t bytes;      /* key + value */
	waiter *w;         /* NULL for an asynchronous push */
	struct pmsg *next; /* in the pool */
} pmsg;

typedef struct pslab {
	struct pslab *next;
	pmsg m[PSLAB_N];
} pslab;

struct sl_pusher {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	rd_kafka_queue_t *mainq;
	lib_bal *bal;
	char topic[256];
	bool sync;
	bool auto_create;
	bool manual;
	int32_t partition; /* conf "partition", for balancer=manual */

	pthread_t thread;
	bool thread_started;
	atomic_bool stop;

	pthread_mutex_t check_mu; /* one topic check at a time */
	atomic_bool topic_checked;

	pthread_mutex_t grave_mu; /* guards grave and flushing */
	rd_kafka_event_t *grave[GRAVE_MAX];
	atomic_int ngrave; /* entries of grave; read unlocked as a hint */
	int flushing;      /* flushes running: do not park */

	pthread_mutex_t mu;  /* guards the fields below */
	pthread_cond_t cond; /* broadcast after each batch of delivery reports */
	uint64_t dr_batches; /* report events served, for wait_progress */
	sl_delivery_cb cb;
	void *cb_user;
	int first_err;
	char first_reason[512];

	pthread_mutex_t pool_mu; /* guards pool_free and slabs */
	pmsg *pool_free;
	pslab *slabs;
	_Atomic(pmsg *) pool_back; /* returned by the pusher thread */

	atomic_uint_fast64_t pushed;
	atomic_uint_fast64_t failed;
	atomic_uint_fast64_t pushed_bytes;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- tagged opaques and the pmsg pool ---- */

/* A tagged opaque: bit 0 set (a pmsg is at least 8-aligned), bits 1..23
 * the key + value size, bits 24..63 the microseconds the push waited
 * before librdkafka took the message (saturating; 0 unless it met a full
 * queue or the topic check). 64-bit pointers only. */
#define TAG_SIZE_BITS 23
#define TAG_PRE_MAX ((UINT64_C(1) << 40) - 1)
#if UINTPTR_MAX >= UINT64_MAX
#define TAG_OK(bytes) ((bytes) < (UINT64_C(1) << TAG_SIZE_BITS))
#else
#define TAG_OK(bytes) false
#endif

static void *tag_make(int64_t pre_us, size_t bytes)
{
	uint64_t pre = (uint64_t)pre_us > TAG_PRE_MAX ? TAG_PRE_MAX : (uint64_t)pre_us;
	return (void *)(uintptr_t)(pre << (TAG_SIZE_BITS + 1) | (uint64_t)bytes << 1 | 1);
}

/* The pmsg behind an opaque; NULL for a tagged one. */
static pmsg *opaque_pmsg(void *o)
{
	return ((uintptr_t)o & 1) ? NULL : o;
}

static size_t opaque_bytes(const void *o)
{
	if ((uintptr_t)o & 1)
		return (size_t)(((uint64_t)(uintptr_t)o >> 1) &
		                ((UINT64_C(1) << TAG_SIZE_BITS) - 1));
	return ((const pmsg *)o)->bytes;
}

/* From the push call to now: librdkafka's own latency (from the producev
 * that took the message, on the same CLOCK_MONOTONIC) plus the wait
 * before it. */
static int64_t msg_latency(const rd_kafka_message_t *m)
{
	const void *o = m->_private;
	int64_t pre = !o                 ? 0
	              : (uintptr_t)o & 1 ? (int64_t)((uint64_t)(uintptr_t)o >> (TAG_SIZE_BITS + 1))
	                                 : ((const pmsg *)o)->pre_us;
	int64_t lat = rd_kafka_message_latency(m);
	return (lat < 0 ? 0 : lat) + pre;
}

/* A pmsg for a push (fields unset), or NULL when out of memory. */
static pmsg *pmsg_get(sl_pusher *p)
{
	pthread_mutex_lock(&p->pool_mu);
	pmsg *pm = p->pool_free;
	if (!pm)
		pm = atomic_exchange_explicit(&p->pool_back, NULL, memory_order_acquire);
	if (!pm) {
		pslab *s = malloc(sizeof *s);
		if (!s) {
			pthread_mutex_unlock(&p->pool_mu);
			return NULL;
		}
		s->next = p->slabs;
		p->slabs = s;
		for (int i = 0; i < PSLAB_N - 1; i++)
			s->m[i].next = &s->m[i + 1];
		s->m[PSLAB_N - 1].next = NULL;
		pm = &s->m[0];
	}
	p->pool_free = pm->next;
	pthread_mutex_unlock(&p->pool_mu);
	return pm;
}

/* A push that failed gives its pmsg back (pushing thread). */
static void pmsg_put(sl_pusher *p, pmsg *pm)
{
	pthread_mutex_lock(&p->pool_mu);
	pm->next = p->pool_free;
	p->pool_free = pm;
	pthread_mutex_unlock(&p->pool_mu);
}

/* The pusher thread gives back the chain head..tail. */
static void pmsg_put_chain(sl_pusher *p, pmsg *head, pmsg *tail)
{
	pmsg *old = atomic_load_explicit(&p->pool_back, memory_order_relaxed);
	do
		tail->next = old;
	while (!atomic_compare_exchange_weak_explicit(&p->pool_back, &old, head,
	                                              memory_order_release, memory_order_relaxed));
}

/* ---- delivery reports (pusher thread) ---- */

static int dr_code(const rd_kafka_message_t *m)
{
	/* Purged by sl_pusher_close after its flush timed out. */
	if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
		return SL_ECLOSED;
	return lib_rdk_code(m->err);
}

/* Not rd_kafka_message_errstr: for a producer message it returns the
 * payload, which is not a string. */
static const char *dr_reason(const rd_kafka_message_t *m)
{
	const char *r = m->err ? rd_kafka_err2str(m->err) : "";
	return r ? r : "";
}

/* One pass over up to DR_CHUNK reports: the metrics first (so a callback
 * sees its own message counted), then the callbacks, then, under the
 * mutex, the waiting sync pushes and the first error (so a sync push
 * returns after its callback ran). */
static void on_delivery_chunk(sl_pusher *p, const rd_kafka_message_t **ms, size_t n,
                              sl_delivery_cb cb, void *user)
{
	int errs[DR_CHUNK];
	uint64_t ok = 0, bad = 0, bytes = 0;
	bool need_lock = false;
	for (size_t i = 0; i < n; i++) {
		const pmsg *pm = opaque_pmsg(ms[i]->_private);
		errs[i] = dr_code(ms[i]);
		if (errs[i]) {
			bad++;
			need_lock = true;
		} else {
			ok++;
			bytes += ms[i]->key_len + ms[i]->len;
		}
		if (pm && pm->w)
			need_lock = true;
	}
	if (ok) {
		atomic_fetch_add(&p->pushed, ok);
		atomic_fetch_add(&p->pushed_bytes, bytes);
	}
	if (bad)
		atomic_fetch_add(&p->failed, bad);
	if (cb) {
		for (size_t i = 0; i < n; i++) {
			const rd_kafka_message_t *m = ms[i];
			const pmsg *pm = opaque_pmsg(m->_private);
			sl_delivery d = {
			    .err = errs[i],
			    .reason = dr_reason(m),
			    .partition = m->partition,
			    /* librdkafka reports RD_KAFKA_OFFSET_INVALID with acks=0. */
			    .offset = errs[i] || m->offset < 0 ? -1 : m->offset,
			    .latency_us = msg_latency(m),
			    .msg_opaque = pm ? pm->user : NULL,
			};
			cb(&d, user);
		}
	}
	if (!need_lock)
		return;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < n; i++) {
		const rd_kafka_message_t *m = ms[i];
		pmsg *pm = opaque_pmsg(m->_private);
		if (pm && pm->w) {
			pm->w->err = errs[i];
			snprintf(pm->w->reason, sizeof pm->w->reason, "push to %.249s: %s",
			         p->topic, dr_reason(m));
			pm->w->done = true;
		} else if (errs[i] && !p->first_err) {
			p->first_err = errs[i];
			snprintf(p->first_reason, sizeof p->first_reason,
			         "push to %.249s partition %d: %s", p->topic, (int)m->partition,
			         dr_reason(m));
		}
	}
	pthread_mutex_unlock(&p->mu);
}

static void on_delivery(sl_pusher *p, rd_kafka_event_t *ev)
{
	pthread_mutex_lock(&p->mu);
	sl_delivery_cb cb = p->cb;
	void *user = p->cb_user;
	pthread_mutex_unlock(&p->mu);

	const rd_kafka_message_t *ms[DR_CHUNK];
	pmsg *head = NULL, *tail = NULL;
	size_t n;
	while ((n = rd_kafka_event_message_array(ev, ms, DR_CHUNK)) > 0) {
		on_delivery_chunk(p, ms, n, cb, user);
		for (size_t i = 0; i < n; i++) {
			pmsg *pm = opaque_pmsg(ms[i]->_private);
			if (!pm)
				continue;
			pm->next = head;
			head = pm;
			if (!tail)
				tail = pm;
		}
	}
	if (head)
		pmsg_put_chain(p, head, tail);
}

/* Destroys the parked events (any thread); true if there were some. */
static bool grave_drain(sl_pusher *p)
{
	if (!atomic_load_explicit(&p->ngrave, memory_order_relaxed))
		return false;
	rd_kafka_event_t *evs[GRAVE_MAX];
	pthread_mutex_lock(&p->grave_mu);
	int n = atomic_load_explicit(&p->ngrave, memory_order_relaxed);
	memcpy(evs, p->grave, (size_t)n * sizeof evs[0]);
	atomic_store_explicit(&p->ngrave, 0, memory_order_relaxed);
	pthread_mutex_unlock(&p->grave_mu);
	for (int i = 0; i < n; i++)
		rd_kafka_event_destroy(evs[i]);
	return n > 0;
}

/* Parks a served report event for a pushing thread to destroy, or
 * destroys it here while a flush runs or the park is full. */
static void grave_park(sl_pusher *p, rd_kafka_event_t *ev)
{
	pthread_mutex_lock(&p->grave_mu);
	int n = atomic_load_explicit(&p->ngrave, memory_order_relaxed);
	if (!p->flushing && n < GRAVE_MAX) {
		p->grave[n] = ev;
		atomic_store_explicit(&p->ngrave, n + 1, memory_order_relaxed);
		ev = NULL;
	}
	pthread_mutex_unlock(&p->grave_mu);
	if (ev)
		rd_kafka_event_destroy(ev);
}

/* A flush starts (+1) or ends (-1); a start destroys what is parked. */
static void grave_flushing(sl_pusher *p, int delta)
{
	pthread_mutex_lock(&p->grave_mu);
	p->flushing += delta;
	pthread_mutex_unlock(&p->grave_mu);
	if (delta > 0)
		grave_drain(p);
}

static void on_event(sl_pusher *p, rd_kafka_event_t *ev)
{
	switch (rd_kafka_event_type(ev)) {
	case RD_KAFKA_EVENT_DR:
		on_delivery(p, ev);
		grave_park(p, ev);
		/* After parking: a push that saw a full queue and found nothing
		 * parked waits for this count to move. */
		pthread_mutex_lock(&p->mu);
		p->dr_batches++;
		pthread_mutex_unlock(&p->mu);
		pthread_cond_broadcast(&p->cond);
		return;
	case RD_KAFKA_EVENT_ERROR:
		/* Transient errors (a broker down) show in delivery reports if
		 * they last; a fatal one (the idempotent producer lost its
		 * guarantees) ends every later push, so flush must say so. */
		if (rd_kafka_event_error_is_fatal(ev)) {
			pthread_mutex_lock(&p->mu);
			if (!p->first_err) {
				p->first_err = SL_EREMOTE;
				snprintf(p->first_reason, sizeof p->first_reason,
				         "producer for %s failed: %s", p->topic,
				         rd_kafka_event_error_string(ev));
			}
			pthread_mutex_unlock(&p->mu);
			pthread_cond_broadcast(&p->cond);
		}
		break;
	default:
		break;
	}
	rd_kafka_event_destroy(ev);
}

static void *dr_main(void *arg)
{
	sl_pusher *p = arg;
	while (!atomic_load(&p->stop)) {
		rd_kafka_event_t *ev = rd_kafka_queue_poll(p->mainq, 200);
		if (ev)
			on_event(p, ev);
		else
			grave_drain(p); /* nobody pushed for a while */
	}
	return NULL;
}

/* librdkafka's partitioner callback: runs on a pushing thread or on
 * librdkafka's main thread, for messages pushed with RD_KAFKA_PARTITION_UA. */
static int32_t partition_cb(const rd_kafka_topic_t *rkt, const void *key, size_t key_len,
                            int32_t nparts, void *rkt_opaque, void *msg_opaque)
{
	(void)rkt;
	sl_pusher *p = rkt_opaque;
	return lib_bal_choose(p->bal, key, key_len, msg_opaque ? opaque_bytes(msg_opaque) : key_len,
	                      nparts);
}

/* ---- construction ---- */

static int set_producer_conf(rd_kafka_conf_t *rc, const sl_conf *c, bool sync)
{
	char v[32];
	int64_t chunk = lib_conf_int(c, "chunk.size");
	int64_t maxmsg = chunk < 1000000 ? 1000000 : chunk;
	int64_t nmsgs = chunk / 8 + 1; /* a record takes at least ~8 bytes */
	nmsgs = nmsgs < 10000 ? 10000 : nmsgs > 1000000 ? 1000000 : nmsgs;
	int rc_ = 0;
	snprintf(v, sizeof v, "%lld", (long long)chunk);
	rc_ = rc_ ? rc_ : lib_rdk_set(rc, "batch.size", v);
	snprintf(v, sizeof v, "%lld", (long long)maxmsg);
	rc_ = rc_ ? rc_ : lib_rdk_set(rc, "message.max.bytes", v);
	snprintf(v, sizeof v, "%lld", (long long)nmsgs);
	rc_ = rc_ ? rc_ : lib_rdk_set(rc, "batch.num.messages", v);
	snprintf(v, sizeof v, "%lld", (long long)(nmsgs * 2 > 100000 ? nmsgs * 2 : 100000));
	rc_ = rc_ ? rc_ : lib_rdk_set(rc, "queue.buffering.max.messages", v);
	snprintf(v, sizeof v, "%lld", sync ? 0LL : (long long)lib_conf_int(c, "flush.interval"));
	rc_ = rc_ ? rc_ : lib_rdk_set(rc, "linger.ms", v);
	rc_ = rc_ ? rc_ : lib_rdk_set(rc, "sticky.partitioning.linger.ms", "0");
	rc_ = rc_ ? rc_ : lib_rdk_set(rc, "compression.codec", lib_conf_str(c, "compression"));
	rc_ = rc_ ? rc_
	          : lib_rdk_set(rc, "allow.auto.create.topics",
	                        lib_conf_bool(c, "auto.create") ? "true" : "false");
	if (lib_conf_int(c, "acks") == -1)
		rc_ = rc_ ? rc_ : lib_rdk_set(rc, "enable.idempotence", "true");
	return rc_;
}

static void pusher_free(sl_pusher *p)
{
	grave_drain(p);
	if (p->mainq)
		rd_kafka_queue_destroy(p->mainq);
	if (p->rkt)
		rd_kafka_topic_destroy(p->rkt);
	if (p->rk)
		rd_kafka_destroy(p->rk);
	lib_bal_free(p->bal);
	while (p->slabs) {
		pslab *next = p->slabs->next;
		free(p->slabs);
		p->slabs = next;
	}
	pthread_mutex_destroy(&p->pool_mu);
	pthread_mutex_destroy(&p->grave_mu);
	pthread_mutex_destroy(&p->check_mu);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cond);
	free(p);
}

sl_pusher *sl_pusher_new(const sl_conf *c)
{
	if (!c) {
		lib_err(SL_EINVAL, "sl_pusher_new: NULL conf");
		return NULL;
	}
	char topics[2][256];
	int ntopics = lib_conf_list(c, "topic", topics, 2);
	if (ntopics != 1) {
		lib_err(SL_ECONF, "topic: a pusher needs exactly one topic, got %s",
		        ntopics ? "several" : "none");
		return NULL;
	}
	int kind = lib_bal_kind_parse(lib_conf_str(c, "balancer"));
	if (kind < 0) {
		lib_err(SL_ECONF, "balancer: unknown balancer \"%s\"", lib_conf_str(c, "balancer"));
		return NULL;
	}
	sl_pusher *p = calloc(1, sizeof *p);
	if (!p) {
		lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->check_mu, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->pool_mu, NULL);
	pthread_mutex_init(&p->grave_mu, NULL);
	atomic_init(&p->pool_back, NULL);
	atomic_init(&p->ngrave, 0);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(p->topic, sizeof p->topic, "%s", topics[0]);
	p->sync = lib_conf_bool(c, "sync");
	p->auto_create = lib_conf_bool(c, "auto.create");
	p->manual = kind == LIB_BAL_MANUAL;
	p->partition = (int32_t)lib_conf_int(c, "partition");
	p->bal = lib_bal_new((lib_bal_kind)kind, p->partition,
	                     (uint64_t)now_us() ^ (uint64_t)(uintptr_t)p);
	if (!p->bal) {
		lib_err(SL_ENOMEM, "out of memory");
		goto fail;
	}

	rd_kafka_conf_t *rc = lib_rdk_conf(c);
	if (!rc)
		goto fail;
	if (set_producer_conf(rc, c, p->sync)) {
		rd_kafka_conf_destroy(rc);
		goto fail;
	}
	rd_kafka_conf_set_events(rc, RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
	char why[512];
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rc, why, sizeof why);
	if (!p->rk) {
		rd_kafka_conf_destroy(rc);
		lib_err(SL_ECONF, "librdkafka producer: %s", why);
		goto fail;
	}

	/* acks is a topic property: an explicit topic conf does not inherit
	 * what the global conf would pass to the default one. */
	rd_kafka_topic_conf_t *tc = rd_kafka_topic_conf_new();
	if (!tc) {
		lib_err(SL_ENOMEM, "out of memory");
		goto fail;
	}
	char why2[256];
	const char *acks = lib_conf_int(c, "acks") == -1 ? "-1" : lib_conf_str(c, "acks");
	if (rd_kafka_topic_conf_set(tc, "acks", acks, why2, sizeof why2) != RD_KAFKA_CONF_OK) {
		rd_kafka_topic_conf_destroy(tc);
		lib_err(SL_ECONF, "acks: %s", why2);
		goto fail;
	}
	rd_kafka_topic_conf_set_partitioner_cb(tc, partition_cb);
	rd_kafka_topic_conf_set_opaque(tc, p);
	/* rd_kafka_topic_new takes tc, also when it fails. */
	p->rkt = rd_kafka_topic_new(p->rk, p->topic, tc);
	if (!p->rkt) {
		rd_kafka_resp_err_t e = rd_kafka_last_error();
		lib_err(lib_rdk_code(e), "topic \"%s\": %s", p->topic, rd_kafka_err2str(e));
		goto fail;
	}
	p->mainq = rd_kafka_queue_get_main(p->rk);
	if (!p->mainq) {
		lib_err(SL_ENOMEM, "out of memory");
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, dr_main, p) != 0) {
		lib_err(SL_ENOMEM, "cannot start the delivery-report thread");
		goto fail;
	}
	p->thread_started = true;
	return p;

fail:
	pusher_free(p);
	return NULL;
}

void sl_pusher_set_delivery_cb(sl_pusher *p, sl_delivery_cb cb, void *user)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->cb = cb;
	p->cb_user = user;
	pthread_mutex_unlock(&p->mu);
}

/* ---- pushing ---- */

/* With auto.create=false, librdkafka would keep messages for a missing
 * topic queued until topic.metadata.propagation.max.ms and only then fail
 * them; asking once up front turns that into an immediate SL_ENOENT.
 * A failed check is retried by the next push. */
static int check_topic(sl_pusher *p)
{
	if (p->auto_create || atomic_load(&p->topic_checked))
		return 0;
	pthread_mutex_lock(&p->check_mu);
	int rc = 0;
	if (atomic_load(&p->topic_checked))
		goto out;
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, p->rkt, &md, METADATA_TIMEOUT_MS);
	if (e) {
		rc = lib_err(lib_rdk_code(e), "topic %s: no metadata from the brokers: %s",
		             p->topic, rd_kafka_err2str(e));
		goto out;
	}
	rd_kafka_resp_err_t terr = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
	int nparts = 0;
	for (int i = 0; i < md->topic_cnt; i++) {
		if (strcmp(md->topics[i].topic, p->topic) == 0) {
			terr = md->topics[i].err;
			nparts = md->topics[i].partition_cnt;
		}
	}
	rd_kafka_metadata_destroy(md);
	if (terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
	    (terr == RD_KAFKA_RESP_ERR_NO_ERROR && nparts == 0)) {
		rc = lib_err(SL_ENOENT,
		             "topic %s does not exist (auto.create is false: create it first "
		             "or set auto.create=true)",
		             p->topic);
		goto out;
	}
	if (terr) {
		rc = lib_err(lib_rdk_code(terr), "topic %s: %s", p->topic, rd_kafka_err2str(terr));
		goto out;
	}
	atomic_store(&p->topic_checked, true);
out:
	pthread_mutex_unlock(&p->check_mu);
	return rc;
}

static uint64_t dr_batches(sl_pusher *p)
{
	pthread_mutex_lock(&p->mu);
	uint64_t n = p->dr_batches;
	pthread_mutex_unlock(&p->mu);
	return n;
}

/* Waits until the pusher thread served another batch of delivery reports
 * since it had served seen (or 100 ms), so a push meeting a full queue
 * retries once there is room. */
static void wait_progress(sl_pusher *p, uint64_t seen)
{
	struct timespec ts;
	lib_deadline_after(&ts, 100);
	pthread_mutex_lock(&p->mu);
	while (p->dr_batches == seen)
		if (pthread_cond_timedwait(&p->cond, &p->mu, &ts))
			break;
	pthread_mutex_unlock(&p->mu);
}

/* A push that fails before librdkafka has the message: counted as failed
 * (a failure after it is counted by its delivery report). */
static int refuse(sl_pusher *p, int rc)
{
	atomic_fetch_add(&p->failed, 1);
	return rc;
}

static int push(sl_pusher *p, const sl_out_message *m, void *msg_opaque)
{
	if (!p)
		return lib_err(SL_EINVAL, "sl_push: NULL pusher");
	if (!m)
		return refuse(p, lib_err(SL_EINVAL, "sl_push: NULL message"));
	if ((!m->key && m->key_len) || (!m->value && m->value_len) ||
	    (!m->headers && m->header_count) || m->partition < -1)
		return refuse(p, lib_err(SL_EINVAL, "sl_push: inconsistent message (NULL data "
		                                    "with a length, or a partition below -1)"));
	/* Only a push that may wait reads the clock (see the top). */
	int64_t t0 = !p->auto_create && !atomic_load(&p->topic_checked) ? now_us() : 0;
	int rc = check_topic(p);
	if (rc)
		return refuse(p, rc);
	grave_drain(p); /* before librdkafka allocates: freed memory is reused */

	rd_kafka_headers_t *hdrs = NULL;
	if (m->header_count) {
		hdrs = rd_kafka_headers_new(m->header_count);
		if (!hdrs)
			return refuse(p, lib_err(SL_ENOMEM, "out of memory"));
		for (size_t i = 0; i < m->header_count; i++) {
			const sl_header *h = &m->headers[i];
			if (!h->key) {
				rd_kafka_headers_destroy(hdrs);
				return refuse(
				    p, lib_err(SL_EINVAL, "sl_push: header %zu has a NULL key", i));
			}
			rd_kafka_header_add(hdrs, h->key, -1, h->value,
			                    h->value ? (ssize_t)h->value_len : 0);
		}
	}
	size_t bytes = m->key_len + m->value_len;
	waiter w; /* only a sync push uses it (not zeroed for the others) */
	pmsg *pm = NULL;
	void *opaque;
	bool tagged = !p->sync && !msg_opaque && TAG_OK(bytes);
	if (tagged) {
		opaque = tag_make(t0 ? now_us() - t0 : 0, bytes);
	} else {
		if (!(pm = pmsg_get(p))) {
			if (hdrs)
				rd_kafka_headers_destroy(hdrs);
			return refuse(p, lib_err(SL_ENOMEM, "out of memory"));
		}
		if (p->sync) {
			w.done = false;
			w.err = 0;
			w.reason[0] = '\0';
		}
		pm->pre_us = t0 ? now_us() - t0 : 0;
		pm->user = msg_opaque;
		pm->bytes = bytes;
		pm->w = p->sync ? &w : NULL;
		opaque = pm;
	}
	int32_t part = m->partition >= 0 ? m->partition
	               : p->manual       ? p->partition
	                                 : RD_KAFKA_PARTITION_UA;

	rd_kafka_resp_err_t e;
	for (;;) {
		/* Both the key and the value are copied (F_COPY); the headers
		 * become librdkafka's only when producev succeeds. */
		e = rd_kafka_producev(
		    p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_PARTITION(part),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(m->key, m->key_len),
		    RD_KAFKA_V_VALUE((void *)m->value, m->value_len), RD_KAFKA_V_HEADERS(hdrs),
		    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		/* kq never drops a message: block until reports make room.
		 * Parked reports hold room too; the count is read before
		 * destroying them so a report parked just after is not
		 * missed. */
		if (!t0)
			t0 = now_us();
		uint64_t seen = dr_batches(p);
		if (!grave_drain(p))
			wait_progress(p, seen);
		int64_t pre = now_us() - t0;
		if (tagged)
			opaque = tag_make(pre, bytes);
		else
			pm->pre_us = pre;
	}
	if (e) {
		if (hdrs)
			rd_kafka_headers_destroy(hdrs);
		if (pm)
			pmsg_put(p, pm);
		atomic_fetch_add(&p->failed, 1);
		if (e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
			return lib_err(SL_ENOENT, "push to %s: partition %d does not exist",
			               p->topic, (int)part);
		return lib_err(lib_rdk_code(e), "push to %.249s: %s", p->topic,
		               rd_kafka_err2str(e));
	}
	if (!p->sync)
		return 0;
	pthread_mutex_lock(&p->mu);
	while (!w.done)
		pthread_cond_wait(&p->cond, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return w.err ? lib_err(w.err, "%s", w.reason) : 0;
}

int sl_push(sl_pusher *p, const void *value, size_t len)
{
	sl_out_message m = {.value = value, .value_len = len, .partition = -1};
	return push(p, &m, NULL);
}

int sl_push_key(sl_pusher *p, const void *key, size_t key_len, const void *value, size_t len)
{
	sl_out_message m = {
	    .key = key, .key_len = key_len, .value = value, .value_len = len, .partition = -1};
	return push(p, &m, NULL);
}

int sl_push_msg(sl_pusher *p, const sl_out_message *m)
{
	return push(p, m, NULL);
}

int sl_push_msg_opaque(sl_pusher *p, const sl_out_message *m, void *msg_opaque)
{
	return push(p, m, msg_opaque);
}

/* ---- flush, close, metrics ---- */

int sl_pusher_flush(sl_pusher *p, int timeout_ms)
{
	if (!p)
		return lib_err(SL_EINVAL, "sl_pusher_flush: NULL pusher");
	grave_flushing(p, 1);
	rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms < 0 ? -1 : timeout_ms);
	/* Counted while nothing is parked. */
	int left = e == RD_KAFKA_RESP_ERR__TIMED_OUT ? rd_kafka_outq_len(p->rk) : 0;
	grave_flushing(p, -1);
	if (e == RD_KAFKA_RESP_ERR__TIMED_OUT)
		return lib_err(SL_ETIMEDOUT,
		               "flush %s: %d messages still unacknowledged after %d ms", p->topic,
		               left, timeout_ms);
	pthread_mutex_lock(&p->mu);
	int err = p->first_err;
	char reason[sizeof p->first_reason];
	memcpy(reason, p->first_reason, sizeof reason);
	p->first_err = 0;
	p->first_reason[0] = '\0';
	pthread_mutex_unlock(&p->mu);
	if (err)
		return lib_err(err, "%s", reason);
	if (e)
		return lib_err(lib_rdk_code(e), "flush %s: %s", p->topic, rd_kafka_err2str(e));
	return 0;
}

int sl_pusher_close(sl_pusher *p)
{
	if (!p)
		return 0;
	int rc = sl_pusher_flush(p, CLOSE_FLUSH_MS);
	char msg[512];
	snprintf(msg, sizeof msg, "%s", rc ? sl_last_error() : "");
	if (rc == SL_ETIMEDOUT) {
		/* Give up on what is left; the purged messages get delivery
		 * reports (failed), which return their opaques. */
		rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		grave_flushing(p, 1);
		rd_kafka_flush(p->rk, PURGE_FLUSH_MS);
		grave_flushing(p, -1);
	}
	if (p->thread_started) {
		atomic_store(&p->stop, true);
		rd_kafka_queue_yield(p->mainq);
		pthread_join(p->thread, NULL);
	}
	/* Reports that arrived after the thread stopped. */
	rd_kafka_event_t *ev;
	while ((ev = rd_kafka_queue_poll(p->mainq, 0)))
		on_event(p, ev);
	pusher_free(p);
	if (rc)
		lib_err(rc, "%s", msg);
	return rc;
}

void sl_pusher_metrics(const sl_pusher *p, sl_metrics *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof *out);
	if (!p)
		return;
	out->pushed = atomic_load(&p->pushed);
	out->push_failed = atomic_load(&p->failed);
	out->pushed_bytes = atomic_load(&p->pushed_bytes);
}

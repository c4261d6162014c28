/*
 * queue_priv.h — what the two halves of sl_queue share (internal):
 * queue.c (the API, the Kafka clients, start and stop) and queue_run.c
 * (the fetcher, processor and commit threads and the librdkafka
 * callbacks). The threads, invariants and lock order are described at the
 * top of queue_run.c.
 */
#ifndef SL_LIB_QUEUE_PRIV_H
#define SL_LIB_QUEUE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "queue_commit.h"
#include "queue_dlq.h"
#include "rdk.h"

#define MAX_TOPICS 64
#define FETCH_POLL_MS 100
#define META_TIMEOUT_MS 10000
#define COMMITTED_TIMEOUT_MS 10000
#define DLQ_MIN_BACKOFF_MS 100
/* A fetcher takes up to this many messages per turn on its conn (polling
 * with timeout 0 after the first) and records them under one lock. */
#define FETCH_BATCH 256
/* A processor takes up to this many queued messages per lock, and only as
 * many as its handler calls are expected to finish in PROC_BUDGET_NS, so a
 * slow handler takes one at a time, as before batching. */
#define PROC_BATCH 256
#define PROC_BUDGET_NS 1000000

typedef struct qpart {
	char *topic;
	int32_t partition;
	int conn;
	bool assigned;
	/* Revoke in progress: abandon retries, drop taken but unstarted
	 * messages (see drop_ok in queue_run.c). Written under q->mu, read by
	 * processors without it. */
	atomic_bool revoking;
	qc_tracker tr;
	int64_t max_done;  /* highest offset marked handled since assignment, -1 */
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
	/* Bumped by every rebalance callback; read and written only by the
	 * thread holding poll_lock (the callbacks run inside its poll). */
	unsigned gen;
} qconn;

/* One processor thread: its counters and the batch it took.
 *
 * Counters: only the processor writes them (relaxed stores, no contended
 * read-modify-write); sl_queue_metrics sums them.
 *
 * Batch: items, offs, n and applied change under q->mu only. The
 * processor finishes items in order without the lock: it sets done[i]
 * and then publishes ndone = i + 1. Whoever needs a commit point (the
 * processor at the batch's end, commit_list, sl_queue_lag) first moves
 * the published marks [applied, ndone) into the trackers under q->mu
 * (qrun_fold), so a handled message becomes committable at once, not at
 * the batch's end, without a lock per message. Items [ndone, n) are in
 * flight (being handled, or taken and not started). */
typedef struct qproc {
	sl_queue *q;
	atomic_uint_fast64_t handled, handled_bytes;
	size_t n, applied;
	atomic_size_t ndone;
	int64_t avg_ns; /* handler time per message, smoothed; the processor's */
	qitem batch[PROC_BATCH];
	int64_t offs[PROC_BATCH];
	bool done[PROC_BATCH];
} qproc;

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
	qproc *pstats; /* nprocs entries, the processors' thread arguments */
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
	/* Threads blocked on items, space and idle (q->mu held): wake-ups are
	 * sent only when someone waits. */
	int items_waiting, space_waiting;
	/* revoke_all calls waiting for processors (written under q->mu, read
	 * by processors without it after each message). */
	atomic_int idle_waiting;

	/* handled and handled_bytes live in pstats; these two are rare. */
	atomic_uint_fast64_t failed, dead_lettered;
};

/* The error callback, if any, with a formatted reason. Any thread. */
void qrun_report(sl_queue *q, const sl_message *m, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Moves the processors' published handled marks into the trackers;
 * q->mu held. */
void qrun_fold(sl_queue *q);
/* Drops the ring's messages of revoking partitions, or all; q->mu held. */
void qrun_ring_drop(sl_queue *q, bool all);
/* Commits conn's in-order points (sync: waits for the broker). */
void qrun_commit_conn(sl_queue *q, qconn *c, bool sync, bool revoking_only);
/* The librdkafka offset a partition without a commit starts at. */
int64_t qrun_start_offset(const sl_queue *q);
/* Assigns l (offsets set) to c and resets the partitions' trackers;
 * committed[i] is partition i's committed offset (NULL: unknown). */
void qrun_assign(sl_queue *q, qconn *c, rd_kafka_topic_partition_list_t *l,
                 const int64_t *committed);

/* librdkafka callbacks; opaque is the qconn. */
void qrun_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l,
                       void *opaque);
void qrun_on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l,
                    void *opaque);
void qrun_on_client_error(rd_kafka_t *rk, int err, const char *reason, void *opaque);

/* Thread bodies: the committer takes the queue, a processor its qproc, a
 * fetcher its qconn. */
void *qrun_committer_main(void *q);
void *qrun_fetcher_main(void *c);
void *qrun_processor_main(void *q);

#endif

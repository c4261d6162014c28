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

/* The error callback, if any, with a formatted reason. Any thread. */
void qrun_report(sl_queue *q, const sl_message *m, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
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

/* Thread bodies: the committer and processors take the queue, a fetcher
 * its qconn. */
void *qrun_committer_main(void *q);
void *qrun_fetcher_main(void *c);
void *qrun_processor_main(void *q);

#endif

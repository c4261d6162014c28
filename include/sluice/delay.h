/*
 * sluice/delay.h — delayed and scheduled jobs run once (go-queue's dq).
 *
 * Keys from sl_conf: beanstalks (endpoint/tube list), redis,
 * redis.password, dedupe.ttl.
 *
 * Producer: each job goes to every configured beanstalkd node (sluiced or
 * beanstalkd), framed as dq frames it ("<unix-nanos of the due time>/" +
 * body) so dq consumers and libsluice consumers read each other's jobs.
 * It succeeds when at least min(2, nodes) nodes accepted it; otherwise the
 * accepted copies are deleted again and the call fails. The returned id
 * names every copy ("endpoint/tube/jobid" joined with ","), and
 * sl_revoke() deletes them all.
 *
 * Consumer: one thread per node reserves from its tube, deletes the job,
 * and runs the handler once per job across nodes: a job written to two
 * nodes is de-duplicated through a SET key NX EX dedupe.ttl on the redis
 * node (any RESP server, sluiced included). Without redis, each copy runs.
 *
 * Thread-safety: producer calls from any thread; consumer start/stop from
 * one controlling thread; the handler runs on node threads, concurrently.
 */
#ifndef SLUICE_DELAY_H
#define SLUICE_DELAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_dq_producer sl_dq_producer;
typedef struct sl_dq_consumer sl_dq_consumer;

/* Returns an owned producer (free with sl_dq_producer_free) or NULL.
 * Connects to every node now; fails if fewer than min(2, nodes) answer. */
SL_API sl_dq_producer *sl_dq_producer_new(const sl_conf *conf);
SL_API void sl_dq_producer_free(sl_dq_producer *p);

/* Schedules body (borrowed) to run after delay_ms (rounded up to whole
 * seconds, as beanstalkd counts) / at when_ms (Unix milliseconds; a time
 * in the past is SL_EINVAL). The job id is written to id (NUL-terminated,
 * truncated to idlen, which 1024 always fits for two nodes). */
SL_API int sl_delay(sl_dq_producer *p, const void *body, size_t len, int64_t delay_ms,
		    char *id, size_t idlen);
SL_API int sl_at(sl_dq_producer *p, const void *body, size_t len, int64_t when_ms, char *id,
		 size_t idlen);
/* Deletes every copy of a job not yet taken. SL_ENOENT if none was left. */
SL_API int sl_revoke(sl_dq_producer *p, const char *id);

/* 0 = done. The job was already deleted from its node before the call
 * (dq's at-most-once per copy); a non-zero return is reported to the error
 * callback only. body is a view valid during the call. */
typedef int (*sl_job_handler)(const void *body, size_t len, void *user);
typedef void (*sl_job_error_cb)(int err, const char *reason, void *user);

SL_API sl_dq_consumer *sl_dq_consumer_new(const sl_conf *conf, sl_job_handler handler,
					  void *user);
SL_API void sl_dq_consumer_set_error_cb(sl_dq_consumer *c, sl_job_error_cb cb, void *user);
SL_API int sl_dq_consumer_start(sl_dq_consumer *c);
/* Graceful: a running handler finishes; returns when the threads ended. */
SL_API int sl_dq_consumer_stop(sl_dq_consumer *c);
SL_API void sl_dq_consumer_free(sl_dq_consumer *c);
SL_API void sl_dq_consumer_metrics(const sl_dq_consumer *c, sl_metrics *out);

#ifdef __cplusplus
}
#endif

#endif

/*
 * sluice/delay.h — delayed and scheduled jobs run once (go-queue's dq).
 *
 * Keys from sl_conf: beanstalks ("host:port/tube" list; tube "default"
 * when there is no '/'; at most 16 nodes, none listed twice), redis
 * ("host:port", "" = no de-duplication), redis.password (AUTH),
 * dedupe.ttl (seconds a job is remembered).
 *
 * Producer: each job goes to every configured beanstalkd node (sluiced or
 * beanstalkd), framed as dq frames it ("<unix-nanos of the due time>/" +
 * body, put with pri 2 and TTR 5 s) so dq consumers and libsluice
 * consumers read each other's jobs. It succeeds when at least
 * min(2, nodes) nodes accepted it; otherwise the accepted copies are
 * deleted again and the call fails with the first node's error (the
 * message says how many nodes accepted). The returned id names every copy
 * ("endpoint/tube/jobid" joined with ","), and sl_revoke() deletes them
 * all. A node whose connection failed is reconnected on its next use (one
 * retry per call, none within 1 s of a failed connect); each exchange
 * waits at most 5 s.
 *
 * Consumer: one thread per node watches its tube (and ignores "default"
 * unless that is the tube — dq keeps "default" watched), reserves with a
 * 1 s timeout, deletes the job, and runs the handler once per job across
 * nodes: a job written to two nodes is de-duplicated through
 * SET sluice:dq:<md5 of the framed body> 1 NX EX dedupe.ttl on the redis
 * node (any RESP server, sluiced included). Without redis, each copy runs.
 * A Redis failure skips that copy (as dq does) and is reported. A body
 * without dq framing (exactly 19 digits and '/') was put by another tool:
 * it is handed over whole and not de-duplicated. A framed job due more
 * than 30 minutes ago is dropped and reported with SL_ERANGE, as dq drops
 * it. Lost connections are reported and retried with backoff (100 ms
 * doubling to 5 s).
 *
 * Thread-safety: producer calls from any thread; consumer start/stop from
 * one controlling thread; the handler and the error callback run on node
 * threads, concurrently.
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
 * Connects to every node now; fails if fewer than min(2, nodes) answer
 * (SL_ECONF for a bad node list, in sl_last_error()). */
SL_API sl_dq_producer *sl_dq_producer_new(const sl_conf *conf);
SL_API void sl_dq_producer_free(sl_dq_producer *p);

/* Schedules body (borrowed) to run after delay_ms (rounded up to whole
 * seconds, as beanstalkd counts, so a job never runs early; dq truncates)
 * / at when_ms (Unix milliseconds; a time in the past is SL_EINVAL, a
 * negative delay too). The job id is written to id (NUL-terminated,
 * truncated to idlen, which 1024 always fits for two nodes; id may be
 * NULL). Bodies are limited by the nodes (beanstalkd: 65535 bytes
 * including the 20-byte framing; SL_ETOOBIG beyond). */
SL_API int sl_delay(sl_dq_producer *p, const void *body, size_t len, int64_t delay_ms, char *id,
                    size_t idlen);
SL_API int sl_at(sl_dq_producer *p, const void *body, size_t len, int64_t when_ms, char *id,
                 size_t idlen);
/* Deletes every copy of a job not yet taken: 0 if at least one copy was
 * deleted. SL_ENOENT if none was left (already run or revoked, or no
 * configured node matches), SL_EINVAL for a malformed id, the node's
 * error if a node holding a copy could not be asked. */
SL_API int sl_revoke(sl_dq_producer *p, const char *id);

/* 0 = done. The job was already deleted from its node before the call
 * (dq's at-most-once per copy); a non-zero return is counted as failed
 * and reported to the error callback only. body is a view valid during
 * the call, followed by a NUL byte not counted in len. */
typedef int (*sl_job_handler)(const void *body, size_t len, void *user);
typedef void (*sl_job_error_cb)(int err, const char *reason, void *user);

SL_API sl_dq_consumer *sl_dq_consumer_new(const sl_conf *conf, sl_job_handler handler, void *user);
/* Set before start (ignored while running). err is an SL_E* code, or the
 * handler's return value; reason (a view valid during the call) names the
 * node. */
SL_API void sl_dq_consumer_set_error_cb(sl_dq_consumer *c, sl_job_error_cb cb, void *user);
/* Starts the node threads; connecting happens on them, so a node that is
 * down is reported and retried, not a start failure. SL_ESTATE if running.
 * A stopped consumer may be started again. */
SL_API int sl_dq_consumer_start(sl_dq_consumer *c);
/* Graceful: a running handler finishes; returns when the threads ended:
 * normally within about 1 s plus the handler's time, at most about 6 s
 * while a node hangs without answering. */
SL_API int sl_dq_consumer_stop(sl_dq_consumer *c);
/* Stops first if running. */
SL_API void sl_dq_consumer_free(sl_dq_consumer *c);
/* handled, failed (handler errors) and handled_bytes (payload bytes);
 * the other fields are 0. */
SL_API void sl_dq_consumer_metrics(const sl_dq_consumer *c, sl_metrics *out);

#ifdef __cplusplus
}
#endif

#endif

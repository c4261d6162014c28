/*
 * sluice/queue.h — a handler-driven Kafka consumer (go-queue kq's Queue).
 *
 * Keys from sl_conf: brokers, group, topic (one or more), offset, conns,
 * consumers, processors, min.bytes, max.bytes, max.wait, queue.capacity,
 * commit.interval, max.attempts, retry.backoff, dead.letter.topic,
 * username, password, client.id.
 *
 * Threads: conns Kafka clients join the group; consumers fetcher threads
 * poll them and hand messages to a bounded queue (queue.capacity);
 * processors threads call the handler. A partition's messages may be
 * handled in parallel, but commits are in order per partition: an offset
 * is committed only when it and every earlier offset of its partition were
 * handled, so a crash re-delivers, never skips.
 *
 * A handler returning non-zero is retried after retry.backoff ms, up to
 * max.attempts calls; each failure goes to the error callback. After the
 * last attempt the message is produced to dead.letter.topic (with headers
 * sluice.topic, sluice.partition, sluice.offset, sluice.error) when one is
 * set, and counted as handled either way so the partition moves on. With a
 * dead-letter topic it counts as handled only once the broker acknowledged
 * the copy; a failed produce is reported and retried, never dropped.
 *
 * Rebalances use the eager protocol: on revoke the partition's queued
 * messages are dropped, those being handled finish, the in-order point is
 * committed synchronously, and only then is the partition given up.
 * Processors take queued messages in small batches (as many as their
 * handler calls finish in about 1 ms, one at a time for slow handlers); a
 * taken message not started yet counts as queued, except that one below a
 * message of its partition already handled or started is handled too, so
 * neither a revoke nor a stop leaves a gap below handled messages.
 * A partition without a committed offset starts at offset. A start outside
 * the log (a numeric offset, or a commit whose records were deleted)
 * restarts at the log's first offset, or at its end with offset = last.
 *
 * Without a group (group = ""), the queue reads the given topic(s) from
 * offset (first|last|N) on every partition, or only the partition set with
 * sl_queue_set_partition(), and commits nothing: the console consumer.
 *
 * Thread-safety: new/set/start/stop/free from one controlling thread;
 * metrics and lag from any thread. The handler runs on processor threads,
 * concurrently when processors > 1. The error callback runs on processor
 * threads for handler and dead-letter failures, and on fetcher or commit
 * threads (or the thread in sl_queue_stop) for fetch and commit errors: it
 * must be thread-safe.
 */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_queue sl_queue;

/* 0 = handled; anything else = failed (retried, then dead-lettered). */
typedef int (*sl_handler)(const sl_message *msg, void *user);
/* Told about every failed handler call (err = the handler's return value)
 * and every failure to commit or dead-letter (msg may then be NULL). */
typedef void (*sl_error_cb)(const sl_message *msg, int err, const char *reason, void *user);

/* Returns an owned queue (free with sl_queue_free) or NULL. conf borrowed. */
SL_API sl_queue *sl_queue_new(const sl_conf *conf, sl_handler handler, void *user);
SL_API void sl_queue_set_error_cb(sl_queue *q, sl_error_cb cb, void *user);
/* Without a group: read only this partition (-1 = all, the default). */
SL_API int sl_queue_set_partition(sl_queue *q, int32_t partition);

/* Sets a librdkafka property (for example session.timeout.ms,
 * heartbeat.interval.ms, ssl.*, message.timeout.ms) on every Kafka client
 * the queue creates: its consumers and its dead-letter producer (which
 * ignores consumer properties, and the consumers producer ones). Applied
 * after the ones derived from the conf, so it overrides them. Before
 * sl_queue_start only. SL_ECONF if librdkafka rejects name or value. */
SL_API int sl_queue_set_rdkafka(sl_queue *q, const char *name, const char *value);

/* Starts the threads; returns once the Kafka clients are created. */
SL_API int sl_queue_start(sl_queue *q);
/* Graceful stop: stops fetching, lets in-flight messages finish (queued
 * but unstarted ones are dropped, they will be re-delivered), commits,
 * leaves the group, joins the threads. Safe to call from a signal-handling
 * thread, not from a handler. */
SL_API int sl_queue_stop(sl_queue *q);
/* Asks for a stop without waiting (callable from a handler); sl_queue_stop
 * or sl_queue_free then waits. */
SL_API void sl_queue_request_stop(sl_queue *q);
SL_API void sl_queue_free(sl_queue *q);

SL_API void sl_queue_metrics(const sl_queue *q, sl_metrics *out);
/* Fills up to cap entries, returns how many partitions there are (which may
 * exceed cap) or a negative SL_E* code. */
SL_API int sl_queue_lag(sl_queue *q, sl_partition_lag *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif

/*
 * sluice/sluice.h — libsluice, the client library of sluice.
 *
 * What go-queue's kq and dq give Go services, for C programs:
 *
 *   sluice/conf.h    one configuration object, settable by key or from a
 *                    go-zero-style YAML file (KqConf / DqConf keys)
 *   sluice/pusher.h  batching Kafka producer with balancers (kq Pusher)
 *   sluice/queue.h   handler-driven Kafka consumer with fetcher and
 *                    processor threads, in-order commits, retries and a
 *                    dead-letter topic (kq Queue)
 *   sluice/delay.h   delayed and scheduled jobs over the beanstalkd
 *                    protocol on one or more nodes, run once (dq)
 *   sluice/jobs.h    a plain beanstalkd client (put, reserve, stats, kick)
 *   sluice/admin.h   topics and consumer groups: list, create, describe,
 *                    alter, delete, reset offsets, lag
 *
 * Everything Kafka goes through librdkafka, so a program built on libsluice
 * runs unchanged against an Apache Kafka cluster.
 *
 * Conventions, everywhere in the API:
 *   - Functions returning int return 0 on success or a negative SL_E* code
 *     (sluice/errors.h); constructors return NULL on failure. The text of
 *     the last failure in the calling thread is sl_last_error(). The library
 *     never prints and never aborts.
 *   - Every pointer parameter says whether it is borrowed (the default: the
 *     library copies what it keeps) or owned.
 *   - Handles are thread-safe unless their header says otherwise.
 */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SL_VERSION_STRING "0.1.0"

/* The message of the last failing libsluice call in this thread: a view
 * valid until the next libsluice call in this thread. "" if none. */
SL_API const char *sl_last_error(void);

/* One record header. Views: valid as long as the message that holds them. */
typedef struct sl_header {
	const char *key;   /* NUL-terminated */
	const void *value; /* may be NULL (a null header value) */
	size_t value_len;
} sl_header;

/* A consumed Kafka message, as handed to a handler. Every pointer is a
 * view valid only during the handler call. */
typedef struct sl_message {
	const char *topic;
	int32_t partition;
	int64_t offset;
	int64_t timestamp_ms; /* -1 if the record has none */
	const void *key;      /* NULL for a null key */
	size_t key_len;
	const void *value; /* NULL for a null value (tombstone) */
	size_t value_len;
	const sl_header *headers;
	size_t header_count;
	int attempt; /* 1 on the first delivery to the handler, 2 on the first retry… */
} sl_message;

/* Counters a caller can read at any time (sl_pusher_metrics,
 * sl_queue_metrics). Monotonic since the handle was created. */
typedef struct sl_metrics {
	uint64_t pushed;        /* messages acknowledged by the broker */
	uint64_t push_failed;   /* messages the broker or the client gave up on */
	uint64_t pushed_bytes;  /* key + value bytes of the pushed messages */
	uint64_t handled;       /* messages the handler accepted */
	uint64_t failed;        /* handler calls that returned an error */
	uint64_t dead_lettered; /* messages sent to the dead-letter topic */
	uint64_t handled_bytes; /* key + value bytes of the handled messages */
} sl_metrics;

/* Commit lag of one partition a queue consumes. */
typedef struct sl_partition_lag {
	char topic[250];
	int32_t partition;
	int64_t committed;      /* next offset to consume, as committed; -1 none */
	int64_t high_watermark; /* -1 if not known yet */
	int64_t lag;            /* high_watermark - committed, or -1 */
} sl_partition_lag;

#ifdef __cplusplus
}
#endif

#include "sluice/conf.h"
#include "sluice/pusher.h"
#include "sluice/queue.h"
#include "sluice/delay.h"
#include "sluice/jobs.h"
#include "sluice/admin.h"

#endif

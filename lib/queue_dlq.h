/*
 * queue_dlq.h — the queue's dead-letter producer (internal).
 *
 * One librdkafka producer per queue (acks=all). qdlq_send produces one
 * message and waits for its delivery report, so the caller counts a
 * message handled only once the dead-letter topic holds it. Called from
 * processor threads, concurrently: each waits for its own report while
 * polling the shared producer.
 */
#ifndef SL_LIB_QUEUE_DLQ_H
#define SL_LIB_QUEUE_DLQ_H

#include "rdk.h"

/* A librdkafka property given with sl_queue_set_rdkafka. */
typedef struct rdk_prop {
	char *name, *value;
} rdk_prop;

/* Returns an owned producer for conf's brokers with props applied last,
 * or NULL (sl_last_error). props borrowed. */
rd_kafka_t *qdlq_new(const sl_conf *conf, const rdk_prop *props, size_t nprops);

/* Produces msg (its key, value and headers, plus sluice.topic,
 * sluice.partition, sluice.offset and sluice.error = error) to topic and
 * waits for the delivery report. 0, or a negative SL_E* code with
 * sl_last_error() saying why. */
int qdlq_send(rd_kafka_t *rk, const char *topic, const sl_message *msg, const char *error);

#endif

/*
 * admin_priv.h — what admin.c (topics) and admin_group.c (consumer
 * groups) share: the handle and the round-trip helpers, so that each
 * operation is only its request object and its result. Internal.
 */
#ifndef SL_LIB_ADMIN_PRIV_H
#define SL_LIB_ADMIN_PRIV_H

#include "rdk.h"

struct sl_admin {
	rd_kafka_t *rk; /* a producer-type client used only for admin requests */
	int timeout_ms;
	char brokers[512]; /* for error messages */
};

/* strdup of s, "" for NULL; NULL only when out of memory. */
char *admin_strdup(const char *s);
/* Sets the last error for a librdkafka error during `what`, naming the
 * brokers when nobody answered; returns the SL_E* code. */
int admin_rdk_err(sl_admin *a, rd_kafka_resp_err_t err, const char *errstr, const char *what);
/* Sends one Admin API request of kind op and waits, within the handle's
 * timeout, for its result. req points at the one-element request array
 * the librdkafka call takes (rd_kafka_NewTopic_t ** for CreateTopics,
 * const char ** for DescribeConsumerGroups, ...; NULL for
 * ListConsumerGroups) and stays the caller's. On success *ev is the
 * result event, owned by the caller; otherwise NULL with the error set. */
int admin_request(sl_admin *a, rd_kafka_admin_op_t op, void *req, const char *what,
                  rd_kafka_event_t **ev);
/* admin_rdk_err for an rd_kafka_error_t (borrowed). */
int admin_error(sl_admin *a, const rd_kafka_error_t *err, const char *what);
/* All-topics metadata (never auto-creates); destroy with
 * rd_kafka_metadata_destroy. */
int admin_metadata(sl_admin *a, const struct rd_kafka_metadata **md);
/* The topic in md without error, or NULL. */
const rd_kafka_metadata_topic_t *admin_md_topic(const struct rd_kafka_metadata *md,
                                                const char *topic);
int admin_watermarks(sl_admin *a, const char *topic, int32_t partition, int64_t *lo, int64_t *hi);

#endif

/*
 * queue_dlq.c — the queue's dead-letter producer; see queue_dlq.h.
 *
 * Threads: qdlq_send runs on processor threads. Each call passes its own
 * wait record as the message opaque; whichever thread's rd_kafka_poll
 * serves the delivery report fills it in, and the caller polls until its
 * own record is filled. librdkafka delivers a report for every accepted
 * message within message.timeout.ms, so the wait is bounded.
 */
#include "queue_dlq.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef struct dlq_wait {
	atomic_int state; /* 0 waiting, 1 reported */
	rd_kafka_resp_err_t err;
} dlq_wait;

/* Runs on whichever thread polls the producer. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	dlq_wait *w = m->_private;
	if (!w)
		return;
	w->err = m->err;
	atomic_store_explicit(&w->state, 1, memory_order_release);
}

rd_kafka_t *qdlq_new(const sl_conf *conf, const rdk_prop *props, size_t nprops)
{
	rd_kafka_conf_t *rc = lib_rdk_conf(conf);
	if (!rc)
		return NULL;
	/* Bounded so a failing produce is reported (and retried) rather than
	 * waiting forever; linger 0 because every send waits for its report. */
	int r = lib_rdk_set(rc, "acks", "all") || lib_rdk_set(rc, "message.timeout.ms", "10000") ||
	        lib_rdk_set(rc, "linger.ms", "0");
	for (size_t i = 0; !r && i < nprops; i++)
		r = lib_rdk_set(rc, props[i].name, props[i].value);
	if (r) {
		rd_kafka_conf_destroy(rc);
		return NULL;
	}
	rd_kafka_conf_set_dr_msg_cb(rc, on_delivery);
	char why[256];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, rc, why, sizeof why);
	if (!rk) {
		rd_kafka_conf_destroy(rc);
		lib_err(SL_ECONF, "dead-letter producer: %s", why);
	}
	return rk;
}

int qdlq_send(rd_kafka_t *rk, const char *topic, const sl_message *msg, const char *error)
{
	rd_kafka_headers_t *h = rd_kafka_headers_new(msg->header_count + 4);
	if (!h)
		return lib_err(SL_ENOMEM, "out of memory");
	for (size_t i = 0; i < msg->header_count; i++)
		rd_kafka_header_add(h, msg->headers[i].key, -1, msg->headers[i].value,
		                    msg->headers[i].value ? (ssize_t)msg->headers[i].value_len : 0);
	char part[16], off[24];
	snprintf(part, sizeof part, "%" PRId32, msg->partition);
	snprintf(off, sizeof off, "%" PRId64, msg->offset);
	rd_kafka_header_add(h, "sluice.topic", -1, msg->topic, -1);
	rd_kafka_header_add(h, "sluice.partition", -1, part, -1);
	rd_kafka_header_add(h, "sluice.offset", -1, off, -1);
	rd_kafka_header_add(h, "sluice.error", -1, error, -1);

	dlq_wait w = {.err = RD_KAFKA_RESP_ERR_NO_ERROR};
	atomic_init(&w.state, 0);
	rd_kafka_resp_err_t err =
	    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	                      RD_KAFKA_V_KEY(msg->key, msg->key_len),
	                      RD_KAFKA_V_VALUE((void *)msg->value, msg->value_len),
	                      RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(&w), RD_KAFKA_V_END);
	if (err) {
		rd_kafka_headers_destroy(h); /* producev takes them only on success */
		return lib_err(lib_rdk_code(err), "dead-letter produce to %s: %s", topic,
		               rd_kafka_err2str(err));
	}
	/* w lives on this stack until its report arrived: never leave early. */
	while (!atomic_load_explicit(&w.state, memory_order_acquire))
		rd_kafka_poll(rk, 50);
	if (w.err)
		return lib_err(lib_rdk_code(w.err), "dead-letter produce to %s: %s", topic,
		               rd_kafka_err2str(w.err));
	return 0;
}

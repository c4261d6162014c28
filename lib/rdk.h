/*
 * rdk.h — librdkafka configuration shared by the pusher, the queue and
 * admin: the keys every Kafka client of libsluice sets the same way.
 */
#ifndef SL_LIB_RDK_H
#define SL_LIB_RDK_H

#include <librdkafka/rdkafka.h>

#include "lib.h"

/* Returns a new librdkafka conf (caller owns; rd_kafka_new takes it) with
 * bootstrap.servers, client.id and, when username is set, SASL/PLAIN
 * (security.protocol sasl_plaintext) from c, and librdkafka's own logging
 * sent to nowhere (the library never prints; errors reach the caller
 * through return codes and callbacks). NULL with sl_last_error() set. */
rd_kafka_conf_t *lib_rdk_conf(const sl_conf *c);

/* Sets one librdkafka property; SL_ECONF naming it on failure. */
int lib_rdk_set(rd_kafka_conf_t *rc, const char *name, const char *value);

/* Maps a librdkafka error to an SL_E* code. */
int lib_rdk_code(rd_kafka_resp_err_t err);

#endif

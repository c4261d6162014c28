/*
 * sniff.h — guesses which protocol a client speaks from the first bytes it
 * sent, so a front that cannot parse them can say in its log line what was
 * probably meant ("looks like an HTTP request on the Kafka listener").
 * Pure function, any thread.
 */
#ifndef SL_PROTO_SNIFF_H
#define SL_PROTO_SNIFF_H

#include <stddef.h>
#include <stdint.h>

/* "an HTTP request", "a Redis command", "a beanstalkd command", "TLS",
 * "a Kafka request", or NULL when nothing is recognised. */
const char *proto_sniff(const uint8_t *p, size_t n);

#endif

/*
 * sluice/admin.h — topics and consumer groups (what kafka-topics.sh and
 * kafka-consumer-groups.sh do), over librdkafka's Admin API.
 *
 * Keys from sl_conf: brokers, username, password, client.id.
 * Thread-safety: one admin handle per thread. Results are owned by the
 * caller and freed with the matching *_free function.
 */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_admin sl_admin;

SL_API sl_admin *sl_admin_new(const sl_conf *conf);
SL_API void sl_admin_free(sl_admin *a);

/* The remaining declarations are written by the admin module's owner. */

#ifdef __cplusplus
}
#endif

#endif

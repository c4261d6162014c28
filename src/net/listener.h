/*
 * listener.h — a non-blocking TCP listener that accepts connections and
 * hands them to one protocol. Loop thread only.
 */
#ifndef SL_NET_LISTENER_H
#define SL_NET_LISTENER_H

#include "net/conn.h"
#include "net/loop.h"

typedef struct listener listener_t;

/* Binds addr:port (port 0 = ephemeral) and starts accepting. Returns an
 * owned listener or NULL with *err set (SL_EIO with errno logged).
 * proto and srv are borrowed and must outlive the listener. */
listener_t *listener_new(loop_t *loop, const char *addr, int port, const proto_t *proto, void *srv,
                         const conn_limits_t *limits, int *err);
/* The port actually bound. */
int listener_port(const listener_t *l);
/* Stops accepting (closes the socket); existing connections stay. */
void listener_free(listener_t *l);

#endif

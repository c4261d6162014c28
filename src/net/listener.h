/*
 * listener.h — a non-blocking stream listener, TCP or unix socket, that
 * accepts connections and hands them to one protocol. Loop thread only.
 *
 * The protocol never sees the socket family: a connection accepted on a
 * unix socket goes to the same proto_t as one from TCP (conn.c names its
 * peer "unix:PATH").
 */
#ifndef SL_NET_LISTENER_H
#define SL_NET_LISTENER_H

#include "net/conn.h"
#include "net/loop.h"

#include <stddef.h>

typedef struct listener listener_t;

/* Binds addr:port (port 0 = ephemeral; addr NULL = every address) and
 * starts accepting. Returns an owned listener, or NULL with *err set
 * (SL_EBUSY: the address is in use; SL_EINVAL: the address does not
 * resolve; SL_EIO: anything else) and a one-line reason written to why
 * (e.g. "port 9092 is already in use"). Logs nothing on failure: the
 * caller, who knows which listener this is, says it once. proto and srv
 * are borrowed and must outlive the listener. why may be NULL. */
listener_t *listener_new(loop_t *loop, const char *addr, int port, const proto_t *proto, void *srv,
                         const conn_limits_t *limits, char *why, size_t why_len, int *err);

/* Listens on a unix socket at path whose file gets the permission bits
 * mode (as redis-server's unixsocketperm). A socket file left behind by
 * a process that is gone is replaced; a path where something still
 * accepts connections is SL_EBUSY, and a path that is not a socket is
 * never removed (SL_EEXIST). The socket file is removed when the listener
 * is freed. Errors as listener_new. */
listener_t *listener_new_unix(loop_t *loop, const char *path, unsigned mode, const proto_t *proto,
                              void *srv, const conn_limits_t *limits, char *why, size_t why_len,
                              int *err);

/* Connections accepted from now on run TLS with tls (borrowed, must
 * outlive the listener; NULL: plaintext) and carry name (copied, e.g.
 * Kafka's "SASL_SSL"; see conn_listener). */
void listener_set_tls(listener_t *l, struct tls_ctx *tls, const char *name);

/* The TCP port actually bound; 0 for a unix socket. */
int listener_port(const listener_t *l);
/* The unix socket's path, or NULL for TCP. Borrowed, valid until free. */
const char *listener_path(const listener_t *l);
/* The protocol of the listener whose watch w is, or NULL for any other
 * watch (busy passes: conn_busy_pass). */
const proto_t *listener_watch_proto(const loop_watch_t *w);
/* Stops accepting (closes the socket, removes a unix socket's file);
 * existing connections stay. */
void listener_free(listener_t *l);

#endif

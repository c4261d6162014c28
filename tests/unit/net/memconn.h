/*
 * memconn.h — an in-memory connection for protocol handler unit tests.
 *
 * A memconn is a real conn_t (net/conn.c, with its input buffer, output
 * queue, holds, backpressure and deferred close) over one end of an
 * AF_UNIX socketpair; the test plays the client on the other end. Nothing
 * touches the network and nothing sleeps: the test writes request bytes,
 * runs the loop until it has nothing left to do, and reads the reply bytes.
 * Include it as "net/memconn.h" (tests/unit is on the include path); it is
 * compiled into the unit-test binary with the rest of tests/unit.
 *
 *	memconn_t *m = memconn_new(NULL, &resp_proto, srv, NULL);
 *	memconn_send_str(m, "*1\r\n$4\r\nPING\r\n");
 *	memconn_pump(m);
 *	memconn_expect_str(m, "+PONG\r\n");  // exactly these bytes, or fail
 *	memconn_send_str(m, "*1\r\n$4\r\nPING\r\n");
 *	buf_t out = BUF_INIT;
 *	memconn_recv(m, &out);              // or: append what the server sent
 *	CHECK_EQ(buf_len(&out), 7);
 *	buf_deinit(&out);
 *	memconn_free(m);                    // closes; on_close runs; frees
 *
 * Rules:
 * - Pass the loop your broker/front runs on (e.g. broker.loop), or NULL to
 *   let the memconn create (and later free) its own.
 * - memconn_pump() runs turns until one finds nothing to do. Replies that
 *   wait for another thread (a sync on the syncer thread, completing a
 *   hold) are not "something to do" for the loop; use memconn_recv_wait(),
 *   which keeps running the loop (blocking in epoll, so the syncer's
 *   eventfd wakes it) until enough bytes arrived or the timeout passed.
 * - Everything the server sends is collected into an internal buffer while
 *   the loop runs, so a large reply never stalls on a full socket buffer;
 *   memconn_recv() hands it over (and reads anything still in the socket).
 * - m->conn is the server side. The memconn holds a reference on it, so it
 *   stays valid memory after the server closed it: check
 *   conn_is_closed(m->conn). memconn_server_closed() says whether the
 *   client end saw the server's FIN.
 * - limits may be NULL (net/'s defaults). The proto's on_open runs inside
 *   memconn_new(); if it refuses, memconn_new() returns NULL.
 *
 * Test code, loop thread only.
 */
#ifndef SL_TESTS_UNIT_NET_MEMCONN_H
#define SL_TESTS_UNIT_NET_MEMCONN_H

#include "core/buf.h"
#include "net/conn.h"
#include "net/loop.h"

#include <stddef.h>

typedef struct memconn {
	loop_t *loop; /* the loop the server side runs on */
	conn_t *conn; /* the server side (referenced by the memconn) */
	int fd;       /* the client end, non-blocking; -1 after memconn_close_client */
	buf_t rx;     /* bytes received from the server, not yet handed over */
	int eof;      /* the client end read EOF: the server closed */
	int own_loop;
} memconn_t;

/* Creates the socketpair and the server conn (calls proto->on_open with
 * srv). loop NULL: the memconn owns a new loop. Returns NULL if on_open
 * refused. */
memconn_t *memconn_new(loop_t *loop, const proto_t *proto, void *srv, const conn_limits_t *limits);
/* Writes all n bytes as the client, running the loop whenever the socket
 * is full. Does not run the loop otherwise. */
void memconn_send(memconn_t *m, const void *p, size_t n);
void memconn_send_str(memconn_t *m, const char *s);
/* Runs loop turns until a turn does nothing (bounded); collects replies. */
void memconn_pump(memconn_t *m);
/* Pumps, then appends everything received so far to out. Returns the
 * number of bytes appended. */
size_t memconn_recv(memconn_t *m, buf_t *out);
/* Runs the loop (waiting in epoll) until at least n bytes have arrived in
 * total since the last memconn_recv, or timeout_ms passed, or the server
 * closed; then appends what arrived to out. Returns 0 if n bytes arrived,
 * SL_EAGAIN otherwise. */
int memconn_recv_wait(memconn_t *m, buf_t *out, size_t n, int timeout_ms);
/* Pumps, receives everything and fails the test unless it is exactly the n
 * bytes of want (the message shows both, escaped). */
void memconn_expect(memconn_t *m, const void *want, size_t n);
void memconn_expect_str(memconn_t *m, const char *want);
/* Whether the server closed its end (pumps first). */
int memconn_server_closed(memconn_t *m);
/* Half-closes the client end: the server reads EOF after what was sent. */
void memconn_shutdown(memconn_t *m);
/* Closes the client end entirely (the server sees EOF or a reset). */
void memconn_close_client(memconn_t *m);
/* Closes the server conn if still open (no flush), runs the loop so on_close
 * runs, drops the reference, frees the loop if owned. */
void memconn_free(memconn_t *m);

#endif

/*
 * conn.h — a client connection: input buffer, output queue, backpressure,
 * deferred close, and the protocol hooks.
 *
 * net/ knows no protocol. Bytes read from the socket are appended to c->in
 * and the protocol's on_input() is called; it parses as many complete
 * requests as it can, consumes them from c->in (buf_consume) and queues
 * replies. Replies queued during a turn are sent together at the end of the
 * turn (one writev/sendfile burst per connection per turn).
 *
 * Output queue: an ordered list of chunks, each either memory or a file
 * region (sent with sendfile). A "hold" is a placeholder chunk for a reply
 * that is not ready yet (e.g. Kafka acks=-1 waiting for fsync, a blocked
 * XREAD): nothing after it is sent until conn_hold_done(), which keeps
 * replies in request order while later requests are still processed.
 *
 * Backpressure: when unsent output passes the high watermark the connection
 * stops reading; below the low watermark reading resumes and on_drain()
 * runs. A protocol can also pause input itself (a blocked Redis client must
 * not run its pipelined commands until it is served).
 *
 * Lifetime: conn_close() is deferred to the end of the turn; on_close() runs
 * then and the memory is freed once the last reference (conn_ref) is
 * dropped, so callbacks that outlive the socket (sync waits, timers) can
 * hold a reference and check conn_is_closed(). Loop thread only.
 */
#ifndef SL_NET_CONN_H
#define SL_NET_CONN_H

#include "core/buf.h"
#include "net/loop.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct conn conn_t;
typedef struct conn_hold conn_hold_t;

typedef struct proto {
	const char *name;
	/* Called once after accept; returns 0 or negative to refuse. May set
	 * c->pdata. srv is the listener's proto_arg. */
	int (*on_open)(conn_t *c, void *srv);
	/* New bytes are in c->in. Return 0 to continue, negative to close
	 * (after flushing what is already queued). */
	int (*on_input)(conn_t *c);
	/* Optional: output fell below the low watermark after being above it. */
	void (*on_drain)(conn_t *c);
	/* Called once when the connection closes (peer, error or conn_close),
	 * before holds are abandoned; frees c->pdata. */
	void (*on_close)(conn_t *c);
} proto_t;

typedef struct conn_limits {
	size_t max_input;  /* input bytes buffered without progress before closing */
	size_t high_water; /* unsent output that stops reading */
	size_t low_water;  /* unsent output that resumes reading */
} conn_limits_t;

struct conn {
	uint64_t id; /* unique per loop, starts at 1 */
	int fd;
	buf_t in;            /* unconsumed input; the protocol consumes from it */
	void *pdata;         /* protocol per-connection state */
	void *srv;           /* the listener's protocol context */
	const proto_t *proto;
	loop_t *loop;
	char peer[64];       /* "127.0.0.1:54321" */
	/* The rest is net/'s own; protocols use the functions below. */
	struct conn_priv *priv;
};

/* --- output -------------------------------------------------------------- */

/* Copies bytes to the end of the output queue. */
void conn_write(conn_t *c, const void *p, size_t n);
/* The memory buffer at the end of the output queue, to build a reply in
 * place (buf_put_*, buf_reserve/commit). Valid until the next conn_* call
 * that queues a non-memory chunk (file region or hold). */
buf_t *conn_out(conn_t *c);
/* Queues a file region; the fd is dup()ed, so the caller's fd may be closed
 * or the file unlinked before the bytes are sent. Returns 0 or SL_EIO. */
int conn_send_file(conn_t *c, int fd, off_t off, size_t len);
/* Bytes queued but not yet sent (memory + file regions). */
size_t conn_out_pending(const conn_t *c);

/* Inserts a placeholder at the current end of the output queue. Returns a
 * handle owned by the connection; valid until conn_hold_done(), even if the
 * connection closes meanwhile (then written bytes are discarded). */
conn_hold_t *conn_hold(conn_t *c);
/* The buffer to write the deferred reply into. */
buf_t *conn_hold_buf(conn_hold_t *h);
/* The reply in the hold is complete; output can flow past it. */
void conn_hold_done(conn_t *c, conn_hold_t *h);

/* --- input control -------------------------------------------------------- */

/* Stops calling on_input (data stays buffered) until conn_resume(); resume
 * schedules an on_input call for what is already buffered. */
void conn_pause(conn_t *c);
void conn_resume(conn_t *c);
int conn_paused(const conn_t *c);

/* --- lifetime -------------------------------------------------------------- */

/* Closes at the end of this turn. If flush is true, queued output is sent
 * first (bounded: a peer that does not read is cut off). */
void conn_close(conn_t *c, int flush);
int conn_is_closed(const conn_t *c);
void conn_ref(conn_t *c);
void conn_unref(conn_t *c);

/* --- creation (net/ and tests) --------------------------------------------- */

/* Wraps an accepted, non-blocking socket. Calls proto->on_open. Returns NULL
 * (fd closed) if on_open refused. */
conn_t *conn_new(loop_t *loop, int fd, const proto_t *proto, void *srv,
		 const conn_limits_t *limits);

/* Number of open connections on this loop, and calls fn for each (for
 * CLIENT LIST, stats, shutdown). */
size_t conn_count(loop_t *loop);
void conn_foreach(loop_t *loop, void (*fn)(conn_t *c, void *arg), void *arg);

#endif

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
 * Client memory: what connections hold for incomplete requests and unsent
 * replies is summed per loop and capped (conn_set_memory_cap); past the
 * cap the connections holding most are closed.
 *
 * Lifetime: conn_close() is deferred to the end of the turn; on_close() runs
 * then and the memory is freed once the last reference (conn_ref) is
 * dropped, so callbacks that outlive the socket (sync waits, timers) can
 * hold a reference and check conn_is_closed(). Loop thread only.
 */
#ifndef SL_NET_CONN_H
#define SL_NET_CONN_H

#include "core/buf.h"
#include "core/fdcache.h"
#include "net/loop.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct conn conn_t;
typedef struct conn_hold conn_hold_t;
struct tls_ctx; /* net/tls.h */

typedef struct proto {
	const char *name;
	/* Called once after accept; returns 0 or negative to refuse. May set
	 * c->pdata. srv is the listener's proto_arg. A refused connection gets
	 * no on_close. on_open may queue output or call conn_close. */
	int (*on_open)(conn_t *c, void *srv);
	/* New bytes are in c->in (never called with c->in empty, while
	 * paused, or after conn_close). Handle every complete request, consume
	 * it (buf_consume), and return 0 to continue or negative to close
	 * (after flushing what is already queued). If c->in still holds
	 * max_input bytes or more afterwards, on_input is called once more;
	 * if that consumes nothing the connection is closed (logged at info),
	 * so check client-chosen sizes against your own limits first and
	 * answer with the protocol's error where it has one. */
	int (*on_input)(conn_t *c);
	/* Optional: output fell below the low watermark after being above it.
	 * Runs at the end of a turn; buffered input is processed right after. */
	void (*on_drain)(conn_t *c);
	/* Called once when the connection closes (peer, error or conn_close),
	 * before holds are abandoned; frees c->pdata. With a flushing close it
	 * runs when the flush ends (or times out), so pdata stays valid while
	 * held replies are completed. May complete holds itself. */
	void (*on_close)(conn_t *c);
} proto_t;

/* A zero field takes net/'s default (max_input 64 MiB, high_water 4 MiB,
 * low_water 1 MiB); low_water is capped at high_water. */
typedef struct conn_limits {
	size_t max_input;  /* input bytes buffered without progress before closing */
	size_t high_water; /* unsent output that stops reading */
	size_t low_water;  /* unsent output that resumes reading */
} conn_limits_t;

struct conn {
	uint64_t id; /* unique per loop, starts at 1 */
	int fd;
	buf_t in;    /* unconsumed input; the protocol consumes from it */
	void *pdata; /* protocol per-connection state */
	void *srv;   /* the listener's protocol context */
	const proto_t *proto;
	loop_t *loop;
	char peer[64]; /* "127.0.0.1:54321" */
	/* The rest is net/'s own; protocols use the functions below. */
	struct conn_priv *priv;
};

/* --- output -------------------------------------------------------------- */

/* Copies bytes to the end of the output queue. Output to a closed
 * connection (after on_close) is dropped silently. */
void conn_write(conn_t *c, const void *p, size_t n);
/* The memory buffer at the end of the output queue, to build a reply in
 * place (buf_put_*, buf_reserve/commit). Valid until the next conn_* call
 * that queues a non-memory chunk (file region or hold); sending it does not
 * invalidate it. Bytes already in it may be patched (length prefixes) until
 * the end of the turn, when they are sent. */
buf_t *conn_out(conn_t *c);
/* Queues a file region; the fd is dup()ed, so the caller's fd may be closed
 * or the file unlinked before the bytes are sent. Returns 0 or SL_EIO. If
 * the file turns out shorter than the region when it is sent, the
 * connection is closed (the promised bytes do not exist). */
int conn_send_file(conn_t *c, int fd, off_t off, size_t len);
/* Queues a region of a file of the descriptor cache: takes a reference
 * on file and its descriptor only when the bytes are sent, so queued
 * regions hold no descriptors; the file stays readable if its owner
 * closes, truncates or unlinks it meanwhile (fdc_file_close). If no
 * descriptor can be had when it is sent, the connection is closed.
 * Returns 0. */
int conn_send_region(conn_t *c, fdc_file_t *file, off_t off, size_t len);
/* Bytes queued but not yet sent (memory + file regions). */
size_t conn_out_pending(const conn_t *c);

/* Inserts a placeholder at the current end of the output queue. Returns a
 * handle owned by the connection; valid until conn_hold_done(), even if the
 * connection closes meanwhile (then written bytes are discarded). Every
 * outstanding hold holds a reference on c, so c itself stays valid memory
 * until each of its holds is done: conn_hold_done() on a closed connection
 * is the normal way to let go of an abandoned hold. Bytes queued after the
 * hold count in conn_out_pending() (and towards the high watermark); the
 * hold's own bytes count once it is done. */
conn_hold_t *conn_hold(conn_t *c);
/* The buffer to write the deferred reply into. */
buf_t *conn_hold_buf(conn_hold_t *h);
/* Whether h is still the last thing queued on an open connection: bytes
 * appended to its buffer then leave exactly where a new hold would. */
int conn_hold_is_last(const conn_t *c, const conn_hold_t *h);
/* The reply in the hold is complete; output can flow past it (sent at the
 * end of the turn). Exactly once per hold; h is invalid afterwards. */
void conn_hold_done(conn_t *c, conn_hold_t *h);

/* --- busy passes ----------------------------------------------------------- */

/* A busy pass (loop_busy_pass) over connections, for a protocol that holds
 * the loop thread for long and must still answer its other clients: every
 * ready open connection admit() accepts is read (its on_input runs), and
 * what the accepted connections have queued (in the pass, or earlier in
 * the turn the pass interrupts) is sent at once; the listeners of protocol
 * accept (NULL: none) take their new connections (read in a later pass);
 * other watches, timers and end-of-turn tasks wait for the next turn.
 * admit() must refuse a connection whose on_input is on the stack.
 * Returns how many watches were served or a negative code. */
int conn_busy_pass(loop_t *loop, const proto_t *accept, int (*admit)(conn_t *c, void *arg),
                   void *arg);

/* --- input control -------------------------------------------------------- */

/* Stops calling on_input (data stays buffered; the socket is still read
 * until c->in holds max_input bytes) until conn_resume(). Pausing inside
 * on_input takes effect when it returns: handlers should stop their parse
 * loop when conn_paused(). Resume never calls on_input itself: if input is
 * buffered, on_input runs from the connection's end-of-turn task (this
 * turn's, even when resume is called from inside on_input or a timer). */
void conn_pause(conn_t *c);
void conn_resume(conn_t *c);
int conn_paused(const conn_t *c);

/* --- client memory -------------------------------------------------------- */

/* Memory the protocol holds for this connection beyond its input buffer
 * and output queue (a parser's argument table, a request body being
 * received), in bytes; replaces the previous report. Counted in the
 * loop's client memory (see conn.c); may close connections, c included,
 * when the sum passes the cap (conn_is_closed says so afterwards). */
void conn_set_held(conn_t *c, size_t bytes);
/* The cap on client memory summed over the loop's connections: the
 * connections holding the most are closed (one warning each) whenever the
 * sum passes it. 0: no cap. */
void conn_set_memory_cap(loop_t *loop, size_t bytes);
/* The sum now, and how many connections were closed for it. */
size_t conn_memory(loop_t *loop);
uint64_t conn_memory_evictions(loop_t *loop);

/* --- lifetime -------------------------------------------------------------- */

/* Closes at the end of this turn. If flush is true, queued output is sent
 * first, including replies behind holds once they are done (bounded: after
 * 5 s the connection is cut). on_input is not called after conn_close.
 * The peer's EOF acts as conn_close(c, 1) (a half-closed client still gets
 * its replies); a reset or error as conn_close(c, 0). */
void conn_close(conn_t *c, int flush);
/* Closes at the end of this turn without sending anything more: output
 * still queued (replies of earlier pipelined requests too) is dropped.
 * For a client that is treated as hostile. */
void conn_abort(conn_t *c);
/* True from conn_close() (or the peer's EOF/error) on: start no new work
 * for this connection. c->pdata stays valid until on_close has run. */
int conn_is_closed(const conn_t *c);
void conn_ref(conn_t *c);
void conn_unref(conn_t *c);

/* --- creation (net/ and tests) --------------------------------------------- */

/* Wraps an accepted, non-blocking socket. Calls proto->on_open. Returns NULL
 * (fd closed) if on_open refused. */
conn_t *conn_new(loop_t *loop, int fd, const proto_t *proto, void *srv,
                 const conn_limits_t *limits);

/* Whether the peer is on this host as Redis 7.0's protected mode counts
 * it: a unix socket, 127.0.0.1 or ::1 (also as ::ffff:127.0.0.1). */
int conn_peer_is_local(const conn_t *c);

/* As conn_new, over TLS when tls is not NULL (borrowed; it must outlive
 * the handshake, OpenSSL keeps what it needs after that). The handshake
 * runs in the loop before any byte reaches on_input; on_open runs at once
 * and what it queues is sent once the handshake is done. A handshake that
 * fails or does not finish in time closes the connection (logged at info
 * with the peer). listener names the listener for the protocol
 * (conn_listener: Kafka's "SSL", "SASL_SSL"…); may be NULL. */
conn_t *conn_new_tls(loop_t *loop, int fd, const proto_t *proto, void *srv,
                     const conn_limits_t *limits, struct tls_ctx *tls, const char *listener);
/* Whether the connection runs over TLS; the listener's name ("" if none). */
int conn_is_tls(const conn_t *c);
const char *conn_listener(const conn_t *c);

/* The limits in force (defaults filled in). */
const conn_limits_t *conn_get_limits(const conn_t *c);

/* Number of connections on this loop whose on_close has not run yet
 * (including ones still flushing after conn_close), and calls fn for each
 * (for CLIENT LIST, stats, shutdown). fn may call conn_close. */
size_t conn_count(loop_t *loop);
void conn_foreach(loop_t *loop, void (*fn)(conn_t *c, void *arg), void *arg);

#endif

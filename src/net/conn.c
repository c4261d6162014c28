/*
 * conn.c — client connections: reading into c->in, the protocol hooks, the
 * output queue (memory, file regions, holds), backpressure and deferred
 * close (see conn.h for the contract). Loop thread only.
 *
 * Output queue: a singly linked list of chunks, oldest first. Every chunk is
 * a struct conn_hold; the kind says what it carries:
 *   OUT_MEM   bytes in b (consecutive writes coalesce into the tail chunk),
 *   OUT_FILE  a file region sent with sendfile(2): a dup()ed fd, or a
 *             reference to a file of the descriptor cache (core/fdcache.h),
 *             whose descriptor is taken only when the bytes go out, so
 *             queued regions of ten thousand segments cost no descriptors,
 *   OUT_HOLD  a placeholder whose bytes (in b) are not final yet; nothing
 *             behind it is sent. conn_hold_done() turns it into OUT_MEM.
 *
 * Byte accounting: `sealed` is the number of unsent bytes in every chunk
 * except a memory chunk at the tail; pending = sealed + bytes in that tail.
 * The tail memory chunk is where protocols build replies in place
 * (conn_out), so it stays allocated after it is sent: the pointer
 * conn_out() returned stays valid until a non-memory chunk is queued.
 *
 * Per turn: readable → read (bounded) → on_input once; every change that
 * may need work queues the connection's end-of-turn task, which processes
 * input a conn_resume()/drain asked for, flushes (one writev/sendfile burst,
 * bounded), applies the watermarks, and finishes a close. So replies for
 * pipelined requests leave in one burst and a close takes effect only at
 * the end of the turn.
 *
 * Client memory (Redis's maxmemory-clients is the model): each connection
 * counts what it holds for requests not yet complete and replies not yet
 * sent — its input buffer's allocation, its unsent output in memory (file
 * regions are not memory), and what its protocol reports holding beyond
 * them (conn_set_held: a RESP parser's argument table, a beanstalkd job
 * body being received). The loop keeps the sum. Whenever a connection's
 * count changes (after a read and its processing, at the end of its turn,
 * when the protocol reports) and the sum passes max.client.memory, the
 * connections holding the most are closed, without flushing, one log line
 * each, until the sum is back under the cap: the client pushing memory up
 * is normally the one holding most, and clients using little are never
 * touched. A closed connection's memory leaves the sum at once (it is
 * freed at the end of the turn).
 *
 * Lifetime: the loop holds one reference while the connection is open
 * (state OPEN or CLOSING), and every outstanding hold holds one. Finishing a
 * close (state CLOSED) runs on_close, closes the socket, frees the queue
 * except holds not yet done (they become orphans, freed by conn_hold_done),
 * and drops the loop's reference.
 */
#include "net/conn.h"
#include "net/listener.h"
#include "net/loop_priv.h"
#include "net/tls.h"

#include "core/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)
#define READS_PER_TURN 4
#define FLUSH_BUDGET (8u * 1024 * 1024) /* bytes per connection per turn */
#define FLUSH_IOV 64
#define CLOSE_LINGER_MS 5000 /* a flushing close gives the peer this long */
/* An idle connection keeps no input buffer and at most this much output
 * buffer, so ten thousand idle clients cost little memory. */
#define IDLE_OUT_KEEP (16 * 1024)

#define DEFAULT_MAX_INPUT (64u * 1024 * 1024)
#define DEFAULT_HIGH_WATER (4u * 1024 * 1024)
#define DEFAULT_LOW_WATER (1u * 1024 * 1024)

typedef enum out_kind { OUT_MEM, OUT_FILE, OUT_HOLD } out_kind_t;

struct conn_hold {
	struct conn_hold *next;
	out_kind_t kind;
	int orphan; /* a hold whose connection closed before it was done */
	conn_t *c;
	buf_t b;
	int fd;
	fdc_file_t *file; /* OUT_FILE from the descriptor cache (a reference) */
	off_t off;
	size_t len;
};
typedef struct conn_hold chunk_t;

typedef enum conn_state { CONN_OPEN, CONN_CLOSING, CONN_CLOSED } conn_state_t;
static const char *const conn_state_names[] = {"open", "closing", "closed"};

struct conn_priv {
	conn_t *prev, *next; /* the loop's list of open connections */
	int refs;
	conn_state_t state;
	conn_limits_t limits;
	loop_watch_t watch;
	loop_task_t task;
	loop_timer_t linger;

	chunk_t *head, *tail;
	size_t sealed;
	unsigned holds;      /* holds in the queue not yet done */
	buf_t discard;       /* what conn_out() hands out once the connection closed */
	size_t file_pending; /* unsent bytes of file regions (part of sealed) */
	size_t mem;          /* what this connection counts in the loop's sum */
	size_t held;         /* what the protocol reported (conn_set_held) */

	unsigned paused : 1;
	unsigned close_flush : 1;
	unsigned dead : 1;          /* the socket failed: close without flushing */
	unsigned eof : 1;           /* the peer will send nothing more */
	unsigned above : 1;         /* over the high watermark: not reading */
	unsigned write_blocked : 1; /* the socket said EAGAIN: wait for EPOLLOUT */
	unsigned input_pending : 1; /* run on_input for buffered input at turn end */
	unsigned in_input : 1;
	unsigned opened : 1;  /* on_open accepted: on_close is owed */
	unsigned evicted : 1; /* closed for client memory: no longer counted */
	unsigned local : 1;   /* the peer is loopback or a unix socket */

	/* TLS (net/tls.h): the session, whether its handshake is done, and
	 * which readiness OpenSSL waits for besides the obvious one: a
	 * handshake or a read that must write first, a write that must read
	 * first. */
	tls_ssl_t *ssl;
	unsigned hs_done : 1;
	unsigned tls_want_out : 1;
	unsigned tls_write_wants_in : 1;
	loop_timer_t hs_timer;
	char listener[24]; /* the listener's name, e.g. "SASL_SSL" */
};

typedef struct conn_full {
	conn_t c;
	struct conn_priv p;
} conn_full_t;

static void conn_task(loop_t *loop, loop_task_t *task);
static void finish_close(conn_t *c);

static const log_t *conn_log(const conn_t *c)
{
	return loop_log(c->loop);
}

static void set_state(conn_t *c, conn_state_t s)
{
	log_debug(conn_log(c), "conn %llu %s: %s -> %s", (unsigned long long)c->id, c->peer,
	          conn_state_names[c->priv->state], conn_state_names[s]);
	c->priv->state = s;
}

static void schedule(conn_t *c)
{
	if (c->priv->state != CONN_CLOSED)
		loop_defer(c->loop, &c->priv->task);
}

/* --- output queue ---------------------------------------------------------- */

static chunk_t *chunk_new(conn_t *c, out_kind_t kind)
{
	chunk_t *ch = calloc(1, sizeof *ch);
	if (!ch)
		abort();
	ch->kind = kind;
	ch->c = c;
	ch->fd = -1;
	buf_init(&ch->b);
	return ch;
}

static void chunk_free(chunk_t *ch)
{
	if (ch->fd >= 0)
		close(ch->fd);
	fdc_file_unref(ch->file);
	buf_deinit(&ch->b);
	free(ch);
}

/* Bytes a chunk still has to send (a hold not yet done has none). */
static size_t chunk_bytes(const chunk_t *ch)
{
	switch (ch->kind) {
	case OUT_MEM:
		return buf_len(&ch->b);
	case OUT_FILE:
		return ch->len;
	case OUT_HOLD:
		break;
	}
	return 0;
}

static void queue_push(conn_t *c, chunk_t *ch)
{
	struct conn_priv *p = c->priv;
	if (p->tail && p->tail->kind == OUT_MEM)
		p->sealed += buf_len(&p->tail->b);
	p->sealed += chunk_bytes(ch);
	if (ch->kind == OUT_FILE)
		p->file_pending += ch->len;
	if (p->tail)
		p->tail->next = ch;
	else
		p->head = ch;
	p->tail = ch;
}

/* Unlinks the head chunk; the caller frees it. */
static chunk_t *queue_pop(conn_t *c)
{
	struct conn_priv *p = c->priv;
	chunk_t *ch = p->head;
	p->head = ch->next;
	if (!p->head)
		p->tail = NULL;
	ch->next = NULL;
	return ch;
}

size_t conn_out_pending(const conn_t *c)
{
	const struct conn_priv *p = c->priv;
	size_t n = p->sealed;
	if (p->tail && p->tail->kind == OUT_MEM)
		n += buf_len(&p->tail->b);
	return n;
}

buf_t *conn_out(conn_t *c)
{
	struct conn_priv *p = c->priv;
	if (p->state == CONN_CLOSED) {
		buf_reset(&p->discard);
		return &p->discard;
	}
	if (!p->tail || p->tail->kind != OUT_MEM)
		queue_push(c, chunk_new(c, OUT_MEM));
	schedule(c);
	return &p->tail->b;
}

void conn_write(conn_t *c, const void *ptr, size_t n)
{
	if (n == 0 || c->priv->state == CONN_CLOSED)
		return;
	buf_append(conn_out(c), ptr, n);
}

int conn_send_file(conn_t *c, int fd, off_t off, size_t len)
{
	if (len == 0 || c->priv->state == CONN_CLOSED)
		return 0;
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0) {
		log_warn(conn_log(c), "conn %llu %s: dup of file fd %d: %s",
		         (unsigned long long)c->id, c->peer, fd, strerror(errno));
		return SL_EIO;
	}
	chunk_t *ch = chunk_new(c, OUT_FILE);
	ch->fd = dfd;
	ch->off = off;
	ch->len = len;
	queue_push(c, ch);
	schedule(c);
	return 0;
}

int conn_send_region(conn_t *c, fdc_file_t *file, off_t off, size_t len)
{
	if (len == 0 || c->priv->state == CONN_CLOSED)
		return 0;
	chunk_t *ch = chunk_new(c, OUT_FILE);
	fdc_file_ref(file);
	ch->file = file;
	ch->off = off;
	ch->len = len;
	queue_push(c, ch);
	schedule(c);
	return 0;
}

conn_hold_t *conn_hold(conn_t *c)
{
	chunk_t *h = chunk_new(c, OUT_HOLD);
	conn_ref(c);
	if (c->priv->state == CONN_CLOSED) {
		h->orphan = 1;
		return h;
	}
	queue_push(c, h);
	c->priv->holds++;
	return h;
}

buf_t *conn_hold_buf(conn_hold_t *h)
{
	return &h->b;
}

int conn_hold_is_last(const conn_t *c, const conn_hold_t *h)
{
	return c->priv->state != CONN_CLOSED && !h->orphan && h->kind == OUT_HOLD &&
	       c->priv->tail == h;
}

void conn_hold_done(conn_t *c, conn_hold_t *h)
{
	struct conn_priv *p = c->priv;
	if (h->orphan) {
		chunk_free(h);
		conn_unref(c);
		return;
	}
	h->kind = OUT_MEM;
	p->holds--;
	if (h != p->tail)
		p->sealed += buf_len(&h->b);
	schedule(c);
	conn_unref(c); /* the loop's reference keeps c alive while it is queued */
}

/* The socket's side of flush(): sendmsg/sendfile, or TLS. Same results as
 * the system calls (-1 with errno EAGAIN when the socket is full). */
static int tls_fail_errno(conn_t *c, ssize_t r, int want)
{
	struct conn_priv *p = c->priv;
	if (r == TLS_AGAIN) {
		p->tls_write_wants_in = want == TLS_WANT_READ;
		errno = EAGAIN;
	} else {
		errno = EPROTO;
	}
	return -1;
}

static ssize_t sock_writev(conn_t *c, struct iovec *iov, int niov)
{
	struct conn_priv *p = c->priv;
	if (!p->ssl) {
		/* The socket is non-blocking and SIGPIPE ignored (loop_new), so
		 * plain write(2) is enough, and a reply that is one chunk (a
		 * ping-pong client's) skips building a msghdr and iovec import. */
		if (niov == 1)
			return write(c->fd, iov[0].iov_base, iov[0].iov_len);
		return writev(c->fd, iov, niov);
	}
	int want = 0;
	ssize_t r = tls_writev(p->ssl, iov, niov, &want);
	return r > 0 ? r : tls_fail_errno(c, r, want);
}

static ssize_t sock_sendfile(conn_t *c, int in, off_t *off, size_t n)
{
	struct conn_priv *p = c->priv;
	if (!p->ssl)
		return sendfile(c->fd, in, off, n);
	int want = 0;
	ssize_t r = tls_sendfile(p->ssl, in, *off, n, &want);
	if (r >= 0) {
		*off += r;
		return r;
	}
	return tls_fail_errno(c, r, want);
}

/* Sends from the head of the queue: consecutive memory chunks with one
 * sendmsg, file regions with sendfile, until the socket is full, a hold is
 * reached, the queue is empty or the turn's budget is spent. Returns 0, or
 * a negative code when the socket failed. */
static int flush(conn_t *c)
{
	struct conn_priv *p = c->priv;
	size_t budget = FLUSH_BUDGET;
	while (budget > 0 && p->head) {
		chunk_t *ch = p->head;
		if (ch->kind == OUT_MEM && buf_len(&ch->b) == 0) {
			if (ch == p->tail)
				break;
			chunk_free(queue_pop(c));
			continue;
		}
		if (ch->kind == OUT_HOLD)
			break;
		if (ch->kind == OUT_FILE) {
			size_t want = ch->len < budget ? ch->len : budget;
			/* Taken from the cache just before it is used: nothing
			 * else opens a file of the cache until sendfile returns. */
			int in = ch->file ? fdc_fd(ch->file) : ch->fd;
			if (in < 0) {
				log_warn(conn_log(c), "conn %llu %s: cannot open %s to send it: %s",
				         (unsigned long long)c->id, c->peer,
				         fdc_file_path(ch->file), sl_strerror(in));
				return SL_EIO;
			}
			ssize_t n = sock_sendfile(c, in, &ch->off, want);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN) {
					p->write_blocked = 1;
					return 0;
				}
				log_debug(conn_log(c), "conn %llu %s: sendfile: %s",
				          (unsigned long long)c->id, c->peer, strerror(errno));
				return SL_EIO;
			}
			if (n == 0) {
				/* The file is shorter than the region: the bytes the
				 * client was promised do not exist. */
				log_warn(conn_log(c),
				         "conn %llu %s: file region ends early (%zu bytes missing)",
				         (unsigned long long)c->id, c->peer, ch->len);
				return SL_EIO;
			}
			ch->len -= (size_t)n;
			p->sealed -= (size_t)n;
			p->file_pending -= (size_t)n;
			budget -= (size_t)n;
			if (ch->len == 0)
				chunk_free(queue_pop(c));
			else if ((size_t)n < want)
				p->write_blocked = 1;
			if (p->write_blocked)
				return 0;
			continue;
		}
		struct iovec iov[FLUSH_IOV];
		int niov = 0;
		size_t total = 0;
		for (chunk_t *x = ch; x && x->kind == OUT_MEM && niov < FLUSH_IOV && total < budget;
		     x = x->next) {
			size_t len = buf_len(&x->b);
			if (len == 0)
				continue;
			if (len > budget - total)
				len = budget - total;
			iov[niov].iov_base = buf_data(&x->b);
			iov[niov].iov_len = len;
			niov++;
			total += len;
		}
		ssize_t n = sock_writev(c, iov, niov);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				p->write_blocked = 1;
				return 0;
			}
			log_debug(conn_log(c), "conn %llu %s: send: %s", (unsigned long long)c->id,
			          c->peer, strerror(errno));
			return SL_EIO;
		}
		budget -= (size_t)n;
		size_t left = (size_t)n;
		while (left > 0) {
			chunk_t *x = p->head;
			size_t len = buf_len(&x->b);
			size_t take = len < left ? len : left;
			buf_consume(&x->b, take);
			if (x != p->tail)
				p->sealed -= take;
			left -= take;
			if (buf_len(&x->b) == 0 && x != p->tail)
				chunk_free(queue_pop(c));
		}
		if ((size_t)n < total) {
			p->write_blocked = 1;
			return 0;
		}
	}
	if (p->tail && p->tail->kind == OUT_MEM && buf_len(&p->tail->b) == 0 &&
	    p->tail->b.cap > IDLE_OUT_KEEP)
		buf_shrink(&p->tail->b, 0);
	/* Budget spent with more to send: continue when writable (next turn). */
	if (budget == 0 && conn_out_pending(c) > 0)
		p->write_blocked = 1;
	return 0;
}

/* Whether something at the head can be sent now (not a hold). */
static int sendable(const conn_t *c)
{
	for (const chunk_t *ch = c->priv->head; ch; ch = ch->next) {
		if (ch->kind == OUT_HOLD)
			return 0;
		if (chunk_bytes(ch) > 0)
			return 1;
	}
	return 0;
}

/* --- client memory ----------------------------------------------------------- */

static void fmt_bytes(char *out, size_t n, size_t v)
{
	if (v >= (size_t)1 << 20)
		snprintf(out, n, "%.1f MiB", (double)v / (1 << 20));
	else if (v >= 1024)
		snprintf(out, n, "%.1f KiB", (double)v / 1024);
	else
		snprintf(out, n, "%zu bytes", v);
}

static size_t out_mem(const conn_t *c)
{
	return conn_out_pending(c) - c->priv->file_pending;
}

/* What c holds now (see the top of the file). */
static size_t mem_now(const conn_t *c)
{
	return c->in.cap + out_mem(c) + c->priv->held;
}

/* Closes the connection holding the most; 0 when none holds anything. */
static int evict_largest(loop_t *loop)
{
	loop_conns_t *lc = loop_conns(loop);
	conn_t *big = NULL;
	for (conn_t *x = lc->head; x; x = x->priv->next)
		if (!x->priv->evicted && x->priv->state != CONN_CLOSED &&
		    (!big || x->priv->mem > big->priv->mem))
			big = x;
	if (!big || big->priv->mem == 0)
		return 0;
	struct conn_priv *p = big->priv;
	char all[32], cap[32], in[32], out[32], held[32], total[32];
	fmt_bytes(all, sizeof all, lc->mem_total);
	fmt_bytes(cap, sizeof cap, lc->mem_cap);
	fmt_bytes(in, sizeof in, big->in.cap);
	fmt_bytes(out, sizeof out, out_mem(big));
	fmt_bytes(held, sizeof held, p->held);
	fmt_bytes(total, sizeof total, p->mem);
	log_warn(conn_log(big),
	         "conn %llu %s (%s): closed: clients hold %s, over max.client.memory %s; this "
	         "one holds the most, %s (input %s, unsent output %s, requests in progress %s)",
	         (unsigned long long)big->id, big->peer, big->proto->name ? big->proto->name : "?",
	         all, cap, total, in, out, held);
	lc->mem_total -= p->mem;
	lc->mem_evicted++;
	p->mem = 0;
	p->evicted = 1;
	p->dead = 1; /* its memory is what must go: no flush */
	conn_close(big, 0);
	return 1;
}

/* Brings c's count up to date and enforces the cap. */
static void mem_update(conn_t *c)
{
	struct conn_priv *p = c->priv;
	if (p->evicted || p->state == CONN_CLOSED)
		return;
	loop_conns_t *lc = loop_conns(c->loop);
	size_t now = mem_now(c);
	lc->mem_total = lc->mem_total - p->mem + now;
	p->mem = now;
	while (lc->mem_cap && lc->mem_total > lc->mem_cap && evict_largest(c->loop))
		;
}

void conn_set_held(conn_t *c, size_t bytes)
{
	c->priv->held = bytes;
	mem_update(c);
}

void conn_set_memory_cap(loop_t *loop, size_t bytes)
{
	loop_conns(loop)->mem_cap = bytes;
}

size_t conn_memory(loop_t *loop)
{
	return loop_conns(loop)->mem_total;
}

uint64_t conn_memory_evictions(loop_t *loop)
{
	return loop_conns(loop)->mem_evicted;
}

/* --- readiness and watermarks ---------------------------------------------- */

static void update_events(conn_t *c)
{
	struct conn_priv *p = c->priv;
	if (p->state == CONN_CLOSED)
		return;
	uint32_t ev = 0;
	if (p->ssl && !p->hs_done) {
		/* The handshake decides: readable always, writable when it
		 * said so. */
		ev = EPOLLIN | (p->tls_want_out ? EPOLLOUT : 0);
		loop_watch_mod(c->loop, &p->watch, ev);
		return;
	}
	if (p->state == CONN_OPEN && !p->eof && !p->above &&
	    !(p->paused && buf_len(&c->in) >= p->limits.max_input))
		ev |= EPOLLIN;
	if (p->write_blocked && sendable(c))
		ev |= p->tls_write_wants_in ? EPOLLIN : EPOLLOUT;
	if (p->tls_want_out)
		ev |= EPOLLOUT;
	loop_watch_mod(c->loop, &p->watch, ev);
}

static void check_high_water(conn_t *c)
{
	struct conn_priv *p = c->priv;
	if (!p->above && conn_out_pending(c) > p->limits.high_water) {
		p->above = 1;
		log_debug(conn_log(c), "conn %llu %s: %zu bytes unsent, reading paused",
		          (unsigned long long)c->id, c->peer, conn_out_pending(c));
	}
}

static void check_low_water(conn_t *c)
{
	struct conn_priv *p = c->priv;
	if (!p->above || conn_out_pending(c) >= p->limits.low_water)
		return;
	p->above = 0;
	if (p->state != CONN_OPEN)
		return;
	if (buf_len(&c->in) > 0)
		p->input_pending = 1;
	schedule(c);
	if (c->proto->on_drain)
		c->proto->on_drain(c);
}

/* --- input ------------------------------------------------------------------- */

/* Runs on_input for what is buffered. A protocol handles every complete
 * request in one call, so input at or over max_input after a call means
 * one request is larger than allowed; it gets one more call to show
 * progress (a protocol that stops early, e.g. after pausing, keeps its
 * connection) and is closed if it makes none. */
static void process_input(conn_t *c)
{
	struct conn_priv *p = c->priv;
	for (int round = 0; round < 8; round++) {
		if (p->in_input || p->paused || p->state != CONN_OPEN || buf_len(&c->in) == 0)
			break;
		size_t before = buf_len(&c->in);
		p->in_input = 1;
		int r = c->proto->on_input(c);
		p->in_input = 0;
		if (r < 0) {
			conn_close(c, 1);
			break;
		}
		size_t after = buf_len(&c->in);
		if (after < p->limits.max_input || p->paused || p->state != CONN_OPEN)
			break;
		if (after >= before) {
			log_info(
			    conn_log(c),
			    "conn %llu %s: %zu bytes of input without a complete request, closing",
			    (unsigned long long)c->id, c->peer, after);
			conn_close(c, 1);
			break;
		}
	}
	if (buf_len(&c->in) == 0)
		buf_shrink(&c->in, 0);
	check_high_water(c);
}

/* read(2), or a TLS read: bytes, 0 at the end of stream, or -1 with
 * errno (EAGAIN when nothing is there yet). */
static ssize_t sock_read(conn_t *c, void *buf, size_t n)
{
	struct conn_priv *p = c->priv;
	if (!p->ssl)
		return read(c->fd, buf, n);
	int want = 0;
	ssize_t r = tls_read(p->ssl, buf, n, &want);
	if (r >= 0)
		return r;
	if (r == TLS_AGAIN) {
		/* A read that must write first (a TLS 1.3 key update answer):
		 * wait for writability too. */
		p->tls_want_out = want == TLS_WANT_WRITE;
		errno = EAGAIN;
	} else {
		errno = EPROTO;
	}
	return -1;
}

/* The loop's shared read chunk (loop_conns_t.scratch); NULL when it
 * cannot be allocated, and the caller reads into the connection's own
 * buffer instead. */
static uint8_t *scratch_chunk(loop_t *loop)
{
	loop_conns_t *lc = loop_conns(loop);
	if (!lc->scratch)
		lc->scratch = malloc(READ_CHUNK);
	return lc->scratch;
}

static void do_read(conn_t *c)
{
	struct conn_priv *p = c->priv;
	size_t got = 0;
	/* A TLS record is at most 16 KiB: more reads fit the same bound. */
	int reads = p->ssl ? READS_PER_TURN * 4 : READS_PER_TURN;
	for (int i = 0; i < reads; i++) {
		if (p->paused && buf_len(&c->in) >= p->limits.max_input)
			break;
		/* A request being assembled (large ones) grows in place; any
		 * other read lands in the loop's scratch chunk and only what
		 * came is copied: an idle connection keeps no input buffer, and
		 * allocating 64 KiB for every short request cost more than the
		 * copy (and, under the sanitizers, most of a fuzz input's time). */
		uint8_t *dst = scratch_chunk(c->loop);
		size_t room = READ_CHUNK;
		int in_place = buf_len(&c->in) > 0 || !dst;
		if (in_place) {
			buf_reserve(&c->in, READ_CHUNK);
			dst = c->in.data + c->in.end;
			room = c->in.cap - c->in.end;
		}
		ssize_t n = sock_read(c, dst, room);
		if (n > 0) {
			if (in_place)
				buf_commit(&c->in, (size_t)n);
			else
				buf_append(&c->in, dst, (size_t)n);
			got += (size_t)n;
			if (((size_t)n < room && !p->ssl) || buf_len(&c->in) >= p->limits.max_input)
				break;
			continue;
		}
		if (n == 0) {
			p->eof = 1;
			break;
		}
		if (errno == EINTR) {
			i--;
			continue;
		}
		if (errno != EAGAIN) {
			log_debug(conn_log(c), "conn %llu %s: read: %s", (unsigned long long)c->id,
			          c->peer, strerror(errno));
			p->dead = 1;
			conn_close(c, 0);
			return;
		}
		break;
	}
	if (got > 0)
		process_input(c);
	/* TLS input OpenSSL already holds (read ahead, or a record larger than
	 * what was asked) will not be signalled by the socket again: the end
	 * of the turn reads it (conn_task), whatever else is scheduled. */
	if (p->ssl && p->state == CONN_OPEN && tls_pending(p->ssl))
		schedule(c);
	mem_update(c);
	if (p->eof && p->state == CONN_OPEN) {
		log_debug(conn_log(c), "conn %llu %s: peer closed its side",
		          (unsigned long long)c->id, c->peer);
		/* Replies to what it sent before its FIN still go out. */
		conn_close(c, 1);
	}
	update_events(c);
}

/* --- TLS handshake ---------------------------------------------------------- */

/* A failed handshake concerns this connection only: logged at info with
 * the peer, closed without a flush (nothing can be sent over a session
 * that never started). */
static void handshake_failed(conn_t *c, const char *why)
{
	struct conn_priv *p = c->priv;
	log_info(conn_log(c), "conn %llu %s: TLS handshake failed (%s listener): %s",
	         (unsigned long long)c->id, c->peer, p->listener[0] ? p->listener : "?", why);
	p->dead = 1;
	conn_close(c, 0);
}

static void on_handshake_timeout(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	conn_t *c = t->arg;
	if (c->priv->state == CONN_CLOSED || c->priv->hs_done)
		return;
	handshake_failed(c, "not finished in time");
}

static void do_read(conn_t *c);

static void handshake(conn_t *c)
{
	struct conn_priv *p = c->priv;
	if (p->state == CONN_CLOSED || p->dead)
		return;
	int want = 0;
	char why[256] = "";
	int r = tls_handshake(p->ssl, &want, why, sizeof why);
	if (r == TLS_AGAIN) {
		p->tls_want_out = want == TLS_WANT_WRITE;
		update_events(c);
		return;
	}
	if (r == TLS_FAIL) {
		handshake_failed(c, why);
		return;
	}
	p->hs_done = 1;
	p->tls_want_out = 0;
	loop_timer_stop(c->loop, &p->hs_timer);
	char desc[128];
	tls_describe(p->ssl, desc, sizeof desc);
	log_debug(conn_log(c), "conn %llu %s: TLS handshake done: %s", (unsigned long long)c->id,
	          c->peer, desc);
	/* Output queued meanwhile (on_open's) goes out now, and the client's
	 * first request may have come with its last handshake message. */
	schedule(c);
	if (p->state == CONN_OPEN)
		do_read(c);
	else
		update_events(c);
}

static void on_io(loop_t *loop, loop_watch_t *w, uint32_t events)
{
	(void)loop;
	conn_t *c = w->arg;
	struct conn_priv *p = c->priv;
	if (p->state == CONN_CLOSED)
		return;
	conn_ref(c);
	if (p->ssl && !p->hs_done) {
		handshake(c);
		conn_unref(c);
		return;
	}
	if (p->tls_write_wants_in && (events & EPOLLIN)) {
		p->tls_write_wants_in = 0;
		p->write_blocked = 0;
		schedule(c);
	}
	if (p->tls_want_out && (events & EPOLLOUT)) {
		/* The read that had to write first runs again. */
		p->tls_want_out = 0;
		events |= EPOLLIN;
	}
	if (events & EPOLLOUT) {
		p->write_blocked = 0;
		schedule(c);
	}
	if (events & EPOLLIN) {
		if (p->state == CONN_OPEN)
			do_read(c);
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		/* Reset, or both directions shut: nothing can be sent any more. */
		p->dead = 1;
		conn_close(c, 0);
	}
	conn_unref(c);
}

/* --- end of turn ---------------------------------------------------------- */

static void on_linger(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	conn_t *c = t->arg;
	log_debug(conn_log(c), "conn %llu %s: flush on close timed out with %zu bytes unsent",
	          (unsigned long long)c->id, c->peer, conn_out_pending(c));
	finish_close(c);
}

static void conn_task(loop_t *loop, loop_task_t *task)
{
	(void)loop;
	conn_t *c = task->arg;
	struct conn_priv *p = c->priv;
	if (p->state == CONN_CLOSED)
		return;
	conn_ref(c);
	if (p->input_pending && !p->paused && !p->above && p->state == CONN_OPEN) {
		p->input_pending = 0;
		process_input(c);
	}
	if (p->ssl && p->hs_done && p->state == CONN_OPEN && !p->eof && !p->above &&
	    !(p->paused && buf_len(&c->in) >= p->limits.max_input) && tls_pending(p->ssl))
		do_read(c); /* decrypted bytes the socket will not signal again */
	if (!p->dead && !p->write_blocked && (!p->ssl || p->hs_done) && flush(c) < 0) {
		p->dead = 1;
		if (p->state == CONN_OPEN)
			conn_close(c, 0);
	}
	mem_update(c);
	if (p->state == CONN_OPEN) {
		check_high_water(c);
		check_low_water(c);
		update_events(c);
	} else if (p->state == CONN_CLOSING) {
		if (p->dead || !p->close_flush || (conn_out_pending(c) == 0 && p->holds == 0)) {
			finish_close(c);
		} else {
			if (!loop_timer_armed(&p->linger))
				loop_timer_start(c->loop, &p->linger, CLOSE_LINGER_MS);
			update_events(c);
		}
	}
	conn_unref(c);
}

/* --- busy passes ----------------------------------------------------------- */

typedef struct {
	const proto_t *accept;
	int (*admit)(conn_t *c, void *arg);
	void *arg;
} busy_ctx_t;

static int busy_admit(loop_watch_t *w, void *arg)
{
	busy_ctx_t *x = arg;
	if (w->fn != on_io)
		return x->accept && listener_watch_proto(w) == x->accept;
	conn_t *c = w->arg;
	return c->priv->state == CONN_OPEN && x->admit(c, x->arg);
}

/* The pass runs no end-of-turn tasks: what the admitted connections have
 * queued, in this pass or earlier in the turn that is still running, is
 * sent now (their task, still queued, runs after the turn). */
static void busy_flush(conn_t *c, void *arg)
{
	busy_ctx_t *x = arg;
	struct conn_priv *p = c->priv;
	if (p->state != CONN_OPEN || p->dead || p->write_blocked || (p->ssl && !p->hs_done) ||
	    !conn_out_pending(c) || !x->admit(c, x->arg))
		return;
	if (flush(c) < 0) {
		p->dead = 1;
		conn_close(c, 0);
	}
}

int conn_busy_pass(loop_t *loop, const proto_t *accept, int (*admit)(conn_t *c, void *arg),
                   void *arg)
{
	busy_ctx_t x = {.accept = accept, .admit = admit, .arg = arg};
	int r = loop_busy_pass(loop, busy_admit, &x);
	conn_foreach(loop, busy_flush, &x);
	return r;
}

/* --- lifetime ------------------------------------------------------------ */

void conn_close(conn_t *c, int flush_first)
{
	struct conn_priv *p = c->priv;
	if (p->state == CONN_CLOSED)
		return;
	if (p->state == CONN_OPEN) {
		p->close_flush = flush_first ? 1 : 0;
		set_state(c, CONN_CLOSING);
	} else if (!flush_first) {
		p->close_flush = 0; /* a hard close overrides a flushing one */
	}
	schedule(c);
}

void conn_abort(conn_t *c)
{
	if (c->priv->state == CONN_CLOSED)
		return;
	c->priv->dead = 1;
	conn_close(c, 0);
}

int conn_is_closed(const conn_t *c)
{
	return c->priv->state != CONN_OPEN;
}

void conn_ref(conn_t *c)
{
	c->priv->refs++;
}

void conn_unref(conn_t *c)
{
	struct conn_priv *p = c->priv;
	if (--p->refs > 0)
		return;
	if (p->state != CONN_CLOSED)
		abort(); /* the loop's reference was dropped twice */
	buf_deinit(&p->discard);
	free((conn_full_t *)c);
}

static void list_unlink(conn_t *c)
{
	loop_conns_t *lc = loop_conns(c->loop);
	struct conn_priv *p = c->priv;
	if (p->prev)
		p->prev->priv->next = p->next;
	else
		lc->head = p->next;
	if (p->next)
		p->next->priv->prev = p->prev;
	p->prev = p->next = NULL;
	lc->n--;
}

/* Closing a socket with unread input makes the kernel send a reset, and a
 * reset can destroy the reply the peer has not read yet (the "bye" after a
 * quit that was followed by more pipelined requests). After a flushing
 * close, read away what already arrived so the peer gets a plain FIN. */
static void discard_unread(conn_t *c)
{
	char scratch[16384];
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(c->fd, scratch, sizeof scratch);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			return;
	}
}

static void finish_close(conn_t *c)
{
	struct conn_priv *p = c->priv;
	if (p->state == CONN_CLOSED)
		return;
	if (p->state == CONN_OPEN)
		set_state(c, CONN_CLOSING);
	log_debug(conn_log(c), "conn %llu %s: closed", (unsigned long long)c->id, c->peer);
	list_unlink(c);
	loop_conns(c->loop)->mem_total -= p->mem;
	p->mem = 0;
	p->evicted = 1; /* counted no more */
	/* on_close runs while the queue and holds are intact (it may complete
	 * holds itself) and before the state says CLOSED. */
	if (p->opened && c->proto->on_close)
		c->proto->on_close(c);
	set_state(c, CONN_CLOSED);
	loop_task_cancel(c->loop, &p->task);
	loop_timer_stop(c->loop, &p->linger);
	loop_timer_stop(c->loop, &p->hs_timer);
	loop_watch_del(c->loop, &p->watch);
	if (p->ssl) {
		tls_ssl_free(p->ssl, p->hs_done && !p->dead);
		p->ssl = NULL;
	}
	if (p->close_flush && !p->dead)
		discard_unread(c);
	close(c->fd);
	c->fd = -1;
	while (p->head) {
		chunk_t *ch = queue_pop(c);
		if (ch->kind == OUT_HOLD)
			ch->orphan = 1; /* freed by conn_hold_done */
		else
			chunk_free(ch);
	}
	p->sealed = 0;
	p->file_pending = 0;
	p->holds = 0;
	buf_deinit(&c->in);
	conn_unref(c);
}

/* --- input control -------------------------------------------------------- */

void conn_pause(conn_t *c)
{
	c->priv->paused = 1;
	if (!c->priv->in_input)
		update_events(c);
}

void conn_resume(conn_t *c)
{
	struct conn_priv *p = c->priv;
	if (!p->paused)
		return;
	p->paused = 0;
	if (buf_len(&c->in) > 0)
		p->input_pending = 1;
	schedule(c);
	if (!p->in_input)
		update_events(c);
}

int conn_paused(const conn_t *c)
{
	return c->priv->paused;
}

/* --- creation -------------------------------------------------------------- */

/* Writes the peer's printable name; returns whether it is local (see
 * conn_peer_is_local). */
static int format_peer(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN];
	snprintf(out, size, "unknown");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	int local = 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(out, size, "%s:%u", host, ntohs(sin->sin_port));
		local = ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(out, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
		static const uint8_t mapped_lo[16] = {0, 0, 0,    0,    0,   0, 0, 0,
		                                      0, 0, 0xff, 0xff, 127, 0, 0, 1};
		local = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		        memcmp(&sin6->sin6_addr, mapped_lo, 16) == 0;
	} else if (ss.ss_family == AF_UNIX) {
		local = 1;
		/* A unix client is unnamed; the socket it came through (the
		 * listener's path) is what tells connections apart in logs. */
		struct sockaddr_un sun;
		socklen_t sl = sizeof sun;
		if (getsockname(fd, (struct sockaddr *)&sun, &sl) == 0 &&
		    sl > offsetof(struct sockaddr_un, sun_path) && sun.sun_path[0])
			snprintf(out, size, "unix:%.*s",
			         (int)(sl - offsetof(struct sockaddr_un, sun_path)), sun.sun_path);
		else
			snprintf(out, size, "unix");
	}
	return local;
}

conn_t *conn_new(loop_t *loop, int fd, const proto_t *proto, void *srv, const conn_limits_t *limits)
{
	return conn_new_tls(loop, fd, proto, srv, limits, NULL, NULL);
}

conn_t *conn_new_tls(loop_t *loop, int fd, const proto_t *proto, void *srv,
                     const conn_limits_t *limits, tls_ctx_t *tls, const char *listener)
{
	conn_full_t *full = calloc(1, sizeof *full);
	if (!full)
		abort();
	conn_t *c = &full->c;
	struct conn_priv *p = &full->p;
	loop_conns_t *lc = loop_conns(loop);
	c->priv = p;
	c->id = ++lc->next_id;
	c->fd = fd;
	c->srv = srv;
	c->proto = proto;
	c->loop = loop;
	buf_init(&c->in);
	p->local = format_peer(fd, c->peer, sizeof c->peer) ? 1 : 0;
	p->refs = 1;
	p->state = CONN_OPEN;
	p->limits.max_input = limits && limits->max_input ? limits->max_input : DEFAULT_MAX_INPUT;
	p->limits.high_water =
	    limits && limits->high_water ? limits->high_water : DEFAULT_HIGH_WATER;
	p->limits.low_water = limits && limits->low_water ? limits->low_water : DEFAULT_LOW_WATER;
	if (p->limits.low_water > p->limits.high_water)
		p->limits.low_water = p->limits.high_water;
	buf_init(&p->discard);
	loop_task_init(&p->task, conn_task, c);
	loop_timer_init(&p->linger, on_linger, c);
	loop_timer_init(&p->hs_timer, on_handshake_timeout, c);
	if (listener)
		snprintf(p->listener, sizeof p->listener, "%s", listener);

	/* Everything here assumes a non-blocking socket; accept4 gives one,
	 * but a caller-made socket (tests) may not be. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);

	/* Replies are coalesced per turn already; Nagle would only add delay.
	 * Fails harmlessly on non-TCP sockets (tests use socketpairs). */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

	if (tls) {
		p->ssl = tls_ssl_new(tls, fd);
		if (!p->ssl) {
			log_warn(loop_log(loop), "conn %s: cannot start a TLS session", c->peer);
			close(fd);
			free(full);
			return NULL;
		}
	}
	if (loop_watch_add(loop, &p->watch, fd, EPOLLIN, on_io, c) < 0) {
		tls_ssl_free(p->ssl, 0);
		close(fd);
		free(full);
		return NULL;
	}
	if (tls)
		loop_timer_start(loop, &p->hs_timer, tls_ctx_handshake_timeout_ms(tls));
	p->next = lc->head;
	if (lc->head)
		lc->head->priv->prev = c;
	lc->head = c;
	lc->n++;
	log_debug(loop_log(loop), "conn %llu %s: accepted (%s)", (unsigned long long)c->id, c->peer,
	          proto->name ? proto->name : "?");
	if (proto->on_open && proto->on_open(c, srv) < 0) {
		log_debug(loop_log(loop), "conn %llu %s: refused by %s", (unsigned long long)c->id,
		          c->peer, proto->name ? proto->name : "?");
		finish_close(c);
		return NULL;
	}
	p->opened = 1;
	return c;
}

int conn_is_tls(const conn_t *c)
{
	return c->priv->ssl != NULL;
}

const char *conn_listener(const conn_t *c)
{
	return c->priv->listener;
}

int conn_peer_is_local(const conn_t *c)
{
	return c->priv->local;
}

const conn_limits_t *conn_get_limits(const conn_t *c)
{
	return &c->priv->limits;
}

size_t conn_count(loop_t *loop)
{
	return loop_conns(loop)->n;
}

void conn_foreach(loop_t *loop, void (*fn)(conn_t *c, void *arg), void *arg)
{
	conn_t *c = loop_conns(loop)->head;
	while (c) {
		conn_t *next = c->priv->next;
		fn(c, arg);
		c = next;
	}
}

void conn_close_all(loop_t *loop)
{
	loop_conns_t *lc = loop_conns(loop);
	while (lc->head)
		finish_close(lc->head);
	free(lc->scratch);
	lc->scratch = NULL;
}

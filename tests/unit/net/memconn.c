/*
 * memconn.c — the in-memory connection for protocol unit tests (see
 * memconn.h). Test code, loop thread only.
 */
#include "memconn.h"

#include "test.h"

#include "core/err.h"
#include "core/time.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUMP_MAX_TURNS 100000

memconn_t *memconn_new(loop_t *loop, const proto_t *proto, void *srv, const conn_limits_t *limits)
{
	int sp[2];
	CHECK_MSG(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0,
	          "socketpair: %s", strerror(errno));
	memconn_t *m = calloc(1, sizeof *m);
	CHECK(m != NULL);
	m->own_loop = loop == NULL;
	m->loop = loop ? loop : loop_new(NULL);
	CHECK(m->loop != NULL);
	m->fd = sp[1];
	buf_init(&m->rx);
	m->conn = conn_new(m->loop, sp[0], proto, srv, limits);
	if (!m->conn) {
		close(m->fd);
		if (m->own_loop)
			loop_free(m->loop);
		free(m);
		return NULL;
	}
	conn_ref(m->conn);
	return m;
}

/* Moves whatever the server sent into m->rx. */
static void drain_client(memconn_t *m)
{
	if (m->fd < 0)
		return;
	for (;;) {
		/* Through a stack buffer: reserving 64 KiB in rx on every call
		 * doubled it past what arrived, and the fuzz harness paid for
		 * those allocations on every input. */
		uint8_t tmp[16384];
		ssize_t n = read(m->fd, tmp, sizeof tmp);
		if (n > 0) {
			buf_append(&m->rx, tmp, (size_t)n);
			continue;
		}
		if (n == 0)
			m->eof = 1;
		else if (errno == EINTR)
			continue;
		else if (errno == ECONNRESET)
			m->eof = 1;
		return;
	}
}

void memconn_pump(memconn_t *m)
{
	for (int i = 0; i < PUMP_MAX_TURNS; i++) {
		drain_client(m);
		CHECK_EQ(loop_run_once(m->loop, 0), 0);
		if (loop_turn_work(m->loop) == 0) {
			drain_client(m);
			return;
		}
	}
	test_fail(__FILE__, __LINE__, "memconn_pump: loop still busy after %d turns",
	          PUMP_MAX_TURNS);
}

void memconn_send(memconn_t *m, const void *p, size_t n)
{
	const uint8_t *b = p;
	CHECK(m->fd >= 0);
	for (int spins = 0; n > 0; spins++) {
		CHECK_MSG(spins < PUMP_MAX_TURNS, "memconn_send: server does not read");
		ssize_t w = write(m->fd, b, n);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		CHECK_MSG(w < 0 && (errno == EAGAIN || errno == EINTR), "memconn_send: %s",
		          strerror(errno));
		/* The socket is full: let the server read (one turn at a time,
		 * since a pump would also run until the server is idle). */
		drain_client(m);
		CHECK_EQ(loop_run_once(m->loop, 0), 0);
	}
}

void memconn_send_str(memconn_t *m, const char *s)
{
	memconn_send(m, s, strlen(s));
}

size_t memconn_recv(memconn_t *m, buf_t *out)
{
	memconn_pump(m);
	size_t n = buf_len(&m->rx);
	buf_append(out, buf_data(&m->rx), n);
	buf_reset(&m->rx);
	return n;
}

int memconn_recv_wait(memconn_t *m, buf_t *out, size_t n, int timeout_ms)
{
	int64_t deadline = time_mono_ms() + timeout_ms;
	memconn_pump(m);
	while (buf_len(&m->rx) < n && !m->eof) {
		int64_t left = deadline - time_mono_ms();
		if (left <= 0)
			break;
		CHECK_EQ(loop_run_once(m->loop, left < 10 ? (int)left : 10), 0);
		memconn_pump(m);
	}
	int ok = buf_len(&m->rx) >= n;
	buf_append(out, buf_data(&m->rx), buf_len(&m->rx));
	buf_reset(&m->rx);
	return ok ? 0 : SL_EAGAIN;
}

/* Appends a printable form of p[0..n) to out, at most 300 bytes of it. */
static void escape(buf_t *out, const uint8_t *p, size_t n)
{
	size_t shown = n < 300 ? n : 300;
	for (size_t i = 0; i < shown; i++) {
		if (p[i] == '\r')
			buf_puts(out, "\\r");
		else if (p[i] == '\n')
			buf_puts(out, "\\n");
		else if (p[i] == '\\')
			buf_puts(out, "\\\\");
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			buf_put_u8(out, p[i]);
		else
			buf_printf(out, "\\x%02x", p[i]);
	}
	if (shown < n)
		buf_printf(out, "... (%zu bytes)", n);
	buf_put_u8(out, 0);
}

void memconn_expect(memconn_t *m, const void *want, size_t n)
{
	buf_t got = BUF_INIT;
	memconn_recv(m, &got);
	if (buf_len(&got) != n || (n > 0 && memcmp(buf_data(&got), want, n) != 0)) {
		buf_t a = BUF_INIT, b = BUF_INIT;
		escape(&a, buf_data(&got), buf_len(&got));
		escape(&b, want, n);
		test_fail(__FILE__, __LINE__, "memconn_expect: got \"%s\", want \"%s\"",
		          (const char *)buf_data(&a), (const char *)buf_data(&b));
	}
	buf_deinit(&got);
}

void memconn_expect_str(memconn_t *m, const char *want)
{
	memconn_expect(m, want, strlen(want));
}

int memconn_server_closed(memconn_t *m)
{
	memconn_pump(m);
	return m->eof;
}

void memconn_shutdown(memconn_t *m)
{
	if (m->fd >= 0)
		shutdown(m->fd, SHUT_WR);
}

void memconn_close_client(memconn_t *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

void memconn_free(memconn_t *m)
{
	if (!m)
		return;
	/* A hard close (also ends a flushing close); on_close and the end of
	 * the socket happen at the end of the next turn. */
	conn_close(m->conn, 0);
	loop_run_once(m->loop, 0);
	conn_unref(m->conn);
	memconn_close_client(m);
	buf_deinit(&m->rx);
	if (m->own_loop)
		loop_free(m->loop);
	free(m);
}

/*
 * tproto.c — the test line protocol and socket helpers (see tproto.h).
 * Test code, loop thread only.
 */
#include "tproto.h"

#include "test.h"

#include "core/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

typedef struct tconn {
	uint64_t req; /* requests handled on this connection */
	tsrv_t *srv;
} tconn_t;

static int t_open(conn_t *c, void *srv)
{
	tsrv_t *s = srv;
	if (s->refuse)
		return -1;
	tconn_t *t = calloc(1, sizeof *t);
	CHECK(t != NULL);
	t->srv = s;
	c->pdata = t;
	s->opens++;
	s->last = c;
	if (s->sndbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf, sizeof s->sndbuf);
	return 0;
}

static int t_input(conn_t *c)
{
	tconn_t *t = c->pdata;
	tsrv_t *s = t->srv;
	if (s->in_input)
		s->reentered = 1;
	s->in_input = 1;
	s->inputs++;
	int rc = 0;
	while (!conn_paused(c) && !conn_is_closed(c)) {
		uint8_t *p = buf_data(&c->in);
		size_t len = buf_len(&c->in);
		uint8_t *nl = memchr(p, '\n', len);
		if (!nl)
			break;
		size_t n = (size_t)(nl - p);
		uint64_t k = t->req++;
		s->requests++;
		if (n > 4 && memcmp(p, "big ", 4) == 0) {
			size_t size = strtoul((const char *)p + 4, NULL, 10);
			buf_t *out = conn_out(c);
			uint8_t *w = buf_reserve(out, size);
			for (size_t j = 0; j < size; j++)
				w[j] = tproto_pattern(k, j);
			buf_commit(out, size);
		} else if (n == 5 && memcmp(p, "pause", 5) == 0) {
			conn_pause(c);
		} else if (n == 4 && memcmp(p, "quit", 4) == 0) {
			conn_write(c, "bye\n", 4);
			conn_close(c, 1);
		} else if (n == 3 && memcmp(p, "bad", 3) == 0) {
			conn_write(c, "ERR\n", 4);
			rc = -1;
			buf_consume(&c->in, n + 1);
			break;
		} else {
			conn_write(c, p, n + 1);
		}
		buf_consume(&c->in, n + 1);
	}
	s->in_input = 0;
	return rc;
}

static void t_drain(conn_t *c)
{
	tconn_t *t = c->pdata;
	t->srv->drains++;
}

static void t_close(conn_t *c)
{
	tconn_t *t = c->pdata;
	t->srv->closes++;
	free(t);
	c->pdata = NULL;
}

const proto_t tproto = {
    .name = "tproto",
    .on_open = t_open,
    .on_input = t_input,
    .on_drain = t_drain,
    .on_close = t_close,
};

int tcli_connect(int port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	if (rcvbuf > 0)
		CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A loopback connect completes from the backlog, before any accept. */
	CHECK_MSG(connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0, "connect: %s",
	          strerror(errno));
	CHECK_EQ(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	/* Small requests must leave at once, not wait for an ACK (Nagle). */
	int one = 1;
	CHECK_EQ(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
	return fd;
}

void tcli_send(loop_t *loop, int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (int spins = 0; n > 0; spins++) {
		CHECK_MSG(spins < 100000, "tcli_send: peer does not read");
		ssize_t w = write(fd, b, n);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		CHECK_MSG(w < 0 && (errno == EAGAIN || errno == EINTR), "tcli_send: %s",
		          strerror(errno));
		CHECK_EQ(loop_run_once(loop, 10), 0);
	}
}

int tcli_read(int fd, buf_t *out, size_t max)
{
	size_t got = 0;
	for (;;) {
		size_t want = 64 * 1024;
		if (max && max - got < want)
			want = max - got;
		if (want == 0)
			return 0;
		uint8_t *p = buf_reserve(out, want);
		ssize_t n = read(fd, p, want);
		if (n > 0) {
			buf_commit(out, (size_t)n);
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		return 1; /* reset */
	}
}

int tcli_read_until(loop_t *loop, int fd, buf_t *out, size_t n)
{
	int64_t deadline = time_mono_ms() + 20000;
	int eof = tcli_read(fd, out, 0);
	while (buf_len(out) < n && !eof) {
		CHECK_MSG(time_mono_ms() < deadline, "tcli_read_until: %zu of %zu bytes",
		          buf_len(out), n);
		CHECK_EQ(loop_run_once(loop, 10), 0);
		eof = tcli_read(fd, out, 0);
	}
	return eof;
}

void tcli_wait_eof(loop_t *loop, int fd, buf_t *out)
{
	int64_t deadline = time_mono_ms() + 20000;
	while (!tcli_read(fd, out, 0)) {
		CHECK_MSG(time_mono_ms() < deadline, "tcli_wait_eof: no EOF");
		CHECK_EQ(loop_run_once(loop, 10), 0);
	}
}

void tcheck_no_leaks(void)
{
#if defined(__SANITIZE_ADDRESS__)
	CHECK_MSG(__lsan_do_recoverable_leak_check() == 0, "LeakSanitizer found leaks");
#endif
}

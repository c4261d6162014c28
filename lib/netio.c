/*
 * netio.c — blocking TCP with deadlines for libsluice's own protocol
 * clients (see netio.h). The socket stays non-blocking; every wait is a
 * poll() bounded by the caller's deadline, retried on EINTR.
 */
#include "netio.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int64_t lib_net_deadline(int64_t timeout_ms)
{
	return timeout_ms < 0 ? -1 : lib_now_ms() + timeout_ms;
}

int lib_net_split(const char *addr, char *host, size_t cap, int *port)
{
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1])
		return lib_err(SL_EINVAL, "%.200s: expected host:port", addr);
	const char *h = addr;
	size_t hl = (size_t)(colon - addr);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	long p = 0;
	for (const char *q = colon + 1; *q; q++) {
		if (*q < '0' || *q > '9' || (p = p * 10 + (*q - '0')) > 65535)
			return lib_err(SL_EINVAL, "%.200s: bad port", addr);
	}
	if (p == 0 || hl == 0 || hl >= cap)
		return lib_err(SL_EINVAL, "%.200s: expected host:port", addr);
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

/* Waits for events on fd until deadline: 0 ready, SL_ETIMEDOUT, SL_EIO. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int ms = -1;
		if (deadline >= 0) {
			int64_t left = deadline - lib_now_ms();
			if (left <= 0)
				return SL_ETIMEDOUT;
			ms = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd pfd = {.fd = fd, .events = events};
		int r = poll(&pfd, 1, ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return SL_EIO;
	}
}

static int connect_one(const struct addrinfo *ai, int64_t deadline, int *out)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int e = errno;
		if (e != EINPROGRESS) {
			close(fd);
			return -e;
		}
		if (wait_fd(fd, POLLOUT, deadline) == SL_ETIMEDOUT) {
			close(fd);
			return -ETIMEDOUT;
		}
		socklen_t sl = sizeof e;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
			e = errno;
		if (e) {
			close(fd);
			return -e;
		}
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*out = fd;
	return 0;
}

int lib_net_open(lib_conn *c, const char *addr, int timeout_ms)
{
	c->fd = -1;
	c->start = c->end = 0;
	char host[256], port[8];
	int p;
	int rc = lib_net_split(addr, host, sizeof host, &p);
	if (rc)
		return rc;
	snprintf(port, sizeof port, "%d", p);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai)
		return lib_err(SL_EIO, "%.200s: %s", addr, gai_strerror(gai));
	int64_t deadline = lib_net_deadline(timeout_ms);
	int e = -ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		e = connect_one(ai, deadline, &c->fd);
		if (e == 0 || e == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (e == -ETIMEDOUT)
		return lib_err(SL_ETIMEDOUT, "connect %.200s: timed out after %d ms", addr,
		               timeout_ms);
	if (e)
		return lib_err(SL_EIO, "connect %.200s: %s", addr, strerror(-e));
	return 0;
}

void lib_net_close(lib_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->start = c->end = 0;
}

int lib_net_writev(lib_conn *c, struct iovec *iov, int n, int64_t deadline)
{
	if (c->fd < 0)
		return lib_err(SL_ECLOSED, "connection is closed");
	while (n > 0) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return lib_err(SL_EIO, "write: %s", strerror(errno));
			int rc = wait_fd(c->fd, POLLOUT, deadline);
			if (rc == SL_ETIMEDOUT)
				return lib_err(SL_ETIMEDOUT, "write: timed out");
			if (rc)
				return lib_err(SL_EIO, "write: %s", strerror(errno));
			continue;
		}
		size_t done = (size_t)w;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* Reads more bytes into the buffer (compacting it first). */
static int fill(lib_conn *c, int64_t deadline)
{
	if (c->fd < 0)
		return lib_err(SL_ECLOSED, "connection is closed");
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	for (;;) {
		ssize_t r = recv(c->fd, c->buf + c->end, sizeof c->buf - c->end, 0);
		if (r > 0) {
			c->end += (size_t)r;
			return 0;
		}
		if (r == 0)
			return lib_err(SL_EIO, "connection closed by the server");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return lib_err(SL_EIO, "read: %s", strerror(errno));
		int rc = wait_fd(c->fd, POLLIN, deadline);
		if (rc == SL_ETIMEDOUT)
			return lib_err(SL_ETIMEDOUT, "no reply from the server in time");
		if (rc)
			return lib_err(SL_EIO, "read: %s", strerror(errno));
	}
}

int lib_net_read_line(lib_conn *c, char *line, size_t cap, int64_t deadline)
{
	size_t scanned = 0;
	for (;;) {
		const char *base = c->buf + c->start;
		size_t have = c->end - c->start;
		const char *nl =
		    have > scanned ? memchr(base + scanned, '\n', have - scanned) : NULL;
		if (nl) {
			size_t len = (size_t)(nl - base);
			if (len == 0 || base[len - 1] != '\r')
				return lib_err(SL_EPROTO, "reply line without CRLF");
			len--;
			if (len + 1 > cap)
				return lib_err(SL_ETOOBIG, "reply line longer than %zu bytes",
				               cap - 1);
			memcpy(line, base, len);
			line[len] = '\0';
			c->start += len + 2;
			return (int)len;
		}
		scanned = have;
		if (have >= cap + 1 || have == sizeof c->buf)
			return lib_err(SL_ETOOBIG, "reply line longer than %zu bytes", cap - 1);
		int rc = fill(c, deadline);
		if (rc)
			return rc;
	}
}

int lib_net_read_exact(lib_conn *c, void *dst, size_t n, int64_t deadline)
{
	char *out = dst;
	while (n > 0) {
		size_t have = c->end - c->start;
		if (have == 0) {
			/* Large bodies go straight to dst, skipping the buffer. */
			if (n >= sizeof c->buf) {
				ssize_t r = recv(c->fd, out, n, 0);
				if (r > 0) {
					out += r;
					n -= (size_t)r;
					continue;
				}
				if (r == 0)
					return lib_err(SL_EIO, "connection closed by the server");
				if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
					return lib_err(SL_EIO, "read: %s", strerror(errno));
			}
			int rc = fill(c, deadline);
			if (rc)
				return rc;
			continue;
		}
		size_t take = have < n ? have : n;
		memcpy(out, c->buf + c->start, take);
		c->start += take;
		out += take;
		n -= take;
	}
	return 0;
}

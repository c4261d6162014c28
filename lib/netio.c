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
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
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
	c->ssl = NULL;
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
	if (c->ssl)
		SSL_free(c->ssl); /* no close_notify: the socket closes next */
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->start = c->end = 0;
}

/* --- TLS ---------------------------------------------------------------------- */

/* Waits for what OpenSSL asked for after ret; 0 to retry, else the error. */
static int tls_wait(lib_conn *c, int ret, int64_t deadline, const char *what)
{
	int e = SSL_get_error(c->ssl, ret);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		int rc = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (rc == SL_ETIMEDOUT)
			return lib_err(SL_ETIMEDOUT, "%s: timed out", what);
		return rc ? lib_err(SL_EIO, "%s: %s", what, strerror(errno)) : 0;
	}
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
		return lib_err(SL_EIO, "connection closed by the server");
	char msg[256];
	ERR_error_string_n(ERR_get_error(), msg, sizeof msg);
	ERR_clear_error();
	return lib_err(SL_EIO, "%s: TLS: %s", what, msg);
}

static int tls_writev(lib_conn *c, struct iovec *iov, int n, int64_t deadline)
{
	for (int i = 0; i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left > 0) {
			int chunk = left > (1 << 30) ? 1 << 30 : (int)left;
			int w = SSL_write(c->ssl, p, chunk);
			if (w > 0) {
				p += w;
				left -= (size_t)w;
				continue;
			}
			int rc = tls_wait(c, w, deadline, "write");
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int tls_fill(lib_conn *c, int64_t deadline)
{
	for (;;) {
		int r = SSL_read(c->ssl, c->buf + c->end, (int)(sizeof c->buf - c->end));
		if (r > 0) {
			c->end += (size_t)r;
			return 0;
		}
		int rc = tls_wait(c, r, deadline, "read");
		if (rc == SL_ETIMEDOUT)
			return lib_err(SL_ETIMEDOUT, "no reply from the server in time");
		if (rc)
			return rc;
	}
}

int lib_net_open_tls(lib_conn *c, const char *addr, const char *ca_file, int timeout_ms)
{
	int rc = lib_net_open(c, addr, timeout_ms);
	if (rc)
		return rc;
	char host[256];
	int port;
	(void)lib_net_split(addr, host, sizeof host, &port);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		lib_net_close(c);
		return lib_err(SL_ENOMEM, "TLS: out of memory");
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	int ok = ca_file && *ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
	                             : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		SSL_CTX_free(ctx);
		lib_net_close(c);
		ERR_clear_error();
		return lib_err(SL_EINVAL, "TLS: cannot load the CA file %.200s",
		               ca_file && *ca_file ? ca_file : "(system default)");
	}
	c->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the SSL holds its own reference */
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		lib_net_close(c);
		return lib_err(SL_ENOMEM, "TLS: out of memory");
	}
	/* The certificate must name what was dialled: an IP address against
	 * its IP SANs, a host name against its DNS names (and SNI). */
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
		SSL_set_tlsext_host_name(c->ssl, host);
	}
	int64_t deadline = lib_net_deadline(timeout_ms);
	for (;;) {
		int r = SSL_connect(c->ssl);
		if (r == 1)
			return 0;
		long v = SSL_get_verify_result(c->ssl);
		rc = v != X509_V_OK
		         ? lib_err(SL_EIO, "TLS %.200s: certificate verification failed: %s", addr,
		                   X509_verify_cert_error_string(v))
		         : tls_wait(c, r, deadline, "TLS handshake");
		if (rc) {
			ERR_clear_error();
			lib_net_close(c);
			return rc;
		}
	}
}

/* --- plaintext and TLS ---------------------------------------------------------- */

int lib_net_writev(lib_conn *c, struct iovec *iov, int n, int64_t deadline)
{
	if (c->fd < 0)
		return lib_err(SL_ECLOSED, "connection is closed");
	if (c->ssl)
		return tls_writev(c, iov, n, deadline);
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
	if (c->ssl)
		return tls_fill(c, deadline);
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
			if (n >= sizeof c->buf && !c->ssl) {
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

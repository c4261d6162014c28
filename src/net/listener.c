/*
 * listener.c — a non-blocking TCP listener (see listener.h). Loop thread
 * only.
 *
 * Each readable event accepts up to ACCEPTS_PER_TURN connections with
 * accept4(SOCK_NONBLOCK | SOCK_CLOEXEC), so one busy port cannot starve the
 * rest of the turn. Running out of descriptors (EMFILE/ENFILE) must not make
 * the level-triggered listener spin: the listener keeps one spare
 * descriptor, gives it up to accept the waiting connection and close it at
 * once (the client sees the connection end instead of hanging), then takes
 * it back. If even that fails, accepting is paused for ACCEPT_BACKOFF_MS.
 */
#include "net/listener.h"

#include "core/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_TURN 64
#define ACCEPT_BACKOFF_MS 100
#define LISTEN_BACKLOG 511

struct listener {
	loop_t *loop;
	int fd;
	int port;
	int spare_fd; /* reserved for shedding connections on EMFILE */
	const proto_t *proto;
	void *srv;
	conn_limits_t limits;
	loop_watch_t watch;
	loop_timer_t backoff;
};

static const log_t *llog(const listener_t *l)
{
	return loop_log(l->loop);
}

static void take_spare(listener_t *l)
{
	if (l->spare_fd < 0)
		l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of descriptors with connections waiting: accept and drop them. */
static void shed(listener_t *l)
{
	if (l->spare_fd >= 0) {
		close(l->spare_fd);
		l->spare_fd = -1;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		take_spare(l);
		if (fd >= 0)
			return;
	}
	/* No spare to give up: stop listening for a moment instead of
	 * spinning on a readiness we cannot act on. */
	loop_watch_mod(l->loop, &l->watch, 0);
	loop_timer_start(l->loop, &l->backoff, ACCEPT_BACKOFF_MS);
}

static void on_backoff(loop_t *loop, loop_timer_t *t)
{
	listener_t *l = t->arg;
	take_spare(l);
	loop_watch_mod(loop, &l->watch, EPOLLIN);
}

static void on_accept(loop_t *loop, loop_watch_t *w, uint32_t events)
{
	(void)events;
	listener_t *l = w->arg;
	for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (e == EAGAIN || e == ECONNABORTED || e == EPROTO)
				return;
			if (e == EINTR)
				continue;
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
				log_warn(llog(l),
				         "listener %s port %d: accept: %s; dropping a connection",
				         l->proto->name ? l->proto->name : "?", l->port,
				         strerror(e));
				shed(l);
				return;
			}
			log_error(llog(l), "listener port %d: accept: %s", l->port, strerror(e));
			return;
		}
		conn_new(loop, fd, l->proto, l->srv, &l->limits);
	}
}

listener_t *listener_new(loop_t *loop, const char *addr, int port, const proto_t *proto, void *srv,
                         const conn_limits_t *limits, int *err)
{
	int err_local;
	if (!err)
		err = &err_local;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", port);
	int gai = getaddrinfo(addr, portstr, &hints, &res);
	if (gai != 0) {
		log_error(loop_log(loop), "listen %s:%d: %s", addr ? addr : "*", port,
		          gai_strerror(gai));
		*err = SL_EIO;
		return NULL;
	}
	int fd = -1;
	int e = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		log_error(loop_log(loop), "listen %s:%d: %s", addr ? addr : "*", port, strerror(e));
		*err = SL_EIO;
		return NULL;
	}
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;
	int bound = port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	listener_t *l = calloc(1, sizeof *l);
	if (!l)
		abort();
	l->loop = loop;
	l->fd = fd;
	l->port = bound;
	l->spare_fd = -1;
	l->proto = proto;
	l->srv = srv;
	if (limits)
		l->limits = *limits;
	loop_timer_init(&l->backoff, on_backoff, l);
	take_spare(l);
	int r = loop_watch_add(loop, &l->watch, fd, EPOLLIN, on_accept, l);
	if (r < 0) {
		if (l->spare_fd >= 0)
			close(l->spare_fd);
		close(fd);
		free(l);
		*err = SL_EIO;
		return NULL;
	}
	log_debug(loop_log(loop), "listening on %s:%d (%s)", addr ? addr : "*", bound,
	          proto->name ? proto->name : "?");
	*err = 0;
	return l;
}

int listener_port(const listener_t *l)
{
	return l->port;
}

void listener_free(listener_t *l)
{
	if (!l)
		return;
	loop_timer_stop(l->loop, &l->backoff);
	loop_watch_del(l->loop, &l->watch);
	close(l->fd);
	if (l->spare_fd >= 0)
		close(l->spare_fd);
	free(l);
}

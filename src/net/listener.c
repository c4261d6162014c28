/*
 * listener.c — a non-blocking TCP or unix-socket listener (see
 * listener.h). Loop thread only.
 *
 * Each readable event accepts up to ACCEPTS_PER_TURN connections with
 * accept4(SOCK_NONBLOCK | SOCK_CLOEXEC), so one busy port cannot starve the
 * rest of the turn. Running out of descriptors (EMFILE/ENFILE) must not make
 * the level-triggered listener spin at 100% CPU on a readiness it cannot
 * act on, which is what accepting one connection per wake-up does while
 * clients keep connecting. So it brakes, as beanstalkd does: the
 * connections already waiting are accepted and closed at once through one
 * spare descriptor the listener keeps for this (their clients see the
 * connection end and retry, instead of hanging in the backlog), and then
 * the listener stops watching its socket for ACCEPT_BACKOFF_MS. One
 * warning per ACCEPT_WARN_MS says how many were dropped and what to raise.
 *
 * Binding failures are reported, not logged: the caller names the
 * listener and the setting to change in one line ("port 9092 is already
 * in use"), where a log line here and another there would say the same
 * thing twice and the second one wrongly ("input/output error").
 *
 * Unix sockets: a socket file is left behind when a process dies without
 * closing it. Before binding, the path is probed with connect(): refused
 * means nobody listens any more and the file is replaced; accepted means
 * another server is serving it (EBUSY). Anything that is not a socket is
 * never removed. The permission bits are set with chmod between bind and
 * listen, so no client can connect before they apply. On free the file is
 * removed only if it is still the one this listener created (same inode).
 */
#include "net/listener.h"
#include "net/tls.h"

#include "core/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ACCEPTS_PER_TURN 64
#define ACCEPT_BACKOFF_MS 100
#define ACCEPT_WARN_MS 10000
#define LISTEN_BACKLOG 511

struct listener {
	loop_t *loop;
	int fd;
	int port;
	char *path; /* unix socket file, or NULL for TCP */
	dev_t dev;  /* the socket file's identity, checked before unlinking */
	ino_t ino;
	int spare_fd; /* reserved for shedding connections on EMFILE */
	const proto_t *proto;
	void *srv;
	conn_limits_t limits;
	loop_watch_t watch;
	int watching; /* watch added */
	loop_timer_t backoff;
	int64_t warned_ms; /* last out-of-descriptors warning, or -1 */
	uint64_t dropped;  /* connections shed since that warning */
	tls_ctx_t *tls;    /* borrowed; NULL: plaintext */
	char name[24];     /* given to its connections (conn_listener) */
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

/* Out of descriptors with connections waiting: drop the ones waiting now
 * and stop accepting for a moment (see the top of the file). */
static void brake(listener_t *l, int e)
{
	int shed = 0;
	while (shed < ACCEPTS_PER_TURN && l->spare_fd >= 0) {
		close(l->spare_fd);
		l->spare_fd = -1;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			shed++;
		}
		take_spare(l);
		if (fd < 0)
			break;
	}
	l->dropped += (uint64_t)shed;
	int64_t now = loop_now_ms(l->loop);
	if (l->warned_ms < 0 || now - l->warned_ms >= ACCEPT_WARN_MS) {
		struct rlimit rl;
		unsigned long long lim =
		    getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (unsigned long long)rl.rlim_cur : 0;
		const char *name = l->proto->name ? l->proto->name : "?";
		if (l->warned_ms < 0)
			log_warn(
			    llog(l),
			    "%s listener%s: cannot accept: %s (descriptor limit %llu): dropping "
			    "new connections, accepting paused %d ms at a time; raise ulimit -n",
			    name, l->path ? " (unix)" : "", strerror(e), lim, ACCEPT_BACKOFF_MS);
		else
			log_warn(llog(l),
			         "%s listener%s: still out of descriptors (limit %llu): %llu "
			         "connection(s) dropped since the last warning; raise ulimit -n",
			         name, l->path ? " (unix)" : "", lim,
			         (unsigned long long)l->dropped);
		l->warned_ms = now;
		l->dropped = 0;
	}
	loop_watch_mod(l->loop, &l->watch, 0);
	loop_timer_start(l->loop, &l->backoff, ACCEPT_BACKOFF_MS);
}

/* Accepting works again, long enough after the last warning: close the
 * episode (the next shortage warns afresh). */
static void recovered(listener_t *l)
{
	if (l->dropped)
		log_warn(
		    llog(l),
		    "%s listener%s: accepting again; %llu connection(s) dropped since the last "
		    "warning",
		    l->proto->name ? l->proto->name : "?", l->path ? " (unix)" : "",
		    (unsigned long long)l->dropped);
	l->warned_ms = -1;
	l->dropped = 0;
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
				brake(l, e);
				return;
			}
			log_error(llog(l), "listener %s: accept: %s",
			          l->proto->name ? l->proto->name : "?", strerror(e));
			return;
		}
		if (l->warned_ms >= 0 && loop_now_ms(loop) - l->warned_ms >= ACCEPT_WARN_MS)
			recovered(l);
		conn_new_tls(loop, fd, l->proto, l->srv, &l->limits, l->tls, l->name);
	}
}

const proto_t *listener_watch_proto(const loop_watch_t *w)
{
	return w->fn == on_accept ? ((const listener_t *)w->arg)->proto : NULL;
}

static void say(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t why_len, const char *fmt, ...)
{
	if (!why || !why_len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* The reason a bind or listen failed with errno e, in the listener's
 * terms, and the matching error code. */
static int bind_error(int e, const char *what, char *why, size_t why_len)
{
	switch (e) {
	case EADDRINUSE:
		say(why, why_len, "%s is already in use", what);
		return SL_EBUSY;
	case EACCES:
		say(why, why_len, "%s: permission denied", what);
		return SL_EIO;
	case EADDRNOTAVAIL:
		say(why, why_len, "%s: no such local address", what);
		return SL_EINVAL;
	case EMFILE:
	case ENFILE:
		say(why, why_len, "%s: too many open files", what);
		return SL_EMFILE;
	default:
		say(why, why_len, "%s: %s", what, strerror(e));
		return SL_EIO;
	}
}

/* Wraps a bound, listening socket; NULL (and fd closed) on failure. */
static listener_t *wrap(loop_t *loop, int fd, int port, const char *path, const proto_t *proto,
                        void *srv, const conn_limits_t *limits, char *why, size_t why_len, int *err)
{
	listener_t *l = calloc(1, sizeof *l);
	if (!l)
		abort();
	l->loop = loop;
	l->fd = fd;
	l->port = port;
	l->spare_fd = -1;
	l->warned_ms = -1;
	l->proto = proto;
	l->srv = srv;
	if (limits)
		l->limits = *limits;
	if (path) {
		struct stat st;
		l->path = strdup(path);
		if (!l->path)
			abort();
		if (stat(path, &st) == 0) {
			l->dev = st.st_dev;
			l->ino = st.st_ino;
		}
	}
	loop_timer_init(&l->backoff, on_backoff, l);
	take_spare(l);
	int r = loop_watch_add(loop, &l->watch, fd, EPOLLIN, on_accept, l);
	if (r < 0) {
		say(why, why_len, "cannot watch the listening socket: %s", sl_strerror(r));
		listener_free(l);
		*err = SL_EIO;
		return NULL;
	}
	l->watching = 1;
	*err = 0;
	return l;
}

listener_t *listener_new(loop_t *loop, const char *addr, int port, const proto_t *proto, void *srv,
                         const conn_limits_t *limits, char *why, size_t why_len, int *err)
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
		say(why, why_len, "address %s: %s", addr ? addr : "*",
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		*err = SL_EINVAL;
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
		char what[128];
		snprintf(what, sizeof what, "port %d on %s", port, addr ? addr : "*");
		*err = bind_error(e, what, why, why_len);
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
	listener_t *l = wrap(loop, fd, bound, NULL, proto, srv, limits, why, why_len, err);
	if (l)
		log_debug(loop_log(loop), "listening on %s:%d (%s)", addr ? addr : "*", bound,
		          proto->name ? proto->name : "?");
	return l;
}

/* Whether something accepts connections on the unix socket at sun. */
static int unix_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int r = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	int e = errno;
	close(fd);
	/* A full backlog (EAGAIN) still means a live server. */
	return r == 0 || e == EAGAIN;
}

listener_t *listener_new_unix(loop_t *loop, const char *path, unsigned mode, const proto_t *proto,
                              void *srv, const conn_limits_t *limits, char *why, size_t why_len,
                              int *err)
{
	int err_local;
	if (!err)
		err = &err_local;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = path ? strlen(path) : 0;
	if (n == 0 || n >= sizeof sun.sun_path) {
		say(why, why_len, "unix socket path must be 1 to %zu bytes long",
		    sizeof sun.sun_path - 1);
		*err = SL_EINVAL;
		return NULL;
	}
	memcpy(sun.sun_path, path, n);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			say(why, why_len, "%s exists and is not a socket", path);
			*err = SL_EEXIST;
			return NULL;
		}
		if (unix_in_use(&sun)) {
			say(why, why_len, "unix socket %s is already in use", path);
			*err = SL_EBUSY;
			return NULL;
		}
		/* Left behind by a server that is gone. */
		if (unlink(path) != 0 && errno != ENOENT) {
			say(why, why_len, "cannot remove stale socket %s: %s", path,
			    strerror(errno));
			*err = SL_EIO;
			return NULL;
		}
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		say(why, why_len, "socket: %s", strerror(errno));
		*err = SL_EIO;
		return NULL;
	}
	char what[sizeof sun.sun_path + 16];
	snprintf(what, sizeof what, "unix socket %s", path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		*err = bind_error(errno, what, why, why_len);
		close(fd);
		return NULL;
	}
	/* Before listen(): until then every connect() is refused. */
	if (chmod(path, (mode_t)mode) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		*err = bind_error(errno, what, why, why_len);
		close(fd);
		unlink(path);
		return NULL;
	}
	listener_t *l = wrap(loop, fd, 0, path, proto, srv, limits, why, why_len, err);
	if (l)
		log_debug(loop_log(loop), "listening on unix:%s (%s)", path,
		          proto->name ? proto->name : "?");
	return l;
}

void listener_set_tls(listener_t *l, tls_ctx_t *tls, const char *name)
{
	l->tls = tls;
	snprintf(l->name, sizeof l->name, "%s", name ? name : "");
}

int listener_port(const listener_t *l)
{
	return l->port;
}

const char *listener_path(const listener_t *l)
{
	return l->path;
}

void listener_free(listener_t *l)
{
	if (!l)
		return;
	loop_timer_stop(l->loop, &l->backoff);
	if (l->watching)
		loop_watch_del(l->loop, &l->watch);
	close(l->fd);
	if (l->spare_fd >= 0)
		close(l->spare_fd);
	if (l->path) {
		/* Only our own socket file: another server may have replaced
		 * it since. */
		struct stat st;
		if (lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
			unlink(l->path);
		free(l->path);
	}
	free(l);
}

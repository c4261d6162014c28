/*
 * resp_client.h — the minimal blocking RESP client shared by the Redis
 * load generators in bench/ (header-only: each bench/X.c is its own
 * program). Define BENCH_NAME before including it; errors print
 * "BENCH_NAME: message" and exit 1.
 */
#ifndef SL_BENCH_RESP_CLIENT_H
#define SL_BENCH_RESP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct rbuf {
	int fd;
	char *p;
	size_t start, end, cap;
} rbuf_t;

static void die(const char *m)
{
	fprintf(stderr, "%s: %s\n", BENCH_NAME, m);
	exit(1);
}

/* A TCP_NODELAY connection to 127.0.0.1:port. */
static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Reads more bytes into r, sliding or growing it as needed. */
static void fill(rbuf_t *r)
{
	if (r->start > 0 && r->start == r->end)
		r->start = r->end = 0;
	if (r->end == r->cap) {
		if (r->start > 0) {
			memmove(r->p, r->p + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		} else {
			r->cap = r->cap ? r->cap * 2 : 1 << 20;
			r->p = realloc(r->p, r->cap);
			if (!r->p)
				die("oom");
		}
	}
	ssize_t n = read(r->fd, r->p + r->end, r->cap - r->end);
	if (n <= 0)
		die("connection closed");
	r->end += (size_t)n;
}

/* Reads one line (without CRLF) into a view valid until the next read. */
static char *line(rbuf_t *r, size_t *len)
{
	for (;;) {
		char *s = r->p + r->start;
		char *e = memmem(s, r->end - r->start, "\r\n", 2);
		if (e) {
			*len = (size_t)(e - s);
			r->start += *len + 2;
			return s;
		}
		fill(r);
	}
}

#endif

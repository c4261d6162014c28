/*
 * bstk_load.c — beanstalkd load generator (sluice's bench, not a test).
 *
 *   bstk_load PORT CONNS JOBS_PER_CONN WINDOW
 *
 * Opens CONNS connections to 127.0.0.1:PORT. Phase 1: every connection puts
 * JOBS_PER_CONN jobs of 100 bytes, pipelined with up to WINDOW unanswered
 * puts. Phase 2: every connection reserves JOBS_PER_CONN jobs (up to WINDOW
 * reserves in flight) and deletes each one as soon as its RESERVED arrives.
 * Prints one line: "put_per_s=N reserve_delete_per_s=N" (jobs per second
 * over all connections, wall time of each phase). Exits non-zero on any
 * unexpected reply. Single thread, poll(2).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "bound.h"

#define BODY 100

typedef struct lconn {
	int fd;
	char in[1 << 16];
	size_t inlen;
	char out[1 << 16];
	size_t outlen;
	long sent, answered; /* commands of the current phase */
	long reserves_sent, deletes_done;
} lconn_t;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
	fprintf(stderr, "bstk_load: %s\n", msg);
	exit(1);
}

static void queue(lconn_t *c, const char *p, size_t n)
{
	if (c->outlen + n > sizeof c->out)
		die("output buffer full");
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

static void flush_out(lconn_t *c)
{
	while (c->outlen) {
		ssize_t w = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			die("send failed");
		}
		memmove(c->out, c->out + w, c->outlen - (size_t)w);
		c->outlen -= (size_t)w;
	}
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(0x7f000001)};
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect failed");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Consumes complete replies from c->in; returns the number handled. */
static void on_replies(lconn_t *c, int phase, long jobs, long window)
{
	size_t off = 0;
	for (;;) {
		char *p = c->in + off;
		size_t left = c->inlen - off;
		char *eol = memmem(p, left, "\r\n", 2);
		if (!eol)
			break;
		size_t line = (size_t)(eol - p) + 2;
		if (phase == 1) {
			if (strncmp(p, "INSERTED ", 9) != 0)
				die("unexpected reply to put");
			off += line;
			c->answered++;
		} else if (strncmp(p, "RESERVED ", 9) == 0) {
			unsigned long long id;
			unsigned n;
			if (sscanf(p, "RESERVED %llu %u", &id, &n) != 2)
				die("bad RESERVED");
			if (left < line + n + 2)
				break;
			off += line + n + 2;
			char cmd[64];
			int k = snprintf(cmd, sizeof cmd, "delete %llu\r\n", id);
			queue(c, cmd, (size_t)k);
		} else if (strncmp(p, "DELETED\r\n", 9) == 0) {
			off += line;
			c->answered++;
		} else {
			die("unexpected reply in phase 2");
		}
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	/* Keep the window full. */
	static char put[256];
	static size_t putlen;
	if (!putlen) {
		putlen = (size_t)snprintf(put, sizeof put, "put 100 0 60 %d\r\n", BODY);
		memset(put + putlen, 'j', BODY);
		putlen += BODY;
		memcpy(put + putlen, "\r\n", 2);
		putlen += 2;
	}
	if (phase == 1) {
		while (c->sent < jobs && c->sent - c->answered < window) {
			queue(c, put, putlen);
			c->sent++;
		}
	} else {
		while (c->reserves_sent < jobs && c->reserves_sent - c->answered < window) {
			queue(c, "reserve\r\n", 9);
			c->reserves_sent++;
		}
	}
}

static void run_phase(lconn_t *cs, int n, int phase, long jobs, long window)
{
	struct pollfd *pf = calloc((size_t)n, sizeof *pf);
	for (int i = 0; i < n; i++) {
		cs[i].sent = cs[i].answered = cs[i].reserves_sent = 0;
		on_replies(&cs[i], phase, jobs, window);
		flush_out(&cs[i]);
	}
	int done = 0;
	while (done < n) {
		for (int i = 0; i < n; i++) {
			pf[i].fd = cs[i].answered < jobs ? cs[i].fd : -1;
			pf[i].events = POLLIN | (cs[i].outlen ? POLLOUT : 0);
		}
		if (poll(pf, (nfds_t)n, 30000) <= 0)
			die("no progress for 30 s");
		for (int i = 0; i < n; i++) {
			lconn_t *c = &cs[i];
			if (pf[i].fd < 0)
				continue;
			if (pf[i].revents & POLLIN) {
				ssize_t r =
				    recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
				if (r <= 0)
					die("connection closed");
				c->inlen += (size_t)r;
				on_replies(c, phase, jobs, window);
			}
			flush_out(c);
			if (c->answered == jobs)
				done++;
		}
	}
	free(pf);
}

int main(int argc, char **argv)
{
	/* make bench never hangs on a server that stopped answering. */
	bench_bound("bstk_load", 600);
	if (argc != 5) {
		fprintf(stderr, "usage: bstk_load PORT CONNS JOBS_PER_CONN WINDOW\n");
		return 2;
	}
	int port = atoi(argv[1]), n = atoi(argv[2]);
	long jobs = atol(argv[3]), window = atol(argv[4]);
	if (n < 1 || n > 1024 || jobs < 1 || window < 1 || window > 256)
		die("bad arguments");
	lconn_t *cs = calloc((size_t)n, sizeof *cs);
	for (int i = 0; i < n; i++)
		cs[i].fd = connect_to(port);
	double t0 = now_s();
	run_phase(cs, n, 1, jobs, window);
	double t1 = now_s();
	run_phase(cs, n, 2, jobs, window);
	double t2 = now_s();
	double total = (double)n * (double)jobs;
	printf("put_per_s=%.0f reserve_delete_per_s=%.0f\n", total / (t1 - t0), total / (t2 - t1));
	for (int i = 0; i < n; i++)
		close(cs[i].fd);
	free(cs);
	return 0;
}

/*
 * resp_blpop_drain.c — load generator for bench_35_redis_lists.sh: fills a
 * list with N 100-byte items (pipelined LPUSH of 100 items per command),
 * then drains it with a pool of W worker threads, each on its own blocking
 * connection doing BLPOP q 1 in a loop, and prints the items per second of
 * the drain (from the first BLPOP to the N-th item). Speaks RESP2.
 *
 *   resp_blpop_drain PORT fill N
 *   resp_blpop_drain PORT drain N WORKERS
 */
#define BENCH_NAME "resp_blpop_drain"
#include "resp_client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "bound.h"

/* Skips one reply; returns its aggregate/bulk length (-1 for nil). */
static long long skip_reply(rbuf_t *r)
{
	size_t len;
	char *l = line(r, &len);
	char t = l[0];
	long long n = atoll(l + 1);
	if (t == '-')
		die("error reply");
	if (t == '$' && n >= 0) {
		while (r->end - r->start < (size_t)n + 2)
			fill(r);
		r->start += (size_t)n + 2;
	} else if (t == '*') {
		for (long long i = 0; i < n; i++)
			skip_reply(r);
	}
	return n;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct shared {
	int port;
	long long n;
	atomic_llong popped;
	double done_at;
	pthread_mutex_t mu;
} shared_t;

static void *worker(void *arg)
{
	shared_t *s = arg;
	rbuf_t r = {.fd = dial(s->port)};
	static const char req[] = "*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n1\r\n";
	while (atomic_load(&s->popped) < s->n) {
		send_all(r.fd, req, sizeof req - 1);
		if (skip_reply(&r) < 0)
			continue; /* timed out: the list is empty */
		if (atomic_fetch_add(&s->popped, 1) + 1 == s->n) {
			pthread_mutex_lock(&s->mu);
			s->done_at = now_s();
			pthread_mutex_unlock(&s->mu);
		}
	}
	close(r.fd);
	free(r.p);
	return NULL;
}

int main(int argc, char **argv)
{
	/* make bench never hangs on a server that stopped answering. */
	bench_bound("resp_blpop_drain", 600);
	if (argc < 4)
		die("usage: PORT fill N | PORT drain N WORKERS");
	int port = atoi(argv[1]);
	long long n = atoll(argv[3]);
	if (strcmp(argv[2], "fill") == 0) {
		rbuf_t r = {.fd = dial(port)};
		char val[101];
		memset(val, 'v', 100);
		val[100] = 0;
		size_t cap = 200 * 120;
		char *buf = malloc(cap);
		long long left = n, sent = 0;
		while (left > 0) {
			int k = left < 100 ? (int)left : 100;
			int o = sprintf(buf, "*%d\r\n$5\r\nLPUSH\r\n$1\r\nq\r\n", k + 2);
			for (int i = 0; i < k; i++)
				o += sprintf(buf + o, "$100\r\n%s\r\n", val);
			send_all(r.fd, buf, (size_t)o);
			left -= k;
			if (++sent % 64 == 0)
				for (int i = 0; i < 64; i++)
					skip_reply(&r);
		}
		for (long long i = 0; i < sent % 64; i++)
			skip_reply(&r);
		free(buf);
		free(r.p);
		close(r.fd);
		return 0;
	}
	if (strcmp(argv[2], "drain") == 0 && argc == 5) {
		int w = atoi(argv[4]);
		shared_t s = {.port = port, .n = n, .mu = PTHREAD_MUTEX_INITIALIZER};
		pthread_t *t = calloc((size_t)w, sizeof *t);
		double t0 = now_s();
		for (int i = 0; i < w; i++)
			pthread_create(&t[i], NULL, worker, &s);
		for (int i = 0; i < w; i++)
			pthread_join(t[i], NULL);
		printf("%.0f\n", (double)n / (s.done_at - t0));
		free(t);
		return 0;
	}
	die("bad arguments");
}

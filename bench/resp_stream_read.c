/*
 * resp_stream_read.c — load generator for bench_30_redis_streams.sh: fills
 * a stream with N entries (pipelined XADD, 100-byte values), then reads it
 * back in batches (XREAD COUNT B from the last seen ID, or XREADGROUP COUNT
 * B with an XACK of every batch) and prints the entries per second of the
 * read phase. Speaks RESP2 over one blocking TCP connection; single thread.
 *
 *   resp_stream_read PORT fill N
 *   resp_stream_read PORT xread N BATCH
 *   resp_stream_read PORT group N BATCH
 */
#define BENCH_NAME "resp_stream_read"
#include "resp_client.h"

#include <stdarg.h>
#include <time.h>
#include "bound.h"

/* Skips one reply; if ids is set, collects the bulk strings that are entry
 * IDs (first element of each 2-element entry array) into it. */
static void skip_reply(rbuf_t *r, int depth, char (*ids)[48], size_t *nids, char *last)
{
	size_t len;
	char *l = line(r, &len);
	char t = l[0];
	long long n = atoll(l + 1);
	if (t == '-') {
		fprintf(stderr, "error reply: %.*s\n", (int)len, l);
		exit(1);
	}
	if (t == '$' && n >= 0) {
		while (r->end - r->start < (size_t)n + 2)
			fill(r);
		r->start += (size_t)n + 2;
		return;
	}
	if (t == '*' && n > 0) {
		for (long long i = 0; i < n; i++) {
			/* Entry arrays are at depth 3 in an XREAD reply: [[key, [[id, f]]]]. */
			if (depth == 3 && i == 0) {
				l = line(r, &len);
				long long bl = atoll(l + 1);
				while (r->end - r->start < (size_t)bl + 2)
					fill(r);
				char *id = r->p + r->start;
				if (bl < 47) {
					if (ids) {
						memcpy(ids[*nids], id, (size_t)bl);
						ids[*nids][bl] = 0;
						(*nids)++;
					}
					memcpy(last, id, (size_t)bl);
					last[bl] = 0;
				}
				r->start += (size_t)bl + 2;
				continue;
			}
			skip_reply(r, depth + 1, ids, nids, last);
		}
	}
}

static void put(char **b, size_t *n, size_t *cap, const char *s, size_t len)
{
	if (*n + len > *cap) {
		*cap = (*n + len) * 2;
		*b = realloc(*b, *cap);
		if (!*b)
			die("oom");
	}
	memcpy(*b + *n, s, len);
	*n += len;
}

static void cmd(char **b, size_t *n, size_t *cap, int argc, ...)
{
	char tmp[32];
	va_list ap;
	va_start(ap, argc);
	put(b, n, cap, tmp, (size_t)snprintf(tmp, sizeof tmp, "*%d\r\n", argc));
	for (int i = 0; i < argc; i++) {
		const char *a = va_arg(ap, const char *);
		size_t l = strlen(a);
		put(b, n, cap, tmp, (size_t)snprintf(tmp, sizeof tmp, "$%zu\r\n", l));
		put(b, n, cap, a, l);
		put(b, n, cap, "\r\n", 2);
	}
	va_end(ap);
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k <= 0)
			die("write");
		p += k;
		n -= (size_t)k;
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	/* make bench never hangs on a server that stopped answering. */
	bench_bound("resp_stream_read", 600);
	if (argc < 4)
		die("usage: PORT fill|xread|group N [BATCH]");
	int port = atoi(argv[1]);
	long n = atol(argv[3]);
	int batch = argc > 4 ? atoi(argv[4]) : 1000;
	int fd = dial(port);
	rbuf_t r = {.fd = fd};
	char *b = NULL;
	size_t bn = 0, bcap = 0;
	char last[48] = "0";
	char val[101];
	memset(val, 'v', 100);
	val[100] = 0;
	if (!strcmp(argv[2], "fill")) {
		for (long done = 0; done < n;) {
			long k = n - done < 1000 ? n - done : 1000;
			bn = 0;
			for (long i = 0; i < k; i++)
				cmd(&b, &bn, &bcap, 5, "XADD", "bs", "*", "f", val);
			send_all(fd, b, bn);
			for (long i = 0; i < k; i++)
				skip_reply(&r, 0, NULL, NULL, last);
			done += k;
		}
		printf("filled %ld\n", n);
		return 0;
	}
	int group = !strcmp(argv[2], "group");
	char cnt[16];
	snprintf(cnt, sizeof cnt, "%d", batch);
	char(*ids)[48] = malloc((size_t)batch * sizeof *ids);
	if (group) {
		bn = 0;
		cmd(&b, &bn, &bcap, 5, "XGROUP", "CREATE", "bs", "bg", "0");
		send_all(fd, b, bn);
		skip_reply(&r, 0, NULL, NULL, last);
	}
	long got = 0;
	double t0 = now();
	while (got < n) {
		size_t nids = 0;
		bn = 0;
		if (group)
			cmd(&b, &bn, &bcap, 9, "XREADGROUP", "GROUP", "bg", "c", "COUNT", cnt,
			    "STREAMS", "bs", ">");
		else
			cmd(&b, &bn, &bcap, 6, "XREAD", "COUNT", cnt, "STREAMS", "bs", last);
		send_all(fd, b, bn);
		skip_reply(&r, 0, ids, &nids, last);
		if (nids == 0)
			break;
		got += (long)nids;
		if (group) {
			/* XACK bs bg id... */
			bn = 0;
			char tmp[32];
			put(&b, &bn, &bcap, tmp,
			    (size_t)snprintf(tmp, sizeof tmp, "*%zu\r\n", nids + 3));
			const char *hdr[3] = {"XACK", "bs", "bg"};
			for (int i = 0; i < 3; i++) {
				put(&b, &bn, &bcap, tmp,
				    (size_t)snprintf(tmp, sizeof tmp, "$%zu\r\n", strlen(hdr[i])));
				put(&b, &bn, &bcap, hdr[i], strlen(hdr[i]));
				put(&b, &bn, &bcap, "\r\n", 2);
			}
			for (size_t i = 0; i < nids; i++) {
				size_t l = strlen(ids[i]);
				put(&b, &bn, &bcap, tmp,
				    (size_t)snprintf(tmp, sizeof tmp, "$%zu\r\n", l));
				put(&b, &bn, &bcap, ids[i], l);
				put(&b, &bn, &bcap, "\r\n", 2);
			}
			send_all(fd, b, bn);
			skip_reply(&r, 0, NULL, NULL, last);
		}
	}
	double dt = now() - t0;
	if (got < n)
		die("stream ended early");
	printf("%.0f\n", got / dt);
	free(ids);
	free(b);
	free(r.p);
	close(fd);
	return 0;
}

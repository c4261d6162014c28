/*
 * front.c — the HTTP listener: health and metrics for operators.
 *
 *   GET /health   → 200 "ok"
 *   GET /metrics  → 200, Prometheus text format
 *
 * HTTP/1.0 and 1.1 requests without bodies only; keep-alive is honoured.
 * Anything else gets 400/404/405/413 and, for malformed input, a close. The
 * request head is limited to 8 KiB before anything is parsed.
 * Loop thread only.
 */
#include "core/err.h"
#include "core/time.h"
#include "proto/front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_MAX_HEAD 8192

typedef struct http_srv {
	broker_t *b;
	int64_t started_ms;
	uint64_t requests;
} http_srv_t;

static void reply(conn_t *c, int code, const char *reason, const char *ctype, const char *body,
                  size_t blen, int keep_alive)
{
	buf_t *out = conn_out(c);
	buf_printf(out,
	           "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	           "Connection: %s\r\n\r\n",
	           code, reason, ctype, blen, keep_alive ? "keep-alive" : "close");
	buf_append(out, body, blen);
}

static void metrics(conn_t *c, http_srv_t *h, int keep_alive)
{
	buf_t body = BUF_INIT;
	buf_printf(&body,
	           "# HELP sluice_uptime_seconds Seconds since sluiced started.\n"
	           "# TYPE sluice_uptime_seconds gauge\n"
	           "sluice_uptime_seconds %.3f\n"
	           "# HELP sluice_connections Open client connections, all protocols.\n"
	           "# TYPE sluice_connections gauge\n"
	           "sluice_connections %zu\n"
	           "# HELP sluice_http_requests_total HTTP requests served.\n"
	           "# TYPE sluice_http_requests_total counter\n"
	           "sluice_http_requests_total %llu\n",
	           (double)(time_mono_ms() - h->started_ms) / 1000.0, conn_count(c->loop),
	           (unsigned long long)h->requests);
	reply(c, 200, "OK", "text/plain; version=0.0.4", (const char *)buf_data(&body),
	      buf_len(&body), keep_alive);
	buf_deinit(&body);
}

/* Finds the end of the request head ("\r\n\r\n"); returns its length or 0. */
static size_t head_len(const uint8_t *p, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (p[i - 3] == '\r' && p[i - 2] == '\n' && p[i - 1] == '\r' && p[i] == '\n')
			return i + 1;
	return 0;
}

static int on_input(conn_t *c)
{
	http_srv_t *h = c->srv;
	for (;;) {
		size_t n = buf_len(&c->in);
		const uint8_t *p = buf_data(&c->in);
		size_t hl = head_len(p, n < HTTP_MAX_HEAD ? n : HTTP_MAX_HEAD);
		if (!hl) {
			if (n >= HTTP_MAX_HEAD) {
				reply(c, 431, "Request Header Fields Too Large", "text/plain", "",
				      0, 0);
				return -1;
			}
			return 0;
		}
		char line[512];
		const uint8_t *eol = memchr(p, '\r', hl);
		size_t ll = (size_t)(eol - p);
		if (ll >= sizeof line) {
			reply(c, 414, "URI Too Long", "text/plain", "", 0, 0);
			return -1;
		}
		memcpy(line, p, ll);
		line[ll] = 0;
		char method[16], path[400], version[16];
		if (sscanf(line, "%15s %399s %15s", method, path, version) != 3 ||
		    strncmp(version, "HTTP/1.", 7) != 0) {
			reply(c, 400, "Bad Request", "text/plain", "", 0, 0);
			return -1;
		}
		/* HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes. */
		int keep_alive = strcmp(version, "HTTP/1.1") == 0 &&
		                 !memmem(p, hl, "Connection: close", 17) &&
		                 !memmem(p, hl, "connection: close", 17);
		if (memmem(p, hl, "Content-Length:", 15) ||
		    memmem(p, hl, "Transfer-Encoding:", 18)) {
			reply(c, 413, "Payload Too Large", "text/plain", "", 0, 0);
			return -1;
		}
		buf_consume(&c->in, hl);
		h->requests++;
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			reply(c, 405, "Method Not Allowed", "text/plain", "", 0, keep_alive);
		else if (strcmp(path, "/health") == 0)
			reply(c, 200, "OK", "text/plain", "ok\n", 3, keep_alive);
		else if (strcmp(path, "/metrics") == 0)
			metrics(c, h, keep_alive);
		else
			reply(c, 404, "Not Found", "text/plain", "not found\n", 10, keep_alive);
		if (!keep_alive) {
			conn_close(c, 1);
			return 0;
		}
	}
}

static int on_open(conn_t *c, void *srv)
{
	(void)c;
	(void)srv;
	return 0;
}

static void on_close(conn_t *c)
{
	(void)c;
}

static const proto_t http_proto = {
    .name = "http",
    .on_open = on_open,
    .on_input = on_input,
    .on_close = on_close,
};

static int start(broker_t *b, void **srv)
{
	http_srv_t *h = calloc(1, sizeof *h);
	if (!h)
		return SL_ENOMEM;
	h->b = b;
	h->started_ms = time_mono_ms();
	*srv = h;
	return 0;
}

static void stop(void *srv)
{
	free(srv);
}

const front_t http_front = {
    .name = "http",
    .proto = &http_proto,
    .start = start,
    .stop = stop,
};

/*
 * front.c — the HTTP listener: operators' endpoints, the web console and
 * its JSON admin API (http.h lists the files).
 *
 *   GET  /               the console (single page; assets.c)
 *   GET  /health         200 "ok"
 *   GET  /metrics        Prometheus text format (metrics.c)
 *   GET  /status         JSON for `sluice status` (status.c)
 *   *    /api/v1/...     the admin API (api_*.c, docs/http-api.md)
 *   *    /debug/...      storage-failure injection for tests, only when
 *                        enabled (debug.faults, debug.powerloss)
 *
 * One route table (method, path pattern, handler) drives dispatch: a path
 * that matches with another method is a 405, no match a 404. HTTP/1.0 and
 * 1.1 with keep-alive; each request is parsed with limits (request.c) and
 * a request that cannot be parsed gets its status and a close.
 *
 * Authentication: none yet (issue 14). Every request passes through
 * authorized() before routing; that is where the HTTP authentication of
 * the security issue is to be checked. Until then the listener binds
 * 127.0.0.1 by default and must not be exposed.
 *
 * Loop thread only.
 */
#include "http/http.h"

#include "core/err.h"
#include "core/time.h"
#include "proto/front.h"
#include "store/sio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PUT /debug/faults?SPEC arms a storage failure (store/sio.h rule syntax),
 * DELETE /debug/faults disarms all, GET /debug/faults tells how many calls
 * failed so far. Only with debug.faults = true: tests drive the failure
 * paths of a real server through it. */
static void debug_faults(http_req_t *r)
{
	http_srv_t *h = r->h;
	sio_t *io = h->b->io;
	char body[256];
	int n;
	if (!h->b->cfg->debug_faults || !io) {
		http_error(r, 404, "not found");
		return;
	}
	if (strcmp(r->method, "PUT") == 0) {
		sio_fault_t f;
		if (sio_fault_parse(r->query, &f, body, sizeof body) < 0 ||
		    (sio_fault_add(io, &f) < 0 && snprintf(body, sizeof body, "too many rules"))) {
			http_reply(r, 400, "text/plain", body, strlen(body));
			return;
		}
		log_warn(h->b->log, "http: storage failure armed: %s", r->query);
	} else if (strcmp(r->method, "DELETE") == 0) {
		sio_fault_clear(io);
		log_info(h->b->log, "http: storage failures disarmed");
	} else if (strcmp(r->method, "GET") != 0) {
		http_error(r, 405, "method not allowed");
		return;
	}
	n = snprintf(body, sizeof body, "{\"hits\":%llu}\n",
	             (unsigned long long)sio_fault_hits(io));
	http_reply(r, 200, "application/json", body, (size_t)n);
}

/* PUT /debug/powerloss?tear=0|1&seed=N (debug.powerloss = true): every
 * file is put back the way its last sync left it — unsynced writes dropped,
 * or torn sector by sector — and the process ends at once, as a power cut
 * would end it. The crash tests (make torture) use it. */
static void debug_powerloss(http_req_t *r)
{
	http_srv_t *h = r->h;
	if (!h->b->cfg->debug_powerloss || !h->b->io) {
		http_error(r, 404, "not found");
		return;
	}
	if (strcmp(r->method, "PUT") != 0) {
		http_error(r, 405, "method not allowed");
		return;
	}
	int64_t tear = 0, seed = 0;
	(void)http_query_int(r, "tear", &tear);
	(void)http_query_int(r, "seed", &seed);
	int n = sio_powerloss(h->b->io, tear == 1, (uint64_t)seed);
	log_warn(h->b->log, "http: simulated power loss (%s): %d files rewound; exiting",
	         tear == 1 ? "torn writes" : "unsynced writes dropped", n);
	_exit(137);
}

typedef struct route {
	const char *method;
	const char *pattern; /* segments; "*" matches one */
	http_handler_fn fn;
} route_t;

static const route_t routes[] = {
    {"GET", "health", http_health},
    {"GET", "metrics", http_metrics},
    {"GET", "status", http_status},
    {"GET", "api/v1/overview", api_overview},
    {"GET", "api/v1/topics", api_topics_list},
    {"POST", "api/v1/topics", api_topic_create},
    {"GET", "api/v1/topics/*", api_topic_get},
    {"DELETE", "api/v1/topics/*", api_topic_delete},
    {"POST", "api/v1/topics/*/partitions", api_topic_partitions},
    {"PATCH", "api/v1/topics/*/configs", api_topic_configs},
    {"GET", "api/v1/topics/*/messages", api_messages_get},
    {"POST", "api/v1/topics/*/messages", api_messages_produce},
    {"GET", "api/v1/groups", api_groups_list},
    {"GET", "api/v1/groups/*", api_group_get},
    {"DELETE", "api/v1/groups/*", api_group_delete},
    {"POST", "api/v1/groups/*/reset", api_group_reset},
    {"GET", "api/v1/redis/keys", api_redis_keys},
    {"DELETE", "api/v1/redis/keys/*", api_redis_key_delete},
    {"GET", "api/v1/redis/streams", api_redis_streams},
    {"GET", "api/v1/redis/streams/*", api_redis_stream_get},
    {"GET", "api/v1/tubes", api_tubes_list},
    {"GET", "api/v1/tubes/*", api_tube_get},
    {"POST", "api/v1/tubes/*/pause", api_tube_pause},
    {"POST", "api/v1/tubes/*/kick", api_tube_kick},
    {"GET", "api/v1/jobs/*", api_job_get},
    {"DELETE", "api/v1/jobs/*", api_job_delete},
    {"POST", "api/v1/jobs/*/kick", api_job_kick},
    {NULL, NULL, NULL},
};

/* Whether the request's segments match pattern. */
static int match(const http_req_t *r, const char *pattern)
{
	size_t i = 0;
	const char *p = pattern;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (i >= r->nseg)
			return 0;
		if (!(n == 1 && *p == '*') && (strlen(r->seg[i]) != n || memcmp(r->seg[i], p, n)))
			return 0;
		i++;
		p += n + (e != NULL);
	}
	return i == r->nseg;
}

/* Authentication (auth.c): what may be asked without credentials when
 * some are configured — the health check, /status (which then shows only
 * that the server is up) and /metrics unless http.metrics.auth. */
static int public_route(const http_req_t *r)
{
	if (strcmp(r->method, "GET") != 0 && !r->head)
		return 0;
	if (r->nseg != 1)
		return 0;
	if (!strcmp(r->seg[0], "health") || !strcmp(r->seg[0], "status"))
		return 1;
	return !strcmp(r->seg[0], "metrics") && !r->h->b->cfg->http_metrics_auth;
}

static void route(http_req_t *r)
{
	/* Credentials sent are checked even on a public route (a wrong
	 * token is logged, and /status shows more to the right one). */
	r->authed = (!http_auth_configured(r->h) || r->authz) ? http_auth_ok(r) : 0;
	if (!r->authed && !public_route(r)) {
		http_auth_required(r);
		return;
	}
	if (r->nseg >= 1 && strcmp(r->seg[0], "debug") == 0 && r->nseg == 2) {
		if (strcmp(r->seg[1], "faults") == 0) {
			debug_faults(r);
			return;
		}
		if (strcmp(r->seg[1], "powerloss") == 0) {
			debug_powerloss(r);
			return;
		}
	}
	int path_known = 0;
	for (const route_t *rt = routes; rt->method; rt++) {
		if (!match(r, rt->pattern))
			continue;
		path_known = 1;
		if (strcmp(rt->method, r->method) == 0 ||
		    (r->head && strcmp(rt->method, "GET") == 0)) {
			rt->fn(r);
			return;
		}
	}
	if (path_known) {
		http_error(r, 405, "method %s not allowed on %s", r->method, r->path);
		return;
	}
	if ((strcmp(r->method, "GET") == 0 || r->head) && http_asset(r, r->path))
		return;
	http_error(r, 404, "no such resource: %s", r->path);
}

static int on_input(conn_t *c)
{
	http_srv_t *h = c->srv;
	while (!conn_is_closed(c)) {
		http_req_t req, *r = &req;
		memset(r, 0, sizeof *r);
		r->c = c;
		r->h = h;
		long n = http_parse(buf_data(&c->in), buf_len(&c->in), r);
		if (n == 0)
			return 0;
		if (n < 0) {
			int code = (int)-n;
			r->keep_alive = 0;
			http_error(r, code, "%s", http_reason(code));
			return -1;
		}
		h->requests++;
		route(r);
		buf_consume(&c->in, (size_t)n);
		if (!r->keep_alive) {
			conn_close(c, 1);
			return 0;
		}
	}
	return 0;
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
	http_srv_t *h = srv;
	buf_deinit(&h->scrape);
	free(h);
}

const front_t http_front = {
    .name = "http",
    .proto = &http_proto,
    .start = start,
    .stop = stop,
};

/*
 * front.c — the HTTP listener: health and metrics for operators.
 *
 *   GET /health   → 200 "ok"
 *   GET /metrics  → 200, Prometheus text format
 *   GET /status   → 200, JSON for `sluice status`: uptime, connections, the
 *                   bound listener ports (-1 = off), the data directory's
 *                   disk use and free space, and what the broker holds
 *                   (read from its live state, whichever listeners are
 *                   on): each Kafka topic's partitions, log bytes and
 *                   readable messages; the beanstalkd job counts; the
 *                   Redis key counts.
 *
 * HTTP/1.0 and 1.1 requests without bodies only; keep-alive is honoured.
 * Anything else gets 400/404/405/413 and, for malformed input, a close. The
 * request head is limited to 8 KiB before anything is parsed.
 * Loop thread only.
 */
#include "broker/job.h"
#include "broker/keyspace.h"
#include "broker/topic.h"
#include "core/err.h"
#include "core/time.h"
#include "proto/front.h"
#include "store/sio.h"

#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

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

/* Appends s as a JSON string. */
static void json_str(buf_t *b, const char *s)
{
	buf_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			buf_printf(b, "\\%c", ch);
		else if (ch < 0x20)
			buf_printf(b, "\\u%04x", ch);
		else
			buf_append(b, s, 1);
	}
	buf_append(b, "\"", 1);
}

/* Disk use (allocated blocks, as du counts) of everything under dir, and
 * the size of its regular files ending in suffix (NULL: all). Bounded
 * depth: the data directory is two levels deep. */
static void du(const char *dir, int depth, const char *suffix, uint64_t *used, uint64_t *size)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char path[4096];
		struct stat st;
		if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
		    lstat(path, &st) != 0)
			continue;
		*used += (uint64_t)st.st_blocks * 512;
		size_t nl = strlen(e->d_name), sl = suffix ? strlen(suffix) : 0;
		if (S_ISREG(st.st_mode) && nl >= sl &&
		    !strcmp(e->d_name + nl - sl, suffix ? suffix : ""))
			*size += (uint64_t)st.st_size;
		else if (S_ISDIR(st.st_mode) && depth < 4)
			du(path, depth + 1, suffix, used, size);
	}
	closedir(d);
}

static int cmp_topic(const void *x, const void *y)
{
	return strcmp((*(topic_t *const *)x)->name, (*(topic_t *const *)y)->name);
}

/* "topics":[{"name":…,"partitions":N,"bytes":N,"messages":N},…], read from
 * the broker's topics: bytes are the partitions' log sizes, messages the
 * readable offsets (high watermark minus log start) summed. */
static void topics_json(buf_t *b, const broker_t *br)
{
	buf_puts(b, "\"topics\":[");
	size_t n = br->topics ? topics_count(br->topics) : 0, it = 0, i = 0;
	topic_t **v = malloc((n ? n : 1) * sizeof *v), *t;
	if (!v)
		abort(); /* the server's own bookkeeping */
	while (br->topics && i < n && (t = topics_next(br->topics, &it)))
		v[i++] = t;
	n = i;
	qsort(v, n, sizeof *v, cmp_topic);
	for (i = 0; i < n; i++) {
		uint64_t bytes = 0, msgs = 0;
		for (int32_t k = 0; k < v[i]->npart; k++) {
			plog_t *p = v[i]->parts[k]->log;
			bytes += plog_size_bytes(p);
			msgs += (uint64_t)(plog_hw(p) - plog_start_offset(p));
		}
		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		json_str(b, v[i]->name);
		buf_printf(b, ",\"partitions\":%d,\"bytes\":%llu,\"messages\":%llu}",
		           (int)v[i]->npart, (unsigned long long)bytes, (unsigned long long)msgs);
	}
	free(v);
	buf_puts(b, "]");
}

/* "keys":{"total":N,"expiring":N} from the broker's Redis keyspace. */
static void keys_json(buf_t *b, const broker_t *br)
{
	if (!br->ks) {
		buf_puts(b, "\"keys\":null");
		return;
	}
	buf_printf(b, "\"keys\":{\"total\":%zu,\"expiring\":%zu}", ks_size(br->ks),
	           ks_expires_count(br->ks));
}

/* "jobs":{"ready":N,…,"tubes":N} from the broker's jobs. */
static void jobs_json(buf_t *b, const broker_t *br)
{
	const jobs_t *s = br->jobs;
	if (!s) {
		buf_puts(b, "\"jobs\":null");
		return;
	}
	buf_printf(b,
	           "\"jobs\":{\"ready\":%llu,\"reserved\":%llu,\"delayed\":%llu,"
	           "\"buried\":%llu,\"tubes\":%zu,\"next_id\":%llu}",
	           (unsigned long long)s->ready_n, (unsigned long long)s->reserved_n,
	           (unsigned long long)s->delayed_n, (unsigned long long)s->buried_n, s->tubes.n,
	           (unsigned long long)s->next_id);
}

static void status(conn_t *c, http_srv_t *h, int keep_alive)
{
	const broker_t *br = h->b;
	const sl_config_t *cfg = br->cfg;
	uint64_t used = 0, size = 0;
	du(br->data_dir, 0, NULL, &used, &size);
	struct statvfs vfs;
	unsigned long long avail = 0;
	if (statvfs(br->data_dir, &vfs) == 0)
		avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	buf_t body = BUF_INIT;
	buf_printf(&body, "{\"uptime_s\":%.3f,\"connections\":%zu,\"draining\":%s,\"bind\":",
	           (double)(time_mono_ms() - h->started_ms) / 1000.0, conn_count(c->loop),
	           br->draining ? "true" : "false");
	json_str(&body, cfg->bind);
	buf_printf(&body, ",\"ports\":{\"kafka\":%d,\"resp\":%d,\"beanstalk\":%d,\"http\":%d}",
	           br->ports.kafka, br->ports.resp, br->ports.beanstalk, br->ports.http);
	buf_puts(&body, ",\"data_dir\":");
	json_str(&body, br->data_dir);
	buf_printf(&body, ",\"disk_used_bytes\":%llu,\"disk_free_bytes\":%llu,",
	           (unsigned long long)used, avail);
	topics_json(&body, br);
	buf_puts(&body, ",");
	jobs_json(&body, br);
	buf_puts(&body, ",");
	keys_json(&body, br);
	buf_puts(&body, "}\n");
	reply(c, 200, "OK", "application/json", (const char *)buf_data(&body), buf_len(&body),
	      keep_alive);
	buf_deinit(&body);
}

/* Finds the end of the request head ("\r\n\r\n"); returns its length or 0. */
/* PUT /debug/faults?SPEC arms a storage failure (store/sio.h rule syntax),
 * DELETE /debug/faults disarms all, GET /debug/faults tells how many calls
 * failed so far. Only with debug.faults = true: tests drive the failure
 * paths of a real server through it. */
static void debug_faults(conn_t *c, http_srv_t *h, const char *method, const char *query,
                         int keep_alive)
{
	sio_t *io = h->b->io;
	char body[256];
	int n;
	if (!h->b->cfg->debug_faults || !io) {
		reply(c, 404, "Not Found", "text/plain", "not found\n", 10, keep_alive);
		return;
	}
	if (strcmp(method, "PUT") == 0) {
		sio_fault_t f;
		if (sio_fault_parse(query ? query : "", &f, body, sizeof body) < 0 ||
		    (sio_fault_add(io, &f) < 0 && snprintf(body, sizeof body, "too many rules"))) {
			n = (int)strlen(body);
			reply(c, 400, "Bad Request", "text/plain", body, (size_t)n, keep_alive);
			return;
		}
		log_warn(h->b->log, "http: storage failure armed: %s", query);
	} else if (strcmp(method, "DELETE") == 0) {
		sio_fault_clear(io);
		log_info(h->b->log, "http: storage failures disarmed");
	} else if (strcmp(method, "GET") != 0) {
		reply(c, 405, "Method Not Allowed", "text/plain", "", 0, keep_alive);
		return;
	}
	n = snprintf(body, sizeof body, "{\"hits\":%llu}\n",
	             (unsigned long long)sio_fault_hits(io));
	reply(c, 200, "OK", "application/json", body, (size_t)n, keep_alive);
}

/* Whether the head announces a body (only bodiless requests are served;
 * "Content-Length: 0", which clients send with an empty PUT, is none). */
static int has_body(const uint8_t *p, size_t hl)
{
	if (memmem(p, hl, "Transfer-Encoding:", 18) || memmem(p, hl, "transfer-encoding:", 18))
		return 1;
	const uint8_t *cl = memmem(p, hl, "Content-Length:", 15);
	if (!cl)
		cl = memmem(p, hl, "content-length:", 15);
	if (!cl)
		return 0;
	const uint8_t *v = cl + 15, *end = p + hl;
	while (v < end && *v == ' ')
		v++;
	return !(v + 1 < end && v[0] == '0' && (v[1] == '\r' || v[1] == ' '));
}

/* PUT /debug/powerloss?tear=0|1&seed=N (debug.powerloss = true): every
 * file is put back the way its last sync left it — unsynced writes dropped,
 * or torn sector by sector — and the process ends at once, as a power cut
 * would end it. The crash tests (make torture) use it. */
static void debug_powerloss(conn_t *c, http_srv_t *h, const char *method, const char *query,
                            int keep_alive)
{
	if (!h->b->cfg->debug_powerloss || !h->b->io) {
		reply(c, 404, "Not Found", "text/plain", "not found\n", 10, keep_alive);
		return;
	}
	if (strcmp(method, "PUT") != 0) {
		reply(c, 405, "Method Not Allowed", "text/plain", "", 0, keep_alive);
		return;
	}
	int tear = query && strstr(query, "tear=1") != NULL;
	const char *sd = query ? strstr(query, "seed=") : NULL;
	uint64_t seed = sd ? strtoull(sd + 5, NULL, 10) : 0;
	int n = sio_powerloss(h->b->io, tear, seed);
	log_warn(h->b->log, "http: simulated power loss (%s): %d files rewound; exiting",
	         tear ? "torn writes" : "unsynced writes dropped", n);
	_exit(137);
}

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
		if (has_body(p, hl)) {
			reply(c, 413, "Payload Too Large", "text/plain", "", 0, 0);
			return -1;
		}
		buf_consume(&c->in, hl);
		h->requests++;
		char *query = strchr(path, '?');
		if (query)
			*query++ = 0;
		if (strcmp(path, "/debug/faults") == 0)
			debug_faults(c, h, method, query, keep_alive);
		else if (strcmp(path, "/debug/powerloss") == 0)
			debug_powerloss(c, h, method, query, keep_alive);
		else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			reply(c, 405, "Method Not Allowed", "text/plain", "", 0, keep_alive);
		else if (strcmp(path, "/health") == 0)
			reply(c, 200, "OK", "text/plain", "ok\n", 3, keep_alive);
		else if (strcmp(path, "/metrics") == 0)
			metrics(c, h, keep_alive);
		else if (strcmp(path, "/status") == 0)
			status(c, h, keep_alive);
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

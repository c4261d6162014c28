/*
 * http.h — the HTTP front's internals: the server state, one parsed
 * request, replies, and the handlers each file of src/http provides.
 *
 * Files, by concept:
 *   front.c     the proto hooks: reads requests (request.c), checks
 *               authentication (the hook issue 14 fills in), routes them
 *               (the one route table), and the debug endpoints
 *   request.c   request parsing with limits: the head (8 KiB), the
 *               request line, headers, a body of at most HTTP_MAX_BODY
 *               bytes announced by Content-Length (checked before a byte
 *               of it is buffered)
 *   reply.c     responses: plain, JSON, JSON errors, and replies that
 *               report a change and so wait for its durability domain
 *   json.c      JSON writing and the request-body parser
 *   status.c    /health, /status
 *   metrics.c   /metrics (Prometheus text format)
 *   assets.c    the console's files, compiled into the binary
 *   api_*.c     the JSON admin API under /api/v1/ (docs/http-api.md)
 *   records.c   decoding stored record batches for the message browser
 *               (gzip, snappy, lz4, zstd)
 *
 * Everything runs on the loop thread. Handlers read the broker's live
 * state and act through the same broker calls the protocols use.
 */
#ifndef SL_HTTP_HTTP_H
#define SL_HTTP_HTTP_H

#include "broker/broker.h"
#include "broker/dur.h"
#include "core/buf.h"
#include "http/json.h"
#include "net/conn.h"

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD 8192
#define HTTP_MAX_BODY (1024 * 1024) /* request bodies: API JSON, test messages */
#define HTTP_MAX_SEGS 8

typedef struct http_srv {
	broker_t *b;
	int64_t started_ms;
	uint64_t requests;
	uint64_t responses[6]; /* by status class: [2] = 2xx ... [5] = 5xx */
	buf_t scrape;          /* /metrics text, reused (metrics.c) */
	int64_t disk_at;       /* when disk_used was measured (status.c) */
	uint64_t disk_used;
} http_srv_t;

typedef struct http_req {
	conn_t *c;
	http_srv_t *h;
	char method[16];
	char path[1024];  /* the path without the query, as sent */
	char query[1024]; /* after '?', "" when none */
	/* The path split at '/', each segment percent-decoded (a NUL in a
	 * segment makes the request a 400). */
	char *seg[HTTP_MAX_SEGS];
	size_t nseg;
	char segbuf[1024];
	const uint8_t *body; /* borrowed from the connection's input */
	size_t body_len;
	int keep_alive;
	int head;          /* HEAD: headers only */
	const char *authz; /* the Authorization value, borrowed like body; NULL */
	size_t authz_len;
	int authed; /* passed http_auth_ok (or no credentials are configured) */
} http_req_t;

/* --- request.c ------------------------------------------------------------- */

/* Parses one request from in[0..n). Returns the bytes it takes (head and
 * body) with r filled, 0 when more input is needed, or a negative HTTP
 * status for a request that must be refused and the connection closed
 * (-400, -411, -413, -414, -431, -505). */
long http_parse(const uint8_t *in, size_t n, http_req_t *r);
/* The value of query parameter name (percent-decoded into out), 1 when
 * present, 0 when not. */
int http_query(const http_req_t *r, const char *name, char *out, size_t outlen);
/* Query parameter as an integer: 1 present and valid, 0 absent, -1 bad. */
int http_query_int(const http_req_t *r, const char *name, int64_t *out);

/* --- reply.c ------------------------------------------------------------------ */

const char *http_reason(int code);
/* A complete response with body p[0..n) written to the connection. */
void http_reply(http_req_t *r, int code, const char *ctype, const void *p, size_t n);
/* The same with extra header lines (each ending in CRLF). */
void http_reply_hdrs(http_req_t *r, int code, const char *ctype, const char *hdrs, const void *p,
                     size_t n);
/* body (JSON) as the response; body is left as it was. */
void http_json(http_req_t *r, int code, const buf_t *body);
/* {"error":{"status":code,"message":"..."}} */
void http_error(http_req_t *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The status of a broker error code (SL_ENOENT 404, SL_EEXIST 409,
 * SL_EINVAL 400, storage errors 503, ...). */
int http_status_of(int sl_err);
/* A response that reports a change made in domain d: it leaves once the
 * change is durable (under fsync=always, or always with force), and
 * becomes a 503 JSON error if the change could not be made durable (the
 * failure policy of broker/dur.h). */
void http_json_durable(http_req_t *r, dur_t *d, int force, int code, const buf_t *body);
struct keyspace;
/* The same for a change in the Redis keyspace (through ks_reply, which
 * also waits for stream entries buffered this turn). */
void http_json_ks(http_req_t *r, struct keyspace *ks, int code, const buf_t *body);

/* --- handlers -------------------------------------------------------------------- */

typedef void (*http_handler_fn)(http_req_t *r);

void http_health(http_req_t *r);

/* --- auth.c ---------------------------------------------------------------- */

/* Whether any credential is configured (http.auth.token or a password). */
int http_auth_configured(const http_srv_t *h);
/* Whether r carries valid credentials, or none are configured; a failure
 * is logged with the peer. */
int http_auth_ok(const http_req_t *r);
/* The 401 reply, asking browsers for Basic credentials. */
void http_auth_required(http_req_t *r);
void http_status(http_req_t *r);
/* The data directory's disk use (cached for a few seconds) and the free
 * space of its filesystem. */
void http_disk(http_srv_t *h, uint64_t *used, uint64_t *avail);
struct topic;
/* Every topic, sorted by name, in an array the caller frees. */
struct topic **http_topics_sorted(const broker_t *b, size_t *n);
void http_metrics(http_req_t *r);
/* Serves a console file for path, or returns 0 when there is none. */
int http_asset(http_req_t *r, const char *path);

void api_overview(http_req_t *r);
void api_topics_list(http_req_t *r);
void api_topic_create(http_req_t *r);
void api_topic_get(http_req_t *r);
void api_topic_delete(http_req_t *r);
void api_topic_partitions(http_req_t *r);
void api_topic_configs(http_req_t *r);
void api_messages_get(http_req_t *r);
void api_messages_produce(http_req_t *r);
void api_groups_list(http_req_t *r);
void api_group_get(http_req_t *r);
void api_group_delete(http_req_t *r);
void api_group_reset(http_req_t *r);
void api_redis_keys(http_req_t *r);
void api_redis_key_delete(http_req_t *r);
void api_redis_streams(http_req_t *r);
void api_redis_stream_get(http_req_t *r);
void api_tubes_list(http_req_t *r);
void api_tube_get(http_req_t *r);
void api_tube_pause(http_req_t *r);
void api_tube_kick(http_req_t *r);
void api_job_get(http_req_t *r);
void api_job_delete(http_req_t *r);
void api_job_kick(http_req_t *r);

/* The offset of the first record of log with a timestamp >= ts (the
 * high watermark when there is none), as Kafka's ListOffsets by time. */
int64_t http_offset_for_time(plog_t *log, int64_t ts);

/* The request body as a JSON object: the tree (caller frees) or NULL after
 * a 400 reply. An empty body is an empty object. */
jv_t *api_body(http_req_t *r);

/* --- records.c ------------------------------------------------------------------- */

/* One record of a stored batch, for display. Views valid until the next
 * call on the walker. */
typedef struct http_rec {
	int64_t offset;
	int64_t timestamp;
	const uint8_t *key; /* NULL: null key */
	size_t key_len;
	const uint8_t *value;
	size_t value_len;
	const uint8_t *headers; /* raw headers: count then key/value pairs */
	size_t headers_len;
	int32_t nheaders;
} http_rec_t;

/* Decodes the records of the batch p[0..len) (decompressing when the
 * batch is compressed, at most max_out bytes) and calls fn for each record
 * with offset >= from; fn returns non-zero to stop. Returns 0, or a
 * negative code (SL_ECORRUPT, SL_ETOOBIG, SL_EINVAL for an unknown codec)
 * with the codec's name in *codec either way. */
int http_batch_records(const uint8_t *p, size_t len, int64_t from, size_t max_out,
                       int (*fn)(void *arg, const http_rec_t *rec), void *arg, const char **codec);
/* Reads one record header from *p..end (advancing *p): key (never null)
 * and value (NULL when null). Returns 0 or -1 when malformed. */
int http_rec_header(const uint8_t **p, const uint8_t *end, const uint8_t **k, size_t *kn,
                    const uint8_t **v, size_t *vn);
/* The codec name of a batch's attributes ("none", "gzip", ...). */
const char *http_codec_name(int attributes);

#endif

/*
 * reply.c — HTTP responses (http.h): plain bodies, JSON, JSON errors, and
 * the replies that report a change, which wait for its durability domain.
 *
 * Errors are always JSON, {"error":{"status":N,"message":"..."}}, with
 * the HTTP status: the console shows the message, scripts test the code.
 *
 * A reply that reports a change (a job kicked, offsets reset, a test
 * message produced) goes through broker/dur.h like every protocol's reply:
 * under fsync=always it leaves only once the change is on disk, and when
 * the write or its sync fails it becomes a 503 instead, so an operator is
 * never told that something happened which a crash could take back.
 * Loop thread only.
 */
#include "http/http.h"

#include "broker/keyspace.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

const char *http_reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* Writes the whole response into out. */
static void build(buf_t *out, int code, const char *ctype, const char *hdrs, const void *p,
                  size_t n, int keep_alive, int head)
{
	buf_printf(out,
	           "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	           "Cache-Control: no-store\r\n%sConnection: %s\r\n\r\n",
	           code, http_reason(code), ctype, n, hdrs ? hdrs : "",
	           keep_alive ? "keep-alive" : "close");
	if (!head)
		buf_append(out, p, n);
}

void http_reply_hdrs(http_req_t *r, int code, const char *ctype, const char *hdrs, const void *p,
                     size_t n)
{
	r->h->responses[code / 100 < 6 ? code / 100 : 5]++;
	build(conn_out(r->c), code, ctype, hdrs, p, n, r->keep_alive, r->head);
}

void http_reply(http_req_t *r, int code, const char *ctype, const void *p, size_t n)
{
	http_reply_hdrs(r, code, ctype, NULL, p, n);
}

void http_json(http_req_t *r, int code, const buf_t *body)
{
	http_reply(r, code, "application/json", buf_data(body), buf_len(body));
}

static void error_body(buf_t *b, int code, const char *msg)
{
	buf_printf(b, "{\"error\":{\"status\":%d,\"message\":", code);
	json_str(b, msg);
	buf_puts(b, "}}\n");
}

void http_error(http_req_t *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	buf_t b = BUF_INIT;
	error_body(&b, code, msg);
	http_json(r, code, &b);
	buf_deinit(&b);
}

int http_status_of(int sl_err)
{
	switch (sl_err) {
	case 0:
		return 200;
	case SL_ENOENT:
		return 404;
	case SL_EEXIST:
	case SL_ESTATE:
	case SL_EBUSY:
		return 409;
	case SL_EINVAL:
	case SL_EPROTO:
	case SL_ERANGE:
		return 400;
	case SL_ETOOBIG:
		return 413;
	default:
		return 503; /* storage errors: SL_EIO, SL_ENOSPC, a recovering domain */
	}
}

/* A held change reply is released: on a failure it becomes the 503. arg
 * carries keep-alive. */
static int fin_durable(dur_hold_t *hold, buf_t *reply, int status, void *arg)
{
	(void)hold;
	if (status >= 0)
		return 0;
	buf_t b = BUF_INIT;
	char msg[200];
	snprintf(msg, sizeof msg, "storage failure: the change could not be made durable (%s)",
	         sl_strerror(status));
	error_body(&b, 503, msg);
	buf_reset(reply);
	build(reply, 503, "application/json", NULL, buf_data(&b), buf_len(&b), (int)(intptr_t)arg,
	      0);
	buf_deinit(&b);
	return 0;
}

void http_json_durable(http_req_t *r, dur_t *d, int force, int code, const buf_t *body)
{
	void *arg = (void *)(intptr_t)r->keep_alive;
	if (!d) {
		http_json(r, code, body);
		return;
	}
	r->h->responses[code / 100]++;
	if (force) {
		dur_hold_t *hold = dur_hold_new(r->c, fin_durable, arg);
		build(dur_hold_buf(hold), code, "application/json", NULL, buf_data(body),
		      buf_len(body), r->keep_alive, r->head);
		dur_hold_join(hold, d, 1);
		dur_hold_arm(hold);
		return;
	}
	buf_t out = BUF_INIT;
	build(&out, code, "application/json", NULL, buf_data(body), buf_len(body), r->keep_alive,
	      r->head);
	dur_reply(d, r->c, buf_data(&out), buf_len(&out), fin_durable, arg);
	buf_deinit(&out);
}

void http_json_ks(http_req_t *r, struct keyspace *ks, int code, const buf_t *body)
{
	r->h->responses[code / 100]++;
	buf_t out = BUF_INIT;
	build(&out, code, "application/json", NULL, buf_data(body), buf_len(body), r->keep_alive,
	      r->head);
	ks_reply(ks, r->c, buf_data(&out), buf_len(&out), fin_durable,
	         (void *)(intptr_t)r->keep_alive);
	buf_deinit(&out);
}

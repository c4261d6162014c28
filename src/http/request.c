/*
 * request.c — parsing one HTTP/1.x request, with limits (http.h).
 *
 * The head must end ("\r\n\r\n") within HTTP_MAX_HEAD bytes; the request
 * line's target within sizeof r->path. A body is accepted only with
 * Content-Length (chunked uploads get 411) and only up to HTTP_MAX_BODY,
 * which is checked when the head arrives, before the body is buffered:
 * the connection's input never holds more than head + limit. The body
 * stays in the connection's input buffer (r->body borrows it) until the
 * request is consumed.
 *
 * Pure functions over the bytes given; thread-safe.
 */
#include "http/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t head_len(const uint8_t *p, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Finds header name (case-insensitive) in the head's header lines; returns
 * a view of its value (leading spaces skipped, up to the CR) or NULL. */
static const char *header(const uint8_t *p, size_t hl, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const uint8_t *line = memchr(p, '\n', hl), *end = p + hl;
	while (line && line + 1 < end) {
		line++;
		const uint8_t *eol = memchr(line, '\r', (size_t)(end - line));
		if (!eol || eol == line)
			break;
		if ((size_t)(eol - line) > nl && line[nl] == ':' &&
		    strncasecmp((const char *)line, name, nl) == 0) {
			const uint8_t *v = line + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*vlen = (size_t)(eol - v);
			return (const char *)v;
		}
		line = memchr(eol, '\n', (size_t)(end - eol));
	}
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into out (NUL-terminated); '+' is a space when
 * plus_space (query strings). Returns the length, or -1 for a bad escape,
 * a NUL byte, or no room. */
static long pct_decode(const char *s, size_t n, char *out, size_t outlen, int plus_space)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == 0 || k + 1 >= outlen)
			return -1;
		out[k++] = c;
	}
	out[k] = 0;
	return (long)k;
}

/* Splits r->path into decoded segments. Returns 0 or -1. */
static int split_path(http_req_t *r)
{
	size_t used = 0;
	const char *p = r->path;
	r->nseg = 0;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (r->nseg == HTTP_MAX_SEGS)
			return -1;
		long k = pct_decode(p, n, r->segbuf + used, sizeof r->segbuf - used, 0);
		if (k < 0)
			return -1;
		r->seg[r->nseg++] = r->segbuf + used;
		used += (size_t)k + 1;
		p += n;
	}
	return 0;
}

long http_parse(const uint8_t *in, size_t n, http_req_t *r)
{
	size_t hl = head_len(in, n < HTTP_MAX_HEAD ? n : HTTP_MAX_HEAD);
	if (!hl)
		return n >= HTTP_MAX_HEAD ? -431 : 0;
	const uint8_t *eol = memchr(in, '\r', hl);
	size_t ll = (size_t)(eol - in);
	char line[2200];
	if (ll >= sizeof line)
		return -414;
	memcpy(line, in, ll);
	line[ll] = 0;
	char target[2100], version[16];
	if (sscanf(line, "%15s %2099s %15s", r->method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0 || target[0] != '/')
		return strncmp(version, "HTTP/", 5) == 0 && strncmp(version, "HTTP/1.", 7) ? -505
		                                                                           : -400;
	char *q = strchr(target, '?');
	if (q)
		*q++ = 0;
	if (strlen(target) >= sizeof r->path || (q && strlen(q) >= sizeof r->query))
		return -414;
	strcpy(r->path, target);
	strcpy(r->query, q ? q : "");
	if (split_path(r) < 0)
		return -400;
	r->head = strcmp(r->method, "HEAD") == 0;
	/* HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes. */
	size_t vl;
	const char *conn = header(in, hl, "Connection", &vl);
	r->keep_alive = strcmp(version, "HTTP/1.1") == 0 &&
	                !(conn && vl >= 5 && strncasecmp(conn, "close", 5) == 0);
	r->authz = header(in, hl, "Authorization", &r->authz_len);
	if (header(in, hl, "Transfer-Encoding", &vl))
		return -411;
	r->body = in + hl;
	r->body_len = 0;
	const char *cl = header(in, hl, "Content-Length", &vl);
	if (cl) {
		char num[24];
		if (vl == 0 || vl >= sizeof num)
			return vl >= sizeof num ? -413 : -400;
		memcpy(num, cl, vl);
		num[vl] = 0;
		char *e;
		errno = 0;
		unsigned long long len = strtoull(num, &e, 10);
		if (*e || errno || num[0] == '-')
			return -400;
		if (len > HTTP_MAX_BODY)
			return -413;
		if (n - hl < len)
			return 0;
		r->body_len = (size_t)len;
	}
	return (long)(hl + r->body_len);
}

int http_query(const http_req_t *r, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = r->query;
	while (*p) {
		const char *e = strchr(p, '&');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n >= nl && !strncmp(p, name, nl) && (n == nl || p[nl] == '=')) {
			const char *v = n == nl ? p + n : p + nl + 1;
			size_t vn = n == nl ? 0 : n - nl - 1;
			return pct_decode(v, vn, out, outlen, 1) >= 0 ? 1 : 0;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return 0;
}

int http_query_int(const http_req_t *r, const char *name, int64_t *out)
{
	char v[32], *e;
	if (!http_query(r, name, v, sizeof v))
		return 0;
	errno = 0;
	long long x = strtoll(v, &e, 10);
	if (!v[0] || *e || errno)
		return -1;
	*out = x;
	return 1;
}

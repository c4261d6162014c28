/*
 * parse.c — resumable RESP request parser (see parse.h).
 *
 * Follows Redis's processMultibulkBuffer/processInlineBuffer closely in what
 * it accepts and which error it reports, because clients and tests compare
 * the texts: a count line longer than 64 KiB, a count that is not a strict
 * integer, a bulk longer than proto-max-bulk-len, a missing '$'. Like Redis,
 * the two bytes after a bulk's payload are skipped without being checked.
 * Inline requests are split like sdssplitargs: whitespace separates, double
 * quotes understand \xHH and C escapes, single quotes only \'.
 * Loop thread only.
 */
#include "proto/resp/parse.h"

#include "core/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void resp_parser_init(resp_parser_t *p, int64_t max_bulk)
{
	memset(p, 0, sizeof *p);
	p->max_bulk = max_bulk;
	p->bulk_len = -1;
}

void resp_parser_deinit(resp_parser_t *p)
{
	free(p->off);
	free(p->len);
	free(p->argv);
	free(p->inline_buf);
	memset(p, 0, sizeof *p);
}

size_t resp_parser_mem(const resp_parser_t *p)
{
	return p->cap * 2 * sizeof(size_t) + p->argv_cap * sizeof(resp_arg_t) + p->inline_cap;
}

/* Tables larger than this are given back between requests. */
#define KEEP_ARGS 1024
#define KEEP_INLINE (64 * 1024)

/* At the start of a request, nothing points into the tables any more. */
static void shrink(resp_parser_t *p)
{
	if (p->cap > KEEP_ARGS) {
		free(p->off);
		free(p->len);
		p->off = p->len = NULL;
		p->cap = 0;
	}
	if (p->argv_cap > KEEP_ARGS) {
		free(p->argv);
		p->argv = NULL;
		p->argv_cap = 0;
	}
	if (p->inline_cap > KEEP_INLINE) {
		free(p->inline_buf);
		p->inline_buf = NULL;
		p->inline_cap = 0;
	}
}

static void reset_request(resp_parser_t *p)
{
	p->pos = 0;
	p->mbulk_left = 0;
	p->bulk_len = -1;
	p->nargs = 0;
}

static int fail(resp_parser_t *p, const char *msg)
{
	p->err = msg;
	reset_request(p);
	return SL_EPROTO;
}

/* Redis's string2ll: optional '-', no leading zeros, no '+', no spaces. */
static int strict_ll(const uint8_t *s, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return 0;
	if (n == 1 && s[0] == '0') {
		*out = 0;
		return 1;
	}
	if (s[0] == '-') {
		neg = 1;
		i = 1;
		if (n == 1)
			return 0;
	}
	if (s[i] < '1' || s[i] > '9')
		return 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return 0;
		*out = (int64_t)(0 - v);
	} else {
		if (v > (uint64_t)INT64_MAX)
			return 0;
		*out = (int64_t)v;
	}
	return 1;
}

/* Whether one more argument keeps the request within max_request. */
static int arg_fits(const resp_parser_t *p, size_t req_bytes)
{
	if (!p->max_request)
		return 1;
	size_t args = p->max_request / RESP_ARG_COST;
	return p->nargs < args && req_bytes <= p->max_request - (p->nargs + 1) * RESP_ARG_COST;
}

static void push_arg(resp_parser_t *p, size_t off, size_t len)
{
	if (p->nargs == p->cap) {
		/* Grows with arguments actually received, never with the count a
		 * client announced, and never past what max_request allows. */
		size_t cap = p->cap ? p->cap * 2 : 8;
		if (p->max_request && cap > p->max_request / RESP_ARG_COST + 1)
			cap = p->max_request / RESP_ARG_COST + 1;
		p->off = realloc(p->off, cap * sizeof *p->off);
		p->len = realloc(p->len, cap * sizeof *p->len);
		if (!p->off || !p->len)
			abort();
		p->cap = cap;
	}
	p->off[p->nargs] = off;
	p->len[p->nargs] = len;
	p->nargs++;
}

static void fill_argv(resp_parser_t *p, const char *base)
{
	if (p->argv_cap < p->nargs) {
		free(p->argv);
		p->argv_cap = p->nargs < 8 ? 8 : p->nargs;
		p->argv = malloc(p->argv_cap * sizeof *p->argv);
		if (!p->argv)
			abort();
	}
	for (size_t i = 0; i < p->nargs; i++) {
		p->argv[i].p = base + p->off[i];
		p->argv[i].len = p->len[i];
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Splits line[0..n) into p->inline_buf like sdssplitargs. Returns 0 or -1
 * for unbalanced quotes. */
static int split_inline(resp_parser_t *p, const uint8_t *s, size_t n)
{
	size_t i = 0, o = 0;
	if (p->inline_cap < n + 1) {
		free(p->inline_buf);
		p->inline_cap = n + 1;
		p->inline_buf = malloc(p->inline_cap);
		if (!p->inline_buf)
			abort();
	}
	char *out = p->inline_buf;
	p->nargs = 0;
	for (;;) {
		while (i < n && isspace(s[i]))
			i++;
		if (i >= n)
			return 0;
		if (!arg_fits(p, n))
			return -2;
		size_t start = o;
		int inq = 0, insq = 0, done = 0;
		while (!done) {
			if (inq) {
				if (i >= n)
					return -1;
				if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
				    hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
					out[o++] = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
					i += 3;
				} else if (s[i] == '\\' && i + 1 < n) {
					char c;
					i++;
					switch (s[i]) {
					case 'n':
						c = '\n';
						break;
					case 'r':
						c = '\r';
						break;
					case 't':
						c = '\t';
						break;
					case 'b':
						c = '\b';
						break;
					case 'a':
						c = '\a';
						break;
					default:
						c = (char)s[i];
						break;
					}
					out[o++] = c;
				} else if (s[i] == '"') {
					/* A closing quote must be followed by a space or the end. */
					if (i + 1 < n && !isspace(s[i + 1]))
						return -1;
					done = 1;
				} else {
					out[o++] = (char)s[i];
				}
			} else if (insq) {
				if (i >= n)
					return -1;
				if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\'') {
					i++;
					out[o++] = '\'';
				} else if (s[i] == '\'') {
					if (i + 1 < n && !isspace(s[i + 1]))
						return -1;
					done = 1;
				} else {
					out[o++] = (char)s[i];
				}
			} else {
				if (i >= n) {
					done = 1;
					break;
				}
				switch (s[i]) {
				case ' ':
				case '\n':
				case '\r':
				case '\t':
				case '\0':
					done = 1;
					break;
				case '"':
					inq = 1;
					break;
				case '\'':
					insq = 1;
					break;
				default:
					out[o++] = (char)s[i];
					break;
				}
			}
			if (i < n)
				i++;
		}
		push_arg(p, start, o - start);
	}
}

static int64_t parse_inline(resp_parser_t *p, const uint8_t *data, size_t n, size_t *argc)
{
	const uint8_t *nl = memchr(data, '\n', n);
	if (!nl) {
		if (n > RESP_INLINE_MAX)
			return fail(p, "Protocol error: too big inline request");
		return SL_EAGAIN;
	}
	size_t linelen = (size_t)(nl - data);
	size_t total = linelen + 1;
	if (linelen > 0 && data[linelen - 1] == '\r')
		linelen--;
	int sr = split_inline(p, data, linelen);
	if (sr == -2)
		return fail(p, "Protocol error: too big request (max.request.bytes)");
	if (sr < 0)
		return fail(p, "Protocol error: unbalanced quotes in request");
	fill_argv(p, p->inline_buf);
	*argc = p->nargs;
	p->inline_req = 1;
	reset_request(p);
	return (int64_t)total;
}

int64_t resp_parse(resp_parser_t *p, const uint8_t *data, size_t n, size_t *argc)
{
	*argc = 0;
	p->err = NULL;
	if (p->pos == 0 && p->mbulk_left == 0) {
		shrink(p);
		if (n == 0)
			return SL_EAGAIN;
		if (data[0] != '*')
			return parse_inline(p, data, n, argc);
		/* The count line. */
		const uint8_t *cr = memchr(data, '\r', n);
		if (!cr) {
			if (n > RESP_INLINE_MAX)
				return fail(p, "Protocol error: too big mbulk count string");
			return SL_EAGAIN;
		}
		if ((size_t)(cr - data) + 2 > n)
			return SL_EAGAIN;
		int64_t ll;
		if (!strict_ll(data + 1, (size_t)(cr - data) - 1, &ll) || ll > INT32_MAX)
			return fail(p, "Protocol error: invalid multibulk length");
		if (ll > 10 && p->unauth)
			return fail(p, "Protocol error: unauthenticated multibulk length");
		size_t after = (size_t)(cr - data) + 2;
		if (ll <= 0) {
			reset_request(p);
			return (int64_t)after;
		}
		p->pos = after;
		p->mbulk_left = ll;
		p->bulk_len = -1;
		p->nargs = 0;
	}
	while (p->mbulk_left > 0) {
		if (p->bulk_len < 0) {
			const uint8_t *s = data + p->pos;
			size_t left = n - p->pos;
			const uint8_t *cr = memchr(s, '\r', left);
			if (!cr) {
				if (left > RESP_INLINE_MAX)
					return fail(p, "Protocol error: too big bulk count string");
				return SL_EAGAIN;
			}
			if ((size_t)(cr - s) + 2 > left)
				return SL_EAGAIN;
			if (s[0] != '$') {
				snprintf(p->err_buf, sizeof p->err_buf,
				         "Protocol error: expected '$', got '%c'", s[0]);
				int rc = fail(p, p->err_buf);
				p->err = p->err_buf;
				return rc;
			}
			int64_t ll;
			if (!strict_ll(s + 1, (size_t)(cr - s) - 1, &ll) || ll < 0 ||
			    ll > p->max_bulk)
				return fail(p, "Protocol error: invalid bulk length");
			if (ll > 16384 && p->unauth)
				return fail(p, "Protocol error: unauthenticated bulk length");
			p->pos += (size_t)(cr - s) + 2;
			p->bulk_len = ll;
		}
		if (!arg_fits(p, p->pos + (size_t)p->bulk_len + 2))
			return fail(p, "Protocol error: too big request (max.request.bytes)");
		if (n - p->pos < (size_t)p->bulk_len + 2)
			return SL_EAGAIN;
		push_arg(p, p->pos, (size_t)p->bulk_len);
		p->pos += (size_t)p->bulk_len + 2;
		p->bulk_len = -1;
		p->mbulk_left--;
	}
	fill_argv(p, (const char *)data);
	*argc = p->nargs;
	p->inline_req = 0;
	int64_t total = (int64_t)p->pos;
	reset_request(p);
	return total;
}

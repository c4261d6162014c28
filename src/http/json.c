/*
 * json.c — JSON writing helpers and the request-body parser (json.h).
 *
 * The parser is a recursive descent over RFC 8259 with a depth limit;
 * every node is linked on the root's allocation list, so a parse error
 * half-way frees what was built with one json_free. Pure functions.
 */
#include "http/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- writing ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p[0..n), or 0 when invalid. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xE0) == 0xC0)
		len = 2, cp = c & 0x1F;
	else if ((c & 0xF0) == 0xE0)
		len = 3, cp = c & 0x0F;
	else if ((c & 0xF8) == 0xF0)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

int json_utf8_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (p[i] == 0)
			return 0;
		size_t l = utf8_seq(p + i, n - i);
		if (!l)
			return 0;
		i += l;
	}
	return 1;
}

void json_strn(buf_t *b, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	buf_put_u8(b, '"');
	size_t run = 0; /* start of the bytes copied as they are */
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t l = c >= 0x80 ? utf8_seq(p + i, n - i) : 1;
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F && l) {
			i += l;
			continue;
		}
		buf_append(b, p + run, i - run);
		if (!l)
			buf_puts(b, "\\ufffd");
		else if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c == '\r')
			buf_puts(b, "\\r");
		else
			buf_printf(b, "\\u%04x", c);
		i += l ? l : 1;
		run = i;
	}
	buf_append(b, p + run, n - run);
	buf_put_u8(b, '"');
}

void json_str(buf_t *b, const char *s)
{
	json_strn(b, s, strlen(s));
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void json_b64(buf_t *b, const uint8_t *p, size_t n)
{
	buf_put_u8(b, '"');
	uint8_t *o = buf_reserve(b, (n + 2) / 3 * 4);
	size_t k = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		o[k++] = (uint8_t)B64[v >> 18 & 63];
		o[k++] = (uint8_t)B64[v >> 12 & 63];
		o[k++] = i + 1 < n ? (uint8_t)B64[v >> 6 & 63] : '=';
		o[k++] = i + 2 < n ? (uint8_t)B64[v & 63] : '=';
	}
	buf_commit(b, k);
	buf_put_u8(b, '"');
}

int json_b64_decode(buf_t *out, const char *s, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t pad = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '=') {
			pad++;
			continue;
		}
		const char *q = c ? strchr(B64, c) : NULL;
		if (!q || pad)
			return -1;
		acc = acc << 6 | (uint32_t)(q - B64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_put_u8(out, (uint8_t)(acc >> bits));
		}
	}
	return pad > 2 ? -1 : 0;
}

/* --- parsing ------------------------------------------------------------------- */

typedef struct jp {
	const char *p, *end;
	jv_t *root;
	char *err;
	size_t errlen;
	int failed;
} jp_t;

static void fail(jp_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(jp_t *j, const char *fmt, ...)
{
	if (j->failed)
		return;
	j->failed = 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->err, j->errlen, fmt, ap);
	va_end(ap);
}

static jv_t *node(jp_t *j, jv_type_t t)
{
	jv_t *v = calloc(1, sizeof *v);
	if (!v)
		abort(); /* bounded by the body size the front accepted */
	v->t = t;
	if (j->root) {
		v->all = j->root->all;
		j->root->all = v;
	} else {
		j->root = v;
	}
	return v;
}

static void ws(jp_t *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(buf_t *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_put_u8(b, (uint8_t)cp);
	} else if (cp < 0x800) {
		buf_put_u8(b, (uint8_t)(0xC0 | cp >> 6));
		buf_put_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_put_u8(b, (uint8_t)(0xE0 | cp >> 12));
		buf_put_u8(b, (uint8_t)(0x80 | (cp >> 6 & 0x3F)));
		buf_put_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
	} else {
		buf_put_u8(b, (uint8_t)(0xF0 | cp >> 18));
		buf_put_u8(b, (uint8_t)(0x80 | (cp >> 12 & 0x3F)));
		buf_put_u8(b, (uint8_t)(0x80 | (cp >> 6 & 0x3F)));
		buf_put_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
	}
}

/* A string at j->p (on the opening quote) into an owned NUL-terminated
 * copy; NULL on error. */
static char *string(jp_t *j, size_t *len)
{
	buf_t b = BUF_INIT;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		if (c < 0x20) {
			fail(j, "control character in a string");
			goto bad;
		}
		if (c != '\\') {
			buf_put_u8(&b, c);
			j->p++;
			continue;
		}
		if (j->end - j->p < 2) {
			fail(j, "unterminated escape");
			goto bad;
		}
		char e = j->p[1];
		j->p += 2;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			buf_put_u8(&b, (uint8_t)e);
			break;
		case 'b':
			buf_put_u8(&b, '\b');
			break;
		case 'f':
			buf_put_u8(&b, '\f');
			break;
		case 'n':
			buf_put_u8(&b, '\n');
			break;
		case 'r':
			buf_put_u8(&b, '\r');
			break;
		case 't':
			buf_put_u8(&b, '\t');
			break;
		case 'u': {
			uint32_t cp, lo;
			if (j->end - j->p < 4 || hex4(j->p, &cp) < 0) {
				fail(j, "bad \\u escape");
				goto bad;
			}
			j->p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' &&
			    j->p[1] == 'u' && hex4(j->p + 2, &lo) == 0 && lo >= 0xDC00 &&
			    lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				j->p += 6;
			} else if (cp >= 0xD800 && cp <= 0xDFFF) {
				cp = 0xFFFD; /* a lone surrogate */
			}
			put_utf8(&b, cp);
			break;
		}
		default:
			fail(j, "bad escape \\%c", e);
			goto bad;
		}
	}
	if (j->p >= j->end) {
		fail(j, "unterminated string");
		goto bad;
	}
	j->p++;
	*len = buf_len(&b);
	buf_put_u8(&b, 0);
	char *s = malloc(*len + 1);
	if (!s)
		abort();
	memcpy(s, buf_data(&b), *len + 1);
	buf_deinit(&b);
	return s;
bad:
	buf_deinit(&b);
	return NULL;
}

static jv_t *value(jp_t *j, int depth);

static void add_child(jv_t *parent, jv_t *child, char *key)
{
	parent->v = realloc(parent->v, (parent->n + 1) * sizeof *parent->v);
	if (!parent->v)
		abort();
	if (parent->t == JV_OBJ) {
		parent->k = realloc(parent->k, (parent->n + 1) * sizeof *parent->k);
		if (!parent->k)
			abort();
		parent->k[parent->n] = key;
	}
	parent->v[parent->n++] = child;
}

static jv_t *container(jp_t *j, int depth, int obj)
{
	jv_t *v = node(j, obj ? JV_OBJ : JV_ARR);
	char close = obj ? '}' : ']';
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return v;
	}
	for (;;) {
		char *key = NULL;
		ws(j);
		if (obj) {
			size_t kl;
			if (j->p >= j->end || *j->p != '"') {
				fail(j, "expected a member name");
				return NULL;
			}
			if (!(key = string(j, &kl)))
				return NULL;
			ws(j);
			if (j->p >= j->end || *j->p != ':') {
				free(key);
				fail(j, "expected ':'");
				return NULL;
			}
			j->p++;
		}
		jv_t *c = value(j, depth + 1);
		if (!c) {
			free(key);
			return NULL;
		}
		add_child(v, c, key);
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return v;
		}
		fail(j, "expected ',' or '%c'", close);
		return NULL;
	}
}

static int word(jp_t *j, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(j->end - j->p) >= n && !memcmp(j->p, w, n)) {
		j->p += n;
		return 1;
	}
	return 0;
}

static jv_t *number(jp_t *j)
{
	const char *s = j->p;
	while (j->p < j->end && strchr("+-0123456789.eE", *j->p))
		j->p++;
	size_t n = (size_t)(j->p - s);
	char tmp[64];
	if (n == 0 || n >= sizeof tmp) {
		fail(j, "bad number");
		return NULL;
	}
	memcpy(tmp, s, n);
	tmp[n] = 0;
	char *e;
	jv_t *v = node(j, JV_NUM);
	v->num = strtod(tmp, &e);
	if (*e) {
		fail(j, "bad number '%s'", tmp);
		return NULL;
	}
	if (!strpbrk(tmp, ".eE")) {
		errno = 0;
		long long i = strtoll(tmp, &e, 10);
		if (!*e && errno == 0) {
			v->i = i;
			v->is_int = 1;
		}
	}
	return v;
}

static jv_t *value(jp_t *j, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		fail(j, "nested deeper than %d", JSON_MAX_DEPTH);
		return NULL;
	}
	ws(j);
	if (j->p >= j->end) {
		fail(j, "unexpected end of input");
		return NULL;
	}
	char c = *j->p;
	if (c == '{' || c == '[')
		return container(j, depth, c == '{');
	if (c == '"') {
		size_t n;
		char *s = string(j, &n);
		if (!s)
			return NULL;
		jv_t *v = node(j, JV_STR);
		v->s = s;
		v->slen = n;
		return v;
	}
	if (word(j, "true") || word(j, "false")) {
		jv_t *v = node(j, JV_BOOL);
		v->b = j->p[-1] == 'e' && j->p[-2] == 'u';
		return v;
	}
	if (word(j, "null"))
		return node(j, JV_NULL);
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(j);
	fail(j, "unexpected character '%c'", c);
	return NULL;
}

jv_t *json_parse(const char *p, size_t n, char *err, size_t errlen)
{
	jp_t j = {.p = p, .end = p + n, .err = err, .errlen = errlen};
	jv_t *v = value(&j, 0);
	if (v) {
		ws(&j);
		if (j.p != j.end)
			fail(&j, "trailing characters after the document");
	}
	if (j.failed) {
		json_free(j.root);
		return NULL;
	}
	return j.root;
}

void json_free(jv_t *v)
{
	if (!v)
		return;
	jv_t *next = v->all;
	for (; v; v = next) {
		next = v->all;
		for (size_t i = 0; v->k && i < v->n; i++)
			free(v->k[i]);
		free(v->k);
		free(v->v);
		free(v->s);
		free(v);
	}
}

const jv_t *json_get(const jv_t *v, const char *key)
{
	if (!v || v->t != JV_OBJ)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->k[i], key))
			return v->v[i];
	return NULL;
}

int json_get_int(const jv_t *v, const char *key, int64_t *out)
{
	const jv_t *m = json_get(v, key);
	if (!m || m->t == JV_NULL)
		return 0;
	if (m->t != JV_NUM || !m->is_int)
		return -1;
	*out = m->i;
	return 1;
}

int json_get_str(const jv_t *v, const char *key, const char **out, size_t *len)
{
	const jv_t *m = json_get(v, key);
	if (!m || m->t == JV_NULL)
		return 0;
	if (m->t != JV_STR)
		return -1;
	*out = m->s;
	if (len)
		*len = m->slen;
	return 1;
}

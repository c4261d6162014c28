/*
 * json.c — a small JSON reader for sluiced's /status reply (see json.h):
 * recursive descent into a tree, depth-limited, every string copied.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 32

typedef struct reader {
	const char *p, *end;
	int depth;
} reader;

static void ws(reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool lit(reader *r, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, s, n))
		return false;
	r->p += n;
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* A string at r->p (after the quote) into an owned, NUL-terminated copy.
 * \u escapes are decoded to UTF-8 (surrogate pairs are not joined: /status
 * never sends them). */
static char *string(reader *r)
{
	char *out = malloc((size_t)(r->end - r->p) + 1);
	size_t n = 0;
	if (!out)
		return NULL;
	while (r->p < r->end && *r->p != '"') {
		char c = *r->p++;
		if (c != '\\') {
			out[n++] = c;
			continue;
		}
		if (r->p >= r->end)
			break;
		c = *r->p++;
		switch (c) {
		case 'n':
			out[n++] = '\n';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'u': {
			unsigned v = 0;
			for (int i = 0; i < 4; i++) {
				int h = r->p < r->end ? hexval(*r->p++) : -1;
				if (h < 0) {
					free(out);
					return NULL;
				}
				v = v * 16 + (unsigned)h;
			}
			if (v < 0x80) {
				out[n++] = (char)v;
			} else if (v < 0x800) {
				out[n++] = (char)(0xc0 | (v >> 6));
				out[n++] = (char)(0x80 | (v & 0x3f));
			} else {
				out[n++] = (char)(0xe0 | (v >> 12));
				out[n++] = (char)(0x80 | ((v >> 6) & 0x3f));
				out[n++] = (char)(0x80 | (v & 0x3f));
			}
			break;
		}
		default:
			out[n++] = c;
			break;
		}
	}
	if (r->p >= r->end) {
		free(out);
		return NULL;
	}
	r->p++;
	out[n] = 0;
	return out;
}

static bool value(reader *r, json *v);

static bool push(json *v, json *kid, char *key)
{
	if ((v->n & (v->n - 1)) == 0) { /* grow at powers of two */
		size_t cap = v->n ? v->n * 2 : 4;
		json *k = realloc(v->kids, cap * sizeof *k);
		char **ks = realloc(v->keys, cap * sizeof *ks);
		if (k)
			v->kids = k;
		if (ks)
			v->keys = ks;
		if (!k || !ks)
			return false;
	}
	v->kids[v->n] = *kid;
	v->keys[v->n] = key;
	v->n++;
	return true;
}

static bool container(reader *r, json *v, char close)
{
	if (++r->depth > JSON_MAX_DEPTH)
		return false;
	ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		r->depth--;
		return true;
	}
	for (;;) {
		char *key = NULL;
		json kid = {0};
		ws(r);
		if (close == '}') {
			if (r->p >= r->end || *r->p != '"')
				return false;
			r->p++;
			if (!(key = string(r)))
				return false;
			ws(r);
			if (r->p >= r->end || *r->p++ != ':') {
				free(key);
				return false;
			}
		}
		if (!value(r, &kid) || !push(v, &kid, key)) {
			free(key);
			json_free(&kid);
			return false;
		}
		ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			r->depth--;
			return true;
		}
		return false;
	}
}

static bool value(reader *r, json *v)
{
	ws(r);
	if (r->p >= r->end)
		return false;
	char c = *r->p;
	if (c == '{' || c == '[') {
		r->p++;
		v->type = c == '{' ? JSON_OBJ : JSON_ARR;
		return container(r, v, c == '{' ? '}' : ']');
	}
	if (c == '"') {
		r->p++;
		v->type = JSON_STR;
		return (v->str = string(r)) != NULL;
	}
	if (lit(r, "true") || lit(r, "false")) {
		v->type = JSON_BOOL;
		v->b = r->p[-1] == 'e' && r->p[-2] == 'u';
		return true;
	}
	if (lit(r, "null")) {
		v->type = JSON_NULL;
		return true;
	}
	char *end;
	char buf[64];
	size_t n =
	    (size_t)(r->end - r->p) < sizeof buf - 1 ? (size_t)(r->end - r->p) : sizeof buf - 1;
	memcpy(buf, r->p, n);
	buf[n] = 0;
	v->num = strtod(buf, &end);
	if (end == buf)
		return false;
	v->type = JSON_NUM;
	r->p += end - buf;
	return true;
}

int json_parse(const char *s, size_t len, json *out)
{
	reader r = {s, s + len, 0};
	memset(out, 0, sizeof *out);
	if (!value(&r, out)) {
		json_free(out);
		return -1;
	}
	ws(&r);
	if (r.p != r.end) {
		json_free(out);
		return -1;
	}
	return 0;
}

void json_free(json *v)
{
	for (size_t i = 0; i < v->n; i++) {
		json_free(&v->kids[i]);
		free(v->keys[i]);
	}
	free(v->kids);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof *v);
}

const json *json_get(const json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->kids[i];
	return NULL;
}

double json_num(const json *obj, const char *key, double def)
{
	const json *v = json_get(obj, key);
	return v && v->type == JSON_NUM ? v->num : def;
}

const char *json_str(const json *obj, const char *key, const char *def)
{
	const json *v = json_get(obj, key);
	return v && v->type == JSON_STR ? v->str : def;
}

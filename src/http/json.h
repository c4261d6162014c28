/*
 * json.h — JSON for the HTTP front: writing replies into a buf_t, and a
 * small parser for request bodies.
 *
 * Writing: the caller builds the document with buf_puts/buf_printf and
 * these helpers for what needs escaping (strings, bytes as base64).
 *
 * Parsing: json_parse() reads one document into a tree of jv_t nodes (all
 * in one allocation list freed by json_free). Limits: the caller checked
 * the body's size before reading it (http.h HTTP_MAX_BODY); nesting deeper
 * than JSON_MAX_DEPTH is refused, so a hostile body cannot exhaust the
 * stack. Numbers keep their integer value when they have one (offsets and
 * timestamps do not fit a double's 53 bits).
 *
 * Pure functions; thread-safe.
 */
#ifndef SL_HTTP_JSON_H
#define SL_HTTP_JSON_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 16

/* --- writing ---------------------------------------------------------------- */

/* s as a JSON string (quotes included); bytes that are not valid UTF-8
 * become U+FFFD, so the document stays valid whatever a client stored. */
void json_strn(buf_t *b, const char *s, size_t n);
void json_str(buf_t *b, const char *s);
/* p[0..n) as a base64 string (quotes included). */
void json_b64(buf_t *b, const uint8_t *p, size_t n);
/* Whether p[0..n) is valid UTF-8 without NUL bytes (shown as text). */
int json_utf8_ok(const uint8_t *p, size_t n);
/* Decodes base64 s[0..n) into out (appended); returns 0 or -1. */
int json_b64_decode(buf_t *out, const char *s, size_t n);

/* --- parsing ----------------------------------------------------------------- */

typedef enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_type_t;

typedef struct jv {
	jv_type_t t;
	int b;         /* JV_BOOL */
	double num;    /* JV_NUM */
	int64_t i;     /* JV_NUM: the integer value when is_int */
	int is_int;    /* JV_NUM written as an integer that fits int64 */
	char *s;       /* JV_STR: NUL-terminated (may contain NULs: slen) */
	size_t slen;   /* JV_STR */
	struct jv **v; /* JV_ARR, JV_OBJ: n children */
	char **k;      /* JV_OBJ: n keys */
	size_t n;
	struct jv *all; /* allocation list (the root's frees everything) */
} jv_t;

/* Parses p[0..n). Returns an owned tree, or NULL with a one-line reason
 * in err. */
jv_t *json_parse(const char *p, size_t n, char *err, size_t errlen);
void json_free(jv_t *v);
/* Member key of an object (NULL if v is not an object or has none). */
const jv_t *json_get(const jv_t *v, const char *key);
/* Typed member reads: return 1 when present with the right type, 0 when
 * absent or null, -1 when present with another type. */
int json_get_int(const jv_t *v, const char *key, int64_t *out);
int json_get_str(const jv_t *v, const char *key, const char **out, size_t *len);

#endif

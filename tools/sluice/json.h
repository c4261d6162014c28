/*
 * json.h — a small JSON reader (for sluiced's /status reply). Not a
 * general-purpose library: numbers are doubles, depth is limited to 32.
 */
#ifndef SL_TOOLS_JSON_H
#define SL_TOOLS_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ } json_type;

typedef struct json {
	json_type type;
	bool b;
	double num;
	char *str;         /* JSON_STR, owned */
	struct json *kids; /* JSON_ARR / JSON_OBJ members, owned */
	char **keys;       /* JSON_OBJ member names (NULL in arrays), owned */
	size_t n;
} json;

/* Parses s[0..len) into *out (free with json_free). 0 or -1. */
int json_parse(const char *s, size_t len, json *out);
void json_free(json *v);
/* Member key of obj, or NULL (also when obj is not an object). */
const json *json_get(const json *obj, const char *key);
double json_num(const json *obj, const char *key, double def);
const char *json_str(const json *obj, const char *key, const char *def);

#endif

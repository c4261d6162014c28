/*
 * conf_table.h — the key table behind sl_conf, shared by conf.c (checks
 * and getters) and conf_yaml.c (YAML names). Internal.
 */
#ifndef SL_LIB_CONF_TABLE_H
#define SL_LIB_CONF_TABLE_H

#include "lib.h"

#include <stdio.h>

typedef enum {
	CONF_STR,       /* any string */
	CONF_LIST,      /* comma-separated strings */
	CONF_HOSTPORTS, /* comma-separated host:port */
	CONF_INT,       /* integer in [min, max] */
	CONF_MS,        /* duration in ms in [min, max] */
	CONF_BOOL,      /* true | false */
	CONF_ENUM,      /* one of choices ("a|b|c") */
	CONF_OFFSET,    /* first | last | integer >= 0 */
} conf_type;

typedef struct conf_key {
	const char *name; /* canonical, dotted */
	const char *yaml; /* go-zero spelling */
	conf_type type;
	const char *def;
	int64_t min, max;
	const char *choices;
} conf_key;

extern const conf_key CONF_KEYS[];
extern const int CONF_NKEYS;

/* Index of a key by canonical or YAML name, -1 if unknown. */
int conf_index(const char *name);
/* Checks and stores value; the message is "<where><shown>: <why>, got …". */
int conf_set_named(sl_conf *c, int idx, const char *value, const char *where, const char *shown);
bool conf_parse_ms(const char *s, int64_t *out);

#endif

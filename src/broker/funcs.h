/*
 * funcs.h — the Redis function libraries (FUNCTION LOAD / DELETE / FLUSH /
 * RESTORE), owned by the broker and journaled (functions/functions.journal;
 * byte layout and recovery rule in funcs.c and docs/formats-journal.md).
 *
 * The broker keeps each library's name and source code only; the RESP
 * front compiles them (proto/resp/c_function.c) when it starts and on
 * every change. A change replaces the whole set of libraries at once, is
 * written ahead and synced before it is applied, and is refused (nothing
 * changed) when the write fails. Loop thread only.
 */
#ifndef SL_BROKER_FUNCS_H
#define SL_BROKER_FUNCS_H

#include <stddef.h>
#include <stdint.h>

struct broker;
typedef struct funcs funcs_t;

typedef struct funcs_lib {
	const char *name;
	size_t name_len;
	const char *code;
	size_t code_len;
} funcs_lib_t;

/* Opens DATA_DIR/functions/functions.journal and replays it. */
int funcs_open(funcs_t **out, struct broker *b);
void funcs_close(funcs_t *f);

/* The libraries, in name order of their last change: it from 0 while
 * funcs_get(f, it, &lib) returns 1. */
size_t funcs_count(const funcs_t *f);
int funcs_get(const funcs_t *f, size_t i, funcs_lib_t *out);
/* Replaces the whole set by libs[0..n) (names unique): written ahead and
 * synced, then applied. Returns 0, or a negative code with nothing
 * changed (SL_EIO, SL_ENOSPC, SL_ETOOBIG). */
int funcs_replace(funcs_t *f, const funcs_lib_t *libs, size_t n);

#endif

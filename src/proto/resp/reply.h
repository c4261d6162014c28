/*
 * reply.h — RESP2/RESP3 reply writers.
 *
 * Every writer appends to a buf_t (a connection's output buffer, or a hold's
 * buffer while a reply waits for durability). Where RESP3 has a richer type
 * (map, set, null, double, verbatim string, push) the writer takes the
 * connection's protocol version and falls back to the RESP2 shape Redis
 * uses: maps become flat arrays of 2n elements, sets and pushes arrays,
 * nulls "$-1" or "*-1" depending on what Redis sends for that reply.
 * Lengths that are only known at the end (COUNT limits, skipped entries)
 * use resp_defer()/resp_defer_set(), which inserts the header afterwards.
 * Loop thread only.
 */
#ifndef SL_PROTO_RESP_REPLY_H
#define SL_PROTO_RESP_REPLY_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

void resp_ok(buf_t *b);
void resp_simple(buf_t *b, const char *s);
/* An error reply: text is the whole message after '-' ("ERR ...",
 * "WRONGTYPE ..."); CR and LF in it become spaces, as in Redis. */
void resp_error(buf_t *b, const char *text);
void resp_errorf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void resp_int(buf_t *b, int64_t v);
void resp_bulk(buf_t *b, const void *p, size_t n);
void resp_bulk_str(buf_t *b, const char *s);
void resp_bulk_i64(buf_t *b, int64_t v);
void resp_bulk_u64(buf_t *b, uint64_t v);
void resp_array(buf_t *b, size_t n);
/* Null bulk string: "$-1" in RESP2, "_" in RESP3. */
void resp_null(buf_t *b, int proto);
/* Null array: "*-1" in RESP2, "_" in RESP3. */
void resp_null_array(buf_t *b, int proto);
/* A map of n pairs: "%n" in RESP3, "*2n" in RESP2. */
void resp_map(buf_t *b, int proto, size_t n);
void resp_set(buf_t *b, int proto, size_t n);
void resp_push(buf_t *b, int proto, size_t n);
void resp_double(buf_t *b, int proto, double d);
/* A verbatim "txt" string in RESP3, a bulk string in RESP2 (INFO). */
void resp_verbatim(buf_t *b, int proto, const void *p, size_t n);

/* Deferred aggregate header: resp_defer() marks the position, elements are
 * written, then resp_defer_set() inserts "<type><n>\r\n" at the mark. The
 * mark is relative to the live data, so it survives buffer growth. */
size_t resp_defer(buf_t *b);
void resp_defer_set(buf_t *b, size_t mark, char type, size_t n);
/* Same for a map: the right header for the protocol (n pairs). */
void resp_defer_map(buf_t *b, size_t mark, int proto, size_t n);
/* Takes back what was written since mark (a resp_defer() mark): a reply
 * begun before the write it reports on was refused. */
static inline void resp_undo(buf_t *b, size_t mark)
{
	b->end = b->start + mark;
}

#endif

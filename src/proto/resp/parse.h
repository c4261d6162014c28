/*
 * parse.h — resumable RESP request parser (multibulk and inline).
 *
 * The parser reads requests out of a connection's input buffer without
 * copying: arguments are recorded as (offset, length) pairs relative to the
 * start of the live input, and turned into pointers only when a whole
 * request is present. State survives between calls, so a request split
 * across reads is never rescanned from its start. Every client-chosen size
 * (multibulk count, bulk length, inline line length) is checked before
 * anything is allocated for it. Error texts are Redis's own (networking.c).
 *
 * Memory: the argument table grows with the arguments actually received,
 * never with the count a client announces, and a request's bytes plus
 * RESP_ARG_COST per argument may not pass max_request (a `*50000000`
 * header followed by empty bulks would otherwise hold 2.7 times its input
 * in offsets and views); resp_parser_mem says what the parser holds, for
 * the connection's client-memory account. Tables grown by a large request
 * are given back when the next one starts.
 * Loop thread only; one parser per connection.
 */
#ifndef SL_PROTO_RESP_PARSE_H
#define SL_PROTO_RESP_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Redis's PROTO_INLINE_MAX_SIZE: longest inline line or count line. */
#define RESP_INLINE_MAX (64 * 1024)
/* Bytes the parser holds per argument of a request: its offset and length
 * while the request arrives, its view (resp_arg_t) once it is complete. */
#define RESP_ARG_COST (2 * sizeof(size_t) + sizeof(resp_arg_t))

typedef struct resp_arg {
	const char *p; /* view into the input, valid until it is consumed */
	size_t len;
} resp_arg_t;

typedef struct resp_parser {
	int64_t max_bulk;   /* proto-max-bulk-len */
	size_t max_request; /* bytes + RESP_ARG_COST per argument (0: no bound) */
	int unauth;         /* authentication pending: tighter limits */
	/* State of the request in progress. */
	size_t pos;         /* bytes of the request parsed so far */
	int64_t mbulk_left; /* arguments still to read; 0 = no multibulk open */
	int64_t bulk_len;   /* length of the bulk being read, -1 before its header */
	size_t nargs, cap;
	size_t *off, *len; /* argument offsets and lengths within the request */
	int inline_req;    /* the finished request came from an inline line */
	char *inline_buf;  /* unescaped inline arguments (owned) */
	size_t inline_cap;
	resp_arg_t *argv; /* filled by resp_parse on success */
	size_t argv_cap;
	const char *err; /* protocol error text on SL_EPROTO */
	char err_buf[64];
} resp_parser_t;

void resp_parser_init(resp_parser_t *p, int64_t max_bulk);
void resp_parser_deinit(resp_parser_t *p);
/* Bytes the parser has allocated (argument tables, inline buffer). */
size_t resp_parser_mem(const resp_parser_t *p);

/* Parses one request from data[0..n). Returns the number of bytes the
 * request occupies (> 0; the caller consumes them after handling it) with
 * p->argv / *argc set, SL_EAGAIN when more input is needed (state is kept;
 * call again with the same data plus more), or SL_EPROTO with p->err set to
 * the text Redis replies before closing. A request of zero arguments (an
 * empty inline line, "*0") returns its length with *argc == 0. */
int64_t resp_parse(resp_parser_t *p, const uint8_t *data, size_t n, size_t *argc);

#endif

/*
 * loop_priv.h — net/-private parts of the loop that conn.c and listener.c
 * share: the list of live connections kept per loop (for conn_count and
 * conn_foreach) and the connection id counter. Not for use outside src/net/.
 * Loop thread only.
 */
#ifndef SL_NET_LOOP_PRIV_H
#define SL_NET_LOOP_PRIV_H

#include "net/loop.h"

#include <stddef.h>
#include <stdint.h>

struct conn;

typedef struct loop_conns {
	struct conn *head; /* doubly linked through conn_priv; open connections only */
	size_t n;
	uint64_t next_id; /* last id handed out; ids start at 1 */
	/* Client memory (conn.c): what every open connection holds for
	 * requests not yet complete and replies not yet sent, the cap on it
	 * (max.client.memory, 0: none) and how many were closed for it. */
	size_t mem_total;
	size_t mem_cap;
	uint64_t mem_evicted;
	/* Where a connection with no partial request reads (conn.c): one
	 * READ_CHUNK for the whole loop, allocated on first use, so a small
	 * request costs a small input buffer rather than a 64 KiB one
	 * allocated and freed around every read. */
	uint8_t *scratch;
} loop_conns_t;

loop_conns_t *loop_conns(loop_t *loop);
/* Closes every open connection at once, without flushing (conn.c); used by
 * loop_free() so nothing a connection owns outlives its loop. */
void conn_close_all(loop_t *loop);

#endif

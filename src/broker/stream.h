/*
 * stream.h — the Redis stream model: IDs, entries, trimming, consumer
 * groups, consumers and pending-entry lists (PEL).
 *
 * This is wire-format free: the RESP front parses arguments, calls these
 * functions and formats the results; the storage layer (stream_store.h)
 * journals every mutation and replays it through the same functions.
 *
 * Entries live in a vector ordered by ID. Appends go at the end (IDs only
 * grow); XDEL leaves a NULL hole that is compacted once holes are half of
 * the vector; trimming advances a head index. Lookups are binary searches
 * that skip holes. Each entry remembers its insertion index so that
 * approximate trimming (`~`) can remove whole "nodes" of
 * STREAM_NODE_ENTRIES entries the way Redis removes whole radix-tree nodes.
 *
 * PEL: each group keeps its pending entries in a vector ordered by ID, and
 * each consumer a vector of pointers to the same nack records. Delivery
 * times are wall-clock milliseconds (they are reported as idle times and
 * survive restarts). Groups and consumers are found by name through hash
 * maps and listed in name order (Redis keeps them in radix trees).
 * Loop thread only.
 */
#ifndef SL_BROKER_STREAM_H
#define SL_BROKER_STREAM_H

#include "core/buf.h"
#include "core/map.h"

#include <stddef.h>
#include <stdint.h>

#define STREAM_NODE_ENTRIES 100
/* Redis's SCG_INVALID_ENTRIES_READ: a group's read counter is unknown. */
#define STREAM_ENTRIES_READ_INVALID (-1)

typedef struct sid {
	uint64_t ms, seq;
} sid_t;

#define SID_MIN ((sid_t){0, 0})
#define SID_MAX ((sid_t){UINT64_MAX, UINT64_MAX})
#define SID_STRLEN 42 /* "18446744073709551615-18446744073709551615" + NUL */

static inline int sid_cmp(sid_t a, sid_t b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	if (a.seq != b.seq)
		return a.seq < b.seq ? -1 : 1;
	return 0;
}
static inline int sid_is_zero(sid_t a)
{
	return a.ms == 0 && a.seq == 0;
}
/* The next ID after a; returns -1 (a unchanged) when a is the maximum. */
int sid_incr(sid_t *a);
int sid_decr(sid_t *a);
/* Writes "ms-seq" and a NUL into out (SID_STRLEN bytes); returns length. */
int sid_fmt(sid_t id, char *out);

/* Parses an ID argument like Redis's streamGenericParseIDOrReply: "-" and
 * "+" (unless strict), "ms" (seq = missing_seq) and "ms-seq". With
 * seq_given non-NULL, "ms-*" is accepted and *seq_given set to 0.
 * Returns 0 or -1 (invalid). */
int sid_parse(const char *s, size_t n, sid_t *out, uint64_t missing_seq, int strict,
              int *seq_given);

/* One entry: its ID, its position (the insertion index, which is also its
 * offset in the stream's partition log) and its field/value pairs packed
 * as [u32 big-endian len][bytes] repeated 2*npairs times — the same bytes
 * as the record value on disk. When the stream has a partition log the
 * payload is not kept in RAM (ondisk, len 0): stream_entry_data() reads
 * it back. */
typedef struct sentry {
	sid_t id;
	uint64_t pos;
	uint32_t npairs;
	uint32_t len;
	uint8_t ondisk;
	uint8_t data[];
} sentry_t;

/* Walks packed fields: p = sentry_field(p, &s, &n) for each of 2*npairs. */
const uint8_t *sentry_field(const uint8_t *p, const uint8_t **s, uint32_t *n);

struct plog;

typedef struct sconsumer sconsumer_t;

typedef struct snack {
	sid_t id;
	int64_t delivery_time; /* wall ms */
	uint64_t delivery_count;
	sconsumer_t *consumer;
} snack_t;

/* Ordered by ID. v points into base at the first live slot, so acks at the
 * front (the common case) are O(1). */
typedef struct spel {
	snack_t **v;
	size_t n;
	snack_t **base;
	size_t cap; /* slots allocated at base */
} spel_t;

struct sconsumer {
	char *name;
	size_t nlen;
	int64_t seen_time; /* wall ms of the last interaction */
	spel_t pel;        /* borrows the group's nacks */
};

typedef struct sgroup {
	char *name;
	size_t nlen;
	sid_t last_id;
	int64_t entries_read;
	spel_t pel; /* owns the nacks */
	map_t consumers;
} sgroup_t;

typedef struct stream {
	sentry_t **v; /* v[head .. head+n): entries by ID, NULL = deleted */
	size_t head, n, cap;
	size_t holes;
	uint64_t length; /* live entries */
	uint64_t next_pos;
	sid_t last_id;
	sid_t max_deleted_id;
	uint64_t entries_added;
	map_t groups;
	/* Partition log holding the payloads (NULL: payloads in RAM). */
	struct plog *log;
	uint64_t num;  /* the store's number for this stream (directory name) */
	void *dmem;    /* the log's membership in the keyspace's durability domain */
	int inflush;   /* in the keyspace's list of streams with pending entries */
	int inrelease; /* in the keyspace's list of logs whose head may go */
	/* The log below release_pos may be deleted once the streams journal
	 * is durable up to release_jpos (the trim that allowed it). */
	uint64_t release_pos, release_jpos;
	/* Auto-generated IDs (XADD * and ms-*) stay above this: the highest ID
	 * handed out for an entry whose write failed, so it is never reused. */
	sid_t id_floor;
	uint64_t ndeleted; /* entries ever removed by XDEL (0: no gaps between live entries) */
	/* Entries of the log found damaged when it was attached: not indexed,
	 * never served (the segment logged where). */
	uint64_t lost;
	/* Read cache: payloads of positions [rfirst, rfirst + rn) in rbuf. */
	buf_t rbuf;
	uint64_t rfirst;
	size_t rn, rcap;
	uint32_t *roff; /* offset of each cached payload in rbuf */
	/* Appended this turn, not yet in the log: records (key + payload) of
	 * positions [pfirst, pfirst + pn) in pbuf; stream_flush() writes them
	 * as one batch. */
	buf_t pbuf;
	uint64_t pfirst;
	size_t pn, pcap;
	uint32_t *poff; /* offset of each pending record in pbuf */
	/* Pending entries below this position wait only for the keyspace's
	 * unit gate in flight (keyspace_unit.c); 0: none. */
	uint64_t gate_end;
} stream_t;

stream_t *stream_new(void);
void stream_free(stream_t *s);

/* The ID generation starts from: the last ID, or the floor above it. */
static inline sid_t stream_gen_base(const stream_t *s)
{
	return sid_cmp(s->id_floor, s->last_id) > 0 ? s->id_floor : s->last_id;
}
/* The ID XADD '*' would assign now (Redis streamNextID, from
 * stream_gen_base), or -1 when the stream has exhausted the ID space. */
int stream_next_id(const stream_t *s, uint64_t now_ms, sid_t *out);
/* Appends an entry with packed fields (data[0..len), npairs pairs). The ID
 * must be greater than last_id (caller checks). Copies data, or writes it
 * to the partition log; returns NULL when that write failed. */
sentry_t *stream_append(stream_t *s, sid_t id, uint32_t npairs, const void *data, size_t len);
/* Writes the entries appended since the last flush to the log as one
 * batch. Returns 0 or the log's error (the entries then stay indexed but
 * unreadable: the owner must rebuild the stream). */
int stream_flush(stream_t *s);
/* The same for the pending entries below position end only (the others
 * stay pending, readable). */
int stream_flush_upto(stream_t *s, uint64_t end);
/* Whether appending an entry with payload_len packed bytes would first
 * write the entries pending now (the batch grew past its limit). */
int stream_flush_due(const stream_t *s, size_t payload_len);
/* Upper bound of the log bytes the entries not yet flushed take once
 * written as one batch, plus one more entry of npairs pairs and
 * payload_len packed bytes (what the log must reserve before it). */
size_t stream_pending_bytes(const stream_t *s, uint32_t npairs, size_t payload_len);
/* Lets the log delete what lies below the first live entry (whole
 * segments; the start offset moves). Trimming does not do it by itself:
 * the owner calls this once the trim is durable. */
void stream_release_log(stream_t *s, uint64_t below);
/* Attaches a partition log and loads the index (IDs and positions) of
 * every entry it holds; payloads stay on disk. Entries in damaged parts
 * of the log (holes plog_read skips, batches that do not parse) are left
 * out and counted in s->lost, so that what is indexed (XLEN) is exactly
 * what can be served. Returns 0 or the log's read error. */
int stream_attach_log(stream_t *s, struct plog *p);
/* The packed payload of e (RAM or read back from the log); a view valid
 * until the next call on this stream, or NULL if the log read failed. */
const uint8_t *stream_entry_data(stream_t *s, const sentry_t *e);
/* Drops entries whose position is below pos (replay of trims, which also
 * releases the log below them), or in [from, to) (replay of deletions
 * recorded as position ranges). */
void stream_drop_below(stream_t *s, uint64_t pos);
void stream_drop_range(stream_t *s, uint64_t from, uint64_t to);
/* Packs argv-style field/value pairs: ptrs[i], lens[i] for i < 2*npairs. */
sentry_t *stream_append_argv(stream_t *s, sid_t id, uint32_t npairs, const char *const *ptrs,
                             const size_t *lens);

/* First/last live entry or NULL. */
sentry_t *stream_first(const stream_t *s);
sentry_t *stream_last(const stream_t *s);
sentry_t *stream_get(const stream_t *s, sid_t id);

/* Range iteration over live entries. A cursor is an index into v. */
typedef struct siter {
	const stream_t *s;
	size_t i; /* next index to look at */
	sid_t start, end;
	int rev;
	int done;
} siter_t;

void stream_iter(siter_t *it, const stream_t *s, sid_t start, sid_t end, int rev);
sentry_t *stream_iter_next(siter_t *it);

/* Deletes one entry; returns 1 if it existed. */
int stream_delete(stream_t *s, sid_t id);

/* Trimming: strategy MAXLEN keeps at most maxlen entries, MINID drops
 * entries below minid. approx > 0 removes whole nodes of that many
 * entries only (by position, as Redis removes whole radix-tree nodes of
 * stream-node-max-entries), and at most limit entries (0: no limit); 0 is
 * exact. Returns the number removed. */
int64_t stream_trim_maxlen(stream_t *s, int64_t maxlen, int64_t approx, int64_t limit);
int64_t stream_trim_minid(stream_t *s, sid_t minid, int64_t approx, int64_t limit);

/* Redis 7.0 lag bookkeeping. */
int64_t stream_estimate_distance(const stream_t *s, sid_t id);
int stream_range_has_tombstones(const stream_t *s, sid_t start);
/* Lag of a group, or -1 (with *valid 0) when unknown. */
int64_t stream_group_lag(const stream_t *s, const sgroup_t *g, int *valid);
/* A group delivered entry id as "new" (advances last_id/entries_read). */
void stream_group_advance(stream_t *s, sgroup_t *g, sid_t id);

/* Groups. */
sgroup_t *stream_group_find(const stream_t *s, const char *name, size_t nlen);
/* Returns NULL if it exists already. */
sgroup_t *stream_group_create(stream_t *s, const char *name, size_t nlen, sid_t last_id,
                              int64_t entries_read);
void stream_group_destroy(stream_t *s, sgroup_t *g);
/* Groups (or a group's consumers) in name order; returns an owned array. */
sgroup_t **stream_groups_sorted(const stream_t *s, size_t *n);
sconsumer_t **stream_consumers_sorted(const sgroup_t *g, size_t *n);

/* Consumers. */
sconsumer_t *stream_consumer_find(const sgroup_t *g, const char *name, size_t nlen);
sconsumer_t *stream_consumer_create(sgroup_t *g, const char *name, size_t nlen, int64_t now);
/* Deletes a consumer and its pending entries; returns how many it had. */
uint64_t stream_consumer_delete(sgroup_t *g, sconsumer_t *c);

/* PEL. Index of the first nack with id >= `id` in a pel. */
size_t spel_lower(const spel_t *p, sid_t id);
snack_t *spel_find(const spel_t *p, sid_t id);
/* Adds a nack for id owned by consumer c (the id must not be pending). */
snack_t *stream_pel_add(sgroup_t *g, sconsumer_t *c, sid_t id, int64_t now, uint64_t count);
/* Moves a nack to another consumer. */
void stream_pel_move(snack_t *n, sconsumer_t *to);
/* Removes and frees a nack (XACK). Returns 1 if it was pending. */
int stream_pel_ack(sgroup_t *g, sid_t id);

#endif

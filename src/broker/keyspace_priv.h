/*
 * keyspace_priv.h — what the keyspace's files share (keyspace.c: the key
 * map, expiry, replies, the domain and its reload, the type registry;
 * keyspace_list.c, keyspace_string.c, keyspace_hash.c, keyspace_set.c,
 * keyspace_zset.c, keyspace_stream.c: the mutations of each type;
 * keyspace_keys.c: COPY, RANDOMKEY and the stores of computed values;
 * keyspace_obj.c: the objects and the index of those with a time).
 *
 * Invariants (between calls):
 *   - keys holds each key once, with a ks_obj_t whose key the map borrows;
 *     xs holds exactly the objects with a time (at != 0), each at its
 *     xpos;
 *   - the model equals what the journals' records say, plus the stream
 *     entries listed in `flush` (written to their logs at the end of the
 *     turn, their room reserved);
 *   - every open stream log is registered with the domain (s->dmem), and
 *     is either a live stream's or in `graves` until its deletion is
 *     durable.
 * Loop thread only.
 */
#ifndef SL_BROKER_KEYSPACE_PRIV_H
#define SL_BROKER_KEYSPACE_PRIV_H

#include "broker/keyspace.h"
#include "broker/kv_store.h"
#include "broker/stream_store.h"
#include "core/map.h"

typedef struct grave {
	plog_t *log;
	dur_mem_t *dmem;
	uint64_t num;
	uint64_t jpos; /* the streams journal must be durable up to here */
} grave_t;

struct keyspace {
	broker_t *b;
	const sl_config_t *cfg;
	const log_t *log;
	loop_t *loop;
	map_t keys; /* key (borrowed from the object) → ks_obj_t * */
	/* The objects with an expiry time, in no order (removal swaps the
	 * last one in): the active cycle walks it with a rolling cursor. */
	ks_obj_t **xs;
	size_t nxs, xs_cap;
	size_t expire_cursor;
	loop_timer_t expire_timer;
	loop_timer_t snap_timer; /* steps of the keys journal's compaction */
	map_scan_t snap_scan;    /* its scan of keys */
	uint64_t expired_keys;
	uint64_t dropped;   /* keys dropped since memory was last given back */
	int64_t trimmed_at; /* monotonic ms of that */
	kvs_t *kv;
	sstore_t *ss;
	jrnl_t *kj, *sj; /* their journals */
	dur_t *dur;
	int always; /* fsync=always */
	ps_t *ps;
	ks_hooks_t hooks;
	loop_task_t turn_task; /* end of a turn that changed something */
	/* Streams with entries not yet in their logs. */
	stream_t **flush;
	size_t nflush, flush_cap;
	/* Replies that could have seen those entries: joined to the domain
	 * once the entries are written (fsync=always only). */
	dur_hold_t **late;
	size_t nlate, late_cap;
	/* Logs of deleted streams, removed once the deletion is durable. */
	grave_t *graves;
	size_t ngraves, graves_cap;
	/* Streams whose log head may go once their trim is durable. */
	stream_t **rel;
	size_t nrel, rel_cap;
	/* ID floors (sid_t *) of stream keys that vanished in a reload. */
	map_t floors;
	/* During a reload: the open logs by number, to reattach. */
	map_t *reuse;
	/* A compaction of this journal failed at this size: not due again
	 * before it grew by a step (a full disk must not stall every turn). */
	uint64_t kj_failed_at, sj_failed_at;
	kvs_enc_t enc; /* encoding thresholds (OBJECT ENCODING) */
	uint64_t rng;  /* random draws (SPOP, RANDOMKEY...) */
	int closing;
	int opening; /* replaying at start, before the units are settled */
	/* Units (keyspace_unit.c): nesting depth, whether the current one may
	 * run several commands, the last id handed out, and the stream logs
	 * the current one appended to: {number, end} pairs. */
	int unit_depth, unit_multi;
	int unit_gated; /* this turn's entries include a multi unit's */
	/* The gate's sync in flight (its token), and how many of `late` wait
	 * for it: the replies of the turns its entries came from. */
	struct ks_gate *gate;
	size_t gate_nlate;
	uint64_t unit_last;
	uint64_t (*unit_logs)[2];
	size_t nunit_logs, unit_logs_cap;
};

/* Units (keyspace_unit.c) ---------------------------------------------------- */

/* A stream got pending entries (from ks_stream_pending). */
void ks_unit_stream(keyspace_t *ks, stream_t *s);
/* At open, once both journals were replayed: drops a unit only one of
 * them holds and rebuilds the model if anything was dropped. */
int ks_unit_settle(keyspace_t *ks);
void ks_unit_free(keyspace_t *ks);
/* At the end of a turn, before the stream entries are written: 0 when
 * they may be, 1 when they wait for a sync of the streams journal (then
 * ks_gate_landed writes them), else the error that stops them (see
 * keyspace_unit.c). */
int ks_unit_gate(keyspace_t *ks);
/* At close: makes the gate's records durable now and forgets its sync. */
void ks_unit_gate_close(keyspace_t *ks);
/* The gate's sync landed; writes the entries it covered and lets their
 * replies join the domain. */
void ks_gate_landed(keyspace_t *ks);
/* Writes every pending stream entry to its log now (the turn's end when
 * no gate holds them, or the close); a failure fails the domain. */
void ks_write_pending(keyspace_t *ks);
/* keyspace.c: joins the first n held replies (`late`) to the domain, their
 * entries being written; the others keep their order. */
void ks_release_late(keyspace_t *ks, size_t n);
/* keyspace.c's rebuild, for the units. */
int ks_rebuild(keyspace_t *ks);

/* Keys ----------------------------------------------------------------------- */

int64_t ks_exp_get(const keyspace_t *ks, const char *key, size_t klen);
void ks_exp_set(keyspace_t *ks, const char *key, size_t klen, int64_t at);
/* Adds a key that does not exist (a string's qlv_t is owned: a short one
 * is copied into the object and freed). */
ks_obj_t *ks_obj_add(keyspace_t *ks, const char *key, size_t klen, ks_type_t t, void *ptr);
/* A new object for key (not in the map yet, its header zeroed) holding a
 * value of type t (keyspace_obj.c): a short string's qlv_t is copied into
 * it (emb set: the caller frees the qlv_t), any other value is ptr. */
ks_obj_t *ks_obj_new(const char *key, size_t klen, ks_type_t t, void *ptr);
/* Gives back the time index's room once under an eighth is used. */
int ks_xs_shrink(keyspace_t *ks);
/* Sets the time of an object in the map (0: none). */
void ks_obj_set_at(keyspace_t *ks, ks_obj_t *o, int64_t at);
/* Replaces the string value of o (in the map) by v (owned): o may move,
 * the new object is returned. */
ks_obj_t *ks_obj_set_str(keyspace_t *ks, ks_obj_t *o, qlv_t *v);
/* Moves the object at src to the key dst, which must not exist (RENAME):
 * it is reallocated with the new key, its time goes along. Returns it, or
 * NULL when src does not exist. */
ks_obj_t *ks_obj_rekey(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen);
/* Removes every key's time (FLUSHALL: streams' too). */
void ks_exp_clear(keyspace_t *ks);
/* Journal cost of a value (what its snapshot takes; 0 for streams). */
uint64_t ks_obj_cost(const ks_obj_t *o);
/* A deep copy of a value of any type but stream (COPY). */
void *ks_val_dup(ks_type_t t, const void *v);
/* Removes a key from the map and frees its value without journaling (the
 * caller logged it); a stream's log goes to the graves. */
void ks_obj_drop(keyspace_t *ks, const char *key, size_t klen);

/* Writes -------------------------------------------------------------------- */

/* 0, or why no write can be made now (the domain recovers, a journal
 * failed). */
int ks_writable(const keyspace_t *ks);
/* Deletes an expired key (journaled): 0, or why it could not be written. */
int ks_expire_now(keyspace_t *ks, const char *key, size_t klen);
/* A NUL-terminated copy of n bytes (aborts when out of memory). */
char *ks_memdup(const char *s, size_t n);
/* Reserves the records of one change: kv bytes in the keys journal, ss in
 * the streams journal. */
int ks_reserve(keyspace_t *ks, uint64_t kv, uint64_t ss);
/* The key for a write: an expired key is deleted first (journaled); *rc
 * gets the error when that deletion cannot be written. */
ks_obj_t *ks_lookup_w(keyspace_t *ks, const char *key, size_t klen, int *rc);
/* The records the deletion of key (holding o) takes. */
void ks_del_cost(const keyspace_t *ks, const char *key, size_t klen, const ks_obj_t *o,
                 uint64_t *kv, uint64_t *ss);
/* Deletes key (holding o), its records reserved: logs, frees, notifies. */
void ks_del_key(keyspace_t *ks, const char *key, size_t klen, ks_obj_t *o);
/* Tells the front (hooks) and schedules the end-of-turn work. */
void ks_event(keyspace_t *ks, const char *key, size_t klen, int ev);
void ks_changed(keyspace_t *ks);

/* Streams ------------------------------------------------------------------- */

/* A new, empty stream with its own log (numbered, opened, registered);
 * not yet in the map nor journaled. */
int ks_stream_new(keyspace_t *ks, const char *key, size_t klen, stream_t **out);
/* Undoes ks_stream_new for a stream never journaled. */
void ks_stream_discard(keyspace_t *ks, stream_t *s);
/* s has pending entries: written at the end of the turn. */
void ks_stream_pending(keyspace_t *ks, stream_t *s);
/* Entries were trimmed from s (the TRIM record is logged here): its log
 * head is released now, or once the record is durable (fsync=always). */
void ks_stream_trimmed(keyspace_t *ks, const char *key, size_t klen, stream_t *s);
/* Frees a stream being deleted: its log is destroyed now (replay: the
 * deletion is durable) or buried until the deletion is durable. */
void ks_stream_free(keyspace_t *ks, stream_t *s, int now);

#endif

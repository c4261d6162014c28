/*
 * keyspace.c — the Redis keyspace's core (see keyspace.h): the key map,
 * expiry, generic key commands, the stores and the durability domain, the
 * replies, and the rebuild after a storage failure.
 *
 * Files: <data-dir>/resp/keys.journal (lists, strings, expiry times;
 * record layouts in kv_store.c), <data-dir>/streams/streams.journal
 * (streams' metadata, groups, PEL; stream_store.c) and one partition log
 * per stream, <data-dir>/streams/<n>/ (the entries). On open the streams
 * journal is replayed first, then the keys journal (see kv_store.c for why
 * that order gives each key its last word).
 *
 * The domain. One durability domain (broker/dur.h) holds both journals and
 * every stream's log. Its reload hook (after the stores were cut back to
 * their last durable point) drops every key and replays both journals,
 * reattaching the logs that are open; logs no stream refers to afterwards
 * are removed (their CREATE was undone). Stream IDs handed out for entries
 * that were undone are never generated again in this run: each stream's
 * ID floor is kept across the reload (a stream that vanished keeps it in
 * `floors` for the next stream of that key). Across a restart the floor is
 * not kept: auto IDs then come from the wall clock (and the last ID on
 * disk), so they are not reused unless the clock went back past them.
 *
 * Turn work (turn_task, at the end of every turn that changed something):
 * write the streams' pending entries to their logs (a failure fails the
 * domain: the entries were applied and maybe seen), join the replies held
 * behind them, remove the logs of deleted streams and release trimmed log
 * heads whose records became durable, and compact a journal when the
 * domain is idle (nothing written but not yet durable, so a snapshot
 * cannot make durable what a failed sync is about to undo).
 *
 * Expiry times are absolute wall-clock milliseconds, for keys of any type.
 * A key whose time has passed is deleted (journaled) by the first lookup
 * that sees it, or by the active cycle (expire_tick, Redis's approach):
 * every EXPIRE_TICK_MS it checks EXPIRE_SAMPLE keys with a time from a
 * rolling cursor, deletes the expired ones, and repeats while more than
 * EXPIRE_STALE_PCT percent of a sample had expired, within a CPU-time
 * budget per tick (EXPIRE_BUDGET_NS: a quarter of the tick). A tick that
 * ran out of budget with expired keys still found is followed by the next
 * one sooner (EXPIRE_FAST_MS), keeping the same quarter share of time, so
 * the rate of reclaim follows the rate keys expire instead of a fixed
 * number of keys per tick. When the deletion cannot be written (a full
 * disk), the key is still reported gone to reads and a write to it is
 * refused.
 *
 * Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include "broker/num.h"
#include "core/err.h"
#include "core/time.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define EXPIRE_TICK_MS 100
#define EXPIRE_SAMPLE 20
#define EXPIRE_STALE_PCT 10
/* 25 ms of every 100: the share of one core Redis's slow cycle allows. */
#define EXPIRE_BUDGET_NS (25 * 1000 * 1000)
/* After a tick that used its whole budget: 25 ms of work, 75 ms of rest. */
#define EXPIRE_FAST_MS 75

/* The type registry: what every generic path (deletion, snapshots,
 * COPY, the rebuild, close) needs to know about a value of each type.
 * Streams are special everywhere (their own journal and log), so their
 * row only names them. */
typedef struct type_ops {
	const char *name;
	int kind;                        /* kv_store.h KVS_*: the snapshot's kind */
	void (*free)(void *v);           /* NULL: streams (ks_stream_free) */
	uint64_t (*cost)(const void *v); /* journal cost of the whole value */
	void *(*dup)(const void *v);
} type_ops_t;

static uint64_t list_cost(const void *v)
{
	const qlist_t *l = v;
	return l->bytes + 4 * qlist_len(l);
}
static uint64_t string_cost(const void *v)
{
	return kvs_str_cost(((const qlv_t *)v)->len);
}
static uint64_t hash_cost(const void *v)
{
	return ((const rhash_t *)v)->bytes;
}
static uint64_t set_cost(const void *v)
{
	return ((const rset_t *)v)->bytes;
}
static uint64_t zset_cost_all(const void *v)
{
	return ((const zset_t *)v)->bytes;
}
static void list_free_v(void *v)
{
	qlist_free(v);
}
static void hash_free_v(void *v)
{
	rhash_free(v);
}
static void set_free_v(void *v)
{
	rset_free(v);
}
static void zset_free_v(void *v)
{
	zset_free(v);
}
static void *list_dup(const void *v)
{
	qlist_t *c = qlist_new();
	qlist_iter_t it;
	if (qlist_len(v)) {
		qlist_iter_init(v, &it, 0, 0);
		for (qlv_t *e; (e = qlist_iter_next(&it)) != NULL;)
			qlist_push(c, 1, qlv_new(e->p, e->len));
	}
	return c;
}
static void *string_dup(const void *v)
{
	const qlv_t *q = v;
	return qlv_new(q->p, q->len);
}
static void *hash_dup_v(const void *v)
{
	return rhash_dup(v);
}
static void *set_dup_v(const void *v)
{
	return rset_dup(v);
}
static void *zset_dup_v(const void *v)
{
	return zset_dup(v);
}

static const type_ops_t types[] = {
    [KS_STREAM] = {"stream", KVS_OTHER, NULL, NULL, NULL},
    [KS_LIST] = {"list", KVS_LIST, list_free_v, list_cost, list_dup},
    [KS_STRING] = {"string", KVS_STRING, free, string_cost, string_dup},
    [KS_HASH] = {"hash", KVS_HASH, hash_free_v, hash_cost, hash_dup_v},
    [KS_SET] = {"set", KVS_SET, set_free_v, set_cost, set_dup_v},
    [KS_ZSET] = {"zset", KVS_ZSET, zset_free_v, zset_cost_all, zset_dup_v},
};

const char *ks_type_name(ks_type_t t)
{
	if ((size_t)t < sizeof types / sizeof types[0] && types[t].name)
		return types[t].name;
	return "none";
}

/* Frees the value of o, of a type other than stream (a short string is
 * part of o). */
static void val_free(ks_obj_t *o)
{
	if (!o->emb)
		types[o->type].free(o->ptr);
}

void *ks_val_dup(ks_type_t t, const void *v)
{
	return types[t].dup(v);
}

const char *ks_obj_encoding(const ks_obj_t *o)
{
	switch (o->type) {
	case KS_STREAM:
		return "stream";
	case KS_LIST:
		return "quicklist";
	case KS_STRING: {
		/* Redis: an integer that fits a long is stored as one; other
		 * values of up to 44 bytes are embedded in the object. */
		const qlv_t *v = o->ptr;
		int64_t n;
		if (o->raw)
			return "raw";
		if (v->len <= 20 && num_str2ll(v->p, v->len, &n) == 0)
			return "int";
		return v->len <= 44 ? "embstr" : "raw";
	}
	case KS_HASH:
		return ((const rhash_t *)o->ptr)->big ? "hashtable" : "listpack";
	case KS_SET:
		return rset_is_intset(o->ptr) ? "intset" : "hashtable";
	case KS_ZSET:
		return ((const zset_t *)o->ptr)->big ? "skiplist" : "listpack";
	}
	return "unknown";
}

int64_t ks_obj_idle(const keyspace_t *ks, const ks_obj_t *o)
{
	uint32_t now = (uint32_t)(loop_now_ms(ks->loop) / 1000);
	return now >= o->atime ? (int64_t)(now - o->atime) : 0;
}

static void touch(const keyspace_t *ks, ks_obj_t *o)
{
	if (o)
		o->atime = (uint32_t)(loop_now_ms(ks->loop) / 1000);
}

static void *xgrow(void *p, size_t *cap, size_t elem)
{
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(p, *cap * elem);
	if (!p)
		abort();
	return p;
}

char *ks_memdup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		abort();
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* --- expiry times and objects ---------------------------------------------------------- */

ks_obj_t *ks_obj_add(keyspace_t *ks, const char *key, size_t klen, ks_type_t t, void *ptr)
{
	ks_obj_t *o = ks_obj_new(key, klen, t, ptr);
	if (o->emb)
		free(ptr);
	touch(ks, o);
	map_put(&ks->keys, o->key, klen, o);
	return o;
}

uint64_t ks_obj_cost(const ks_obj_t *o)
{
	return types[o->type].cost ? types[o->type].cost(o->ptr) : 0;
}

static void obj_free(keyspace_t *ks, ks_obj_t *o, int now)
{
	if (o->type == KS_STREAM)
		ks_stream_free(ks, o->ptr, now);
	else
		val_free(o);
	free(o);
}

/* Takes key out of the map and the time index: its object, or NULL. key
 * may be the object's own (it is not freed here). */
static ks_obj_t *obj_unlink(keyspace_t *ks, const char *key, size_t klen)
{
	ks_obj_t *o = map_del(&ks->keys, key, klen);
	if (o)
		ks_obj_set_at(ks, o, 0);
	return o;
}

void ks_obj_drop(keyspace_t *ks, const char *key, size_t klen)
{
	ks_obj_t *o = obj_unlink(ks, key, klen);
	if (o) {
		obj_free(ks, o, 0);
		ks->dropped++;
	}
}

/* --- events ------------------------------------------------------------------------ */

void ks_set_hooks(keyspace_t *ks, const ks_hooks_t *h)
{
	if (h)
		ks->hooks = *h;
	else
		memset(&ks->hooks, 0, sizeof ks->hooks);
}

void ks_changed(keyspace_t *ks)
{
	loop_defer(ks->loop, &ks->turn_task);
}

void ks_event(keyspace_t *ks, const char *key, size_t klen, int ev)
{
	if (ks->hooks.key)
		ks->hooks.key(ks->hooks.arg, key, klen, ev);
	ks_changed(ks);
}

/* --- writes ------------------------------------------------------------------------- */

int ks_writable(const keyspace_t *ks)
{
	int rc = dur_state(ks->dur);
	if (rc == 0)
		rc = jrnl_error(ks->kj);
	if (rc == 0)
		rc = jrnl_error(ks->sj);
	return rc;
}

int ks_reserve(keyspace_t *ks, uint64_t kv, uint64_t ss)
{
	int rc = kv ? jrnl_reserve(ks->kj, kv) : 0;
	if (rc == 0 && ss)
		rc = jrnl_reserve(ks->sj, ss);
	return rc;
}

void ks_del_cost(const keyspace_t *ks, const char *key, size_t klen, const ks_obj_t *o,
                 uint64_t *kv, uint64_t *ss)
{
	(void)ks;
	(void)key;
	if (o->type == KS_STREAM) {
		*ss += sstore_rec_bytes(klen, 0);
		if (o->at)
			*kv += kvs_rec_bytes(klen, 0);
	} else {
		*kv += kvs_rec_bytes(klen, 0);
	}
}

static void del_key(keyspace_t *ks, const char *key, size_t klen, ks_obj_t *o, int ev);

void ks_del_key(keyspace_t *ks, const char *key, size_t klen, ks_obj_t *o)
{
	del_key(ks, key, klen, o, KS_EV_DELETED);
}

static void del_key(keyspace_t *ks, const char *key, size_t klen, ks_obj_t *o, int ev)
{
	if (o->type == KS_STREAM) {
		sstore_log_delkey(ks->ss, key, klen);
		/* The keys journal holds the times of streams too: a later stream
		 * of this key must not inherit this one's. */
		if (o->at)
			kvs_log_expire(ks->kv, key, klen, 0);
	} else {
		kvs_log_del(ks->kv, key, klen, ks_obj_cost(o) + klen);
	}
	/* key may be o's own (the active cycle, RANDOMKEY): o is freed once
	 * the hooks heard of it. */
	(void)obj_unlink(ks, key, klen);
	ks_event(ks, key, klen, ev);
	obj_free(ks, o, 0);
	ks->dropped++;
}

static int is_expired(const keyspace_t *ks, const char *key, size_t klen)
{
	int64_t at = ks_exp_get(ks, key, klen);
	return at && at <= time_wall_ms();
}

/* o (at key) has a time that passed. */
static int obj_expired(const ks_obj_t *o)
{
	return o && o->at && o->at <= time_wall_ms();
}

/* Deletes an expired key (journaled). 0, or why it could not be written. */
int ks_expire_now(keyspace_t *ks, const char *key, size_t klen)
{
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (!o)
		return 0;
	uint64_t kv = 0, ss = 0;
	ks_del_cost(ks, key, klen, o, &kv, &ss);
	int rc = ks_writable(ks);
	if (rc == 0)
		rc = ks_reserve(ks, kv, ss);
	if (rc < 0)
		return rc;
	ks->expired_keys++;
	del_key(ks, key, klen, o, KS_EV_EXPIRED);
	return 0;
}

ks_obj_t *ks_lookup_w(keyspace_t *ks, const char *key, size_t klen, int *rc)
{
	*rc = 0;
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (obj_expired(o)) {
		*rc = ks_expire_now(ks, key, klen);
		return NULL;
	}
	touch(ks, o);
	return o;
}

/* --- lookups -------------------------------------------------------------------------- */

ks_obj_t *ks_find(keyspace_t *ks, const char *key, size_t klen)
{
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (obj_expired(o)) {
		/* Gone for every reader, even when its deletion cannot be
		 * written now (it is retried by the next lookup or sweep). */
		(void)ks_expire_now(ks, key, klen);
		return NULL;
	}
	touch(ks, o);
	return o;
}

ks_obj_t *ks_peek(keyspace_t *ks, const char *key, size_t klen)
{
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (obj_expired(o)) {
		(void)ks_expire_now(ks, key, klen);
		return NULL;
	}
	return o;
}

/* The value at key if it has type t; *wrong when another type. */
static void *typed(keyspace_t *ks, const char *key, size_t klen, ks_type_t t, int *wrong)
{
	ks_obj_t *o = ks_find(ks, key, klen);
	*wrong = o && o->type != t;
	return o && o->type == t ? o->ptr : NULL;
}

qlist_t *ks_list(keyspace_t *ks, const char *key, size_t klen, int *wrong)
{
	return typed(ks, key, klen, KS_LIST, wrong);
}

rhash_t *ks_hash(keyspace_t *ks, const char *key, size_t klen, int *wrong)
{
	return typed(ks, key, klen, KS_HASH, wrong);
}

rset_t *ks_rset(keyspace_t *ks, const char *key, size_t klen, int *wrong)
{
	return typed(ks, key, klen, KS_SET, wrong);
}

zset_t *ks_zset(keyspace_t *ks, const char *key, size_t klen, int *wrong)
{
	return typed(ks, key, klen, KS_ZSET, wrong);
}

uint64_t *ks_rng(keyspace_t *ks)
{
	return &ks->rng;
}

kvs_enc_t *ks_enc(keyspace_t *ks)
{
	return &ks->enc;
}

int ks_stream(keyspace_t *ks, const char *key, size_t klen, stream_t **s)
{
	ks_obj_t *o = ks_find(ks, key, klen);
	*s = NULL;
	if (!o)
		return 0;
	if (o->type != KS_STREAM)
		return SL_ESTATE;
	*s = o->ptr;
	return 0;
}

int64_t ks_expire_at(const keyspace_t *ks, const char *key, size_t klen)
{
	return ks_exp_get(ks, key, klen);
}

int ks_expired(const keyspace_t *ks, const char *key, size_t klen)
{
	return ks->nxs && is_expired(ks, key, klen);
}

size_t ks_size(const keyspace_t *ks)
{
	return map_len(&ks->keys);
}

size_t ks_expires_count(const keyspace_t *ks)
{
	return ks->nxs;
}

uint64_t ks_expired_keys(const keyspace_t *ks)
{
	return ks->expired_keys;
}

int ks_next(const keyspace_t *ks, size_t *it, const char **key, size_t *klen, ks_obj_t **o)
{
	void *v;
	if (!map_next(&ks->keys, it, key, klen, &v))
		return 0;
	if (o)
		*o = v;
	return 1;
}

uint64_t ks_scan(const keyspace_t *ks, uint64_t cursor, map_visit_fn fn, void *arg)
{
	return map_scan_cursor(&ks->keys, cursor, fn, arg);
}

ps_t *ks_pubsub(keyspace_t *ks)
{
	return ks->ps;
}

dur_t *ks_dur(keyspace_t *ks)
{
	return ks->dur;
}

int ks_state(const keyspace_t *ks)
{
	return dur_state(ks->dur);
}

/* --- streams' logs ---------------------------------------------------------------------- */

int ks_stream_new(keyspace_t *ks, const char *key, size_t klen, stream_t **out)
{
	uint64_t num = sstore_new_num(ks->ss);
	plog_t *p;
	int rc = sstore_open_log(ks->ss, num, &p);
	if (rc < 0)
		return rc;
	stream_t *s = stream_new();
	s->num = num;
	rc = stream_attach_log(s, p);
	if (rc < 0) {
		s->log = NULL;
		stream_free(s);
		plog_destroy(p);
		return rc;
	}
	s->dmem = dur_add_plog(ks->dur, p);
	sid_t *floor = map_get(&ks->floors, key, klen);
	if (floor) {
		s->id_floor = *floor;
		map_del(&ks->floors, key, klen);
		free(floor);
	}
	*out = s;
	return 0;
}

static void list_del(stream_t **v, size_t *n, stream_t *s)
{
	for (size_t i = 0; i < *n; i++) {
		if (v[i] == s) {
			v[i] = v[--*n];
			return;
		}
	}
}

static void log_destroy(keyspace_t *ks, plog_t *p, dur_mem_t *dmem, uint64_t num)
{
	dur_del(ks->dur, dmem);
	int rc = sstore_destroy_log(ks->b, num, p);
	if (rc < 0)
		log_warn(ks->log, "streams: removing the log of a deleted key: %s",
		         sl_strerror(rc));
}

static void bury(keyspace_t *ks, plog_t *p, dur_mem_t *dmem, uint64_t num, uint64_t jpos)
{
	if (ks->ngraves == ks->graves_cap)
		ks->graves = xgrow(ks->graves, &ks->graves_cap, sizeof *ks->graves);
	ks->graves[ks->ngraves++] = (grave_t){p, dmem, num, jpos};
	ks_changed(ks);
}

void ks_stream_discard(keyspace_t *ks, stream_t *s)
{
	ks_stream_free(ks, s, 1);
}

void ks_stream_free(keyspace_t *ks, stream_t *s, int now)
{
	if (s->inflush)
		list_del(ks->flush, &ks->nflush, s);
	if (s->inrelease)
		list_del(ks->rel, &ks->nrel, s);
	if (s->log) {
		if (now && ks->opening) {
			/* Replayed at start: its unit may yet be dropped (other data
			 * lost), so the log goes after the settle (ks_open). */
			bury(ks, s->log, s->dmem, s->num, UINT64_MAX);
		} else if (now) {
			log_destroy(ks, s->log, s->dmem, s->num);
		} else {
			/* Its deletion may still be undone (a failed sync): keep the
			 * log until the DELKEY record is durable. */
			bury(ks, s->log, s->dmem, s->num, jrnl_size(ks->sj));
		}
	}
	/* Pending entries of a deleted stream are never written. */
	s->log = NULL;
	stream_free(s);
}

void ks_stream_pending(keyspace_t *ks, stream_t *s)
{
	if (!s->inflush) {
		if (ks->nflush == ks->flush_cap)
			ks->flush = xgrow(ks->flush, &ks->flush_cap, sizeof *ks->flush);
		ks->flush[ks->nflush++] = s;
		s->inflush = 1;
	}
	ks_unit_stream(ks, s);
	ks_changed(ks);
}

void ks_stream_trimmed(keyspace_t *ks, const char *key, size_t klen, stream_t *s)
{
	sstore_log_trim(ks->ss, key, klen, s);
	sentry_t *f = stream_first(s);
	uint64_t pos = f ? f->pos : s->next_pos;
	if (!ks->always) {
		/* Without `always` nothing waits for the sync: the trim is as
		 * final as its acknowledgement. */
		stream_release_log(s, pos);
		return;
	}
	s->release_pos = pos;
	s->release_jpos = jrnl_size(ks->sj);
	if (!s->inrelease) {
		if (ks->nrel == ks->rel_cap)
			ks->rel = xgrow(ks->rel, &ks->rel_cap, sizeof *ks->rel);
		ks->rel[ks->nrel++] = s;
		s->inrelease = 1;
	}
	ks_changed(ks);
}

/* Removes buried logs and releases log heads whose records are durable. */
static void settle_logs(keyspace_t *ks)
{
	if (!ks->ngraves && !ks->nrel)
		return;
	/* The record that allows it may belong to a unit whose other writes
	 * (entries in another log) are not written or durable yet: a crash
	 * then drops the whole unit at start. */
	if (jrnl_error(ks->sj) || dur_state(ks->dur) || ks->nflush || ks->gate)
		return;
	uint64_t synced = jrnl_synced(ks->sj);
	/* All of it durable: so is every position noted (one may lie past
	 * the end: a one-record unit drops its BEGIN, keyspace_unit.c). */
	if (synced >= jrnl_size(ks->sj))
		synced = UINT64_MAX;
	/* A deleted stream's log (RENAME's source...) must survive such a
	 * drop: it goes once every store is synced (else at the next start). */
	size_t j = 0;
	int all = ks->ngraves && dur_all_synced(ks->dur);
	for (size_t i = 0; i < ks->ngraves; i++) {
		grave_t *g = &ks->graves[i];
		if (all && g->jpos <= synced)
			log_destroy(ks, g->log, g->dmem, g->num);
		else
			ks->graves[j++] = *g;
	}
	ks->ngraves = j;
	for (size_t i = 0; i < ks->nrel;) {
		stream_t *s = ks->rel[i];
		if (s->release_jpos <= synced) {
			s->inrelease = 0;
			ks->rel[i] = ks->rel[--ks->nrel];
			stream_release_log(s, s->release_pos);
		} else {
			i++;
		}
	}
}

/* --- replies --------------------------------------------------------------------------- */

int ks_must_hold(const keyspace_t *ks)
{
	return ks->always && (ks->nflush || dur_must_hold(ks->dur));
}

void ks_reply(keyspace_t *ks, conn_t *c, const void *p, size_t n, dur_fin_fn fin, void *arg)
{
	if (!ks->nflush || !ks->always) {
		dur_reply(ks->dur, c, p, n, fin, arg);
		return;
	}
	/* Streams have entries this reply may have seen that are not even
	 * written yet: it joins the domain once they are (turn_task). */
	dur_hold_t *h = dur_hold_new(c, fin, arg);
	buf_append(dur_hold_buf(h), p, n);
	if (ks->nlate == ks->late_cap)
		ks->late = xgrow(ks->late, &ks->late_cap, sizeof *ks->late);
	ks->late[ks->nlate++] = h;
}

size_t ks_busy(const keyspace_t *ks)
{
	return dur_busy(ks->dur) + ks->nlate;
}

void ks_release_late(keyspace_t *ks, size_t n)
{
	if (n > ks->nlate)
		n = ks->nlate;
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		dur_hold_join(ks->late[i], ks->dur, 0);
		dur_hold_arm(ks->late[i]);
	}
	memmove(ks->late, ks->late + n, (ks->nlate - n) * sizeof *ks->late);
	ks->nlate -= n;
	ks->gate_nlate = ks->gate_nlate > n ? ks->gate_nlate - n : 0;
}

/* --- the end of a turn ------------------------------------------------------------------- */

#define COMPACT_RETRY_STEP (1u << 20)

static int compact_due(const keyspace_t *ks, jrnl_t *j, uint64_t failed_at)
{
	uint64_t size = jrnl_size(j);
	if (size == 0 || size < (uint64_t)ks->cfg->journal_compact_min_bytes)
		return 0;
	if (failed_at && size < failed_at + COMPACT_RETRY_STEP)
		return 0;
	return jrnl_garbage_bytes(j) * 100 / size >= (uint64_t)ks->cfg->journal_compact_ratio;
}

/* Journal garbage past which a compaction that waits for an idle domain
 * no longer waits for one to come by itself (ks_wants_quiet): 64 times the
 * compaction's minimum size, at least 4 MiB, and at most 64 MiB or that
 * minimum (a compaction is due at half of it). Below it, idle moments come
 * often enough under any load measured (between bursts, whenever every
 * client waits for its replies); pausing every connection for each
 * compaction would cost throughput for nothing. */
static uint64_t quiet_garbage(const keyspace_t *ks)
{
	uint64_t min = (uint64_t)ks->cfg->journal_compact_min_bytes, g = 64 * min;
	uint64_t cap = min > (64u << 20) ? min : (64u << 20);
	if (g > cap)
		g = cap;
	return g > (4u << 20) ? g : (4u << 20);
}

static int quiet_due(const keyspace_t *ks, jrnl_t *j, uint64_t failed_at)
{
	/* The garbage first: it is what keeps this cheap on every request. */
	return jrnl_garbage_bytes(j) >= quiet_garbage(ks) && compact_due(ks, j, failed_at);
}

int ks_wants_quiet(const keyspace_t *ks)
{
	return ks->always && !dur_idle(ks->dur) && !dur_state(ks->dur) &&
	       (quiet_due(ks, ks->kj, ks->kj_failed_at) || quiet_due(ks, ks->sj, ks->sj_failed_at));
}

static void maintain(keyspace_t *ks)
{
	if (!dur_idle(ks->dur) || ks->closing)
		return;
	if (kvs_snap_ready(ks->kv) ||
	    (!kvs_snapping(ks->kv) && compact_due(ks, ks->kj, ks->kj_failed_at)))
		ks->kj_failed_at = kvs_maintain(ks->kv) < 0 ? jrnl_size(ks->kj) : 0;
	if (kvs_snapping(ks->kv) && !kvs_snap_ready(ks->kv) && !loop_timer_armed(&ks->snap_timer))
		loop_timer_start(ks->loop, &ks->snap_timer, 0);
	if (!ks->nflush && !ks->gate && compact_due(ks, ks->sj, ks->sj_failed_at)) {
		int rc = sstore_maintain(ks->ss);
		ks->sj_failed_at = rc < 0 ? jrnl_size(ks->sj) : 0;
		if (rc == 0 && jrnl_garbage_bytes(ks->sj) == 0) {
			/* Compacted: the new file, synced, holds the whole model,
			 * so every deletion and trim is durable (and the positions
			 * they waited for belonged to the old file). */
			for (size_t i = 0; i < ks->ngraves; i++)
				ks->graves[i].jpos = 0;
			for (size_t i = 0; i < ks->nrel; i++)
				ks->rel[i]->release_jpos = 0;
			settle_logs(ks);
		}
	}
	if (ks->hooks.quiet)
		ks->hooks.quiet(ks->hooks.arg);
}

static void turn_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	keyspace_t *ks = t->arg;
	int gate = ks_unit_gate(ks);
	if (gate == 0)
		ks_write_pending(ks);
	if (gate <= 0)
		ks_release_late(ks, ks->nlate);
	settle_logs(ks);
	maintain(ks);
}

/* The keys journal's compaction writes its snapshot a piece per loop
 * turn (SNAP_STEP_NS of work), so a client waits at most about that for
 * it whatever the keyspace's size; the commit waits for an idle domain. */
#define SNAP_STEP_NS 1000000
#define SNAP_SYNC_POLL_MS 2 /* while the finished snapshot is being synced */

static void snap_tick(loop_t *loop, loop_timer_t *t)
{
	keyspace_t *ks = t->arg;
	int more = kvs_snap_step(ks->kv, SNAP_STEP_NS);
	if (more)
		loop_timer_start(loop, t, more == 1 ? 0 : SNAP_SYNC_POLL_MS);
	else
		maintain(ks);
}

static void on_idle(void *arg)
{
	keyspace_t *ks = arg;
	settle_logs(ks);
	maintain(ks);
}

/* --- active expiry ------------------------------------------------------------------------- */

/* One sample from the rolling cursor over the time index: deletes the
 * expired keys among up to EXPIRE_SAMPLE keys with a time. Returns how
 * many it saw, *expired how many had expired, *failed when a deletion
 * could not be written (the rest wait for the next tick). A deletion
 * moves the index's last object to the cursor, which is looked at next;
 * hooks that delete other keys only shorten the index (checked each
 * step). */
static int expire_sample(keyspace_t *ks, int64_t now, int *expired, int *failed)
{
	int n = 0, seen = 0, wrapped = 0;
	while (seen < EXPIRE_SAMPLE) {
		if (ks->expire_cursor >= ks->nxs) {
			ks->expire_cursor = 0;
			if (!ks->nxs || wrapped++)
				break;
			continue;
		}
		ks_obj_t *o = ks->xs[ks->expire_cursor];
		seen++;
		if (o->at > now) {
			ks->expire_cursor++;
			continue;
		}
		n++;
		/* The key is o's own: del_key frees o last. */
		if (*failed || ks_expire_now(ks, o->key, o->klen) < 0) {
			*failed = 1;
			ks->expire_cursor++;
		}
	}
	*expired = n;
	return seen;
}

/* Memory after mass deletion (DEL, expiry, FLUSHALL): the key map and the
 * time index give back their room once under an eighth is used (they
 * never shrank, so 1 M deleted keys kept 128 MiB of empty slots), and,
 * once TRIM_KEYS keys were dropped, at most every TRIM_EVERY_MS, the
 * allocator returns its free pages to the system (glibc keeps them
 * otherwise: RSS stayed at its peak after every key was deleted; large
 * arrays are mapped separately and go back when freed). Shrinking moves slots: SCAN
 * cursors, which are slot indexes, may then miss keys, as they may
 * across a growth. */
#define TRIM_KEYS 65536
#define TRIM_EVERY_MS 1000

static void give_back(keyspace_t *ks)
{
	(void)map_shrink(&ks->keys);
	(void)ks_xs_shrink(ks);
	if (ks->dropped < TRIM_KEYS)
		return;
	int64_t now = time_mono_ms();
	if (now - ks->trimmed_at < TRIM_EVERY_MS)
		return;
	ks->trimmed_at = now;
	ks->dropped = 0;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void expire_tick(loop_t *loop, loop_timer_t *t)
{
	keyspace_t *ks = t->arg;
	int64_t start = time_mono_ns();
	int64_t now = time_wall_ms();
	int failed = 0, capped = 0;
	while (ks->nxs && !failed) {
		int expired;
		int seen = expire_sample(ks, now, &expired, &failed);
		if (seen == 0 || expired * 100 <= seen * EXPIRE_STALE_PCT)
			break; /* few expired keys left: the next tick is soon enough */
		if (time_mono_ns() - start >= EXPIRE_BUDGET_NS) {
			capped = 1;
			break;
		}
	}
	give_back(ks);
	/* Under interval and never nothing else may come by to settle. */
	settle_logs(ks);
	maintain(ks);
	loop_timer_start(loop, t, capped ? EXPIRE_FAST_MS : EXPIRE_TICK_MS);
}

/* --- replay sinks ----------------------------------------------------------------------- */

static void sink_drop(keyspace_t *ks, const char *key, size_t klen)
{
	/* Replay: what a record deletes is deleted for good. */
	ks_obj_t *o = obj_unlink(ks, key, klen);
	if (o)
		obj_free(ks, o, 1);
}

static qlist_t *kv_list(void *arg, const char *key, size_t klen, int create)
{
	keyspace_t *ks = arg;
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (o)
		return o->type == KS_LIST ? o->ptr : NULL;
	if (!create)
		return NULL;
	qlist_t *l = qlist_new();
	ks_obj_add(ks, key, klen, KS_LIST, l);
	return l;
}

static void kv_set(void *arg, const char *key, size_t klen, qlv_t *v, int64_t at)
{
	keyspace_t *ks = arg;
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (o && o->type == KS_STREAM) {
		free(v);
		return;
	}
	if (o)
		sink_drop(ks, key, klen);
	ks_obj_set_at(ks, ks_obj_add(ks, key, klen, KS_STRING, v), at);
}

static void kv_del(void *arg, const char *key, size_t klen)
{
	keyspace_t *ks = arg;
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (o && o->type != KS_STREAM)
		sink_drop(ks, key, klen);
}

static void kv_expire(void *arg, const char *key, size_t klen, int64_t at)
{
	keyspace_t *ks = arg;
	/* A compaction's new file may carry a copy of an EXPIRE before the
	 * key's own snapshot (kv_store.c): no time without a key (a time
	 * lives in its key's object). */
	ks_exp_set(ks, key, klen, at);
}

static void kv_rename(void *arg, const char *src, size_t slen, const char *dst, size_t dlen)
{
	keyspace_t *ks = arg;
	ks_obj_t *s = map_get(&ks->keys, src, slen), *d = map_get(&ks->keys, dst, dlen);
	if (!s || s == d || s->type == KS_STREAM || (d && d->type == KS_STREAM))
		return;
	if (d)
		sink_drop(ks, dst, dlen);
	(void)ks_obj_rekey(ks, src, slen, dst, dlen);
}

static void each_one(const char *k, size_t kl, ks_obj_t *o, kvs_each_fn fn, void *farg, int always)
{
	int64_t at = o->at;
	int kind = types[o->type].kind;
	if (kind != KVS_OTHER)
		fn(farg, k, kl, kind, o->ptr, at);
	else if (at || always)
		fn(farg, k, kl, KVS_OTHER, NULL, at);
}

static void kv_each(void *arg, kvs_each_fn fn, void *farg)
{
	keyspace_t *ks = arg;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&ks->keys, &it, &k, &kl, &v))
		each_one(k, kl, v, fn, farg, 0);
}

static void kv_scan_begin(void *arg)
{
	keyspace_t *ks = arg;
	memset(&ks->snap_scan, 0, sizeof ks->snap_scan);
	map_scan_begin(&ks->keys, &ks->snap_scan);
}

static int kv_scan_next(void *arg, kvs_each_fn fn, void *farg)
{
	keyspace_t *ks = arg;
	const char *k;
	size_t kl;
	void *v;
	if (!map_scan_next(&ks->keys, &k, &kl, &v))
		return 0;
	each_one(k, kl, v, fn, farg, 0);
	return 1;
}

static void kv_scan_end(void *arg)
{
	keyspace_t *ks = arg;
	map_scan_end(&ks->keys, &ks->snap_scan);
	if (loop_timer_armed(&ks->snap_timer))
		loop_timer_stop(ks->loop, &ks->snap_timer);
}

static int kv_one(void *arg, const char *key, size_t klen, kvs_each_fn fn, void *farg)
{
	keyspace_t *ks = arg;
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (!o)
		return 0;
	each_one(key, klen, o, fn, farg, 1);
	return 1;
}

/* The value of type t at key for replay, created when asked. */
static void *kv_typed(keyspace_t *ks, const char *key, size_t klen, ks_type_t t, int create)
{
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (o)
		return o->type == t ? o->ptr : NULL;
	if (!create)
		return NULL;
	void *v = t == KS_HASH  ? (void *)rhash_new()
	          : t == KS_SET ? (void *)rset_new()
	                        : (void *)zset_new();
	ks_obj_add(ks, key, klen, t, v);
	return v;
}

static rhash_t *kv_hash(void *arg, const char *key, size_t klen, int create)
{
	return kv_typed(arg, key, klen, KS_HASH, create);
}

static rset_t *kv_sset(void *arg, const char *key, size_t klen, int create)
{
	return kv_typed(arg, key, klen, KS_SET, create);
}

static zset_t *kv_zset(void *arg, const char *key, size_t klen, int create)
{
	return kv_typed(arg, key, klen, KS_ZSET, create);
}

static void kv_copy(void *arg, const char *src, size_t slen, const char *dst, size_t dlen)
{
	keyspace_t *ks = arg;
	ks_obj_t *s = map_get(&ks->keys, src, slen), *d = map_get(&ks->keys, dst, dlen);
	if (!s || s->type == KS_STREAM || (d && d->type == KS_STREAM))
		return;
	if (d)
		sink_drop(ks, dst, dlen);
	ks_obj_t *o = ks_obj_add(ks, dst, dlen, s->type, ks_val_dup(s->type, s->ptr));
	o->raw = s->raw;
	ks_obj_set_at(ks, o, s->at);
}

/* Deletes every key of the given types (type 0: streams; else lists and
 * strings). */
static void drop_all(keyspace_t *ks, int streams)
{
	size_t n = map_len(&ks->keys), i = 0, it = 0;
	char **keys = malloc((n ? n : 1) * sizeof *keys);
	size_t *lens = malloc((n ? n : 1) * sizeof *lens);
	if (!keys || !lens)
		abort();
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&ks->keys, &it, &k, &kl, &v)) {
		if ((((ks_obj_t *)v)->type == KS_STREAM) != streams)
			continue;
		keys[i] = ks_memdup(k, kl);
		lens[i++] = kl;
	}
	for (size_t j = 0; j < i; j++) {
		sink_drop(ks, keys[j], lens[j]);
		free(keys[j]);
	}
	free(keys);
	free(lens);
}

static void kv_flush(void *arg)
{
	keyspace_t *ks = arg;
	drop_all(ks, 0);
	/* Every time, streams' included (see kv_store.c). */
	ks_exp_clear(ks);
}

static void on_store_failed(void *arg, int err)
{
	keyspace_t *ks = arg;
	/* A record could not be appended after its room was reserved: its
	 * journal failed; the domain cuts back and reloads. */
	dur_fail(ks->dur, err);
}

static stream_t *ss_get(void *arg, const char *key, size_t klen, int create)
{
	keyspace_t *ks = arg;
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (o)
		return o->type == KS_STREAM ? o->ptr : NULL;
	if (!create)
		return NULL;
	stream_t *s = stream_new();
	ks_obj_add(ks, key, klen, KS_STREAM, s);
	return s;
}

static void ss_del(void *arg, const char *key, size_t klen)
{
	keyspace_t *ks = arg;
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (o && o->type == KS_STREAM)
		sink_drop(ks, key, klen);
}

typedef struct reuse {
	plog_t *log;
	dur_mem_t *dmem;
} reuse_t;

static int ss_attach(void *arg, sstore_t *st, stream_t *s, uint64_t num)
{
	keyspace_t *ks = arg;
	reuse_t *r = ks->reuse ? map_get(ks->reuse, &num, sizeof num) : NULL;
	plog_t *p;
	dur_mem_t *dmem = NULL;
	if (r) {
		/* The log is open (the reload after a failure): keep it. */
		p = r->log;
		dmem = r->dmem;
		map_del(ks->reuse, &num, sizeof num);
		free(r);
	} else {
		int rc = sstore_open_log(st, num, &p);
		if (rc < 0)
			return rc;
	}
	s->num = num;
	int rc = stream_attach_log(s, p);
	if (rc < 0) {
		log_error(ks->log, "streams: cannot load log %llu: %s", (unsigned long long)num,
		          sl_strerror(rc));
		if (!dmem) {
			/* Opened here: closed again, never removed with the key. */
			plog_close(p);
			s->log = NULL;
			return rc;
		}
	}
	s->dmem = dmem ? dmem : dur_add_plog(ks->dur, p);
	return rc;
}

static void ss_each(void *arg, void (*fn)(void *farg, const char *key, size_t klen, stream_t *s),
                    void *farg)
{
	keyspace_t *ks = arg;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&ks->keys, &it, &k, &kl, &v)) {
		ks_obj_t *o = v;
		if (o->type == KS_STREAM)
			fn(farg, k, kl, o->ptr);
	}
}

static void ss_flush(void *arg)
{
	drop_all(arg, 1);
}

/* --- reload after a storage failure -------------------------------------------------------- */

static void keep_floor(keyspace_t *ks, const char *key, size_t klen, sid_t id)
{
	sid_t *f = map_get(&ks->floors, key, klen);
	if (!f) {
		f = malloc(sizeof *f);
		if (!f)
			abort();
		*f = id;
		map_put(&ks->floors, key, klen, f);
	} else if (sid_cmp(id, *f) > 0) {
		*f = id;
	}
}

static void reuse_put(map_t *m, uint64_t num, plog_t *p, dur_mem_t *dmem)
{
	reuse_t *r = malloc(sizeof *r);
	if (!r)
		abort();
	r->log = p;
	r->dmem = dmem;
	map_put(m, &num, sizeof num, r);
}

/* Drops every key, keeping the open logs in reuse (and the ID floors). */
static void drop_model(keyspace_t *ks, map_t *reuse)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&ks->keys, &it, &k, &kl, &v)) {
		ks_obj_t *o = v;
		if (o->type == KS_STREAM) {
			stream_t *s = o->ptr;
			keep_floor(ks, k, kl, stream_gen_base(s));
			if (s->log)
				reuse_put(reuse, s->num, s->log, s->dmem);
			s->log = NULL;
			s->inflush = s->inrelease = 0;
			stream_free(s);
		} else {
			val_free(o);
		}
		free(o);
	}
	map_deinit(&ks->keys);
	map_init_borrowed(&ks->keys, offsetof(ks_obj_t, key));
	ks->nxs = 0;
	ks->expire_cursor = 0;
	for (size_t i = 0; i < ks->ngraves; i++)
		reuse_put(reuse, ks->graves[i].num, ks->graves[i].log, ks->graves[i].dmem);
	ks->ngraves = 0;
	ks->nflush = 0;
	ks->nrel = 0;
}

/* Rebuilds the keyspace from its files; why goes into the log line. */
static int rebuild(keyspace_t *ks, const char *why)
{
	/* Replies held behind entries that will never be written fail with
	 * the domain's error (it is still failed while this runs). */
	ks_release_late(ks, ks->nlate);
	map_t reuse;
	map_init(&reuse);
	drop_model(ks, &reuse);
	ks->reuse = &reuse;
	int rc = sstore_replay(ks->ss);
	if (rc == 0)
		rc = kvs_replay(ks->kv);
	ks->reuse = NULL;
	/* Logs nothing refers to any more: their CREATE was undone, or their
	 * deletion is durable now. */
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&reuse, &it, &k, &kl, &v)) {
		reuse_t *r = v;
		uint64_t num;
		memcpy(&num, k, sizeof num);
		if (rc == 0)
			log_destroy(ks, r->log, r->dmem, num);
		else /* the next attempt takes it from the graves again */
			bury(ks, r->log, r->dmem, num, UINT64_MAX);
		free(r);
	}
	map_deinit(&reuse);
	/* Streams keep generating IDs above what was handed out. */
	it = 0;
	while (map_next(&ks->keys, &it, &k, &kl, &v)) {
		ks_obj_t *o = v;
		sid_t *f = o->type == KS_STREAM ? map_get(&ks->floors, k, kl) : NULL;
		if (!f)
			continue;
		stream_t *s = o->ptr;
		if (sid_cmp(*f, s->id_floor) > 0)
			s->id_floor = *f;
		map_del(&ks->floors, k, kl);
		free(f);
	}
	if (rc < 0) {
		log_error(ks->log, "keyspace: rebuilding from disk failed: %s", sl_strerror(rc));
		return rc;
	}
	log_warn(ks->log, "keyspace: rebuilt from disk %s (%zu keys)", why, map_len(&ks->keys));
	if (ks->hooks.reloaded)
		ks->hooks.reloaded(ks->hooks.arg);
	return 0;
}

/* The domain's recovery after a failed write or sync. */
static int reload(void *arg)
{
	return rebuild(arg, "after a storage failure");
}

int ks_rebuild(keyspace_t *ks)
{
	return rebuild(ks, "after cutting a unit only partly on disk");
}

/* --- lifecycle ---------------------------------------------------------------------------- */

int ks_open(keyspace_t **out, broker_t *b)
{
	keyspace_t *ks = calloc(1, sizeof *ks);
	if (!ks)
		abort();
	ks->b = b;
	ks->cfg = b->cfg;
	ks->log = b->log;
	ks->loop = b->loop;
	ks->always = b->cfg->fsync.mode == FSYNC_ALWAYS;
	ks->rng = (uint64_t)time_wall_us() ^ (uint64_t)(uintptr_t)ks;
	map_init_borrowed(&ks->keys, offsetof(ks_obj_t, key));
	map_init(&ks->floors);
	ks->ps = ps_new();
	loop_task_init(&ks->turn_task, turn_task, ks);
	loop_timer_init(&ks->expire_timer, expire_tick, ks);
	loop_timer_init(&ks->snap_timer, snap_tick, ks);
	dur_hooks_t hooks = {reload, on_idle, ks};
	ks->dur = dur_new(b->loop, b->log, "keyspace", b->cfg->fsync, &hooks);
	/* Streams first: the keys journal's records on a key defer to a
	 * stream there (kv_store.c). */
	ks->opening = 1;
	sstore_sink_t ssink = {ss_get, ss_del, ss_attach, ss_each, ss_flush, on_store_failed, ks};
	int rc = sstore_open(&ks->ss, b, &ssink);
	if (rc < 0) {
		log_error(b->log, "resp: cannot open the stream store: %s", sl_strerror(rc));
		goto fail;
	}
	/* Redis 7.0's defaults (config.c). */
	ks->enc = (kvs_enc_t){512, 64, 512, 128, 64};
	kvs_sink_t ksink = {
	    .list = kv_list,
	    .set = kv_set,
	    .del = kv_del,
	    .expire = kv_expire,
	    .rename = kv_rename,
	    .hash = kv_hash,
	    .sset = kv_sset,
	    .zset = kv_zset,
	    .copy = kv_copy,
	    .each = kv_each,
	    .scan_begin = kv_scan_begin,
	    .scan_next = kv_scan_next,
	    .scan_end = kv_scan_end,
	    .one = kv_one,
	    .flush = kv_flush,
	    .failed = on_store_failed,
	    .enc = &ks->enc,
	    .arg = ks,
	};
	rc = kvs_open(&ks->kv, b, &ksink);
	if (rc < 0) {
		log_error(b->log, "resp: cannot open the keys store: %s", sl_strerror(rc));
		goto fail;
	}
	/* A unit a crash left in one journal only goes (keyspace_unit.c)
	 * before logs no stream names are settled. */
	rc = ks_unit_settle(ks);
	if (rc < 0) {
		log_error(b->log, "resp: cannot settle the units of the journals: %s",
		          sl_strerror(rc));
		goto fail;
	}
	/* The deletions replayed are final now: their logs go. */
	ks->opening = 0;
	size_t kept = 0;
	for (size_t i = 0; i < ks->ngraves; i++) {
		grave_t *g = &ks->graves[i];
		if (g->jpos == UINT64_MAX)
			log_destroy(ks, g->log, g->dmem, g->num);
		else
			ks->graves[kept++] = *g;
	}
	ks->ngraves = kept;
	/* Stream logs the journal lost are adopted once every key is known. */
	rc = sstore_settle(ks->ss);
	if (rc < 0) {
		log_error(b->log, "resp: cannot open the stream store: %s", sl_strerror(rc));
		goto fail;
	}
	ks->kj = kvs_jrnl(ks->kv);
	ks->sj = sstore_jrnl(ks->ss);
	dur_add_jrnl(ks->dur, ks->kj);
	dur_add_jrnl(ks->dur, ks->sj);
	loop_timer_start(b->loop, &ks->expire_timer, EXPIRE_TICK_MS);
	*out = ks;
	return 0;
fail:
	ks->closing = 1;
	ks_close(ks);
	return rc;
}

void ks_close(keyspace_t *ks)
{
	if (!ks)
		return;
	ks->closing = 1;
	memset(&ks->hooks, 0, sizeof ks->hooks);
	if (loop_timer_armed(&ks->expire_timer))
		loop_timer_stop(ks->loop, &ks->expire_timer);
	if (loop_timer_armed(&ks->snap_timer))
		loop_timer_stop(ks->loop, &ks->snap_timer);
	loop_task_cancel(ks->loop, &ks->turn_task);
	ks_unit_gate_close(ks);
	ks_write_pending(ks);
	ks_release_late(ks, ks->nlate);
	/* The domain first (it detaches from the stores), then the stores:
	 * each closes with a final sync. */
	dur_free(ks->dur);
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&ks->keys, &it, &k, &kl, &v)) {
		ks_obj_t *o = v;
		if (o->type == KS_STREAM)
			stream_free(o->ptr); /* closes its log */
		else
			val_free(o);
		free(o);
	}
	/* Logs of deleted streams whose deletion was not durable yet: closed,
	 * not removed; the next start removes them if the deletion made it. */
	for (size_t i = 0; i < ks->ngraves; i++)
		plog_close(ks->graves[i].log);
	sstore_close(ks->ss);
	kvs_close(ks->kv);
	it = 0;
	while (map_next(&ks->floors, &it, &k, &kl, &v))
		free(v);
	map_deinit(&ks->floors);
	map_deinit(&ks->keys);
	free(ks->xs);
	ps_free(ks->ps);
	free(ks->flush);
	free(ks->late);
	free(ks->graves);
	free(ks->rel);
	ks_unit_free(ks);
	free(ks);
}

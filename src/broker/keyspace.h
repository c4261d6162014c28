/*
 * keyspace.h — the Redis keyspace, owned by the broker (b->ks): the key
 * map and its types (stream, list, string), expiry times (lazy and an
 * active-expiry timer), the stores that make it durable (the keys journal,
 * the streams journal and one partition log per stream), the pub/sub
 * registry, and the one durability domain all of them belong to.
 *
 * Types: streams, lists, strings, hashes, sets and sorted sets (the
 * mutations of each in keyspace_<type>.c; models in stream.h, list.h,
 * hash.h, set.h, zset.h).
 *
 * The RESP front is an adapter: it parses, calls the functions below and
 * encodes their results; it keeps connection state only (blocked clients,
 * MULTI queues, WATCH lists, each connection's subscriptions).
 *
 * Writes. Every mutation is one call here that (1) refuses at once when the
 * domain is recovering from a storage failure (dur_state), (2) reserves the
 * journal (and log) space of every record it will write, in every store it
 * touches — a full disk refuses the whole write here, before anything
 * changed — then (3) applies the change and appends its records. After a
 * successful reservation an append can only fail if its journal itself
 * failed (a write or sync error), and that fails the domain: the stores are
 * cut back to their last durable point and the keyspace is rebuilt from
 * them (the reload), so no command is ever half applied. Stream entries are
 * buffered and written to their logs once per loop turn (their room is
 * reserved at XADD time); if that write fails the domain fails the same way.
 *
 * Replies. Every reply of a RESP request goes through ks_reply (or, when
 * ks_must_hold() is false, straight to the connection): under fsync=always
 * it leaves only once everything the keyspace wrote — and everything the
 * request could have seen — is on disk; on a storage failure every reply
 * not yet released gets the front's error instead (dur.h).
 *
 * Errors returned by the mutations: SL_ESTATE (the key holds another type:
 * WRONGTYPE), SL_ENOENT (a key, group or consumer the command needs is
 * missing), SL_ERANGE / SL_EINVAL / SL_EEXIST / SL_ETOOBIG as documented per
 * call, anything else a storage error (SL_ENOSPC, SL_EIO): the write was
 * refused and nothing changed.
 *
 * Notifications: the front registers hooks (ks_set_hooks) to hear about
 * keys written and deleted (blocked clients, WATCH) and about reloads.
 * Hooks run synchronously inside the call that made the change.
 *
 * Loop thread only.
 */
#ifndef SL_BROKER_KEYSPACE_H
#define SL_BROKER_KEYSPACE_H

#include "broker/broker.h"
#include "broker/dur.h"
#include "broker/hash.h"
#include "broker/kv_store.h"
#include "broker/list.h"
#include "broker/pubsub.h"
#include "broker/set.h"
#include "broker/stream.h"
#include "broker/zset.h"

#include <stddef.h>
#include <stdint.h>

typedef struct keyspace keyspace_t;

typedef enum ks_type {
	KS_STREAM = 1,
	KS_LIST,   /* qlist_t */
	KS_STRING, /* qlv_t (immutable: writes replace it) */
	KS_HASH,   /* rhash_t */
	KS_SET,    /* rset_t */
	KS_ZSET,   /* zset_t */
} ks_type_t;

/* One allocation per key (issue 18: memory per key): this header, the
 * key (the key map borrows it: no second copy), and for a short string
 * its qlv_t too (ptr points at it; Redis's embstr). */
typedef struct ks_obj {
	void *ptr;      /* the value (a short string's is inside this object) */
	int64_t at;     /* absolute expiry time (wall ms), 0: none */
	uint32_t atime; /* loop clock seconds of the last lookup (OBJECT IDLETIME) */
	uint32_t xpos;  /* its place in the keyspace's index of keys with a time */
	uint32_t klen;
	uint8_t type; /* ks_type_t */
	uint8_t raw;  /* a string edited in place (APPEND, SETRANGE, SETBIT) */
	uint8_t emb;  /* ptr points into this object (not freed by itself) */
	char key[];   /* klen bytes and a NUL */
} ks_obj_t;

const char *ks_type_name(ks_type_t t);
/* What OBJECT ENCODING answers for o (Redis 7.0's names). */
const char *ks_obj_encoding(const ks_obj_t *o);
/* Seconds since o was last looked up (OBJECT IDLETIME). */
int64_t ks_obj_idle(const keyspace_t *ks, const ks_obj_t *o);

/* --- lifecycle (broker.c) ------------------------------------------------- */

/* Opens <data-dir>/resp/keys.journal and <data-dir>/streams/ (journal and
 * logs), replays them, creates the domain and starts active expiry.
 * Returns an owned keyspace. */
int ks_open(keyspace_t **out, broker_t *b);
/* Writes what is buffered, syncs and closes everything. Held replies
 * should have been released (ks_busy() == 0). */
void ks_close(keyspace_t *ks);

/* Units: every journal record the keyspace writes between ks_unit_begin
 * and the matching ks_unit_end — in the keys journal, the streams
 * journal and the stream logs — survives a crash all or none (a command,
 * a script, a transaction; see keyspace_unit.c). They nest: the outermost
 * pair is the unit. multi: the unit may write several records (a slow
 * command, a script, EXEC): stream entries it appends are then framed so
 * that a dropped unit takes them back; a fast one-record command is not
 * charged for that. */
void ks_unit_begin(keyspace_t *ks, int multi);
void ks_unit_end(keyspace_t *ks);
/* Replies still waiting for durability. */
size_t ks_busy(const keyspace_t *ks);

/* --- notifications -------------------------------------------------------- */

enum ks_event {
	KS_EV_DATA,    /* a key received data (push, XADD, move, rename target) */
	KS_EV_CHANGED, /* any other modification */
	KS_EV_DELETED, /* the key is gone (DEL, expiry, overwrite by another type) */
	KS_EV_GROUP,   /* a stream consumer group was destroyed */
	KS_EV_EXPIRED, /* the key is gone because its time passed */
};

typedef struct ks_hooks {
	void (*key)(void *arg, const char *key, size_t klen, int ev);
	/* The keyspace was rebuilt from disk after a storage failure: any key
	 * may have changed. */
	void (*reloaded)(void *arg);
	/* ks_wants_quiet() is over: requests may flow again. */
	void (*quiet)(void *arg);
	void *arg;
} ks_hooks_t;

/* Copies the hooks (NULL clears them). */
void ks_set_hooks(keyspace_t *ks, const ks_hooks_t *h);

/* --- durability and replies ----------------------------------------------- */

dur_t *ks_dur(keyspace_t *ks);
/* 0, or the storage error while the domain recovers (writes are refused). */
int ks_state(const keyspace_t *ks);
/* Whether a reply must be held now (fsync=always and something unsynced,
 * in flight, failed, or buffered for this turn's log writes). While false
 * a front may write replies straight to the connection. */
int ks_must_hold(const keyspace_t *ks);
/* Whether the front should hold back new requests until the domain is
 * idle: a journal due for compaction, which may only run then (dur.h), has
 * waited for an idle moment long enough (its garbage grew far past the
 * threshold: under a steady load with fsync=always the domain may never
 * be idle by itself). The `quiet` hook says when to go on. */
int ks_wants_quiet(const keyspace_t *ks);
/* The reply p[0..n) of one request: sent now when nothing is pending,
 * else held (copied) until durable; fin rewrites it on failure (dur.h). */
void ks_reply(keyspace_t *ks, conn_t *c, const void *p, size_t n, dur_fin_fn fin, void *arg);

/* --- lookups (lazy expiry: an expired key is deleted on sight) ------------ */

/* The object at key, or NULL. A view valid until the next mutation. */
ks_obj_t *ks_find(keyspace_t *ks, const char *key, size_t klen);
/* ks_find without updating the key's access time (OBJECT). */
ks_obj_t *ks_peek(keyspace_t *ks, const char *key, size_t klen);
/* The list at key (NULL if absent); *wrong set when another type. */
qlist_t *ks_list(keyspace_t *ks, const char *key, size_t klen, int *wrong);
/* Absolute expiry time (wall ms) of key, or 0. No lazy expiry. */
int64_t ks_expire_at(const keyspace_t *ks, const char *key, size_t klen);
/* Whether key's time has passed (for listings that do not look keys up). */
int ks_expired(const keyspace_t *ks, const char *key, size_t klen);
size_t ks_size(const keyspace_t *ks);
size_t ks_expires_count(const keyspace_t *ks);
uint64_t ks_expired_keys(const keyspace_t *ks);
/* Iteration over every key (map order; includes keys whose time passed):
 * size_t it = 0; while (ks_next(ks, &it, &k, &kl, &o)) ... No mutation
 * during the walk. */
int ks_next(const keyspace_t *ks, size_t *it, const char **key, size_t *klen, ks_obj_t **o);
/* SCAN's cursor step (map_scan_cursor over the keys, includes keys whose
 * time passed): fn gets each key of one home slot; returns the next
 * cursor, 0 when done. */
uint64_t ks_scan(const keyspace_t *ks, uint64_t cursor, map_visit_fn fn, void *arg);

/* --- keys ----------------------------------------------------------------- */

/* Deletes the keys that exist; *deleted counts them. */
int ks_del(keyspace_t *ks, int n, const char *const *keys, const size_t *klens, int64_t *deleted);
/* Deletes every key. */
int ks_flush(keyspace_t *ks);
/* Sets key's expiry to at (absolute wall ms); a time not in the future
 * deletes the key. Returns 1, or 0 when the key does not exist. */
int ks_expire(keyspace_t *ks, const char *key, size_t klen, int64_t at);
/* Removes key's expiry: 1 if it had one, 0 if not (or no key). */
int ks_persist(keyspace_t *ks, const char *key, size_t klen);
/* RENAME (src != dst). SL_ENOENT: no src; SL_EINVAL: src is a stream
 * (not supported). */
int ks_rename(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen);

/* --- strings -------------------------------------------------------------- */

typedef void (*ks_val_fn)(void *arg, const char *p, size_t n);

/* Sets key to v[0..n), replacing a value of any type; at: absolute expiry
 * (0 none, -1 keep the current one). */
int ks_set(keyspace_t *ks, const char *key, size_t klen, const void *v, size_t n, int64_t at);
/* MSET: all or nothing. */
int ks_mset(keyspace_t *ks, int n, const char *const *keys, const size_t *klens,
            const char *const *vals, const size_t *vlens);
/* INCRBY: *out the new value. SL_EINVAL: not an integer; SL_ERANGE:
 * overflow. */
int ks_incrby(keyspace_t *ks, const char *key, size_t klen, int64_t by, int64_t *out);
/* APPEND: *len the new length; SL_ETOOBIG past max bytes. */
int ks_append(keyspace_t *ks, const char *key, size_t klen, const void *v, size_t n, size_t max,
              int64_t *len);

enum { KS_GETEX_KEEP, KS_GETEX_PERSIST, KS_GETEX_AT, KS_GETEX_DEL };
/* GETDEL / GETEX: the string at key is given to fn (a view, before the
 * change) once the change is made: KEEP nothing, PERSIST drops the
 * expiry, AT sets it (a time not in the future deletes), DEL deletes.
 * Returns 1, or 0 when there is no key (fn not called). */
int ks_getex(keyspace_t *ks, const char *key, size_t klen, int mode, int64_t at, ks_val_fn fn,
             void *arg);

/* SETRANGE: writes v at offset (zero-padding), *len the new length;
 * SL_ETOOBIG past max bytes. An absent key with an empty v is left absent
 * (*len 0). */
int ks_setrange(keyspace_t *ks, const char *key, size_t klen, size_t offset, const void *v,
                size_t n, size_t max, int64_t *len);
/* SETBIT: *old the previous bit. */
int ks_setbit(keyspace_t *ks, const char *key, size_t klen, uint64_t bit, int on, int *old);
/* INCRBYFLOAT: the new value's text in out (>= NUM_LD_CHARS bytes).
 * SL_EINVAL not a float, SL_ERANGE NaN or infinity. */
int ks_incrbyfloat(keyspace_t *ks, const char *key, size_t klen, long double by, char *out,
                   size_t *outlen);
/* MSETNX: 1 when set (no key existed), 0 when nothing was set. */
int ks_msetnx(keyspace_t *ks, int n, const char *const *keys, const size_t *klens,
              const char *const *vals, const size_t *vlens);

/* --- lists ---------------------------------------------------------------- */

/* LPUSH/RPUSH (tail 1) of n values; only_existing: LPUSHX/RPUSHX. *len is
 * the new length (0 when only_existing and there is no list). */
int ks_push(keyspace_t *ks, const char *key, size_t klen, int tail, int only_existing, int n,
            const char *const *vals, const size_t *lens, int64_t *len);
/* Pops up to count elements from the head (tail 0) or tail, each given to
 * fn in order (a view valid during the call); *popped counts them (0 when
 * there is no list). The list is deleted when it empties. */
int ks_pop(keyspace_t *ks, const char *key, size_t klen, int tail, int64_t count, ks_val_fn fn,
           void *arg, int64_t *popped);
/* LSET: SL_ENOENT no key, SL_ERANGE index out of range. */
int ks_lset(keyspace_t *ks, const char *key, size_t klen, int64_t idx, const void *v, size_t n);
/* LINSERT: *len the new length, -1 when the pivot is missing, 0 when there
 * is no list. */
int ks_linsert(keyspace_t *ks, const char *key, size_t klen, int after, const void *pivot,
               size_t plen, const void *v, size_t n, int64_t *len);
int ks_lrem(keyspace_t *ks, const char *key, size_t klen, int64_t count, const void *v, size_t n,
            int64_t *removed);
int ks_ltrim(keyspace_t *ks, const char *key, size_t klen, int64_t start, int64_t stop);
/* LMOVE: one element from src's end `from` to dst's end `to`, given to fn.
 * Returns 1 moved, 0 when src does not exist; SL_ESTATE when src or dst
 * holds another type (nothing moved). */
int ks_lmove(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen, int from,
             int to, ks_val_fn fn, void *arg);

/* --- hashes (keyspace_hash.c) ---------------------------------------------- */

/* The hash / set / sorted set at key (NULL if absent; *wrong set when the
 * key holds another type). Views valid until the next mutation. */
rhash_t *ks_hash(keyspace_t *ks, const char *key, size_t klen, int *wrong);
rset_t *ks_rset(keyspace_t *ks, const char *key, size_t klen, int *wrong);
zset_t *ks_zset(keyspace_t *ks, const char *key, size_t klen, int *wrong);

/* HSET of n field/value pairs (fv[2n], lens[2n]); *added counts new
 * fields. nx (HSETNX, n == 1): an existing field is left alone. */
int ks_hset(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *fv,
            const size_t *lens, int nx, int64_t *added);
/* HDEL; the hash is deleted when it empties. */
int ks_hdel(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *f,
            const size_t *lens, int64_t *removed);
/* HINCRBY: SL_EINVAL the value is no integer, SL_ERANGE overflow. */
int ks_hincrby(keyspace_t *ks, const char *key, size_t klen, const char *f, size_t flen, int64_t by,
               int64_t *out);
/* HINCRBYFLOAT: the new value's text in out (>= NUM_LD_CHARS bytes);
 * SL_EINVAL the value is no float, SL_ERANGE NaN or infinity. */
int ks_hincrbyfloat(keyspace_t *ks, const char *key, size_t klen, const char *f, size_t flen,
                    long double by, char *out, size_t *outlen);

/* --- sets (keyspace_set.c) -------------------------------------------------- */

int ks_sadd(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *m,
            const size_t *lens, int64_t *added);
int ks_srem(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *m,
            const size_t *lens, int64_t *removed);
/* SPOP of up to count random members (all of them, in order, when count
 * reaches the size), each given to fn before it is freed; *popped counts
 * them. The set is deleted when it empties. */
int ks_spop(keyspace_t *ks, const char *key, size_t klen, int64_t count, ks_val_fn fn, void *arg,
            int64_t *popped);
/* SMOVE: 1 moved, 0 not a member (or no src); SL_ESTATE src or dst of
 * another type. */
int ks_smove(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen,
             const char *m, size_t mlen);
/* *STORE: dst (whatever it held) becomes res, taking ownership; an empty
 * res deletes dst. */
int ks_sstore(keyspace_t *ks, const char *dst, size_t dlen, rset_t *res);
/* Random draws (SRANDMEMBER, SPOP, HRANDFIELD, ZRANDMEMBER, RANDOMKEY):
 * the keyspace's generator state. */
uint64_t *ks_rng(keyspace_t *ks);
/* The encoding thresholds (CONFIG SET *-max-* changes them). */
kvs_enc_t *ks_enc(keyspace_t *ks);

/* --- sorted sets (keyspace_zset.c) ------------------------------------------ */

enum {
	KS_Z_NX = 1 << 0,
	KS_Z_XX = 1 << 1,
	KS_Z_GT = 1 << 2,
	KS_Z_LT = 1 << 3,
	KS_Z_INCR = 1 << 4,
};

/* ZADD of n score/member pairs under flags; *added counts new members,
 * *changed new or updated ones. With KS_Z_INCR (n == 1) *score is the new
 * score, and the return is 0 when the condition kept it from being set
 * (Redis replies nil), else 1. SL_ERANGE: the increment made NaN. */
int ks_zadd(keyspace_t *ks, const char *key, size_t klen, int flags, size_t n, const double *scores,
            const char *const *m, const size_t *lens, int64_t *added, int64_t *changed,
            double *score);
int ks_zrem(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *m,
            const size_t *lens, int64_t *removed);

enum { KS_ZR_RANK, KS_ZR_SCORE, KS_ZR_LEX };

typedef struct ks_zsel {
	int kind;
	int64_t start, stop; /* KS_ZR_RANK, as given (negative from the end) */
	zrange_t score;
	zlex_t lex;
} ks_zsel_t;

/* ZREMRANGEBY*: *removed counts them; the set is deleted when it empties. */
int ks_zremrange(keyspace_t *ks, const char *key, size_t klen, const ks_zsel_t *sel,
                 int64_t *removed);

typedef void (*ks_zval_fn)(void *arg, const char *m, size_t n, double score);

/* ZPOPMIN (max 0) / ZPOPMAX of up to count members, each given to fn in
 * order before it is freed; *popped counts them. */
int ks_zpop(keyspace_t *ks, const char *key, size_t klen, int max, int64_t count, ks_zval_fn fn,
            void *arg, int64_t *popped);
/* ZRANGESTORE, Z*STORE: dst (whatever it held) becomes res, taking
 * ownership; an empty res deletes dst. The result's encoding follows
 * Redis (listpack when small enough). */
int ks_zstore(keyspace_t *ks, const char *dst, size_t dlen, zset_t *res);

/* --- generic key commands --------------------------------------------------- */

/* COPY: 1 copied, 0 when dst exists and !replace (or src is missing);
 * SL_EINVAL src is a stream (not supported). */
int ks_copy(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen,
            int replace);
/* A random key (expired keys are deleted on sight); 0 when empty. */
int ks_randomkey(keyspace_t *ks, const char **key, size_t *klen);
/* SORT ... STORE: dst (whatever it held) becomes a list of the n values;
 * none deletes dst. */
int ks_lstore(keyspace_t *ks, const char *dst, size_t dlen, size_t n, const char *const *vals,
              const size_t *lens);

/* --- streams -------------------------------------------------------------- */

enum { KS_TRIM_NONE, KS_TRIM_MAXLEN, KS_TRIM_MINID };

typedef struct ks_trim {
	int strategy;
	int approx;
	int64_t maxlen;
	sid_t minid;
	int64_t limit; /* approx: at most this many entries (0: no limit) */
	int64_t node;  /* approx: entries per node (stream-node-max-entries; 0: 100) */
} ks_trim_t;

/* The stream at key: 0 with *s (NULL when absent), or SL_ESTATE. */
int ks_stream(keyspace_t *ks, const char *key, size_t klen, stream_t **s);
enum {
	KS_ID_EXPLICIT, /* id as given */
	KS_ID_AUTO,     /* XADD *: from the clock and the last ID */
	KS_ID_AUTOSEQ,  /* XADD ms-*: id.ms given, the next sequence in it */
};

/* XADD: an entry of npairs field/value pairs with an ID chosen by idmode
 * (auto IDs never repeat one handed out before, even for an entry whose
 * write failed), then the trim (NULL or KS_TRIM_NONE: none). Creates the
 * stream unless nomkstream (then SL_ENOENT). *out is the entry's ID.
 * SL_ERANGE: the stream exhausted the ID space; SL_EINVAL: the ID is not
 * above the stream's last ID; SL_ETOOBIG: <ms>-* when ms's sequence is
 * used up. */
int ks_xadd(keyspace_t *ks, const char *key, size_t klen, sid_t id, int idmode, int nomkstream,
            uint32_t npairs, const char *const *ptrs, const size_t *lens, const ks_trim_t *trim,
            sid_t *out);
int ks_xtrim(keyspace_t *ks, const char *key, size_t klen, const ks_trim_t *trim, int64_t *removed);
int ks_xdel(keyspace_t *ks, const char *key, size_t klen, size_t n, const sid_t *ids,
            int64_t *deleted);
/* XSETID (checked by the caller); added -1 keeps entries-added, a zero
 * maxdel keeps max-deleted-id. */
int ks_xsetid(keyspace_t *ks, const char *key, size_t klen, sid_t last, int64_t added,
              sid_t maxdel);
/* XGROUP CREATE: last_dollar takes the stream's last ID (after MKSTREAM
 * created it). SL_ENOENT: no stream and !mkstream; SL_EEXIST: BUSYGROUP. */
int ks_xgroup_create(keyspace_t *ks, const char *key, size_t klen, const char *g, size_t glen,
                     sid_t id, int last_dollar, int64_t entries_read, int mkstream);
int ks_xgroup_setid(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g, sid_t id,
                    int64_t entries_read);
int ks_xgroup_destroy(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g);
/* Returns 1 created, 0 existed. */
int ks_xgroup_createconsumer(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g,
                             const char *c, size_t clen);
/* *pending: how many pending entries the consumer had. */
int ks_xgroup_delconsumer(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g, sconsumer_t *c,
                          int64_t *pending);
int ks_xack(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g, size_t n, const sid_t *ids,
            int64_t *acked);

/* An entry handed to the front for its reply: e is NULL for a pending ID
 * whose entry was deleted (history reads). */
typedef void (*ks_entry_fn)(void *arg, stream_t *s, sid_t id, const sentry_t *e);

/* One stream of an XREADGROUP: entries after `after` (new entries when
 * !history; the consumer's own pending entries after `after` when
 * history). */
typedef struct ks_xread {
	const char *key;
	size_t klen;
	stream_t *s;
	sgroup_t *g;
	sid_t after;
	int history;
} ks_xread_t;

typedef struct ks_xread_cb {
	void (*begin)(void *arg, size_t i); /* before stream i's entries */
	ks_entry_fn entry;
	void (*end)(void *arg, size_t i, size_t n); /* after them: n given */
	void *arg;
} ks_xread_cb_t;

/* XREADGROUP over n streams, all or nothing: in each, consumer c of the
 * group is created if needed and its seen time refreshed; up to count
 * entries (0: all) are delivered (added to the PEL unless noack) or, for
 * history, re-delivered; each goes to cb->entry. */
int ks_xreadgroup(keyspace_t *ks, size_t n, const ks_xread_t *r, const char *c, size_t clen,
                  int64_t count, int noack, const ks_xread_cb_t *cb);

typedef struct ks_claim {
	const sid_t *ids;
	size_t nids;
	int64_t minidle;
	int64_t dtime;      /* delivery time to set (wall ms) */
	int64_t retrycount; /* -1: increment (unless justid) */
	int force, justid;
	sid_t lastid; /* raise the group's last ID to this (SID_MIN: no) */
} ks_claim_t;

/* XCLAIM: fn for each claimed entry. */
int ks_xclaim(keyspace_t *ks, const char *key, size_t klen, stream_t *s, sgroup_t *g, const char *c,
              size_t clen, const ks_claim_t *a, ks_entry_fn fn, void *arg);
/* One pending entry as DUMP carries it. */
typedef struct ks_nack {
	sid_t id;
	int64_t dtime;
	uint64_t count;
} ks_nack_t;
/* RESTORE: consumer c of group g with its seen time and its pending
 * entries (times and counts as given), whether or not the entries exist
 * (Redis keeps a pending entry whose entry was deleted). */
int ks_xrestore_consumer(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g, const char *c,
                         size_t clen, int64_t seen, const ks_nack_t *nacks, size_t n);
/* XAUTOCLAIM from start: claimed entries to fn, deleted pending IDs (now
 * acknowledged) to del; *next the cursor to continue from (0-0: done). */
int ks_xautoclaim(keyspace_t *ks, const char *key, size_t klen, stream_t *s, sgroup_t *g,
                  const char *c, size_t clen, int64_t minidle, sid_t start, int64_t count,
                  int justid, ks_entry_fn fn, ks_entry_fn del, void *arg, sid_t *next);

/* --- pub/sub ------------------------------------------------------------------ */

/* The registry of channel and pattern subscriptions (in memory only). */
ps_t *ks_pubsub(keyspace_t *ks);

#endif

/*
 * kv_store.c — the journal of lists, string keys and expiry times (see
 * kv_store.h).
 *
 * File: <data-dir>/resp/keys.journal, framed by store/journal.c
 * ([u32 length][u32 crc32c][u8 type][payload], torn tail cut on open).
 * Payload fields, all integers big-endian:
 *   str = u32 length, bytes
 *
 *   type  record   payload
 *   1     PUSH     str key, u8 tail, u32 n, n*str   (each pushed in turn at the
 *                                                   head (tail 0) or tail, as
 *                                                   LPUSH/RPUSH do)
 *   2     POP      str key, u8 tail, u64 n
 *   3     LSET     str key, u64 index, str value
 *   4     LINSERT  str key, u64 index, str value    (inserted before index)
 *   5     LREM     str key, i64 count, str value
 *   6     LTRIM    str key, i64 start, i64 stop
 *   7     SET      str key, i64 expire_at_ms (0: none), str value
 *   8     DEL      str key
 *   9     EXPIRE   str key, i64 at_ms (0: persist)
 *   10    RENAME   str src, str dst
 *   11    FLUSH    (empty)                          (every list and string key
 *                                                   and every expiry time gone)
 *   12    HSET     str key, u32 n, n*(str field, str value)
 *   13    HDEL     str key, u32 n, n*str field
 *   14    SADD     str key, u32 n, n*str member
 *   15    SREM     str key, u32 n, n*str member
 *   16    ZADD     str key, u32 n, n*(u64 score, str member)  (score: the IEEE
 *                                                   754 bits of the double;
 *                                                   adds the member or gives
 *                                                   it the score)
 *   17    ZREM     str key, u32 n, n*str member
 *   18    COPY     str src, str dst                 (dst, whatever it held,
 *                                                   becomes a copy of src's
 *                                                   value and expiry time)
 *
 * FLUSH deletes hashes, sets and sorted sets too. HSET, SADD and ZADD
 * create their key when it is missing; a hash, set or sorted set left
 * empty by HDEL, SREM or ZREM is deleted, as Redis does. Records of many
 * items are split past 1 MiB like PUSH (each part is a valid change of
 * its own, so a torn tail leaves a prefix of the change, which the
 * journal's cut makes moot: the change's reply was never released).
 *
 * Replay applies each record to the model in order; the list operations
 * are deterministic, so the model ends where it was. Expiry times are
 * absolute wall-clock milliseconds: a key whose time passed while the
 * server was down is gone on its first lookup after restart. A list left
 * empty by a record is deleted, as Redis does. The records of one command,
 * script or transaction form a unit (store/journal.h; keyspace_unit.c):
 * the journal hands them over only once the unit's COMMIT was read, and
 * the keyspace drops a cross-journal unit the streams journal lacks.
 * Recovery rule: replay
 * everything the journal returns (it has already cut a torn tail); a
 * record naming a missing key or a key of another type is skipped (it can
 * only follow a deletion that made it moot); a malformed record stops the
 * open (the file is not ours or was damaged beyond a torn tail). The
 * streams journal is replayed first; records here never replace or delete
 * a stream key (a key has one type at a time, so each journal's last word
 * on a key of its own types is the truth), except EXPIRE, which applies to
 * keys of every type: so FLUSH clears the expiry of every key (a stream
 * that survives it in the streams journal was created after it, and its
 * own EXPIRE records follow the FLUSH here), and the deletion of a stream
 * that had a time writes EXPIRE 0 here beside its DELKEY there.
 *
 * Writing: the owner reserves a change's records first (one change may
 * take several records, in both journals); the records are appended after
 * the model changed. The replay after a storage failure (kvs_replay) runs
 * on a journal the domain has cut back to its last durable record, into an
 * owner that dropped its keys first.
 *
 * Garbage: `live` estimates what a snapshot would hold (kvs_cost per
 * value); whatever the file holds beyond that is reported as garbage, so a
 * queue that pushes and pops compacts once the dead history passes the
 * ratio; after replay `live` is recounted from the model. Snapshot
 * records: PUSH records of up to SNAP_BATCH values per list, SET per
 * string, HSET / SADD / ZADD records of up to SNAP_BATCH items per hash,
 * set and sorted set, EXPIRE per list, hash, set, sorted set or other key
 * with a time.
 *
 * Compaction is incremental (docs/formats-journal.md, "Incremental
 * compaction"): kvs_maintain opens keys.journal.tmp (jrnl_snap_begin);
 * kvs_snap_step writes the snapshot records of the next keys of the
 * owner's scan (sink scan_next), a bounded piece per loop turn, each key
 * replacing what the new file holds for it: a DEL record first for a list,
 * hash, set or sorted set (a SET replaces by itself; a key of another type
 * gets EXPIRE with its time or 0). Every change logged meanwhile goes to
 * the journal and is copied into the new file after the snapshot records
 * written so far, except RENAME and COPY, which the new file gets as their
 * result (RENAME: DEL src; both: dst's whole value as replacing records;
 * emit_two_key), since src may not have been written there yet. So each
 * key's last snapshot records carry its value at the time they were
 * written and every later change follows them; changes copied before them
 * act on a partial or missing key, which replay tolerates (skips what does
 * not apply), and are then replaced. The scan visits every key present
 * from its start to its end at least once (map_scan_*: deletions, growth).
 * A snapshot that fits in the first step (INLINE_NS, INLINE_BYTES) is
 * committed at once. Otherwise, once the scan is done and the new file's
 * background sync caught up, the next idle call commits: fsync, rename over the
 * journal (the commit point), directory fsync. Recovery rule: as for any
 * journal; a crash before the rename leaves the complete old journal and
 * a .tmp that the open deletes. A cut (kvs_replay after a storage
 * failure) or close abandons the .tmp.
 * Loop thread only.
 */
#include "broker/kv_store.h"

#include "broker/hash.h"
#include "broker/set.h"
#include "broker/zset.h"

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"
#include "core/time.h"
#include "store/journal.h"
#include "store/sio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	R_PUSH = 1,
	R_POP,
	R_LSET,
	R_LINSERT,
	R_LREM,
	R_LTRIM,
	R_SET,
	R_DEL,
	R_EXPIRE,
	R_RENAME,
	R_FLUSH,
	R_HSET,
	R_HDEL,
	R_SADD,
	R_SREM,
	R_ZADD,
	R_ZREM,
	R_COPY,
};

_Static_assert((int)R_HSET == (int)KVS_R_HSET && (int)R_ZREM == (int)KVS_R_ZREM,
               "item record numbers");

#define SNAP_BATCH 1024
/* What a compaction may write and sync in the call that starts it. */
#define INLINE_NS 1000000
#define INLINE_BYTES (4u * 1024 * 1024)
#define REC_SPLIT (1024 * 1024) /* a PUSH record is split past this */

struct kvs {
	jrnl_t *j;
	kvs_sink_t sink;
	const log_t *log;
	buf_t tmp;
	uint64_t live;
	int replaying;
	int snapping;   /* an incremental compaction runs (jrnl_snap_*) */
	int scan_done;  /* its scan visited every key */
	int synced;     /* ... and the new file is synced that far: commit when idle */
	uint64_t nsnap; /* keys written by the scan so far */
};

static void put_str(buf_t *b, const void *p, size_t n)
{
	/* One reserve for length and bytes: compaction snapshots call this
	 * once per list element, and it showed in RPOP profiles. */
	uint8_t *d = buf_reserve(b, 4 + n);
	be32_store(d, (uint32_t)n);
	if (n)
		memcpy(d + 4, p, n);
	buf_commit(b, 4 + n);
}

static void account(kvs_t *st)
{
	uint64_t size = jrnl_size(st->j), g = jrnl_garbage_bytes(st->j);
	uint64_t want = size > st->live ? size - st->live : 0;
	if (want > g)
		jrnl_garbage(st->j, want - g);
}

static void emit(kvs_t *st, uint8_t type)
{
	int rc = jrnl_append(st->j, type, buf_data(&st->tmp), buf_len(&st->tmp));
	if (rc < 0) {
		log_error(st->log, "keys: journal append failed: %s", sl_strerror(rc));
		if (st->sink.failed)
			st->sink.failed(st->sink.arg, rc);
	}
	buf_reset(&st->tmp);
}

static buf_t *begin(kvs_t *st, const char *key, size_t klen)
{
	buf_reset(&st->tmp);
	put_str(&st->tmp, key, klen);
	return &st->tmp;
}

static void sub_live(kvs_t *st, uint64_t freed)
{
	st->live = st->live > freed ? st->live - freed : 0;
}

static void snap_key_now(kvs_t *st, const char *key, size_t klen);

/* RENAME and COPY: the record goes to the journal, but an incremental
 * compaction's new file gets the result instead (src deleted for RENAME,
 * dst's whole value): there src may not have been written yet, and a copy
 * of the record would then move nothing into a dst the scan has passed. */
static void emit_two_key(kvs_t *st, uint8_t type, const char *src, size_t slen, const char *dst,
                         size_t dlen)
{
	if (!st->snapping) {
		emit(st, type);
		return;
	}
	jrnl_snap_mirror(st->j, 0);
	emit(st, type);
	jrnl_snap_mirror(st->j, 1);
	if (src) {
		begin(st, src, slen);
		int rc = jrnl_snap_append(st->j, R_DEL, buf_data(&st->tmp), buf_len(&st->tmp));
		(void)rc; /* a failed new file is abandoned at its commit */
		buf_reset(&st->tmp);
	}
	snap_key_now(st, dst, dlen);
}

/* --- logging ------------------------------------------------------------------ */

uint64_t kvs_push_bytes(size_t klen, int n, const size_t *lens)
{
	/* A record closes once the next value would take it to REC_SPLIT, so
	 * a record and the first value of the next one pass REC_SPLIT
	 * together: records <= 1 + 2 * total / REC_SPLIT. */
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += 4 + (uint64_t)lens[i];
	uint64_t nrec = 1 + 2 * total / REC_SPLIT;
	return total + nrec * jrnl_record_size(4 + klen + 1 + 4);
}

void kvs_log_push(kvs_t *st, const char *key, size_t klen, int tail, int n, const void *const *vals,
                  const size_t *lens)
{
	if (!st)
		return;
	int i = 0;
	while (i < n) {
		buf_t *b = begin(st, key, klen);
		buf_put_u8(b, (uint8_t)(tail != 0));
		size_t cnt_at = buf_len(b);
		buf_put_be32(b, 0);
		uint32_t cnt = 0;
		do {
			put_str(b, vals[i], lens[i]);
			st->live += kvs_cost(lens[i]);
			i++;
			cnt++;
		} while (i < n && buf_len(b) + lens[i] < REC_SPLIT);
		be32_store(buf_data(b) + cnt_at, cnt);
		emit(st, R_PUSH);
	}
	account(st);
}

void kvs_log_pop(kvs_t *st, const char *key, size_t klen, int tail, uint64_t n, uint64_t freed)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	buf_put_u8(b, (uint8_t)(tail != 0));
	buf_put_be64(b, n);
	emit(st, R_POP);
	sub_live(st, freed);
	account(st);
}

void kvs_log_lset(kvs_t *st, const char *key, size_t klen, uint64_t idx, const void *v, size_t n,
                  uint64_t freed)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	buf_put_be64(b, idx);
	put_str(b, v, n);
	emit(st, R_LSET);
	st->live += kvs_cost(n);
	sub_live(st, freed);
	account(st);
}

void kvs_log_linsert(kvs_t *st, const char *key, size_t klen, uint64_t idx, const void *v, size_t n)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	buf_put_be64(b, idx);
	put_str(b, v, n);
	emit(st, R_LINSERT);
	st->live += kvs_cost(n);
	account(st);
}

void kvs_log_lrem(kvs_t *st, const char *key, size_t klen, int64_t count, const void *v, size_t n,
                  uint64_t freed)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	buf_put_be64(b, (uint64_t)count);
	put_str(b, v, n);
	emit(st, R_LREM);
	sub_live(st, freed);
	account(st);
}

void kvs_log_ltrim(kvs_t *st, const char *key, size_t klen, int64_t start, int64_t stop,
                   uint64_t freed)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	buf_put_be64(b, (uint64_t)start);
	buf_put_be64(b, (uint64_t)stop);
	emit(st, R_LTRIM);
	sub_live(st, freed);
	account(st);
}

void kvs_log_set(kvs_t *st, const char *key, size_t klen, const void *v, size_t n,
                 int64_t expire_at_ms, uint64_t freed)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	buf_put_be64(b, (uint64_t)expire_at_ms);
	put_str(b, v, n);
	emit(st, R_SET);
	st->live += kvs_str_cost(n) + klen;
	sub_live(st, freed);
	account(st);
}

void kvs_log_del(kvs_t *st, const char *key, size_t klen, uint64_t freed)
{
	if (!st)
		return;
	begin(st, key, klen);
	emit(st, R_DEL);
	sub_live(st, freed);
	account(st);
}

void kvs_log_expire(kvs_t *st, const char *key, size_t klen, int64_t at_ms)
{
	if (!st)
		return;
	buf_put_be64(begin(st, key, klen), (uint64_t)at_ms);
	emit(st, R_EXPIRE);
	account(st);
}

void kvs_log_rename(kvs_t *st, const char *src, size_t slen, const char *dst, size_t dlen,
                    uint64_t freed)
{
	if (!st)
		return;
	put_str(begin(st, src, slen), dst, dlen);
	emit_two_key(st, R_RENAME, src, slen, dst, dlen);
	sub_live(st, freed);
	account(st);
}

void kvs_log_flush(kvs_t *st)
{
	if (!st)
		return;
	buf_reset(&st->tmp);
	emit(st, R_FLUSH);
	st->live = 0;
	account(st);
}

static int rec_per(int rec)
{
	return rec == R_HSET ? 2 : 1;
}

uint64_t kvs_items_bytes(int rec, size_t klen, size_t n, const size_t *lens)
{
	/* Split like PUSH (kvs_push_bytes): records <= 1 + 2 * total /
	 * REC_SPLIT. */
	int per = rec_per(rec);
	uint64_t total = 0;
	for (size_t i = 0; i < n * (size_t)per; i++)
		total += 4 + (uint64_t)lens[i];
	if (rec == R_ZADD)
		total += 8 * (uint64_t)n;
	uint64_t nrec = 1 + 2 * total / REC_SPLIT;
	return total + nrec * jrnl_record_size(4 + klen + 4);
}

static void put_double(buf_t *b, double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	buf_put_be64(b, bits);
}

void kvs_log_items(kvs_t *st, int rec, const char *key, size_t klen, size_t n,
                   const char *const *strs, const size_t *lens, const double *scores,
                   uint64_t added, uint64_t freed)
{
	if (!st || !n)
		return;
	int per = rec_per(rec);
	size_t i = 0;
	while (i < n) {
		buf_t *b = begin(st, key, klen);
		size_t cnt_at = buf_len(b);
		buf_put_be32(b, 0);
		uint32_t cnt = 0;
		size_t next = 0;
		do {
			if (rec == R_ZADD)
				put_double(b, scores[i]);
			for (int k = 0; k < per; k++)
				put_str(b, strs[i * (size_t)per + (size_t)k],
				        lens[i * (size_t)per + (size_t)k]);
			i++;
			cnt++;
			next = 0;
			for (int k = 0; i < n && k < per; k++)
				next += lens[i * (size_t)per + (size_t)k];
		} while (i < n && buf_len(b) + next < REC_SPLIT);
		be32_store(buf_data(b) + cnt_at, cnt);
		emit(st, (uint8_t)rec);
	}
	st->live += added;
	sub_live(st, freed);
	account(st);
}

void kvs_log_copy(kvs_t *st, const char *src, size_t slen, const char *dst, size_t dlen,
                  uint64_t added, uint64_t freed)
{
	if (!st)
		return;
	put_str(begin(st, src, slen), dst, dlen);
	emit_two_key(st, R_COPY, NULL, 0, dst, dlen);
	st->live += added;
	sub_live(st, freed);
	account(st);
}

/* --- replay ------------------------------------------------------------------- */

static const char *rd_str(rd_t *r, size_t *n)
{
	uint32_t len = rd_be32(r);
	const uint8_t *p = rd_bytes(r, len);
	*n = len;
	return (const char *)p;
}

static void drop_if_empty(kvs_t *st, const char *key, size_t klen, qlist_t *l)
{
	if (l && qlist_len(l) == 0)
		st->sink.del(st->sink.arg, key, klen);
}

static void live_delta(kvs_t *st, uint64_t before, uint64_t after)
{
	if (after >= before)
		st->live += after - before;
	else
		sub_live(st, before - after);
}

/* HSET, HDEL, SADD, SREM, ZADD, ZREM: n items applied in turn to the
 * key's value (created by the adding records; deleted when a removal
 * empties it). A key of another type skips the record. */
static void replay_items(kvs_t *st, uint8_t type, const char *key, size_t klen, rd_t *r)
{
	const kvs_sink_t *s = &st->sink;
	const kvs_enc_t *enc = s->enc;
	int add = type == R_HSET || type == R_SADD || type == R_ZADD;
	uint32_t n = rd_be32(r);
	rhash_t *h = NULL;
	rset_t *set = NULL;
	zset_t *z = NULL;
	void *obj = NULL;
	for (uint32_t i = 0; i < n && !r->err; i++) {
		double score = 0;
		if (type == R_ZADD) {
			uint64_t bits = rd_be64(r);
			memcpy(&score, &bits, sizeof score);
		}
		size_t mlen, vlen = 0;
		const char *m = rd_str(r, &mlen), *v = NULL;
		if (type == R_HSET)
			v = rd_str(r, &vlen);
		if (r->err)
			break;
		if (!obj) {
			if (type == R_HSET || type == R_HDEL)
				obj = h = s->hash(s->arg, key, klen, add);
			else if (type == R_SADD || type == R_SREM)
				obj = set = s->sset(s->arg, key, klen, add);
			else
				obj = z = s->zset(s->arg, key, klen, add);
			if (!obj)
				return; /* missing (a removal) or another type */
		}
		switch (type) {
		case R_HSET: {
			uint64_t b = h->bytes;
			rhash_set(h, m, mlen, v, vlen);
			rhash_enc(h, enc->hash_entries, enc->hash_value, mlen, vlen);
			live_delta(st, b, h->bytes);
			break;
		}
		case R_HDEL: {
			uint64_t b = h->bytes;
			rhash_del(h, m, mlen);
			live_delta(st, b, h->bytes);
			break;
		}
		case R_SADD: {
			uint64_t b = set->bytes;
			rset_add(set, m, mlen, enc->set_intset);
			live_delta(st, b, set->bytes);
			break;
		}
		case R_SREM: {
			uint64_t b = set->bytes;
			rset_del(set, m, mlen);
			live_delta(st, b, set->bytes);
			break;
		}
		case R_ZADD: {
			uint64_t b = z->bytes;
			znode_t *x = zset_find(z, m, mlen);
			if (!x) {
				zset_enc(z, enc->zset_entries, enc->zset_value, mlen);
				zset_add(z, m, mlen, score);
			} else if (x->score != score) {
				zset_update(z, x, score);
			}
			live_delta(st, b, z->bytes);
			break;
		}
		case R_ZREM: {
			uint64_t b = z->bytes;
			znode_t *x = zset_find(z, m, mlen);
			if (x)
				zset_del(z, x);
			live_delta(st, b, z->bytes);
			break;
		}
		}
	}
	size_t left = h ? rhash_len(h) : set ? rset_len(set) : z ? zset_len(z) : 1;
	if (!left)
		s->del(s->arg, key, klen);
}

static int replay(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	kvs_t *st = arg;
	const kvs_sink_t *s = &st->sink;
	rd_t r;
	if (type == R_FLUSH) {
		s->flush(s->arg);
		st->live = 0;
		return 0;
	}
	rd_init(&r, payload, len);
	size_t klen, vlen;
	const char *key = rd_str(&r, &klen);
	if (r.err)
		return SL_EPROTO;
	switch (type) {
	case R_PUSH: {
		int tail = rd_u8(&r);
		uint32_t n = rd_be32(&r);
		qlist_t *l = NULL;
		for (uint32_t i = 0; i < n && !r.err; i++) {
			const char *v = rd_str(&r, &vlen);
			if (r.err)
				break;
			if (!l)
				l = s->list(s->arg, key, klen, 1);
			if (!l)
				break;
			qlist_push(l, tail, qlv_new(v, vlen));
			st->live += kvs_cost(vlen);
		}
		break;
	}
	case R_POP: {
		int tail = rd_u8(&r);
		uint64_t n = rd_be64(&r);
		qlist_t *l = r.err ? NULL : s->list(s->arg, key, klen, 0);
		for (uint64_t i = 0; l && i < n && qlist_len(l); i++) {
			qlv_t *v = qlist_pop(l, tail);
			sub_live(st, kvs_cost(v->len));
			free(v);
		}
		drop_if_empty(st, key, klen, l);
		break;
	}
	case R_LSET:
	case R_LINSERT: {
		uint64_t idx = rd_be64(&r);
		const char *v = rd_str(&r, &vlen);
		qlist_t *l = r.err ? NULL : s->list(s->arg, key, klen, 0);
		if (!l)
			break;
		if (type == R_LINSERT) {
			qlist_insert(l, (int64_t)idx, qlv_new(v, vlen));
		} else if (idx < qlist_len(l)) {
			sub_live(st, kvs_cost(qlist_at(l, (int64_t)idx)->len));
			qlist_set(l, (int64_t)idx, qlv_new(v, vlen));
		}
		st->live += kvs_cost(vlen);
		break;
	}
	case R_LREM: {
		int64_t count = (int64_t)rd_be64(&r);
		const char *v = rd_str(&r, &vlen);
		qlist_t *l = r.err ? NULL : s->list(s->arg, key, klen, 0);
		if (!l)
			break;
		size_t k = qlist_rem(l, count, v, vlen);
		sub_live(st, k * kvs_cost(vlen));
		drop_if_empty(st, key, klen, l);
		break;
	}
	case R_LTRIM: {
		int64_t a = (int64_t)rd_be64(&r), b = (int64_t)rd_be64(&r);
		qlist_t *l = r.err ? NULL : s->list(s->arg, key, klen, 0);
		if (!l)
			break;
		uint64_t before = l->bytes + 4 * qlist_len(l);
		qlist_trim(l, a, b);
		sub_live(st, before - (l->bytes + 4 * qlist_len(l)));
		drop_if_empty(st, key, klen, l);
		break;
	}
	case R_SET: {
		int64_t at = (int64_t)rd_be64(&r);
		const char *v = rd_str(&r, &vlen);
		if (!r.err) {
			s->set(s->arg, key, klen, qlv_new(v, vlen), at);
			st->live += kvs_str_cost(vlen) + klen;
		}
		break;
	}
	case R_DEL:
		s->del(s->arg, key, klen);
		break;
	case R_EXPIRE: {
		int64_t at = (int64_t)rd_be64(&r);
		if (!r.err)
			s->expire(s->arg, key, klen, at);
		break;
	}
	case R_RENAME: {
		const char *dst = rd_str(&r, &vlen);
		if (!r.err)
			s->rename(s->arg, key, klen, dst, vlen);
		break;
	}
	case R_COPY: {
		const char *dst = rd_str(&r, &vlen);
		if (!r.err)
			s->copy(s->arg, key, klen, dst, vlen);
		break;
	}
	case R_HSET:
	case R_HDEL:
	case R_SADD:
	case R_SREM:
	case R_ZADD:
	case R_ZREM:
		replay_items(st, type, key, klen, &r);
		break;
	default:
		log_error(st->log, "keys: unknown journal record type %u", type);
		return SL_EPROTO;
	}
	if (r.err) {
		log_error(st->log, "keys: malformed journal record of type %u", type);
		return SL_EPROTO;
	}
	return 0;
}

/* --- snapshot ------------------------------------------------------------------ */

typedef struct snap {
	kvs_t *st;
	jrnl_t *j;
	int rc;
	int incr; /* into an incremental compaction's new file (replacing) */
} snap_t;

static void snap_emit(snap_t *sn, uint8_t type)
{
	buf_t *b = &sn->st->tmp;
	int rc = sn->incr ? jrnl_snap_append(sn->j, type, buf_data(b), buf_len(b))
	                  : jrnl_append(sn->j, type, buf_data(b), buf_len(b));
	if (rc < 0 && !sn->rc)
		sn->rc = rc;
	buf_reset(b);
}

/* Opens a snapshot record of items for key: returns where its count goes. */
static size_t snap_open(kvs_t *st, const char *key, size_t klen)
{
	buf_t *b = begin(st, key, klen);
	size_t at = buf_len(b);
	buf_put_be32(b, 0);
	return at;
}

/* Writes the item count at `at` and appends the record. */
static void snap_close(snap_t *sn, uint8_t type, size_t at, uint32_t cnt)
{
	be32_store(buf_data(&sn->st->tmp) + at, cnt);
	snap_emit(sn, type);
}

static void snap_items(snap_t *sn, int kind, const char *key, size_t klen, const void *val)
{
	kvs_t *st = sn->st;
	buf_t *b = &st->tmp;
	uint8_t type = kind == KVS_HASH ? R_HSET : kind == KVS_SET ? R_SADD : R_ZADD;
	size_t at = 0;
	uint32_t cnt = 0;
	size_t it = 0;
	rset_iter_t si;
	const znode_t *x = NULL;
	if (kind == KVS_SET)
		rset_iter_init(val, &si);
	else if (kind == KVS_ZSET)
		x = zset_first(val);
	for (;;) {
		const char *m = NULL, *v = NULL;
		size_t mlen = 0, vlen = 0;
		double score = 0;
		if (kind == KVS_HASH) {
			const rhent_t *e = rhash_next(val, &it);
			if (e) {
				m = e->d;
				mlen = e->flen;
				v = rhent_val(e);
				vlen = e->vlen;
			}
		} else if (kind == KVS_SET) {
			m = rset_iter_next(&si, &mlen);
		} else if (x) {
			m = x->m;
			mlen = x->mlen;
			score = x->score;
			x = zset_next(x);
		}
		if (!m)
			break;
		if (cnt && (cnt >= SNAP_BATCH || buf_len(b) + mlen + vlen >= REC_SPLIT)) {
			snap_close(sn, type, at, cnt);
			cnt = 0;
		}
		if (!cnt)
			at = snap_open(st, key, klen);
		if (kind == KVS_ZSET)
			put_double(b, score);
		put_str(b, m, mlen);
		if (kind == KVS_HASH)
			put_str(b, v, vlen);
		cnt++;
	}
	if (cnt)
		snap_close(sn, type, at, cnt);
	st->live += kind == KVS_HASH  ? ((const rhash_t *)val)->bytes
	            : kind == KVS_SET ? ((const rset_t *)val)->bytes
	                              : ((const zset_t *)val)->bytes;
}

static void snap_one(void *farg, const char *key, size_t klen, int kind, const void *val,
                     int64_t expire_at)
{
	snap_t *sn = farg;
	kvs_t *st = sn->st;
	if (sn->incr && kind != KVS_STRING && kind != KVS_OTHER) {
		/* Replaces what the new file holds for the key: copies of
		 * changes made before the scan reached it. */
		begin(st, key, klen);
		snap_emit(sn, R_DEL);
	}
	if (kind == KVS_LIST) {
		const qlist_t *l = val;
		qlist_iter_t it;
		qlist_iter_init(l, &it, 0, 0);
		qlv_t *v = qlist_iter_next(&it);
		while (v) {
			buf_t *b = begin(st, key, klen);
			buf_put_u8(b, 1);
			size_t cnt_at = buf_len(b);
			buf_put_be32(b, 0);
			uint32_t cnt = 0;
			do {
				put_str(b, v->p, v->len);
				st->live += kvs_cost(v->len);
				cnt++;
				v = qlist_iter_next(&it);
			} while (v && cnt < SNAP_BATCH && buf_len(b) + v->len < REC_SPLIT);
			be32_store(buf_data(b) + cnt_at, cnt);
			snap_emit(sn, R_PUSH);
		}
	} else if (kind == KVS_STRING) {
		const qlv_t *v = val;
		buf_t *b = begin(st, key, klen);
		buf_put_be64(b, (uint64_t)expire_at);
		put_str(b, v->p, v->len);
		st->live += kvs_str_cost(v->len) + klen;
		snap_emit(sn, R_SET);
		return;
	} else if (kind == KVS_HASH || kind == KVS_SET || kind == KVS_ZSET) {
		snap_items(sn, kind, key, klen, val);
	}
	if (expire_at || (sn->incr && kind == KVS_OTHER)) {
		buf_put_be64(begin(st, key, klen), (uint64_t)expire_at);
		snap_emit(sn, R_EXPIRE);
	}
}

static void count_live(void *farg, const char *key, size_t klen, int kind, const void *val,
                       int64_t expire_at)
{
	kvs_t *st = farg;
	(void)key;
	(void)expire_at;
	if (kind == KVS_LIST) {
		const qlist_t *l = val;
		st->live += l->bytes + 4 * qlist_len(l);
	} else if (kind == KVS_STRING) {
		st->live += kvs_str_cost(((const qlv_t *)val)->len) + klen;
	} else if (kind == KVS_HASH) {
		st->live += ((const rhash_t *)val)->bytes;
	} else if (kind == KVS_SET) {
		st->live += ((const rset_t *)val)->bytes;
	} else if (kind == KVS_ZSET) {
		st->live += ((const zset_t *)val)->bytes;
	}
}

static void end_scan(kvs_t *st);

/* --- lifecycle ------------------------------------------------------------------ */

int kvs_open(kvs_t **out, broker_t *b, const kvs_sink_t *sink)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/resp", b->data_dir);
	int mrc = sio_mkdir_p(b->io, dir);
	if (mrc < 0) {
		log_error(b->log, "keys: cannot create %s: %s", dir, sl_strerror(mrc));
		return mrc;
	}
	kvs_t *st = calloc(1, sizeof *st);
	if (!st)
		abort();
	st->sink = *sink;
	st->log = b->log;
	jrnl_opts_t o = {
	    .fsync = b->cfg->fsync,
	    .compact_ratio_pct = (int)b->cfg->journal_compact_ratio,
	    .compact_min_bytes = b->cfg->journal_compact_min_bytes,
	    .max_record = (size_t)b->cfg->proto_max_bulk_len * 2 + REC_SPLIT + 4096,
	    .clean_stop = b->clean_start,
	    /* No position of this journal is kept inside a unit. */
	    .unit_strip = 1,
	    .strict = b->cfg->strict_recovery,
	};
	st->replaying = 1;
	int rc = jrnl_open(&st->j, b->loop, b->syncer, b->log, dir, "keys", &o, replay, st);
	st->replaying = 0;
	if (rc < 0) {
		buf_deinit(&st->tmp);
		free(st);
		return rc;
	}
	/* Replay's running estimate misses deleted keys' sizes: recount the
	 * live state exactly, so the garbage reported from here on is right. */
	st->live = 0;
	st->sink.each(st->sink.arg, count_live, st);
	account(st);
	*out = st;
	return 0;
}

jrnl_t *kvs_jrnl(kvs_t *st)
{
	return st->j;
}

int kvs_replay(kvs_t *st)
{
	jrnl_snap_abort(st->j);
	end_scan(st);
	st->live = 0;
	st->replaying = 1;
	int rc = jrnl_replay(st->j, replay, st);
	st->replaying = 0;
	st->live = 0;
	st->sink.each(st->sink.arg, count_live, st);
	account(st);
	return rc;
}

void kvs_close(kvs_t *st)
{
	if (!st)
		return;
	end_scan(st);
	jrnl_close(st->j);
	buf_deinit(&st->tmp);
	free(st);
}

/* --- incremental compaction ------------------------------------------------------ */

/* Writes key's current value (or nothing if it is gone) into the new file
 * as a replacing snapshot. The live estimate is the model's, not the
 * snapshot's: it is kept as it is. */
static void snap_key_now(kvs_t *st, const char *key, size_t klen)
{
	snap_t sn = {st, st->j, 0, 1};
	uint64_t live = st->live;
	int found = st->sink.one(st->sink.arg, key, klen, snap_one, &sn);
	st->live = live;
	if (!found) {
		begin(st, key, klen);
		snap_emit(&sn, R_DEL);
	}
}

static void end_scan(kvs_t *st)
{
	if (st->snapping)
		st->sink.scan_end(st->sink.arg);
	st->snapping = st->scan_done = st->synced = 0;
	st->nsnap = 0;
}

int kvs_snapping(const kvs_t *st)
{
	return st->snapping;
}

int kvs_snap_ready(const kvs_t *st)
{
	return st->snapping && st->scan_done && st->synced;
}

int kvs_snap_step(kvs_t *st, int64_t budget_ns)
{
	if (!st->snapping)
		return 0;
	if (!jrnl_snap_active(st->j)) { /* abandoned by a cut */
		end_scan(st);
		return 0;
	}
	if (st->scan_done) {
		/* The commit waits for the background sync of the new file, so
		 * that its own fsync has little left to write. */
		st->synced = jrnl_snap_flush(st->j);
		return st->synced ? 0 : 2;
	}
	snap_t sn = {st, st->j, 0, 1};
	uint64_t live = st->live;
	int64_t until = time_mono_ns() + budget_ns;
	for (int n = 1;; n++) {
		if (!st->sink.scan_next(st->sink.arg, snap_one, &sn)) {
			st->scan_done = 1;
			break;
		}
		st->nsnap++;
		if (n % 32 == 0 && time_mono_ns() >= until)
			break;
	}
	st->live = live;
	return st->scan_done ? kvs_snap_step(st, 0) : 1;
}

int kvs_maintain(kvs_t *st)
{
	int rc = 0;
	if (!st->snapping) {
		rc = jrnl_snap_begin(st->j);
		if (rc == 0) {
			st->snapping = 1;
			st->sink.scan_begin(st->sink.arg);
			/* A small keyspace is written and committed at once, as
			 * one piece would: nothing is gained by waiting, and the
			 * changes copied meanwhile would only make the new file
			 * bigger. */
			kvs_snap_step(st, INLINE_NS);
			if (st->scan_done && jrnl_snap_size(st->j) <= INLINE_BYTES)
				st->synced = 1;
		}
	}
	if (rc == 0 && kvs_snap_ready(st)) {
		uint64_t n = st->nsnap;
		int64_t t0 = time_mono_ns();
		rc = jrnl_snap_active(st->j) ? jrnl_snap_commit(st->j) : 0;
		end_scan(st);
		if (rc == 0)
			log_info(st->log,
			         "keys: incremental compaction wrote %llu keys; commit %.1f ms",
			         (unsigned long long)n, (double)(time_mono_ns() - t0) / 1e6);
		account(st);
	}
	if (rc < 0)
		log_warn(st->log, "keys: journal compaction failed: %s", sl_strerror(rc));
	return rc;
}

/*
 * stream_store.c — the streams' state journal (see stream_store.h).
 *
 * File: <data-dir>/streams/streams.journal, framed by store/journal.c
 * ([u32 length][u32 crc32c][u8 type][payload], torn tail cut on open).
 * Payload fields, all integers big-endian:
 *   str  = u32 length, bytes
 *   id   = u64 ms, u64 seq
 *
 *   type  record         payload
 *   1     CREATE         str key                        (empty stream)
 *   2     ADD            str key, id, u32 npairs, npairs*2 str
 *   3     DEL            str key, id                    (XDEL of one entry)
 *   4     TRIM           str key, u64 n                 (first n live entries)
 *   5     DELKEY         str key
 *   6     META           str key, id last, u64 entries_added, id max_deleted
 *   7     GROUP          str key, str group, id last_delivered, i64 entries_read
 *   8     GROUPDEL       str key, str group
 *   9     CONSUMER       str key, str group, str consumer, i64 seen_time_ms
 *   10    CONSUMERDEL    str key, str group, str consumer
 *   11    NACK           str key, str group, str consumer, id, i64 delivery_ms,
 *                        u64 delivery_count             (create or overwrite)
 *   12    ACK            str key, str group, id
 *
 * Every record states a result, not a command, so replay is plain
 * application through stream.h and needs no clock or randomness. Records
 * are idempotent except TRIM; compaction therefore only runs between
 * commands (sstore_maintain), when the model and the journal agree.
 * Recovery rule: replay everything the journal returns (it has already cut
 * a torn tail); a record naming a missing key, group or consumer is
 * skipped (it can only follow a deletion that made it moot).
 * Compaction snapshot: CREATE, ADD per live entry, META, then per group
 * GROUP, CONSUMER per consumer, NACK per pending entry.
 *
 * Memory: entries are kept in RAM by the model; this file is their durable
 * copy. Loop thread only.
 */
#include "broker/stream_store.h"

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"
#include "store/journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	R_CREATE = 1,
	R_ADD,
	R_DEL,
	R_TRIM,
	R_DELKEY,
	R_META,
	R_GROUP,
	R_GROUPDEL,
	R_CONSUMER,
	R_CONSUMERDEL,
	R_NACK,
	R_ACK,
};

struct sstore {
	jrnl_t *j;
	sstore_sink_t sink;
	const log_t *log;
	buf_t tmp;
	uint64_t entry_bytes, entries; /* running size of ADD records, for garbage */
};

static void put_str(buf_t *b, const void *p, size_t n)
{
	buf_put_be32(b, (uint32_t)n);
	buf_append(b, p, n);
}

static void put_id(buf_t *b, sid_t id)
{
	buf_put_be64(b, id.ms);
	buf_put_be64(b, id.seq);
}

static void emit(sstore_t *st, uint8_t type)
{
	int rc = jrnl_append(st->j, type, buf_data(&st->tmp), buf_len(&st->tmp));
	if (rc < 0)
		log_error(st->log, "streams: journal append failed: %s", sl_strerror(rc));
	buf_reset(&st->tmp);
}

static buf_t *begin(sstore_t *st, const char *key, size_t klen)
{
	buf_reset(&st->tmp);
	put_str(&st->tmp, key, klen);
	return &st->tmp;
}

/* --- logging ------------------------------------------------------------------ */

void sstore_log_create(sstore_t *st, const char *key, size_t klen)
{
	if (!st)
		return;
	begin(st, key, klen);
	emit(st, R_CREATE);
}

static void put_entry(buf_t *b, const sentry_t *e)
{
	put_id(b, e->id);
	buf_put_be32(b, e->npairs);
	const uint8_t *p = e->data;
	for (uint32_t i = 0; i < 2 * e->npairs; i++) {
		const uint8_t *s;
		uint32_t n;
		p = sentry_field(p, &s, &n);
		put_str(b, s, n);
	}
}

void sstore_log_add(sstore_t *st, const char *key, size_t klen, const sentry_t *e)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	put_entry(b, e);
	st->entry_bytes += jrnl_record_size(buf_len(b));
	st->entries++;
	emit(st, R_ADD);
}

static uint64_t avg_entry(const sstore_t *st)
{
	return st->entries ? st->entry_bytes / st->entries : 64;
}

void sstore_log_del(sstore_t *st, const char *key, size_t klen, sid_t id)
{
	if (!st)
		return;
	put_id(begin(st, key, klen), id);
	jrnl_garbage(st->j, avg_entry(st) + jrnl_record_size(buf_len(&st->tmp)));
	emit(st, R_DEL);
}

void sstore_log_trim(sstore_t *st, const char *key, size_t klen, uint64_t n)
{
	if (!st)
		return;
	buf_put_be64(begin(st, key, klen), n);
	jrnl_garbage(st->j, n * avg_entry(st) + jrnl_record_size(buf_len(&st->tmp)));
	emit(st, R_TRIM);
}

void sstore_log_delkey(sstore_t *st, const char *key, size_t klen)
{
	if (!st)
		return;
	begin(st, key, klen);
	emit(st, R_DELKEY);
	/* The whole key's history is garbage; compaction finds out how much. */
	jrnl_garbage(st->j, jrnl_size(st->j) / 4 + 1);
}

void sstore_log_meta(sstore_t *st, const char *key, size_t klen, const stream_t *s)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	put_id(b, s->last_id);
	buf_put_be64(b, s->entries_added);
	put_id(b, s->max_deleted_id);
	emit(st, R_META);
}

void sstore_log_group(sstore_t *st, const char *key, size_t klen, const sgroup_t *g)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	put_str(b, g->name, g->nlen);
	put_id(b, g->last_id);
	buf_put_be64(b, (uint64_t)g->entries_read);
	emit(st, R_GROUP);
}

void sstore_log_group_del(sstore_t *st, const char *key, size_t klen, const sgroup_t *g)
{
	if (!st)
		return;
	put_str(begin(st, key, klen), g->name, g->nlen);
	jrnl_garbage(st->j, g->pel.n * 64);
	emit(st, R_GROUPDEL);
}

void sstore_log_consumer(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
			 const sconsumer_t *c)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	put_str(b, g->name, g->nlen);
	put_str(b, c->name, c->nlen);
	buf_put_be64(b, (uint64_t)c->seen_time);
	emit(st, R_CONSUMER);
	/* A consumer record supersedes the previous one of that consumer. */
	jrnl_garbage(st->j, jrnl_record_size(buf_len(b)));
}

void sstore_log_consumer_del(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
			     const sconsumer_t *c)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	put_str(b, g->name, g->nlen);
	put_str(b, c->name, c->nlen);
	jrnl_garbage(st->j, c->pel.n * 64);
	emit(st, R_CONSUMERDEL);
}

void sstore_log_nack(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
		     const snack_t *n)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	put_str(b, g->name, g->nlen);
	put_str(b, n->consumer->name, n->consumer->nlen);
	put_id(b, n->id);
	buf_put_be64(b, (uint64_t)n->delivery_time);
	buf_put_be64(b, n->delivery_count);
	emit(st, R_NACK);
}

void sstore_log_ack(sstore_t *st, const char *key, size_t klen, const sgroup_t *g, sid_t id)
{
	if (!st)
		return;
	buf_t *b = begin(st, key, klen);
	put_str(b, g->name, g->nlen);
	put_id(b, id);
	/* The ack and the nack record(s) it cancels are all dead now. */
	jrnl_garbage(st->j, 2 * jrnl_record_size(buf_len(b)) + 40);
	emit(st, R_ACK);
}

/* --- replay -------------------------------------------------------------------- */

static const uint8_t *get_str(rd_t *r, uint32_t *n)
{
	*n = rd_be32(r);
	return rd_bytes(r, *n);
}

static sid_t get_id(rd_t *r)
{
	sid_t id;
	id.ms = rd_be64(r);
	id.seq = rd_be64(r);
	return id;
}

static int replay_add(stream_t *s, rd_t *r)
{
	sid_t id = get_id(r);
	uint32_t npairs = rd_be32(r);
	if (r->err || npairs > rd_left(r) / 8)
		return SL_ECORRUPT;
	buf_t packed = BUF_INIT;
	for (uint32_t i = 0; i < 2 * npairs; i++) {
		uint32_t n;
		const uint8_t *p = get_str(r, &n);
		if (!p)
			break;
		uint32_t ln = n;
		buf_append(&packed, &ln, 4);
		buf_append(&packed, p, n);
	}
	int rc = 0;
	if (r->err)
		rc = SL_ECORRUPT;
	else if (sid_cmp(id, s->last_id) > 0 || (s->entries_added == 0 && sid_is_zero(s->last_id)))
		stream_append(s, id, npairs, buf_data(&packed), buf_len(&packed));
	buf_deinit(&packed);
	return rc;
}

static int replay(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	sstore_t *st = arg;
	rd_t r;
	rd_init(&r, payload, len);
	uint32_t klen;
	const char *key = (const char *)get_str(&r, &klen);
	if (!key)
		return SL_ECORRUPT;
	if (type == R_DELKEY) {
		st->sink.del(st->sink.arg, key, klen);
		return 0;
	}
	stream_t *s = st->sink.get(st->sink.arg, key, klen, type == R_CREATE || type == R_ADD);
	if (!s)
		return 0;
	switch (type) {
	case R_CREATE:
		return 0;
	case R_ADD:
		return replay_add(s, &r);
	case R_DEL: {
		sid_t id = get_id(&r);
		if (r.err)
			return SL_ECORRUPT;
		stream_delete(s, id);
		return 0;
	}
	case R_TRIM: {
		uint64_t n = rd_be64(&r);
		if (r.err)
			return SL_ECORRUPT;
		int64_t keep = (int64_t)(s->length > n ? s->length - n : 0);
		stream_trim_maxlen(s, keep, 0, 0);
		return 0;
	}
	case R_META: {
		sid_t last = get_id(&r);
		uint64_t added = rd_be64(&r);
		sid_t maxdel = get_id(&r);
		if (r.err)
			return SL_ECORRUPT;
		s->last_id = last;
		s->entries_added = added;
		s->max_deleted_id = maxdel;
		return 0;
	}
	default:
		break;
	}
	uint32_t glen;
	const char *gname = (const char *)get_str(&r, &glen);
	if (!gname)
		return SL_ECORRUPT;
	sgroup_t *g = stream_group_find(s, gname, glen);
	if (type == R_GROUP) {
		sid_t last = get_id(&r);
		int64_t er = (int64_t)rd_be64(&r);
		if (r.err)
			return SL_ECORRUPT;
		if (!g)
			g = stream_group_create(s, gname, glen, last, er);
		g->last_id = last;
		g->entries_read = er;
		return 0;
	}
	if (!g)
		return 0;
	switch (type) {
	case R_GROUPDEL:
		stream_group_destroy(s, g);
		return 0;
	case R_ACK: {
		sid_t id = get_id(&r);
		if (r.err)
			return SL_ECORRUPT;
		stream_pel_ack(g, id);
		return 0;
	}
	default:
		break;
	}
	uint32_t clen;
	const char *cname = (const char *)get_str(&r, &clen);
	if (!cname)
		return SL_ECORRUPT;
	sconsumer_t *c = stream_consumer_find(g, cname, clen);
	switch (type) {
	case R_CONSUMER: {
		int64_t seen = (int64_t)rd_be64(&r);
		if (r.err)
			return SL_ECORRUPT;
		if (!c)
			c = stream_consumer_create(g, cname, clen, seen);
		c->seen_time = seen;
		return 0;
	}
	case R_CONSUMERDEL:
		if (c)
			stream_consumer_delete(g, c);
		return 0;
	case R_NACK: {
		sid_t id = get_id(&r);
		int64_t t = (int64_t)rd_be64(&r);
		uint64_t cnt = rd_be64(&r);
		if (r.err)
			return SL_ECORRUPT;
		if (!c)
			c = stream_consumer_create(g, cname, clen, t);
		snack_t *n = spel_find(&g->pel, id);
		if (n)
			stream_pel_move(n, c);
		else
			n = stream_pel_add(g, c, id, t, cnt);
		n->delivery_time = t;
		n->delivery_count = cnt;
		return 0;
	}
	default:
		log_warn(st->log, "streams: unknown journal record type %u skipped", type);
		return 0;
	}
}

/* --- snapshot ------------------------------------------------------------------ */

typedef struct snap_ctx {
	sstore_t *st;
	jrnl_t *j;
	int rc;
} snap_ctx_t;

static void snap_emit(snap_ctx_t *x, uint8_t type)
{
	int rc = jrnl_append(x->j, type, buf_data(&x->st->tmp), buf_len(&x->st->tmp));
	if (rc < 0 && !x->rc)
		x->rc = rc;
	buf_reset(&x->st->tmp);
}

static void snap_stream(void *arg, const char *key, size_t klen, stream_t *s)
{
	snap_ctx_t *x = arg;
	sstore_t *st = x->st;
	begin(st, key, klen);
	snap_emit(x, R_CREATE);
	siter_t it;
	stream_iter(&it, s, SID_MIN, SID_MAX, 0);
	sentry_t *e;
	st->entry_bytes = st->entries = 0;
	while ((e = stream_iter_next(&it))) {
		buf_t *b = begin(st, key, klen);
		put_entry(b, e);
		st->entry_bytes += jrnl_record_size(buf_len(b));
		st->entries++;
		snap_emit(x, R_ADD);
	}
	buf_t *b = begin(st, key, klen);
	put_id(b, s->last_id);
	buf_put_be64(b, s->entries_added);
	put_id(b, s->max_deleted_id);
	snap_emit(x, R_META);
	size_t ng;
	sgroup_t **gs = stream_groups_sorted(s, &ng);
	for (size_t i = 0; i < ng; i++) {
		sgroup_t *g = gs[i];
		b = begin(st, key, klen);
		put_str(b, g->name, g->nlen);
		put_id(b, g->last_id);
		buf_put_be64(b, (uint64_t)g->entries_read);
		snap_emit(x, R_GROUP);
		size_t nc;
		sconsumer_t **cs = stream_consumers_sorted(g, &nc);
		for (size_t c = 0; c < nc; c++) {
			b = begin(st, key, klen);
			put_str(b, g->name, g->nlen);
			put_str(b, cs[c]->name, cs[c]->nlen);
			buf_put_be64(b, (uint64_t)cs[c]->seen_time);
			snap_emit(x, R_CONSUMER);
		}
		free(cs);
		for (size_t k = 0; k < g->pel.n; k++) {
			snack_t *n = g->pel.v[k];
			b = begin(st, key, klen);
			put_str(b, g->name, g->nlen);
			put_str(b, n->consumer->name, n->consumer->nlen);
			put_id(b, n->id);
			buf_put_be64(b, (uint64_t)n->delivery_time);
			buf_put_be64(b, n->delivery_count);
			snap_emit(x, R_NACK);
		}
	}
	free(gs);
}

static int snapshot(void *arg, jrnl_t *j)
{
	sstore_t *st = arg;
	snap_ctx_t x = { st, j, 0 };
	st->sink.each(st->sink.arg, snap_stream, &x);
	return x.rc;
}

/* --- lifecycle ------------------------------------------------------------------- */

int sstore_open(sstore_t **out, broker_t *b, const sstore_sink_t *sink)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/streams", b->data_dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_error(b->log, "streams: cannot create %s: %s", dir, strerror(errno));
		return sl_from_errno(errno);
	}
	sstore_t *st = calloc(1, sizeof *st);
	if (!st)
		abort();
	st->sink = *sink;
	st->log = b->log;
	jrnl_opts_t o = {
		.fsync = b->cfg->fsync,
		.compact_ratio_pct = (int)b->cfg->journal_compact_ratio,
		.compact_min_bytes = b->cfg->journal_compact_min_bytes,
		.max_record = (size_t)b->cfg->proto_max_bulk_len * 2 + 4096,
	};
	int rc = jrnl_open(&st->j, b->loop, b->syncer, b->log, dir, "streams", &o, replay, st);
	if (rc < 0) {
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

void sstore_close(sstore_t *st)
{
	if (!st)
		return;
	jrnl_close(st->j);
	buf_deinit(&st->tmp);
	free(st);
}

int sstore_sync_required(const sstore_t *st) { return st && jrnl_sync_required(st->j); }

void sstore_when_durable(sstore_t *st, void (*fn)(void *arg, int status), void *arg)
{
	jrnl_when_durable(st->j, fn, arg);
}

void sstore_maintain(sstore_t *st)
{
	if (!st)
		return;
	int rc = jrnl_maybe_compact(st->j, snapshot, st);
	if (rc < 0)
		log_warn(st->log, "streams: journal compaction failed: %s", sl_strerror(rc));
}

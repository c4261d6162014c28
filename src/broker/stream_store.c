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
 *   1     CREATE         str key, u64 number            (log: streams/<number>/)
 *   2     (reserved)
 *   3     DEL            str key, id                    (XDEL of one entry)
 *   4     TRIM           str key, u64 pos               (entries below pos gone)
 *   5     DELKEY         str key
 *   6     META           str key, id last, i64 added_adjust, id max_deleted
 *                        (entries-added = log end offset + added_adjust)
 *   7     GROUP          str key, str group, id last_delivered, i64 entries_read
 *   8     GROUPDEL       str key, str group
 *   9     CONSUMER       str key, str group, str consumer, i64 seen_time_ms
 *   10    CONSUMERDEL    str key, str group, str consumer
 *   11    NACK           str key, str group, str consumer, id, i64 delivery_ms,
 *                        u64 delivery_count             (create or overwrite)
 *   12    ACK            str key, str group, id
 *   13    DELRANGE       str key, u64 from, u64 to      (positions [from,to) gone)
 *   14    FLUSH          (empty)                        (every stream gone)
 *   15    UNITLOG        u64 number, u64 pos            (a unit appends from pos)
 *   16    UNITEND        u64 number, u64 end, u64 unit  (... and up to end)
 *
 * Entries themselves are records in the stream's own partition log
 * (<data-dir>/streams/<number>/, store/plog.h): record key = ID (u64 ms,
 * u64 seq) + u32 npairs, value = the packed fields ([u32 len][bytes]...),
 * one record per XADD; the record's offset is the entry's position. The
 * RAM index keeps only ID and position per entry; payloads are read back
 * from the log when replied.
 *
 * Each log's directory has a sidecar file <data-dir>/streams/<number>.key
 * naming the key it was created for (written with the CREATE record, not
 * synced on its own; removed with the log):
 *   off 0  4  magic "SLSK"
 *       4  4  u32 key length K
 *       8  K  the key
 *    8+K   4  u32 CRC-32C of bytes [0, 8+K)
 * It only matters when the journal lost the CREATE (below).
 *
 * Every journal record states a result, not a command, so replay is plain
 * application through stream.h and needs no clock. CREATE opens the log
 * (through the owner, which may already hold it open) and loads the index
 * of every entry it still holds; TRIM, DEL and DELRANGE then remove what
 * was trimmed or deleted (idempotent: by position or ID). A log is only
 * removed, and its head only released after a trim, once the record that
 * allows it is durable (the owner's rule): a DELKEY or TRIM whose sync
 * failed is cut back, and the entries must still be there. Compaction runs
 * only while the owner's durability domain is idle (sstore_maintain).
 * Recovery rule: replay everything the journal returns (it has already cut
 * a torn tail; each log recovers its own tail); a record naming a missing
 * key, group or consumer is skipped (a later deletion made it moot). Then
 * every log directory no stream refers to is settled; metadata damage never
 * deletes entries:
 *   - the journal ended cleanly (jrnl_open_damaged() is 0) and a CREATE of
 *     its number was replayed: its deletion is journaled (DELKEY, FLUSH, a
 *     later CREATE of the key) and its removal was interrupted: removed;
 *   - the log never held an entry: a creation whose CREATE never became
 *     durable (or was lost with a damaged journal): removed, as there is
 *     nothing in it to keep;
 *   - otherwise it is adopted, journaled with a new CREATE and logged at
 *     warn: as the key its .key file names, or, when that name is unknown
 *     or taken, as "sluice:recovered:<number>" (to RENAME). Its groups and
 *     deletions were in the lost records and do not come back.
 *   - strict.recovery refuses the adoption instead, naming the directory.
 * Compaction snapshot: CREATE, TRIM, DELRANGE per gap, META, then per
 * group GROUP, CONSUMER per consumer, NACK per pending entry.
 *
 * Units (store/journal.h: a script, a transaction, a command that writes
 * several records, possibly in the keys journal too): their records here
 * replay all or none, but their entries are in the logs, which replay
 * does not gate. So before a unit's first entry goes to a log, an
 * UNITLOG record names the log and the position the unit's entries start
 * at, and is written (not synced) at once; the unit's entries are written
 * to the logs before its COMMIT is appended. After a kill, then, a log
 * holds entries of a unit only if its UNITLOG is on disk, and a unit whose
 * COMMIT made it has all its entries in the logs. When the journal drops
 * a unit (its COMMIT never written, or its part in the keys journal
 * missing), the UNITLOG records it drops come to on_discard, which cuts
 * each log back to the position named (or removes a log the unit
 * created), and the owner rebuilds its model from the files. Replay
 * proper skips UNITLOG. Before its COMMIT, a unit also writes one UNITEND
 * per log: where its entries there end. The logs are not synced before
 * the COMMIT, so after a power loss (not a kill) a COMMIT may be on disk
 * and the entries not: at open, the first unit whose UNITEND points past
 * the end of a log that still has its stream once everything was replayed
 * (sstore_unit_shortfall) is dropped with everything after it (nothing of
 * it was acknowledged: replies wait for the logs' syncs too).
 *
 * Durability: the owner's domain (broker/dur.h) syncs the journal and the
 * logs and decides when replies go. Loop thread only.
 */
#include "broker/stream_store.h"

#include "core/buf.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/rd.h"
#include "store/journal.h"
#include "store/sio.h"
#include "store/plog.h"

#include <dirent.h>
#include <inttypes.h>

#include <errno.h>
#include <fcntl.h>
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
	R_DELRANGE,
	R_FLUSH,
	R_UNITLOG,
	R_UNITEND,
};

struct sstore {
	broker_t *b;
	char dir[4096];
	plog_opts_t popts;
	uint64_t next_num;
	jrnl_t *j;
	sstore_sink_t sink;
	const log_t *log;
	buf_t tmp;
	map_t created;         /* open: numbers of every CREATE replayed */
	int opening;           /* in sstore_open (not a reload's replay) */
	uint64_t unit_cuts;    /* logs cut back for dropped units */
	map_t numkeys;         /* open: log number → its CREATE's key (keycopy_t) */
	uint64_t (*shorts)[2]; /* open: {log, unit} of UNITENDs past the log's end */
	size_t nshort, short_cap;
};

typedef struct keycopy {
	size_t len;
	char key[];
} keycopy_t;

static void numkeys_clear(sstore_t *st)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&st->numkeys, &it, &k, &kl, &v))
		free(v);
	map_deinit(&st->numkeys);
	map_init(&st->numkeys);
}

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
	if (rc < 0) {
		log_error(st->log, "streams: journal append failed: %s", sl_strerror(rc));
		if (st->sink.failed)
			st->sink.failed(st->sink.arg, rc);
	}
	buf_reset(&st->tmp);
}

static buf_t *begin(sstore_t *st, const char *key, size_t klen)
{
	buf_reset(&st->tmp);
	put_str(&st->tmp, key, klen);
	return &st->tmp;
}

/* --- logging ------------------------------------------------------------------ */

int sstore_open_log(sstore_t *st, uint64_t num, plog_t **out)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%" PRIu64, st->dir, num);
	int rc = plog_open(out, path, &st->popts, st->b->syncer, st->log, st->b->clean_start);
	if (rc < 0)
		log_error(st->log, "streams: cannot open %s: %s", path, sl_strerror(rc));
	return rc;
}

uint64_t sstore_new_num(sstore_t *st)
{
	return st->next_num++;
}

/* The path of log num's key file. */
static void key_path(const broker_t *b, uint64_t num, char *out, size_t n)
{
	snprintf(out, n, "%s/streams/%" PRIu64 ".key", b->data_dir, num);
}

/* Writes log num's key file (best effort: it only helps after damage). */
static void write_key_file(sstore_t *st, uint64_t num, const char *key, size_t klen)
{
	char path[4200];
	key_path(st->b, num, path, sizeof path);
	buf_t b = BUF_INIT;
	buf_append(&b, "SLSK", 4);
	buf_put_be32(&b, (uint32_t)klen);
	buf_append(&b, key, klen);
	buf_put_be32(&b, crc32c(0, buf_data(&b), buf_len(&b)));
	sio_t *io = st->b->io;
	int fd = sio_open(io, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || sio_pwrite_all(io, fd, buf_data(&b), buf_len(&b), 0, NULL) < 0)
		log_warn(st->log, "streams: cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		sio_close(io, fd);
	buf_deinit(&b);
}

/* Reads log num's key file into an owned string; NULL when absent or
 * damaged. */
static char *read_key_file(const sstore_t *st, uint64_t num, size_t *klen)
{
	char path[4200];
	key_path(st->b, num, path, sizeof path);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t h[8];
	char *key = NULL;
	if (fread(h, 1, 8, f) == 8 && memcmp(h, "SLSK", 4) == 0 && be32_load(h + 4) <= 65536) {
		uint32_t n = be32_load(h + 4);
		uint8_t *d = malloc((size_t)n + 8 + 4 + 1);
		if (!d)
			abort();
		memcpy(d, h, 8);
		if (fread(d + 8, 1, (size_t)n + 4, f) == (size_t)n + 4 &&
		    crc32c(0, d, (size_t)n + 8) == be32_load(d + 8 + n)) {
			key = malloc((size_t)n + 1);
			if (!key)
				abort();
			memcpy(key, d + 8, n);
			key[n] = 0;
			*klen = n;
		}
		free(d);
	}
	fclose(f);
	return key;
}

void sstore_log_create(sstore_t *st, const char *key, size_t klen, uint64_t num)
{
	buf_put_be64(begin(st, key, klen), num);
	emit(st, R_CREATE);
	write_key_file(st, num, key, klen);
}

int sstore_destroy_log(broker_t *b, uint64_t num, plog_t *p)
{
	char path[4200];
	key_path(b, num, path, sizeof path);
	/* The name first: a log left without it after a crash is adopted
	 * under a recovery name rather than resurrected as its key. */
	if (sio_unlink(b->io, path) < 0 && errno != ENOENT)
		log_warn(b->log, "streams: cannot remove %s: %s", path, strerror(errno));
	return plog_destroy(p);
}

void sstore_log_del(sstore_t *st, const char *key, size_t klen, sid_t id)
{
	put_id(begin(st, key, klen), id);
	/* Not reported as garbage: a DEL stays meaningful until a trim passes
	 * the entry, and a snapshot rewrites deletions as position ranges. */
	emit(st, R_DEL);
}

static uint64_t first_pos(const stream_t *s)
{
	sentry_t *f = stream_first(s);
	return f ? f->pos : s->next_pos;
}

void sstore_log_trim(sstore_t *st, const char *key, size_t klen, const stream_t *s)
{
	buf_put_be64(begin(st, key, klen), first_pos(s));
	/* Superseded TRIM and DEL records are garbage now. */
	jrnl_garbage(st->j, jrnl_record_size(buf_len(&st->tmp)));
	emit(st, R_TRIM);
}

void sstore_log_delkey(sstore_t *st, const char *key, size_t klen)
{
	begin(st, key, klen);
	emit(st, R_DELKEY);
	/* The whole key's history is garbage; compaction finds out how much. */
	jrnl_garbage(st->j, jrnl_size(st->j) / 4 + 1);
}

void sstore_log_flush(sstore_t *st)
{
	buf_reset(&st->tmp);
	emit(st, R_FLUSH);
	jrnl_garbage(st->j, jrnl_size(st->j));
}

void sstore_log_meta(sstore_t *st, const char *key, size_t klen, const stream_t *s)
{
	buf_t *b = begin(st, key, klen);
	put_id(b, s->last_id);
	buf_put_be64(b, s->entries_added - s->next_pos);
	put_id(b, s->max_deleted_id);
	emit(st, R_META);
}

void sstore_log_group(sstore_t *st, const char *key, size_t klen, const sgroup_t *g)
{
	buf_t *b = begin(st, key, klen);
	put_str(b, g->name, g->nlen);
	put_id(b, g->last_id);
	buf_put_be64(b, (uint64_t)g->entries_read);
	emit(st, R_GROUP);
}

void sstore_log_group_del(sstore_t *st, const char *key, size_t klen, const sgroup_t *g)
{
	put_str(begin(st, key, klen), g->name, g->nlen);
	jrnl_garbage(st->j, g->pel.n * 64);
	emit(st, R_GROUPDEL);
}

void sstore_log_consumer(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
                         const sconsumer_t *c)
{
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
	buf_t *b = begin(st, key, klen);
	put_str(b, g->name, g->nlen);
	put_str(b, c->name, c->nlen);
	jrnl_garbage(st->j, c->pel.n * 64);
	emit(st, R_CONSUMERDEL);
}

void sstore_log_nack(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
                     const snack_t *n)
{
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

static int unit_end(sstore_t *st, const uint8_t *payload, size_t len);

static int replay(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	sstore_t *st = arg;
	rd_t r;
	rd_init(&r, payload, len);
	if (type == R_FLUSH) {
		st->sink.flush(st->sink.arg);
		return 0;
	}
	if (type == R_UNITLOG)
		return 0; /* only a dropped one matters (on_discard) */
	if (type == R_UNITEND)
		return unit_end(st, payload, len);
	uint32_t klen;
	const char *key = (const char *)get_str(&r, &klen);
	if (!key)
		return SL_ECORRUPT;
	if (type == R_DELKEY) {
		st->sink.del(st->sink.arg, key, klen);
		return 0;
	}
	if (type == R_CREATE) {
		uint64_t num = rd_be64(&r);
		if (r.err)
			return SL_ECORRUPT;
		/* A CREATE for a key that exists can only come from a journal
		 * written before its DELKEY was; start over from this one. */
		st->sink.del(st->sink.arg, key, klen);
		if (st->opening) {
			map_put(&st->created, &num, sizeof num, st);
			keycopy_t *kc = malloc(sizeof *kc + klen);
			if (!kc)
				abort();
			kc->len = klen;
			memcpy(kc->key, key, klen);
			free(map_put(&st->numkeys, &num, sizeof num, kc));
		}
		stream_t *ns = st->sink.get(st->sink.arg, key, klen, 1);
		if (num >= st->next_num)
			st->next_num = num + 1;
		int rc = st->sink.attach(st->sink.arg, st, ns, num);
		if (rc == 0 && ns->lost && st->opening)
			log_warn(st->log,
			         "streams: stream '%.*s' (log %s/%" PRIu64 "): %" PRIu64
			         " entries are damaged and not served (the segment's warning says "
			         "where); %" PRIu64 " are",
			         (int)(klen > 200 ? 200 : klen), key, st->dir, num, ns->lost,
			         ns->length);
		return rc;
	}
	stream_t *s = st->sink.get(st->sink.arg, key, klen, 0);
	if (!s)
		return 0;
	switch (type) {
	case R_DEL: {
		sid_t id = get_id(&r);
		if (r.err)
			return SL_ECORRUPT;
		stream_delete(s, id);
		return 0;
	}
	case R_TRIM: {
		uint64_t pos = rd_be64(&r);
		if (r.err)
			return SL_ECORRUPT;
		stream_drop_below(s, pos);
		return 0;
	}
	case R_DELRANGE: {
		uint64_t from = rd_be64(&r), to = rd_be64(&r);
		if (r.err)
			return SL_ECORRUPT;
		stream_drop_range(s, from, to);
		return 0;
	}
	case R_META: {
		sid_t last = get_id(&r);
		uint64_t adjust = rd_be64(&r);
		sid_t maxdel = get_id(&r);
		if (r.err)
			return SL_ECORRUPT;
		/* Entries appended after this record are in the log already. */
		if (sid_cmp(last, s->last_id) > 0)
			s->last_id = last;
		s->entries_added = s->next_pos + adjust;
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

/* --- units ---------------------------------------------------------------------- */

void sstore_log_unitmark(sstore_t *st, uint64_t num, uint64_t pos)
{
	buf_reset(&st->tmp);
	buf_put_be64(&st->tmp, num);
	buf_put_be64(&st->tmp, pos);
	emit(st, R_UNITLOG);
	/* On disk before any entry of the unit can be (see the top). */
	jrnl_write_now(st->j);
}

void sstore_log_unitend(sstore_t *st, uint64_t num, uint64_t end, uint64_t unit)
{
	buf_reset(&st->tmp);
	buf_put_be64(&st->tmp, num);
	buf_put_be64(&st->tmp, end);
	buf_put_be64(&st->tmp, unit);
	emit(st, R_UNITEND);
}

/* Replay of an UNITEND at open: the unit's entries must be in the log
 * (see the top); a shortfall is remembered and judged once every record
 * was replayed (sstore_unit_shortfall). */
static int unit_end(sstore_t *st, const uint8_t *payload, size_t len)
{
	rd_t r;
	rd_init(&r, payload, len);
	uint64_t num = rd_be64(&r), end = rd_be64(&r), unit = rd_be64(&r);
	if (r.err)
		return SL_ECORRUPT;
	keycopy_t *kc = st->opening ? map_get(&st->numkeys, &num, sizeof num) : NULL;
	stream_t *s = kc ? st->sink.get(st->sink.arg, kc->key, kc->len, 0) : NULL;
	if (!s || s->num != num || !s->log || plog_end_offset(s->log) >= (int64_t)end)
		return 0;
	if (st->nshort == st->short_cap) {
		st->short_cap = st->short_cap ? 2 * st->short_cap : 4;
		st->shorts = realloc(st->shorts, st->short_cap * sizeof *st->shorts);
		if (!st->shorts)
			abort();
	}
	st->shorts[st->nshort][0] = num;
	st->shorts[st->nshort++][1] = unit;
	return 0;
}

typedef struct live_num {
	uint64_t num;
	int live;
} live_num_t;

static void is_live(void *arg, const char *key, size_t klen, stream_t *s)
{
	(void)key;
	(void)klen;
	live_num_t *l = arg;
	l->live |= s->num == l->num && s->log;
}

uint64_t sstore_unit_shortfall(sstore_t *st)
{
	uint64_t unit = 0;
	for (size_t i = 0; i < st->nshort && !unit; i++) {
		/* A log whose stream was deleted later may be half removed (its
		 * removal interrupted): only a live stream's log is evidence. */
		live_num_t l = {st->shorts[i][0], 0};
		st->sink.each(st->sink.arg, is_live, &l);
		if (l.live)
			unit = st->shorts[i][1];
	}
	st->nshort = 0;
	return unit;
}

typedef struct find_num {
	uint64_t num;
	stream_t *s;
} find_num_t;

static void match_num(void *arg, const char *key, size_t klen, stream_t *s)
{
	(void)key;
	(void)klen;
	find_num_t *f = arg;
	if (s->num == f->num && s->log)
		f->s = s;
}

/* A record of a unit the journal drops: an UNITLOG cuts its log back to
 * where the unit's entries began. A log the unit created (position 0,
 * held by no stream: its CREATE is dropped too) is removed, so that the
 * adoption of logs no stream names does not bring its entries back. */
static int on_discard(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	sstore_t *st = arg;
	if (type != R_UNITLOG)
		return 0;
	rd_t r;
	rd_init(&r, payload, len);
	find_num_t f = {rd_be64(&r), NULL};
	uint64_t pos = rd_be64(&r);
	if (r.err)
		return SL_ECORRUPT;
	st->sink.each(st->sink.arg, match_num, &f);
	char path[4200];
	snprintf(path, sizeof path, "%s/%" PRIu64, st->dir, f.num);
	struct stat sb;
	int rc = 0;
	if (f.s) {
		rc = plog_cut(f.s->log, (int64_t)pos);
	} else if (stat(path, &sb) == 0) {
		plog_t *p;
		rc = sstore_open_log(st, f.num, &p);
		if (rc == 0 && pos == 0)
			rc = sstore_destroy_log(st->b, f.num, p);
		else if (rc == 0) {
			rc = plog_cut(p, (int64_t)pos);
			plog_close(p);
		}
	}
	if (rc < 0) {
		log_error(st->log,
		          "streams: cannot cut log %s back to %" PRIu64 " for a dropped unit: %s",
		          path, pos, sl_strerror(rc));
		return rc;
	}
	log_warn(st->log,
	         "streams: log %s cut back to %" PRIu64
	         ": its entries after that were a dropped unit's",
	         path, pos);
	st->unit_cuts++;
	return 0;
}

int sstore_unit_cut_from(sstore_t *st, uint64_t unit)
{
	return jrnl_unit_cut_from(st->j, unit, 0, on_discard, st);
}

int sstore_unit_cut_after(sstore_t *st, uint64_t limit, int keep)
{
	return jrnl_unit_cut_after(st->j, limit, keep, on_discard, st);
}

uint64_t sstore_unit_cuts(const sstore_t *st)
{
	return st->unit_cuts;
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
	buf_put_be64(begin(st, key, klen), s->num);
	snap_emit(x, R_CREATE);
	buf_put_be64(begin(st, key, klen), first_pos(s));
	snap_emit(x, R_TRIM);
	/* Deleted entries between live ones, as position ranges (only a stream
	 * that ever had XDEL can have gaps: skip the scan otherwise). */
	siter_t it;
	stream_iter(&it, s, SID_MIN, SID_MAX, 0);
	sentry_t *e;
	uint64_t expect = first_pos(s);
	if (!s->ndeleted)
		expect = s->next_pos;
	while (s->ndeleted && (e = stream_iter_next(&it))) {
		if (e->pos > expect) {
			buf_t *g = begin(st, key, klen);
			buf_put_be64(g, expect);
			buf_put_be64(g, e->pos);
			snap_emit(x, R_DELRANGE);
		}
		expect = e->pos + 1;
	}
	if (s->next_pos > expect) {
		buf_t *g = begin(st, key, klen);
		buf_put_be64(g, expect);
		buf_put_be64(g, s->next_pos);
		snap_emit(x, R_DELRANGE);
	}
	buf_t *b = begin(st, key, klen);
	put_id(b, s->last_id);
	buf_put_be64(b, s->entries_added - s->next_pos);
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
	snap_ctx_t x = {st, j, 0};
	st->sink.each(st->sink.arg, snap_stream, &x);
	return x.rc;
}

/* --- lifecycle ------------------------------------------------------------------- */

typedef struct nums {
	uint64_t *v;
	size_t n, cap;
} nums_t;

static void collect_num(void *arg, const char *key, size_t klen, stream_t *s)
{
	(void)key;
	(void)klen;
	nums_t *x = arg;
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->v = realloc(x->v, x->cap * sizeof *x->v);
		if (!x->v)
			abort();
	}
	x->v[x->n++] = s->num;
}

/* Adopts log num (the recovery rule at the top): under its key file's
 * name when that is free, else under a recovery name; journaled. */
static int adopt_log(sstore_t *st, uint64_t num, int64_t entries, int damaged)
{
	size_t klen = 0;
	char *key = read_key_file(st, num, &klen);
	const char *why = damaged ? " (it was damaged)" : "";
	if (st->b->cfg->strict_recovery) {
		char also[64] = "";
		if (key)
			snprintf(also, sizeof also, " (and %" PRIu64 ".key)", num);
		log_error(st->log,
		          "streams: log %s/%" PRIu64 " holds %lld entries%s%s%s that "
		          "streams.journal%s does not account for; refusing to start "
		          "(strict.recovery): move %s/%" PRIu64 "%s out of %s, or start without "
		          "strict.recovery to adopt it",
		          st->dir, num, (long long)entries, key ? " of stream '" : "",
		          key ? key : "", key ? "'" : "", why, st->dir, num, also, st->dir);
		free(key);
		return SL_ECORRUPT;
	}
	stream_t *s = NULL;
	const char *taken = NULL;
	if (key && !st->sink.get(st->sink.arg, key, klen, 0))
		s = st->sink.get(st->sink.arg, key, klen, 1); /* NULL: another type */
	if (key && !s)
		taken = key;
	char alt[64];
	if (!s) {
		for (int k = 1; !s && k < 100; k++) {
			if (k == 1)
				snprintf(alt, sizeof alt, "sluice:recovered:%" PRIu64, num);
			else
				snprintf(alt, sizeof alt, "sluice:recovered:%" PRIu64 ":%d", num,
				         k);
			if (!st->sink.get(st->sink.arg, alt, strlen(alt), 0))
				s = st->sink.get(st->sink.arg, alt, strlen(alt), 1);
		}
		if (!s) {
			free(key);
			return SL_EEXIST;
		}
	}
	const char *name = s && !taken && key ? key : alt;
	size_t nlen = name == key ? klen : strlen(alt);
	int rc = st->sink.attach(st->sink.arg, st, s, num);
	if (rc < 0) {
		st->sink.del(st->sink.arg, name, nlen);
		free(key);
		return rc;
	}
	/* Journaled like a new stream of that name (synced with the next
	 * write; a crash before only means adopting it again). */
	buf_put_be64(begin(st, name, nlen), num);
	rc = jrnl_append(st->j, R_CREATE, buf_data(&st->tmp), buf_len(&st->tmp));
	buf_reset(&st->tmp);
	if (rc == 0)
		write_key_file(st, num, name, nlen);
	if (name == key)
		log_warn(st->log,
		         "streams: log %s/%" PRIu64 " holds %llu entries of stream '%s' that "
		         "streams.journal%s does not know: adopted (its groups and deletions "
		         "were not in the journal)",
		         st->dir, num, (unsigned long long)s->length, key, why);
	else
		log_warn(st->log,
		         "streams: log %s/%" PRIu64 " holds %llu entries that streams.journal%s "
		         "does not know, of %s%s%s: adopted as key '%s' (RENAME it)",
		         st->dir, num, (unsigned long long)s->length, why,
		         taken ? "stream '" : "a stream whose name is lost", taken ? taken : "",
		         taken ? "', a name now taken" : "", alt);
	free(key);
	return rc;
}

/* Settles the log directories no stream refers to (the recovery rule at
 * the top). Returns 0, or SL_ECORRUPT when strict.recovery refuses. */
static int recover_logs(sstore_t *st)
{
	nums_t used = {NULL, 0, 0};
	st->sink.each(st->sink.arg, collect_num, &used);
	int damaged = jrnl_open_damaged(st->j);
	DIR *d = opendir(st->dir);
	if (!d) {
		free(used.v);
		return 0;
	}
	nums_t strays = {NULL, 0, 0};
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		unsigned long long n = strtoull(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end)
			continue;
		int live = 0;
		for (size_t i = 0; i < used.n && !live; i++)
			live = used.v[i] == n;
		if (!live) {
			stream_t tmp = {.num = n};
			collect_num(&strays, NULL, 0, &tmp);
		}
	}
	closedir(d);
	int rc = 0;
	for (size_t i = 0; i < strays.n && rc == 0; i++) {
		uint64_t n = strays.v[i];
		char path[4096 + 300];
		snprintf(path, sizeof path, "%s/%" PRIu64, st->dir, n);
		plog_t *p;
		if (plog_open(&p, path, &st->popts, st->b->syncer, st->log, st->b->clean_start) <
		    0) {
			log_error(st->log, "streams: cannot open %s; left as it is", path);
			continue;
		}
		int64_t entries = plog_end_offset(p) - plog_start_offset(p);
		int journaled = map_get(&st->created, &n, sizeof n) != NULL;
		/* A log that never held an entry holds nothing to keep, even when
		 * the journal was damaged: a power loss tears the CREATE of a
		 * stream whose directory was made, and adopting it would bring
		 * back half of a command nobody was told succeeded (a stream
		 * without its groups). */
		if ((!damaged && journaled) || plog_end_offset(p) == 0) {
			log_warn(st->log,
			         !damaged && journaled
			             ? "streams: deleting %s: its stream's deletion is "
			               "journaled, the removal was interrupted"
			             : "streams: deleting %s: an empty log (it never held an "
			               "entry) of a stream the journal does not know",
			         path);
			if (sstore_destroy_log(st->b, n, p) < 0)
				log_warn(st->log,
				         "streams: cannot delete %s; tried again at the next start",
				         path);
			continue;
		}
		plog_close(p);
		rc = adopt_log(st, n, entries, damaged);
		if (rc == SL_EEXIST) {
			log_error(st->log,
			          "streams: cannot adopt %s: no free recovery name; left as it is",
			          path);
			rc = 0;
		} else if (rc < 0 && rc != SL_ECORRUPT) {
			log_error(st->log, "streams: cannot adopt %s: %s; left as it is", path,
			          sl_strerror(rc));
			rc = 0;
		}
	}
	free(strays.v);
	free(used.v);
	return rc;
}

int sstore_open(sstore_t **out, broker_t *b, const sstore_sink_t *sink)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/streams", b->data_dir);
	int mrc = sio_mkdir_p(b->io, dir);
	if (mrc < 0) {
		log_error(b->log, "streams: cannot create %s: %s", dir, sl_strerror(mrc));
		return mrc;
	}
	sstore_t *st = calloc(1, sizeof *st);
	if (!st)
		abort();
	st->sink = *sink;
	st->log = b->log;
	st->b = b;
	snprintf(st->dir, sizeof st->dir, "%s", dir);
	plog_opts_from_config(&st->popts, b->cfg);
	/* Replies that read a stream are held by the keyspace's durability
	 * domain instead (broker/dur.h): entries must stay readable. */
	st->popts.gate_reads = 0;
	st->popts.start_replayed = 1; /* TRIM records say where a stream starts */
	/* Streams are trimmed by their owners, never by time or size. */
	st->popts.retention_bytes = -1;
	st->popts.retention_ms = -1;
	st->popts.max_batch_bytes = (int64_t)b->cfg->proto_max_bulk_len * 2 + 4096;
	/* Numbers of logs whose CREATE never became durable must not be
	 * reused: start above every directory present. */
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			char *end;
			unsigned long long n = strtoull(de->d_name, &end, 10);
			if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && !*end &&
			    n >= st->next_num)
				st->next_num = n + 1;
		}
		closedir(d);
	}
	jrnl_opts_t o = {
	    .fsync = b->cfg->fsync,
	    .compact_ratio_pct = (int)b->cfg->journal_compact_ratio,
	    .compact_min_bytes = b->cfg->journal_compact_min_bytes,
	    .max_record = (size_t)b->cfg->proto_max_bulk_len * 2 + 4096,
	    .clean_stop = b->clean_start,
	    .strict = b->cfg->strict_recovery,
	    .discard = on_discard,
	    .discard_arg = st,
	    /* The positions the owner notes inside a unit are compared with
	     * the synced end only (keyspace.c settle_logs). */
	    .unit_strip = 1,
	};
	map_init(&st->created);
	map_init(&st->numkeys);
	st->opening = 1;
	int rc = jrnl_open(&st->j, b->loop, b->syncer, b->log, dir, "streams", &o, replay, st);
	if (rc < 0) {
		map_deinit(&st->created);
		numkeys_clear(st);
		map_deinit(&st->numkeys);
		free(st->shorts);
		buf_deinit(&st->tmp);
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

int sstore_settle(sstore_t *st)
{
	int rc = recover_logs(st);
	map_deinit(&st->created);
	map_init(&st->created);
	numkeys_clear(st);
	st->opening = 0;
	return rc;
}

void sstore_close(sstore_t *st)
{
	if (!st)
		return;
	map_deinit(&st->created);
	numkeys_clear(st);
	map_deinit(&st->numkeys);
	free(st->shorts);
	jrnl_close(st->j);
	buf_deinit(&st->tmp);
	free(st);
}

jrnl_t *sstore_jrnl(sstore_t *st)
{
	return st->j;
}

int sstore_replay(sstore_t *st)
{
	return jrnl_replay(st->j, replay, st);
}

int sstore_maintain(sstore_t *st)
{
	int rc = jrnl_maybe_compact(st->j, snapshot, st);
	if (rc < 0)
		log_warn(st->log, "streams: journal compaction failed: %s", sl_strerror(rc));
	return rc;
}

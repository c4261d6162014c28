/*
 * plog_clean.c — the log cleaner: Kafka log compaction (cleanup.policy
 * compact) of a partition log's sealed segments. Loop thread only; the
 * owner (broker/topic.c housekeeping) calls plog_clean for compacted
 * topics, one pass per partition per housekeeping turn at most.
 *
 * A pass:
 *   1. Cleanable segments: the sealed ones from the first on, while each
 *      ends at or below the limit (the last stable offset: no open
 *      transaction is cleaned), is older than min.compaction.lag.ms and
 *      has no damaged region (a hole stays for the operator).
 *   2. Dirty section: those ending past clean_from (the end of the last
 *      pass). Nothing to do unless dirty bytes / cleanable bytes >=
 *      min.cleanable.dirty.ratio, or the first dirty segment is older than
 *      max.compaction.lag.ms.
 *   3. Aborted transactions: from the ABORT markers of the whole log (a
 *      walk over batch headers), with the owner's list. Offset map: key → latest offset, over the dirty section (committed
 *      data records only); keys are held as a 128-bit hash, so two keys
 *      could only be confused by a 2^-128 accident (Kafka uses MD5). When
 *      the map is full the dirty section ends at that segment.
 *   4. Every cleanable segment up to the end of the dirty section is
 *      rewritten: a record is kept when its key is not in the map or it is
 *      the key's latest; records without a key, transactional batches of
 *      aborted transactions, and tombstones (null value) in segments
 *      cleaned before whose last rewrite is older than delete.retention.ms
 *      go; so do transaction markers whose transaction kept no data
 *      (aborted, or all superseded), past the same horizon as tombstones.
 *      Each producer's last batch (its idempotence state) is kept whole.
 *      A batch whose
 *      records all stay is copied as it is; a shrunk one keeps its header
 *      (BaseOffset, LastOffsetDelta, timestamps, producer fields) with the
 *      kept records' bytes (their offset and timestamp deltas are relative
 *      to that header, so they stay valid), its codec (re-compressed), the
 *      new RecordsCount and CRC; an emptied batch goes. Offsets are never
 *      renumbered: gaps appear, as in Kafka.
 *
 * Swap of one segment (the recovery rule, also in docs/formats-log.md):
 *   a. write BASE.cleaned, fdatasync it;
 *   b. the first time: create the `compacted` marker, fsync it and the
 *      directory (from then on segments open with SEG_OPEN_GAPS);
 *   c. unlink BASE.index and BASE.timeindex;
 *   d. rename BASE.cleaned over BASE.log, fsync the directory;
 *   e. reopen the segment (its indexes are rebuilt from the new .log).
 * A crash before d leaves the old .log (its indexes are rebuilt if c ran)
 * and a BASE.cleaned that the next open deletes; after d the new .log is
 * complete and synced. The rename is atomic, so a reader of the directory
 * sees the old or the new file, never half of one, and each holds every
 * key's latest record. A segment left with no record is deleted instead
 * (its .log first). Readers that hold the old file (a queued sendfile
 * region, fdcache.h references) keep reading the old inode.
 *
 * Tombstone horizon: the segment file's modification time, set when the
 * segment is cleaned the first time (its rewrite, or a touch when it keeps
 * tombstones without being rewritten) and carried over by later rewrites,
 * so a tombstone survives at least delete.retention.ms after the pass that
 * first saw it, and not much longer.
 */
#include "store/plog_priv.h"

#include "core/crc32c.h"
#include "core/err.h"
#include "core/map.h"
#include "core/time.h"
#include "core/varint.h"
#include "store/batch.h"
#include "store/sio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEMP_EXT ".cleaned"
#define DEFAULT_MAX_KEYS (1u << 20)
#define OUT_FLUSH (1u << 20)
/* Decompressed batches are bounded like the producer's: a batch's records
 * cannot exceed what a client could send in one (1 GiB). */
#define PLAIN_MAX ((size_t)1 << 30)

int plog_clean_is_temp(const char *name)
{
	int64_t base;
	size_t n = strlen(name), e = strlen(TEMP_EXT);
	if (n != 20 + e || strcmp(name + 20, TEMP_EXT) != 0)
		return 0;
	char tmp[32];
	snprintf(tmp, sizeof tmp, "%.20s.log", name);
	return seg_parse_name(tmp, &base) != NULL;
}

int64_t plog_clean_from(const plog_t *p)
{
	return p->clean_from;
}

/* --- offset map: 128-bit key hash → latest offset ---------------------------- */

typedef struct omap_slot {
	uint64_t h1, h2; /* h1 == 0 && h2 == 0: empty (a real hash pair is remapped) */
	int64_t off;
} omap_slot_t;

typedef struct omap {
	omap_slot_t *s;
	size_t cap, n, max;
} omap_t;

static void key_hash(const uint8_t *k, size_t n, uint64_t *h1, uint64_t *h2)
{
	*h1 = map_hash(0x736c756963652d31ULL, k, n);
	*h2 = map_hash(0x636c65616e65722dULL, k, n);
	if (*h1 == 0 && *h2 == 0)
		*h2 = 1;
}

static omap_slot_t *omap_find(const omap_t *m, uint64_t h1, uint64_t h2)
{
	size_t i = (size_t)(h1 ^ (h2 >> 7)) & (m->cap - 1);
	for (;;) {
		omap_slot_t *s = &m->s[i];
		if ((s->h1 == h1 && s->h2 == h2) || (s->h1 == 0 && s->h2 == 0))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

static void omap_grow(omap_t *m)
{
	omap_t g = {calloc(m->cap * 2, sizeof(omap_slot_t)), m->cap * 2, 0, m->max};
	if (!g.s)
		abort();
	for (size_t i = 0; i < m->cap; i++)
		if (m->s[i].h1 || m->s[i].h2) {
			*omap_find(&g, m->s[i].h1, m->s[i].h2) = m->s[i];
			g.n++;
		}
	free(m->s);
	*m = g;
}

static void omap_put(omap_t *m, uint64_t h1, uint64_t h2, int64_t off)
{
	if ((m->n + 1) * 2 > m->cap)
		omap_grow(m);
	omap_slot_t *s = omap_find(m, h1, h2);
	if (!s->h1 && !s->h2) {
		s->h1 = h1;
		s->h2 = h2;
		s->off = off;
		m->n++;
	} else if (off > s->off) {
		s->off = off;
	}
}

/* The latest offset of the key, or -1 when the map does not hold it. */
static int64_t omap_get(const omap_t *m, uint64_t h1, uint64_t h2)
{
	const omap_slot_t *s = omap_find(m, h1, h2);
	return (s->h1 || s->h2) ? s->off : -1;
}

/* --- reading a segment's batches --------------------------------------------- */

/* One record's view inside a batch's plain records. */
typedef struct crec {
	const uint8_t *start; /* length varint first */
	size_t len;           /* whole record with its length varint */
	int64_t offset;
	const uint8_t *key; /* NULL: no key */
	size_t key_len;
	int tombstone; /* null value */
} crec_t;

static int rdv(const uint8_t **q, const uint8_t *end, int64_t *out)
{
	uint64_t u;
	int n = varint_dec_u64(*q, (size_t)(end - *q), VARINT_MAX, &u);
	if (n <= 0)
		return -1;
	*q += n;
	*out = varint_unzigzag(u);
	return 0;
}

/* Parses the record at *q (advancing it). 0 or SL_ECORRUPT. */
static int crec_next(const uint8_t **q, const uint8_t *end, int64_t base, crec_t *r)
{
	const uint8_t *at = *q;
	int64_t len, v;
	if (rdv(q, end, &len) < 0 || len < 1 || len > end - *q)
		return SL_ECORRUPT;
	const uint8_t *p = *q + 1, *rend = *q + len; /* past the attributes */
	r->start = at;
	r->len = (size_t)(rend - at);
	*q = rend;
	if (rdv(&p, rend, &v) < 0 || rdv(&p, rend, &v) < 0) /* timestampDelta, offsetDelta */
		return SL_ECORRUPT;
	r->offset = base + v;
	if (rdv(&p, rend, &v) < 0 || v < -1 || v > rend - p)
		return SL_ECORRUPT;
	r->key = v < 0 ? NULL : p;
	r->key_len = v < 0 ? 0 : (size_t)v;
	p += v < 0 ? 0 : v;
	if (rdv(&p, rend, &v) < 0 || v < -1 || v > rend - p)
		return SL_ECORRUPT;
	r->tombstone = v < 0;
	return 0;
}

typedef struct walker {
	seg_t *s;
	uint64_t pos;
	buf_t batch; /* the current batch */
	buf_t plain; /* its records, decompressed */
} walker_t;

/* Reads the next batch of the segment into w->batch: 1, 0 at the end, or
 * an error. The segment was CRC-verified before (seg_verify). */
static int walker_next(walker_t *w, batch_hdr_t *h)
{
	if (w->pos >= w->s->size)
		return 0;
	int fd = seg_fd(w->s);
	if (fd < 0)
		return fd;
	uint8_t hb[BATCH_HDR_SIZE];
	if (pread(fd, hb, sizeof hb, (off_t)w->pos) != (ssize_t)sizeof hb ||
	    batch_peek(hb, sizeof hb, h) < 0)
		return SL_EIO;
	size_t n = batch_size(h);
	if (n > w->s->size - w->pos)
		return SL_ECORRUPT;
	buf_reset(&w->batch);
	uint8_t *dst = buf_reserve(&w->batch, n);
	if (pread(fd, dst, n, (off_t)w->pos) != (ssize_t)n)
		return SL_EIO;
	buf_commit(&w->batch, n);
	w->pos += n;
	return 1;
}

/* --- transactions and producers over the whole log ------------------------------ */

/* What a walk over every batch header of the log finds: the aborted
 * transactions (an ABORT marker of producer P aborts P's transactional
 * batches after P's previous marker), and each producer's last batch. */
typedef struct txscan {
	omap_t last_batch;  /* pid → base offset of its last batch */
	omap_t last_marker; /* pid → offset of its last marker */
	plog_aborted_t *ab;
	size_t nab, cab;
} txscan_t;

static void txscan_marker(txscan_t *x, seg_t *s, uint64_t pos, const batch_hdr_t *h)
{
	uint8_t buf[4096];
	size_t n = batch_size(h);
	int fd = seg_fd(s);
	if (n > sizeof buf || fd < 0 || pread(fd, buf, n, (off_t)pos) != (ssize_t)n ||
	    batch_control_type(buf, n) != BATCH_CONTROL_ABORT)
		return;
	if (x->nab == x->cab) {
		x->cab = x->cab ? x->cab * 2 : 16;
		x->ab = realloc(x->ab, x->cab * sizeof *x->ab);
		if (!x->ab)
			abort();
	}
	int64_t prev = omap_get(&x->last_marker, (uint64_t)h->producer_id, 1);
	x->ab[x->nab++] = (plog_aborted_t){h->producer_id, prev + 1, h->base_offset};
}

static int txscan_run(plog_t *p, txscan_t *x)
{
	for (size_t i = 0; i < p->nsegs; i++) {
		seg_t *s = p->segs[i];
		uint64_t pos = 0;
		size_t hole = 0;
		while (pos + BATCH_HDR_SIZE <= s->size) {
			while (hole < s->nholes && s->holes[hole].to <= pos)
				hole++;
			if (hole < s->nholes && s->holes[hole].from <= pos) {
				pos = s->holes[hole].to;
				continue;
			}
			uint8_t hb[BATCH_HDR_SIZE];
			batch_hdr_t h;
			int fd = seg_fd(s);
			if (fd < 0)
				return fd;
			if (pread(fd, hb, sizeof hb, (off_t)pos) != (ssize_t)sizeof hb ||
			    batch_peek(hb, sizeof hb, &h) < 0)
				break;
			if (h.producer_id >= 0) {
				omap_put(&x->last_batch, (uint64_t)h.producer_id, 1, h.base_offset);
				if (h.attributes & BATCH_ATTR_CONTROL) {
					txscan_marker(x, s, pos, &h);
					omap_put(&x->last_marker, (uint64_t)h.producer_id, 1,
					         h.base_offset);
				}
			}
			pos += batch_size(&h);
		}
	}
	return 0;
}

static int is_aborted(const plog_clean_opts_t *o, const batch_hdr_t *h)
{
	if (!(h->attributes & BATCH_ATTR_TRANSACTIONAL) || (h->attributes & BATCH_ATTR_CONTROL))
		return 0;
	for (size_t i = 0; i < o->naborted; i++)
		if (o->aborted[i].pid == h->producer_id && o->aborted[i].first <= h->base_offset &&
		    h->base_offset <= o->aborted[i].last)
			return 1;
	return 0;
}

/* The plain records of the walker's batch. */
static int batch_plain(walker_t *w, const batch_hdr_t *h, const uint8_t **recs, size_t *rn)
{
	buf_reset(&w->plain);
	return batch_records_plain(buf_data(&w->batch), h, PLAIN_MAX, &w->plain, recs, rn);
}

/* Adds the keys of segment s to the map. */
static int map_segment(omap_t *m, seg_t *s, const plog_clean_opts_t *o, walker_t *w)
{
	w->s = s;
	w->pos = 0;
	batch_hdr_t h;
	int rc;
	while ((rc = walker_next(w, &h)) == 1) {
		if ((h.attributes & BATCH_ATTR_CONTROL) || is_aborted(o, &h))
			continue;
		const uint8_t *q, *end;
		size_t rn;
		if ((rc = batch_plain(w, &h, &q, &rn)) < 0)
			return rc;
		end = q + rn;
		for (int32_t i = 0; i < h.count; i++) {
			crec_t r;
			if (crec_next(&q, end, h.base_offset, &r) < 0)
				return SL_ECORRUPT;
			if (r.key) {
				uint64_t h1, h2;
				key_hash(r.key, r.key_len, &h1, &h2);
				omap_put(m, h1, h2, r.offset);
			}
		}
	}
	return rc;
}

/* --- rewriting one segment -------------------------------------------------- */

typedef struct rewrite {
	plog_t *p;
	const plog_clean_opts_t *o;
	const omap_t *m;
	const txscan_t *x;
	/* Walking the pass in offset order: pid → offset of its last kept
	 * transactional data batch, and of its last marker walked. */
	omap_t *txn_data, *txn_marker;
	int dirty; /* the segment is in the dirty section (cleaned the first time) */
	int drop_tombstones;
	int kept_tombstones; /* out: some tombstone stayed */
	int changed;         /* out: something was dropped */
	int fd;              /* the temporary file */
	uint64_t written;
	buf_t out;
	buf_t recs; /* kept records of the current batch */
	buf_t enc;  /* re-compressed */
} rewrite_t;

static int out_flush(rewrite_t *rw, int force)
{
	size_t n = buf_len(&rw->out);
	if (!n || (!force && n < OUT_FLUSH))
		return 0;
	int rc = sio_pwrite_all(rw->p->io, rw->fd, buf_data(&rw->out), n, (off_t)rw->written, NULL);
	if (rc < 0)
		return rc;
	rw->written += n;
	buf_reset(&rw->out);
	return 0;
}

/* Appends the batch header h (from the stored batch src) with the kept
 * records rw->recs (count of them), re-encoded with the batch's codec. */
static int emit_shrunk(rewrite_t *rw, const uint8_t *src, const batch_hdr_t *h, int32_t count)
{
	int codec = h->attributes & BATCH_ATTR_CODEC_MASK;
	const buf_t *body = &rw->recs;
	if (codec) {
		buf_reset(&rw->enc);
		int rc = batch_compress(codec, buf_data(&rw->recs), buf_len(&rw->recs), &rw->enc);
		if (rc < 0)
			return rc;
		body = &rw->enc;
	}
	size_t n = BATCH_HDR_SIZE + buf_len(body);
	if (n - BATCH_LOG_OVERHEAD > INT32_MAX)
		return SL_ETOOBIG;
	uint8_t *b = buf_reserve(&rw->out, n);
	memcpy(b, src, BATCH_HDR_SIZE);
	if (buf_len(body) > 0) /* an empty buffer's data may be NULL */
		memcpy(b + BATCH_HDR_SIZE, buf_data(body), buf_len(body));
	be32_store(b + BATCH_OFF_LENGTH, (uint32_t)(n - BATCH_LOG_OVERHEAD));
	be32_store(b + BATCH_OFF_RECORDS_COUNT, (uint32_t)count);
	be32_store(b + BATCH_OFF_CRC,
	           crc32c(0, b + BATCH_OFF_ATTRIBUTES, n - BATCH_OFF_ATTRIBUTES));
	buf_commit(&rw->out, n);
	return 0;
}

/* Filters one batch of the walker into rw->out. */
static int filter_batch(rewrite_t *rw, walker_t *w, const batch_hdr_t *h, plog_clean_stats_t *st)
{
	const uint8_t *src = buf_data(&w->batch);
	size_t len = buf_len(&w->batch);
	uint64_t pid = (uint64_t)h->producer_id;
	int last = h->producer_id >= 0 && omap_get(&rw->x->last_batch, pid, 1) == h->base_offset;
	if (h->attributes & BATCH_ATTR_CONTROL) {
		/* A marker whose transaction kept no data here is no longer
		 * needed (Kafka's rule), once past the tombstone horizon;
		 * unless it is its producer's last batch. */
		int64_t prev = omap_get(rw->txn_marker, pid, 1);
		int empty = omap_get(rw->txn_data, pid, 1) <= prev;
		omap_put(rw->txn_marker, pid, 1, h->base_offset);
		if (h->producer_id >= 0 && empty && rw->drop_tombstones && !last) {
			rw->changed = 1;
			return 0;
		}
		buf_append(&rw->out, src, len);
		return 0;
	}
	st->records_in += (uint64_t)h->count;
	int txn = h->producer_id >= 0 && (h->attributes & BATCH_ATTR_TRANSACTIONAL);
	if (last) {
		/* A producer's last batch stays whole: after a restart the
		 * idempotent producer state is rebuilt from it (Kafka keeps it
		 * too). Its superseded records are older than their keys'
		 * latest, so readers still end with the latest value. */
		st->records_out += (uint64_t)h->count;
		buf_append(&rw->out, src, len);
		if (txn)
			omap_put(rw->txn_data, pid, 1, h->base_offset);
		return 0;
	}
	if (is_aborted(rw->o, h)) {
		rw->changed = 1;
		return 0;
	}
	const uint8_t *q;
	size_t rn;
	int rc = batch_plain(w, h, &q, &rn);
	if (rc < 0)
		return rc;
	const uint8_t *end = q + rn;
	buf_reset(&rw->recs);
	int32_t kept = 0;
	for (int32_t i = 0; i < h->count; i++) {
		crec_t r;
		if (crec_next(&q, end, h->base_offset, &r) < 0)
			return SL_ECORRUPT;
		int keep = r.key != NULL;
		if (keep) {
			uint64_t h1, h2;
			key_hash(r.key, r.key_len, &h1, &h2);
			int64_t latest = omap_get(rw->m, h1, h2);
			keep = latest < 0 || r.offset >= latest;
		}
		if (keep && r.tombstone) {
			keep = !rw->drop_tombstones;
			rw->kept_tombstones |= keep;
		}
		if (keep) {
			buf_append(&rw->recs, r.start, r.len);
			kept++;
		}
	}
	st->records_out += (uint64_t)kept;
	if (kept && txn)
		omap_put(rw->txn_data, pid, 1, h->base_offset);
	if (kept == h->count) {
		buf_append(&rw->out, src, len);
		return 0;
	}
	rw->changed = 1;
	return kept ? emit_shrunk(rw, src, h, kept) : 0;
}

static void crash_if(const plog_clean_opts_t *o, int point)
{
	if (o->crash_at == point)
		raise(SIGKILL);
}

/* Makes sure the `compacted` marker exists and is durable before any
 * segment with gaps does. */
static int mark_compacted(plog_t *p)
{
	if (p->gaps)
		return 0;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", p->dir, PLOG_COMPACTED_NAME);
	int fd = fdc_open_temp(p->fdc, path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_from_errno(errno);
	int rc = sio_fsync(p->io, fd) < 0 ? sl_from_errno(errno) : 0;
	fdc_close_temp(p->fdc, fd);
	if (rc == 0)
		rc = sio_fsync_dir(p->io, p->dir);
	if (rc == 0) {
		p->gaps = 1;
		/* Segments already open keep strict checks until reopened;
		 * only cleaned ones (opened with gaps below) need them. */
	}
	return rc;
}

/* Replaces segment i (closed here) with the file now at its path. */
static int reopen_segment(plog_t *p, size_t i)
{
	int64_t base = p->segs[i]->base;
	seg_close(p->segs[i]);
	seg_t *s = NULL;
	int rc = seg_open(&s, p->dir, base, SEG_VERIFY_NONE | SEG_OPEN_GAPS | SEG_OPEN_NO_INDEX,
	                  UINT64_MAX, (uint64_t)p->o.index_interval_bytes, p->fdc, p->log, p->io);
	if (rc < 0) {
		/* The data is on disk; the next open serves it again. */
		log_error(p->log, "%s: cannot reopen cleaned segment %020" PRId64 ": %s", p->dir,
		          base, sl_strerror(rc));
		memmove(p->segs + i, p->segs + i + 1, (p->nsegs - i - 1) * sizeof *p->segs);
		p->nsegs--;
		return rc;
	}
	seg_idle(s);
	p->segs[i] = s;
	return 0;
}

/* Removes segment i, which cleaning emptied. */
static int remove_segment(plog_t *p, size_t i)
{
	seg_t *s = p->segs[i];
	int rc = seg_remove(s);
	memmove(p->segs + i, p->segs + i + 1, (p->nsegs - i - 1) * sizeof *p->segs);
	p->nsegs--;
	if (rc == 0)
		rc = sio_fsync_dir(p->io, p->dir);
	if (p->segs[0]->base > p->start)
		p->start = p->segs[0]->base;
	return rc;
}

/* Swaps the synced copy at tmp in for segment i (steps b–e above). */
static int swap_in(plog_t *p, size_t i, const char *tmp, const plog_clean_opts_t *o)
{
	seg_t *s = p->segs[i];
	int rc = mark_compacted(p);
	if (rc < 0)
		return rc;
	char path[4096];
	seg_path(path, sizeof path, p->dir, s->base, ".index");
	if (sio_unlink(p->io, path) < 0 && errno != ENOENT)
		return sl_from_errno(errno);
	seg_path(path, sizeof path, p->dir, s->base, ".timeindex");
	if (sio_unlink(p->io, path) < 0 && errno != ENOENT)
		return sl_from_errno(errno);
	crash_if(o, PLOG_CLEAN_CRASH_UNLINKED);
	seg_path(path, sizeof path, p->dir, s->base, ".log");
	if (sio_rename(p->io, tmp, path) < 0) {
		rc = sl_from_errno(errno);
		/* The old .log stays; its indexes come back from it. */
		(void)seg_rebuild_index(s);
		return rc;
	}
	rc = sio_fsync_dir(p->io, p->dir);
	crash_if(o, PLOG_CLEAN_CRASH_SWAPPED);
	int rc2 = reopen_segment(p, i);
	return rc < 0 ? rc : rc2;
}

/* Rewrites segment i; *removed is set when it went. */
static int rewrite_segment(plog_t *p, size_t i, rewrite_t *rw, walker_t *w, plog_clean_stats_t *st,
                           int *removed)
{
	seg_t *s = p->segs[i];
	char tmp[4096];
	seg_path(tmp, sizeof tmp, p->dir, s->base, TEMP_EXT);
	rw->fd = fdc_open_temp(p->fdc, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (rw->fd < 0)
		return sl_from_errno(errno);
	rw->written = 0;
	rw->changed = rw->kept_tombstones = 0;
	/* A segment cleaned before keeps its tombstone horizon (its file
	 * time) through a rewrite; a dirty one's starts now. */
	char path[4096];
	seg_path(path, sizeof path, p->dir, s->base, ".log");
	struct stat old;
	int keep_time = !rw->dirty && stat(path, &old) == 0;
	buf_reset(&rw->out);
	w->s = s;
	w->pos = 0;
	batch_hdr_t h;
	int rc;
	while ((rc = walker_next(w, &h)) == 1) {
		if ((rc = filter_batch(rw, w, &h, st)) < 0 || (rc = out_flush(rw, 0)) < 0)
			break;
	}
	if (rc == 0)
		rc = out_flush(rw, 1);
	st->bytes_read += s->size;
	if (rc == 0 && rw->changed && rw->written && keep_time) {
		struct timespec times[2] = {old.st_atim, old.st_mtim};
		(void)futimens(rw->fd, times);
	}
	if (rc == 0 && rw->changed && rw->written && sio_fdatasync(p->io, rw->fd) < 0)
		rc = sl_from_errno(errno);
	fdc_close_temp(p->fdc, rw->fd);
	if (rc == 0 && rw->changed)
		crash_if(rw->o, PLOG_CLEAN_CRASH_COPIED);
	if (rc < 0 || !rw->changed) {
		(void)sio_unlink(p->io, tmp);
		if (rc == 0 && rw->kept_tombstones && rw->dirty) {
			/* The tombstone horizon starts now (see the top). */
			(void)utimensat(AT_FDCWD, path, NULL, 0);
		}
		return rc;
	}
	st->segments++;
	st->bytes_written += rw->written;
	if (rw->written == 0) {
		(void)sio_unlink(p->io, tmp);
		*removed = 1;
		return remove_segment(p, i);
	}
	return swap_in(p, i, tmp, rw->o);
}

/* Modification time of segment s's .log in ms, or -1. */
static int64_t seg_mtime_ms(const seg_t *s)
{
	char path[4096];
	snprintf(path, sizeof path, "%s.log", s->path);
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* How many segments from the first can be cleaned now (step 1). */
static size_t cleanable(plog_t *p, const plog_clean_opts_t *o)
{
	size_t n = 0;
	while (n + 1 < p->nsegs) {
		seg_t *s = p->segs[n];
		if (s->next > o->limit || s->nholes)
			break;
		if (o->min_lag_ms > 0 && s->max_ts >= 0 && s->max_ts > o->now_ms - o->min_lag_ms)
			break;
		n++;
	}
	return n;
}

/* A pass under way: planned in one call, then mapped and rewritten a
 * budget of bytes per call. Segments are found again by base offset each
 * call: retention may delete from the front meanwhile, nothing else
 * touches sealed segments. */
struct plog_clean_job {
	plog_clean_opts_t o; /* the plan's settings; aborted → x.ab */
	txscan_t x;
	omap_t m;
	omap_t txn_data, txn_marker; /* rewrite_t's */
	walker_t w;
	rewrite_t rw;
	int64_t d_base;   /* segments below it were cleaned before (clean section) */
	int64_t end_base; /* the pass covers segments below it */
	int64_t cursor;   /* next segment to map or rewrite (base at or after) */
	int mapping;      /* phase: building the map, then rewriting */
	int64_t new_from; /* clean_from once the pass is done */
	plog_clean_stats_t st;
};

static void job_free(plog_t *p)
{
	plog_clean_job_t *j = p->cjob;
	if (!j)
		return;
	buf_deinit(&j->rw.out);
	buf_deinit(&j->rw.recs);
	buf_deinit(&j->rw.enc);
	buf_deinit(&j->w.batch);
	buf_deinit(&j->w.plain);
	free(j->m.s);
	free(j->txn_data.s);
	free(j->txn_marker.s);
	free(j->x.last_batch.s);
	free(j->x.last_marker.s);
	free(j->x.ab);
	free(j);
	p->cjob = NULL;
}

void plog_clean_abandon(plog_t *p)
{
	job_free(p);
}

/* The index of the first segment whose base is at or after base. */
static size_t seg_at(const plog_t *p, int64_t base)
{
	size_t i = 0;
	while (i < p->nsegs && p->segs[i]->base < base)
		i++;
	return i;
}

static void omap_init(omap_t *m, size_t cap, size_t max)
{
	m->s = calloc(cap, sizeof *m->s);
	if (!m->s)
		abort();
	m->cap = cap;
	m->n = 0;
	m->max = max;
}

static void ab_push(txscan_t *x, const plog_aborted_t *a)
{
	if (x->nab == x->cab) {
		x->cab = x->cab ? x->cab * 2 : 16;
		x->ab = realloc(x->ab, x->cab * sizeof *x->ab);
		if (!x->ab)
			abort();
	}
	x->ab[x->nab++] = *a;
}

/* Steps 1–2 and the transaction walk: a new job, or 0 when there is
 * nothing to do. */
static int plan(plog_t *p, const plog_clean_opts_t *o)
{
	size_t n = cleanable(p, o);
	size_t d = 0; /* first dirty segment */
	while (d < n && p->segs[d]->next <= p->clean_from)
		d++;
	if (d == n)
		return 0;
	uint64_t clean_bytes = 0, dirty_bytes = 0;
	for (size_t i = 0; i < n; i++)
		*(i < d ? &clean_bytes : &dirty_bytes) += p->segs[i]->size;
	int overdue = o->max_lag_ms > 0 && p->segs[d]->first_ts >= 0 &&
	              p->segs[d]->first_ts < o->now_ms - o->max_lag_ms;
	if (!overdue &&
	    (double)dirty_bytes < o->min_dirty_ratio * (double)(clean_bytes + dirty_bytes))
		return 0;
	/* Reads serve only CRC-checked bytes; so does the cleaner. */
	for (size_t i = 0; i < n; i++) {
		int rc = seg_verify(p->segs[i], p->segs[i]->size, 0);
		if (rc < 0)
			return rc;
		if (p->segs[i]->nholes) {
			n = i;
			break;
		}
	}
	if (d >= n)
		return 0;
	plog_clean_job_t *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	p->cjob = j;
	omap_init(&j->x.last_batch, 64, SIZE_MAX);
	omap_init(&j->x.last_marker, 64, SIZE_MAX);
	omap_init(&j->m, 1024, o->max_keys ? o->max_keys : DEFAULT_MAX_KEYS);
	int rc = txscan_run(p, &j->x);
	if (rc < 0)
		return rc;
	/* The owner's list too (it may know aborts whose marker is gone). */
	for (size_t i = 0; i < o->naborted; i++)
		ab_push(&j->x, &o->aborted[i]);
	j->o = *o;
	j->o.aborted = j->x.ab;
	j->o.naborted = j->x.nab;
	buf_init(&j->w.batch);
	buf_init(&j->w.plain);
	omap_init(&j->txn_data, 64, SIZE_MAX);
	omap_init(&j->txn_marker, 64, SIZE_MAX);
	j->rw = (rewrite_t){.p = p,
	                    .o = &j->o,
	                    .m = &j->m,
	                    .x = &j->x,
	                    .txn_data = &j->txn_data,
	                    .txn_marker = &j->txn_marker};
	buf_init(&j->rw.out);
	buf_init(&j->rw.recs);
	buf_init(&j->rw.enc);
	j->d_base = p->segs[d]->base;
	j->end_base = n < p->nsegs ? p->segs[n]->base : INT64_MAX;
	j->cursor = j->d_base;
	j->new_from = p->clean_from;
	j->mapping = 1;
	j->st.elapsed_us = 0;
	return 1;
}

/* Step 3 for up to budget bytes. */
static int map_step(plog_t *p, plog_clean_job_t *j, uint64_t budget)
{
	uint64_t done = 0;
	size_t i = seg_at(p, j->cursor);
	while (i + 1 < p->nsegs && p->segs[i]->base < j->end_base) {
		int rc = map_segment(&j->m, p->segs[i], &j->o, &j->w);
		if (rc < 0)
			return rc;
		done += p->segs[i]->size;
		j->new_from = p->segs[i]->next;
		i++;
		j->cursor = i < p->nsegs ? p->segs[i]->base : INT64_MAX;
		if (j->m.n >= j->m.max)
			break; /* a full map: the rest waits for the next pass */
		if (budget && done >= budget)
			return 0;
	}
	/* Mapped: the pass covers what was mapped. */
	j->end_base = j->cursor;
	if (j->end_base > j->new_from && j->end_base != INT64_MAX)
		j->new_from = j->end_base;
	j->mapping = 0;
	j->cursor = INT64_MIN;
	return 0;
}

/* Step 4 for up to budget bytes; 1 once every segment is rewritten. */
static int rewrite_step(plog_t *p, plog_clean_job_t *j, uint64_t budget)
{
	uint64_t done = 0;
	size_t i = seg_at(p, j->cursor);
	while (i + 1 < p->nsegs && p->segs[i]->base < j->end_base) {
		if (budget && done >= budget)
			return 0;
		seg_t *s = p->segs[i];
		int64_t mt = seg_mtime_ms(s);
		j->rw.dirty = s->base >= j->d_base;
		j->rw.drop_tombstones =
		    !j->rw.dirty && mt >= 0 && mt <= j->o.now_ms - j->o.delete_retention_ms;
		done += s->size;
		int64_t next_base = i + 1 < p->nsegs ? p->segs[i + 1]->base : INT64_MAX;
		int removed = 0;
		int rc = rewrite_segment(p, i, &j->rw, &j->w, &j->st, &removed);
		if (rc < 0)
			return rc;
		j->cursor = next_base;
		i = seg_at(p, j->cursor);
	}
	return 1;
}

int plog_clean(plog_t *p, const plog_clean_opts_t *o, plog_clean_stats_t *st)
{
	memset(st, 0, sizeof *st);
	if (p->err)
		return 0;
	int64_t t0 = time_mono_ns() / 1000;
	int rc = 0;
	if (!p->cjob && (rc = plan(p, o)) <= 0) {
		job_free(p);
		return rc;
	}
	plog_clean_job_t *j = p->cjob;
	if (j->mapping)
		rc = map_step(p, j, o->step_bytes);
	if (rc == 0 && !j->mapping)
		rc = rewrite_step(p, j, o->step_bytes);
	j->st.elapsed_us += time_mono_ns() / 1000 - t0;
	if (rc < 0) {
		log_error(p->log, "%s: cleaning stopped: %s", p->dir, sl_strerror(rc));
		job_free(p);
		return rc;
	}
	if (rc == 0)
		return 2;
	/* Saved so that a restart neither cleans everything again nor
	 * restarts tombstone ages; failing to save only costs that. */
	if (j->new_from != p->clean_from)
		(void)plog_clean_ckpt_write(p, j->new_from);
	p->clean_from = j->new_from;
	*st = j->st;
	job_free(p);
	return 1;
}

/*
 * journal_unit.c — units of records in the state journal (journal.h,
 * jrnl_unit_*): the BEGIN/COMMIT/WATERMARK markers written around a unit's
 * records, and the replay passes that read the file back applying a unit
 * only once its COMMIT was read. Byte layout and recovery rule: journal.c.
 * Loop thread only.
 */
#include "store/journal_priv.h"

#include "core/crc32c.h"
#include "core/err.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* --- units ----------------------------------------------------------------- */

/* Frames marker kind with the unit id (and extra) as a type-0 record. */
static const uint8_t *marker(buf_t *out, uint8_t kind, uint64_t id, const void *extra, size_t elen)
{
	uint8_t m[9];
	m[0] = kind;
	be64_store(m + 1, id);
	return jrnl_frame(out, 0, m, sizeof m, extra, elen);
}

/* A compacted file starts with the highest ids, so that unit ids stay
 * increasing and its peers' check (jrnl_unit_cut_after) still sees the
 * cross-journal units it folded into its snapshot. */
void jrnl_watermark(jrnl_t *j, buf_t *out)
{
	if (!j->max_id)
		return;
	uint8_t e[8];
	be64_store(e, j->max_cross);
	marker(out, MK_WATERMARK, j->max_id, e, sizeof e);
}

/* The first marker makes this a version-2 file: a binary that predates
 * units then sets the file aside (never deletes it) rather than cutting it
 * at the first marker. The header is rewritten in place; a crash that
 * keeps the marker but loses this write leaves a version-1 file with
 * markers, which this version reads all the same. */
static void upgrade(jrnl_t *j)
{
	if (j->version >= JRNL_VERSION_UNITS)
		return;
	j->version = JRNL_VERSION_UNITS;
	if (jrnl_write_all(j, j->fd, jrnl_header(JRNL_VERSION_UNITS), JRNL_HDR, 0, NULL))
		log_warn(j->log, "journal %s: cannot mark the header as version 2", j->path);
	if (j->snap_fd >= 0 && j->snap_pos >= JRNL_HDR)
		(void)jrnl_write_all(j, j->snap_fd, jrnl_header(JRNL_VERSION_UNITS), JRNL_HDR, 0,
		                     NULL);
	else if (j->snap_fd >= 0)
		memcpy(buf_data(&j->snap_buf), jrnl_header(JRNL_VERSION_UNITS), JRNL_HDR);
}

/* Appends the current unit's BEGIN (space reserved by the caller). */
void jrnl_unit_open(jrnl_t *j)
{
	upgrade(j);
	j->unit_open = 1;
	j->unit_at = jrnl_size(j);
	marker(&j->wbuf, MK_BEGIN, j->unit_id, NULL, 0);
	j->unit_snap = j->snap_fd >= 0;
	if (j->unit_snap) {
		j->unit_snap_at = jrnl_snap_size(j);
		marker(&j->snap_buf, MK_BEGIN, j->unit_id, NULL, 0);
	}
}

void jrnl_unit_begin(jrnl_t *j, uint64_t id)
{
	j->in_unit = 1;
	j->unit_open = 0;
	j->unit_snap = 0;
	j->unit_nrec = 0;
	j->unit_id = id;
	if (id > j->max_id)
		j->max_id = id;
}

int jrnl_unit_written(const jrnl_t *j)
{
	return j->in_unit && j->unit_open;
}

/* Removes n bytes at offset off of b (off + n <= buf_len). */
static void buf_cut(buf_t *b, size_t off, size_t n)
{
	uint8_t *d = buf_data(b);
	memmove(d + off, d + off + n, buf_len(b) - off - n);
	b->end -= n;
}

void jrnl_unit_end(jrnl_t *j, int cross)
{
	int open = j->in_unit && j->unit_open;
	j->in_unit = 0;
	j->unit_open = 0;
	/* A failed journal dropped its buffer, the unit's BEGIN with it: the
	 * unit is being undone (its owner cuts back), nothing is left to end. */
	if (!open || j->err)
		return;
	/* A unit of one record needs no markers: a record is all or nothing
	 * by itself. Dropping its BEGIN while still buffered keeps the common
	 * one-record command as small as before units (opts.unit_strip: only
	 * for owners that note no journal position inside a unit). */
	if (j->opts.unit_strip && j->unit_nrec == 1 && !cross && j->unit_at >= j->file_pos &&
	    (!j->unit_snap || j->unit_snap_at >= j->snap_pos)) {
		buf_cut(&j->wbuf, (size_t)(j->unit_at - j->file_pos), BEGIN_LEN);
		if (j->unit_snap)
			buf_cut(&j->snap_buf, (size_t)(j->unit_snap_at - j->snap_pos), BEGIN_LEN);
		return;
	}
	uint8_t f = cross ? MK_CROSS : 0;
	/* The COMMIT's space is not reserved: if the disk cannot take it, its
	 * write fails and the owner's domain undoes the unit (nothing of it
	 * was acknowledged), as for any failed write. */
	(void)jrnl_reserve_to(j, jrnl_size(j) + JRNL_FRAME + 10);
	const uint8_t *p = marker(&j->wbuf, MK_COMMIT, j->unit_id, &f, 1);
	if (j->unit_snap && j->snap_fd >= 0)
		jrnl_snap_add(j, p, JRNL_FRAME + 10);
	if (cross && j->unit_id > j->max_cross)
		j->max_cross = j->unit_id;
	if (buf_len(&j->wbuf) >= FLUSH_AT)
		jrnl_flush_wbuf(j);
	else
		loop_defer(j->loop, &j->flush_task);
}

void jrnl_unit_ids(const jrnl_t *j, uint64_t *max_id, uint64_t *max_cross)
{
	*max_id = j->max_id;
	*max_cross = j->max_cross;
}

/* A length over max_record at off: either damage (cut it) or a whole valid
 * record written under a larger limit. Cutting the latter would lose
 * acknowledged data, so it refuses the open instead (the operator raises the
 * limit). The CRC is checked in chunks, never allocating the claimed size. */
static int oversized(jrnl_t *j, uint64_t off, uint32_t len, uint64_t size, const char **why)
{
	*why = "length over the record limit";
	if (off + 8 + len > size)
		return 0;
	uint8_t h[8], chunk[65536];
	if (pread(j->fd, h, 8, (off_t)off) != 8)
		return 0;
	uint32_t crc = 0;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof chunk ? (size_t)(len - done) : sizeof chunk;
		if (pread(j->fd, chunk, n, (off_t)(off + 8 + done)) != (ssize_t)n)
			return 0;
		if (done == 0 && chunk[0] == 0)
			return 0;
		crc = crc32c(crc, chunk, n);
		done += n;
	}
	if (crc != be32_load(h + 4))
		return 0;
	log_error(j->log,
	          "journal %s: valid %u-byte record at offset %llu is over the record limit "
	          "(%zu); refusing to open: raise the limit",
	          j->path, len - 1, (unsigned long long)off, j->opts.max_record);
	return SL_ETOOBIG;
}

static int noop_record(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	(void)arg;
	(void)type;
	(void)payload;
	(void)len;
	return 0;
}

/* Calls fn on the owner records among the frames in [p, p + n). */
static int apply_held(jrnl_t *j, rp_t *x, const uint8_t *p, size_t n)
{
	for (size_t o = 0; o < n;) {
		uint32_t len = be32_load(p + o);
		if (p[o + 8] != 0) {
			int rc = x->fn(x->arg, p[o + 8], p + o + 9, len - 1);
			if (rc) {
				log_error(j->log,
				          "journal %s: the owner refused a record of a unit: %s",
				          j->path, sl_strerror(rc));
				return rc;
			}
			x->count++;
		}
		o += 8 + (size_t)len;
	}
	return 0;
}

/* Reads the file from x->from, replaying valid records into x->fn; the
 * records of a unit (BEGIN ... COMMIT) only once its COMMIT was read, so
 * a unit cut short by a crash applies none. Returns 0 (results in x), the
 * replay fn's error, or an I/O error. */
int jrnl_pass(jrnl_t *j, uint64_t size, rp_t *x)
{
	buf_t rb = BUF_INIT;
	uint64_t off = x->from; /* file offset of the next frame */
	uint64_t rd = x->from;  /* file offset of the next byte to read */
	uint64_t ustart = 0, uid = 0;
	size_t held = 0; /* bytes of rb that belong to the open unit */
	int open = 0, rc = 0;
	x->why = NULL;
	x->count = x->open_recs = 0;
	x->open_unit = x->peer_missing = 0;
	for (;;) {
		size_t have = buf_len(&rb) - held;
		size_t need = JRNL_FRAME;
		uint32_t len = 0;
		if (have >= 4) {
			len = be32_load(buf_data(&rb) + held);
			if (len == 0) {
				x->why = "zero length";
				break;
			}
			if ((uint64_t)len - 1 > j->opts.max_record) {
				rc = oversized(j, off, len, size, &x->why);
				break;
			}
			need = 8 + (size_t)len;
		}
		if (have < need) {
			if (rd >= size) {
				if (have)
					x->why = "short frame";
				break;
			}
			size_t want = need - have > READ_CHUNK ? need - have : READ_CHUNK;
			if ((uint64_t)want > size - rd)
				want = (size_t)(size - rd);
			uint8_t *p = buf_reserve(&rb, want);
			ssize_t k = pread(j->fd, p, want, (off_t)rd);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				rc = SL_EIO;
				log_error(j->log, "journal %s: read at %llu failed: %s", j->path,
				          (unsigned long long)rd, strerror(errno));
				break;
			}
			if (k == 0) {
				size = rd; /* the file shrank under us */
				continue;
			}
			buf_commit(&rb, (size_t)k);
			rd += (uint64_t)k;
			continue;
		}
		const uint8_t *p = buf_data(&rb) + held;
		if (crc32c(0, p + 8, len) != be32_load(p + 4)) {
			x->why = "checksum mismatch";
			break;
		}
		if (p[8] != 0) {
			if (open) {
				held += need;
				x->open_recs++;
			} else {
				rc = x->fn(x->arg, p[8], p + 9, len - 1);
				if (rc) {
					log_error(j->log,
					          "journal %s: the owner refused the record at "
					          "offset %llu: %s",
					          j->path, (unsigned long long)off,
					          sl_strerror(rc));
					break;
				}
				buf_consume(&rb, need);
				++x->count;
			}
			off += need;
			continue;
		}
		/* A unit marker. */
		uint8_t kind = len >= 10 ? p[9] : 0;
		uint64_t id = len >= 10 ? be64_load(p + 10) : 0;
		if (kind == MK_BEGIN && len == 10 && !open && x->cut_id && id >= x->cut_id) {
			x->peer_missing = 1;
			x->why = "unit dropped by its owner";
			break;
		} else if (kind == MK_BEGIN && len == 10 && !open) {
			open = 1;
			ustart = off;
			uid = id;
			held = need;
			x->open_recs = 0;
		} else if (kind == MK_COMMIT && len == 11 && (!open || id == uid)) {
			int cross = p[18] & MK_CROSS;
			if (open && id == uid && cross && id > x->cross_limit) {
				x->peer_missing = 1;
				x->why = "unit missing in its peer journal";
				break;
			}
			if (open && id == uid) {
				rc = apply_held(j, x, buf_data(&rb), held);
				if (rc)
					break;
				open = 0;
				buf_consume(&rb, held);
				held = 0;
			}
			/* A COMMIT with no BEGIN before it: a unit begun before an
			 * incremental compaction started copying; its records are
			 * in the snapshot. */
			if (!open)
				buf_consume(&rb, need);
			if (id > j->max_id)
				j->max_id = id;
			if (cross && id > j->max_cross)
				j->max_cross = id;
		} else if (kind == MK_WATERMARK && len == 18 && !open) {
			if (id > j->max_id)
				j->max_id = id;
			uint64_t c = be64_load(p + 18);
			if (c > j->max_cross)
				j->max_cross = c;
			buf_consume(&rb, need);
		} else {
			x->why = open && kind == MK_BEGIN ? "unit begun inside a unit"
			                                  : "bad unit marker";
			break;
		}
		off += need;
	}
	x->stop = off;
	x->valid_end = off;
	if (rc == 0 && open) {
		x->open_unit = 1;
		x->valid_end = ustart;
		if (x->apply_open)
			rc = apply_held(j, x, buf_data(&rb), held);
	}
	buf_deinit(&rb);
	return rc;
}

/* The records of [from, to) (valid frames; units not required to end) to
 * fn: what an owner must know of records it will never see applied. */
int jrnl_each_record(jrnl_t *j, uint64_t from, uint64_t to, jrnl_replay_fn fn, void *arg)
{
	uint64_t mid = j->max_id, mc = j->max_cross;
	rp_t x = {.fn = fn, .arg = arg, .from = from, .cross_limit = UINT64_MAX, .apply_open = 1};
	int rc = jrnl_pass(j, to, &x);
	j->max_id = mid;
	j->max_cross = mc;
	return rc;
}

/* Cuts the journal at the first unit the pass x stops at (see rp_t). */
static int unit_cut(jrnl_t *j, rp_t *x, int keep, jrnl_replay_fn discard, void *arg)
{
	jrnl_flush_wbuf(j);
	if (j->err)
		return j->err;
	j->max_id = j->max_cross = 0;
	x->fn = noop_record;
	x->from = JRNL_HDR;
	int rc = jrnl_pass(j, j->file_pos, x);
	if (rc || !x->peer_missing)
		return rc;
	log_warn(
	    j->log, "journal %s: %s at offset %llu: it and the %llu bytes after it are dropped",
	    j->path,
	    x->cut_id ? "a unit whose data elsewhere did not survive"
	              : "a unit missing from its peer journal (a crash between their writes)",
	    (unsigned long long)x->valid_end, (unsigned long long)(j->file_pos - x->valid_end));
	uint64_t at = x->valid_end;
	if (discard && (rc = jrnl_each_record(j, at, j->file_pos, discard, arg)) < 0)
		return rc;
	if (keep && (rc = jrnl_keep_aside(j, at, j->file_pos,
	                                  "units dropped to agree with a damaged journal")) < 0)
		return rc;
	rc = jrnl_cut(j, at);
	return rc < 0 ? rc : 1;
}

int jrnl_unit_cut_after(jrnl_t *j, uint64_t limit, int keep, jrnl_replay_fn discard, void *arg)
{
	rp_t x = {.cross_limit = limit};
	return unit_cut(j, &x, keep, discard, arg);
}

int jrnl_unit_cut_from(jrnl_t *j, uint64_t id, int keep, jrnl_replay_fn discard, void *arg)
{
	rp_t x = {.cross_limit = UINT64_MAX, .cut_id = id};
	return unit_cut(j, &x, keep, discard, arg);
}

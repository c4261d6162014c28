/*
 * plog.c — the partition log: an ordered list of segments (segment.c), the
 * active one last, plus the log start offset. Loop thread only; the syncer
 * thread fdatasyncs the active segment's fd.
 *
 * Directory layout (see docs/formats-log.md):
 *   <20-digit base>.log / .index / .timeindex   segments (segment.c)
 *   start-offset                                log start checkpoint
 *   recovery-point                              how far the log is durable
 *   compacted, cleaner-offset, <base>.cleaned   the log cleaner's (plog_clean.c)
 *
 * start-offset (16 bytes, big-endian):
 *   off 0  4  magic "SLSO"
 *   off 4  8  i64 log start offset
 *   off 12 4  u32 CRC-32C of bytes [0, 12)
 * Written by plog_delete_before before the start offset moves (not for a
 * log whose owner replays its trims: opts.start_replayed). Recovery
 * rule: start = max(checkpoint, base of the first segment), clamped to the
 * end offset; a missing or invalid checkpoint counts as 0 (with a warning
 * when invalid).
 *
 * recovery-point (24 bytes, big-endian):
 *   off 0  4  magic "SLRP"
 *   off 4  8  i64 segment base B
 *   off 12 8  u64 byte position P in segment B, a batch start
 *   off 20 4  u32 CRC-32C of bytes [0, 20)
 * Meaning: every segment before B, and bytes [0, P) of B, were synced.
 * Written by plog_housekeep when it moved; read and deleted by plog_open
 * (it describes one run: a later recovery could cut below it). Recovery
 * rule after an unclean shutdown: segments before B get the tail check,
 * segment B is CRC-checked from its last index entry at or below P, and
 * every later segment whole. Without the file the active segment is
 * checked whole and the others get the tail check.
 *
 * Both small files are written atomically: NAME.tmp, fsync, rename, fsync
 * of the directory; a leftover NAME.tmp is removed at open.
 *
 * Invariants: segments are sorted by base offset; only the last (active)
 * segment is appended to and registered with the syncer; a segment's base
 * equals the previous segment's next offset except where recovery cut a
 * damaged sealed segment (then reads skip the gap). Every stored batch has
 * PartitionLeaderEpoch PLOG_LEADER_EPOCH.
 *
 * Open walks every segment's tail from its last index entry (cheap: at
 * most index.interval bytes plus one batch each); after an unclean
 * shutdown those walks are CRC-checked and extended as the recovery point
 * says; see segment.c for the per-segment rule.
 *
 * Without a syncer (NULL, for tools and tests) syncs run inline and
 * plog_when_durable calls back before returning.
 *
 * Descriptors. Segments hold no descriptors of their own (segment.c):
 * every .log is a file of the syncer's descriptor cache, so ten thousand
 * partitions run under a limit of a few thousand descriptors, the hot ones
 * staying open. Two rules keep the durability guarantees:
 *   - The active segment's file is marked dirty in the cache from the
 *     first write after its last sync until a sync covers everything
 *     written (fsync=always and interval; under never nothing is
 *     promised). A descriptor closed over dirty pages could let the
 *     kernel report a writeback failure to nobody — the inode may be
 *     dropped before the next open and the next fdatasync "succeed"
 *     without the data — so an acknowledgement could be sent for bytes
 *     that never reached the disk. The cache closes a dirty file only at
 *     the process limit, and only after flush_dirty() synced it through
 *     the descriptor that wrote (a failure there is a sync failure like
 *     any other: the syncer reports it and the owner's policy runs).
 *   - The syncer syncs the active segment through the cache (pinned while
 *     the sync is in flight) instead of holding a dup() per partition.
 * Dirty files can take the cache over its capacity (a turn that writes to
 * more partitions than it holds); at the process limit appends then wait
 * for early syncs instead of failing. An append that still cannot get a
 * descriptor fails before it writes anything (SL_EMFILE), like a full
 * disk.
 */
#include "store/plog.h"
#include "store/plog_priv.h"

#include "core/crc32c.h"
#include "core/err.h"
#include "core/time.h"
#include "store/batch.h"
#include "store/segment.h"
#include "store/sio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(PLOG_LEADER_EPOCH == SEG_LEADER_EPOCH, "one leader epoch");

#define CKPT_NAME "start-offset"
#define CKPT_SIZE 16
#define RP_NAME "recovery-point"
#define RP_SIZE 24

void plog_opts_from_config(plog_opts_t *o, const sl_config_t *cfg)
{
	o->segment_bytes = cfg->log_segment_bytes;
	o->roll_ms = cfg->log_roll_ms;
	o->retention_bytes = cfg->log_retention_bytes;
	o->retention_ms = cfg->log_retention_ms;
	o->max_batch_bytes = cfg->message_max_bytes;
	o->index_interval_bytes = cfg->log_index_interval_bytes;
	o->fsync = cfg->fsync;
	o->gate_reads = 1;
	o->start_replayed = 0;
}

static void segs_push(plog_t *p, seg_t *s)
{
	if (p->nsegs == p->csegs) {
		p->csegs = p->csegs ? p->csegs * 2 : 8;
		p->segs = realloc(p->segs, p->csegs * sizeof *p->segs);
		if (!p->segs)
			abort();
	}
	p->segs[p->nsegs++] = s;
}

static void segs_drop_first(plog_t *p)
{
	memmove(p->segs, p->segs + 1, (p->nsegs - 1) * sizeof *p->segs);
	p->nsegs--;
}

/* --- syncing (through the syncer, or inline without one) --------------------- */

static void on_sync_error(void *arg, int err)
{
	plog_t *p = arg;
	if (!p->err)
		p->err = err;
	if (p->watch.failed)
		p->watch.failed(p->watch.arg, p->err);
}

static void on_synced(void *arg, uint64_t pos);

static int sync_active_now(plog_t *p);

/* The cache must close the dirty active file (the process is out of
 * descriptors): sync it first, through the descriptor that wrote. */
static int flush_dirty(void *arg)
{
	return sync_active_now(arg);
}

/* The active segment holds written, unsynced data: its descriptor stays
 * until a sync covers it (see the top of the file). Only where syncs are
 * tracked. */
static void mark_dirty(plog_t *p)
{
	if (!p->track_hw || p->dirty)
		return;
	p->dirty = active(p)->file;
	fdc_mark_dirty(p->dirty, flush_dirty, p);
}

static void mark_clean(plog_t *p)
{
	if (p->dirty)
		fdc_mark_clean(p->dirty);
	p->dirty = NULL;
}

static int sync_register(plog_t *p)
{
	if (!p->syncer)
		return 0;
	seg_t *a = active(p);
	p->sf = sync_file_new_cached(p->syncer, a->file, p->o.fsync, a->path);
	sync_file_on_error(p->sf, on_sync_error, p);
	if (p->track_hw)
		sync_file_on_synced(p->sf, on_synced, p);
	sync_file_written(p->sf, a->size);
	return 0;
}

static int sync_active_now(plog_t *p)
{
	if (p->sf)
		return sync_file_sync_now(p->sf);
	int fd = seg_fd(active(p));
	if (fd < 0)
		return fd;
	return sio_fdatasync(p->io, fd) < 0 ? sl_from_errno(errno) : 0;
}

/* fdatasync of a sealed segment (fsync=never sealed it unsynced). */
static int sync_seg(plog_t *p, seg_t *s)
{
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	return sio_fdatasync(p->io, fd) < 0 ? sl_from_errno(errno) : 0;
}

static void sync_release(plog_t *p)
{
	if (p->sf)
		sync_file_release(p->sf);
	p->sf = NULL;
}

/* --- high watermark -------------------------------------------------------------- */

static void hw_set(plog_t *p, int64_t hw, uint64_t pos)
{
	if (hw <= p->hw)
		return;
	p->hw = hw;
	p->hw_pos = pos;
	if (p->on_hw)
		p->on_hw(p->on_hw_arg);
}

/* Everything in the active segment up to byte `synced` is on disk. */
static void hw_advance(plog_t *p, uint64_t synced)
{
	int64_t hw = p->hw;
	uint64_t pos = p->hw_pos;
	while (p->pend_n && p->pend[p->pend_head].pos <= synced) {
		hw = p->pend[p->pend_head].end;
		pos = p->pend[p->pend_head].pos;
		p->pend_head = (p->pend_head + 1) % p->pend_cap;
		p->pend_n--;
	}
	hw_set(p, hw, pos);
}

static void on_synced(void *arg, uint64_t pos)
{
	plog_t *p = arg;
	hw_advance(p, pos);
	if (p->dirty && p->dirty == active(p)->file && pos >= active(p)->size)
		mark_clean(p);
}

static void hw_wait_register(plog_t *p);

static void on_hw_synced(void *arg, int status)
{
	hw_wait_t *w = arg;
	plog_t *p = w->p;
	free(w);
	if (!p)
		return;
	p->hww = NULL;
	if (status == 0 && p->pend_n)
		hw_wait_register(p);
}

/* fsync=always: asks for a sync covering every pending batch (the syncer
 * starts it at the end of the turn, so it is shared with every other
 * waiter); on_synced moves the watermark. */
static void hw_wait_register(plog_t *p)
{
	if (!p->gate || p->hww || !p->sf || !p->pend_n)
		return;
	p->hww = malloc(sizeof *p->hww);
	if (!p->hww)
		abort();
	p->hww->p = p;
	size_t last = (p->pend_head + p->pend_n - 1) % p->pend_cap;
	sync_file_when_durable(p->sf, p->pend[last].pos, on_hw_synced, p->hww);
}

static void hw_push(plog_t *p, uint64_t pos, int64_t end)
{
	if (p->pend_n == p->pend_cap) {
		size_t cap = p->pend_cap ? p->pend_cap * 2 : 64;
		pend_t *n = malloc(cap * sizeof *n);
		if (!n)
			abort();
		for (size_t i = 0; i < p->pend_n; i++)
			n[i] = p->pend[(p->pend_head + i) % p->pend_cap];
		free(p->pend);
		p->pend = n;
		p->pend_cap = cap;
		p->pend_head = 0;
	}
	p->pend[(p->pend_head + p->pend_n) % p->pend_cap] = (pend_t){pos, end};
	p->pend_n++;
	hw_wait_register(p);
}

/* The whole log is on disk (just opened, cut, or the active segment was
 * sealed with a sync). */
static void hw_reset(plog_t *p)
{
	p->pend_head = p->pend_n = 0;
	p->hw = active(p)->next;
	p->hw_pos = active(p)->size;
}

static void hw_orphan(plog_t *p)
{
	if (p->hww)
		p->hww->p = NULL;
	p->hww = NULL;
}

/* --- checkpoint files ------------------------------------------------------------ */

/* Writes a small file atomically: DIR/NAME.tmp, fsync, rename, fsync dir. */
static int small_write(plog_t *p, const char *name, const uint8_t *b, size_t n)
{
	char tmp[4096], path[4096];
	snprintf(tmp, sizeof tmp, "%s/%s.tmp", p->dir, name);
	snprintf(path, sizeof path, "%s/%s", p->dir, name);
	int fd = fdc_open_temp(p->fdc, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_from_errno(errno);
	int rc = sio_pwrite_all(p->io, fd, b, n, 0, NULL);
	if (rc == 0 && sio_fsync(p->io, fd) < 0)
		rc = sl_from_errno(errno);
	fdc_close_temp(p->fdc, fd);
	if (rc == 0 && sio_rename(p->io, tmp, path) < 0)
		rc = sl_from_errno(errno);
	if (rc == 0)
		rc = sio_fsync_dir(p->io, p->dir);
	if (rc < 0)
		log_error(p->log, "%s: cannot write %s: %s", p->dir, name, sl_strerror(rc));
	return rc;
}

/* Reads DIR/NAME of exactly n bytes starting with magic and ending with
 * the CRC-32C of the rest. Returns 0, SL_ENOENT when absent, SL_ECORRUPT
 * (logged) when invalid. */
static int small_read(plog_t *p, const char *name, const char *magic, uint8_t *b, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", p->dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? SL_ENOENT : sl_from_errno(errno);
	uint8_t tmp[64];
	ssize_t got = read(fd, tmp, sizeof tmp);
	close(fd);
	if (got != (ssize_t)n || memcmp(tmp, magic, 4) != 0 ||
	    crc32c(0, tmp, n - 4) != be32_load(tmp + n - 4)) {
		log_warn(p->log, "%s: invalid %s ignored", p->dir, name);
		return SL_ECORRUPT;
	}
	memcpy(b, tmp, n);
	return 0;
}

/* An offset checkpoint (start-offset, cleaner-offset): magic, i64, CRC. */
static int64_t off_read(plog_t *p, const char *name, const char *magic)
{
	uint8_t b[CKPT_SIZE];
	if (small_read(p, name, magic, b, sizeof b) < 0)
		return 0;
	int64_t v = (int64_t)be64_load(b + 4);
	return v < 0 ? 0 : v;
}

static int off_write(plog_t *p, const char *name, const char *magic, int64_t v)
{
	uint8_t b[CKPT_SIZE];
	memcpy(b, magic, 4);
	be64_store(b + 4, (uint64_t)v);
	be32_store(b + 12, crc32c(0, b, 12));
	return small_write(p, name, b, sizeof b);
}

static int64_t ckpt_read(plog_t *p)
{
	return off_read(p, CKPT_NAME, "SLSO");
}

static int ckpt_write(plog_t *p, int64_t start)
{
	return off_write(p, CKPT_NAME, "SLSO", start);
}

int plog_clean_ckpt_write(plog_t *p, int64_t offset)
{
	return off_write(p, PLOG_CLEAN_CKPT_NAME, "SLCO", offset);
}

/* Reads and removes the recovery point: it describes one run only (a
 * later recovery may cut below it), so it is consumed at open and written
 * again by housekeeping. Returns 0 with the segment base and position, or
 * SL_ENOENT. */
static int rp_take(plog_t *p, int64_t *base, uint64_t *pos)
{
	uint8_t b[RP_SIZE];
	int rc = small_read(p, RP_NAME, "SLRP", b, sizeof b);
	if (rc == SL_ENOENT)
		return rc;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", p->dir, RP_NAME);
	if (sio_unlink(p->io, path) == 0)
		(void)sio_fsync_dir(p->io, p->dir);
	if (rc < 0)
		return SL_ENOENT;
	*base = (int64_t)be64_load(b + 4);
	*pos = be64_load(b + 12);
	return 0;
}

/* Records how far this log is known durable: segments before the active
 * one were synced when sealed (unless fsync=never, then the first unsynced
 * one bounds it), and the active one up to the syncer's synced position,
 * rounded down to a batch start from the index. */
static void rp_update(plog_t *p)
{
	if (!p->sf)
		return;
	seg_t *a = active(p);
	int64_t base = a->base;
	uint64_t pos = seg_index_floor_pos(a, sync_file_synced_pos(p->sf));
	for (size_t i = 0; i + 1 < p->nsegs; i++) {
		if (p->segs[i]->unsynced) {
			base = p->segs[i]->base;
			pos = 0;
			break;
		}
	}
	if (base == p->rp_base && pos == p->rp_pos)
		return;
	uint8_t b[RP_SIZE];
	memcpy(b, "SLRP", 4);
	be64_store(b + 4, (uint64_t)base);
	be64_store(b + 12, pos);
	be32_store(b + 20, crc32c(0, b, 20));
	if (small_write(p, RP_NAME, b, sizeof b) == 0) {
		p->rp_base = base;
		p->rp_pos = pos;
	}
}

/* --- open / close ---------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Lists segment bases (sorted) and cleans up what a crash may leave:
 * orphan index files (their .log was deleted first) and the checkpoint's
 * temporary file. Anything else is reported and left alone. */
static int list_dir(plog_t *p, int64_t **bases, size_t *n)
{
	DIR *d = opendir(p->dir);
	if (!d)
		return sl_from_errno(errno);
	size_t cap = 16;
	int64_t *v = malloc(cap * sizeof *v), *orph = NULL;
	size_t norph = 0;
	if (!v)
		abort();
	*n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int64_t base;
		const char *ext;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, CKPT_NAME) || !strcmp(e->d_name, RP_NAME) ||
		    !strcmp(e->d_name, PLOG_CLEAN_CKPT_NAME))
			continue;
		if (!strcmp(e->d_name, PLOG_COMPACTED_NAME)) {
			p->gaps = 1;
			continue;
		}
		if (plog_clean_is_temp(e->d_name)) {
			/* A cleaned copy whose swap never happened (plog_clean.c):
			 * the segment it was made from is intact. */
			log_info(p->log, "%s: removing unfinished cleaner output %s", p->dir,
			         e->d_name);
			(void)sio_unlinkat(p->io, dirfd(d), p->dir, e->d_name);
			continue;
		}
		if (!strcmp(e->d_name, CKPT_NAME ".tmp") || !strcmp(e->d_name, RP_NAME ".tmp") ||
		    !strcmp(e->d_name, PLOG_CLEAN_CKPT_NAME ".tmp")) {
			(void)sio_unlinkat(p->io, dirfd(d), p->dir, e->d_name);
			continue;
		}
		ext = seg_parse_name(e->d_name, &base);
		if (!ext) {
			log_warn(p->log, "%s: ignoring unexpected file %s", p->dir, e->d_name);
			continue;
		}
		if (strcmp(ext, ".log") != 0) {
			orph = realloc(orph, (norph + 1) * sizeof *orph);
			if (!orph)
				abort();
			orph[norph++] = base;
			continue;
		}
		if (*n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof *v);
			if (!v)
				abort();
		}
		v[(*n)++] = base;
	}
	closedir(d);
	qsort(v, *n, sizeof *v, cmp_i64);
	for (size_t i = 0; i < norph; i++) {
		if (bsearch(&orph[i], v, *n, sizeof *v, cmp_i64))
			continue;
		char path[4096];
		log_info(p->log, "%s: removing index files of deleted segment %020" PRId64, p->dir,
		         orph[i]);
		seg_path(path, sizeof path, p->dir, orph[i], ".index");
		(void)sio_unlink(p->io, path);
		seg_path(path, sizeof path, p->dir, orph[i], ".timeindex");
		(void)sio_unlink(p->io, path);
	}
	free(orph);
	*bases = v;
	return 0;
}

static int new_segment(plog_t *p, int64_t base, seg_t **out)
{
	int rc = seg_create(out, p->dir, base, (uint64_t)p->o.index_interval_bytes, p->fdc, p->log,
	                    p->io);
	if (rc == 0 && p->o.fsync.mode != FSYNC_NEVER)
		rc = sio_fsync_dir(p->io, p->dir);
	if (rc < 0 && *out) {
		seg_remove(*out);
		*out = NULL;
	}
	return rc;
}

static void close_segs(plog_t *p)
{
	for (size_t i = 0; i < p->nsegs; i++)
		seg_close(p->segs[i]);
	free(p->segs);
	p->segs = NULL;
	p->nsegs = p->csegs = 0;
}

static void free_segs(plog_t *p)
{
	plog_clean_abandon(p);
	hw_orphan(p);
	mark_clean(p);
	close_segs(p);
	fdc_free(p->own_fdc);
	free(p->pend);
	free(p->dir);
	free(p);
}

/* Opens the segments of the directory (the recovery rule above), the log
 * start, the syncer registration and the high watermark. */
static int load(plog_t *p, int clean)
{
	const char *dir = p->dir;
	int64_t *bases = NULL, ckpt = 0, rp_base = -1;
	uint64_t rp_pos = 0;
	size_t nb = 0;
	p->rp_base = -1;
	int rc = list_dir(p, &bases, &nb);
	if (rc == 0) {
		ckpt = ckpt_read(p);
		if (rp_take(p, &rp_base, &rp_pos) < 0)
			rp_base = -1;
	}
	for (size_t i = 0; rc == 0 && i < nb; i++) {
		seg_t *s = NULL;
		/* Unclean: what the recovery point says is durable gets the
		 * tail check, everything after it a full one. Without a
		 * recovery point the active segment is checked whole. */
		int verify = SEG_VERIFY_NONE;
		uint64_t from = UINT64_MAX;
		if (!clean && rp_base >= 0) {
			verify = bases[i] <= rp_base ? SEG_VERIFY_TAIL : SEG_VERIFY_ALL;
			if (bases[i] == rp_base)
				from = rp_pos;
		} else if (!clean) {
			verify = i + 1 == nb ? SEG_VERIFY_ALL : SEG_VERIFY_TAIL;
		}
		if (p->gaps)
			verify |= SEG_OPEN_GAPS;
		rc = seg_open(&s, dir, bases[i], verify, from, (uint64_t)p->o.index_interval_bytes,
		              p->fdc, p->log, p->io);
		if (rc < 0)
			break;
		seg_t *prev = p->nsegs ? active(p) : NULL;
		if (prev && s->base < prev->next) {
			/* Overlapping offsets cannot come from sluice: leave the
			 * file for an operator rather than guess. */
			log_error(p->log,
			          "%s: segment %020" PRId64 " overlaps offsets before %" PRId64
			          "; ignored",
			          dir, s->base, prev->next);
			seg_close(s);
			continue;
		}
		if (prev && prev->next != s->base && prev->size && !p->gaps)
			log_warn(p->log, "%s: offsets %" PRId64 "..%" PRId64 " are missing", dir,
			         prev->next, s->base - 1);
		if (prev && prev->size == 0) {
			/* An empty non-last segment (cut to nothing by recovery). */
			seg_remove(prev);
			p->nsegs--;
		}
		segs_push(p, s);
		/* Map the previous one's indexes now, so that opening a long log
		 * never holds every index in memory at once. */
		if (p->nsegs >= 2)
			seg_idle(p->segs[p->nsegs - 2]);
	}
	free(bases);
	if (rc == 0 && p->nsegs == 0) {
		seg_t *s = NULL;
		rc = new_segment(p, ckpt, &s);
		if (rc == 0)
			segs_push(p, s);
	}
	if (rc < 0)
		return rc;
	seg_activate(active(p));
	int64_t end = active(p)->next;
	p->start = p->segs[0]->base > ckpt ? p->segs[0]->base : ckpt;
	/* Where the last cleaning pass ended (a compacted log), never below
	 * the start. */
	p->clean_from = off_read(p, PLOG_CLEAN_CKPT_NAME, "SLCO");
	if (p->clean_from < p->start || p->clean_from > end)
		p->clean_from = p->start;
	if (p->start > end)
		p->start = end;
	rc = sync_register(p);
	if (rc < 0)
		return rc;
	if (!clean && p->o.fsync.mode != FSYNC_NEVER) {
		/* What survived a process crash may still be only in the page
		 * cache: make it durable before building on it. */
		for (size_t i = 0; i + 1 < p->nsegs; i++)
			(void)sync_seg(p, p->segs[i]);
		(void)sync_active_now(p);
	}
	p->err = 0;
	hw_reset(p);
	return 0;
}

/* Removes what a failed open created in a directory that did not exist
 * before it: the first segment's files, the small files, the directory.
 * By name, so that it works with no descriptor to spare (a creation that
 * failed for lack of them); a directory that still holds anything else is
 * left alone. */
static void remove_created(sio_t *io, const char *dir, const log_t *log)
{
	static const char *const names[] = {"00000000000000000000.log",
	                                    "00000000000000000000.index",
	                                    "00000000000000000000.timeindex",
	                                    CKPT_NAME,
	                                    CKPT_NAME ".tmp",
	                                    RP_NAME,
	                                    RP_NAME ".tmp"};
	char path[4096];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		(void)sio_unlink(io, path);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		log_warn(log, "%s: cannot remove the directory of a failed creation: %s", dir,
		         strerror(errno));
}

int plog_open(plog_t **out, const char *dir, const plog_opts_t *opts, syncer_t *syncer,
              const log_t *log, int clean)
{
	sio_t *io = syncer_io(syncer);
	struct stat st;
	int existed = stat(dir, &st) == 0;
	int rc = sio_mkdir_p(io, dir);
	if (rc < 0) {
		log_error(log, "%s: cannot create directory: %s", dir, sl_strerror(rc));
		return rc;
	}
	plog_t *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	p->dir = strdup(dir);
	if (!p->dir)
		abort();
	p->o = *opts;
	if (p->o.index_interval_bytes <= 0)
		p->o.index_interval_bytes = 4096;
	p->syncer = syncer;
	p->log = log;
	p->io = io;
	p->fdc = syncer_fdc(syncer);
	if (!p->fdc)
		p->fdc = p->own_fdc = fdc_new(64, NULL, log);
	p->track_hw = syncer && p->o.fsync.mode != FSYNC_NEVER;
	p->gate = syncer && p->o.fsync.mode == FSYNC_ALWAYS && p->o.gate_reads;
	rc = load(p, clean);
	if (rc < 0) {
		sync_release(p);
		free_segs(p);
		if (!existed)
			remove_created(io, dir, log);
		return rc;
	}
	*out = p;
	return 0;
}

void plog_close(plog_t *p)
{
	if (!p)
		return;
	seg_t *a = active(p);
	(void)seg_seal(a, 1);
	if (!p->err && sync_active_now(p) == 0)
		mark_clean(p);
	for (size_t i = 0; i + 1 < p->nsegs; i++)
		if (p->segs[i]->unsynced)
			(void)sync_seg(p, p->segs[i]);
	sync_release(p);
	free_segs(p);
}

int plog_destroy(plog_t *p)
{
	char *dir = strdup(p->dir);
	if (!dir)
		abort();
	sio_t *io = p->io;
	/* The files this log knows are removed by name (no descriptor
	 * needed, so a creation undone for lack of descriptors leaves
	 * nothing); anything else is found by listing the directory. */
	size_t n = p->nsegs;
	int64_t *bases = malloc((n ? n : 1) * sizeof *bases);
	if (!bases)
		abort();
	for (size_t i = 0; i < n; i++)
		bases[i] = p->segs[i]->base;
	sync_release(p);
	free_segs(p);
	int rc = 0;
	static const char *const exts[] = {".log", ".index", ".timeindex"};
	static const char *const names[] = {CKPT_NAME,
	                                    CKPT_NAME ".tmp",
	                                    RP_NAME,
	                                    RP_NAME ".tmp",
	                                    PLOG_COMPACTED_NAME,
	                                    PLOG_CLEAN_CKPT_NAME,
	                                    PLOG_CLEAN_CKPT_NAME ".tmp"};
	char path[4352];
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 3; k++) {
			seg_path(path, sizeof path, dir, bases[i], exts[k]);
			if (sio_unlink(io, path) < 0 && errno != ENOENT && rc == 0)
				rc = sl_from_errno(errno);
		}
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[k]);
		(void)sio_unlink(io, path);
	}
	free(bases);
	if (rmdir(dir) < 0 && errno != ENOENT) {
		DIR *d = opendir(dir);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL)
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
				    sio_unlinkat(io, dirfd(d), dir, e->d_name) < 0 && rc == 0)
					rc = sl_from_errno(errno);
			closedir(d);
		}
		if (rmdir(dir) < 0 && rc == 0)
			rc = sl_from_errno(errno);
	}
	free(dir);
	return rc;
}

void plog_watch(plog_t *p, const store_watch_t *w)
{
	p->watch = *w;
}

void plog_on_hw(plog_t *p, void (*fn)(void *arg), void *arg)
{
	p->on_hw = fn;
	p->on_hw_arg = arg;
}

int64_t plog_hw(const plog_t *p)
{
	return p->gate ? p->hw : active(p)->next;
}

int64_t plog_synced_offset(const plog_t *p)
{
	/* Without tracking (fsync=never) only sealed segments are known to be
	 * on disk, and only when they were synced at the roll. */
	return p->track_hw ? p->hw : active(p)->base;
}

int plog_error(const plog_t *p)
{
	return p->err;
}

/* Index of the last segment with base <= offset (0 if none). */
static size_t seg_floor(const plog_t *p, int64_t offset);

int plog_cut(plog_t *p, int64_t offset)
{
	int64_t end = plog_end_offset(p);
	if (offset > end)
		offset = end;
	if (offset < p->segs[0]->base)
		offset = p->segs[0]->base;
	size_t i = seg_floor(p, offset);
	seg_t *s = p->segs[i];
	uint64_t pos = s->size;
	if (offset < s->next) {
		int64_t first;
		int rc = seg_locate(s, offset, &pos, &first);
		if (rc < 0)
			return rc;
		if (first != offset) {
			log_error(p->log, "%s: cannot cut at offset %" PRId64 ": not a batch start",
			          p->dir, offset);
			return SL_EINVAL;
		}
	}
	/* What lies past the cut is given up, what lies before it is synced
	 * by the cut itself: the active file is not dirty any more (and may
	 * be removed below). */
	mark_clean(p);
	/* Later segments hold nothing below the cut. */
	int removed = 0;
	while (p->nsegs > i + 1) {
		(void)seg_remove(p->segs[--p->nsegs]);
		removed = 1;
	}
	sync_release(p);
	hw_orphan(p);
	int rc = 0, truncated = 0;
	int fd = seg_fd(s);
	if (fd < 0)
		rc = fd;
	else if (sio_ftruncate(p->io, fd, (off_t)pos) < 0)
		rc = sl_from_errno(errno) == SL_ENOSPC ? SL_ENOSPC : SL_EIO;
	else if ((truncated = 1) && sio_fdatasync(p->io, fd) < 0)
		rc = sl_from_errno(errno) == SL_ENOSPC ? SL_ENOSPC : SL_EIO;
	if (rc == 0 && removed)
		rc = sio_fsync_dir(p->io, p->dir);
	if (rc < 0) {
		log_error(p->log, "%s: cannot cut back to offset %" PRId64 ": %s", p->dir, offset,
		          sl_strerror(rc));
		/* The file already ends at the cut: say so, so that the owner's
		 * retry finds the cut point (scanning for it would read past the
		 * end of the file). */
		if (truncated) {
			s->size = s->alloc = pos;
			if (offset < s->next)
				s->next = offset;
		}
		/* Keep a registration so the log stays usable for reads. */
		(void)sync_register(p);
		p->err = rc;
		return rc;
	}
	log_warn(p->log,
	         "%s: cut back from offset %" PRId64 " to %" PRId64 " (writes not made durable)",
	         p->dir, end, offset);
	/* Reopen from the files: the same recovery as a start, so indexes and
	 * offsets follow what is on disk (which the cut just synced). */
	close_segs(p);
	rc = load(p, 0);
	if (rc < 0) {
		log_error(p->log, "%s: cannot reopen after the cut: %s", p->dir, sl_strerror(rc));
		p->err = rc;
	}
	return rc;
}

/* --- append ----------------------------------------------------------------------- */

/* Seals the active segment and starts a new one at its end offset. On
 * failure the old segment stays active (sealing only trimmed it). */
static int roll(plog_t *p)
{
	seg_t *a = active(p);
	int sync = p->o.fsync.mode != FSYNC_NEVER;
	(void)seg_seal(a, sync);
	if (sync) {
		/* A failed sync leaves the segment's tail unknowable: nothing may
		 * be built after it (the owner cuts the log back). */
		int rc = sync_active_now(p);
		if (rc == SL_EMFILE)
			return rc; /* not synced, nothing failed: try again later */
		if (rc < 0) {
			p->err = rc;
			return rc;
		}
		mark_clean(p);
	} else {
		a->unsynced = 1;
	}
	seg_t *s = NULL;
	int rc = new_segment(p, a->next, &s);
	if (rc < 0)
		return rc;
	sync_release(p);
	hw_orphan(p);
	seg_idle(a);
	segs_push(p, s);
	rc = sync_register(p);
	hw_reset(p);
	if (rc < 0) {
		p->err = rc;
		return rc;
	}
	log_debug(p->log, "%s: rolled to segment %020" PRId64, p->dir, s->base);
	return 0;
}

int plog_append(plog_t *p, uint8_t *batch, size_t len, int64_t log_append_time_ms,
                int64_t *base_offset)
{
	batch_hdr_t h;
	size_t max = p->o.max_batch_bytes > 0 ? (size_t)p->o.max_batch_bytes : SIZE_MAX;
	int rc = batch_validate(batch, len, max, &h);
	if (rc < 0)
		return rc;
	if (p->err)
		return p->err;
	seg_t *a = active(p);
	int64_t end = a->next;
	if (a->size > 0 &&
	    (a->size + len > (uint64_t)p->o.segment_bytes ||
	     (uint64_t)(end - a->base) + (uint64_t)h.last_offset_delta >= UINT32_MAX)) {
		rc = roll(p);
		if (rc < 0)
			return rc;
		a = active(p);
	}
	batch_set_base_offset(batch, end);
	batch_set_leader_epoch(batch, PLOG_LEADER_EPOCH);
	h.base_offset = end;
	h.leader_epoch = PLOG_LEADER_EPOCH;
	if (log_append_time_ms >= 0) {
		batch_set_log_append_time(batch, len, log_append_time_ms);
		h.max_ts = log_append_time_ms;
		h.attributes |= BATCH_ATTR_LOG_APPEND_TIME;
	}
	seg_params_t prm = {(uint64_t)p->o.segment_bytes};
	rc = seg_append(a, batch, len, &h, &prm);
	if (rc < 0)
		return rc;
	mark_dirty(p);
	if (p->sf)
		sync_file_written(p->sf, a->size);
	if (p->track_hw)
		hw_push(p, a->size, a->next);
	*base_offset = end;
	if (p->watch.appended)
		p->watch.appended(p->watch.arg);
	return 0;
}

int plog_reserve(plog_t *p, size_t bytes)
{
	if (p->err)
		return p->err;
	seg_t *a = active(p);
	if (a->size > 0 && a->size + bytes > (uint64_t)p->o.segment_bytes) {
		int rc = roll(p);
		if (rc < 0)
			return rc;
		a = active(p);
	}
	return seg_reserve(a, a->size + bytes, (uint64_t)p->o.segment_bytes);
}

/* --- queries ---------------------------------------------------------------------- */

int64_t plog_start_offset(const plog_t *p)
{
	return p->start;
}
int64_t plog_end_offset(const plog_t *p)
{
	return active(p)->next;
}

void plog_max_timestamp(const plog_t *p, int64_t *ts, int64_t *offset)
{
	*ts = -1;
	*offset = -1;
	for (size_t i = 0; i < p->nsegs; i++) {
		seg_t *s = p->segs[i];
		int64_t t = s->max_ts, o = s->max_ts_off;
		if (s->next <= p->start)
			continue;
		/* After DeleteRecords inside this segment its maximum may lie
		 * below the start: look at what is left of it (rare). */
		if (o < p->start && seg_max_ts_from(s, p->start, &t, &o) < 0)
			continue;
		if (t > *ts) {
			*ts = t;
			*offset = o < p->start ? p->start : o;
		}
	}
}

/* Index of the last segment with base <= offset (0 if none). */
static size_t seg_floor(const plog_t *p, int64_t offset)
{
	size_t lo = 0, hi = p->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->segs[mid]->base <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

int plog_read(plog_t *p, int64_t offset, size_t max_bytes, plog_region_t *region)
{
	int64_t end = plog_end_offset(p);
	int64_t hw = plog_hw(p);
	if (offset < p->start || offset > end)
		return SL_ERANGE;
	region->fd = -1;
	region->file = NULL;
	region->pos = 0;
	region->len = 0;
	region->first_offset = hw;
	/* Offsets at or past the high watermark exist but are not durable
	 * yet: nothing to read (as Kafka below its high watermark). */
	if (offset >= hw)
		return 0;
	for (size_t i = seg_floor(p, offset); i < p->nsegs; i++) {
		seg_t *s = p->segs[i];
		uint64_t pos;
		int64_t first;
		size_t len;
		int rc;
		for (;;) {
			rc = seg_locate(s, offset, &pos, &first);
			if (rc < 0)
				break;
			rc = seg_extent(s, pos, max_bytes, &len);
			if (rc < 0 || seg_verified(s, pos + len))
				break;
			/* Written before this run and not checked yet: check it
			 * now (damage found becomes a hole), then look again. */
			rc = seg_verify(s, pos + len, 0);
			if (rc < 0)
				break;
		}
		if (rc == SL_ENOENT)
			continue; /* empty, or a gap left by recovery or damage */
		if (rc < 0)
			return rc;
		if (p->gate && i + 1 == p->nsegs && pos + len > p->hw_pos)
			len = p->hw_pos > pos ? (size_t)(p->hw_pos - pos) : 0;
		if (len == 0)
			return 0;
		int fd = seg_fd(s);
		if (fd < 0)
			return fd;
		region->fd = fd;
		region->file = s->file;
		region->pos = (off_t)pos;
		region->len = len;
		region->first_offset = first;
		return 0;
	}
	return 0;
}

uint64_t plog_verify_step(plog_t *p, uint64_t budget)
{
	uint64_t done = 0;
	for (size_t i = 0; i < p->nsegs && done < budget; i++) {
		seg_t *s = p->segs[i];
		if (seg_verified(s, UINT64_MAX))
			continue;
		uint64_t before = s->vpos;
		if (seg_verify(s, s->vend, budget - done) < 0)
			break;
		done += s->vpos - before;
		if (s->vpos == before)
			break;
	}
	return done;
}

size_t plog_damage(const plog_t *p, int64_t *missing)
{
	size_t n = 0;
	int64_t m = 0;
	for (size_t i = 0; i < p->nsegs; i++) {
		n += p->segs[i]->nholes;
		for (size_t k = 0; k < p->segs[i]->nholes; k++)
			m += p->segs[i]->holes[k].off_to - p->segs[i]->holes[k].off_from;
	}
	if (missing)
		*missing = m;
	return n;
}

int plog_find_by_time(plog_t *p, int64_t ts, int64_t *offset)
{
	for (size_t i = 0; i < p->nsegs; i++) {
		seg_t *s = p->segs[i];
		if (s->next <= p->start || s->max_ts < ts)
			continue;
		int rc = seg_find_by_time(s, ts, p->start, offset);
		if (rc == SL_ENOENT)
			continue;
		if (rc < 0)
			return rc;
		if (*offset < p->start)
			*offset = p->start;
		return *offset < plog_hw(p) ? 0 : SL_ENOENT;
	}
	return SL_ENOENT;
}

/* --- durability ------------------------------------------------------------------- */

void plog_when_durable(plog_t *p, int64_t end_offset, sync_cb fn, void *arg)
{
	seg_t *a = active(p);
	if (end_offset <= a->base) {
		/* Older data lives in sealed segments; under fsync=never those
		 * were sealed without a sync. Rare: do it now. */
		for (size_t i = 0; i + 1 < p->nsegs; i++) {
			seg_t *s = p->segs[i];
			if (s->unsynced && s->base < end_offset) {
				if (sync_seg(p, s) == 0)
					s->unsynced = 0;
			}
		}
	}
	if (!p->sf) {
		fn(arg, sync_active_now(p));
		return;
	}
	sync_file_when_durable(p->sf, end_offset > a->base ? a->size : 0, fn, arg);
}

int plog_sync_required(const plog_t *p)
{
	return p->o.fsync.mode == FSYNC_ALWAYS;
}

/* --- retention -------------------------------------------------------------------- */

static void drop_first(plog_t *p)
{
	seg_t *s = p->segs[0];
	log_info(p->log, "%s: deleting segment %020" PRId64 " (offsets %" PRId64 "..%" PRId64 ")",
	         p->dir, s->base, s->base, s->next - 1);
	if (seg_remove(s) < 0)
		log_warn(p->log, "%s: segment files not fully removed", p->dir);
	segs_drop_first(p);
	if (p->segs[0]->base > p->start)
		p->start = p->segs[0]->base;
}

/* Age basis: the segment's largest timestamp, or its file time when no
 * batch carries one (by name: housekeeping must not open every file). */
static int64_t seg_age_ts(const seg_t *s)
{
	if (s->max_ts >= 0)
		return s->max_ts;
	char path[4096];
	snprintf(path, sizeof path, "%s.log", s->path);
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

int plog_housekeep(plog_t *p, int64_t now_wall_ms)
{
	int deleted = 0;
	seg_t *a = active(p);
	int64_t first = a->first_ts >= 0 ? a->first_ts : seg_age_ts(a);
	if (a->size > 0 && p->o.roll_ms > 0 && now_wall_ms - first >= p->o.roll_ms)
		(void)roll(p);
	if (p->o.retention_ms >= 0) {
		a = active(p);
		/* When everything expired, roll so that the active data can go
		 * too (Kafka does the same). */
		if (a->size > 0 && now_wall_ms - seg_age_ts(a) > p->o.retention_ms) {
			int all = 1;
			for (size_t i = 0; i + 1 < p->nsegs; i++)
				all &= now_wall_ms - seg_age_ts(p->segs[i]) > p->o.retention_ms;
			if (all)
				(void)roll(p);
		}
		while (p->nsegs > 1 && now_wall_ms - seg_age_ts(p->segs[0]) > p->o.retention_ms) {
			drop_first(p);
			deleted++;
		}
	}
	if (p->o.retention_bytes >= 0) {
		uint64_t total = plog_size_bytes(p);
		while (p->nsegs > 1 && total - p->segs[0]->size >= (uint64_t)p->o.retention_bytes) {
			total -= p->segs[0]->size;
			drop_first(p);
			deleted++;
		}
	}
	/* The active segment's new index entries reach the files now and
	 * then, so a crash costs a short walk (segment.c). */
	(void)seg_flush_index(active(p));
	rp_update(p);
	return deleted;
}

int plog_delete_before(plog_t *p, int64_t offset)
{
	if (offset > plog_end_offset(p) || offset < 0)
		return SL_ERANGE;
	if (offset <= p->start)
		return 0;
	if (!p->o.start_replayed) {
		int rc = ckpt_write(p, offset);
		if (rc < 0)
			return rc;
	}
	p->start = offset;
	while (p->nsegs > 1 && p->segs[0]->next <= offset)
		drop_first(p);
	return 0;
}

uint64_t plog_size_bytes(const plog_t *p)
{
	uint64_t n = 0;
	for (size_t i = 0; i < p->nsegs; i++)
		n += p->segs[i]->size;
	return n;
}

int plog_segment_count(const plog_t *p)
{
	return (int)p->nsegs;
}

void plog_set_opts(plog_t *p, const plog_opts_t *opts)
{
	plog_opts_t o = *opts;
	o.fsync = p->o.fsync;
	o.index_interval_bytes = p->o.index_interval_bytes;
	o.gate_reads = p->o.gate_reads;
	o.start_replayed = p->o.start_replayed;
	p->o = o;
}

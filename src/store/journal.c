/*
 * journal.c — the state journal: framed records appended to one file,
 * replayed on open, compacted by snapshot-and-rename. See journal.h for the
 * API. Loop thread only; syncs go through the syncer's helper thread.
 *
 * File DIR/NAME.journal, format version 1 or 2 (all integers big-endian):
 *
 *   offset  size  field
 *   0       6     magic "SLJRNL"
 *   6       2     u16 format version (1; 2 once a unit marker was written)
 *   8       ...   records, back to back, each:
 *     +0    4     u32 length L: bytes of type + payload (1 <= L <= max_record+1)
 *     +4    4     u32 CRC-32C (Castagnoli) over the L bytes that follow
 *     +8    1     u8 type, 1..255 (owner-defined; 0: a unit marker)
 *     +9    L-1   payload
 *
 * Unit markers (type 0), payload: u8 kind, u64 unit id, then
 *   kind 1 BEGIN      (nothing more)                          L = 10
 *   kind 2 COMMIT     u8 flags (bit 0: cross-journal unit)     L = 11
 *   kind 3 WATERMARK  u64 highest cross-journal id (the id     L = 18
 *                     field: highest unit id), first in a compacted file
 * The records between a BEGIN and the COMMIT of its id are one unit:
 * replay holds them and applies them at the COMMIT, so a unit a crash cut
 * short applies none (jrnl_unit_*, journal.h). A one-record unit may go
 * without markers (opts.unit_strip). Version 1 files (no markers) are
 * read as ever; the first marker rewrites the header to version 2 in
 * place, so that an older binary sets the file aside (an unknown version)
 * instead of cutting it at the marker.
 *
 * A record is valid when its whole frame is inside the file, L is in range,
 * the CRC matches and the type is not 0 (or is a well-formed marker). The
 * journal is the header followed by the longest run of valid records;
 * nothing after the first invalid byte is ever replayed, because a record
 * after a damaged one may depend on it.
 *
 * Recovery rule, applied by jrnl_open in this order:
 *   1. DIR/NAME.journal.tmp is deleted if present: it is an unfinished
 *      compaction (or creation), and the rename over NAME.journal is the
 *      commit point of both.
 *   2. NAME.journal absent: a new one (header only) is written to the .tmp,
 *      fsynced, renamed into place and the directory fsynced.
 *   3. A file shorter than the header whose bytes are a prefix of it (a
 *      damaged or truncated new journal) is reset to an empty journal. A
 *      damaged magic with a valid record at offset 8 gets its header
 *      rewritten (warn). Any other file that is not a journal we can read
 *      (wrong magic, an unknown version, a short file that is not a prefix
 *      of the header) is renamed to NAME.journal.damaged-<unix time>
 *      (error logged; never deleted, never cut: it may be a newer format)
 *      and a new empty journal takes its place, so one damaged file never
 *      stops the server; with opts.strict the open is refused instead
 *      (SL_ECORRUPT) and the error line says what to move aside.
 *   4. Records are replayed from offset 8 (a unit's at its COMMIT). When
 *      the records end inside a unit (its COMMIT never written), the unit
 *      counts as part of the invalid tail: the cut below is at its BEGIN,
 *      its records go to opts.discard, and whether the tail is damage is
 *      judged from the frame that stopped the reading. If the first invalid frame
 *      starts a run of zero bytes that reaches the end of the file, that run
 *      is preallocated space (see Writes): the journal ends there, nothing is
 *      cut and nothing is logged above debug level. Otherwise, at the first
 *      invalid frame (short frame, L = 0, bad CRC, type 0) the file is
 *      truncated to the end of the last valid record, fsynced, and one
 *      warning says how many bytes were cut. New appends continue from
 *      there. The invalid bytes are damage rather than a torn append when
 *      a whole valid frame follows them somewhere, or when the previous run
 *      stopped cleanly (opts.clean_stop: nothing was being appended): the
 *      records after it cannot be replayed safely (each may depend on the
 *      lost one), so the tail from the damage on is first copied, synced,
 *      to NAME.journal.damaged-<unix time> (error logged; never deleted)
 *      and only then cut — or, with opts.strict, the open is refused. A
 *      torn append after a crash is cut without a copy. A frame whose L is
 *      over the record limit is invalid unless it is whole with a matching
 *      CRC: then it was written under a larger limit, and the open is
 *      refused (SL_ETOOBIG) rather than cutting acknowledged data. Names
 *      set aside never overwrite an earlier one (-2, -3... are appended).
 *
 * Writes. Appends are framed into a memory buffer and written with pwrite()
 * at the end of the loop turn (loop_defer), or at once when the buffer
 * passes FLUSH_AT. jrnl_when_durable() writes the buffer now and asks the
 * syncer for a callback at the resulting file size, so every append of the
 * turn shares one fdatasync. The file is grown ahead of the writes with
 * fallocate (1 MiB steps; zeros) so that a sync rarely has to commit a size
 * change; jrnl_close trims it back to the records. A failed write leaves at
 * most a partial frame at the tail (cut on the next open); the error is
 * logged once and is sticky: later appends and durability waits fail with
 * it, and waiters not yet answered get it too (conservatively: their
 * records may in fact be on disk).
 *
 * Compaction writes the owner's snapshot (its live state, re-appended with
 * jrnl_append) to NAME.journal.tmp, fsyncs it, renames it over the journal,
 * fsyncs the directory, and switches the fd and the syncer registration to
 * the new file. It runs synchronously on the loop thread; compactions are
 * rare and bounded by the live state. Waiters registered on the old file
 * are answered with success right after the switch: the snapshot, fsynced
 * and renamed in, holds every record they covered. They fire before any
 * waiter on the new file, so jrnl_when_durable callbacks stay in order.
 *
 * Incremental compaction (jrnl_snap_*, for owners whose state is too large
 * to write in one turn): the owner writes its snapshot into the .tmp a
 * piece at a time while appends keep going to the journal and are copied
 * into the .tmp as well (snap_buf, written at the end of the turn like
 * wbuf, synced in the background every SNAP_SYNC_STEP); the commit is the
 * same fsync, rename, directory fsync and switch as above (adopt). The
 * journal stays the only file durability waits on until then.
 */
#include "store/journal_priv.h"

#include "core/buf.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "store/sio.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const uint8_t header[JRNL_HDR] = {'S', 'L', 'J', 'R', 'N', 'L', 0, JRNL_VERSION};
static const uint8_t header2[JRNL_HDR] = {'S', 'L', 'J', 'R', 'N', 'L', 0, JRNL_VERSION_UNITS};

const uint8_t *jrnl_header(int version)
{
	return version >= JRNL_VERSION_UNITS ? header2 : header;
}

/* The header a new file of this journal gets. */
static const uint8_t *header_of(const jrnl_t *j)
{
	return jrnl_header(j->version);
}

/* Returns an owned "DIR/NAME<suffix>". */
static char *path_of(const char *dir, const char *name, const char *suffix)
{
	size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
	char *s = malloc(n);
	if (!s)
		abort();
	snprintf(s, n, "%s/%s%s", dir, name, suffix);
	return s;
}

int jrnl_write_all(jrnl_t *j, int fd, const uint8_t *p, size_t n, uint64_t off, size_t *done)
{
	return sio_pwrite_all(j->io, fd, p, n, (off_t)off, done);
}

/* --- writing ------------------------------------------------------------ */

/* Reserves file space for bytes [0, need) ahead of the writes, in PREALLOC
 * steps, so that most fdatasyncs commit data only and no size change
 * (measured here: ~125 us per sync into allocated space against ~1 ms when
 * every write extends the file), and so that a full disk shows up here,
 * before the owner applies the change the record describes, rather than in
 * the deferred write after it. The space reads as zeros, which replay takes
 * as the end. Returns 0, or SL_ENOSPC / SL_EIO when the space cannot be had
 * (nothing changed). A filesystem without fallocate gets plain appends
 * (their failures then arrive with the write). */
int jrnl_reserve_to(jrnl_t *j, uint64_t need)
{
	if (!j->prealloc || j->compacting || need <= j->alloc_end)
		return 0;
	uint64_t end = (need / PREALLOC + 1) * PREALLOC;
	if (sio_fallocate(j->io, j->fd, 0, (off_t)j->alloc_end, (off_t)(end - j->alloc_end)) == 0) {
		j->alloc_end = end;
		return 0;
	}
	int e = errno;
	if (e == EOPNOTSUPP || e == ENOSYS) {
		log_debug(j->log, "journal %s: no preallocation: %s", j->path, strerror(e));
		j->prealloc = 0;
		return 0;
	}
	if (sl_from_errno(e) == SL_ENOSPC || e == EFBIG) {
		/* Less than a step may still fit: just what this record needs. */
		end = (need + 4095) / 4096 * 4096;
		if (sio_fallocate(j->io, j->fd, 0, (off_t)j->alloc_end,
		                  (off_t)(end - j->alloc_end)) == 0) {
			j->alloc_end = end;
			return 0;
		}
		e = errno;
	}
	int rc = sl_from_errno(e) == SL_ENOSPC ? SL_ENOSPC : SL_EIO;
	log_warn(j->log, "journal %s: cannot reserve space for an append: %s", j->path,
	         strerror(e));
	return rc;
}

static int write_buffer(jrnl_t *j)
{
	size_t n = buf_len(&j->wbuf), done = 0;
	if (n == 0)
		return 0;
	int rc = jrnl_write_all(j, j->fd, buf_data(&j->wbuf), n, j->file_pos, &done);
	j->file_pos += done;
	buf_reset(&j->wbuf);
	if (rc == 0 && j->sf && !j->compacting)
		sync_file_written(j->sf, j->file_pos);
	return rc;
}

static void fail(jrnl_t *j, int err, const char *what)
{
	if (j->err)
		return;
	j->err = err;
	/* Waiters not yet answered get the error too, in order: the syncer
	 * answers them as if a sync had failed, and tells the owner (from a
	 * task, never inside this call) through on_sync_error. */
	sync_file_fail(j->sf, err);
	log_error(j->log,
	          "journal %s: %s failed at offset %llu: %s; refusing appends until cut back",
	          j->path, what, (unsigned long long)j->file_pos, sl_strerror(err));
}

void jrnl_flush_wbuf(jrnl_t *j)
{
	if (j->compacting) {
		int rc = write_buffer(j);
		if (rc && !j->compact_err)
			j->compact_err = rc;
		return;
	}
	if (j->err) {
		buf_reset(&j->wbuf);
		return;
	}
	int rc = write_buffer(j);
	if (rc)
		fail(j, rc, "write");
}

static void snap_write(jrnl_t *j);

static void on_flush_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	jrnl_t *j = t->arg;
	jrnl_flush_wbuf(j);
	if (j->snap_fd >= 0)
		snap_write(j);
}

/* Frames a record (type, a then b as its payload) at the end of b; returns
 * where the frame starts (valid until b changes). */
const uint8_t *jrnl_frame(buf_t *out, uint8_t type, const void *a, size_t alen, const void *b,
                          size_t blen)
{
	size_t len = alen + blen;
	uint8_t *p = buf_reserve(out, JRNL_FRAME + len);
	be32_store(p, (uint32_t)(len + 1));
	p[8] = type;
	if (alen)
		memcpy(p + 9, a, alen);
	if (blen)
		memcpy(p + 9 + alen, b, blen);
	be32_store(p + 4, crc32c(0, p + 8, len + 1));
	buf_commit(out, JRNL_FRAME + len);
	return p;
}

int jrnl_append2(jrnl_t *j, uint8_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	if (j->err && !j->compacting)
		return j->err;
	if (type == 0)
		return SL_EINVAL;
	if (alen > j->opts.max_record || blen > j->opts.max_record - alen)
		return SL_ETOOBIG;
	size_t len = alen + blen;
	int opening = j->in_unit && !j->unit_open && !j->compacting;
	int rc = jrnl_reserve_to(j, jrnl_size(j) + JRNL_FRAME + len + (opening ? BEGIN_LEN : 0));
	if (rc < 0)
		return rc;
	if (opening)
		jrnl_unit_open(j);
	if (j->in_unit)
		j->unit_nrec++;
	const uint8_t *p = jrnl_frame(&j->wbuf, type, a, alen, b, blen);
	if (j->snap_fd >= 0 && j->snap_mirror)
		jrnl_snap_add(j, p, JRNL_FRAME + len);
	if (buf_len(&j->wbuf) >= FLUSH_AT)
		jrnl_flush_wbuf(j);
	else if (!j->compacting)
		loop_defer(j->loop, &j->flush_task);
	if (!j->compacting && j->watch.appended)
		j->watch.appended(j->watch.arg);
	return 0;
}

int jrnl_reserve(jrnl_t *j, uint64_t bytes)
{
	if (j->err && !j->compacting)
		return j->err;
	return jrnl_reserve_to(j, jrnl_size(j) + bytes);
}

int jrnl_append(jrnl_t *j, uint8_t type, const void *payload, size_t len)
{
	return jrnl_append2(j, type, payload, len, NULL, 0);
}

void jrnl_when_durable(jrnl_t *j, sync_cb fn, void *arg)
{
	/* After a write failure the sync file is failed too, so this answers
	 * with the error, in order with earlier waiters. */
	jrnl_flush_wbuf(j);
	sync_file_when_durable(j->sf, j->file_pos, fn, arg);
}

int jrnl_commit_now(jrnl_t *j)
{
	if (j->err)
		return j->err;
	uint64_t was = j->file_pos;
	jrnl_flush_wbuf(j);
	int rc = j->err;
	if (rc == 0 && j->opts.fsync.mode != FSYNC_NEVER)
		rc = sync_file_sync_now(j->sf);
	if (rc == 0)
		return 0;
	/* Undo: what was just written must not survive, and nothing after
	 * the failure may build on pages the kernel may have dropped. */
	if (jrnl_cut(j, was) < 0)
		log_error(j->log, "journal %s: left failed until it can be cut back", j->path);
	return rc;
}

void jrnl_write_now(jrnl_t *j)
{
	if (!j->compacting)
		jrnl_flush_wbuf(j);
}

int jrnl_sync_now(jrnl_t *j)
{
	if (j->err)
		return j->err;
	jrnl_flush_wbuf(j);
	if (j->err || j->opts.fsync.mode == FSYNC_NEVER)
		return j->err;
	int rc = sync_file_sync_now(j->sf);
	if (rc)
		fail(j, rc, "fdatasync");
	return rc;
}

int jrnl_sync_required(const jrnl_t *j)
{
	return j->opts.fsync.mode == FSYNC_ALWAYS;
}

void jrnl_garbage(jrnl_t *j, uint64_t bytes)
{
	j->garbage += bytes;
}

uint64_t jrnl_size(const jrnl_t *j)
{
	return j->file_pos + buf_len(&j->wbuf);
}

uint64_t jrnl_garbage_bytes(const jrnl_t *j)
{
	return j->garbage;
}

/* The sync file failed (a sync, or a write through fail()): tell the owner.
 * The syncer runs this from a task, so the owner is never called back from
 * inside a journal call. */
static void on_sync_error(void *arg, int err)
{
	jrnl_t *j = arg;
	if (!j->err)
		j->err = err;
	if (j->watch.failed)
		j->watch.failed(j->watch.arg, j->err);
}

void jrnl_watch(jrnl_t *j, const store_watch_t *w)
{
	j->watch = *w;
}

uint64_t jrnl_synced(const jrnl_t *j)
{
	/* Under `never` nothing is synced on purpose: what was written is the
	 * best durable point there is. */
	if (j->opts.fsync.mode == FSYNC_NEVER)
		return j->file_pos;
	return sync_file_synced_pos(j->sf);
}

int jrnl_error(const jrnl_t *j)
{
	return j->err;
}

int jrnl_cut(jrnl_t *j, uint64_t pos)
{
	if (j->compacting)
		return SL_ESTATE;
	/* The new file holds copies of the records being undone. */
	jrnl_snap_abort(j);
	buf_reset(&j->wbuf);
	/* A unit open now (its owner failed mid-command) lost what it wrote
	 * with the buffer: it has nothing left to end, and a record after the
	 * cut opens it afresh (jrnl_unit_end would use its stale offsets). */
	j->unit_open = 0;
	j->unit_snap = 0;
	j->unit_nrec = 0;
	if (pos < JRNL_HDR)
		pos = JRNL_HDR;
	if (pos > j->file_pos)
		pos = j->file_pos;
	uint64_t was = j->file_pos;
	/* The cut must be on disk before anything is built on it: a failed
	 * sync leaves the page cache beyond the synced point unknowable. */
	if (sio_ftruncate(j->io, j->fd, (off_t)pos) < 0 || sio_fdatasync(j->io, j->fd) < 0) {
		int rc = sl_from_errno(errno) == SL_ENOSPC ? SL_ENOSPC : SL_EIO;
		log_error(j->log, "journal %s: cannot cut back to %llu bytes: %s", j->path,
		          (unsigned long long)pos, strerror(errno));
		return rc;
	}
	sync_file_t *nsf = sync_file_new(j->syncer, j->fd, j->opts.fsync, j->path);
	if (!nsf)
		return SL_EIO;
	/* Waiters on the old registration belong to writes being undone:
	 * they get its error, or SL_ECLOSED. */
	sync_file_release(j->sf);
	j->sf = nsf;
	sync_file_on_error(nsf, on_sync_error, j);
	sync_file_written(nsf, pos);
	sync_file_assume_synced(nsf, pos);
	j->file_pos = pos;
	j->alloc_end = pos;
	j->garbage = 0;
	j->err = 0;
	log_warn(j->log, "journal %s: cut back from %llu to %llu bytes (writes not made durable)",
	         j->path, (unsigned long long)was, (unsigned long long)pos);
	return 0;
}

/* --- compaction ---------------------------------------------------------- */

static void *closer(void *arg)
{
	close((int)(intptr_t)arg);
	return NULL;
}

/* Closes the last descriptor of the replaced journal on a short-lived
 * thread: that close frees the file's blocks, which took 65 ms on the loop
 * thread for a 100 MiB keys journal (ext4). Inline if no thread can be had. */
static void close_later(int fd)
{
	pthread_t t;
	if (pthread_create(&t, NULL, closer, (void *)(intptr_t)fd) == 0)
		pthread_detach(t);
	else
		close(fd);
}

/* The new file tfd (new_pos bytes written), fsynced and renamed over the
 * journal, becomes the journal; old_fd, old_pos: the old file and what it
 * had written. */
static int adopt(jrnl_t *j, int old_fd, int tfd, uint64_t new_pos, uint64_t old_pos,
                 uint64_t old_size)
{
	j->fd = tfd;
	j->file_pos = new_pos;
	/* Committed: from here on the new file is the journal. */
	int drc = sio_fsync_dir(j->io, j->dir);
	sync_file_t *nsf = sync_file_new(j->syncer, tfd, j->opts.fsync, j->path);
	int last = dup(old_fd);
	sio_close(j->io, old_fd);
	j->garbage = 0;
	j->alloc_end = j->file_pos;
	j->prealloc = 1;
	if (!nsf) {
		/* Keep the old registration as the place waiters are failed. */
		fail(j, SL_EIO, "registering the compacted file");
	} else {
		/* The old file's waiters are covered by the snapshot, which is on
		 * disk once the directory is: answer them now, so that they fire
		 * before any waiter on the new file (callbacks stay in order). If
		 * the directory sync failed, they keep waiting for the old file's
		 * own sync, which is right whichever file a crash leaves. */
		if (drc == 0)
			sync_file_assume_synced(j->sf, old_pos);
		sync_file_release(j->sf);
		j->sf = nsf;
		sync_file_on_error(nsf, on_sync_error, j);
		sync_file_written(nsf, j->file_pos);
		/* The new file itself was fsynced before the rename. */
		if (drc == 0)
			sync_file_assume_synced(nsf, j->file_pos);
		if (drc)
			fail(j, SL_EIO, "fsync of the directory after compaction");
	}
	log_info(j->log, "journal %s: compacted %llu -> %llu bytes", j->path,
	         (unsigned long long)old_size, (unsigned long long)j->file_pos);
	if (last >= 0)
		close_later(last);
	if (!j->err && j->watch.rebased)
		j->watch.rebased(j->watch.arg);
	return j->err;
}

/* Creates the compaction's new file: its descriptor, or an SL_E* code. */
static int open_tmp(jrnl_t *j)
{
	int tfd = sio_open(j->io, j->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (tfd < 0) {
		int rc = sl_from_errno(errno);
		log_warn(j->log, "journal %s: compaction skipped: cannot create %s: %s", j->path,
		         j->tmp_path, strerror(errno));
		return rc;
	}
	return tfd;
}

/* Unless rc (a failure so far) is set: fsyncs the new file tfd and renames
 * it over the journal, the commit point. Returns 0, or the failure (logged)
 * that leaves the old journal in use. */
static int install_tmp(jrnl_t *j, int tfd, int rc)
{
	if (rc == 0 && sio_fsync(j->io, tfd) < 0)
		rc = SL_EIO;
	if (rc == 0 && sio_rename(j->io, j->tmp_path, j->path) < 0)
		rc = sl_from_errno(errno);
	if (rc)
		log_warn(j->log, "journal %s: compaction abandoned, the old journal stays: %s",
		         j->path, sl_strerror(rc));
	return rc;
}

static int compact(jrnl_t *j, jrnl_snapshot_fn snapshot, void *arg)
{
	uint64_t old_size = jrnl_size(j);
	jrnl_flush_wbuf(j);
	if (j->err)
		return j->err;
	int tfd = open_tmp(j);
	if (tfd < 0)
		return tfd;
	int old_fd = j->fd;
	uint64_t old_pos = j->file_pos;
	j->fd = tfd;
	j->file_pos = 0;
	j->compacting = 1;
	j->compact_err = 0;
	buf_append(&j->wbuf, header_of(j), JRNL_HDR);
	jrnl_watermark(j, &j->wbuf);
	int rc = snapshot(arg, j);
	if (rc == 0)
		jrnl_flush_wbuf(j);
	j->compacting = 0;
	if (rc == 0)
		rc = j->compact_err;
	rc = install_tmp(j, tfd, rc);
	if (rc) {
		buf_reset(&j->wbuf);
		sio_close(j->io, tfd);
		(void)sio_unlink(j->io, j->tmp_path);
		j->fd = old_fd;
		j->file_pos = old_pos;
		return rc;
	}

	return adopt(j, old_fd, tfd, j->file_pos, old_pos, old_size);
}

int jrnl_maybe_compact(jrnl_t *j, jrnl_snapshot_fn snapshot, void *arg)
{
	if (j->err)
		return j->err;
	if (j->compacting)
		return SL_ESTATE;
	/* A snapshot taken inside a unit would hold the effects of its first
	 * records outside any unit: wait for its end. */
	if (j->in_unit)
		return 0;
	uint64_t size = jrnl_size(j);
	if (size == 0 || size < (uint64_t)j->opts.compact_min_bytes)
		return 0;
	if (j->garbage * 100 / size < (uint64_t)j->opts.compact_ratio_pct)
		return 0;
	return compact(j, snapshot, arg);
}

/* --- incremental compaction ---------------------------------------------- */

/* Where the syncer's callbacks for the new file report how far it is
 * synced: shared with them, since they may fire after the compaction was
 * abandoned and even after the journal was closed (journal NULL then). */
typedef struct snap_cell {
	jrnl_t *j;
	int refs; /* callbacks pending */
	uint64_t synced;
} snap_cell_t;

typedef struct snap_wait {
	snap_cell_t *cell;
	uint64_t pos;
} snap_wait_t;

static void snap_synced(void *arg, int status)
{
	snap_wait_t *w = arg;
	snap_cell_t *c = w->cell;
	if (c->j && status == 0 && w->pos > c->synced)
		c->synced = w->pos;
	else if (c->j && status && !c->j->snap_err)
		c->j->snap_err = status;
	if (--c->refs == 0 && !c->j)
		free(c);
	free(w);
}

/* Asks the syncer to sync the new file up to what was written. */
static void snap_ask_sync(jrnl_t *j)
{
	if (!j->snap_sf || j->snap_asked == j->snap_pos)
		return;
	snap_wait_t *w = malloc(sizeof *w);
	if (!w)
		abort();
	w->cell = j->snap_cell;
	w->pos = j->snap_pos;
	j->snap_cell->refs++;
	sync_file_written(j->snap_sf, j->snap_pos);
	sync_file_when_durable(j->snap_sf, j->snap_pos, snap_synced, w);
	j->snap_asked = j->snap_pos;
}

/* Writes the new file's pending records and asks the syncer to sync them
 * in the background, so the commit's own fsync has little left to do. A
 * failure abandons the compaction at its commit (the old file stays). */
static void snap_write(jrnl_t *j)
{
	size_t n = buf_len(&j->snap_buf), done = 0;
	if (n == 0 || j->snap_err) {
		buf_reset(&j->snap_buf);
		return;
	}
	int rc = jrnl_write_all(j, j->snap_fd, buf_data(&j->snap_buf), n, j->snap_pos, &done);
	j->snap_pos += done;
	buf_reset(&j->snap_buf);
	if (rc) {
		j->snap_err = rc;
		return;
	}
	if (j->snap_pos >= j->snap_asked + SNAP_SYNC_STEP)
		snap_ask_sync(j);
}

/* Writes the new file's buffer now if it is large, else at the turn's end. */
static void snap_kick(jrnl_t *j)
{
	if (buf_len(&j->snap_buf) >= FLUSH_AT)
		snap_write(j);
	else
		loop_defer(j->loop, &j->flush_task);
}

void jrnl_snap_add(jrnl_t *j, const void *frame, size_t n)
{
	buf_append(&j->snap_buf, frame, n);
	snap_kick(j);
}

int jrnl_snap_begin(jrnl_t *j)
{
	if (j->err)
		return j->err;
	if (j->compacting || j->snap_fd >= 0)
		return SL_ESTATE;
	int tfd = open_tmp(j);
	if (tfd < 0)
		return tfd;
	fsync_policy_t always = {.mode = FSYNC_ALWAYS};
	j->snap_sf = sync_file_new(j->syncer, tfd, always, j->tmp_path);
	j->snap_cell = calloc(1, sizeof *j->snap_cell);
	if (!j->snap_cell)
		abort();
	j->snap_cell->j = j;
	j->snap_fd = tfd;
	j->snap_err = 0;
	j->snap_mirror = 1;
	j->snap_pos = j->snap_asked = 0;
	buf_reset(&j->snap_buf);
	buf_append(&j->snap_buf, header_of(j), JRNL_HDR);
	jrnl_watermark(j, &j->snap_buf);
	return 0;
}

int jrnl_snap_active(const jrnl_t *j)
{
	return j->snap_fd >= 0;
}

void jrnl_snap_mirror(jrnl_t *j, int on)
{
	j->snap_mirror = on;
}

int jrnl_snap_append(jrnl_t *j, uint8_t type, const void *payload, size_t len)
{
	if (j->snap_fd < 0)
		return SL_ESTATE;
	if (type == 0)
		return SL_EINVAL;
	if (len > j->opts.max_record)
		return SL_ETOOBIG;
	jrnl_frame(&j->snap_buf, type, payload, len, NULL, 0);
	snap_kick(j);
	return 0;
}

static void snap_close(jrnl_t *j, int unlink_tmp)
{
	buf_reset(&j->snap_buf);
	if (j->snap_sf)
		sync_file_release(j->snap_sf);
	j->snap_sf = NULL;
	j->snap_cell->j = NULL;
	if (j->snap_cell->refs == 0)
		free(j->snap_cell);
	j->snap_cell = NULL;
	if (unlink_tmp) {
		sio_close(j->io, j->snap_fd);
		(void)sio_unlink(j->io, j->tmp_path);
	}
	j->snap_fd = -1;
}

void jrnl_snap_abort(jrnl_t *j)
{
	if (j->snap_fd < 0)
		return;
	log_info(j->log, "journal %s: incremental compaction abandoned", j->path);
	snap_close(j, 1);
}

uint64_t jrnl_snap_size(const jrnl_t *j)
{
	return j->snap_fd < 0 ? 0 : j->snap_pos + buf_len(&j->snap_buf);
}

int jrnl_snap_flush(jrnl_t *j)
{
	if (j->snap_fd < 0)
		return 0;
	snap_write(j);
	snap_ask_sync(j);
	return j->snap_cell->synced >= j->snap_asked;
}

int jrnl_snap_commit(jrnl_t *j)
{
	if (j->snap_fd < 0)
		return SL_ESTATE;
	uint64_t old_size = jrnl_size(j);
	jrnl_flush_wbuf(j);
	snap_write(j);
	/* Most of the file was synced in the background already. */
	int rc = install_tmp(j, j->snap_fd, j->err ? j->err : j->snap_err);
	if (rc) {
		snap_close(j, 1);
		return rc;
	}
	int tfd = j->snap_fd;
	uint64_t new_pos = j->snap_pos;
	snap_close(j, 0);
	return adopt(j, j->fd, tfd, new_pos, j->file_pos, old_size);
}

/* --- open and replay ----------------------------------------------------- */

/* Whether bytes [from, to) of the file are all zero (preallocated space). */
static int zero_tail(jrnl_t *j, uint64_t from, uint64_t to)
{
	uint8_t chunk[65536];
	while (from < to) {
		size_t n = to - from < sizeof chunk ? (size_t)(to - from) : sizeof chunk;
		if (pread(j->fd, chunk, n, (off_t)from) != (ssize_t)n)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (chunk[i])
				return 0;
		from += n;
	}
	return 1;
}

int jrnl_replay(jrnl_t *j, jrnl_replay_fn fn, void *arg)
{
	jrnl_flush_wbuf(j);
	if (j->err)
		return j->err;
	j->max_id = j->max_cross = 0;
	rp_t x = {.fn = fn, .arg = arg, .from = JRNL_HDR, .cross_limit = UINT64_MAX};
	int rc = jrnl_pass(j, j->file_pos, &x);
	if (rc == 0 && x.open_unit && x.stop == j->file_pos) {
		/* A cut back to the last synced point can end inside a unit whose
		 * first records were written (a large one) and synced with
		 * someone else's: the rest of it was undone, so it goes too. */
		log_warn(j->log, "journal %s: dropping an unfinished unit of %llu records", j->path,
		         (unsigned long long)x.open_recs);
		return jrnl_cut(j, x.valid_end);
	}
	if (rc == 0 && x.valid_end < j->file_pos) {
		log_error(j->log, "journal %s: replay stopped at %llu of %llu bytes (%s)", j->path,
		          (unsigned long long)x.valid_end, (unsigned long long)j->file_pos,
		          x.why ? x.why : "unreadable");
		rc = SL_ECORRUPT;
	}
	return rc;
}

/* Whether a whole valid frame starts anywhere in (from, size): the sign of
 * damage in the middle rather than a torn tail (a torn append is followed
 * by nothing, or by preallocated zeros). */
static int valid_frame_after(jrnl_t *j, uint64_t from, uint64_t size)
{
	if (size - from < JRNL_FRAME + 1)
		return 0;
	const uint8_t *m = mmap(NULL, size, PROT_READ, MAP_SHARED, j->fd, 0);
	if (m == MAP_FAILED)
		return 0;
	int found = 0;
	for (uint64_t off = from + 1; !found && off + JRNL_FRAME <= size; off++) {
		uint32_t len = be32_load(m + off);
		if (len == 0 || (uint64_t)len - 1 > j->opts.max_record || off + 8 + len > size ||
		    m[off + 8] == 0)
			continue;
		found = crc32c(0, m + off + 8, len) == be32_load(m + off + 4);
	}
	munmap((void *)m, size);
	return found;
}

/* Returns an owned DIR/NAME.journal.damaged-<unix time>, with -2, -3...
 * appended while that name is taken: a copy set aside is never
 * overwritten, even by two damaged starts within one second. */
static char *aside_path(const jrnl_t *j)
{
	long long now = (long long)time(NULL);
	for (int k = 1;; k++) {
		char suffix[64];
		if (k == 1)
			snprintf(suffix, sizeof suffix, ".journal.damaged-%lld", now);
		else
			snprintf(suffix, sizeof suffix, ".journal.damaged-%lld-%d", now, k);
		char *p = path_of(j->dir, j->name, suffix);
		struct stat st;
		if (lstat(p, &st) < 0 && errno == ENOENT)
			return p;
		free(p);
	}
}

/* Copies bytes [from, size) to DIR/NAME.journal.damaged-<unix time>,
 * synced, before the journal is cut there. */
int jrnl_keep_aside(jrnl_t *j, uint64_t from, uint64_t size, const char *why)
{
	char *aside = aside_path(j);
	int fd = sio_open(j->io, aside, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int rc = fd < 0 ? sl_from_errno(errno) : 0;
	uint8_t chunk[65536];
	for (uint64_t off = from; rc == 0 && off < size;) {
		size_t n = size - off < sizeof chunk ? (size_t)(size - off) : sizeof chunk;
		if (pread(j->fd, chunk, n, (off_t)off) != (ssize_t)n)
			rc = SL_EIO;
		else
			rc = sio_pwrite_all(j->io, fd, chunk, n, (off_t)(off - from), NULL);
		off += n;
	}
	if (rc == 0 && sio_fsync(j->io, fd) < 0)
		rc = SL_EIO;
	if (fd >= 0)
		sio_close(j->io, fd);
	if (rc == 0)
		rc = sio_fsync_dir(j->io, j->dir);
	if (rc == 0 && why)
		log_error(j->log,
		          "journal %s: %s: the %llu bytes from offset %llu are kept in %s before "
		          "the cut",
		          j->path, why, (unsigned long long)(size - from), (unsigned long long)from,
		          aside);
	else if (rc == 0)
		log_error(
		    j->log,
		    "journal %s: damaged record at offset %llu; it and any records after it "
		    "cannot be replayed safely (each may depend on the damaged one): the %llu "
		    "bytes from there are kept in %s, the records before it are in use",
		    j->path, (unsigned long long)from, (unsigned long long)(size - from), aside);
	else
		log_error(j->log,
		          "journal %s: damaged record at offset %llu, and the bytes from there "
		          "cannot be kept aside in %s (%s); refusing to open: copy the file "
		          "elsewhere, then start again",
		          j->path, (unsigned long long)from, aside, sl_strerror(rc));
	free(aside);
	return rc;
}

/* Creates an empty journal atomically: header into the .tmp, fsync, rename,
 * fsync the directory. */
static int create_file(jrnl_t *j)
{
	int fd = sio_open(j->io, j->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_from_errno(errno);
	int rc = jrnl_write_all(j, fd, header, JRNL_HDR, 0, NULL);
	if (rc == 0 && sio_fsync(j->io, fd) < 0)
		rc = SL_EIO;
	if (rc == 0 && sio_rename(j->io, j->tmp_path, j->path) < 0)
		rc = sl_from_errno(errno);
	if (rc == 0)
		rc = sio_fsync_dir(j->io, j->dir);
	sio_close(j->io, fd);
	if (rc)
		(void)sio_unlink(j->io, j->tmp_path);
	return rc;
}

/* Whether a whole valid record starts at offset 8: the records of a
 * journal whose magic alone was damaged. */
static int valid_first_frame(jrnl_t *j, uint64_t size)
{
	uint8_t h[JRNL_FRAME];
	if (size < JRNL_HDR + JRNL_FRAME ||
	    pread(j->fd, h, sizeof h, JRNL_HDR) != (ssize_t)sizeof h)
		return 0;
	uint32_t len = be32_load(h);
	if (len == 0 || (uint64_t)len - 1 > j->opts.max_record ||
	    JRNL_HDR + 8 + (uint64_t)len > size || h[8] == 0)
		return 0;
	uint8_t *body = malloc(len);
	if (!body)
		abort();
	int ok = pread(j->fd, body, len, JRNL_HDR + 8) == (ssize_t)len &&
	         crc32c(0, body, len) == be32_load(h + 4);
	free(body);
	return ok;
}

/* Checks the header; resets a file that holds only a prefix of one and
 * rewrites a damaged magic in front of valid records. SL_ECORRUPT (why
 * set) when the file is not a journal this version can read. */
static int check_header(jrnl_t *j, uint64_t *size, const char **why)
{
	uint8_t h[JRNL_HDR];
	size_t n = *size < JRNL_HDR ? (size_t)*size : JRNL_HDR;
	ssize_t k = pread(j->fd, h, n, 0);
	if (k != (ssize_t)n)
		return SL_EIO;
	if (n < JRNL_HDR) {
		if (memcmp(h, header, n) != 0) {
			*why = "a short file that is not a journal header";
			return SL_ECORRUPT;
		}
		log_warn(j->log,
		         "journal %s: %zu-byte file holds no complete header; starting empty",
		         j->path, n);
		if (sio_ftruncate(j->io, j->fd, 0) < 0 ||
		    jrnl_write_all(j, j->fd, header, JRNL_HDR, 0, NULL) ||
		    sio_fsync(j->io, j->fd) < 0)
			return SL_EIO;
		*size = JRNL_HDR;
		return 0;
	}
	uint16_t v = be16_load(h + 6);
	if (v == JRNL_VERSION || v == JRNL_VERSION_UNITS)
		j->version = v;
	if (memcmp(h, JRNL_MAGIC, 6) == 0 && j->version)
		return 0;
	if (memcmp(h, JRNL_MAGIC, 6) != 0 && j->version && valid_first_frame(j, *size) &&
	    !j->opts.strict) {
		/* Only the magic is hit and the records are ours: keep them. */
		log_warn(j->log, "journal %s: damaged magic in front of valid records; rewritten",
		         j->path);
		if (jrnl_write_all(j, j->fd, header_of(j), JRNL_HDR, 0, NULL) ||
		    sio_fsync(j->io, j->fd) < 0)
			return SL_EIO;
		j->damaged = 1;
		return 0;
	}
	*why = memcmp(h, JRNL_MAGIC, 6) != 0 ? "not a sluice journal (bad magic)"
	                                     : "unsupported format version";
	return SL_ECORRUPT;
}

/* The file is not a journal we can read: renames it aside (never deleted:
 * it may be a newer format, or hold what an operator can still save) and
 * starts an empty journal in its place. */
static int set_aside(jrnl_t *j, const char *why, uint64_t *size)
{
	char *aside = aside_path(j);
	sio_close(j->io, j->fd);
	j->fd = -1;
	int rc = 0;
	if (sio_rename(j->io, j->path, aside) < 0 || sio_fsync_dir(j->io, j->dir) < 0) {
		rc = SL_EIO;
		log_error(j->log,
		          "journal %s: %s, and it cannot be set aside as %s (%s); refusing to "
		          "start: move it elsewhere by hand",
		          j->path, why, aside, strerror(errno));
	}
	if (rc == 0)
		rc = create_file(j);
	if (rc == 0) {
		j->fd = sio_open(j->io, j->path, O_RDWR | O_CLOEXEC, 0);
		if (j->fd < 0)
			rc = sl_from_errno(errno);
	}
	if (rc == 0) {
		log_error(j->log,
		          "journal %s: %s; set aside as %s, starting with an empty journal: the "
		          "state it held is missing until it is restored",
		          j->path, why, aside);
		*size = JRNL_HDR;
		j->damaged = 1;
		j->aside = 1;
	}
	free(aside);
	return rc;
}

static void jrnl_destroy(jrnl_t *j)
{
	buf_deinit(&j->wbuf);
	buf_deinit(&j->snap_buf);
	free(j->dir);
	free(j->name);
	free(j->path);
	free(j->tmp_path);
	free(j);
}

int jrnl_open_damaged(const jrnl_t *j)
{
	return j->damaged;
}

int jrnl_open_set_aside(const jrnl_t *j)
{
	return j->aside;
}

int jrnl_open(jrnl_t **out, loop_t *loop, syncer_t *syncer, const log_t *log, const char *dir,
              const char *name, const jrnl_opts_t *opts, jrnl_replay_fn fn, void *arg)
{
	*out = NULL;
	jrnl_t *j = calloc(1, sizeof *j);
	if (!j)
		abort();
	j->loop = loop;
	j->syncer = syncer;
	j->log = log;
	j->opts = *opts;
	if (j->opts.max_record == 0)
		j->opts.max_record = DEFAULT_MAX_RECORD;
	if (j->opts.max_record > UINT32_MAX - 1)
		j->opts.max_record = UINT32_MAX - 1;
	j->dir = strdup(dir);
	j->name = strdup(name);
	if (!j->dir || !j->name)
		abort();
	j->path = path_of(dir, name, ".journal");
	j->tmp_path = path_of(dir, name, ".journal.tmp");
	j->fd = -1;
	j->snap_fd = -1;
	j->io = syncer_io(syncer);
	buf_init(&j->wbuf);
	buf_init(&j->snap_buf);
	loop_task_init(&j->flush_task, on_flush_task, j);

	int rc = 0;
	if (sio_unlink(j->io, j->tmp_path) == 0)
		log_info(log, "journal %s: removed %s left by an unfinished compaction", j->path,
		         j->tmp_path);
	j->fd = sio_open(j->io, j->path, O_RDWR | O_CLOEXEC, 0);
	if (j->fd < 0 && errno == ENOENT) {
		rc = create_file(j);
		if (rc) {
			log_error(log, "journal %s: cannot create: %s", j->path, sl_strerror(rc));
			goto fail;
		}
		j->fd = sio_open(j->io, j->path, O_RDWR | O_CLOEXEC, 0);
	}
	if (j->fd < 0) {
		rc = sl_from_errno(errno);
		log_error(log, "journal %s: cannot open: %s", j->path, strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(j->fd, &st) < 0) {
		rc = SL_EIO;
		goto fail;
	}
	uint64_t size = (uint64_t)st.st_size;
	const char *hwhy = NULL;
	rc = check_header(j, &size, &hwhy);
	if (rc == SL_ECORRUPT && j->opts.strict)
		log_error(log,
		          "journal %s: %s; refusing to start (strict.recovery): move %s aside to "
		          "start with an empty journal, or start without strict.recovery to have "
		          "it set aside as %s.damaged-<time>",
		          j->path, hwhy, j->path, j->path);
	else if (rc == SL_ECORRUPT)
		rc = set_aside(j, hwhy, &size);
	if (rc)
		goto fail;
	rp_t x = {.fn = fn, .arg = arg, .from = JRNL_HDR, .cross_limit = UINT64_MAX};
	rc = jrnl_pass(j, size, &x);
	if (rc)
		goto fail;
	uint64_t end = x.valid_end, count = x.count;
	const char *why = x.why;
	/* Where the bytes that are not records start: after a unit left open,
	 * at the frame that stopped the reading. */
	uint64_t stop = x.stop;
	j->alloc_end = size;
	j->prealloc = 1;
	if (!x.open_unit && end < size && why && strcmp(why, "zero length") == 0 &&
	    zero_tail(j, end, size)) {
		/* Preallocated space, not damage: keep it for the next writes. */
		log_debug(log, "journal %s: %llu preallocated bytes after the records", j->path,
		          (unsigned long long)(size - end));
	} else if (end < size) {
		j->alloc_end = end;
		j->damaged = 1;
		/* Not a torn write when good records follow the damage, or when
		 * nothing was being written (a clean stop). The records after it
		 * cannot be replayed safely (each may depend on the one lost),
		 * but they are never deleted either. A unit left open by a crash
		 * (its records whole, its COMMIT never written) is a torn append
		 * too: none of it is applied. */
		int after = valid_frame_after(j, stop, size);
		int damage = after || (j->opts.clean_stop && !zero_tail(j, end, size));
		if (damage && j->opts.strict) {
			log_error(log,
			          "journal %s: damaged record at offset %llu (%s), %s; refusing to "
			          "start (strict.recovery): start without strict.recovery to go on "
			          "with the %llu records before it (the %llu bytes from there are "
			          "kept in %s.damaged-<time>), or move %s aside to start with an "
			          "empty journal",
			          j->path, (unsigned long long)stop, why ? why : "unreadable",
			          after ? "with valid records after it" : "after a clean stop",
			          (unsigned long long)count, (unsigned long long)(size - end),
			          j->path, j->path);
			rc = SL_ECORRUPT;
			goto fail;
		}
		if (x.open_unit)
			log_warn(log,
			         "journal %s: dropped an unfinished unit of %llu records at offset "
			         "%llu (its COMMIT was never written: none of it applies)",
			         j->path, (unsigned long long)x.open_recs, (unsigned long long)end);
		log_warn(log,
		         "journal %s: cut %llu bytes of torn or corrupt tail at offset %llu (%s)",
		         j->path, (unsigned long long)(size - end), (unsigned long long)end,
		         why ? why : "end of file inside a unit");
		/* The open unit's records are never applied, damage after them
		 * or not: its owner undoes what it keeps elsewhere. */
		if (x.open_unit && opts->discard &&
		    (rc = jrnl_each_record(j, end, stop, opts->discard, opts->discard_arg)) < 0)
			goto fail;
		if (damage) {
			rc = jrnl_keep_aside(j, end, size, NULL);
			j->aside = rc == 0;
			if (rc < 0)
				goto fail;
		}
		if (sio_ftruncate(j->io, j->fd, (off_t)end) < 0 || sio_fsync(j->io, j->fd) < 0) {
			rc = SL_EIO;
			log_error(log, "journal %s: cannot truncate the damaged tail: %s", j->path,
			          strerror(errno));
			goto fail;
		}
	}
	log_info(log, "journal %s: replayed %llu records (%llu bytes)", j->path,
	         (unsigned long long)count, (unsigned long long)end);
	j->file_pos = end;
	j->sf = sync_file_new(syncer, j->fd, j->opts.fsync, j->path);
	if (!j->sf) {
		/* Out of descriptors is said as such: the start names the limit. */
		rc = sl_from_errno(errno) == SL_EMFILE ? SL_EMFILE : SL_EIO;
		goto fail;
	}
	sync_file_on_error(j->sf, on_sync_error, j);
	sync_file_written(j->sf, end);
	/* What a crashed process left may be only in the page cache: make it
	 * durable before anything builds on it, so the synced position (the
	 * point a failure cuts back to) starts at the end of the records. */
	if (j->opts.fsync.mode != FSYNC_NEVER && sync_file_sync_now(j->sf) < 0) {
		rc = SL_EIO;
		goto fail;
	}
	*out = j;
	return 0;
fail:
	if (j->sf)
		sync_file_release(j->sf);
	if (j->fd >= 0)
		sio_close(j->io, j->fd);
	jrnl_destroy(j);
	return rc;
}

void jrnl_close(jrnl_t *j)
{
	if (!j)
		return;
	loop_task_cancel(j->loop, &j->flush_task);
	jrnl_snap_abort(j);
	jrnl_flush_wbuf(j);
	/* Give back the preallocated space: a closed journal is exactly its
	 * records (the sync below commits the new size). */
	if (j->alloc_end > j->file_pos && sio_ftruncate(j->io, j->fd, (off_t)j->file_pos) < 0)
		log_warn(j->log, "journal %s: cannot trim preallocated space: %s", j->path,
		         strerror(errno));
	if (!j->err)
		(void)sync_file_sync_now(j->sf);
	/* Waiters still pending are answered by the syncer in a later turn. */
	sync_file_release(j->sf);
	sio_close(j->io, j->fd);
	jrnl_destroy(j);
}

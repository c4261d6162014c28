/*
 * segment.c — one partition-log segment: the .log file, the sparse offset
 * index and the time index. Loop thread only.
 *
 * Files (BASE = base offset as 20 decimal digits, e.g. 00000000000000000000):
 *
 *   BASE.log        RecordBatch v2 batches back to back, exactly as stored
 *                   (see batch.h): BaseOffset rewritten to the assigned
 *                   offset, PartitionLeaderEpoch set by plog. The first batch
 *                   starts at byte 0 with BaseOffset == BASE, and each next
 *                   batch's BaseOffset is the previous one's last offset + 1.
 *                   The active segment is preallocated with fallocate, so
 *                   zero bytes may follow the last batch; a sealed segment is
 *                   trimmed to its last batch.
 *
 *   BASE.index      8-byte entries, big-endian:
 *                     off 0 u32 relative offset (BaseOffset - BASE)
 *                     off 4 u32 byte position of that batch in BASE.log
 *                   One entry per log.index.interval.bytes of log: an entry
 *                   is added for a batch when at least that many bytes were
 *                   appended since the previous entry (the batch at position
 *                   0 never has one). Both columns strictly increase.
 *
 *   BASE.timeindex  12-byte entries, big-endian:
 *                     off 0 i64 largest MaxTimestamp of the batches before
 *                               the index entry it was written with
 *                     off 8 u32 relative offset of the batch carrying it
 *                   Appended together with an offset-index entry when the
 *                   largest timestamp grew since the last time entry, so
 *                   timestamps strictly increase.
 *
 * Validity: a batch is valid when its header parses (magic 2, BatchLength
 * >= 49), it lies entirely inside the file, its BaseOffset is the expected
 * next offset, its PartitionLeaderEpoch is SEG_LEADER_EPOCH (both fields
 * are outside the CRC), RecordsCount == LastOffsetDelta + 1, and (when
 * verifying) its CRC-32C matches. In a compacted log (SEG_OPEN_GAPS, the
 * cleaner's output: plog_clean.c) BaseOffset may be past the expected
 * offset and 1 <= RecordsCount <= LastOffsetDelta + 1. An index file is valid when its size is
 * a multiple of the entry size, its columns increase, and its positions
 * lie inside the file.
 *
 * Recovery rule (seg_open): load both indexes; if either is missing or
 * invalid, drop both and rebuild by walking the whole log. Otherwise pick
 * a start entry — the last one (SEG_VERIFY_NONE after a clean shutdown,
 * SEG_VERIFY_TAIL), the last one at or below a known-synced position
 * (SEG_VERIFY_TAIL with `from`), or none (SEG_VERIFY_ALL: the whole
 * segment) — and step back while the batch header at the entry does not
 * carry the entry's offset. Walk from there to the end of the file,
 * recomputing index entries as appends would. An invalid batch
 * (CRC-checked unless NONE) with a valid one somewhere after it is damage,
 * not a torn append: it becomes a hole (never served, logged at warn) and
 * the walk goes on from the valid batch. At the first invalid batch with
 * nothing valid after it the walk stops and the file is truncated there —
 * this also removes a preallocated zero tail — and what was cut is logged;
 * a read error stops the open instead (nothing is cut for it). The index
 * files are rewritten only if the walk disagrees with them. Which mode
 * each segment gets is plog's decision (plog.c: the recovery point).
 *
 * Index entries in the middle of a file are not checked at open: a read
 * checks the batch header at every entry it uses and rebuilds the indexes
 * when it does not match, and a binary search over damaged entries still
 * only returns an entry at or below the target. Nothing is ever read past
 * the logical end, so a damaged tail is never served.
 *
 * Memory: the active segment's indexes are heap arrays; a sealed
 * segment's are read-only mappings of its files (seg_idle).
 *
 * Descriptors: the .log is a file of the store's descriptor cache
 * (core/fdcache.h): opened when a call needs it, closed when the cache
 * needs room, so an idle partition holds none. Every function that reads
 * or writes the .log takes the descriptor once (seg_fd) and uses it only
 * for that one file, so no cache eviction can close it under the call.
 * The index files are not kept open at all: the active segment's new
 * entries stay in memory and are appended to the files every
 * FLUSH_ENTRIES entries (one open, write, close per ~1 MiB of log at the
 * default interval), at housekeeping, at seal and at close. The files may
 * therefore lag the log after a crash; they are then a valid prefix of
 * what a walk computes, and the recovery rule above walks from their
 * last entry and appends the rest (the same rule as a missing tail), so
 * the lag costs a longer walk, never a wrong answer.
 */
#include "store/segment.h"
#include "store/sio.h"

#include "core/crc32c.h"
#include "core/err.h"
#include "core/time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_ENTRY 8
#define TIDX_ENTRY 12
#define SCAN_CHUNK (16 * 1024)
#define PREALLOC_MIN (64u << 10)
#define PREALLOC_MAX (64u << 20)
/* Unwritten index entries that make an append write them out. */
#define FLUSH_ENTRIES 256

/* --- small file helpers --------------------------------------------------- */

static ssize_t pread_full(int fd, void *p, size_t n, uint64_t pos)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *)p + got, n - got, (off_t)(pos + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int pwrite_full(const seg_t *s, int fd, const void *p, size_t n, uint64_t pos)
{
	return sio_pwrite_all(s->io, fd, p, n, (off_t)pos, NULL);
}

void seg_path(char *out, size_t n, const char *dir, int64_t base, const char *ext)
{
	snprintf(out, n, "%s/%020" PRId64 "%s", dir, base, ext);
}

const char *seg_parse_name(const char *name, int64_t *base)
{
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return NULL;
		if (v > (INT64_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (name[i] - '0');
	}
	const char *ext = name + 20;
	if (strcmp(ext, ".log") && strcmp(ext, ".index") && strcmp(ext, ".timeindex"))
		return NULL;
	*base = v;
	return ext;
}

/* --- buffered sequential reader for header walks --------------------------- */

/* Lives on the caller's stack: reads are short walks (an index interval
 * plus a batch header or two), so a small buffer and no allocation. */
typedef struct scan {
	int fd;
	uint64_t limit; /* bytes [0, limit) may be read */
	uint64_t bpos;
	size_t blen;
	uint8_t buf[SCAN_CHUNK];
} scan_t;

static void scan_init(scan_t *sc, int fd, uint64_t limit)
{
	sc->fd = fd;
	sc->limit = limit;
	sc->bpos = 0;
	sc->blen = 0;
}

static void scan_deinit(scan_t *sc)
{
	(void)sc;
}

/* A view of [pos, pos+n) (n <= SCAN_CHUNK), or NULL with *err: SL_EAGAIN
 * when the range passes the limit, SL_EIO when the read fails or the file
 * is shorter than the limit. */
static const uint8_t *scan_get(scan_t *sc, uint64_t pos, size_t n, int *err)
{
	if (pos + n > sc->limit || n > SCAN_CHUNK) {
		*err = SL_EAGAIN;
		return NULL;
	}
	if (pos >= sc->bpos && pos + n <= sc->bpos + sc->blen)
		return sc->buf + (pos - sc->bpos);
	size_t want = SCAN_CHUNK;
	if (sc->limit - pos < want)
		want = (size_t)(sc->limit - pos);
	ssize_t r = pread_full(sc->fd, sc->buf, want, pos);
	if (r < 0 || (size_t)r < n) {
		sc->blen = 0;
		*err = SL_EIO;
		return NULL;
	}
	sc->bpos = pos;
	sc->blen = (size_t)r;
	return sc->buf;
}

static int scan_hdr(scan_t *sc, uint64_t pos, batch_hdr_t *h)
{
	int err = 0;
	const uint8_t *p = scan_get(sc, pos, BATCH_HDR_SIZE, &err);
	if (!p)
		return err;
	return batch_peek(p, BATCH_HDR_SIZE, h);
}

static int scan_crc(scan_t *sc, uint64_t pos, uint64_t len, uint32_t want)
{
	uint32_t c = 0;
	uint64_t at = pos + BATCH_OFF_ATTRIBUTES, end = pos + len;
	while (at < end) {
		size_t n = end - at < SCAN_CHUNK ? (size_t)(end - at) : SCAN_CHUNK;
		int err = 0;
		const uint8_t *p = scan_get(sc, at, n, &err);
		if (!p)
			return err;
		c = crc32c(c, p, n);
		at += n;
	}
	return c == want ? 0 : SL_ECORRUPT;
}

/* --- indexes ---------------------------------------------------------------- */

static void idx_push(seg_t *s, uint32_t rel, uint32_t pos)
{
	if (s->nidx == s->cidx) {
		s->cidx = s->cidx ? s->cidx * 2 : 64;
		s->idx = realloc(s->idx, s->cidx * sizeof *s->idx);
		if (!s->idx)
			abort();
	}
	s->idx[s->nidx++] = (seg_idx_t){rel, pos};
}

static void tidx_push(seg_t *s, int64_t ts, uint32_t rel)
{
	if (s->ntidx == s->ctidx) {
		s->ctidx = s->ctidx ? s->ctidx * 2 : 64;
		s->tidx = realloc(s->tidx, s->ctidx * sizeof *s->tidx);
		if (!s->tidx)
			abort();
	}
	s->tidx[s->ntidx++] = (seg_tidx_t){ts, rel};
}

/* Index entries live in arrays while a segment is active (and after a
 * rebuild) and in read-only mappings of the files once it is sealed, so
 * that old segments cost page cache the kernel can reclaim rather than
 * heap. These read either. */
static inline uint32_t ix_rel(const seg_t *s, size_t k)
{
	return s->imap ? be32_load(s->imap + k * IDX_ENTRY) : s->idx[k].rel;
}
static inline uint32_t ix_pos(const seg_t *s, size_t k)
{
	return s->imap ? be32_load(s->imap + k * IDX_ENTRY + 4) : s->idx[k].pos;
}
static inline int64_t tx_ts(const seg_t *s, size_t k)
{
	return s->tmap ? (int64_t)be64_load(s->tmap + k * TIDX_ENTRY) : s->tidx[k].ts;
}
static inline uint32_t tx_rel(const seg_t *s, size_t k)
{
	return s->tmap ? be32_load(s->tmap + k * TIDX_ENTRY + 8) : s->tidx[k].rel;
}

static void unmap_indexes(seg_t *s)
{
	if (s->imap)
		munmap((void *)s->imap, s->nidx * IDX_ENTRY);
	if (s->tmap)
		munmap((void *)s->tmap, s->ntidx * TIDX_ENTRY);
	s->imap = s->tmap = NULL;
}

static void idx_encode(uint8_t *p, const seg_idx_t *e)
{
	be32_store(p, e->rel);
	be32_store(p + 4, e->pos);
}

static void tidx_encode(uint8_t *p, const seg_tidx_t *e)
{
	be64_store(p, (uint64_t)e->ts);
	be32_store(p + 8, e->rel);
}

static int open_ext(seg_t *s, const char *ext, int flags);
static void close_ext(seg_t *s, int fd);

int seg_fd(seg_t *s)
{
	return fdc_fd(s->file);
}

/* Opens both index files (flags as open(2)); 0, or the error with
 * neither open. */
static int open_indexes(seg_t *s, int flags, int *ifd, int *tfd)
{
	*ifd = open_ext(s, ".index", flags);
	*tfd = *ifd >= 0 ? open_ext(s, ".timeindex", flags) : -1;
	if (*tfd >= 0)
		return 0;
	int rc = sl_from_errno(errno);
	close_ext(s, *ifd);
	*ifd = -1;
	return rc;
}

/* Maps an index file of n entries of size esz, or returns NULL (then the
 * arrays stay). The file must hold exactly those entries. */
static const uint8_t *map_file(int fd, size_t n, size_t esz)
{
	struct stat st;
	if (n == 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size != (uint64_t)n * esz)
		return NULL;
	void *m = mmap(NULL, n * esz, PROT_READ, MAP_SHARED, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

void seg_idle(seg_t *s)
{
	s->sealed = 1;
	int ifd, tfd;
	if (seg_flush_index(s) < 0 || s->index_dirty)
		return;
	/* A rebuild in the middle of a read gets here with the .log
	 * descriptor in use: opening the index files must not close it. */
	fdc_pin(s->file);
	int rc = open_indexes(s, O_RDONLY, &ifd, &tfd);
	fdc_unpin(s->file);
	if (rc < 0)
		return;
	if (!s->imap && (s->imap = map_file(ifd, s->nidx, IDX_ENTRY)) != NULL) {
		free(s->idx);
		s->idx = NULL;
		s->cidx = 0;
	}
	if (!s->tmap && (s->tmap = map_file(tfd, s->ntidx, TIDX_ENTRY)) != NULL) {
		free(s->tidx);
		s->tidx = NULL;
		s->ctidx = 0;
	}
	close_ext(s, ifd);
	close_ext(s, tfd);
}

void seg_activate(seg_t *s)
{
	if (!s->sealed)
		return;
	if (s->imap) {
		size_t n = s->nidx;
		seg_idx_t *v = malloc((n ? n : 1) * sizeof *v);
		if (!v)
			abort();
		for (size_t i = 0; i < n; i++)
			v[i] = (seg_idx_t){ix_rel(s, i), ix_pos(s, i)};
		munmap((void *)s->imap, n * IDX_ENTRY);
		s->imap = NULL;
		s->idx = v;
		s->cidx = n ? n : 1;
	}
	if (s->tmap) {
		size_t n = s->ntidx;
		seg_tidx_t *v = malloc((n ? n : 1) * sizeof *v);
		if (!v)
			abort();
		for (size_t i = 0; i < n; i++)
			v[i] = (seg_tidx_t){tx_ts(s, i), tx_rel(s, i)};
		munmap((void *)s->tmap, n * TIDX_ENTRY);
		s->tmap = NULL;
		s->tidx = v;
		s->ctidx = n ? n : 1;
	}
	s->sealed = 0;
}

/* Cuts an index file to len bytes unless it has that size already: an
 * append leaves it exact, and a truncate that changes nothing still costs
 * a metadata transaction (two per partition at a clean stop: 4,000
 * partitions spent 3 s of their stop in them). */
static int cut_at(seg_t *s, int fd, uint64_t len)
{
	struct stat st;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size == len)
		return 0;
	if (sio_ftruncate(s->io, fd, (off_t)len) < 0)
		return sl_from_errno(errno);
	return 0;
}

/* Writes entries [ifrom, nidx) and [tfrom, ntidx) at their places in the
 * index files and cuts the files there (from 0: a full rewrite), fsyncing
 * them when sync. */
static int write_index_range(seg_t *s, size_t ifrom, size_t tfrom, int sync)
{
	size_t n = (s->nidx - ifrom) * IDX_ENTRY, m = (s->ntidx - tfrom) * TIDX_ENTRY;
	uint8_t *b = malloc((n > m ? n : m) + 1);
	if (!b)
		abort();
	for (size_t i = ifrom; i < s->nidx; i++) {
		seg_idx_t e = {ix_rel(s, i), ix_pos(s, i)};
		idx_encode(b + (i - ifrom) * IDX_ENTRY, &e);
	}
	/* Callers may hold the .log descriptor across this call (a rebuild
	 * in the middle of a read): opening the index files must not let
	 * the cache close it. */
	if (s->file)
		fdc_pin(s->file);
	int ifd, tfd;
	int rc = open_indexes(s, O_RDWR | O_CREAT, &ifd, &tfd);
	if (rc == 0)
		rc = pwrite_full(s, ifd, b, n, (uint64_t)ifrom * IDX_ENTRY);
	if (rc == 0)
		rc = cut_at(s, ifd, s->nidx * IDX_ENTRY);
	for (size_t i = tfrom; rc == 0 && i < s->ntidx; i++) {
		seg_tidx_t e = {tx_ts(s, i), tx_rel(s, i)};
		tidx_encode(b + (i - tfrom) * TIDX_ENTRY, &e);
	}
	if (rc == 0)
		rc = pwrite_full(s, tfd, b, m, (uint64_t)tfrom * TIDX_ENTRY);
	if (rc == 0)
		rc = cut_at(s, tfd, s->ntidx * TIDX_ENTRY);
	if (rc == 0 && sync && (sio_fsync(s->io, ifd) < 0 || sio_fsync(s->io, tfd) < 0))
		rc = sl_from_errno(errno);
	if (rc == 0) {
		close_ext(s, ifd);
		close_ext(s, tfd);
	}
	free(b);
	if (rc == 0) {
		s->index_dirty = 0;
		s->iflushed = s->nidx;
		s->tflushed = s->ntidx;
	} else {
		if (ifd >= 0) {
			close_ext(s, ifd);
			close_ext(s, tfd);
		}
		/* Whatever reached the files is unknown now: rewrite them. */
		s->index_dirty = 1;
		log_warn(s->log, "segment %s: cannot write index files (%s); rewritten later",
		         s->path, sl_strerror(rc));
	}
	if (s->file)
		fdc_unpin(s->file);
	return rc;
}

/* Rewrites both index files from memory. */
static int write_indexes(seg_t *s)
{
	return write_index_range(s, 0, 0, 0);
}

int seg_flush_index(seg_t *s)
{
	if (s->index_dirty)
		return write_indexes(s);
	if (s->iflushed == s->nidx && s->tflushed == s->ntidx)
		return 0;
	return write_index_range(s, s->iflushed, s->tflushed, 0);
}

/* Accounts one batch at pos as an append does: maybe an index entry (and a
 * time entry) first, then the running counters. write: an append (which
 * writes entries out every FLUSH_ENTRIES), not a walk. */
static void index_batch(seg_t *s, uint64_t pos, const batch_hdr_t *h, size_t len, int write)
{
	if (s->since_index >= s->index_interval && pos <= UINT32_MAX) {
		seg_idx_t e = {(uint32_t)(h->base_offset - s->base), (uint32_t)pos};
		idx_push(s, e.rel, e.pos);
		int add_t =
		    s->max_ts >= 0 && (s->ntidx == 0 || s->max_ts > s->tidx[s->ntidx - 1].ts);
		if (add_t)
			tidx_push(s, s->max_ts, (uint32_t)(s->max_ts_off - s->base));
		/* Appends keep entries in memory and write them out now and
		 * then (a failure is retried at the next flush or the seal);
		 * a walk's entries are compared with the files by its caller. */
		if (write && s->nidx - s->iflushed >= FLUSH_ENTRIES)
			(void)seg_flush_index(s);
		s->since_index = 0;
	}
	s->since_index += len;
	if (h->max_ts > s->max_ts) {
		s->max_ts = h->max_ts;
		s->max_ts_off = h->base_offset;
	}
	if (pos == 0)
		s->first_ts = h->max_ts;
}

/* Loads an index file into memory; returns 0 (possibly with no entries),
 * SL_ENOENT when missing, SL_ECORRUPT when inconsistent. */
static int load_index(seg_t *s, int fd, uint64_t fsize)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return SL_EIO;
	uint64_t n = (uint64_t)st.st_size;
	if (n % IDX_ENTRY || n / IDX_ENTRY > fsize / BATCH_HDR_SIZE + 1)
		return SL_ECORRUPT;
	uint8_t *b = malloc(n + 1);
	if (!b)
		abort();
	int rc = 0;
	if (pread_full(fd, b, n, 0) != (ssize_t)n)
		rc = SL_EIO;
	for (uint64_t i = 0; rc == 0 && i < n / IDX_ENTRY; i++) {
		uint32_t rel = be32_load(b + i * IDX_ENTRY), pos = be32_load(b + i * IDX_ENTRY + 4);
		if (pos >= fsize || pos < BATCH_HDR_SIZE ||
		    (s->nidx && (rel <= s->idx[s->nidx - 1].rel || pos <= s->idx[s->nidx - 1].pos)))
			rc = SL_ECORRUPT;
		else
			idx_push(s, rel, pos);
	}
	free(b);
	return rc;
}

static int load_tindex(seg_t *s, int fd, uint64_t fsize)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return SL_EIO;
	uint64_t n = (uint64_t)st.st_size;
	if (n % TIDX_ENTRY || n / TIDX_ENTRY > fsize / BATCH_HDR_SIZE + 1)
		return SL_ECORRUPT;
	uint8_t *b = malloc(n + 1);
	if (!b)
		abort();
	int rc = 0;
	if (pread_full(fd, b, n, 0) != (ssize_t)n)
		rc = SL_EIO;
	for (uint64_t i = 0; rc == 0 && i < n / TIDX_ENTRY; i++) {
		int64_t ts = (int64_t)be64_load(b + i * TIDX_ENTRY);
		uint32_t rel = be32_load(b + i * TIDX_ENTRY + 8);
		if (ts < 0 || (s->ntidx &&
		               (ts <= s->tidx[s->ntidx - 1].ts || rel < s->tidx[s->ntidx - 1].rel)))
			rc = SL_ECORRUPT;
		else
			tidx_push(s, ts, rel);
	}
	free(b);
	return rc;
}

/* --- open / create ---------------------------------------------------------- */

static seg_t *seg_alloc(const char *dir, int64_t base, uint64_t index_interval, const log_t *log)
{
	seg_t *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	size_t n = strlen(dir) + 32;
	s->path = malloc(n);
	if (!s->path)
		abort();
	seg_path(s->path, n, dir, base, "");
	s->base = s->next = base;
	s->max_ts = s->max_ts_off = s->first_ts = -1;
	s->index_interval = index_interval ? index_interval : 1;
	s->prealloc_step = PREALLOC_MIN;
	s->log = log;
	return s;
}

/* Index files and new segments are opened outside the cache, but through
 * it, so that a process out of descriptors closes cached ones first. */
static int open_ext(seg_t *s, const char *ext, int flags)
{
	char p[4096];
	snprintf(p, sizeof p, "%s%s", s->path, ext);
	return fdc_open_temp(s->fdc, p, flags | O_CLOEXEC, 0644);
}

static void close_ext(seg_t *s, int fd)
{
	if (fd >= 0)
		fdc_close_temp(s->fdc, fd);
}

/* The .log as a file of the cache. */
static void attach_log(seg_t *s)
{
	char p[4096];
	snprintf(p, sizeof p, "%s.log", s->path);
	s->file = fdc_file_new(s->fdc, p, O_RDWR);
}

int seg_create(seg_t **out, const char *dir, int64_t base, uint64_t index_interval, fdc_t *fdc,
               const log_t *log, sio_t *io)
{
	seg_t *s = seg_alloc(dir, base, index_interval, log);
	s->io = io;
	s->fdc = fdc;
	attach_log(s);
	int fd = open_ext(s, ".log", O_RDWR | O_CREAT | O_TRUNC);
	int ifd = -1, tfd = -1, rc = 0;
	if (fd >= 0) {
		fdc_file_adopt(s->file, fd);
		rc = open_indexes(s, O_RDWR | O_CREAT | O_TRUNC, &ifd, &tfd);
	} else {
		rc = sl_from_errno(errno);
	}
	if (rc < 0) {
		log_error(log, "segment %s: cannot create: %s", s->path, sl_strerror(rc));
		seg_close(s);
		return rc;
	}
	close_ext(s, ifd);
	close_ext(s, tfd);
	*out = s;
	return 0;
}

/* Index of the last entry with rel <= want, or -1. */
static ssize_t idx_floor_rel(const seg_t *s, uint32_t want)
{
	size_t lo = 0, hi = s->nidx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix_rel(s, mid) <= want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

static ssize_t idx_floor_pos(const seg_t *s, uint64_t want)
{
	size_t lo = 0, hi = s->nidx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix_pos(s, mid) <= want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

uint64_t seg_index_floor_pos(const seg_t *s, uint64_t pos)
{
	ssize_t k = idx_floor_pos(s, pos);
	return k < 0 ? 0 : ix_pos(s, (size_t)k);
}

/* Whether the index entry k points at a batch header with its offset. */
static int idx_entry_ok(seg_t *s, scan_t *sc, size_t k)
{
	batch_hdr_t h;
	if (scan_hdr(sc, ix_pos(s, k), &h) < 0)
		return 0;
	return h.base_offset == s->base + ix_rel(s, k);
}

/* --- holes ------------------------------------------------------------------- */

/* The hole containing pos, or NULL. Holes are few (damage is rare). */
static const seg_hole_t *hole_at(const seg_t *s, uint64_t pos)
{
	for (size_t i = 0; i < s->nholes; i++)
		if (pos >= s->holes[i].from && pos < s->holes[i].to)
			return &s->holes[i];
	return NULL;
}

/* Start of the first hole at or after pos, or the segment's end. */
static uint64_t hole_after(const seg_t *s, uint64_t pos)
{
	uint64_t end = s->size;
	for (size_t i = 0; i < s->nholes; i++)
		if (s->holes[i].from >= pos && s->holes[i].from < end)
			end = s->holes[i].from;
	return end;
}

static void hole_add(seg_t *s, uint64_t from, uint64_t to, int64_t off_from, int64_t off_to,
                     const char *why)
{
	if (hole_at(s, from))
		return;
	seg_hole_t *v = realloc(s->holes, (s->nholes + 1) * sizeof *v);
	if (!v)
		abort();
	size_t i = s->nholes;
	while (i > 0 && v[i - 1].from > from) {
		v[i] = v[i - 1];
		i--;
	}
	v[i] = (seg_hole_t){from, to, off_from, off_to};
	s->holes = v;
	s->nholes++;
	if (off_to > off_from)
		log_warn(s->log,
		         "segment %s: damaged bytes %" PRIu64 "..%" PRIu64 " (offsets %" PRId64
		         "..%" PRId64 " missing): %s; serving the batches around them",
		         s->path, from, to, off_from, off_to - 1, why);
	else
		log_warn(s->log,
		         "segment %s: damaged bytes %" PRIu64 "..%" PRIu64
		         " at its end (offsets from "
		         "%" PRId64 " missing): %s; serving the batches before them",
		         s->path, from, to, off_from, why);
}

/* --- walking batches ------------------------------------------------------------ */

/* Checks the batch at pos, whose BaseOffset should be next. Returns NULL
 * when it is valid (h and *len filled), else why not. */
static const char *check_batch(seg_t *s, scan_t *sc, uint64_t pos, int64_t next, int crc,
                               batch_hdr_t *h, uint64_t *len)
{
	if (sc->limit - pos < BATCH_HDR_SIZE)
		return "short header";
	int rc = scan_hdr(sc, pos, h);
	if (rc == SL_EIO)
		return "read error";
	if (rc < 0)
		return h->length == 0 && h->base_offset == 0 ? "zero tail" : "bad header";
	if (next >= 0 && (s->gaps ? h->base_offset < next : h->base_offset != next))
		return "unexpected offset";
	if (h->leader_epoch != SEG_LEADER_EPOCH)
		return "unexpected leader epoch";
	if (h->count <= 0 || (int64_t)h->count > (int64_t)h->last_offset_delta + 1 ||
	    (!s->gaps && (int64_t)h->count != (int64_t)h->last_offset_delta + 1))
		return "bad record count";
	*len = batch_size(h);
	if (*len > sc->limit - pos)
		return "batch passes the end of the file";
	if (h->base_offset < s->base || h->last_offset_delta > INT64_MAX - h->base_offset ||
	    batch_last_offset(h) - s->base > UINT32_MAX)
		return "offset out of segment range";
	if (crc && (rc = scan_crc(sc, pos, *len, h->crc)) < 0)
		return rc == SL_ECORRUPT ? "CRC mismatch" : "read error";
	return NULL;
}

/* Whether every byte of [pos, limit) is zero (preallocated space rather
 * than a zeroed page with data after it). */
static int zeros_to_end(scan_t *sc, uint64_t pos)
{
	while (pos < sc->limit) {
		size_t n = sc->limit - pos < SCAN_CHUNK ? (size_t)(sc->limit - pos) : SCAN_CHUNK;
		int err = 0;
		const uint8_t *p = scan_get(sc, pos, n, &err);
		if (!p)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (p[i])
				return 0;
		pos += n;
	}
	return 1;
}

/* The first valid batch after damage at pos: a header that parses (magic
 * 2), at an offset at or past next, whose CRC matches. SL_ENOENT when
 * there is none before the limit. */
static int find_resume(seg_t *s, scan_t *sc, uint64_t pos, int64_t next, uint64_t *at,
                       batch_hdr_t *out)
{
	for (uint64_t q = pos + 1; q + BATCH_HDR_SIZE <= sc->limit; q++) {
		int err = 0;
		const uint8_t *p = scan_get(sc, q, BATCH_HDR_SIZE, &err);
		if (!p)
			return err == SL_EIO ? SL_EIO : SL_ENOENT;
		if (p[BATCH_OFF_MAGIC] != 2) {
			/* Jump to the next magic byte in the buffered view: a
			 * torn tail is followed by megabytes of preallocated
			 * zeros. */
			size_t left = (size_t)(sc->bpos + sc->blen - (q + BATCH_OFF_MAGIC));
			const uint8_t *m = memchr(p + BATCH_OFF_MAGIC, 2, left);
			if (m && m > p + BATCH_OFF_MAGIC)
				q += (uint64_t)(m - (p + BATCH_OFF_MAGIC)) - 1;
			else if (!m && left > 1)
				q += left - 1;
			continue;
		}
		uint64_t len;
		if (check_batch(s, sc, q, -1, 1, out, &len) || out->base_offset < next)
			continue;
		*at = q;
		return 0;
	}
	return SL_ENOENT;
}

enum { W_CRC = 1, W_INDEX = 2 };

/* One step of a walk from *pos (a batch start whose BaseOffset should be
 * *next): past a known hole, past one valid batch (indexed when W_INDEX),
 * or — at damage with a valid batch after it — past a new hole up to that
 * batch. That holds where the bytes are known durable and also past that
 * point (after a crash the recovery point is often stale or missing): a
 * torn append is followed by nothing valid, only zeros, so damage with a
 * valid batch after it is not one, and cutting there would drop the
 * acknowledged batches after one damaged batch. Damage with nothing valid
 * after it stops the walk (the caller cuts there: a torn tail).
 * Returns NULL after a step, or why the walk stops there. */
static const char *step(seg_t *s, scan_t *sc, uint64_t *pos, int64_t *next, int flags)
{
	const seg_hole_t *hl = hole_at(s, *pos);
	if (hl) {
		*pos = hl->to;
		*next = hl->off_to;
		return NULL;
	}
	batch_hdr_t h;
	uint64_t len;
	const char *why = check_batch(s, sc, *pos, *next, flags & W_CRC, &h, &len);
	if (!why) {
		if (flags & W_INDEX)
			index_batch(s, *pos, &h, (size_t)len, 0);
		*pos += len;
		*next = batch_last_offset(&h) + 1;
		return NULL;
	}
	if (!strcmp(why, "read error"))
		return why;
	if (!strcmp(why, "zero tail") && zeros_to_end(sc, *pos))
		return why;
	uint64_t at;
	int rc = find_resume(s, sc, *pos, *next, &at, &h);
	if (rc == SL_EIO)
		return "read error";
	if (rc < 0) /* nothing valid after it: the walk ends there */
		return strcmp(why, "zero tail") ? why : "zeroed bytes";
	hole_add(s, *pos, at, *next, h.base_offset, why);
	*pos = at;
	*next = h.base_offset;
	return NULL;
}

/* Walks batches from *pos to the scan limit. Returns NULL at a clean end,
 * or why it stopped. */
static const char *walk(seg_t *s, scan_t *sc, uint64_t *pos, int64_t *next, int flags)
{
	while (*pos < sc->limit) {
		const char *why = step(s, sc, pos, next, flags);
		if (why)
			return why;
	}
	return NULL;
}

int seg_verify(seg_t *s, uint64_t upto, uint64_t budget)
{
	if (seg_verified(s, upto))
		return 0;
	uint64_t goal = upto < s->vend ? upto : s->vend;
	if (budget && s->vpos + budget < goal)
		goal = s->vpos + budget;
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	scan_t sc;
	scan_init(&sc, fd, s->vend);
	int rc = 0;
	while (s->vpos < goal) {
		uint64_t pos = s->vpos;
		int64_t next = s->vnext;
		const char *why = step(s, &sc, &pos, &next, W_CRC);
		if (why && !strcmp(why, "read error")) {
			log_error(s->log, "segment %s: read error at %" PRIu64 " while checking it",
			          s->path, s->vpos);
			rc = SL_EIO;
			break;
		}
		if (why) {
			/* Damage with nothing valid after it before vend: the rest
			 * of the checked range is a hole (nothing is ever cut
			 * here; appends after vend follow it). */
			batch_hdr_t h;
			int64_t off_to = s->next;
			if (s->vend < s->size) {
				scan_t tail;
				scan_init(&tail, fd, s->size);
				if (scan_hdr(&tail, s->vend, &h) == 0)
					off_to = h.base_offset;
				scan_deinit(&tail);
			}
			hole_add(s, s->vpos, s->vend, s->vnext, off_to, why);
			s->vpos = s->vend;
			break;
		}
		s->vpos = pos;
		s->vnext = next;
	}
	scan_deinit(&sc);
	return rc;
}

int seg_open(seg_t **out, const char *dir, int64_t base, int verify, uint64_t from,
             uint64_t index_interval, fdc_t *fdc, const log_t *log, sio_t *io)
{
	seg_t *s = seg_alloc(dir, base, index_interval, log);
	s->gaps = (verify & SEG_OPEN_GAPS) != 0;
	int quiet = (verify & SEG_OPEN_NO_INDEX) != 0;
	verify &= ~(SEG_OPEN_GAPS | SEG_OPEN_NO_INDEX);
	s->io = io;
	s->fdc = fdc;
	attach_log(s);
	int fd = seg_fd(s);
	if (fd < 0) {
		log_error(log, "segment %s: cannot open: %s", s->path, sl_strerror(fd));
		seg_close(s);
		return fd;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		seg_close(s);
		return SL_EIO;
	}
	uint64_t fsize = (uint64_t)st.st_size;

	/* Pinned while other files open, so that a process out of
	 * descriptors cannot close the .log under this walk. */
	fdc_pin(s->file);
	int ifd = open_ext(s, ".index", O_RDONLY);
	int tfd = open_ext(s, ".timeindex", O_RDONLY);
	int rebuild = 0;
	const char *why = NULL;
	if ((ifd < 0 || tfd < 0) && (errno == EMFILE || errno == ENFILE)) {
		/* Out of descriptors is not a missing index: rebuilding
		 * would write files it cannot open either. */
		close_ext(s, ifd);
		fdc_unpin(s->file);
		seg_close(s);
		return SL_EMFILE;
	}
	if (ifd < 0 || tfd < 0) {
		rebuild = 1;
		why = "missing";
	} else if (load_index(s, ifd, fsize) < 0 || load_tindex(s, tfd, fsize) < 0) {
		rebuild = 1;
		why = "inconsistent";
	}
	close_ext(s, ifd);
	close_ext(s, tfd);
	fdc_unpin(s->file);
	fd = seg_fd(s);
	if (fd < 0) {
		seg_close(s);
		return fd;
	}

	scan_t sc;
	scan_init(&sc, fd, fsize);
	uint64_t pos = 0;
	int64_t next = base;
	/* The loaded index entries the walk will recompute, kept to rewrite
	 * the files only if the walk disagrees with them. */
	size_t keep_n = 0, keep_tn = 0, old_n = s->nidx, old_tn = s->ntidx;
	seg_idx_t *old_idx = s->idx;
	seg_tidx_t *old_tidx = s->tidx;
	if (rebuild) {
		if (fsize > 0 && !quiet)
			log_warn(log, "segment %s: index files %s; rebuilding", s->path, why);
		old_n = old_tn = 0;
	} else {
		/* Start at the last entry (at or below `from` for a partial
		 * check) whose batch header matches it. */
		size_t k = s->nidx;
		if (verify == SEG_VERIFY_ALL)
			k = 0;
		else if (verify == SEG_VERIFY_TAIL && from < UINT64_MAX)
			k = (size_t)(idx_floor_pos(s, from) + 1);
		size_t want_k = k;
		while (k > 0 && !idx_entry_ok(s, &sc, k - 1))
			k--;
		if (k < want_k)
			log_warn(log, "segment %s: %zu index entries do not match the log", s->path,
			         want_k - k);
		keep_n = k ? k - 1 : 0;
		uint32_t from_rel = k ? s->idx[k - 1].rel : 0;
		keep_tn = s->ntidx;
		while (keep_tn > 0 && (k == 0 || s->tidx[keep_tn - 1].rel >= from_rel))
			keep_tn--;
		if (keep_tn > 0) {
			s->max_ts = s->tidx[keep_tn - 1].ts;
			s->max_ts_off = base + s->tidx[keep_tn - 1].rel;
		}
		if (k > 0) {
			/* Walk again from the entry's own batch; pretending a full
			 * interval has passed re-adds that same entry. */
			pos = s->idx[k - 1].pos;
			next = base + s->idx[k - 1].rel;
			s->since_index = s->index_interval;
		}
	}
	/* Fresh arrays: the kept prefix, then what the walk adds. */
	s->idx = NULL;
	s->tidx = NULL;
	s->nidx = s->cidx = s->ntidx = s->ctidx = 0;
	for (size_t i = 0; i < keep_n; i++)
		idx_push(s, old_idx[i].rel, old_idx[i].pos);
	for (size_t i = 0; i < keep_tn; i++)
		tidx_push(s, old_tidx[i].ts, old_tidx[i].rel);
	/* Damage with a valid batch after it becomes a hole and the batches
	 * after it stay. With nothing valid after it, it is a torn tail — cut —
	 * past the point known durable (all of it after a clean stop, up to
	 * the recovery point otherwise, nothing without one); before that
	 * point the bytes were once durable: a hole to the end of the file,
	 * never cut (the offsets it held are missing up to the next segment's
	 * base; appends to an active one go after it). */
	uint64_t durable_end = fsize;
	if (verify == SEG_VERIFY_ALL)
		durable_end = 0;
	else if (verify == SEG_VERIFY_TAIL && from < UINT64_MAX)
		durable_end = from;
	int walk_from_start = pos == 0;
	why = walk(s, &sc, &pos, &next, (verify != SEG_VERIFY_NONE ? W_CRC : 0) | W_INDEX);
	if (why && strcmp(why, "read error") && pos < durable_end) {
		hole_add(s, pos, fsize, next, next, why);
		/* Index entries into the hole go. */
		while (s->nidx && s->idx[s->nidx - 1].pos >= pos)
			s->nidx--;
		while (s->ntidx && base + s->tidx[s->ntidx - 1].rel >= next)
			s->ntidx--;
		pos = fsize;
		why = NULL;
	}
	if (why && strcmp(why, "read error") == 0) {
		/* Never cut data because the disk failed to return it. */
		log_error(log, "segment %s: read error at position %" PRIu64 ": %s", s->path, pos,
		          strerror(errno));
		free(old_idx);
		free(old_tidx);
		seg_close(s);
		return SL_EIO;
	}
	fd = seg_fd(s);
	if (fd < 0) {
		free(old_idx);
		free(old_tidx);
		seg_close(s);
		return fd;
	}
	s->size = pos;
	s->next = next;
	s->alloc = fsize;
	/* What was written before this run is checked once before it is
	 * served (seg_verify), unless this walk just checked all of it. */
	s->vend = pos;
	s->vnext = base;
	s->vpos = verify == SEG_VERIFY_ALL && walk_from_start ? pos : 0;
	if (pos < fsize) {
		if (why && strcmp(why, "zero tail") == 0)
			log_info(log,
			         "segment %s: trimmed %" PRIu64 " preallocated bytes at %" PRIu64,
			         s->path, fsize - pos, pos);
		else
			log_warn(log,
			         "segment %s: cut %" PRIu64 " bytes at position %" PRIu64
			         " (offset %" PRId64 "): %s",
			         s->path, fsize - pos, pos, next, why ? why : "?");
		if (sio_ftruncate(s->io, fd, (off_t)pos) == 0)
			s->alloc = pos;
		else
			log_error(log, "segment %s: cannot truncate: %s", s->path, strerror(errno));
	}
	/* The walk may have stopped at an indexed batch (a CRC failure there):
	 * drop entries that point at or past the new end. */
	while (s->nidx && s->idx[s->nidx - 1].pos >= s->size)
		s->nidx--;
	while (s->ntidx && base + s->tidx[s->ntidx - 1].rel >= s->next)
		s->ntidx--;
	if (s->first_ts < 0 && s->size > 0) {
		batch_hdr_t h;
		if (scan_hdr(&sc, 0, &h) == 0)
			s->first_ts = h.max_ts;
	}
	scan_deinit(&sc);
	int same = !rebuild && s->nidx == old_n && s->ntidx == old_tn;
	for (size_t i = keep_n; same && i < old_n; i++)
		same = s->idx[i].rel == old_idx[i].rel && s->idx[i].pos == old_idx[i].pos;
	for (size_t i = keep_tn; same && i < old_tn; i++)
		same = s->tidx[i].ts == old_tidx[i].ts && s->tidx[i].rel == old_tidx[i].rel;
	s->index_dirty = !same;
	if (same) {
		s->iflushed = s->nidx;
		s->tflushed = s->ntidx;
	}
	if (!same && !rebuild)
		log_info(log, "segment %s: index files updated to match the log", s->path);
	free(old_idx);
	free(old_tidx);
	if (s->index_dirty)
		(void)write_indexes(s);
	*out = s;
	return 0;
}

/* --- append ----------------------------------------------------------------- */

/* Makes sure [0, end) is allocated. The step follows the write rate: it
 * starts at 64 KiB, doubles (up to 64 MiB) when the previous step was used
 * up within a second and halves when it lasted over ten, so thousands of
 * quiet partitions hold little unused space (4,000 of them held 4 GB with
 * a fixed 1 MiB start) while a busy one changes the file size, which a
 * sync must also commit, rarely. */
static int prealloc(seg_t *s, uint64_t end, uint64_t max_size)
{
	if (end <= s->alloc || s->no_prealloc)
		return 0;
	int64_t now = time_mono_ms();
	if (s->prealloc_at) {
		if (now - s->prealloc_at < 1000 && s->prealloc_step < PREALLOC_MAX)
			s->prealloc_step *= 2;
		else if (now - s->prealloc_at > 10000 && s->prealloc_step > PREALLOC_MIN)
			s->prealloc_step /= 2;
	}
	s->prealloc_at = now;
	uint64_t want = s->alloc + s->prealloc_step;
	uint64_t cap = max_size > end ? max_size : end;
	if (want > cap)
		want = cap;
	if (want < end)
		want = end;
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	if (sio_fallocate(s->io, fd, 0, (off_t)s->alloc, (off_t)(want - s->alloc)) == 0) {
		s->alloc = want;
		return 0;
	}
	if (errno == EOPNOTSUPP || errno == ENOSYS) {
		s->no_prealloc = 1;
		return 0;
	}
	/* Near a full disk: take exactly what this batch needs. */
	if (want > end &&
	    sio_fallocate(s->io, fd, 0, (off_t)s->alloc, (off_t)(end - s->alloc)) == 0) {
		s->alloc = end;
		return 0;
	}
	int rc = sl_from_errno(errno) == SL_ENOSPC ? SL_ENOSPC : SL_EIO;
	log_warn(s->log, "segment %s: cannot preallocate: %s", s->path, strerror(errno));
	return rc;
}

int seg_reserve(seg_t *s, uint64_t end, uint64_t max_size)
{
	return prealloc(s, end, max_size);
}

int seg_append(seg_t *s, const uint8_t *batch, size_t len, const batch_hdr_t *h,
               const seg_params_t *prm)
{
	uint64_t pos = s->size;
	int rc = prealloc(s, pos + len, prm->max_size);
	if (rc < 0)
		return rc;
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	rc = pwrite_full(s, fd, batch, len, pos);
	if (rc < 0) {
		log_warn(s->log, "segment %s: write of %zu bytes at %" PRIu64 " failed: %s",
		         s->path, len, pos, sl_strerror(rc));
		return rc;
	}
	if (pos + len > s->alloc)
		s->alloc = pos + len;
	index_batch(s, pos, h, len, 1);
	s->size = pos + len;
	s->next = batch_last_offset(h) + 1;
	return 0;
}

/* --- reads ------------------------------------------------------------------ */

int seg_read_hdr(seg_t *s, uint64_t pos, batch_hdr_t *h)
{
	uint8_t b[BATCH_HDR_SIZE];
	if (pos + BATCH_HDR_SIZE > s->size)
		return SL_EIO;
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	if (pread_full(fd, b, sizeof b, pos) != (ssize_t)sizeof b)
		return SL_EIO;
	return batch_peek(b, sizeof b, h) < 0 ? SL_EIO : 0;
}

int seg_rebuild_index(seg_t *s)
{
	log_warn(s->log, "segment %s: index does not match the log; rebuilding", s->path);
	unmap_indexes(s);
	s->nidx = s->ntidx = 0;
	s->since_index = 0;
	s->max_ts = s->max_ts_off = -1;
	s->index_dirty = 1;
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	scan_t sc;
	scan_init(&sc, fd, s->size);
	uint64_t pos = 0;
	int64_t next = s->base;
	const char *why = walk(s, &sc, &pos, &next, W_INDEX);
	scan_deinit(&sc);
	if (why || pos != s->size || next != s->next) {
		log_error(s->log, "segment %s: log changed under us at %" PRIu64 ": %s", s->path,
		          pos, why ? why : "length");
		return SL_EIO;
	}
	int rc = write_indexes(s);
	if (rc == 0 && s->sealed)
		seg_idle(s);
	return rc;
}

/* Start position for a walk towards offset: the index entry at or below it,
 * checked against the batch header there. */
static int idx_start(seg_t *s, scan_t *sc, int64_t offset, uint64_t *pos)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		ssize_t k = idx_floor_rel(s, (uint32_t)(offset - s->base));
		if (k < 0) {
			*pos = 0;
			return 0;
		}
		if (idx_entry_ok(s, sc, (size_t)k)) {
			*pos = ix_pos(s, (size_t)k);
			return 0;
		}
		int rc = seg_rebuild_index(s);
		if (rc < 0)
			return rc;
	}
	return SL_EIO;
}

int seg_locate(seg_t *s, int64_t offset, uint64_t *pos, int64_t *batch_base)
{
	if (offset >= s->next || s->size == 0)
		return SL_ENOENT;
	if (offset < s->base)
		offset = s->base;
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	scan_t sc;
	scan_init(&sc, fd, s->size);
	uint64_t p = 0;
	int rc = idx_start(s, &sc, offset, &p);
	while (rc == 0) {
		const seg_hole_t *hl = hole_at(s, p);
		if (hl) {
			/* Offsets in a hole are missing: the batch after it is
			 * the first one at or past them (as Kafka serves a gap). */
			p = hl->to;
			if (p >= s->size) {
				rc = SL_ENOENT;
				break;
			}
			continue;
		}
		batch_hdr_t h;
		if (scan_hdr(&sc, p, &h) < 0) {
			rc = SL_EIO;
			break;
		}
		if (batch_last_offset(&h) >= offset) {
			*pos = p;
			*batch_base = h.base_offset;
			break;
		}
		p += batch_size(&h);
		if (p >= s->size)
			rc = SL_ENOENT;
	}
	scan_deinit(&sc);
	return rc;
}

int seg_extent(seg_t *s, uint64_t pos, size_t max_bytes, size_t *len)
{
	batch_hdr_t h;
	int rc = seg_read_hdr(s, pos, &h);
	if (rc < 0)
		return rc;
	/* Never into a hole: the run ends where the next one starts. */
	uint64_t end = hole_after(s, pos);
	uint64_t first = batch_size(&h);
	if (pos + first > end)
		return SL_EIO;
	if (first >= max_bytes || end - pos <= max_bytes) {
		uint64_t n = end - pos <= max_bytes ? end - pos : first;
		*len = (size_t)n;
		return 0;
	}
	uint64_t target = pos + max_bytes;
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	scan_t sc;
	scan_init(&sc, fd, end);
	uint64_t cur = pos + first;
	ssize_t k = idx_floor_pos(s, target);
	if (k >= 0 && ix_pos(s, (size_t)k) > cur) {
		if (idx_entry_ok(s, &sc, (size_t)k))
			cur = ix_pos(s, (size_t)k);
		else if ((rc = seg_rebuild_index(s)) < 0)
			goto out;
	}
	while (cur < target) {
		if (scan_hdr(&sc, cur, &h) < 0) {
			rc = SL_EIO;
			goto out;
		}
		if (cur + batch_size(&h) > target)
			break;
		cur += batch_size(&h);
	}
	*len = (size_t)(cur - pos);
out:
	scan_deinit(&sc);
	return rc;
}

int seg_find_by_time(seg_t *s, int64_t ts, int64_t min_offset, int64_t *offset)
{
	if (s->size == 0 || s->max_ts < ts || min_offset >= s->next)
		return SL_ENOENT;
	/* Entries before the first one reaching ts cover only batches whose
	 * timestamps are all below ts: start at the last such entry, or at
	 * the batch holding min_offset if that is later. */
	size_t lo = 0, hi = s->ntidx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tx_ts(s, mid) < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	int64_t from = lo > 0 ? s->base + tx_rel(s, lo - 1) : s->base;
	if (min_offset > from)
		from = min_offset;
	uint64_t p = 0;
	int64_t first;
	int rc = from > s->base ? seg_locate(s, from, &p, &first) : 0;
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	scan_t sc;
	scan_init(&sc, fd, s->size);
	while (rc == 0) {
		batch_hdr_t h;
		const seg_hole_t *hl = p < s->size ? hole_at(s, p) : NULL;
		if (hl) {
			p = hl->to;
			continue;
		}
		if (p >= s->size) {
			rc = SL_ENOENT;
			break;
		}
		if (scan_hdr(&sc, p, &h) < 0) {
			rc = SL_EIO;
			break;
		}
		if (h.max_ts >= ts) {
			*offset = h.base_offset;
			break;
		}
		p += batch_size(&h);
	}
	scan_deinit(&sc);
	return rc;
}

int seg_max_ts_from(seg_t *s, int64_t min_offset, int64_t *ts, int64_t *offset)
{
	*ts = -1;
	*offset = -1;
	uint64_t p = 0;
	int64_t first;
	int rc = seg_locate(s, min_offset, &p, &first);
	if (rc == SL_ENOENT)
		return 0;
	int fd = seg_fd(s);
	if (fd < 0)
		return fd;
	scan_t sc;
	scan_init(&sc, fd, s->size);
	while (rc == 0 && p < s->size) {
		batch_hdr_t h;
		const seg_hole_t *hl = hole_at(s, p);
		if (hl) {
			p = hl->to;
			continue;
		}
		if (scan_hdr(&sc, p, &h) < 0) {
			rc = SL_EIO;
			break;
		}
		if (h.max_ts > *ts) {
			*ts = h.max_ts;
			*offset = h.base_offset;
		}
		p += batch_size(&h);
	}
	scan_deinit(&sc);
	return rc;
}

/* --- seal / close ------------------------------------------------------------ */

int seg_seal(seg_t *s, int sync)
{
	int rc = 0;
	if (s->alloc != s->size) {
		int fd = seg_fd(s);
		if (fd < 0)
			rc = fd;
		else if (sio_ftruncate(s->io, fd, (off_t)s->size) == 0)
			s->alloc = s->size;
		else
			rc = sl_from_errno(errno);
	}
	/* The whole index, synced with the log when asked: a sealed
	 * segment's files are trusted after a clean stop. */
	int irc = 0;
	if (s->index_dirty)
		irc = write_index_range(s, 0, 0, sync);
	else if (sync || s->iflushed != s->nidx || s->tflushed != s->ntidx)
		irc = write_index_range(s, s->iflushed, s->tflushed, sync);
	rc = rc ? rc : irc;
	if (rc < 0)
		log_warn(s->log, "segment %s: seal: %s", s->path, sl_strerror(rc));
	return rc;
}

void seg_close(seg_t *s)
{
	if (!s)
		return;
	fdc_file_close(s->file);
	unmap_indexes(s);
	free(s->idx);
	free(s->tidx);
	free(s->holes);
	free(s->path);
	free(s);
}

int seg_remove(seg_t *s)
{
	static const char *const exts[] = {".log", ".index", ".timeindex"};
	int rc = 0;
	char p[4096];
	/* A connection still sending from the file keeps it open (and so
	 * readable) past the unlink, as a dup()ed descriptor would. */
	fdc_file_close(s->file);
	s->file = NULL;
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		snprintf(p, sizeof p, "%s%s", s->path, exts[i]);
		if (sio_unlink(s->io, p) < 0 && errno != ENOENT && rc == 0)
			rc = sl_from_errno(errno);
	}
	seg_close(s);
	return rc;
}

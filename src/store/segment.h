/*
 * segment.h — one segment of a partition log: the .log file of whole
 * RecordBatch v2 batches, its sparse offset index (.index) and its time
 * index (.timeindex). The byte layouts and the recovery rule are described
 * at the top of segment.c and in docs/formats-log.md.
 *
 * A segment tracks its logical end (`size`) itself: the active segment's
 * file is preallocated beyond it with zeros, so the file size is not the
 * end. Only bytes [0, size) are ever served.
 *
 * Descriptors: a segment holds none of its own. Its .log is a file of the
 * store's descriptor cache (core/fdcache.h), opened on demand and closed
 * when the cache needs room; the index files are opened only to be read
 * at open, written (seg_flush_index, seal, close) or mapped (seg_idle).
 * So a partition costs a descriptor only while it is being used.
 *
 * Loop thread only (the syncer thread only fdatasyncs the log fd).
 */
#ifndef SL_STORE_SEGMENT_H
#define SL_STORE_SEGMENT_H

#include "core/fdcache.h"
#include "core/log.h"
#include "store/batch.h"
#include "store/sio.h"

#include <stddef.h>
#include <stdint.h>

/* The PartitionLeaderEpoch of every stored batch (plog.h
 * PLOG_LEADER_EPOCH); a batch with another value is damaged. */
#define SEG_LEADER_EPOCH 0

/* Offset index entry: offset - base → byte position of the batch start. */
typedef struct seg_idx {
	uint32_t rel;
	uint32_t pos;
} seg_idx_t;

/* Time index entry: the largest MaxTimestamp so far and the relative
 * offset of the batch that carries it. */
typedef struct seg_tidx {
	int64_t ts;
	uint32_t rel;
} seg_tidx_t;

/* A damaged region: bytes [from, to) held no valid batch (a CRC mismatch,
 * a torn or overwritten header, an unexpected offset), and offsets
 * [off_from, off_to) are missing from the segment. Never served. */
typedef struct seg_hole {
	uint64_t from, to;
	int64_t off_from, off_to;
} seg_hole_t;

typedef struct seg {
	int64_t base;     /* base offset (the file name) */
	int64_t next;     /* offset after the last batch; == base when empty */
	uint64_t size;    /* logical end: bytes of whole, valid batches */
	uint64_t alloc;   /* file size, >= size (preallocated zero tail) */
	fdc_file_t *file; /* .log, O_RDWR, through the descriptor cache */
	fdc_t *fdc;       /* that cache (borrowed) */
	char *path;       /* DIR/<20-digit base>, without extension */
	seg_idx_t *idx;
	size_t nidx, cidx;
	seg_tidx_t *tidx;
	size_t ntidx, ctidx;
	const uint8_t *imap;  /* sealed: the .index file mapped (then idx is NULL) */
	const uint8_t *tmap;  /* sealed: the .timeindex file mapped */
	int sealed;           /* seg_idle was called: no more appends */
	uint64_t since_index; /* log bytes appended since the last index entry */
	int64_t max_ts;       /* largest batch MaxTimestamp, -1 when none */
	int64_t max_ts_off;   /* base offset of the batch carrying it */
	int64_t first_ts;     /* MaxTimestamp of the first batch (roll by time) */
	uint64_t prealloc_step;
	int64_t prealloc_at; /* monotonic ms of the last preallocation */
	uint64_t index_interval;
	int no_prealloc; /* the filesystem refused fallocate */
	/* The index files hold the first iflushed / tflushed entries of the
	 * in-memory indexes (appends add to memory only; seg_flush_index
	 * appends the rest); index_dirty: their content is unknown, rewrite
	 * them whole. */
	size_t iflushed, tflushed;
	int index_dirty;
	int unsynced; /* sealed without fdatasync (fsync=never) */
	const log_t *log;
	sio_t *io; /* file calls go through it (borrowed; may be NULL) */
	/* Verification (seg_verify): bytes [0, vend) were written before this
	 * run and are CRC-checked once before they are served; [0, vpos) is
	 * checked (vnext: the offset expected at vpos). Bytes past vend were
	 * written in this run and are trusted. */
	uint64_t vpos, vend;
	int64_t vnext;
	seg_hole_t *holes; /* sorted, disjoint */
	size_t nholes;
	/* Written by the log cleaner (plog_clean.c): batches may leave offset
	 * gaps between them and hold fewer records than LastOffsetDelta + 1
	 * (a compacted Kafka segment). */
	int gaps;
} seg_t;

/* Settings an append needs. */
typedef struct seg_params {
	uint64_t max_size; /* log.segment.bytes: preallocation stops here */
} seg_params_t;

/* Writes "DIR/<20-digit base><ext>" into out. */
void seg_path(char *out, size_t n, const char *dir, int64_t base, const char *ext);
/* Parses a segment file name "<20 digits><ext>"; returns the extension
 * (".log", ".index", ".timeindex") or NULL when the name is not one. */
const char *seg_parse_name(const char *name, int64_t *base);

/* Creates an empty segment (truncating leftovers): the .log and empty
 * index files. fdc (borrowed) is the descriptor cache its .log lives in.
 * Returns an owned segment; SL_EMFILE when no descriptor could be had. */
int seg_create(seg_t **out, const char *dir, int64_t base, uint64_t index_interval, fdc_t *fdc,
               const log_t *log, sio_t *io);

/* How much of a segment seg_open checks. */
enum {
	SEG_VERIFY_NONE = 0, /* clean shutdown: headers from the last index entry */
	SEG_VERIFY_TAIL = 1, /* headers and CRCs from the last index entry at or
	                      * below `from` (UINT64_MAX: the last entry) */
	SEG_VERIFY_ALL = 2,  /* headers and CRCs of every batch */
};
/* Or'ed into seg_open's verify: the segment belongs to a compacted log, so
 * batches are valid with offset gaps before them (BaseOffset past the
 * expected next offset) and 1 <= RecordsCount <= LastOffsetDelta + 1. */
#define SEG_OPEN_GAPS 0x100
/* Or'ed into verify: the index files are missing on purpose (a cleaned
 * segment just swapped in): build them without a warning. */
#define SEG_OPEN_NO_INDEX 0x200

/* Opens an existing segment and recovers it (see segment.c): indexes are
 * loaded and checked (rebuilt when missing or inconsistent), batches are
 * walked as `verify` says, and the file is truncated at the first invalid
 * byte. index_interval rebuilds entries at the same spacing as appends.
 * Returns an owned segment; SL_EIO when the file cannot be read (nothing
 * is cut then). */
int seg_open(seg_t **out, const char *dir, int64_t base, int verify, uint64_t from,
             uint64_t index_interval, fdc_t *fdc, const log_t *log, sio_t *io);

/* The .log descriptor (borrowed: valid until the next call that may open
 * another file of the cache, see fdcache.h), opened on demand; or
 * SL_EMFILE / SL_EIO when it cannot be opened. */
int seg_fd(seg_t *s);

/* CRC-checks batches from the verified prefix on, up to byte `upto` (at
 * least) and at most `budget` bytes (0: no bound), so that reads below
 * `upto` serve only checked bytes. Damage becomes a hole (logged at warn;
 * the batches after it stay readable); nothing is ever cut. Returns 0 or
 * SL_EIO (a read failed). */
int seg_verify(seg_t *s, uint64_t upto, uint64_t budget);
/* Whether bytes [0, upto) need no more checking. */
static inline int seg_verified(const seg_t *s, uint64_t upto)
{
	return s->vpos >= s->vend || s->vpos >= upto;
}

/* Makes sure bytes [0, end) of the file are allocated (fallocate, in the
 * same growing steps appends use, never past max_size unless end is), so
 * that appends up to end do not fail for lack of space. 0, or SL_ENOSPC /
 * SL_EIO (nothing changed). A filesystem without fallocate gets 0. */
int seg_reserve(seg_t *s, uint64_t end, uint64_t max_size);
/* Writes one batch (already validated and rewritten; h describes it) at
 * the logical end. On failure (SL_EIO/SL_ENOSPC) nothing changes: the
 * logical end stays where it was and the next append overwrites the
 * partial bytes. */
int seg_append(seg_t *s, const uint8_t *batch, size_t len, const batch_hdr_t *h,
               const seg_params_t *prm);

/* Position of the first batch whose last offset >= offset, skipping holes
 * (so *batch_base may be past offset). SL_ENOENT when the segment has
 * none; SL_EIO when the file cannot be read. */
int seg_locate(seg_t *s, int64_t offset, uint64_t *pos, int64_t *batch_base);
/* Length of the run of whole batches starting at pos (a batch start) that
 * fits in max_bytes, but at least one batch; never into a hole. */
int seg_extent(seg_t *s, uint64_t pos, size_t max_bytes, size_t *len);
/* Base offset of the first batch with MaxTimestamp >= ts among those whose
 * last offset >= min_offset, or SL_ENOENT. */
int seg_find_by_time(seg_t *s, int64_t ts, int64_t min_offset, int64_t *offset);

/* Largest MaxTimestamp (and its batch's base offset) among the batches
 * whose last offset >= min_offset; -1s when none. Walks those batches. */
int seg_max_ts_from(seg_t *s, int64_t min_offset, int64_t *ts, int64_t *offset);

/* Trims the preallocated tail, brings the index files up to date, and
 * fsyncs them when sync. The log data itself is synced by the caller (it
 * is registered with the syncer). */
int seg_seal(seg_t *s, int sync);
/* Appends the index entries not yet in the files (the active segment keeps
 * new entries in memory; this bounds how much a recovery after a crash
 * walks). No sync: the files are checked against the log at open. */
int seg_flush_index(seg_t *s);
/* Marks a segment sealed for good: its indexes are served from read-only
 * mappings of the files (the heap arrays are freed) and the index files
 * are closed, so a sealed segment holds no descriptor and little memory.
 * A later rebuild goes back to arrays, rewrites the files and maps again.
 * No-op on the mapping while the files lag memory. */
void seg_idle(seg_t *s);
/* Undoes seg_idle (the segment becomes the active one again after the
 * segment meant to follow it was set aside at open). */
void seg_activate(seg_t *s);
/* Recomputes both indexes by walking every batch header. */
int seg_rebuild_index(seg_t *s);

/* Closes the files and frees. */
void seg_close(seg_t *s);
/* Deletes the files (the .log first, so a crash leaves only orphan index
 * files, which the next open removes), then closes and frees. */
int seg_remove(seg_t *s);

/* The position of the last indexed batch start <= pos (0 if none): a batch
 * boundary at or below pos. */
uint64_t seg_index_floor_pos(const seg_t *s, uint64_t pos);

/* Reads the header of the batch at pos. */
int seg_read_hdr(seg_t *s, uint64_t pos, batch_hdr_t *h);

#endif

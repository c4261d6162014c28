/*
 * journal_priv.h — the state journal's internals, shared by journal.c
 * (appends, syncs, compaction, open) and journal_unit.c (unit markers and
 * the replay passes that read records back unit by unit). Store internal:
 * owners use journal.h only. The file format is described in journal.c.
 */
#ifndef SL_STORE_JOURNAL_PRIV_H
#define SL_STORE_JOURNAL_PRIV_H

#include "core/buf.h"
#include "store/journal.h"
#include "store/sio.h"

#define JRNL_MAGIC "SLJRNL"
#define JRNL_VERSION 1       /* a journal with no unit markers */
#define JRNL_VERSION_UNITS 2 /* one that may hold them */
#define JRNL_HDR 8
#define JRNL_FRAME 9 /* length + crc + type */
#define FLUSH_AT (256 * 1024)
#define READ_CHUNK (1024 * 1024)
#define PREALLOC (1024 * 1024)
#define DEFAULT_MAX_RECORD (64u * 1024 * 1024)
#define SNAP_SYNC_STEP (4u * 1024 * 1024) /* background syncs of a new file */

struct jrnl {
	loop_t *loop;
	syncer_t *syncer;
	const log_t *log;
	char *dir, *name, *path, *tmp_path;
	jrnl_opts_t opts;
	int fd;
	sync_file_t *sf;
	uint64_t file_pos;  /* bytes of the file written so far */
	uint64_t alloc_end; /* file size: [file_pos, alloc_end) is zeros */
	int prealloc;       /* fallocate works here */
	buf_t wbuf;         /* framed appends not yet written */
	uint64_t garbage;
	int err;         /* sticky write/sync failure */
	int compacting;  /* appends go to the .tmp file */
	int compact_err; /* first write failure into the .tmp */
	loop_task_t flush_task;
	sio_t *io;           /* the syncer's file interface (may be NULL) */
	store_watch_t watch; /* the owner's hooks (zeroed: none) */
	int damaged;         /* the open cut, kept aside or set aside something */
	int aside;           /* ... kept or set aside damage (not a torn tail) */
	/* The incremental compaction (jrnl_snap_begin), when snap_fd >= 0. */
	int snap_fd;
	int snap_err;
	int snap_mirror;     /* appends are copied into the new file too */
	uint64_t snap_pos;   /* bytes of the new file written */
	uint64_t snap_asked; /* background sync asked up to here */
	buf_t snap_buf;      /* new-file records not yet written */
	sync_file_t *snap_sf;
	struct snap_cell *snap_cell;
	/* Units (jrnl_unit_*): the current one, and the highest ids seen. */
	int version;   /* the file's header version */
	int in_unit;   /* between jrnl_unit_begin and jrnl_unit_end */
	int unit_open; /* its BEGIN marker was appended */
	int unit_snap; /* ... and copied into the new file */
	uint64_t unit_id;
	uint64_t unit_at;      /* jrnl_size where its BEGIN starts */
	uint64_t unit_snap_at; /* jrnl_snap_size where its copy starts */
	uint64_t unit_nrec;    /* owner records appended in it */
	uint64_t max_id, max_cross;
};

/* Unit markers: frames of type 0 (never an owner's type), payload u8 kind,
 * u64 unit id, then per kind: COMMIT u8 flags, WATERMARK u64 max cross. */
enum { MK_BEGIN = 1, MK_COMMIT = 2, MK_WATERMARK = 3 };
#define MK_CROSS 1 /* COMMIT flag: the unit has parts in other journals */
#define BEGIN_LEN (JRNL_FRAME + 9)

/* The header bytes of a file of format version (1 or 2). */
const uint8_t *jrnl_header(int version);
/* Frames a record (type, a then b as its payload) at the end of out;
 * returns where the frame starts (valid until out changes). */
const uint8_t *jrnl_frame(buf_t *out, uint8_t type, const void *a, size_t alen, const void *b,
                          size_t blen);
/* Reserves file space for bytes [0, need): 0 or SL_ENOSPC / SL_EIO. */
int jrnl_reserve_to(jrnl_t *j, uint64_t need);
/* Writes the pending appends; a failure makes the journal refuse appends. */
void jrnl_flush_wbuf(jrnl_t *j);
/* Copies a framed record into the incremental compaction's new file. */
void jrnl_snap_add(jrnl_t *j, const void *frame, size_t n);
int jrnl_write_all(jrnl_t *j, int fd, const uint8_t *p, size_t n, uint64_t off, size_t *done);
/* Copies bytes [from, size) to NAME.journal.damaged-<time>, synced, before
 * a cut there; why (NULL: a damaged record) goes into the error line. */
int jrnl_keep_aside(jrnl_t *j, uint64_t from, uint64_t size, const char *why);

/* journal_unit.c */

/* Appends the current unit's BEGIN (space reserved by the caller). */
void jrnl_unit_open(jrnl_t *j);
/* Appends a WATERMARK (the highest ids) to out, the start of a new file. */
void jrnl_watermark(jrnl_t *j, buf_t *out);

/* One pass over the records (jrnl_pass): what to call and what it found. */
typedef struct rp {
	jrnl_replay_fn fn;
	void *arg;
	uint64_t from;        /* file offset of the first frame */
	uint64_t cross_limit; /* a cross-journal unit above this id ends the pass */
	uint64_t cut_id;      /* so does a unit whose id is at least this (0: none) */
	int apply_open;       /* records of a unit left open at the end go to fn too */
	/* results */
	uint64_t valid_end; /* end of what counts: the last whole record or unit */
	uint64_t stop;      /* where reading stopped (the invalid frame, or the end) */
	uint64_t count;     /* records applied */
	uint64_t open_recs; /* records of the unit left open at the stop */
	int open_unit;      /* the stop is inside a unit (valid_end is its BEGIN) */
	int peer_missing;   /* stopped at a unit its peer journal lacks */
	const char *why;
} rp_t;

/* Reads the file from x->from to size, replaying valid records into x->fn;
 * a unit's records (BEGIN ... COMMIT) only once its COMMIT was read, so a
 * unit cut short by a crash applies none. Returns 0 (results in x), the
 * replay fn's error, or an I/O error. */
int jrnl_pass(jrnl_t *j, uint64_t size, rp_t *x);
/* The records of [from, to) (valid frames; units not required to end) to
 * fn: what an owner must know of records it will never see applied. */
int jrnl_each_record(jrnl_t *j, uint64_t from, uint64_t to, jrnl_replay_fn fn, void *arg);

#endif

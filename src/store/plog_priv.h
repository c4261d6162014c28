/*
 * plog_priv.h — the partition log's state, shared by plog.c (appends,
 * reads, recovery, retention) and plog_clean.c (the log cleaner, which
 * swaps sealed segments for compacted copies). Store internal: owners use
 * plog.h only. Loop thread only.
 */
#ifndef SL_STORE_PLOG_PRIV_H
#define SL_STORE_PLOG_PRIV_H

#include "store/plog.h"
#include "store/segment.h"

typedef struct plog_clean_job plog_clean_job_t;

/* Marker file: the cleaner has rewritten segments of this log, so every
 * segment is opened with SEG_OPEN_GAPS (see docs/formats-log.md). */
#define PLOG_COMPACTED_NAME "compacted"
/* Where the last cleaning pass ended (16 bytes: "SLCO", i64 offset, CRC-32C
 * of bytes 0-11; written atomically like start-offset). Absent or invalid:
 * the log start (everything is dirty once more). */
#define PLOG_CLEAN_CKPT_NAME "cleaner-offset"

/* A sync waiter that advances the high watermark. It may fire after the
 * log is closed (the syncer answers waiters of released files later), so
 * it points back through this small box, which the log orphans on close. */
typedef struct hw_wait {
	plog_t *p; /* NULL once the log is gone */
} hw_wait_t;

/* A batch appended to the active segment but not yet known durable. */
typedef struct pend {
	uint64_t pos; /* end of the batch in the active segment */
	int64_t end;  /* offset after the batch */
} pend_t;

struct plog {
	char *dir;
	plog_opts_t o;
	syncer_t *syncer;
	const log_t *log;
	sio_t *io;
	seg_t **segs; /* sorted by base; segs[nsegs - 1] is active */
	size_t nsegs, csegs;
	fdc_t *fdc;        /* the descriptor cache (the syncer's or own_fdc) */
	fdc_t *own_fdc;    /* without a syncer: a small private one */
	fdc_file_t *dirty; /* the active segment's file while it is dirty */
	sync_file_t *sf;   /* the active segment's registration (NULL without syncer) */
	int64_t start;
	int64_t rp_base; /* recovery point last written, or -1 */
	uint64_t rp_pos;
	int err;             /* sticky sync failure: appends refused until plog_cut */
	store_watch_t watch; /* the owner's hooks */
	/* High watermark: with fsync=always (and a syncer) readers get only
	 * offsets below hw, which are on disk; hw_pos is its byte position in
	 * the active segment. pend (a ring) holds the batches past it. */
	int track_hw; /* pend is kept: fsync=always or interval */
	int gate;     /* reads stop at hw: fsync=always */
	int64_t hw;
	uint64_t hw_pos;
	pend_t *pend;
	size_t pend_head, pend_n, pend_cap;
	hw_wait_t *hww; /* the registered waiter, or NULL */
	void (*on_hw)(void *arg);
	void *on_hw_arg;
	/* Compaction (plog_clean.c): gaps — the log holds cleaned segments
	 * (the marker file exists); clean_from — the first offset not yet
	 * cleaned (the dirty section starts there; cleaner-offset after an
	 * open). */
	int gaps;
	int64_t clean_from;
	plog_clean_job_t *cjob; /* a cleaning pass under way, or NULL */
};

static inline seg_t *active(const plog_t *p)
{
	return p->segs[p->nsegs - 1];
}

/* Records where the last pass ended (PLOG_CLEAN_CKPT_NAME). */
int plog_clean_ckpt_write(plog_t *p, int64_t offset);
/* Drops a cleaning pass under way (the log closes). */
void plog_clean_abandon(plog_t *p);
/* Whether a directory entry is a cleaner's temporary output. */
int plog_clean_is_temp(const char *name);

#endif

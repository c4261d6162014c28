/*
 * queue_commit.h — the in-order commit tracker of one partition (internal).
 *
 * The queue hands a partition's messages to several processors, which
 * finish them in any order. The tracker remembers every offset fetched
 * since the partition was assigned, in fetch order, and which of them were
 * handled; its commit point is the lowest offset fetched but not yet
 * handled, or one past the last fetched offset when all are handled. So an
 * offset is committed only when it and every earlier fetched offset were
 * handled: a crash re-delivers, never skips.
 *
 * Offsets need not be contiguous (compaction, transaction markers and
 * aborted records leave holes): the tracker works with the offsets it saw.
 * It relies on one thing only: a partition's messages are fetched in
 * increasing offset order, and every fetched message is recorded.
 *
 * Not locked: the queue calls it under its own mutex.
 */
#ifndef SL_LIB_QUEUE_COMMIT_H
#define SL_LIB_QUEUE_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib.h"

typedef struct qc_entry {
	int64_t offset;
	bool done;
} qc_entry;

typedef struct qc_tracker {
	qc_entry *ring; /* fetched offsets still at or after the commit point */
	size_t cap, head, len;
	size_t hint;  /* ring slot of the last qc_done, SIZE_MAX if none */
	int64_t last; /* last fetched offset, -1 before the first */
} qc_tracker;

void qc_init(qc_tracker *t);
void qc_deinit(qc_tracker *t);
/* Forgets everything (a new assignment starts over). */
void qc_reset(qc_tracker *t);

/* Records a fetched offset. 0; SL_EINVAL when offset is not above the last
 * recorded one (a duplicate: the caller drops the message); SL_ENOMEM. */
int qc_add(qc_tracker *t, int64_t offset);
/* Marks a recorded offset handled. 0, or SL_ENOENT if it is not pending. */
int qc_done(qc_tracker *t, int64_t offset);
/* The offset to commit (the next one to consume), or -1 if nothing was
 * fetched since the reset. */
int64_t qc_commit_point(const qc_tracker *t);
/* How many recorded offsets are not handled yet. */
size_t qc_pending(const qc_tracker *t);

#endif

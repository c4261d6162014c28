/*
 * queue_commit.c — the in-order commit tracker; see queue_commit.h.
 *
 * A ring of (offset, done) in fetch order. Handled entries at the front
 * are popped at once, so the front is always the lowest pending offset and
 * the ring holds no more than the messages between the commit point and
 * the last fetch (bounded by the queue capacity plus those in flight).
 * qc_done finds its entry by binary search (the ring is sorted), after
 * checking the front, where processors taking messages in fetch order
 * mostly finish. The capacity is a power of two, so indexing is a mask:
 * the queue calls this once per message under its lock.
 */
#include "queue_commit.h"

#include <stdlib.h>
#include <string.h>

#include "lib.h"

void qc_init(qc_tracker *t)
{
	memset(t, 0, sizeof *t);
	t->last = -1;
	t->hint = SIZE_MAX;
}

void qc_deinit(qc_tracker *t)
{
	free(t->ring);
	qc_init(t);
}

void qc_reset(qc_tracker *t)
{
	t->head = t->len = 0;
	t->last = -1;
	t->hint = SIZE_MAX;
}

static qc_entry *at(const qc_tracker *t, size_t i)
{
	return &t->ring[(t->head + i) & (t->cap - 1)];
}

static int grow(qc_tracker *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64; /* a power of two: see at() */
	qc_entry *n = malloc(ncap * sizeof *n);
	if (!n)
		return lib_err(SL_ENOMEM, "out of memory");
	for (size_t i = 0; i < t->len; i++)
		n[i] = *at(t, i);
	free(t->ring);
	t->ring = n;
	t->cap = ncap;
	t->head = 0;
	t->hint = SIZE_MAX;
	return 0;
}

int qc_add(qc_tracker *t, int64_t offset)
{
	if (offset <= t->last)
		return lib_err(SL_EINVAL, "offset %lld not above %lld", (long long)offset,
		               (long long)t->last);
	if (t->len == t->cap && grow(t))
		return SL_ENOMEM;
	*at(t, t->len) = (qc_entry){offset, false};
	t->len++;
	t->last = offset;
	return 0;
}

int qc_done(qc_tracker *t, int64_t offset)
{
	size_t lo = 0, hi = t->len;
	/* Marks come in runs of consecutive fetched offsets (a processor's
	 * batch): try the entry after the last one marked first. */
	size_t next = t->hint == SIZE_MAX ? SIZE_MAX : (t->hint + 1 - t->head) & (t->cap - 1);
	if (hi && at(t, 0)->offset >= offset)
		hi = 0; /* the front or nothing: skip the search */
	else if (next < t->len && at(t, next)->offset == offset)
		lo = hi = next;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (at(t, mid)->offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == t->len || at(t, lo)->offset != offset || at(t, lo)->done)
		return SL_ENOENT;
	at(t, lo)->done = true;
	t->hint = (t->head + lo) & (t->cap - 1);
	while (t->len && at(t, 0)->done) {
		t->head = (t->head + 1) & (t->cap - 1);
		t->len--;
	}
	return 0;
}

int64_t qc_commit_point(const qc_tracker *t)
{
	if (t->len)
		return at(t, 0)->offset;
	return t->last < 0 ? -1 : t->last + 1;
}

size_t qc_pending(const qc_tracker *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->len; i++)
		n += !at(t, i)->done;
	return n;
}

/*
 * partition.c — one topic partition; see partition.h.
 *
 * Only the batch header is read here (store/batch.h: producer id, epoch,
 * base sequence, last offset delta); plog validates the rest (CRC, counts)
 * on append.
 *
 * Idempotent producer state is rebuilt on open, and again after the domain
 * cut the log back (reload), by reading the headers of the batches in the
 * last PSTATE_SCAN_OFFSETS offsets of the log: the log is the record of
 * what was appended, so batches undone by a cut are forgotten and their
 * retries accepted. Loop thread only.
 */
#include "broker/partition.h"
#include "broker/broker.h"
#include "broker/fetchwait.h"
#include "broker/topic.h"
#include "core/err.h"
#include "core/time.h"
#include "store/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int32_t seq_add(int32_t seq, int32_t delta)
{
	int64_t v = (int64_t)seq + delta;
	return (int32_t)(v > INT32_MAX ? v - INT32_MAX - 1 : v);
}

static int open_find(const partition_t *p, int64_t pid)
{
	for (int i = 0; i < p->ntopen; i++)
		if (p->topen[i].pid == pid)
			return i;
	return -1;
}

/* A transactional batch at `base` from pid: opens its transaction. */
static void txn_note_batch(partition_t *p, int64_t pid, int64_t base)
{
	if (open_find(p, pid) >= 0)
		return;
	if (p->ntopen == p->captopen) {
		p->captopen = p->captopen ? p->captopen * 2 : 4;
		p->topen = realloc(p->topen, (size_t)p->captopen * sizeof *p->topen);
		if (!p->topen)
			abort();
	}
	p->topen[p->ntopen++] = (part_open_txn_t){pid, base};
}

/* A marker at `off` for pid: closes its transaction. */
static void txn_note_marker(partition_t *p, int64_t pid, int16_t epoch, int commit, int64_t off)
{
	pstate_fence(&p->pstate, pid, epoch);
	int i = open_find(p, pid);
	if (i < 0)
		return;
	int64_t first = p->topen[i].first;
	p->topen[i] = p->topen[--p->ntopen];
	if (commit)
		return;
	if (p->naborted == p->capaborted) {
		p->capaborted = p->capaborted ? p->capaborted * 2 : 8;
		p->aborted = realloc(p->aborted, p->capaborted * sizeof *p->aborted);
		if (!p->aborted)
			abort();
	}
	p->aborted[p->naborted++] = (part_aborted_t){pid, first, off};
}

static void txn_reset(partition_t *p)
{
	p->ntopen = 0;
	p->naborted = 0;
}

/* A control batch in the log at pos: read it whole (one small record) for
 * its marker type. */
static void rebuild_marker(partition_t *p, int fd, off_t pos, const batch_hdr_t *h)
{
	size_t n = batch_size(h);
	if (n > 4096)
		return;
	uint8_t buf[4096];
	if (pread(fd, buf, n, pos) != (ssize_t)n)
		return;
	int type = batch_control_type(buf, n);
	if (type < 0)
		return;
	txn_note_marker(p, h->producer_id, h->producer_epoch, type == BATCH_CONTROL_COMMIT,
	                h->base_offset);
}

static void rebuild_pstate(partition_t *p)
{
	txn_reset(p);
	int64_t end = plog_end_offset(p->log);
	int64_t off = plog_start_offset(p->log);
	if (end - off > PSTATE_SCAN_OFFSETS)
		off = end - PSTATE_SCAN_OFFSETS;
	while (off < end) {
		plog_region_t reg;
		if (plog_read(p->log, off, 1 << 20, &reg) < 0 || reg.len == 0)
			return;
		off_t pos = reg.pos;
		off_t stop = reg.pos + (off_t)reg.len;
		int64_t next = off;
		while (pos + BATCH_HDR_SIZE <= stop) {
			uint8_t hb[BATCH_HDR_SIZE];
			batch_hdr_t h;
			if (pread(reg.fd, hb, sizeof hb, pos) != (ssize_t)sizeof hb ||
			    batch_peek(hb, sizeof hb, &h) < 0)
				return;
			if (h.producer_id >= 0 && (h.attributes & BATCH_ATTR_CONTROL))
				rebuild_marker(p, reg.fd, pos, &h);
			else if (h.producer_id >= 0 && (h.attributes & BATCH_ATTR_TRANSACTIONAL))
				txn_note_batch(p, h.producer_id, h.base_offset);
			if (h.producer_id >= 0 && h.base_sequence >= 0)
				pstate_record(
				    &p->pstate, h.producer_id, h.producer_epoch, h.base_sequence,
				    seq_add(h.base_sequence, h.last_offset_delta), h.base_offset);
			next = batch_last_offset(&h) + 1;
			pos += (off_t)batch_size(&h);
		}
		if (next <= off)
			return;
		off = next;
	}
}

static void on_hw(void *arg)
{
	fetchwait_notify(arg);
}

/* The domain cut the log back after a failed sync: what producers did is
 * now what the log holds. */
static int reload(void *arg)
{
	partition_t *p = arg;
	pstate_deinit(&p->pstate);
	pstate_init(&p->pstate);
	rebuild_pstate(p);
	/* Parked fetches past the new end learn it (OFFSET_OUT_OF_RANGE). */
	fetchwait_notify(p);
	return 0;
}

int partition_open(partition_t **out, topic_t *t, int32_t index, const char *dir,
                   const plog_opts_t *opts, broker_t *b)
{
	partition_t *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	p->topic = t;
	p->index = index;
	pstate_init(&p->pstate);
	int rc = plog_open(&p->log, dir, opts, b->syncer, b->log, b->clean_start);
	if (rc < 0) {
		pstate_deinit(&p->pstate);
		free(p);
		return rc;
	}
	rebuild_pstate(p);
	/* With fsync=always fetches see a batch once its sync lands: the
	 * high watermark moving is what wakes them. */
	plog_on_hw(p->log, on_hw, p);
	char name[TOPIC_NAME_MAX + 32];
	snprintf(name, sizeof name, "kafka partition %s-%d", t->name, (int)index);
	dur_hooks_t hooks = {reload, NULL, p};
	p->dur = dur_new(b->loop, b->log, name, opts->fsync, &hooks);
	p->mem = dur_add_plog(p->dur, p->log);
	*out = p;
	return 0;
}

/* Finishes what is held on the domain (those replies get SL_ECLOSED) and
 * frees everything but the log. */
static void partition_free(partition_t *p)
{
	fetchwait_forget(p);
	dur_del(p->dur, p->mem);
	dur_free(p->dur);
	pstate_deinit(&p->pstate);
	free(p->topen);
	free(p->aborted);
}

void partition_close(partition_t *p)
{
	partition_free(p);
	plog_close(p->log);
	free(p);
}

int partition_destroy(partition_t *p)
{
	partition_free(p);
	int rc = plog_destroy(p->log);
	free(p);
	return rc;
}

int partition_append(partition_t *p, uint8_t *batch, size_t len, part_append_t *res)
{
	res->base_offset = -1;
	res->log_append_time = -1;
	res->duplicate = 0;
	res->pserr = PS_OK;
	if ((int64_t)len > p->topic->max_message_bytes)
		return SL_ETOOBIG;
	batch_hdr_t h;
	if (batch_peek(batch, len, &h) < 0)
		return SL_ECORRUPT;
	/* Recovering from a failed sync: nothing may build on the log until
	 * it is cut back (the policy of broker/dur.h). */
	int rc = dur_state(p->dur);
	if (rc < 0)
		return rc;
	int idem = h.producer_id >= 0;
	int32_t last_seq = seq_add(h.base_sequence, h.last_offset_delta);
	if (idem) {
		if (h.base_sequence < 0 || h.last_offset_delta < 0)
			return SL_EPROTO;
		int64_t dup = -1;
		int ps = pstate_check(&p->pstate, h.producer_id, h.producer_epoch, h.base_sequence,
		                      last_seq, &dup);
		if (ps == PS_DUPLICATE) {
			res->base_offset = dup;
			res->duplicate = 1;
			return 0;
		}
		if (ps != PS_OK) {
			res->pserr = ps;
			return SL_ESTATE;
		}
	}
	int64_t lat = p->topic->log_append_time ? time_wall_ms() : -1;
	rc = plog_append(p->log, batch, len, lat, &res->base_offset);
	if (rc < 0)
		return rc;
	res->log_append_time = lat;
	p->msgs_in += (uint64_t)h.count;
	p->bytes_in += len;
	if (idem)
		pstate_record(&p->pstate, h.producer_id, h.producer_epoch, h.base_sequence,
		              last_seq, res->base_offset);
	if (idem && (h.attributes & BATCH_ATTR_TRANSACTIONAL))
		txn_note_batch(p, h.producer_id, res->base_offset);
	/* Readable at once unless reads wait for the sync (then the high
	 * watermark moving wakes the fetches: on_hw). */
	if (plog_hw(p->log) == plog_end_offset(p->log))
		fetchwait_notify(p);
	return 0;
}

int partition_append_marker(partition_t *p, int64_t pid, int16_t epoch, int commit, int *wrote)
{
	*wrote = 0;
	if (open_find(p, pid) < 0) {
		/* Nothing of pid here: fence its older epochs all the same. */
		pstate_fence(&p->pstate, pid, epoch);
		return 0;
	}
	int rc = dur_state(p->dur);
	if (rc < 0)
		return rc;
	buf_t b = BUF_INIT;
	batch_build_control(&b, pid, epoch, commit, 0, time_wall_ms());
	int64_t off = -1;
	rc = plog_append(p->log, buf_data(&b), buf_len(&b), -1, &off);
	buf_deinit(&b);
	if (rc < 0)
		return rc;
	txn_note_marker(p, pid, epoch, commit, off);
	*wrote = 1;
	if (plog_hw(p->log) == plog_end_offset(p->log))
		fetchwait_notify(p);
	return 0;
}

int64_t partition_lso(const partition_t *p)
{
	int64_t lso = plog_hw(p->log);
	for (int i = 0; i < p->ntopen; i++)
		if (p->topen[i].first < lso)
			lso = p->topen[i].first;
	return lso;
}

int partition_txn_open(const partition_t *p, int64_t pid)
{
	return open_find(p, pid) >= 0;
}

int64_t partition_txn_first(const partition_t *p, int64_t pid)
{
	int i = open_find(p, pid);
	return i < 0 ? -1 : p->topen[i].first;
}

size_t partition_aborted_from(const partition_t *p, int64_t from, const part_aborted_t **out)
{
	size_t lo = 0, hi = p->naborted;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->aborted[mid].last < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	*out = p->aborted + lo;
	return p->naborted - lo;
}

int partition_clean(partition_t *p, const plog_clean_opts_t *o, plog_clean_stats_t *st)
{
	plog_clean_opts_t c = *o;
	c.limit = partition_lso(p);
	plog_aborted_t *ab = NULL;
	if (p->naborted) {
		ab = malloc(p->naborted * sizeof *ab);
		if (!ab)
			abort();
		for (size_t i = 0; i < p->naborted; i++)
			ab[i] = (plog_aborted_t){p->aborted[i].pid, p->aborted[i].first,
			                         p->aborted[i].last};
	}
	c.aborted = ab;
	c.naborted = p->naborted;
	int rc = plog_clean(p->log, &c, st);
	free(ab);
	return rc;
}

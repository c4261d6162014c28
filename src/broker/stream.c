/*
 * stream.c — the Redis stream model (see stream.h). Loop thread only.
 */
#include "broker/stream.h"

#include "core/err.h"
#include "store/batch.h"
#include "store/plog.h"

#include <errno.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

static char *xmemdup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* --- IDs ------------------------------------------------------------------ */

int sid_incr(sid_t *a)
{
	if (a->seq == UINT64_MAX) {
		if (a->ms == UINT64_MAX)
			return -1;
		a->ms++;
		a->seq = 0;
	} else {
		a->seq++;
	}
	return 0;
}

int sid_decr(sid_t *a)
{
	if (a->seq == 0) {
		if (a->ms == 0)
			return -1;
		a->ms--;
		a->seq = UINT64_MAX;
	} else {
		a->seq--;
	}
	return 0;
}

int sid_fmt(sid_t id, char *out)
{
	char tmp[SID_STRLEN];
	char *end = tmp + sizeof tmp, *p = end;
	uint64_t v = id.seq;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	*--p = '-';
	v = id.ms;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	int n = (int)(end - p);
	memcpy(out, p, (size_t)n);
	out[n] = 0;
	return n;
}

/* Redis's string2ull: a strict integer, else whatever strtoull accepts
 * completely (so "+5" and "007" pass, as they do in Redis). */
static int parse_u64(const char *s, uint64_t *out)
{
	if (!*s)
		return -1;
	int neg = s[0] == '-';
	size_t n = strlen(s);
	int strict = n <= 20 && !(n > 1 && s[neg] == '0') && !(neg && n == 1);
	uint64_t v = 0;
	for (size_t i = (size_t)neg; strict && i < n; i++) {
		strict = s[i] >= '0' && s[i] <= '9';
		if (strict) {
			uint64_t d = (uint64_t)(s[i] - '0');
			if (v > (UINT64_MAX - d) / 10)
				strict = 0;
			else
				v = v * 10 + d;
		}
	}
	if (strict) {
		if (neg)
			return -1;
		if (v <= INT64_MAX) {
			*out = v;
			return 0;
		}
	}
	char *end = NULL;
	errno = 0;
	unsigned long long lv = strtoull(s, &end, 10);
	if (errno == EINVAL || errno == ERANGE || *end != 0)
		return -1;
	*out = lv;
	return 0;
}

int sid_parse(const char *s, size_t n, sid_t *out, uint64_t missing_seq, int strict, int *seq_given)
{
	char buf[128];
	if (seq_given)
		*seq_given = 1;
	if (n > sizeof buf - 1 || memchr(s, 0, n))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == 0)
		return -1;
	if (buf[0] == '-' && buf[1] == 0) {
		*out = SID_MIN;
		return 0;
	}
	if (buf[0] == '+' && buf[1] == 0) {
		*out = SID_MAX;
		return 0;
	}
	char *dot = strchr(buf, '-');
	if (dot)
		*dot = 0;
	uint64_t ms, seq;
	if (parse_u64(buf, &ms) < 0)
		return -1;
	if (dot) {
		if (seq_given && dot[1] == '*' && dot[2] == 0) {
			seq = 0;
			*seq_given = 0;
		} else if (parse_u64(dot + 1, &seq) < 0) {
			return -1;
		}
	} else {
		seq = missing_seq;
	}
	out->ms = ms;
	out->seq = seq;
	return 0;
}

/* --- entries -------------------------------------------------------------- */

const uint8_t *sentry_field(const uint8_t *p, const uint8_t **s, uint32_t *n)
{
	uint32_t len = be32_load(p);
	*s = p + 4;
	*n = len;
	return p + 4 + len;
}

stream_t *stream_new(void)
{
	stream_t *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	map_init(&s->groups);
	return s;
}

static void pel_free(spel_t *p, int owns)
{
	if (owns)
		for (size_t i = 0; i < p->n; i++)
			free(p->v[i]);
	free(p->base);
	p->v = p->base = NULL;
	p->n = p->cap = 0;
}

static void consumer_free(sconsumer_t *c)
{
	pel_free(&c->pel, 0);
	free(c->name);
	free(c);
}

static void group_free(sgroup_t *g)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&g->consumers, &it, &k, &kl, &v))
		consumer_free(v);
	map_deinit(&g->consumers);
	pel_free(&g->pel, 1);
	free(g->name);
	free(g);
}

void stream_free(stream_t *s)
{
	if (!s)
		return;
	for (size_t i = s->head; i < s->head + s->n; i++)
		free(s->v[i]);
	free(s->v);
	if (s->log) {
		stream_flush(s);
		plog_close(s->log);
	}
	buf_deinit(&s->rbuf);
	free(s->roff);
	buf_deinit(&s->pbuf);
	free(s->poff);
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&s->groups, &it, &k, &kl, &v))
		group_free(v);
	map_deinit(&s->groups);
	free(s);
}

int stream_next_id(const stream_t *s, uint64_t now_ms, sid_t *out)
{
	sid_t base = stream_gen_base(s);
	if (now_ms > base.ms) {
		out->ms = now_ms;
		out->seq = 0;
		return 0;
	}
	*out = base;
	return sid_incr(out);
}

/* Drops the holes and the trimmed head so that v[0..n) is dense again. */
static void compact(stream_t *s)
{
	size_t o = 0;
	for (size_t i = s->head; i < s->head + s->n; i++)
		if (s->v[i])
			s->v[o++] = s->v[i];
	s->head = 0;
	s->n = o;
	s->holes = 0;
}

static void drop_leading_holes(stream_t *s)
{
	while (s->n && !s->v[s->head]) {
		s->head++;
		s->n--;
		s->holes--;
	}
	if (s->n == 0)
		s->head = 0;
}

/* Record layout in the partition log: key = ID (u64 ms, u64 seq) + u32
 * npairs, all big-endian; value = the packed payload; timestamp = ms. */
#define REC_KEY_LEN 20

/* Pending records in pbuf: [u32 len][key REC_KEY_LEN][payload]. */
#define PEND_FLUSH_BYTES (1u << 20)

static void pend_add(stream_t *s, sid_t id, uint32_t npairs, const void *data, size_t len)
{
	if (s->pn == 0)
		s->pfirst = s->next_pos;
	if (s->pn == s->pcap) {
		s->pcap = s->pcap ? s->pcap * 2 : 64;
		s->poff = xrealloc(s->poff, s->pcap * sizeof *s->poff);
	}
	s->poff[s->pn++] = (uint32_t)buf_len(&s->pbuf);
	buf_put_be32(&s->pbuf, (uint32_t)len);
	buf_put_be64(&s->pbuf, id.ms);
	buf_put_be64(&s->pbuf, id.seq);
	buf_put_be32(&s->pbuf, npairs);
	buf_append(&s->pbuf, data, len);
}

int stream_flush_due(const stream_t *s, size_t payload_len)
{
	return s->log && s->pn && buf_len(&s->pbuf) + payload_len > PEND_FLUSH_BYTES;
}

size_t stream_pending_bytes(const stream_t *s, uint32_t npairs, size_t payload_len)
{
	/* A record's framing (length, attributes, timestamp and offset
	 * deltas, key and value lengths, header count: varints) is at most 32
	 * bytes beside its key and value; BATCH_HDR_SIZE heads the batch. The
	 * pending buffer holds per record a u32 length, the key and the
	 * value. */
	(void)npairs;
	size_t pend = buf_len(&s->pbuf) + s->pn * 32;
	return BATCH_HDR_SIZE + pend + 32 + REC_KEY_LEN + payload_len;
}

/* Writes the first k pending records as one batch; the rest stay pending. */
static int flush_first(stream_t *s, size_t k)
{
	if (!s->log || k == 0)
		return 0;
	batch_record_t *recs = xmalloc(k * sizeof *recs);
	const uint8_t *base = buf_data(&s->pbuf);
	for (size_t i = 0; i < k; i++) {
		const uint8_t *r = base + s->poff[i];
		memset(&recs[i], 0, sizeof recs[i]);
		recs[i].timestamp = (int64_t)(be64_load(r + 4) & INT64_MAX);
		recs[i].key = r + 4;
		recs[i].key_len = REC_KEY_LEN;
		recs[i].value = r + 4 + REC_KEY_LEN;
		recs[i].value_len = (int32_t)be32_load(r);
	}
	buf_t b = BUF_INIT;
	int rc = batch_build(&b, NULL, recs, k);
	int64_t first = 0;
	if (rc == 0)
		rc = plog_append(s->log, buf_data(&b), buf_len(&b), -1, &first);
	if (rc == 0 && (uint64_t)first != s->pfirst)
		rc = SL_ECORRUPT;
	buf_deinit(&b);
	free(recs);
	if (rc < 0 || k == s->pn) {
		/* On failure every pending entry stays indexed but unreadable
		 * (their payload reads fail); the caller reports the error. */
		buf_reset(&s->pbuf);
		s->pn = 0;
		return rc;
	}
	uint32_t cut = s->poff[k];
	buf_consume(&s->pbuf, cut);
	for (size_t i = k; i < s->pn; i++)
		s->poff[i - k] = s->poff[i] - cut;
	s->pn -= k;
	s->pfirst += k;
	return 0;
}

int stream_flush(stream_t *s)
{
	return flush_first(s, s->pn);
}

int stream_flush_upto(stream_t *s, uint64_t end)
{
	if (s->pn == 0 || end <= s->pfirst)
		return 0;
	uint64_t k = end - s->pfirst;
	return flush_first(s, k < s->pn ? (size_t)k : s->pn);
}

static sentry_t *push_entry(stream_t *s, sentry_t *e);

sentry_t *stream_append(stream_t *s, sid_t id, uint32_t npairs, const void *data, size_t len)
{
	sentry_t *e;
	if (len > UINT32_MAX - 64)
		return NULL;
	if (s->log) {
		/* Consecutive appends of a turn share one batch (stream_flush). */
		if (s->pn && buf_len(&s->pbuf) + len > PEND_FLUSH_BYTES && stream_flush(s) < 0)
			return NULL;
		pend_add(s, id, npairs, data, len);
		e = xmalloc(sizeof *e);
		e->len = 0;
		e->ondisk = 1;
	} else {
		e = xmalloc(sizeof *e + len);
		e->len = (uint32_t)len;
		e->ondisk = 0;
		memcpy(e->data, data, len);
	}
	e->id = id;
	e->pos = s->next_pos++;
	e->npairs = npairs;
	return push_entry(s, e);
}

static sentry_t *push_entry(stream_t *s, sentry_t *e)
{
	if (s->head + s->n == s->cap) {
		if (s->head > 0 && (s->head >= s->cap / 2 || s->holes >= s->n / 2))
			compact(s);
		if (s->head + s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 16;
			s->v = xrealloc(s->v, s->cap * sizeof *s->v);
		}
	}
	s->v[s->head + s->n++] = e;
	s->length++;
	s->last_id = e->id;
	s->entries_added++;
	return e;
}

sentry_t *stream_append_argv(stream_t *s, sid_t id, uint32_t npairs, const char *const *ptrs,
                             const size_t *lens)
{
	size_t len = 0;
	if (s->log) {
		/* Pack straight into the pending batch. */
		for (uint32_t i = 0; i < 2 * npairs; i++)
			len += 4 + lens[i];
		if (s->pn && buf_len(&s->pbuf) + len > PEND_FLUSH_BYTES && stream_flush(s) < 0)
			return NULL;
		if (s->pn == 0)
			s->pfirst = s->next_pos;
		if (s->pn == s->pcap) {
			s->pcap = s->pcap ? s->pcap * 2 : 64;
			s->poff = xrealloc(s->poff, s->pcap * sizeof *s->poff);
		}
		s->poff[s->pn++] = (uint32_t)buf_len(&s->pbuf);
		uint8_t *p = buf_reserve(&s->pbuf, 4 + REC_KEY_LEN + len);
		be32_store(p, (uint32_t)len);
		be64_store(p + 4, id.ms);
		be64_store(p + 12, id.seq);
		be32_store(p + 20, npairs);
		p += 4 + REC_KEY_LEN;
		for (uint32_t i = 0; i < 2 * npairs; i++) {
			be32_store(p, (uint32_t)lens[i]);
			memcpy(p + 4, ptrs[i], lens[i]);
			p += 4 + lens[i];
		}
		buf_commit(&s->pbuf, 4 + REC_KEY_LEN + len);
		sentry_t *e = xmalloc(sizeof *e);
		e->len = 0;
		e->ondisk = 1;
		e->id = id;
		e->pos = s->next_pos++;
		e->npairs = npairs;
		return push_entry(s, e);
	}
	for (uint32_t i = 0; i < 2 * npairs; i++)
		len += 4 + lens[i];
	uint8_t *tmp = xmalloc(len);
	uint8_t *p = tmp;
	for (uint32_t i = 0; i < 2 * npairs; i++) {
		be32_store(p, (uint32_t)lens[i]);
		memcpy(p + 4, ptrs[i], lens[i]);
		p += 4 + lens[i];
	}
	sentry_t *e = stream_append(s, id, npairs, tmp, len);
	free(tmp);
	return e;
}

sentry_t *stream_first(const stream_t *s)
{
	for (size_t i = s->head; i < s->head + s->n; i++)
		if (s->v[i])
			return s->v[i];
	return NULL;
}

sentry_t *stream_last(const stream_t *s)
{
	for (size_t i = s->head + s->n; i > s->head; i--)
		if (s->v[i - 1])
			return s->v[i - 1];
	return NULL;
}

/* Index of the first slot whose entry (skipping holes) has id >= `id`. */
static size_t lower_bound(const stream_t *s, sid_t id)
{
	size_t lo = s->head, hi = s->head + s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		size_t m = mid;
		while (m < hi && !s->v[m])
			m++;
		if (m == hi) {
			hi = mid;
			continue;
		}
		if (sid_cmp(s->v[m]->id, id) < 0)
			lo = m + 1;
		else
			hi = mid;
	}
	return lo;
}

sentry_t *stream_get(const stream_t *s, sid_t id)
{
	size_t i = lower_bound(s, id);
	while (i < s->head + s->n && !s->v[i])
		i++;
	if (i < s->head + s->n && sid_cmp(s->v[i]->id, id) == 0)
		return s->v[i];
	return NULL;
}

void stream_iter(siter_t *it, const stream_t *s, sid_t start, sid_t end, int rev)
{
	it->s = s;
	it->start = start;
	it->end = end;
	it->rev = rev;
	it->done = sid_cmp(start, end) > 0;
	if (it->done)
		return;
	if (!rev) {
		it->i = lower_bound(s, start);
	} else {
		/* One past the last entry <= end. */
		if (end.ms == UINT64_MAX && end.seq == UINT64_MAX) {
			it->i = s->head + s->n;
		} else {
			sid_t e1 = end;
			sid_incr(&e1);
			it->i = lower_bound(s, e1);
		}
	}
}

sentry_t *stream_iter_next(siter_t *it)
{
	const stream_t *s = it->s;
	if (it->done)
		return NULL;
	if (!it->rev) {
		while (it->i < s->head + s->n) {
			sentry_t *e = s->v[it->i++];
			if (!e)
				continue;
			if (sid_cmp(e->id, it->end) > 0)
				break;
			return e;
		}
	} else {
		while (it->i > s->head) {
			sentry_t *e = s->v[--it->i];
			if (!e)
				continue;
			if (sid_cmp(e->id, it->start) < 0)
				break;
			return e;
		}
	}
	it->done = 1;
	return NULL;
}

static void remove_at(stream_t *s, size_t i)
{
	free(s->v[i]);
	s->v[i] = NULL;
	s->holes++;
	s->length--;
	drop_leading_holes(s);
	if (s->holes > 64 && s->holes >= s->n / 2)
		compact(s);
}

int stream_delete(stream_t *s, sid_t id)
{
	size_t i = lower_bound(s, id);
	while (i < s->head + s->n && !s->v[i])
		i++;
	if (i >= s->head + s->n || sid_cmp(s->v[i]->id, id) != 0)
		return 0;
	remove_at(s, i);
	s->ndeleted++;
	if (sid_cmp(id, s->max_deleted_id) > 0)
		s->max_deleted_id = id;
	return 1;
}

/* Live entries and the last insertion index of the node of `per`
 * entries that starts at slot i (approximate trimming works on nodes). */
static size_t node_span(const stream_t *s, size_t i, uint64_t per, uint64_t *live, sid_t *last)
{
	uint64_t node = s->v[i]->pos / per;
	size_t j = i;
	*live = 0;
	for (; j < s->head + s->n; j++) {
		if (!s->v[j])
			continue;
		if (s->v[j]->pos / per != node)
			break;
		(*live)++;
		*last = s->v[j]->id;
	}
	return j;
}

void stream_release_log(stream_t *s, uint64_t below)
{
	if (!s->log)
		return;
	sentry_t *f = stream_first(s);
	uint64_t keep = f ? f->pos : s->next_pos;
	if (below < keep)
		keep = below;
	/* Entries still pending are not in the log yet. */
	if ((int64_t)keep > plog_end_offset(s->log))
		keep = (uint64_t)plog_end_offset(s->log);
	if ((int64_t)keep > plog_start_offset(s->log))
		plog_delete_before(s->log, (int64_t)keep);
}

static int64_t trim(stream_t *s, int64_t maxlen, const sid_t *minid, int64_t approx, int64_t limit)
{
	uint64_t per = approx > 0 ? (uint64_t)approx : STREAM_NODE_ENTRIES;
	int64_t removed = 0;
	while (s->length > 0) {
		size_t i = s->head;
		while (!s->v[i])
			i++;
		if (approx) {
			uint64_t live;
			sid_t last = SID_MIN;
			size_t end = node_span(s, i, per, &live, &last);
			if (minid) {
				if (sid_cmp(last, *minid) >= 0)
					break;
			} else if (s->length - live < (uint64_t)maxlen) {
				break;
			}
			if (limit && removed + (int64_t)live > limit)
				break;
			for (size_t j = i; j < end; j++)
				if (s->v[j]) {
					free(s->v[j]);
					s->v[j] = NULL;
					s->holes++;
					s->length--;
				}
			removed += (int64_t)live;
			drop_leading_holes(s);
		} else {
			if (minid) {
				if (sid_cmp(s->v[i]->id, *minid) >= 0)
					break;
			} else if (s->length <= (uint64_t)maxlen) {
				break;
			}
			remove_at(s, i);
			removed++;
		}
	}
	if (s->holes > 64 && s->holes >= s->n / 2)
		compact(s);
	return removed;
}

int64_t stream_trim_maxlen(stream_t *s, int64_t maxlen, int64_t approx, int64_t limit)
{
	return trim(s, maxlen, NULL, approx, limit);
}

int64_t stream_trim_minid(stream_t *s, sid_t minid, int64_t approx, int64_t limit)
{
	return trim(s, 0, &minid, approx, limit);
}

/* --- lag (Redis 7.0 t_stream.c semantics) ----------------------------------- */

int64_t stream_estimate_distance(const stream_t *s, sid_t id)
{
	if (!s->entries_added)
		return 0;
	if (!s->length && sid_cmp(id, s->last_id) < 1)
		return (int64_t)s->entries_added;
	int cmp_last = sid_cmp(id, s->last_id);
	if (cmp_last == 0)
		return (int64_t)s->entries_added;
	if (cmp_last > 0)
		return STREAM_ENTRIES_READ_INVALID;
	sentry_t *f = stream_first(s);
	sid_t first = f ? f->id : SID_MIN;
	int cmp_id_first = sid_cmp(id, first);
	int cmp_xdel_first = sid_cmp(s->max_deleted_id, first);
	if (sid_is_zero(s->max_deleted_id) || cmp_xdel_first < 0) {
		if (cmp_id_first < 0)
			return (int64_t)(s->entries_added - s->length);
		if (cmp_id_first == 0)
			return (int64_t)(s->entries_added - s->length + 1);
	}
	return STREAM_ENTRIES_READ_INVALID;
}

int stream_range_has_tombstones(const stream_t *s, sid_t start)
{
	if (!s->length || sid_is_zero(s->max_deleted_id))
		return 0;
	sentry_t *f = stream_first(s);
	if (f && sid_cmp(f->id, s->max_deleted_id) > 0)
		return 0;
	return sid_cmp(start, s->max_deleted_id) <= 0;
}

int64_t stream_group_lag(const stream_t *s, const sgroup_t *g, int *valid)
{
	*valid = 1;
	if (!s->entries_added)
		return 0;
	if (g->entries_read != STREAM_ENTRIES_READ_INVALID &&
	    !stream_range_has_tombstones(s, g->last_id))
		return (int64_t)s->entries_added - g->entries_read;
	int64_t er = stream_estimate_distance(s, g->last_id);
	if (er != STREAM_ENTRIES_READ_INVALID)
		return (int64_t)s->entries_added - er;
	*valid = 0;
	return -1;
}

void stream_group_advance(stream_t *s, sgroup_t *g, sid_t id)
{
	if (sid_cmp(id, g->last_id) <= 0)
		return;
	if (g->entries_read != STREAM_ENTRIES_READ_INVALID && !stream_range_has_tombstones(s, id))
		g->entries_read++;
	else if (s->entries_added)
		g->entries_read = stream_estimate_distance(s, id);
	g->last_id = id;
}

/* --- groups and consumers --------------------------------------------------- */

sgroup_t *stream_group_find(const stream_t *s, const char *name, size_t nlen)
{
	return map_get(&s->groups, name, nlen);
}

sgroup_t *stream_group_create(stream_t *s, const char *name, size_t nlen, sid_t last_id,
                              int64_t entries_read)
{
	if (map_get(&s->groups, name, nlen))
		return NULL;
	sgroup_t *g = calloc(1, sizeof *g);
	if (!g)
		abort();
	g->name = xmemdup(name, nlen);
	g->nlen = nlen;
	g->last_id = last_id;
	g->entries_read = entries_read;
	map_init(&g->consumers);
	map_put(&s->groups, name, nlen, g);
	return g;
}

void stream_group_destroy(stream_t *s, sgroup_t *g)
{
	map_del(&s->groups, g->name, g->nlen);
	group_free(g);
}

static int cmp_name(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static int cmp_group(const void *a, const void *b)
{
	const sgroup_t *x = *(sgroup_t *const *)a, *y = *(sgroup_t *const *)b;
	return cmp_name(x->name, x->nlen, y->name, y->nlen);
}

static int cmp_consumer(const void *a, const void *b)
{
	const sconsumer_t *x = *(sconsumer_t *const *)a, *y = *(sconsumer_t *const *)b;
	return cmp_name(x->name, x->nlen, y->name, y->nlen);
}

static void **map_values(const map_t *m, size_t *n)
{
	void **v = xmalloc(map_len(m) * sizeof *v);
	size_t it = 0, i = 0;
	const char *k;
	size_t kl;
	void *val;
	while (map_next(m, &it, &k, &kl, &val))
		v[i++] = val;
	*n = i;
	return v;
}

sgroup_t **stream_groups_sorted(const stream_t *s, size_t *n)
{
	sgroup_t **v = (sgroup_t **)map_values(&s->groups, n);
	qsort(v, *n, sizeof *v, cmp_group);
	return v;
}

sconsumer_t **stream_consumers_sorted(const sgroup_t *g, size_t *n)
{
	sconsumer_t **v = (sconsumer_t **)map_values(&g->consumers, n);
	qsort(v, *n, sizeof *v, cmp_consumer);
	return v;
}

sconsumer_t *stream_consumer_find(const sgroup_t *g, const char *name, size_t nlen)
{
	return map_get(&g->consumers, name, nlen);
}

sconsumer_t *stream_consumer_create(sgroup_t *g, const char *name, size_t nlen, int64_t now)
{
	sconsumer_t *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->name = xmemdup(name, nlen);
	c->nlen = nlen;
	c->seen_time = now;
	map_put(&g->consumers, name, nlen, c);
	return c;
}

static void pel_insert(spel_t *p, snack_t *n)
{
	size_t i = spel_lower(p, n->id);
	size_t off = (size_t)(p->v - p->base);
	if (off + p->n == p->cap) {
		if (off > p->cap / 2) {
			memmove(p->base, p->v, p->n * sizeof *p->v);
		} else {
			p->cap = p->cap ? p->cap * 2 : 8;
			snack_t **nb = xmalloc(p->cap * sizeof *nb);
			if (p->n)
				memcpy(nb, p->v, p->n * sizeof *nb);
			free(p->base);
			p->base = nb;
		}
		p->v = p->base;
	}
	memmove(p->v + i + 1, p->v + i, (p->n - i) * sizeof *p->v);
	p->v[i] = n;
	p->n++;
}

static void pel_remove(spel_t *p, sid_t id)
{
	size_t i = spel_lower(p, id);
	if (i < p->n && sid_cmp(p->v[i]->id, id) == 0) {
		/* Shift whichever side is shorter. */
		if (i < p->n / 2) {
			memmove(p->v + 1, p->v, i * sizeof *p->v);
			p->v++;
		} else {
			memmove(p->v + i, p->v + i + 1, (p->n - i - 1) * sizeof *p->v);
		}
		p->n--;
		if (p->n == 0)
			p->v = p->base;
	}
}

uint64_t stream_consumer_delete(sgroup_t *g, sconsumer_t *c)
{
	uint64_t n = c->pel.n;
	for (size_t i = 0; i < c->pel.n; i++) {
		snack_t *k = c->pel.v[i];
		pel_remove(&g->pel, k->id);
		free(k);
	}
	map_del(&g->consumers, c->name, c->nlen);
	consumer_free(c);
	return n;
}

size_t spel_lower(const spel_t *p, sid_t id)
{
	size_t lo = 0, hi = p->n;
	/* Appends are the common case: check the end first. */
	if (hi && sid_cmp(p->v[hi - 1]->id, id) < 0)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sid_cmp(p->v[mid]->id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

snack_t *spel_find(const spel_t *p, sid_t id)
{
	size_t i = spel_lower(p, id);
	if (i < p->n && sid_cmp(p->v[i]->id, id) == 0)
		return p->v[i];
	return NULL;
}

snack_t *stream_pel_add(sgroup_t *g, sconsumer_t *c, sid_t id, int64_t now, uint64_t count)
{
	snack_t *n = xmalloc(sizeof *n);
	n->id = id;
	n->delivery_time = now;
	n->delivery_count = count;
	n->consumer = c;
	pel_insert(&g->pel, n);
	pel_insert(&c->pel, n);
	return n;
}

void stream_pel_move(snack_t *n, sconsumer_t *to)
{
	if (n->consumer == to)
		return;
	pel_remove(&n->consumer->pel, n->id);
	n->consumer = to;
	pel_insert(&to->pel, n);
}

int stream_pel_ack(sgroup_t *g, sid_t id)
{
	snack_t *n = spel_find(&g->pel, id);
	if (!n)
		return 0;
	pel_remove(&n->consumer->pel, id);
	pel_remove(&g->pel, id);
	free(n);
	return 1;
}

/* --- the partition log ----------------------------------------------------------- */

/* Reads bytes [pos, pos + len) of fd into a fresh buffer. */
static int read_region(int fd, off_t pos, size_t len, buf_t *raw)
{
	uint8_t *d = buf_reserve(raw, len);
	size_t got = 0;
	while (got < len) {
		ssize_t k = pread(fd, d + got, len - got, pos + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return SL_EIO;
		got += (size_t)k;
	}
	buf_commit(raw, len);
	return 0;
}

/* Reads the batches starting at position pos into the cache: the payloads
 * of consecutive positions from the region's first one. */
static int fill_cache(stream_t *s, uint64_t pos)
{
	plog_region_t rg;
	int rc = plog_read(s->log, (int64_t)pos, 256 * 1024, &rg);
	if (rc < 0)
		return rc;
	if (rg.len == 0)
		return SL_ERANGE;
	buf_t raw = BUF_INIT;
	rc = read_region(rg.fd, rg.pos, rg.len, &raw);
	if (rc < 0) {
		buf_deinit(&raw);
		return rc;
	}
	const uint8_t *p = buf_data(&raw);
	buf_reset(&s->rbuf);
	s->rn = 0;
	s->rfirst = (uint64_t)rg.first_offset;
	size_t off = 0;
	int more = 1;
	while (more && off < rg.len) {
		batch_hdr_t h;
		batch_iter_t it;
		batch_record_t rec;
		if (batch_peek(p + off, rg.len - off, &h) < 0 || batch_size(&h) > rg.len - off ||
		    batch_iter_init(&it, p + off, batch_size(&h)) < 0)
			break;
		int r;
		while ((r = batch_iter_next(&it, &rec)) == 1) {
			/* Consecutive positions only (a region never spans a hole):
			 * anything else ends the cache here. */
			if ((uint64_t)rec.offset != s->rfirst + s->rn) {
				more = 0;
				break;
			}
			if (s->rn == s->rcap) {
				s->rcap = s->rcap ? s->rcap * 2 : 256;
				s->roff = xrealloc(s->roff, s->rcap * sizeof *s->roff);
			}
			s->roff[s->rn++] = (uint32_t)buf_len(&s->rbuf);
			buf_append(&s->rbuf, rec.value,
			           rec.value_len > 0 ? (size_t)rec.value_len : 0);
		}
		if (r < 0)
			more = 0;
		off += batch_size(&h);
	}
	buf_deinit(&raw);
	return 0;
}

const uint8_t *stream_entry_data(stream_t *s, const sentry_t *e)
{
	if (!e->ondisk)
		return e->data;
	if (s->pn && e->pos >= s->pfirst && e->pos < s->pfirst + s->pn)
		return buf_data(&s->pbuf) + s->poff[e->pos - s->pfirst] + 4 + REC_KEY_LEN;
	if (!(e->pos >= s->rfirst && e->pos < s->rfirst + s->rn)) {
		if (fill_cache(s, e->pos) < 0)
			return NULL;
		if (!(e->pos >= s->rfirst && e->pos < s->rfirst + s->rn))
			return NULL;
	}
	return buf_data(&s->rbuf) + s->roff[e->pos - s->rfirst];
}

/* Indexes the entries of the batches in d[0..len) at positions >= *pos and
 * moves *pos past the last batch it could read. */
static void index_region(stream_t *s, const uint8_t *d, size_t len, int64_t *pos)
{
	size_t off = 0;
	while (off < len) {
		batch_hdr_t h;
		batch_iter_t it;
		batch_record_t rec;
		/* Whatever plog_read serves passed its CRC check: a batch that does
		 * not parse here is not one streams wrote. Its offsets are lost
		 * (counted by the caller), never guessed at. */
		if (batch_peek(d + off, len - off, &h) < 0 || batch_size(&h) > len - off)
			return;
		if (batch_iter_init(&it, d + off, batch_size(&h)) == 0) {
			while (batch_iter_next(&it, &rec) == 1) {
				if (rec.key_len != REC_KEY_LEN || rec.offset < *pos)
					continue;
				sentry_t *e = xmalloc(sizeof *e);
				e->id.ms = be64_load(rec.key);
				e->id.seq = be64_load(rec.key + 8);
				e->npairs = be32_load(rec.key + 16);
				e->len = 0;
				e->ondisk = 1;
				e->pos = (uint64_t)rec.offset;
				/* IDs only grow: an entry that does not is not served. */
				if (s->length && sid_cmp(e->id, s->last_id) <= 0) {
					free(e);
					continue;
				}
				push_entry(s, e);
			}
		}
		if (batch_last_offset(&h) + 1 > *pos)
			*pos = batch_last_offset(&h) + 1;
		off += batch_size(&h);
	}
}

int stream_attach_log(stream_t *s, struct plog *p)
{
	s->log = p;
	int64_t start = plog_start_offset(p), end = plog_end_offset(p), pos = start;
	s->next_pos = (uint64_t)start;
	s->lost = 0;
	while (pos < end) {
		plog_region_t rg;
		int rc = plog_read(p, pos, 1 << 20, &rg);
		if (rc < 0)
			return rc;
		if (rg.len == 0)
			break; /* the rest is damage (a hole up to the end) */
		if (rg.first_offset > pos)
			pos = rg.first_offset; /* a hole: damaged entries, skipped */
		buf_t raw = BUF_INIT;
		rc = read_region(rg.fd, rg.pos, rg.len, &raw);
		int64_t was = pos;
		if (rc == 0)
			index_region(s, buf_data(&raw), rg.len, &pos);
		buf_deinit(&raw);
		if (rc < 0)
			return rc;
		/* Always forward, whatever the bytes held. */
		if (pos <= was)
			pos = was + 1;
	}
	s->next_pos = (uint64_t)end;
	s->entries_added = (uint64_t)end;
	/* Every position below the end is an entry in the log (XDEL and trims
	 * are replayed afterwards): those not indexed were damaged. */
	s->lost = (uint64_t)(end - start) - s->length;
	return 0;
}

void stream_drop_below(stream_t *s, uint64_t pos)
{
	while (s->length) {
		sentry_t *f = stream_first(s);
		if (f->pos >= pos)
			break;
		remove_at(s, s->head);
	}
	if (s->holes > 64 && s->holes >= s->n / 2)
		compact(s);
	stream_release_log(s, pos);
}

void stream_drop_range(stream_t *s, uint64_t from, uint64_t to)
{
	for (size_t i = s->head; i < s->head + s->n; i++) {
		sentry_t *e = s->v[i];
		if (e && e->pos >= from && e->pos < to) {
			s->ndeleted++;
			free(e);
			s->v[i] = NULL;
			s->holes++;
			s->length--;
		}
	}
	drop_leading_holes(s);
	if (s->holes > 64 && s->holes >= s->n / 2)
		compact(s);
}

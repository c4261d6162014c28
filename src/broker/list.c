/*
 * list.c — the chunked deque behind Redis lists (see list.h).
 *
 * Chunks keep their elements in e[off .. off+n). A push at the head of a
 * chunk whose window starts at 0 (or a push at the tail of one that ends at
 * QLIST_CHUNK) opens a new chunk instead of moving pointers, so end
 * operations never memmove. Middle inserts shift within one chunk and split
 * it in halves when full. Empty chunks are unlinked at once.
 * Loop thread only.
 */
#include "broker/list.h"

#include <stdlib.h>
#include <string.h>

struct qchunk {
	qchunk_t *prev, *next;
	int off, n;
	qlv_t *e[QLIST_CHUNK];
};

qlv_t *qlv_new(const void *p, size_t n)
{
	qlv_t *v = malloc(sizeof *v + n + 1);
	if (!v)
		abort();
	v->len = n;
	if (n)
		memcpy(v->p, p, n);
	v->p[n] = 0;
	return v;
}

qlist_t *qlist_new(void)
{
	qlist_t *l = calloc(1, sizeof *l);
	if (!l)
		abort();
	return l;
}

void qlist_free(qlist_t *l)
{
	if (!l)
		return;
	qchunk_t *c = l->head;
	while (c) {
		qchunk_t *next = c->next;
		for (int i = 0; i < c->n; i++)
			free(c->e[c->off + i]);
		free(c);
		c = next;
	}
	free(l);
}

static qchunk_t *chunk_new(void)
{
	qchunk_t *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	return c;
}

static void link_after(qlist_t *l, qchunk_t *at, qchunk_t *c)
{
	c->prev = at;
	c->next = at ? at->next : l->head;
	if (c->next)
		c->next->prev = c;
	else
		l->tail = c;
	if (at)
		at->next = c;
	else
		l->head = c;
}

static void unlink_chunk(qlist_t *l, qchunk_t *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	free(c);
}

void qlist_push(qlist_t *l, int tail, qlv_t *v)
{
	if (tail) {
		qchunk_t *c = l->tail;
		if (!c || c->off + c->n == QLIST_CHUNK) {
			c = chunk_new();
			link_after(l, l->tail, c);
		}
		c->e[c->off + c->n++] = v;
	} else {
		qchunk_t *c = l->head;
		if (!c || c->off == 0) {
			c = chunk_new();
			c->off = QLIST_CHUNK;
			link_after(l, NULL, c);
		}
		c->e[--c->off] = v;
		c->n++;
	}
	l->len++;
	l->bytes += v->len;
}

qlv_t *qlist_pop(qlist_t *l, int tail)
{
	qchunk_t *c = tail ? l->tail : l->head;
	if (!c)
		return NULL;
	qlv_t *v;
	if (tail) {
		v = c->e[c->off + c->n - 1];
	} else {
		v = c->e[c->off];
		c->off++;
	}
	c->n--;
	if (c->n == 0)
		unlink_chunk(l, c);
	l->len--;
	l->bytes -= v->len;
	return v;
}

int64_t qlist_norm(const qlist_t *l, int64_t idx)
{
	if (idx < 0)
		idx += (int64_t)l->len;
	if (idx < 0 || idx >= (int64_t)l->len)
		return -1;
	return idx;
}

/* The chunk holding element idx and the element's index inside it. */
static qchunk_t *locate(const qlist_t *l, int64_t idx, int *pos)
{
	if ((size_t)idx < l->len / 2) {
		for (qchunk_t *c = l->head; c; c = c->next) {
			if (idx < c->n) {
				*pos = (int)idx;
				return c;
			}
			idx -= c->n;
		}
	} else {
		int64_t back = (int64_t)l->len - 1 - idx;
		for (qchunk_t *c = l->tail; c; c = c->prev) {
			if (back < c->n) {
				*pos = c->n - 1 - (int)back;
				return c;
			}
			back -= c->n;
		}
	}
	return NULL;
}

qlv_t *qlist_at(const qlist_t *l, int64_t idx)
{
	int pos;
	qchunk_t *c = locate(l, idx, &pos);
	return c ? c->e[c->off + pos] : NULL;
}

void qlist_set(qlist_t *l, int64_t idx, qlv_t *v)
{
	int pos;
	qchunk_t *c = locate(l, idx, &pos);
	if (!c) {
		free(v);
		return;
	}
	l->bytes -= c->e[c->off + pos]->len;
	free(c->e[c->off + pos]);
	c->e[c->off + pos] = v;
	l->bytes += v->len;
}

void qlist_insert(qlist_t *l, int64_t idx, qlv_t *v)
{
	if (idx <= 0) {
		qlist_push(l, 0, v);
		return;
	}
	if ((size_t)idx >= l->len) {
		qlist_push(l, 1, v);
		return;
	}
	int pos;
	qchunk_t *c = locate(l, idx, &pos);
	if (c->n == QLIST_CHUNK) {
		/* Split: the second half moves to a new chunk after c. */
		qchunk_t *d = chunk_new();
		int half = c->n / 2;
		memcpy(d->e, c->e + c->off + half, (size_t)(c->n - half) * sizeof *d->e);
		d->n = c->n - half;
		c->n = half;
		link_after(l, c, d);
		if (pos >= half) {
			c = d;
			pos -= half;
		}
	}
	if (c->off + c->n < QLIST_CHUNK) {
		memmove(c->e + c->off + pos + 1, c->e + c->off + pos,
		        (size_t)(c->n - pos) * sizeof *c->e);
	} else {
		memmove(c->e + c->off - 1, c->e + c->off, (size_t)pos * sizeof *c->e);
		c->off--;
	}
	c->e[c->off + pos] = v;
	c->n++;
	l->len++;
	l->bytes += v->len;
}

size_t qlist_rem(qlist_t *l, int64_t count, const void *p, size_t n)
{
	/* Rebuild the chain from the kept pointers: one pass, no shifting. */
	int rev = count < 0;
	uint64_t limit = count == 0  ? UINT64_MAX
	                 : count < 0 ? (uint64_t)0 - (uint64_t)count
	                             : (uint64_t)count;
	qlist_t kept = {0};
	size_t removed = 0;
	qlv_t *v;
	while ((v = qlist_pop(l, rev)) != NULL) {
		if (removed < limit && v->len == n && memcmp(v->p, p, n) == 0) {
			free(v);
			removed++;
		} else {
			qlist_push(&kept, !rev, v);
		}
	}
	*l = kept;
	return removed;
}

void qlist_trim(qlist_t *l, int64_t start, int64_t stop)
{
	int64_t len = (int64_t)l->len, ltrim, rtrim;
	if (start < 0)
		start += len;
	if (stop < 0)
		stop += len;
	if (start < 0)
		start = 0;
	if (start > stop || start >= len) {
		ltrim = len;
		rtrim = 0;
	} else {
		if (stop >= len)
			stop = len - 1;
		ltrim = start;
		rtrim = len - stop - 1;
	}
	while (ltrim-- > 0)
		free(qlist_pop(l, 0));
	while (rtrim-- > 0)
		free(qlist_pop(l, 1));
}

void qlist_iter_init(const qlist_t *l, qlist_iter_t *it, int64_t idx, int rev)
{
	it->rev = rev;
	it->c = (idx >= 0 && (size_t)idx < l->len) ? locate(l, idx, &it->i) : NULL;
}

qlv_t *qlist_iter_next(qlist_iter_t *it)
{
	qchunk_t *c = it->c;
	if (!c)
		return NULL;
	qlv_t *v = c->e[c->off + it->i];
	if (it->rev) {
		if (--it->i < 0) {
			it->c = c->prev;
			if (it->c)
				it->i = it->c->n - 1;
		}
	} else if (++it->i >= c->n) {
		it->c = c->next;
		it->i = 0;
	}
	return v;
}

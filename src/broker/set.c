/*
 * set.c — Redis set values (see set.h). Loop thread only.
 */
#include "broker/set.h"

#include "broker/num.h"

#include <stdlib.h>
#include <string.h>

static const char *mem_key(const void *e, size_t *klen)
{
	const qlv_t *v = e;
	*klen = v->len;
	return v->p;
}

rset_t *rset_new(void)
{
	rset_t *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	return s;
}

void rset_free(rset_t *s)
{
	if (!s)
		return;
	if (s->d) {
		size_t it = 0;
		void *e;
		while ((e = odict_next(s->d, &it)) != NULL)
			free(e);
		odict_deinit(s->d);
		free(s->d);
	}
	free(s->ints);
	free(s);
}

rset_t *rset_dup(const rset_t *s)
{
	rset_t *c = rset_new();
	c->bytes = s->bytes;
	if (!s->d) {
		c->icap = c->nints = s->nints;
		if (s->nints) {
			c->ints = malloc(s->nints * sizeof *c->ints);
			if (!c->ints)
				abort();
			memcpy(c->ints, s->ints, s->nints * sizeof *c->ints);
		}
		return c;
	}
	c->d = malloc(sizeof *c->d);
	if (!c->d)
		abort();
	odict_init(c->d, mem_key);
	size_t it = 0;
	qlv_t *e;
	while ((e = odict_next(s->d, &it)) != NULL)
		odict_add(c->d, qlv_new(e->p, e->len));
	return c;
}

/* Binary search: the index of v, or where it would go (*found 0). */
static size_t int_pos(const rset_t *s, int64_t v, int *found)
{
	size_t lo = 0, hi = s->nints;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ints[mid] < v)
			lo = mid + 1;
		else if (s->ints[mid] > v)
			hi = mid;
		else {
			*found = 1;
			return mid;
		}
	}
	*found = 0;
	return lo;
}

void rset_to_table(rset_t *s)
{
	if (s->d)
		return;
	s->d = malloc(sizeof *s->d);
	if (!s->d)
		abort();
	odict_init(s->d, mem_key);
	char buf[24];
	for (size_t i = 0; i < s->nints; i++) {
		size_t n = num_ll2str(buf, s->ints[i]);
		odict_add(s->d, qlv_new(buf, n));
	}
	free(s->ints);
	s->ints = NULL;
	s->nints = s->icap = 0;
}

int rset_has(const rset_t *s, const void *m, size_t n)
{
	if (s->d)
		return odict_find(s->d, m, n) >= 0;
	int64_t v;
	int found;
	if (num_str2ll(m, n, &v) < 0)
		return 0;
	int_pos(s, v, &found);
	return found;
}

int rset_add(rset_t *s, const void *m, size_t n, size_t max_intset)
{
	int64_t v;
	if (!s->d) {
		if (num_str2ll(m, n, &v) == 0) {
			int found;
			size_t at = int_pos(s, v, &found);
			if (found)
				return 0;
			if (s->nints + 1 <= max_intset) {
				if (s->nints == s->icap) {
					s->icap = s->icap ? s->icap * 2 : 4;
					s->ints = realloc(s->ints, s->icap * sizeof *s->ints);
					if (!s->ints)
						abort();
				}
				memmove(s->ints + at + 1, s->ints + at,
				        (s->nints - at) * sizeof *s->ints);
				s->ints[at] = v;
				s->nints++;
				s->bytes += rset_cost(n);
				return 1;
			}
		}
		rset_to_table(s);
	}
	if (odict_find(s->d, m, n) >= 0)
		return 0;
	odict_add(s->d, qlv_new(m, n));
	s->bytes += rset_cost(n);
	return 1;
}

int rset_del(rset_t *s, const void *m, size_t n)
{
	if (s->d) {
		int64_t pos = odict_find(s->d, m, n);
		if (pos < 0)
			return 0;
		free(odict_remove(s->d, (size_t)pos));
		s->bytes -= rset_cost(n);
		return 1;
	}
	int64_t v;
	int found;
	if (num_str2ll(m, n, &v) < 0)
		return 0;
	size_t at = int_pos(s, v, &found);
	if (!found)
		return 0;
	rset_del_at(s, at);
	return 1;
}

void rset_del_at(rset_t *s, size_t pos)
{
	if (s->d) {
		qlv_t *e = odict_remove(s->d, pos);
		s->bytes -= rset_cost(e->len);
		free(e);
		return;
	}
	char buf[24];
	s->bytes -= rset_cost(num_ll2str(buf, s->ints[pos]));
	memmove(s->ints + pos, s->ints + pos + 1, (s->nints - pos - 1) * sizeof *s->ints);
	s->nints--;
}

void rset_iter_init(const rset_t *s, rset_iter_t *it)
{
	it->s = s;
	it->i = 0;
}

const char *rset_iter_next(rset_iter_t *it, size_t *n)
{
	const rset_t *s = it->s;
	if (s->d) {
		qlv_t *e = odict_next(s->d, &it->i);
		if (!e)
			return NULL;
		*n = e->len;
		return e->p;
	}
	if (it->i >= s->nints)
		return NULL;
	*n = num_ll2str(it->buf, s->ints[it->i++]);
	return it->buf;
}

const char *rset_random(const rset_t *s, uint64_t *rng, char *buf, size_t *n, size_t *pos)
{
	if (s->d) {
		*pos = odict_random(s->d, rng);
		qlv_t *e = odict_at(s->d, *pos);
		*n = e->len;
		return e->p;
	}
	*pos = (size_t)(odict_rand(rng) % s->nints);
	*n = num_ll2str(buf, s->ints[*pos]);
	return buf;
}

/*
 * pubsub.c — the pub/sub registry (see pubsub.h).
 *
 * channels maps a channel name to its subscribers in subscription order
 * (an array; removal keeps the order). Patterns are one array of
 * (pattern, subscriber) in subscription order: PUBLISH walks it and
 * matches each pattern with Redis's glob rules, as Redis does. Invariant:
 * no channel entry is empty (its last subscriber leaving removes it), so
 * PUBSUB CHANNELS lists exactly the active channels. Loop thread only.
 */
#include "broker/pubsub.h"

#include "broker/keyspace_glob.h"
#include "core/map.h"

#include <stdlib.h>
#include <string.h>

typedef struct subs {
	ps_sub_t **v;
	size_t n, cap;
} subs_t;

typedef struct pat {
	char *p;
	size_t len;
	ps_sub_t *s;
} pat_t;

struct ps {
	map_t channels; /* name → subs_t */
	pat_t *pats;
	size_t npats, pats_cap;
};

ps_t *ps_new(void)
{
	ps_t *ps = calloc(1, sizeof *ps);
	if (!ps)
		abort();
	map_init(&ps->channels);
	return ps;
}

void ps_free(ps_t *ps)
{
	if (!ps)
		return;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&ps->channels, &it, &k, &kl, &v)) {
		free(((subs_t *)v)->v);
		free(v);
	}
	map_deinit(&ps->channels);
	for (size_t i = 0; i < ps->npats; i++)
		free(ps->pats[i].p);
	free(ps->pats);
	free(ps);
}

int ps_subscribe(ps_t *ps, ps_sub_t *s, const char *ch, size_t len)
{
	subs_t *l = map_get(&ps->channels, ch, len);
	if (!l) {
		l = calloc(1, sizeof *l);
		if (!l)
			abort();
		map_put(&ps->channels, ch, len, l);
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == s)
			return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			abort();
	}
	l->v[l->n++] = s;
	return 1;
}

int ps_unsubscribe(ps_t *ps, ps_sub_t *s, const char *ch, size_t len)
{
	subs_t *l = map_get(&ps->channels, ch, len);
	if (!l)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i] != s)
			continue;
		memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof *l->v);
		if (--l->n == 0) {
			map_del(&ps->channels, ch, len);
			free(l->v);
			free(l);
		}
		return 1;
	}
	return 0;
}

int ps_psubscribe(ps_t *ps, ps_sub_t *s, const char *pat, size_t len)
{
	for (size_t i = 0; i < ps->npats; i++)
		if (ps->pats[i].s == s && ps->pats[i].len == len &&
		    memcmp(ps->pats[i].p, pat, len) == 0)
			return 0;
	if (ps->npats == ps->pats_cap) {
		ps->pats_cap = ps->pats_cap ? ps->pats_cap * 2 : 8;
		ps->pats = realloc(ps->pats, ps->pats_cap * sizeof *ps->pats);
		if (!ps->pats)
			abort();
	}
	char *p = malloc(len + 1);
	if (!p)
		abort();
	memcpy(p, pat, len);
	p[len] = 0;
	ps->pats[ps->npats++] = (pat_t){p, len, s};
	return 1;
}

int ps_punsubscribe(ps_t *ps, ps_sub_t *s, const char *pat, size_t len)
{
	for (size_t i = 0; i < ps->npats; i++) {
		pat_t *p = &ps->pats[i];
		if (p->s != s || p->len != len || memcmp(p->p, pat, len) != 0)
			continue;
		free(p->p);
		memmove(p, p + 1, (ps->npats - i - 1) * sizeof *p);
		ps->npats--;
		return 1;
	}
	return 0;
}

void ps_drop(ps_t *ps, ps_sub_t *s)
{
	/* Collect the channels first: unsubscribing edits the map. */
	size_t it = 0, n = 0, cap = 0;
	char **names = NULL;
	size_t *lens = NULL;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&ps->channels, &it, &k, &kl, &v)) {
		subs_t *l = v;
		for (size_t i = 0; i < l->n; i++) {
			if (l->v[i] != s)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				names = realloc(names, cap * sizeof *names);
				lens = realloc(lens, cap * sizeof *lens);
				if (!names || !lens)
					abort();
			}
			names[n] = malloc(kl + 1);
			if (!names[n])
				abort();
			memcpy(names[n], k, kl + 1);
			lens[n++] = kl;
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		ps_unsubscribe(ps, s, names[i], lens[i]);
		free(names[i]);
	}
	free(names);
	free(lens);
	size_t j = 0;
	for (size_t i = 0; i < ps->npats; i++) {
		if (ps->pats[i].s == s)
			free(ps->pats[i].p);
		else
			ps->pats[j++] = ps->pats[i];
	}
	ps->npats = j;
}

int64_t ps_publish(ps_t *ps, const char *ch, size_t chlen, const char *msg, size_t mlen)
{
	int64_t n = 0;
	subs_t *l = map_len(&ps->channels) ? map_get(&ps->channels, ch, chlen) : NULL;
	for (size_t i = 0; l && i < l->n; i++, n++)
		l->v[i]->deliver(l->v[i], NULL, 0, ch, chlen, msg, mlen);
	for (size_t i = 0; i < ps->npats; i++) {
		pat_t *p = &ps->pats[i];
		if (!ks_glob_match(p->p, p->len, ch, chlen, 0))
			continue;
		p->s->deliver(p->s, p->p, p->len, ch, chlen, msg, mlen);
		n++;
	}
	return n;
}

size_t ps_numsub(const ps_t *ps, const char *ch, size_t len)
{
	subs_t *l = map_get(&ps->channels, ch, len);
	return l ? l->n : 0;
}

size_t ps_numpat(const ps_t *ps)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->npats; i++) {
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = ps->pats[j].len == ps->pats[i].len &&
			       memcmp(ps->pats[j].p, ps->pats[i].p, ps->pats[i].len) == 0;
		n += !seen;
	}
	return n;
}

void ps_channels(const ps_t *ps, const char *pat, size_t plen,
                 void (*fn)(void *arg, const char *ch, size_t len), void *arg)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&ps->channels, &it, &k, &kl, &v))
		if (!pat || ks_glob_match(pat, plen, k, kl, 0))
			fn(arg, k, kl);
}

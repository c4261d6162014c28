/*
 * c_sort.c — SORT and SORT_RO (Redis 7.0's sort.c): lists, sets and
 * sorted sets, numerically or ALPHA, ASC/DESC, LIMIT, BY pattern (a
 * constant pattern means "do not sort"), GET patterns (# the element
 * itself, key*->field a hash field), STORE into a list.
 *
 * Patterns replace the first '*' with the element; "->field" after it
 * reads a hash field. Numeric sorting compares scores, ties broken by the
 * elements' bytes, as Redis does, so the order is deterministic; ALPHA
 * compares bytes (strcoll in the C locale, as sluiced runs). A set sorted
 * by a constant pattern into STORE or for a script is sorted ALPHA, as
 * Redis forces for replication and script determinism. STORE writes one list (keyspace.h: ks_lstore); nothing is
 * written when the sort fails. Loop thread only.
 */
#include "proto/resp/c_types.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

typedef struct item {
	const char *p; /* the element (a copy, owned by the sort) */
	size_t n;
	double score;
	const char *cmp; /* ALPHA BY: the value sorted by (a copy), or NULL */
	size_t cmpn;
} item_t;

typedef struct sortctx {
	int desc, alpha, by;
} sortctx_t;

/* A value a pattern points at for element e: *found 0 when there is none
 * (missing key, wrong type, no '*'). The view is valid until the next
 * keyspace change; '#' gives e itself. */
static const char *by_pattern(resp_cli_t *cl, const resp_arg_t *pat, const char *e, size_t en,
                              size_t *n, int *found)
{
	*found = 0;
	if (pat->len == 1 && pat->p[0] == '#') {
		*found = 1;
		*n = en;
		return e;
	}
	const char *star = memchr(pat->p, '*', pat->len);
	if (!star)
		return NULL;
	size_t pre = (size_t)(star - pat->p), rest = pat->len - pre - 1;
	const char *field = NULL;
	size_t flen = 0;
	/* The first "->" after the '*' with something after it names a hash
	 * field (Redis: strstr, then a non-empty field). */
	for (size_t i = 0; i + 1 < rest; i++) {
		if (star[1 + i] == '-' && star[2 + i] == '>') {
			if (i + 2 < rest) {
				field = star + 3 + i;
				flen = rest - i - 2;
				rest = i;
			}
			break;
		}
	}
	size_t klen = pre + en + rest;
	char small[256];
	char *key = klen < sizeof small ? small : malloc(klen);
	if (!key)
		abort();
	memcpy(key, pat->p, pre);
	memcpy(key + pre, e, en);
	memcpy(key + pre + en, star + 1, rest);
	ks_obj_t *o = ks_find(cl->srv->ks, key, klen);
	if (key != small)
		free(key);
	if (!o)
		return NULL;
	if (field) {
		if (o->type != KS_HASH)
			return NULL;
		rhent_t *h = rhash_get(o->ptr, field, flen);
		if (!h)
			return NULL;
		*found = 1;
		*n = h->vlen;
		return rhent_val(h);
	}
	if (o->type != KS_STRING)
		return NULL;
	*found = 1;
	*n = ((qlv_t *)o->ptr)->len;
	return ((qlv_t *)o->ptr)->p;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static int cmp_items(const void *x, const void *y, void *arg)
{
	const item_t *a = x, *b = y;
	const sortctx_t *s = arg;
	int c;
	if (!s->alpha) {
		if (a->score > b->score)
			c = 1;
		else if (a->score < b->score)
			c = -1;
		else
			c = bytes_cmp(a->p, a->n, b->p, b->n);
	} else if (s->by) {
		if (!a->cmp || !b->cmp)
			c = a->cmp == b->cmp ? 0 : !a->cmp ? -1 : 1;
		else
			c = bytes_cmp(a->cmp, a->cmpn, b->cmp, b->cmpn);
	} else {
		c = bytes_cmp(a->p, a->n, b->p, b->n);
	}
	return s->desc ? -c : c;
}

static char *dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		abort();
	memcpy(d, p, n);
	d[n] = 0;
	return d;
}

static int sort_generic(resp_cli_t *cl, int argc, resp_arg_t *argv, int readonly)
{
	sortctx_t ctx = {0, 0, 0};
	int64_t lstart = 0, lcount = -1;
	int dontsort = 0;
	const resp_arg_t *by = NULL, *store = NULL;
	const resp_arg_t **gets = malloc((size_t)argc * sizeof *gets);
	if (!gets)
		abort();
	int ngets = 0;
	for (int j = 2; j < argc; j++) {
		int left = argc - j - 1;
		if (resp_arg_is(&argv[j], "asc")) {
			ctx.desc = 0;
		} else if (resp_arg_is(&argv[j], "desc")) {
			ctx.desc = 1;
		} else if (resp_arg_is(&argv[j], "alpha")) {
			ctx.alpha = 1;
		} else if (resp_arg_is(&argv[j], "limit") && left >= 2) {
			if (resp_arg_range(cl, &argv[j + 1], INT64_MIN, INT64_MAX, &lstart, NULL) <
			        0 ||
			    resp_arg_range(cl, &argv[j + 2], INT64_MIN, INT64_MAX, &lcount, NULL) <
			        0)
				goto done;
			j += 2;
		} else if (!readonly && resp_arg_is(&argv[j], "store") && left >= 1) {
			store = &argv[++j];
		} else if (resp_arg_is(&argv[j], "by") && left >= 1) {
			by = &argv[++j];
			dontsort = !memchr(by->p, '*', by->len);
		} else if (resp_arg_is(&argv[j], "get") && left >= 1) {
			gets[ngets++] = &argv[++j];
		} else {
			resp_err_syntax(cl);
			goto done;
		}
	}
	ks_obj_t *o = ks_find(cl->srv->ks, argv[1].p, argv[1].len);
	if (o && o->type != KS_SET && o->type != KS_LIST && o->type != KS_ZSET) {
		resp_err_wrongtype(cl);
		goto done;
	}
	/* A script's call: srv->run names this client (7.0's CLIENT_SCRIPT). */
	int from_script = cl->srv->run && cl->srv->run->cl == cl;
	if (dontsort && o && o->type == KS_SET && (store || from_script)) {
		dontsort = 0;
		ctx.alpha = 1;
		by = NULL;
	}
	ctx.by = by != NULL;
	int64_t len = !o                   ? 0
	              : o->type == KS_LIST ? (int64_t)qlist_len(o->ptr)
	              : o->type == KS_SET  ? (int64_t)rset_len(o->ptr)
	                                   : (int64_t)zset_len(o->ptr);
	int64_t start = lstart < 0 ? 0 : lstart > len ? len : lstart;
	int64_t count = lcount < -1 ? -1 : lcount > len ? len : lcount;
	int64_t end = count < 0 ? len - 1 : start + count - 1;
	if (start >= len) {
		start = len - 1;
		end = len - 2;
	}
	if (end >= len)
		end = len - 1;
	/* Load every element (copies: GET and STORE look keys up). */
	item_t *v = calloc((size_t)(len ? len : 1), sizeof *v);
	if (!v)
		abort();
	int64_t k = 0;
	if (o && o->type == KS_LIST && len) {
		qlist_iter_t it;
		qlist_iter_init(o->ptr, &it, 0, 0);
		for (qlv_t *e; (e = qlist_iter_next(&it)) != NULL;) {
			v[k].p = dup_bytes(e->p, e->len);
			v[k++].n = e->len;
		}
	} else if (o && o->type == KS_SET) {
		rset_iter_t it;
		rset_iter_init(o->ptr, &it);
		size_t n;
		for (const char *m; (m = rset_iter_next(&it, &n)) != NULL;) {
			v[k].p = dup_bytes(m, n);
			v[k++].n = n;
		}
	} else if (o && o->type == KS_ZSET) {
		for (znode_t *x = zset_first(o->ptr); x; x = zset_next(x)) {
			v[k].p = dup_bytes(x->m, x->mlen);
			v[k++].n = x->mlen;
		}
	}
	int conv_err = 0;
	if (dontsort) {
		/* Lists and sorted sets keep their order (reversed by DESC); sets
		 * their iteration order. */
		if (ctx.desc && o && o->type != KS_SET) {
			for (int64_t a = 0, b = len - 1; a < b; a++, b--) {
				item_t t = v[a];
				v[a] = v[b];
				v[b] = t;
			}
		}
	} else {
		for (int64_t j = 0; j < len; j++) {
			const char *bv = v[j].p;
			size_t bn = v[j].n;
			if (by) {
				int found;
				bv = by_pattern(cl, by, v[j].p, v[j].n, &bn, &found);
				if (!found)
					continue;
			}
			if (ctx.alpha) {
				if (by) {
					v[j].cmp = dup_bytes(bv, bn);
					v[j].cmpn = bn;
				}
				continue;
			}
			char *t = dup_bytes(bv, bn), *endp;
			errno = 0;
			v[j].score = strtod(t, &endp);
			if (*endp || errno == ERANGE || isnan(v[j].score))
				conv_err = 1;
			free(t);
		}
		qsort_r(v, (size_t)len, sizeof *v, cmp_items, &ctx);
	}
	int64_t outlen = end >= start ? (ngets ? ngets : 1) * (end - start + 1) : 0;
	if (conv_err) {
		resp_error(cl->out, "ERR One or more scores can't be converted into double");
	} else if (!store) {
		resp_array(cl->out, (size_t)outlen);
		for (int64_t j = start; j <= end; j++) {
			if (!ngets)
				resp_bulk(cl->out, v[j].p, v[j].n);
			for (int g = 0; g < ngets; g++) {
				size_t n;
				int found;
				const char *val =
				    by_pattern(cl, gets[g], v[j].p, v[j].n, &n, &found);
				if (found)
					resp_bulk(cl->out, val, n);
				else
					resp_null(cl->out, cl->proto);
			}
		}
	} else {
		size_t nv = (size_t)outlen, i = 0;
		char **vals = calloc(nv ? nv : 1, sizeof *vals);
		size_t *lens = calloc(nv ? nv : 1, sizeof *lens);
		if (!vals || !lens)
			abort();
		for (int64_t j = start; j <= end; j++) {
			if (!ngets) {
				vals[i] = dup_bytes(v[j].p, v[j].n);
				lens[i++] = v[j].n;
			}
			for (int g = 0; g < ngets; g++) {
				size_t n = 0;
				int found;
				const char *val =
				    by_pattern(cl, gets[g], v[j].p, v[j].n, &n, &found);
				vals[i] = dup_bytes(found ? val : "", found ? n : 0);
				lens[i++] = found ? n : 0;
			}
		}
		int rc = ks_lstore(cl->srv->ks, store->p, store->len, nv, (const char *const *)vals,
		                   lens);
		if (rc < 0)
			resp_err_ks(cl, rc);
		else
			resp_int(cl->out, outlen);
		for (size_t j = 0; j < nv; j++)
			free(vals[j]);
		free(vals);
		free(lens);
	}
	for (int64_t j = 0; j < len; j++) {
		free((void *)v[j].p);
		free((void *)v[j].cmp);
	}
	free(v);
done:
	free(gets);
	return 0;
}

RESP_HANDLER(resp_c_sort)
{
	return sort_generic(cl, argc, argv, 0);
}

RESP_HANDLER(resp_c_sort_ro)
{
	return sort_generic(cl, argc, argv, 1);
}

/*
 * c_command_docs.c — redis-server 7.0's command documentation and key
 * specifications (commands_docs.h) put to use: the decoder that writes
 * the generated data as RESP2 or RESP3 (COMMAND DOCS), and COMMAND
 * GETKEYS / GETKEYSANDFLAGS, which find a command's keys with its key
 * specifications the way 7.0's getKeysUsingKeySpecs does (SORT, whose
 * spec is incomplete, and SET, whose flags depend on GET, by their own
 * rules as 7.0's sortGetKeys / setGetKeys).
 * Loop thread only.
 */
#include "proto/resp/commands_docs.h"
#include "proto/resp/resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int cmp_name(const void *k, const void *e)
{
	return strcmp(k, ((const resp_docs_t *)e)->name);
}

const resp_docs_t *resp_docs_find(const char *fullname)
{
	return bsearch(fullname, resp_docs, resp_docs_count, sizeof resp_docs[0], cmp_name);
}

/* --- the encoding ------------------------------------------------------------------ */

/* One token: t is the type character; n the count (aggregates), the
 * integer (':'), or the length of s (strings). */
typedef struct {
	char t;
	long long n;
	const char *s;
} tok_t;

static long long num(const char **p, char end)
{
	char *e;
	long long v = strtoll(*p, &e, 10);
	*p = *e == end ? e + 1 : e;
	return v;
}

static int next_tok(const char **p, tok_t *t)
{
	t->t = **p;
	(*p)++;
	switch (t->t) {
	case '%':
	case '*':
	case '~':
		t->n = num(p, ',');
		return 0;
	case ':':
		t->n = num(p, ';');
		return 0;
	case '$':
	case '+':
		t->n = num(p, ':');
		t->s = *p;
		*p += t->n;
		return 0;
	case '@': {
		static const char codes[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
		const char *c = strchr(codes, **p);
		if (!c || !**p)
			return -1;
		(*p)++;
		t->t = '$';
		t->s = resp_docs_dict[c - codes];
		t->n = (long long)strlen(t->s);
		return 0;
	}
	}
	return -1;
}

int resp_docs_put(buf_t *o, int proto, const char **p)
{
	tok_t t;
	if (next_tok(p, &t) < 0)
		return -1;
	long long items = t.n;
	switch (t.t) {
	case '%':
		resp_map(o, proto, (size_t)t.n);
		items = 2 * t.n;
		break;
	case '*':
		resp_array(o, (size_t)t.n);
		break;
	case '~':
		resp_set(o, proto, (size_t)t.n);
		break;
	case ':':
		resp_int(o, t.n);
		return 0;
	case '$':
		resp_bulk(o, t.s, (size_t)t.n);
		return 0;
	case '+':
		buf_printf(o, "+%.*s\r\n", (int)t.n, t.s);
		return 0;
	}
	for (long long i = 0; i < items; i++)
		if (resp_docs_put(o, proto, p) < 0)
			return -1;
	return 0;
}

/* Skips one value. */
static int skip(const char **p)
{
	tok_t t;
	if (next_tok(p, &t) < 0)
		return -1;
	long long items = t.t == '%' ? 2 * t.n : (t.t == '*' || t.t == '~') ? t.n : 0;
	for (long long i = 0; i < items; i++)
		if (skip(p) < 0)
			return -1;
	return 0;
}

static int tok_is(const tok_t *t, const char *s)
{
	return (t->t == '$' || t->t == '+') && (size_t)t->n == strlen(s) &&
	       memcmp(t->s, s, (size_t)t->n) == 0;
}

/* --- key specifications ---------------------------------------------------------------- */

typedef struct {
	const char *flags; /* the encoded flag set, for GETKEYSANDFLAGS */
	int bs_keyword, incomplete, not_key;
	long long index, startfrom; /* begin_search */
	tok_t keyword;
	int fk_keynum;
	long long lastkey, keystep, limit; /* find_keys range */
	long long keynumidx, firstkey;     /* find_keys keynum (keystep shared) */
} kspec_t;

/* Reads the integers of a spec map into the named fields. */
static int read_ints(const char **p, long long n, const char *const *names, long long *const *out)
{
	for (long long i = 0; i < n; i++) {
		tok_t k, v;
		if (next_tok(p, &k) < 0)
			return -1;
		const char *save = *p;
		if (next_tok(p, &v) < 0)
			return -1;
		int used = 0;
		for (size_t j = 0; names[j]; j++) {
			if (tok_is(&k, names[j]) && v.t == ':') {
				*out[j] = v.n;
				used = 1;
			}
		}
		if (!used) {
			*p = save;
			if (skip(p) < 0)
				return -1;
		}
	}
	return 0;
}

/* begin_search / find_keys: {type: ..., spec: {...}}. */
static int read_search(const char **p, kspec_t *s, int find)
{
	tok_t m, k, v;
	if (next_tok(p, &m) < 0 || m.t != '%')
		return -1;
	for (long long i = 0; i < m.n; i++) {
		if (next_tok(p, &k) < 0)
			return -1;
		if (tok_is(&k, "type")) {
			if (next_tok(p, &v) < 0)
				return -1;
			if (find)
				s->fk_keynum = tok_is(&v, "keynum");
			else
				s->bs_keyword = tok_is(&v, "keyword");
			if (!tok_is(&v, "index") && !tok_is(&v, "keyword") &&
			    !tok_is(&v, "range") && !tok_is(&v, "keynum"))
				s->incomplete = 1; /* "unknown" */
			continue;
		}
		if (!tok_is(&k, "spec")) {
			if (skip(p) < 0)
				return -1;
			continue;
		}
		tok_t sm;
		if (next_tok(p, &sm) < 0 || sm.t != '%')
			return -1;
		if (!find) {
			for (long long j = 0; j < sm.n; j++) {
				tok_t a, b;
				if (next_tok(p, &a) < 0 || next_tok(p, &b) < 0)
					return -1;
				if (tok_is(&a, "index"))
					s->index = b.n;
				else if (tok_is(&a, "startfrom"))
					s->startfrom = b.n;
				else if (tok_is(&a, "keyword"))
					s->keyword = b;
			}
			continue;
		}
		static const char *const names[] = {"lastkey",   "keystep",  "limit",
		                                    "keynumidx", "firstkey", NULL};
		long long *const outs[] = {&s->lastkey, &s->keystep, &s->limit, &s->keynumidx,
		                           &s->firstkey};
		if (read_ints(p, sm.n, names, outs) < 0)
			return -1;
	}
	return 0;
}

static int read_spec(const char **p, kspec_t *s)
{
	tok_t m, k;
	memset(s, 0, sizeof *s);
	if (next_tok(p, &m) < 0 || m.t != '%')
		return -1;
	for (long long i = 0; i < m.n; i++) {
		if (next_tok(p, &k) < 0)
			return -1;
		if (tok_is(&k, "flags")) {
			s->flags = *p;
			tok_t f;
			if (next_tok(p, &f) < 0)
				return -1;
			for (long long j = 0; j < f.n; j++) {
				tok_t x;
				if (next_tok(p, &x) < 0)
					return -1;
				s->incomplete |= tok_is(&x, "incomplete");
				s->not_key |= tok_is(&x, "not_key");
			}
		} else if (tok_is(&k, "begin_search") || tok_is(&k, "find_keys")) {
			if (read_search(p, s, tok_is(&k, "find_keys")) < 0)
				return -1;
		} else if (skip(p) < 0) {
			return -1;
		}
	}
	return 0;
}

int resp_docs_movablekeys(const resp_docs_t *d)
{
	const char *p = d ? d->specs : NULL;
	tok_t a;
	if (!p || next_tok(&p, &a) < 0 || (a.t != '*' && a.t != '~') || a.n == 0)
		return 0;
	int movable = 0, ranges = 0;
	long long prev_last = 0;
	for (long long j = 0; j < a.n; j++) {
		kspec_t s;
		if (read_spec(&p, &s) < 0)
			return movable;
		/* "unknown" searches are read as incomplete. */
		if (s.bs_keyword || s.fk_keynum || s.incomplete) {
			movable = 1;
			if (s.bs_keyword || s.fk_keynum || a.n > 1)
				continue;
		}
		/* One plain spec is taken whole; several must be step-1 ranges
		 * that follow each other. */
		if (a.n > 1 && (s.keystep != 1 || (prev_last && prev_last != s.index - 1))) {
			movable = 1;
			continue;
		}
		ranges++;
		long long last = s.lastkey >= 0 ? s.index + s.lastkey : s.lastkey;
		if ((unsigned long long)last > (unsigned long long)prev_last)
			prev_last = last;
	}
	return movable || !ranges;
}

typedef struct {
	int pos;
	const char *flags;
} keyref_t;

/* 7.0's getKeysUsingKeySpecs: the number of keys, or -1 (invalid). */
static int keys_by_specs(const char *specs, int argc, const resp_arg_t *argv, keyref_t *out,
                         int max)
{
	const char *p = specs;
	tok_t a;
	int n = 0;
	if (next_tok(&p, &a) < 0 || (a.t != '*' && a.t != '~'))
		return -1;
	for (long long j = 0; j < a.n; j++) {
		kspec_t s;
		if (read_spec(&p, &s) < 0)
			return -1;
		if (s.not_key)
			continue;
		long long first = 0, last, step;
		if (!s.bs_keyword) {
			first = s.index;
		} else {
			long long from = s.startfrom > 0 ? s.startfrom : argc + s.startfrom;
			long long to = s.startfrom > 0 ? argc - 1 : 1;
			for (long long i = from;; i = from <= to ? i + 1 : i - 1) {
				if (i >= argc || i < 1)
					break;
				if ((long long)argv[i].len == s.keyword.n &&
				    strncasecmp(argv[i].p, s.keyword.s, argv[i].len) == 0) {
					first = i + 1;
					break;
				}
				if (i == to)
					break;
			}
			if (!first)
				continue;
		}
		if (!s.fk_keynum) {
			step = s.keystep;
			if (s.lastkey >= 0)
				last = first + s.lastkey;
			else if (!s.limit)
				last = argc + s.lastkey;
			else
				last = first + ((argc - first) / s.limit + s.lastkey);
		} else {
			int64_t numkeys;
			step = s.keystep;
			if (first + s.keynumidx >= argc ||
			    resp_arg_ll(&argv[first + s.keynumidx], &numkeys) < 0 || numkeys < 0)
				return -1;
			first += s.firstkey;
			last = first + numkeys - 1;
		}
		if (last >= argc || last < first || first >= argc || step < 1)
			return -1;
		for (long long i = first; i <= last && n < max; i += step)
			out[n++] = (keyref_t){(int)i, s.flags};
		if (s.incomplete)
			return -1;
	}
	return n;
}

/* SORT's keys (its spec is incomplete): the key, and STORE's destination
 * (7.0's sortGetKeys skips LIMIT's two arguments and GET's / BY's one). */
static int sort_keys(int argc, const resp_arg_t *argv, keyref_t *out)
{
	static const char rw[] = "~2,+2:RO+6:access", ow[] = "~2,+2:OW+6:update";
	int n = 0, store = 0;
	out[n++] = (keyref_t){1, rw};
	for (int i = 2; i < argc; i++) {
		if (resp_arg_is(&argv[i], "limit"))
			i += 2;
		else if (resp_arg_is(&argv[i], "get") || resp_arg_is(&argv[i], "by"))
			i++;
		else if (resp_arg_is(&argv[i], "store") && i + 1 < argc)
			store = ++i;
	}
	if (store)
		out[n++] = (keyref_t){store, ow};
	return n;
}

/* SET's key flags depend on GET (its spec says variable_flags): 7.0's
 * setGetKeys. */
static int set_keys(int argc, const resp_arg_t *argv, keyref_t *out)
{
	static const char get[] = "~3,+2:RW+6:access+6:update", plain[] = "~2,+2:OW+6:update";
	out[0] = (keyref_t){1, plain};
	for (int i = 3; i < argc; i++)
		if (resp_arg_is(&argv[i], "get"))
			out[0].flags = get;
	return 1;
}

static int getkeys(resp_cli_t *cl, int argc, resp_arg_t *argv, int with_flags)
{
	int cargc = argc - 2;
	const resp_arg_t *cargv = argv + 2;
	const resp_cmd_t *c = resp_cmd_find(cl->srv, cargv[0].p, cargv[0].len), *par = NULL;
	if (c && c->subs && cargc >= 2) {
		par = c;
		c = resp_cmd_lookup(c->subs, cargv[1].p, cargv[1].len);
	}
	char full[96];
	if (c)
		snprintf(full, sizeof full, "%s%s%s", par ? par->name : "", par ? "|" : "",
		         c->name);
	const resp_docs_t *d = c ? resp_docs_find(full) : NULL;
	if (!c) {
		resp_error(cl->out, "ERR Invalid command specified");
		return 0;
	}
	if (!d || !strcmp(d->specs, "~0,") || (c->subs && !par)) {
		resp_error(cl->out, "ERR The command has no key arguments");
		return 0;
	}
	if ((c->arity > 0 && c->arity != cargc) || cargc < -c->arity) {
		resp_error(cl->out, "ERR Invalid number of arguments specified for command");
		return 0;
	}
	keyref_t *keys = malloc((size_t)cargc * sizeof *keys);
	if (!keys)
		abort();
	/* SORT_RO's BY/GET spec is incomplete: 7.0 falls back to its
	 * sortROGetKeys, which names the sorted key alone. */
	static const char ro_access[] = "~2,+2:RO+6:access";
	int n = !strcmp(full, "sort")      ? sort_keys(cargc, cargv, keys)
	        : !strcmp(full, "set")     ? set_keys(cargc, cargv, keys)
	        : !strcmp(full, "sort_ro") ? (keys[0] = (keyref_t){1, ro_access}, 1)
	                                   : keys_by_specs(d->specs, cargc, cargv, keys, cargc);
	if (n <= 0) {
		/* The commands 7.0 flags no_mandatory_keys may have none. */
		if (d->no_mandatory_keys)
			resp_array(cl->out, 0);
		else
			resp_error(cl->out, "ERR Invalid arguments specified for command");
		free(keys);
		return 0;
	}
	resp_array(cl->out, (size_t)n);
	for (int i = 0; i < n; i++) {
		const resp_arg_t *k = &cargv[keys[i].pos];
		if (with_flags)
			resp_array(cl->out, 2);
		resp_bulk(cl->out, k->p, k->len);
		if (with_flags) {
			const char *f = keys[i].flags;
			resp_docs_put(cl->out, cl->proto, &f);
		}
	}
	free(keys);
	return 0;
}

RESP_HANDLER(resp_c_command_getkeys)
{
	return getkeys(cl, argc, argv, 0);
}

RESP_HANDLER(resp_c_command_getkeysandflags)
{
	return getkeys(cl, argc, argv, 1);
}

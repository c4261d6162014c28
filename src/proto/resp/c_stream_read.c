/*
 * c_stream_read.c — XREAD and XREADGROUP, synchronous and blocking.
 *
 * Follows Redis 7.0's xreadCommand: options, then ID resolution (`$` is
 * the stream's last ID at call time, `>` means "new to the group"), then a
 * synchronous attempt over every stream; if nothing could be served and
 * BLOCK was given, the client is parked (block.c) with its IDs resolved,
 * and served the way Redis serves blocked stream clients: one stream per
 * reply, at most COUNT (default 1000) entries, a group's waiter rechecking
 * the group's last ID each time so only one consumer takes each new entry.
 * XREADGROUP with an explicit ID reads the consumer's own PEL (history),
 * never blocks, and reports deleted entries as [id, nil].
 *
 * XREAD only reads. An XREADGROUP's deliveries over all its streams are
 * one keyspace call (broker/keyspace.h), journaled or refused as a whole;
 * this file encodes what it hands back. Loop thread only.
 */
#include "proto/resp/c_stream.h"

#include "core/time.h"

#include <stdlib.h>

#define XREAD_BLOCKED_DEFAULT_COUNT 1000

typedef struct xread_req {
	int nkeys;
	resp_arg_t *keys; /* owned copies of the key names */
	sid_t *ids;
	int64_t count;
	int noack;
	char *group, *consumer;
	size_t glen, clen;
} xread_req_t;

static void req_free(xread_req_t *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nkeys; i++)
		free((void *)r->keys[i].p);
	free(r->keys);
	free(r->ids);
	free(r->group);
	free(r->consumer);
	free(r);
}

static char *dup_arg(const resp_arg_t *a)
{
	char *p = malloc(a->len + 1);
	if (!p)
		abort();
	memcpy(p, a->p, a->len);
	p[a->len] = 0;
	return p;
}

/* XREAD: the entries after `after`, as an array. */
static void reply_plain(resp_cli_t *cl, stream_t *s, sid_t after, int64_t count)
{
	sid_t start = after;
	if (sid_incr(&start) < 0) {
		resp_array(cl->out, 0);
		return;
	}
	xs_reply_range(cl, s, start, SID_MAX, count, 0);
}

/* The stream's key before its entries: [key, entries] in RESP2, a map
 * entry in RESP3 (the caller wrote the outer header). */
static void put_key(resp_cli_t *cl, const char *key, size_t klen)
{
	if (cl->proto == 2)
		resp_array(cl->out, 2);
	resp_bulk(cl->out, key, klen);
}

/* Encoding of XREADGROUP's deliveries (ks_xread_cb_t). */
typedef struct xrg_out {
	resp_cli_t *cl;
	const ks_xread_t *r;
	size_t mark;
	int put_keys; /* write each stream's key before its entries */
} xrg_out_t;

static void xrg_begin(void *arg, size_t i)
{
	xrg_out_t *o = arg;
	if (o->put_keys)
		put_key(o->cl, o->r[i].key, o->r[i].klen);
	o->mark = resp_defer(o->cl->out);
}

static void xrg_entry(void *arg, stream_t *s, sid_t id, const sentry_t *e)
{
	xrg_out_t *o = arg;
	if (e) {
		xs_reply_entry(o->cl, s, e);
	} else {
		resp_array(o->cl->out, 2);
		xs_reply_id(o->cl->out, id);
		resp_null_array(o->cl->out, o->cl->proto);
	}
}

static void xrg_end(void *arg, size_t i, size_t n)
{
	xrg_out_t *o = arg;
	(void)i;
	resp_defer_set(o->cl->out, o->mark, '*', n);
}

/* Serves a blocked XREAD/XREADGROUP from one of its keys, as Redis's
 * serveClientsBlockedOnKey does. */
static int serve_blocked(resp_cli_t *cl, resp_block_t *bk)
{
	xread_req_t *r = bk->arg;
	for (int i = 0; i < r->nkeys; i++) {
		const resp_arg_t *key = &r->keys[i];
		ks_obj_t *o = ks_find(cl->srv->ks, key->p, key->len);
		if (!o || o->type != KS_STREAM) {
			if (r->group) {
				resp_error(cl->out, "UNBLOCKED the stream key no longer exists");
				return 1;
			}
			continue;
		}
		stream_t *s = o->ptr;
		sgroup_t *g = NULL;
		sid_t gt = r->ids[i];
		if (r->group) {
			g = stream_group_find(s, r->group, r->glen);
			if (!g) {
				resp_error(cl->out, "NOGROUP the consumer group this client was "
				                    "blocked on no longer exists");
				return 1;
			}
			gt = g->last_id;
		}
		if (sid_cmp(s->last_id, gt) <= 0)
			continue;
		size_t mark = resp_defer(cl->out);
		if (cl->proto == 2)
			resp_array(cl->out, 1);
		else
			resp_map(cl->out, 3, 1);
		put_key(cl, key->p, key->len);
		if (!g) {
			reply_plain(cl, s, gt, r->count);
			return 1;
		}
		ks_xread_t rd = {key->p, key->len, s, g, gt, 0};
		xrg_out_t out = {cl, &rd, 0, 0};
		ks_xread_cb_t cb = {xrg_begin, xrg_entry, xrg_end, &out};
		int rc = ks_xreadgroup(cl->srv->ks, 1, &rd, r->consumer, r->clen, r->count,
		                       r->noack, &cb);
		if (rc < 0) {
			resp_undo(cl->out, mark);
			resp_err_ks(cl, rc);
		}
		return 1;
	}
	return 0;
}

static void block_free(resp_block_t *bk)
{
	req_free(bk->arg);
}

static int xread_generic(resp_cli_t *cl, int argc, resp_arg_t *argv, int xreadgroup)
{
	int64_t timeout = -1, count = 0;
	int streams_arg = 0, nstreams = 0, noack = 0;
	const resp_arg_t *group = NULL, *consumer = NULL;
	const char *fullname = xreadgroup ? "XREADGROUP" : "XREAD";
	for (int i = 1; i < argc; i++) {
		int more = argc - i - 1;
		const resp_arg_t *o = &argv[i];
		if (resp_arg_is(o, "block") && more) {
			i++;
			if (resp_arg_ll(&argv[i], &timeout) < 0) {
				resp_error(cl->out,
				           "ERR timeout is not an integer or out of range");
				return 0;
			}
			if (timeout < 0) {
				resp_error(cl->out, "ERR timeout is negative");
				return 0;
			}
		} else if (resp_arg_is(o, "count") && more) {
			i++;
			if (resp_arg_ll_or_reply(cl, &argv[i], &count) < 0)
				return 0;
			if (count < 0)
				count = 0;
		} else if (resp_arg_is(o, "streams") && more) {
			streams_arg = i + 1;
			nstreams = argc - streams_arg;
			if (nstreams % 2) {
				resp_errorf(
				    cl->out,
				    "ERR Unbalanced %s list of streams: for each stream key an "
				    "ID or '%c' must be specified.",
				    fullname, xreadgroup ? '>' : '$');
				return 0;
			}
			nstreams /= 2;
			break;
		} else if (resp_arg_is(o, "group") && more >= 2) {
			if (!xreadgroup) {
				resp_error(cl->out, "ERR The GROUP option is only supported by "
				                    "XREADGROUP. You called XREAD instead.");
				return 0;
			}
			group = &argv[i + 1];
			consumer = &argv[i + 2];
			i += 2;
		} else if (resp_arg_is(o, "noack")) {
			if (!xreadgroup) {
				resp_error(cl->out, "ERR The NOACK option is only supported by "
				                    "XREADGROUP. You called XREAD instead.");
				return 0;
			}
			noack = 1;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	if (streams_arg == 0) {
		resp_err_syntax(cl);
		return 0;
	}
	if (xreadgroup && !group) {
		resp_error(cl->out, "ERR Missing GROUP option for XREADGROUP");
		return 0;
	}
	sid_t *ids = calloc((size_t)nstreams, sizeof *ids);
	sgroup_t **groups = calloc((size_t)nstreams, sizeof *groups);
	ks_xread_t *rd = calloc((size_t)nstreams, sizeof *rd);
	if (!ids || !groups || !rd)
		abort();
	int rc = 0;
	for (int k = 0; k < nstreams; k++) {
		const resp_arg_t *key = &argv[streams_arg + k],
		                 *ida = &argv[streams_arg + nstreams + k];
		stream_t *s;
		if (xs_lookup(cl, key, &s) < 0)
			goto done;
		if (group) {
			if (!s || !(groups[k] = stream_group_find(s, group->p, group->len))) {
				resp_errorf(
				    cl->out,
				    "NOGROUP No such key '%.*s' or consumer group '%.*s' in "
				    "XREADGROUP with GROUP option",
				    (int)key->len, key->p, (int)group->len, group->p);
				goto done;
			}
		}
		if (ida->len == 1 && ida->p[0] == '$') {
			if (xreadgroup) {
				resp_error(
				    cl->out,
				    "ERR The $ ID is meaningless in the context of XREADGROUP: you "
				    "want to read the history of this consumer by specifying a "
				    "proper ID, or use the > ID to get new messages. The $ ID "
				    "would "
				    "just return an empty result set.");
				goto done;
			}
			ids[k] = s ? s->last_id : SID_MIN;
			continue;
		}
		if (ida->len == 1 && ida->p[0] == '>') {
			if (!xreadgroup) {
				resp_error(cl->out,
				           "ERR The > ID can be specified only when calling "
				           "XREADGROUP using the GROUP <group> <consumer> option.");
				goto done;
			}
			ids[k] = SID_MAX;
			continue;
		}
		if (xs_parse_id(cl, ida, &ids[k], 0, 1, NULL) < 0)
			goto done;
	}
	/* Which streams have something to serve now, from which ID. */
	size_t mark = resp_defer(cl->out), served = 0;
	for (int k = 0; k < nstreams; k++) {
		const resp_arg_t *key = &argv[streams_arg + k];
		stream_t *s;
		xs_lookup(cl, key, &s);
		if (!s)
			continue;
		sid_t gt = ids[k];
		int sync = 0, history = 0;
		if (groups[k]) {
			if (sid_cmp(gt, SID_MAX) != 0) {
				sync = history = 1;
			} else if (s->length) {
				sentry_t *last = stream_last(s);
				if (sid_cmp(last->id, groups[k]->last_id) > 0) {
					sync = 1;
					gt = groups[k]->last_id;
				}
			}
		} else if (s->length) {
			sentry_t *last = stream_last(s);
			sync = sid_cmp(last->id, gt) > 0;
		}
		if (!sync)
			continue;
		if (!group) {
			put_key(cl, key->p, key->len);
			reply_plain(cl, s, gt, count);
		} else {
			rd[served] = (ks_xread_t){key->p, key->len, s, groups[k], gt, history};
		}
		served++;
	}
	if (served && group) {
		xrg_out_t out = {cl, rd, 0, 1};
		ks_xread_cb_t cb = {xrg_begin, xrg_entry, xrg_end, &out};
		int r = ks_xreadgroup(cl->srv->ks, served, rd, consumer->p, consumer->len, count,
		                      noack, &cb);
		if (r < 0) {
			resp_undo(cl->out, mark);
			resp_err_ks(cl, r);
			goto done;
		}
	}
	if (served) {
		if (cl->proto == 2)
			resp_defer_set(cl->out, mark, '*', served);
		else
			resp_defer_map(cl->out, mark, 3, served);
		goto done;
	}
	if (timeout != -1) {
		xread_req_t *r = calloc(1, sizeof *r);
		if (!r)
			abort();
		r->nkeys = nstreams;
		r->keys = calloc((size_t)nstreams, sizeof *r->keys);
		r->ids = ids;
		ids = NULL;
		if (!r->keys)
			abort();
		for (int k = 0; k < nstreams; k++) {
			r->keys[k].p = dup_arg(&argv[streams_arg + k]);
			r->keys[k].len = argv[streams_arg + k].len;
		}
		r->count = count ? count : XREAD_BLOCKED_DEFAULT_COUNT;
		r->noack = noack;
		if (group) {
			r->group = dup_arg(group);
			r->glen = group->len;
			r->consumer = dup_arg(consumer);
			r->clen = consumer->len;
		}
		resp_block(cl, nstreams, r->keys, timeout, serve_blocked, block_free, r);
		goto done;
	}
	resp_null_array(cl->out, cl->proto);
done:
	free(ids);
	free(groups);
	free(rd);
	return rc;
}

RESP_HANDLER(resp_c_xread)
{
	return xread_generic(cl, argc, argv, 0);
}
RESP_HANDLER(resp_c_xreadgroup)
{
	return xread_generic(cl, argc, argv, 1);
}

/*
 * c_stream_group.c — consumer-group commands: XGROUP (CREATE, SETID,
 * DESTROY, CREATECONSUMER, DELCONSUMER, HELP), XACK, XPENDING, XCLAIM,
 * XAUTOCLAIM (7.0's three-element reply).
 *
 * Check order and error texts are Redis 7.0's (t_stream.c): option syntax
 * first, then the key (WRONGTYPE / "requires the key to exist"), then the
 * group (NOGROUP). Every change is one keyspace call (broker/keyspace.h),
 * journaled there as the resulting state of the group, consumer or
 * pending entry, or refused with MISCONF having changed nothing.
 * Loop thread only.
 */
#include "proto/resp/c_stream.h"

#include "core/err.h"
#include "core/time.h"

#include <stdlib.h>

static void reply_nogroup_key(resp_cli_t *cl, const resp_arg_t *key, const resp_arg_t *grp)
{
	resp_errorf(cl->out, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
	            (int)grp->len, grp->p, (int)key->len, key->p);
}

static void reply_nogroup(resp_cli_t *cl, const resp_arg_t *key, const resp_arg_t *grp)
{
	resp_errorf(cl->out, "NOGROUP No such key '%.*s' or consumer group '%.*s'", (int)key->len,
	            key->p, (int)grp->len, grp->p);
}

static void subcommand_syntax(resp_cli_t *cl, const resp_arg_t *sub)
{
	resp_errorf(
	    cl->out,
	    "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try XGROUP HELP.",
	    (int)sub->len, sub->p);
}

/* Parses [MKSTREAM] [ENTRIESREAD n] from argv[5..]; -1 after replying. */
static int parse_group_opts(resp_cli_t *cl, int argc, resp_arg_t *argv, int allow_mkstream,
                            int *mkstream, int64_t *entries_read)
{
	for (int i = 5; i < argc;) {
		if (allow_mkstream && resp_arg_is(&argv[i], "mkstream")) {
			*mkstream = 1;
			i++;
		} else if (resp_arg_is(&argv[i], "entriesread") && i + 1 < argc) {
			if (resp_arg_ll_or_reply(cl, &argv[i + 1], entries_read) < 0)
				return -1;
			if (*entries_read < 0 && *entries_read != STREAM_ENTRIES_READ_INVALID) {
				resp_error(cl->out,
				           "ERR value for ENTRIESREAD must be positive or -1");
				return -1;
			}
			i += 2;
		} else {
			subcommand_syntax(cl, &argv[1]);
			return -1;
		}
	}
	return 0;
}

/* Common XGROUP prologue: the stream (or the "requires the key" error). */
static int group_key(resp_cli_t *cl, resp_arg_t *argv, int mkstream, stream_t **s)
{
	if (xs_lookup(cl, &argv[2], s) < 0)
		return -1;
	if (!*s && !mkstream) {
		resp_error(cl->out,
		           "ERR The XGROUP subcommand requires the key to exist. Note that "
		           "for CREATE you may want to use the MKSTREAM option to create an "
		           "empty stream automatically.");
		return -1;
	}
	return 0;
}

RESP_HANDLER(resp_c_xgroup_create)
{
	int mkstream = 0;
	int64_t er = STREAM_ENTRIES_READ_INVALID;
	if (argc > 8) {
		subcommand_syntax(cl, &argv[1]);
		return 0;
	}
	if (parse_group_opts(cl, argc, argv, 1, &mkstream, &er) < 0)
		return 0;
	stream_t *s;
	if (group_key(cl, argv, mkstream, &s) < 0)
		return 0;
	sid_t id = SID_MIN;
	int dollar = argv[4].len == 1 && argv[4].p[0] == '$';
	if (!dollar && xs_parse_id(cl, &argv[4], &id, 0, 1, NULL) < 0)
		return 0;
	int rc = ks_xgroup_create(cl->srv->ks, argv[2].p, argv[2].len, argv[3].p, argv[3].len, id,
	                          dollar, er, mkstream);
	if (rc == SL_EEXIST)
		resp_error(cl->out, "BUSYGROUP Consumer Group name already exists");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_xgroup_setid)
{
	int mk = 0;
	int64_t er = STREAM_ENTRIES_READ_INVALID;
	if (argc > 7) {
		subcommand_syntax(cl, &argv[1]);
		return 0;
	}
	if (parse_group_opts(cl, argc, argv, 0, &mk, &er) < 0)
		return 0;
	stream_t *s;
	if (group_key(cl, argv, 0, &s) < 0)
		return 0;
	sgroup_t *g = stream_group_find(s, argv[3].p, argv[3].len);
	if (!g) {
		reply_nogroup_key(cl, &argv[2], &argv[3]);
		return 0;
	}
	sid_t id;
	/* Not strict, unlike CREATE: "-" and "+" are IDs here (Redis 7.0's
	 * streamParseIDOrReply). */
	if (argv[4].len == 1 && argv[4].p[0] == '$')
		id = s->last_id;
	else if (xs_parse_id(cl, &argv[4], &id, 0, 0, NULL) < 0)
		return 0;
	int rc = ks_xgroup_setid(cl->srv->ks, argv[2].p, argv[2].len, g, id, er);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_xgroup_destroy)
{
	(void)argc;
	stream_t *s;
	if (group_key(cl, argv, 0, &s) < 0)
		return 0;
	sgroup_t *g = stream_group_find(s, argv[3].p, argv[3].len);
	if (!g) {
		resp_int(cl->out, 0);
		return 0;
	}
	/* Blocked XREADGROUP clients of this group learn it is gone (the
	 * keyspace reports the key). */
	int rc = ks_xgroup_destroy(cl->srv->ks, argv[2].p, argv[2].len, g);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, 1);
	return 0;
}

RESP_HANDLER(resp_c_xgroup_createconsumer)
{
	(void)argc;
	stream_t *s;
	if (group_key(cl, argv, 0, &s) < 0)
		return 0;
	sgroup_t *g = stream_group_find(s, argv[3].p, argv[3].len);
	if (!g) {
		reply_nogroup_key(cl, &argv[2], &argv[3]);
		return 0;
	}
	int rc = ks_xgroup_createconsumer(cl->srv->ks, argv[2].p, argv[2].len, g, argv[4].p,
	                                  argv[4].len);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, rc);
	return 0;
}

RESP_HANDLER(resp_c_xgroup_delconsumer)
{
	(void)argc;
	stream_t *s;
	if (group_key(cl, argv, 0, &s) < 0)
		return 0;
	sgroup_t *g = stream_group_find(s, argv[3].p, argv[3].len);
	if (!g) {
		reply_nogroup_key(cl, &argv[2], &argv[3]);
		return 0;
	}
	sconsumer_t *c = stream_consumer_find(g, argv[4].p, argv[4].len);
	if (!c) {
		resp_int(cl->out, 0);
		return 0;
	}
	int64_t pending;
	int rc = ks_xgroup_delconsumer(cl->srv->ks, argv[2].p, argv[2].len, g, c, &pending);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, pending);
	return 0;
}

/* --- XACK ---------------------------------------------------------------------- */

RESP_HANDLER(resp_c_xack)
{
	stream_t *s;
	sgroup_t *g = NULL;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	if (s)
		g = stream_group_find(s, argv[2].p, argv[2].len);
	if (!g) {
		resp_int(cl->out, 0);
		return 0;
	}
	sid_t *ids = malloc((size_t)(argc - 3) * sizeof *ids);
	if (!ids)
		abort();
	for (int j = 3; j < argc; j++) {
		if (xs_parse_id(cl, &argv[j], &ids[j - 3], 0, 1, NULL) < 0) {
			free(ids);
			return 0;
		}
	}
	int64_t n;
	int rc = ks_xack(cl->srv->ks, argv[1].p, argv[1].len, g, (size_t)(argc - 3), ids, &n);
	free(ids);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, n);
	return 0;
}

/* --- XPENDING ------------------------------------------------------------------ */

RESP_HANDLER(resp_c_xpending)
{
	int justinfo = argc == 3;
	sid_t start = SID_MIN, end = SID_MAX;
	int64_t count = 0, minidle = 0;
	const resp_arg_t *cname = NULL;
	if (argc != 3 && (argc < 6 || argc > 9)) {
		resp_err_syntax(cl);
		return 0;
	}
	if (argc >= 6) {
		int si = 3, sx, ex;
		if (resp_arg_is(&argv[3], "idle")) {
			if (resp_arg_ll_or_reply(cl, &argv[4], &minidle) < 0)
				return 0;
			if (argc < 8) {
				resp_err_syntax(cl);
				return 0;
			}
			si += 2;
		}
		if (resp_arg_ll_or_reply(cl, &argv[si + 2], &count) < 0)
			return 0;
		if (count < 0)
			count = 0;
		if (xs_parse_interval(cl, &argv[si], &start, &sx, 0) < 0)
			return 0;
		if (sx && sid_incr(&start) < 0) {
			resp_error(cl->out, "ERR invalid start ID for the interval");
			return 0;
		}
		if (xs_parse_interval(cl, &argv[si + 1], &end, &ex, UINT64_MAX) < 0)
			return 0;
		if (ex && sid_decr(&end) < 0) {
			resp_error(cl->out, "ERR invalid end ID for the interval");
			return 0;
		}
		if (si + 3 < argc)
			cname = &argv[si + 3];
	}
	stream_t *s;
	sgroup_t *g = NULL;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	if (s)
		g = stream_group_find(s, argv[2].p, argv[2].len);
	if (!g) {
		reply_nogroup(cl, &argv[1], &argv[2]);
		return 0;
	}
	buf_t *o = cl->out;
	if (justinfo) {
		resp_array(o, 4);
		resp_int(o, (int64_t)g->pel.n);
		if (g->pel.n == 0) {
			resp_null(o, cl->proto);
			resp_null(o, cl->proto);
			resp_null_array(o, cl->proto);
			return 0;
		}
		xs_reply_id(o, g->pel.v[0]->id);
		xs_reply_id(o, g->pel.v[g->pel.n - 1]->id);
		size_t nc;
		sconsumer_t **cs = stream_consumers_sorted(g, &nc);
		size_t mark = resp_defer(o), k = 0;
		for (size_t i = 0; i < nc; i++) {
			if (!cs[i]->pel.n)
				continue;
			resp_array(o, 2);
			resp_bulk(o, cs[i]->name, cs[i]->nlen);
			resp_bulk_u64(o, cs[i]->pel.n);
			k++;
		}
		free(cs);
		resp_defer_set(o, mark, '*', k);
		return 0;
	}
	const spel_t *pel = &g->pel;
	if (cname) {
		sconsumer_t *c = stream_consumer_find(g, cname->p, cname->len);
		if (!c) {
			resp_array(o, 0);
			return 0;
		}
		pel = &c->pel;
	}
	int64_t now = time_wall_ms();
	size_t mark = resp_defer(o), k = 0;
	for (size_t i = spel_lower(pel, start); count && i < pel->n; i++) {
		snack_t *n = pel->v[i];
		if (sid_cmp(n->id, end) > 0)
			break;
		if (minidle && now - n->delivery_time < minidle)
			continue;
		k++;
		count--;
		resp_array(o, 4);
		xs_reply_id(o, n->id);
		resp_bulk(o, n->consumer->name, n->consumer->nlen);
		int64_t el = now - n->delivery_time;
		resp_int(o, el < 0 ? 0 : el);
		resp_int(o, (int64_t)n->delivery_count);
	}
	resp_defer_set(o, mark, '*', k);
	return 0;
}

/* --- XCLAIM / XAUTOCLAIM ---------------------------------------------------------- */

static int ll_or_msg(resp_cli_t *cl, const resp_arg_t *a, int64_t *v, const char *msg)
{
	if (resp_arg_ll(a, v) == 0)
		return 0;
	resp_errorf(cl->out, "ERR %s", msg);
	return -1;
}

/* Claimed entries: the entry (or its ID alone for JUSTID). */
typedef struct claim_out {
	resp_cli_t *cl;
	buf_t *out;
	int justid;
	size_t n;
} claim_out_t;

static void put_claimed(void *arg, stream_t *s, sid_t id, const sentry_t *e)
{
	claim_out_t *o = arg;
	buf_t *saved = o->cl->out;
	o->cl->out = o->out;
	if (o->justid || !e)
		xs_reply_id(o->out, id);
	else
		xs_reply_entry(o->cl, s, e);
	o->cl->out = saved;
	o->n++;
}

RESP_HANDLER(resp_c_xclaim)
{
	stream_t *s;
	sgroup_t *g = NULL;
	int64_t minidle, retrycount = -1, dtime = -1;
	int force = 0, justid = 0;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	if (s)
		g = stream_group_find(s, argv[2].p, argv[2].len);
	if (!g) {
		reply_nogroup(cl, &argv[1], &argv[2]);
		return 0;
	}
	if (ll_or_msg(cl, &argv[4], &minidle, "Invalid min-idle-time argument for XCLAIM") < 0)
		return 0;
	if (minidle < 0)
		minidle = 0;
	int j;
	for (j = 5; j < argc; j++) {
		sid_t tmp;
		if (sid_parse(argv[j].p, argv[j].len, &tmp, 0, 1, NULL) < 0)
			break;
	}
	int last_id_arg = j - 1;
	int64_t now = time_wall_ms();
	sid_t last_id = SID_MIN;
	for (; j < argc; j++) {
		int more = argc - 1 - j;
		const resp_arg_t *o = &argv[j];
		if (resp_arg_is(o, "force")) {
			force = 1;
		} else if (resp_arg_is(o, "justid")) {
			justid = 1;
		} else if (resp_arg_is(o, "idle") && more) {
			j++;
			if (ll_or_msg(cl, &argv[j], &dtime,
			              "Invalid IDLE option argument for XCLAIM") < 0)
				return 0;
			dtime = now - dtime;
		} else if (resp_arg_is(o, "time") && more) {
			j++;
			if (ll_or_msg(cl, &argv[j], &dtime,
			              "Invalid TIME option argument for XCLAIM") < 0)
				return 0;
		} else if (resp_arg_is(o, "retrycount") && more) {
			j++;
			if (ll_or_msg(cl, &argv[j], &retrycount,
			              "Invalid RETRYCOUNT option argument for XCLAIM") < 0)
				return 0;
		} else if (resp_arg_is(o, "lastid") && more) {
			j++;
			if (xs_parse_id(cl, &argv[j], &last_id, 0, 1, NULL) < 0)
				return 0;
		} else {
			resp_errorf(cl->out, "ERR Unrecognized XCLAIM option '%.*s'", (int)o->len,
			            o->p);
			return 0;
		}
	}
	if (dtime != -1) {
		if (dtime < 0 || dtime > now)
			dtime = now;
	} else {
		dtime = now;
	}
	size_t nids = (size_t)(last_id_arg - 4);
	sid_t *ids = malloc((nids ? nids : 1) * sizeof *ids);
	if (!ids)
		abort();
	for (size_t k = 0; k < nids; k++)
		sid_parse(argv[5 + k].p, argv[5 + k].len, &ids[k], 0, 1, NULL);
	ks_claim_t a = {ids, nids, minidle, dtime, retrycount, force, justid, last_id};
	buf_t entries = BUF_INIT;
	claim_out_t co = {cl, &entries, justid, 0};
	int rc = ks_xclaim(cl->srv->ks, argv[1].p, argv[1].len, s, g, argv[3].p, argv[3].len, &a,
	                   put_claimed, &co);
	free(ids);
	if (rc < 0) {
		resp_err_ks(cl, rc);
	} else {
		resp_array(cl->out, co.n);
		buf_append(cl->out, buf_data(&entries), buf_len(&entries));
	}
	buf_deinit(&entries);
	return 0;
}

typedef struct autoclaim_out {
	claim_out_t claimed, deleted;
} autoclaim_out_t;

static void put_auto_claimed(void *arg, stream_t *s, sid_t id, const sentry_t *e)
{
	put_claimed(&((autoclaim_out_t *)arg)->claimed, s, id, e);
}

static void put_auto_deleted(void *arg, stream_t *s, sid_t id, const sentry_t *e)
{
	(void)e;
	put_claimed(&((autoclaim_out_t *)arg)->deleted, s, id, NULL);
}

RESP_HANDLER(resp_c_xautoclaim)
{
	int64_t minidle, count = 100;
	sid_t start;
	int sx, justid = 0;
	if (ll_or_msg(cl, &argv[4], &minidle, "Invalid min-idle-time argument for XAUTOCLAIM") < 0)
		return 0;
	if (minidle < 0)
		minidle = 0;
	if (xs_parse_interval(cl, &argv[5], &start, &sx, 0) < 0)
		return 0;
	if (sx && sid_incr(&start) < 0) {
		resp_error(cl->out, "ERR invalid start ID for the interval");
		return 0;
	}
	for (int j = 6; j < argc; j++) {
		int more = argc - 1 - j;
		if (resp_arg_is(&argv[j], "count") && more) {
			int64_t max = INT64_MAX / 16;
			if (resp_arg_ll(&argv[j + 1], &count) < 0 || count < 1 || count > max) {
				resp_error(cl->out, "ERR COUNT must be > 0");
				return 0;
			}
			j++;
		} else if (resp_arg_is(&argv[j], "justid")) {
			justid = 1;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	stream_t *s;
	sgroup_t *g = NULL;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	if (s)
		g = stream_group_find(s, argv[2].p, argv[2].len);
	if (!g) {
		reply_nogroup(cl, &argv[1], &argv[2]);
		return 0;
	}
	buf_t entries = BUF_INIT, deleted = BUF_INIT;
	autoclaim_out_t o = {{cl, &entries, justid, 0}, {cl, &deleted, 1, 0}};
	sid_t next;
	int rc = ks_xautoclaim(cl->srv->ks, argv[1].p, argv[1].len, s, g, argv[3].p, argv[3].len,
	                       minidle, start, count, justid, put_auto_claimed, put_auto_deleted,
	                       &o, &next);
	if (rc < 0) {
		resp_err_ks(cl, rc);
	} else {
		resp_array(cl->out, 3);
		xs_reply_id(cl->out, next);
		resp_array(cl->out, o.claimed.n);
		buf_append(cl->out, buf_data(&entries), buf_len(&entries));
		resp_array(cl->out, o.deleted.n);
		buf_append(cl->out, buf_data(&deleted), buf_len(&deleted));
	}
	buf_deinit(&entries);
	buf_deinit(&deleted);
	return 0;
}

/*
 * c_stream.c — stream commands without groups: XADD, XRANGE, XREVRANGE,
 * XLEN, XTRIM, XDEL, XSETID, XREAD (with BLOCK).
 *
 * Argument order, checks and error texts follow Redis 7.0's t_stream.c so
 * that the same mistakes get the same replies. Every mutation is one
 * keyspace call (broker/keyspace.h): it is journaled, or refused with
 * MISCONF having changed nothing. Loop thread only.
 */
#include "proto/resp/c_stream.h"

#include "core/err.h"
#include "core/time.h"

#include <stdlib.h>

#define XREAD_BLOCKED_DEFAULT_COUNT 1000

int xs_lookup(resp_cli_t *cl, const resp_arg_t *key, stream_t **s)
{
	if (ks_stream(cl->srv->ks, key->p, key->len, s) < 0) {
		resp_err_wrongtype(cl);
		return -1;
	}
	return 0;
}

int xs_parse_id(resp_cli_t *cl, const resp_arg_t *a, sid_t *id, uint64_t missing_seq, int strict,
                int *seq_given)
{
	if (sid_parse(a->p, a->len, id, missing_seq, strict, seq_given) == 0)
		return 0;
	resp_error(cl->out, "ERR Invalid stream ID specified as stream command argument");
	return -1;
}

int xs_parse_interval(resp_cli_t *cl, const resp_arg_t *a, sid_t *id, int *excl,
                      uint64_t missing_seq)
{
	*excl = 0;
	if (a->len > 1 && a->p[0] == '(') {
		resp_arg_t b = {a->p + 1, a->len - 1};
		*excl = 1;
		return xs_parse_id(cl, &b, id, missing_seq, 1, NULL);
	}
	return xs_parse_id(cl, a, id, missing_seq, 0, NULL);
}

void xs_reply_id(buf_t *b, sid_t id)
{
	char tmp[SID_STRLEN];
	int n = sid_fmt(id, tmp);
	resp_bulk(b, tmp, (size_t)n);
}

void xs_reply_entry(resp_cli_t *cl, stream_t *st, const sentry_t *e)
{
	buf_t *b = cl->out;
	resp_array(b, 2);
	xs_reply_id(b, e->id);
	const uint8_t *p = stream_entry_data(st, e);
	if (!p) {
		/* The log could not be read back (logged there); the entry's
		 * fields are reported missing rather than invented. */
		resp_null_array(b, cl->proto);
		return;
	}
	resp_array(b, 2 * (size_t)e->npairs);
	for (uint32_t i = 0; i < 2 * e->npairs; i++) {
		const uint8_t *s;
		uint32_t n;
		p = sentry_field(p, &s, &n);
		resp_bulk(b, s, n);
	}
}

size_t xs_reply_range(resp_cli_t *cl, stream_t *s, sid_t start, sid_t end, int64_t count, int rev)
{
	size_t mark = resp_defer(cl->out), n = 0;
	if (s) {
		siter_t it;
		stream_iter(&it, s, start, end, rev);
		sentry_t *e;
		while ((count == 0 || (int64_t)n < count) && (e = stream_iter_next(&it))) {
			xs_reply_entry(cl, s, e);
			n++;
		}
	}
	resp_defer_set(cl->out, mark, '*', n);
	return n;
}

/* --- XADD / XTRIM ------------------------------------------------------------ */

typedef struct trim_args {
	ks_trim_t t;
	int id_given, seq_given, nomkstream;
	sid_t id;
} trim_args_t;

/* Redis's streamParseAddOrTrimArgsOrReply. Returns the index where the ID
 * (XADD) or the end of the options (XTRIM) is, or -1 after replying. */
static int parse_add_trim(resp_cli_t *cl, int argc, resp_arg_t *argv, trim_args_t *a, int xadd)
{
	memset(a, 0, sizeof *a);
	a->t.strategy = KS_TRIM_NONE;
	a->t.maxlen = -1;
	a->t.limit = -1;
	int limit_given = 0, i = 2;
	for (; i < argc; i++) {
		int more = argc - 1 - i;
		const resp_arg_t *o = &argv[i];
		if (xadd && o->len == 1 && o->p[0] == '*') {
			break;
		} else if ((resp_arg_is(o, "maxlen") || resp_arg_is(o, "minid")) && more) {
			int minid = resp_arg_is(o, "minid");
			if (a->t.strategy != KS_TRIM_NONE) {
				resp_error(cl->out,
				           "ERR syntax error, MAXLEN and MINID options at the "
				           "same time are not compatible");
				return -1;
			}
			a->t.approx = 0;
			const resp_arg_t *nx = &argv[i + 1];
			if (more >= 2 && nx->len == 1 && nx->p[0] == '~') {
				a->t.approx = 1;
				i++;
			} else if (more >= 2 && nx->len == 1 && nx->p[0] == '=') {
				i++;
			}
			if (minid) {
				if (xs_parse_id(cl, &argv[i + 1], &a->t.minid, 0, 1, NULL) < 0)
					return -1;
				a->t.strategy = KS_TRIM_MINID;
			} else {
				if (resp_arg_ll_or_reply(cl, &argv[i + 1], &a->t.maxlen) < 0)
					return -1;
				if (a->t.maxlen < 0) {
					resp_error(cl->out,
					           "ERR The MAXLEN argument must be >= 0.");
					return -1;
				}
				a->t.strategy = KS_TRIM_MAXLEN;
			}
			i++;
		} else if (resp_arg_is(o, "limit") && more) {
			if (resp_arg_ll_or_reply(cl, &argv[i + 1], &a->t.limit) < 0)
				return -1;
			if (a->t.limit < 0) {
				resp_error(cl->out, "ERR The LIMIT argument must be >= 0.");
				return -1;
			}
			limit_given = 1;
			i++;
		} else if (xadd && resp_arg_is(o, "nomkstream")) {
			a->nomkstream = 1;
		} else if (xadd) {
			if (xs_parse_id(cl, o, &a->id, 0, 1, &a->seq_given) < 0)
				return -1;
			a->id_given = 1;
			break;
		} else {
			break;
		}
	}
	if (limit_given && a->t.strategy == KS_TRIM_NONE) {
		resp_error(cl->out, "ERR syntax error, LIMIT cannot be used without specifying a "
		                    "trimming strategy");
		return -1;
	}
	if (!xadd && a->t.strategy == KS_TRIM_NONE) {
		resp_error(cl->out,
		           "ERR syntax error, XTRIM must be called with a trimming strategy");
		return -1;
	}
	if (limit_given) {
		if (!a->t.approx) {
			resp_error(
			    cl->out,
			    "ERR syntax error, LIMIT cannot be used without the special ~ option");
			return -1;
		}
	} else {
		a->t.limit = a->t.approx ? 100 * (cl->srv->stream_node_max_entries > 0
		                                      ? cl->srv->stream_node_max_entries
		                                      : STREAM_NODE_ENTRIES)
		                         : 0;
	}
	a->t.node = cl->srv->stream_node_max_entries;
	return i;
}

RESP_HANDLER(resp_c_xadd)
{
	trim_args_t a;
	int i = parse_add_trim(cl, argc, argv, &a, 1);
	if (i < 0)
		return 0;
	int field_pos = i + 1;
	if (argc - field_pos < 2 || (argc - field_pos) % 2 == 1) {
		resp_err_arity(cl, "xadd");
		return 0;
	}
	if (a.id_given && a.seq_given && a.id.ms == 0 && a.id.seq == 0) {
		resp_error(cl->out, "ERR The ID specified in XADD must be greater than 0-0");
		return 0;
	}
	stream_t *s;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	uint32_t npairs = (uint32_t)((argc - field_pos) / 2);
	const char *ptrs_small[16] = {NULL};
	size_t lens_small[16] = {0};
	const char **ptrs = ptrs_small;
	size_t *lens = lens_small;
	if (2 * npairs > 16) {
		ptrs = malloc(2 * npairs * sizeof *ptrs);
		lens = malloc(2 * npairs * sizeof *lens);
		if (!ptrs || !lens)
			abort();
	}
	for (uint32_t k = 0; k < 2 * npairs; k++) {
		ptrs[k] = argv[field_pos + (int)k].p;
		lens[k] = argv[field_pos + (int)k].len;
	}
	int mode = !a.id_given ? KS_ID_AUTO : a.seq_given ? KS_ID_EXPLICIT : KS_ID_AUTOSEQ;
	sid_t id;
	int rc = ks_xadd(cl->srv->ks, argv[1].p, argv[1].len, a.id, mode, a.nomkstream, npairs,
	                 ptrs, lens, &a.t, &id);
	if (ptrs != ptrs_small) {
		free(ptrs);
		free(lens);
	}
	if (rc == SL_ENOENT)
		resp_null(cl->out, cl->proto);
	else if (rc == SL_ERANGE)
		resp_error(
		    cl->out,
		    "ERR The stream has exhausted the last possible ID, unable to add more items");
	else if (rc == SL_EINVAL)
		resp_error(cl->out,
		           "ERR The ID specified in XADD is equal or smaller than the target "
		           "stream top item");
	else if (rc == SL_ETOOBIG)
		resp_error(cl->out, "ERR Elements are too large to be stored");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		xs_reply_id(cl->out, id);
	return 0;
}

RESP_HANDLER(resp_c_xtrim)
{
	trim_args_t a;
	int i = parse_add_trim(cl, argc, argv, &a, 0);
	if (i < 0)
		return 0;
	if (i < argc) {
		resp_err_syntax(cl);
		return 0;
	}
	stream_t *s;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	int64_t n = 0;
	int rc = s ? ks_xtrim(cl->srv->ks, argv[1].p, argv[1].len, &a.t, &n) : 0;
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, n);
	return 0;
}

/* --- XRANGE / XREVRANGE / XLEN / XDEL / XSETID ---------------------------------- */

static int xrange(resp_cli_t *cl, int argc, resp_arg_t *argv, int rev)
{
	sid_t start, end;
	int sx, ex;
	int64_t count = -1;
	const resp_arg_t *sa = &argv[rev ? 3 : 2], *ea = &argv[rev ? 2 : 3];
	if (xs_parse_interval(cl, sa, &start, &sx, 0) < 0)
		return 0;
	if (sx && sid_incr(&start) < 0) {
		resp_error(cl->out, "ERR invalid start ID for the interval");
		return 0;
	}
	if (xs_parse_interval(cl, ea, &end, &ex, UINT64_MAX) < 0)
		return 0;
	if (ex && sid_decr(&end) < 0) {
		resp_error(cl->out, "ERR invalid end ID for the interval");
		return 0;
	}
	for (int j = 4; j < argc; j++) {
		if (resp_arg_is(&argv[j], "count") && argc - j - 1 >= 1) {
			if (resp_arg_ll_or_reply(cl, &argv[j + 1], &count) < 0)
				return 0;
			if (count < 0)
				count = 0;
			j++;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	stream_t *s;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	if (!s) {
		resp_array(cl->out, 0);
		return 0;
	}
	if (count == 0) {
		resp_null_array(cl->out, cl->proto);
		return 0;
	}
	xs_reply_range(cl, s, start, end, count < 0 ? 0 : count, rev);
	return 0;
}

RESP_HANDLER(resp_c_xrange)
{
	return xrange(cl, argc, argv, 0);
}
RESP_HANDLER(resp_c_xrevrange)
{
	return xrange(cl, argc, argv, 1);
}

RESP_HANDLER(resp_c_xlen)
{
	(void)argc;
	stream_t *s;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	resp_int(cl->out, s ? (int64_t)s->length : 0);
	return 0;
}

RESP_HANDLER(resp_c_xdel)
{
	stream_t *s;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	if (!s) {
		resp_int(cl->out, 0);
		return 0;
	}
	sid_t *ids = malloc((size_t)(argc - 2) * sizeof *ids);
	if (!ids)
		abort();
	for (int j = 2; j < argc; j++) {
		if (xs_parse_id(cl, &argv[j], &ids[j - 2], 0, 1, NULL) < 0) {
			free(ids);
			return 0;
		}
	}
	int64_t n = 0;
	int rc = ks_xdel(cl->srv->ks, argv[1].p, argv[1].len, (size_t)(argc - 2), ids, &n);
	free(ids);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, n);
	return 0;
}

RESP_HANDLER(resp_c_xsetid)
{
	sid_t id, maxdel = SID_MIN;
	int64_t added = -1;
	if (xs_parse_id(cl, &argv[2], &id, 0, 1, NULL) < 0)
		return 0;
	for (int i = 3; i < argc;) {
		int more = argc - 1 - i;
		if (resp_arg_is(&argv[i], "entriesadded") && more) {
			if (resp_arg_ll_or_reply(cl, &argv[i + 1], &added) < 0)
				return 0;
			if (added < 0) {
				resp_error(cl->out, "ERR entries_added must be positive");
				return 0;
			}
			i += 2;
		} else if (resp_arg_is(&argv[i], "maxdeletedid") && more) {
			if (xs_parse_id(cl, &argv[i + 1], &maxdel, 0, 1, NULL) < 0)
				return 0;
			if (sid_cmp(id, maxdel) < 0) {
				resp_error(cl->out,
				           "ERR The ID specified in XSETID is smaller than the "
				           "provided max_deleted_entry_id");
				return 0;
			}
			i += 2;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	stream_t *s;
	if (xs_lookup(cl, &argv[1], &s) < 0)
		return 0;
	if (!s) {
		resp_error(cl->out, "ERR no such key");
		return 0;
	}
	if (sid_cmp(id, s->max_deleted_id) < 0) {
		resp_error(cl->out, "ERR The ID specified in XSETID is smaller than current "
		                    "max_deleted_entry_id");
		return 0;
	}
	if (s->length > 0) {
		sentry_t *last = stream_last(s);
		if (sid_cmp(id, last->id) < 0) {
			resp_error(cl->out,
			           "ERR The ID specified in XSETID is smaller than the target "
			           "stream top item");
			return 0;
		}
		if (added != -1 && s->length > (uint64_t)added) {
			resp_error(cl->out,
			           "ERR The entries_added specified in XSETID is smaller than "
			           "the target stream length");
			return 0;
		}
	}
	int rc = ks_xsetid(cl->srv->ks, argv[1].p, argv[1].len, id, added, maxdel);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_ok(cl->out);
	return 0;
}

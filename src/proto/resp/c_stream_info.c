/*
 * c_stream_info.c — XINFO STREAM [FULL [COUNT n]], XINFO GROUPS,
 * XINFO CONSUMERS, and the XGROUP/XINFO HELP texts.
 *
 * Field names and order are Redis 7.0's; RESP3 gets maps, RESP2 flat
 * arrays. radix-tree-keys/-nodes have no meaning in sluice's model and are
 * estimated from the node size (STREAM_NODE_ENTRIES) as Redis would report
 * them for an append-only stream. Loop thread only.
 */
#include "proto/resp/c_stream.h"

#include "core/time.h"

#include <stdlib.h>

static void key_str(buf_t *o, const char *k) { resp_bulk_str(o, k); }

static void put_lag(resp_cli_t *cl, const stream_t *s, const sgroup_t *g)
{
	int valid;
	int64_t lag = stream_group_lag(s, g, &valid);
	if (valid)
		resp_int(cl->out, lag);
	else
		resp_null(cl->out, cl->proto);
}

static void put_entries_read(resp_cli_t *cl, const sgroup_t *g)
{
	if (g->entries_read != STREAM_ENTRIES_READ_INVALID)
		resp_int(cl->out, g->entries_read);
	else
		resp_null(cl->out, cl->proto);
}

static void put_header(resp_cli_t *cl, const stream_t *s)
{
	buf_t *o = cl->out;
	uint64_t keys = 0;
	sentry_t *f = stream_first(s), *l = stream_last(s);
	if (f)
		keys = l->pos / STREAM_NODE_ENTRIES - f->pos / STREAM_NODE_ENTRIES + 1;
	key_str(o, "length");
	resp_int(o, (int64_t)s->length);
	key_str(o, "radix-tree-keys");
	resp_int(o, (int64_t)keys);
	key_str(o, "radix-tree-nodes");
	resp_int(o, (int64_t)keys + 1);
	key_str(o, "last-generated-id");
	xs_reply_id(o, s->last_id);
	key_str(o, "max-deleted-entry-id");
	xs_reply_id(o, s->max_deleted_id);
	key_str(o, "entries-added");
	resp_int(o, (int64_t)s->entries_added);
	key_str(o, "recorded-first-entry-id");
	xs_reply_id(o, f ? f->id : SID_MIN);
}

static void info_full(resp_cli_t *cl, stream_t *s, int64_t count)
{
	buf_t *o = cl->out;
	resp_map(o, cl->proto, 9);
	put_header(cl, s);
	key_str(o, "entries");
	xs_reply_range(cl, s, SID_MIN, SID_MAX, count, 0);
	key_str(o, "groups");
	size_t ng;
	sgroup_t **gs = stream_groups_sorted(s, &ng);
	resp_array(o, ng);
	for (size_t i = 0; i < ng; i++) {
		sgroup_t *g = gs[i];
		resp_map(o, cl->proto, 7);
		key_str(o, "name");
		resp_bulk(o, g->name, g->nlen);
		key_str(o, "last-delivered-id");
		xs_reply_id(o, g->last_id);
		key_str(o, "entries-read");
		put_entries_read(cl, g);
		key_str(o, "lag");
		put_lag(cl, s, g);
		key_str(o, "pel-count");
		resp_int(o, (int64_t)g->pel.n);
		key_str(o, "pending");
		size_t np = g->pel.n;
		if (count && (size_t)count < np)
			np = (size_t)count;
		resp_array(o, np);
		for (size_t k = 0; k < np; k++) {
			snack_t *n = g->pel.v[k];
			resp_array(o, 4);
			xs_reply_id(o, n->id);
			resp_bulk(o, n->consumer->name, n->consumer->nlen);
			resp_int(o, n->delivery_time);
			resp_int(o, (int64_t)n->delivery_count);
		}
		key_str(o, "consumers");
		size_t nc;
		sconsumer_t **cs = stream_consumers_sorted(g, &nc);
		resp_array(o, nc);
		for (size_t c = 0; c < nc; c++) {
			sconsumer_t *cn = cs[c];
			resp_map(o, cl->proto, 4);
			key_str(o, "name");
			resp_bulk(o, cn->name, cn->nlen);
			key_str(o, "seen-time");
			resp_int(o, cn->seen_time);
			key_str(o, "pel-count");
			resp_int(o, (int64_t)cn->pel.n);
			key_str(o, "pending");
			size_t cp = cn->pel.n;
			if (count && (size_t)count < cp)
				cp = (size_t)count;
			resp_array(o, cp);
			for (size_t k = 0; k < cp; k++) {
				snack_t *n = cn->pel.v[k];
				resp_array(o, 3);
				xs_reply_id(o, n->id);
				resp_int(o, n->delivery_time);
				resp_int(o, (int64_t)n->delivery_count);
			}
		}
		free(cs);
	}
	free(gs);
}

RESP_HANDLER(resp_c_xinfo_stream)
{
	int full = 0;
	int64_t count = 10;
	if (argc > 3) {
		if (!resp_arg_is(&argv[3], "full") || (argc != 4 && argc != 6) ||
		    (argc == 6 && !resp_arg_is(&argv[4], "count"))) {
			resp_errorf(cl->out,
				    "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
				    "Try XINFO HELP.",
				    (int)argv[1].len, argv[1].p);
			return 0;
		}
		full = 1;
		if (argc == 6) {
			if (resp_arg_ll_or_reply(cl, &argv[5], &count) < 0)
				return 0;
			if (count < 0)
				count = 10;
		}
	}
	stream_t *s;
	if (xs_lookup(cl, &argv[2], &s) < 0)
		return 0;
	if (!s) {
		resp_error(cl->out, "ERR no such key");
		return 0;
	}
	if (full) {
		info_full(cl, s, count);
		return 0;
	}
	buf_t *o = cl->out;
	resp_map(o, cl->proto, 10);
	put_header(cl, s);
	key_str(o, "groups");
	resp_int(o, (int64_t)map_len(&s->groups));
	sentry_t *f = stream_first(s), *l = stream_last(s);
	key_str(o, "first-entry");
	if (f)
		xs_reply_entry(cl, s, f);
	else
		resp_null(o, cl->proto);
	key_str(o, "last-entry");
	if (l)
		xs_reply_entry(cl, s, l);
	else
		resp_null(o, cl->proto);
	return 0;
}

RESP_HANDLER(resp_c_xinfo_groups)
{
	(void)argc;
	stream_t *s;
	if (xs_lookup(cl, &argv[2], &s) < 0)
		return 0;
	if (!s) {
		resp_error(cl->out, "ERR no such key");
		return 0;
	}
	buf_t *o = cl->out;
	size_t ng;
	sgroup_t **gs = stream_groups_sorted(s, &ng);
	resp_array(o, ng);
	for (size_t i = 0; i < ng; i++) {
		sgroup_t *g = gs[i];
		resp_map(o, cl->proto, 6);
		key_str(o, "name");
		resp_bulk(o, g->name, g->nlen);
		key_str(o, "consumers");
		resp_int(o, (int64_t)map_len(&g->consumers));
		key_str(o, "pending");
		resp_int(o, (int64_t)g->pel.n);
		key_str(o, "last-delivered-id");
		xs_reply_id(o, g->last_id);
		key_str(o, "entries-read");
		put_entries_read(cl, g);
		key_str(o, "lag");
		put_lag(cl, s, g);
	}
	free(gs);
	return 0;
}

RESP_HANDLER(resp_c_xinfo_consumers)
{
	(void)argc;
	stream_t *s;
	if (xs_lookup(cl, &argv[2], &s) < 0)
		return 0;
	if (!s) {
		resp_error(cl->out, "ERR no such key");
		return 0;
	}
	sgroup_t *g = stream_group_find(s, argv[3].p, argv[3].len);
	if (!g) {
		resp_errorf(cl->out, "NOGROUP No such consumer group '%.*s' for key name '%.*s'",
			    (int)argv[3].len, argv[3].p, (int)argv[2].len, argv[2].p);
		return 0;
	}
	buf_t *o = cl->out;
	size_t nc;
	int64_t now = time_wall_ms();
	sconsumer_t **cs = stream_consumers_sorted(g, &nc);
	resp_array(o, nc);
	for (size_t i = 0; i < nc; i++) {
		resp_map(o, cl->proto, 3);
		key_str(o, "name");
		resp_bulk(o, cs[i]->name, cs[i]->nlen);
		key_str(o, "pending");
		resp_int(o, (int64_t)cs[i]->pel.n);
		key_str(o, "idle");
		int64_t idle = now - cs[i]->seen_time;
		resp_int(o, idle < 0 ? 0 : idle);
	}
	free(cs);
	return 0;
}

static void help(resp_cli_t *cl, const char *const *lines)
{
	size_t n = 0;
	while (lines[n])
		n++;
	resp_array(cl->out, n);
	for (size_t i = 0; i < n; i++)
		resp_simple(cl->out, lines[i]);
}

RESP_HANDLER(resp_c_xgroup_help)
{
	(void)argc;
	(void)argv;
	static const char *const lines[] = {
		"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CREATE <key> <groupname> <id|$> [option]",
		"    Create a new consumer group. Options are:",
		"    * MKSTREAM",
		"      Create the empty stream if it does not exist.",
		"    * ENTRIESREAD entries_read",
		"      Set the group's entries_read counter (internal use).",
		"CREATECONSUMER <key> <groupname> <consumer>",
		"    Create a new consumer in the specified group.",
		"DELCONSUMER <key> <groupname> <consumer>",
		"    Remove the specified consumer.",
		"DESTROY <key> <groupname>",
		"    Remove the specified group.",
		"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
		"    Set the current group ID and entries_read counter.",
		"HELP",
		"    Prints this help.",
		NULL,
	};
	help(cl, lines);
	return 0;
}

RESP_HANDLER(resp_c_xinfo_help)
{
	(void)argc;
	(void)argv;
	static const char *const lines[] = {
		"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CONSUMERS <key> <groupname>",
		"    Show consumers of <groupname>.",
		"GROUPS <key>",
		"    Show the stream consumer groups.",
		"STREAM <key> [FULL [COUNT <count>]",
		"    Show information about the stream.",
		"HELP",
		"    Prints this help.",
		NULL,
	};
	help(cl, lines);
	return 0;
}

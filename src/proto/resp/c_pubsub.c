/*
 * c_pubsub.c — SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH,
 * PUBSUB CHANNELS / NUMSUB / NUMPAT. In memory only, as in Redis.
 *
 * The registry of who listens where is the keyspace's (broker/pubsub.h);
 * a connection is in it through the ps_sub_t in its resp_lxcli_t, and
 * keeps its own channel set and pattern list (subscription order) for the
 * confirmations, UNSUBSCRIBE without arguments and the RESP2
 * subscribed-mode rules (the intercept, c_multi.c). Messages are written
 * straight into each subscriber's output queue as arrays (RESP2) or push
 * frames (RESP3): they carry no stored data, so they never wait for a
 * sync. A subscriber that does not read is cut off once its unsent output
 * passes client-output-buffer-limit-pubsub, as Redis does, instead of
 * growing without bound. Loop thread only.
 */
#include "proto/resp/c_lists.h"

#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>

static size_t nsubs(resp_cli_t *cl)
{
	return cl->lx ? map_len(&cl->lx->chans) + cl->lx->npats : 0;
}

static void confirm(resp_cli_t *cl, const char *kind, const void *name, size_t len, int null_name)
{
	resp_push(cl->out, cl->proto, 3);
	resp_bulk_str(cl->out, kind);
	if (null_name)
		resp_null(cl->out, cl->proto);
	else
		resp_bulk(cl->out, name, len);
	resp_int(cl->out, (int64_t)nsubs(cl));
}

static ps_t *registry(resp_cli_t *cl)
{
	return ks_pubsub(cl->srv->ks);
}

static int unsub_channel(resp_cli_t *cl, const char *ch, size_t len)
{
	if (!cl->lx || !map_del(&cl->lx->chans, ch, len))
		return 0;
	ps_unsubscribe(registry(cl), &cl->lx->sub, ch, len);
	return 1;
}

/* Index of pattern p in the client's list, or -1. */
static ssize_t find_pattern(resp_lxcli_t *x, const char *p, size_t len)
{
	for (size_t i = 0; i < x->npats; i++)
		if (x->pats[i].len == len && memcmp(x->pats[i].p, p, len) == 0)
			return (ssize_t)i;
	return -1;
}

static void drop_pattern(resp_lxcli_t *x, size_t i)
{
	free(x->pats[i].p);
	memmove(&x->pats[i], &x->pats[i + 1], (x->npats - i - 1) * sizeof *x->pats);
	x->npats--;
}

void resp_lx_pubsub_reset(resp_cli_t *cl)
{
	resp_lxcli_t *x = cl->lx;
	if (!x)
		return;
	ps_drop(registry(cl), &x->sub);
	map_deinit(&x->chans);
	map_init(&x->chans);
	for (size_t i = 0; i < x->npats; i++)
		free(x->pats[i].p);
	x->npats = 0;
}

RESP_HANDLER(resp_c_subscribe)
{
	resp_lxcli_t *x = resp_lx_cli(cl);
	for (int i = 1; i < argc; i++) {
		if (!map_get(&x->chans, argv[i].p, argv[i].len)) {
			map_put(&x->chans, argv[i].p, argv[i].len, cl);
			ps_subscribe(registry(cl), &x->sub, argv[i].p, argv[i].len);
		}
		confirm(cl, "subscribe", argv[i].p, argv[i].len, 0);
	}
	return 0;
}

RESP_HANDLER(resp_c_psubscribe)
{
	resp_lxcli_t *x = resp_lx_cli(cl);
	for (int i = 1; i < argc; i++) {
		if (find_pattern(x, argv[i].p, argv[i].len) < 0) {
			if (x->npats == x->pats_cap) {
				x->pats_cap = x->pats_cap ? x->pats_cap * 2 : 4;
				x->pats = realloc(x->pats, x->pats_cap * sizeof *x->pats);
				if (!x->pats)
					abort();
			}
			char *p = malloc(argv[i].len + 1);
			if (!p)
				abort();
			memcpy(p, argv[i].p, argv[i].len);
			p[argv[i].len] = 0;
			x->pats[x->npats++] = (lx_pat_t){p, argv[i].len};
			ps_psubscribe(registry(cl), &x->sub, argv[i].p, argv[i].len);
		}
		confirm(cl, "psubscribe", argv[i].p, argv[i].len, 0);
	}
	return 0;
}

RESP_HANDLER(resp_c_unsubscribe)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			unsub_channel(cl, argv[i].p, argv[i].len);
			confirm(cl, "unsubscribe", argv[i].p, argv[i].len, 0);
		}
		return 0;
	}
	if (!cl->lx || !map_len(&cl->lx->chans)) {
		confirm(cl, "unsubscribe", NULL, 0, 1);
		return 0;
	}
	/* Copy the names first: unsubscribing edits the map. */
	size_t n = map_len(&cl->lx->chans), i = 0, it = 0;
	char **names = malloc(n * sizeof *names);
	size_t *lens = malloc(n * sizeof *lens);
	if (!names || !lens)
		abort();
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&cl->lx->chans, &it, &k, &kl, &v)) {
		names[i] = malloc(kl + 1);
		if (!names[i])
			abort();
		memcpy(names[i], k, kl + 1);
		lens[i++] = kl;
	}
	for (i = 0; i < n; i++) {
		unsub_channel(cl, names[i], lens[i]);
		confirm(cl, "unsubscribe", names[i], lens[i], 0);
		free(names[i]);
	}
	free(names);
	free(lens);
	return 0;
}

RESP_HANDLER(resp_c_punsubscribe)
{
	resp_lxcli_t *x = cl->lx;
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			ssize_t at = x ? find_pattern(x, argv[i].p, argv[i].len) : -1;
			if (at >= 0) {
				ps_punsubscribe(registry(cl), &x->sub, argv[i].p, argv[i].len);
				drop_pattern(x, (size_t)at);
			}
			confirm(cl, "punsubscribe", argv[i].p, argv[i].len, 0);
		}
		return 0;
	}
	if (!x || !x->npats) {
		confirm(cl, "punsubscribe", NULL, 0, 1);
		return 0;
	}
	/* In subscription order, each confirmed with the count left. */
	while (x->npats) {
		lx_pat_t p = x->pats[0];
		ps_punsubscribe(registry(cl), &x->sub, p.p, p.len);
		memmove(&x->pats[0], &x->pats[1], (x->npats - 1) * sizeof *x->pats);
		x->npats--;
		confirm(cl, "punsubscribe", p.p, p.len, 0);
		free(p.p);
	}
	return 0;
}

/* Cuts a subscriber whose unsent output passed the pub/sub limit. */
static void check_limit(resp_cli_t *to)
{
	int64_t limit = to->srv->cfg->client_output_buffer_limit_pubsub;
	if (limit > 0 && conn_out_pending(to->c) > (size_t)limit && !conn_is_closed(to->c)) {
		log_warn(to->srv->b->log,
		         "resp: closing subscriber %s: output buffer over "
		         "client-output-buffer-limit-pubsub (%lld bytes)",
		         to->c->peer, (long long)limit);
		conn_close(to->c, 0);
	}
}

void resp_lx_deliver(ps_sub_t *s, const char *pat, size_t plen, const char *ch, size_t chlen,
                     const char *msg, size_t mlen)
{
	resp_lxcli_t *x = (resp_lxcli_t *)((char *)s - offsetof(resp_lxcli_t, sub));
	resp_cli_t *to = x->cl;
	if (conn_is_closed(to->c))
		return;
	buf_t *o = conn_out(to->c);
	if (pat) {
		resp_push(o, to->proto, 4);
		resp_bulk(o, "pmessage", 8);
		resp_bulk(o, pat, plen);
	} else {
		resp_push(o, to->proto, 3);
		resp_bulk(o, "message", 7);
	}
	resp_bulk(o, ch, chlen);
	resp_bulk(o, msg, mlen);
	check_limit(to);
}

RESP_HANDLER(resp_c_publish)
{
	(void)argc;
	resp_int(cl->out, ps_publish(registry(cl), argv[1].p, argv[1].len, argv[2].p, argv[2].len));
	return 0;
}

typedef struct chan_acc {
	buf_t *out;
	size_t n;
} chan_acc_t;

static void put_channel(void *arg, const char *ch, size_t len)
{
	chan_acc_t *a = arg;
	resp_bulk(a->out, ch, len);
	a->n++;
}

RESP_HANDLER(resp_c_pubsub_channels)
{
	chan_acc_t a = {cl->out, 0};
	size_t mark = resp_defer(cl->out);
	ps_channels(registry(cl), argc > 2 ? argv[2].p : NULL, argc > 2 ? argv[2].len : 0,
	            put_channel, &a);
	resp_defer_set(cl->out, mark, '*', a.n);
	return 0;
}

RESP_HANDLER(resp_c_pubsub_numsub)
{
	resp_array(cl->out, (size_t)(argc - 2) * 2);
	for (int i = 2; i < argc; i++) {
		resp_bulk(cl->out, argv[i].p, argv[i].len);
		resp_int(cl->out, (int64_t)ps_numsub(registry(cl), argv[i].p, argv[i].len));
	}
	return 0;
}

RESP_HANDLER(resp_c_pubsub_numpat)
{
	(void)argc;
	(void)argv;
	resp_int(cl->out, (int64_t)ps_numpat(registry(cl)));
	return 0;
}

RESP_HANDLER(resp_c_pubsub_help)
{
	(void)argc;
	(void)argv;
	static const char *const lines[] = {
	    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "CHANNELS [<pattern>]",
	    "    Return the currently active channels matching a <pattern> (default: '*').",
	    "NUMPAT",
	    "    Return number of subscriptions to patterns.",
	    "NUMSUB [<channel> ...]",
	    "    Return the number of subscribers for the specified channels, excluding",
	    "    pattern subscriptions(default: no channels).",
	    "SHARDCHANNELS [<pattern>]",
	    ("    Return the currently active shard level channels matching a <pattern> (default: "
	     "'*')."),
	    "SHARDNUMSUB [<shardchannel> ...]",
	    "    Return the number of subscribers for the specified shard level channel(s)",
	    "HELP",
	    "    Prints this help.",
	};
	resp_array(cl->out, sizeof lines / sizeof lines[0]);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		resp_simple(cl->out, lines[i]);
	return 0;
}

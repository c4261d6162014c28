/*
 * c_pubsub.c — SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH,
 * PUBSUB CHANNELS / NUMSUB / NUMPAT. In memory only, as in Redis.
 *
 * srv->lx->channels maps a channel to its subscribers in subscription
 * order; patterns are one list of (pattern, client) in subscription order.
 * Messages are written straight into each subscriber's output queue as
 * arrays (RESP2) or push frames (RESP3). A subscriber that does not read
 * is cut off once its unsent output passes
 * client-output-buffer-limit-pubsub, as Redis does, instead of growing
 * without bound. The RESP2 subscribed-mode command rules live in the
 * intercept (c_multi.c). Loop thread only.
 */
#include "proto/resp/c_lists.h"

#include "proto/resp/glob.h"

#include <stdlib.h>

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

static int unsub_channel(resp_cli_t *cl, const char *ch, size_t len)
{
	if (!cl->lx || !map_del(&cl->lx->chans, ch, len))
		return 0;
	resp_lx_subs_del(&cl->srv->lx->channels, ch, len, cl);
	return 1;
}

static int unsub_pattern(resp_cli_t *cl, const char *pat, size_t len)
{
	resp_lx_t *lx = cl->srv->lx;
	for (size_t i = 0; i < lx->npats; i++) {
		lx_pat_t *p = &lx->pats[i];
		if (p->cl == cl && p->len == len && memcmp(p->pat, pat, len) == 0) {
			free(p->pat);
			memmove(p, p + 1, (lx->npats - i - 1) * sizeof *p);
			lx->npats--;
			cl->lx->npats--;
			return 1;
		}
	}
	return 0;
}

void resp_lx_pubsub_reset(resp_cli_t *cl)
{
	resp_lx_t *lx = cl->srv->lx;
	if (!cl->lx)
		return;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&cl->lx->chans, &it, &k, &kl, &v))
		resp_lx_subs_del(&lx->channels, k, kl, cl);
	map_deinit(&cl->lx->chans);
	map_init(&cl->lx->chans);
	size_t j = 0;
	for (size_t i = 0; i < lx->npats; i++) {
		if (lx->pats[i].cl == cl)
			free(lx->pats[i].pat);
		else
			lx->pats[j++] = lx->pats[i];
	}
	lx->npats = j;
	cl->lx->npats = 0;
}

RESP_HANDLER(resp_c_subscribe)
{
	resp_lxcli_t *x = resp_lx_cli(cl);
	for (int i = 1; i < argc; i++) {
		if (!map_get(&x->chans, argv[i].p, argv[i].len)) {
			map_put(&x->chans, argv[i].p, argv[i].len, cl);
			resp_lx_subs_add(&cl->srv->lx->channels, argv[i].p, argv[i].len, cl);
		}
		confirm(cl, "subscribe", argv[i].p, argv[i].len, 0);
	}
	return 0;
}

RESP_HANDLER(resp_c_psubscribe)
{
	resp_lxcli_t *x = resp_lx_cli(cl);
	resp_lx_t *lx = cl->srv->lx;
	for (int i = 1; i < argc; i++) {
		int have = 0;
		for (size_t j = 0; j < lx->npats && !have; j++)
			have = lx->pats[j].cl == cl && lx->pats[j].len == argv[i].len &&
			       memcmp(lx->pats[j].pat, argv[i].p, argv[i].len) == 0;
		if (!have) {
			if (lx->npats == lx->pats_cap) {
				lx->pats_cap = lx->pats_cap ? lx->pats_cap * 2 : 8;
				lx->pats = realloc(lx->pats, lx->pats_cap * sizeof *lx->pats);
				if (!lx->pats)
					abort();
			}
			char *p = malloc(argv[i].len + 1);
			if (!p)
				abort();
			memcpy(p, argv[i].p, argv[i].len);
			p[argv[i].len] = 0;
			lx->pats[lx->npats++] = (lx_pat_t){p, argv[i].len, cl};
			x->npats++;
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
	resp_lx_t *lx = cl->srv->lx;
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			if (cl->lx)
				unsub_pattern(cl, argv[i].p, argv[i].len);
			confirm(cl, "punsubscribe", argv[i].p, argv[i].len, 0);
		}
		return 0;
	}
	if (!cl->lx || !cl->lx->npats) {
		confirm(cl, "punsubscribe", NULL, 0, 1);
		return 0;
	}
	for (size_t i = 0; i < lx->npats;) {
		if (lx->pats[i].cl != cl) {
			i++;
			continue;
		}
		char *p = lx->pats[i].pat;
		size_t len = lx->pats[i].len;
		lx->pats[i].pat = NULL;
		memmove(&lx->pats[i], &lx->pats[i + 1], (lx->npats - i - 1) * sizeof *lx->pats);
		lx->npats--;
		cl->lx->npats--;
		confirm(cl, "punsubscribe", p, len, 0);
		free(p);
	}
	return 0;
}

/* Cuts a subscriber whose unsent output passed the pub/sub limit. */
static void check_limit(resp_cli_t *cl, resp_cli_t *to)
{
	int64_t limit = cl->srv->cfg->client_output_buffer_limit_pubsub;
	if (limit > 0 && conn_out_pending(to->c) > (size_t)limit && !conn_is_closed(to->c)) {
		log_warn(cl->srv->b->log,
		         "resp: closing subscriber %s: output buffer over "
		         "client-output-buffer-limit-pubsub (%lld bytes)",
		         to->c->peer, (long long)limit);
		conn_close(to->c, 0);
	}
}

RESP_HANDLER(resp_c_publish)
{
	(void)argc;
	resp_lx_t *lx = cl->srv->lx;
	const resp_arg_t *ch = &argv[1], *msg = &argv[2];
	int64_t n = 0;
	lx_subs_t *s = map_len(&lx->channels) ? map_get(&lx->channels, ch->p, ch->len) : NULL;
	for (size_t i = 0; s && i < s->n; i++) {
		resp_cli_t *to = s->cl[i];
		n++;
		if (conn_is_closed(to->c))
			continue;
		buf_t *o = conn_out(to->c);
		resp_push(o, to->proto, 3);
		resp_bulk(o, "message", 7);
		resp_bulk(o, ch->p, ch->len);
		resp_bulk(o, msg->p, msg->len);
		check_limit(cl, to);
	}
	for (size_t i = 0; i < lx->npats; i++) {
		lx_pat_t *p = &lx->pats[i];
		if (!resp_glob_match(p->pat, p->len, ch->p, ch->len, 0))
			continue;
		n++;
		if (conn_is_closed(p->cl->c))
			continue;
		buf_t *o = conn_out(p->cl->c);
		resp_push(o, p->cl->proto, 4);
		resp_bulk(o, "pmessage", 8);
		resp_bulk(o, p->pat, p->len);
		resp_bulk(o, ch->p, ch->len);
		resp_bulk(o, msg->p, msg->len);
		check_limit(cl, p->cl);
	}
	resp_int(cl->out, n);
	return 0;
}

RESP_HANDLER(resp_c_pubsub_channels)
{
	resp_lx_t *lx = cl->srv->lx;
	size_t mark = resp_defer(cl->out), n = 0, it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&lx->channels, &it, &k, &kl, &v)) {
		if (argc > 2 && !resp_glob_match(argv[2].p, argv[2].len, k, kl, 0))
			continue;
		resp_bulk(cl->out, k, kl);
		n++;
	}
	resp_defer_set(cl->out, mark, '*', n);
	return 0;
}

RESP_HANDLER(resp_c_pubsub_numsub)
{
	resp_lx_t *lx = cl->srv->lx;
	resp_array(cl->out, (size_t)(argc - 2) * 2);
	for (int i = 2; i < argc; i++) {
		lx_subs_t *s = map_get(&lx->channels, argv[i].p, argv[i].len);
		resp_bulk(cl->out, argv[i].p, argv[i].len);
		resp_int(cl->out, s ? (int64_t)s->n : 0);
	}
	return 0;
}

RESP_HANDLER(resp_c_pubsub_numpat)
{
	(void)argc;
	(void)argv;
	resp_lx_t *lx = cl->srv->lx;
	int64_t n = 0;
	for (size_t i = 0; i < lx->npats; i++) {
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = lx->pats[j].len == lx->pats[i].len &&
			       memcmp(lx->pats[j].pat, lx->pats[i].pat, lx->pats[i].len) == 0;
		n += !seen;
	}
	resp_int(cl->out, n);
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
	    "    Return the currently active shard level channels matching a <pattern> (default: "
	    "'*').",
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

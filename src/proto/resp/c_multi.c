/*
 * c_multi.c — MULTI / EXEC / DISCARD / WATCH / UNWATCH, the per-client
 * state they share with pub/sub, and the dispatch intercept.
 *
 * resp_lx_intercept() runs before dispatch for clients that have this
 * state (a client that never used MULTI, WATCH or SUBSCRIBE pays nothing).
 * It applies, in Redis 7.0's processCommand order: an invalid command
 * (unknown, bad arity, not authenticated) inside MULTI flags the
 * transaction so EXEC answers EXECABORT (dispatch writes the error); in
 * RESP2 subscribed mode only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT
 * and RESET run, PING answering ["pong", arg]; inside MULTI every other
 * command is copied into the queue and answered +QUEUED. EXEC runs the
 * queue through the normal dispatch with cl->out pointing at one array
 * reply; blocking commands see resp_lx_in_exec() and do not block.
 * Blocked clients are served after EXEC as a whole (front.c serves ready
 * keys after each request), so a value pushed and popped inside one
 * transaction never reaches them.
 *
 * Failures: while the keyspace recovers from a storage failure, a write
 * command sent inside MULTI is refused with MISCONF (and the transaction
 * flagged), and EXEC of a transaction holding writes answers EXECABORT,
 * as Redis's processCommand does. EXEC runs its commands one by one, as
 * Redis does: when one of them is refused (its journal space cannot be
 * had, say on a full disk), the ones before it stay applied and it
 * answers MISCONF in EXEC's array; each command is itself all or nothing.
 * EXEC's whole reply is one reply: if a write of the transaction then
 * fails to sync, the client gets one MISCONF error instead of the array.
 *
 * WATCH: srv->lx->watched maps a key to its watching clients; every change
 * the keyspace reports (any write, deletion or expiry of the key) marks
 * its watchers dirty, and so does a rebuild of the keyspace after a
 * storage failure; EXEC also treats a watched key whose time has passed
 * as touched. Loop thread only.
 */
#include "proto/resp/c_lists.h"

#include "core/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

resp_lxcli_t *resp_lx_cli(resp_cli_t *cl)
{
	if (!cl->lx) {
		cl->lx = calloc(1, sizeof *cl->lx);
		if (!cl->lx)
			abort();
		cl->lx->cl = cl;
		cl->lx->sub.deliver = resp_lx_deliver;
		map_init(&cl->lx->chans);
	}
	return cl->lx;
}

int resp_lx_in_exec(resp_cli_t *cl)
{
	return cl->lx && cl->lx->in_exec;
}

/* --- WATCH registry ------------------------------------------------------------ */

static void subs_add(lx_subs_t *s, resp_cli_t *cl)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->cl = realloc(s->cl, s->cap * sizeof *s->cl);
		if (!s->cl)
			abort();
	}
	s->cl[s->n++] = cl;
}

/* Removes cl keeping the order (pub/sub delivers in subscription order). */
static int subs_del(lx_subs_t *s, resp_cli_t *cl)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->cl[i] == cl) {
			memmove(s->cl + i, s->cl + i + 1, (s->n - i - 1) * sizeof *s->cl);
			s->n--;
			return 1;
		}
	}
	return 0;
}

void resp_lx_subs_add(map_t *m, const char *key, size_t klen, resp_cli_t *cl)
{
	lx_subs_t *s = map_get(m, key, klen);
	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s)
			abort();
		map_put(m, key, klen, s);
	}
	subs_add(s, cl);
}

void resp_lx_subs_del(map_t *m, const char *key, size_t klen, resp_cli_t *cl)
{
	lx_subs_t *s = map_get(m, key, klen);
	if (!s)
		return;
	subs_del(s, cl);
	if (!s->n) {
		map_del(m, key, klen);
		free(s->cl);
		free(s);
	}
}

void resp_lx_reloaded(resp_srv_t *srv)
{
	/* Anything may have changed: every watcher's transaction fails. */
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&srv->lx->watched, &it, &k, &kl, &v)) {
		lx_subs_t *s = v;
		for (size_t i = 0; i < s->n; i++)
			s->cl[i]->lx->watch_dirty = 1;
	}
}

void resp_lx_touch(resp_srv_t *srv, const char *key, size_t klen)
{
	resp_lx_t *lx = srv->lx;
	if (!lx || !map_len(&lx->watched))
		return;
	lx_subs_t *s = map_get(&lx->watched, key, klen);
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		s->cl[i]->lx->watch_dirty = 1;
}

static void unwatch_all(resp_cli_t *cl)
{
	resp_lxcli_t *x = cl->lx;
	for (size_t i = 0; i < x->nw; i++) {
		resp_lx_subs_del(&cl->srv->lx->watched, x->wkeys[i], x->wlens[i], cl);
		free(x->wkeys[i]);
	}
	free(x->wkeys);
	free(x->wlens);
	x->wkeys = NULL;
	x->wlens = NULL;
	x->nw = 0;
	x->watch_dirty = 0;
}

static void free_queue(resp_lxcli_t *x)
{
	for (size_t i = 0; i < x->nq; i++) {
		for (int j = 0; j < x->q[i].argc; j++)
			free((void *)x->q[i].argv[j].p);
		free(x->q[i].argv);
	}
	free(x->q);
	x->q = NULL;
	x->nq = x->qcap = 0;
	x->in_multi = 0;
	x->multi_err = 0;
}

static void discard(resp_cli_t *cl)
{
	free_queue(cl->lx);
	unwatch_all(cl);
}

void resp_lx_cli_close(resp_cli_t *cl)
{
	resp_lxcli_t *x = cl->lx;
	discard(cl);
	resp_lx_pubsub_reset(cl);
	map_deinit(&x->chans);
	free(x->pats);
	free(x);
	cl->lx = NULL;
}

/* --- intercept ------------------------------------------------------------------- */

static int is_one_of(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(name, *names) == 0)
			return 1;
	return 0;
}

static void queue(resp_lxcli_t *x, int argc, const resp_arg_t *argv)
{
	if (x->nq == x->qcap) {
		x->qcap = x->qcap ? x->qcap * 2 : 8;
		x->q = realloc(x->q, x->qcap * sizeof *x->q);
		if (!x->q)
			abort();
	}
	lx_queued_t *q = &x->q[x->nq++];
	q->argc = argc;
	q->argv = malloc((size_t)argc * sizeof *q->argv);
	if (!q->argv)
		abort();
	for (int i = 0; i < argc; i++) {
		char *p = malloc(argv[i].len + 1);
		if (!p)
			abort();
		memcpy(p, argv[i].p, argv[i].len);
		p[argv[i].len] = 0;
		q->argv[i].p = p;
		q->argv[i].len = argv[i].len;
	}
}

int resp_lx_intercept(resp_cli_t *cl, int argc, resp_arg_t *argv)
{
	static const char *const subscribed_ok[] = {
	    "ping",       "subscribe",    "ssubscribe", "unsubscribe", "sunsubscribe",
	    "psubscribe", "punsubscribe", "quit",       "reset",       NULL};
	static const char *const not_queued[] = {"exec", "discard", "multi", "watch",
	                                         "quit", "reset",   NULL};
	resp_lxcli_t *x = cl->lx;
	if (x->in_exec)
		return 0;
	int subscribed2 = cl->proto == 2 && (map_len(&x->chans) || x->npats);
	if (!x->in_multi && !subscribed2) {
		if (resp_arg_is(&argv[0], "reset"))
			discard(cl), resp_lx_pubsub_reset(cl);
		return 0;
	}
	const resp_cmd_t *cmd = resp_cmd_find(cl->srv, argv[0].p, argv[0].len);
	char fullname[160];
	if (!cmd)
		goto invalid;
	snprintf(fullname, sizeof fullname, "%s", cmd->name);
	if (cmd->subs && argc >= 2) {
		const resp_cmd_t *sub = resp_cmd_lookup(cmd->subs, argv[1].p, argv[1].len);
		if (!sub)
			goto invalid;
		snprintf(fullname, sizeof fullname, "%s|%s", cmd->name, sub->name);
		cmd = sub;
	} else if (cmd->subs && !cmd->fn) {
		goto invalid;
	}
	if (cmd->arity > 0 ? argc != cmd->arity : argc < -cmd->arity)
		goto invalid;
	if (!cl->authed && !(cmd->flags & RESP_CMD_NOAUTH))
		goto invalid;
	if (subscribed2 && !is_one_of(cmd->name, subscribed_ok)) {
		resp_errorf(
		    cl->out,
		    "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
		    "QUIT / RESET are allowed in this context",
		    fullname);
		if (x->in_multi)
			x->multi_err = 1;
		return 1;
	}
	if (subscribed2 && !x->in_multi && strcmp(cmd->name, "ping") == 0) {
		if (cl->srv->run && resp_script_refuse_busy(cl, cmd))
			return 1;
		if (argc > 2) {
			resp_err_arity(cl, "ping");
			return 1;
		}
		resp_array(cl->out, 2);
		resp_bulk_str(cl->out, "pong");
		if (argc == 2)
			resp_bulk(cl->out, argv[1].p, argv[1].len);
		else
			resp_bulk_str(cl->out, "");
		return 1;
	}
	if (strcmp(cmd->name, "reset") == 0) {
		discard(cl);
		resp_lx_pubsub_reset(cl);
		return 0;
	}
	/* A refused EXEC ends the transaction (7.0's rejectCommand). */
	const char *busy = cl->srv->run ? resp_script_busy_err(cl->srv, cmd) : NULL;
	if (busy && x->in_multi && strcmp(cmd->name, "exec") == 0) {
		resp_errorf(cl->out, "EXECABORT Transaction discarded because of: %s", busy);
		discard(cl);
		return 1;
	}
	if (!x->in_multi || is_one_of(cmd->name, not_queued))
		return 0;
	/* 7.0's processCommand refuses CMD_NO_MULTI commands when queued. */
	if (cmd->flags & RESP_CMD_NO_MULTI) {
		resp_error(cl->out, "ERR Command not allowed inside a transaction");
		x->multi_err = 1;
		return 1;
	}
	/* Redis 7.0 checks the ACL when a command is queued: a refusal
	 * answers NOPERM and aborts the transaction at EXEC. */
	const resp_cmd_t *top = resp_cmd_find(cl->srv, argv[0].p, argv[0].len);
	int perm = cl->user ? resp_acl_check(cl, top != cmd ? top : NULL, cmd, argc, argv, 1) : 0;
	if (perm) {
		x->multi_err = 1;
		if (perm < 0)
			cl->closing = 1;
		return 1;
	}
	int st = ks_state(cl->srv->ks);
	if (st && ((cmd->flags & RESP_CMD_WRITE) || cmd->fn == resp_c_ping)) {
		resp_misconf(cl->out, st);
		x->multi_err = 1;
		return 1;
	}
	if (cl->srv->run && resp_script_refuse_busy(cl, cmd)) {
		x->multi_err = 1;
		return 1;
	}
	queue(x, argc, argv);
	resp_simple(cl->out, "QUEUED");
	return 1;
invalid:
	if (x->in_multi)
		x->multi_err = 1;
	return 0;
}

/* --- commands -------------------------------------------------------------------- */

RESP_HANDLER(resp_c_multi)
{
	(void)argc;
	(void)argv;
	resp_lxcli_t *x = resp_lx_cli(cl);
	if (x->in_multi) {
		resp_error(cl->out, "ERR MULTI calls can not be nested");
		return 0;
	}
	x->in_multi = 1;
	resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_discard)
{
	(void)argc;
	(void)argv;
	if (!cl->lx || !cl->lx->in_multi) {
		resp_error(cl->out, "ERR DISCARD without MULTI");
		return 0;
	}
	discard(cl);
	resp_ok(cl->out);
	return 0;
}

static int watched_key_expired(resp_cli_t *cl)
{
	resp_lxcli_t *x = cl->lx;
	int64_t now = time_wall_ms();
	for (size_t i = 0; i < x->nw; i++) {
		int64_t at = ks_expire_at(cl->srv->ks, x->wkeys[i], x->wlens[i]);
		if (at && at <= now)
			return 1;
	}
	return 0;
}

/* Whether the queued transaction holds a write command. */
static int queue_writes(resp_cli_t *cl)
{
	resp_lxcli_t *x = cl->lx;
	for (size_t i = 0; i < x->nq; i++) {
		const resp_arg_t *a = x->q[i].argv;
		const resp_cmd_t *c = resp_cmd_find(cl->srv, a[0].p, a[0].len);
		if (c && c->subs && x->q[i].argc > 1)
			c = resp_cmd_lookup(c->subs, a[1].p, a[1].len);
		if (c && (c->flags & RESP_CMD_WRITE))
			return 1;
	}
	return 0;
}

RESP_HANDLER(resp_c_exec)
{
	(void)argc;
	(void)argv;
	resp_lxcli_t *x = cl->lx;
	if (!x || !x->in_multi) {
		resp_error(cl->out, "ERR EXEC without MULTI");
		return 0;
	}
	if (x->multi_err) {
		resp_error(cl->out, "EXECABORT Transaction discarded because of previous errors.");
		discard(cl);
		return 0;
	}
	if (x->watch_dirty || watched_key_expired(cl)) {
		resp_null_array(cl->out, cl->proto);
		discard(cl);
		return 0;
	}
	int st = ks_state(cl->srv->ks);
	if (st && queue_writes(cl)) {
		buf_t e = BUF_INIT;
		resp_misconf(&e, st);
		/* "-MISCONF ...\r\n" → "EXECABORT ... because of: MISCONF ..." */
		resp_errorf(cl->out, "EXECABORT Transaction discarded because of: %.*s",
		            (int)buf_len(&e) - 3, (const char *)buf_data(&e) + 1);
		buf_deinit(&e);
		discard(cl);
		return 0;
	}
	unwatch_all(cl);
	lx_queued_t *q = x->q;
	size_t nq = x->nq;
	x->q = NULL;
	x->nq = x->qcap = 0;
	x->in_multi = 0;
	x->in_exec = 1;
	resp_array(cl->out, nq);
	int rc = 0;
	for (size_t i = 0; i < nq; i++) {
		int r = resp_dispatch(cl, q[i].argc, q[i].argv);
		if (r < 0)
			rc = r;
	}
	x->in_exec = 0;
	x->q = q;
	x->nq = x->qcap = nq;
	free_queue(x);
	return rc;
}

RESP_HANDLER(resp_c_watch)
{
	resp_lxcli_t *x = resp_lx_cli(cl);
	if (x->in_multi) {
		resp_error(cl->out, "ERR WATCH inside MULTI is not allowed");
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		int dup = 0;
		for (size_t j = 0; j < x->nw && !dup; j++)
			dup = x->wlens[j] == argv[i].len &&
			      memcmp(x->wkeys[j], argv[i].p, argv[i].len) == 0;
		if (dup)
			continue;
		x->wkeys = realloc(x->wkeys, (x->nw + 1) * sizeof *x->wkeys);
		x->wlens = realloc(x->wlens, (x->nw + 1) * sizeof *x->wlens);
		char *k = malloc(argv[i].len + 1);
		if (!x->wkeys || !x->wlens || !k)
			abort();
		memcpy(k, argv[i].p, argv[i].len);
		k[argv[i].len] = 0;
		x->wkeys[x->nw] = k;
		x->wlens[x->nw++] = argv[i].len;
		resp_lx_subs_add(&cl->srv->lx->watched, argv[i].p, argv[i].len, cl);
	}
	resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_unwatch)
{
	(void)argc;
	(void)argv;
	if (cl->lx)
		unwatch_all(cl);
	resp_ok(cl->out);
	return 0;
}

/*
 * c_expire.c — key expiry commands (EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT,
 * TTL/PTTL, PERSIST), UNLINK and RENAME over the keyspace, the order in
 * which keys became ready for blocked clients, and the start/stop of the
 * front's per-server list/pub-sub/transaction state.
 *
 * Expiry itself (times, lazy and active deletion) is the keyspace's
 * (broker/keyspace.h); these handlers check options and encode replies.
 * Loop thread only.
 */
#include "proto/resp/c_lists.h"
#include "proto/resp/c_types.h"

#include "core/err.h"
#include "core/time.h"

#include <stdint.h>
#include <stdlib.h>

/* --- ready order (see resp_lx_t.ready) ----------------------------------------- */

void resp_lx_signal(resp_srv_t *srv, const char *key, size_t klen)
{
	resp_lx_t *lx = srv->lx;
	size_t before = srv->nready;
	resp_signal_key(srv, key, klen);
	if (srv->nready == before)
		return;    /* no waiters, or already queued this round */
	if (before == 0) { /* a new serving round: forget the last one */
		for (size_t i = 0; i < lx->nready; i++)
			free(lx->ready[i]);
		lx->nready = 0;
	}
	if (lx->nready == lx->ready_cap) {
		lx->ready_cap = lx->ready_cap ? lx->ready_cap * 2 : 8;
		lx->ready = realloc(lx->ready, lx->ready_cap * sizeof *lx->ready);
		lx->ready_len = realloc(lx->ready_len, lx->ready_cap * sizeof *lx->ready_len);
		if (!lx->ready || !lx->ready_len)
			abort();
	}
	char *k = malloc(klen + 1);
	if (!k)
		abort();
	memcpy(k, key, klen);
	k[klen] = 0;
	lx->ready[lx->nready] = k;
	lx->ready_len[lx->nready++] = klen;
}

size_t resp_lx_ready_rank(resp_srv_t *srv, const char *key, size_t klen)
{
	resp_lx_t *lx = srv->lx;
	for (size_t i = 0; i < lx->nready; i++)
		if (lx->ready_len[i] == klen && memcmp(lx->ready[i], key, klen) == 0)
			return i;
	return SIZE_MAX;
}

/* --- the front's state ---------------------------------------------------------------- */

void resp_lx_start(resp_srv_t *srv)
{
	resp_lx_t *lx = calloc(1, sizeof *lx);
	if (!lx)
		abort();
	map_init(&lx->watched);
	srv->lx = lx;
}

void resp_lx_stop(resp_srv_t *srv)
{
	resp_lx_t *lx = srv->lx;
	if (!lx)
		return;
	/* Clients are gone by now; only the containers remain. */
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&lx->watched, &it, &k, &kl, &v)) {
		free(((lx_subs_t *)v)->cl);
		free(v);
	}
	for (size_t i = 0; i < lx->nready; i++)
		free(lx->ready[i]);
	free(lx->ready);
	free(lx->ready_len);
	map_deinit(&lx->watched);
	free(lx);
	srv->lx = NULL;
}

/* --- commands ------------------------------------------------------------------ */

enum { X_NX = 1, X_XX = 2, X_GT = 4, X_LT = 8 };

static int expire_generic(resp_cli_t *cl, int argc, resp_arg_t *argv, int64_t base, int secs,
                          const char *cmd)
{
	int flags = 0;
	for (int j = 3; j < argc; j++) {
		if (resp_arg_is(&argv[j], "nx"))
			flags |= X_NX;
		else if (resp_arg_is(&argv[j], "xx"))
			flags |= X_XX;
		else if (resp_arg_is(&argv[j], "gt"))
			flags |= X_GT;
		else if (resp_arg_is(&argv[j], "lt"))
			flags |= X_LT;
		else {
			resp_errorf(cl->out, "ERR Unsupported option %.*s", (int)argv[j].len,
			            argv[j].p);
			return 0;
		}
	}
	if ((flags & X_NX) && (flags & (X_XX | X_GT | X_LT))) {
		resp_error(cl->out,
		           "ERR NX and XX, GT or LT options at the same time are not compatible");
		return 0;
	}
	if ((flags & X_GT) && (flags & X_LT)) {
		resp_error(cl->out, "ERR GT and LT options at the same time are not compatible");
		return 0;
	}
	int64_t when;
	if (resp_arg_ll_or_reply(cl, &argv[2], &when) < 0)
		return 0;
	if (secs) {
		if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) {
			resp_errorf(cl->out, "ERR invalid expire time in '%s' command", cmd);
			return 0;
		}
		when *= 1000;
	}
	if (when > INT64_MAX - base) {
		resp_errorf(cl->out, "ERR invalid expire time in '%s' command", cmd);
		return 0;
	}
	when += base;
	keyspace_t *ks = cl->srv->ks;
	const resp_arg_t *k = &argv[1];
	if (!ks_find(ks, k->p, k->len)) {
		resp_int(cl->out, 0);
		return 0;
	}
	int64_t cur = ks_expire_at(ks, k->p, k->len);
	if (((flags & X_NX) && cur) || ((flags & X_XX) && !cur) ||
	    ((flags & X_GT) && (!cur || when <= cur)) || ((flags & X_LT) && cur && when >= cur)) {
		resp_int(cl->out, 0);
		return 0;
	}
	/* A time not in the future deletes the key (Redis does the same). */
	int rc = ks_expire(ks, k->p, k->len, when);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, rc);
	return 0;
}

RESP_HANDLER(resp_c_expire)
{
	return expire_generic(cl, argc, argv, time_wall_ms(), 1, "expire");
}
RESP_HANDLER(resp_c_pexpire)
{
	return expire_generic(cl, argc, argv, time_wall_ms(), 0, "pexpire");
}
RESP_HANDLER(resp_c_expireat)
{
	return expire_generic(cl, argc, argv, 0, 1, "expireat");
}
RESP_HANDLER(resp_c_pexpireat)
{
	return expire_generic(cl, argc, argv, 0, 0, "pexpireat");
}

static int ttl_generic(resp_cli_t *cl, resp_arg_t *argv, int ms)
{
	keyspace_t *ks = cl->srv->ks;
	if (!ks_find(ks, argv[1].p, argv[1].len)) {
		resp_int(cl->out, -2);
		return 0;
	}
	int64_t at = ks_expire_at(ks, argv[1].p, argv[1].len);
	if (!at) {
		resp_int(cl->out, -1);
		return 0;
	}
	int64_t ttl = at - time_wall_ms();
	if (ttl < 0)
		ttl = 0;
	resp_int(cl->out, ms ? ttl : (ttl + 500) / 1000);
	return 0;
}

RESP_HANDLER(resp_c_ttl)
{
	(void)argc;
	return ttl_generic(cl, argv, 0);
}

RESP_HANDLER(resp_c_pttl)
{
	(void)argc;
	return ttl_generic(cl, argv, 1);
}

RESP_HANDLER(resp_c_persist)
{
	(void)argc;
	int rc = ks_persist(cl->srv->ks, argv[1].p, argv[1].len);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, rc);
	return 0;
}

RESP_HANDLER(resp_c_unlink)
{
	return resp_c_del(cl, argc, argv);
}

RESP_HANDLER(resp_c_rename)
{
	(void)argc;
	keyspace_t *ks = cl->srv->ks;
	const resp_arg_t *s = &argv[1], *d = &argv[2];
	ks_obj_t *o = ks_find(ks, s->p, s->len);
	if (!o) {
		resp_error(cl->out, "ERR no such key");
		return 0;
	}
	if (s->len == d->len && memcmp(s->p, d->p, s->len) == 0) {
		resp_ok(cl->out);
		return 0;
	}
	int rc = ks_rename(ks, s->p, s->len, d->p, d->len);
	if (rc == SL_EINVAL) /* a stream */
		rc = resp_rename_stream(ks, s, d);
	if (rc == SL_ENOENT)
		resp_error(cl->out, "ERR no such key");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_ok(cl->out);
	return 0;
}

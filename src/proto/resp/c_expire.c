/*
 * c_expire.c — key expiry and the glue between the keyspace and the keys
 * journal: lazy expiry (every lookup), active expiry (a timer sampling keys
 * with a time), EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT/TTL/PTTL/PERSIST,
 * UNLINK, RENAME, and the start/stop of the per-server state with the
 * journal's replay sink.
 *
 * Expiry times are absolute wall-clock milliseconds in srv->lx->expires
 * (key → time, stored in the pointer), for keys of any type. A key whose
 * time has passed is deleted by the first lookup that sees it, or by the
 * active cycle: every EXPIRE_TICK_MS it checks up to EXPIRE_SAMPLE keys
 * from a rolling cursor and repeats (bounded) while more than a quarter of
 * them had expired, so expired keys do not pile up even if never read.
 * Loop thread only.
 */
#include "proto/resp/c_lists.h"

#include "core/err.h"
#include "core/time.h"

#include <stdint.h>
#include <stdlib.h>

#define EXPIRE_TICK_MS 100
#define EXPIRE_SAMPLE 64
#define EXPIRE_ROUNDS 16

static int64_t get_exp(const resp_lx_t *lx, const char *key, size_t klen)
{
	if (!map_len(&lx->expires))
		return 0;
	return (int64_t)(uintptr_t)map_get(&lx->expires, key, klen);
}

int64_t resp_lx_expire_get(resp_srv_t *srv, const char *key, size_t klen)
{
	return get_exp(srv->lx, key, klen);
}

void resp_lx_expire_set(resp_srv_t *srv, const char *key, size_t klen, int64_t at)
{
	if (at > 0)
		map_put(&srv->lx->expires, key, klen, (void *)(uintptr_t)at);
	else if (map_len(&srv->lx->expires))
		map_del(&srv->lx->expires, key, klen);
}

void resp_lx_expire_if_needed(resp_srv_t *srv, const char *key, size_t klen)
{
	int64_t at = get_exp(srv->lx, key, klen);
	if (at && at <= time_wall_ms()) {
		srv->lx->expired_keys++;
		resp_db_delete(srv, key, klen);
	}
}

int resp_lx_expired(resp_srv_t *srv, const char *key, size_t klen)
{
	int64_t at = srv->lx ? get_exp(srv->lx, key, klen) : 0;
	return at && at <= time_wall_ms();
}

size_t resp_lx_expires_count(resp_srv_t *srv) { return srv->lx ? map_len(&srv->lx->expires) : 0; }

uint64_t resp_lx_obj_cost(const resp_obj_t *o)
{
	if (o->type == RESP_T_LIST) {
		const qlist_t *l = o->ptr;
		return l->bytes + 4 * qlist_len(l);
	}
	if (o->type == RESP_T_STRING)
		return kvs_cost(((const qlv_t *)o->ptr)->len);
	return 0;
}

void resp_lx_obj_free(resp_obj_t *o)
{
	if (o->type == RESP_T_LIST)
		qlist_free(o->ptr);
	else
		free(o->ptr);
}

void resp_lx_on_delete(resp_srv_t *srv, const char *key, size_t klen, const resp_obj_t *o)
{
	resp_lx_t *lx = srv->lx;
	int64_t at = get_exp(lx, key, klen);
	if (!lx->quiet_delete) {
		if (o->type == RESP_T_LIST || o->type == RESP_T_STRING)
			kvs_log_del(lx->store, key, klen, resp_lx_obj_cost(o) + klen);
		else if (at)
			kvs_log_expire(lx->store, key, klen, 0);
	}
	if (at)
		map_del(&lx->expires, key, klen);
	resp_lx_touch(srv, key, klen);
}

void resp_lx_drop(resp_srv_t *srv, const char *key, size_t klen)
{
	srv->lx->quiet_delete = 1;
	resp_db_delete(srv, key, klen);
	srv->lx->quiet_delete = 0;
}

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

/* --- active expiry ------------------------------------------------------------- */

static void expire_tick(loop_t *loop, loop_timer_t *t)
{
	resp_srv_t *srv = t->arg;
	resp_lx_t *lx = srv->lx;
	int64_t now = time_wall_ms();
	char *keys[EXPIRE_SAMPLE];
	size_t lens[EXPIRE_SAMPLE];
	for (int round = 0; round < EXPIRE_ROUNDS && map_len(&lx->expires); round++) {
		int n = 0, seen = 0;
		const char *k;
		size_t kl;
		void *v;
		while (seen < EXPIRE_SAMPLE) {
			if (!map_next(&lx->expires, &lx->expire_cursor, &k, &kl, &v)) {
				lx->expire_cursor = 0;
				break;
			}
			seen++;
			if ((int64_t)(uintptr_t)v <= now) {
				keys[n] = malloc(kl + 1);
				if (!keys[n])
					abort();
				memcpy(keys[n], k, kl + 1);
				lens[n++] = kl;
			}
		}
		for (int i = 0; i < n; i++) {
			/* The lookup's lazy expiry deletes the key; a time left
			 * without a key (replay order) is dropped here. */
			if (resp_db_find(srv, keys[i], lens[i]) == NULL)
				map_del(&lx->expires, keys[i], lens[i]);
			free(keys[i]);
		}
		if (n * 4 <= seen)
			break;
	}
	if (lx->store)
		kvs_maintain(lx->store);
	loop_timer_start(loop, t, EXPIRE_TICK_MS);
}

/* --- the journal's sink ----------------------------------------------------------- */

static qlist_t *sink_list(void *arg, const char *key, size_t klen, int create)
{
	resp_srv_t *srv = arg;
	resp_obj_t *o = map_get(&srv->keys, key, klen);
	if (o)
		return o->type == RESP_T_LIST ? o->ptr : NULL;
	if (!create)
		return NULL;
	qlist_t *l = qlist_new();
	resp_db_add(srv, key, klen, RESP_T_LIST, l);
	return l;
}

static void sink_del(void *arg, const char *key, size_t klen)
{
	resp_srv_t *srv = arg;
	resp_obj_t *o = map_get(&srv->keys, key, klen);
	if (!o || o->type == RESP_T_STREAM)
		return;
	resp_lx_drop(srv, key, klen);
}

static void sink_set(void *arg, const char *key, size_t klen, qlv_t *v, int64_t at)
{
	resp_srv_t *srv = arg;
	resp_obj_t *o = map_get(&srv->keys, key, klen);
	if (o && o->type == RESP_T_STREAM) {
		free(v);
		return;
	}
	resp_db_add(srv, key, klen, RESP_T_STRING, v);
	resp_lx_expire_set(srv, key, klen, at);
}

static void sink_expire(void *arg, const char *key, size_t klen, int64_t at)
{
	resp_lx_expire_set(arg, key, klen, at);
}

static void sink_rename(void *arg, const char *src, size_t slen, const char *dst, size_t dlen)
{
	resp_srv_t *srv = arg;
	resp_obj_t *s = map_get(&srv->keys, src, slen), *d = map_get(&srv->keys, dst, dlen);
	if (!s || s->type == RESP_T_STREAM || (d && d->type == RESP_T_STREAM))
		return;
	int64_t at = get_exp(srv->lx, src, slen);
	resp_obj_t *o = map_del(&srv->keys, src, slen);
	resp_lx_expire_set(srv, src, slen, 0);
	if (d)
		resp_lx_drop(srv, dst, dlen);
	map_put(&srv->keys, dst, dlen, o);
	resp_lx_expire_set(srv, dst, dlen, at);
}

static void sink_each(void *arg, kvs_each_fn fn, void *farg)
{
	resp_srv_t *srv = arg;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&srv->keys, &it, &k, &kl, &v)) {
		resp_obj_t *o = v;
		int64_t at = get_exp(srv->lx, k, kl);
		if (o->type == RESP_T_LIST)
			fn(farg, k, kl, KVS_LIST, o->ptr, at);
		else if (o->type == RESP_T_STRING)
			fn(farg, k, kl, KVS_STRING, o->ptr, at);
		else if (at)
			fn(farg, k, kl, KVS_OTHER, NULL, at);
	}
}

int resp_lx_start(resp_srv_t *srv)
{
	resp_lx_t *lx = calloc(1, sizeof *lx);
	if (!lx)
		abort();
	map_init(&lx->expires);
	map_init(&lx->channels);
	map_init(&lx->watched);
	srv->lx = lx;
	kvs_sink_t sink = {sink_list, sink_set, sink_del, sink_expire, sink_rename, sink_each, srv};
	int rc = kvs_open(&lx->store, srv->b, &sink);
	if (rc < 0) {
		srv->lx = NULL;
		map_deinit(&lx->expires);
		map_deinit(&lx->channels);
		map_deinit(&lx->watched);
		free(lx);
		return rc;
	}
	loop_timer_init(&lx->expire_timer, expire_tick, srv);
	loop_timer_start(srv->b->loop, &lx->expire_timer, EXPIRE_TICK_MS);
	return 0;
}

void resp_lx_stop(resp_srv_t *srv)
{
	resp_lx_t *lx = srv->lx;
	if (!lx)
		return;
	loop_timer_stop(srv->b->loop, &lx->expire_timer);
	kvs_close(lx->store);
	lx->store = NULL;
	/* Clients are gone by now; only the containers remain. */
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&lx->channels, &it, &k, &kl, &v)) {
		free(((lx_subs_t *)v)->cl);
		free(v);
	}
	it = 0;
	while (map_next(&lx->watched, &it, &k, &kl, &v)) {
		free(((lx_subs_t *)v)->cl);
		free(v);
	}
	for (size_t i = 0; i < lx->npats; i++)
		free(lx->pats[i].pat);
	free(lx->pats);
	for (size_t i = 0; i < lx->nready; i++)
		free(lx->ready[i]);
	free(lx->ready);
	free(lx->ready_len);
	map_deinit(&lx->expires);
	map_deinit(&lx->channels);
	map_deinit(&lx->watched);
	free(lx);
	srv->lx = NULL;
}

int resp_lx_sync_required(resp_srv_t *srv)
{
	return srv->lx && kvs_sync_required(srv->lx->store);
}

void resp_lx_when_durable(resp_srv_t *srv, void (*fn)(void *arg, int status), void *arg)
{
	if (srv->lx && srv->lx->store)
		kvs_when_durable(srv->lx->store, fn, arg);
	else
		fn(arg, 0);
}

void resp_lx_after_write(resp_cli_t *cl, int argc, resp_arg_t *argv)
{
	resp_srv_t *srv = cl->srv;
	if (!srv->lx)
		return;
	if (map_len(&srv->lx->watched) && argc > 0) {
		const resp_cmd_t *c = resp_cmd_find(srv, argv[0].p, argv[0].len);
		if (c && c->subs && argc > 1)
			c = resp_cmd_lookup(c->subs, argv[1].p, argv[1].len);
		if (c && c->first_key > 0 && c->key_step > 0) {
			int last = c->last_key < 0 ? argc + c->last_key : c->last_key;
			for (int i = c->first_key; i <= last && i < argc; i += c->key_step)
				resp_lx_touch(srv, argv[i].p, argv[i].len);
		}
	}
	kvs_maintain(srv->lx->store);
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
	resp_srv_t *srv = cl->srv;
	const resp_arg_t *k = &argv[1];
	if (!resp_db_find(srv, k->p, k->len)) {
		resp_int(cl->out, 0);
		return 0;
	}
	int64_t cur = get_exp(srv->lx, k->p, k->len);
	if (((flags & X_NX) && cur) || ((flags & X_XX) && !cur) ||
	    ((flags & X_GT) && (!cur || when <= cur)) || ((flags & X_LT) && cur && when >= cur)) {
		resp_int(cl->out, 0);
		return 0;
	}
	cl->dirty = 1;
	if (when <= time_wall_ms()) {
		resp_db_delete(srv, k->p, k->len);
	} else {
		resp_lx_expire_set(srv, k->p, k->len, when);
		kvs_log_expire(srv->lx->store, k->p, k->len, when);
		resp_lx_touch(srv, k->p, k->len);
	}
	resp_int(cl->out, 1);
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
	if (!resp_db_find(cl->srv, argv[1].p, argv[1].len)) {
		resp_int(cl->out, -2);
		return 0;
	}
	int64_t at = get_exp(cl->srv->lx, argv[1].p, argv[1].len);
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
	resp_srv_t *srv = cl->srv;
	if (!resp_db_find(srv, argv[1].p, argv[1].len) ||
	    !get_exp(srv->lx, argv[1].p, argv[1].len)) {
		resp_int(cl->out, 0);
		return 0;
	}
	resp_lx_expire_set(srv, argv[1].p, argv[1].len, 0);
	kvs_log_expire(srv->lx->store, argv[1].p, argv[1].len, 0);
	resp_lx_touch(srv, argv[1].p, argv[1].len);
	cl->dirty = 1;
	resp_int(cl->out, 1);
	return 0;
}

RESP_HANDLER(resp_c_unlink)
{
	return resp_c_del(cl, argc, argv);
}

RESP_HANDLER(resp_c_rename)
{
	(void)argc;
	resp_srv_t *srv = cl->srv;
	const resp_arg_t *s = &argv[1], *d = &argv[2];
	resp_obj_t *o = resp_db_find(srv, s->p, s->len);
	if (!o) {
		resp_error(cl->out, "ERR no such key");
		return 0;
	}
	if (s->len == d->len && memcmp(s->p, d->p, s->len) == 0) {
		resp_ok(cl->out);
		return 0;
	}
	if (o->type == RESP_T_STREAM) {
		resp_error(cl->out, "ERR sluice: RENAME of a stream key is not supported");
		return 0;
	}
	int64_t at = get_exp(srv->lx, s->p, s->len);
	uint64_t freed = 0;
	resp_obj_t *dobj = resp_db_find(srv, d->p, d->len);
	if (dobj) {
		/* The overwritten destination: a stream is deleted through its own
		 * journal; a list or string is implied by the RENAME record. */
		if (dobj->type == RESP_T_STREAM) {
			resp_db_delete(srv, d->p, d->len);
		} else {
			freed = resp_lx_obj_cost(dobj) + d->len;
			resp_lx_drop(srv, d->p, d->len);
		}
	}
	o = map_del(&srv->keys, s->p, s->len);
	resp_lx_expire_set(srv, s->p, s->len, 0);
	map_put(&srv->keys, d->p, d->len, o);
	resp_lx_expire_set(srv, d->p, d->len, at);
	kvs_log_rename(srv->lx->store, s->p, s->len, d->p, d->len, freed);
	resp_lx_touch(srv, s->p, s->len);
	resp_lx_touch(srv, d->p, d->len);
	resp_lx_signal(srv, d->p, d->len);
	cl->dirty = 1;
	resp_ok(cl->out);
	return 0;
}

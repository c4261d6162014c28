/*
 * c_string.c — string keys: SET (NX XX GET EX PX EXAT PXAT KEEPTTL), GET,
 * GETDEL, GETEX, SETNX, SETEX, PSETEX, MGET, MSET, INCR/DECR(BY), APPEND,
 * STRLEN. Replies and error texts follow Redis 7.0 (t_string.c).
 *
 * A string value is an immutable qlv_t; writes replace it. Expiry times
 * are absolute wall-clock milliseconds kept by c_expire.c; each write logs
 * the resulting value with its expiry, so replay needs no clock.
 * Loop thread only.
 */
#include "proto/resp/c_lists.h"

#include "core/time.h"

#include <stdio.h>
#include <stdlib.h>

enum {
	F_NX = 1 << 0,
	F_XX = 1 << 1,
	F_GET = 1 << 2,
	F_KEEPTTL = 1 << 3,
	F_PERSIST = 1 << 4,
	F_EX = 1 << 5,
	F_PX = 1 << 6,
	F_EXAT = 1 << 7,
	F_PXAT = 1 << 8,
};
#define F_ANYEXP (F_EX | F_PX | F_EXAT | F_PXAT)

/* The string at key: returns -1 after a WRONGTYPE reply. */
static int get_str(resp_cli_t *cl, const resp_arg_t *key, qlv_t **out)
{
	resp_obj_t *o = resp_db_find(cl->srv, key->p, key->len);
	*out = NULL;
	if (!o)
		return 0;
	if (o->type != RESP_T_STRING) {
		resp_err_wrongtype(cl);
		return -1;
	}
	*out = o->ptr;
	return 0;
}

/* Stores v (owned) at key with expiry `at` (0: none; -1: keep the current
 * one), replacing any value of any type, and journals it. */
static void store(resp_cli_t *cl, const resp_arg_t *key, qlv_t *v, int64_t at)
{
	resp_srv_t *srv = cl->srv;
	resp_obj_t *o = resp_db_find(srv, key->p, key->len);
	uint64_t freed = 0;
	if (at < 0)
		at = resp_lx_expire_get(srv, key->p, key->len);
	if (o && o->type == RESP_T_STRING) {
		freed = resp_lx_obj_cost(o) + key->len;
		free(o->ptr);
		o->ptr = v;
	} else {
		if (o) /* another type: delete it (journaled, waiters woken) */
			resp_db_delete(srv, key->p, key->len);
		resp_db_add(srv, key->p, key->len, RESP_T_STRING, v);
	}
	resp_lx_expire_set(srv, key->p, key->len, at);
	kvs_log_set(srv->lx->store, key->p, key->len, v->p, v->len, at, freed);
	cl->dirty = 1;
	resp_lx_touch(srv, key->p, key->len);
}

/* SET/GETEX option parsing (Redis's parseExtendedStringArgumentsOrReply). */
static int parse_opts(resp_cli_t *cl, int argc, resp_arg_t *argv, int first, int is_set, int *flags,
                      const resp_arg_t **expire)
{
	for (int j = first; j < argc; j++) {
		const resp_arg_t *a = &argv[j];
		int more = j + 1 < argc;
		int f = *flags;
		if (is_set && resp_arg_is(a, "nx") && !(f & F_XX))
			*flags |= F_NX;
		else if (is_set && resp_arg_is(a, "xx") && !(f & F_NX))
			*flags |= F_XX;
		else if (is_set && resp_arg_is(a, "get"))
			*flags |= F_GET;
		else if (is_set && resp_arg_is(a, "keepttl") && !(f & (F_PERSIST | F_ANYEXP)))
			*flags |= F_KEEPTTL;
		else if (!is_set && resp_arg_is(a, "persist") && !(f & (F_ANYEXP | F_KEEPTTL)))
			*flags |= F_PERSIST;
		else if (resp_arg_is(a, "ex") &&
		         !(f & (F_KEEPTTL | F_PERSIST | F_EXAT | F_PX | F_PXAT)) && more) {
			*flags |= F_EX;
			*expire = &argv[++j];
		} else if (resp_arg_is(a, "px") &&
		           !(f & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PXAT)) && more) {
			*flags |= F_PX;
			*expire = &argv[++j];
		} else if (resp_arg_is(a, "exat") &&
		           !(f & (F_KEEPTTL | F_PERSIST | F_EX | F_PX | F_PXAT)) && more) {
			*flags |= F_EXAT;
			*expire = &argv[++j];
		} else if (resp_arg_is(a, "pxat") &&
		           !(f & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PX)) && more) {
			*flags |= F_PXAT;
			*expire = &argv[++j];
		} else {
			resp_err_syntax(cl);
			return -1;
		}
	}
	return 0;
}

static void err_expire(resp_cli_t *cl, const char *cmd)
{
	resp_errorf(cl->out, "ERR invalid expire time in '%s' command", cmd);
}

/* The absolute expiry in ms for an EX/PX/EXAT/PXAT value (Redis's
 * getExpireMillisecondsOrReply); -1 after an error reply. */
static int64_t expire_ms(resp_cli_t *cl, const resp_arg_t *a, int flags, const char *cmd)
{
	int64_t ms;
	if (resp_arg_ll_or_reply(cl, a, &ms) < 0)
		return -1;
	int secs = flags & (F_EX | F_EXAT);
	if (ms <= 0 || (secs && ms > INT64_MAX / 1000)) {
		err_expire(cl, cmd);
		return -1;
	}
	if (secs)
		ms *= 1000;
	if (flags & (F_EX | F_PX)) {
		int64_t now = time_wall_ms();
		if (ms > INT64_MAX - now) {
			err_expire(cl, cmd);
			return -1;
		}
		ms += now;
	}
	return ms;
}

static void reply_str(resp_cli_t *cl, const qlv_t *v)
{
	if (v)
		resp_bulk(cl->out, v->p, v->len);
	else
		resp_null(cl->out, cl->proto);
}

/* The shared core of SET, SETNX, SETEX, PSETEX. */
static int set_generic(resp_cli_t *cl, const resp_arg_t *key, const resp_arg_t *val, int flags,
                       const resp_arg_t *expire, const char *cmd, int nx_int_reply)
{
	int64_t at = 0;
	if (expire && (at = expire_ms(cl, expire, flags, cmd)) < 0)
		return 0;
	if (flags & F_GET) {
		qlv_t *old;
		if (get_str(cl, key, &old) < 0)
			return 0;
		reply_str(cl, old);
	}
	int found = resp_db_find(cl->srv, key->p, key->len) != NULL;
	if (((flags & F_NX) && found) || ((flags & F_XX) && !found)) {
		if (nx_int_reply)
			resp_int(cl->out, 0);
		else if (!(flags & F_GET))
			resp_null(cl->out, cl->proto);
		return 0;
	}
	store(cl, key, qlv_new(val->p, val->len), (flags & F_KEEPTTL) ? -1 : at);
	if (nx_int_reply)
		resp_int(cl->out, 1);
	else if (!(flags & F_GET))
		resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_set)
{
	int flags = 0;
	const resp_arg_t *expire = NULL;
	if (parse_opts(cl, argc, argv, 3, 1, &flags, &expire) < 0)
		return 0;
	return set_generic(cl, &argv[1], &argv[2], flags, expire, "set", 0);
}

RESP_HANDLER(resp_c_setnx)
{
	(void)argc;
	return set_generic(cl, &argv[1], &argv[2], F_NX, NULL, "setnx", 1);
}

RESP_HANDLER(resp_c_setex)
{
	(void)argc;
	return set_generic(cl, &argv[1], &argv[3], F_EX, &argv[2], "setex", 0);
}

RESP_HANDLER(resp_c_psetex)
{
	(void)argc;
	return set_generic(cl, &argv[1], &argv[3], F_PX, &argv[2], "psetex", 0);
}

RESP_HANDLER(resp_c_get)
{
	(void)argc;
	qlv_t *v;
	if (get_str(cl, &argv[1], &v) < 0)
		return 0;
	reply_str(cl, v);
	return 0;
}

RESP_HANDLER(resp_c_getdel)
{
	(void)argc;
	qlv_t *v;
	if (get_str(cl, &argv[1], &v) < 0)
		return 0;
	reply_str(cl, v);
	if (v) {
		resp_db_delete(cl->srv, argv[1].p, argv[1].len);
		cl->dirty = 1;
	}
	return 0;
}

RESP_HANDLER(resp_c_getex)
{
	int flags = 0;
	const resp_arg_t *expire = NULL;
	if (parse_opts(cl, argc, argv, 2, 0, &flags, &expire) < 0)
		return 0;
	int64_t at = 0;
	if (expire && (at = expire_ms(cl, expire, flags, "getex")) < 0)
		return 0;
	qlv_t *v;
	if (get_str(cl, &argv[1], &v) < 0)
		return 0;
	reply_str(cl, v);
	if (!v)
		return 0;
	resp_srv_t *srv = cl->srv;
	if (expire && (flags & (F_EXAT | F_PXAT)) && at <= time_wall_ms()) {
		resp_db_delete(srv, argv[1].p, argv[1].len);
		cl->dirty = 1;
	} else if (expire) {
		resp_lx_expire_set(srv, argv[1].p, argv[1].len, at);
		kvs_log_expire(srv->lx->store, argv[1].p, argv[1].len, at);
		cl->dirty = 1;
		resp_lx_touch(srv, argv[1].p, argv[1].len);
	} else if ((flags & F_PERSIST) && resp_lx_expire_get(srv, argv[1].p, argv[1].len)) {
		resp_lx_expire_set(srv, argv[1].p, argv[1].len, 0);
		kvs_log_expire(srv->lx->store, argv[1].p, argv[1].len, 0);
		cl->dirty = 1;
		resp_lx_touch(srv, argv[1].p, argv[1].len);
	}
	return 0;
}

RESP_HANDLER(resp_c_mget)
{
	resp_array(cl->out, (size_t)(argc - 1));
	for (int i = 1; i < argc; i++) {
		resp_obj_t *o = resp_db_find(cl->srv, argv[i].p, argv[i].len);
		reply_str(cl, o && o->type == RESP_T_STRING ? o->ptr : NULL);
	}
	return 0;
}

RESP_HANDLER(resp_c_mset)
{
	if (argc % 2 == 0) {
		resp_err_arity(cl, "mset");
		return 0;
	}
	for (int i = 1; i < argc; i += 2)
		store(cl, &argv[i], qlv_new(argv[i + 1].p, argv[i + 1].len), 0);
	resp_ok(cl->out);
	return 0;
}

static int incr(resp_cli_t *cl, const resp_arg_t *key, int64_t by)
{
	qlv_t *v;
	if (get_str(cl, key, &v) < 0)
		return 0;
	int64_t cur = 0;
	if (v) {
		resp_arg_t a = {v->p, v->len};
		if (resp_arg_ll(&a, &cur) < 0) {
			resp_err_int(cl);
			return 0;
		}
	}
	if ((by < 0 && cur < 0 && by < INT64_MIN - cur) ||
	    (by > 0 && cur > 0 && by > INT64_MAX - cur)) {
		resp_error(cl->out, "ERR increment or decrement would overflow");
		return 0;
	}
	cur += by;
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%lld", (long long)cur);
	store(cl, key, qlv_new(tmp, (size_t)n), -1);
	resp_int(cl->out, cur);
	return 0;
}

RESP_HANDLER(resp_c_incr)
{
	(void)argc;
	return incr(cl, &argv[1], 1);
}

RESP_HANDLER(resp_c_decr)
{
	(void)argc;
	return incr(cl, &argv[1], -1);
}

RESP_HANDLER(resp_c_incrby)
{
	(void)argc;
	int64_t by;
	if (resp_arg_ll_or_reply(cl, &argv[2], &by) < 0)
		return 0;
	return incr(cl, &argv[1], by);
}

RESP_HANDLER(resp_c_decrby)
{
	(void)argc;
	int64_t by;
	if (resp_arg_ll_or_reply(cl, &argv[2], &by) < 0)
		return 0;
	if (by == INT64_MIN) {
		resp_error(cl->out, "ERR decrement would overflow");
		return 0;
	}
	return incr(cl, &argv[1], -by);
}

RESP_HANDLER(resp_c_append)
{
	(void)argc;
	qlv_t *v;
	if (get_str(cl, &argv[1], &v) < 0)
		return 0;
	size_t old = v ? v->len : 0;
	if (old + argv[2].len > (size_t)cl->srv->cfg->proto_max_bulk_len) {
		resp_error(cl->out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
		return 0;
	}
	qlv_t *nv = malloc(sizeof *nv + old + argv[2].len + 1);
	if (!nv)
		abort();
	nv->len = old + argv[2].len;
	if (old)
		memcpy(nv->p, v->p, old);
	memcpy(nv->p + old, argv[2].p, argv[2].len);
	nv->p[nv->len] = 0;
	store(cl, &argv[1], nv, -1);
	resp_int(cl->out, (int64_t)nv->len);
	return 0;
}

RESP_HANDLER(resp_c_strlen)
{
	(void)argc;
	qlv_t *v;
	if (get_str(cl, &argv[1], &v) < 0)
		return 0;
	resp_int(cl->out, v ? (int64_t)v->len : 0);
	return 0;
}

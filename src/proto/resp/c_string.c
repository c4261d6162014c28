/*
 * c_string.c — string keys: SET (NX XX GET EX PX EXAT PXAT KEEPTTL), GET,
 * GETDEL, GETEX, GETSET, SETNX, SETEX, PSETEX, MGET, MSET, INCR/DECR(BY),
 * APPEND, STRLEN (the rest: c_string_ext.c). Replies and error texts follow Redis 7.0 (t_string.c).
 *
 * Options are checked here; every write is one keyspace call
 * (broker/keyspace.h), which journals the value with its absolute expiry.
 * A refused write (storage) gets MISCONF and changed nothing: a reply that
 * reports an old value (SET GET, GETDEL) is only written once the write
 * is certain. Loop thread only.
 */
#include "proto/resp/c_lists.h"
#include "proto/resp/c_types.h"

#include "core/err.h"
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
	ks_obj_t *o = ks_find(cl->srv->ks, key->p, key->len);
	*out = NULL;
	if (!o)
		return 0;
	if (o->type != KS_STRING) {
		resp_err_wrongtype(cl);
		return -1;
	}
	*out = o->ptr;
	return 0;
}

static void put_val(void *arg, const char *p, size_t n)
{
	resp_bulk(arg, p, n);
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
	/* SET GET reports the old value: copied, since the write frees it,
	 * and written only once the write went through. */
	buf_t old = BUF_INIT;
	if (flags & F_GET) {
		qlv_t *v;
		if (get_str(cl, key, &v) < 0)
			return 0;
		if (v)
			resp_bulk(&old, v->p, v->len);
		else
			resp_null(&old, cl->proto);
	}
	/* Only NX and XX need to know whether it exists (ks_set looks the
	 * key up itself). */
	int found = (flags & (F_NX | F_XX)) && ks_find(cl->srv->ks, key->p, key->len) != NULL;
	if (((flags & F_NX) && found) || ((flags & F_XX) && !found)) {
		if (nx_int_reply)
			resp_int(cl->out, 0);
		else if (flags & F_GET)
			buf_append(cl->out, buf_data(&old), buf_len(&old));
		else
			resp_null(cl->out, cl->proto);
		buf_deinit(&old);
		return 0;
	}
	int rc =
	    ks_set(cl->srv->ks, key->p, key->len, val->p, val->len, (flags & F_KEEPTTL) ? -1 : at);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else if (nx_int_reply)
		resp_int(cl->out, 1);
	else if (flags & F_GET)
		buf_append(cl->out, buf_data(&old), buf_len(&old));
	else
		resp_ok(cl->out);
	buf_deinit(&old);
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

RESP_HANDLER(resp_c_getset)
{
	(void)argc;
	return set_generic(cl, &argv[1], &argv[2], F_GET, NULL, "getset", 0);
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

/* GETDEL / GETEX: the value is written once the change is certain. */
static int getex(resp_cli_t *cl, const resp_arg_t *key, int mode, int64_t at)
{
	int rc = ks_getex(cl->srv->ks, key->p, key->len, mode, at, put_val, cl->out);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else if (rc == 0)
		resp_null(cl->out, cl->proto);
	return 0;
}

RESP_HANDLER(resp_c_getdel)
{
	(void)argc;
	return getex(cl, &argv[1], KS_GETEX_DEL, 0);
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
	int mode = KS_GETEX_KEEP;
	if (expire)
		mode = KS_GETEX_AT; /* a time not in the future deletes */
	else if (flags & F_PERSIST)
		mode = KS_GETEX_PERSIST;
	return getex(cl, &argv[1], mode, at);
}

RESP_HANDLER(resp_c_mget)
{
	resp_array(cl->out, (size_t)(argc - 1));
	for (int i = 1; i < argc; i++) {
		ks_obj_t *o = ks_find(cl->srv->ks, argv[i].p, argv[i].len);
		reply_str(cl, o && o->type == KS_STRING ? o->ptr : NULL);
	}
	return 0;
}

RESP_HANDLER(resp_c_mset)
{
	if (argc % 2 == 0) {
		resp_err_arity(cl, "mset");
		return 0;
	}
	int n = (argc - 1) / 2;
	const char **keys = malloc((size_t)n * sizeof *keys),
	           **vals = malloc((size_t)n * sizeof *vals);
	size_t *klens = malloc((size_t)n * sizeof *klens),
	       *vlens = malloc((size_t)n * sizeof *vlens);
	if (!keys || !vals || !klens || !vlens)
		abort();
	for (int i = 0; i < n; i++) {
		keys[i] = argv[1 + 2 * i].p;
		klens[i] = argv[1 + 2 * i].len;
		vals[i] = argv[2 + 2 * i].p;
		vlens[i] = argv[2 + 2 * i].len;
	}
	int rc = ks_mset(cl->srv->ks, n, keys, klens, vals, vlens);
	free(keys);
	free(vals);
	free(klens);
	free(vlens);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_ok(cl->out);
	return 0;
}

static int incr(resp_cli_t *cl, const resp_arg_t *key, int64_t by)
{
	int64_t v;
	int rc = ks_incrby(cl->srv->ks, key->p, key->len, by, &v);
	if (rc == SL_EINVAL)
		resp_err_int(cl);
	else if (rc == SL_ERANGE)
		resp_error(cl->out, "ERR increment or decrement would overflow");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, v);
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
	int64_t len;
	int rc = ks_append(cl->srv->ks, argv[1].p, argv[1].len, argv[2].p, argv[2].len,
	                   (size_t)cl->srv->cfg->proto_max_bulk_len, &len);
	if (rc == SL_ETOOBIG)
		resp_error(cl->out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, len);
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

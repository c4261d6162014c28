/*
 * c_dump.c — DUMP and RESTORE, as Redis 7.0's (cluster.c): the value in
 * Redis's RDB serialization (rdb.h), so that a payload DUMPed by
 * redis-server 7.0 RESTOREs here and the other way round.
 *
 * RESTORE writes through the keyspace like the commands that build a
 * value whole: a string is one SET, a list, set or sorted set one store of
 * the computed value (which replaces what the key held), a hash the
 * deletion of the old key and one HSET; a TTL is then set like EXPIRE. The
 * reply takes the ordinary reply path, so under fsync=always it is sent
 * once all of it is durable. IDLETIME and FREQ are checked and accepted
 * (sluice keeps no LRU/LFU to set). Streams are neither dumped nor
 * restored yet (their entries live in a log of their own). Loop thread
 * only.
 */
#include "proto/resp/c_types.h"
#include "proto/resp/rdb.h"
#include "proto/resp/resp.h"

#include "core/time.h"

#include <stdlib.h>

/* --- DUMP ------------------------------------------------------------------------- */

static int dump_obj(const ks_obj_t *o, buf_t *b)
{
	switch (o->type) {
	case KS_STRING: {
		const qlv_t *v = o->ptr;
		rdb_put_type(b, RDB_TYPE_STRING);
		rdb_put_str(b, v->p, v->len);
		return 0;
	}
	case KS_LIST: {
		const qlist_t *l = o->ptr;
		qlist_iter_t it;
		qlv_t *v;
		rdb_put_type(b, RDB_TYPE_LIST);
		rdb_put_len(b, qlist_len(l));
		qlist_iter_init(l, &it, 0, 0);
		while ((v = qlist_iter_next(&it)) != NULL)
			rdb_put_str(b, v->p, v->len);
		return 0;
	}
	case KS_SET: {
		const rset_t *s = o->ptr;
		rset_iter_t it;
		const char *m;
		size_t n;
		rdb_put_type(b, RDB_TYPE_SET);
		rdb_put_len(b, rset_len(s));
		rset_iter_init(s, &it);
		while ((m = rset_iter_next(&it, &n)) != NULL)
			rdb_put_str(b, m, n);
		return 0;
	}
	case KS_ZSET: {
		const zset_t *z = o->ptr;
		rdb_put_type(b, RDB_TYPE_ZSET_2);
		rdb_put_len(b, zset_len(z));
		for (const znode_t *x = zset_first(z); x; x = zset_next(x)) {
			rdb_put_str(b, x->m, x->mlen);
			rdb_put_double(b, x->score);
		}
		return 0;
	}
	case KS_HASH: {
		const rhash_t *h = o->ptr;
		size_t it = 0;
		rhent_t *e;
		rdb_put_type(b, RDB_TYPE_HASH);
		rdb_put_len(b, rhash_len(h));
		while ((e = rhash_next(h, &it)) != NULL) {
			rdb_put_str(b, e->d, e->flen);
			rdb_put_str(b, rhent_val(e), e->vlen);
		}
		return 0;
	}
	default:
		return -1;
	}
}

RESP_HANDLER(resp_c_dump)
{
	(void)argc;
	ks_obj_t *o = ks_find(cl->srv->ks, argv[1].p, argv[1].len);
	if (!o) {
		resp_null(cl->out, cl->proto);
		return 0;
	}
	buf_t b = BUF_INIT;
	if (dump_obj(o, &b) < 0) {
		resp_error(cl->out, "ERR sluice: DUMP of a stream is not supported");
	} else {
		rdb_finish(&b);
		resp_bulk(cl->out, buf_data(&b), buf_len(&b));
	}
	buf_deinit(&b);
	return 0;
}

/* --- RESTORE ------------------------------------------------------------------------ */

typedef struct {
	int replace, absttl;
	int64_t ttl, idle, freq;
} restore_opts_t;

/* Redis 7.0's option loop and checks, in its order. */
static int restore_parse(resp_cli_t *cl, int argc, resp_arg_t *argv, restore_opts_t *o)
{
	o->idle = o->freq = -1;
	for (int j = 4; j < argc; j++) {
		int more = argc - j - 1;
		if (resp_arg_is(&argv[j], "replace")) {
			o->replace = 1;
		} else if (resp_arg_is(&argv[j], "absttl")) {
			o->absttl = 1;
		} else if (resp_arg_is(&argv[j], "idletime") && more && o->freq == -1) {
			if (resp_arg_ll_or_reply(cl, &argv[++j], &o->idle) < 0)
				return -1;
			if (o->idle < 0) {
				resp_error(cl->out, "ERR Invalid IDLETIME value, must be >= 0");
				return -1;
			}
		} else if (resp_arg_is(&argv[j], "freq") && more && o->idle == -1) {
			if (resp_arg_ll_or_reply(cl, &argv[++j], &o->freq) < 0)
				return -1;
			if (o->freq < 0 || o->freq > 255) {
				resp_error(cl->out,
				           "ERR Invalid FREQ value, must be >= 0 and <= 255");
				return -1;
			}
		} else {
			resp_err_syntax(cl);
			return -1;
		}
	}
	return 0;
}

/* The decoded value written at key (replacing whatever it held). */
static int restore_write(keyspace_t *ks, const resp_arg_t *key, rdb_val_t *v, int64_t at)
{
	const char *const *items = (const char *const *)v->items;
	int rc = 0;
	switch (v->kind) {
	case 's':
		return ks_set(ks, key->p, key->len, v->items[0], v->lens[0], at);
	case 'l':
		rc = ks_lstore(ks, key->p, key->len, v->n, items, v->lens);
		break;
	case 'S': {
		rset_t *s = rset_new();
		for (size_t i = 0; i < v->n; i++)
			rset_add(s, v->items[i], v->lens[i], ks_enc(ks)->set_intset);
		rc = ks_sstore(ks, key->p, key->len, s);
		break;
	}
	case 'z': {
		zset_t *z = zset_new();
		for (size_t i = 0; i < v->n; i++) {
			znode_t *x = zset_find(z, v->items[i], v->lens[i]);
			if (x)
				zset_update(z, x, v->scores[i]);
			else
				zset_add(z, v->items[i], v->lens[i], v->scores[i]);
		}
		rc = ks_zstore(ks, key->p, key->len, z);
		break;
	}
	case 'h': {
		int64_t n;
		const char *k = key->p;
		if (ks_find(ks, key->p, key->len))
			rc = ks_del(ks, 1, &k, &key->len, &n);
		if (rc == 0)
			rc = ks_hset(ks, key->p, key->len, v->n / 2, items, v->lens, 0, &n);
		break;
	}
	default:
		return -1;
	}
	if (rc >= 0 && at) {
		int e = ks_expire(ks, key->p, key->len, at);
		rc = e < 0 ? e : 0;
	}
	return rc < 0 ? rc : 0;
}

RESP_HANDLER(resp_c_restore)
{
	keyspace_t *ks = cl->srv->ks;
	restore_opts_t o = {0};
	if (restore_parse(cl, argc, argv, &o) < 0)
		return 0;
	if (!o.replace && ks_find(ks, argv[1].p, argv[1].len)) {
		resp_error(cl->out, "BUSYKEY Target key name already exists.");
		return 0;
	}
	if (resp_arg_ll_or_reply(cl, &argv[2], &o.ttl) < 0)
		return 0;
	if (o.ttl < 0) {
		resp_error(cl->out, "ERR Invalid TTL value, must be >= 0");
		return 0;
	}
	const uint8_t *p = (const uint8_t *)argv[3].p;
	if (rdb_verify(p, argv[3].len) < 0) {
		resp_error(cl->out, "ERR DUMP payload version or checksum are wrong");
		return 0;
	}
	rdb_val_t v;
	if (rdb_decode(p, argv[3].len, &v) < 0) {
		resp_error(cl->out, "ERR Bad data format");
		return 0;
	}
	int64_t now = time_wall_ms(), at = o.ttl;
	if (at && !o.absttl)
		at = o.ttl > INT64_MAX - now ? INT64_MAX : now + o.ttl;
	int rc = 0;
	if (at && at <= now) {
		/* Already expired: the old key goes (REPLACE), nothing is made. */
		int64_t n;
		const char *k = argv[1].p;
		if (o.replace)
			rc = ks_del(ks, 1, &k, &argv[1].len, &n);
	} else {
		rc = restore_write(ks, &argv[1], &v, at);
	}
	rdb_val_free(&v);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_ok(cl->out);
	return 0;
}

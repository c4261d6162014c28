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
 * (sluice keeps no LRU/LFU to set). A stream is restored as XADDs of its
 * entries, XSETID, XGROUP CREATE, CREATECONSUMER and XCLAIM ... FORCE of
 * each pending entry: one durable reply, but not one record, so a crash
 * in between leaves part of it. COPY of a stream key is the same DUMP and
 * RESTORE (resp_copy_stream). Loop thread only.
 */
#include "proto/resp/c_types.h"
#include "proto/resp/rdb.h"
#include "proto/resp/resp.h"

#include "core/err.h"
#include "core/time.h"

#include <stdlib.h>

/* --- DUMP ------------------------------------------------------------------------- */

/* A node of up to this many entries, as Redis's stream-node-max-entries. */
#define DUMP_NODE_ENTRIES 100

/* One node: the master entry (count, 0 deleted, no master fields, the
 * terminator), then each entry with its own fields (Redis reads both). */
static int dump_node(buf_t *b, stream_t *s, sentry_t *const *e, size_t n)
{
	rdb_lp_t lp;
	sid_t m = e[0]->id;
	buf_t key = BUF_INIT; /* the node's key: its master ID, as a string */
	rdb_put_id16(&key, m.ms, m.seq);
	rdb_put_str(b, buf_data(&key), buf_len(&key));
	buf_deinit(&key);
	rdb_lp_init(&lp);
	rdb_lp_int(&lp, (int64_t)n);
	rdb_lp_int(&lp, 0);
	rdb_lp_int(&lp, 0);
	rdb_lp_int(&lp, 0);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = stream_entry_data(s, e[i]);
		if (!p) {
			buf_deinit(&lp.b);
			return -1;
		}
		rdb_lp_int(&lp, 0);
		rdb_lp_int(&lp, (int64_t)(e[i]->id.ms - m.ms));
		rdb_lp_int(&lp, (int64_t)(e[i]->id.seq - m.seq));
		rdb_lp_int(&lp, e[i]->npairs);
		for (uint32_t k = 0; k < 2 * e[i]->npairs; k++) {
			const uint8_t *f;
			uint32_t fl;
			p = sentry_field(p, &f, &fl);
			rdb_lp_str(&lp, f, fl);
		}
		rdb_lp_int(&lp, 2 * (int64_t)e[i]->npairs + 4);
	}
	rdb_lp_put(b, &lp);
	return 0;
}

static void dump_groups(buf_t *b, const stream_t *s)
{
	size_t ng, nc;
	sgroup_t **gs = stream_groups_sorted(s, &ng);
	rdb_put_len(b, ng);
	for (size_t i = 0; i < ng; i++) {
		const sgroup_t *g = gs[i];
		rdb_put_str(b, g->name, g->nlen);
		rdb_put_len(b, g->last_id.ms);
		rdb_put_len(b, g->last_id.seq);
		rdb_put_len(b, (uint64_t)g->entries_read);
		rdb_put_len(b, g->pel.n);
		for (size_t k = 0; k < g->pel.n; k++) {
			const snack_t *x = g->pel.v[k];
			rdb_put_id16(b, x->id.ms, x->id.seq);
			rdb_put_ms(b, x->delivery_time);
			rdb_put_len(b, x->delivery_count);
		}
		sconsumer_t **cs = stream_consumers_sorted(g, &nc);
		rdb_put_len(b, nc);
		for (size_t c = 0; c < nc; c++) {
			rdb_put_str(b, cs[c]->name, cs[c]->nlen);
			rdb_put_ms(b, cs[c]->seen_time);
			rdb_put_len(b, cs[c]->pel.n);
			for (size_t k = 0; k < cs[c]->pel.n; k++)
				rdb_put_id16(b, cs[c]->pel.v[k]->id.ms, cs[c]->pel.v[k]->id.seq);
		}
		free(cs);
	}
	free(gs);
}

/* STREAM_LISTPACKS_2, as 7.0 writes it. */
static int dump_stream(stream_t *s, buf_t *b)
{
	size_t n = 0;
	sentry_t **e = malloc((s->length ? s->length : 1) * sizeof *e), *x;
	if (!e)
		abort();
	siter_t it;
	stream_iter(&it, s, SID_MIN, SID_MAX, 0);
	while ((x = stream_iter_next(&it)) != NULL && n < s->length)
		e[n++] = x;
	rdb_put_type(b, RDB_TYPE_STREAM_LISTPACKS_2);
	rdb_put_len(b, (n + DUMP_NODE_ENTRIES - 1) / DUMP_NODE_ENTRIES);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i += DUMP_NODE_ENTRIES)
		rc = dump_node(b, s, e + i, n - i < DUMP_NODE_ENTRIES ? n - i : DUMP_NODE_ENTRIES);
	sid_t first = n ? e[0]->id : SID_MIN;
	free(e);
	if (rc < 0)
		return -1;
	rdb_put_len(b, n);
	rdb_put_len(b, s->last_id.ms);
	rdb_put_len(b, s->last_id.seq);
	rdb_put_len(b, first.ms);
	rdb_put_len(b, first.seq);
	rdb_put_len(b, s->max_deleted_id.ms);
	rdb_put_len(b, s->max_deleted_id.seq);
	rdb_put_len(b, s->entries_added);
	dump_groups(b, s);
	return 0;
}

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
	case KS_STREAM:
		return dump_stream(o->ptr, b);
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
		/* a stream entry that could not be read back from its log */
		resp_misconf(cl->out, SL_EIO);
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

/* A consumer with its seen time and its pending entries, with their
 * times and counts from the group's PEL, as Redis loads them: an entry
 * deleted since is still pending. */
static int restore_consumer(keyspace_t *ks, const resp_arg_t *key, const rdb_group_t *rg,
                            const rdb_consumer_t *rc)
{
	stream_t *s;
	int err = ks_stream(ks, key->p, key->len, &s);
	sgroup_t *g = err == 0 && s ? stream_group_find(s, rg->name, rg->nlen) : NULL;
	if (!g)
		return err < 0 ? err : SL_EIO;
	ks_nack_t *nacks = malloc((rc->npel ? rc->npel : 1) * sizeof *nacks);
	if (!nacks)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < rc->npel; i++) {
		const rdb_nack_t *k = NULL;
		for (size_t j = 0; j < rg->npel && !k; j++)
			if (rg->pel[j].id.ms == rc->pel[i].ms &&
			    rg->pel[j].id.seq == rc->pel[i].seq)
				k = &rg->pel[j];
		if (!k)
			continue; /* not in the group's PEL: Redis would refuse it too */
		nacks[n++] = (ks_nack_t){{k->id.ms, k->id.seq}, k->dtime, k->count};
	}
	err = ks_xrestore_consumer(ks, key->p, key->len, g, rc->name, rc->nlen, rc->seen, nacks, n);
	free(nacks);
	return err;
}

/* A stream: its entries as XADDs, its IDs as XSETID, then each group, its
 * consumers and their pending entries. */
/* A group's read counter from a payload older than 7.0 (which has none):
 * Redis 7.0's estimate from the group's last ID (streamEstimateDistance-
 * FromFirstEverEntry, with entries_added = the length and no deletion
 * recorded), -1 when it cannot tell. */
static int64_t legacy_entries_read(const rdb_stream_t *st, rdb_id_t id)
{
	int64_t added = (int64_t)st->nent;
	if (!added)
		return 0;
	sid_t g = {id.ms, id.seq};
	int last = sid_cmp(g, (sid_t){st->last.ms, st->last.seq});
	if (last >= 0)
		return last == 0 ? added : -1;
	int first = sid_cmp(g, (sid_t){st->ids[0].ms, st->ids[0].seq});
	return first < 0 ? 0 : first == 0 ? 1 : -1;
}

static int restore_stream(keyspace_t *ks, const resp_arg_t *key, const rdb_val_t *v)
{
	const rdb_stream_t *st = v->st;
	int rc = 0;
	size_t item = 0;
	for (size_t i = 0; i < st->nent && rc == 0; i++) {
		sid_t id = {st->ids[i].ms, st->ids[i].seq}, out;
		rc = ks_xadd(ks, key->p, key->len, id, KS_ID_EXPLICIT, 0, st->npairs[i],
		             (const char *const *)v->items + item, v->lens + item, NULL, &out);
		item += 2 * (size_t)st->npairs[i];
	}
	if (rc == 0 && !st->nent) {
		/* No entry to create it with: a group does, then goes. */
		static const char tmp[] = "\x01sluice-restore";
		stream_t *s;
		rc = ks_xgroup_create(ks, key->p, key->len, tmp, sizeof tmp - 1, SID_MIN, 0, 0, 1);
		if (rc == 0 && (rc = ks_stream(ks, key->p, key->len, &s)) == 0 && s)
			rc = ks_xgroup_destroy(ks, key->p, key->len,
			                       stream_group_find(s, tmp, sizeof tmp - 1));
	}
	sid_t last = {st->last.ms, st->last.seq}, maxdel = {st->maxdel.ms, st->maxdel.seq};
	if (rc == 0)
		rc = ks_xsetid(ks, key->p, key->len, last, st->entries_added, maxdel);
	for (size_t g = 0; g < st->ngroups && rc == 0; g++) {
		const rdb_group_t *rg = &st->groups[g];
		sid_t gl = {rg->last.ms, rg->last.seq};
		int64_t read =
		    st->entries_added == -1 ? legacy_entries_read(st, rg->last) : rg->entries_read;
		rc = ks_xgroup_create(ks, key->p, key->len, rg->name, rg->nlen, gl, 0, read, 0);
		for (size_t c = 0; c < rg->ncons && rc == 0; c++)
			rc = restore_consumer(ks, key, rg, &rg->cons[c]);
	}
	return rc;
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
	case 'h':
	case 'x': {
		/* Built piece by piece: the old key goes first. */
		int64_t n;
		const char *k = key->p;
		if (ks_find(ks, key->p, key->len))
			rc = ks_del(ks, 1, &k, &key->len, &n);
		if (rc == 0 && v->kind == 'h')
			rc = ks_hset(ks, key->p, key->len, v->n / 2, items, v->lens, 0, &n);
		else if (rc == 0)
			rc = restore_stream(ks, key, v);
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
	if (rdb_decode(p, argv[3].len, (uint64_t)cl->srv->cfg->proto_max_bulk_len, &v) < 0) {
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

/* --- COPY of a stream --------------------------------------------------------------- */

int resp_copy_stream(keyspace_t *ks, const resp_arg_t *src, const resp_arg_t *dst, int replace)
{
	ks_obj_t *o = ks_find(ks, src->p, src->len);
	if (!o || o->type != KS_STREAM)
		return 0;
	if (!replace && ks_find(ks, dst->p, dst->len))
		return 0;
	buf_t b = BUF_INIT;
	rdb_val_t v;
	int rc = dump_obj(o, &b);
	if (rc == 0) {
		rdb_finish(&b);
		/* Our own payload: no client-chosen size to bound. */
		rc = rdb_decode((const uint8_t *)buf_data(&b), buf_len(&b), UINT64_MAX, &v);
	}
	if (rc < 0) {
		buf_deinit(&b);
		return SL_EIO;
	}
	rc = restore_write(ks, dst, &v, ks_expire_at(ks, src->p, src->len));
	rdb_val_free(&v);
	buf_deinit(&b);
	return rc < 0 ? rc : 1;
}

int resp_rename_stream(keyspace_t *ks, const resp_arg_t *src, const resp_arg_t *dst)
{
	/* A stream's entries live in a log named by number, with the key in
	 * the streams journal's records: moving the key is a copy into a new
	 * log (O(N), where Redis moves a pointer) and the old one's deletion. */
	int rc = resp_copy_stream(ks, src, dst, 1);
	if (rc < 0)
		return rc;
	const char *k = src->p;
	size_t kl = src->len;
	int64_t n;
	return ks_del(ks, 1, &k, &kl, &n);
}

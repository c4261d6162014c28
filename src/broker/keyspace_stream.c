/*
 * keyspace_stream.c — the stream mutations of the keyspace (see
 * keyspace.h): XADD (with trimming), XTRIM, XDEL, XSETID, the XGROUP
 * subcommands, XACK, the deliveries of XREADGROUP, XCLAIM and XAUTOCLAIM.
 *
 * Each one: refuse when no write can be made, look the key up (an expired
 * key is deleted first), reserve every streams-journal record it can write
 * (an upper bound: a delivery's NACKs, CONSUMER and GROUP records), and
 * for XADD the entry's room in the stream's log; then change the model
 * (stream.h) and log each change (stream_store.h). An XADD's entry is
 * buffered in the stream and written to its log with the turn's other
 * entries (keyspace.c); a new stream's log is created before anything is
 * journaled and removed again if the write is refused.
 *
 * The semantics (what XREADGROUP delivers, how XCLAIM's options apply)
 * follow Redis 7.0's t_stream.c; the front checks arguments and formats
 * the replies. Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include "core/err.h"
#include "core/time.h"

#include <stdlib.h>
#include <string.h>

/* The stream at key for a write: *s NULL when absent; SL_ESTATE when the
 * key holds another type. */
static int stream_w(keyspace_t *ks, const char *key, size_t klen, stream_t **s)
{
	int rc = ks_writable(ks);
	*s = NULL;
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, key, klen, &rc);
	if (rc < 0)
		return rc;
	if (o && o->type != KS_STREAM)
		return SL_ESTATE;
	*s = o ? o->ptr : NULL;
	return 0;
}

/* Entries per node of an approximate trim (0: exact). */
static int64_t approx_node(const ks_trim_t *t)
{
	if (!t->approx)
		return 0;
	return t->node > 0 ? t->node : STREAM_NODE_ENTRIES;
}

static int64_t do_trim(keyspace_t *ks, const char *key, size_t klen, stream_t *s,
                       const ks_trim_t *t)
{
	int64_t n;
	if (t->strategy == KS_TRIM_MAXLEN)
		n = stream_trim_maxlen(s, t->maxlen, approx_node(t), t->limit);
	else
		n = stream_trim_minid(s, t->minid, approx_node(t), t->limit);
	if (n > 0)
		ks_stream_trimmed(ks, key, klen, s);
	return n;
}

/* The entry ID for XADD (Redis's streamAppendItem rules), from the stream
 * (or, for a new one, its floor). */
static int xadd_id(const keyspace_t *ks, const char *key, size_t klen, const stream_t *s, sid_t id,
                   int idmode, sid_t *out)
{
	sid_t last = s ? s->last_id : SID_MIN, base = last;
	if (s) {
		base = stream_gen_base(s);
	} else {
		const sid_t *f = map_get(&ks->floors, key, klen);
		if (f)
			base = *f;
	}
	if (last.ms == UINT64_MAX && last.seq == UINT64_MAX)
		return SL_ERANGE;
	if (idmode == KS_ID_AUTO) {
		/* stream_next_id's rule, from base (a new stream's floor). */
		uint64_t now = (uint64_t)time_wall_ms();
		if (now > base.ms) {
			id.ms = now;
			id.seq = 0;
		} else {
			id = base;
			if (sid_incr(&id) < 0)
				return SL_ERANGE;
		}
	} else if (idmode == KS_ID_AUTOSEQ && base.ms == id.ms) {
		/* The sequence of this ms is used up: Redis 7.0 answers "Elements
		 * are too large to be stored" (its streamAppendItem fails without
		 * EDOM). */
		sid_t next = base;
		if (sid_incr(&next) < 0 || next.ms != id.ms)
			return SL_ETOOBIG;
		id = next;
	} else if (idmode == KS_ID_AUTOSEQ) {
		id.seq = 0;
		if (sid_cmp(id, base) <= 0)
			return SL_EINVAL;
	}
	if (sid_cmp(id, last) <= 0)
		return SL_EINVAL;
	*out = id;
	return 0;
}

int ks_xadd(keyspace_t *ks, const char *key, size_t klen, sid_t id, int idmode, int nomkstream,
            uint32_t npairs, const char *const *ptrs, const size_t *lens, const ks_trim_t *trim,
            sid_t *out)
{
	stream_t *s;
	int rc = stream_w(ks, key, klen, &s);
	if (rc < 0)
		return rc;
	if (!s && nomkstream)
		return SL_ENOENT;
	if ((rc = xadd_id(ks, key, klen, s, id, idmode, &id)) < 0)
		return rc;
	int trims = trim && trim->strategy != KS_TRIM_NONE;
	size_t payload = 0;
	for (uint32_t i = 0; i < 2 * npairs; i++)
		payload += 4 + lens[i];
	uint64_t ss = 0;
	if (!s)
		ss += sstore_rec_bytes(klen, 8);
	if (trims)
		ss += sstore_rec_bytes(klen, 8);
	if ((rc = ks_reserve(ks, 0, ss)) < 0)
		return rc;
	int created = 0;
	if (!s) {
		if ((rc = ks_stream_new(ks, key, klen, &s)) < 0)
			return rc;
		created = 1;
	}
	if (stream_flush_due(s, payload) && (rc = stream_flush(s)) < 0) {
		/* Entries of this turn, already applied, are lost. */
		dur_fail(ks->dur, rc);
		goto fail;
	}
	if ((rc = plog_reserve(s->log, stream_pending_bytes(s, npairs, payload))) < 0)
		goto fail;
	if (created) {
		sstore_log_create(ks->ss, key, klen, s->num);
		ks_obj_add(ks, key, klen, KS_STREAM, s);
	}
	if (!stream_append_argv(s, id, npairs, ptrs, lens)) {
		/* Only a write of the pending entries can fail here, and the
		 * flush above made that one impossible. */
		rc = SL_EIO;
		dur_fail(ks->dur, rc);
		return rc;
	}
	ks_stream_pending(ks, s);
	if (trims)
		do_trim(ks, key, klen, s, trim);
	*out = id;
	ks_event(ks, key, klen, KS_EV_DATA);
	return 0;
fail:
	if (created)
		ks_stream_discard(ks, s);
	return rc;
}

int ks_xtrim(keyspace_t *ks, const char *key, size_t klen, const ks_trim_t *trim, int64_t *removed)
{
	stream_t *s;
	int rc = stream_w(ks, key, klen, &s);
	*removed = 0;
	if (rc < 0 || !s)
		return rc;
	if ((rc = ks_reserve(ks, 0, sstore_rec_bytes(klen, 8))) < 0)
		return rc;
	*removed = do_trim(ks, key, klen, s, trim);
	if (*removed)
		ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

int ks_xdel(keyspace_t *ks, const char *key, size_t klen, size_t n, const sid_t *ids,
            int64_t *deleted)
{
	stream_t *s;
	int rc = stream_w(ks, key, klen, &s);
	*deleted = 0;
	if (rc < 0 || !s)
		return rc;
	if ((rc = ks_reserve(ks, 0, n * sstore_rec_bytes(klen, 16))) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (stream_delete(s, ids[i])) {
			sstore_log_del(ks->ss, key, klen, ids[i]);
			(*deleted)++;
		}
	}
	if (*deleted)
		ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

int ks_xsetid(keyspace_t *ks, const char *key, size_t klen, sid_t last, int64_t added, sid_t maxdel)
{
	stream_t *s;
	int rc = stream_w(ks, key, klen, &s);
	if (rc < 0)
		return rc;
	if (!s)
		return SL_ENOENT;
	if ((rc = ks_reserve(ks, 0, sstore_rec_bytes(klen, 48))) < 0)
		return rc;
	s->last_id = last;
	if (added != -1)
		s->entries_added = (uint64_t)added;
	if (!sid_is_zero(maxdel))
		s->max_deleted_id = maxdel;
	sstore_log_meta(ks->ss, key, klen, s);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

/* --- groups ------------------------------------------------------------------------ */

int ks_xgroup_create(keyspace_t *ks, const char *key, size_t klen, const char *gname, size_t glen,
                     sid_t id, int last_dollar, int64_t entries_read, int mkstream)
{
	stream_t *s;
	int rc = stream_w(ks, key, klen, &s);
	if (rc < 0)
		return rc;
	if (!s && !mkstream)
		return SL_ENOENT;
	if (s && stream_group_find(s, gname, glen))
		return SL_EEXIST;
	uint64_t ss = sstore_rec_bytes(klen, glen);
	if (!s)
		ss += sstore_rec_bytes(klen, 8);
	if ((rc = ks_reserve(ks, 0, ss)) < 0)
		return rc;
	if (!s) {
		if ((rc = ks_stream_new(ks, key, klen, &s)) < 0)
			return rc;
		sstore_log_create(ks->ss, key, klen, s->num);
		ks_obj_add(ks, key, klen, KS_STREAM, s);
	}
	if (last_dollar)
		id = s->last_id;
	sgroup_t *g = stream_group_create(s, gname, glen, id, entries_read);
	sstore_log_group(ks->ss, key, klen, g);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

/* Checks that a group the front found can be written to. */
static int group_w(keyspace_t *ks, uint64_t ss)
{
	int rc = ks_writable(ks);
	if (rc == 0)
		rc = ks_reserve(ks, 0, ss);
	return rc;
}

int ks_xgroup_setid(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g, sid_t id,
                    int64_t entries_read)
{
	int rc = group_w(ks, sstore_rec_bytes(klen, g->nlen));
	if (rc < 0)
		return rc;
	g->last_id = id;
	g->entries_read = entries_read;
	sstore_log_group(ks->ss, key, klen, g);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

int ks_xgroup_destroy(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g)
{
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (!o || o->type != KS_STREAM)
		return SL_ENOENT;
	int rc = group_w(ks, sstore_rec_bytes(klen, g->nlen));
	if (rc < 0)
		return rc;
	sstore_log_group_del(ks->ss, key, klen, g);
	stream_group_destroy(o->ptr, g);
	ks_event(ks, key, klen, KS_EV_GROUP);
	return 0;
}

int ks_xgroup_createconsumer(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g,
                             const char *c, size_t clen)
{
	if (stream_consumer_find(g, c, clen))
		return 0;
	int rc = group_w(ks, sstore_rec_bytes(klen, g->nlen + clen));
	if (rc < 0)
		return rc;
	sconsumer_t *cs = stream_consumer_create(g, c, clen, time_wall_ms());
	sstore_log_consumer(ks->ss, key, klen, g, cs);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 1;
}

int ks_xgroup_delconsumer(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g, sconsumer_t *c,
                          int64_t *pending)
{
	int rc = group_w(ks, sstore_rec_bytes(klen, g->nlen + c->nlen));
	if (rc < 0)
		return rc;
	sstore_log_consumer_del(ks->ss, key, klen, g, c);
	*pending = (int64_t)stream_consumer_delete(g, c);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

int ks_xack(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g, size_t n, const sid_t *ids,
            int64_t *acked)
{
	*acked = 0;
	int rc = group_w(ks, n * sstore_rec_bytes(klen, g->nlen + 16));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (stream_pel_ack(g, ids[i])) {
			sstore_log_ack(ks->ss, key, klen, g, ids[i]);
			(*acked)++;
		}
	}
	if (*acked)
		ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

/* --- deliveries ----------------------------------------------------------------------- */

/* The consumer named c of g, created if needed, seen now (logged). */
static sconsumer_t *consumer_seen(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g,
                                  const char *c, size_t clen)
{
	int64_t now = time_wall_ms();
	sconsumer_t *cs = stream_consumer_find(g, c, clen);
	if (!cs)
		cs = stream_consumer_create(g, c, clen, now);
	cs->seen_time = now;
	sstore_log_consumer(ks->ss, key, klen, g, cs);
	return cs;
}

/* Entries a read of r can give (an upper bound). */
static uint64_t xread_count(const ks_xread_t *r, const char *c, size_t clen, int64_t count)
{
	sid_t start = r->after;
	if (sid_incr(&start) < 0)
		return 0;
	uint64_t n = 0, max = count > 0 ? (uint64_t)count : UINT64_MAX;
	if (r->history) {
		sconsumer_t *cs = stream_consumer_find(r->g, c, clen);
		if (!cs)
			return 0;
		n = cs->pel.n - spel_lower(&cs->pel, start);
		return n < max ? n : max;
	}
	siter_t it;
	stream_iter(&it, r->s, start, SID_MAX, 0);
	while (n < max && stream_iter_next(&it))
		n++;
	return n;
}

/* New entries after `after` for consumer cs (Redis's streamReplyWithRange
 * with a group): the group advances, each entry joins the PEL unless
 * noack. Returns how many were given to fn. */
static size_t deliver_new(keyspace_t *ks, const ks_xread_t *r, sconsumer_t *cs, int64_t count,
                          int noack, const ks_xread_cb_t *cb)
{
	sid_t start = r->after;
	if (sid_incr(&start) < 0)
		return 0;
	stream_t *s = r->s;
	sgroup_t *g = r->g;
	size_t n = 0;
	siter_t it;
	stream_iter(&it, s, start, SID_MAX, 0);
	sentry_t *e;
	int64_t now = time_wall_ms();
	while ((count == 0 || (int64_t)n < count) && (e = stream_iter_next(&it))) {
		stream_group_advance(s, g, e->id);
		if (!noack) {
			snack_t *k = spel_find(&g->pel, e->id);
			if (k) {
				stream_pel_move(k, cs);
				k->delivery_time = now;
				k->delivery_count = 1;
			} else {
				k = stream_pel_add(g, cs, e->id, now, 1);
			}
			sstore_log_nack(ks->ss, r->key, r->klen, g, k);
		}
		cb->entry(cb->arg, s, e->id, e);
		n++;
	}
	if (n)
		sstore_log_group(ks->ss, r->key, r->klen, g);
	return n;
}

/* The consumer's own pending entries after `after` (XREADGROUP history):
 * each is delivered again (time, count), a deleted one given as NULL. */
static size_t deliver_history(keyspace_t *ks, const ks_xread_t *r, sconsumer_t *cs, int64_t count,
                              const ks_xread_cb_t *cb)
{
	sid_t start = r->after;
	if (sid_incr(&start) < 0)
		return 0;
	size_t n = 0;
	int64_t now = time_wall_ms();
	for (size_t i = spel_lower(&cs->pel, start);
	     i < cs->pel.n && (count == 0 || (int64_t)n < count); i++) {
		snack_t *k = cs->pel.v[i];
		sentry_t *e = stream_get(r->s, k->id);
		if (e) {
			k->delivery_time = now;
			k->delivery_count++;
			sstore_log_nack(ks->ss, r->key, r->klen, r->g, k);
		}
		cb->entry(cb->arg, r->s, k->id, e);
		n++;
	}
	return n;
}

int ks_xreadgroup(keyspace_t *ks, size_t n, const ks_xread_t *r, const char *c, size_t clen,
                  int64_t count, int noack, const ks_xread_cb_t *cb)
{
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	uint64_t ss = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t rec = sstore_rec_bytes(r[i].klen, r[i].g->nlen + clen + 32);
		ss += rec * (2 + xread_count(&r[i], c, clen, count));
	}
	if ((rc = ks_reserve(ks, 0, ss)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (cb->begin)
			cb->begin(cb->arg, i);
		sconsumer_t *cs = consumer_seen(ks, r[i].key, r[i].klen, r[i].g, c, clen);
		size_t k = r[i].history ? deliver_history(ks, &r[i], cs, count, cb)
		                        : deliver_new(ks, &r[i], cs, count, noack, cb);
		if (cb->end)
			cb->end(cb->arg, i, k);
		ks_event(ks, r[i].key, r[i].klen, KS_EV_CHANGED);
	}
	return 0;
}

int ks_xclaim(keyspace_t *ks, const char *key, size_t klen, stream_t *s, sgroup_t *g, const char *c,
              size_t clen, const ks_claim_t *a, ks_entry_fn fn, void *arg)
{
	uint64_t rec = sstore_rec_bytes(klen, g->nlen + clen + 32);
	int rc = group_w(ks, rec * (2 + a->nids));
	if (rc < 0)
		return rc;
	int64_t now = time_wall_ms();
	if (sid_cmp(a->lastid, g->last_id) > 0) {
		g->last_id = a->lastid;
		sstore_log_group(ks->ss, key, klen, g);
	}
	sconsumer_t *cs = NULL;
	for (size_t i = 0; i < a->nids; i++) {
		sid_t id = a->ids[i];
		snack_t *k = spel_find(&g->pel, id);
		sentry_t *e = stream_get(s, id);
		if (!e) {
			/* A pending entry that was deleted is acknowledged. */
			if (k) {
				stream_pel_ack(g, id);
				sstore_log_ack(ks->ss, key, klen, g, id);
			}
			continue;
		}
		int fresh = 0;
		if (a->force && !k) {
			if (!cs)
				cs = consumer_seen(ks, key, klen, g, c, clen);
			k = stream_pel_add(g, cs, id, now, 1);
			fresh = 1;
		}
		if (!k)
			continue;
		if (!fresh && a->minidle && now - k->delivery_time < a->minidle)
			continue;
		if (!cs)
			cs = consumer_seen(ks, key, klen, g, c, clen);
		stream_pel_move(k, cs);
		k->delivery_time = a->dtime;
		if (a->retrycount >= 0)
			k->delivery_count = (uint64_t)a->retrycount;
		else if (!a->justid)
			k->delivery_count++;
		sstore_log_nack(ks->ss, key, klen, g, k);
		fn(arg, s, id, e);
	}
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

int ks_xrestore_consumer(keyspace_t *ks, const char *key, size_t klen, sgroup_t *g, const char *c,
                         size_t clen, int64_t seen, const ks_nack_t *nacks, size_t n)
{
	uint64_t rec = sstore_rec_bytes(klen, g->nlen + clen + 32);
	int rc = group_w(ks, rec * (1 + n));
	if (rc < 0)
		return rc;
	sconsumer_t *cs = stream_consumer_find(g, c, clen);
	if (!cs)
		cs = stream_consumer_create(g, c, clen, seen);
	cs->seen_time = seen;
	sstore_log_consumer(ks->ss, key, klen, g, cs);
	for (size_t i = 0; i < n; i++) {
		snack_t *k = spel_find(&g->pel, nacks[i].id);
		if (k)
			stream_pel_move(k, cs);
		else
			k = stream_pel_add(g, cs, nacks[i].id, nacks[i].dtime, nacks[i].count);
		k->delivery_time = nacks[i].dtime;
		k->delivery_count = nacks[i].count;
		sstore_log_nack(ks->ss, key, klen, g, k);
	}
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

int ks_xautoclaim(keyspace_t *ks, const char *key, size_t klen, stream_t *s, sgroup_t *g,
                  const char *c, size_t clen, int64_t minidle, sid_t start, int64_t count,
                  int justid, ks_entry_fn fn, ks_entry_fn del, void *arg, sid_t *next)
{
	size_t i = spel_lower(&g->pel, start);
	uint64_t most = g->pel.n - i;
	if ((uint64_t)count < most)
		most = (uint64_t)count;
	uint64_t rec = sstore_rec_bytes(klen, g->nlen + clen + 32);
	int rc = group_w(ks, rec * (1 + most));
	if (rc < 0)
		return rc;
	int64_t attempts = count * 10, now = time_wall_ms();
	sconsumer_t *cs = NULL;
	while (attempts-- && count && i < g->pel.n) {
		snack_t *k = g->pel.v[i];
		sid_t id = k->id;
		sentry_t *e = stream_get(s, id);
		if (!e) {
			stream_pel_ack(g, id);
			sstore_log_ack(ks->ss, key, klen, g, id);
			del(arg, s, id, NULL);
			count--;
			continue;
		}
		if (minidle && now - k->delivery_time < minidle) {
			i++;
			continue;
		}
		if (!cs)
			cs = consumer_seen(ks, key, klen, g, c, clen);
		stream_pel_move(k, cs);
		k->delivery_time = now;
		if (!justid)
			k->delivery_count++;
		sstore_log_nack(ks->ss, key, klen, g, k);
		fn(arg, s, id, e);
		count--;
		i++;
	}
	*next = i < g->pel.n ? g->pel.v[i]->id : SID_MIN;
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

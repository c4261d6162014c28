/*
 * group_store.c — the coordinator's state journal: committed offsets and
 * group metadata survive restarts and crashes.
 *
 * File: DIR/groups.journal (framing, checksums and torn-tail recovery are
 * the journal's, see store/journal.h). Record payloads, version 1, all
 * integers big-endian; a "str" is a u32 length (0xFFFFFFFF = null) and
 * that many bytes:
 *
 *   type 1 GROUP       u8 version=1, str group, str protocol_type,
 *                      i32 generation, str protocol_name, str leader_id,
 *                      i64 state_ts (wall ms the state was entered),
 *                      u32 member count, then per member:
 *                        str member_id, str instance_id, str client_id,
 *                        str client_host, i32 session_timeout_ms,
 *                        i32 rebalance_timeout_ms, str metadata (for the
 *                        chosen protocol), str assignment
 *   type 2 GROUP_DEL   u8 version=1, str group
 *   type 3 OFFSET      u8 version=1, str group, str topic, i32 partition,
 *                      i64 offset, i32 leader_epoch, str metadata,
 *                      i64 commit_ts, i64 expire_ts (-1: none)
 *   type 4 OFFSET_DEL  u8 version=1, str group, str topic, i32 partition
 *
 * Replay applies records in order: GROUP replaces the group's metadata and
 * members (a group with members comes back Stable, without members Empty),
 * GROUP_DEL removes the group with its offsets, OFFSET sets one offset
 * (creating a simple group if needed), OFFSET_DEL removes one. A record
 * this code cannot read (unknown type or version, bad lengths) stops the
 * open with SL_ECORRUPT rather than silently dropping state.
 *
 * When written: OFFSET on every accepted commit; GROUP when a group
 * becomes Stable or Empty and when a static member is replaced; GROUP_DEL
 * on DeleteGroups and when an Empty group with no offsets is removed;
 * OFFSET_DEL on OffsetDelete, retention and topic deletion. Each record is
 * appended before the change it describes is applied, and every reply of
 * the group APIs waits in the coordinator's durability domain (under
 * fsync=always, until what it could have observed is synced). After a
 * crash, or a failed sync that the domain cut back (grp_store_reload),
 * members may find an older generation and rejoin, as after a coordinator
 * move in Kafka.
 *
 * Garbage: each live record's size is remembered (goffset_t.rec_bytes, the
 * cached GROUP payload); superseded records and tombstones are reported to
 * the journal, whose compaction calls snapshot(), which re-appends exactly
 * the live records. Loop thread only.
 */
#include "broker/group_priv.h"

#include "core/err.h"
#include "core/rd.h"

#include <stdlib.h>
#include <string.h>

enum { REC_GROUP = 1, REC_GROUP_DEL = 2, REC_OFFSET = 3, REC_OFFSET_DEL = 4 };
enum { REC_VERSION = 1, FRAME_BYTES = 9 };

static void put_str(buf_t *b, grp_str_t s)
{
	if (s.len < 0) {
		buf_put_be32(b, UINT32_MAX);
		return;
	}
	buf_put_be32(b, (uint32_t)s.len);
	if (s.len)
		buf_append(b, s.p, (size_t)s.len);
}

static grp_str_t get_str(rd_t *r)
{
	uint32_t n = rd_be32(r);
	if (n == UINT32_MAX)
		return GRP_NULL;
	if (n > INT32_MAX) {
		rd_fail(r);
		return GRP_NULL;
	}
	const uint8_t *p = rd_bytes(r, n);
	grp_str_t s = {p ? (const char *)p : "", p ? (int32_t)n : -1};
	return s;
}

void grp_store_garbage(grp_coord_t *gc, uint64_t bytes)
{
	if (gc->j)
		jrnl_garbage(gc->j, bytes);
	else
		gc->replay_garbage += bytes;
}

static int append(grp_coord_t *gc, uint8_t type, const buf_t *b)
{
	int rc = jrnl_append(gc->j, type, buf_data(b), buf_len(b));
	if (rc)
		log_error(gc->log, "groups: journal append failed: %s", sl_strerror(rc));
	return rc;
}

static void encode_group(grp_t *g, buf_t *b)
{
	buf_reset(b);
	buf_put_u8(b, REC_VERSION);
	put_str(b, gstr_view(&g->id));
	put_str(b, gstr_view(&g->protocol_type));
	buf_put_be32(b, (uint32_t)g->generation);
	put_str(b, gstr_view(&g->protocol_name));
	put_str(b, g->leader ? gstr_view(&g->leader->id) : GRP_NULL);
	buf_put_be64(b, (uint64_t)g->state_ts);
	buf_put_be32(b, (uint32_t)g->nmembers);
	for (grp_member_t *m = g->head; m; m = m->next) {
		put_str(b, gstr_view(&m->id));
		put_str(b, gstr_view(&m->instance));
		put_str(b, gstr_view(&m->client_id));
		put_str(b, gstr_view(&m->client_host));
		buf_put_be32(b, (uint32_t)m->session_timeout_ms);
		buf_put_be32(b, (uint32_t)m->rebalance_timeout_ms);
		put_str(b, grp_member_meta(m, gstr_view(&g->protocol_name)));
		put_str(b, gstr_view(&m->assignment));
	}
}

int grp_store_group(grp_t *g)
{
	grp_coord_t *gc = g->gc;
	if (!gc->j)
		return 0;
	buf_t b = BUF_INIT;
	encode_group(g, &b);
	int rc = append(gc, REC_GROUP, &b);
	if (rc == 0) {
		if (buf_len(&g->meta_rec))
			jrnl_garbage(gc->j, buf_len(&g->meta_rec) + FRAME_BYTES);
		buf_reset(&g->meta_rec);
		buf_append(&g->meta_rec, buf_data(&b), buf_len(&b));
	}
	buf_deinit(&b);
	return rc;
}

int grp_store_group_del(grp_t *g)
{
	grp_coord_t *gc = g->gc;
	if (!gc->j)
		return 0;
	buf_t b = BUF_INIT;
	buf_put_u8(&b, REC_VERSION);
	put_str(&b, gstr_view(&g->id));
	int rc = append(gc, REC_GROUP_DEL, &b);
	if (rc == 0) {
		/* The tombstone, the metadata and every offset all go at the
		 * next compaction. */
		uint64_t dead = buf_len(&b) + FRAME_BYTES;
		if (buf_len(&g->meta_rec))
			dead += buf_len(&g->meta_rec) + FRAME_BYTES;
		size_t it = 0;
		const char *k;
		size_t kl;
		void *v;
		while (map_next(&g->offsets, &it, &k, &kl, &v))
			dead += ((goffset_t *)v)->rec_bytes;
		jrnl_garbage(gc->j, dead);
		buf_reset(&g->meta_rec);
	}
	buf_deinit(&b);
	return rc;
}

static void encode_offset(const grp_t *g, const goffset_t *o, buf_t *b)
{
	buf_reset(b);
	buf_put_u8(b, REC_VERSION);
	put_str(b, gstr_view(&g->id));
	put_str(b, gstr_view(&o->topic));
	buf_put_be32(b, (uint32_t)o->partition);
	buf_put_be64(b, (uint64_t)o->offset);
	buf_put_be32(b, (uint32_t)o->leader_epoch);
	put_str(b, gstr_view(&o->meta));
	buf_put_be64(b, (uint64_t)o->commit_ts);
	buf_put_be64(b, (uint64_t)o->expire_ts);
}

int grp_store_offset(grp_t *g, goffset_t *o)
{
	grp_coord_t *gc = g->gc;
	if (!gc->j)
		return 0;
	buf_t b = BUF_INIT;
	encode_offset(g, o, &b);
	int rc = append(gc, REC_OFFSET, &b);
	if (rc == 0)
		o->rec_bytes = (uint32_t)(buf_len(&b) + FRAME_BYTES);
	buf_deinit(&b);
	return rc;
}

int grp_store_offset_del(grp_t *g, goffset_t *o)
{
	grp_coord_t *gc = g->gc;
	if (!gc->j)
		return 0;
	buf_t b = BUF_INIT;
	buf_put_u8(&b, REC_VERSION);
	put_str(&b, gstr_view(&g->id));
	put_str(&b, gstr_view(&o->topic));
	buf_put_be32(&b, (uint32_t)o->partition);
	int rc = append(gc, REC_OFFSET_DEL, &b);
	if (rc == 0)
		jrnl_garbage(gc->j, buf_len(&b) + FRAME_BYTES + o->rec_bytes);
	buf_deinit(&b);
	return rc;
}

/* --- replay ------------------------------------------------------------------------ */

static int replay_group(grp_coord_t *gc, const uint8_t *p, size_t len)
{
	rd_t r;
	rd_init(&r, p, len);
	if (rd_u8(&r) != REC_VERSION)
		return SL_ECORRUPT;
	grp_str_t id = get_str(&r);
	grp_str_t ptype = get_str(&r);
	int32_t gen = (int32_t)rd_be32(&r);
	grp_str_t pname = get_str(&r);
	grp_str_t leader = get_str(&r);
	int64_t state_ts = (int64_t)rd_be64(&r);
	uint32_t n = rd_be32(&r);
	if (r.err || id.len < 0 || n > rd_left(&r) / 32)
		return SL_ECORRUPT;
	grp_t *g = grp_find(gc, id);
	if (!g)
		g = grp_create(gc, id);
	while (g->head)
		grp_member_remove(g->head);
	gstr_set(&g->protocol_type, ptype);
	gstr_set(&g->protocol_name, pname);
	g->generation = gen;
	g->state_ts = state_ts;
	for (uint32_t i = 0; i < n; i++) {
		grp_str_t mid = get_str(&r), inst = get_str(&r), cid = get_str(&r),
		          host = get_str(&r);
		int32_t session = (int32_t)rd_be32(&r), rebalance = (int32_t)rd_be32(&r);
		grp_str_t meta = get_str(&r), asg = get_str(&r);
		if (r.err || mid.len < 0)
			return SL_ECORRUPT;
		grp_member_t *m = grp_member_add(g, mid, inst, cid, host, session, rebalance);
		if (pname.len >= 0) {
			grp_protocol_t proto = {pname, meta};
			grp_member_set_protocols(m, &proto, 1);
		}
		gstr_set(&m->assignment, asg.len < 0 ? grp_s("") : asg);
	}
	if (r.err || rd_left(&r))
		return SL_ECORRUPT;
	grp_member_t *lm = grp_member_find(g, leader);
	if (lm)
		g->leader = lm;
	g->state = g->nmembers ? GRP_STABLE : GRP_EMPTY;
	grp_compute_topics(g);
	if (buf_len(&g->meta_rec))
		gc->replay_garbage += buf_len(&g->meta_rec) + FRAME_BYTES;
	buf_reset(&g->meta_rec);
	buf_append(&g->meta_rec, p, len);
	return 0;
}

static int replay_group_del(grp_coord_t *gc, const uint8_t *p, size_t len)
{
	rd_t r;
	rd_init(&r, p, len);
	if (rd_u8(&r) != REC_VERSION)
		return SL_ECORRUPT;
	grp_str_t id = get_str(&r);
	if (r.err || id.len < 0 || rd_left(&r))
		return SL_ECORRUPT;
	gc->replay_garbage += len + FRAME_BYTES;
	grp_t *g = grp_find(gc, id);
	if (!g)
		return 0;
	if (buf_len(&g->meta_rec))
		gc->replay_garbage += buf_len(&g->meta_rec) + FRAME_BYTES;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&g->offsets, &it, &k, &kl, &v))
		gc->replay_garbage += ((goffset_t *)v)->rec_bytes;
	grp_destroy(g);
	return 0;
}

static int replay_offset(grp_coord_t *gc, const uint8_t *p, size_t len, int del)
{
	rd_t r;
	rd_init(&r, p, len);
	if (rd_u8(&r) != REC_VERSION)
		return SL_ECORRUPT;
	grp_str_t id = get_str(&r), topic = get_str(&r);
	int32_t partition = (int32_t)rd_be32(&r);
	if (del) {
		if (r.err || id.len < 0 || topic.len < 0 || rd_left(&r))
			return SL_ECORRUPT;
		gc->replay_garbage += len + FRAME_BYTES;
		grp_t *g = grp_find(gc, id);
		goffset_t *o = g ? grp_offset_find(g, topic, partition) : NULL;
		if (!o)
			return 0;
		gc->replay_garbage += o->rec_bytes;
		grp_offset_remove(g, o);
		if (g->protocol_type.len < 0 && g->nmembers == 0 && !grp_has_offsets(g) &&
		    !buf_len(&g->meta_rec))
			grp_destroy(g);
		return 0;
	}
	int64_t offset = (int64_t)rd_be64(&r);
	int32_t epoch = (int32_t)rd_be32(&r);
	grp_str_t meta = get_str(&r);
	int64_t commit_ts = (int64_t)rd_be64(&r), expire_ts = (int64_t)rd_be64(&r);
	if (r.err || id.len < 0 || topic.len < 0 || rd_left(&r))
		return SL_ECORRUPT;
	grp_t *g = grp_find(gc, id);
	if (!g)
		g = grp_create(gc, id);
	goffset_t *o = grp_offset_put(g, topic, partition);
	gc->replay_garbage += o->rec_bytes;
	o->offset = offset;
	o->leader_epoch = epoch;
	gstr_set(&o->meta, meta);
	o->commit_ts = commit_ts;
	o->expire_ts = expire_ts;
	o->rec_bytes = (uint32_t)(len + FRAME_BYTES);
	return 0;
}

static int on_replay(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	grp_coord_t *gc = arg;
	switch (type) {
	case REC_GROUP:
		return replay_group(gc, p, len);
	case REC_GROUP_DEL:
		return replay_group_del(gc, p, len);
	case REC_OFFSET:
		return replay_offset(gc, p, len, 0);
	case REC_OFFSET_DEL:
		return replay_offset(gc, p, len, 1);
	}
	log_error(gc->log, "groups: journal record of unknown type %u", (unsigned)type);
	return SL_ECORRUPT;
}

/* --- snapshot ------------------------------------------------------------------------ */

static int snapshot(void *arg, jrnl_t *j)
{
	grp_coord_t *gc = arg;
	buf_t b = BUF_INIT;
	int rc = 0;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (!rc && map_next(&gc->groups, &it, &k, &kl, &v)) {
		grp_t *g = v;
		if (buf_len(&g->meta_rec))
			rc = jrnl_append(j, REC_GROUP, buf_data(&g->meta_rec),
			                 buf_len(&g->meta_rec));
		size_t oit = 0;
		const char *ok;
		size_t okl;
		void *ov;
		while (!rc && map_next(&g->offsets, &oit, &ok, &okl, &ov)) {
			encode_offset(g, ov, &b);
			rc = jrnl_append(j, REC_OFFSET, buf_data(&b), buf_len(&b));
		}
	}
	buf_deinit(&b);
	return rc;
}

void grp_store_maybe_compact(grp_coord_t *gc)
{
	/* A snapshot makes everything in memory durable at once: never while
	 * a reply waits on writes whose sync could still fail (and be undone
	 * after the snapshot made them durable). The domain's idle hook calls
	 * back when it is safe. */
	if (!gc->j || !dur_idle(gc->dur))
		return;
	int rc = jrnl_maybe_compact(gc->j, snapshot, gc);
	if (rc)
		log_error(gc->log, "groups: journal compaction failed: %s", sl_strerror(rc));
}

int grp_store_open(grp_coord_t *gc, const char *dir)
{
	jrnl_opts_t o;
	memset(&o, 0, sizeof o);
	o.fsync = gc->opts.fsync;
	o.compact_ratio_pct = gc->opts.compact_ratio_pct;
	o.compact_min_bytes = gc->opts.compact_min_bytes;
	o.clean_stop = gc->opts.clean_stop;
	o.strict = gc->opts.strict_recovery;
	o.max_record = 64u * 1024 * 1024;
	jrnl_t *j = NULL;
	int rc = jrnl_open(&j, gc->loop, gc->syncer, gc->log, dir, "groups", &o, on_replay, gc);
	if (rc) {
		log_error(gc->log, "groups: cannot open the journal in %s: %s", dir,
		          sl_strerror(rc));
		return rc;
	}
	gc->j = j;
	if (gc->replay_garbage)
		jrnl_garbage(j, gc->replay_garbage);
	gc->replay_garbage = 0;
	size_t noff = 0;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&gc->groups, &it, &k, &kl, &v))
		noff += map_len(&((grp_t *)v)->offsets);
	log_info(gc->log,
	         "groups: %zu groups and %zu committed offsets restored from %s/groups.journal",
	         map_len(&gc->groups), noff, dir);
	return 0;
}

int grp_store_reload(grp_coord_t *gc)
{
	if (!gc->j)
		return 0;
	gc->replay_garbage = 0;
	int rc = jrnl_replay(gc->j, on_replay, gc);
	if (rc < 0) {
		log_error(gc->log, "groups: cannot rebuild the groups from the journal: %s",
		          sl_strerror(rc));
		gc->replay_garbage = 0;
		return rc;
	}
	/* The cut forgot the garbage count; the replay saw it again. */
	jrnl_garbage(gc->j, gc->replay_garbage);
	gc->replay_garbage = 0;
	log_warn(gc->log, "groups: %zu groups rebuilt from the journal after a storage failure",
	         map_len(&gc->groups));
	return 0;
}

void grp_store_close(grp_coord_t *gc)
{
	if (gc->j)
		jrnl_close(gc->j);
	gc->j = NULL;
}

/*
 * group_offsets.c — committed offsets: OffsetCommit, OffsetFetch,
 * OffsetDelete and offsets retention.
 *
 * Commit rules (Kafka's GroupCoordinator.handleCommitOffsets):
 *  - A commit for a group that does not exist creates a "simple" group
 *    (no protocol type, Empty) when it comes without a generation (-1); a
 *    commit with a generation for an unknown group is from an older
 *    generation and is refused (ILLEGAL_GENERATION).
 *  - A commit without generation to an Empty group is a simple consumer's
 *    and is accepted; otherwise the member must exist (UNKNOWN_MEMBER_ID)
 *    and the generation must be the current one (ILLEGAL_GENERATION).
 *  - During PreparingRebalance commits are accepted (members commit what
 *    they processed before rejoining); during CompletingRebalance they get
 *    REBALANCE_IN_PROGRESS.
 *
 * Durability: every change is appended to the journal before it is
 * applied (a commit whose record cannot be appended gets STORAGE_ERROR for
 * its partition, a removal that cannot be journaled is not made), and
 * nothing changes while the domain recovers from a failed write
 * (grp_writable). Acknowledgements go through the domain (the front).
 *
 * Retention (KIP-211): an offset with an explicit expiry (OffsetCommit
 * v2–v4 RetentionTimeMs) expires then; offsets of a simple group expire
 * offsets.retention.minutes after their commit; offsets of a consumer
 * group expire that long after the group became Empty (or after the
 * commit, whichever is later), never while it has members. An Empty group
 * left with no offsets is removed (Dead).
 *
 * Loop thread only.
 */
#include "broker/group_priv.h"

#include "core/err.h"
#include "core/time.h"

#include <stdlib.h>
#include <string.h>

/* Map key: the topic bytes followed by the big-endian partition. */
static void make_key(buf_t *k, grp_str_t topic, int32_t partition)
{
	buf_reset(k);
	if (topic.len > 0)
		buf_append(k, topic.p, (size_t)topic.len);
	buf_put_be32(k, (uint32_t)partition);
}

goffset_t *grp_offset_find(grp_t *g, grp_str_t topic, int32_t partition)
{
	buf_t k = BUF_INIT;
	make_key(&k, topic, partition);
	goffset_t *o = map_get(&g->offsets, buf_data(&k), buf_len(&k));
	buf_deinit(&k);
	return o;
}

static void offset_free(goffset_t *o)
{
	gstr_free(&o->topic);
	gstr_free(&o->meta);
	free(o);
}

goffset_t *grp_offset_put(grp_t *g, grp_str_t topic, int32_t partition)
{
	goffset_t *o = grp_offset_find(g, topic, partition);
	if (o)
		return o;
	o = calloc(1, sizeof *o);
	if (!o)
		abort();
	o->topic = gstr_dup(topic.len < 0 ? grp_s("") : topic);
	o->partition = partition;
	o->meta = gstr_dup(grp_s(""));
	o->leader_epoch = -1;
	o->expire_ts = -1;
	buf_t k = BUF_INIT;
	make_key(&k, gstr_view(&o->topic), partition);
	map_put(&g->offsets, buf_data(&k), buf_len(&k), o);
	buf_deinit(&k);
	return o;
}

void grp_offset_remove(grp_t *g, goffset_t *o)
{
	buf_t k = BUF_INIT;
	make_key(&k, gstr_view(&o->topic), o->partition);
	map_del(&g->offsets, buf_data(&k), buf_len(&k));
	buf_deinit(&k);
	offset_free(o);
}

void grp_offsets_free(grp_t *g)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&g->offsets, &it, &k, &kl, &v))
		offset_free(v);
	map_deinit(&g->offsets);
	map_init(&g->offsets);
}

/* --- OffsetCommit ------------------------------------------------------------------ */

static grp_err_t commit_check(grp_t *g, const grp_commit_req_t *req)
{
	if (g->state == GRP_DEAD)
		return GRP_ERR_COORDINATOR_NOT_AVAILABLE;
	if (grp_fenced(g, req->member_id, req->instance_id))
		return GRP_ERR_FENCED_INSTANCE_ID;
	if (req->generation < 0 && g->state == GRP_EMPTY)
		return GRP_ERR_OK;
	grp_member_t *m = grp_member_find(g, req->member_id);
	if (!m)
		return GRP_ERR_UNKNOWN_MEMBER_ID;
	if (req->generation != g->generation)
		return GRP_ERR_ILLEGAL_GENERATION;
	if (g->state == GRP_COMPLETING_REBALANCE)
		return GRP_ERR_REBALANCE_IN_PROGRESS;
	grp_member_touch(m);
	return GRP_ERR_OK;
}

static grp_err_t commit_one(grp_t *g, const grp_commit_part_t *p, int64_t now, int64_t expire)
{
	if (p->metadata.len > g->gc->opts.metadata_max_bytes)
		return GRP_ERR_OFFSET_METADATA_TOO_LARGE;
	/* Journal first: memory changes only once the record is accepted. */
	goffset_t nw;
	memset(&nw, 0, sizeof nw);
	nw.topic = gstr_dup(p->topic.len < 0 ? grp_s("") : p->topic);
	nw.partition = p->partition;
	nw.offset = p->offset;
	nw.leader_epoch = p->leader_epoch;
	nw.meta = gstr_dup(p->metadata);
	nw.commit_ts = now;
	nw.expire_ts = expire;
	if (grp_store_offset(g, &nw)) {
		gstr_free(&nw.topic);
		gstr_free(&nw.meta);
		return GRP_ERR_STORAGE_ERROR;
	}
	goffset_t *o = grp_offset_find(g, gstr_view(&nw.topic), nw.partition);
	if (o) {
		grp_store_garbage(g->gc, o->rec_bytes);
		gstr_free(&nw.topic);
		gstr_free(&o->meta);
		nw.topic = o->topic;
		*o = nw;
	} else {
		o = grp_offset_put(g, gstr_view(&nw.topic), nw.partition);
		gstr_free(&o->topic);
		gstr_free(&o->meta);
		*o = nw;
	}
	return GRP_ERR_OK;
}

void grp_offset_commit(grp_coord_t *gc, const grp_commit_req_t *req, grp_commit_part_t *parts,
                       size_t n)
{
	grp_err_t top = GRP_ERR_OK;
	grp_t *g = NULL;
	if (req->group_id.len < 0)
		top = GRP_ERR_INVALID_GROUP_ID;
	else if (gc->closing)
		top = GRP_ERR_COORDINATOR_NOT_AVAILABLE;
	else if ((top = grp_writable(gc)) == GRP_ERR_OK) {
		g = grp_find(gc, req->group_id);
		if (!g && req->generation < 0)
			g = grp_create(gc, req->group_id);
		else if (!g)
			top = GRP_ERR_ILLEGAL_GENERATION;
	}
	if (!top)
		top = commit_check(g, req);
	int64_t now = time_wall_ms();
	int64_t expire = req->retention_ms >= 0 ? now + req->retention_ms : -1;
	size_t wrote = 0;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].err != GRP_ERR_OK)
			continue;
		if (top) {
			parts[i].err = top;
			continue;
		}
		parts[i].err = commit_one(g, &parts[i], now, expire);
		wrote += parts[i].err == GRP_ERR_OK;
	}
	if (g)
		grp_drop_if_unused(g);
	if (wrote)
		grp_store_maybe_compact(gc);
}

/* Transactional offsets (broker/txn.h) become visible here only when their
 * transaction commits: no member or generation check then (it was the
 * producer's to pass when it sent them), and no expiry. */
void grp_offset_commit_txn(grp_coord_t *gc, grp_str_t group_id, grp_commit_part_t *parts, size_t n)
{
	grp_err_t top = GRP_ERR_OK;
	grp_t *g = NULL;
	if (group_id.len <= 0)
		top = GRP_ERR_INVALID_GROUP_ID;
	else if (gc->closing)
		top = GRP_ERR_COORDINATOR_NOT_AVAILABLE;
	else if ((top = grp_writable(gc)) == GRP_ERR_OK) {
		g = grp_find(gc, group_id);
		if (!g)
			g = grp_create(gc, group_id);
		if (g->state == GRP_DEAD)
			top = GRP_ERR_COORDINATOR_NOT_AVAILABLE;
	}
	int64_t now = time_wall_ms();
	size_t wrote = 0;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].err != GRP_ERR_OK)
			continue;
		parts[i].err = top ? top : commit_one(g, &parts[i], now, -1);
		wrote += parts[i].err == GRP_ERR_OK;
	}
	if (g)
		grp_drop_if_unused(g);
	if (wrote)
		grp_store_maybe_compact(gc);
}

/* --- OffsetFetch ------------------------------------------------------------------------ */

static void fill_view(const goffset_t *o, grp_offset_t *out)
{
	out->topic = gstr_view(&o->topic);
	out->partition = o->partition;
	out->offset = o->offset;
	out->leader_epoch = o->leader_epoch;
	out->metadata = gstr_view(&o->meta);
	out->commit_ts = o->commit_ts;
}

int grp_offset_get(grp_coord_t *gc, grp_str_t group_id, grp_str_t topic, int32_t partition,
                   grp_offset_t *out)
{
	grp_t *g = grp_find(gc, group_id);
	goffset_t *o = g ? grp_offset_find(g, topic, partition) : NULL;
	if (!o)
		return SL_ENOENT;
	fill_view(o, out);
	return 0;
}

static int cmp_offset(const void *a, const void *b)
{
	const grp_offset_t *x = a, *y = b;
	size_t n = (size_t)(x->topic.len < y->topic.len ? x->topic.len : y->topic.len);
	int c = n ? memcmp(x->topic.p, y->topic.p, n) : 0;
	if (!c)
		c = (x->topic.len > y->topic.len) - (x->topic.len < y->topic.len);
	if (!c)
		c = (x->partition > y->partition) - (x->partition < y->partition);
	return c;
}

grp_offset_t *grp_offsets_all(grp_coord_t *gc, grp_str_t group_id, size_t *n)
{
	*n = 0;
	grp_t *g = grp_find(gc, group_id);
	grp_offset_t *v = calloc((g ? map_len(&g->offsets) : 0) + 1, sizeof *v);
	if (!v)
		abort();
	if (!g)
		return v;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *o;
	while (map_next(&g->offsets, &it, &k, &kl, &o))
		fill_view(o, &v[(*n)++]);
	qsort(v, *n, sizeof *v, cmp_offset);
	return v;
}

/* --- OffsetDelete ------------------------------------------------------------------------ */

/* Removes an offset once its removal is journaled. Returns 0, or the
 * journal's error (the offset stays). */
static int delete_offset(grp_t *g, goffset_t *o)
{
	int rc = grp_store_offset_del(g, o);
	if (rc) {
		log_warn(g->gc->log, "group %s: cannot journal the deletion of an offset; kept",
		         gstr_z(&g->id));
		return rc;
	}
	grp_offset_remove(g, o);
	return 0;
}

static int subscribed(const grp_t *g, grp_str_t topic)
{
	if (!g->topics_known)
		return 1;
	for (size_t i = 0; i < g->ntopics; i++)
		if (gstr_eq(&g->topics[i], topic))
			return 1;
	return 0;
}

grp_err_t grp_offset_delete(grp_coord_t *gc, grp_str_t group_id, grp_tp_t *parts, size_t n)
{
	if (group_id.len <= 0)
		return GRP_ERR_INVALID_GROUP_ID;
	if (gc->closing)
		return GRP_ERR_COORDINATOR_NOT_AVAILABLE;
	grp_err_t e = grp_writable(gc);
	if (e)
		return e;
	grp_t *g = grp_find(gc, group_id);
	if (!g || g->state == GRP_DEAD)
		return GRP_ERR_GROUP_ID_NOT_FOUND;
	int consumer = gstr_eq(&g->protocol_type, grp_s("consumer"));
	if (g->state != GRP_EMPTY && !consumer)
		return GRP_ERR_NON_EMPTY_GROUP;
	for (size_t i = 0; i < n; i++) {
		parts[i].err = GRP_ERR_OK;
		if (g->state != GRP_EMPTY && subscribed(g, parts[i].topic)) {
			parts[i].err = GRP_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
			continue;
		}
		goffset_t *o = grp_offset_find(g, parts[i].topic, parts[i].partition);
		if (o && delete_offset(g, o))
			parts[i].err = GRP_ERR_STORAGE_ERROR;
	}
	grp_store_maybe_compact(gc);
	return GRP_ERR_OK;
}

/* --- retention ------------------------------------------------------------------------------ */

static int expired(const grp_t *g, const goffset_t *o, int64_t now, int64_t retention)
{
	if (o->expire_ts >= 0)
		return now >= o->expire_ts;
	if (g->protocol_type.len < 0)
		return now - o->commit_ts >= retention;
	if (g->state != GRP_EMPTY)
		return 0;
	int64_t base = g->state_ts > o->commit_ts ? g->state_ts : o->commit_ts;
	return now - base >= retention;
}

size_t grp_remove_offsets(grp_coord_t *gc,
                          int (*match)(const grp_t *g, const goffset_t *o, const void *arg),
                          const void *arg)
{
	/* Expiry and topic deletion change the coordinator like any request:
	 * not while the domain recovers (a later pass catches up). */
	if (grp_writable(gc) || gc->closing)
		return 0;
	size_t ng = map_len(&gc->groups), k = 0;
	grp_t **groups = calloc(ng + 1, sizeof *groups);
	if (!groups)
		abort();
	size_t it = 0;
	const char *key;
	size_t kl;
	void *v;
	while (map_next(&gc->groups, &it, &key, &kl, &v))
		groups[k++] = v;
	size_t removed = 0;
	for (size_t i = 0; i < k; i++) {
		grp_t *g = groups[i];
		size_t no = map_len(&g->offsets), m = 0;
		goffset_t **victims = calloc(no + 1, sizeof *victims);
		if (!victims)
			abort();
		it = 0;
		while (map_next(&g->offsets, &it, &key, &kl, &v))
			if (match(g, v, arg))
				victims[m++] = v;
		for (size_t j = 0; j < m; j++)
			removed += delete_offset(g, victims[j]) == 0;
		free(victims);
		if (g->state == GRP_EMPTY && g->nmembers == 0 && map_len(&g->pending) == 0 &&
		    map_len(&g->offsets) == 0 &&
		    (!buf_len(&g->meta_rec) || grp_store_group_del(g) == 0)) {
			grp_set_state(g, GRP_DEAD, "empty, with no committed offsets left");
			grp_destroy(g);
		}
	}
	free(groups);
	grp_store_maybe_compact(gc);
	return removed;
}

typedef struct {
	int64_t now, retention;
} expiry_t;

static int expired_match(const grp_t *g, const goffset_t *o, const void *arg)
{
	const expiry_t *e = arg;
	return expired(g, o, e->now, e->retention);
}

void grp_expire_offsets(grp_coord_t *gc)
{
	expiry_t e = {time_wall_ms(), gc->opts.offsets_retention_ms};
	size_t removed = grp_remove_offsets(gc, expired_match, &e);
	if (removed)
		log_info(gc->log, "groups: %zu committed offsets expired", removed);
}

static int topic_match(const grp_t *g, const goffset_t *o, const void *arg)
{
	(void)g;
	return gstr_eq(&o->topic, *(const grp_str_t *)arg);
}

void grp_topic_deleted(grp_coord_t *gc, grp_str_t topic)
{
	size_t removed = grp_remove_offsets(gc, topic_match, &topic);
	if (removed)
		log_info(gc->log, "groups: %zu committed offsets of deleted topic %.*s removed",
		         removed, (int)topic.len, topic.p);
}

static void on_retention_timer(loop_t *loop, loop_timer_t *t)
{
	grp_coord_t *gc = t->arg;
	grp_expire_offsets(gc);
	loop_timer_start(loop, t, gc->opts.retention_check_ms);
}

void grp_retention_init(grp_coord_t *gc)
{
	loop_timer_init(&gc->retention_timer, on_retention_timer, gc);
}

void grp_retention_start(grp_coord_t *gc)
{
	loop_timer_start(gc->loop, &gc->retention_timer, gc->opts.retention_check_ms);
}

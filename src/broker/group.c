/*
 * group.c — the coordinator's lifecycle and bookkeeping: options, state
 * names and the one set_state() that logs every transition, groups and
 * members (create, look up, free), and the administrative calls
 * (ListGroups, DescribeGroups, DeleteGroups).
 *
 * Invariants kept here: a group is in gc->groups exactly while it is not
 * Dead; a member is in its group's list and in by_id (and in by_instance
 * when static); g->leader is NULL exactly when the group has no members.
 * Loop thread only.
 */
#include "broker/group_priv.h"

#include "core/err.h"
#include "store/sio.h"
#include "core/time.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const state_names[] = {
#define GRP_STATE_NAME(name, text) text,
    GRP_STATES(GRP_STATE_NAME)
#undef GRP_STATE_NAME
};

static const char *const err_names[] = {
#define GRP_ERR_NAME(name, text) text,
    GRP_ERRORS(GRP_ERR_NAME)
#undef GRP_ERR_NAME
};

const char *grp_state_name(grp_state_t s)
{
	return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

const char *grp_err_name(grp_err_t e)
{
	return (unsigned)e < sizeof err_names / sizeof err_names[0] ? err_names[e] : "?";
}

/* Allowed previous states of each state (Kafka's GroupState.validPreviousStates). */
static int transition_ok(grp_state_t from, grp_state_t to)
{
	switch (to) {
	case GRP_EMPTY:
		return from == GRP_PREPARING_REBALANCE;
	case GRP_PREPARING_REBALANCE:
		return from == GRP_STABLE || from == GRP_COMPLETING_REBALANCE || from == GRP_EMPTY;
	case GRP_COMPLETING_REBALANCE:
		return from == GRP_PREPARING_REBALANCE;
	case GRP_STABLE:
		return from == GRP_COMPLETING_REBALANCE;
	case GRP_DEAD:
		return 1;
	}
	return 0;
}

void grp_set_state(grp_t *g, grp_state_t to, const char *why)
{
	assert(transition_ok(g->state, to));
	log_info(g->gc->log, "group %s: %s -> %s (generation %d, %zu members): %s", gstr_z(&g->id),
	         grp_state_name(g->state), grp_state_name(to), g->generation, g->nmembers, why);
	g->state = to;
	g->state_ts = time_wall_ms();
}

void grp_opts_from_config(grp_opts_t *o, const sl_config_t *cfg)
{
	memset(o, 0, sizeof *o);
	o->initial_rebalance_delay_ms = cfg->group_initial_rebalance_delay_ms;
	o->min_session_timeout_ms = cfg->group_min_session_timeout_ms;
	o->max_session_timeout_ms = cfg->group_max_session_timeout_ms;
	o->max_size = cfg->group_max_size;
	o->offsets_retention_ms = cfg->offsets_retention_minutes > INT64_MAX / 60000
	                              ? INT64_MAX
	                              : cfg->offsets_retention_minutes * 60000;
	o->retention_check_ms = cfg->offsets_retention_check_interval_ms;
	o->metadata_max_bytes = cfg->offset_metadata_max_bytes;
	/* Kafka's GroupCoordinator.NewMemberJoinTimeoutMs. */
	o->new_member_join_timeout_ms = 5 * 60 * 1000;
	o->fsync = cfg->fsync;
	o->compact_ratio_pct = (int)cfg->journal_compact_ratio;
	o->compact_min_bytes = cfg->journal_compact_min_bytes;
	o->strict_recovery = cfg->strict_recovery;
}

/* --- strings ------------------------------------------------------------------ */

gstr_t gstr_dup(grp_str_t s)
{
	gstr_t d = {NULL, -1};
	if (s.len < 0)
		return d;
	d.p = malloc((size_t)s.len + 1);
	if (!d.p)
		abort();
	if (s.len)
		memcpy(d.p, s.p, (size_t)s.len);
	d.p[s.len] = 0;
	d.len = s.len;
	return d;
}

gstr_t gstr_dupz(const char *z)
{
	return gstr_dup(grp_s(z));
}

void gstr_free(gstr_t *s)
{
	free(s->p);
	s->p = NULL;
	s->len = -1;
}

void gstr_set(gstr_t *dst, grp_str_t s)
{
	gstr_t n = gstr_dup(s);
	gstr_free(dst);
	*dst = n;
}

/* --- groups --------------------------------------------------------------------- */

grp_t *grp_find(grp_coord_t *gc, grp_str_t id)
{
	if (id.len < 0)
		return NULL;
	return map_get(&gc->groups, id.p ? id.p : "", (size_t)id.len);
}

grp_t *grp_create(grp_coord_t *gc, grp_str_t id)
{
	grp_t *g = calloc(1, sizeof *g);
	if (!g)
		abort();
	g->gc = gc;
	g->id = gstr_dup(id);
	g->state = GRP_EMPTY;
	g->state_ts = time_wall_ms();
	g->protocol_type = (gstr_t){NULL, -1};
	g->protocol_name = (gstr_t){NULL, -1};
	map_init(&g->by_id);
	map_init(&g->by_instance);
	map_init(&g->pending);
	map_init(&g->offsets);
	buf_init(&g->meta_rec);
	grp_join_group_init(g);
	map_put(&gc->groups, g->id.p, (size_t)g->id.len, g);
	return g;
}

void grp_destroy(grp_t *g)
{
	grp_coord_t *gc = g->gc;
	map_del(&gc->groups, g->id.p, (size_t)g->id.len);
	loop_timer_stop(gc->loop, &g->join_timer);
	loop_timer_stop(gc->loop, &g->sync_timer);
	while (g->head)
		grp_member_remove(g->head);
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&g->pending, &it, &k, &kl, &v))
		grp_pending_free(v);
	map_deinit(&g->pending);
	map_deinit(&g->by_id);
	map_deinit(&g->by_instance);
	grp_offsets_free(g);
	map_deinit(&g->offsets);
	buf_deinit(&g->meta_rec);
	for (size_t i = 0; i < g->ntopics; i++)
		gstr_free(&g->topics[i]);
	free(g->topics);
	gstr_free(&g->id);
	gstr_free(&g->protocol_type);
	gstr_free(&g->protocol_name);
	free(g);
}

void grp_drop_if_unused(grp_t *g)
{
	if (g->state == GRP_EMPTY && g->generation == 0 && g->nmembers == 0 &&
	    map_len(&g->pending) == 0 && map_len(&g->offsets) == 0 && buf_len(&g->meta_rec) == 0)
		grp_destroy(g);
}

/* --- members ---------------------------------------------------------------------- */

grp_member_t *grp_member_find(grp_t *g, grp_str_t id)
{
	if (id.len < 0)
		return NULL;
	return map_get(&g->by_id, id.p ? id.p : "", (size_t)id.len);
}

grp_member_t *grp_member_by_instance(grp_t *g, grp_str_t instance)
{
	if (instance.len < 0)
		return NULL;
	return map_get(&g->by_instance, instance.p ? instance.p : "", (size_t)instance.len);
}

grp_member_t *grp_member_add(grp_t *g, grp_str_t id, grp_str_t instance, grp_str_t client_id,
                             grp_str_t client_host, int32_t session_ms, int32_t rebalance_ms)
{
	grp_member_t *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	m->g = g;
	m->id = gstr_dup(id);
	m->instance = gstr_dup(instance);
	m->client_id = gstr_dup(client_id.len < 0 ? grp_s("") : client_id);
	m->client_host = gstr_dup(client_host.len < 0 ? grp_s("") : client_host);
	m->session_timeout_ms = session_ms;
	m->rebalance_timeout_ms = rebalance_ms;
	m->assignment = gstr_dup(grp_s(""));
	grp_join_member_init(m);
	m->prev = g->tail;
	if (g->tail)
		g->tail->next = m;
	else
		g->head = m;
	g->tail = m;
	g->nmembers++;
	map_put(&g->by_id, m->id.p, (size_t)m->id.len, m);
	if (m->instance.len >= 0)
		map_put(&g->by_instance, m->instance.p, (size_t)m->instance.len, m);
	if (!g->leader)
		g->leader = m;
	return m;
}

void grp_member_set_protocols(grp_member_t *m, const grp_protocol_t *p, size_t n)
{
	for (size_t i = 0; i < m->nprotos; i++) {
		gstr_free(&m->protos[i].name);
		gstr_free(&m->protos[i].meta);
	}
	free(m->protos);
	m->protos = NULL;
	m->nprotos = 0;
	if (n == 0)
		return;
	m->protos = calloc(n, sizeof *m->protos);
	if (!m->protos)
		abort();
	for (size_t i = 0; i < n; i++) {
		m->protos[i].name = gstr_dup(p[i].name.len < 0 ? grp_s("") : p[i].name);
		m->protos[i].meta = gstr_dup(p[i].meta.len < 0 ? grp_s("") : p[i].meta);
	}
	m->nprotos = n;
}

grp_str_t grp_member_meta(const grp_member_t *m, grp_str_t protocol)
{
	for (size_t i = 0; i < m->nprotos; i++)
		if (gstr_eq(&m->protos[i].name, protocol))
			return gstr_view(&m->protos[i].meta);
	return grp_s("");
}

void grp_member_remove(grp_member_t *m)
{
	grp_t *g = m->g;
	assert(!m->join_cb && !m->sync_cb);
	loop_timer_stop(g->gc->loop, &m->timer);
	map_del(&g->by_id, m->id.p, (size_t)m->id.len);
	if (m->instance.len >= 0 &&
	    map_get(&g->by_instance, m->instance.p, (size_t)m->instance.len) == m)
		map_del(&g->by_instance, m->instance.p, (size_t)m->instance.len);
	if (m->prev)
		m->prev->next = m->next;
	else
		g->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		g->tail = m->prev;
	g->nmembers--;
	/* Kafka's rule: the next member in line becomes leader. */
	if (g->leader == m)
		g->leader = g->head;
	grp_member_set_protocols(m, NULL, 0);
	gstr_free(&m->id);
	gstr_free(&m->instance);
	gstr_free(&m->client_id);
	gstr_free(&m->client_host);
	gstr_free(&m->assignment);
	free(m);
}

void grp_member_rename(grp_member_t *m, grp_str_t new_id)
{
	grp_t *g = m->g;
	map_del(&g->by_id, m->id.p, (size_t)m->id.len);
	gstr_set(&m->id, new_id);
	map_put(&g->by_id, m->id.p, (size_t)m->id.len, m);
}

int grp_has_offsets(const grp_t *g)
{
	return map_len(&g->offsets) > 0;
}

void grp_parked_inc(grp_coord_t *gc)
{
	gc->parked++;
}
void grp_parked_dec(grp_coord_t *gc)
{
	assert(gc->parked > 0);
	gc->parked--;
}

size_t grp_coord_parked(const grp_coord_t *gc)
{
	return gc->parked;
}

dur_t *grp_coord_dur(const grp_coord_t *gc)
{
	return gc->dur;
}

grp_err_t grp_writable(const grp_coord_t *gc)
{
	return dur_state(gc->dur) < 0 ? GRP_ERR_STORAGE_ERROR : GRP_ERR_OK;
}

void grp_coord_set_topic_check(grp_coord_t *gc, int (*exists)(void *arg, grp_str_t topic),
                               void *arg)
{
	gc->topic_exists = exists;
	gc->topic_arg = arg;
}

/* Destroys every group (their parked requests must have been answered). */
static void destroy_all(grp_coord_t *gc)
{
	size_t it;
	const char *k;
	size_t kl;
	void *v;
	/* Destroying removes from the map; restart the iteration each time. */
	for (;;) {
		it = 0;
		if (!map_next(&gc->groups, &it, &k, &kl, &v))
			break;
		grp_destroy(v);
	}
}

static void abort_parked(grp_coord_t *gc, grp_err_t err)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&gc->groups, &it, &k, &kl, &v))
		grp_join_abort(v, err);
}

static void restore_timers(grp_coord_t *gc)
{
	/* Restored members get a full session timeout to come back. */
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&gc->groups, &it, &k, &kl, &v))
		grp_join_restored(v);
}

/* The domain cut the journal back to its last durable point: what the
 * coordinator holds must be what the journal says, so nothing whose write
 * failed stays visible. Parked members are answered as on a coordinator
 * failover; they find the coordinator again and rejoin. */
static int reload(void *arg)
{
	grp_coord_t *gc = arg;
	abort_parked(gc, GRP_ERR_STORAGE_ERROR);
	destroy_all(gc);
	int rc = grp_store_reload(gc);
	if (rc < 0)
		return rc;
	restore_timers(gc);
	/* Removals of a deleted topic's offsets may have been cut back. */
	if (gc->topic_exists)
		loop_defer(gc->loop, &gc->sweep_task);
	return 0;
}

static void on_idle(void *arg)
{
	grp_store_maybe_compact(arg);
}

static int missing_topic(const grp_t *g, const goffset_t *o, const void *arg)
{
	(void)g;
	const grp_coord_t *gc = arg;
	return !gc->topic_exists(gc->topic_arg, gstr_view(&o->topic));
}

static void sweep_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	grp_coord_t *gc = t->arg;
	size_t n = grp_remove_offsets(gc, missing_topic, gc);
	if (n)
		log_info(gc->log, "groups: %zu committed offsets of deleted topics removed again",
		         n);
}

/* --- lifecycle -------------------------------------------------------------------------- */

int grp_coord_open(grp_coord_t **out, loop_t *loop, syncer_t *syncer, const log_t *log,
                   const grp_opts_t *opts, const char *dir)
{
	*out = NULL;
	grp_coord_t *gc = calloc(1, sizeof *gc);
	if (!gc)
		abort();
	gc->loop = loop;
	gc->syncer = syncer;
	gc->log = log;
	gc->opts = *opts;
	map_init(&gc->groups);
	grp_retention_init(gc);
	loop_task_init(&gc->sweep_task, sweep_task, gc);
	dur_hooks_t hooks = {reload, on_idle, gc};
	gc->dur = dur_new(loop, log, "kafka consumer groups", opts->fsync, &hooks);
	int rc = 0;
	if (dir) {
		rc = sio_mkdir_p(syncer_io(syncer), dir);
		if (rc) {
			log_error(log, "groups: cannot create %s: %s", dir, sl_strerror(rc));
			goto fail;
		}
		rc = grp_store_open(gc, dir);
		if (rc)
			goto fail;
		gc->mem = dur_add_jrnl(gc->dur, gc->j);
	}
	restore_timers(gc);
	grp_retention_start(gc);
	*out = gc;
	return 0;
fail:
	grp_coord_close(gc);
	return rc;
}

void grp_coord_close(grp_coord_t *gc)
{
	if (!gc)
		return;
	gc->closing = 1;
	loop_timer_stop(gc->loop, &gc->retention_timer);
	loop_task_cancel(gc->loop, &gc->sweep_task);
	abort_parked(gc, GRP_ERR_COORDINATOR_NOT_AVAILABLE);
	/* Replies still held get SL_ECLOSED (shutdown waited for them). */
	dur_del(gc->dur, gc->mem);
	dur_free(gc->dur);
	grp_store_close(gc);
	destroy_all(gc);
	map_deinit(&gc->groups);
	free(gc);
}

/* --- administration ---------------------------------------------------------------------- */

grp_err_t grp_delete(grp_coord_t *gc, grp_str_t group_id)
{
	if (group_id.len < 0)
		return GRP_ERR_INVALID_GROUP_ID;
	grp_t *g = grp_find(gc, group_id);
	if (!g || g->state == GRP_DEAD)
		return GRP_ERR_GROUP_ID_NOT_FOUND;
	if (g->state != GRP_EMPTY)
		return GRP_ERR_NON_EMPTY_GROUP;
	grp_err_t e = grp_writable(gc);
	if (e)
		return e;
	/* The tombstone first: a group deleted in memory only would come
	 * back after a restart. */
	if (grp_store_group_del(g))
		return GRP_ERR_STORAGE_ERROR;
	grp_set_state(g, GRP_DEAD, "deleted by DeleteGroups");
	grp_destroy(g);
	grp_store_maybe_compact(gc);
	return GRP_ERR_OK;
}

static int cmp_listing(const void *a, const void *b)
{
	const grp_listing_t *x = a, *y = b;
	size_t n = (size_t)(x->group_id.len < y->group_id.len ? x->group_id.len : y->group_id.len);
	int c = n ? memcmp(x->group_id.p, y->group_id.p, n) : 0;
	return c ? c : (x->group_id.len > y->group_id.len) - (x->group_id.len < y->group_id.len);
}

grp_listing_t *grp_list(grp_coord_t *gc, size_t *n)
{
	*n = 0;
	grp_listing_t *v = calloc(map_len(&gc->groups) + 1, sizeof *v);
	if (!v)
		abort();
	size_t it = 0;
	const char *k;
	size_t kl;
	void *val;
	while (map_next(&gc->groups, &it, &k, &kl, &val)) {
		grp_t *g = val;
		v[*n].group_id = gstr_view(&g->id);
		v[*n].protocol_type =
		    g->protocol_type.len < 0 ? grp_s("") : gstr_view(&g->protocol_type);
		v[*n].state = g->state;
		(*n)++;
	}
	qsort(v, *n, sizeof *v, cmp_listing);
	return v;
}

grp_err_t grp_describe(grp_coord_t *gc, grp_str_t group_id, grp_desc_t *d)
{
	memset(d, 0, sizeof *d);
	d->state = GRP_DEAD;
	d->protocol_type = grp_s("");
	d->protocol_name = grp_s("");
	d->leader_id = grp_s("");
	d->generation = -1;
	if (group_id.len < 0)
		return GRP_ERR_INVALID_GROUP_ID;
	grp_t *g = grp_find(gc, group_id);
	if (!g)
		return GRP_ERR_OK;
	d->state = g->state;
	d->generation = g->generation;
	if (g->protocol_type.len >= 0)
		d->protocol_type = gstr_view(&g->protocol_type);
	/* Kafka reports the protocol, metadata and assignments only for a
	 * Stable group (GroupMetadata.summary). */
	int stable = g->state == GRP_STABLE;
	if (stable && g->protocol_name.len >= 0)
		d->protocol_name = gstr_view(&g->protocol_name);
	if (g->leader)
		d->leader_id = gstr_view(&g->leader->id);
	d->members = calloc(g->nmembers + 1, sizeof *d->members);
	if (!d->members)
		abort();
	for (grp_member_t *m = g->head; m; m = m->next) {
		grp_member_desc_t *md = &d->members[d->nmembers++];
		md->member_id = gstr_view(&m->id);
		md->instance_id = gstr_view(&m->instance);
		md->client_id = gstr_view(&m->client_id);
		md->client_host = gstr_view(&m->client_host);
		md->meta = stable ? grp_member_meta(m, gstr_view(&g->protocol_name)) : grp_s("");
		md->assignment = stable ? gstr_view(&m->assignment) : grp_s("");
	}
	return GRP_ERR_OK;
}

void grp_desc_free(grp_desc_t *d)
{
	free(d->members);
	d->members = NULL;
	d->nmembers = 0;
}

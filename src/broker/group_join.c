/*
 * group_join.c — the classic group membership protocol: JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, session expiry and rebalancing.
 *
 * The rules follow Kafka's GroupCoordinator (classic protocol, 3.x):
 *  - A rebalance (PreparingRebalance) waits until every known member has
 *    sent JoinGroup and no id handed out with MEMBER_ID_REQUIRED is still
 *    outstanding, or until the largest rebalance timeout of the members
 *    passes. Dynamic members that did not rejoin are then dropped; static
 *    members stay until their session expires.
 *  - A rebalance that starts from Empty first waits the initial delay
 *    (group.initial.rebalance.delay.ms), extended by one delay each time a
 *    new member arrives, within the rebalance timeout.
 *  - Completion bumps the generation, chooses the protocol by vote, keeps
 *    the leader if it rejoined (else the first member that did), answers
 *    every parked JoinGroup (only the leader gets the members' metadata)
 *    and enters CompletingRebalance. The leader's SyncGroup makes the group
 *    Stable and answers every parked SyncGroup with its own assignment.
 *    Members that do not send SyncGroup within the rebalance timeout are
 *    removed and the group rebalances again.
 *  - Heartbeats keep a member alive; a member whose session timeout passes
 *    without one is removed (a member waiting in JoinGroup or SyncGroup is
 *    kept alive, a new one at most new_member_join_timeout_ms).
 *  - Static members (group.instance.id): a JoinGroup with an unknown member
 *    id but a known instance id replaces the old member id; in a Stable
 *    group whose protocol does not change this answers at once with the
 *    current generation, so the member keeps its assignment and nobody
 *    rebalances. The old member id is fenced (FENCED_INSTANCE_ID).
 *
 * Durability (group_store.c): the group's metadata is journaled when it
 * becomes Stable (the leader's assignment) or Empty, and when a static
 * member is replaced. If that record cannot be appended, the change is not
 * made, as Kafka does when it cannot store a group: the SyncGroup callers
 * get STORAGE_ERROR and the group rebalances; a replaced static member
 * keeps its old id and the joiner gets STORAGE_ERROR. While the domain
 * recovers from a failed sync every call answers STORAGE_ERROR at once.
 *
 * Loop thread only; parked callbacks are answered from timers and from
 * other members' requests.
 */
#include "broker/group_priv.h"

#include "core/err.h"
#include "core/rd.h"
#include "core/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void prepare_rebalance(grp_t *g, const char *why);
static void try_complete_join(grp_t *g);

static grp_str_t str_or_empty(grp_str_t s)
{
	return s.len < 0 ? grp_s("") : s;
}

static int32_t group_rebalance_timeout(const grp_t *g)
{
	int32_t t = 0;
	for (const grp_member_t *m = g->head; m; m = m->next)
		if (m->rebalance_timeout_ms > t)
			t = m->rebalance_timeout_ms;
	return t;
}

/* --- answering parked requests ------------------------------------------------ */

static void join_error(grp_join_cb cb, void *arg, grp_str_t member_id, grp_err_t err)
{
	grp_join_res_t r;
	memset(&r, 0, sizeof r);
	r.err = err;
	r.generation = -1;
	r.protocol_type = GRP_NULL;
	r.protocol_name = GRP_NULL;
	r.leader_id = grp_s("");
	r.member_id = str_or_empty(member_id);
	cb(arg, &r);
}

static void member_join_answer(grp_member_t *m, const grp_join_res_t *r)
{
	grp_join_cb cb = m->join_cb;
	void *arg = m->join_arg;
	if (!cb)
		return;
	m->join_cb = NULL;
	m->join_arg = NULL;
	m->g->n_awaiting_join--;
	grp_parked_dec(m->g->gc);
	cb(arg, r);
}

static void member_join_error(grp_member_t *m, grp_str_t member_id, grp_err_t err)
{
	grp_join_cb cb = m->join_cb;
	void *arg = m->join_arg;
	if (!cb)
		return;
	m->join_cb = NULL;
	m->join_arg = NULL;
	m->g->n_awaiting_join--;
	grp_parked_dec(m->g->gc);
	join_error(cb, arg, member_id, err);
}

static void park_join(grp_member_t *m, grp_join_cb cb, void *arg)
{
	/* A second JoinGroup from the same member replaces the first; the
	 * first must still be answered so its connection's replies stay in
	 * order. */
	member_join_error(m, gstr_view(&m->id), GRP_ERR_REBALANCE_IN_PROGRESS);
	m->join_cb = cb;
	m->join_arg = arg;
	m->g->n_awaiting_join++;
	grp_parked_inc(m->g->gc);
}

static void member_sync_answer(grp_member_t *m, grp_err_t err)
{
	grp_sync_cb cb = m->sync_cb;
	void *arg = m->sync_arg;
	if (!cb)
		return;
	m->sync_cb = NULL;
	m->sync_arg = NULL;
	grp_parked_dec(m->g->gc);
	grp_t *g = m->g;
	grp_sync_res_t r;
	r.err = err;
	r.protocol_type = err ? GRP_NULL : gstr_view(&g->protocol_type);
	r.protocol_name = err ? GRP_NULL : gstr_view(&g->protocol_name);
	r.assignment = err ? grp_s("") : gstr_view(&m->assignment);
	cb(arg, &r);
}

static void park_sync(grp_member_t *m, grp_sync_cb cb, void *arg)
{
	member_sync_answer(m, GRP_ERR_REBALANCE_IN_PROGRESS);
	m->sync_cb = cb;
	m->sync_arg = arg;
	grp_parked_inc(m->g->gc);
}

void grp_join_abort(grp_t *g, grp_err_t err)
{
	for (grp_member_t *m = g->head; m; m = m->next) {
		member_join_error(m, gstr_view(&m->id), err);
		member_sync_answer(m, err);
	}
}

/* The members' list the leader receives: each member's id, instance id and
 * metadata for the chosen protocol. Owned array of views. */
static grp_join_member_t *member_list(grp_t *g, size_t *n)
{
	grp_join_member_t *v = calloc(g->nmembers + 1, sizeof *v);
	if (!v)
		abort();
	*n = 0;
	for (grp_member_t *m = g->head; m; m = m->next) {
		v[*n].member_id = gstr_view(&m->id);
		v[*n].instance_id = gstr_view(&m->instance);
		v[*n].meta = grp_member_meta(m, gstr_view(&g->protocol_name));
		(*n)++;
	}
	return v;
}

static void fill_current(grp_t *g, grp_member_t *m, grp_join_res_t *r)
{
	memset(r, 0, sizeof *r);
	r->err = GRP_ERR_OK;
	r->generation = g->generation;
	r->protocol_type = gstr_view(&g->protocol_type);
	r->protocol_name = gstr_view(&g->protocol_name);
	r->leader_id = g->leader ? gstr_view(&g->leader->id) : grp_s("");
	r->member_id = gstr_view(&m->id);
}

/* Answers a JoinGroup with the current generation (a rejoin that changes
 * nothing). */
static void answer_current(grp_t *g, grp_member_t *m, grp_join_cb cb, void *arg, int skip)
{
	grp_join_res_t r;
	fill_current(g, m, &r);
	grp_join_member_t *list = NULL;
	if (m == g->leader) {
		list = member_list(g, &r.nmembers);
		r.members = list;
		r.skip_assignment = skip;
	}
	cb(arg, &r);
	free(list);
}

/* --- timers -------------------------------------------------------------------- */

void grp_member_touch(grp_member_t *m)
{
	loop_t *loop = m->g->gc->loop;
	m->last_seen_ms = loop_now_ms(loop);
	loop_timer_start(loop, &m->timer, m->session_timeout_ms);
}

static void remove_member_and_update(grp_t *g, grp_member_t *m, const char *why);

static void on_member_timer(loop_t *loop, loop_timer_t *t)
{
	grp_member_t *m = t->arg;
	grp_t *g = m->g;
	if (m->sync_cb || (m->join_cb && !m->is_new)) {
		loop_timer_start(loop, t, m->session_timeout_ms);
		return;
	}
	if (m->join_cb) {
		int64_t due = m->last_seen_ms + g->gc->opts.new_member_join_timeout_ms;
		if (loop_now_ms(loop) < due) {
			loop_timer_start_at(loop, t, due);
			return;
		}
	}
	char why[96];
	snprintf(why, sizeof why, "member session expired after %d ms", m->session_timeout_ms);
	log_info(g->gc->log, "group %s: member %s expired (no heartbeat for %d ms)", gstr_z(&g->id),
	         gstr_z(&m->id), m->session_timeout_ms);
	remove_member_and_update(g, m, why);
}

void grp_join_member_init(grp_member_t *m)
{
	loop_timer_init(&m->timer, on_member_timer, m);
}

void grp_pending_free(grp_pending_t *p)
{
	loop_timer_stop(p->g->gc->loop, &p->timer);
	gstr_free(&p->id);
	free(p);
}

static void remove_pending(grp_t *g, grp_pending_t *p)
{
	map_del(&g->pending, p->id.p, (size_t)p->id.len);
	grp_pending_free(p);
}

static void on_pending_timer(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	grp_pending_t *p = t->arg;
	grp_t *g = p->g;
	log_info(g->gc->log, "group %s: pending member %s never rejoined; dropped", gstr_z(&g->id),
	         gstr_z(&p->id));
	remove_pending(g, p);
	try_complete_join(g);
	grp_drop_if_unused(g);
}

static void complete_join(grp_t *g);

static void on_join_timer(loop_t *loop, loop_timer_t *t)
{
	grp_t *g = t->arg;
	if (g->state != GRP_PREPARING_REBALANCE)
		return;
	if (g->initial_delay && g->new_member_added && g->initial_remaining_ms > 0) {
		/* Kafka's InitialDelayedJoin: one more delay for the newcomers,
		 * never past the rebalance timeout. */
		int64_t d = g->gc->opts.initial_rebalance_delay_ms;
		if (d > g->initial_remaining_ms)
			d = g->initial_remaining_ms;
		g->initial_remaining_ms -= d;
		g->new_member_added = 0;
		loop_timer_start(loop, t, d);
		return;
	}
	complete_join(g);
}

static void on_sync_timer(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	grp_t *g = t->arg;
	if (g->state != GRP_COMPLETING_REBALANCE && g->state != GRP_STABLE)
		return;
	size_t removed = 0;
	grp_member_t *next;
	for (grp_member_t *m = g->head; m; m = next) {
		next = m->next;
		if (!m->pending_sync)
			continue;
		log_info(
		    g->gc->log,
		    "group %s: member %s sent no SyncGroup within the rebalance timeout; removed",
		    gstr_z(&g->id), gstr_z(&m->id));
		member_join_error(m, GRP_NULL, GRP_ERR_UNKNOWN_MEMBER_ID);
		member_sync_answer(m, GRP_ERR_UNKNOWN_MEMBER_ID);
		grp_member_remove(m);
		removed++;
	}
	if (removed)
		prepare_rebalance(g, "members did not send SyncGroup in time");
}

void grp_join_group_init(grp_t *g)
{
	loop_timer_init(&g->join_timer, on_join_timer, g);
	loop_timer_init(&g->sync_timer, on_sync_timer, g);
}

void grp_join_restored(grp_t *g)
{
	for (grp_member_t *m = g->head; m; m = m->next)
		grp_member_touch(m);
}

/* --- protocol selection ---------------------------------------------------------- */

static int member_supports(const grp_member_t *m, grp_str_t name)
{
	for (size_t i = 0; i < m->nprotos; i++)
		if (gstr_eq(&m->protos[i].name, name))
			return 1;
	return 0;
}

/* Every member except `except` supports the protocol. */
static int all_support(const grp_t *g, grp_str_t name, const grp_member_t *except)
{
	for (const grp_member_t *m = g->head; m; m = m->next)
		if (m != except && !member_supports(m, name))
			return 0;
	return 1;
}

/* Kafka's supportsProtocols(): a joining member must share a protocol with
 * every other member, and the protocol type must match. */
static int join_supported(const grp_t *g, const grp_join_req_t *req, const grp_member_t *self)
{
	size_t others = g->nmembers - (self ? 1 : 0);
	if (req->protocol_type.len <= 0 || req->nprotocols == 0)
		return 0;
	if (others == 0)
		return 1;
	if (!gstr_eq(&g->protocol_type, req->protocol_type))
		return 0;
	for (size_t i = 0; i < req->nprotocols; i++)
		if (all_support(g, req->protocols[i].name, self))
			return 1;
	return 0;
}

/* Each member votes for the first of its protocols that every member
 * supports; the most votes win, ties going to the leader's preference.
 * Returns a view into a member's protocol name (null when no protocol is
 * common, which join_supported() prevents). */
static grp_str_t select_protocol(const grp_t *g)
{
	const grp_member_t *first = g->leader ? g->leader : g->head;
	grp_str_t best = GRP_NULL;
	size_t best_votes = 0;
	if (!first)
		return best;
	for (size_t i = 0; i < first->nprotos; i++) {
		grp_str_t cand = gstr_view(&first->protos[i].name);
		if (!all_support(g, cand, NULL))
			continue;
		size_t votes = 0;
		for (const grp_member_t *m = g->head; m; m = m->next) {
			for (size_t k = 0; k < m->nprotos; k++) {
				grp_str_t p = gstr_view(&m->protos[k].name);
				if (!all_support(g, p, NULL))
					continue;
				votes += grp_str_eq(p, cand);
				break;
			}
		}
		if (best.len < 0 || votes > best_votes) {
			best = cand;
			best_votes = votes;
		}
	}
	return best;
}

int grp_parse_subscription_topics(grp_str_t meta, gstr_t **topics)
{
	*topics = NULL;
	if (meta.len < 0)
		return -1;
	rd_t r;
	rd_init(&r, meta.p, (size_t)meta.len);
	(void)rd_be16(&r); /* version: every version starts with the topic array */
	int32_t n = (int32_t)rd_be32(&r);
	if (r.err || n < 0 || (size_t)n > rd_left(&r) / 2)
		return -1;
	gstr_t *v = calloc((size_t)n + 1, sizeof *v);
	if (!v)
		abort();
	for (int32_t i = 0; i < n; i++) {
		int16_t len = (int16_t)rd_be16(&r);
		const uint8_t *p = len >= 0 ? rd_bytes(&r, (size_t)len) : NULL;
		if (r.err || len < 0) {
			for (int32_t k = 0; k < i; k++)
				gstr_free(&v[k]);
			free(v);
			return -1;
		}
		v[i] = gstr_dup((grp_str_t){(const char *)p, len});
	}
	*topics = v;
	return n;
}

/* Records the topics the members subscribe to (for OffsetDelete). */
void grp_compute_topics(grp_t *g)
{
	for (size_t i = 0; i < g->ntopics; i++)
		gstr_free(&g->topics[i]);
	free(g->topics);
	g->topics = NULL;
	g->ntopics = 0;
	g->topics_known = 0;
	if (!gstr_eq(&g->protocol_type, grp_s("consumer")))
		return;
	for (grp_member_t *m = g->head; m; m = m->next) {
		gstr_t *t;
		int n = grp_parse_subscription_topics(
		    grp_member_meta(m, gstr_view(&g->protocol_name)), &t);
		if (n < 0)
			return; /* unknown: every topic counts as subscribed */
		g->topics = realloc(g->topics, (g->ntopics + (size_t)n + 1) * sizeof *g->topics);
		if (!g->topics)
			abort();
		for (int i = 0; i < n; i++)
			g->topics[g->ntopics++] = t[i];
		free(t);
	}
	g->topics_known = 1;
}

/* --- the rebalance ------------------------------------------------------------------ */

static void try_complete_join(grp_t *g)
{
	if (g->state != GRP_PREPARING_REBALANCE || g->initial_delay)
		return;
	if (g->n_awaiting_join == g->nmembers && map_len(&g->pending) == 0)
		complete_join(g);
}

static void prepare_rebalance(grp_t *g, const char *why)
{
	grp_coord_t *gc = g->gc;
	if (g->state == GRP_COMPLETING_REBALANCE) {
		/* Members waiting in SyncGroup must rejoin. */
		for (grp_member_t *m = g->head; m; m = m->next) {
			gstr_set(&m->assignment, grp_s(""));
			member_sync_answer(m, GRP_ERR_REBALANCE_IN_PROGRESS);
		}
	}
	loop_timer_stop(gc->loop, &g->sync_timer);
	for (grp_member_t *m = g->head; m; m = m->next)
		m->pending_sync = 0;
	int from_empty = g->state == GRP_EMPTY;
	grp_set_state(g, GRP_PREPARING_REBALANCE, why);
	if (from_empty) {
		int64_t delay = gc->opts.initial_rebalance_delay_ms;
		int64_t rem = group_rebalance_timeout(g) - delay;
		g->initial_delay = 1;
		g->new_member_added = 0;
		g->initial_remaining_ms = rem > 0 ? rem : 0;
		loop_timer_start(gc->loop, &g->join_timer, delay);
	} else {
		g->initial_delay = 0;
		loop_timer_start(gc->loop, &g->join_timer, group_rebalance_timeout(g));
		try_complete_join(g);
	}
}

static void maybe_prepare_rebalance(grp_t *g, const char *why)
{
	if (g->state == GRP_STABLE || g->state == GRP_COMPLETING_REBALANCE || g->state == GRP_EMPTY)
		prepare_rebalance(g, why);
}

static void complete_join(grp_t *g)
{
	grp_coord_t *gc = g->gc;
	loop_timer_stop(gc->loop, &g->join_timer);
	g->initial_delay = 0;
	grp_member_t *next;
	for (grp_member_t *m = g->head; m; m = next) {
		next = m->next;
		if (m->join_cb || m->instance.len >= 0)
			continue;
		log_info(gc->log, "group %s: member %s did not rejoin in time; removed",
		         gstr_z(&g->id), gstr_z(&m->id));
		member_sync_answer(m, GRP_ERR_UNKNOWN_MEMBER_ID);
		grp_member_remove(m);
	}
	if (g->nmembers > 0 && !g->leader->join_cb) {
		grp_member_t *m = g->head;
		while (m && !m->join_cb)
			m = m->next;
		if (!m) {
			/* Only static members that have not rejoined are left:
			 * wait for them or for their sessions to expire. */
			loop_timer_start(gc->loop, &g->join_timer, group_rebalance_timeout(g));
			return;
		}
		g->leader = m;
	}
	g->generation++;
	if (g->nmembers == 0) {
		gstr_free(&g->protocol_name);
		grp_set_state(g, GRP_EMPTY, "rebalance ended with no members");
		if (grp_store_group(g))
			log_warn(gc->log, "group %s: cannot store the empty group", gstr_z(&g->id));
		return;
	}
	gstr_set(&g->protocol_name, select_protocol(g));
	grp_compute_topics(g);
	grp_set_state(g, GRP_COMPLETING_REBALANCE,
	              "every member joined or the rebalance timed out");
	size_t n = 0;
	grp_join_member_t *list = member_list(g, &n);
	for (grp_member_t *m = g->head; m; m = m->next) {
		grp_join_res_t r;
		fill_current(g, m, &r);
		if (m == g->leader) {
			r.members = list;
			r.nmembers = n;
		}
		m->is_new = 0;
		m->pending_sync = 1;
		grp_member_touch(m);
		member_join_answer(m, &r);
	}
	free(list);
	loop_timer_start(gc->loop, &g->sync_timer, group_rebalance_timeout(g));
}

static void remove_member_and_update(grp_t *g, grp_member_t *m, const char *why)
{
	member_join_error(m, GRP_NULL, GRP_ERR_UNKNOWN_MEMBER_ID);
	member_sync_answer(m, GRP_ERR_UNKNOWN_MEMBER_ID);
	grp_member_remove(m);
	switch (g->state) {
	case GRP_STABLE:
	case GRP_COMPLETING_REBALANCE:
		maybe_prepare_rebalance(g, why);
		break;
	case GRP_PREPARING_REBALANCE:
		try_complete_join(g);
		break;
	case GRP_EMPTY:
	case GRP_DEAD:
		break;
	}
}

/* --- JoinGroup ------------------------------------------------------------------------- */

/* Kafka's member ids: "<client.id>-<uuid>". */
static gstr_t new_member_id(grp_str_t client_id)
{
	uint8_t u[16];
	if (getrandom(u, sizeof u, 0) != (ssize_t)sizeof u) {
		uint64_t a = (uint64_t)time_mono_ns(), b = (uint64_t)time_wall_us();
		memcpy(u, &a, 8);
		memcpy(u + 8, &b, 8);
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	client_id = str_or_empty(client_id);
	size_t n = (size_t)client_id.len + 38;
	char *s = malloc(n);
	if (!s)
		abort();
	int k = snprintf(s, n, "%.*s-", (int)client_id.len, client_id.p ? client_id.p : "");
	for (int i = 0; i < 16; i++) {
		k += snprintf(s + k, n - (size_t)k, "%02x", u[i]);
		if (i == 3 || i == 5 || i == 7 || i == 9)
			s[k++] = '-';
	}
	s[k] = 0;
	gstr_t id = {s, k};
	return id;
}

static int group_full(const grp_t *g)
{
	return (int64_t)(g->nmembers + map_len(&g->pending)) >= g->gc->opts.max_size;
}

static int32_t req_rebalance_timeout(const grp_join_req_t *req)
{
	return req->rebalance_timeout_ms < 0 ? req->session_timeout_ms : req->rebalance_timeout_ms;
}

static void update_member(grp_member_t *m, const grp_join_req_t *req)
{
	grp_member_set_protocols(m, req->protocols, req->nprotocols);
	m->session_timeout_ms = req->session_timeout_ms;
	m->rebalance_timeout_ms = req_rebalance_timeout(req);
	gstr_set(&m->client_id, str_or_empty(req->client_id));
	gstr_set(&m->client_host, str_or_empty(req->client_host));
}

static void add_member_and_rebalance(grp_t *g, grp_str_t id, const grp_join_req_t *req,
                                     grp_join_cb cb, void *arg)
{
	if (g->nmembers == 0)
		gstr_set(&g->protocol_type, req->protocol_type);
	grp_member_t *m = grp_member_add(g, id, req->instance_id, req->client_id, req->client_host,
	                                 req->session_timeout_ms, req_rebalance_timeout(req));
	grp_member_set_protocols(m, req->protocols, req->nprotocols);
	m->is_new = 1;
	if (g->state == GRP_PREPARING_REBALANCE && g->generation == 0)
		g->new_member_added = 1;
	park_join(m, cb, arg);
	m->last_seen_ms = loop_now_ms(g->gc->loop);
	loop_timer_start(g->gc->loop, &m->timer, g->gc->opts.new_member_join_timeout_ms);
	log_info(g->gc->log, "group %s: member %s (client %.*s%s%.*s) joins", gstr_z(&g->id),
	         gstr_z(&m->id), (int)m->client_id.len, m->client_id.p,
	         m->instance.len >= 0 ? ", instance " : "",
	         m->instance.len >= 0 ? (int)m->instance.len : 0,
	         m->instance.len >= 0 ? m->instance.p : "");
	maybe_prepare_rebalance(g, "a new member joined");
}

static void update_member_and_rebalance(grp_t *g, grp_member_t *m, const grp_join_req_t *req,
                                        grp_join_cb cb, void *arg, const char *why)
{
	update_member(m, req);
	park_join(m, cb, arg);
	maybe_prepare_rebalance(g, why);
}

static int member_matches(const grp_member_t *m, const grp_join_req_t *req)
{
	if (m->nprotos != req->nprotocols)
		return 0;
	for (size_t i = 0; i < m->nprotos; i++)
		if (!gstr_eq(&m->protos[i].name, req->protocols[i].name) ||
		    !gstr_eq(&m->protos[i].meta, str_or_empty(req->protocols[i].meta)))
			return 0;
	return 1;
}

/* KIP-345: a known group.instance.id joins with a new member id. */
static void static_rejoin(grp_t *g, grp_member_t *m, grp_str_t new_id, const grp_join_req_t *req,
                          grp_join_cb cb, void *arg)
{
	log_info(g->gc->log, "group %s: static member %.*s rejoins; member id %s replaced by %.*s",
	         gstr_z(&g->id), (int)m->instance.len, m->instance.p, gstr_z(&m->id),
	         (int)new_id.len, new_id.p);
	member_join_error(m, gstr_view(&m->id), GRP_ERR_FENCED_INSTANCE_ID);
	member_sync_answer(m, GRP_ERR_FENCED_INSTANCE_ID);
	gstr_t old_id = gstr_dup(gstr_view(&m->id));
	grp_member_rename(m, new_id);
	update_member(m, req);
	grp_member_touch(m);
	switch (g->state) {
	case GRP_STABLE:
		if (grp_str_eq(select_protocol(g), gstr_view(&g->protocol_name))) {
			if (grp_store_group(g)) {
				/* Kafka's rule: the replacement is undone and the
				 * joiner told; the old id stays valid. */
				log_warn(g->gc->log,
				         "group %s: cannot store the replaced static member; "
				         "replacement undone",
				         gstr_z(&g->id));
				grp_member_rename(m, gstr_view(&old_id));
				join_error(cb, arg, req->member_id, GRP_ERR_STORAGE_ERROR);
			} else {
				answer_current(g, m, cb, arg, m == g->leader);
			}
			gstr_free(&old_id);
			return;
		}
		park_join(m, cb, arg);
		prepare_rebalance(g, "a static member rejoined with other protocols");
		break;
	case GRP_COMPLETING_REBALANCE:
		/* It may have missed the generation it was given: start over. */
		park_join(m, cb, arg);
		prepare_rebalance(g, "a static member rejoined during CompletingRebalance");
		break;
	case GRP_PREPARING_REBALANCE:
	case GRP_EMPTY:
	case GRP_DEAD:
		park_join(m, cb, arg);
		maybe_prepare_rebalance(g, "a static member rejoined");
		break;
	}
	gstr_free(&old_id);
}

static void join_new_member(grp_t *g, const grp_join_req_t *req, grp_join_cb cb, void *arg)
{
	if (!join_supported(g, req, NULL)) {
		join_error(cb, arg, req->member_id, GRP_ERR_INCONSISTENT_GROUP_PROTOCOL);
		return;
	}
	grp_member_t *st = grp_member_by_instance(g, req->instance_id);
	if (!st && group_full(g)) {
		join_error(cb, arg, req->member_id, GRP_ERR_GROUP_MAX_SIZE_REACHED);
		return;
	}
	gstr_t id = new_member_id(req->client_id);
	if (st) {
		static_rejoin(g, st, gstr_view(&id), req, cb, arg);
	} else if (req->instance_id.len < 0 && req->require_known_member_id) {
		/* KIP-394: hand out the id and wait for the member to come back
		 * with it, so a client that never learns its id (a timed-out
		 * response) cannot leave ghost members behind. */
		grp_pending_t *p = calloc(1, sizeof *p);
		if (!p)
			abort();
		p->g = g;
		p->id = id;
		id.p = NULL;
		loop_timer_init(&p->timer, on_pending_timer, p);
		loop_timer_start(g->gc->loop, &p->timer, req->session_timeout_ms);
		map_put(&g->pending, p->id.p, (size_t)p->id.len, p);
		join_error(cb, arg, gstr_view(&p->id), GRP_ERR_MEMBER_ID_REQUIRED);
	} else {
		add_member_and_rebalance(g, gstr_view(&id), req, cb, arg);
	}
	gstr_free(&id);
}

int grp_fenced(grp_t *g, grp_str_t member_id, grp_str_t instance_id)
{
	grp_member_t *st = grp_member_by_instance(g, instance_id);
	return st && !gstr_eq(&st->id, member_id);
}

static void join_known_member(grp_t *g, const grp_join_req_t *req, grp_join_cb cb, void *arg)
{
	grp_member_t *m = grp_member_find(g, req->member_id);
	if (!join_supported(g, req, m)) {
		join_error(cb, arg, req->member_id, GRP_ERR_INCONSISTENT_GROUP_PROTOCOL);
		return;
	}
	grp_pending_t *p = map_get(&g->pending, req->member_id.p, (size_t)req->member_id.len);
	if (p && !m) {
		gstr_t id = gstr_dup(req->member_id);
		remove_pending(g, p);
		add_member_and_rebalance(g, gstr_view(&id), req, cb, arg);
		gstr_free(&id);
		return;
	}
	if (grp_fenced(g, req->member_id, req->instance_id)) {
		join_error(cb, arg, req->member_id, GRP_ERR_FENCED_INSTANCE_ID);
		return;
	}
	if (!m || (req->instance_id.len >= 0 && !grp_member_by_instance(g, req->instance_id))) {
		join_error(cb, arg, req->member_id, GRP_ERR_UNKNOWN_MEMBER_ID);
		return;
	}
	switch (g->state) {
	case GRP_PREPARING_REBALANCE:
		update_member_and_rebalance(g, m, req, cb, arg, "member rejoined");
		return;
	case GRP_COMPLETING_REBALANCE:
		if (member_matches(m, req)) {
			/* It lost the answer it was given: repeat it. */
			answer_current(g, m, cb, arg, 0);
			return;
		}
		update_member_and_rebalance(g, m, req, cb, arg, "member changed its protocols");
		return;
	case GRP_STABLE:
		if (m == g->leader || !member_matches(m, req)) {
			update_member_and_rebalance(g, m, req, cb, arg,
			                            m == g->leader
			                                ? "the leader rejoined"
			                                : "member changed its protocols");
			return;
		}
		grp_member_touch(m);
		answer_current(g, m, cb, arg, 0);
		return;
	case GRP_EMPTY:
	case GRP_DEAD:
		join_error(cb, arg, req->member_id, GRP_ERR_UNKNOWN_MEMBER_ID);
		return;
	}
}

void grp_join(grp_coord_t *gc, const grp_join_req_t *req, grp_join_cb cb, void *arg)
{
	if (req->group_id.len <= 0) {
		join_error(cb, arg, req->member_id, GRP_ERR_INVALID_GROUP_ID);
		return;
	}
	if (req->session_timeout_ms < gc->opts.min_session_timeout_ms ||
	    req->session_timeout_ms > gc->opts.max_session_timeout_ms) {
		join_error(cb, arg, req->member_id, GRP_ERR_INVALID_SESSION_TIMEOUT);
		return;
	}
	if (gc->closing) {
		join_error(cb, arg, req->member_id, GRP_ERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	if (grp_writable(gc)) {
		join_error(cb, arg, req->member_id, GRP_ERR_STORAGE_ERROR);
		return;
	}
	int first = req->member_id.len <= 0;
	grp_t *g = grp_find(gc, req->group_id);
	if (!g) {
		if (!first) {
			join_error(cb, arg, req->member_id, GRP_ERR_UNKNOWN_MEMBER_ID);
			return;
		}
		g = grp_create(gc, req->group_id);
	}
	if (req->reason.len > 0)
		log_debug(gc->log, "group %s: JoinGroup from %.*s: %.*s", gstr_z(&g->id),
		          (int)str_or_empty(req->member_id).len,
		          req->member_id.p ? req->member_id.p : "", (int)req->reason.len,
		          req->reason.p);
	if (first)
		join_new_member(g, req, cb, arg);
	else
		join_known_member(g, req, cb, arg);
	try_complete_join(g);
	grp_drop_if_unused(g);
}

/* --- SyncGroup --------------------------------------------------------------------------- */

static void sync_error(grp_sync_cb cb, void *arg, grp_err_t err)
{
	grp_sync_res_t r = {err, GRP_NULL, GRP_NULL, {"", 0}};
	cb(arg, &r);
}

static void stop_sync_timer_if_done(grp_t *g)
{
	for (grp_member_t *m = g->head; m; m = m->next)
		if (m->pending_sync)
			return;
	loop_timer_stop(g->gc->loop, &g->sync_timer);
}

void grp_sync(grp_coord_t *gc, const grp_sync_req_t *req, grp_sync_cb cb, void *arg)
{
	if (req->group_id.len <= 0) {
		sync_error(cb, arg, GRP_ERR_INVALID_GROUP_ID);
		return;
	}
	if (gc->closing) {
		sync_error(cb, arg, GRP_ERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	if (grp_writable(gc)) {
		sync_error(cb, arg, GRP_ERR_STORAGE_ERROR);
		return;
	}
	grp_t *g = grp_find(gc, req->group_id);
	if (!g) {
		sync_error(cb, arg, GRP_ERR_UNKNOWN_MEMBER_ID);
		return;
	}
	if (grp_fenced(g, req->member_id, req->instance_id)) {
		sync_error(cb, arg, GRP_ERR_FENCED_INSTANCE_ID);
		return;
	}
	grp_member_t *m = grp_member_find(g, req->member_id);
	if (!m) {
		sync_error(cb, arg, GRP_ERR_UNKNOWN_MEMBER_ID);
		return;
	}
	if (req->generation != g->generation) {
		sync_error(cb, arg, GRP_ERR_ILLEGAL_GENERATION);
		return;
	}
	/* KIP-559 (v5): the client checks what it thinks it joined. */
	if ((req->protocol_type.len >= 0 && !gstr_eq(&g->protocol_type, req->protocol_type)) ||
	    (req->protocol_name.len >= 0 && !gstr_eq(&g->protocol_name, req->protocol_name))) {
		sync_error(cb, arg, GRP_ERR_INCONSISTENT_GROUP_PROTOCOL);
		return;
	}
	switch (g->state) {
	case GRP_EMPTY:
	case GRP_DEAD:
		sync_error(cb, arg, GRP_ERR_UNKNOWN_MEMBER_ID);
		return;
	case GRP_PREPARING_REBALANCE:
		sync_error(cb, arg, GRP_ERR_REBALANCE_IN_PROGRESS);
		return;
	case GRP_COMPLETING_REBALANCE:
		m->pending_sync = 0;
		park_sync(m, cb, arg);
		if (m == g->leader) {
			/* Members the leader left out get an empty assignment;
			 * entries for unknown members are ignored. */
			for (grp_member_t *x = g->head; x; x = x->next)
				gstr_set(&x->assignment, grp_s(""));
			for (size_t i = 0; i < req->nassignments; i++) {
				grp_member_t *x = grp_member_find(g, req->assignments[i].member_id);
				if (x)
					gstr_set(&x->assignment,
					         str_or_empty(req->assignments[i].assignment));
			}
			/* The record first (it does not depend on the state):
			 * a Stable group must be on disk. */
			if (grp_store_group(g)) {
				/* Kafka's doSyncGroup: every member gets the error
				 * and the group rebalances. */
				log_warn(gc->log,
				         "group %s: cannot store the group's assignment; "
				         "rebalancing",
				         gstr_z(&g->id));
				for (grp_member_t *x = g->head; x; x = x->next) {
					gstr_set(&x->assignment, grp_s(""));
					member_sync_answer(x, GRP_ERR_STORAGE_ERROR);
				}
				prepare_rebalance(g, "the assignment could not be stored");
				return;
			}
			grp_set_state(g, GRP_STABLE, "the leader sent the assignment");
			for (grp_member_t *x = g->head; x; x = x->next) {
				if (x->sync_cb) {
					member_sync_answer(x, GRP_ERR_OK);
					grp_member_touch(x);
				}
			}
		}
		stop_sync_timer_if_done(g);
		return;
	case GRP_STABLE: {
		m->pending_sync = 0;
		grp_member_touch(m);
		grp_sync_res_t r = {GRP_ERR_OK, gstr_view(&g->protocol_type),
		                    gstr_view(&g->protocol_name), gstr_view(&m->assignment)};
		cb(arg, &r);
		stop_sync_timer_if_done(g);
		return;
	}
	}
}

/* --- Heartbeat / LeaveGroup --------------------------------------------------------------- */

grp_err_t grp_heartbeat(grp_coord_t *gc, grp_str_t group_id, grp_str_t member_id,
                        grp_str_t instance_id, int32_t generation)
{
	if (group_id.len <= 0)
		return GRP_ERR_INVALID_GROUP_ID;
	if (gc->closing)
		return GRP_ERR_COORDINATOR_NOT_AVAILABLE;
	if (grp_writable(gc))
		return GRP_ERR_STORAGE_ERROR;
	grp_t *g = grp_find(gc, group_id);
	if (!g)
		return GRP_ERR_UNKNOWN_MEMBER_ID;
	if (grp_fenced(g, member_id, instance_id))
		return GRP_ERR_FENCED_INSTANCE_ID;
	grp_member_t *m = grp_member_find(g, member_id);
	if (!m)
		return GRP_ERR_UNKNOWN_MEMBER_ID;
	if (generation != g->generation)
		return GRP_ERR_ILLEGAL_GENERATION;
	switch (g->state) {
	case GRP_EMPTY:
	case GRP_DEAD:
		return GRP_ERR_UNKNOWN_MEMBER_ID;
	case GRP_PREPARING_REBALANCE:
		/* This is how members learn they must rejoin. */
		grp_member_touch(m);
		return GRP_ERR_REBALANCE_IN_PROGRESS;
	case GRP_COMPLETING_REBALANCE:
	case GRP_STABLE:
		grp_member_touch(m);
		return GRP_ERR_OK;
	}
	return GRP_ERR_OK;
}

grp_err_t grp_leave(grp_coord_t *gc, grp_str_t group_id, grp_leave_member_t *ms, size_t n)
{
	if (group_id.len <= 0)
		return GRP_ERR_INVALID_GROUP_ID;
	if (gc->closing)
		return GRP_ERR_COORDINATOR_NOT_AVAILABLE;
	if (grp_writable(gc))
		return GRP_ERR_STORAGE_ERROR;
	grp_t *g = grp_find(gc, group_id);
	for (size_t i = 0; i < n; i++) {
		grp_leave_member_t *x = &ms[i];
		x->err = GRP_ERR_UNKNOWN_MEMBER_ID;
		if (!g)
			continue;
		grp_pending_t *p = x->member_id.len > 0 ? map_get(&g->pending, x->member_id.p,
		                                                  (size_t)x->member_id.len)
		                                        : NULL;
		if (x->member_id.len > 0 && grp_fenced(g, x->member_id, x->instance_id)) {
			x->err = GRP_ERR_FENCED_INSTANCE_ID;
		} else if (p) {
			remove_pending(g, p);
			x->err = GRP_ERR_OK;
			try_complete_join(g);
		} else {
			grp_member_t *m = grp_member_by_instance(g, x->instance_id);
			if (!m)
				m = grp_member_find(g, x->member_id);
			if (m) {
				log_info(gc->log, "group %s: member %s leaves%s%.*s",
				         gstr_z(&g->id), gstr_z(&m->id),
				         x->reason.len > 0 ? ": " : "",
				         x->reason.len > 0 ? (int)x->reason.len : 0,
				         x->reason.len > 0 ? x->reason.p : "");
				remove_member_and_update(g, m, "a member left the group");
				x->err = GRP_ERR_OK;
			}
		}
	}
	if (g)
		grp_drop_if_unused(g);
	return GRP_ERR_OK;
}

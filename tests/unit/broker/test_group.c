/*
 * test_group.c — unit tests for the coordinator's membership state
 * machine (broker/group_join.c): every state transition and every error
 * code of JoinGroup, SyncGroup, Heartbeat and LeaveGroup, through the
 * module API with a real event loop and in-memory state.
 */
#include "test_group_util.h"

/* Brings a group of n fresh members to Stable: members[i] gets its id,
 * the leader (members[0]) assigns "a<i>" to member i. Returns the
 * generation. */
static int32_t make_stable(gfx_t *fx, const char *group, size_t n, char ids[][160])
{
	jrec_t j[8];
	for (size_t i = 0; i < n; i++)
		join_new(fx, group, "range=m", &j[i]);
	gfx_run_until(fx, &j[n - 1].called);
	int32_t gen = j[0].generation;
	const char *asg[17];
	char vals[8][24];
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(j[i].called, 1);
		CHECK_EQ(j[i].err, GRP_ERR_OK);
		CHECK_EQ(j[i].generation, gen);
		snprintf(ids[i], 160, "%s", j[i].member_id);
		snprintf(vals[i], sizeof vals[i], "a%zu", i);
		asg[2 * i] = ids[i];
		asg[2 * i + 1] = vals[i];
	}
	asg[2 * n] = NULL;
	CHECK_STR(j[0].leader_id, ids[0]);
	srec_t s[8];
	for (size_t i = 1; i < n; i++)
		sync_req(fx->gc, group, ids[i], gen, NULL, &s[i]);
	sync_req(fx->gc, group, ids[0], gen, asg, &s[0]);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(s[i].called, 1);
		CHECK_EQ(s[i].err, GRP_ERR_OK);
		CHECK_STR(s[i].asg, vals[i]);
	}
	CHECK_EQ(state_of(fx->gc, group), GRP_STABLE);
	return gen;
}

TEST(group_state_names_match_kafka)
{
	CHECK_STR(grp_state_name(GRP_EMPTY), "Empty");
	CHECK_STR(grp_state_name(GRP_PREPARING_REBALANCE), "PreparingRebalance");
	CHECK_STR(grp_state_name(GRP_COMPLETING_REBALANCE), "CompletingRebalance");
	CHECK_STR(grp_state_name(GRP_STABLE), "Stable");
	CHECK_STR(grp_state_name(GRP_DEAD), "Dead");
	CHECK_STR(grp_err_name(GRP_ERR_FENCED_INSTANCE_ID), "fenced instance id");
}

TEST(group_member_id_required_round_trip_then_stable)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t j;
	jargs_t a = {"g", NULL, NULL, "range=sub", 0, 0, 1, NULL};
	join_req(fx.gc, &a, &j);
	CHECK_EQ(j.called, 1);
	CHECK_EQ(j.err, GRP_ERR_MEMBER_ID_REQUIRED);
	CHECK_EQ(j.generation, -1);
	CHECK(strncmp(j.member_id, "cli-", 4) == 0);
	CHECK_EQ(strlen(j.member_id), 4 + 36);
	/* The group exists (Empty) but has no member yet. */
	CHECK_EQ(state_of(fx.gc, "g"), GRP_EMPTY);
	char id[160];
	snprintf(id, sizeof id, "%s", j.member_id);
	a.member = id;
	join_req(fx.gc, &a, &j);
	CHECK_EQ(j.called, 0); /* parked until the (zero) initial delay passes */
	CHECK_EQ(state_of(fx.gc, "g"), GRP_PREPARING_REBALANCE);
	CHECK_EQ(grp_coord_parked(fx.gc), 1);
	gfx_run_until(&fx, &j.called);
	CHECK_EQ(j.err, GRP_ERR_OK);
	CHECK_EQ(j.generation, 1);
	CHECK_STR(j.member_id, id);
	CHECK_STR(j.leader_id, id);
	CHECK_STR(j.protocol, "range");
	CHECK_EQ(j.nmembers, 1);
	CHECK_STR(j.members[0], id);
	CHECK_STR(j.metas[0], "sub");
	CHECK_EQ(state_of(fx.gc, "g"), GRP_COMPLETING_REBALANCE);
	CHECK_EQ(grp_coord_parked(fx.gc), 0);

	/* The leader's assignment passes through unchanged, NUL bytes too. */
	static const char bytes[] = {0, 1, 2, 0, 'x', (char)0xff};
	grp_assignment_t asg = {grp_s(id), {bytes, (int32_t)sizeof bytes}};
	grp_sync_req_t sr = {grp_s("g"),        grp_s(id),      GRP_NULL, 1,
	                     grp_s("consumer"), grp_s("range"), &asg,     1};
	srec_t s = {0};
	grp_sync(fx.gc, &sr, on_sync, &s);
	CHECK_EQ(s.called, 1);
	CHECK_EQ(s.err, GRP_ERR_OK);
	CHECK_EQ(s.asg_len, (int32_t)sizeof bytes);
	CHECK_MEM(s.asg, bytes, sizeof bytes);
	CHECK_STR(s.protocol, "range");
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	CHECK_EQ(hb(fx.gc, "g", id, 1), GRP_ERR_OK);
	gfx_deinit(&fx);
}

TEST(group_only_the_leader_gets_member_metadata_and_sync_waits_for_leader)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	join_new(&fx, "g", "range=ma", &a);
	join_new(&fx, "g", "range=mb", &b);
	gfx_run_until(&fx, &b.called);
	CHECK_EQ(a.called, 1);
	CHECK_EQ(a.generation, b.generation);
	CHECK_STR(a.leader_id, a.member_id);
	CHECK_STR(b.leader_id, a.member_id);
	CHECK_EQ(a.nmembers, 2);
	CHECK_EQ(b.nmembers, 0);
	CHECK_STR(a.metas[0], "ma");
	CHECK_STR(a.metas[1], "mb");
	srec_t sb, sa;
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &sb);
	CHECK_EQ(sb.called, 0); /* parked until the leader's SyncGroup */
	CHECK_EQ(grp_coord_parked(fx.gc), 1);
	const char *asg[] = {a.member_id, "for-a", b.member_id, "for-b", NULL};
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &sa);
	CHECK_EQ(sa.called, 1);
	CHECK_EQ(sb.called, 1);
	CHECK_STR(sa.asg, "for-a");
	CHECK_STR(sb.asg, "for-b");
	/* A follower asking again in Stable gets its assignment at once. */
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &sb);
	CHECK_EQ(sb.called, 1);
	CHECK_STR(sb.asg, "for-b");
	gfx_deinit(&fx);
}

TEST(group_leader_leaving_out_a_member_gives_it_an_empty_assignment)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	join_new(&fx, "g", NULL, &a);
	join_new(&fx, "g", NULL, &b);
	gfx_run_until(&fx, &b.called);
	srec_t sa, sb;
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &sb);
	const char *asg[] = {a.member_id, "x", "ghost", "y", NULL};
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &sa);
	CHECK_EQ(sb.called, 1);
	CHECK_EQ(sb.err, GRP_ERR_OK);
	CHECK_EQ(sb.asg_len, 0);
	gfx_deinit(&fx);
}

TEST(group_protocol_chosen_by_vote_and_inconsistent_protocols_refused)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b, c, d, e;
	join_new(&fx, "g", "range=1,roundrobin=2", &a);
	join_new(&fx, "g", "roundrobin=3,range=4", &b);
	join_new(&fx, "g", "roundrobin=5,range=6", &c);
	/* Nothing in common with the others. */
	join_new(&fx, "g", "sticky=7", &d);
	CHECK_EQ(d.called, 1);
	CHECK_EQ(d.err, GRP_ERR_INCONSISTENT_GROUP_PROTOCOL);
	/* Another protocol type. */
	jargs_t x = {"g", NULL, NULL, "range=1", 0, 0, 0, "connect"};
	join_req(fx.gc, &x, &e);
	CHECK_EQ(e.err, GRP_ERR_INCONSISTENT_GROUP_PROTOCOL);
	gfx_run_until(&fx, &c.called);
	CHECK_STR(a.protocol, "roundrobin");
	CHECK_STR(b.protocol, "roundrobin");
	/* The leader gets each member's metadata for the chosen protocol. */
	CHECK_STR(a.metas[0], "2");
	CHECK_STR(a.metas[1], "3");
	CHECK_STR(a.metas[2], "5");
	/* An empty protocol type or list is refused even for a new group. */
	jargs_t y = {"h", NULL, NULL, "range=1", 0, 0, 0, ""};
	join_req(fx.gc, &y, &e);
	CHECK_EQ(e.err, GRP_ERR_INCONSISTENT_GROUP_PROTOCOL);
	CHECK_EQ(state_of(fx.gc, "h"), GRP_DEAD); /* not created */
	gfx_deinit(&fx);
}

TEST(group_join_validation_errors)
{
	gfx_t fx = {0};
	fx.opts.max_session_timeout_ms = 0;
	gfx_opts(&fx.opts);
	fx.opts.min_session_timeout_ms = 6000;
	fx.opts.max_session_timeout_ms = 30000;
	gfx_init(&fx, NULL);
	jrec_t j;
	jargs_t a = {"g", NULL, NULL, NULL, 5999, 0, 0, NULL};
	join_req(fx.gc, &a, &j);
	CHECK_EQ(j.err, GRP_ERR_INVALID_SESSION_TIMEOUT);
	a.session_ms = 30001;
	join_req(fx.gc, &a, &j);
	CHECK_EQ(j.err, GRP_ERR_INVALID_SESSION_TIMEOUT);
	a.session_ms = 6000;
	a.group = "";
	join_req(fx.gc, &a, &j);
	CHECK_EQ(j.err, GRP_ERR_INVALID_GROUP_ID);
	a.group = "g";
	a.member = "someone";
	join_req(fx.gc, &a, &j);
	CHECK_EQ(j.err, GRP_ERR_UNKNOWN_MEMBER_ID);
	CHECK_STR(j.member_id, "someone");
	CHECK_EQ(state_of(fx.gc, "g"), GRP_DEAD);
	gfx_deinit(&fx);
}

TEST(group_heartbeat_errors_follow_the_state)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	CHECK_EQ(hb(fx.gc, "nope", "m", 1), GRP_ERR_UNKNOWN_MEMBER_ID);
	CHECK_EQ(hb(fx.gc, "", "m", 1), GRP_ERR_INVALID_GROUP_ID);
	jrec_t a;
	join_new(&fx, "g", NULL, &a);
	gfx_run_until(&fx, &a.called);
	/* CompletingRebalance: heartbeats keep the member alive. */
	CHECK_EQ(hb(fx.gc, "g", a.member_id, a.generation), GRP_ERR_OK);
	CHECK_EQ(hb(fx.gc, "g", a.member_id, a.generation + 1), GRP_ERR_ILLEGAL_GENERATION);
	CHECK_EQ(hb(fx.gc, "g", "other", a.generation), GRP_ERR_UNKNOWN_MEMBER_ID);
	const char *asg[] = {a.member_id, "x", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	CHECK_EQ(hb(fx.gc, "g", a.member_id, a.generation), GRP_ERR_OK);
	/* A newcomer starts a rebalance: the old member learns it from its
	 * heartbeat. */
	jrec_t b;
	join_new(&fx, "g", NULL, &b);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_PREPARING_REBALANCE);
	CHECK_EQ(hb(fx.gc, "g", a.member_id, a.generation), GRP_ERR_REBALANCE_IN_PROGRESS);
	gfx_deinit(&fx);
}

TEST(group_member_that_does_not_rejoin_is_dropped_after_rebalance_timeout)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	jargs_t ja = {"g", NULL, NULL, NULL, 5000, 150, 0, NULL};
	join_req(fx.gc, &ja, &a);
	join_req(fx.gc, &ja, &b);
	gfx_run_until(&fx, &b.called);
	const char *asg[] = {a.member_id, "1", b.member_id, "2", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &s);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	jrec_t c, a2;
	join_req(fx.gc, &ja, &c);
	jargs_t again = ja;
	again.member = a.member_id;
	join_req(fx.gc, &again, &a2);
	/* b never rejoins: the rebalance completes when its timeout passes. */
	CHECK_EQ(a2.called, 0);
	gfx_run_until(&fx, &a2.called);
	CHECK_EQ(c.called, 1);
	CHECK_EQ(a2.err, GRP_ERR_OK);
	CHECK_EQ(a2.generation, a.generation + 1);
	CHECK_EQ(a2.nmembers, 2);
	CHECK_EQ(hb(fx.gc, "g", b.member_id, a2.generation), GRP_ERR_UNKNOWN_MEMBER_ID);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_COMPLETING_REBALANCE);
	gfx_deinit(&fx);
}

TEST(group_expired_session_removes_member_and_rebalances)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	jargs_t ja = {"g", NULL, NULL, NULL, 2000, 2000, 0, NULL};
	jargs_t jb = {"g", NULL, NULL, NULL, 100, 2000, 0, NULL};
	join_req(fx.gc, &ja, &a);
	join_req(fx.gc, &jb, &b);
	gfx_run_until(&fx, &b.called);
	const char *asg[] = {a.member_id, "1", b.member_id, "2", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &s);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	/* a keeps heartbeating; b goes silent. */
	grp_err_t e = GRP_ERR_OK;
	for (int i = 0; i < 200 && e == GRP_ERR_OK; i++) {
		gfx_run_for(&fx, 20);
		e = hb(fx.gc, "g", a.member_id, a.generation);
	}
	CHECK_EQ(e, GRP_ERR_REBALANCE_IN_PROGRESS);
	CHECK_EQ(hb(fx.gc, "g", b.member_id, b.generation), GRP_ERR_UNKNOWN_MEMBER_ID);
	jrec_t a2;
	jargs_t again = ja;
	again.member = a.member_id;
	join_req(fx.gc, &again, &a2);
	CHECK_EQ(a2.called, 1); /* the only member rejoined: done at once */
	CHECK_EQ(a2.generation, a.generation + 1);
	CHECK_EQ(a2.nmembers, 1);
	gfx_deinit(&fx);
}

TEST(group_leave_several_members_then_empty)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	char ids[3][160];
	int32_t gen = make_stable(&fx, "g", 3, ids);
	grp_leave_member_t lm[3] = {
	    {grp_s(ids[1]), GRP_NULL, grp_s("bye"), GRP_ERR_OK},
	    {grp_s("ghost"), GRP_NULL, GRP_NULL, GRP_ERR_OK},
	    {grp_s(ids[2]), GRP_NULL, GRP_NULL, GRP_ERR_OK},
	};
	CHECK_EQ(grp_leave(fx.gc, grp_s("g"), lm, 3), GRP_ERR_OK);
	CHECK_EQ(lm[0].err, GRP_ERR_OK);
	CHECK_EQ(lm[1].err, GRP_ERR_UNKNOWN_MEMBER_ID);
	CHECK_EQ(lm[2].err, GRP_ERR_OK);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_PREPARING_REBALANCE);
	CHECK_EQ(hb(fx.gc, "g", ids[0], gen), GRP_ERR_REBALANCE_IN_PROGRESS);
	grp_leave_member_t last = {grp_s(ids[0]), GRP_NULL, GRP_NULL, GRP_ERR_OK};
	CHECK_EQ(grp_leave(fx.gc, grp_s("g"), &last, 1), GRP_ERR_OK);
	CHECK_EQ(last.err, GRP_ERR_OK);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_EMPTY);
	grp_desc_t d;
	grp_describe(fx.gc, grp_s("g"), &d);
	CHECK_EQ(d.nmembers, 0);
	CHECK_EQ(d.generation, gen + 1);
	grp_desc_free(&d);
	/* Leaving a group that does not exist. */
	grp_leave_member_t x = {grp_s("m"), GRP_NULL, GRP_NULL, GRP_ERR_OK};
	CHECK_EQ(grp_leave(fx.gc, grp_s("nope"), &x, 1), GRP_ERR_OK);
	CHECK_EQ(x.err, GRP_ERR_UNKNOWN_MEMBER_ID);
	CHECK_EQ(grp_leave(fx.gc, grp_s(""), &x, 1), GRP_ERR_INVALID_GROUP_ID);
	gfx_deinit(&fx);
}

TEST(group_leave_of_a_parked_joiner_answers_it)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	char ids[2][160];
	make_stable(&fx, "g", 2, ids);
	jrec_t a;
	jargs_t ja = {"g", ids[0], NULL, NULL, 0, 0, 0, NULL};
	join_req(fx.gc, &ja, &a);
	CHECK_EQ(a.called, 0);
	grp_leave_member_t lm = {grp_s(ids[0]), GRP_NULL, GRP_NULL, GRP_ERR_OK};
	CHECK_EQ(grp_leave(fx.gc, grp_s("g"), &lm, 1), GRP_ERR_OK);
	CHECK_EQ(a.called, 1);
	CHECK_EQ(a.err, GRP_ERR_UNKNOWN_MEMBER_ID);
	CHECK_EQ(grp_coord_parked(fx.gc), 0);
	gfx_deinit(&fx);
}

TEST(group_sync_errors)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	srec_t s;
	sync_req(fx.gc, "nope", "m", 1, NULL, &s);
	CHECK_EQ(s.err, GRP_ERR_UNKNOWN_MEMBER_ID);
	sync_req(fx.gc, "", "m", 1, NULL, &s);
	CHECK_EQ(s.err, GRP_ERR_INVALID_GROUP_ID);
	jrec_t a, b;
	join_new(&fx, "g", NULL, &a);
	join_new(&fx, "g", NULL, &b);
	gfx_run_until(&fx, &b.called);
	sync_req(fx.gc, "g", "ghost", a.generation, NULL, &s);
	CHECK_EQ(s.err, GRP_ERR_UNKNOWN_MEMBER_ID);
	sync_req(fx.gc, "g", a.member_id, a.generation - 1, NULL, &s);
	CHECK_EQ(s.err, GRP_ERR_ILLEGAL_GENERATION);
	/* v5: the client names what it joined; a mismatch is refused. */
	grp_sync_req_t sr = {grp_s("g"),        grp_s(b.member_id),  GRP_NULL, b.generation,
	                     grp_s("consumer"), grp_s("roundrobin"), NULL,     0};
	grp_sync(fx.gc, &sr, on_sync, &s);
	CHECK_EQ(s.err, GRP_ERR_INCONSISTENT_GROUP_PROTOCOL);
	/* A parked follower is told to rejoin when a rebalance starts. */
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &s);
	CHECK_EQ(s.called, 0);
	jrec_t c;
	join_new(&fx, "g", NULL, &c);
	CHECK_EQ(s.called, 1);
	CHECK_EQ(s.err, GRP_ERR_REBALANCE_IN_PROGRESS);
	srec_t s2;
	sync_req(fx.gc, "g", a.member_id, a.generation, NULL, &s2);
	CHECK_EQ(s2.err, GRP_ERR_REBALANCE_IN_PROGRESS);
	gfx_deinit(&fx);
}

TEST(group_member_without_sync_is_removed_after_rebalance_timeout)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	jargs_t ja = {"g", NULL, NULL, NULL, 10000, 100, 0, NULL};
	join_req(fx.gc, &ja, &a);
	join_req(fx.gc, &ja, &b);
	gfx_run_until(&fx, &b.called);
	const char *asg[] = {a.member_id, "1", b.member_id, "2", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	/* b never sends SyncGroup: removed, and the group rebalances. */
	grp_err_t e = GRP_ERR_OK;
	for (int i = 0; i < 200 && e == GRP_ERR_OK; i++) {
		gfx_run_for(&fx, 10);
		e = hb(fx.gc, "g", a.member_id, a.generation);
	}
	CHECK_EQ(e, GRP_ERR_REBALANCE_IN_PROGRESS);
	CHECK_EQ(hb(fx.gc, "g", b.member_id, b.generation), GRP_ERR_UNKNOWN_MEMBER_ID);
	gfx_deinit(&fx);
}

TEST(group_static_member_rejoins_without_rebalance_and_old_id_is_fenced)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	jargs_t ja = {"g", NULL, "inst-a", NULL, 0, 0, 1, NULL};
	jargs_t jb = {"g", NULL, "inst-b", NULL, 0, 0, 1, NULL};
	/* Static members skip MEMBER_ID_REQUIRED even on v4+. */
	join_req(fx.gc, &ja, &a);
	join_req(fx.gc, &jb, &b);
	CHECK_EQ(a.called, 0);
	gfx_run_until(&fx, &b.called);
	const char *asg[] = {a.member_id, "pa", b.member_id, "pb", NULL};
	srec_t s;
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &s);
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	/* b restarts: same instance id, no member id. */
	jrec_t b2;
	join_req(fx.gc, &jb, &b2);
	CHECK_EQ(b2.called, 1);
	CHECK_EQ(b2.err, GRP_ERR_OK);
	CHECK_EQ(b2.generation, b.generation);
	CHECK(strcmp(b2.member_id, b.member_id) != 0);
	CHECK_STR(b2.leader_id, a.member_id);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	/* It keeps its assignment. */
	sync_req(fx.gc, "g", b2.member_id, b2.generation, NULL, &s);
	CHECK_EQ(s.err, GRP_ERR_OK);
	CHECK_STR(s.asg, "pb");
	/* The old id is fenced wherever it shows up with the instance id. */
	CHECK_EQ(
	    grp_heartbeat(fx.gc, grp_s("g"), grp_s(b.member_id), grp_s("inst-b"), b.generation),
	    GRP_ERR_FENCED_INSTANCE_ID);
	CHECK_EQ(hb(fx.gc, "g", b.member_id, b.generation), GRP_ERR_UNKNOWN_MEMBER_ID);
	CHECK_EQ(
	    grp_heartbeat(fx.gc, grp_s("g"), grp_s(b2.member_id), grp_s("inst-b"), b.generation),
	    GRP_ERR_OK);
	jrec_t old;
	jargs_t jold = jb;
	jold.member = b.member_id;
	join_req(fx.gc, &jold, &old);
	CHECK_EQ(old.err, GRP_ERR_FENCED_INSTANCE_ID);
	grp_sync_req_t sr = {
	    grp_s("g"), grp_s(b.member_id), grp_s("inst-b"), b.generation, GRP_NULL, GRP_NULL, NULL,
	    0};
	grp_sync(fx.gc, &sr, on_sync, &s);
	CHECK_EQ(s.err, GRP_ERR_FENCED_INSTANCE_ID);
	grp_leave_member_t lm = {grp_s(b.member_id), grp_s("inst-b"), GRP_NULL, GRP_ERR_OK};
	grp_leave(fx.gc, grp_s("g"), &lm, 1);
	CHECK_EQ(lm.err, GRP_ERR_FENCED_INSTANCE_ID);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	/* Leaving by instance id alone works. */
	grp_leave_member_t li = {grp_s(""), grp_s("inst-b"), GRP_NULL, GRP_ERR_OK};
	grp_leave(fx.gc, grp_s("g"), &li, 1);
	CHECK_EQ(li.err, GRP_ERR_OK);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_PREPARING_REBALANCE);
	gfx_deinit(&fx);
}

TEST(group_static_leader_rejoin_returns_members_with_skip_assignment)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	jargs_t ja = {"g", NULL, "inst-a", NULL, 0, 0, 0, NULL};
	jargs_t jb = {"g", NULL, "inst-b", NULL, 0, 0, 0, NULL};
	join_req(fx.gc, &ja, &a);
	join_req(fx.gc, &jb, &b);
	gfx_run_until(&fx, &b.called);
	const char *asg[] = {a.member_id, "pa", b.member_id, "pb", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	jrec_t a2;
	join_req(fx.gc, &ja, &a2);
	CHECK_EQ(a2.err, GRP_ERR_OK);
	CHECK_STR(a2.leader_id, a2.member_id);
	CHECK_EQ(a2.skip, 1);
	CHECK_EQ(a2.nmembers, 2);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	gfx_deinit(&fx);
}

TEST(group_static_member_that_never_returns_expires)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	jargs_t ja = {"g", NULL, "inst-a", NULL, 5000, 5000, 0, NULL};
	jargs_t jb = {"g", NULL, "inst-b", NULL, 100, 5000, 0, NULL};
	join_req(fx.gc, &ja, &a);
	join_req(fx.gc, &jb, &b);
	gfx_run_until(&fx, &b.called);
	const char *asg[] = {a.member_id, "pa", b.member_id, "pb", NULL};
	srec_t s;
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &s);
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	grp_err_t e = GRP_ERR_OK;
	for (int i = 0; i < 200 && e == GRP_ERR_OK; i++) {
		gfx_run_for(&fx, 20);
		e = grp_heartbeat(fx.gc, grp_s("g"), grp_s(a.member_id), grp_s("inst-a"),
		                  a.generation);
	}
	CHECK_EQ(e, GRP_ERR_REBALANCE_IN_PROGRESS);
	grp_desc_t d;
	grp_describe(fx.gc, grp_s("g"), &d);
	CHECK_EQ(d.nmembers, 1);
	grp_desc_free(&d);
	gfx_deinit(&fx);
}

TEST(group_initial_delay_batches_joiners_into_one_generation)
{
	gfx_t fx = {0};
	gfx_opts(&fx.opts);
	fx.opts.initial_rebalance_delay_ms = 150;
	gfx_init(&fx, NULL);
	jrec_t a, b;
	join_new(&fx, "g", NULL, &a);
	for (int i = 0; i < 3; i++)
		loop_run_once(fx.loop, 0);
	CHECK_EQ(a.called, 0);
	join_new(&fx, "g", NULL, &b);
	CHECK_EQ(a.called, 0);
	gfx_run_until(&fx, &a.called);
	CHECK_EQ(b.called, 1);
	CHECK_EQ(a.generation, 1);
	CHECK_EQ(b.generation, 1);
	CHECK_EQ(a.nmembers, 2);
	gfx_deinit(&fx);
}

TEST(group_rejoin_during_completing_with_same_metadata_repeats_the_answer)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	join_new(&fx, "g", "range=x", &a);
	join_new(&fx, "g", "range=y", &b);
	gfx_run_until(&fx, &b.called);
	jrec_t b2;
	jargs_t jb = {"g", b.member_id, NULL, "range=y", 0, 0, 0, NULL};
	join_req(fx.gc, &jb, &b2);
	CHECK_EQ(b2.called, 1);
	CHECK_EQ(b2.generation, b.generation);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_COMPLETING_REBALANCE);
	/* Changed metadata starts a new rebalance. */
	jb.protos = "range=z";
	join_req(fx.gc, &jb, &b2);
	CHECK_EQ(b2.called, 0);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_PREPARING_REBALANCE);
	gfx_deinit(&fx);
}

TEST(group_stable_follower_rejoin_with_same_metadata_changes_nothing)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	char ids[2][160];
	int32_t gen = make_stable(&fx, "g", 2, ids);
	jrec_t j;
	jargs_t jb = {"g", ids[1], NULL, "range=m", 0, 0, 0, NULL};
	join_req(fx.gc, &jb, &j);
	CHECK_EQ(j.called, 1);
	CHECK_EQ(j.generation, gen);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	/* The leader rejoining always rebalances (it wants to reassign). */
	jargs_t ja = {"g", ids[0], NULL, "range=m", 0, 0, 0, NULL};
	join_req(fx.gc, &ja, &j);
	CHECK_EQ(j.called, 0);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_PREPARING_REBALANCE);
	gfx_deinit(&fx);
}

TEST(group_pending_member_id_expires)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t j;
	jargs_t a = {"g", NULL, NULL, NULL, 50, 0, 1, NULL};
	join_req(fx.gc, &a, &j);
	CHECK_EQ(j.err, GRP_ERR_MEMBER_ID_REQUIRED);
	char id[160];
	snprintf(id, sizeof id, "%s", j.member_id);
	gfx_run_for(&fx, 150);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_DEAD); /* nothing left: dropped */
	a.member = id;
	join_req(fx.gc, &a, &j);
	CHECK_EQ(j.err, GRP_ERR_UNKNOWN_MEMBER_ID);
	gfx_deinit(&fx);
}

TEST(group_pending_member_holds_the_rebalance_until_it_joins_or_leaves)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	char ids[1][160];
	make_stable(&fx, "g", 1, ids);
	jrec_t p;
	jargs_t a = {"g", NULL, NULL, NULL, 0, 0, 1, NULL};
	join_req(fx.gc, &a, &p);
	CHECK_EQ(p.err, GRP_ERR_MEMBER_ID_REQUIRED);
	jrec_t l;
	jargs_t jl = {"g", ids[0], NULL, NULL, 0, 0, 0, NULL};
	join_req(fx.gc, &jl, &l); /* the leader rejoins: rebalance */
	for (int i = 0; i < 5; i++)
		loop_run_once(fx.loop, 0);
	CHECK_EQ(l.called, 0); /* waits for the pending id */
	grp_leave_member_t lm = {grp_s(p.member_id), GRP_NULL, GRP_NULL, GRP_ERR_OK};
	CHECK_EQ(grp_leave(fx.gc, grp_s("g"), &lm, 1), GRP_ERR_OK);
	CHECK_EQ(lm.err, GRP_ERR_OK);
	CHECK_EQ(l.called, 1);
	CHECK_EQ(l.err, GRP_ERR_OK);
	gfx_deinit(&fx);
}

TEST(group_max_size_is_enforced)
{
	gfx_t fx = {0};
	gfx_opts(&fx.opts);
	fx.opts.max_size = 1;
	gfx_init(&fx, NULL);
	jrec_t a, b;
	join_new(&fx, "g", NULL, &a);
	join_new(&fx, "g", NULL, &b);
	CHECK_EQ(b.called, 1);
	CHECK_EQ(b.err, GRP_ERR_GROUP_MAX_SIZE_REACHED);
	gfx_run_until(&fx, &a.called);
	CHECK_EQ(a.err, GRP_ERR_OK);
	gfx_deinit(&fx);
}

TEST(group_second_join_from_same_member_answers_the_first)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	char ids[2][160];
	make_stable(&fx, "g", 2, ids);
	jrec_t j1, j2;
	jargs_t a = {"g", ids[1], NULL, "range=new", 0, 0, 0, NULL};
	join_req(fx.gc, &a, &j1);
	CHECK_EQ(j1.called, 0);
	join_req(fx.gc, &a, &j2);
	CHECK_EQ(j1.called, 1);
	CHECK_EQ(j1.err, GRP_ERR_REBALANCE_IN_PROGRESS);
	CHECK_EQ(j2.called, 0);
	CHECK_EQ(grp_coord_parked(fx.gc), 1);
	gfx_deinit(&fx);
}

TEST(group_close_answers_parked_requests)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	jrec_t a, b;
	join_new(&fx, "g", NULL, &a);
	join_new(&fx, "g", NULL, &b);
	gfx_run_until(&fx, &b.called);
	srec_t s;
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &s);
	jrec_t c;
	join_new(&fx, "h", NULL, &c);
	CHECK_EQ(s.called, 0);
	CHECK_EQ(c.called, 0);
	gfx_close(&fx);
	CHECK_EQ(s.called, 1);
	CHECK_EQ(s.err, GRP_ERR_COORDINATOR_NOT_AVAILABLE);
	CHECK_EQ(c.called, 1);
	CHECK_EQ(c.err, GRP_ERR_COORDINATOR_NOT_AVAILABLE);
	gfx_deinit(&fx);
}

TEST(group_describe_and_list)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	char ids[2][160];
	int32_t gen = make_stable(&fx, "g", 2, ids);
	jrec_t c;
	join_new(&fx, "other", NULL, &c);
	grp_desc_t d;
	CHECK_EQ(grp_describe(fx.gc, grp_s("g"), &d), GRP_ERR_OK);
	CHECK_EQ(d.state, GRP_STABLE);
	CHECK_EQ(d.generation, gen);
	CHECK(grp_str_eq(d.protocol_type, grp_s("consumer")));
	CHECK(grp_str_eq(d.protocol_name, grp_s("range")));
	CHECK_EQ(d.nmembers, 2);
	CHECK(grp_str_eq(d.members[0].member_id, grp_s(ids[0])));
	CHECK(grp_str_eq(d.members[0].client_id, grp_s("cli")));
	CHECK(grp_str_eq(d.members[0].client_host, grp_s("/127.0.0.1")));
	CHECK(grp_str_eq(d.members[0].meta, grp_s("m")));
	CHECK(grp_str_eq(d.members[1].assignment, grp_s("a1")));
	CHECK_EQ(d.members[0].instance_id.len, -1);
	grp_desc_free(&d);
	/* Not Stable: no protocol, metadata or assignments. */
	CHECK_EQ(grp_describe(fx.gc, grp_s("other"), &d), GRP_ERR_OK);
	CHECK_EQ(d.state, GRP_PREPARING_REBALANCE);
	CHECK_EQ(d.protocol_name.len, 0);
	CHECK_EQ(d.nmembers, 1);
	CHECK_EQ(d.members[0].meta.len, 0);
	grp_desc_free(&d);
	CHECK_EQ(grp_describe(fx.gc, grp_s("nope"), &d), GRP_ERR_OK);
	CHECK_EQ(d.state, GRP_DEAD);
	CHECK_EQ(d.nmembers, 0);
	grp_desc_free(&d);
	CHECK_EQ(grp_describe(fx.gc, GRP_NULL, &d), GRP_ERR_INVALID_GROUP_ID);
	grp_desc_free(&d);
	size_t n;
	grp_listing_t *l = grp_list(fx.gc, &n);
	CHECK_EQ(n, 2);
	CHECK(grp_str_eq(l[0].group_id, grp_s("g")));
	CHECK_EQ(l[0].state, GRP_STABLE);
	CHECK(grp_str_eq(l[1].group_id, grp_s("other")));
	CHECK_EQ(l[1].state, GRP_PREPARING_REBALANCE);
	CHECK(grp_str_eq(l[1].protocol_type, grp_s("consumer")));
	free(l);
	gfx_deinit(&fx);
}

TEST(group_delete_only_empty_groups)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	char ids[1][160];
	make_stable(&fx, "g", 1, ids);
	CHECK_EQ(grp_delete(fx.gc, grp_s("g")), GRP_ERR_NON_EMPTY_GROUP);
	CHECK_EQ(grp_delete(fx.gc, grp_s("nope")), GRP_ERR_GROUP_ID_NOT_FOUND);
	CHECK_EQ(grp_delete(fx.gc, GRP_NULL), GRP_ERR_INVALID_GROUP_ID);
	grp_leave_member_t lm = {grp_s(ids[0]), GRP_NULL, GRP_NULL, GRP_ERR_OK};
	grp_leave(fx.gc, grp_s("g"), &lm, 1);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_EMPTY);
	CHECK_EQ(grp_delete(fx.gc, grp_s("g")), GRP_ERR_OK);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_DEAD);
	CHECK_EQ(grp_delete(fx.gc, grp_s("g")), GRP_ERR_GROUP_ID_NOT_FOUND);
	gfx_deinit(&fx);
}

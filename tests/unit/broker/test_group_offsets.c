/*
 * test_group_offsets.c — unit tests for committed offsets
 * (broker/group_offsets.c) and the coordinator's journal
 * (broker/group_store.c): commit rules and error codes, fetch, delete,
 * retention, and state surviving a close, a crash (a child process that
 * dies without closing) and compaction.
 */
#include "test_group_util.h"

#include "store/journal.h"

#include <sys/wait.h>
#include <unistd.h>

/* Commits one offset; returns the partition's result, once the
 * acknowledgement went through the domain as a front's would. */
static grp_err_t commit1(gfx_t *fx, const char *group, const char *member, int32_t gen,
                         const char *topic, int32_t part, int64_t off, const char *meta)
{
	grp_commit_req_t req = {grp_s(group), grp_s(member), GRP_NULL, gen, -1};
	grp_commit_part_t p = {grp_s(topic), part, off, 7, grp_s(meta), GRP_ERR_OK};
	grp_offset_commit(fx->gc, &req, &p, 1);
	CHECK_EQ(gfx_ack(fx), 0);
	return p.err;
}

static int64_t fetch1(gfx_t *fx, const char *group, const char *topic, int32_t part, char *meta)
{
	grp_offset_t o;
	if (grp_offset_get(fx->gc, grp_s(group), grp_s(topic), part, &o))
		return -1;
	if (meta)
		cpy(meta, 64, o.metadata);
	return o.offset;
}

TEST(group_offsets_simple_consumer_commit_and_fetch)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	CHECK_EQ(commit1(&fx, "simple", "", -1, "t", 0, 42, "hello"), GRP_ERR_OK);
	CHECK_EQ(commit1(&fx, "simple", "", -1, "t", 1, 7, ""), GRP_ERR_OK);
	CHECK_EQ(commit1(&fx, "simple", "", -1, "a", 3, 9, ""), GRP_ERR_OK);
	char meta[64];
	CHECK_EQ(fetch1(&fx, "simple", "t", 0, meta), 42);
	CHECK_STR(meta, "hello");
	CHECK_EQ(fetch1(&fx, "simple", "t", 2, NULL), -1);
	CHECK_EQ(fetch1(&fx, "nope", "t", 0, NULL), -1);
	CHECK_EQ(commit1(&fx, "simple", "", -1, "t", 0, 43, "again"), GRP_ERR_OK);
	CHECK_EQ(fetch1(&fx, "simple", "t", 0, meta), 43);
	CHECK_STR(meta, "again");
	size_t n;
	grp_offset_t *all = grp_offsets_all(fx.gc, grp_s("simple"), &n);
	CHECK_EQ(n, 3);
	CHECK(grp_str_eq(all[0].topic, grp_s("a")));
	CHECK(grp_str_eq(all[1].topic, grp_s("t")));
	CHECK_EQ(all[1].partition, 0);
	CHECK_EQ(all[2].partition, 1);
	CHECK_EQ(all[1].leader_epoch, 7);
	free(all);
	/* A simple group lists as Empty with no protocol type. */
	grp_listing_t *l = grp_list(fx.gc, &n);
	CHECK_EQ(n, 1);
	CHECK_EQ(l[0].state, GRP_EMPTY);
	CHECK_EQ(l[0].protocol_type.len, 0);
	free(l);
	/* The empty group id is allowed for commits (Kafka keeps it for
	 * backwards compatibility); a null one is not. */
	CHECK_EQ(commit1(&fx, "", "", -1, "t", 0, 1, ""), GRP_ERR_OK);
	grp_commit_req_t req = {GRP_NULL, grp_s(""), GRP_NULL, -1, -1};
	grp_commit_part_t p = {grp_s("t"), 0, 1, -1, GRP_NULL, GRP_ERR_OK};
	grp_offset_commit(fx.gc, &req, &p, 1);
	CHECK_EQ(p.err, GRP_ERR_INVALID_GROUP_ID);
	gfx_deinit(&fx);
}

TEST(group_offsets_commit_rules_for_managed_groups)
{
	gfx_t fx = {0};
	gfx_init(&fx, NULL);
	/* A generation for a group that does not exist: an older generation. */
	CHECK_EQ(commit1(&fx, "g", "m", 3, "t", 0, 1, ""), GRP_ERR_ILLEGAL_GENERATION);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_DEAD);
	jrec_t a, b;
	join_new(&fx, "g", NULL, &a);
	join_new(&fx, "g", NULL, &b);
	gfx_run_until(&fx, &b.called);
	/* CompletingRebalance. */
	CHECK_EQ(commit1(&fx, "g", a.member_id, a.generation, "t", 0, 1, ""),
	         GRP_ERR_REBALANCE_IN_PROGRESS);
	const char *asg[] = {a.member_id, "1", b.member_id, "2", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	CHECK_EQ(commit1(&fx, "g", a.member_id, a.generation, "t", 0, 10, "m"), GRP_ERR_OK);
	CHECK_EQ(commit1(&fx, "g", a.member_id, a.generation - 1, "t", 0, 11, ""),
	         GRP_ERR_ILLEGAL_GENERATION);
	CHECK_EQ(commit1(&fx, "g", "ghost", a.generation, "t", 0, 11, ""),
	         GRP_ERR_UNKNOWN_MEMBER_ID);
	/* A simple commit to a group with members is refused. */
	CHECK_EQ(commit1(&fx, "g", "", -1, "t", 0, 11, ""), GRP_ERR_UNKNOWN_MEMBER_ID);
	CHECK_EQ(fetch1(&fx, "g", "t", 0, NULL), 10);
	/* PreparingRebalance: members may still commit what they processed. */
	jrec_t c;
	join_new(&fx, "g", NULL, &c);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_PREPARING_REBALANCE);
	CHECK_EQ(commit1(&fx, "g", b.member_id, b.generation, "t", 1, 20, ""), GRP_ERR_OK);
	CHECK_EQ(fetch1(&fx, "g", "t", 1, NULL), 20);
	gfx_deinit(&fx);
}

TEST(group_offsets_per_partition_errors)
{
	gfx_t fx = {0};
	gfx_opts(&fx.opts);
	fx.opts.metadata_max_bytes = 4;
	gfx_init(&fx, NULL);
	grp_commit_req_t req = {grp_s("s"), grp_s(""), GRP_NULL, -1, -1};
	grp_commit_part_t p[3] = {
	    {grp_s("t"), 0, 5, -1, grp_s("1234"), GRP_ERR_OK},
	    {grp_s("t"), 1, 5, -1, grp_s("12345"), GRP_ERR_OK},
	    {grp_s("gone"), 0, 5, -1, GRP_NULL, GRP_ERR_UNKNOWN_TOPIC_OR_PARTITION},
	};
	grp_offset_commit(fx.gc, &req, p, 3);
	CHECK_EQ(p[0].err, GRP_ERR_OK);
	CHECK_EQ(p[1].err, GRP_ERR_OFFSET_METADATA_TOO_LARGE);
	CHECK_EQ(p[2].err, GRP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
	CHECK_EQ(fetch1(&fx, "s", "t", 0, NULL), 5);
	CHECK_EQ(fetch1(&fx, "s", "t", 1, NULL), -1);
	CHECK_EQ(fetch1(&fx, "s", "gone", 0, NULL), -1);
	gfx_deinit(&fx);
}

TEST(group_offsets_survive_close_and_reopen_with_members)
{
	gfx_t fx = {0};
	gfx_opts(&fx.opts);
	fx.opts.fsync.mode = FSYNC_ALWAYS;
	gfx_init(&fx, "groups");
	jrec_t a, b;
	join_new(&fx, "g", "range=sub-a", &a);
	join_new(&fx, "g", "range=sub-b", &b);
	gfx_run_until(&fx, &b.called);
	const char *asg[] = {a.member_id, "asg-a", b.member_id, "asg-b", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	CHECK_EQ(commit1(&fx, "g", a.member_id, a.generation, "t", 0, 100, "meta-0"), GRP_ERR_OK);
	CHECK_EQ(commit1(&fx, "g", b.member_id, b.generation, "t", 1, 200, ""), GRP_ERR_OK);
	CHECK_EQ(commit1(&fx, "simple", "", -1, "u", 5, 5, "x"), GRP_ERR_OK);
	gfx_close(&fx);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	char meta[64];
	CHECK_EQ(fetch1(&fx, "g", "t", 0, meta), 100);
	CHECK_STR(meta, "meta-0");
	CHECK_EQ(fetch1(&fx, "g", "t", 1, NULL), 200);
	CHECK_EQ(fetch1(&fx, "simple", "u", 5, meta), 5);
	CHECK_STR(meta, "x");
	/* The group comes back Stable: members carry on without a rebalance. */
	grp_desc_t d;
	grp_describe(fx.gc, grp_s("g"), &d);
	CHECK_EQ(d.state, GRP_STABLE);
	CHECK_EQ(d.generation, a.generation);
	CHECK_EQ(d.nmembers, 2);
	CHECK(grp_str_eq(d.leader_id, grp_s(a.member_id)));
	CHECK(grp_str_eq(d.protocol_name, grp_s("range")));
	CHECK(grp_str_eq(d.members[1].meta, grp_s("sub-b")));
	CHECK(grp_str_eq(d.members[1].assignment, grp_s("asg-b")));
	grp_desc_free(&d);
	CHECK_EQ(hb(fx.gc, "g", b.member_id, b.generation), GRP_ERR_OK);
	sync_req(fx.gc, "g", b.member_id, b.generation, NULL, &s);
	CHECK_STR(s.asg, "asg-b");
	gfx_deinit(&fx);
}

TEST(group_offsets_restored_members_expire_if_they_never_return)
{
	gfx_t fx = {0};
	gfx_init(&fx, "groups");
	jrec_t a;
	jargs_t ja = {"g", NULL, NULL, NULL, 100, 100, 0, NULL};
	join_req(fx.gc, &ja, &a);
	gfx_run_until(&fx, &a.called);
	const char *asg[] = {a.member_id, "x", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	gfx_close(&fx);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	grp_state_t st = GRP_STABLE;
	for (int i = 0; i < 100 && st != GRP_EMPTY; i++) {
		gfx_run_for(&fx, 20);
		st = state_of(fx.gc, "g");
	}
	CHECK_EQ(st, GRP_EMPTY);
	gfx_close(&fx);
	/* The Empty state was journaled too. */
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_EMPTY);
	gfx_deinit(&fx);
}

TEST(group_offsets_acknowledged_commits_survive_a_crash)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		gfx_t fx = {0};
		gfx_opts(&fx.opts);
		fx.opts.fsync.mode = FSYNC_ALWAYS;
		gfx_init(&fx, "groups");
		for (int i = 0; i < 50; i++)
			if (commit1(&fx, "s", "", -1, "t", i % 5, 1000 + i, "k") != GRP_ERR_OK)
				_exit(3);
		/* Die without closing, flushing or syncing anything more. */
		_exit(0);
	}
	int status = 0;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	gfx_t fx = {0};
	gfx_init(&fx, "groups");
	for (int p = 0; p < 5; p++)
		CHECK_EQ(fetch1(&fx, "s", "t", p, NULL), 1045 + p);
	gfx_deinit(&fx);
}

TEST(group_offsets_commit_waits_for_sync_only_with_fsync_always)
{
	gfx_t fx = {0};
	gfx_opts(&fx.opts);
	fx.opts.fsync.mode = FSYNC_ALWAYS;
	gfx_init(&fx, "groups");
	grp_commit_req_t req = {grp_s("s"), grp_s(""), GRP_NULL, -1, -1};
	grp_commit_part_t p = {grp_s("t"), 0, 1, -1, GRP_NULL, GRP_ERR_OK};
	dur_t *d = grp_coord_dur(fx.gc);
	grp_offset_commit(fx.gc, &req, &p, 1);
	CHECK_EQ(p.err, GRP_ERR_OK);
	/* The acknowledgement must wait for the sync... */
	CHECK(dur_must_hold(d));
	uint64_t syncs = syncer_sync_count(fx.syncer);
	CHECK_EQ(gfx_ack(&fx), 0);
	CHECK(syncer_sync_count(fx.syncer) > syncs);
	CHECK(!dur_must_hold(d));
	/* ... but a refused commit writes nothing and needs no wait. */
	grp_commit_req_t bad = {grp_s("s"), grp_s("ghost"), GRP_NULL, 4, -1};
	grp_offset_commit(fx.gc, &bad, &p, 1);
	CHECK_EQ(p.err, GRP_ERR_UNKNOWN_MEMBER_ID);
	CHECK(!dur_must_hold(d));
	gfx_deinit(&fx);

	gfx_t fx2 = {0};
	gfx_opts(&fx2.opts);
	fx2.opts.fsync.mode = FSYNC_NEVER;
	gfx_init(&fx2, "groups2");
	p.err = GRP_ERR_OK;
	grp_offset_commit(fx2.gc, &req, &p, 1);
	CHECK_EQ(p.err, GRP_ERR_OK);
	CHECK(!dur_must_hold(grp_coord_dur(fx2.gc)));
	gfx_deinit(&fx2);
}

TEST(group_offsets_retention_for_simple_and_empty_groups)
{
	gfx_t fx = {0};
	gfx_opts(&fx.opts);
	fx.opts.offsets_retention_ms = 150;
	fx.opts.retention_check_ms = 10;
	gfx_init(&fx, "groups");
	CHECK_EQ(commit1(&fx, "simple", "", -1, "t", 0, 1, ""), GRP_ERR_OK);
	/* An explicit retention (OffsetCommit v2-v4) wins. */
	grp_commit_req_t req = {grp_s("short"), grp_s(""), GRP_NULL, -1, 20};
	grp_commit_part_t p = {grp_s("t"), 0, 1, -1, GRP_NULL, GRP_ERR_OK};
	grp_offset_commit(fx.gc, &req, &p, 1);
	CHECK_EQ(gfx_ack(&fx), 0);
	CHECK_EQ(p.err, GRP_ERR_OK);
	jrec_t a;
	join_new(&fx, "g", NULL, &a);
	gfx_run_until(&fx, &a.called);
	const char *asg[] = {a.member_id, "x", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	CHECK_EQ(commit1(&fx, "g", a.member_id, a.generation, "t", 0, 5, ""), GRP_ERR_OK);
	/* The short one goes first; the simple one after its retention; the
	 * consumer group's stays while it has a member. */
	int64_t v = 0;
	for (int i = 0; i < 100 && (v = fetch1(&fx, "short", "t", 0, NULL)) != -1; i++)
		gfx_run_for(&fx, 10);
	CHECK_EQ(v, -1);
	for (int i = 0; i < 100 && (v = fetch1(&fx, "simple", "t", 0, NULL)) != -1; i++) {
		CHECK_EQ(hb(fx.gc, "g", a.member_id, a.generation), GRP_ERR_OK);
		gfx_run_for(&fx, 10);
	}
	CHECK_EQ(v, -1);
	CHECK_EQ(state_of(fx.gc, "simple"), GRP_DEAD);
	for (int i = 0; i < 20; i++) {
		CHECK_EQ(hb(fx.gc, "g", a.member_id, a.generation), GRP_ERR_OK);
		gfx_run_for(&fx, 10);
	}
	CHECK_EQ(fetch1(&fx, "g", "t", 0, NULL), 5);
	/* Once Empty, the group's offsets expire and the group goes. */
	grp_leave_member_t lm = {grp_s(a.member_id), GRP_NULL, GRP_NULL, GRP_ERR_OK};
	grp_leave(fx.gc, grp_s("g"), &lm, 1);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_EMPTY);
	for (int i = 0; i < 100 && state_of(fx.gc, "g") != GRP_DEAD; i++)
		gfx_run_for(&fx, 10);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_DEAD);
	CHECK_EQ(fetch1(&fx, "g", "t", 0, NULL), -1);
	gfx_close(&fx);
	/* And they stay gone after a restart. */
	fx.opts.offsets_retention_ms = 24 * 3600 * 1000;
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	size_t n;
	free(grp_list(fx.gc, &n));
	CHECK_EQ(n, 0);
	gfx_deinit(&fx);
}

TEST(group_offsets_delete_rules)
{
	gfx_t fx = {0};
	gfx_init(&fx, "groups");
	grp_tp_t tp[2] = {{grp_s("t"), 0, GRP_ERR_OK}, {grp_s("u"), 0, GRP_ERR_OK}};
	CHECK_EQ(grp_offset_delete(fx.gc, grp_s("nope"), tp, 2), GRP_ERR_GROUP_ID_NOT_FOUND);
	CHECK_EQ(grp_offset_delete(fx.gc, grp_s(""), tp, 2), GRP_ERR_INVALID_GROUP_ID);
	/* A consumer group subscribed to t: t's offsets stay, u's go. */
	char sub[64];
	const char *topics[] = {"t", NULL};
	size_t sl = subscription(sub, sizeof sub, topics);
	grp_protocol_t proto = {grp_s("range"), {sub, (int32_t)sl}};
	grp_join_req_t req;
	memset(&req, 0, sizeof req);
	req.group_id = grp_s("g");
	req.member_id = grp_s("");
	req.instance_id = GRP_NULL;
	req.client_id = grp_s("c");
	req.client_host = grp_s("h");
	req.protocol_type = grp_s("consumer");
	req.session_timeout_ms = 10000;
	req.rebalance_timeout_ms = 10000;
	req.protocols = &proto;
	req.nprotocols = 1;
	jrec_t a;
	memset(&a, 0, sizeof a);
	grp_join(fx.gc, &req, on_join, &a);
	gfx_run_until(&fx, &a.called);
	const char *asg[] = {a.member_id, "x", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	CHECK_EQ(commit1(&fx, "g", a.member_id, a.generation, "t", 0, 1, ""), GRP_ERR_OK);
	CHECK_EQ(commit1(&fx, "g", a.member_id, a.generation, "u", 0, 2, ""), GRP_ERR_OK);
	CHECK_EQ(grp_offset_delete(fx.gc, grp_s("g"), tp, 2), GRP_ERR_OK);
	CHECK_EQ(tp[0].err, GRP_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
	CHECK_EQ(tp[1].err, GRP_ERR_OK);
	CHECK_EQ(fetch1(&fx, "g", "t", 0, NULL), 1);
	CHECK_EQ(fetch1(&fx, "g", "u", 0, NULL), -1);
	/* A non-consumer group with members: NON_EMPTY_GROUP. */
	jrec_t c;
	jargs_t jc = {"connect", NULL, NULL, NULL, 0, 0, 0, "connect"};
	join_req(fx.gc, &jc, &c);
	gfx_run_until(&fx, &c.called);
	CHECK_EQ(grp_offset_delete(fx.gc, grp_s("connect"), tp, 1), GRP_ERR_NON_EMPTY_GROUP);
	/* Empty: everything listed goes, and stays gone after a restart. */
	CHECK_EQ(commit1(&fx, "s", "", -1, "t", 0, 1, ""), GRP_ERR_OK);
	CHECK_EQ(commit1(&fx, "s", "", -1, "t", 1, 1, ""), GRP_ERR_OK);
	grp_tp_t one = {grp_s("t"), 0, GRP_ERR_OK};
	CHECK_EQ(grp_offset_delete(fx.gc, grp_s("s"), &one, 1), GRP_ERR_OK);
	CHECK_EQ(one.err, GRP_ERR_OK);
	gfx_close(&fx);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(fetch1(&fx, "s", "t", 0, NULL), -1);
	CHECK_EQ(fetch1(&fx, "s", "t", 1, NULL), 1);
	CHECK_EQ(fetch1(&fx, "g", "u", 0, NULL), -1);
	CHECK_EQ(fetch1(&fx, "g", "t", 0, NULL), 1);
	gfx_deinit(&fx);
}

TEST(group_offsets_deleted_group_stays_deleted_after_restart)
{
	gfx_t fx = {0};
	gfx_init(&fx, "groups");
	CHECK_EQ(commit1(&fx, "s", "", -1, "t", 0, 1, ""), GRP_ERR_OK);
	CHECK_EQ(commit1(&fx, "keep", "", -1, "t", 0, 2, ""), GRP_ERR_OK);
	CHECK_EQ(grp_delete(fx.gc, grp_s("s")), GRP_ERR_OK);
	CHECK_EQ(fetch1(&fx, "s", "t", 0, NULL), -1);
	/* A new commit after the delete starts a new group. */
	CHECK_EQ(commit1(&fx, "s", "", -1, "t", 1, 3, ""), GRP_ERR_OK);
	gfx_close(&fx);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(fetch1(&fx, "s", "t", 0, NULL), -1);
	CHECK_EQ(fetch1(&fx, "s", "t", 1, NULL), 3);
	CHECK_EQ(fetch1(&fx, "keep", "t", 0, NULL), 2);
	gfx_deinit(&fx);
}

static int count_record(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	(void)type, (void)p, (void)len;
	(*(int *)arg)++;
	return 0;
}

TEST_T(group_offsets_journal_compacts_and_keeps_the_latest, 120)
{
	gfx_t fx = {0};
	gfx_opts(&fx.opts);
	fx.opts.fsync.mode = FSYNC_NEVER;
	fx.opts.compact_ratio_pct = 50;
	fx.opts.compact_min_bytes = 4096;
	gfx_init(&fx, "groups");
	for (int i = 0; i < 5000; i++)
		CHECK_EQ(commit1(&fx, "s", "", -1, "t", i % 3, i, "meta"), GRP_ERR_OK);
	gfx_close(&fx);
	/* Without compaction the journal would hold 5000 offset records. */
	int nrec = 0;
	jrnl_t *j = NULL;
	jrnl_opts_t o = {.fsync = {FSYNC_NEVER, 0},
	                 .compact_ratio_pct = 50,
	                 .compact_min_bytes = 1 << 30,
	                 .max_record = 1 << 20};
	CHECK_EQ(
	    jrnl_open(&j, fx.loop, fx.syncer, NULL, "groups", "groups", &o, count_record, &nrec),
	    0);
	jrnl_close(j);
	CHECK_MSG(nrec < 1000, "journal holds %d records", nrec);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(fetch1(&fx, "s", "t", 0, NULL), 4998);
	CHECK_EQ(fetch1(&fx, "s", "t", 1, NULL), 4999);
	CHECK_EQ(fetch1(&fx, "s", "t", 2, NULL), 4997);
	gfx_deinit(&fx);
}

static int ignore_record(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	(void)arg, (void)type, (void)p, (void)len;
	return 0;
}

TEST(group_offsets_unknown_record_refuses_open)
{
	gfx_t fx = {0};
	gfx_init(&fx, "groups");
	CHECK_EQ(commit1(&fx, "s", "", -1, "t", 0, 1, ""), GRP_ERR_OK);
	gfx_close(&fx);
	/* A record of a type this version does not know, in a valid frame:
	 * the coordinator refuses to start rather than drop state. */
	jrnl_t *j = NULL;
	jrnl_opts_t o = {
	    .fsync = {FSYNC_ALWAYS, 0}, .compact_ratio_pct = 50, .max_record = 1 << 20};
	CHECK_EQ(
	    jrnl_open(&j, fx.loop, fx.syncer, NULL, "groups", "groups", &o, ignore_record, NULL),
	    0);
	CHECK_EQ(jrnl_append(j, 99, "x", 1), 0);
	jrnl_close(j);
	loop_run_once(fx.loop, 0);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, NULL, &fx.opts, "groups"), SL_ECORRUPT);
	CHECK(fx.gc == NULL);
	gfx_deinit(&fx);
}

/*
 * test_group_dur.c — the coordinator's durability domain (broker/group.h,
 * broker/dur.h) with storage faults injected through store/sio.h: a failed
 * sync fails the acknowledgement and is undone, a full disk refuses a
 * commit at once, parked requests are answered when the coordinator is
 * rebuilt from the cut journal, nothing changes while the recovery cannot
 * complete, and every state survives a reopen exactly as acknowledged.
 */
#include "test_group_util.h"

static grp_err_t commit(gfx_t *fx, const char *group, const char *topic, int32_t part, int64_t off)
{
	grp_commit_req_t req = {grp_s(group), grp_s(""), GRP_NULL, -1, -1};
	grp_commit_part_t p = {grp_s(topic), part, off, -1, grp_s(""), GRP_ERR_OK};
	grp_offset_commit(fx->gc, &req, &p, 1);
	return p.err;
}

static int64_t committed(gfx_t *fx, const char *group, const char *topic, int32_t part)
{
	grp_offset_t o;
	if (grp_offset_get(fx->gc, grp_s(group), grp_s(topic), part, &o))
		return -1;
	return o.offset;
}

/* Runs the loop until the domain recovered n times in all (bounded). */
static void wait_recoveries(gfx_t *fx, uint64_t n)
{
	dur_t *d = grp_coord_dur(fx->gc);
	for (int i = 0; i < 400 && dur_recoveries(d) < n; i++)
		CHECK_EQ(loop_run_once(fx->loop, 10), 0);
	CHECK_EQ(dur_recoveries(d), n);
	CHECK_EQ(dur_state(d), 0);
}

static void always(gfx_t *fx)
{
	gfx_opts(&fx->opts);
	fx->opts.fsync.mode = FSYNC_ALWAYS;
}

TEST(group_dur_failed_sync_fails_the_ack_and_is_undone)
{
	gfx_t fx = {0};
	always(&fx);
	gfx_init(&fx, "groups");
	CHECK_EQ(commit(&fx, "s", "t", 0, 5), GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), 0);
	gfx_fault(&fx, "op=fdatasync,path=groups.journal,count=1,errno=EIO");
	CHECK_EQ(commit(&fx, "s", "t", 0, 9), GRP_ERR_OK);
	CHECK_EQ(commit(&fx, "s", "t", 1, 3), GRP_ERR_OK);
	/* The acknowledgement fails, and what it covered is undone. */
	CHECK_EQ(gfx_ack(&fx), SL_EIO);
	wait_recoveries(&fx, 1);
	CHECK_EQ(committed(&fx, "s", "t", 0), 5);
	CHECK_EQ(committed(&fx, "s", "t", 1), -1);
	/* Commits work again without a reopen. */
	CHECK_EQ(commit(&fx, "s", "t", 0, 10), GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), 0);
	gfx_close(&fx);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(committed(&fx, "s", "t", 0), 10);
	CHECK_EQ(committed(&fx, "s", "t", 1), -1);
	gfx_deinit(&fx);
}

TEST(group_dur_full_disk_refuses_a_commit_at_once)
{
	gfx_t fx = {0};
	always(&fx);
	gfx_init(&fx, "groups");
	/* The fresh journal reserves space at its first append. */
	gfx_fault(&fx, "op=fallocate,path=groups.journal,count=-1,errno=ENOSPC");
	CHECK_EQ(commit(&fx, "s", "t", 0, 5), GRP_ERR_STORAGE_ERROR);
	CHECK_EQ(committed(&fx, "s", "t", 0), -1);
	/* Nothing was written, so nothing failed: no recovery needed. */
	CHECK_EQ(dur_state(grp_coord_dur(fx.gc)), 0);
	CHECK_EQ(gfx_ack(&fx), 0);
	sio_fault_clear(fx.io);
	CHECK_EQ(commit(&fx, "s", "t", 0, 6), GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), 0);
	CHECK_EQ(dur_recoveries(grp_coord_dur(fx.gc)), 0);
	gfx_close(&fx);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(committed(&fx, "s", "t", 0), 6);
	gfx_deinit(&fx);
}

TEST(group_dur_reload_answers_parked_joins_and_rebuilds_from_disk)
{
	gfx_t fx = {0};
	always(&fx);
	gfx_init(&fx, "groups");
	jrec_t a;
	join_new(&fx, "g", NULL, &a);
	gfx_run_until(&fx, &a.called);
	CHECK_EQ(a.err, GRP_ERR_OK);
	const char *asg[] = {a.member_id, "x", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	CHECK_EQ(s.err, GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), 0); /* the Stable group is on disk */
	/* A second member parks in the rebalance it starts. */
	jrec_t b;
	join_new(&fx, "g", NULL, &b);
	CHECK_EQ(b.called, 0);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_PREPARING_REBALANCE);
	gfx_fault(&fx, "op=fdatasync,path=groups.journal,count=1,errno=EIO");
	CHECK_EQ(commit(&fx, "g2", "t", 0, 1), GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), SL_EIO);
	wait_recoveries(&fx, 1);
	/* As after a coordinator failover: the parked joiner is told (its
	 * front answers NOT_COORDINATOR), the group is what the journal says. */
	CHECK_EQ(b.called, 1);
	CHECK_EQ(b.err, GRP_ERR_STORAGE_ERROR);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	CHECK_EQ(hb(fx.gc, "g", a.member_id, a.generation), GRP_ERR_OK);
	CHECK_EQ(committed(&fx, "g2", "t", 0), -1);
	/* The member that was told rejoins normally. */
	join_new(&fx, "g", NULL, &b);
	jrec_t a2;
	jargs_t ja = {"g", a.member_id, NULL, NULL, 0, 0, 0, NULL};
	join_req(fx.gc, &ja, &a2);
	gfx_run_until(&fx, &b.called);
	CHECK_EQ(b.err, GRP_ERR_OK);
	CHECK_EQ(a2.err, GRP_ERR_OK);
	CHECK_EQ(b.generation, a.generation + 1);
	gfx_deinit(&fx);
}

TEST(group_dur_nothing_changes_while_the_cut_cannot_complete)
{
	gfx_t fx = {0};
	always(&fx);
	gfx_init(&fx, "groups");
	CHECK_EQ(commit(&fx, "s", "t", 0, 5), GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), 0);
	/* The sync fails, and so does the cut's own sync: the domain stays
	 * failed and retries every second. */
	gfx_fault(&fx, "op=fdatasync,path=groups.journal,count=2,errno=EIO");
	CHECK_EQ(commit(&fx, "s", "t", 0, 9), GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), SL_EIO);
	for (int i = 0; i < 100 && sio_fault_hits(fx.io) < 2; i++)
		CHECK_EQ(loop_run_once(fx.loop, 10), 0);
	CHECK_EQ(sio_fault_hits(fx.io), 2);
	CHECK(dur_state(grp_coord_dur(fx.gc)) < 0);
	CHECK_EQ(commit(&fx, "s", "t", 0, 11), GRP_ERR_STORAGE_ERROR);
	jrec_t j;
	join_new(&fx, "g", NULL, &j);
	CHECK_EQ(j.called, 1);
	CHECK_EQ(j.err, GRP_ERR_STORAGE_ERROR);
	CHECK_EQ(hb(fx.gc, "g", "m", 1), GRP_ERR_STORAGE_ERROR);
	CHECK_EQ(grp_delete(fx.gc, grp_s("s")), GRP_ERR_STORAGE_ERROR);
	/* Reads wait for the domain: they fail while it is failed. */
	CHECK_EQ(gfx_ack(&fx), SL_EIO);
	/* The retry succeeds (the fault is spent): writes resume. */
	wait_recoveries(&fx, 1);
	CHECK_EQ(committed(&fx, "s", "t", 0), 5);
	CHECK_EQ(commit(&fx, "s", "t", 0, 12), GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), 0);
	gfx_close(&fx);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(committed(&fx, "s", "t", 0), 12);
	gfx_deinit(&fx);
}

TEST(group_dur_removals_whose_write_fails_are_undone)
{
	gfx_t fx = {0};
	always(&fx);
	fx.opts.offsets_retention_ms = 1;
	gfx_init(&fx, "groups");
	CHECK_EQ(commit(&fx, "s", "t", 0, 5), GRP_ERR_OK);
	CHECK_EQ(commit(&fx, "e", "t", 0, 7), GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), 0);
	/* Expiry and a topic's deletion append before they remove; when the
	 * write of those records fails, the removals are undone. */
	gfx_fault(&fx, "op=pwrite,path=groups.journal,count=1,errno=EIO");
	grp_topic_deleted(fx.gc, grp_s("t"));
	CHECK_EQ(committed(&fx, "s", "t", 0), -1);
	CHECK_EQ(gfx_ack(&fx), SL_EIO);
	wait_recoveries(&fx, 1);
	CHECK_EQ(committed(&fx, "s", "t", 0), 5);
	CHECK_EQ(committed(&fx, "e", "t", 0), 7);
	/* Once the journal works they go (and stay gone). */
	grp_expire_offsets(fx.gc);
	CHECK_EQ(gfx_ack(&fx), 0);
	CHECK_EQ(committed(&fx, "s", "t", 0), -1);
	CHECK_EQ(committed(&fx, "e", "t", 0), -1);
	gfx_close(&fx);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(committed(&fx, "s", "t", 0), -1);
	gfx_deinit(&fx);
}

static int topic_exists(void *arg, grp_str_t topic)
{
	(void)arg;
	return !grp_str_eq(topic, grp_s("gone"));
}

TEST(group_dur_offsets_of_a_deleted_topic_are_removed_again_after_a_recovery)
{
	gfx_t fx = {0};
	always(&fx);
	gfx_init(&fx, "groups");
	grp_coord_set_topic_check(fx.gc, topic_exists, NULL);
	CHECK_EQ(commit(&fx, "s", "gone", 0, 5), GRP_ERR_OK);
	CHECK_EQ(commit(&fx, "s", "kept", 0, 6), GRP_ERR_OK);
	CHECK_EQ(gfx_ack(&fx), 0);
	/* The topic is deleted, but the sync of its offsets' removal fails:
	 * the recovery brings them back from the journal, then removes them
	 * again because the topic is gone. */
	gfx_fault(&fx, "op=fdatasync,path=groups.journal,count=1,errno=EIO");
	grp_topic_deleted(fx.gc, grp_s("gone"));
	CHECK_EQ(committed(&fx, "s", "gone", 0), -1);
	CHECK_EQ(gfx_ack(&fx), SL_EIO);
	wait_recoveries(&fx, 1);
	for (int i = 0; i < 100 && committed(&fx, "s", "gone", 0) != -1; i++)
		CHECK_EQ(loop_run_once(fx.loop, 10), 0);
	CHECK_EQ(committed(&fx, "s", "gone", 0), -1);
	CHECK_EQ(committed(&fx, "s", "kept", 0), 6);
	CHECK_EQ(gfx_ack(&fx), 0);
	gfx_close(&fx);
	CHECK_EQ(grp_coord_open(&fx.gc, fx.loop, fx.syncer, &fx.log, &fx.opts, "groups"), 0);
	CHECK_EQ(committed(&fx, "s", "gone", 0), -1);
	CHECK_EQ(committed(&fx, "s", "kept", 0), 6);
	gfx_deinit(&fx);
}

TEST(group_dur_sync_group_whose_record_cannot_be_stored_rebalances)
{
	gfx_t fx = {0};
	always(&fx);
	gfx_init(&fx, "groups");
	/* A fresh journal reserves space at its first append: the leader's
	 * GROUP record is the first. */
	jrec_t a;
	join_new(&fx, "g", NULL, &a);
	gfx_run_until(&fx, &a.called);
	CHECK_EQ(a.err, GRP_ERR_OK);
	gfx_fault(&fx, "op=fallocate,path=groups.journal,count=-1,errno=ENOSPC");
	const char *asg[] = {a.member_id, "x", NULL};
	srec_t s;
	sync_req(fx.gc, "g", a.member_id, a.generation, asg, &s);
	/* Kafka's rule: the members get the error and the group rebalances. */
	CHECK_EQ(s.called, 1);
	CHECK_EQ(s.err, GRP_ERR_STORAGE_ERROR);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_PREPARING_REBALANCE);
	sio_fault_clear(fx.io);
	jrec_t a2;
	jargs_t ja = {"g", a.member_id, NULL, NULL, 0, 0, 0, NULL};
	join_req(fx.gc, &ja, &a2);
	gfx_run_until(&fx, &a2.called);
	CHECK_EQ(a2.err, GRP_ERR_OK);
	sync_req(fx.gc, "g", a.member_id, a2.generation, asg, &s);
	CHECK_EQ(s.err, GRP_ERR_OK);
	CHECK_EQ(state_of(fx.gc, "g"), GRP_STABLE);
	CHECK_EQ(gfx_ack(&fx), 0);
	gfx_deinit(&fx);
}

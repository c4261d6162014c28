/*
 * broker.c — opening and closing every domain of the broker; see broker.h.
 *
 * Order: the file interface first (every store does its I/O through it),
 * then the domains, each independent of the others: Kafka topics (and
 * their partition logs), consumer groups, beanstalkd jobs, the Redis
 * keyspace. Retention runs from here, on a timer, so it runs whichever
 * listeners are enabled.
 * Loop thread only.
 */
#include "broker/broker.h"

#include "broker/dur.h"
#include "broker/funcs.h"
#include "broker/group.h"
#include "broker/job.h"
#include "broker/keyspace.h"
#include "broker/stats.h"
#include "broker/topic.h"
#include "broker/txn.h"
#include "broker/acl.h"
#include "broker/users.h"
#include "core/err.h"
#include "core/time.h"
#include "store/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void housekeep(loop_t *loop, loop_timer_t *t)
{
	broker_t *b = t->arg;
	if (b->topics)
		topics_housekeep(b->topics, time_wall_ms());
	loop_timer_start(loop, t, b->cfg->log_retention_check_interval_ms);
}

/* Every byte served from a log written before this start is CRC-checked
 * first; reads check what they reach, and this timer walks the rest at
 * log.verify.bytes.per.sec so that damage is found (and logged) early. */
#define VERIFY_TICK_MS 100
#define VERIFY_IDLE_MS 1000

static void verify_tick(loop_t *loop, loop_timer_t *t)
{
	broker_t *b = t->arg;
	uint64_t budget = (uint64_t)b->cfg->log_verify_bytes_per_sec * VERIFY_TICK_MS / 1000;
	uint64_t done = 0;
	size_t it = 0;
	topic_t *tp;
	while (b->topics && done < budget && (tp = topics_next(b->topics, &it)))
		for (int32_t i = 0; i < tp->npart && done < budget; i++)
			done += plog_verify_step(tp->parts[i]->log, budget - done);
	loop_timer_start(loop, t, done ? VERIFY_TICK_MS : VERIFY_IDLE_MS);
}

static int topic_exists(void *arg, grp_str_t topic)
{
	broker_t *b = arg;
	return topic.len > 0 && topics_find(b->topics, topic.p, (size_t)topic.len) != NULL;
}

static int open_groups(broker_t *b)
{
	grp_opts_t o;
	grp_opts_from_config(&o, b->cfg);
	o.clean_stop = b->clean_start;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/groups", b->data_dir);
	int rc = grp_coord_open(&b->groups, b->loop, b->syncer, b->log, &o, dir);
	if (rc == 0)
		grp_coord_set_topic_check(b->groups, topic_exists, b);
	return rc;
}

/* Arms the start-up fault of debug.fault (tests of start-up failures). */
static int arm_start_fault(broker_t *b)
{
	const char *spec = b->cfg->debug_fault;
	if (!spec || !*spec)
		return 0;
	if (!b->io) {
		log_error(b->log, "debug.fault: no faultable file interface");
		return SL_EINVAL;
	}
	sio_fault_t f;
	char err[200];
	if (sio_fault_parse(spec, &f, err, sizeof err) < 0) {
		log_error(b->log, "debug.fault: %s", err);
		return SL_EINVAL;
	}
	log_warn(b->log, "debug.fault: storage failure armed: %s", spec);
	return sio_fault_add(b->io, &f);
}

int broker_open(broker_t *b)
{
	b->started_ms = time_mono_ms();
	if (!b->stats && !(b->stats = calloc(1, sizeof *b->stats)))
		abort(); /* the server's own bookkeeping */
	loop_timer_init(&b->housekeep, housekeep, b);
	loop_timer_init(&b->verify, verify_tick, b);
	if (!b->io)
		b->io = syncer_io(b->syncer);
	sio_resume_syncs(b->io);
	int rc = arm_start_fault(b);
	if (rc == 0 && b->cfg->debug_powerloss) {
		if (!b->io) {
			log_error(b->log, "debug.powerloss: no faultable file interface");
			rc = SL_EINVAL;
		} else {
			log_warn(b->log, "debug.powerloss: recording unsynced writes (tests only)");
			sio_powerloss_enable(b->io);
		}
	}
	if (rc == 0 && (rc = sio_mkdir_p(b->io, b->data_dir)) < 0)
		log_error(b->log, "cannot create the data directory %s: %s", b->data_dir,
		          sl_strerror(rc));
	if (rc == 0 && (rc = users_open(&b->users, b)) < 0)
		log_error(b->log, "cannot open the user database: %s", sl_strerror(rc));
	if (rc == 0 && (rc = acl_open(&b->acls, b)) < 0)
		log_error(b->log, "cannot open the Kafka ACLs: %s", sl_strerror(rc));
	if (rc == 0 && (rc = topics_open(&b->topics, b)) < 0)
		log_error(b->log, "kafka: cannot open the topics: %s", sl_strerror(rc));
	if (rc == 0 && (rc = open_groups(b)) < 0)
		log_error(b->log, "kafka: cannot open the consumer groups: %s", sl_strerror(rc));
	if (rc == 0 && (rc = txn_open(&b->txns, b)) < 0)
		log_error(b->log, "kafka: cannot open the transactions: %s", sl_strerror(rc));
	if (rc == 0 && (rc = jobs_open(&b->jobs, b)) < 0)
		log_error(b->log, "beanstalk: cannot open the jobs: %s", sl_strerror(rc));
	if (rc == 0 && (rc = ks_open(&b->ks, b)) < 0)
		log_error(b->log, "resp: cannot open the keyspace: %s", sl_strerror(rc));
	if (rc == 0)
		rc = funcs_open(&b->funcs, b);
	if (rc < 0) {
		broker_close(b);
		return rc;
	}
	loop_timer_start(b->loop, &b->housekeep, b->cfg->log_retention_check_interval_ms);
	if (b->cfg->log_verify_bytes_per_sec > 0)
		loop_timer_start(b->loop, &b->verify, VERIFY_TICK_MS);
	return 0;
}

void broker_ahead_jrnl_opts(const broker_t *b, jrnl_opts_t *o)
{
	memset(o, 0, sizeof *o);
	o->fsync = (fsync_policy_t){FSYNC_ALWAYS, 0};
	o->compact_ratio_pct = (int)b->cfg->journal_compact_ratio;
	o->compact_min_bytes = 64 * 1024;
	o->clean_stop = b->clean_start;
	o->strict = b->cfg->strict_recovery;
}

int broker_busy(const broker_t *b)
{
	/* Kafka's held replies are counted by its front (busy()). */
	return (b->jobs && dur_busy(b->jobs->dur) > 0) || (b->ks && ks_busy(b->ks) > 0);
}

void broker_close(broker_t *b)
{
	/* Closing syncs every log and journal; at shutdown one syncfs() of the
	 * data directory does it for all of them at once (thousands of
	 * partitions stop in one sync, not three each). */
	sio_defer_syncs(b->io);
	if (loop_timer_armed(&b->housekeep))
		loop_timer_stop(b->loop, &b->housekeep);
	if (loop_timer_armed(&b->verify))
		loop_timer_stop(b->loop, &b->verify);
	funcs_close(b->funcs);
	b->funcs = NULL;
	if (b->ks)
		ks_close(b->ks);
	b->ks = NULL;
	if (b->jobs)
		jobs_close(b->jobs);
	b->jobs = NULL;
	if (b->txns)
		txn_close(b->txns);
	b->txns = NULL;
	if (b->groups)
		grp_coord_close(b->groups);
	b->groups = NULL;
	if (b->topics)
		topics_close(b->topics);
	b->topics = NULL;
	acl_close(b->acls);
	b->acls = NULL;
	users_close(b->users);
	b->users = NULL;
	/* Let callbacks queued by the final syncs run. */
	loop_run_once(b->loop, 0);
	free(b->stats);
	b->stats = NULL;
	int rc = sio_sync_deferred(b->io, b->data_dir);
	if (rc < 0)
		log_error(b->log, "cannot sync the data directory at shutdown: %s",
		          sl_strerror(rc));
}

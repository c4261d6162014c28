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

#include "broker/group.h"
#include "broker/job.h"
#include "broker/keyspace.h"
#include "broker/topic.h"
#include "core/err.h"
#include "core/time.h"

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

static int open_groups(broker_t *b)
{
	grp_opts_t o;
	grp_opts_from_config(&o, b->cfg);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/groups", b->data_dir);
	return grp_coord_open(&b->groups, b->loop, b->syncer, b->log, &o, dir);
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
	loop_timer_init(&b->housekeep, housekeep, b);
	if (!b->io)
		b->io = syncer_io(b->syncer);
	int rc = arm_start_fault(b);
	if (rc == 0 && (rc = sio_mkdir_p(b->io, b->data_dir)) < 0)
		log_error(b->log, "cannot create the data directory %s: %s", b->data_dir,
		          sl_strerror(rc));
	if (rc == 0 && (rc = topics_open(&b->topics, b)) < 0)
		log_error(b->log, "kafka: cannot open the topics: %s", sl_strerror(rc));
	if (rc == 0 && (rc = open_groups(b)) < 0)
		log_error(b->log, "kafka: cannot open the consumer groups: %s", sl_strerror(rc));
	if (rc == 0 && (rc = jobs_open(&b->jobs, b)) < 0)
		log_error(b->log, "beanstalk: cannot open the jobs: %s", sl_strerror(rc));
	if (rc == 0 && (rc = ks_open(&b->ks, b)) < 0)
		log_error(b->log, "resp: cannot open the keyspace: %s", sl_strerror(rc));
	if (rc < 0) {
		broker_close(b);
		return rc;
	}
	loop_timer_start(b->loop, &b->housekeep, b->cfg->log_retention_check_interval_ms);
	return 0;
}

int broker_busy(const broker_t *b)
{
	(void)b;
	return 0;
}

void broker_close(broker_t *b)
{
	if (loop_timer_armed(&b->housekeep))
		loop_timer_stop(b->loop, &b->housekeep);
	if (b->ks)
		ks_close(b->ks);
	b->ks = NULL;
	if (b->jobs)
		jobs_close(b->jobs);
	b->jobs = NULL;
	if (b->groups)
		grp_coord_close(b->groups);
	b->groups = NULL;
	if (b->topics)
		topics_close(b->topics);
	b->topics = NULL;
	/* Let callbacks queued by the final syncs run. */
	loop_run_once(b->loop, 0);
}

/*
 * broker.h — the broker: the one owner of every piece of domain state, and
 * the shared context every protocol front receives.
 *
 * main.c fills in the services (configuration, log, event loop, syncer, the
 * data directory) and calls broker_open(), which opens every domain
 * whatever listeners are enabled: Kafka topics with their partitions and
 * retention, consumer groups and committed offsets, beanstalkd jobs and
 * tubes, and the Redis keyspace. Fronts are adapters: they parse, call the
 * domain modules through the pointers below, and encode replies; they keep
 * connection state only. How a reply waits for durability, and what
 * happens when a write fails, is decided in one place: broker/dur.h.
 *
 * No module keeps globals, so two brokers can run in one test process.
 * Loop thread only.
 */
#ifndef SL_BROKER_BROKER_H
#define SL_BROKER_BROKER_H

#include "core/config.h"
#include "core/log.h"
#include "net/loop.h"
#include "store/sio.h"
#include "store/syncer.h"

struct topics;
struct grp_coord;
struct txn_coord;
struct jobs;
struct keyspace;
struct broker_stats;
struct users;
struct acls;
struct funcs;

typedef struct broker {
	/* Services, set by the caller before broker_open. */
	const sl_config_t *cfg; /* borrowed, outlives the broker */
	const log_t *log;
	loop_t *loop;
	syncer_t *syncer;
	const char *data_dir;
	int clean_start;   /* the previous run shut down cleanly */
	int shutting_down; /* set when SIGTERM/SIGINT arrived */
	int draining;      /* SIGUSR1: refuse new beanstalkd jobs (DRAINING) */
	/* Bound listener ports (the real ones when configured as 0), -1 for
	 * a listener that is off; set by main.c as each listener opens, read
	 * by the HTTP /status endpoint. */
	struct {
		int kafka, resp, beanstalk, http;
	} ports;

	/* The store's file interface (faultable), borrowed: set it with the
	 * syncer's (syncer_set_io) before broker_open, or leave it NULL to
	 * take the syncer's. It must outlive the syncer. */
	sio_t *io;
	/* Owned, opened by broker_open. */
	struct topics *topics;    /* Kafka topics, partitions, producer ids */
	struct grp_coord *groups; /* Kafka consumer groups and offsets */
	struct txn_coord *txns;   /* Kafka transactions (broker/txn.h) */
	struct jobs *jobs;        /* beanstalkd jobs and tubes */
	struct keyspace *ks;      /* the Redis keyspace (NULL until opened) */
	struct users *users;      /* the user database of every protocol */
	struct acls *acls;        /* Kafka ACLs (broker/acl.h) */
	struct funcs *funcs;      /* the Redis function libraries (broker/funcs.h) */
	loop_timer_t housekeep;   /* retention and rolling of every log */
	loop_timer_t verify;      /* background CRC check of older logs */
	int64_t started_ms;       /* monotonic */
	/* Request counters of the fronts (broker/stats.h), owned; read by
	 * /metrics. NULL in brokers built by hand (unit tests). */
	struct broker_stats *stats;
} broker_t;

/* The options of a small state journal whose changes are written ahead
 * and synced whatever the fsync policy (users, functions). */
struct jrnl_opts;
void broker_ahead_jrnl_opts(const broker_t *b, struct jrnl_opts *o);

/* Opens every domain. On failure everything opened is closed again and the
 * error returned (logged). */
int broker_open(broker_t *b);
/* Replies still waiting for durability, in any domain (shutdown waits). */
int broker_busy(const broker_t *b);
/* Flushes, syncs and closes every domain (after the fronts stopped). */
void broker_close(broker_t *b);

#endif

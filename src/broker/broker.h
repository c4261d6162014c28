/*
 * broker.h — the shared context every protocol front receives.
 *
 * main.c builds one broker_t: configuration, log, event loop, syncer and the
 * data directory. Protocol fronts keep their own state in their own structs
 * (created by front_t.start) and reach shared services through this one; no
 * module keeps globals, so two brokers can run in one test process.
 * Loop thread only.
 */
#ifndef SL_BROKER_BROKER_H
#define SL_BROKER_BROKER_H

#include "core/config.h"
#include "core/log.h"
#include "net/loop.h"
#include "store/syncer.h"

typedef struct broker {
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
} broker_t;

#endif

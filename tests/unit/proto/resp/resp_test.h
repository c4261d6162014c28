/*
 * resp_test.h — the fixture of the RESP front's unit tests: a broker
 * (config, loop, syncer, data dir = the test's cwd) with the RESP front
 * started on it, and in-memory client connections to it.
 */
#ifndef SL_TESTS_RESP_TEST_H
#define SL_TESTS_RESP_TEST_H

#include "../../test.h"

#include "net/memconn.h"
#include "proto/front.h"
#include "store/sio.h"

typedef struct env {
	sl_config_t cfg;
	broker_t b;
	sio_t *io; /* the store's file interface: tests arm faults on it */
	void *srv;
} env_t;

/* Starts the front with fsync policy fsync ("always", "never"…) and, when
 * key is not NULL, one more setting. */
static inline void env_start_with(env_t *e, const char *fsync, const char *key, const char *val)
{
	char err[128];
	memset(e, 0, sizeof *e);
	config_init(&e->cfg);
	CHECK(config_set(&e->cfg, "fsync", fsync, err, sizeof err) == 0);
	if (key)
		CHECK(config_set(&e->cfg, key, val, err, sizeof err) == 0);
	e->b.cfg = &e->cfg;
	e->b.loop = loop_new(NULL);
	e->b.syncer = syncer_new(e->b.loop, NULL);
	e->io = sio_new();
	syncer_set_io(e->b.syncer, e->io);
	e->b.io = e->io;
	e->b.data_dir = ".";
	CHECK(broker_open(&e->b) == 0);
	CHECK(resp_front.start(&e->b, &e->srv) == 0);
}

static inline void env_start(env_t *e, const char *fsync)
{
	env_start_with(e, fsync, NULL, NULL);
}

/* Lets in-flight work finish (bounded), then stops and frees everything. */
static inline void env_stop(env_t *e)
{
	for (int i = 0; i < 1000 && resp_front.busy(e->srv); i++)
		loop_run_once(e->b.loop, 10);
	resp_front.stop(e->srv);
	broker_close(&e->b);
	syncer_free(e->b.syncer);
	sio_free(e->io);
	loop_free(e->b.loop);
	config_deinit(&e->cfg);
}

/* Arms a storage fault (store/sio.h rule syntax). */
static inline void env_fault(env_t *e, const char *spec)
{
	sio_fault_t f;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &f, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(e->io, &f), 0);
}

static inline memconn_t *client(env_t *e)
{
	return memconn_new(e->b.loop, resp_front.proto, e->srv, NULL);
}

#endif

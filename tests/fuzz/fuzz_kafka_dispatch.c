/*
 * fuzz_kafka_dispatch.c — the Kafka front's request path (framing, header,
 * the API table and every handler) with no connection: handlers answer
 * into a buffer and nothing parks, so each input reaches the handlers
 * directly (fuzz_kafka.c drives the whole front through a connection).
 * The input is read as a stream of size-prefixed requests and, separately,
 * as one request body, so both the framing and the handlers see arbitrary
 * bytes. Each frame is copied into an exact-size
 * allocation so ASan catches any read past it. One broker (topics under a
 * temporary directory) serves every input. Single thread.
 */
#include "core/config.h"
#include "proto/front.h"
#include "proto/kafka/kafka.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static kafka_srv_t *srv;
static broker_t broker;
static sl_config_t cfg;
static log_t quiet;
static char dir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Stops the broker and removes its temporary data directory. */
static void teardown(void)
{
	kafka_front.stop(srv);
	broker_close(&broker);
	loop_run_once(broker.loop, 0);
	syncer_free(broker.syncer);
	loop_free(broker.loop);
	config_deinit(&cfg);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	config_init(&cfg);
	log_init(&quiet, LOG_ERROR, 2);
	/* Like the front harness: in memory when possible and without
	 * fdatasync, so that a request creating thousands of partitions (a
	 * CreatePartitions to 9,223 took 33 s with fsync=always in /tmp) costs
	 * what the code costs, not what the disk does. */
	snprintf(dir, sizeof dir, "%s/sluice-fuzz-kafka.XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	char err[256];
	if (config_set(&cfg, "fsync", "never", err, sizeof err) != 0 ||
	    config_set(&cfg, "log.verify.bytes.per.sec", "0", err, sizeof err) != 0)
		abort();
	broker.cfg = &cfg;
	broker.log = &quiet;
	broker.data_dir = dir;
	broker.loop = loop_new(NULL);
	broker.syncer = syncer_new(broker.loop, &quiet);
	void *s = NULL;
	if (!broker.loop || !broker.syncer || broker_open(&broker) != 0 ||
	    kafka_front.start(&broker, &s) != 0)
		abort();
	srv = s;
	atexit(teardown);
}

static void one(const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, p, n);
	buf_t out = BUF_INIT;
	(void)kafka_dispatch(srv, NULL, &out, copy, n);
	buf_deinit(&out);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv)
		setup();
	one(data, size);
	size_t off = 0;
	while (off < size) {
		size_t len = 0;
		int n = kafka_frame_next(data + off, size - off, 1 << 20, &len);
		if (n < 0)
			break;
		one(data + off + 4, len);
		off += (size_t)n;
	}
	loop_run_once(broker.loop, 0);
	return 0;
}

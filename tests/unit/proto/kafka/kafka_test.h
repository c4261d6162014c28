/*
 * kafka_test.h — fixtures for the Kafka front's unit tests: a broker (loop,
 * syncer, config, data dir = the test's temp dir) with the real Kafka
 * front started on it, request builders, and a response reader. Test code
 * only, single thread.
 */
#ifndef SL_TESTS_KAFKA_TEST_H
#define SL_TESTS_KAFKA_TEST_H

#include "test.h"

#include "../../net/memconn.h"

#include "core/config.h"
#include "proto/front.h"
#include "proto/kafka/kafka.h"
#include "store/batch.h"

typedef struct kfix {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	sio_t *io; /* the store's file interface: tests arm faults on it */
	kafka_srv_t *srv;
} kfix_t;

/* Starts the broker and the front; kfix_start0 leaves f->cfg as the caller
 * set it (after config_init), kfix_start uses the defaults. */
static inline void kfix_start0(kfix_t *f)
{
	log_init(&f->log, LOG_WARN, 2);
	f->b.cfg = &f->cfg;
	f->b.log = &f->log;
	f->b.data_dir = ".";
	f->b.loop = loop_new(NULL);
	CHECK(f->b.loop);
	f->b.syncer = syncer_new(f->b.loop, &f->log);
	CHECK(f->b.syncer);
	f->io = sio_new();
	syncer_set_io(f->b.syncer, f->io);
	void *srv = NULL;
	CHECK_EQ(broker_open(&f->b), 0);
	CHECK_EQ(kafka_front.start(&f->b, &srv), 0);
	f->srv = srv;
}

static inline void kfix_start(kfix_t *f)
{
	memset(f, 0, sizeof *f);
	config_init(&f->cfg);
	kfix_start0(f);
}

/* Arms a fault rule in the store/sio.h syntax. */
static inline void kfix_fault(kfix_t *f, const char *spec)
{
	sio_fault_t sf;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &sf, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(f->io, &sf), 0);
}

static inline void kfix_stop(kfix_t *f)
{
	kafka_front.stop(f->srv);
	broker_close(&f->b);
	loop_run_once(f->b.loop, 0);
	syncer_free(f->b.syncer);
	sio_free(f->io);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

static inline memconn_t *kfix_conn(kfix_t *f)
{
	memconn_t *m = memconn_new(f->b.loop, kafka_front.proto, f->srv, NULL);
	CHECK(m != NULL);
	return m;
}

/* Creates topic name with num.partitions partitions, as a client's
 * Metadata request would (Produce never creates topics). */
static inline void kfix_topic(kfix_t *f, const char *name)
{
	topic_t *t = NULL;
	CHECK_EQ(topics_create(f->srv->topics, name, (int32_t)f->cfg.num_partitions, NULL, 0, &t),
	         0);
}

/* Starts a request frame in b; finish with kt_end. */
static inline size_t kt_begin(buf_t *b, int16_t key, int16_t ver, int32_t corr, int flex)
{
	size_t mark = buf_len(b);
	buf_put_be32(b, 0);
	kw_i16(b, key);
	kw_i16(b, ver);
	kw_i32(b, corr);
	kw_strn(b, 0, "unit", 4);
	kw_tags(b, flex);
	return mark;
}
static inline void kt_end(buf_t *b, size_t mark)
{
	be32_store(buf_data(b) + mark, (uint32_t)(buf_len(b) - mark - 4));
}

/* Receives exactly one response frame (waiting up to 5 s) into out (the
 * bytes after the size field). */
static inline void kt_recv(memconn_t *m, buf_t *out)
{
	static buf_t pending = BUF_INIT;
	int64_t spins = 0;
	for (;;) {
		if (buf_len(&pending) >= 4) {
			size_t n = be32_load(buf_data(&pending));
			if (buf_len(&pending) >= 4 + n) {
				buf_append(out, buf_data(&pending) + 4, n);
				buf_consume(&pending, 4 + n);
				return;
			}
		}
		CHECK_MSG(spins++ < 100, "no complete response");
		memconn_recv_wait(m, &pending, 4, 50);
	}
}

/* One uncompressed batch of n records "v0".."v<n-1>". */
static inline void kt_batch(buf_t *out, int n, int64_t pid, int16_t epoch, int32_t seq, int64_t ts)
{
	batch_record_t recs[64];
	char vals[64][16];
	CHECK(n <= 64);
	for (int i = 0; i < n; i++) {
		snprintf(vals[i], sizeof vals[i], "v%d", i);
		memset(&recs[i], 0, sizeof recs[i]);
		recs[i].timestamp = ts + i;
		recs[i].key_len = -1;
		recs[i].value = (const uint8_t *)vals[i];
		recs[i].value_len = (int32_t)strlen(vals[i]);
	}
	batch_build_opts_t o = {pid, epoch, seq, 0, 0};
	CHECK_EQ(batch_build(out, &o, recs, (size_t)n), 0);
}

/* A Produce request (v3..v9) of one batch to topic/partition. */
static inline void kt_produce(buf_t *b, int16_t v, int32_t corr, const char *topic, int32_t part,
                              int16_t acks, const buf_t *batch)
{
	int flex = v >= 9;
	size_t mark = kt_begin(b, 0, v, corr, flex);
	kw_str(b, flex, NULL);
	kw_i16(b, acks);
	kw_i32(b, 5000);
	kw_arr(b, flex, 1);
	kw_str(b, flex, topic);
	kw_arr(b, flex, 1);
	kw_i32(b, part);
	kw_bytes_len(b, flex, (int32_t)buf_len(batch));
	buf_append(b, buf_data(batch), buf_len(batch));
	kw_tags(b, flex);
	kw_tags(b, flex);
	kw_tags(b, flex);
	kt_end(b, mark);
}

/* A Fetch request (v4..v12) of one partition. */
static inline void kt_fetch(buf_t *b, int16_t v, int32_t corr, const char *topic, int32_t part,
                            int64_t offset, int32_t max_wait, int32_t min_bytes)
{
	int flex = v >= 12;
	size_t mark = kt_begin(b, 1, v, corr, flex);
	kw_i32(b, -1);
	kw_i32(b, max_wait);
	kw_i32(b, min_bytes);
	kw_i32(b, 1 << 20);
	kw_i8(b, 0);
	if (v >= 7) {
		kw_i32(b, 0);
		kw_i32(b, -1);
	}
	kw_arr(b, flex, 1);
	kw_str(b, flex, topic);
	kw_arr(b, flex, 1);
	kw_i32(b, part);
	if (v >= 9)
		kw_i32(b, -1);
	kw_i64(b, offset);
	if (v >= 12)
		kw_i32(b, -1);
	if (v >= 5)
		kw_i64(b, -1);
	kw_i32(b, 1 << 20);
	kw_tags(b, flex);
	kw_tags(b, flex);
	if (v >= 7)
		kw_arr(b, flex, 0);
	if (v >= 11)
		kw_str(b, flex, "");
	kw_tags(b, flex);
	kt_end(b, mark);
}

#endif

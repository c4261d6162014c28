/*
 * test_handlers.c — the Kafka front through an in-memory connection:
 * ApiVersions (and its downgrade rule), Metadata, Produce/Fetch round trips
 * in classic and flexible versions, acks=-1 holds, pipelining, long-poll
 * fetches woken by a produce, ListOffsets, and requests fed one byte at a
 * time.
 */
#include "kafka_test.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

static void apiversions_req(buf_t *b, int16_t v, int32_t corr)
{
	size_t m = kt_begin(b, 18, v, corr, v >= 3);
	if (v >= 3) {
		kw_str(b, 1, "unit-test");
		kw_str(b, 1, "1.0");
		kw_tags(b, 1);
	}
	kt_end(b, m);
}

static void check_apiversions(const buf_t *resp, int16_t v, int32_t corr)
{
	int flex = v >= 3;
	rd_t r;
	rd_init(&r, buf_data(resp), buf_len(resp));
	CHECK_EQ(kr_i32(&r), corr);
	/* Header v0 even for v3: no tagged-field byte here. */
	CHECK_EQ(kr_i16(&r), 0);
	int32_t n = kr_arr(&r, flex, 6);
	int seen_produce = 0, seen_fetch = 0;
	for (int32_t i = 0; i < n; i++) {
		int16_t key = kr_i16(&r), min = kr_i16(&r), max = kr_i16(&r);
		kr_tags(&r, flex);
		const kafka_api_t *a = kafka_api_find(key);
		CHECK(a && a->min == min && a->max == max);
		seen_produce |= key == 0 && min == 0;
		seen_fetch |= key == 1 && min == 0;
	}
	if (v >= 1)
		CHECK_EQ(kr_i32(&r), 0);
	kr_tags(&r, flex);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
	CHECK(seen_produce && seen_fetch);
}

TEST(kafka_apiversions_every_version)
{
	kfix_t f;
	kfix_start(&f);
	memconn_t *m = kfix_conn(&f);
	for (int16_t v = 0; v <= 3; v++) {
		buf_t req = BUF_INIT, resp = BUF_INIT;
		apiversions_req(&req, v, 100 + v);
		memconn_send(m, buf_data(&req), buf_len(&req));
		kt_recv(m, &resp);
		check_apiversions(&resp, v, 100 + v);
		buf_deinit(&req);
		buf_deinit(&resp);
	}
	memconn_free(m);
	kfix_stop(&f);
}

TEST(kafka_requests_split_at_every_byte)
{
	kfix_t f;
	kfix_start(&f);
	kfix_topic(&f, "split");
	memconn_t *m = kfix_conn(&f);
	buf_t req = BUF_INIT, batch = BUF_INIT;
	apiversions_req(&req, 3, 7);
	kt_batch(&batch, 3, -1, -1, -1, 1000);
	kt_produce(&req, 9, 8, "split", 0, 1, &batch);
	/* MaxWaitMs 5000: the fetch waits for the produced batch to be synced. */
	kt_fetch(&req, 12, 9, "split", 0, 0, 5000, 1);
	for (size_t i = 0; i < buf_len(&req); i++) {
		memconn_send(m, buf_data(&req) + i, 1);
		memconn_pump(m);
	}
	buf_t resp = BUF_INIT;
	kt_recv(m, &resp);
	check_apiversions(&resp, 3, 7);
	buf_reset(&resp);
	kt_recv(m, &resp);
	CHECK_EQ(be32_load(buf_data(&resp)), 8);
	buf_reset(&resp);
	kt_recv(m, &resp);
	CHECK_EQ(be32_load(buf_data(&resp)), 9);
	/* The fetched batch is the produced one with BaseOffset 0. */
	CHECK(buf_len(&resp) >= buf_len(&batch));
	/* Flexible: three empty tagged-field sections follow the records. */
	const uint8_t *got = buf_data(&resp) + buf_len(&resp) - 3 - buf_len(&batch);
	CHECK_EQ(be32_load(got + 8), buf_len(&batch) - 12);
	CHECK_MEM(got + 16, buf_data(&batch) + 16, buf_len(&batch) - 16);
	CHECK(!memconn_server_closed(m));
	buf_deinit(&req);
	buf_deinit(&batch);
	buf_deinit(&resp);
	memconn_free(m);
	kfix_stop(&f);
}

/* Sends one Metadata request and returns the topic error / partition count
 * of the single topic asked for. */
static void metadata(memconn_t *m, int16_t v, const char *topic, int allow, int16_t *err,
                     int32_t *nparts, char *cluster_id)
{
	int flex = v >= 9;
	buf_t req = BUF_INIT, resp = BUF_INIT;
	size_t mk = kt_begin(&req, 3, v, 5, flex);
	kw_arr(&req, flex, 1);
	if (v >= 10)
		kw_uuid(&req, NULL);
	kw_str(&req, flex, topic);
	kw_tags(&req, flex);
	if (v >= 4)
		kw_bool(&req, allow);
	if (v >= 8)
		kw_bool(&req, 0);
	if (v >= 8 && v <= 10)
		kw_bool(&req, 0);
	kw_tags(&req, flex);
	kt_end(&req, mk);
	memconn_send(m, buf_data(&req), buf_len(&req));
	kt_recv(m, &resp);
	rd_t r;
	rd_init(&r, buf_data(&resp), buf_len(&resp));
	CHECK_EQ(kr_i32(&r), 5);
	kr_tags(&r, flex);
	if (v >= 3)
		kr_i32(&r);
	CHECK_EQ(kr_arr(&r, flex, 1), 1);
	CHECK_EQ(kr_i32(&r), 1);
	CHECK(kstr_eq(kr_str(&r, flex), "127.0.0.1"));
	CHECK(kr_i32(&r) > 0);
	if (v >= 1)
		CHECK_EQ(kr_str(&r, flex).len, -1);
	kr_tags(&r, flex);
	if (v >= 2) {
		kstr_t cid = kr_str(&r, flex);
		CHECK_EQ(cid.len, 22);
		memcpy(cluster_id, cid.p, 22);
		cluster_id[22] = 0;
	}
	if (v >= 1)
		CHECK_EQ(kr_i32(&r), 1);
	CHECK_EQ(kr_arr(&r, flex, 1), 1);
	*err = kr_i16(&r);
	CHECK(kstr_eq(kr_str(&r, flex), topic));
	if (v >= 10)
		kr_uuid(&r);
	if (v >= 1)
		kr_i8(&r);
	*nparts = kr_arr(&r, flex, 1);
	for (int32_t i = 0; i < *nparts; i++) {
		CHECK_EQ(kr_i16(&r), 0);
		CHECK_EQ(kr_i32(&r), i);
		CHECK_EQ(kr_i32(&r), 1);
		if (v >= 7)
			kr_i32(&r);
		CHECK_EQ(kr_arr(&r, flex, 4), 1);
		kr_i32(&r);
		CHECK_EQ(kr_arr(&r, flex, 4), 1);
		kr_i32(&r);
		if (v >= 5)
			CHECK_EQ(kr_arr(&r, flex, 4), 0);
		kr_tags(&r, flex);
	}
	if (v >= 8)
		kr_i32(&r);
	kr_tags(&r, flex);
	if (v >= 8 && v <= 10)
		kr_i32(&r);
	kr_tags(&r, flex);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
	buf_deinit(&req);
	buf_deinit(&resp);
}

TEST(kafka_metadata_every_version_and_auto_create)
{
	kfix_t f;
	kfix_start(&f);
	f.cfg.num_partitions = 3;
	memconn_t *m = kfix_conn(&f);
	char cid[32] = "", first[32] = "";
	int16_t err;
	int32_t np;
	/* v4+ with AllowAutoTopicCreation false: unknown. */
	metadata(m, 4, "auto", 0, &err, &np, cid);
	CHECK_EQ(err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
	CHECK_EQ(np, 0);
	strcpy(first, cid);
	for (int16_t v = 0; v <= 12; v++) {
		metadata(m, v, "auto", 1, &err, &np, cid);
		CHECK_EQ(err, 0);
		CHECK_EQ(np, 3);
		if (v >= 2)
			CHECK_STR(cid, first);
	}
	metadata(m, 1, "bad/name", 1, &err, &np, cid);
	CHECK_EQ(err, KERR_INVALID_TOPIC_EXCEPTION);
	f.cfg.auto_create_topics_enable = 0;
	metadata(m, 1, "never", 1, &err, &np, cid);
	CHECK_EQ(err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
	memconn_free(m);
	kfix_stop(&f);
}

/* Parses a Produce response with one partition. */
static void produce_result(const buf_t *resp, int16_t v, int32_t corr, int16_t *err, int64_t *base)
{
	int flex = v >= 9;
	rd_t r;
	rd_init(&r, buf_data(resp), buf_len(resp));
	CHECK_EQ(kr_i32(&r), corr);
	kr_tags(&r, flex);
	CHECK_EQ(kr_arr(&r, flex, 1), 1);
	kr_str(&r, flex);
	CHECK_EQ(kr_arr(&r, flex, 1), 1);
	kr_i32(&r);
	*err = kr_i16(&r);
	*base = kr_i64(&r);
	kr_i64(&r);
	if (v >= 5)
		kr_i64(&r);
	if (v >= 8) {
		CHECK_EQ(kr_arr(&r, flex, 1), 0);
		CHECK_EQ(kr_str(&r, flex).len, -1);
	}
	kr_tags(&r, flex);
	kr_tags(&r, flex);
	kr_i32(&r);
	kr_tags(&r, flex);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
}

TEST(kafka_produce_every_version_acks_and_ordering)
{
	kfix_t f;
	kfix_start(&f);
	kfix_topic(&f, "p");
	memconn_t *m = kfix_conn(&f);
	int64_t next = 0;
	for (int16_t v = 3; v <= 9; v++) {
		for (int acks = -1; acks <= 1; acks++) {
			buf_t req = BUF_INIT, batch = BUF_INIT, resp = BUF_INIT;
			kt_batch(&batch, 4, -1, -1, -1, 5000);
			kt_produce(&req, v, 10 * v + acks, "p", 0, (int16_t)acks, &batch);
			/* A pipelined ApiVersions must come back after the produce. */
			apiversions_req(&req, 0, 999);
			memconn_send(m, buf_data(&req), buf_len(&req));
			if (acks != 0) {
				int16_t err;
				int64_t base;
				kt_recv(m, &resp);
				produce_result(&resp, v, 10 * v + acks, &err, &base);
				CHECK_EQ(err, 0);
				CHECK_EQ(base, next);
				buf_reset(&resp);
			}
			next += 4;
			kt_recv(m, &resp);
			CHECK_EQ(be32_load(buf_data(&resp)), 999);
			buf_deinit(&req);
			buf_deinit(&batch);
			buf_deinit(&resp);
		}
	}
	CHECK_EQ(kafka_front.busy(f.srv), 0);
	memconn_free(m);
	kfix_stop(&f);
}

/* Parses a Fetch response with one partition; returns the records view. */
static kstr_t fetch_result(const buf_t *resp, int16_t v, int32_t corr, int16_t *err, int64_t *hw)
{
	int flex = v >= 12;
	rd_t r;
	rd_init(&r, buf_data(resp), buf_len(resp));
	CHECK_EQ(kr_i32(&r), corr);
	kr_tags(&r, flex);
	CHECK_EQ(kr_i32(&r), 0);
	if (v >= 7) {
		CHECK_EQ(kr_i16(&r), 0);
		CHECK_EQ(kr_i32(&r), 0);
	}
	CHECK_EQ(kr_arr(&r, flex, 1), 1);
	kr_str(&r, flex);
	CHECK_EQ(kr_arr(&r, flex, 1), 1);
	kr_i32(&r);
	*err = kr_i16(&r);
	*hw = kr_i64(&r);
	CHECK_EQ(kr_i64(&r), *hw); /* LastStableOffset */
	if (v >= 5)
		kr_i64(&r);
	CHECK_EQ(kr_arr(&r, flex, 16), 0);
	if (v >= 11)
		CHECK_EQ(kr_i32(&r), -1);
	kstr_t rec = kr_bytes(&r, flex);
	kr_tags(&r, flex);
	kr_tags(&r, flex);
	kr_tags(&r, flex);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
	return rec;
}

TEST(kafka_fetch_every_version_and_out_of_range)
{
	kfix_t f;
	kfix_start(&f);
	kfix_topic(&f, "fv");
	memconn_t *m = kfix_conn(&f);
	buf_t req = BUF_INIT, batch = BUF_INIT, resp = BUF_INIT;
	for (int i = 0; i < 3; i++) {
		buf_reset(&batch);
		kt_batch(&batch, 2, -1, -1, -1, 1000 * i);
		kt_produce(&req, 7, i, "fv", 0, -1, &batch);
	}
	memconn_send(m, buf_data(&req), buf_len(&req));
	for (int i = 0; i < 3; i++) {
		buf_reset(&resp);
		kt_recv(m, &resp);
	}
	size_t one = buf_len(&batch);
	for (int16_t v = 4; v <= 12; v++) {
		buf_reset(&req);
		buf_reset(&resp);
		kt_fetch(&req, v, v, "fv", 0, 3, 0, 1);
		memconn_send(m, buf_data(&req), buf_len(&req));
		kt_recv(m, &resp);
		int16_t err;
		int64_t hw;
		kstr_t rec = fetch_result(&resp, v, v, &err, &hw);
		CHECK_EQ(err, 0);
		CHECK_EQ(hw, 6);
		/* Offset 3 lies in the second batch: batches 2 and 3 come back. */
		CHECK_EQ(rec.len, (int32_t)(2 * one));
		batch_hdr_t h;
		CHECK_EQ(batch_peek((const uint8_t *)rec.p, (size_t)rec.len, &h), 0);
		CHECK_EQ(h.base_offset, 2);
		CHECK(batch_crc_ok((const uint8_t *)rec.p, one));
	}
	buf_reset(&req);
	buf_reset(&resp);
	kt_fetch(&req, 11, 77, "fv", 0, 7, 0, 1);
	memconn_send(m, buf_data(&req), buf_len(&req));
	kt_recv(m, &resp);
	int16_t err;
	int64_t hw;
	kstr_t rec = fetch_result(&resp, 11, 77, &err, &hw);
	CHECK_EQ(err, KERR_OFFSET_OUT_OF_RANGE);
	CHECK_EQ(rec.len, 0);
	buf_reset(&req);
	buf_reset(&resp);
	kt_fetch(&req, 11, 78, "nope", 0, 0, 0, 1);
	memconn_send(m, buf_data(&req), buf_len(&req));
	kt_recv(m, &resp);
	fetch_result(&resp, 11, 78, &err, &hw);
	CHECK_EQ(err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
	buf_deinit(&req);
	buf_deinit(&batch);
	buf_deinit(&resp);
	memconn_free(m);
	kfix_stop(&f);
}

TEST(kafka_long_poll_fetch_woken_by_produce_and_by_timeout)
{
	kfix_t f;
	kfix_start(&f);
	kfix_topic(&f, "lp");
	memconn_t *a = kfix_conn(&f), *p = kfix_conn(&f);
	buf_t req = BUF_INIT, batch = BUF_INIT, resp = BUF_INIT;
	kt_batch(&batch, 1, -1, -1, -1, 1);
	kt_produce(&req, 7, 1, "lp", 0, -1, &batch);
	memconn_send(p, buf_data(&req), buf_len(&req));
	kt_recv(p, &resp);
	/* Parked at the end of the log, with a pipelined ApiVersions behind. */
	buf_reset(&req);
	kt_fetch(&req, 11, 2, "lp", 0, 1, 10000, 1);
	apiversions_req(&req, 0, 3);
	memconn_send(a, buf_data(&req), buf_len(&req));
	memconn_pump(a);
	buf_reset(&resp);
	CHECK_EQ(memconn_recv(a, &resp), 0);
	/* A produce on another connection wakes it. */
	buf_reset(&req);
	kt_produce(&req, 7, 4, "lp", 0, -1, &batch);
	memconn_send(p, buf_data(&req), buf_len(&req));
	buf_reset(&resp);
	kt_recv(p, &resp);
	buf_reset(&resp);
	kt_recv(a, &resp);
	int16_t err;
	int64_t hw;
	kstr_t rec = fetch_result(&resp, 11, 2, &err, &hw);
	CHECK_EQ(err, 0);
	CHECK_EQ(hw, 2);
	CHECK_EQ(rec.len, (int32_t)buf_len(&batch));
	buf_reset(&resp);
	kt_recv(a, &resp);
	CHECK_EQ(be32_load(buf_data(&resp)), 3);
	/* A short MaxWaitMs answers empty when nothing arrives. */
	buf_reset(&req);
	kt_fetch(&req, 11, 5, "lp", 0, 2, 30, 1);
	memconn_send(a, buf_data(&req), buf_len(&req));
	buf_reset(&resp);
	kt_recv(a, &resp);
	rec = fetch_result(&resp, 11, 5, &err, &hw);
	CHECK_EQ(err, 0);
	CHECK_EQ(rec.len, 0);
	/* A parked fetch on a connection that closes is dropped cleanly. */
	buf_reset(&req);
	kt_fetch(&req, 11, 6, "lp", 0, 2, 10000, 1);
	memconn_send(a, buf_data(&req), buf_len(&req));
	memconn_pump(a);
	buf_deinit(&req);
	buf_deinit(&batch);
	buf_deinit(&resp);
	memconn_free(a);
	memconn_free(p);
	kfix_stop(&f);
}

static int64_t list_offset(memconn_t *m, int16_t v, const char *topic, int64_t ts, int16_t *err)
{
	int flex = v >= 6;
	buf_t req = BUF_INIT, resp = BUF_INIT;
	size_t mk = kt_begin(&req, 2, v, 9, flex);
	kw_i32(&req, -1);
	if (v >= 2)
		kw_i8(&req, 0);
	kw_arr(&req, flex, 1);
	kw_str(&req, flex, topic);
	kw_arr(&req, flex, 1);
	kw_i32(&req, 0);
	if (v >= 4)
		kw_i32(&req, -1);
	kw_i64(&req, ts);
	kw_tags(&req, flex);
	kw_tags(&req, flex);
	kw_tags(&req, flex);
	kt_end(&req, mk);
	memconn_send(m, buf_data(&req), buf_len(&req));
	kt_recv(m, &resp);
	rd_t r;
	rd_init(&r, buf_data(&resp), buf_len(&resp));
	CHECK_EQ(kr_i32(&r), 9);
	kr_tags(&r, flex);
	if (v >= 2)
		kr_i32(&r);
	CHECK_EQ(kr_arr(&r, flex, 1), 1);
	kr_str(&r, flex);
	CHECK_EQ(kr_arr(&r, flex, 1), 1);
	CHECK_EQ(kr_i32(&r), 0);
	*err = kr_i16(&r);
	kr_i64(&r);
	int64_t off = kr_i64(&r);
	if (v >= 4)
		kr_i32(&r);
	kr_tags(&r, flex);
	kr_tags(&r, flex);
	kr_tags(&r, flex);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
	buf_deinit(&req);
	buf_deinit(&resp);
	return off;
}

TEST(kafka_list_offsets_every_version)
{
	kfix_t f;
	kfix_start(&f);
	kfix_topic(&f, "lo");
	memconn_t *m = kfix_conn(&f);
	buf_t req = BUF_INIT, batch = BUF_INIT, resp = BUF_INIT;
	for (int i = 0; i < 5; i++) {
		buf_reset(&batch);
		kt_batch(&batch, 2, -1, -1, -1, 10000 + 1000 * i);
		/* acks=-1: answered once synced, so below the high watermark. */
		kt_produce(&req, 7, i, "lo", 0, -1, &batch);
	}
	memconn_send(m, buf_data(&req), buf_len(&req));
	for (int i = 0; i < 5; i++) {
		buf_reset(&resp);
		kt_recv(m, &resp);
	}
	int16_t err;
	for (int16_t v = 1; v <= 7; v++) {
		CHECK_EQ(list_offset(m, v, "lo", -2, &err), 0);
		CHECK_EQ(err, 0);
		CHECK_EQ(list_offset(m, v, "lo", -1, &err), 10);
		CHECK_EQ(list_offset(m, v, "lo", 12000, &err), 4);
		CHECK_EQ(list_offset(m, v, "lo", 99999, &err), -1);
		CHECK_EQ(err, 0);
	}
	/* Max timestamp: the partition log answers the batch holding it (the
	 * hot path does not decompress), so offset 8 or the record's own 9. */
	int64_t mo = list_offset(m, 7, "lo", -3, &err);
	CHECK(mo == 8 || mo == 9);
	list_offset(m, 3, "none", -1, &err);
	CHECK_EQ(err, KERR_UNKNOWN_TOPIC_OR_PARTITION);
	buf_deinit(&req);
	buf_deinit(&batch);
	buf_deinit(&resp);
	memconn_free(m);
	kfix_stop(&f);
}

TEST(kafka_unknown_api_and_garbage_close_only_that_connection)
{
	kfix_t f;
	kfix_start(&f);
	memconn_t *bad = kfix_conn(&f), *good = kfix_conn(&f);
	buf_t req = BUF_INIT, resp = BUF_INIT;
	size_t mk = kt_begin(&req, 999, 0, 1, 0);
	kt_end(&req, mk);
	memconn_send(bad, buf_data(&req), buf_len(&req));
	CHECK(memconn_server_closed(bad));
	buf_reset(&req);
	apiversions_req(&req, 2, 4);
	memconn_send(good, buf_data(&req), buf_len(&req));
	kt_recv(good, &resp);
	check_apiversions(&resp, 2, 4);
	buf_deinit(&req);
	buf_deinit(&resp);
	memconn_free(bad);
	memconn_free(good);
	kfix_stop(&f);
}

/* One Produce round trip of one batch; returns its error and base offset. */
static void produce1(memconn_t *m, int16_t v, int32_t corr, const char *topic, int32_t part,
                     int16_t acks, const buf_t *batch, int16_t *err, int64_t *base)
{
	buf_t req = BUF_INIT, resp = BUF_INIT;
	kt_produce(&req, v, corr, topic, part, acks, batch);
	memconn_send(m, buf_data(&req), buf_len(&req));
	kt_recv(m, &resp);
	produce_result(&resp, v, corr, err, base);
	buf_deinit(&req);
	buf_deinit(&resp);
}

/* Fetches partition part from offset 0 (no wait); returns the high
 * watermark and the record bytes' length. */
static int64_t fetch_hw(memconn_t *m, const char *topic, int32_t part, int32_t *len)
{
	buf_t req = BUF_INIT, resp = BUF_INIT;
	kt_fetch(&req, 11, 77, topic, part, 0, 0, 1);
	memconn_send(m, buf_data(&req), buf_len(&req));
	kt_recv(m, &resp);
	int16_t err;
	int64_t hw;
	kstr_t rec = fetch_result(&resp, 11, 77, &err, &hw);
	CHECK_EQ(err, 0);
	*len = rec.len < 0 ? 0 : rec.len;
	buf_deinit(&req);
	buf_deinit(&resp);
	return hw;
}

TEST(kafka_write_failure_is_storage_error_and_reads_continue)
{
	kfix_t f;
	kfix_start(&f);
	kfix_topic(&f, "sto");
	memconn_t *m = kfix_conn(&f);
	buf_t batch = BUF_INIT;
	int16_t err;
	int64_t base;
	int32_t len;
	kt_batch(&batch, 3, -1, -1, -1, 1);
	produce1(m, 7, 1, "sto", 0, -1, &batch, &err, &base);
	CHECK_EQ(err, 0);
	CHECK_EQ(base, 0);
	/* A write that fails changes nothing: the error at once, for either
	 * acks, and the next write takes the same offset. */
	for (int acks = -1; acks <= 1; acks += 2) {
		kfix_fault(&f, "op=pwrite,path=sto-0/,count=1,errno=EIO");
		produce1(m, 7, 2, "sto", 0, (int16_t)acks, &batch, &err, &base);
		CHECK_EQ(err, KERR_KAFKA_STORAGE_ERROR);
		CHECK_EQ(base, -1);
	}
	produce1(m, 7, 4, "sto", 0, -1, &batch, &err, &base);
	CHECK_EQ(err, 0);
	CHECK_EQ(base, 3);
	/* A failed sync: the acks=-1 reply gets the error, the batch is cut
	 * back, and it was never readable. */
	kfix_fault(&f, "op=fdatasync,path=sto-0/,count=1,errno=EIO");
	produce1(m, 7, 5, "sto", 0, -1, &batch, &err, &base);
	CHECK_EQ(err, KERR_KAFKA_STORAGE_ERROR);
	CHECK_EQ(base, -1);
	/* Reads are still served, and the connection stays open. */
	CHECK_EQ(fetch_hw(m, "sto", 0, &len), 6);
	CHECK_EQ(len, 2 * (int32_t)buf_len(&batch));
	CHECK(!memconn_server_closed(m));
	/* Writes resume without a restart. */
	produce1(m, 7, 6, "sto", 0, -1, &batch, &err, &base);
	CHECK_EQ(err, 0);
	CHECK_EQ(base, 6);
	CHECK_EQ(fetch_hw(m, "sto", 0, &len), 9);
	partition_t *p = topics_find(f.srv->topics, "sto", 3)->parts[0];
	CHECK_EQ(dur_recoveries(p->dur), 1);
	CHECK_EQ(kafka_front.busy(f.srv), 0);
	buf_deinit(&batch);
	memconn_free(m);
	kfix_stop(&f);
}

/* One acks=-1 Produce v7 of batch to partitions 0 and 1 of topic; the two
 * partitions' error codes. */
static void produce2(memconn_t *m, const char *topic, const buf_t *batch, int16_t err[2])
{
	buf_t req = BUF_INIT, resp = BUF_INIT;
	size_t mark = kt_begin(&req, 0, 7, 31, 0);
	kw_str(&req, 0, NULL);
	kw_i16(&req, -1);
	kw_i32(&req, 5000);
	kw_arr(&req, 0, 1);
	kw_str(&req, 0, topic);
	kw_arr(&req, 0, 2);
	for (int32_t p = 0; p < 2; p++) {
		kw_i32(&req, p);
		kw_bytes_len(&req, 0, (int32_t)buf_len(batch));
		buf_append(&req, buf_data(batch), buf_len(batch));
	}
	kt_end(&req, mark);
	memconn_send(m, buf_data(&req), buf_len(&req));
	kt_recv(m, &resp);
	rd_t r;
	rd_init(&r, buf_data(&resp), buf_len(&resp));
	CHECK_EQ(kr_i32(&r), 31);
	CHECK_EQ(kr_arr(&r, 0, 1), 1);
	kr_str(&r, 0);
	CHECK_EQ(kr_arr(&r, 0, 2), 2);
	for (int p = 0; p < 2; p++) {
		CHECK_EQ(kr_i32(&r), p);
		err[p] = kr_i16(&r);
		int64_t base = kr_i64(&r);
		CHECK(err[p] ? base == -1 : base >= 0);
		kr_i64(&r);
		kr_i64(&r);
	}
	kr_i32(&r);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
	buf_deinit(&req);
	buf_deinit(&resp);
}

TEST(kafka_produce_to_two_partitions_errors_only_the_one_that_failed)
{
	kfix_t f;
	memset(&f, 0, sizeof f);
	config_init(&f.cfg);
	f.cfg.num_partitions = 2;
	kfix_start0(&f);
	kfix_topic(&f, "mp");
	memconn_t *m = kfix_conn(&f);
	buf_t batch = BUF_INIT;
	kt_batch(&batch, 2, -1, -1, -1, 1);
	int16_t err[2];
	produce2(m, "mp", &batch, err);
	CHECK(err[0] == 0 && err[1] == 0);
	kfix_fault(&f, "op=fdatasync,path=mp-1/,count=1,errno=EIO");
	produce2(m, "mp", &batch, err);
	/* Partition 0's batch is durable and acknowledged; 1's is not. */
	CHECK_EQ(err[0], 0);
	CHECK_EQ(err[1], KERR_KAFKA_STORAGE_ERROR);
	int32_t len;
	CHECK_EQ(fetch_hw(m, "mp", 0, &len), 4);
	CHECK_EQ(fetch_hw(m, "mp", 1, &len), 2);
	produce2(m, "mp", &batch, err);
	CHECK(err[0] == 0 && err[1] == 0);
	CHECK_EQ(fetch_hw(m, "mp", 1, &len), 4);
	buf_deinit(&batch);
	memconn_free(m);
	kfix_stop(&f);
}

TEST(kafka_idempotent_retry_of_a_failed_batch_is_accepted_after_recovery)
{
	kfix_t f;
	kfix_start(&f);
	kfix_topic(&f, "idr");
	memconn_t *m = kfix_conn(&f);
	int16_t err;
	int64_t base;
	buf_t b0 = BUF_INIT, b1 = BUF_INIT, b2 = BUF_INIT;
	kt_batch(&b0, 2, 4242, 0, 0, 1);
	kt_batch(&b1, 2, 4242, 0, 2, 1);
	kt_batch(&b2, 2, 4242, 0, 4, 1);
	produce1(m, 7, 1, "idr", 0, -1, &b0, &err, &base);
	CHECK_EQ(err, 0);
	kfix_fault(&f, "op=fdatasync,path=idr-0/,count=1,errno=EIO");
	produce1(m, 7, 2, "idr", 0, -1, &b1, &err, &base);
	CHECK_EQ(err, KERR_KAFKA_STORAGE_ERROR);
	/* The retry (same sequence) is the next batch in order again. */
	produce1(m, 7, 3, "idr", 0, -1, &b1, &err, &base);
	CHECK_EQ(err, 0);
	CHECK_EQ(base, 2);
	/* And a retry of the acknowledged one is a duplicate, as before. */
	produce1(m, 7, 4, "idr", 0, -1, &b1, &err, &base);
	CHECK_EQ(err, 0);
	CHECK_EQ(base, 2);
	produce1(m, 7, 5, "idr", 0, -1, &b2, &err, &base);
	CHECK_EQ(err, 0);
	CHECK_EQ(base, 4);
	buf_deinit(&b0);
	buf_deinit(&b1);
	buf_deinit(&b2);
	memconn_free(m);
	kfix_stop(&f);
}

/* Fetch v11 over two partitions with explicit byte limits; returns the
 * records lengths of both. */
static void fetch_two(memconn_t *m, const char *topic, int32_t max_bytes, int32_t part_max,
                      int32_t *len0, int32_t *len1)
{
	buf_t req = BUF_INIT, resp = BUF_INIT;
	size_t mk = kt_begin(&req, 1, 11, 21, 0);
	kw_i32(&req, -1);
	kw_i32(&req, 0);
	kw_i32(&req, 1);
	kw_i32(&req, max_bytes);
	kw_i8(&req, 0);
	kw_i32(&req, 0);
	kw_i32(&req, -1);
	kw_arr(&req, 0, 1);
	kw_str(&req, 0, topic);
	kw_arr(&req, 0, 2);
	for (int32_t p = 0; p < 2; p++) {
		kw_i32(&req, p);
		kw_i32(&req, -1);
		kw_i64(&req, 0);
		kw_i64(&req, -1);
		kw_i32(&req, part_max);
	}
	kw_arr(&req, 0, 0);
	kw_str(&req, 0, "");
	kt_end(&req, mk);
	memconn_send(m, buf_data(&req), buf_len(&req));
	kt_recv(m, &resp);
	rd_t r;
	rd_init(&r, buf_data(&resp), buf_len(&resp));
	CHECK_EQ(kr_i32(&r), 21);
	kr_i32(&r);
	kr_i16(&r);
	kr_i32(&r);
	CHECK_EQ(kr_arr(&r, 0, 1), 1);
	kr_str(&r, 0);
	CHECK_EQ(kr_arr(&r, 0, 1), 2);
	for (int p = 0; p < 2; p++) {
		CHECK_EQ(kr_i32(&r), p);
		CHECK_EQ(kr_i16(&r), 0);
		kr_i64(&r);
		kr_i64(&r);
		kr_i64(&r);
		kr_arr(&r, 0, 16);
		kr_i32(&r);
		kstr_t rec = kr_bytes(&r, 0);
		*(p ? len1 : len0) = rec.len;
	}
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
	buf_deinit(&req);
	buf_deinit(&resp);
}

TEST(kafka_fetch_respects_max_bytes_but_returns_one_whole_batch)
{
	kfix_t f;
	kfix_start(&f);
	f.cfg.num_partitions = 2;
	kfix_topic(&f, "mb");
	memconn_t *m = kfix_conn(&f);
	buf_t req = BUF_INIT, batch = BUF_INIT, resp = BUF_INIT;
	kt_batch(&batch, 10, -1, -1, -1, 1);
	int32_t one = (int32_t)buf_len(&batch);
	for (int i = 0; i < 10; i++)
		kt_produce(&req, 7, i, "mb", i % 2, -1, &batch);
	memconn_send(m, buf_data(&req), buf_len(&req));
	for (int i = 0; i < 10; i++) {
		buf_reset(&resp);
		kt_recv(m, &resp);
	}
	int32_t a, b;
	/* Generous limits: all five batches of each partition. */
	fetch_two(m, "mb", 1 << 20, 1 << 20, &a, &b);
	CHECK_EQ(a, 5 * one);
	CHECK_EQ(b, 5 * one);
	/* PartitionMaxBytes of 2.5 batches: two whole batches each. */
	fetch_two(m, "mb", 1 << 20, one * 5 / 2, &a, &b);
	CHECK_EQ(a, 2 * one);
	CHECK_EQ(b, 2 * one);
	/* Limits below one batch still return one whole batch for the first
	 * partition (KIP-74); the response budget is then spent. */
	fetch_two(m, "mb", 10, 10, &a, &b);
	CHECK_EQ(a, one);
	CHECK_EQ(b, 0);
	/* MaxBytes of three batches: the second partition gets what is left. */
	fetch_two(m, "mb", 3 * one, 1 << 20, &a, &b);
	CHECK_EQ(a, 3 * one);
	CHECK_EQ(b, 0);
	fetch_two(m, "mb", 4 * one, 2 * one, &a, &b);
	CHECK_EQ(a, 2 * one);
	CHECK_EQ(b, 2 * one);
	/* Less than a batch left for the second partition: nothing for it. */
	fetch_two(m, "mb", 2 * one + one / 2, 2 * one, &a, &b);
	CHECK_EQ(a, 2 * one);
	CHECK_EQ(b, 0);
	buf_deinit(&req);
	buf_deinit(&batch);
	buf_deinit(&resp);
	memconn_free(m);
	kfix_stop(&f);
}

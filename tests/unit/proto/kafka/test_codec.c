/*
 * test_codec.c — the Kafka codec and framing: classic and compact strings,
 * arrays and bytes, tagged fields, request/response headers, and the frame
 * cutter fed every split of its input.
 */
#include "test.h"

#include "proto/kafka/kafka.h"

TEST(kafka_codec_strings_round_trip_both_encodings)
{
	for (int flex = 0; flex <= 1; flex++) {
		buf_t b = BUF_INIT;
		kw_str(&b, flex, "hello");
		kw_str(&b, flex, NULL);
		kw_str(&b, flex, "");
		kw_arr(&b, flex, 3);
		kw_arr(&b, flex, -1);
		kw_bytes_len(&b, flex, 2);
		buf_append(&b, "xy", 2);
		kw_bytes_len(&b, flex, -1);
		kw_tags(&b, flex);
		rd_t r;
		rd_init(&r, buf_data(&b), buf_len(&b));
		kstr_t s = kr_str(&r, flex);
		CHECK(kstr_eq(s, "hello"));
		CHECK_EQ(kr_str(&r, flex).len, -1);
		s = kr_str(&r, flex);
		CHECK(s.len == 0 && kstr_eq(s, ""));
		CHECK_EQ(kr_arr(&r, flex, 0), 3);
		CHECK_EQ(kr_arr(&r, flex, 0), -1);
		s = kr_bytes(&r, flex);
		CHECK(s.len == 2 && memcmp(s.p, "xy", 2) == 0);
		CHECK_EQ(kr_bytes(&r, flex).len, -1);
		kr_tags(&r, flex);
		CHECK_EQ(r.err, 0);
		CHECK_EQ(rd_left(&r), 0);
		buf_deinit(&b);
	}
}

TEST(kafka_codec_compact_lengths_are_plus_one_varints)
{
	buf_t b = BUF_INIT;
	kw_str(&b, 1, "ab");
	kw_str(&b, 1, NULL);
	kw_arr(&b, 1, 200);
	static const uint8_t want[] = {3, 'a', 'b', 0, 0xc9, 0x01};
	CHECK_EQ(buf_len(&b), sizeof want);
	CHECK_MEM(buf_data(&b), want, sizeof want);
	buf_deinit(&b);
}

TEST(kafka_codec_rejects_lengths_beyond_the_frame)
{
	/* String longer than what is left. */
	static const uint8_t s1[] = {0, 10, 'a', 'b'};
	rd_t r;
	rd_init(&r, s1, sizeof s1);
	(void)kr_str(&r, 0);
	CHECK(r.err);
	/* Negative lengths other than -1. */
	static const uint8_t s2[] = {0xff, 0xfe};
	rd_init(&r, s2, sizeof s2);
	(void)kr_str(&r, 0);
	CHECK(r.err);
	/* An array count that cannot fit in the rest of the frame. */
	static const uint8_t a1[] = {0, 0, 0, 100, 1, 2, 3};
	rd_init(&r, a1, sizeof a1);
	CHECK_EQ(kr_arr(&r, 0, 4), 0);
	CHECK(r.err);
	/* Truncated varint. */
	static const uint8_t v1[] = {0x80, 0x80};
	rd_init(&r, v1, sizeof v1);
	(void)kr_str(&r, 1);
	CHECK(r.err);
	/* Tagged field whose size runs past the end. */
	static const uint8_t t1[] = {1, 0, 9, 1, 2};
	rd_init(&r, t1, sizeof t1);
	kr_tags(&r, 1);
	CHECK(r.err);
}

TEST(kafka_codec_skips_tagged_fields)
{
	static const uint8_t t[] = {2, 0, 2, 'x', 'y', 5, 0, 7};
	rd_t r;
	rd_init(&r, t, sizeof t);
	kr_tags(&r, 1);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(kr_i8(&r), 7);
}

TEST(kafka_codec_request_header_and_response_header)
{
	static const uint8_t h[] = {0, 3, 0, 9, 0, 0, 0, 42, 0, 3, 'c', 'l', 'i', 0};
	rd_t r;
	rd_init(&r, h, sizeof h);
	kafka_reqhdr_t hdr;
	CHECK_EQ(kafka_reqhdr_read(&r, &hdr), 0);
	CHECK_EQ(hdr.ApiKey, 3);
	CHECK_EQ(hdr.ApiVersion, 9);
	CHECK_EQ(hdr.CorrelationId, 42);
	CHECK(kstr_eq(hdr.ClientId, "cli"));
	kr_tags(&r, 1);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);

	buf_t b = BUF_INIT;
	size_t m = kafka_resp_begin(&b, 42, 1);
	kw_i16(&b, 7);
	kafka_resp_end(&b, m);
	static const uint8_t want[] = {0, 0, 0, 7, 0, 0, 0, 42, 0, 0, 7};
	CHECK_EQ(buf_len(&b), sizeof want);
	CHECK_MEM(buf_data(&b), want, sizeof want);
	buf_deinit(&b);
}

TEST(kafka_frame_every_split_needs_more_until_complete)
{
	uint8_t f[4 + 20];
	be32_store(f, 20);
	for (int i = 0; i < 20; i++)
		f[4 + i] = (uint8_t)i;
	for (size_t n = 0; n <= sizeof f; n++) {
		size_t len = 0;
		int rc = kafka_frame_next(f, n, 1000, &len);
		if (n < sizeof f) {
			CHECK_EQ(rc, SL_EAGAIN);
		} else {
			CHECK_EQ(rc, 24);
			CHECK_EQ(len, 20);
		}
	}
}

TEST(kafka_frame_limits_checked_from_the_size_field)
{
	uint8_t f[4];
	size_t len;
	be32_store(f, 2000);
	CHECK_EQ(kafka_frame_next(f, 4, 1000, &len), SL_ETOOBIG);
	be32_store(f, (uint32_t)-5);
	CHECK_EQ(kafka_frame_next(f, 4, 1000, &len), SL_EPROTO);
	be32_store(f, 3);
	CHECK_EQ(kafka_frame_next(f, 4, 1000, &len), SL_EPROTO);
}

/* The API table against the 3.9 schemas (reference/kafka-schemas:
 * validVersions / flexibleVersions of each *Request.json). */
TEST(kafka_apis_table_matches_schemas)
{
	static const struct {
		int16_t key;
		int16_t schema_max;
		int16_t flex;
	} schema[] = {
	    {0, 11, 9},
	    {1, 17, 12},
	    {2, 9, 6},
	    {3, 12, 9},
	    {8, 9, 8},
	    {9, 9, 6},
	    {10, 6, 3},
	    {11, 9, 6},
	    {12, 4, 4},
	    {13, 5, 4},
	    {14, 5, 4},
	    {15, 5, 5},
	    {16, 5, 3},
	    {18, 4, 3},
	    {19, 7, 5},
	    {20, 6, 4},
	    {21, 2, 2},
	    {22, 5, 2},
	    {24, 5, 3},
	    {25, 4, 3},
	    {26, 4, 3},
	    {28, 4, 3},
	    {32, 4, 4},
	    {33, 2, 2},
	    {37, 3, 2},
	    {42, 2, 2},
	    {44, 1, 1},
	    {60, 1, 0},
	    {61, 0, 0},
	    /* DescribeTransactions (65) and ListTransactions (66), KIP-664 and
	     * KIP-994 (not in reference/kafka-schemas): flexible from v0. */
	    {65, 0, 0},
	    {66, 1, 0},
	    /* SASL and SCRAM users (h_Sasl.c, h_UserScram.c). */
	    {17, 1, INT16_MAX},
	    {36, 2, 2},
	    {50, 0, 0},
	    {51, 0, 0},
	    /* ACLs (h_Acls.c). */
	    {29, 3, 2},
	    {30, 3, 2},
	    {31, 3, 2},
	    /* OffsetDelete (47): v0 only, never flexible (Apache Kafka's
		 * OffsetDeleteRequest.json: validVersions 0, flexibleVersions none). */
	    {47, 0, INT16_MAX},
	};
	int n = 0;
	for (const kafka_api_t *a = kafka_apis; a->name; a++, n++) {
		int found = 0;
		for (size_t i = 0; i < sizeof schema / sizeof schema[0]; i++) {
			if (schema[i].key != a->key)
				continue;
			found = 1;
			CHECK_MSG(a->max <= schema[i].schema_max, "%s max", a->name);
			CHECK_MSG(a->flex == schema[i].flex, "%s flex", a->name);
			CHECK(a->min >= 0 && a->min <= a->max);
		}
		CHECK_MSG(found, "%s not in schema list", a->name);
		if (a != kafka_apis)
			CHECK(a[-1].key < a->key);
	}
	CHECK_EQ(n, (int)(sizeof schema / sizeof schema[0]));
	/* librdkafka's exact-version probes (reference/kafka-clients.md). */
	CHECK_EQ(kafka_api_find(0)->min, 0);
	CHECK_EQ(kafka_api_find(1)->min, 0);
	CHECK(kafka_api_find(0)->max >= 7 && kafka_api_find(1)->max >= 10);
	CHECK_EQ(kafka_api_find(22)->min, 0);
	CHECK(kafka_api_find(2)->min <= 1);
}

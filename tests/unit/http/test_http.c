/* The HTTP front's parsers: a request fed split at every byte boundary,
 * the limits (head, target, body announced past the limit, chunked,
 * versions), query parameters; the JSON body parser (escapes, surrogate
 * pairs, integers past 2^53, nesting limit, errors); JSON writing of bytes
 * that are not UTF-8; base64; and the record decoder for plain and
 * gzip-compressed batches. */
#include "http/http.h"
#include "store/batch.h"
#include "test.h"

#include <zlib.h>

static long parse(const char *s, http_req_t *r)
{
	memset(r, 0, sizeof *r);
	return http_parse((const uint8_t *)s, strlen(s), r);
}

TEST(http_request_split_at_every_byte)
{
	const char *req = "POST /api/v1/topics/a%2Fb/messages?partition=1&x=a+b%21 HTTP/1.1\r\n"
	                  "Host: x\r\ncontent-length: 11\r\n\r\n{\"value\":1}GET /next HTTP/1.1";
	size_t full = strlen(req) - strlen("GET /next HTTP/1.1");
	http_req_t r;
	for (size_t cut = 0; cut < full; cut++) {
		memset(&r, 0, sizeof r);
		CHECK_EQ(http_parse((const uint8_t *)req, cut, &r), 0);
	}
	CHECK_EQ(parse(req, &r), (long)full);
	CHECK_STR(r.method, "POST");
	CHECK_EQ(r.nseg, 5);
	CHECK_STR(r.seg[3], "a/b");
	CHECK_STR(r.seg[4], "messages");
	CHECK_EQ(r.body_len, 11);
	CHECK_MEM(r.body, "{\"value\":1}", 11);
	CHECK(r.keep_alive);
	char v[32];
	int64_t n;
	CHECK_EQ(http_query(&r, "x", v, sizeof v), 1);
	CHECK_STR(v, "a b!");
	CHECK_EQ(http_query_int(&r, "partition", &n), 1);
	CHECK_EQ(n, 1);
	CHECK_EQ(http_query(&r, "part", v, sizeof v), 0);
	CHECK_EQ(http_query_int(&r, "x", &n), -1);
}

TEST(http_request_limits)
{
	http_req_t r;
	CHECK_EQ(parse("GET / HTTP/1.0\r\n\r\n", &r), 18);
	CHECK(!r.keep_alive);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", &r) > 0, 1);
	CHECK(!r.keep_alive);
	CHECK_EQ(parse("HEAD /x HTTP/1.1\r\n\r\n", &r) > 0, 1);
	CHECK(r.head);
	CHECK_EQ(parse("GARBAGE\r\n\r\n", &r), -400);
	CHECK_EQ(parse("GET / HTTP/2.0\r\n\r\n", &r), -505);
	CHECK_EQ(parse("GET x HTTP/1.1\r\n\r\n", &r), -400);
	CHECK_EQ(parse("GET /%zz HTTP/1.1\r\n\r\n", &r), -400);
	CHECK_EQ(parse("GET /a%00b HTTP/1.1\r\n\r\n", &r), -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), -411);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", &r), -413);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &r), -400);
	CHECK_EQ(parse("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &r), -400);
	CHECK_EQ(parse("GET /1/2/3/4/5/6/7/8/9 HTTP/1.1\r\n\r\n", &r), -400);
	char big[HTTP_MAX_HEAD + 64];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	CHECK_EQ(parse(big, &r), -431);
	char longpath[3000];
	memset(longpath, 'a', sizeof longpath);
	memcpy(longpath, "GET /", 5);
	strcpy(longpath + 2000, " HTTP/1.1\r\n\r\n");
	CHECK_EQ(parse(longpath, &r), -414);
}

TEST(http_json_parse)
{
	char err[128];
	const char *doc = "{\"s\":\"a\\\"b\\u00e9\\ud83d\\ude00\\n\", \"n\": 9007199254740993, "
	                  "\"f\": 1.5, \"neg\": -3, \"t\": true, \"z\": null, \"a\": [1, [], {}]}";
	jv_t *v = json_parse(doc, strlen(doc), err, sizeof err);
	CHECK_MSG(v, "%s", err);
	const char *s;
	size_t n;
	int64_t i;
	CHECK_EQ(json_get_str(v, "s", &s, &n), 1);
	CHECK_STR(s, "a\"b\xc3\xa9\xf0\x9f\x98\x80\n");
	CHECK_EQ(json_get_int(v, "n", &i), 1);
	CHECK(i == 9007199254740993LL);
	CHECK_EQ(json_get_int(v, "f", &i), -1);
	CHECK_EQ(json_get_int(v, "neg", &i), 1);
	CHECK_EQ(i, -3);
	CHECK_EQ(json_get(v, "t")->b, 1);
	CHECK_EQ(json_get_int(v, "z", &i), 0);
	CHECK_EQ(json_get_str(v, "t", &s, &n), -1);
	CHECK_EQ(json_get(v, "a")->n, 3);
	json_free(v);

	const char *bad[] = {"",    "{",   "{\"a\"}",     "{\"a\":}", "[1,]", "\"\\x\"",
	                     "\"a", "tru", "{\"a\":1} x", "\"\x01\"", "01x",  "{1:2}"};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		v = json_parse(bad[k], strlen(bad[k]), err, sizeof err);
		CHECK_MSG(!v && err[0], "accepted %s", bad[k]);
	}
	char deep[100];
	memset(deep, '[', 40);
	memset(deep + 40, ']', 40);
	v = json_parse(deep, 80, err, sizeof err);
	CHECK(!v && strstr(err, "nested"));
}

TEST(http_json_write)
{
	buf_t b = BUF_INIT;
	json_strn(&b, "q\"\\\n\x01\xff\xc3\xa9", 8);
	CHECK_EQ(buf_len(&b), strlen("\"q\\\"\\\\\\n\\u0001\\ufffd\xc3\xa9\""));
	CHECK_MEM(buf_data(&b), "\"q\\\"\\\\\\n\\u0001\\ufffd\xc3\xa9\"", buf_len(&b));
	CHECK(json_utf8_ok((const uint8_t *)"\xc3\xa9", 2));
	CHECK(!json_utf8_ok((const uint8_t *)"\xc0\x80", 2));     /* overlong */
	CHECK(!json_utf8_ok((const uint8_t *)"\xed\xa0\x80", 3)); /* a surrogate */
	CHECK(!json_utf8_ok((const uint8_t *)"a\0b", 3));
	for (size_t n = 0; n < 8; n++) {
		const uint8_t src[] = {0, 1, 2, 0xfe, 0xff, 'a', 'b', 'c'};
		buf_reset(&b);
		json_b64(&b, src, n);
		buf_t back = BUF_INIT;
		CHECK_EQ(json_b64_decode(&back, (const char *)buf_data(&b) + 1, buf_len(&b) - 2),
		         0);
		CHECK_EQ(buf_len(&back), n);
		CHECK(n == 0 || !memcmp(buf_data(&back), src, n));
		buf_deinit(&back);
	}
	buf_t back = BUF_INIT;
	CHECK_EQ(json_b64_decode(&back, "a*==", 4), -1);
	buf_deinit(&back);
	buf_deinit(&b);
}

typedef struct seen {
	int n;
	int64_t offsets[8];
	char values[8][16];
} seen_t;

static int collect(void *arg, const http_rec_t *rec)
{
	seen_t *s = arg;
	s->offsets[s->n] = rec->offset;
	snprintf(s->values[s->n], sizeof s->values[0], "%.*s", (int)rec->value_len,
	         (const char *)rec->value);
	s->n++;
	return s->n == 8;
}

/* Builds a batch of three records at base offset 10, compressed with gzip
 * when gz (records replaced by their deflated bytes, attributes set). */
static void three(buf_t *out, int gz)
{
	batch_record_t recs[3] = {
	    {.timestamp = 1000,
	     .key = (const uint8_t *)"k",
	     .key_len = 1,
	     .value = (const uint8_t *)"one",
	     .value_len = 3},
	    {.timestamp = 1001, .key_len = -1, .value = (const uint8_t *)"two", .value_len = 3},
	    {.timestamp = 1002, .key_len = -1, .value_len = -1},
	};
	batch_build_opts_t o = {
	    .producer_id = -1, .producer_epoch = -1, .base_sequence = -1, .base_offset = 10};
	CHECK_EQ(batch_build(out, &o, recs, 3), 0);
	if (!gz)
		return;
	uint8_t *p = buf_data(out);
	size_t rn = buf_len(out) - BATCH_HDR_SIZE;
	uint8_t z[512];
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	CHECK_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = p + BATCH_HDR_SIZE;
	zs.avail_in = (uInt)rn;
	zs.next_out = z;
	zs.avail_out = sizeof z;
	CHECK_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
	size_t zn = sizeof z - zs.avail_out;
	deflateEnd(&zs);
	buf_t c = BUF_INIT;
	buf_append(&c, p, BATCH_HDR_SIZE);
	buf_append(&c, z, zn);
	uint8_t *q = buf_data(&c);
	be32_store(q + BATCH_OFF_LENGTH, (uint32_t)(buf_len(&c) - BATCH_LOG_OVERHEAD));
	be16_store(q + BATCH_OFF_ATTRIBUTES, (uint16_t)(be16_load(q + BATCH_OFF_ATTRIBUTES) | 1));
	buf_reset(out);
	buf_append(out, buf_data(&c), buf_len(&c));
	buf_deinit(&c);
}

TEST(http_batch_records_plain_and_gzip)
{
	for (int gz = 0; gz < 2; gz++) {
		buf_t b = BUF_INIT;
		three(&b, gz);
		seen_t s = {0};
		const char *codec;
		CHECK_EQ(
		    http_batch_records(buf_data(&b), buf_len(&b), 11, 1 << 20, collect, &s, &codec),
		    0);
		CHECK_STR(codec, gz ? "gzip" : "none");
		CHECK_EQ(s.n, 2);
		CHECK_EQ(s.offsets[0], 11);
		CHECK_STR(s.values[0], "two");
		CHECK_EQ(s.offsets[1], 12);
		/* Too small an output cap for the compressed one; a truncated batch. */
		s.n = 0;
		if (gz)
			CHECK_EQ(http_batch_records(buf_data(&b), buf_len(&b), 0, 4, collect, &s,
			                            &codec),
			         SL_ETOOBIG);
		CHECK_EQ(http_batch_records(buf_data(&b), buf_len(&b) - 1, 0, 1 << 20, collect, &s,
		                            &codec),
		         SL_ECORRUPT);
		buf_deinit(&b);
	}
}

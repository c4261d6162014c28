/*
 * test_rdb.c — the DUMP/RESTORE payload codec: Redis's crc64 check value,
 * round trips of what DUMP writes, the older encodings redis-server still
 * loads (ziplist, quicklist of ziplists, ZSET with text scores, LZF), and
 * every truncation and byte flip of a payload decoded without a crash.
 */
#include "../../test.h"

#include "proto/resp/rdb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Wraps body (type + value) in the version and CRC footer. */
static void forge(buf_t *b, const void *body, size_t n)
{
	buf_reset(b);
	buf_append(b, body, n);
	rdb_finish(b);
}

TEST(rdb_crc64_check_value)
{
	/* The value Redis's own crc64 test asserts. */
	CHECK(rdb_crc64(0, (const uint8_t *)"123456789", 9) == 0xe9c6d914c4b8d9caULL);
}

TEST(rdb_round_trip_every_kind)
{
	buf_t b = BUF_INIT;
	rdb_val_t v;
	/* a hash of 70 pairs: lengths past the one-byte form */
	rdb_put_type(&b, RDB_TYPE_HASH);
	rdb_put_len(&b, 70);
	char f[16];
	for (int i = 0; i < 70; i++) {
		int n = snprintf(f, sizeof f, "f%d", i);
		rdb_put_str(&b, f, (size_t)n);
		rdb_put_str(&b, "value", 5);
	}
	rdb_finish(&b);
	CHECK(rdb_verify(buf_data(&b), buf_len(&b)) == 0);
	CHECK(rdb_decode(buf_data(&b), buf_len(&b), 1 << 30, &v) == 0);
	CHECK(v.kind == 'h' && v.n == 140);
	CHECK(v.lens[138] == 3 && memcmp(v.items[138], "f69", 3) == 0);
	rdb_val_free(&v);
	/* a sorted set with binary scores */
	buf_reset(&b);
	rdb_put_type(&b, RDB_TYPE_ZSET_2);
	rdb_put_len(&b, 2);
	rdb_put_str(&b, "a", 1);
	rdb_put_double(&b, -1.5);
	rdb_put_str(&b, "b", 1);
	rdb_put_double(&b, INFINITY);
	rdb_finish(&b);
	CHECK(rdb_decode(buf_data(&b), buf_len(&b), 1 << 30, &v) == 0);
	CHECK(v.kind == 'z' && v.n == 2 && v.scores[0] == -1.5 && isinf(v.scores[1]));
	rdb_val_free(&v);
	/* a 70000-byte string: the 32-bit length form */
	buf_reset(&b);
	char *big = calloc(1, 70000);
	CHECK(big != NULL);
	rdb_put_type(&b, RDB_TYPE_STRING);
	rdb_put_str(&b, big, 70000);
	rdb_finish(&b);
	CHECK(rdb_decode(buf_data(&b), buf_len(&b), 1 << 30, &v) == 0);
	CHECK(v.kind == 's' && v.n == 1 && v.lens[0] == 70000);
	rdb_val_free(&v);
	free(big);
	buf_deinit(&b);
}

TEST(rdb_older_encodings)
{
	buf_t b = BUF_INIT;
	rdb_val_t v;
	/* LIST_ZIPLIST: "ab", 5 (immediate), 300 (int16), "x" */
	static const uint8_t zl[] = {
	    0x14, 0,    0,    0,    0, 0, 0, 0, 4, 0, /* header: 20 bytes, 4 entries */
	    0x00, 0x02, 'a',  'b',                    /* prevlen, str6 */
	    0x04, 0xf6,                               /* imm 5 */
	    0x02, 0xc0, 0x2c, 0x01,                   /* int16 300 */
	    0x04, 0x01, 'x',  0xff,                   /* str "x", end */
	};
	uint8_t body[64];
	body[0] = RDB_TYPE_LIST_ZIPLIST;
	body[1] = sizeof zl;
	memcpy(body + 2, zl, sizeof zl);
	body[2] = sizeof zl; /* zlbytes */
	forge(&b, body, 2 + sizeof zl);
	CHECK(rdb_decode(buf_data(&b), buf_len(&b), 1 << 30, &v) == 0);
	CHECK(v.kind == 'l' && v.n == 4);
	CHECK(strcmp(v.items[0], "ab") == 0 && strcmp(v.items[1], "5") == 0);
	CHECK(strcmp(v.items[2], "300") == 0 && strcmp(v.items[3], "x") == 0);
	rdb_val_free(&v);
	/* ZSET with text scores: "m" 2.5, "n" +inf */
	static const uint8_t z1[] = {RDB_TYPE_ZSET, 2, 1, 'm', 3, '2', '.', '5', 1, 'n', 254};
	forge(&b, z1, sizeof z1);
	CHECK(rdb_decode(buf_data(&b), buf_len(&b), 1 << 30, &v) == 0);
	CHECK(v.kind == 'z' && v.scores[0] == 2.5 && isinf(v.scores[1]));
	rdb_val_free(&v);
	/* LZF: "aaaaaaaaaa" as a literal 'a' then a back reference of 7 +
	 * 0 + 2 = 9 bytes at distance 1 (5 compressed bytes, 10 out) */
	static const uint8_t fixed[] = {RDB_TYPE_STRING, 0xc3, 5, 10, 0x00, 'a', 0xe0, 0x00, 0x00};
	forge(&b, fixed, sizeof fixed);
	CHECK(rdb_decode(buf_data(&b), buf_len(&b), 1 << 30, &v) == 0);
	CHECK(v.lens[0] == 10 && memcmp(v.items[0], "aaaaaaaaaa", 10) == 0);
	rdb_val_free(&v);
	/* the same past the expansion budget: refused before allocating */
	CHECK(rdb_decode(buf_data(&b), buf_len(&b), 9, &v) < 0);
	buf_deinit(&b);
}

TEST(rdb_damaged_payloads_never_crash)
{
	buf_t b = BUF_INIT, d = BUF_INIT;
	rdb_put_type(&b, RDB_TYPE_LIST);
	rdb_put_len(&b, 3);
	rdb_put_str(&b, "one", 3);
	rdb_put_str(&b, "two", 3);
	rdb_put_str(&b, "three", 5);
	size_t body = buf_len(&b);
	rdb_val_t v;
	/* every truncation of the body, re-footed so that only the decoder
	 * stands between it and the keyspace */
	for (size_t cut = 1; cut < body; cut++) {
		forge(&d, buf_data(&b), cut);
		CHECK(rdb_decode(buf_data(&d), buf_len(&d), 1 << 30, &v) <= 0);
		rdb_val_free(&v);
	}
	/* every single-byte change */
	for (size_t i = 0; i < body; i++) {
		for (int x = 0; x < 256; x += 7) {
			uint8_t tmp[64];
			memcpy(tmp, buf_data(&b), body);
			tmp[i] = (uint8_t)x;
			forge(&d, tmp, body);
			if (rdb_decode(buf_data(&d), buf_len(&d), 1 << 30, &v) == 0)
				rdb_val_free(&v);
		}
	}
	/* a footer that does not match */
	forge(&d, buf_data(&b), body);
	buf_data(&d)[buf_len(&d) - 1] ^= 1;
	CHECK(rdb_verify(buf_data(&d), buf_len(&d)) < 0);
	buf_deinit(&b);
	buf_deinit(&d);
}

/* A stream payload as DUMP writes it: one node of two entries, a group
 * with one pending entry owned by one consumer. */
static void stream_payload(buf_t *b)
{
	rdb_lp_t lp;
	buf_t key = BUF_INIT;
	buf_reset(b);
	rdb_put_type(b, RDB_TYPE_STREAM_LISTPACKS_2);
	rdb_put_len(b, 1);
	rdb_put_id16(&key, 1000, 1);
	rdb_put_str(b, buf_data(&key), buf_len(&key));
	buf_deinit(&key);
	rdb_lp_init(&lp);
	int64_t head[] = {2, 0, 0, 0};
	for (int i = 0; i < 4; i++)
		rdb_lp_int(&lp, head[i]);
	for (int e = 0; e < 2; e++) {
		rdb_lp_int(&lp, 0);
		rdb_lp_int(&lp, e * 5000); /* a wide delta: 16-bit form */
		rdb_lp_int(&lp, -1 + e);
		rdb_lp_int(&lp, 1);
		rdb_lp_str(&lp, "field", 5);
		rdb_lp_str(&lp, e ? "second" : "first", e ? 6 : 5);
		rdb_lp_int(&lp, 6);
	}
	rdb_lp_put(b, &lp);
	uint64_t tail[] = {2, 6000, 1, 1000, 0, 0, 0, 2, 1};
	for (int i = 0; i < 9; i++)
		rdb_put_len(b, tail[i]);
	rdb_put_str(b, "g", 1);
	rdb_put_len(b, 6000);
	rdb_put_len(b, 1);
	rdb_put_len(b, 2);
	rdb_put_len(b, 1);
	rdb_put_id16(b, 6000, 1);
	rdb_put_ms(b, 1700000000000);
	rdb_put_len(b, 3);
	rdb_put_len(b, 1);
	rdb_put_str(b, "c", 1);
	rdb_put_ms(b, 1700000000001);
	rdb_put_len(b, 1);
	rdb_put_id16(b, 6000, 1);
	rdb_finish(b);
}

TEST(rdb_stream_round_trip_and_damage)
{
	buf_t b = BUF_INIT, d = BUF_INIT;
	rdb_val_t v;
	stream_payload(&b);
	CHECK(rdb_verify(buf_data(&b), buf_len(&b)) == 0);
	CHECK(rdb_decode(buf_data(&b), buf_len(&b), 1 << 30, &v) == 0);
	CHECK(v.kind == 'x' && v.st->nent == 2 && v.n == 4);
	CHECK(v.st->ids[0].ms == 1000 && v.st->ids[0].seq == 0);
	CHECK(v.st->ids[1].ms == 6000 && v.st->ids[1].seq == 1);
	CHECK(strcmp(v.items[3], "second") == 0 && v.st->entries_added == 2);
	CHECK(v.st->ngroups == 1 && v.st->groups[0].npel == 1 && v.st->groups[0].pel[0].count == 3);
	CHECK(v.st->groups[0].ncons == 1 && v.st->groups[0].cons[0].npel == 1);
	rdb_val_free(&v);
	/* every cut and many byte changes decode or fail, never crash */
	size_t body = buf_len(&b) - 10;
	for (size_t cut = 1; cut < body; cut++) {
		forge(&d, buf_data(&b), cut);
		if (rdb_decode(buf_data(&d), buf_len(&d), 1 << 30, &v) == 0)
			rdb_val_free(&v);
	}
	uint8_t *tmp = malloc(body);
	CHECK(tmp != NULL);
	for (size_t i = 0; i < body; i++) {
		for (int x = 0; x < 256; x += 51) {
			memcpy(tmp, buf_data(&b), body);
			tmp[i] = (uint8_t)x;
			forge(&d, tmp, body);
			if (rdb_decode(buf_data(&d), buf_len(&d), 1 << 30, &v) == 0)
				rdb_val_free(&v);
		}
	}
	free(tmp);
	buf_deinit(&b);
	buf_deinit(&d);
}

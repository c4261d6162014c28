/* Growable buffer: appends, consumption from the front, sliding, big-endian
 * writers and varint writers. */
#include "core/buf.h"
#include "core/rd.h"
#include "test.h"

TEST(buf_append_consume_reserve)
{
	buf_t b = BUF_INIT;
	for (int i = 0; i < 10000; i++) {
		char line[32];
		int n = snprintf(line, sizeof line, "%d,", i);
		buf_append(&b, line, (size_t)n);
		if (i % 3 == 0) {
			/* consume up to and including the first comma */
			uint8_t *p = memchr(buf_data(&b), ',', buf_len(&b));
			CHECK(p != NULL);
			buf_consume(&b, (size_t)(p - buf_data(&b)) + 1);
		}
	}
	/* Every third number was consumed from the front: what remains starts at
	 * number 3334 (the 3334 consumptions took 0..3333). */
	CHECK(memcmp(buf_data(&b), "3334,", 5) == 0);
	buf_consume(&b, buf_len(&b));
	CHECK_EQ(buf_len(&b), 0);
	buf_printf(&b, "%s-%d", "x", 5);
	CHECK_EQ(buf_len(&b), 3);
	CHECK_MEM(buf_data(&b), "x-5", 3);
	char big[1000];
	memset(big, 'z', sizeof big);
	buf_printf(&b, "%.*s", (int)sizeof big, big);
	CHECK_EQ(buf_len(&b), 1003);
	buf_deinit(&b);
}

TEST(buf_integers_roundtrip_through_rd)
{
	buf_t b = BUF_INIT;
	buf_put_u8(&b, 0xab);
	buf_put_be16(&b, 0x1234);
	buf_put_be32(&b, 0xdeadbeef);
	buf_put_be64(&b, 0x0102030405060708ull);
	buf_put_uvarint(&b, 300);
	buf_put_varint(&b, -12345);
	rd_t r;
	rd_init(&r, buf_data(&b), buf_len(&b));
	CHECK_EQ(rd_u8(&r), 0xab);
	CHECK_EQ(rd_be16(&r), 0x1234);
	CHECK(rd_be32(&r) == 0xdeadbeef);
	CHECK(rd_be64(&r) == 0x0102030405060708ull);
	CHECK_EQ(rd_uvarint(&r), 300);
	CHECK_EQ(rd_varlong(&r), -12345);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
	buf_deinit(&b);
}

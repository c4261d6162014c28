/* Varint and zigzag encoding: round trips, exact encodings from the Kafka
 * protocol guide, and rejection of truncated and over-long input. */
#include "core/rd.h"
#include "core/varint.h"
#include "test.h"

TEST(varint_roundtrip_and_lengths)
{
	const uint64_t vals[] = { 0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX };
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		uint8_t out[VARINT_MAX];
		size_t n = varint_enc_u64(out, vals[i]);
		CHECK_EQ(n, varint_len_u64(vals[i]));
		uint64_t back = 0;
		CHECK_EQ(varint_dec_u64(out, n, 10, &back), (int)n);
		CHECK(back == vals[i]);
		for (size_t cut = 0; cut < n; cut++)
			CHECK_EQ(varint_dec_u64(out, cut, 10, &back), SL_EAGAIN);
	}
	uint8_t out[VARINT_MAX];
	CHECK_EQ(varint_enc_u64(out, 300), 2);
	CHECK_EQ(out[0], 0xac);
	CHECK_EQ(out[1], 0x02);
}

TEST(varint_zigzag_roundtrip)
{
	CHECK_EQ(varint_zigzag(0), 0);
	CHECK_EQ(varint_zigzag(-1), 1);
	CHECK_EQ(varint_zigzag(1), 2);
	CHECK_EQ(varint_zigzag(-2), 3);
	CHECK(varint_zigzag(INT64_MIN) == UINT64_MAX);
	for (int64_t v = -1000; v <= 1000; v++)
		CHECK_EQ(varint_unzigzag(varint_zigzag(v)), v);
	CHECK(varint_unzigzag(varint_zigzag(INT64_MAX)) == INT64_MAX);
}

TEST(varint_rejects_overlong)
{
	uint8_t six[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	uint64_t v;
	CHECK_EQ(varint_dec_u64(six, 6, 5, &v), SL_EPROTO);
	uint8_t big32[5] = { 0xff, 0xff, 0xff, 0xff, 0x1f }; /* > UINT32_MAX */
	CHECK_EQ(varint_dec_u64(big32, 5, 5, &v), SL_EPROTO);
	uint8_t eleven[11];
	memset(eleven, 0x80, sizeof eleven);
	CHECK_EQ(varint_dec_u64(eleven, 11, 10, &v), SL_EPROTO);
}

TEST(rd_sticky_error)
{
	uint8_t data[] = { 0, 1, 0, 0, 0, 2, 0x04 };
	rd_t r;
	rd_init(&r, data, sizeof data);
	CHECK_EQ(rd_be16(&r), 1);
	CHECK_EQ(rd_be32(&r), 2);
	CHECK_EQ(rd_varint(&r), 2);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_u8(&r), 0);
	CHECK_EQ(r.err, SL_EPROTO);
	/* Once failed, every read yields zero and the error stays. */
	rd_init(&r, data, 3);
	(void)rd_be32(&r);
	CHECK_EQ(r.err, SL_EPROTO);
	CHECK_EQ(rd_u8(&r), 0);
	CHECK(rd_bytes(&r, 0) == NULL);
	CHECK_EQ(rd_left(&r), 0);
}

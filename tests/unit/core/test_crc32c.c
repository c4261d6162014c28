/* Known CRC-32C vectors (RFC 3720 appendix B.4 and the "123456789" check
 * value), for both implementations and at every alignment and split. */
#include "core/crc32c.h"
#include "test.h"

static void check_impls(const void *p, size_t n, uint32_t want)
{
	CHECK_EQ(crc32c_sw(0, p, n), want);
	if (crc32c_hw_available())
		CHECK_EQ(crc32c_hw(0, p, n), want);
	CHECK_EQ(crc32c(0, p, n), want);
}

TEST(crc32c_known_vectors)
{
	uint8_t buf[48];
	check_impls("123456789", 9, 0xe3069283u);
	check_impls("", 0, 0);
	memset(buf, 0, 32);
	check_impls(buf, 32, 0x8a9136aau);
	memset(buf, 0xff, 32);
	check_impls(buf, 32, 0x62a8ab43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	check_impls(buf, 32, 0x46dd794eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	check_impls(buf, 32, 0x113fdb5cu);
	/* The iSCSI read command PDU of RFC 3720 B.4. */
	static const uint8_t pdu[48] = {0x01, 0xc0, 0, 0,    0,    0, 0, 0,    0,    0, 0,    0,
	                                0,    0,    0, 0,    0x14, 0, 0, 0,    0,    0, 0x04, 0,
	                                0,    0,    0, 0x14, 0,    0, 0, 0x18, 0x28, 0, 0,    0,
	                                0,    0,    0, 0,    0x02, 0, 0, 0,    0,    0, 0,    0};
	check_impls(pdu, 48, 0xd9963a56u);
}

TEST(crc32c_chaining_and_alignment)
{
	uint8_t data[1031];
	uint64_t seed = 42;
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)test_rand(&seed);
	uint32_t whole = crc32c_sw(0, data, sizeof data);
	for (size_t split = 0; split <= sizeof data; split += 7) {
		uint32_t c = crc32c(crc32c(0, data, split), data + split, sizeof data - split);
		CHECK_EQ(c, whole);
	}
	for (size_t off = 0; off < 16; off++) {
		uint32_t a = crc32c_sw(0, data + off, sizeof data - off);
		CHECK_EQ(crc32c(0, data + off, sizeof data - off), a);
	}
}

/* Inputs long enough for the three-stream path, at every alignment and with
 * lengths around its block multiples, agree with the table implementation. */
TEST(crc32c_long_inputs_match_software)
{
	enum { N = 3 * 4096 * 3 + 100 };
	static uint8_t data[N];
	uint64_t seed = 1234;
	for (size_t i = 0; i < N; i++)
		data[i] = (uint8_t)test_rand(&seed);
	const size_t lens[] = {3 * 4096 - 1, 3 * 4096, 3 * 4096 + 1,
	                       6 * 4096 + 7, N - 8,    100000 > N - 8 ? N - 8 : 100000};
	for (size_t off = 0; off < 8; off++) {
		for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
			size_t len = lens[k];
			CHECK(off + len <= N);
			uint32_t want = crc32c_sw(0, data + off, len);
			CHECK_EQ(crc32c(0, data + off, len), want);
			/* Continuing from a non-zero CRC, too. */
			uint32_t a = crc32c(0, data + off, 13);
			CHECK_EQ(crc32c(a, data + off + 13, len - 13), want);
		}
	}
}

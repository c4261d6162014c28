/* crc32c.c — see crc32c.h. */
#include "core/crc32c.h"

#include <string.h>

#define POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t table[8][256];
static int table_ready;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
	__atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
	/* Building the table twice from two threads writes identical values. */
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		table_init();
	const uint8_t *p = buf;
	crc = ~crc;
	while (n && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
		n--;
	}
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= crc;
		crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
		      table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^
		      table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
#include <cpuid.h>

/*
 * Three streams: the crc32 instruction has a latency of 3 cycles but a
 * throughput of one per cycle, so one dependent chain uses a third of the
 * unit. Long inputs are cut into three consecutive blocks of HW_BLOCK bytes
 * whose raw CRC states are computed in one interleaved loop and then
 * combined: the raw CRC update is linear, so
 *   raw(s, A||B) = shift(raw(s, A), |B|) ^ raw(0, B)
 * where shift(x, L) appends L zero bytes. shift by HW_BLOCK is a linear map
 * of the 32-bit state, tabulated once per byte lane (4 x 256 entries).
 */
#define HW_BLOCK 4096

static uint32_t shift_tab[4][256];
static int shift_ready;

__attribute__((target("sse4.2"))) static uint32_t hw_zeros(uint32_t c, size_t n)
{
	uint64_t x = c;
	for (size_t i = 0; i < n / 8; i++)
		x = __builtin_ia32_crc32di(x, 0);
	return (uint32_t)x;
}

static void shift_init(void)
{
	for (int lane = 0; lane < 4; lane++)
		for (uint32_t v = 0; v < 256; v++)
			shift_tab[lane][v] = hw_zeros(v << (8 * lane), HW_BLOCK);
	__atomic_store_n(&shift_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t shift_block(uint32_t c)
{
	return shift_tab[0][c & 0xff] ^ shift_tab[1][(c >> 8) & 0xff] ^
	       shift_tab[2][(c >> 16) & 0xff] ^ shift_tab[3][c >> 24];
}

__attribute__((target("sse4.2"))) uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint64_t c = ~crc;
	while (n && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		n--;
	}
	if (n >= 3 * HW_BLOCK) {
		/* Two threads building the table write identical values. */
		if (!__atomic_load_n(&shift_ready, __ATOMIC_ACQUIRE))
			shift_init();
		while (n >= 3 * HW_BLOCK) {
			uint64_t c1 = 0, c2 = 0;
			const uint8_t *p1 = p + HW_BLOCK, *p2 = p + 2 * HW_BLOCK;
			for (size_t i = 0; i < HW_BLOCK; i += 8) {
				uint64_t w0, w1, w2;
				memcpy(&w0, p + i, 8);
				memcpy(&w1, p1 + i, 8);
				memcpy(&w2, p2 + i, 8);
				c = __builtin_ia32_crc32di(c, w0);
				c1 = __builtin_ia32_crc32di(c1, w1);
				c2 = __builtin_ia32_crc32di(c2, w2);
			}
			c = shift_block(shift_block((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
			p += 3 * HW_BLOCK;
			n -= 3 * HW_BLOCK;
		}
	}
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

int crc32c_hw_available(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c & bit_SSE4_2) != 0;
}
#else
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
	return crc32c_sw(crc, buf, n);
}

int crc32c_hw_available(void)
{
	return 0;
}
#endif

/* 0 = not yet decided, 1 = software, 2 = hardware. */
static int impl;

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
	int i = __atomic_load_n(&impl, __ATOMIC_RELAXED);
	if (!i) {
		i = crc32c_hw_available() ? 2 : 1;
		__atomic_store_n(&impl, i, __ATOMIC_RELAXED);
	}
	return i == 2 ? crc32c_hw(crc, p, n) : crc32c_sw(crc, p, n);
}

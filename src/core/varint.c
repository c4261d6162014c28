/* varint.c — see varint.h. */
#include "core/varint.h"
#include "core/err.h"

size_t varint_enc_u64(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

int varint_dec_u64(const uint8_t *p, size_t n, size_t max_bytes, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < max_bytes; i++) {
		if (i >= n)
			return SL_EAGAIN;
		uint64_t byte = p[i];
		/* The 10th byte of a 64-bit varint may only carry one bit. */
		if (i == 9 && byte > 1)
			return SL_EPROTO;
		v |= (byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			if (max_bytes == 5 && v > UINT32_MAX)
				return SL_EPROTO;
			*out = v;
			return (int)(i + 1);
		}
	}
	return SL_EPROTO;
}

size_t varint_len_u64(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

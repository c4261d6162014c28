/*
 * frame.c — Kafka request framing: a big-endian int32 size, then that many
 * bytes. The size is checked against socket.request.max.bytes as soon as
 * its four bytes arrive, before the body is buffered, so a client cannot
 * make the server hold more than the limit. Pure function; loop thread.
 */
#include "proto/kafka/kafka.h"

int kafka_frame_next(const uint8_t *p, size_t n, size_t max, size_t *len)
{
	if (n < 4)
		return SL_EAGAIN;
	int32_t size = (int32_t)be32_load(p);
	/* The smallest request header (v1, null client id) is 10 bytes. */
	if (size < 10)
		return SL_EPROTO;
	if ((size_t)size > max)
		return SL_ETOOBIG;
	if (n - 4 < (size_t)size)
		return SL_EAGAIN;
	*len = (size_t)size;
	return size + 4;
}

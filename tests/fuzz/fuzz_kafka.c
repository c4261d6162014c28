/*
 * fuzz_kafka.c — the whole kafka front (parser, dispatch, handlers) fed
 * arbitrary client bytes through an in-memory connection; a second
 * connection must still be served afterwards (front_harness.h).
 */
#include "front_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char probe[] = "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff";
	fuzz_front_run(&kafka_front, data, size, probe, sizeof probe - 1);
	return 0;
}

/*
 * fuzz_beanstalk.c — the whole beanstalk front (parser, dispatch, handlers) fed
 * arbitrary client bytes through an in-memory connection; a second
 * connection must still be served afterwards (front_harness.h).
 */
#include "front_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char probe[] = "list-tubes\r\n";
	fuzz_front_run(&bstk_front, data, size, probe, sizeof probe - 1);
	return 0;
}

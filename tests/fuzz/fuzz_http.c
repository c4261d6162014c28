/*
 * fuzz_http.c — the whole http front (parser, dispatch, handlers) fed
 * arbitrary client bytes through an in-memory connection; a second
 * connection must still be served afterwards (front_harness.h).
 */
#include "front_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char probe[] = "GET /health HTTP/1.1\r\n\r\n";
	fuzz_front_run(&http_front, data, size, probe, sizeof probe - 1);
	return 0;
}

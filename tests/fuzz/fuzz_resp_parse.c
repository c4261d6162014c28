/*
 * fuzz_resp_parse.c — the RESP request parser over arbitrary bytes: parsed whole
 * and again split at a point chosen by the input, the two must agree
 * request for request (the parser is resumable); every argument of every
 * request also goes through the stream-ID parser and the glob matcher,
 * which see client bytes in XADD/XRANGE and KEYS/SCAN.
 */
#include "broker/stream.h"
#include "core/err.h"
#include "broker/keyspace_glob.h"
#include "proto/resp/parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses data[0..size) delivered as two reads split at cut; returns a hash
 * of the requests and arguments seen (and how parsing ended). */
static uint64_t run(const uint8_t *data, size_t size, size_t cut)
{
	resp_parser_t p;
	resp_parser_init(&p, 4096);
	uint64_t h = 1469598103934665603ull;
	size_t start = 0, have = cut;
	for (int guard = 0; guard < 100000; guard++) {
		size_t argc;
		int64_t r = resp_parse(&p, data + start, have - start, &argc);
		if (r == SL_EAGAIN) {
			if (have == size)
				break;
			have = size;
			continue;
		}
		if (r == SL_EPROTO) {
			h = (h ^ 0xE) * 1099511628211ull;
			break;
		}
		if (r <= 0 || start + (size_t)r > have)
			abort();
		for (size_t i = 0; i < argc; i++) {
			for (size_t k = 0; k < p.argv[i].len; k++)
				h = (h ^ (uint8_t)p.argv[i].p[k]) * 1099511628211ull;
			h = (h ^ 0x100) * 1099511628211ull;
			sid_t id;
			int given;
			(void)sid_parse(p.argv[i].p, p.argv[i].len, &id, 0, 1, &given);
			if (i > 0)
				(void)ks_glob_match(p.argv[i].p, p.argv[i].len, p.argv[0].p,
				                    p.argv[0].len, (int)(i & 1));
		}
		h = (h ^ 0x200) * 1099511628211ull;
		start += (size_t)r;
	}
	resp_parser_deinit(&p);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t cut = (size_t)data[0] % size;
	if (run(data, size, size) != run(data, size, cut))
		abort();
	return 0;
}

/*
 * plog_gen.h — the deterministic batch content shared by the crash helper
 * (plog_appender.c) and the test that checks its output
 * (tests/unit/store/test_plog_crash.c): the batch appended at base offset B
 * is plog_gen_batch(B), so the checker can rebuild every acknowledged batch
 * byte for byte. Header-only; no test framework dependency.
 */
#ifndef SL_TESTS_PLOG_GEN_H
#define SL_TESTS_PLOG_GEN_H

#include "core/buf.h"
#include "store/batch.h"
#include "store/plog.h"

#include <stdio.h>
#include <string.h>

static inline int plog_gen_nrec(int64_t seed)
{
	return 1 + (int)(seed % 4);
}

/* Appends the batch for seed to out (BaseOffset 0, as a producer sends). */
static inline int plog_gen_batch(buf_t *out, int64_t seed)
{
	static uint8_t val[4][8192];
	char key[4][32];
	batch_record_t recs[4];
	int n = plog_gen_nrec(seed);
	for (int i = 0; i < n; i++) {
		size_t vlen = (size_t)((seed * 37 + i * 11) % 3000);
		if (seed % 17 == 3)
			vlen += 5000;
		uint64_t x = (uint64_t)seed * 0x9e3779b97f4a7c15ull + (uint64_t)i + 1;
		for (size_t j = 0; j < vlen; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			val[i][j] = (uint8_t)x;
		}
		snprintf(key[i], sizeof key[i], "k%lld.%d", (long long)seed, i & 3);
		memset(&recs[i], 0, sizeof recs[i]);
		recs[i].timestamp = 1700000000000LL + seed;
		recs[i].key = (const uint8_t *)key[i];
		recs[i].key_len = (int32_t)strlen(key[i]);
		recs[i].value = val[i];
		recs[i].value_len = (int32_t)vlen;
	}
	return batch_build(out, NULL, recs, (size_t)n);
}

/* The bytes stored for the batch appended at base offset b. */
static inline int plog_gen_stored(buf_t *out, int64_t b)
{
	size_t at = buf_len(out);
	int rc = plog_gen_batch(out, b);
	if (rc == 0) {
		batch_set_base_offset(buf_data(out) + at, b);
		batch_set_leader_epoch(buf_data(out) + at, PLOG_LEADER_EPOCH);
	}
	return rc;
}

#endif

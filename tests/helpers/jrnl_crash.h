/*
 * jrnl_crash.h — the record stream shared by the jrnl_crash helper (which
 * writes it and gets SIGKILLed) and the test that checks what survived
 * (tests/unit/store/test_journal_crash.c). Test code only.
 *
 * Records:
 *   type 1 (DATA):    u64 seq, then (seq * 13) % 500 filler bytes that are a
 *                     function of seq — so a replayed record can be checked
 *                     byte for byte.
 *   type 2 (SUMMARY): u64 n — written by a compaction snapshot: records
 *                     0..n-1 existed and were intact when it was taken.
 * A valid journal is: at most one SUMMARY first, then DATA records whose
 * seqs continue the count without a gap.
 */
#ifndef SL_TESTS_JRNL_CRASH_H
#define SL_TESTS_JRNL_CRASH_H

#include "core/buf.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

enum { CRASH_DATA = 1, CRASH_SUMMARY = 2 };
#define CRASH_MAX_PAYLOAD (8 + 500)

static inline size_t crash_len(uint64_t seq)
{
	return 8 + (size_t)((seq * 13) % 500);
}

static inline void crash_fill(uint64_t seq, uint8_t *p)
{
	size_t n = crash_len(seq);
	be64_store(p, seq);
	for (size_t k = 8; k < n; k++)
		p[k] = (uint8_t)(seq * 2654435761u + k);
}

/* Replay state: the next seq expected. */
typedef struct crash_state {
	uint64_t next;
	uint64_t records;
} crash_state_t;

static inline int crash_replay(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	crash_state_t *st = arg;
	uint8_t want[CRASH_MAX_PAYLOAD];
	if (type == CRASH_SUMMARY) {
		if (len != 8 || st->records != 0)
			return SL_ECORRUPT;
		st->next = be64_load(p);
		st->records++;
		return 0;
	}
	if (type != CRASH_DATA || len < 8 || be64_load(p) != st->next)
		return SL_ECORRUPT;
	if (len != crash_len(st->next))
		return SL_ECORRUPT;
	crash_fill(st->next, want);
	for (size_t k = 0; k < len; k++)
		if (p[k] != want[k])
			return SL_ECORRUPT;
	st->next++;
	st->records++;
	return 0;
}

#endif

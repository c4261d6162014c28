/*
 * stats.h — request counters of the three protocol fronts, kept by the
 * broker (b->stats) so that /metrics (src/http) reads them without knowing
 * any front.
 *
 * Each front has one table of command slots. A slot is found by the
 * address of the front's own table entry (the Kafka API row, the RESP
 * top-level command, the beanstalkd command): open addressing over 256
 * slots keyed by that pointer, so the lookup hashes no string and the
 * hot path stays a few additions. The slot keeps the entry's name (a
 * static string of the front's table) for the metric label.
 *
 * Latency is the time the loop spends in the handler (parse to reply
 * queued), not the wait for a sync (see sluice_fsync_duration_seconds).
 * Kafka requests are each timed; RESP and beanstalkd requests take about a
 * microsecond, where two clock reads would be a visible share, so one in
 * STATS_SAMPLE of them is (the first, then every 8th, per command). Counts
 * are exact.
 *
 * Loop thread only; no allocation after broker_open, no locks.
 */
#ifndef SL_BROKER_STATS_H
#define SL_BROKER_STATS_H

#include "core/hist.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STATS_SLOTS 256
#define STATS_SAMPLE 8

typedef struct stats_cmd {
	const void *key;  /* the front's table entry; NULL: free slot */
	const char *name; /* borrowed: static in the front */
	uint64_t requests;
	uint64_t errors;
	hist_t lat_us; /* handler time, microseconds */
} stats_cmd_t;

typedef struct stats_tab {
	stats_cmd_t slot[STATS_SLOTS];
	size_t used;
} stats_tab_t;

enum { STATS_KAFKA, STATS_RESP, STATS_BSTK, STATS_NPROTO };

typedef struct broker_stats {
	stats_tab_t proto[STATS_NPROTO];
} broker_stats_t;

/* The slot of entry key (found or claimed), or NULL when the table is
 * full (then the request is not counted) or t is NULL. */
static inline stats_cmd_t *stats_cmd(stats_tab_t *t, const void *key, const char *name)
{
	if (!t)
		return NULL;
	size_t i = ((uintptr_t)key >> 4) * 0x9E3779B1u % STATS_SLOTS;
	for (size_t n = 0; n < STATS_SLOTS; n++, i = (i + 1) % STATS_SLOTS) {
		stats_cmd_t *s = &t->slot[i];
		if (s->key == key)
			return s;
		if (!s->key) {
			s->key = key;
			s->name = name;
			t->used++;
			return s;
		}
	}
	return NULL;
}

static inline int64_t stats_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Counts a request; returns its start time when this one is timed
 * (every one with sample 1, else one in STATS_SAMPLE), or -1. */
static inline int64_t stats_begin(stats_cmd_t *s, int sample)
{
	if (!s)
		return -1;
	if (sample && (s->requests++ % STATS_SAMPLE) != 0)
		return -1;
	if (!sample)
		s->requests++;
	return stats_now_us();
}

/* Counts a request; whether it is one of the timed ones (one in
 * STATS_SAMPLE), for a caller that reads the clock itself (stats_done). */
static inline int stats_count(stats_cmd_t *s)
{
	return s && (s->requests++ % STATS_SAMPLE) == 0;
}

/* A request counted with stats_count ended; dur_us < 0: not timed. */
static inline void stats_done(stats_cmd_t *s, int64_t dur_us, int err)
{
	if (!s)
		return;
	s->errors += err != 0;
	if (dur_us >= 0)
		hist_observe(&s->lat_us, (uint64_t)dur_us);
}

/* The request ended; err: it was answered with an error. */
static inline void stats_end(stats_cmd_t *s, int64_t t0, int err)
{
	if (!s)
		return;
	s->errors += err != 0;
	if (t0 >= 0)
		hist_observe(&s->lat_us, (uint64_t)(stats_now_us() - t0));
}

/* The table of a protocol, or NULL when the broker keeps no stats (unit
 * tests that build a broker by hand). */
#define STATS_TAB(b, p) ((b) && (b)->stats ? &(b)->stats->proto[(p)] : NULL)

#endif

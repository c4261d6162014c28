/*
 * hist.h — a fixed-size histogram with power-of-two buckets, for metrics.
 *
 * Bucket k counts observations v with 2^(k-1) < v <= 2^k (bucket 0: v <= 1);
 * the last bucket counts everything larger (Prometheus's +Inf). Observing
 * is O(1): one count-leading-zeros, three additions, no branches on the
 * data beyond the clamp, no allocation, no lock. The unit is the caller's
 * (microseconds for latencies, bytes for sizes); whoever renders the
 * histogram scales the bounds.
 *
 * Not thread-safe: a histogram belongs to one thread (the loop thread for
 * every one sluiced keeps).
 */
#ifndef SL_CORE_HIST_H
#define SL_CORE_HIST_H

#include <stdint.h>

#define HIST_NB 24 /* le 1, 2, 4, ... 2^22, +Inf */

typedef struct hist {
	uint64_t b[HIST_NB]; /* per bucket, not cumulative */
	uint64_t count;
	uint64_t sum;
} hist_t;

static inline void hist_observe(hist_t *h, uint64_t v)
{
	unsigned k = v <= 1 ? 0 : 64u - (unsigned)__builtin_clzll(v - 1);
	h->b[k < HIST_NB ? k : HIST_NB - 1]++;
	h->count++;
	h->sum += v;
}

/* The upper bound of bucket k (k < HIST_NB - 1). */
static inline uint64_t hist_bound(unsigned k)
{
	return (uint64_t)1 << k;
}

#endif

/*
 * time.h — clocks. Monotonic time drives timers and timeouts; wall time is
 * what goes into Kafka timestamps, Redis stream IDs and expiry instants.
 * Thread-safe.
 */
#ifndef SL_CORE_TIME_H
#define SL_CORE_TIME_H

#include <stdint.h>
#include <time.h>

static inline int64_t time_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static inline int64_t time_mono_ms(void)
{
	return time_mono_ns() / 1000000;
}

static inline int64_t time_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
static inline int64_t time_wall_ms(void)
{
	return time_wall_us() / 1000;
}

#endif

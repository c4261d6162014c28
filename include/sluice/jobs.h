/*
 * sluice/jobs.h — a plain, blocking beanstalkd-protocol client.
 *
 * For tools and scripts (the `sluice jobs` commands) and under the delay
 * queue. One connection per handle; not thread-safe (use one per thread).
 */
#ifndef SLUICE_JOBS_H
#define SLUICE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_jobs sl_jobs;

/* Connects to "host:port" (borrowed), waiting up to timeout_ms. */
SL_API sl_jobs *sl_jobs_connect(const char *addr, int timeout_ms);
SL_API void sl_jobs_close(sl_jobs *j);

SL_API int sl_jobs_use(sl_jobs *j, const char *tube);
SL_API int sl_jobs_watch(sl_jobs *j, const char *tube);
SL_API int sl_jobs_ignore(sl_jobs *j, const char *tube);

/* Server replies other than the expected one are SL_EREMOTE with the
 * reply line (e.g. "JOB_TOO_BIG") in sl_last_error(). */
SL_API int sl_jobs_put(sl_jobs *j, uint32_t pri, uint32_t delay_s, uint32_t ttr_s,
		       const void *body, size_t len, uint64_t *id);
/* timeout_s < 0 waits forever. SL_ETIMEDOUT on TIMED_OUT. *body is owned
 * by the caller (free()). */
SL_API int sl_jobs_reserve(sl_jobs *j, int timeout_s, uint64_t *id, char **body, size_t *len);
SL_API int sl_jobs_delete(sl_jobs *j, uint64_t id);
SL_API int sl_jobs_release(sl_jobs *j, uint64_t id, uint32_t pri, uint32_t delay_s);
SL_API int sl_jobs_bury(sl_jobs *j, uint64_t id, uint32_t pri);
SL_API int sl_jobs_kick(sl_jobs *j, uint32_t bound, uint32_t *kicked);
SL_API int sl_jobs_kick_job(sl_jobs *j, uint64_t id);
/* peek-ready / peek-delayed / peek-buried (what = "ready"…) or peek <id>
 * (what = NULL). SL_ENOENT on NOT_FOUND. */
SL_API int sl_jobs_peek(sl_jobs *j, const char *what, uint64_t id, uint64_t *out_id,
			char **body, size_t *len);

/* YAML replies of stats, stats-tube, stats-job, list-tubes: *yaml is owned
 * by the caller (free()), NUL-terminated. */
SL_API int sl_jobs_stats(sl_jobs *j, char **yaml);
SL_API int sl_jobs_stats_tube(sl_jobs *j, const char *tube, char **yaml);
SL_API int sl_jobs_stats_job(sl_jobs *j, uint64_t id, char **yaml);
SL_API int sl_jobs_list_tubes(sl_jobs *j, char **yaml);

#ifdef __cplusplus
}
#endif

#endif

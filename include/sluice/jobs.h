/*
 * sluice/jobs.h — a plain, blocking beanstalkd-protocol client.
 *
 * For tools and scripts (the `sluice jobs` commands) and under the delay
 * queue. One connection per handle; not thread-safe (use one per thread).
 *
 * Replies of beanstalkd 1.12 map to return codes as follows:
 *   the expected reply (INSERTED, USING, WATCHING, RESERVED, DELETED,
 *   RELEASED, BURIED for bury, KICKED, FOUND, OK, TOUCHED, PAUSED)  0
 *   NOT_FOUND                                                 SL_ENOENT
 *   TIMED_OUT                                                 SL_ETIMEDOUT
 *   JOB_TOO_BIG                                               SL_ETOOBIG
 *   any other reply the protocol defines (BURIED <id> for put or
 *   release, NOT_IGNORED, DEADLINE_SOON, DRAINING, EXPECTED_CRLF,
 *   OUT_OF_MEMORY, INTERNAL_ERROR, BAD_FORMAT, UNKNOWN_COMMAND) SL_EREMOTE
 * with the reply line in sl_last_error() ("put: JOB_TOO_BIG"); the
 * connection stays usable after all of these. A reply the protocol does not
 * define, a body longer than SL_JOBS_MAX_BODY (checked before allocating),
 * a lost connection or a reply not arriving in time closes the connection:
 * that call fails with SL_EPROTO, SL_ETOOBIG, SL_EIO or SL_ETIMEDOUT and
 * every later call with SL_ECLOSED (connect again).
 *
 * Tube names are checked before sending (1–200 bytes of A-Za-z0-9 and
 * -+/;.$_(), not starting with '-'): SL_EINVAL otherwise.
 */
#ifndef SLUICE_JOBS_H
#define SLUICE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_jobs sl_jobs;

/* The largest job body or YAML reply accepted from a server (64 MiB;
 * beanstalkd's own default limit is 65535 bytes). */
#define SL_JOBS_MAX_BODY (64u << 20)

/* Connects to "host:port" (borrowed), waiting up to timeout_ms (<= 0:
 * 10 s). The same timeout bounds the wait for each reply, beyond the
 * timeout a reserve asks for. NULL with sl_last_error() on failure. */
SL_API sl_jobs *sl_jobs_connect(const char *addr, int timeout_ms);
/* sl_jobs_connect over TLS (1.2 or 1.3; sluiced's beanstalkd listener with
 * TLS): the server's certificate is verified against ca_file (NULL or "":
 * the system's CAs) and against the host or IP address of addr. */
SL_API sl_jobs *sl_jobs_connect_tls(const char *addr, const char *ca_file, int timeout_ms);
SL_API void sl_jobs_close(sl_jobs *j);

SL_API int sl_jobs_use(sl_jobs *j, const char *tube);
SL_API int sl_jobs_watch(sl_jobs *j, const char *tube);
SL_API int sl_jobs_ignore(sl_jobs *j, const char *tube);
/* pause-tube: no reservations from tube for delay_s seconds. */
SL_API int sl_jobs_pause_tube(sl_jobs *j, const char *tube, uint32_t delay_s);

/* Server replies other than the expected one are SL_EREMOTE with the
 * reply line (e.g. "JOB_TOO_BIG") in sl_last_error(). */
SL_API int sl_jobs_put(sl_jobs *j, uint32_t pri, uint32_t delay_s, uint32_t ttr_s, const void *body,
                       size_t len, uint64_t *id);
/* timeout_s < 0 waits forever. SL_ETIMEDOUT on TIMED_OUT. *body is owned
 * by the caller (free()). */
SL_API int sl_jobs_reserve(sl_jobs *j, int timeout_s, uint64_t *id, char **body, size_t *len);
/* reserve-job <id> (beanstalkd 1.12+): reserves that job in any state. */
SL_API int sl_jobs_reserve_job(sl_jobs *j, uint64_t id, char **body, size_t *len);
SL_API int sl_jobs_delete(sl_jobs *j, uint64_t id);
SL_API int sl_jobs_touch(sl_jobs *j, uint64_t id);
SL_API int sl_jobs_release(sl_jobs *j, uint64_t id, uint32_t pri, uint32_t delay_s);
SL_API int sl_jobs_bury(sl_jobs *j, uint64_t id, uint32_t pri);
/* kicked may be NULL. */
SL_API int sl_jobs_kick(sl_jobs *j, uint32_t bound, uint32_t *kicked);
SL_API int sl_jobs_kick_job(sl_jobs *j, uint64_t id);
/* peek-ready / peek-delayed / peek-buried (what = "ready"…) or peek <id>
 * (what = NULL). SL_ENOENT on NOT_FOUND. */
SL_API int sl_jobs_peek(sl_jobs *j, const char *what, uint64_t id, uint64_t *out_id, char **body,
                        size_t *len);

/* YAML replies of stats, stats-tube, stats-job, list-tubes: *yaml is owned
 * by the caller (free()), NUL-terminated. */
SL_API int sl_jobs_stats(sl_jobs *j, char **yaml);
SL_API int sl_jobs_stats_tube(sl_jobs *j, const char *tube, char **yaml);
SL_API int sl_jobs_stats_job(sl_jobs *j, uint64_t id, char **yaml);
SL_API int sl_jobs_list_tubes(sl_jobs *j, char **yaml);
SL_API int sl_jobs_list_tubes_watched(sl_jobs *j, char **yaml);
/* list-tube-used: the name is copied into tube (cap bytes, NUL-terminated). */
SL_API int sl_jobs_list_tube_used(sl_jobs *j, char *tube, size_t cap);

#ifdef __cplusplus
}
#endif

#endif

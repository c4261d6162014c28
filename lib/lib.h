/*
 * lib.h — what libsluice's modules share and the API does not show:
 * the thread-local last-error text and typed access to a conf.
 *
 * Internal functions carry the lib_ prefix and stay hidden
 * (-fvisibility=hidden); only SL_API declarations are exported.
 */
#ifndef SL_LIB_LIB_H
#define SL_LIB_LIB_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice/sluice.h"

/* Records "fmt…" as this thread's sl_last_error() and returns code, so a
 * failure is one line: return lib_err(SL_EIO, "connect %s: %s", a, e); */
int lib_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears this thread's last error (called at the top of API functions that
 * succeed silently is not needed: the text is only read after a failure). */
void lib_err_clear(void);

/* Typed getters for keys of the table in conf.c. The value was checked by
 * sl_conf_set, so these cannot fail; an unknown key is a programming error
 * and aborts in debug builds (assert). */
const char *lib_conf_str(const sl_conf *c, const char *key);
int64_t lib_conf_int(const sl_conf *c, const char *key); /* ints, sizes, durations (ms) */
bool lib_conf_bool(const sl_conf *c, const char *key);

/* Splits a comma-separated list value into at most max trimmed items, each
 * copied into items[i] (NUL-terminated, truncated to cap). Returns the
 * count. */
int lib_conf_list(const sl_conf *c, const char *key, char (*items)[256], int max);

/* Sets *ts to now + ms on CLOCK_MONOTONIC: the absolute deadline for
 * pthread_cond_timedwait on a condition variable made with that clock. */
struct timespec;
void lib_deadline_after(struct timespec *ts, int64_t ms);

/* Milliseconds on CLOCK_MONOTONIC / CLOCK_REALTIME. */
int64_t lib_now_ms(void);
int64_t lib_wall_ms(void);

#endif

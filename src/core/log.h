/*
 * log.h — leveled logging to a file descriptor (stderr by default).
 *
 * A log_t is a small value owned by whoever creates it (main creates one and
 * hands a pointer to every module); there is no global logger, so two brokers
 * can live in one test process with different levels. A NULL log_t pointer is
 * accepted everywhere and logs nothing, which keeps unit tests quiet.
 * Each message is formatted into one buffer and written with one write(), so
 * lines from different threads never interleave.
 */
#ifndef SL_CORE_LOG_H
#define SL_CORE_LOG_H

typedef enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
} log_level_t;

typedef struct log {
	log_level_t level;
	int fd;
} log_t;

void log_init(log_t *l, log_level_t level, int fd);

/* Parses "error", "warn", "info" or "debug". Returns 0 or SL_EINVAL. */
int log_level_parse(const char *s, log_level_t *out);
const char *log_level_name(log_level_t level);

void log_msg(const log_t *l, log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(l, ...) log_msg((l), LOG_ERROR, __VA_ARGS__)
#define log_warn(l, ...) log_msg((l), LOG_WARN, __VA_ARGS__)
#define log_info(l, ...) log_msg((l), LOG_INFO, __VA_ARGS__)
#define log_debug(l, ...) log_msg((l), LOG_DEBUG, __VA_ARGS__)

#endif

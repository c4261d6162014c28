/* log.c — see log.h. Safe to call from any thread. */
#include "core/log.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(log_t *l, log_level_t level, int fd)
{
	l->level = level;
	l->fd = fd;
}

int log_level_parse(const char *s, log_level_t *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (log_level_t)i;
			return 0;
		}
	}
	return SL_EINVAL;
}

const char *log_level_name(log_level_t level)
{
	return (unsigned)level <= LOG_DEBUG ? level_names[level] : "?";
}

void log_msg(const log_t *l, log_level_t level, const char *fmt, ...)
{
	if (!l || level > l->level)
		return;
	char line[1024];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s ",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	/* A short write to stderr is not worth retrying: the line is lost. */
	ssize_t w = write(l->fd, line, len);
	(void)w;
}

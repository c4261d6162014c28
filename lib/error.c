/* error.c — sl_last_error(): one message buffer per thread (see lib.h). */
#include "lib.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static _Thread_local char last_error[512];

int lib_err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return code;
}

void lib_err_clear(void)
{
	last_error[0] = '\0';
}

const char *sl_last_error(void)
{
	return last_error;
}

int64_t lib_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lib_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

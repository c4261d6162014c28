/*
 * parse.c — beanstalkd framing and argument readers (see parse.h).
 */
#include "proto/beanstalk/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int bstk_scan_line(const uint8_t *p, size_t n, size_t *len)
{
	size_t w = n < BSTK_LINE_MAX ? n : BSTK_LINE_MAX;
	/* Like beanstalkd, look for '\r' in all but the last byte, so a
	 * trailing '\r' waits for the byte after it. */
	const uint8_t *cr = w >= 2 ? memchr(p, '\r', w - 1) : NULL;
	if (cr && cr[1] == '\n') {
		*len = (size_t)(cr - p) + 2;
		return BSTK_LINE;
	}
	return w == BSTK_LINE_MAX ? BSTK_OVERFLOW : BSTK_NEED;
}

static int read_num(const char *s, uintmax_t max, uintmax_t *out, const char **end)
{
	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	char *e;
	errno = 0;
	uintmax_t v = strtoumax(s, &e, 10);
	if (e == s || errno || v > max)
		return -1;
	if (!end && *e != '\0')
		return -1;
	*out = v;
	if (end)
		*end = e;
	return 0;
}

int bstk_read_u64(const char *s, uint64_t *out, const char **end)
{
	uintmax_t v;
	if (read_num(s, UINT64_MAX, &v, end))
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int bstk_read_u32(const char *s, uint32_t *out, const char **end)
{
	uintmax_t v;
	if (read_num(s, UINT32_MAX, &v, end))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int bstk_read_timeout(const char *s, int *out)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	if (errno)
		return -1;
	/* beanstalkd stores it in an int. */
	*out = (int)v;
	return 0;
}

int bstk_read_bound(const char *s, uint32_t *out)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (e == s || errno)
		return -1;
	/* beanstalkd stores it in an unsigned int. */
	*out = (uint32_t)v;
	return 0;
}

size_t bstk_name_span(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-+/;.$_()");
}

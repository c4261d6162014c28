/*
 * num.c — Redis's number texts (see num.h).
 */
#include "broker/num.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int num_str2ll(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return -1;
	if (n == 1 && s[0] == '0') {
		*out = 0;
		return 0;
	}
	if (s[0] == '-') {
		neg = 1;
		i = 1;
		if (n == 1)
			return -1;
	}
	if (s[i] < '1' || s[i] > '9')
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = (int64_t)(0 - v);
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	return 0;
}

size_t num_ll2str(char *buf, int64_t v)
{
	char tmp[24];
	char *end = tmp + sizeof tmp, *p = end;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	size_t n = (size_t)(end - p);
	memcpy(buf, p, n);
	buf[n] = 0;
	return n;
}

int num_str2d(const char *s, size_t n, double *out)
{
	char tmp[NUM_LD_CHARS];
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	char *end;
	errno = 0;
	double v = strtod(tmp, &end);
	if (isspace((unsigned char)tmp[0]) || (size_t)(end - tmp) != n ||
	    (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) ||
	    isnan(v))
		return -1;
	*out = v;
	return 0;
}

int num_str2ld(const char *s, size_t n, long double *out)
{
	char tmp[NUM_LD_CHARS];
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	char *end;
	errno = 0;
	long double v = strtold(tmp, &end);
	if (isspace((unsigned char)tmp[0]) || *end || (size_t)(end - tmp) != n ||
	    (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
	    errno == EINVAL || isnan(v))
		return -1;
	*out = v;
	return 0;
}

size_t num_ld2str_human(char *buf, size_t len, long double v)
{
	if (isinf(v))
		return (size_t)snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
	int k = snprintf(buf, len, "%.17Lf", v);
	if (k < 0 || (size_t)k + 1 > len) {
		buf[0] = 0;
		return 0;
	}
	size_t l = (size_t)k;
	if (strchr(buf, '.')) {
		char *p = buf + l - 1;
		while (*p == '0') {
			p--;
			l--;
		}
		if (*p == '.')
			l--;
	}
	if (l == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		l = 1;
	}
	buf[l] = 0;
	return l;
}

size_t num_d2str(char *buf, size_t len, double v)
{
	if (isinf(v))
		return (size_t)snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
	return (size_t)snprintf(buf, len, "%.17g", v);
}

int num_d2ll(double d, long long *out)
{
	if (d < (double)(-INT64_MAX / 2) || d > (double)(INT64_MAX / 2))
		return 0;
	long long ll = (long long)d;
	if ((double)ll != d)
		return 0;
	*out = ll;
	return 1;
}

size_t num_d2string(char *buf, size_t len, double v)
{
	if (isnan(v))
		return (size_t)snprintf(buf, len, "nan");
	if (isinf(v))
		return (size_t)snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
	if (v == 0)
		return (size_t)snprintf(buf, len, "%s", signbit(v) ? "-0" : "0");
	long long ll;
	if (num_d2ll(v, &ll))
		return (size_t)snprintf(buf, len, "%lld", ll);
	return (size_t)snprintf(buf, len, "%.17g", v);
}

/*
 * num.h — numbers as Redis reads and writes them: the strict integer and
 * float parsers its commands use (util.c's string2ll, string2d,
 * string2ld) and the float formats of its replies and stored values, so
 * that every type answers with the same bytes Redis 7.0 does.
 * Pure functions; any thread.
 */
#ifndef SL_BROKER_NUM_H
#define SL_BROKER_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Longest text of a long double in the "human" format, and of a double in
 * %.17g, with room to spare. */
#define NUM_LD_CHARS 5120
#define NUM_D_CHARS 64

/* A strict decimal integer: optional '-', no leading zeros (but "0"), no
 * spaces or '+', at most 20 characters, in range. 0 or -1. */
int num_str2ll(const char *p, size_t n, int64_t *out);
/* Decimal text of v into buf (>= 21 bytes); returns its length. */
size_t num_ll2str(char *buf, int64_t v);
/* A double as getDoubleFromObject reads it (strtod over the whole string,
 * no leading space, not NaN, no overflow or underflow to zero). */
int num_str2d(const char *p, size_t n, double *out);
/* The same for a long double (getLongDoubleFromObject). */
int num_str2ld(const char *p, size_t n, long double *out);
/* Redis's "human" long double format (INCRBYFLOAT, HINCRBYFLOAT): %.17Lf
 * without trailing zeros, "inf"/"-inf". buf >= NUM_LD_CHARS. */
size_t num_ld2str_human(char *buf, size_t len, long double v);
/* %.17g with "inf"/"-inf" (addReplyDouble's text). buf >= NUM_D_CHARS. */
size_t num_d2str(char *buf, size_t len, double v);
/* Redis's double2ll: whether d is an integer within +-INT64_MAX/2 (what a
 * listpack stores as an integer), and which. */
int num_d2ll(double d, long long *out);
/* Redis 7.0's d2string: such integers without exponent, else %.17g; "-0"
 * and "0"; "nan", "inf", "-inf". */
size_t num_d2string(char *buf, size_t len, double v);

#endif

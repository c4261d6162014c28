/*
 * parse.h — beanstalkd command framing and argument readers, with
 * beanstalkd 1.12's exact rules. Pure functions; any thread.
 *
 * Framing: a command line ends at the first '\r' of the line if a '\n'
 * follows it. The line, CRLF included, must fit in 224 bytes
 * (BSTK_LINE_MAX); beanstalkd reads into a 224-byte buffer and gives up on
 * a buffer with no line end, discarding input in 224-byte windows until a
 * line end, and then answers BAD_FORMAT. A '\r' not followed by '\n' hides
 * any later CRLF in the same window (beanstalkd scans only for the first
 * '\r'), so such a line also overflows.
 */
#ifndef SL_PROTO_BEANSTALK_PARSE_H
#define SL_PROTO_BEANSTALK_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define BSTK_LINE_MAX 224

enum bstk_scan {
	BSTK_NEED = 0,     /* no line end yet; wait for more input */
	BSTK_LINE = 1,     /* *len bytes (CRLF included) form a line */
	BSTK_OVERFLOW = 2, /* discard BSTK_LINE_MAX bytes and keep looking */
};

/* Scans the window p[0..min(n, BSTK_LINE_MAX)). */
int bstk_scan_line(const uint8_t *p, size_t n, size_t *len);

/* beanstalkd's read_u64 / read_u32: skips spaces, requires a digit, decimal,
 * range-checked. With end == NULL the number must end the string; otherwise
 * *end points after it. Return 0 or -1. s is NUL-terminated. */
int bstk_read_u64(const char *s, uint64_t *out, const char **end);
int bstk_read_u32(const char *s, uint32_t *out, const char **end);

/* The C library's strtol/strtoul as beanstalkd 1.12 uses them for
 * reserve-with-timeout and kick: leading whitespace and a sign accepted,
 * trailing garbage ignored. Return 0, or -1 on overflow (errno ERANGE) or,
 * for strtoul_bound, when no digits were read. */
int bstk_read_timeout(const char *s, int *out);
int bstk_read_bound(const char *s, uint32_t *out);

/* beanstalkd's tube-name alphabet: returns the length of the prefix of s
 * made of name characters. */
size_t bstk_name_span(const char *s);

#endif

/*
 * sniff.c — see sniff.h. The tests are cheap prefix checks on bytes a
 * front is about to reject anyway; they only choose a log line's hint.
 */
#include "proto/sniff.h"

#include <string.h>

static int starts(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);
	return n >= k && memcmp(p, s, k) == 0;
}

const char *proto_sniff(const uint8_t *p, size_t n)
{
	static const char *const http[] = {"GET ",    "POST ",    "PUT ",   "HEAD ",
	                                   "DELETE ", "OPTIONS ", "PATCH ", "CONNECT "};
	static const char *const bstk[] = {"put ",  "use ",       "reserve", "watch ",  "ignore ",
	                                   "stats", "list-tubes", "peek",    "delete ", "kick"};
	if (n == 0)
		return NULL;
	/* A method and, on the same line, the version: "GET foo" typed at a
	 * Redis prompt is not HTTP. */
	const uint8_t *eol = memchr(p, '\n', n);
	size_t line = eol ? (size_t)(eol - p) : n;
	for (size_t i = 0; i < sizeof http / sizeof http[0]; i++)
		if (starts(p, n, http[i]) && memmem(p, line, " HTTP/1.", 8))
			return "an HTTP request";
	for (size_t i = 0; i < sizeof bstk / sizeof bstk[0]; i++)
		if (starts(p, n, bstk[i]))
			return "a beanstalkd command";
	/* RESP: an array of bulk strings ("*3\r\n$3\r\nSET..."), or an inline
	 * command redis-cli users type (PING). */
	if (p[0] == '*' && n >= 2 && p[1] >= '0' && p[1] <= '9')
		return "a Redis command";
	if (starts(p, n, "PING") || starts(p, n, "ping") || starts(p, n, "HELLO"))
		return "a Redis command";
	/* A TLS ClientHello: handshake record, version 3.x. */
	if (n >= 3 && p[0] == 0x16 && p[1] == 0x03)
		return "TLS (this listener is plaintext)";
	/* Kafka: a 4-byte big-endian size, then a request header whose API
	 * key is small and whose version is small. */
	if (n >= 8 && p[0] == 0 && p[4] == 0 && p[5] < 100 && p[6] == 0 && p[7] < 20)
		return "a Kafka request";
	return NULL;
}

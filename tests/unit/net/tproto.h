/*
 * tproto.h — a small line protocol for net/ unit tests, plus client-side
 * helpers for driving real sockets from the test thread.
 *
 * Requests are lines ending in '\n':
 *   "big N"  reply N pattern bytes (tproto_pattern of the connection's
 *            request number), for partial writes and backpressure
 *   "pause"  conn_pause(); the test resumes with conn_resume()
 *   "quit"   reply "bye\n" and close with flush
 *   "bad"    reply "ERR\n" and return -1 from on_input
 *   other    echoed back with its '\n'
 * Every request (any kind) increments the connection's request number.
 * Test code, loop thread only.
 */
#ifndef SL_TESTS_UNIT_NET_TPROTO_H
#define SL_TESTS_UNIT_NET_TPROTO_H

#include "core/buf.h"
#include "net/conn.h"
#include "net/loop.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tsrv {
	int opens;
	int closes;
	int inputs;   /* on_input calls */
	int requests; /* requests handled, all connections */
	int drains;   /* on_drain calls */
	int refuse;   /* on_open refuses when set */
	int in_input; /* re-entrancy detector */
	int reentered;
	int sndbuf;   /* if > 0, SO_SNDBUF for accepted sockets */
	conn_t *last; /* the most recently opened connection */
} tsrv_t;

extern const proto_t tproto;

/* Byte j of the reply to request k. */
static inline uint8_t tproto_pattern(uint64_t k, uint64_t j)
{
	return (uint8_t)((k * 7 + j) % 251);
}

/* Connects to 127.0.0.1:port; returns a non-blocking socket. rcvbuf > 0
 * sets SO_RCVBUF before connecting. */
int tcli_connect(int port, int rcvbuf);
/* Writes all bytes (the socket may be non-blocking: spins the loop while
 * it is full). */
void tcli_send(loop_t *loop, int fd, const void *p, size_t n);
/* Reads what is available into out (at most max bytes; 0 = no limit).
 * Returns 1 if EOF or a reset was seen, else 0. */
int tcli_read(int fd, buf_t *out, size_t max);
/* Runs loop turns (each waiting up to 10 ms) reading fd into out until out
 * holds at least n bytes or EOF; fails the test after 20 s. Returns the EOF
 * flag. */
int tcli_read_until(loop_t *loop, int fd, buf_t *out, size_t n);
/* Runs turns until fd reads EOF; fails the test after 20 s. */
void tcli_wait_eof(loop_t *loop, int fd, buf_t *out);

/* Checks the leak detector when built with ASan (a no-op otherwise). */
void tcheck_no_leaks(void);

#endif

/*
 * netio.h — a blocking TCP connection with a read buffer and deadlines,
 * shared by the line-based clients of libsluice (jobs.c for beanstalkd,
 * resp_client.c for RESP).
 *
 * Every call takes an absolute deadline on lib_now_ms()'s clock (-1 = no
 * deadline) and waits with poll(), so a dead server costs at most the
 * caller's timeout. Writes use MSG_NOSIGNAL: a closed peer is SL_EIO, never
 * SIGPIPE. A lib_conn belongs to one thread at a time.
 *
 * TLS (OpenSSL, 1.2 or 1.3) when opened with lib_net_open_tls: the server's
 * certificate is verified against a CA file (or the system's store) and
 * its name or IP address, as go-zero's CaFile does.
 */
#ifndef SL_LIB_NETIO_H
#define SL_LIB_NETIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib.h"

typedef struct lib_conn {
	int fd;             /* -1 when closed */
	struct ssl_st *ssl; /* NULL: plaintext */
	size_t start, end;  /* unread bytes are buf[start..end) */
	char buf[8192];
} lib_conn;

/* Splits "host:port" or "[v6]:port" (borrowed) into host (cap bytes) and
 * port. SL_EINVAL when it is not of that form. */
int lib_net_split(const char *addr, char *host, size_t cap, int *port);

/* Connects c to addr, waiting up to timeout_ms. SL_EINVAL (bad address),
 * SL_ETIMEDOUT or SL_EIO with sl_last_error() naming addr. */
int lib_net_open(lib_conn *c, const char *addr, int timeout_ms);
/* lib_net_open, then a TLS handshake trusting ca_file ("" or NULL: the
 * system's CAs). SL_EIO with the verification error in sl_last_error(). */
int lib_net_open_tls(lib_conn *c, const char *addr, const char *ca_file, int timeout_ms);
void lib_net_close(lib_conn *c);

/* Writes every byte of iov[0..n). */
int lib_net_writev(lib_conn *c, struct iovec *iov, int n, int64_t deadline);

/* Reads one line ending in "\r\n" into line (cap bytes, NUL-terminated,
 * CRLF removed); returns its length. SL_ETOOBIG when the line does not fit
 * in cap - 1 bytes (the connection is then out of step: close it). */
int lib_net_read_line(lib_conn *c, char *line, size_t cap, int64_t deadline);

/* Reads exactly n bytes into dst. */
int lib_net_read_exact(lib_conn *c, void *dst, size_t n, int64_t deadline);

/* The deadline timeout_ms from now (-1 for a negative timeout). */
int64_t lib_net_deadline(int64_t timeout_ms);

#endif

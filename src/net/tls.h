/*
 * tls.h — TLS for listeners and connections (OpenSSL 3): a server context
 * per TLS listener, reloadable, and the non-blocking I/O conn.c uses in
 * place of read/sendmsg/sendfile on a TLS connection.
 *
 * A context holds the certificate, key, optional CA for client
 * certificates and the client-certificate policy of one listener. TLS 1.2
 * and 1.3 only; renegotiation off; kTLS asked for (SSL_OP_ENABLE_KTLS), so
 * once the handshake is done the kernel may encrypt what is sent, and file
 * regions then go out with SSL_sendfile without a copy through user space.
 *
 * Reload (SIGHUP): tls_ctx_reload() builds a new OpenSSL context from the
 * same files and swaps it in only if every file loads; connections accepted
 * from then on use it, connections already open keep the one they started
 * with (OpenSSL reference-counts it).
 *
 * I/O calls return bytes moved (> 0), 0 for the peer's end of stream
 * (reads only), TLS_AGAIN when the socket must become readable or writable
 * first (*want says which: TLS_WANT_READ or TLS_WANT_WRITE), or TLS_FAIL.
 * Loop thread only.
 */
#ifndef SL_NET_TLS_H
#define SL_NET_TLS_H

#include "core/log.h"

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct tls_ctx tls_ctx_t;
typedef struct ssl_st tls_ssl_t; /* OpenSSL's SSL, opaque here */

typedef enum tls_auth {
	TLS_AUTH_NONE = 0,  /* no client certificate asked for */
	TLS_AUTH_REQUESTED, /* asked for and verified when sent */
	TLS_AUTH_REQUIRED,  /* a client without a valid one is refused */
} tls_auth_t;

/* none | requested | required (also no/optional/yes, Redis's
 * tls-auth-clients words). 0 or SL_EINVAL. */
int tls_auth_parse(const char *s, tls_auth_t *out);

typedef struct tls_conf {
	const char *name;                           /* for messages: "resp", "kafka SSL" */
	const char *cert_file, *key_file, *ca_file; /* ca_file may be NULL or "" */
	tls_auth_t auth;
	int handshake_timeout_ms;
} tls_conf_t;

/* Loads the files (copies conf). Returns an owned context, or NULL with a
 * one-line reason in why. */
tls_ctx_t *tls_ctx_new(const tls_conf_t *conf, char *why, size_t why_len);
/* Reloads the files; on failure the old context stays and why says why.
 * 0 or SL_EINVAL. */
int tls_ctx_reload(tls_ctx_t *t, char *why, size_t why_len);
void tls_ctx_free(tls_ctx_t *t);
int tls_ctx_handshake_timeout_ms(const tls_ctx_t *t);
const char *tls_ctx_name(const tls_ctx_t *t);

/* --- one connection ------------------------------------------------------- */

enum { TLS_AGAIN = -1, TLS_FAIL = -2 };
enum { TLS_WANT_READ = 1, TLS_WANT_WRITE = 2 };

/* A server-side session on a connected socket. NULL on failure. */
tls_ssl_t *tls_ssl_new(tls_ctx_t *t, int fd);
/* Sends close_notify if it can without blocking, then frees. */
void tls_ssl_free(tls_ssl_t *s, int send_close_notify);

/* Advances the handshake: 1 done, TLS_AGAIN (see *want), TLS_FAIL with a
 * reason for the log in why. */
int tls_handshake(tls_ssl_t *s, int *want, char *why, size_t why_len);
/* After the handshake: "TLSv1.3 TLS_AES_256_GCM_SHA384" and whether the
 * kernel encrypts what is sent (kTLS). */
void tls_describe(tls_ssl_t *s, char *out, size_t n);
int tls_ktls_send(tls_ssl_t *s);
/* Input OpenSSL holds that the socket no longer signals: decrypted bytes,
 * or records read ahead past a read that filled its buffer (not the start
 * of a record whose rest is still to come: the socket signals that). */
int tls_pending(tls_ssl_t *s);

/* Reads records until n bytes came or the socket has no more: a short
 * count means the socket is drained (or the stream ended: the next call
 * says so). */
ssize_t tls_read(tls_ssl_t *s, void *p, size_t n, int *want);
/* Writes the iovecs in order, as much as the socket takes. A retry after
 * TLS_AGAIN must start with the same bytes (conn.c's queue keeps them). */
ssize_t tls_writev(tls_ssl_t *s, const struct iovec *iov, int niov, int *want);
/* Sends n bytes of fd from off: with kTLS by SSL_sendfile, else read in
 * 64 KiB pieces and written through OpenSSL until n are sent or the socket
 * is full (a short count, as from sendfile). Returns bytes sent, 0 if the
 * file ended first, or the codes above. */
ssize_t tls_sendfile(tls_ssl_t *s, int fd, off_t off, size_t n, int *want);

#endif

/*
 * tls.c — OpenSSL server contexts and non-blocking TLS I/O (see tls.h).
 * Loop thread only.
 *
 * Context: TLS 1.2 minimum (1.3 preferred by OpenSSL), no renegotiation
 * (a client could otherwise make the server redo expensive work at will,
 * and SSL_write could then want to read), SSL_OP_IGNORE_UNEXPECTED_EOF so a
 * client that closes without close_notify is an ordinary end of stream, a
 * session id context so resumed sessions work with client certificates,
 * and SSL_OP_ENABLE_KTLS: when the kernel has the tls module and the
 * cipher suits it, OpenSSL hands the keys to the kernel after the
 * handshake; sends then are plain socket writes the kernel encrypts, and
 * SSL_sendfile sends file regions without copying them through here.
 *
 * Writes: SSL_MODE_ENABLE_PARTIAL_WRITE (a write returns after each record
 * the socket took, so a full socket costs no buffering here) and
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER (after a write that wanted the socket
 * writable, OpenSSL requires the retry to carry the same bytes; conn.c's
 * queue keeps them at its head, but the buffer holding them may move when
 * a protocol appends to it).
 *
 * Reads: read-ahead with a 64 KiB buffer, and tls_read loops SSL_read
 * until its buffer is full or the socket is drained. Clients write small
 * records (librdkafka one per message part: a 1 KiB value is a 1 KiB
 * record plus a 10-byte one), and one SSL_read returns one record: without
 * both, a produce of 1 KiB records cost two read(2) per record and a loop
 * turn per few records (275,000 reads and 55,000 epoll waits per GB; now
 * 15,000 and 1,000).
 *
 * Without kTLS a file region is read in 64 KiB pieces into a stack buffer
 * with pread and written through SSL_write, piece after piece until the
 * socket is full; a retry after TLS_AGAIN re-reads from the offset of the
 * first byte not sent, so it carries the same bytes as OpenSSL requires.
 */
#include "net/tls.h"

#include "core/err.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define COPY_CHUNK (64 * 1024) /* file bytes read per pread, sent as 4 records */
#define READ_BUF (64 * 1024)   /* OpenSSL's read buffer with read-ahead */

struct tls_ctx {
	SSL_CTX *ctx;
	char *name, *cert_file, *key_file, *ca_file;
	tls_auth_t auth;
	int handshake_timeout_ms;
};

int tls_auth_parse(const char *s, tls_auth_t *out)
{
	if (!s || !*s || !strcasecmp(s, "none") || !strcasecmp(s, "no")) {
		*out = TLS_AUTH_NONE;
		return 0;
	}
	if (!strcasecmp(s, "requested") || !strcasecmp(s, "optional")) {
		*out = TLS_AUTH_REQUESTED;
		return 0;
	}
	if (!strcasecmp(s, "required") || !strcasecmp(s, "yes")) {
		*out = TLS_AUTH_REQUIRED;
		return 0;
	}
	return SL_EINVAL;
}

/* The last OpenSSL error as text, the queue cleared. */
static void ssl_reason(char *why, size_t n, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	if (r)
		snprintf(why, n, "%s: %s", what, r);
	else
		snprintf(why, n, "%s", what);
	ERR_clear_error();
}

static SSL_CTX *build(const tls_ctx_t *t, char *why, size_t why_len)
{
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char what[512];
	if (!ctx) {
		ssl_reason(why, why_len, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_ENABLE_KTLS);
	/* RELEASE_BUFFERS: an idle session keeps no 34 KiB of record
	 * buffers, so ten thousand idle TLS clients stay cheap. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	static const unsigned char sid[] = "sluiced";
	SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
	/* Read ahead: one read(2) takes what the socket holds, up to
	 * READ_BUF, instead of two (header, body) per record: clients send
	 * records of a Kafka message each, down to a few bytes. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, READ_BUF);
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
		snprintf(what, sizeof what, "certificate %s", t->cert_file);
		ssl_reason(why, why_len, what);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
		snprintf(what, sizeof what, "private key %s", t->key_file);
		ssl_reason(why, why_len, what);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof what, "private key %s does not match certificate %s",
		         t->key_file, t->cert_file);
		ssl_reason(why, why_len, what);
		goto fail;
	}
	if (t->auth != TLS_AUTH_NONE) {
		if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
			snprintf(what, sizeof what, "CA file %s", t->ca_file);
			ssl_reason(why, why_len, what);
			goto fail;
		}
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->ca_file);
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		int mode = SSL_VERIFY_PEER;
		if (t->auth == TLS_AUTH_REQUIRED)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static char *dup_or_null(const char *s)
{
	if (!s || !*s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

void tls_ctx_free(tls_ctx_t *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t->name);
	free(t->cert_file);
	free(t->key_file);
	free(t->ca_file);
	free(t);
}

tls_ctx_t *tls_ctx_new(const tls_conf_t *conf, char *why, size_t why_len)
{
	tls_ctx_t *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	t->name = dup_or_null(conf->name ? conf->name : "tls");
	t->cert_file = dup_or_null(conf->cert_file);
	t->key_file = dup_or_null(conf->key_file);
	t->ca_file = dup_or_null(conf->ca_file);
	t->auth = conf->auth;
	t->handshake_timeout_ms =
	    conf->handshake_timeout_ms > 0 ? conf->handshake_timeout_ms : 10000;
	if (!t->cert_file || !t->key_file) {
		snprintf(why, why_len, "a TLS listener needs a certificate and a key file");
		goto fail;
	}
	if (t->auth != TLS_AUTH_NONE && !t->ca_file) {
		snprintf(why, why_len, "client certificates are asked for but no CA file is set");
		goto fail;
	}
	t->ctx = build(t, why, why_len);
	if (!t->ctx)
		goto fail;
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

int tls_ctx_reload(tls_ctx_t *t, char *why, size_t why_len)
{
	SSL_CTX *ctx = build(t, why, why_len);
	if (!ctx)
		return SL_EINVAL;
	/* Sessions already open hold their own reference to the old one. */
	SSL_CTX_free(t->ctx);
	t->ctx = ctx;
	return 0;
}

int tls_ctx_handshake_timeout_ms(const tls_ctx_t *t)
{
	return t->handshake_timeout_ms;
}

const char *tls_ctx_name(const tls_ctx_t *t)
{
	return t->name;
}

/* --- one connection --------------------------------------------------------- */

tls_ssl_t *tls_ssl_new(tls_ctx_t *t, int fd)
{
	ERR_clear_error();
	SSL *s = SSL_new(t->ctx);
	if (!s)
		return NULL;
	if (SSL_set_fd(s, fd) != 1) {
		SSL_free(s);
		return NULL;
	}
	SSL_set_accept_state(s);
	return s;
}

void tls_ssl_free(tls_ssl_t *s, int send_close_notify)
{
	if (!s)
		return;
	if (send_close_notify && SSL_is_init_finished(s))
		(void)SSL_shutdown(s); /* one non-blocking try; the peer may be gone */
	ERR_clear_error();
	SSL_free(s);
}

/* Maps an OpenSSL result to TLS_AGAIN/TLS_FAIL (or 0 for a clean end). */
static int classify(SSL *s, int ret, int *want)
{
	int e = SSL_get_error(s, ret);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		*want = TLS_WANT_READ;
		return TLS_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want = TLS_WANT_WRITE;
		return TLS_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == EAGAIN || errno == EINTR) {
			*want = TLS_WANT_READ;
			return TLS_AGAIN;
		}
		return TLS_FAIL;
	default:
		return TLS_FAIL;
	}
}

int tls_handshake(tls_ssl_t *s, int *want, char *why, size_t why_len)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_do_handshake(s);
	if (r == 1)
		return 1;
	int e = SSL_get_error(s, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want = e == SSL_ERROR_WANT_READ ? TLS_WANT_READ : TLS_WANT_WRITE;
		return TLS_AGAIN;
	}
	if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
		if (errno && errno != EAGAIN)
			snprintf(why, why_len, "%s", strerror(errno));
		else
			snprintf(why, why_len, "the peer closed the connection");
		ERR_clear_error();
	} else {
		ssl_reason(why, why_len, "TLS error");
	}
	return TLS_FAIL;
}

void tls_describe(tls_ssl_t *s, char *out, size_t n)
{
	snprintf(out, n, "%s %s%s", SSL_get_version(s), SSL_get_cipher_name(s),
	         tls_ktls_send(s) ? " (kTLS send)" : "");
}

int tls_ktls_send(tls_ssl_t *s)
{
	return BIO_get_ktls_send(SSL_get_wbio(s)) ? 1 : 0;
}

int tls_pending(tls_ssl_t *s)
{
	if (SSL_pending(s) > 0)
		return 1; /* decrypted bytes not yet taken */
	/* Undecrypted bytes count only if the last read stopped with its
	 * buffer full. After a read that wanted more from the socket they
	 * are the start of a record whose rest the socket will signal: a
	 * client that sends part of a record and waits must not make the
	 * loop read again and again (end-of-turn tasks run until none is
	 * queued, so that spun and starved every other connection). */
	return SSL_has_pending(s) && SSL_want(s) != SSL_READING;
}

ssize_t tls_read(tls_ssl_t *s, void *p, size_t n, int *want)
{
	/* One SSL_read returns one record's bytes at most, and clients write
	 * small records (librdkafka one per message part: 1 KiB values come
	 * as 1 KiB records): keep reading until the buffer is full or the
	 * socket is drained, so a turn's work is not one record. */
	size_t total = 0;
	/* Cleared once: a read that succeeds leaves the queue empty, and
	 * clearing it per record cost 3% of a TLS produce's time. */
	ERR_clear_error();
	while (total < n) {
		errno = 0;
		size_t got = 0;
		int r = SSL_read_ex(s, (char *)p + total, n - total, &got);
		if (r == 1) {
			total += got;
			continue;
		}
		int c = classify(s, r, want);
		if (total > 0 && c != TLS_FAIL)
			break; /* the end of stream or the wait is met by the next call */
		return c;
	}
	return (ssize_t)total;
}

ssize_t tls_writev(tls_ssl_t *s, const struct iovec *iov, int niov, int *want)
{
	size_t total = 0;
	for (int i = 0; i < niov; i++) {
		size_t off = 0;
		while (off < iov[i].iov_len) {
			ERR_clear_error();
			errno = 0;
			size_t put = 0;
			int r = SSL_write_ex(s, (const char *)iov[i].iov_base + off,
			                     iov[i].iov_len - off, &put);
			if (r != 1) {
				int c = classify(s, r, want);
				if (total > 0 && c == TLS_AGAIN)
					return (ssize_t)total;
				return c == 0 ? TLS_FAIL : c;
			}
			off += put;
			total += put;
		}
	}
	return (ssize_t)total;
}

ssize_t tls_sendfile(tls_ssl_t *s, int fd, off_t off, size_t n, int *want)
{
	ERR_clear_error();
	errno = 0;
	if (tls_ktls_send(s)) {
		ossl_ssize_t r = SSL_sendfile(s, fd, off, n, 0);
		if (r >= 0)
			return (ssize_t)r;
		int c = classify(s, (int)r, want);
		return c == 0 ? TLS_FAIL : c;
	}
	/* Piece after piece until n is sent or the socket is full: conn.c
	 * takes a short count as a full socket (as from sendfile) and waits
	 * for it to drain, so returning after one piece would cost a loop
	 * turn and an epoll wakeup per 64 KiB. */
	char tmp[COPY_CHUNK];
	size_t total = 0;
	while (total < n) {
		size_t want_n = n - total < sizeof tmp ? n - total : sizeof tmp;
		ssize_t got;
		do
			got = pread(fd, tmp, want_n, off + (off_t)total);
		while (got < 0 && errno == EINTR);
		if (got <= 0) /* the end of the file, or an error, reported next call */
			return total > 0 ? (ssize_t)total : got == 0 ? 0 : TLS_FAIL;
		/* Records the socket does not take now are read again from
		 * their offset by the retry: the same bytes, as OpenSSL
		 * requires. */
		struct iovec iov = {.iov_base = tmp, .iov_len = (size_t)got};
		ssize_t w = tls_writev(s, &iov, 1, want);
		if (w < 0)
			return total > 0 ? (ssize_t)total : w;
		total += (size_t)w;
		if (w < got)
			break; /* the socket is full */
	}
	return (ssize_t)total;
}

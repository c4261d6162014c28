/*
 * test_tls.c — unit tests for net/tls.c and the TLS path of net/conn.c,
 * over socketpairs with an OpenSSL client driven from the test thread: a
 * round trip with a reply larger than many records, plaintext on a TLS
 * connection, a handshake that never finishes, and context loading and
 * reloading. The certificate is made here (EC P-256, self-signed) in the
 * test's own directory.
 */
#include "test.h"

#include "tproto.h"

#include "core/err.h"
#include "net/conn.h"
#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

/* Writes cert.pem and key.pem (self-signed, CN=test) to the cwd. */
static void make_cert(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	CHECK(k != NULL);
	X509 *x = X509_new();
	CHECK(x != NULL);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, n);
	CHECK(X509_sign(x, k, EVP_sha256()) > 0);
	FILE *f = fopen("cert.pem", "w");
	CHECK(f && PEM_write_X509(f, x) == 1);
	fclose(f);
	f = fopen("key.pem", "w");
	CHECK(f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
}

static tls_ctx_t *server_ctx(int timeout_ms)
{
	make_cert();
	tls_conf_t conf = {.name = "test",
	                   .cert_file = "cert.pem",
	                   .key_file = "key.pem",
	                   .handshake_timeout_ms = timeout_ms};
	char why[256] = "";
	tls_ctx_t *t = tls_ctx_new(&conf, why, sizeof why);
	CHECK_MSG(t != NULL, "%s", why);
	return t;
}

typedef struct tclient {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
} tclient_t;

/* A server connection on one end of a socketpair, a client SSL on the
 * other (non-blocking, certificate not verified: this tests transport). */
static conn_t *pair(loop_t *loop, tsrv_t *s, tls_ctx_t *t, tclient_t *cl)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	conn_t *c = conn_new_tls(loop, sv[0], &tproto, s, NULL, t, "tls");
	CHECK(c != NULL);
	cl->fd = sv[1];
	cl->ctx = SSL_CTX_new(TLS_client_method());
	CHECK(cl->ctx != NULL);
	cl->ssl = SSL_new(cl->ctx);
	SSL_set_fd(cl->ssl, cl->fd);
	SSL_set_connect_state(cl->ssl);
	return c;
}

static void client_free(tclient_t *cl)
{
	SSL_free(cl->ssl);
	SSL_CTX_free(cl->ctx);
	close(cl->fd);
}

static int retry(SSL *ssl, int r)
{
	int e = SSL_get_error(ssl, r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

static void client_handshake(loop_t *loop, tclient_t *cl)
{
	for (int i = 0; i < 2000; i++) {
		int r = SSL_do_handshake(cl->ssl);
		if (r == 1)
			return;
		CHECK_MSG(retry(cl->ssl, r), "client handshake failed: %d",
		          SSL_get_error(cl->ssl, r));
		loop_run_once(loop, 10);
	}
	CHECK_MSG(0, "handshake did not finish");
}

static void client_write(loop_t *loop, tclient_t *cl, const char *p)
{
	size_t n = strlen(p), off = 0;
	for (int i = 0; off < n && i < 2000; i++) {
		size_t w = 0;
		int r = SSL_write_ex(cl->ssl, p + off, n - off, &w);
		if (r == 1)
			off += w;
		else
			CHECK_MSG(retry(cl->ssl, r), "client write failed");
		loop_run_once(loop, 0);
	}
	CHECK_EQ(off, n);
}

/* Reads until out holds n bytes. */
static void client_read(loop_t *loop, tclient_t *cl, buf_t *out, size_t n)
{
	char tmp[16384];
	for (int i = 0; buf_len(out) < n && i < 20000; i++) {
		size_t got = 0;
		int r = SSL_read_ex(cl->ssl, tmp, sizeof tmp, &got);
		if (r == 1) {
			buf_append(out, tmp, got);
			continue;
		}
		CHECK_MSG(retry(cl->ssl, r), "client read failed: %d", SSL_get_error(cl->ssl, r));
		loop_run_once(loop, 1);
	}
	CHECK_EQ(buf_len(out), n);
}

TEST(tls_round_trip_with_a_reply_of_many_records)
{
	loop_t *loop = loop_new(NULL);
	tls_ctx_t *t = server_ctx(5000);
	tsrv_t s = {0};
	tclient_t cl;
	conn_t *c = pair(loop, &s, t, &cl);
	CHECK(conn_is_tls(c));
	CHECK(strcmp(conn_listener(c), "tls") == 0);
	CHECK_EQ(s.opens, 1);
	client_handshake(loop, &cl);
	client_write(loop, &cl, "hello\nbig 300000\n");
	buf_t out = BUF_INIT;
	client_read(loop, &cl, &out, 6 + 300000);
	CHECK(memcmp(buf_data(&out), "hello\n", 6) == 0);
	for (size_t j = 0; j < 300000; j++)
		if (buf_data(&out)[6 + j] != tproto_pattern(1, j))
			CHECK_MSG(0, "byte %zu differs", j);
	CHECK_EQ(s.requests, 2);
	buf_deinit(&out);
	client_write(loop, &cl, "quit\n");
	out = (buf_t)BUF_INIT;
	client_read(loop, &cl, &out, 4);
	CHECK(memcmp(buf_data(&out), "bye\n", 4) == 0);
	for (int i = 0; i < 200 && s.closes == 0; i++)
		loop_run_once(loop, 10);
	CHECK_EQ(s.closes, 1);
	buf_deinit(&out);
	client_free(&cl);
	tls_ctx_free(t);
	loop_free(loop);
}

TEST(tls_plaintext_client_is_closed_without_input)
{
	loop_t *loop = loop_new(NULL);
	tls_ctx_t *t = server_ctx(5000);
	tsrv_t s = {0};
	tclient_t cl;
	pair(loop, &s, t, &cl);
	CHECK(write(cl.fd, "PING\r\n", 6) == 6);
	for (int i = 0; i < 500 && s.closes == 0; i++)
		loop_run_once(loop, 10);
	CHECK_EQ(s.closes, 1);
	CHECK_EQ(s.requests, 0); /* the bytes never reached the protocol */
	client_free(&cl);
	tls_ctx_free(t);
	loop_free(loop);
}

TEST(tls_handshake_that_never_finishes_times_out)
{
	loop_t *loop = loop_new(NULL);
	tls_ctx_t *t = server_ctx(100);
	tsrv_t s = {0};
	tclient_t cl;
	pair(loop, &s, t, &cl);
	for (int i = 0; i < 500 && s.closes == 0; i++)
		loop_run_once(loop, 10);
	CHECK_EQ(s.closes, 1);
	char b;
	CHECK(read(cl.fd, &b, 1) == 0); /* the server closed its end */
	client_free(&cl);
	tls_ctx_free(t);
	loop_free(loop);
}

TEST(tls_context_errors_and_reload)
{
	tls_auth_t a;
	CHECK(tls_auth_parse("required", &a) == 0 && a == TLS_AUTH_REQUIRED);
	CHECK(tls_auth_parse("yes", &a) == 0 && a == TLS_AUTH_REQUIRED);
	CHECK(tls_auth_parse("optional", &a) == 0 && a == TLS_AUTH_REQUESTED);
	CHECK(tls_auth_parse("", &a) == 0 && a == TLS_AUTH_NONE);
	CHECK(tls_auth_parse("maybe", &a) == SL_EINVAL);
	char why[256];
	tls_conf_t conf = {.name = "x", .cert_file = "missing.pem", .key_file = "key.pem"};
	CHECK(tls_ctx_new(&conf, why, sizeof why) == NULL);
	CHECK_MSG(strstr(why, "missing.pem") != NULL, "%s", why);
	tls_ctx_t *t = server_ctx(1000);
	conf =
	    (tls_conf_t){.cert_file = "cert.pem", .key_file = "key.pem", .auth = TLS_AUTH_REQUIRED};
	CHECK(tls_ctx_new(&conf, why, sizeof why) == NULL);
	CHECK_MSG(strstr(why, "no CA file") != NULL, "%s", why);
	CHECK(tls_ctx_reload(t, why, sizeof why) == 0);
	FILE *f = fopen("cert.pem", "w");
	fputs("garbage\n", f);
	fclose(f);
	CHECK(tls_ctx_reload(t, why, sizeof why) == SL_EINVAL);
	CHECK_MSG(strstr(why, "cert.pem") != NULL, "%s", why);
	/* The old context still serves. */
	loop_t *loop = loop_new(NULL);
	tsrv_t s = {0};
	tclient_t cl;
	pair(loop, &s, t, &cl);
	client_handshake(loop, &cl);
	client_free(&cl);
	loop_run_once(loop, 10);
	tls_ctx_free(t);
	loop_free(loop);
}

/*
 * resp_client.h — the smallest blocking RESP2 client the delay queue and
 * the sluice tool need: connect (optionally over TLS), AUTH (password, or
 * user and password), SET key value NX EX ttl for de-duplication, and one
 * command with its reply as text (`sluice users`).
 *
 * One handle per thread (not locked). Works against Redis and sluiced's
 * RESP port alike.
 */
#ifndef SL_LIB_RESP_CLIENT_H
#define SL_LIB_RESP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct lib_resp lib_resp;

/* Connects to "host:port" and, when password is not empty, sends AUTH.
 * timeout_ms bounds the connect and every reply. NULL with sl_last_error()
 * and *err (SL_EREMOTE when AUTH was refused, else SL_EIO, SL_ETIMEDOUT…)
 * set on failure. */
lib_resp *lib_resp_connect(const char *addr, const char *password, int timeout_ms, int *err);

typedef struct lib_resp_opts {
	const char *user;     /* NULL or "": AUTH with the password alone */
	const char *password; /* NULL or "": no AUTH */
	int tls;              /* TLS, verifying the server against ca_file */
	const char *ca_file;  /* NULL or "": the system's CAs */
} lib_resp_opts;
/* lib_resp_connect with a user (AUTH user password, Redis 6 ACL users) and
 * TLS. */
lib_resp *lib_resp_connect_opts(const char *addr, const lib_resp_opts *o, int timeout_ms, int *err);

/* Runs one command; *text (malloc'd, owned by the caller) is its reply as
 * text: a string or integer as is, an array's elements one per line, a
 * null as "". 0, SL_EREMOTE for an error reply (text in sl_last_error()),
 * other negatives with the connection closed. Replies up to 16 MiB. */
int lib_resp_command(lib_resp *r, int argc, const char *const *argv, char **text);
void lib_resp_close(lib_resp *r);

/* SET key value NX EX ttl_s: 1 when the key was set, 0 when it already
 * existed, negative on failure (SL_EREMOTE for an error reply; an I/O
 * failure closes the connection, later calls return SL_ECLOSED). */
int lib_resp_set_nx_ex(lib_resp *r, const char *key, const char *value, int64_t ttl_s);

#endif

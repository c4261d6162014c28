/*
 * resp_client.h — the smallest blocking RESP2 client the delay queue needs:
 * connect, AUTH, and SET key value NX EX ttl for de-duplication.
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
void lib_resp_close(lib_resp *r);

/* SET key value NX EX ttl_s: 1 when the key was set, 0 when it already
 * existed, negative on failure (SL_EREMOTE for an error reply; an I/O
 * failure closes the connection, later calls return SL_ECLOSED). */
int lib_resp_set_nx_ex(lib_resp *r, const char *key, const char *value, int64_t ttl_s);

#endif

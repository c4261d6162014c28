/*
 * resp_client.c — blocking RESP2 client for the delay queue's de-duplication
 * (see resp_client.h). Commands go out as RESP arrays of bulk strings, so
 * keys and values may hold any byte; replies read are simple strings,
 * errors, integers and bulk strings (null included), all that SET and AUTH
 * answer.
 */
#include "resp_client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netio.h"

struct lib_resp {
	lib_conn conn;
	int io_ms;
};

/* The longest reply line read (an error text from the server). */
#define LINE_CAP 1024

static int closed(lib_resp *r, int rc)
{
	lib_net_close(&r->conn);
	return rc;
}

/* Sends argv as a RESP array. */
static int send_cmd(lib_resp *r, int argc, const char *const *argv, int64_t deadline)
{
	char head[64];
	struct iovec iov[3];
	int rc = 0;
	snprintf(head, sizeof head, "*%d\r\n", argc);
	iov[0] = (struct iovec){head, strlen(head)};
	if ((rc = lib_net_writev(&r->conn, iov, 1, deadline)))
		return rc;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		snprintf(head, sizeof head, "$%zu\r\n", n);
		iov[0] = (struct iovec){head, strlen(head)};
		iov[1] = (struct iovec){(void *)argv[i], n};
		iov[2] = (struct iovec){"\r\n", 2};
		if ((rc = lib_net_writev(&r->conn, iov, 3, deadline)))
			return rc;
	}
	return 0;
}

/* Reads one reply. Returns 1 for +OK-like replies, integers and non-null
 * bulk strings, 0 for a null reply, SL_EREMOTE for an error reply (text in
 * sl_last_error()), other negatives with the connection closed. */
static int read_reply(lib_resp *r, const char *cmd, int64_t deadline)
{
	char line[LINE_CAP];
	int n = lib_net_read_line(&r->conn, line, sizeof line, deadline);
	if (n < 0)
		return closed(r, n);
	switch (line[0]) {
	case '+':
	case ':':
		return 1;
	case '_': /* a RESP3 null, should the server speak it */
		return 0;
	case '-':
		return lib_err(SL_EREMOTE, "%s: %.400s", cmd, line + 1);
	case '$': {
		char *end;
		long long len = strtoll(line + 1, &end, 10);
		if (*end || end == line + 1 || len < -1 || len > 1 << 20)
			break;
		if (len == -1)
			return 0;
		/* The value itself is not needed: read it away in pieces. */
		size_t left = (size_t)len + 2;
		char sink[256];
		while (left) {
			size_t take = left < sizeof sink ? left : sizeof sink;
			int rc = lib_net_read_exact(&r->conn, sink, take, deadline);
			if (rc)
				return closed(r, rc);
			left -= take;
		}
		return 1;
	}
	default:
		break;
	}
	return closed(r, lib_err(SL_EPROTO, "%s: unexpected reply \"%.100s\"", cmd, line));
}

static int call(lib_resp *r, const char *cmd, int argc, const char *const *argv)
{
	if (r->conn.fd < 0)
		return lib_err(SL_ECLOSED, "%s: connection is closed", cmd);
	int64_t deadline = lib_net_deadline(r->io_ms);
	int rc = send_cmd(r, argc, argv, deadline);
	if (rc)
		return closed(r, rc);
	return read_reply(r, cmd, deadline);
}

lib_resp *lib_resp_connect(const char *addr, const char *password, int timeout_ms, int *err)
{
	lib_resp_opts o = {.password = password};
	return lib_resp_connect_opts(addr, &o, timeout_ms, err);
}

lib_resp *lib_resp_connect_opts(const char *addr, const lib_resp_opts *o, int timeout_ms, int *err)
{
	lib_resp *r = malloc(sizeof *r);
	if (!r) {
		*err = lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	r->io_ms = timeout_ms > 0 ? timeout_ms : 5000;
	int rc = o->tls ? lib_net_open_tls(&r->conn, addr, o->ca_file, r->io_ms)
	                : lib_net_open(&r->conn, addr, r->io_ms);
	if (rc) {
		free(r);
		*err = rc;
		return NULL;
	}
	if (o->password && *o->password) {
		int with_user = o->user && *o->user;
		const char *argv[] = {"AUTH", with_user ? o->user : o->password, o->password};
		if ((rc = call(r, "AUTH", with_user ? 3 : 2, argv)) < 0) {
			lib_resp_close(r);
			*err = rc;
			return NULL;
		}
	}
	return r;
}

void lib_resp_close(lib_resp *r)
{
	if (!r)
		return;
	lib_net_close(&r->conn);
	free(r);
}

int lib_resp_set_nx_ex(lib_resp *r, const char *key, const char *value, int64_t ttl_s)
{
	char ttl[24];
	snprintf(ttl, sizeof ttl, "%" PRId64, ttl_s);
	const char *argv[] = {"SET", key, value, "NX", "EX", ttl};
	return call(r, "SET", 6, argv);
}

/* --- one command, its reply as text ------------------------------------------------ */

#define TEXT_MAX (16u << 20)

typedef struct text_buf {
	char *p;
	size_t n, cap;
} text_buf;

static int text_add(text_buf *t, const char *p, size_t n)
{
	if (t->n + n + 2 > TEXT_MAX)
		return lib_err(SL_ETOOBIG, "reply larger than %u bytes", TEXT_MAX);
	if (t->n + n + 2 > t->cap) {
		size_t cap = (t->n + n + 2) * 2;
		char *q = realloc(t->p, cap);
		if (!q)
			return lib_err(SL_ENOMEM, "out of memory");
		t->p = q;
		t->cap = cap;
	}
	memcpy(t->p + t->n, p, n);
	t->n += n;
	t->p[t->n] = 0;
	return 0;
}

/* Appends one reply (arrays flattened, one element per line). */
static int read_text(lib_resp *r, text_buf *t, int depth, int64_t deadline)
{
	char line[LINE_CAP];
	int n = lib_net_read_line(&r->conn, line, sizeof line, deadline);
	if (n < 0)
		return closed(r, n);
	char *end;
	long long len = strtoll(line + 1, &end, 10);
	switch (line[0]) {
	case '+':
	case ':':
		return text_add(t, line + 1, (size_t)n - 1);
	case '-':
		return lib_err(SL_EREMOTE, "%.400s", line + 1);
	case '$':
		if (*end || len < -1 || len > (long long)TEXT_MAX)
			break;
		if (len >= 0) {
			char *v = malloc((size_t)len + 2);
			if (!v)
				return closed(r, lib_err(SL_ENOMEM, "out of memory"));
			int rc = lib_net_read_exact(&r->conn, v, (size_t)len + 2, deadline);
			if (rc == 0)
				rc = text_add(t, v, (size_t)len);
			free(v);
			if (rc)
				return closed(r, rc);
		}
		return 0;
	case '*':
		if (*end || len < -1 || len > 1 << 24 || depth > 8)
			break;
		for (long long i = 0; i < len; i++) {
			int rc = i ? text_add(t, "\n", 1) : 0;
			if (rc == 0)
				rc = read_text(r, t, depth + 1, deadline);
			if (rc)
				return rc == SL_EREMOTE ? rc : closed(r, rc);
		}
		return 0;
	default:
		break;
	}
	return closed(r, lib_err(SL_EPROTO, "unexpected reply \"%.100s\"", line));
}

int lib_resp_command(lib_resp *r, int argc, const char *const *argv, char **text)
{
	*text = NULL;
	if (r->conn.fd < 0)
		return lib_err(SL_ECLOSED, "%s: connection is closed", argv[0]);
	int64_t deadline = lib_net_deadline(r->io_ms);
	int rc = send_cmd(r, argc, argv, deadline);
	if (rc)
		return closed(r, rc);
	text_buf t = {0};
	rc = text_add(&t, "", 0);
	if (rc == 0)
		rc = read_text(r, &t, 0, deadline);
	if (rc) {
		free(t.p);
		return rc;
	}
	*text = t.p;
	return 0;
}

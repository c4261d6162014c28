/*
 * auth.c — HTTP authentication: an admin token (Authorization: Bearer) or
 * a user and password (Authorization: Basic), configured with
 * http.auth.token, http.auth.user and http.auth.password.
 *
 * What needs it (front.c decides per route): everything but GET /health,
 * the minimal /status and, unless http.metrics.auth is set, /metrics
 * (Prometheus scrapers are usually configured without credentials; the
 * metrics carry counts, never data or paths). With no credentials
 * configured nothing is asked for, as before: the listener binds loopback
 * by default.
 *
 * Comparison is constant-time and hides the length: both sides are
 * hashed with SHA-256 and the digests compared with CRYPTO_memcmp, so the
 * time a wrong guess takes says nothing about how much of it was right.
 * Failed logins are rate-limited and logged through the broker's user
 * database (users_may_try / users_login_result, as Kafka SASL and Redis
 * AUTH are): per user name (Basic's, or "(token)" for a bearer token) and
 * peer host, after a few free failures each further one locks that pair
 * out for a growing while, during which even the right credentials are
 * refused; the log line has the user and the peer, never what was sent.
 * Loop thread only.
 */
#include "http/http.h"

#include "broker/users.h"
#include "core/log.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Whether a and b are equal, in time independent of where they differ
 * and of their lengths. */
static int ct_equal(const void *a, size_t an, const void *b, size_t bn)
{
	unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
	unsigned int la = 0, lb = 0;
	if (EVP_Digest(a, an, da, &la, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(b, bn, db, &lb, EVP_sha256(), NULL) != 1 || la != lb)
		return 0;
	return CRYPTO_memcmp(da, db, la) == 0;
}

int http_auth_configured(const http_srv_t *h)
{
	const sl_config_t *c = h->b->cfg;
	return (c->http_auth_token && *c->http_auth_token) ||
	       (c->http_auth_password && *c->http_auth_password);
}

/* Bearer TOKEN against http.auth.token. */
static int bearer_ok(const sl_config_t *c, const char *v, size_t n)
{
	if (!c->http_auth_token || !*c->http_auth_token)
		return 0;
	return ct_equal(v, n, c->http_auth_token, strlen(c->http_auth_token));
}

/* Basic base64(user:password) against http.auth.user/password; the user
 * name sent goes to who (truncated to whon - 1 bytes) for the rate limit. */
static int basic_ok(const sl_config_t *c, const char *v, size_t n, char *who, size_t whon)
{
	if (n == 0 || n > 1024 || n % 4)
		return 0;
	unsigned char dec[1024];
	int dn = EVP_DecodeBlock(dec, (const unsigned char *)v, (int)n);
	if (dn < 0)
		return 0;
	/* DecodeBlock counts the '=' padding as zero bytes. */
	if (n >= 1 && v[n - 1] == '=')
		dn--;
	if (n >= 2 && v[n - 2] == '=')
		dn--;
	const unsigned char *colon = memchr(dec, ':', (size_t)dn);
	size_t un = colon ? (size_t)(colon - dec) : 0;
	snprintf(who, whon, "%.*s", (int)(un < whon ? un : whon - 1), (const char *)dec);
	if (!c->http_auth_password || !*c->http_auth_password)
		return 0;
	char want[1100];
	int wn = snprintf(want, sizeof want, "%s:%s", c->http_auth_user ? c->http_auth_user : "",
	                  c->http_auth_password);
	if (wn < 0 || (size_t)wn >= sizeof want)
		return 0;
	return ct_equal(dec, (size_t)dn, want, (size_t)wn);
}

int http_auth_ok(const http_req_t *r)
{
	const http_srv_t *h = r->h;
	if (!http_auth_configured(h))
		return 1;
	if (!r->authz)
		return 0;
	const char *v = r->authz;
	size_t n = r->authz_len;
	const sl_config_t *c = h->b->cfg;
	users_t *u = h->b->users;
	const char *mech = "http";
	char who[USERS_NAME_MAX / 4] = "(token)";
	int ok = 0, basic = n > 6 && strncasecmp(v, "Basic ", 6) == 0;
	if (basic) {
		mech = "http-basic";
		who[0] = 0;
		ok = basic_ok(c, v + 6, n - 6, who, sizeof who);
	} else if (n > 7 && strncasecmp(v, "Bearer ", 7) == 0) {
		mech = "http-token";
		ok = bearer_ok(c, v + 7, n - 7);
	}
	/* The lock is checked after the comparison so that a locked request
	 * takes the same time as any other. */
	size_t wn = strlen(who);
	if (u && users_may_try(u, who, wn, r->c->peer) < 0)
		ok = 0, mech = "locked";
	if (u)
		users_login_result(u, who, wn, ok, mech, r->c->peer);
	else if (!ok)
		log_info(h->b->log, "http: %s: authentication failed for %s %s", r->c->peer,
		         r->method, r->path);
	return ok;
}

void http_auth_required(http_req_t *r)
{
	static const char hdrs[] =
	    "WWW-Authenticate: Basic realm=\"sluice\", charset=\"UTF-8\"\r\n";
	static const char body[] =
	    "{\"error\":{\"status\":401,\"message\":\"authentication required: "
	    "Authorization: Bearer <http.auth.token> or Basic\"}}\n";
	http_reply_hdrs(r, 401, "application/json", hdrs, body, sizeof body - 1);
}

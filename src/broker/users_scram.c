/*
 * users_scram.c — the server side of a SCRAM exchange (RFC 5802, RFC 7677
 * for SHA-256; SHA-512 as Kafka's KIP-84), protocol-neutral: Kafka's
 * SaslAuthenticate carries these messages, others could.
 *
 *   client-first  n,[a=authzid],n=USER,r=CNONCE[,ext...]
 *   server-first  r=CNONCE SNONCE,s=base64(salt),i=ITER
 *   client-final  c=base64(gs2 header),r=NONCE,p=base64(ClientProof)
 *   server-final  v=base64(ServerSignature)
 *
 * AuthMessage = client-first-bare "," server-first "," client-final
 * without ",p=...". The proof is checked as the RFC says: ClientKey =
 * proof XOR HMAC(StoredKey, AuthMessage), then H(ClientKey) must equal
 * StoredKey (compared in constant time). An unknown user gets a salt made
 * up from the name (stable across attempts, so probing the salt tells
 * nothing) and fails at the final step like a wrong password. Channel
 * binding is not offered ("n" or "y" gs2 flags only).
 * Loop thread only.
 */
#include "broker/users.h"

#include "core/err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scram_srv_init(scram_srv_t *s, int mech)
{
	memset(s, 0, sizeof *s);
	s->mech = mech;
}

void scram_srv_deinit(scram_srv_t *s)
{
	free(s->user);
	free(s->client_first_bare);
	free(s->server_first);
	free(s->nonce);
	OPENSSL_cleanse(&s->cred, sizeof s->cred);
	memset(s, 0, sizeof *s);
}

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static char *b64(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	if (!s)
		abort();
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* Decodes base64 s[0..n) into out (room for cap bytes); returns the length
 * or -1. */
static int unb64(const char *s, size_t n, uint8_t *out, size_t cap)
{
	if (n % 4 || n / 4 * 3 > cap)
		return -1;
	int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (len < 0)
		return -1;
	if (n >= 1 && s[n - 1] == '=')
		len--;
	if (n >= 2 && s[n - 2] == '=')
		len--;
	return len;
}

/* Finds attribute `k=` among the comma-separated fields of p[0..n) and
 * sets v and vn to its value. */
static int attr(const char *p, size_t n, char k, const char **v, size_t *vn)
{
	size_t i = 0;
	while (i < n) {
		const char *f = p + i;
		const char *e = memchr(f, ',', n - i);
		size_t fl = e ? (size_t)(e - f) : n - i;
		if (fl >= 2 && f[0] == k && f[1] == '=') {
			*v = f + 2;
			*vn = fl - 2;
			return 1;
		}
		i += fl + 1;
	}
	return 0;
}

/* saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed. */
static char *unescape_name(const char *p, size_t n, size_t *outn)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '=') {
			s[k++] = p[i];
			continue;
		}
		if (i + 2 < n + 0 && !memcmp(p + i, "=2C", 3))
			s[k++] = ',';
		else if (i + 2 < n && !memcmp(p + i, "=3D", 3))
			s[k++] = '=';
		else {
			free(s);
			return NULL;
		}
		i += 2;
	}
	s[k] = 0;
	*outn = k;
	return s;
}

int scram_srv_first(scram_srv_t *s, users_t *u, const char *peer, const char *msg, size_t n,
                    char **out, size_t *outn)
{
	*out = NULL;
	if (s->step != 0 || n < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
		return SL_EPROTO;
	/* gs2 header: flag "," [authzid] "," */
	const char *c2 = memchr(msg + 2, ',', n - 2);
	if (!c2)
		return SL_EPROTO;
	const char *bare = c2 + 1;
	size_t baren = n - (size_t)(bare - msg);
	const char *nv, *rv;
	size_t nn, rn;
	if (baren < 2 || bare[0] != 'n' || bare[1] != '=' || !attr(bare, baren, 'n', &nv, &nn) ||
	    !attr(bare, baren, 'r', &rv, &rn) || rn == 0 || memchr(rv, 0, rn))
		return SL_EPROTO;
	size_t ulen = 0;
	char *user = unescape_name(nv, nn, &ulen);
	if (!user)
		return SL_EPROTO;
	s->user = user;
	s->user_len = ulen;
	s->client_first_bare = dupn(bare, baren);
	const user_t *x = users_find(u, user, ulen);
	if (x && x->scram[s->mech].set && users_may_try(u, user, ulen, peer) == 0) {
		s->cred = x->scram[s->mech];
		s->known = 1;
	} else {
		/* A stable made-up salt for unknown users. */
		uint8_t h[USERS_HASH_MAX];
		users_hash(s->mech, user, ulen, h);
		s->cred.salt_len = 32;
		memcpy(s->cred.salt, h, 32);
		s->cred.iterations = USERS_ITER_DEFAULT;
	}
	uint8_t rnd[18];
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return SL_ENOMEM;
	char *snonce = b64(rnd, sizeof rnd);
	size_t nl = rn + strlen(snonce);
	s->nonce = malloc(nl + 1);
	if (!s->nonce)
		abort();
	memcpy(s->nonce, rv, rn);
	strcpy(s->nonce + rn, snonce);
	free(snonce);
	char *salt = b64(s->cred.salt, s->cred.salt_len);
	size_t sfn = nl + strlen(salt) + 32;
	s->server_first = malloc(sfn);
	if (!s->server_first)
		abort();
	snprintf(s->server_first, sfn, "r=%s,s=%s,i=%d", s->nonce, salt, (int)s->cred.iterations);
	free(salt);
	*out = dupn(s->server_first, strlen(s->server_first));
	*outn = strlen(*out);
	s->step = 1;
	return 0;
}

int scram_srv_final(scram_srv_t *s, const char *msg, size_t n, char **out, size_t *outn)
{
	*out = NULL;
	if (s->step != 1)
		return SL_EPROTO;
	s->step = 2;
	/* The proof is the last attribute; everything before ",p=" is signed. */
	const char *p = NULL;
	for (size_t i = n; i >= 3; i--)
		if (!memcmp(msg + i - 3, ",p=", 3)) {
			p = msg + i - 3;
			break;
		}
	const char *rv;
	size_t rn;
	if (!p || !attr(msg, (size_t)(p - msg), 'r', &rv, &rn))
		return SL_EPROTO;
	size_t wo = (size_t)(p - msg);
	const char *pv = p + 3;
	size_t pn = n - wo - 3;
	size_t hl = users_mech_hash_len(s->mech);
	uint8_t proof[USERS_HASH_MAX + 3];
	if (unb64(pv, pn, proof, sizeof proof) != (int)hl)
		return SL_EPROTO;
	/* librdkafka (through 2.x) sends the client nonce twice: r=CNONCE
	 * followed by the server's whole nonce. Kafka accepts any nonce that
	 * ends with the server's (ScramSaslServer), and so does sluice; the
	 * proof covers the message as sent either way. */
	size_t sn = strlen(s->nonce);
	int nonce_ok = rn >= sn && !memcmp(rv + rn - sn, s->nonce, sn);
	size_t am_len = strlen(s->client_first_bare) + 1 + strlen(s->server_first) + 1 + wo;
	char *am = malloc(am_len + 1);
	if (!am)
		abort();
	snprintf(am, am_len + 1, "%s,%s,", s->client_first_bare, s->server_first);
	memcpy(am + am_len - wo, msg, wo);
	uint8_t sig[USERS_HASH_MAX], key[USERS_HASH_MAX], h[USERS_HASH_MAX];
	users_hmac(s->mech, s->cred.stored_key, hl, am, am_len, sig);
	for (size_t i = 0; i < hl; i++)
		key[i] = proof[i] ^ sig[i];
	users_hash(s->mech, key, hl, h);
	int ok = s->known && nonce_ok && CRYPTO_memcmp(h, s->cred.stored_key, hl) == 0;
	int rc = SL_EINVAL;
	if (ok) {
		users_hmac(s->mech, s->cred.server_key, hl, am, am_len, sig);
		char *v = b64(sig, hl);
		size_t vn = strlen(v) + 3;
		*out = malloc(vn);
		if (!*out)
			abort();
		snprintf(*out, vn, "v=%s", v);
		*outn = vn - 1;
		free(v);
		rc = 0;
	}
	OPENSSL_cleanse(key, sizeof key);
	free(am);
	return rc;
}

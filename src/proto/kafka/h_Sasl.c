/*
 * h_Sasl.c — SASL authentication on the Kafka listener: SaslHandshake
 * (key 17, v0–1), SaslAuthenticate (key 36, v0–2), the listener's security
 * protocol, and the gate that keeps unauthenticated clients out.
 *
 * Listener protocols are Kafka's names: PLAINTEXT and SSL need no login;
 * SASL_PLAINTEXT and SASL_SSL do. The transport (TLS for SSL/SASL_SSL) is
 * the net layer's business: this file only reads whether the listener asks
 * for SASL (kafka_sasl_parse_protocol), so a TLS transport under it changes
 * nothing here.
 *
 * On a SASL listener a connection starts unauthenticated: ApiVersions and
 * SaslHandshake are served, SaslAuthenticate once a mechanism was chosen;
 * anything else closes the connection, as Kafka does. SaslHandshake v0
 * (kafka-python 2.0) switches the connection to raw tokens: the next
 * frames are bare SASL messages (4-byte length + bytes, no Kafka header)
 * answered the same way, and a failed login closes the connection. With
 * v1, tokens travel in SaslAuthenticate, and a failure is answered with
 * SASL_AUTHENTICATION_FAILED and Kafka's message, then the connection is
 * closed after the reply is sent.
 *
 * Mechanisms: PLAIN (RFC 4616: authzid NUL user NUL password; an authzid
 * other than the user is refused), SCRAM-SHA-256 and SCRAM-SHA-512
 * (broker/users.h runs the exchange against the one user database).
 * Loop thread only.
 */
#include "broker/users.h"
#include "proto/kafka/kafka.h"

#include <stdlib.h>
#include <string.h>

#define MECH_NONE (-1)
#define MECH_PLAIN 2 /* after the two SCRAM mechanisms of users.h */

#define KERR_UNSUPPORTED_SASL_MECHANISM 33
#define KERR_ILLEGAL_SASL_STATE 34
#define KERR_SASL_AUTHENTICATION_FAILED 58

struct kafka_sasl {
	int mech; /* MECH_NONE until a handshake chose one */
	int raw;  /* SaslHandshake v0: frames are bare tokens */
	int authed;
	scram_srv_t scram;
	char *principal; /* the authenticated user */
};

static const char *mech_name(int m)
{
	return m == MECH_PLAIN ? "PLAIN" : users_mech_name(m);
}

static int mech_from_name(const char *s, size_t n)
{
	if (n == 5 && !memcmp(s, "PLAIN", 5))
		return MECH_PLAIN;
	return users_mech_from_name(s, n);
}

int kafka_sasl_parse_protocol(const char *s, int *sasl, int *tls)
{
	static const struct {
		const char *name;
		int sasl, tls;
	} p[] = {{"PLAINTEXT", 0, 0}, {"SSL", 0, 1}, {"SASL_PLAINTEXT", 1, 0}, {"SASL_SSL", 1, 1}};
	for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
		if (!strcmp(s, p[i].name)) {
			*sasl = p[i].sasl;
			*tls = p[i].tls;
			return 0;
		}
	return SL_EINVAL;
}

unsigned kafka_sasl_parse_mechanisms(const char *s)
{
	unsigned mask = 0;
	while (*s) {
		size_t n = strcspn(s, ", ");
		int m = mech_from_name(s, n);
		if (n && m < 0)
			return 0;
		if (n)
			mask |= 1u << m;
		s += n;
		s += strspn(s, ", ");
	}
	return mask;
}

kafka_sasl_t *kafka_sasl_new(void)
{
	kafka_sasl_t *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->mech = MECH_NONE;
	return s;
}

void kafka_sasl_free(kafka_sasl_t *s)
{
	if (!s)
		return;
	scram_srv_deinit(&s->scram);
	free(s->principal);
	free(s);
}

const char *kafka_sasl_principal(const kafka_sasl_t *s)
{
	return s && s->authed ? s->principal : NULL;
}

static kafka_sasl_t *conn_sasl(kreq_t *rq)
{
	return rq->c && rq->c->pdata ? ((kafka_conn_t *)rq->c->pdata)->sasl : NULL;
}

/* Runs one client token. Sets *reply (malloc'd, may be NULL for empty) and
 * returns 0 to continue (not yet done or done: s->authed), SL_EINVAL for
 * failed credentials, SL_EPROTO for a malformed token. *msg: Kafka's
 * message for a failure. */
static int step(kafka_sasl_t *s, kafka_srv_t *srv, conn_t *c, const char *tok, size_t n,
                char **reply, size_t *replyn, const char **msg)
{
	users_t *u = srv->b->users;
	const char *peer = c ? c->peer : "-";
	*reply = NULL;
	*replyn = 0;
	*msg = NULL;
	if (s->authed)
		return SL_EPROTO;
	if (s->mech == MECH_PLAIN) {
		const char *a = memchr(tok, 0, n);
		const char *b = a ? memchr(a + 1, 0, n - (size_t)(a + 1 - tok)) : NULL;
		if (!b)
			return SL_EPROTO;
		const char *user = a + 1;
		size_t ul = (size_t)(b - user);
		size_t al = (size_t)(a - tok);
		*msg = "Authentication failed: Invalid username or password";
		if (al && (al != ul || memcmp(tok, user, ul))) {
			*msg =
			    "Authentication failed: Client requested an authorization id that is "
			    "different from username";
			users_login_result(u, user, ul, 0, "PLAIN", peer);
			return SL_EINVAL;
		}
		if (!u ||
		    users_check_password(u, user, ul, b + 1, n - (size_t)(b + 1 - tok), peer) < 0)
			return SL_EINVAL;
		s->principal = strndup(user, ul);
		if (!s->principal)
			abort();
		s->authed = 1;
		return 0;
	}
	if (!u)
		return SL_EINVAL;
	int rc;
	if (s->scram.step == 0) {
		rc = scram_srv_first(&s->scram, u, peer, tok, n, reply, replyn);
		return rc;
	}
	rc = scram_srv_final(&s->scram, tok, n, reply, replyn);
	if (rc == SL_EINVAL || rc == SL_EPROTO) {
		/* Kafka's text when the SCRAM server refuses the proof. */
		*msg =
		    s->mech == USERS_SCRAM_SHA_512
		        ? "Authentication failed during authentication due to invalid credentials "
		          "with SASL mechanism SCRAM-SHA-512"
		        : "Authentication failed during authentication due to invalid credentials "
		          "with SASL mechanism SCRAM-SHA-256";
		users_login_result(u, s->scram.user, s->scram.user_len, 0, mech_name(s->mech),
		                   peer);
		return SL_EINVAL;
	}
	if (rc == 0) {
		users_login_result(u, s->scram.user, s->scram.user_len, 1, mech_name(s->mech),
		                   peer);
		s->principal = strndup(s->scram.user, s->scram.user_len);
		if (!s->principal)
			abort();
		s->authed = 1;
	}
	return rc;
}

static void authed_log(kafka_srv_t *srv, conn_t *c, kafka_sasl_t *s)
{
	log_debug(srv->b->log, "kafka: %s: authenticated as '%s' with %s", c ? c->peer : "-",
	          s->principal, mech_name(s->mech));
}

int kafka_h_SaslHandshake(kreq_t *rq)
{
	kstr_t m = kr_str(&rq->r, 0);
	if (rq->r.err || m.len < 0)
		return SL_EPROTO;
	kafka_sasl_t *s = conn_sasl(rq);
	unsigned mask = rq->srv->sasl_mechs;
	int mech = mech_from_name(m.p, (size_t)m.len);
	int16_t err = KERR_NONE;
	if (!s || s->mech != MECH_NONE)
		err = KERR_ILLEGAL_SASL_STATE;
	else if (mech < 0 || !(mask & (1u << mech)))
		err = KERR_UNSUPPORTED_SASL_MECHANISM;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i16(b, err);
	int n = 0;
	for (int i = 0; i <= MECH_PLAIN; i++)
		n += (mask >> i) & 1;
	kw_arr(b, 0, n);
	/* Kafka lists them in sasl.enabled.mechanisms order; PLAIN first. */
	if (mask & (1u << MECH_PLAIN))
		kw_str(b, 0, "PLAIN");
	for (int i = 0; i < MECH_PLAIN; i++)
		if (mask & (1u << i))
			kw_str(b, 0, mech_name(i));
	kafka_reply_end(b, mark);
	if (err == KERR_NONE) {
		s->mech = mech;
		s->raw = rq->h.ApiVersion == 0;
		if (mech != MECH_PLAIN)
			scram_srv_init(&s->scram, mech);
	} else if (rq->c) {
		conn_close(rq->c, 1); /* Kafka closes after a failed handshake */
	}
	return 0;
}

int kafka_h_SaslAuthenticate(kreq_t *rq)
{
	kstr_t tok = kr_bytes(&rq->r, rq->flex);
	kr_tags(&rq->r, rq->flex);
	if (rq->r.err || tok.len < 0)
		return SL_EPROTO;
	kafka_sasl_t *s = conn_sasl(rq);
	char *reply = NULL;
	size_t replyn = 0;
	const char *msg = NULL;
	int16_t err = KERR_NONE;
	int rc;
	if (!s || s->mech == MECH_NONE || s->raw || s->authed) {
		err = KERR_ILLEGAL_SASL_STATE;
		msg = "Unexpected SaslAuthenticate request";
	} else if ((rc = step(s, rq->srv, rq->c, tok.p, (size_t)tok.len, &reply, &replyn, &msg)) <
	           0) {
		err = KERR_SASL_AUTHENTICATION_FAILED;
		if (!msg)
			msg = "Authentication failed: malformed SASL message";
	}
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i16(b, err);
	kw_str(b, rq->flex, msg);
	kw_bytes_len(b, rq->flex, (int32_t)replyn);
	buf_append(b, reply, replyn);
	if (rq->h.ApiVersion >= 1)
		kw_i64(b, 0); /* SessionLifetimeMs: no re-authentication required */
	kw_tags(b, rq->flex);
	kafka_reply_end(b, mark);
	free(reply);
	if (err != KERR_NONE) {
		if (rq->c)
			conn_close(rq->c, 1);
	} else if (s->authed) {
		authed_log(rq->srv, rq->c, s);
	}
	return 0;
}

/* A bare token after SaslHandshake v0: answered with a bare token. */
static int raw_token(kafka_srv_t *srv, conn_t *c, kafka_sasl_t *s, const uint8_t *p, size_t n)
{
	char *reply = NULL;
	size_t replyn = 0;
	const char *msg = NULL;
	int rc = step(s, srv, c, (const char *)p, n, &reply, &replyn, &msg);
	if (rc < 0) {
		log_info(srv->b->log, "kafka: %s: %s, closing", c->peer,
		         msg ? msg : "malformed SASL token");
		return rc;
	}
	uint8_t len[4];
	be32_store(len, (uint32_t)replyn);
	conn_write(c, len, 4);
	conn_write(c, reply, replyn);
	free(reply);
	if (s->authed)
		authed_log(srv, c, s);
	return 1;
}

int kafka_sasl_gate(kafka_srv_t *srv, conn_t *c, const uint8_t *frame, size_t len)
{
	kafka_conn_t *kc = c->pdata;
	kafka_sasl_t *s = kc->sasl;
	if (!s || s->authed)
		return 0;
	if (s->raw && s->mech != MECH_NONE)
		return raw_token(srv, c, s, frame, len);
	int16_t key = len >= 2 ? (int16_t)be16_load(frame) : -1;
	if (key == 18 || key == 17 || (key == 36 && s->mech != MECH_NONE))
		return 0;
	log_info(srv->b->log,
	         "kafka: %s: API key %d before SASL authentication on a SASL listener, closing",
	         c->peer, key);
	return SL_EPROTO;
}

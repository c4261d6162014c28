/*
 * test_users.c — the user database: the SCRAM primitives against RFC 7677's
 * example, a whole server exchange driven by a client built from the same
 * primitives, password checks, the journal's replay across reopenings
 * (changes, deletions, nothing in clear on disk), the bootstrap admin and
 * the failed-login lock.
 */
#include "broker/broker.h"
#include "broker/users.h"
#include "core/config.h"
#include "core/err.h"
#include "test.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct ufx {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	sio_t *io;
	users_t *u;
} ufx_t;

static void uopen(ufx_t *f, const char *admin_pw)
{
	char err[128];
	memset(f, 0, sizeof *f);
	config_init(&f->cfg);
	if (admin_pw)
		CHECK(config_set(&f->cfg, "auth.admin.password", admin_pw, err, sizeof err) == 0);
	log_init(&f->log, LOG_ERROR, 2);
	f->b.cfg = &f->cfg;
	f->b.log = &f->log;
	f->b.data_dir = ".";
	f->b.loop = loop_new(NULL);
	f->b.syncer = syncer_new(f->b.loop, &f->log);
	f->io = sio_new();
	syncer_set_io(f->b.syncer, f->io);
	f->b.io = f->io;
	CHECK_EQ(users_open(&f->u, &f->b), 0);
}

static void uclose(ufx_t *f)
{
	users_close(f->u);
	loop_run_once(f->b.loop, 0);
	syncer_free(f->b.syncer);
	sio_free(f->io);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

#define S(s) s, strlen(s)

static int unb64(const char *s, uint8_t *out)
{
	size_t n = strlen(s);
	int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	return len - (s[n - 1] == '=') - (s[n - 2] == '=');
}

TEST(users_scram_rfc7677_vector)
{
	/* RFC 7677 section 3: user "user", password "pencil". */
	uint8_t salt[32], salted[64], stored[64], server[64], sig[64], key[64], h[64];
	int sl = unb64("W22ZaJ0SNY7soEsUEjb6gQ==", salt);
	CHECK_EQ(sl, 16);
	CHECK_EQ(users_salted_password(USERS_SCRAM_SHA_256, S("pencil"), salt, 16, 4096, salted),
	         0);
	users_derive_keys(USERS_SCRAM_SHA_256, salted, stored, server);
	const char *am = "n=user,r=rOprNGfwEbeRWgbNEkqO,"
	                 "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	                 "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
	                 "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
	uint8_t proof[40];
	CHECK_EQ(unb64("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", proof), 32);
	/* The server's check: H(proof XOR HMAC(StoredKey, AuthMessage)) == StoredKey. */
	users_hmac(USERS_SCRAM_SHA_256, stored, 32, am, strlen(am), sig);
	for (int i = 0; i < 32; i++)
		key[i] = proof[i] ^ sig[i];
	users_hash(USERS_SCRAM_SHA_256, key, 32, h);
	CHECK_MEM(h, stored, 32);
	uint8_t v[40];
	CHECK_EQ(unb64("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", v), 32);
	users_hmac(USERS_SCRAM_SHA_256, server, 32, am, strlen(am), sig);
	CHECK_MEM(sig, v, 32);
}

/* A client's final message for server-first sf (mechanism m, password pw). */
static void client_final(int m, const char *cfb, const char *sf, const char *pw, char *out,
                         size_t outn)
{
	char nonce[256], saltb[256];
	int it = 0;
	CHECK(sscanf(sf, "r=%255[^,],s=%255[^,],i=%d", nonce, saltb, &it) == 3);
	uint8_t salt[200], salted[64], stored[64], server[64], ck[64], sig[64], proof[64];
	int sl = unb64(saltb, salt);
	size_t hl = users_mech_hash_len(m);
	CHECK_EQ(users_salted_password(m, S(pw), salt, (size_t)sl, it, salted), 0);
	users_hmac(m, salted, hl, "Client Key", 10, ck);
	users_derive_keys(m, salted, stored, server);
	char wo[400], am[1200];
	snprintf(wo, sizeof wo, "c=biws,r=%s", nonce);
	snprintf(am, sizeof am, "%s,%s,%s", cfb, sf, wo);
	users_hmac(m, stored, hl, am, strlen(am), sig);
	for (size_t i = 0; i < hl; i++)
		proof[i] = ck[i] ^ sig[i];
	char pb[100];
	EVP_EncodeBlock((unsigned char *)pb, proof, (int)hl);
	snprintf(out, outn, "%s,p=%s", wo, pb);
}

static int exchange(users_t *u, int m, const char *user, const char *pw)
{
	scram_srv_t s;
	scram_srv_init(&s, m);
	char cf[200], cfin[600];
	snprintf(cf, sizeof cf, "n,,n=%s,r=clientnonce123", user);
	char *sf = NULL, *fin = NULL;
	size_t n;
	CHECK_EQ(scram_srv_first(&s, u, "1.2.3.4:5", S(cf), &sf, &n), 0);
	CHECK(!strncmp(sf, "r=clientnonce123", 16));
	client_final(m, cf + 3, sf, pw, cfin, sizeof cfin);
	int rc = scram_srv_final(&s, S(cfin), &fin, &n);
	if (rc == 0)
		CHECK(!strncmp(fin, "v=", 2));
	else
		CHECK(fin == NULL);
	free(sf);
	free(fin);
	scram_srv_deinit(&s);
	return rc;
}

TEST(users_scram_exchange_and_passwords)
{
	ufx_t f;
	uopen(&f, NULL);
	CHECK(!users_enabled(f.u));
	CHECK_EQ(users_set_password(f.u, S("alice"), S("wonder")), 0);
	CHECK(users_enabled(f.u));
	for (int m = 0; m < USERS_NMECH; m++) {
		CHECK_EQ(exchange(f.u, m, "alice", "wonder"), 0);
		CHECK_EQ(exchange(f.u, m, "alice", "wrong"), SL_EINVAL);
		CHECK_EQ(exchange(f.u, m, "nobody", "wonder"), SL_EINVAL);
	}
	CHECK_EQ(users_check_password(f.u, S("alice"), S("wonder"), "p"), 0);
	CHECK_EQ(users_check_password(f.u, S("alice"), S("wonde"), "p"), SL_EINVAL);
	CHECK_EQ(users_check_password(f.u, S("bob"), S("wonder"), "p"), SL_EINVAL);
	/* Malformed client messages. */
	scram_srv_t s;
	scram_srv_init(&s, USERS_SCRAM_SHA_256);
	char *out = NULL;
	size_t n;
	CHECK_EQ(scram_srv_first(&s, f.u, "p", S("x,,n=a,r=b"), &out, &n), SL_EPROTO);
	CHECK_EQ(scram_srv_first(&s, f.u, "p", S("n,,n=a=ZZ,r=b"), &out, &n), SL_EPROTO);
	scram_srv_deinit(&s);
	uclose(&f);
}

TEST(users_lock_after_repeated_failures)
{
	ufx_t f;
	uopen(&f, NULL);
	CHECK_EQ(users_set_password(f.u, S("carol"), S("pw")), 0);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(users_check_password(f.u, S("carol"), S("bad"), "10.0.0.1:1"), SL_EINVAL);
	/* Locked from that host, even with the right password ... */
	CHECK_EQ(users_may_try(f.u, S("carol"), "10.0.0.1:2"), SL_EINVAL);
	CHECK_EQ(users_check_password(f.u, S("carol"), S("pw"), "10.0.0.1:3"), SL_EINVAL);
	/* ... but not from another. */
	CHECK_EQ(users_check_password(f.u, S("carol"), S("pw"), "10.0.0.2:1"), 0);
	uclose(&f);
}

TEST(users_journal_replay_and_bootstrap)
{
	ufx_t f;
	uopen(&f, "boot-pw");
	CHECK_EQ(users_count(f.u), 1);
	const user_t *a = users_find(f.u, S("admin"));
	CHECK(a && a->scram[0].set && a->scram[1].set);
	CHECK_STR(a->acl, "on ~* &* +@all");
	CHECK_EQ(users_set_password(f.u, S("dave"), S("d-pw")), 0);
	CHECK_EQ(users_set_acl(f.u, S("dave"), "on ~app:* +@read"), 0);
	CHECK_EQ(users_set_password(f.u, S("erin"), S("e-pw")), 0);
	CHECK_EQ(users_delete_scram(f.u, S("dave"), USERS_SCRAM_SHA_256), 0);
	CHECK_EQ(users_delete_scram(f.u, S("dave"), USERS_SCRAM_SHA_256), SL_ENOENT);
	CHECK_EQ(users_delete(f.u, S("erin")), 0);
	CHECK_EQ(users_delete(f.u, S("erin")), SL_ENOENT);
	CHECK_EQ(users_set_password(f.u, S(""), S("x")), SL_EINVAL);
	uint8_t salt[8] = {1}, sp[32] = {2};
	CHECK_EQ(users_set_scram(f.u, S("x"), USERS_SCRAM_SHA_256, salt, 8, 100, sp, 32),
	         SL_EINVAL);
	CHECK_EQ(users_set_scram(f.u, S("x"), USERS_SCRAM_SHA_256, salt, 8, 4096, sp, 31),
	         SL_EINVAL);
	uclose(&f);

	/* A different configured password does not replace the stored admin. */
	uopen(&f, "other-pw");
	CHECK_EQ(users_count(f.u), 2);
	CHECK_EQ(users_check_password(f.u, S("admin"), S("boot-pw"), "p"), 0);
	CHECK_EQ(users_check_password(f.u, S("admin"), S("other-pw"), "p"), SL_EINVAL);
	const user_t *d = users_find(f.u, S("dave"));
	CHECK(d && !d->scram[0].set && d->scram[1].set);
	CHECK_STR(d->acl, "on ~app:* +@read");
	CHECK_EQ(users_check_password(f.u, S("dave"), S("d-pw"), "p"), 0);
	CHECK(users_find(f.u, S("erin")) == NULL);
	uclose(&f);

	/* No password in clear on disk. */
	FILE *fp = fopen("users/users.journal", "rb");
	CHECK(fp);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof buf, fp);
	fclose(fp);
	CHECK(n > 0 && !memmem(buf, n, "boot-pw", 7) && !memmem(buf, n, "d-pw", 4));
	CHECK(memmem(buf, n, "dave", 4) != NULL);
}

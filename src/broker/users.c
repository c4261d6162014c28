/*
 * users.c — the user database: records, replay, bootstrap admin, password
 * checks and the failed-login limit; see users.h.
 *
 * File: DATA_DIR/users/users.journal, a state journal (store/journal.h:
 * framed, CRC-checked records). Integers big-endian. Record types:
 *
 *   1 USER   the whole state of one user (replaces any earlier USER record
 *            of that name, which becomes garbage):
 *              u16 name_len, name bytes (1..512, any bytes but NUL)
 *              for SCRAM-SHA-256 then SCRAM-SHA-512:
 *                u8  set (0 or 1); when 1:
 *                u32 iterations (4096..16384)
 *                u8  salt_len (1..128), salt
 *                StoredKey, ServerKey (32 bytes each for SHA-256, 64 for
 *                SHA-512)
 *              u32 acl_len, the Redis ACL rules text
 *   2 DELETE u16 name_len, name: the user is gone.
 *
 * No password is ever written: only the salted keys of RFC 5802, from
 * which a password cannot be recovered except by guessing.
 *
 * Recovery: records apply in order; the last USER of a name wins, a DELETE
 * removes it. A record that does not parse stops the open (the journal's
 * CRC passed, so it is a bug or a newer format, not a torn write: refusing
 * to start is better than starting with users or their restrictions
 * missing). Every change is written ahead and synced (jrnl_commit_now)
 * before it is applied, so a change a client saw acknowledged is on disk;
 * if the write fails the change is not applied and the caller reports it.
 * Compaction re-appends one USER record per live user.
 *
 * Failed logins: per user and peer host, after USERS_FAIL_FREE consecutive
 * failures that pair is locked for a delay that doubles with each further failure (up to
 * USERS_LOCK_MAX_MS); a success clears it. Attempts while locked fail
 * without a check. The lock state is memory only (a restart clears it).
 * Failure log lines are limited to USERS_LOG_PER_SEC a second, the rest
 * counted and summarised.
 * Loop thread only.
 */
#include "broker/users.h"

#include "broker/broker.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/map.h"
#include "core/rd.h"
#include "core/time.h"
#include "store/journal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_USER 1
#define REC_DELETE 2

#define USERS_FAIL_FREE 5
#define USERS_LOCK_MAX_MS 5000
#define USERS_LOG_PER_SEC 10

typedef struct fail {
	uint32_t count;
	int64_t locked_until; /* monotonic ms */
} fail_t;

struct users {
	broker_t *b;
	const log_t *log;
	jrnl_t *j;
	map_t users;         /* name → user_t */
	map_t fails;         /* name → fail_t (failed logins) */
	uint64_t replay_gar; /* garbage seen during replay */
	int64_t log_sec;     /* the second of the failure log limit */
	uint32_t log_n, log_dropped;
};

/* --- mechanisms and primitives ---------------------------------------------- */

static const EVP_MD *md_of(int mech)
{
	return mech == USERS_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

size_t users_mech_hash_len(int mech)
{
	return mech == USERS_SCRAM_SHA_512 ? 64 : 32;
}

const char *users_mech_name(int mech)
{
	return mech == USERS_SCRAM_SHA_512 ? "SCRAM-SHA-512" : "SCRAM-SHA-256";
}

int users_mech_from_name(const char *s, size_t n)
{
	if (n == 13 && !memcmp(s, "SCRAM-SHA-256", 13))
		return USERS_SCRAM_SHA_256;
	if (n == 13 && !memcmp(s, "SCRAM-SHA-512", 13))
		return USERS_SCRAM_SHA_512;
	return -1;
}

void users_hmac(int mech, const uint8_t *key, size_t keylen, const void *msg, size_t msglen,
                uint8_t *out)
{
	unsigned len = 0;
	if (!HMAC(md_of(mech), key, (int)keylen, msg, msglen, out, &len))
		abort(); /* OpenSSL out of memory */
}

void users_hash(int mech, const void *msg, size_t msglen, uint8_t *out)
{
	if (!EVP_Digest(msg, msglen, out, NULL, md_of(mech), NULL))
		abort();
}

int users_salted_password(int mech, const char *pass, size_t passn, const uint8_t *salt,
                          size_t salt_len, int32_t iterations, uint8_t *out)
{
	/* Hi() of RFC 5802 is PBKDF2 with HMAC and one block of output. */
	if (!PKCS5_PBKDF2_HMAC(pass, (int)passn, salt, (int)salt_len, iterations, md_of(mech),
	                       (int)users_mech_hash_len(mech), out))
		return SL_ENOMEM;
	return 0;
}

void users_derive_keys(int mech, const uint8_t *salted, uint8_t *stored_key, uint8_t *server_key)
{
	size_t hl = users_mech_hash_len(mech);
	uint8_t client_key[USERS_HASH_MAX];
	users_hmac(mech, salted, hl, "Client Key", 10, client_key);
	users_hash(mech, client_key, hl, stored_key);
	users_hmac(mech, salted, hl, "Server Key", 10, server_key);
	OPENSSL_cleanse(client_key, sizeof client_key);
}

/* --- records ------------------------------------------------------------------ */

static int name_ok(const char *name, size_t n)
{
	return n >= 1 && n <= USERS_NAME_MAX && !memchr(name, 0, n);
}

static void encode_user(buf_t *b, const user_t *x)
{
	buf_put_be16(b, (uint16_t)x->name_len);
	buf_append(b, x->name, x->name_len);
	for (int m = 0; m < USERS_NMECH; m++) {
		const user_scram_t *c = &x->scram[m];
		buf_put_u8(b, c->set ? 1 : 0);
		if (!c->set)
			continue;
		size_t hl = users_mech_hash_len(m);
		buf_put_be32(b, (uint32_t)c->iterations);
		buf_put_u8(b, (uint8_t)c->salt_len);
		buf_append(b, c->salt, c->salt_len);
		buf_append(b, c->stored_key, hl);
		buf_append(b, c->server_key, hl);
	}
	size_t al = strlen(x->acl);
	buf_put_be32(b, (uint32_t)al);
	buf_append(b, x->acl, al);
}

static void user_free(user_t *x)
{
	if (!x)
		return;
	OPENSSL_cleanse(x->scram, sizeof x->scram);
	free(x->name);
	free(x->acl);
	free(x);
}

static user_t *user_new(const char *name, size_t n)
{
	user_t *x = calloc(1, sizeof *x);
	if (!x || !(x->name = malloc(n + 1)) || !(x->acl = strdup("")))
		abort(); /* the server's own bookkeeping */
	memcpy(x->name, name, n);
	x->name[n] = 0;
	x->name_len = n;
	return x;
}

static user_t *user_clone(const user_t *o)
{
	user_t *x = user_new(o->name, o->name_len);
	memcpy(x->scram, o->scram, sizeof x->scram);
	free(x->acl);
	if (!(x->acl = strdup(o->acl)))
		abort();
	x->rec_bytes = o->rec_bytes;
	return x;
}

static user_t *decode_user(const uint8_t *p, size_t len)
{
	rd_t r;
	rd_init(&r, p, len);
	size_t n = rd_be16(&r);
	const uint8_t *name = rd_bytes(&r, n);
	if (r.err || !name_ok((const char *)name, n))
		return NULL;
	user_t *x = user_new((const char *)name, n);
	for (int m = 0; m < USERS_NMECH && !r.err; m++) {
		user_scram_t *c = &x->scram[m];
		uint8_t set = rd_u8(&r);
		if (set > 1)
			rd_fail(&r);
		if (!set)
			continue;
		size_t hl = users_mech_hash_len(m);
		c->set = 1;
		c->iterations = (int32_t)rd_be32(&r);
		c->salt_len = rd_u8(&r);
		const uint8_t *salt = rd_bytes(&r, c->salt_len);
		const uint8_t *sk = rd_bytes(&r, hl), *vk = rd_bytes(&r, hl);
		if (r.err || c->salt_len < 1 || c->salt_len > USERS_SALT_MAX ||
		    c->iterations < USERS_ITER_MIN || c->iterations > USERS_ITER_MAX) {
			rd_fail(&r);
			break;
		}
		memcpy(c->salt, salt, c->salt_len);
		memcpy(c->stored_key, sk, hl);
		memcpy(c->server_key, vk, hl);
	}
	uint32_t al = rd_be32(&r);
	const uint8_t *acl = rd_bytes(&r, al);
	if (r.err || rd_left(&r) || memchr(acl, 0, al)) {
		user_free(x);
		return NULL;
	}
	free(x->acl);
	if (!(x->acl = malloc(al + 1)))
		abort();
	memcpy(x->acl, acl, al);
	x->acl[al] = 0;
	return x;
}

/* Replaces (or removes, x NULL) the user called name in memory. */
static void put_user(users_t *u, const char *name, size_t n, user_t *x, uint64_t rec_bytes)
{
	user_t *old = x ? map_put(&u->users, name, n, x) : map_del(&u->users, name, n);
	uint64_t gar = old ? old->rec_bytes : 0;
	if (!x)
		gar += rec_bytes; /* the DELETE itself is garbage once applied */
	else
		x->rec_bytes = rec_bytes;
	if (u->j)
		jrnl_garbage(u->j, gar);
	else
		u->replay_gar += gar;
	user_free(old);
}

static int on_replay(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	users_t *u = arg;
	if (type == REC_USER) {
		user_t *x = decode_user(p, len);
		if (!x)
			return SL_ECORRUPT;
		put_user(u, x->name, x->name_len, x, jrnl_record_size(len));
		return 0;
	}
	if (type == REC_DELETE) {
		rd_t r;
		rd_init(&r, p, len);
		size_t n = rd_be16(&r);
		const uint8_t *name = rd_bytes(&r, n);
		if (r.err || rd_left(&r))
			return SL_ECORRUPT;
		put_user(u, (const char *)name, n, NULL, jrnl_record_size(len));
		return 0;
	}
	return SL_ECORRUPT;
}

static int snapshot(void *arg, jrnl_t *j)
{
	users_t *u = arg;
	buf_t b;
	buf_init(&b);
	size_t it = 0;
	const user_t *x;
	int rc = 0;
	while (rc == 0 && (x = users_next(u, &it))) {
		buf_reset(&b);
		encode_user(&b, x);
		rc = jrnl_append(j, REC_USER, buf_data(&b), buf_len(&b));
		((user_t *)x)->rec_bytes = jrnl_record_size(buf_len(&b));
	}
	OPENSSL_cleanse(buf_data(&b), buf_len(&b));
	buf_deinit(&b);
	return rc;
}

/* Writes x (the new state of its user) ahead, then applies it (taking x). */
static int commit_user(users_t *u, user_t *x)
{
	buf_t b;
	buf_init(&b);
	encode_user(&b, x);
	size_t len = buf_len(&b);
	int rc = jrnl_append(u->j, REC_USER, buf_data(&b), len);
	if (rc == 0)
		rc = jrnl_commit_now(u->j);
	OPENSSL_cleanse(buf_data(&b), len);
	buf_deinit(&b);
	if (rc < 0) {
		log_error(u->log, "users: cannot write the change of user %s: %s", x->name,
		          sl_strerror(rc));
		user_free(x);
		return rc;
	}
	put_user(u, x->name, x->name_len, x, jrnl_record_size(len));
	(void)jrnl_maybe_compact(u->j, snapshot, u);
	return 0;
}

/* A copy of the user to change, or a new one. */
static user_t *edit(users_t *u, const char *name, size_t n)
{
	const user_t *o = users_find(u, name, n);
	return o ? user_clone(o) : user_new(name, n);
}

/* --- the API ------------------------------------------------------------------ */

size_t users_count(const users_t *u)
{
	return map_len(&u->users);
}

const user_t *users_find(const users_t *u, const char *name, size_t n)
{
	return map_get(&u->users, name, n);
}

const user_t *users_next(const users_t *u, size_t *it)
{
	const char *k;
	size_t kl;
	void *v;
	return map_next(&u->users, it, &k, &kl, &v) ? v : NULL;
}

int users_set_scram(users_t *u, const char *name, size_t n, int mech, const uint8_t *salt,
                    size_t salt_len, int32_t iterations, const uint8_t *salted_password,
                    size_t sp_len)
{
	if (!name_ok(name, n) || mech < 0 || mech >= USERS_NMECH || salt_len < 1 ||
	    salt_len > USERS_SALT_MAX || iterations < USERS_ITER_MIN ||
	    iterations > USERS_ITER_MAX || sp_len != users_mech_hash_len(mech))
		return SL_EINVAL;
	user_t *x = edit(u, name, n);
	user_scram_t *c = &x->scram[mech];
	c->set = 1;
	c->iterations = iterations;
	c->salt_len = (uint32_t)salt_len;
	memcpy(c->salt, salt, salt_len);
	users_derive_keys(mech, salted_password, c->stored_key, c->server_key);
	return commit_user(u, x);
}

int users_set_password(users_t *u, const char *name, size_t n, const char *pass, size_t passn)
{
	if (!name_ok(name, n))
		return SL_EINVAL;
	user_t *x = edit(u, name, n);
	for (int m = 0; m < USERS_NMECH; m++) {
		user_scram_t *c = &x->scram[m];
		uint8_t salted[USERS_HASH_MAX];
		c->salt_len = 32;
		c->iterations = USERS_ITER_DEFAULT;
		if (RAND_bytes(c->salt, (int)c->salt_len) != 1 ||
		    users_salted_password(m, pass, passn, c->salt, c->salt_len, c->iterations,
		                          salted) < 0) {
			user_free(x);
			return SL_ENOMEM;
		}
		users_derive_keys(m, salted, c->stored_key, c->server_key);
		OPENSSL_cleanse(salted, sizeof salted);
		c->set = 1;
	}
	return commit_user(u, x);
}

int users_delete_scram(users_t *u, const char *name, size_t n, int mech)
{
	const user_t *o = users_find(u, name, n);
	if (!o || mech < 0 || mech >= USERS_NMECH || !o->scram[mech].set)
		return SL_ENOENT;
	user_t *x = user_clone(o);
	memset(&x->scram[mech], 0, sizeof x->scram[mech]);
	return commit_user(u, x);
}

int users_set_acl(users_t *u, const char *name, size_t n, const char *acl)
{
	if (!name_ok(name, n))
		return SL_EINVAL;
	user_t *x = edit(u, name, n);
	free(x->acl);
	if (!(x->acl = strdup(acl)))
		abort();
	return commit_user(u, x);
}

int users_delete(users_t *u, const char *name, size_t n)
{
	if (!users_find(u, name, n))
		return SL_ENOENT;
	uint8_t hdr[2];
	be16_store(hdr, (uint16_t)n);
	int rc = jrnl_append2(u->j, REC_DELETE, hdr, 2, name, n);
	if (rc == 0)
		rc = jrnl_commit_now(u->j);
	if (rc < 0) {
		log_error(u->log, "users: cannot write the deletion of a user: %s",
		          sl_strerror(rc));
		return rc;
	}
	put_user(u, name, n, NULL, jrnl_record_size(2 + n));
	(void)jrnl_maybe_compact(u->j, snapshot, u);
	return 0;
}

/* --- logins ------------------------------------------------------------------- */

/* The failure counter's key: the user and the peer's host (not its port),
 * so that guessing from one host cannot lock the user out elsewhere. */
static size_t fail_key(char *out, size_t outn, const char *name, size_t n, const char *peer)
{
	if (!peer)
		peer = "-";
	const char *colon = strrchr(peer, ':');
	size_t hl = colon ? (size_t)(colon - peer) : strlen(peer);
	if (n + 1 + hl > outn)
		return 0;
	memcpy(out, name, n);
	out[n] = 0;
	memcpy(out + n + 1, peer, hl);
	return n + 1 + hl;
}

int users_may_try(users_t *u, const char *name, size_t n, const char *peer)
{
	char key[USERS_NAME_MAX + 80];
	size_t kl = fail_key(key, sizeof key, name, n, peer);
	fail_t *f = kl ? map_get(&u->fails, key, kl) : NULL;
	return f && f->locked_until > time_mono_ms() ? SL_EINVAL : 0;
}

/* Copies at most 64 printable bytes of a client-chosen name for a log line. */
static void printable(char *out, size_t outn, const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < outn && i < 64; i++)
		out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[k] = 0;
}

void users_login_result(users_t *u, const char *name, size_t n, int ok, const char *mech,
                        const char *peer)
{
	char key[USERS_NAME_MAX + 80];
	size_t kl = fail_key(key, sizeof key, name, n, peer);
	fail_t *f = kl ? map_get(&u->fails, key, kl) : NULL;
	if (ok) {
		if (f)
			free(map_del(&u->fails, key, kl));
		return;
	}
	static fail_t none;
	if (!kl)
		f = &none; /* a name too long to be a user: logged, never locked */
	if (!f) {
		if (!(f = calloc(1, sizeof *f)))
			abort();
		map_put(&u->fails, key, kl, f);
	}
	f->count++;
	if (f->count > USERS_FAIL_FREE) {
		uint32_t shift = f->count - USERS_FAIL_FREE - 1;
		int64_t delay = shift >= 6 ? USERS_LOCK_MAX_MS : (int64_t)100 << shift;
		if (delay > USERS_LOCK_MAX_MS)
			delay = USERS_LOCK_MAX_MS;
		f->locked_until = time_mono_ms() + delay;
	}
	int64_t sec = time_mono_ms() / 1000;
	if (sec != u->log_sec) {
		if (u->log_dropped)
			log_warn(u->log, "auth: %u more failed logins not logged", u->log_dropped);
		u->log_sec = sec;
		u->log_n = 0;
		u->log_dropped = 0;
	}
	if (u->log_n++ >= USERS_LOG_PER_SEC) {
		u->log_dropped++;
		return;
	}
	char who[80];
	printable(who, sizeof who, name, n);
	log_warn(u->log, "auth: failed login of user '%s' from %s (%s, %u in a row)", who,
	         peer ? peer : "-", mech, f->count);
}

int users_check_password(users_t *u, const char *name, size_t n, const char *pass, size_t passn,
                         const char *peer)
{
	if (users_may_try(u, name, n, peer) < 0) {
		users_login_result(u, name, n, 0, "locked", peer);
		return SL_EINVAL;
	}
	const user_t *x = users_find(u, name, n);
	/* The stronger credential when both exist; an unknown user still
	 * costs one derivation so that timing does not tell users apart. */
	int mech =
	    x && x->scram[USERS_SCRAM_SHA_512].set ? USERS_SCRAM_SHA_512 : USERS_SCRAM_SHA_256;
	static const uint8_t dummy_salt[32];
	const user_scram_t *c = x && x->scram[mech].set ? &x->scram[mech] : NULL;
	uint8_t salted[USERS_HASH_MAX], stored[USERS_HASH_MAX], server[USERS_HASH_MAX];
	int rc = users_salted_password(mech, pass, passn, c ? c->salt : dummy_salt,
	                               c ? c->salt_len : sizeof dummy_salt,
	                               c ? c->iterations : USERS_ITER_DEFAULT, salted);
	if (rc < 0)
		return rc;
	users_derive_keys(mech, salted, stored, server);
	int ok = c && CRYPTO_memcmp(stored, c->stored_key, users_mech_hash_len(mech)) == 0;
	OPENSSL_cleanse(salted, sizeof salted);
	users_login_result(u, name, n, ok, "password", peer);
	return ok ? 0 : SL_EINVAL;
}

/* --- open and close ----------------------------------------------------------- */

static int bootstrap(users_t *u)
{
	const sl_config_t *cfg = u->b->cfg;
	const char *name =
	    cfg->auth_admin_user && *cfg->auth_admin_user ? cfg->auth_admin_user : "admin";
	const char *pass = cfg->auth_admin_password;
	if (!pass || !*pass)
		pass = getenv("SLUICE_ADMIN_PASSWORD");
	if (!pass || !*pass || users_count(u) > 0)
		return 0;
	int rc = users_set_password(u, name, strlen(name), pass, strlen(pass));
	if (rc == 0)
		rc = users_set_acl(u, name, strlen(name), "on ~* &* +@all");
	if (rc == 0)
		log_info(u->log, "users: bootstrap admin '%s' created", name);
	return rc;
}

int users_journal_open(broker_t *b, const char *name, uint32_t max_record, jrnl_replay_fn fn,
                       void *arg, jrnl_t **out)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/users", b->data_dir);
	int rc = sio_mkdir_p(b->io, dir);
	/* Changes write ahead whatever the fsync policy: an acknowledged
	 * password change or ACL restriction must not come undone. */
	jrnl_opts_t o;
	broker_ahead_jrnl_opts(b, &o);
	o.max_record = max_record;
	if (rc == 0)
		rc = jrnl_open(out, b->loop, b->syncer, b->log, dir, name, &o, fn, arg);
	if (rc < 0)
		log_error(b->log, "users: cannot open %s/%s.journal: %s", dir, name,
		          sl_strerror(rc));
	return rc;
}

int users_open(users_t **out, broker_t *b)
{
	users_t *u = calloc(1, sizeof *u);
	if (!u)
		abort();
	u->b = b;
	u->log = b->log;
	map_init(&u->users);
	map_init(&u->fails);
	int rc = users_journal_open(b, "users", 1u << 20, on_replay, u, &u->j);
	if (rc < 0) {
		users_close(u);
		return rc;
	}
	jrnl_garbage(u->j, u->replay_gar);
	u->replay_gar = 0;
	if ((rc = bootstrap(u)) < 0) {
		users_close(u);
		return rc;
	}
	if (users_count(u))
		log_info(b->log, "users: %zu users; clients must authenticate", users_count(u));
	*out = u;
	return 0;
}

void users_close(users_t *u)
{
	if (!u)
		return;
	if (u->j)
		jrnl_close(u->j);
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&u->users, &it, &k, &kl, &v))
		user_free(v);
	map_deinit(&u->users);
	it = 0;
	while (map_next(&u->fails, &it, &k, &kl, &v))
		free(v);
	map_deinit(&u->fails);
	free(u);
}

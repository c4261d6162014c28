/*
 * users.h — the one user database of every protocol, owned by the broker
 * and journaled (users/users.journal; byte layout in users.c).
 *
 * A user has a name, salted SCRAM credentials for SCRAM-SHA-256 and
 * SCRAM-SHA-512 (salt, iterations, StoredKey, ServerKey: RFC 5802; the
 * password itself is never kept, in memory or on disk), and the Redis ACL
 * rules of the user as one opaque text (the RESP front parses it). Kafka
 * SASL (PLAIN and SCRAM), Redis AUTH/HELLO and the `sluice users` tool all
 * check against it.
 *
 * With no users at all, authentication is off everywhere (as before the
 * database existed). A bootstrap admin is created on first start from
 * auth.admin.user / auth.admin.password (or SLUICE_ADMIN_PASSWORD).
 *
 * Every change writes ahead (jrnl_commit_now) before it is applied: user
 * changes are rare, and a change a client saw acknowledged must survive a
 * crash. Failed logins are rate-limited per user and logged with the user
 * and the peer, never the credentials. Comparisons of secrets are
 * constant-time (CRYPTO_memcmp).
 * Loop thread only.
 */
#ifndef SL_BROKER_USERS_H
#define SL_BROKER_USERS_H

#include "store/journal.h"

#include <stddef.h>
#include <stdint.h>

struct broker;

enum { USERS_SCRAM_SHA_256 = 0, USERS_SCRAM_SHA_512 = 1, USERS_NMECH = 2 };

#define USERS_HASH_MAX 64  /* SHA-512 */
#define USERS_SALT_MAX 128 /* longest salt accepted (Kafka's clients use 32..64) */
#define USERS_NAME_MAX 512
#define USERS_ITER_MIN 4096 /* Kafka's minimum for SCRAM */
#define USERS_ITER_MAX 16384
#define USERS_ITER_DEFAULT 4096

typedef struct user_scram {
	int set;
	int32_t iterations;
	uint32_t salt_len;
	uint8_t salt[USERS_SALT_MAX];
	uint8_t stored_key[USERS_HASH_MAX];
	uint8_t server_key[USERS_HASH_MAX];
} user_scram_t;

typedef struct user {
	char *name; /* NUL-terminated, name_len bytes */
	size_t name_len;
	user_scram_t scram[USERS_NMECH];
	char *acl;          /* Redis ACL rules (RESP front's syntax); "" when none */
	uint64_t rec_bytes; /* journal bytes of its live record (garbage when replaced) */
} user_t;

typedef struct users users_t;

/* Opens DATA_DIR/users/users.journal, replays it, and creates the
 * bootstrap admin when the database is empty and one is configured. */
int users_open(users_t **out, struct broker *b);
void users_close(users_t *u);
/* Opens the journal DATA_DIR/users/NAME.journal with the user database's
 * settings (every change synced before it is applied, whatever fsync
 * says), replaying it through fn: the users' and the Kafka ACLs'. */
int users_journal_open(struct broker *b, const char *name, uint32_t max_record, jrnl_replay_fn fn,
                       void *arg, jrnl_t **out);

size_t users_count(const users_t *u);
/* Whether any client must authenticate (the database is not empty). */
static inline int users_enabled(const users_t *u)
{
	return u && users_count(u) > 0;
}
const user_t *users_find(const users_t *u, const char *name, size_t n);
/* Iterates the users: size_t it = 0; while ((x = users_next(u, &it))) ... */
const user_t *users_next(const users_t *u, size_t *it);

/* Mechanism names as SASL spells them ("SCRAM-SHA-256"); -1 if unknown. */
int users_mech_from_name(const char *s, size_t n);
const char *users_mech_name(int mech);
size_t users_mech_hash_len(int mech);

/* The changes. Each returns 0, SL_EINVAL (bad name or parameters),
 * SL_ENOENT (no such user or credential) or the journal's error (nothing
 * changed). */
/* Sets the credential of one mechanism from a salted password (what Kafka's
 * AlterUserScramCredentials carries), creating the user if needed. */
int users_set_scram(users_t *u, const char *name, size_t n, int mech, const uint8_t *salt,
                    size_t salt_len, int32_t iterations, const uint8_t *salted_password,
                    size_t sp_len);
/* Sets both mechanisms from a password (fresh random salts). */
int users_set_password(users_t *u, const char *name, size_t n, const char *pass, size_t passn);
int users_delete_scram(users_t *u, const char *name, size_t n, int mech);
/* Sets the user's Redis ACL rules text, creating the user if needed. */
int users_set_acl(users_t *u, const char *name, size_t n, const char *acl);
int users_delete(users_t *u, const char *name, size_t n);

/* Checks a password (PLAIN, Redis AUTH) against the user's stored
 * credential. 0 when it matches; SL_EINVAL when it does not, the user is
 * unknown or has no credential, or the user is locked out for a while
 * after repeated failures from the same host. Failures are logged with user and peer. */
int users_check_password(users_t *u, const char *name, size_t n, const char *pass, size_t passn,
                         const char *peer);
/* Rate limit and log of logins checked elsewhere (SCRAM): whether the user
 * may try now (0) or is locked out (SL_EINVAL), and the outcome. */
int users_may_try(users_t *u, const char *name, size_t n, const char *peer);
void users_login_result(users_t *u, const char *name, size_t n, int ok, const char *mech,
                        const char *peer);

/* SCRAM primitives (RFC 5802), for the server exchange (users_scram.c) and
 * tests: SaltedPassword = Hi(pass, salt, i); derives StoredKey and ServerKey
 * from it. */
int users_salted_password(int mech, const char *pass, size_t passn, const uint8_t *salt,
                          size_t salt_len, int32_t iterations, uint8_t *out);
void users_derive_keys(int mech, const uint8_t *salted, uint8_t *stored_key, uint8_t *server_key);
void users_hmac(int mech, const uint8_t *key, size_t keylen, const void *msg, size_t msglen,
                uint8_t *out);
void users_hash(int mech, const void *msg, size_t msglen, uint8_t *out);

/* SCRAM server exchange (users_scram.c): client-first → server-first,
 * client-final → server-final. An unknown user gets a made-up salt and
 * fails at the final step like a wrong password (no user enumeration). */
typedef struct scram_srv {
	int mech;
	int step; /* 0: expects client-first; 1: client-final; 2: done */
	char *user;
	size_t user_len;
	int known; /* the user had a credential at client-first */
	user_scram_t cred;
	char *client_first_bare;
	char *server_first;
	char *nonce; /* client nonce + server nonce */
} scram_srv_t;

void scram_srv_init(scram_srv_t *s, int mech);
void scram_srv_deinit(scram_srv_t *s);
/* Each writes the server's message into out (malloc'd, *outn bytes) and
 * returns 0, or SL_EPROTO for a malformed message, or SL_EINVAL for bad
 * credentials (final step; *out NULL). */
int scram_srv_first(scram_srv_t *s, users_t *u, const char *peer, const char *msg, size_t n,
                    char **out, size_t *outn);
int scram_srv_final(scram_srv_t *s, const char *msg, size_t n, char **out, size_t *outn);

#endif

/*
 * acl.h — Kafka's access control lists, owned by the broker and journaled
 * (DATA_DIR/users/acls.journal; byte layout in acl.c).
 *
 * A binding is Kafka's AclBinding: a resource pattern (type, pattern type,
 * name) and an access control entry (principal, host, operation,
 * permission). The numbers are Kafka's own (org.apache.kafka.common.acl and
 * .resource), so the wire values of CreateAcls/DescribeAcls/DeleteAcls pass
 * through unchanged.
 *
 * acl_authorize() follows Kafka's AclAuthorizer: super users are allowed
 * everything; otherwise the bindings whose pattern matches the resource
 * (literal name equal, literal "*", or a prefixed name that starts the
 * resource name) decide. None at all: allow.everyone.if.no.acl.found. A
 * matching Deny (principal equal or "User:*", host equal or "*", operation
 * equal or All) wins; else a matching Allow is needed, where Read, Write,
 * Delete and Alter imply Describe and AlterConfigs implies DescribeConfigs.
 *
 * Every change writes ahead and is synced (jrnl_commit_now) before it is
 * applied, as the user database does. Loop thread only.
 */
#ifndef SL_BROKER_ACL_H
#define SL_BROKER_ACL_H

#include <stddef.h>
#include <stdint.h>

struct broker;

/* ResourceType */
enum {
	ACL_RES_UNKNOWN = 0,
	ACL_RES_ANY = 1,
	ACL_RES_TOPIC = 2,
	ACL_RES_GROUP = 3,
	ACL_RES_CLUSTER = 4,
	ACL_RES_TRANSACTIONAL_ID = 5,
	ACL_RES_MAX = 5
};
/* PatternType */
enum {
	ACL_PAT_UNKNOWN = 0,
	ACL_PAT_ANY = 1,
	ACL_PAT_MATCH = 2,
	ACL_PAT_LITERAL = 3,
	ACL_PAT_PREFIXED = 4
};
/* AclOperation */
enum {
	ACL_OP_UNKNOWN = 0,
	ACL_OP_ANY = 1,
	ACL_OP_ALL = 2,
	ACL_OP_READ = 3,
	ACL_OP_WRITE = 4,
	ACL_OP_CREATE = 5,
	ACL_OP_DELETE = 6,
	ACL_OP_ALTER = 7,
	ACL_OP_DESCRIBE = 8,
	ACL_OP_CLUSTER_ACTION = 9,
	ACL_OP_DESCRIBE_CONFIGS = 10,
	ACL_OP_ALTER_CONFIGS = 11,
	ACL_OP_IDEMPOTENT_WRITE = 12,
	ACL_OP_MAX = 12
};
/* AclPermissionType */
enum { ACL_PERM_UNKNOWN = 0, ACL_PERM_ANY = 1, ACL_PERM_DENY = 2, ACL_PERM_ALLOW = 3 };

#define ACL_STR_MAX 4096 /* longest resource name, principal or host accepted */
#define ACL_MAX_BINDINGS 100000

/* A binding, or (in a filter) NULL strings for "any". Strings are
 * NUL-terminated and owned by whoever holds the struct. */
typedef struct acl_binding {
	int8_t rtype, ptype;
	char *name;
	char *principal; /* "User:alice", "User:*" */
	char *host;      /* "*" or an address */
	int8_t op, perm;
	uint64_t rec_bytes; /* journal bytes of its ADD record (stored bindings) */
} acl_binding_t;

typedef struct acls acls_t;

/* Opens DATA_DIR/users/acls.journal and replays it. Reads super.users and
 * allow.everyone.if.no.acl.found from the broker's configuration. */
int acl_open(acls_t **out, struct broker *b);
void acl_close(acls_t *a);

size_t acl_count(const acls_t *a);
/* Iterates the bindings: size_t it = 0; while ((x = acl_next(a, &it))) ... */
const acl_binding_t *acl_next(const acls_t *a, size_t *it);

/* Whether x is a binding that may be stored: known types (not ANY/MATCH),
 * a principal "Type:name", a non-empty name ("kafka-cluster" for the
 * cluster). NULL when valid, else Kafka's message for INVALID_REQUEST. */
const char *acl_binding_invalid(const acl_binding_t *x);
/* Whether f is a usable filter (no UNKNOWN values). NULL or a message. */
const char *acl_filter_invalid(const acl_binding_t *f);
/* Whether stored binding x matches filter f (Kafka's AclBindingFilter). */
int acl_filter_matches(const acl_binding_t *f, const acl_binding_t *x);

/* Adds a binding (copied; an equal binding already stored is success).
 * 0, SL_EINVAL (invalid), SL_ETOOBIG (too many) or the journal's error. */
int acl_create(acls_t *a, const acl_binding_t *x);
/* Deletes every binding f matches; calls fn for each before it goes (the
 * binding is valid for the call). 0 or the journal's error (then nothing
 * was deleted). */
int acl_delete(acls_t *a, const acl_binding_t *f, void (*fn)(void *arg, const acl_binding_t *x),
               void *arg);

/* Whether principal ("User:alice") from host may do op on the resource
 * (rtype, name[0..n)). 1 allowed, 0 denied. The first check after a
 * change rebuilds the lookup index (acl.c). */
int acl_authorize(acls_t *a, const char *principal, const char *host, int rtype, const char *name,
                  size_t n, int op);
/* Whether principal may do op on some resource of the type: a super
 * user, an Allow for it on any pattern, or no binding of the type at all
 * with allow.everyone.if.no.acl.found (Kafka's authorizeByResourceType,
 * KIP-679; Denies on single resources do not count). */
int acl_authorize_any(const acls_t *a, const char *principal, const char *host, int rtype, int op);
/* Whether principal is in super.users. */
int acl_is_super(const acls_t *a, const char *principal);

#endif

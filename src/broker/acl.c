/*
 * acl.c — the ACL store: records, replay, matching and the authorizer;
 * see acl.h.
 *
 * File: DATA_DIR/users/acls.journal, a state journal (store/journal.h:
 * framed, CRC-checked records). Integers big-endian. Record types:
 *
 *   1 ADD     one binding:
 *               u8  resource type (2 topic, 3 group, 4 cluster,
 *                   5 transactional id)
 *               u8  pattern type (3 literal, 4 prefixed)
 *               u16 name_len, name bytes
 *               u16 principal_len, principal bytes ("User:alice")
 *               u16 host_len, host bytes ("*" or an address)
 *               u8  operation (2 All .. 12 IdempotentWrite)
 *               u8  permission (2 Deny, 3 Allow)
 *   2 DELETE  the same bytes: the equal binding is gone.
 *
 * Values are Kafka's numbers (acl.h). Strings are 1..4096 bytes without
 * NUL.
 *
 * Recovery: records apply in order; an ADD of a binding already present
 * and a DELETE of one absent are no-ops. A record that does not parse or
 * holds an invalid binding stops the open (the CRC passed, so it is a bug
 * or a newer format: starting with restrictions missing would be worse
 * than not starting). Every change is appended and synced
 * (jrnl_commit_now) before it is applied; if that fails nothing changes.
 * Compaction re-appends one ADD per live binding.
 *
 * Bindings live in one array. A check looks at the bindings that can
 * match its resource only, through an index built after each change: a
 * hash of (resource type, literal name) → bindings, plus per resource type
 * the prefixed bindings (few in practice) and the literal "*" ones. So a
 * Produce of one small batch does not scan hundreds of ACLs.
 * Loop thread only.
 */
#include "broker/acl.h"

#include "broker/broker.h"
#include "broker/users.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/map.h"
#include "core/rd.h"
#include "store/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define REC_ADD 1
#define REC_DELETE 2

/* Indices into acls.v of the bindings one index entry covers. */
typedef struct bucket {
	uint32_t *ix;
	size_t n, cap;
} bucket_t;

struct acls {
	broker_t *b;
	const log_t *log;
	jrnl_t *j;
	acl_binding_t *v; /* the bindings, n of cap */
	size_t n, cap;
	char **supers; /* super.users principals */
	size_t nsupers;
	int allow_if_none;   /* allow.everyone.if.no.acl.found */
	uint64_t replay_gar; /* garbage seen during replay */
	/* The index (see the top): rebuilt on the first check after a change. */
	int dirty;
	map_t lit; /* u8 resource type + literal name → bucket_t */
	bucket_t pre[ACL_RES_MAX + 1];
};

/* --- validity and matching ----------------------------------------------------- */

static int str_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= ACL_STR_MAX;
}

const char *acl_binding_invalid(const acl_binding_t *x)
{
	if (x->rtype < ACL_RES_TOPIC || x->rtype > ACL_RES_MAX)
		return "Invalid resource type";
	if (x->ptype != ACL_PAT_LITERAL && x->ptype != ACL_PAT_PREFIXED)
		return "Invalid pattern type";
	if (x->op < ACL_OP_ALL || x->op > ACL_OP_MAX)
		return "Invalid operation";
	if (x->perm != ACL_PERM_DENY && x->perm != ACL_PERM_ALLOW)
		return "Invalid permission type";
	if (!str_ok(x->name))
		return "Resource name should not be empty";
	if (x->rtype == ACL_RES_CLUSTER &&
	    (x->ptype != ACL_PAT_LITERAL || strcmp(x->name, "kafka-cluster") != 0))
		return "The only valid name for the CLUSTER resource is kafka-cluster";
	const char *colon = str_ok(x->principal) ? strchr(x->principal, ':') : NULL;
	if (!colon || colon == x->principal || !colon[1])
		return "Could not parse principal from `Type:name`";
	if (!str_ok(x->host))
		return "Invalid host";
	return NULL;
}

const char *acl_filter_invalid(const acl_binding_t *f)
{
	if (f->rtype <= ACL_RES_UNKNOWN || f->rtype > ACL_RES_MAX)
		return "Invalid resource type filter";
	if (f->ptype < ACL_PAT_ANY || f->ptype > ACL_PAT_PREFIXED)
		return "Invalid pattern type filter";
	if (f->op <= ACL_OP_UNKNOWN || f->op > ACL_OP_MAX)
		return "Invalid operation filter";
	if (f->perm <= ACL_PERM_UNKNOWN || f->perm > ACL_PERM_ALLOW)
		return "Invalid permission type filter";
	return NULL;
}

/* Whether the stored pattern (ptype, pname) covers the resource name. */
static int pattern_covers(int ptype, const char *pname, const char *name, size_t n)
{
	size_t pl = strlen(pname);
	if (ptype == ACL_PAT_PREFIXED)
		return pl <= n && memcmp(pname, name, pl) == 0;
	return (pl == 1 && pname[0] == '*') || (pl == n && memcmp(pname, name, n) == 0);
}

static int str_eq_or_any(const char *f, const char *s)
{
	return !f || strcmp(f, s) == 0;
}

int acl_filter_matches(const acl_binding_t *f, const acl_binding_t *x)
{
	if (f->rtype != ACL_RES_ANY && f->rtype != x->rtype)
		return 0;
	if (f->ptype != ACL_PAT_ANY && f->ptype != ACL_PAT_MATCH && f->ptype != x->ptype)
		return 0;
	if (f->name) {
		if (f->ptype == ACL_PAT_MATCH) {
			if (!pattern_covers(x->ptype, x->name, f->name, strlen(f->name)))
				return 0;
		} else if (strcmp(f->name, x->name) != 0) {
			return 0;
		}
	}
	return str_eq_or_any(f->principal, x->principal) && str_eq_or_any(f->host, x->host) &&
	       (f->op == ACL_OP_ANY || f->op == x->op) &&
	       (f->perm == ACL_PERM_ANY || f->perm == x->perm);
}

static int same_binding(const acl_binding_t *x, const acl_binding_t *y)
{
	return x->rtype == y->rtype && x->ptype == y->ptype && x->op == y->op &&
	       x->perm == y->perm && !strcmp(x->name, y->name) &&
	       !strcmp(x->principal, y->principal) && !strcmp(x->host, y->host);
}

/* Whether the binding's operation grants (or, for a Deny, refuses) op:
 * All covers everything; an Allow of Read/Write/Delete/Alter implies
 * Describe and of AlterConfigs implies DescribeConfigs (Kafka's
 * AclAuthorizer; a Deny applies to its own operation and All only). */
static int op_covers(const acl_binding_t *x, int op)
{
	if (x->op == ACL_OP_ALL || x->op == op)
		return 1;
	if (x->perm != ACL_PERM_ALLOW)
		return 0;
	if (op == ACL_OP_DESCRIBE)
		return x->op == ACL_OP_READ || x->op == ACL_OP_WRITE || x->op == ACL_OP_DELETE ||
		       x->op == ACL_OP_ALTER;
	if (op == ACL_OP_DESCRIBE_CONFIGS)
		return x->op == ACL_OP_ALTER_CONFIGS;
	return 0;
}

int acl_is_super(const acls_t *a, const char *principal)
{
	for (size_t i = 0; i < a->nsupers; i++)
		if (!strcmp(a->supers[i], principal))
			return 1;
	return 0;
}

static void bucket_add(bucket_t *k, size_t i)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 4;
		if (!(k->ix = realloc(k->ix, k->cap * sizeof *k->ix)))
			abort();
	}
	k->ix[k->n++] = (uint32_t)i;
}

static void index_drop(acls_t *a)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&a->lit, &it, &k, &kl, &v)) {
		free(((bucket_t *)v)->ix);
		free(v);
	}
	map_deinit(&a->lit);
	map_init(&a->lit);
	for (int t = 0; t <= ACL_RES_MAX; t++) {
		free(a->pre[t].ix);
		a->pre[t] = (bucket_t){0};
	}
}

/* The index key of (rtype, name): the type byte, then the name. */
static size_t lit_key(char *out, int rtype, const char *name, size_t n)
{
	out[0] = (char)rtype;
	memcpy(out + 1, name, n);
	return n + 1;
}

static void index_build(acls_t *a)
{
	index_drop(a);
	char key[ACL_STR_MAX + 1];
	for (size_t i = 0; i < a->n; i++) {
		const acl_binding_t *x = &a->v[i];
		if (x->ptype == ACL_PAT_PREFIXED) {
			bucket_add(&a->pre[x->rtype], i);
			continue;
		}
		size_t kl = lit_key(key, x->rtype, x->name, strlen(x->name));
		bucket_t *k = map_get(&a->lit, key, kl);
		if (!k) {
			if (!(k = calloc(1, sizeof *k)))
				abort();
			map_put(&a->lit, key, kl, k);
		}
		bucket_add(k, i);
	}
	a->dirty = 0;
}

/* Applies the bindings of bucket k that match the resource to *any (the
 * resource has bindings) and *allow; returns 1 when one denies. */
static int bucket_check(const acls_t *a, const bucket_t *k, const char *principal, const char *host,
                        const char *name, size_t n, int op, int *any, int *allow)
{
	for (size_t j = 0; k && j < k->n; j++) {
		const acl_binding_t *x = &a->v[k->ix[j]];
		if (!pattern_covers(x->ptype, x->name, name, n))
			continue;
		*any = 1;
		if (strcmp(x->principal, principal) != 0 && strcmp(x->principal, "User:*") != 0)
			continue;
		if (strcmp(x->host, "*") != 0 && strcmp(x->host, host) != 0)
			continue;
		if (!op_covers(x, op))
			continue;
		if (x->perm == ACL_PERM_DENY)
			return 1;
		*allow = 1;
	}
	return 0;
}

int acl_authorize(acls_t *a, const char *principal, const char *host, int rtype, const char *name,
                  size_t n, int op)
{
	if (acl_is_super(a, principal))
		return 1;
	if (rtype < 0 || rtype > ACL_RES_MAX)
		return 0;
	if (a->dirty)
		index_build(a);
	char key[ACL_STR_MAX + 1];
	int any = 0, allow = 0;
	/* A name longer than any binding's can only match "*" or a prefix. */
	const bucket_t *exact =
	    n <= ACL_STR_MAX ? map_get(&a->lit, key, lit_key(key, rtype, name, n)) : NULL;
	const bucket_t *star = map_get(&a->lit, key, lit_key(key, rtype, "*", 1));
	/* A deny anywhere wins (the resource named "*" finds one bucket twice:
	 * harmless). */
	if (bucket_check(a, exact, principal, host, name, n, op, &any, &allow) ||
	    bucket_check(a, star, principal, host, name, n, op, &any, &allow) ||
	    bucket_check(a, &a->pre[rtype], principal, host, name, n, op, &any, &allow))
		return 0;
	return any ? allow : a->allow_if_none;
}

int acl_authorize_any(const acls_t *a, const char *principal, const char *host, int rtype, int op)
{
	if (acl_is_super(a, principal))
		return 1;
	int any = 0;
	for (size_t i = 0; i < a->n; i++) {
		const acl_binding_t *x = &a->v[i];
		if (x->rtype != rtype)
			continue;
		any = 1;
		if ((strcmp(x->principal, principal) != 0 && strcmp(x->principal, "User:*") != 0) ||
		    (strcmp(x->host, "*") != 0 && strcmp(x->host, host) != 0))
			continue;
		if (x->perm == ACL_PERM_ALLOW && op_covers(x, op))
			return 1;
	}
	return !any && a->allow_if_none;
}

/* --- records ------------------------------------------------------------------ */

static void put_str(buf_t *b, const char *s)
{
	size_t n = strlen(s);
	buf_put_be16(b, (uint16_t)n);
	buf_append(b, s, n);
}

static void encode(buf_t *b, const acl_binding_t *x)
{
	buf_put_u8(b, (uint8_t)x->rtype);
	buf_put_u8(b, (uint8_t)x->ptype);
	put_str(b, x->name);
	put_str(b, x->principal);
	put_str(b, x->host);
	buf_put_u8(b, (uint8_t)x->op);
	buf_put_u8(b, (uint8_t)x->perm);
}

static char *dup_n(const void *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort(); /* the server's own bookkeeping */
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static char *get_str(rd_t *r)
{
	size_t n = rd_be16(r);
	const uint8_t *p = rd_bytes(r, n);
	if (r->err || memchr(p, 0, n))
		return NULL;
	return dup_n(p, n);
}

static void binding_deinit(acl_binding_t *x)
{
	free(x->name);
	free(x->principal);
	free(x->host);
}

/* Decodes a record into x (owned strings). 0 or SL_ECORRUPT. */
static int decode(const uint8_t *p, size_t len, acl_binding_t *x)
{
	rd_t r;
	rd_init(&r, p, len);
	memset(x, 0, sizeof *x);
	x->rtype = (int8_t)rd_u8(&r);
	x->ptype = (int8_t)rd_u8(&r);
	x->name = get_str(&r);
	x->principal = x->name ? get_str(&r) : NULL;
	x->host = x->principal ? get_str(&r) : NULL;
	x->op = (int8_t)rd_u8(&r);
	x->perm = (int8_t)rd_u8(&r);
	if (r.err || rd_left(&r) || !x->host || acl_binding_invalid(x)) {
		binding_deinit(x);
		return SL_ECORRUPT;
	}
	return 0;
}

static ssize_t find(const acls_t *a, const acl_binding_t *x)
{
	for (size_t i = 0; i < a->n; i++)
		if (same_binding(&a->v[i], x))
			return (ssize_t)i;
	return -1;
}

static void garbage(acls_t *a, uint64_t bytes)
{
	if (a->j)
		jrnl_garbage(a->j, bytes);
	else
		a->replay_gar += bytes;
}

/* Takes x's strings. */
static void apply_add(acls_t *a, acl_binding_t *x, uint64_t rec_bytes)
{
	if (find(a, x) >= 0) {
		binding_deinit(x);
		garbage(a, rec_bytes);
		return;
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		if (!(a->v = realloc(a->v, a->cap * sizeof *a->v)))
			abort();
	}
	x->rec_bytes = rec_bytes;
	a->v[a->n++] = *x;
	a->dirty = 1;
}

static void apply_delete(acls_t *a, size_t i, uint64_t rec_bytes)
{
	garbage(a, a->v[i].rec_bytes + rec_bytes);
	binding_deinit(&a->v[i]);
	a->v[i] = a->v[--a->n];
	a->dirty = 1;
}

static int on_replay(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	acls_t *a = arg;
	acl_binding_t x;
	if ((type != REC_ADD && type != REC_DELETE) || decode(p, len, &x) < 0)
		return SL_ECORRUPT;
	if (type == REC_ADD) {
		apply_add(a, &x, jrnl_record_size(len));
		return 0;
	}
	ssize_t i = find(a, &x);
	binding_deinit(&x);
	if (i >= 0)
		apply_delete(a, (size_t)i, jrnl_record_size(len));
	else
		garbage(a, jrnl_record_size(len));
	return 0;
}

static int snapshot(void *arg, jrnl_t *j)
{
	acls_t *a = arg;
	buf_t b;
	buf_init(&b);
	int rc = 0;
	for (size_t i = 0; i < a->n && rc == 0; i++) {
		buf_reset(&b);
		encode(&b, &a->v[i]);
		rc = jrnl_append(j, REC_ADD, buf_data(&b), buf_len(&b));
		a->v[i].rec_bytes = jrnl_record_size(buf_len(&b));
	}
	buf_deinit(&b);
	return rc;
}

/* --- the API ------------------------------------------------------------------ */

size_t acl_count(const acls_t *a)
{
	return a->n;
}

const acl_binding_t *acl_next(const acls_t *a, size_t *it)
{
	return *it < a->n ? &a->v[(*it)++] : NULL;
}

int acl_create(acls_t *a, const acl_binding_t *x)
{
	if (acl_binding_invalid(x))
		return SL_EINVAL;
	if (find(a, x) >= 0)
		return 0;
	if (a->n >= ACL_MAX_BINDINGS)
		return SL_ETOOBIG;
	buf_t b;
	buf_init(&b);
	encode(&b, x);
	size_t len = buf_len(&b);
	int rc = jrnl_append(a->j, REC_ADD, buf_data(&b), len);
	if (rc == 0)
		rc = jrnl_commit_now(a->j);
	buf_deinit(&b);
	if (rc < 0) {
		log_error(a->log, "acls: cannot write a new ACL: %s", sl_strerror(rc));
		return rc;
	}
	acl_binding_t c = *x;
	c.name = dup_n(x->name, strlen(x->name));
	c.principal = dup_n(x->principal, strlen(x->principal));
	c.host = dup_n(x->host, strlen(x->host));
	apply_add(a, &c, jrnl_record_size(len));
	(void)jrnl_maybe_compact(a->j, snapshot, a);
	return 0;
}

int acl_delete(acls_t *a, const acl_binding_t *f, void (*fn)(void *arg, const acl_binding_t *x),
               void *arg)
{
	/* All DELETE records first, one sync, then apply: a failure leaves
	 * every binding in place. */
	buf_t b;
	buf_init(&b);
	int rc = 0, any = 0;
	for (size_t i = 0; i < a->n && rc == 0; i++) {
		if (!acl_filter_matches(f, &a->v[i]))
			continue;
		buf_reset(&b);
		encode(&b, &a->v[i]);
		rc = jrnl_append(a->j, REC_DELETE, buf_data(&b), buf_len(&b));
		any = 1;
	}
	if (rc == 0 && any)
		rc = jrnl_commit_now(a->j);
	if (rc < 0) {
		buf_deinit(&b);
		log_error(a->log, "acls: cannot write the deletion of ACLs: %s", sl_strerror(rc));
		return rc;
	}
	for (size_t i = 0; i < a->n;) {
		if (!acl_filter_matches(f, &a->v[i])) {
			i++;
			continue;
		}
		buf_reset(&b);
		encode(&b, &a->v[i]);
		if (fn)
			fn(arg, &a->v[i]);
		apply_delete(a, i, jrnl_record_size(buf_len(&b)));
	}
	buf_deinit(&b);
	if (any)
		(void)jrnl_maybe_compact(a->j, snapshot, a);
	return 0;
}

/* --- open and close ----------------------------------------------------------- */

static void add_super(acls_t *a, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n)
		return;
	if (!(a->supers = realloc(a->supers, (a->nsupers + 1) * sizeof *a->supers)))
		abort();
	a->supers[a->nsupers++] = dup_n(s, n);
}

/* super.users is Kafka's ';'-separated list ("User:alice;User:bob"); ','
 * is accepted too. The bootstrap admin (auth.admin.user) is always a super
 * user, so that a secured install can manage its ACLs from the start. */
static void read_config(acls_t *a)
{
	const sl_config_t *cfg = a->b->cfg;
	const char *s = cfg->super_users ? cfg->super_users : "";
	while (*s) {
		size_t n = strcspn(s, ";,");
		add_super(a, s, n);
		s += n + (s[n] != 0);
	}
	const char *admin =
	    cfg->auth_admin_user && *cfg->auth_admin_user ? cfg->auth_admin_user : "admin";
	char p[600];
	snprintf(p, sizeof p, "User:%s", admin);
	add_super(a, p, strlen(p));
	a->allow_if_none = cfg->allow_everyone_if_no_acl_found;
}

int acl_open(acls_t **out, broker_t *b)
{
	acls_t *a = calloc(1, sizeof *a);
	if (!a)
		abort();
	a->b = b;
	a->log = b->log;
	map_init(&a->lit);
	a->dirty = 1;
	read_config(a);
	/* The user database's directory and settings (write-ahead, synced). */
	int rc = users_journal_open(b, "acls", 1u << 16, on_replay, a, &a->j);
	if (rc < 0) {
		acl_close(a);
		return rc;
	}
	jrnl_garbage(a->j, a->replay_gar);
	a->replay_gar = 0;
	if (a->n)
		log_info(b->log, "acls: %zu Kafka ACLs", a->n);
	*out = a;
	return 0;
}

void acl_close(acls_t *a)
{
	if (!a)
		return;
	if (a->j)
		jrnl_close(a->j);
	index_drop(a);
	map_deinit(&a->lit);
	for (size_t i = 0; i < a->n; i++)
		binding_deinit(&a->v[i]);
	free(a->v);
	for (size_t i = 0; i < a->nsupers; i++)
		free(a->supers[i]);
	free(a->supers);
	free(a);
}

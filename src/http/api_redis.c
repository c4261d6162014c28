/*
 * api_redis.c — the admin API's Redis side: keys by pattern with type,
 * length and TTL; streams with their groups, consumers, pending entries
 * and idle times; deleting a key (docs/http-api.md).
 *
 * Listing walks the keyspace like SCAN: from a cursor, looking at most
 * SCAN_BUDGET keys per request and returning the cursor to go on from
 * (0 when the walk is done), so a large keyspace never stalls the loop.
 * Deleting is ks_del, the call DEL makes; its reply goes through ks_reply
 * like a RESP reply (durable first under fsync=always; a 503 when the
 * deletion could not be made durable).
 * Loop thread only.
 */
#include "http/http.h"

#include "broker/keyspace.h"
#include "broker/keyspace_glob.h"
#include "broker/hash.h"
#include "broker/set.h"
#include "broker/zset.h"
#include "core/err.h"
#include "core/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_BUDGET 10000
#define KEYS_DEFAULT 100
#define KEYS_MAX 1000
#define PREVIEW_MAX 256
#define PENDING_SHOWN 100
#define ENTRIES_SHOWN 20

static keyspace_t *keyspace(http_req_t *r)
{
	keyspace_t *ks = r->h->b->ks;
	if (!ks)
		http_error(r, 503, "the Redis keyspace is not open");
	return ks;
}

static void sid_json(buf_t *b, sid_t id)
{
	char s[SID_STRLEN];
	sid_fmt(id, s);
	buf_printf(b, "\"%s\"", s);
}

static int64_t length_of(const ks_obj_t *o)
{
	switch (o->type) {
	case KS_STREAM:
		return (int64_t)((const stream_t *)o->ptr)->length;
	case KS_LIST:
		return (int64_t)qlist_len(o->ptr);
	case KS_STRING:
		return (int64_t)((const qlv_t *)o->ptr)->len;
	case KS_HASH:
		return (int64_t)rhash_len(o->ptr);
	case KS_SET:
		return (int64_t)rset_len(o->ptr);
	case KS_ZSET:
		return (int64_t)zset_len(o->ptr);
	}
	return 0;
}

void api_redis_keys(http_req_t *r)
{
	keyspace_t *ks = keyspace(r);
	if (!ks)
		return;
	char pat[512] = "*", type[16] = "";
	int64_t cursor = 0, limit = KEYS_DEFAULT;
	(void)http_query(r, "pattern", pat, sizeof pat);
	(void)http_query(r, "type", type, sizeof type);
	if (http_query_int(r, "cursor", &cursor) < 0 || cursor < 0 ||
	    http_query_int(r, "limit", &limit) < 0 || limit < 1 || limit > KEYS_MAX) {
		http_error(r, 400, "cursor must be an integer >= 0, limit 1 to %d", KEYS_MAX);
		return;
	}
	if (type[0] && strcmp(type, "string") && strcmp(type, "list") && strcmp(type, "stream") &&
	    strcmp(type, "hash") && strcmp(type, "set") && strcmp(type, "zset")) {
		http_error(r, 400, "type must be string, list, hash, set, zset or stream");
		return;
	}
	int64_t now = time_wall_ms();
	buf_t b = BUF_INIT;
	buf_printf(&b, "{\"total\":%zu,\"keys\":[", ks_size(ks));
	size_t it = (size_t)cursor, n = 0, seen = 0, kl;
	const char *k;
	ks_obj_t *o;
	int more = 0;
	while (n < (size_t)limit) {
		if (seen++ >= SCAN_BUDGET || !ks_next(ks, &it, &k, &kl, &o)) {
			more = seen > SCAN_BUDGET;
			break;
		}
		if (ks_expired(ks, k, kl) || !ks_glob_match(pat, strlen(pat), k, kl, 0) ||
		    (type[0] && strcmp(ks_type_name(o->type), type)))
			continue;
		int64_t at = ks_expire_at(ks, k, kl);
		buf_puts(&b, n++ ? ",{\"key\":" : "{\"key\":");
		json_strn(&b, k, kl);
		buf_printf(&b, ",\"type\":\"%s\",\"length\":%lld,\"ttl_ms\":%lld",
		           ks_type_name(o->type), (long long)length_of(o),
		           (long long)(at ? (at > now ? at - now : 0) : -1));
		if (o->type == KS_STRING) {
			const qlv_t *v = o->ptr;
			size_t pn = v->len < PREVIEW_MAX ? v->len : PREVIEW_MAX;
			buf_puts(&b, ",\"value\":");
			if (json_utf8_ok((const uint8_t *)v->p, pn))
				json_strn(&b, v->p, pn);
			else
				buf_puts(&b, "null");
			buf_puts(&b, ",\"value_b64\":");
			json_b64(&b, (const uint8_t *)v->p, pn);
			buf_printf(&b, ",\"truncated\":%s", pn < v->len ? "true" : "false");
		}
		buf_puts(&b, "}");
	}
	/* A full page may have ended exactly at the end: look once more. */
	if (!more && n == (size_t)limit) {
		size_t peek = it;
		more = ks_next(ks, &peek, &k, &kl, &o);
	}
	buf_printf(&b, "],\"cursor\":%llu}\n", more ? (unsigned long long)it : 0ULL);
	http_json(r, 200, &b);
	buf_deinit(&b);
}

void api_redis_key_delete(http_req_t *r)
{
	keyspace_t *ks = keyspace(r);
	if (!ks)
		return;
	const char *key = r->seg[4];
	size_t kl = strlen(key);
	int64_t deleted = 0;
	int rc = ks_del(ks, 1, &key, &kl, &deleted);
	if (rc < 0) {
		http_error(r, http_status_of(rc), "cannot delete %s: %s", key, sl_strerror(rc));
		return;
	}
	if (!deleted) {
		http_error(r, 404, "no key %s", key);
		return;
	}
	log_info(r->h->b->log, "http: %s deleted Redis key %s", r->c->peer, key);
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"deleted\":");
	json_str(&b, key);
	buf_puts(&b, "}\n");
	http_json_ks(r, ks, 200, &b);
	buf_deinit(&b);
}

static void stream_summary(buf_t *b, const char *k, size_t kl, stream_t *s)
{
	size_t ng;
	sgroup_t **g = stream_groups_sorted(s, &ng);
	size_t pending = 0;
	for (size_t i = 0; i < ng; i++)
		pending += g[i]->pel.n;
	free(g);
	const sentry_t *first = stream_first(s), *last = stream_last(s);
	buf_puts(b, "{\"key\":");
	json_strn(b, k, kl);
	buf_printf(b, ",\"length\":%llu,\"first_id\":", (unsigned long long)s->length);
	if (first)
		sid_json(b, first->id);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"last_id\":");
	if (last)
		sid_json(b, last->id);
	else
		buf_puts(b, "null");
	buf_printf(b, ",\"groups\":%zu,\"pending\":%zu}", ng, pending);
}

void api_redis_streams(http_req_t *r)
{
	keyspace_t *ks = keyspace(r);
	if (!ks)
		return;
	int64_t cursor = 0;
	if (http_query_int(r, "cursor", &cursor) < 0 || cursor < 0) {
		http_error(r, 400, "cursor must be an integer >= 0");
		return;
	}
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"streams\":[");
	size_t it = (size_t)cursor, n = 0, seen = 0, kl;
	const char *k;
	ks_obj_t *o;
	int more = 0;
	for (;;) {
		if (seen++ >= SCAN_BUDGET) {
			more = 1;
			break;
		}
		if (!ks_next(ks, &it, &k, &kl, &o))
			break;
		if (o->type != KS_STREAM || ks_expired(ks, k, kl))
			continue;
		if (n++)
			buf_puts(&b, ",");
		stream_summary(&b, k, kl, o->ptr);
	}
	buf_printf(&b, "],\"cursor\":%llu}\n", more ? (unsigned long long)it : 0ULL);
	http_json(r, 200, &b);
	buf_deinit(&b);
}

/* The packed fields of an entry as [["field","value"],...]. */
static void fields_json(buf_t *b, stream_t *s, const sentry_t *e)
{
	const uint8_t *p = stream_entry_data(s, e);
	if (!p) {
		buf_puts(b, "null");
		return;
	}
	buf_puts(b, "[");
	for (uint32_t i = 0; i < e->npairs; i++) {
		const uint8_t *f, *v;
		uint32_t fn, vn;
		p = sentry_field(p, &f, &fn);
		p = sentry_field(p, &v, &vn);
		buf_puts(b, i ? ",[" : "[");
		json_strn(b, (const char *)f, fn);
		buf_puts(b, ",");
		json_strn(b, (const char *)v, vn);
		buf_puts(b, "]");
	}
	buf_puts(b, "]");
}

void api_redis_stream_get(http_req_t *r)
{
	keyspace_t *ks = keyspace(r);
	if (!ks)
		return;
	const char *key = r->seg[4];
	stream_t *s = NULL;
	if (ks_stream(ks, key, strlen(key), &s) < 0) {
		http_error(r, 409, "%s holds a %s, not a stream", key,
		           ks_type_name(ks_find(ks, key, strlen(key))->type));
		return;
	}
	if (!s) {
		http_error(r, 404, "no stream %s", key);
		return;
	}
	int64_t now = time_wall_ms();
	buf_t b = BUF_INIT;
	stream_summary(&b, key, strlen(key), s);
	b.end--; /* reopen the summary object */
	buf_printf(&b, ",\"entries_added\":%llu,\"groups_detail\":[",
	           (unsigned long long)s->entries_added);
	size_t ng;
	sgroup_t **g = stream_groups_sorted(s, &ng);
	for (size_t i = 0; i < ng; i++) {
		int valid;
		int64_t lag = stream_group_lag(s, g[i], &valid);
		buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
		json_strn(&b, g[i]->name, g[i]->nlen);
		buf_puts(&b, ",\"last_delivered_id\":");
		sid_json(&b, g[i]->last_id);
		buf_printf(&b, ",\"entries_read\":%lld,\"lag\":", (long long)g[i]->entries_read);
		if (valid)
			buf_printf(&b, "%lld", (long long)lag);
		else
			buf_puts(&b, "null");
		buf_printf(&b, ",\"pending\":%zu,\"consumers\":[", g[i]->pel.n);
		size_t nc;
		sconsumer_t **c = stream_consumers_sorted(g[i], &nc);
		for (size_t k = 0; k < nc; k++) {
			buf_puts(&b, k ? ",{\"name\":" : "{\"name\":");
			json_strn(&b, c[k]->name, c[k]->nlen);
			buf_printf(&b, ",\"pending\":%zu,\"idle_ms\":%lld}", c[k]->pel.n,
			           (long long)(now > c[k]->seen_time ? now - c[k]->seen_time : 0));
		}
		free(c);
		buf_puts(&b, "],\"pending_entries\":[");
		for (size_t k = 0; k < g[i]->pel.n && k < PENDING_SHOWN; k++) {
			const snack_t *nk = g[i]->pel.v[k];
			buf_puts(&b, k ? ",{\"id\":" : "{\"id\":");
			sid_json(&b, nk->id);
			buf_puts(&b, ",\"consumer\":");
			json_strn(&b, nk->consumer->name, nk->consumer->nlen);
			buf_printf(
			    &b, ",\"idle_ms\":%lld,\"deliveries\":%llu}",
			    (long long)(now > nk->delivery_time ? now - nk->delivery_time : 0),
			    (unsigned long long)nk->delivery_count);
		}
		buf_puts(&b, "]}");
	}
	free(g);
	/* The newest entries, newest first. */
	buf_puts(&b, "],\"entries\":[");
	siter_t it;
	stream_iter(&it, s, SID_MIN, SID_MAX, 1);
	sentry_t *e;
	for (int n = 0; n < ENTRIES_SHOWN && (e = stream_iter_next(&it)); n++) {
		buf_puts(&b, n ? ",{\"id\":" : "{\"id\":");
		sid_json(&b, e->id);
		buf_puts(&b, ",\"fields\":");
		fields_json(&b, s, e);
		buf_puts(&b, "}");
	}
	buf_puts(&b, "]}\n");
	http_json(r, 200, &b);
	buf_deinit(&b);
}

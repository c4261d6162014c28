/*
 * db.c — the RESP keyspace: key → type-tagged object.
 *
 * One database (SELECT 0 only). Each type is one case in the switches
 * below (name, free, journal deletion); a new type (lists, strings, hashes)
 * adds an enum value and its cases, and TYPE/DEL/EXISTS/KEYS/SCAN/FLUSHDB/
 * DBSIZE work for it unchanged. Deleting a key journals the deletion and
 * signals blocked clients (an XREADGROUP waiting on a deleted stream gets
 * Redis's UNBLOCKED error). Loop thread only.
 */
#include "proto/resp/c_lists.h"
#include "proto/resp/resp.h"

#include <stdlib.h>

const char *resp_type_name(resp_type_id_t t)
{
	switch (t) {
	case RESP_T_STREAM:
		return "stream";
	case RESP_T_LIST:
		return "list";
	case RESP_T_STRING:
		return "string";
	}
	return "none";
}

static void obj_free(resp_obj_t *o)
{
	switch (o->type) {
	case RESP_T_STREAM:
		stream_free(o->ptr);
		break;
	case RESP_T_LIST:
	case RESP_T_STRING:
		resp_lx_obj_free(o);
		break;
	}
	free(o);
}

resp_obj_t *resp_db_find(resp_srv_t *srv, const char *key, size_t klen)
{
	if (srv->lx)
		resp_lx_expire_if_needed(srv, key, klen);
	return map_get(&srv->keys, key, klen);
}

resp_obj_t *resp_db_add(resp_srv_t *srv, const char *key, size_t klen, resp_type_id_t t, void *ptr)
{
	resp_obj_t *o = malloc(sizeof *o);
	if (!o)
		abort();
	o->type = t;
	o->ptr = ptr;
	resp_obj_t *old = map_put(&srv->keys, key, klen, o);
	if (old) {
		/* A stream overwritten by another type loses its log like a
		 * deleted one. */
		if (old->type == RESP_T_STREAM && srv->store)
			sstore_log_delkey(srv->store, key, klen, old->ptr);
		obj_free(old);
	}
	return o;
}

int resp_db_delete(resp_srv_t *srv, const char *key, size_t klen)
{
	resp_obj_t *o = map_del(&srv->keys, key, klen);
	if (!o)
		return 0;
	if (o->type == RESP_T_STREAM && srv->store)
		sstore_log_delkey(srv->store, key, klen, o->ptr);
	if (srv->lx)
		resp_lx_on_delete(srv, key, klen, o);
	obj_free(o);
	resp_signal_key(srv, key, klen);
	return 1;
}

void resp_db_flush(resp_srv_t *srv)
{
	/* Collect first: deleting while iterating the map is not allowed. */
	size_t n = map_len(&srv->keys), i = 0, it = 0;
	char **keys = malloc((n ? n : 1) * sizeof *keys);
	size_t *lens = malloc((n ? n : 1) * sizeof *lens);
	if (!keys || !lens)
		abort();
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&srv->keys, &it, &k, &kl, &v)) {
		keys[i] = malloc(kl + 1);
		if (!keys[i])
			abort();
		memcpy(keys[i], k, kl + 1);
		lens[i++] = kl;
	}
	for (size_t j = 0; j < i; j++) {
		resp_db_delete(srv, keys[j], lens[j]);
		free(keys[j]);
	}
	free(keys);
	free(lens);
	if (srv->store)
		sstore_maintain(srv->store);
}

size_t resp_db_size(resp_srv_t *srv) { return map_len(&srv->keys); }

void resp_db_free_all(resp_srv_t *srv)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&srv->keys, &it, &k, &kl, &v))
		obj_free(v);
	map_deinit(&srv->keys);
	map_init(&srv->keys);
}

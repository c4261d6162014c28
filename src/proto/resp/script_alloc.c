/*
 * script_alloc.c — the Lua engine's caching allocator (script_alloc.h).
 */
#include "proto/resp/script_alloc.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define SCRIPT_ALLOC_PASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCRIPT_ALLOC_PASS 1
#endif
#endif
#ifndef SCRIPT_ALLOC_PASS
#define SCRIPT_ALLOC_PASS 0
#endif

/* Class of a small size (1..SCRIPT_ALLOC_MAX), and the size it stands for. */
static size_t class_of(size_t n)
{
	return (n - 1) / SCRIPT_ALLOC_STEP;
}

static size_t class_size(size_t c)
{
	return (c + 1) * SCRIPT_ALLOC_STEP;
}

static void *small_get(script_pool_t *p, size_t n)
{
	size_t c = class_of(n);
	void *b = p->free[c];
	if (b) {
		memcpy(&p->free[c], b, sizeof(void *));
		p->cached -= class_size(c);
		/* The blocks freed by a collection are cold by the time they
		 * are reused: fetching the next one now hides most of the
		 * miss its allocation would take. */
		if (p->free[c])
			__builtin_prefetch(p->free[c], 1);
		return b;
	}
	return malloc(class_size(c));
}

static void small_put(script_pool_t *p, void *b, size_t n)
{
	size_t c = class_of(n);
	if (p->cached + class_size(c) > SCRIPT_ALLOC_CACHE_BYTES) {
		free(b);
		return;
	}
	memcpy(b, &p->free[c], sizeof(void *));
	p->free[c] = b;
	p->cached += class_size(c);
}

void *script_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	script_pool_t *p = ud;
	if (SCRIPT_ALLOC_PASS) {
		if (nsize == 0) {
			free(ptr);
			return NULL;
		}
		return realloc(ptr, nsize);
	}
	/* Lua passes a block's exact old size (0 for a new one), so the
	 * class of a block is known without a header. */
	int osmall = ptr && osize <= SCRIPT_ALLOC_MAX;
	if (nsize == 0) {
		if (osmall)
			small_put(p, ptr, osize);
		else
			free(ptr);
		return NULL;
	}
	if (!ptr)
		return nsize <= SCRIPT_ALLOC_MAX ? small_get(p, nsize) : malloc(nsize);
	if (!osmall && nsize > SCRIPT_ALLOC_MAX)
		return realloc(ptr, nsize);
	if (osmall && nsize <= SCRIPT_ALLOC_MAX && class_of(osize) == class_of(nsize))
		return ptr;
	/* Between a class and another or a large block: move it. On failure
	 * the old block stays valid, as Lua requires. */
	void *b = nsize <= SCRIPT_ALLOC_MAX ? small_get(p, nsize) : malloc(nsize);
	if (!b)
		return NULL;
	memcpy(b, ptr, osize < nsize ? osize : nsize);
	if (osmall)
		small_put(p, ptr, osize);
	else
		free(ptr);
	return b;
}

void script_pool_drain(script_pool_t *p)
{
	for (size_t c = 0; c < SCRIPT_ALLOC_CLASSES; c++) {
		void *b = p->free[c];
		while (b) {
			void *next;
			memcpy(&next, b, sizeof next);
			free(b);
			b = next;
		}
		p->free[c] = NULL;
	}
	p->cached = 0;
}

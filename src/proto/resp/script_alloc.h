/*
 * script_alloc.h — the Lua engine's allocator (script_lua.c): glibc's
 * malloc with a cache of freed small blocks per size class in front.
 *
 * Why: a script's Lua state allocates and frees many small objects
 * (strings, tables, closures) per call, and its collector frees them in
 * bursts that overflow glibc's per-size caches, so most of them took
 * malloc's slow paths (bullmq's scripts spent about 6% of the server's
 * time there). Every block still comes from malloc and may go back to
 * free: a small block is malloc'd at its class size, so any freed block
 * of a class can serve the next request of that class. The cache is
 * bounded (SCRIPT_ALLOC_CACHE_BYTES), so memory a script let go beyond
 * that returns to malloc at once.
 *
 * Under AddressSanitizer nothing is cached, so a use after free in the
 * engine is still caught. Loop thread only (one engine, one pool).
 */
#ifndef SL_PROTO_RESP_SCRIPT_ALLOC_H
#define SL_PROTO_RESP_SCRIPT_ALLOC_H

#include <stddef.h>

/* Blocks up to SCRIPT_ALLOC_MAX bytes are cached, in classes of
 * SCRIPT_ALLOC_STEP bytes. */
#define SCRIPT_ALLOC_STEP 16
#define SCRIPT_ALLOC_MAX 512
#define SCRIPT_ALLOC_CLASSES (SCRIPT_ALLOC_MAX / SCRIPT_ALLOC_STEP)
#define SCRIPT_ALLOC_CACHE_BYTES (4u << 20)

typedef struct script_pool {
	void *free[SCRIPT_ALLOC_CLASSES]; /* each block's first word links the next */
	size_t cached;                    /* bytes held in the lists */
} script_pool_t;

/* A lua_Alloc: ud is the script_pool_t. */
void *script_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Returns the cached blocks to malloc (after lua_close). */
void script_pool_drain(script_pool_t *p);

#endif

/*
 * heap.h — intrusive binary min-heap.
 *
 * Elements embed a heap_node_t and the heap stores pointers to those nodes;
 * each node remembers its slot, so remove and re-key are O(log n) without a
 * search. Used for the event loop's timers and for beanstalkd's ready and
 * delay queues. The ordering function must be a strict weak order; ties
 * should be broken by the caller (e.g. by job id) for deterministic order.
 * Not thread-safe.
 */
#ifndef SL_CORE_HEAP_H
#define SL_CORE_HEAP_H

#include <stddef.h>

#define HEAP_NONE ((size_t)-1)

typedef struct heap_node {
	size_t heap_idx; /* HEAP_NONE when not in a heap */
} heap_node_t;

typedef int (*heap_less_fn)(const heap_node_t *a, const heap_node_t *b);

typedef struct heap {
	heap_node_t **v;
	size_t n;
	size_t cap;
	heap_less_fn less;
} heap_t;

void heap_init(heap_t *h, heap_less_fn less);
void heap_deinit(heap_t *h);

static inline void heap_node_init(heap_node_t *n)
{
	n->heap_idx = HEAP_NONE;
}
static inline int heap_node_linked(const heap_node_t *n)
{
	return n->heap_idx != HEAP_NONE;
}
static inline size_t heap_len(const heap_t *h)
{
	return h->n;
}
static inline heap_node_t *heap_peek(const heap_t *h)
{
	return h->n ? h->v[0] : NULL;
}

/* Inserts a node that is not in any heap. Aborts on out-of-memory. */
void heap_push(heap_t *h, heap_node_t *node);
/* Removes and returns the minimum, or NULL when empty. */
heap_node_t *heap_pop(heap_t *h);
/* Removes a node that is in this heap. */
void heap_remove(heap_t *h, heap_node_t *node);
/* Restores order after the node's key changed. */
void heap_update(heap_t *h, heap_node_t *node);

#endif

/* heap.c — see heap.h. */
#include "core/heap.h"

#include <stdlib.h>

void heap_init(heap_t *h, heap_less_fn less)
{
	h->v = NULL;
	h->n = h->cap = 0;
	h->less = less;
}

void heap_deinit(heap_t *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i]->heap_idx = HEAP_NONE;
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

static void place(heap_t *h, size_t i, heap_node_t *node)
{
	h->v[i] = node;
	node->heap_idx = i;
}

static void sift_up(heap_t *h, size_t i)
{
	heap_node_t *node = h->v[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!h->less(node, h->v[parent]))
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, node);
}

static void sift_down(heap_t *h, size_t i)
{
	heap_node_t *node = h->v[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		heap_node_t *best = node;
		if (l < h->n && h->less(h->v[l], best)) {
			m = l;
			best = h->v[l];
		}
		if (r < h->n && h->less(h->v[r], best)) {
			m = r;
			best = h->v[r];
		}
		if (m == i)
			break;
		place(h, i, best);
		i = m;
	}
	place(h, i, node);
}

void heap_push(heap_t *h, heap_node_t *node)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		heap_node_t **v = realloc(h->v, cap * sizeof *v);
		if (!v)
			abort();
		h->v = v;
		h->cap = cap;
	}
	place(h, h->n++, node);
	sift_up(h, h->n - 1);
}

heap_node_t *heap_pop(heap_t *h)
{
	if (!h->n)
		return NULL;
	heap_node_t *top = h->v[0];
	heap_remove(h, top);
	return top;
}

void heap_remove(heap_t *h, heap_node_t *node)
{
	size_t i = node->heap_idx;
	node->heap_idx = HEAP_NONE;
	h->n--;
	if (i == h->n)
		return;
	place(h, i, h->v[h->n]);
	heap_update(h, h->v[i]);
}

void heap_update(heap_t *h, heap_node_t *node)
{
	size_t i = node->heap_idx;
	if (i > 0 && h->less(node, h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

/*
 * list.h — the value of a Redis list: a deque of chunks (quicklist-like).
 *
 * A list is a doubly linked chain of chunks, each an array of up to
 * QLIST_CHUNK element pointers with a used window [off, off+n). Pushes and
 * pops at either end are O(1); indexing walks chunks (O(n/QLIST_CHUNK));
 * inserting or removing in the middle moves pointers inside one chunk,
 * splitting a full one. Elements are owned, immutable byte strings
 * (qlv_t), so moving one between lists (LMOVE) moves a pointer.
 * Invariant: no chunk in the chain is empty; len is the element count.
 * Not thread-safe (loop thread only, like everything in broker/).
 */
#ifndef SL_BROKER_LIST_H
#define SL_BROKER_LIST_H

#include <stddef.h>
#include <stdint.h>

#define QLIST_CHUNK 128

typedef struct qlv {
	size_t len;
	char p[];
} qlv_t;

typedef struct qchunk qchunk_t;

typedef struct qlist {
	qchunk_t *head, *tail;
	size_t len;
	uint64_t bytes; /* sum of element lengths */
} qlist_t;

typedef struct qlist_iter {
	qchunk_t *c;
	int i;   /* index inside the chunk's window */
	int rev; /* walking tail → head */
} qlist_iter_t;

/* Returns an owned element copying p[0..n). */
qlv_t *qlv_new(const void *p, size_t n);

qlist_t *qlist_new(void);
void qlist_free(qlist_t *l);
static inline size_t qlist_len(const qlist_t *l)
{
	return l->len;
}
/* Takes ownership of v. */
void qlist_push(qlist_t *l, int tail, qlv_t *v);
/* Returns the owned element, or NULL when empty. */
qlv_t *qlist_pop(qlist_t *l, int tail);
/* Normalises a Redis index (negative counts from the tail); -1 if out of
 * range. */
int64_t qlist_norm(const qlist_t *l, int64_t idx);
/* A view of element idx (0 <= idx < len), valid until the list changes. */
qlv_t *qlist_at(const qlist_t *l, int64_t idx);
/* Replaces element idx (0 <= idx < len), taking ownership of v. */
void qlist_set(qlist_t *l, int64_t idx, qlv_t *v);
/* Inserts v before position idx (0 <= idx <= len). */
void qlist_insert(qlist_t *l, int64_t idx, qlv_t *v);
/* Removes elements equal to p[0..n): count > 0 the first count from the
 * head, < 0 from the tail, 0 all. Returns how many were removed. */
size_t qlist_rem(qlist_t *l, int64_t count, const void *p, size_t n);
/* Keeps only [start, stop] (normalised as LTRIM does). */
void qlist_trim(qlist_t *l, int64_t start, int64_t stop);
/* Iteration from element idx (0 <= idx < len) towards the tail (rev 0) or
 * head (rev 1); next returns views, NULL at the end. */
void qlist_iter_init(const qlist_t *l, qlist_iter_t *it, int64_t idx, int rev);
qlv_t *qlist_iter_next(qlist_iter_t *it);

#endif

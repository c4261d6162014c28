/* The intrusive heap against a brute-force model: random pushes, pops,
 * removes and re-keys keep min order and slot bookkeeping right. */
#include "core/heap.h"
#include "test.h"

typedef struct item {
	heap_node_t node;
	int key;
	int id;
} item_t;

static int item_less(const heap_node_t *a, const heap_node_t *b)
{
	const item_t *x = (const item_t *)a, *y = (const item_t *)b;
	return x->key != y->key ? x->key < y->key : x->id < y->id;
}

TEST(heap_random_model)
{
	enum { N = 2000 };
	static item_t items[N];
	heap_t h;
	heap_init(&h, item_less);
	uint64_t seed = 7;
	for (int i = 0; i < N; i++) {
		items[i].id = i;
		heap_node_init(&items[i].node);
	}
	for (int step = 0; step < 20000; step++) {
		item_t *it = &items[test_rand(&seed) % N];
		int op = (int)(test_rand(&seed) % 4);
		if (!heap_node_linked(&it->node)) {
			it->key = (int)(test_rand(&seed) % 100);
			heap_push(&h, &it->node);
		} else if (op == 0) {
			heap_remove(&h, &it->node);
			CHECK(!heap_node_linked(&it->node));
		} else if (op == 1) {
			it->key = (int)(test_rand(&seed) % 100);
			heap_update(&h, &it->node);
		} else if (op == 2 && heap_len(&h)) {
			/* The top must be the model's minimum. */
			item_t *best = NULL;
			for (int i = 0; i < N; i++)
				if (heap_node_linked(&items[i].node) &&
				    (!best || item_less(&items[i].node, &best->node)))
					best = &items[i];
			CHECK(heap_pop(&h) == &best->node);
		}
	}
	int last_key = -1, last_id = -1;
	while (heap_len(&h)) {
		item_t *it = (item_t *)heap_pop(&h);
		CHECK(it->key > last_key || (it->key == last_key && it->id > last_id));
		last_key = it->key;
		last_id = it->id;
	}
	CHECK(heap_pop(&h) == NULL);
	heap_deinit(&h);
}

/* The hash map against a brute-force model, including deletion runs that
 * wrap around the table (backward-shift deletion). */
#include "core/map.h"
#include "test.h"

TEST(map_put_get_del_model)
{
	enum { N = 5000 };
	static int present[N];
	static int vals[N];
	map_t m;
	map_init(&m);
	uint64_t seed = 99;
	size_t count = 0;
	for (int step = 0; step < 60000; step++) {
		int k = (int)(test_rand(&seed) % N);
		char key[32];
		int klen = snprintf(key, sizeof key, "key:%d", k);
		switch (test_rand(&seed) % 3) {
		case 0:
			vals[k] = step;
			if (map_put(&m, key, (size_t)klen, &vals[k]) == NULL)
				count++;
			present[k] = 1;
			break;
		case 1:
			if (map_del(&m, key, (size_t)klen)) {
				CHECK(present[k]);
				count--;
			} else {
				CHECK(!present[k]);
			}
			present[k] = 0;
			break;
		default:
			CHECK((map_get(&m, key, (size_t)klen) != NULL) == present[k]);
		}
		CHECK_EQ(map_len(&m), count);
	}
	for (int k = 0; k < N; k++) {
		char key[32];
		int klen = snprintf(key, sizeof key, "key:%d", k);
		void *v = map_get(&m, key, (size_t)klen);
		CHECK((v != NULL) == present[k]);
		if (v)
			CHECK(v == &vals[k]);
	}
	size_t it = 0, seen = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&m, &it, &k, &kl, &v)) {
		CHECK_EQ(strlen(k), kl);
		seen++;
	}
	CHECK_EQ(seen, count);
	map_deinit(&m);
}

TEST(map_binary_keys)
{
	map_t m;
	map_init(&m);
	int a = 1, b = 2;
	CHECK(map_put(&m, "a\0b", 3, &a) == NULL);
	CHECK(map_put(&m, "a\0c", 3, &b) == NULL);
	CHECK(map_get(&m, "a\0b", 3) == &a);
	CHECK(map_get(&m, "a\0c", 3) == &b);
	CHECK(map_get(&m, "a", 1) == NULL);
	CHECK(map_put(&m, "", 0, &a) == NULL);
	CHECK(map_get(&m, "", 0) == &a);
	map_deinit(&m);
}

TEST(map_shrink_after_mass_deletion)
{
	/* 10,000 members, 9,950 deleted: the table shrinks to one at most half
	 * full, every survivor is still found, and an emptied map frees its
	 * slots yet takes new members. */
	map_t m;
	map_init(&m);
	static int vals[10000];
	char key[16];
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		map_put(&m, key, strlen(key), &vals[i]);
	}
	CHECK_EQ(map_shrink(&m), 0); /* full enough */
	size_t before = m.cap;
	for (int i = 0; i < 9950; i++) {
		snprintf(key, sizeof key, "k%d", i);
		CHECK(map_del(&m, key, strlen(key)) == &vals[i]);
	}
	CHECK_EQ(map_shrink(&m), 1);
	CHECK(m.cap < before);
	CHECK(m.cap >= 2 * map_len(&m));
	CHECK_EQ(map_shrink(&m), 0);
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		void *v = map_get(&m, key, strlen(key));
		CHECK(v == (i < 9950 ? NULL : &vals[i]));
	}
	for (int i = 9950; i < 10000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		CHECK(map_del(&m, key, strlen(key)) == &vals[i]);
	}
	CHECK_EQ(map_shrink(&m), 1);
	CHECK_EQ(m.cap, 0);
	size_t it = 0;
	CHECK_EQ(map_next(&m, &it, NULL, NULL, NULL), 0);
	CHECK(map_get(&m, "k1", 2) == NULL);
	CHECK(map_put(&m, "k1", 2, &vals[1]) == NULL);
	CHECK(map_get(&m, "k1", 2) == &vals[1]);
	map_deinit(&m);
}

/* An incremental scan while keys come and go between its steps: every key
 * present from the scan's start to its end is seen at least once, across
 * deletions that shift keys behind the cursor and growths that move them
 * all; shrinking waits for the scan's end. */
TEST(map_scan_sees_every_key_that_stays)
{
	enum { N = 4000 };
	static int present[N], stayed[N], seen[N];
	static int vals[N];
	uint64_t seed = 7;
	for (int round = 0; round < 20; round++) {
		map_t m;
		map_init(&m);
		char key[32];
		for (int k = 0; k < N; k++) {
			present[k] = stayed[k] = seen[k] = 0;
			vals[k] = k;
		}
		for (int k = 0; k < N; k++) {
			if (test_rand(&seed) % 4 == 0)
				continue;
			int klen = snprintf(key, sizeof key, "key:%d", k);
			map_put(&m, key, (size_t)klen, &vals[k]);
			present[k] = stayed[k] = 1;
		}
		map_scan_t sc = {0};
		map_scan_begin(&m, &sc);
		for (;;) {
			/* A few changes, then a step of the scan. */
			for (int c = 0; c < 6; c++) {
				int k = (int)(test_rand(&seed) % N);
				int klen = snprintf(key, sizeof key, "key:%d", k);
				if (test_rand(&seed) % 3 == 0) {
					map_put(&m, key, (size_t)klen, &vals[k]);
					present[k] = 1;
				} else if (map_del(&m, key, (size_t)klen)) {
					present[k] = stayed[k] = 0;
				}
			}
			CHECK_EQ(map_shrink(&m), 0);
			const char *k;
			size_t kl;
			void *v;
			int more = 0;
			for (int s = 0; s < 8 && (more = map_scan_next(&m, &k, &kl, &v)); s++) {
				int idx = *(int *)v;
				CHECK_EQ(kl, (size_t)snprintf(key, sizeof key, "key:%d", idx));
				CHECK(memcmp(k, key, kl) == 0);
				CHECK(present[idx]);
				seen[idx] = 1;
			}
			if (!more)
				break;
		}
		for (int k = 0; k < N; k++)
			if (stayed[k])
				CHECK(seen[k]);
		map_scan_end(&m, &sc);
		CHECK(m.scan == NULL);
		map_deinit(&m);
	}
}

static void cursor_seen(void *arg, const char *key, size_t klen, void *val)
{
	int *seen = arg;
	int idx = *(int *)val;
	char want[32];
	CHECK_EQ(klen, (size_t)snprintf(want, sizeof want, "key:%d", idx));
	CHECK(memcmp(key, want, klen) == 0);
	seen[idx]++;
}

/* SCAN's stateless cursor: keys that stay from the first step to the last
 * are visited at least once while keys are added (the map grows several
 * times), deleted (backward shifts) and the map shrinks between steps. */
TEST(map_scan_cursor_survives_growth_and_shrink)
{
	enum { N = 6000 };
	static int vals[N], stayed[N], seen[N];
	uint64_t seed = 11;
	for (int round = 0; round < 12; round++) {
		map_t m;
		map_init(&m);
		char key[32];
		for (int k = 0; k < N; k++) {
			vals[k] = k;
			stayed[k] = seen[k] = 0;
		}
		/* A small map that grows past 16x during the scan... */
		for (int k = 0; k < 300; k++) {
			int klen = snprintf(key, sizeof key, "key:%d", k);
			map_put(&m, key, (size_t)klen, &vals[k]);
			stayed[k] = 1;
		}
		uint64_t cursor = 0;
		int steps = 0;
		do {
			cursor = map_scan_cursor(&m, cursor, cursor_seen, seen);
			steps++;
			for (int c = 0; c < 12; c++) {
				int k = 300 + (int)(test_rand(&seed) % (N - 300));
				int klen = snprintf(key, sizeof key, "key:%d", k);
				if (round % 2 && test_rand(&seed) % 2 &&
				    map_del(&m, key, (size_t)klen))
					continue;
				map_put(&m, key, (size_t)klen, &vals[k]);
			}
			/* ...and, in odd rounds, loses keys that did not stay and
			 * shrinks. */
			if (round % 2 && steps % 64 == 0) {
				for (int k = 300; k < N; k++) {
					int klen = snprintf(key, sizeof key, "key:%d", k);
					map_del(&m, key, (size_t)klen);
				}
				map_shrink(&m);
			}
		} while (cursor != 0);
		for (int k = 0; k < N; k++)
			if (stayed[k])
				CHECK(seen[k] >= 1);
		map_deinit(&m);
	}
}

/* A borrowing map (the keyspace's): the key is inside its value, the map
 * keeps no copy; a put of a present key moves the slot to the new value
 * (a reallocated holder), and deletion frees nothing of the caller's. */
typedef struct holder {
	int id;
	char key[16];
} holder_t;

TEST(map_borrowed_keys_live_in_their_values)
{
	enum { N = 3000 };
	static holder_t *h[N];
	map_t m;
	map_init_borrowed(&m, offsetof(holder_t, key));
	uint64_t seed = 5;
	for (int step = 0; step < 40000; step++) {
		int k = (int)(test_rand(&seed) % N);
		char key[16];
		size_t klen = (size_t)snprintf(key, sizeof key, "b:%d", k);
		switch (test_rand(&seed) % 3) {
		case 0: { /* a new holder for k (the old one, if any, is replaced) */
			holder_t *n = calloc(1, sizeof *n);
			CHECK(n);
			n->id = step;
			memcpy(n->key, key, klen + 1);
			CHECK(map_put(&m, n->key, klen, n) == h[k]);
			free(h[k]);
			h[k] = n;
			break;
		}
		case 1:
			CHECK(map_del(&m, key, klen) == h[k]);
			free(h[k]);
			h[k] = NULL;
			break;
		default:
			CHECK(map_get(&m, key, klen) == h[k]);
		}
	}
	size_t it = 0, n = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&m, &it, &k, &kl, &v)) {
		holder_t *x = v;
		CHECK(k == x->key);
		CHECK_EQ(kl, strlen(x->key));
		n++;
	}
	CHECK_EQ(n, map_len(&m));
	map_deinit(&m);
	for (int i = 0; i < N; i++)
		free(h[i]);
}

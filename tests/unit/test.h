/*
 * test.h — sluice's small unit-test framework.
 *
 * TEST(name) { ... } registers a test at load time. The runner (runner.c)
 * forks one child per test, runs it in a fresh temporary directory (the
 * child's working directory) with a timeout, and prints one line per test
 * and the closing "N passed, N failed". CHECK* macros print the failing
 * expression with file:line and end the child with status 1, so a failure
 * never leaks into the next test.
 *
 * Tests run in parallel (-j N, default the CPU count), each in its own
 * process group and directory; a test's output is captured and shown only
 * if it fails. Tests must not share anything but the machine: no fixed
 * ports or paths outside the test's directory.
 *
 * Run a subset: build/asan/test-unit SUBSTRING... (-x SUBSTRING leaves
 * tests out, -l lists them, -j 1 runs one at a time).
 */
#ifndef SL_TESTS_TEST_H
#define SL_TESTS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn, int timeout_s);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define TEST_T(name, timeout_s)                                        \
	static void name(void);                                        \
	__attribute__((constructor)) static void register_##name(void) \
	{                                                              \
		test_register(#name, __FILE__, name, (timeout_s));     \
	}                                                              \
	static void name(void)

/* Default timeout 60 s; use TEST_T for longer tests. */
#define TEST(name) TEST_T(name, 60)

#define CHECK(cond)                                                 \
	do {                                                        \
		if (!(cond))                                        \
			test_fail(__FILE__, __LINE__, "%s", #cond); \
	} while (0)

#define CHECK_MSG(cond, ...)                                        \
	do {                                                        \
		if (!(cond))                                        \
			test_fail(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                    \
		if (check_a_ != check_b_)                                                          \
			test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, check_a_, \
			          check_b_);                                                       \
	} while (0)

#define CHECK_MEM(a, b, n)                                                                    \
	do {                                                                                  \
		if (memcmp((a), (b), (n)) != 0)                                               \
			test_fail(__FILE__, __LINE__, "memcmp(%s, %s, %s) != 0", #a, #b, #n); \
	} while (0)

#define CHECK_STR(a, b)                                                                      \
	do {                                                                                 \
		const char *check_a_ = (a), *check_b_ = (b);                                 \
		if (strcmp(check_a_, check_b_) != 0)                                         \
			test_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b, \
			          check_a_, check_b_);                                       \
	} while (0)

/* Deterministic PRNG for tests (xorshift64*); seed printed on failure by
 * tests that use it. */
static inline uint64_t test_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Directory holding the build's helper programs (build/<mode>/helpers),
 * taken from $SLUICE_HELPERS or derived from the test binary's path. */
const char *test_helpers_dir(void);

#endif

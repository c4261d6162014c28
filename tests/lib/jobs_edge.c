/*
 * jobs_edge.c — sl_jobs against a misbehaving server: the replies a real
 * beanstalkd never sends. tests/integration/test_lib_jobs.py serves them
 * from a scripted Python socket server.
 *
 * Usage: jobs_edge HOST:PORT
 *
 * Each check connects anew; the server answers by the command it reads:
 *   peek-ready  → "FOUND 1 4294967296000" (a body far above the limit)
 *   stats       → "HELLO" (not a beanstalkd reply)
 *   peek-delayed→ "FOUND 1 5" + "abcdeXY" (body not followed by CRLF)
 *   reserve-with-timeout 0 → nothing (the reply never comes)
 *   put         → "BURIED 7"
 * Prints one line per check and exits 0 only if every check saw the
 * documented code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/sluice.h"

static int failures;

static void expect(const char *what, int got, int want)
{
	printf("%s: %d (%s) %s\n", what, got, sl_last_error(), got == want ? "ok" : "WRONG");
	if (got != want)
		failures++;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	uint64_t id;
	char *body = NULL;
	size_t len;

	sl_jobs *j = sl_jobs_connect(argv[1], 1000);
	if (!j)
		return 1;
	expect("huge body", sl_jobs_peek(j, "ready", 0, &id, &body, &len), SL_ETOOBIG);
	expect("after huge body", sl_jobs_use(j, "t"), SL_ECLOSED);
	sl_jobs_close(j);

	if (!(j = sl_jobs_connect(argv[1], 1000)))
		return 1;
	char *yaml = NULL;
	expect("unknown reply", sl_jobs_stats(j, &yaml), SL_EPROTO);
	expect("after unknown reply", sl_jobs_stats(j, &yaml), SL_ECLOSED);
	sl_jobs_close(j);

	if (!(j = sl_jobs_connect(argv[1], 1000)))
		return 1;
	expect("body without CRLF", sl_jobs_peek(j, "delayed", 0, &id, &body, &len), SL_EPROTO);
	sl_jobs_close(j);

	if (!(j = sl_jobs_connect(argv[1], 1000)))
		return 1;
	expect("no reply", sl_jobs_reserve(j, 0, &id, &body, &len), SL_ETIMEDOUT);
	expect("after no reply", sl_jobs_delete(j, 1), SL_ECLOSED);
	sl_jobs_close(j);

	if (!(j = sl_jobs_connect(argv[1], 1000)))
		return 1;
	id = 0;
	expect("put buried", sl_jobs_put(j, 1, 0, 1, "x", 1, &id), SL_EREMOTE);
	expect("put buried id", (int)id, 7);
	sl_jobs_close(j);

	expect("connect refused", sl_jobs_connect("127.0.0.1:1", 1000) == NULL, 1);
	expect("bad address", sl_jobs_connect("nocolon", 1000) == NULL, 1);
	free(body);
	free(yaml);
	printf("%s\n", failures ? "FAILED" : "all ok");
	return failures ? 1 : 0;
}

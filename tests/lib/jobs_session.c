/*
 * jobs_session.c — drives one scripted beanstalkd session through sl_jobs
 * and prints every call's result, one line per call.
 *
 * Usage: jobs_session HOST:PORT
 *
 * tests/integration/test_lib_jobs.py runs it against sluiced and against
 * the real beanstalkd and compares the outputs: everything printed is
 * deterministic on a fresh server (values that depend on timing or on the
 * process, like age or pid, are left out). Exit 0 when the session ran to
 * its end; the comparison is the test.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/sluice.h"

static const char *code_name(int rc)
{
	switch (rc) {
	case 0:
		return "OK";
#define SL_NAME(n, c, t) \
	case c:          \
		return "SL_" #n;
		SL_ERRORS(SL_NAME)
#undef SL_NAME
	}
	return "?";
}

static void result(const char *what, int rc)
{
	if (rc)
		printf("%s: %s (%s)\n", what, code_name(rc), sl_last_error());
	else
		printf("%s: OK\n", what);
}

/* Prints the YAML lines whose key is in keys (NULL = all). */
static void print_yaml(const char *what, int rc, char *yaml, const char *const *keys)
{
	result(what, rc);
	if (rc)
		return;
	for (char *line = strtok(yaml, "\n"); line; line = strtok(NULL, "\n")) {
		bool show = !keys;
		for (int i = 0; keys && keys[i]; i++) {
			size_t kl = strlen(keys[i]);
			if (!strncmp(line, keys[i], kl) && line[kl] == ':')
				show = true;
		}
		if (show)
			printf("  %s\n", line);
	}
	free(yaml);
}

static void print_job(const char *what, int rc, uint64_t id, char *body, size_t len)
{
	if (rc) {
		result(what, rc);
		return;
	}
	printf("%s: OK id=%llu len=%zu body=\"%.*s\"\n", what, (unsigned long long)id, len,
	       (int)len, body);
	free(body);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]);
		return 2;
	}
	sl_jobs *j = sl_jobs_connect(argv[1], 5000);
	if (!j) {
		fprintf(stderr, "connect: %s\n", sl_last_error());
		return 1;
	}
	uint64_t id = 0;
	char *body = NULL, *yaml = NULL, tube[256];
	size_t len = 0;
	uint32_t kicked = 0;
	int rc;

	result("use t1", sl_jobs_use(j, "t1"));
	rc = sl_jobs_list_tube_used(j, tube, sizeof tube);
	printf("list-tube-used: %s %s\n", code_name(rc), rc ? "" : tube);
	rc = sl_jobs_put(j, 0, 0, 60, "hello", 5, &id);
	printf("put hello: %s id=%llu\n", code_name(rc), (unsigned long long)id);
	rc = sl_jobs_put(j, 10, 0, 60, NULL, 0, &id);
	printf("put empty: %s id=%llu\n", code_name(rc), (unsigned long long)id);
	rc = sl_jobs_put(j, 5, 100, 60, "later\r\nwith crlf", 16, &id);
	printf("put delayed: %s id=%llu\n", code_name(rc), (unsigned long long)id);
	rc = sl_jobs_peek(j, "ready", 0, &id, &body, &len);
	print_job("peek-ready", rc, id, body, len);
	rc = sl_jobs_peek(j, "delayed", 0, &id, &body, &len);
	print_job("peek-delayed", rc, id, body, len);
	rc = sl_jobs_peek(j, "buried", 0, &id, &body, &len);
	print_job("peek-buried", rc, id, body, len);
	rc = sl_jobs_peek(j, NULL, 3, &id, &body, &len);
	print_job("peek 3", rc, id, body, len);
	rc = sl_jobs_peek(j, NULL, 99, &id, &body, &len);
	print_job("peek 99", rc, id, body, len);
	result("peek bogus", sl_jobs_peek(j, "bogus", 0, &id, &body, &len));

	result("watch t1", sl_jobs_watch(j, "t1"));
	result("ignore default", sl_jobs_ignore(j, "default"));
	result("ignore t1", sl_jobs_ignore(j, "t1"));
	rc = sl_jobs_list_tubes_watched(j, &yaml);
	print_yaml("list-tubes-watched", rc, yaml, NULL);

	rc = sl_jobs_reserve(j, 0, &id, &body, &len);
	print_job("reserve-with-timeout 0", rc, id, body, len);
	result("bury 1 7", sl_jobs_bury(j, 1, 7));
	rc = sl_jobs_peek(j, "buried", 0, &id, &body, &len);
	print_job("peek-buried", rc, id, body, len);
	rc = sl_jobs_reserve(j, 0, &id, &body, &len);
	print_job("reserve-with-timeout 0", rc, id, body, len);
	result("release 2 3 0", sl_jobs_release(j, 2, 3, 0));
	result("release 2 again", sl_jobs_release(j, 2, 3, 0));
	rc = sl_jobs_reserve(j, 0, &id, &body, &len);
	print_job("reserve-with-timeout 0", rc, id, body, len);
	result("touch 2", sl_jobs_touch(j, 2));
	result("touch 1", sl_jobs_touch(j, 1));
	result("bury 99", sl_jobs_bury(j, 99, 1));
	result("delete 2", sl_jobs_delete(j, 2));
	result("delete 2 again", sl_jobs_delete(j, 2));
	rc = sl_jobs_kick(j, 10, &kicked);
	printf("kick 10: %s kicked=%u\n", code_name(rc), kicked);
	result("kick-job 3", sl_jobs_kick_job(j, 3));
	result("kick-job 3 again", sl_jobs_kick_job(j, 3));
	result("kick-job 99", sl_jobs_kick_job(j, 99));
	rc = sl_jobs_kick(j, 10, &kicked);
	printf("kick 10 (none left): %s kicked=%u\n", code_name(rc), kicked);

	static const char *const job_keys[] = {"id",       "tube",   "state",    "pri",
	                                       "delay",    "ttr",    "reserves", "timeouts",
	                                       "releases", "buries", "kicks",    NULL};
	rc = sl_jobs_stats_job(j, 1, &yaml);
	print_yaml("stats-job 1", rc, yaml, job_keys);
	rc = sl_jobs_stats_job(j, 99, &yaml);
	print_yaml("stats-job 99", rc, yaml, job_keys);
	rc = sl_jobs_stats_tube(j, "t1", &yaml);
	print_yaml("stats-tube t1", rc, yaml, NULL);
	rc = sl_jobs_stats_tube(j, "nosuch", &yaml);
	print_yaml("stats-tube nosuch", rc, yaml, NULL);
	rc = sl_jobs_list_tubes(j, &yaml);
	print_yaml("list-tubes", rc, yaml, NULL);
	static const char *const stats_keys[] = {"current-jobs-urgent",
	                                         "current-jobs-ready",
	                                         "current-jobs-reserved",
	                                         "current-jobs-delayed",
	                                         "current-jobs-buried",
	                                         "cmd-put",
	                                         "cmd-delete",
	                                         "cmd-bury",
	                                         "cmd-kick",
	                                         "total-jobs",
	                                         "current-tubes",
	                                         NULL};
	rc = sl_jobs_stats(j, &yaml);
	print_yaml("stats", rc, yaml, stats_keys);

	result("pause-tube t1 0", sl_jobs_pause_tube(j, "t1", 0));
	result("pause-tube nosuch 1", sl_jobs_pause_tube(j, "nosuch", 1));
	result("use -bad", sl_jobs_use(j, "-bad"));
	result("watch with space", sl_jobs_watch(j, "a b"));

	char *big = calloc(1, 70000);
	if (!big)
		return 1;
	memset(big, 'x', 70000);
	rc = sl_jobs_put(j, 1, 0, 10, big, 70000, &id);
	free(big);
	result("put 70000 bytes", rc);
	result("use t2 after JOB_TOO_BIG", sl_jobs_use(j, "t2"));
	rc = sl_jobs_put(j, 1, 50, 10, "rj", 2, &id);
	printf("put rj: %s id=%llu\n", code_name(rc), (unsigned long long)id);
	rc = sl_jobs_reserve_job(j, id, &body, &len);
	print_job("reserve-job", rc, id, body, len);
	result("delete rj", sl_jobs_delete(j, id));
	result("reserve-job gone", sl_jobs_reserve_job(j, id, &body, &len));

	result("delete 1", sl_jobs_delete(j, 1));
	result("delete 3", sl_jobs_delete(j, 3));
	rc = sl_jobs_reserve(j, 0, &id, &body, &len);
	print_job("reserve-with-timeout 0 empty", rc, id, body, len);
	sl_jobs_close(j);
	printf("done\n");
	return 0;
}

/*
 * runner.c — the unit-test runner (see test.h): fork per test, fresh temp
 * directory, timeout, one line per test, closing "N passed, N failed".
 *
 * Tests run in parallel (-j N, default the number of CPUs): each already
 * runs in its own forked child, process group and directory, so they share
 * nothing but the machine. A child's stdout and stderr go to a file beside
 * its directory (never inside it: tests list and count their own files);
 * the runner prints one line per finished test and, for a failure, the
 * captured output under it, so parallel output never interleaves. The
 * order of the lines is the order tests finish in; the closing lines name
 * every failure again.
 *
 * Every registered test runs: the table grows as constructors register
 * tests, so no test past some fixed count is ever dropped.
 *
 * Timeouts: the child arms alarm() (SIGALRM ends it, reported as a
 * timeout); the runner also kills a child's whole process group once its
 * timeout has passed by a margin, in case a test blocked or ignored
 * SIGALRM.
 *
 * Single-threaded. SIGCHLD is blocked in the runner and waited for with
 * sigtimedwait (no polling sleep); children get the original mask back.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Extra seconds past a test's own timeout before the runner kills it. */
#define KILL_MARGIN_S 10

typedef struct test {
	const char *name;
	const char *file;
	test_fn fn;
	int timeout_s;
} test_t;

typedef struct running {
	const test_t *t;
	pid_t pid;
	double t0;
	char dir[PATH_MAX];
	char out[PATH_MAX + 8];
} running_t;

/* Registration happens in constructors before main; the table grows with
 * them (malloc works in constructors) and is sorted once in main. */
static test_t *tests;
static int ntests, cap_tests;
static char helpers_dir[PATH_MAX];

void test_register(const char *name, const char *file, test_fn fn, int timeout_s)
{
	if (ntests == cap_tests) {
		cap_tests = cap_tests ? cap_tests * 2 : 256;
		tests = realloc(tests, (size_t)cap_tests * sizeof *tests);
		if (!tests)
			abort();
	}
	tests[ntests++] = (test_t){name, file, fn, timeout_s};
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "  %s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

const char *test_helpers_dir(void)
{
	return helpers_dir;
}

static int cmp_test(const void *a, const void *b)
{
	const test_t *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	return c ? c : strcmp(x->name, y->name);
}

/* Substrings given with -x: matching tests are left out. */
static char **excludes;
static int nexcludes;

static int matches(const test_t *t, const char *sub)
{
	return strstr(t->name, sub) || strstr(t->file, sub);
}

static int selected(const test_t *t, int argc, char **argv)
{
	for (int i = 0; i < nexcludes; i++)
		if (matches(t, excludes[i]))
			return 0;
	int any = 0;
	for (int i = 1; i < argc; i++) {
		if (!argv[i])
			continue;
		any = 1;
		if (matches(t, argv[i]))
			return 1;
	}
	return !any;
}

static void rm_rf(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Copies the captured output of a failed test to stdout, indented. */
static void dump_output(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		fputs("    | ", stdout);
		fputs(line, stdout);
		if (!strchr(line, '\n'))
			fputc('\n', stdout);
	}
	fclose(f);
}

/* Starts t in a fresh directory under tmproot; 0 or -1 (reported). */
static int start_one(running_t *r, const test_t *t, const char *tmproot, const sigset_t *mask)
{
	if (snprintf(r->dir, sizeof r->dir, "%s/%s-XXXXXX", tmproot, t->name) >=
	    (int)sizeof r->dir) {
		printf("FAIL %-44s (temp path too long)\n", t->name);
		return -1;
	}
	if (!mkdtemp(r->dir)) {
		printf("FAIL %-44s (mkdtemp %s: %s)\n", t->name, r->dir, strerror(errno));
		return -1;
	}
	snprintf(r->out, sizeof r->out, "%s.out", r->dir);
	int out = open(r->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		printf("FAIL %-44s (open %s: %s)\n", t->name, r->out, strerror(errno));
		return -1;
	}
	fflush(NULL);
	r->t = t;
	r->t0 = now_s();
	r->pid = fork();
	if (r->pid == 0) {
		setpgid(0, 0);
		sigprocmask(SIG_SETMASK, mask, NULL);
		if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
			_exit(2);
		if (chdir(r->dir) != 0)
			_exit(2);
		alarm((unsigned)t->timeout_s);
		t->fn();
		fflush(NULL);
		_exit(0);
	}
	close(out);
	if (r->pid < 0) {
		printf("FAIL %-44s (fork: %s)\n", t->name, strerror(errno));
		return -1;
	}
	/* Also from the parent, so the group exists before any kill(-pid). */
	setpgid(r->pid, r->pid);
	return 0;
}

/* Reports a finished test; returns 1 if it passed. */
static int finish_one(running_t *r, int status, int killed)
{
	const test_t *t = r->t;
	/* Kill anything the test left behind in its process group. */
	kill(-r->pid, SIGKILL);
	double dt = now_s() - r->t0;
	int ok = !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (ok) {
		printf("ok   %-44s %7.3fs\n", t->name, dt);
		rm_rf(r->dir);
		unlink(r->out);
		return 1;
	}
	if (killed) {
		printf("FAIL %-44s %7.3fs  (killed: timeout, %d s)  [%s, dir kept: %s]\n", t->name,
		       dt, t->timeout_s, t->file, r->dir);
	} else if (WIFSIGNALED(status)) {
		printf("FAIL %-44s %7.3fs  (%s%s)  [%s, dir kept: %s]\n", t->name, dt,
		       strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGALRM ? ": timeout" : "",
		       t->file, r->dir);
	} else {
		printf("FAIL %-44s %7.3fs  (exit %d)  [%s, dir kept: %s]\n", t->name, dt,
		       WEXITSTATUS(status), t->file, r->dir);
	}
	dump_output(r->out);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: test-unit [-j N] [-l] [-x SUBSTRING]... [SUBSTRING...]\n"
	           "  -j N  run N tests at once (default: number of CPUs)\n"
	           "  -l    list the selected tests and exit\n"
	           "  -x S  leave out tests whose name or file contains S\n"
	           "  SUBSTRING  run only tests whose name or file contains one\n");
}

int main(int argc, char **argv)
{
	const char *env = getenv("SLUICE_HELPERS");
	if (env) {
		snprintf(helpers_dir, sizeof helpers_dir, "%s", env);
	} else {
		char self[PATH_MAX - 16];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		self[n > 0 ? n : 0] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		snprintf(helpers_dir, sizeof helpers_dir, "%.*s/helpers", (int)(sizeof self), self);
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int jobs = ncpu > 0 ? (int)ncpu : 1;
	int list = 0;
	/* Options are taken out of argv (set to NULL) so selected() sees
	 * only the substrings. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
			argv[i] = NULL;
			jobs = atoi(argv[++i]);
			argv[i] = NULL;
		} else if (strncmp(argv[i], "-j", 2) == 0 && argv[i][2]) {
			jobs = atoi(argv[i] + 2);
			argv[i] = NULL;
		} else if (strcmp(argv[i], "-x") == 0 && i + 1 < argc) {
			argv[i] = NULL;
			excludes = realloc(excludes, (size_t)(nexcludes + 1) * sizeof *excludes);
			if (!excludes)
				abort();
			excludes[nexcludes++] = argv[++i];
			argv[i] = NULL;
		} else if (strcmp(argv[i], "-l") == 0) {
			list = 1;
			argv[i] = NULL;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-') {
			usage(stderr);
			return 2;
		}
	}
	if (jobs < 1)
		jobs = 1;
	if (ntests > 0)
		qsort(tests, (size_t)ntests, sizeof tests[0], cmp_test);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (list) {
		for (int i = 0; i < ntests; i++)
			if (selected(&tests[i], argc, argv))
				printf("%s\t%s\n", tests[i].name, tests[i].file);
		return 0;
	}
	const char *tmp = getenv("TMPDIR");
	char root[PATH_MAX];
	snprintf(root, sizeof root, "%s/sluice-unit-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}

	/* SIGCHLD blocked so sigtimedwait can wait for it; the children get
	 * the original mask back. */
	sigset_t chld, orig;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &orig);

	running_t *run = calloc((size_t)jobs, sizeof *run);
	const test_t **failures = calloc((size_t)ntests + 1, sizeof *failures);
	if (!run || !failures)
		abort();
	int passed = 0, failed = 0, active = 0, next = 0;
	for (;;) {
		while (active < jobs && next < ntests) {
			const test_t *t = &tests[next++];
			if (!selected(t, argc, argv))
				continue;
			running_t *slot = NULL;
			for (int k = 0; k < jobs && !slot; k++)
				if (!run[k].t)
					slot = &run[k];
			if (start_one(slot, t, root, &orig) < 0) {
				slot->t = NULL;
				failures[failed++] = t;
				continue;
			}
			active++;
		}
		if (!active)
			break;
		int status;
		pid_t pid;
		int reaped = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int k = 0; k < jobs; k++) {
				if (!run[k].t || run[k].pid != pid)
					continue;
				if (finish_one(&run[k], status, 0))
					passed++;
				else
					failures[failed++] = run[k].t;
				run[k].t = NULL;
				active--;
				reaped = 1;
			}
		}
		if (reaped)
			continue;
		/* Kill tests well past their timeout, then wait for the next
		 * child to end (or 200 ms, to check the timeouts again). */
		double now = now_s();
		for (int k = 0; k < jobs; k++) {
			if (!run[k].t || now - run[k].t0 < run[k].t->timeout_s + KILL_MARGIN_S)
				continue;
			kill(-run[k].pid, SIGKILL);
			while (waitpid(run[k].pid, &status, 0) < 0 && errno == EINTR)
				;
			failures[failed++] = run[k].t;
			finish_one(&run[k], status, 1);
			run[k].t = NULL;
			active--;
		}
		struct timespec ts = {0, 200 * 1000 * 1000};
		sigtimedwait(&chld, NULL, &ts);
	}
	if (failed) {
		printf("\nfailed:\n");
		for (int i = 0; i < failed; i++)
			printf("  %s  [%s]\n", failures[i]->name, failures[i]->file);
	} else {
		rm_rf(root);
	}
	printf("%d passed, %d failed\n", passed, failed);
	free(run);
	free(failures);
	free(tests);
	free(excludes);
	return failed ? 1 : 0;
}

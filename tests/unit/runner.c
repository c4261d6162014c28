/*
 * runner.c — the unit-test runner (see test.h): fork per test, fresh temp
 * directory, timeout, one line per test, closing "N passed, N failed".
 */
#include "test.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct test {
	const char *name;
	const char *file;
	test_fn fn;
	int timeout_s;
} test_t;

/* Registration happens in constructors before main; a fixed table keeps it
 * free of allocation order issues. */
static test_t tests[4096];
static int ntests;
static char helpers_dir[PATH_MAX];

void test_register(const char *name, const char *file, test_fn fn, int timeout_s)
{
	if (ntests < (int)(sizeof tests / sizeof tests[0]))
		tests[ntests++] = (test_t){ name, file, fn, timeout_s };
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

static int selected(const test_t *t, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strstr(t->name, argv[i]) || strstr(t->file, argv[i]))
			return 1;
	return 0;
}

static void rm_rf(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_one(const test_t *t, const char *tmproot)
{
	char dir[PATH_MAX + 128];
	if (snprintf(dir, sizeof dir, "%s/%s-XXXXXX", tmproot, t->name) >= (int)sizeof dir)
		return 0;
	if (!mkdtemp(dir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
		return 0;
	}
	double t0 = now_s();
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		if (chdir(dir) != 0)
			_exit(2);
		alarm((unsigned)t->timeout_s);
		t->fn();
		fflush(NULL);
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Kill anything the test left behind in its process group. */
	kill(-pid, SIGKILL);
	double dt = now_s() - t0;
	int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (ok) {
		printf("ok   %-44s %7.3fs\n", t->name, dt);
		rm_rf(dir);
	} else if (WIFSIGNALED(status)) {
		printf("FAIL %-44s %7.3fs  (%s%s)  [%s, dir kept: %s]\n", t->name, dt,
		       strsignal(WTERMSIG(status)),
		       WTERMSIG(status) == SIGALRM ? ": timeout" : "", t->file, dir);
	} else {
		printf("FAIL %-44s %7.3fs  (exit %d)  [%s, dir kept: %s]\n", t->name, dt,
		       WEXITSTATUS(status), t->file, dir);
	}
	fflush(stdout);
	return ok;
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
	const char *tmp = getenv("TMPDIR");
	char root[PATH_MAX];
	snprintf(root, sizeof root, "%s/sluice-unit-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	qsort(tests, (size_t)ntests, sizeof tests[0], cmp_test);
	setvbuf(stdout, NULL, _IOLBF, 0);
	int passed = 0, failed = 0;
	for (int i = 0; i < ntests; i++) {
		if (!selected(&tests[i], argc, argv))
			continue;
		if (run_one(&tests[i], root))
			passed++;
		else
			failed++;
	}
	if (!failed)
		rm_rf(root);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

/*
 * bound.h — a time bound for every benchmark program, so `make bench`
 * cannot hang: a run that has not finished after BENCH_TIME_LIMIT seconds
 * (the environment; else the program's own default) prints one line and
 * exits 3. The bench_*.sh scripts also run every program under timeout(1);
 * this is the bound that still holds when a program is run by hand.
 *
 * Header-only: each benchmark is its own program (see the Makefile).
 */
#ifndef SL_BENCH_BOUND_H
#define SL_BENCH_BOUND_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *bench_bound_prog = "bench";

static void bench_bound_fire(int sig)
{
	(void)sig;
	/* Only async-signal-safe calls here. */
	static const char msg[] = ": time bound exceeded (BENCH_TIME_LIMIT), giving up\n";
	if (write(STDERR_FILENO, bench_bound_prog, strlen(bench_bound_prog)) < 0 ||
	    write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
		_exit(3);
	_exit(3);
}

/* Arms the bound: BENCH_TIME_LIMIT seconds if set, else default_s. */
static inline void bench_bound(const char *prog, unsigned default_s)
{
	const char *e = getenv("BENCH_TIME_LIMIT");
	long s = e ? atol(e) : (long)default_s;
	bench_bound_prog = prog;
	signal(SIGALRM, bench_bound_fire);
	alarm(s > 0 ? (unsigned)s : default_s);
}

#endif

/* front_harness.c — see front_harness.h. Also provides the test.h failure
 * hooks that memconn.c uses, as aborts (a fuzzer's crash signal). */
#include "front_harness.h"

#include "core/config.h"
#include "net/memconn.h"
#include "store/syncer.h"
#include "test.h"

#include <dirent.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void test_register(const char *name, const char *file, test_fn fn, int timeout_s)
{
	(void)name, (void)file, (void)fn, (void)timeout_s;
}

const char *test_helpers_dir(void)
{
	return ".";
}

static void rm_rf(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* One broker and front per process (per front), kept across inputs: a
 * fresh one per input (journals, a syncer thread, rm -rf) ran ~10 inputs a
 * second. State carries over from input to input, as long-lived client
 * traffic would; every RESET_EVERY inputs (and at exit) it starts over, so
 * memory stays bounded. Data lives in /dev/shm when there is one. The
 * probe connection is kept too (a new one only after the server closed
 * it), and the process stays on one CPU: every input's connection frees
 * buffers large enough for the sanitizer's allocator to unmap, and an
 * unmap in a process with threads on several CPUs costs a TLB shootdown
 * across them (most of the time per input before). */
#define RESET_EVERY 2000

typedef struct world {
	const front_t *front;
	char dir[64];
	sl_config_t cfg;
	broker_t b;
	void *srv;
	unsigned runs;
	memconn_t *probe; /* the healthy connection, kept across inputs */
} world_t;

static world_t worlds[4];
/* Replies read and dropped; kept across inputs so its allocation is reused. */
static buf_t sink = BUF_INIT;

static void world_stop(world_t *w)
{
	if (!w->front)
		return;
	memconn_free(w->probe);
	w->probe = NULL;
	w->front->stop(w->srv);
	broker_close(&w->b);
	loop_run_once(w->b.loop, 0);
	syncer_free(w->b.syncer);
	loop_free(w->b.loop);
	config_deinit(&w->cfg);
	rm_rf(w->dir);
	w->front = NULL;
}

static void worlds_stop(void)
{
	for (size_t i = 0; i < sizeof worlds / sizeof worlds[0]; i++)
		world_stop(&worlds[i]);
	buf_deinit(&sink);
}

/* Every thread of the process (libFuzzer's watchdog included) on the CPU
 * this one runs on; threads started later inherit it. */
static void pin_to_one_cpu(void)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	int cpu = sched_getcpu();
	CPU_SET(cpu >= 0 ? cpu : 0, &one);
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			(void)sched_setaffinity((pid_t)atoi(e->d_name), sizeof one, &one);
	if (d)
		closedir(d);
	(void)sched_setaffinity(0, sizeof one, &one);
}

static void world_start(world_t *w, const front_t *front)
{
	static int registered;
	if (!registered) {
		registered = 1;
		atexit(worlds_stop);
		pin_to_one_cpu();
	}
	snprintf(w->dir, sizeof w->dir, "%s/sluice-fuzz-front-XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(w->dir))
		abort();
	config_init(&w->cfg);
	char err[256];
	const char *settings[][2] = {{"fsync", "never"},
	                             {"data.dir", w->dir},
	                             {"max-job-size", "1000"},
	                             {"proto-max-bulk-len", "65536"},
	                             {"socket.request.max.bytes", "1048576"},
	                             {"message.max.bytes", "65536"},
	                             {"log.verify.bytes.per.sec", "0"},
	                             {"group.initial.rebalance.delay.ms", "0"}};
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
		if (config_set(&w->cfg, settings[i][0], settings[i][1], err, sizeof err) != 0)
			abort();
	memset(&w->b, 0, sizeof w->b);
	w->b.cfg = &w->cfg;
	w->b.loop = loop_new(NULL);
	w->b.syncer = syncer_new(w->b.loop, NULL);
	w->b.data_dir = w->cfg.data_dir;
	w->srv = NULL;
	if (broker_open(&w->b) != 0 || front->start(&w->b, &w->srv) != 0)
		abort();
	w->front = front;
	w->runs = 0;
}

static world_t *world_of(const front_t *front)
{
	world_t *free_slot = NULL;
	for (size_t i = 0; i < sizeof worlds / sizeof worlds[0]; i++) {
		if (worlds[i].front == front) {
			if (++worlds[i].runs < RESET_EVERY)
				return &worlds[i];
			world_stop(&worlds[i]);
			free_slot = &worlds[i];
			break;
		}
		if (!worlds[i].front && !free_slot)
			free_slot = &worlds[i];
	}
	if (!free_slot)
		abort();
	world_start(free_slot, front);
	return free_slot;
}

void fuzz_front_run(const front_t *front, const uint8_t *data, size_t size, const void *probe,
                    size_t probe_len)
{
	world_t *w = world_of(front);
	conn_limits_t limits = {.max_input = 1 << 20, .high_water = 1 << 20, .low_water = 1 << 16};
	memconn_t *bad = memconn_new(w->b.loop, front->proto, w->srv, &limits);
	if (w->probe && memconn_server_closed(w->probe)) {
		/* A front may close an idle connection (timeouts): a new one. */
		memconn_free(w->probe);
		w->probe = NULL;
	}
	if (!w->probe)
		w->probe = memconn_new(w->b.loop, front->proto, w->srv, &limits);
	memconn_t *good = w->probe;
	if (!bad || !good)
		abort();
	buf_reset(&sink);
	/* Chunk sizes cycle through the first bytes of the input. */
	size_t pos = 0, k = 0;
	/* A paused connection (a blocked reserve) stops reading at max_input;
	 * inputs stay far below it so the writes below never wait forever. */
	if (size > 65536)
		size = 65536;
	while (pos < size && !memconn_server_closed(bad)) {
		size_t chunk = 1 + (size_t)data[k++ % (size < 8 ? size : 8)] % 97;
		if (chunk > size - pos)
			chunk = size - pos;
		memconn_send(bad, data + pos, chunk);
		pos += chunk;
		memconn_recv(bad, &sink); /* pumps the loop until it is idle */
		buf_reset(&sink);
	}
	if (!memconn_server_closed(bad))
		memconn_shutdown(bad);
	memconn_pump(bad);
	memconn_send(good, probe, probe_len);
	if (memconn_recv_wait(good, &sink, 1, 5000) != 0 || buf_len(&sink) == 0) {
		fprintf(stderr, "healthy connection got no reply after the fuzz input\n");
		abort();
	}
	memconn_free(bad);
	/* Closing connections may leave deferred work (released holds). */
	loop_run_once(w->b.loop, 0);
}

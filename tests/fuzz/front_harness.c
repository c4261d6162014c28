/* front_harness.c — see front_harness.h. Also provides the test.h failure
 * hooks that memconn.c uses, as aborts (a fuzzer's crash signal). */
#include "front_harness.h"

#include "core/config.h"
#include "net/memconn.h"
#include "store/syncer.h"
#include "test.h"

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

void fuzz_front_run(const front_t *front, const uint8_t *data, size_t size, const void *probe,
                    size_t probe_len)
{
	char dir[] = "/tmp/sluice-fuzz-front-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	sl_config_t cfg;
	config_init(&cfg);
	char err[256];
	const char *settings[][2] = {{"fsync", "never"},
	                             {"data.dir", dir},
	                             {"max-job-size", "1000"},
	                             {"proto-max-bulk-len", "65536"},
	                             {"socket.request.max.bytes", "1048576"},
	                             {"message.max.bytes", "65536"},
	                             {"group.initial.rebalance.delay.ms", "0"}};
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
		if (config_set(&cfg, settings[i][0], settings[i][1], err, sizeof err) != 0)
			abort();
	broker_t b;
	memset(&b, 0, sizeof b);
	b.cfg = &cfg;
	b.loop = loop_new(NULL);
	b.syncer = syncer_new(b.loop, NULL);
	b.data_dir = cfg.data_dir;
	void *srv = NULL;
	if (broker_open(&b) != 0 || front->start(&b, &srv) != 0)
		abort();
	conn_limits_t limits = {.max_input = 1 << 20, .high_water = 1 << 20, .low_water = 1 << 16};
	memconn_t *bad = memconn_new(b.loop, front->proto, srv, &limits);
	memconn_t *good = memconn_new(b.loop, front->proto, srv, &limits);
	if (!bad || !good)
		abort();
	buf_t sink = BUF_INIT;
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
		memconn_pump(bad);
		memconn_recv(bad, &sink);
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
	buf_deinit(&sink);
	memconn_free(bad);
	memconn_free(good);
	front->stop(srv);
	broker_close(&b);
	loop_run_once(b.loop, 0);
	syncer_free(b.syncer);
	loop_free(b.loop);
	config_deinit(&cfg);
	rm_rf(dir);
}

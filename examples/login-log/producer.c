/*
 * producer.c — the login-log pipeline's producer: pushes JSON login events
 * keyed by user id, so every event of one user lands on one partition and
 * its workers see them in order.
 *
 *   producer CONFIG.yaml COUNT
 *
 * CONFIG.yaml uses go-queue's KqPusherConf keys (Brokers, Topic) plus
 * libsluice's (Balancer, ChunkSize, FlushInterval…); see pusher.yaml.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/sluice.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: producer CONFIG.yaml COUNT\n");
		return 2;
	}
	long count = strtol(argv[2], NULL, 10);
	sl_conf *conf = sl_conf_new();
	if (!conf || sl_conf_load_yaml(conf, argv[1], NULL) != 0) {
		fprintf(stderr, "producer: %s\n", sl_last_error());
		return 1;
	}
	sl_pusher *p = sl_pusher_new(conf);
	sl_conf_free(conf);
	if (!p) {
		fprintf(stderr, "producer: %s\n", sl_last_error());
		return 1;
	}
	int rc = 0;
	for (long i = 0; i < count && rc == 0; i++) {
		char user[32], event[256];
		int klen = snprintf(user, sizeof user, "user-%ld", i % 10);
		int vlen = snprintf(event, sizeof event,
		                    "{\"user\":\"%s\",\"seq\":%ld,\"ip\":\"10.0.%ld.%ld\","
		                    "\"ts\":%lld,\"ok\":%s}",
		                    user, i, i % 7, i % 250, (long long)time(NULL),
		                    i % 5 ? "true" : "false");
		rc = sl_push_key(p, user, (size_t)klen, event, (size_t)vlen);
	}
	if (rc == 0)
		rc = sl_pusher_flush(p, 30000);
	if (rc != 0)
		fprintf(stderr, "producer: %s: %s\n", sl_strerror(rc), sl_last_error());
	sl_metrics m;
	sl_pusher_metrics(p, &m);
	int crc = sl_pusher_close(p);
	printf("pushed %llu events (%llu bytes), %llu failed\n", (unsigned long long)m.pushed,
	       (unsigned long long)m.pushed_bytes, (unsigned long long)m.push_failed);
	return rc || crc ? 1 : 0;
}

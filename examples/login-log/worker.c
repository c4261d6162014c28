/*
 * worker.c — the login-log pipeline's worker: one member of a consumer
 * group; each processor thread logs the login events it is handed. Start
 * several workers with the same Group and the partitions are shared.
 *
 *   worker CONFIG.yaml [COUNT]
 *
 * Stops gracefully (finishes in-flight events, commits, leaves the group)
 * on SIGINT/SIGTERM, or after COUNT events. CONFIG.yaml uses go-queue's
 * KqConf keys (Brokers, Group, Topic, Offset, Processors…); see worker.yaml.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

typedef struct {
	atomic_long handled;
	long limit;
	sl_queue *q;
	pthread_mutex_t out; /* one log line at a time */
} worker;

static int handle(const sl_message *m, void *user)
{
	worker *w = user;
	pthread_mutex_lock(&w->out);
	printf("login partition=%d offset=%lld key=%.*s event=%.*s\n", m->partition,
	       (long long)m->offset, (int)m->key_len, (const char *)m->key, (int)m->value_len,
	       (const char *)m->value);
	fflush(stdout);
	pthread_mutex_unlock(&w->out);
	if (++w->handled == w->limit)
		sl_queue_request_stop(w->q);
	return 0;
}

static void on_error(const sl_message *m, int err, const char *reason, void *user)
{
	(void)user;
	fprintf(stderr, "worker: %s (offset %lld): %s\n", sl_strerror(err),
	        m ? (long long)m->offset : -1LL, reason);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: worker CONFIG.yaml [COUNT]\n");
		return 2;
	}
	worker w = {.limit = argc == 3 ? strtol(argv[2], NULL, 10) : -1};
	pthread_mutex_init(&w.out, NULL);
	sl_conf *conf = sl_conf_new();
	if (!conf || sl_conf_load_yaml(conf, argv[1], NULL) != 0) {
		fprintf(stderr, "worker: %s\n", sl_last_error());
		return 1;
	}
	/* Block the stop signals in every thread the queue starts; this thread
	 * waits for them below. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	w.q = sl_queue_new(conf, handle, &w);
	sl_conf_free(conf);
	if (!w.q) {
		fprintf(stderr, "worker: %s\n", sl_last_error());
		return 1;
	}
	sl_queue_set_error_cb(w.q, on_error, NULL);
	if (sl_queue_start(w.q) != 0) {
		fprintf(stderr, "worker: %s\n", sl_last_error());
		sl_queue_free(w.q);
		return 1;
	}
	if (w.limit < 0) {
		int sig;
		sigwait(&stop, &sig);
	} else {
		/* The handler asks for the stop at COUNT; a signal still works. */
		struct timespec tick = {0, 50 * 1000 * 1000};
		while (w.handled < w.limit) {
			siginfo_t si;
			if (sigtimedwait(&stop, &si, &tick) > 0)
				break;
		}
	}
	int rc = sl_queue_stop(w.q);
	sl_metrics m;
	sl_queue_metrics(w.q, &m);
	sl_queue_free(w.q);
	fprintf(stderr, "worker: handled %llu events\n", (unsigned long long)m.handled);
	return rc ? 1 : 0;
}

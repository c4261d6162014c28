/*
 * reminder.c — a small "reminder service" on libsluice's delay queue.
 *
 * It schedules COUNT reminders — half with sl_delay (in 0–2 s), half with
 * sl_at (at a wall-clock time 1–2 s ahead) — plus one it cancels again with
 * sl_revoke, then runs an sl_dq_consumer that prints each reminder as it
 * comes due, and exits once COUNT reminders ran (exit status 0) or after
 * 30 s (status 1).
 *
 *   reminder BEANSTALKS REDIS COUNT
 *
 *   BEANSTALKS  host:port/tube list, comma-separated (beanstalkd or sluiced;
 *               each reminder is written to every node, as go-queue's dq does)
 *   REDIS       host:port that de-duplicates the copies, or "" / "-" for none
 *               (then each copy runs: use one node)
 *
 * Example: reminder 127.0.0.1:11300/reminders,127.0.0.1:11301/reminders \
 *                   127.0.0.1:6379 6
 *
 * Threads: main schedules and waits; the consumer's node threads call
 * on_reminder concurrently, so the counter is guarded by a mutex.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/sluice.h>

typedef struct state {
	pthread_mutex_t mu;
	pthread_cond_t done;
	int seen, want;
} state;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A reminder's body is "<due wall ms> <text>"; print how late it ran. */
static int on_reminder(const void *body, size_t len, void *user)
{
	state *st = user;
	long long due = atoll((const char *)body); /* the body is NUL-terminated */
	const char *text = memchr(body, ' ', len);
	text = text ? text + 1 : "";
	pthread_mutex_lock(&st->mu);
	st->seen++;
	printf("reminder %d/%d: %s (%lld ms after its time)\n", st->seen, st->want, text,
	       (long long)(now_ms() - due));
	fflush(stdout);
	if (st->seen >= st->want)
		pthread_cond_signal(&st->done);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

static void on_error(int err, const char *reason, void *user)
{
	(void)user;
	fprintf(stderr, "reminder: %s (%s)\n", reason, sl_strerror(err));
}

int main(int argc, char **argv)
{
	if (argc != 4 || atoi(argv[3]) < 1) {
		fprintf(stderr, "usage: %s BEANSTALKS REDIS COUNT\n", argv[0]);
		return 2;
	}
	const char *redis = strcmp(argv[2], "-") ? argv[2] : "";
	int count = atoi(argv[3]);
	state st = {.mu = PTHREAD_MUTEX_INITIALIZER, .want = count};
	pthread_cond_init(&st.done, NULL);

	sl_conf *conf = sl_conf_new();
	if (!conf || sl_conf_set(conf, "beanstalks", argv[1]) ||
	    sl_conf_set(conf, "redis", redis)) {
		fprintf(stderr, "reminder: %s\n", sl_last_error());
		return 2;
	}
	sl_dq_producer *p = sl_dq_producer_new(conf);
	sl_dq_consumer *c = sl_dq_consumer_new(conf, on_reminder, &st);
	if (!p || !c) {
		fprintf(stderr, "reminder: %s\n", sl_last_error());
		return 1;
	}
	sl_dq_consumer_set_error_cb(c, on_error, NULL);
	if (sl_dq_consumer_start(c)) {
		fprintf(stderr, "reminder: %s\n", sl_last_error());
		return 1;
	}

	for (int i = 0; i < count; i++) {
		char body[128], id[1024];
		int rc;
		if (i % 2 == 0) {
			int64_t delay = (i / 2 % 3) * 1000;
			snprintf(body, sizeof body, "%lld reminder #%d, %lld s after scheduling",
			         (long long)(now_ms() + delay), i + 1, (long long)delay / 1000);
			rc = sl_delay(p, body, strlen(body), delay, id, sizeof id);
		} else {
			int64_t when = now_ms() + 1000 + (i % 4) * 250;
			snprintf(body, sizeof body, "%lld reminder #%d, at a set time",
			         (long long)when, i + 1);
			rc = sl_at(p, body, strlen(body), when, id, sizeof id);
		}
		if (rc) {
			fprintf(stderr, "reminder: scheduling #%d: %s\n", i + 1, sl_last_error());
			return 1;
		}
		printf("scheduled #%d as %s\n", i + 1, id);
	}
	/* One more, cancelled: it never prints. */
	char id[1024];
	const char *never = "0 this reminder was cancelled";
	if (sl_delay(p, never, strlen(never), 1000, id, sizeof id) || sl_revoke(p, id)) {
		fprintf(stderr, "reminder: revoke: %s\n", sl_last_error());
		return 1;
	}
	printf("scheduled and cancelled %s\n", id);

	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 30;
	pthread_mutex_lock(&st.mu);
	int timed_out = 0;
	while (st.seen < st.want && !timed_out)
		timed_out = pthread_cond_timedwait(&st.done, &st.mu, &deadline) != 0;
	int seen = st.seen;
	pthread_mutex_unlock(&st.mu);

	sl_dq_consumer_stop(c);
	sl_dq_consumer_free(c);
	sl_dq_producer_free(p);
	sl_conf_free(conf);
	pthread_cond_destroy(&st.done);
	if (seen < count) {
		fprintf(stderr, "reminder: only %d of %d reminders ran within 30 s\n", seen, count);
		return 1;
	}
	printf("all %d reminders ran\n", count);
	return 0;
}

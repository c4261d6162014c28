/*
 * cmds.c — the beanstalkd command table and its handlers, with replies byte
 * for byte as beanstalkd 1.12 sends them (see docs/beanstalk.md for the few
 * deliberate differences). Loop thread only.
 *
 * Dispatch follows beanstalkd's rules: a line containing a NUL byte is
 * BAD_FORMAT; the command is the first table entry whose name is a prefix of
 * the line (so "quitnow" is quit and "reservex" is a malformed reserve);
 * argument errors are BAD_FORMAT; a command is counted in `stats` once its
 * arguments parsed.
 */
#include "proto/beanstalk/bstk.h"

#include "broker/stats.h"
#include "core/err.h"
#include "proto/beanstalk/parse.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MSG_NOT_FOUND "NOT_FOUND\r\n"
#define MSG_BAD_FORMAT "BAD_FORMAT\r\n"

static int h_put(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_peek(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_peek_ready(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_peek_delayed(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_peek_buried(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_reserve_timeout(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_reserve_job(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_reserve(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_delete(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_release(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_bury(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_kick(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_kick_job(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_touch(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_stats_job(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_stats_tube(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_stats(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_use(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_watch(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_ignore(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_list_tubes_watched(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_list_tube_used(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_list_tubes(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_quit(bstk_conn_t *bc, const char *args, uint64_t id);
static int h_pause_tube(bstk_conn_t *bc, const char *args, uint64_t id);

#define J 1 /* journaled: the command changes job state */

/* Matched in this order, as beanstalkd's which_cmd does. */
static const bstk_cmd_t cmds[] = {
    {"put ", OP_PUT, ARG_RAW, h_put, J},
    {"peek ", OP_PEEKJOB, ARG_ID, h_peek, 0},
    {"peek-ready", OP_PEEK_READY, ARG_NONE, h_peek_ready, 0},
    {"peek-delayed", OP_PEEK_DELAYED, ARG_NONE, h_peek_delayed, 0},
    {"peek-buried", OP_PEEK_BURIED, ARG_NONE, h_peek_buried, 0},
    {"reserve-with-timeout ", OP_RESERVE_TIMEOUT, ARG_RAW, h_reserve_timeout, 0},
    {"reserve-job ", OP_RESERVE_JOB, ARG_ID, h_reserve_job, J},
    {"reserve", OP_RESERVE, ARG_NONE, h_reserve, 0},
    {"delete ", OP_DELETE, ARG_ID, h_delete, J},
    {"release ", OP_RELEASE, ARG_RAW, h_release, J},
    {"bury ", OP_BURY, ARG_RAW, h_bury, J},
    {"kick ", OP_KICK, ARG_RAW, h_kick, J},
    {"kick-job ", OP_KICKJOB, ARG_ID, h_kick_job, J},
    {"touch ", OP_TOUCH, ARG_ID, h_touch, 0},
    {"stats-job ", OP_STATSJOB, ARG_ID, h_stats_job, 0},
    {"stats-tube ", OP_STATS_TUBE, ARG_TUBE, h_stats_tube, 0},
    {"stats", OP_STATS, ARG_NONE, h_stats, 0},
    {"use ", OP_USE, ARG_TUBE, h_use, 0},
    {"watch ", OP_WATCH, ARG_TUBE, h_watch, 0},
    {"ignore ", OP_IGNORE, ARG_TUBE, h_ignore, 0},
    {"list-tubes-watched", OP_LIST_TUBES_WATCHED, ARG_NONE, h_list_tubes_watched, 0},
    {"list-tube-used", OP_LIST_TUBE_USED, ARG_NONE, h_list_tube_used, 0},
    {"list-tubes", OP_LIST_TUBES, ARG_NONE, h_list_tubes, 0},
    {"quit", OP_QUIT, ARG_RAW, h_quit, 0},
    {"pause-tube", OP_PAUSE_TUBE, ARG_RAW, h_pause_tube, J},
};

#undef J

const bstk_cmd_t *bstk_cmd_find(const char *line)
{
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strncmp(line, cmds[i].name, strlen(cmds[i].name)) == 0)
			return &cmds[i];
	return NULL;
}

/* Whether the reply written to o from `at` on is one of beanstalkd's
 * error lines (for /metrics). */
static int err_reply(const buf_t *o, size_t at)
{
	static const char *const errs[] = {"NOT_FOUND",     "NOT_IGNORED",    "BAD_FORMAT",
	                                   "OUT_OF_MEMORY", "INTERNAL_ERROR", "UNKNOWN_COMMAND",
	                                   "DRAINING",      "JOB_TOO_BIG",    "EXPECTED_CRLF"};
	size_t n = buf_len(o) - at;
	for (size_t i = 0; n && i < sizeof errs / sizeof *errs; i++)
		if (n >= strlen(errs[i]) && !memcmp(buf_data(o) + at, errs[i], strlen(errs[i])))
			return 1;
	return 0;
}

int bstk_dispatch(bstk_conn_t *bc, char *line, size_t len)
{
	if (strlen(line) != len) {
		bstk_reply(bc, MSG_BAD_FORMAT);
		return 0;
	}
	const bstk_cmd_t *cmd = bstk_cmd_find(line);
	if (!cmd) {
		bstk_reply(bc, "UNKNOWN_COMMAND\r\n");
		return 0;
	}
	const char *args = line + strlen(cmd->name);
	uint64_t id = 0;
	switch (cmd->shape) {
	case ARG_NONE:
		if (*args) {
			bstk_reply(bc, MSG_BAD_FORMAT);
			return 0;
		}
		break;
	case ARG_ID:
		if (bstk_read_u64(args, &id, NULL)) {
			bstk_reply(bc, MSG_BAD_FORMAT);
			return 0;
		}
		break;
	case ARG_TUBE:
		if (!tube_name_valid(args, strlen(args))) {
			bstk_reply(bc, MSG_BAD_FORMAT);
			return 0;
		}
		break;
	}
	if (cmd->shape != ARG_RAW)
		bc->srv->op_ct[cmd->op]++;
	bc->journaled = cmd->journaled;
	stats_cmd_t *st = stats_cmd(STATS_TAB(bc->srv->b, STATS_BSTK), cmd, cmd->name);
	buf_t *o = bstk_out(bc);
	size_t at = buf_len(o);
	int64_t t0 = stats_begin(st, 1);
	int rc = cmd->h(bc, args, id);
	stats_end(st, t0, rc < 0 || err_reply(o, at));
	return rc;
}

/* The reply to a job change: its acknowledgement, NOT_FOUND, or
 * OUT_OF_MEMORY when the change was refused because it could not be made
 * durable (beanstalkd's answer when its binlog cannot take a change). */
static void ack(bstk_conn_t *bc, int rc, const char *msg)
{
	if (rc == SL_ENOENT)
		bstk_reply(bc, MSG_NOT_FOUND);
	else if (rc < 0)
		bstk_reply(bc, "OUT_OF_MEMORY\r\n");
	else
		bstk_reply(bc, msg);
}

static int read_dur(const char *s, int64_t *ns, const char **end)
{
	uint32_t sec;
	if (bstk_read_u32(s, &sec, end))
		return -1;
	*ns = (int64_t)sec * NS_PER_SEC;
	return 0;
}

/* --- put ------------------------------------------------------------------- */

static int h_put(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)id;
	bstk_srv_t *srv = bc->srv;
	uint32_t pri, bytes;
	int64_t delay, ttr;
	const char *e;
	if (bstk_read_u32(args, &pri, &e) || read_dur(e, &delay, &e) || read_dur(e, &ttr, &e) ||
	    bstk_read_u32(e, &bytes, &e)) {
		bstk_reply(bc, MSG_BAD_FORMAT);
		return 0;
	}
	srv->op_ct[OP_PUT]++;
	/* Checked before the trailing-garbage check, as in beanstalkd; the
	 * body is read and thrown away before the reply. */
	if (bytes > srv->jobs->max_job_size) {
		bstk_set_mode(bc, M_SKIP);
		bc->skip_left = (uint64_t)bytes + 2;
		bc->skip_reply = "JOB_TOO_BIG\r\n";
		return 0;
	}
	if (*e) {
		bstk_reply(bc, MSG_BAD_FORMAT);
		return 0;
	}
	jobs_mark_producer(srv->jobs, &bc->jc);
	bc->in_job = jobs_new_job(srv->jobs, pri, delay, ttr, bytes + 2);
	bc->in_got = 0;
	bstk_set_mode(bc, M_BODY);
	return 0;
}

void bstk_put_done(bstk_conn_t *bc)
{
	job_t *j = bc->in_job;
	bc->in_job = NULL;
	bstk_set_mode(bc, M_CMD);
	if (j->body[j->body_len - 2] != '\r' || j->body[j->body_len - 1] != '\n') {
		jobs_discard(bc->srv->jobs, j);
		bstk_reply(bc, "EXPECTED_CRLF\r\n");
		return;
	}
	/* Drain mode (SIGUSR1, as in beanstalkd): the body was read, the job
	 * is refused; its id stays used. */
	if (bc->srv->b->draining) {
		jobs_discard(bc->srv->jobs, j);
		bstk_reply(bc, "DRAINING\r\n");
		return;
	}
	uint64_t id = j->id;
	int rc = jobs_put(bc->srv->jobs, &bc->jc, j);
	if (rc < 0)
		jobs_discard(bc->srv->jobs, j); /* its id stays used */
	char msg[40];
	snprintf(msg, sizeof msg, "INSERTED %" PRIu64 "\r\n", id);
	ack(bc, rc, msg);
}

/* --- reserve ------------------------------------------------------------------ */

static void do_reserve(bstk_conn_t *bc, int64_t timeout)
{
	job_t *j = NULL;
	switch (jobs_reserve(bc->srv->jobs, &bc->jc, timeout, &j)) {
	case JOB_RES_RESERVED:
		bstk_reply_job(bc, bstk_out(bc), "RESERVED", j);
		break;
	case JOB_RES_DEADLINE_SOON:
		bstk_reply(bc, "DEADLINE_SOON\r\n");
		break;
	case JOB_RES_TIMED_OUT:
		bstk_reply(bc, "TIMED_OUT\r\n");
		break;
	case JOB_RES_WAITING:
		/* Pipelined commands wait until this reserve is answered. */
		bc->waiting = 1;
		conn_pause(bc->c);
		break;
	}
}

void bstk_wake(job_client_t *jc, int what, job_t *j)
{
	bstk_conn_t *bc = jc->arg;
	bc->waiting = 0;
	bstk_reply_begin(bc, 0);
	if (what == JOB_WAKE_RESERVED)
		bstk_reply_job(bc, bstk_out(bc), "RESERVED", j);
	else if (what == JOB_WAKE_DEADLINE_SOON)
		bstk_reply(bc, "DEADLINE_SOON\r\n");
	else
		bstk_reply(bc, "TIMED_OUT\r\n");
	bstk_reply_end(bc);
	conn_resume(bc->c);
}

static int h_reserve(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args, (void)id;
	do_reserve(bc, -1);
	return 0;
}

static int h_reserve_timeout(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)id;
	int timeout;
	if (bstk_read_timeout(args, &timeout)) {
		bstk_reply(bc, MSG_BAD_FORMAT);
		return 0;
	}
	bc->srv->op_ct[OP_RESERVE_TIMEOUT]++;
	do_reserve(bc, timeout);
	return 0;
}

static int h_reserve_job(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args;
	job_t *j = NULL;
	int rc = jobs_reserve_job(bc->srv->jobs, &bc->jc, id, &j);
	if (rc < 0)
		ack(bc, rc, "");
	else
		bstk_reply_job(bc, bstk_out(bc), "RESERVED", j);
	return 0;
}

/* --- job state changes ---------------------------------------------------------- */

static int h_delete(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args;
	ack(bc, jobs_delete(bc->srv->jobs, &bc->jc, id), "DELETED\r\n");
	return 0;
}

static int h_release(bstk_conn_t *bc, const char *args, uint64_t unused)
{
	(void)unused;
	uint64_t id;
	uint32_t pri;
	int64_t delay;
	const char *e;
	if (bstk_read_u64(args, &id, &e) || bstk_read_u32(e, &pri, &e) ||
	    read_dur(e, &delay, NULL)) {
		bstk_reply(bc, MSG_BAD_FORMAT);
		return 0;
	}
	bc->srv->op_ct[OP_RELEASE]++;
	ack(bc, jobs_release(bc->srv->jobs, &bc->jc, id, pri, delay), "RELEASED\r\n");
	return 0;
}

static int h_bury(bstk_conn_t *bc, const char *args, uint64_t unused)
{
	(void)unused;
	uint64_t id;
	uint32_t pri;
	const char *e;
	if (bstk_read_u64(args, &id, &e) || bstk_read_u32(e, &pri, NULL)) {
		bstk_reply(bc, MSG_BAD_FORMAT);
		return 0;
	}
	bc->srv->op_ct[OP_BURY]++;
	ack(bc, jobs_bury(bc->srv->jobs, &bc->jc, id, pri), "BURIED\r\n");
	return 0;
}

static int h_kick(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)id;
	uint32_t bound;
	if (bstk_read_bound(args, &bound)) {
		bstk_reply(bc, MSG_BAD_FORMAT);
		return 0;
	}
	bc->srv->op_ct[OP_KICK]++;
	long n = jobs_kick(bc->srv->jobs, bc->jc.use, bound);
	char msg[32];
	snprintf(msg, sizeof msg, "KICKED %ld\r\n", n);
	ack(bc, n < 0 ? (int)n : 0, msg);
	return 0;
}

static int h_kick_job(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args;
	ack(bc, jobs_kick_job(bc->srv->jobs, id), "KICKED\r\n");
	return 0;
}

static int h_touch(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args;
	if (jobs_touch(bc->srv->jobs, &bc->jc, id))
		bstk_reply(bc, MSG_NOT_FOUND);
	else
		bstk_reply(bc, "TOUCHED\r\n");
	return 0;
}

static int h_pause_tube(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)id;
	/* beanstalkd: a name made of name characters (spaces skipped first),
	 * then the delay; then the name is checked as a tube name. */
	while (*args == ' ')
		args++;
	size_t n = bstk_name_span(args);
	int64_t delay;
	if (n == 0 || read_dur(args + n, &delay, NULL)) {
		bstk_reply(bc, MSG_BAD_FORMAT);
		return 0;
	}
	bc->srv->op_ct[OP_PAUSE_TUBE]++;
	if (!tube_name_valid(args, n)) {
		bstk_reply(bc, MSG_BAD_FORMAT);
		return 0;
	}
	ack(bc, jobs_pause(bc->srv->jobs, args, n, delay), "PAUSED\r\n");
	return 0;
}

/* --- peeks ------------------------------------------------------------------------ */

static void found(bstk_conn_t *bc, const job_t *j)
{
	if (j)
		bstk_reply_job(bc, bstk_out(bc), "FOUND", j);
	else
		bstk_reply(bc, MSG_NOT_FOUND);
}

static int h_peek(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args;
	found(bc, jobs_find(bc->srv->jobs, id));
	return 0;
}

static int h_peek_ready(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args, (void)id;
	found(bc, jobs_peek_ready(bc->jc.use));
	return 0;
}

static int h_peek_delayed(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args, (void)id;
	found(bc, jobs_peek_delayed(bc->jc.use));
	return 0;
}

static int h_peek_buried(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args, (void)id;
	found(bc, jobs_peek_buried(bc->jc.use));
	return 0;
}

/* --- tubes --------------------------------------------------------------------------- */

static int h_use(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)id;
	job_client_use(&bc->jc, args, strlen(args));
	buf_printf(bstk_out(bc), "USING %s\r\n", bc->jc.use->name);
	return 0;
}

static int h_watch(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)id;
	size_t n = job_client_watch(&bc->jc, args, strlen(args));
	buf_printf(bstk_out(bc), "WATCHING %zu\r\n", n);
	return 0;
}

static int h_ignore(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)id;
	long n = job_client_ignore(&bc->jc, args, strlen(args));
	if (n < 0)
		bstk_reply(bc, "NOT_IGNORED\r\n");
	else
		buf_printf(bstk_out(bc), "WATCHING %ld\r\n", n);
	return 0;
}

static void list(bstk_conn_t *bc, tube_t *const *v, size_t n)
{
	buf_t *s = &bc->srv->scratch;
	buf_reset(s);
	buf_puts(s, "---\n");
	for (size_t i = 0; i < n; i++)
		buf_printf(s, "- %s\n", v[i]->name);
	buf_t *out = bstk_out(bc);
	buf_printf(out, "OK %zu\r\n", buf_len(s));
	buf_append(out, buf_data(s), buf_len(s));
	buf_puts(out, "\r\n");
}

static int h_list_tubes(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args, (void)id;
	list(bc, bc->srv->jobs->tubes.v, bc->srv->jobs->tubes.n);
	return 0;
}

static int h_list_tubes_watched(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args, (void)id;
	list(bc, bc->jc.watch, bc->jc.nwatch);
	return 0;
}

static int h_list_tube_used(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args, (void)id;
	buf_printf(bstk_out(bc), "USING %s\r\n", bc->jc.use->name);
	return 0;
}

static int h_quit(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args, (void)id;
	bc->quit = 1;
	return 0;
}

/* --- stats ---------------------------------------------------------------------------- */

static void send_yaml(bstk_conn_t *bc)
{
	buf_t *s = &bc->srv->scratch;
	buf_t *out = bstk_out(bc);
	buf_printf(out, "OK %zu\r\n", buf_len(s));
	buf_append(out, buf_data(s), buf_len(s));
	buf_puts(out, "\r\n");
}

static int h_stats_job(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args;
	job_t *j = jobs_find(bc->srv->jobs, id);
	if (!j) {
		bstk_reply(bc, MSG_NOT_FOUND);
		return 0;
	}
	int64_t now = jobs_now();
	int64_t left = 0;
	if (j->state == JOB_RESERVED || j->state == JOB_DELAYED)
		left = (j->deadline_ns - now) / NS_PER_SEC;
	buf_t *s = &bc->srv->scratch;
	buf_reset(s);
	buf_printf(s,
	           "---\nid: %" PRIu64 "\ntube: %s\nstate: %s\npri: %" PRIu32 "\nage: %" PRId64
	           "\ndelay: %" PRId64 "\nttr: %" PRId64 "\ntime-left: %" PRId64
	           "\nfile: 0\nreserves: %" PRIu32 "\ntimeouts: %" PRIu32 "\nreleases: %" PRIu32
	           "\nburies: %" PRIu32 "\nkicks: %" PRIu32 "\n",
	           j->id, j->tube->name, job_state_names[j->state], j->pri,
	           (now - j->created_ns) / NS_PER_SEC, j->delay_ns / NS_PER_SEC,
	           j->ttr_ns / NS_PER_SEC, left, j->reserves, j->timeouts, j->releases, j->buries,
	           j->kicks);
	send_yaml(bc);
	return 0;
}

static int h_stats_tube(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)id;
	tube_t *t = tube_find(&bc->srv->jobs->tubes, args, strlen(args));
	if (!t) {
		bstk_reply(bc, MSG_NOT_FOUND);
		return 0;
	}
	int64_t left = t->pause_ns ? (t->unpause_at - jobs_now()) / NS_PER_SEC : 0;
	buf_t *s = &bc->srv->scratch;
	buf_reset(s);
	buf_printf(s,
	           "---\nname: %s\ncurrent-jobs-urgent: %" PRIu64 "\ncurrent-jobs-ready: %zu\n"
	           "current-jobs-reserved: %" PRIu64 "\ncurrent-jobs-delayed: %zu\n"
	           "current-jobs-buried: %zu\ntotal-jobs: %" PRIu64 "\ncurrent-using: %" PRIu32
	           "\ncurrent-watching: %" PRIu32 "\ncurrent-waiting: %zu\ncmd-delete: %" PRIu64
	           "\ncmd-pause-tube: %" PRIu64 "\npause: %" PRId64 "\npause-time-left: %" PRId64
	           "\n",
	           t->name, t->urgent_n, heap_len(&t->ready), t->reserved_n, heap_len(&t->delay),
	           t->buried_n, t->total_jobs, t->using_n, t->watching_n, t->nwaiters, t->deletes,
	           t->pauses, t->pause_ns / NS_PER_SEC, left);
	send_yaml(bc);
	return 0;
}

static int h_stats(bstk_conn_t *bc, const char *args, uint64_t id)
{
	(void)args, (void)id;
	bstk_srv_t *srv = bc->srv;
	jobs_t *js = srv->jobs;
	const uint64_t *op = srv->op_ct;
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	getrusage(RUSAGE_SELF, &ru);
	buf_t *s = &srv->scratch;
	buf_reset(s);
	buf_printf(s,
	           "---\ncurrent-jobs-urgent: %" PRIu64 "\ncurrent-jobs-ready: %" PRIu64
	           "\ncurrent-jobs-reserved: %" PRIu64 "\ncurrent-jobs-delayed: %" PRIu64
	           "\ncurrent-jobs-buried: %" PRIu64 "\n",
	           js->urgent_n, js->ready_n, js->reserved_n, js->delayed_n, js->buried_n);
	static const struct {
		const char *name;
		int op;
	} counted[] = {
	    {"put", OP_PUT},
	    {"peek", OP_PEEKJOB},
	    {"peek-ready", OP_PEEK_READY},
	    {"peek-delayed", OP_PEEK_DELAYED},
	    {"peek-buried", OP_PEEK_BURIED},
	    {"reserve", OP_RESERVE},
	    {"reserve-with-timeout", OP_RESERVE_TIMEOUT},
	    {"delete", OP_DELETE},
	    {"release", OP_RELEASE},
	    {"use", OP_USE},
	    {"watch", OP_WATCH},
	    {"ignore", OP_IGNORE},
	    {"bury", OP_BURY},
	    {"kick", OP_KICK},
	    {"touch", OP_TOUCH},
	    {"stats", OP_STATS},
	    {"stats-job", OP_STATSJOB},
	    {"stats-tube", OP_STATS_TUBE},
	    {"list-tubes", OP_LIST_TUBES},
	    {"list-tube-used", OP_LIST_TUBE_USED},
	    {"list-tubes-watched", OP_LIST_TUBES_WATCHED},
	    {"pause-tube", OP_PAUSE_TUBE},
	};
	for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++)
		buf_printf(s, "cmd-%s: %" PRIu64 "\n", counted[i].name, op[counted[i].op]);
	buf_printf(s,
	           "job-timeouts: %" PRIu64 "\ntotal-jobs: %" PRIu64 "\nmax-job-size: %zu\n"
	           "current-tubes: %zu\ncurrent-connections: %" PRIu32
	           "\ncurrent-producers: %" PRIu32 "\ncurrent-workers: %" PRIu32
	           "\ncurrent-waiting: %" PRIu64 "\ntotal-connections: %" PRIu32
	           "\npid: %ld\nversion: \"1.12\"\n"
	           "rusage-utime: %d.%06d\nrusage-stime: %d.%06d\nuptime: %" PRId64 "\n"
	           "binlog-oldest-index: 0\nbinlog-current-index: 0\nbinlog-records-migrated: 0\n"
	           "binlog-records-written: %" PRIu64 "\nbinlog-max-size: 10485760\n"
	           "draining: %s\nid: %s\nhostname: %s\nos: %s\nplatform: %s\n",
	           js->timeouts, js->total_jobs, js->max_job_size, js->tubes.n, js->conns_n,
	           js->producers_n, js->workers_n, js->waiting_n, js->conns_total, (long)getpid(),
	           (int)ru.ru_utime.tv_sec, (int)ru.ru_utime.tv_usec, (int)ru.ru_stime.tv_sec,
	           (int)ru.ru_stime.tv_usec, (jobs_now() - js->started_ns) / NS_PER_SEC, js->jseq,
	           srv->b->draining ? "true" : "false", srv->instance, srv->uts.nodename,
	           srv->uts.version, srv->uts.machine);
	send_yaml(bc);
	return 0;
}

/* --- replies ------------------------------------------------------------------------------ */

void bstk_reply(bstk_conn_t *bc, const char *msg)
{
	buf_puts(bstk_out(bc), msg);
}

void bstk_reply_job(bstk_conn_t *bc, buf_t *out, const char *word, const job_t *j)
{
	(void)bc;
	buf_printf(out, "%s %" PRIu64 " %" PRIu32 "\r\n", word, j->id, j->body_len - 2);
	buf_append(out, j->body, j->body_len);
}

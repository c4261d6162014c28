/*
 * jobs.c — sl_jobs: a blocking beanstalkd-protocol client (see jobs.h for
 * the reply → return code table).
 *
 * Each call writes one command and reads its reply on the caller's thread.
 * Reply lines are at most REPLY_LINE bytes (beanstalkd's longest is
 * "USING <200-byte tube>"); bodies announce their size first, and that size
 * is checked against SL_JOBS_MAX_BODY before anything is allocated. Any
 * failure that may leave unread bytes on the socket closes the connection,
 * so a later call can never read the tail of an earlier reply.
 */
#include "dq.h"
#include "netio.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_LINE 512
#define DEFAULT_TIMEOUT_MS 10000

struct sl_jobs {
	lib_conn conn;
	int io_ms;
	char addr[256];
};

/* Single-line replies the protocol defines that are not the expected one:
 * the connection stays in step after them. */
static const struct {
	const char *word;
	int code;
} KNOWN_ERRORS[] = {
    {"NOT_FOUND", SL_ENOENT},       {"TIMED_OUT", SL_ETIMEDOUT},   {"JOB_TOO_BIG", SL_ETOOBIG},
    {"BURIED", SL_EREMOTE},         {"NOT_IGNORED", SL_EREMOTE},   {"DEADLINE_SOON", SL_EREMOTE},
    {"DRAINING", SL_EREMOTE},       {"EXPECTED_CRLF", SL_EREMOTE}, {"OUT_OF_MEMORY", SL_EREMOTE},
    {"INTERNAL_ERROR", SL_EREMOTE}, {"BAD_FORMAT", SL_EREMOTE},    {"UNKNOWN_COMMAND", SL_EREMOTE},
};

static int fail_closed(sl_jobs *j, int rc)
{
	lib_net_close(&j->conn);
	return rc;
}

/* A reply that is not the expected one: a known error word keeps the
 * connection (SL_E* per the table), anything else closes it. */
static int unexpected(sl_jobs *j, const char *cmd, const char *line)
{
	size_t wl = strcspn(line, " ");
	for (size_t i = 0; i < sizeof KNOWN_ERRORS / sizeof KNOWN_ERRORS[0]; i++) {
		if (strlen(KNOWN_ERRORS[i].word) == wl && !strncmp(line, KNOWN_ERRORS[i].word, wl))
			return lib_err(KNOWN_ERRORS[i].code, "%s: %s", cmd, line);
	}
	return fail_closed(j, lib_err(SL_EPROTO, "%s: unexpected reply \"%.100s\"", cmd, line));
}

bool lib_jobs_valid_tube(const char *t)
{
	size_t n = strlen(t);
	if (n < 1 || n > 200 || t[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = t[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("-+/;.$_()", ch)))
			return false;
	}
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return false;
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return *s == '\0' || *s == ' ';
}

/* The argument after the first word of line ("RESERVED 5 12" → "5 12"). */
static const char *arg_of(const char *line)
{
	const char *sp = strchr(line, ' ');
	return sp ? sp + 1 : "";
}

/* Sends head (+ body and CRLF if body is not NULL) and reads the reply
 * line, waiting up to the I/O timeout plus wait_s seconds (wait_s < 0: no
 * limit). Returns 0 or a negative code with the connection closed. */
static int roundtrip(sl_jobs *j, const char *cmd, const char *head, const void *body, size_t len,
                     int wait_s, char *line)
{
	if (!j)
		return lib_err(SL_EINVAL, "%s: NULL handle", cmd);
	if (j->conn.fd < 0)
		return lib_err(SL_ECLOSED, "%s: connection to %s is closed", cmd, j->addr);
	struct iovec iov[3] = {{(void *)head, strlen(head)}, {(void *)body, len}, {"\r\n", 2}};
	int64_t deadline = lib_net_deadline(j->io_ms);
	int rc = lib_net_writev(&j->conn, iov, body ? 3 : 1, deadline);
	if (rc == 0) {
		if (wait_s < 0)
			deadline = -1;
		else
			deadline = lib_net_deadline((int64_t)j->io_ms + (int64_t)wait_s * 1000);
		rc = lib_net_read_line(&j->conn, line, REPLY_LINE, deadline);
	}
	if (rc < 0) {
		char why[256];
		snprintf(why, sizeof why, "%s", sl_last_error());
		return fail_closed(j, lib_err(rc, "%s %s: %s", cmd, j->addr, why));
	}
	return 0;
}

/* Reads a body of size bytes plus CRLF into an owned, NUL-terminated
 * buffer. */
static int read_body(sl_jobs *j, const char *cmd, uint64_t size, char **out)
{
	if (size > SL_JOBS_MAX_BODY)
		return fail_closed(j, lib_err(SL_ETOOBIG,
		                              "%s: reply of %" PRIu64
		                              " bytes exceeds the %u-byte limit",
		                              cmd, size, SL_JOBS_MAX_BODY));
	char *buf = malloc((size_t)size + 2);
	if (!buf)
		return fail_closed(j, lib_err(SL_ENOMEM, "out of memory"));
	int rc = lib_net_read_exact(&j->conn, buf, (size_t)size + 2, lib_net_deadline(j->io_ms));
	if (rc == 0 && (buf[size] != '\r' || buf[size + 1] != '\n'))
		rc = lib_err(SL_EPROTO, "%s: body not followed by CRLF", cmd);
	if (rc) {
		free(buf);
		return fail_closed(j, rc);
	}
	buf[size] = '\0';
	*out = buf;
	return 0;
}

static sl_jobs *jobs_open(const char *addr, int tls, const char *ca_file, int timeout_ms)
{
	if (!addr) {
		lib_err(SL_EINVAL, "sl_jobs_connect: NULL address");
		return NULL;
	}
	sl_jobs *j = malloc(sizeof *j);
	if (!j) {
		lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	j->io_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	snprintf(j->addr, sizeof j->addr, "%s", addr);
	int rc = tls ? lib_net_open_tls(&j->conn, addr, ca_file, j->io_ms)
	             : lib_net_open(&j->conn, addr, j->io_ms);
	if (rc) {
		free(j);
		return NULL;
	}
	return j;
}

sl_jobs *sl_jobs_connect(const char *addr, int timeout_ms)
{
	return jobs_open(addr, 0, NULL, timeout_ms);
}

sl_jobs *sl_jobs_connect_tls(const char *addr, const char *ca_file, int timeout_ms)
{
	return jobs_open(addr, 1, ca_file, timeout_ms);
}

bool lib_jobs_is_open(const sl_jobs *j)
{
	return j && j->conn.fd >= 0;
}

void sl_jobs_close(sl_jobs *j)
{
	if (!j)
		return;
	lib_net_close(&j->conn);
	free(j);
}

/* A command whose success reply is one line starting with ok_word; the
 * rest of that line goes to rest (may be NULL). */
static int simple(sl_jobs *j, const char *cmd, const char *head, const char *ok_word, char *rest,
                  size_t cap)
{
	char line[REPLY_LINE];
	int rc = roundtrip(j, cmd, head, NULL, 0, 0, line);
	if (rc)
		return rc;
	size_t wl = strcspn(line, " ");
	if (wl != strlen(ok_word) || strncmp(line, ok_word, wl))
		return unexpected(j, cmd, line);
	if (rest)
		snprintf(rest, cap, "%s", arg_of(line));
	return 0;
}

static int tube_cmd(sl_jobs *j, const char *verb, const char *tube, const char *ok_word)
{
	if (!tube || !lib_jobs_valid_tube(tube))
		return lib_err(SL_EINVAL, "%s: invalid tube name \"%.200s\"", verb,
		               tube ? tube : "");
	char head[256];
	snprintf(head, sizeof head, "%s %s\r\n", verb, tube);
	return simple(j, verb, head, ok_word, NULL, 0);
}

int sl_jobs_use(sl_jobs *j, const char *tube)
{
	return tube_cmd(j, "use", tube, "USING");
}

int sl_jobs_watch(sl_jobs *j, const char *tube)
{
	return tube_cmd(j, "watch", tube, "WATCHING");
}

int sl_jobs_ignore(sl_jobs *j, const char *tube)
{
	return tube_cmd(j, "ignore", tube, "WATCHING");
}

int sl_jobs_pause_tube(sl_jobs *j, const char *tube, uint32_t delay_s)
{
	if (!tube || !lib_jobs_valid_tube(tube))
		return lib_err(SL_EINVAL, "pause-tube: invalid tube name \"%.200s\"",
		               tube ? tube : "");
	char head[256];
	snprintf(head, sizeof head, "pause-tube %s %" PRIu32 "\r\n", tube, delay_s);
	return simple(j, "pause-tube", head, "PAUSED", NULL, 0);
}

int sl_jobs_put(sl_jobs *j, uint32_t pri, uint32_t delay_s, uint32_t ttr_s, const void *body,
                size_t len, uint64_t *id)
{
	if (!body && len)
		return lib_err(SL_EINVAL, "put: NULL body");
	char head[96], line[REPLY_LINE];
	snprintf(head, sizeof head, "put %" PRIu32 " %" PRIu32 " %" PRIu32 " %zu\r\n", pri, delay_s,
	         ttr_s, len);
	int rc = roundtrip(j, "put", head, body ? body : "", len, 0, line);
	if (rc)
		return rc;
	uint64_t v;
	bool inserted = !strncmp(line, "INSERTED ", 9);
	if ((inserted || !strncmp(line, "BURIED ", 7)) && parse_u64(arg_of(line), &v)) {
		if (id)
			*id = v;
		/* BURIED <id>: the server ran out of memory and buried the job. */
		return inserted ? 0 : lib_err(SL_EREMOTE, "put: %s", line);
	}
	return unexpected(j, "put", line);
}

/* Reads "<WORD> <id> <bytes>" + body, as RESERVED and FOUND carry. */
static int job_reply(sl_jobs *j, const char *cmd, const char *word, const char *line, uint64_t *id,
                     char **body, size_t *len)
{
	size_t wl = strlen(word);
	uint64_t jid, size;
	const char *a = line + wl + 1;
	if (strncmp(line, word, wl) || line[wl] != ' ')
		return unexpected(j, cmd, line);
	if (!parse_u64(a, &jid) || !parse_u64(arg_of(a), &size))
		return fail_closed(j,
		                   lib_err(SL_EPROTO, "%s: malformed reply \"%.100s\"", cmd, line));
	char *buf;
	int rc = read_body(j, cmd, size, &buf);
	if (rc)
		return rc;
	if (id)
		*id = jid;
	if (len)
		*len = (size_t)size;
	if (body)
		*body = buf;
	else
		free(buf);
	return 0;
}

int sl_jobs_reserve(sl_jobs *j, int timeout_s, uint64_t *id, char **body, size_t *len)
{
	char head[64], line[REPLY_LINE];
	if (timeout_s < 0)
		snprintf(head, sizeof head, "reserve\r\n");
	else
		snprintf(head, sizeof head, "reserve-with-timeout %d\r\n", timeout_s);
	int rc = roundtrip(j, "reserve", head, NULL, 0, timeout_s, line);
	if (rc)
		return rc;
	return job_reply(j, "reserve", "RESERVED", line, id, body, len);
}

int sl_jobs_reserve_job(sl_jobs *j, uint64_t id, char **body, size_t *len)
{
	char head[64], line[REPLY_LINE];
	snprintf(head, sizeof head, "reserve-job %" PRIu64 "\r\n", id);
	int rc = roundtrip(j, "reserve-job", head, NULL, 0, 0, line);
	if (rc)
		return rc;
	return job_reply(j, "reserve-job", "RESERVED", line, NULL, body, len);
}

static int id_cmd(sl_jobs *j, const char *verb, uint64_t id, const char *ok_word)
{
	char head[64];
	snprintf(head, sizeof head, "%s %" PRIu64 "\r\n", verb, id);
	return simple(j, verb, head, ok_word, NULL, 0);
}

int sl_jobs_delete(sl_jobs *j, uint64_t id)
{
	return id_cmd(j, "delete", id, "DELETED");
}

int sl_jobs_touch(sl_jobs *j, uint64_t id)
{
	return id_cmd(j, "touch", id, "TOUCHED");
}

int sl_jobs_kick_job(sl_jobs *j, uint64_t id)
{
	return id_cmd(j, "kick-job", id, "KICKED");
}

int sl_jobs_release(sl_jobs *j, uint64_t id, uint32_t pri, uint32_t delay_s)
{
	char head[96];
	snprintf(head, sizeof head, "release %" PRIu64 " %" PRIu32 " %" PRIu32 "\r\n", id, pri,
	         delay_s);
	return simple(j, "release", head, "RELEASED", NULL, 0);
}

int sl_jobs_bury(sl_jobs *j, uint64_t id, uint32_t pri)
{
	char head[96];
	snprintf(head, sizeof head, "bury %" PRIu64 " %" PRIu32 "\r\n", id, pri);
	return simple(j, "bury", head, "BURIED", NULL, 0);
}

int sl_jobs_kick(sl_jobs *j, uint32_t bound, uint32_t *kicked)
{
	char head[64], rest[REPLY_LINE];
	snprintf(head, sizeof head, "kick %" PRIu32 "\r\n", bound);
	int rc = simple(j, "kick", head, "KICKED", rest, sizeof rest);
	if (rc)
		return rc;
	uint64_t n;
	if (!parse_u64(rest, &n) || n > UINT32_MAX)
		return fail_closed(j, lib_err(SL_EPROTO, "kick: malformed count \"%.100s\"", rest));
	if (kicked)
		*kicked = (uint32_t)n;
	return 0;
}

int sl_jobs_peek(sl_jobs *j, const char *what, uint64_t id, uint64_t *out_id, char **body,
                 size_t *len)
{
	char head[64], line[REPLY_LINE];
	if (!what)
		snprintf(head, sizeof head, "peek %" PRIu64 "\r\n", id);
	else if (!strcmp(what, "ready") || !strcmp(what, "delayed") || !strcmp(what, "buried"))
		snprintf(head, sizeof head, "peek-%s\r\n", what);
	else
		return lib_err(SL_EINVAL, "peek: expected ready, delayed or buried, got \"%.40s\"",
		               what);
	int rc = roundtrip(j, "peek", head, NULL, 0, 0, line);
	if (rc)
		return rc;
	return job_reply(j, "peek", "FOUND", line, out_id, body, len);
}

/* Commands whose reply is "OK <bytes>" + a YAML body. */
static int yaml_cmd(sl_jobs *j, const char *cmd, const char *head, char **yaml)
{
	char line[REPLY_LINE];
	int rc = roundtrip(j, cmd, head, NULL, 0, 0, line);
	if (rc)
		return rc;
	uint64_t size;
	if (strncmp(line, "OK ", 3))
		return unexpected(j, cmd, line);
	if (!parse_u64(line + 3, &size) || strchr(line + 3, ' '))
		return fail_closed(j,
		                   lib_err(SL_EPROTO, "%s: malformed reply \"%.100s\"", cmd, line));
	char *buf;
	rc = read_body(j, cmd, size, &buf);
	if (rc)
		return rc;
	if (yaml)
		*yaml = buf;
	else
		free(buf);
	return 0;
}

int sl_jobs_stats(sl_jobs *j, char **yaml)
{
	return yaml_cmd(j, "stats", "stats\r\n", yaml);
}

int sl_jobs_stats_tube(sl_jobs *j, const char *tube, char **yaml)
{
	if (!tube || !lib_jobs_valid_tube(tube))
		return lib_err(SL_EINVAL, "stats-tube: invalid tube name \"%.200s\"",
		               tube ? tube : "");
	char head[256];
	snprintf(head, sizeof head, "stats-tube %s\r\n", tube);
	return yaml_cmd(j, "stats-tube", head, yaml);
}

int sl_jobs_stats_job(sl_jobs *j, uint64_t id, char **yaml)
{
	char head[64];
	snprintf(head, sizeof head, "stats-job %" PRIu64 "\r\n", id);
	return yaml_cmd(j, "stats-job", head, yaml);
}

int sl_jobs_list_tubes(sl_jobs *j, char **yaml)
{
	return yaml_cmd(j, "list-tubes", "list-tubes\r\n", yaml);
}

int sl_jobs_list_tubes_watched(sl_jobs *j, char **yaml)
{
	return yaml_cmd(j, "list-tubes-watched", "list-tubes-watched\r\n", yaml);
}

int sl_jobs_list_tube_used(sl_jobs *j, char *tube, size_t cap)
{
	char rest[REPLY_LINE];
	int rc = simple(j, "list-tube-used", "list-tube-used\r\n", "USING", rest, sizeof rest);
	if (rc == 0 && tube && cap)
		snprintf(tube, cap, "%s", rest);
	return rc;
}

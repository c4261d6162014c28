/*
 * cmd_status.c — `sluice status`: what one sluiced serves.
 *
 * Three sources, because each protocol front keeps its state to itself:
 * GET /status on the HTTP port (uptime, ports, disk use, log bytes per
 * topic), the Kafka port (topics with message counts from watermarks,
 * groups with lag) and the beanstalkd port (tubes). The Kafka and
 * beanstalkd addresses default to the HTTP host with the ports /status
 * reports, unless given (-b / SLUICE_BROKERS, --beanstalk /
 * SLUICE_BEANSTALK); a section that cannot be fetched is reported on
 * stderr and makes the exit status 1, the others still print.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"

#define HTTP_MAX_REPLY (16 << 20)

enum { OPT_HTTP = 300, OPT_JSON, OPT_BEANSTALK };

typedef struct status_opts {
	const char *http, *beanstalk;
	bool json;
} status_opts;

static int on_opt(cli_t *cli, int id, const char *arg, void *st)
{
	status_opts *o = st;
	switch (id) {
	case OPT_HTTP:
		o->http = arg;
		return 0;
	case OPT_BEANSTALK:
		o->beanstalk = arg;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	default:
		return cli_usage(cli, "unexpected option");
	}
}

/* Splits "host:port" into host (cap bytes) and port; false if malformed. */
static bool split_addr(const char *addr, char *host, size_t cap, char *port, size_t pcap)
{
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || !colon[1] || (size_t)(colon - addr) >= cap ||
	    strlen(colon + 1) >= pcap)
		return false;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	strcpy(port, colon + 1);
	return true;
}

/* Connects with a deadline; the fd, or -1 with *why set. */
static int dial(const char *host, const char *port, int timeout_ms, const char **why)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0) {
		*why = "cannot resolve host";
		return -1;
	}
	int fd = -1;
	*why = "connection refused";
	for (struct addrinfo *p = ai; p && fd < 0; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, p->ai_addr, p->ai_addrlen) != 0 && errno == EINPROGRESS) {
			struct pollfd pfd = {fd, POLLOUT, 0};
			int err = 0;
			socklen_t el = sizeof err;
			if (poll(&pfd, 1, timeout_ms) != 1) {
				*why = "timed out";
				err = ETIMEDOUT;
			} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
				*why = strerror(err ? err : errno);
			}
			if (err) {
				close(fd);
				fd = -1;
			}
		} else if (errno != 0 && errno != EINPROGRESS) {
			*why = strerror(errno);
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

/* GET path from addr; *body (owned) is the reply body. 0 or EXIT_FAIL
 * (printed). */
static int http_get(const char *addr, const char *path, int timeout_ms, char **body, size_t *len)
{
	char host[256], port[32];
	if (!split_addr(addr, host, sizeof host, port, sizeof port))
		return cli_fail("status: bad --http address '%s' (expected HOST:PORT)", addr);
	const char *why;
	int fd = dial(host, port, timeout_ms, &why);
	if (fd < 0)
		return cli_fail("status: cannot connect to %s: %s", addr, why);
	char req[512];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
	size_t cap = 65536, got = 0;
	char *buf = malloc(cap);
	int rc = EXIT_FAIL;
	if (!buf) {
		cli_fail("out of memory");
		goto done;
	}
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		cli_fail("status: cannot send to %s: %s", addr, strerror(errno));
		goto done;
	}
	int64_t deadline = cli_now_us() + (int64_t)timeout_ms * 1000;
	for (;;) {
		int left = (int)((deadline - cli_now_us()) / 1000);
		struct pollfd pfd = {fd, POLLIN, 0};
		if (left <= 0 || poll(&pfd, 1, left) != 1) {
			cli_fail("status: no reply from %s within %d ms", addr, timeout_ms);
			goto done;
		}
		if (got + 1 >= cap) {
			char *nb = cap < HTTP_MAX_REPLY ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				cli_fail("status: reply from %s too large", addr);
				goto done;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + got, cap - got - 1, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0) {
			cli_fail("status: reading from %s: %s", addr, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = 0;
	char *sep = strstr(buf, "\r\n\r\n");
	int code = 0;
	if (!sep || sscanf(buf, "HTTP/1.%*d %d", &code) != 1) {
		cli_fail("status: %s did not answer HTTP", addr);
		goto done;
	}
	if (code != 200) {
		cli_fail("status: %s answered %d to GET %s (is it a sluiced?)", addr, code, path);
		goto done;
	}
	*len = got - (size_t)(sep + 4 - buf);
	memmove(buf, sep + 4, *len + 1);
	*body = buf;
	buf = NULL;
	rc = 0;
done:
	free(buf);
	close(fd);
	return rc;
}

static const char *human(char *buf, size_t n, double bytes)
{
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
	return buf;
}

static const char *port_text(char *buf, double port)
{
	if (port < 0)
		return "off";
	if (port == 0)
		return "ephemeral";
	snprintf(buf, 16, "%.0f", port);
	return buf;
}

static uint64_t topic_bytes(const json *st, const char *name)
{
	const json *ts = json_get(st, "topics");
	for (size_t i = 0; ts && ts->type == JSON_ARR && i < ts->n; i++)
		if (!strcmp(json_str(&ts->kids[i], "name", ""), name))
			return (uint64_t)json_num(&ts->kids[i], "bytes", 0);
	return 0;
}

/* A section prints, after a blank line, only once all its rows are in:
 * a failure (rc, already printed) drops it. */
static int print_section(table *t, int rc)
{
	if (rc) {
		tbl_free(t);
		return rc;
	}
	printf("\n");
	return tbl_print(t);
}

/* One TOPIC row: messages from the watermarks, bytes from /status. */
static int topic_row(sl_admin *a, const json *st, table *t, const char *topic)
{
	sl_topic_info *ti;
	int rc = sl_admin_describe_topic(a, topic, &ti);
	if (rc)
		return cli_lib_fail("status", rc);
	int64_t msgs = 0;
	for (size_t p = 0; p < ti->partition_count; p++)
		msgs += ti->partitions[p].high_watermark - ti->partitions[p].low_watermark;
	char b1[24], b2[24], b3[24];
	tbl_row(t, ti->name, cli_num(b1, (int64_t)ti->partition_count), cli_num(b2, msgs),
	        cli_num(b3, (int64_t)topic_bytes(st, ti->name)));
	sl_topic_info_free(ti);
	return 0;
}

/* One GROUP row: the lag summed over the partitions that have one. */
static int group_row(sl_admin *a, table *t, const char *group)
{
	sl_group_info *gi;
	int rc = sl_admin_describe_group(a, group, &gi);
	if (rc)
		return cli_lib_fail("status", rc);
	int64_t lag = 0;
	for (size_t p = 0; p < gi->offset_count; p++)
		lag += gi->offsets[p].lag > 0 ? gi->offsets[p].lag : 0;
	char b1[24], b2[24];
	tbl_row(t, gi->group, gi->state, cli_num(b1, (int64_t)gi->member_count), cli_num(b2, lag));
	sl_group_info_free(gi);
	return 0;
}

static int kafka_section(cli_t *cli, const json *st)
{
	sl_admin *a = cli_admin(cli);
	if (!a)
		return EXIT_FAIL;
	sl_topic_list *tl = NULL;
	sl_group_list *gl = NULL;
	int rc = sl_admin_list_topics(a, false, &tl);
	if (!rc)
		rc = sl_admin_list_groups(a, &gl);
	if (rc) {
		rc = cli_lib_fail("status", rc);
		goto done;
	}
	table t = {.ncols = 4};
	tbl_row(&t, "TOPIC", "PARTITIONS", "MESSAGES", "BYTES");
	for (size_t i = 0; !rc && !t.oom && i < tl->count; i++)
		rc = topic_row(a, st, &t, tl->topics[i].name);
	if ((rc = print_section(&t, rc)))
		goto done;
	table g = {.ncols = 4};
	tbl_row(&g, "GROUP", "STATE", "MEMBERS", "LAG");
	for (size_t i = 0; !rc && !g.oom && i < gl->count; i++)
		rc = group_row(a, &g, gl->groups[i].group);
	rc = print_section(&g, rc);
done:
	sl_group_list_free(gl);
	sl_topic_list_free(tl);
	sl_admin_free(a);
	return rc;
}

/* The value of "key: N" in a beanstalkd YAML reply, or -1. */
static int64_t yaml_int(const char *yaml, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = yaml; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ':')
			return strtoll(p + kl + 1, NULL, 10);
	return -1;
}

static int beanstalk_section(const char *addr, int timeout_ms)
{
	sl_jobs *j = sl_jobs_connect(addr, timeout_ms);
	if (!j)
		return cli_fail("status: beanstalkd at %s: %s", addr, sl_last_error());
	char *tubes = NULL;
	int rc = sl_jobs_list_tubes(j, &tubes);
	if (rc) {
		rc = cli_fail("status: beanstalkd at %s: %s", addr, sl_last_error());
		goto done;
	}
	table t = {.ncols = 5};
	tbl_row(&t, "TUBE", "READY", "DELAYED", "RESERVED", "BURIED");
	/* list-tubes is "---\n- name\n- name\n". */
	for (char *line = strtok(tubes, "\n"); !rc && !t.oom && line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "- ", 2))
			continue;
		char *yaml = NULL, b[4][24];
		if (sl_jobs_stats_tube(j, line + 2, &yaml)) {
			rc = cli_fail("status: stats-tube %s: %s", line + 2, sl_last_error());
			break;
		}
		tbl_row(&t, line + 2, cli_num(b[0], yaml_int(yaml, "current-jobs-ready")),
		        cli_num(b[1], yaml_int(yaml, "current-jobs-delayed")),
		        cli_num(b[2], yaml_int(yaml, "current-jobs-reserved")),
		        cli_num(b[3], yaml_int(yaml, "current-jobs-buried")));
		free(yaml);
	}
	rc = print_section(&t, rc);
done:
	free(tubes);
	sl_jobs_close(j);
	return rc;
}

static const cli_opt STATUS_OPTS[] = {
    {"http", OPT_HTTP, 1},
    {"json", OPT_JSON, 0},
    {"beanstalk", OPT_BEANSTALK, 1},
    {NULL, 0, 0},
};

int cmd_status(cli_t *cli, int argc, char **argv)
{
	status_opts o = {0};
	CLI_PARSE(cli, argc, argv, STATUS_OPTS, on_opt, &o, 0, "");
	int rc;
	const char *http = o.http ? o.http : getenv("SLUICE_HTTP");
	if (!http || !*http)
		http = "localhost:8080";
	char *body = NULL;
	size_t len = 0;
	if ((rc = http_get(http, "/status", cli->timeout_ms, &body, &len)))
		return rc;
	if (o.json) {
		fwrite(body, 1, len, stdout);
		free(body);
		return EXIT_OK;
	}
	json st;
	if (json_parse(body, len, &st)) {
		free(body);
		return cli_fail("status: %s sent JSON that cannot be read", http);
	}
	free(body);
	char host[256], port[32], p[4][16], h1[32], h2[32];
	split_addr(http, host, sizeof host, port, sizeof port);
	const json *ports = json_get(&st, "ports");
	double kafka = json_num(ports, "kafka", -1), bstk = json_num(ports, "beanstalk", -1);
	const json *dr = json_get(&st, "draining");
	printf("sluiced at %s: up %.1f s, %.0f connections%s\n", http, json_num(&st, "uptime_s", 0),
	       json_num(&st, "connections", 0), dr && dr->b ? ", draining" : "");
	printf("ports: kafka %s, resp %s, beanstalk %s, http %s\n", port_text(p[0], kafka),
	       port_text(p[1], json_num(ports, "resp", -1)), port_text(p[2], bstk),
	       port_text(p[3], json_num(ports, "http", -1)));
	printf("data: %s, %s used, %s free\n", json_str(&st, "data_dir", "?"),
	       human(h1, sizeof h1, json_num(&st, "disk_used_bytes", 0)),
	       human(h2, sizeof h2, json_num(&st, "disk_free_bytes", 0)));
	fflush(stdout);

	/* Kafka: the given brokers, else the HTTP host with the reported port. */
	char addr[300];
	if (!strcmp(sl_conf_get(cli->conf, "brokers"), "localhost:9092") && kafka > 0) {
		snprintf(addr, sizeof addr, "%s:%.0f", host, kafka);
		sl_conf_set(cli->conf, "brokers", addr);
	}
	if (kafka >= 0 && kafka_section(cli, &st))
		rc = EXIT_FAIL;
	fflush(stdout);
	const char *bs = o.beanstalk ? o.beanstalk : getenv("SLUICE_BEANSTALK");
	if (!bs || !*bs) {
		snprintf(addr, sizeof addr, "%s:%.0f", host, bstk > 0 ? bstk : 11300);
		bs = addr;
	}
	if (bstk >= 0 && beanstalk_section(bs, cli->timeout_ms))
		rc = EXIT_FAIL;
	json_free(&st);
	return rc;
}

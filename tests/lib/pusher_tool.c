/*
 * pusher_tool.c — drives an sl_pusher from stdin for
 * tests/integration/test_lib_pusher.py.
 *
 *   pusher_tool BROKERS TOPIC [-o key=value]... [-s SEP] [-a] [-d]
 *
 * Each stdin line is one message: with -s, "KEY<SEP>VALUE" (a line without
 * SEP has a null key); without, the whole line is the value. Lines
 * starting with '!' are commands:
 *   !flush MS        sl_pusher_flush(MS)   -> {"flush":RC,"error":"…"}
 *   !metrics                               -> {"pushed":N,"push_failed":N,"pushed_bytes":N}
 *   !part N          later messages go to partition N (-1: the balancer)
 *   !header K=V      later messages carry header K=V (K= : a null value)
 *   !noheaders       drop those headers
 * Output, one JSON object per line on stdout: with -a every push answers
 * {"push":RC,"line":N,"pushed":N,"error":"…"}, otherwise only failed
 * pushes do; with -d every delivery report is printed as
 * {"dr":LINE,"err":RC,"partition":P,"offset":O,"latency_us":L,"reason":"…"}.
 * At end of input: a final flush (30 s) as {"flush":…}, the metrics, then
 * {"close":RC,"error":"…"}.
 * A failed sl_pusher_new prints {"new":RC,"error":"…"}.
 * Nothing goes to stderr. Exit 0 only if every push and the close
 * succeeded; 1 if one failed; 2 for a usage or configuration error.
 * The delivery callback prints from the pusher's thread; stdio locks each
 * printf, and every output line is one printf.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice/sluice.h"

#define MAX_HEADERS 16

/* Writes s as a JSON string body into out (cap bytes). */
static const char *jstr(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return out;
}

static void on_delivery(const sl_delivery *d, void *user)
{
	(void)user;
	char r[600];
	printf("{\"dr\":%lld,\"err\":%d,\"partition\":%d,\"offset\":%lld,\"latency_us\":%lld,"
	       "\"reason\":\"%s\"}\n",
	       (long long)(intptr_t)d->msg_opaque, d->err, (int)d->partition, (long long)d->offset,
	       (long long)d->latency_us, jstr(d->reason, r, sizeof r));
	fflush(stdout);
}

static void print_metrics(sl_pusher *p)
{
	sl_metrics m;
	sl_pusher_metrics(p, &m);
	printf("{\"pushed\":%llu,\"push_failed\":%llu,\"pushed_bytes\":%llu}\n",
	       (unsigned long long)m.pushed, (unsigned long long)m.push_failed,
	       (unsigned long long)m.pushed_bytes);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	sl_conf *c = sl_conf_new();
	char e[600];
	if (!c || sl_conf_set(c, "brokers", argv[1]) || sl_conf_set(c, "topic", argv[2])) {
		printf("{\"conf\":-17,\"error\":\"%s\"}\n", jstr(sl_last_error(), e, sizeof e));
		return 2;
	}
	const char *sep = NULL;
	bool ack = false, reports = false;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			char kv[512];
			snprintf(kv, sizeof kv, "%s", argv[++i]);
			char *eq = strchr(kv, '=');
			if (!eq)
				return 2;
			*eq = '\0';
			int rc = sl_conf_set(c, kv, eq + 1);
			if (rc) {
				printf("{\"conf\":%d,\"error\":\"%s\"}\n", rc,
				       jstr(sl_last_error(), e, sizeof e));
				sl_conf_free(c);
				return 2;
			}
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			sep = argv[++i];
		} else if (!strcmp(argv[i], "-a")) {
			ack = true;
		} else if (!strcmp(argv[i], "-d")) {
			reports = true;
		} else {
			sl_conf_free(c);
			return 2;
		}
	}
	sl_pusher *p = sl_pusher_new(c);
	sl_conf_free(c);
	if (!p) {
		printf("{\"new\":-1,\"error\":\"%s\"}\n", jstr(sl_last_error(), e, sizeof e));
		return 2;
	}
	if (reports)
		sl_pusher_set_delivery_cb(p, on_delivery, NULL);

	sl_header headers[MAX_HEADERS];
	char *hstore[MAX_HEADERS];
	size_t nh = 0;
	int32_t part = -1;
	bool failed = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (line[0] == '!') {
			if (!strncmp(line, "!flush ", 7)) {
				int rc = sl_pusher_flush(p, atoi(line + 7));
				printf("{\"flush\":%d,\"error\":\"%s\"}\n", rc,
				       jstr(rc ? sl_last_error() : "", e, sizeof e));
				fflush(stdout);
			} else if (!strcmp(line, "!metrics")) {
				print_metrics(p);
			} else if (!strncmp(line, "!part ", 6)) {
				part = atoi(line + 6);
			} else if (!strncmp(line, "!header ", 8) && nh < MAX_HEADERS) {
				char *kv = strdup(line + 8);
				char *eq = kv ? strchr(kv, '=') : NULL;
				if (!eq) {
					free(kv);
					failed = true;
					break;
				}
				*eq = '\0';
				hstore[nh] = kv;
				headers[nh].key = kv;
				headers[nh].value = eq[1] ? eq + 1 : NULL;
				headers[nh].value_len = strlen(eq + 1);
				nh++;
			} else if (!strcmp(line, "!noheaders")) {
				while (nh)
					free(hstore[--nh]);
			}
			continue;
		}
		lineno++;
		sl_out_message m = {.value = line,
		                    .value_len = (size_t)len,
		                    .partition = part,
		                    .headers = nh ? headers : NULL,
		                    .header_count = nh};
		char *at = sep ? strstr(line, sep) : NULL;
		if (at) {
			m.key = line;
			m.key_len = (size_t)(at - line);
			m.value = at + strlen(sep);
			m.value_len = (size_t)len - m.key_len - strlen(sep);
		}
		int rc = sl_push_msg_opaque(p, &m, (void *)(intptr_t)lineno);
		if (rc)
			failed = true;
		if (rc || ack) {
			sl_metrics mt;
			sl_pusher_metrics(p, &mt);
			printf("{\"push\":%d,\"line\":%ld,\"pushed\":%llu,\"error\":\"%s\"}\n", rc,
			       lineno, (unsigned long long)mt.pushed,
			       jstr(rc ? sl_last_error() : "", e, sizeof e));
			fflush(stdout);
		}
	}
	free(line);
	while (nh)
		free(hstore[--nh]);
	/* Flush first so the metrics printed are final, then close. */
	int frc = sl_pusher_flush(p, 30000);
	printf("{\"flush\":%d,\"error\":\"%s\"}\n", frc,
	       jstr(frc ? sl_last_error() : "", e, sizeof e));
	print_metrics(p);
	int rc = sl_pusher_close(p);
	printf("{\"close\":%d,\"error\":\"%s\"}\n", rc,
	       jstr(rc ? sl_last_error() : "", e, sizeof e));
	fflush(stdout);
	return failed || frc || rc ? 1 : 0;
}

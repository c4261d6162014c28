/*
 * conf.c — sl_conf: the key table, checked setters, typed getters.
 *
 * Every key of include/sluice/conf.h is one row of CONF_KEYS: its
 * canonical name, its YAML (go-zero) name, its type with limits, and its
 * default. A value is checked when it is set and stored as the string the
 * caller gave, so sl_conf_get() shows what was configured and the getters
 * in lib.h never fail. YAML loading is in conf_yaml.c.
 */
#include "conf_table.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define I64MAX "9223372036854775807"

const conf_key CONF_KEYS[] = {
    /* common */
    {"brokers", "Brokers", CONF_HOSTPORTS, "localhost:9092", 0, 0, NULL},
    {"username", "Username", CONF_STR, "", 0, 0, NULL},
    {"password", "Password", CONF_STR, "", 0, 0, NULL},
    {"ca.file", "CaFile", CONF_STR, "", 0, 0, NULL},
    {"sasl.mechanism", "SaslMechanism", CONF_STR, "PLAIN", 0, 0, NULL},
    {"client.id", "ClientId", CONF_STR, "sluice", 0, 0, NULL},
    {"topic", "Topic", CONF_LIST, "", 0, 0, NULL},
    /* pusher */
    {"chunk.size", "ChunkSize", CONF_INT, "1048576", 1, 1000000000, NULL},
    {"flush.interval", "FlushInterval", CONF_MS, "1000", 0, 900000, NULL},
    {"balancer", "Balancer", CONF_ENUM, "least-bytes", 0, 0,
     "least-bytes|hash|round-robin|random|manual|crc16"},
    {"partition", "Partition", CONF_INT, "0", 0, INT32_MAX, NULL},
    {"acks", "Acks", CONF_ENUM, "all", 0, 0, "0|1|all|-1"},
    {"compression", "Compression", CONF_ENUM, "snappy", 0, 0, "none|gzip|snappy|lz4|zstd"},
    {"sync", "SyncPush", CONF_BOOL, "false", 0, 0, NULL},
    {"auto.create", "AllowAutoTopicCreation", CONF_BOOL, "false", 0, 0, NULL},
    /* queue */
    {"group", "Group", CONF_STR, "", 0, 0, NULL},
    {"offset", "Offset", CONF_OFFSET, "last", 0, 0, NULL},
    {"conns", "Conns", CONF_INT, "1", 1, 64, NULL},
    {"consumers", "Consumers", CONF_INT, "8", 1, 256, NULL},
    {"processors", "Processors", CONF_INT, "8", 1, 1024, NULL},
    {"min.bytes", "MinBytes", CONF_INT, "10240", 1, 100000000, NULL},
    {"max.bytes", "MaxBytes", CONF_INT, "10485760", 1024, 1000000000, NULL},
    {"max.wait", "MaxWait", CONF_MS, "1000", 0, 300000, NULL},
    {"queue.capacity", "QueueCapacity", CONF_INT, "1000", 1, 10000000, NULL},
    {"commit.interval", "CommitInterval", CONF_MS, "1000", 0, 3600000, NULL},
    {"max.attempts", "MaxAttempts", CONF_INT, "3", 1, 1000000, NULL},
    {"retry.backoff", "RetryBackoff", CONF_MS, "100", 0, 3600000, NULL},
    {"dead.letter.topic", "DeadLetterTopic", CONF_STR, "", 0, 0, NULL},
    /* delay queue */
    {"beanstalks", "Beanstalks", CONF_LIST, "", 0, 0, NULL},
    {"redis", "Redis", CONF_STR, "", 0, 0, NULL},
    {"redis.password", "RedisPass", CONF_STR, "", 0, 0, NULL},
    {"redis.user", "RedisUser", CONF_STR, "", 0, 0, NULL},
    {"redis.tls", "RedisTls", CONF_BOOL, "false", 0, 0, NULL},
    {"beanstalks.tls", "BeanstalkTls", CONF_BOOL, "false", 0, 0, NULL},
    {"dedupe.ttl", "DedupeTtl", CONF_INT, "3600", 1, 31536000, NULL},
};
const int CONF_NKEYS = (int)(sizeof CONF_KEYS / sizeof CONF_KEYS[0]);

struct sl_conf {
	char *values[sizeof CONF_KEYS / sizeof CONF_KEYS[0]]; /* NULL = default */
};

int conf_index(const char *name)
{
	for (int i = 0; i < CONF_NKEYS; i++)
		if (strcmp(CONF_KEYS[i].name, name) == 0 || strcmp(CONF_KEYS[i].yaml, name) == 0)
			return i;
	return -1;
}

static bool parse_i64(const char *s, int64_t *out)
{
	if (!*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* Go's time.ParseDuration units, or a bare number of milliseconds. */
bool conf_parse_ms(const char *s, int64_t *out)
{
	if (parse_i64(s, out))
		return true;
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3},  {"ms", 1},
	             {"s", 1000},  {"m", 60000}, {"h", 3600000}};
	double total = 0;
	const char *p = s;
	if (!*p)
		return false;
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
		double v = strtod(p, &end);
		if (end == p)
			return false;
		p = end;
		size_t best = 0;
		double mul = 0;
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
			size_t n = strlen(units[i].unit);
			/* "ms" must win over "m": take the longest unit that matches. */
			if (n > best && strncmp(p, units[i].unit, n) == 0) {
				best = n;
				mul = units[i].ms;
			}
		}
		if (!best)
			return false;
		p += best;
		total += v * mul;
	}
	if (total > 9e15)
		return false;
	*out = (int64_t)(total + 0.5);
	return true;
}

static bool valid_hostport(const char *item, size_t n)
{
	const char *colon = memrchr(item, ':', n);
	if (!colon || colon == item || colon == item + n - 1)
		return false;
	long port = 0;
	for (const char *q = colon + 1; q < item + n; q++) {
		if (!isdigit((unsigned char)*q))
			return false;
		port = port * 10 + (*q - '0');
		if (port > 65535)
			return false;
	}
	return port > 0;
}

/* Checks value for key k; on failure writes what was expected to why. */
static bool check(const conf_key *k, const char *v, char *why, size_t whylen)
{
	int64_t n;
	switch (k->type) {
	case CONF_STR:
	case CONF_LIST:
		return true;
	case CONF_HOSTPORTS: {
		const char *p = v;
		int count = 0;
		for (;;) {
			while (*p == ' ')
				p++;
			const char *e = strchr(p, ',');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			while (len && p[len - 1] == ' ')
				len--;
			if (!valid_hostport(p, len)) {
				snprintf(why, whylen, "expected host:port[,host:port…]");
				return false;
			}
			count++;
			if (!e)
				break;
			p = e + 1;
		}
		return count > 0;
	}
	case CONF_INT:
		if (parse_i64(v, &n) && n >= k->min && n <= k->max)
			return true;
		snprintf(why, whylen, "expected an integer from %lld to %lld", (long long)k->min,
		         (long long)k->max);
		return false;
	case CONF_MS:
		if (conf_parse_ms(v, &n) && n >= k->min && n <= k->max)
			return true;
		snprintf(why, whylen,
		         "expected a duration from %lld to %lld ms (milliseconds, or like 500ms, "
		         "2s, 1m)",
		         (long long)k->min, (long long)k->max);
		return false;
	case CONF_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "false"))
			return true;
		snprintf(why, whylen, "expected true or false");
		return false;
	case CONF_ENUM: {
		size_t vl = strlen(v);
		for (const char *p = k->choices; *p;) {
			const char *e = strchr(p, '|');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			if (len == vl && strncmp(p, v, len) == 0)
				return true;
			if (!e)
				break;
			p = e + 1;
		}
		snprintf(why, whylen, "expected one of %s", k->choices);
		return false;
	}
	case CONF_OFFSET:
		if (!strcmp(v, "first") || !strcmp(v, "last") || (parse_i64(v, &n) && n >= 0))
			return true;
		snprintf(why, whylen, "expected first, last or an offset >= 0");
		return false;
	}
	return false;
}

int conf_set_named(sl_conf *c, int idx, const char *value, const char *where, const char *shown)
{
	char why[160];
	if (!check(&CONF_KEYS[idx], value, why, sizeof why))
		return lib_err(SL_ECONF, "%s%s: %s, got \"%.80s\"", where, shown, why, value);
	char *copy = strdup(value);
	if (!copy)
		return lib_err(SL_ENOMEM, "out of memory");
	free(c->values[idx]);
	c->values[idx] = copy;
	return 0;
}

sl_conf *sl_conf_new(void)
{
	sl_conf *c = calloc(1, sizeof *c);
	if (!c)
		lib_err(SL_ENOMEM, "out of memory");
	return c;
}

sl_conf *sl_conf_dup(const sl_conf *src)
{
	sl_conf *c = sl_conf_new();
	if (!c)
		return NULL;
	for (int i = 0; i < CONF_NKEYS; i++) {
		if (src->values[i] && !(c->values[i] = strdup(src->values[i]))) {
			sl_conf_free(c);
			lib_err(SL_ENOMEM, "out of memory");
			return NULL;
		}
	}
	return c;
}

void sl_conf_free(sl_conf *c)
{
	if (!c)
		return;
	for (int i = 0; i < CONF_NKEYS; i++)
		free(c->values[i]);
	free(c);
}

int sl_conf_set(sl_conf *c, const char *key, const char *value)
{
	if (!c || !key || !value)
		return lib_err(SL_EINVAL, "sl_conf_set: NULL argument");
	int idx = conf_index(key);
	if (idx < 0)
		return lib_err(SL_ECONF, "%s: unknown configuration key", key);
	return conf_set_named(c, idx, value, "", key);
}

const char *sl_conf_get(const sl_conf *c, const char *key)
{
	int idx = conf_index(key);
	if (idx < 0)
		return NULL;
	return c->values[idx] ? c->values[idx] : CONF_KEYS[idx].def;
}

const char *lib_conf_str(const sl_conf *c, const char *key)
{
	const char *v = sl_conf_get(c, key);
	assert(v);
	return v ? v : "";
}

int64_t lib_conf_int(const sl_conf *c, const char *key)
{
	const char *v = lib_conf_str(c, key);
	int64_t n = 0;
	if (conf_parse_ms(v, &n))
		return n;
	/* acks=all and offset=first|last map to Kafka's numbers. */
	if (!strcmp(v, "all"))
		return -1;
	if (!strcmp(v, "first"))
		return -2;
	if (!strcmp(v, "last"))
		return -1;
	return 0;
}

bool lib_conf_bool(const sl_conf *c, const char *key)
{
	return strcmp(lib_conf_str(c, key), "true") == 0;
}

int lib_conf_list(const sl_conf *c, const char *key, char (*items)[256], int max)
{
	const char *p = lib_conf_str(c, key);
	int n = 0;
	while (*p && n < max) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && p[len - 1] == ' ')
			len--;
		if (len > 255)
			len = 255;
		memcpy(items[n], p, len);
		items[n][len] = '\0';
		n++;
		if (!e)
			break;
		p = e + 1;
	}
	return n;
}

/* config.c — see config.h. */
#include "core/config.h"
#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fsync_policy_parse(const char *s, fsync_policy_t *out)
{
	if (strcmp(s, "always") == 0) {
		*out = (fsync_policy_t){FSYNC_ALWAYS, 0};
		return 0;
	}
	if (strcmp(s, "never") == 0) {
		*out = (fsync_policy_t){FSYNC_NEVER, 0};
		return 0;
	}
	if (strncmp(s, "interval:", 9) == 0) {
		char *end;
		errno = 0;
		long ms = strtol(s + 9, &end, 10);
		if (errno || end == s + 9 || *end || ms < 1 || ms > 3600000)
			return SL_EINVAL;
		*out = (fsync_policy_t){FSYNC_INTERVAL, (int)ms};
		return 0;
	}
	return SL_EINVAL;
}

void fsync_policy_format(const fsync_policy_t *p, char *out, size_t n)
{
	if (p->mode == FSYNC_INTERVAL)
		snprintf(out, n, "interval:%d", p->interval_ms);
	else
		snprintf(out, n, "%s", p->mode == FSYNC_ALWAYS ? "always" : "never");
}

/* Compares two keys treating '-' and '.' as the same character. */
static int key_eq(const char *a, const char *b, size_t blen)
{
	size_t i = 0;
	for (; i < blen && a[i]; i++) {
		char x = a[i] == '-' ? '.' : a[i], y = b[i] == '-' ? '.' : b[i];
		if (x != y)
			return 0;
	}
	return i == blen && !a[i];
}

static int parse_int(const char *v, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < min || x > max)
		return SL_EINVAL;
	*out = x;
	return 0;
}

static int set_STR(char **f, const char *v, int64_t min, int64_t max)
{
	(void)min, (void)max;
	char *s = strdup(v);
	if (!s)
		abort();
	free(*f);
	*f = s;
	return 0;
}

static int set_INT(int64_t *f, const char *v, int64_t min, int64_t max)
{
	return parse_int(v, min, max, f);
}

static int set_BOOL(int *f, const char *v, int64_t min, int64_t max)
{
	(void)min, (void)max;
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *f = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *f = 0, 0;
	}
	return SL_EINVAL;
}

static int set_PORT(int *f, const char *v, int64_t min, int64_t max)
{
	(void)min, (void)max;
	if (strcmp(v, "off") == 0)
		return *f = -1, 0;
	int64_t x;
	if (parse_int(v, 0, 65535, &x))
		return SL_EINVAL;
	*f = (int)x;
	return 0;
}

/* Octal permission bits, as chmod and redis-server's unixsocketperm take
 * them: "700", "0770". */
static int set_MODE(unsigned *f, const char *v, int64_t min, int64_t max)
{
	(void)min, (void)max;
	if (!*v || strlen(v) > 4 || strspn(v, "01234567") != strlen(v))
		return SL_EINVAL;
	unsigned long x = strtoul(v, NULL, 8);
	if (x > 0777)
		return SL_EINVAL;
	*f = (unsigned)x;
	return 0;
}

static int set_FSYNC(fsync_policy_t *f, const char *v, int64_t min, int64_t max)
{
	(void)min, (void)max;
	return fsync_policy_parse(v, f);
}

static int set_LEVEL(log_level_t *f, const char *v, int64_t min, int64_t max)
{
	(void)min, (void)max;
	return log_level_parse(v, f);
}

static const char *type_hint(const char *type)
{
	if (!strcmp(type, "INT"))
		return "an integer";
	if (!strcmp(type, "BOOL"))
		return "true or false";
	if (!strcmp(type, "PORT"))
		return "a port number, 0 or off";
	if (!strcmp(type, "FSYNC"))
		return "always, never or interval:MS";
	if (!strcmp(type, "LEVEL"))
		return "error, warn, info or debug";
	if (!strcmp(type, "MODE"))
		return "octal permission bits such as 700 or 770";
	return "a string";
}

static int set_keylen(sl_config_t *c, const char *key, size_t klen, const char *value, char *err,
                      size_t errn)
{
#define CFG_SET(type, field, name, def, min, max, help)                                          \
	if (key_eq(name, key, klen)) {                                                           \
		if (set_##type(&c->field, value, (min), (max)) == 0)                             \
			return 0;                                                                \
		if (!strcmp(#type, "INT"))                                                       \
			snprintf(err, errn,                                                      \
			         "config: bad value '%s' for %s: expected an integer in "        \
			         "[%lld, %lld]",                                                 \
			         value, name, (long long)(min), (long long)(max));               \
		else                                                                             \
			snprintf(err, errn, "config: bad value '%s' for %s: expected %s", value, \
			         name, type_hint(#type));                                        \
		return SL_EINVAL;                                                                \
	}
	SL_CONFIG(CFG_SET)
#undef CFG_SET
	snprintf(err, errn, "config: unknown key '%.*s' (see --help)", (int)klen, key);
	return SL_ENOENT;
}

/* Whether key names a BOOL setting (a flag that may come without a value). */
static int key_is_bool(const char *key, size_t klen)
{
#define CFG_BOOL(type, field, name, def, min, max, help) \
	if (key_eq(name, key, klen))                     \
		return !strcmp(#type, "BOOL");
	SL_CONFIG(CFG_BOOL)
#undef CFG_BOOL
	return 0;
}

int config_set(sl_config_t *c, const char *key, const char *value, char *err, size_t errn)
{
	return set_keylen(c, key, strlen(key), value, err, errn);
}

void config_init(sl_config_t *c)
{
	memset(c, 0, sizeof *c);
	char err[256];
#define CFG_DEF(type, field, name, def, min, max, help)        \
	if (set_##type(&c->field, def, (min), (max)) != 0) {   \
		fprintf(stderr, "bad default for %s\n", name); \
		abort();                                       \
	}
	SL_CONFIG(CFG_DEF)
#undef CFG_DEF
	(void)err;
}

static void free_STR(char **f)
{
	free(*f), *f = NULL;
}
static void free_INT(int64_t *f)
{
	(void)f;
}
static void free_BOOL(int *f)
{
	(void)f;
}
static void free_PORT(int *f)
{
	(void)f;
}
static void free_FSYNC(fsync_policy_t *f)
{
	(void)f;
}
static void free_LEVEL(log_level_t *f)
{
	(void)f;
}
static void free_MODE(unsigned *f)
{
	(void)f;
}

void config_deinit(sl_config_t *c)
{
#define CFG_FREE(type, field, name, def, min, max, help) free_##type(&c->field);
	SL_CONFIG(CFG_FREE)
#undef CFG_FREE
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int config_load_file(sl_config_t *c, const char *path, char *err, size_t errn)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errn, "config: cannot open %s: %s", path, strerror(errno));
		return SL_EINVAL;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errn, "config: %s:%d: expected 'key = value'", path, lineno);
			rc = SL_EINVAL;
			break;
		}
		*eq = 0;
		char *key = trim(s), *val = trim(eq + 1);
		rc = config_set(c, key, val, err, errn);
		if (rc)
			break;
	}
	fclose(f);
	return rc;
}

int config_parse_args(sl_config_t *c, int argc, char **argv, char *err, size_t errn)
{
	/* The config file comes first so that flags override it. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		const char *file = NULL;
		if (!strncmp(argv[i], "--config=", 9))
			file = argv[i] + 9;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			file = argv[++i];
		if (file) {
			int rc = config_load_file(c, file, err, errn);
			if (rc)
				return rc;
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errn, "config: unexpected argument '%s'", a);
			return SL_EINVAL;
		}
		a += 2;
		if (!strncmp(a, "config", 6) && (a[6] == '=' || a[6] == 0)) {
			if (a[6] == 0)
				i++;
			continue;
		}
		const char *eq = strchr(a, '=');
		int rc;
		if (eq) {
			rc = set_keylen(c, a, (size_t)(eq - a), eq + 1, err, errn);
		} else if (key_is_bool(a, strlen(a)) &&
		           (i + 1 == argc || !strncmp(argv[i + 1], "--", 2))) {
			/* A switch: `--strict-recovery` alone turns it on. */
			rc = set_keylen(c, a, strlen(a), "true", err, errn);
		} else if (i + 1 < argc) {
			rc = set_keylen(c, a, strlen(a), argv[++i], err, errn);
		} else {
			snprintf(err, errn, "config: missing value for --%s", a);
			rc = SL_EINVAL;
		}
		if (rc)
			return rc;
	}
	return 0;
}

void config_print_help(FILE *out)
{
	fprintf(out, "usage: sluiced [--config FILE] [--key=value ...]\n\n"
	             "Every setting can be given as --key=value, --key value, or as\n"
	             "'key = value' in the config file; '-' and '.' in keys are the same.\n\n");
#define CFG_HELP(type, field, name, def, min, max, help) \
	fprintf(out, "  --%-36s %s (default: %s)\n", name, help, def[0] ? def : "\"\"");
	SL_CONFIG(CFG_HELP)
#undef CFG_HELP
}

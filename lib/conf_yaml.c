/*
 * conf_yaml.c — sl_conf_load_yaml: go-zero-style YAML into an sl_conf.
 *
 * A go-queue user's file is a mapping of CamelCase keys (KqConf: Brokers,
 * Group, Topic, Offset, Conns, Consumers, Processors, MinBytes, MaxBytes,
 * Username, Password; DqConf: Beanstalks, Redis). Scalars go through
 * sl_conf_set's checks; the few structured keys are flattened here:
 *   Brokers: [a, b]                      -> brokers = "a,b"
 *   Topics:  [a, b]                      -> topic = "a,b"
 *   Beanstalks: [{Endpoint: e, Tube: t}] -> beanstalks = "e/t,…"
 *   Redis: {Host: h, Pass: p, Type: node, User: u, Tls: b} -> redis = h,
 *       redis.password = p, redis.user = u, redis.tls = b
 * go-zero's service keys are accepted and ignored so a whole service file
 * loads; so are kq's ForceCommit and CommitInOrder (sluice always commits
 * in order, and always moves on after the last attempt). Anything else
 * unknown is an error naming the key and its line.
 */
#include "conf_table.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static const char *const IGNORED[] = {
    "Name",      "Log",      "Mode",      "MetricsUrl",  "Prometheus",    "Telemetry",
    "DevServer", "Shutdown", "Profiling", "ForceCommit", "CommitInOrder", NULL,
};

typedef struct {
	sl_conf *conf;
	yaml_document_t *doc;
	const char *name;
} loader;

static int fail(const loader *l, const yaml_node_t *at, const char *key, const char *why)
{
	return lib_err(SL_ECONF, "%s:%lu: %s: %s", l->name, (unsigned long)at->start_mark.line + 1,
	               key, why);
}

static int set_scalar(const loader *l, int idx, const char *key, const yaml_node_t *v)
{
	char where[300];
	snprintf(where, sizeof where, "%s:%lu: ", l->name, (unsigned long)v->start_mark.line + 1);
	return conf_set_named(l->conf, idx, (const char *)v->data.scalar.value, where, key);
}

/* Appends s to a growing comma-separated list in *buf. */
static int append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *nb = realloc(*buf, *len + n + 2);
	if (!nb)
		return lib_err(SL_ENOMEM, "out of memory");
	if (*len)
		nb[(*len)++] = ',';
	memcpy(nb + *len, s, n + 1);
	*len += n;
	*buf = nb;
	return 0;
}

static const yaml_node_t *map_get(const loader *l, const yaml_node_t *m, const char *key)
{
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(l->doc, p->value);
	}
	return NULL;
}

/* A scalar or a sequence of scalars (or of Beanstalks mappings) -> list. */
static int set_list(const loader *l, int idx, const char *key, const yaml_node_t *v,
                    bool beanstalks)
{
	if (v->type == YAML_SCALAR_NODE)
		return set_scalar(l, idx, key, v);
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(l, v, key, "expected a list");
	char *buf = NULL;
	size_t len = 0;
	int rc = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     rc == 0 && it < v->data.sequence.items.top; it++) {
		const yaml_node_t *e = yaml_document_get_node(l->doc, *it);
		char item[600];
		if (e->type == YAML_SCALAR_NODE) {
			snprintf(item, sizeof item, "%s", (char *)e->data.scalar.value);
		} else if (beanstalks && e->type == YAML_MAPPING_NODE) {
			const yaml_node_t *ep = map_get(l, e, "Endpoint");
			const yaml_node_t *tube = map_get(l, e, "Tube");
			if (!ep || ep->type != YAML_SCALAR_NODE) {
				rc = fail(l, e, key, "each entry needs an Endpoint");
				break;
			}
			snprintf(item, sizeof item, "%s/%s", (char *)ep->data.scalar.value,
			         tube && tube->type == YAML_SCALAR_NODE
			             ? (char *)tube->data.scalar.value
			             : "default");
		} else {
			rc = fail(l, e, key,
			          beanstalks
			              ? "expected entries like {Endpoint: host:port, Tube: name}"
			              : "expected a list of strings");
			break;
		}
		if (strchr(item, ',')) {
			rc = fail(l, e, key, "an entry may not contain a comma");
			break;
		}
		rc = append(&buf, &len, item);
	}
	if (rc == 0) {
		char where[300];
		snprintf(where, sizeof where, "%s:%lu: ", l->name,
		         (unsigned long)v->start_mark.line + 1);
		rc = conf_set_named(l->conf, idx, buf ? buf : "", where, key);
	}
	free(buf);
	return rc;
}

static int set_redis(const loader *l, const yaml_node_t *v)
{
	if (v->type == YAML_SCALAR_NODE)
		return set_scalar(l, conf_index("redis"), "Redis", v);
	if (v->type != YAML_MAPPING_NODE)
		return fail(l, v, "Redis", "expected {Host: host:port, Pass: password}");
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		const yaml_node_t *val = yaml_document_get_node(l->doc, p->value);
		const char *kn = k->type == YAML_SCALAR_NODE ? (char *)k->data.scalar.value : "?";
		char shown[80];
		snprintf(shown, sizeof shown, "Redis.%s", kn);
		if (val->type != YAML_SCALAR_NODE)
			return fail(l, val, shown, "expected a string");
		int rc;
		if (!strcmp(kn, "Host"))
			rc = set_scalar(l, conf_index("redis"), shown, val);
		else if (!strcmp(kn, "Pass"))
			rc = set_scalar(l, conf_index("redis.password"), shown, val);
		else if (!strcmp(kn, "User"))
			rc = set_scalar(l, conf_index("redis.user"), shown, val);
		else if (!strcmp(kn, "Tls"))
			rc = set_scalar(l, conf_index("redis.tls"), shown, val);
		else if (!strcmp(kn, "Type"))
			rc = strcmp((char *)val->data.scalar.value, "node") == 0
			         ? 0
			         : fail(l, val, shown, "only node is supported");
		else if (!strcmp(kn, "NonBlock") || !strcmp(kn, "PingTimeout"))
			rc = 0;
		else
			rc = fail(l, k, shown, "unknown key");
		if (rc)
			return rc;
	}
	return 0;
}

static int load_mapping(const loader *l, const yaml_node_t *m)
{
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		if (k->type != YAML_SCALAR_NODE)
			return fail(l, k, "?", "keys must be plain strings");
		const char *key = (const char *)k->data.scalar.value;
		bool ignored = false;
		for (int i = 0; IGNORED[i]; i++)
			ignored |= strcmp(IGNORED[i], key) == 0;
		if (ignored)
			continue;
		int rc;
		if (!strcmp(key, "Redis"))
			rc = set_redis(l, v);
		else if (!strcmp(key, "Topics"))
			rc = set_list(l, conf_index("topic"), key, v, false);
		else {
			int idx = conf_index(key);
			if (idx < 0)
				return fail(l, k, key, "unknown key");
			conf_type t = CONF_KEYS[idx].type;
			if (t == CONF_LIST || t == CONF_HOSTPORTS)
				rc = set_list(l, idx, key, v,
				              !strcmp(CONF_KEYS[idx].name, "beanstalks"));
			else if (v->type != YAML_SCALAR_NODE)
				rc = fail(l, v, key, "expected a single value");
			else
				rc = set_scalar(l, idx, key, v);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int sl_conf_load_yaml_string(sl_conf *conf, const char *text, size_t len, const char *name,
                             const char *section)
{
	if (!conf || !text)
		return lib_err(SL_EINVAL, "sl_conf_load_yaml_string: NULL argument");
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return lib_err(SL_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int rc = 0;
	if (!yaml_parser_load(&parser, &doc)) {
		rc = lib_err(SL_ECONF, "%s:%lu: %s", name,
		             (unsigned long)parser.problem_mark.line + 1,
		             parser.problem ? parser.problem : "YAML syntax error");
		yaml_parser_delete(&parser);
		return rc;
	}
	loader l = {conf, &doc, name};
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		rc = section
		         ? lib_err(SL_ECONF, "%s: %s: missing (the file is empty)", name, section)
		         : 0;
	} else if (root->type != YAML_MAPPING_NODE) {
		rc = fail(&l, root, "(top level)", "expected a mapping of keys");
	} else if (section) {
		const yaml_node_t *m = map_get(&l, root, section);
		if (!m)
			rc = lib_err(SL_ECONF, "%s: %s: missing", name, section);
		else if (m->type != YAML_MAPPING_NODE)
			rc = fail(&l, m, section, "expected a mapping of keys");
		else
			rc = load_mapping(&l, m);
	} else {
		rc = load_mapping(&l, root);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int sl_conf_load_yaml(sl_conf *conf, const char *path, const char *section)
{
	if (!conf || !path)
		return lib_err(SL_EINVAL, "sl_conf_load_yaml: NULL argument");
	FILE *f = fopen(path, "rb");
	if (!f)
		return lib_err(SL_EIO, "%s: %m", path);
	/* Config files are small; refuse anything that is not. */
	char *text = malloc(1 << 20);
	if (!text) {
		fclose(f);
		return lib_err(SL_ENOMEM, "out of memory");
	}
	size_t n = fread(text, 1, 1 << 20, f);
	int big = !feof(f);
	int err = ferror(f);
	fclose(f);
	int rc;
	if (err)
		rc = lib_err(SL_EIO, "%s: read error", path);
	else if (big)
		rc = lib_err(SL_ECONF, "%s: larger than 1 MiB", path);
	else
		rc = sl_conf_load_yaml_string(conf, text, n, path, section);
	free(text);
	return rc;
}

/* test_conf.c — sl_conf keys, checks, getters and YAML loading. */
#include "test.h"

#include "conf_table.h"

TEST(conf_defaults_and_set)
{
	sl_conf *c = sl_conf_new();
	CHECK_STR(sl_conf_get(c, "brokers"), "localhost:9092");
	CHECK_STR(sl_conf_get(c, "Brokers"), "localhost:9092");
	CHECK(sl_conf_get(c, "nope") == NULL);
	CHECK_EQ(lib_conf_int(c, "acks"), -1);
	CHECK_EQ(lib_conf_int(c, "offset"), -1);
	CHECK_EQ(sl_conf_set(c, "offset", "first"), 0);
	CHECK_EQ(lib_conf_int(c, "offset"), -2);
	CHECK_EQ(sl_conf_set(c, "offset", "42"), 0);
	CHECK_EQ(lib_conf_int(c, "offset"), 42);
	CHECK_EQ(sl_conf_set(c, "flush.interval", "1m30s"), 0);
	CHECK_EQ(lib_conf_int(c, "flush.interval"), 90000);
	CHECK_EQ(sl_conf_set(c, "flush.interval", "250ms"), 0);
	CHECK_EQ(lib_conf_int(c, "flush.interval"), 250);
	CHECK_EQ(sl_conf_set(c, "FlushInterval", "2"), 0);
	CHECK_EQ(lib_conf_int(c, "flush.interval"), 2);
	CHECK_EQ(sl_conf_set(c, "sync", "true"), 0);
	CHECK(lib_conf_bool(c, "sync"));
	sl_conf *d = sl_conf_dup(c);
	sl_conf_free(c);
	CHECK_STR(sl_conf_get(d, "sync"), "true");
	sl_conf_free(d);
}

TEST(conf_rejects_bad_values_naming_the_key)
{
	sl_conf *c = sl_conf_new();
	CHECK_EQ(sl_conf_set(c, "processors", "0"), SL_ECONF);
	CHECK(strstr(sl_last_error(), "processors: expected an integer from 1 to 1024"));
	CHECK_EQ(sl_conf_set(c, "processors", "12x"), SL_ECONF);
	CHECK_EQ(sl_conf_set(c, "balancer", "sticky"), SL_ECONF);
	CHECK(strstr(sl_last_error(), "balancer: expected one of least-bytes|hash"));
	CHECK_EQ(sl_conf_set(c, "brokers", "localhost"), SL_ECONF);
	CHECK_EQ(sl_conf_set(c, "brokers", "a:1,b:99999"), SL_ECONF);
	CHECK_EQ(sl_conf_set(c, "brokers", "a:1, b:2"), 0);
	CHECK_EQ(sl_conf_set(c, "max.wait", "5 s"), SL_ECONF);
	CHECK_EQ(sl_conf_set(c, "offset", "-5"), SL_ECONF);
	CHECK_EQ(sl_conf_set(c, "colour", "red"), SL_ECONF);
	CHECK(strstr(sl_last_error(), "colour: unknown configuration key"));
	CHECK_STR(sl_conf_get(c, "processors"), "8");
	char items[4][256];
	CHECK_EQ(lib_conf_list(c, "brokers", items, 4), 2);
	CHECK_STR(items[1], "b:2");
	sl_conf_free(c);
}

static const char KQ_YAML[] = "Name: login-consumer\n"
                              "Log:\n"
                              "  Level: info\n"
                              "Brokers:\n"
                              "  - 127.0.0.1:19092\n"
                              "  - 127.0.0.1:19093\n"
                              "Group: logins\n"
                              "Topic: login-events\n"
                              "Offset: first\n"
                              "Conns: 2\n"
                              "Consumers: 4\n"
                              "Processors: 16\n"
                              "MinBytes: 1\n"
                              "MaxBytes: 1048576\n"
                              "CommitInOrder: true\n"
                              "Username: u\n"
                              "Password: p\n"
                              "CommitInterval: 500ms\n"
                              "DeadLetterTopic: login-dlq\n";

TEST(conf_yaml_kqconf)
{
	sl_conf *c = sl_conf_new();
	CHECK_MSG(sl_conf_load_yaml_string(c, KQ_YAML, strlen(KQ_YAML), "kq.yaml", NULL) == 0, "%s",
	          sl_last_error());
	CHECK_STR(sl_conf_get(c, "brokers"), "127.0.0.1:19092,127.0.0.1:19093");
	CHECK_STR(sl_conf_get(c, "group"), "logins");
	CHECK_EQ(lib_conf_int(c, "offset"), -2);
	CHECK_EQ(lib_conf_int(c, "conns"), 2);
	CHECK_EQ(lib_conf_int(c, "processors"), 16);
	CHECK_EQ(lib_conf_int(c, "commit.interval"), 500);
	CHECK_STR(sl_conf_get(c, "dead.letter.topic"), "login-dlq");
	CHECK_STR(sl_conf_get(c, "password"), "p");
	sl_conf_free(c);
}

TEST(conf_yaml_dqconf_section)
{
	static const char y[] = "Name: reminders\n"
	                        "DqConf:\n"
	                        "  Beanstalks:\n"
	                        "    - Endpoint: 127.0.0.1:11300\n"
	                        "      Tube: tube\n"
	                        "    - Endpoint: 127.0.0.1:11301\n"
	                        "  Redis:\n"
	                        "    Host: 127.0.0.1:6379\n"
	                        "    Type: node\n"
	                        "    Pass: secret\n"
	                        "    User: dq\n"
	                        "    Tls: true\n"
	                        "  BeanstalkTls: true\n"
	                        "  CaFile: /etc/ca.crt\n";
	sl_conf *c = sl_conf_new();
	CHECK_MSG(sl_conf_load_yaml_string(c, y, strlen(y), "dq.yaml", "DqConf") == 0, "%s",
	          sl_last_error());
	CHECK_STR(sl_conf_get(c, "beanstalks"), "127.0.0.1:11300/tube,127.0.0.1:11301/default");
	CHECK_STR(sl_conf_get(c, "redis"), "127.0.0.1:6379");
	CHECK_STR(sl_conf_get(c, "redis.password"), "secret");
	CHECK_STR(sl_conf_get(c, "redis.user"), "dq");
	CHECK_STR(sl_conf_get(c, "redis.tls"), "true");
	CHECK_STR(sl_conf_get(c, "beanstalks.tls"), "true");
	CHECK_STR(sl_conf_get(c, "ca.file"), "/etc/ca.crt");
	CHECK_EQ(sl_conf_load_yaml_string(c, y, strlen(y), "dq.yaml", "KqConf"), SL_ECONF);
	CHECK_STR(sl_last_error(), "dq.yaml: KqConf: missing");
	sl_conf_free(c);
}

TEST(conf_yaml_errors_name_file_line_and_key)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"Group: g\nProcessors: lots\n",
	     "bad.yaml:2: Processors: expected an integer from 1 to 1024, got \"lots\""},
	    {"Brokers: [a:1, nohost]\n", "bad.yaml:1: Brokers: expected host:port"},
	    {"Group: g\n\nColour: red\n", "bad.yaml:3: Colour: unknown key"},
	    {"Group: [a, b]\n", "bad.yaml:1: Group: expected a single value"},
	    {"- a\n- b\n", "bad.yaml:1: (top level): expected a mapping of keys"},
	    {"Group: g\n  Topic: t\n", "bad.yaml:2: "},
	    {"Redis: {Host: h:1, Type: cluster}\n", "bad.yaml:1: Redis.Type: only node"},
	    {"Beanstalks:\n  - Tube: t\n", "bad.yaml:2: Beanstalks: each entry needs an Endpoint"},
	    {"Offset: middle\n", "bad.yaml:1: Offset: expected first, last or an offset >= 0"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sl_conf *c = sl_conf_new();
		int rc = sl_conf_load_yaml_string(c, cases[i].text, strlen(cases[i].text),
		                                  "bad.yaml", NULL);
		CHECK_MSG(rc == SL_ECONF, "case %zu: rc %d", i, rc);
		CHECK_MSG(strncmp(sl_last_error(), cases[i].want, strlen(cases[i].want)) == 0,
		          "case %zu: got \"%s\"", i, sl_last_error());
		sl_conf_free(c);
	}
}

TEST(conf_yaml_file_missing)
{
	sl_conf *c = sl_conf_new();
	CHECK_EQ(sl_conf_load_yaml(c, "does-not-exist.yaml", NULL), SL_EIO);
	CHECK(strstr(sl_last_error(), "does-not-exist.yaml: No such file"));
	FILE *f = fopen("ok.yaml", "w");
	fputs("Topic: t1\nTopics: [a, b]\n", f);
	fclose(f);
	CHECK_EQ(sl_conf_load_yaml(c, "ok.yaml", NULL), 0);
	CHECK_STR(sl_conf_get(c, "topic"), "a,b");
	sl_conf_free(c);
}

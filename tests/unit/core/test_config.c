/* Settings: defaults, flags with '-' or '.', the config file, and one-line
 * errors naming the key. */
#include "core/config.h"
#include "core/err.h"
#include "test.h"

TEST(config_defaults_and_flags)
{
	sl_config_t c;
	config_init(&c);
	CHECK_STR(c.data_dir, "./data");
	CHECK_EQ(c.kafka_port, 9092);
	CHECK_EQ(c.fsync.mode, FSYNC_ALWAYS);
	char *argv[] = {"sluiced",
	                "--data-dir=/tmp/x",
	                "--kafka-port",
	                "0",
	                "--resp-port=off",
	                "--fsync=interval:250",
	                "--group.initial.rebalance.delay.ms=200",
	                "--max-job-size=100",
	                NULL};
	char err[256];
	CHECK_EQ(config_parse_args(&c, 8, argv, err, sizeof err), 0);
	CHECK_STR(c.data_dir, "/tmp/x");
	CHECK_EQ(c.kafka_port, 0);
	CHECK_EQ(c.resp_port, -1);
	CHECK_EQ(c.fsync.mode, FSYNC_INTERVAL);
	CHECK_EQ(c.fsync.interval_ms, 250);
	CHECK_EQ(c.group_initial_rebalance_delay_ms, 200);
	CHECK_EQ(c.max_job_size, 100);
	config_deinit(&c);
}

TEST(config_errors_name_the_key)
{
	sl_config_t c;
	config_init(&c);
	char err[256];
	char *bad_port[] = {"sluiced", "--kafka-port=70000", NULL};
	CHECK_EQ(config_parse_args(&c, 2, bad_port, err, sizeof err), SL_EINVAL);
	CHECK(strstr(err, "kafka.port") != NULL);
	char *bad_fsync[] = {"sluiced", "--fsync=sometimes", NULL};
	CHECK_EQ(config_parse_args(&c, 2, bad_fsync, err, sizeof err), SL_EINVAL);
	CHECK(strstr(err, "fsync") != NULL);
	char *unknown[] = {"sluiced", "--no-such-key=1", NULL};
	CHECK_EQ(config_parse_args(&c, 2, unknown, err, sizeof err), SL_ENOENT);
	CHECK(strstr(err, "no-such-key") != NULL);
	char *help[] = {"sluiced", "--help", NULL};
	CHECK_EQ(config_parse_args(&c, 2, help, err, sizeof err), 1);
	config_deinit(&c);
}

TEST(config_file_then_flags)
{
	FILE *f = fopen("s.conf", "w");
	CHECK(f != NULL);
	fprintf(f, "# comment\n data.dir = /var/lib/sluice  # trailing\n\nkafka.port=1234\n"
	           "fsync = never\n");
	fclose(f);
	sl_config_t c;
	config_init(&c);
	char *argv[] = {"sluiced", "--kafka-port=5", "--config", "s.conf", NULL};
	char err[256];
	CHECK_EQ(config_parse_args(&c, 4, argv, err, sizeof err), 0);
	CHECK_STR(c.data_dir, "/var/lib/sluice");
	CHECK_EQ(c.kafka_port, 5); /* flags override the file wherever they appear */
	CHECK_EQ(c.fsync.mode, FSYNC_NEVER);
	f = fopen("bad.conf", "w");
	fprintf(f, "num.partitions = zero\n");
	fclose(f);
	char *argv2[] = {"sluiced", "--config=bad.conf", NULL};
	CHECK_EQ(config_parse_args(&c, 2, argv2, err, sizeof err), SL_EINVAL);
	CHECK(strstr(err, "num.partitions") != NULL);
	config_deinit(&c);
}

TEST(config_bool_switch_without_value)
{
	sl_config_t c;
	config_init(&c);
	CHECK_EQ(c.strict_recovery, 0);
	char err[256];
	/* Alone at the end, and followed by another flag. */
	char *end[] = {"sluiced", "--strict-recovery", NULL};
	CHECK_EQ(config_parse_args(&c, 2, end, err, sizeof err), 0);
	CHECK_EQ(c.strict_recovery, 1);
	char *mid[] = {"sluiced", "--strict.recovery=false", "--debug-faults", "--kafka-port=0",
	               NULL};
	CHECK_EQ(config_parse_args(&c, 4, mid, err, sizeof err), 0);
	CHECK_EQ(c.strict_recovery, 0);
	CHECK_EQ(c.debug_faults, 1);
	/* A value still works, and other types still need one. */
	char *val[] = {"sluiced", "--strict-recovery", "yes", NULL};
	CHECK_EQ(config_parse_args(&c, 3, val, err, sizeof err), 0);
	CHECK_EQ(c.strict_recovery, 1);
	char *novalue[] = {"sluiced", "--data-dir", NULL};
	CHECK_EQ(config_parse_args(&c, 2, novalue, err, sizeof err), SL_EINVAL);
	config_deinit(&c);
}

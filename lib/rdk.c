/* rdk.c — librdkafka configuration shared by every Kafka client; see rdk.h. */
#include "rdk.h"

#include <stdio.h>

int lib_rdk_set(rd_kafka_conf_t *rc, const char *name, const char *value)
{
	char why[256];
	if (rd_kafka_conf_set(rc, name, value, why, sizeof why) != RD_KAFKA_CONF_OK)
		return lib_err(SL_ECONF, "librdkafka %s=%s: %s", name, value, why);
	return 0;
}

/* librdkafka logs through this instead of stderr. */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

rd_kafka_conf_t *lib_rdk_conf(const sl_conf *c)
{
	rd_kafka_conf_t *rc = rd_kafka_conf_new();
	if (!rc) {
		lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	rd_kafka_conf_set_log_cb(rc, quiet_log);
	const char *user = lib_conf_str(c, "username");
	const char *ca = lib_conf_str(c, "ca.file");
	/* A CA file means TLS (go-zero's KqConf.CaFile): SSL, or SASL_SSL
	 * with a user. */
	const char *proto = *ca ? (*user ? "sasl_ssl" : "ssl") : "sasl_plaintext";
	if (lib_rdk_set(rc, "bootstrap.servers", lib_conf_str(c, "brokers")) ||
	    lib_rdk_set(rc, "client.id", lib_conf_str(c, "client.id")) ||
	    (*ca && (lib_rdk_set(rc, "security.protocol", proto) ||
	             lib_rdk_set(rc, "ssl.ca.location", ca))) ||
	    (*user && (lib_rdk_set(rc, "security.protocol", proto) ||
	               lib_rdk_set(rc, "sasl.mechanisms", lib_conf_str(c, "sasl.mechanism")) ||
	               lib_rdk_set(rc, "sasl.username", user) ||
	               lib_rdk_set(rc, "sasl.password", lib_conf_str(c, "password"))))) {
		rd_kafka_conf_destroy(rc);
		return NULL;
	}
	return rc;
}

int lib_rdk_code(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		return 0;
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
		return SL_ETIMEDOUT;
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
	case RD_KAFKA_RESP_ERR__RESOLVE:
		return SL_EIO;
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
	case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
		return SL_ENOENT;
	case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
		return SL_EEXIST;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
		return SL_ETOOBIG;
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
	case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
	case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
	case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
		return SL_EINVAL;
	case RD_KAFKA_RESP_ERR__DESTROY:
		return SL_ECLOSED;
	default:
		return SL_EREMOTE;
	}
}

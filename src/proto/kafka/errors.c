/*
 * errors.c — the one place where broker/store domain errors become Kafka
 * error codes. Pure functions.
 */
#include "proto/kafka/kafka.h"

int16_t kafka_err_from_sl(int err)
{
	switch (err) {
	case 0:
		return KERR_NONE;
	case SL_ECORRUPT:
		return KERR_CORRUPT_MESSAGE;
	case SL_ETOOBIG:
		return KERR_MESSAGE_TOO_LARGE;
	case SL_EPROTO:
		return KERR_INVALID_RECORD;
	case SL_ERANGE:
		return KERR_OFFSET_OUT_OF_RANGE;
	case SL_ENOENT:
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	case SL_EEXIST:
		return KERR_TOPIC_ALREADY_EXISTS;
	case SL_EINVAL:
		return KERR_INVALID_REQUEST;
	case SL_EIO:
	case SL_ENOSPC:
		return KERR_KAFKA_STORAGE_ERROR;
	default:
		return KERR_KAFKA_STORAGE_ERROR;
	}
}

int16_t kafka_err_from_pstate(int ps)
{
	switch (ps) {
	case PS_OK:
	case PS_DUPLICATE:
		return KERR_NONE;
	case PS_OUT_OF_ORDER:
		return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	case PS_FENCED:
		return KERR_INVALID_PRODUCER_EPOCH;
	default:
		return KERR_UNKNOWN_PRODUCER_ID;
	}
}

int16_t kafka_err_from_create(int err)
{
	switch (err) {
	case 0:
		return KERR_NONE;
	case SL_EEXIST:
		return KERR_TOPIC_ALREADY_EXISTS;
	case SL_EINVAL:
		return KERR_INVALID_PARTITIONS;
	case SL_ENOENT:
		return KERR_INVALID_CONFIG;
	default:
		return kafka_err_from_sl(err);
	}
}

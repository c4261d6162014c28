/*
 * front.c — the Kafka protocol front: connection hooks, the request loop,
 * start/busy/stop for main.c (proto/front.h).
 *
 * on_input cuts every complete request out of the input buffer and
 * dispatches it (apis.c), so pipelined requests are answered in one write
 * burst. Responses stay in request order: a reply waiting for a sync
 * leaves a hold in the output queue (broker/dur.h), and a long-poll fetch
 * pauses the connection
 * (Kafka itself handles one request per connection at a time), so nothing
 * later can overtake either. A bad frame closes only its own connection.
 * Loop thread only.
 */
#include "broker/group.h"
#include "broker/txn.h"
#include "proto/front.h"
#include "proto/kafka/fetch_session.h"
#include "proto/kafka/kafka.h"
#include "proto/sniff.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int on_open(conn_t *c, void *srv)
{
	kafka_conn_t *kc = calloc(1, sizeof *kc);
	if (!kc)
		abort();
	kc->srv = srv;
	kc->fsessions = kfs_cache_ref(kc->srv->fsessions);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (c->fd >= 0 && getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			kc->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			kc->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	/* SASL per listener: kafka.listeners names each one by its security
	 * protocol; the single default listener follows
	 * kafka.security.protocol. */
	const char *ln = conn_listener(c);
	int sasl = ln && *ln ? strncmp(ln, "SASL_", 5) == 0 : kc->srv->sasl;
	if (sasl)
		kc->sasl = kafka_sasl_new();
	c->pdata = kc;
	return 0;
}

static int on_input(conn_t *c)
{
	kafka_conn_t *kc = c->pdata;
	kafka_srv_t *srv = kc->srv;
	size_t max = (size_t)srv->b->cfg->socket_request_max_bytes;
	while (!conn_paused(c) && !conn_is_closed(c)) {
		size_t len = 0;
		int n = kafka_frame_next(buf_data(&c->in), buf_len(&c->in), max, &len);
		if (n == SL_EAGAIN)
			break;
		if (n < 0) {
			/* Usually another protocol's client on the wrong port. */
			const char *what =
			    kc->requests ? NULL : proto_sniff(buf_data(&c->in), buf_len(&c->in));
			if (what)
				log_info(srv->b->log,
				         "kafka: %s: looks like %s on the Kafka listener; closing",
				         c->peer, what);
			else
				log_info(srv->b->log, "kafka: %s: %s request frame, closing",
				         c->peer, n == SL_ETOOBIG ? "oversized" : "malformed");
			return -1;
		}
		kc->requests++;
		/* dispatch logs why it refuses a request (with the peer). */
		int rc = kc->sasl ? kafka_sasl_gate(srv, c, buf_data(&c->in) + 4, len) : 0;
		if (rc == 0)
			rc = kafka_dispatch(srv, c, NULL, buf_data(&c->in) + 4, len);
		buf_consume(&c->in, (size_t)n);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void on_close(conn_t *c)
{
	kafka_conn_t *kc = c->pdata;
	if (!kc)
		return;
	if (kc->parked)
		kafka_fetch_abandon(kc->parked);
	kfs_owner_gone(kc->fsessions, kc);
	kfs_cache_unref(kc->fsessions);
	kafka_sasl_free(kc->sasl);
	free(kc);
	c->pdata = NULL;
}

static const proto_t kafka_proto = {
    .name = "kafka",
    .on_open = on_open,
    .on_input = on_input,
    .on_close = on_close,
};

static int start(broker_t *b, void **out)
{
	kafka_srv_t *srv = calloc(1, sizeof *srv);
	if (!srv)
		abort();
	srv->b = b;
	srv->port = b->cfg->kafka_port > 0 ? b->cfg->kafka_port : 9092;
	/* The listener's security protocol: SASL here, TLS in the net layer. */
	int tls = 0;
	if (kafka_sasl_parse_protocol(b->cfg->kafka_security_protocol, &srv->sasl, &tls) < 0 ||
	    tls) {
		log_error(b->log, "kafka.security.protocol: %s %s", b->cfg->kafka_security_protocol,
		          tls ? "needs a TLS listener: name it in kafka.listeners "
		                "(e.g. SASL_SSL://0.0.0.0:9093, docs/security.md)"
		              : "is not PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL");
		free(srv);
		return SL_ECONF;
	}
	srv->sasl_mechs = kafka_sasl_parse_mechanisms(b->cfg->sasl_enabled_mechanisms);
	if (!srv->sasl_mechs) {
		log_error(b->log,
		          "sasl.enabled.mechanisms: '%s': use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
		          b->cfg->sasl_enabled_mechanisms);
		free(srv);
		return SL_ECONF;
	}
	/* The broker owns topics and groups (broker_open); the front only
	 * speaks the protocol. */
	srv->topics = b->topics;
	srv->groups = b->groups;
	srv->fsessions = kfs_cache_new((int)b->cfg->max_incremental_fetch_session_cache_slots);
	*out = srv;
	return 0;
}

/* Replies waiting for a sync in the partitions', the groups' or the
 * transaction coordinator's domains (parked JoinGroups may wait minutes and
 * are answered at close). */
static int busy(void *p)
{
	kafka_srv_t *srv = p;
	return topics_busy(srv->topics) > 0 ||
	       (srv->groups && dur_busy(grp_coord_dur(srv->groups)) > 0) ||
	       (srv->b && srv->b->txns && txn_busy(srv->b->txns) > 0);
}

static void stop(void *p)
{
	kafka_srv_t *srv = p;
	kfs_cache_unref(srv->fsessions);
	free(srv);
}

const front_t kafka_front = {
    .name = "kafka",
    .proto = &kafka_proto,
    .start = start,
    .busy = busy,
    .stop = stop,
};

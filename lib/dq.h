/*
 * dq.h — what the delay queue's producer (delay_producer.c) and consumer
 * (delay_consumer.c) share: node list parsing, go-queue dq's body framing,
 * job ids and the md5 digest used for de-duplication keys. All functions
 * are pure and thread-safe.
 */
#ifndef SL_LIB_DQ_H
#define SL_LIB_DQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib.h"

#define DQ_MAX_NODES 16
/* dq's put parameters: pri PriNormal = 2, TTR 5 s (dq/producernode.go). */
#define DQ_PRI 2
#define DQ_TTR_S 5
/* Digits of the framing prefix: UnixNano() of any time from 2001 to 2286. */
#define DQ_FRAME_DIGITS 19

typedef struct dq_node_addr {
	char endpoint[256]; /* host:port */
	char tube[204];
	bool tls;          /* beanstalks.tls (BeanstalkTls): connect over TLS */
	char ca_file[512]; /* ca.file (CaFile): what TLS trusts; "" the system's CAs */
} dq_node_addr;

/* Connects to a node as its address says, plaintext or TLS (NULL with
 * sl_last_error() on failure). */
sl_jobs *lib_dq_connect(const dq_node_addr *a, int timeout_ms);

/* Parses the beanstalks key ("host:port/tube" list; tube "default" when
 * there is no '/'). Returns the node count (>= 1) or SL_ECONF naming the
 * bad item (also for an empty list and for a node listed twice). */
int lib_dq_nodes(const sl_conf *c, dq_node_addr *out, int max);

/* Writes the framing prefix "<due_ns>/" into buf (cap >= 24); returns its
 * length. */
size_t lib_dq_frame(int64_t due_ns, char *buf, size_t cap);

/* True when body starts with a dq framing prefix: exactly DQ_FRAME_DIGITS
 * decimal digits and '/'. Then *due_ns is the time and *prefix the prefix
 * length. Anything else is not framed (another tool put it). */
bool lib_dq_unwrap(const void *body, size_t len, int64_t *due_ns, size_t *prefix);

/* Splits one id item "endpoint/tube/jobid" (n bytes, not NUL-terminated):
 * the endpoint ends at the first '/', the job id follows the last, the
 * tube is between (tube names may hold '/'). SL_EINVAL if malformed. */
int lib_dq_id_split(const char *item, size_t n, dq_node_addr *node, uint64_t *jobid);

/* RFC 1321 MD5 of data as 32 lowercase hex digits + NUL (dq's dedupe key
 * digest). */
void lib_md5_hex(const void *data, size_t len, char out[33]);

/* beanstalkd's tube-name rule (jobs.c). */
bool lib_jobs_valid_tube(const char *tube);
/* False once an I/O or protocol failure closed j's connection (jobs.c):
 * tells a TIMED_OUT reply from a reply that never came. */
bool lib_jobs_is_open(const sl_jobs *j);

#endif

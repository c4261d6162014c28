/*
 * main.c — sluiced: configuration, data directory, listeners, signals.
 *
 * Start-up: parse settings (a bad value is one line naming the key, exit 2),
 * lock the data directory (a second sluiced on the same directory is
 * refused), read and remove the clean-shutdown marker, open every enabled
 * protocol front, bind its listeners (TCP, and a unix socket for RESP and
 * beanstalkd when configured), then write the READY line to --ready-fd so
 * tests never sleep or race. A listener that cannot bind is one error line
 * naming the listener, the address and the setting to change.
 *
 * Shutdown on SIGTERM/SIGINT: stop accepting, let in-flight work finish
 * (held replies waiting for fsync, queued output) for a bounded time, close
 * the fronts (which sync their logs and journals), write the clean-shutdown
 * marker, exit 0.
 *
 * Limits: the soft descriptor limit is raised to the hard one (as Redis
 * does); half of it goes to the store's descriptor cache (max.open.files),
 * which every log file is opened through, the rest to clients. A start
 * that runs out of descriptors says so, with the limit and what the data
 * directory needs, instead of a bare I/O error. max.client.memory caps what
 * clients hold in the event loop (net/conn.c).
 *
 * Listeners (docs/security.md): each front has up to MAX_LISTENERS TCP
 * listeners, each plaintext or TLS with its own context (certificate, key,
 * CA, client-certificate policy: the front's tls keys, else the tls.*
 * defaults). Kafka's come from kafka.listeners, Kafka's own syntax
 * (SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092), else one PLAINTEXT
 * listener on bind:kafka.port; the others have a plaintext port and a TLS
 * port (resp.tls.port…). Every connection carries its listener's name
 * (conn_listener), which is how the Kafka front knows a SASL_* listener.
 * The READY line names a plaintext listener by its front ("kafka=9092")
 * and the others with their name ("kafka.SSL=9093", "resp.tls=6380").
 * SIGHUP reloads every TLS context from its files; a context whose files
 * fail to load keeps the old one (logged), and connections already open
 * keep theirs.
 *
 * Everything runs on the one loop thread; the syncer owns a helper thread.
 */
#include "broker/broker.h"
#include "core/config.h"
#include "core/err.h"
#include "core/fdcache.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/time.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/loop.h"
#include "net/tls.h"
#include "proto/front.h"
#include "store/sio.h"
#include "store/syncer.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exit codes: 2 for a configuration error, 1 for any other start-up
 * failure (including a data directory in use). */
enum { EXIT_CONFIG = 2 };

#define CLEAN_MARKER "CLEAN"
#define LOCK_FILE "LOCK"
#define SHUTDOWN_GRACE_MS 10000
#define MAX_LISTENERS 8

typedef struct tcp_listener {
	listener_t *l;
	tls_ctx_t *tls; /* NULL: plaintext */
	char name[24];  /* "" (the front's plaintext port), "tls", or Kafka's name */
} tcp_listener_t;

typedef struct server {
	sl_config_t cfg;
	log_t log;
	broker_t broker;
	int lock_fd;
	loop_watch_t sig_watch;
	int sig_fd;
	int broker_open; /* broker_open succeeded */
	struct {
		const front_t *front;
		int port;  /* configured: -1 off, 0 ephemeral, N */
		void *srv; /* front state, NULL until started */
		tcp_listener_t tcp[MAX_LISTENERS];
		int ntcp;
		listener_t *unix_listener; /* --resp-unixsocket, --beanstalk-unixsocket */
	} fronts[4];
	int nfronts;
} server_t;

/* Takes an exclusive flock on DATA/LOCK. The lock dies with the process,
 * so a SIGKILLed server never leaves a stale lock behind. */
static int lock_data_dir(server_t *s)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", s->cfg.data_dir, LOCK_FILE);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_error(&s->log, "cannot open %s: %s", path, strerror(errno));
		return SL_EIO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		log_error(&s->log, "data directory %s is in use by another sluiced (pid %s)",
		          s->cfg.data_dir, pid[0] ? pid : "?");
		close(fd);
		return SL_EBUSY;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn(&s->log, "cannot write pid to %s: %s", path, strerror(errno));
	s->lock_fd = fd;
	return 0;
}

/* Whether the data directory holds nothing yet (missing, or only what a
 * start that never got further leaves: the lock file), so the first start
 * says "new" instead of reporting a recovery. Checked before the lock file
 * is created. */
static int data_dir_is_new(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT;
	int fresh = 1;
	struct dirent *e;
	while (fresh && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, LOCK_FILE))
			fresh = 0;
	}
	closedir(d);
	return fresh;
}

/* Reads and removes the clean-shutdown marker. Removing it (durably) before
 * serving means a crash from here on is never mistaken for a clean stop. */
static int take_clean_marker(server_t *s)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", s->cfg.data_dir, CLEAN_MARKER);
	if (unlink(path) == 0) {
		(void)fs_fsync_dir(s->cfg.data_dir);
		return 1;
	}
	return 0;
}

static void write_clean_marker(server_t *s)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", s->cfg.data_dir, CLEAN_MARKER);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_error(&s->log, "cannot write clean-shutdown marker %s: %s", path,
		          strerror(errno));
		return;
	}
	(void)fsync(fd);
	close(fd);
	(void)fs_fsync_dir(s->cfg.data_dir);
}

/* SIGHUP: every TLS listener reloads its files (see the top). */
static void reload_tls(server_t *s)
{
	int n = 0, failed = 0;
	for (int i = 0; i < s->nfronts; i++) {
		for (int j = 0; j < s->fronts[i].ntcp; j++) {
			tls_ctx_t *t = s->fronts[i].tcp[j].tls;
			if (!t)
				continue;
			char why[512] = "";
			if (tls_ctx_reload(t, why, sizeof why)) {
				log_error(&s->log,
				          "%s: TLS reload failed, keeping the previous "
				          "certificates: %s",
				          tls_ctx_name(t), why);
				failed++;
			} else {
				n++;
			}
		}
	}
	log_info(&s->log, "received SIGHUP: TLS certificates reloaded for %d listener(s)%s", n,
	         failed ? "; some failed (see above)" : "");
}

static void on_signal(loop_t *loop, loop_watch_t *w, uint32_t events)
{
	(void)events;
	server_t *s = w->arg;
	struct signalfd_siginfo si;
	while (read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			reload_tls(s);
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			/* beanstalkd's drain mode: new jobs are refused, the rest
			 * keeps working, so workers can empty the server. */
			if (!s->broker.draining)
				log_info(&s->log, "received SIGUSR1: entering drain mode");
			s->broker.draining = 1;
			continue;
		}
		log_info(&s->log, "received %s, shutting down", strsignal((int)si.ssi_signo));
		s->broker.shutting_down = 1;
		loop_stop(loop);
	}
}

/* Blocks SIGTERM/SIGINT in the calling thread. Called first thing in main,
 * before the syncer starts its thread: threads inherit the mask, so the
 * signals can only be taken through the loop's signalfd. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int setup_signals(server_t *s)
{
	sigset_t set;
	block_signals(&set);
	s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sig_fd < 0)
		return SL_EIO;
	return loop_watch_add(s->broker.loop, &s->sig_watch, s->sig_fd, EPOLLIN, on_signal, s);
}

static void say_fd_shortage(server_t *s);

/* One TCP listener to bind for a front. */
typedef struct listen_spec {
	const char *host;
	int port;
	const char *name;    /* see tcp_listener_t */
	int tls;             /* needs a TLS context */
	const char *setting; /* what chooses it, for the error line */
} listen_spec_t;

/* The TLS settings of front i: its own keys where set, else tls.*. */
static int tls_conf_for(const server_t *s, int i, const char *name, tls_conf_t *out, char *why,
                        size_t why_len)
{
	const sl_config_t *c = &s->cfg;
	const char *cert[] = {c->kafka_tls_cert_file, c->resp_tls_cert_file,
	                      c->beanstalk_tls_cert_file, c->http_tls_cert_file};
	const char *key[] = {c->kafka_tls_key_file, c->resp_tls_key_file, c->beanstalk_tls_key_file,
	                     c->http_tls_key_file};
	const char *ca[] = {c->kafka_tls_ca_file, c->resp_tls_ca_file, c->beanstalk_tls_ca_file,
	                    c->http_tls_ca_file};
	const char *auth[] = {c->kafka_tls_client_auth, c->resp_tls_client_auth,
	                      c->beanstalk_tls_client_auth, c->http_tls_client_auth};
#define PICK(a, dflt) ((a)[i] && *(a)[i] ? (a)[i] : (dflt))
	out->name = name;
	out->cert_file = PICK(cert, c->tls_cert_file);
	out->key_file = PICK(key, c->tls_key_file);
	out->ca_file = PICK(ca, c->tls_ca_file);
	const char *a = PICK(auth, c->tls_client_auth);
#undef PICK
	out->handshake_timeout_ms = (int)c->tls_handshake_timeout_ms;
	if (tls_auth_parse(a, &out->auth)) {
		snprintf(why, why_len, "bad client.auth value '%s' (none | requested | required)",
		         a);
		return SL_EINVAL;
	}
	return 0;
}

/* Parses kafka.listeners: NAME://HOST:PORT[,...], NAME one of PLAINTEXT,
 * SSL, SASL_PLAINTEXT, SASL_SSL (Kafka's security protocols, used as the
 * listener names); an empty HOST binds the bind setting; [v6]:port is
 * accepted. host strings point into store. */
static int parse_kafka_listeners(const char *text, char *store, size_t store_len,
                                 listen_spec_t *out, int max, int *n, char *why, size_t why_len)
{
	static const char *const names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
	snprintf(store, store_len, "%s", text);
	*n = 0;
	char *save = NULL;
	for (char *item = strtok_r(store, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
		char *sep = strstr(item, "://");
		if (!sep) {
			snprintf(why, why_len, "kafka.listeners: '%s' is not NAME://HOST:PORT",
			         item);
			return SL_EINVAL;
		}
		*sep = 0;
		int known = -1;
		for (int k = 0; k < 4; k++)
			if (strcasecmp(item, names[k]) == 0)
				known = k;
		if (known < 0) {
			snprintf(why, why_len,
			         "kafka.listeners: unknown security protocol '%s' (PLAINTEXT, SSL, "
			         "SASL_PLAINTEXT or SASL_SSL)",
			         item);
			return SL_EINVAL;
		}
		char *host = sep + 3;
		char *colon = strrchr(host, ':');
		char *end = NULL;
		long port = colon ? strtol(colon + 1, &end, 10) : -1;
		if (!colon || !end || *end || end == colon + 1 || port < 0 || port > 65535) {
			snprintf(why, why_len, "kafka.listeners: %s://%s needs :PORT (0-65535)",
			         names[known], host);
			return SL_EINVAL;
		}
		*colon = 0;
		if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
			colon[-1] = 0;
			host++;
		}
		for (int j = 0; j < *n; j++) {
			if (strcmp(out[j].name, names[known]) == 0) {
				snprintf(why, why_len, "kafka.listeners: %s is listed twice",
				         names[known]);
				return SL_EINVAL;
			}
		}
		if (*n == max) {
			snprintf(why, why_len, "kafka.listeners: at most %d listeners", max);
			return SL_EINVAL;
		}
		out[*n] = (listen_spec_t){.host = *host ? host : NULL,
		                          .port = (int)port,
		                          .name = names[known],
		                          .tls = known == 1 || known == 3,
		                          .setting = "kafka.listeners"};
		(*n)++;
	}
	if (*n == 0) {
		snprintf(why, why_len, "kafka.listeners is set but names no listener");
		return SL_EINVAL;
	}
	return 0;
}

/* The TCP listeners of front i (see the top of the file). */
static int listen_specs(server_t *s, int i, listen_spec_t *out, char *store, size_t store_len,
                        int *n, char *why, size_t why_len)
{
	const sl_config_t *c = &s->cfg;
	static const char *const port_keys[] = {"--kafka-port", "--resp-port", "--beanstalk-port",
	                                        "--http-port"};
	static const char *const tls_keys[] = {"", "--resp-tls-port", "--beanstalk-tls-port",
	                                       "--http-tls-port"};
	const int ports[] = {c->kafka_port, c->resp_port, c->beanstalk_port, c->http_port};
	const int tls_ports[] = {-1, c->resp_tls_port, c->beanstalk_tls_port, c->http_tls_port};
	*n = 0;
	if (i == 0 && c->kafka_listeners && *c->kafka_listeners)
		return parse_kafka_listeners(c->kafka_listeners, store, store_len, out,
		                             MAX_LISTENERS, n, why, why_len);
	if (ports[i] >= 0)
		out[(*n)++] = (listen_spec_t){c->bind, ports[i], "", 0, port_keys[i]};
	if (tls_ports[i] >= 0)
		out[(*n)++] = (listen_spec_t){c->bind, tls_ports[i], "tls", 1, tls_keys[i]};
	return 0;
}

/* Binds front i's TCP listeners and unix-socket listener (path
 * non-empty). A failure is one line: the listener, the address and the
 * setting that chooses it. */
static int listen_front(server_t *s, int i, const listen_spec_t *specs, int nspecs,
                        const char *path, unsigned mode, const conn_limits_t *limits)
{
	const front_t *f = s->fronts[i].front;
	char why[512] = "";
	int rc = 0;
	for (int j = 0; j < nspecs; j++) {
		const listen_spec_t *sp = &specs[j];
		char label[64];
		snprintf(label, sizeof label, "%s%s%s", f->name, sp->name[0] ? " " : "", sp->name);
		tcp_listener_t *t = &s->fronts[i].tcp[s->fronts[i].ntcp];
		snprintf(t->name, sizeof t->name, "%s", sp->name);
		if (sp->tls) {
			tls_conf_t conf;
			rc = tls_conf_for(s, i, label, &conf, why, sizeof why);
			if (rc == 0) {
				t->tls = tls_ctx_new(&conf, why, sizeof why);
				rc = t->tls ? 0 : SL_EINVAL;
			}
			if (rc) {
				log_error(&s->log, "%s listener: %s", label, why);
				return rc;
			}
		}
		s->fronts[i].ntcp++;
		const char *host = sp->host ? sp->host : s->cfg.bind;
		t->l = listener_new(s->broker.loop, host, sp->port, f->proto, s->fronts[i].srv,
		                    limits, why, sizeof why, &rc);
		if (!t->l && rc == SL_EMFILE) {
			say_fd_shortage(s);
			return rc;
		}
		if (!t->l) {
			log_error(&s->log,
			          "%s listener: cannot listen: %s (choose another with %s)", label,
			          why[0] ? why : sl_strerror(rc), sp->setting);
			return rc ? rc : SL_EIO;
		}
		listener_set_tls(t->l, t->tls, sp->name[0] ? sp->name : (sp->tls ? "tls" : ""));
		log_info(&s->log, "%s: listening on %s:%d%s", label, host, listener_port(t->l),
		         t->tls ? " (TLS)" : "");
	}
	if (path && *path) {
		s->fronts[i].unix_listener =
		    listener_new_unix(s->broker.loop, path, mode, f->proto, s->fronts[i].srv,
		                      limits, why, sizeof why, &rc);
		if (!s->fronts[i].unix_listener) {
			log_error(&s->log, "%s listener: cannot listen: %s (set --%s-unixsocket)",
			          f->name, why[0] ? why : sl_strerror(rc), f->name);
			return rc ? rc : SL_EIO;
		}
		log_info(&s->log, "%s: listening on unix:%s (mode %03o)", f->name, path, mode);
	}
	return 0;
}

static int start_fronts(server_t *s)
{
	const sl_config_t *c = &s->cfg;
	const front_t *fronts[] = {&kafka_front, &resp_front, &bstk_front, &http_front};
	const int ports[] = {c->kafka_port, c->resp_port, c->beanstalk_port, c->http_port};
	const char *paths[] = {NULL, c->resp_unixsocket, c->beanstalk_unixsocket, NULL};
	const unsigned modes[] = {0, c->resp_unixsocketperm, c->beanstalk_unixsocketperm, 0};
	int *bound[] = {&s->broker.ports.kafka, &s->broker.ports.resp, &s->broker.ports.beanstalk,
	                &s->broker.ports.http};
	conn_limits_t limits = {
	    .max_input = (size_t)c->max_request_bytes,
	    .high_water = (size_t)c->output_high_water,
	    .low_water = (size_t)c->output_low_water,
	};
	for (int i = 0; i < 4; i++) {
		s->fronts[i].front = fronts[i];
		s->fronts[i].port = ports[i];
		s->nfronts = i + 1;
		*bound[i] = -1;
		listen_spec_t specs[MAX_LISTENERS];
		char store[1024], why[512];
		int nspecs = 0;
		if (listen_specs(s, i, specs, store, sizeof store, &nspecs, why, sizeof why)) {
			log_error(&s->log, "config: %s", why);
			return SL_EINVAL;
		}
		if (nspecs == 0 && !(paths[i] && *paths[i]))
			continue;
		int rc = fronts[i]->start(&s->broker, &s->fronts[i].srv);
		if (rc) {
			log_error(&s->log, "%s: cannot start: %s", fronts[i]->name,
			          sl_strerror(rc));
			if (rc == SL_EMFILE)
				say_fd_shortage(s);
			return rc;
		}
		rc = listen_front(s, i, specs, nspecs, paths[i], modes[i], &limits);
		if (rc)
			return rc;
		/* The front's port for /status and the Kafka default: its
		 * plaintext listener, else the first. */
		for (int j = s->fronts[i].ntcp - 1; j >= 0; j--)
			if (!s->fronts[i].tcp[j].tls || *bound[i] < 0)
				*bound[i] = listener_port(s->fronts[i].tcp[j].l);
	}
	return 0;
}

static void write_ready(server_t *s)
{
	if (s->cfg.ready_fd < 0)
		return;
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof line, "READY");
	for (int i = 0; i < s->nfronts; i++) {
		for (int j = 0; j < s->fronts[i].ntcp && n < sizeof line; j++) {
			const tcp_listener_t *t = &s->fronts[i].tcp[j];
			int plain = !t->tls && (!t->name[0] || strcmp(t->name, "PLAINTEXT") == 0);
			n += (size_t)snprintf(line + n, sizeof line - n, " %s%s%s=%d",
			                      s->fronts[i].front->name, plain ? "" : ".",
			                      plain ? "" : t->name, listener_port(t->l));
		}
	}
	n += (size_t)snprintf(line + n, sizeof line - n, "\n");
	int fd = (int)s->cfg.ready_fd;
	if (write(fd, line, n) != (ssize_t)n)
		log_warn(&s->log, "cannot write READY line to fd %d: %s", fd, strerror(errno));
	close(fd);
}

static int any_busy(server_t *s)
{
	if (broker_busy(&s->broker))
		return 1;
	for (int i = 0; i < s->nfronts; i++) {
		const front_t *f = s->fronts[i].front;
		if (s->fronts[i].srv && f->busy && f->busy(s->fronts[i].srv))
			return 1;
	}
	return 0;
}

static void close_conn(conn_t *c, void *arg)
{
	(void)arg;
	conn_close(c, 1);
}

/* Stops accepting, finishes in-flight work for a bounded time, closes the
 * connections (flushing their output), then the fronts. */
static void shutdown_server(server_t *s)
{
	loop_t *loop = s->broker.loop;
	for (int i = 0; i < s->nfronts; i++) {
		for (int j = 0; j < s->fronts[i].ntcp; j++) {
			listener_free(s->fronts[i].tcp[j].l);
			s->fronts[i].tcp[j].l = NULL;
		}
		listener_free(s->fronts[i].unix_listener);
		s->fronts[i].unix_listener = NULL;
	}
	int64_t deadline = time_mono_ms() + SHUTDOWN_GRACE_MS;
	while (any_busy(s) && time_mono_ms() < deadline)
		loop_run_once(loop, 50);
	conn_foreach(loop, close_conn, NULL);
	while (conn_count(loop) > 0 && time_mono_ms() < deadline)
		loop_run_once(loop, 50);
	if (conn_count(loop) > 0)
		log_warn(&s->log, "%zu connections did not finish within %d ms", conn_count(loop),
		         SHUTDOWN_GRACE_MS);
	for (int i = s->nfronts - 1; i >= 0; i--) {
		if (s->fronts[i].srv) {
			s->fronts[i].front->stop(s->fronts[i].srv);
			s->fronts[i].srv = NULL;
		}
	}
	/* Let callbacks queued by the fronts' final syncs run. */
	loop_run_once(loop, 0);
}

/* Descriptors a server needs whatever its data: stdio, the lock, epoll,
 * the signalfd and eventfds, listeners with their spares, the state
 * journals with their syncer dups, and the smallest descriptor cache —
 * plus some room for clients. Partitions need none of their own. */
#define FDS_NEEDED 128

static uint64_t fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return (uint64_t)rl.rlim_cur;
}

/* Raises the soft descriptor limit to the hard one, as Redis does: log
 * files and clients share it. */
static void raise_fd_limit(server_t *s)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info(&s->log, "file descriptor limit raised from %llu to %llu",
		         (unsigned long long)was, (unsigned long long)rl.rlim_max);
}

/* Sizes the store's descriptor cache from the limit (or max.open.files). */
static void size_fd_cache(server_t *s)
{
	uint64_t lim = fd_limit();
	size_t cap = s->cfg.max_open_files > 0
	                 ? (size_t)s->cfg.max_open_files
	                 : fdc_cap_for_limit(lim == UINT64_MAX ? 1u << 21 : lim);
	fdc_set_cap(syncer_fdc(s->broker.syncer), cap);
}

/* The one line for a start that ran out of descriptors. */
static void say_fd_shortage(server_t *s)
{
	log_error(&s->log,
	          "too many open files: limit %llu, this data directory needs about %d; "
	          "raise ulimit -n (or LimitNOFILE= in a systemd unit)",
	          (unsigned long long)fd_limit(), FDS_NEEDED);
}

/* After the broker opened: how many descriptors it holds against the limit,
 * with a warning when clients would soon find none left. */
static void report_fds(server_t *s)
{
	uint64_t lim = fd_limit();
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	fdc_stats_t st;
	fdc_stats(syncer_fdc(s->broker.syncer), &st);
	if (lim != UINT64_MAX && lim < 2 * FDS_NEEDED)
		log_warn(&s->log,
		         "file descriptor limit %llu is low: %zu in use, up to %zu kept for log "
		         "files; clients may find none left: raise ulimit -n",
		         (unsigned long long)lim, n, st.cap);
	else
		log_info(&s->log,
		         "%zu file descriptors in use (limit %llu; up to %zu kept open for the %zu "
		         "log files, the rest for clients)",
		         n, (unsigned long long)lim, st.cap, st.files);
}

/* Every domain is the broker's and opens whatever listeners are on. */
static int open_broker(server_t *s)
{
	s->broker.io = sio_new();
	syncer_set_io(s->broker.syncer, s->broker.io);
	raise_fd_limit(s);
	size_fd_cache(s);
	conn_set_memory_cap(s->broker.loop, (size_t)s->cfg.max_client_memory);
	int rc = broker_open(&s->broker);
	if (rc == 0) {
		s->broker_open = 1;
		report_fds(s);
	} else if (rc == SL_EMFILE) {
		say_fd_shortage(s);
	}
	return rc;
}

int main(int argc, char **argv)
{
	server_t s;
	sigset_t blocked;
	block_signals(&blocked);
	memset(&s, 0, sizeof s);
	s.lock_fd = s.sig_fd = -1;
	config_init(&s.cfg);
	log_init(&s.log, LOG_INFO, STDERR_FILENO);

	char err[512];
	int rc = config_parse_args(&s.cfg, argc, argv, err, sizeof err);
	if (rc == 1) {
		config_print_help(stdout);
		config_deinit(&s.cfg);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "sluiced: %s\n", err);
		config_deinit(&s.cfg);
		return EXIT_CONFIG;
	}
	s.log.level = s.cfg.log_level;
	if (s.cfg.output_low_water > s.cfg.output_high_water) {
		fprintf(stderr, "sluiced: config: bad value for output.low.water: must not exceed "
		                "output.high.water\n");
		config_deinit(&s.cfg);
		return EXIT_CONFIG;
	}
	int status = 1, refused = 0;
	int fresh = data_dir_is_new(s.cfg.data_dir);
	rc = fs_mkdir_p(s.cfg.data_dir);
	if (rc) {
		log_error(&s.log, "cannot create data directory %s: %s", s.cfg.data_dir,
		          sl_strerror(rc));
		goto out;
	}
	if (lock_data_dir(&s))
		goto out;
	s.broker.cfg = &s.cfg;
	s.broker.log = &s.log;
	s.broker.data_dir = s.cfg.data_dir;
	s.broker.clean_start = take_clean_marker(&s);
	log_info(&s.log, "data directory %s (%s)", s.cfg.data_dir,
	         fresh                  ? "new data directory"
	         : s.broker.clean_start ? "clean shutdown last time"
	                                : "recovering: no clean-shutdown marker");
	s.broker.loop = loop_new(&s.log);
	if (!s.broker.loop)
		goto out;
	s.broker.syncer = syncer_new(s.broker.loop, &s.log);
	if (!s.broker.syncer)
		goto out;
	if (setup_signals(&s)) {
		log_error(&s.log, "cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	if (open_broker(&s)) {
		/* Refused before serving anything (strict.recovery, a file that
		 * cannot be opened): every store was closed cleanly again, so
		 * after a clean stop the next start may still trust it — the
		 * refusal changes nothing, not even how the next start reads a
		 * damaged tail. */
		refused = s.broker.clean_start;
		goto out;
	}
	if (start_fronts(&s))
		goto out;
	write_ready(&s);
	rc = loop_run(s.broker.loop);
	if (rc)
		log_error(&s.log, "event loop failed: %s", sl_strerror(rc));
	shutdown_server(&s);
	status = rc ? 1 : 0;
out:
	for (int i = 0; i < s.nfronts; i++) {
		for (int j = 0; j < s.fronts[i].ntcp; j++)
			listener_free(s.fronts[i].tcp[j].l);
		listener_free(s.fronts[i].unix_listener);
		if (s.fronts[i].srv)
			s.fronts[i].front->stop(s.fronts[i].srv);
	}
	/* After the connections: sessions started from a context never use
	 * it again, but the listeners borrowed it. */
	for (int i = 0; i < s.nfronts; i++)
		for (int j = 0; j < s.fronts[i].ntcp; j++)
			tls_ctx_free(s.fronts[i].tcp[j].tls);
	if (s.broker_open)
		broker_close(&s.broker);
	if (s.sig_fd >= 0) {
		loop_watch_del(s.broker.loop, &s.sig_watch);
		close(s.sig_fd);
	}
	if (s.broker.syncer)
		syncer_free(s.broker.syncer);
	/* What the syncer synced last was deferred too (broker_close). */
	if (sio_sync_deferred(s.broker.io, s.cfg.data_dir) < 0) {
		status = status ? status : 1;
		refused = 0;
	}
	sio_free(s.broker.io);
	if (s.broker.loop)
		loop_free(s.broker.loop);
	if (status == 0) {
		write_clean_marker(&s);
		log_info(&s.log, "clean shutdown");
	} else if (refused) {
		write_clean_marker(&s);
	}
	if (s.lock_fd >= 0)
		close(s.lock_fd);
	config_deinit(&s.cfg);
	return status;
}

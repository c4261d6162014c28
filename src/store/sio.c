/*
 * sio.c — the store's file I/O with fault injection; see sio.h.
 *
 * The fd → path table is an array indexed by descriptor, grown on demand,
 * so a faulted fd-based call finds its path in O(1). It is consulted only
 * while a rule is armed; registering and forgetting paths (open, dup,
 * close) always happens, under the mutex, because a rule may be armed at
 * any time. Rules are matched in the order they were added; the first rule
 * whose ops and path match and that has not run out counts the call.
 */
#include "store/sio.h"

#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RULES 16

typedef struct rule {
	sio_fault_t f;
	int64_t seen;  /* matching calls so far */
	int64_t fired; /* of those, failed */
} rule_t;

struct sio {
	pthread_mutex_t mu;
	atomic_int armed; /* number of rules */
	rule_t rules[MAX_RULES];
	int nrules;
	atomic_uint_fast64_t hits;
	char **paths; /* fd → owned path, or NULL */
	size_t npaths;
};

sio_t *sio_new(void)
{
	sio_t *io = calloc(1, sizeof *io);
	if (!io)
		abort();
	pthread_mutex_init(&io->mu, NULL);
	atomic_init(&io->armed, 0);
	atomic_init(&io->hits, 0);
	return io;
}

void sio_free(sio_t *io)
{
	if (!io)
		return;
	for (size_t i = 0; i < io->npaths; i++)
		free(io->paths[i]);
	free(io->paths);
	pthread_mutex_destroy(&io->mu);
	free(io);
}

int sio_fault_add(sio_t *io, const sio_fault_t *f)
{
	pthread_mutex_lock(&io->mu);
	if (io->nrules == MAX_RULES) {
		pthread_mutex_unlock(&io->mu);
		return SL_ETOOBIG;
	}
	rule_t *r = &io->rules[io->nrules++];
	memset(r, 0, sizeof *r);
	r->f = *f;
	r->f.path[SIO_PATH_MAX - 1] = 0;
	atomic_store(&io->armed, io->nrules);
	pthread_mutex_unlock(&io->mu);
	return 0;
}

void sio_fault_clear(sio_t *io)
{
	pthread_mutex_lock(&io->mu);
	io->nrules = 0;
	atomic_store(&io->armed, 0);
	pthread_mutex_unlock(&io->mu);
}

uint64_t sio_fault_hits(sio_t *io)
{
	return io ? atomic_load(&io->hits) : 0;
}

/* --- rule parsing ---------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned ops;
} op_names[] = {
    {"open", SIO_OPEN},
    {"pwrite", SIO_PWRITE},
    {"fallocate", SIO_FALLOCATE},
    {"fsync", SIO_FSYNC},
    {"fdatasync", SIO_FSYNC},
    {"ftruncate", SIO_FTRUNCATE},
    {"rename", SIO_RENAME},
    {"unlink", SIO_UNLINK},
    {"mkdir", SIO_MKDIR},
    {"write", SIO_PWRITE | SIO_FALLOCATE | SIO_FTRUNCATE},
    {"all", SIO_ALL},
};

static const struct {
	const char *name;
	int err;
} errno_names[] = {
    {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EMFILE", EMFILE}, {"EROFS", EROFS},
};

static int parse_ops(const char *v, size_t n, unsigned *ops)
{
	*ops = 0;
	while (n) {
		size_t k = 0;
		while (k < n && v[k] != '|')
			k++;
		size_t i;
		for (i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
			if (strlen(op_names[i].name) == k && !strncmp(op_names[i].name, v, k))
				break;
		if (i == sizeof op_names / sizeof op_names[0])
			return -1;
		*ops |= op_names[i].ops;
		v += k;
		n -= k;
		if (n) {
			v++;
			n--;
		}
	}
	return *ops ? 0 : -1;
}

static int parse_num(const char *v, size_t n, int64_t *out)
{
	char tmp[32];
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = 0;
	char *end;
	long long x = strtoll(tmp, &end, 10);
	if (*end)
		return -1;
	*out = x;
	return 0;
}

int sio_fault_parse(const char *spec, sio_fault_t *f, char *err, size_t errn)
{
	memset(f, 0, sizeof *f);
	f->count = 1;
	f->err = EIO;
	const char *p = spec;
	while (*p) {
		size_t len = strcspn(p, ",&");
		const char *eq = memchr(p, '=', len);
		if (!eq) {
			snprintf(err, errn, "expected key=value in \"%.*s\"", (int)len, p);
			return SL_EINVAL;
		}
		size_t kl = (size_t)(eq - p), vl = len - kl - 1;
		const char *v = eq + 1;
		int64_t num = 0;
		int bad = 0;
		if (kl == 2 && !strncmp(p, "op", 2)) {
			bad = parse_ops(v, vl, &f->ops);
		} else if (kl == 4 && !strncmp(p, "path", 4)) {
			if (vl >= SIO_PATH_MAX)
				bad = 1;
			else {
				memcpy(f->path, v, vl);
				f->path[vl] = 0;
			}
		} else if (kl == 4 && !strncmp(p, "skip", 4)) {
			bad = parse_num(v, vl, &num) || num < 0;
			f->skip = num;
		} else if (kl == 5 && !strncmp(p, "count", 5)) {
			bad = parse_num(v, vl, &num) || num < -1 || num == 0;
			f->count = num;
		} else if (kl == 5 && !strncmp(p, "short", 5)) {
			bad = parse_num(v, vl, &num) || (num != 0 && num != 1);
			f->short_write = (int)num;
		} else if (kl == 5 && !strncmp(p, "errno", 5)) {
			bad = 1;
			for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
				if (strlen(errno_names[i].name) == vl &&
				    !strncmp(errno_names[i].name, v, vl)) {
					f->err = errno_names[i].err;
					bad = 0;
				}
			if (bad && parse_num(v, vl, &num) == 0 && num > 0 && num < 4096) {
				f->err = (int)num;
				bad = 0;
			}
		} else {
			snprintf(err, errn, "unknown key \"%.*s\"", (int)kl, p);
			return SL_EINVAL;
		}
		if (bad) {
			snprintf(err, errn, "bad value for %.*s: \"%.*s\"", (int)kl, p, (int)vl, v);
			return SL_EINVAL;
		}
		p += len;
		if (*p)
			p++;
	}
	if (!f->ops) {
		snprintf(err, errn, "op= is required");
		return SL_EINVAL;
	}
	return 0;
}

/* --- the fd → path table ------------------------------------------------------- */

static void remember(sio_t *io, int fd, const char *path)
{
	if (!io || fd < 0)
		return;
	char *copy = strdup(path ? path : "");
	if (!copy)
		abort();
	pthread_mutex_lock(&io->mu);
	if ((size_t)fd >= io->npaths) {
		size_t n = io->npaths ? io->npaths : 64;
		while (n <= (size_t)fd)
			n *= 2;
		io->paths = realloc(io->paths, n * sizeof *io->paths);
		if (!io->paths)
			abort();
		memset(io->paths + io->npaths, 0, (n - io->npaths) * sizeof *io->paths);
		io->npaths = n;
	}
	free(io->paths[fd]);
	io->paths[fd] = copy;
	pthread_mutex_unlock(&io->mu);
}

static void forget(sio_t *io, int fd)
{
	if (!io || fd < 0)
		return;
	pthread_mutex_lock(&io->mu);
	if ((size_t)fd < io->npaths) {
		free(io->paths[fd]);
		io->paths[fd] = NULL;
	}
	pthread_mutex_unlock(&io->mu);
}

/* --- matching ------------------------------------------------------------------ */

enum { PASS = 0, FAIL = 1, SHORT = 2 };

/* Decides the fate of one call. Exactly one of path / fd names the file. */
static int check(sio_t *io, unsigned op, const char *path, int fd, int *err)
{
	if (!io || atomic_load(&io->armed) == 0)
		return PASS;
	int verdict = PASS;
	pthread_mutex_lock(&io->mu);
	if (!path)
		path = fd >= 0 && (size_t)fd < io->npaths && io->paths[fd] ? io->paths[fd] : "";
	for (int i = 0; i < io->nrules; i++) {
		rule_t *r = &io->rules[i];
		if (!(r->f.ops & op) || (r->f.path[0] && !strstr(path, r->f.path)))
			continue;
		if (r->f.count >= 0 && r->fired >= r->f.count)
			continue;
		if (r->seen++ < r->f.skip)
			continue;
		r->fired++;
		*err = r->f.err;
		verdict = op == SIO_PWRITE && r->f.short_write ? SHORT : FAIL;
		atomic_fetch_add(&io->hits, 1);
		break;
	}
	pthread_mutex_unlock(&io->mu);
	return verdict;
}

#define FAULTED(io, op, path, fd)                                   \
	do {                                                        \
		int e_;                                             \
		if (check((io), (op), (path), (fd), &e_) == FAIL) { \
			errno = e_;                                 \
			return -1;                                  \
		}                                                   \
	} while (0)

/* --- the calls ---------------------------------------------------------------------- */

int sio_open(sio_t *io, const char *path, int flags, mode_t mode)
{
	FAULTED(io, SIO_OPEN, path, -1);
	int fd = open(path, flags, mode);
	if (fd >= 0)
		remember(io, fd, path);
	return fd;
}

int sio_dup(sio_t *io, int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (d >= 0 && io) {
		char *path = NULL;
		pthread_mutex_lock(&io->mu);
		if ((size_t)fd < io->npaths && io->paths[fd])
			path = strdup(io->paths[fd]);
		pthread_mutex_unlock(&io->mu);
		remember(io, d, path);
		free(path);
	}
	return d;
}

int sio_close(sio_t *io, int fd)
{
	forget(io, fd);
	return close(fd);
}

ssize_t sio_pwrite(sio_t *io, int fd, const void *p, size_t n, off_t off)
{
	int e;
	switch (check(io, SIO_PWRITE, NULL, fd, &e)) {
	case FAIL:
		errno = e;
		return -1;
	case SHORT:
		if (n > 1)
			n /= 2;
		break;
	}
	return pwrite(fd, p, n, off);
}

int sio_fallocate(sio_t *io, int fd, int mode, off_t off, off_t len)
{
	FAULTED(io, SIO_FALLOCATE, NULL, fd);
	return fallocate(fd, mode, off, len);
}

int sio_fdatasync(sio_t *io, int fd)
{
	FAULTED(io, SIO_FSYNC, NULL, fd);
	return fdatasync(fd);
}

int sio_fsync(sio_t *io, int fd)
{
	FAULTED(io, SIO_FSYNC, NULL, fd);
	return fsync(fd);
}

int sio_ftruncate(sio_t *io, int fd, off_t len)
{
	FAULTED(io, SIO_FTRUNCATE, NULL, fd);
	return ftruncate(fd, len);
}

int sio_rename(sio_t *io, const char *from, const char *to)
{
	FAULTED(io, SIO_RENAME, to, -1);
	return rename(from, to);
}

int sio_unlink(sio_t *io, const char *path)
{
	FAULTED(io, SIO_UNLINK, path, -1);
	return unlink(path);
}

int sio_unlinkat(sio_t *io, int dirfd, const char *dirpath, const char *name)
{
	if (io && atomic_load(&io->armed)) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dirpath, name);
		FAULTED(io, SIO_UNLINK, path, -1);
	}
	return unlinkat(dirfd, name, 0);
}

int sio_mkdir(sio_t *io, const char *path, mode_t mode)
{
	FAULTED(io, SIO_MKDIR, path, -1);
	return mkdir(path, mode);
}

/* --- helpers ---------------------------------------------------------------------------- */

int sio_pwrite_all(sio_t *io, int fd, const void *p, size_t n, off_t off, size_t *done)
{
	size_t w = 0;
	int rc = 0;
	while (w < n) {
		ssize_t k = sio_pwrite(io, fd, (const uint8_t *)p + w, n - w, off + (off_t)w);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = sl_from_errno(errno) == SL_ENOSPC ? SL_ENOSPC : SL_EIO;
			break;
		}
		if (k == 0) {
			rc = SL_EIO;
			break;
		}
		w += (size_t)k;
	}
	if (done)
		*done = w;
	return rc;
}

int sio_fsync_dir(sio_t *io, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sl_from_errno(errno);
	int rc = 0;
	int e;
	if (check(io, SIO_FSYNC, dir, -1, &e) == FAIL)
		rc = sl_from_errno(e);
	else if (fsync(fd) < 0)
		rc = sl_from_errno(errno);
	close(fd);
	return rc;
}

int sio_mkdir_p(sio_t *io, const char *dir)
{
	char tmp[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof tmp)
		return SL_EINVAL;
	memcpy(tmp, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char c = tmp[i];
		tmp[i] = '\0';
		struct stat st;
		if (stat(tmp, &st) < 0 && sio_mkdir(io, tmp, 0755) < 0 && errno != EEXIST)
			return sl_from_errno(errno);
		tmp[i] = c;
	}
	return 0;
}

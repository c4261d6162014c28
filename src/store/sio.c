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

/* One change not yet made durable by a sync, and how to undo it. */
typedef struct undo {
	uint64_t seq; /* order of the change (a sync covers those before it) */
	off_t off;    /* write: where; truncate/extend: unused */
	size_t len;   /* bytes saved in old (write: overwritten; shrink: cut) */
	uint8_t *old; /* owned */
	off_t size;   /* the file's size before the change */
} undo_t;

typedef struct pfile {
	dev_t dev;
	ino_t ino;
	int fd; /* our own descriptor, to rewind the file */
	undo_t *u;
	size_t n, cap;
	uint64_t seq; /* last change recorded */
	struct pfile *next;
} pfile_t;

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
	int powerloss;    /* recording unsynced changes */
	atomic_int defer; /* shutdown: syncs are owed, not made */
	atomic_int owed;  /* a sync was deferred */
	pfile_t *pfiles;  /* files with unsynced changes recorded */
};

sio_t *sio_new(void)
{
	sio_t *io = calloc(1, sizeof *io);
	if (!io)
		abort();
	pthread_mutex_init(&io->mu, NULL);
	atomic_init(&io->armed, 0);
	atomic_init(&io->hits, 0);
	atomic_init(&io->defer, 0);
	atomic_init(&io->owed, 0);
	return io;
}

/* Forgets the changes up to seq (all: UINT64_MAX): a sync made them durable. */
static void pfile_forget(pfile_t *f, uint64_t seq)
{
	size_t keep = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (f->u[i].seq <= seq)
			free(f->u[i].old);
		else
			f->u[keep++] = f->u[i];
	}
	f->n = keep;
}

static void pfile_clear(pfile_t *f)
{
	pfile_forget(f, UINT64_MAX);
}

void sio_free(sio_t *io)
{
	if (!io)
		return;
	while (io->pfiles) {
		pfile_t *f = io->pfiles;
		io->pfiles = f->next;
		pfile_clear(f);
		free(f->u);
		close(f->fd);
		free(f);
	}
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

/* --- power-loss simulation -------------------------------------------------------- */

void sio_powerloss_enable(sio_t *io)
{
	pthread_mutex_lock(&io->mu);
	io->powerloss = 1;
	pthread_mutex_unlock(&io->mu);
}

/* The record of fd's file, created on first sight (its content then counts
 * as synced). Called with io->mu held. */
static pfile_t *pfile_of(sio_t *io, int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return NULL;
	for (pfile_t *f = io->pfiles; f; f = f->next)
		if (f->dev == st->st_dev && f->ino == st->st_ino)
			return f;
	pfile_t *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (f->fd < 0) {
		free(f);
		return NULL;
	}
	f->next = io->pfiles;
	io->pfiles = f;
	return f;
}

/* Saves bytes [off, off + len) of fd's file (the part that exists) and
 * its size before a change. Called with io->mu held; the caller makes the
 * change before releasing it, so the record order is the write order. */
static void pl_record(sio_t *io, int fd, off_t off, size_t len)
{
	struct stat st;
	pfile_t *f = pfile_of(io, fd, &st);
	if (f) {
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 16;
			f->u = realloc(f->u, f->cap * sizeof *f->u);
			if (!f->u)
				abort();
		}
		undo_t *u = &f->u[f->n++];
		memset(u, 0, sizeof *u);
		u->seq = ++f->seq;
		u->size = st.st_size;
		u->off = off;
		if (off < st.st_size && len) {
			size_t have =
			    (size_t)(st.st_size - off) < len ? (size_t)(st.st_size - off) : len;
			u->old = malloc(have);
			if (!u->old)
				abort();
			ssize_t k = pread(fd, u->old, have, off);
			u->len = k > 0 ? (size_t)k : 0;
		}
	}
}

static int recording(sio_t *io)
{
	return io && io->powerloss;
}

/* The last change recorded for fd's file (0: none): a sync that starts now
 * makes everything up to it durable. */
static uint64_t pl_seq(sio_t *io, int fd)
{
	uint64_t seq = 0;
	pthread_mutex_lock(&io->mu);
	struct stat st;
	if (fstat(fd, &st) == 0)
		for (pfile_t *f = io->pfiles; f; f = f->next)
			if (f->dev == st.st_dev && f->ino == st.st_ino)
				seq = f->seq;
	pthread_mutex_unlock(&io->mu);
	return seq;
}

/* A sync of fd that started after change seq succeeded. */
static void pl_synced(sio_t *io, int fd, uint64_t seq)
{
	pthread_mutex_lock(&io->mu);
	struct stat st;
	if (fstat(fd, &st) == 0)
		for (pfile_t *f = io->pfiles; f; f = f->next)
			if (f->dev == st.st_dev && f->ino == st.st_ino)
				pfile_forget(f, seq);
	pthread_mutex_unlock(&io->mu);
}

/* A sync through fn (fdatasync or fsync), bookkept when recording. */
static int pl_sync(sio_t *io, int fd, int (*fn)(int))
{
	if (io && atomic_load(&io->defer)) {
		atomic_store(&io->owed, 1);
		return 0;
	}
	if (!recording(io))
		return fn(fd);
	uint64_t seq = pl_seq(io, fd);
	int rc = fn(fd);
	if (rc == 0)
		pl_synced(io, fd, seq);
	return rc;
}

static uint64_t rnd_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

int sio_powerloss(sio_t *io, int tear, uint64_t seed)
{
	uint64_t r = seed ? seed : 0x9e3779b97f4a7c15ull;
	int touched = 0;
	pthread_mutex_lock(&io->mu);
	for (pfile_t *f = io->pfiles; f; f = f->next) {
		if (!f->n)
			continue;
		touched++;
		/* Newest first, so each region ends with its synced bytes. */
		for (size_t i = f->n; i-- > 0;) {
			undo_t *u = &f->u[i];
			for (size_t at = 0; at < u->len; at += 512) {
				size_t k = u->len - at < 512 ? u->len - at : 512;
				if (tear && (rnd_next(&r) & 1))
					continue; /* this sector reached the disk */
				if (pwrite(f->fd, u->old + at, k, u->off + (off_t)at) != (ssize_t)k)
					break;
			}
		}
		/* The size before the first unsynced change (a torn write may
		 * have extended it: then keep the longer file). */
		struct stat st;
		if (fstat(f->fd, &st) == 0 && (!tear || (rnd_next(&r) & 1)) &&
		    st.st_size != f->u[0].size)
			(void)ftruncate(f->fd, f->u[0].size);
		pfile_clear(f);
	}
	pthread_mutex_unlock(&io->mu);
	return touched;
}

void sio_defer_syncs(sio_t *io)
{
	if (io)
		atomic_store(&io->defer, 1);
}

void sio_resume_syncs(sio_t *io)
{
	if (io)
		atomic_store(&io->defer, 0);
}

int sio_sync_deferred(sio_t *io, const char *dir)
{
	if (!io || !atomic_load(&io->owed))
		return 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sl_from_errno(errno);
	int rc = syncfs(fd) < 0 ? SL_EIO : 0;
	close(fd);
	atomic_store(&io->owed, 0);
	return rc;
}

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
	if (!recording(io))
		return pwrite(fd, p, n, off);
	pthread_mutex_lock(&io->mu);
	pl_record(io, fd, off, n);
	ssize_t k = pwrite(fd, p, n, off);
	int saved = errno;
	pthread_mutex_unlock(&io->mu);
	errno = saved;
	return k;
}

int sio_fallocate(sio_t *io, int fd, int mode, off_t off, off_t len)
{
	FAULTED(io, SIO_FALLOCATE, NULL, fd);
	if (!recording(io))
		return fallocate(fd, mode, off, len);
	pthread_mutex_lock(&io->mu);
	pl_record(io, fd, off, 0);
	int rc = fallocate(fd, mode, off, len);
	int e = errno;
	pthread_mutex_unlock(&io->mu);
	errno = e;
	return rc;
}

int sio_fdatasync(sio_t *io, int fd)
{
	FAULTED(io, SIO_FSYNC, NULL, fd);
	return pl_sync(io, fd, fdatasync);
}

int sio_fsync(sio_t *io, int fd)
{
	FAULTED(io, SIO_FSYNC, NULL, fd);
	return pl_sync(io, fd, fsync);
}

int sio_ftruncate(sio_t *io, int fd, off_t len)
{
	FAULTED(io, SIO_FTRUNCATE, NULL, fd);
	if (!recording(io))
		return ftruncate(fd, len);
	/* Shrinking: the bytes cut come back if the cut was not synced. */
	pthread_mutex_lock(&io->mu);
	struct stat st;
	if (fstat(fd, &st) == 0 && len < st.st_size && st.st_size - len <= (64 << 20))
		pl_record(io, fd, len, (size_t)(st.st_size - len));
	else
		pl_record(io, fd, len, 0);
	int rc = ftruncate(fd, len);
	int e = errno;
	pthread_mutex_unlock(&io->mu);
	errno = e;
	return rc;
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
	if (io && atomic_load(&io->defer)) {
		atomic_store(&io->owed, 1);
		return 0;
	}
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

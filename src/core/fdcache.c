/*
 * fdcache.c — the bounded descriptor cache (see fdcache.h). Loop thread
 * only.
 *
 * State of a file: closed (fd -1); cached (fd open, unpinned, in one of
 * the two LRU lists, may be closed to make room); pinned (fd open or not,
 * never closed by the cache, in no list); kept (the owner let go while
 * other references remained: open until the last one goes, in no list).
 * A cached file is clean or dirty (fdc_mark_dirty), and sits in the list
 * of its kind.
 *
 * Making room: the capacity is enforced on clean files only, least
 * recently used first. Dirty files are closed only when the process is
 * out of descriptors and no clean one is left, after their owner's flush
 * (a sync through the descriptor that wrote) — so at the limit appends
 * slow down instead of failing, and below it nothing is synced early.
 * Dirty files beyond the capacity are closed once they are clean again.
 *
 * Invariants: c->nopen counts every open descriptor of the cache's files
 * (cached, pinned or kept); the lists hold exactly the cached ones, most
 * recently used first; c->refs is one for the owner plus one per file not
 * yet freed. Making room closes from the lists' tails only, so a
 * descriptor handed out by fdc_fd() stays valid until the next call that
 * opens something. A flush runs with c->flushing set: whatever it calls
 * back into the cache (it marks the file clean) closes nothing.
 */
#include "core/fdcache.h"

#include "core/err.h"
#include "core/time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FDC_MIN_CAP 16
#define FDC_MAX_CAP (1u << 20)

struct fdc_file {
	fdc_t *c;
	char *path;
	int flags;
	int fd;
	int pins;
	int refs;
	int kept;  /* the owner let go; open until the last reference */
	int dirty; /* written but not synced: closed only after flush */
	int (*flush)(void *arg);
	void *flush_arg;
	int in_lru;
	fdc_file_t *prev, *next; /* LRU links (most recent at the head) */
};

/* One LRU list. */
typedef struct lru {
	fdc_file_t *head, *tail;
} lru_t;

struct fdc {
	size_t cap;
	size_t nopen;
	size_t npinned;
	size_t ndirty;
	size_t nfiles;
	lru_t clean, dirty;
	fdc_ops_t ops;
	const log_t *log;
	int refs;
	int flushing; /* a dirty file's flush is running: close nothing */
	uint64_t hits, opens, evictions, flushes, emfile;
	int64_t warned_ms; /* last "out of descriptors" warning */
};

static int plain_open(void *arg, const char *path, int flags, mode_t mode)
{
	(void)arg;
	return open(path, flags, mode);
}

static void plain_close(void *arg, int fd)
{
	(void)arg;
	close(fd);
}

size_t fdc_cap_for_limit(uint64_t nofile)
{
	uint64_t cap = nofile / 2;
	if (cap < FDC_MIN_CAP)
		cap = FDC_MIN_CAP;
	if (cap > FDC_MAX_CAP)
		cap = FDC_MAX_CAP;
	return (size_t)cap;
}

fdc_t *fdc_new(size_t cap, const fdc_ops_t *ops, const log_t *log)
{
	fdc_t *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->cap = cap ? cap : 1;
	if (ops)
		c->ops = *ops;
	else
		c->ops = (fdc_ops_t){plain_open, plain_close, NULL};
	c->log = log;
	c->refs = 1;
	c->warned_ms = -1000000;
	return c;
}

static void cache_unref(fdc_t *c)
{
	if (--c->refs == 0)
		free(c);
}

void fdc_free(fdc_t *c)
{
	if (c)
		cache_unref(c);
}

void fdc_set_ops_arg(fdc_t *c, void *arg)
{
	c->ops.arg = arg;
}

void fdc_stats(const fdc_t *c, fdc_stats_t *out)
{
	out->cap = c->cap;
	out->open = c->nopen;
	out->pinned = c->npinned;
	out->dirty = c->ndirty;
	out->flushes = c->flushes;
	out->files = c->nfiles;
	out->hits = c->hits;
	out->opens = c->opens;
	out->evictions = c->evictions;
	out->emfile = c->emfile;
}

/* --- the LRU list ------------------------------------------------------------- */

static lru_t *list_of(fdc_file_t *f)
{
	return f->dirty ? &f->c->dirty : &f->c->clean;
}

static void lru_unlink(fdc_file_t *f)
{
	if (!f->in_lru)
		return;
	lru_t *l = list_of(f);
	if (f->prev)
		f->prev->next = f->next;
	else
		l->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		l->tail = f->prev;
	f->prev = f->next = NULL;
	f->in_lru = 0;
}

static void lru_push(fdc_file_t *f)
{
	lru_t *l = list_of(f);
	f->prev = NULL;
	f->next = l->head;
	if (l->head)
		l->head->prev = f;
	else
		l->tail = f;
	l->head = f;
	f->in_lru = 1;
}

/* Whether an open file belongs in the list (may be closed for room). */
static int cacheable(const fdc_file_t *f)
{
	return f->fd >= 0 && !f->pins && !f->kept;
}

static void close_fd(fdc_file_t *f)
{
	fdc_t *c = f->c;
	lru_unlink(f);
	c->ops.close(c->ops.arg, f->fd);
	f->fd = -1;
	c->nopen--;
}

/* Closes the least recently used clean cached descriptor; 0 if there is
 * none (or a flush is running). */
static int evict_clean(fdc_t *c)
{
	fdc_file_t *f = c->clean.tail;
	if (!f || c->flushing)
		return 0;
	close_fd(f);
	c->evictions++;
	return 1;
}

/* Out of descriptors: a clean one if any, else the least recently used
 * dirty one after its owner synced it. 0 if nothing can be closed. */
static int evict_any(fdc_t *c)
{
	if (evict_clean(c))
		return 1;
	fdc_file_t *f = c->dirty.tail;
	if (!f || c->flushing)
		return 0;
	c->flushing = 1;
	(void)f->flush(f->flush_arg); /* a failure is the owner's to report */
	c->flushing = 0;
	c->flushes++;
	/* The flush marked it clean (or failed): either way it goes now. */
	if (cacheable(f))
		close_fd(f);
	c->evictions++;
	return 1;
}

static void fit(fdc_t *c)
{
	while (c->nopen > c->cap && evict_clean(c))
		;
}

void fdc_set_cap(fdc_t *c, size_t cap)
{
	c->cap = cap ? cap : 1;
	fit(c);
}

void fdc_fit(fdc_t *c)
{
	fit(c);
}

size_t fdc_trim(fdc_t *c, size_t n)
{
	size_t k = 0;
	while (k < n && evict_clean(c))
		k++;
	return k;
}

/* open(2) that closes cached descriptors while the process is out of
 * them. -1 with errno on failure. */
static int open_evicting(fdc_t *c, const char *path, int flags, mode_t mode)
{
	for (;;) {
		int fd = c->ops.open(c->ops.arg, path, flags | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		int e = errno;
		if ((e == EMFILE || e == ENFILE) && evict_any(c))
			continue;
		if (e == EMFILE || e == ENFILE) {
			c->emfile++;
			int64_t now = time_mono_ms();
			if (now - c->warned_ms >= 1000) {
				c->warned_ms = now;
				log_warn(c->log,
				         "too many open files: cannot open %s (%zu log files open, "
				         "%zu of them in use); raise ulimit -n",
				         path, c->nopen, c->npinned);
			}
		}
		errno = e;
		return -1;
	}
}

int fdc_open_temp(fdc_t *c, const char *path, int flags, mode_t mode)
{
	return open_evicting(c, path, flags, mode);
}

void fdc_close_temp(fdc_t *c, int fd)
{
	if (fd >= 0)
		c->ops.close(c->ops.arg, fd);
}

/* --- files ------------------------------------------------------------------------ */

fdc_file_t *fdc_file_new(fdc_t *c, const char *path, int flags)
{
	fdc_file_t *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->path = strdup(path);
	if (!f->path)
		abort();
	f->c = c;
	f->flags = flags & ~(O_CREAT | O_TRUNC | O_EXCL);
	f->fd = -1;
	f->refs = 1;
	c->refs++;
	c->nfiles++;
	return f;
}

const char *fdc_file_path(const fdc_file_t *f)
{
	return f->path;
}

int fdc_is_open(const fdc_file_t *f)
{
	return f->fd >= 0;
}

void fdc_file_adopt(fdc_file_t *f, int fd)
{
	fdc_t *c = f->c;
	if (f->fd >= 0 || fd < 0)
		abort(); /* a caller bug: the file is open already */
	f->fd = fd;
	c->nopen++;
	if (cacheable(f))
		lru_push(f);
	/* Make room from the other end: this file is the most recent. */
	while (c->nopen > c->cap && c->clean.tail && c->clean.tail != f && evict_clean(c))
		;
}

int fdc_fd(fdc_file_t *f)
{
	fdc_t *c = f->c;
	if (f->fd >= 0) {
		c->hits++;
		if (f->in_lru && list_of(f)->head != f) {
			lru_unlink(f);
			lru_push(f);
		}
		return f->fd;
	}
	while (c->nopen >= c->cap && evict_clean(c))
		;
	int fd = open_evicting(c, f->path, f->flags, 0);
	if (fd < 0)
		return sl_from_errno(errno);
	c->opens++;
	f->fd = fd;
	c->nopen++;
	if (cacheable(f))
		lru_push(f);
	return fd;
}

void fdc_file_drop(fdc_file_t *f)
{
	if (cacheable(f) && !f->dirty)
		close_fd(f);
}

void fdc_pin(fdc_file_t *f)
{
	if (f->pins++ == 0) {
		f->c->npinned++;
		lru_unlink(f);
	}
}

void fdc_unpin(fdc_file_t *f)
{
	if (f->pins <= 0)
		abort(); /* unbalanced */
	if (--f->pins)
		return;
	f->c->npinned--;
	/* Back in the cache, as the most recent; nothing is closed here
	 * (the caller may still use a descriptor of the cache): the next
	 * miss makes room. */
	if (cacheable(f))
		lru_push(f);
}

void fdc_mark_dirty(fdc_file_t *f, int (*flush)(void *arg), void *arg)
{
	f->flush = flush;
	f->flush_arg = arg;
	if (f->dirty)
		return;
	int listed = f->in_lru;
	lru_unlink(f);
	f->dirty = 1;
	f->c->ndirty++;
	if (listed)
		lru_push(f);
}

void fdc_mark_clean(fdc_file_t *f)
{
	if (!f->dirty)
		return;
	int listed = f->in_lru;
	lru_unlink(f);
	f->dirty = 0;
	f->c->ndirty--;
	if (listed)
		lru_push(f);
	fit(f->c);
}

void fdc_file_ref(fdc_file_t *f)
{
	f->refs++;
}

void fdc_file_unref(fdc_file_t *f)
{
	if (!f || --f->refs > 0)
		return;
	fdc_t *c = f->c;
	if (f->fd >= 0)
		close_fd(f);
	if (f->pins)
		c->npinned--;
	if (f->dirty)
		c->ndirty--;
	c->nfiles--;
	free(f->path);
	free(f);
	cache_unref(c);
}

void fdc_file_close(fdc_file_t *f)
{
	if (!f)
		return;
	if (f->refs > 1 && !f->kept) {
		/* Someone still reads it (a queued send): keep it readable
		 * even if the owner unlinks or truncates it next. */
		if (f->fd < 0) {
			int fd = open_evicting(f->c, f->path, f->flags, 0);
			if (fd >= 0) {
				f->fd = fd;
				f->c->nopen++;
			}
		}
		f->kept = 1;
		lru_unlink(f);
	}
	fdc_file_unref(f);
}

/*
 * sluice/errors.h — the error codes shared by sluiced and libsluice.
 *
 * Every function that can fail returns an int: 0 for success, a negative
 * SL_E* code otherwise (parsers additionally return a positive byte count).
 * One X-macro table gives both the enum and sl_strerror(), so a new code is
 * one line. Thread-safe: everything here is constant data.
 */
#ifndef SLUICE_ERRORS_H
#define SLUICE_ERRORS_H

#ifndef SL_API
#define SL_API __attribute__((visibility("default")))
#endif

#define SL_ERRORS(X)                                        \
	X(EAGAIN, -1, "need more input")                    \
	X(EPROTO, -2, "protocol error")                     \
	X(ENOMEM, -3, "out of memory")                      \
	X(EINVAL, -4, "invalid argument")                   \
	X(EIO, -5, "input/output error")                    \
	X(ENOENT, -6, "not found")                          \
	X(EEXIST, -7, "already exists")                     \
	X(ECORRUPT, -8, "corrupt data")                     \
	X(ETOOBIG, -9, "too large")                         \
	X(ENOSPC, -10, "no space left on device")           \
	X(ERANGE, -11, "out of range")                      \
	X(ECLOSED, -12, "closed")                           \
	X(EBUSY, -13, "in use by another process")          \
	X(ESTATE, -14, "operation not valid in this state") \
	X(ETIMEDOUT, -15, "timed out")                      \
	X(EREMOTE, -16, "the server refused the request")   \
	X(ECONF, -17, "invalid configuration")              \
	X(EMFILE, -18, "too many open files")

enum {
	SL_OK = 0,
#define SL_ERR_ENUM(name, code, text) SL_##name = (code),
	SL_ERRORS(SL_ERR_ENUM)
#undef SL_ERR_ENUM
};

/* Returns a static string for an SL_E* code (or "success" for 0). */
SL_API const char *sl_strerror(int err);

#endif

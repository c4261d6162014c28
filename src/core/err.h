/*
 * err.h — sluice's error codes.
 *
 * Every function that can fail returns an int: 0 for success, a negative
 * SL_E* code otherwise. Parsers additionally return a positive byte count.
 * One X-macro table gives both the enum and sl_strerror(), so a new code is
 * one line. Thread-safe: everything here is constant data.
 */
#ifndef SL_CORE_ERR_H
#define SL_CORE_ERR_H

#define SL_ERRORS(X)                               \
	X(EAGAIN, -1, "need more input")           \
	X(EPROTO, -2, "protocol error")            \
	X(ENOMEM, -3, "out of memory")             \
	X(EINVAL, -4, "invalid argument")          \
	X(EIO, -5, "input/output error")           \
	X(ENOENT, -6, "not found")                 \
	X(EEXIST, -7, "already exists")            \
	X(ECORRUPT, -8, "corrupt data")            \
	X(ETOOBIG, -9, "too large")                \
	X(ENOSPC, -10, "no space left on device")  \
	X(ERANGE, -11, "out of range")             \
	X(ECLOSED, -12, "closed")                  \
	X(EBUSY, -13, "in use by another process") \
	X(ESTATE, -14, "operation not valid in this state")

enum {
	SL_OK = 0,
#define SL_ERR_ENUM(name, code, text) SL_##name = (code),
	SL_ERRORS(SL_ERR_ENUM)
#undef SL_ERR_ENUM
};

/* Returns a static string for an SL_E* code (or "success" for 0). */
const char *sl_strerror(int err);

/* Maps an errno value to the closest SL_E* code (ENOSPC/EDQUOT → SL_ENOSPC,
 * ENOENT → SL_ENOENT, anything else → SL_EIO). */
int sl_from_errno(int e);

#endif

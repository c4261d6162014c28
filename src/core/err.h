/*
 * err.h — sluice's error codes.
 *
 * Every function that can fail returns an int: 0 for success, a negative
 * SL_E* code otherwise. Parsers additionally return a positive byte count.
 * The codes themselves live in include/sluice/errors.h, shared with
 * libsluice; one X-macro table gives both the enum and sl_strerror(), so a new code is
 * one line. Thread-safe: everything here is constant data.
 */
#ifndef SL_CORE_ERR_H
#define SL_CORE_ERR_H

#include "sluice/errors.h"

/* Maps an errno value to the closest SL_E* code (ENOSPC/EDQUOT → SL_ENOSPC,
 * ENOENT → SL_ENOENT, EMFILE/ENFILE → SL_EMFILE, anything else → SL_EIO). */
int sl_from_errno(int e);

#endif

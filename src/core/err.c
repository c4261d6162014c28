/* err.c — sl_strerror() and errno mapping; see err.h. */
#include "core/err.h"

#include <errno.h>

const char *sl_strerror(int err)
{
	switch (err) {
	case SL_OK:
		return "success";
#define SL_ERR_CASE(name, code, text) \
	case (code):                  \
		return text;
		SL_ERRORS(SL_ERR_CASE)
#undef SL_ERR_CASE
	}
	return "unknown error";
}

int sl_from_errno(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return SL_ENOSPC;
	case ENOENT:
		return SL_ENOENT;
	case ENOMEM:
		return SL_ENOMEM;
	case EEXIST:
		return SL_EEXIST;
	case EINVAL:
		return SL_EINVAL;
	case EMFILE:
	case ENFILE:
		return SL_EMFILE;
	default:
		return SL_EIO;
	}
}

/* err: error codes and messages (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

enum mk_code
mk_fail(struct mk_err *err, enum mk_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *
mk_code_name(enum mk_code code)
{
	switch (code) {
	case MK_OK: return "ok";
	case MK_ERR_NOMEM: return "out of memory";
	case MK_ERR_INVALID: return "invalid body";
	case MK_ERR_QUERY: return "invalid query";
	case MK_ERR_URI: return "invalid uri";
	case MK_ERR_UNAUTH: return "unauthorized";
	case MK_ERR_SCOPE: return "insufficient scope";
	case MK_ERR_FORBIDDEN: return "forbidden";
	case MK_ERR_NOTFOUND: return "not found";
	case MK_ERR_EXISTS: return "exists";
	case MK_ERR_PRECOND: return "precondition failed";
	case MK_ERR_TOOBIG: return "too big";
	case MK_ERR_FULL: return "store full";
	case MK_ERR_RATE: return "rate limited";
	case MK_ERR_BUSY: return "busy";
	case MK_ERR_INTERNAL: return "internal";
	}
	return "unknown";
}

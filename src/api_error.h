/*
 * api_error: the status and Auth0-style error body of a failed request
 * (spec section 2).  Private to the api files.
 */
#ifndef MK_API_ERROR_H
#define MK_API_ERROR_H

#include "api.h"
#include "api_ctx.h"
#include "err.h"

/*
 * Replace whatever rs holds with the error body {statusCode, error,
 * message[, errorCode]}; errcode may be NULL.  Out of memory: a fixed 500
 * body.  Headers already in rs (Allow, Retry-After, rate limits) stay.
 */
void api_error(struct http_resp *rs, int status, const char *errcode, const char *msg);

/*
 * The answer to e->code: its status, errorCode and message (e->msg, or
 * Auth0's fixed wording where it has one, as for a 404 of the resource
 * res).  MK_ERR_INTERNAL and MK_ERR_NOMEM are logged and answered 500
 * without their message; MK_ERR_BUSY and MK_ERR_FULL add Retry-After.
 */
void api_fail(struct http_resp *rs, const struct mk_err *e, enum api_res res);

#endif

/*
 * err: the one error vocabulary of metakeep.
 *
 * Lower layers (jx, meta, model, store, auth, svc) return an enum mk_code and,
 * where the caller may show it to a client, a message in a struct mk_err.  They
 * never know about HTTP: the api layer is the one place that maps a code to a
 * status line and an Auth0-style error body.
 */
#ifndef MK_ERR_H
#define MK_ERR_H

#include <stddef.h>

enum mk_code {
	MK_OK = 0,
	MK_ERR_NOMEM,    /* allocation failed */
	MK_ERR_INVALID,  /* a body breaks a rule: 400 invalid_body */
	MK_ERR_QUERY,    /* bad query string: 400 invalid_query_string */
	MK_ERR_URI,      /* undecodable path id: 400 invalid_uri */
	MK_ERR_UNAUTH,   /* missing or unknown token: 401 */
	MK_ERR_SCOPE,    /* token lacks a scope: 403 insufficient_scope */
	MK_ERR_FORBIDDEN,/* other 403 (subject mismatch) */
	MK_ERR_NOTFOUND, /* record does not exist: 404 */
	MK_ERR_EXISTS,   /* unique key taken: 409 */
	MK_ERR_PRECOND,  /* If-Match mismatch: 412 */
	MK_ERR_TOOBIG,   /* request body over the limit: 413 */
	MK_ERR_FULL,     /* store full (map full, at its maximum): 503 */
	MK_ERR_RATE,     /* the caller's rate limit is reached: 429 too_many_requests */
	MK_ERR_BUSY,     /* too many heavy requests at once: 429, retry soon */
	MK_ERR_INTERNAL, /* anything else: 500, details only in the log */
};

/* Message length: long enough to name a few offending properties. */
#define MK_ERR_MSG 512

struct mk_err {
	enum mk_code code;
	char msg[MK_ERR_MSG];
};

/*
 * Record a failure: sets err->code and formats err->msg (truncated to fit).
 * err may be NULL.  Returns code, so callers can write
 *     return mk_fail(err, MK_ERR_INVALID, "Payload validation error: ...");
 */
enum mk_code mk_fail(struct mk_err *err, enum mk_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A short fixed name for a code, for logs ("invalid", "not found", ...). */
const char *mk_code_name(enum mk_code code);

#endif

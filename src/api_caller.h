/*
 * api_caller: who calls, apart from the token: the client's address, its
 * rate-limit bucket, and the template of the call's log event.  Private to
 * the api files.
 */
#ifndef MK_API_CALLER_H
#define MK_API_CALLER_H

#include "api.h"
#include "api_ctx.h"
#include "auth.h"
#include "err.h"

#define API_IP_MAX 64      /* an address, as the log and the limits keep it */

/*
 * The client's address into out: REMOTE_ADDR, or behind trusted proxies
 * the address the first of them saw (X-Forwarded-For).  "" when unknown.
 */
void api_client_ip(const struct api_conf *conf, const struct http_req *rq,
    char out[API_IP_MAX]);

/*
 * Take one request from the caller's bucket (tok's, or the address's when
 * tok is NULL) and add Auth0's x-ratelimit-* headers to rs.  Returns MK_OK,
 * or MK_ERR_RATE with Retry-After in rs and err set when the bucket is
 * empty.  Without rate limits (conf->rl NULL): MK_OK, no headers.
 */
enum mk_code api_rate(const struct api_conf *conf, const struct http_req *rq,
    const struct auth_token *tok, struct http_resp *rs, struct mk_err *err);

/*
 * The template of this call's log event into c->ev; desc is Auth0's
 * description of the route.  Returns MK_OK or MK_ERR_NOMEM (c->err set).
 */
enum mk_code api_log_template(struct api_ctx *c, const char *desc);

#endif

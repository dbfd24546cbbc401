/*
 * api_caller: what the API knows of who calls it, apart from the token:
 * the client's address (REMOTE_ADDR, or X-Forwarded-For behind trusted
 * proxies), its rate-limit bucket and Auth0's rate-limit headers, and the
 * template of the call's log event (logev.h).
 */
#include "api_caller.h"

#include <stdio.h>
#include <string.h>

#include "logev.h"
#include "ratelimit.h"
#include "util.h"

#define API_XFF_MAX 32     /* X-Forwarded-For entries looked at */

/* Is the address a[0..n-1] one of the trusted proxies? */
static int
trusted_proxy(const char *list, const char *a, size_t n)
{
	const char *p = list, *e;

	while (list != NULL && *p != '\0') {
		p += strspn(p, ", \t");
		e = p + strcspn(p, ", \t");
		if (e > p && (size_t)(e - p) == n && memcmp(p, a, n) == 0)
			return 1;
		p = e;
	}
	return 0;
}

/*
 * The client's address into out: REMOTE_ADDR, unless that is a trusted
 * proxy with an X-Forwarded-For; then the rightmost address of it that is
 * not a trusted proxy (the one the first trusted proxy saw), or its
 * leftmost when all are.  Whatever a client writes there is believed only
 * as far as trusted proxies pass it on.  "" when unknown.
 */
void
api_client_ip(const struct api_conf *conf, const struct http_req *rq, char out[API_IP_MAX])
{
	const char *ra = rq->remote_addr ? rq->remote_addr : "", *x = rq->forwarded_for;
	const char *end, *b, *e, *pick = NULL;
	size_t pn = 0, k;

	snprintf(out, API_IP_MAX, "%s", ra);
	if (x == NULL || !trusted_proxy(conf->trusted_proxies, ra, strlen(ra)))
		return;
	/* From the right: the entries the trusted proxies appended. */
	end = x + strlen(x);
	for (k = 0; k < API_XFF_MAX && end > x; k++) {
		e = end;
		while (e > x && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		b = e;
		while (b > x && b[-1] != ',')
			b--;
		end = b > x ? b - 1 : x;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		if (b == e)
			continue;
		pick = b;
		pn = (size_t)(e - b);
		if (!trusted_proxy(conf->trusted_proxies, b, pn))
			break;
	}
	if (pick != NULL && pn < API_IP_MAX)
		snprintf(out, API_IP_MAX, "%.*s", (int)pn, pick);
}

/*
 * The rate limit (spec 7): take a token from the caller's bucket, reads
 * (GET) and writes apart, and put Auth0's three headers on the answer.
 * The caller is the token (for an access token from /oauth/token, its
 * client); a request without a valid one, and one to /oauth/token, is
 * counted against its address, so guessing tokens or secrets is limited
 * too.  MK_ERR_RATE
 * (429, with Retry-After) when the bucket is empty.  No limits: MK_OK and
 * no headers.
 */
enum mk_code
api_rate(const struct api_conf *conf, const struct http_req *rq, const struct auth_token *tok,
    struct http_resp *rs, struct mk_err *err)
{
	struct ratelimit_result r;
	char key[AUTH_CLIENT_MAX + 64], ip[API_IP_MAX];
	int n, write = rq->method != NULL && strcmp(rq->method, "GET") != 0;

	if (conf->rl == NULL)
		return MK_OK;
	/*
	 * A bucket per caller and class: "r" or "w", then the token, the client
	 * an access token was issued to (its tokens share one), or the address.
	 */
	if (tok != NULL && tok->id[0] == '\0' && tok->client_id[0] != '\0')
		n = snprintf(key, sizeof(key), "%cc:%.200s", write ? 'w' : 'r', tok->client_id);
	else if (tok != NULL)
		n = snprintf(key, sizeof(key), "%ct:%s", write ? 'w' : 'r', tok->id);
	else {
		api_client_ip(conf, rq, ip);
		n = snprintf(key, sizeof(key), "%ca:%s", write ? 'w' : 'r', ip);
	}
	if (n < 0 || (size_t)n >= sizeof(key))
		n = (int)strlen(key);
	ratelimit_take(conf->rl, key, (size_t)n, write ? &conf->rate_write : &conf->rate_read,
	    mk_now_ms(), &r);
	buf_printf(&rs->headers, "x-ratelimit-limit: %u\r\nx-ratelimit-remaining: %u\r\n"
	    "x-ratelimit-reset: %lld\r\n", r.limit, r.remaining, (long long)r.reset_s);
	if (r.allowed)
		return MK_OK;
	buf_printf(&rs->headers, "Retry-After: %u\r\n", r.retry_after_s);
	return mk_fail(err, MK_ERR_RATE, "Global limit has been reached");
}

/*
 * The template of this call's log event (logev.h) into c->ev: the caller
 * (a token: its id), where from, what it asked.  desc: Auth0's wording, or
 * NULL for a failed call before its route was known.  MK_ERR_NOMEM.
 */
enum mk_code
api_log_template(struct api_ctx *c, const char *desc)
{
	struct logev_call call;
	char scopes[1024], path[2048], ip[API_IP_MAX];
	const char *uri = c->rq->uri ? c->rq->uri : "", *qm = strchr(uri, '?');

	memset(&call, 0, sizeof(call));
	snprintf(path, sizeof(path), "%.*s", (int)(qm ? (size_t)(qm - uri) : strlen(uri)), uri);
	scopes[0] = '\0';
	/* The caller: an opaque token's id, or the client of an access token. */
	if (c->tok.id[0] != '\0' || c->tok.client_id[0] != '\0') {
		auth_scopes_format(c->tok.scopes, " ", scopes, sizeof(scopes));
		call.client_id = c->tok.id[0] != '\0' ? c->tok.id : c->tok.client_id;
		call.scopes = scopes;
	}
	call.method = c->rq->method;
	call.path = path;
	call.query = c->query != NULL && c->query[0] != '\0' ? c->query : NULL;
	api_client_ip(c->conf, c->rq, ip);
	call.ip = ip[0] != '\0' ? ip : NULL;
	call.user_agent = c->rq->user_agent;
	call.body = c->body;
	call.description = desc;
	if (logev_template(&call, &c->ev) != MK_OK)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	return MK_OK;
}

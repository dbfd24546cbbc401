/*
 * api_oauth: POST /oauth/token and GET /.well-known/jwks.json (see
 * api_oauth.h).  The token request's parameters come from a JSON object
 * or a form (application/x-www-form-urlencoded), each into a bounded
 * buffer of one table row; the client authenticates in the body or with
 * HTTP Basic (RFC 6749 2.3.1), never both.
 */
#include "api_oauth.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "grant.h"
#include "jwt.h"
#include "jx.h"
#include "keys.h"
#include "oauth.h"
#include "util.h"

#define GRANT_TYPE_MAX 128

struct tok_params {
	char grant_type[GRANT_TYPE_MAX];
	char client_id[AUTH_CLIENT_MAX];
	char client_secret[OAUTH_SECRET_MAX + 1];
	char audience[GRANT_AUDIENCE_MAX];
	char scope[OAUTH_SCOPE_MAX];
	unsigned int seen;          /* bit i: param i was sent */
};

/* The parameters read, one row each. */
static const struct tok_param {
	const char *name;
	size_t off, size;
} tok_params[] = {
	{ "grant_type", offsetof(struct tok_params, grant_type), GRANT_TYPE_MAX },
	{ "client_id", offsetof(struct tok_params, client_id), AUTH_CLIENT_MAX },
	{ "client_secret", offsetof(struct tok_params, client_secret), OAUTH_SECRET_MAX + 1 },
	{ "audience", offsetof(struct tok_params, audience), GRANT_AUDIENCE_MAX },
	{ "scope", offsetof(struct tok_params, scope), OAUTH_SCOPE_MAX },
};
#define NPARAMS (sizeof(tok_params) / sizeof(tok_params[0]))
enum { P_GRANT_TYPE, P_CLIENT_ID, P_CLIENT_SECRET, P_AUDIENCE, P_SCOPE };

/* Answer an OAuth error: {"error":..., "error_description":...}.  MK_OK. */
static enum mk_code
oauth_error(struct api_ctx *c, int status, const char *error, const char *desc)
{
	struct json_object *o;
	const char *text;
	size_t n;

	buf_reset(&c->rs->body);
	if ((o = json_object_new_object()) == NULL)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "error_description", json_object_new_string(desc));
	if ((text = jx_text(o, &n)) != NULL)
		buf_add(&c->rs->body, text, n);
	json_object_put(o);
	if (text == NULL || c->rs->body.failed)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	c->rs->status = status;
	buf_adds(&c->rs->headers, "Cache-Control: no-store\r\nPragma: no-cache\r\n");
	return MK_OK;
}

static enum mk_code
bad_param(struct api_ctx *c, const char *why, const char *name)
{
	char d[160];

	snprintf(d, sizeof(d), "%s: %s", why, name);
	return oauth_error(c, 400, "invalid_request", d);
}

/* The members of a JSON body (strings; others ignored as Auth0 does). */
static enum mk_code
params_json(struct api_ctx *c, struct tok_params *tp, int *answered)
{
	struct json_object *o = NULL, *v;
	struct mk_err e;
	size_t i, n;
	enum mk_code rc = MK_OK;

	*answered = 1;
	if (jx_parse(c->rq->body, c->rq->body_len, 4, &o, &e) != MK_OK ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return oauth_error(c, 400, "invalid_request", "The body is not a JSON object.");
	}
	for (i = 0; i < NPARAMS; i++) {
		if (!json_object_object_get_ex(o, tok_params[i].name, &v) ||
		    json_object_is_type(v, json_type_null))
			continue;
		if (!json_object_is_type(v, json_type_string)) {
			rc = bad_param(c, "Invalid type of parameter", tok_params[i].name);
			goto out;
		}
		n = (size_t)json_object_get_string_len(v);
		if (n >= tok_params[i].size || strlen(json_object_get_string(v)) != n) {
			rc = bad_param(c, "Invalid value of parameter", tok_params[i].name);
			goto out;
		}
		memcpy((char *)tp + tok_params[i].off, json_object_get_string(v), n + 1);
		tp->seen |= 1u << i;
	}
	*answered = 0;
out:
	json_object_put(o);
	return rc;
}

/* The fields of a form body (a query string's format, '+' for space). */
static enum mk_code
params_form(struct api_ctx *c, struct tok_params *tp, int *answered)
{
	char form[API_OAUTH_BODY_MAX + 1], *out;
	size_t i;
	int r;

	*answered = 1;
	if (c->rq->body_len > API_OAUTH_BODY_MAX ||
	    memchr(c->rq->body, '\0', c->rq->body_len) != NULL)
		return oauth_error(c, 400, "invalid_request", "The form does not decode.");
	memcpy(form, c->rq->body, c->rq->body_len);
	form[c->rq->body_len] = '\0';
	for (i = 0; i < NPARAMS; i++) {
		out = (char *)tp + tok_params[i].off;
		r = api_query_get(form, tok_params[i].name, out, tok_params[i].size);
		if (r < 0 || (r > 0 && strlen(out) >= tok_params[i].size))
			return bad_param(c, "Invalid value of parameter", tok_params[i].name);
		if (r > 0)
			tp->seen |= 1u << i;
	}
	*answered = 0;
	return MK_OK;
}

/*
 * HTTP Basic client authentication: base64 of the form-encoded client_id,
 * ':', and the form-encoded secret (RFC 6749 2.3.1), into id and secret
 * (AUTH_CLIENT_MAX and OAUTH_SECRET_MAX + 1 bytes).  Returns 1, 0 when the
 * request has no Basic credentials, -1 when they do not decode.
 */
static int
basic_auth(const char *h, char *id, char *secret)
{
	char b64[1024];
	unsigned char raw[768];
	const char *colon;
	size_t n, i;
	ssize_t len, a, b;

	if (h == NULL)
		return 0;
	h += strspn(h, " \t");
	if (strncasecmp(h, "Basic", 5) != 0 || (h[5] != ' ' && h[5] != '\t'))
		return 0;
	h += 5;
	h += strspn(h, " \t");
	n = strcspn(h, " \t=");
	if (n == 0 || n >= sizeof(b64))
		return -1;
	/* Standard base64 to base64url (the url-safe characters made invalid). */
	for (i = 0; i < n; i++)
		b64[i] = h[i] == '+' ? '-' : h[i] == '/' ? '_' : h[i] == '-' || h[i] == '_' ?
		    '!' : h[i];
	if ((len = jwt_b64url_decode(b64, n, raw, sizeof(raw) - 1)) <= 0)
		return -1;
	raw[len] = '\0';
	if (memchr(raw, '\0', (size_t)len) != NULL ||
	    (colon = memchr(raw, ':', (size_t)len)) == NULL)
		return -1;
	a = api_pct_decode((const char *)raw, (size_t)(colon - (const char *)raw), 1, id,
	    AUTH_CLIENT_MAX);
	b = api_pct_decode(colon + 1, (size_t)((const char *)raw + len - colon - 1), 1, secret,
	    OAUTH_SECRET_MAX + 1);
	if (a <= 0 || b < 0 || strlen(id) != (size_t)a || strlen(secret) != (size_t)b)
		return -1;
	return 1;
}

/* The 200 answer: Auth0's members, in its order. */
static enum mk_code
token_answer(struct api_ctx *c, const struct oauth_result *r)
{
	struct json_object *o;
	const char *text;
	size_t n;

	buf_reset(&c->rs->body);
	if ((o = json_object_new_object()) == NULL)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	json_object_object_add(o, "access_token",
	    json_object_new_string_len(r->token->p, (int)r->token->n));
	json_object_object_add(o, "scope", json_object_new_string(r->scope));
	json_object_object_add(o, "expires_in", json_object_new_int64(r->expires_in));
	json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
	if ((text = jx_text(o, &n)) != NULL)
		buf_add(&c->rs->body, text, n);
	json_object_put(o);
	if (text == NULL || c->rs->body.failed)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	c->rs->status = 200;
	buf_adds(&c->rs->headers, "Cache-Control: no-store\r\nPragma: no-cache\r\n");
	return MK_OK;
}

enum mk_code
api_oauth_token(struct api_ctx *c)
{
	static struct tok_params tp;   /* a few kB: not on the stack */
	static char bid[AUTH_CLIENT_MAX], bsecret[OAUTH_SECRET_MAX + 1];
	struct mk_buf token = MK_BUF_INIT;
	struct oauth_result r;
	struct oauth_req rq;
	char d[GRANT_AUDIENCE_MAX + 160];
	int answered, basic;
	enum mk_code rc;

	memset(&tp, 0, sizeof(tp));
	if (c->rq->body_too_big || c->rq->body_len > API_OAUTH_BODY_MAX) {
		snprintf(d, sizeof(d), "The request body is larger than %d bytes.",
		    API_OAUTH_BODY_MAX);
		return oauth_error(c, 413, "invalid_request", d);
	}
	if (c->rq->body == NULL || c->rq->body_len == 0)
		return oauth_error(c, 400, "invalid_request",
		    "Missing required parameter: grant_type");
	if (api_content_type(c->rq->content_type, "application/json"))
		rc = params_json(c, &tp, &answered);
	else if (api_content_type(c->rq->content_type, "application/x-www-form-urlencoded"))
		rc = params_form(c, &tp, &answered);
	else
		return oauth_error(c, 400, "invalid_request", "Content-Type must be "
		    "application/json or application/x-www-form-urlencoded.");
	if (rc != MK_OK || answered)
		return rc;
	if ((basic = basic_auth(c->rq->authorization, bid, bsecret)) < 0)
		return oauth_error(c, 401, "invalid_client",
		    "The Basic authorization header does not decode.");
	if (basic > 0) {
		/* One method only (RFC 6749 2.3); a client_id in the body must agree. */
		if (tp.seen & (1u << P_CLIENT_SECRET))
			return oauth_error(c, 400, "invalid_request",
			    "Use one client authentication method, not both.");
		if ((tp.seen & (1u << P_CLIENT_ID)) && strcmp(tp.client_id, bid) != 0)
			return oauth_error(c, 400, "invalid_request",
			    "The client_id differs from the one of the Basic credentials.");
		memcpy(tp.client_id, bid, sizeof(tp.client_id));
		memcpy(tp.client_secret, bsecret, sizeof(tp.client_secret));
		tp.seen |= 1u << P_CLIENT_ID | 1u << P_CLIENT_SECRET;
	}

	if (!(tp.seen & (1u << P_GRANT_TYPE)) || tp.grant_type[0] == '\0')
		return oauth_error(c, 400, "invalid_request",
		    "Missing required parameter: grant_type");
	if (strcmp(tp.grant_type, "client_credentials") != 0) {
		snprintf(d, sizeof(d), "Unsupported grant type: %.100s", tp.grant_type);
		return oauth_error(c, 400, "unsupported_grant_type", d);
	}
	if (!(tp.seen & (1u << P_CLIENT_ID)) || tp.client_id[0] == '\0')
		return oauth_error(c, 401, "invalid_client", "Missing client_id");
	if (!(tp.seen & (1u << P_AUDIENCE)) || tp.audience[0] == '\0')
		return oauth_error(c, 403, "access_denied",
		    "Non-global clients are not allowed access to APIv1");
	if (strcmp(tp.audience, c->audience) != 0) {
		snprintf(d, sizeof(d), "Service not found: %s", tp.audience);
		return oauth_error(c, 403, "access_denied", d);
	}

	memset(&rq, 0, sizeof(rq));
	rq.client_id = tp.client_id;
	rq.client_secret = tp.client_secret;
	rq.audience = tp.audience;
	rq.scope = tp.seen & (1u << P_SCOPE) ? tp.scope : NULL;
	rq.issuer = c->issuer;
	rq.now_ms = mk_now_ms();
	memset(&r, 0, sizeof(r));
	r.token = &token;
	if ((rc = oauth_issue(c->s, &rq, &r, &c->err)) != MK_OK)
		goto out;
	switch (r.outcome) {
	case OAUTH_ISSUED:
		rc = token_answer(c, &r);
		break;
	case OAUTH_BAD_CLIENT:
		if (basic)
			buf_adds(&c->rs->headers, "WWW-Authenticate: Basic realm=\"metakeep\"\r\n");
		rc = oauth_error(c, 401, "access_denied", "Unauthorized");
		break;
	case OAUTH_NO_GRANT:
		snprintf(d, sizeof(d), "Client is not authorized to access \"%s\". You need to "
		    "create a \"client-grant\" associated to this API.", tp.audience);
		rc = oauth_error(c, 403, "access_denied", d);
		break;
	case OAUTH_SCOPE_DENIED:
		snprintf(d, sizeof(d), "Client has not been granted scopes: %.200s", r.detail);
		rc = oauth_error(c, 403, "access_denied", d);
		break;
	case OAUTH_FAILED:
		rc = mk_fail(&c->err, MK_ERR_INTERNAL, "issuing a token failed");
		break;
	}
out:
	OPENSSL_cleanse(bsecret, sizeof(bsecret));
	OPENSSL_cleanse(tp.client_secret, sizeof(tp.client_secret));
	if (token.p != NULL)
		OPENSSL_cleanse(token.p, token.n);
	buf_free(&token);
	return rc;
}

enum mk_code
api_oauth_jwks(struct api_ctx *c)
{
	enum mk_code rc;

	buf_reset(&c->rs->body);
	if ((rc = keys_jwks(c->rtx, &c->rs->body)) != MK_OK)
		return mk_fail(&c->err, rc, "the key set failed");
	c->rs->status = 200;
	return MK_OK;
}

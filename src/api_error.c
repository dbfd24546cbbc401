/*
 * api_error: HTTP status lines and the Auth0-style error bodies (spec
 * section 2): every mk_code a handler or the router returns becomes one
 * status, one errorCode and one message here, and nowhere else.
 */
#include "api_error.h"

#include <json-c/json.h>

#include "api.h"
#include "jx.h"
#include "log.h"

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}

void
api_error(struct http_resp *rs, int status, const char *errcode, const char *msg)
{
	struct json_object *o = json_object_new_object();
	const char *text;
	size_t len;

	buf_reset(&rs->body);
	rs->status = status;
	if (o == NULL)
		goto fallback;
	json_object_object_add(o, "statusCode", json_object_new_int(status));
	json_object_object_add(o, "error", json_object_new_string(http_reason(status)));
	json_object_object_add(o, "message", json_object_new_string(msg));
	if (errcode != NULL)
		json_object_object_add(o, "errorCode", json_object_new_string(errcode));
	text = jx_text(o, &len);
	if (text != NULL)
		buf_add(&rs->body, text, len);
	json_object_put(o);
	if (!rs->body.failed && rs->body.n > 0)
		return;
fallback:
	rs->status = 500;
	buf_reset(&rs->body);
	buf_adds(&rs->body, "{\"statusCode\":500,\"error\":\"Internal Server Error\","
	    "\"message\":\"Internal error\"}");
}

void
api_fail(struct http_resp *rs, const struct mk_err *e, enum api_res res)
{
	switch (e->code) {
	case MK_OK:
	case MK_ERR_INTERNAL:
	case MK_ERR_NOMEM:
		log_warnx("internal error: %s", e->msg);
		api_error(rs, 500, NULL, "Internal error");
		break;
	case MK_ERR_INVALID:
		api_error(rs, 400, "invalid_body", e->msg);
		break;
	case MK_ERR_QUERY:
		api_error(rs, 400, "invalid_query_string", e->msg);
		break;
	case MK_ERR_URI:
		api_error(rs, 400, "invalid_uri", e->msg);
		break;
	case MK_ERR_UNAUTH:
		api_error(rs, 401, NULL, e->msg);
		break;
	case MK_ERR_SCOPE:
		api_error(rs, 403, "insufficient_scope", e->msg);
		break;
	case MK_ERR_FORBIDDEN:
		api_error(rs, 403, NULL, e->msg);
		break;
	case MK_ERR_NOTFOUND:
		if (res == API_RES_USER)
			api_error(rs, 404, "inexistent_user", "The user does not exist.");
		else if (res == API_RES_LOG)
			api_error(rs, 404, "inexistent_log", "The log does not exist.");
		else if (res == API_RES_CLIENT)
			api_error(rs, 404, "inexistent_client", "The client does not exist.");
		else
			api_error(rs, 404, "inexistent_client_grant",
			    "The client grant does not exist.");
		break;
	case MK_ERR_EXISTS:
		api_error(rs, 409, res == API_RES_GRANT ? "client_grant_conflict" :
		    "auth0_idp_error", e->msg);
		break;
	case MK_ERR_PRECOND:
		api_error(rs, 412, "precondition_failed", e->msg);
		break;
	case MK_ERR_TOOBIG:
		api_error(rs, 413, "payload_too_large", e->msg);
		break;
	case MK_ERR_RATE:
		api_error(rs, 429, "too_many_requests", e->msg);
		break;
	case MK_ERR_BUSY:
		buf_adds(&rs->headers, "Retry-After: 1\r\n");
		api_error(rs, 429, "too_many_requests", e->msg);
		break;
	case MK_ERR_FULL:
		log_warnx("store full: %s", e->msg);
		buf_adds(&rs->headers, "Retry-After: 30\r\n");
		/* store's message: sizes and the setting to change, no path. */
		api_error(rs, 503, NULL, e->msg[0] != '\0' ? e->msg :
		    "The store is full.");
		break;
	}
}

/*
 * admin_ctx: what the admin router (admin.c) hands a page's handler
 * (admin_users.c, admin_clients.c, admin_tokens.c), and the pieces they
 * share: the form, the session, calling the API as the session, the page
 * frame and HTML escaping (admin_html.c), redirects and error pages.
 * Private to the admin files.
 */
#ifndef MK_ADMIN_CTX_H
#define MK_ADMIN_CTX_H

#include <stdint.h>

#include <json-c/json.h>

#include "admin.h"
#include "api.h"
#include "api_ctx.h"
#include "auth.h"
#include "buf.h"

#define ADMIN_BASE_MAX 256         /* the mount path, bytes */
#define ADMIN_CSRF_LEN 43          /* random url-safe characters */
#define ADMIN_SID_LEN 43           /* the cookie's session id */
#define ADMIN_SESSION_MS ((int64_t)8 * 3600 * 1000)   /* a session lives 8 h */
#define ADMIN_PER_PAGE 20          /* users or clients per list page */
#define ADMIN_NOTE_MAX 512

struct admin_ctx {
	struct store *s;
	const struct api_conf *conf;
	const struct http_req *rq;
	struct http_resp *rs;
	char base[ADMIN_BASE_MAX];  /* the admin page's mount: "/admin", "/x/admin" */
	const char *query;          /* raw query string, "" when none */
	char arg[API_ID_MAX + 1];   /* the route's decoded {id}, "" when none */
	char *form;                 /* the POST body, NUL-terminated (owned), or NULL */
	/* the session (admin_session.c) */
	int signed_in;
	struct auth_token tok;      /* the session's token, checked on this request */
	char sid_hash[AUTH_HASH_LEN + 1];
	char csrf[ADMIN_CSRF_LEN + 1];
	int64_t exp_ms;
	char note[ADMIN_NOTE_MAX];  /* a message for the page ("" none) */
};

typedef void (*admin_handler)(struct admin_ctx *c);

/* ---- admin.c ---- */

/*
 * One API request as the session: method, uri (under /api/v2/, with its
 * query), body (JSON text or NULL), if_match (or NULL).  *status gets the
 * API's status; *out the parsed answer (owned by the caller; NULL when the
 * body is empty or not JSON); etag (may be NULL, 128 bytes) the ETag
 * header's value, "" when none.  Eight parameters: the HTTP request it
 * makes (four) and its answer (three), each a plain value at every caller.
 */
void admin_api(struct admin_ctx *c, const char *method, const char *uri, const char *body,
    const char *if_match, int *status, struct json_object **out, char *etag);

/*
 * GET /api/v2/<coll>/<c->arg> as the session: the API's status, the record
 * in *out (owned; NULL when none) and its ETag in etag (128 bytes, may be
 * NULL).
 */
int admin_get_record(struct admin_ctx *c, const char *coll, struct json_object **out,
    char *etag);

/* After a save: 303 to <coll>/<c->arg>?saved=1. */
void admin_redirect_saved(struct admin_ctx *c, const char *coll);

/* The message of an API error answer, or a fallback. */
const char *admin_api_message(struct json_object *ans);

/*
 * A form field (POST body) or query parameter, decoded; NULL when absent or
 * badly encoded.  The returned string is owned by the caller (free).
 */
char *admin_form(struct admin_ctx *c, const char *name);
char *admin_param(struct admin_ctx *c, const char *name);

/*
 * The PATCH value of a metadata editor: the root keys of edit (an object)
 * that differ from orig's (their value) and those orig has and edit has
 * not (null), the API's root merge.  *out is NULL when nothing changed;
 * values are shared with edit (reference counted).  MK_ERR_NOMEM.
 */
enum mk_code admin_meta_diff(struct json_object *orig, struct json_object *edit,
    struct json_object **out);

/*
 * Check a client's JWT (a session's) as the API checks a bearer token, with
 * this request's issuer and audience, in read transaction t: *out is the
 * caller.  auth_check's errors.
 */
enum mk_code admin_check_jwt(struct admin_ctx *c, struct store_txn *t, const char *jwt,
    struct auth_token *out, struct mk_err *err);

/* 1 when the session holds any of want. */
int admin_may(const struct admin_ctx *c, uint32_t want);

/* 303 to base + path (path starts with "/"; copied as given). */
void admin_redirect(struct admin_ctx *c, const char *path);

/* A whole error page: status, title and a sentence (escaped here). */
void admin_error(struct admin_ctx *c, int status, const char *title, const char *msg);

/* ---- admin_html.c ---- */

/* Append s HTML-escaped (& < > " '). */
void adm_esc(struct mk_buf *b, const char *s);
/* Append s percent-encoded for a path segment or a query value. */
void adm_url(struct mk_buf *b, const char *s);
/* The page's start: doctype, head, the header with the navigation, <main>. */
void adm_head(struct admin_ctx *c, const char *title);
/* The page's end. */
void adm_foot(struct admin_ctx *c);
/* The hidden CSRF field of a form. */
void adm_csrf_field(struct admin_ctx *c);
/* c->note as a status message, when set. */
void adm_note(struct admin_ctx *c);
/* JSON text of o, indented for an editor (o may be NULL: "{}"). */
void adm_json_pretty(struct mk_buf *b, struct json_object *o);

/* adm_json_pretty, HTML-escaped (for a textarea, a <pre> or an attribute). */
void adm_esc_json(struct mk_buf *b, struct json_object *o);

/* The embedded assets: name ("admin.css"), content type, bytes. */
struct adm_asset {
	const char *name;
	const char *type;
	const char *text;
};
const struct adm_asset *adm_asset_find(const char *name, size_t n);

/* ---- admin_session.c ---- */

/* Read the session cookie; sets c->signed_in and the session's fields. */
void adm_session_load(struct admin_ctx *c);
/*
 * Start a session for the token whose key is tok_hash, or for the JWT jwt
 * (a client's, from POST /oauth/token; one of the two NULL), checked by the
 * caller: store it and add its Set-Cookie.  MK_OK or the store's error.
 */
enum mk_code adm_session_start(struct admin_ctx *c, const char *tok_hash, const char *jwt,
    int64_t tok_exp, struct mk_err *err);
/* End the session: delete it and clear the cookie. */
void adm_session_end(struct admin_ctx *c);
/* 1 when the form's csrf field is the session's (constant time). */
int adm_session_csrf_ok(struct admin_ctx *c);
/* The sign-in form's own CSRF pair: a cookie, and the same value in the form. */
void adm_login_csrf_new(struct admin_ctx *c, char out[ADMIN_CSRF_LEN + 1]);
int adm_login_csrf_ok(struct admin_ctx *c);

/* ---- the pages ---- */
void admin_users_list(struct admin_ctx *c);
void admin_users_show(struct admin_ctx *c);
void admin_users_save(struct admin_ctx *c);
void admin_users_delete_ask(struct admin_ctx *c);
void admin_users_delete(struct admin_ctx *c);
void admin_clients_list(struct admin_ctx *c);
void admin_clients_show(struct admin_ctx *c);
void admin_clients_save(struct admin_ctx *c);
void admin_tokens_list(struct admin_ctx *c);
void admin_tokens_revoke(struct admin_ctx *c);

#endif

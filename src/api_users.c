/*
 * api_users: the user handlers (see api_users.h).  Reads come straight from
 * the request's read transaction (the stored bytes are the answer); writes
 * go to svc, which checks the record's rules in its own write transaction.
 */
#include "api_users.h"

#include <ctype.h>
#include <string.h>

#include "model.h"
#include "query.h"
#include "sindex.h"
#include "slots.h"

/*
 * sindex's heavy hook: a search past search_heavy units goes on only with
 * one of the pool's search slots, so heavy searches never hold every
 * worker (429 with Retry-After when all are taken).
 */
static enum mk_code
search_heavy(void *hctx, struct mk_err *err)
{
	struct slots *s = hctx;

	if (slots_take(s))
		return MK_OK;
	return mk_fail(err, MK_ERR_BUSY, "Too many expensive searches are running at "
	    "once (search_slots: %u). Retry in a moment, or narrow the query with a "
	    "selective term so that it is not expensive.", s->n);
}

/*
 * GET /users: the listing, or with q= a search (spec 6: exact, no result
 * limit; total is the number of matches).
 */
enum mk_code
api_users_list(struct api_ctx *c)
{
	struct api_fields f;
	struct api_list ls;
	struct api_paging pq;
	struct mk_buf *out = &c->rs->body;
	struct store_page pg;
	struct sindex_req sr;
	size_t total = 0;
	struct query *q = NULL;
	enum mk_code rc;

	if ((rc = api_query_paging(c->query, &pq, &c->err)) != MK_OK ||
	    (rc = api_query_sort(c->query, &pg, &c->err)) != MK_OK ||
	    (rc = api_query_fields(c->query, &f, &c->err)) != MK_OK ||
	    (rc = api_query_search(c->query, &q, &c->err)) != MK_OK)
		return rc;
	pg.skip = pq.skip;
	pg.limit = (size_t)pq.per_page;
	memset(&ls, 0, sizeof(ls));
	ls.out = out;
	ls.f = &f;
	buf_reset(out);
	if (pq.totals && q == NULL &&
	    (rc = store_count(c->rtx, ST_USERS, &total)) != MK_OK)
		return mk_fail(&c->err, rc, "count failed");
	if (pq.totals)
		buf_adds(out, "{\"users\":");
	buf_addc(out, '[');
	if (q != NULL) {
		sr.q = q;
		sr.page = pg;
		sr.fn = api_list_emit;
		sr.ctx = &ls;
		sr.budget = c->conf->search_budget;
		sr.spent = NULL;
		sr.heavy = c->conf->search_slots != NULL ? search_heavy : NULL;
		sr.hctx = c->conf->search_slots;
		sr.heavy_at = c->conf->search_heavy;
		rc = sindex_search(c->rtx, &sr, &total, &c->err);
		if (c->conf->search_slots != NULL)
			slots_give(c->conf->search_slots);
		query_free(q);
		if (rc == MK_OK && ls.rc != MK_OK)
			rc = mk_fail(&c->err, ls.rc, "search output failed");
		if (rc != MK_OK)
			return rc;
	} else {
		rc = store_users_scan(c->rtx, &pg, api_list_emit, &ls);
		if (rc == MK_OK)
			rc = ls.rc;
		if (rc != MK_OK)
			return mk_fail(&c->err, rc, "listing users failed");
	}
	buf_addc(out, ']');
	if (pq.totals)
		buf_printf(out, ",\"start\":%zu,\"limit\":%ld,\"length\":%zu,\"total\":%zu}",
		    pq.skip, pq.per_page, ls.n, total);
	if (out->failed)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	c->rs->status = 200;
	return MK_OK;
}

enum mk_code
api_users_by_email(struct api_ctx *c)
{
	char email[API_QVAL_MAX], *p;
	struct api_fields f;
	struct api_list ls;
	enum mk_code rc;
	int r;

	if ((rc = api_query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	r = api_query_get(c->query, "email", email, sizeof(email));
	if (r <= 0 || email[0] == '\0')
		return api_query_bad(&c->err, "email", "Missing required property: email");
	for (p = email; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	memset(&ls, 0, sizeof(ls));
	ls.out = &c->rs->body;
	ls.f = &f;
	buf_reset(ls.out);
	buf_addc(ls.out, '[');
	rc = store_users_by_email(c->rtx, email, api_list_emit, &ls);
	if (rc == MK_OK)
		rc = ls.rc;
	if (rc != MK_OK)
		return mk_fail(&c->err, rc, "email lookup failed");
	buf_addc(ls.out, ']');
	c->rs->status = 200;
	return ls.out->failed ? mk_fail(&c->err, MK_ERR_NOMEM, "out of memory") : MK_OK;
}

/* read:current_user reads only the token's own user. */
enum mk_code
api_users_get(struct api_ctx *c)
{
	if (!(c->tok.scopes & SC_READ_USERS) && !api_same_subject(c))
		return c->err.code;
	return api_send_record(c, ST_USERS, 0, "user");
}

enum mk_code
api_users_create(struct api_ctx *c)
{
	return api_written(c, svc_user_create(c->s, &c->conf->limits, c->body, &c->rs->body,
	    &c->err), 201);
}

/*
 * PATCH scopes (spec 3): update:users may change anything;
 * update:users_app_metadata only app_metadata; update:current_user_metadata
 * only user_metadata of the token's own user.
 */
static int
patch_allowed(struct api_ctx *c)
{
	unsigned props = model_body_props(c->body);
	uint32_t sc = c->tok.scopes;

	if (sc & SC_UPDATE_USERS)
		return 1;
	if ((sc & SC_UPDATE_USERS_APP_METADATA) && props != 0 &&
	    (props & ~MODEL_PROP_APP_MD) == 0)
		return 1;
	if ((sc & SC_UPDATE_CURRENT_USER_METADATA) && props != 0 &&
	    (props & ~MODEL_PROP_USER_MD) == 0)
		return api_same_subject(c);
	mk_fail(&c->err, MK_ERR_SCOPE, "Some fields cannot be updated with the permissions "
	    "granted by the bearer token scopes");
	return 0;
}

enum mk_code
api_users_patch(struct api_ctx *c)
{
	const struct svc_precond *pre;
	enum mk_code rc;

	if (!patch_allowed(c))
		return c->err.code;
	if ((rc = api_precond(c, &pre)) != MK_OK)
		return rc;
	return api_written(c, svc_user_patch(c->s, &c->conf->limits, c->id, pre, c->body,
	    &c->rs->body, &c->err), 200);
}

enum mk_code
api_users_delete(struct api_ctx *c)
{
	const struct svc_precond *pre;
	enum mk_code rc;

	if ((rc = api_precond(c, &pre)) != MK_OK ||
	    (rc = svc_user_delete(c->s, c->id, pre, &c->err)) != MK_OK)
		return rc;
	c->rs->status = 204;
	return MK_OK;
}

/*
 * api_grants: the client-grant handlers (see api_grants.h).  A body names
 * only the members Auth0's client grant has that metakeep keeps
 * (client_id, audience, scope on create; scope on update); the listing
 * filters while it scans, as the client listing does, so it pages and
 * counts here.  Grants are few (one per client and audience): the scan is
 * bounded by their number.
 */
#include "api_grants.h"

#include <stdio.h>
#include <string.h>

#include "grant.h"
#include "jx.h"

/* The members a body may have, per verb; anything else is refused. */
static const char *const create_members[] = { "client_id", "audience", "scope", NULL };
static const char *const patch_members[] = { "scope", NULL };

static int
member_known(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

/* Every member of body is in list; else MK_ERR_INVALID naming the first other. */
static enum mk_code
members_check(struct api_ctx *c, const char *const *list)
{
	json_object_object_foreach(c->body, key, val) {
		(void)val;
		if (!member_known(list, key))
			return mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: "
			    "'Additional properties not allowed: %.64s'.", key);
	}
	return MK_OK;
}

/* The body's "scope": an array of known scope names, into *mask. */
static enum mk_code
scope_of(struct api_ctx *c, uint32_t *mask)
{
	struct json_object *a, *e;
	uint32_t m = 0, bit;
	size_t i, n;

	if (!json_object_object_get_ex(c->body, "scope", &a) ||
	    !json_object_is_type(a, json_type_array))
		return mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: 'Expected "
		    "type array' on property scope (Scopes allowed for this client grant).");
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			return mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: "
			    "'Expected type string' on property scope[%zu].", i);
		bit = auth_scope_bit(json_object_get_string(e),
		    (size_t)json_object_get_string_len(e));
		if (bit == 0)
			return mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: "
			    "'Unknown scope: %.64s' on property scope (metakeep serves the "
			    "scopes docs/api.md lists).", json_object_get_string(e));
		m |= bit;
	}
	*mask = m;
	return MK_OK;
}

/* A required string member of the body, or NULL with c->err set. */
static const char *
string_of(struct api_ctx *c, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(c->body, key, &v) ||
	    !json_object_is_type(v, json_type_string)) {
		mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: 'Missing required "
		    "property: %s'.", key);
		return NULL;
	}
	if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
		mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: 'Invalid string' "
		    "on property %s.", key);
		return NULL;
	}
	return json_object_get_string(v);
}

enum mk_code
api_grants_create(struct api_ctx *c)
{
	const char *client_id, *audience;
	uint32_t mask;
	enum mk_code rc;

	if ((rc = members_check(c, create_members)) != MK_OK)
		return rc;
	if ((client_id = string_of(c, "client_id")) == NULL ||
	    (audience = string_of(c, "audience")) == NULL)
		return c->err.code;
	if ((rc = scope_of(c, &mask)) != MK_OK)
		return rc;
	if (!api_audience_ok(c, audience))
		return mk_fail(&c->err, MK_ERR_INVALID, "No resource server with identifier "
		    "'%.200s': metakeep serves one API, %s (the audience setting, or "
		    "https://HOST/api/v2/).", audience, c->audience);
	buf_reset(&c->rs->body);
	rc = grant_create(c->s, client_id, audience, mask, &c->rs->body, &c->err);
	if (rc == MK_ERR_NOTFOUND)
		c->res = API_RES_CLIENT;   /* the client named is the one missing */
	return api_written(c, rc, 201);
}

enum mk_code
api_grants_get(struct api_ctx *c)
{
	return api_send_record(c, ST_GRANTS, 0, "client grant");
}

enum mk_code
api_grants_patch(struct api_ctx *c)
{
	uint32_t mask;
	enum mk_code rc;

	if ((rc = members_check(c, patch_members)) != MK_OK ||
	    (rc = scope_of(c, &mask)) != MK_OK)
		return rc;
	buf_reset(&c->rs->body);
	return api_written(c, grant_update(c->s, c->id, mask, &c->rs->body, &c->err), 200);
}

enum mk_code
api_grants_delete(struct api_ctx *c)
{
	enum mk_code rc;

	if ((rc = grant_delete(c->s, c->id, &c->err)) != MK_OK)
		return rc;
	c->rs->status = 204;
	return MK_OK;
}

/* ---- the listing ---- */

struct grant_list {
	struct api_list ls;
	const char *client_id, *audience;   /* filters, or NULL */
	size_t skip, limit, matched;
};

static int
grant_list_emit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct grant_list *gl = ctx;
	char cid[AUTH_CLIENT_MAX + GRANT_AUDIENCE_MAX], aud[sizeof(cid)];

	if ((gl->client_id != NULL || gl->audience != NULL) &&
	    (grant_rec_keys(rec, cid, aud, sizeof(cid)) != 0 ||
	    (gl->client_id != NULL && strcmp(cid, gl->client_id) != 0) ||
	    (gl->audience != NULL && strcmp(aud, gl->audience) != 0)))
		return 0;
	if (gl->matched++ < gl->skip || gl->ls.n >= gl->limit)
		return 0;   /* keep going: the total counts every match */
	return api_list_emit(&gl->ls, key, rec);
}

enum mk_code
api_grants_list(struct api_ctx *c)
{
	struct api_fields f;
	struct api_paging pq;
	struct grant_list gl;
	struct mk_buf *out = &c->rs->body;
	char cid[API_QVAL_MAX], aud[API_QVAL_MAX];
	enum mk_code rc;
	int rc_c, rc_a;

	if ((rc = api_query_paging(c->query, &pq, &c->err)) != MK_OK ||
	    (rc = api_query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	if ((rc_c = api_query_get(c->query, "client_id", cid, sizeof(cid))) < 0)
		return api_query_bad(&c->err, "client_id", "Invalid value");
	if ((rc_a = api_query_get(c->query, "audience", aud, sizeof(aud))) < 0)
		return api_query_bad(&c->err, "audience", "Invalid value");
	memset(&gl, 0, sizeof(gl));
	gl.ls.out = out;
	gl.ls.f = &f;
	gl.client_id = rc_c > 0 && cid[0] != '\0' ? cid : NULL;
	gl.audience = rc_a > 0 && aud[0] != '\0' ? aud : NULL;
	gl.skip = pq.skip;
	gl.limit = (size_t)pq.per_page;
	buf_reset(out);
	if (pq.totals)
		buf_adds(out, "{\"client_grants\":");
	buf_addc(out, '[');
	rc = store_scan(c->rtx, ST_GRANTS, grant_list_emit, &gl);
	if (rc == MK_OK)
		rc = gl.ls.rc;
	if (rc != MK_OK)
		return mk_fail(&c->err, rc, "listing client grants failed");
	buf_addc(out, ']');
	if (pq.totals)
		buf_printf(out, ",\"start\":%zu,\"limit\":%ld,\"total\":%zu}", gl.skip,
		    pq.per_page, gl.matched);
	c->rs->status = 200;
	return out->failed ? mk_fail(&c->err, MK_ERR_NOMEM, "out of memory") : MK_OK;
}

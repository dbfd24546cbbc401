/*
 * api_clients: the client handlers (see api_clients.h).  The listing
 * filters by app_type while it scans, so it pages and counts here rather
 * than in the store.
 */
#include "api_clients.h"

#include <string.h>

#include "jx.h"
#include "model.h"

struct client_list {
	struct api_list ls;
	const char *app_types;     /* comma-separated, or NULL */
	size_t skip, limit, matched;
};

static int
app_type_wanted(const char *list, struct mk_slice rec)
{
	struct json_object *o = NULL;
	const char *t, *p;
	size_t tl;
	int hit = 0;

	if (list == NULL)
		return 1;
	if (jx_parse_stored(rec.p, rec.n, &o) != MK_OK)
		return 0;
	if ((t = jx_get_str(o, "app_type")) != NULL) {
		tl = strlen(t);
		for (p = list; *p != '\0'; p += strcspn(p, ","), p += *p == ',') {
			if (strcspn(p, ",") == tl && strncmp(p, t, tl) == 0) {
				hit = 1;
				break;
			}
		}
	}
	json_object_put(o);
	return hit;
}

static int
client_list_emit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct client_list *cl = ctx;

	if (!app_type_wanted(cl->app_types, rec))
		return 0;
	if (cl->matched++ < cl->skip || cl->ls.n >= cl->limit)
		return 0;   /* keep going: the total counts every match */
	return api_list_emit(&cl->ls, key, rec);
}

enum mk_code
api_clients_list(struct api_ctx *c)
{
	struct api_fields f;
	struct api_paging pq;
	struct client_list cl;
	struct mk_buf *out = &c->rs->body;
	char app_types[API_QVAL_MAX];
	enum mk_code rc;
	int r;

	if ((rc = api_query_paging(c->query, &pq, &c->err)) != MK_OK ||
	    (rc = api_query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	r = api_query_get(c->query, "app_type", app_types, sizeof(app_types));
	if (r < 0)
		return api_query_bad(&c->err, "app_type", "Invalid value");
	memset(&cl, 0, sizeof(cl));
	cl.ls.out = out;
	cl.ls.f = &f;
	cl.ls.hide_secret = !(c->tok.scopes & SC_READ_CLIENT_KEYS);
	cl.app_types = r > 0 && app_types[0] != '\0' ? app_types : NULL;
	cl.skip = pq.skip;
	cl.limit = (size_t)pq.per_page;
	buf_reset(out);
	if (pq.totals)
		buf_adds(out, "{\"clients\":");
	buf_addc(out, '[');
	rc = store_scan(c->rtx, ST_CLIENTS, client_list_emit, &cl);
	if (rc == MK_OK)
		rc = cl.ls.rc;
	if (rc != MK_OK)
		return mk_fail(&c->err, rc, "listing clients failed");
	buf_addc(out, ']');
	if (pq.totals)
		buf_printf(out, ",\"start\":%zu,\"limit\":%ld,\"total\":%zu}", cl.skip,
		    pq.per_page, cl.matched);
	c->rs->status = 200;
	return out->failed ? mk_fail(&c->err, MK_ERR_NOMEM, "out of memory") : MK_OK;
}

enum mk_code
api_clients_get(struct api_ctx *c)
{
	return api_send_record(c, ST_CLIENTS, !(c->tok.scopes & SC_READ_CLIENT_KEYS),
	    "client");
}

/* Setting client_secret needs update:client_keys on top of the route's scope. */
static int
secret_allowed(struct api_ctx *c)
{
	return !(model_body_props(c->body) & MODEL_PROP_SECRET) ||
	    api_need_scope(c, SC_UPDATE_CLIENT_KEYS);
}

enum mk_code
api_clients_create(struct api_ctx *c)
{
	if (!secret_allowed(c))
		return c->err.code;
	return api_written(c, svc_client_create(c->s, &c->conf->limits, c->body,
	    &c->rs->body, &c->err), 201);
}

enum mk_code
api_clients_patch(struct api_ctx *c)
{
	const struct svc_precond *pre;
	enum mk_code rc;

	if (!secret_allowed(c))
		return c->err.code;
	if ((rc = api_precond(c, &pre)) != MK_OK)
		return rc;
	rc = svc_client_patch(c->s, &c->conf->limits, c->id, pre, c->body, &c->rs->body,
	    &c->err);
	/*
	 * The secret goes out only to read:client_keys (issue 12, finding 2);
	 * the ETag, which leaves the secret out, is the same either way.
	 */
	if (rc == MK_OK && !(c->tok.scopes & SC_READ_CLIENT_KEYS))
		rc = api_hide_secret(c);
	return api_written(c, rc, 200);
}

enum mk_code
api_clients_delete(struct api_ctx *c)
{
	const struct svc_precond *pre;
	enum mk_code rc;

	if ((rc = api_precond(c, &pre)) != MK_OK ||
	    (rc = svc_client_delete(c->s, c->id, pre, &c->err)) != MK_OK)
		return rc;
	c->rs->status = 204;
	return MK_OK;
}

/*
 * admin_clients: the clients' pages.  The list, and a client's page with
 * its settings and client_metadata as key/value rows (the API's rules, 10
 * keys of 1..255 characters and string values of at most 255, are shown as
 * you type by admin.js and checked by the API on save).  client_secret is
 * shown only when the API sends it, that is for a session whose token holds
 * read:client_keys.  Saving is a PATCH with If-Match of the rows' changes
 * (admin_meta_diff); a conflict shows what is stored now beside the rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "admin_ctx.h"
#include "jx.h"

#define KV_ROWS 10        /* the API's limit of client_metadata keys */

/* Settings shown on a client's page, in this order, when present. */
static const char *const settings[] = {
	"name", "client_id", "description", "app_type", "is_first_party",
	"token_endpoint_auth_method", "grant_types", "callbacks", "allowed_origins",
	"web_origins", "allowed_logout_urls", "logo_uri", "created_at", "updated_at",
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static void
client_link(struct admin_ctx *c, const char *id)
{
	buf_printf(&c->rs->body, "%s/clients/", c->base);
	adm_url(&c->rs->body, id);
}

static void
html_page(struct admin_ctx *c, int status, const char *title)
{
	c->rs->status = status;
	c->rs->content_type = "text/html; charset=utf-8";
	buf_adds(&c->rs->headers, "Cache-Control: no-store\r\n");
	adm_head(c, title);
}

void
admin_clients_list(struct admin_ctx *c)
{
	struct mk_buf *b = &c->rs->body;
	struct json_object *ans = NULL, *list = NULL, *v;
	char uri[160], *pg = admin_param(c, "page");
	long page = 0, total = 0, pages;
	size_t i, n;
	int status;

	if (pg != NULL && strspn(pg, "0123456789") == strlen(pg) && strlen(pg) > 0 &&
	    strlen(pg) < 7)
		page = atol(pg);
	if (!admin_may(c, SC_READ_CLIENTS | SC_READ_CLIENT_KEYS)) {
		admin_error(c, 403, "Clients", "This session's token may not read clients "
		    "(it lacks read:clients).");
		goto out;
	}
	snprintf(uri, sizeof(uri), "/api/v2/clients?per_page=%d&page=%ld&include_totals=true"
	    "&fields=client_id,name,app_type,description", ADMIN_PER_PAGE, page);
	admin_api(c, "GET", uri, NULL, NULL, &status, &ans, NULL);
	if (status != 200 || !json_object_object_get_ex(ans, "clients", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		admin_error(c, status >= 400 ? status : 500, "Clients", admin_api_message(ans));
		goto out;
	}
	if (json_object_object_get_ex(ans, "total", &v))
		total = (long)json_object_get_int64(v);
	html_page(c, 200, "Clients");
	buf_printf(b, "<h1>Clients</h1>\n<table>\n<caption>%ld client%s</caption>\n<thead><tr>"
	    "<th scope=\"col\">Name</th><th scope=\"col\">Type</th><th scope=\"col\" "
	    "class=\"hide-narrow\">Client ID</th></tr></thead>\n<tbody>\n", total,
	    total == 1 ? "" : "s");
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		struct json_object *cl = json_object_array_get_idx(list, i);
		const char *id = jx_get_str(cl, "client_id"), *name = jx_get_str(cl, "name"),
		    *type = jx_get_str(cl, "app_type");

		if (id == NULL)
			continue;
		buf_adds(b, "<tr><td><a href=\"");
		client_link(c, id);
		buf_adds(b, "\">");
		adm_esc(b, name != NULL ? name : id);
		buf_adds(b, "</a></td><td>");
		adm_esc(b, type != NULL ? type : "");
		buf_adds(b, "</td><td class=\"hide-narrow\"><code>");
		adm_esc(b, id);
		buf_adds(b, "</code></td></tr>\n");
	}
	buf_adds(b, "</tbody>\n</table>\n");
	pages = (total + ADMIN_PER_PAGE - 1) / ADMIN_PER_PAGE;
	buf_printf(b, "<nav class=\"pager\" aria-label=\"Pages\">");
	if (page > 0)
		buf_printf(b, "<a rel=\"prev\" href=\"%s/clients?page=%ld\">Previous page</a>",
		    c->base, page - 1);
	buf_printf(b, "<span>Page %ld of %ld</span>", page + 1, pages < 1 ? 1 : pages);
	if (page + 1 < pages)
		buf_printf(b, "<a rel=\"next\" href=\"%s/clients?page=%ld\">Next page</a>",
		    c->base, page + 1);
	buf_adds(b, "</nav>\n");
	adm_foot(c);
out:
	json_object_put(ans);
	free(pg);
}

/* The rows as typed (owned), or from the stored object. */
struct rows {
	char *k[KV_ROWS], *v[KV_ROWS];
	char *orig;
	const char *error;
	char msg[512];
};

static void
rows_free(struct rows *r)
{
	int i;

	for (i = 0; i < KV_ROWS; i++) {
		free(r->k[i]);
		free(r->v[i]);
	}
	free(r->orig);
}

/*
 * The client's page, as user_page (admin_users.c): six parameters, the
 * page's state after a request (status, record, ETag, rows, conflict).
 */
static void
client_page(struct admin_ctx *c, int status, struct json_object *cl, const char *etag,
    struct rows *r, int conflict)
{
	struct mk_buf *b = &c->rs->body;
	struct json_object *meta = NULL, *v;
	const char *id = jx_get_str(cl, "client_id"), *name = jx_get_str(cl, "name");
	int edit = admin_may(c, SC_UPDATE_CLIENTS), i = 0;
	size_t k;

	if (id == NULL)
		id = c->arg;
	html_page(c, status, name != NULL ? name : "Client");
	buf_printf(b, "<p><a href=\"%s/clients\">All clients</a></p>\n<h1>", c->base);
	adm_esc(b, name != NULL ? name : id);
	buf_adds(b, "</h1>\n");
	adm_note(c);
	buf_adds(b, "<section aria-labelledby=\"h-settings\">\n<h2 id=\"h-settings\">Settings</h2>\n"
	    "<dl class=\"props\">\n");
	for (k = 0; k < NSETTINGS; k++) {
		if (!json_object_object_get_ex(cl, settings[k], &v) || v == NULL)
			continue;
		buf_adds(b, "<dt>");
		adm_esc(b, settings[k]);
		buf_adds(b, "</dt><dd>");
		adm_esc(b, json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
		    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		buf_adds(b, "</dd>\n");
	}
	if (json_object_object_get_ex(cl, "client_secret", &v)) {
		buf_adds(b, "<dt>client_secret</dt><dd><details><summary>Show the secret</summary>"
		    "<code>");
		adm_esc(b, json_object_get_string(v));
		buf_adds(b, "</code></details></dd>\n");
	} else
		buf_adds(b, "<dt>client_secret</dt><dd>hidden (the session's token lacks "
		    "<code>read:client_keys</code>)</dd>\n");
	buf_adds(b, "</dl>\n</section>\n<section aria-labelledby=\"h-meta\">\n"
	    "<h2 id=\"h-meta\">client_metadata</h2>\n");
	json_object_object_get_ex(cl, "client_metadata", &meta);
	if (conflict) {
		buf_adds(b, "<div class=\"card\" role=\"alert\"><p>Someone changed this client while "
		    "you were editing; your rows were not saved. Stored now:</p><pre>");
		adm_esc_json(b, meta);
		buf_adds(b, "</pre><p><strong>Apply mine on top</strong> saves the keys you "
		    "changed over it; <strong>Drop mine</strong> discards them.</p></div>\n");
	}
	if (!edit) {
		buf_adds(b, "<table><thead><tr><th scope=\"col\">Key</th><th scope=\"col\">Value"
		    "</th></tr></thead><tbody>\n");
		if (json_object_is_type(meta, json_type_object)) {
			json_object_object_foreach(meta, mk, mv) {
				buf_adds(b, "<tr><td>");
				adm_esc(b, mk);
				buf_adds(b, "</td><td>");
				adm_esc(b, json_object_get_string(mv));
				buf_adds(b, "</td></tr>\n");
			}
		}
		buf_adds(b, "</tbody></table>\n</section>\n");
		adm_foot(c);
		return;
	}
	buf_adds(b, "<form method=\"post\" id=\"kv-form\" action=\"");
	client_link(c, id);
	buf_adds(b, "\" novalidate>\n");
	adm_csrf_field(c);
	buf_adds(b, "<input type=\"hidden\" name=\"etag\" value=\"");
	adm_esc(b, etag);
	buf_adds(b, "\">\n<input type=\"hidden\" name=\"orig\" value=\"");
	if (r != NULL && r->orig != NULL)
		adm_esc(b, r->orig);
	else
		adm_esc_json(b, meta);
	buf_adds(b, "\">\n<p class=\"hint\" id=\"kv-rules\">Up to 10 keys. A key: 1 to 255 "
	    "letters, digits, spaces or <code>: , - + = _ * ? \" / \\ ( ) &lt; &gt; @</code>; a "
	    "value: text of at most 255 characters. Empty a row to remove its key.</p>\n"
	    "<div class=\"kv\" role=\"group\" aria-describedby=\"kv-rules kv-live\">\n"
	    "<span aria-hidden=\"true\"><strong>Key</strong></span><span aria-hidden=\"true\">"
	    "<strong>Value</strong></span>\n");
	if (r == NULL && json_object_is_type(meta, json_type_object)) {
		json_object_object_foreach(meta, mk, mv) {
			if (i >= KV_ROWS)
				break;
			buf_printf(b, "<input class=\"k\" name=\"k%d\" aria-label=\"Key %d\" value=\"",
			    i, i + 1);
			adm_esc(b, mk);
			buf_printf(b, "\"><input class=\"v\" name=\"v%d\" aria-label=\"Value %d\" "
			    "value=\"", i, i + 1);
			adm_esc(b, json_object_get_string(mv));
			buf_adds(b, "\">\n");
			i++;
		}
	}
	for (; i < KV_ROWS; i++) {
		buf_printf(b, "<input class=\"k\" name=\"k%d\" aria-label=\"Key %d\" value=\"", i,
		    i + 1);
		if (r != NULL && r->k[i] != NULL)
			adm_esc(b, r->k[i]);
		buf_printf(b, "\"><input class=\"v\" name=\"v%d\" aria-label=\"Value %d\" value=\"",
		    i, i + 1);
		if (r != NULL && r->v[i] != NULL)
			adm_esc(b, r->v[i]);
		buf_adds(b, "\">\n");
	}
	buf_adds(b, "</div>\n<p id=\"kv-live\" class=\"hint\" aria-live=\"polite\"></p>\n");
	if (r != NULL && r->error != NULL) {
		buf_adds(b, "<p id=\"kv-error\" class=\"error\" role=\"alert\">");
		adm_esc(b, r->error);
		buf_adds(b, "</p>\n");
	}
	buf_adds(b, "<div class=\"actions\">");
	if (conflict) {
		buf_adds(b, "<button type=\"submit\">Apply mine on top</button> <a class=\"button "
		    "secondary\" href=\"");
		client_link(c, id);
		buf_adds(b, "\">Drop mine</a>");
	} else
		buf_adds(b, "<button type=\"submit\">Save client_metadata</button>");
	buf_adds(b, "</div>\n</form>\n</section>\n");
	adm_foot(c);
}

static int
get_client(struct admin_ctx *c, struct json_object **cl, char *etag)
{
	return admin_get_record(c, "clients", cl, etag);
}

static void
client_failed(struct admin_ctx *c, int status, struct json_object *ans)
{
	admin_error(c, status >= 400 && status < 600 ? status : 500,
	    status == 404 ? "No such client" : status == 403 ? "Not allowed" :
	    "The request failed", admin_api_message(ans));
}

void
admin_clients_show(struct admin_ctx *c)
{
	struct json_object *cl = NULL;
	char etag[128], *saved = admin_param(c, "saved");
	int status = get_client(c, &cl, etag);

	if (saved != NULL)
		snprintf(c->note, sizeof(c->note), "Saved.");
	if (status == 200)
		client_page(c, 200, cl, etag, NULL, 0);
	else
		client_failed(c, status, cl);
	json_object_put(cl);
	free(saved);
}

/* The rows as an object; r->error set (and NULL returned) when they cannot be one. */
static struct json_object *
rows_object(struct rows *r)
{
	struct json_object *o = json_object_new_object(), *x;
	int i;

	for (i = 0; i < KV_ROWS && o != NULL; i++) {
		const char *k = r->k[i] ? r->k[i] : "", *v = r->v[i] ? r->v[i] : "";

		if (k[0] == '\0' && v[0] == '\0')
			continue;
		if (k[0] == '\0') {
			snprintf(r->msg, sizeof(r->msg), "Row %d has a value but no key.", i + 1);
			goto bad;
		}
		if (json_object_object_get_ex(o, k, &x)) {
			snprintf(r->msg, sizeof(r->msg), "Row %d repeats the key \"%.255s\".", i + 1, k);
			goto bad;
		}
		json_object_object_add(o, k, json_object_new_string(v));
	}
	return o;
bad:
	r->error = r->msg;
	json_object_put(o);
	return NULL;
}

void
admin_clients_save(struct admin_ctx *c)
{
	struct rows r;
	struct json_object *edit = NULL, *orig = NULL, *patch = NULL, *body = NULL, *ans = NULL,
	    *cl = NULL;
	struct mk_buf uri = { 0 };
	struct mk_err err;
	char name[8], *etag = admin_form(c, "etag"), cur[128];
	int i, status = 500, conflict = 0;

	memset(&r, 0, sizeof(r));
	if (!admin_may(c, SC_UPDATE_CLIENTS)) {
		admin_error(c, 403, "Not allowed", "This session's token may not change clients "
		    "(it lacks update:clients); nothing was changed.");
		goto out;
	}
	for (i = 0; i < KV_ROWS; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		r.k[i] = admin_form(c, name);
		snprintf(name, sizeof(name), "v%d", i);
		r.v[i] = admin_form(c, name);
	}
	r.orig = admin_form(c, "orig");
	if ((edit = rows_object(&r)) == NULL)
		goto again;
	if (r.orig == NULL || jx_parse(r.orig, strlen(r.orig), JX_DEPTH_LIMIT, &orig, &err) !=
	    MK_OK || !json_object_is_type(orig, json_type_object)) {
		snprintf(r.msg, sizeof(r.msg), "The form was damaged (orig): reload the page.");
		r.error = r.msg;
		goto again;
	}
	if (admin_meta_diff(orig, edit, &patch) != MK_OK) {
		admin_error(c, 500, "Internal error", "Out of memory.");
		goto out;
	}
	if (patch == NULL) {
		snprintf(c->note, sizeof(c->note), "Nothing to save: the rows hold what they "
		    "were given.");
		goto again;
	}
	body = json_object_new_object();
	json_object_object_add(body, "client_metadata", patch);
	buf_adds(&uri, "/api/v2/clients/");
	adm_url(&uri, c->arg);
	buf_addc(&uri, '\0');
	if (!uri.failed && body != NULL)
		admin_api(c, "PATCH", uri.p, json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PLAIN), etag != NULL && etag[0] != '\0' ? etag : NULL,
		    &status, &ans, NULL);
	if (status == 200) {
		admin_redirect_saved(c, "clients");
		goto out;
	}
	if (status == 412)
		conflict = 1;
	else if (status == 400) {
		snprintf(r.msg, sizeof(r.msg), "%s", admin_api_message(ans));
		r.error = r.msg;
	} else {
		client_failed(c, status, ans);
		goto out;
	}
again:
	status = get_client(c, &cl, cur);
	if (status != 200)
		client_failed(c, status, cl);
	else
		client_page(c, conflict ? 409 : r.error != NULL ? 400 : 200, cl,
		    conflict || etag == NULL ? cur : etag, &r, conflict);
out:
	rows_free(&r);
	json_object_put(edit);
	json_object_put(orig);
	json_object_put(body);
	json_object_put(ans);
	json_object_put(cl);
	buf_free(&uri);
	free(etag);
}

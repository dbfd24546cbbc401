/*
 * admin_users: the users' pages.  The list (search box taking the API's q
 * language, sort, paging), a user's page (profile fields, user_metadata and
 * app_metadata editors), saving (a PATCH with If-Match), the conflict page,
 * and delete with a confirmation.  Every read and write is an API request
 * as the session (admin_api): the API's scopes, rules and messages.
 *
 * Saving sends only what the editor changed against what it was given
 * (orig_*, a hidden copy): changed or new root keys with their value,
 * removed ones as null, exactly the API's root merge (docs/api.md 4).  So
 * when the user changed meanwhile (412), "apply mine on top" sends the same
 * changes against the newer version: the other person's keys stay, the
 * keys you changed become yours, and both versions are on the screen
 * before you choose; nothing is lost silently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "admin_ctx.h"
#include "jx.h"
#include "model.h"

#define NMETA 2
#define HISTORY_MAX 10       /* log events on a user's page */
#define JX_PREFIX "Payload validation error: "

/* The editors: the field, and the scopes that may change it. */
static const struct mfield {
	const char *name;
	uint32_t scopes;
} mfields[NMETA] = {
	{ "user_metadata", SC_UPDATE_USERS },
	{ "app_metadata", SC_UPDATE_USERS | SC_UPDATE_USERS_APP_METADATA },
};

/* The sort choices of the list: the API's sort value and its label. */
static const struct sortopt {
	const char *value;
	const char *label;
} sorts[] = {
	{ "created_at:1", "Created, oldest first" },
	{ "created_at:-1", "Created, newest first" },
	{ "updated_at:-1", "Updated, newest first" },
	{ "email:1", "Email, A to Z" },
	{ "email:-1", "Email, Z to A" },
	{ "user_id:1", "User ID" },
};
#define NSORTS (sizeof(sorts) / sizeof(sorts[0]))

/* Profile fields shown on the user's page, in this order, when present. */
static const char *const profile[] = {
	"email", "email_verified", "username", "name", "nickname", "given_name",
	"family_name", "phone_number", "picture", "blocked", "user_id", "connection",
	"created_at", "updated_at", "last_login", "logins_count",
};
#define NPROFILE (sizeof(profile) / sizeof(profile[0]))

/* One editor's state on a re-shown form (text and orig owned). */
struct editor {
	char *text;          /* what the person typed; NULL: the stored value */
	char *orig;          /* what the editor started from */
	const char *error;   /* shown under it, or NULL */
	char msg[512];
};

static void
user_link(struct admin_ctx *c, const char *id)
{
	buf_printf(&c->rs->body, "%s/users/", c->base);
	adm_url(&c->rs->body, id);
}

static void
api_user_uri(struct mk_buf *b, const char *id)
{
	buf_adds(b, "/api/v2/users/");
	adm_url(b, id);
	buf_addc(b, '\0');
}

/* The name a person knows the user by. */
static const char *
user_title(struct json_object *u)
{
	const char *t = jx_get_str(u, "name");

	if (t == NULL || t[0] == '\0')
		t = jx_get_str(u, "email");
	if (t == NULL || t[0] == '\0')
		t = jx_get_str(u, "user_id");
	return t != NULL ? t : "User";
}

/* ---- the list ---- */

static void
search_form(struct admin_ctx *c, const char *q, const char *sort, const char *error)
{
	struct mk_buf *b = &c->rs->body;
	size_t i;

	buf_printf(b, "<form method=\"get\" action=\"%s/users\" class=\"search card\" role=\"search\">\n"
	    "<div class=\"grow\"><label for=\"q\">Search users</label>\n"
	    "<input id=\"q\" name=\"q\" type=\"search\" spellcheck=\"false\" value=\"", c->base);
	adm_esc(b, q);
	buf_adds(b, "\" aria-describedby=\"q-help");
	if (error != NULL)
		buf_adds(b, " q-error\" aria-invalid=\"true");
	buf_adds(b, "\"></div>\n<div><label for=\"sort\">Sort</label>\n<select id=\"sort\" name=\"sort\">");
	for (i = 0; i < NSORTS; i++)
		buf_printf(b, "<option value=\"%s\"%s>%s</option>", sorts[i].value,
		    strcmp(sort, sorts[i].value) == 0 ? " selected" : "", sorts[i].label);
	buf_adds(b, "</select></div>\n<div><button type=\"submit\">Search</button></div>\n");
	if (error != NULL) {
		buf_adds(b, "<p id=\"q-error\" class=\"error grow\" role=\"alert\">");
		adm_esc(b, error);
		buf_adds(b, "</p>\n");
	}
	buf_adds(b, "<p id=\"q-help\" class=\"hint grow\">The API's <code>q</code> language, "
	    "for example <code>email:\"jane@example.com\"</code>, <code>name:jan*</code>, "
	    "<code>user_metadata.plan:\"gold\" AND NOT blocked:true</code>, "
	    "<code>_exists_:app_metadata.roles</code>. Empty: every user.</p>\n</form>\n");
}

static void
pager(struct admin_ctx *c, const char *q, const char *sort, long page, long total)
{
	struct mk_buf *b = &c->rs->body;
	long pages = (total + ADMIN_PER_PAGE - 1) / ADMIN_PER_PAGE;
	int k;

	if (pages < 1)
		pages = 1;
	buf_adds(b, "<nav class=\"pager\" aria-label=\"Pages\">");
	for (k = -1; k <= 1; k += 2) {
		long to = page + k;

		if (k == 1 && page < pages)
			buf_printf(b, "<span>Page %ld of %ld</span>", page + 1, pages);
		else if (k == 1)
			buf_printf(b, "<span>Page %ld: past the last (%ld)</span>", page + 1, pages);
		if (k < 0 && to >= pages)
			to = pages - 1;
		if (to < 0 || to >= pages)
			continue;
		buf_printf(b, "<a href=\"%s/users?q=", c->base);
		adm_url(b, q);
		buf_adds(b, "&amp;sort=");
		adm_url(b, sort);
		buf_printf(b, "&amp;page=%ld\"%s>%s</a>", to, k < 0 ? " rel=\"prev\"" :
		    " rel=\"next\"", k < 0 ? "Previous page" : "Next page");
	}
	buf_adds(b, "</nav>\n");
}

static void
users_table(struct admin_ctx *c, struct json_object *users, long total)
{
	struct mk_buf *b = &c->rs->body;
	size_t i, n = json_object_array_length(users);
	static const char *const cols[] = { "email", "name", "user_id", "updated_at" };
	size_t k;

	buf_printf(b, "<table>\n<caption>%ld user%s</caption>\n<thead><tr><th scope=\"col\">Email"
	    "</th><th scope=\"col\">Name</th><th scope=\"col\" class=\"hide-narrow\">User ID</th>"
	    "<th scope=\"col\" class=\"hide-narrow\">Updated</th></tr></thead>\n<tbody>\n", total,
	    total == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		struct json_object *u = json_object_array_get_idx(users, i);
		const char *id = jx_get_str(u, "user_id");

		if (id == NULL)
			continue;
		buf_adds(b, "<tr>");
		for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			const char *v = jx_get_str(u, cols[k]);

			buf_printf(b, "<td%s>", k >= 2 ? " class=\"hide-narrow\"" : "");
			if (k == 0) {
				buf_adds(b, "<a href=\"");
				user_link(c, id);
				buf_adds(b, "\">");
				adm_esc(b, v != NULL && v[0] != '\0' ? v : id);
				buf_adds(b, "</a>");
			} else if (v != NULL)
				adm_esc(b, v);
			buf_adds(b, "</td>");
		}
		buf_adds(b, "</tr>\n");
	}
	buf_adds(b, "</tbody>\n</table>\n");
}

void
admin_users_list(struct admin_ctx *c)
{
	struct mk_buf uri = { 0 };
	struct json_object *ans = NULL, *users = NULL, *v;
	char *q = admin_param(c, "q"), *sort = admin_param(c, "sort"), *pg = admin_param(c, "page");
	const char *qs = q ? q : "", *ss = sorts[0].value;
	long page = 0, total = 0;
	size_t i;
	int status;

	for (i = 0; sort != NULL && i < NSORTS; i++)
		if (strcmp(sort, sorts[i].value) == 0)
			ss = sorts[i].value;
	if (pg != NULL && strspn(pg, "0123456789") == strlen(pg) && strlen(pg) > 0 &&
	    strlen(pg) < 7)
		page = atol(pg);
	if (!admin_may(c, SC_READ_USERS)) {
		admin_error(c, 403, "Users", "This session's token may not read users "
		    "(it lacks read:users).");
		goto out;
	}
	buf_printf(&uri, "/api/v2/users?per_page=%d&include_totals=true&page=%ld&sort=",
	    ADMIN_PER_PAGE, page);
	adm_url(&uri, ss);
	buf_adds(&uri, "&fields=user_id,email,name,updated_at");
	if (qs[0] != '\0') {
		buf_adds(&uri, "&q=");
		adm_url(&uri, qs);
	}
	buf_addc(&uri, '\0');
	if (uri.failed) {
		admin_error(c, 500, "Internal error", "Out of memory.");
		goto out;
	}
	admin_api(c, "GET", uri.p, NULL, NULL, &status, &ans, NULL);
	c->rs->content_type = "text/html; charset=utf-8";
	buf_adds(&c->rs->headers, "Cache-Control: no-store\r\n");
	free(pg);                        /* read above; now the "deleted" flag */
	if ((pg = admin_param(c, "deleted")) != NULL)
		snprintf(c->note, sizeof(c->note), "The user was deleted.");
	adm_head(c, "Users");
	buf_adds(&c->rs->body, "<h1>Users</h1>\n");
	adm_note(c);
	if (status == 200 && json_object_object_get_ex(ans, "users", &users) &&
	    json_object_is_type(users, json_type_array)) {
		if (json_object_object_get_ex(ans, "total", &v))
			total = (long)json_object_get_int64(v);
		search_form(c, qs, ss, NULL);
		users_table(c, users, total);
		pager(c, qs, ss, page, total);
	} else {
		c->rs->status = status >= 400 && status < 500 ? status : 500;
		search_form(c, qs, ss, admin_api_message(ans));
	}
	adm_foot(c);
out:
	json_object_put(ans);
	buf_free(&uri);
	free(q);
	free(sort);
	free(pg);
}

/* ---- a user's page ---- */

/*
 * The user's history: their last HISTORY_MAX log events (GET
 * /api/v2/users/{id}/logs, newest first) as a table, for a session whose
 * token may read logs.  The scopes are looked up by name, so that a build
 * without log events (no such scopes) shows no history.  Nothing when the
 * API refuses.
 */
static void
history(struct admin_ctx *c, const char *id)
{
	struct mk_buf uri = { 0 }, *b = &c->rs->body;
	struct json_object *ans = NULL, *ch, *det;
	struct mk_err err;
	uint32_t want = 0;
	size_t i, n, k;
	int status = 0;

	if (auth_scopes_parse("read:logs read:logs_users", &want, &err) != MK_OK ||
	    !admin_may(c, want))
		return;
	buf_adds(&uri, "/api/v2/users/");
	adm_url(&uri, id);
	buf_printf(&uri, "/logs?per_page=%d&sort=date:-1", HISTORY_MAX);
	buf_addc(&uri, '\0');
	if (!uri.failed)
		admin_api(c, "GET", uri.p, NULL, NULL, &status, &ans, NULL);
	buf_free(&uri);
	if (status != 200 || !json_object_is_type(ans, json_type_array))
		goto out;
	buf_adds(b, "<section aria-labelledby=\"h-history\">\n<h2 id=\"h-history\">History</h2>\n");
	n = json_object_array_length(ans);
	if (n == 0) {
		buf_adds(b, "<p>No events.</p>\n</section>\n");
		goto out;
	}
	buf_printf(b, "<table>\n<caption>The last %d events, newest first</caption>\n<thead><tr>"
	    "<th scope=\"col\">Date</th><th scope=\"col\">Event</th><th scope=\"col\" "
	    "class=\"hide-narrow\">Change</th></tr></thead>\n<tbody>\n", HISTORY_MAX);
	for (i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(ans, i);
		const char *date = jx_get_str(ev, "date"), *type = jx_get_str(ev, "type"),
		    *desc = jx_get_str(ev, "description");

		buf_adds(b, "<tr><td>");
		adm_esc(b, date ? date : "");
		buf_adds(b, "</td><td>");
		adm_esc(b, type ? type : "");
		if (desc != NULL) {
			buf_adds(b, ": ");
			adm_esc(b, desc);
		}
		buf_adds(b, "</td><td class=\"hide-narrow\">");
		if (json_object_object_get_ex(ev, "details", &det) &&
		    json_object_object_get_ex(det, "change", &ch) &&
		    json_object_is_type(ch, json_type_array))
			for (k = 0; k < json_object_array_length(ch); k++) {
				struct json_object *op = json_object_array_get_idx(ch, k);
				const char *o = jx_get_str(op, "op"), *p = jx_get_str(op, "path");

				buf_adds(b, k ? ", " : "");
				buf_adds(b, "<code>");
				adm_esc(b, o ? o : "?");
				buf_addc(b, ' ');
				adm_esc(b, p ? p : "");
				buf_adds(b, "</code>");
			}
		buf_adds(b, "</td></tr>\n");
	}
	buf_adds(b, "</tbody>\n</table>\n</section>\n");
out:
	json_object_put(ans);
}

static void
profile_list(struct admin_ctx *c, struct json_object *u)
{
	struct mk_buf *b = &c->rs->body;
	struct json_object *v;
	size_t i;

	buf_adds(b, "<section aria-labelledby=\"h-profile\">\n<h2 id=\"h-profile\">Profile</h2>\n"
	    "<dl class=\"props\">\n");
	for (i = 0; i < NPROFILE; i++) {
		if (!json_object_object_get_ex(u, profile[i], &v) || v == NULL)
			continue;
		buf_adds(b, "<dt>");
		adm_esc(b, profile[i]);
		buf_adds(b, "</dt><dd>");
		if (json_object_is_type(v, json_type_string))
			adm_esc(b, json_object_get_string(v));
		else
			adm_esc(b, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		buf_adds(b, "</dd>\n");
	}
	buf_adds(b, "</dl>\n</section>\n");
}

/* The keys of a and b (objects or NULL) whose values differ, as text. */
static void
changed_keys(struct mk_buf *b, struct json_object *a, struct json_object *o)
{
	struct json_object *x;
	int any = 0, pass;

	for (pass = 0; pass < 2; pass++) {
		struct json_object *from = pass ? o : a, *other = pass ? a : o;

		if (!json_object_is_type(from, json_type_object))
			continue;
		json_object_object_foreach(from, k, v) {
			int differs;

			if (!json_object_object_get_ex(other, k, &x))
				differs = 1;
			else if (pass)
				continue;          /* both have it: compared in pass 0 */
			else
				differs = strcmp(json_object_to_json_string_ext(v,
				    JSON_C_TO_STRING_PLAIN), json_object_to_json_string_ext(x,
				    JSON_C_TO_STRING_PLAIN)) != 0;
			if (!differs)
				continue;
			buf_adds(b, any ? ", " : "");
			buf_adds(b, "<code>");
			adm_esc(b, k);
			buf_adds(b, "</code>");
			any = 1;
		}
	}
	if (!any)
		buf_adds(b, "none");
}

/*
 * The user's page: profile, the editors (or read-only views), actions.
 * eds: the editors' re-shown state, or NULL (the stored values).  current:
 * on a conflict, the user as stored now (u is then that too), with the
 * editors holding the person's edit.  Six parameters: the page's state
 * after a request (status, record, ETag, editors, conflict).
 */
static void
user_page(struct admin_ctx *c, int status, struct json_object *u, const char *etag,
    struct editor *eds, int conflict)
{
	struct mk_buf *b = &c->rs->body;
	const char *id = jx_get_str(u, "user_id");
	int i, can_any = 0;

	if (id == NULL)
		id = c->arg;
	c->rs->status = status;
	c->rs->content_type = "text/html; charset=utf-8";
	buf_adds(&c->rs->headers, "Cache-Control: no-store\r\n");
	adm_head(c, user_title(u));
	buf_adds(b, "<p><a href=\"");
	adm_esc(b, c->base);
	buf_adds(b, "/users\">All users</a></p>\n<h1>");
	adm_esc(b, user_title(u));
	buf_adds(b, "</h1>\n");
	adm_note(c);
	if (conflict)
		buf_adds(b, "<div class=\"card\" role=\"alert\" id=\"conflict\"><h2>Someone changed "
		    "this user while you were editing</h2>\n<p>Your edit was not saved. Below, "
		    "each editor shows what is stored now beside your edit. <strong>Apply mine on "
		    "top</strong> saves the keys you changed over the new version (the other "
		    "changes stay); <strong>Drop mine</strong> discards your edit.</p></div>\n");
	profile_list(c, u);
	for (i = 0; i < NMETA; i++)
		if (admin_may(c, mfields[i].scopes))
			can_any = 1;
	if (can_any) {
		buf_adds(b, "<form method=\"post\" action=\"");
		user_link(c, id);
		buf_adds(b, "\" id=\"meta-form\" novalidate>\n");
		adm_csrf_field(c);
		buf_adds(b, "<input type=\"hidden\" name=\"etag\" value=\"");
		adm_esc(b, etag);
		buf_adds(b, "\">\n");
	}
	for (i = 0; i < NMETA; i++) {
		const char *n = mfields[i].name;
		struct json_object *stored = NULL;
		int edit = admin_may(c, mfields[i].scopes);

		json_object_object_get_ex(u, n, &stored);
		buf_printf(b, "<section aria-labelledby=\"h-%s\">\n<h2 id=\"h-%s\">%s</h2>\n", n, n, n);
		if (!edit) {
			buf_printf(b, "<pre aria-label=\"%s (read-only)\">", n);
			adm_esc_json(b, stored);
			buf_adds(b, "</pre>\n</section>\n");
			continue;
		}
		if (conflict && eds != NULL && eds[i].text != NULL) {
			buf_adds(b, "<div class=\"cols\">\n<div><h3>Stored now</h3>\n<pre>");
			adm_esc_json(b, stored);
			buf_adds(b, "</pre>\n<p class=\"hint\">Changed meanwhile: ");
			{
				struct json_object *o = NULL;
				struct mk_err perr;

				if (eds[i].orig != NULL && jx_parse(eds[i].orig, strlen(eds[i].orig),
				    JX_DEPTH_LIMIT, &o, &perr) == MK_OK)
					changed_keys(b, o, stored);
				else
					buf_adds(b, "unknown");
				json_object_put(o);
			}
			buf_adds(b, "</p></div>\n<div>\n");
		}
		buf_printf(b, "<label for=\"ed-%s\">%s%s (JSON object)</label>\n", n,
		    conflict ? "Your edit of " : "", n);
		buf_printf(b, "<textarea id=\"ed-%s\" name=\"%s\" rows=\"10\" spellcheck=\"false\" "
		    "data-live=\"live-%s\" aria-describedby=\"live-%s%s%s\"%s>", n, n, n, n,
		    eds != NULL && eds[i].error != NULL ? " err-" : "",
		    eds != NULL && eds[i].error != NULL ? n : "",
		    eds != NULL && eds[i].error != NULL ? " aria-invalid=\"true\"" : "");
		if (eds != NULL && eds[i].text != NULL)
			adm_esc(b, eds[i].text);
		else
			adm_esc_json(b, stored);
		buf_printf(b, "</textarea>\n<p id=\"live-%s\" class=\"error\" aria-live=\"polite\">"
		    "</p>\n", n);
		if (eds != NULL && eds[i].error != NULL) {
			buf_printf(b, "<p id=\"err-%s\" class=\"error\" role=\"alert\">", n);
			adm_esc(b, eds[i].error);
			buf_adds(b, "</p>\n");
		}
		buf_printf(b, "<input type=\"hidden\" name=\"orig_%s\" value=\"", n);
		if (eds != NULL && eds[i].orig != NULL)
			adm_esc(b, eds[i].orig);
		else
			adm_esc_json(b, stored);
		buf_adds(b, "\">\n");
		if (conflict && eds != NULL && eds[i].text != NULL)
			buf_adds(b, "</div></div>\n");
		buf_adds(b, "</section>\n");
	}
	if (can_any) {
		buf_adds(b, "<div class=\"actions\">");
		if (conflict) {
			buf_adds(b, "<button type=\"submit\">Apply mine on top</button> <a class=\"button "
			    "secondary\" href=\"");
			user_link(c, id);
			buf_adds(b, "\">Drop mine</a>");
		} else
			buf_adds(b, "<button type=\"submit\">Save metadata</button>");
		buf_adds(b, "</div>\n</form>\n");
	}
	if (!conflict)
		history(c, id);
	if (admin_may(c, SC_DELETE_USERS) && !conflict) {
		buf_adds(b, "<p class=\"actions\"><a class=\"button secondary\" href=\"");
		user_link(c, id);
		buf_adds(b, "/delete\">Delete this user&hellip;</a></p>\n");
	}
	adm_foot(c);
}

/* GET the user c->arg: status, the user and its ETag. */
static int
get_user(struct admin_ctx *c, struct json_object **u, char *etag)
{
	return admin_get_record(c, "users", u, etag);
}

/* An API failure as a page. */
static void
api_failed(struct admin_ctx *c, int status, struct json_object *ans)
{
	admin_error(c, status >= 400 && status < 600 ? status : 500,
	    status == 404 ? "No such user" : status == 403 ? "Not allowed" : "The request failed",
	    admin_api_message(ans));
}

void
admin_users_show(struct admin_ctx *c)
{
	struct json_object *u = NULL;
	char etag[128], *saved = admin_param(c, "saved");

	int status = get_user(c, &u, etag);

	if (saved != NULL)
		snprintf(c->note, sizeof(c->note), "Saved.");
	if (status == 200)
		user_page(c, 200, u, etag, NULL, 0);
	else
		api_failed(c, status, u);
	json_object_put(u);
	free(saved);
}

/* Parse an editor's text into an object; a message in e->msg when not. */
static struct json_object *
parse_editor(struct admin_ctx *c, struct editor *e, const char *text)
{
	struct json_object *o = NULL;
	struct mk_err err;

	if (jx_parse(text, strlen(text), model_body_depth(c->conf->limits.max_depth), &o,
	    &err) != MK_OK) {
		snprintf(e->msg, sizeof(e->msg), "Not valid JSON: %.400s",
		    strncmp(err.msg, JX_PREFIX, strlen(JX_PREFIX)) == 0 ?
		    err.msg + strlen(JX_PREFIX) : err.msg);
		e->error = e->msg;
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(e->msg, sizeof(e->msg), "The value must be a JSON object ({...}).");
		e->error = e->msg;
		json_object_put(o);
		return NULL;
	}
	return o;
}

void
admin_users_save(struct admin_ctx *c)
{
	struct editor eds[NMETA];
	struct json_object *body = NULL, *ans = NULL, *u = NULL, *edit, *orig, *patch;
	struct mk_buf uri = { 0 };
	char *etag = admin_form(c, "etag"), cur_etag[128], name[32];
	int i, status, bad = 0, fields = 0, last = -1;

	memset(eds, 0, sizeof(eds));
	body = json_object_new_object();
	for (i = 0; i < NMETA && body != NULL; i++) {
		eds[i].text = admin_form(c, mfields[i].name);
		snprintf(name, sizeof(name), "orig_%s", mfields[i].name);
		eds[i].orig = admin_form(c, name);
		if (eds[i].text == NULL)
			continue;
		if (!admin_may(c, mfields[i].scopes)) {
			admin_error(c, 403, "Not allowed", "This session's token may not change "
			    "this user's metadata; nothing was changed.");
			goto out;
		}
		edit = parse_editor(c, &eds[i], eds[i].text);
		orig = eds[i].orig != NULL ? parse_editor(c, &eds[i], eds[i].orig) : NULL;
		if (edit == NULL || orig == NULL) {
			if (edit != NULL && orig == NULL) {
				snprintf(eds[i].msg, sizeof(eds[i].msg), "The form was damaged "
				    "(orig_%s): reload the page.", mfields[i].name);
				eds[i].error = eds[i].msg;
			}
			bad = 1;
		} else if (admin_meta_diff(orig, edit, &patch) == MK_OK && patch != NULL) {
			json_object_object_add(body, mfields[i].name, patch);
			fields++;
			last = i;
		}
		json_object_put(edit);
		json_object_put(orig);
	}
	if (body == NULL) {
		admin_error(c, 500, "Internal error", "Out of memory.");
		goto out;
	}
	if (!bad && fields == 0) {
		status = get_user(c, &u, cur_etag);
		snprintf(c->note, sizeof(c->note), "Nothing to save: the editors hold what "
		    "they were given.");
		if (status == 200)
			user_page(c, 200, u, cur_etag, eds, 0);
		else
			api_failed(c, status, u);
		goto out;
	}
	if (!bad) {
		api_user_uri(&uri, c->arg);
		status = 500;
		if (!uri.failed)
			admin_api(c, "PATCH", uri.p, json_object_to_json_string_ext(body,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    etag != NULL && etag[0] != '\0' ? etag : NULL, &status, &ans, NULL);
		if (status == 200) {
			admin_redirect_saved(c, "users");
			goto out;
		}
		if (status == 400) {
			/* The API's message, under the editor it is about. */
			i = fields == 1 ? last : strstr(admin_api_message(ans), "app_metadata")
			    != NULL ? 1 : 0;
			snprintf(eds[i].msg, sizeof(eds[i].msg), "%s", admin_api_message(ans));
			eds[i].error = eds[i].msg;
			bad = 1;
		} else if (status != 412) {
			api_failed(c, status, ans);
			goto out;
		}
	}
	/* Shown again: the person's text, and beside it the stored one on a conflict. */
	status = get_user(c, &u, cur_etag);
	if (status != 200) {
		api_failed(c, status, u);
		goto out;
	}
	if (bad)
		user_page(c, 400, u, etag != NULL ? etag : "", eds, 0);
	else
		user_page(c, 409, u, cur_etag, eds, 1);
out:
	for (i = 0; i < NMETA; i++) {
		free(eds[i].text);
		free(eds[i].orig);
	}
	json_object_put(body);
	json_object_put(ans);
	json_object_put(u);
	buf_free(&uri);
	free(etag);
}

void
admin_users_delete_ask(struct admin_ctx *c)
{
	struct json_object *u = NULL;
	struct mk_buf *b = &c->rs->body;
	int status = get_user(c, &u, NULL);

	if (status != 200) {
		api_failed(c, status, u);
		goto out;
	}
	if (!admin_may(c, SC_DELETE_USERS)) {
		admin_error(c, 403, "Not allowed", "This session's token may not delete users "
		    "(it lacks delete:users).");
		goto out;
	}
	c->rs->content_type = "text/html; charset=utf-8";
	buf_adds(&c->rs->headers, "Cache-Control: no-store\r\n");
	adm_head(c, "Delete user");
	buf_adds(b, "<h1>Delete ");
	adm_esc(b, user_title(u));
	buf_adds(b, "?</h1>\n<p>The user <code>");
	adm_esc(b, c->arg);
	buf_adds(b, "</code> and all of their metadata are removed for good.</p>\n"
	    "<form method=\"post\" action=\"");
	user_link(c, c->arg);
	buf_adds(b, "/delete\" class=\"actions\">");
	adm_csrf_field(c);
	buf_adds(b, "<button type=\"submit\" class=\"danger\">Delete this user</button> "
	    "<a class=\"button secondary\" href=\"");
	user_link(c, c->arg);
	buf_adds(b, "\">Cancel</a></form>\n");
	adm_foot(c);
out:
	json_object_put(u);
}

void
admin_users_delete(struct admin_ctx *c)
{
	struct mk_buf uri = { 0 };
	struct json_object *ans = NULL;
	int status = 500;

	api_user_uri(&uri, c->arg);
	if (!uri.failed)
		admin_api(c, "DELETE", uri.p, NULL, NULL, &status, &ans, NULL);
	if (status == 204 || status == 200)
		admin_redirect(c, "/users?deleted=1");
	else
		api_failed(c, status, ans);
	json_object_put(ans);
	buf_free(&uri);
}

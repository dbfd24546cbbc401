/*
 * admin_tokens: the tokens page: every token's id, scopes, subject, expiry
 * and creation (never a secret: the store has none), and revoke.  Only for
 * a session whose token holds every scope, the operator's own kind of token
 * (the API has no scope for tokens: metakeepctl is their tool); others get
 * 403 and see no link to it.  At most LIST_MAX rows are shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_ctx.h"
#include "log.h"
#include "util.h"

#define LIST_MAX 200

struct tlist {
	struct admin_ctx *c;
	size_t n, more;
};

static int
token_row(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct tlist *tl = ctx;
	struct admin_ctx *c = tl->c;
	struct mk_buf *b = &c->rs->body;
	struct auth_token at;
	struct mk_err err;
	char created[MK_ISO_LEN + 1], exp[MK_ISO_LEN + 1], scopes[512];

	(void)key;
	if (tl->n == LIST_MAX) {
		tl->more = 1;
		return 1;
	}
	if (auth_record_parse(rec, &at, created, &err) != MK_OK)
		return 0;
	tl->n++;
	auth_scopes_format(at.scopes, " ", scopes, sizeof(scopes));
	if (at.exp_ms != 0)
		mk_iso8601(at.exp_ms, exp);
	buf_printf(b, "<tr><td><code>%s</code>%s</td><td>", at.id,
	    strcmp(at.id, c->tok.id) == 0 ? " (this session)" : "");
	adm_esc(b, scopes);
	buf_adds(b, "</td><td class=\"hide-narrow\">");
	adm_esc(b, at.sub);
	buf_printf(b, "</td><td class=\"hide-narrow\">%s</td><td class=\"hide-narrow\">%s</td><td>",
	    at.exp_ms != 0 ? exp : "never", created);
	buf_printf(b, "<form method=\"post\" action=\"%s/tokens/%s/revoke\">", c->base, at.id);
	adm_csrf_field(c);
	buf_printf(b, "<button type=\"submit\" class=\"danger\" aria-label=\"Revoke token %s\">"
	    "Revoke</button></form></td></tr>\n", at.id);
	return 0;
}

static int
may_tokens(struct admin_ctx *c)
{
	if ((c->tok.scopes & SC_ALL) == SC_ALL)
		return 1;
	admin_error(c, 403, "Not allowed", "Tokens are for a session whose token holds every "
	    "scope (an operator's token from metakeepctl).");
	return 0;
}

void
admin_tokens_list(struct admin_ctx *c)
{
	struct mk_buf *b = &c->rs->body;
	struct tlist tl = { c, 0, 0 };
	char *rv = admin_param(c, "revoked");

	if (!may_tokens(c))
		goto out;
	if (rv != NULL && strlen(rv) <= AUTH_ID_LEN)
		snprintf(c->note, sizeof(c->note), "Token %s was revoked.", rv);
	c->rs->content_type = "text/html; charset=utf-8";
	buf_adds(&c->rs->headers, "Cache-Control: no-store\r\n");
	adm_head(c, "Tokens");
	buf_adds(b, "<h1>Tokens</h1>\n");
	adm_note(c);
	buf_adds(b, "<p class=\"hint\">New tokens are made with <code>metakeepctl token create"
	    "</code>. Revoking a token ends its sessions here too.</p>\n<table>\n<thead><tr>"
	    "<th scope=\"col\">Id</th><th scope=\"col\">Scopes</th><th scope=\"col\" "
	    "class=\"hide-narrow\">Subject</th><th scope=\"col\" class=\"hide-narrow\">Expires</th>"
	    "<th scope=\"col\" class=\"hide-narrow\">Created</th><th scope=\"col\">Action</th>"
	    "</tr></thead>\n<tbody>\n");
	if (auth_token_list(c->s, token_row, &tl) != MK_OK) {
		admin_error(c, 500, "Internal error", "The tokens could not be read.");
		goto out;
	}
	buf_adds(b, "</tbody>\n</table>\n");
	if (tl.more)
		buf_printf(b, "<p>Only the first %d tokens are shown; <code>metakeepctl token "
		    "list</code> shows all.</p>\n", LIST_MAX);
	adm_foot(c);
out:
	free(rv);
}

void
admin_tokens_revoke(struct admin_ctx *c)
{
	char full[AUTH_ID_LEN + 1], to[64];
	struct mk_err err;
	enum mk_code rc;

	if (!may_tokens(c))
		return;
	if (strlen(c->arg) != AUTH_ID_LEN) {
		admin_error(c, 400, "Bad request", "That is not a token id.");
		return;
	}
	rc = auth_token_revoke(c->s, c->arg, full, &err);
	if (rc == MK_ERR_NOTFOUND) {
		admin_error(c, 404, "No such token", "There is no token with that id.");
		return;
	}
	if (rc != MK_OK) {
		log_warnx("admin: revoke: %s", err.msg);
		admin_error(c, 500, "Internal error", "The token could not be revoked.");
		return;
	}
	snprintf(to, sizeof(to), "/tokens?revoked=%s", full);
	admin_redirect(c, to);
}

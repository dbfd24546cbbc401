/*
 * client: metakeepctl client create and client grant: a first machine
 * client for /oauth/token without an API call.  create makes a client as
 * POST /api/v2/clients does (svc) and prints its JSON, secret included,
 * once on stdout; with --scope it also grants it those scopes for the
 * audience, as grant does (grant.h).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "grant.h"
#include "jx.h"
#include "svc.h"
#include "ctl/ctl.h"

struct client_opts {
	const char *name;         /* -n */
	const char *audience;     /* -a, or NULL: the config's */
	uint32_t scopes;          /* -s, or'ed */
	int saw_scope;
};
static struct client_opts co;

static int opt_scope(const struct ctl_cmd *, const char *, void *);

static const struct ctl_opt create_opts[] = {
	{ 'n', "name", "NAME", &co.name, NULL, CTL_NONE, "the client's name (default m2m)" },
	{ 's', "scope", "SCOPES", &co, opt_scope, CTL_NONE,
	    "grant these scopes (space- or comma-separated, or \"all\")\nfor the audience" },
	{ 'a', "audience", "URL", &co.audience, NULL, CTL_NONE,
	    "the audience of the grant (default: the config's\naudience setting)" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

static const struct ctl_opt grant_opts[] = {
	{ 's', "scope", "SCOPES", &co, opt_scope, CTL_NONE,
	    "the scopes (space- or comma-separated, or \"all\");\nmay be repeated" },
	{ 'a', "audience", "URL", &co.audience, NULL, CTL_NONE,
	    "the audience (default: the config's audience setting)" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

static const char client_notes[] =
    "The audience is the API identifier clients ask /oauth/token for:\n"
    "https://HOST/api/v2/ with HOST the host (and port) they call, unless the\n"
    "config sets audience.\n";

const struct ctl_spec client_create_spec = {
	create_opts, 0, NULL, NULL, client_notes, NULL,
};
const struct ctl_spec client_grant_spec = {
	grant_opts, 1, "exactly one CLIENT_ID is needed", NULL, client_notes, NULL,
};

static int
opt_scope(const struct ctl_cmd *self, const char *arg, void *dst)
{
	struct client_opts *o = dst;
	struct mk_err err;
	uint32_t m;

	if (auth_scopes_parse(arg, &m, &err) != MK_OK)
		return usage_error(self, "%s", err.msg);
	o->scopes |= m;
	o->saw_scope = 1;
	return -1;
}

/* The grant's audience: --audience, else the config's; NULL with a message. */
static const char *
audience_of(struct ctl *ctl)
{
	if (co.audience != NULL && co.audience[0] != '\0')
		return co.audience;
	if (ctl->conf.audience[0] != '\0')
		return ctl->conf.audience;
	ctl_errx("no audience: give --audience https://HOST/api/v2/ (HOST: the host "
	    "and port clients call) or set audience in the config");
	return NULL;
}

/* Grant client_id the scopes for aud: create, or replace the scopes. */
static int
grant_set(struct ctl *ctl, const char *client_id, const char *aud)
{
	struct mk_buf out = MK_BUF_INIT;
	char id[GRANT_ID_LEN + 1], names[1024];
	struct mk_err err;
	enum mk_code rc;

	err.msg[0] = '\0';
	rc = grant_create(ctl->store, client_id, aud, co.scopes, &out, &err);
	if (rc == MK_ERR_EXISTS) {
		grant_id(client_id, aud, id);
		buf_reset(&out);
		rc = grant_update(ctl->store, id, co.scopes, &out, &err);
	}
	buf_free(&out);
	if (rc != MK_OK) {
		ctl_errx("cannot grant client %s: %s", client_id, err.msg);
		return CTL_FAIL;
	}
	auth_scopes_format(co.scopes, " ", names, sizeof(names));
	fprintf(stderr, PROG ": client %s may get tokens for %s with: %s\n", client_id, aud,
	    names[0] != '\0' ? names : "(no scope)");
	return CTL_OK;
}

int
cmd_client_create(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	struct json_object *body = NULL, *rec = NULL;
	struct mk_buf out = MK_BUF_INIT;
	const char *aud = NULL, *id;
	struct mk_err err;
	int rc = CTL_FAIL;

	(void)self;
	(void)operands;
	if (co.saw_scope && (aud = audience_of(ctl)) == NULL)
		return CTL_FAIL;
	body = json_object_new_object();
	if (body == NULL || json_object_object_add(body, "name",
	    json_object_new_string(co.name != NULL ? co.name : "m2m")) != 0 ||
	    json_object_object_add(body, "app_type",
	    json_object_new_string("non_interactive")) != 0) {
		ctl_errx("out of memory");
		goto out;
	}
	err.msg[0] = '\0';
	if (svc_client_create(ctl->store, &ctl->conf.limits, body, &out, &err) != MK_OK) {
		ctl_errx("cannot create the client: %s", err.msg);
		goto out;
	}
	/* The record, secret included, once on stdout. */
	if (printf("%s\n", out.p) < 0 || fflush(stdout) != 0) {
		ctl_errx("cannot write the client to stdout");
		goto out;
	}
	if (jx_parse_stored(out.p, out.n, &rec) != MK_OK || rec == NULL ||
	    (id = jx_get_str(rec, "client_id")) == NULL) {
		ctl_errx("the client's record does not parse");
		goto out;
	}
	fprintf(stderr, PROG ": created client %s\n", id);
	rc = co.saw_scope ? grant_set(ctl, id, aud) : CTL_OK;
out:
	json_object_put(rec);
	json_object_put(body);
	buf_free(&out);
	return rc;
}

int
cmd_client_grant(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	const char *aud;

	if (!co.saw_scope)
		return usage_error(self, "--scope is needed (\"\" for none)");
	if ((aud = audience_of(ctl)) == NULL)
		return CTL_FAIL;
	return grant_set(ctl, operands[0], aud);
}

/*
 * api_ctx: the checks and response pieces every handler shares (see
 * api_ctx.h): scopes, the token's subject, If-Match, shaping a stored
 * record for the reader, ETags.
 */
#include "api_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jx.h"
#include "log.h"

/*
 * RFC 9110 13.1.1: If-Match = "*" / #entity-tag, parsed into the
 * precondition svc checks: "*" alone is any; otherwise the opaque tags of
 * the strong entity-tags, in order, up to the first element that does not
 * parse (what follows it cannot match); a weak tag (W/"...") never
 * matches under the strong comparison, so it is left out.  The slices
 * point into h; *tags is owned (free it) and NULL when there are none.
 * Returns -1 when out of memory.
 */
static int
if_match_parse(const char *h, struct svc_precond *pre, struct mk_slice **tags)
{
	const char *p = h, *q;
	struct mk_slice *t;
	size_t max = 0;
	int weak;

	memset(pre, 0, sizeof(*pre));
	*tags = NULL;
	p += strspn(p, " \t");
	if (*p == '*') {
		p++;
		p += strspn(p, " \t");
		pre->any = *p == '\0';
		return 0;
	}
	/* Each tag takes two quotes: that bounds their number. */
	for (q = p; (q = strchr(q, '"')) != NULL; q++)
		max++;
	if (max < 2)
		return 0;
	if ((t = calloc(max / 2, sizeof(*t))) == NULL)
		return -1;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		weak = 0;
		if (p[0] == 'W' && p[1] == '/') {
			weak = 1;
			p += 2;
		}
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL)
			break;
		if (!weak) {
			t[pre->n].p = p + 1;
			t[pre->n].n = (size_t)(q - p - 1);
			pre->n++;
		}
		p = q + 1;
		p += strspn(p, " \t");
		if (*p != ',' && *p != '\0')
			break;
	}
	pre->versions = t;
	*tags = t;
	return 0;
}

int
api_need_scope(struct api_ctx *c, uint32_t want)
{
	char names[512];

	if (c->tok.scopes & want)
		return 1;
	auth_scopes_format(want, ",", names, sizeof(names));
	mk_fail(&c->err, MK_ERR_SCOPE, "Insufficient scope, expected any of: %s", names);
	return 0;
}

int
api_same_subject(struct api_ctx *c)
{
	if (strcmp(c->tok.sub, c->id) == 0)
		return 1;
	mk_fail(&c->err, MK_ERR_FORBIDDEN,
	    "User to be acted on does not match subject in bearer token.");
	return 0;
}

enum mk_code
api_precond(struct api_ctx *c, const struct svc_precond **out)
{
	*out = NULL;
	if (c->rq->if_match == NULL)
		return MK_OK;
	if (if_match_parse(c->rq->if_match, &c->pre, &c->pre_tags) == -1)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	*out = &c->pre;
	return MK_OK;
}

enum mk_code
api_emit_record(struct mk_buf *out, struct mk_slice rec, const struct api_fields *f,
    int hide_secret)
{
	struct json_object *o = NULL, *shaped = NULL;
	const char *text;
	size_t len;
	enum mk_code rc = MK_ERR_INTERNAL;

	if ((f == NULL || f->n == 0) && !hide_secret) {
		buf_add(out, rec.p, rec.n);
		return out->failed ? MK_ERR_NOMEM : MK_OK;
	}
	if (jx_parse_stored(rec.p, rec.n, &o) != MK_OK) {
		log_warnx("a stored record does not parse");
		return MK_ERR_INTERNAL;
	}
	if (hide_secret)
		json_object_object_del(o, "client_secret");
	if (f != NULL && f->n > 0) {
		if ((shaped = json_object_new_object()) == NULL)
			goto out;
		json_object_object_foreach(o, key, val) {
			if (!api_fields_keep(f, key))
				continue;
			if (json_object_object_add(shaped, key, json_object_get(val)) != 0) {
				json_object_put(val);
				goto out;
			}
		}
		text = jx_text(shaped, &len);
	} else
		text = jx_text(o, &len);
	if (text != NULL && buf_add(out, text, len) == 0)
		rc = MK_OK;
out:
	json_object_put(shaped);
	json_object_put(o);
	return rc;
}

/*
 * spec 7: the ETag header of one record, its version quoted, from its stored
 * bytes (for writes, the body svc returned, which is exactly what it
 * stored).  A hash of ~1 KB keeps the GET fast path free of parsing.
 */
static void
add_etag(struct http_resp *rs, const char *p, size_t n)
{
	char v[SVC_VERSION_SIZE];

	svc_version(p, n, v);
	buf_printf(&rs->headers, "ETag: \"%s\"\r\n", v);
}

enum mk_code
api_send_record(struct api_ctx *c, enum store_table t, int hide_secret, const char *noun)
{
	struct api_fields f;
	struct mk_slice rec, key = { c->id, strlen(c->id) };
	enum mk_code rc;

	if ((rc = api_query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	if ((rc = store_get(c->rtx, t, key, &rec)) != MK_OK)
		return mk_fail(&c->err, rc, "%s lookup failed", noun);
	buf_reset(&c->rs->body);
	if ((rc = api_emit_record(&c->rs->body, rec, &f, hide_secret)) != MK_OK)
		return mk_fail(&c->err, rc, "%s output failed", noun);
	add_etag(c->rs, rec.p, rec.n);
	c->rs->status = 200;
	return MK_OK;
}

enum mk_code
api_hide_secret(struct api_ctx *c)
{
	struct mk_buf tmp = MK_BUF_INIT;
	struct mk_slice rec = { c->rs->body.p, c->rs->body.n };
	enum mk_code rc;

	if ((rc = api_emit_record(&tmp, rec, NULL, 1)) == MK_OK) {
		buf_reset(&c->rs->body);
		if (buf_add(&c->rs->body, tmp.p, tmp.n) == -1)
			rc = MK_ERR_NOMEM;
	}
	buf_free(&tmp);
	return rc == MK_OK ? MK_OK : mk_fail(&c->err, rc, "client output failed");
}

enum mk_code
api_written(struct api_ctx *c, enum mk_code rc, int status)
{
	if (rc == MK_OK) {
		add_etag(c->rs, c->rs->body.p, c->rs->body.n);
		c->rs->status = status;
	}
	return rc;
}

int
api_list_emit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct api_list *ls = ctx;

	(void)key;
	if (ls->n > 0)
		buf_addc(ls->out, ',');
	if ((ls->rc = api_emit_record(ls->out, rec, ls->f, ls->hide_secret)) != MK_OK)
		return 1;
	ls->n++;
	return 0;
}


/* Is h a plain host[:port] (letters, digits, '.', '-', ':', IPv6 brackets)? */
static int
host_ok(const char *h)
{
	size_t n;

	if (h == NULL || (n = strlen(h)) == 0 || n > 255)
		return 0;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:[]") == n;
}

void
api_issuer(struct api_ctx *c)
{
	const char *host = host_ok(c->rq->host) ? c->rq->host : "localhost";
	const struct api_conf *cf = c->conf;

	if (cf->issuer != NULL && cf->issuer[0] != '\0')
		snprintf(c->issuer, sizeof(c->issuer), "%s", cf->issuer);
	else
		snprintf(c->issuer, sizeof(c->issuer), "https://%s/", host);
	if (cf->audience != NULL && cf->audience[0] != '\0')
		snprintf(c->audience, sizeof(c->audience), "%s", cf->audience);
	else
		snprintf(c->audience, sizeof(c->audience), "https://%s/api/v2/", host);
}

int
api_audience_ok(const struct api_ctx *c, const char *aud)
{
	static const char pre[] = "https://", post[] = "/api/v2/";
	size_t n = strlen(aud), hn;
	char host[256];

	if (c->conf->audience != NULL && c->conf->audience[0] != '\0')
		return strcmp(aud, c->conf->audience) == 0;
	if (n <= strlen(pre) + strlen(post) || strncmp(aud, pre, strlen(pre)) != 0 ||
	    strcmp(aud + n - strlen(post), post) != 0)
		return 0;
	hn = n - strlen(pre) - strlen(post);
	if (hn >= sizeof(host))
		return 0;
	memcpy(host, aud + strlen(pre), hn);
	host[hn] = '\0';
	return host_ok(host);
}

int
api_content_type(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

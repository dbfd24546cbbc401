/*
 * admin_session: the admin page's sign-ins, stored in the store's
 * ST_SESSIONS table so that every worker (and every CGI process) sees them.
 *
 * The cookie mk_admin holds a random session id (43 url-safe characters,
 * 256 bits); the table's key is its SHA-256, so the store holds no usable
 * id.  The record is {"tok":"<the token's key>","csrf":"...","exp":<ms>}:
 * the token itself is never stored, only its key (auth_hash), and every
 * request checks that token again (auth_check_hash), so a revoked or
 * expired token ends its sessions at once.  A session signed in with a
 * client's id and secret holds the JWT POST /oauth/token issued it
 * ({"jwt":...} instead of "tok"; it never leaves the server: not in the
 * cookie, a URL or a log), checked again on every request as the API
 * checks it (auth_check: signature, expiry, the client's grant still
 * there), so deleting the client or its grant ends the session.  A session ends at exp (8 hours,
 * or the token's own expiry when sooner) or at sign-out.
 *
 * The cookie is HttpOnly, SameSite=Strict, Path=<mount>/, and Secure when
 * the request came over https.  Every form carries the session's CSRF
 * token; the sign-in form, before any session, a double-submit pair
 * (cookie mk_login and the same value in the form).
 *
 * Expired sessions are deleted when a new one starts: at most
 * SWEEP_SCAN records looked at and SWEEP_DEL deleted, so no sign-in does
 * unbounded work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "admin_ctx.h"
#include "jx.h"
#include "log.h"
#include "util.h"

#define COOKIE_SID "mk_admin"
#define COOKIE_LOGIN "mk_login"
#define SWEEP_SCAN 256
#define SWEEP_DEL 32

/* The value of cookie name in the Cookie header into out; 1 when found. */
static int
cookie_get(const char *hdr, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name), vlen;
	const char *p = hdr, *end;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		vlen = end ? (size_t)(end - p) : strlen(p);
		if (vlen > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			vlen -= nlen + 1;
			if (vlen + 1 > outlen)
				return 0;
			memcpy(out, p + nlen + 1, vlen);
			out[vlen] = '\0';
			return 1;
		}
		p = end;
	}
	return 0;
}

static void
set_cookie(struct admin_ctx *c, const char *name, const char *value, long max_age)
{
	buf_printf(&c->rs->headers, "Set-Cookie: %s=%s; Path=%s/; Max-Age=%ld; HttpOnly; "
	    "SameSite=Strict%s\r\n", name, value, c->base, max_age,
	    c->rq->https ? "; Secure" : "");
}

void
adm_session_load(struct admin_ctx *c)
{
	char sid[ADMIN_SID_LEN + 1], hash[AUTH_HASH_LEN + 1];
	struct json_object *o = NULL, *v;
	struct store_txn *t = NULL;
	struct mk_slice key, rec;
	struct mk_err err;
	const char *tok, *jwt, *csrf;
	int64_t now = mk_now_ms(), exp;

	c->signed_in = 0;
	if (c->rq->cookie == NULL || !cookie_get(c->rq->cookie, COOKIE_SID, sid, sizeof(sid)) ||
	    strlen(sid) != ADMIN_SID_LEN)
		return;
	mk_sha256_hex(sid, ADMIN_SID_LEN, hash);
	key.p = hash;
	key.n = AUTH_HASH_LEN;
	if (store_read_begin(c->s, &t) != MK_OK)
		return;
	if (store_get(t, ST_SESSIONS, key, &rec) != MK_OK ||
	    jx_parse_stored(rec.p, rec.n, &o) != MK_OK)
		goto out;
	tok = jx_get_str(o, "tok");
	jwt = jx_get_str(o, "jwt");
	csrf = jx_get_str(o, "csrf");
	if ((tok == NULL) == (jwt == NULL) || csrf == NULL || strlen(csrf) != ADMIN_CSRF_LEN ||
	    !json_object_object_get_ex(o, "exp", &v))
		goto out;
	exp = json_object_get_int64(v);
	if (now >= exp)
		goto out;
	if (tok != NULL && auth_check_hash(t, tok, now, &c->tok, &err) != MK_OK)
		goto out;
	if (jwt != NULL && admin_check_jwt(c, t, jwt, &c->tok, &err) != MK_OK)
		goto out;
	memcpy(c->sid_hash, hash, sizeof(c->sid_hash));
	memcpy(c->csrf, csrf, ADMIN_CSRF_LEN + 1);
	c->exp_ms = exp;
	c->signed_in = 1;
out:
	json_object_put(o);
	store_txn_end(t);
}

struct sweep {
	int64_t now;
	size_t seen, n;
	char keys[SWEEP_DEL][AUTH_HASH_LEN + 1];
};

/* Collect expired sessions (store_visit_fn); stops after SWEEP_SCAN. */
static int
sweep_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct sweep *sw = ctx;
	struct json_object *o = NULL, *v;
	int expired = 1;

	if (++sw->seen > SWEEP_SCAN || sw->n == SWEEP_DEL)
		return 1;
	if (jx_parse_stored(rec.p, rec.n, &o) == MK_OK &&
	    json_object_object_get_ex(o, "exp", &v))
		expired = sw->now >= json_object_get_int64(v);
	json_object_put(o);
	if (expired && key.n == AUTH_HASH_LEN) {
		memcpy(sw->keys[sw->n], key.p, AUTH_HASH_LEN);
		sw->keys[sw->n][AUTH_HASH_LEN] = '\0';
		sw->n++;
	}
	return 0;
}

struct start {
	const char *key;
	const char *rec;
	struct sweep sw;
};

static enum mk_code
start_write(struct store_txn *t, void *ctx, struct mk_err *err)
{
	struct start *st = ctx;
	struct mk_slice k, r;
	enum mk_code rc;
	size_t i;

	if ((rc = store_scan(t, ST_SESSIONS, sweep_visit, &st->sw)) != MK_OK)
		return mk_fail(err, rc, "sessions: scan failed");
	for (i = 0; i < st->sw.n; i++) {
		k.p = st->sw.keys[i];
		k.n = AUTH_HASH_LEN;
		if ((rc = store_del(t, ST_SESSIONS, k)) != MK_OK && rc != MK_ERR_NOTFOUND)
			return mk_fail(err, rc, "sessions: delete failed");
	}
	k.p = st->key;
	k.n = strlen(st->key);
	r.p = st->rec;
	r.n = strlen(st->rec);
	if ((rc = store_put(t, ST_SESSIONS, k, r)) != MK_OK)
		return mk_fail(err, rc, "sessions: put failed");
	return MK_OK;
}

enum mk_code
adm_session_start(struct admin_ctx *c, const char *tok_hash, const char *jwt, int64_t tok_exp,
    struct mk_err *err)
{
	char sid[ADMIN_SID_LEN + 1], hash[AUTH_HASH_LEN + 1], csrf[ADMIN_CSRF_LEN + 1];
	struct json_object *o = NULL;
	const char *rec;
	struct start st;
	int64_t now = mk_now_ms(), exp = now + ADMIN_SESSION_MS;
	enum mk_code rc;

	if (tok_exp != 0 && tok_exp < exp)
		exp = tok_exp;
	if (mk_random_chars(sid, ADMIN_SID_LEN, MK_ALPHA_URLSAFE) == -1 ||
	    mk_random_chars(csrf, ADMIN_CSRF_LEN, MK_ALPHA_URLSAFE) == -1)
		return mk_fail(err, MK_ERR_INTERNAL, "no randomness");
	mk_sha256_hex(sid, ADMIN_SID_LEN, hash);
	if ((o = json_object_new_object()) == NULL ||
	    jx_set_str(o, jwt != NULL ? "jwt" : "tok", jwt != NULL ? jwt : tok_hash, err) != MK_OK ||
	    jx_set_str(o, "csrf", csrf, err) != MK_OK ||
	    json_object_object_add(o, "exp", json_object_new_int64(exp)) != 0 ||
	    (rec = jx_text(o, NULL)) == NULL) {
		json_object_put(o);
		return mk_fail(err, MK_ERR_NOMEM, "sessions: out of memory");
	}
	memset(&st, 0, sizeof(st));
	st.key = hash;
	st.rec = rec;
	st.sw.now = now;
	rc = store_write(c->s, start_write, &st, err);
	json_object_put(o);
	if (rc != MK_OK)
		return rc;
	set_cookie(c, COOKIE_SID, sid, (long)((exp - now) / 1000));
	set_cookie(c, COOKIE_LOGIN, "", 0);
	memcpy(c->sid_hash, hash, sizeof(c->sid_hash));
	memcpy(c->csrf, csrf, sizeof(c->csrf));
	c->exp_ms = exp;
	return MK_OK;
}

static enum mk_code
end_write(struct store_txn *t, void *ctx, struct mk_err *err)
{
	struct mk_slice k;
	enum mk_code rc;

	k.p = ctx;
	k.n = AUTH_HASH_LEN;
	rc = store_del(t, ST_SESSIONS, k);
	if (rc != MK_OK && rc != MK_ERR_NOTFOUND)
		return mk_fail(err, rc, "sessions: delete failed");
	return MK_OK;
}

void
adm_session_end(struct admin_ctx *c)
{
	struct mk_err err;

	if (c->signed_in && store_write(c->s, end_write, c->sid_hash, &err) != MK_OK)
		log_warnx("admin: sign-out: %s", err.msg);
	set_cookie(c, COOKIE_SID, "", 0);
}

/* 1 when the form's csrf field equals want (ADMIN_CSRF_LEN bytes). */
static int
csrf_is(struct admin_ctx *c, const char *want)
{
	char *got = admin_form(c, "csrf");
	int ok;

	ok = got != NULL && strlen(want) == ADMIN_CSRF_LEN && strlen(got) == ADMIN_CSRF_LEN &&
	    mk_ct_equal(got, want, ADMIN_CSRF_LEN);
	free(got);
	return ok;
}

int
adm_session_csrf_ok(struct admin_ctx *c)
{
	return c->signed_in && csrf_is(c, c->csrf);
}

void
adm_login_csrf_new(struct admin_ctx *c, char out[ADMIN_CSRF_LEN + 1])
{
	if (mk_random_chars(out, ADMIN_CSRF_LEN, MK_ALPHA_URLSAFE) == -1)
		out[0] = '\0';   /* then no sign-in can pass csrf_is */
	set_cookie(c, COOKIE_LOGIN, out, 3600);
}

int
adm_login_csrf_ok(struct admin_ctx *c)
{
	char v[ADMIN_CSRF_LEN + 1];

	return c->rq->cookie != NULL && cookie_get(c->rq->cookie, COOKIE_LOGIN, v, sizeof(v)) &&
	    csrf_is(c, v);
}

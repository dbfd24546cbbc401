/*
 * auth: bearer tokens and scopes (see auth.h).
 *
 * The presented token is hashed and the hash is the key of its record in
 * ST_TOKENS, so a lookup never compares the secret byte by byte and the
 * store never holds the token itself.  Scopes are kept in records by their
 * Auth0 names rather than as bits, so the bit layout can change without
 * rewriting stored tokens; names this build does not know are ignored, which
 * lets an older binary read records written by a newer one.
 */
#include "auth.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "log.h"
#include "oauth.h"
#include "util.h"

/* Longest credential we hash; anything longer is not one of ours. */
#define AUTH_PRESENTED_MAX 512
/* Longest record we parse; ours are a few hundred bytes. */
#define AUTH_RECORD_MAX 65536
#define AUTH_RECORD_DEPTH 8
/* Shortest id prefix accepted by auth_token_revoke. */
#define AUTH_PREFIX_MIN 4

static const struct {
	uint32_t bit;
	const char *name;
} auth_scopes[] = {
	{ SC_READ_USERS, "read:users" },
	{ SC_CREATE_USERS, "create:users" },
	{ SC_UPDATE_USERS, "update:users" },
	{ SC_DELETE_USERS, "delete:users" },
	{ SC_UPDATE_USERS_APP_METADATA, "update:users_app_metadata" },
	{ SC_READ_CURRENT_USER, "read:current_user" },
	{ SC_UPDATE_CURRENT_USER_METADATA, "update:current_user_metadata" },
	{ SC_READ_CLIENTS, "read:clients" },
	{ SC_READ_CLIENT_KEYS, "read:client_keys" },
	{ SC_CREATE_CLIENTS, "create:clients" },
	{ SC_UPDATE_CLIENTS, "update:clients" },
	{ SC_UPDATE_CLIENT_KEYS, "update:client_keys" },
	{ SC_DELETE_CLIENTS, "delete:clients" },
	{ SC_READ_CONNECTIONS, "read:connections" },
	{ SC_READ_LOGS, "read:logs" },
	{ SC_READ_LOGS_USERS, "read:logs_users" },
	{ SC_READ_CLIENT_GRANTS, "read:client_grants" },
	{ SC_CREATE_CLIENT_GRANTS, "create:client_grants" },
	{ SC_UPDATE_CLIENT_GRANTS, "update:client_grants" },
	{ SC_DELETE_CLIENT_GRANTS, "delete:client_grants" },
};
#define AUTH_NSCOPES (sizeof(auth_scopes) / sizeof(auth_scopes[0]))

const char *
auth_scope_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < AUTH_NSCOPES; i++)
		if (auth_scopes[i].bit == bit)
			return auth_scopes[i].name;
	return NULL;
}

uint32_t
auth_scope_bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < AUTH_NSCOPES; i++)
		if (strlen(auth_scopes[i].name) == n &&
		    memcmp(auth_scopes[i].name, p, n) == 0)
			return auth_scopes[i].bit;
	return 0;
}

enum mk_code
auth_scopes_parse(const char *list, uint32_t *out, struct mk_err *err)
{
	uint32_t mask = 0, bit;
	const char *p = list, *start;
	size_t n;

	if (list == NULL) {
		*out = 0;
		return MK_OK;
	}
	for (;;) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != ',' && *p != '\t')
			p++;
		n = (size_t)(p - start);
		if (n == 3 && memcmp(start, "all", 3) == 0)
			bit = SC_ALL;
		else
			bit = auth_scope_bit(start, n);
		if (bit == 0)
			/* Bound the echo: the list may come from anywhere. */
			return mk_fail(err, MK_ERR_INVALID, "unknown scope: %.*s",
			    n > 64 ? 64 : (int)n, start);
		mask |= bit;
	}
	*out = mask;
	return MK_OK;
}

void
auth_scopes_format(uint32_t mask, const char *sep, char *out, size_t outlen)
{
	size_t i, used = 0, slen = strlen(sep), nlen;
	int first = 1;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < AUTH_NSCOPES; i++) {
		if ((mask & auth_scopes[i].bit) == 0)
			continue;
		nlen = strlen(auth_scopes[i].name);
		/* Stop at the first name that does not fit whole. */
		if (used + (first ? 0 : slen) + nlen + 1 > outlen)
			break;
		if (!first) {
			memcpy(out + used, sep, slen);
			used += slen;
		}
		memcpy(out + used, auth_scopes[i].name, nlen);
		used += nlen;
		out[used] = '\0';
		first = 0;
	}
}

/*
 * Parse rec (not NUL-terminated) into a json-c object, strictly and with a
 * depth limit.  Returns an owned object, or NULL.
 */
static struct json_object *
record_json(struct mk_slice rec)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;

	if (rec.n == 0 || rec.n > AUTH_RECORD_MAX)
		return NULL;
	if ((tok = json_tokener_new_ex(AUTH_RECORD_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, rec.p, (int)rec.n);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != rec.n ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

enum mk_code
auth_record_parse(struct mk_slice rec, struct auth_token *out, char *created,
    struct mk_err *err)
{
	struct json_object *o = NULL, *v, *e;
	struct auth_token t;
	char cr[MK_ISO_LEN + 1] = "";
	const char *s;
	size_t i, n;
	enum mk_code rc = MK_ERR_INVALID;

	memset(&t, 0, sizeof(t));
	if ((o = record_json(rec)) == NULL) {
		mk_fail(err, rc, "token record: not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(o, "id", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) != AUTH_ID_LEN) {
		mk_fail(err, rc, "token record: bad id");
		goto out;
	}
	memcpy(t.id, json_object_get_string(v), AUTH_ID_LEN);
	t.id[AUTH_ID_LEN] = '\0';

	if (!json_object_object_get_ex(o, "scopes", &v) ||
	    !json_object_is_type(v, json_type_array)) {
		mk_fail(err, rc, "token record: bad scopes");
		goto out;
	}
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string)) {
			mk_fail(err, rc, "token record: bad scopes");
			goto out;
		}
		/* Unknown names add 0: ignored, see the top of the file. */
		t.scopes |= auth_scope_bit(json_object_get_string(e),
		    (size_t)json_object_get_string_len(e));
	}

	if (json_object_object_get_ex(o, "sub", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (size_t)json_object_get_string_len(v) >= sizeof(t.sub) ||
		    json_object_get_string_len(v) == 0) {
			mk_fail(err, rc, "token record: bad sub");
			goto out;
		}
		s = json_object_get_string(v);
		/* An embedded NUL would make the subject mean something else. */
		if (strlen(s) != (size_t)json_object_get_string_len(v)) {
			mk_fail(err, rc, "token record: bad sub");
			goto out;
		}
		memcpy(t.sub, s, strlen(s) + 1);
	}

	if (json_object_object_get_ex(o, "exp", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) <= 0) {
			mk_fail(err, rc, "token record: bad exp");
			goto out;
		}
		t.exp_ms = json_object_get_int64(v);
	}

	if (json_object_object_get_ex(o, "created_at", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) == MK_ISO_LEN)
		memcpy(cr, json_object_get_string(v), MK_ISO_LEN + 1);

	*out = t;
	if (created != NULL)
		memcpy(created, cr, sizeof(cr));
	rc = MK_OK;
out:
	json_object_put(o);
	return rc;
}

/*
 * Tokens recently checked by this process: the presented token, its hash
 * and its parsed record.  Hashing the token and parsing its record were
 * most of the cost of a GET (bench/run, BENCHMARKS.md).  An entry is used
 * only while the stored record is byte for byte the one it was parsed from,
 * so the lookup still happens on every request and a token revoked or
 * rewritten by another process (metakeepctl) is never served from here.
 * Presented tokens are compared in constant time.  They stay in this
 * process's memory only, as the request that carried them did.
 */
#define AUTH_CACHE_SLOTS 8
#define AUTH_CACHE_REC_MAX 1024
#define AUTH_CACHE_TOKEN_MAX 64

struct auth_cache_slot {
	int used;
	size_t toklen;
	char token[AUTH_CACHE_TOKEN_MAX];
	char hash[AUTH_HASH_LEN];
	size_t reclen;
	char rec[AUTH_CACHE_REC_MAX];
	struct auth_token tok;
};

static struct auth_cache_slot auth_cache[AUTH_CACHE_SLOTS];
static unsigned int auth_cache_next;

/* The hash of a presented token seen before; 1 and hash[] set, or 0. */
static int
auth_cache_hash(struct mk_slice tok, char *hash)
{
	const struct auth_cache_slot *c;
	size_t i;

	for (i = 0; i < AUTH_CACHE_SLOTS; i++) {
		c = &auth_cache[i];
		if (c->used && c->toklen == tok.n && mk_ct_equal(c->token, tok.p, tok.n)) {
			memcpy(hash, c->hash, AUTH_HASH_LEN);
			return 1;
		}
	}
	return 0;
}

static int
auth_cache_get(const char *hash, struct mk_slice rec, struct auth_token *out)
{
	const struct auth_cache_slot *c;
	size_t i;

	for (i = 0; i < AUTH_CACHE_SLOTS; i++) {
		c = &auth_cache[i];
		if (c->used && c->reclen == rec.n &&
		    memcmp(c->hash, hash, AUTH_HASH_LEN) == 0 &&
		    memcmp(c->rec, rec.p, rec.n) == 0) {
			*out = c->tok;
			return 1;
		}
	}
	return 0;
}

static void
auth_cache_put(struct mk_slice presented, const char *hash, struct mk_slice rec,
    const struct auth_token *tok)
{
	struct auth_cache_slot *c;
	size_t i;

	if (rec.n > AUTH_CACHE_REC_MAX || presented.n > AUTH_CACHE_TOKEN_MAX)
		return;
	/* The slot of an older version of this token, else round robin. */
	for (i = 0; i < AUTH_CACHE_SLOTS; i++)
		if (auth_cache[i].used && memcmp(auth_cache[i].hash, hash, AUTH_HASH_LEN) == 0)
			break;
	if (i == AUTH_CACHE_SLOTS)
		i = auth_cache_next++ % AUTH_CACHE_SLOTS;
	c = &auth_cache[i];
	memcpy(c->token, presented.p, presented.n);
	c->toklen = presented.n;
	memcpy(c->hash, hash, AUTH_HASH_LEN);
	memcpy(c->rec, rec.p, rec.n);
	c->reclen = rec.n;
	c->tok = *tok;
	c->used = 1;
}

/*
 * Find the token in an Authorization value: "Bearer", case-insensitive, then
 * one or more blanks, then the token up to trailing blanks.  Returns 1 and
 * the token's slice; 0 when there is no credential at all (no value, only
 * blanks, or "Bearer" without a token); -1 when there is one but not a
 * bearer credential (a bare token, "Basic ...", "Bearertoken"), so that the
 * answer can say what to send instead.
 */
static int
bearer_token(const char *h, struct mk_slice *tok)
{
	const char *p, *end;

	if (h == NULL)
		return 0;
	while (*h == ' ' || *h == '\t')
		h++;
	if (*h == '\0')
		return 0;
	if (strncasecmp(h, "Bearer", 6) != 0)
		return -1;
	p = h + 6;
	if (*p != ' ' && *p != '\t' && *p != '\0')
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == p)
		return 0;
	tok->p = p;
	tok->n = (size_t)(end - p);
	return 1;
}

/* A JWT has three parts; an "mk_" token has no dot. */
static int
is_jwt(struct mk_slice tok)
{
	return memchr(tok.p, '.', tok.n) != NULL;
}

enum mk_code
auth_check(struct store_txn *t, const char *authorization,
    const struct auth_expect *want, struct auth_token *out, struct mk_err *err)
{
	struct mk_slice tok, key, rec;
	struct auth_token at;
	char hash[AUTH_HASH_LEN + 1];
	struct mk_err perr;
	enum mk_code rc;

	switch (bearer_token(authorization, &tok)) {
	case 0:
		return mk_fail(err, MK_ERR_UNAUTH, "Missing authentication");
	case -1:
		/* Auth0's sentence, then what to send. */
		return mk_fail(err, MK_ERR_UNAUTH, "Bad HTTP authentication "
		    "header format: send 'Authorization: Bearer <token>'");
	default:
		break;
	}
	if (is_jwt(tok)) {
		if (want->issuer == NULL || want->audience == NULL)
			return mk_fail(err, MK_ERR_UNAUTH, "Invalid token");
		return oauth_verify(t, tok, want, out, err);
	}
	if (tok.n > AUTH_PRESENTED_MAX)
		return mk_fail(err, MK_ERR_UNAUTH, "Invalid token");

	if (!auth_cache_hash(tok, hash))
		mk_sha256_hex(tok.p, tok.n, hash);
	hash[AUTH_HASH_LEN] = '\0';
	key.p = hash;
	key.n = AUTH_HASH_LEN;
	rc = store_get(t, ST_TOKENS, key, &rec);
	if (rc == MK_ERR_NOTFOUND)
		return mk_fail(err, MK_ERR_UNAUTH, "Invalid token");
	if (rc != MK_OK)
		return mk_fail(err, rc, "token lookup failed");

	if (!auth_cache_get(hash, rec, &at)) {
		if (auth_record_parse(rec, &at, NULL, &perr) != MK_OK) {
			/* Only the id-free hash prefix is logged, never the token. */
			log_warnx("token %.16s: %s", hash, perr.msg);
			return mk_fail(err, MK_ERR_INTERNAL, "corrupt token record");
		}
		auth_cache_put(tok, hash, rec, &at);
	}
	if (at.exp_ms != 0 && want->now_ms >= at.exp_ms)
		return mk_fail(err, MK_ERR_UNAUTH, "Invalid token");
	*out = at;
	return MK_OK;
}

void
auth_hash(const char *token, char out[AUTH_HASH_LEN + 1])
{
	mk_sha256_hex(token, strlen(token), out);
	out[AUTH_HASH_LEN] = '\0';
}

enum mk_code
auth_check_hash(struct store_txn *t, const char *hash, int64_t now_ms,
    struct auth_token *out, struct mk_err *err)
{
	struct mk_slice key, rec;
	struct auth_token at;
	struct mk_err perr;
	enum mk_code rc;

	key.p = hash;
	key.n = strlen(hash);
	if (key.n != AUTH_HASH_LEN)
		return mk_fail(err, MK_ERR_UNAUTH, "Invalid token");
	rc = store_get(t, ST_TOKENS, key, &rec);
	if (rc == MK_ERR_NOTFOUND)
		return mk_fail(err, MK_ERR_UNAUTH, "Invalid token");
	if (rc != MK_OK)
		return mk_fail(err, rc, "token lookup failed");
	if (auth_record_parse(rec, &at, NULL, &perr) != MK_OK) {
		log_warnx("token %.16s: %s", hash, perr.msg);
		return mk_fail(err, MK_ERR_INTERNAL, "corrupt token record");
	}
	if (at.exp_ms != 0 && now_ms >= at.exp_ms)
		return mk_fail(err, MK_ERR_UNAUTH, "Invalid token");
	*out = at;
	return MK_OK;
}

/* Build the JSON text of a token record.  Returns an owned object, or NULL. */
static struct json_object *
record_build(const char *id, uint32_t scopes, const char *sub, int64_t exp_ms,
    int64_t now_ms)
{
	struct json_object *o = NULL, *a = NULL, *v = NULL;
	char iso[MK_ISO_LEN + 1];
	size_t i;

	if ((o = json_object_new_object()) == NULL)
		goto fail;
	if ((v = json_object_new_string(id)) == NULL ||
	    json_object_object_add(o, "id", v) != 0)
		goto fail;
	v = NULL;
	if ((a = json_object_new_array()) == NULL)
		goto fail;
	for (i = 0; i < AUTH_NSCOPES; i++) {
		if ((scopes & auth_scopes[i].bit) == 0)
			continue;
		if ((v = json_object_new_string(auth_scopes[i].name)) == NULL ||
		    json_object_array_add(a, v) != 0)
			goto fail;
		v = NULL;
	}
	if (json_object_object_add(o, "scopes", a) != 0)
		goto fail;
	a = NULL;
	if (sub != NULL) {
		if ((v = json_object_new_string(sub)) == NULL ||
		    json_object_object_add(o, "sub", v) != 0)
			goto fail;
		v = NULL;
	}
	if (exp_ms != 0) {
		if ((v = json_object_new_int64(exp_ms)) == NULL ||
		    json_object_object_add(o, "exp", v) != 0)
			goto fail;
		v = NULL;
	}
	mk_iso8601(now_ms, iso);
	if ((v = json_object_new_string(iso)) == NULL ||
	    json_object_object_add(o, "created_at", v) != 0)
		goto fail;
	return o;
fail:
	/* A failed add did not take the reference: drop it ourselves. */
	json_object_put(v);
	json_object_put(a);
	json_object_put(o);
	return NULL;
}

struct create_ctx {
	struct mk_slice key;
	struct mk_slice rec;
};

static enum mk_code
create_fn(struct store_txn *t, void *arg, struct mk_err *err)
{
	struct create_ctx *c = arg;
	struct mk_slice old;
	enum mk_code rc;

	/* A 256-bit collision means the RNG is broken: refuse, do not overwrite. */
	rc = store_get(t, ST_TOKENS, c->key, &old);
	if (rc == MK_OK) {
		log_warnx("token hash collision: random source suspect");
		return mk_fail(err, MK_ERR_INTERNAL, "token hash collision");
	}
	if (rc != MK_ERR_NOTFOUND)
		return mk_fail(err, rc, "token store failed");
	if ((rc = store_put(t, ST_TOKENS, c->key, c->rec)) != MK_OK)
		return mk_fail(err, rc, "token store failed");
	return MK_OK;
}

enum mk_code
auth_token_create(struct store *s, const struct auth_grant *g, char *token_out,
    char *id_out, struct mk_err *err)
{
	uint32_t scopes = g->scopes;
	const char *sub = g->sub;
	int64_t exp_ms = g->exp_ms;
	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1], id[AUTH_ID_LEN + 1];
	struct json_object *rec = NULL;
	struct create_ctx c;
	const char *text;
	size_t textlen;
	enum mk_code rc;

	if (scopes == 0 || (scopes & ~(uint32_t)SC_ALL) != 0)
		return mk_fail(err, MK_ERR_INVALID, "a token needs at least one known scope");
	if (sub != NULL && (sub[0] == '\0' || strlen(sub) >= AUTH_SUB_MAX))
		return mk_fail(err, MK_ERR_INVALID, "subject must be 1 to %d bytes",
		    AUTH_SUB_MAX - 1);
	if (exp_ms < 0)
		return mk_fail(err, MK_ERR_INVALID, "bad expiry");

	memcpy(token, "mk_", 3);
	if (mk_random_chars(token + 3, AUTH_TOKEN_LEN - 3, MK_ALPHA_URLSAFE) != 0) {
		log_warnx("no randomness for a token");
		rc = mk_fail(err, MK_ERR_INTERNAL, "no randomness available");
		goto out;
	}
	mk_sha256_hex(token, AUTH_TOKEN_LEN, hash);
	memcpy(id, hash, AUTH_ID_LEN);
	id[AUTH_ID_LEN] = '\0';

	if ((rec = record_build(id, scopes, sub, exp_ms, mk_now_ms())) == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	text = json_object_to_json_string_length(rec, JSON_C_TO_STRING_PLAIN, &textlen);
	if (text == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	c.key.p = hash;
	c.key.n = AUTH_HASH_LEN;
	c.rec.p = text;
	c.rec.n = textlen;
	if ((rc = store_write(s, create_fn, &c, err)) != MK_OK)
		goto out;
	memcpy(token_out, token, AUTH_TOKEN_LEN + 1);
	memcpy(id_out, id, AUTH_ID_LEN + 1);
out:
	json_object_put(rec);
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}

struct revoke_ctx {
	const char *prefix;
	size_t plen;
	size_t matches;
	char key[AUTH_HASH_LEN + 1];
};

static int
revoke_visit(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct revoke_ctx *c = arg;

	(void)rec;
	/* The id is the key's first 16 hex digits: match on the key itself. */
	if (key.n != AUTH_HASH_LEN || memcmp(key.p, c->prefix, c->plen) != 0)
		return 0;
	if (++c->matches == 1) {
		memcpy(c->key, key.p, AUTH_HASH_LEN);
		c->key[AUTH_HASH_LEN] = '\0';
	}
	/* Two are enough to know the prefix is ambiguous. */
	return c->matches > 1;
}

static enum mk_code
revoke_fn(struct store_txn *t, void *arg, struct mk_err *err)
{
	struct revoke_ctx *c = arg;
	struct mk_slice key;
	enum mk_code rc;

	c->matches = 0;
	if ((rc = store_scan(t, ST_TOKENS, revoke_visit, c)) != MK_OK)
		return mk_fail(err, rc, "token scan failed");
	if (c->matches == 0)
		return mk_fail(err, MK_ERR_NOTFOUND, "no token with id %s", c->prefix);
	if (c->matches > 1)
		return mk_fail(err, MK_ERR_INVALID, "ambiguous token id");
	key.p = c->key;
	key.n = AUTH_HASH_LEN;
	if ((rc = store_del(t, ST_TOKENS, key)) != MK_OK)
		return mk_fail(err, rc, "token delete failed");
	return MK_OK;
}

enum mk_code
auth_token_revoke(struct store *s, const char *id, char *full_id,
    struct mk_err *err)
{
	enum mk_code rc;
	struct revoke_ctx c;
	char lower[AUTH_ID_LEN + 1];
	size_t i, n;

	n = id == NULL ? 0 : strlen(id);
	if (n < AUTH_PREFIX_MIN || n > AUTH_ID_LEN)
		return mk_fail(err, MK_ERR_INVALID,
		    "token id must be %d to %d hex digits", AUTH_PREFIX_MIN, AUTH_ID_LEN);
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)id[i]))
			return mk_fail(err, MK_ERR_INVALID,
			    "token id must be %d to %d hex digits", AUTH_PREFIX_MIN,
			    AUTH_ID_LEN);
		lower[i] = (char)tolower((unsigned char)id[i]);
	}
	lower[n] = '\0';
	memset(&c, 0, sizeof(c));
	c.prefix = lower;
	c.plen = n;
	rc = store_write(s, revoke_fn, &c, err);
	/* The id is the hash's first AUTH_ID_LEN digits. */
	if (rc == MK_OK && full_id != NULL)
		snprintf(full_id, AUTH_ID_LEN + 1, "%.*s", AUTH_ID_LEN, c.key);
	return rc;
}

enum mk_code
auth_token_list(struct store *s, store_visit_fn fn, void *ctx)
{
	struct store_txn *t = NULL;
	enum mk_code rc;

	if ((rc = store_read_begin(s, &t)) != MK_OK)
		return rc;
	rc = store_scan(t, ST_TOKENS, fn, ctx);
	store_txn_end(t);
	return rc;
}

/*
 * test_auth: bearer tokens and scopes against a real store in a temporary
 * directory: issue, check, expire, revoke, scope names, and that the token
 * itself never reaches the disk.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "helper.h"
#include "store.h"
#include "util.h"

#define BAD_FORMAT \
	"Bad HTTP authentication header format: send 'Authorization: Bearer <token>'"

static struct th_db db;

static void
setup(void)
{
	th_db_open(&db, "test-auth", 16u << 20, 0);
}

static void
teardown(void)
{
	th_db_close(&db);
}

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 30);

/* Run auth_check on hdr in a fresh read transaction. */
static enum mk_code
check(const char *hdr, int64_t now, struct auth_token *out, struct mk_err *err)
{
	struct store_txn *t = NULL;
	enum mk_code rc;

	cr_assert_eq(store_read_begin(db.st, &t), MK_OK);
	struct auth_expect want = { NULL, NULL, now };

	rc = auth_check(t, hdr, &want, out, err);
	store_txn_end(t);
	return rc;
}

static void
issue(uint32_t scopes, const char *sub, int64_t exp, char tok[AUTH_TOKEN_LEN + 1],
    char id[AUTH_ID_LEN + 1])
{
	struct mk_err err;

	err.msg[0] = '\0';
	cr_assert_eq(auth_token_create(db.st, &(struct auth_grant){ scopes, sub, exp },
	    tok, id, &err), MK_OK,
	    "create: %s", err.msg);
}

Test(auth, create_then_check_round_trips)
{
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1], hash[65];
	char *hdr = NULL;
	struct auth_token at;
	struct mk_err err;
	int64_t exp = mk_now_ms() + 3600000;
	size_t i;

	issue(SC_READ_USERS | SC_UPDATE_USERS, "auth0|0123456789abcdef01234567", exp, tok, id);
	cr_assert_eq(strlen(tok), AUTH_TOKEN_LEN);
	cr_assert_eq(strncmp(tok, "mk_", 3), 0);
	for (i = 3; i < AUTH_TOKEN_LEN; i++)
		cr_assert_not_null(strchr(MK_ALPHA_URLSAFE, tok[i]), "char %zu", i);
	mk_sha256_hex(tok, strlen(tok), hash);
	cr_assert_eq(strlen(id), AUTH_ID_LEN);
	cr_assert_eq(strncmp(id, hash, AUTH_ID_LEN), 0, "id is the hash prefix");

	hdr = th_bearer(tok);
	memset(&at, 0, sizeof(at));
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(at.scopes, SC_READ_USERS | SC_UPDATE_USERS);
	cr_assert_str_eq(at.sub, "auth0|0123456789abcdef01234567");
	cr_assert_eq(at.exp_ms, exp);
	cr_assert_str_eq(at.id, id);
	free(hdr);
}

Test(auth, no_subject_no_expiry)
{
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1];
	char *hdr = NULL;
	struct auth_token at;
	struct mk_err err;

	issue(SC_ALL, NULL, 0, tok, id);
	hdr = th_bearer(tok);
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(at.scopes, SC_ALL);
	cr_assert_str_eq(at.sub, "");
	cr_assert_eq(at.exp_ms, 0);
	/* Far in the future still good: no expiry. */
	cr_assert_eq(check(hdr, INT64_C(32503680000000), &at, &err), MK_OK);
	free(hdr);
}

Test(auth, two_tokens_are_different)
{
	char t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1];
	char i1[AUTH_ID_LEN + 1], i2[AUTH_ID_LEN + 1];

	issue(SC_READ_USERS, NULL, 0, t1, i1);
	issue(SC_READ_USERS, NULL, 0, t2, i2);
	cr_assert_str_neq(t1, t2);
	cr_assert_str_neq(i1, i2);
}

Test(auth, scheme_case_and_spaces)
{
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1], hdr[128];
	struct auth_token at;
	struct mk_err err;

	issue(SC_READ_CLIENTS, NULL, 0, tok, id);
	snprintf(hdr, sizeof(hdr), "bearer %s", tok);
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_OK);
	snprintf(hdr, sizeof(hdr), "BEARER    %s", tok);
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_OK);
	snprintf(hdr, sizeof(hdr), "Bearer\t%s  ", tok);
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_OK);
	cr_assert_eq(at.scopes, SC_READ_CLIENTS);
	/* No blank between scheme and token: not a bearer credential. */
	snprintf(hdr, sizeof(hdr), "Bearer%s", tok);
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, BAD_FORMAT);
}

Test(auth, wrong_token_is_invalid)
{
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1];
	char *hdr = NULL;
	struct auth_token at;
	struct mk_err err;

	issue(SC_ALL, NULL, 0, tok, id);
	/* Flip the last character: same shape, different token. */
	tok[AUTH_TOKEN_LEN - 1] = tok[AUTH_TOKEN_LEN - 1] == 'A' ? 'B' : 'A';
	hdr = th_bearer(tok);
	memset(&at, 0x5a, sizeof(at));
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_ERR_UNAUTH);
	cr_assert_eq(err.code, MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, "Invalid token");
	cr_assert_eq(at.scopes, 0x5a5a5a5au, "out untouched on failure");

	cr_assert_eq(check("Bearer x", mk_now_ms(), &at, &err), MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, "Invalid token");
	/* A prefix of a valid token is not the token. */
	tok[AUTH_TOKEN_LEN - 1] = '\0';
	free(hdr);
	hdr = th_bearer(tok);
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, "Invalid token");
	free(hdr);
}

Test(auth, overlong_token_is_invalid)
{
	char hdr[2048];
	struct auth_token at;
	struct mk_err err;

	memcpy(hdr, "Bearer ", 7);
	memset(hdr + 7, 'a', sizeof(hdr) - 8);
	hdr[sizeof(hdr) - 1] = '\0';
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, "Invalid token");
}

Test(auth, missing_authentication)
{
	static const char *const cases[] = {
		"", "   ", "Bearer", "Bearer   ", "\tBEARER\t",
	};
	struct auth_token at;
	struct mk_err err;
	size_t i;

	cr_assert_eq(check(NULL, mk_now_ms(), &at, &err), MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, "Missing authentication");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err.msg[0] = '\0';
		cr_assert_eq(check(cases[i], mk_now_ms(), &at, &err), MK_ERR_UNAUTH,
		    "case \"%s\"", cases[i]);
		cr_assert_str_eq(err.msg, "Missing authentication", "case \"%s\"", cases[i]);
	}
}

/* A credential that is not a bearer one: the answer says what to send. */
Test(auth, not_bearer_says_what_to_send)
{
	static const char *const cases[] = {
		"Basic dXNlcjpwYXNz", "Token mk_abc", "Bear mk_abc", "Bearerx mk_abc",
		"mk_abc", "  mk_abc  ",
	};
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1];
	struct auth_token at;
	struct mk_err err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err.msg[0] = '\0';
		cr_assert_eq(check(cases[i], mk_now_ms(), &at, &err), MK_ERR_UNAUTH,
		    "case \"%s\"", cases[i]);
		cr_assert_str_eq(err.msg, BAD_FORMAT, "case \"%s\"", cases[i]);
	}
	/* A valid token sent without its scheme is still refused. */
	issue(SC_ALL, NULL, 0, tok, id);
	cr_assert_eq(check(tok, mk_now_ms(), &at, &err), MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, BAD_FORMAT);
}

Test(auth, expired_token_rejected)
{
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1];
	char *hdr = NULL;
	struct auth_token at;
	struct mk_err err;
	int64_t exp = mk_now_ms() + 60000;

	issue(SC_READ_USERS, NULL, exp, tok, id);
	hdr = th_bearer(tok);
	cr_assert_eq(check(hdr, exp - 1, &at, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(check(hdr, exp, &at, &err), MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, "Invalid token");
	cr_assert_eq(check(hdr, exp + 86400000, &at, &err), MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, "Invalid token");
	free(hdr);
}

Test(auth, revoked_token_rejected)
{
	char t1[AUTH_TOKEN_LEN + 1], i1[AUTH_ID_LEN + 1];
	char t2[AUTH_TOKEN_LEN + 1], i2[AUTH_ID_LEN + 1];
	char *hdr = NULL;
	struct auth_token at;
	struct mk_err err;

	issue(SC_READ_USERS, NULL, 0, t1, i1);
	issue(SC_READ_USERS, NULL, 0, t2, i2);
	cr_assert_eq(auth_token_revoke(db.st, i1, NULL, &err), MK_OK, "%s", err.msg);
	hdr = th_bearer(t1);
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_ERR_UNAUTH);
	cr_assert_str_eq(err.msg, "Invalid token");
	/* The other token is untouched. */
	free(hdr);
	hdr = th_bearer(t2);
	cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_OK);
	/* Revoking again: gone. */
	cr_assert_eq(auth_token_revoke(db.st, i1, NULL, &err), MK_ERR_NOTFOUND);
	free(hdr);
}

/* Put a record under a chosen key, to build prefixes that collide. */
struct raw_put {
	const char *key;
	const char *rec;
};

static enum mk_code
raw_put_fn(struct store_txn *t, void *arg, struct mk_err *err)
{
	struct raw_put *r = arg;
	struct mk_slice k = { r->key, strlen(r->key) }, v = { r->rec, strlen(r->rec) };

	return store_put(t, ST_TOKENS, k, v);
}

static void
raw_put(const char *key)
{
	struct raw_put r;
	struct mk_err err;
	char rec[128];

	snprintf(rec, sizeof(rec), "{\"id\":\"%.16s\",\"scopes\":[\"read:users\"]}", key);
	r.key = key;
	r.rec = rec;
	cr_assert_eq(store_write(db.st, raw_put_fn, &r, &err), MK_OK);
}

struct counter {
	size_t n;
	int saw_a;
	int saw_b;
};

static int
count_visit(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct counter *c = arg;

	c->n++;
	if (key.n == 64 && memcmp(key.p, "abcd0", 5) == 0)
		c->saw_a = 1;
	if (key.n == 64 && memcmp(key.p, "abcd1", 5) == 0)
		c->saw_b = 1;
	return 0;
}

Test(auth, revoke_by_prefix_and_ambiguous)
{
	static const char ka[] =
	    "abcd000000000000000000000000000000000000000000000000000000000000";
	static const char kb[] =
	    "abcd111111111111111111111111111111111111111111111111111111111111";
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1], pfx[8];
	char *hdr = NULL;
	struct counter c;
	struct auth_token at;
	struct mk_err err;

	raw_put(ka);
	raw_put(kb);
	issue(SC_READ_USERS, NULL, 0, tok, id);

	err.msg[0] = '\0';
	cr_assert_eq(auth_token_revoke(db.st, "abcd", NULL, &err), MK_ERR_INVALID);
	cr_assert_str_eq(err.msg, "ambiguous token id");
	cr_assert_eq(auth_token_revoke(db.st, "ABCD", NULL, &err), MK_ERR_INVALID, "case-insensitive");
	memset(&c, 0, sizeof(c));
	cr_assert_eq(auth_token_list(db.st, count_visit, &c), MK_OK);
	cr_assert_eq(c.n, 3, "an ambiguous revoke deletes nothing");

	cr_assert_eq(auth_token_revoke(db.st, "abc", NULL, &err), MK_ERR_INVALID, "too short");
	cr_assert_eq(auth_token_revoke(db.st, "abcdxyz", NULL, &err), MK_ERR_INVALID, "not hex");
	cr_assert_eq(auth_token_revoke(db.st, "abcd0000000000000", NULL, &err), MK_ERR_INVALID,
	    "longer than an id");
	cr_assert_eq(auth_token_revoke(db.st, "abcd2", NULL, &err), MK_ERR_NOTFOUND);

	{
		char full[AUTH_ID_LEN + 1];

		cr_assert_eq(auth_token_revoke(db.st, "abcd0", full, &err), MK_OK, "%s", err.msg);
		cr_assert_eq(strlen(full), AUTH_ID_LEN);
		cr_assert_eq(strncmp(full, "abcd0", 5), 0, "%s", full);
	}
	memset(&c, 0, sizeof(c));
	cr_assert_eq(auth_token_list(db.st, count_visit, &c), MK_OK);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.saw_a, 0);
	cr_assert_eq(c.saw_b, 1);

	/* A real token by a 6-char prefix of its id (unless it starts "abcd"). */
	memcpy(pfx, id, 6);
	pfx[6] = '\0';
	if (strncmp(pfx, "abcd", 4) != 0) {
		cr_assert_eq(auth_token_revoke(db.st, pfx, NULL, &err), MK_OK, "%s", err.msg);
		hdr = th_bearer(tok);
		cr_assert_eq(check(hdr, mk_now_ms(), &at, &err), MK_ERR_UNAUTH);
	}
	free(hdr);
}

static int
parse_visit(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct auth_token *at = arg;
	char created[MK_ISO_LEN + 1];
	struct mk_err err;

	cr_assert_eq(auth_record_parse(rec, at, created, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(strlen(created), MK_ISO_LEN);
	cr_assert_eq(created[MK_ISO_LEN - 1], 'Z');
	return 0;
}

Test(auth, list_and_record_parse)
{
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1];
	struct auth_token at;

	issue(SC_DELETE_CLIENTS | SC_READ_CURRENT_USER, "auth0|x", 1234567890123, tok, id);
	memset(&at, 0, sizeof(at));
	cr_assert_eq(auth_token_list(db.st, parse_visit, &at), MK_OK);
	cr_assert_str_eq(at.id, id);
	cr_assert_eq(at.scopes, SC_DELETE_CLIENTS | SC_READ_CURRENT_USER);
	cr_assert_str_eq(at.sub, "auth0|x");
	cr_assert_eq(at.exp_ms, 1234567890123);
}

Test(auth, record_parse_ignores_unknown_scopes_and_refuses_junk)
{
	static const char good[] =
	    "{\"id\":\"0123456789abcdef\",\"scopes\":[\"read:users\",\"fly:to_moon\"],"
	    "\"created_at\":\"2026-11-26T18:31:48.123Z\"}";
	static const char *const bad[] = {
		"", "[]", "{", "null", "{\"id\":\"short\",\"scopes\":[]}",
		"{\"id\":\"0123456789abcdef\"}",
		"{\"id\":\"0123456789abcdef\",\"scopes\":[1]}",
		"{\"id\":\"0123456789abcdef\",\"scopes\":[],\"exp\":\"soon\"}",
		"{\"id\":\"0123456789abcdef\",\"scopes\":[],\"exp\":-5}",
		"{\"id\":\"0123456789abcdef\",\"scopes\":[],\"sub\":\"a\\u0000b\"}",
		"{\"id\":\"0123456789abcdef\",\"scopes\":[]} trailing",
	};
	struct mk_slice s;
	struct auth_token at;
	char created[MK_ISO_LEN + 1];
	struct mk_err err;
	size_t i;

	s.p = good;
	s.n = strlen(good);
	cr_assert_eq(auth_record_parse(s, &at, created, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(at.scopes, SC_READ_USERS);
	cr_assert_str_eq(created, "2026-11-26T18:31:48.123Z");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.p = bad[i];
		s.n = strlen(bad[i]);
		cr_assert_eq(auth_record_parse(s, &at, NULL, &err), MK_ERR_INVALID, "case %zu: %s",
		    i, bad[i]);
	}
}

Test(auth, create_refuses_bad_arguments)
{
	char tok[AUTH_TOKEN_LEN + 1] = "unchanged", id[AUTH_ID_LEN + 1] = "unchanged";
	char sub[AUTH_SUB_MAX + 1];
	struct mk_err err;

	cr_assert_eq(auth_token_create(db.st, &(struct auth_grant){ 0, NULL, 0 },
	    tok, id, &err), MK_ERR_INVALID);
	cr_assert_eq(auth_token_create(db.st, &(struct auth_grant){ 1u << 20, NULL, 0 },
	    tok, id, &err), MK_ERR_INVALID);
	cr_assert_eq(auth_token_create(db.st, &(struct auth_grant){ SC_ALL, "", 0 },
	    tok, id, &err), MK_ERR_INVALID);
	memset(sub, 'x', AUTH_SUB_MAX);
	sub[AUTH_SUB_MAX] = '\0';
	cr_assert_eq(auth_token_create(db.st, &(struct auth_grant){ SC_ALL, sub, 0 },
	    tok, id, &err), MK_ERR_INVALID);
	cr_assert_str_eq(tok, "unchanged");
	cr_assert_str_eq(id, "unchanged");
	sub[AUTH_SUB_MAX - 1] = '\0';
	cr_assert_eq(auth_token_create(db.st, &(struct auth_grant){ SC_ALL, sub, 0 },
	    tok, id, &err), MK_OK, "%s", err.msg);
}

Test(auth, scope_names_round_trip)
{
	char buf[512];
	uint32_t bit, mask;
	struct mk_err err;
	const char *name;
	int n = 0;

	for (bit = 1; bit != 0; bit <<= 1) {
		name = auth_scope_name(bit);
		if ((bit & SC_ALL) == 0) {
			cr_assert_null(name, "bit %#x", bit);
			continue;
		}
		cr_assert_not_null(name, "bit %#x", bit);
		cr_assert_eq(auth_scopes_parse(name, &mask, &err), MK_OK);
		cr_assert_eq(mask, bit, "%s", name);
		auth_scopes_format(bit, " ", buf, sizeof(buf));
		cr_assert_str_eq(buf, name);
		n++;
	}
	cr_assert_eq(n, 20);
	cr_assert_str_eq(auth_scope_name(SC_UPDATE_USERS_APP_METADATA),
	    "update:users_app_metadata");
	cr_assert_str_eq(auth_scope_name(SC_UPDATE_CURRENT_USER_METADATA),
	    "update:current_user_metadata");
	cr_assert_str_eq(auth_scope_name(SC_READ_CLIENT_KEYS), "read:client_keys");
	cr_assert_str_eq(auth_scope_name(SC_READ_CONNECTIONS), "read:connections");
	cr_assert_str_eq(auth_scope_name(SC_READ_LOGS), "read:logs");
	cr_assert_str_eq(auth_scope_name(SC_READ_LOGS_USERS), "read:logs_users");

	auth_scopes_format(SC_ALL, " ", buf, sizeof(buf));
	cr_assert_eq(auth_scopes_parse(buf, &mask, &err), MK_OK);
	cr_assert_eq(mask, SC_ALL);
	auth_scopes_format(SC_ALL, ",", buf, sizeof(buf));
	cr_assert_eq(auth_scopes_parse(buf, &mask, &err), MK_OK);
	cr_assert_eq(mask, SC_ALL);

	auth_scopes_format(SC_READ_USERS | SC_DELETE_CLIENTS, ",", buf, sizeof(buf));
	cr_assert_str_eq(buf, "read:users,delete:clients");
	cr_assert_eq(auth_scopes_parse("  read:users,, update:users\tdelete:users ", &mask,
	    &err), MK_OK);
	cr_assert_eq(mask, SC_READ_USERS | SC_UPDATE_USERS | SC_DELETE_USERS);
	cr_assert_eq(auth_scopes_parse("all", &mask, &err), MK_OK);
	cr_assert_eq(mask, SC_ALL);
	cr_assert_eq(auth_scopes_parse("", &mask, &err), MK_OK);
	cr_assert_eq(mask, 0);
}

Test(auth, scope_parse_unknown)
{
	uint32_t mask = 77;
	struct mk_err err;

	cr_assert_eq(auth_scopes_parse("read:users read:userz", &mask, &err), MK_ERR_INVALID);
	cr_assert_eq(err.code, MK_ERR_INVALID);
	cr_assert_not_null(strstr(err.msg, "read:userz"), "%s", err.msg);
	cr_assert_eq(mask, 77, "out untouched on failure");
	cr_assert_eq(auth_scopes_parse("READ:USERS", &mask, &err), MK_ERR_INVALID);
	cr_assert_eq(auth_scopes_parse("read:users:", &mask, &err), MK_ERR_INVALID);
	cr_assert_eq(auth_scopes_parse("ALL", &mask, &err), MK_ERR_INVALID);
}

Test(auth, scope_format_truncates_whole_names)
{
	char buf[16];

	memset(buf, 'x', sizeof(buf));
	auth_scopes_format(SC_READ_USERS | SC_CREATE_USERS, " ", buf, sizeof(buf));
	cr_assert_str_eq(buf, "read:users");
	auth_scopes_format(SC_ALL, " ", buf, 1);
	cr_assert_str_eq(buf, "");
	auth_scopes_format(0, " ", buf, sizeof(buf));
	cr_assert_str_eq(buf, "");
}

/* Does needle occur in hay?  (memmem is a GNU extension.) */
static int
contains(const char *hay, size_t n, const char *needle, size_t m)
{
	size_t i;

	for (i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return 1;
	return 0;
}

/* Read a whole file into a malloc'd buffer. */
static char *
slurp(const char *path, size_t *n)
{
	FILE *f;
	char *p;
	long len;

	cr_assert_not_null(f = fopen(path, "rb"), "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	cr_assert_gt(len, 0);
	rewind(f);
	cr_assert_not_null(p = malloc((size_t)len));
	cr_assert_eq(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

Test(auth, token_never_stored)
{
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1], hash[65], path[TH_DIR_MAX + 16];
	char *data;
	size_t n;

	issue(SC_ALL, "auth0|subject", 0, tok, id);
	mk_sha256_hex(tok, strlen(tok), hash);
	store_close(db.st);
	db.st = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", db.dir);
	data = slurp(path, &n);
	/* The scan works: the hash and the record are in the file ... */
	cr_assert(contains(data, n, hash, 64), "hash not found: scan is broken");
	cr_assert(contains(data, n, "auth0|subject", 13));
	/* ... and no part of the secret is: not the token, not its random part. */
	cr_assert(!contains(data, n, tok, strlen(tok)), "token found in data.mdb");
	cr_assert(!contains(data, n, tok + 3, strlen(tok) - 3),
	    "token secret found in data.mdb");
	free(data);
}

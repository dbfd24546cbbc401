/*
 * test_model: the user and client objects (src/model.c).  Tables of bodies
 * with the whole expected object (compared as compact JSON text, so key order
 * is checked too) or the exact error message.  Metadata rules themselves are
 * meta's and tested in test_meta; here we check that model calls them.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"
#include "model.h"

#define NOW_MS 1764181908123LL
#define T "\"2025-11-26T18:31:48.123Z\""
#define OLD_T "\"2020-01-01T00:00:00.000Z\""
#define ID "5f1e0c0ffee0123456789abc"
#define CID "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
#define SECRET "s-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DB "Username-Password-Authentication"
#define PV "Payload validation error: "

/* A sentinel: failures must leave *out as it was. */
static char sentinel;
#define UNTOUCHED ((struct json_object *)(void *)&sentinel)

static struct json_object *
parse(const char *s)
{
	struct json_object *o = NULL;
	struct mk_err err = { 0, "" };

	cr_assert_eq(jx_parse(s, strlen(s), 64, &o, &err), MK_OK,
	    "test JSON does not parse: %s: %s", s, err.msg);
	return o;
}

static struct model_ctx
ctx_default(void)
{
	struct model_ctx c;

	memset(&c, 0, sizeof(c));
	c.now_ms = NOW_MS;
	c.new_id = ID;
	c.new_secret = SECRET;
	c.connections = NULL;
	c.max_depth = 32;
	return c;
}

static const char *const two_conns[] = { "db-a", "db-b", NULL };

enum which { USER_NEW, USER_PATCH, CLIENT_NEW, CLIENT_PATCH };

struct mcase {
	const char *name;
	const char *stored;   /* PATCH only */
	const char *body;
	const char *expect;   /* whole object on success, else NULL */
	enum mk_code code;
	const char *msg;      /* exact message; NULL: any non-empty one */
	int conns;            /* use two_conns instead of the default */
};

static void
run_case(enum which w, const struct mcase *c)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *body, *stored = NULL, *out = UNTOUCHED, *exp;
	struct mk_err err = { MK_OK, "" };
	char *before = NULL, *got;
	enum mk_code rc = MK_ERR_INTERNAL;

	if (c->conns)
		ctx.connections = two_conns;
	if (w == CLIENT_NEW || w == CLIENT_PATCH)
		ctx.new_id = CID;
	body = parse(c->body);
	if (c->stored != NULL) {
		stored = parse(c->stored);
		before = strdup(jx_text(stored, NULL));
	}
	switch (w) {
	case USER_NEW: rc = model_user_new(body, &ctx, &out, &err); break;
	case USER_PATCH: rc = model_user_patch(stored, body, &ctx, &out, &err); break;
	case CLIENT_NEW: rc = model_client_new(body, &ctx, &out, &err); break;
	case CLIENT_PATCH: rc = model_client_patch(stored, body, &ctx, &out, &err); break;
	}
	cr_assert_eq(rc, c->code, "%s: code %d, want %d (%s)", c->name, rc, c->code, err.msg);
	if (rc == MK_OK) {
		exp = parse(c->expect);
		got = strdup(jx_text(out, NULL));
		cr_expect_str_eq(got, jx_text(exp, NULL), "%s:\n got %s\nwant %s", c->name, got,
		    jx_text(exp, NULL));
		free(got);
		json_object_put(exp);
		json_object_put(out);
	} else {
		cr_expect_eq(out, UNTOUCHED, "%s: *out written on failure", c->name);
		if (c->msg != NULL)
			cr_expect_str_eq(err.msg, c->msg, "%s:\n got %s\nwant %s", c->name, err.msg,
			    c->msg);
		else
			cr_expect_neq(err.msg[0], '\0', "%s: empty message", c->name);
	}
	/* The inputs are borrowed: never changed. */
	if (stored != NULL) {
		cr_expect_str_eq(jx_text(stored, NULL), before, "%s: stored changed", c->name);
		json_object_put(stored);
	}
	free(before);
	json_object_put(body);
}

/*
 * Criterion runs each parameterized test in a new process (ASLR: other
 * addresses), so a parameter must not hold pointers: pass the case index and
 * look the case up in the child's own copy of the table.
 */
#define MAX_CASES 128
static size_t case_idx[MAX_CASES];

static struct criterion_test_params
index_params(size_t n)
{
	size_t i;

	cr_assert_leq(n, MAX_CASES);
	for (i = 0; i < n; i++)
		case_idx[i] = i;
	return cr_make_param_array(size_t, case_idx, n);
}

/* ---- users: create ---- */

#define MIN_BODY "\"email\":\"Alice@Example.COM\",\"connection\":\"" DB "\""
#define IDENT(conn, id) "[{\"connection\":\"" conn "\",\"user_id\":\"" id \
	"\",\"provider\":\"auth0\",\"isSocial\":false}]"
#define ALICE_MIN "{\"created_at\":" T ",\"email\":\"alice@example.com\"," \
	"\"email_verified\":false,\"identities\":" IDENT(DB, ID) "," \
	"\"name\":\"alice@example.com\",\"nickname\":\"alice\",\"updated_at\":" T "," \
	"\"user_id\":\"auth0|" ID "\"}"

static struct mcase user_new_cases[] = {
	{ "minimal", NULL, "{" MIN_BODY "}", ALICE_MIN, MK_OK, NULL, 0 },
	{ "verify_email accepted, not stored", NULL,
	    "{" MIN_BODY ",\"verify_email\":true}", ALICE_MIN, MK_OK, NULL, 0 },
	{ "everything", NULL,
	    "{\"app_metadata\":{\"plan\":\"gold\"},\"user_metadata\":{\"theme\":\"dark\","
	    "\"n\":[1,2.5,null]},\"username\":\"al\",\"user_id\":\"given-1\","
	    "\"picture\":\"https://example.com/a.png\",\"phone_verified\":true,"
	    "\"phone_number\":\"+15551234567\",\"nickname\":\"Ally\",\"name\":\"Alice A\","
	    "\"given_name\":\"Alice\",\"family_name\":\"A\",\"email_verified\":true,"
	    "\"blocked\":false," MIN_BODY "}",
	    "{\"blocked\":false,\"created_at\":" T ",\"email\":\"alice@example.com\","
	    "\"email_verified\":true,\"family_name\":\"A\",\"given_name\":\"Alice\","
	    "\"identities\":" IDENT(DB, "given-1") ",\"name\":\"Alice A\","
	    "\"nickname\":\"Ally\",\"phone_number\":\"+15551234567\",\"phone_verified\":true,"
	    "\"picture\":\"https://example.com/a.png\",\"updated_at\":" T ","
	    "\"user_id\":\"auth0|given-1\",\"username\":\"al\","
	    "\"user_metadata\":{\"theme\":\"dark\",\"n\":[1,2.5,null]},"
	    "\"app_metadata\":{\"plan\":\"gold\"}}", MK_OK, NULL, 0 },
	{ "empty metadata kept as {}", NULL,
	    "{" MIN_BODY ",\"user_metadata\":{},\"app_metadata\":{}}",
	    "{\"created_at\":" T ",\"email\":\"alice@example.com\","
	    "\"email_verified\":false,\"identities\":" IDENT(DB, ID) ","
	    "\"name\":\"alice@example.com\",\"nickname\":\"alice\",\"updated_at\":" T ","
	    "\"user_id\":\"auth0|" ID "\",\"user_metadata\":{},\"app_metadata\":{}}",
	    MK_OK, NULL, 0 },
	{ "configured connection", NULL,
	    "{\"email\":\"x@y.z\",\"connection\":\"db-b\"}",
	    "{\"created_at\":" T ",\"email\":\"x@y.z\",\"email_verified\":false,"
	    "\"identities\":" IDENT("db-b", ID) ",\"name\":\"x@y.z\",\"nickname\":\"x\","
	    "\"updated_at\":" T ",\"user_id\":\"auth0|" ID "\"}", MK_OK, NULL, 1 },

	{ "body not an object", NULL, "[1]", NULL, MK_ERR_INVALID,
	    PV "'Expected type object but found type array'.", 0 },
	{ "unknown and read-only properties", NULL,
	    "{\"foo\":1," MIN_BODY ",\"created_at\":\"x\",\"identities\":[],\"password\":\"p\"}",
	    NULL, MK_ERR_INVALID,
	    PV "'Additional properties not allowed: foo,created_at,identities,password'.", 0 },
	{ "verify_phone_number is PATCH only", NULL,
	    "{" MIN_BODY ",\"verify_phone_number\":true}", NULL, MK_ERR_INVALID,
	    PV "'Additional properties not allowed: verify_phone_number'.", 0 },
	{ "missing connection", NULL, "{\"email\":\"a@b.c\"}", NULL, MK_ERR_INVALID,
	    PV "'Missing required property: connection'.", 0 },
	{ "unknown connection", NULL, "{\"email\":\"a@b.c\",\"connection\":\"other\"}",
	    NULL, MK_ERR_INVALID, "Connection does not exist. The connections are: "
	    "Username-Password-Authentication.", 0 },
	{ "default connection not configured", NULL, "{" MIN_BODY "}",
	    NULL, MK_ERR_INVALID, "Connection does not exist. The connections are: "
	    "db-a, db-b.", 1 },
	{ "connection not a string", NULL, "{\"email\":\"a@b.c\",\"connection\":true}",
	    NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type boolean' on property connection.", 0 },
	{ "missing email", NULL, "{\"connection\":\"" DB "\"}", NULL, MK_ERR_INVALID,
	    PV "'Missing required property: email'.", 0 },
	{ "email integer", NULL, "{\"email\":5,\"connection\":\"" DB "\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type string but found type integer' on property email.", 0 },
	{ "email null", NULL, "{\"email\":null,\"connection\":\"" DB "\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type string but found type null' on property email.", 0 },
	{ "email no at", NULL, "{\"email\":\"x\",\"connection\":\"" DB "\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Object didn't pass validation for format email: x' on property email.", 0 },
	{ "email two at", NULL, "{\"email\":\"a@b@c\",\"connection\":\"" DB "\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Object didn't pass validation for format email: a@b@c' on property email.", 0 },
	{ "email empty local", NULL, "{\"email\":\"@b\",\"connection\":\"" DB "\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Object didn't pass validation for format email: @b' on property email.", 0 },
	{ "email empty domain", NULL, "{\"email\":\"a@\",\"connection\":\"" DB "\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Object didn't pass validation for format email: a@' on property email.", 0 },
	{ "email space", NULL, "{\"email\":\"a b@c\",\"connection\":\"" DB "\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Object didn't pass validation for format email: a b@c' on property email.", 0 },
	{ "email control char", NULL, "{\"email\":\"a\\tb@c\",\"connection\":\"" DB "\"}",
	    NULL, MK_ERR_INVALID, NULL, 0 },
	{ "email NUL", NULL, "{\"email\":\"a\\u0000@c\",\"connection\":\"" DB "\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'String contains a NUL character' on property email.", 0 },
	{ "phone without plus", NULL, "{" MIN_BODY ",\"phone_number\":\"123\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'String does not match pattern ^\\+[0-9]{1,15}$: 123' on property phone_number.", 0 },
	{ "phone plus only", NULL, "{" MIN_BODY ",\"phone_number\":\"+\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'String does not match pattern ^\\+[0-9]{1,15}$: +' on property phone_number.", 0 },
	{ "phone 16 digits", NULL, "{" MIN_BODY ",\"phone_number\":\"+1234567890123456\"}",
	    NULL, MK_ERR_INVALID,
	    PV "'String does not match pattern ^\\+[0-9]{1,15}$: +1234567890123456' on property phone_number.", 0 },
	{ "phone letter", NULL, "{" MIN_BODY ",\"phone_number\":\"+12a\"}", NULL,
	    MK_ERR_INVALID, NULL, 0 },
	{ "name empty", NULL, "{" MIN_BODY ",\"name\":\"\"}", NULL, MK_ERR_INVALID,
	    PV "'String is too short (0 chars), minimum 1' on property name.", 0 },
	{ "given_name number", NULL, "{" MIN_BODY ",\"given_name\":1.5}", NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type number' on property given_name.", 0 },
	{ "whole double is an integer", NULL, "{" MIN_BODY ",\"family_name\":2.0}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type string but found type integer' on property family_name.", 0 },
	{ "nickname array", NULL, "{" MIN_BODY ",\"nickname\":[]}", NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type array' on property nickname.", 0 },
	{ "null name on create", NULL, "{" MIN_BODY ",\"name\":null}", NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type null' on property name.", 0 },
	{ "picture not a URL", NULL, "{" MIN_BODY ",\"picture\":\"me.png\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Object didn't pass validation for format strict-uri: me.png' on property picture.", 0 },
	{ "picture with space", NULL, "{" MIN_BODY ",\"picture\":\"http://a b\"}", NULL,
	    MK_ERR_INVALID, NULL, 0 },
	{ "blocked string", NULL, "{" MIN_BODY ",\"blocked\":\"yes\"}", NULL, MK_ERR_INVALID,
	    PV "'Expected type boolean but found type string' on property blocked.", 0 },
	{ "email_verified integer", NULL, "{" MIN_BODY ",\"email_verified\":1}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type boolean but found type integer' on property email_verified.", 0 },
	{ "verify_email string", NULL, "{" MIN_BODY ",\"verify_email\":\"y\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type boolean but found type string' on property verify_email.", 0 },
	{ "user_id empty", NULL, "{" MIN_BODY ",\"user_id\":\"\"}", NULL, MK_ERR_INVALID,
	    PV "'String is too short (0 chars), minimum 1' on property user_id.", 0 },
	{ "user_id control char", NULL, "{" MIN_BODY ",\"user_id\":\"a\\nb\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'String contains a control character' on property user_id.", 0 },
	{ "user_id number", NULL, "{" MIN_BODY ",\"user_id\":12}", NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type integer' on property user_id.", 0 },
	{ "user_metadata array", NULL, "{" MIN_BODY ",\"user_metadata\":[]}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type object but found type array' on property user_metadata.", 0 },
	{ "app_metadata null", NULL, "{" MIN_BODY ",\"app_metadata\":null}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type object but found type null' on property app_metadata.", 0 },
	{ "app_metadata reserved key (meta)", NULL,
	    "{" MIN_BODY ",\"app_metadata\":{\"blocked\":1}}", NULL, MK_ERR_INVALID, NULL, 0 },
	{ "user_metadata dotted key (meta)", NULL,
	    "{" MIN_BODY ",\"user_metadata\":{\"a.b\":1}}", NULL, MK_ERR_INVALID, NULL, 0 },
};

ParameterizedTestParameters(user_new, table)
{
	return index_params(sizeof(user_new_cases) / sizeof(user_new_cases[0]));
}

ParameterizedTest(size_t *i, user_new, table)
{
	run_case(USER_NEW, &user_new_cases[*i]);
}

/* Length limits count code points: 300 two-byte characters are fine, 301 not. */
static char *
repeat(const char *unit, size_t n)
{
	size_t u = strlen(unit), i;
	char *s = malloc(u * n + 1);

	cr_assert_not_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

static enum mk_code
new_user_with(const char *prop, const char *value, struct json_object **out,
    struct mk_err *err)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *body = parse("{" MIN_BODY "}");
	enum mk_code rc;

	json_object_object_add(body, prop, json_object_new_string(value));
	rc = model_user_new(body, &ctx, out, err);
	json_object_put(body);
	return rc;
}

Test(user_new, string_limits)
{
	static const struct { const char *prop; size_t max; } lim[] = {
		{ "name", 300 }, { "nickname", 300 }, { "given_name", 150 },
		{ "family_name", 150 }, { "username", 128 }, { "user_id", 255 },
	};
	struct json_object *out = NULL;
	struct mk_err err;
	char want[200], *s;
	size_t i;

	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		s = repeat("\xc3\xa9", lim[i].max);
		cr_assert_eq(new_user_with(lim[i].prop, s, &out, &err), MK_OK, "%s", lim[i].prop);
		cr_expect_str_eq(jx_get_str(out, lim[i].prop) + (strcmp(lim[i].prop,
		    "user_id") == 0 ? 6 : 0), s, "%s", lim[i].prop);
		json_object_put(out);
		free(s);
		s = repeat("\xc3\xa9", lim[i].max + 1);
		out = UNTOUCHED;
		cr_expect_eq(new_user_with(lim[i].prop, s, &out, &err), MK_ERR_INVALID);
		snprintf(want, sizeof(want), PV "'String is too long (%zu chars), maximum %zu' "
		    "on property %s.", lim[i].max + 1, lim[i].max, lim[i].prop);
		cr_expect_str_eq(err.msg, want);
		cr_expect_eq(out, UNTOUCHED);
		free(s);
	}
}

Test(user_new, email_length)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *body, *out = NULL;
	struct mk_err err;
	char *local = repeat("a", 64), mail[300];
	char *dom = repeat("b", 254 - 64 - 1 - 4);

	snprintf(mail, sizeof(mail), "%s@%s.com", local, dom);
	cr_assert_eq(strlen(mail), 254);
	body = parse("{\"connection\":\"" DB "\"}");
	json_object_object_add(body, "email", json_object_new_string(mail));
	cr_expect_eq(model_user_new(body, &ctx, &out, &err), MK_OK, "%s", err.msg);
	cr_expect_str_eq(jx_get_str(out, "nickname"), local);
	json_object_put(out);
	strcat(mail, "x");
	json_object_object_add(body, "email", json_object_new_string(mail));
	out = UNTOUCHED;
	cr_expect_eq(model_user_new(body, &ctx, &out, &err), MK_ERR_INVALID);
	cr_expect_eq(out, UNTOUCHED);
	cr_expect_eq(strncmp(err.msg, PV "'Object didn't pass validation for format email: ",
	    strlen(PV "'Object didn't pass validation for format email: ")), 0, "%s", err.msg);
	json_object_put(body);
	free(local);
	free(dom);
}

Test(user_new, long_unknown_keys_bounded)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *body = parse("{" MIN_BODY "}"), *out = UNTOUCHED;
	struct mk_err err;
	char key[16];
	int i;

	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		json_object_object_add(body, key, json_object_new_int(i));
	}
	cr_expect_eq(model_user_new(body, &ctx, &out, &err), MK_ERR_INVALID);
	cr_expect_eq(strncmp(err.msg, PV "'Additional properties not allowed: k0,k1,k2,",
	    strlen(PV "'Additional properties not allowed: k0,k1,k2,")), 0, "%s", err.msg);
	cr_expect_neq(strstr(err.msg, ",...'."), NULL, "%s", err.msg);
	cr_expect_lt(strlen(err.msg), sizeof(err.msg) - 1);
	cr_expect_eq(out, UNTOUCHED);
	json_object_put(body);
}

Test(user_new, no_new_id_is_internal)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *body = parse("{" MIN_BODY "}"), *out = UNTOUCHED;
	struct mk_err err;

	ctx.new_id = NULL;
	cr_expect_eq(model_user_new(body, &ctx, &out, &err), MK_ERR_INTERNAL);
	cr_expect_eq(out, UNTOUCHED);
	json_object_put(body);
}

/* ---- users: PATCH ---- */

#define BOB_IDENT IDENT(DB, "abc")
#define BOB "{\"created_at\":" OLD_T ",\"email\":\"bob@example.com\"," \
	"\"email_verified\":true,\"identities\":" BOB_IDENT ",\"name\":\"Bob\"," \
	"\"nickname\":\"bob\",\"phone_number\":\"+15550001111\",\"updated_at\":" OLD_T "," \
	"\"user_id\":\"auth0|abc\",\"user_metadata\":{\"a\":1,\"b\":{\"c\":2}}," \
	"\"app_metadata\":{\"plan\":\"gold\"},\"last_login\":" OLD_T "}"
/* BOB after a no-op PATCH, with the pieces that tests change. */
#define BOB_HEAD(email, verified) "{\"created_at\":" OLD_T ",\"email\":\"" email "\"," \
	"\"email_verified\":" verified ",\"identities\":" BOB_IDENT ","
#define BOB_MID "\"name\":\"Bob\",\"nickname\":\"bob\",\"phone_number\":\"+15550001111\","
#define BOB_TAIL(md, amd) "\"updated_at\":" T ",\"user_id\":\"auth0|abc\"" md amd \
	",\"last_login\":" OLD_T "}"
#define BOB_MD ",\"user_metadata\":{\"a\":1,\"b\":{\"c\":2}}"
#define BOB_AMD ",\"app_metadata\":{\"plan\":\"gold\"}"

static struct mcase user_patch_cases[] = {
	{ "touch: only updated_at changes", BOB, "{\"verify_email\":false}",
	    BOB_HEAD("bob@example.com", "true") BOB_MID BOB_TAIL(BOB_MD, BOB_AMD),
	    MK_OK, NULL, 0 },
	{ "own connection accepted", BOB, "{\"connection\":\"" DB "\",\"blocked\":true}",
	    "{\"blocked\":true,\"created_at\":" OLD_T ",\"email\":\"bob@example.com\","
	    "\"email_verified\":true,\"identities\":" BOB_IDENT "," BOB_MID
	    BOB_TAIL(BOB_MD, BOB_AMD), MK_OK, NULL, 0 },
	{ "null unsets nullable ones", BOB,
	    "{\"name\":null,\"nickname\":null,\"phone_number\":null,\"username\":null,"
	    "\"given_name\":null,\"family_name\":null,\"picture\":null}",
	    BOB_HEAD("bob@example.com", "true") BOB_TAIL(BOB_MD, BOB_AMD), MK_OK, NULL, 0 },
	{ "values replace", BOB,
	    "{\"name\":\"Robert\",\"given_name\":\"Rob\",\"phone_verified\":false,"
	    "\"picture\":\"http://x.org/p\",\"username\":\"bobby\"}",
	    "{\"created_at\":" OLD_T ",\"email\":\"bob@example.com\","
	    "\"email_verified\":true,\"given_name\":\"Rob\",\"identities\":" BOB_IDENT ","
	    "\"name\":\"Robert\",\"nickname\":\"bob\",\"phone_number\":\"+15550001111\","
	    "\"phone_verified\":false,\"picture\":\"http://x.org/p\","
	    "\"updated_at\":" T ",\"user_id\":\"auth0|abc\",\"username\":\"bobby\""
	    BOB_MD BOB_AMD ",\"last_login\":" OLD_T "}", MK_OK, NULL, 0 },
	{ "new email lower-cased, unverified", BOB, "{\"email\":\"Rob@Example.ORG\"}",
	    BOB_HEAD("rob@example.org", "false") BOB_MID BOB_TAIL(BOB_MD, BOB_AMD),
	    MK_OK, NULL, 0 },
	{ "new email verified when the body says so", BOB,
	    "{\"email\":\"rob@example.org\",\"email_verified\":true}",
	    BOB_HEAD("rob@example.org", "true") BOB_MID BOB_TAIL(BOB_MD, BOB_AMD),
	    MK_OK, NULL, 0 },
	{ "same email keeps verification", BOB, "{\"email\":\"BOB@example.com\"}",
	    BOB_HEAD("bob@example.com", "true") BOB_MID BOB_TAIL(BOB_MD, BOB_AMD),
	    MK_OK, NULL, 0 },
	{ "user_metadata root merge", BOB,
	    "{\"user_metadata\":{\"b\":{\"d\":3},\"a\":null,\"gone\":null,\"z\":[null]}}",
	    BOB_HEAD("bob@example.com", "true") BOB_MID
	    BOB_TAIL(",\"user_metadata\":{\"b\":{\"d\":3},\"z\":[null]}", BOB_AMD),
	    MK_OK, NULL, 0 },
	{ "user_metadata {} removes it", BOB, "{\"user_metadata\":{}}",
	    BOB_HEAD("bob@example.com", "true") BOB_MID BOB_TAIL("", BOB_AMD), MK_OK, NULL, 0 },
	{ "app_metadata last key removed stays {}", BOB, "{\"app_metadata\":{\"plan\":null}}",
	    BOB_HEAD("bob@example.com", "true") BOB_MID
	    BOB_TAIL(BOB_MD, ",\"app_metadata\":{}"), MK_OK, NULL, 0 },
	{ "metadata added to a user without it", ALICE_MIN,
	    "{\"app_metadata\":{\"k\":true},\"user_metadata\":{\"u\":\"v\"}}",
	    "{\"created_at\":" T ",\"email\":\"alice@example.com\","
	    "\"email_verified\":false,\"identities\":" IDENT(DB, ID) ","
	    "\"name\":\"alice@example.com\",\"nickname\":\"alice\",\"updated_at\":" T ","
	    "\"user_id\":\"auth0|" ID "\",\"user_metadata\":{\"u\":\"v\"},"
	    "\"app_metadata\":{\"k\":true}}", MK_OK, NULL, 0 },

	{ "empty body", BOB, "{}", NULL, MK_ERR_INVALID,
	    PV "'Too few properties defined (0), minimum 1'.", 0 },
	{ "body not an object", BOB, "\"x\"", NULL, MK_ERR_INVALID,
	    PV "'Expected type object but found type string'.", 0 },
	{ "read-only properties", BOB,
	    "{\"user_id\":\"x\",\"created_at\":\"y\",\"updated_at\":\"z\",\"identities\":[],"
	    "\"last_login\":1,\"logins_count\":2,\"last_ip\":\"1.2.3.4\",\"name\":\"ok\"}",
	    NULL, MK_ERR_INVALID,
	    PV "'Additional properties not allowed: user_id,created_at,updated_at,"
	    "identities,last_login,logins_count,last_ip'.", 0 },
	{ "email null", BOB, "{\"email\":null}", NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type null' on property email.", 0 },
	{ "email invalid", BOB, "{\"email\":\"bob\"}", NULL, MK_ERR_INVALID,
	    PV "'Object didn't pass validation for format email: bob' on property email.", 0 },
	{ "blocked null", BOB, "{\"blocked\":null}", NULL, MK_ERR_INVALID,
	    PV "'Expected type boolean but found type null' on property blocked.", 0 },
	{ "email_verified null", BOB, "{\"email_verified\":null}", NULL, MK_ERR_INVALID,
	    PV "'Expected type boolean but found type null' on property email_verified.", 0 },
	{ "name empty", BOB, "{\"name\":\"\"}", NULL, MK_ERR_INVALID,
	    PV "'String is too short (0 chars), minimum 1' on property name.", 0 },
	{ "phone invalid", BOB, "{\"phone_number\":\"555\"}", NULL, MK_ERR_INVALID,
	    PV "'String does not match pattern ^\\+[0-9]{1,15}$: 555' on property phone_number.", 0 },
	{ "verify_phone_number string", BOB, "{\"verify_phone_number\":\"no\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type boolean but found type string' on property verify_phone_number.", 0 },
	{ "unknown connection", BOB, "{\"connection\":\"nope\"}", NULL, MK_ERR_INVALID,
	    "Connection does not exist. The connections are: "
	    "Username-Password-Authentication.", 0 },
	{ "another configured connection", "{\"identities\":" IDENT("db-a", "x") "}",
	    "{\"connection\":\"db-b\"}", NULL, MK_ERR_INVALID,
	    "The user does not have an identity in connection db-b.", 1 },
	{ "user_metadata not an object (meta)", BOB, "{\"user_metadata\":\"x\"}", NULL,
	    MK_ERR_INVALID, NULL, 0 },
	{ "user_metadata null (meta)", BOB, "{\"user_metadata\":null}", NULL,
	    MK_ERR_INVALID, NULL, 0 },
	{ "app_metadata reserved key after merge (meta)", BOB,
	    "{\"app_metadata\":{\"email\":\"x\"}}", NULL, MK_ERR_INVALID, NULL, 0 },
	{ "user_metadata dollar key (meta)", BOB, "{\"user_metadata\":{\"$x\":1}}", NULL,
	    MK_ERR_INVALID, NULL, 0 },
	{ "later error after a valid metadata merge", BOB,
	    "{\"user_metadata\":{\"a\":2},\"app_metadata\":[]}", NULL, MK_ERR_INVALID, NULL, 0 },
};

ParameterizedTestParameters(user_patch, table)
{
	return index_params(sizeof(user_patch_cases) / sizeof(user_patch_cases[0]));
}

ParameterizedTest(size_t *i, user_patch, table)
{
	run_case(USER_PATCH, &user_patch_cases[*i]);
}

Test(user_patch, max_depth_from_ctx)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *stored = parse(BOB), *body, *out = UNTOUCHED;
	struct mk_err err;

	/* user_metadata itself is level 1: {"a":{"b":{}}} is 3 levels. */
	body = parse("{\"user_metadata\":{\"a\":{\"b\":{}}}}");
	ctx.max_depth = 2;
	cr_expect_eq(model_user_patch(stored, body, &ctx, &out, &err), MK_ERR_INVALID);
	cr_expect_eq(out, UNTOUCHED);
	ctx.max_depth = 3;
	cr_expect_eq(model_user_patch(stored, body, &ctx, &out, &err), MK_OK, "%s", err.msg);
	cr_expect_neq(out, UNTOUCHED);
	json_object_put(out);
	json_object_put(body);
	json_object_put(stored);
}

Test(user_patch, result_shares_nothing_with_inputs)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *stored = parse(BOB), *body, *out = NULL, *md;
	struct mk_err err;

	body = parse("{\"name\":\"N\",\"user_metadata\":{\"n\":{\"x\":1}}}");
	cr_assert_eq(model_user_patch(stored, body, &ctx, &out, &err), MK_OK, "%s", err.msg);
	json_object_put(body);
	json_object_put(stored);
	/* Inputs gone: the result must still be whole (ASan catches sharing). */
	cr_assert(json_object_object_get_ex(out, "user_metadata", &md));
	cr_expect_str_eq(jx_text(md, NULL), "{\"a\":1,\"b\":{\"c\":2},\"n\":{\"x\":1}}");
	cr_expect_str_eq(jx_get_str(out, "name"), "N");
	json_object_put(out);
}

/* A created user patched: key order is the same as a created one. */
Test(user_patch, order_stable_with_create)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *body, *created = NULL, *patched = NULL;
	struct mk_err err;
	char *a;

	body = parse("{\"user_metadata\":{\"x\":1},\"blocked\":true,\"username\":\"u\","
	    "\"phone_number\":\"+1\"," MIN_BODY "}");
	cr_assert_eq(model_user_new(body, &ctx, &created, &err), MK_OK, "%s", err.msg);
	json_object_put(body);
	body = parse("{\"name\":\"alice@example.com\"}");
	cr_assert_eq(model_user_patch(created, body, &ctx, &patched, &err), MK_OK, "%s", err.msg);
	a = strdup(jx_text(created, NULL));
	cr_expect_str_eq(jx_text(patched, NULL), a);
	free(a);
	json_object_put(body);
	json_object_put(created);
	json_object_put(patched);
}

/* ---- clients ---- */

#define APP_MIN "{\"name\":\"App\",\"client_id\":\"" CID "\",\"client_secret\":\"" SECRET "\"," \
	"\"is_first_party\":true,\"created_at\":" T ",\"updated_at\":" T "}"

static struct mcase client_new_cases[] = {
	{ "minimal", NULL, "{\"name\":\"App\"}", APP_MIN, MK_OK, NULL, 0 },
	{ "everything", NULL,
	    "{\"client_metadata\":{\"k\":\"v\"},\"token_endpoint_auth_method\":\"none\","
	    "\"grant_types\":[\"implicit\"],\"allowed_logout_urls\":[],"
	    "\"web_origins\":[\"https://w\"],\"allowed_origins\":[\"https://o\"],"
	    "\"callbacks\":[\"https://a/cb\",\"https://b/cb\"],\"is_first_party\":false,"
	    "\"logo_uri\":\"https://x/l.png\",\"app_type\":\"spa\","
	    "\"description\":\"\",\"name\":\"My App\"}",
	    "{\"name\":\"My App\",\"description\":\"\",\"client_id\":\"" CID "\","
	    "\"client_secret\":\"" SECRET "\",\"app_type\":\"spa\","
	    "\"logo_uri\":\"https://x/l.png\",\"is_first_party\":false,"
	    "\"callbacks\":[\"https://a/cb\",\"https://b/cb\"],"
	    "\"allowed_origins\":[\"https://o\"],\"web_origins\":[\"https://w\"],"
	    "\"allowed_logout_urls\":[],\"grant_types\":[\"implicit\"],"
	    "\"token_endpoint_auth_method\":\"none\",\"client_metadata\":{\"k\":\"v\"},"
	    "\"created_at\":" T ",\"updated_at\":" T "}", MK_OK, NULL, 0 },
	{ "every app_type", NULL, "{\"name\":\"A\",\"app_type\":\"non_interactive\"}",
	    "{\"name\":\"A\",\"client_id\":\"" CID "\",\"client_secret\":\"" SECRET "\","
	    "\"app_type\":\"non_interactive\",\"is_first_party\":true,"
	    "\"created_at\":" T ",\"updated_at\":" T "}", MK_OK, NULL, 0 },

	{ "missing name", NULL, "{\"description\":\"d\"}", NULL, MK_ERR_INVALID,
	    PV "'Missing required property: name'.", 0 },
	{ "name empty", NULL, "{\"name\":\"\"}", NULL, MK_ERR_INVALID,
	    PV "'String is too short (0 chars), minimum 1' on property name.", 0 },
	{ "name with <", NULL, "{\"name\":\"a<b\"}", NULL, MK_ERR_INVALID,
	    PV "'String does not match pattern ^[^<>]+$: a<b' on property name.", 0 },
	{ "name with >", NULL, "{\"name\":\"a>b\"}", NULL, MK_ERR_INVALID,
	    PV "'String does not match pattern ^[^<>]+$: a>b' on property name.", 0 },
	{ "name number", NULL, "{\"name\":1}", NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type integer' on property name.", 0 },
	{ "read-only and unknown", NULL,
	    "{\"name\":\"A\",\"client_id\":\"x\",\"client_secret\":\"y\",\"created_at\":1,"
	    "\"tenant\":\"t\"}", NULL, MK_ERR_INVALID,
	    PV "'Additional properties not allowed: client_id,client_secret,created_at,tenant'.", 0 },
	{ "app_type unknown", NULL, "{\"name\":\"A\",\"app_type\":\"desktop\"}", NULL,
	    MK_ERR_INVALID, PV "'No enum match for: desktop' on property app_type.", 0 },
	{ "auth method unknown", NULL,
	    "{\"name\":\"A\",\"token_endpoint_auth_method\":\"private_key_jwt\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'No enum match for: private_key_jwt' on property token_endpoint_auth_method.", 0 },
	{ "is_first_party string", NULL, "{\"name\":\"A\",\"is_first_party\":\"true\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type boolean but found type string' on property is_first_party.", 0 },
	{ "callbacks not an array", NULL, "{\"name\":\"A\",\"callbacks\":\"https://x\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type array but found type string' on property callbacks.", 0 },
	{ "web_origins item not a string", NULL,
	    "{\"name\":\"A\",\"web_origins\":[\"https://x\",{}]}", NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type object' on property web_origins[1].", 0 },
	{ "grant_types item null", NULL, "{\"name\":\"A\",\"grant_types\":[null]}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type string but found type null' on property grant_types[0].", 0 },
	{ "logo_uri not a URL", NULL, "{\"name\":\"A\",\"logo_uri\":\"logo\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'Object didn't pass validation for format strict-uri: logo' on property logo_uri.", 0 },
	{ "client_metadata array", NULL, "{\"name\":\"A\",\"client_metadata\":[]}", NULL,
	    MK_ERR_INVALID,
	    PV "'Expected type object but found type array' on property client_metadata.", 0 },
	{ "client_metadata number value (meta)", NULL,
	    "{\"name\":\"A\",\"client_metadata\":{\"k\":1}}", NULL, MK_ERR_INVALID, NULL, 0 },
	{ "body not an object", NULL, "null", NULL, MK_ERR_INVALID,
	    PV "'Expected type object but found type null'.", 0 },
};

ParameterizedTestParameters(client_new, table)
{
	return index_params(sizeof(client_new_cases) / sizeof(client_new_cases[0]));
}

ParameterizedTest(size_t *i, client_new, table)
{
	run_case(CLIENT_NEW, &client_new_cases[*i]);
}

Test(client_new, limits)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *body, *arr, *out = NULL;
	struct mk_err err;
	char *s;
	int i;

	body = parse("{}");
	s = repeat("n", 255);
	json_object_object_add(body, "name", json_object_new_string(s));
	free(s);
	s = repeat("\xc3\xa9", 140);
	json_object_object_add(body, "description", json_object_new_string(s));
	free(s);
	arr = json_object_new_array();
	for (i = 0; i < 1000; i++)
		json_object_array_add(arr, json_object_new_string("https://cb"));
	json_object_object_add(body, "callbacks", arr);
	cr_expect_eq(model_client_new(body, &ctx, &out, &err), MK_OK, "%s", err.msg);
	json_object_put(out);

	json_object_array_add(arr, json_object_new_string("https://cb"));
	out = UNTOUCHED;
	cr_expect_eq(model_client_new(body, &ctx, &out, &err), MK_ERR_INVALID);
	cr_expect_str_eq(err.msg, PV "'Array is too long (1001), maximum 1000' on property callbacks.");
	json_object_object_del(body, "callbacks");

	s = repeat("\xc3\xa9", 141);
	json_object_object_add(body, "description", json_object_new_string(s));
	free(s);
	cr_expect_eq(model_client_new(body, &ctx, &out, &err), MK_ERR_INVALID);
	cr_expect_str_eq(err.msg, PV "'String is too long (141 chars), maximum 140' on property description.");
	json_object_object_del(body, "description");

	s = repeat("n", 256);
	json_object_object_add(body, "name", json_object_new_string(s));
	free(s);
	cr_expect_eq(model_client_new(body, &ctx, &out, &err), MK_ERR_INVALID);
	cr_expect_str_eq(err.msg, PV "'String is too long (256 chars), maximum 255' on property name.");
	cr_expect_eq(out, UNTOUCHED);
	json_object_put(body);
}

#define APP_STORED "{\"name\":\"App\",\"description\":\"d\",\"client_id\":\"" CID "\"," \
	"\"client_secret\":\"" SECRET "\",\"app_type\":\"spa\",\"is_first_party\":true," \
	"\"callbacks\":[\"https://a\"],\"client_metadata\":{\"a\":\"1\",\"b\":\"2\"}," \
	"\"created_at\":" OLD_T ",\"updated_at\":" OLD_T ",\"legacy\":7}"
#define APP_HEAD "{\"name\":\"App\",\"description\":\"d\",\"client_id\":\"" CID "\","
#define APP_AFTER_SECRET(secret) "\"client_secret\":\"" secret "\",\"app_type\":\"spa\"," \
	"\"is_first_party\":true,\"callbacks\":[\"https://a\"],"
#define APP_TAIL(md) md "\"created_at\":" OLD_T ",\"updated_at\":" T ",\"legacy\":7}"
#define APP_MD "\"client_metadata\":{\"a\":\"1\",\"b\":\"2\"},"

static struct mcase client_patch_cases[] = {
	{ "rename", APP_STORED, "{\"name\":\"New\"}",
	    "{\"name\":\"New\",\"description\":\"d\",\"client_id\":\"" CID "\","
	    APP_AFTER_SECRET(SECRET) APP_TAIL(APP_MD), MK_OK, NULL, 0 },
	{ "new secret", APP_STORED, "{\"client_secret\":\"s3cret\"}",
	    APP_HEAD APP_AFTER_SECRET("s3cret") APP_TAIL(APP_MD), MK_OK, NULL, 0 },
	{ "description null unsets", APP_STORED, "{\"description\":null}",
	    "{\"name\":\"App\",\"client_id\":\"" CID "\","
	    APP_AFTER_SECRET(SECRET) APP_TAIL(APP_MD), MK_OK, NULL, 0 },
	{ "arrays replace", APP_STORED,
	    "{\"callbacks\":[],\"grant_types\":[\"client_credentials\"]}",
	    APP_HEAD "\"client_secret\":\"" SECRET "\",\"app_type\":\"spa\","
	    "\"is_first_party\":true,\"callbacks\":[],\"grant_types\":[\"client_credentials\"],"
	    APP_TAIL(APP_MD), MK_OK, NULL, 0 },
	{ "client_metadata merge", APP_STORED,
	    "{\"client_metadata\":{\"a\":null,\"c\":\"3\"}}",
	    APP_HEAD APP_AFTER_SECRET(SECRET)
	    APP_TAIL("\"client_metadata\":{\"b\":\"2\",\"c\":\"3\"},"), MK_OK, NULL, 0 },
	{ "client_metadata {} removes it", APP_STORED, "{\"client_metadata\":{}}",
	    APP_HEAD APP_AFTER_SECRET(SECRET) APP_TAIL(""), MK_OK, NULL, 0 },

	{ "empty body", APP_STORED, "{}", NULL, MK_ERR_INVALID,
	    PV "'Too few properties defined (0), minimum 1'.", 0 },
	{ "read-only", APP_STORED,
	    "{\"client_id\":\"x\",\"created_at\":\"y\",\"updated_at\":\"z\",\"legacy\":1}",
	    NULL, MK_ERR_INVALID,
	    PV "'Additional properties not allowed: client_id,created_at,updated_at,legacy'.", 0 },
	{ "name null", APP_STORED, "{\"name\":null}", NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type null' on property name.", 0 },
	{ "app_type null", APP_STORED, "{\"app_type\":null}", NULL, MK_ERR_INVALID,
	    PV "'Expected type string but found type null' on property app_type.", 0 },
	{ "callbacks null", APP_STORED, "{\"callbacks\":null}", NULL, MK_ERR_INVALID,
	    PV "'Expected type array but found type null' on property callbacks.", 0 },
	{ "client_secret empty", APP_STORED, "{\"client_secret\":\"\"}", NULL, MK_ERR_INVALID,
	    PV "'String is too short (0 chars), minimum 1' on property client_secret.", 0 },
	{ "client_secret control char", APP_STORED, "{\"client_secret\":\"a\\u0001\"}", NULL,
	    MK_ERR_INVALID,
	    PV "'String contains a control character' on property client_secret.", 0 },
	{ "client_metadata null (meta)", APP_STORED, "{\"client_metadata\":null}", NULL,
	    MK_ERR_INVALID, NULL, 0 },
	{ "client_metadata non-string value (meta)", APP_STORED,
	    "{\"client_metadata\":{\"a\":[]}}", NULL, MK_ERR_INVALID, NULL, 0 },
	{ "name with angle", APP_STORED, "{\"name\":\"<script>\"}", NULL, MK_ERR_INVALID,
	    PV "'String does not match pattern ^[^<>]+$: <script>' on property name.", 0 },
};

ParameterizedTestParameters(client_patch, table)
{
	return index_params(sizeof(client_patch_cases) / sizeof(client_patch_cases[0]));
}

ParameterizedTest(size_t *i, client_patch, table)
{
	run_case(CLIENT_PATCH, &client_patch_cases[*i]);
}

Test(client_patch, eleven_keys_after_merge)
{
	struct model_ctx ctx = ctx_default();
	struct json_object *stored = parse(APP_STORED), *body, *out = UNTOUCHED;
	struct mk_err err;

	/* 2 stored + 9 new = 11 > 10; with "a" removed and 8 new it is 9. */
	body = parse("{\"client_metadata\":{\"c\":\"\",\"d\":\"\",\"e\":\"\",\"f\":\"\","
	    "\"g\":\"\",\"h\":\"\",\"i\":\"\",\"j\":\"\",\"k\":\"\"}}");
	cr_expect_eq(model_client_patch(stored, body, &ctx, &out, &err), MK_ERR_INVALID);
	cr_expect_eq(out, UNTOUCHED);
	json_object_put(body);
	body = parse("{\"client_metadata\":{\"a\":null,\"d\":\"\",\"e\":\"\",\"f\":\"\","
	    "\"g\":\"\",\"h\":\"\",\"i\":\"\",\"j\":\"\",\"k\":\"\"}}");
	cr_expect_eq(model_client_patch(stored, body, &ctx, &out, &err), MK_OK, "%s", err.msg);
	json_object_put(out);
	json_object_put(body);
	json_object_put(stored);
}

/* ---- body props and index keys ---- */

Test(model, body_props)
{
	static const struct { const char *body; unsigned want; } t[] = {
		{ "{}", 0 },
		{ "[]", 0 },
		{ "\"user_metadata\"", 0 },
		{ "{\"user_metadata\":{}}", MODEL_PROP_USER_MD },
		{ "{\"app_metadata\":null}", MODEL_PROP_APP_MD },
		{ "{\"app_metadata\":{},\"user_metadata\":1}", MODEL_PROP_APP_MD | MODEL_PROP_USER_MD },
		{ "{\"app_metadata\":{},\"name\":\"x\"}", MODEL_PROP_APP_MD | MODEL_PROP_OTHER },
		{ "{\"client_secret\":\"x\"}", MODEL_PROP_SECRET },
		{ "{\"client_secret\":\"x\",\"client_metadata\":{}}",
		    MODEL_PROP_SECRET | MODEL_PROP_OTHER },
		{ "{\"password\":\"x\"}", MODEL_PROP_OTHER },
	};
	struct json_object *b;
	size_t i;

	cr_expect_eq(model_body_props(NULL), 0u);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		b = parse(t[i].body);
		cr_expect_eq(model_body_props(b), t[i].want, "%s", t[i].body);
		json_object_put(b);
	}
}

Test(model, user_keys)
{
	struct json_object *u = parse(BOB);
	struct model_user_keys k;

	model_user_keys(u, &k);
	cr_expect_str_eq(k.user_id, "auth0|abc");
	cr_expect_str_eq(k.email, "bob@example.com");
	cr_expect_str_eq(k.connection, DB);
	cr_expect_str_eq(k.created_at, "2020-01-01T00:00:00.000Z");
	cr_expect_str_eq(k.updated_at, "2020-01-01T00:00:00.000Z");
	/* Borrowed: pointers into the object. */
	cr_expect_eq(k.user_id, jx_get_str(u, "user_id"));
	json_object_put(u);

	u = parse("{\"user_id\":\"auth0|x\",\"identities\":[]}");
	model_user_keys(u, &k);
	cr_expect_str_eq(k.user_id, "auth0|x");
	cr_expect_null(k.email);
	cr_expect_str_eq(k.connection, "");
	cr_expect_str_eq(k.created_at, "");
	json_object_put(u);
}

/*
 * test_query: the search language, from tables: texts and the tree they
 * parse to (in query_format's canonical form), texts that must fail and the
 * position they must name, and queries matched against a fixed user.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"
#include "query.h"

struct parse_case {
	const char *text;
	const char *tree;
};

static const struct parse_case parse_ok[] = {
	{ "email:a@b.c", "email:\"a@b.c\"" },
	{ "email:A@B.C", "email:\"a@b.c\"" },               /* profile: lower-cased */
	{ "user_metadata.plan:Gold", "user_metadata.plan:\"Gold\"" }, /* metadata: kept */
	{ "name:\"Jane Smith\"", "name:\"jane smith\"" },
	{ "  name:x  ", "name:\"x\"" },
	{ "app_metadata.a.b.c:1", "app_metadata.a.b.c:\"1\"" },
	{ "user_metadata.k:\"say \\\"hi\\\"\"", "user_metadata.k:\"say \\\"hi\\\"\"" },
	{ "user_metadata.k:a\\:b", "user_metadata.k:\"a:b\"" },
	{ "user_metadata.we\\ ird:v", "user_metadata.we ird:\"v\"" },
	{ "user_metadata.k:\"\"", "user_metadata.k:\"\"" },
	{ "user_id:auth0|abc", "user_id:\"auth0|abc\"" },
	{ "email:a+b@x-y.com", "email:\"a+b@x-y.com\"" },
	{ "_exists_:user_metadata", "_exists_:user_metadata" },
	{ "_exists_:app_metadata.x.y", "_exists_:app_metadata.x.y" },
	{ "_exists_:\"email\"", "_exists_:email" },
	{ "name:a AND name:b", "(name:\"a\" AND name:\"b\")" },
	{ "name:a OR name:b", "(name:\"a\" OR name:\"b\")" },
	{ "name:a OR name:b AND name:c", "(name:\"a\" OR (name:\"b\" AND name:\"c\"))" },
	{ "name:a AND name:b OR name:c", "((name:\"a\" AND name:\"b\") OR name:\"c\")" },
	{ "(name:a OR name:b) AND name:c", "((name:\"a\" OR name:\"b\") AND name:\"c\")" },
	{ "NOT name:a", "NOT name:\"a\"" },
	{ "NOT NOT name:a", "NOT NOT name:\"a\"" },
	{ "NOT name:a AND name:b", "(NOT name:\"a\" AND name:\"b\")" },
	{ "NOT(name:a)", "NOT name:\"a\"" },
	{ "name:a name:b", "(name:\"a\" OR name:\"b\")" },         /* default OR */
	{ "name:a name:b name:c", "((name:\"a\" OR name:\"b\") OR name:\"c\")" },
	{ "name:a NOT name:b", "(name:\"a\" AND NOT name:\"b\")" }, /* Lucene's a -b */
	{ "name:a name:b NOT name:c", "((name:\"a\" OR name:\"b\") AND NOT name:\"c\")" },
	{ "NOT name:a NOT name:b", "(NOT name:\"a\" AND NOT name:\"b\")" },
	{ "name:a OR NOT name:b", "(name:\"a\" OR NOT name:\"b\")" },
	{ "((name:a))", "name:\"a\"" },
	{ "(name:a)(name:b)", "(name:\"a\" OR name:\"b\")" },
	{ "blocked:TRUE", "blocked:\"true\"" },
	{ "user_metadata.ville:\"Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80\"",
	    "user_metadata.ville:\"Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80\"" },
	{ "ANDroid:x", NULL },  /* not an operator: an unknown field (error) */
};

Test(query, parse_table)
{
	struct query *q;
	struct query_error e;
	size_t i;
	char *s;

	for (i = 0; i < sizeof(parse_ok) / sizeof(parse_ok[0]); i++) {
		const struct parse_case *c = &parse_ok[i];
		enum mk_code rc = query_parse(c->text, strlen(c->text), &q, &e);

		if (c->tree == NULL) {
			cr_expect_eq(rc, MK_ERR_QUERY, "%s: should fail", c->text);
			continue;
		}
		cr_assert_eq(rc, MK_OK, "%s: %s at %zu", c->text, e.msg, e.pos);
		s = query_format(query_root(q));
		cr_expect_str_eq(s, c->tree, "%s", c->text);
		free(s);
		query_free(q);
	}
}

struct err_case {
	const char *text;
	size_t pos;
	const char *msg;    /* a substring of the message */
};

static const struct err_case parse_bad[] = {
	{ "", 0, "Empty query" },
	{ "   ", 3, "Empty query" },
	{ "jane", 0, "bare word" },
	{ "name:a jane", 7, "bare word" },
	{ "name:a and name:b", 7, "operators are upper case (AND, OR, NOT): write AND for and" },
	{ "name:a Or name:b", 7, "write OR for Or" },
	{ "not name:b", 0, "write NOT for not" },
	{ "name:a andy", 7, "bare word" },
	{ "\"jane\"", 0, "bare phrase" },
	{ "name:", 5, "Expected a value" },
	{ "name: x", 5, "Expected a value" },
	{ "name:\"abc", 5, "Unterminated" },
	{ "name:\"abc\\\"", 5, "Unterminated" },
	{ "name:\"a\"b", 8, "after the quoted value" },
	{ "name:jo*", 7, "Wildcards" },
	{ "name:j?", 6, "Wildcards" },
	{ "logins_count:[1 TO 2]", 0, "Unknown field" },
	{ "user_metadata.n:[1 TO 2]", 16, "Range" },
	{ "name:a~2", 6, "quote the value" },
	{ "name:a:b", 6, "quote the value" },
	{ "phone_number:x", 0, "Unknown field" },
	{ "user_metadata:x", 0, "path below user_metadata" },
	{ "user_metadatax.a:1", 0, "Unknown field" },
	{ "user_metadata..a:1", 13, "Empty component" },
	{ "user_metadata.a.:1", 15, "Empty component" },
	{ "_exists_:foo", 9, "Unknown field" },
	{ "_exists_:", 9, "Expected a value" },
	{ "name:a AND", 10, "at the end" },
	{ "name:a OR OR name:b", 10, "before OR" },
	{ "AND name:a", 0, "before AND" },
	{ "(name:a", 0, "Missing ')'" },
	{ "name:a)", 6, "Unexpected ')'" },
	{ "()", 1, "inside '()'" },
	{ "NOT", 3, "at the end" },
	{ "name:(a b)", 5, "Field grouping" },
	{ "-name:a", 0, "not supported" },
	{ "name:a && name:b", 7, "not supported" },
	{ "name:a\\", 6, "backslash" },
	{ "name:a\n\x01:b", 7, "Unknown field" },
	{ "ema\x96il:x", 3, "not valid UTF-8" },
	{ "name:\xc3\xa9\xc0\xaf", 7, "not valid UTF-8" },    /* overlong '/' */
	{ "name:\xed\xa0\x80", 5, "not valid UTF-8" },         /* a surrogate */
	{ "name:\xf4\x90\x80\x80", 5, "not valid UTF-8" },     /* above U+10FFFF */
	{ "name:\xe2\x82", 5, "not valid UTF-8" },              /* cut short */
};

Test(query, errors_name_the_position)
{
	struct query *q = NULL;
	struct query_error e;
	size_t i;

	for (i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++) {
		const struct err_case *c = &parse_bad[i];

		memset(&e, 0, sizeof(e));
		cr_expect_eq(query_parse(c->text, strlen(c->text), &q, &e), MK_ERR_QUERY,
		    "%s: should fail", c->text);
		cr_expect_eq(e.pos, c->pos, "%s: pos %zu, want %zu (%s)", c->text, e.pos,
		    c->pos, e.msg);
		cr_expect_not_null(strstr(e.msg, c->msg), "%s: message \"%s\" lacks \"%s\"",
		    c->text, e.msg, c->msg);
	}
}

Test(query, limits)
{
	struct query *q = NULL;
	struct query_error e;
	char *big;
	size_t i, n;

	/* A NUL byte, and text over the limit. */
	cr_expect_eq(query_parse("name:a\0b", 8, &q, &e), MK_ERR_QUERY);
	cr_expect_eq(e.pos, 6);
	big = malloc(QUERY_MAX_LEN + 2);
	memset(big, ' ', QUERY_MAX_LEN + 1);
	cr_expect_eq(query_parse(big, QUERY_MAX_LEN + 1, &q, &e), MK_ERR_QUERY);
	cr_expect_not_null(strstr(e.msg, "too long"));
	/* Nesting: 40 parentheses. */
	n = 0;
	for (i = 0; i < 40; i++)
		big[n++] = '(';
	memcpy(big + n, "name:a", 6);
	n += 6;
	for (i = 0; i < 40; i++)
		big[n++] = ')';
	cr_expect_eq(query_parse(big, n, &q, &e), MK_ERR_QUERY);
	cr_expect_not_null(strstr(e.msg, "Nesting"), "%s", e.msg);
	/* 300 terms. */
	n = 0;
	for (i = 0; i < 300; i++) {
		memcpy(big + n, "name:a ", 7);
		n += 7;
	}
	cr_expect_eq(query_parse(big, n, &q, &e), MK_ERR_QUERY);
	cr_expect_not_null(strstr(e.msg, "Too many"), "%s", e.msg);
	/* 100 terms are fine. */
	cr_expect_eq(query_parse(big, 700, &q, &e), MK_OK, "%s", e.msg);
	query_free(q);
	free(big);
}

static const char *user_text =
    "{\"user_id\":\"auth0|AbC\",\"email\":\"jane@example.com\",\"name\":\"Jane Smith\","
    "\"nickname\":\"jane\",\"email_verified\":true,\"blocked\":false,"
    "\"user_metadata\":{\"plan\":\"Gold\",\"age\":30,\"ratio\":0.5,\"big\":1e20,"
    "\"tags\":[\"red\",\"blue\",[\"deep\"]],\"prefs\":{\"lang\":\"fr\",\"dark\":true},"
    "\"addresses\":[{\"city\":\"Paris\"},{\"city\":\"Oslo\",\"zip\":null}],"
    "\"empty\":{},\"none\":[],\"nothing\":null,\"dot.key\":\"d\",\"s30\":\"30\"},"
    "\"app_metadata\":{\"roles\":[\"admin\"],\"score\":-0.0,\"n\":30.0}}";

struct match_case {
	const char *q;
	int want;
};

static const struct match_case matches[] = {
	{ "email:jane@example.com", 1 },
	{ "email:JANE@EXAMPLE.COM", 1 },
	{ "email:jane", 0 },
	{ "name:\"jane smith\"", 1 },
	{ "name:jane", 0 },
	{ "user_id:AUTH0|abc", 1 },
	{ "email_verified:true", 1 },
	{ "blocked:false", 1 },
	{ "blocked:true", 0 },
	{ "given_name:x", 0 },
	{ "_exists_:given_name", 0 },
	{ "_exists_:email", 1 },
	{ "user_metadata.plan:Gold", 1 },
	{ "user_metadata.plan:gold", 0 },            /* metadata is case-sensitive */
	{ "user_metadata.age:30", 1 },
	{ "user_metadata.age:30.0", 1 },
	{ "user_metadata.age:3e1", 1 },
	{ "user_metadata.age:\"30\"", 1 },
	{ "user_metadata.age:31", 0 },
	{ "user_metadata.s30:30", 1 },               /* a string "30" too */
	{ "user_metadata.s30:30.0", 0 },             /* but strings compare as text */
	{ "user_metadata.ratio:0.5", 1 },
	{ "user_metadata.ratio:.5", 0 },             /* not a JSON number, not the string */
	{ "user_metadata.big:100000000000000000000", 1 },
	{ "user_metadata.tags:red", 1 },
	{ "user_metadata.tags:deep", 1 },            /* nested arrays too */
	{ "user_metadata.tags:green", 0 },
	{ "user_metadata.prefs.lang:fr", 1 },
	{ "user_metadata.prefs.dark:true", 1 },
	{ "user_metadata.prefs.dark:True", 0 },
	{ "user_metadata.prefs:fr", 0 },
	{ "user_metadata.addresses.city:Oslo", 1 },
	{ "user_metadata.addresses.zip:null", 0 },
	{ "user_metadata.dot.key:d", 1 },
	{ "app_metadata.roles:admin", 1 },
	{ "app_metadata.score:0", 1 },               /* -0.0 is 0 */
	{ "app_metadata.n:30", 1 },
	{ "_exists_:user_metadata", 1 },
	{ "_exists_:user_metadata.prefs", 1 },
	{ "_exists_:user_metadata.pref", 0 },        /* a prefix of a key is not a key */
	{ "_exists_:user_metadata.empty", 0 },
	{ "_exists_:user_metadata.none", 0 },
	{ "_exists_:user_metadata.nothing", 0 },
	{ "_exists_:user_metadata.addresses.zip", 0 },
	{ "_exists_:user_metadata.addresses.city", 1 },
	{ "user_metadata.plan:Gold AND user_metadata.age:31", 0 },
	{ "user_metadata.plan:Gold OR user_metadata.age:31", 1 },
	{ "NOT user_metadata.plan:Gold", 0 },
	{ "NOT user_metadata.plan:Silver", 1 },
	{ "user_metadata.plan:Silver user_metadata.age:30", 1 },
	{ "user_metadata.age:30 NOT user_metadata.plan:Gold", 0 },
	{ "(name:x OR email:jane@example.com) AND NOT blocked:true", 1 },
};

Test(query, match_table)
{
	struct json_object *user;
	struct query *q;
	struct query_error e;
	size_t i;

	cr_assert_eq(jx_parse(user_text, strlen(user_text), 64, &user, NULL), MK_OK);
	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		const struct match_case *c = &matches[i];

		cr_assert_eq(query_parse(c->q, strlen(c->q), &q, &e), MK_OK, "%s: %s", c->q,
		    e.msg);
		cr_expect_eq(query_match(query_root(q), user), c->want, "%s: want %d", c->q,
		    c->want);
		query_free(q);
	}
	json_object_put(user);
}

struct term_count {
	int n, profile, exists_s;
};

static int
count_term(void *ctx, const struct query_term *t)
{
	struct term_count *tc = ctx;

	cr_expect_eq(strlen(t->path), t->plen);
	cr_expect(t->tag == 's' || t->tag == 'n' || t->tag == 'b');
	cr_expect(t->vlen > 0 || t->tag == 's');
	tc->n++;
	tc->profile += t->profile;
	return 0;
}

Test(query, terms_and_numbers)
{
	struct json_object *user;
	struct term_count tc = { 0, 0, 0 };
	char buf[32];

	cr_assert_eq(jx_parse(user_text, strlen(user_text), 64, &user, NULL), MK_OK);
	cr_expect_eq(query_terms(user, count_term, &tc), 0);
	/* 6 profile leaves; user_metadata: plan age ratio big red blue deep lang dark
	 * Paris Oslo d "30" = 13; app_metadata: admin score n = 3. */
	cr_expect_eq(tc.profile, 6);
	cr_expect_eq(tc.n, 6 + 13 + 3);
	json_object_put(user);

	cr_expect_eq(query_number_canon_text("30", 2, buf), 0);
	cr_expect_str_eq(buf, "30");
	cr_expect_eq(query_number_canon_text("-1.50", 5, buf), 0);
	cr_expect_str_eq(buf, "-1.5");
	cr_expect_eq(query_number_canon_text("0.1", 3, buf), 0);
	cr_expect_str_eq(buf, "0.10000000000000001");
	cr_expect_eq(query_number_canon_text("99999999999999999999", 20, buf), 0);
	cr_expect_str_eq(buf, "1e+20");
	cr_expect_eq(query_number_canon_text("01", 2, buf), -1);
	cr_expect_eq(query_number_canon_text("1.", 2, buf), -1);
	cr_expect_eq(query_number_canon_text("1e", 2, buf), -1);
	cr_expect_eq(query_number_canon_text("+1", 2, buf), -1);
	cr_expect_eq(query_number_canon_text("1e999", 5, buf), -1);
	cr_expect_eq(query_number_canon_text("abc", 3, buf), -1);
}

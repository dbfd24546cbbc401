/*
 * test_jx: jx_parse's strict rules and the round trip through jx_text.
 *
 * What is verified about round trips (see the top of src/jx.c):
 *  - byte-identical: strings holding json-c's own escapes (\" \\ \n \t \r
 *    \b \f \u0000 and other control characters as \u00XX), raw UTF-8
 *    including non-BMP characters, integers within int64, every number with
 *    a fraction or an exponent (json-c keeps its text), key order;
 *  - value-identical only: other escapes ("\u00e9", "\/", surrogate pairs)
 *    come back as the raw UTF-8 they stand for; "-0" comes back as "0";
 *    insignificant whitespace is dropped.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"

#define PVE "Payload validation error: "

static enum mk_code
parse(const char *s, int depth, struct json_object **out, struct mk_err *err)
{
	return jx_parse(s, strlen(s), depth, out, err);
}

/* s parses and serializes to want (byte for byte). */
static void
roundtrip(const char *s, const char *want)
{
	struct json_object *o = NULL;
	struct mk_err err = { MK_OK, "" };
	const char *t;
	size_t n;

	cr_assert_eq(parse(s, 32, &o, &err), MK_OK, "parse %s: %s", s, err.msg);
	t = jx_text(o, &n);
	cr_expect_eq(n, strlen(want), "length of %s: got %zu (%s) want %zu",
	    s, n, t, strlen(want));
	cr_expect(memcmp(t, want, strlen(want)) == 0, "%s came back as %s,"
	    " want %s", s, t, want);
	json_object_put(o);
}

/* s is refused with MK_ERR_INVALID and a message starting with prefix;
 * out is left alone. */
static void
refused(const char *s, size_t len, int depth, const char *prefix)
{
	struct json_object *sentinel = (struct json_object *)&sentinel;
	struct json_object *o = sentinel;
	struct mk_err err = { MK_OK, "" };

	int show = len > 80 ? 80 : (int)len; /* inputs can be huge */

	cr_expect_eq(jx_parse(s, len, depth, &o, &err), MK_ERR_INVALID,
	    "accepted: %.*s", show, s);
	cr_expect_eq(err.code, MK_ERR_INVALID);
	cr_expect(strncmp(err.msg, prefix, strlen(prefix)) == 0,
	    "input %.*s: message \"%s\" does not start with \"%s\"", show,
	    s, err.msg, prefix);
	cr_expect(o == sentinel, "out written on failure for %.*s", show, s);
}

static void
refused_s(const char *s, const char *prefix)
{
	refused(s, strlen(s), 32, prefix);
}

Test(jx, roundtrip_byte_identical)
{
	static const char *const same[] = {
		"{\"a\":\"x\\\"y\\\\z\\n\\t\\r\\b\\f\"}",
		"\"a\\u0000b\"",
		"{\"k\":\"\\u0000\\u0001\\u001f\"}",
		"\"\xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac \xc3\xa9\"",
		"\"a/b\"",
		"1.0", "1e5", "1E5", "-0.0", "0.1", "1.5e+3", "2E-3", "1e-400",
		"3.141592653589793238462643383279",
		"12345678901234567", "9223372036854775807",
		"-9223372036854775808", "0", "-1",
		"[1.10,-7,2E-3,1.0e0]",
		"{\"z\":1,\"a\":2,\"m\":{\"y\":null,\"b\":[true,false]}}",
		"{}", "[]", "true", "false", "\"\"",
	};
	size_t k;

	for (k = 0; k < sizeof(same) / sizeof(same[0]); k++)
		roundtrip(same[k], same[k]);
}

Test(jx, roundtrip_value_identical)
{
	roundtrip("\"\\u00e9\"", "\"\xc3\xa9\"");
	roundtrip("\"\\/\"", "\"/\"");
	roundtrip("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
	roundtrip("\"\\uD83D\\uDE00\"", "\"\xf0\x9f\x98\x80\"");
	roundtrip("-0", "0");
	roundtrip(" { \"a\" : [ 1 , 2 ] }\r\n\t ", "{\"a\":[1,2]}");
}

Test(jx, string_values_exact)
{
	struct json_object *o = NULL;
	struct mk_err err;

	cr_assert_eq(parse("\"a\\u0000b\\ud83d\\ude00\"", 4, &o, &err), MK_OK);
	cr_assert_eq(json_object_get_string_len(o), 7);
	cr_expect(memcmp(json_object_get_string(o), "a\0b\xf0\x9f\x98\x80", 7)
	    == 0);
	json_object_put(o);
}

Test(jx, numbers_typed)
{
	struct json_object *o = NULL;
	struct mk_err err;

	cr_assert_eq(parse("[12345678901234567,-9223372036854775808,1e5]", 4,
	    &o, &err), MK_OK);
	cr_expect_eq(json_object_get_int64(json_object_array_get_idx(o, 0)),
	    12345678901234567LL);
	cr_expect_eq(json_object_get_int64(json_object_array_get_idx(o, 1)),
	    INT64_MIN);
	cr_expect(json_object_is_type(json_object_array_get_idx(o, 2),
	    json_type_double));
	cr_expect_eq(json_object_get_double(json_object_array_get_idx(o, 2)),
	    100000.0);
	json_object_put(o);
}

/* meta relies on this: a deep copy keeps the text of doubles. */
Test(jx, deep_copy_keeps_number_text)
{
	struct json_object *o = NULL, *c = NULL;
	struct mk_err err;
	const char *in = "{\"a\":[1.0,1E5,-0.0,null,{\"b\":\"\\u0000\"}]}";

	cr_assert_eq(parse(in, 8, &o, &err), MK_OK);
	cr_assert_eq(json_object_deep_copy(o, &c, NULL), 0);
	cr_expect_str_eq(jx_text(c, NULL), in);
	json_object_put(o);
	json_object_put(c);
}

Test(jx, not_nul_terminated)
{
	struct json_object *o = NULL;
	struct mk_err err;
	const char buf[] = { '1', '2', '3' };

	cr_assert_eq(jx_parse("[1,2]xyz", 5, 4, &o, &err), MK_OK);
	cr_expect_str_eq(jx_text(o, NULL), "[1,2]");
	json_object_put(o);
	o = NULL;
	cr_assert_eq(jx_parse(buf, 2, 4, &o, &err), MK_OK);
	cr_expect_eq(json_object_get_int64(o), 12);
	json_object_put(o);
	/* A bare number right at the end of the buffer is complete. */
	o = NULL;
	cr_assert_eq(jx_parse(buf, 3, 4, &o, &err), MK_OK);
	cr_expect_eq(json_object_get_int64(o), 123);
	json_object_put(o);
}

Test(jx, top_level_null_and_scalars)
{
	struct json_object *o = (struct json_object *)&o;
	struct mk_err err;

	cr_assert_eq(parse("null", 0, &o, &err), MK_OK);
	cr_expect_null(o);
	cr_assert_eq(parse(" \"s\" ", 0, &o, &err), MK_OK);
	cr_expect_str_eq(json_object_get_string(o), "s");
	json_object_put(o);
	cr_assert_eq(parse("false", 0, &o, &err), MK_OK);
	cr_expect(json_object_is_type(o, json_type_boolean));
	cr_expect_eq(json_object_get_boolean(o), 0);
	json_object_put(o);
}

Test(jx, duplicate_keys)
{
	struct json_object *o = NULL;
	struct mk_err err;

	refused_s("{\"a\":1,\"a\":2}", PVE "'Duplicate key a'");
	refused_s("{\"a\":1,\"\\u0061\":2}", PVE "'Duplicate key a'");
	refused_s("{\"\":1,\"\":2}", PVE "'Duplicate key '");
	refused_s("{\"x\":{\"k\":1,\"b\":2,\"k\":3}}", PVE "'Duplicate key k'");
	refused_s("[{\"p\":[{\"q\":1,\"q\":1}]}]", PVE "'Duplicate key q'");
	refused_s("{\"\xc3\xa9\":1,\"\\u00e9\":2}", PVE "'Duplicate key \xc3\xa9'");
	refused_s("{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}",
	    PVE "'Duplicate key \xf0\x9f\x98\x80'");
	/* The same name in different objects is fine. */
	cr_expect_eq(parse("[{\"a\":1},{\"a\":2}]", 4, &o, &err), MK_OK);
	json_object_put(o);
	o = NULL;
	cr_expect_eq(parse("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}", 4, &o,
	    &err), MK_OK, "%s", err.msg);
	json_object_put(o);
	o = NULL;
	/* Keys that differ only after a NUL-free prefix or in length. */
	cr_expect_eq(parse("{\"ab\":1,\"a\":2,\"abc\":3,\"b\":4}", 4, &o, &err),
	    MK_OK, "%s", err.msg);
	cr_expect_eq(json_object_object_length(o), 4);
	json_object_put(o);
}

Test(jx, many_keys_and_late_duplicate)
{
	struct json_object *o = NULL;
	struct mk_err err;
	char *s;
	size_t at = 0, cap = 20000 * 16 + 64;
	int k;

	s = malloc(cap);
	cr_assert_not_null(s);
	s[at++] = '{';
	for (k = 0; k < 20000; k++)
		at += (size_t)snprintf(s + at, cap - at, "%s\"k%d\":%d",
		    k ? "," : "", k, k);
	s[at++] = '}';
	cr_assert_eq(jx_parse(s, at, 4, &o, &err), MK_OK, "%s", err.msg);
	cr_expect_eq(json_object_object_length(o), 20000);
	json_object_put(o);
	/* Now repeat the first key at the very end. */
	at--;
	at += (size_t)snprintf(s + at, cap - at, ",\"k0\":1}");
	refused(s, at, 4, PVE "'Duplicate key k0'");
	free(s);
}

Test(jx, nul_in_key)
{
	refused_s("{\"a\\u0000b\":1}", PVE "'Invalid JSON: \\u0000 in a key");
	refused_s("{\"\\u0000\":1}", PVE "'Invalid JSON: \\u0000 in a key");
}

Test(jx, lone_surrogates)
{
	const char *m = PVE "'Invalid JSON: lone surrogate escape";

	refused_s("\"\\ud800\"", m);
	refused_s("\"\\ud800x\"", m);
	refused_s("\"\\udc00\"", m);
	refused_s("\"\\ud800\\u0041\"", m);
	refused_s("\"\\ude00\\ud83d\"", m);
	refused_s("\"\\ud800\\ud800\"", m);
	refused_s("{\"\\udbff\":1}", m);
	refused_s("\"\\ud800\\", m);
}

Test(jx, invalid_utf8)
{
	const char *m = PVE "'Invalid JSON: invalid UTF-8";

	refused_s("\"\xff\"", m);
	refused_s("\"\xc0\xaf\"", m);         /* overlong '/' */
	refused_s("\"\xe0\x80\xaf\"", m);     /* overlong */
	refused_s("\"\xed\xa0\x80\"", m);     /* encoded surrogate */
	refused_s("\"\xf4\x90\x80\x80\"", m); /* above U+10FFFF */
	refused_s("\"\xe2\x82\"", m);         /* truncated */
	refused_s("\"\x80\"", m);             /* stray continuation */
	refused_s("{\"\xfe\":1}", m);
}

Test(jx, grammar)
{
	const char *inv = PVE "'Invalid JSON: ";
	static const char *const bad[] = {
		"", "   ", "\xef\xbb\xbf{}", "{'a':1}", "NaN", "Infinity",
		"-Infinity", "1.", ".5", "01", "-01", "+1", "1e", "1e+", "-",
		"[1,]", "{\"a\":1,}", "{\"a\"}", "{1:2}", "tru", "nul", "True",
		"\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "[1 2]",
		"{\"a\":1 \"b\":2}", "[", "{", "]", "[1,2] x", "1 2", "\"a\tb\"",
		"\"a\nb\"", "0x10", "[1]]", "{\"a\":}", "/* c */ 1", "\v1",
	};
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		refused_s(bad[k], inv);
	/* An embedded NUL is not the end of the input. */
	refused("[1]\0 ", 5, 4, inv);
	refused("\"a\0b\"", 5, 4, inv);
}

Test(jx, numbers_out_of_range)
{
	const char *m = PVE "'Number cannot be stored exactly: ";

	refused_s("9223372036854775808", m);
	refused_s("-9223372036854775809", m);
	refused_s("12345678901234567890", m);
	refused_s("18446744073709551616", m);
	refused_s("[1,99999999999999999999999999999999999999]", m);
	refused_s("1e400", m);
	refused_s("-1e400", m);
	refused_s("{\"a\":1.5e999999999999}", m);
	refused_s("9223372036854775808", PVE
	    "'Number cannot be stored exactly: 9223372036854775808'");
}

Test(jx, depth)
{
	struct json_object *o = NULL;
	struct mk_err err;
	const char *deep = PVE "'Invalid JSON: nesting deeper than ";

	cr_expect_eq(parse("[[[]]]", 3, &o, &err), MK_OK);
	json_object_put(o);
	o = NULL;
	cr_expect_eq(parse("{\"a\":{\"b\":[1]}}", 3, &o, &err), MK_OK);
	json_object_put(o);
	o = NULL;
	cr_expect_eq(parse("[[[[]]]]", 4, &o, &err), MK_OK);
	json_object_put(o);
	refused("[[[[]]]]", 8, 3, deep);
	refused("{\"a\":{\"b\":[{}]}}", 16, 3, PVE
	    "'Invalid JSON: nesting deeper than 3 levels at offset 11'");
	cr_expect_eq(parse("7", 0, &o, &err), MK_OK);
	json_object_put(o);
	refused("[]", 2, 0, deep);
}

static char *
nested(size_t n, size_t *len)
{
	char *s = malloc(2 * n + 1);
	size_t k;

	cr_assert_not_null(s);
	for (k = 0; k < n; k++) {
		s[k] = '[';
		s[2 * n - 1 - k] = ']';
	}
	s[2 * n] = '\0';
	*len = 2 * n;
	return s;
}

Test(jx, hostile_nesting, .timeout = 10)
{
	struct json_object *o = NULL;
	struct mk_err err;
	size_t len;
	char *s;

	s = nested(1000000, &len);
	refused(s, len, 32, PVE "'Invalid JSON: nesting deeper than 32");
	/* Huge limits are lowered to JX_DEPTH_LIMIT. */
	refused(s, len, 1 << 30, PVE "'Invalid JSON: nesting deeper than 1000");
	free(s);
	s = nested(JX_DEPTH_LIMIT, &len);
	cr_expect_eq(jx_parse(s, len, JX_DEPTH_LIMIT, &o, &err), MK_OK, "%s",
	    err.msg);
	cr_expect_eq(jx_depth(o), JX_DEPTH_LIMIT);
	json_object_put(o);
	free(s);
}

Test(jx, text_and_helpers)
{
	struct json_object *o = NULL;
	struct mk_err err;
	size_t n = 0;

	cr_expect_str_eq(jx_text(NULL, &n), "null");
	cr_expect_eq(n, 4);
	cr_assert_eq(parse("{\"s\":\"v\",\"i\":1,\"o\":{\"a\":[[]]}}", 8, &o,
	    &err), MK_OK);
	cr_expect_str_eq(jx_get_str(o, "s"), "v");
	cr_expect_null(jx_get_str(o, "i"));
	cr_expect_null(jx_get_str(o, "missing"));
	cr_expect_null(jx_get_str(NULL, "s"));
	cr_expect_eq(jx_depth(o), 4);
	cr_expect_eq(jx_depth(NULL), 0);
	json_object_put(o);
	o = json_object_new_int(3);
	cr_expect_eq(jx_depth(o), 0);
	cr_expect_null(jx_get_str(o, "s"));
	json_object_put(o);
	o = json_object_new_object();
	cr_expect_eq(jx_depth(o), 1);
	json_object_put(o);
}

/* jx_append adds the compact text after what the buffer holds. */
Test(jx, append_adds_compact_text)
{
	struct mk_buf b = MK_BUF_INIT;
	struct json_object *o = json_object_new_object();

	cr_assert_not_null(o);
	json_object_object_add(o, "a/b", json_object_new_string("x y"));
	cr_assert_eq(buf_add(&b, "pre:", 4), 0);
	cr_assert_eq(jx_append(&b, o), 0);
	cr_assert_eq(jx_append(&b, NULL), 0);
	cr_assert_eq(b.n, strlen("pre:{\"a/b\":\"x y\"}null"));
	cr_expect_eq(memcmp(b.p, "pre:{\"a/b\":\"x y\"}null", b.n), 0);
	json_object_put(o);
	buf_free(&b);
}

Test(jx, utf8_valid)
{
	cr_expect_eq(jx_utf8_valid("", 0), 1);
	cr_expect_eq(jx_utf8_valid("abc", 3), 1);
	cr_expect_eq(jx_utf8_valid("a\0b", 3), 1);
	cr_expect_eq(jx_utf8_valid("\xc3\xa9\xf0\x9f\x98\x80", 6), 1);
	cr_expect_eq(jx_utf8_valid("\xc3", 1), 0);
	cr_expect_eq(jx_utf8_valid("\xf0\x9f\x98", 3), 0);
	/* Valid, but cut by n. */
	cr_expect_eq(jx_utf8_valid("\xf0\x9f\x98\x80", 3), 0);
	cr_expect_eq(jx_utf8_valid("\xed\xa0\x80", 3), 0);
	cr_expect_eq(jx_utf8_valid("\xc0\x80", 2), 0);
	cr_expect_eq(jx_utf8_valid("\xff", 1), 0);
}

/* jx_parse_stored: what jx_text wrote comes back the same; damage is refused. */
Test(jx, parse_stored)
{
	static const char rec[] = "{\"user_id\":\"auth0|1\",\"n\":1.50,\"s\":\"a\\u0000b\","
	    "\"user_metadata\":{\"a\":[1,{\"b\":null}]}}";
	static const char *damaged[] = {
		"{\"user_id\":\"auth0|1\"", "{\"a\":1}x", "{\"a\":1} {}", "{\"a\":tru}",
	};
	struct json_object *o = NULL;
	const char *text;
	size_t len, i;

	cr_assert_eq(jx_parse_stored(rec, strlen(rec), &o), MK_OK);
	text = jx_text(o, &len);
	cr_assert_eq(len, strlen(rec));
	cr_assert_eq(memcmp(text, rec, len), 0, "%s", text);
	json_object_put(o);
	for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		o = NULL;
		cr_expect_eq(jx_parse_stored(damaged[i], strlen(damaged[i]), &o), MK_ERR_INTERNAL,
		    "%s", damaged[i]);
		cr_expect_null(o);
	}
	cr_assert_eq(jx_parse_stored("", 0, &o), MK_ERR_INTERNAL);
}

/* ---- jx_split: the records of an array or an ndjson sequence ---- */

/*
 * One case: in, split with limit, gives the records want (one line per
 * record, "no:line:over:text"), then MK_OK, or rc with the message msg
 * about line.
 */
struct split_case {
	const char *in;
	size_t limit;
	const char *want;
	enum mk_code rc;
	const char *msg;
	size_t line;
};

/* What a split found, in split_case's form. */
struct split_got {
	char out[2048];
	size_t len;
};

static void
split_collect(void *ctx, const struct jx_split_rec *rec)
{
	struct split_got *g = ctx;
	int n;

	n = snprintf(g->out + g->len, sizeof(g->out) - g->len, "%zu:%zu:%d:%.*s\n",
	    rec->no, rec->line, rec->over, rec->over ? 0 : (int)rec->n, rec->p);
	cr_assert(n > 0 && (size_t)n < sizeof(g->out) - g->len, "test buffer too small");
	g->len += (size_t)n;
}

/* Run one case fed in chunks of chunk bytes (0: all at once). */
static void
split_one(const struct split_case *c, size_t chunk)
{
	struct split_got got;
	struct jx_split s;
	struct mk_err err;
	enum mk_code rc = MK_OK;
	size_t off = 0, n, len = strlen(c->in);

	memset(&got, 0, sizeof(got));
	memset(&err, 0, sizeof(err));
	jx_split_init(&s, c->limit, split_collect, &got);
	while (off < len && rc == MK_OK) {
		n = chunk == 0 || len - off < chunk ? len - off : chunk;
		rc = jx_split_feed(&s, c->in + off, n, &err);
		off += n;
	}
	if (rc == MK_OK)
		rc = jx_split_end(&s, &err);
	cr_expect_eq(rc, c->rc, "%s (chunks of %zu): code %d, %s", c->in, chunk, rc, err.msg);
	cr_expect_str_eq(got.out, c->want, "%s (chunks of %zu)", c->in, chunk);
	if (c->rc != MK_OK) {
		cr_expect_str_eq(err.msg, c->msg, "%s (chunks of %zu)", c->in, chunk);
		cr_expect_eq(s.err_line, c->line, "%s (chunks of %zu): line %zu, want %zu",
		    c->in, chunk, s.err_line, c->line);
	}
	jx_split_free(&s);
}

/* Every case of a table, whole and in chunks of 1, 2, 3 and 7 bytes. */
static void
split_table(const struct split_case *c, size_t n)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 7 };
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++)
			split_one(&c[i], chunks[k]);
}

#define SPLIT_TABLE(t) split_table((t), sizeof(t) / sizeof((t)[0]))

Test(jx_split, array)
{
	static const struct split_case t[] = {
		/* Brackets and quotes inside strings, escapes, nesting, bare scalars. */
		{ "[ {\"a\":\"]}\\\"x\"} , [1,[2]] ,\"s\",12, true ,null,\"a\\\\\"]", 64,
		    "1:1:0:{\"a\":\"]}\\\"x\"}\n2:1:0:[1,[2]]\n3:1:0:\"s\"\n4:1:0:12\n"
		    "5:1:0:true\n6:1:0:null\n7:1:0:\"a\\\\\"\n", MK_OK, NULL, 0 },
		{ "", 64, "", MK_OK, NULL, 0 },
		{ "[]", 64, "", MK_OK, NULL, 0 },
		{ " \r\n\t[ \n ]\n ", 64, "", MK_OK, NULL, 0 },
		/* Lines count from 1, a record is on the line where it starts. */
		{ "[\n{\"a\":\n1},\n\n\"b\"\n]", 64, "1:2:0:{\"a\":\n1}\n2:5:0:\"b\"\n",
		    MK_OK, NULL, 0 },
	};

	SPLIT_TABLE(t);
}

Test(jx_split, ndjson)
{
	static const struct split_case t[] = {
		{ "{\"a\":1}\n{\"b\":2}\n\n  {\"c\":\n3}\n42", 64,
		    "1:1:0:{\"a\":1}\n2:2:0:{\"b\":2}\n3:4:0:{\"c\":\n3}\n4:6:0:42\n",
		    MK_OK, NULL, 0 },
		/* No white space needed between values that end themselves. */
		{ "{}[]\"x\"{\"y\":[]}", 64,
		    "1:1:0:{}\n2:1:0:[]\n3:1:0:\"x\"\n4:1:0:{\"y\":[]}\n", MK_OK, NULL, 0 },
		/* A bare value ends at a delimiter, which then counts for itself. */
		{ "1 2\ntrue{}", 64, "1:1:0:1\n2:1:0:2\n3:2:0:true\n4:2:0:{}\n",
		    MK_OK, NULL, 0 },
	};

	SPLIT_TABLE(t);
}

/* A record over the limit is still found, and flagged; the next one is not. */
Test(jx_split, limit)
{
	static const struct split_case t[] = {
		{ "[\"abcdef\", \"ab\", {\"a\":[1,2,3,4,5]}]", 4,
		    "1:1:1:\n2:1:0:\"ab\"\n3:1:1:\n", MK_OK, NULL, 0 },
		{ "\"abc\"", 5, "1:1:0:\"abc\"\n", MK_OK, NULL, 0 },
		{ "\"abcd\"", 5, "1:1:1:\n", MK_OK, NULL, 0 },
	};

	SPLIT_TABLE(t);
}

/* Structural errors name the byte and the line; records before them are handed over. */
Test(jx_split, structure)
{
	static const struct split_case t[] = {
		{ "]", 64, "", MK_ERR_INVALID,
		    "unexpected ']' at byte 1: expected a record", 1 },
		{ ",", 64, "", MK_ERR_INVALID,
		    "unexpected ',' at byte 1: expected a record", 1 },
		{ "[{\"a\":1} {\"b\":2}]", 64, "1:1:0:{\"a\":1}\n", MK_ERR_INVALID,
		    "unexpected '{' at byte 10: expected ',' or ']' after a record", 1 },
		{ "[1]x", 64, "1:1:0:1\n", MK_ERR_INVALID,
		    "unexpected 'x' at byte 4: nothing may follow the closing ']'", 1 },
		{ "[1,\n,2]", 64, "1:1:0:1\n", MK_ERR_INVALID,
		    "unexpected ',' at byte 5: expected a record", 2 },
		{ "[1,]", 64, "1:1:0:1\n", MK_ERR_INVALID,
		    "unexpected ']' at byte 4: expected a record", 1 },
		{ "{} }", 64, "1:1:0:{}\n", MK_ERR_INVALID,
		    "unexpected '}' at byte 4: expected a record", 1 },
		/* A byte that would mangle a message is shown as '?'. */
		{ "[1 \x01", 64, "1:1:0:1\n", MK_ERR_INVALID,
		    "unexpected '?' at byte 4: expected ',' or ']' after a record", 1 },
	};

	SPLIT_TABLE(t);
}

/* The input may not end inside a record or an open array. */
Test(jx_split, end)
{
	static const struct split_case t[] = {
		{ "[{\"a\":", 64, "", MK_ERR_INVALID, "the input ends inside record 1", 1 },
		{ "{\"a\":1}\n\n{\"b\"", 64, "1:1:0:{\"a\":1}\n", MK_ERR_INVALID,
		    "the input ends inside record 2", 3 },
		{ "[\"a\\\"]", 64, "", MK_ERR_INVALID, "the input ends inside record 1", 1 },
		{ "[{\"a\":1},\n", 64, "1:1:0:{\"a\":1}\n", MK_ERR_INVALID,
		    "the input ends before the closing ']'", 2 },
		{ "[", 64, "", MK_ERR_INVALID, "the input ends before the closing ']'", 1 },
	};

	SPLIT_TABLE(t);
}

/* ---- jx_members: a stored record's members, unparsed ---- */

/* text splits into want, members "key=value" joined by '|'. */
static void
members_are(const char *text, const char *want)
{
	struct jx_member m[8];
	char got[1024];
	size_t n = 99, i, o = 0;

	cr_assert_eq(jx_members(text, strlen(text), m, 8, &n), 0, "refused: %s", text);
	got[0] = '\0';
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%.*s=%.*s", i ? "|" : "",
		    (int)m[i].kn, m[i].k, (int)m[i].vn, m[i].v);
	cr_expect_str_eq(got, want, "%s", text);
}

static void
members_refused(const char *text, size_t max)
{
	struct jx_member m[8];
	size_t n = 99;

	cr_expect_eq(jx_members(text, strlen(text), m, max, &n), -1, "accepted: %s", text);
	cr_expect_eq(n, 0);
}

Test(jx_members, splits_compact_records)
{
	members_are("{}", "");
	members_are("{\"a\":1}", "a=1");
	members_are("{\"a\":1,\"b\":\"x\",\"c\":null,\"d\":true,\"e\":-1.5e3}",
	    "a=1|b=\"x\"|c=null|d=true|e=-1.5e3");
	members_are("{\"a\":{\"b\":[1,{\"c\":[]}],\"d\":{}},\"e\":[[],[{}]]}",
	    "a={\"b\":[1,{\"c\":[]}],\"d\":{}}|e=[[],[{}]]");
	/* quotes, backslashes and brackets inside strings, keys too */
	members_are("{\"a\":\"x\\\"},{[\",\"b\\\"}\":\"\\\\\",\"c\":{\"d\\\\\":\"]\\\"\"}}",
	    "a=\"x\\\"},{[\"|b\\\"}=\"\\\\\"|c={\"d\\\\\":\"]\\\"\"}");
	members_are("{\"\":\"\\u0000\\n\"}", "=\"\\u0000\\n\"");
}

Test(jx_members, refuses_what_jx_text_does_not_write)
{
	members_refused("", 8);
	members_refused("[]", 8);
	members_refused("{", 8);
	members_refused("{\"a\":1", 8);
	members_refused("{\"a\":1}x", 8);
	members_refused("{\"a\":1} ", 8);
	members_refused("{\"a\": 1}", 8);
	members_refused("{ \"a\":1}", 8);
	members_refused("{\"a\":{\"b\": 1}}", 8);
	members_refused("{\"a\":[1, 2]}", 8);
	members_refused("{\"a\":1,}", 8);
	members_refused("{,\"a\":1}", 8);
	members_refused("{\"a\"1}", 8);
	members_refused("{\"a\":}", 8);
	members_refused("{a:1}", 8);
	members_refused("{\"a\":\"x}", 8);
	members_refused("{\"a\":\"x\\\"}", 8);
	members_refused("{\"a\":{\"b\":1]}", 8);
	members_refused("{\"a\":[1}}", 8);
	members_refused("{\"a\":{}}}", 8);
	members_refused("{\"a\":1]", 8);
	members_refused("{\"a\":1\"b\"}", 8);
	members_refused("{\"a\":tr\"ue}", 8);
	/* more members than max */
	members_refused("{\"a\":1,\"b\":2,\"c\":3}", 2);
}

Test(jx_members, nesting_is_bounded)
{
	char deep[2 * JX_MEMBERS_DEPTH + 16];
	size_t o = 0, i;

	/* JX_MEMBERS_DEPTH levels in the value: read; one more: refused. */
	for (int extra = 0; extra < 2; extra++) {
		o = 0;
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "{\"a\":");
		for (i = 0; i < JX_MEMBERS_DEPTH + (size_t)extra; i++)
			deep[o++] = '[';
		for (i = 0; i < JX_MEMBERS_DEPTH + (size_t)extra; i++)
			deep[o++] = ']';
		deep[o++] = '}';
		deep[o] = '\0';
		if (extra == 0) {
			struct jx_member m[2];
			size_t n;

			cr_expect_eq(jx_members(deep, o, m, 2, &n), 0);
			cr_expect_eq(n, 1);
			cr_expect_eq(m[0].vn, 2 * (size_t)JX_MEMBERS_DEPTH);
		} else
			members_refused(deep, 8);
	}
}

/* Every member of a jx_text record parses to the record's member. */
Test(jx_members, spans_are_the_members_json_c_wrote)
{
	static const char *recs[] = {
		"{\"s\":\"a\\\"b\\\\c\\/d}{][\",\"n\":[1,2.50,-3e2,{\"x\":null}],\"o\":{\"k\\\"\":{}}}",
		"{\"u\":\"\\u00e9\\ud83d\\ude00\\u0001\",\"t\":true,\"f\":false,\"z\":0}",
	};
	struct json_object *o, *v, *w;
	struct jx_member m[8];
	struct mk_err err;
	const char *t;
	size_t n, tn, i, k;
	char key[64];

	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		cr_assert_eq(parse(recs[i], 32, &o, &err), MK_OK, "%s", err.msg);
		t = jx_text(o, &tn);
		cr_assert_eq(jx_members(t, tn, m, 8, &n), 0, "%s", t);
		cr_expect_eq(n, (size_t)json_object_object_length(o));
		for (k = 0; k < n; k++) {
			w = NULL;
			cr_assert_eq(jx_parse(m[k].v, m[k].vn, 32, &w, &err), MK_OK, "%s", err.msg);
			snprintf(key, sizeof(key), "\"%.*s\"", (int)m[k].kn, m[k].k);
			v = NULL;
			cr_assert_eq(jx_parse(key, strlen(key), 1, &v, &err), MK_OK, "%s", key);
			cr_expect(json_object_equal(json_object_object_get(o,
			    json_object_get_string(v)), w), "member %s", key);
			json_object_put(v);
			json_object_put(w);
		}
		json_object_put(o);
	}
}

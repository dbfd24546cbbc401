/*
 * query: the user search language of GET /api/v2/users?q= (spec section 6),
 * a subset of Auth0's v3 (Lucene) syntax, and its meaning over one user.
 *
 * Pure code: a parser from text to a tree, a matcher that evaluates a tree
 * against a user object by brute force, and the enumeration of a user's
 * searchable terms that both the matcher and the search index (sindex) are
 * built on, so the index and the brute-force answer cannot disagree.
 *
 * Syntax:
 *   term      field:value | field:"quoted value" | _exists_:field
 *   operators AND, OR, NOT (upper case only), parentheses
 *   juxtaposition  "a b" means a OR b (Lucene's default operator); a NOT
 *             clause juxtaposed to others excludes from all of them:
 *             "a b NOT c" is (a OR b) AND NOT c, "NOT c" alone is every
 *             user but those matching c.  Explicit operators are plain
 *             Boolean logic with NOT > AND > OR.
 *   escapes   a backslash makes the next character literal, in field names,
 *             values and quoted values.
 *   fields    email, name, nickname, given_name, family_name, user_id,
 *             blocked, email_verified, user_metadata.<path>,
 *             app_metadata.<path> (_exists_ also takes user_metadata and
 *             app_metadata alone).
 * Not supported (an error naming the position): bare words, wildcards (* ?),
 * ranges, fuzzy/boost (~ ^), field grouping field:(a b), && || ! + -.
 *
 * Meaning:
 *   - a value matches a scalar leaf at exactly that path: a string equal to
 *     the value, a number numerically equal to it (30 matches 30 and 30.0
 *     and "3e1"), true/false; the quoted and unquoted forms mean the same;
 *   - profile fields compare case-insensitively (ASCII), metadata exactly;
 *   - array elements match their array, at any level: a path skips array
 *     levels (user_metadata.addresses.city reaches [{"city":..}]);
 *   - null, [] and {} are not indexed: they match no value and do not make
 *     a field exist (as in Auth0/Elasticsearch); a field exists when at
 *     least one non-null scalar lies at or below it;
 *   - a missing field matches nothing, so blocked:false does not find users
 *     without "blocked" (use NOT blocked:true).
 */
#ifndef MK_QUERY_H
#define MK_QUERY_H

#include <stddef.h>
#include <json-c/json.h>

#include "err.h"

#define QUERY_MAX_LEN   4096  /* bytes of query text */
#define QUERY_MAX_NODES 256   /* terms and operators */
#define QUERY_MAX_DEPTH 32    /* nesting of parentheses and NOT */
#define QUERY_PATH_MAX  2048  /* bytes of a searchable path */

enum query_op {
	QOP_TERM,     /* field:value */
	QOP_EXISTS,   /* _exists_:field */
	QOP_AND,
	QOP_OR,
	QOP_NOT,      /* a only */
};

struct query_node {
	enum query_op op;
	size_t pos;               /* byte offset of the node in the text */
	char *field;              /* TERM, EXISTS: the path, unescaped */
	int profile;              /* TERM, EXISTS: a profile field (case-insensitive) */
	char *value;              /* TERM: the value, unescaped (lower-cased for
	                             profile fields) */
	size_t value_len;
	struct query_node *a, *b; /* AND, OR: both; NOT: a */
};

struct query;  /* opaque: owns every node and string */

/* A parse failure: pos is the byte offset (0-based) the message is about. */
struct query_error {
	size_t pos;
	char msg[160];
};

/*
 * Parse text[0..len-1] (need not be NUL-terminated; a NUL byte, or bytes that
 * are not well-formed UTF-8, are an error).
 * On success *out is owned by the caller (query_free).  On failure *out is not
 * written, e (may be NULL) gets the position and a message, and the return
 * is MK_ERR_QUERY (MK_ERR_NOMEM when memory runs out).  Empty or blank text
 * is an error.
 */
enum mk_code query_parse(const char *text, size_t len, struct query **out,
    struct query_error *e);
void query_free(struct query *q);

/* The root node (borrowed from q). */
const struct query_node *query_root(const struct query *q);

/* Text of a tree in a canonical fully parenthesized form, for tests and
 * logs: (a AND b), (a OR b), NOT a, f:"v", _exists_:f.  Owned (free());
 * NULL when memory runs out. */
char *query_format(const struct query_node *n);

/* 1 when user (a user object, borrowed) matches n, else 0. */
int query_match(const struct query_node *n, struct json_object *user);

/*
 * One searchable term, as a value: the path ("email", "user_metadata.a.b";
 * plen bytes, NUL-terminated there when query_terms or query_term_values
 * made the term), profile (1 for the profile fields), a
 * type tag and the canonical value: 's' string (lower-cased for profile
 * fields), 'n' number (see query_number_canon), 'b' "true" or "false".  val
 * is vlen bytes and may hold NUL bytes (a JSON "\u0000").
 */
struct query_term {
	const char *path;
	size_t plen;
	int profile;
	char tag;
	const char *val;
	size_t vlen;
};

/*
 * The searchable terms of a user.  fn is called once per scalar leaf with
 * its term, borrowed for the call (the strings too).  A leaf may be
 * reported more than once (arrays); nulls, [] and {} give nothing; leaves
 * whose path is longer than QUERY_PATH_MAX are skipped (no query can name
 * them).  fn returns 0 to go on, a positive value to stop.  Returns 0, the
 * first positive value fn returned, or -1 when memory runs out.
 */
typedef int (*query_term_fn)(void *ctx, const struct query_term *term);
int query_terms(struct json_object *user, query_term_fn fn, void *ctx);

/*
 * The tags and canonical values a TERM node's value matches, in the same
 * form query_terms reports them: fn is called for 's' always, for 'n' when
 * the value is a JSON number, for 'b' when it is true or false.
 */
int query_term_values(const struct query_node *n, query_term_fn fn, void *ctx);

/*
 * Canonical text of a number: integers (and doubles with an integral value
 * in the int64 range) in decimal, others with %.17g.  buf must hold 32
 * bytes.  From text: returns -1 when s[0..n-1] is not a JSON number.
 */
void query_number_canon_double(double d, char *buf);
void query_number_canon_int(long long v, char *buf);
int query_number_canon_text(const char *s, size_t n, char *buf);

#endif

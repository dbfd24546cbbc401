/*
 * query: parser and matcher of the user search language (see query.h).
 *
 * A hand-written recursive descent parser over the raw text, so every
 * error can name the byte it is about.  The tree lives in one struct query
 * (a fixed node pool, strings allocated one by one).  The matcher does not
 * walk the JSON along the query's path: it enumerates the user's terms with
 * query_terms, the very function the search index is built from, so a
 * brute-force scan and an index lookup give the same answer by construction.
 */
#include "query.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "jx.h"

struct query {
	struct query_node *root;
	size_t nnodes;
	struct query_node nodes[QUERY_MAX_NODES];
};

struct parser {
	const char *s;
	size_t n, i;
	struct query *q;
	struct query_error *e;
	int depth;
	enum mk_code code;   /* MK_OK until the first failure */
};

static const char *const profile_fields[] = {
	"email", "name", "nickname", "given_name", "family_name", "user_id",
	"blocked", "email_verified",
};
#define NPROFILE (sizeof(profile_fields) / sizeof(profile_fields[0]))

static struct query_node *
fail(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct query_node *
fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->code != MK_OK)
		return NULL;      /* keep the first failure */
	p->code = MK_ERR_QUERY;
	if (p->e != NULL) {
		p->e->pos = pos;
		va_start(ap, fmt);
		vsnprintf(p->e->msg, sizeof(p->e->msg), fmt, ap);
		va_end(ap);
	}
	return NULL;
}

static struct query_node *
nomem(struct parser *p)
{
	if (p->code == MK_OK) {
		p->code = MK_ERR_NOMEM;
		if (p->e != NULL) {
			p->e->pos = p->i;
			snprintf(p->e->msg, sizeof(p->e->msg), "out of memory");
		}
	}
	return NULL;
}

static struct query_node *
node_new(struct parser *p, enum query_op op, size_t pos)
{
	struct query_node *n;

	if (p->q->nnodes >= QUERY_MAX_NODES)
		return fail(p, pos, "Too many terms and operators (at most %d)",
		    QUERY_MAX_NODES);
	n = &p->q->nodes[p->q->nnodes++];
	memset(n, 0, sizeof(*n));
	n->op = op;
	n->pos = pos;
	return n;
}

static struct query_node *
node2(struct parser *p, enum query_op op, size_t pos, struct query_node *a,
    struct query_node *b)
{
	struct query_node *n;

	if ((n = node_new(p, op, pos)) == NULL)
		return NULL;
	n->a = a;
	n->b = b;
	return n;
}

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void
skip_ws(struct parser *p)
{
	while (p->i < p->n && is_ws((unsigned char)p->s[p->i]))
		p->i++;
}

/* Is the operator word op at the current position (a whole word)? */
static int
at_op(const struct parser *p, const char *op)
{
	size_t l = strlen(op), j = p->i + l;

	if (p->n - p->i < l || memcmp(p->s + p->i, op, l) != 0)
		return 0;
	return j == p->n || is_ws((unsigned char)p->s[j]) || p->s[j] == '(' ||
	    p->s[j] == ')';
}

static void
lower_ascii(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

/*
 * Read a field name, unescaped, into b, up to an unescaped ':' (not
 * consumed), whitespace, a parenthesis or a quote.  Returns 0, or -1 after
 * failing p.
 */
static int
read_word(struct parser *p, struct mk_buf *b)
{
	int c;

	while (p->i < p->n) {
		c = (unsigned char)p->s[p->i];
		if (c == ':' || is_ws(c) || c == '(' || c == ')' || c == '"')
			break;
		if (c == '\\') {
			if (p->i + 1 >= p->n) {
				fail(p, p->i, "A backslash at the end escapes nothing");
				return -1;
			}
			p->i++;
			c = (unsigned char)p->s[p->i];
		}
		buf_addc(b, (char)c);
		p->i++;
	}
	if (b->failed) {
		nomem(p);
		return -1;
	}
	return 0;
}

static int
read_quoted(struct parser *p, struct mk_buf *b)
{
	size_t open = p->i;
	int c;

	p->i++;           /* the opening quote */
	for (;;) {
		if (p->i >= p->n) {
			fail(p, open, "Unterminated quoted value");
			return -1;
		}
		c = (unsigned char)p->s[p->i];
		if (c == '"')
			break;
		if (c == '\\') {
			if (p->i + 1 >= p->n) {
				fail(p, open, "Unterminated quoted value");
				return -1;
			}
			p->i++;
			c = (unsigned char)p->s[p->i];
		}
		buf_addc(b, (char)c);
		p->i++;
	}
	p->i++;           /* the closing quote */
	if (p->i < p->n && !is_ws((unsigned char)p->s[p->i]) && p->s[p->i] != ')') {
		fail(p, p->i, "Expected a space or ')' after the quoted value");
		return -1;
	}
	if (b->failed) {
		nomem(p);
		return -1;
	}
	return 0;
}

static int
read_value(struct parser *p, struct mk_buf *b)
{
	size_t start = p->i;
	int c;

	if (p->i < p->n && p->s[p->i] == '"')
		return read_quoted(p, b);
	if (p->i < p->n && p->s[p->i] == '(') {
		fail(p, p->i, "Field grouping field:(...) is not supported; repeat the field");
		return -1;
	}
	while (p->i < p->n) {
		c = (unsigned char)p->s[p->i];
		if (is_ws(c) || c == '(' || c == ')')
			break;
		if (c == '\\') {
			if (p->i + 1 >= p->n) {
				fail(p, p->i, "A backslash at the end escapes nothing");
				return -1;
			}
			p->i++;
			c = (unsigned char)p->s[p->i];
		} else if (c == '*' || c == '?') {
			fail(p, p->i, "Wildcards are not supported");
			return -1;
		} else if (strchr("[]{}", c) != NULL) {
			fail(p, p->i, "Range queries are not supported");
			return -1;
		} else if (strchr("~^\":", c) != NULL) {
			fail(p, p->i, "Unexpected '%c' in a value; quote the value", c);
			return -1;
		}
		buf_addc(b, (char)c);
		p->i++;
	}
	if (p->i == start) {
		fail(p, p->i, "Expected a value after ':'");
		return -1;
	}
	if (b->failed) {
		nomem(p);
		return -1;
	}
	return 0;
}

/*
 * An operator word in the wrong case ("and", "Or", "not"): the bare word
 * a user most likely meant as an operator.  Returns the word's upper-case
 * form, or NULL.
 */
static const char *
lower_op(const char *w, size_t n)
{
	static const char *const ops[] = { "AND", "OR", "NOT" };
	size_t i;

	if (w == NULL)
		return NULL;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (n == strlen(ops[i]) && strncasecmp(w, ops[i], n) == 0)
			return ops[i];
	return NULL;
}

/*
 * Is name a field the language knows?  Returns 1 for a profile field, 0 for
 * metadata, -1 (after failing p) otherwise.  exists: _exists_'s target,
 * which may also be user_metadata or app_metadata itself.
 */
static int
field_check(struct parser *p, const char *name, size_t len, size_t pos, int exists)
{
	static const char *const roots[] = { "user_metadata", "app_metadata" };
	size_t i, rl, j;

	if (strlen(name) != len) {
		fail(p, pos, "A field name cannot hold a NUL byte");
		return -1;
	}
	for (i = 0; i < NPROFILE; i++)
		if (strcmp(name, profile_fields[i]) == 0)
			return 1;
	for (i = 0; i < 2; i++) {
		rl = strlen(roots[i]);
		if (strncmp(name, roots[i], rl) != 0)
			continue;
		if (name[rl] == '\0') {
			if (exists)
				return 0;
			fail(p, pos, "Expected a path below %s, such as %s.plan", roots[i],
			    roots[i]);
			return -1;
		}
		if (name[rl] != '.')
			break;
		if (len > QUERY_PATH_MAX) {
			fail(p, pos, "Field path too long (at most %d bytes)", QUERY_PATH_MAX);
			return -1;
		}
		for (j = rl; j < len; j++)
			if (name[j] == '.' && (j + 1 == len || name[j + 1] == '.')) {
				fail(p, pos + j, "Empty component in the field path");
				return -1;
			}
		return 0;
	}
	/* Quote at most 60 bytes, cut between characters: the message goes
	 * into a JSON body, which must stay valid UTF-8. */
	for (j = len < 60 ? len : 60; j > 0 && j < len &&
	    ((unsigned char)name[j] & 0xc0) == 0x80; j--)
		;
	fail(p, pos, "Unknown field '%.*s': searchable are email, name, nickname, "
	    "given_name, family_name, user_id, blocked, email_verified, "
	    "user_metadata.*, app_metadata.*", (int)j, name);
	return -1;
}

static char *
take_buf(struct mk_buf *b, size_t *len)
{
	char *s;

	if (b->p == NULL && buf_adds(b, "") == -1)
		return NULL;
	s = b->p;
	if (len != NULL)
		*len = b->n;
	b->p = NULL;
	b->n = b->cap = 0;
	return s;
}

static struct query_node *
parse_term(struct parser *p)
{
	struct mk_buf fb = MK_BUF_INIT, vb = MK_BUF_INIT;
	struct query_node *n = NULL;
	size_t fpos = p->i, vpos, flen;
	int prof = 0, exists, c;

	if (p->i >= p->n)
		return fail(p, p->i, "Expected a term at the end of the query");
	c = (unsigned char)p->s[p->i];
	if (c == ')')
		return fail(p, p->i, "Unexpected ')'");
	if (c == '"')
		return fail(p, p->i, "Expected field:value; a bare phrase is not supported");
	if (strchr("+-!&|", c) != NULL)
		return fail(p, p->i, "Operator '%c' is not supported; use AND, OR, NOT", c);
	if (at_op(p, "AND") || at_op(p, "OR"))
		return fail(p, p->i, "Expected a term before %s",
		    p->s[p->i] == 'A' ? "AND" : "OR");
	if (read_word(p, &fb) == -1)
		goto out;
	flen = fb.n;
	if (p->i >= p->n || p->s[p->i] != ':') {
		if (lower_op(fb.p, flen) != NULL)
			fail(p, fpos, "Expected field:value; operators are "
			    "upper case (AND, OR, NOT): write %s for %s",
			    lower_op(fb.p, flen), fb.p);
		else
			fail(p, fpos, flen == 0 ? "Expected field:value" :
			    "Expected field:value; a bare word is not supported");
		goto out;
	}
	p->i++;
	vpos = p->i;
	exists = fb.p != NULL && strcmp(fb.p, "_exists_") == 0;
	/* The field first: its error is the earlier one. */
	if (!exists && (fb.p == NULL || (prof = field_check(p, fb.p, flen, fpos, 0)) == -1))
		goto out;
	if (read_value(p, &vb) == -1)
		goto out;
	if (exists) {
		if (vb.p == NULL || vb.n == 0 || strlen(vb.p) != vb.n) {
			fail(p, vpos, "Expected a field name after _exists_:");
			goto out;
		}
		if ((prof = field_check(p, vb.p, vb.n, vpos, 1)) == -1)
			goto out;
		if ((n = node_new(p, QOP_EXISTS, fpos)) == NULL)
			goto out;
		n->profile = prof;
		if ((n->field = take_buf(&vb, NULL)) == NULL)
			n = nomem(p);
		goto out;
	}
	if ((n = node_new(p, QOP_TERM, fpos)) == NULL)
		goto out;
	n->profile = prof;
	if ((n->field = take_buf(&fb, NULL)) == NULL ||
	    (n->value = take_buf(&vb, &n->value_len)) == NULL) {
		n = nomem(p);
		goto out;
	}
	if (prof)
		lower_ascii(n->value, n->value_len);
out:
	buf_free(&fb);
	buf_free(&vb);
	return p->code == MK_OK ? n : NULL;
}

static struct query_node *parse_clauses(struct parser *p, int in_paren);

static struct query_node *
parse_unary(struct parser *p)
{
	struct query_node *n, *a;
	size_t pos;

	skip_ws(p);
	pos = p->i;
	if (at_op(p, "NOT") || (p->i < p->n && p->s[p->i] == '(')) {
		if (++p->depth > QUERY_MAX_DEPTH)
			return fail(p, pos, "Nesting too deep (at most %d levels)",
			    QUERY_MAX_DEPTH);
		if (p->s[p->i] == '(') {
			p->i++;
			n = parse_clauses(p, 1);
			if (n == NULL)
				return NULL;
			if (p->i >= p->n || p->s[p->i] != ')')
				return fail(p, pos, "Missing ')' for this '('");
			p->i++;
		} else {
			p->i += 3;
			if ((a = parse_unary(p)) == NULL)
				return NULL;
			n = node2(p, QOP_NOT, pos, a, NULL);
		}
		p->depth--;
		return n;
	}
	return parse_term(p);
}

static struct query_node *
parse_and(struct parser *p)
{
	struct query_node *l, *r;
	size_t pos;

	if ((l = parse_unary(p)) == NULL)
		return NULL;
	for (;;) {
		skip_ws(p);
		if (!at_op(p, "AND"))
			return l;
		pos = p->i;
		p->i += 3;
		skip_ws(p);
		if ((r = parse_unary(p)) == NULL)
			return NULL;
		if ((l = node2(p, QOP_AND, pos, l, r)) == NULL)
			return NULL;
	}
}

static struct query_node *
parse_or(struct parser *p)
{
	struct query_node *l, *r;
	size_t pos;

	if ((l = parse_and(p)) == NULL)
		return NULL;
	for (;;) {
		skip_ws(p);
		if (!at_op(p, "OR"))
			return l;
		pos = p->i;
		p->i += 2;
		skip_ws(p);
		if ((r = parse_and(p)) == NULL)
			return NULL;
		if ((l = node2(p, QOP_OR, pos, l, r)) == NULL)
			return NULL;
	}
}

/*
 * A run of juxtaposed clauses (the whole query, or a parenthesized group):
 * positive clauses are ORed (Lucene's default operator), and each clause
 * that is a NOT excludes from the result, as Lucene's MUST_NOT does.
 */
static struct query_node *
parse_clauses(struct parser *p, int in_paren)
{
	struct query_node *pos = NULL, *neg = NULL, *c;
	size_t start;

	for (;;) {
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] == ')') {
			if (p->i < p->n && !in_paren)
				return fail(p, p->i, "Unexpected ')'");
			break;
		}
		start = p->i;
		if ((c = parse_or(p)) == NULL)
			return NULL;
		if (c->op == QOP_NOT) {
			if (neg == NULL)
				neg = c;
			else if ((neg = node2(p, QOP_AND, start, neg, c)) == NULL)
				return NULL;
		} else {
			if (pos == NULL)
				pos = c;
			else if ((pos = node2(p, QOP_OR, start, pos, c)) == NULL)
				return NULL;
		}
	}
	if (pos == NULL && neg == NULL)
		return fail(p, p->i, in_paren ? "Expected a term inside '()'" :
		    "Empty query");
	if (pos == NULL)
		return neg;
	if (neg == NULL)
		return pos;
	return node2(p, QOP_AND, neg->pos, pos, neg);
}

static void
query_free_strings(struct query *q)
{
	size_t i;

	for (i = 0; i < q->nnodes; i++) {
		free(q->nodes[i].field);
		free(q->nodes[i].value);
	}
}

/* Offset of the first byte of text that is not well-formed UTF-8 (len if none). */
static size_t
utf8_bad_at(const char *text, size_t len)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t i = 0, w;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		w = u[i] >= 0xf0 ? 4 : u[i] >= 0xe0 ? 3 : u[i] >= 0xc0 ? 2 : 1;
		if (w == 1 || i + w > len || !jx_utf8_valid(text + i, w))
			return i;
		i += w;
	}
	return len;
}

enum mk_code
query_parse(const char *text, size_t len, struct query **out, struct query_error *e)
{
	struct parser p;
	struct query *q;
	const char *nul;

	memset(&p, 0, sizeof(p));
	p.e = e;
	if (len > QUERY_MAX_LEN) {
		fail(&p, QUERY_MAX_LEN, "Query too long (at most %d bytes)", QUERY_MAX_LEN);
		return p.code;
	}
	if (text == NULL)
		len = 0;
	if (len > 0 && (nul = memchr(text, '\0', len)) != NULL) {
		fail(&p, (size_t)(nul - text), "A NUL byte in the query");
		return p.code;
	}
	/* Messages quote the text, and answers are UTF-8 JSON: refuse other
	 * bytes here (nothing stored could match them anyway). */
	if (len > 0 && !jx_utf8_valid(text, len)) {
		fail(&p, utf8_bad_at(text, len), "The query is not valid UTF-8");
		return p.code;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		nomem(&p);
		return p.code;
	}
	p.s = text != NULL ? text : "";
	p.n = len;
	p.q = q;
	q->root = parse_clauses(&p, 0);
	if (p.code != MK_OK || q->root == NULL) {
		if (p.code == MK_OK)
			fail(&p, p.i, "Empty query");
		query_free(q);
		return p.code;
	}
	*out = q;
	return MK_OK;
}

void
query_free(struct query *q)
{
	if (q == NULL)
		return;
	query_free_strings(q);
	free(q);
}

const struct query_node *
query_root(const struct query *q)
{
	return q->root;
}

static void
format_quoted(struct mk_buf *b, const char *s, size_t n)
{
	size_t i;

	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_addc(b, '\\');
		buf_addc(b, s[i]);
	}
	buf_addc(b, '"');
}

static void
format_node(struct mk_buf *b, const struct query_node *n)
{
	switch (n->op) {
	case QOP_TERM:
		buf_adds(b, n->field);
		buf_addc(b, ':');
		format_quoted(b, n->value, n->value_len);
		break;
	case QOP_EXISTS:
		buf_adds(b, "_exists_:");
		buf_adds(b, n->field);
		break;
	case QOP_AND:
	case QOP_OR:
		buf_addc(b, '(');
		format_node(b, n->a);
		buf_adds(b, n->op == QOP_AND ? " AND " : " OR ");
		format_node(b, n->b);
		buf_addc(b, ')');
		break;
	case QOP_NOT:
		buf_adds(b, "NOT ");
		format_node(b, n->a);
		break;
	}
}

char *
query_format(const struct query_node *n)
{
	struct mk_buf b = MK_BUF_INIT;

	format_node(&b, n);
	if (b.failed) {
		buf_free(&b);
		return NULL;
	}
	return take_buf(&b, NULL);
}

/* ---- numbers ---- */

void
query_number_canon_int(long long v, char *buf)
{
	snprintf(buf, 32, "%lld", v);
}

void
query_number_canon_double(double d, char *buf)
{
	/* Integral values print as integers, so 30 and 30.0 meet; -0 is 0. */
	if (d >= -9.2e18 && d <= 9.2e18 && (double)(long long)d == d)
		snprintf(buf, 32, "%lld", (long long)d);
	else
		snprintf(buf, 32, "%.17g", d);
}

int
query_number_canon_text(const char *s, size_t n, char *buf)
{
	char tmp[128], *end;
	size_t i = 0;
	int integral = 1;
	long long v;
	double d;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	/* JSON's number grammar, which strtod alone would not enforce. */
	if (s[i] == '-')
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return -1;
	if (s[i] == '0')
		i++;
	else
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	if (i < n && s[i] == '.') {
		integral = 0;
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return -1;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		integral = 0;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return -1;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i != n)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (integral) {
		errno = 0;
		v = strtoll(tmp, &end, 10);
		if (errno == 0 && *end == '\0') {
			query_number_canon_int(v, buf);
			return 0;
		}
	}
	errno = 0;
	d = strtod(tmp, &end);
	if (*end != '\0' || errno == ERANGE)
		return -1;
	query_number_canon_double(d, buf);
	return 0;
}

/* ---- terms of a user ---- */

struct walk {
	query_term_fn fn;
	void *ctx;
	char path[QUERY_PATH_MAX + 1];
};

static int
walk_value(struct walk *w, struct json_object *v, size_t plen, int profile)
{
	char num[32], small[256], *low = NULL;
	struct query_term t;
	const char *s;
	size_t klen, n;
	int r = 0;

	t.path = w->path;
	t.plen = plen;
	t.profile = profile;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return 0;
	case json_type_object: {
		/* Braces: the foreach macro starts with declarations, which
		 * clang (C17) does not take right after a case label. */
		json_object_object_foreach(v, key, val) {
			klen = strlen(key);
			if (plen + 1 + klen > QUERY_PATH_MAX)
				continue;
			w->path[plen] = '.';
			memcpy(w->path + plen + 1, key, klen);
			w->path[plen + 1 + klen] = '\0';
			if ((r = walk_value(w, val, plen + 1 + klen, profile)) != 0)
				return r;
		}
		w->path[plen] = '\0';
		return 0;
	}
	case json_type_array:
		n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++)
			if ((r = walk_value(w, json_object_array_get_idx(v, i), plen,
			    profile)) != 0)
				return r;
		return 0;
	case json_type_string:
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		if (profile) {
			low = n < sizeof(small) ? small : malloc(n + 1);
			if (low == NULL)
				return -1;
			memcpy(low, s, n);
			lower_ascii(low, n);
			s = low;
		}
		t.tag = 's';
		t.val = s;
		t.vlen = n;
		r = w->fn(w->ctx, &t);
		if (low != NULL && low != small)
			free(low);
		return r;
	case json_type_int:
		query_number_canon_int((long long)json_object_get_int64(v), num);
		t.tag = 'n';
		t.val = num;
		break;
	case json_type_double:
		query_number_canon_double(json_object_get_double(v), num);
		t.tag = 'n';
		t.val = num;
		break;
	case json_type_boolean:
		t.tag = 'b';
		t.val = json_object_get_boolean(v) ? "true" : "false";
		break;
	default:
		return 0;
	}
	t.vlen = strlen(t.val);
	return w->fn(w->ctx, &t);
	return 0;
}

int
query_terms(struct json_object *user, query_term_fn fn, void *ctx)
{
	static const char *const md[] = { "user_metadata", "app_metadata" };
	struct walk *w;
	struct json_object *v;
	size_t i, l;
	int r = 0;

	if (!json_object_is_type(user, json_type_object))
		return 0;
	/* The path buffer is too big for a deep recursion's stack frames. */
	if ((w = malloc(sizeof(*w))) == NULL)
		return -1;
	w->fn = fn;
	w->ctx = ctx;
	for (i = 0; i < NPROFILE && r == 0; i++) {
		if (!json_object_object_get_ex(user, profile_fields[i], &v))
			continue;
		l = strlen(profile_fields[i]);
		memcpy(w->path, profile_fields[i], l + 1);
		r = walk_value(w, v, l, 1);
	}
	for (i = 0; i < 2 && r == 0; i++) {
		if (!json_object_object_get_ex(user, md[i], &v))
			continue;
		l = strlen(md[i]);
		memcpy(w->path, md[i], l + 1);
		r = walk_value(w, v, l, 0);
	}
	free(w);
	return r;
}

int
query_term_values(const struct query_node *n, query_term_fn fn, void *ctx)
{
	struct query_term t;
	char num[32];
	int r;

	if (n->op != QOP_TERM)
		return 0;
	t.path = n->field;
	t.plen = strlen(n->field);
	t.profile = n->profile;
	t.tag = 's';
	t.val = n->value;
	t.vlen = n->value_len;
	if ((r = fn(ctx, &t)) != 0)
		return r;
	if (query_number_canon_text(n->value, n->value_len, num) == 0) {
		t.tag = 'n';
		t.val = num;
		t.vlen = strlen(num);
		if ((r = fn(ctx, &t)) != 0)
			return r;
	}
	if ((n->value_len == 4 && memcmp(n->value, "true", 4) == 0) ||
	    (n->value_len == 5 && memcmp(n->value, "false", 5) == 0)) {
		t.tag = 'b';
		t.val = n->value;
		t.vlen = n->value_len;
		return fn(ctx, &t);
	}
	return 0;
}

/* ---- matching ---- */

struct want {
	int n;
	char tag[3];
	char num[32];
	const char *val[3];
	size_t vlen[3];
};

static int
want_add(void *ctx, const struct query_term *t)
{
	struct want *w = ctx;
	const char *val = t->val;

	if (w->n >= 3)
		return 0;
	if (t->tag == 'n') {
		/* val is the caller's stack buffer: keep a copy. */
		memcpy(w->num, val, t->vlen + 1);
		val = w->num;
	}
	w->tag[w->n] = t->tag;
	w->val[w->n] = val;
	w->vlen[w->n] = t->vlen;
	w->n++;
	return 0;
}

struct match {
	const struct query_node *n;
	size_t flen;
	struct want want;
};

static int
match_term(void *ctx, const struct query_term *t)
{
	struct match *m = ctx;
	int i;

	if (t->plen != m->flen || memcmp(t->path, m->n->field, t->plen) != 0)
		return 0;
	for (i = 0; i < m->want.n; i++)
		if (m->want.tag[i] == t->tag && m->want.vlen[i] == t->vlen &&
		    memcmp(m->want.val[i], t->val, t->vlen) == 0)
			return 1;
	return 0;
}

static int
match_exists(void *ctx, const struct query_term *t)
{
	struct match *m = ctx;

	return t->plen >= m->flen && memcmp(t->path, m->n->field, m->flen) == 0 &&
	    (t->plen == m->flen || t->path[m->flen] == '.');
}

int
query_match(const struct query_node *n, struct json_object *user)
{
	struct match m;

	switch (n->op) {
	case QOP_TERM:
		memset(&m, 0, sizeof(m));
		m.n = n;
		m.flen = strlen(n->field);
		query_term_values(n, want_add, &m.want);
		return query_terms(user, match_term, &m) == 1;
	case QOP_EXISTS:
		memset(&m, 0, sizeof(m));
		m.n = n;
		m.flen = strlen(n->field);
		return query_terms(user, match_exists, &m) == 1;
	case QOP_AND:
		return query_match(n->a, user) && query_match(n->b, user);
	case QOP_OR:
		return query_match(n->a, user) || query_match(n->b, user);
	case QOP_NOT:
		return !query_match(n->a, user);
	}
	return 0;
}

/*
 * jx: json-c helpers (see jx.h): a bounded, strict parse of hostile input
 * and compact serialization.
 *
 * json-c 0.16 alone is not strict enough for a service that promises values
 * come back as sent: even with JSON_TOKENER_STRICT it accepts NaN, Infinity,
 * "1." and single-quoted strings, keeps the last of duplicate keys, cuts keys
 * at \u0000, turns lone surrogate escapes into U+FFFD, and saturates integers
 * beyond 64 bits.  So jx_parse first runs its own RFC 8259 scan over the raw
 * text (no allocation per value; an explicit stack, so hostile nesting costs
 * no C stack) that enforces every rule in jx.h, and only then lets json-c
 * build the tree from the same, now known-good, text.  Duplicate keys are
 * found by sorting the decoded keys of each object when it closes:
 * O(n log n) however many keys an attacker sends.
 *
 * What survives a round trip through jx_parse and jx_text (tested in
 * tests/unit/test_jx.c):
 *  - strings byte-identical after escape normalisation: json-c writes back
 *    its own escapes (\n, \u0000, ...) and raw UTF-8 for everything else,
 *    so "\u00e9" comes back as the two bytes of é, same value;
 *  - integers within int64 byte-identical, except "-0", which json-c reads
 *    as integer 0 and writes "0" (as Auth0's own Node.js JSON.stringify does);
 *  - every non-integer (a fraction or exponent) byte-identical: json-c keeps
 *    the original text of a parsed double and writes it back (1.0, 1e5, 1E5,
 *    -0.0), also after json_object_deep_copy.
 * Refused instead of changed: integers outside int64, doubles that overflow
 * to infinity.  A double that underflows (1e-400) is kept: its text comes
 * back as sent.
 */
#include "jx.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define PVE "Payload validation error: "

/* How many bytes of a key or number a message quotes. */
#define JX_QUOTE_MAX 64

/* One open container on the scan stack. */
struct jx_frame {
	char type;        /* '{' or '[' */
	size_t key_start; /* first entry of this object's keys in scan->keys */
};

/* One decoded key, stored in scan->arena. */
struct jx_key {
	size_t off;
	size_t len;
	const char *p; /* set just before sorting (the arena may move before) */
};

struct jx_scan {
	const char *p;  /* NUL-terminated copy of the input */
	size_t len;
	size_t i;
	int max_depth;
	struct jx_frame *stk;
	int depth;
	struct jx_key *keys;
	size_t nkeys;
	size_t capkeys;
	struct mk_buf arena;
	struct mk_err *err;
};

static enum mk_code
jx_bad(struct jx_scan *s, const char *what)
{
	return mk_fail(s->err, MK_ERR_INVALID,
	    PVE "'Invalid JSON: %s at offset %zu'", what, s->i);
}

static enum mk_code
jx_nomem(struct jx_scan *s)
{
	return mk_fail(s->err, MK_ERR_NOMEM, "out of memory");
}

static void
jx_skip_ws(struct jx_scan *s)
{
	char c;

	while ((c = s->p[s->i]) == ' ' || c == '\t' || c == '\n' || c == '\r')
		s->i++;
}

static int
jx_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		char c = p[k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Append code point cp as UTF-8 to b. */
static void
jx_put_utf8(struct mk_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/*
 * Length of the well-formed UTF-8 sequence at p (first byte >= 0x80), or 0.
 * Overlong forms, UTF-16 surrogates and code points above U+10FFFF are not
 * well-formed (RFC 3629).  p is NUL-terminated, so reading ahead stops at
 * the NUL, which is never a continuation byte.
 */
static size_t
jx_utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];

	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && p[1] >= 0x90)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0;
}

/*
 * Scan a string starting at the opening quote.  For a key, append its
 * decoded bytes to the arena and record an entry.
 */
static enum mk_code
jx_string(struct jx_scan *s, int is_key)
{
	const unsigned char *u = (const unsigned char *)s->p;
	size_t start, n;
	unsigned cp, lo;

	if (s->p[s->i] != '"')
		return jx_bad(s, is_key ? "expected a string key" :
		    "unexpected character");
	s->i++;
	start = s->arena.n;
	for (;;) {
		unsigned char c = u[s->i];

		if (c == '"')
			break;
		if (s->i >= s->len)
			return jx_bad(s, "unterminated string");
		if (c < 0x20)
			return jx_bad(s, "control character in string");
		if (c >= 0x80) {
			if ((n = jx_utf8_len(u + s->i)) == 0)
				return jx_bad(s, "invalid UTF-8");
			if (is_key)
				buf_add(&s->arena, s->p + s->i, n);
			s->i += n;
			continue;
		}
		if (c != '\\') {
			if (is_key)
				buf_addc(&s->arena, (char)c);
			s->i++;
			continue;
		}
		switch (s->p[s->i + 1]) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (jx_hex4(s->p + s->i + 2, &cp) == -1)
				return jx_bad(s, "bad \\u escape");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return jx_bad(s, "lone surrogate escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (s->p[s->i + 6] != '\\' ||
				    s->p[s->i + 7] != 'u' ||
				    jx_hex4(s->p + s->i + 8, &lo) == -1 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return jx_bad(s, "lone surrogate escape");
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				s->i += 6;
			}
			if (cp == 0 && is_key)
				return jx_bad(s, "\\u0000 in a key");
			s->i += 4;
			break;
		default:
			return jx_bad(s, "bad escape");
		}
		if (is_key)
			jx_put_utf8(&s->arena, cp);
		s->i += 2;
	}
	s->i++; /* closing quote */
	if (!is_key)
		return MK_OK;
	if (s->arena.failed)
		return jx_nomem(s);
	if (s->nkeys == s->capkeys) {
		size_t cap = s->capkeys ? s->capkeys * 2 : 64;
		struct jx_key *k;

		if (cap > SIZE_MAX / sizeof(*k) ||
		    (k = realloc(s->keys, cap * sizeof(*k))) == NULL)
			return jx_nomem(s);
		s->keys = k;
		s->capkeys = cap;
	}
	s->keys[s->nkeys].off = start;
	s->keys[s->nkeys].len = s->arena.n - start;
	s->keys[s->nkeys].p = NULL;
	s->nkeys++;
	return MK_OK;
}

/*
 * Scan a number.  Integers must fit int64; anything with a fraction or an
 * exponent must be a finite double.
 */
static enum mk_code
jx_number(struct jx_scan *s)
{
	size_t start = s->i;
	int neg = 0, integer = 1;
	uint64_t mag = 0, lim;
	double d;
	char *end;

	if (s->p[s->i] == '-') {
		neg = 1;
		s->i++;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (s->p[s->i] == '0') {
		s->i++;
		if (s->p[s->i] >= '0' && s->p[s->i] <= '9')
			return jx_bad(s, "leading zero in number");
	} else if (s->p[s->i] >= '1' && s->p[s->i] <= '9') {
		while (s->p[s->i] >= '0' && s->p[s->i] <= '9') {
			unsigned dg = (unsigned)(s->p[s->i] - '0');

			/* Saturate; the range is judged once we know it is an integer. */
			if (mag <= (lim - dg) / 10)
				mag = mag * 10 + dg;
			else
				mag = lim + 1; /* lim <= 2^63: no wrap */
			s->i++;
		}
	} else
		return jx_bad(s, "bad number");
	if (s->p[s->i] == '.') {
		integer = 0;
		s->i++;
		if (s->p[s->i] < '0' || s->p[s->i] > '9')
			return jx_bad(s, "bad number");
		while (s->p[s->i] >= '0' && s->p[s->i] <= '9')
			s->i++;
	}
	if (s->p[s->i] == 'e' || s->p[s->i] == 'E') {
		integer = 0;
		s->i++;
		if (s->p[s->i] == '+' || s->p[s->i] == '-')
			s->i++;
		if (s->p[s->i] < '0' || s->p[s->i] > '9')
			return jx_bad(s, "bad number");
		while (s->p[s->i] >= '0' && s->p[s->i] <= '9')
			s->i++;
	}
	if (integer) {
		if (mag > lim)
			goto range;
		return MK_OK;
	}
	/* The grammar is already checked, so strtod reads exactly this token. */
	d = strtod(s->p + start, &end);
	if (end != s->p + s->i) {
		s->i = start;
		return jx_bad(s, "bad number");
	}
	if (!isfinite(d))
		goto range;
	return MK_OK;
range:
	{
		size_t n = s->i - start;
		int q = n > JX_QUOTE_MAX ? JX_QUOTE_MAX : (int)n;

		return mk_fail(s->err, MK_ERR_INVALID,
		    PVE "'Number cannot be stored exactly: %.*s%s'",
		    q, s->p + start, n > JX_QUOTE_MAX ? "..." : "");
	}
}

static int
jx_key_cmp(const void *a, const void *b)
{
	const struct jx_key *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->len == 0 ? 0 : memcmp(x->p, y->p, x->len);
}

/* Copy at most max bytes of s into a message, cut at a UTF-8 boundary. */
static int
jx_quote_len(const char *p, size_t n, size_t max)
{
	if (n <= max)
		return (int)n;
	while (max > 0 && ((unsigned char)p[max] & 0xc0) == 0x80)
		max--;
	return (int)max;
}

/* An object closed: its keys are [from, nkeys).  Refuse duplicates. */
static enum mk_code
jx_close_object(struct jx_scan *s, size_t from)
{
	size_t k, n = s->nkeys - from;
	struct jx_key *e = s->keys + from;

	if (n >= 2) {
		/* Only empty keys so far: the arena was never allocated. */
		const char *base = s->arena.p != NULL ? s->arena.p : "";

		for (k = 0; k < n; k++)
			e[k].p = base + e[k].off;
		qsort(e, n, sizeof(*e), jx_key_cmp);
		for (k = 1; k < n; k++) {
			if (jx_key_cmp(&e[k - 1], &e[k]) == 0) {
				int q = jx_quote_len(e[k].p, e[k].len,
				    JX_QUOTE_MAX);

				return mk_fail(s->err, MK_ERR_INVALID,
				    PVE "'Duplicate key %.*s%s'", q, e[k].p,
				    (size_t)q < e[k].len ? "..." : "");
			}
		}
	}
	if (n > 0) {
		/* Sorting moved entries: the smallest offset is the start. */
		size_t lo = e[0].off;

		for (k = 1; k < n; k++)
			if (e[k].off < lo)
				lo = e[k].off;
		s->arena.n = lo;
	}
	s->nkeys = from;
	return MK_OK;
}

static enum mk_code
jx_literal(struct jx_scan *s, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(s->p + s->i, word, n) != 0)
		return jx_bad(s, "unexpected character");
	s->i += n;
	return MK_OK;
}

/* After '{' or ',' in an object: a key, then ':'. */
static enum mk_code
jx_member_key(struct jx_scan *s)
{
	enum mk_code rc;

	jx_skip_ws(s);
	if ((rc = jx_string(s, 1)) != MK_OK)
		return rc;
	jx_skip_ws(s);
	if (s->p[s->i] != ':')
		return jx_bad(s, "expected ':'");
	s->i++;
	return MK_OK;
}

/* The whole grammar, iteratively, over s->p[0..len). */
static enum mk_code
jx_scan_all(struct jx_scan *s)
{
	enum mk_code rc;
	char c;

	for (;;) {
		/* A value. */
		jx_skip_ws(s);
		c = s->p[s->i];
		if (c == '{' || c == '[') {
			if (s->depth >= s->max_depth)
				return mk_fail(s->err, MK_ERR_INVALID,
				    PVE "'Invalid JSON: nesting deeper than %d "
				    "levels at offset %zu'", s->max_depth, s->i);
			s->stk[s->depth].type = c;
			s->stk[s->depth].key_start = s->nkeys;
			s->depth++;
			s->i++;
			jx_skip_ws(s);
			if (s->p[s->i] == (c == '{' ? '}' : ']')) {
				s->i++;
				s->depth--;
			} else {
				if (c == '{' && (rc = jx_member_key(s)) != MK_OK)
					return rc;
				continue;
			}
		} else if (c == '"') {
			if ((rc = jx_string(s, 0)) != MK_OK)
				return rc;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			if ((rc = jx_number(s)) != MK_OK)
				return rc;
		} else if (c == 't') {
			if ((rc = jx_literal(s, "true")) != MK_OK)
				return rc;
		} else if (c == 'f') {
			if ((rc = jx_literal(s, "false")) != MK_OK)
				return rc;
		} else if (c == 'n') {
			if ((rc = jx_literal(s, "null")) != MK_OK)
				return rc;
		} else if (s->i >= s->len)
			return jx_bad(s, "unexpected end of input");
		else
			return jx_bad(s, "unexpected character");

		/* After a value: close containers, or go on after a ','. */
		for (;;) {
			struct jx_frame *top;

			jx_skip_ws(s);
			if (s->depth == 0) {
				if (s->i != s->len)
					return jx_bad(s, "trailing characters");
				return MK_OK;
			}
			top = &s->stk[s->depth - 1];
			c = s->p[s->i];
			if (c == ',') {
				s->i++;
				if (top->type == '{' &&
				    (rc = jx_member_key(s)) != MK_OK)
					return rc;
				break;
			}
			if (c == (top->type == '{' ? '}' : ']')) {
				if (top->type == '{' && (rc = jx_close_object(s,
				    top->key_start)) != MK_OK)
					return rc;
				s->i++;
				s->depth--;
				continue;
			}
			if (s->i >= s->len)
				return jx_bad(s, "unexpected end of input");
			return jx_bad(s, top->type == '{' ?
			    "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
}

/*
 * A tokener for depth, kept for the next parse in this thread: making one
 * allocates and zeroes a frame per level (32 KB at JX_STORED_DEPTH), which
 * was a third of the cost of parsing a stored user (issue 13).  slot picks
 * the cache (one per caller, each with its own flags).  Owned by the cache:
 * never freed by the caller; NULL when out of memory.
 */
enum { TOK_BODY, TOK_STORED, TOK__COUNT };

static _Thread_local struct json_tokener *cache[TOK__COUNT];
static _Thread_local int cache_depth[TOK__COUNT];

static struct json_tokener *
tok_get(int slot, int depth, int flags)
{
	if (cache[slot] != NULL && cache_depth[slot] == depth) {
		json_tokener_reset(cache[slot]);
		return cache[slot];
	}
	if (cache[slot] != NULL)
		json_tokener_free(cache[slot]);
	if ((cache[slot] = json_tokener_new_ex(depth)) == NULL)
		return NULL;
	cache_depth[slot] = depth;
	json_tokener_set_flags(cache[slot], flags);
	return cache[slot];
}

void
jx_release(void)
{
	int i;

	for (i = 0; i < TOK__COUNT; i++) {
		if (cache[i] != NULL)
			json_tokener_free(cache[i]);
		cache[i] = NULL;
	}
}

enum mk_code
jx_parse(const char *buf, size_t len, int max_depth,
    struct json_object **out, struct mk_err *err)
{
	struct jx_scan s;
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	char *copy = NULL;
	enum mk_code rc;

	memset(&s, 0, sizeof(s));
	s.arena = (struct mk_buf)MK_BUF_INIT;
	s.err = err;
	if (max_depth < 0)
		max_depth = 0;
	if (max_depth > JX_DEPTH_LIMIT)
		max_depth = JX_DEPTH_LIMIT;
	/* json-c takes an int length, and we add a NUL. */
	if (len > INT_MAX - 1) {
		rc = mk_fail(err, MK_ERR_INVALID,
		    PVE "'Invalid JSON: input too large'");
		goto out;
	}
	/* json-c needs a terminator to finish a bare number at the end. */
	if ((copy = malloc(len + 1)) == NULL ||
	    (s.stk = calloc((size_t)max_depth + 1, sizeof(*s.stk))) == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (len > 0)
		memcpy(copy, buf, len);
	copy[len] = '\0';
	s.p = copy;
	s.len = len;
	s.max_depth = max_depth;
	if ((rc = jx_scan_all(&s)) != MK_OK)
		goto out;

	/* The text is known-good; json-c only builds the tree.  Its depth
	 * counts differently from ours, so give it room. */
	if ((tok = tok_get(TOK_BODY, max_depth + 2, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8)) == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	obj = json_tokener_parse_ex(tok, copy, (int)len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) > len) {
		/* Should not happen after the scan: treat as bad input. */
		json_object_put(obj);
		obj = NULL;
		rc = mk_fail(err, MK_ERR_INVALID,
		    PVE "'Invalid JSON: %s'", json_tokener_error_desc(
		    json_tokener_get_error(tok)));
		goto out;
	}
	*out = obj;
	rc = MK_OK;
out:
	free(s.keys);
	buf_free(&s.arena);
	free(s.stk);
	free(copy);
	return rc;
}

enum mk_code
jx_parse_stored(const char *buf, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum mk_code rc = MK_ERR_INTERNAL;

	if (len == 0 || len > INT_MAX - 1)
		return MK_ERR_INTERNAL;
	/* + 2: json-c counts depth differently, as in jx_parse. */
	if ((tok = tok_get(TOK_STORED, JX_STORED_DEPTH + 2, 0)) == NULL)
		return MK_ERR_NOMEM;
	/* A record is an object, so its closing brace ends the parse: no
	 * terminator (and no copy) is needed. */
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (obj != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == len) {
		*out = obj;
		rc = MK_OK;
	} else
		json_object_put(obj);
	return rc;
}

enum mk_code
jx_set_str(struct json_object *obj, const char *key, const char *s, struct mk_err *err)
{
	struct json_object *v;

	if ((v = json_object_new_string(s)) == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	}
	return MK_OK;
}

const char *
jx_text(struct json_object *obj, size_t *len)
{
	size_t n = 0;
	const char *t;

	t = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (len != NULL)
		*len = n;
	return t;
}

int
jx_append(struct mk_buf *out, struct json_object *obj)
{
	const char *t;
	size_t n;

	if ((t = jx_text(obj, &n)) == NULL)
		return -1;
	return buf_add(out, t, n) == 0 ? 0 : -1;
}

int
jx_depth(struct json_object *obj)
{
	int d, max = 0;
	size_t k, n;

	switch (json_object_get_type(obj)) {
	case json_type_object: {
		json_object_object_foreach(obj, key, val) {
			(void)key;
			if ((d = jx_depth(val)) > max)
				max = d;
		}
		return max + 1;
	}
	case json_type_array:
		n = json_object_array_length(obj);
		for (k = 0; k < n; k++)
			if ((d = jx_depth(json_object_array_get_idx(obj, k))) > max)
				max = d;
		return max + 1;
	default:
		return 0;
	}
}

int
jx_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char tmp[4];
	size_t i = 0, k, w;

	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		/* jx_utf8_len may look 3 bytes ahead: never past the end. */
		memset(tmp, 0, sizeof(tmp));
		for (k = 0; k < 4 && i + k < n; k++)
			tmp[k] = u[i + k];
		if ((w = jx_utf8_len(tmp)) == 0)
			return 0;
		i += w;
	}
	return 1;
}

const char *
jx_get_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* ---- jx_split: the records of a file, found by tracking strings and brackets ---- */

/* Where in the top-level sequence a split is (struct jx_split's top). */
enum jx_top {
	TOP_BEGIN,   /* nothing seen yet */
	TOP_FIRST,   /* after '[' */
	TOP_ELEM,    /* after ',' */
	TOP_SEP,     /* after an element of the array */
	TOP_END,     /* after ']' */
	TOP_SEQ,     /* between the values of a sequence (ndjson) */
};

void
jx_split_init(struct jx_split *s, size_t limit, jx_split_fn fn, void *ctx)
{
	memset(s, 0, sizeof(*s));
	s->limit = limit;
	s->fn = fn;
	s->ctx = ctx;
	s->line = 1;
	s->top = TOP_BEGIN;
}

void
jx_split_free(struct jx_split *s)
{
	buf_free(&s->rec);
}

static int
split_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A byte that ends a bare scalar (number, true, ...). */
static int
split_ends_bare(int c)
{
	return split_ws(c) || c == ',' || c == ']' || c == '}' || c == '[' || c == '{' ||
	    c == '"';
}

/* Keep one byte of the record, up to the limit. */
static void
split_byte(struct jx_split *s, int c)
{
	char ch = (char)c;

	if (s->over)
		return;
	if (s->rec.n >= s->limit) {
		s->over = 1;
		return;
	}
	buf_add(&s->rec, &ch, 1);
}

static void
split_start(struct jx_split *s, int c)
{
	s->in_rec = 1;
	s->rec_line = s->line;
	s->depth = s->in_str = s->esc = s->bare = s->over = 0;
	buf_reset(&s->rec);
	split_byte(s, c);
	if (c == '{' || c == '[')
		s->depth = 1;
	else if (c == '"')
		s->in_str = 1;
	else
		s->bare = 1;
}

/* A record is complete: hand it over, then wait for what follows it. */
static void
split_done(struct jx_split *s)
{
	struct jx_split_rec r;

	r.p = s->rec.p != NULL ? s->rec.p : "";
	r.n = s->rec.n;
	r.no = ++s->records;
	r.line = s->rec_line;
	r.over = s->over;
	r.nomem = s->rec.failed;
	s->fn(s->ctx, &r);
	buf_reset(&s->rec);
	s->in_rec = s->over = 0;
	s->top = s->array ? TOP_SEP : TOP_SEQ;
}

/* One byte.  Returns 0, or -1 on a structural error (err set). */
static int
split_feed1(struct jx_split *s, int c, struct mk_err *err)
{
	s->off++;
	if (s->in_rec) {
		if (s->bare) {
			if (!split_ends_bare(c)) {
				split_byte(s, c);
				goto nl;
			}
			split_done(s);
			/* The delimiter is the sequence's: fall through to it. */
		} else {
			split_byte(s, c);
			if (s->in_str) {
				if (s->esc)
					s->esc = 0;
				else if (c == '\\')
					s->esc = 1;
				else if (c == '"') {
					s->in_str = 0;
					if (s->depth == 0)
						split_done(s);
				}
			} else if (c == '"')
				s->in_str = 1;
			else if (c == '{' || c == '[')
				s->depth++;
			else if ((c == '}' || c == ']') && --s->depth == 0)
				split_done(s);
			goto nl;
		}
	}
	if (split_ws(c))
		goto nl;
	switch (s->top) {
	case TOP_BEGIN:
		if (c == '[') {
			s->array = 1;
			s->top = TOP_FIRST;
			break;
		}
		if (c == ',' || c == ']' || c == '}')
			goto bad;
		split_start(s, c);
		break;
	case TOP_FIRST:
		if (c == ']') {
			s->top = TOP_END;
			break;
		}
		/* FALLTHROUGH */
	case TOP_ELEM:
	case TOP_SEQ:
		if (c == ',' || c == ']' || c == '}')
			goto bad;
		split_start(s, c);
		break;
	case TOP_SEP:
		if (c == ',')
			s->top = TOP_ELEM;
		else if (c == ']')
			s->top = TOP_END;
		else
			goto bad;
		break;
	case TOP_END:
		goto bad;
	}
nl:
	if (c == '\n')
		s->line++;
	return 0;
bad:
	s->err_line = s->line;
	mk_fail(err, MK_ERR_INVALID, "unexpected '%c' at byte %llu: %s",
	    c >= 0x20 && c < 0x7f ? c : '?', s->off,
	    s->top == TOP_SEP ? "expected ',' or ']' after a record" :
	    s->top == TOP_END ? "nothing may follow the closing ']'" :
	    "expected a record");
	return -1;
}

enum mk_code
jx_split_feed(struct jx_split *s, const char *p, size_t n, struct mk_err *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (split_feed1(s, (unsigned char)p[i], err) != 0)
			return MK_ERR_INVALID;
	return MK_OK;
}

enum mk_code
jx_split_end(struct jx_split *s, struct mk_err *err)
{
	if (s->in_rec && s->bare) {
		split_done(s);
		return MK_OK;
	}
	if (s->in_rec) {
		s->err_line = s->rec_line;
		return mk_fail(err, MK_ERR_INVALID, "the input ends inside record %zu",
		    s->records + 1);
	}
	if (s->array && s->top != TOP_END) {
		s->err_line = s->line;
		return mk_fail(err, MK_ERR_INVALID, "the input ends before the closing ']'");
	}
	return MK_OK;
}

/* ---- jx_members: the members of a stored record, found by tracking strings and brackets ---- */

/*
 * p at a string's opening quote: just past its closing quote, or NULL.  A
 * quote closes it when an even number of backslashes comes before it.
 */
static const char *
members_str(const char *p, const char *e)
{
	const char *s = p + 1, *q, *b;

	for (p = s; p < e; p = q + 1) {
		if ((q = memchr(p, '"', (size_t)(e - p))) == NULL)
			return NULL;
		for (b = q; b > s && b[-1] == '\\'; b--)
			;
		if (((q - b) & 1) == 0)
			return q + 1;
	}
	return NULL;
}

static int
members_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* p at a value's first byte: just past its end, or NULL. */
static const char *
members_value(const char *p, const char *e)
{
	uint64_t obj = 0;   /* bit d: level d+1 is an object, else an array */
	int depth = 0;

	if (p >= e)
		return NULL;
	if (*p == '"')
		return members_str(p, e);
	if (*p != '{' && *p != '[') {
		/* A scalar: up to the ',' or '}' after it, nothing that starts
		 * another token or is white space. */
		const char *q = p;

		while (q < e && *q != ',' && *q != '}') {
			if (*q == '"' || *q == '{' || *q == '[' || *q == ']' || *q == ':' ||
			    members_ws((unsigned char)*q))
				return NULL;
			q++;
		}
		return q > p ? q : NULL;
	}
	while (p < e) {
		switch (*p) {
		case '"':
			if ((p = members_str(p, e)) == NULL)
				return NULL;
			continue;
		case '{':
		case '[':
			if (depth == JX_MEMBERS_DEPTH)
				return NULL;
			if (*p == '{')
				obj |= (uint64_t)1 << depth;
			else
				obj &= ~((uint64_t)1 << depth);
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0 || ((obj >> (depth - 1)) & 1) != (*p == '}'))
				return NULL;
			if (--depth == 0)
				return p + 1;
			break;
		case ' ': case '\t': case '\n': case '\r':
			return NULL;
		default:
			break;
		}
		p++;
	}
	return NULL;
}

int
jx_members(const char *text, size_t n, struct jx_member *m, size_t max, size_t *count)
{
	const char *p = text, *e = text + n, *q;
	size_t c = 0;

	*count = 0;
	if (n < 2 || *p != '{')
		return -1;
	p++;
	if (*p == '}')
		return p + 1 == e ? 0 : -1;
	for (;;) {
		if (p >= e || *p != '"' || c == max || (q = members_str(p, e)) == NULL)
			return -1;
		m[c].k = p + 1;
		m[c].kn = (size_t)(q - 1 - (p + 1));
		p = q;
		if (p >= e || *p != ':')
			return -1;
		p++;
		if ((q = members_value(p, e)) == NULL)
			return -1;
		m[c].v = p;
		m[c].vn = (size_t)(q - p);
		c++;
		p = q;
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		if (p + 1 == e && *p == '}')
			break;
		return -1;
	}
	*count = c;
	return 0;
}

/*
 * jx: json-c helpers: a bounded, strict parse of hostile input, and compact
 * serialization.
 *
 * json-c ownership, once for the whole project:
 *  - an object returned by a parse or json_object_new_* is owned by the caller,
 *    who releases it with json_object_put();
 *  - json_object_object_get_ex() / json_object_array_get_idx() results are
 *    borrowed: valid while the parent lives, never put;
 *  - json_object_object_add() / json_object_array_add() take the reference
 *    on success; on failure the caller still owns the value and must put it.
 */
#ifndef MK_JX_H
#define MK_JX_H

#include <stddef.h>
#include <json-c/json.h>

#include "buf.h"
#include "err.h"

/*
 * The largest max_depth jx_parse honours (larger values are lowered to it):
 * json-c frees and serializes trees recursively, so nesting must stay far
 * below what the C stack can take.
 */
#define JX_DEPTH_LIMIT 1000

/*
 * The deepest a record this service stored can nest: it was parsed from a
 * body under at most JX_DEPTH_LIMIT (jx_parse lowers larger limits).  The
 * one depth for reading stored records back (jx_parse_stored, checks).
 */
#define JX_STORED_DEPTH JX_DEPTH_LIMIT

/*
 * Parse one JSON value from buf[0..len-1] (not NUL-terminated) under strict
 * RFC 8259 rules plus the service's own:
 *  - valid UTF-8 only, and no lone surrogate escapes;
 *  - nesting no deeper than max_depth (a bare scalar is depth 0, {} or []
 *    is depth 1);
 *  - no trailing bytes other than whitespace;
 *  - no duplicate key in one object;
 *  - no key containing U+0000 (json-c keys are C strings);
 *  - every number must survive a round trip unchanged: integers must fit in
 *    int64 (json-c's range), non-integers must be finite doubles.
 * On success *out is a new owned value (possibly a JSON null: *out == NULL
 * then is a valid result, see jx_parse's return).  On failure *out is not
 * written and err holds MK_ERR_INVALID with a message that starts
 * "Payload validation error: " and says what is wrong (MK_ERR_NOMEM when
 * memory runs out).  Returns err's code, or MK_OK.
 */
enum mk_code jx_parse(const char *buf, size_t len, int max_depth,
    struct json_object **out, struct mk_err *err);

/*
 * Parse a record this service wrote itself (a stored user, client or token:
 * jx_text output of a value that passed jx_parse), skipping jx_parse's
 * hostile-input scan, which is what a PATCH would otherwise spend most on.
 * Never use it on bytes from a request.  On success *out is a new owned
 * value; returns MK_ERR_INTERNAL when the bytes do not parse as one whole
 * JSON value (a damaged store), MK_ERR_NOMEM.
 */
enum mk_code jx_parse_stored(const char *buf, size_t len, struct json_object **out);

/*
 * Free the parsers jx_parse and jx_parse_stored keep for the next parse in
 * this thread: a parser keeps the buffer of the longest string it has read,
 * so after a large body or record it holds that much memory until this is
 * called (the worker does after large requests).  The next parse makes a
 * new one.
 */
void jx_release(void);

/*
 * Compact serialization (no spaces, "/" not escaped).  The returned string is
 * borrowed from obj (valid until obj changes or is put); *len gets its length
 * when len is not NULL.  A NULL obj serializes as "null".
 */
const char *jx_text(struct json_object *obj, size_t *len);

/*
 * Append jx_text(obj) to out.  Returns 0, or -1 when memory runs out (out
 * then holds what it held before, or more: the caller drops it).
 */
int jx_append(struct mk_buf *out, struct json_object *obj);

/*
 * Depth of a value as jx_parse counts it (scalar 0, {} 1, {"a":{}} 2).
 */
int jx_depth(struct json_object *obj);

/*
 * 1 when s[0..n-1] is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF; NUL bytes are allowed), else 0.
 */
int jx_utf8_valid(const char *s, size_t n);

/*
 * Set obj[key] to a new string s, replacing any value in place (json-c keeps
 * the key's position).  MK_ERR_NOMEM (with err) on failure, obj unchanged.
 */
enum mk_code jx_set_str(struct json_object *obj, const char *key, const char *s,
    struct mk_err *err);

/* Borrowed string member, or NULL when absent or not a string. */
const char *jx_get_str(struct json_object *obj, const char *key);

/*
 * jx_split: the records of a file of records, found without parsing them:
 * a JSON array of values (Auth0's bulk import format) or a sequence of
 * values separated by white space (ndjson, as metakeepctl export writes).
 * Only strings and brackets are tracked, so each record can then be parsed
 * on its own by jx_parse and a malformed one is one bad record, not the
 * end of the input.  Input comes in chunks of any size (a record may span
 * chunks); memory is one record's copy, at most limit bytes.
 *
 * Usage: jx_split_init, jx_split_feed for each chunk, jx_split_end at the
 * end of the input, jx_split_free.  The fn given to jx_split_init is called
 * as fn(ctx, rec) for each complete record, in order; rec and its bytes
 * are borrowed for the call.
 */
struct jx_split_rec {
	const char *p;            /* the record's bytes (not NUL-terminated) */
	size_t n;
	size_t no;                /* its position in the input, from 1 */
	size_t line;              /* the line it starts on, from 1 */
	int over;                 /* longer than the limit: p holds nothing useful */
	int nomem;                /* its copy ran out of memory: p holds nothing useful */
};
typedef void (*jx_split_fn)(void *ctx, const struct jx_split_rec *rec);

/* The splitter's state; callers read only limit, line and err_line. */
struct jx_split {
	size_t limit;             /* bytes kept of one record */
	jx_split_fn fn;           /* called for each record */
	void *ctx;                /* fn's first argument (borrowed) */
	size_t line;              /* the line being read, from 1 */
	size_t err_line;          /* after an error: the line it is on */
	size_t records;           /* complete records so far */
	unsigned long long off;   /* bytes fed so far */
	int top;                  /* where in the top-level sequence (jx.c) */
	int array;                /* the input is an array */
	int in_rec, depth, in_str, esc, bare, over;
	size_t rec_line;
	struct mk_buf rec;        /* owned: the record being read */
};

/*
 * Start a split: limit is the longest record kept (longer ones: over); fn
 * gets each record with ctx.
 */
void jx_split_init(struct jx_split *s, size_t limit, jx_split_fn fn, void *ctx);

/*
 * Feed n bytes, calling fn for each record they complete.  Returns MK_OK,
 * or MK_ERR_INVALID on a structural error of the file ("unexpected ','
 * at byte 12: expected a record"; err_line is its line): fn has then been
 * called for the records before it, and nothing more may be fed.
 */
enum mk_code jx_split_feed(struct jx_split *s, const char *p, size_t n,
    struct mk_err *err);

/*
 * End of input: completes a last bare value (a number at the very end).
 * MK_ERR_INVALID when the input ends inside a record ("the input ends
 * inside record 3"; err_line: the line the record starts on) or an array
 * is not closed ("the input ends before the closing ']'").
 */
enum mk_code jx_split_end(struct jx_split *s, struct mk_err *err);

/* Release the record buffer; s may be initialized again. */
void jx_split_free(struct jx_split *s);

/*
 * jx_members: the members of a record this service wrote (jx_text's compact
 * form: no white space between tokens), found without parsing it: each
 * member's key as written between its quotes (escapes not undone) and the
 * span of its value's text, in the record's order.  Only strings (with
 * their backslash escapes) and brackets are tracked: a PATCH parses (with
 * json-c) the members it reads or changes and copies the others' bytes.
 * Bounded: at most max members, brackets nested at most JX_MEMBERS_DEPTH
 * deep.  Returns 0 with *count set, or -1 when text is not one object in
 * that form (white space between tokens, a string or bracket not closed or
 * mismatched, anything after the closing brace) or holds more members or
 * deeper nesting than that: the caller then parses the whole record.  The
 * values are not otherwise checked.  Pure.
 */
#define JX_MEMBERS_DEPTH 64
struct jx_member {
	const char *k;            /* the key's bytes, without the quotes */
	size_t kn;
	const char *v;            /* the value's text */
	size_t vn;
};
int jx_members(const char *text, size_t n, struct jx_member *m, size_t max, size_t *count);

#endif

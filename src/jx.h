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
 * Compact serialization (no spaces, "/" not escaped).  The returned string is
 * borrowed from obj (valid until obj changes or is put); *len gets its length
 * when len is not NULL.  A NULL obj serializes as "null".
 */
const char *jx_text(struct json_object *obj, size_t *len);

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

#endif

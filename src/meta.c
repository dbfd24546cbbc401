/*
 * meta: the metadata merge and validation rules of the spec, sections 4 and
 * 5 (see meta.h).  Pure functions over json-c values: no I/O, no globals.
 *
 * Messages.  Auth0 does not document most of its validation texts; where a
 * shape is known it is followed, otherwise the message keeps Auth0's usual
 * form "Payload validation error: '<what>' on property <path>.":
 *  - wrong type: 'Expected type object but found type string' (Auth0's own
 *    schema wording, type names as JSON Schema has them: null, boolean,
 *    integer, number, string, array, object);
 *  - client_metadata: 'Too many properties defined (11), maximum 10',
 *    'Additional properties not allowed: <key>' (a key outside the allowed
 *    characters or lengths), 'Expected type string but found type integer',
 *    'String is too long (256 chars), maximum 255': the JSON Schema
 *    validator texts Auth0's Management API answers with.
 *  - a '.' or '$' in a user/app metadata key: Auth0's own sentence,
 *      Fields with "." are not allowed, please remove all dotted fields.
 *      Example: user_metadata.foo.bar
 *    Decided: the example is not literal but names the offending field: the
 *    attribute, then every key from the root down to and including the bad
 *    one, joined with '.', array elements by index.  Auth0 does the same: a
 *    forum answer by Auth0 staff shows this exact text for the body
 *    {"user_metadata":{"foo.bar":12345}}, whose path is user_metadata.foo.bar,
 *    and a support article shows the offending key after "Example:".  The
 *    '$' message has the same form:
 *      Fields with "$" are not allowed, please remove all dollar fields.
 *      Example: app_metadata.$set
 *    A key with both characters gets the '.' message.
 * Paths and keys quoted in messages are cut (at a UTF-8 character boundary,
 * with "...") so that a message always fits struct mk_err and stays valid
 * UTF-8.
 */
#include "meta.h"

#include <stdio.h>
#include <string.h>

#include "jx.h"

#define PVE "Payload validation error: "

#define META_KEY_MAX 255          /* bytes (user/app), chars (client) */
#define META_CLIENT_KEYS_MAX 10
#define META_CLIENT_VALUE_MAX 255 /* characters */
#define META_PATH_MAX 300         /* bytes of a path quoted in a message */
#define META_QUOTE_MAX 64         /* bytes of a key quoted in a message */

/* app_metadata root keys that Auth0 refuses (spec section 4). */
static const char *const meta_reserved[] = {
	"__tenant", "_id", "blocked", "clientID", "created_at",
	"email_verified", "email", "globalClientID", "global_client_id",
	"identities", "lastIP", "lastLogin", "loginsCount", "metadata",
	"multifactor_last_modified", "multifactor", "updated_at", "user_id",
};

/* One step from the metadata root down to a value, for messages. */
struct meta_path {
	const struct meta_path *up; /* NULL at the root */
	const char *key;            /* object member, or NULL: array element */
	size_t idx;
};

const char *
meta_attr(enum meta_kind kind)
{
	switch (kind) {
	case META_USER: return "user_metadata";
	case META_APP: return "app_metadata";
	case META_CLIENT: return "client_metadata";
	}
	return "metadata";
}

static const char *
meta_type_name(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "boolean";
	case json_type_int: return "integer";
	case json_type_double: return "number";
	case json_type_string: return "string";
	case json_type_array: return "array";
	case json_type_object: return "object";
	}
	return "unknown";
}

/* Bytes of p[0..n) to quote so that at most max bytes are shown, whole
 * UTF-8 characters only. */
static size_t
meta_cut(const char *p, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)p[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/*
 * A bounded text being built: dst holds cap bytes, NUL-terminated at at;
 * cut is set once something did not fit (nothing more is added then).
 */
struct meta_text {
	char *dst;
	size_t cap, at;
	int cut;
};

/* Append s[0..n-1] to t, cut at a character boundary when it is full. */
static void
meta_put(struct meta_text *t, const char *s, size_t n)
{
	size_t room;

	if (t->cut)
		return;
	room = t->cap - 1 - t->at;
	if (n > room) {
		n = meta_cut(s, n, room);
		t->cut = 1;
	}
	memcpy(t->dst + t->at, s, n);
	t->at += n;
	t->dst[t->at] = '\0';
}

static void
meta_put_path(struct meta_text *t, const struct meta_path *p)
{
	char num[24];

	if (p == NULL)
		return;
	meta_put_path(t, p->up);
	meta_put(t, ".", 1);
	if (p->key != NULL)
		meta_put(t, p->key, strlen(p->key));
	else {
		snprintf(num, sizeof(num), "%zu", p->idx);
		meta_put(t, num, strlen(num));
	}
}

/* "user_metadata.a.b" into dst[META_PATH_MAX + 4]; "..." when cut. */
static const char *
meta_path_fmt(char *dst, enum meta_kind kind, const struct meta_path *p)
{
	const char *attr = meta_attr(kind);
	struct meta_text t = { dst, META_PATH_MAX + 1, 0, 0 };

	dst[0] = '\0';
	meta_put(&t, attr, strlen(attr));
	meta_put_path(&t, p);
	if (t.cut)
		memcpy(dst + t.at, "...", 4);
	return dst;
}

static enum mk_code
meta_not_object(enum meta_kind kind, struct json_object *v, struct mk_err *err)
{
	return mk_fail(err, MK_ERR_INVALID, PVE "'Expected type object but "
	    "found type %s' on property %s.", meta_type_name(v),
	    meta_attr(kind));
}

/* A value for the result: a reference when shared, else a deep copy.  -1: no memory. */
static int
merge_value(struct json_object *v, int share, struct json_object **out)
{
	*out = NULL;
	if (share) {
		*out = json_object_get(v);
		return 0;
	}
	if (json_object_deep_copy(v, out, NULL) != 0) {
		json_object_put(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/*
 * meta_merge and meta_merge_shared: share says which.  6 parameters:
 * meta_merge's five and that choice; a struct would only move them.
 */
static enum mk_code
merge(enum meta_kind kind, struct json_object *stored, struct json_object *patch,
    int share, struct json_object **out, struct mk_err *err)
{
	struct json_object *res = NULL, *copy;
	struct json_object_iterator it, end;
	enum mk_code rc;

	if (!json_object_is_type(patch, json_type_object))
		return meta_not_object(kind, patch, err);
	/* Rule 2: {} removes the whole attribute. */
	if (json_object_object_length(patch) == 0) {
		*out = NULL;
		return MK_OK;
	}
	if (stored != NULL && !json_object_is_type(stored, json_type_object))
		return mk_fail(err, MK_ERR_INTERNAL, "stored %s is not an object",
		    meta_attr(kind));
	if (stored == NULL || share)
		res = json_object_new_object();
	else if (json_object_deep_copy(stored, &res, NULL) != 0)
		res = NULL;
	if (res == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (share && stored != NULL) {
		json_object_object_foreach(stored, skey, sval) {
			if (json_object_object_add(res, skey, json_object_get(sval)) != 0) {
				json_object_put(sval);
				rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
				goto out;
			}
		}
	}
	/* Rule 3: a root merge; values (objects, arrays) replace whole. */
	it = json_object_iter_begin(patch);
	end = json_object_iter_end(patch);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *val = json_object_iter_peek_value(&it);

		if (val == NULL) {
			json_object_object_del(res, key);
			continue;
		}
		if (merge_value(val, share, &copy) != 0) {
			rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (json_object_object_add(res, key, copy) != 0) {
			json_object_put(copy);
			rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	*out = res;
	res = NULL;
	rc = MK_OK;
out:
	json_object_put(res);
	return rc;
}

enum mk_code
meta_merge(enum meta_kind kind, struct json_object *stored,
    struct json_object *patch, struct json_object **out, struct mk_err *err)
{
	return merge(kind, stored, patch, 0, out, err);
}

enum mk_code
meta_merge_shared(enum meta_kind kind, struct json_object *stored,
    struct json_object *patch, struct json_object **out, struct mk_err *err)
{
	return merge(kind, stored, patch, 1, out, err);
}

static int
meta_is_reserved(const char *key)
{
	size_t k;

	for (k = 0; k < sizeof(meta_reserved) / sizeof(meta_reserved[0]); k++)
		if (strcmp(key, meta_reserved[k]) == 0)
			return 1;
	return 0;
}

/* One key of user/app metadata; up is the path of its object. */
static enum mk_code
meta_check_key(enum meta_kind kind, const char *key,
    const struct meta_path *up, const struct meta_path *here,
    struct mk_err *err)
{
	char path[META_PATH_MAX + 4];
	size_t n = strlen(key);

	if (n == 0)
		return mk_fail(err, MK_ERR_INVALID, PVE "'Key names may not "
		    "be empty' on property %s.", meta_path_fmt(path, kind, up));
	if (n > META_KEY_MAX)
		return mk_fail(err, MK_ERR_INVALID, PVE "'Key names may be at "
		    "most %d bytes' on property %s.", META_KEY_MAX,
		    meta_path_fmt(path, kind, up));
	if (!jx_utf8_valid(key, n))
		return mk_fail(err, MK_ERR_INVALID, PVE "'Key names must be "
		    "valid UTF-8' on property %s.",
		    meta_path_fmt(path, kind, up));
	if (strchr(key, '.') != NULL)
		return mk_fail(err, MK_ERR_INVALID, "Fields with \".\" are not "
		    "allowed, please remove all dotted fields. Example: %s",
		    meta_path_fmt(path, kind, here));
	if (strchr(key, '$') != NULL)
		return mk_fail(err, MK_ERR_INVALID, "Fields with \"$\" are not "
		    "allowed, please remove all dollar fields. Example: %s",
		    meta_path_fmt(path, kind, here));
	if (kind == META_APP && up == NULL && meta_is_reserved(key))
		return mk_fail(err, MK_ERR_INVALID, PVE "'Reserved field name "
		    "not allowed: %s' on property %s.", key, meta_attr(kind));
	return MK_OK;
}

/* What stays the same during one meta_walk. */
struct meta_rules {
	enum meta_kind kind;
	int max_depth;
	struct mk_err *err;
};

/*
 * Walk user/app metadata depth first, in key order; the first rule broken
 * is reported.  level is the nesting level of v if it is a container (the
 * metadata object is 1); the walk never goes below r->max_depth + 1, so the
 * C stack it uses is bounded by the limit, not by the input.
 */
static enum mk_code
meta_walk(const struct meta_rules *r, struct json_object *v, int level,
    const struct meta_path *path)
{
	enum meta_kind kind = r->kind;
	int max_depth = r->max_depth;
	struct mk_err *err = r->err;
	char buf[META_PATH_MAX + 4];
	struct json_object_iterator it, end;
	struct meta_path here;
	enum mk_code rc;
	size_t k, n;

	switch (json_object_get_type(v)) {
	case json_type_object:
	case json_type_array:
		break;
	default:
		return MK_OK;
	}
	if (level > max_depth)
		return mk_fail(err, MK_ERR_INVALID, PVE "'Too deep: at most %d "
		    "levels of nesting' on property %s.", max_depth,
		    meta_path_fmt(buf, kind, path));
	here.up = path;
	if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		here.key = NULL;
		for (k = 0; k < n; k++) {
			here.idx = k;
			if ((rc = meta_walk(r, json_object_array_get_idx(v, k),
			    level + 1, &here)) != MK_OK)
				return rc;
		}
		return MK_OK;
	}
	it = json_object_iter_begin(v);
	end = json_object_iter_end(v);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		here.key = json_object_iter_peek_name(&it);
		here.idx = 0;
		if ((rc = meta_check_key(kind, here.key, path, &here, err)) !=
		    MK_OK)
			return rc;
		if ((rc = meta_walk(r, json_object_iter_peek_value(&it),
		    level + 1, &here)) != MK_OK)
			return rc;
	}
	return MK_OK;
}

/* Spec 5: letters, digits, space, tab and : , - + = _ * ? " / \ ( ) < > @ */
static int
meta_client_key_ok(const char *key)
{
	size_t n = 0;
	const char *p;

	for (p = key; *p != '\0'; p++, n++) {
		char c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (strchr(" \t:,-+=_*?\"/\\()<>@", c) == NULL)
			return 0;
	}
	return n >= 1 && n <= META_KEY_MAX;
}

/* Characters (code points) of a valid UTF-8 string. */
static size_t
meta_chars(const char *s, size_t n)
{
	size_t k, c = 0;

	for (k = 0; k < n; k++)
		if (((unsigned char)s[k] & 0xc0) != 0x80)
			c++;
	return c;
}

static enum mk_code
meta_validate_client(struct json_object *md, struct mk_err *err)
{
	struct json_object_iterator it, end;
	size_t n = (size_t)json_object_object_length(md);

	if (n > META_CLIENT_KEYS_MAX)
		return mk_fail(err, MK_ERR_INVALID, PVE "'Too many properties "
		    "defined (%zu), maximum %d' on property client_metadata.",
		    n, META_CLIENT_KEYS_MAX);
	it = json_object_iter_begin(md);
	end = json_object_iter_end(md);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *val = json_object_iter_peek_value(&it);
		size_t kl = strlen(key);
		int q = (int)meta_cut(key, kl, META_QUOTE_MAX);
		const char *more = (size_t)q < kl ? "..." : "";

		if (!meta_client_key_ok(key))
			return mk_fail(err, MK_ERR_INVALID, PVE "'Additional "
			    "properties not allowed: %.*s%s' on property "
			    "client_metadata.", q, key, more);
		if (!json_object_is_type(val, json_type_string))
			return mk_fail(err, MK_ERR_INVALID, PVE "'Expected type "
			    "string but found type %s' on property "
			    "client_metadata.%.*s%s.", meta_type_name(val), q,
			    key, more);
		n = meta_chars(json_object_get_string(val),
		    (size_t)json_object_get_string_len(val));
		if (n > META_CLIENT_VALUE_MAX)
			return mk_fail(err, MK_ERR_INVALID, PVE "'String is too "
			    "long (%zu chars), maximum %d' on property "
			    "client_metadata.%.*s%s.", n, META_CLIENT_VALUE_MAX,
			    q, key, more);
	}
	return MK_OK;
}

enum mk_code
meta_validate(enum meta_kind kind, struct json_object *md, int max_depth,
    struct mk_err *err)
{
	struct meta_rules r = { kind, max_depth, err };

	if (!json_object_is_type(md, json_type_object))
		return meta_not_object(kind, md, err);
	if (kind == META_CLIENT)
		return meta_validate_client(md, err);
	if (r.max_depth < 1)
		r.max_depth = META_DEFAULT_MAX_DEPTH;
	return meta_walk(&r, md, 1, NULL);
}

/*
 * model: the user and client objects (spec sections 3 and 5).  Each object
 * kind is described once by a table of its attributes, in the order they
 * appear in the stored (= response) object; create and PATCH both check a
 * body against that table, collect the new values into one slot per
 * attribute, and emit the slots in table order, so an object's key order is
 * the same whatever built it.
 *
 * Messages copy the wording of the JSON-schema validator Auth0 uses
 * (z-schema): "Payload validation error: '<what>' on property <name>.", with
 * z-schema's type names ("integer" for a whole number, "number" otherwise).
 *
 * Limits (Auth0's published schema where it has one, else decided):
 *   given_name, family_name 1..150 chars; name, nickname 1..300; username
 *   1..128; email at most 254 bytes, one '@', non-empty local part and
 *   domain, no white space or control characters; phone_number
 *   ^\+[0-9]{1,15}$; picture and logo_uri: scheme "://" rest, at most 2048
 *   chars, no white space; user_id on create 1..255 chars, no control
 *   characters; client name 1..255 without '<' or '>'; description at most
 *   140; client_secret 1..255; URL arrays at most 1000 strings of at most
 *   2048 chars.  No root string may hold U+0000 (index keys and search are C
 *   strings).  Lengths count code points, as z-schema does.
 */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "jx.h"
#include "meta.h"
#include "util.h"

#define PV "Payload validation error: "

/* How far an echoed value or key may run in a message (bytes). */
#define ECHO_MAX 200
#define URL_MAX 2048
#define ARRAY_MAX 1000

enum vtype {
	VT_STR,
	VT_BOOL,
	VT_MD,      /* metadata object, checked by meta */
	VT_STRARR,  /* array of strings */
	VT_INTERNAL /* set by model only (ids, times, identities) */
};

enum vfmt {
	FMT_NONE,
	FMT_EMAIL,
	FMT_PHONE,
	FMT_URI,
	FMT_NOANGLE,   /* client name: ^[^<>]+$ */
	FMT_APPTYPE,
	FMT_AUTHMETHOD,
	FMT_NOCTL,     /* no control characters */
};

#define F_CREATE   0x01u /* allowed in a create body */
#define F_PATCH    0x02u /* allowed in a PATCH body */
#define F_NULLABLE 0x04u /* PATCH null removes it */
#define F_OUT      0x08u /* part of the stored object */

struct field {
	const char *name;
	enum vtype type;
	unsigned flags;
	size_t min, max;  /* string length in code points; array items */
	enum vfmt fmt;
	enum meta_kind mk;
};

/*
 * The user, in Auth0's response order (alphabetical, metadata last): the
 * order of enum U_* is the order of the output.  The input-only properties
 * follow.  Each row is initialized at its enum index, and the table must
 * have exactly U__N rows.
 */
enum {
	U_BLOCKED, U_CREATED_AT, U_EMAIL, U_EMAIL_VERIFIED, U_FAMILY_NAME,
	U_GIVEN_NAME, U_IDENTITIES, U_NAME, U_NICKNAME, U_PHONE_NUMBER,
	U_PHONE_VERIFIED, U_PICTURE, U_UPDATED_AT, U_USER_ID, U_USERNAME,
	U_USER_MD, U_APP_MD, U_CONNECTION, U_VERIFY_EMAIL, U_VERIFY_PHONE,
	U__N
};

static const struct field user_fields[] = {
	[U_BLOCKED] = { "blocked", VT_BOOL, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_NONE, META_USER },
	[U_CREATED_AT] = { "created_at", VT_INTERNAL, F_OUT, 0, 0, FMT_NONE, META_USER },
	[U_EMAIL] = { "email", VT_STR, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_EMAIL, META_USER },
	[U_EMAIL_VERIFIED] = { "email_verified", VT_BOOL, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_NONE, META_USER },
	[U_FAMILY_NAME] = { "family_name", VT_STR, F_CREATE | F_PATCH | F_NULLABLE | F_OUT, 1, 150, FMT_NONE, META_USER },
	[U_GIVEN_NAME] = { "given_name", VT_STR, F_CREATE | F_PATCH | F_NULLABLE | F_OUT, 1, 150, FMT_NONE, META_USER },
	[U_IDENTITIES] = { "identities", VT_INTERNAL, F_OUT, 0, 0, FMT_NONE, META_USER },
	[U_NAME] = { "name", VT_STR, F_CREATE | F_PATCH | F_NULLABLE | F_OUT, 1, 300, FMT_NONE, META_USER },
	[U_NICKNAME] = { "nickname", VT_STR, F_CREATE | F_PATCH | F_NULLABLE | F_OUT, 1, 300, FMT_NONE, META_USER },
	[U_PHONE_NUMBER] = { "phone_number", VT_STR, F_CREATE | F_PATCH | F_NULLABLE | F_OUT, 0, 0, FMT_PHONE, META_USER },
	[U_PHONE_VERIFIED] = { "phone_verified", VT_BOOL, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_NONE, META_USER },
	[U_PICTURE] = { "picture", VT_STR, F_CREATE | F_PATCH | F_NULLABLE | F_OUT, 0, 0, FMT_URI, META_USER },
	[U_UPDATED_AT] = { "updated_at", VT_INTERNAL, F_OUT, 0, 0, FMT_NONE, META_USER },
	[U_USER_ID] = { "user_id", VT_STR, F_CREATE | F_OUT, 1, 255, FMT_NOCTL, META_USER },
	[U_USERNAME] = { "username", VT_STR, F_CREATE | F_PATCH | F_NULLABLE | F_OUT, 1, 128, FMT_NONE, META_USER },
	[U_USER_MD] = { "user_metadata", VT_MD, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_NONE, META_USER },
	[U_APP_MD] = { "app_metadata", VT_MD, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_NONE, META_APP },
	/* accepted, not stored */
	[U_CONNECTION] = { "connection", VT_STR, F_CREATE | F_PATCH, 1, 255, FMT_NONE, META_USER },
	[U_VERIFY_EMAIL] = { "verify_email", VT_BOOL, F_CREATE | F_PATCH, 0, 0, FMT_NONE, META_USER },
	[U_VERIFY_PHONE] = { "verify_phone_number", VT_BOOL, F_PATCH, 0, 0, FMT_NONE, META_USER },
};

/* The client, in Auth0's response order; rows at their enum C_* index. */
enum {
	C_NAME, C_DESCRIPTION, C_CLIENT_ID, C_CLIENT_SECRET, C_APP_TYPE,
	C_LOGO_URI, C_IS_FIRST_PARTY, C_CALLBACKS, C_ALLOWED_ORIGINS,
	C_WEB_ORIGINS, C_ALLOWED_LOGOUT_URLS, C_GRANT_TYPES, C_AUTH_METHOD,
	C_CLIENT_MD, C_CREATED_AT, C_UPDATED_AT,
	C__N
};

static const struct field client_fields[] = {
	[C_NAME] = { "name", VT_STR, F_CREATE | F_PATCH | F_OUT, 1, 255, FMT_NOANGLE, META_CLIENT },
	[C_DESCRIPTION] = { "description", VT_STR, F_CREATE | F_PATCH | F_NULLABLE | F_OUT, 0, 140, FMT_NONE, META_CLIENT },
	[C_CLIENT_ID] = { "client_id", VT_INTERNAL, F_OUT, 0, 0, FMT_NONE, META_CLIENT },
	[C_CLIENT_SECRET] = { "client_secret", VT_STR, F_PATCH | F_OUT, 1, 255, FMT_NOCTL, META_CLIENT },
	[C_APP_TYPE] = { "app_type", VT_STR, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_APPTYPE, META_CLIENT },
	[C_LOGO_URI] = { "logo_uri", VT_STR, F_CREATE | F_PATCH | F_NULLABLE | F_OUT, 0, 0, FMT_URI, META_CLIENT },
	[C_IS_FIRST_PARTY] = { "is_first_party", VT_BOOL, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_NONE, META_CLIENT },
	[C_CALLBACKS] = { "callbacks", VT_STRARR, F_CREATE | F_PATCH | F_OUT, 0, ARRAY_MAX, FMT_NONE, META_CLIENT },
	[C_ALLOWED_ORIGINS] = { "allowed_origins", VT_STRARR, F_CREATE | F_PATCH | F_OUT, 0, ARRAY_MAX, FMT_NONE, META_CLIENT },
	[C_WEB_ORIGINS] = { "web_origins", VT_STRARR, F_CREATE | F_PATCH | F_OUT, 0, ARRAY_MAX, FMT_NONE, META_CLIENT },
	[C_ALLOWED_LOGOUT_URLS] = { "allowed_logout_urls", VT_STRARR, F_CREATE | F_PATCH | F_OUT, 0, ARRAY_MAX, FMT_NONE, META_CLIENT },
	[C_GRANT_TYPES] = { "grant_types", VT_STRARR, F_CREATE | F_PATCH | F_OUT, 0, ARRAY_MAX, FMT_NONE, META_CLIENT },
	[C_AUTH_METHOD] = { "token_endpoint_auth_method", VT_STR, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_AUTHMETHOD, META_CLIENT },
	[C_CLIENT_MD] = { "client_metadata", VT_MD, F_CREATE | F_PATCH | F_OUT, 0, 0, FMT_NONE, META_CLIENT },
	[C_CREATED_AT] = { "created_at", VT_INTERNAL, F_OUT, 0, 0, FMT_NONE, META_CLIENT },
	[C_UPDATED_AT] = { "updated_at", VT_INTERNAL, F_OUT, 0, 0, FMT_NONE, META_CLIENT },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(NELEM(user_fields) == U__N, "user_fields[] has one row per U_*");
_Static_assert(NELEM(client_fields) == C__N, "client_fields[] has one row per C_*");

/* A field table and its length, as one value for the helpers below. */
struct fieldtab {
	const struct field *f;
	size_t n;
};

static const struct fieldtab user_tab = { user_fields, U__N };
static const struct fieldtab client_tab = { client_fields, C__N };

static const char *const app_types[] = {
	"native", "spa", "regular_web", "non_interactive", NULL
};
static const char *const auth_methods[] = {
	"none", "client_secret_post", "client_secret_basic", NULL
};

/*
 * Copy at most max bytes of s into out (max + 1 bytes), cut back to a
 * UTF-8 boundary so a message never ends in half a character.
 */
static void
clip(const char *s, size_t slen, char *out, size_t max)
{
	size_t n = slen;

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	/* An embedded NUL simply ends the echo early: fine for a message. */
}

/* Record "Payload validation error: '<inner>' on property <prop>." */
static enum mk_code
prop_fail(struct mk_err *err, const char *prop, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum mk_code
prop_fail(struct mk_err *err, const char *prop, const char *fmt, ...)
{
	char inner[MK_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof(inner), fmt, ap);
	va_end(ap);
	return mk_fail(err, MK_ERR_INVALID, PV "'%s' on property %s.", inner, prop);
}

/* z-schema's name for the type of a value. */
static const char *
type_name(struct json_object *v)
{
	double d;

	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_int:
		return "integer";
	case json_type_double:
		d = json_object_get_double(v);
		/* JavaScript has one number type: 2.0 is an integer there. */
		if (d != d || d - d != 0)
			return "number";
		/* Beyond 2^63 every double is whole, and the cast would overflow. */
		if (d >= 9.2e18 || d <= -9.2e18 || (double)(long long)d == d)
			return "integer";
		return "number";
	case json_type_string:
		return "string";
	case json_type_array:
		return "array";
	case json_type_object:
		return "object";
	}
	return "unknown";
}

static enum mk_code
type_fail(struct mk_err *err, const char *prop, const char *want, struct json_object *v)
{
	return prop_fail(err, prop, "Expected type %s but found type %s", want, type_name(v));
}

/* Code points in a valid UTF-8 string. */
static size_t
u8len(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static int
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int
valid_email(const char *s, size_t n)
{
	const char *at = NULL;
	size_t i;

	if (n == 0 || n > 254)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_ctl(c) || c == ' ')
			return 0;
		if (c == '@') {
			if (at != NULL)
				return 0;
			at = s + i;
		}
	}
	return at != NULL && at != s && at != s + n - 1;
}

static int
valid_phone(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || n > 16 || s[0] != '+')
		return 0;
	for (i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* scheme "://" something, no white space or control characters. */
static int
valid_uri(const char *s, size_t n)
{
	size_t i = 0;

	if (n > URL_MAX * 4 || u8len(s, n) > URL_MAX)
		return 0;
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	    (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (n - i < 4 || strncmp(s + i, "://", 3) != 0)
		return 0;
	for (i = 0; i < n; i++)
		if (is_ctl((unsigned char)s[i]) || s[i] == ' ')
			return 0;
	return 1;
}

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* A string value: type, no NUL, length, format. */
static enum mk_code
check_str(const struct field *f, const char *prop, struct json_object *v,
    struct mk_err *err)
{
	const char *s;
	char echo[ECHO_MAX + 1];
	size_t n, len, i;

	if (!json_object_is_type(v, json_type_string))
		return type_fail(err, prop, "string", v);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (strlen(s) != n)
		return prop_fail(err, prop, "String contains a NUL character");
	/* jx_parse already ensures this; a body built elsewhere might not. */
	if (!jx_utf8_valid(s, n))
		return prop_fail(err, prop, "String is not valid UTF-8");
	clip(s, n, echo, ECHO_MAX);
	if (f->max > 0) {
		len = u8len(s, n);
		if (len < f->min)
			return prop_fail(err, prop, "String is too short (%zu chars), minimum %zu",
			    len, f->min);
		if (len > f->max)
			return prop_fail(err, prop, "String is too long (%zu chars), maximum %zu",
			    len, f->max);
	}
	switch (f->fmt) {
	case FMT_NONE:
		break;
	case FMT_EMAIL:
		if (!valid_email(s, n))
			return prop_fail(err, prop,
			    "Object didn't pass validation for format email: %s", echo);
		break;
	case FMT_PHONE:
		if (!valid_phone(s, n))
			return prop_fail(err, prop,
			    "String does not match pattern ^\\+[0-9]{1,15}$: %s", echo);
		break;
	case FMT_URI:
		if (!valid_uri(s, n))
			return prop_fail(err, prop,
			    "Object didn't pass validation for format strict-uri: %s", echo);
		break;
	case FMT_NOANGLE:
		if (strpbrk(s, "<>") != NULL)
			return prop_fail(err, prop,
			    "String does not match pattern ^[^<>]+$: %s", echo);
		break;
	case FMT_APPTYPE:
		if (!in_list(s, app_types))
			return prop_fail(err, prop, "No enum match for: %s", echo);
		break;
	case FMT_AUTHMETHOD:
		if (!in_list(s, auth_methods))
			return prop_fail(err, prop, "No enum match for: %s", echo);
		break;
	case FMT_NOCTL:
		for (i = 0; i < n; i++)
			if (is_ctl((unsigned char)s[i]))
				return prop_fail(err, prop,
				    "String contains a control character");
		break;
	}
	return MK_OK;
}

static enum mk_code
check_strarr(const struct field *f, struct json_object *v, struct mk_err *err)
{
	struct field item = { f->name, VT_STR, 0, 0, URL_MAX, FMT_NONE, f->mk };
	char prop[64];
	size_t i, n;
	enum mk_code rc;

	if (!json_object_is_type(v, json_type_array))
		return type_fail(err, f->name, "array", v);
	n = json_object_array_length(v);
	if (n > f->max)
		return prop_fail(err, f->name, "Array is too long (%zu), maximum %zu", n, f->max);
	for (i = 0; i < n; i++) {
		snprintf(prop, sizeof(prop), "%s[%zu]", f->name, i);
		if ((rc = check_str(&item, prop, json_object_array_get_idx(v, i), err)) != MK_OK)
			return rc;
	}
	return MK_OK;
}

/*
 * Check one body value against its field.  patch: a PATCH body (null may
 * unset; metadata is checked after the merge, by the caller).
 */
static enum mk_code
check_value(const struct field *f, struct json_object *v, int patch, int max_depth,
    struct mk_err *err)
{
	if (v == NULL && patch && (f->flags & F_NULLABLE))
		return MK_OK;
	switch (f->type) {
	case VT_STR:
		return check_str(f, f->name, v, err);
	case VT_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return type_fail(err, f->name, "boolean", v);
		return MK_OK;
	case VT_STRARR:
		return check_strarr(f, v, err);
	case VT_MD:
		if (patch)
			return MK_OK; /* meta_merge judges the patch value */
		if (!json_object_is_type(v, json_type_object))
			return type_fail(err, f->name, "object", v);
		return meta_validate(f->mk, v, max_depth, err);
	case VT_INTERNAL:
		break;
	}
	return mk_fail(err, MK_ERR_INTERNAL, "model: field %s has no check", f->name);
}

static int
field_index(const struct field *tab, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * The body is an object whose every key is a field allowed by mask; list the
 * others, in body order, in Auth0's message.  patch: {} is refused too.
 */
static enum mk_code
check_keys(const struct fieldtab *ft, struct json_object *body, unsigned mask,
    int patch, struct mk_err *err)
{
	const struct field *tab = ft->f;
	size_t n = ft->n;
	struct mk_buf b = MK_BUF_INIT;
	char echo[ECHO_MAX + 1];
	enum mk_code rc = MK_OK;
	int i, bad = 0;

	if (!json_object_is_type(body, json_type_object))
		return mk_fail(err, MK_ERR_INVALID, PV "'Expected type object but found type %s'.",
		    type_name(body));
	if (patch && json_object_object_length(body) == 0)
		return mk_fail(err, MK_ERR_INVALID,
		    PV "'Too few properties defined (0), minimum 1'.");
	json_object_object_foreach(body, key, val) {
		(void)val;
		i = field_index(tab, n, key);
		if (i >= 0 && (tab[i].flags & mask))
			continue;
		if (b.n > 300) {
			/* Enough names to act on; keep the message bounded. */
			buf_adds(&b, ",...");
			bad++;
			break;
		}
		clip(key, strlen(key), echo, 100);
		if (bad++ > 0)
			buf_addc(&b, ',');
		buf_adds(&b, echo);
	}
	if (b.failed)
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
	else if (bad > 0)
		rc = mk_fail(err, MK_ERR_INVALID, PV "'Additional properties not allowed: %s'.", b.p);
	buf_free(&b);
	return rc;
}

/* Check every present value of the body, in table order. */
static enum mk_code
check_values(const struct fieldtab *ft, struct json_object *body, int patch,
    int max_depth, struct mk_err *err)
{
	const struct field *tab = ft->f;
	size_t n = ft->n;
	struct json_object *v;
	enum mk_code rc;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!json_object_object_get_ex(body, tab[i].name, &v))
			continue;
		if ((rc = check_value(&tab[i], v, patch, max_depth, err)) != MK_OK)
			return rc;
	}
	return MK_OK;
}

static void
slots_free(struct json_object **slot, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_object_put(slot[i]);
		slot[i] = NULL;
	}
}

/* Deep copy that accepts a JSON null (a NULL pointer). */
static enum mk_code
copy(struct json_object *src, struct json_object **dst, struct mk_err *err)
{
	struct json_object *c = NULL;

	if (src == NULL) {
		*dst = NULL;
		return MK_OK;
	}
	if (json_object_deep_copy(src, &c, NULL) != 0)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	*dst = c;
	return MK_OK;
}

/* Put a new owned value in a slot (replacing the old one); NULL src = unset. */
static enum mk_code
slot_copy(struct json_object **slot, struct json_object *src, struct mk_err *err)
{
	struct json_object *c = NULL;
	enum mk_code rc;

	if ((rc = copy(src, &c, err)) != MK_OK)
		return rc;
	json_object_put(*slot);
	*slot = c;
	return MK_OK;
}

static enum mk_code
slot_str(struct json_object **slot, const char *s, struct mk_err *err)
{
	struct json_object *v;

	if ((v = json_object_new_string(s)) == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	json_object_put(*slot);
	*slot = v;
	return MK_OK;
}

static enum mk_code
slot_bool(struct json_object **slot, int b, struct mk_err *err)
{
	struct json_object *v;

	if ((v = json_object_new_boolean(b)) == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	json_object_put(*slot);
	*slot = v;
	return MK_OK;
}

static enum mk_code
slot_time(struct json_object **slot, int64_t ms, struct mk_err *err)
{
	char iso[MK_ISO_LEN + 1];

	mk_iso8601(ms, iso);
	return slot_str(slot, iso, err);
}

/* The email, lower-cased (ASCII only: the domain is case-insensitive, and
 * Auth0 folds the whole address). */
static enum mk_code
slot_email(struct json_object **slot, struct json_object *v, struct mk_err *err)
{
	const char *s = json_object_get_string(v);
	size_t i, n = (size_t)json_object_get_string_len(v);
	char low[255];
	struct json_object *e;

	if (n >= sizeof(low))
		return mk_fail(err, MK_ERR_INTERNAL, "model: unchecked email");
	for (i = 0; i < n; i++)
		low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	if ((e = json_object_new_string_len(low, (int)n)) == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	json_object_put(*slot);
	*slot = e;
	return MK_OK;
}

/*
 * The stored object: the slots with F_OUT in table order, then extra (the
 * stored keys model does not know, kept as they were).  Slots are consumed.
 */
static enum mk_code
emit(const struct fieldtab *ft, struct json_object **slot,
    struct json_object *extra, struct json_object **out, struct mk_err *err)
{
	const struct field *tab = ft->f;
	size_t n = ft->n;
	struct json_object *o = NULL, *c = NULL;
	enum mk_code rc = MK_OK;
	size_t i;

	if ((o = json_object_new_object()) == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if (!(tab[i].flags & F_OUT) || slot[i] == NULL)
			continue;
		if (json_object_object_add(o, tab[i].name, slot[i]) != 0) {
			rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
			goto out;
		}
		slot[i] = NULL;
	}
	if (extra != NULL) {
		json_object_object_foreach(extra, key, val) {
			if (field_index(tab, n, key) >= 0)
				continue;
			/* by reference, as load_stored */
			c = json_object_get(val);
			if (json_object_object_add(o, key, c) != 0) {
				json_object_put(c);
				rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
				goto out;
			}
		}
	}
	*out = o;
	o = NULL;
out:
	json_object_put(o);
	return rc;
}

/*
 * The stored values of every F_OUT field into the slots, by reference (a
 * PATCH replaces a slot whole or merges it into a new object, never changes
 * a value in place, so the result may hold the stored values themselves:
 * a deep copy of each was a third of a PATCH's model work).
 */
static void
load_stored(const struct fieldtab *ft, struct json_object *stored,
    struct json_object **slot)
{
	const struct field *tab = ft->f;
	size_t n = ft->n;
	struct json_object *v;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(tab[i].flags & F_OUT) || !json_object_object_get_ex(stored, tab[i].name, &v))
			continue;
		/* A stored null would be dropped anyway: absent = unset. */
		json_object_put(slot[i]);
		slot[i] = json_object_get(v);
	}
}

/*
 * Apply the plain (non-metadata, non-internal, stored) values of a body to
 * the slots: a value replaces, a null unsets.
 */
static enum mk_code
apply_plain(const struct fieldtab *ft, struct json_object *body,
    struct json_object **slot, struct mk_err *err)
{
	const struct field *tab = ft->f;
	size_t n = ft->n;
	struct json_object *v;
	enum mk_code rc;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!(tab[i].flags & F_OUT) || tab[i].type == VT_MD ||
		    tab[i].type == VT_INTERNAL)
			continue;
		if (!json_object_object_get_ex(body, tab[i].name, &v))
			continue;
		if (tab[i].fmt == FMT_EMAIL && v != NULL)
			rc = slot_email(&slot[i], v, err);
		else
			rc = slot_copy(&slot[i], v, err);
		if (rc != MK_OK)
			return rc;
	}
	return MK_OK;
}

/* PATCH merge of one metadata attribute into its slot. */
static enum mk_code
merge_md(const struct field *f, struct json_object *body, struct json_object **slot,
    int max_depth, struct mk_err *err)
{
	struct json_object *p, *merged = NULL;
	enum mk_code rc;

	if (!json_object_object_get_ex(body, f->name, &p))
		return MK_OK;
	/* By reference: the stored value and the body are only read from here on. */
	if ((rc = meta_merge_shared(f->mk, *slot, p, &merged, err)) != MK_OK)
		return rc;
	if (merged != NULL && (rc = meta_validate(f->mk, merged, max_depth, err)) != MK_OK) {
		json_object_put(merged);
		return rc;
	}
	json_object_put(*slot);
	*slot = merged;
	return MK_OK;
}

static int
depth_of(const struct model_ctx *ctx)
{
	return ctx->max_depth > 0 ? ctx->max_depth : META_DEFAULT_MAX_DEPTH;
}

static int
connection_known(const struct model_ctx *ctx, const char *name)
{
	const char *const *c;

	if (ctx->connections == NULL)
		return strcmp(name, MODEL_DEFAULT_CONNECTION) == 0;
	for (c = ctx->connections; *c != NULL; c++)
		if (strcmp(name, *c) == 0)
			return 1;
	return 0;
}

/*
 * Auth0's "Connection does not exist.", then the names that do, so that a
 * typo shows its fix.  As many as fit in the message; "..." for the rest.
 * Returns MK_ERR_INVALID.
 */
static enum mk_code
connection_unknown(const struct model_ctx *ctx, struct mk_err *err)
{
	static const char *const dflt[] = { MODEL_DEFAULT_CONNECTION, NULL };
	const char *const *c = ctx->connections != NULL ? ctx->connections : dflt;
	char list[MK_ERR_MSG - 64];
	size_t n = 0, len;

	list[0] = '\0';
	for (; *c != NULL; c++) {
		len = strlen(*c);
		if (n + len + 2 + 5 >= sizeof(list)) {
			memcpy(list + n, ", ...", 6);
			break;
		}
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    n > 0 ? ", " : "", *c);
	}
	return mk_fail(err, MK_ERR_INVALID, "Connection does not exist. "
	    "The connections are: %s.", list);
}

/* The connection of a stored user: identities[0].connection, or NULL. */
static const char *
user_connection(struct json_object *user)
{
	struct json_object *ids;

	if (!json_object_object_get_ex(user, "identities", &ids) ||
	    !json_object_is_type(ids, json_type_array) ||
	    json_object_array_length(ids) == 0)
		return NULL;
	return jx_get_str(json_object_array_get_idx(ids, 0), "connection");
}

static enum mk_code
make_identities(const char *connection, const char *id, struct json_object **out,
    struct mk_err *err)
{
	struct json_object *arr = NULL, *ident = NULL, *v;
	enum mk_code rc = MK_ERR_NOMEM;

	if ((arr = json_object_new_array()) == NULL ||
	    (ident = json_object_new_object()) == NULL)
		goto out;
	if ((v = json_object_new_string(connection)) == NULL)
		goto out;
	if (json_object_object_add(ident, "connection", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if ((v = json_object_new_string(id)) == NULL)
		goto out;
	if (json_object_object_add(ident, "user_id", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if ((v = json_object_new_string("auth0")) == NULL)
		goto out;
	if (json_object_object_add(ident, "provider", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if ((v = json_object_new_boolean(0)) == NULL)
		goto out;
	if (json_object_object_add(ident, "isSocial", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if (json_object_array_add(arr, ident) != 0)
		goto out;
	ident = NULL;
	*out = arr;
	arr = NULL;
	rc = MK_OK;
out:
	json_object_put(ident);
	json_object_put(arr);
	if (rc != MK_OK)
		mk_fail(err, rc, "out of memory");
	return rc;
}

unsigned
model_body_props(struct json_object *body)
{
	unsigned f = 0;

	if (!json_object_is_type(body, json_type_object))
		return 0;
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "user_metadata") == 0)
			f |= MODEL_PROP_USER_MD;
		else if (strcmp(key, "app_metadata") == 0)
			f |= MODEL_PROP_APP_MD;
		else if (strcmp(key, "client_secret") == 0)
			f |= MODEL_PROP_SECRET;
		else
			f |= MODEL_PROP_OTHER;
	}
	return f;
}

int
model_body_depth(int max_depth)
{
	return (max_depth > 0 ? max_depth : META_DEFAULT_MAX_DEPTH) + MODEL_BODY_EXTRA_DEPTH;
}

enum mk_code
model_user_new(struct json_object *body, const struct model_ctx *ctx,
    struct json_object **out, struct mk_err *err)
{
	struct json_object *slot[U__N] = { NULL };
	struct json_object *v;
	const char *conn, *email, *id, *at;
	struct mk_buf uid = MK_BUF_INIT;
	enum mk_code rc;
	int depth = depth_of(ctx);

	if ((rc = check_keys(&user_tab, body, F_CREATE, 0, err)) != MK_OK)
		goto out;
	if (!json_object_object_get_ex(body, "connection", &v)) {
		rc = mk_fail(err, MK_ERR_INVALID, PV "'Missing required property: connection'.");
		goto out;
	}
	if ((rc = check_values(&user_tab, body, 0, depth, err)) != MK_OK)
		goto out;
	conn = json_object_get_string(v);
	if (!connection_known(ctx, conn)) {
		rc = connection_unknown(ctx, err);
		goto out;
	}
	if (!json_object_object_get_ex(body, "email", &v)) {
		rc = mk_fail(err, MK_ERR_INVALID, PV "'Missing required property: email'.");
		goto out;
	}

	if ((rc = apply_plain(&user_tab, body, slot, err)) != MK_OK)
		goto out;
	/* Metadata is stored as given (POST does not merge); {} stays {}. */
	if (json_object_object_get_ex(body, "user_metadata", &v) &&
	    (rc = slot_copy(&slot[U_USER_MD], v, err)) != MK_OK)
		goto out;
	if (json_object_object_get_ex(body, "app_metadata", &v) &&
	    (rc = slot_copy(&slot[U_APP_MD], v, err)) != MK_OK)
		goto out;

	/* user_id: the given one (already checked) or the random one. */
	if (slot[U_USER_ID] != NULL)
		id = json_object_get_string(slot[U_USER_ID]);
	else if ((id = ctx->new_id) == NULL) {
		rc = mk_fail(err, MK_ERR_INTERNAL, "model: no new id");
		goto out;
	}
	buf_adds(&uid, "auth0|");
	buf_adds(&uid, id);
	if (uid.failed) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = make_identities(conn, id, &v, err)) != MK_OK)
		goto out;
	json_object_put(slot[U_IDENTITIES]);
	slot[U_IDENTITIES] = v;
	if ((rc = slot_str(&slot[U_USER_ID], uid.p, err)) != MK_OK)
		goto out;

	/* Defaults as Auth0: name = email, nickname = local part. */
	email = json_object_get_string(slot[U_EMAIL]);
	if (slot[U_NAME] == NULL && (rc = slot_str(&slot[U_NAME], email, err)) != MK_OK)
		goto out;
	if (slot[U_NICKNAME] == NULL) {
		at = strchr(email, '@');
		if ((v = json_object_new_string_len(email, (int)(at - email))) == NULL) {
			rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
			goto out;
		}
		slot[U_NICKNAME] = v;
	}
	if (slot[U_EMAIL_VERIFIED] == NULL &&
	    (rc = slot_bool(&slot[U_EMAIL_VERIFIED], 0, err)) != MK_OK)
		goto out;
	if ((rc = slot_time(&slot[U_CREATED_AT], ctx->now_ms, err)) != MK_OK ||
	    (rc = slot_time(&slot[U_UPDATED_AT], ctx->now_ms, err)) != MK_OK)
		goto out;
	rc = emit(&user_tab, slot, NULL, out, err);
out:
	buf_free(&uid);
	slots_free(slot, U__N);
	return rc;
}

enum mk_code
model_user_patch(struct json_object *stored, struct json_object *body,
    const struct model_ctx *ctx, struct json_object **out, struct mk_err *err)
{
	struct json_object *slot[U__N] = { NULL };
	struct json_object *v, *oldmail = NULL;
	const char *conn, *own;
	char echo[ECHO_MAX + 1];
	enum mk_code rc;
	int depth = depth_of(ctx);

	if ((rc = check_keys(&user_tab, body, F_PATCH, 1, err)) != MK_OK)
		goto out;
	if ((rc = check_values(&user_tab, body, 1, depth, err)) != MK_OK)
		goto out;
	/* connection picks the identity to change: it must be the user's own. */
	if (json_object_object_get_ex(body, "connection", &v)) {
		conn = json_object_get_string(v);
		own = user_connection(stored);
		if (!connection_known(ctx, conn)) {
			rc = connection_unknown(ctx, err);
			goto out;
		}
		if (own == NULL || strcmp(own, conn) != 0) {
			clip(conn, strlen(conn), echo, ECHO_MAX);
			rc = mk_fail(err, MK_ERR_INVALID,
			    "The user does not have an identity in connection %s.", echo);
			goto out;
		}
	}
	if (!json_object_is_type(stored, json_type_object)) {
		rc = mk_fail(err, MK_ERR_INTERNAL, "model: stored user is not an object");
		goto out;
	}

	load_stored(&user_tab, stored, slot);
	if (slot[U_EMAIL] != NULL && (oldmail = json_object_get(slot[U_EMAIL])) == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = apply_plain(&user_tab, body, slot, err)) != MK_OK)
		goto out;
	/*
	 * A new address is not verified yet (Auth0 does the same), unless the
	 * body says so itself.
	 */
	if (!json_object_object_get_ex(body, "email_verified", NULL) && slot[U_EMAIL] != NULL &&
	    (oldmail == NULL ||
	    strcmp(json_object_get_string(oldmail), json_object_get_string(slot[U_EMAIL])) != 0) &&
	    (rc = slot_bool(&slot[U_EMAIL_VERIFIED], 0, err)) != MK_OK)
		goto out;
	if ((rc = merge_md(&user_fields[U_USER_MD], body, &slot[U_USER_MD], depth, err)) != MK_OK ||
	    (rc = merge_md(&user_fields[U_APP_MD], body, &slot[U_APP_MD], depth, err)) != MK_OK)
		goto out;
	if ((rc = slot_time(&slot[U_UPDATED_AT], ctx->now_ms, err)) != MK_OK)
		goto out;
	rc = emit(&user_tab, slot, stored, out, err);
out:
	json_object_put(oldmail);
	slots_free(slot, U__N);
	return rc;
}

/*
 * ---- PATCH over a stored user's text ----
 *
 * The members a PATCH needs parsed (see model.h); the others keep their
 * bytes.  At most PATCH_MEMBERS members: a record with more goes the whole
 * way.
 */
#define PATCH_MEMBERS 64

void
model_patch_free(struct model_patch *p)
{
	json_object_put(p->old);
	json_object_put(p->new);
	buf_free(&p->text);
	p->old = p->new = NULL;
}

/* The field named by a stored key's raw bytes (known names need no escapes). */
static int
field_index_n(const struct field *tab, size_t n, const char *k, size_t kn)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (kn > 0 && tab[i].name[0] == k[0] && strncmp(tab[i].name, k, kn) == 0 &&
		    tab[i].name[kn] == '\0')
			return (int)i;
	return -1;
}

/* Which user fields the PATCH body reads or may change: need[U__N]. */
static void
patch_needs(struct json_object *body, char *need)
{
	int i;

	memset(need, 0, U__N);
	need[U_USER_ID] = need[U_EMAIL] = need[U_CREATED_AT] = need[U_UPDATED_AT] = 1;
	json_object_object_foreach(body, key, val) {
		(void)val;
		if ((i = field_index(user_fields, U__N, key)) < 0)
			continue;
		if (user_fields[i].flags & F_OUT)
			need[i] = 1;
		if (i == U_EMAIL || i == U_EMAIL_VERIFIED)
			need[U_EMAIL_VERIFIED] = 1;
		if (i == U_EMAIL || i == U_CONNECTION)
			need[U_IDENTITIES] = 1;
	}
}

/* One member, "key":value, with a ',' before all but the first. */
static void
patch_put(struct mk_buf *b, const char *k, size_t kn, const char *v, size_t vn)
{
	if (b->n > 1)
		buf_addc(b, ',');
	buf_addc(b, '"');
	buf_add(b, k, kn);
	buf_add(b, "\":", 2);
	buf_add(b, v, vn);
}

/*
 * The new record's text, as emit and jx_text would write it: the stored
 * fields in table order (a parsed one from new, if there; another from its
 * stored bytes unless they are null, which load_stored drops), then the
 * stored members model does not know, as they are.
 */
struct patch_src {
	const struct jx_member *m;   /* the stored members */
	size_t nm;
	const int *fi;               /* each one's field, or -1 */
	const char *need;            /* [U__N]: parsed (patch_needs) */
};

static enum mk_code
patch_text(const struct patch_src *s, struct json_object *new, struct mk_buf *b,
    struct mk_err *err)
{
	const struct jx_member *m = s->m;
	const int *fi = s->fi;
	const char *need = s->need;
	size_t nm = s->nm;
	int at[U__N];
	struct json_object *v;
	const char *t;
	size_t i, tn;
	int f;

	for (f = 0; f < U__N; f++)
		at[f] = -1;
	for (i = 0; i < nm; i++)
		if (fi[i] >= 0)
			at[fi[i]] = (int)i;
	buf_reset(b);
	buf_addc(b, '{');
	for (f = 0; f < U__N; f++) {
		if (!(user_fields[f].flags & F_OUT))
			continue;
		if (need[f]) {
			if (!json_object_object_get_ex(new, user_fields[f].name, &v) || v == NULL)
				continue;
			if ((t = jx_text(v, &tn)) == NULL)
				return mk_fail(err, MK_ERR_NOMEM, "out of memory");
			patch_put(b, user_fields[f].name, strlen(user_fields[f].name), t, tn);
		} else if (at[f] >= 0) {
			i = (size_t)at[f];
			if (m[i].vn == 4 && memcmp(m[i].v, "null", 4) == 0)
				continue;
			patch_put(b, m[i].k, m[i].kn, m[i].v, m[i].vn);
		}
	}
	/* A stored key naming a field that is not stored (connection...)
	 * is dropped, as emit does. */
	for (i = 0; i < nm; i++)
		if (fi[i] < 0)
			patch_put(b, m[i].k, m[i].kn, m[i].v, m[i].vn);
	buf_addc(b, '}');
	if (b->failed)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	return MK_OK;
}

enum mk_code
model_user_patch_text(struct mk_slice stored, struct json_object *body,
    const struct model_ctx *ctx, struct model_patch *out, struct mk_err *err)
{
	struct patch_src src;
	struct jx_member m[PATCH_MEMBERS];
	int fi[PATCH_MEMBERS];
	char need[U__N], seen[U__N];
	struct mk_buf part = MK_BUF_INIT;
	size_t nm, i, j;
	enum mk_code rc;

	memset(out, 0, sizeof(*out));
	out->text = (struct mk_buf)MK_BUF_INIT;
	out->whole = 1;
	if (!json_object_is_type(body, json_type_object) ||
	    jx_members(stored.p, stored.n, m, PATCH_MEMBERS, &nm) != 0)
		return MK_OK;
	/* Keys as json-c writes them (no escapes), each once. */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < nm; i++) {
		if (memchr(m[i].k, '\\', m[i].kn) != NULL)
			return MK_OK;
		fi[i] = field_index_n(user_fields, U__N, m[i].k, m[i].kn);
		if (fi[i] >= 0) {
			if (seen[fi[i]]++)
				return MK_OK;
			continue;
		}
		for (j = 0; j < i; j++)
			if (fi[j] < 0 && m[j].kn == m[i].kn && memcmp(m[j].k, m[i].k, m[i].kn) == 0)
				return MK_OK;
	}
	patch_needs(body, need);
	buf_addc(&part, '{');
	for (i = 0; i < nm; i++)
		if (fi[i] >= 0 && need[fi[i]])
			patch_put(&part, m[i].k, m[i].kn, m[i].v, m[i].vn);
	buf_addc(&part, '}');
	if (part.failed) {
		buf_free(&part);
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	}
	rc = jx_parse_stored(part.p, part.n, &out->old);
	buf_free(&part);
	if (rc == MK_ERR_NOMEM)
		return mk_fail(err, rc, "out of memory");
	if (rc != MK_OK)
		return MK_OK;   /* unreadable: the whole way says so */
	out->whole = 0;
	src.m = m;
	src.nm = nm;
	src.fi = fi;
	src.need = need;
	if ((rc = model_user_patch(out->old, body, ctx, &out->new, err)) != MK_OK ||
	    (rc = patch_text(&src, out->new, &out->text, err)) != MK_OK)
		model_patch_free(out);
	return rc;
}

enum mk_code
model_client_new(struct json_object *body, const struct model_ctx *ctx,
    struct json_object **out, struct mk_err *err)
{
	struct json_object *slot[C__N] = { NULL };
	struct json_object *v;
	enum mk_code rc;
	int depth = depth_of(ctx);

	if ((rc = check_keys(&client_tab, body, F_CREATE, 0, err)) != MK_OK)
		goto out;
	if (!json_object_object_get_ex(body, "name", NULL)) {
		rc = mk_fail(err, MK_ERR_INVALID, PV "'Missing required property: name'.");
		goto out;
	}
	if ((rc = check_values(&client_tab, body, 0, depth, err)) != MK_OK)
		goto out;
	if (ctx->new_id == NULL || ctx->new_secret == NULL) {
		rc = mk_fail(err, MK_ERR_INTERNAL, "model: no new client id or secret");
		goto out;
	}
	if ((rc = apply_plain(&client_tab, body, slot, err)) != MK_OK)
		goto out;
	if (json_object_object_get_ex(body, "client_metadata", &v) &&
	    (rc = slot_copy(&slot[C_CLIENT_MD], v, err)) != MK_OK)
		goto out;
	if ((rc = slot_str(&slot[C_CLIENT_ID], ctx->new_id, err)) != MK_OK ||
	    (rc = slot_str(&slot[C_CLIENT_SECRET], ctx->new_secret, err)) != MK_OK)
		goto out;
	if (slot[C_IS_FIRST_PARTY] == NULL &&
	    (rc = slot_bool(&slot[C_IS_FIRST_PARTY], 1, err)) != MK_OK)
		goto out;
	if ((rc = slot_time(&slot[C_CREATED_AT], ctx->now_ms, err)) != MK_OK ||
	    (rc = slot_time(&slot[C_UPDATED_AT], ctx->now_ms, err)) != MK_OK)
		goto out;
	rc = emit(&client_tab, slot, NULL, out, err);
out:
	slots_free(slot, C__N);
	return rc;
}

enum mk_code
model_client_patch(struct json_object *stored, struct json_object *body,
    const struct model_ctx *ctx, struct json_object **out, struct mk_err *err)
{
	struct json_object *slot[C__N] = { NULL };
	enum mk_code rc;
	int depth = depth_of(ctx);

	if ((rc = check_keys(&client_tab, body, F_PATCH, 1, err)) != MK_OK)
		goto out;
	if ((rc = check_values(&client_tab, body, 1, depth, err)) != MK_OK)
		goto out;
	if (!json_object_is_type(stored, json_type_object)) {
		rc = mk_fail(err, MK_ERR_INTERNAL, "model: stored client is not an object");
		goto out;
	}
	load_stored(&client_tab, stored, slot);
	if ((rc = apply_plain(&client_tab, body, slot, err)) != MK_OK)
		goto out;
	if ((rc = merge_md(&client_fields[C_CLIENT_MD], body, &slot[C_CLIENT_MD], depth,
	    err)) != MK_OK)
		goto out;
	if ((rc = slot_time(&slot[C_UPDATED_AT], ctx->now_ms, err)) != MK_OK)
		goto out;
	rc = emit(&client_tab, slot, stored, out, err);
out:
	slots_free(slot, C__N);
	return rc;
}

void
model_user_keys(struct json_object *user, struct model_user_keys *k)
{
	const char *s;

	k->email = jx_get_str(user, "email");
	s = jx_get_str(user, "user_id");
	k->user_id = s != NULL ? s : "";
	s = user_connection(user);
	k->connection = s != NULL ? s : "";
	s = jx_get_str(user, "created_at");
	k->created_at = s != NULL ? s : "";
	s = jx_get_str(user, "updated_at");
	k->updated_at = s != NULL ? s : "";
}

/* ---- bulk import ---- */

#define IMPORT_PREFIX "auth0|"
#define HASH_MAX 1024
#define CUSTOM_HASH_MAX 4096

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" with plausible fields: the index sorts these as bytes. */
static int
valid_iso(const char *s, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	int mon, day, hh, mm, ss;
	size_t i;

	if (n != sizeof(shape) - 1)
		return 0;
	for (i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	}
	mon = (s[5] - '0') * 10 + (s[6] - '0');
	day = (s[8] - '0') * 10 + (s[9] - '0');
	hh = (s[11] - '0') * 10 + (s[12] - '0');
	mm = (s[14] - '0') * 10 + (s[15] - '0');
	ss = (s[17] - '0') * 10 + (s[18] - '0');
	return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hh < 24 && mm < 60 &&
	    ss < 61;
}

static enum mk_code
import_time(const char *prop, struct json_object *v, const char **out, struct mk_err *err)
{
	const char *s;
	char echo[ECHO_MAX + 1];
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return type_fail(err, prop, "string", v);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (!valid_iso(s, n)) {
		clip(s, n, echo, ECHO_MAX);
		return prop_fail(err, prop, "Object didn't pass validation for format "
		    "date-time (YYYY-MM-DDTHH:MM:SS.mmmZ): %s", echo);
	}
	*out = s;
	return MK_OK;
}

/* A crypt(3) string: "$id$...", printable ASCII without spaces. */
static enum mk_code
import_hash(struct json_object *v, const char **out, struct mk_err *err)
{
	const char *s;
	size_t n, i;

	if (!json_object_is_type(v, json_type_string))
		return type_fail(err, "password_hash", "string", v);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n < 2 || n > HASH_MAX || s[0] != '$')
		return prop_fail(err, "password_hash", "String is not a crypt(3) hash "
		    "(\"$id$...\", at most %d bytes)", HASH_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return prop_fail(err, "password_hash", "String is not a crypt(3) hash "
			    "(\"$id$...\", at most %d bytes)", HASH_MAX);
	*out = s;
	return MK_OK;
}

enum mk_code
model_user_import(struct json_object *rec, const struct model_ctx *ctx,
    struct json_object **out, const char **pwhash, struct mk_err *err)
{
	const char *connection = ctx->import_connection;
	struct json_object *body = NULL, *user = NULL, *v, *c;
	const char *conn = connection, *id_conn = NULL, *created = NULL, *updated = NULL;
	const char *hash = NULL, *s;
	size_t n;
	enum mk_code rc;
	int custom = 0;

	if (!json_object_is_type(rec, json_type_object))
		return mk_fail(err, MK_ERR_INVALID, PV "'Expected type object but found type %s'.",
		    type_name(rec));
	if ((body = json_object_new_object()) == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");

	/* Take out what only an import may give; the rest is a create body. */
	json_object_object_foreach(rec, key, val) {
		rc = MK_OK;
		if (strcmp(key, "created_at") == 0)
			rc = import_time(key, val, &created, err);
		else if (strcmp(key, "updated_at") == 0)
			rc = import_time(key, val, &updated, err);
		else if (strcmp(key, "identities") == 0) {
			if (!json_object_is_type(val, json_type_array))
				rc = type_fail(err, key, "array", val);
			else if (json_object_array_length(val) > 0)
				id_conn = jx_get_str(json_object_array_get_idx(val, 0),
				    "connection");
		} else if (strcmp(key, "password_hash") == 0) {
			if (hash != NULL)
				custom = 2;
			else
				rc = import_hash(val, &hash, err);
		} else if (strcmp(key, "custom_password_hash") == 0) {
			if (!json_object_is_type(val, json_type_object))
				rc = type_fail(err, key, "object", val);
			else if (hash != NULL)
				custom = 2;
			else if ((hash = jx_text(val, &n)) == NULL)
				rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
			else if (n > CUSTOM_HASH_MAX)
				rc = prop_fail(err, key, "Object is too large (%zu bytes), "
				    "maximum %d", n, CUSTOM_HASH_MAX);
			else
				custom = 1;
		} else if (strcmp(key, "connection") == 0) {
			/* Checked by model_user_new once it is put back below. */
			if (conn == NULL && json_object_is_type(val, json_type_string))
				conn = json_object_get_string(val);
			else if (conn == NULL)
				rc = type_fail(err, key, "string", val);
		} else {
			v = val;
			if (strcmp(key, "user_id") == 0 &&
			    json_object_is_type(val, json_type_string) &&
			    strncmp(json_object_get_string(val), IMPORT_PREFIX,
			    strlen(IMPORT_PREFIX)) == 0) {
				/* model_user_new adds the prefix back. */
				s = json_object_get_string(val) + strlen(IMPORT_PREFIX);
				v = json_object_new_string_len(s,
				    json_object_get_string_len(val) - (int)strlen(IMPORT_PREFIX));
				if (v == NULL)
					rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
			} else
				json_object_get(v);
			if (rc == MK_OK && json_object_object_add(body, key, v) != 0) {
				json_object_put(v);
				rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
			}
		}
		if (rc != MK_OK)
			goto out;
	}
	if (custom == 2) {
		rc = mk_fail(err, MK_ERR_INVALID, PV "'Only one of password_hash and "
		    "custom_password_hash may be given'.");
		goto out;
	}
	if (conn == NULL)
		conn = id_conn != NULL ? id_conn : MODEL_DEFAULT_CONNECTION;
	if ((c = json_object_new_string(conn)) == NULL ||
	    json_object_object_add(body, "connection", c) != 0) {
		json_object_put(c);
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}

	if ((rc = model_user_new(body, ctx, &user, err)) != MK_OK)
		goto out;
	if (created != NULL) {
		if ((rc = jx_set_str(user, "created_at", created, err)) != MK_OK ||
		    (rc = jx_set_str(user, "updated_at", updated != NULL ? updated : created,
		    err)) != MK_OK)
			goto out;
		/* A stored user coming back: no defaults it did not have. */
		if (!json_object_object_get_ex(rec, "name", NULL))
			json_object_object_del(user, "name");
		if (!json_object_object_get_ex(rec, "nickname", NULL))
			json_object_object_del(user, "nickname");
	} else if (updated != NULL &&
	    (rc = jx_set_str(user, "updated_at", updated, err)) != MK_OK)
		goto out;
	if (pwhash != NULL)
		*pwhash = hash;
	*out = user;
	user = NULL;
	rc = MK_OK;
out:
	json_object_put(user);
	json_object_put(body);
	return rc;
}

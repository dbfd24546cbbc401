/*
 * model: the user and client objects of the spec (sections 3 and 5): what a
 * create body may hold, how a PATCH body changes a stored object, and the
 * attributes the store indexes.  Pure functions over json-c values: the
 * caller supplies time, random ids and configuration in struct model_ctx.
 *
 * Stored form = response form: a stored user is exactly the JSON object the
 * API returns (password hashes are kept apart by svc), so a read can send the
 * stored bytes as they are.  A stored client includes client_secret; the api
 * layer leaves it out for tokens without read:client_keys.
 */
#ifndef MK_MODEL_H
#define MK_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "buf.h"
#include "err.h"

struct model_ctx {
	int64_t now_ms;              /* time of this write */
	const char *new_id;          /* create: random id: 24 hex chars for a user
	                                (without "auth0|"), 32 alnum for a client */
	const char *new_secret;      /* client create: 64 url-safe chars */
	const char *const *connections; /* NULL-terminated; NULL = default only */
	int max_depth;               /* metadata nesting limit (default
	                                META_DEFAULT_MAX_DEPTH) */
	const char *import_connection; /* model_user_import: the connection of
	                                every record (the operator's choice for
	                                a whole file), NULL: each record's own */
};

#define MODEL_DEFAULT_CONNECTION "Username-Password-Authentication"

/*
 * How much deeper than its metadata a whole body or record nests: the
 * object itself and the metadata attribute's object.
 */
#define MODEL_BODY_EXTRA_DEPTH 2

/*
 * The nesting a whole body or record may have when its metadata may nest
 * max_depth levels (< 1: META_DEFAULT_MAX_DEPTH): the parse limit to give
 * jx_parse (which lowers it to JX_DEPTH_LIMIT).  Pure.
 */
int model_body_depth(int max_depth);

/* Properties a PATCH/POST body touches, for scope checks in the api layer. */
#define MODEL_PROP_USER_MD 0x1u  /* user_metadata */
#define MODEL_PROP_APP_MD  0x2u  /* app_metadata */
#define MODEL_PROP_OTHER   0x4u  /* anything else */
#define MODEL_PROP_SECRET  0x8u  /* client_secret (clients only) */

/* Flags for the properties present in an object body (0 for a non-object). */
unsigned model_body_props(struct json_object *body);

/*
 * Build a new user from a POST body (borrowed).  The body must be an object;
 * password must already have been taken out of it by the caller.
 * Rules: connection required and configured ("Connection does not exist."),
 * email required and valid (stored lower-case), user_id given -> "auth0|" +
 * value, else "auth0|" + ctx->new_id; defaults name = email, nickname =
 * local part, email_verified = false; phone_number E.164; metadata validated
 * by meta; unknown or read-only properties refused; identities, created_at
 * and updated_at set.  Success: *out is a new owned object.  Errors:
 * MK_ERR_INVALID (message per spec), MK_ERR_NOMEM.
 */
enum mk_code model_user_new(struct json_object *body, const struct model_ctx *ctx,
    struct json_object **out, struct mk_err *err);

/*
 * Apply a PATCH body (borrowed, password already taken out) to a stored user
 * (borrowed, not modified).  Empty body: 400.  Root attributes are replaced,
 * null unsets the nullable ones; user_metadata and app_metadata are merged by
 * meta_merge and validated by meta_validate; updated_at = ctx->now_ms.
 * A changed email (compared lower-cased) sets email_verified false unless the
 * body sets it; connection, when given, must be the user's own
 * (identities[0]); user_id and the other read-only attributes are refused.
 * Success: *out is a new owned object; the values it keeps from stored are
 * the stored ones, and its metadata's root values the stored ones and the
 * body's, held by reference (json-c's counts: any may be freed first; none
 * is to be changed in place while another is in use).
 * Errors: MK_ERR_INVALID, MK_ERR_NOMEM.
 */
enum mk_code model_user_patch(struct json_object *stored, struct json_object *body,
    const struct model_ctx *ctx, struct json_object **out, struct mk_err *err);

/*
 * model_user_patch on a stored user's text (borrowed), parsing only the
 * members the PATCH reads or may change: user_id, email, created_at,
 * updated_at, the stored attributes the body names, email_verified when the
 * body names email or email_verified, identities when it names email or
 * connection.  The other members' bytes are copied as they are, which is
 * what json-c would write for them again (stored text is jx_text output).
 * On MK_OK with out->whole == 0: out->old holds the members parsed, out->new
 * their values after the PATCH (a member parsed and absent from new is
 * removed; the members neither holds are unchanged), out->text the whole new
 * record, byte for byte the jx_text of model_user_patch's result.  out->whole
 * == 1: stored is not in the form jx_members reads; nothing else is set,
 * and the caller parses the record and calls model_user_patch.  Errors (out
 * then holds nothing): model_user_patch's, with the same codes and messages.
 * Free out with model_patch_free in every case.
 */
struct model_patch {
	struct json_object *old, *new;   /* owned, see above */
	struct mk_buf text;              /* owned */
	int whole;
};
enum mk_code model_user_patch_text(struct mk_slice stored, struct json_object *body,
    const struct model_ctx *ctx, struct model_patch *out, struct mk_err *err);
void model_patch_free(struct model_patch *p);

/*
 * Build a new client from a POST body: name required, client_id =
 * ctx->new_id, client_secret = ctx->new_secret, is_first_party default true,
 * created_at/updated_at set, every attribute validated (spec 5).
 */
enum mk_code model_client_new(struct json_object *body, const struct model_ctx *ctx,
    struct json_object **out, struct mk_err *err);

/*
 * Apply a PATCH body to a stored client; client_metadata merges like user
 * metadata; *out holds stored's kept values (and the body's metadata root
 * values) by reference, as a user's.
 */
enum mk_code model_client_patch(struct json_object *stored, struct json_object *body,
    const struct model_ctx *ctx, struct json_object **out, struct mk_err *err);

/*
 * The attributes the store indexes, borrowed from a user object (pointers
 * into it; valid while it lives).  email may be NULL; the others are "" (a
 * static string) when the object lacks them, never NULL.
 */
struct model_user_keys {
	const char *user_id;
	const char *email;
	const char *connection;
	const char *created_at;
	const char *updated_at;
};
void model_user_keys(struct json_object *user, struct model_user_keys *k);

/*
 * Build a user from one record of a bulk import: Auth0's bulk user import
 * format, or metakeep's own export (the stored form), so that an export
 * imports back byte for byte.  rec is borrowed.  The record goes through
 * model_user_new's rules (same messages), with these differences:
 *  - connection: ctx->import_connection when not NULL (the operator's
 *    choice for the whole file), else the record's "connection", else its
 *    identities[0].connection, else the default connection;
 *  - user_id: a value that already starts with "auth0|" is kept as it is
 *    (an export's id); any other value gets "auth0|" in front, as on
 *    create; absent: "auth0|" + ctx->new_id;
 *  - created_at, updated_at: kept from the record, which must give them in
 *    the API's form "YYYY-MM-DDTHH:MM:SS.mmmZ"; absent: ctx->now_ms
 *    (updated_at absent and created_at given: created_at);
 *  - a record that gives created_at is a stored user coming back: name and
 *    nickname are not defaulted from the email;
 *  - identities: accepted (an array) and rebuilt from connection and
 *    user_id; nothing else of it is kept;
 *  - password_hash (a crypt(3) string, such as bcrypt's "$2b$10$...") or
 *    custom_password_hash (an object, kept opaque): when pwhash is not
 *    NULL, *pwhash gets the hash text (the string, or the object's compact
 *    JSON), borrowed from rec, or NULL when the record has none.
 * Success: *out is a new owned object.  Errors: MK_ERR_INVALID (messages as
 * model_user_new, plus bad timestamps, identities and hashes), MK_ERR_NOMEM.
 * (Additive: used by metakeepctl import through svc_user_import.)
 */
enum mk_code model_user_import(struct json_object *rec, const struct model_ctx *ctx,
    struct json_object **out, const char **pwhash, struct mk_err *err);

#endif

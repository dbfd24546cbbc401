/*
 * meta: the metadata rules of the spec (section 4 and the client_metadata
 * rules of section 5), as pure functions: no I/O, no HTTP, no globals, so they
 * are table-tested from tests/data/merge and fuzzed.
 *
 * Error messages are the client-visible text (err->msg) for a 400
 * invalid_body; they start "Payload validation error: " except for the
 * dotted/dollar field messages, which are Auth0's own sentences.
 */
#ifndef MK_META_H
#define MK_META_H

#include <json-c/json.h>

#include "err.h"

/* Which metadata attribute a rule applies to; names the attribute in messages. */
enum meta_kind {
	META_USER,   /* user_metadata */
	META_APP,    /* app_metadata */
	META_CLIENT, /* client_metadata */
};

#define META_DEFAULT_MAX_DEPTH 32

/* The attribute name of a kind: "user_metadata", "app_metadata", "client_metadata". */
const char *meta_attr(enum meta_kind kind);

/*
 * The PATCH merge of one metadata attribute (spec 4, rules 2, 3, 4, 6):
 * stored is the current value (borrowed; NULL when the attribute is absent),
 * patch the value from the body (borrowed; a json-c NULL pointer means JSON
 * null).  On success *out is a new owned object with the merged result, or
 * NULL when the patch is {} (the attribute is to be removed).  stored and
 * patch are not modified; the result shares no structure with either.
 * Errors: MK_ERR_INVALID when patch is not an object (a string, array,
 * number or null); MK_ERR_NOMEM; MK_ERR_INTERNAL when stored is not an
 * object (a damaged record).  Validation is separate: meta_validate.
 */
enum mk_code meta_merge(enum meta_kind kind, struct json_object *stored,
    struct json_object *patch, struct json_object **out, struct mk_err *err);

/*
 * meta_merge, but the result holds the root values of stored and patch by
 * reference (json-c's counts: any of the three may be freed first) instead
 * of deep copies: the same merged value, for the PATCH path, whose inputs
 * and result are only read afterwards.  Neither input nor the result may be
 * changed in place while another is in use.
 */
enum mk_code meta_merge_shared(enum meta_kind kind, struct json_object *stored,
    struct json_object *patch, struct json_object **out, struct mk_err *err);

/*
 * Validate a whole metadata value (the merged result, or a POST value):
 *  - it is an object;
 *  - META_USER / META_APP: keys at every depth are 1..255 bytes, no '.' and
 *    no '$'; nesting at most max_depth levels (the metadata object itself is
 *    level 1; max_depth < 1 means META_DEFAULT_MAX_DEPTH); META_APP: no
 *    reserved root key (spec list);
 *  - META_CLIENT: at most 10 keys, keys 1..255 chars of the allowed set,
 *    values strings of at most 255 chars.
 * Returns MK_OK or MK_ERR_INVALID with the message.
 */
enum mk_code meta_validate(enum meta_kind kind, struct json_object *md,
    int max_depth, struct mk_err *err);

#endif

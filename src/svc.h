/*
 * svc: the write operations of the service, one function per verb, each one
 * store_write transaction: read the stored record, apply the model's rules
 * (merge, validate), check uniqueness, write the record and its indexes.
 * Handlers never hold a write transaction; everything a change needs is
 * passed in as a value, so a change is atomic whatever the workers do.
 *
 * Reads are not here: the api layer reads records straight from a store read
 * transaction, since the stored bytes are the response.
 */
#ifndef MK_SVC_H
#define MK_SVC_H

#include <json-c/json.h>

#include "api.h"
#include "buf.h"
#include "err.h"
#include "store.h"

/*
 * Create a user from a parsed POST body (borrowed; svc removes "password"
 * from it after hashing it).  On success out holds the stored JSON text.
 * Errors: MK_ERR_INVALID, MK_ERR_EXISTS ("The user already exists."),
 * MK_ERR_FULL, MK_ERR_INTERNAL, MK_ERR_NOMEM.
 */
enum mk_code svc_user_create(struct store *s, const struct api_conf *c,
    struct json_object *body, struct mk_buf *out, struct mk_err *err);

/*
 * Apply a PATCH body (borrowed, "password" removed as above) to user id.
 * Errors as svc_user_create, plus MK_ERR_NOTFOUND ("The user does not exist.").
 */
enum mk_code svc_user_patch(struct store *s, const struct api_conf *c, const char *id,
    struct json_object *body, struct mk_buf *out, struct mk_err *err);

/* Delete user id; MK_OK also when it was already gone. */
enum mk_code svc_user_delete(struct store *s, const char *id, struct mk_err *err);

/* The same for clients. */
enum mk_code svc_client_create(struct store *s, const struct api_conf *c,
    struct json_object *body, struct mk_buf *out, struct mk_err *err);
enum mk_code svc_client_patch(struct store *s, const struct api_conf *c, const char *id,
    struct json_object *body, struct mk_buf *out, struct mk_err *err);
enum mk_code svc_client_delete(struct store *s, const char *id, struct mk_err *err);

#endif

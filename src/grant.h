/*
 * grant: client grants (Auth0's /api/v2/client-grants), which scopes a
 * client may get in an access token for an audience (oauth.h).  One record
 * per (client, audience) in the store's "grants" table:
 *   {"id":"cgr_<16 hex>","client_id":"...","audience":"...","scope":[...]}
 * The id is derived from the pair (grant_id), so the grant of a client for
 * an audience is one lookup, and a second grant for the same pair is the
 * same key (MK_ERR_EXISTS).  Scopes are kept by name, as auth does.
 */
#ifndef MK_GRANT_H
#define MK_GRANT_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "store.h"

#define GRANT_ID_LEN 20            /* "cgr_" + 16 hex */
#define GRANT_AUDIENCE_MAX 256     /* bytes of an audience */

/* The id of the grant of client_id for audience, in out (GRANT_ID_LEN + 1). */
void grant_id(const char *client_id, const char *audience, char *out);

/*
 * Create the grant (client_id, audience, scopes) and append its record to
 * out.  Errors: MK_ERR_NOTFOUND (no such client), MK_ERR_EXISTS (the pair
 * has a grant), MK_ERR_INVALID (empty or too long client_id or audience;
 * err->msg says which), those of store_write.  Six parameters: the three
 * fields of a grant, with the store, the answer and the error every write
 * takes.
 */
enum mk_code grant_create(struct store *s, const char *client_id, const char *audience,
    uint32_t scopes, struct mk_buf *out, struct mk_err *err);

/* Replace the scopes of grant id; its record goes to out.  MK_ERR_NOTFOUND. */
enum mk_code grant_update(struct store *s, const char *id, uint32_t scopes,
    struct mk_buf *out, struct mk_err *err);

/* Delete grant id.  MK_ERR_NOTFOUND. */
enum mk_code grant_delete(struct store *s, const char *id, struct mk_err *err);

/*
 * Inside a write transaction: delete every grant of client_id (svc's
 * client delete).  *n (may be NULL) gets how many.  Errors: those of
 * store_del, MK_ERR_NOMEM.
 */
enum mk_code grant_delete_client(struct store_txn *t, const char *client_id, size_t *n);

/*
 * The scopes granted to client_id for audience, from its stored record
 * rec (borrowed; pass what store_get of grant_id returned).  0 or -1 when
 * the record is damaged.
 */
int grant_rec_scopes(struct mk_slice rec, uint32_t *scopes);

/*
 * Read one grant record's members for a listing filter: client_id and
 * audience copied into the caller's buffers (cap bytes each).  0, or -1.
 */
int grant_rec_keys(struct mk_slice rec, char *client_id, char *audience, size_t cap);

#endif

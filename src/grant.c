/*
 * grant: client grants in the store (see grant.h).  Records are written
 * here only, and read back with jx_parse_stored.
 */
#include "grant.h"

#include <string.h>

#include <json-c/json.h>

#include "auth.h"
#include "jx.h"
#include "log.h"
#include "util.h"

#define GRANT_REC_MAX 8192

void
grant_id(const char *client_id, const char *audience, char *out)
{
	struct mk_buf b = { 0 };
	char hex[65];

	/* client_id, a NUL, audience: no two pairs hash the same text. */
	buf_adds(&b, client_id);
	buf_addc(&b, '\0');
	buf_adds(&b, audience);
	mk_sha256_hex(b.p != NULL ? b.p : "", b.n, hex);
	buf_free(&b);
	memcpy(out, "cgr_", 4);
	memcpy(out + 4, hex, GRANT_ID_LEN - 4);
	out[GRANT_ID_LEN] = '\0';
}

/* The record of a grant, appended to out.  0, or -1 (memory). */
static int
grant_build(const char *id, const char *client_id, const char *audience, uint32_t scopes,
    struct mk_buf *out)
{
	struct json_object *o, *a;
	const char *name;
	uint32_t bit;
	int rc = -1;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	if ((a = json_object_new_array()) == NULL)
		goto out;
	for (bit = 1; bit != 0 && bit <= SC_ALL; bit <<= 1)
		if ((scopes & bit) && (name = auth_scope_name(bit)) != NULL)
			json_object_array_add(a, json_object_new_string(name));
	if (json_object_object_add(o, "id", json_object_new_string(id)) != 0 ||
	    json_object_object_add(o, "client_id", json_object_new_string(client_id)) != 0 ||
	    json_object_object_add(o, "audience", json_object_new_string(audience)) != 0 ||
	    json_object_object_add(o, "scope", a) != 0)
		goto out;
	rc = jx_append(out, o);
out:
	json_object_put(o);
	return rc;
}

int
grant_rec_scopes(struct mk_slice rec, uint32_t *scopes)
{
	struct json_object *o = NULL, *a, *e;
	uint32_t mask = 0;
	size_t i, n;

	if (rec.n > GRANT_REC_MAX || jx_parse_stored(rec.p, rec.n, &o) != MK_OK || o == NULL)
		return -1;
	if (!json_object_object_get_ex(o, "scope", &a) || !json_object_is_type(a, json_type_array)) {
		json_object_put(o);
		return -1;
	}
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		if (json_object_is_type(e, json_type_string))
			mask |= auth_scope_bit(json_object_get_string(e),
			    (size_t)json_object_get_string_len(e));
	}
	json_object_put(o);
	*scopes = mask;
	return 0;
}

int
grant_rec_keys(struct mk_slice rec, char *client_id, char *audience, size_t cap)
{
	struct json_object *o = NULL;
	const char *c, *a;
	int rc = -1;

	if (rec.n > GRANT_REC_MAX || jx_parse_stored(rec.p, rec.n, &o) != MK_OK || o == NULL)
		return -1;
	if ((c = jx_get_str(o, "client_id")) != NULL && (a = jx_get_str(o, "audience")) != NULL &&
	    strlen(c) < cap && strlen(a) < cap) {
		memcpy(client_id, c, strlen(c) + 1);
		memcpy(audience, a, strlen(a) + 1);
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

/* ---- writes ---- */

struct grant_op {
	const char *id;
	const char *client_id, *audience;  /* create */
	uint32_t scopes;
	struct mk_buf *out;
};

static struct mk_slice
slice_of(const char *s)
{
	struct mk_slice sl = { s, strlen(s) };

	return sl;
}

/*
 * Write grant op->id of client_id and audience (borrowed) with op->scopes
 * and append its record to op->out: the last step of create and update.
 * Errors: MK_ERR_NOMEM, those of store_put.
 */
static enum mk_code
grant_put(struct store_txn *t, const struct grant_op *op, const char *client_id,
    const char *audience, struct mk_err *err)
{
	struct mk_buf b = { 0 };
	enum mk_code rc;

	if (grant_build(op->id, client_id, audience, op->scopes, &b) != 0)
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
	else if ((rc = store_put(t, ST_GRANTS, slice_of(op->id),
	    (struct mk_slice){ b.p, b.n })) != MK_OK)
		mk_fail(err, rc, "storing the grant failed");
	else
		buf_add(op->out, b.p, b.n);
	buf_free(&b);
	return rc;
}

static enum mk_code
create_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct grant_op *op = vop;
	struct mk_slice rec;
	enum mk_code rc;

	rc = store_get(t, ST_CLIENTS, slice_of(op->client_id), &rec);
	if (rc == MK_ERR_NOTFOUND)
		return mk_fail(err, rc, "The client does not exist.");
	if (rc != MK_OK)
		return mk_fail(err, rc, "client lookup failed");
	rc = store_get(t, ST_GRANTS, slice_of(op->id), &rec);
	if (rc == MK_OK)
		return mk_fail(err, MK_ERR_EXISTS, "Client grant already exists");
	if (rc != MK_ERR_NOTFOUND)
		return mk_fail(err, rc, "grant lookup failed");
	return grant_put(t, op, op->client_id, op->audience, err);
}

enum mk_code
grant_create(struct store *s, const char *client_id, const char *audience, uint32_t scopes,
    struct mk_buf *out, struct mk_err *err)
{
	struct grant_op op;
	char id[GRANT_ID_LEN + 1];

	if (client_id[0] == '\0' || strlen(client_id) >= AUTH_CLIENT_MAX)
		return mk_fail(err, MK_ERR_INVALID, "Payload validation error: 'String is too "
		    "long or empty' on property client_id.");
	if (audience[0] == '\0' || strlen(audience) >= GRANT_AUDIENCE_MAX)
		return mk_fail(err, MK_ERR_INVALID, "Payload validation error: 'String is too "
		    "long or empty' on property audience.");
	grant_id(client_id, audience, id);
	memset(&op, 0, sizeof(op));
	op.id = id;
	op.client_id = client_id;
	op.audience = audience;
	op.scopes = scopes;
	op.out = out;
	return store_write(s, create_tx, &op, err);
}

static enum mk_code
update_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct grant_op *op = vop;
	struct mk_slice rec;
	char client_id[GRANT_AUDIENCE_MAX + AUTH_CLIENT_MAX], audience[sizeof(client_id)];
	enum mk_code rc;

	rc = store_get(t, ST_GRANTS, slice_of(op->id), &rec);
	if (rc == MK_ERR_NOTFOUND)
		return mk_fail(err, rc, "The client grant does not exist.");
	if (rc != MK_OK)
		return mk_fail(err, rc, "grant lookup failed");
	if (grant_rec_keys(rec, client_id, audience, sizeof(client_id)) != 0)
		return mk_fail(err, MK_ERR_INTERNAL, "grant %s: damaged record", op->id);
	return grant_put(t, op, client_id, audience, err);
}

enum mk_code
grant_update(struct store *s, const char *id, uint32_t scopes, struct mk_buf *out,
    struct mk_err *err)
{
	struct grant_op op;

	memset(&op, 0, sizeof(op));
	op.id = id;
	op.scopes = scopes;
	op.out = out;
	return store_write(s, update_tx, &op, err);
}

static enum mk_code
delete_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct grant_op *op = vop;
	enum mk_code rc;

	rc = store_del(t, ST_GRANTS, slice_of(op->id));
	if (rc == MK_ERR_NOTFOUND)
		return mk_fail(err, rc, "The client grant does not exist.");
	if (rc != MK_OK)
		return mk_fail(err, rc, "deleting the grant failed");
	return MK_OK;
}

enum mk_code
grant_delete(struct store *s, const char *id, struct mk_err *err)
{
	struct grant_op op;

	memset(&op, 0, sizeof(op));
	op.id = id;
	return store_write(s, delete_tx, &op, err);
}

struct of_client {
	const char *client_id;
	struct mk_buf ids;       /* GRANT_ID_LEN bytes each */
};

static int
of_client_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct of_client *oc = ctx;
	char c[GRANT_AUDIENCE_MAX + AUTH_CLIENT_MAX], a[sizeof(c)];

	if (key.n != GRANT_ID_LEN || grant_rec_keys(rec, c, a, sizeof(c)) != 0)
		return 0;
	if (strcmp(c, oc->client_id) == 0)
		buf_add(&oc->ids, key.p, key.n);
	return 0;
}

enum mk_code
grant_delete_client(struct store_txn *t, const char *client_id, size_t *n)
{
	struct of_client oc = { client_id, { 0 } };
	struct mk_slice key;
	size_t i, done = 0;
	enum mk_code rc;

	/* Collected first: no delete under the scan's cursor. */
	if ((rc = store_table_scan(t, ST_GRANTS, of_client_visit, &oc)) != MK_OK)
		goto out;
	if (oc.ids.failed) {
		rc = MK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i + GRANT_ID_LEN <= oc.ids.n; i += GRANT_ID_LEN) {
		key.p = oc.ids.p + i;
		key.n = GRANT_ID_LEN;
		if ((rc = store_del(t, ST_GRANTS, key)) != MK_OK)
			goto out;
		done++;
	}
	if (n != NULL)
		*n = done;
	rc = MK_OK;
out:
	buf_free(&oc.ids);
	return rc;
}

/*
 * svc: write operations as single store transactions (see svc.h).
 *
 * Each verb fills a small context, then store_write runs the matching *_tx
 * function inside one LMDB write transaction.  Everything that may be slow
 * and needs no store (password hashing, random ids) happens before, so the
 * write lock is held only for read-merge-validate-write.
 */
#include "config.h"   /* _GNU_SOURCE: memmem */

#include "svc.h"

#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc.h"
#include "grant.h"
#include "jx.h"
#include "log.h"
#include "logev.h"
#include "meta.h"
#include "model.h"
#include "sindex.h"
#include "util.h"

#define PASSWORD_MAX 1024

struct svc_op {
	const struct svc_limits *limits;
	const char *id;                /* patch/delete: the target */
	const struct svc_precond *pre; /* patch/delete: precondition, or NULL */
	struct json_object *body;      /* create/patch: borrowed */
	const char *pwhash;            /* create/patch: hash to store, or NULL */
	struct model_ctx mctx;
	struct mk_buf *out;            /* the record as written */
	const char *ev;                /* the event's template (svc_log_next), or NULL */
	size_t ev_n;
};

/* The template svc_log_next set for the next write of this process. */
static const char *svc_ev;
static size_t svc_ev_n;

void
svc_log_next(const char *tmpl, size_t n)
{
	svc_ev = tmpl;
	svc_ev_n = tmpl != NULL ? n : 0;
}

/*
 * The write's event, when it has a template: in its transaction t.  Six
 * parameters: the write (t, op) and what it did (about user_id, answered
 * status, from old to new), each a plain value at its eight callers; a
 * struct would only move them into their locals.
 */
static enum mk_code
op_event(struct store_txn *t, const struct svc_op *op, const char *user_id, int status,
    struct json_object *old, struct json_object *new)
{
	struct logev_event ev;

	if (op->ev == NULL)
		return MK_OK;
	ev.tmpl.p = op->ev;
	ev.tmpl.n = op->ev_n;
	ev.now_ms = op->mctx.now_ms;
	ev.user_id = user_id;
	ev.status = status;
	return logev_put_success(t, &ev, old, new);
}

/* The write of each verb, inside one store transaction (vop: a svc_op). */
static enum mk_code user_create_tx(struct store_txn *t, void *vop, struct mk_err *err);
static enum mk_code user_patch_tx(struct store_txn *t, void *vop, struct mk_err *err);
static enum mk_code user_delete_tx(struct store_txn *t, void *vop, struct mk_err *err);
static enum mk_code client_create_tx(struct store_txn *t, void *vop, struct mk_err *err);
static enum mk_code client_patch_tx(struct store_txn *t, void *vop, struct mk_err *err);
static enum mk_code client_delete_tx(struct store_txn *t, void *vop, struct mk_err *err);

static void
op_init(struct svc_op *op, const struct svc_limits *l, const char *id,
    struct json_object *body, struct mk_buf *out)
{
	memset(op, 0, sizeof(*op));
	op->limits = l;
	op->id = id;
	op->body = body;
	op->out = out;
	op->mctx.connections = l ? l->connections : NULL;
	op->mctx.max_depth = l ? l->max_depth : META_DEFAULT_MAX_DEPTH;
}

void
svc_limits_defaults(struct svc_limits *l)
{
	l->max_user_bytes = 1024 * 1024;
	l->max_depth = META_DEFAULT_MAX_DEPTH;
	l->connections = NULL;
}

/*
 * Take "password" out of body and hash it.  *hash is NULL when the body has
 * none; otherwise an owned string.  The cleartext never leaves this function.
 */
static enum mk_code
take_password(struct json_object *body, char **hash, struct mk_err *err)
{
	struct json_object *pw;
	struct crypt_data *cd = NULL;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *s, *h;
	size_t len;
	enum mk_code rc;

	*hash = NULL;
	if (!json_object_is_type(body, json_type_object) ||
	    !json_object_object_get_ex(body, "password", &pw))
		return MK_OK;
	if (!json_object_is_type(pw, json_type_string))
		return mk_fail(err, MK_ERR_INVALID, "Payload validation error: 'Expected type "
		    "string but found type %s' on property password.",
		    json_type_to_name(json_object_get_type(pw)));
	s = json_object_get_string(pw);
	len = (size_t)json_object_get_string_len(pw);
	if (len == 0 || len > PASSWORD_MAX || strlen(s) != len)
		return mk_fail(err, MK_ERR_INVALID, "Payload validation error: 'String is not "
		    "a valid password (1..%d bytes, no NUL)' on property password.", PASSWORD_MAX);
	if (crypt_gensalt_rn(NULL, 0, NULL, 0, setting, sizeof(setting)) == NULL) {
		log_warn("crypt_gensalt_rn");
		return mk_fail(err, MK_ERR_INTERNAL, "password hashing failed");
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	h = crypt_rn(s, setting, cd, (int)sizeof(*cd));
	if (h == NULL || h[0] == '*') {
		log_warn("crypt_rn");
		rc = mk_fail(err, MK_ERR_INTERNAL, "password hashing failed");
		goto out;
	}
	if ((*hash = strdup(h)) == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	json_object_object_del(body, "password");
	rc = MK_OK;
out:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

static struct mk_slice
slice_str(const char *s)
{
	struct mk_slice sl = { s, strlen(s) };
	return sl;
}

static void
user_store_keys(struct json_object *user, struct store_user_keys *sk)
{
	struct model_user_keys mk;

	model_user_keys(user, &mk);
	sk->user_id = mk.user_id;
	sk->email = mk.email;
	sk->connection = mk.connection;
	sk->created_at = mk.created_at;
	sk->updated_at = mk.updated_at;
}

/* The password hash the verb took before the write (op->pwhash), if any. */
static enum mk_code
put_pwhash(struct store_txn *t, const struct svc_op *op, const char *user_id)
{
	if (op->pwhash == NULL)
		return MK_OK;
	return store_put(t, ST_PWHASH, slice_str(user_id), slice_str(op->pwhash));
}

/* Enforce the size limit on a new record's text, write it to op->out. */
static enum mk_code
record_out(struct svc_op *op, struct mk_slice text, struct mk_err *err)
{
	size_t max = op->limits ? op->limits->max_user_bytes : 0;

	if (max > 0 && text.n > max)
		return mk_fail(err, MK_ERR_INVALID, "Payload validation error: 'The object "
		    "would be %zu bytes, over the limit of %zu bytes'.", text.n, max);
	buf_reset(op->out);
	if (buf_add(op->out, text.p, text.n) == -1)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	return MK_OK;
}

/*
 * Serialize a new record, enforce the size limit, write it to op->out.
 * Returns the text through *text (borrowed from obj).
 */
static enum mk_code
record_text(struct svc_op *op, struct json_object *obj, struct mk_slice *text,
    struct mk_err *err)
{
	text->p = jx_text(obj, &text->n);
	if (text->p == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	return record_out(op, *text, err);
}

/*
 * A client's secret stays out of its version (issue 12, finding 3): an
 * ETag that covered it would let a token that cannot see the secret test
 * guesses of it offline.  Its version is the hash of the record without
 * client_secret; updated_at still changes it when the secret alone is
 * rotated.  Other records (users) are hashed as stored, with no parsing.
 */
void
svc_version(const void *rec, size_t n, char out[SVC_VERSION_SIZE])
{
	struct json_object *o = NULL;
	const char *text = rec;
	size_t len = n;
	char hex[65];

	if (memmem(rec, n, "\"client_secret\"", 15) != NULL) {
		if (jx_parse_stored(rec, n, &o) == MK_OK &&
		    json_object_is_type(o, json_type_object)) {
			json_object_object_del(o, "client_secret");
			text = jx_text(o, &len);
		} else
			text = NULL;
		if (text == NULL) {
			/* unreadable, or no memory: a version that says nothing */
			json_object_put(o);
			memset(out, '0', SVC_VERSION_LEN);
			out[SVC_VERSION_LEN] = '\0';
			return;
		}
	}
	mk_sha256_hex(text, len, hex);
	json_object_put(o);
	memcpy(out, hex, SVC_VERSION_LEN);
	out[SVC_VERSION_LEN] = '\0';
}

/* The precondition against the stored bytes, in the transaction. */
static enum mk_code
check_precond(const struct svc_op *op, struct mk_slice rec, struct mk_err *err)
{
	char v[SVC_VERSION_SIZE];
	size_t i;

	if (op->pre == NULL || op->pre->any)
		return MK_OK;
	svc_version(rec.p, rec.n, v);
	for (i = 0; i < op->pre->n; i++)
		if (op->pre->versions[i].n == SVC_VERSION_LEN &&
		    memcmp(op->pre->versions[i].p, v, SVC_VERSION_LEN) == 0)
			return MK_OK;
	return mk_fail(err, MK_ERR_PRECOND, "The resource has been modified.");
}

static enum mk_code
parse_stored(struct mk_slice rec, struct json_object **out, struct mk_err *err)
{
	if (jx_parse_stored(rec.p, rec.n, out) != MK_OK) {
		log_warnx("a stored record does not parse");
		return mk_fail(err, MK_ERR_INTERNAL, "stored record unreadable");
	}
	return MK_OK;
}

/*
 * store_user_put with the client's message for the one way it refuses a
 * good record (issue 12, finding 4): the index keys (email and user_id
 * together, the longest) must fit LMDB's key size.  The store checks every
 * key before it writes anything, so a refusal changes nothing.
 */
static enum mk_code
put_user(struct store_txn *t, const struct store_user_keys *old,
    const struct store_user_keys *new, struct mk_slice text, struct mk_err *err)
{
	enum mk_code rc = store_user_put(t, old, new, text);

	if (rc == MK_ERR_EXISTS)
		return mk_fail(err, rc, "The user already exists.");
	if (rc == MK_ERR_INVALID)
		return mk_fail(err, rc, "Payload validation error: 'email (%zu bytes) and "
		    "user_id (%zu bytes) are too long together to be indexed; shorten "
		    "one of them'.", new->email != NULL ? strlen(new->email) : 0,
		    strlen(new->user_id));
	return rc;
}

static enum mk_code
user_create_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct svc_op *op = vop;
	struct json_object *user = NULL;
	struct store_user_keys keys;
	struct mk_slice text;
	enum mk_code rc;
	int taken = 0;

	if ((rc = model_user_new(op->body, &op->mctx, &user, err)) != MK_OK)
		return rc;
	user_store_keys(user, &keys);
	if ((rc = record_text(op, user, &text, err)) != MK_OK)
		goto out;
	if (keys.email != NULL &&
	    (rc = store_user_email_taken(t, keys.email, keys.connection, NULL, &taken)) != MK_OK)
		goto out;
	if (taken) {
		rc = mk_fail(err, MK_ERR_EXISTS, "The user already exists.");
		goto out;
	}
	if ((rc = put_user(t, NULL, &keys, text, err)) != MK_OK ||
	    (rc = sindex_user_update(t, NULL, user)) != MK_OK ||
	    (rc = put_pwhash(t, op, keys.user_id)) != MK_OK)
		goto out;
	rc = op_event(t, op, keys.user_id, 201, NULL, user);
out:
	json_object_put(user);
	return rc;
}

/* A new email (or connection) must not be another user's in its connection. */
static enum mk_code
email_free(struct store_txn *t, const struct store_user_keys *okeys,
    const struct store_user_keys *nkeys, struct mk_err *err)
{
	enum mk_code rc;
	int taken = 0;

	if (nkeys->email == NULL || (okeys->email != NULL &&
	    strcmp(okeys->email, nkeys->email) == 0 &&
	    strcmp(okeys->connection, nkeys->connection) == 0))
		return MK_OK;
	rc = store_user_email_taken(t, nkeys->email, nkeys->connection, nkeys->user_id, &taken);
	if (rc == MK_OK && taken)
		rc = mk_fail(err, MK_ERR_EXISTS, "The user already exists.");
	return rc;
}

int svc_patch_whole;   /* svc.h */

/*
 * A PATCH the whole way: the stored record parsed, model_user_patch, the
 * new record serialized.  For records jx_members does not read.
 */
static enum mk_code
user_patch_whole(struct store_txn *t, struct svc_op *op, struct mk_slice rec,
    struct mk_err *err)
{
	struct json_object *old = NULL, *user = NULL;
	struct store_user_keys okeys, nkeys;
	struct mk_slice text;
	enum mk_code rc;

	if ((rc = parse_stored(rec, &old, err)) != MK_OK)
		return rc;
	if ((rc = model_user_patch(old, op->body, &op->mctx, &user, err)) != MK_OK)
		goto out;
	user_store_keys(old, &okeys);
	user_store_keys(user, &nkeys);
	if ((rc = record_text(op, user, &text, err)) != MK_OK ||
	    (rc = email_free(t, &okeys, &nkeys, err)) != MK_OK ||
	    (rc = put_user(t, &okeys, &nkeys, text, err)) != MK_OK ||
	    (rc = sindex_user_update(t, old, user)) != MK_OK ||
	    (rc = put_pwhash(t, op, nkeys.user_id)) != MK_OK)
		goto out;
	rc = op_event(t, op, nkeys.user_id, 200, old, user);
out:
	json_object_put(old);
	json_object_put(user);
	return rc;
}

/*
 * A PATCH parses only the stored members it reads or changes and copies the
 * others' bytes (model_user_patch_text): the same record, response, index
 * entries and event as the whole way, for less work.  The index is changed
 * before the record, while the stored bytes (rec) are still readable: the
 * rare whole-user index diff parses them.
 */
static enum mk_code
user_patch_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct svc_op *op = vop;
	struct model_patch mp;
	struct store_user_keys okeys, nkeys;
	struct mk_slice rec, text;
	enum mk_code rc;

	rc = store_get(t, ST_USERS, slice_str(op->id), &rec);
	if (rc == MK_ERR_NOTFOUND)
		return mk_fail(err, rc, "The user does not exist.");
	if (rc != MK_OK)
		return rc;
	if ((rc = check_precond(op, rec, err)) != MK_OK)
		return rc;
	if (svc_patch_whole)
		return user_patch_whole(t, op, rec, err);
	if ((rc = model_user_patch_text(rec, op->body, &op->mctx, &mp, err)) != MK_OK)
		return rc;
	if (mp.whole) {
		model_patch_free(&mp);
		return user_patch_whole(t, op, rec, err);
	}
	user_store_keys(mp.old, &okeys);
	user_store_keys(mp.new, &nkeys);
	text.p = mp.text.p;
	text.n = mp.text.n;
	if ((rc = record_out(op, text, err)) != MK_OK ||
	    (rc = email_free(t, &okeys, &nkeys, err)) != MK_OK ||
	    (rc = sindex_user_patch(t, mp.old, mp.new, rec, text)) != MK_OK ||
	    (rc = put_user(t, &okeys, &nkeys, text, err)) != MK_OK ||
	    (rc = put_pwhash(t, op, nkeys.user_id)) != MK_OK)
		goto out;
	rc = op_event(t, op, nkeys.user_id, 200, mp.old, mp.new);
out:
	model_patch_free(&mp);
	return rc;
}

static enum mk_code
user_delete_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct svc_op *op = vop;
	struct json_object *old = NULL;
	struct store_user_keys keys;
	struct mk_slice rec;
	enum mk_code rc;

	rc = store_get(t, ST_USERS, slice_str(op->id), &rec);
	/* Auth0 answers 204 for a user already gone; an If-Match cannot hold. */
	if (rc == MK_ERR_NOTFOUND && op->pre != NULL)
		return mk_fail(err, MK_ERR_PRECOND, "The user does not exist.");
	if (rc == MK_ERR_NOTFOUND)
		return op_event(t, op, op->id, 204, NULL, NULL);
	if (rc != MK_OK)
		return rc;
	if ((rc = check_precond(op, rec, err)) != MK_OK ||
	    (rc = parse_stored(rec, &old, err)) != MK_OK)
		return rc;
	user_store_keys(old, &keys);
	/* The index first: it finds the user's postings by the user's number. */
	if ((rc = sindex_user_update(t, old, NULL)) == MK_OK &&
	    (rc = store_user_del(t, &keys)) == MK_OK)
		rc = op_event(t, op, keys.user_id, 204, old, NULL);
	json_object_put(old);
	return rc;
}

/*
 * ---- One write as a value, for group commit ----
 *
 * With a group (svc_group_commit), a verb's write goes to gc as bytes: the
 * verb, the target id, the precondition's versions, the body as compact
 * JSON, the password hash, and what the owner chose before (time, new ids).
 * Whichever worker leads the batch turns them back into a svc_op and runs
 * the same *_tx function, with its own limits (every worker has the same).
 */
enum svc_verb {
	SVC_USER_CREATE,
	SVC_USER_PATCH,
	SVC_USER_DELETE,
	SVC_CLIENT_CREATE,
	SVC_CLIENT_PATCH,
	SVC_CLIENT_DELETE,
	SVC__VERBS
};

static const store_write_fn verb_tx[SVC__VERBS] = {
	[SVC_USER_CREATE] = user_create_tx,
	[SVC_USER_PATCH] = user_patch_tx,
	[SVC_USER_DELETE] = user_delete_tx,
	[SVC_CLIENT_CREATE] = client_create_tx,
	[SVC_CLIENT_PATCH] = client_patch_tx,
	[SVC_CLIENT_DELETE] = client_delete_tx,
};

struct svc_wire {
	uint64_t seq;                      /* the owner's (pid, seq): svc_own */
	int64_t pid;
	uint32_t verb;
	uint32_t has_pre, pre_any, npre;   /* npre versions of SVC_VERSION_LEN bytes */
	int64_t now_ms;
	uint32_t id_n, body_n, pw_n, has_body, ev_n;
	char new_id[33];
	char new_secret[65];
};

/* The group this process writes through (a worker's), or NULL. */
static struct gc *svc_gc;

/*
 * The write this process has posted to the group, while gc_write runs: a
 * leader applying its own write uses the op itself instead of parsing the
 * body again from the wire (svc_apply).  Only a user create, whose body
 * the transaction only reads (model_user_new copies what it keeps), so a
 * run again alone (gc's "alone") sees it unchanged.  The wire says whose
 * write it is: this process's id and a number it counts up.
 */
static struct {
	const struct svc_op *op;
	int64_t pid;
	uint64_t seq;
} svc_own;

unsigned long svc_own_applied;   /* svc.h */

/* Append a string of n bytes; its length is in the header. */
static void
wire_str(struct mk_buf *b, const char *p, size_t n, uint32_t *len)
{
	*len = (uint32_t)n;
	if (n > 0)
		buf_add(b, p, n);
}

static enum mk_code
wire_encode(enum svc_verb v, const struct svc_op *op, struct mk_buf *b, struct mk_err *err)
{
	struct svc_wire w;
	const char *body = NULL;
	size_t i, body_n = 0;

	memset(&w, 0, sizeof(w));
	w.seq = svc_own.seq;
	w.pid = svc_own.pid;
	w.verb = (uint32_t)v;
	w.now_ms = op->mctx.now_ms;
	if (op->mctx.new_id != NULL)
		snprintf(w.new_id, sizeof(w.new_id), "%s", op->mctx.new_id);
	if (op->mctx.new_secret != NULL)
		snprintf(w.new_secret, sizeof(w.new_secret), "%s", op->mctx.new_secret);
	if (op->pre != NULL) {
		w.has_pre = 1;
		w.pre_any = (uint32_t)op->pre->any;
		/* Only versions of the right length can ever match. */
		for (i = 0; i < op->pre->n; i++)
			if (op->pre->versions[i].n == SVC_VERSION_LEN)
				w.npre++;
	}
	if (op->body != NULL) {
		w.has_body = 1;
		body = jx_text(op->body, &body_n);
		if (body == NULL)
			return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	}
	buf_reset(b);
	buf_add(b, &w, sizeof(w));
	wire_str(b, op->id, op->id ? strlen(op->id) : 0, &w.id_n);
	wire_str(b, body, body_n, &w.body_n);
	wire_str(b, op->pwhash, op->pwhash ? strlen(op->pwhash) : 0, &w.pw_n);
	wire_str(b, op->ev, op->ev != NULL ? op->ev_n : 0, &w.ev_n);
	for (i = 0; op->pre != NULL && i < op->pre->n; i++)
		if (op->pre->versions[i].n == SVC_VERSION_LEN)
			buf_add(b, op->pre->versions[i].p, SVC_VERSION_LEN);
	if (b->failed)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	memcpy(b->p, &w, sizeof(w));   /* with the lengths filled in */
	return MK_OK;
}

/* A copy of n bytes at p as a C string; NULL when n is 0 and none was sent. */
static char *
wire_dup(const char *p, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/*
 * gc_apply_fn: one posted write, in the leader's transaction.  ctx is the
 * leader's svc_limits.  The owner encoded it; the bytes are trusted.  Six
 * parameters, gc_apply_fn's: req and n are one byte range.
 */
static enum mk_code
svc_apply(struct store_txn *t, void *ctx, const void *req, size_t n,
    struct mk_buf *out, struct mk_err *err)
{
	struct svc_wire w;
	struct svc_op op;
	struct svc_precond pre;
	struct mk_slice *vers = NULL;
	struct json_object *body = NULL;
	const char *p = req;
	char *id = NULL, *pw = NULL;
	size_t i, need;
	enum mk_code rc = MK_ERR_NOMEM;

	if (n < sizeof(w))
		return mk_fail(err, MK_ERR_INTERNAL, "bad group write");
	memcpy(&w, p, sizeof(w));
	need = sizeof(w) + (size_t)w.id_n + w.body_n + w.pw_n + w.ev_n +
	    (size_t)w.npre * SVC_VERSION_LEN;
	if (w.verb >= SVC__VERBS || need != n || w.new_id[32] != '\0' ||
	    w.new_secret[64] != '\0')
		return mk_fail(err, MK_ERR_INTERNAL, "bad group write");
	p += sizeof(w);
	/* Its own write: the op as the owner made it, the record to out. */
	if (svc_own.op != NULL && w.verb == SVC_USER_CREATE && w.pid == svc_own.pid &&
	    w.seq == svc_own.seq) {
		op = *svc_own.op;
		op.out = out;
		svc_own_applied++;
		return verb_tx[w.verb](t, &op, err);
	}
	op_init(&op, (const struct svc_limits *)ctx, NULL, NULL, out);
	if (w.id_n > 0 && (id = wire_dup(p, w.id_n)) == NULL)
		goto nomem;
	p += w.id_n;
	if (w.has_body && jx_parse_stored(p, w.body_n, &body) != MK_OK) {
		rc = mk_fail(err, MK_ERR_INTERNAL, "bad group write");
		goto out;
	}
	p += w.body_n;
	if (w.pw_n > 0 && (pw = wire_dup(p, w.pw_n)) == NULL)
		goto nomem;
	p += w.pw_n;
	/* the event's template: read in place, the request outlives the write */
	op.ev = w.ev_n > 0 ? p : NULL;
	op.ev_n = w.ev_n;
	p += w.ev_n;
	if (w.npre > 0 && (vers = calloc(w.npre, sizeof(*vers))) == NULL)
		goto nomem;
	for (i = 0; i < w.npre; i++) {
		vers[i].p = p + i * SVC_VERSION_LEN;
		vers[i].n = SVC_VERSION_LEN;
	}
	pre.any = (int)w.pre_any;
	pre.versions = vers;
	pre.n = w.npre;
	op.id = id;
	op.pre = w.has_pre ? &pre : NULL;
	op.body = body;
	op.pwhash = pw;
	op.mctx.now_ms = w.now_ms;
	op.mctx.new_id = w.new_id[0] ? w.new_id : NULL;
	op.mctx.new_secret = w.new_secret[0] ? w.new_secret : NULL;
	rc = verb_tx[w.verb](t, &op, err);
	goto out;
nomem:
	rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
out:
	if (pw != NULL)
		explicit_bzero(pw, strlen(pw));
	free(pw);
	free(id);
	free(vers);
	json_object_put(body);
	return rc;
}

enum mk_code
svc_group_commit(struct gc *g, struct store *s, const struct svc_limits *l)
{
	enum mk_code rc;

	svc_gc = NULL;
	if (g == NULL)
		return MK_OK;
	if ((rc = gc_attach(g, s, svc_apply, (void *)(uintptr_t)l)) != MK_OK)
		return rc;
	svc_gc = g;
	return MK_OK;
}

/*
 * The one place a verb's write goes: through the group when this process
 * has one, otherwise a store_write of its own.  op->out (may be NULL)
 * gets the record as written.
 */
static enum mk_code
svc_write(struct store *s, enum svc_verb v, struct svc_op *op, struct mk_err *err)
{
	struct mk_buf req = MK_BUF_INIT, res = MK_BUF_INIT;
	enum mk_code rc;

	op->ev = svc_ev;
	op->ev_n = svc_ev_n;
	svc_log_next(NULL, 0);
	if (svc_gc == NULL)   /* the verbs' *_tx run again as gc's do */
		return store_write_rerun(s, verb_tx[v], op, err);
	svc_own.pid = (int64_t)getpid();
	svc_own.seq++;
	svc_own.op = v == SVC_USER_CREATE ? op : NULL;
	rc = wire_encode(v, op, &req, err);
	if (rc == MK_OK)
		rc = gc_write(svc_gc, s, req.p, req.n, &res, err);
	svc_own.op = NULL;
	if (rc == MK_OK && op->out != NULL) {
		buf_reset(op->out);
		if (buf_add(op->out, res.p, res.n) == -1)
			rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
	}
	if (op->pwhash != NULL && req.p != NULL)
		explicit_bzero(req.p, req.n);
	buf_free(&req);
	buf_free(&res);
	return rc;
}

enum mk_code
svc_user_create(struct store *s, const struct svc_limits *l, struct json_object *body,
    struct mk_buf *out, struct mk_err *err)
{
	struct svc_op op;
	char id[25], *hash = NULL;
	enum mk_code rc;

	op_init(&op, l, NULL, body, out);
	if ((rc = take_password(body, &hash, err)) != MK_OK)
		return rc;
	if (mk_random_chars(id, 24, MK_ALPHA_HEX) == -1) {
		rc = mk_fail(err, MK_ERR_INTERNAL, "no randomness");
		goto out;
	}
	op.pwhash = hash;
	op.mctx.new_id = id;
	op.mctx.now_ms = mk_now_ms();
	rc = svc_write(s, SVC_USER_CREATE, &op, err);
out:
	if (hash != NULL)
		explicit_bzero(hash, strlen(hash));
	free(hash);
	return rc;
}

enum mk_code
svc_user_patch(struct store *s, const struct svc_limits *l, const char *id,
    const struct svc_precond *pre, struct json_object *body, struct mk_buf *out,
    struct mk_err *err)
{
	struct svc_op op;
	char *hash = NULL;
	enum mk_code rc;

	op_init(&op, l, id, body, out);
	op.pre = pre;
	if ((rc = take_password(body, &hash, err)) != MK_OK)
		return rc;
	op.pwhash = hash;
	op.mctx.now_ms = mk_now_ms();
	rc = svc_write(s, SVC_USER_PATCH, &op, err);
	if (hash != NULL)
		explicit_bzero(hash, strlen(hash));
	free(hash);
	return rc;
}

enum mk_code
svc_user_delete(struct store *s, const char *id, const struct svc_precond *pre,
    struct mk_err *err)
{
	struct svc_op op;

	op_init(&op, NULL, id, NULL, NULL);
	op.pre = pre;
	return svc_write(s, SVC_USER_DELETE, &op, err);
}

static enum mk_code
client_create_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct svc_op *op = vop;
	struct json_object *client = NULL;
	struct mk_slice text;
	enum mk_code rc;

	if ((rc = model_client_new(op->body, &op->mctx, &client, err)) != MK_OK)
		return rc;
	if ((rc = record_text(op, client, &text, err)) == MK_OK &&
	    (rc = store_client_put(t, jx_get_str(client, "client_id"),
	    jx_get_str(client, "created_at"), text)) == MK_OK)
		rc = op_event(t, op, NULL, 201, NULL, client);
	json_object_put(client);
	return rc;
}

static enum mk_code
client_patch_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct svc_op *op = vop;
	struct json_object *old = NULL, *client = NULL;
	struct mk_slice rec, text;
	enum mk_code rc;

	rc = store_get(t, ST_CLIENTS, slice_str(op->id), &rec);
	if (rc == MK_ERR_NOTFOUND)
		return mk_fail(err, rc, "The client does not exist.");
	if (rc != MK_OK)
		return rc;
	if ((rc = check_precond(op, rec, err)) != MK_OK ||
	    (rc = parse_stored(rec, &old, err)) != MK_OK)
		return rc;
	if ((rc = model_client_patch(old, op->body, &op->mctx, &client, err)) != MK_OK)
		goto out;
	if ((rc = record_text(op, client, &text, err)) == MK_OK &&
	    (rc = store_client_put(t, jx_get_str(client, "client_id"),
	    jx_get_str(client, "created_at"), text)) == MK_OK)
		rc = op_event(t, op, NULL, 200, old, client);
out:
	json_object_put(old);
	json_object_put(client);
	return rc;
}

static enum mk_code
client_delete_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct svc_op *op = vop;
	struct json_object *old = NULL;
	struct mk_slice rec;
	enum mk_code rc;

	rc = store_get(t, ST_CLIENTS, slice_str(op->id), &rec);
	if (rc == MK_ERR_NOTFOUND && op->pre != NULL)
		return mk_fail(err, MK_ERR_PRECOND, "The client does not exist.");
	if (rc == MK_ERR_NOTFOUND)
		return op_event(t, op, NULL, 204, NULL, NULL);
	if (rc != MK_OK)
		return rc;
	if ((rc = check_precond(op, rec, err)) != MK_OK ||
	    (rc = parse_stored(rec, &old, err)) != MK_OK)
		return rc;
	if ((rc = store_client_del(t, op->id, jx_get_str(old, "created_at"))) == MK_OK)
		rc = op_event(t, op, NULL, 204, old, NULL);
	json_object_put(old);
	/* Its grants go with it: no new token, and the ones issued stop (oauth.h). */
	if (rc == MK_OK)
		rc = grant_delete_client(t, op->id, NULL);
	return rc;
}

enum mk_code
svc_client_create(struct store *s, const struct svc_limits *l, struct json_object *body,
    struct mk_buf *out, struct mk_err *err)
{
	struct svc_op op;
	char id[33], secret[65];

	op_init(&op, l, NULL, body, out);
	if (mk_random_chars(id, 32, MK_ALPHA_ALNUM) == -1 ||
	    mk_random_chars(secret, 64, MK_ALPHA_URLSAFE) == -1)
		return mk_fail(err, MK_ERR_INTERNAL, "no randomness");
	op.mctx.new_id = id;
	op.mctx.new_secret = secret;
	op.mctx.now_ms = mk_now_ms();
	return svc_write(s, SVC_CLIENT_CREATE, &op, err);
}

enum mk_code
svc_client_patch(struct store *s, const struct svc_limits *l, const char *id,
    const struct svc_precond *pre, struct json_object *body, struct mk_buf *out,
    struct mk_err *err)
{
	struct svc_op op;

	op_init(&op, l, id, body, out);
	op.pre = pre;
	op.mctx.now_ms = mk_now_ms();
	return svc_write(s, SVC_CLIENT_PATCH, &op, err);
}

enum mk_code
svc_client_delete(struct store *s, const char *id, const struct svc_precond *pre,
    struct mk_err *err)
{
	struct svc_op op;

	op_init(&op, NULL, id, NULL, NULL);
	op.pre = pre;
	return svc_write(s, SVC_CLIENT_DELETE, &op, err);
}

/* ---- bulk import ---- */

struct import_op {
	const struct svc_limits *limits;
	const char *connection;
	int upsert;
	struct svc_import_rec *recs;
	size_t n;
	int64_t now_ms;
	struct sindex_batch *batch;  /* the postings of the batch's new users */
};

struct find_email {
	const char *connection;
	char id[512];
	int found;
	int bad;
};

/* The first user with this email whose connection is the one looked for. */
static int
find_email_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct find_email *f = ctx;
	struct json_object *u = NULL;
	struct model_user_keys k;

	if (jx_parse_stored(rec.p, rec.n, &u) != MK_OK) {
		f->bad = 1;
		return 1;
	}
	model_user_keys(u, &k);
	if (strcmp(k.connection, f->connection) == 0 && key.n < sizeof(f->id)) {
		memcpy(f->id, key.p, key.n);
		f->id[key.n] = '\0';
		f->found = 1;
	}
	json_object_put(u);
	return f->found;
}

/* Is the stored password hash of id exactly hash? */
static int
same_hash(struct store_txn *t, const char *id, const char *hash)
{
	struct mk_slice rec;

	if (store_get(t, ST_PWHASH, slice_str(id), &rec) != MK_OK)
		return 0;
	return rec.n == strlen(hash) && memcmp(rec.p, hash, rec.n) == 0;
}

/*
 * One record.  Returns MK_OK, a per-record code (MK_ERR_INVALID,
 * MK_ERR_EXISTS; the message in r->err), or a code that fails the batch.
 */
static enum mk_code
import_one(struct store_txn *t, struct import_op *op, struct svc_import_rec *r)
{
	struct model_ctx mctx;
	struct json_object *user = NULL, *old = NULL;
	struct store_user_keys okeys, nkeys;
	struct find_email fe;
	struct mk_slice orec, text;
	struct mk_err *err = &r->err;
	const char *hash = NULL;
	char id[25], iso[MK_ISO_LEN + 1];
	size_t max = op->limits != NULL ? op->limits->max_user_bytes : 0;
	int taken = 0, has_id, has_created, has_updated, found;
	enum mk_code rc;

	memset(&mctx, 0, sizeof(mctx));
	mctx.connections = op->limits != NULL ? op->limits->connections : NULL;
	mctx.max_depth = op->limits != NULL ? op->limits->max_depth : META_DEFAULT_MAX_DEPTH;
	mctx.now_ms = op->now_ms;
	mctx.import_connection = op->connection;
	/* A random id only for a record without one (it costs a RAND_bytes). */
	has_id = json_object_object_get_ex(r->rec, "user_id", NULL);
	if (!has_id || json_object_is_type(json_object_object_get(r->rec, "user_id"),
	    json_type_null)) {
		if (mk_random_chars(id, 24, MK_ALPHA_HEX) == -1)
			return mk_fail(err, MK_ERR_INTERNAL, "no randomness");
		mctx.new_id = id;
	}
	if ((rc = model_user_import(r->rec, &mctx, &user, &hash, err)) != MK_OK)
		return rc;
	user_store_keys(user, &nkeys);
	has_created = json_object_object_get_ex(r->rec, "created_at", NULL);
	has_updated = json_object_object_get_ex(r->rec, "updated_at", NULL);

	rc = store_get(t, ST_USERS, slice_str(nkeys.user_id), &orec);
	if (rc != MK_OK && rc != MK_ERR_NOTFOUND)
		goto out;
	found = rc == MK_OK;
	if (!found && !has_id && nkeys.email != NULL) {
		/* Without a user_id, the email in the connection says who it is. */
		memset(&fe, 0, sizeof(fe));
		fe.connection = nkeys.connection;
		if ((rc = store_users_by_email(t, nkeys.email, find_email_visit, &fe)) != MK_OK)
			goto out;
		if (fe.bad) {
			rc = mk_fail(err, MK_ERR_INTERNAL, "stored record unreadable");
			goto out;
		}
		if (fe.found && op->upsert) {
			if (strncmp(fe.id, "auth0|", 6) != 0) {
				rc = mk_fail(err, MK_ERR_EXISTS, "The user already exists.");
				goto out;
			}
			/* Build it again under the stored user's id. */
			json_object_put(user);
			user = NULL;
			mctx.new_id = fe.id + 6;
			if ((rc = model_user_import(r->rec, &mctx, &user,
			    &hash, err)) != MK_OK)
				goto out;
			user_store_keys(user, &nkeys);
			if ((rc = store_get(t, ST_USERS, slice_str(nkeys.user_id), &orec)) != MK_OK)
				goto out;
			found = 1;
		}
	}

	if (found) {
		if (!op->upsert) {
			rc = mk_fail(err, MK_ERR_EXISTS, "The user already exists.");
			goto out;
		}
		if ((rc = parse_stored(orec, &old, err)) != MK_OK)
			goto out;
		user_store_keys(old, &okeys);
		/* What the record does not say stays as stored. */
		if (!has_created && (rc = jx_set_str(user, "created_at", okeys.created_at,
		    err)) != MK_OK)
			goto out;
		if (!has_updated && (rc = jx_set_str(user, "updated_at", okeys.updated_at,
		    err)) != MK_OK)
			goto out;
		if ((text.p = jx_text(user, &text.n)) == NULL) {
			rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (text.n == orec.n && memcmp(text.p, orec.p, text.n) == 0 &&
		    (hash == NULL || same_hash(t, okeys.user_id, hash))) {
			r->action = SVC_IMPORT_UNCHANGED;
			rc = MK_OK;
			goto out;
		}
		if (!has_updated) {
			mk_iso8601(op->now_ms, iso);
			if ((rc = jx_set_str(user, "updated_at", iso, err)) != MK_OK)
				goto out;
		}
		user_store_keys(user, &nkeys);
	}
	if ((text.p = jx_text(user, &text.n)) == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (max > 0 && text.n > max) {
		rc = mk_fail(err, MK_ERR_INVALID, "Payload validation error: 'The object "
		    "would be %zu bytes, over the limit of %zu bytes'.", text.n, max);
		goto out;
	}
	if (nkeys.email != NULL && (rc = store_user_email_taken(t, nkeys.email,
	    nkeys.connection, nkeys.user_id, &taken)) != MK_OK)
		goto out;
	if (taken) {
		rc = mk_fail(err, MK_ERR_EXISTS, "The user already exists.");
		goto out;
	}
	if ((rc = put_user(t, found ? &okeys : NULL, &nkeys, text, err)) != MK_OK)
		goto out;
	if (found) {
		/* An update of a user this batch may have created: queue first. */
		if ((rc = sindex_batch_write(t, op->batch, NULL)) != MK_OK ||
		    (rc = sindex_user_update(t, old, user)) != MK_OK)
			goto out;
	} else {
		uint32_t num;

		if ((rc = store_user_num(t, slice_str(nkeys.user_id), &num)) != MK_OK ||
		    (rc = sindex_batch_add(op->batch, user, num)) != MK_OK)
			goto out;
	}
	if (hash != NULL &&
	    (rc = store_put(t, ST_PWHASH, slice_str(nkeys.user_id), slice_str(hash))) != MK_OK)
		goto out;
	r->action = found ? SVC_IMPORT_UPDATED : SVC_IMPORT_CREATED;
	rc = MK_OK;
out:
	json_object_put(old);
	json_object_put(user);
	return rc;
}

static enum mk_code
import_tx(struct store_txn *t, void *vop, struct mk_err *err)
{
	struct import_op *op = vop;
	struct svc_import_rec *r;
	enum mk_code rc;
	size_t i;

	for (i = 0; i < op->n; i++) {
		r = &op->recs[i];
		rc = import_one(t, op, r);
		r->code = rc;
		if (rc == MK_OK || rc == MK_ERR_INVALID || rc == MK_ERR_EXISTS)
			continue;
		/* The store failed, not the record: the batch goes. */
		if (r->err.msg[0] != '\0')
			mk_fail(err, rc, "record %zu of the batch: %s", i, r->err.msg);
		else
			mk_fail(err, rc, "record %zu of the batch: %s", i, mk_code_name(rc));
		return rc;
	}
	if ((rc = sindex_batch_write(t, op->batch, NULL)) != MK_OK)
		return mk_fail(err, rc, "writing the search index of the batch: %s",
		    mk_code_name(rc));
	return MK_OK;
}

enum mk_code
svc_user_import(struct store *s, const struct svc_limits *l, const char *connection,
    int upsert, struct svc_import_rec *recs, size_t n, struct mk_err *err)
{
	struct import_op op;
	enum mk_code rc;
	size_t i;

	memset(&op, 0, sizeof(op));
	op.limits = l;
	op.connection = connection;
	op.upsert = upsert;
	op.recs = recs;
	op.n = n;
	op.now_ms = mk_now_ms();
	for (i = 0; i < n; i++) {
		recs[i].code = MK_OK;
		recs[i].action = SVC_IMPORT_CREATED;
		memset(&recs[i].err, 0, sizeof(recs[i].err));
	}
	if (n == 0)
		return MK_OK;
	if (sindex_batch_new(&op.batch) != MK_OK)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	rc = store_write(s, import_tx, &op, err);
	sindex_batch_free(op.batch);
	return rc;
}

/* ---- index repair ---- */

struct reindex_op {
	struct svc_reindex_counts n;
	enum mk_code code;        /* a store failure, which stops the scan */
	struct store_txn *t;
};

static int
reindex_user(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct reindex_op *r = arg;
	struct json_object *u = NULL;
	struct store_user_keys sk;
	enum mk_code mrc;

	if (jx_parse(rec.p, rec.n, JX_STORED_DEPTH, &u, NULL) != MK_OK ||
	    !json_object_is_type(u, json_type_object)) {
		r->n.skipped++;
		goto out;
	}
	user_store_keys(u, &sk);
	/* Index under the key the record is stored at, the one reads use. */
	if (strlen(sk.user_id) != key.n || memcmp(sk.user_id, key.p, key.n) != 0) {
		r->n.skipped++;
		goto out;
	}
	mrc = store_user_index(r->t, &sk);
	if (mrc == MK_ERR_INVALID)
		r->n.skipped++;
	else if (mrc != MK_OK)
		r->code = mrc;
	else
		r->n.users++;
out:
	json_object_put(u);
	return r->code != MK_OK;
}

static int
reindex_client(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct reindex_op *r = arg;
	struct json_object *o = NULL;
	const char *cid, *created;
	enum mk_code mrc;

	if (jx_parse(rec.p, rec.n, JX_STORED_DEPTH, &o, NULL) != MK_OK ||
	    (cid = jx_get_str(o, "client_id")) == NULL ||
	    (created = jx_get_str(o, "created_at")) == NULL ||
	    strlen(cid) != key.n || memcmp(cid, key.p, key.n) != 0) {
		r->n.skipped++;
		goto out;
	}
	mrc = store_client_index(r->t, cid, created);
	if (mrc == MK_ERR_INVALID)
		r->n.skipped++;
	else if (mrc != MK_OK)
		r->code = mrc;
	else
		r->n.clients++;
out:
	json_object_put(o);
	return r->code != MK_OK;
}

/* Drop the four indexes and write them again from the records. */
static enum mk_code
reindex_tx(struct store_txn *t, void *arg, struct mk_err *err)
{
	struct reindex_op *r = arg;
	enum mk_code mrc;
	size_t fixed = 0;
	int i;

	/* The counts are of this transaction only. */
	memset(&r->n, 0, sizeof(r->n));
	r->t = t;
	r->code = MK_OK;
	/*
	 * The order indexes name users by number: the numbers first.  A user
	 * renumbered has stale search postings: searches scan (exact) until
	 * sindex_rebuild (check --repair runs it next).
	 */
	if ((mrc = store_user_nums_repair(t, &fixed)) != MK_OK)
		return mk_fail(err, mrc, "repairing the user numbers");
	if (fixed > 0 && (mrc = store_search_set_ready(t, 0)) != MK_OK)
		return mk_fail(err, mrc, "marking the search index incomplete");
	for (i = 0; i < STORE_IX__COUNT; i++)
		if ((mrc = store_index_clear(t, (enum store_index)i)) != MK_OK)
			return mk_fail(err, mrc, "clearing %s",
			    store_index_name((enum store_index)i));
	if ((mrc = store_table_scan(t, ST_USERS, reindex_user, r)) != MK_OK ||
	    (mrc = r->code) != MK_OK ||
	    (mrc = store_table_scan(t, ST_CLIENTS, reindex_client, r)) != MK_OK ||
	    (mrc = r->code) != MK_OK)
		return mk_fail(err, mrc, "rebuilding the indexes: %s", mk_code_name(mrc));
	return MK_OK;
}

enum mk_code
svc_reindex(struct store *s, struct svc_reindex_counts *out, struct mk_err *err)
{
	struct reindex_op r;
	enum mk_code mrc;

	memset(&r, 0, sizeof(r));
	if ((mrc = store_write(s, reindex_tx, &r, err)) != MK_OK)
		return mrc;
	*out = r.n;
	return MK_OK;
}

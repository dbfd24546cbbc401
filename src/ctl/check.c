/*
 * check: metakeepctl check [--repair]: every record read as the API would
 * write it, every order index entry matched against its record and every
 * record against its entries, tokens, password hashes, then the search
 * index (sindex_check).  Problems are printed on stdout, the first
 * CHECK_SHOW_MAX of them; exit 0 when there are none.  --repair rebuilds
 * the indexes (svc_reindex, sindex_rebuild) and checks again: problems in
 * the records themselves are reported, never repaired away.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "auth.h"
#include "err.h"
#include "jx.h"
#include "model.h"
#include "sindex.h"
#include "store.h"
#include "svc.h"
#include "util.h"
#include "ctl/ctl.h"

static int repair_flag;

static const struct ctl_opt check_opts[] = {
	{ 'r', "repair", NULL, &repair_flag, NULL, CTL_WRITE,
	    "rebuild the indexes from the records (the order\n"
	    "indexes in one write transaction, the search index\n"
	    "in batches; the daemon may keep running),\n"
	    "then check again" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

const struct ctl_spec check_spec = {
	check_opts, 0, NULL, NULL,
	"When metakeepd runs with a configuration file that sets connections,\n"
	"give it (-c) so that users of those connections are not reported;\n"
	"without one, Username-Password-Authentication is the only connection.\n",
	NULL,
};

#define CHECK_SHOW_MAX 1000    /* problems printed; the rest only counted */

static const enum store_index user_ix[3] = {
	STORE_IX_USERS_EMAIL, STORE_IX_USERS_CREATED, STORE_IX_USERS_UPDATED,
};

struct check {
	struct ctl *ctl;
	struct store_txn *t;
	struct model_ctx mctx;
	size_t problems;
	size_t users, clients, tokens, pwhash;
	size_t ix_ok[STORE_IX__COUNT];    /* records whose own entry is right */
	size_t ix_live[STORE_IX__COUNT];  /* entries whose id has a record */
	enum store_index ix;              /* the index being walked */
	int pass2;                        /* naming stale entries */
	size_t search_lines;              /* lines sindex_check reported */
	enum mk_code code;                /* a store failure, which stops the check */
};

static void
problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->problems++ >= CHECK_SHOW_MAX)
		return;
	fputs("problem: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* The attribute a user index holds, from a user object ("" for no email). */
static const char *
ix_attr(enum store_index ix, const struct model_user_keys *k)
{
	switch (ix) {
	case STORE_IX_USERS_EMAIL:
		return k->email != NULL ? k->email : "";
	case STORE_IX_USERS_CREATED:
		return k->created_at;
	case STORE_IX_USERS_UPDATED:
		return k->updated_at;
	case STORE_IX_CLIENTS_CREATED:
		break;
	}
	return "";
}

static int
check_user(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct check *c = arg;
	struct json_object *u = NULL, *canon = NULL;
	struct model_user_keys k;
	struct mk_slice v;
	struct mk_err err;
	const char *text, *want;
	char id[120], shown[120];
	size_t n, max = c->ctl->conf.limits.max_user_bytes;
	enum mk_code mrc;
	int i;

	c->users++;
	ctl_show(id, sizeof(id), key.p, key.n);
	memset(&err, 0, sizeof(err));
	if (jx_parse(rec.p, rec.n, JX_STORED_DEPTH, &u, &err) != MK_OK ||
	    !json_object_is_type(u, json_type_object)) {
		problem(c, "user %s: the record does not parse as an object: %s", id,
		    err.msg[0] != '\0' ? err.msg : "not an object");
		goto out;
	}
	model_user_keys(u, &k);
	if (strlen(k.user_id) != key.n || memcmp(k.user_id, key.p, key.n) != 0)
		problem(c, "user %s: the record's user_id is '%s'", id,
		    ctl_show(shown, sizeof(shown), k.user_id, strlen(k.user_id)));
	if (max > 0 && rec.n > max)
		problem(c, "user %s: %zu bytes, over the limit of %zu", id, rec.n, max);
	/* The API's rules: what an import of the record builds must be the record. */
	if ((mrc = model_user_import(u, &c->mctx, &canon, NULL, &err)) != MK_OK)
		problem(c, "user %s: %s", id, mrc == MK_ERR_NOMEM ? "out of memory" : err.msg);
	else if ((text = jx_text(canon, &n)) == NULL || n != rec.n ||
	    memcmp(text, rec.p, n) != 0)
		problem(c, "user %s: the record is not in the form the API writes", id);

	for (i = 0; i < 3; i++) {
		want = ix_attr(user_ix[i], &k);
		mrc = store_index_get(c->t, user_ix[i], want, k.user_id, &v);
		if (mrc == MK_ERR_NOTFOUND) {
			problem(c, "user %s: no %s entry for '%s'", id,
			    store_index_name(user_ix[i]), ctl_show(shown, sizeof(shown), want,
			    strlen(want)));
			continue;
		}
		if (mrc != MK_OK) {
			c->code = mrc;
			break;
		}
		if (user_ix[i] == STORE_IX_USERS_EMAIL && (v.n != strlen(k.connection) ||
		    memcmp(v.p, k.connection, v.n) != 0)) {
			problem(c, "user %s: its users_email entry names connection '%s', "
			    "the record '%s'", id, ctl_show(shown, sizeof(shown), v.p, v.n),
			    k.connection);
			continue;
		}
		c->ix_ok[user_ix[i]]++;
	}
out:
	json_object_put(canon);
	json_object_put(u);
	return c->code != MK_OK;
}

static int
check_client(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct check *c = arg;
	struct json_object *o = NULL;
	struct mk_slice v;
	struct mk_err err;
	const char *cid, *created;
	char id[120];
	enum mk_code mrc;

	c->clients++;
	ctl_show(id, sizeof(id), key.p, key.n);
	memset(&err, 0, sizeof(err));
	if (jx_parse(rec.p, rec.n, JX_STORED_DEPTH, &o, &err) != MK_OK ||
	    !json_object_is_type(o, json_type_object)) {
		problem(c, "client %s: the record does not parse as an object: %s", id,
		    err.msg[0] != '\0' ? err.msg : "not an object");
		goto out;
	}
	cid = jx_get_str(o, "client_id");
	created = jx_get_str(o, "created_at");
	if (cid == NULL || strlen(cid) != key.n || memcmp(cid, key.p, key.n) != 0)
		problem(c, "client %s: the record's client_id differs", id);
	if (jx_get_str(o, "name") == NULL)
		problem(c, "client %s: the record has no name", id);
	if (created == NULL) {
		problem(c, "client %s: the record has no created_at", id);
		goto out;
	}
	if (cid == NULL)
		goto out;
	mrc = store_index_get(c->t, STORE_IX_CLIENTS_CREATED, created, cid, &v);
	if (mrc == MK_ERR_NOTFOUND)
		problem(c, "client %s: no clients_created entry", id);
	else if (mrc != MK_OK)
		c->code = mrc;
	else
		c->ix_ok[STORE_IX_CLIENTS_CREATED]++;
out:
	json_object_put(o);
	return c->code != MK_OK;
}

/* One index entry: its id must have a record, and (pass 2) agree with it. */
static int
check_entry(void *arg, struct mk_slice value, struct mk_slice id, struct mk_slice val)
{
	struct check *c = arg;
	struct json_object *o = NULL;
	struct model_user_keys k;
	struct mk_slice rec;
	const char *have;
	char sv[120], si[120];
	int clients = c->ix == STORE_IX_CLIENTS_CREATED;
	enum mk_code mrc;

	(void)val;
	ctl_show(sv, sizeof(sv), value.p, value.n);
	if (id.n == 0) {
		if (!c->pass2)
			problem(c, "%s: entry '%s' has no id (or a user number that "
			    "names no user)", store_index_name(c->ix), sv);
		return 0;
	}
	ctl_show(si, sizeof(si), id.p, id.n);
	mrc = store_get(c->t, clients ? ST_CLIENTS : ST_USERS, id, &rec);
	if (mrc == MK_ERR_NOTFOUND) {
		if (!c->pass2)
			problem(c, "%s: entry '%s' points at %s %s, which does not exist",
			    store_index_name(c->ix), sv, clients ? "client" : "user", si);
		return 0;
	}
	if (mrc != MK_OK) {
		c->code = mrc;
		return 1;
	}
	if (!c->pass2) {
		c->ix_live[c->ix]++;
		return 0;
	}
	if (jx_parse(rec.p, rec.n, JX_STORED_DEPTH, &o, NULL) != MK_OK)
		return 0;     /* reported with the record */
	if (clients)
		have = jx_get_str(o, "created_at");
	else {
		model_user_keys(o, &k);
		have = ix_attr(c->ix, &k);
	}
	if (have == NULL || strlen(have) != value.n || memcmp(have, value.p, value.n) != 0)
		problem(c, "%s: entry '%s' for %s %s does not match the record", store_index_name(c->ix),
		    sv, clients ? "client" : "user", si);
	json_object_put(o);
	return 0;
}

static int
check_token(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct check *c = arg;
	struct auth_token at;
	struct mk_err err;
	char id[40];

	c->tokens++;
	ctl_show(id, 17, key.p, key.n);
	memset(&err, 0, sizeof(err));
	if (auth_record_parse(rec, &at, NULL, &err) != MK_OK)
		problem(c, "token %s: %s", id, err.msg);
	else if (key.n < AUTH_ID_LEN || memcmp(at.id, key.p, AUTH_ID_LEN) != 0)
		problem(c, "token %s: the record's id is %s", id, at.id);
	return 0;
}

static int
check_pwhash(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct check *c = arg;
	struct mk_slice u;
	char id[120];
	enum mk_code mrc;

	c->pwhash++;
	ctl_show(id, sizeof(id), key.p, key.n);
	if ((mrc = store_get(c->t, ST_USERS, key, &u)) == MK_ERR_NOTFOUND)
		problem(c, "password hash of user %s, who does not exist", id);
	else if (mrc != MK_OK) {
		c->code = mrc;
		return 1;
	}
	if (rec.n == 0)
		problem(c, "password hash of user %s: empty", id);
	return 0;
}

static void
check_search_line(void *arg, const char *line)
{
	struct check *c = arg;

	/* Counted all at once from sindex_check's total. */
	if (c->problems + c->search_lines++ < CHECK_SHOW_MAX)
		printf("problem: %s\n", line);
}

/*
 * Records and the order indexes in one read transaction, then the search
 * index (sindex_check).  Returns 0 when it could run.
 */
static int
check_run(struct ctl *ctl, struct check *c)
{
	struct mk_err err;
	enum mk_code mrc;
	size_t n = 0;
	int i;

	memset(c, 0, sizeof(*c));
	c->ctl = ctl;
	c->mctx.connections = ctl->conf.limits.connections;
	c->mctx.max_depth = ctl->conf.limits.max_depth;
	c->mctx.now_ms = mk_now_ms();
	c->mctx.new_id = "000000000000000000000000";
	if (store_read_begin(ctl->store, &c->t) != MK_OK) {
		ctl_errx("check: cannot read the database");
		return -1;
	}
	if ((mrc = store_table_scan(c->t, ST_USERS, check_user, c)) != MK_OK ||
	    c->code != MK_OK ||
	    (mrc = store_table_scan(c->t, ST_CLIENTS, check_client, c)) != MK_OK ||
	    c->code != MK_OK)
		goto fail;
	for (i = 0; i < STORE_IX__COUNT; i++) {
		c->ix = (enum store_index)i;
		c->pass2 = 0;
		if ((mrc = store_index_scan(c->t, c->ix, check_entry, c)) != MK_OK ||
		    c->code != MK_OK)
			goto fail;
		/*
		 * Every record has one right entry; more live entries than
		 * that means some point at a record they do not match.
		 */
		if (c->ix_live[i] > c->ix_ok[i]) {
			c->pass2 = 1;
			if ((mrc = store_index_scan(c->t, c->ix, check_entry, c)) != MK_OK ||
			    c->code != MK_OK)
				goto fail;
		}
	}
	if ((mrc = store_table_scan(c->t, ST_TOKENS, check_token, c)) != MK_OK ||
	    (mrc = store_table_scan(c->t, ST_PWHASH, check_pwhash, c)) != MK_OK ||
	    c->code != MK_OK)
		goto fail;
	store_txn_end(c->t);
	c->t = NULL;
	/* The search index checks itself (its own read transaction). */
	memset(&err, 0, sizeof(err));
	if ((mrc = sindex_check(ctl->store, check_search_line, c, &n, &err)) != MK_OK) {
		ctl_errx("check: search index: %s", err.msg[0] != '\0' ? err.msg :
		    mk_code_name(mrc));
		return -1;
	}
	c->problems += n;
	return 0;
fail:
	ctl_errx("check: reading the database failed: %s",
	    mk_code_name(c->code != MK_OK ? c->code : mrc));
	store_txn_end(c->t);
	c->t = NULL;
	return -1;
}

/* The search index rebuilds itself in batches (writers may go on). */
static int
search_rebuild(struct ctl *ctl, struct mk_err *err)
{
	size_t users = 0, entries = 0;
	enum mk_code mrc;

	memset(err, 0, sizeof(*err));
	if ((mrc = sindex_rebuild(ctl->store, &users, &entries, err)) != MK_OK) {
		ctl_errx("check: rebuilding the search index failed: %s",
		    err->msg[0] != '\0' ? err->msg : mk_code_name(mrc));
		return -1;
	}
	printf("repair: search index rebuilt: %zu entries for %zu users\n", entries, users);
	return 0;
}

static void
check_summary(const struct check *c)
{
	if (c->problems > CHECK_SHOW_MAX)
		printf("(%zu more problems not shown)\n", c->problems - CHECK_SHOW_MAX);
	printf("check: %zu users, %zu clients, %zu tokens, %zu password hashes: ",
	    c->users, c->clients, c->tokens, c->pwhash);
	if (c->problems == 0)
		printf("no problems\n");
	else
		printf("%zu problem%s\n", c->problems, c->problems == 1 ? "" : "s");
}

int
cmd_check(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	struct svc_reindex_counts r;
	struct check c;
	struct mk_err err;

	(void)self;
	(void)operands;
	if (check_run(ctl, &c) != 0)
		return CTL_FAIL;
	check_summary(&c);
	if (!repair_flag || c.problems == 0) {
		if (flush_stdout() != 0)
			return CTL_FAIL;
		return c.problems == 0 ? CTL_OK : CTL_FAIL;
	}

	memset(&err, 0, sizeof(err));
	if (svc_reindex(ctl->store, &r, &err) != MK_OK) {
		ctl_errx("check: repair failed, nothing changed: %s", err.msg);
		return CTL_FAIL;
	}
	printf("repair: indexes rebuilt from %zu users and %zu clients", r.users, r.clients);
	if (r.skipped > 0)
		printf(" (%zu records unreadable, left out)", r.skipped);
	printf("\n");
	if (search_rebuild(ctl, &err) != 0)
		return CTL_FAIL;
	/* Say what is left: problems in the records themselves are not repaired. */
	if (check_run(ctl, &c) != 0)
		return CTL_FAIL;
	check_summary(&c);
	if (flush_stdout() != 0)
		return CTL_FAIL;
	return c.problems == 0 ? CTL_OK : CTL_FAIL;
}

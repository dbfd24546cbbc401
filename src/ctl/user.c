/*
 * user: metakeepctl user get and user patch: one user read or changed from
 * the shell.  get prints the stored record, which is what GET
 * /api/v2/users/ID answers; patch goes through svc_user_patch, so the API's
 * rules, merge and limits apply as they do to a PATCH request.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "err.h"
#include "jx.h"
#include "model.h"
#include "store.h"
#include "svc.h"
#include "ctl/ctl.h"

const struct ctl_spec user_get_spec = {
	NULL, 1, "exactly one user ID is needed", NULL, NULL, NULL,
};

const struct ctl_spec user_patch_spec = {
	NULL, 2, "a user ID and a JSON body (or -) are needed", NULL,
	"  JSON is the PATCH body; - reads it from standard input\n", NULL,
};

int
cmd_user_get(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	struct store_txn *t = NULL;
	struct mk_slice key, rec;
	enum mk_code mrc;
	int rc;

	(void)self;
	if (store_read_begin(ctl->store, &t) != MK_OK) {
		ctl_errx("cannot read the database");
		return CTL_FAIL;
	}
	key.p = operands[0];
	key.n = strlen(operands[0]);
	rc = CTL_FAIL;
	mrc = store_get(t, ST_USERS, key, &rec);
	if (mrc == MK_ERR_NOTFOUND)
		ctl_errx("user get: The user does not exist.");
	else if (mrc != MK_OK)
		ctl_errx("user get: cannot read the user: %s", mk_code_name(mrc));
	else if (fwrite(rec.p, 1, rec.n, stdout) == rec.n && putchar('\n') != EOF &&
	    flush_stdout() == 0)
		rc = CTL_OK;
	store_txn_end(t);
	return rc;
}

/*
 * Read all of f, at most max bytes.  Returns 0 and an owned buffer, -1 when
 * over the limit or unreadable (said why).
 */
static int
read_all(FILE *f, const char *what, size_t max, struct mk_buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b->n + n > max) {
			ctl_errx("%s: more than %zu bytes", what, max);
			return -1;
		}
		if (buf_add(b, chunk, n) == -1) {
			ctl_errx("%s: out of memory", what);
			return -1;
		}
	}
	if (ferror(f)) {
		ctl_errx("%s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

int
cmd_user_patch(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	struct mk_buf in = MK_BUF_INIT, out = MK_BUF_INIT;
	struct json_object *body = NULL;
	struct mk_err err;
	const char *id, *text;
	size_t len;
	int rc = CTL_FAIL;

	(void)self;
	id = operands[0];
	text = operands[1];
	if (strcmp(text, "-") == 0) {
		if (read_all(stdin, "standard input", ctl->conf.body_limit, &in) != 0)
			goto out;
		text = in.p != NULL ? in.p : "";
		len = in.n;
	} else
		len = strlen(text);
	memset(&err, 0, sizeof(err));
	if (len > ctl->conf.body_limit) {
		ctl_errx("user patch: the body is over the limit of %zu bytes",
		    ctl->conf.body_limit);
		goto out;
	}
	/* The same bound as the API's body parse. */
	if (jx_parse(text, len, model_body_depth(ctl->conf.limits.max_depth), &body, &err) != MK_OK) {
		ctl_errx("user patch: %s", err.msg);
		goto out;
	}
	if (svc_user_patch(ctl->store, &ctl->conf.limits, id, NULL, body, &out, &err) != MK_OK) {
		ctl_errx("user patch: %s", err.msg[0] != '\0' ? err.msg : mk_code_name(err.code));
		goto out;
	}
	if (fwrite(out.p, 1, out.n, stdout) == out.n && putchar('\n') != EOF &&
	    flush_stdout() == 0)
		rc = CTL_OK;
out:
	json_object_put(body);
	buf_free(&in);
	buf_free(&out);
	return rc;
}

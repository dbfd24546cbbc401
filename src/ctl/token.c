/*
 * token: metakeepctl token create, list and revoke: the API's bearer
 * tokens.  A token is printed once, alone on stdout, and never logged or
 * listed; only its hash and its record (id, scopes, subject, expiry,
 * creation) are stored (auth.c).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "err.h"
#include "util.h"
#include "ctl/ctl.h"

/* Longest --expires: 100 years, far below any overflow in milliseconds. */
#define CTL_MAX_DURATION_S (100LL * 366 * 86400)

/* token create's options, set by the parser (opt.c). */
struct create_opts {
	uint32_t scopes;          /* -s, all of them or'ed */
	int saw_scope;
	const char *sub;          /* -u, or NULL */
	int64_t life_ms;          /* -e, 0 for none */
};
static struct create_opts tc;

static int create_scope(const struct ctl_cmd *, const char *, void *);
static int create_subject(const struct ctl_cmd *, const char *, void *);
static int create_expires(const struct ctl_cmd *, const char *, void *);
static int create_check(const struct ctl_cmd *, char **);
static void create_help(FILE *);
static int revoke_check(const struct ctl_cmd *, char **);

static const struct ctl_opt create_opts[] = {
	{ 's', "scope", "SCOPES", &tc, create_scope, CTL_NONE,
	    "scope names, space- or comma-separated, or \"all\";\nmay be repeated" },
	{ 'u', "subject", "USER_ID", &tc, create_subject, CTL_NONE,
	    "bind the token to one user" },
	{ 'e', "expires", "DURATION", &tc, create_expires, CTL_NONE,
	    "lifetime: 30s, 15m, 12h, 7d, or seconds" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

const struct ctl_spec token_create_spec = {
	create_opts, 0, NULL, create_check, NULL, create_help,
};

/* token list --json */
static int list_json_flag;

static const struct ctl_opt list_opts[] = {
	{ 'j', "json", NULL, &list_json_flag, NULL, CTL_NONE,
	    "one JSON array instead of a table" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

const struct ctl_spec token_list_spec = {
	list_opts, 0, NULL, NULL, NULL, NULL,
};

const struct ctl_spec token_revoke_spec = {
	NULL, 1, "exactly one token ID is needed (see '" PROG " token list')",
	revoke_check, NULL, NULL,
};

/*
 * A lifetime: digits, then s, m, h or d (none: seconds).  Returns 0 and the
 * lifetime in ms in *ms, or -1 when malformed, zero or over 100 years.
 */
static int
parse_duration(const char *s, int64_t *ms)
{
	long long v = 0, mul = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > CTL_MAX_DURATION_S)
			return -1;
	}
	switch (*p) {
	case '\0':
		break;
	case 's':
		p++;
		break;
	case 'm':
		mul = 60;
		p++;
		break;
	case 'h':
		mul = 3600;
		p++;
		break;
	case 'd':
		mul = 86400;
		p++;
		break;
	default:
		return -1;
	}
	if (*p != '\0' || v == 0 || v > CTL_MAX_DURATION_S / mul)
		return -1;
	*ms = (int64_t)(v * mul) * 1000;
	return 0;
}

/* A subject is printed in listings: refuse what would mangle a terminal. */
static int
subject_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= AUTH_SUB_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == ' ')
			return 0;
	return 1;
}

static int
create_scope(const struct ctl_cmd *self, const char *arg, void *dst)
{
	struct create_opts *o = dst;
	struct mk_err err;
	uint32_t more;

	if (auth_scopes_parse(arg, &more, &err) != MK_OK)
		return usage_error(self, "%s", err.msg);
	o->scopes |= more;
	o->saw_scope = 1;
	return -1;
}

static int
create_subject(const struct ctl_cmd *self, const char *arg, void *dst)
{
	if (!subject_ok(arg))
		return usage_error(self, "--subject: 1 to %d printable "
		    "characters without spaces", AUTH_SUB_MAX - 1);
	((struct create_opts *)dst)->sub = arg;
	return -1;
}

static int
create_expires(const struct ctl_cmd *self, const char *arg, void *dst)
{
	if (parse_duration(arg, &((struct create_opts *)dst)->life_ms) != 0)
		return usage_error(self, "--expires: '%s' is not a duration "
		    "such as 30s, 15m, 12h, 7d or a number of seconds "
		    "(at most 100 years)", arg);
	return -1;
}

/* The scope names, after token create's usage. */
static void
create_help(FILE *f)
{
	uint32_t bit;

	fputs("\nscopes:\n", f);
	for (bit = 1; bit & SC_ALL; bit <<= 1)
		fprintf(f, "  %s\n", auth_scope_name(bit));
	fprintf(f, "  all (every scope above)\n");
}

static int
create_check(const struct ctl_cmd *self, char **operands)
{
	(void)operands;
	if (!tc.saw_scope || tc.scopes == 0)
		return usage_error(self, "--scope with at least one scope is required (for example "
		    "--scope \"read:users update:users\" or --scope all)");
	return -1;
}

int
cmd_token_create(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	char token[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1], names[512];
	char iso[MK_ISO_LEN + 1];
	int64_t exp_ms = 0;
	int rc = CTL_FAIL;
	struct mk_err err;

	(void)self;
	(void)operands;
	if (tc.life_ms != 0)
		exp_ms = mk_now_ms() + tc.life_ms;
	err.msg[0] = '\0';
	if (auth_token_create(ctl->store, &(struct auth_grant){ tc.scopes, tc.sub, exp_ms },
	    token, id, &err) != MK_OK) {
		ctl_errx("cannot create the token: %s", err.msg);
		goto out;
	}
	/* The token alone on stdout, so that $(metakeepctl token create ...) works. */
	if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
		/* Nobody saw it: do not leave a live token behind. */
		ctl_errx("cannot write the token to stdout; revoking it");
		if (auth_token_revoke(ctl->store, id, NULL, &err) != MK_OK)
			ctl_errx("revoking token %s failed: %s", id, err.msg);
		goto out;
	}
	if (tc.scopes == SC_ALL)
		snprintf(names, sizeof(names), "all");
	else
		auth_scopes_format(tc.scopes, " ", names, sizeof(names));
	if (exp_ms != 0)
		mk_iso8601(exp_ms, iso);
	fprintf(stderr, PROG ": created token %s\n"
	    "  scopes:  %s\n"
	    "  subject: %s\n"
	    "  expires: %s\n"
	    "The token is shown only this once; only its hash is stored.\n",
	    id, names, tc.sub != NULL ? tc.sub : "(none)", exp_ms != 0 ? iso : "never");
	rc = CTL_OK;
out:
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}

/* One token as listed: what its record says, never the token itself. */
struct list_item {
	struct auth_token t;
	char created[MK_ISO_LEN + 1];
};

struct list_ctx {
	int bad;                  /* records that could not be read */
	int nomem;
	struct list_item *v;      /* owned */
	size_t n, cap;
};

/* Copy s for a terminal: control characters become '?'. */
static void
printable(char *dst, size_t dstsz, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	dst[i] = '\0';
}

static int
list_visit(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct list_ctx *lc = arg;
	struct list_item *nv;
	struct mk_err err;
	size_t ncap;

	if (lc->n == lc->cap) {
		ncap = lc->cap == 0 ? 16 : lc->cap * 2;
		if ((nv = reallocarray(lc->v, ncap, sizeof(*nv))) == NULL) {
			lc->nomem = 1;
			return 1;
		}
		lc->v = nv;
		lc->cap = ncap;
	}
	if (auth_record_parse(rec, &lc->v[lc->n].t, lc->v[lc->n].created, &err) != MK_OK) {
		ctl_errx("token record %.16s: %s", key.n >= 16 ? key.p : "?", err.msg);
		lc->bad++;
		return 0;
	}
	lc->n++;
	return 0;
}

/* Oldest first, as an operator reads a history; ties by id. */
static int
list_cmp(const void *a, const void *b)
{
	const struct list_item *x = a, *y = b;
	int c;

	if ((c = strcmp(x->created, y->created)) != 0)
		return c;
	return strcmp(x->t.id, y->t.id);
}

/* The JSON form of one token for --json.  Returns an owned object, or NULL. */
static struct json_object *
list_json(const struct list_item *it, int64_t now_ms)
{
	const struct auth_token *t = &it->t;
	struct json_object *o = NULL, *a = NULL;
	char iso[MK_ISO_LEN + 1];
	uint32_t bit;

	if ((o = json_object_new_object()) == NULL || (a = json_object_new_array()) == NULL)
		goto fail;
	if (json_object_object_add(o, "id", json_object_new_string(t->id)) != 0)
		goto fail;
	for (bit = 1; bit & SC_ALL; bit <<= 1)
		if ((t->scopes & bit) && json_object_array_add(a,
		    json_object_new_string(auth_scope_name(bit))) != 0)
			goto fail;
	if (json_object_object_add(o, "scopes", a) != 0)
		goto fail;
	a = NULL;
	if (t->sub[0] != '\0' &&
	    json_object_object_add(o, "sub", json_object_new_string(t->sub)) != 0)
		goto fail;
	if (t->exp_ms != 0) {
		mk_iso8601(t->exp_ms, iso);
		if (json_object_object_add(o, "exp", json_object_new_int64(t->exp_ms)) != 0 ||
		    json_object_object_add(o, "expires_at", json_object_new_string(iso)) != 0)
			goto fail;
	}
	if (json_object_object_add(o, "expired",
	    json_object_new_boolean(t->exp_ms != 0 && now_ms >= t->exp_ms)) != 0)
		goto fail;
	if (it->created[0] != '\0' && json_object_object_add(o, "created_at",
	    json_object_new_string(it->created)) != 0)
		goto fail;
	return o;
fail:
	json_object_put(a);
	json_object_put(o);
	return NULL;
}

static int
list_print_json(const struct list_ctx *lc, int64_t now_ms)
{
	struct json_object *arr = NULL, *o;
	size_t i;
	int rc = -1;

	if ((arr = json_object_new_array()) == NULL)
		goto out;
	for (i = 0; i < lc->n; i++) {
		if ((o = list_json(&lc->v[i], now_ms)) == NULL)
			goto out;
		if (json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			goto out;
		}
	}
	printf("%s\n", json_object_to_json_string_ext(arr,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = 0;
out:
	json_object_put(arr);
	return rc;
}

static void
list_print_table(const struct list_ctx *lc, int64_t now_ms)
{
	const struct auth_token *t;
	char names[512], exp[MK_ISO_LEN + 16], sub[AUTH_SUB_MAX];
	size_t i;

	printf("%-16s  %-24s  %-34s  %-24s  %s\n", "ID", "CREATED", "EXPIRES",
	    "SUBJECT", "SCOPES");
	for (i = 0; i < lc->n; i++) {
		t = &lc->v[i].t;
		/* Every name, as --json lists them, even for "all". */
		auth_scopes_format(t->scopes, ",", names, sizeof(names));
		if (t->exp_ms == 0)
			snprintf(exp, sizeof(exp), "never");
		else {
			mk_iso8601(t->exp_ms, exp);
			if (now_ms >= t->exp_ms)
				strcat(exp, " (expired)");
		}
		printable(sub, sizeof(sub), t->sub[0] != '\0' ? t->sub : "-");
		printf("%-16s  %-24s  %-34s  %-24s  %s\n", t->id,
		    lc->v[i].created[0] != '\0' ? lc->v[i].created : "-", exp, sub,
		    names[0] != '\0' ? names : "-");
	}
}

int
cmd_token_list(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	struct list_ctx lc;
	enum mk_code mrc;
	int64_t now_ms;
	int rc = CTL_FAIL;

	(void)self;
	(void)operands;
	memset(&lc, 0, sizeof(lc));
	/* Collect first: print outside the read transaction, in a stable order. */
	if ((mrc = auth_token_list(ctl->store, list_visit, &lc)) != MK_OK) {
		ctl_errx("cannot list tokens: %s", mk_code_name(mrc));
		goto out;
	}
	if (lc.nomem) {
		ctl_errx("out of memory");
		goto out;
	}
	/* qsort must not get lc.v NULL, as it is when there is no token. */
	if (lc.n > 1)
		qsort(lc.v, lc.n, sizeof(lc.v[0]), list_cmp);
	now_ms = mk_now_ms();
	if (list_json_flag) {
		if (list_print_json(&lc, now_ms) != 0) {
			ctl_errx("out of memory");
			goto out;
		}
	} else
		list_print_table(&lc, now_ms);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_errx("cannot write to stdout");
		goto out;
	}
	rc = lc.bad != 0 ? CTL_FAIL : CTL_OK;
out:
	free(lc.v);
	return rc;
}

/* A token id or a prefix of one, as auth_token_revoke takes it. */
static int
id_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 4 || n > AUTH_ID_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
revoke_check(const struct ctl_cmd *self, char **operands)
{
	if (!id_ok(operands[0]))
		return usage_error(self, "'%s' is not a token id (%d to %d hex digits)",
		    operands[0], 4, AUTH_ID_LEN);
	return -1;
}

int
cmd_token_revoke(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	struct mk_err err;
	enum mk_code mrc;
	char full[AUTH_ID_LEN + 1];

	(void)self;
	err.msg[0] = '\0';
	if ((mrc = auth_token_revoke(ctl->store, operands[0], full, &err)) != MK_OK) {
		if (mrc == MK_ERR_INVALID && strcmp(err.msg, "ambiguous token id") == 0)
			ctl_errx("'%s' matches more than one token: give more of the id",
			    operands[0]);
		else if (mrc == MK_ERR_NOTFOUND)
			ctl_errx("cannot revoke '%s': %s (the ids are in the first "
			    "column of '" PROG " token list')", operands[0], err.msg);
		else
			ctl_errx("cannot revoke '%s': %s", operands[0], err.msg);
		return CTL_FAIL;
	}
	fprintf(stderr, PROG ": revoked token %s\n", full);
	return CTL_OK;
}

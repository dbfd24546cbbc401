/*
 * export: metakeepctl export [--format ndjson|json] [--fields LIST]: every
 * user on stdout in Auth0's user export format, from one read transaction
 * (a consistent snapshot), in user_id order.  The stored records are the
 * output as they are; --fields picks attributes (and dotted paths into
 * metadata) out of each.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "err.h"
#include "jx.h"
#include "store.h"
#include "util.h"
#include "ctl/ctl.h"

#define EXPORT_MAX_FIELDS 64

/* export's options, set by the parser (opt.c) and export_check. */
struct export_opts {
	int array;                 /* --format json */
	char *list;                /* --fields, as given (split in place) */
	char *fields[EXPORT_MAX_FIELDS];
	size_t nfields;
};
static struct export_opts eo;

struct export_ctx {
	FILE *f;
	int array;                 /* --format json */
	size_t n;
	size_t bad;
	int failed;
	int tty;
	int64_t t0;
};

static int export_format(const struct ctl_cmd *, const char *, void *);
static int export_check(const struct ctl_cmd *, char **);

static const struct ctl_opt export_opts[] = {
	{ 'f', "format", "FORMAT", &eo.array, export_format, CTL_NONE,
	    "ndjson: one user per line (default, as Auth0's\n"
	    "export job); json: one JSON array, the bulk\n"
	    "import format (without --fields)" },
	{ 'F', "fields", "LIST", &eo.list, NULL, CTL_NONE,
	    "only these attributes, comma-separated; a dotted\n"
	    "path picks into metadata (user_metadata.plan)\n"
	    "and becomes a key of that name: for reading and\n"
	    "reports, not for import, which refuses such keys" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

const struct ctl_spec export_spec = {
	export_opts, 0, NULL, export_check, NULL, NULL,
};

static int
export_format(const struct ctl_cmd *self, const char *arg, void *dst)
{
	int *array = dst;

	if (strcmp(arg, "ndjson") == 0)
		*array = 0;
	else if (strcmp(arg, "json") == 0)
		*array = 1;
	else
		return usage_error(self, "--format: 'ndjson' or 'json', not '%s'", arg);
	return -1;
}

/* The value at a dotted path (user_metadata.plan) of o, borrowed; NULL if none. */
static int
path_get(struct json_object *o, const char *path, struct json_object **out)
{
	char seg[256];
	const char *p = path, *dot;
	size_t n;

	for (;;) {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(seg) || !json_object_is_type(o, json_type_object))
			return 0;
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (!json_object_object_get_ex(o, seg, &o))
			return 0;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	*out = o;
	return 1;
}

static void
export_progress(struct export_ctx *x, int done)
{
	double s;

	if (!x->tty || (!done && x->n % 10000 != 0))
		return;
	s = (double)(mk_now_ms() - x->t0) / 1000.0;
	fprintf(stderr, "\r" PROG ": export: %zu users, %.0f/s%s", x->n,
	    s > 0 ? (double)x->n / s : 0.0, done ? "\n" : "");
}

static int
export_visit(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct export_ctx *x = arg;
	struct json_object *u = NULL, *o = NULL, *v;
	const char *text = rec.p;
	char name[80];
	size_t n = rec.n, i;

	if (eo.nfields > 0) {
		if (jx_parse(rec.p, rec.n, JX_STORED_DEPTH, &u, NULL) != MK_OK ||
		    !json_object_is_type(u, json_type_object)) {
			ctl_errx("export: user %s: the stored record does not parse; "
			    "skipped (run '" PROG " check')", ctl_show(name, sizeof(name), key.p, key.n));
			x->bad++;
			json_object_put(u);
			return 0;
		}
		if ((o = json_object_new_object()) == NULL)
			goto nomem;
		for (i = 0; i < eo.nfields; i++) {
			if (!path_get(u, eo.fields[i], &v))
				continue;
			if (json_object_object_add(o, eo.fields[i], json_object_get(v)) != 0) {
				json_object_put(v);
				goto nomem;
			}
		}
		if ((text = jx_text(o, &n)) == NULL)
			goto nomem;
	}
	if (x->array)
		fputs(x->n == 0 ? "[\n" : ",\n", x->f);
	fwrite(text, 1, n, x->f);
	if (!x->array)
		putc('\n', x->f);
	json_object_put(o);
	json_object_put(u);
	x->n++;
	export_progress(x, 0);
	if (ferror(x->f)) {
		x->failed = 1;
		return 1;
	}
	return 0;
nomem:
	ctl_errx("export: out of memory");
	json_object_put(o);
	json_object_put(u);
	x->failed = 1;
	return 1;
}

/* Split a --fields list into eo.fields (pointers into list, which is changed). */
static int
export_fields(const struct ctl_cmd *self, char *list)
{
	char *p, *save = NULL;
	const char *c;

	for (p = strtok_r(list, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			continue;
		for (c = p; *c != '\0'; c++)
			if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.' && *c != '-')
				return usage_error(self, "--fields: '%s' is not a field name", p);
		if (p[0] == '.' || c[-1] == '.' || strstr(p, "..") != NULL)
			return usage_error(self, "--fields: '%s' is not a field path", p);
		if (eo.nfields == EXPORT_MAX_FIELDS)
			return usage_error(self, "--fields: at most %d fields", EXPORT_MAX_FIELDS);
		eo.fields[eo.nfields++] = p;
	}
	if (eo.nfields == 0)
		return usage_error(self, "--fields: no field named");
	return -1;
}

static int
export_check(const struct ctl_cmd *self, char **operands)
{
	(void)operands;
	if (eo.list != NULL)
		return export_fields(self, eo.list);
	return -1;
}

int
cmd_export(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	static char obuf[1 << 20];
	struct export_ctx x;
	struct store_txn *t = NULL;
	enum mk_code mrc;

	(void)self;
	(void)operands;
	memset(&x, 0, sizeof(x));
	x.array = eo.array;
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	x.f = stdout;
	x.tty = isatty(STDERR_FILENO);
	x.t0 = mk_now_ms();
	/* One read transaction: a consistent snapshot, however long the write takes. */
	if ((mrc = store_read_begin(ctl->store, &t)) != MK_OK) {
		ctl_errx("export: cannot read the database");
		return CTL_FAIL;
	}
	mrc = store_users_scan(t, &store_page_all, export_visit, &x);
	store_txn_end(t);
	if (mrc != MK_OK) {
		ctl_errx("export: reading the users failed: %s", mk_code_name(mrc));
		return CTL_FAIL;
	}
	if (x.failed)
		return CTL_FAIL;
	if (x.array)
		fputs(x.n == 0 ? "[]\n" : "\n]\n", stdout);
	if (flush_stdout() != 0)
		return CTL_FAIL;
	export_progress(&x, 1);
	return x.bad > 0 ? CTL_FAIL : CTL_OK;
}

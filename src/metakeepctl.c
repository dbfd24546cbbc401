/*
 * metakeepctl: the operator's tool.  It opens the same LMDB environment as
 * metakeepd, directly (LMDB makes that safe next to a running daemon): bearer
 * tokens (create, list, revoke); users in and out in Auth0's formats
 * (export, import); backup, check (and repair of the indexes), stats; and
 * the API's user read and PATCH from the shell (user get, user patch),
 * through svc so the same rules apply.
 *
 * Commands are rows of tables (struct ctl_cmd): a top-level table of
 * commands, and a table of subcommands for a command that groups several.
 * Adding "export", "backup" or "user get" is adding a row and a function.
 *
 * Exit status: 0 done, 1 the operation failed, 2 the command line was wrong.
 * A token is printed once, alone on stdout, and never logged or listed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <errno.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "conf.h"
#include "dbdir.h"
#include "err.h"
#include "jx.h"
#include "log.h"
#include "model.h"
#include "sindex.h"
#include "store.h"
#include "svc.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define PROG "metakeepctl"

enum ctl_exit {
	CTL_OK = 0,
	CTL_FAIL = 1,
	CTL_USAGE = 2,
};

/* Longest --expires: 100 years, far below any overflow in milliseconds. */
#define CTL_MAX_DURATION_S (100LL * 366 * 86400)

struct ctl {
	const char *conf_file;    /* -c, or NULL */
	const char *db_dir;       /* --db, or NULL */
	struct mk_conf conf;      /* settled by ctl_store; not copied: store.dir points in */
	struct store *store;      /* opened on first use */
};

struct ctl_cmd {
	const char *name;
	/* argv[0] is the command's own name; returns an enum ctl_exit. */
	int (*fn)(struct ctl *, const struct ctl_cmd *, int, char **);
	const char *args;         /* synopsis after the name */
	const char *summary;      /* one line for --help */
	const char *help;         /* option lines for "CMD --help", or NULL */
	const struct ctl_cmd *sub;/* for a group: its subcommands, NULL-name terminated */
	const char *path;         /* full name, for messages: "token create" */
};

static int cmd_group(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_token_create(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_token_list(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_token_revoke(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_user_get(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_user_patch(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_export(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_import(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_backup(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_check(struct ctl *, const struct ctl_cmd *, int, char **);
static int cmd_stats(struct ctl *, const struct ctl_cmd *, int, char **);

static const struct ctl_cmd token_cmds[] = {
	{ "create", cmd_token_create,
	    "--scope SCOPES [--subject USER_ID] [--expires DURATION]",
	    "issue a token and print it once on stdout",
	    "  -s, --scope SCOPES      scope names, space- or comma-separated, or \"all\";\n"
	    "                          may be repeated\n"
	    "  -u, --subject USER_ID   bind the token to one user\n"
	    "  -e, --expires DURATION  lifetime: 30s, 15m, 12h, 7d, or seconds\n",
	    NULL, "token create" },
	{ "list", cmd_token_list, "[--json]",
	    "show every token's id, scopes, subject, expiry and creation",
	    "  -j, --json              one JSON array instead of a table\n",
	    NULL, "token list" },
	{ "revoke", cmd_token_revoke, "ID",
	    "delete a token by its id or a unique prefix of it (4+ hex digits)",
	    NULL, NULL, "token revoke" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct ctl_cmd user_cmds[] = {
	{ "get", cmd_user_get, "ID",
	    "print a user's JSON as GET /api/v2/users/ID returns it",
	    NULL, NULL, "user get" },
	{ "patch", cmd_user_patch, "ID JSON|-",
	    "change a user as PATCH /api/v2/users/ID does (same rules and merge) "
	    "and print the result",
	    "  JSON is the PATCH body; - reads it from standard input\n", NULL, "user patch" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct ctl_cmd top_cmds[] = {
	{ "token", cmd_group, "create|list|revoke ...", "manage API bearer tokens",
	    NULL, token_cmds, "token" },
	{ "user", cmd_group, "get|patch ...", "read or change one user with the API's rules",
	    NULL, user_cmds, "user" },
	{ "export", cmd_export, "[--format ndjson|json] [--fields LIST]",
	    "write every user to stdout in Auth0's user export format",
	    "  -f, --format FORMAT     ndjson: one user per line (default, as Auth0's\n"
	    "                          export job); json: one JSON array, the bulk\n"
	    "                          import format\n"
	    "  -F, --fields LIST       only these attributes, comma-separated; a dotted\n"
	    "                          path picks into metadata (user_metadata.plan)\n",
	    NULL, "export" },
	{ "import", cmd_import, "[--upsert] [--connection NAME] [--batch N] FILE|-",
	    "load users from an Auth0 bulk import file (a JSON array) or an export (ndjson)",
	    "  -u, --upsert            replace users that exist already (same user_id,\n"
	    "                          or same email in the connection when the record\n"
	    "                          has no user_id); a rerun then changes nothing\n"
	    "  -C, --connection NAME   put every user in connection NAME (default: the\n"
	    "                          record's connection or identities, else the\n"
	    "                          default connection)\n"
	    "  -b, --batch N           records per write transaction (default 1000)\n"
	    "Errors are reported per record as FILE:LINE: record N: reason; the\n"
	    "other records are imported.  Exit status 1 when any record failed.\n",
	    NULL, "import" },
	{ "backup", cmd_backup, "DEST",
	    "copy the database, compacted and consistent, into directory DEST "
	    "(safe while metakeepd serves)",
	    "DEST is created (mode 0700) if missing and must not hold a data.mdb.\n"
	    "To restore: stop metakeepd, replace the database's data.mdb with\n"
	    "DEST/data.mdb (remove its lock.mdb), start metakeepd.\n",
	    NULL, "backup" },
	{ "check", cmd_check, "[--repair]",
	    "verify every record and index; exit 0 when clean, 1 on problems",
	    "  -r, --repair            rebuild the indexes from the records (one write\n"
	    "                          transaction), then check again\n"
	    "Give the daemon's configuration (-c) so the connections are known.\n",
	    NULL, "check" },
	{ "stats", cmd_stats, "[--json]",
	    "show counts, sizes, map use, readers and the last transaction id",
	    "  -j, --json              one JSON object instead of text\n",
	    NULL, "stats" },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct option group_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
ctl_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
ctl_errx(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage_top(FILE *f)
{
	const struct ctl_cmd *c;

	fprintf(f,
	    "usage: " PROG " [-c FILE] [-d DIR] COMMAND [ARGS]\n"
	    "       " PROG " --help | --version\n"
	    "\n"
	    "options:\n"
	    "  -c, --config FILE  read settings from FILE ([metakeepd] section)\n"
	    "  -d, --db DIR       database directory (overrides the config file)\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version\n"
	    "\n"
	    "commands:\n");
	for (c = top_cmds; c->name != NULL; c++)
		fprintf(f, "  %-8s %s\n", c->name, c->summary);
	fprintf(f, "\nRun '" PROG " COMMAND --help' for a command's usage.\n");
}

static void
usage_cmd(FILE *f, const struct ctl_cmd *cmd)
{
	const struct ctl_cmd *c;

	fprintf(f, "usage: " PROG " [-c FILE] [-d DIR] %s %s\n", cmd->path, cmd->args);
	if (cmd->sub != NULL) {
		fprintf(f, "\n%s commands:\n", cmd->path);
		for (c = cmd->sub; c->name != NULL; c++)
			fprintf(f, "  %s %s\n      %s\n", c->name, c->args, c->summary);
		fprintf(f, "\nRun '" PROG " %s COMMAND --help' for details.\n", cmd->path);
		return;
	}
	fprintf(f, "\n%s.\n", cmd->summary);
	if (cmd->help != NULL)
		fprintf(f, "\noptions:\n%s", cmd->help);
}

/* Report a usage error and point at the help. Returns CTL_USAGE. */
static int
usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	if (cmd != NULL)
		fprintf(stderr, "%s: ", cmd->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG "%s%s --help'.\n", cmd != NULL ? " " : "",
	    cmd != NULL ? cmd->path : "");
	return CTL_USAGE;
}

/*
 * getopt_long's complaint about the option just seen, in our words.  opterr
 * is off so the message names the command, not argv[0].
 */
static int
bad_option(const struct ctl_cmd *cmd, int ch, char **argv)
{
	const char *arg = argv[optind - 1];

	if (ch == ':')
		return usage_error(cmd, "option '%s' needs a value", arg);
	if (optopt != 0 && (arg[0] != '-' || arg[1] != '-'))
		return usage_error(cmd, "unknown option '-%c'", optopt);
	return usage_error(cmd, "unknown option '%s'", arg);
}

/* Start a new getopt_long scan: optind 0 reinitializes glibc, musl and BSD. */
static void
getopt_restart(void)
{
	optind = 0;
	opterr = 0;
}

static const struct ctl_cmd *
cmd_find(const struct ctl_cmd *table, const char *name)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

/*
 * Settle the configuration (defaults, -c file, --db) and open the store, once.
 * Returns 0, or -1 after saying why.
 */
static int
ctl_store(struct ctl *ctl, int read_only)
{
	struct mk_err err;

	if (ctl->store != NULL)
		return 0;
	conf_defaults(&ctl->conf);
	err.msg[0] = '\0';
	if (ctl->conf_file != NULL &&
	    conf_load_file(&ctl->conf, ctl->conf_file, &err) != MK_OK) {
		ctl_errx("%s", err.msg);
		return -1;
	}
	if (ctl->db_dir != NULL &&
	    conf_set(&ctl->conf, "database", ctl->db_dir, &err) != MK_OK) {
		ctl_errx("--db: %s", err.msg);
		return -1;
	}
	ctl->conf.store.dir = ctl->conf.db_dir;
	ctl->conf.store.read_only = read_only;
	if (store_open(&ctl->conf.store, &ctl->store, &err) != MK_OK) {
		ctl_errx("cannot open the database in %s: %s", ctl->conf.db_dir, err.msg);
		return -1;
	}
	/* As root next to a daemon: what LMDB just created stays the daemon's. */
	if (dbdir_adopt(ctl->conf.db_dir, &err) == -1) {
		ctl_errx("%s", err.msg);
		return -1;
	}
	return 0;
}

/* A command with subcommands: "token create ...". */
static int
cmd_group(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	const struct ctl_cmd *c;
	int ch;

	getopt_restart();
	/* "+": stop at the subcommand; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+:h", group_opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage_cmd(stdout, self);
			return CTL_OK;
		default:
			return bad_option(self, ch, argv);
		}
	}
	if (optind >= argc)
		return usage_error(self, "a command is needed");
	if ((c = cmd_find(self->sub, argv[optind])) == NULL)
		return usage_error(self, "unknown command '%s'", argv[optind]);
	return c->fn(ctl, c, argc - optind, argv + optind);
}

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
cmd_token_create(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scope", required_argument, NULL, 's' },
		{ "subject", required_argument, NULL, 'u' },
		{ "expires", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char token[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1], names[512];
	char iso[MK_ISO_LEN + 1];
	const char *sub = NULL;
	uint32_t scopes = 0, more;
	int64_t life_ms = 0, exp_ms = 0;
	int ch, saw_scope = 0, rc = CTL_FAIL;
	struct mk_err err;

	getopt_restart();
	while ((ch = getopt_long(argc, argv, ":s:u:e:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (auth_scopes_parse(optarg, &more, &err) != MK_OK)
				return usage_error(self, "%s", err.msg);
			scopes |= more;
			saw_scope = 1;
			break;
		case 'u':
			if (!subject_ok(optarg))
				return usage_error(self, "--subject: 1 to %d printable "
				    "characters without spaces", AUTH_SUB_MAX - 1);
			sub = optarg;
			break;
		case 'e':
			if (parse_duration(optarg, &life_ms) != 0)
				return usage_error(self, "--expires: '%s' is not a duration "
				    "such as 30s, 15m, 12h, 7d or a number of seconds "
				    "(at most 100 years)", optarg);
			break;
		case 'h':
			usage_cmd(stdout, self);
			fputs("\nscopes:\n", stdout);
			for (more = 1; more & SC_ALL; more <<= 1)
				printf("  %s\n", auth_scope_name(more));
			printf("  all (every scope above)\n");
			return CTL_OK;
		default:
			return bad_option(self, ch, argv);
		}
	}
	if (optind < argc)
		return usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (!saw_scope || scopes == 0)
		return usage_error(self, "--scope with at least one scope is required (for example "
		    "--scope \"read:users update:users\" or --scope all)");

	if (ctl_store(ctl, 0) != 0)
		return CTL_FAIL;
	if (life_ms != 0)
		exp_ms = mk_now_ms() + life_ms;
	err.msg[0] = '\0';
	if (auth_token_create(ctl->store, scopes, sub, exp_ms, token, id, &err) != MK_OK) {
		ctl_errx("cannot create the token: %s", err.msg);
		goto out;
	}

	/* The token alone on stdout, so that $(metakeepctl token create ...) works. */
	if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
		/* Nobody saw it: do not leave a live token behind. */
		ctl_errx("cannot write the token to stdout; revoking it");
		if (auth_token_revoke(ctl->store, id, &err) != MK_OK)
			ctl_errx("revoking token %s failed: %s", id, err.msg);
		goto out;
	}
	if (scopes == SC_ALL)
		snprintf(names, sizeof(names), "all");
	else
		auth_scopes_format(scopes, " ", names, sizeof(names));
	if (exp_ms != 0)
		mk_iso8601(exp_ms, iso);
	fprintf(stderr, PROG ": created token %s\n"
	    "  scopes:  %s\n"
	    "  subject: %s\n"
	    "  expires: %s\n"
	    "The token is shown only this once; only its hash is stored.\n",
	    id, names, sub != NULL ? sub : "(none)", exp_ms != 0 ? iso : "never");
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
		if (t->scopes == SC_ALL)
			snprintf(names, sizeof(names), "all");
		else
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

static int
cmd_token_list(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct list_ctx lc;
	enum mk_code mrc;
	int64_t now_ms;
	int ch, json = 0, rc = CTL_FAIL;

	memset(&lc, 0, sizeof(lc));
	getopt_restart();
	while ((ch = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			usage_cmd(stdout, self);
			return CTL_OK;
		default:
			return bad_option(self, ch, argv);
		}
	}
	if (optind < argc)
		return usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (ctl_store(ctl, 1) != 0)
		return CTL_FAIL;

	/* Collect first: print outside the read transaction, in a stable order. */
	if ((mrc = auth_token_list(ctl->store, list_visit, &lc)) != MK_OK) {
		ctl_errx("cannot list tokens: %s", mk_code_name(mrc));
		goto out;
	}
	if (lc.nomem) {
		ctl_errx("out of memory");
		goto out;
	}
	qsort(lc.v, lc.n, sizeof(lc.v[0]), list_cmp);
	now_ms = mk_now_ms();
	if (json) {
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
cmd_token_revoke(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mk_err err;
	enum mk_code mrc;
	int ch;

	getopt_restart();
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage_cmd(stdout, self);
			return CTL_OK;
		default:
			return bad_option(self, ch, argv);
		}
	}
	if (argc - optind != 1)
		return usage_error(self, "exactly one token ID is needed "
		    "(see '" PROG " token list')");
	if (!id_ok(argv[optind]))
		return usage_error(self, "'%s' is not a token id (%d to %d hex digits)",
		    argv[optind], 4, AUTH_ID_LEN);
	if (ctl_store(ctl, 0) != 0)
		return CTL_FAIL;
	err.msg[0] = '\0';
	if ((mrc = auth_token_revoke(ctl->store, argv[optind], &err)) != MK_OK) {
		if (mrc == MK_ERR_INVALID && strcmp(err.msg, "ambiguous token id") == 0)
			ctl_errx("'%s' matches more than one token: give more of the id",
			    argv[optind]);
		else
			ctl_errx("cannot revoke '%s': %s", argv[optind], err.msg);
		return CTL_FAIL;
	}
	fprintf(stderr, PROG ": revoked token %s\n", argv[optind]);
	return CTL_OK;
}

/* ---- shared helpers of the admin commands ---- */

/* Copy a slice for a message: control characters become '?', long ones are cut. */
static const char *
show(char *dst, size_t dstsz, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 4 < dstsz; i++)
		dst[i] = ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) ? '?' : p[i];
	if (i < n) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
	return dst;
}

/* A command whose only option is --help.  Returns -1 to go on, else an exit code. */
static int
help_only(const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	getopt_restart();
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage_cmd(stdout, self);
			return CTL_OK;
		default:
			return bad_option(self, ch, argv);
		}
	}
	return -1;
}

static int
flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_errx("cannot write to stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Depth bound for parsing one whole user: metadata depth plus the user and slack. */
static int
record_depth(const struct ctl *ctl)
{
	int d = ctl->conf.limits.max_depth > 0 ? ctl->conf.limits.max_depth : 32;

	return d + 2 > JX_DEPTH_LIMIT ? JX_DEPTH_LIMIT : d + 2;
}

/* Stored records were written by us, but are still parsed with a bound. */
#define STORED_DEPTH 512

/* ---- user get / user patch ---- */

static int
cmd_user_get(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	struct store_txn *t = NULL;
	struct mk_slice key, rec;
	enum mk_code mrc;
	int rc;

	if ((rc = help_only(self, argc, argv)) >= 0)
		return rc;
	if (argc - optind != 1)
		return usage_error(self, "exactly one user ID is needed");
	if (ctl_store(ctl, 1) != 0)
		return CTL_FAIL;
	if (store_read_begin(ctl->store, &t) != MK_OK) {
		ctl_errx("cannot read the database");
		return CTL_FAIL;
	}
	key.p = argv[optind];
	key.n = strlen(argv[optind]);
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

static int
cmd_user_patch(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	struct mk_buf in = MK_BUF_INIT, out = MK_BUF_INIT;
	struct json_object *body = NULL;
	struct mk_err err;
	const char *id, *text;
	size_t len;
	int rc;

	if ((rc = help_only(self, argc, argv)) >= 0)
		return rc;
	if (argc - optind != 2)
		return usage_error(self, "a user ID and a JSON body (or -) are needed");
	id = argv[optind];
	text = argv[optind + 1];
	if (ctl_store(ctl, 0) != 0)
		return CTL_FAIL;
	rc = CTL_FAIL;
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
	if (jx_parse(text, len, ctl->conf.limits.max_depth + 2, &body, &err) != MK_OK) {
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

/* ---- export ---- */

#define EXPORT_MAX_FIELDS 64

struct export_ctx {
	FILE *f;
	int array;                 /* --format json */
	size_t n;
	char *fields[EXPORT_MAX_FIELDS];
	size_t nfields;
	size_t bad;
	int failed;
	int tty;
	int64_t t0;
};

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

	if (x->nfields > 0) {
		if (jx_parse(rec.p, rec.n, STORED_DEPTH, &u, NULL) != MK_OK ||
		    !json_object_is_type(u, json_type_object)) {
			ctl_errx("export: user %s: the stored record does not parse; "
			    "skipped (run '" PROG " check')", show(name, sizeof(name), key.p, key.n));
			x->bad++;
			json_object_put(u);
			return 0;
		}
		if ((o = json_object_new_object()) == NULL)
			goto nomem;
		for (i = 0; i < x->nfields; i++) {
			if (!path_get(u, x->fields[i], &v))
				continue;
			if (json_object_object_add(o, x->fields[i], json_object_get(v)) != 0) {
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

/* Split a --fields list into x->fields (pointers into list, which is changed). */
static int
export_fields(const struct ctl_cmd *self, char *list, struct export_ctx *x)
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
		if (x->nfields == EXPORT_MAX_FIELDS)
			return usage_error(self, "--fields: at most %d fields", EXPORT_MAX_FIELDS);
		x->fields[x->nfields++] = p;
	}
	if (x->nfields == 0)
		return usage_error(self, "--fields: no field named");
	return -1;
}

static int
cmd_export(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "fields", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char obuf[1 << 20];
	struct export_ctx x;
	struct store_txn *t = NULL;
	char *fields = NULL;
	enum mk_code mrc;
	int ch, rc;

	memset(&x, 0, sizeof(x));
	getopt_restart();
	while ((ch = getopt_long(argc, argv, ":f:F:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "ndjson") == 0)
				x.array = 0;
			else if (strcmp(optarg, "json") == 0)
				x.array = 1;
			else
				return usage_error(self, "--format: 'ndjson' or 'json', not '%s'",
				    optarg);
			break;
		case 'F':
			fields = optarg;
			break;
		case 'h':
			usage_cmd(stdout, self);
			return CTL_OK;
		default:
			return bad_option(self, ch, argv);
		}
	}
	if (optind < argc)
		return usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (fields != NULL && (rc = export_fields(self, fields, &x)) >= 0)
		return rc;
	if (ctl_store(ctl, 1) != 0)
		return CTL_FAIL;

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

/* ---- import ---- */

#define IMPORT_BATCH 1000
#define IMPORT_BATCH_MAX 100000
#define IMPORT_BATCH_BYTES ((size_t)32 << 20)  /* of record text, per batch */

/* One record read from the file, waiting for its batch to be written. */
struct pending {
	size_t no;          /* 1-based position in the file */
	size_t line;        /* line where it starts */
	size_t slot;        /* index into recs, when msg is NULL */
	char *msg;          /* owned: why it could not be read, or NULL */
};

struct import_ctx {
	struct ctl *ctl;
	const char *name;           /* the file, for messages */
	const char *connection;
	int upsert;
	size_t batch_max;
	struct svc_import_rec *recs;/* batch_max slots */
	struct pending *pend;       /* batch_max slots */
	size_t nrecs, npend, bytes;
	size_t records, created, updated, unchanged, failed;
	int fatal;
	int tty;
	int depth;
	size_t elem_limit;
	int64_t t0;

	/* The scanner: where in the top-level sequence we are. */
	enum {
		TOP_BEGIN,   /* nothing seen yet */
		TOP_FIRST,   /* after '[' */
		TOP_ELEM,    /* after ',' */
		TOP_SEP,     /* after an element of the array */
		TOP_END,     /* after ']' */
		TOP_SEQ,     /* between the values of a sequence (ndjson) */
	} top;
	int array;
	int in_elem, depth_now, in_str, esc, bare, over;
	struct mk_buf elem;
	size_t line, elem_line;
	unsigned long long off;
};

static void
import_say(struct import_ctx *ic, size_t line, size_t no, const char *msg)
{
	/* A progress line is on the terminal: start a fresh one. */
	if (ic->tty)
		fputc('\n', stderr);
	fprintf(stderr, PROG ": %s:%zu: record %zu: %s\n", ic->name, line, no, msg);
}

static void
import_progress(struct import_ctx *ic, int done)
{
	double s;

	if (!ic->tty)
		return;
	s = (double)(mk_now_ms() - ic->t0) / 1000.0;
	fprintf(stderr, "\r" PROG ": import: %zu records, %.0f/s%s", ic->records,
	    s > 0 ? (double)ic->records / s : 0.0, done ? "\n" : "");
}

/* Write the pending batch, report its records in file order, and empty it. */
static void
import_flush(struct import_ctx *ic)
{
	struct svc_import_rec *r;
	struct pending *p;
	struct mk_err err;
	enum mk_code mrc = MK_OK;
	size_t i;

	if (ic->npend == 0)
		return;
	memset(&err, 0, sizeof(err));
	if (!ic->fatal)
		mrc = svc_user_import(ic->ctl->store, &ic->ctl->conf.limits, ic->connection,
		    ic->upsert, ic->recs, ic->nrecs, &err);
	if (ic->fatal) {
		/* Already stopped: nothing more is written. */
	} else if (mrc != MK_OK) {
		if (ic->tty)
			fputc('\n', stderr);
		ctl_errx("import: %s: records %zu to %zu were not written: %s", ic->name,
		    ic->pend[0].no, ic->pend[ic->npend - 1].no,
		    err.msg[0] != '\0' ? err.msg : mk_code_name(mrc));
		ic->fatal = 1;
	} else {
		for (i = 0; i < ic->npend; i++) {
			p = &ic->pend[i];
			if (p->msg != NULL) {
				import_say(ic, p->line, p->no, p->msg);
				ic->failed++;
				continue;
			}
			r = &ic->recs[p->slot];
			if (r->code != MK_OK) {
				import_say(ic, p->line, p->no, r->err.msg[0] != '\0' ?
				    r->err.msg : mk_code_name(r->code));
				ic->failed++;
			} else if (r->action == SVC_IMPORT_CREATED)
				ic->created++;
			else if (r->action == SVC_IMPORT_UPDATED)
				ic->updated++;
			else
				ic->unchanged++;
		}
	}
	for (i = 0; i < ic->nrecs; i++) {
		json_object_put(ic->recs[i].rec);
		ic->recs[i].rec = NULL;
	}
	for (i = 0; i < ic->npend; i++) {
		free(ic->pend[i].msg);
		ic->pend[i].msg = NULL;
	}
	ic->nrecs = ic->npend = ic->bytes = 0;
	import_progress(ic, 0);
}

/* A complete element of the top-level sequence: parse it and queue it. */
static void
import_element(struct import_ctx *ic)
{
	struct json_object *o = NULL;
	struct pending *p;
	struct mk_err err;
	char msg[MK_ERR_MSG + 64];

	ic->records++;
	p = &ic->pend[ic->npend++];
	p->no = ic->records;
	p->line = ic->elem_line;
	p->msg = NULL;
	memset(&err, 0, sizeof(err));
	if (ic->over)
		snprintf(msg, sizeof(msg), "the record is larger than %zu bytes", ic->elem_limit);
	else if (ic->elem.failed)
		snprintf(msg, sizeof(msg), "out of memory");
	else if (jx_parse(ic->elem.p, ic->elem.n, ic->depth, &o, &err) != MK_OK)
		snprintf(msg, sizeof(msg), "%s", err.msg);
	else {
		p->slot = ic->nrecs;
		ic->recs[ic->nrecs++].rec = o;
		ic->bytes += ic->elem.n;
		goto queued;
	}
	if ((p->msg = strdup(msg)) == NULL) {
		ctl_errx("import: out of memory");
		ic->npend--;
		ic->fatal = 1;
	}
queued:
	buf_reset(&ic->elem);
	ic->in_elem = ic->over = 0;
	ic->top = ic->array ? TOP_SEP : TOP_SEQ;
	if (ic->npend == ic->batch_max || ic->bytes >= IMPORT_BATCH_BYTES)
		import_flush(ic);
}

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A byte that ends a bare scalar (number, true, ...). */
static int
ends_bare(int c)
{
	return is_ws(c) || c == ',' || c == ']' || c == '}' || c == '[' || c == '{' ||
	    c == '"';
}

static void
elem_byte(struct import_ctx *ic, int c)
{
	char ch = (char)c;

	if (ic->over)
		return;
	if (ic->elem.n >= ic->elem_limit) {
		ic->over = 1;
		return;
	}
	buf_add(&ic->elem, &ch, 1);
}

static void
elem_start(struct import_ctx *ic, int c)
{
	ic->in_elem = 1;
	ic->elem_line = ic->line;
	ic->depth_now = ic->in_str = ic->esc = ic->bare = ic->over = 0;
	buf_reset(&ic->elem);
	elem_byte(ic, c);
	if (c == '{' || c == '[')
		ic->depth_now = 1;
	else if (c == '"')
		ic->in_str = 1;
	else
		ic->bare = 1;
}

/*
 * Feed one byte.  The file is a JSON array of records (Auth0's bulk import
 * format) or a sequence of records separated by white space (ndjson, as
 * export writes).  Elements are found by tracking strings and brackets
 * only; each one is then parsed on its own by jx_parse, so a malformed
 * record is a reported record, not the end of the import.  Returns 0, or
 * -1 on a structural error (said).
 */
static int
import_byte(struct import_ctx *ic, int c)
{
	ic->off++;
	if (ic->in_elem) {
		if (ic->bare) {
			if (!ends_bare(c)) {
				elem_byte(ic, c);
				goto nl;
			}
			import_element(ic);
			/* The delimiter is the sequence's: fall through to it. */
		} else {
			elem_byte(ic, c);
			if (ic->in_str) {
				if (ic->esc)
					ic->esc = 0;
				else if (c == '\\')
					ic->esc = 1;
				else if (c == '"') {
					ic->in_str = 0;
					if (ic->depth_now == 0)
						import_element(ic);
				}
			} else if (c == '"')
				ic->in_str = 1;
			else if (c == '{' || c == '[')
				ic->depth_now++;
			else if ((c == '}' || c == ']') && --ic->depth_now == 0)
				import_element(ic);
			goto nl;
		}
	}
	if (is_ws(c))
		goto nl;
	switch (ic->top) {
	case TOP_BEGIN:
		if (c == '[') {
			ic->array = 1;
			ic->top = TOP_FIRST;
			break;
		}
		if (c == ',' || c == ']' || c == '}')
			goto bad;
		elem_start(ic, c);
		break;
	case TOP_FIRST:
		if (c == ']') {
			ic->top = TOP_END;
			break;
		}
		/* FALLTHROUGH */
	case TOP_ELEM:
	case TOP_SEQ:
		if (c == ',' || c == ']' || c == '}')
			goto bad;
		elem_start(ic, c);
		break;
	case TOP_SEP:
		if (c == ',')
			ic->top = TOP_ELEM;
		else if (c == ']')
			ic->top = TOP_END;
		else
			goto bad;
		break;
	case TOP_END:
		goto bad;
	}
nl:
	if (c == '\n')
		ic->line++;
	return 0;
bad:
	if (ic->tty)
		fputc('\n', stderr);
	ctl_errx("import: %s:%zu: unexpected '%c' at byte %llu: %s", ic->name, ic->line,
	    c >= 0x20 && c < 0x7f ? c : '?', ic->off,
	    ic->top == TOP_SEP ? "expected ',' or ']' after a record" :
	    ic->top == TOP_END ? "nothing may follow the closing ']'" :
	    "expected a record");
	return -1;
}

/* End of input: finish a bare value, or complain about an open one. */
static int
import_eof(struct import_ctx *ic)
{
	if (ic->in_elem && ic->bare) {
		import_element(ic);
		return 0;
	}
	if (ic->in_elem) {
		ctl_errx("import: %s:%zu: the input ends inside record %zu", ic->name,
		    ic->elem_line, ic->records + 1);
		return -1;
	}
	if (ic->array && ic->top != TOP_END) {
		ctl_errx("import: %s:%zu: the input ends before the closing ']'", ic->name,
		    ic->line);
		return -1;
	}
	return 0;
}

static int
connection_configured(const struct ctl *ctl, const char *name)
{
	const char *const *c = ctl->conf.limits.connections;

	if (c == NULL)
		return strcmp(name, MODEL_DEFAULT_CONNECTION) == 0;
	for (; *c != NULL; c++)
		if (strcmp(*c, name) == 0)
			return 1;
	return 0;
}

static int
cmd_import(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "upsert", no_argument, NULL, 'u' },
		{ "connection", required_argument, NULL, 'C' },
		{ "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char ibuf[1 << 16];
	struct import_ctx ic;
	FILE *f = NULL;
	const char *path;
	char *end;
	unsigned long v;
	size_t n, i;
	int ch, rc = CTL_FAIL, stop = 0;

	memset(&ic, 0, sizeof(ic));
	ic.batch_max = IMPORT_BATCH;
	getopt_restart();
	while ((ch = getopt_long(argc, argv, ":uC:b:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			ic.upsert = 1;
			break;
		case 'C':
			if (optarg[0] == '\0')
				return usage_error(self, "--connection: a name is needed");
			ic.connection = optarg;
			break;
		case 'b':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (!isdigit((unsigned char)optarg[0]) || *end != '\0' || errno != 0 ||
			    v < 1 || v > IMPORT_BATCH_MAX)
				return usage_error(self, "--batch: a number from 1 to %d",
				    IMPORT_BATCH_MAX);
			ic.batch_max = v;
			break;
		case 'h':
			usage_cmd(stdout, self);
			return CTL_OK;
		default:
			return bad_option(self, ch, argv);
		}
	}
	if (argc - optind != 1)
		return usage_error(self, "exactly one FILE (or - for standard input) is needed");
	path = argv[optind];
	if (ctl_store(ctl, 0) != 0)
		return CTL_FAIL;
	if (ic.connection != NULL && !connection_configured(ctl, ic.connection)) {
		ctl_errx("import: connection '%s' is not configured (see 'connections' "
		    "in the configuration file)", ic.connection);
		return CTL_FAIL;
	}
	if (strcmp(path, "-") == 0) {
		f = stdin;
		ic.name = "(stdin)";
	} else if ((f = fopen(path, "r")) == NULL) {
		ctl_errx("import: %s: %s", path, strerror(errno));
		return CTL_FAIL;
	} else
		ic.name = path;

	ic.ctl = ctl;
	ic.tty = isatty(STDERR_FILENO);
	ic.depth = record_depth(ctl);
	/* Room for a pretty-printed record at the size limit. */
	ic.elem_limit = ctl->conf.limits.max_user_bytes * 4;
	if (ic.elem_limit < ((size_t)4 << 20))
		ic.elem_limit = (size_t)4 << 20;
	ic.line = 1;
	ic.t0 = mk_now_ms();
	ic.recs = calloc(ic.batch_max, sizeof(*ic.recs));
	ic.pend = calloc(ic.batch_max, sizeof(*ic.pend));
	if (ic.recs == NULL || ic.pend == NULL) {
		ctl_errx("import: out of memory");
		goto out;
	}

	while (!stop && !ic.fatal && (n = fread(ibuf, 1, sizeof(ibuf), f)) > 0) {
		for (i = 0; i < n; i++)
			if (import_byte(&ic, (unsigned char)ibuf[i]) != 0) {
				stop = 1;
				break;
			}
	}
	if (!stop && ferror(f)) {
		ctl_errx("import: %s: %s", ic.name, strerror(errno));
		stop = 1;
	}
	if (!stop && !ic.fatal && import_eof(&ic) != 0)
		stop = 1;
	/* What was read before a structural error is still written. */
	import_flush(&ic);
	import_progress(&ic, 1);
	fprintf(stderr, PROG ": import: %zu record%s: %zu created, %zu updated, "
	    "%zu unchanged, %zu failed%s\n", ic.records, ic.records == 1 ? "" : "s",
	    ic.created, ic.updated, ic.unchanged, ic.failed,
	    stop || ic.fatal ? "; stopped early" : "");
	if (!stop && !ic.fatal && ic.failed == 0)
		rc = CTL_OK;
out:
	if (f != NULL && f != stdin)
		fclose(f);
	if (ic.recs != NULL)
		for (i = 0; i < ic.nrecs; i++)
			json_object_put(ic.recs[i].rec);
	if (ic.pend != NULL)
		for (i = 0; i < ic.npend; i++)
			free(ic.pend[i].msg);
	free(ic.recs);
	free(ic.pend);
	buf_free(&ic.elem);
	return rc;
}

/* ---- backup ---- */

static int
cmd_backup(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	char path[4200];
	struct stat st;
	struct mk_err err;
	int64_t t0;
	mode_t old;
	enum mk_code mrc;
	int rc;

	if ((rc = help_only(self, argc, argv)) >= 0)
		return rc;
	if (argc - optind != 1)
		return usage_error(self, "exactly one destination directory is needed");
	if (ctl_store(ctl, 1) != 0)
		return CTL_FAIL;
	memset(&err, 0, sizeof(err));
	t0 = mk_now_ms();
	/* The copy holds password hashes: nobody else may read it. */
	old = umask(077);
	mrc = store_copy(ctl->store, argv[optind], 1, &err);
	umask(old);
	if (mrc != MK_OK) {
		ctl_errx("backup: %s", err.msg);
		return CTL_FAIL;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", argv[optind]);
	if (stat(path, &st) == 0)
		fprintf(stderr, PROG ": backup: wrote %s (%lld bytes) in %.1f s\n", path,
		    (long long)st.st_size, (double)(mk_now_ms() - t0) / 1000.0);
	return CTL_OK;
}

/* ---- check ---- */

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
	show(id, sizeof(id), key.p, key.n);
	memset(&err, 0, sizeof(err));
	if (jx_parse(rec.p, rec.n, STORED_DEPTH, &u, &err) != MK_OK ||
	    !json_object_is_type(u, json_type_object)) {
		problem(c, "user %s: the record does not parse as an object: %s", id,
		    err.msg[0] != '\0' ? err.msg : "not an object");
		goto out;
	}
	model_user_keys(u, &k);
	if (strlen(k.user_id) != key.n || memcmp(k.user_id, key.p, key.n) != 0)
		problem(c, "user %s: the record's user_id is '%s'", id,
		    show(shown, sizeof(shown), k.user_id, strlen(k.user_id)));
	if (max > 0 && rec.n > max)
		problem(c, "user %s: %zu bytes, over the limit of %zu", id, rec.n, max);
	/* The API's rules: what an import of the record builds must be the record. */
	if ((mrc = model_user_import(u, &c->mctx, NULL, &canon, NULL, &err)) != MK_OK)
		problem(c, "user %s: %s", id, mrc == MK_ERR_NOMEM ? "out of memory" : err.msg);
	else if ((text = jx_text(canon, &n)) == NULL || n != rec.n ||
	    memcmp(text, rec.p, n) != 0)
		problem(c, "user %s: the record is not in the form the API writes", id);

	for (i = 0; i < 3; i++) {
		want = ix_attr(user_ix[i], &k);
		mrc = store_index_get(c->t, user_ix[i], want, k.user_id, &v);
		if (mrc == MK_ERR_NOTFOUND) {
			problem(c, "user %s: no %s entry for '%s'", id,
			    store_index_name(user_ix[i]), show(shown, sizeof(shown), want,
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
			    "the record '%s'", id, show(shown, sizeof(shown), v.p, v.n),
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
	show(id, sizeof(id), key.p, key.n);
	memset(&err, 0, sizeof(err));
	if (jx_parse(rec.p, rec.n, STORED_DEPTH, &o, &err) != MK_OK ||
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
	show(sv, sizeof(sv), value.p, value.n);
	if (id.n == 0) {
		if (!c->pass2)
			problem(c, "%s: entry '%s' has no id", store_index_name(c->ix), sv);
		return 0;
	}
	show(si, sizeof(si), id.p, id.n);
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
	if (jx_parse(rec.p, rec.n, STORED_DEPTH, &o, NULL) != MK_OK)
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
	show(id, 17, key.p, key.n);
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
	show(id, sizeof(id), key.p, key.n);
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

struct repair {
	size_t users, clients, skipped;
	enum mk_code code;
	struct store_txn *t;
};

static int
repair_user(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct repair *r = arg;
	struct json_object *u = NULL;
	struct model_user_keys mk;
	struct store_user_keys sk;
	enum mk_code mrc;

	if (jx_parse(rec.p, rec.n, STORED_DEPTH, &u, NULL) != MK_OK ||
	    !json_object_is_type(u, json_type_object)) {
		r->skipped++;
		goto out;
	}
	model_user_keys(u, &mk);
	/* Index under the key the record is stored at, the one reads use. */
	if (strlen(mk.user_id) != key.n || memcmp(mk.user_id, key.p, key.n) != 0) {
		r->skipped++;
		goto out;
	}
	sk.user_id = mk.user_id;
	sk.email = mk.email;
	sk.connection = mk.connection;
	sk.created_at = mk.created_at;
	sk.updated_at = mk.updated_at;
	mrc = store_user_index(r->t, &sk);
	if (mrc == MK_ERR_INVALID)
		r->skipped++;
	else if (mrc != MK_OK)
		r->code = mrc;
	else
		r->users++;
out:
	json_object_put(u);
	return r->code != MK_OK;
}

static int
repair_client(void *arg, struct mk_slice key, struct mk_slice rec)
{
	struct repair *r = arg;
	struct json_object *o = NULL;
	const char *cid, *created;
	enum mk_code mrc;

	if (jx_parse(rec.p, rec.n, STORED_DEPTH, &o, NULL) != MK_OK ||
	    (cid = jx_get_str(o, "client_id")) == NULL ||
	    (created = jx_get_str(o, "created_at")) == NULL ||
	    strlen(cid) != key.n || memcmp(cid, key.p, key.n) != 0) {
		r->skipped++;
		goto out;
	}
	mrc = store_client_index(r->t, cid, created);
	if (mrc == MK_ERR_INVALID)
		r->skipped++;
	else if (mrc != MK_OK)
		r->code = mrc;
	else
		r->clients++;
out:
	json_object_put(o);
	return r->code != MK_OK;
}

/* Drop the four indexes and write them again from the records, in one transaction. */
static enum mk_code
repair_tx(struct store_txn *t, void *arg, struct mk_err *err)
{
	struct repair *r = arg;
	enum mk_code mrc;
	int i;

	r->t = t;
	r->users = r->clients = r->skipped = 0;
	r->code = MK_OK;
	for (i = 0; i < STORE_IX__COUNT; i++)
		if ((mrc = store_index_clear(t, (enum store_index)i)) != MK_OK)
			return mk_fail(err, mrc, "clearing %s",
			    store_index_name((enum store_index)i));
	if ((mrc = store_table_scan(t, ST_USERS, repair_user, r)) != MK_OK ||
	    (mrc = r->code) != MK_OK ||
	    (mrc = store_table_scan(t, ST_CLIENTS, repair_client, r)) != MK_OK ||
	    (mrc = r->code) != MK_OK)
		return mk_fail(err, mrc, "rebuilding the indexes: %s", mk_code_name(mrc));
	return MK_OK;
}

static int
store_write_search_rebuild(struct ctl *ctl, struct mk_err *err)
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

static int
cmd_check(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct check c;
	struct repair r;
	struct mk_err err;
	int ch, repair = 0;

	getopt_restart();
	while ((ch = getopt_long(argc, argv, ":rh", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			repair = 1;
			break;
		case 'h':
			usage_cmd(stdout, self);
			return CTL_OK;
		default:
			return bad_option(self, ch, argv);
		}
	}
	if (optind < argc)
		return usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (ctl_store(ctl, !repair) != 0)
		return CTL_FAIL;
	if (check_run(ctl, &c) != 0)
		return CTL_FAIL;
	check_summary(&c);
	if (!repair || c.problems == 0) {
		if (flush_stdout() != 0)
			return CTL_FAIL;
		return c.problems == 0 ? CTL_OK : CTL_FAIL;
	}

	memset(&r, 0, sizeof(r));
	memset(&err, 0, sizeof(err));
	if (store_write(ctl->store, repair_tx, &r, &err) != MK_OK) {
		ctl_errx("check: repair failed, nothing changed: %s", err.msg);
		return CTL_FAIL;
	}
	printf("repair: indexes rebuilt from %zu users and %zu clients", r.users, r.clients);
	if (r.skipped > 0)
		printf(" (%zu records unreadable, left out)", r.skipped);
	printf("\n");
	/* The search index rebuilds itself in batches (writers may go on). */
	if (store_write_search_rebuild(ctl, &err) != 0)
		return CTL_FAIL;
	/* Say what is left: problems in the records themselves are not repaired. */
	if (check_run(ctl, &c) != 0)
		return CTL_FAIL;
	check_summary(&c);
	if (flush_stdout() != 0)
		return CTL_FAIL;
	return c.problems == 0 ? CTL_OK : CTL_FAIL;
}

/* ---- stats ---- */

static const char *
human(char *buf, size_t cap, double bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (bytes >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, cap, i == 0 ? "%.0f %s" : "%.1f %s", bytes, unit[i]);
	return buf;
}

static size_t
table_entries(const struct store_stats *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->ntables; i++)
		if (strcmp(st->tables[i].name, name) == 0)
			return st->tables[i].entries;
	return 0;
}

static int
stats_json(const struct ctl *ctl, const struct store_stats *st, long long file)
{
	struct json_object *o = NULL, *tabs = NULL, *t = NULL;
	size_t i;
	int rc = -1;

#define ADD(obj, k, v) do { \
	struct json_object *v_ = (v); \
	if (v_ == NULL || json_object_object_add((obj), (k), v_) != 0) { \
		json_object_put(v_); \
		goto out; \
	} \
} while (0)
	if ((o = json_object_new_object()) == NULL)
		goto out;
	ADD(o, "database", json_object_new_string(ctl->conf.db_dir));
	ADD(o, "users", json_object_new_int64((int64_t)table_entries(st, "users")));
	ADD(o, "clients", json_object_new_int64((int64_t)table_entries(st, "clients")));
	ADD(o, "tokens", json_object_new_int64((int64_t)table_entries(st, "tokens")));
	ADD(o, "password_hashes", json_object_new_int64((int64_t)table_entries(st, "pwhash")));
	ADD(o, "file_bytes", json_object_new_int64(file));
	ADD(o, "map_bytes", json_object_new_int64((int64_t)st->map_size));
	ADD(o, "map_used_bytes", json_object_new_int64((int64_t)st->map_used));
	ADD(o, "page_size", json_object_new_int64((int64_t)st->page_size));
	ADD(o, "free_pages", json_object_new_int64((int64_t)st->free_pages));
	ADD(o, "last_txn_id", json_object_new_int64((int64_t)st->last_txnid));
	ADD(o, "max_readers", json_object_new_int64(st->max_readers));
	ADD(o, "reader_slots", json_object_new_int64(st->reader_slots));
	ADD(o, "readers_active", json_object_new_int64(st->readers_active));
	if ((tabs = json_object_new_object()) == NULL)
		goto out;
	for (i = 0; i < st->ntables; i++) {
		if ((t = json_object_new_object()) == NULL)
			goto out;
		ADD(t, "entries", json_object_new_int64((int64_t)st->tables[i].entries));
		ADD(t, "depth", json_object_new_int64(st->tables[i].depth));
		ADD(t, "pages", json_object_new_int64((int64_t)st->tables[i].pages));
		ADD(t, "overflow_pages",
		    json_object_new_int64((int64_t)st->tables[i].overflow_pages));
		ADD(t, "bytes", json_object_new_int64((int64_t)(st->tables[i].pages *
		    st->page_size)));
		ADD(tabs, st->tables[i].name, t);
		t = NULL;
	}
	ADD(o, "tables", tabs);
	tabs = NULL;
#undef ADD
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = 0;
out:
	json_object_put(t);
	json_object_put(tabs);
	json_object_put(o);
	return rc;
}

static void
stats_text(const struct ctl *ctl, const struct store_stats *st, long long file)
{
	char a[32], b[32];
	size_t i;

	printf("database:         %s\n", ctl->conf.db_dir);
	printf("users:            %zu\n", table_entries(st, "users"));
	printf("clients:          %zu\n", table_entries(st, "clients"));
	printf("tokens:           %zu\n", table_entries(st, "tokens"));
	printf("password hashes:  %zu\n", table_entries(st, "pwhash"));
	printf("data file:        %lld bytes (%s)\n", file, human(a, sizeof(a), (double)file));
	printf("map:              %s used of %s (%.1f%%)\n",
	    human(a, sizeof(a), (double)st->map_used), human(b, sizeof(b), (double)st->map_size),
	    st->map_size > 0 ? 100.0 * (double)st->map_used / (double)st->map_size : 0.0);
	printf("page size:        %zu\n", st->page_size);
	printf("free pages:       %zu\n", st->free_pages);
	printf("last txn id:      %zu\n", st->last_txnid);
	printf("readers:          %u slots held, %u in a transaction, %u at most\n",
	    st->reader_slots, st->readers_active, st->max_readers);
	printf("\n%-16s %10s %6s %8s %12s\n", "TABLE", "ENTRIES", "DEPTH", "PAGES", "BYTES");
	for (i = 0; i < st->ntables; i++)
		printf("%-16s %10zu %6u %8zu %12zu\n", st->tables[i].name,
		    st->tables[i].entries, st->tables[i].depth, st->tables[i].pages,
		    st->tables[i].pages * st->page_size);
}

static int
cmd_stats(struct ctl *ctl, const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct store_stats st;
	struct mk_err err;
	struct stat fst;
	char path[4200];
	long long file = -1;
	int ch, json = 0;

	getopt_restart();
	while ((ch = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'h':
			usage_cmd(stdout, self);
			return CTL_OK;
		default:
			return bad_option(self, ch, argv);
		}
	}
	if (optind < argc)
		return usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (ctl_store(ctl, 1) != 0)
		return CTL_FAIL;
	memset(&err, 0, sizeof(err));
	if (store_stat(ctl->store, &st, &err) != MK_OK) {
		ctl_errx("stats: %s", err.msg);
		return CTL_FAIL;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", ctl->conf.db_dir);
	if (stat(path, &fst) == 0)
		file = (long long)fst.st_size;
	if (json) {
		if (stats_json(ctl, &st, file) != 0) {
			ctl_errx("stats: out of memory");
			return CTL_FAIL;
		}
	} else
		stats_text(ctl, &st, file);
	return flush_stdout() == 0 ? CTL_OK : CTL_FAIL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *c;
	struct ctl ctl;
	int ch, rc;

	memset(&ctl, 0, sizeof(ctl));
	log_init(PROG, 1, 0);
	getopt_restart();
	while ((ch = getopt_long(argc, argv, "+:c:d:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.conf_file = optarg;
			break;
		case 'd':
			ctl.db_dir = optarg;
			break;
		case 'h':
			usage_top(stdout);
			return CTL_OK;
		case 'V':
			printf(PROG " (metakeep) %s\n", PACKAGE_VERSION);
			return CTL_OK;
		default:
			return bad_option(NULL, ch, argv);
		}
	}
	if (optind >= argc) {
		usage_top(stderr);
		return CTL_USAGE;
	}
	if ((c = cmd_find(top_cmds, argv[optind])) == NULL)
		return usage_error(NULL, "unknown command '%s'", argv[optind]);
	rc = c->fn(&ctl, c, argc - optind, argv + optind);
	if (ctl.store != NULL)
		store_close(ctl.store);
	return rc;
}

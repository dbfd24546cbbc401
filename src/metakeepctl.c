/*
 * metakeepctl: the operator's tool.  It opens the same LMDB environment as
 * metakeepd, directly (LMDB makes that safe next to a running daemon), and
 * for now manages bearer tokens: create, list, revoke.
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

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "store.h"
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

static const struct ctl_cmd top_cmds[] = {
	{ "token", cmd_group, "create|list|revoke ...", "manage API bearer tokens",
	    NULL, token_cmds, "token" },
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

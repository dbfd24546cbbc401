/*
 * metakeepctl: the operator's tool.  It opens the same LMDB environment as
 * metakeepd, directly (LMDB makes that safe next to a running daemon): bearer
 * tokens (create, list, revoke); users in and out in Auth0's formats
 * (export, import); backup, check (and repair of the indexes), stats; and
 * the API's user read and PATCH from the shell (user get, user patch),
 * through svc so the same rules apply.
 *
 * This file is the command table and the dispatcher: it parses the global
 * options, finds the command (a group's subcommand), parses the command's
 * options and operands (opt.c, from the command's table), opens the store
 * once in the mode the command needs, runs it and closes the store.  Adding
 * a command is a row here, a spec and a function in its own file.
 *
 * Exit status: 0 done, 1 the operation failed, 2 the command line was wrong.
 * A token is printed once, alone on stdout, and never logged or listed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dbdir.h"
#include "err.h"
#include "log.h"
#include "store.h"
#include "ctl/ctl.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

static const struct ctl_cmd token_cmds[] = {
	{ "create", "token create",
	    "--scope SCOPES [--subject USER_ID] [--expires DURATION]",
	    "issue a token and print it once on stdout",
	    CTL_WRITE, &token_create_spec, cmd_token_create, NULL },
	{ "list", "token list", "[--json]",
	    "show every token's id, scopes, subject, expiry and creation",
	    CTL_READ, &token_list_spec, cmd_token_list, NULL },
	{ "revoke", "token revoke", "ID",
	    "delete a token by its id or a unique prefix of it (4+ hex digits)",
	    CTL_WRITE, &token_revoke_spec, cmd_token_revoke, NULL },
	{ NULL, NULL, NULL, NULL, CTL_NONE, NULL, NULL, NULL },
};

static const struct ctl_cmd user_cmds[] = {
	{ "get", "user get", "ID",
	    "print a user's JSON as GET /api/v2/users/ID returns it",
	    CTL_READ, &user_get_spec, cmd_user_get, NULL },
	{ "patch", "user patch", "ID JSON|-",
	    "change a user as PATCH /api/v2/users/ID does (same rules and merge) "
	    "and print the result",
	    CTL_WRITE, &user_patch_spec, cmd_user_patch, NULL },
	{ NULL, NULL, NULL, NULL, CTL_NONE, NULL, NULL, NULL },
};

static const struct ctl_cmd client_cmds[] = {
	{ "create", "client create", "[--name NAME] [--scope SCOPES [--audience URL]]",
	    "make a machine client (as POST /api/v2/clients) and print it, secret "
	    "included, once; with --scope also grant it those scopes",
	    CTL_WRITE, &client_create_spec, cmd_client_create, NULL },
	{ "grant", "client grant", "CLIENT_ID --scope SCOPES [--audience URL]",
	    "set the scopes a client may get from /oauth/token (a client grant)",
	    CTL_WRITE, &client_grant_spec, cmd_client_grant, NULL },
	{ NULL, NULL, NULL, NULL, CTL_NONE, NULL, NULL, NULL },
};

static const struct ctl_cmd key_cmds[] = {
	{ "rotate", "key rotate", "",
	    "make a new key sign the access tokens; the old one verifies its tokens "
	    "until they expire",
	    CTL_WRITE, &key_rotate_spec, cmd_key_rotate, NULL },
	{ "list", "key list", "",
	    "show the signing keys' ids, creation and retirement (never a key)",
	    CTL_READ, &key_list_spec, cmd_key_list, NULL },
	{ NULL, NULL, NULL, NULL, CTL_NONE, NULL, NULL, NULL },
};

/* The commands; "need" is the store each one opens (check --repair: write). */
static const struct ctl_cmd top_cmds[] = {
	{ "token", "token", "create|list|revoke ...", "manage API bearer tokens",
	    CTL_NONE, NULL, NULL, token_cmds },
	{ "user", "user", "get|patch ...", "read or change one user with the API's rules",
	    CTL_NONE, NULL, NULL, user_cmds },
	{ "client", "client", "create|grant ...",
	    "make a machine client for /oauth/token and set its scopes",
	    CTL_NONE, NULL, NULL, client_cmds },
	{ "key", "key", "rotate|list", "manage the keys that sign /oauth/token's tokens",
	    CTL_NONE, NULL, NULL, key_cmds },
	{ "export", "export", "[--format ndjson|json] [--fields LIST]",
	    "write every user to stdout in Auth0's user export format",
	    CTL_READ, &export_spec, cmd_export, NULL },
	{ "import", "import", "[--upsert] [--connection NAME] [--batch N] FILE|-",
	    "load users from an Auth0 bulk import file (a JSON array) or an export (ndjson)",
	    CTL_WRITE, &import_spec, cmd_import, NULL },
	{ "backup", "backup", "DEST",
	    "copy the database, compacted and consistent, into directory DEST "
	    "(safe while metakeepd serves)",
	    CTL_READ, &backup_spec, cmd_backup, NULL },
	{ "check", "check", "[--repair]",
	    "verify every record and index; exit 0 when clean, 1 on problems",
	    CTL_READ, &check_spec, cmd_check, NULL },
	{ "stats", "stats", "[--json]",
	    "show counts, sizes, map use, readers and the last transaction id",
	    CTL_READ, &stats_spec, cmd_stats, NULL },
	{ "logs", "logs", "[--since LOG_ID] [--follow]",
	    "print the log events as NDJSON, oldest first (a change feed to tail)",
	    CTL_READ, &logs_spec, cmd_logs, NULL },
	{ NULL, NULL, NULL, NULL, CTL_NONE, NULL, NULL, NULL },
};

static struct ctl ctl;

static int top_help(const struct ctl_cmd *, const char *, void *);
static int top_version(const struct ctl_cmd *, const char *, void *);

static const struct ctl_opt top_opts[] = {
	{ 'c', "config", "FILE", &ctl.conf_file, NULL, CTL_NONE,
	    "read settings from FILE ([metakeepd] section)" },
	{ 'd', "db", "DIR", &ctl.db_dir, NULL, CTL_NONE,
	    "database directory (overrides the config file)" },
	{ 'h', "help", NULL, NULL, top_help, CTL_NONE, "show this help" },
	{ 'V', "version", NULL, NULL, top_version, CTL_NONE, "show the version" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

static const struct ctl_spec top_spec = {
	top_opts, 0, NULL, NULL, NULL, NULL,
};

/* The top level, as a group for the parser and usage_error (no path). */
static const struct ctl_cmd top = {
	PROG, NULL, "COMMAND [ARGS]", NULL, CTL_NONE, &top_spec, NULL, top_cmds,
};

/* The column of the option texts in the top-level --help. */
#define CTL_TOP_COL 21

static void
usage_top(FILE *f)
{
	const struct ctl_cmd *c;

	fprintf(f,
	    "usage: " PROG " [-c FILE] [-d DIR] COMMAND [ARGS]\n"
	    "       " PROG " --help | --version\n"
	    "\n"
	    "options:\n");
	ctl_opt_lines(f, top_opts, CTL_TOP_COL);
	fputs("\ncommands:\n", f);
	for (c = top_cmds; c->name != NULL; c++)
		fprintf(f, "  %-8s %s\n", c->name, c->summary);
	fprintf(f, "\nRun '" PROG " COMMAND --help' for a command's usage.\n");
}

static int
top_help(const struct ctl_cmd *self, const char *arg, void *dst)
{
	(void)self;
	(void)arg;
	(void)dst;
	usage_top(stdout);
	return CTL_OK;
}

static int
top_version(const struct ctl_cmd *self, const char *arg, void *dst)
{
	(void)self;
	(void)arg;
	(void)dst;
	printf(PROG " (metakeep) %s\n", PACKAGE_VERSION);
	return CTL_OK;
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
 * Settle the configuration (defaults, -c file, --db) and open the store
 * (read-only unless need is CTL_WRITE).  Returns 0, or -1 after saying why.
 */
static int
ctl_open(struct ctl *c, enum ctl_need need)
{
	struct mk_err err;

	conf_defaults(&c->conf);
	err.msg[0] = '\0';
	if (c->conf_file != NULL &&
	    conf_load_file(&c->conf, c->conf_file, &err) != MK_OK) {
		ctl_errx("%s", err.msg);
		return -1;
	}
	if (c->db_dir != NULL &&
	    conf_set(&c->conf, "database", c->db_dir, &err) != MK_OK) {
		ctl_errx("--db: %s", err.msg);
		return -1;
	}
	c->conf.store.dir = c->conf.db_dir;
	c->conf.store.read_only = need != CTL_WRITE;
	/*
	 * write_map is the pool's (a serving optimisation, as random_reads):
	 * its file is allocated ahead of the data and never shortened, and an
	 * import's store_reserve would leave data.mdb that much larger for
	 * good (a 100,000-user import with relaxed_sync: 249 MiB for 137 MiB
	 * used, 137 MiB without).  Here, whatever the file says, commits
	 * write(2) their pages; relaxed_sync still means no sync.
	 */
	c->conf.store.write_map = 0;
	if (store_open(&c->conf.store, &c->store, &err) != MK_OK) {
		ctl_errx("cannot open the database in %s: %s", c->conf.db_dir, err.msg);
		return -1;
	}
	/* As root next to a daemon: what LMDB just created stays the daemon's. */
	if (dbdir_adopt(c->conf.db_dir, &err) == -1) {
		ctl_errx("%s", err.msg);
		return -1;
	}
	return 0;
}

/*
 * One command, argv[0] its name: a group hands on to the subcommand its
 * first operand names; a command gets its options, operands and store.
 */
static int
dispatch(struct ctl *c, const struct ctl_cmd *self, int argc, char **argv)
{
	const struct ctl_spec *sp = self->spec;
	const struct ctl_cmd *sub;
	enum ctl_need need = self->need;
	int rc;

	if (self->sub != NULL) {
		if ((rc = ctl_options(self, argc, argv, NULL)) >= 0)
			return rc;
		if (optind >= argc && self == &top) {
			usage_top(stderr);
			return CTL_USAGE;
		}
		if (optind >= argc)
			return usage_error(self, "a command is needed");
		if ((sub = cmd_find(self->sub, argv[optind])) == NULL)
			return usage_error(self, "unknown command '%s'", argv[optind]);
		return dispatch(c, sub, argc - optind, argv + optind);
	}
	if ((rc = ctl_options(self, argc, argv, &need)) >= 0)
		return rc;
	if (sp->nargs == 0 && optind < argc)
		return usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (argc - optind != sp->nargs)
		return usage_error(self, "%s", sp->nargs_msg);
	if (sp->check != NULL && (rc = sp->check(self, argv + optind)) >= 0)
		return rc;
	if (need != CTL_NONE && ctl_open(c, need) != 0)
		return CTL_FAIL;
	return self->run(c, self, argv + optind);
}

int
main(int argc, char **argv)
{
	int rc;

	log_init(PROG, 1, 0);
	rc = dispatch(&ctl, &top, argc, argv);
	if (ctl.store != NULL)
		store_close(ctl.store);
	return rc;
}

/*
 * ctl: metakeepctl, the operator's tool, split the way git splits its
 * builtin/: one file per command (token.c, user.c, export.c, import.c,
 * backup.c, check.c, stats.c), this header declaring them, and ctl.c
 * holding the command table and the dispatcher (main).  opt.c is the one
 * option parser and usage printer every command shares.
 *
 * A command is a row of a table (struct ctl_cmd): its name, whether it
 * needs the store read-only or read-write, its options (struct ctl_spec,
 * kept in the command's own file next to the variables they set), and the
 * function that does the work.  The dispatcher parses the options, checks
 * the operands, opens the store once in the mode the row (or an option
 * such as check --repair) asks for, and only then runs the command.
 *
 * Exit status: 0 done, 1 the operation failed, 2 the command line was wrong.
 */
#ifndef MK_CTL_H
#define MK_CTL_H

#include <stdio.h>

#include "conf.h"
#include "store.h"

#define PROG "metakeepctl"

enum ctl_exit {
	CTL_OK = 0,
	CTL_FAIL = 1,
	CTL_USAGE = 2,
};

/* What a command needs opened before it runs; ordered, the larger wins. */
enum ctl_need {
	CTL_NONE = 0,
	CTL_READ,       /* the store, read-only */
	CTL_WRITE,      /* the store, read-write */
};

/* One run of the tool: its global options and the store the dispatcher opened. */
struct ctl {
	char *conf_file;          /* -c, or NULL (borrowed from argv) */
	char *db_dir;             /* --db, or NULL (borrowed from argv) */
	struct mk_conf conf;      /* settled before the store opens; store.dir points in */
	struct store *store;      /* open while a command with a need runs */
};

struct ctl_cmd;

/*
 * Check an option's value and store it in dst (the row's dst).  Returns -1
 * when stored, else an exit status (usually usage_error's CTL_USAGE; -V
 * returns CTL_OK after printing the version): the command then ends there.
 */
typedef int (*ctl_set_fn)(const struct ctl_cmd *self, const char *arg, void *dst);

/*
 * One option of a command, a row of its table (terminated by a row with
 * ch 0).  Without set, a flag (arg NULL) sets the int at dst to 1 and a
 * value sets the char * at dst to the argument.  --help is implied and
 * not listed, unless the table has a row for 'h' (the top level lists it).
 */
struct ctl_opt {
	int ch;                   /* the short option, also getopt_long's value */
	const char *name;         /* the long option */
	const char *arg;          /* the value's name in the usage ("SCOPES"), NULL: a flag */
	void *dst;                /* what the option sets (a static of the command's file) */
	ctl_set_fn set;           /* NULL: the default above */
	enum ctl_need need;       /* raises the command's need when given (check --repair) */
	const char *help;         /* its lines in the usage, '\n' between them */
};

/*
 * What a command takes, beside its name: options, operands, and the text of
 * its --help.  Kept in the command's file; the table points at it.
 */
struct ctl_spec {
	const struct ctl_opt *opts;
	int nargs;                /* operands wanted, exactly */
	const char *nargs_msg;    /* the usage error for another count (nargs > 0) */
	/*
	 * Optional: checks the operands and options together before the store
	 * opens.  Returns -1 to go on, else an exit status.
	 */
	int (*check)(const struct ctl_cmd *self, char **operands);
	const char *notes;        /* text after the option lines of --help, or NULL */
	void (*help_more)(FILE *);/* printed after the usage by --help, or NULL */
};

/*
 * A command.  run gets the operands (spec->nargs of them) with the store
 * open as need says; returns an enum ctl_exit.  A group (sub != NULL) has
 * no run: its first operand names one of its subcommands; its spec, if
 * any, gives only options (the top level's -c, -d, -V).
 */
struct ctl_cmd {
	const char *name;
	const char *path;         /* full name, for messages: "token create" */
	const char *args;         /* synopsis after the name */
	const char *summary;      /* one line for --help */
	enum ctl_need need;
	const struct ctl_spec *spec;
	int (*run)(struct ctl *, const struct ctl_cmd *, char **operands);
	const struct ctl_cmd *sub;/* a group's subcommands, NULL-name terminated */
};

/* ---- opt.c: options and usage, shared by every command ---- */

/*
 * Parse argv[1..] against self's options (self->spec->opts; none without a
 * spec) plus an implied --help, which prints usage_cmd and help_more, with
 * getopt_long; a group (self->sub) stops at its first operand, the
 * subcommand.  *need (may be NULL) is raised by the options given.
 * Returns -1 to go on, operands at argv[optind]; else an exit status.
 */
int ctl_options(const struct ctl_cmd *self, int argc, char **argv, enum ctl_need *need);

/* The option lines of a table, the text column at col. */
void ctl_opt_lines(FILE *f, const struct ctl_opt *opts, int col);

/* A command's --help: its synopsis, summary, options, notes or subcommands. */
void usage_cmd(FILE *f, const struct ctl_cmd *cmd);

/*
 * Report a usage error: "metakeepctl: PATH: message" and a pointer at the
 * help (cmd->path NULL or cmd NULL: the top level).  Returns CTL_USAGE.
 */
int usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "metakeepctl: message" on stderr. */
void ctl_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Flush stdout; -1 (said why) when it could not be written. */
int flush_stdout(void);

/*
 * Copy n bytes at p into dst for a message: control characters become '?',
 * what does not fit is cut and ends in "...".  Returns dst.
 */
const char *ctl_show(char *dst, size_t dstsz, const char *p, size_t n);

/* ---- the commands (one file each) ---- */

/* token.c */
extern const struct ctl_spec token_create_spec, token_list_spec, token_revoke_spec;
int cmd_token_create(struct ctl *, const struct ctl_cmd *, char **);
int cmd_token_list(struct ctl *, const struct ctl_cmd *, char **);
int cmd_token_revoke(struct ctl *, const struct ctl_cmd *, char **);

/* user.c */
extern const struct ctl_spec user_get_spec, user_patch_spec;
int cmd_user_get(struct ctl *, const struct ctl_cmd *, char **);
int cmd_user_patch(struct ctl *, const struct ctl_cmd *, char **);

/* export.c */
extern const struct ctl_spec export_spec;
int cmd_export(struct ctl *, const struct ctl_cmd *, char **);

/* import.c */
extern const struct ctl_spec import_spec;
int cmd_import(struct ctl *, const struct ctl_cmd *, char **);

/* backup.c */
extern const struct ctl_spec backup_spec;
int cmd_backup(struct ctl *, const struct ctl_cmd *, char **);

/* check.c */
extern const struct ctl_spec check_spec;
int cmd_check(struct ctl *, const struct ctl_cmd *, char **);

/* client.c */
extern const struct ctl_spec client_create_spec, client_grant_spec;
int cmd_client_create(struct ctl *, const struct ctl_cmd *, char **);
int cmd_client_grant(struct ctl *, const struct ctl_cmd *, char **);

/* key.c */
extern const struct ctl_spec key_rotate_spec, key_list_spec;
int cmd_key_rotate(struct ctl *, const struct ctl_cmd *, char **);
int cmd_key_list(struct ctl *, const struct ctl_cmd *, char **);

/* stats.c */
extern const struct ctl_spec stats_spec;
int cmd_stats(struct ctl *, const struct ctl_cmd *, char **);

/* logs.c */
extern const struct ctl_spec logs_spec;
int cmd_logs(struct ctl *, const struct ctl_cmd *, char **);

#endif

/*
 * opt: the option parser and usage printer every metakeepctl command shares.
 * A command's options are a table (struct ctl_opt); getopt_long's option
 * array and short-option string, the --help text and the complaints about a
 * bad command line are all made from it, so no command writes a getopt loop
 * of its own.  Messages name the command ("metakeepctl: token create: ..."),
 * never argv[0], and go with exit status 2.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"

/* Options of one command at most (getopt_long's array is built on the stack). */
#define CTL_OPT_MAX 16

/* The column of the option texts in a command's --help. */
#define CTL_HELP_COL 26

void
ctl_errx(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	const char *path = cmd != NULL ? cmd->path : NULL;
	va_list ap;

	fputs(PROG ": ", stderr);
	if (path != NULL)
		fprintf(stderr, "%s: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" PROG "%s%s --help'.\n", path != NULL ? " " : "",
	    path != NULL ? path : "");
	return CTL_USAGE;
}

int
flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_errx("cannot write to stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

const char *
ctl_show(char *dst, size_t dstsz, const char *p, size_t n)
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

void
ctl_opt_lines(FILE *f, const struct ctl_opt *o, int col)
{
	char left[80];
	const char *p, *nl;

	for (; o != NULL && o->ch != 0; o++) {
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->ch, o->name,
		    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
		fprintf(f, "  %-*s", col - 2, left);
		/* Continuation lines start in the same column. */
		for (p = o->help; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
			fprintf(f, "%.*s\n%*s", (int)(nl - p), p, col, "");
		fprintf(f, "%s\n", p);
	}
}

void
usage_cmd(FILE *f, const struct ctl_cmd *cmd)
{
	const struct ctl_spec *sp = cmd->spec;
	const struct ctl_cmd *c;
	int listed = sp != NULL && sp->opts != NULL && sp->opts[0].ch != 0;

	fprintf(f, "usage: " PROG " [-c FILE] [-d DIR] %s %s\n", cmd->path, cmd->args);
	if (cmd->sub != NULL) {
		fprintf(f, "\n%s commands:\n", cmd->path);
		for (c = cmd->sub; c->name != NULL; c++)
			fprintf(f, "  %s %s\n      %s\n", c->name, c->args, c->summary);
		fprintf(f, "\nRun '" PROG " %s COMMAND --help' for details.\n", cmd->path);
		return;
	}
	fprintf(f, "\n%s.\n", cmd->summary);
	/* No "options:" heading over notes alone (backup has no options). */
	if (listed) {
		fputs("\noptions:\n", f);
		ctl_opt_lines(f, sp->opts, CTL_HELP_COL);
	}
	if (sp != NULL && sp->notes != NULL) {
		fputc('\n', f);
		fputs(sp->notes, f);
	}
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

/* The row of opts for ch, or NULL. */
static const struct ctl_opt *
opt_find(const struct ctl_opt *opts, int ch)
{
	for (; opts != NULL && opts->ch != 0; opts++)
		if (opts->ch == ch)
			return opts;
	return NULL;
}

/* Store a value the default way: a flag's int, an argument's char *. */
static int
opt_store(const struct ctl_cmd *self, const struct ctl_opt *o, char *arg)
{
	if (o->set != NULL)
		return o->set(self, arg, o->dst);
	if (o->arg == NULL)
		*(int *)o->dst = 1;
	else
		*(char **)o->dst = arg;
	return -1;
}

int
ctl_options(const struct ctl_cmd *self, int argc, char **argv, enum ctl_need *need)
{
	const struct ctl_opt *opts = self->spec != NULL ? self->spec->opts : NULL;
	struct option lo[CTL_OPT_MAX + 2];
	char shorts[3 * CTL_OPT_MAX + 8], *sp = shorts;
	const struct ctl_opt *o;
	size_t n = 0;
	int ch, rc;

	/* "+": a group stops at the subcommand; its options are its own. */
	if (self->sub != NULL)
		*sp++ = '+';
	/* Leading ':': a missing value is told apart from an unknown option. */
	*sp++ = ':';
	for (o = opts; o != NULL && o->ch != 0; o++) {
		if (n == CTL_OPT_MAX) {
			ctl_errx("%s: too many options", self->path != NULL ? self->path : PROG);
			return CTL_FAIL;
		}
		lo[n].name = o->name;
		lo[n].has_arg = o->arg != NULL ? required_argument : no_argument;
		lo[n].flag = NULL;
		lo[n++].val = o->ch;
		*sp++ = (char)o->ch;
		if (o->arg != NULL)
			*sp++ = ':';
	}
	if (opt_find(opts, 'h') == NULL) {
		lo[n].name = "help";
		lo[n].has_arg = no_argument;
		lo[n].flag = NULL;
		lo[n++].val = 'h';
		*sp++ = 'h';
	}
	*sp = '\0';
	memset(&lo[n], 0, sizeof(lo[n]));

	/* A new scan: optind 0 reinitializes glibc, musl and BSD. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if ((o = opt_find(opts, ch)) == NULL && ch == 'h') {
			usage_cmd(stdout, self);
			if (self->spec != NULL && self->spec->help_more != NULL)
				self->spec->help_more(stdout);
			return CTL_OK;
		}
		if (o == NULL || ch == ':' || ch == '?')
			return bad_option(self, ch, argv);
		if ((rc = opt_store(self, o, optarg)) >= 0)
			return rc;
		if (need != NULL && o->need > *need)
			*need = o->need;
	}
	return -1;
}

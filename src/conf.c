/*
 * conf: settings from defaults, an INI file and the command line (see
 * conf.h).  Every value, whatever its source, goes through conf_set, so the
 * file and the options share one set of names, limits and messages.
 *
 * inih reads lines of at most 199 bytes (its compile-time INI_MAX_LINE);
 * the rest of a longer line comes back as a line of its own, which is then
 * reported as a syntax error rather than silently misread.
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* For API_BODY_LIMIT_DEFAULT alone: conf.h stays free of api, and no program
 * that reads the configuration links api for it. */
#include "api.h"

#define CONF_SECTION "metakeepd"

/* Bounds that keep a typo from turning into a daemon that cannot work. */
#define CONF_MAX_WORKERS 256
#define CONF_REQUEST_TIMEOUT 30      /* s, the default */
#define CONF_MAX_REQUEST_TIMEOUT 86400
#define CONF_MAX_BODY ((unsigned long long)1 << 30)
#define CONF_MIN_MAP ((unsigned long long)1 << 20)
#define CONF_MAX_MAP ((unsigned long long)1 << 40)
#define CONF_MIN_USER_BYTES 1024ULL
#define CONF_MAX_DEPTH 1000
#define CONF_SUN_PATH 108 /* sizeof(sockaddr_un.sun_path) on Linux */

void
conf_defaults(struct mk_conf *c)
{
	memset(c, 0, sizeof(*c));
	svc_limits_defaults(&c->limits);
	c->body_limit = API_BODY_LIMIT_DEFAULT;
	snprintf(c->db_dir, sizeof(c->db_dir), "%s", "/var/lib/metakeep");
	c->store.dir = c->db_dir;
	c->workers = 4;
	c->request_timeout = CONF_REQUEST_TIMEOUT;
	c->connections[0] = NULL;
}

/*
 * A byte count: decimal digits with an optional K, M or G suffix (powers
 * of 1024).  Returns 0 and sets *out, or -1 when malformed or above max.
 */
static int
conf_bytes(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1ULL << 10;
		end++;
		break;
	case 'm': case 'M':
		mul = 1ULL << 20;
		end++;
		break;
	case 'g': case 'G':
		mul = 1ULL << 30;
		end++;
		break;
	default:
		return -1;
	}
	if (*end != '\0' || v > max / mul)
		return -1;
	v *= mul;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A plain decimal number in [min, max]. */
static int
conf_num(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
conf_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on", NULL };
	static const char *const no[] = { "0", "false", "no", "off", NULL };
	size_t i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	return -1;
}

/* Copy a string value into a fixed field; -1 when empty or too long. */
static int
conf_str(char *dst, size_t dstsz, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= dstsz)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

/*
 * "host:port" or "[v6addr]:port" with a port in 1..65535.  Only the shape
 * is checked here; the name is resolved when the socket is opened.
 */
static int
conf_listen(const char *s)
{
	const char *colon;
	unsigned long long port;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb == s + 1 || rb[1] != ':')
			return -1;
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || colon == s)
			return -1;
		/* A bare IPv6 address is ambiguous: ask for brackets. */
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
	}
	return conf_num(colon + 1, 1, 65535, &port);
}

static int
conf_username(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return -1;
	return s[0] == '-' ? -1 : 0;
}

/* "a, b ,c": split on commas, trim blanks; no empty names, no more than fit. */
static int
conf_connections(struct mk_conf *c, const char *s, struct mk_err *err)
{
	char tmp[CONF_MAX_CONNECTIONS][256];
	const char *p = s, *comma, *b, *e;
	size_t n = 0, i, len;

	for (;;) {
		comma = strchr(p, ',');
		e = comma != NULL ? comma : p + strlen(p);
		for (b = p; b < e && isspace((unsigned char)*b); b++)
			;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		len = (size_t)(e - b);
		if (len == 0)
			return mk_fail(err, MK_ERR_INVALID,
			    "connections: empty connection name");
		if (len >= sizeof(tmp[0]))
			return mk_fail(err, MK_ERR_INVALID,
			    "connections: a name is longer than %zu bytes",
			    sizeof(tmp[0]) - 1);
		if (n == CONF_MAX_CONNECTIONS)
			return mk_fail(err, MK_ERR_INVALID,
			    "connections: more than %d names", CONF_MAX_CONNECTIONS);
		memcpy(tmp[n], b, len);
		tmp[n][len] = '\0';
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	/* Only now, when the whole list is good, replace the old one. */
	for (i = 0; i < n; i++) {
		memcpy(c->conn_storage[i], tmp[i], sizeof(tmp[i]));
		c->connections[i] = c->conn_storage[i];
	}
	c->connections[n] = NULL;
	c->limits.connections = c->connections;
	return MK_OK;
}

enum mk_code
conf_set(struct mk_conf *c, const char *key, const char *value, struct mk_err *err)
{
	unsigned long long v;
	int b;

	if (strcmp(key, "database") == 0) {
		if (conf_str(c->db_dir, sizeof(c->db_dir), value) == -1)
			goto bad;
		c->store.dir = c->db_dir;
	} else if (strcmp(key, "socket") == 0) {
		if (strlen(value) >= CONF_SUN_PATH)
			return mk_fail(err, MK_ERR_INVALID,
			    "socket: path longer than %d bytes", CONF_SUN_PATH - 1);
		if (conf_str(c->socket_path, sizeof(c->socket_path), value) == -1)
			goto bad;
	} else if (strcmp(key, "listen") == 0) {
		if (conf_listen(value) == -1 ||
		    conf_str(c->listen_addr, sizeof(c->listen_addr), value) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "listen: '%s' is not HOST:PORT (or [IPv6]:PORT)", value);
	} else if (strcmp(key, "workers") == 0) {
		if (conf_num(value, 1, CONF_MAX_WORKERS, &v) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "workers: '%s' is not a number from 1 to %d",
			    value, CONF_MAX_WORKERS);
		c->workers = (int)v;
	} else if (strcmp(key, "body_limit") == 0) {
		if (conf_bytes(value, 1, CONF_MAX_BODY, &v) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "body_limit: '%s' is not a byte count from 1 to 1G", value);
		c->body_limit = (size_t)v;
	} else if (strcmp(key, "map_size") == 0) {
		if (conf_bytes(value, CONF_MIN_MAP, CONF_MAX_MAP, &v) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "map_size: '%s' is not a byte count from 1M to 1024G", value);
		c->store.map_size = (size_t)v;
	} else if (strcmp(key, "map_max") == 0) {
		if (conf_bytes(value, CONF_MIN_MAP, CONF_MAX_MAP, &v) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "map_max: '%s' is not a byte count from 1M to 1024G", value);
		c->store.map_max = (size_t)v;
	} else if (strcmp(key, "max_requests") == 0) {
		if (conf_num(value, 0, ULONG_MAX, &v) == -1)
			goto bad;
		c->max_requests = (unsigned long)v;
	} else if (strcmp(key, "request_timeout") == 0) {
		if (conf_num(value, 0, CONF_MAX_REQUEST_TIMEOUT, &v) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "request_timeout: '%s' is not a number of seconds from 0 to %d",
			    value, CONF_MAX_REQUEST_TIMEOUT);
		c->request_timeout = (unsigned)v;
	} else if (strcmp(key, "max_depth") == 0) {
		if (conf_num(value, 1, CONF_MAX_DEPTH, &v) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "max_depth: '%s' is not a number from 1 to %d",
			    value, CONF_MAX_DEPTH);
		c->limits.max_depth = (int)v;
	} else if (strcmp(key, "max_user_bytes") == 0) {
		if (conf_bytes(value, CONF_MIN_USER_BYTES, CONF_MAX_BODY, &v) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "max_user_bytes: '%s' is not a byte count from 1K to 1G",
			    value);
		c->limits.max_user_bytes = (size_t)v;
	} else if (strcmp(key, "relaxed_sync") == 0) {
		if (conf_bool(value, &b) == -1)
			goto badbool;
		c->store.relaxed_sync = b;
	} else if (strcmp(key, "foreground") == 0) {
		if (conf_bool(value, &b) == -1)
			goto badbool;
		c->foreground = b;
	} else if (strcmp(key, "debug") == 0) {
		if (conf_bool(value, &b) == -1)
			goto badbool;
		c->debug = b;
	} else if (strcmp(key, "connections") == 0) {
		return conf_connections(c, value, err);
	} else if (strcmp(key, "user") == 0) {
		if (conf_username(value) == -1 ||
		    conf_str(c->user, sizeof(c->user), value) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "user: '%s' is not a user name", value);
	} else if (strcmp(key, "group") == 0) {
		/* Group names follow the rules of user names. */
		if (conf_username(value) == -1 ||
		    conf_str(c->group, sizeof(c->group), value) == -1)
			return mk_fail(err, MK_ERR_INVALID,
			    "group: '%s' is not a group name", value);
	} else if (strcmp(key, "pid_file") == 0) {
		if (conf_str(c->pid_file, sizeof(c->pid_file), value) == -1)
			goto bad;
	} else
		return mk_fail(err, MK_ERR_INVALID, "unknown key '%s'", key);
	return MK_OK;
bad:
	return mk_fail(err, MK_ERR_INVALID, "%s: bad value '%s'", key, value);
badbool:
	return mk_fail(err, MK_ERR_INVALID,
	    "%s: '%s' is not true/false, yes/no, on/off or 1/0", key, value);
}

struct conf_parse {
	struct mk_conf *c;
	FILE *f;
	int line;             /* lines read so far */
	int failed_line;      /* line of the first error a key caused, or 0 */
	struct mk_err first;  /* that error */
};

/*
 * fgets, counting lines: inih tells the handler no line number, and
 * reports only its first failing line, which may be a syntax error that
 * comes before ours.
 */
static char *
conf_ini_read(char *str, int num, void *arg)
{
	struct conf_parse *p = arg;
	char *r;

	if ((r = fgets(str, num, p->f)) != NULL && strchr(r, '\n') != NULL)
		p->line++;
	return r;
}

static int
conf_ini_cb(void *arg, const char *section, const char *key, const char *value)
{
	struct conf_parse *p = arg;
	struct mk_err err;

	if (p->failed_line != 0)
		return 0;
	if (section[0] == '\0') {
		mk_fail(&p->first, MK_ERR_INVALID, "key '%s' outside [%s]",
		    key, CONF_SECTION);
		goto fail;
	}
	/* Other sections belong to other programs (metakeepctl). */
	if (strcmp(section, CONF_SECTION) != 0)
		return 1;
	if (conf_set(p->c, key, value, &err) != MK_OK) {
		p->first = err;
		goto fail;
	}
	return 1;
fail:
	/* A last line without a newline has not been counted yet. */
	p->failed_line = p->line + (feof(p->f) ? 1 : 0);
	return 0;
}

enum mk_code
conf_load_file(struct mk_conf *c, const char *path, struct mk_err *err)
{
	struct conf_parse p;
	FILE *f;
	int line;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return mk_fail(err, MK_ERR_NOTFOUND, "%s: no such file", path);
		return mk_fail(err, MK_ERR_INVALID, "%s: %s", path, strerror(errno));
	}
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.f = f;
	line = ini_parse_stream(conf_ini_read, &p, conf_ini_cb, &p);
	fclose(f);
	if (line == 0)
		return MK_OK;
	if (line < 0)
		return mk_fail(err, MK_ERR_INVALID, "%s: cannot read the file", path);
	if (p.failed_line != 0 && p.failed_line <= line)
		return mk_fail(err, MK_ERR_INVALID, "%s:%d: %s", path, p.failed_line,
		    p.first.msg);
	return mk_fail(err, MK_ERR_INVALID,
	    "%s:%d: syntax error (expected [section], key = value or a comment)",
	    path, line);
}

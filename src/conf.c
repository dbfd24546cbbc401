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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* For API_BODY_LIMIT_DEFAULT alone: conf.h stays free of api, and no program
 * that reads the configuration links api for it. */
#include "api.h"
#include "sindex.h"

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
#define CONF_MAX_SEARCH_BUDGET 1000000000000ULL
/*
 * Rate limits on by default, at rates a person or a script pacing itself
 * never meets (10000 reads and 2000 writes a second, per caller): they
 * stop a runaway loop from taking the whole service, not normal use.
 */
#define CONF_RATE_READ 600000u
#define CONF_BURST_READ 20000u
#define CONF_RATE_WRITE 120000u
#define CONF_BURST_WRITE 10000u
#define CONF_SUN_PATH 108 /* sizeof(sockaddr_un.sun_path) on Linux */

void
conf_defaults(struct mk_conf *c)
{
	memset(c, 0, sizeof(*c));
	svc_limits_defaults(&c->limits);
	c->body_limit = API_BODY_LIMIT_DEFAULT;
	c->search_budget = SINDEX_BUDGET_DEFAULT;
	c->rate_limit = 1;
	logev_conf_defaults(&c->logs);
	c->rate_read.rate = CONF_RATE_READ;
	c->rate_read.burst = CONF_BURST_READ;
	c->rate_write.rate = CONF_RATE_WRITE;
	c->rate_write.burst = CONF_BURST_WRITE;
	c->search_slots = -1;
	snprintf(c->db_dir, sizeof(c->db_dir), "%s", "/var/lib/metakeep");
	c->store.dir = c->db_dir;   /* stays: database changes db_dir in place */
	c->store.write_map = 1;     /* only with relaxed_sync (store.h) */
	c->workers = 4;
	c->request_timeout = CONF_REQUEST_TIMEOUT;
	c->connections[0] = NULL;
}

/* ---- value parsers: 0 and *out set, or -1 ---- */

/*
 * A byte count: decimal digits with an optional K, M or G suffix (powers
 * of 1024).  Returns 0 and sets *out, or -1 when malformed or out of
 * [min, max].
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

/* ---- setters, one per type: 0 with the field set, or -1 and nothing changed ---- */

static void *
field(struct mk_conf *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

/*
 * Store v into an unsigned or int field of k->size bytes (v fits: the
 * bounds say so, and test_conf checks each row).  -1 for a field of
 * another size.
 */
static int
put_num(struct mk_conf *c, const struct conf_key *k, unsigned long long v)
{
	unsigned u = (unsigned)v;

	switch (k->size) {
	case sizeof(v):
		memcpy(field(c, k), &v, sizeof(v));
		return 0;
	case sizeof(u):
		memcpy(field(c, k), &u, sizeof(u));
		return 0;
	}
	return -1;
}

/* A string of min..max bytes into a char array field. */
static int
set_string(struct mk_conf *c, const struct conf_key *k, const char *v)
{
	size_t n = strlen(v);

	if (n < k->min || n > k->max || n >= k->size)
		return -1;
	memcpy(field(c, k), v, n + 1);
	return 0;
}

static int
set_num(struct mk_conf *c, const struct conf_key *k, const char *v)
{
	unsigned long long n;

	if (conf_num(v, k->min, k->max, &n) == -1)
		return -1;
	return put_num(c, k, n);
}

static int
set_bytes(struct mk_conf *c, const struct conf_key *k, const char *v)
{
	unsigned long long n;

	if (conf_bytes(v, k->min, k->max, &n) == -1)
		return -1;
	return put_num(c, k, n);
}

static int
set_bool(struct mk_conf *c, const struct conf_key *k, const char *v)
{
	int b;

	if (conf_bool(v, &b) == -1)
		return -1;
	return put_num(c, k, (unsigned long long)b);
}

static int
set_listen(struct mk_conf *c, const struct conf_key *k, const char *v)
{
	return conf_listen(v) == -1 ? -1 : set_string(c, k, v);
}

static int
set_name(struct mk_conf *c, const struct conf_key *k, const char *v)
{
	return conf_username(v) == -1 ? -1 : set_string(c, k, v);
}

/*
 * "a, b ,c": split on commas, trim blanks; 1 to k->max names, none empty
 * or longer than a conn_storage slot holds.
 */
static int
set_list(struct mk_conf *c, const struct conf_key *k, const char *v)
{
	char tmp[CONF_MAX_CONNECTIONS][sizeof(c->conn_storage[0])];
	const char *p = v, *comma, *b, *e;
	size_t n = 0, i, len;

	for (;;) {
		comma = strchr(p, ',');
		e = comma != NULL ? comma : p + strlen(p);
		for (b = p; b < e && isspace((unsigned char)*b); b++)
			;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		len = (size_t)(e - b);
		if (len == 0 || len >= sizeof(tmp[0]) || n == k->max || n == CONF_MAX_CONNECTIONS)
			return -1;
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
	return 0;
}

/* ---- the table ---- */

/* Per type: its setter, and what its bounds add to the message. */
static const struct {
	int (*set)(struct mk_conf *c, const struct conf_key *k, const char *v);
	enum { B_NONE, B_NUM, B_BYTES, B_LEN, B_LIST } bounds;
} types[] = {
	[CONF_STRING] = { set_string, B_LEN },
	[CONF_NUM] = { set_num, B_NUM },
	[CONF_BYTES] = { set_bytes, B_BYTES },
	[CONF_BOOL] = { set_bool, B_NONE },
	[CONF_LISTEN] = { set_listen, B_NONE },
	[CONF_NAME] = { set_name, B_NONE },
	[CONF_LIST] = { set_list, B_LIST },
};
_Static_assert(sizeof(types) / sizeof(types[0]) == CONF_NTYPES, "a setter per type");

#define F(m) offsetof(struct mk_conf, m), sizeof(((struct mk_conf *)0)->m)
#define LEN(m) (sizeof(((struct mk_conf *)0)->m) - 1)
#define BOOLS "true/false, yes/no, on/off or 1/0"

const struct conf_key conf_keys[] = {
	{ "database", CONF_STRING, F(db_dir), 1, LEN(db_dir), "a path" },
	{ "socket", CONF_STRING, F(socket_path), 1, CONF_SUN_PATH - 1, "a path" },
	{ "listen", CONF_LISTEN, F(listen_addr), 1, LEN(listen_addr),
	    "HOST:PORT (or [IPv6]:PORT)" },
	{ "workers", CONF_NUM, F(workers), 1, CONF_MAX_WORKERS, "a number" },
	{ "body_limit", CONF_BYTES, F(body_limit), 1, CONF_MAX_BODY, "a byte count" },
	{ "map_size", CONF_BYTES, F(store.map_size), CONF_MIN_MAP, CONF_MAX_MAP,
	    "a byte count" },
	{ "map_max", CONF_BYTES, F(store.map_max), CONF_MIN_MAP, CONF_MAX_MAP,
	    "a byte count" },
	{ "max_requests", CONF_NUM, F(max_requests), 0, ULONG_MAX, "a number" },
	{ "request_timeout", CONF_NUM, F(request_timeout), 0, CONF_MAX_REQUEST_TIMEOUT,
	    "a number of seconds" },
	{ "max_depth", CONF_NUM, F(limits.max_depth), 1, CONF_MAX_DEPTH, "a number" },
	{ "max_user_bytes", CONF_BYTES, F(limits.max_user_bytes), CONF_MIN_USER_BYTES,
	    CONF_MAX_BODY, "a byte count" },
	{ "search_budget", CONF_NUM, F(search_budget), 0, CONF_MAX_SEARCH_BUDGET,
	    "a number of index operations (0: no limit)" },
	{ "rate_limit", CONF_BOOL, F(rate_limit), 0, 1, BOOLS },
	{ "rate_read_per_minute", CONF_NUM, F(rate_read.rate), 1, RATELIMIT_RATE_MAX,
	    "a number of requests" },
	{ "rate_read_burst", CONF_NUM, F(rate_read.burst), 1, RATELIMIT_BURST_MAX,
	    "a number of requests" },
	{ "rate_write_per_minute", CONF_NUM, F(rate_write.rate), 1, RATELIMIT_RATE_MAX,
	    "a number of requests" },
	{ "rate_write_burst", CONF_NUM, F(rate_write.burst), 1, RATELIMIT_BURST_MAX,
	    "a number of requests" },
	{ "search_slots", CONF_NUM, F(search_slots), 0, CONF_MAX_WORKERS,
	    "a number of searches (0: no limit)" },
	{ "log_events", CONF_BOOL, F(logs.on), 0, 1, BOOLS },
	{ "log_retention_days", CONF_NUM, F(logs.retention_days), 1, 36500, "a number of days" },
	{ "log_max_events", CONF_NUM, F(logs.max_events), 1, 1000000000, "a number of events" },
	{ "trusted_proxies", CONF_STRING, F(trusted_proxies), 1, LEN(trusted_proxies),
	    "a list of addresses" },
	{ "relaxed_sync", CONF_BOOL, F(store.relaxed_sync), 0, 1, BOOLS },
	{ "write_map", CONF_BOOL, F(store.write_map), 0, 1, BOOLS },
	{ "foreground", CONF_BOOL, F(foreground), 0, 1, BOOLS },
	{ "debug", CONF_BOOL, F(debug), 0, 1, BOOLS },
	{ "connections", CONF_LIST, F(connections), 1, CONF_MAX_CONNECTIONS,
	    "a comma-separated list" },
	{ "user", CONF_NAME, F(user), 1, LEN(user), "a user name" },
	/* Group names follow the rules of user names. */
	{ "group", CONF_NAME, F(group), 1, LEN(group), "a group name" },
	{ "pid_file", CONF_STRING, F(pid_file), 1, LEN(pid_file), "a path" },
	/* The tokens of /oauth/token: iss and aud (default: Auth0's for the Host). */
	{ "issuer", CONF_STRING, F(issuer), 1, LEN(issuer), "a URL" },
	{ "audience", CONF_STRING, F(audience), 1, LEN(audience), "a URL" },
};
const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

const struct conf_key *
conf_key(const char *key)
{
	size_t i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].key, key) == 0)
			return &conf_keys[i];
	return NULL;
}

/* A byte count the way a person writes it: 1M, 1024G, 1000. */
static void
fmt_bytes(char *out, size_t n, unsigned long long v)
{
	static const struct { unsigned long long mul; char suffix; } units[] = {
		{ 1ULL << 30, 'G' }, { 1ULL << 20, 'M' }, { 1ULL << 10, 'K' },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (v != 0 && v % units[i].mul == 0) {
			snprintf(out, n, "%llu%c", v / units[i].mul, units[i].suffix);
			return;
		}
	snprintf(out, n, "%llu", v);
}

/* The one message: "KEY: 'VALUE' is not WHAT[ BOUNDS]". */
static enum mk_code
conf_refuse(const struct conf_key *k, const char *value, struct mk_err *err)
{
	char lo[32], hi[32], bounds[128] = "";

	switch (types[k->type].bounds) {
	case B_NONE:
		break;
	case B_NUM:
		snprintf(bounds, sizeof(bounds), " from %llu to %llu", k->min, k->max);
		break;
	case B_BYTES:
		fmt_bytes(lo, sizeof(lo), k->min);
		fmt_bytes(hi, sizeof(hi), k->max);
		snprintf(bounds, sizeof(bounds), " from %s to %s", lo, hi);
		break;
	case B_LEN:
		snprintf(bounds, sizeof(bounds), " of %llu to %llu bytes", k->min, k->max);
		break;
	case B_LIST:
		snprintf(bounds, sizeof(bounds), " of %llu to %llu names of 1 to %zu bytes",
		    k->min, k->max, sizeof(((struct mk_conf *)0)->conn_storage[0]) - 1);
		break;
	}
	return mk_fail(err, MK_ERR_INVALID, "%s: '%s' is not %s%s", k->key, value, k->what,
	    bounds);
}

enum mk_code
conf_set(struct mk_conf *c, const char *key, const char *value, struct mk_err *err)
{
	const struct conf_key *k = conf_key(key);

	if (k == NULL)
		return mk_fail(err, MK_ERR_INVALID, "unknown key '%s'", key);
	if (types[k->type].set(c, k, value) == -1)
		return conf_refuse(k, value, err);
	return MK_OK;
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

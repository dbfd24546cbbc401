/*
 * test_conf: the settings module: defaults, every key's validation through
 * conf_set (a bad value is refused and changes nothing), the key table
 * (each row's bounds fit its field, its one message shape, its
 * documentation), and conf_load_file with its file:line messages.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "sindex.h"

static struct mk_conf c;
static struct mk_err err;

static void
setup(void)
{
	conf_defaults(&c);
	memset(&err, 0, sizeof(err));
}

TestSuite(conf, .init = setup);

/* Write text to a fresh temporary file; the caller unlinks path. */
static void
write_tmp(char path[64], const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, 64, "/tmp/test_conf.XXXXXX");
	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(conf, defaults)
{
	cr_assert_str_eq(c.db_dir, "/var/lib/metakeep");
	cr_assert_eq(c.store.dir, c.db_dir);
	cr_assert_eq(c.workers, 4);
	cr_assert_eq(c.max_requests, 0);
	cr_assert_eq(c.body_limit, 1024 * 1024);
	cr_assert_str_eq(c.socket_path, "");
	cr_assert_str_eq(c.listen_addr, "");
	cr_assert_str_eq(c.user, "");
	cr_assert_eq(c.foreground, 0);
}

Test(conf, workers)
{
	static const char *const badv[] = { "0", "257", "8x", "-1", " 8", "", "+3",
		"99999999999999999999999", NULL };
	size_t i;

	cr_assert_eq(conf_set(&c, "workers", "8", &err), MK_OK);
	cr_assert_eq(c.workers, 8);
	cr_assert_eq(conf_set(&c, "workers", "256", &err), MK_OK);
	cr_assert_eq(c.workers, 256);
	for (i = 0; badv[i] != NULL; i++) {
		cr_assert_eq(conf_set(&c, "workers", badv[i], &err), MK_ERR_INVALID,
		    "workers '%s' accepted", badv[i]);
		cr_assert_eq(c.workers, 256, "workers '%s' changed the value", badv[i]);
	}
	cr_assert(strstr(err.msg, "workers") != NULL, "message: %s", err.msg);
}

Test(conf, byte_counts)
{
	cr_assert_eq(conf_set(&c, "body_limit", "2K", &err), MK_OK);
	cr_assert_eq(c.body_limit, 2048);
	cr_assert_eq(conf_set(&c, "body_limit", "1G", &err), MK_OK);
	cr_assert_eq(c.body_limit, (size_t)1 << 30);
	cr_assert_eq(conf_set(&c, "body_limit", "100", &err), MK_OK);
	cr_assert_eq(c.body_limit, 100);
	cr_assert_eq(conf_set(&c, "body_limit", "2G", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "body_limit", "1.5M", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "body_limit", "0", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "body_limit", "1KB", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "body_limit", "18446744073709551615K", &err),
	    MK_ERR_INVALID);
	cr_assert_eq(c.body_limit, 100);

	cr_assert_eq(conf_set(&c, "map_size", "512K", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "map_size", "4g", &err), MK_OK);
	cr_assert_eq(c.store.map_size, (size_t)4 << 30);
	cr_assert_eq(conf_set(&c, "max_user_bytes", "64k", &err), MK_OK);
	cr_assert_eq(c.limits.max_user_bytes, 65536);
	cr_assert_eq(conf_set(&c, "max_user_bytes", "1000", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "max_requests", "0", &err), MK_OK);
	cr_assert_eq(conf_set(&c, "max_requests", "10000", &err), MK_OK);
	cr_assert_eq(c.max_requests, 10000);
	cr_assert_eq(conf_set(&c, "max_requests", "10K", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "max_depth", "0", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "max_depth", "64", &err), MK_OK);
	cr_assert_eq(c.limits.max_depth, 64);
}

/* The search budget (issue 12 finding 1): a count, 0 for no limit. */
Test(conf, search_budget)
{
	static const char *const badv[] = { "-1", "1M", "1e6", "", "1000000000001", NULL };
	size_t i;

	cr_assert_eq(c.search_budget, SINDEX_BUDGET_DEFAULT);
	cr_assert_eq(conf_set(&c, "search_budget", "0", &err), MK_OK);
	cr_assert_eq(c.search_budget, 0);
	cr_assert_eq(conf_set(&c, "search_budget", "250000", &err), MK_OK);
	cr_assert_eq(c.search_budget, 250000);
	for (i = 0; badv[i] != NULL; i++) {
		cr_assert_eq(conf_set(&c, "search_budget", badv[i], &err), MK_ERR_INVALID,
		    "search_budget '%s' accepted", badv[i]);
		cr_assert_eq(c.search_budget, 250000);
	}
	cr_assert(strstr(err.msg, "search_budget") != NULL, "message: %s", err.msg);
}

Test(conf, booleans)
{
	static const char *const yes[] = { "1", "true", "YES", "on", NULL };
	static const char *const no[] = { "0", "false", "No", "OFF", NULL };
	size_t i;

	for (i = 0; yes[i] != NULL; i++) {
		c.store.relaxed_sync = 0;
		cr_assert_eq(conf_set(&c, "relaxed_sync", yes[i], &err), MK_OK);
		cr_assert_eq(c.store.relaxed_sync, 1, "'%s'", yes[i]);
	}
	for (i = 0; no[i] != NULL; i++) {
		c.debug = 1;
		cr_assert_eq(conf_set(&c, "debug", no[i], &err), MK_OK);
		cr_assert_eq(c.debug, 0, "'%s'", no[i]);
	}
	cr_assert_eq(conf_set(&c, "foreground", "maybe", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "foreground", "", &err), MK_ERR_INVALID);
}

Test(conf, connections)
{
	cr_assert_eq(conf_set(&c, "connections", " a , b,c ", &err), MK_OK);
	cr_assert_eq(c.limits.connections, (const char *const *)c.connections);
	cr_assert_str_eq(c.connections[0], "a");
	cr_assert_str_eq(c.connections[1], "b");
	cr_assert_str_eq(c.connections[2], "c");
	cr_assert_null(c.connections[3]);
	/* A bad list leaves the good one in place. */
	cr_assert_eq(conf_set(&c, "connections", "x,,y", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "connections", "", &err), MK_ERR_INVALID);
	cr_assert_str_eq(c.connections[0], "a");
	cr_assert_null(c.connections[3]);
	cr_assert_eq(conf_set(&c, "connections", "Username-Password-Authentication", &err),
	    MK_OK);
	cr_assert_str_eq(c.connections[0], "Username-Password-Authentication");
	cr_assert_null(c.connections[1]);
}

Test(conf, too_many_connections)
{
	char list[CONF_MAX_CONNECTIONS * 4 + 8] = "";
	int i;

	for (i = 0; i <= CONF_MAX_CONNECTIONS; i++)
		sprintf(list + strlen(list), "%sc%d", i ? "," : "", i);
	cr_assert_eq(conf_set(&c, "connections", list, &err), MK_ERR_INVALID);
	cr_assert_null(c.limits.connections);
	*strrchr(list, ',') = '\0';
	cr_assert_eq(conf_set(&c, "connections", list, &err), MK_OK);
	cr_assert_str_eq(c.connections[CONF_MAX_CONNECTIONS - 1], "c31");
	cr_assert_null(c.connections[CONF_MAX_CONNECTIONS]);
}

Test(conf, addresses_and_names)
{
	char path[200];

	cr_assert_eq(conf_set(&c, "listen", "127.0.0.1:9000", &err), MK_OK);
	cr_assert_str_eq(c.listen_addr, "127.0.0.1:9000");
	cr_assert_eq(conf_set(&c, "listen", "[::1]:9000", &err), MK_OK);
	cr_assert_eq(conf_set(&c, "listen", "localhost:1", &err), MK_OK);
	cr_assert_eq(conf_set(&c, "listen", "::1:9000", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "listen", "host:", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "listen", ":9000", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "listen", "host:65536", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "listen", "[]:1", &err), MK_ERR_INVALID);
	cr_assert_str_eq(c.listen_addr, "localhost:1");

	memset(path, 'p', 107);
	path[0] = '/';
	path[107] = '\0';
	cr_assert_eq(conf_set(&c, "socket", path, &err), MK_OK);
	strcat(path, "p");
	cr_assert_eq(conf_set(&c, "socket", path, &err), MK_ERR_INVALID);

	cr_assert_eq(conf_set(&c, "user", "www-data", &err), MK_OK);
	cr_assert_str_eq(c.user, "www-data");
	cr_assert_eq(conf_set(&c, "user", "bad user", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "user", "-x", &err), MK_ERR_INVALID);
	cr_assert_eq(conf_set(&c, "user", "", &err), MK_ERR_INVALID);
	cr_assert_str_eq(c.user, "www-data");

	cr_assert_eq(conf_set(&c, "database", "/srv/mk", &err), MK_OK);
	cr_assert_str_eq(c.store.dir, "/srv/mk");
	cr_assert_eq(conf_set(&c, "database", "", &err), MK_ERR_INVALID);
}

Test(conf, unknown_key)
{
	cr_assert_eq(conf_set(&c, "wokers", "4", &err), MK_ERR_INVALID);
	cr_assert(strstr(err.msg, "unknown key 'wokers'") != NULL, "%s", err.msg);
}

Test(conf, file_good)
{
	char path[64];

	write_tmp(path,
	    "; a comment\n"
	    "# another\n"
	    "[metakeepctl]\n"
	    "whatever = ignored\n"
	    "\n"
	    "[metakeepd]\n"
	    "database = /srv/metakeep\n"
	    "workers = 2 ; inline comment\n"
	    "body_limit = 64K\n"
	    "connections = one, two\n"
	    "relaxed_sync = yes");  /* no final newline */
	cr_assert_eq(conf_load_file(&c, path, &err), MK_OK, "%s", err.msg);
	unlink(path);
	cr_assert_str_eq(c.db_dir, "/srv/metakeep");
	cr_assert_eq(c.workers, 2);
	cr_assert_eq(c.body_limit, 65536);
	cr_assert_str_eq(c.connections[1], "two");
	cr_assert_eq(c.store.relaxed_sync, 1);
}

Test(conf, file_errors_name_the_line)
{
	char path[64], want[128];

	write_tmp(path, "[metakeepd]\nworkers = 2\n\nworkers = lots\n");
	cr_assert_eq(conf_load_file(&c, path, &err), MK_ERR_INVALID);
	snprintf(want, sizeof(want), "%s:4: workers", path);
	cr_assert(strstr(err.msg, want) != NULL, "%s", err.msg);
	unlink(path);

	/* A syntax error before a bad value: the first one is reported. */
	write_tmp(path, "[metakeepd]\nthis is not ini\nworkers = 0\n");
	cr_assert_eq(conf_load_file(&c, path, &err), MK_ERR_INVALID);
	snprintf(want, sizeof(want), "%s:2: syntax error", path);
	cr_assert(strstr(err.msg, want) != NULL, "%s", err.msg);
	unlink(path);

	/* The last line, without a newline. */
	write_tmp(path, "[metakeepd]\nworkers = 2\nbogus = 1");
	cr_assert_eq(conf_load_file(&c, path, &err), MK_ERR_INVALID);
	snprintf(want, sizeof(want), "%s:3: unknown key 'bogus'", path);
	cr_assert(strstr(err.msg, want) != NULL, "%s", err.msg);
	unlink(path);

	write_tmp(path, "workers = 2\n[metakeepd]\n");
	cr_assert_eq(conf_load_file(&c, path, &err), MK_ERR_INVALID);
	cr_assert(strstr(err.msg, ":1: key 'workers' outside [metakeepd]") != NULL,
	    "%s", err.msg);
	unlink(path);
}

Test(conf, file_missing)
{
	cr_assert_eq(conf_load_file(&c, "/nonexistent/metakeepd.conf", &err),
	    MK_ERR_NOTFOUND);
	cr_assert_eq(c.workers, 4);
}

/* ---- the key table: every row's bounds, message and documentation ---- */

/* The number in k's field, whatever its width. */
static unsigned long long
get_num(const struct conf_key *k)
{
	unsigned long long v = 0;
	unsigned u = 0;

	if (k->size == sizeof(v))
		memcpy(&v, (const char *)&c + k->off, sizeof(v));
	else {
		cr_assert_eq(k->size, sizeof(u), "%s: a field of %zu bytes", k->key, k->size);
		memcpy(&u, (const char *)&c + k->off, sizeof(u));
		v = u;
	}
	return v;
}

/* conf_set must refuse value with the table's message, leaving the field. */
static void
assert_refused(const struct conf_key *k, const char *value, const char *bounds)
{
	char want[MK_ERR_MSG], before[4096];

	cr_assert_leq(k->size, sizeof(before));
	memcpy(before, (const char *)&c + k->off, k->size);
	cr_assert_eq(conf_set(&c, k->key, value, &err), MK_ERR_INVALID,
	    "%s '%.40s' accepted", k->key, value);
	cr_assert_eq(memcmp(before, (const char *)&c + k->off, k->size), 0,
	    "%s '%.40s' changed the field", k->key, value);
	snprintf(want, sizeof(want), "%s: '%s' is not %s%s", k->key, value, k->what, bounds);
	cr_assert_str_eq(err.msg, want);
}

static void
check_num_row(const struct conf_key *k)
{
	char v[32], bounds[96];
	/* Byte counts print their bounds with suffixes: one_message_shape checks those. */
	int exact = k->type == CONF_NUM;

	snprintf(v, sizeof(v), "%llu", k->min);
	cr_assert_eq(conf_set(&c, k->key, v, &err), MK_OK, "%s min %s: %s", k->key, v,
	    err.msg);
	cr_assert_eq(get_num(k), k->min, "%s min", k->key);
	snprintf(v, sizeof(v), "%llu", k->max);
	cr_assert_eq(conf_set(&c, k->key, v, &err), MK_OK, "%s max %s: %s", k->key, v,
	    err.msg);
	cr_assert_eq(get_num(k), k->max, "%s max: the field holds it", k->key);
	snprintf(bounds, sizeof(bounds), " from %llu to %llu", k->min, k->max);
	if (k->max < ULLONG_MAX) {
		snprintf(v, sizeof(v), "%llu", k->max + 1);
		if (exact)
			assert_refused(k, v, bounds);
		else
			cr_assert_eq(conf_set(&c, k->key, v, &err), MK_ERR_INVALID, "%s", k->key);
	}
	if (k->min > 0) {
		snprintf(v, sizeof(v), "%llu", k->min - 1);
		if (exact)
			assert_refused(k, v, bounds);
		else
			cr_assert_eq(conf_set(&c, k->key, v, &err), MK_ERR_INVALID, "%s", k->key);
	}
	cr_assert_eq(get_num(k), k->max, "%s: refused values left it", k->key);
}

/* Strings: min..max bytes fit the field; one more byte is refused. */
static void
check_len_row(const struct conf_key *k)
{
	char v[4200], bounds[64];

	cr_assert_lt(k->max, k->size, "%s: max %llu does not fit %zu bytes", k->key, k->max,
	    k->size);
	cr_assert_lt(k->max + 1, sizeof(v));
	memset(v, 'a', k->max);
	if (k->type == CONF_STRING)
		v[0] = '/';
	if (k->type == CONF_LISTEN)
		memcpy(v + k->max - 2, ":1", 2);
	v[k->max] = '\0';
	cr_assert_eq(conf_set(&c, k->key, v, &err), MK_OK, "%s of %llu bytes: %s", k->key,
	    k->max, err.msg);
	cr_assert_str_eq((const char *)&c + k->off, v);
	if (k->type == CONF_LISTEN)
		memcpy(v + k->max - 2, "a:1", 4);
	else {
		v[k->max] = 'a';
		v[k->max + 1] = '\0';
	}
	if (k->type == CONF_STRING) {
		snprintf(bounds, sizeof(bounds), " of %llu to %llu bytes", k->min, k->max);
		assert_refused(k, v, bounds);
		assert_refused(k, "", bounds);
	} else {
		assert_refused(k, v, "");
		assert_refused(k, "", "");
	}
}

Test(conf, table_bounds)
{
	size_t i, checked = 0;

	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		cr_assert_eq(conf_key(k->key), k, "%s: one row per key", k->key);
		cr_assert_leq(k->off + k->size, sizeof(c), "%s: inside struct mk_conf", k->key);
		cr_assert_leq(k->min, k->max, "%s", k->key);
		switch (k->type) {
		case CONF_NUM:
		case CONF_BYTES:
		case CONF_BOOL:
			check_num_row(k);
			checked++;
			break;
		case CONF_STRING:
		case CONF_LISTEN:
		case CONF_NAME:
			check_len_row(k);
			checked++;
			break;
		case CONF_LIST:
		case CONF_NTYPES:
			break;
		}
	}
	cr_assert_geq(checked, 16, "%zu rows checked", checked);
}

Test(conf, one_message_shape)
{
	static const struct { const char *key, *value, *msg; } cases[] = {
		{ "workers", "0", "workers: '0' is not a number from 1 to 256" },
		{ "workers", "8x", "workers: '8x' is not a number from 1 to 256" },
		{ "body_limit", "2G", "body_limit: '2G' is not a byte count from 1 to 1G" },
		{ "map_size", "512K", "map_size: '512K' is not a byte count from 1M to 1024G" },
		{ "map_max", "1T", "map_max: '1T' is not a byte count from 1M to 1024G" },
		{ "max_user_bytes", "1000",
		    "max_user_bytes: '1000' is not a byte count from 1K to 1G" },
		{ "request_timeout", "-1",
		    "request_timeout: '-1' is not a number of seconds from 0 to 86400" },
		{ "max_requests", "10K",
		    "max_requests: '10K' is not a number from 0 to 18446744073709551615" },
		{ "max_depth", "1001", "max_depth: '1001' is not a number from 1 to 1000" },
		{ "relaxed_sync", "maybe",
		    "relaxed_sync: 'maybe' is not true/false, yes/no, on/off or 1/0" },
		{ "listen", "::1:9000", "listen: '::1:9000' is not HOST:PORT (or [IPv6]:PORT)" },
		{ "user", "bad user", "user: 'bad user' is not a user name" },
		{ "group", "-x", "group: '-x' is not a group name" },
		{ "database", "", "database: '' is not a path of 1 to 4095 bytes" },
		{ "pid_file", "", "pid_file: '' is not a path of 1 to 4095 bytes" },
		{ "connections", "x,,y", "connections: 'x,,y' is not a comma-separated list "
		    "of 1 to 32 names of 1 to 255 bytes" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		cr_assert_eq(conf_set(&c, cases[i].key, cases[i].value, &err), MK_ERR_INVALID,
		    "%s '%s'", cases[i].key, cases[i].value);
		cr_assert_str_eq(err.msg, cases[i].msg);
	}
}

/* Read a file of the source tree (relative to tests/data/..) into a string. */
static char *
read_src(const char *rel)
{
	char path[4096], *text;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/../../%s", MK_TEST_DATA, rel);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	cr_assert_not_null(text);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

/* Every key of the table is in the example file and the manual page. */
Test(conf, every_key_documented)
{
	char *example = read_src("etc/metakeepd.conf.example");
	char *man = read_src("man/metakeepd.8");
	char want[128], want2[128];
	size_t i;

	for (i = 0; i < conf_nkeys; i++) {
		const char *k = conf_keys[i].key;

		snprintf(want, sizeof(want), "\n%s = ", k);
		snprintf(want2, sizeof(want2), "\n;%s = ", k);
		cr_assert(strstr(example, want) != NULL || strstr(example, want2) != NULL,
		    "etc/metakeepd.conf.example does not show '%s'", k);
		snprintf(want, sizeof(want), ".RB [ %s ]", k);
		snprintf(want2, sizeof(want2), ".BI %s ", k);
		cr_assert(strstr(man, want) != NULL || strstr(man, want2) != NULL,
		    "man/metakeepd.8 does not describe '%s'", k);
	}
	free(man);
	free(example);
}

/*
 * test_conf: the settings module: defaults, every key's validation through
 * conf_set (a bad value is refused and changes nothing), and conf_load_file
 * with its file:line messages.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

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

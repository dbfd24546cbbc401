/*
 * metakeepd: the daemon's entry point.  It reads the configuration (the
 * defaults, then the file given with -c, then the other options), picks one
 * of the three ways to run, sets up the socket and the privileges, and
 * hands over to the master (or, for CGI, answers the one request itself):
 *
 *   own socket   --socket PATH or --listen HOST:PORT: bind it, then N
 *                workers accept on it;
 *   inherited    no socket option and fd 0 is a listening socket (lighttpd
 *                bin-path, spawn-fcgi, Apache mod_fcgid): N workers accept
 *                on fd 0; never goes to the background, the web server
 *                supervises it;
 *   CGI          neither, and the environment holds GATEWAY_INTERFACE or
 *                REQUEST_METHOD: answer one request from the environment
 *                and stdin, then exit.
 *
 * Everything that needs root (binding, chown of the database directory
 * and the socket, the pid file) happens before the privileges are dropped,
 * and they are dropped before the first worker is forked.  The store is
 * never opened here: each worker opens its own after fork.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "dbdir.h"
#include "gc.h"
#include "log.h"
#include "master.h"
#include "pagecache.h"
#include "ratelimit.h"
#include "worker.h"

/* Group commit slots: requests and results up to this are batched (larger
 * ones commit alone), plus room for the write's own fields. */
#define POOL_GC_SLOT_MAX   ((size_t)16 << 20)
#define POOL_GC_SLOT_EXTRA ((size_t)64 << 10)
/* Buckets of the rate limits: two a caller (reads, writes), 32 bytes each. */
#define RATE_BUCKETS 8192

enum mode {
	MODE_SOCKET,
	MODE_INHERITED,
	MODE_CGI,
};

/* What the workers need, handed to them through master_run. */
struct daemon_ctx {
	const struct mk_conf *conf;
	int fd;
	struct gc *gc;   /* group commit region, or NULL */
};

/* The account to run as, copied out of getpwnam's static storage. */
struct run_user {
	int set;
	uid_t uid;
	gid_t gid;
	char name[64];
};

enum {
	OPT_SOCKET = 256,
	OPT_LISTEN,
	OPT_BODY_LIMIT,
	OPT_MAP_SIZE,
	OPT_MAP_MAX,
	OPT_MAX_REQUESTS,
	OPT_REQUEST_TIMEOUT,
	OPT_RELAXED_SYNC,
	OPT_USER,
	OPT_GROUP,
	OPT_PID_FILE,
	OPT_DEBUG,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "db", required_argument, NULL, 'd' },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "workers", required_argument, NULL, 'w' },
	{ "body-limit", required_argument, NULL, OPT_BODY_LIMIT },
	{ "map-size", required_argument, NULL, OPT_MAP_SIZE },
	{ "map-max", required_argument, NULL, OPT_MAP_MAX },
	{ "max-requests", required_argument, NULL, OPT_MAX_REQUESTS },
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "relaxed-sync", no_argument, NULL, OPT_RELAXED_SYNC },
	{ "user", required_argument, NULL, OPT_USER },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "foreground", no_argument, NULL, 'f' },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};
static const char short_opts[] = "c:d:w:fhV";

static void
usage(FILE *f)
{
	fputs(
"usage: metakeepd [options]\n"
"Serve the metakeep API over FastCGI (or CGI).\n"
"\n"
"  -c, --config FILE       read settings from the [metakeepd] section of FILE\n"
"                          (options given on the command line win)\n"
"  -d, --db DIR            database directory (default /var/lib/metakeep)\n"
"      --socket PATH       listen on a unix socket, mode 0660\n"
"      --listen HOST:PORT  listen on TCP, e.g. 127.0.0.1:9000 or [::1]:9000\n"
"  -w, --workers N         worker processes, 1 to 256 (default 4)\n"
"      --body-limit BYTES  largest request body (default 1M; K, M, G suffixes)\n"
"      --map-size BYTES    LMDB map size at start (default 1G; K, M, G suffixes);\n"
"                          without --map-max, a hard cap\n"
"      --map-max BYTES     grow the map by itself up to BYTES (default, with\n"
"                          neither option: as far as the disk has room)\n"
"      --max-requests N    replace a worker after N requests (default 0: never)\n"
"      --request-timeout SECONDS\n"
"                          kill a worker stuck in one request longer than\n"
"                          this (default 30; 0: never)\n"
"      --relaxed-sync      faster commits that a system crash may lose\n"
"      --user NAME         when started as root, run as NAME (required then)\n"
"      --group NAME        database files mode 0660 and of group NAME\n"
"      --pid-file PATH     write the master's process id to PATH\n"
"  -f, --foreground        stay in the foreground and log to stderr\n"
"      --debug             log every request; implies --foreground\n"
"  -h, --help              show this help and exit\n"
"  -V, --version           show the version and exit\n"
"\n"
"Without --socket or --listen, metakeepd serves FastCGI on a listening socket\n"
"passed as fd 0 (lighttpd bin-path, spawn-fcgi, mod_fcgid), or answers one\n"
"CGI request when fd 0 is not a socket.  See metakeepd(8).\n", f);
}

/* Map an option to its configuration key and value. */
static int
opt_key(int ch, const char *optval, const char **key, const char **value)
{
	*value = optval;
	switch (ch) {
	case 'd': *key = "database"; break;
	case OPT_SOCKET: *key = "socket"; break;
	case OPT_LISTEN: *key = "listen"; break;
	case 'w': *key = "workers"; break;
	case OPT_BODY_LIMIT: *key = "body_limit"; break;
	case OPT_MAP_SIZE: *key = "map_size"; break;
	case OPT_MAP_MAX: *key = "map_max"; break;
	case OPT_MAX_REQUESTS: *key = "max_requests"; break;
	case OPT_REQUEST_TIMEOUT: *key = "request_timeout"; break;
	case OPT_RELAXED_SYNC: *key = "relaxed_sync"; *value = "true"; break;
	case OPT_USER: *key = "user"; break;
	case OPT_GROUP: *key = "group"; break;
	case OPT_PID_FILE: *key = "pid_file"; break;
	case 'f': *key = "foreground"; *value = "true"; break;
	case OPT_DEBUG: *key = "debug"; *value = "true"; break;
	default: return -1;
	}
	return 0;
}

/*
 * Two passes over argv: the first finds --config (and --help, --version),
 * the second applies every other option on top of the file, so the command
 * line wins wherever it appears.  Returns 0, or an exit status.
 */
static int
parse_args(int argc, char *argv[], struct mk_conf *c)
{
	struct mk_err err;
	const char *config = NULL, *key, *value;
	int ch;

	opterr = 1;
	while ((ch = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("metakeepd %s\n", PACKAGE_VERSION);
			exit(0);
		case '?':
			usage(stderr);
			return EX_USAGE;
		default:
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "metakeepd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	memset(&err, 0, sizeof(err));
	if (config != NULL && conf_load_file(c, config, &err) != MK_OK) {
		fprintf(stderr, "metakeepd: %s\n", err.msg);
		return EX_CONFIG;
	}

	optind = 0;  /* glibc: start over, re-reading the option string */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		if (opt_key(ch, optarg, &key, &value) == -1)
			continue;
		if (conf_set(c, key, value, &err) != MK_OK) {
			fprintf(stderr, "metakeepd: %s\n", err.msg);
			return EX_USAGE;
		}
	}
	if (c->socket_path[0] != '\0' && c->listen_addr[0] != '\0') {
		fprintf(stderr, "metakeepd: give either a socket or a listen address, "
		    "not both\n");
		return EX_USAGE;
	}
	if (c->debug)
		c->foreground = 1;
	return 0;
}

/* Is fd 0 a listening socket handed over by a web server or spawner? */
static int
fd0_is_listener(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int v = 0;

	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0)
		return v != 0;
	/* Where SO_ACCEPTCONN is unknown: libfcgi's own test. */
	len = sizeof(ss);
	return getpeername(0, (struct sockaddr *)&ss, &len) == -1 && errno == ENOTCONN;
}

/* Make a relative path absolute, since a daemon runs in "/". */
static int
absolutize(char *path, size_t sz)
{
	char cwd[PATH_MAX], tmp[4096];
	int n;

	if (path[0] == '\0' || path[0] == '/')
		return 0;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	n = snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
	if (n < 0 || (size_t)n >= sz || (size_t)n >= sizeof(tmp))
		return -1;
	memcpy(path, tmp, (size_t)n + 1);
	return 0;
}

static int
open_unix(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd = -1, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: socket path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	/* A leftover socket from a crash is removed; a live one is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("%s: exists and is not a socket", path);
			return -1;
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
			log_warn("socket");
			return -1;
		}
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			log_warnx("%s: in use by a running server", path);
			return -1;
		}
		close(probe);
		if (unlink(path) == -1) {
			log_warn("%s: cannot remove the stale socket", path);
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket");
		return -1;
	}
	/* The umask keeps the socket from being open to all even for a moment. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warn("%s: bind", path);
		goto fail;
	}
	umask(old);
	if (chmod(path, 0660) == -1) {
		log_warn("%s: chmod", path);
		goto fail;
	}
	if (listen(fd, SOMAXCONN) == -1) {
		log_warn("%s: listen", path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int
open_tcp(const char *addr)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *port, *colon;
	size_t hlen;
	int fd = -1, on = 1, rc;

	/* conf_set checked the shape: "host:port" or "[v6]:port". */
	colon = strrchr(addr, ':');
	port = colon + 1;
	if (addr[0] == '[') {
		hlen = (size_t)(colon - addr) - 2;
		memcpy(host, addr + 1, hlen);
	} else {
		hlen = (size_t)(colon - addr);
		memcpy(host, addr, hlen);
	}
	host[hlen] = '\0';

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		log_warn("%s", addr);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Who to run as.  As root a --user is required and must not be root
 * itself; as anyone else --user may only name oneself.  Returns 0 or an
 * exit status.
 */
static int
resolve_user(const struct mk_conf *c, struct run_user *u)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (geteuid() == 0 && c->user[0] == '\0') {
		log_warnx("refusing to run as root: give --user NAME "
		    "(or user = NAME in the configuration file)");
		return EX_CONFIG;
	}
	if (c->user[0] == '\0')
		return 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		log_warnx("user %s: no such user", c->user);
		return EX_CONFIG;
	}
	if (geteuid() != 0) {
		if (pw->pw_uid != geteuid()) {
			log_warnx("--user %s needs root", c->user);
			return EX_CONFIG;
		}
		return 0;
	}
	if (pw->pw_uid == 0) {
		log_warnx("refusing to run as root: --user %s is root", c->user);
		return EX_CONFIG;
	}
	u->set = 1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	return 0;
}

/*
 * The group of --group: any group as root, else one of our own (chown
 * allows no other).  Returns 0 or an exit status; *gid set on success.
 */
static int
resolve_group(const struct mk_conf *c, gid_t *gid)
{
	gid_t groups[256];
	struct group *gr;
	int i, n;

	if ((gr = getgrnam(c->group)) == NULL) {
		log_warnx("group %s: no such group", c->group);
		return EX_CONFIG;
	}
	if (geteuid() != 0 && gr->gr_gid != getegid()) {
		n = getgroups((int)(sizeof(groups) / sizeof(groups[0])), groups);
		for (i = 0; i < n; i++)
			if (groups[i] == gr->gr_gid)
				break;
		if (n <= 0 || i == n) {
			log_warnx("--group %s: not one of this user's groups",
			    c->group);
			return EX_CONFIG;
		}
	}
	*gid = gr->gr_gid;
	return 0;
}

/*
 * Before the privileges are dropped: create the database directory when
 * missing and give it and its LMDB files to --user (owner and primary
 * group) and, with --group, to that group, setgid on the directory so that
 * the files LMDB makes later inherit the group, mode 0660 on the files.
 * dbdir_give follows no link and gives away only what is ours or already
 * theirs (a hard link planted in a directory the user owns would otherwise
 * hand root's file over).  Returns 0, or -1 after saying why.
 */
static int
prepare_db(const struct mk_conf *c, const struct run_user *u, gid_t gid)
{
	struct dbdir_owner o;
	struct mk_err err;
	int group = c->group[0] != '\0';

	if (mkdir(c->db_dir, group ? 02770 : 0700) == -1 && errno != EEXIST) {
		log_warn("%s", c->db_dir);
		return -1;
	}
	o.uid = u->set ? u->uid : (uid_t)-1;
	o.gid = group ? gid : u->set ? u->gid : (gid_t)-1;
	o.dir_mode = group ? 02770 : 0;
	o.file_mode = group ? 0660 : 0;
	o.leave_others = 0;
	memset(&err, 0, sizeof(err));
	if (dbdir_give(c->db_dir, &o, &err) == -1) {
		log_warnx("%s", err.msg);
		return -1;
	}
	return 0;
}

/*
 * After the privileges are dropped, before any worker: can we use the
 * database directory?  A clear sentence now rather than a worker dying on
 * "mkdir: Permission denied" again and again.  Returns 0, or -1 after
 * saying why.
 */
static int
check_db(const struct mk_conf *c, const struct run_user *u)
{
	struct passwd *pw;
	struct mk_err err;
	char who[64];

	if (u->set)
		snprintf(who, sizeof(who), "%s", u->name);
	else if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(who, sizeof(who), "%s", pw->pw_name);
	else
		snprintf(who, sizeof(who), "uid %ju", (uintmax_t)geteuid());
	memset(&err, 0, sizeof(err));
	if (dbdir_reach(c->db_dir, who, &err) == -1) {
		log_warnx("%s", err.msg);
		return -1;
	}
	return 0;
}

static int
drop_privileges(const struct run_user *u)
{
	if (initgroups(u->name, u->gid) == -1 || setgid(u->gid) == -1 ||
	    setuid(u->uid) == -1) {
		log_warn("cannot switch to user %s", u->name);
		return -1;
	}
	if (setuid(0) != -1) {
		log_warnx("could regain root after switching to %s", u->name);
		return -1;
	}
	log_debug("running as %s", u->name);
	return 0;
}

/*
 * data.mdb's cached pages as 4 KiB pages before the workers map it (they
 * read it without readahead: store_opts.random_reads).  pagecache.h says
 * why; a failure costs speed only.
 */
static void
split_cache(const struct mk_conf *c)
{
	struct pagecache_split r;
	struct mk_err err;
	char path[sizeof(c->db_dir) + 16];

	memset(&err, 0, sizeof(err));
	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", c->db_dir) >= sizeof(path))
		return;
	if (pagecache_split(path, &r, &err) != MK_OK) {
		log_warnx("page cache: %s; writes may be slower", err.msg);
		return;
	}
	if (r.pages > 0)
		log_info("page cache: %zu of data.mdb's %zu pages were cached, read "
		    "back as 4 KiB pages in %lld ms", r.cached, r.pages, (long long)r.ms);
}

/* Refuse to start twice: an existing pid file naming a live process. */
static int
write_pid_file(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd, len;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			pid = strtol(buf, NULL, 10);
			if (pid > 0 && pid != (long)getpid() &&
			    (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
				log_warnx("%s: metakeepd already runs as pid %ld", path, pid);
				return -1;
			}
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_warn("%s", path);
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		log_warn("%s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * The group commit region of a pool (gc.h), made before the workers are
 * forked so they all share it, for two workers or more: durable commits
 * share the sync.  Not for relaxed pools with write_map: LMDB has no
 * nested transactions with MDB_WRITEMAP, and writing the map in place
 * gains more than sharing a transaction did (relaxed PATCH +25 %, POST
 * +40 % against group commit, BENCHMARKS.md, eighth session).
 * A slot holds a request (a body, re-serialized) and a result (a record);
 * twice as many slots as workers, so a successor finds one while its
 * predecessor's is still being freed.  NULL when not worth it or when it
 * cannot be made (the workers then commit alone, as before).
 */
static struct gc *
pool_gc(const struct mk_conf *c)
{
	struct gc *g = NULL;
	struct mk_err err;
	size_t bytes;

	if (c->workers < 2 || (c->store.relaxed_sync && c->store.write_map))
		return NULL;
	bytes = c->body_limit > c->limits.max_user_bytes ? c->body_limit :
	    c->limits.max_user_bytes;
	if (bytes == 0 || bytes > POOL_GC_SLOT_MAX)
		bytes = POOL_GC_SLOT_MAX;
	bytes += POOL_GC_SLOT_EXTRA;
	if (gc_new((unsigned)c->workers * 2, bytes, &g, &err) != MK_OK) {
		log_warnx("%s; workers commit alone", err.msg);
		return NULL;
	}
	return g;
}

static int
run_worker(void *arg)
{
	const struct daemon_ctx *d = arg;

	return worker_run(d->conf, d->fd, d->gc);
}

int
main(int argc, char *argv[])
{
	static struct mk_conf conf;  /* holds pointers into itself: never copied */
	struct daemon_ctx d;
	struct run_user u;
	enum mode mode;
	struct ratelimit *rl = NULL;
	struct mk_err rerr;
	gid_t gid = 0;
	int rc, fd = -1, pid_written = 0, own_socket = 0;

	conf_defaults(&conf);
	/* Workers read the map a page at a time (split_cache). */
	conf.store.random_reads = 1;
	if ((rc = parse_args(argc, argv, &conf)) != 0)
		return rc;

	if (conf.socket_path[0] != '\0' || conf.listen_addr[0] != '\0')
		mode = MODE_SOCKET;
	else if (fd0_is_listener())
		mode = MODE_INHERITED;
	else if (getenv("GATEWAY_INTERFACE") != NULL || getenv("REQUEST_METHOD") != NULL)
		mode = MODE_CGI;
	else {
		fprintf(stderr, "metakeepd: no socket: give --socket PATH or --listen "
		    "HOST:PORT, or start it from a web server (see metakeepd(8))\n");
		return EX_USAGE;
	}

	/* CGI writes to the web server's error log, which is its stderr. */
	log_init("metakeepd", conf.foreground || mode == MODE_CGI, conf.debug);
	if ((rc = resolve_user(&conf, &u)) != 0)
		return rc;
	if (conf.group[0] != '\0') {
		if ((rc = resolve_group(&conf, &gid)) != 0)
			return rc;
		/* The files LMDB creates: 0660 as asked, whatever the umask. */
		conf.store.mode = 0660;
		umask(0007);
	}
	rc = EX_CONFIG;

	if (mode == MODE_SOCKET && !conf.foreground &&
	    (absolutize(conf.db_dir, sizeof(conf.db_dir)) == -1 ||
	     absolutize(conf.socket_path, sizeof(conf.socket_path)) == -1 ||
	     absolutize(conf.pid_file, sizeof(conf.pid_file)) == -1)) {
		log_warnx("cannot make the paths absolute");
		goto out;
	}
	if (mode == MODE_SOCKET) {
		fd = conf.socket_path[0] != '\0' ? open_unix(conf.socket_path) :
		    open_tcp(conf.listen_addr);
		if (fd == -1)
			goto out;
		own_socket = conf.socket_path[0] != '\0';
		if (own_socket && u.set &&
		    chown(conf.socket_path, u.uid, u.gid) == -1) {
			log_warn("%s: chown", conf.socket_path);
			goto out;
		}
	} else if (mode == MODE_INHERITED)
		fd = 0;
	if ((u.set || conf.group[0] != '\0') && prepare_db(&conf, &u, gid) == -1)
		goto out;

	if (mode == MODE_SOCKET && !conf.foreground && daemon(0, 0) == -1) {
		log_warn("daemon");
		goto out;
	}
	if (mode != MODE_CGI && conf.pid_file[0] != '\0') {
		if (write_pid_file(conf.pid_file) == -1)
			goto out;
		pid_written = 1;
	}
	if (u.set && drop_privileges(&u) == -1)
		goto out;
	if (mode != MODE_CGI && check_db(&conf, &u) == -1)
		goto out;

	/*
	 * The rate limits' buckets, shared by the workers forked below (in CGI
	 * mode a process of its own per request: its headers are right, its
	 * limit is per request).  Without them the workers do not limit.
	 */
	if (conf.rate_limit && ratelimit_new(RATE_BUCKETS, &rl, &rerr) != MK_OK)
		log_warnx("%s; no rate limits", rerr.msg);
	worker_set_ratelimit(rl);
	if (mode == MODE_CGI) {
		rc = worker_cgi(&conf);
		goto out;
	}
	split_cache(&conf);
	log_info("serving %s with %d workers, database %s",
	    mode == MODE_INHERITED ? "the inherited socket" :
	    own_socket ? conf.socket_path : conf.listen_addr,
	    conf.workers, conf.db_dir);
	d.conf = &conf;
	d.fd = fd;
	d.gc = pool_gc(&conf);
	master_set_request_timeout(conf.request_timeout);
	rc = master_run(conf.workers, run_worker, &d);
	gc_free(d.gc);
	if (rc == EX_CONFIG)
		log_warnx("a worker could not start; see the messages above");
out:
	if (fd > 0)
		close(fd);
	/* Best effort: after dropping root these may live in root's directories. */
	if (own_socket && unlink(conf.socket_path) == -1)
		log_debug("%s: cannot remove: %s", conf.socket_path, strerror(errno));
	if (pid_written && unlink(conf.pid_file) == -1)
		log_debug("%s: cannot remove: %s", conf.pid_file, strerror(errno));
	ratelimit_free(rl);
	return rc;
}

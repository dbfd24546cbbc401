/*
 * conf: the settings of metakeepd and metakeepctl, from defaults, an
 * optional INI-style configuration file (parsed with inih) and the command
 * line, in that order of precedence (later wins).
 *
 * File format (etc/metakeepd.conf.example documents every key):
 *   [metakeepd]
 *   database = /var/lib/metakeep
 *   socket = /run/metakeep/metakeepd.sock     ; or: listen = 127.0.0.1:9000
 *   workers = 4
 *   body_limit = 1048576
 *   map_size = 1G            ; the map at start; alone, a hard cap
 *   map_max = 4G             ; grow by itself up to this (neither set: up to
 *                            ; what the filesystem has room for)
 *   max_requests = 10000
 *   request_timeout = 30     ; kill a worker stuck in one request (0: never)
 *   max_depth = 32
 *   max_user_bytes = 1048576
 *   search_budget = 8000000  ; index operations per search (sindex.h); 0: none
 *   search_slots = 3         ; heavy searches at once (slots.h); default
 *                            ; workers - 1 (at least 1); 0: no limit
 *   relaxed_sync = false
 *   rate_limit = on          ; off: no limits (the x-ratelimit-* headers go too)
 *   rate_read_per_minute = 600000   ; token buckets per caller (ratelimit.h)
 *   rate_read_burst = 20000
 *   rate_write_per_minute = 120000
 *   rate_write_burst = 10000
 *   log_events = on          ; Auth0's log events of every write (logev.h)
 *   log_retention_days = 30
 *   log_max_events = 100000
 *   trusted_proxies = 10.0.0.2, 10.0.0.3   ; X-Forwarded-For from these only
 *   connections = Username-Password-Authentication, other-db
 *   user = metakeep          ; drop to this user when started as root
 *   group = metakeep-admin   ; database files 0660 and of this group
 *   issuer = https://id.example.com/          ; the iss of /oauth/token's tokens
 *   audience = https://id.example.com/api/v2/ ; this API's identifier (aud);
 *                            ; both default to Auth0's for the request's Host
 */
#ifndef MK_CONF_H
#define MK_CONF_H

#include <stddef.h>

#include "err.h"
#include "logev.h"
#include "ratelimit.h"
#include "store.h"
#include "svc.h"

#define CONF_MAX_CONNECTIONS 32

struct mk_conf {
	struct store_opts store;   /* store.dir points into db_dir */
	struct svc_limits limits;  /* limits.connections points into connections */
	size_t body_limit;         /* request bodies, bytes; default 1 MiB */
	size_t search_budget;      /* units of work per search (sindex.h); 0: none */
	int rate_limit;            /* 1 (default): per-caller token buckets */
	struct ratelimit_class rate_read, rate_write;   /* GET; every other method */
	int search_slots;          /* heavy searches at once (slots.h); 0: no limit;
	                              -1 (default): workers - 1, at least 1 */
	struct logev_conf logs;    /* log events: on, retention */
	char trusted_proxies[1024];/* whose X-Forwarded-For is believed; "" none */
	char db_dir[4096];
	char socket_path[4096];    /* "" when not set */
	char listen_addr[256];     /* "host:port", "" when not set */
	char user[64];             /* "" when not set */
	char group[64];            /* share the database with it: "" when not set */
	char pid_file[4096];       /* "" when not set */
	char issuer[256];          /* "" when not set: https://HOST/ */
	char audience[256];        /* "" when not set: https://HOST/api/v2/ */
	int workers;               /* default 4 */
	unsigned long max_requests;/* recycle a worker after this many; 0 = never */
	unsigned request_timeout;  /* s; kill a worker stuck in one request; 0 = never */
	int foreground;
	int debug;
	char conn_storage[CONF_MAX_CONNECTIONS][256];
	const char *connections[CONF_MAX_CONNECTIONS + 1];
};

/*
 * The keys, one row each (as nginx's ngx_command_t): the type says how the
 * value is parsed and what its bounds mean; off and size locate the field
 * in struct mk_conf.  A value that does not parse or is out of bounds is
 * refused with one message shape, "KEY: 'VALUE' is not WHAT BOUNDS", e.g.
 * "workers: '0' is not a number from 1 to 256".
 */
enum conf_type {
	CONF_STRING,   /* min..max bytes (a path) */
	CONF_NUM,      /* a decimal number in [min, max] */
	CONF_BYTES,    /* a byte count, optional K, M, G suffix, in [min, max] */
	CONF_BOOL,     /* true/false, yes/no, on/off, 1/0 */
	CONF_LISTEN,   /* HOST:PORT or [IPv6]:PORT, min..max bytes */
	CONF_NAME,     /* a user or group name, min..max bytes */
	CONF_LIST,     /* the connections: min..max names */
	CONF_NTYPES
};

struct conf_key {
	const char *key;
	enum conf_type type;
	size_t off;                /* offsetof(struct mk_conf, field) */
	size_t size;               /* sizeof that field */
	unsigned long long min, max;
	const char *what;          /* the message's WHAT: "a number", "a path" */
};

extern const struct conf_key conf_keys[];
extern const size_t conf_nkeys;

/* The row of key, or NULL. */
const struct conf_key *conf_key(const char *key);

/*
 * Defaults: database "/var/lib/metakeep", 4 workers, request_timeout 30,
 * api and store defaults.
 */
void conf_defaults(struct mk_conf *c);

/*
 * Read an INI file's [metakeepd] section into c.  Unknown keys and bad
 * values are errors (MK_ERR_INVALID, err->msg names file, line and key);
 * a missing file is MK_ERR_NOTFOUND.
 */
enum mk_code conf_load_file(struct mk_conf *c, const char *path, struct mk_err *err);

/*
 * Set one key as the file would ("workers", "4"); used for command-line
 * options too, so both share one validation.  MK_ERR_INVALID on an unknown
 * key ("unknown key 'KEY'") or a bad value (the message above); c is
 * unchanged then.
 */
enum mk_code conf_set(struct mk_conf *c, const char *key, const char *value, struct mk_err *err);

#endif

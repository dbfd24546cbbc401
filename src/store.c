/*
 * store: records and indexes in one LMDB environment (see store.h).
 *
 * Every table is a named database with plain byte-order keys.  Index keys
 * are "value '\0' id": byte order sorts by the value, then by the id, which
 * is the tie-break order the API promises, and the id is found again after
 * the first NUL (emails, timestamps and ids never hold a NUL).
 *
 * A "meta" table holds "schema" -> "1" so that an older build refuses an
 * environment written by a newer one instead of misreading it.
 *
 * Transactions.  The environment is opened with MDB_NOTLS: read
 * transactions are then not tied to a thread's slot, so one per store can
 * be kept and recycled with mdb_txn_reset/mdb_txn_renew (no slot search per
 * request), and a process may hold a read and a write transaction at once.
 * Writes happen only inside store_write, which owns the write transaction
 * and decides commit or abort; helpers remember LMDB failures in the
 * transaction so a swallowed MDB_MAP_FULL still aborts and reports
 * MK_ERR_FULL.
 *
 * MDB_MAP_RESIZED (another process grew the map beyond ours) is handled by
 * adopting the new size, which remaps the file.  That is only safe when no
 * transaction of this process is live (slices would point into the old
 * map), so with one open the begin fails instead.
 */
/* F_OFD_SETLK (store_compact): Linux open-file-description locks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "store.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pagecache.h"
#include "util.h"

/*
 * This process's id, cached: every transaction checks that its handle was
 * opened here (a handle inherited over fork belongs to the parent), and a
 * getpid system call per read and per write was measurable (two per PATCH,
 * about 1 % of a worker's CPU under bench/run).  A fork clears the cache in
 * the child (pthread_atfork), so the child asks again.
 */
static pid_t store_pid_cached;

static void
store_pid_forget(void)
{
	store_pid_cached = 0;
}

static pid_t
store_pid(void)
{
	static int registered;

	if (store_pid_cached == 0) {
		if (!registered && pthread_atfork(NULL, NULL, store_pid_forget) == 0)
			registered = 1;
		/* Not registered (no memory): never cache, ask each time. */
		if (!registered)
			return getpid();
		store_pid_cached = getpid();
	}
	return store_pid_cached;
}

#define STORE_SCHEMA      6   /* 2: user numbers, search postings of numbers;
                                 3: order index keys of packed times and numbers;
                                 4: users_email values short for the common
                                    connection;
                                 5: users_created keys hold the user_id's
                                    first bytes;
                                 6: the new users' search entries in
                                    terms_new (above meta "termfloor") */
#define STORE_MAP_DEFAULT ((size_t)1 << 30)
/*
 * With neither map_size nor map_max set, the map grows by itself up to this:
 * on 64-bit systems far more than any disk metakeep runs on, so the real
 * limit is the filesystem's free space (a write past it gets ENOSPC and is
 * answered as "the disk is full").  The map is address space, not disk: it
 * costs nothing until pages are written.  32-bit systems keep 1 GiB.
 */
#define STORE_MAP_AUTO    (sizeof(size_t) >= 8 ? (size_t)1 << 44 : STORE_MAP_DEFAULT)
#define STORE_MAXDBS      32
#define STORE_MAXREADERS  256
#define STORE_RETRIES     3
#define STORE_KEYMAX      511   /* LMDB's default MDB_MAXKEYSIZE */
#define STORE_HEADROOM    ((size_t)256 << 10) /* least free map kept ahead of writes */
#define STORE_TAIL_MIN    16    /* tail_ahead: pages the file reaches past its */
#define STORE_TAIL_MAX    256   /* data: 1/64 of the data, within these */

enum {
	DB_META,
	DB_USERS,
	DB_USERS_EMAIL,
	DB_USERS_CREATED,
	DB_USERS_UPDATED,
	DB_PWHASH,
	DB_CLIENTS,
	DB_CLIENTS_CREATED,
	DB_TOKENS,
	DB_TERMS,
	DB_NUMS,
	DB_SESSIONS,
	DB_LOGS,
	DB_LOGS_USER,
	DB_GRANTS,
	DB_KEYS,
	DB_TERMS_NEW,
	DB__COUNT
};

/* Tables newer than schema 2's first release: a read-only open of a store
 * no newer build opened read-write yet sees them as empty. */
#define DB_LATE(i) ((i) == DB_GRANTS || (i) == DB_KEYS)

static const char *const db_names[DB__COUNT] = {
	"meta", "users", "users_email", "users_created", "users_updated",
	"pwhash", "clients", "clients_created", "tokens", "terms", "user_nums",
	"sessions",
	"logs", "logs_user",
	"grants", "keys",
	"terms_new",
};

/* Tables a store of an older build may lack: read-only, it has no events. */
#define DB_OPTIONAL(i) ((i) == DB_LOGS || (i) == DB_LOGS_USER)

/* LMDB flags of each table beyond MDB_CREATE (see store.h). */
static unsigned int
db_flags(int i)
{
	if (i == DB_TERMS || i == DB_TERMS_NEW)
		return MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP;
	if (i == DB_NUMS)
		return MDB_INTEGERKEY;
	return 0;
}

#define NUM_SIZE sizeof(uint32_t)   /* a user number, native byte order */

static enum mk_code cursor_error(struct store_txn *t, int rc);
static enum mk_code cursor_open(struct store_txn *t, MDB_dbi dbi, MDB_cursor **c);
struct store;
static int email_val_make(struct store *s, MDB_txn *txn, int write,
    const char *connection, MDB_val *v);

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	int write;       /* a store_write transaction */
	int cached;      /* the store's recycled read transaction */
	int failed;      /* first LMDB failure inside store_write's fn, or 0 */
	int floor_ok;    /* a write's floor of terms_new is read: floor */
	uint32_t floor;
	int locked;      /* a write holding the shared lock (write_begin) */
	int map_full;    /* a write that ended on MDB_MAP_FULL */
	size_t free;     /* write_map: the map's bytes past the data at begin */
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[DB__COUNT];
	int absent[DB__COUNT]; /* read-only: a DB_LATE table not there yet */
	char *dir;
	pid_t pid;            /* the process that opened it */
	int read_only;
	size_t keymax;
	size_t map_max;       /* grow the map up to this many bytes; 0: never */
	const char *limit_key; /* the setting that sets the limit; NULL: the disk */
	size_t psize;         /* page size */
	MDB_txn *rtxn;        /* recycled read transaction, reset when idle */
	struct store_txn rt;  /* its handle */
	int rt_busy;
	int reads;            /* live read transactions (cached + extra) */
	int in_write;
	int no_sessions;      /* read-only, and the store has no sessions table */
	int no_logs;          /* read-only, and the store has no log tables yet */
	int tail;             /* keep a cached tail ahead of the data (tail_ahead) */
	off_t tail_end;       /* the file's size as tail_ahead last saw it */
	int wmap;             /* MDB_WRITEMAP: the map kept by wmap_fit */
	int wmap_fd;          /* write_map: data.mdb, for wmap_lock; else -1 */
	unsigned wmap_shift;  /* the room is the data >> this (wmap_fit) */
	int64_t wmap_grown;   /* mk_mono_ms of the last growth */
};

static int wmap_fit(struct store *s, size_t extra, int full);

static int
mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len, i;

	len = strlen(dir);
	if (len == 0 || len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, mode) == -1 && errno != EEXIST)
			return -1;
		if (i < len)
			path[i] = '/';
	}
	if (stat(dir, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/*
 * Directories are 0700, opened up only as far as the file mode asks: a
 * group that may read the files must be able to enter the directory.
 */
static mode_t
dir_mode(mode_t file)
{
	mode_t m = 0700;

	if (file & 0060)
		m |= 0010 | (file & 0060);
	if (file & 0006)
		m |= 0001 | (file & 0006);
	return m;
}

/*
 * Begin a transaction, adopting a map grown by another process.  The remap
 * moves the map, so it is refused while this process has a live transaction.
 */
static int
txn_begin(struct store *s, unsigned int flags, MDB_txn **out)
{
	MDB_envinfo info;
	int rc, tries;

	for (tries = 0; ; tries++) {
		rc = mdb_txn_begin(s->env, NULL, flags, out);
		if (rc != MDB_MAP_RESIZED || tries >= STORE_RETRIES)
			break;
		if (s->reads > 0 || s->in_write) {
			log_warnx("store %s: map grown by another process while "
			    "a transaction is open here; not remapping", s->dir);
			break;
		}
		if (s->wmap) {
			/* Not the other's size: only as far as is allocated. */
			if ((rc = wmap_fit(s, 0, 0)) != 0)
				return rc;
			continue;
		}
		if ((rc = mdb_env_set_mapsize(s->env, 0)) != 0) {
			log_warnx("store %s: adopting new map size: %s", s->dir,
			    mdb_strerror(rc));
			return rc;
		}
		/*
		 * The file records the largest size any process used (an admin
		 * tool run with the default 1 GiB, say): keep to ours.  LMDB
		 * never maps less than the data in use.
		 */
		if (s->map_max != 0 && mdb_env_info(s->env, &info) == 0 &&
		    info.me_mapsize > s->map_max &&
		    (rc = mdb_env_set_mapsize(s->env, s->map_max)) != 0) {
			log_warnx("store %s: capping the map: %s", s->dir,
			    mdb_strerror(rc));
			return rc;
		}
		log_info("store %s: map grown by another process, remapped", s->dir);
	}
	return rc;
}

/*
 * Remember an LMDB failure in a write transaction and turn it into a code.
 * MDB_MAP_FULL and MDB_TXN_FULL poison the transaction: LMDB refuses any
 * further change, and store_write must report MK_ERR_FULL whatever fn says.
 */
static enum mk_code
txn_fail(struct store_txn *t, int rc, const char *what)
{
	if (t->failed != 0) {
		/* LMDB now refuses everything (MDB_BAD_TXN): keep the cause. */
		rc = t->failed;
	} else {
		t->failed = rc;
		if (rc != MDB_MAP_FULL && rc != MDB_TXN_FULL)
			log_warnx("store %s: %s: %s", t->s->dir, what,
			    mdb_strerror(rc));
	}
	if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
		return MK_ERR_FULL;
	return MK_ERR_INTERNAL;
}

static int
check_write(struct store_txn *t, const char *what)
{
	if (t == NULL || !t->write) {
		log_warnx("store: %s outside a write transaction", what);
		return -1;
	}
	return 0;
}

/*
 * "a '\0' b" into buf; -1 when either part is empty or the key too long
 * (over s->keymax, which is at most STORE_KEYMAX: buf always has room).
 */
static int
key2(struct store *s, char buf[STORE_KEYMAX + 1], const char *a, const char *b,
    MDB_val *k)
{
	size_t na, nb;

	na = strlen(a);
	nb = strlen(b);
	if (nb == 0 || na + 1 + nb > STORE_KEYMAX || na + 1 + nb > s->keymax)
		return -1;
	memcpy(buf, a, na);
	buf[na] = '\0';
	memcpy(buf + na + 1, b, nb);
	k->mv_data = buf;
	k->mv_size = na + 1 + nb;
	return 0;
}

/* The id after the first NUL of an index key; -1 when there is none. */
static int
key_id(const MDB_val *k, MDB_val *id)
{
	const char *p, *nul;

	p = k->mv_data;
	nul = memchr(p, '\0', k->mv_size);
	if (nul == NULL || (size_t)(nul - p) + 1 >= k->mv_size)
		return -1;
	id->mv_data = (void *)(uintptr_t)(nul + 1);
	id->mv_size = k->mv_size - (size_t)(nul - p) - 1;
	return 0;
}

/*
 * Order index keys (users_created, users_updated; schema 3): the time, then
 * the user's number (4 bytes, big-endian), no value.  A time of the shape
 * the service writes, "YYYY-MM-DDTHH:MM:SS.mmmZ", is packed into 6 bytes
 * (year 12 bits, month 4, day 5, hour 5, minute 6, second 6, ms 10: byte
 * order is the string's order); any other string (a year past 4079, or not
 * a time: never written by the service) is 0xff, the string and a NUL, so
 * it sorts after every packed time.  In users_created, then the first
 * OKEY_IDP bytes of the user_id (NUL-padded; schema 5).  Then the user's
 * number.  18 and 10-byte keys instead of about 55 (the string, a NUL, the
 * user_id): three to five times the entries per page, and the updated
 * index, whose entries move to its end on every write, stays small.
 * Entries of one time (and id prefix) are in number order; store_users_scan
 * puts them back in user_id order (the API's tie-break) when it reads them.
 * The prefix keeps those runs short when many users share one created_at
 * (an import of records that all carry one date: with schema 3 and 4,
 * every page of the default listing read all of them).  users_updated has
 * none: its entries move on every write, where 8 more bytes cost a third
 * more pages, and its ties part as users are written (an imported store of
 * one date sorted by updated_at reads the whole run until then).
 */
#define OKEY_TIME  6
#define OKEY_IDP   8
#define OKEY_IDP_OF(db) ((db) == DB_USERS_CREATED ? OKEY_IDP : 0)
#define OKEY_ESC   0xff
#define OKEY_MAXY  4079

static int
okey_db(int db)
{
	return db == DB_USERS_CREATED || db == DB_USERS_UPDATED;
}

static int
dec_field(const char *s, int n, unsigned int *out)
{
	unsigned int v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The 48 bits of a time of the service's shape; -1 when it is not one. */
static int
okey_pack(const char *s, size_t n, uint64_t *out)
{
	unsigned int y, mo, d, h, mi, se, ms;

	if (n != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != '.' || s[23] != 'Z' ||
	    dec_field(s, 4, &y) == -1 || dec_field(s + 5, 2, &mo) == -1 ||
	    dec_field(s + 8, 2, &d) == -1 || dec_field(s + 11, 2, &h) == -1 ||
	    dec_field(s + 14, 2, &mi) == -1 || dec_field(s + 17, 2, &se) == -1 ||
	    dec_field(s + 20, 3, &ms) == -1)
		return -1;
	if (y > OKEY_MAXY || mo > 15 || d > 31 || h > 31 || mi > 63 || se > 63)
		return -1;
	*out = (uint64_t)y << 36 | (uint64_t)mo << 32 | (uint64_t)d << 27 |
	    (uint64_t)h << 22 | (uint64_t)mi << 16 | (uint64_t)se << 10 | ms;
	return 0;
}

/*
 * The key of value (a time), id (NULL for no id prefix: users_updated) and
 * num into buf, k its bytes; -1 when it is too long.  Six parameters: the
 * entry's three parts, each a different value at its nine callers, the
 * store (its key limit), and buf, the storage k points into.
 */
static int
okey_make(struct store *s, char buf[STORE_KEYMAX + 1], const char *value,
    const char *id, uint32_t num, MDB_val *k)
{
	unsigned char *p = (unsigned char *)buf;
	size_t n = strlen(value), off, idn;
	uint64_t x;
	int i;

	if (okey_pack(value, n, &x) == 0) {
		for (i = 0; i < OKEY_TIME; i++)
			p[i] = (unsigned char)(x >> (8 * (OKEY_TIME - 1 - i)));
		off = OKEY_TIME;
	} else {
		if (2 + n + OKEY_IDP + NUM_SIZE > STORE_KEYMAX ||
		    2 + n + OKEY_IDP + NUM_SIZE > s->keymax)
			return -1;
		p[0] = OKEY_ESC;
		memcpy(p + 1, value, n);
		p[1 + n] = '\0';
		off = 2 + n;
	}
	if (id != NULL) {   /* users_created: the id's prefix */
		idn = strnlen(id, OKEY_IDP);
		memcpy(p + off, id, idn);
		memset(p + off + idn, 0, OKEY_IDP - idn);
		off += OKEY_IDP;
	}
	for (i = 0; i < 4; i++)
		p[off + (size_t)i] = (unsigned char)(num >> (8 * (3 - i)));
	k->mv_data = buf;
	k->mv_size = off + NUM_SIZE;
	return 0;
}

/* The number at the end of an order key (which has more than 4 bytes). */
static uint32_t
okey_num(const MDB_val *k)
{
	const unsigned char *p = (const unsigned char *)k->mv_data + k->mv_size - NUM_SIZE;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The time of an order key, as the string it was made from, into out
 * (STORE_KEYMAX + 1 bytes); -1 for a key of neither form.
 */
static int
okey_value_idp(const MDB_val *k, size_t idp, char out[STORE_KEYMAX + 1], size_t *n)
{
	const unsigned char *p = k->mv_data;
	size_t tail = idp + NUM_SIZE;
	uint64_t x = 0;
	int i;

	if (k->mv_size == OKEY_TIME + tail && p[0] != OKEY_ESC) {
		for (i = 0; i < OKEY_TIME; i++)
			x = x << 8 | p[i];
		*n = (size_t)snprintf(out, STORE_KEYMAX + 1,
		    "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
		    (unsigned int)(x >> 36), (unsigned int)(x >> 32) & 15,
		    (unsigned int)(x >> 27) & 31, (unsigned int)(x >> 22) & 31,
		    (unsigned int)(x >> 16) & 63, (unsigned int)(x >> 10) & 63,
		    (unsigned int)x & 1023);
		return 0;
	}
	if (k->mv_size >= 2 + tail && p[0] == OKEY_ESC &&
	    p[k->mv_size - tail - 1] == '\0' &&
	    memchr(p + 1, '\0', k->mv_size - tail - 1) == p + k->mv_size - tail - 1) {
		*n = k->mv_size - tail - 2;
		memcpy(out, p + 1, *n);
		out[*n] = '\0';
		return 0;
	}
	return -1;
}


static int
table_dbi(struct store *s, enum store_table table, MDB_dbi *dbi)
{
	switch (table) {
	case ST_USERS:
		*dbi = s->dbi[DB_USERS];
		return 0;
	case ST_CLIENTS:
		*dbi = s->dbi[DB_CLIENTS];
		return 0;
	case ST_TOKENS:
		*dbi = s->dbi[DB_TOKENS];
		return 0;
	case ST_PWHASH:
		*dbi = s->dbi[DB_PWHASH];
		return 0;
	case ST_SESSIONS:
		if (s->no_sessions)
			return -1;
		*dbi = s->dbi[DB_SESSIONS];
		return 0;
	case ST_GRANTS:
		*dbi = s->dbi[DB_GRANTS];
		return s->absent[DB_GRANTS] ? -2 : 0;
	case ST_KEYS:
		*dbi = s->dbi[DB_KEYS];
		return s->absent[DB_KEYS] ? -2 : 0;
	}
	return -1;
}

/* A plain table (no index): store_put and store_del work on it. */
static int
table_plain(enum store_table table)
{
	return table == ST_TOKENS || table == ST_PWHASH || table == ST_SESSIONS ||
	    table == ST_GRANTS || table == ST_KEYS;
}

/*
 * The search index is complete ("meta" holds "search" -> SEARCH_MARK) when
 * it was there from the first user on: a store without users gets the mark
 * when opened read-write.  A store that had users before (an upgraded one)
 * has none until sindex_rebuild, and searches scan.
 */
#define SEARCH_MARK "2"   /* the format of the complete index: postings of numbers */

static int
search_mark_new(struct store *s, MDB_txn *txn)
{
	MDB_val k, v;
	MDB_stat ms;
	int rc;

	k.mv_data = (void *)(uintptr_t)"search";
	k.mv_size = strlen("search");
	if ((rc = mdb_get(txn, s->dbi[DB_META], &k, &v)) != MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_stat(txn, s->dbi[DB_USERS], &ms)) != 0)
		return rc;
	if (ms.ms_entries > 0)
		return 0;
	v.mv_data = (void *)(uintptr_t)SEARCH_MARK;
	v.mv_size = strlen(SEARCH_MARK);
	return mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
}

/*
 * The search entries of users numbered at or above meta "termfloor" are in
 * terms_new, all others in terms (see the search index's section).  A
 * store without the floor (created, or upgraded from schema 5) has nothing
 * in terms_new: its floor is the next user number.
 */
#define FLOOR_KEY "termfloor"

/*
 * Into *out a number above every one given: the counter's next (meta
 * "nextnum"), or above the last numbered user when that is higher.
 * LMDB code.
 */
static int
num_above_all(struct store *s, MDB_txn *txn, uint32_t *out)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	uint32_t next = 1, last;
	int rc;

	k.mv_data = (void *)(uintptr_t)"nextnum";
	k.mv_size = strlen("nextnum");
	rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
	if (rc == 0 && v.mv_size == NUM_SIZE)
		memcpy(&next, v.mv_data, NUM_SIZE);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->dbi[DB_NUMS], &c)) != 0)
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == 0 && k.mv_size == NUM_SIZE) {
		memcpy(&last, k.mv_data, NUM_SIZE);
		if (last != UINT32_MAX && last + 1 > next)
			next = last + 1;
	} else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	*out = next;
	return 0;
}

/* Meta "termfloor" := floor.  LMDB code. */
static int
floor_put(struct store *s, MDB_txn *txn, uint32_t floor)
{
	MDB_val k, v;

	k.mv_data = (void *)(uintptr_t)FLOOR_KEY;
	k.mv_size = strlen(FLOOR_KEY);
	v.mv_data = &floor;
	v.mv_size = NUM_SIZE;
	return mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
}

static int
search_floor_new(struct store *s, MDB_txn *txn)
{
	MDB_val k, v;
	uint32_t floor;
	int rc;

	k.mv_data = (void *)(uintptr_t)FLOOR_KEY;
	k.mv_size = strlen(FLOOR_KEY);
	if ((rc = mdb_get(txn, s->dbi[DB_META], &k, &v)) != MDB_NOTFOUND)
		return rc;
	if ((rc = num_above_all(s, txn, &floor)) != 0)
		return rc;
	return floor_put(s, txn, floor);
}

static int
meta_put(struct store *s, MDB_txn *txn, const char *key, const void *val, size_t n)
{
	MDB_val k, v;

	k.mv_data = (void *)(uintptr_t)key;
	k.mv_size = strlen(key);
	v.mv_data = (void *)(uintptr_t)val;
	v.mv_size = n;
	return mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
}

/*
 * Schema 1 -> 2, inside store_setup's write transaction: number every user
 * (in user_id order) by putting the number in front of its record and into
 * user_nums, drop the old search table (term -> user_id strings), and take
 * the search index's complete mark away: searches scan every record (exact,
 * slower) until sindex_rebuild has filled the new index.  Returns an LMDB
 * code; *users gets the number of users numbered.
 */
static int
migrate_v1(struct store *s, MDB_txn *txn, size_t *users)
{
	MDB_cursor *c = NULL;
	MDB_dbi old;
	MDB_val k, v, nk, nv;
	uint32_t num = 0;
	char *buf = NULL, *nb, kbuf[STORE_KEYMAX + 1];
	size_t cap = 0;
	int rc;

	rc = mdb_dbi_open(txn, "search", 0, &old);
	if (rc == 0)
		rc = mdb_drop(txn, old, 1);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->dbi[DB_USERS], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (num == UINT32_MAX) {
			rc = MDB_MAP_FULL;
			break;
		}
		num++;
		if (cap < v.mv_size + NUM_SIZE) {
			cap = v.mv_size + NUM_SIZE + 4096;
			if ((nb = realloc(buf, cap)) == NULL) {
				rc = ENOMEM;
				break;
			}
			buf = nb;
		}
		memcpy(buf, &num, NUM_SIZE);
		memcpy(buf + NUM_SIZE, v.mv_data, v.mv_size);
		nv.mv_data = buf;
		nv.mv_size = v.mv_size + NUM_SIZE;
		/* k points into the page the put rewrites: give it a copy. */
		if (k.mv_size > STORE_KEYMAX) {
			rc = MDB_BAD_VALSIZE;
			break;
		}
		memcpy(kbuf, k.mv_data, k.mv_size);
		k.mv_data = kbuf;
		if ((rc = mdb_cursor_put(c, &k, &nv, MDB_CURRENT)) != 0)
			break;
		nk.mv_data = &num;
		nk.mv_size = NUM_SIZE;
		if ((rc = mdb_put(txn, s->dbi[DB_NUMS], &nk, &k, MDB_APPEND)) != 0)
			break;
	}
	mdb_cursor_close(c);
	free(buf);
	if (rc != MDB_NOTFOUND)
		return rc;
	num++;
	if ((rc = meta_put(s, txn, "nextnum", &num, NUM_SIZE)) != 0)
		return rc;
	k.mv_data = (void *)(uintptr_t)"search";
	k.mv_size = strlen("search");
	if ((rc = mdb_del(txn, s->dbi[DB_META], &k, NULL)) != 0 && rc != MDB_NOTFOUND)
		return rc;
	*users = num - 1;
	return 0;
}

struct okey_buf {
	char *p;           /* the keys, each after its 2-byte length */
	size_t n, cap;
	size_t *at;        /* offsets of the keys in p */
	size_t count, atcap;
};

static const char *okey_sort_base;

static int
okey_sort_cmp(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)okey_sort_base + *(const size_t *)a;
	const unsigned char *y = (const unsigned char *)okey_sort_base + *(const size_t *)b;
	size_t nx = (size_t)x[0] << 8 | x[1], ny = (size_t)y[0] << 8 | y[1];
	int c = memcmp(x + 2, y + 2, nx < ny ? nx : ny);

	return c != 0 ? c : (nx > ny) - (nx < ny);
}

/*
 * Schema 2, 3 or 4 -> 5, inside store_setup's write transaction: the order
 * indexes (users_created, users_updated) rewritten to okey_make's keys from
 * "time '\0' user_id" keys (from 2) or keys of a time and a number (from 3
 * and 4, which had no id prefix).  An entry whose user is gone or has no
 * number is dropped (*dropped counts them; metakeepctl check --repair
 * writes what is missing).  Returns an LMDB code; *entries gets the number
 * of entries written.
 */
static int
migrate_v2(struct store *s, MDB_txn *txn, long from, size_t *entries, size_t *dropped)
{
	static const int dbs[2] = { DB_USERS_CREATED, DB_USERS_UPDATED };
	struct okey_buf b;
	MDB_cursor *c = NULL;
	MDB_val k, v, id, uv, nk;
	char val[STORE_KEYMAX + 1], kb[STORE_KEYMAX + 1], idz[STORE_KEYMAX + 1];
	uint32_t num;
	size_t i, vn;
	char *np;
	void *na;
	int rc = 0, d;

	memset(&b, 0, sizeof(b));
	for (d = 0; d < 2 && rc == 0; d++) {
		b.n = 0;
		b.count = 0;
		if ((rc = mdb_cursor_open(txn, s->dbi[dbs[d]], &c)) != 0)
			break;
		for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			if (from >= 3) {
				/* time and number: the id from user_nums */
				if (k.mv_size <= NUM_SIZE ||
				    okey_value_idp(&k, 0, val, &vn) == -1) {
					(*dropped)++;
					continue;
				}
				num = okey_num(&k);
				nk.mv_data = &num;
				nk.mv_size = NUM_SIZE;
				rc = mdb_get(txn, s->dbi[DB_NUMS], &nk, &id);
			} else {
				if (key_id(&k, &id) == -1 ||
				    (vn = k.mv_size - id.mv_size - 1) > STORE_KEYMAX) {
					(*dropped)++;
					continue;
				}
				rc = mdb_get(txn, s->dbi[DB_USERS], &id, &uv);
				if (rc == 0 && uv.mv_size >= NUM_SIZE)
					memcpy(&num, uv.mv_data, NUM_SIZE);
				else if (rc == 0)
					rc = MDB_NOTFOUND;
				memcpy(val, k.mv_data, vn);
				val[vn] = '\0';
			}
			if (rc == MDB_NOTFOUND || id.mv_size > STORE_KEYMAX) {
				rc = 0;
				(*dropped)++;
				continue;
			}
			if (rc != 0)
				break;
			memcpy(idz, id.mv_data, id.mv_size);
			idz[id.mv_size] = '\0';
			if (okey_make(s, kb, val, dbs[d] == DB_USERS_CREATED ? idz : NULL,
			    num, &nk) == -1) {
				(*dropped)++;
				continue;
			}
			if (b.n + 2 + nk.mv_size > b.cap) {
				if ((np = realloc(b.p, b.cap * 2 + 4096)) == NULL) {
					rc = ENOMEM;
					break;
				}
				b.p = np;
				b.cap = b.cap * 2 + 4096;
			}
			if (b.count == b.atcap) {
				if ((na = realloc(b.at, (b.atcap * 2 + 256) * sizeof(*b.at))) == NULL) {
					rc = ENOMEM;
					break;
				}
				b.at = na;
				b.atcap = b.atcap * 2 + 256;
			}
			b.at[b.count++] = b.n;
			b.p[b.n] = (char)(nk.mv_size >> 8);
			b.p[b.n + 1] = (char)(nk.mv_size & 0xff);
			memcpy(b.p + b.n + 2, nk.mv_data, nk.mv_size);
			b.n += 2 + nk.mv_size;
		}
		mdb_cursor_close(c);
		c = NULL;
		if (rc != MDB_NOTFOUND)
			break;
		if ((rc = mdb_drop(txn, s->dbi[dbs[d]], 0)) != 0)
			break;
		okey_sort_base = b.p;
		if (b.count > 0)
			qsort(b.at, b.count, sizeof(*b.at), okey_sort_cmp);
		v.mv_data = (void *)(uintptr_t)"";
		v.mv_size = 0;
		for (i = 0; i < b.count && rc == 0; i++) {
			const unsigned char *q = (const unsigned char *)b.p + b.at[i];

			k.mv_size = (size_t)q[0] << 8 | q[1];
			k.mv_data = (void *)(uintptr_t)(q + 2);
			rc = mdb_put(txn, s->dbi[dbs[d]], &k, &v, MDB_APPEND);
			if (rc == MDB_KEYEXIST)   /* the same user twice: once is enough */
				rc = 0;
		}
		*entries += i;
	}
	free(b.p);
	free(b.at);
	return rc;
}

/*
 * Schema 3 -> 4, inside store_setup's write transaction: users_email values
 * rewritten by email_val_make (empty for the common connection).  Returns
 * an LMDB code; *entries gets the number of entries rewritten.
 */
static int
migrate_v3(struct store *s, MDB_txn *txn, size_t *entries)
{
	MDB_cursor *c = NULL;
	MDB_val k, v, nv;
	char kb[STORE_KEYMAX + 1], *vb = NULL, *np;
	size_t cap = 0;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->dbi[DB_USERS_EMAIL], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		/* The old value as a string (it points into the page). */
		if (cap < v.mv_size + 1) {
			cap = v.mv_size + 256;
			if ((np = realloc(vb, cap)) == NULL) {
				rc = ENOMEM;
				break;
			}
			vb = np;
		}
		memcpy(vb, v.mv_data, v.mv_size);
		vb[v.mv_size] = '\0';
		if (memchr(vb, '\0', v.mv_size) != NULL)
			continue;   /* not a name: left for check to report */
		if ((rc = email_val_make(s, txn, 1, vb, &nv)) != 0)
			break;
		if (nv.mv_size == v.mv_size)
			continue;   /* kept as it was */
		if (k.mv_size > STORE_KEYMAX) {
			rc = MDB_BAD_VALSIZE;
			break;
		}
		memcpy(kb, k.mv_data, k.mv_size);
		k.mv_data = kb;
		if ((rc = mdb_cursor_put(c, &k, &nv, MDB_CURRENT)) != 0)
			break;
		(*entries)++;
	}
	mdb_cursor_close(c);
	free(vb);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The schema version in meta: 0 when none (a new store), -1 unreadable. */
static long
schema_of(struct store *s, MDB_txn *txn, int *lmdb_rc)
{
	MDB_val k, v;
	char have[32], *end;
	long ver;

	k.mv_data = (void *)(uintptr_t)"schema";
	k.mv_size = strlen("schema");
	*lmdb_rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
	if (*lmdb_rc == MDB_NOTFOUND) {
		*lmdb_rc = 0;
		return 0;
	}
	if (*lmdb_rc != 0 || v.mv_size == 0 || v.mv_size >= sizeof(have))
		return -1;
	memcpy(have, v.mv_data, v.mv_size);
	have[v.mv_size] = '\0';
	errno = 0;
	ver = strtol(have, &end, 10);
	if (errno != 0 || *end != '\0' || ver < 1)
		return -1;
	return ver;
}

/*
 * Open the tables and check the schema, in one transaction: a write one
 * that creates what is missing (and upgrades an older schema), or for
 * read-only a read one whose commit keeps the handles.
 */
static enum mk_code
store_setup(struct store *s, struct mk_err *err)
{
	MDB_txn *txn = NULL;
	char want[16];
	unsigned int flags;
	size_t users = 0, oentries = 0, odropped = 0, eentries = 0;
	long ver = 0;
	int rc, i;
	enum mk_code code = MK_ERR_INTERNAL;

	flags = s->read_only ? 0 : MDB_CREATE;
	if ((rc = txn_begin(s, s->read_only ? MDB_RDONLY : 0, &txn)) != 0) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: begin: %s", s->dir,
		    mdb_strerror(rc));
		goto out;
	}
	/* meta first: the schema says whether the other tables are ours to read. */
	for (i = 0; i < DB__COUNT; i++) {
		if (i == DB_META + 1) {
			ver = schema_of(s, txn, &rc);
			if (ver < 0) {
				mk_fail(err, MK_ERR_INTERNAL, "store %s: unreadable schema "
				    "version%s%s", s->dir, rc ? ": " : "",
				    rc ? mdb_strerror(rc) : "");
				goto out;
			}
			if (ver == 0 && s->read_only) {
				mk_fail(err, MK_ERR_INTERNAL, "store %s: no schema version: "
				    "not a metakeep store", s->dir);
				goto out;
			}
			if (ver > STORE_SCHEMA) {
				mk_fail(err, MK_ERR_INTERNAL, "store %s: schema version %ld "
				    "is newer than this build supports (%d); upgrade metakeep",
				    s->dir, ver, STORE_SCHEMA);
				goto out;
			}
			if (ver > 0 && ver < STORE_SCHEMA && s->read_only) {
				mk_fail(err, MK_ERR_INTERNAL, "store %s: schema version %ld "
				    "was written by an older metakeep; open it read-write "
				    "once (metakeepd, or metakeepctl check --repair) to "
				    "upgrade it",
				    s->dir, ver);
				goto out;
			}
		}
		rc = mdb_dbi_open(txn, db_names[i], flags | db_flags(i), &s->dbi[i]);
		/*
		 * sessions (the admin page's) came after schema 2 without a new
		 * version: a read-only reader of a store no daemon has opened
		 * since sees it empty (the DBI of the empty main table).
		 */
		if (rc == MDB_NOTFOUND && i == DB_SESSIONS && s->read_only) {
			s->no_sessions = 1;
			continue;
		}
		/* The log tables came later too: such a store has no events. */
		if (rc == MDB_NOTFOUND && s->read_only && DB_OPTIONAL(i)) {
			s->no_logs = 1;
			continue;
		}
		if (rc == MDB_NOTFOUND && s->read_only && DB_LATE(i)) {
			s->absent[i] = 1;
			continue;
		}
		if (rc == MDB_NOTFOUND) {
			mk_fail(err, MK_ERR_INTERNAL, "store %s: table %s missing: "
			    "not a metakeep store, or never opened read-write",
			    s->dir, db_names[i]);
			goto out;
		}
		if (rc != 0) {
			mk_fail(err, MK_ERR_INTERNAL, "store %s: table %s: %s",
			    s->dir, db_names[i], mdb_strerror(rc));
			goto out;
		}
	}

	if (!s->read_only && ver < STORE_SCHEMA) {
		if (ver == 1 && (rc = migrate_v1(s, txn, &users)) != 0) {
			code = mk_fail(err, rc == MDB_MAP_FULL ? MK_ERR_FULL :
			    MK_ERR_INTERNAL, "store %s: upgrading schema 1 to %d: %s",
			    s->dir, STORE_SCHEMA, mdb_strerror(rc));
			goto out;
		}
		if (ver >= 1 && ver <= 4 &&
		    (rc = migrate_v2(s, txn, ver, &oentries, &odropped)) != 0) {
			code = mk_fail(err, rc == MDB_MAP_FULL ? MK_ERR_FULL :
			    MK_ERR_INTERNAL, "store %s: upgrading schema %ld to %d "
			    "(order indexes): %s", s->dir, ver, STORE_SCHEMA,
			    rc == ENOMEM ? "out of memory" : mdb_strerror(rc));
			goto out;
		}
		if (ver >= 1 && ver <= 3 && (rc = migrate_v3(s, txn, &eentries)) != 0) {
			code = mk_fail(err, rc == MDB_MAP_FULL ? MK_ERR_FULL :
			    MK_ERR_INTERNAL, "store %s: upgrading schema %ld to %d "
			    "(users_email): %s", s->dir, ver, STORE_SCHEMA,
			    rc == ENOMEM ? "out of memory" : mdb_strerror(rc));
			goto out;
		}
		snprintf(want, sizeof(want), "%d", STORE_SCHEMA);
		if ((rc = meta_put(s, txn, "schema", want, strlen(want))) != 0) {
			code = mk_fail(err, rc == MDB_MAP_FULL ? MK_ERR_FULL :
			    MK_ERR_INTERNAL, "store %s: writing schema: %s", s->dir,
			    mdb_strerror(rc));
			goto out;
		}
	}

	if (!s->read_only && ((rc = search_mark_new(s, txn)) != 0 ||
	    (rc = search_floor_new(s, txn)) != 0)) {
		code = mk_fail(err, rc == MDB_MAP_FULL ? MK_ERR_FULL :
		    MK_ERR_INTERNAL, "store %s: search index: %s", s->dir,
		    mdb_strerror(rc));
		goto out;
	}

	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		code = mk_fail(err, rc == MDB_MAP_FULL ? MK_ERR_FULL :
		    MK_ERR_INTERNAL, "store %s: creating tables: %s", s->dir,
		    mdb_strerror(rc));
		goto out;
	}
	if (ver == 1)
		log_info("store %s: upgraded from schema 1 to %d: %zu users numbered; "
		    "the old search index was dropped, and searches scan every user "
		    "(exact, slower) until it is rebuilt by metakeepctl check --repair", s->dir, STORE_SCHEMA, users);
	if (ver >= 1 && ver <= 4 && !s->read_only)
		log_info("store %s: upgraded from schema %ld to %d: order indexes "
		    "rewritten (packed times, user numbers, user_id prefixes in "
		    "users_created): %zu entries, "
		    "%zu dropped (no numbered user; metakeepctl check --repair "
		    "rebuilds them)", s->dir, ver, STORE_SCHEMA, oentries, odropped);
	if (ver >= 1 && ver <= 5 && !s->read_only)
		log_info("store %s: upgraded from schema %ld to %d: the search entries "
		    "of users created from now on are kept in terms_new and moved into "
		    "terms %zu users at a time", s->dir, ver, STORE_SCHEMA,
		    store_search_new_max);
	if (ver >= 1 && ver <= 3 && !s->read_only)
		log_info("store %s: upgraded from schema %ld to %d: %zu users_email "
		    "entries of the common connection written short", s->dir, ver,
		    STORE_SCHEMA, eentries);
	code = MK_OK;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return code;
}

/*
 * ---- write_map stores ----
 *
 * With MDB_WRITEMAP a commit changes the map in place: no write(2) and
 * no copy per page, the largest part of a relaxed write's CPU
 * (BENCHMARKS.md, eighth session).  LMDB then sets data.mdb's size to the
 * map's at every (re)map (ftruncate), and a page first written through the
 * map where the file has a hole gets its disk block at that moment: on a
 * full filesystem that is SIGBUS, not an error.  So such a store keeps:
 *
 *   - the map at the data plus a room, not the 1 GiB of others: the file
 *     is that size.  Every process remaps when the map grows, and a remap
 *     costs a fault again for each page the process had mapped, so the
 *     room is a share of the data (STORE_WMAP_ROOM to STORE_WMAP_ROOM_MAX
 *     pages): 1/64, as the tail of others, while the data grows slowly,
 *     up to 1/8 while it grows fast (a relaxed PATCH load that writes its
 *     log events: +14 % PATCH/s at 1/8 against 1/64's remaps, eighth
 *     session).  A write that outgrows the room gets MDB_MAP_FULL; the
 *     map grows to twice the free part the write had (not what is left of
 *     it: other workers may have committed into it meanwhile), and
 *     store_write_rerun runs the write again, as often as that takes
 *     (store_write answers "growing, try again", as a growing map of
 *     others does);
 *   - every byte below the map allocated (fallocate) before it is mapped:
 *     a full disk fails the growth with ENOSPC, and the write is answered
 *     "the disk is full" as any other;
 *   - the file never shorter than before: a (re)map never asks for less
 *     than the file's size (another process's map may reach further), under
 *     an exclusive OFD lock on data.mdb's first byte, which every other
 *     writer (without write_map) holds shared through its write
 *     transactions, since LMDB extends the file from inside their commits.
 */
#define STORE_WMAP_ROOM     64     /* room: a share of the data, at least these */
#define STORE_WMAP_ROOM_MAX 65536  /* pages (256 KiB), at most these (256 MiB) */
#define STORE_WMAP_SHIFT     6     /* the share: data >> 6 (1/64) at first, */
#define STORE_WMAP_SHIFT_MIN 3     /* at most data >> 3 (1/8) */
#define STORE_WMAP_FAST_MS  2000   /* grown again within this: a larger share */
#define STORE_WMAP_SLOW_MS  60000  /* not grown for this long: a smaller one */
#define STORE_WMAP_TRIES    24     /* runs of a write that outgrows the map */

/* F_OFD_SETLKW on fd's first byte: F_RDLCK, F_WRLCK or F_UNLCK. -1, errno. */
static int
wmap_lock(int fd, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	while (fcntl(fd, F_OFD_SETLKW, &fl) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/*
 * Map want bytes, the lock held: at least the file's size, every byte of
 * it allocated first.  0, an errno (ENOSPC, EDQUOT: the disk) or an LMDB
 * code.
 */
static int
wmap_set(struct store *s, size_t want)
{
	struct stat st;

	if (fstat(s->wmap_fd, &st) == -1)
		return errno;
	if ((off_t)want < st.st_size)
		want = (size_t)st.st_size;
	if (fallocate(s->wmap_fd, 0, 0, (off_t)want) == -1)
		return errno == EFBIG ? ENOSPC : errno;
	return mdb_env_set_mapsize(s->env, want);
}

/*
 * Grow the map of a write_map store when less than half its room is left
 * beyond the data and extra bytes, or when full is set (a write that had
 * extra bytes free did not fit): then to twice extra and the room past
 * the data as it is now.  Never past map_max, never with a transaction of
 * this process open (the remap moves the map).  0, MDB_MAP_FULL (full, at
 * map_max), an errno or an LMDB code.
 */
static int
wmap_fit(struct store *s, size_t extra, int full)
{
	MDB_envinfo info;
	size_t size, used, room, want;
	int64_t now;
	int rc;

	if (s->reads > 0 || s->in_write)
		return full ? MDB_MAP_FULL : 0;
	if ((rc = mdb_env_info(s->env, &info)) != 0)
		return rc;
	size = info.me_mapsize;
	used = ((size_t)info.me_last_pgno + 1) * s->psize;
	room = used / s->psize >> s->wmap_shift;
	room = room < STORE_WMAP_ROOM ? STORE_WMAP_ROOM : room > STORE_WMAP_ROOM_MAX ?
	    STORE_WMAP_ROOM_MAX : room;
	room *= s->psize;
	if (!full && used + extra + room / 2 <= size)
		return 0;
	want = used + (full ? 2 * extra : extra) + room;
	if (want > s->map_max)
		want = s->map_max;
	if (want < used)        /* another process's data, past our cap */
		want = used;
	if (want <= size)
		return full ? MDB_MAP_FULL : 0;
	if (wmap_lock(s->wmap_fd, F_WRLCK) == -1)
		return errno;
	rc = wmap_set(s, want);
	/* No room for the room: at least the data another process wrote. */
	if ((rc == ENOSPC || rc == EDQUOT) && used > size)
		rc = wmap_set(s, used);
	(void)wmap_lock(s->wmap_fd, F_UNLCK);
	if (rc != 0)
		return rc;
	/* Growing fast: a larger room, fewer remaps; slowly: back down. */
	now = mk_mono_ms();
	if (now - s->wmap_grown < STORE_WMAP_FAST_MS && s->wmap_shift > STORE_WMAP_SHIFT_MIN)
		s->wmap_shift--;
	else if (now - s->wmap_grown > STORE_WMAP_SLOW_MS && s->wmap_shift < STORE_WMAP_SHIFT)
		s->wmap_shift++;
	s->wmap_grown = now;
	log_debug("store %s: map %zu -> %zu bytes (%zu used)", s->dir, size, want, used);
	return 0;
}

/*
 * store_open, before LMDB: open data.mdb (empty when new: LMDB takes an
 * empty file for a new store) and take the lock, held until wmap_opened;
 * *map gets the size to open with, the file's own at least.  0 or an
 * errno (the caller opens without write_map; s->wmap_fd may be open).
 */
static int
wmap_open(struct store *s, const struct store_opts *o, size_t *map)
{
	char path[PATH_MAX];
	struct stat st;
	long pg;

	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", o->dir) >= sizeof(path))
		return ENAMETOOLONG;
	if ((s->wmap_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    o->mode ? o->mode : 0600)) == -1 ||
	    wmap_lock(s->wmap_fd, F_WRLCK) == -1 || fstat(s->wmap_fd, &st) == -1)
		return errno;
	pg = sysconf(_SC_PAGESIZE);
	*map = (size_t)STORE_WMAP_ROOM * (size_t)(pg > 0 ? pg : 4096);
	if ((off_t)*map < st.st_size)
		*map = (size_t)st.st_size;
	return 0;
}

/*
 * store_open, after LMDB: the map at the data and room, all of the file
 * allocated (a store written without write_map may have holes), and the
 * lock let go.  0 or why not (the caller opens without write_map).
 */
static int
wmap_opened(struct store *s)
{
	MDB_envinfo info;
	size_t want;
	int rc;

	if ((rc = mdb_env_info(s->env, &info)) == 0) {
		want = ((size_t)info.me_last_pgno + 1 + STORE_WMAP_ROOM) * s->psize;
		if (want > s->map_max)
			want = s->map_max;
		rc = wmap_set(s, want > info.me_mapsize ? want : info.me_mapsize);
	}
	(void)wmap_lock(s->wmap_fd, F_UNLCK);
	return rc;
}

/* store_open: go on without write_map (why: what failed, rc its code). */
static void
wmap_off(struct store *s, const struct store_opts *o, const char *why, int rc)
{
	log_warnx("store %s: no write_map, commits write(2) their pages: %s: %s",
	    o->dir, why, mdb_strerror(rc));
	if (s->wmap_fd != -1)
		close(s->wmap_fd);
	s->wmap_fd = -1;
	s->wmap = 0;
	s->tail = o->random_reads != 0 && !s->read_only;
}

enum mk_code
store_open(const struct store_opts *o, struct store **out, struct mk_err *err)
{
	struct store *s = NULL;
	unsigned int flags;
	size_t map = 0;
	int rc, dead;
	enum mk_code code = MK_ERR_INTERNAL;

	if (o == NULL || o->dir == NULL || o->dir[0] == '\0')
		return mk_fail(err, MK_ERR_INTERNAL, "store: no directory given");
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dir = strdup(o->dir)) == NULL) {
		code = mk_fail(err, MK_ERR_NOMEM, "store %s: out of memory", o->dir);
		goto out;
	}
	s->pid = store_pid();
	s->read_only = o->read_only != 0;
	s->wmap = o->write_map && o->relaxed_sync && !s->read_only;
	s->wmap_fd = -1;
	s->wmap_shift = STORE_WMAP_SHIFT;
	s->tail = o->random_reads != 0 && !s->read_only && !s->wmap;

	/* Read-only tools must not create an empty store where none was. */
	if (!s->read_only && mkdir_p(o->dir, dir_mode(o->mode)) == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: mkdir: %s", o->dir,
		    strerror(errno));
		goto out;
	}

again:
	/* No OFD locks here (or no file): write(2) as others do. */
	if (s->wmap && (rc = wmap_open(s, o, &map)) != 0)
		wmap_off(s, o, "opening data.mdb", rc);
	if ((rc = mdb_env_create(&s->env)) != 0) {
		s->env = NULL;
		mk_fail(err, MK_ERR_INTERNAL, "store %s: %s", o->dir, mdb_strerror(rc));
		goto out;
	}
	if (!s->wmap)
		map = o->map_size ? o->map_size : STORE_MAP_DEFAULT;
	if ((rc = mdb_env_set_maxdbs(s->env, STORE_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, STORE_MAXREADERS)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, map)) != 0) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: %s", o->dir, mdb_strerror(rc));
		goto out;
	}
	flags = MDB_NOTLS;
	if (o->relaxed_sync)
		flags |= MDB_NOSYNC | MDB_NOMETASYNC;
	if (s->wmap)
		flags |= MDB_WRITEMAP;
	if (s->read_only)
		flags |= MDB_RDONLY;
	if (o->random_reads)
		flags |= MDB_NORDAHEAD;
	if ((rc = mdb_env_open(s->env, o->dir, flags,
	    o->mode ? o->mode : 0600)) != 0) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: open: %s", o->dir,
		    mdb_strerror(rc));
		goto out;
	}
	rc = mdb_env_get_maxkeysize(s->env);
	s->keymax = rc > 0 && rc < STORE_KEYMAX ? (size_t)rc : STORE_KEYMAX;
	{
		MDB_stat est;

		s->psize = mdb_env_stat(s->env, &est) == 0 ? est.ms_psize : 4096;
	}
	/*
	 * The limit: map_max when set; map_size alone is a hard cap (as it
	 * always was); neither: grow as far as the disk has room.  A
	 * write_map store's map is only as large as its data and room, so
	 * map_size is its cap too.
	 */
	if (o->map_max != 0) {
		s->map_max = o->map_max;
		s->limit_key = "map_max";
	} else if (o->map_size != 0) {
		s->map_max = s->wmap ? o->map_size : 0;
		s->limit_key = "map_size";
	} else {
		s->map_max = STORE_MAP_AUTO;
		s->limit_key = NULL;
	}
	if (s->wmap && (rc = wmap_opened(s)) != 0) {
		/* No fallocate here, or no room for it: write(2) as others do. */
		mdb_env_close(s->env);
		s->env = NULL;
		wmap_off(s, o, "allocating the map", rc);
		goto again;
	}

	/* Slots of readers that died (a killed worker) pin old pages. */
	if ((rc = mdb_reader_check(s->env, &dead)) != 0)
		log_warnx("store %s: reader check: %s", o->dir, mdb_strerror(rc));
	else if (dead > 0)
		log_info("store %s: cleared %d stale reader slot%s", o->dir,
		    dead, dead == 1 ? "" : "s");
	else
		log_debug("store %s: no stale reader slots", o->dir);

	if ((code = store_setup(s, err)) != MK_OK)
		goto out;
	*out = s;
	s = NULL;
	code = MK_OK;
out:
	if (s != NULL) {
		if (s->env != NULL)
			mdb_env_close(s->env);
		if (s->wmap_fd != -1)
			close(s->wmap_fd);
		free(s->dir);
		free(s);
	}
	return code;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	/*
	 * A handle inherited over fork() belongs to the parent: closing its
	 * descriptors here would drop this process's fcntl locks on the lock
	 * file, so only the memory is let go.
	 */
	if (s->pid == store_pid()) {
		if (s->rtxn != NULL)
			mdb_txn_abort(s->rtxn);
		mdb_env_close(s->env);
		if (s->wmap_fd != -1)
			close(s->wmap_fd);
	}
	free(s->dir);
	free(s);
}

enum mk_code
store_sync_mode(struct store *s, int *durable, unsigned int *flags)
{
	unsigned int f;

	if (s == NULL || mdb_env_get_flags(s->env, &f) != 0)
		return MK_ERR_INTERNAL;
	*durable = (f & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP)) == 0;
	if (flags != NULL)
		*flags = f;
	return MK_OK;
}

enum mk_code
store_reader_check(struct store *s, int *cleared)
{
	int rc, dead = 0;

	if (s == NULL || s->pid != store_pid())
		return MK_ERR_INTERNAL;
	if ((rc = mdb_reader_check(s->env, &dead)) != 0) {
		log_warnx("store %s: reader check: %s", s->dir, mdb_strerror(rc));
		return MK_ERR_INTERNAL;
	}
	if (dead > 0)
		log_info("store %s: cleared %d stale reader slot%s", s->dir,
		    dead, dead == 1 ? "" : "s");
	if (cleared != NULL)
		*cleared = dead;
	return MK_OK;
}

enum mk_code
store_read_begin(struct store *s, struct store_txn **out)
{
	struct store_txn *t;
	MDB_txn *txn = NULL;
	int rc;

	if (s == NULL || s->pid != store_pid()) {
		log_warnx("store: read on a handle opened by another process");
		return MK_ERR_INTERNAL;
	}

	if (!s->rt_busy) {
		if (s->rtxn != NULL) {
			rc = mdb_txn_renew(s->rtxn);
			if (rc == 0)
				goto cached;
			/* Start over with a fresh one (remapping if need be). */
			mdb_txn_abort(s->rtxn);
			s->rtxn = NULL;
		}
		if ((rc = txn_begin(s, MDB_RDONLY, &s->rtxn)) != 0) {
			s->rtxn = NULL;
			log_warnx("store %s: read begin: %s", s->dir, mdb_strerror(rc));
			return MK_ERR_INTERNAL;
		}
cached:
		s->rt.s = s;
		s->rt.txn = s->rtxn;
		s->rt.write = 0;
		s->rt.cached = 1;
		s->rt.failed = 0;
		s->rt_busy = 1;
		s->reads++;
		*out = &s->rt;
		return MK_OK;
	}

	/* A second reader while the cached one is out: a one-off transaction. */
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("store %s: read begin", s->dir);
		return MK_ERR_NOMEM;
	}
	if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0) {
		log_warnx("store %s: read begin: %s", s->dir, mdb_strerror(rc));
		free(t);
		return MK_ERR_INTERNAL;
	}
	t->s = s;
	t->txn = txn;
	s->reads++;
	*out = t;
	return MK_OK;
}

void
store_txn_end(struct store_txn *t)
{
	if (t == NULL)
		return;
	if (t->write) {
		/* store_write owns it and ends it when fn returns. */
		log_warnx("store %s: store_txn_end on a write transaction ignored",
		    t->s->dir);
		return;
	}
	t->s->reads--;
	if (t->cached) {
		/* Keep the slot, drop the snapshot: nothing stays pinned. */
		mdb_txn_reset(t->txn);
		t->s->rt_busy = 0;
		return;
	}
	mdb_txn_abort(t->txn);
	free(t);
}

/*
 * Grow the map toward s->map_max when less than a quarter of it (at least
 * STORE_HEADROOM) is left above the last used page, or when full is set
 * (a write just failed with MDB_MAP_FULL): doubling, capped at map_max.
 * Only between transactions: the remap moves the map under any live read.
 * Other processes adopt the new size through MDB_MAP_RESIZED (txn_begin).
 * The check is one mdb_env_info, cheap enough for every write.
 */
static void
map_maybe_grow(struct store *s, int full)
{
	MDB_envinfo info;
	size_t size, used, room, want;
	int rc;

	if (s->map_max == 0 || s->reads > 0 || s->in_write ||
	    mdb_env_info(s->env, &info) != 0)
		return;
	size = info.me_mapsize;
	if (size >= s->map_max)
		return;
	used = ((size_t)info.me_last_pgno + 1) * s->psize;
	room = size / 4 > STORE_HEADROOM ? size / 4 : STORE_HEADROOM;
	if (!full && used + room <= size)
		return;
	want = size;
	do
		want = want > s->map_max / 2 ? s->map_max : want * 2;
	while (want < s->map_max && used + room > want);
	if ((rc = mdb_env_set_mapsize(s->env, want)) != 0) {
		log_warnx("store %s: growing the map to %zu bytes: %s", s->dir, want,
		    mdb_strerror(rc));
		return;
	}
	log_info("store %s: map grown from %zu to %zu bytes (%zu used, at most %zu)",
	    s->dir, size, want, used, s->map_max);
}

/*
 * random_reads stores (metakeepd): the file reaches a tail of pages beyond
 * the last page in use (1/64 of those in use, STORE_TAIL_MIN to
 * STORE_TAIL_MAX: at most 1.6 % more file, and 1 MiB), never past the map's
 * size (map_max bounds the file), that tail cached as 4 KiB pages
 * (pagecache_extend), so the pages a commit appends land in one-page folios
 * (pagecache.h says why).  Checked before each write; the file grows only
 * when less than a quarter of the tail is left.  Best effort: a failure
 * costs speed, and the write goes on (a full disk fails it in LMDB, as
 * before); any failure but a full disk turns the tail off for this handle.
 */
static void
tail_ahead(struct store *s)
{
	MDB_envinfo info;
	struct mk_err err;
	off_t used, tail, to;
	int fd;

	if (!s->tail || mdb_env_info(s->env, &info) != 0)
		return;
	tail = ((off_t)info.me_last_pgno + 1) / 64;
	tail = tail < STORE_TAIL_MIN ? STORE_TAIL_MIN : tail > STORE_TAIL_MAX ? STORE_TAIL_MAX : tail;
	used = ((off_t)info.me_last_pgno + 1) * (off_t)s->psize;
	to = used + tail * (off_t)s->psize;
	if (to > (off_t)info.me_mapsize)
		to = (off_t)info.me_mapsize;
	if (used + tail / 4 * (off_t)s->psize <= s->tail_end || to <= s->tail_end ||
	    mdb_env_get_fd(s->env, &fd) != 0)
		return;
	memset(&err, 0, sizeof(err));
	switch (pagecache_extend(fd, to, &s->tail_end, &err)) {
	case MK_OK:
		break;
	case MK_ERR_FULL:      /* tried again at the next write: room may come */
		log_debug("store %s: the tail ahead of data.mdb: %s", s->dir, err.msg);
		break;
	default:               /* e.g. a file system without fallocate: no tail */
		log_info("store %s: no tail ahead of data.mdb: %s", s->dir, err.msg);
		s->tail = 0;
		break;
	}
}

void
store_reserve(struct store *s, size_t bytes)
{
	MDB_envinfo info;
	size_t size, used, want;
	int rc;

	if (s != NULL && s->wmap) {
		if ((rc = wmap_fit(s, bytes, 0)) != 0)
			log_warnx("store %s: growing the map for a write of %zu bytes: %s",
			    s->dir, bytes, mdb_strerror(rc));
		return;
	}
	if (s == NULL || s->map_max == 0 || s->reads > 0 || s->in_write ||
	    mdb_env_info(s->env, &info) != 0)
		return;
	size = info.me_mapsize;
	used = ((size_t)info.me_last_pgno + 1) * s->psize;
	if (size >= s->map_max || used + bytes + size / 4 <= size)
		return;
	want = size;
	while (want < s->map_max && used + bytes + want / 4 > want)
		want = want > s->map_max / 2 ? s->map_max : want * 2;
	if ((rc = mdb_env_set_mapsize(s->env, want)) != 0) {
		log_warnx("store %s: growing the map to %zu bytes: %s", s->dir, want,
		    mdb_strerror(rc));
		return;
	}
	log_info("store %s: map grown from %zu to %zu bytes for a write of %zu",
	    s->dir, size, want, bytes);
}

/*
 * 1 when the filesystem under the store has (next to) no room left.  LMDB
 * reports a write cut short by a full disk as EIO, not ENOSPC (mdb_page_flush
 * on a short pwrite): an EIO with less than this free is taken for ENOSPC.
 */
#define STORE_DISK_LOW ((uint64_t)1 << 20)

static int
disk_is_full(const struct store *s)
{
	struct statvfs fs;

	return statvfs(s->dir, &fs) == 0 &&
	    (uint64_t)fs.f_bavail * fs.f_frsize < STORE_DISK_LOW;
}

/*
 * A write that did not fit: MDB_MAP_FULL/MDB_TXN_FULL at the map's limit, or
 * ENOSPC/EDQUOT from the filesystem (or EIO on a full one).  err->msg is for the client (sizes and
 * the setting to change, no path); the log line adds the directory.
 */
static enum mk_code
map_commit_error(struct store *s, int rc, struct mk_err *err)
{
	MDB_envinfo info;
	size_t used = 0, size = 0;
	char u[32], m[32];

	if (rc == EIO && disk_is_full(s)) {
		log_warnx("store %s: %s on a full filesystem", s->dir, mdb_strerror(rc));
		rc = ENOSPC;
	}
	if (rc != MDB_MAP_FULL && rc != MDB_TXN_FULL && rc != ENOSPC &&
	    rc != EDQUOT) {
		log_warnx("store %s: commit: %s", s->dir, mdb_strerror(rc));
		return mk_fail(err, MK_ERR_INTERNAL, "store: commit failed");
	}
	if (mdb_env_info(s->env, &info) == 0) {
		used = ((size_t)info.me_last_pgno + 1) * s->psize;
		size = info.me_mapsize;
	}
	mk_human_bytes(u, sizeof(u), (double)used);
	mk_human_bytes(m, sizeof(m), (double)(s->map_max > size ? s->map_max : size));
	if (rc == ENOSPC || rc == EDQUOT) {
		log_warnx("store %s: %s: the database uses %s; free space on its "
		    "filesystem", s->dir, mdb_strerror(rc), u);
		return mk_fail(err, MK_ERR_FULL, "The disk is full (%s): the "
		    "database uses %s and its filesystem has no room left. Free "
		    "space on it; writes resume by themselves.",
		    rc == EDQUOT ? "disk quota exceeded" : "no space left on device",
		    u);
	}
	if (rc == MDB_TXN_FULL) {
		log_warnx("store %s: %s", s->dir, mdb_strerror(rc));
		return mk_fail(err, MK_ERR_FULL, "The change is too large for one "
		    "transaction; make it smaller.");
	}
	if (s->limit_key == NULL || (s->wmap && size < s->map_max)) {
		/* Growing by itself: the map was grown just now, or is growing. */
		log_warnx("store %s: map full at %s used, growing", s->dir, u);
		return mk_fail(err, MK_ERR_FULL, "The store is growing (%s used); "
		    "try again.", u);
	}
	log_warnx("store %s: full: %s used of its %s limit (%s)", s->dir, u, m,
	    s->limit_key);
	/* Not "or delete data": at the limit a delete needs new pages too
	 * (LMDB copies on write), and is refused as well (RELIABILITY.md). */
	return mk_fail(err, MK_ERR_FULL, "The store is full: the database uses %s "
	    "of its %s limit. Raise %s in the configuration (or --%s) and restart "
	    "metakeepd.", u, m, s->limit_key,
	    strcmp(s->limit_key, "map_max") == 0 ? "map-max" : "map-size");
}

/* What every write entry point refuses; MK_OK when s may begin a write. */
static enum mk_code
write_allowed(struct store *s, struct mk_err *err)
{
	if (s == NULL || s->pid != store_pid()) {
		log_warnx("store: write on a handle opened by another process");
		return mk_fail(err, MK_ERR_INTERNAL, "store: foreign handle");
	}
	if (s->read_only)
		return mk_fail(err, MK_ERR_INTERNAL, "store %s: opened read-only",
		    s->dir);
	if (s->in_write) {
		/* LMDB's writer lock is not recursive: this would hang. */
		log_warnx("store %s: nested store_write", s->dir);
		return mk_fail(err, MK_ERR_INTERNAL, "store: nested write");
	}
	return MK_OK;
}

/* Let go of the shared lock write_begin took (stores without write_map). */
static void
write_unlock(struct store_txn *t)
{
	int fd;

	if (t->locked && mdb_env_get_fd(t->s->env, &fd) == 0)
		(void)wmap_lock(fd, F_UNLCK);
	t->locked = 0;
}

/* Begin the write transaction of t (growing the map first if it is time). */
static enum mk_code
write_begin(struct store *s, struct store_txn *t, struct mk_err *err)
{
	MDB_envinfo info;
	int rc, fd;

	memset(t, 0, sizeof(*t));
	t->s = s;
	t->write = 1;
	if (s->wmap) {
		/* Best effort: a write that fits the map as it is may go on. */
		if ((rc = wmap_fit(s, 0, 0)) != 0)
			log_debug("store %s: growing the map: %s", s->dir, mdb_strerror(rc));
	} else {
		map_maybe_grow(s, 0);
		tail_ahead(s);
		/* Shared with others; a write_map store's remap waits (see above). */
		if (mdb_env_get_fd(s->env, &fd) == 0 && wmap_lock(fd, F_RDLCK) == 0)
			t->locked = 1;
	}
	if ((rc = txn_begin(s, 0, &t->txn)) != 0) {
		write_unlock(t);
		log_warnx("store %s: write begin: %s", s->dir, mdb_strerror(rc));
		return mk_fail(err, MK_ERR_INTERNAL, "store: cannot begin a write");
	}
	/* The writer lock held: the data ends where no commit moves it. */
	if (s->wmap && mdb_env_info(s->env, &info) == 0 &&
	    info.me_mapsize > ((size_t)info.me_last_pgno + 1) * s->psize)
		t->free = info.me_mapsize - ((size_t)info.me_last_pgno + 1) * s->psize;
	return MK_OK;
}

/*
 * End the write transaction t after its fn returned code: commit it when
 * everything went well, abort it otherwise; the code store_write returns.
 */
static enum mk_code
write_end(struct store *s, struct store_txn *t, enum mk_code code, struct mk_err *err)
{
	int rc;

	if (t->failed == MDB_MAP_FULL || t->failed == MDB_TXN_FULL) {
		mdb_txn_abort(t->txn);
		rc = t->failed;
	} else if (code != MK_OK) {
		mdb_txn_abort(t->txn);
		write_unlock(t);
		return code;
	} else if (t->failed != 0) {
		/* fn ignored a failure; the transaction is not to be trusted. */
		mdb_txn_abort(t->txn);
		write_unlock(t);
		return mk_fail(err, MK_ERR_INTERNAL, "store: write failed");
	} else if ((rc = mdb_txn_commit(t->txn)) == 0) {
		write_unlock(t);
		return MK_OK;
	}
	write_unlock(t);
	if (rc == MDB_MAP_FULL && s->wmap) {
		/* write_run grows the map and tries again, or says why not. */
		t->map_full = 1;
		return MK_ERR_FULL;
	}
	if (rc == MDB_MAP_FULL)
		map_maybe_grow(s, 1);
	return map_commit_error(s, rc, err);
}

/*
 * A users value is the user's number, then the record: v becomes the
 * record, *num (may be NULL) the number.  -1 (logged) when it is too short
 * to be one.
 */
static int
user_value_num(struct store_txn *t, MDB_val *v, uint32_t *num)
{
	if (v->mv_size < NUM_SIZE) {
		log_warnx("store %s: a user record without its number", t->s->dir);
		return -1;
	}
	if (num != NULL)
		memcpy(num, v->mv_data, NUM_SIZE);
	v->mv_data = (char *)v->mv_data + NUM_SIZE;
	v->mv_size -= NUM_SIZE;
	return 0;
}

static int
user_value(struct store_txn *t, MDB_val *v)
{
	return user_value_num(t, v, NULL);
}

/*
 * store_write and store_write_rerun: again, fn may run again after a
 * write_map store's map grew under a write that did not fit.
 */
static enum mk_code
write_run(struct store *s, store_write_fn fn, void *ctx, int again, struct mk_err *err)
{
	struct store_txn t;
	enum mk_code code;
	int rc, tries;

	if (fn == NULL)
		return mk_fail(err, MK_ERR_INTERNAL, "store: write without a function");
	if ((code = write_allowed(s, err)) != MK_OK)
		return code;
	for (tries = 0; ; tries++) {
		if ((code = write_begin(s, &t, err)) != MK_OK)
			return code;
		s->in_write = 1;
		code = fn(&t, ctx, err);
		s->in_write = 0;
		code = write_end(s, &t, code, err);
		/* write_map: the write outgrew the map's room. */
		if (!t.map_full)
			return code;
		if ((rc = wmap_fit(s, t.free, 1)) != 0)
			return map_commit_error(s, rc, err);
		if (!again || tries + 1 >= STORE_WMAP_TRIES)
			return map_commit_error(s, MDB_MAP_FULL, err);
	}
}

enum mk_code
store_write(struct store *s, store_write_fn fn, void *ctx, struct mk_err *err)
{
	return write_run(s, fn, ctx, 0, err);
}

enum mk_code
store_write_rerun(struct store *s, store_write_fn fn, void *ctx, struct mk_err *err)
{
	return write_run(s, fn, ctx, 1, err);
}

/*
 * One write of a batch in a child transaction of parent: kept (child
 * committed into the parent) when fn returns MK_OK and LMDB failed
 * nowhere, dropped whole otherwise.  The code of the write.
 */
static enum mk_code
batch_one(struct store_txn *parent, struct store_batch_item *it)
{
	struct store_txn c;
	enum mk_code code;
	int rc;

	memset(&c, 0, sizeof(c));
	c.s = parent->s;
	c.write = 1;
	if ((rc = mdb_txn_begin(parent->s->env, parent->txn, 0, &c.txn)) != 0)
		return mk_fail(it->err, txn_fail(parent, rc, "nested begin"),
		    "store: cannot begin a write");
	code = it->fn(&c, it->ctx, it->err);
	if (c.failed == MDB_MAP_FULL || c.failed == MDB_TXN_FULL) {
		mdb_txn_abort(c.txn);
		return map_commit_error(parent->s, c.failed, it->err);
	}
	if (code != MK_OK || c.failed != 0) {
		mdb_txn_abort(c.txn);
		return code != MK_OK ? code :
		    mk_fail(it->err, MK_ERR_INTERNAL, "store: write failed");
	}
	if ((rc = mdb_txn_commit(c.txn)) != 0)
		return mk_fail(it->err, txn_fail(parent, rc, "nested commit"),
		    "store: write failed");
	return MK_OK;
}

#define BATCH_KEY "batch"

enum mk_code
store_write_batch(struct store *s, struct store_batch_item *items, size_t n,
    uint64_t mark, struct mk_err *err)
{
	struct store_txn t;
	enum mk_code code;
	MDB_val k, v;
	size_t i;
	int rc, full = 0;

	if ((code = write_allowed(s, err)) != MK_OK)
		goto fail;
	if (s->wmap) {
		code = mk_fail(err, MK_ERR_INTERNAL, "store: no batches with write_map");
		goto fail;
	}
	if ((code = write_begin(s, &t, err)) != MK_OK)
		goto fail;
	s->in_write = 1;
	for (i = 0; i < n; i++) {
		items[i].code = batch_one(&t, &items[i]);
		if (items[i].done != NULL)
			items[i].done(&items[i]);
		if (items[i].code == MK_ERR_FULL)
			full = 1;
		/* A failed nested begin or commit leaves the parent unusable. */
		if (t.failed != 0)
			break;
	}
	s->in_write = 0;
	if (t.failed == 0) {
		k.mv_data = (void *)(uintptr_t)BATCH_KEY;
		k.mv_size = strlen(BATCH_KEY);
		v.mv_data = &mark;
		v.mv_size = sizeof(mark);
		if ((rc = mdb_put(t.txn, s->dbi[DB_META], &k, &v, 0)) != 0)
			(void)txn_fail(&t, rc, "batch mark");
	}
	if ((code = write_end(s, &t, MK_OK, err)) != MK_OK)
		goto fail;
	if (full)
		map_maybe_grow(s, 1);
	return MK_OK;
fail:
	/* Nothing of the batch was written: every write fails alike. */
	for (i = 0; i < n; i++) {
		items[i].code = code;
		if (items[i].err != NULL && err != NULL && items[i].err != err)
			*items[i].err = *err;
	}
	return code;
}

/*
 * Read in a write transaction, not a read one.  A reader's snapshot is
 * LMDB's shared "last txnid" in the lock file, which a committing writer
 * brings up to its new meta page only after it wrote that page: a leader
 * killed in between (a kill that arrives during the synchronous meta page
 * write takes effect as it returns) leaves its batch committed in the file
 * and that txnid one behind, and a reader would see the mark of the batch
 * before: the committed batch would run again.  Beginning a write takes
 * LMDB's writer mutex, whose recovery from a dead owner sets that txnid
 * from the newest meta page (and a live writer's commit is complete when
 * it lets the mutex go), so the mark read here is the last committed one.
 */
enum mk_code
store_batch_mark(struct store *s, uint64_t *mark)
{
	struct store_txn t;
	struct mk_err err;
	MDB_val k, v;
	enum mk_code code;
	int rc;

	if ((code = write_allowed(s, &err)) != MK_OK ||
	    (code = write_begin(s, &t, &err)) != MK_OK)
		return code;
	k.mv_data = (void *)(uintptr_t)BATCH_KEY;
	k.mv_size = strlen(BATCH_KEY);
	rc = mdb_get(t.txn, s->dbi[DB_META], &k, &v);
	if (rc == MDB_NOTFOUND) {
		*mark = 0;
		code = MK_OK;
	} else if (rc != 0 || v.mv_size != sizeof(*mark)) {
		log_warnx("store %s: batch mark: %s", s->dir,
		    rc ? mdb_strerror(rc) : "bad size");
		code = MK_ERR_INTERNAL;
	} else {
		memcpy(mark, v.mv_data, sizeof(*mark));
		code = MK_OK;
	}
	mdb_txn_abort(t.txn);
	write_unlock(&t);
	return code;
}

enum mk_code
store_sync(struct store *s)
{
	int rc;

	if (s == NULL || s->pid != store_pid())
		return MK_ERR_INTERNAL;
	if ((rc = mdb_env_sync(s->env, 1)) != 0) {
		log_warnx("store %s: sync: %s", s->dir, mdb_strerror(rc));
		return MK_ERR_INTERNAL;
	}
	return MK_OK;
}

enum mk_code
store_get(struct store_txn *t, enum store_table table, struct mk_slice key,
    struct mk_slice *rec)
{
	MDB_dbi dbi;
	MDB_val k, v;
	int rc;

	int r;

	if (t == NULL || (r = table_dbi(t->s, table, &dbi)) == -1)
		return MK_ERR_INTERNAL;
	if (r == -2 || key.n == 0 || key.n > t->s->keymax)
		return MK_ERR_NOTFOUND;
	k.mv_data = (void *)(uintptr_t)key.p;
	k.mv_size = key.n;
	rc = mdb_get(t->txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return MK_ERR_NOTFOUND;
	if (rc != 0) {
		if (t->write)
			return txn_fail(t, rc, "get");
		log_warnx("store %s: get: %s", t->s->dir, mdb_strerror(rc));
		return MK_ERR_INTERNAL;
	}
	if (dbi == t->s->dbi[DB_USERS] && user_value(t, &v) == -1)
		return MK_ERR_INTERNAL;
	rec->p = v.mv_data;
	rec->n = v.mv_size;
	return MK_OK;
}

static enum mk_code
put_raw(struct store_txn *t, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned int flags)
{
	int rc;

	rc = mdb_put(t->txn, dbi, k, v, flags);
	if (rc == 0)
		return MK_OK;
	if (rc == MDB_KEYEXIST)
		return MK_ERR_EXISTS;
	if (rc == MDB_BAD_VALSIZE)
		return MK_ERR_INVALID;
	return txn_fail(t, rc, "put");
}

/* Delete; absent is MK_ERR_NOTFOUND (not a failure of the transaction). */
static enum mk_code
del_raw(struct store_txn *t, MDB_dbi dbi, MDB_val *k)
{
	int rc;

	rc = mdb_del(t->txn, dbi, k, NULL);
	if (rc == 0)
		return MK_OK;
	if (rc == MDB_NOTFOUND)
		return MK_ERR_NOTFOUND;
	return txn_fail(t, rc, "del");
}

static enum mk_code
del_quiet(struct store_txn *t, MDB_dbi dbi, MDB_val *k)
{
	enum mk_code code;

	code = del_raw(t, dbi, k);
	return code == MK_ERR_NOTFOUND ? MK_OK : code;
}

enum mk_code
store_put(struct store_txn *t, enum store_table table, struct mk_slice key,
    struct mk_slice rec)
{
	MDB_val k, v;
	MDB_dbi dbi;

	if (check_write(t, "store_put") == -1)
		return MK_ERR_INTERNAL;
	if (!table_plain(table) || table_dbi(t->s, table, &dbi) != 0) {
		log_warnx("store: store_put on an indexed table");
		return MK_ERR_INTERNAL;
	}
	if (key.n == 0 || key.n > t->s->keymax)
		return MK_ERR_INVALID;
	k.mv_data = (void *)(uintptr_t)key.p;
	k.mv_size = key.n;
	v.mv_data = (void *)(uintptr_t)rec.p;
	v.mv_size = rec.n;
	return put_raw(t, dbi, &k, &v, 0);
}

enum mk_code
store_del(struct store_txn *t, enum store_table table, struct mk_slice key)
{
	MDB_val k;
	MDB_dbi dbi;

	if (check_write(t, "store_del") == -1)
		return MK_ERR_INTERNAL;
	if (!table_plain(table) || table_dbi(t->s, table, &dbi) != 0) {
		log_warnx("store: store_del on an indexed table");
		return MK_ERR_INTERNAL;
	}
	if (key.n == 0 || key.n > t->s->keymax)
		return MK_ERR_NOTFOUND;
	k.mv_data = (void *)(uintptr_t)key.p;
	k.mv_size = key.n;
	return del_raw(t, dbi, &k);
}

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* A user without email is indexed under the empty email, so listings by
 * email still hold every user (first in ascending order). */
static const char *
email_or_empty(const char *e)
{
	return e != NULL ? e : "";
}

static int
user_keys_ok(const struct store_user_keys *u)
{
	return u != NULL && u->user_id != NULL && u->user_id[0] != '\0' &&
	    u->connection != NULL && u->created_at != NULL &&
	    u->updated_at != NULL;
}

/* One index entry: table db, key "value '\0' id", value val. */
static enum mk_code
index_put(struct store_txn *t, int db, const char *value, const char *id,
    const char *val)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val k, v;

	if (key2(t->s, buf, value, id, &k) == -1)
		return MK_ERR_INVALID;
	v.mv_data = (void *)(uintptr_t)val;
	v.mv_size = strlen(val);
	return put_raw(t, t->s->dbi[db], &k, &v, 0);
}

static enum mk_code
index_del(struct store_txn *t, int db, const char *value, const char *id)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val k;

	/* A key too long to store was never stored. */
	if (key2(t->s, buf, value, id, &k) == -1)
		return MK_OK;
	return del_quiet(t, t->s->dbi[db], &k);
}

/*
 * users_email values (schema 4): the user's connection, which the email
 * must be unique in.  Most users of a store share one connection, whose
 * name (often "Username-Password-Authentication", 32 bytes) took a third
 * of each entry: meta "conn0" names the store's common connection (the
 * first one an entry was written with) and such an entry's value is empty;
 * a connection "" is one NUL byte; any other is its name.
 */
static int
conn0_get(struct store *s, MDB_txn *txn, MDB_val *name)
{
	MDB_val k;

	k.mv_data = (void *)(uintptr_t)"conn0";
	k.mv_size = strlen("conn0");
	return mdb_get(txn, s->dbi[DB_META], &k, name);
}

/*
 * The stored value for connection into *v (pointing at connection or at a
 * static byte); in a write transaction, the first non-empty connection
 * becomes the common one.  Returns an LMDB code.
 */
static int
email_val_make(struct store *s, MDB_txn *txn, int write, const char *connection,
    MDB_val *v)
{
	MDB_val c0;
	size_t n = strlen(connection);
	int rc;

	if (n == 0) {
		v->mv_data = (void *)(uintptr_t)"";
		v->mv_size = 1;
		return 0;
	}
	rc = conn0_get(s, txn, &c0);
	if (rc == MDB_NOTFOUND && write) {
		if ((rc = meta_put(s, txn, "conn0", connection, n)) != 0)
			return rc;
		c0.mv_data = (void *)(uintptr_t)connection;
		c0.mv_size = n;
	} else if (rc == MDB_NOTFOUND) {
		c0.mv_size = 0;
	} else if (rc != 0)
		return rc;
	if (c0.mv_size == n && memcmp(c0.mv_data, connection, n) == 0) {
		v->mv_data = (void *)(uintptr_t)"";
		v->mv_size = 0;
	} else {
		v->mv_data = (void *)(uintptr_t)connection;
		v->mv_size = n;
	}
	return 0;
}

/* A stored users_email value made the connection's name again, in place. */
static int
email_val_name(struct store *s, MDB_txn *txn, MDB_val *v)
{
	MDB_val c0;
	int rc;

	if (v->mv_size == 1 && ((const char *)v->mv_data)[0] == '\0') {
		v->mv_size = 0;
		return 0;
	}
	if (v->mv_size != 0)
		return 0;
	if ((rc = conn0_get(s, txn, &c0)) != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;   /* none: no such entry */
	*v = c0;
	return 0;
}

/* One users_email entry: key "email '\0' user_id", the connection. */
static enum mk_code
email_put(struct store_txn *t, const char *email, const char *id, const char *connection)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val k, v;
	int rc;

	if (key2(t->s, buf, email, id, &k) == -1)
		return MK_ERR_INVALID;
	if ((rc = email_val_make(t->s, t->txn, 1, connection, &v)) != 0)
		return txn_fail(t, rc, "connection");
	return put_raw(t, t->s->dbi[DB_USERS_EMAIL], &k, &v, 0);
}

/* One order index entry (okey_make's key, no value). */
static enum mk_code
oindex_put(struct store_txn *t, int db, const char *value, const char *id,
    uint32_t num)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val k, v;

	if (okey_make(t->s, buf, value, db == DB_USERS_CREATED ? id : NULL, num,
	    &k) == -1)
		return MK_ERR_INVALID;
	v.mv_data = (void *)(uintptr_t)"";
	v.mv_size = 0;
	return put_raw(t, t->s->dbi[db], &k, &v, 0);
}

static enum mk_code
oindex_del(struct store_txn *t, int db, const char *value, const char *id,
    uint32_t num)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val k;

	if (okey_make(t->s, buf, value, db == DB_USERS_CREATED ? id : NULL, num,
	    &k) == -1)
		return MK_OK;
	return del_quiet(t, t->s->dbi[db], &k);
}

/*
 * The next user number, counted up in meta "nextnum" (numbers are never
 * given twice, so a stale posting can never name a later user).
 * Errors: MK_ERR_FULL (numbers used up, or the map), MK_ERR_INTERNAL.
 */
static enum mk_code
num_next(struct store_txn *t, uint32_t *out)
{
	MDB_val k, v;
	uint32_t num = 1, next;
	int rc;

	k.mv_data = (void *)(uintptr_t)"nextnum";
	k.mv_size = strlen("nextnum");
	rc = mdb_get(t->txn, t->s->dbi[DB_META], &k, &v);
	if (rc == 0 && v.mv_size == NUM_SIZE)
		memcpy(&num, v.mv_data, NUM_SIZE);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return txn_fail(t, rc, "nextnum");
	if (num == UINT32_MAX || num == 0)
		return MK_ERR_FULL;
	next = num + 1;
	v.mv_data = &next;
	v.mv_size = NUM_SIZE;
	if ((rc = mdb_put(t->txn, t->s->dbi[DB_META], &k, &v, 0)) != 0)
		return txn_fail(t, rc, "nextnum");
	*out = num;
	return MK_OK;
}

/*
 * Write the users value of key k: its number (a new one when create, or
 * when the stored record has none; the stored one otherwise), then rec.
 * A new number goes into user_nums too.  create: MK_ERR_EXISTS when taken.
 */
static enum mk_code
user_rec_put(struct store_txn *t, MDB_val *k, int create, struct mk_slice rec,
    uint32_t *numout)
{
	MDB_val v, nk;
	uint32_t num = 0;
	enum mk_code code;
	int rc, fresh = 1;

	if (!create) {
		rc = mdb_get(t->txn, t->s->dbi[DB_USERS], k, &v);
		if (rc == 0 && v.mv_size >= NUM_SIZE) {
			memcpy(&num, v.mv_data, NUM_SIZE);
			fresh = 0;
		} else if (rc != 0 && rc != MDB_NOTFOUND)
			return txn_fail(t, rc, "get");
	}
	v.mv_data = NULL;
	v.mv_size = NUM_SIZE + rec.n;
	if ((code = put_raw(t, t->s->dbi[DB_USERS], k, &v,
	    MDB_RESERVE | (create ? MDB_NOOVERWRITE : 0))) != MK_OK)
		return code;
	if (fresh && (code = num_next(t, &num)) != MK_OK)
		return code;
	memcpy(v.mv_data, &num, NUM_SIZE);
	if (rec.n > 0)
		memcpy((char *)v.mv_data + NUM_SIZE, rec.p, rec.n);
	*numout = num;
	if (!fresh)
		return MK_OK;
	nk.mv_data = &num;
	nk.mv_size = NUM_SIZE;
	/* Numbers only grow: an append, unless the counter was tampered with. */
	rc = mdb_put(t->txn, t->s->dbi[DB_NUMS], &nk, k, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = mdb_put(t->txn, t->s->dbi[DB_NUMS], &nk, k, 0);
	return rc == 0 ? MK_OK : txn_fail(t, rc, "put number");
}

enum mk_code
store_user_num(struct store_txn *t, struct mk_slice id, uint32_t *num)
{
	MDB_val k, v;
	int rc;

	if (t == NULL || num == NULL)
		return MK_ERR_INTERNAL;
	if (id.n == 0 || id.n > t->s->keymax)
		return MK_ERR_NOTFOUND;
	k.mv_data = (void *)(uintptr_t)id.p;
	k.mv_size = id.n;
	rc = mdb_get(t->txn, t->s->dbi[DB_USERS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return MK_ERR_NOTFOUND;
	if (rc != 0)
		return cursor_error(t, rc);
	if (user_value_num(t, &v, num) == -1)
		return MK_ERR_INTERNAL;
	return MK_OK;
}

enum mk_code
store_user_id(struct store_txn *t, uint32_t num, struct mk_slice *id)
{
	MDB_val k, v;
	int rc;

	if (t == NULL || id == NULL)
		return MK_ERR_INTERNAL;
	k.mv_data = &num;
	k.mv_size = NUM_SIZE;
	rc = mdb_get(t->txn, t->s->dbi[DB_NUMS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return MK_ERR_NOTFOUND;
	if (rc != 0)
		return cursor_error(t, rc);
	id->p = v.mv_data;
	id->n = v.mv_size;
	return MK_OK;
}

enum mk_code
store_user_nums_scan(struct store_txn *t, uint32_t from, store_num_fn fn, void *ctx)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	struct mk_slice id;
	uint32_t num;
	enum mk_code code;
	int rc;

	if (t == NULL || fn == NULL)
		return MK_ERR_INTERNAL;
	if ((code = cursor_open(t, t->s->dbi[DB_NUMS], &c)) != MK_OK)
		return code;
	k.mv_data = &from;
	k.mv_size = NUM_SIZE;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != NUM_SIZE)
			continue;
		memcpy(&num, k.mv_data, NUM_SIZE);
		id.p = v.mv_data;
		id.n = v.mv_size;
		if (fn(ctx, num, id) != 0) {
			rc = MDB_NOTFOUND;
			break;
		}
	}
	code = rc == MDB_NOTFOUND ? MK_OK : cursor_error(t, rc);
	mdb_cursor_close(c);
	return code;
}

enum mk_code
store_user_num_limit(struct store_txn *t, uint32_t *limit)
{
	MDB_val k, v;
	uint32_t num = 1;
	int rc;

	if (t == NULL || limit == NULL)
		return MK_ERR_INTERNAL;
	k.mv_data = (void *)(uintptr_t)"nextnum";
	k.mv_size = strlen("nextnum");
	rc = mdb_get(t->txn, t->s->dbi[DB_META], &k, &v);
	if (rc == 0 && v.mv_size == NUM_SIZE)
		memcpy(&num, v.mv_data, NUM_SIZE);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return cursor_error(t, rc);
	*limit = num;
	return MK_OK;
}

enum mk_code
store_user_nums_repair(struct store_txn *t, size_t *fixed)
{
	MDB_cursor *c = NULL;
	MDB_val k, v, nk, nv;
	uint32_t num;
	char *buf = NULL, *nb, kbuf[STORE_KEYMAX + 1];
	size_t cap = 0, n = 0;
	enum mk_code code;
	int rc;

	if (check_write(t, "store_user_nums_repair") == -1)
		return MK_ERR_INTERNAL;
	/* Users whose number does not name them get a new one. */
	if ((code = cursor_open(t, t->s->dbi[DB_USERS], &c)) != MK_OK)
		return code;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (v.mv_size < NUM_SIZE)
			continue;   /* not a record of ours at all: check reports it */
		memcpy(&num, v.mv_data, NUM_SIZE);
		nk.mv_data = &num;
		nk.mv_size = NUM_SIZE;
		rc = mdb_get(t->txn, t->s->dbi[DB_NUMS], &nk, &nv);
		if (rc == 0 && nv.mv_size == k.mv_size &&
		    memcmp(nv.mv_data, k.mv_data, k.mv_size) == 0)
			continue;
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		if (cap < v.mv_size) {
			cap = v.mv_size + 4096;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				mdb_cursor_close(c);
				return MK_ERR_NOMEM;
			}
			buf = nb;
		}
		memcpy(buf, v.mv_data, v.mv_size);
		if ((code = num_next(t, &num)) != MK_OK) {
			free(buf);
			mdb_cursor_close(c);
			return code;
		}
		memcpy(buf, &num, NUM_SIZE);
		nv.mv_data = buf;
		nv.mv_size = v.mv_size;
		if (k.mv_size > STORE_KEYMAX) {
			rc = MDB_BAD_VALSIZE;
			break;
		}
		memcpy(kbuf, k.mv_data, k.mv_size);
		k.mv_data = kbuf;
		if ((rc = mdb_cursor_put(c, &k, &nv, MDB_CURRENT)) != 0 ||
		    (rc = mdb_put(t->txn, t->s->dbi[DB_NUMS], &nk, &k, 0)) != 0)
			break;
		n++;
	}
	mdb_cursor_close(c);
	free(buf);
	if (rc != MDB_NOTFOUND)
		return txn_fail(t, rc, "renumbering users");
	/* Numbers whose user is gone, or carries another number, go. */
	if ((code = cursor_open(t, t->s->dbi[DB_NUMS], &c)) != MK_OK)
		return code;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		rc = mdb_get(t->txn, t->s->dbi[DB_USERS], &v, &nv);
		if (rc == 0 && nv.mv_size >= NUM_SIZE && k.mv_size == NUM_SIZE &&
		    memcmp(nv.mv_data, k.mv_data, NUM_SIZE) == 0)
			continue;
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		n++;
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return txn_fail(t, rc, "removing stray user numbers");
	if (fixed != NULL)
		*fixed = n;
	return MK_OK;
}

enum mk_code
store_user_put(struct store_txn *t, const struct store_user_keys *old,
    const struct store_user_keys *new, struct mk_slice rec)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val k;
	enum mk_code code;
	uint32_t num = 0;
	size_t n;

	if (check_write(t, "store_user_put") == -1)
		return MK_ERR_INTERNAL;
	if (!user_keys_ok(new) || (old != NULL && !user_keys_ok(old)))
		return MK_ERR_INVALID;
	if (old != NULL && strcmp(old->user_id, new->user_id) != 0) {
		log_warnx("store: store_user_put changes user_id");
		return MK_ERR_INTERNAL;
	}
	/* Check every key fits before changing anything. */
	if (key2(t->s, buf, email_or_empty(new->email),
	    new->user_id, &k) == -1 ||
	    okey_make(t->s, buf, new->created_at, new->user_id, 0, &k) == -1 ||
	    okey_make(t->s, buf, new->updated_at, NULL, 0, &k) == -1)
		return MK_ERR_INVALID;

	n = strlen(new->user_id);
	k.mv_data = (void *)(uintptr_t)new->user_id;
	k.mv_size = n;
	if ((code = user_rec_put(t, &k, old == NULL, rec, &num)) != MK_OK)
		return code;

	if (old == NULL || !str_eq(old->email, new->email) ||
	    !str_eq(old->connection, new->connection)) {
		if (old != NULL && !str_eq(old->email, new->email) &&
		    (code = index_del(t, DB_USERS_EMAIL,
		    email_or_empty(old->email), old->user_id)) != MK_OK)
			return code;
		if ((code = email_put(t, email_or_empty(new->email),
		    new->user_id, new->connection)) != MK_OK)
			return code;
	}
	if (old == NULL || !str_eq(old->created_at, new->created_at)) {
		if (old != NULL && (code = oindex_del(t, DB_USERS_CREATED,
		    old->created_at, old->user_id, num)) != MK_OK)
			return code;
		if ((code = oindex_put(t, DB_USERS_CREATED, new->created_at,
		    new->user_id, num)) != MK_OK)
			return code;
	}
	if (old == NULL || !str_eq(old->updated_at, new->updated_at)) {
		if (old != NULL && (code = oindex_del(t, DB_USERS_UPDATED,
		    old->updated_at, old->user_id, num)) != MK_OK)
			return code;
		if ((code = oindex_put(t, DB_USERS_UPDATED, new->updated_at,
		    new->user_id, num)) != MK_OK)
			return code;
	}
	return MK_OK;
}

enum mk_code
store_user_del(struct store_txn *t, const struct store_user_keys *old)
{
	MDB_val k;
	enum mk_code code;
	uint32_t num = 0;
	int numbered = 0;

	if (check_write(t, "store_user_del") == -1)
		return MK_ERR_INTERNAL;
	if (!user_keys_ok(old))
		return MK_ERR_INVALID;
	k.mv_data = (void *)(uintptr_t)old->user_id;
	k.mv_size = strlen(old->user_id);
	if (k.mv_size > t->s->keymax)
		return MK_ERR_NOTFOUND;
	{
		MDB_val v, nk;
		int rc;

		rc = mdb_get(t->txn, t->s->dbi[DB_USERS], &k, &v);
		if (rc == MDB_NOTFOUND)
			return MK_ERR_NOTFOUND;
		if (rc != 0)
			return txn_fail(t, rc, "get");
		if (v.mv_size >= NUM_SIZE) {
			memcpy(&num, v.mv_data, NUM_SIZE);
			numbered = 1;
			nk.mv_data = &num;
			nk.mv_size = NUM_SIZE;
			if ((code = del_quiet(t, t->s->dbi[DB_NUMS], &nk)) != MK_OK)
				return code;
		}
	}
	if ((code = del_raw(t, t->s->dbi[DB_USERS], &k)) != MK_OK)
		return code;
	if ((code = del_quiet(t, t->s->dbi[DB_PWHASH], &k)) != MK_OK ||
	    (code = index_del(t, DB_USERS_EMAIL, email_or_empty(old->email),
	    old->user_id)) != MK_OK)
		return code;
	/* Without a number its order entries cannot be named (check finds them). */
	if (numbered &&
	    ((code = oindex_del(t, DB_USERS_CREATED, old->created_at, old->user_id, num)) != MK_OK ||
	    (code = oindex_del(t, DB_USERS_UPDATED, old->updated_at, old->user_id, num)) != MK_OK))
		return code;
	return MK_OK;
}

static enum mk_code
cursor_open(struct store_txn *t, MDB_dbi dbi, MDB_cursor **c)
{
	int rc;

	if ((rc = mdb_cursor_open(t->txn, dbi, c)) != 0) {
		if (t->write)
			return txn_fail(t, rc, "cursor");
		log_warnx("store %s: cursor: %s", t->s->dir, mdb_strerror(rc));
		return MK_ERR_INTERNAL;
	}
	return MK_OK;
}

static enum mk_code
cursor_error(struct store_txn *t, int rc)
{
	if (t->write)
		return txn_fail(t, rc, "cursor get");
	log_warnx("store %s: cursor get: %s", t->s->dir, mdb_strerror(rc));
	return MK_ERR_INTERNAL;
}

/*
 * Walk the index entries of db whose key starts with prefix '\0', calling
 * visit(t, id, value, arg) until it returns non-zero.
 */
typedef int (*prefix_fn)(struct store_txn *t, const MDB_val *id, const MDB_val *val,
    void *arg);

static enum mk_code
prefix_walk(struct store_txn *t, int db, const char *prefix, prefix_fn visit, void *arg)
{
	MDB_cursor *c = NULL;
	MDB_val k, v, id;
	size_t plen;
	int rc;
	enum mk_code code;

	plen = strlen(prefix) + 1;   /* with the NUL */
	if (plen >= t->s->keymax)
		return MK_OK;    /* no such key can be stored */
	if ((code = cursor_open(t, t->s->dbi[db], &c)) != MK_OK)
		return code;
	k.mv_data = (void *)(uintptr_t)prefix;
	k.mv_size = plen;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if (key_id(&k, &id) == -1)
			continue;
		if (visit(t, &id, &v, arg) != 0)
			break;
	}
	code = MK_OK;
	if (rc != 0 && rc != MDB_NOTFOUND)
		code = cursor_error(t, rc);
	mdb_cursor_close(c);
	return code;
}

struct taken_arg {
	const char *connection;
	const char *except_id;
	int taken;
	enum mk_code code;
};

static int
taken_visit(struct store_txn *t, const MDB_val *id, const MDB_val *val, void *arg)
{
	struct taken_arg *a = arg;
	MDB_val name = *val;
	size_t n;
	int rc;

	if (a->except_id != NULL) {
		n = strlen(a->except_id);
		if (id->mv_size == n && memcmp(id->mv_data, a->except_id, n) == 0)
			return 0;
	}
	if ((rc = email_val_name(t->s, t->txn, &name)) != 0) {
		a->code = cursor_error(t, rc);
		return 1;
	}
	n = strlen(a->connection);
	if (name.mv_size == n && memcmp(name.mv_data, a->connection, n) == 0) {
		a->taken = 1;
		return 1;
	}
	return 0;
}

enum mk_code
store_user_email_taken(struct store_txn *t, const char *email,
    const char *connection, const char *except_id, int *taken)
{
	struct taken_arg a;
	enum mk_code code;

	if (t == NULL || email == NULL || connection == NULL)
		return MK_ERR_INTERNAL;
	if (email[0] == '\0') {
		/* The empty email stands for "none", which is never taken. */
		*taken = 0;
		return MK_OK;
	}
	a.connection = connection;
	a.except_id = except_id;
	a.taken = 0;
	a.code = MK_OK;
	if ((code = prefix_walk(t, DB_USERS_EMAIL, email, taken_visit, &a)) != MK_OK)
		return code;
	if (a.code != MK_OK)
		return a.code;
	*taken = a.taken;
	return MK_OK;
}

enum mk_code
store_client_put(struct store_txn *t, const char *client_id,
    const char *created_at, struct mk_slice rec)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val k, v;
	enum mk_code code;

	if (check_write(t, "store_client_put") == -1)
		return MK_ERR_INTERNAL;
	if (client_id == NULL || created_at == NULL || client_id[0] == '\0' ||
	    key2(t->s, buf, created_at, client_id, &k) == -1)
		return MK_ERR_INVALID;
	k.mv_data = (void *)(uintptr_t)client_id;
	k.mv_size = strlen(client_id);
	v.mv_data = (void *)(uintptr_t)rec.p;
	v.mv_size = rec.n;
	if ((code = put_raw(t, t->s->dbi[DB_CLIENTS], &k, &v, 0)) != MK_OK)
		return code;
	/* created_at never changes, so the order entry is the same key. */
	return index_put(t, DB_CLIENTS_CREATED, created_at, client_id, "");
}

enum mk_code
store_client_del(struct store_txn *t, const char *client_id, const char *created_at)
{
	MDB_val k;
	enum mk_code code;

	if (check_write(t, "store_client_del") == -1)
		return MK_ERR_INTERNAL;
	if (client_id == NULL || created_at == NULL || client_id[0] == '\0')
		return MK_ERR_INVALID;
	k.mv_data = (void *)(uintptr_t)client_id;
	k.mv_size = strlen(client_id);
	if (k.mv_size > t->s->keymax)
		return MK_ERR_NOTFOUND;
	if ((code = del_raw(t, t->s->dbi[DB_CLIENTS], &k)) != MK_OK)
		return code;
	return index_del(t, DB_CLIENTS_CREATED, created_at, client_id);
}

/*
 * The record of index entry ik, from recdb: on success *ks is its id and *rs
 * the record (both valid until the transaction ends).  An entry without an
 * id or a record is a broken index: logged, and MK_ERR_NOTFOUND, for the
 * caller to pass over (never fatal).  Errors: those of LMDB.
 */
static enum mk_code
index_record(struct store_txn *t, MDB_dbi recdb, const MDB_val *ik,
    struct mk_slice *ks, struct mk_slice *rs)
{
	MDB_val id, v;
	int rc;

	if (key_id(ik, &id) == -1) {
		log_warnx("store %s: index key without an id", t->s->dir);
		return MK_ERR_NOTFOUND;
	}
	rc = mdb_get(t->txn, recdb, &id, &v);
	if (rc == MDB_NOTFOUND) {
		log_warnx("store %s: index entry for a missing record %.*s",
		    t->s->dir, (int)(id.mv_size > 64 ? 64 : id.mv_size),
		    (const char *)id.mv_data);
		return MK_ERR_NOTFOUND;
	}
	if (rc != 0)
		return cursor_error(t, rc);
	if (recdb == t->s->dbi[DB_USERS] && user_value(t, &v) == -1)
		return MK_ERR_NOTFOUND;
	ks->p = id.mv_data;
	ks->n = id.mv_size;
	rs->p = v.mv_data;
	rs->n = v.mv_size;
	return MK_OK;
}

/*
 * What walk goes over: db, and when indexed, db's entries are index keys
 * whose records live in recdb.
 */
struct walk_src {
	MDB_dbi db;
	int indexed;
	MDB_dbi recdb;
};

const struct store_page store_page_all = { STORE_BY_ID, 0, 0, 0 };

/*
 * Walk src from one end (pg->desc: the last), skipping pg->skip entries and
 * visiting at most pg->limit (0: all); pg->order is the caller's business
 * (it chose src).
 */
static enum mk_code
walk(struct store_txn *t, const struct walk_src *src, const struct store_page *pg,
    store_visit_fn fn, void *ctx)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	struct mk_slice ks, rs;
	size_t seen = 0, skip = pg->skip;
	enum mk_code code = MK_OK;
	int rc;

	if ((code = cursor_open(t, src->db, &c)) != MK_OK)
		return code;
	for (rc = mdb_cursor_get(c, &k, &v, pg->desc ? MDB_LAST : MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, pg->desc ? MDB_PREV : MDB_NEXT)) {
		/*
		 * Skipping needs no record lookup, but a broken index entry
		 * then counts as skipped: good enough for a condition that is
		 * logged when met.
		 */
		if (skip > 0) {
			skip--;
			continue;
		}
		if (src->indexed) {
			code = index_record(t, src->recdb, &k, &ks, &rs);
			if (code == MK_ERR_NOTFOUND) {
				code = MK_OK;
				continue;
			}
			if (code != MK_OK)
				goto out;
		} else {
			if (src->db == t->s->dbi[DB_USERS] && user_value(t, &v) == -1)
				continue;
			ks.p = k.mv_data;
			ks.n = k.mv_size;
			rs.p = v.mv_data;
			rs.n = v.mv_size;
		}
		seen++;
		if (fn(ctx, ks, rs) != 0)
			break;
		if (pg->limit > 0 && seen >= pg->limit)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		code = cursor_error(t, rc);
out:
	mdb_cursor_close(c);
	return code;
}

static int
mdbval_cmp(const void *a, const void *b)
{
	const MDB_val *x = a, *y = b;
	size_t n = x->mv_size < y->mv_size ? x->mv_size : y->mv_size;
	int c = memcmp(x->mv_data, y->mv_data, n);

	return c != 0 ? c : (x->mv_size > y->mv_size) - (x->mv_size < y->mv_size);
}

/*
 * walk for an order index (okey_make's keys): the entries of one time come
 * in number order, so each run of them is read whole, its numbers turned
 * into user_ids, and handed on in user_id order (reversed for pg->desc).  A
 * run wholly inside pg->skip is passed over without a lookup.
 */
static enum mk_code
walk_order(struct store_txn *t, MDB_dbi db, const struct store_page *pg,
    store_visit_fn fn, void *ctx)
{
	MDB_cursor *c = NULL;
	MDB_val k, v, nk, rv;
	MDB_val *ids = NULL;
	uint32_t *nums = NULL, num;
	char run[STORE_KEYMAX + 1];
	size_t runlen, n, m, cap = 0, i, j, seen = 0, skip = pg->skip;
	struct mk_slice ks, rs;
	MDB_cursor_op step = pg->desc ? MDB_PREV : MDB_NEXT;
	enum mk_code code = MK_OK;
	void *p;
	int rc;

	if ((code = cursor_open(t, db, &c)) != MK_OK)
		return code;
	rc = mdb_cursor_get(c, &k, &v, pg->desc ? MDB_LAST : MDB_FIRST);
	while (rc == 0) {
		if (k.mv_size <= NUM_SIZE || k.mv_size - NUM_SIZE > STORE_KEYMAX) {
			log_warnx("store %s: order index key of %zu bytes", t->s->dir,
			    k.mv_size);
			rc = mdb_cursor_get(c, &k, &v, step);
			continue;
		}
		runlen = k.mv_size - NUM_SIZE;
		memcpy(run, k.mv_data, runlen);
		n = 0;
		do {
			if (n == cap) {
				cap = cap * 2 + 16;
				if ((p = realloc(nums, cap * sizeof(*nums))) == NULL) {
					code = MK_ERR_NOMEM;
					goto out;
				}
				nums = p;
				if ((p = realloc(ids, cap * sizeof(*ids))) == NULL) {
					code = MK_ERR_NOMEM;
					goto out;
				}
				ids = p;
			}
			nums[n++] = okey_num(&k);
			rc = mdb_cursor_get(c, &k, &v, step);
		} while (rc == 0 && k.mv_size == runlen + NUM_SIZE &&
		    memcmp(k.mv_data, run, runlen) == 0);
		if (skip >= n) {
			skip -= n;
			continue;
		}
		for (i = 0, m = 0; i < n; i++) {
			int grc;

			num = nums[i];
			nk.mv_data = &num;
			nk.mv_size = NUM_SIZE;
			grc = mdb_get(t->txn, t->s->dbi[DB_NUMS], &nk, &ids[m]);
			if (grc == MDB_NOTFOUND) {
				log_warnx("store %s: order index entry for user number %u, "
				    "which has no user", t->s->dir, num);
				continue;
			}
			if (grc != 0) {
				code = cursor_error(t, grc);
				goto out;
			}
			m++;
		}
		if (m > 1)
			qsort(ids, m, sizeof(*ids), mdbval_cmp);
		for (j = 0; j < m; j++) {
			const MDB_val *id = &ids[pg->desc ? m - 1 - j : j];
			int grc;

			if (skip > 0) {
				skip--;
				continue;
			}
			grc = mdb_get(t->txn, t->s->dbi[DB_USERS], (MDB_val *)(uintptr_t)id, &rv);
			if (grc == MDB_NOTFOUND) {
				log_warnx("store %s: index entry for a missing record %.*s",
				    t->s->dir, (int)(id->mv_size > 64 ? 64 : id->mv_size),
				    (const char *)id->mv_data);
				continue;
			}
			if (grc != 0) {
				code = cursor_error(t, grc);
				goto out;
			}
			if (user_value(t, &rv) == -1)
				continue;
			ks.p = id->mv_data;
			ks.n = id->mv_size;
			rs.p = rv.mv_data;
			rs.n = rv.mv_size;
			seen++;
			if (fn(ctx, ks, rs) != 0 || (pg->limit > 0 && seen >= pg->limit))
				goto out;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		code = cursor_error(t, rc);
out:
	mdb_cursor_close(c);
	free(nums);
	free(ids);
	return code;
}

enum mk_code
store_users_scan(struct store_txn *t, const struct store_page *pg,
    store_visit_fn fn, void *ctx)
{
	struct walk_src src;
	struct store *s;

	if (t == NULL || pg == NULL || fn == NULL)
		return MK_ERR_INTERNAL;
	s = t->s;
	src.indexed = 1;
	src.recdb = s->dbi[DB_USERS];
	switch (pg->order) {
	case STORE_BY_CREATED:
		return walk_order(t, s->dbi[DB_USERS_CREATED], pg, fn, ctx);
	case STORE_BY_UPDATED:
		return walk_order(t, s->dbi[DB_USERS_UPDATED], pg, fn, ctx);
	case STORE_BY_EMAIL:
		src.db = s->dbi[DB_USERS_EMAIL];
		break;
	case STORE_BY_ID:
		src.db = s->dbi[DB_USERS];
		src.indexed = 0;
		break;
	default:
		return MK_ERR_INTERNAL;
	}
	return walk(t, &src, pg, fn, ctx);
}

struct by_email_arg {
	store_visit_fn fn;
	void *ctx;
	enum mk_code code;
};

static int
by_email_visit(struct store_txn *t, const MDB_val *id, const MDB_val *val, void *arg)
{
	struct by_email_arg *a = arg;
	MDB_val v;
	struct mk_slice ks, rs;
	int rc;

	(void)val;
	rc = mdb_get(t->txn, t->s->dbi[DB_USERS], (MDB_val *)(uintptr_t)id, &v);
	if (rc == MDB_NOTFOUND) {
		log_warnx("store %s: email index entry for a missing user",
		    t->s->dir);
		return 0;
	}
	if (rc != 0) {
		a->code = cursor_error(t, rc);
		return 1;
	}
	if (user_value(t, &v) == -1)
		return 0;
	ks.p = id->mv_data;
	ks.n = id->mv_size;
	rs.p = v.mv_data;
	rs.n = v.mv_size;
	return a->fn(a->ctx, ks, rs) != 0;
}

enum mk_code
store_users_by_email(struct store_txn *t, const char *email,
    store_visit_fn fn, void *ctx)
{
	struct by_email_arg a;
	enum mk_code code;

	if (t == NULL || email == NULL || fn == NULL)
		return MK_ERR_INTERNAL;
	if (email[0] == '\0')
		return MK_OK;   /* "no email" is not an address to look up */
	a.fn = fn;
	a.ctx = ctx;
	a.code = MK_OK;
	if ((code = prefix_walk(t, DB_USERS_EMAIL, email, by_email_visit, &a)) != MK_OK)
		return code;
	return a.code;
}

enum mk_code
store_scan(struct store_txn *t, enum store_table table, store_visit_fn fn, void *ctx)
{
	struct walk_src src = { 0, 0, 0 };
	MDB_dbi dbi;

	int r;

	if (t == NULL || fn == NULL || (r = table_dbi(t->s, table, &dbi)) == -1)
		return MK_ERR_INTERNAL;
	if (r == -2)
		return MK_OK;
	src.db = dbi;
	if (table == ST_CLIENTS) {
		src.db = t->s->dbi[DB_CLIENTS_CREATED];
		src.indexed = 1;
		src.recdb = dbi;
	}
	return walk(t, &src, &store_page_all, fn, ctx);
}

enum mk_code
store_count(struct store_txn *t, enum store_table table, size_t *n)
{
	MDB_stat st;
	MDB_dbi dbi;
	int rc;

	if (t == NULL || n == NULL || (rc = table_dbi(t->s, table, &dbi)) == -1)
		return MK_ERR_INTERNAL;
	if (rc == -2) {
		*n = 0;
		return MK_OK;
	}
	if ((rc = mdb_stat(t->txn, dbi, &st)) != 0) {
		log_warnx("store %s: stat: %s", t->s->dir, mdb_strerror(rc));
		return MK_ERR_INTERNAL;
	}
	*n = st.ms_entries;
	return MK_OK;
}

/* ---- Administration: raw index access, copy, statistics ---- */

static int
ix_db(enum store_index ix)
{
	switch (ix) {
	case STORE_IX_USERS_EMAIL:
		return DB_USERS_EMAIL;
	case STORE_IX_USERS_CREATED:
		return DB_USERS_CREATED;
	case STORE_IX_USERS_UPDATED:
		return DB_USERS_UPDATED;
	case STORE_IX_CLIENTS_CREATED:
		return DB_CLIENTS_CREATED;
	}
	return -1;
}

const char *
store_index_name(enum store_index ix)
{
	int db = ix_db(ix);

	return db < 0 ? "?" : db_names[db];
}

enum mk_code
store_index_scan(struct store_txn *t, enum store_index ix, store_index_fn fn, void *ctx)
{
	MDB_cursor *c = NULL;
	MDB_val k, v, id, nk;
	char val[STORE_KEYMAX + 1];
	uint32_t num;
	struct mk_slice vs, is, xs;
	enum mk_code code;
	int rc, db;

	if (t == NULL || fn == NULL || (db = ix_db(ix)) < 0)
		return MK_ERR_INTERNAL;
	if ((code = cursor_open(t, t->s->dbi[db], &c)) != MK_OK)
		return code;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		vs.p = k.mv_data;
		vs.n = k.mv_size;
		is.p = "";
		is.n = 0;
		if (okey_db(db)) {
			/* The time as a string, the id from the number. */
			if (okey_value_idp(&k, OKEY_IDP_OF(db), val, &vs.n) == 0) {
				vs.p = val;
				num = okey_num(&k);
				nk.mv_data = &num;
				nk.mv_size = NUM_SIZE;
				rc = mdb_get(t->txn, t->s->dbi[DB_NUMS], &nk, &id);
				if (rc == 0) {
					is.p = id.mv_data;
					is.n = id.mv_size;
				} else if (rc != MDB_NOTFOUND)
					break;
			}
		} else if (key_id(&k, &id) == 0) {
			is.p = id.mv_data;
			is.n = id.mv_size;
			vs.n = k.mv_size - id.mv_size - 1;
		}
		if (db == DB_USERS_EMAIL && (rc = email_val_name(t->s, t->txn, &v)) != 0)
			break;
		xs.p = v.mv_data;
		xs.n = v.mv_size;
		if (fn(ctx, vs, is, xs) != 0)
			break;
	}
	code = MK_OK;
	if (rc != 0 && rc != MDB_NOTFOUND)
		code = cursor_error(t, rc);
	mdb_cursor_close(c);
	return code;
}

enum mk_code
store_index_get(struct store_txn *t, enum store_index ix, const char *value,
    const char *id, struct mk_slice *val)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val k, v;
	enum mk_code code;
	uint32_t num;
	int rc, db;

	if (t == NULL || value == NULL || id == NULL || val == NULL ||
	    (db = ix_db(ix)) < 0)
		return MK_ERR_INTERNAL;
	if (okey_db(db)) {
		/* The entry of value and the user's number. */
		if ((code = store_user_num(t, (struct mk_slice){ id, strlen(id) },
		    &num)) != MK_OK)
			return code;
		if (okey_make(t->s, buf, value, db == DB_USERS_CREATED ? id : NULL,
		    num, &k) == -1)
			return MK_ERR_NOTFOUND;
	} else if (key2(t->s, buf, value, id, &k) == -1)
		return MK_ERR_NOTFOUND;
	rc = mdb_get(t->txn, t->s->dbi[db], &k, &v);
	if (rc == MDB_NOTFOUND)
		return MK_ERR_NOTFOUND;
	if (rc == 0 && db == DB_USERS_EMAIL)
		rc = email_val_name(t->s, t->txn, &v);
	if (rc != 0)
		return cursor_error(t, rc);
	val->p = v.mv_data;
	val->n = v.mv_size;
	return MK_OK;
}

enum mk_code
store_table_scan(struct store_txn *t, enum store_table table, store_visit_fn fn, void *ctx)
{
	struct walk_src src = { 0, 0, 0 };

	int r;

	if (t == NULL || fn == NULL || (r = table_dbi(t->s, table, &src.db)) == -1)
		return MK_ERR_INTERNAL;
	if (r == -2)
		return MK_OK;
	return walk(t, &src, &store_page_all, fn, ctx);
}

enum mk_code
store_index_count(struct store_txn *t, enum store_index ix, size_t *n)
{
	MDB_stat st;
	int rc, db;

	if (t == NULL || n == NULL || (db = ix_db(ix)) < 0)
		return MK_ERR_INTERNAL;
	if ((rc = mdb_stat(t->txn, t->s->dbi[db], &st)) != 0) {
		log_warnx("store %s: stat: %s", t->s->dir, mdb_strerror(rc));
		return MK_ERR_INTERNAL;
	}
	*n = st.ms_entries;
	return MK_OK;
}

enum mk_code
store_index_clear(struct store_txn *t, enum store_index ix)
{
	int rc, db;

	if (check_write(t, "store_index_clear") == -1 || (db = ix_db(ix)) < 0)
		return MK_ERR_INTERNAL;
	/* del = 0: empty the table, keep its handle valid. */
	if ((rc = mdb_drop(t->txn, t->s->dbi[db], 0)) != 0)
		return txn_fail(t, rc, "drop");
	return MK_OK;
}

enum mk_code
store_user_index(struct store_txn *t, const struct store_user_keys *k)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val key;
	enum mk_code code;
	uint32_t num;

	if (check_write(t, "store_user_index") == -1)
		return MK_ERR_INTERNAL;
	if (!user_keys_ok(k))
		return MK_ERR_INVALID;
	/* All or nothing, as store_user_put: check every key fits first. */
	if (key2(t->s, buf, email_or_empty(k->email), k->user_id, &key) == -1 ||
	    okey_make(t->s, buf, k->created_at, k->user_id, 0, &key) == -1 ||
	    okey_make(t->s, buf, k->updated_at, NULL, 0, &key) == -1)
		return MK_ERR_INVALID;
	/* The order indexes name the user by its number. */
	if ((code = store_user_num(t, (struct mk_slice){ k->user_id,
	    strlen(k->user_id) }, &num)) != MK_OK)
		return code == MK_ERR_NOTFOUND ? MK_ERR_INVALID : code;
	if ((code = email_put(t, email_or_empty(k->email), k->user_id,
	    k->connection)) != MK_OK ||
	    (code = oindex_put(t, DB_USERS_CREATED, k->created_at, k->user_id, num)) != MK_OK ||
	    (code = oindex_put(t, DB_USERS_UPDATED, k->updated_at, k->user_id, num)) != MK_OK)
		return code;
	return MK_OK;
}

enum mk_code
store_client_index(struct store_txn *t, const char *client_id, const char *created_at)
{
	if (check_write(t, "store_client_index") == -1)
		return MK_ERR_INTERNAL;
	if (client_id == NULL || created_at == NULL || client_id[0] == '\0')
		return MK_ERR_INVALID;
	return index_put(t, DB_CLIENTS_CREATED, created_at, client_id, "");
}

enum mk_code
store_copy(struct store *s, const char *dir, int compact, struct mk_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	if (s == NULL || s->pid != store_pid() || dir == NULL || dir[0] == '\0')
		return mk_fail(err, MK_ERR_INTERNAL, "store: bad copy request");
	if (mkdir_p(dir, 0700) == -1)
		return mk_fail(err, MK_ERR_INTERNAL, "%s: %s", dir, strerror(errno));
	if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >= sizeof(path))
		return mk_fail(err, MK_ERR_INTERNAL, "%s: path too long", dir);
	/* LMDB would refuse too (O_EXCL), but with a vaguer message. */
	if (stat(path, &st) == 0)
		return mk_fail(err, MK_ERR_EXISTS, "%s already exists; not overwriting it", path);
	if ((rc = mdb_env_copy2(s->env, dir, compact ? MDB_CP_COMPACT : 0)) != 0)
		return mk_fail(err, MK_ERR_INTERNAL, "copying %s to %s: %s", s->dir, dir,
		    mdb_strerror(rc));
	return MK_OK;
}

struct readers_arg {
	unsigned int slots;
	unsigned int active;
};

/*
 * mdb_reader_list's callback: one header line, then one line per slot,
 * "pid thread txnid", txnid "-" for a slot not inside a transaction; or
 * only "(no active readers)".
 */
static int
readers_line(const char *msg, void *ctx)
{
	struct readers_arg *a = ctx;
	size_t n = strlen(msg);

	/* The header, or "(no active readers)". */
	if (strstr(msg, "pid") != NULL || strchr(msg, '(') != NULL)
		return 0;
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	if (n == 0)
		return 0;
	a->slots++;
	if (msg[n - 1] != '-')
		a->active++;
	return 0;
}

enum mk_code
store_stat(struct store *s, struct store_stats *out, struct mk_err *err)
{
	struct store_stats st;
	struct readers_arg ra = { 0, 0 };
	struct store_txn *t = NULL;
	MDB_envinfo info;
	MDB_stat ms;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc, i;
	enum mk_code code = MK_ERR_INTERNAL;

	memset(&st, 0, sizeof(st));
	if (s == NULL || s->pid != store_pid())
		return mk_fail(err, MK_ERR_INTERNAL, "store: foreign handle");
	/* Readers first, so this call's own transaction is not among them. */
	if ((rc = mdb_reader_list(s->env, readers_line, &ra)) < 0) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: reader list failed", s->dir);
		goto out;
	}
	if ((rc = mdb_env_info(s->env, &info)) != 0 ||
	    (rc = mdb_env_stat(s->env, &ms)) != 0) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: %s", s->dir, mdb_strerror(rc));
		goto out;
	}
	st.page_size = ms.ms_psize;
	st.map_size = info.me_mapsize;
	st.map_used = (info.me_last_pgno + 1) * (size_t)ms.ms_psize;
	st.map_limit = s->limit_key == NULL ? 0 : s->map_max != 0 ? s->map_max :
	    info.me_mapsize;
	st.limit_key = s->limit_key;
	{
		struct statvfs fs;

		if (statvfs(s->dir, &fs) == 0)
			st.disk_avail = (size_t)fs.f_bavail * fs.f_frsize;
	}
	st.last_txnid = info.me_last_txnid;
	st.max_readers = info.me_maxreaders;
	st.reader_slots = ra.slots;
	st.readers_active = ra.active;

	if ((code = store_read_begin(s, &t)) != MK_OK) {
		mk_fail(err, code, "store %s: cannot begin a read", s->dir);
		goto out;
	}
	code = MK_ERR_INTERNAL;
	for (i = 0; i < DB__COUNT && (size_t)i < STORE_STATS_TABLES; i++) {
		if (i == DB_SESSIONS && s->no_sessions) {
			st.tables[i].name = db_names[i];
			continue;
		}
		if (s->no_logs && DB_OPTIONAL(i)) {
			st.tables[i].name = db_names[i];
			continue;
		}
		if (s->absent[i]) {
			st.tables[i].name = db_names[i];
			st.ntables++;
			continue;
		}
		if ((rc = mdb_stat(t->txn, s->dbi[i], &ms)) != 0) {
			mk_fail(err, MK_ERR_INTERNAL, "store %s: stat %s: %s", s->dir,
			    db_names[i], mdb_strerror(rc));
			goto out;
		}
		st.tables[i].name = db_names[i];
		st.tables[i].entries = ms.ms_entries;
		st.tables[i].depth = ms.ms_depth;
		st.tables[i].pages = ms.ms_branch_pages + ms.ms_leaf_pages +
		    ms.ms_overflow_pages;
		st.tables[i].overflow_pages = ms.ms_overflow_pages;
		st.ntables++;
	}
	/*
	 * The free list (database 0) maps a transaction id to an array of
	 * page numbers, counted first.
	 */
	if ((rc = mdb_cursor_open(t->txn, 0, &c)) != 0) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: free list: %s", s->dir,
		    mdb_strerror(rc));
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		size_t npg;

		/* memcpy: LMDB values are not aligned for a size_t. */
		if (v.mv_size >= sizeof(npg)) {
			memcpy(&npg, v.mv_data, sizeof(npg));
			st.free_pages += npg;
		}
	}
	if (rc != MDB_NOTFOUND) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: free list: %s", s->dir,
		    mdb_strerror(rc));
		goto out;
	}
	*out = st;
	code = MK_OK;
out:
	if (c != NULL)
		mdb_cursor_close(c);
	store_txn_end(t);
	return code;
}

/* ---- Search index: the "terms" table (see store.h) ---- */

/* A term key: 1 to STORE_SEARCH_KEYMAX bytes (and what LMDB allows). */
static int
search_arg(struct store_txn *t, struct mk_slice key, MDB_val *k)
{
	if (t == NULL || key.n == 0 || key.n > t->s->keymax || key.n > STORE_SEARCH_KEYMAX)
		return -1;
	k->mv_data = (void *)(uintptr_t)key.p;
	k->mv_size = key.n;
	return 0;
}

/*
 * The floor of terms_new (see search_floor_new): a user numbered at or
 * above it has its entries in terms_new, every other in terms.  So under
 * each key terms holds the numbers below the floor and terms_new those at
 * or above it, and a key's numbers in ascending order are terms' followed
 * by terms_new's.  A new user's entries go to the small terms_new (a few
 * pages, the same for every user), not to the end of a long posting list
 * each (a page or two of every list); when the users above the floor reach
 * store_search_new_max, terms_new is moved into terms with one append per
 * key and the floor rises above every number given.  Without the floor
 * (never in a store this build opened read-write): everything in terms.
 */
size_t store_search_new_max = 64;

/* The index's two tables, in the order a key's numbers run. */
static const int search_dbs[2] = { DB_TERMS, DB_TERMS_NEW };

/* 1 when num's entries belong in terms_new (floor UINT32_MAX: none do). */
static int
above_floor(uint32_t floor, uint32_t num)
{
	return floor != UINT32_MAX && num >= floor;
}

static int
floor_get(struct store_txn *t, uint32_t *floor)
{
	MDB_val k, v;
	int rc;

	/* A write changes it only here (search_flush): kept for the write. */
	if (t->write && t->floor_ok) {
		*floor = t->floor;
		return 0;
	}
	k.mv_data = (void *)(uintptr_t)FLOOR_KEY;
	k.mv_size = strlen(FLOOR_KEY);
	rc = mdb_get(t->txn, t->s->dbi[DB_META], &k, &v);
	*floor = UINT32_MAX;
	if (rc == 0 && v.mv_size == NUM_SIZE)
		memcpy(floor, v.mv_data, NUM_SIZE);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc == 0 && t->write) {
		t->floor = *floor;
		t->floor_ok = 1;
	}
	return rc;
}

/*
 * Append n numbers (at nums, maybe unaligned, ascending) under key k of
 * cursor c's table: in one call (MDB_APPENDDUP | MDB_MULTIPLE) when all are
 * above the key's last; from where that stopped, one by one.  LMDB code.
 */
static int
append_nums(MDB_cursor *c, MDB_val *k, const void *nums, size_t n)
{
	MDB_val d[2];
	size_t j = 0;
	int rc;

	d[0].mv_data = (void *)(uintptr_t)nums;
	d[0].mv_size = NUM_SIZE;
	d[1].mv_size = n;
	d[1].mv_data = NULL;
	if (n > 1) {
		rc = mdb_cursor_put(c, k, d, MDB_APPENDDUP | MDB_MULTIPLE);
		if (rc != MDB_KEYEXIST)
			return rc;
		/* d[1] says how many were written. */
		j = d[1].mv_size;
	}
	for (rc = 0; j < n && rc == 0; j++) {
		d[0].mv_data = (void *)((uintptr_t)nums + j * NUM_SIZE);
		d[0].mv_size = NUM_SIZE;
		rc = mdb_cursor_put(c, k, &d[0], MDB_APPENDDUP);
		if (rc == MDB_KEYEXIST)
			rc = mdb_cursor_put(c, k, &d[0], MDB_NODUPDATA);
		if (rc == MDB_KEYEXIST)
			rc = 0;
	}
	return rc;
}

/*
 * Move terms_new into terms and raise the floor above every number given
 * (and to at least least).  LMDB code.
 */
static int
search_flush(struct store_txn *t, uint32_t least)
{
	MDB_cursor *nc = NULL, *mc = NULL;
	MDB_val k, v;
	uint32_t floor, next, last, top = 0;
	size_t cnt;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, t->s->dbi[DB_TERMS_NEW], &nc)) != 0 ||
	    (rc = mdb_cursor_open(t->txn, t->s->dbi[DB_TERMS], &mc)) != 0)
		goto out;
	for (rc = mdb_cursor_get(nc, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(nc, &k, &v, MDB_NEXT_NODUP)) {
		if ((rc = mdb_cursor_count(nc, &cnt)) != 0)
			break;
		if (cnt == 1) {
			if ((rc = append_nums(mc, &k, v.mv_data, 1)) != 0)
				break;
			memcpy(&last, v.mv_data, NUM_SIZE);
			top = last > top ? last : top;
			continue;
		}
		for (rc = mdb_cursor_get(nc, &k, &v, MDB_GET_MULTIPLE); rc == 0;
		    rc = mdb_cursor_get(nc, &k, &v, MDB_NEXT_MULTIPLE)) {
			if (v.mv_size < NUM_SIZE)
				continue;
			if ((rc = append_nums(mc, &k, v.mv_data, v.mv_size / NUM_SIZE)) != 0)
				goto out;
			memcpy(&last, (char *)v.mv_data + v.mv_size - NUM_SIZE, NUM_SIZE);
			top = last > top ? last : top;
		}
		if (rc != MDB_NOTFOUND)
			break;
	}
	if (rc != MDB_NOTFOUND)
		goto out;
	mdb_cursor_close(nc);
	nc = NULL;
	if ((rc = mdb_drop(t->txn, t->s->dbi[DB_TERMS_NEW], 0)) != 0 ||
	    (rc = num_above_all(t->s, t->txn, &next)) != 0 ||
	    (rc = floor_get(t, &floor)) != 0)
		goto out;
	if (floor == UINT32_MAX || floor < next)
		floor = next;
	if (floor < least)
		floor = least;
	/* And above every number moved (UINT32_MAX: no floor, all in terms). */
	if (top >= floor && top != UINT32_MAX)
		floor = top + 1;
	if ((rc = floor_put(t->s, t->txn, floor)) == 0 && t->write) {
		t->floor = floor;
		t->floor_ok = 1;
	}
out:
	if (nc != NULL)
		mdb_cursor_close(nc);
	if (mc != NULL)
		mdb_cursor_close(mc);
	return rc;
}

enum mk_code
store_search_put(struct store_txn *t, struct mk_slice key, uint32_t num)
{
	MDB_val k, v;
	enum mk_code code;
	uint32_t floor;
	int rc, fresh;

	if (check_write(t, "store_search_put") == -1)
		return MK_ERR_INTERNAL;
	if (search_arg(t, key, &k) == -1)
		return MK_ERR_INVALID;
	if ((rc = floor_get(t, &floor)) != 0)
		return txn_fail(t, rc, "search floor");
	fresh = above_floor(floor, num);
	v.mv_data = &num;
	v.mv_size = NUM_SIZE;
	code = put_raw(t, t->s->dbi[fresh ? DB_TERMS_NEW : DB_TERMS], &k, &v, MDB_NODUPDATA);
	if (code == MK_ERR_EXISTS)
		code = MK_OK;
	if (code == MK_OK && fresh && num - floor >= store_search_new_max &&
	    (rc = search_flush(t, 0)) != 0)
		return txn_fail(t, rc, "search flush");
	return code;
}

enum mk_code
store_search_put_keys(struct store_txn *t, const struct mk_slice *keys, size_t n,
    uint32_t num)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	enum mk_code code;
	uint32_t floor;
	size_t i;
	int rc = 0, fresh;

	if (check_write(t, "store_search_put_keys") == -1)
		return MK_ERR_INTERNAL;
	for (i = 0; i < n; i++)
		if (search_arg(t, keys[i], &k) == -1)
			return MK_ERR_INVALID;
	if ((rc = floor_get(t, &floor)) != 0)
		return txn_fail(t, rc, "search floor");
	fresh = above_floor(floor, num);
	/* One cursor: sorted keys mostly find theirs on the page it is on. */
	if ((code = cursor_open(t, t->s->dbi[fresh ? DB_TERMS_NEW : DB_TERMS], &c)) != MK_OK)
		return code;
	for (i = 0; i < n && rc == 0; i++) {
		k.mv_data = (void *)(uintptr_t)keys[i].p;
		k.mv_size = keys[i].n;
		v.mv_data = &num;
		v.mv_size = NUM_SIZE;
		/* A new user's number is above the key's others: an append. */
		rc = mdb_cursor_put(c, &k, &v, MDB_APPENDDUP);
		if (rc == MDB_KEYEXIST)
			rc = mdb_cursor_put(c, &k, &v, MDB_NODUPDATA);
		if (rc == MDB_KEYEXIST)
			rc = 0;
	}
	mdb_cursor_close(c);
	if (rc != 0)
		return rc == MDB_BAD_VALSIZE ? MK_ERR_INVALID : txn_fail(t, rc, "search put");
	if (fresh && num - floor >= store_search_new_max && (rc = search_flush(t, 0)) != 0)
		return txn_fail(t, rc, "search flush");
	return MK_OK;
}

enum mk_code
store_search_put_sorted(struct store_txn *t, const struct store_posting *v, size_t n)
{
	MDB_cursor *c = NULL;
	MDB_val k;
	enum mk_code code;
	uint32_t least = 0;
	size_t i;
	int rc = 0;

	if (check_write(t, "store_search_put_sorted") == -1)
		return MK_ERR_INTERNAL;
	for (i = 0; i < n; i++) {
		if (search_arg(t, v[i].key, &k) == -1)
			return MK_ERR_INVALID;
		/* Ascending: the last is the largest. */
		if (v[i].n > 0 && v[i].nums[v[i].n - 1] >= least)
			least = v[i].nums[v[i].n - 1] == UINT32_MAX ? UINT32_MAX :
			    v[i].nums[v[i].n - 1] + 1;
	}
	/* All of them go to terms: the floor first rises above them. */
	if ((rc = search_flush(t, least)) != 0)
		return txn_fail(t, rc, "search flush");
	if ((code = cursor_open(t, t->s->dbi[DB_TERMS], &c)) != MK_OK)
		return code;
	for (i = 0; i < n && rc == 0; i++) {
		k.mv_data = (void *)(uintptr_t)v[i].key.p;
		k.mv_size = v[i].key.n;
		/*
		 * New users' numbers are above every stored one: all of them
		 * appended to the key's list at once; numbers not above the
		 * last (a concurrent writer got there first) one by one.
		 */
		rc = append_nums(c, &k, v[i].nums, v[i].n);
	}
	mdb_cursor_close(c);
	return rc == 0 ? MK_OK : txn_fail(t, rc, "search put");
}

enum mk_code
store_search_del(struct store_txn *t, struct mk_slice key, uint32_t num)
{
	MDB_val k, v;
	uint32_t floor;
	int rc;

	if (check_write(t, "store_search_del") == -1)
		return MK_ERR_INTERNAL;
	if (search_arg(t, key, &k) == -1)
		return MK_OK;     /* could never have been put */
	if ((rc = floor_get(t, &floor)) != 0)
		return txn_fail(t, rc, "search floor");
	v.mv_data = &num;
	v.mv_size = NUM_SIZE;
	rc = mdb_del(t->txn, t->s->dbi[above_floor(floor, num) ?
	    DB_TERMS_NEW : DB_TERMS], &k, &v);
	if (rc == 0 || rc == MDB_NOTFOUND)
		return MK_OK;
	return txn_fail(t, rc, "search del");
}

/*
 * The numbers of the key the cursor is on (first: the value it is on), a
 * page at a time (MDB_GET_MULTIPLE / MDB_NEXT_MULTIPLE), to fn.  A key
 * with one number has no duplicate page: first is all.  Returns -1 when fn
 * stopped; *rcp gets the last LMDB code (MDB_NOTFOUND at the end).  Six
 * parameters: the cursor's place (c, k, first, as its two callers' own
 * mdb_cursor_get left them), the visitor (fn, ctx) and the LMDB code out.
 */
static int
search_pages(MDB_cursor *c, MDB_val *k, const MDB_val *first, store_search_fn fn,
    void *ctx, int *rcp)
{
	MDB_val v;
	struct mk_slice ks;
	size_t cnt = 0;
	int rc;

	ks.p = k->mv_data;
	ks.n = k->mv_size;
	if ((rc = mdb_cursor_count(c, &cnt)) != 0) {
		*rcp = rc;
		return 0;
	}
	if (cnt == 1) {
		*rcp = MDB_NOTFOUND;
		if (first->mv_size != NUM_SIZE)
			return 0;
		return fn(ctx, ks, first->mv_data, 1) != 0 ? -1 : 0;
	}
	for (rc = mdb_cursor_get(c, k, &v, MDB_GET_MULTIPLE); rc == 0;
	    rc = mdb_cursor_get(c, k, &v, MDB_NEXT_MULTIPLE)) {
		if (fn(ctx, ks, v.mv_data, v.mv_size / NUM_SIZE) != 0) {
			*rcp = 0;
			return -1;
		}
	}
	*rcp = rc;
	return 0;
}

enum mk_code
store_search_get(struct store_txn *t, struct mk_slice key, store_search_fn fn, void *ctx)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	enum mk_code code = MK_OK;
	int rc = 0, i, stop = 0;

	if (t == NULL)
		return MK_ERR_INTERNAL;
	if (search_arg(t, key, &k) == -1)
		return MK_OK;     /* no such key can exist */
	/* terms' numbers, then terms_new's (all above them). */
	for (i = 0; i < 2 && !stop && code == MK_OK; i++) {
		if ((code = cursor_open(t, t->s->dbi[search_dbs[i]], &c)) != MK_OK)
			return code;
		(void)search_arg(t, key, &k);   /* checked above; the get moves k */
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
		if (rc == 0)
			stop = search_pages(c, &k, &v, fn, ctx, &rc) == -1;
		code = rc == 0 || rc == MDB_NOTFOUND ? MK_OK : cursor_error(t, rc);
		mdb_cursor_close(c);
	}
	return code;
}

enum mk_code
store_search_count(struct store_txn *t, struct mk_slice key, size_t *n)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	size_t cnt, sum = 0;
	enum mk_code code;
	int rc, i;

	if (t == NULL)
		return MK_ERR_INTERNAL;
	*n = 0;
	if (search_arg(t, key, &k) == -1)
		return MK_OK;
	for (i = 0; i < 2; i++) {
		if ((code = cursor_open(t, t->s->dbi[search_dbs[i]], &c)) != MK_OK)
			return code;
		search_arg(t, key, &k);
		cnt = 0;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET);
		if (rc == 0)
			rc = mdb_cursor_count(c, &cnt);
		if (rc == MDB_NOTFOUND) {
			cnt = 0;
			rc = 0;
		}
		code = rc == 0 ? MK_OK : cursor_error(t, rc);
		mdb_cursor_close(c);
		if (code != MK_OK)
			return code;
		sum += cnt;
	}
	*n = sum;
	return MK_OK;
}

enum mk_code
store_search_has(struct store_txn *t, struct mk_slice key, uint32_t num, int *has)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	enum mk_code code;
	int rc = MDB_NOTFOUND, i;

	if (t == NULL)
		return MK_ERR_INTERNAL;
	*has = 0;
	if (search_arg(t, key, &k) == -1)
		return MK_OK;
	for (i = 0; i < 2 && rc == MDB_NOTFOUND; i++) {
		if ((code = cursor_open(t, t->s->dbi[search_dbs[i]], &c)) != MK_OK)
			return code;
		search_arg(t, key, &k);
		v.mv_data = &num;
		v.mv_size = NUM_SIZE;
		rc = mdb_cursor_get(c, &k, &v, MDB_GET_BOTH);
		mdb_cursor_close(c);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		return cursor_error(t, rc);
	*has = rc == 0;
	return MK_OK;
}

/* LMDB's order of plain keys: bytes, then shorter first. */
static int
mdb_key_cmp(const MDB_val *a, const MDB_val *b)
{
	size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
	int c = n > 0 ? memcmp(a->mv_data, b->mv_data, n) : 0;

	if (c != 0)
		return c;
	return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

enum mk_code
store_search_scan(struct store_txn *t, store_search_fn fn, void *ctx)
{
	MDB_cursor *c[2] = { NULL, NULL };
	MDB_val k[2], v[2];
	enum mk_code code = MK_OK;
	int rc[2], i, cmp, stop = 0;

	if (t == NULL)
		return MK_ERR_INTERNAL;
	for (i = 0; i < 2; i++) {
		if ((code = cursor_open(t, t->s->dbi[search_dbs[i]],
		    &c[i])) != MK_OK)
			goto out;
		rc[i] = mdb_cursor_get(c[i], &k[i], &v[i], MDB_FIRST);
	}
	/* The two tables merged by key; under one key terms' numbers first. */
	while (!stop && (rc[0] == 0 || rc[1] == 0)) {
		if (rc[0] != 0 && rc[0] != MDB_NOTFOUND)
			break;
		if (rc[1] != 0 && rc[1] != MDB_NOTFOUND)
			break;
		if (rc[0] != 0)
			cmp = 1;
		else if (rc[1] != 0)
			cmp = -1;
		else
			cmp = mdb_key_cmp(&k[0], &k[1]);
		for (i = 0; i < 2 && !stop; i++) {
			if ((i == 0 && cmp > 0) || (i == 1 && cmp < 0))
				continue;
			if (search_pages(c[i], &k[i], &v[i], fn, ctx, &rc[i]) == -1) {
				stop = 1;
				break;
			}
			if (rc[i] != MDB_NOTFOUND && rc[i] != 0)
				goto out_rc;
			rc[i] = mdb_cursor_get(c[i], &k[i], &v[i], MDB_NEXT_NODUP);
		}
	}
out_rc:
	for (i = 0; i < 2 && !stop; i++)
		if (rc[i] != 0 && rc[i] != MDB_NOTFOUND) {
			code = cursor_error(t, rc[i]);
			break;
		}
out:
	for (i = 0; i < 2; i++)
		if (c[i] != NULL)
			mdb_cursor_close(c[i]);
	return code;
}

enum mk_code
store_search_entries(struct store_txn *t, size_t *n)
{
	MDB_stat ms;
	size_t sum = 0;
	int rc, i;

	if (t == NULL)
		return MK_ERR_INTERNAL;
	for (i = 0; i < 2; i++) {
		if ((rc = mdb_stat(t->txn, t->s->dbi[search_dbs[i]], &ms)) != 0) {
			log_warnx("store %s: search stat: %s", t->s->dir, mdb_strerror(rc));
			return MK_ERR_INTERNAL;
		}
		sum += ms.ms_entries;
	}
	*n = sum;
	return MK_OK;
}

enum mk_code
store_search_misplaced(struct store_txn *t, size_t *n)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	uint32_t floor, num;
	enum mk_code code;
	int rc, i;

	if (t == NULL)
		return MK_ERR_INTERNAL;
	*n = 0;
	if ((rc = floor_get(t, &floor)) != 0)
		return cursor_error(t, rc);
	/* terms: a key's last number below the floor; terms_new: its first at or above. */
	for (i = 0; i < 2; i++) {
		if ((code = cursor_open(t, t->s->dbi[search_dbs[i]], &c)) != MK_OK)
			return code;
		for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_NODUP)) {
			if (i == 0 && (rc = mdb_cursor_get(c, &k, &v, MDB_LAST_DUP)) != 0)
				break;
			if (v.mv_size != NUM_SIZE)
				continue;
			memcpy(&num, v.mv_data, NUM_SIZE);
			if (above_floor(floor, num) != (search_dbs[i] == DB_TERMS_NEW))
				(*n)++;
		}
		mdb_cursor_close(c);
		if (rc != MDB_NOTFOUND)
			return cursor_error(t, rc);
	}
	return MK_OK;
}

enum mk_code
store_search_clear(struct store_txn *t)
{
	int rc;

	if (check_write(t, "store_search_clear") == -1)
		return MK_ERR_INTERNAL;
	if ((rc = mdb_drop(t->txn, t->s->dbi[DB_TERMS], 0)) != 0 ||
	    (rc = mdb_drop(t->txn, t->s->dbi[DB_TERMS_NEW], 0)) != 0 ||
	    (rc = search_flush(t, 0)) != 0)
		return txn_fail(t, rc, "search clear");
	return store_search_set_ready(t, 0);
}

enum mk_code
store_search_ready(struct store_txn *t, int *ready)
{
	MDB_val k, v;
	int rc;

	if (t == NULL)
		return MK_ERR_INTERNAL;
	k.mv_data = (void *)(uintptr_t)"search";
	k.mv_size = strlen("search");
	rc = mdb_get(t->txn, t->s->dbi[DB_META], &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		log_warnx("store %s: search mark: %s", t->s->dir, mdb_strerror(rc));
		return MK_ERR_INTERNAL;
	}
	*ready = rc == 0 && v.mv_size == strlen(SEARCH_MARK) &&
	    memcmp(v.mv_data, SEARCH_MARK, v.mv_size) == 0;
	return MK_OK;
}

enum mk_code
store_search_set_ready(struct store_txn *t, int ready)
{
	MDB_val k, v;

	if (check_write(t, "store_search_set_ready") == -1)
		return MK_ERR_INTERNAL;
	k.mv_data = (void *)(uintptr_t)"search";
	k.mv_size = strlen("search");
	if (!ready)
		return del_quiet(t, t->s->dbi[DB_META], &k);
	v.mv_data = (void *)(uintptr_t)SEARCH_MARK;
	v.mv_size = strlen(SEARCH_MARK);
	return put_raw(t, t->s->dbi[DB_META], &k, &v, 0);
}

/* ---- Compaction (metakeepctl import; see store.h) ---- */

#define COMPACT_TXN 50000   /* entries per write transaction of the copy */

/* Copy table name of txn st into the copy's dbi, key order, appending. */
static int
compact_table(MDB_env *dst, MDB_txn *stxn, const char *name)
{
	MDB_txn *dtxn = NULL;
	MDB_cursor *sc = NULL, *dc = NULL;
	MDB_dbi sdbi, ddbi;
	MDB_val k, v, prev = { 0, NULL };
	unsigned int flags;
	size_t n = 0;
	int rc, dup;

	if ((rc = mdb_dbi_open(stxn, name, 0, &sdbi)) != 0 ||
	    (rc = mdb_dbi_flags(stxn, sdbi, &flags)) != 0 ||
	    (rc = mdb_txn_begin(dst, NULL, 0, &dtxn)) != 0)
		return rc;
	dup = (flags & MDB_DUPSORT) != 0;
	if ((rc = mdb_dbi_open(dtxn, name, flags | MDB_CREATE, &ddbi)) != 0 ||
	    (rc = mdb_cursor_open(stxn, sdbi, &sc)) != 0 ||
	    (rc = mdb_cursor_open(dtxn, ddbi, &dc)) != 0)
		goto out;
	for (rc = mdb_cursor_get(sc, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(sc, &k, &v, MDB_NEXT)) {
		/*
		 * Appends fill every page (LMDB splits an appended page at its
		 * end); the next duplicate of one key appends to its list.
		 */
		if (dup && prev.mv_data != NULL && prev.mv_size == k.mv_size &&
		    memcmp(prev.mv_data, k.mv_data, k.mv_size) == 0)
			rc = mdb_cursor_put(dc, &k, &v, MDB_APPENDDUP);
		else
			rc = mdb_cursor_put(dc, &k, &v, MDB_APPEND);
		if (rc != 0)
			goto out;
		prev = k;   /* the source's map: stays valid while stxn lives */
		if (++n % COMPACT_TXN == 0) {
			mdb_cursor_close(dc);
			dc = NULL;
			if ((rc = mdb_txn_commit(dtxn)) != 0) {
				dtxn = NULL;
				goto out;
			}
			dtxn = NULL;
			if ((rc = mdb_txn_begin(dst, NULL, 0, &dtxn)) != 0 ||
			    (rc = mdb_cursor_open(dtxn, ddbi, &dc)) != 0)
				goto out;
		}
	}
	if (rc == MDB_NOTFOUND) {
		mdb_cursor_close(dc);
		dc = NULL;
		rc = mdb_txn_commit(dtxn);
		dtxn = NULL;
	}
out:
	if (sc != NULL)
		mdb_cursor_close(sc);
	if (dc != NULL)
		mdb_cursor_close(dc);
	if (dtxn != NULL)
		mdb_txn_abort(dtxn);
	return rc;
}

/* Copy every table of the environment in dir into a new one in tmp. */
static int
compact_copy(const char *dir, const char *tmp, const struct stat *st)
{
	MDB_env *src = NULL, *dst = NULL;
	MDB_txn *stxn = NULL;
	MDB_cursor *c = NULL;
	MDB_dbi main;
	MDB_val k, v;
	MDB_envinfo info;
	char name[256];
	size_t map;
	int rc;

	/* The map must hold the file; the copy is never larger. */
	map = (size_t)st->st_size + ((size_t)64 << 20);
	if ((rc = mdb_env_create(&src)) != 0 ||
	    (rc = mdb_env_set_maxdbs(src, STORE_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(src, map)) != 0 ||
	    (rc = mdb_env_open(src, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0600)) != 0)
		goto out;
	if ((rc = mdb_env_info(src, &info)) != 0)
		goto out;
	if ((rc = mdb_env_create(&dst)) != 0 ||
	    (rc = mdb_env_set_maxdbs(dst, STORE_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(dst, info.me_mapsize > map ? info.me_mapsize : map)) != 0 ||
	    (rc = mdb_env_open(dst, tmp, MDB_NOLOCK | MDB_NOSYNC,
	    st->st_mode & 0777)) != 0)
		goto out;
	if ((rc = mdb_txn_begin(src, NULL, MDB_RDONLY, &stxn)) != 0 ||
	    (rc = mdb_dbi_open(stxn, NULL, 0, &main)) != 0 ||
	    (rc = mdb_cursor_open(stxn, main, &c)) != 0)
		goto out;
	/* The main table's keys are the names of the tables. */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size >= sizeof(name)) {
			rc = MDB_INCOMPATIBLE;
			break;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if ((rc = compact_table(dst, stxn, name)) != 0)
			break;
	}
	if (rc == MDB_NOTFOUND)
		rc = mdb_env_sync(dst, 1);
out:
	if (c != NULL)
		mdb_cursor_close(c);
	if (stxn != NULL)
		mdb_txn_abort(stxn);
	if (dst != NULL)
		mdb_env_close(dst);
	if (src != NULL)
		mdb_env_close(src);
	return rc;
}

enum mk_code
store_compact(const char *dir, size_t *before, size_t *after, struct mk_err *err)
{
	char lockp[PATH_MAX], datap[PATH_MAX], tmp[PATH_MAX], tmpdata[PATH_MAX];
	struct flock fl;
	struct stat st, st2;
	enum mk_code code = MK_ERR_INTERNAL;
	int lfd = -1, dfd = -1, rc;

	if ((size_t)snprintf(lockp, sizeof(lockp), "%s/lock.mdb", dir) >= sizeof(lockp) ||
	    (size_t)snprintf(datap, sizeof(datap), "%s/data.mdb", dir) >= sizeof(datap) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/compact.tmp", dir) >= sizeof(tmp) ||
	    (size_t)snprintf(tmpdata, sizeof(tmpdata), "%s/data.mdb", tmp) >= sizeof(tmpdata))
		return mk_fail(err, MK_ERR_INTERNAL, "store %s: path too long", dir);
	if ((lfd = open(lockp, O_RDWR | O_CLOEXEC)) == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: %s: %s", dir, lockp, strerror(errno));
		goto out;
	}
	/*
	 * Every process with the environment open holds LMDB's read lock on
	 * the lock file's first byte.  An open-file-description write lock
	 * there is granted only when no process (this one included: its
	 * handle must be closed) has it open, and while it is held a process
	 * that opens the environment waits in LMDB's open.
	 */
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	if (fcntl(lfd, F_OFD_SETLK, &fl) == -1) {
		if (errno == EAGAIN || errno == EACCES)
			code = mk_fail(err, MK_ERR_EXISTS, "store %s: open in another process; "
			    "not compacted", dir);
		else
			mk_fail(err, MK_ERR_INTERNAL, "store %s: locking: %s", dir, strerror(errno));
		goto out;
	}
	if (stat(datap, &st) == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: %s", datap, strerror(errno));
		goto out;
	}
	/* A copy left by an interrupted compaction is only in the way. */
	unlink(tmpdata);
	rmdir(tmp);
	if (mkdir(tmp, 0700) == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: %s: %s", dir, tmp, strerror(errno));
		goto out;
	}
	if ((rc = compact_copy(dir, tmp, &st)) != 0) {
		code = mk_fail(err, rc == MDB_MAP_FULL || rc == ENOSPC ? MK_ERR_FULL :
		    MK_ERR_INTERNAL, "store %s: compacting copy: %s", dir, mdb_strerror(rc));
		goto cleanup;
	}
	if (chown(tmpdata, st.st_uid, st.st_gid) == -1 && errno != EPERM) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: %s", tmpdata, strerror(errno));
		goto cleanup;
	}
	if (stat(tmpdata, &st2) == -1 || st2.st_uid != st.st_uid || st2.st_gid != st.st_gid ||
	    chmod(tmpdata, st.st_mode & 0777) == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: the copy cannot get the owner and "
		    "mode of data.mdb", dir);
		goto cleanup;
	}
	if (rename(tmpdata, datap) == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "store %s: rename: %s", dir, strerror(errno));
		goto cleanup;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	/*
	 * The lock file describes the old data file.  The next process to
	 * open the environment alone rebuilds it; one already waiting in
	 * LMDB's open finds it empty and fails (rather than trust it).
	 */
	if (ftruncate(lfd, 0) == -1)
		log_warn("store %s: emptying the lock file", dir);
	if (before != NULL)
		*before = (size_t)st.st_size;
	if (after != NULL)
		*after = (size_t)st2.st_size;
	code = MK_OK;
cleanup:
	unlink(tmpdata);
	rmdir(tmp);
out:
	if (lfd != -1)
		close(lfd);
	return code;
}

/*
 * ---- Event log (used by logev) ----
 *
 * "logs": the event's number, 8 bytes big-endian (so keys sort by number)
 * -> date (int64 ms, native order), the length of the user_id (uint16),
 * the user_id, then the event's bytes.  "logs_user": user_id '\0' number
 * (8 bytes big-endian) -> "", for the events of one user.  meta "nextlog":
 * the next number (8 bytes), counted up in the writer's transaction, so
 * numbers are unique and follow the order of commits.
 */
#define LOG_HDR (sizeof(int64_t) + sizeof(uint16_t))

static void
be64(uint64_t v, unsigned char out[8])
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
unbe64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* A log value's parts; -1 when it is too short to be one. */
static int
log_split(const MDB_val *v, int64_t *date, MDB_val *uid, struct mk_slice *ev)
{
	uint16_t n;

	if (v->mv_size < LOG_HDR)
		return -1;
	memcpy(date, v->mv_data, sizeof(*date));
	memcpy(&n, (const char *)v->mv_data + sizeof(int64_t), sizeof(n));
	if (v->mv_size < LOG_HDR + n)
		return -1;
	uid->mv_data = (char *)v->mv_data + LOG_HDR;
	uid->mv_size = n;
	ev->p = (const char *)v->mv_data + LOG_HDR + n;
	ev->n = v->mv_size - LOG_HDR - n;
	return 0;
}

enum mk_code
store_log_next(struct store_txn *t, uint64_t *seq)
{
	MDB_val k, v;
	uint64_t num = 1, next;
	int rc;

	if (t == NULL || !t->write)
		return MK_ERR_INTERNAL;
	k.mv_data = (void *)(uintptr_t)"nextlog";
	k.mv_size = strlen("nextlog");
	rc = mdb_get(t->txn, t->s->dbi[DB_META], &k, &v);
	if (rc == 0 && v.mv_size == sizeof(num))
		memcpy(&num, v.mv_data, sizeof(num));
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return txn_fail(t, rc, "nextlog");
	next = num + 1;
	v.mv_data = &next;
	v.mv_size = sizeof(next);
	if ((rc = mdb_put(t->txn, t->s->dbi[DB_META], &k, &v, 0)) != 0)
		return txn_fail(t, rc, "nextlog");
	*seq = num;
	return MK_OK;
}

/* The logs_user key of (uid, seq) into buf, k its bytes; -1 when too long to index. */
static int
log_user_key(struct store *s, char buf[STORE_KEYMAX + 1], struct mk_slice uid,
    uint64_t seq, MDB_val *k)
{
	if (uid.n == 0 || uid.n + 1 + 8 > s->keymax)
		return -1;
	memcpy(buf, uid.p, uid.n);
	buf[uid.n] = '\0';
	be64(seq, (unsigned char *)buf + uid.n + 1);
	k->mv_data = buf;
	k->mv_size = uid.n + 1 + 8;
	return 0;
}

enum mk_code
store_log_put(struct store_txn *t, uint64_t seq, int64_t date_ms, const char *user_id,
    struct mk_slice ev)
{
	unsigned char kb[8];
	char ub[STORE_KEYMAX + 1];
	MDB_val k, v, uk;
	size_t un = user_id != NULL ? strlen(user_id) : 0;
	uint16_t n16;
	enum mk_code code;
	char *p;

	if (t == NULL || !t->write || un > UINT16_MAX)
		return MK_ERR_INTERNAL;
	if ((p = malloc(LOG_HDR + un + ev.n)) == NULL)
		return MK_ERR_NOMEM;
	n16 = (uint16_t)un;
	memcpy(p, &date_ms, sizeof(date_ms));
	memcpy(p + sizeof(date_ms), &n16, sizeof(n16));
	if (un > 0)
		memcpy(p + LOG_HDR, user_id, un);
	memcpy(p + LOG_HDR + un, ev.p, ev.n);
	be64(seq, kb);
	k.mv_data = kb;
	k.mv_size = sizeof(kb);
	v.mv_data = p;
	v.mv_size = LOG_HDR + un + ev.n;
	code = put_raw(t, t->s->dbi[DB_LOGS], &k, &v, MDB_APPEND);
	if (code == MK_ERR_EXISTS || code == MK_ERR_INVALID)
		/* not above the last key (a number given twice): refuse, do not reorder */
		code = MK_ERR_INTERNAL;
	free(p);
	if (code != MK_OK || un == 0 ||
	    log_user_key(t->s, ub, (struct mk_slice){ user_id, un }, seq, &uk) == -1)
		return code;
	v.mv_data = (void *)(uintptr_t)"";
	v.mv_size = 0;
	return put_raw(t, t->s->dbi[DB_LOGS_USER], &uk, &v, 0);
}

enum mk_code
store_log_get(struct store_txn *t, uint64_t seq, struct mk_slice *ev)
{
	unsigned char kb[8];
	MDB_val k, v, uid;
	int64_t date;
	int rc;

	if (t == NULL)
		return MK_ERR_INTERNAL;
	if (t->s->no_logs)
		return MK_ERR_NOTFOUND;
	be64(seq, kb);
	k.mv_data = kb;
	k.mv_size = sizeof(kb);
	rc = mdb_get(t->txn, t->s->dbi[DB_LOGS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return MK_ERR_NOTFOUND;
	if (rc != 0)
		return cursor_error(t, rc);
	if (log_split(&v, &date, &uid, ev) == -1)
		return MK_ERR_INTERNAL;
	return MK_OK;
}

/* Visit the log entry under cursor position (k, v); the visitor's answer. */
static int
log_visit(const MDB_val *k, const MDB_val *v, store_log_fn fn, void *ctx)
{
	struct mk_slice ev;
	MDB_val uid;
	int64_t date;

	if (k->mv_size != 8 || log_split(v, &date, &uid, &ev) == -1)
		return 0;    /* not one of ours: skipped */
	return fn(ctx, unbe64(k->mv_data), ev);
}

/* store_log_scan of every event. */
static enum mk_code
log_scan_all(struct store_txn *t, const struct store_log_range *r, store_log_fn fn,
    void *ctx)
{
	unsigned char kb[8];
	uint64_t from = r->from;
	int desc = r->desc;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	enum mk_code code;
	int rc;

	if (t->s->no_logs)
		return MK_OK;
	if ((code = cursor_open(t, t->s->dbi[DB_LOGS], &c)) != MK_OK)
		return code;
	if (!desc) {
		if (from == UINT64_MAX)
			goto done;
		be64(from + 1, kb);
		k.mv_data = kb;
		k.mv_size = 8;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	} else {
		be64(from, kb);
		k.mv_data = kb;
		k.mv_size = 8;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		/* the first key >= from, or none: step back to the last one below */
		rc = rc == MDB_NOTFOUND ? mdb_cursor_get(c, &k, &v, MDB_LAST) :
		    rc == 0 ? mdb_cursor_get(c, &k, &v, MDB_PREV) : rc;
		if (rc == 0 && k.mv_size == 8 && unbe64(k.mv_data) >= from)
			rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	}
	while (rc == 0) {
		if (log_visit(&k, &v, fn, ctx) != 0)
			goto done;
		rc = mdb_cursor_get(c, &k, &v, desc ? MDB_PREV : MDB_NEXT);
	}
	if (rc != MDB_NOTFOUND) {
		code = cursor_error(t, rc);
		mdb_cursor_close(c);
		return code;
	}
done:
	mdb_cursor_close(c);
	return MK_OK;
}

/* store_log_scan of r->user_id's events (the logs_user index). */
static enum mk_code
log_scan_user(struct store_txn *t, const struct store_log_range *r, store_log_fn fn,
    void *ctx)
{
	char ub[STORE_KEYMAX + 1];
	unsigned char kb[8];
	const char *user_id = r->user_id;
	size_t un = strlen(user_id);
	uint64_t from = r->from;
	int desc = r->desc;
	MDB_cursor *c = NULL;
	MDB_val k, v, lk, lv;
	enum mk_code code = MK_OK;
	uint64_t seq;
	int rc;

	if (t->s->no_logs || log_user_key(t->s, ub, (struct mk_slice){ user_id, un },
	    desc ? from : from + 1, &k) == -1 || (!desc && from == UINT64_MAX))
		return MK_OK;
	if ((code = cursor_open(t, t->s->dbi[DB_LOGS_USER], &c)) != MK_OK)
		return code;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (desc) {
		rc = rc == MDB_NOTFOUND ? mdb_cursor_get(c, &k, &v, MDB_LAST) :
		    rc == 0 ? mdb_cursor_get(c, &k, &v, MDB_PREV) : rc;
		/* SET_RANGE found a key >= (user, from): the one before is below it */
	}
	while (rc == 0) {
		if (k.mv_size != un + 1 + 8 || memcmp(k.mv_data, user_id, un) != 0 ||
		    ((const char *)k.mv_data)[un] != '\0')
			break;     /* past this user's entries */
		seq = unbe64((const unsigned char *)k.mv_data + un + 1);
		if (desc ? seq < from : seq > from) {
			be64(seq, kb);
			lk.mv_data = kb;
			lk.mv_size = 8;
			rc = mdb_get(t->txn, t->s->dbi[DB_LOGS], &lk, &lv);
			if (rc == 0 && log_visit(&lk, &lv, fn, ctx) != 0)
				break;
			if (rc != 0 && rc != MDB_NOTFOUND) {
				code = cursor_error(t, rc);
				break;
			}
		}
		rc = mdb_cursor_get(c, &k, &v, desc ? MDB_PREV : MDB_NEXT);
		if (rc == MDB_NOTFOUND)
			break;
		if (rc != 0)
			code = cursor_error(t, rc);
	}
	if (rc != 0 && rc != MDB_NOTFOUND && code == MK_OK)
		code = cursor_error(t, rc);
	mdb_cursor_close(c);
	return code;
}

enum mk_code
store_log_scan(struct store_txn *t, const struct store_log_range *r, store_log_fn fn,
    void *ctx)
{
	if (t == NULL || r == NULL)
		return MK_ERR_INTERNAL;
	return r->user_id != NULL ? log_scan_user(t, r, fn, ctx) : log_scan_all(t, r, fn, ctx);
}

enum mk_code
store_log_count(struct store_txn *t, size_t *n)
{
	MDB_stat st;
	int rc;

	*n = 0;
	if (t == NULL)
		return MK_ERR_INTERNAL;
	if (t->s->no_logs)
		return MK_OK;
	if ((rc = mdb_stat(t->txn, t->s->dbi[DB_LOGS], &st)) != 0)
		return cursor_error(t, rc);
	*n = st.ms_entries;
	return MK_OK;
}

enum mk_code
store_log_oldest(struct store_txn *t, uint64_t *seq, int64_t *date_ms)
{
	MDB_cursor *c = NULL;
	MDB_val k, v, uid;
	struct mk_slice ev;
	enum mk_code code;
	int rc;

	if (t == NULL)
		return MK_ERR_INTERNAL;
	if (t->s->no_logs)
		return MK_ERR_NOTFOUND;
	if ((code = cursor_open(t, t->s->dbi[DB_LOGS], &c)) != MK_OK)
		return code;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	if (rc == 0 && (k.mv_size != 8 || log_split(&v, date_ms, &uid, &ev) == -1))
		*date_ms = INT64_MIN;
	if (rc == 0)
		*seq = unbe64(k.mv_data);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return MK_ERR_NOTFOUND;
	return rc == 0 ? MK_OK : cursor_error(t, rc);
}

enum mk_code
store_log_prune(struct store_txn *t, int64_t before_ms, size_t keep, size_t max,
    size_t *deleted)
{
	char ub[STORE_KEYMAX + 1];
	MDB_cursor *c = NULL;
	MDB_val k, v, uid, uk;
	struct mk_slice ev;
	size_t n, done = 0;
	int64_t date;
	enum mk_code code;
	int rc;

	if (deleted != NULL)
		*deleted = 0;
	if (t == NULL || !t->write)
		return MK_ERR_INTERNAL;
	if ((code = store_log_count(t, &n)) != MK_OK ||
	    (code = cursor_open(t, t->s->dbi[DB_LOGS], &c)) != MK_OK)
		return code;
	while (done < max && (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
		if (log_split(&v, &date, &uid, &ev) == -1)
			date = INT64_MIN;     /* unreadable: the first to go */
		if (n - done <= keep && date >= before_ms)
			break;
		if (date != INT64_MIN && uid.mv_size > 0 && k.mv_size == 8 &&
		    log_user_key(t->s, ub, (struct mk_slice){ uid.mv_data, uid.mv_size },
		    unbe64(k.mv_data), &uk) == 0 &&
		    (code = del_quiet(t, t->s->dbi[DB_LOGS_USER], &uk)) != MK_OK)
			goto out;
		if ((rc = mdb_cursor_del(c, 0)) != 0) {
			code = txn_fail(t, rc, "log prune");
			goto out;
		}
		done++;
	}
	code = MK_OK;
out:
	mdb_cursor_close(c);
	if (deleted != NULL)
		*deleted = done;
	return code;
}

/* ---- Bulk load of new users ---- */

int
store_user_keys_fit(const struct store *s, const struct store_user_keys *k)
{
	char buf[STORE_KEYMAX + 1];
	MDB_val v;

	return user_keys_ok(k) && strlen(k->user_id) <= s->keymax &&
	    key2((struct store *)(uintptr_t)s, buf, email_or_empty(k->email),
	    k->user_id, &v) == 0 &&
	    okey_make((struct store *)(uintptr_t)s, buf, k->created_at, k->user_id, 0,
	    &v) == 0 &&
	    okey_make((struct store *)(uintptr_t)s, buf, k->updated_at, NULL, 0, &v) == 0;
}

/* The order of one table's keys: the id alone, or the email before it. */
enum bulk_order { BULK_ID, BULK_EMAIL };

struct bulk_sort {
	const struct store_user_new *v;
	int order;
};

/* "email '\0' id" in byte order is email's strcmp order, then id's. */
static int
bulk_sort_cmp(const void *va, const void *vb, void *arg)
{
	const struct bulk_sort *bs = arg;
	const struct store_user_new *a = &bs->v[*(const uint32_t *)va];
	const struct store_user_new *b = &bs->v[*(const uint32_t *)vb];
	int c;

	if (bs->order == BULK_EMAIL &&
	    (c = strcmp(email_or_empty(a->k.email), email_or_empty(b->k.email))) != 0)
		return c;
	return strcmp(a->k.user_id, b->k.user_id);
}

/* Keys made in one block: key i is keys[off[i] .. off[i + 1]). */
struct bulk_okeys {
	const char *keys;
	const size_t *off;
};

/* LMDB's default order: bytes, then the shorter first. */
static int
bulk_okey_cmp(const void *va, const void *vb, void *arg)
{
	const struct bulk_okeys *o = arg;
	uint32_t a = *(const uint32_t *)va, b = *(const uint32_t *)vb;
	size_t na = o->off[a + 1] - o->off[a], nb = o->off[b + 1] - o->off[b];
	int c;

	c = memcmp(o->keys + o->off[a], o->keys + o->off[b], na < nb ? na : nb);
	if (c != 0)
		return c;
	return na < nb ? -1 : na > nb;
}

/*
 * Put (k, v) at the end of the table with cursor c; a key that is not past
 * the last one (the table held entries of its own) goes in its place.
 */
static int
bulk_put(MDB_cursor *c, MDB_val *k, MDB_val *v, unsigned int flags)
{
	int rc;

	rc = mdb_cursor_put(c, k, v, flags | MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = mdb_cursor_put(c, k, v, flags);
	return rc;
}

enum mk_code
store_users_bulk(struct store_txn *t, const struct store_user_new *v, size_t n,
    uint32_t first)
{
	struct bulk_sort bs;
	struct bulk_okeys oks;
	char *okeys = NULL;
	size_t *ooff = NULL, ocap = 0;
	MDB_cursor *c = NULL;
	MDB_stat st;
	MDB_val k, d;
	char buf[STORE_KEYMAX + 1];
	uint32_t *ix = NULL, next, num;
	enum mk_code code = MK_OK;
	size_t i;
	int rc = 0, x;

	if (check_write(t, "store_users_bulk") == -1)
		return MK_ERR_INTERNAL;
	if ((code = store_user_num_limit(t, &next)) != MK_OK)
		return code;
	if ((rc = mdb_stat(t->txn, t->s->dbi[DB_USERS], &st)) != 0)
		return txn_fail(t, rc, "stat");
	if (st.ms_entries != 0 || next != first)
		return MK_ERR_BUSY;
	if (n == 0)
		return MK_OK;
	if (n > UINT32_MAX - 1 || (size_t)first + n >= UINT32_MAX)
		return MK_ERR_FULL;
	for (i = 0; i < n; i++)
		if (!store_user_keys_fit(t->s, &v[i].k))
			return MK_ERR_INVALID;
	if ((ix = malloc(n * sizeof(*ix))) == NULL ||
	    (ooff = malloc((n + 1) * sizeof(*ooff))) == NULL) {
		free(ix);
		return MK_ERR_NOMEM;
	}
	bs.v = v;

	/* users (by id, with their numbers) and pwhash, in the same order. */
	for (i = 0; i < n; i++)
		ix[i] = (uint32_t)i;
	bs.order = BULK_ID;
	qsort_r(ix, n, sizeof(*ix), bulk_sort_cmp, &bs);
	for (i = 1; i < n; i++)
		if (strcmp(v[ix[i - 1]].k.user_id, v[ix[i]].k.user_id) == 0) {
			log_warnx("store: store_users_bulk given user_id %s twice",
			    v[ix[i]].k.user_id);
			code = MK_ERR_INTERNAL;
			goto out;
		}
	if ((code = cursor_open(t, t->s->dbi[DB_USERS], &c)) != MK_OK)
		goto out;
	for (i = 0; i < n && rc == 0; i++) {
		const struct store_user_new *u = &v[ix[i]];

		k.mv_data = (void *)(uintptr_t)u->k.user_id;
		k.mv_size = strlen(u->k.user_id);
		d.mv_data = NULL;
		d.mv_size = NUM_SIZE + u->rec.n;
		if ((rc = mdb_cursor_put(c, &k, &d, MDB_RESERVE | MDB_APPEND)) != 0)
			break;
		num = first + ix[i];
		memcpy(d.mv_data, &num, NUM_SIZE);
		if (u->rec.n > 0)
			memcpy((char *)d.mv_data + NUM_SIZE, u->rec.p, u->rec.n);
	}
	mdb_cursor_close(c);
	c = NULL;
	if (rc != 0)
		goto fail;
	if ((code = cursor_open(t, t->s->dbi[DB_PWHASH], &c)) != MK_OK)
		goto out;
	for (i = 0; i < n && rc == 0; i++) {
		const struct store_user_new *u = &v[ix[i]];

		if (u->pwhash == NULL)
			continue;
		k.mv_data = (void *)(uintptr_t)u->k.user_id;
		k.mv_size = strlen(u->k.user_id);
		d.mv_data = (void *)(uintptr_t)u->pwhash;
		d.mv_size = strlen(u->pwhash);
		rc = bulk_put(c, &k, &d, 0);
	}
	mdb_cursor_close(c);
	c = NULL;
	if (rc != 0)
		goto fail;

	/* user_nums: the numbers in v's order, past every one given. */
	if ((code = cursor_open(t, t->s->dbi[DB_NUMS], &c)) != MK_OK)
		goto out;
	for (i = 0; i < n && rc == 0; i++) {
		num = first + (uint32_t)i;
		k.mv_data = &num;
		k.mv_size = NUM_SIZE;
		d.mv_data = (void *)(uintptr_t)v[i].k.user_id;
		d.mv_size = strlen(v[i].k.user_id);
		rc = bulk_put(c, &k, &d, 0);
	}
	mdb_cursor_close(c);
	c = NULL;
	if (rc != 0)
		goto fail;

	/* users_email: "email '\0' user_id" -> connection (email_val_make's
	 * value), in that order. */
	for (i = 0; i < n; i++)
		ix[i] = (uint32_t)i;
	bs.order = BULK_EMAIL;
	qsort_r(ix, n, sizeof(*ix), bulk_sort_cmp, &bs);
	/* The common connection (schema 4: its entries' values are empty) is
	 * the first user's in file order, as batches of the same file make it. */
	if ((rc = email_val_make(t->s, t->txn, 1, v[0].k.connection, &d)) != 0)
		goto fail;
	if ((code = cursor_open(t, t->s->dbi[DB_USERS_EMAIL], &c)) != MK_OK)
		goto out;
	for (i = 0; i < n && rc == 0; i++) {
		const struct store_user_new *u = &v[ix[i]];

		if (key2(t->s, buf, email_or_empty(u->k.email), u->k.user_id, &k) == -1) {
			rc = MDB_BAD_VALSIZE;
			break;
		}
		if ((rc = email_val_make(t->s, t->txn, 1, u->k.connection, &d)) != 0)
			break;
		rc = bulk_put(c, &k, &d, 0);
	}
	mdb_cursor_close(c);
	c = NULL;
	if (rc != 0)
		goto fail;

	/* users_created, users_updated: packed time and number (okey_make),
	 * made once into okeys and sorted as LMDB compares them. */
	for (x = 0; x < 2; x++) {
		size_t off = 0;

		for (i = 0; i < n; i++) {
			const char *tv = x == 0 ? v[i].k.created_at : v[i].k.updated_at;

			if (okey_make(t->s, buf, tv, x == 0 ? v[i].k.user_id : NULL,
			    first + (uint32_t)i, &k) == -1) {
				rc = MDB_BAD_VALSIZE;
				goto fail;
			}
			if (ocap - off < k.mv_size) {
				size_t nc = ocap ? ocap * 2 : n * 12 + 4096;
				char *no;

				while (nc - off < k.mv_size)
					nc *= 2;
				if ((no = realloc(okeys, nc)) == NULL) {
					code = MK_ERR_NOMEM;
					goto out;
				}
				okeys = no;
				ocap = nc;
			}
			memcpy(okeys + off, k.mv_data, k.mv_size);
			ooff[i] = off;
			off += k.mv_size;
		}
		ooff[n] = off;
		for (i = 0; i < n; i++)
			ix[i] = (uint32_t)i;
		oks.keys = okeys;
		oks.off = ooff;
		qsort_r(ix, n, sizeof(*ix), bulk_okey_cmp, &oks);
		if ((code = cursor_open(t, t->s->dbi[x == 0 ? DB_USERS_CREATED :
		    DB_USERS_UPDATED], &c)) != MK_OK)
			goto out;
		for (i = 0; i < n && rc == 0; i++) {
			k.mv_data = okeys + ooff[ix[i]];
			k.mv_size = ooff[ix[i] + 1] - ooff[ix[i]];
			d.mv_data = (void *)(uintptr_t)"";
			d.mv_size = 0;
			rc = bulk_put(c, &k, &d, 0);
		}
		mdb_cursor_close(c);
		c = NULL;
		if (rc != 0)
			goto fail;
	}

	/* The counter: the next number after the last given. */
	next = first + (uint32_t)n;
	k.mv_data = (void *)(uintptr_t)"nextnum";
	k.mv_size = strlen("nextnum");
	d.mv_data = &next;
	d.mv_size = NUM_SIZE;
	if ((rc = mdb_put(t->txn, t->s->dbi[DB_META], &k, &d, 0)) != 0)
		goto fail;
	code = MK_OK;
	goto out;
fail:
	code = txn_fail(t, rc, "bulk put");
out:
	free(ix);
	free(ooff);
	free(okeys);
	return code;
}

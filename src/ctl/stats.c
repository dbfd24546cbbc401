/*
 * stats: metakeepctl stats [--json]: the counts of records, the sizes of
 * the file and of each table, map use, reader slots and the last
 * transaction id (store_stat), as text or one JSON object.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "err.h"
#include "store.h"
#include "util.h"
#include "ctl/ctl.h"

static int stats_json_flag;

static const struct ctl_opt stats_opts[] = {
	{ 'j', "json", NULL, &stats_json_flag, NULL, CTL_NONE,
	    "one JSON object instead of text" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

const struct ctl_spec stats_spec = {
	stats_opts, 0, NULL, NULL, NULL, NULL,
};

/*
 * The most the data may grow to: the configured cap, or (no cap) the data
 * file plus what its filesystem has free.  0 when neither is known.
 */
static size_t
stats_limit(const struct store_stats *st, long long file)
{
	if (st->map_limit != 0)
		return st->map_limit;
	return st->disk_avail + (size_t)(file > 0 ? file : 0);
}

/* Past this share of the limit, stats warns (on stderr; exit status 0). */
#define STATS_WARN_PCT 80

static size_t
table_entries(const struct store_stats *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->ntables; i++)
		if (strcmp(st->tables[i].name, name) == 0)
			return st->tables[i].entries;
	return 0;
}

static int
stats_json(const struct ctl *ctl, const struct store_stats *st, long long file)
{
	struct json_object *o = NULL, *tabs = NULL, *t = NULL;
	size_t i;
	int rc = -1;

#define ADD(obj, k, v) do { \
	struct json_object *v_ = (v); \
	if (v_ == NULL || json_object_object_add((obj), (k), v_) != 0) { \
		json_object_put(v_); \
		goto out; \
	} \
} while (0)
	if ((o = json_object_new_object()) == NULL)
		goto out;
	ADD(o, "database", json_object_new_string(ctl->conf.db_dir));
	ADD(o, "users", json_object_new_int64((int64_t)table_entries(st, "users")));
	ADD(o, "clients", json_object_new_int64((int64_t)table_entries(st, "clients")));
	ADD(o, "tokens", json_object_new_int64((int64_t)table_entries(st, "tokens")));
	ADD(o, "password_hashes", json_object_new_int64((int64_t)table_entries(st, "pwhash")));
	ADD(o, "file_bytes", json_object_new_int64(file));
	ADD(o, "map_bytes", json_object_new_int64((int64_t)st->map_size));
	ADD(o, "map_used_bytes", json_object_new_int64((int64_t)st->map_used));
	ADD(o, "limit_bytes", json_object_new_int64((int64_t)stats_limit(st, file)));
	ADD(o, "limit_setting", st->limit_key != NULL ?
	    json_object_new_string(st->limit_key) : json_object_new_string("disk"));
	ADD(o, "page_size", json_object_new_int64((int64_t)st->page_size));
	ADD(o, "free_pages", json_object_new_int64((int64_t)st->free_pages));
	ADD(o, "last_txn_id", json_object_new_int64((int64_t)st->last_txnid));
	ADD(o, "max_readers", json_object_new_int64(st->max_readers));
	ADD(o, "reader_slots", json_object_new_int64(st->reader_slots));
	ADD(o, "readers_active", json_object_new_int64(st->readers_active));
	if ((tabs = json_object_new_object()) == NULL)
		goto out;
	for (i = 0; i < st->ntables; i++) {
		if ((t = json_object_new_object()) == NULL)
			goto out;
		ADD(t, "entries", json_object_new_int64((int64_t)st->tables[i].entries));
		ADD(t, "depth", json_object_new_int64(st->tables[i].depth));
		ADD(t, "pages", json_object_new_int64((int64_t)st->tables[i].pages));
		ADD(t, "overflow_pages",
		    json_object_new_int64((int64_t)st->tables[i].overflow_pages));
		ADD(t, "bytes", json_object_new_int64((int64_t)(st->tables[i].pages *
		    st->page_size)));
		ADD(tabs, st->tables[i].name, t);
		t = NULL;
	}
	ADD(o, "tables", tabs);
	tabs = NULL;
#undef ADD
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = 0;
out:
	json_object_put(t);
	json_object_put(tabs);
	json_object_put(o);
	return rc;
}

static void
stats_text(const struct ctl *ctl, const struct store_stats *st, long long file)
{
	char a[32], b[32];
	size_t i;

	printf("database:         %s\n", ctl->conf.db_dir);
	printf("users:            %zu\n", table_entries(st, "users"));
	printf("clients:          %zu\n", table_entries(st, "clients"));
	printf("tokens:           %zu\n", table_entries(st, "tokens"));
	printf("password hashes:  %zu\n", table_entries(st, "pwhash"));
	printf("data file:        %lld bytes (%s)\n", file, mk_human_bytes(a, sizeof(a), (double)file));
	printf("map:              %s used of %s mapped\n",
	    mk_human_bytes(a, sizeof(a), (double)st->map_used),
	    mk_human_bytes(b, sizeof(b), (double)st->map_size));
	printf("limit:            %s (%s)\n",
	    mk_human_bytes(a, sizeof(a), (double)stats_limit(st, file)),
	    st->limit_key != NULL ? st->limit_key : "the filesystem's free space");
	printf("page size:        %zu\n", st->page_size);
	printf("free pages:       %zu\n", st->free_pages);
	printf("last txn id:      %zu\n", st->last_txnid);
	printf("readers:          %u slots held, %u in a transaction, %u at most\n",
	    st->reader_slots, st->readers_active, st->max_readers);
	printf("\n%-16s %10s %6s %8s %12s\n", "TABLE", "ENTRIES", "DEPTH", "PAGES", "BYTES");
	for (i = 0; i < st->ntables; i++)
		printf("%-16s %10zu %6u %8zu %12zu\n", st->tables[i].name,
		    st->tables[i].entries, st->tables[i].depth, st->tables[i].pages,
		    st->tables[i].pages * st->page_size);
}

int
cmd_stats(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	struct store_stats st;
	struct mk_err err;
	struct stat fst;
	char path[4200];
	long long file = -1;
	size_t limit;

	(void)self;
	(void)operands;
	memset(&err, 0, sizeof(err));
	if (store_stat(ctl->store, &st, &err) != MK_OK) {
		ctl_errx("stats: %s", err.msg);
		return CTL_FAIL;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", ctl->conf.db_dir);
	if (stat(path, &fst) == 0)
		file = (long long)fst.st_size;
	limit = stats_limit(&st, file);
	if (limit > 0 && st.map_used > limit / 100 * STATS_WARN_PCT) {
		char u[32], l[32];

		ctl_errx("warning: the database uses %s, over %d%% of its %s limit "
		    "(%s): %s", mk_human_bytes(u, sizeof(u), (double)st.map_used),
		    STATS_WARN_PCT, mk_human_bytes(l, sizeof(l), (double)limit),
		    st.limit_key != NULL ? st.limit_key : "free disk space",
		    st.limit_key != NULL ? "raise it in the configuration" :
		    "free space on its filesystem");
	}
	if (stats_json_flag) {
		if (stats_json(ctl, &st, file) != 0) {
			ctl_errx("stats: out of memory");
			return CTL_FAIL;
		}
	} else
		stats_text(ctl, &st, file);
	return flush_stdout() == 0 ? CTL_OK : CTL_FAIL;
}

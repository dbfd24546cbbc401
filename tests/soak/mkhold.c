/*
 * mkhold: hold a transaction open in a metakeep store until killed, to test
 * what the service does about a process that dies inside one.
 *
 *   mkhold DIR read    begin a read transaction (it takes a reader slot
 *                      and pins the snapshot), print "held", wait
 *   mkhold DIR write   inside store_write, put a user "auth0|half-done"
 *                      with all its index entries, print "held", wait:
 *                      killed there, the write must leave nothing behind
 *
 * It waits in pause() for the signal that kills it (the test sends
 * SIGKILL), and exits 1 after 120 s so a broken test cannot leave it.
 * Exit status 2 on bad usage or when the store does not open.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "store.h"

#define HALF_ID "auth0|half-done"

static void
hold(void)
{
	printf("held\n");
	fflush(stdout);
	alarm(120);
	for (;;)
		pause();
}

static enum mk_code
half_write(struct store_txn *t, void *ctx, struct mk_err *err)
{
	static const char rec[] = "{\"user_id\":\"" HALF_ID "\",\"email\":\"half@done.example\"}";
	struct store_user_keys k;
	struct mk_slice r = { rec, sizeof(rec) - 1 };

	(void)ctx;
	(void)err;
	memset(&k, 0, sizeof(k));
	k.user_id = HALF_ID;
	k.email = "half@done.example";
	k.connection = "Username-Password-Authentication";
	k.created_at = "2000-01-01T00:00:00.000Z";
	k.updated_at = "2000-01-01T00:00:00.000Z";
	if (store_user_put(t, NULL, &k, r) != MK_OK) {
		fprintf(stderr, "mkhold: store_user_put failed\n");
		exit(2);
	}
	hold();
	return MK_OK;
}

int
main(int argc, char *argv[])
{
	struct store_opts o;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct mk_err err;

	if (argc != 3 || (strcmp(argv[2], "read") != 0 && strcmp(argv[2], "write") != 0)) {
		fprintf(stderr, "usage: mkhold DIR read|write\n");
		return 2;
	}
	log_init("mkhold", 1, 0);
	memset(&o, 0, sizeof(o));
	memset(&err, 0, sizeof(err));
	o.dir = argv[1];
	if (store_open(&o, &s, &err) != MK_OK) {
		fprintf(stderr, "mkhold: %s\n", err.msg);
		return 2;
	}
	if (strcmp(argv[2], "read") == 0) {
		if (store_read_begin(s, &t) != MK_OK) {
			fprintf(stderr, "mkhold: read begin failed\n");
			return 2;
		}
		hold();
	}
	(void)store_write(s, half_write, NULL, &err);
	fprintf(stderr, "mkhold: store_write returned\n");
	return 2;
}

/*
 * key: metakeepctl key rotate and key list: the keys that sign the access
 * tokens of /oauth/token (keys.h).  rotate makes a new key the one that
 * signs; the old one goes on verifying the tokens it signed until they
 * expire (OAUTH_TTL_S), and keys retired longer ago than that are removed.
 * Only key ids and dates are printed, never a key.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "keys.h"
#include "oauth.h"
#include "util.h"
#include "ctl/ctl.h"

const struct ctl_spec key_rotate_spec = {
	NULL, 0, NULL, NULL, NULL, NULL,
};
const struct ctl_spec key_list_spec = {
	NULL, 0, NULL, NULL, NULL, NULL,
};

/* Tokens live OAUTH_TTL_S; a minute more for clocks and requests in flight. */
#define KEY_KEEP_MS (((int64_t)OAUTH_TTL_S + 60) * 1000)

int
cmd_key_rotate(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	char kid[KEYS_KID_LEN + 1];
	struct mk_err err;
	size_t removed = 0;

	(void)self;
	(void)operands;
	err.msg[0] = '\0';
	if (keys_rotate(ctl->store, KEY_KEEP_MS, kid, &removed, &err) != MK_OK) {
		ctl_errx("cannot rotate the signing key: %s", err.msg);
		return CTL_FAIL;
	}
	printf("%s\n", kid);
	fprintf(stderr, PROG ": key %s signs from now on; the previous one verifies its "
	    "tokens until they expire (%d s); %zu key(s) retired before were removed\n",
	    kid, OAUTH_TTL_S, removed);
	return flush_stdout() == 0 ? CTL_OK : CTL_FAIL;
}

static int
list_visit(void *ctx, const struct keys_info *ki)
{
	char c[MK_ISO_LEN + 1], r[MK_ISO_LEN + 1];

	(void)ctx;
	mk_iso8601(ki->created_ms, c);
	if (ki->retired_ms != 0)
		mk_iso8601(ki->retired_ms, r);
	printf("%-24s  %-24s  %s\n", ki->kid, c, ki->retired_ms != 0 ? r : "active");
	return 0;
}

int
cmd_key_list(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	struct store_txn *t = NULL;
	enum mk_code rc;

	(void)self;
	(void)operands;
	if ((rc = store_read_begin(ctl->store, &t)) != MK_OK) {
		ctl_errx("cannot read the store: %s", mk_code_name(rc));
		return CTL_FAIL;
	}
	printf("%-24s  %-24s  %s\n", "KID", "CREATED", "RETIRED");
	rc = keys_list(t, list_visit, NULL);
	store_txn_end(t);
	if (rc != MK_OK) {
		ctl_errx("cannot list the keys: %s", mk_code_name(rc));
		return CTL_FAIL;
	}
	return flush_stdout() == 0 ? CTL_OK : CTL_FAIL;
}

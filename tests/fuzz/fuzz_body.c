/*
 * fuzz_body: libFuzzer target for the pure half of a write: a request body
 * (hostile bytes) through jx_parse, then meta_merge/meta_validate on each
 * metadata attribute and model_user_new/model_user_patch and
 * model_client_new/model_client_patch, with no I/O.
 *
 * Besides "no crash, no leak, no UB" (the sanitizers), it checks the
 * promises the spec makes about values, and aborts when one is broken:
 *  - whatever jx_parse accepts serializes (jx_text) to text that jx_parse
 *    accepts again, and that text is a fixed point (values round-trip);
 *  - a merged and validated metadata object is no deeper than the limit;
 *  - a failed call leaves its inputs unchanged (stored objects are
 *    compared as text before and after);
 *  - every failure carries a message (err.msg not empty).
 * Built and run by scripts/fuzz; seeds in tests/fuzz/corpus/fuzz_body/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jx.h"
#include "meta.h"
#include "model.h"

#define DEPTH META_DEFAULT_MAX_DEPTH
/* The parse limit api.c gives a body around metadata of DEPTH levels. */
#define BODY_DEPTH (DEPTH + MODEL_BODY_EXTRA_DEPTH)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void __attribute__((noreturn))
fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_body: invariant broken: %s: %s\n", what,
	    detail ? detail : "");
	abort();
}

/* Owned copy of an object's compact text ("null" for NULL). */
static char *
text_of(struct json_object *o)
{
	size_t n;
	const char *t = jx_text(o, &n);
	char *c;

	if (t == NULL || (c = malloc(n + 1)) == NULL)
		fail("jx_text", "no text");
	memcpy(c, t, n);
	c[n] = '\0';
	return c;
}

/* jx_text of an accepted value parses again and is a fixed point. */
static void
check_roundtrip(struct json_object *o, int depth)
{
	struct json_object *again = NULL;
	struct mk_err err = { 0 };
	size_t n, m;
	const char *t = jx_text(o, &n);
	char *first;

	if (t == NULL)
		fail("jx_text", "NULL");
	first = text_of(o);
	if (jx_parse(first, n, depth, &again, &err) != MK_OK)
		fail("serialized value does not parse again", err.msg);
	t = jx_text(again, &m);
	if (m != n || memcmp(t, first, n) != 0)
		fail("round trip changed the text", first);
	json_object_put(again);
	free(first);
}

static void
check_err(enum mk_code rc, const struct mk_err *err, const char *where)
{
	if (rc == MK_OK)
		return;
	if (rc == MK_ERR_INTERNAL)
		fail(where, err->msg);
	if (err->msg[0] == '\0')
		fail("failure without a message", where);
}

/* The fixed stored objects the patches are applied to. */
static struct json_object *stored_md, *stored_user, *stored_client;

static void
init_stored(void)
{
	static const char md[] = "{\"hobby\":\"surfing\",\"addresses\":{\"home\":"
	    "{\"street\":\"123 Main St\",\"city\":\"Anytown\"}},\"n\":1.50,\"z\":null}";
	static const char user[] = "{\"email\":\"jane.doe@example.com\",\"connection\":"
	    "\"Username-Password-Authentication\",\"user_metadata\":{\"hobby\":\"surfing\"},"
	    "\"app_metadata\":{\"plan\":\"full\"}}";
	static const char client[] = "{\"name\":\"My App\",\"client_metadata\":"
	    "{\"mycolor\":\"red\",\"myflavor\":\"grape\"}}";
	struct model_ctx ctx = { 0 };
	struct json_object *b = NULL;
	struct mk_err err = { 0 };

	ctx.now_ms = 1700000000000LL;
	ctx.new_id = "0123456789abcdef01234567";
	ctx.new_secret = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
	ctx.max_depth = DEPTH;
	if (jx_parse(md, sizeof(md) - 1, BODY_DEPTH, &stored_md, &err) != MK_OK)
		fail("seed metadata", err.msg);
	if (jx_parse(user, sizeof(user) - 1, BODY_DEPTH, &b, &err) != MK_OK ||
	    model_user_new(b, &ctx, &stored_user, &err) != MK_OK)
		fail("seed user", err.msg);
	json_object_put(b);
	ctx.new_id = "0123456789abcdefABCDEF0123456789";
	if (jx_parse(client, sizeof(client) - 1, BODY_DEPTH, &b, &err) != MK_OK ||
	    model_client_new(b, &ctx, &stored_client, &err) != MK_OK)
		fail("seed client", err.msg);
	json_object_put(b);
}

/* Merge patch into stored as one metadata kind, validate, check. */
static void
fuzz_meta(enum meta_kind kind, struct json_object *stored, struct json_object *patch)
{
	struct json_object *res = NULL;
	struct mk_err err = { 0 };
	char *before = text_of(stored), *after;
	enum mk_code rc;

	rc = meta_merge(kind, stored, patch, &res, &err);
	check_err(rc, &err, "meta_merge");
	if (rc == MK_OK && res != NULL) {
		rc = meta_validate(kind, res, DEPTH, &err);
		check_err(rc, &err, "meta_validate");
		if (rc == MK_OK) {
			if (kind != META_CLIENT && jx_depth(res) > DEPTH)
				fail("validated metadata too deep", meta_attr(kind));
			check_roundtrip(res, DEPTH + 1);
		}
	}
	json_object_put(res);
	/* The value itself, as a POST would store it. */
	memset(&err, 0, sizeof(err));
	check_err(meta_validate(kind, patch, DEPTH, &err), &err, "meta_validate(patch)");
	after = text_of(stored);
	if (strcmp(before, after) != 0)
		fail("meta_merge changed the stored object", meta_attr(kind));
	free(before);
	free(after);
}

static void
fuzz_model(struct json_object *body)
{
	struct model_ctx ctx = { 0 };
	struct json_object *out = NULL;
	struct mk_err err = { 0 };
	char *before, *bbefore, *after;
	enum mk_code rc;

	ctx.now_ms = 1700000001000LL;
	ctx.new_id = "fedcba9876543210fedcba98";
	ctx.new_secret = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba9876543210_-";
	ctx.max_depth = DEPTH;
	bbefore = text_of(body);

	rc = model_user_new(body, &ctx, &out, &err);
	check_err(rc, &err, "model_user_new");
	if (rc == MK_OK)
		check_roundtrip(out, DEPTH + 3);
	json_object_put(out);
	out = NULL;

	before = text_of(stored_user);
	memset(&err, 0, sizeof(err));
	rc = model_user_patch(stored_user, body, &ctx, &out, &err);
	check_err(rc, &err, "model_user_patch");
	if (rc == MK_OK)
		check_roundtrip(out, DEPTH + 3);
	json_object_put(out);
	out = NULL;
	after = text_of(stored_user);
	if (strcmp(before, after) != 0)
		fail("model_user_patch changed the stored user", after);
	free(before);
	free(after);

	ctx.new_id = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
	memset(&err, 0, sizeof(err));
	rc = model_client_new(body, &ctx, &out, &err);
	check_err(rc, &err, "model_client_new");
	if (rc == MK_OK)
		check_roundtrip(out, DEPTH + 3);
	json_object_put(out);
	out = NULL;

	before = text_of(stored_client);
	memset(&err, 0, sizeof(err));
	rc = model_client_patch(stored_client, body, &ctx, &out, &err);
	check_err(rc, &err, "model_client_patch");
	if (rc == MK_OK)
		check_roundtrip(out, DEPTH + 3);
	json_object_put(out);
	after = text_of(stored_client);
	if (strcmp(before, after) != 0)
		fail("model_client_patch changed the stored client", after);
	free(before);
	free(after);

	after = text_of(body);
	if (strcmp(bbefore, after) != 0)
		fail("model changed the body", after);
	free(bbefore);
	free(after);
	(void)model_body_props(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *body = NULL, *v;
	struct mk_err err = { 0 };
	enum mk_code rc;

	if (stored_user == NULL)
		init_stored();
	/* The body limit is 1 MiB; beyond that api refuses before parsing. */
	if (size > (1u << 20))
		return 0;
	rc = jx_parse((const char *)data, size, BODY_DEPTH, &body, &err);
	if (rc != MK_OK) {
		if (rc != MK_ERR_INVALID || err.msg[0] == '\0')
			fail("jx_parse failed without MK_ERR_INVALID and a message", err.msg);
		return 0;
	}
	check_roundtrip(body, BODY_DEPTH);
	if (!json_object_is_type(body, json_type_object)) {
		/* A bare value: what a metadata attribute set to it does. */
		fuzz_meta(META_USER, stored_md, body);
		json_object_put(body);
		return 0;
	}
	/* Each metadata attribute of the body against stored metadata. */
	if (json_object_object_get_ex(body, "user_metadata", &v))
		fuzz_meta(META_USER, stored_md, v);
	if (json_object_object_get_ex(body, "app_metadata", &v))
		fuzz_meta(META_APP, stored_md, v);
	if (json_object_object_get_ex(body, "client_metadata", &v))
		fuzz_meta(META_CLIENT, stored_md, v);
	/* The body itself as a metadata patch (any keys). */
	fuzz_meta(META_USER, stored_md, body);
	fuzz_model(body);
	json_object_put(body);
	return 0;
}

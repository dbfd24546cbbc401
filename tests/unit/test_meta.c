/*
 * test_meta: the metadata rules as a table (every directory under
 * tests/data/merge, convention in its README) plus the properties a table
 * cannot show: inputs are not modified, results share nothing with them,
 * messages stay bounded and valid UTF-8.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jx.h"
#include "meta.h"

#define MERGE_DIR MK_TEST_DATA "/merge"
#define FILE_MAX (4 << 20)
/* Guard against the table silently vanishing; raise when adding cases. */
#define MIN_CASES 79

/* Read dir/name; 0 ok, 1 absent, -1 error (msg set). */
static int
slurp(const char *dir, const char *name, char **buf, size_t *len,
    char *msg, size_t msgsz)
{
	char path[1024];
	FILE *f;
	char *p;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		if (errno == ENOENT)
			return 1;
		snprintf(msg, msgsz, "open %s: %s", path, strerror(errno));
		return -1;
	}
	p = malloc(FILE_MAX + 1);
	if (p == NULL) {
		fclose(f);
		snprintf(msg, msgsz, "out of memory");
		return -1;
	}
	n = fread(p, 1, FILE_MAX + 1, f);
	fclose(f);
	if (n > FILE_MAX) {
		free(p);
		snprintf(msg, msgsz, "%s too large", path);
		return -1;
	}
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
}

/* Parse dir/name; 0 ok (*out may be NULL for JSON null), 1 absent, -1 error. */
static int
load_json(const char *dir, const char *name, struct json_object **out,
    char *msg, size_t msgsz)
{
	struct mk_err err;
	char *buf = NULL;
	size_t len;
	int rc;

	if ((rc = slurp(dir, name, &buf, &len, msg, msgsz)) != 0)
		return rc;
	if (jx_parse(buf, len, 64, out, &err) != MK_OK) {
		snprintf(msg, msgsz, "%s: %s", name, err.msg);
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Run one case; 1 when it passes, else 0 with the reason in msg. */
static int
run_case(const char *name, char *msg, size_t msgsz)
{
	char dir[1024];
	struct json_object *stored = NULL, *patch = NULL, *expected = NULL;
	struct json_object *sentinel = (struct json_object *)&sentinel;
	struct json_object *out = sentinel;
	struct mk_err err = { MK_OK, "" };
	enum meta_kind kind = META_USER;
	enum mk_code rc;
	char *kindtxt = NULL, *errtxt = NULL, *before = NULL;
	size_t len;
	int has_stored, has_exp, has_err, ok = 0;

	snprintf(dir, sizeof(dir), "%s/%s", MERGE_DIR, name);
	msg[0] = '\0';
	switch (slurp(dir, "kind", &kindtxt, &len, msg, msgsz)) {
	case 0:
		chomp(kindtxt);
		if (strcmp(kindtxt, "user") == 0)
			kind = META_USER;
		else if (strcmp(kindtxt, "app") == 0)
			kind = META_APP;
		else if (strcmp(kindtxt, "client") == 0)
			kind = META_CLIENT;
		else {
			snprintf(msg, msgsz, "bad kind \"%s\"", kindtxt);
			goto out;
		}
		break;
	case 1:
		break;
	default:
		goto out;
	}
	if ((has_stored = load_json(dir, "stored.json", &stored, msg,
	    msgsz)) == -1)
		goto out;
	switch (load_json(dir, "patch.json", &patch, msg, msgsz)) {
	case 0:
		break;
	case 1:
		snprintf(msg, msgsz, "no patch.json");
		/* FALLTHROUGH */
	default:
		goto out;
	}
	if ((has_exp = load_json(dir, "expected.json", &expected, msg,
	    msgsz)) == -1)
		goto out;
	if ((has_err = slurp(dir, "error.txt", &errtxt, &len, msg,
	    msgsz)) == -1)
		goto out;
	if ((has_exp == 0) == (has_err == 0)) {
		snprintf(msg, msgsz, "need exactly one of expected.json and "
		    "error.txt");
		goto out;
	}
	(void)has_stored;
	if ((before = strdup(jx_text(stored, NULL))) == NULL) {
		snprintf(msg, msgsz, "out of memory");
		goto out;
	}

	rc = meta_merge(kind, stored, patch, &out, &err);
	if (rc == MK_OK && out != NULL) {
		rc = meta_validate(kind, out, META_DEFAULT_MAX_DEPTH, &err);
		if (rc != MK_OK) {
			json_object_put(out);
			out = sentinel;
		}
	}

	if (strcmp(before, jx_text(stored, NULL)) != 0) {
		snprintf(msg, msgsz, "stored was modified: %s", jx_text(stored,
		    NULL));
		goto out;
	}
	if (has_err == 0) {
		chomp(errtxt);
		if (rc == MK_OK) {
			snprintf(msg, msgsz, "succeeded with %s, want error: %s",
			    jx_text(out, NULL), errtxt);
			goto out;
		}
		if (rc != MK_ERR_INVALID || err.code != MK_ERR_INVALID) {
			snprintf(msg, msgsz, "code %s, want invalid (%s)",
			    mk_code_name(rc), err.msg);
			goto out;
		}
		if (strcmp(err.msg, errtxt) != 0) {
			snprintf(msg, msgsz, "message\n  got:  %s\n  want: %s",
			    err.msg, errtxt);
			goto out;
		}
		if (out != sentinel) {
			snprintf(msg, msgsz, "out written on failure");
			goto out;
		}
		ok = 1;
		goto out;
	}
	if (rc != MK_OK) {
		snprintf(msg, msgsz, "failed: %s", err.msg);
		goto out;
	}
	if (expected == NULL || out == NULL) {
		if (expected != out) {
			snprintf(msg, msgsz, "got %s, want %s", out == NULL ?
			    "removal" : jx_text(out, NULL), expected == NULL ?
			    "removal" : jx_text(expected, NULL));
			goto out;
		}
	} else if (strcmp(jx_text(out, NULL), jx_text(expected, NULL)) != 0) {
		snprintf(msg, msgsz, "\n  got:  %s\n  want: %s", jx_text(out,
		    NULL), jx_text(expected, NULL));
		goto out;
	}
	ok = 1;
out:
	if (out != sentinel)
		json_object_put(out);
	json_object_put(stored);
	json_object_put(patch);
	json_object_put(expected);
	free(kindtxt);
	free(errtxt);
	free(before);
	return ok;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(meta, merge_table, .timeout = 60)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char path[1024], msg[4096];
	char **names = NULL;
	size_t n = 0, cap = 0, k, passed = 0;

	d = opendir(MERGE_DIR);
	cr_assert_not_null(d, "opendir %s: %s", MERGE_DIR, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", MERGE_DIR, de->d_name);
		if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			cr_assert_not_null(names);
		}
		names[n] = strdup(de->d_name);
		cr_assert_not_null(names[n]);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (k = 0; k < n; k++) {
		int ok = run_case(names[k], msg, sizeof(msg));

		cr_expect(ok, "case %s: %s", names[k], msg);
		passed += (size_t)ok;
		free(names[k]);
	}
	free(names);
	cr_log_info("merge table: %zu of %zu cases pass", passed, n);
	cr_expect_geq(n, MIN_CASES, "only %zu cases under %s", n, MERGE_DIR);
}

static struct json_object *
J(const char *s)
{
	struct json_object *o = NULL;
	struct mk_err err;

	cr_assert_eq(jx_parse(s, strlen(s), 64, &o, &err), MK_OK, "%s: %s", s,
	    err.msg);
	return o;
}

Test(meta, attr_names)
{
	cr_expect_str_eq(meta_attr(META_USER), "user_metadata");
	cr_expect_str_eq(meta_attr(META_APP), "app_metadata");
	cr_expect_str_eq(meta_attr(META_CLIENT), "client_metadata");
}

/* The result owns all of its values: freeing the inputs first is safe
 * (run under ASan to make this bite), and changing it changes no input. */
Test(meta, result_shares_nothing)
{
	struct json_object *stored = J("{\"a\":{\"x\":[1,2]},\"b\":1.0}");
	struct json_object *patch = J("{\"c\":{\"y\":[3]},\"b\":null}");
	struct json_object *out = NULL, *a = NULL, *c = NULL;
	struct mk_err err;

	cr_assert_eq(meta_merge(META_USER, stored, patch, &out, &err), MK_OK);
	cr_assert_not_null(out);
	cr_assert(json_object_object_get_ex(out, "a", &a));
	cr_assert(json_object_object_get_ex(out, "c", &c));
	json_object_object_add(a, "new", json_object_new_int(1));
	json_object_array_add(json_object_object_get(c, "y"),
	    json_object_new_int(4));
	cr_expect_str_eq(jx_text(stored, NULL), "{\"a\":{\"x\":[1,2]},\"b\":1.0}");
	cr_expect_str_eq(jx_text(patch, NULL), "{\"c\":{\"y\":[3]},\"b\":null}");
	json_object_put(stored);
	json_object_put(patch);
	cr_expect_str_eq(jx_text(out, NULL),
	    "{\"a\":{\"x\":[1,2],\"new\":1},\"c\":{\"y\":[3,4]}}");
	json_object_put(out);
}

Test(meta, merge_keeps_number_text)
{
	struct json_object *stored = J("{\"a\":1.0,\"b\":-0.0}");
	struct json_object *patch = J("{\"c\":1e5,\"d\":12345678901234567}");
	struct json_object *out = NULL;
	struct mk_err err;

	cr_assert_eq(meta_merge(META_APP, stored, patch, &out, &err), MK_OK);
	cr_expect_str_eq(jx_text(out, NULL),
	    "{\"a\":1.0,\"b\":-0.0,\"c\":1e5,\"d\":12345678901234567}");
	json_object_put(out);
	json_object_put(stored);
	json_object_put(patch);
}

Test(meta, empty_patch_writes_null)
{
	struct json_object *stored = J("{\"a\":1}"), *patch = J("{}");
	struct json_object *out = (struct json_object *)&out;
	struct mk_err err;

	cr_assert_eq(meta_merge(META_CLIENT, stored, patch, &out, &err), MK_OK);
	cr_expect_null(out);
	json_object_put(stored);
	json_object_put(patch);
}

Test(meta, stored_not_object_is_internal)
{
	struct json_object *stored = J("[1]"), *patch = J("{\"a\":1}");
	struct json_object *out = (struct json_object *)&out;
	struct mk_err err;

	cr_expect_eq(meta_merge(META_USER, stored, patch, &out, &err),
	    MK_ERR_INTERNAL);
	cr_expect(out == (struct json_object *)&out);
	json_object_put(stored);
	json_object_put(patch);
}

Test(meta, validate_not_object)
{
	struct json_object *s = J("\"x\"");
	struct mk_err err;

	cr_expect_eq(meta_validate(META_USER, NULL, 32, &err), MK_ERR_INVALID);
	cr_expect_str_eq(err.msg, "Payload validation error: 'Expected type "
	    "object but found type null' on property user_metadata.");
	cr_expect_eq(meta_validate(META_CLIENT, s, 32, &err), MK_ERR_INVALID);
	cr_expect_str_eq(err.msg, "Payload validation error: 'Expected type "
	    "object but found type string' on property client_metadata.");
	json_object_put(s);
}

Test(meta, every_reserved_app_name)
{
	static const char *const names[] = {
		"__tenant", "_id", "blocked", "clientID", "created_at",
		"email_verified", "email", "globalClientID",
		"global_client_id", "identities", "lastIP", "lastLogin",
		"loginsCount", "metadata", "multifactor_last_modified",
		"multifactor", "updated_at", "user_id",
	};
	struct mk_err err;
	char want[256];
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, names[k], json_object_new_int(1));
		cr_expect_eq(meta_validate(META_USER, o, 32, &err), MK_OK,
		    "user_metadata.%s refused", names[k]);
		cr_expect_eq(meta_validate(META_APP, o, 32, &err),
		    MK_ERR_INVALID, "app_metadata.%s accepted", names[k]);
		snprintf(want, sizeof(want), "Payload validation error: "
		    "'Reserved field name not allowed: %s' on property "
		    "app_metadata.", names[k]);
		cr_expect_str_eq(err.msg, want);
		json_object_put(o);
	}
	/* Close to a reserved name is fine. */
	{
		struct json_object *o = J("{\"Email\":1,\"emails\":2,\"_id_\":3}");

		cr_expect_eq(meta_validate(META_APP, o, 32, &err), MK_OK, "%s",
		    err.msg);
		json_object_put(o);
	}
}

Test(meta, configurable_depth)
{
	struct json_object *o = J("{\"a\":{\"b\":[{}]}}");
	struct mk_err err;

	cr_expect_eq(meta_validate(META_USER, o, 4, &err), MK_OK);
	cr_expect_eq(meta_validate(META_USER, o, 3, &err), MK_ERR_INVALID);
	cr_expect_str_eq(err.msg, "Payload validation error: 'Too deep: at "
	    "most 3 levels of nesting' on property user_metadata.a.b.0.");
	/* < 1 means the default, 32. */
	cr_expect_eq(meta_validate(META_USER, o, 0, &err), MK_OK);
	json_object_put(o);
}

Test(meta, invalid_utf8_key_built_in_code)
{
	struct json_object *o = json_object_new_object();
	struct json_object *in = json_object_new_object();
	struct mk_err err;

	json_object_object_add(in, "\xff", json_object_new_int(1));
	json_object_object_add(o, "a", in);
	cr_expect_eq(meta_validate(META_APP, o, 32, &err), MK_ERR_INVALID);
	cr_expect_str_eq(err.msg, "Payload validation error: 'Key names must "
	    "be valid UTF-8' on property app_metadata.a.");
	json_object_put(o);
}

/* A dotted key at the bottom of a long path: the example is cut with "...",
 * at a character boundary, and the message fits. */
Test(meta, long_example_is_cut)
{
	struct json_object *o = json_object_new_object(), *cur = o, *next;
	char key[256];
	struct mk_err err;
	size_t n;
	int k;

	/* 250 bytes of 2-byte characters per key. */
	for (k = 0; k < 125; k++)
		memcpy(key + 2 * k, "\xc3\xa9", 2);
	key[250] = '\0';
	for (k = 0; k < 5; k++) {
		next = json_object_new_object();
		json_object_object_add(cur, key, next);
		cur = next;
	}
	json_object_object_add(cur, "x.y", json_object_new_int(1));
	cr_assert_eq(meta_validate(META_USER, o, 32, &err), MK_ERR_INVALID);
	n = strlen(err.msg);
	cr_expect_lt(n, MK_ERR_MSG - 1);
	cr_expect(strncmp(err.msg, "Fields with \".\" are not allowed, please "
	    "remove all dotted fields. Example: user_metadata.\xc3\xa9", 87) == 0,
	    "%s", err.msg);
	cr_expect_str_eq(err.msg + n - 3, "...");
	cr_expect(jx_utf8_valid(err.msg, n), "message is not valid UTF-8");
	json_object_put(o);
}

Test(meta, client_value_counts_characters)
{
	struct json_object *o = json_object_new_object();
	char v[4 * 256 + 1];
	struct mk_err err;
	int k;

	for (k = 0; k < 255; k++)
		memcpy(v + 4 * k, "\xf0\x9f\x98\x80", 4);
	v[4 * 255] = '\0';
	json_object_object_add(o, "emoji", json_object_new_string(v));
	cr_expect_eq(meta_validate(META_CLIENT, o, 32, &err), MK_OK, "%s",
	    err.msg);
	memcpy(v + 4 * 255, "\xf0\x9f\x98\x80", 4);
	v[4 * 256] = '\0';
	json_object_object_add(o, "emoji", json_object_new_string(v));
	cr_expect_eq(meta_validate(META_CLIENT, o, 32, &err), MK_ERR_INVALID);
	cr_expect_str_eq(err.msg, "Payload validation error: 'String is too "
	    "long (256 chars), maximum 255' on property client_metadata.emoji.");
	json_object_put(o);
}

/*
 * meta_merge_shared: the same merged value as meta_merge (the same text, so
 * the same stored bytes), its root values those of the inputs themselves,
 * and every input may be freed first (run under ASan to make this bite).
 */
Test(meta, merge_shared_is_merge_by_reference)
{
	static const char *const cases[][2] = {
		{ "{\"a\":{\"x\":[1,2]},\"b\":1.0,\"n\":null}", "{\"c\":{\"y\":[3]},\"b\":null}" },
		{ "{\"a\":1,\"b\":2}", "{\"b\":{\"z\":1.50},\"a\":\"s\",\"d\":-0.0}" },
		{ NULL, "{\"a\":[1e5]}" },
		{ "{\"a\":1}", "{\"a\":null}" },
		{ "{\"a\":1}", "{}" },
	};
	struct json_object *stored, *patch, *o1, *o2, *v, *w;
	struct mk_err err;
	size_t i;
	char *t1;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		stored = cases[i][0] != NULL ? J(cases[i][0]) : NULL;
		patch = J(cases[i][1]);
		o1 = o2 = (struct json_object *)&o1;
		cr_assert_eq(meta_merge(META_USER, stored, patch, &o1, &err), MK_OK);
		cr_assert_eq(meta_merge_shared(META_USER, stored, patch, &o2, &err), MK_OK);
		if (o1 == NULL) {
			cr_expect_null(o2, "case %zu", i);
			json_object_put(stored);
			json_object_put(patch);
			continue;
		}
		t1 = strdup(jx_text(o1, NULL));
		cr_assert_not_null(t1);
		/* root values are the inputs' own */
		json_object_object_foreach(o2, k, val) {
			if (json_object_object_get_ex(patch, k, &v))
				cr_expect(val == v, "case %zu: %s not the patch's", i, k);
			else {
				cr_assert(json_object_object_get_ex(stored, k, &w));
				cr_expect(val == w, "case %zu: %s not the stored one", i, k);
			}
		}
		json_object_put(stored);
		json_object_put(patch);
		cr_expect_str_eq(jx_text(o2, NULL), t1, "case %zu", i);
		free(t1);
		json_object_put(o1);
		json_object_put(o2);
	}
}

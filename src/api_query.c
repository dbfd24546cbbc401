/*
 * api_query: percent decoding and the query parameters of the listings
 * (see api_query.h).  Values are decoded into fixed buffers: a value that
 * does not fit is a malformed one, so no request makes this allocate.
 */
#include "api_query.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_PAGE_MAX 100
#define PER_PAGE_DEFAULT 50
#define PAGE_MAX 1000000

/* An integer parameter: its name, bounds and default when absent. */
struct int_param {
	const char *name;
	long lo, hi, def;
};

static const struct int_param page_param = { "page", 0, PAGE_MAX, 0 };
static const struct int_param per_page_param =
    { "per_page", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT };

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

ssize_t
api_pct_decode(const char *p, size_t n, int plus, char *out, size_t outlen)
{
	size_t i, o = 0;
	int hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (ssize_t)o;
}

int
api_query_get(const char *query, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = query, *amp, *eq;

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		eq = memchr(p, '=', amp ? (size_t)(amp - p) : strlen(p));
		if (eq != NULL && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			size_t vlen = amp ? (size_t)(amp - eq - 1) : strlen(eq + 1);
			return api_pct_decode(eq + 1, vlen, 1, out, outlen) < 0 ? -1 : 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

enum mk_code
api_query_bad(struct mk_err *err, const char *name, const char *what)
{
	return mk_fail(err, MK_ERR_QUERY, "Query validation error: '%s' on property %s.",
	    what, name);
}

static enum mk_code
query_int(const char *query, const struct int_param *ip, long *out, struct mk_err *err)
{
	char v[32], *end;
	long n;
	int r = api_query_get(query, ip->name, v, sizeof(v));

	if (r == 0) {
		*out = ip->def;
		return MK_OK;
	}
	if (r < 0 || v[0] == '\0')
		return api_query_bad(err, ip->name, "Expected type integer");
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || !isdigit((unsigned char)v[0]))
		return api_query_bad(err, ip->name, "Expected type integer");
	if (n < ip->lo || n > ip->hi) {
		char what[96];
		snprintf(what, sizeof(what), "Value %ld is out of range %ld..%ld", n, ip->lo,
		    ip->hi);
		return api_query_bad(err, ip->name, what);
	}
	*out = n;
	return MK_OK;
}

static enum mk_code
query_bool(const char *query, const char *name, int def, int *out, struct mk_err *err)
{
	char v[16];
	int r = api_query_get(query, name, v, sizeof(v));

	if (r == 0)
		*out = def;
	else if (r > 0 && strcmp(v, "true") == 0)
		*out = 1;
	else if (r > 0 && strcmp(v, "false") == 0)
		*out = 0;
	else
		return api_query_bad(err, name, "Expected type boolean");
	return MK_OK;
}

enum mk_code
api_query_paging(const char *query, struct api_paging *out, struct mk_err *err)
{
	long page, per_page;
	int totals;
	enum mk_code rc;

	if ((rc = query_int(query, &page_param, &page, err)) != MK_OK ||
	    (rc = query_int(query, &per_page_param, &per_page, err)) != MK_OK ||
	    (rc = query_bool(query, "include_totals", 0, &totals, err)) != MK_OK)
		return rc;
	out->skip = (size_t)page * (size_t)per_page;
	out->per_page = per_page;
	out->totals = totals;
	return MK_OK;
}

enum mk_code
api_query_sort(const char *query, struct store_page *pg, struct mk_err *err)
{
	static const struct { const char *name; enum store_order order; } keys[] = {
		{ "created_at", STORE_BY_CREATED }, { "updated_at", STORE_BY_UPDATED },
		{ "email", STORE_BY_EMAIL }, { "user_id", STORE_BY_ID },
	};
	char v[64], *colon;
	size_t i;
	int desc, r = api_query_get(query, "sort", v, sizeof(v));

	if (r == 0) {
		pg->order = STORE_BY_CREATED;
		pg->desc = 0;
		return MK_OK;
	}
	if (r < 0 || (colon = strchr(v, ':')) == NULL)
		return api_query_bad(err, "sort", "Expected field:1 or field:-1");
	*colon++ = '\0';
	if (strcmp(colon, "1") == 0)
		desc = 0;
	else if (strcmp(colon, "-1") == 0)
		desc = 1;
	else
		return api_query_bad(err, "sort", "Expected field:1 or field:-1");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(v, keys[i].name) == 0) {
			pg->order = keys[i].order;
			pg->desc = desc;
			return MK_OK;
		}
	return api_query_bad(err, "sort", "Sorting is possible by created_at, updated_at, "
	    "email or user_id");
}

enum mk_code
api_query_fields(const char *query, struct api_fields *f, struct mk_err *err)
{
	char *p, *save = NULL;
	enum mk_code rc;
	int r;

	f->n = 0;
	if ((rc = query_bool(query, "include_fields", 1, &f->include, err)) != MK_OK)
		return rc;
	r = api_query_get(query, "fields", f->storage, sizeof(f->storage));
	if (r < 0)
		return api_query_bad(err, "fields", "Invalid value");
	if (r == 0 || f->storage[0] == '\0')
		return MK_OK;
	for (p = strtok_r(f->storage, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		const char *c;
		if (f->n == API_FIELDS_MAX)
			return api_query_bad(err, "fields", "Too many fields");
		for (c = p; *c != '\0'; c++)
			if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.')
				return api_query_bad(err, "fields", "Invalid field name");
		f->name[f->n++] = p;
	}
	return MK_OK;
}

int
api_fields_keep(const struct api_fields *f, const char *key)
{
	size_t i;

	if (f->n == 0)
		return 1;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->name[i], key) == 0)
			return f->include;
	return !f->include;
}

enum mk_code
api_query_search(const char *query, struct query **out, struct mk_err *err)
{
	char text[QUERY_MAX_LEN + 1], eng[8];
	struct query_error qe;
	enum mk_code rc;
	size_t i;
	int r;

	*out = NULL;
	r = api_query_get(query, "search_engine", eng, sizeof(eng));
	if (r < 0 || (r > 0 && strcmp(eng, "v2") != 0 && strcmp(eng, "v3") != 0))
		return api_query_bad(err, "search_engine", "Expected v2 or v3");
	r = api_query_get(query, "q", text, sizeof(text));
	if (r < 0)
		return api_query_bad(err, "q", "Cannot decode the value, or longer than "
		    "4096 bytes");
	if (r == 0)
		return MK_OK;
	for (i = 0; text[i] != '\0' && isspace((unsigned char)text[i]); i++)
		;
	if (text[i] == '\0')
		return MK_OK;
	memset(&qe, 0, sizeof(qe));
	rc = query_parse(text, strlen(text), out, &qe);
	if (rc == MK_ERR_NOMEM)
		return mk_fail(err, rc, "out of memory");
	if (rc != MK_OK)
		return mk_fail(err, MK_ERR_QUERY, "Query validation error: '%s at "
		    "position %zu' on property q.", qe.msg, qe.pos);
	return MK_OK;
}

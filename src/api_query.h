/*
 * api_query: the request URI's encoded parts, decoded and checked: percent
 * decoding (path ids and query values) and the query parameters of the
 * listings (page, per_page, include_totals, sort, fields, include_fields,
 * q, search_engine).  A parameter that is not valid fails with
 * MK_ERR_QUERY and Auth0's message "Query validation error: '<what>' on
 * property <name>." in err; out-parameters mean nothing then.
 */
#ifndef MK_API_QUERY_H
#define MK_API_QUERY_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "query.h"
#include "store.h"

#define API_QVAL_MAX 1024     /* one decoded query value, bytes */
#define API_FIELDS_MAX 64     /* names in a fields= list */

/*
 * Percent-decode p[0..n-1] into out (outlen bytes, NUL-terminated).
 * plus: decode '+' as a space (query strings).  Returns the decoded length,
 * or -1 on a malformed escape, an encoded or raw NUL, or no room.
 */
ssize_t api_pct_decode(const char *p, size_t n, int plus, char *out, size_t outlen);

/*
 * Find parameter name in the raw query string (borrowed, "" for none) and
 * decode its value into out.  Returns 1 when found, 0 when absent, -1 when
 * its value does not decode or does not fit.
 */
int api_query_get(const char *query, const char *name, char *out, size_t outlen);

/* Fail err with MK_ERR_QUERY: "Query validation error: 'what' on property name." */
enum mk_code api_query_bad(struct mk_err *err, const char *name, const char *what);

/* page, per_page and include_totals of a listing. */
struct api_paging {
	size_t skip;              /* page * per_page */
	long per_page;
	int totals;               /* include_totals=true */
};
enum mk_code api_query_paging(const char *query, struct api_paging *out, struct mk_err *err);

/* sort=field:1|-1 of the user listing into pg->order and pg->desc. */
enum mk_code api_query_sort(const char *query, struct store_page *pg, struct mk_err *err);

/* A fields= selection; n == 0 means "every field".  Names point into storage. */
struct api_fields {
	char storage[API_QVAL_MAX];
	const char *name[API_FIELDS_MAX];
	size_t n;
	int include;              /* include_fields, default true */
};
enum mk_code api_query_fields(const char *query, struct api_fields *f, struct mk_err *err);

/* Is key to be shown under f? */
int api_fields_keep(const struct api_fields *f, const char *key);

/*
 * The q= of a listing (spec 6), parsed into *out (owned: query_free; NULL
 * when there is no q, or a blank one: a plain listing).  search_engine is
 * accepted for Auth0 clients that send it: v2 and v3 mean the same here.
 * Errors: MK_ERR_QUERY, MK_ERR_NOMEM.
 */
enum mk_code api_query_search(const char *query, struct query **out, struct mk_err *err);

#endif

/*
 * admin_list: the server time of the admin page's users list on a large
 * store (issue 17: under 50 ms for a 100k-user store).
 *
 * Opens the store in DIR (filled beforehand, e.g. by bench/admin_list.sh
 * with metakeepctl import), makes a token with every scope, signs in
 * through admin_handle (the real sign-in form, CSRF pair and session in the
 * store), then times each case -n times through admin_handle: the whole
 * server-side work of one request (session lookup and token check, the API
 * call as the session: route, scopes, paging, sort and search over LMDB,
 * JSON out and back, HTML rendering), without FastCGI and the web server.
 *   first     /admin/users                       page 0, created_at order
 *   email     /admin/users?sort=email:1          page 0 by email
 *   page50    /admin/users?page=50               skip 1,000 (an O(skip) walk)
 *   last      /admin/users?page=<last>           skip every user but 20
 *   search    /admin/users?q=email:"u777@..."    one match
 * Prints per case the median, p95 and max in ms.
 *
 * usage: admin_list -d DIR [-n N]
 * Built only on demand: make bench/admin_list (bench/admin_list.sh does)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "api.h"
#include "auth.h"
#include "store.h"

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One request through admin_handle; its status, and the time in *ms. */
static int
one(struct store *s, const struct api_conf *ac, const char *method, const char *uri,
    const char *cookie, const char *form, struct http_resp *rs, double *ms)
{
	struct http_req rq;
	double t0;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.uri = uri;
	rq.cookie = cookie;
	if (form != NULL) {
		rq.content_type = "application/x-www-form-urlencoded";
		rq.body = form;
		rq.body_len = strlen(form);
	}
	http_resp_reset(rs);
	t0 = now_ms();
	admin_handle(s, ac, &rq, rs);
	if (ms != NULL)
		*ms = now_ms() - t0;
	return rs->status;
}

/* The text after name up to a stop character, from the buffer b. */
static int
grab(const struct mk_buf *b, const char *name, const char *stop, char *out, size_t cap)
{
	char *text = strndup(b->p ? b->p : "", b->n);
	const char *p;
	size_t n;

	if (text == NULL || (p = strstr(text, name)) == NULL) {
		free(text);
		return -1;
	}
	p += strlen(name);
	n = strcspn(p, stop);
	if (n >= cap) {
		free(text);
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	free(text);
	return 0;
}

int
main(int argc, char **argv)
{
	struct store_opts so;
	struct store *s = NULL;
	struct store_txn *t;
	struct api_conf ac;
	struct http_resp rs;
	struct auth_grant g = { SC_ALL, NULL, 0 };
	struct mk_err err;
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1], csrf[64], login[128], cookie[128];
	char form[256], last[64];
	const char *dir = NULL;
	double *ms;
	size_t users = 0;
	int n = 50, c, i, k;
	const char *cases[5][2] = {
		{ "first", "/admin/users" },
		{ "email", "/admin/users?sort=email:1" },
		{ "page50", "/admin/users?page=50" },
		{ "last", last },
		{ "search", "/admin/users?q=email%3A%22u777%40example.com%22" },
	};

	while ((c = getopt(argc, argv, "d:n:")) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'n')
			n = atoi(optarg);
		else
			goto usage;
	}
	if (dir == NULL || n < 1)
		goto usage;
	memset(&so, 0, sizeof(so));
	so.dir = dir;
	if (store_open(&so, &s, &err) != MK_OK) {
		fprintf(stderr, "admin_list: %s\n", err.msg);
		return 1;
	}
	if (store_read_begin(s, &t) != MK_OK || store_count(t, ST_USERS, &users) != MK_OK) {
		fprintf(stderr, "admin_list: cannot count the users\n");
		return 1;
	}
	store_txn_end(t);
	snprintf(last, sizeof(last), "/admin/users?page=%zu", users > 20 ? (users - 1) / 20 : 0);
	api_conf_defaults(&ac);
	memset(&rs, 0, sizeof(rs));
	if (auth_token_create(s, &g, tok, id, &err) != MK_OK) {
		fprintf(stderr, "admin_list: token: %s\n", err.msg);
		return 1;
	}
	/* Sign in as a browser would: the form, its CSRF cookie, the POST. */
	if (one(s, &ac, "GET", "/admin/", NULL, NULL, &rs, NULL) != 200 ||
	    grab(&rs.body, "name=\"csrf\" value=\"", "\"", csrf, sizeof(csrf)) == -1 ||
	    grab(&rs.headers, "Set-Cookie: ", ";", login, sizeof(login)) == -1)
		goto fail;
	snprintf(form, sizeof(form), "csrf=%s&token=%s", csrf, tok);
	if (one(s, &ac, "POST", "/admin/login", login, form, &rs, NULL) != 303 ||
	    grab(&rs.headers, "Set-Cookie: ", ";", cookie, sizeof(cookie)) == -1)
		goto fail;
	if ((ms = calloc((size_t)n, sizeof(*ms))) == NULL)
		return 1;
	printf("admin_list: %zu users in %s; %d requests a case through admin_handle "
	    "(server time, no FastCGI)\n", users, dir, n);
	printf("%-8s %-50s %9s %9s %9s %9s\n", "case", "uri", "median", "p95", "max", "bytes");
	for (k = 0; k < 5; k++) {
		one(s, &ac, "GET", cases[k][1], cookie, NULL, &rs, NULL);   /* warm */
		for (i = 0; i < n; i++)
			if (one(s, &ac, "GET", cases[k][1], cookie, NULL, &rs, &ms[i]) != 200) {
				fprintf(stderr, "admin_list: %s: status %d\n", cases[k][1],
				    rs.status);
				return 1;
			}
		if (getenv("MK_BENCH_SHOW") != NULL)
			fwrite(rs.body.p, 1, rs.body.n, stderr);
		qsort(ms, (size_t)n, sizeof(*ms), cmp);
		printf("%-8s %-50s %7.2fms %7.2fms %7.2fms %9zu\n", cases[k][0], cases[k][1],
		    ms[n / 2], ms[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1], ms[n - 1],
		    rs.body.n);
	}
	free(ms);
	http_resp_free(&rs);
	store_close(s);
	return 0;
fail:
	fprintf(stderr, "admin_list: sign-in failed (status %d)\n", rs.status);
	return 1;
usage:
	fprintf(stderr, "usage: admin_list -d DIR [-n N]\n");
	return 2;
}

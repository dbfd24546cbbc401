/*
 * mksoak: a soak and crash-load driver for metakeep, with a model.
 *
 * K client threads talk HTTP/1.1 (plain sockets, keep-alive, chunked
 * bodies understood) to the web server on 127.0.0.1:PORT for a bounded
 * time.  Each thread owns its own users and clients, so it knows exactly
 * what every request must do; all threads also share one user in which
 * each sets only its own root keys ("c<i>_..."), so racing read-merge-write
 * steps on one record are checked too.  Operations: create, get, PATCH of
 * metadata root keys (values, null deletes, {} clears) and of given_name,
 * user deletes (and re-creates of the same id), client create, PATCH of
 * client_metadata, client delete.
 *
 * The model keeps, for each record, the set of states it may be in (a
 * state is the JSON subset the driver controls, or "absent").  An answered
 * request narrows the set to the states that predict its status and applies
 * the operation; a request with no answer (connection lost, 5xx: only
 * allowed with --crash, where the server is killed under load) may or may
 * not have happened, so the set keeps both; and it may still be under way
 * (a worker killed while its leader commits the group's batch: the web
 * server answers the client before that commit lands), so an answer
 * about the record before the client's next write on it answered 200 or
 * 201 (a GET, a 404, a 409, a DELETE's 204: each may have looked at the
 * store before that commit) keeps the states where it lands later.  Every GET is compared with the
 * model at once, and at the end every record is read back and compared,
 * and the listings are checked for records nobody made (phantoms).
 *
 * A 429 of the rate limiter during the load is a refusal: nothing ran, so
 * every state stays (counted as "limited"), and every 429 must be in
 * Auth0's shape (check_429).  In the final check a 429 is a failure.
 *
 * Output: progress on stderr, then one line
 *   RESULT checks=N failures=N requests=N writes=N uncertain=N limited=N seconds=S
 * Exit status 0 when failures=0, 1 otherwise, 2 on bad usage.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXSTATES 16        /* possible states kept per record */
#define MAXUSERS 24         /* user slots per client thread */
#define MAXCLIENTS 6        /* client slots per thread */
#define MAXTHREADS 64
#define RECV_TIMEOUT 30     /* seconds without an answer: a lost request */
#define ST_REFUSED 1       /* resp.status: the web server refused it, nothing ran */

/* ---- options and shared counters ---- */

static int opt_port;
static const char *opt_token;
static int opt_threads = 8;
static double opt_seconds = 20;
static unsigned opt_seed = 1;
static int opt_crash;            /* tolerate lost requests */
static double opt_wait = 60;     /* --crash: wait this long for the server after the load */
static char opt_tag[32] = "s";   /* prefix of every id and name of this run */
static int opt_verbose;

static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static unsigned long n_checks, n_fail, n_req, n_writes, n_uncertain, n_refused, n_limited;
static unsigned long n_status[6];    /* 1xx..5xx, [0] = no answer */
static char shared_id[128];          /* full user_id of the shared user */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
count(unsigned long *c, unsigned long n)
{
	pthread_mutex_lock(&lk);
	*c += n;
	pthread_mutex_unlock(&lk);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A model violation: counted, and the first 50 are printed. */
static void
fail(const char *fmt, ...)
{
	va_list ap;
	unsigned long n;

	pthread_mutex_lock(&lk);
	n = ++n_fail;
	pthread_mutex_unlock(&lk);
	if (n > 50)
		return;
	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
check_ok(void)
{
	count(&n_checks, 1);
}

/* xorshift64*: one generator per thread. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int
pick(uint64_t *s, int n)
{
	return (int)(rnd(s) % (uint64_t)n);
}

/* ---- HTTP/1.1 over one keep-alive connection ---- */

struct conn {
	int fd;
	int reused;        /* at least one answer came over it */
	char *in;          /* bytes read and not yet consumed */
	size_t len, cap;
};

struct resp {
	int status;        /* 0: no answer */
	long retry_after;  /* the Retry-After header's seconds, -1 without one */
	char *body;        /* NUL-terminated, owned */
	size_t len;
};

static void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->reused = 0;
	c->len = 0;
}

static int
conn_open(struct conn *c)
{
	struct sockaddr_in sa;
	struct timeval tv = { RECV_TIMEOUT, 0 };
	int one = 1;

	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opt_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		conn_close(c);
		return -1;
	}
	c->reused = 0;
	c->len = 0;
	return 0;
}

/* Read more into c->in; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t
conn_fill(struct conn *c)
{
	ssize_t n;

	if (c->cap - c->len < 16384) {
		size_t ncap = c->cap ? c->cap * 2 : 65536;
		char *p;

		if (ncap > ((size_t)64 << 20) || (p = realloc(c->in, ncap)) == NULL)
			return -1;
		c->in = p;
		c->cap = ncap;
	}
	do
		n = recv(c->fd, c->in + c->len, c->cap - c->len - 1, 0);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		c->len += (size_t)n;
		c->in[c->len] = '\0';
	}
	return n;
}

static void
conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->len - n);
	c->len -= n;
	c->in[c->len] = '\0';
}

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Case-insensitive search for a header line's value in [h, end). */
static const char *
hdr(const char *h, const char *end, const char *name)
{
	size_t nl = strlen(name);
	const char *p = h;

	while (p < end) {
		const char *eol = strstr(p, "\r\n");

		if (eol == NULL || eol > end)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = eol + 2;
	}
	return NULL;
}

/* Read one response; 0 on success, -1 when the connection failed. */
static int
read_resp(struct conn *c, struct resp *r, int *got_bytes)
{
	char *he, *p;
	size_t hlen, blen = 0;
	const char *v;
	int chunked = 0, close_after = 0;
	long clen = -1;
	char *body = NULL;
	size_t bcap = 0;

	*got_bytes = 0;
	while ((he = strstr(c->in ? c->in : "", "\r\n\r\n")) == NULL) {
		ssize_t n = conn_fill(c);

		if (n <= 0)
			return -1;
		*got_bytes = 1;
	}
	*got_bytes = 1;
	hlen = (size_t)(he - c->in) + 4;
	if (sscanf(c->in, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	if ((v = hdr(c->in, he + 2, "Content-Length")) != NULL)
		clen = strtol(v, NULL, 10);
	if ((v = hdr(c->in, he + 2, "Transfer-Encoding")) != NULL &&
	    strncasecmp(v, "chunked", 7) == 0)
		chunked = 1;
	if ((v = hdr(c->in, he + 2, "Connection")) != NULL &&
	    strncasecmp(v, "close", 5) == 0)
		close_after = 1;
	r->retry_after = (v = hdr(c->in, he + 2, "Retry-After")) != NULL ?
	    strtol(v, NULL, 10) : -1;
	conn_consume(c, hlen);

	if (r->status == 204 || r->status == 304 || r->status < 200) {
		/* No body, whatever the headers say. */
	} else if (chunked) {
		for (;;) {
			char *eol;
			unsigned long sz;

			while ((eol = strstr(c->in, "\r\n")) == NULL)
				if (conn_fill(c) <= 0)
					goto bad;
			sz = strtoul(c->in, NULL, 16);
			conn_consume(c, (size_t)(eol - c->in) + 2);
			while (c->len < sz + 2)
				if (conn_fill(c) <= 0)
					goto bad;
			if (sz == 0) {
				/* No trailers are expected: the final CRLF. */
				conn_consume(c, 2);
				break;
			}
			if (blen + sz + 1 > bcap) {
				bcap = (blen + sz + 1) * 2;
				if ((p = realloc(body, bcap)) == NULL)
					goto bad;
				body = p;
			}
			memcpy(body + blen, c->in, sz);
			blen += sz;
			conn_consume(c, sz + 2);
		}
	} else if (clen >= 0) {
		while (c->len < (size_t)clen)
			if (conn_fill(c) <= 0)
				goto bad;
		bcap = (size_t)clen + 1;
		if ((body = malloc(bcap)) == NULL)
			goto bad;
		memcpy(body, c->in, (size_t)clen);
		blen = (size_t)clen;
		conn_consume(c, (size_t)clen);
	} else {
		/*
		 * Until the server closes.  Only its JSON tells a body cut short
		 * from a whole one (lighttpd ends the connection so when the
		 * service dies in the middle of an answer, after a 200 went
		 * out): one that does not parse is no answer.
		 */
		json_object *whole;
		ssize_t n;

		while ((n = conn_fill(c)) > 0)
			;
		if (n < 0)
			goto bad;
		bcap = c->len + 1;
		if ((body = malloc(bcap)) == NULL)
			goto bad;
		memcpy(body, c->in, c->len);
		blen = c->len;
		body[blen] = '\0';
		close_after = 1;
		if (blen > 0) {
			if ((whole = json_tokener_parse(body)) == NULL)
				goto bad;
			json_object_put(whole);
		}
	}
	if (body == NULL && (body = malloc(1)) == NULL)
		goto bad;
	body[blen] = '\0';
	r->body = body;
	r->len = blen;
	if (close_after)
		conn_close(c);
	else
		c->reused = 1;
	return 0;
bad:
	free(body);
	return -1;
}

/*
 * A 429 in Auth0's shape (docs/api.md section 7): the JSON error with
 * statusCode 429, error "Too Many Requests", errorCode "too_many_requests",
 * a message, and Retry-After (whole seconds, at least 1).  Else a failure.
 */
static void
check_429(const struct resp *r, const char *method, const char *path)
{
	json_object *o = r->body != NULL ? json_tokener_parse(r->body) : NULL, *v;
	int ok = o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "statusCode", &v) &&
	    json_object_is_type(v, json_type_int) && json_object_get_int(v) == 429 &&
	    json_object_object_get_ex(o, "error", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), "Too Many Requests") == 0 &&
	    json_object_object_get_ex(o, "errorCode", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), "too_many_requests") == 0 &&
	    json_object_object_get_ex(o, "message", &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
	    r->retry_after >= 1;

	if (!ok)
		fail("%s %s: a 429 not in Auth0's shape (Retry-After %ld): %.200s", method, path,
		    r->retry_after, r->body != NULL ? r->body : "(no body)");
	json_object_put(o);
}

/*
 * One request.  r->status is 0 when no answer came.  A reused connection
 * that the server closed before sending a byte (an idle keep-alive timeout)
 * is retried once on a new one: the request never reached the service.
 */
static void
http(struct conn *c, const char *method, const char *path, json_object *body,
    struct resp *r)
{
	char head[1024];
	const char *b = NULL;
	size_t blen = 0;
	int n, tries, got;

	memset(r, 0, sizeof(*r));
	if (body != NULL) {
		b = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
		blen = strlen(b);
	}
	n = snprintf(head, sizeof(head),
	    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	    "%sContent-Length: %zu\r\n\r\n", method, path, opt_token,
	    body != NULL ? "Content-Type: application/json\r\n" : "", blen);
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	count(&n_req, 1);
	for (tries = 0; tries < 2; tries++) {
		int reused;

		if (c->fd == -1 && conn_open(c) == -1)
			break;
		reused = c->reused;
		if (send_all(c->fd, head, (size_t)n) == 0 &&
		    (blen == 0 || send_all(c->fd, b, blen) == 0) &&
		    read_resp(c, r, &got) == 0)
			break;
		conn_close(c);
		r->status = 0;
		/*
		 * With --crash a worker killed after its write (the web server
		 * then closes the connection without an answer) looks the same
		 * as an idle close: only a GET may be sent again; a write stays
		 * without an answer (it may or may not have happened).
		 */
		if (!reused || got || (opt_crash && strcmp(method, "GET") != 0))
			break;
	}
	/*
	 * A 503 that is not the service's own JSON error comes from the web
	 * server, which could not reach the pool: the request was not run.
	 * The web servers answer it in the API's shape too (etc/errors/503.json),
	 * so it is told apart by its message.
	 */
	if (r->status == 503 && (r->body == NULL ||
	    strstr(r->body, "\"statusCode\"") == NULL ||
	    strstr(r->body, "The service is not reachable") != NULL))
		r->status = ST_REFUSED;
	if (r->status == 429)
		check_429(r, method, path);
	pthread_mutex_lock(&lk);
	n_status[r->status >= 100 && r->status < 600 ? r->status / 100 : 0]++;
	pthread_mutex_unlock(&lk);
}

static void
resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

static int verifying;      /* the final check: reads are retried */

/*
 * A GET for the final check.  With --crash the pool may be restarting
 * still (the web server refuses, or a worker dies): a read changes
 * nothing, so it is tried again, for up to --wait seconds.
 */
static void
http_read(struct conn *c, const char *path, struct resp *r)
{
	double end = now_s() + opt_wait;

	for (;;) {
		http(c, "GET", path, NULL, r);
		if (!opt_crash || !(r->status == 0 || r->status == ST_REFUSED ||
		    r->status >= 500) || now_s() >= end)
			return;
		resp_free(r);
		usleep(100000);
	}
}

/* ---- the model ---- */

enum kind { K_USER, K_CLIENT };

/* A record and the states it may be in; NULL stands for "absent". */
struct rec {
	enum kind kind;
	char id[128];          /* full user_id / client_id; "" while unknown */
	char name[96];         /* clients: unique name, to find a lost id */
	char slot_id[96];      /* users: the user_id sent on create */
	json_object *st[MAXSTATES];
	int n;
	int broken;            /* a failure was reported: stop checking it */
	int pending;           /* a write without an answer may still land: */
	int pend_op;           /*   its enum op */
	json_object *pend;     /*   and its body (owned; NULL for a DELETE) */
};

static void
rec_pend_clear(struct rec *r)
{
	json_object_put(r->pend);
	r->pend = NULL;
	r->pending = 0;
}

static void
rec_set(struct rec *r, json_object **st, int n)
{
	int i;

	for (i = 0; i < r->n; i++)
		json_object_put(r->st[i]);
	for (i = 0; i < n; i++)
		r->st[i] = st[i];
	r->n = n;
}

static int
rec_exists_maybe(const struct rec *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (r->st[i] != NULL)
			return 1;
	return 0;
}

static json_object *
copy(json_object *o)
{
	json_object *c = NULL;

	if (o == NULL)
		return NULL;
	if (json_object_deep_copy(o, &c, NULL) != 0) {
		fprintf(stderr, "mksoak: out of memory\n");
		exit(2);
	}
	return c;
}

static int
same(json_object *a, json_object *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return json_object_equal(a, b);
}

/* Add s to the set unless an equal state is there. */
static int
set_add(json_object **set, int *n, json_object *s)
{
	int i;

	for (i = 0; i < *n; i++)
		if (same(set[i], s)) {
			json_object_put(s);
			return 0;
		}
	if (*n >= MAXSTATES) {
		json_object_put(s);
		return -1;
	}
	set[(*n)++] = s;
	return 0;
}

/*
 * What an operation does to one state: the status it answers and the next
 * state (owned; NULL = absent).  patch is the request body.
 */
enum op { OP_CREATE, OP_PATCH, OP_DELETE, OP_GET };

/* Merge a metadata patch value into st[field], as the spec's rules say. */
static void
merge_meta(json_object *st, const char *field, json_object *p)
{
	json_object *m;

	if (json_object_object_length(p) == 0) {
		json_object_object_del(st, field);
		return;
	}
	if (!json_object_object_get_ex(st, field, &m)) {
		m = json_object_new_object();
		json_object_object_add(st, field, m);
	}
	json_object_object_foreach(p, k, v) {
		if (v == NULL)
			json_object_object_del(m, k);
		else
			json_object_object_add(m, k, copy(v));
	}
}

/* The fields of a record the model controls, from a created or PATCHed body. */
static const char *const user_fields[] = { "user_metadata", "app_metadata", "given_name" };
static const char *const client_fields[] = { "client_metadata", "name" };

static int
predict(enum kind kind, enum op op, json_object *st, json_object *body,
    json_object **next)
{
	json_object *n, *v;
	size_t i;

	*next = NULL;
	switch (op) {
	case OP_CREATE:
		if (st != NULL) {
			*next = copy(st);
			return 409;
		}
		n = json_object_new_object();
		if (kind == K_USER) {
			for (i = 0; i < 3; i++)
				if (json_object_object_get_ex(body, user_fields[i], &v))
					json_object_object_add(n, user_fields[i], copy(v));
		} else {
			for (i = 0; i < 2; i++)
				if (json_object_object_get_ex(body, client_fields[i], &v))
					json_object_object_add(n, client_fields[i], copy(v));
		}
		*next = n;
		return 201;
	case OP_PATCH:
		if (st == NULL)
			return 404;
		n = copy(st);
		json_object_object_foreach(body, k, pv) {
			if (strcmp(k, "user_metadata") == 0 || strcmp(k, "app_metadata") == 0 ||
			    strcmp(k, "client_metadata") == 0)
				merge_meta(n, k, pv);
			else if (pv == NULL)
				json_object_object_del(n, k);
			else
				json_object_object_add(n, k, copy(pv));
		}
		*next = n;
		return 200;
	case OP_DELETE:
		return 204;
	case OP_GET:
		*next = copy(st);
		return st == NULL ? 404 : 200;
	}
	return 0;
}

/* The controlled subset of a record as the service returned it. */
static json_object *
extract(enum kind kind, json_object *got)
{
	json_object *n = json_object_new_object(), *v;
	size_t i, nf = kind == K_USER ? 3 : 2;
	const char *const *f = kind == K_USER ? user_fields : client_fields;

	for (i = 0; i < nf; i++)
		if (json_object_object_get_ex(got, f[i], &v))
			json_object_object_add(n, f[i], copy(v));
	return n;
}

static const char *
js(json_object *o)
{
	return o == NULL ? "(absent)" : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/*
 * Apply an answered (or lost) operation to a record.  status 0, or 5xx with
 * --crash: maybe done.  For a GET, got is the record read (NULL unless 200).
 * Returns 0 when the answer fits the model.
 */
static int
rec_apply(struct rec *r, enum op op, json_object *body, int status, json_object *got,
    const char *what)
{
	json_object *set[MAXSTATES], *nx, *sub = NULL;
	int n = 0, i, exp, lost;

	if (status == ST_REFUSED) {
		/* The web server could not reach the pool: nothing ran. */
		if (!opt_crash || verifying) {
			fail("%s %s: refused by the web server (pool unreachable)", what,
			    r->id[0] ? r->id : r->name);
			r->broken = 1;
			return -1;
		}
		count(&n_refused, 1);
		return 0;
	}
	if (status == 429 && !verifying) {
		/*
		 * The rate limiter's refusal (metakeepd's default limits, which
		 * a fast seed's writes can pass): nothing ran, so every state
		 * stays, and the reads that follow check that.
		 */
		count(&n_limited, 1);
		return 0;
	}
	lost = status == 0 || status >= 500;
	if (lost && (!opt_crash || verifying)) {
		fail("%s %s: no answer or %d", what, r->id[0] ? r->id : r->name, status);
		r->broken = 1;
		return -1;
	}
	if (r->broken)
		return 0;
	if (op == OP_GET && status == 200)
		sub = extract(r->kind, got);
	for (i = 0; i < r->n; i++) {
		exp = predict(r->kind, op, r->st[i], body, &nx);
		if (lost) {
			if (op != OP_GET)
				set_add(set, &n, copy(r->st[i]));
			if (set_add(set, &n, nx) == -1)
				goto full;
			continue;
		}
		if (exp != status) {
			json_object_put(nx);
			continue;
		}
		if (op == OP_GET && status == 200 && !same(sub, nx)) {
			json_object_put(nx);
			continue;
		}
		if (set_add(set, &n, nx) == -1)
			goto full;
	}
	if (lost)
		count(&n_uncertain, 1);
	if (n == 0) {
		fail("%s %s: answer %d%s%s fits none of %d model state(s), first: %s",
		    what, r->id[0] ? r->id : r->name, status, sub ? " with " : "",
		    sub ? js(sub) : "", r->n, r->n ? js(r->st[0]) : "-");
		json_object_put(sub);
		r->broken = 1;
		return -1;
	}
	json_object_put(sub);
	/*
	 * Only a write answered 200 or 201 went through a batch after the
	 * lost write's; any other answer (a read, a 404 or 409, a DELETE's
	 * 204) may come from a look at the store before that write landed.
	 */
	if (!lost && r->pending && status != 200 && status != 201) {
		/* What was seen may be from before the lost write landed. */
		int n0 = n;

		for (i = 0; i < n0; i++) {
			(void)predict(r->kind, (enum op)r->pend_op, set[i], r->pend, &nx);
			if (set_add(set, &n, nx) == -1)
				goto full;
		}
	}
	if (lost && op != OP_GET) {
		rec_pend_clear(r);
		r->pend = body != NULL ? json_object_get(body) : NULL;
		r->pend_op = (int)op;
		r->pending = 1;
	} else if (op != OP_GET && (status == 200 || status == 201)) {
		/* Committed in a batch after the lost one's: it has landed. */
		rec_pend_clear(r);
	}
	rec_set(r, set, n);
	if (!lost && op == OP_GET)
		check_ok();
	return 0;
full:
	for (i = 0; i < n; i++)
		json_object_put(set[i]);
	json_object_put(sub);
	fail("%s %s: too many possible states", what, r->id);
	r->broken = 1;
	return -1;
}

/* ---- random bodies ---- */

static json_object *
rand_value(uint64_t *s, int depth)
{
	static const char *const strs[] = {
		"x", "hello world", "caf\xc3\xa9", "\xf0\x9f\x98\x80 emoji",
		"quote \" and \\ backslash", "tab\tnewline\n", "",
	};
	json_object *o;
	int i, n;

	switch (pick(s, depth > 2 ? 4 : 7)) {
	case 0:
		return json_object_new_int64((int64_t)(rnd(s) >> 1) - (int64_t)(1LL << 62));
	case 1:
		return json_object_new_string(strs[pick(s, 7)]);
	case 2:
		return json_object_new_boolean(pick(s, 2));
	case 3:
		return json_object_new_int(pick(s, 1000));
	case 4:
	case 5:
		o = json_object_new_object();
		n = pick(s, 4);
		for (i = 0; i < n; i++) {
			char k[16];

			snprintf(k, sizeof(k), "n%d", pick(s, 6));
			/* A null below the root is stored as null. */
			json_object_object_add(o, k, pick(s, 5) == 0 ? NULL :
			    rand_value(s, depth + 1));
		}
		return o;
	default:
		o = json_object_new_array();
		n = pick(s, 4);
		for (i = 0; i < n; i++)
			json_object_array_add(o, rand_value(s, depth + 1));
		return o;
	}
}

/*
 * A metadata patch: 1..4 root keys from a pool of 12 (with prefix),
 * each a value or (1 in 4) null; with clear, {}.
 */
static json_object *
rand_meta(uint64_t *s, const char *prefix, int allow_clear, int strings_only)
{
	json_object *o = json_object_new_object();
	int i, n;

	if (allow_clear && pick(s, 12) == 0)
		return o;
	n = 1 + pick(s, 4);
	for (i = 0; i < n; i++) {
		char k[64];

		snprintf(k, sizeof(k), "%sk%d", prefix, pick(s, strings_only ? 8 : 12));
		if (pick(s, 4) == 0)
			json_object_object_add(o, k, NULL);
		else if (strings_only) {
			char v[32];

			snprintf(v, sizeof(v), "v%u", (unsigned)(rnd(s) % 100000));
			json_object_object_add(o, k, json_object_new_string(v));
		} else
			json_object_object_add(o, k, rand_value(s, 0));
	}
	return o;
}

/* ---- the client threads ---- */

struct worker {
	int idx;
	pthread_t th;
	uint64_t rng;
	struct conn c;
	struct rec users[MAXUSERS];
	int nusers;
	struct rec clients[MAXCLIENTS];
	int nclients;
	int client_gen;
	struct rec shared;     /* this thread's keys in the shared user */
	double deadline;
};

static int
status_lost(int st)
{
	return st == 0 || st >= 500 || st == ST_REFUSED;
}

/*
 * After a lost request (--crash), 20 ms; after the rate limiter's 429, 5 ms:
 * a client would wait Retry-After (a second or more), this one only
 * pauses so as not to spin on the limiter's quick refusals.
 */
static void
backoff_if_lost(int st)
{
	if (status_lost(st) && opt_crash)
		usleep(20000);
	else if (st == 429)
		usleep(5000);
}

static void
path_for(char *out, size_t n, enum kind kind, const char *id)
{
	char enc[256];
	size_t i, j = 0;

	for (i = 0; id[i] != '\0' && j + 4 < sizeof(enc); i++) {
		unsigned char ch = (unsigned char)id[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.')
			enc[j++] = (char)ch;
		else
			j += (size_t)snprintf(enc + j, sizeof(enc) - j, "%%%02X", ch);
	}
	enc[j] = '\0';
	snprintf(out, n, "/api/v2/%s/%s", kind == K_USER ? "users" : "clients", enc);
}

static json_object *
parse(const struct resp *r)
{
	return r->body != NULL ? json_tokener_parse(r->body) : NULL;
}

static void
do_get(struct worker *w, struct rec *r)
{
	char path[300];
	struct resp rs;
	json_object *got = NULL;

	path_for(path, sizeof(path), r->kind, r->id);
	if (verifying)
		http_read(&w->c, path, &rs);
	else
		http(&w->c, "GET", path, NULL, &rs);
	if (rs.status == 200 && (got = parse(&rs)) == NULL)
		fail("GET %s: 200 with a body that is not JSON", r->id);
	else
		rec_apply(r, OP_GET, NULL, rs.status, got, "GET");
	json_object_put(got);
	backoff_if_lost(rs.status);
	resp_free(&rs);
}

static void
user_create(struct worker *w, struct rec *r)
{
	json_object *b = json_object_new_object();
	char email[160];
	struct resp rs;

	json_object_object_add(b, "user_id", json_object_new_string(r->slot_id));
	snprintf(email, sizeof(email), "%s@soak.example", r->slot_id);
	json_object_object_add(b, "email", json_object_new_string(email));
	json_object_object_add(b, "connection",
	    json_object_new_string("Username-Password-Authentication"));
	if (pick(&w->rng, 3) != 0) {
		json_object *m = rand_meta(&w->rng, "", 0, 0);

		/* POST stores objects as they are: no nulls at the root. */
		json_object_object_foreach(m, k, v)
			if (v == NULL)
				json_object_object_add(m, k, json_object_new_int(0));
		if (json_object_object_length(m) > 0)
			json_object_object_add(b, "user_metadata", m);
		else
			json_object_put(m);
	}
	if (pick(&w->rng, 2) == 0) {
		json_object *m = json_object_new_object();

		json_object_object_add(m, "plan", json_object_new_string("free"));
		json_object_object_add(m, "n", json_object_new_int(pick(&w->rng, 100)));
		json_object_object_add(b, "app_metadata", m);
	}
	if (pick(&w->rng, 2) == 0)
		json_object_object_add(b, "given_name", json_object_new_string("Soak"));
	http(&w->c, "POST", "/api/v2/users", b, &rs);
	if (rec_apply(r, OP_CREATE, b, rs.status, NULL, "POST user") == 0 &&
	    rs.status == 201)
		count(&n_writes, 1);
	backoff_if_lost(rs.status);
	resp_free(&rs);
	json_object_put(b);
}

static void
user_patch(struct worker *w, struct rec *r)
{
	json_object *b = json_object_new_object();
	char path[300];
	struct resp rs;
	int what = pick(&w->rng, 8);

	if (what < 4)
		json_object_object_add(b, "user_metadata", rand_meta(&w->rng, "", 1, 0));
	if (what >= 3 && what < 7)
		json_object_object_add(b, "app_metadata", rand_meta(&w->rng, "", 1, 0));
	if (what == 7 || pick(&w->rng, 6) == 0)
		json_object_object_add(b, "given_name", pick(&w->rng, 3) == 0 ? NULL :
		    json_object_new_string(pick(&w->rng, 2) ? "Ann" : "Bo"));
	path_for(path, sizeof(path), K_USER, r->id);
	http(&w->c, "PATCH", path, b, &rs);
	if (rec_apply(r, OP_PATCH, b, rs.status, NULL, "PATCH user") == 0 &&
	    rs.status == 200)
		count(&n_writes, 1);
	backoff_if_lost(rs.status);
	resp_free(&rs);
	json_object_put(b);
}

static void
rec_delete(struct worker *w, struct rec *r)
{
	char path[300];
	struct resp rs;

	path_for(path, sizeof(path), r->kind, r->id);
	http(&w->c, "DELETE", path, NULL, &rs);
	if (rec_apply(r, OP_DELETE, NULL, rs.status, NULL, "DELETE") == 0 &&
	    rs.status == 204)
		count(&n_writes, 1);
	backoff_if_lost(rs.status);
	resp_free(&rs);
}

/* PATCH the shared user: this thread's own root keys only, never {}. */
static void
shared_patch(struct worker *w)
{
	json_object *b = json_object_new_object();
	char path[300], prefix[16];
	struct resp rs;

	snprintf(prefix, sizeof(prefix), "c%d_", w->idx);
	json_object_object_add(b, pick(&w->rng, 2) ? "user_metadata" : "app_metadata",
	    rand_meta(&w->rng, prefix, 0, 0));
	path_for(path, sizeof(path), K_USER, shared_id);
	http(&w->c, "PATCH", path, b, &rs);
	if (rec_apply(&w->shared, OP_PATCH, b, rs.status, NULL, "PATCH shared") == 0 &&
	    rs.status == 200)
		count(&n_writes, 1);
	backoff_if_lost(rs.status);
	resp_free(&rs);
	json_object_put(b);
}

static void
client_create(struct worker *w, struct rec *r)
{
	json_object *b = json_object_new_object(), *got = NULL, *id;
	struct resp rs;

	/* Each create gets a new name, so a lost answer can be found by it. */
	rec_set(r, NULL, 0);
	rec_pend_clear(r);
	r->st[0] = NULL;
	r->n = 1;
	r->id[0] = '\0';
	r->broken = 0;
	snprintf(r->name, sizeof(r->name), "%s-c%d-app%d", opt_tag, w->idx, w->client_gen++);
	json_object_object_add(b, "name", json_object_new_string(r->name));
	if (pick(&w->rng, 2)) {
		json_object *m = rand_meta(&w->rng, "", 0, 1);

		json_object_object_foreach(m, k, v)
			if (v == NULL)
				json_object_object_add(m, k, json_object_new_string("z"));
		json_object_object_add(b, "client_metadata", m);
	}
	http(&w->c, "POST", "/api/v2/clients", b, &rs);
	if (rs.status == 201) {
		if ((got = parse(&rs)) != NULL &&
		    json_object_object_get_ex(got, "client_id", &id))
			snprintf(r->id, sizeof(r->id), "%s", json_object_get_string(id));
		else
			fail("POST client: 201 without a client_id");
	}
	if (rec_apply(r, OP_CREATE, b, rs.status, NULL, "POST client") == 0 &&
	    rs.status == 201)
		count(&n_writes, 1);
	backoff_if_lost(rs.status);
	json_object_put(got);
	resp_free(&rs);
	json_object_put(b);
}

static void
client_patch(struct worker *w, struct rec *r)
{
	json_object *b = json_object_new_object();
	char path[300];
	struct resp rs;

	json_object_object_add(b, "client_metadata", rand_meta(&w->rng, "", 1, 1));
	if (pick(&w->rng, 4) == 0) {
		char nm[96];

		/* Keep the name unique and findable: same prefix, same run. */
		snprintf(nm, sizeof(nm), "%s", r->name);
		json_object_object_add(b, "name", json_object_new_string(nm));
	}
	path_for(path, sizeof(path), K_CLIENT, r->id);
	http(&w->c, "PATCH", path, b, &rs);
	if (rec_apply(r, OP_PATCH, b, rs.status, NULL, "PATCH client") == 0 &&
	    rs.status == 200)
		count(&n_writes, 1);
	backoff_if_lost(rs.status);
	resp_free(&rs);
	json_object_put(b);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct rec *r;
	int op, i;

	while (now_s() < w->deadline) {
		op = pick(&w->rng, 100);
		if (op < 12) {
			/* Create into a slot that is (certainly) absent. */
			if (w->nusers < MAXUSERS) {
				r = &w->users[w->nusers++];
			} else {
				r = &w->users[pick(&w->rng, MAXUSERS)];
				if (rec_exists_maybe(r) || r->broken)
					continue;
			}
			user_create(w, r);
		} else if (op < 35) {
			if (w->nusers == 0)
				continue;
			r = &w->users[pick(&w->rng, w->nusers)];
			do_get(w, r);
		} else if (op < 62) {
			if (w->nusers == 0)
				continue;
			r = &w->users[pick(&w->rng, w->nusers)];
			user_patch(w, r);
		} else if (op < 77) {
			shared_patch(w);
		} else if (op < 81) {
			if (w->nusers == 0)
				continue;
			r = &w->users[pick(&w->rng, w->nusers)];
			rec_delete(w, r);
		} else if (op < 85) {
			if (w->nclients < MAXCLIENTS)
				r = &w->clients[w->nclients++];
			else {
				r = &w->clients[pick(&w->rng, MAXCLIENTS)];
				if (rec_exists_maybe(r) || r->id[0] == '\0')
					continue;
			}
			client_create(w, r);
		} else if (op < 93) {
			if (w->nclients == 0)
				continue;
			r = &w->clients[pick(&w->rng, w->nclients)];
			if (r->id[0] == '\0')
				continue;
			client_patch(w, r);
		} else if (op < 97) {
			if (w->nclients == 0)
				continue;
			r = &w->clients[pick(&w->rng, w->nclients)];
			if (r->id[0] == '\0')
				continue;
			do_get(w, r);
		} else {
			if (w->nclients == 0)
				continue;
			r = &w->clients[pick(&w->rng, w->nclients)];
			if (r->id[0] == '\0')
				continue;
			rec_delete(w, r);
		}
	}
	(void)i;
	return NULL;
}

/* ---- setup and final verification ---- */

static void
init_user_rec(struct rec *r, const char *slot_id)
{
	memset(r, 0, sizeof(*r));
	r->kind = K_USER;
	snprintf(r->slot_id, sizeof(r->slot_id), "%s", slot_id);
	snprintf(r->id, sizeof(r->id), "auth0|%s", slot_id);
	r->n = 1;          /* absent */
}

/* Fetch every page of a listing into one array (owned), or NULL. */
static json_object *
list_all(struct conn *c, const char *what, const char *sort)
{
	json_object *all = json_object_new_array(), *page;
	char path[256];
	struct resp rs;
	int p, i, len;

	for (p = 0; p < 10000; p++) {
		snprintf(path, sizeof(path), "/api/v2/%s?per_page=100&page=%d%s%s", what, p,
		    sort ? "&sort=" : "", sort ? sort : "");
		http_read(c, path, &rs);
		page = rs.status == 200 ? parse(&rs) : NULL;
		if (page == NULL || !json_object_is_type(page, json_type_array)) {
			/* What came, to tell a server bug from a driver one. */
			fail("GET %s: %d, %zu bytes: %.120s%s", path, rs.status, rs.len,
			    rs.body ? rs.body : "", rs.len > 120 ? "..." : "");
			if (rs.len > 120)
				fprintf(stderr, "#   ... ends: %s\n", rs.body + rs.len - 120);
			json_object_put(page);
			resp_free(&rs);
			json_object_put(all);
			return NULL;
		}
		resp_free(&rs);
		len = (int)json_object_array_length(page);
		for (i = 0; i < len; i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(page, i)));
		json_object_put(page);
		if (len < 100)
			break;
	}
	return all;
}

/* Wait until the service answers reads again (after a crash and restart). */
static int
wait_service(struct conn *c, double secs)
{
	double end = now_s() + secs;
	char path[300];
	struct resp rs;

	path_for(path, sizeof(path), K_USER, shared_id);
	while (now_s() < end) {
		http(c, "GET", path, NULL, &rs);
		resp_free(&rs);
		if (rs.status == 200)
			return 0;
		usleep(100000);
	}
	return -1;
}

static int
prefix_is(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static void
verify(struct worker *ws, int nw, struct conn *c)
{
	json_object *list, *u, *v, *got;
	char want[160], path[300];
	struct resp rs;
	int i, j, len, found;

	verifying = 1;
	/* 1. Every record read back, against the model. */
	for (i = 0; i < nw; i++) {
		struct worker *w = &ws[i];

		for (j = 0; j < w->nusers; j++)
			if (!w->users[j].broken)
				do_get(w, &w->users[j]);
		for (j = 0; j < w->nclients; j++) {
			struct rec *r = &w->clients[j];

			if (r->id[0] != '\0' && !r->broken)
				do_get(w, r);
		}
	}

	/* 2. The shared user: every key belongs to a thread and fits its model. */
	path_for(path, sizeof(path), K_USER, shared_id);
	http_read(c, path, &rs);
	if (rs.status != 200 || (got = parse(&rs)) == NULL) {
		fail("GET shared user: %d", rs.status);
	} else {
		for (i = 0; i < nw; i++) {
			json_object *sub = json_object_new_object(), *m;
			char prefix[16];
			const char *f[2] = { "user_metadata", "app_metadata" };
			int k;

			snprintf(prefix, sizeof(prefix), "c%d_", i);
			for (k = 0; k < 2; k++) {
				json_object *mm = NULL;

				if (!json_object_object_get_ex(got, f[k], &m))
					continue;
				json_object_object_foreach(m, key, val)
					if (prefix_is(key, prefix)) {
						if (mm == NULL)
							mm = json_object_new_object();
						json_object_object_add(mm, key, copy(val));
					}
				if (mm != NULL)
					json_object_object_add(sub, f[k], mm);
			}
			/* The model keeps {} where the thread deleted its last key. */
			for (found = 0, j = 0; j < ws[i].shared.n; j++) {
				json_object *norm = copy(ws[i].shared.st[j]);

				for (k = 0; k < 2; k++)
					if (json_object_object_get_ex(norm, f[k], &m) &&
					    json_object_object_length(m) == 0)
						json_object_object_del(norm, f[k]);
				if (same(norm, sub))
					found = 1;
				json_object_put(norm);
			}
			if (found)
				check_ok();
			else if (!ws[i].shared.broken)
				fail("shared user, thread %d: keys %s fit none of %d state(s), "
				    "first %s", i, js(sub), ws[i].shared.n, js(ws[i].shared.st[0]));
			json_object_put(sub);
		}
		/* Phantom keys: a root key no thread owns. */
		{
			const char *f[2] = { "user_metadata", "app_metadata" };
			int k, bad = 0;

			for (k = 0; k < 2; k++) {
				json_object *m;
				if (!json_object_object_get_ex(got, f[k], &m))
					continue;
				json_object_object_foreach(m, key, val) {
					int t;

					(void)val;
					if (key[0] != 'c' || sscanf(key + 1, "%d_", &t) != 1 ||
					    t < 0 || t >= nw) {
						fail("shared user: phantom key %s.%s", f[k], key);
						bad = 1;
					}
				}
			}
			if (!bad)
				check_ok();
		}
		json_object_put(got);
	}
	resp_free(&rs);

	/* 3. Listings: no user or client of this run that the model lacks. */
	if ((list = list_all(c, "users", "user_id:1")) != NULL) {
		int mine = 0, known = 0;

		snprintf(want, sizeof(want), "auth0|%s-", opt_tag);
		len = (int)json_object_array_length(list);
		for (i = 0; i < len; i++) {
			const char *id;

			u = json_object_array_get_idx(list, i);
			if (!json_object_object_get_ex(u, "user_id", &v))
				continue;
			id = json_object_get_string(v);
			if (!prefix_is(id, want) || strcmp(id, shared_id) == 0)
				continue;
			mine++;
			found = 0;
			for (j = 0; j < nw && !found; j++) {
				int k;

				for (k = 0; k < ws[j].nusers; k++)
					if (strcmp(ws[j].users[k].id, id) == 0 &&
					    rec_exists_maybe(&ws[j].users[k])) {
						found = 1;
						break;
					}
			}
			if (found)
				known++;
			else
				fail("listing: phantom user %s", id);
		}
		if (known == mine)
			check_ok();
		fprintf(stderr, "listing: %d users of this run, %d known to the model\n",
		    mine, known);
		json_object_put(list);
	}
	if ((list = list_all(c, "clients", NULL)) != NULL) {
		int mine = 0, known = 0;

		snprintf(want, sizeof(want), "%s-", opt_tag);
		len = (int)json_object_array_length(list);
		for (i = 0; i < len; i++) {
			const char *name, *id;
			json_object *jid;

			u = json_object_array_get_idx(list, i);
			if (!json_object_object_get_ex(u, "name", &v) ||
			    !json_object_object_get_ex(u, "client_id", &jid))
				continue;
			name = json_object_get_string(v);
			id = json_object_get_string(jid);
			if (!prefix_is(name, want))
				continue;
			mine++;
			found = 0;
			for (j = 0; j < nw && !found; j++) {
				int k;

				for (k = 0; k < ws[j].nclients; k++) {
					struct rec *r = &ws[j].clients[k];

					if (strcmp(r->name, name) != 0)
						continue;
					if (r->id[0] == '\0' && rec_exists_maybe(r)) {
						/* A create whose answer was lost: it did happen. */
						snprintf(r->id, sizeof(r->id), "%s", id);
						do_get(&ws[j], r);
					}
					if (strcmp(r->id, id) == 0 && rec_exists_maybe(r))
						found = 1;
					break;
				}
			}
			if (found)
				known++;
			else
				fail("listing: phantom client %s (%s)", id, name);
		}
		if (known == mine)
			check_ok();
		fprintf(stderr, "listing: %d clients of this run, %d known to the model\n",
		    mine, known);
		json_object_put(list);
	}
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mksoak -p PORT -t TOKEN [-c THREADS] [-s SECONDS] [-S SEED]\n"
	    "              [--tag TAG] [--crash [--wait SECONDS]] [-v]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, 't' },
		{ "clients", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "tag", required_argument, NULL, 'T' },
		{ "crash", no_argument, NULL, 'C' },
		{ "wait", required_argument, NULL, 'W' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct worker *ws;
	struct conn mc = { -1, 0, NULL, 0, 0 };
	struct resp rs;
	json_object *b;
	double t0, t1;
	int ch, i;

	while ((ch = getopt_long(argc, argv, "p:t:c:s:S:T:CW:v", lo, NULL)) != -1) {
		switch (ch) {
		case 'p': opt_port = atoi(optarg); break;
		case 't': opt_token = optarg; break;
		case 'c': opt_threads = atoi(optarg); break;
		case 's': opt_seconds = atof(optarg); break;
		case 'S': opt_seed = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': snprintf(opt_tag, sizeof(opt_tag), "%s", optarg); break;
		case 'C': opt_crash = 1; break;
		case 'W': opt_wait = atof(optarg); break;
		case 'v': opt_verbose = 1; break;
		default: usage();
		}
	}
	if (opt_token == NULL)
		opt_token = getenv("MK_TOKEN");
	if (opt_port <= 0 || opt_port > 65535 || opt_token == NULL ||
	    opt_threads < 1 || opt_threads > MAXTHREADS || opt_seconds <= 0)
		usage();

	/* The shared user. */
	snprintf(shared_id, sizeof(shared_id), "auth0|%s-shared", opt_tag);
	b = json_object_new_object();
	json_object_object_add(b, "user_id", json_object_new_string(shared_id + 6));
	{
		char email[96];

		snprintf(email, sizeof(email), "%s-shared@soak.example", opt_tag);
		json_object_object_add(b, "email", json_object_new_string(email));
	}
	json_object_object_add(b, "connection",
	    json_object_new_string("Username-Password-Authentication"));
	http(&mc, "POST", "/api/v2/users", b, &rs);
	json_object_put(b);
	if (rs.status != 201) {
		fprintf(stderr, "mksoak: creating the shared user: %d %s\n", rs.status,
		    rs.body ? rs.body : "");
		printf("RESULT checks=0 failures=1 requests=1 writes=0 uncertain=0 limited=0 "
		    "seconds=0\n");
		return 1;
	}
	resp_free(&rs);

	if ((ws = calloc((size_t)opt_threads, sizeof(*ws))) == NULL)
		return 2;
	t0 = now_s();
	for (i = 0; i < opt_threads; i++) {
		struct worker *w = &ws[i];
		int j;

		w->idx = i;
		w->rng = ((uint64_t)opt_seed << 20) ^ (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ULL;
		if (w->rng == 0)
			w->rng = 1;
		w->c.fd = -1;
		w->deadline = t0 + opt_seconds;
		for (j = 0; j < MAXUSERS; j++) {
			char sid[96];

			snprintf(sid, sizeof(sid), "%s-c%d-u%d", opt_tag, i, j);
			init_user_rec(&w->users[j], sid);
		}
		for (j = 0; j < MAXCLIENTS; j++) {
			w->clients[j].kind = K_CLIENT;
			w->clients[j].n = 1;
		}
		w->shared.kind = K_USER;
		snprintf(w->shared.id, sizeof(w->shared.id), "%s", shared_id);
		w->shared.st[0] = json_object_new_object();
		w->shared.n = 1;
		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			fprintf(stderr, "mksoak: pthread_create failed\n");
			return 2;
		}
	}
	for (i = 0; i < opt_threads; i++)
		pthread_join(ws[i].th, NULL);
	t1 = now_s();
	fprintf(stderr, "load: %lu requests in %.1f s (%.0f/s), %lu writes acknowledged, "
	    "%lu without an answer, %lu refused by the web server, %lu by the rate limit; "
	    "status 2xx %lu 3xx %lu 4xx %lu 5xx %lu none %lu\n",
	    n_req, t1 - t0, n_req / (t1 - t0), n_writes, n_uncertain, n_refused, n_limited,
	    n_status[2], n_status[3], n_status[4], n_status[5], n_status[0]);

	if (opt_crash && wait_service(&mc, opt_wait) == -1)
		fail("the service did not come back within %.0f s", opt_wait);
	verify(ws, opt_threads, &mc);

	printf("RESULT checks=%lu failures=%lu requests=%lu writes=%lu uncertain=%lu "
	    "limited=%lu seconds=%.1f\n", n_checks, n_fail, n_req, n_writes, n_uncertain,
	    n_limited, t1 - t0);
	for (i = 0; i < opt_threads; i++) {
		int j;

		for (j = 0; j < MAXUSERS; j++) {
			rec_set(&ws[i].users[j], NULL, 0);
			rec_pend_clear(&ws[i].users[j]);
		}
		for (j = 0; j < MAXCLIENTS; j++) {
			rec_set(&ws[i].clients[j], NULL, 0);
			rec_pend_clear(&ws[i].clients[j]);
		}
		rec_set(&ws[i].shared, NULL, 0);
		rec_pend_clear(&ws[i].shared);
		conn_close(&ws[i].c);
		free(ws[i].c.in);
	}
	conn_close(&mc);
	free(mc.in);
	free(ws);
	return n_fail == 0 ? 0 : 1;
}

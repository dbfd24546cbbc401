/*
 * worker: the FastCGI accept loop and the CGI one-shot (see worker.h).
 *
 * Both go through one request path, worker_serve, over a small transport
 * (parameters, body reader, writer): libfcgi's request streams for FastCGI,
 * the environment and stdio for CGI.  One http_resp and the body and URI
 * buffers live as long as the worker and are reset per request, so a
 * steady worker stops allocating.
 *
 * Stopping: the SIGTERM handler sets a flag and puts /dev/null over the
 * listening descriptor with dup2.  The handler is installed with
 * SA_RESTART, so a request in flight is not cut by EINTR in the middle of a
 * read or an LMDB call; an accept() that is blocked (or about to be
 * entered, the race a flag check alone cannot close) is restarted on
 * /dev/null and fails at once with ENOTSOCK.  Only this process's
 * descriptor changes: the other workers keep the shared socket.
 */
#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "api.h"
#include "buf.h"
#include "gc.h"
#include "jx.h"
#include "log.h"
#include "logev.h"
#include "master.h"
#include "slots.h"
#include "store.h"
#include "svc.h"

/*
 * After refusing a body over the limit, read and drop at most this much of
 * it, so the web server, still sending, sees our answer rather than a reset
 * connection.  Beyond it the connection is closed.
 */
#define WORKER_DRAIN_MAX ((size_t)64 << 20)
#define WORKER_CHUNK 16384
#define WORKER_TRIM_AT ((size_t)256 << 10)  /* a request this large: malloc_trim after */

/*
 * After a request, at most this often, clear the reader slots of processes
 * that died inside a read transaction (a killed metakeepctl, a worker that
 * died after its successors opened the store): a dead reader pins its
 * snapshot, so pages are not reused and the map fills up.  Workers clear
 * them at start too (store_open); this covers the deaths no start follows.
 */
#define WORKER_READER_CHECK_S 5

static volatile sig_atomic_t worker_stop;
static int worker_listen_fd = -1;
static int worker_null_fd = -1;
static struct ratelimit *worker_rl;   /* the pool's buckets, or NULL */

void
worker_set_ratelimit(struct ratelimit *rl)
{
	worker_rl = rl;
}

/* Where a request comes from and its answer goes: FastCGI or CGI. */
struct xport {
	const char *(*param)(void *ctx, const char *name);
	/* Read up to n bytes; fewer only at the end of the input or on error. */
	size_t (*read)(void *ctx, char *p, size_t n);
	int (*write)(void *ctx, const char *p, size_t n);  /* 0 or -1 */
	void *ctx;
};

struct worker {
	const struct mk_conf *conf;
	struct api_conf api;  /* the request limits of conf, as api takes them */
	struct store *store;
	struct slots slots;   /* the pool's search slots (api.search_slots) */
	struct http_resp rs;
	struct mk_buf body;
	time_t reader_check;  /* CLOCK_MONOTONIC s of the last stale reader check */
};

static void
worker_on_term(int sig)
{
	int saved = errno;

	(void)sig;
	worker_stop = 1;
	if (worker_listen_fd != -1 && worker_null_fd != -1)
		(void)dup2(worker_null_fd, worker_listen_fd);
	errno = saved;
}

/* ---- transports ---- */

/*
 * FCGX_GetParam, with a test of the first byte before the strncmp: a
 * request looks up seven names among some thirty parameters, and the
 * strncmp calls were a tenth of a GET's time in the worker (BENCHMARKS.md).
 */
static const char *
fcgi_param(void *ctx, const char *name)
{
	FCGX_Request *r = ctx;
	size_t len = strlen(name);
	char **p;

	if (r->envp == NULL)
		return NULL;
	for (p = r->envp; *p != NULL; p++)
		if ((*p)[0] == name[0] && strncmp(*p, name, len) == 0 && (*p)[len] == '=')
			return *p + len + 1;
	return NULL;
}

static size_t
fcgi_read(void *ctx, char *p, size_t n)
{
	FCGX_Request *r = ctx;
	size_t got = 0;
	int want, k;

	while (got < n) {
		want = n - got > INT_MAX ? INT_MAX : (int)(n - got);
		if ((k = FCGX_GetStr(p + got, want, r->in)) <= 0)
			break;
		got += (size_t)k;
		if (k < want)
			break;
	}
	return got;
}

static int
fcgi_write(void *ctx, const char *p, size_t n)
{
	FCGX_Request *r = ctx;
	int chunk;

	while (n > 0) {
		chunk = n > INT_MAX ? INT_MAX : (int)n;
		if (FCGX_PutStr(p, chunk, r->out) != chunk)
			return -1;
		p += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

static const char *
cgi_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static size_t
cgi_read(void *ctx, char *p, size_t n)
{
	(void)ctx;
	return fread(p, 1, n, stdin);
}

static int
cgi_write(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

/* ---- one request ---- */

/* The param, or NULL when absent or empty (servers send both for "none"). */
static const char *
worker_param(const struct xport *x, const char *name)
{
	const char *v = x->param(x->ctx, name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * CONTENT_LENGTH as a size: 0 and *len = 0 when absent, 0 and the value
 * when a plain decimal number, -1 otherwise (signs, blanks, overflow).
 */
static int
worker_content_length(const char *s, size_t *len)
{
	size_t v = 0;

	if (s == NULL) {
		*len = 0;
		return 0;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > ((size_t)-1 - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*s - '0');
	}
	*len = v;
	return 0;
}

/* Read and drop up to max bytes; returns 1 when the input ended within it. */
static int
worker_drain(const struct xport *x, size_t max)
{
	char junk[WORKER_CHUNK];
	size_t k, done = 0;

	while (done < max) {
		k = x->read(x->ctx, junk, sizeof(junk));
		done += k;
		if (k < sizeof(junk))
			return 1;
	}
	return 0;
}

/* Read exactly len bytes into b; -1 on a short body or lack of memory. */
static int
worker_read_body(const struct xport *x, struct mk_buf *b, size_t len)
{
	char chunk[WORKER_CHUNK];
	size_t want, k;

	buf_reset(b);
	while (b->n < len) {
		want = len - b->n < sizeof(chunk) ? len - b->n : sizeof(chunk);
		k = x->read(x->ctx, chunk, want);
		if (k > 0 && buf_add(b, chunk, k) == -1)
			return -1;
		if (k < want)
			return -1;
	}
	return 0;
}

/* An answer the worker makes itself, when it cannot even ask the api. */
static int
worker_fixed(const struct xport *x, int status, const char *message)
{
	char out[512];
	int n;

	n = snprintf(out, sizeof(out),
	    "Status: %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "%s"
	    "\r\n"
	    "{\"statusCode\":%d,\"error\":\"%s\",\"message\":\"%s\"}",
	    status, http_reason(status),
	    status == 503 ? "Retry-After: 5\r\n" : "",
	    status, http_reason(status), message);
	if (n < 0 || (size_t)n >= sizeof(out))
		return -1;
	return x->write(x->ctx, out, (size_t)n);
}

static int
worker_write_resp(const struct xport *x, const struct http_resp *rs)
{
	char head[160];
	int status = rs->status, n;

	if (rs->headers.failed || rs->body.failed) {
		log_warnx("response too large for memory; answering 500");
		return worker_fixed(x, 500, "Internal Server Error");
	}
	if (status < 100 || status > 599) {
		log_warnx("api answered status %d; answering 500", status);
		return worker_fixed(x, 500, "Internal Server Error");
	}
	n = snprintf(head, sizeof(head), "Status: %d %s\r\nContent-Type: %s\r\n",
	    status, http_reason(status), rs->content_type != NULL ? rs->content_type :
	    "application/json; charset=utf-8");
	if (n < 0 || (size_t)n >= sizeof(head))
		return worker_fixed(x, 500, "Internal Server Error");
	if (x->write(x->ctx, head, (size_t)n) == -1 ||
	    (rs->headers.n > 0 &&
	     x->write(x->ctx, rs->headers.p, rs->headers.n) == -1) ||
	    x->write(x->ctx, "\r\n", 2) == -1 ||
	    (rs->body.n > 0 && x->write(x->ctx, rs->body.p, rs->body.n) == -1))
		return -1;
	return 0;
}

/*
 * Hand memory back after a large request (issue 12, finding 8).  A 1 MiB
 * body, a large answer or a search over many users leaves megabytes of
 * free heap that glibc keeps for later (its mmap threshold rises after
 * each large free), so a worker that once served such requests stayed
 * hundreds of MB large.  Then the worker's large buffers and jx's kept
 * parsers (jx_release) are dropped and malloc_trim returns every free
 * page; it costs a few hundred microseconds, only after such requests.
 */
static void
worker_trim(struct worker *w, const struct http_req *rq, size_t body_len)
{
	if (body_len < WORKER_TRIM_AT && w->body.cap < WORKER_TRIM_AT &&
	    w->rs.body.cap < WORKER_TRIM_AT && strstr(rq->uri, "q=") == NULL)
		return;
	if (w->body.cap >= WORKER_TRIM_AT)
		buf_free(&w->body);
	if (w->rs.body.cap >= WORKER_TRIM_AT)
		buf_free(&w->rs.body);
	jx_release();
	(void)malloc_trim(0);
}

/*
 * Serve one request over x.  Returns 0 when an answer was written, -1 when
 * writing failed (the client went away: nothing to do but log it).
 * *unread is set to 1 when input may be left unread (the connection must
 * not be reused).
 */
static int
worker_serve(struct worker *w, const struct xport *x, int *unread)
{
	struct http_req rq;
	const char *cl, *https;
	size_t len = 0;
	int drain = 0, rc;

	*unread = 0;
	memset(&rq, 0, sizeof(rq));
	http_resp_reset(&w->rs);

	if ((rq.method = worker_param(x, "REQUEST_METHOD")) == NULL)
		rq.method = "GET";
	/*
	 * Routing needs the path as the client sent it.  Rebuilding it from
	 * SCRIPT_NAME and PATH_INFO (issue 12, finding 6) let a server that
	 * maps some other script to metakeepd reach the API through any
	 * PATH_INFO holding "/api/v2/"; every supported server sends
	 * REQUEST_URI, so its absence is refused.
	 */
	if ((rq.uri = worker_param(x, "REQUEST_URI")) == NULL)
		return worker_fixed(x, 400, "The web server sent no REQUEST_URI.");
	rq.content_type = worker_param(x, "CONTENT_TYPE");
	rq.authorization = worker_param(x, "HTTP_AUTHORIZATION");
	rq.if_match = worker_param(x, "HTTP_IF_MATCH");
	rq.remote_addr = worker_param(x, "REMOTE_ADDR");
	rq.forwarded_for = worker_param(x, "HTTP_X_FORWARDED_FOR");
	rq.user_agent = worker_param(x, "HTTP_USER_AGENT");
	rq.cookie = worker_param(x, "HTTP_COOKIE");
	https = worker_param(x, "HTTPS");
	rq.https = https != NULL && strcasecmp(https, "on") == 0;
	/* MK_HOST: the Host as sent, from a server that rewrites HTTP_HOST (nginx). */
	if ((rq.host = worker_param(x, "MK_HOST")) == NULL)
		rq.host = worker_param(x, "HTTP_HOST");

	cl = worker_param(x, "CONTENT_LENGTH");
	if (worker_content_length(cl, &len) == -1) {
		log_debug("%s %s: bad CONTENT_LENGTH; no body", rq.method, rq.uri);
		drain = 1;
	} else if (len > w->api.body_limit) {
		rq.body_too_big = 1;
		drain = 1;
	} else if (len > 0) {
		if (worker_read_body(x, &w->body, len) == 0) {
			rq.body = w->body.p;
			rq.body_len = w->body.n;
		} else if (w->body.failed) {
			log_warnx("%s %s: no memory for a %zu byte body",
			    rq.method, rq.uri, len);
			*unread = 1;
			return worker_fixed(x, 503, "Out of memory.");
		} else
			log_debug("%s %s: body shorter than CONTENT_LENGTH %zu",
			    rq.method, rq.uri, len);
	}

	if (admin_path(rq.uri))
		admin_handle(w->store, &w->api, &rq, &w->rs);
	else
		api_handle(w->store, &w->api, &rq, &w->rs);
	log_debug("%s %s %d", rq.method, rq.uri, w->rs.status);
	rc = worker_write_resp(x, &w->rs);
	if (drain && !worker_drain(x, WORKER_DRAIN_MAX))
		*unread = 1;
	worker_trim(w, &rq, len);
	return rc;
}

/* ---- process set-up ---- */

static int
worker_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1 || sigaction(SIGHUP, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = worker_on_term;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGTERM, &sa, NULL) == -1 || sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * The search slots (slots.h): search_slots of them, by default one fewer
 * than the workers (at least one), so that heavy searches always leave a
 * worker free; the lock file lives next to the database.
 */
static void
worker_slots(struct worker *w, const struct mk_conf *c)
{
	char path[sizeof(c->db_dir) + 32];
	struct mk_err err;
	int n = c->search_slots;

	if (n < 0)
		n = c->workers > 1 ? c->workers - 1 : 1;
	if (n == 0)
		return;
	snprintf(path, sizeof(path), "%s/search-slots.lock", c->store.dir);
	memset(&err, 0, sizeof(err));
	/* Without the file the worker still serves: heavy searches are
	 * then not limited, which the log says. */
	if (slots_open(&w->slots, path, (unsigned)n, &err) != MK_OK) {
		log_warnx("%s; heavy searches are not limited", err.msg);
		return;
	}
	w->api.search_slots = &w->slots;
}

static int
worker_open(struct worker *w, const struct mk_conf *c, struct gc *g)
{
	struct mk_err err;
	enum mk_code rc;

	memset(w, 0, sizeof(*w));
	w->conf = c;
	api_conf_defaults(&w->api);
	w->api.body_limit = c->body_limit;
	w->api.limits = c->limits;
	w->api.search_budget = c->search_budget;
	w->api.rl = c->rate_limit ? worker_rl : NULL;
	w->api.rate_read = c->rate_read;
	w->api.rate_write = c->rate_write;
	w->api.logs = c->logs;
	w->api.trusted_proxies = c->trusted_proxies[0] != '\0' ? c->trusted_proxies : NULL;
	w->api.issuer = c->issuer;
	w->api.audience = c->audience;
	memset(&err, 0, sizeof(err));
	w->slots.fd = -1;
	if (store_open(&c->store, &w->store, &err) != MK_OK) {
		log_warnx("cannot open the store: %s", err.msg);
		return -1;
	}
	worker_slots(w, c);
	/* Without a slot the worker still works: it commits alone. */
	if ((rc = svc_group_commit(g, w->store, &w->api.limits)) != MK_OK)
		log_warnx("group commit: %s; this worker commits alone",
		    rc == MK_ERR_FULL ? "no free slot" : "cannot attach");
	return 0;
}

/* Clear stale reader slots when WORKER_READER_CHECK_S went by since the last time. */
static void
worker_reader_check(struct worker *w)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (w->reader_check != 0 && ts.tv_sec - w->reader_check < WORKER_READER_CHECK_S)
		return;
	w->reader_check = ts.tv_sec;
	(void)store_reader_check(w->store, NULL);
}

static void
worker_close(struct worker *w)
{
	/* The failed calls' events this worker still holds (logev.h). */
	if (w->store != NULL)
		(void)logev_flush(w->store);
	if (w->store != NULL)
		store_close(w->store);
	slots_close(&w->slots);
	http_resp_free(&w->rs);
	buf_free(&w->body);
}

/* What this worker did in the group commit, when it led any batch. */
static void
worker_gc_stats(const struct gc *g)
{
	struct gc_stats st;

	if (g == NULL)
		return;
	gc_stats(g, &st);
	if (st.led > 0)
		log_info("group commit: led %lu batches of %lu writes (%.2f a batch), "
		    "%lu writes alone", st.led, st.applied,
		    (double)st.applied / (double)st.led, st.alone);
}

int
worker_run(const struct mk_conf *c, int listen_fd, struct gc *g)
{
	struct worker w;
	struct xport x;
	FCGX_Request req;
	unsigned long served = 0;
	int rc, unread, status = 0, req_init = 0;

	worker_stop = 0;
	if ((worker_null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		log_warn("/dev/null");
		return 1;
	}
	worker_listen_fd = listen_fd;
	if (worker_signals() == -1) {
		log_warn("sigaction");
		return 1;
	}
	if (worker_open(&w, c, g) == -1) {
		worker_close(&w);
		return EX_CONFIG;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, listen_fd, 0) != 0) {
		log_warnx("cannot initialise libfcgi");
		status = 1;
		goto out;
	}
	req_init = 1;
	x.param = fcgi_param;
	x.read = fcgi_read;
	x.write = fcgi_write;
	x.ctx = &req;
	log_debug("worker ready");

	while (!worker_stop) {
		if ((rc = FCGX_Accept_r(&req)) < 0) {
			if (worker_stop)
				break;
			if (rc == -EINTR)
				continue;
			log_warnx("accept failed: %s", rc > -1000 ? strerror(-rc) :
			    "libfcgi error");
			status = 1;
			break;
		}
		/* For the master's watchdog (request_timeout). */
		master_request_begin();
		if (worker_serve(&w, &x, &unread) == -1)
			log_debug("could not write the answer: client gone");
		if (unread)
			req.keepConnection = 0;
		FCGX_Finish_r(&req);
		master_request_end();
		served++;
		worker_reader_check(&w);
		if (c->max_requests != 0 && served >= c->max_requests) {
			log_debug("recycling after %lu requests", served);
			break;
		}
	}
out:
	if (req_init)
		FCGX_Free(&req, 1);
	worker_gc_stats(g);
	worker_close(&w);
	return status;
}

int
worker_cgi(const struct mk_conf *c)
{
	struct worker w;
	struct xport x;
	int unread, status = 0;

	x.param = cgi_param;
	x.read = cgi_read;
	x.write = cgi_write;
	x.ctx = NULL;
	signal(SIGPIPE, SIG_IGN);
	if (worker_open(&w, c, NULL) == -1) {
		(void)worker_fixed(&x, 503, "The store is unavailable.");
		status = EX_CONFIG;
		goto out;
	}
	if (worker_serve(&w, &x, &unread) == -1)
		status = 1;
out:
	if (fflush(stdout) != 0)
		status = status ? status : 1;
	worker_close(&w);
	return status;
}

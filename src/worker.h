/*
 * worker: one process that answers requests.  It opens its own store (after
 * fork, as LMDB requires), then loops: accept a FastCGI request, turn its
 * parameters and body into a struct http_req, call api_handle, write the
 * struct http_resp.  The same request code also serves plain CGI.
 *
 * How a request becomes a struct http_req:
 *   method        REQUEST_METHOD ("GET" when missing, as CGI implies)
 *   uri           REQUEST_URI, as the client sent it; a request without
 *                 one is answered 400 (SCRIPT_NAME + PATH_INFO are never
 *                 used to rebuild it: issue 12, finding 6)
 *   content_type  CONTENT_TYPE, authorization HTTP_AUTHORIZATION,
 *                 if_match HTTP_IF_MATCH (NULL when absent)
 *   body          exactly CONTENT_LENGTH bytes.  Over the body limit:
 *                 body_too_big = 1 and nothing is read into memory (the api
 *                 answers 413; what the server already sent is drained and
 *                 thrown away, up to a bound, after the answer).  A
 *                 CONTENT_LENGTH that is not a plain number, or a body that
 *                 ends before it: body NULL, body_len 0, and the api decides
 *                 (a POST or PATCH without a body is a 400).
 * The answer is "Status: N reason", "Content-Type: application/json;
 * charset=utf-8", the api's extra headers, an empty line and the body.
 *
 * Signals in a worker: SIGTERM and SIGINT finish the request in flight and
 * then exit 0; SIGHUP is ignored (it is the master's); SIGPIPE is ignored
 * (a web server that went away is a failed write, not a dead worker).
 */
#ifndef MK_WORKER_H
#define MK_WORKER_H

#include "conf.h"

struct gc;

/*
 * Serve FastCGI requests on listen_fd until told to stop or after
 * c->max_requests requests (when not 0).  Runs in a forked child; the
 * return value is its exit status: 0 after a stop or a recycle,
 * EX_CONFIG (sysexits.h) when the store cannot be opened: the master does
 * not respawn such a worker, it stops; 1 when the listening socket is
 * unusable.  c is borrowed.  g: the pool's group commit region (made by
 * the master before forking; see gc.h), or NULL to commit alone.
 */
int worker_run(const struct mk_conf *c, int listen_fd, struct gc *g);

/*
 * Answer the one CGI request described by the environment and stdin, on
 * stdout.  Returns the process exit status: 0 when an answer was written
 * (an error answer included), EX_CONFIG when the store cannot be
 * opened (a 500 is written first), 1 when stdout failed.
 */
int worker_cgi(const struct mk_conf *c);

/*
 * The rate limits' shared buckets (ratelimit.h) the workers of this
 * process take from, made before fork() (borrowed for the life of the
 * process); NULL: no limits.  Call it before worker_run or worker_cgi.
 */
void worker_set_ratelimit(struct ratelimit *rl);

#endif

/*
 * admin: the admin page, server-rendered HTML under /admin/ next to the API
 * (issue 17).  The worker hands it the requests whose path is the admin
 * page's (admin_path); everything else goes to api_handle.
 *
 * It sits above the api layer: a signed-in session's reads and writes are
 * API requests run through api_handle_as with the session's token, so the
 * page can do exactly what that token's scopes allow, and validates with the
 * API's own rules and messages.  Sessions live in the store (ST_SESSIONS,
 * admin_session.c); every asset (CSS, JavaScript) is a string in the binary
 * (admin_html.c).
 */
#ifndef MK_ADMIN_H
#define MK_ADMIN_H

#include "api.h"
#include "store.h"

/*
 * 1 when uri (REQUEST_URI) is the admin page's: its path has a segment
 * "admin" (at the start, or after a mount prefix) and no "/api/v2/" (the
 * API keeps every path that names it, as before).
 */
int admin_path(const char *uri);

/*
 * Answer one admin request.  Never fails: every failure becomes an HTML
 * error page (500 for internal ones, logged).  rs must have been reset; c
 * (borrowed) is the API's configuration, which the page's API calls use.
 */
void admin_handle(struct store *s, const struct api_conf *c, const struct http_req *rq,
    struct http_resp *rs);

#endif

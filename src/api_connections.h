/*
 * api_connections: GET /connections, the database connections this
 * service accepts (svc_limits.connections, configured with the
 * `connections` key; Username-Password-Authentication when none is), in
 * Auth0's shape so that scripts can list them.  Read-only: connections are
 * configuration, not data.  Scope read:connections.
 */
#ifndef MK_API_CONNECTIONS_H
#define MK_API_CONNECTIONS_H

#include "api_ctx.h"

enum mk_code api_connections_list(struct api_ctx *c);  /* GET /connections */

#endif

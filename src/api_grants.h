/*
 * api_grants: the handlers of Auth0's /api/v2/client-grants (grant.h
 * stores them): list (filters client_id and audience, paging,
 * include_totals), create, get, update of scope, delete.
 */
#ifndef MK_API_GRANTS_H
#define MK_API_GRANTS_H

#include "api_ctx.h"

enum mk_code api_grants_list(struct api_ctx *c);
enum mk_code api_grants_create(struct api_ctx *c);
enum mk_code api_grants_get(struct api_ctx *c);
enum mk_code api_grants_patch(struct api_ctx *c);
enum mk_code api_grants_delete(struct api_ctx *c);

#endif

/*
 * api_clients: the handlers of /clients and /clients/{id} (spec 5), as the
 * route table in api.c calls them (see api_ctx.h for what a handler gets
 * and returns).  client_secret is shown only with read:client_keys and
 * set only with update:client_keys.
 */
#ifndef MK_API_CLIENTS_H
#define MK_API_CLIENTS_H

#include "api_ctx.h"

enum mk_code api_clients_list(struct api_ctx *c);    /* GET /clients */
enum mk_code api_clients_get(struct api_ctx *c);     /* GET /clients/{id} */
enum mk_code api_clients_create(struct api_ctx *c);  /* POST /clients */
enum mk_code api_clients_patch(struct api_ctx *c);   /* PATCH /clients/{id} */
enum mk_code api_clients_delete(struct api_ctx *c);  /* DELETE /clients/{id} */

#endif

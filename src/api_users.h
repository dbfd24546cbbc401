/*
 * api_users: the handlers of /users, /users/{id} and /users-by-email
 * (spec 3 and 6), as the route table in api.c calls them (see api_ctx.h
 * for what a handler gets and returns).
 */
#ifndef MK_API_USERS_H
#define MK_API_USERS_H

#include "api_ctx.h"

enum mk_code api_users_list(struct api_ctx *c);      /* GET /users */
enum mk_code api_users_by_email(struct api_ctx *c);  /* GET /users-by-email */
enum mk_code api_users_get(struct api_ctx *c);       /* GET /users/{id} */
enum mk_code api_users_create(struct api_ctx *c);    /* POST /users */
enum mk_code api_users_patch(struct api_ctx *c);     /* PATCH /users/{id} */
enum mk_code api_users_delete(struct api_ctx *c);    /* DELETE /users/{id} */

#endif

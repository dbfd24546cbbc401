/*
 * api_logs: handlers of the log event routes (docs/api.md section 9), as
 * api.c's route table calls them (api_ctx.h says what a handler gets).
 */
#ifndef MK_API_LOGS_H
#define MK_API_LOGS_H

#include "api_ctx.h"

/* GET /logs: q, page, per_page, include_totals, sort, fields; or from/take. */
enum mk_code api_logs_list(struct api_ctx *c);
/* GET /logs/{id}: one event; 404 "The log does not exist." */
enum mk_code api_logs_get(struct api_ctx *c);
/* GET /users/{id}/logs: the events about that user; page, per_page, sort, include_totals. */
enum mk_code api_users_logs(struct api_ctx *c);

#endif

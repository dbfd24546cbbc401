/*
 * api_oauth: the routes outside /api/v2/ that make metakeep an Auth0
 * tenant to client code: POST /oauth/token (the client-credentials grant,
 * oauth.h) and GET /.well-known/jwks.json (the public keys, keys.h).
 * Anyone may call them (no bearer token); their errors have the OAuth
 * shape, {"error":"...","error_description":"..."}, as Auth0's
 * Authentication API answers (docs/api.md lists them with their sources).
 */
#ifndef MK_API_OAUTH_H
#define MK_API_OAUTH_H

#include "api_ctx.h"

#define API_OAUTH_BODY_MAX 16384   /* bytes of a token request */

enum mk_code api_oauth_token(struct api_ctx *c);
enum mk_code api_oauth_jwks(struct api_ctx *c);

#endif

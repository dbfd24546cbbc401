#!/bin/bash
# test_scopes.sh BUILD_DIR: the scope and secret rules through the web
# server of $MK_STACK (see lib.sh), not only in the unit suite: a token
# without the route's scope gets 403 insufficient_scope and changes
# nothing; update:users_app_metadata alone may change app_metadata and not
# user_metadata; client_secret is shown only with read:client_keys.
set -u
. "$(dirname "$0")/lib.sh"

start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

CONN=Username-Password-Authentication
req POST /api/v2/users '{"email":"scoped@example.com","connection":"'$CONN'","user_metadata":{"k":1}}'
assert_status 201 "create a user (all scopes)"
U=/api/v2/users/$(jq -rn --arg s "$(jq -r .user_id <<<"$BODY")" '$s | @uri')
req POST /api/v2/clients '{"name":"Scoped App"}'
assert_status 201 "create a client (all scopes)"
C=/api/v2/clients/$(jq -r .client_id <<<"$BODY")
snapshot "$U"

RU=$(make_token read:users 2>/dev/null)
req GET "$U" "" "$RU"
assert_status 200 "read:users: GET a user"
req PATCH "$U" '{"user_metadata":{"k":2}}' "$RU"
assert_error 403 "Forbidden" insufficient_scope "Insufficient scope, expected any of: *" \
	"scope rule: read:users may not PATCH"
assert_unchanged "$U" "scope rule: the refused PATCH changed nothing"
req POST /api/v2/users '{"email":"nope@example.com","connection":"'$CONN'"}' "$RU"
assert_error 403 "Forbidden" insufficient_scope "Insufficient scope, expected any of: create:users" \
	"scope rule: read:users may not POST"
req GET /api/v2/clients "" "$RU"
assert_error 403 "Forbidden" insufficient_scope \
	"Insufficient scope, expected any of: read:clients,read:client_keys" \
	"scope rule: read:users may not list clients"

AM=$(make_token update:users_app_metadata 2>/dev/null)
req PATCH "$U" '{"user_metadata":{"k":3}}' "$AM"
assert_error 403 "Forbidden" insufficient_scope "Some fields cannot be updated with the permissions granted by the bearer token scopes" \
	"scope rule: update:users_app_metadata may not change user_metadata"
assert_unchanged "$U" "scope rule: the refused user_metadata PATCH changed nothing"
req PATCH "$U" '{"app_metadata":{"plan":"gold"}}' "$AM"
assert_status 200 "scope rule: update:users_app_metadata may change app_metadata"

RC=$(make_token read:clients 2>/dev/null)
req GET "$C" "" "$RC"
assert_status 200 "read:clients: GET a client"
assert_json 'has("client_secret")' false "secret rule: no client_secret without read:client_keys"
RK=$(make_token read:client_keys 2>/dev/null)
req GET "$C" "" "$RK"
assert_status 200 "read:client_keys: GET a client"
assert_true '.client_secret | type == "string" and length == 64' \
	"secret rule: client_secret shown with read:client_keys"

summary

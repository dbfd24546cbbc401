#!/bin/bash
# test_oauth.sh BUILD_DIR: client grants and the client-credentials grant
# through the web server of $MK_STACK (see lib.sh): the web server routes
# /oauth/token and /.well-known/jwks.json to metakeepd (as under
# $MK_PREFIX); a client with a grant gets an RS256 token whose scopes the
# API enforces; Auth0's error bodies for a wrong secret, a missing grant
# and a duplicate grant; deleting the client stops its token.
set -u
. "$(dirname "$0")/lib.sh"

start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

# The audience of a tenant at the host curl calls (Host: 127.0.0.1:PORT).
AUD=https://127.0.0.1:$MK_PORT/api/v2/

req POST /api/v2/clients '{"name":"Machine","app_type":"non_interactive"}'
assert_status 201 "create a client"
CID=$(jq -r .client_id <<<"$BODY")
SECRET=$(jq -r .client_secret <<<"$BODY")

req POST /oauth/token "{\"grant_type\":\"client_credentials\",\"client_id\":\"$CID\",\"client_secret\":\"$SECRET\",\"audience\":\"$AUD\"}" -
assert_status 403 "no grant yet: 403"
assert_json . "{\"error\":\"access_denied\",\"error_description\":\"Client is not authorized to access \\\"$AUD\\\". You need to create a \\\"client-grant\\\" associated to this API.\"}" \
	"no grant yet: Auth0's body"

req POST /api/v2/client-grants "{\"client_id\":\"$CID\",\"audience\":\"$AUD\",\"scope\":[\"read:users\"]}"
assert_status 201 "create a client grant"
assert_true '.id | startswith("cgr_")' "the grant's id is cgr_..."
GID=$(jq -r .id <<<"$BODY")
req POST /api/v2/client-grants "{\"client_id\":\"$CID\",\"audience\":\"$AUD\",\"scope\":[]}"
assert_error 409 "Conflict" client_grant_conflict "Client grant already exists" \
	"the same client and audience again: 409"
req POST /api/v2/client-grants "{\"client_id\":\"nobody\",\"audience\":\"$AUD\",\"scope\":[]}"
assert_error 404 "Not Found" inexistent_client "The client does not exist." \
	"a grant for an unknown client: 404"
req GET "/api/v2/client-grants?client_id=$CID&include_totals=true"
assert_status 200 "list the client's grants"
assert_json '[.total, (.client_grants | length), .client_grants[0].id]' "[1,1,\"$GID\"]" \
	"the listing holds the one grant"

req POST /oauth/token "{\"grant_type\":\"client_credentials\",\"client_id\":\"$CID\",\"client_secret\":\"$SECRET\",\"audience\":\"$AUD\"}" -
assert_status 200 "POST /oauth/token (JSON): 200"
assert_json '[.token_type, .scope, .expires_in]' '["Bearer","read:users",86400]' \
	"the token answer has Auth0's members"
assert_header Cache-Control "no-store" "the token answer is not cached"
JWT=$(jq -r .access_token <<<"$BODY")
KID=$(cut -d. -f1 <<<"$JWT" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .kid)

req GET /api/v2/users "" "$JWT"
assert_status 200 "the JWT reads users (read:users)"
req POST /api/v2/users '{"email":"m2m@example.com","connection":"Username-Password-Authentication"}' "$JWT"
assert_error 403 "Forbidden" insufficient_scope "Insufficient scope, expected any of: create:users" \
	"the JWT may not create users"

REQ_CT=application/x-www-form-urlencoded
REQ_ARGS=(-u "$CID:$SECRET")
req POST /oauth/token "grant_type=client_credentials&audience=$(jq -rn --arg a "$AUD" '$a|@uri')" -
assert_status 200 "POST /oauth/token (form, HTTP Basic): 200"

req POST /oauth/token "{\"grant_type\":\"client_credentials\",\"client_id\":\"$CID\",\"client_secret\":\"wrong\",\"audience\":\"$AUD\"}" -
assert_json . '{"error":"access_denied","error_description":"Unauthorized"}' \
	"a wrong secret: Auth0's body"
assert_status 401 "a wrong secret: 401"

req POST "$MK_PREFIX/oauth/token" '{"grant_type":"password"}' -
assert_status 400 "under the prefix too: unsupported grant type 400"
assert_json .error '"unsupported_grant_type"' "under the prefix: unsupported_grant_type"

req GET /.well-known/jwks.json "" -
assert_status 200 "GET /.well-known/jwks.json"
assert_json "[.keys[0].kid, .keys[0].kty, .keys[0].alg, (.keys[0] | has(\"d\"))]" \
	"[\"$KID\",\"RSA\",\"RS256\",false]" "the key set names the token's key, public part only"

req GET /oauth/token "" -
assert_status 405 "GET /oauth/token: 405"
assert_json .statusCode 405 "GET /oauth/token: JSON body"

req DELETE "/api/v2/clients/$CID"
assert_status 204 "delete the client"
req GET /api/v2/users "" "$JWT"
assert_status 401 "the deleted client's token stops at once"
req GET "/api/v2/client-grants?client_id=$CID"
assert_json 'length' 0 "the client's grants went with it"

summary

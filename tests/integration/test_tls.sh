#!/bin/bash
# test_tls.sh BUILD_DIR: the web server of $MK_STACK (see lib.sh) serves the
# same site over https as over http, with the certificate its template in
# etc/ names (here a self-signed one made into the test's temp dir, as
# scripts/run makes var/tls/cert.pem), which a client verifies by trusting
# that file alone (curl --cacert; no -k anywhere):
#   - the API: 401 without a token, a user created and read back, over
#     https, by 127.0.0.1 and by the name localhost (the certificate's two
#     subjectAltNames);
#   - the front page, and the web server's own errors as JSON (a path
#     outside the API: 404 from etc/errors/404.json);
#   - a client that does not trust the certificate is refused (curl exit 60),
#     so the check above is a real one; plain http still answers.
set -u
. "$(dirname "$0")/lib.sh"
start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

# treq METHOD PATH [BODY] [TOKEN]: req over https, trusting $MK_CA only.
treq()
{
	local plain=$BASE
	BASE=$BASE_TLS
	REQ_ARGS+=(--cacert "$MK_CA")
	req "$@"
	BASE=$plain
}

treq GET /api/v2/users "" -
assert_error 401 Unauthorized - "Missing authentication*" "https: no token"
assert_eq "$CURL_RC" 0 "https: curl verified the certificate"

treq POST /api/v2/users '{"email":"tls@example.com","connection":"Username-Password-Authentication","user_metadata":{"via":"https"}}'
assert_status 201 "https: POST /users"
id=$(jq -r .user_id <<<"$BODY")
treq GET "/api/v2/users/$id"
assert_status 200 "https: GET /users/{id}"
assert_json .user_metadata '{"via":"https"}' "https: the user as stored"
treq GET "$MK_PREFIX/api/v2/users/$id"
assert_status 200 "https: the API under $MK_PREFIX too"

# The name in the certificate, not only its address.
REQ_ARGS=(--cacert "$MK_CA" --resolve "localhost:$MK_TLS_PORT:127.0.0.1")
plain=$BASE
BASE=https://localhost:$MK_TLS_PORT
req GET "/api/v2/users/$id"
BASE=$plain
assert_status 200 "https://localhost: the certificate names localhost"

treq GET / "" -
assert_status 200 "https: GET / (the front page)"
treq GET /nothing-here "" -
assert_status 404 "https: a path outside the API: status"
assert_header Content-Type '^application/json' "https: its error is JSON"
assert_json .statusCode 404 "https: its statusCode"

# Without --cacert the system's trust store does not know the certificate.
plain=$BASE
BASE=$BASE_TLS
req GET /api/v2/users "" - 2>/dev/null
BASE=$plain
assert_eq "$CURL_RC" 60 "https without trusting the certificate: refused (curl exit 60)"

req GET "/api/v2/users/$id"
assert_status 200 "plain http still answers"

summary

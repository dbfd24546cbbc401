#!/bin/bash
# test_hostile_http.sh BUILD_DIR: the hostile inputs of issue 4 that live
# at the HTTP level, through a real lighttpd and metakeepd: a body shorter
# or longer than its Content-Length, and Content-Length values that are not
# numbers.  The body-level table (UTF-8, nesting, numbers, keys, ids,
# tokens) is tests/unit/test_hostile.c.  After each request the stored user
# must be byte for byte what it was, and the service must still answer.
#
# What is expected:
#  - shorter: the web server waits for the rest of the body and never hands
#    a partial body on; the client gives up (curl --max-time, exit 28)
#    and nothing is written.  (Were the server to stream it, metakeepd reads fewer
#    bytes than CONTENT_LENGTH and answers 400: no body.)
#  - longer: exactly Content-Length bytes are the body (HTTP/1.1); the rest
#    is the next request on the connection.  A cut that leaves broken JSON
#    is 400 invalid_body; a cut at the end of valid JSON is that request.
#  - Content-Length not a number: 400 from the web server.
# No case accepts "no answer" (curl's 000) as a pass: a short body passes
# only when the web server is seen holding the connection (curl's own
# timeout, exit 28), never when the connection is closed or reset.
set -u
. "$(dirname "$0")/lib.sh"

start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

CONN=Username-Password-Authentication
req POST /api/v2/users '{"email":"hostile@example.com","connection":"'$CONN'",
	"user_metadata":{"keep":"me"}}'
assert_status 201 "create the victim"
UID1=$(jq -r .user_id <<<"$BODY")
U1=/api/v2/users/$(jq -rn --arg s "$UID1" '$s | @uri')
snapshot "$U1"

# ---- a body shorter than its Content-Length ----

# assert_held_or_refused LABEL: the last request was refused (400 or 408),
# or the web server held the connection open waiting for the rest of the
# body until curl gave up (exit 28, timed out).  Any other "no answer"
# (000: the connection closed or reset, nothing listening) fails.
assert_held_or_refused()
{
	case $STATUS/$CURL_RC in
	400/0|408/0) pass "$1: refused ($STATUS)" ;;
	000/28) pass "$1: held open waiting for the rest of the body (curl timed out)" ;;
	*) fail "$1: refused or held open" "got $STATUS, curl exit $CURL_RC" ;;
	esac
}

REQ_ARGS=(-H "Content-Length: 100" --max-time 3)
req PATCH "$U1" '{"user_metadata":{"a":1}}'
assert_held_or_refused "short body"
assert_unchanged "$U1" "short body"

REQ_ARGS=(-H "Content-Length: 1048576" --max-time 3)
req PATCH "$U1" '{"user_metadata":{"b":1}}'
assert_held_or_refused "short body, 1 MiB announced"
assert_unchanged "$U1" "short body, 1 MiB announced"

# ---- a body longer than its Content-Length ----

REQ_ARGS=(-H "Content-Length: 2")
req PATCH "$U1" '{"user_metadata":{"c":1}}'
assert_error 400 "Bad Request" invalid_body "Payload validation error: *" \
	"long body cut inside the JSON"
assert_unchanged "$U1" "long body cut inside the JSON"

# 25 bytes are exactly {"user_metadata":{"d":1}}; what follows is not body.
REQ_ARGS=(-H "Content-Length: 25")
req PATCH "$U1" '{"user_metadata":{"d":1}},"app_metadata":{"x":1}}'
assert_status 200 "long body cut at the end of valid JSON: that request"
assert_json '{user_metadata,app_metadata}' '{"user_metadata":{"keep":"me","d":1},"app_metadata":null}' \
	"long body: only Content-Length bytes were read"
snapshot "$U1"

# ---- Content-Length that is not a number ----

for cl in abc -5 " " 99999999999999999999999; do
	REQ_ARGS=(-H "Content-Length: $cl" --max-time 5)
	req PATCH "$U1" '{"user_metadata":{"e":1}}'
	case $STATUS in
	400|411|413) pass "Content-Length '$cl': refused ($STATUS)" ;;
	*) fail "Content-Length '$cl': refused" "got $STATUS" ;;
	esac
	assert_unchanged "$U1" "Content-Length '$cl'"
done

# ---- still serving ----

req PATCH "$U1" '{"user_metadata":{"f":1}}'
assert_status 200 "a normal PATCH afterwards"
assert_json .user_metadata '{"keep":"me","d":1,"f":1}' "a normal PATCH afterwards: merged"

summary

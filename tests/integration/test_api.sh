#!/bin/bash
# test_api.sh BUILD_DIR: the API contract (docs/api.md)
# through a real lighttpd and metakeepd with 4 workers:
#   1. the walk-through of the seed text (users, then clients), exact results;
#   2. 20 concurrent PATCHes on one user, each adding its own root key;
#   3. bad inputs: status, the whole error body, and the stored user
#      byte-for-byte unchanged afterwards;
#   4. ids, users-by-email, listing, delete;
#   5. the API mounted under a prefix ($MK_PREFIX/api/v2/...), which every
#      set-up's config in etc/ serves too;
#   6. ETag on answers and If-Match (412) through the web server (spec 7).
# The web server set-up is $MK_STACK (see lib.sh); scripts/test runs this
# script once per set-up.
set -u
. "$(dirname "$0")/lib.sh"

start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

CONN=Username-Password-Authentication
JSON_CT='^application/json; charset=utf-8$'
ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z$'

# ---- 1. seed walk-through: users ----

req POST /api/v2/users '{"email":"jane.doe@example.com","connection":"'$CONN'",
	"user_metadata":{"hobby":"surfing"},"app_metadata":{"plan":"full"}}'
assert_status 201 "create user"
assert_header Content-Type "$JSON_CT" "create user: content type"
assert_json '{email,email_verified,name,nickname,user_metadata,app_metadata}' \
	'{"email":"jane.doe@example.com","email_verified":false,"name":"jane.doe@example.com",
	  "nickname":"jane.doe","user_metadata":{"hobby":"surfing"},"app_metadata":{"plan":"full"}}' \
	"create user: attributes and defaults"
UID1=$(jq -r .user_id <<<"$BODY")
assert_true '.user_id | test("^auth0\\|[0-9a-f]{24}$")' "create user: user_id form"
assert_json '.identities' \
	'[{"connection":"'$CONN'","user_id":"'"${UID1#auth0|}"'","provider":"auth0","isSocial":false}]' \
	"create user: identities"
assert_true "(.created_at | test(\"$ISO\")) and (.updated_at | test(\"$ISO\"))" \
	"create user: timestamps"
assert_true '[.[] | select(. == null)] | length == 0' "create user: no null attributes"
U1=/api/v2/users/$(jq -rn --arg s "$UID1" '$s | @uri')

req GET "$U1"
assert_status 200 "get user"
assert_json '{user_id,user_metadata,app_metadata}' \
	'{"user_id":"'"$UID1"'","user_metadata":{"hobby":"surfing"},"app_metadata":{"plan":"full"}}' \
	"get user: as created"

req PATCH "$U1" '{"user_metadata":{"addresses":{"home":{"street":"123 Main Street","city":"Anytown"}}}}'
assert_status 200 "patch: add addresses"
assert_json '.user_metadata' \
	'{"hobby":"surfing","addresses":{"home":{"street":"123 Main Street","city":"Anytown"}}}' \
	"patch: root keys merged, hobby kept"
assert_json '.app_metadata' '{"plan":"full"}' "patch: app_metadata untouched"

# Nested objects are replaced whole: home loses its city.
req PATCH "$U1" '{"user_metadata":{"addresses":{"home":{"street":"123 Main Street"},
	"work":{"street":"1 Office Park","city":"Worktown"}}}}'
assert_status 200 "patch: replace addresses"
assert_json '.user_metadata' \
	'{"hobby":"surfing","addresses":{"home":{"street":"123 Main Street"},
	  "work":{"street":"1 Office Park","city":"Worktown"}}}' \
	"patch: nested object replaced, not merged"

req PATCH "$U1" '{"user_metadata":{"hobby":null}}'
assert_status 200 "patch: hobby null"
assert_json '.user_metadata' \
	'{"addresses":{"home":{"street":"123 Main Street"},"work":{"street":"1 Office Park","city":"Worktown"}}}' \
	"patch: null deletes the key"

req PATCH "$U1" '{"user_metadata":{}}'
assert_status 200 "patch: user_metadata {}"
assert_json 'has("user_metadata")' false "patch: {} removes user_metadata"
assert_json '.app_metadata' '{"plan":"full"}' "patch: {} leaves app_metadata"

req PATCH "$U1" '{"app_metadata":{}}'
assert_status 200 "patch: app_metadata {}"
assert_json '[has("user_metadata"), has("app_metadata")]' '[false,false]' \
	"patch: {} removes app_metadata"

req GET "$U1"
assert_json '{email,has_um:has("user_metadata"),has_am:has("app_metadata")}' \
	'{"email":"jane.doe@example.com","has_um":false,"has_am":false}' "get user: after the walk-through"

# ---- 1. seed walk-through: clients ----

req POST /api/v2/clients '{"name":"My App","client_metadata":{"mycolor":"red","myflavor":"grape"}}'
assert_status 201 "create client"
assert_header Content-Type "$JSON_CT" "create client: content type"
assert_json '{name,client_metadata}' \
	'{"name":"My App","client_metadata":{"mycolor":"red","myflavor":"grape"}}' "create client: as sent"
assert_true '(.client_id | test("^[A-Za-z0-9]{32}$")) and (.client_secret | test("^[A-Za-z0-9_-]{64}$"))' \
	"create client: id and secret form"
CID=$(jq -r .client_id <<<"$BODY")
C1=/api/v2/clients/$CID

req GET "$C1"
assert_status 200 "get client"
assert_json '{client_id,name,client_metadata}' \
	'{"client_id":"'"$CID"'","name":"My App","client_metadata":{"mycolor":"red","myflavor":"grape"}}' \
	"get client: as created"

req PATCH "$C1" '{"client_metadata":{"mycolor":"blue","mynewthing":"something"}}'
assert_status 200 "patch client"
assert_json '.client_metadata' '{"mycolor":"blue","myflavor":"grape","mynewthing":"something"}' \
	"patch client: merged"

req PATCH "$C1" '{"client_metadata":{"myflavor":null}}'
assert_status 200 "patch client: null"
assert_json '.client_metadata' '{"mycolor":"blue","mynewthing":"something"}' \
	"patch client: null deletes the key"

req GET "$C1"
assert_json '{name,client_metadata}' \
	'{"name":"My App","client_metadata":{"mycolor":"blue","mynewthing":"something"}}' \
	"get client: after the walk-through"

# ---- 2. concurrent PATCHes, one root key each ----

req POST /api/v2/users '{"email":"race@example.com","connection":"'$CONN'","user_metadata":{"base":0}}'
assert_status 201 "create user for the race"
UID2=$(jq -r .user_id <<<"$BODY")
U2=/api/v2/users/$(jq -rn --arg s "$UID2" '$s | @uri')

pids=()
for i in $(seq -w 1 20); do
	curl -sS --max-time 30 -o /dev/null -w '%{http_code}\n' -X PATCH \
		-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		--data-binary "{\"user_metadata\":{\"k$i\":$((10#$i))}}" \
		"$BASE$U2" > "$MK_TMP/race.$i" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
assert_eq "$(cat "$MK_TMP"/race.* | sort | uniq -c | sed 's/^ *//')" "20 200" "race: 20 PATCHes answered 200"
req GET "$U2"
want=$(jq -cn '[range(1;21)] | map({key: ("k" + (if . < 10 then "0" else "" end) + tostring), value: .})
	| from_entries + {base: 0}')
assert_json '.user_metadata' "$want" "race: every root key written survives"

# ---- 3. bad inputs: nothing is written ----

req POST /api/v2/users '{"email":"bad@example.com","connection":"'$CONN'",
	"user_metadata":{"a":1,"n":{"x":[1,2]}},"app_metadata":{"b":"two"}}'
assert_status 201 "create user for bad inputs"
UID3=$(jq -r .user_id <<<"$BODY")
U3=/api/v2/users/$(jq -rn --arg s "$UID3" '$s | @uri')
snapshot "$U3"

PVE='Payload validation error: *'
# bad LABEL STATUS ERROR ERRORCODE MESSAGE METHOD PATH [BODY] [TOKEN]
bad()
{
	local label=$1 st=$2 er=$3 code=$4 msg=$5
	shift 5
	req "$@"
	assert_error "$st" "$er" "$code" "$msg" "$label"
	assert_unchanged "$U3" "$label"
}

bad "malformed JSON" 400 "Bad Request" invalid_body "$PVE" PATCH "$U3" '{"user_metadata":'
bad "user_metadata a string" 400 "Bad Request" invalid_body "$PVE" PATCH "$U3" '{"user_metadata":"x"}'
bad "user_metadata an array" 400 "Bad Request" invalid_body "$PVE" PATCH "$U3" '{"user_metadata":[1]}'
bad "user_metadata a number" 400 "Bad Request" invalid_body "$PVE" PATCH "$U3" '{"user_metadata":7}'
# Auth0's own sentence (spec 4), without the usual prefix; "Example:" names
# the offending field (decided in src/meta.c).
DOTS='Fields with "." are not allowed, please remove all dotted fields. Example:'
DOLLARS='Fields with "$" are not allowed, please remove all dollar fields. Example:'
bad "dotted key, depth 1" 400 "Bad Request" invalid_body "$DOTS user_metadata.a.b" \
	PATCH "$U3" '{"user_metadata":{"a.b":1}}'
bad "dotted key, depth 3" 400 "Bad Request" invalid_body "$DOTS user_metadata.p.q.a.b" \
	PATCH "$U3" '{"user_metadata":{"p":{"q":{"a.b":1}}}}'
bad "dollar key" 400 "Bad Request" invalid_body "$DOLLARS user_metadata.\$set" \
	PATCH "$U3" '{"user_metadata":{"$set":1}}'
bad "reserved app_metadata key" 400 "Bad Request" invalid_body "$PVE" PATCH "$U3" '{"app_metadata":{"blocked":true}}'
deep=$(jq -cn 'reduce range(40) as $i (1; {a: .}) | {user_metadata: .}')
bad "nesting 40 levels" 400 "Bad Request" invalid_body "$PVE" PATCH "$U3" "$deep"
jq -cn '{user_metadata: {big: ("x" * (1024 * 1024 + 16))}}' > "$MK_TMP/big.json"
bad "body over 1 MiB" 413 "Payload Too Large" payload_too_large '*' PATCH "$U3" "@$MK_TMP/big.json"
# shellcheck disable=SC2034  # read by req
REQ_CT=text/plain
bad "Content-Type text/plain" 400 "Bad Request" invalid_body "$PVE" PATCH "$U3" '{"user_metadata":{"z":1}}'
bad "empty body {}" 400 "Bad Request" invalid_body "$PVE" PATCH "$U3" '{}'
bad "unknown property" 400 "Bad Request" invalid_body \
	"Payload validation error: 'Additional properties not allowed: foo'*" PATCH "$U3" '{"foo":1}'
bad "read-only created_at" 400 "Bad Request" invalid_body \
	"Payload validation error: 'Additional properties not allowed: created_at'*" \
	PATCH "$U3" '{"created_at":"2020-01-01T00:00:00.000Z"}'
bad "unknown route" 404 "Not Found" - '*' GET /api/v2/no-such-thing
bad "wrong method" 405 "Method Not Allowed" - '*' PUT "$U3" '{"user_metadata":{"z":1}}'
allow=$(header Allow)
assert_eq "$(tr -d ' ' <<<"$allow" | tr ',' '\n' | sort | paste -sd,)" "DELETE,GET,PATCH" \
	"wrong method: Allow header lists GET, PATCH, DELETE"
bad "no token" 401 "Unauthorized" - "Missing authentication" PATCH "$U3" '{"user_metadata":{"z":1}}' -
bad "bad token" 401 "Unauthorized" - "Invalid token" PATCH "$U3" '{"user_metadata":{"z":1}}' \
	mk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
# The message lists every scope spec 3 accepts for PATCH /users/{id}; the
# example in spec 2 shows only the first two.
RTOK=$(make_token read:users 2>/dev/null)
bad "token without update:users" 403 "Forbidden" insufficient_scope \
	"Insufficient scope, expected any of: update:users,update:users_app_metadata,update:current_user_metadata" \
	PATCH "$U3" '{"user_metadata":{"z":1}}' "$RTOK"
req GET "$U3" "" "$RTOK"
assert_status 200 "read-only token can read"

# ---- 4. ids, users-by-email, listing, delete ----

req GET "/api/v2/users/$UID1"
assert_status 200 "raw | in the id"
assert_json .user_id "\"$UID1\"" "raw | in the id: the user"
req GET "/api/v2/users/auth0%7C${UID1#auth0|}"
assert_status 200 "encoded %7C in the id"
assert_json .user_id "\"$UID1\"" "encoded %7C in the id: the user"

req GET "/api/v2/users-by-email?email=jane.doe%40example.com"
assert_status 200 "users-by-email"
assert_json 'map(.user_id)' "[\"$UID1\"]" "users-by-email: an array of the one user"
req GET "/api/v2/users-by-email?email=nobody%40example.com"
assert_status 200 "users-by-email, no match"
assert_json . '[]' "users-by-email, no match: []"

req GET "/api/v2/users"
assert_status 200 "list users"
assert_json 'map(.user_id)' "[\"$UID1\",\"$UID2\",\"$UID3\"]" "list users: a bare array by created_at"
req GET "/api/v2/users?include_totals=true"
assert_status 200 "list users with totals"
assert_json '{start,limit,length,total} + {keys: keys, ids: (.users | map(.user_id))}' \
	"{\"start\":0,\"limit\":50,\"length\":3,\"total\":3,
	  \"keys\":[\"length\",\"limit\",\"start\",\"total\",\"users\"],
	  \"ids\":[\"$UID1\",\"$UID2\",\"$UID3\"]}" "list users with totals: shape"
req GET "/api/v2/users?include_totals=true&per_page=2&page=1"
assert_json '{start,limit,length,total} + {ids: (.users | map(.user_id))}' \
	"{\"start\":2,\"limit\":2,\"length\":1,\"total\":3,\"ids\":[\"$UID3\"]}" "list users: second page"

req GET "/api/v2/connections"
assert_status 200 "list connections"
assert_json 'map({id,name,strategy,realms})' \
	'[{"id":"con_e5a57762739eaaaa","name":"Username-Password-Authentication","strategy":"auth0","realms":["Username-Password-Authentication"]}]' \
	"list connections: Auth0's shape"

req DELETE "$U1"
assert_status 204 "delete user"
assert_eq "$(wc -c < "$MK_TMP/resp.body")" 0 "delete user: empty body"
req GET "$U1"
assert_error 404 "Not Found" inexistent_user "The user does not exist." "get deleted user"
req DELETE "$U1"
assert_status 204 "delete again"

# ---- 5. under a prefix ----

P=$MK_PREFIX/api/v2
req POST "$P/users" '{"email":"prefixed@example.com","connection":"'$CONN'","user_metadata":{"via":"prefix"}}'
assert_status 201 "prefix: create user"
UID4=$(jq -r .user_id <<<"$BODY")
req GET "$P/users/auth0%7C${UID4#auth0|}"
assert_status 200 "prefix: encoded %7C in the id"
assert_json '{user_id,user_metadata}' "{\"user_id\":\"$UID4\",\"user_metadata\":{\"via\":\"prefix\"}}" \
	"prefix: encoded %7C in the id: the user"
req PATCH "$P/users/$UID4" '{"app_metadata":{"p":1}}'
assert_status 200 "prefix: raw | in the id, PATCH"
assert_json '{user_metadata,app_metadata}' '{"user_metadata":{"via":"prefix"},"app_metadata":{"p":1}}' \
	"prefix: raw | in the id, PATCH merged"
req GET "/api/v2/users/auth0%7C${UID4#auth0|}"
assert_json .app_metadata '{"p":1}' "prefix: the same store as /api/v2"
req GET "$P/users?include_totals=true&per_page=1"
assert_json '{total,length}' '{"total":3,"length":1}' "prefix: listing with a query string"
req GET "$P/users" "" -
assert_error 401 "Unauthorized" - "Missing authentication" "prefix: no token"
req GET "$P/users" "" mk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
assert_error 401 "Unauthorized" - "Invalid token" "prefix: bad token (Authorization reaches metakeepd)"
req GET "$P/no-such-thing"
assert_error 404 "Not Found" - '*' "prefix: unknown route, answered by metakeepd"
req DELETE "$P/users/auth0%7C${UID4#auth0|}"
assert_status 204 "prefix: delete"
# Only the configured prefix is routed to metakeepd: elsewhere the web
# server answers (404 or 403) by itself, and nothing is created.
req POST /elsewhere/api/v2/users '{"email":"elsewhere@example.com","connection":"'$CONN'"}'
case $STATUS in
403|404|405) pass "another prefix: not routed to metakeepd ($STATUS)" ;;
*) fail "another prefix: not routed to metakeepd" "got $STATUS" ;;
esac
req GET "/api/v2/users-by-email?email=elsewhere%40example.com"
assert_json . '[]' "another prefix: nothing created"

# ---- 6. ETag and If-Match (spec 7) ----

req POST /api/v2/users '{"email":"etag@example.com","connection":"'$CONN'","user_metadata":{"v":0}}'
assert_status 201 "etag: create user"
ETAG_RE='^"[0-9a-f]{32}"$'
assert_header ETag "$ETAG_RE" "etag: POST 201 carries a strong ETag"
UID5=$(jq -r .user_id <<<"$BODY")
U5=/api/v2/users/$(jq -rn --arg s "$UID5" '$s | @uri')
req GET "$U5"
E1=$(header ETag)
assert_header ETag "$ETAG_RE" "etag: GET carries a strong ETag"
REQ_ARGS=(-H "If-Match: $E1")
req PATCH "$U5" '{"user_metadata":{"v":1}}'
assert_status 200 "etag: PATCH with the current ETag"
E2=$(header ETag)
if [ -n "$E2" ] && [ "$E2" != "$E1" ]; then pass "etag: the PATCH answer has a new ETag"
else fail "etag: the PATCH answer has a new ETag" "before: $E1" "after: '$E2'"; fi
snapshot "$U5"
REQ_ARGS=(-H "If-Match: $E1")
req PATCH "$U5" '{"user_metadata":{"v":2}}'
assert_error 412 "Precondition Failed" precondition_failed "The resource has been modified." \
	"etag: PATCH with the old ETag"
assert_unchanged "$U5" "etag: PATCH with the old ETag"
REQ_ARGS=(-H "If-Match: $E1")
req DELETE "$U5"
assert_error 412 "Precondition Failed" precondition_failed "The resource has been modified." \
	"etag: DELETE with the old ETag"
assert_unchanged "$U5" "etag: DELETE with the old ETag"
REQ_ARGS=(-H "If-Match: W/$E2, $E2")
req DELETE "$U5"
assert_status 204 "etag: DELETE with a list holding the current ETag"
# shellcheck disable=SC2034  # read by req
REQ_ARGS=(-H "If-Match: *")
req DELETE "$U5"
assert_error 412 "Precondition Failed" precondition_failed "The user does not exist." \
	"etag: DELETE If-Match: * of a deleted user"

summary

#!/bin/bash
# test_limits.sh BUILD_DIR: every size limit through the web server of
# $MK_STACK (see lib.sh), exactly at it and one past (issue 19): a
# metadata key of 255 bytes stored, 256 refused; metadata nested 32 levels
# stored, 33 refused; a user record of exactly max_user_bytes (1 MiB)
# stored, one byte more refused; client_metadata with 10 keys stored, 11
# refused; a client_metadata value of 255 characters stored, 256 refused;
# q= of 4096 bytes searched, 4097 refused; fields= with 64 names
# answered, 65 refused.  Each refusal is Auth0's whole error body and
# leaves the stored record byte for byte as it was.  The body limit's own
# boundary is in test_errors.sh.
set -u
. "$(dirname "$0")/lib.sh"

start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

CONN=Username-Password-Authentication
BAD="Payload validation error: *"

# run C N: N copies of the character C.
run() { head -c "$2" /dev/zero | tr '\0' "$1"; }

req POST /api/v2/users '{"email":"limits@example.com","connection":"'$CONN'"}'
assert_status 201 "create a user"
U=/api/v2/users/$(jq -rn --arg s "$(jq -r .user_id <<<"$BODY")" '$s | @uri')

# ---- metadata key length: 1..255 bytes ----
req PATCH "$U" "{\"user_metadata\":{\"$(run k 255)\":1}}"
assert_status 200 "key rule: a metadata key of exactly 255 bytes is stored"
snapshot "$U"
req PATCH "$U" "{\"user_metadata\":{\"$(run k 256)\":1}}"
assert_error 400 "Bad Request" invalid_body "$BAD" "key rule: a metadata key of 256 bytes is refused"
assert_unchanged "$U" "key rule"

# ---- metadata depth: the metadata object is level 1, at most 32 ----
nested()
{
	local d
	printf '{"user_metadata":'
	for ((d = 1; d < $1; d++)); do printf '{"a":'; done
	printf '{"a":1}'
	for ((d = 1; d < $1; d++)); do printf '}'; done
	printf '}'
}
req PATCH "$U" "$(nested 32)"
assert_status 200 "depth rule: metadata nested exactly 32 levels is stored"
snapshot "$U"
req PATCH "$U" "$(nested 33)"
assert_error 400 "Bad Request" invalid_body "$BAD" "depth rule: metadata nested 33 levels is refused"
assert_unchanged "$U" "depth rule"

# ---- record size: max_user_bytes (1048576 by default) ----
# A blob too large says the size the record would have; from it, the blob
# that makes the record exactly the limit.  Each body stays under the body
# limit (also 1 MiB): the record has more around the blob than the body.
lim=1048576
blob_patch() { printf '{"user_metadata":{"blob":"%s"}}' "$(run x "$1")" >"$2"; }
blob_patch $((lim - 100)) "$MK_TMP/over"
req PATCH "$U" "@$MK_TMP/over"
assert_status 400 "record rule: a blob of $((lim - 100)) bytes makes the record too large"
would=$(jq -r .message <<<"$BODY" | sed -n "s/^Payload validation error: 'The object would be \([0-9]*\) bytes.*/\1/p")
if [ -n "$would" ] && [ "$would" -gt "$lim" ]; then
	fits=$((lim - 100 - (would - lim)))
	snapshot "$U"
	blob_patch $((fits + 1)) "$MK_TMP/p1"
	req PATCH "$U" "@$MK_TMP/p1"
	assert_error 400 "Bad Request" invalid_body \
		"Payload validation error: 'The object would be $((lim + 1)) bytes, over the limit of $lim bytes'." \
		"record rule: a record of $((lim + 1)) bytes is refused"
	assert_unchanged "$U" "record rule"
	blob_patch "$fits" "$MK_TMP/p0"
	req PATCH "$U" "@$MK_TMP/p0"
	assert_status 200 "record rule: a record of exactly $lim bytes is stored"
	assert_eq "${#BODY}" "$lim" "record rule: the stored record is $lim bytes"
else
	fail "record rule: the refusal says the size" "$BODY"
fi

# ---- client_metadata: at most 10 keys, values at most 255 characters ----
keys() { local i sep=; for ((i = 0; i < $1; i++)); do printf '%s"k%d":"v"' "$sep" "$i"; sep=,; done; }
req POST /api/v2/clients "{\"name\":\"Limits App\",\"client_metadata\":{$(keys 10)}}"
assert_status 201 "client keys rule: client_metadata with exactly 10 keys is stored"
C=/api/v2/clients/$(jq -r .client_id <<<"$BODY")
snapshot "$C"
req PATCH "$C" '{"client_metadata":{"k10":"v"}}'
assert_error 400 "Bad Request" invalid_body "$BAD" "client keys rule: an 11th key is refused"
assert_unchanged "$C" "client keys rule"
req POST /api/v2/clients "{\"name\":\"Limits App 2\",\"client_metadata\":{$(keys 11)}}"
assert_error 400 "Bad Request" invalid_body "$BAD" "client keys rule: a new client with 11 keys is refused"
req PATCH "$C" "{\"client_metadata\":{\"k0\":\"$(run v 256)\"}}"
assert_error 400 "Bad Request" invalid_body "$BAD" "client value rule: a value of 256 characters is refused"
assert_unchanged "$C" "client value rule"
req PATCH "$C" "{\"client_metadata\":{\"k0\":\"$(run v 255)\"}}"
assert_status 200 "client value rule: a value of exactly 255 characters is stored"
assert_json '.client_metadata.k0 | length' 255 "client value rule: all 255 stored"

# ---- q= at most 4096 bytes ----
q=user_metadata.k:$(run a $((4096 - 16)))
req GET "/api/v2/users?q=$q"
assert_status 200 "q rule: a query of exactly 4096 bytes is searched"
assert_json 'length' 0 "q rule: it finds nobody"
req GET "/api/v2/users?q=${q}a"
assert_error 400 "Bad Request" invalid_query_string "Query validation error: *" \
	"q rule: a query of 4097 bytes is refused"

# ---- fields= at most 64 names ----
f=f0
for ((i = 1; i < 64; i++)); do f=$f,f$i; done
req GET "/api/v2/users?fields=$f"
assert_status 200 "fields rule: 64 names in fields= are answered"
req GET "/api/v2/users?fields=$f,f64"
assert_error 400 "Bad Request" invalid_query_string \
	"Query validation error: 'Too many fields' on property fields." \
	"fields rule: 65 names in fields= are refused"

summary

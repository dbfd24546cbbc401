#!/bin/bash
# test_admin.sh BUILD_DIR: the admin page (/admin/, issue 17) through the web
# server of $MK_STACK (see lib.sh), with curl and a cookie jar: every
# set-up routes /admin/ to metakeepd and passes its HTML pages (errors
# included) untouched; the page's headers (CSP without 'unsafe-inline',
# X-Frame-Options DENY, the session cookie's flags); sign-in with a bearer
# token (a wrong one, and one without the form's CSRF token, refused);
# the users list and a q error shown next to the box; saving metadata with
# If-Match, a stale save answered with the conflict page and nothing
# stored; a validation error shown in place and nothing stored; a forged
# POST without CSRF refused (403) and nothing stored; a read-only session
# with no edit controls, whose POST is refused; revoking a token ends its
# session; sign-out.  tests/browser/test_admin.sh does the same in a real
# browser (lighttpd only).
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

CONN=Username-Password-Authentication
req POST /api/v2/users '{"email":"ada@example.com","connection":"'$CONN'","name":"Ada Admin","user_metadata":{"theme":"dark","lang":"en"}}'
assert_status 201 "create a user"
UID_=$(jq -r .user_id <<<"$BODY")
ENC=$(jq -rn --arg s "$UID_" '$s | @uri')
U=/api/v2/users/$ENC
P=/admin/users/$ENC

# page REQ... : req through a cookie jar, without Authorization.
JAR=$MK_TMP/jar
# shellcheck disable=SC2034 # REQ_ARGS, REQ_CT: read by req
page()
{
	local method=$1 path=$2 body=${3:-}
	REQ_ARGS+=(-b "$JAR" -c "$JAR")
	REQ_CT=application/x-www-form-urlencoded
	req "$method" "$path" "$body" -
}
# enc VALUE: the value form-encoded.
enc()
{
	jq -rn --arg s "$1" '$s | @uri'
}
# field NAME: a hidden field's value in the last page (HTML entities of
# quotes undone: the ETag's).
field()
{
	grep -o "name=\"$1\" value=\"[^\"]*\"" <<<"$BODY" | head -n 1 |
		sed 's/.*value="//; s/"$//; s/&quot;/"/g'
}
# signin TOKEN: a fresh jar, the sign-in page, the form posted.
signin()
{
	rm -f "$JAR"
	page GET /admin/
	page POST /admin/login "csrf=$(field csrf)&token=$(enc "$1")"
}
# check LABEL COMMAND...: pass when COMMAND succeeds.
check()
{
	local label=$1
	shift
	if [ "$1" = not ]; then
		shift
		if ! "$@"; then pass "$label"; else fail "$label"; fi
	elif "$@"; then
		pass "$label"
	else
		fail "$label"
	fi
}
# has ERE: the last body matches.
has()
{
	grep -q -- "$1" <<<"$BODY"
}
assert_html()
{
	assert_header Content-Type '^text/html' "$1: an HTML page (the web server kept it)"
}

# ---- the page's headers, sign-in ----
page GET /admin/
assert_status 200 "GET /admin/: the sign-in page"
assert_html "sign-in page"
assert_header Content-Security-Policy "default-src 'none'; script-src 'self'" "CSP: scripts only from the page"
if header Content-Security-Policy | grep -q unsafe-inline; then fail "CSP without unsafe-inline"; else pass "CSP without unsafe-inline"; fi
assert_header X-Frame-Options '^DENY$' "X-Frame-Options: DENY"
assert_header Set-Cookie '^mk_login=.*HttpOnly; SameSite=Strict' "sign-in form's CSRF cookie: HttpOnly, SameSite=Strict"
LOGIN_CSRF=$(field csrf)
assert_eq "${#LOGIN_CSRF}" 43 "sign-in form: a CSRF token of 43 characters"

page POST /admin/login "token=$(enc "$TOKEN")"
assert_status 403 "sign-in without the form's CSRF token refused"
assert_html "refused sign-in"
page GET /admin/
page POST /admin/login "csrf=$(field csrf)&token=mk_not_a_token"
assert_status 401 "sign-in with an unknown token refused"
check "the sign-in error is shown" has 'That token is not valid'
if grep -q "mk_not_a_token" "$MK_TMP/metakeepd.log" "$MK_TMP"/*-error.log 2>/dev/null; then
	fail "no presented token in any log"
else
	pass "no presented token in any log"
fi

signin "$TOKEN"
assert_status 303 "sign-in with the admin token"
assert_header Location '/admin/users$' "sign-in goes to the users"
assert_header Set-Cookie '^mk_admin=[A-Za-z0-9_-]{43}; Path=/admin/; Max-Age=[0-9]+; HttpOnly; SameSite=Strict$' \
	"session cookie: HttpOnly, SameSite=Strict, no Secure over http"

# Over https (the web server says HTTPS=on) the cookie is also Secure.
plain=$BASE
BASE=$BASE_TLS
rm -f "$MK_TMP/jar.tls"
JAR=$MK_TMP/jar.tls
REQ_ARGS=(--cacert "$MK_CA")
page GET /admin/
REQ_ARGS=(--cacert "$MK_CA")
page POST /admin/login "csrf=$(field csrf)&token=$(enc "$TOKEN")"
BASE=$plain
JAR=$MK_TMP/jar
assert_status 303 "https: sign-in"
assert_header Set-Cookie '^mk_admin=.*; HttpOnly; SameSite=Strict; Secure$' "https: the session cookie is Secure"

# Sign-in with a client's id and secret (when the API has /oauth/token):
# a client granted read:users gets a read-only session; a wrong secret and
# a client without a grant are refused on the form.
if "$MK_BUILD/metakeepctl" client --help >/dev/null 2>&1; then
	AUD=https://127.0.0.1:$MK_PORT/api/v2/
	CL=$("$MK_BUILD/metakeepctl" -d "$MK_DB" client create --name "Admin page reader" \
		--scope read:users --audience "$AUD" 2>/dev/null)
	CID=$(jq -r .client_id <<<"$CL")
	CSECRET=$(jq -r .client_secret <<<"$CL")
	JAR=$MK_TMP/jar.client
	rm -f "$JAR"
	page GET /admin/
	page POST /admin/login "csrf=$(field csrf)&client_id=$CID&client_secret=wrong"
	assert_status 401 "client sign-in with a wrong secret refused"
	check "the refusal is shown on the form" has "The client&#39;s credentials were refused"
	page POST /admin/login "csrf=$(field csrf)&client_id=$CID&client_secret=$(enc "$CSECRET")"
	assert_status 303 "client sign-in with the right secret"
	assert_header Set-Cookie '^mk_admin=.*HttpOnly; SameSite=Strict' "client sign-in: the session cookie"
	page GET /admin/users
	assert_status 200 "client session: the users list"
	check "client session: no Tokens link (not every scope)" not has '/admin/tokens"'
	if grep -rq "$CSECRET" "$MK_TMP"/*.log 2>/dev/null; then
		fail "client sign-in: the secret is in no log"
	else
		pass "client sign-in: the secret is in no log"
	fi
	JAR=$MK_TMP/jar
else
	echo "# no /oauth/token in this build: no client sign-in to check"
fi

# ---- users ----
page GET /admin/users
assert_status 200 "the users list"
assert_html "users list"
check "the list shows the user" has 'ada@example.com'
page GET "/admin/users?q=$(enc 'email:"ada@example.com"')"
assert_status 200 "a search"
check "the search finds the user" has 'ada@example.com'
page GET "/admin/users?q=$(enc 'ada')"
assert_status 400 "a q the API cannot parse"
assert_html "q error page"
check "the parser's message is shown next to the box" has 'id="q-error"[^>]*>Query validation error: .*bare word'

page GET "$P"
assert_status 200 "a user's page"
check "an admin session has the user_metadata editor" has '<textarea id="ed-user_metadata"'
CSRF=$(field csrf)
ETAG=$(field etag)
check "the form carries what the editor started from" has 'name="orig_user_metadata"'
# (what the editor started from, as a browser would send it back)
req GET "$U"
ORIG_UM=$(jq -c .user_metadata <<<"$BODY")

snapshot "$U"
page POST "$P" "user_metadata=$(enc '{"theme":"light"}')&orig_user_metadata=$(enc "$ORIG_UM")&etag=$(enc "$ETAG")"
assert_status 403 "a forged POST without the CSRF token"
assert_html "forged POST"
assert_unchanged "$U" "forged POST"

page POST "$P" "csrf=$CSRF&user_metadata=$(enc '{"theme":"light","lang":"en","new":1}')&orig_user_metadata=$(enc "$ORIG_UM")&etag=$(enc "$ETAG")"
assert_status 303 "save user_metadata"
req GET "$U"
assert_json .user_metadata '{"theme":"light","lang":"en","new":1}' "the save is stored"

snapshot "$U"
page POST "$P" "csrf=$CSRF&user_metadata=$(enc '{"theme":"blue","lang":"en"}')&orig_user_metadata=$(enc "$ORIG_UM")&etag=$(enc "$ETAG")"
assert_status 409 "a save with the old ETag: the conflict page"
assert_html "conflict page"
check "the conflict page offers apply mine on top" has 'Apply mine on top'
check "the conflict page offers drop mine" has 'Drop mine'
check "the conflict page shows the edit" has '&quot;blue&quot;'
check "the conflict page shows what is stored now" has '&quot;new&quot;: 1'
assert_unchanged "$U" "stale save"
NEW_ETAG=$(field etag)
page POST "$P" "csrf=$CSRF&user_metadata=$(enc '{"theme":"blue","lang":"en"}')&orig_user_metadata=$(enc "$ORIG_UM")&etag=$(enc "$NEW_ETAG")"
assert_status 303 "apply mine on top"
req GET "$U"
assert_json .user_metadata '{"theme":"blue","lang":"en","new":1}' "mine on top: my key changed, the other's key kept"

snapshot "$U"
page GET "$P"
ETAG=$(field etag)
page POST "$P" "csrf=$CSRF&app_metadata=$(enc '{"email":"x"}')&orig_app_metadata=$(enc '{}')&etag=$(enc "$ETAG")"
assert_status 400 "a reserved app_metadata key"
check "the API's message is shown under the app_metadata editor" has 'id="err-app_metadata"'
check "the refused edit is kept in the editor" has '{&quot;email&quot;:&quot;x&quot;}'
assert_unchanged "$U" "refused app_metadata"
page POST "$P" "csrf=$CSRF&user_metadata=$(enc '{"a":')&orig_user_metadata=$(enc '{}')&etag=$(enc "$ETAG")"
assert_status 400 "JSON that does not parse"
check "the parse error is shown under the editor" has 'id="err-user_metadata"[^>]*>Not valid JSON'
assert_unchanged "$U" "unparsable edit"

# History: the user's log events on their page (when the API has logs).
req GET "/api/v2/logs?per_page=1"
if [ "$STATUS" = 200 ]; then
	page GET "$P"
	check "history: the user's page shows their log events" has '<h2 id="h-history">History</h2>'
	check "history: the saves are there, with what they changed" has '<code>[a-z]* /user_metadata/theme</code>'
else
	echo "# no /api/v2/logs in this build ($STATUS): no history to check"
fi

# Delete: a confirmation page, then the POST.
req POST /api/v2/users '{"email":"gone@example.com","connection":"'$CONN'"}'
GONE=/admin/users/$(jq -rn --arg s "$(jq -r .user_id <<<"$BODY")" '$s | @uri')
GONE_API=/api/v2/users/${GONE#/admin/users/}
page GET "$GONE/delete"
assert_status 200 "delete: the confirmation page"
check "delete: it asks before deleting" has 'Delete this user</button>'
req GET "$GONE_API"
assert_status 200 "delete: asking deleted nothing"
page POST "$GONE/delete" "csrf=$CSRF"
assert_status 303 "delete: confirmed"
req GET "$GONE_API"
assert_status 404 "delete: the user is gone"

# ---- a read-only session ----
RO=$(make_token read:users 2>/dev/null)
RO_JAR=$MK_TMP/jar.ro
JAR=$RO_JAR
signin "$RO"
assert_status 303 "sign-in with a read:users token"
page GET "$P"
assert_status 200 "read-only: the user's page"
if grep -q '<textarea\|<form method="post" action="[^"]*/users/' <<<"$BODY"; then
	fail "read-only: no editor and no edit form"
else
	pass "read-only: no editor and no edit form"
fi
check "read-only: no delete link" not has '/delete'
RO_CSRF=$(field csrf)
page POST "$P" "csrf=$RO_CSRF&user_metadata=$(enc '{"theme":"x"}')&orig_user_metadata=$(enc '{}')&etag="
assert_status 403 "read-only: a forged save with the session's own CSRF token"
assert_unchanged "$U" "read-only save"
page GET /admin/tokens
assert_status 403 "read-only: no tokens page"

# ---- tokens: revoking ends the session ----
JAR=$MK_TMP/jar
page GET /admin/tokens
assert_status 200 "the tokens page (admin session)"
RO_ID=$("$MK_BUILD/metakeepctl" -d "$MK_DB" token list --json 2>/dev/null | jq -r '.[] | select(.scopes == ["read:users"]) | .id' | head -n 1)
check "the tokens page lists the read-only token" has "$RO_ID"
page POST "/admin/tokens/$RO_ID/revoke" "csrf=$CSRF"
assert_status 303 "revoke a token"
JAR=$RO_JAR
page GET /admin/users
assert_status 303 "the revoked token's session is over"

# ---- errors stay HTML; sign-out ----
JAR=$MK_TMP/jar
page GET /admin/nothing-here
assert_status 404 "an unknown admin path"
assert_html "admin 404"
page GET /admin/assets/admin.js
assert_status 200 "the script"
assert_header Content-Type '^text/javascript' "the script's type"
cp "$JAR" "$MK_TMP/jar.before-signout"
page POST /admin/logout "csrf=$CSRF"
assert_status 200 "sign out"
assert_header Set-Cookie '^mk_admin=; Path=/admin/; Max-Age=0' "sign-out clears the cookie"
JAR=$MK_TMP/jar.before-signout
page GET /admin/users
assert_status 303 "after sign-out, the old session cookie is refused (the session is deleted)"
req GET /api/v2/nothing
assert_header Content-Type '^application/json' "the API's own 404 is still JSON"

summary

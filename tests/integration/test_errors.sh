#!/bin/bash
# test_errors.sh BUILD_DIR: what the web server of $MK_STACK (see lib.sh)
# refuses or fails itself is answered in the API's language, as docs/api.md
# section 2 has it: the status, Content-Type application/json, and a JSON
# body {statusCode, error, message[, errorCode]} whose statusCode is the
# status (etc/errors/NNN.json, sent by each server's own mechanism).  And
# GET / is the front page.  The cases:
#   - GET /, GET /docs/api.md, a path outside the API (404);
#   - bodies of 1.5 MB (over metakeepd's body_limit of 1 MiB: metakeepd's
#     own 413), 3 MB and 20 MB (over the web server's 2 MiB: its 413), sent
#     with and without "Expect: 100-continue", and 3 MB chunked; nothing is
#     stored;
#   - header fields and a URI too large: 431 or 400 (and 414);
#   - a request held past the web server's timeout for metakeepd's answer
#     (60 s in etc/, shortened to 2 s here through MK_HTTPD_SED): a PATCH
#     waits for LMDB's write lock, which tests/soak/mkhold holds: 504;
#   - metakeepd stopped (by pid): 503 with Retry-After.  Where the web
#     server starts metakeepd itself, what it does then: lighttpd bin-path
#     and mod_fcgid start a new one (200); when it cannot start, lighttpd
#     answers 503 with Retry-After, mod_fcgid 500; mod_cgi runs it per
#     request and answers 500 when it cannot run.
# No case accepts "no answer" (curl's 000).
set -u
. "$(dirname "$0")/lib.sh"

# The timeout for metakeepd's answer, in each web server's words (read by
# mk_start_httpd).
# shellcheck disable=SC2034
MK_HTTPD_SED='s/^\([[:space:]]*fastcgi_read_timeout\) 60s;/\1 2s;/
s/"read-timeout" => 60,/"read-timeout" => 2,/
s/^ProxyTimeout 60$/ProxyTimeout 2/
s/^FcgidIOTimeout 60$/FcgidIOTimeout 2/
s/^CGIScriptTimeout 60$/CGIScriptTimeout 2/'
start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

CONN=Username-Password-Authentication
HOLD_PID=

case $MK_STACK in
lighttpd*) kind=lighttpd ;;
nginx*)    kind=nginx ;;
*)         kind=apache ;;
esac

# assert_web_error STATUS LABEL: the last answer is an error in the API's
# language with this status.
assert_web_error()
{
	assert_status "$1" "$2: status"
	assert_header Content-Type '^application/json' "$2: Content-Type"
	assert_json .statusCode "$1" "$2: statusCode"
	assert_true '(.error | type == "string") and (.message | type == "string")
		and (keys - ["statusCode", "error", "message", "errorCode"] == [])' \
		"$2: error and message, nothing else"
}

# big_body FILE BYTES: a valid user of BYTES bytes (stored, were it let
# through).
big_body()
{
	{
		printf '{"email":"big@example.com","connection":"%s","user_metadata":{"pad":"' "$CONN"
		head -c "$(($2 - 100))" /dev/zero | tr '\0' a
		printf '"}}'
	} > "$1"
}

stop_hold()
{
	[ -n "$HOLD_PID" ] || return 0
	kill -KILL "$HOLD_PID" 2>/dev/null
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
}
trap 'stop_hold; stop_stack' EXIT

# ---- the test's render ----

if grep -Eq '^[[:space:]]*(fastcgi_read_timeout 2s;|"read-timeout" => 2,|ProxyTimeout 2$|FcgidIOTimeout 2$|CGIScriptTimeout 2$)' \
    "$MK_HTTPD_CONF"; then
	pass "$MK_STACK: the timeout for metakeepd's answer is 2 s in the test's render"
else
	fail "$MK_STACK: the timeout for metakeepd's answer is 2 s in the test's render" \
		"MK_HTTPD_SED matched nothing in $MK_HTTPD_CONF"
fi

# ---- the bodies themselves ----

for f in "$MK_TOP"/etc/errors/*.json; do
	n=$(basename "$f" .json)
	if jq -e --argjson n "$n" '.statusCode == $n and (.error | type == "string")
	    and (.message | type == "string")
	    and (keys - ["statusCode", "error", "message", "errorCode"] == [])' \
	    "$f" >/dev/null 2>&1; then
		pass "etc/errors/$n.json: the API's error body for $n"
	else
		fail "etc/errors/$n.json: the API's error body for $n" "$(head -c 200 "$f")"
	fi
done

# ---- GET /: the front page ----

req GET / "" -
assert_status 200 "GET /"
assert_header Content-Type '^text/html' "GET /: Content-Type"
if [[ $BODY == *"<h1>metakeep</h1>"* && $BODY == *'href="docs/api.md"'* ]]; then
	pass "GET /: names the service and links the API's contract"
else
	fail "GET /: names the service and links the API's contract"
fi
req GET /docs/api.md "" -
assert_status 200 "GET /docs/api.md"
assert_header Content-Type '^text/plain' "GET /docs/api.md: Content-Type"
if cmp -s "$MK_TMP/resp.body" "$MK_TOP/docs/api.md"; then
	pass "GET /docs/api.md: the contract, as in the repository"
else
	fail "GET /docs/api.md: the contract, as in the repository"
fi

req GET /no/such/page "" -
assert_web_error 404 "a path outside the API"
req GET /errors/503.json "" -
case $STATUS in
403|404) assert_web_error "$STATUS" "an error body asked for directly: refused" ;;
*) fail "an error body asked for directly: refused" "got $STATUS" ;;
esac

# ---- bodies over the limits ----

req GET "/api/v2/users?include_totals=true"
assert_json .total 0 "no user before the large bodies"

big_body "$MK_TMP/1.5m" 1500000
big_body "$MK_TMP/3m" 3000000
big_body "$MK_TMP/20m" 20000000

req POST /api/v2/users "@$MK_TMP/1.5m"
assert_error 413 "Payload Too Large" payload_too_large "Request body is larger than 1048576 bytes." \
	"1.5 MB body: metakeepd's own 413"
for size in 3m 20m; do
	for expect in 100-continue none; do
		[ "$expect" = none ] && REQ_ARGS=(-H 'Expect:')
		req POST /api/v2/users "@$MK_TMP/$size"
		assert_web_error 413 "$size body (Expect: $expect)"
		assert_json .errorCode '"payload_too_large"' "$size body (Expect: $expect): errorCode"
	done
done
# Chunked, the size is known only as the body comes.  mod_proxy_fcgi
# spools it to learn its length, stops at LimitRequestBody and passes an
# empty body on: metakeepd answers 400, the body is empty (see README).
case $MK_STACK in
apache-proxy) chunked=400 ;;
*)            chunked=413 ;;
esac
REQ_ARGS=(-H 'Transfer-Encoding: chunked')
req POST /api/v2/users "@$MK_TMP/3m"
assert_web_error "$chunked" "3m body, chunked"
req POST "$MK_PREFIX/api/v2/users" "@$MK_TMP/3m"
assert_web_error 413 "3m body under $MK_PREFIX"
req GET "/api/v2/users?include_totals=true"
assert_json .total 0 "no user stored by the large bodies"

# The body limit itself (rule: a body of exactly body_limit bytes is let
# through, one byte more is 413): a small user padded with trailing blanks
# (JSON whitespace) to exactly 1048576 bytes, then to 1048577.
pad_body()
{
	local j
	j=$(printf '{"email":"%s","connection":"%s"}' "$3" "$CONN")
	{
		printf %s "$j"
		head -c "$(($2 - ${#j}))" /dev/zero | tr '\0' ' '
	} > "$1"
}
pad_body "$MK_TMP/at" 1048576 at-limit@example.com
pad_body "$MK_TMP/over" 1048577 over-limit@example.com
assert_eq "$(wc -c < "$MK_TMP/at") $(wc -c < "$MK_TMP/over")" "1048576 1048577" \
	"body limit: the padded bodies have the sizes meant"
req POST /api/v2/users "@$MK_TMP/at"
assert_status 201 "body limit: exactly body_limit (1048576) bytes accepted"
AT_ID=$(jq -r .user_id <<<"$BODY")
req POST /api/v2/users "@$MK_TMP/over"
assert_error 413 "Payload Too Large" payload_too_large "Request body is larger than 1048576 bytes." \
	"body limit: body_limit + 1 bytes refused"
req GET "/api/v2/users?include_totals=true"
assert_json '[.total, (.users | map(.email))]' '[1,["at-limit@example.com"]]' \
	"body limit: only the body at the limit stored"
req DELETE "/api/v2/users/$(jq -rn --arg s "$AT_ID" '$s | @uri')"
assert_status 204 "body limit: the user at the limit deleted"

# ---- header fields and URIs too large ----

big=$(head -c 20000 /dev/zero | tr '\0' a)
case $kind in
apache) hdr=400 ;;
*)      hdr=431 ;;
esac
REQ_ARGS=(-H "X-Big: $big")
req GET /api/v2/users
assert_web_error "$hdr" "a 20 KB header field"
REQ_ARGS=(-H "X-Big: $big$big$big")
req GET /api/v2/users
assert_web_error "$hdr" "a 60 KB header field"
REQ_ARGS=()
hv=$(head -c 100 /dev/zero | tr '\0' b)
for i in $(seq 1 400); do REQ_ARGS+=(-H "X-Many-$i: $hv"); done
req GET /api/v2/users
assert_web_error "$hdr" "400 header fields of 100 bytes"
case $kind in
lighttpd) uri=431 ;;
*)        uri=414 ;;
esac
req GET "/api/v2/users?q=$big"
assert_web_error "$uri" "a 20 KB URI"

# ---- a request held past the web server's timeout ----

req POST /api/v2/users '{"email":"held@example.com","connection":"'$CONN'"}'
assert_status 201 "create a user to PATCH"
U=/api/v2/users/$(jq -rn --arg s "$(jq -r .user_id <<<"$BODY")" '$s | @uri')

# mkhold takes LMDB's write lock and keeps it: every write waits.
coproc MKHOLD { exec "$MK_BUILD/tests/soak/mkhold" "$MK_DB" write 2>&1; }
# shellcheck disable=SC2153  # MKHOLD_PID is set by coproc
HOLD_PID=$MKHOLD_PID
read -r -t 10 line <&"${MKHOLD[0]}" || line=
assert_eq "$line" held "mkhold holds the write lock"
case $MK_STACK in
apache-fcgid) held=500 ;;  # mod_fcgid 2.3.9 has no 504 (README)
*)            held=504 ;;
esac
REQ_ARGS=(--max-time 20)
req PATCH "$U" '{"user_metadata":{"held":true}}'
assert_web_error "$held" "a PATCH held past the web server's timeout"
stop_hold
req GET "$U"
assert_status 200 "the service answers once the write lock is free"

# ---- metakeepd stopped ----

# stop_started: stop (by pid) the metakeepd processes the web server
# started: their master, which stops its workers.
stop_started()
{
	local p pp n=0
	for p in $(leftover_procs); do
		pp=$(ps -o ppid= -p "$p" | tr -d ' ')
		[ -n "$pp" ] || continue	# gone with its master
		# A worker's parent is its master, also ours.
		if ! leftover_procs | grep -qx "$pp"; then
			mk_stop_pid "$p" 10
			n=$((n + 1))
		fi
	done
	[ "$n" -gt 0 ]
}

case $MK_STACK in
lighttpd|nginx|nginx-tcp|apache-proxy)
	mk_stop_pid "$MK_DAEMON_PID"
	assert_eq "$(mk_alive "$MK_DAEMON_PID" || echo gone)" gone "metakeepd's pool stopped"
	MK_DAEMON_PID=
	req GET "$U"
	assert_web_error 503 "GET with metakeepd stopped"
	assert_header Retry-After '^[0-9]+$' "GET with metakeepd stopped: Retry-After"
	req PATCH "$U" '{"user_metadata":{"stopped":true}}'
	assert_web_error 503 "PATCH with metakeepd stopped"
	assert_header Retry-After '^[0-9]+$' "PATCH with metakeepd stopped: Retry-After"
	;;
lighttpd-spawn)
	stop_started
	assert_eq "$?" 0 "lighttpd's metakeepd stopped"
	# lighttpd starts it again when it exited cleanly; until then 503.
	for _ in $(seq 1 20); do
		req GET "$U"
		if [ "$STATUS" != 503 ] || [ "$(jqb .statusCode)" != 503 ]; then
			break
		fi
		sleep 0.5
	done
	assert_status 200 "GET with metakeepd stopped: lighttpd starts it again"
	# Now metakeepd cannot start at all: its database is not a directory.
	mv "$MK_DB" "$MK_DB.away" && : > "$MK_DB"
	stop_started
	assert_eq "$?" 0 "lighttpd's metakeepd stopped again"
	# A request that finds lighttpd trying to start it again and again
	# can end in lighttpd's 500 ("too many loops"); once lighttpd gives
	# up for a while (disable-time), 503.  Every answer is JSON.
	for i in 1 2 3 4 5; do
		req GET "$U"
		case $STATUS in
		500) assert_web_error 500 "GET $i when metakeepd cannot start (lighttpd retried)" ;;
		*)   break ;;
		esac
	done
	assert_web_error 503 "GET when metakeepd cannot start"
	assert_header Retry-After '^[0-9]+$' "GET when metakeepd cannot start: Retry-After"
	;;
apache-fcgid)
	stop_started
	assert_eq "$?" 0 "mod_fcgid's metakeepd stopped"
	req GET "$U"
	assert_status 200 "GET with metakeepd stopped: mod_fcgid starts a new one"
	printf '#!/bin/sh\nexit 1\n' > "$MK_CGI"
	stop_started
	req GET "$U"
	assert_web_error 500 "GET when metakeepd cannot run"
	;;
apache-cgi)
	printf '#!/bin/sh\nexit 1\n' > "$MK_CGI"
	req GET "$U"
	assert_web_error 500 "GET when metakeepd cannot run"
	;;
esac

summary

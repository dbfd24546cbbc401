# shellcheck shell=bash
# lib.sh: helpers for the HTTP integration tests: bring up metakeepd behind a
# real lighttpd, send requests with curl, check answers with jq.  Sourced by
# tests/integration/test_*.sh, which take the build directory as $1.
#
#   start_stack BUILD_DIR   temp dir, database, admin token ($TOKEN),
#                           metakeepd (4 workers) on a unix socket, lighttpd
#                           on a free 127.0.0.1 port ($BASE); both stopped by
#                           pid when the script exits
#   make_token SCOPES       print a new token with these scopes
#   req METHOD PATH [BODY] [TOKEN]
#                           BODY: JSON text, "@file", or "" for none;
#                           TOKEN: "" for $TOKEN, "-" for no Authorization.
#                           Content-Type is $REQ_CT (application/json);
#                           extra curl arguments in the array REQ_ARGS
#                           (both reset after each call).  Sets STATUS, BODY,
#                           and keeps the headers for header().
#   assert_*                each counts one passed or failed check
#   summary                 prints "N passed, N failed"; false on failures
#
# Set MK_KEEP=1 to keep the temp dir (it is always kept when a check failed).

MK_IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "$MK_IT_DIR/../../scripts/lib.sh"

PASSED=0
FAILED=0
STATUS=
BODY=
REQ_CT=application/json
REQ_ARGS=()
MK_TMP=
MK_DAEMON_PID=
MK_LIGHTTPD_PID=
LAST_REQ=

# ---- the stack ----

start_stack()
{
	local b=${1:?start_stack: build directory}
	MK_BUILD=$(cd "$b" && pwd) || return 1
	for f in metakeepd metakeepctl; do
		[ -x "$MK_BUILD/$f" ] || { echo "start_stack: no $MK_BUILD/$f" >&2; return 1; }
	done
	for f in lighttpd jq curl; do
		command -v "$f" >/dev/null || { echo "start_stack: no $f (scripts/deps)" >&2; return 1; }
	done
	MK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/metakeep-it.XXXXXX") || return 1
	# As root, metakeepd works as another user (mk_user_args), which must
	# be able to reach the database below this directory.
	chmod 0711 "$MK_TMP"
	trap stop_stack EXIT
	trap 'exit 130' INT TERM
	MK_DB=$MK_TMP/db
	MK_SOCK=$MK_TMP/metakeepd.sock
	mkdir -p "$MK_DB"
	TOKEN=$("$MK_BUILD/metakeepctl" -d "$MK_DB" token create --scope all 2>"$MK_TMP/ctl.log") || {
		echo "start_stack: metakeepctl token create failed" >&2
		return 1
	}
	mk_user_args
	"$MK_BUILD/metakeepd" -d "$MK_DB" --socket "$MK_SOCK" -w 4 -f "${MK_USER_ARGS[@]}" \
		</dev/null >"$MK_TMP/metakeepd.log" 2>&1 &
	MK_DAEMON_PID=$!
	mk_wait_socket "$MK_SOCK" "$MK_DAEMON_PID" 15 || {
		tail -n 20 "$MK_TMP/metakeepd.log" >&2
		return 1
	}
	mk_start_lighttpd "$MK_TMP/lighttpd.conf" "$MK_SOCK" "$MK_TMP" "$MK_TMP" || return 1
	BASE=http://127.0.0.1:$MK_PORT
	echo "# stack: metakeepd pid $MK_DAEMON_PID, lighttpd pid $MK_LIGHTTPD_PID on $BASE, dir $MK_TMP"
}

stop_stack()
{
	# Finish the cleanup even when a second signal comes (timeout(1)
	# signals the script and then its process group).
	trap '' INT TERM
	mk_stop_pid "$MK_LIGHTTPD_PID"
	mk_stop_pid "$MK_DAEMON_PID"
	MK_LIGHTTPD_PID=
	MK_DAEMON_PID=
	[ -n "$MK_TMP" ] || return 0
	if [ "$FAILED" -gt 0 ]; then
		echo "# metakeepd log (last lines of $MK_TMP/metakeepd.log):"
		tail -n 20 "$MK_TMP/metakeepd.log" 2>/dev/null | sed 's/^/#   /'
		echo "# kept $MK_TMP"
	elif [ "${MK_KEEP:-0}" = 1 ]; then
		echo "# kept $MK_TMP"
	else
		rm -rf "$MK_TMP"
	fi
	MK_TMP=
}

make_token()
{
	"$MK_BUILD/metakeepctl" -d "$MK_DB" token create --scope "$1"
}

# ---- requests ----

req()
{
	local method=$1 path=$2 body=${3:-} tok=${4:-} args
	args=(-sS --max-time 30 -o "$MK_TMP/resp.body" -D "$MK_TMP/resp.headers"
		-w '%{http_code}' -X "$method")
	case $tok in
	-) ;;
	'') args+=(-H "Authorization: Bearer $TOKEN") ;;
	*) args+=(-H "Authorization: Bearer $tok") ;;
	esac
	if [ -n "$body" ]; then
		args+=(-H "Content-Type: $REQ_CT")
		case $body in
		@*) args+=(--data-binary "$body") ;;
		*) printf '%s' "$body" > "$MK_TMP/req.body"
		   args+=(--data-binary "@$MK_TMP/req.body") ;;
		esac
	fi
	args+=("${REQ_ARGS[@]}")
	LAST_REQ="$method $path"
	: > "$MK_TMP/resp.body"
	: > "$MK_TMP/resp.headers"
	STATUS=$(curl "${args[@]}" "$BASE$path") || STATUS=000
	BODY=$(cat "$MK_TMP/resp.body")
	REQ_CT=application/json
	REQ_ARGS=()
}

# header NAME: the value of a response header of the last request.
header()
{
	tr -d '\r' < "$MK_TMP/resp.headers" |
		awk -v n="$1" 'BEGIN { n = tolower(n) ":" }
			tolower(substr($0, 1, length(n))) == n {
				v = substr($0, length(n) + 1); sub(/^[ \t]+/, "", v); print v; exit }'
}

# jqb EXPR: run jq over the last response body.
jqb()
{
	jq -c "$@" <<<"$BODY"
}

# ---- checks ----

pass()
{
	PASSED=$((PASSED + 1))
	echo "ok - $1"
}

fail()
{
	FAILED=$((FAILED + 1))
	echo "FAIL - $1"
	shift
	local l
	for l in "$@"; do echo "#   $l"; done
	echo "#   last request: $LAST_REQ -> $STATUS"
	echo "#   body: ${BODY:0:400}"
}

assert_eq()
{
	local got=$1 exp=$2 label=$3
	if [ "$got" == "$exp" ]; then pass "$label"; else fail "$label" "expected: $exp" "got:      $got"; fi
}

assert_status()
{
	assert_eq "$STATUS" "$1" "${2:-$LAST_REQ} -> $1"
}

# assert_json EXPR EXPECTED LABEL: jq EXPR over the body equals the JSON
# text EXPECTED, both in canonical form (sorted keys, compact).
assert_json()
{
	local expr=$1 exp=$2 label=$3 got want
	got=$(jq -S -c "$expr" <<<"$BODY" 2>&1) || got="(jq failed: $got)"
	want=$(jq -S -c . <<<"$exp" 2>&1) || { fail "$label" "bad expected JSON: $exp"; return; }
	assert_eq "$got" "$want" "$label"
}

# assert_true EXPR LABEL: jq EXPR over the body is true.
assert_true()
{
	if jq -e "$1" <<<"$BODY" >/dev/null 2>&1; then pass "$2"; else fail "$2" "not true: $1"; fi
}

# assert_header NAME ERE LABEL: the header is there and matches ERE.
assert_header()
{
	local v
	v=$(header "$1")
	if [ -n "$v" ] && [[ $v =~ $2 ]]; then pass "$3"; else fail "$3" "header $1: '$v' !~ /$2/"; fi
}

# assert_error STATUS ERROR ERRORCODE MESSAGE LABEL: an error response as
# spec section 2 has it: the status, a JSON body with exactly statusCode,
# error, message and (unless ERRORCODE is "-") errorCode.  MESSAGE is the
# whole message, or its start when it ends in "*".
assert_error()
{
	local st=$1 er=$2 code=$3 msg=$4 label=$5 keys m
	assert_status "$st" "$label: status"
	if [ "$code" = - ]; then
		keys='["error","message","statusCode"]'
		assert_json '{statusCode,error}' "{\"statusCode\":$st,\"error\":\"$er\"}" "$label: body"
	else
		keys='["error","errorCode","message","statusCode"]'
		assert_json '{statusCode,error,errorCode}' \
			"{\"statusCode\":$st,\"error\":\"$er\",\"errorCode\":\"$code\"}" "$label: body"
	fi
	assert_json 'keys' "$keys" "$label: no other fields"
	m=$(jq -r '.message // empty' <<<"$BODY" 2>/dev/null)
	case $msg in
	*\*)
		if [ -n "$m" ] && [[ $m == "${msg%\*}"* ]]; then pass "$label: message"
		else fail "$label: message" "expected to start: ${msg%\*}" "got: $m"; fi ;;
	*) assert_eq "$m" "$msg" "$label: message" ;;
	esac
}

# snapshot PATH: remember the body of GET PATH; assert_unchanged PATH
# LABEL checks a new GET returns the very same bytes.
snapshot()
{
	req GET "$1"
	cp "$MK_TMP/resp.body" "$MK_TMP/snapshot"
}

# The last response stays the one header() and the variables see.
assert_unchanged()
{
	local s=$STATUS b=$BODY r=$LAST_REQ
	cp "$MK_TMP/resp.headers" "$MK_TMP/keep.headers"
	cp "$MK_TMP/resp.body" "$MK_TMP/keep.body"
	req GET "$1"
	if [ "$STATUS" = 200 ] && cmp -s "$MK_TMP/snapshot" "$MK_TMP/resp.body"; then
		pass "$2: stored object unchanged"
	else
		fail "$2: stored object unchanged" "before: $(head -c 300 "$MK_TMP/snapshot")"
	fi
	mv "$MK_TMP/keep.headers" "$MK_TMP/resp.headers"
	mv "$MK_TMP/keep.body" "$MK_TMP/resp.body"
	STATUS=$s BODY=$b LAST_REQ=$r
}

summary()
{
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# shellcheck shell=bash
# lib.sh: helpers for the HTTP integration tests: bring up metakeepd behind a
# real web server, send requests with curl, check answers with jq.  Sourced
# by tests/integration/test_*.sh, which take the build directory as $1.
#
#   start_stack BUILD_DIR   temp dir, database, admin token ($TOKEN), and
#                           the set-up named by $MK_STACK (default lighttpd)
#                           on a free 127.0.0.1 port ($BASE), and over https
#                           on another ($BASE_TLS, a self-signed certificate
#                           made into the temp dir: $MK_CA, which clients
#                           trust with curl --cacert or NODE_EXTRA_CA_CERTS),
#                           from its template in etc/; everything is stopped
#                           by pid when the script exits.  The set-ups:
#     lighttpd        metakeepd (4 workers) on a unix socket, lighttpd
#                     mod_fastcgi to it               etc/lighttpd.conf
#     lighttpd-spawn  lighttpd starts metakeepd (bin-path)
#                                                     etc/lighttpd-spawn.conf
#     nginx           metakeepd on a unix socket      etc/nginx.conf
#     nginx-tcp       metakeepd on 127.0.0.1:PORT     etc/nginx-tcp.conf
#     apache-proxy    metakeepd on a unix socket, Apache mod_proxy_fcgi
#                                                     etc/apache-proxy-fcgi.conf
#     apache-fcgid    Apache mod_fcgid starts metakeepd (via the wrapper
#                     etc/metakeepd.cgi)              etc/apache-fcgid.conf
#     apache-cgi      Apache mod_cgi runs metakeepd per request
#                                                     etc/apache-cgi.conf
#                           Every one also serves the API under $MK_PREFIX
#                           (/mk): $BASE$MK_PREFIX/api/v2/...  Set
#                           MK_HTTPD_SED to a sed(1) script to edit the
#                           rendered web server config before it starts
#                           (test_errors.sh shortens timeouts so).
#   stop_httpd              stop the web server now (by pid); the set-ups
#                           where it started metakeepd must leave no
#                           process behind
#   leftover_procs          print the pids of processes still using $MK_TMP
#                           (metakeepd started by the web server)
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
MK_HTTPD_PID=
MK_HTTPD_CONF=
MK_STACK=${MK_STACK:-lighttpd}
MK_PREFIX=/mk
BASE=
BASE_TLS=
MK_CA=
LAST_REQ=
MK_STACKS="lighttpd lighttpd-spawn nginx nginx-tcp apache-proxy apache-fcgid apache-cgi"

# ---- the stack ----

# start_pool ARGS...: metakeepd with its own socket (ARGS: --socket PATH or
# --listen HOST:PORT), 4 workers; sets MK_DAEMON_PID.  A script may set
# MK_POOL_CONF to a configuration file for it (-c) before start_stack, or
# MK_POOL_CONF_LINES to lines of its [metakeepd] section, one a line (e.g.
# "rate_write_per_minute = 600"), which start_stack writes into
# $MK_TMP/pool.conf and names in MK_POOL_CONF.  Both only for the set-ups
# whose pool start_stack starts itself (lighttpd, nginx, nginx-tcp,
# apache-proxy); with another, MK_POOL_CONF_LINES makes start_stack fail.
start_pool()
{
	local conf=()
	[ -n "${MK_POOL_CONF:-}" ] && conf=(-c "$MK_POOL_CONF")
	mk_user_args
	"$MK_BUILD/metakeepd" "${conf[@]}" -d "$MK_DB" "$@" -w 4 -f "${MK_USER_ARGS[@]}" \
		</dev/null >>"$MK_TMP/metakeepd.log" 2>&1 &
	MK_DAEMON_PID=$!
}

# write_wrapper: the CGI/mod_fcgid wrapper (etc/metakeepd.cgi) and its
# configuration, in a directory of their own; as root, the database goes to
# the user the web server runs metakeepd as.  Sets MK_CGI.
write_wrapper()
{
	local ug
	mkdir -p "$MK_TMP/cgi-bin" || return 1
	MK_CGI=$MK_TMP/cgi-bin/metakeepd.cgi
	printf '[metakeepd]\ndatabase = %s\nworkers = 1\n' "$MK_DB" > "$MK_TMP/metakeepd.conf"
	mk_render etc/metakeepd.cgi "$MK_CGI" METAKEEPD="$MK_BUILD/metakeepd" \
		CONFIG="$MK_TMP/metakeepd.conf" || return 1
	chmod 0755 "$MK_TMP/cgi-bin" "$MK_CGI"
	chmod 0644 "$MK_TMP/metakeepd.conf"
	if [ "$(id -u)" -eq 0 ]; then
		ug=$(mk_httpd_user)
		chown -R "${ug% *}:${ug#* }" "$MK_DB" || return 1
	fi
}

start_stack()
{
	local b=${1:?start_stack: build directory} f kind tpl fport args=()
	MK_BUILD=$(cd "$b" && pwd) || return 1
	for f in metakeepd metakeepctl; do
		[ -x "$MK_BUILD/$f" ] || { echo "start_stack: no $MK_BUILD/$f" >&2; return 1; }
	done
	case $MK_STACK in
	lighttpd)       kind=lighttpd tpl=etc/lighttpd.conf ;;
	lighttpd-spawn) kind=lighttpd tpl=etc/lighttpd-spawn.conf ;;
	nginx)          kind=nginx    tpl=etc/nginx.conf ;;
	nginx-tcp)      kind=nginx    tpl=etc/nginx-tcp.conf ;;
	apache-proxy)   kind=apache   tpl=etc/apache-proxy-fcgi.conf ;;
	apache-fcgid)   kind=apache   tpl=etc/apache-fcgid.conf ;;
	apache-cgi)     kind=apache   tpl=etc/apache-cgi.conf ;;
	*) echo "start_stack: unknown MK_STACK '$MK_STACK' (one of: $MK_STACKS)" >&2; return 1 ;;
	esac
	for f in jq curl "$( [ "$kind" = apache ] && echo apache2 || echo "$kind")"; do
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
	if [ -n "${MK_POOL_CONF_LINES:-}" ]; then
		case $MK_STACK in
		lighttpd|nginx|nginx-tcp|apache-proxy) ;;
		*) echo "start_stack: MK_POOL_CONF_LINES: $MK_STACK starts metakeepd itself" >&2; return 1 ;;
		esac
		[ -z "${MK_POOL_CONF:-}" ] || {
			echo "start_stack: MK_POOL_CONF and MK_POOL_CONF_LINES both set" >&2
			return 1
		}
		printf '[metakeepd]\n%s\n' "$MK_POOL_CONF_LINES" >"$MK_TMP/pool.conf" || return 1
		chmod 0644 "$MK_TMP/pool.conf"
		MK_POOL_CONF=$MK_TMP/pool.conf
	fi
	TOKEN=$("$MK_BUILD/metakeepctl" -d "$MK_DB" token create --scope all 2>"$MK_TMP/ctl.log") || {
		echo "start_stack: metakeepctl token create failed" >&2
		return 1
	}
	case $MK_STACK in
	lighttpd|nginx|apache-proxy)
		start_pool --socket "$MK_SOCK"
		mk_wait_socket "$MK_SOCK" "$MK_DAEMON_PID" 15 || {
			tail -n 20 "$MK_TMP/metakeepd.log" >&2
			return 1
		}
		args=(SOCKET="$MK_SOCK")
		;;
	nginx-tcp)
		# A free port, retried when the bind loses a race.
		for _ in 1 2 3 4 5; do
			fport=$(mk_free_port) || return 1
			start_pool --listen "127.0.0.1:$fport"
			mk_wait_port "$fport" "$MK_DAEMON_PID" 15 2>/dev/null && break
			mk_stop_pid "$MK_DAEMON_PID" 2
			MK_DAEMON_PID=
		done
		[ -n "$MK_DAEMON_PID" ] || {
			tail -n 20 "$MK_TMP/metakeepd.log" >&2
			return 1
		}
		args=(FCGI_PORT="$fport")
		;;
	lighttpd-spawn)
		mk_user_args
		args=(SOCKET="$MK_SOCK"
			METAKEEPD="$MK_BUILD/metakeepd -d $MK_DB -w 4 ${MK_USER_ARGS[*]}")
		;;
	apache-fcgid|apache-cgi)
		write_wrapper || return 1
		args=(CGI="$MK_CGI" CGIDIR="$MK_TMP/cgi-bin")
		;;
	esac
	MK_HTTPD_CONF=$MK_TMP/$kind.conf
	mk_start_httpd "$kind" "$tpl" "$MK_HTTPD_CONF" "$MK_TMP" "$MK_TMP" \
		PREFIX="$MK_PREFIX" "${args[@]}" || return 1
	# Older scripts know the lighttpd one by this name.
	[ "$kind" = lighttpd ] && MK_LIGHTTPD_PID=$MK_HTTPD_PID
	BASE=http://127.0.0.1:$MK_PORT
	BASE_TLS=https://127.0.0.1:$MK_TLS_PORT
	MK_CA=$MK_TMP/tls/cert.pem
	echo "# stack $MK_STACK: metakeepd pid ${MK_DAEMON_PID:-(started by $kind)}, $kind pid $MK_HTTPD_PID on $BASE and $BASE_TLS, dir $MK_TMP"
}

# leftover_procs: pids of the processes whose command line names this
# test's directory (metakeepd started by the web server or for CGI), but
# for the pool start_stack started itself (its master and workers).
leftover_procs()
{
	local p
	[ -n "$MK_TMP" ] || return 0
	for p in $(pgrep -f -- "metakeepd[.a-z]* .*$MK_TMP/" 2>/dev/null); do
		[ "$p" = "$$" ] && continue
		if [ -n "$MK_DAEMON_PID" ] && { [ "$p" = "$MK_DAEMON_PID" ] ||
		    [ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = "$MK_DAEMON_PID" ]; }; then
			continue
		fi
		echo "$p"
	done
}

# stop_httpd: stop the web server by its pid.  What it started (lighttpd
# bin-path, mod_fcgid) goes with it: wait up to 10 s for that, and stop
# by pid whatever is left (reporting it: that would be a bug).
stop_httpd()
{
	local n=100 p
	[ -n "$MK_HTTPD_PID" ] || return 0
	mk_stop_pid "$MK_HTTPD_PID"
	MK_HTTPD_PID=
	MK_LIGHTTPD_PID=
	case $MK_STACK in
	lighttpd-spawn|apache-fcgid|apache-cgi) ;;
	*) return 0 ;;
	esac
	while [ "$n" -gt 0 ] && [ -n "$(leftover_procs)" ]; do
		sleep 0.1
		n=$((n - 1))
	done
	for p in $(leftover_procs); do
		echo "# stop_httpd: process $p outlived the web server: $(ps -o args= -p "$p")" >&2
		mk_stop_pid "$p" 5
	done
	return 0
}

stop_stack()
{
	local f
	# Finish the cleanup even when a second signal comes (timeout(1)
	# signals the script and then its process group).
	trap '' INT TERM
	stop_httpd
	mk_stop_pid "$MK_LIGHTTPD_PID"
	mk_stop_pid "$MK_DAEMON_PID"
	MK_LIGHTTPD_PID=
	MK_DAEMON_PID=
	[ -n "$MK_TMP" ] || return 0
	if [ "$FAILED" -gt 0 ]; then
		echo "# metakeepd log (last lines of $MK_TMP/metakeepd.log):"
		tail -n 20 "$MK_TMP/metakeepd.log" 2>/dev/null | sed 's/^/#   /'
		for f in "$MK_TMP"/*-error.log; do
			[ -s "$f" ] || continue
			echo "# last lines of $f:"
			tail -n 20 "$f" | sed 's/^/#   /'
		done
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
	CURL_RC=0
	STATUS=$(curl "${args[@]}" "$BASE$path") || { CURL_RC=$?; STATUS=000; }
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

# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are used by the scripts
# daemon.bash: helpers for the metakeepd process tests (test_daemon_*.sh),
# sourced, not run (hence not named *.sh: scripts/test runs every
# tests/proc/*.sh).  They start metakeepd on a unix socket in a temporary
# directory, talk FastCGI to it with cgi-fcgi (Debian package libfcgi-bin),
# and stop every process they started by its pid.
#
# Uses from the sourcing script: $1 = BUILD_DIR.  Sets: build, mkd, ctl,
# tmp, run, db, sock, userargs (--user nobody when run as root: metakeepd
# refuses root without it).

set -u

build=${1:?usage: $0 BUILD_DIR}
build=$(cd "$build" && pwd) || exit 2
mkd=$build/metakeepd
ctl=$build/metakeepctl
[ -x "$mkd" ] || { echo "no executable $mkd" >&2; exit 2; }
cgifcgi=$(command -v cgi-fcgi) || {
	echo "cgi-fcgi not found: apt-get install libfcgi-bin" >&2
	exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkd-proc.XXXXXX") || exit 2
# The workers may run as nobody: they must reach the database and socket.
chmod 755 "$tmp"
run=$tmp/run
db=$tmp/db
sock=$run/mk.sock
mkdir "$run"
userargs=()
if [ "$(id -u)" = 0 ]; then
	userargs=(--user nobody)
	chown nobody "$run"
fi

mkd_log=$tmp/mkd.log  # start_daemon's log; a script may switch it
pass=0
fail=0
started=()  # every daemon pid this script started

ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# check WHAT COMMAND...: pass when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
# eq WHAT GOT WANT
eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}

# alive PID: exists and is not a zombie.
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# children PID: the pids of live children of PID, one a line, sorted as text.
children() {
	local p
	for p in $(pgrep -P "$1" 2>/dev/null); do
		alive "$p" && echo "$p"
	done | sort  # lexical, as comm(1) wants
}

# wait_children PID N SECONDS: until PID has exactly N live children.
wait_children() {
	local n=$(($3 * 10))
	while [ "$n" -gt 0 ]; do
		[ "$(children "$1" | wc -l)" -eq "$2" ] && return 0
		alive "$1" || return 1
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# wait_gone PID SECONDS: until PID has exited (reaping it when it is ours).
wait_gone() {
	local n=$(($2 * 10))
	while [ "$n" -gt 0 ] && alive "$1"; do
		sleep 0.1
		n=$((n - 1))
	done
	! alive "$1"
}

# start_daemon ARGS...: metakeepd in the foreground on $sock with the given
# extra options; sets mkd_pid and waits for the socket.  Log: $mkd_log
# (default $tmp/mkd.log).
start_daemon() {
	local n=100
	rm -f "$sock"
	"$mkd" -f -d "$db" --socket "$sock" "${userargs[@]}" "$@" \
		</dev/null >>"$mkd_log" 2>&1 &
	mkd_pid=$!
	started+=("$mkd_pid")
	while [ "$n" -gt 0 ]; do
		[ -S "$sock" ] && return 0
		alive "$mkd_pid" || break
		sleep 0.1
		n=$((n - 1))
	done
	echo "# metakeepd did not come up; log:"
	tail -n 20 "$mkd_log" | sed 's/^/#   /'
	return 1
}

# stop_daemon PID: SIGTERM, wait up to 15 s, then SIGKILL.  Sets stop_rc
# to its exit status.
stop_daemon() {
	local pid=$1
	stop_rc=
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	if ! wait_gone "$pid" 15; then
		echo "# $pid did not stop on SIGTERM, killing"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	stop_rc=$?
}

cleanup() {
	local p c
	for p in "${started[@]}"; do
		if alive "$p"; then
			for c in $(children "$p"); do kill -KILL "$c" 2>/dev/null; done
			kill -KILL "$p" 2>/dev/null
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# fcgi METHOD URI [BODY [AUTHORIZATION [CONTENT_TYPE [CONNECT]]]]: one
# request over FastCGI to $sock (or CONNECT, e.g. 127.0.0.1:PORT).  Sets
# status (the number of the Status line, "" when there was no answer),
# ctype (the Content-Type), hdrs (the header lines) and body.  Safe to run in parallel subshells.
fcgi() {
	local m=$1 u=$2 b=${3-} a=${4-} ct=${5-application/json} to=${6-$sock}
	local req=$tmp/req.$BASHPID resp=$tmp/resp.$BASHPID len
	local -a envs=(REQUEST_METHOD="$m" REQUEST_URI="$u" SCRIPT_NAME=/api/v2
		SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1)
	printf %s "$b" >"$req"
	len=$(wc -c <"$req")
	[ "$len" -gt 0 ] && envs+=(CONTENT_LENGTH="$len" CONTENT_TYPE="$ct")
	[ -n "$a" ] && envs+=(HTTP_AUTHORIZATION="$a")
	env -i "${envs[@]}" timeout 10 "$cgifcgi" -bind -connect "$to" \
		<"$req" >"$resp" 2>/dev/null
	status=$(sed -n '1s/^Status: \([0-9][0-9]*\).*/\1/p' "$resp")
	ctype=$(sed -n 's/^Content-Type: \(.*\)\r$/\1/p' "$resp" | head -n 1)
	hdrs=$(sed '/^\r$/q' "$resp" | tr -d '\r')
	body=$(sed '1,/^\r$/d' "$resp")
	rm -f "$req" "$resp"
}

# The answer the spec defines for a request without a token.
UNAUTH='{"statusCode":401,"error":"Unauthorized","message":"Missing authentication"}'

# load N OUT: N sequential unauthenticated GETs; appends each status to OUT.
load() {
	for _ in $(seq 1 "$1"); do
		fcgi GET /api/v2/users
		echo "${status:-none}" >>"$2"
	done
}

# summary: the last line scripts/test reads; the exit status.
summary() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

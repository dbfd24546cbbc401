#!/bin/bash
# test_daemon_watchdog: the master's request watchdog (--request-timeout).
# A worker stopped (SIGSTOP) in the middle of a PATCH, whose body has not
# all arrived, is killed by the master within a few seconds of the limit
# and replaced; writes by other clients go on; idle workers and quick
# requests are left alone; --request-timeout 0 turns the watchdog off; a
# request that stalls without a stop is killed too; bad values are refused.
#
# usage: tests/proc/test_daemon_watchdog.sh BUILD_DIR   (bounded to 120 s)
# shellcheck disable=SC2015 # ok and bad always succeed: A && ok || bad is safe
if [ -z "${MK_PROC_BOUNDED:-}" ]; then
	MK_PROC_BOUNDED=1 exec timeout -k 5 120 bash "$0" "$@"
fi
# shellcheck source=tests/proc/daemon.bash
. "$(dirname "$0")/daemon.bash"

KILLMSG='over request_timeout'
feeders=()  # background writers into the slow bodies' fifos
cleanup_feeders() {
	local p
	for p in "${feeders[@]}"; do kill "$p" 2>/dev/null; done
	feeders=()
}
trap 'cleanup_feeders; cleanup' EXIT

# slow_patch NAME URI: a PATCH whose body never ends: CONTENT_LENGTH says
# 64 bytes, 10 arrive, then the sender waits (30 s).  Runs cgi-fcgi in the
# background; sets slow_pid.
slow_patch() {
	local fifo=$tmp/$1.fifo
	mkfifo "$fifo"
	# exec: the pid is the sleep's, so killing it closes the fifo.
	(printf '{"user_me'; exec sleep 30) >"$fifo" &
	feeders+=($!)
	env -i REQUEST_METHOD=PATCH REQUEST_URI="$2" SCRIPT_NAME=/api/v2 \
	    SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 \
	    CONTENT_TYPE=application/json CONTENT_LENGTH=64 \
	    HTTP_AUTHORIZATION="Bearer $token" \
	    timeout 30 "$cgifcgi" -bind -connect "$sock" <"$fifo" \
	    >"$tmp/$1.out" 2>/dev/null &
	slow_pid=$!
}

# nsock PID: how many sockets PID has open.
nsock() {
	find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# snap MASTER: note how many sockets each worker has while idle.
declare -A base
snap() {
	local p
	base=()
	for p in $(children "$1"); do base[$p]=$(nsock "$p"); done
}

# busy_worker MASTER SECONDS: the worker with one more socket than at the
# last snap (the connection of the request in flight); "" after SECONDS.
busy_worker() {
	local n=$(($2 * 10)) p
	while [ "$n" -gt 0 ]; do
		for p in $(children "$1"); do
			if [ -n "${base[$p]:-}" ] && [ "$(nsock "$p")" -gt "${base[$p]}" ]; then
				echo "$p"
				return 0
			fi
		done
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# kills: how many times the watchdog killed, per the log.
kills() {
	grep -c -- "$KILLMSG" "$mkd_log"
}

# --- option checks
"$mkd" --help >"$tmp/out" 2>&1
grep -q -- --request-timeout "$tmp/out" && ok "--help lists --request-timeout" ||
	bad "--help does not list --request-timeout"
for v in x -1 86401 2s; do
	env -i "$mkd" -f -d "$db" --socket "$sock" --request-timeout "$v" \
	    </dev/null >/dev/null 2>"$tmp/err"
	eq "--request-timeout '$v' exits 64" "$?" 64
done
printf '[metakeepd]\nrequest_timeout = soon\n' >"$tmp/bad.conf"
env -i "$mkd" -f -d "$db" --socket "$sock" -c "$tmp/bad.conf" \
    </dev/null >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -ne 0 ] && grep -q request_timeout "$tmp/err" &&
	ok "request_timeout = soon in a file is refused (exit $rc)" ||
	bad "bad request_timeout in a file: exit $rc, $(cat "$tmp/err")"

# --- a worker stopped in the middle of a PATCH
printf '[metakeepd]\nrequest_timeout = 2\n' >"$tmp/wd.conf"
start_daemon -w 2 -c "$tmp/wd.conf" || { bad "daemon start"; summary; exit; }
check "2 workers" wait_children "$mkd_pid" 2 10
token=$("$ctl" -d "$db" token create --scope all 2>"$tmp/err")
[ -n "$token" ] || { bad "no token: $(cat "$tmp/err")"; summary; exit; }
fcgi POST /api/v2/users \
    '{"email":"wd@example.com","connection":"Username-Password-Authentication"}' \
    "Bearer $token"
eq "POST a user: 201" "$status" 201
id=$(printf %s "$body" | sed -n 's/.*"user_id":"\([^"]*\)".*/\1/p')
uri="/api/v2/users/${id/|/%7C}"

# Quick requests spread over more than the limit: nobody is killed.
before=$(children "$mkd_pid")
for i in $(seq 1 12); do
	fcgi PATCH "$uri" "{\"user_metadata\":{\"n\":$i}}" "Bearer $token"
	[ "$status" = 200 ] || break
	sleep 0.25
done
eq "12 quick PATCHes over 3 s: 200" "$status" 200
eq "quick requests: no watchdog kill" "$(kills)" 0
eq "quick requests: the same workers" "$(children "$mkd_pid")" "$before"

snap "$mkd_pid"
slow_patch stop "$uri"
victim=$(busy_worker "$mkd_pid" 5)
if [ -z "$victim" ]; then
	bad "no worker took the slow PATCH"
else
	kill -STOP "$victim"
	t0=$(date +%s%N)
	ok "worker $victim stopped inside a PATCH"
	# Meanwhile the other worker serves writes.
	fcgi PATCH "$uri" '{"user_metadata":{"during":1}}' "Bearer $token"
	eq "a write while $victim is stopped: 200" "$status" 200
	if wait_gone "$victim" 6; then
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -le 4500 ] && ok "the master killed $victim within ${ms} ms" ||
			bad "the stopped worker died only after ${ms} ms"
	else
		bad "stopped worker $victim still there after 6 s"
		kill -KILL "$victim" 2>/dev/null
	fi
	grep -q "worker $victim: one request running .* $KILLMSG 2 s" "$mkd_log" &&
		ok "the kill is logged" ||
		bad "no watchdog message: $(tail -n 5 "$mkd_log")"
	grep -q "worker $victim killed by signal 9" "$mkd_log" &&
		ok "the master saw it die of SIGKILL" ||
		bad "no death message: $(tail -n 5 "$mkd_log")"
fi
check "the pool is back to 2 workers" wait_children "$mkd_pid" 2 5
children "$mkd_pid" | grep -qx "${victim:-none}" && bad "$victim still a child" ||
	ok "the stopped worker is not among them"
wait "$slow_pid" 2>/dev/null
# Its client got no answer (the worker died), and nothing was written.
eq "the slow PATCH got no answer" \
    "$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$tmp/stop.out")" ""
for i in 1 2 3 4 5 6; do
	fcgi PATCH "$uri" "{\"user_metadata\":{\"after\":$i}}" "Bearer $token"
	[ "$status" = 200 ] || break
done
eq "6 writes after the kill: 200" "$status" 200
fcgi GET "$uri" "" "Bearer $token"
case $body in
*'"user_metadata":{"n":12,"during":1,"after":6}'*) ok "every acknowledged write is there" ;;
*) bad "user after the kill: $body" ;;
esac
eq "exactly one watchdog kill" "$(kills)" 1

# --- a request that stalls without any stop is killed as well
snap "$mkd_pid"
slow_patch stall "$uri"
victim=$(busy_worker "$mkd_pid" 5)
if [ -n "$victim" ] && wait_gone "$victim" 6; then
	ok "a stalled (not stopped) request: worker $victim killed"
else
	bad "stalled request: worker '${victim}' not killed"
fi
check "pool back to 2 after the stall" wait_children "$mkd_pid" 2 5
eq "two watchdog kills" "$(kills)" 2
cleanup_feeders
wait "$slow_pid" 2>/dev/null
stop_daemon "$mkd_pid"
eq "master exits 0" "$stop_rc" 0

# --- --request-timeout 0: no watchdog (the command line beats the file)
mkd_log=$tmp/off.log
start_daemon -w 1 -c "$tmp/wd.conf" --request-timeout 0 ||
	{ bad "daemon start (off)"; summary; exit; }
check "1 worker" wait_children "$mkd_pid" 1 10
snap "$mkd_pid"
slow_patch off "$uri"
victim=$(busy_worker "$mkd_pid" 5)
sleep 3.5
[ -n "$victim" ] && alive "$victim" &&
	ok "--request-timeout 0: worker $victim still serving its request after 3.5 s" ||
	bad "--request-timeout 0: worker '$victim' gone"
eq "--request-timeout 0: no watchdog kill" "$(kills)" 0
# The body ends short: the worker answers 400 and goes on.
cleanup_feeders
wait "$slow_pid" 2>/dev/null
eq "short body after the stall: 400" \
    "$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$tmp/off.out")" 400
fcgi GET "$uri" "" "Bearer $token"
eq "the worker still serves" "$status" 200
stop_daemon "$mkd_pid"
eq "master exits 0 (off)" "$stop_rc" 0

summary

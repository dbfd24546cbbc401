#!/bin/bash
# test_stack.sh BUILD_DIR: what is particular to the web server set-up
# $MK_STACK (see lib.sh), beyond the API itself (test_api.sh):
#   - every set-up: the process layout is the expected one (a pool of its
#     own, or metakeepd started by the web server, or none between CGI
#     requests), and stopping the web server leaves no metakeepd behind;
#   - Apache set-ups: a graceful restart (apache2 -k graceful) during a
#     stream of requests loses none of them, and the service answers
#     afterwards; for mod_fcgid the processes it started are replaced, none
#     left over.  (The stream is sequential on purpose: mod_fcgid 2.3.9
#     leaves requests that are queued waiting for a free process when the
#     restart comes hanging in the old Apache children, whatever the
#     FastCGI program; a plain libfcgi echo program does the same.  See
#     README, "Apache with mod_fcgid".)
#   - every set-up: 20 concurrent PATCHes on one user, each adding its
#     own key, all answered 200 and all stored (no lost update);
#   - CGI: many requests, concurrent too, and no process left afterwards.
set -u
. "$(dirname "$0")/lib.sh"

start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

CONN=Username-Password-Authentication

# wait_for CONDITION SECONDS: poll a shell condition every 0.1 s.
wait_for()
{
	local n=$(($2 * 10))
	while [ "$n" -gt 0 ]; do
		eval "$1" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# burst N TAG: N concurrent PATCHes on $U, each adding its own root key;
# their statuses go to $MK_TMP/burst.TAG.*.
burst()
{
	local i pids=()
	for i in $(seq 1 "$1"); do
		curl -sS --max-time 30 -o /dev/null -w '%{http_code}\n' -X PATCH \
			-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
			--data-binary "{\"user_metadata\":{\"$2$i\":$i}}" \
			"$BASE$U" > "$MK_TMP/burst.$2.$i" 2>&1 &
		pids+=($!)
	done
	BURST_PIDS=("${pids[@]}")
}

burst_wait()
{
	local p
	for p in "${BURST_PIDS[@]}"; do wait "$p"; done
}

req POST /api/v2/users '{"email":"stack@example.com","connection":"'$CONN'","user_metadata":{"n":0}}'
assert_status 201 "create a user"
UID1=$(jq -r .user_id <<<"$BODY")
U=/api/v2/users/$(jq -rn --arg s "$UID1" '$s | @uri')

# ---- the process layout ----

case $MK_STACK in
lighttpd|nginx|nginx-tcp|apache-proxy)
	assert_eq "$(mk_alive "$MK_DAEMON_PID" && echo yes)" yes "$MK_STACK: the pool of its own runs"
	assert_eq "$(leftover_procs | wc -l)" 0 "$MK_STACK: the web server started no metakeepd"
	;;
lighttpd-spawn|apache-fcgid)
	procs=$(leftover_procs | wc -l)
	if [ "$procs" -ge 2 ]; then
		pass "$MK_STACK: the web server started metakeepd (a master and workers: $procs)"
	else
		fail "$MK_STACK: the web server started metakeepd" "$procs processes: $(leftover_procs | tr '\n' ' ')"
	fi
	;;
apache-cgi)
	# shellcheck disable=SC2016  # evaluated by wait_for
	if wait_for '[ -z "$(leftover_procs)" ]' 5; then
		pass "CGI: no metakeepd process left after the requests"
	else
		fail "CGI: no metakeepd process left after the requests" \
			"$(leftover_procs | xargs -r ps -o pid,args -p)"
	fi
	;;
esac

# ---- every set-up: concurrent PATCHes on one user all take effect ----
# (the rule: two PATCHes racing on the same user, from any two workers or
# processes, must both take effect; for apache-cgi each is its own process)

burst 20 c
burst_wait
assert_eq "$(cat "$MK_TMP"/burst.c.* | sort | uniq -c | sed 's/^ *//')" "20 200" \
	"$MK_STACK: 20 concurrent PATCHes answered 200"
req GET "$U"
assert_eq "$(jqb '.user_metadata | length')" 21 \
	"$MK_STACK: every one of the 20 concurrent PATCHes stored (no lost update)"

# ---- Apache: graceful restart with requests in flight ----

case $MK_STACK in
apache-*)
	before=$(leftover_procs | sort | tr '\n' ' ')
	gen=$(grep -c 'resuming normal operations' "$MK_TMP/apache-error.log")
	( for i in $(seq 1 40); do
		curl -sS --max-time 15 -o /dev/null -w '%{http_code}\n' -X PATCH \
			-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
			--data-binary "{\"user_metadata\":{\"g$i\":$i}}" "$BASE$U" 2>&1
	  done > "$MK_TMP/stream" ) &
	stream=$!
	sleep 0.5
	apache2 -f "$MK_HTTPD_CONF" -k graceful 2>"$MK_TMP/graceful.err"
	assert_eq "$?" 0 "$MK_STACK: apache2 -k graceful"
	wait "$stream"
	assert_eq "$(sort "$MK_TMP/stream" | uniq -c | sed 's/^ *//')" "40 200" \
		"$MK_STACK: 40 PATCHes in a row across the graceful restart answered 200"
	if wait_for "[ \$(grep -c 'resuming normal operations' '$MK_TMP/apache-error.log') -gt $gen ]" 10; then
		pass "$MK_STACK: Apache restarted"
	else
		fail "$MK_STACK: Apache restarted" "$(tail -n 5 "$MK_TMP/apache-error.log")"
	fi
	assert_eq "$(mk_alive "$MK_HTTPD_PID" && echo yes)" yes "$MK_STACK: the same Apache parent (pid file) lives"
	assert_eq "$(cat "$MK_TMP/apache.pid" 2>/dev/null)" "$MK_HTTPD_PID" "$MK_STACK: its pid file"
	req GET "$U"
	assert_status 200 "$MK_STACK: GET after the graceful restart"
	assert_eq "$(jqb '[.user_metadata | keys[] | select(startswith("g"))] | length')" 40 \
		"$MK_STACK: every PATCH across the restart stored"
	req PATCH "$U" '{"user_metadata":{"after":true}}'
	assert_status 200 "$MK_STACK: PATCH after the graceful restart"
	if [ "$MK_STACK" = apache-fcgid ]; then
		# mod_fcgid stops what it started at a restart: the old
		# metakeepd processes must go, new ones serve.
		gone=1
		for p in $before; do
			wait_for "! kill -0 $p 2>/dev/null" 10 || gone=0
		done
		assert_eq "$gone" 1 "fcgid: the metakeepd processes from before the restart are gone"
		now=$(leftover_procs | sort | tr '\n' ' ')
		if [ -n "$now" ] && [ "$now" != "$before" ]; then
			pass "fcgid: new metakeepd processes serve"
		else
			fail "fcgid: new metakeepd processes serve" "before: $before" "now: $now"
		fi
	fi
	if [ "$MK_STACK" = apache-cgi ]; then
		# shellcheck disable=SC2016  # evaluated by wait_for
		wait_for '[ -z "$(leftover_procs)" ]' 5
		assert_eq "$(leftover_procs | wc -l)" 0 "CGI: no metakeepd process left after the restart"
	fi
	;;
esac

# ---- stopping the web server ----

stop_httpd 2>"$MK_TMP/stop.err"
assert_eq "$(cat "$MK_TMP/stop.err")" "" "$MK_STACK: stopping the web server leaves no metakeepd behind"
assert_eq "$(leftover_procs | wc -l)" 0 "$MK_STACK: no process uses the test directory"
case $MK_STACK in
lighttpd|nginx|nginx-tcp|apache-proxy)
	assert_eq "$(mk_alive "$MK_DAEMON_PID" && echo yes)" yes "$MK_STACK: the pool outlives its web server"
	;;
esac

summary

#!/bin/bash
# test_logs: log events through a pool of 4 workers over real FastCGI
# (docs/api.md section 9), with group commit: a POST, PATCH and DELETE of a
# user each leave one sapi event (right description, user, change) readable
# with GET /api/v2/logs, /logs/{id} and /users/{id}/logs; a refused PATCH
# (400) leaves the user unchanged and an fapi event, written by the time
# the pool has stopped (redaction of passwords: test_logs.c; a password
# here would be hashed for seconds under valgrind); metakeepctl logs prints them as NDJSON, --since
# starts after an event and --follow prints new ones as they come.
#
# usage: tests/proc/test_logs.sh BUILD_DIR   (bounded to 150 s)
# shellcheck disable=SC2015 # ok and bad always succeed: A && ok || bad is safe
if [ -z "${MK_PROC_BOUNDED:-}" ]; then
	MK_PROC_BOUNDED=1 exec timeout -k 5 150 bash "$0" "$@"
fi
# shellcheck source=tests/proc/daemon.bash
. "$(dirname "$0")/daemon.bash"
command -v jq >/dev/null || { echo "no jq (scripts/deps test)"; echo "0 passed, 1 failed"; exit 1; }

token=$("$ctl" -d "$db" token create --scope all 2>"$tmp/err") ||
	{ bad "token create: $(cat "$tmp/err")"; summary; exit; }
start_daemon -w 4 || { bad "metakeepd did not start"; summary; exit; }
A="Bearer $token"

fcgi POST /api/v2/users '{"email":"log@example.com","connection":"Username-Password-Authentication","app_metadata":{"plan":"free"}}' "$A"
eq "POST a user" "$status" 201
id=$(jq -r .user_id <<<"$body")
uid=${id/|/%7C}
fcgi PATCH "/api/v2/users/$uid" '{"app_metadata":{"plan":"pro"}}' "$A"
eq "PATCH it" "$status" 200
fcgi GET "/api/v2/users/$uid" "" "$A"
before=$body
fcgi PATCH "/api/v2/users/$uid" '{"app_metadata":{"plan":"team"},"email":7}' "$A"
eq "a bad PATCH: 400" "$status" 400
fcgi GET "/api/v2/users/$uid" "" "$A"
eq "the bad PATCH changed nothing" "$body" "$before"

fcgi GET "/api/v2/logs?sort=date:1&q=type:sapi" "" "$A"
eq "GET /logs: 200" "$status" 200
eq "two sapi events, in order" "$(jq -c '[.[] | .description]' <<<"$body")" '["Create a User","Update a User"]'
eq "both about the user" "$(jq -r '[.[] | .user_id] | unique | .[]' <<<"$body")" "$id"
eq "the change: who set plan to pro" "$(jq -c '.[1].details.change' <<<"$body")" \
	'[{"op":"replace","path":"/app_metadata/plan","value":"pro"}]'
eq "the request's body is kept" "$(jq -r '.[0].details.request.body.email' <<<"$body")" "log@example.com"
first=$(jq -r '.[0].log_id' <<<"$body")
fcgi GET "/api/v2/logs/$first" "" "$A"
eq "GET /logs/{id}" "$(jq -r .description <<<"$body")" "Create a User"
fcgi DELETE "/api/v2/users/$uid" "" "$A"
eq "DELETE it" "$status" 204
fcgi GET "/api/v2/users/$uid/logs?sort=date:1" "" "$A"
eq "GET /users/{id}/logs" "$(jq -c '[.[] | select(.type == "sapi") | .description]' <<<"$body")" \
	'["Create a User","Update a User","Delete a User"]'

# metakeepctl logs, --since, --follow (next to the running pool)
"$ctl" -d "$db" logs >"$tmp/all" 2>"$tmp/err"
eq "metakeepctl logs: exit 0" "$?" 0
n=$(wc -l <"$tmp/all")
jq -e . "$tmp/all" >/dev/null && ok "every line is JSON ($n events)" || bad "not NDJSON: $(head -c 300 "$tmp/all")"
"$ctl" -d "$db" logs --since "$first" >"$tmp/since"
eq "--since starts after that event" "$(wc -l <"$tmp/since")" $((n - 1))
"$ctl" -d "$db" logs --since 12 >/dev/null 2>&1
eq "--since with a bad id: usage error" "$?" 2
"$ctl" -d "$db" logs --follow --since "$(jq -r .log_id <"$tmp/all" | tail -n 1)" >"$tmp/follow" 2>&1 &
fpid=$!
sleep 1
fcgi POST /api/v2/clients '{"name":"Followed"}' "$A"
for _ in $(seq 1 50); do
	grep -q '"Create a client"' "$tmp/follow" && break
	sleep 0.1
done
kill -TERM "$fpid"
wait "$fpid"
eq "--follow stops on SIGTERM: exit 0" "$?" 0
grep -q '"Create a client"' "$tmp/follow" && ok "--follow printed the new event" ||
	bad "--follow: $(cat "$tmp/follow")"

# The refused PATCH's fapi event: written at the latest when the pool stops.
stop_daemon "$mkd_pid"
"$ctl" -d "$db" logs | jq -c 'select(.type == "fapi") | [.user_id, .details.response.statusCode]' >"$tmp/fapi"
eq "one fapi event for the 400" "$(cat "$tmp/fapi")" "[\"$id\",400]"
summary

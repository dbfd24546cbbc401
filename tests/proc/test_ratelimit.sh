#!/bin/bash
# test_ratelimit: the rate limits of a pool of 4 workers over real FastCGI
# (docs/api.md section 7): the three x-ratelimit-* headers on every answer
# (401 and 404 too), the same bucket whichever worker answers (remaining
# counts down by one per request across workers, writes apart from reads),
# and rate_limit = off sends no headers.
#
# usage: tests/proc/test_ratelimit.sh BUILD_DIR   (bounded to 150 s)
# shellcheck disable=SC2015 # ok and bad always succeed: A && ok || bad is safe
if [ -z "${MK_PROC_BOUNDED:-}" ]; then
	MK_PROC_BOUNDED=1 exec timeout -k 5 150 bash "$0" "$@"
fi
# shellcheck source=tests/proc/daemon.bash
. "$(dirname "$0")/daemon.bash"

RATE=600      # reads a minute: 10 a second
BURST=20
hdr() { printf '%s\n' "$hdrs" | sed -n "s/^$1: //Ip" | head -n 1; }

token=$("$ctl" -d "$db" token create --scope all 2>"$tmp/err") ||
	{ bad "token create: $(cat "$tmp/err")"; summary; exit; }
printf '[metakeepd]\nworkers = 4\nrate_read_per_minute = %s\nrate_read_burst = %s\nrate_write_per_minute = 1\nrate_write_burst = 30\n' \
	"$RATE" "$BURST" >"$tmp/rl.conf"
start_daemon -c "$tmp/rl.conf" || { bad "metakeepd did not start"; summary; exit; }
wait_children "$mkd_pid" 4 20 || bad "4 workers"

# --- the headers
now=$(date +%s)
fcgi GET /api/v2/users "" "Bearer $token"
eq "GET: 200" "$status" 200
eq "x-ratelimit-limit is the read burst" "$(hdr x-ratelimit-limit)" "$BURST"
eq "x-ratelimit-remaining after one" "$(hdr x-ratelimit-remaining)" $((BURST - 1))
reset=$(hdr x-ratelimit-reset)
[ -n "$reset" ] && [ "$reset" -ge "$now" ] && [ "$reset" -le $((now + 5)) ] &&
	ok "x-ratelimit-reset is epoch seconds, within the refill time ($reset)" ||
	bad "x-ratelimit-reset '$reset' (now $now)"
fcgi GET /api/v2/nothing-here "" "Bearer $token"
[ "$status" = 404 ] && [ -n "$(hdr x-ratelimit-limit)" ] &&
	ok "a 404 off the routes carries the headers too" || bad "404: $status, $hdrs"
fcgi GET /api/v2/users ""
[ "$status" = 401 ] && [ -n "$(hdr x-ratelimit-remaining)" ] &&
	ok "a 401 carries them (counted against the address)" || bad "401: $status, $hdrs"

# --- writes have their own bucket, one for all workers: no refill at 1 a
# minute, so 12 DELETEs (204: the user is not there) count down one by one.
seq_ok=1 want=29 seen=""
for _ in $(seq 1 12); do
	fcgi DELETE "/api/v2/users/auth0%7Cnobody" "" "Bearer $token"
	r=$(hdr x-ratelimit-remaining)
	seen="$seen $r"
	[ "$status" = 204 ] && [ "$r" = "$want" ] || seq_ok=0
	want=$((want - 1))
done
[ "$seq_ok" = 1 ] && ok "writes: remaining counts down by one across 4 workers:$seen" ||
	bad "writes remaining:$seen (want 29 down to 18)"

# (8 concurrent clients and a worker killed mid-burst: tests/integration/
# test_ratelimit.sh, whose curl keeps 8 connections busy; a cgi-fcgi
# process per request is too slow for that on a loaded machine.)
stop_daemon "$mkd_pid"

# --- rate_limit = off
printf '[metakeepd]\nworkers = 2\nrate_limit = off\n' >"$tmp/off.conf"
start_daemon -c "$tmp/off.conf" || bad "metakeepd did not start"
fcgi GET /api/v2/users "" "Bearer $token"
[ "$status" = 200 ] && [ -z "$(hdr x-ratelimit-limit)" ] &&
	ok "rate_limit = off: no headers" || bad "off: $status, $hdrs"
stop_daemon "$mkd_pid"

summary

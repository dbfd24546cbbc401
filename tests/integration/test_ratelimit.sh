#!/bin/bash
# test_ratelimit.sh BUILD_DIR: the rate limits under concurrency, through
# the web server of $MK_STACK and a pool of 4 workers (docs/api.md section
# 7).  8 concurrent connections (one curl, --parallel-max 8) send GETs with
# one token for a few seconds while one worker is SIGKILLed: the 2xx
# answers stay within burst + rate x elapsed (the figures are printed),
# the rest are 429 with Auth0's body and Retry-After, and afterwards the
# pool is whole and the bucket still limits.  Only the set-ups whose pool
# start_stack starts itself (lighttpd, nginx, nginx-tcp, apache-proxy):
# the others start metakeepd from the web server without this test's
# configuration (and apache-cgi has a process per request).
set -u
. "$(dirname "$0")/lib.sh"

case $MK_STACK in
lighttpd|nginx|nginx-tcp|apache-proxy) ;;
*) echo "# $MK_STACK starts metakeepd itself: not applicable"; echo "0 passed, 0 failed"; exit 0 ;;
esac

# shtrue LABEL COMMAND...: pass when COMMAND succeeds.
shtrue() { local l=$1; shift; if "$@"; then pass "$l"; else fail "$l" "false: $*"; fi; }

RATE=600   # a minute: 10 a second
BURST=20
conf=$(mktemp "${TMPDIR:-/tmp}/mk-rl.XXXXXX.conf") || exit 1
printf '[metakeepd]\nrate_read_per_minute = %s\nrate_read_burst = %s\n' "$RATE" "$BURST" >"$conf"
chmod 0644 "$conf"
MK_POOL_CONF=$conf
start_stack "${1:?usage: $0 BUILD_DIR}" || { rm -f "$conf"; echo "0 passed, 1 failed"; exit 1; }
rm -f "$conf"

req GET /api/v2/users
assert_status 200 "GET with the limits on"
assert_eq "$(header x-ratelimit-limit)" "$BURST" "x-ratelimit-limit through $MK_STACK"

# 8 connections, 4 s of GETs; at 1.5 s one worker is SIGKILLed.
sleep 2.5   # the bucket full again
n=20000
: >"$MK_TMP/urls"
for _ in $(seq 1 $n); do printf 'url = "%s"\noutput = "/dev/null"\n' "$BASE/api/v2/users?per_page=1"; done >"$MK_TMP/urls"
start=$(date +%s%N)
timeout 4 curl -s --parallel --parallel-max 8 -K "$MK_TMP/urls" \
	-H "Authorization: Bearer $TOKEN" -o /dev/null \
	-w '%{http_code} %header{retry-after}\n' >"$MK_TMP/burst" 2>/dev/null &
cpid=$!
sleep 1.5
victim=$(pgrep -P "$MK_DAEMON_PID" | head -n 1)
[ -n "$victim" ] && kill -KILL "$victim"
wait "$cpid"
stop=$(date +%s%N)
# A request cut by the kill or by timeout is no answer (000): not counted;
# nor is a last line that timeout's kill cut short (no newline at its end).
[ -n "$(tail -c 1 "$MK_TMP/burst")" ] && sed -i '$d' "$MK_TMP/burst"
grep -v '^000' "$MK_TMP/burst" >"$MK_TMP/answers"
n2xx=$(grep -c '^2' "$MK_TMP/answers")
n429=$(grep -c '^429' "$MK_TMP/answers")
# The requests in flight on the killed worker: the web server answers them
# itself (nginx and Apache 502/503; lighttpd 500, "response not received",
# or it cuts them: 000 above), at most one per connection.
cut='^50[234]'
[ "$MK_STACK" = lighttpd ] && cut='^50[0234]'
ncut=$(grep -c "$cut" "$MK_TMP/answers")
nall=$(wc -l <"$MK_TMP/answers")
ms=$(((stop - start) / 1000000))
max=$((BURST + RATE * ms / 60000 + 1))
echo "# 8 connections, ${ms} ms: $nall answers, $n2xx 2xx, $n429 429, $ncut cut by the kill; the limit allows $max (burst $BURST + $RATE a minute)"
shtrue "2xx within burst + rate x elapsed ($n2xx <= $max)" [ "$n2xx" -le "$max" -a "$n2xx" -ge "$BURST" ]
shtrue "the rest were 429 ($n429)" [ "$n429" -gt 100 ]
shtrue "at most the 8 requests in flight at the kill cut ($ncut)" [ "$ncut" -le 8 ]
assert_eq "$((n2xx + n429 + ncut))" "$nall" "nothing but 2xx, 429 and the cut requests"
grep -v -e '^2' -e '^429' -e "$cut" "$MK_TMP/answers" | sort | uniq -c | sed 's/^ */# not counted: /'
assert_eq "$(grep '^429' "$MK_TMP/answers" | grep -vc '^429 [1-9]')" 0 "every 429 has Retry-After"
shtrue "a worker was killed mid-burst" [ -n "$victim" ]

# The pool is whole again and the bucket still works: it refills, and 40
# quick GETs do not all pass.
for _ in $(seq 1 100); do
	[ "$(pgrep -P "$MK_DAEMON_PID" | wc -l)" -ge 4 ] && break
	sleep 0.1
done
sleep 1.2
req GET /api/v2/users
assert_status 200 "a GET after the kill"
for i in $(seq 1 40); do printf 'url = "%s"\noutput = "%s"\n' "$BASE/api/v2/users?per_page=1" "$MK_TMP/after.$i"; done >"$MK_TMP/urls"
curl -s -K "$MK_TMP/urls" -H "Authorization: Bearer $TOKEN" -w '%{http_code}\n' >"$MK_TMP/after"
shtrue "the bucket still limits after the kill ($(grep -c '^200' "$MK_TMP/after") of 40 passed)" [ "$(grep -c '^429' "$MK_TMP/after")" -gt 0 ]
# The answer of the last of them that was refused, as Auth0 words it.
last=$(grep -n '^429' "$MK_TMP/after" | tail -n 1 | cut -d: -f1)
if [ -n "$last" ]; then
	STATUS=429 BODY=$(cat "$MK_TMP/after.$last")
	assert_error 429 "Too Many Requests" too_many_requests "Global limit has been reached" "429 body is Auth0's"
else
	fail "no 429 among 40 quick GETs"
fi
summary

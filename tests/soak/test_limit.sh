#!/bin/bash
# test_limit.sh BUILD_DIR: the soak driver (tests/soak/mksoak.c) against a
# pool whose write rate limit is low (MK_POOL_CONF_LINES: 6,000 writes a
# minute, burst 40), so that a good share of its writes are answered 429.
# A 429 during the load is a refusal that ran nothing: every model state
# stays, and the reads that follow (and the final check of every record,
# and the listings' phantom check) hold the driver to that.  Checked: 0
# failures (every 429 in Auth0's shape too: the driver's check_429), the
# count "by the rate limit" > 0 (the 429 path ran), model checks > 0, the
# writes acknowledged within burst + rate x elapsed, no worker crashed,
# and the environment after (soak_env_check).  Reads keep the default
# limits, so the final check is not limited.
#
# Length: MK_LIMIT_SECONDS (default 8; 60 with MK_TEST_LONG=1), clients
# MK_SOAK_CLIENTS (default 8), seed MK_SOAK_SEED.  Only the set-ups whose
# pool start_stack starts itself (lighttpd, nginx, nginx-tcp, apache-proxy).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/common.sh"

b=${1:?usage: test_limit.sh BUILD_DIR}
case $MK_STACK in
lighttpd|nginx|nginx-tcp|apache-proxy) ;;
*) echo "# $MK_STACK starts metakeepd itself: not applicable"; echo "0 passed, 0 failed"; exit 0 ;;
esac
secs=${MK_LIMIT_SECONDS:-8}
[ "${MK_TEST_LONG:-0}" = 1 ] && secs=${MK_LIMIT_SECONDS:-60}
clients=${MK_SOAK_CLIENTS:-8}
seed=${MK_SOAK_SEED:-$RANDOM}
RATE=6000   # writes a minute: 100 a second
BURST=40

# shellcheck disable=SC2034  # read by start_stack
MK_POOL_CONF_LINES="rate_write_per_minute = $RATE
rate_write_burst = $BURST"
start_stack "$b" || { echo "0 passed, 1 failed"; exit 1; }
echo "# limit: $clients clients, $secs s, seed $seed, writes limited to $RATE a minute, burst $BURST"
SOAK_DRIVER_TIMEOUT=$((secs + 300)) soak_driver -c "$clients" -s "$secs" -S "$seed" -T "limit$seed"
rc=$?
echo "# $SOAK_RESULT"
checks=$(soak_field checks) writes=$(soak_field writes) limited=$(soak_field limited)
if [ "$rc" -eq 0 ] && [ "$(soak_field failures)" = 0 ] && [ "${checks:-0}" -gt 0 ]; then
	pass "soak under the write limit: $(soak_field requests) requests, $writes writes acknowledged, $checks model checks, 0 failures"
else
	fail "soak under the write limit: driver exit $rc, $SOAK_RESULT" \
		"$(grep FAIL "$MK_TMP/driver.err" | head -n 10)"
fi
if [ "${limited:-0}" -gt 0 ]; then
	pass "the 429 path ran: $limited requests refused by the rate limit, each in Auth0's shape"
else
	fail "the 429 path ran" "limited=${limited:-none}: no 429 during the load ($SOAK_RESULT)"
fi
# Every acknowledged write took a token of the one write bucket (the
# token's, shared by the pool's workers), as did the shared user's create
# before the load: at most the burst and the refill over the load's
# seconds (1 s more for the create and the rounding).
max=$(awk -v r="$RATE" -v bu="$BURST" -v s="$(soak_field seconds)" \
	'BEGIN { printf "%d", bu + r * (s + 1) / 60 }')
if [ -n "$writes" ] && [ "$writes" -gt 0 ] && [ "$((writes + 1))" -le "$max" ]; then
	pass "writes acknowledged within the limit ($writes + 1 <= $max)"
else
	fail "writes acknowledged within the limit" "writes=${writes:-none}, at most $max"
fi
soak_no_crash
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=
soak_env_check "after the limited soak"
summary

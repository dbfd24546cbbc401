#!/bin/bash
# test_soak.sh BUILD_DIR: many concurrent clients through lighttpd for a
# bounded time, checked against a model (tests/soak/mksoak.c): no lost
# update, no phantom key or record.  Then the environment is checked
# (mdb_stat, index counts, metakeepctl check).
#
# Length: MK_SOAK_SECONDS (default 25; 600 with MK_TEST_LONG=1), clients
# MK_SOAK_CLIENTS (default 8), workers MK_SOAK_WORKERS (default 4).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/common.sh"

b=${1:?usage: test_soak.sh BUILD_DIR}
secs=${MK_SOAK_SECONDS:-25}
[ "${MK_TEST_LONG:-0}" = 1 ] && secs=${MK_SOAK_SECONDS:-600}
clients=${MK_SOAK_CLIENTS:-8}
seed=${MK_SOAK_SEED:-$RANDOM}

start_stack "$b" || { echo "0 passed, 1 failed"; exit 1; }
echo "# soak: $clients clients, $secs s, seed $seed"
SOAK_DRIVER_TIMEOUT=$((secs + 300)) soak_driver -c "$clients" -s "$secs" -S "$seed" -T "soak$seed"
rc=$?
echo "# $SOAK_RESULT"
if [ "$rc" -eq 0 ] && [ "$(soak_field failures)" = 0 ] && [ "$(soak_field checks)" -gt 0 ]; then
	pass "soak: $(soak_field requests) requests, $(soak_field writes) writes acknowledged, $(soak_field checks) model checks, 0 failures"
else
	fail "soak: driver exit $rc, $SOAK_RESULT" "$(grep FAIL "$MK_TMP/driver.err" | head -n 10)"
fi
# No worker may have died under load.
soak_no_crash
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=
soak_env_check "after soak"
summary

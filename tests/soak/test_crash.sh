#!/bin/bash
# test_crash.sh BUILD_DIR: crash consistency.  Repeatedly: write load from
# tests/soak/mksoak --crash, SIGKILL the whole pool (master and workers) at
# a random moment, start it again on the same database, let the load go on,
# then check every acknowledged write against the model (a write whose
# answer was lost may or may not be there, nothing else may differ), and
# the environment: mdb_stat, index entries against records, metakeepctl
# check when it exists.
#
# With 4 workers and 4 clients most durable writes are group commits
# (src/gc.c): batches of several workers' writes in one transaction.  Each
# iteration also SIGKILLs single workers during the load (one or two, at
# random moments: a worker killed while it waits for its batch, or while it
# leads one holding the group's lock and LMDB's), before the pool kill; the
# pool must replace them and lose or duplicate nothing of the others.
#
# Log events (docs/api.md section 9) are checked in both directions after
# each iteration: no acknowledged write without its event, no event without
# its write (soak_log_check).
#
# Iterations: MK_CRASH_ITER (default 10; 200 with MK_TEST_LONG=1).
# MK_CRASH_SYNC=relaxed runs the pool with --relaxed-sync (group commit
# without syncs): a SIGKILL keeps the page cache, so nothing acknowledged
# may be lost there either (test_crash_relaxed.sh).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/common.sh"

b=${1:?usage: test_crash.sh BUILD_DIR}
iters=${MK_CRASH_ITER:-10}
[ "${MK_TEST_LONG:-0}" = 1 ] && iters=${MK_CRASH_ITER:-200}
seed=${MK_CRASH_SEED:-$RANDOM}
RANDOM=$seed

start_stack "$b" || { echo "0 passed, 1 failed"; exit 1; }
sync_args=()
if [ "${MK_CRASH_SYNC:-durable}" = relaxed ]; then
	sync_args=(--relaxed-sync)
	# The stack's own pool is durable: replace it.
	mk_stop_pid "$MK_DAEMON_PID"
	MK_DAEMON_PID=
	soak_start_daemon "${sync_args[@]}" || { echo "0 passed, 1 failed"; exit 1; }
fi
echo "# crash: $iters iterations, seed $seed, ${MK_CRASH_SYNC:-durable} commits"
tot_writes=0 tot_lost=0 tot_checks=0 tot_req=0 kills=0 wkills=0
for i in $(seq 1 "$iters"); do
	load_ms=$((1500 + RANDOM % 1500))
	kill_ms=$((200 + RANDOM % (load_ms - 400)))
	SOAK_DRIVER_TIMEOUT=120 soak_driver --crash --wait 60 -c 4 \
		-s "$(printf '%d.%03d' $((load_ms / 1000)) $((load_ms % 1000)))" \
		-S "$((seed + i))" -T "crash$seed-$i" &
	dpid=$!
	# Single workers first, at random moments before the pool kill.
	slept=0
	for _ in $(seq 1 $((1 + RANDOM % 2))); do
		at=$((RANDOM % (kill_ms - 100) + 50))
		[ "$at" -gt "$slept" ] || continue
		sleep "$(printf '%d.%03d' $(((at - slept) / 1000)) $(((at - slept) % 1000)))"
		slept=$at
		mapfile -t ws < <(soak_workers)
		if [ "${#ws[@]}" -gt 0 ]; then
			kill -KILL "${ws[RANDOM % ${#ws[@]}]}" 2>/dev/null && wkills=$((wkills + 1))
		fi
	done
	sleep "$(printf '%d.%03d' $(((kill_ms - slept) / 1000)) $(((kill_ms - slept) % 1000)))"
	soak_kill_pool KILL
	kills=$((kills + 1))
	# Sometimes the pool stays down a while: requests fail meanwhile.
	[ $((RANDOM % 3)) = 0 ] && sleep 0.$((RANDOM % 10))
	if ! soak_start_daemon "${sync_args[@]}"; then
		fail "iteration $i: restart after SIGKILL"
		wait "$dpid"
		break
	fi
	wait "$dpid"
	rc=$?
	SOAK_RESULT=$(grep '^RESULT' "$MK_TMP/driver.out" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ "$(soak_field failures)" = 0 ]; then
		pass "iteration $i (kill at ${kill_ms} ms): $SOAK_RESULT"
	else
		fail "iteration $i (kill at ${kill_ms} ms): driver exit $rc" "$SOAK_RESULT" \
			"$(grep FAIL "$MK_TMP/driver.err" | head -n 10)"
	fi
	tot_writes=$((tot_writes + $(soak_field writes)))
	tot_lost=$((tot_lost + $(soak_field uncertain)))
	tot_checks=$((tot_checks + $(soak_field checks)))
	tot_req=$((tot_req + $(soak_field requests)))
	soak_env_check "iteration $i"
	soak_log_check "iteration $i"
done
echo "# crash totals: $kills pool kills, $wkills single workers killed, $tot_req requests," \
	"$tot_writes writes acknowledged" \
	"and verified, $tot_lost requests without an answer, $tot_checks model checks"
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=
soak_env_check "after all crashes"
summary

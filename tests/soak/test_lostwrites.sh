#!/bin/bash
# test_lostwrites.sh BUILD_DIR: power loss, not just SIGKILL.  metakeepd
# runs on tests/soak/syncshim.so (LD_PRELOAD), which journals every write
# to data.mdb that is not yet on stable storage; at a crash point the whole
# pool is SIGKILLed and tests/soak/syncundo throws away every such write
# (or, every other iteration, a random half of them: a disk that wrote back
# part of its cache in any order), as a machine losing power would.  Then
# the pool starts again and:
#   - the model driver (mksoak --crash) finds every acknowledged write;
#   - mdb_stat, the index counts and metakeepctl check are clean.
# Both single requests and the concurrent load of the driver (so durable
# writes of several workers at once) run over it.  A control run with
# --relaxed-sync (write_map = false) shows the layer bites: there,
# acknowledged writes are lost; and with write_map (the default) relaxed
# commits write nothing to data.mdb with write(2).
#
# How faithful the layer is: see RELIABILITY.md ("Power loss").
# Iterations: MK_LOST_ITER (default 6; 100 with MK_TEST_LONG=1).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/common.sh"

b=${1:?usage: test_lostwrites.sh BUILD_DIR}
iters=${MK_LOST_ITER:-6}
[ "${MK_TEST_LONG:-0}" = 1 ] && iters=${MK_LOST_ITER:-100}
seed=${MK_LOST_SEED:-$RANDOM}
RANDOM=$seed
shim=$(cd "$b" && pwd)/tests/soak/syncshim.so
undo=$b/tests/soak/syncundo
if [ ! -f "$shim" ] || [ ! -x "$undo" ]; then
	echo "no $shim or $undo (make)"
	echo "0 passed, 1 failed"
	exit 1
fi

start_stack "$b" || { echo "0 passed, 1 failed"; exit 1; }
# The stack's own pool runs without the layer: replace it.
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=
journal=$MK_TMP/sync.journal
# An ASan build must accept a library loaded before its runtime.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

# shim_start ARGS...: the pool on the layer, with a fresh journal.
shim_start()
{
	rm -f "$journal"
	touch "$journal" && chmod 0666 "$journal"
	LD_PRELOAD=$shim MK_SHIM_FILE=$MK_DB/data.mdb MK_SHIM_LOG=$journal \
		soak_start_daemon "$@"
}

# crash [-k SEED]: SIGKILL the pool, then lose what was not synced.
crash()
{
	soak_kill_pool KILL
	UNDO=$("$undo" "$@" "$journal" "$MK_DB/data.mdb") || fail "syncundo failed"
	echo "#   power loss: $UNDO"
}

undo_field()
{
	sed -n "s/.* $1 \([0-9]*\).*/\1/p" <<<" $UNDO"
}

echo "# lostwrites: $iters iterations, seed $seed"

# ---- single requests: each answer after its sync ----
shim_start || { fail "start on the layer"; summary; exit 1; }
req POST /api/v2/users '{"email":"lw@example.com","connection":"Username-Password-Authentication","user_metadata":{"n":0}}'
assert_status 201
uid=$(jqb -r .user_id)
enc=${uid//|/%7C}
for n in 1 2 3 4 5; do
	req PATCH "/api/v2/users/$enc" "{\"user_metadata\":{\"n\":$n}}"
	[ "$STATUS" = 200 ] || fail "PATCH $n: $STATUS $BODY"
	# Nothing acknowledged may be unsynced at the moment of the answer.
	out=$("$undo" -n "$journal" "$MK_DB/data.mdb")
	lost=$(sed -n 's/.* lost \([0-9]*\).*/\1/p' <<<"$out")
	syncs=$(sed -n 's/.* syncs \([0-9]*\).*/\1/p' <<<"$out")
	if [ "$lost" = 0 ] && [ "${syncs:-0}" -ge $((n + 1)) ]; then
		pass "durable PATCH $n: synced before its answer ($out)"
	else
		fail "durable PATCH $n: synced before its answer" "$out"
	fi
done
crash
shim_start || { fail "restart after the crash"; summary; exit 1; }
req GET "/api/v2/users/$enc"
assert_json .user_metadata '{"n":5}' "every acknowledged PATCH survives the power loss"
soak_env_check "after a power loss with single writes"

# ---- relaxed with write_map: commits change the map, never write(2) ----
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=
shim_start --relaxed-sync || { fail "start relaxed on the layer"; summary; exit 1; }
for n in 6 7 8; do
	req PATCH "/api/v2/users/$enc" "{\"user_metadata\":{\"n\":$n}}"
	assert_status 200
done
out=$("$undo" -n "$journal" "$MK_DB/data.mdb")
if [[ $out == "writes 0 "* ]]; then
	pass "write_map: relaxed PATCHes write data.mdb through the map only ($out)"
else
	fail "write_map: relaxed PATCHes write data.mdb through the map only" "$out"
fi
req PATCH "/api/v2/users/$enc" '{"user_metadata":{"n":5}}'
assert_status 200
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=

# ---- control: --relaxed-sync loses acknowledged writes here (with
# write_map = false: the layer sees only pages written with write(2)) ----
printf '[metakeepd]\nwrite_map = false\n' >"$MK_TMP/nowmap.conf"
chmod 0644 "$MK_TMP/nowmap.conf"
shim_start -c "$MK_TMP/nowmap.conf" --relaxed-sync ||
	{ fail "start relaxed on the layer"; summary; exit 1; }
for n in 6 7 8; do
	req PATCH "/api/v2/users/$enc" "{\"user_metadata\":{\"n\":$n}}"
	assert_status 200
done
out=$("$undo" -n "$journal" "$MK_DB/data.mdb")
if [[ $out == *" lost 0 "* ]] || [[ $out != *" syncs 0 "* ]]; then
	fail "relaxed PATCHes are answered before any sync" "$out"
else
	pass "relaxed PATCHes are answered before any sync ($out)"
fi
crash
shim_start || { fail "restart after the relaxed crash"; summary; exit 1; }
req GET "/api/v2/users/$enc"
if [ "$STATUS" = 200 ] && [ "$(jqb -c .user_metadata)" = '{"n":5}' ]; then
	pass "control: the layer drops what relaxed sync acknowledged (n back to 5)"
else
	fail "control: the layer drops what relaxed sync acknowledged" "$STATUS $BODY"
fi
# That store is only as good as LMDB's relaxed mode makes it: start over.
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=

# ---- concurrent load, crash at a random moment ----
shim_start || { fail "start on the layer"; summary; exit 1; }
tot_writes=0 tot_unc=0 tot_undone=0
for i in $(seq 1 "$iters"); do
	load_ms=$((1500 + RANDOM % 1500))
	kill_ms=$((300 + RANDOM % (load_ms - 500)))
	SOAK_DRIVER_TIMEOUT=120 soak_driver --crash --wait 60 -c 8 \
		-s "$(printf '%d.%03d' $((load_ms / 1000)) $((load_ms % 1000)))" \
		-S "$((seed + i))" -T "lost$seed-$i" &
	dpid=$!
	sleep "$(printf '%d.%03d' $((kill_ms / 1000)) $((kill_ms % 1000)))"
	if [ $((i % 2)) = 0 ]; then
		crash -k "$((seed + i))"
	else
		crash
	fi
	tot_undone=$((tot_undone + $(undo_field undone)))
	if ! shim_start; then
		fail "iteration $i: restart after the power loss"
		wait "$dpid"
		break
	fi
	wait "$dpid"
	rc=$?
	SOAK_RESULT=$(grep '^RESULT' "$MK_TMP/driver.out" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ "$(soak_field failures)" = 0 ]; then
		pass "iteration $i (crash at ${kill_ms} ms, $UNDO): $SOAK_RESULT"
	else
		fail "iteration $i (crash at ${kill_ms} ms): driver exit $rc" "$SOAK_RESULT" \
			"$(grep FAIL "$MK_TMP/driver.err" | head -n 10)"
	fi
	tot_writes=$((tot_writes + $(soak_field writes)))
	tot_unc=$((tot_unc + $(soak_field uncertain)))
	soak_env_check "iteration $i"
done
echo "# lostwrites totals: $iters power losses, $tot_undone unsynced writes undone," \
	"$tot_writes writes acknowledged and verified, $tot_unc requests without an answer"
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=
soak_env_check "after all power losses"
summary

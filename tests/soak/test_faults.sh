#!/bin/bash
# test_faults.sh BUILD_DIR: workers that die or stop in the middle of
# requests, and processes that die inside a transaction.
#
#   A. Under write load (mksoak --crash, checked against its model),
#      SIGKILL single workers at random moments, and SIGSTOP one for a
#      while: the others go on serving, the master replaces the dead, every
#      acknowledged write is there, no reader slot of a dead pid is left.
#   B. A process killed inside a read transaction (tests/soak/mkhold read):
#      the workers clear its reader slot (store_reader_check) within
#      seconds, without any restart.
#   C. A process killed inside a write transaction after it wrote a user
#      and its index entries (mkhold write): while it holds the write lock
#      reads go on; once it is dead writes go on (LMDB's robust mutex), and
#      nothing of its write is visible; indexes agree with records.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/common.sh"

b=${1:?usage: test_faults.sh BUILD_DIR}
seed=${MK_FAULTS_SEED:-$RANDOM}
RANDOM=$seed
HOLD_PID=

cleanup_hold()
{
	[ -n "$HOLD_PID" ] && { kill -KILL "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null; }
	HOLD_PID=
}
trap 'cleanup_hold; stop_stack' EXIT

start_stack "$b" || { echo "0 passed, 1 failed"; exit 1; }
echo "# faults: seed $seed"

# dead_readers: pids in the reader table that are not alive.
dead_readers()
{
	mdb_stat -r "$MK_DB" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ { print $1 }' | sort -u |
		while read -r p; do kill -0 "$p" 2>/dev/null || echo "$p"; done
}

# timed_get PATH MAXSECS: status of a GET, 000 when it took too long.
timed_get()
{
	curl -s -o /dev/null -w '%{http_code}' --max-time "$2" \
		-H "Authorization: Bearer $TOKEN" "$BASE$1" || true
}

# ---- A: kill and stop workers under load ----
SOAK_DRIVER_TIMEOUT=180 soak_driver --crash --wait 60 -c 4 -s 12 -S "$seed" -T "faults$seed" &
dpid=$!
sleep 1
killed=0
for i in $(seq 1 12); do
	sleep "0.$((3 + RANDOM % 5))"
	mapfile -t ws < <(soak_workers)
	[ "${#ws[@]}" -gt 0 ] || continue
	kill -KILL "${ws[RANDOM % ${#ws[@]}]}" 2>/dev/null && killed=$((killed + 1))
done
wait "$dpid"
rc=$?
# A worker stopped between requests: the others serve.  (One stopped inside
# a write transaction holds the write lock: see C and RELIABILITY.md.)
mapfile -t ws < <(soak_workers)
stopped=${ws[0]}
kill -STOP "$stopped"
ok=0
for i in 1 2 3 4 5 6 7 8; do
	[ "$(timed_get "/api/v2/users/auth0%7Cfaults$seed-shared" 5)" = 200 ] && ok=$((ok + 1))
done
assert_eq "$ok" 8 "A: reads go on while worker $stopped is stopped (8 of 8 in time)"
kill -KILL "$stopped"
killed=$((killed + 1))
kill -CONT "$stopped" 2>/dev/null
sleep 0.5
SOAK_RESULT=$(grep '^RESULT' "$MK_TMP/driver.out" | tail -n 1)
echo "# $SOAK_RESULT"
if [ "$rc" -eq 0 ] && [ "$(soak_field failures)" = 0 ]; then
	pass "A: $killed workers killed under load; every acknowledged write there ($(soak_field writes) writes, $(soak_field uncertain) without an answer)"
else
	fail "A: model after worker kills: driver exit $rc" "$SOAK_RESULT" \
		"$(grep FAIL "$MK_TMP/driver.err" | head -n 10)"
fi
n=$(grep -c 'killed by signal 9' "$MK_TMP/metakeepd.log")
assert_eq "$n" "$killed" "A: the master saw every worker death"
assert_eq "$(soak_workers | wc -l)" 4 "A: the master replaced them (4 workers)"
assert_eq "$(dead_readers | tr '\n' ' ')" "" "A: no reader slot of a dead process"

# ---- B: a reader killed inside its transaction ----
"$MK_BUILD/tests/soak/mkhold" "$MK_DB" read >"$MK_TMP/hold.out" 2>&1 &
HOLD_PID=$!
for _ in $(seq 1 50); do grep -q held "$MK_TMP/hold.out" && break; sleep 0.1; done
readers=$(mdb_stat -r "$MK_DB" | awk '{ print $1 }')
if grep -qx "$HOLD_PID" <<<"$readers"; then
	pass "B: the holder has a reader slot"
else
	fail "B: the holder has a reader slot" "$(mdb_stat -r "$MK_DB")" "holder $HOLD_PID: $(cat "$MK_TMP/hold.out") $(ps -o pid,stat,cmd -p "$HOLD_PID")"
fi
kill -KILL "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null; dead=$HOLD_PID; HOLD_PID=
assert_eq "$(dead_readers | tr '\n' ' ')" "$dead " "B: its slot is stale right after the kill"
# Workers check after a request, at most every 5 s: keep them busy for 6 s.
for _ in $(seq 1 30); do
	timed_get "/api/v2/users/auth0%7Cfaults$seed-shared" 5 >/dev/null
	sleep 0.2
done
assert_eq "$(dead_readers | tr '\n' ' ')" "" "B: the workers cleared the stale reader slot"

# ---- C: a writer killed inside its transaction ----
"$MK_BUILD/tests/soak/mkhold" "$MK_DB" write >"$MK_TMP/hold.out" 2>&1 &
HOLD_PID=$!
for _ in $(seq 1 50); do grep -q held "$MK_TMP/hold.out" && break; sleep 0.1; done
assert_eq "$(cat "$MK_TMP/hold.out")" held "C: the holder is inside its write"
assert_eq "$(timed_get "/api/v2/users/auth0%7Cfaults$seed-shared" 5)" 200 "C: reads go on while the write lock is held"
req GET "/api/v2/users/auth0%7Chalf-done"
assert_status 404 "C: the unfinished write is not visible"
REQ_ARGS=(--max-time 2)
req PATCH "/api/v2/users/auth0%7Cfaults$seed-shared" '{"user_metadata":{"blocked_write":1}}'
assert_eq "$STATUS" 000 "C: a write waits for the held lock"
kill -KILL "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null; HOLD_PID=
REQ_ARGS=(--max-time 10)
req PATCH "/api/v2/users/auth0%7Cfaults$seed-shared" '{"user_metadata":{"after_kill":2}}'
assert_status 200 "C: writes go on once the holder is dead"
assert_json '.user_metadata.after_kill' 2 "C: the write after the kill took effect"
req GET "/api/v2/users/auth0%7Chalf-done"
assert_status 404 "C: nothing of the killed write is there (record)"
req GET "/api/v2/users-by-email?email=half%40done.example"
assert_json '.' '[]' "C: nothing of the killed write is there (email index)"
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=
soak_env_check "C: after the killed write"
summary

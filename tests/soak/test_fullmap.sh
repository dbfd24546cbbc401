#!/bin/bash
# test_fullmap.sh BUILD_DIR: a full LMDB map.  metakeepd starts with a 1 MiB
# map and --map-max 3M; users of ~50 KB are created until the service
# refuses.  It must grow the map by itself (every worker adopting the new
# size), then, at the maximum, answer 503 with a clear message and a
# Retry-After, keep serving reads, and keep every acknowledged user intact.
# Then a relaxed pool (write_map) takes writes of ~1 MB from 4 clients at
# once into a new store: every one 201, none "growing, try again".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/common.sh"

b=${1:?usage: test_fullmap.sh BUILD_DIR}
start_stack "$b" || { echo "0 passed, 1 failed"; exit 1; }
mk_stop_pid "$MK_DAEMON_PID"
soak_start_daemon --map-size 1M --map-max 3M || { fail "start with a 1M map"; summary; exit 1; }

blob=$(head -c 50000 /dev/zero | tr '\0' 'x')
soak_fill 50000 120
created=("${SOAK_CREATED[@]}")
got503=$SOAK_FULL
echo "# ${#created[@]} users of 50 KB created before the store was full"
# 21 users of 50 KB are more than the first 1 MiB (each create's log event
# holds its body too, so 3 MiB take about 27 of them).
if [ "${#created[@]}" -ge 21 ]; then
	pass "the map grew past its first 1 MiB (${#created[@]} users of 50 KB written)"
else
	fail "the map grew past its first 1 MiB" "only ${#created[@]} users"
fi
assert_eq "$got503" 1 "at map_max, a create is refused"
assert_error 503 "Service Unavailable" - "The store is full*" "full map"
assert_true '.message | test("uses [0-9.]+ [KMG]iB of its 3.0 MiB limit. Raise map_max")' \
	"full map: the message names the size, the limit and the setting"
# Deleting is no way out at the limit (it needs new pages too): the message
# must not offer it.
assert_true '.message | test("delete"; "i") | not' "full map: the message offers no remedy that is refused too"
assert_header Retry-After '^[0-9]+$' "full map: Retry-After"
grep -q 'map grown from' "$MK_TMP/metakeepd.log" && pass "the log tells of the growth" ||
	fail "the log tells of the growth" "$(tail -n 5 "$MK_TMP/metakeepd.log")"
# Every worker maps the larger size: it grew it itself before a write, or
# adopted it (MDB_MAP_RESIZED) when another grew it first.
n=$(grep -E "map grown (from [0-9]+ to 3145728|by another process)" "$MK_TMP/metakeepd.log" |
	sed "s/\].*//" | sort -u | wc -l)
assert_eq "$n" 4 "all 4 workers map the grown size"
sz=$(stat -c %s "$MK_DB/data.mdb")
if [ "$sz" -le $((3 * 1024 * 1024)) ]; then
	pass "the data file stays within map_max ($sz bytes)"
else
	fail "the data file stays within map_max" "$sz bytes"
fi

# Reads go on at the full map, and nothing acknowledged is lost.
bad=0
for id in "${created[@]}"; do
	req GET "/api/v2/users/${id/|/%7C}"
	if [ "$STATUS" != 200 ] || [ "$(jqb '.user_metadata.blob | length')" != 50000 ]; then
		bad=$((bad + 1))
	fi
done
assert_eq "$bad" 0 "reads go on at a full map: all ${#created[@]} users intact"
req GET "/api/v2/users?per_page=100&include_totals=true"
assert_status 200 "listing at a full map"
assert_true ".total >= ${#created[@]}" "listing at a full map: every user there"
# The remedy the message names: a larger map_max.  Then writes, deletes
# included, work again.  (Deletes at a map full to its last page can fail
# too: LMDB copies pages on write; see RELIABILITY.md.)
mk_stop_pid "$MK_DAEMON_PID"
soak_start_daemon --map-size 1M --map-max 8M || fail "restart with --map-max 8M"
for id in "${created[@]:0:10}"; do
	req DELETE "/api/v2/users/${id/|/%7C}"
done
assert_status 204 "after raising map_max: deletes work"
req POST /api/v2/users "{\"email\":\"after@map.example\",\"connection\":\"Username-Password-Authentication\",\"user_metadata\":{\"blob\":\"$blob\"}}"
assert_status 201 "after raising map_max: creates work"
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=
soak_env_check "full map"

# A relaxed pool writes through a map of the data and a small room
# (write_map): writes of ~1 MB from 4 clients at once into a new store
# outgrow it every time, and each worker commits into the room the others
# grew.  Every one is answered 201: the map grows under the write as often
# as it takes, never a 503 "The store is growing ... try again" (1 or 2 of
# 16 in each of 3 runs before store.c's fix of it).
MK_DB=$MK_TMP/db-relaxed
mkdir -p "$MK_DB"
TOKEN=$("$MK_BUILD/metakeepctl" -d "$MK_DB" token create --scope all)
: >"$MK_TMP/metakeepd.log"
soak_start_daemon --relaxed-sync || fail "start a relaxed pool"
big=
for k in $(seq 1 60); do
	big+="\"v$k\":\"${blob:0:16000}\","
done
clients=()
for c in 1 2 3 4; do
	for i in 1 2 3 4 5 6; do
		printf '{"email":"big%d-%d@map.example","connection":"Username-Password-Authentication","user_metadata":{%s"n":%d}}' \
			"$c" "$i" "$big" "$i" >"$MK_TMP/big$c.json"
		curl -sS --max-time 60 -o /dev/null -w '%{http_code}\n' -X POST \
			-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
			--data-binary "@$MK_TMP/big$c.json" "$BASE/api/v2/users"
	done >"$MK_TMP/big.$c" &
	clients+=($!)
done
wait "${clients[@]}"
got=$(cat "$MK_TMP"/big.[1-4] | sort | uniq -c | tr -s ' ' | paste -sd,)
assert_eq "$got" " 24 201" "relaxed pool: 24 writes of 1 MB from 4 clients, every one 201"
if grep -q 'growing' "$MK_TMP/metakeepd.log"; then
	fail "relaxed pool: no write answered 'growing'" "$(grep -m 3 growing "$MK_TMP/metakeepd.log")"
else
	pass "relaxed pool: no write answered 'growing'"
fi
mk_stop_pid "$MK_DAEMON_PID"
MK_DAEMON_PID=
soak_env_check "relaxed pool of 1 MB users"
summary

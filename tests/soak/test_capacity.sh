#!/bin/bash
# test_capacity.sh BUILD_DIR: the database is limited by its disk, not by a
# setting nobody chose (issue 18).
#
# 1. The default map grows: `metakeepctl import` with no configuration file
#    and no size option loads users of 900 KB until data.mdb is past 1 GiB
#    (the old fixed default), and stats reports the filesystem as the limit.
#    Plain build only: under the sanitizers it costs minutes and checks
#    nothing more.
# 2. A full disk: metakeepd with default settings on a 24 MiB tmpfs, users
#    of 400 KB created through the web server until the disk is full.  The
#    answer is 503 with Retry-After and a message that says the disk is full;
#    reads keep working; when space is freed (a filler file removed) writes
#    succeed again by themselves, with no restart; nothing acknowledged is
#    lost and `metakeepctl check` is clean.  At the full disk `metakeepctl
#    stats` warns that the database is past 80% of its limit, the disk.
#    Needs root to mount the tmpfs: without it this part is skipped, and
#    said so.
# 3. A hard cap (map_size set, no map_max): the 503 and metakeepctl's error
#    name the size used, the limit and the setting to raise.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/common.sh"

b=${1:?usage: test_capacity.sh BUILD_DIR}
start_stack "$b" || { echo "0 passed, 1 failed"; exit 1; }
ctl=$MK_BUILD/metakeepctl
skipped=0

# gen N KB: an Auth0 bulk import array of N users, each with a KB-kilobyte
# string in user_metadata.
gen()
{
	awk -v n="$1" -v kb="$2" 'BEGIN {
		for (blob = "x"; length(blob) < kb * 1024; blob = blob blob)
			;
		blob = substr(blob, 1, kb * 1024)
		printf "["
		for (i = 1; i <= n; i++)
			printf "%s{\"email\":\"cap%d@cap.example\",\"user_metadata\":{\"blob\":\"%s\",\"n\":%d}}\n",
			    (i > 1 ? "," : ""), i, blob, i
		print "]"
	}'
}

# ---- 1. past 1 GiB with no settings ----
if grep -q -- '-fsanitize' "$MK_BUILD/Makefile" 2>/dev/null; then
	echo "# sanitizer build: the 1 GiB import runs in the plain build only"
else
	big=$MK_TMP/big
	mkdir -p "$big"
	gen 1250 900 >"$big/users.json"
	# No -c: a configuration file would be the only place a size could hide.
	if (cd "$big" && "$ctl" -d "$big/db" import --batch 100 users.json \
	    >"$big/import.out" 2>&1); then
		pass "import of 1250 users of 900 KB with no configuration"
	else
		fail "import of 1250 users of 900 KB with no configuration" "$(tail -n 3 "$big/import.out")"
	fi
	sz=$(stat -c %s "$big/db/data.mdb" 2>/dev/null || echo 0)
	if [ "$sz" -gt $((1024 * 1024 * 1024)) ]; then
		pass "data.mdb is past 1 GiB ($sz bytes) with default settings"
	else
		fail "data.mdb is past 1 GiB with default settings" "$sz bytes"
	fi
	n=$("$ctl" -d "$big/db" stats --json 2>/dev/null | jq -r '.users')
	assert_eq "$n" 1250 "every imported user is there"
	lim=$("$ctl" -d "$big/db" stats --json 2>/dev/null | jq -r '.limit_setting')
	assert_eq "$lim" disk "with no settings the limit is the disk"
	rm -rf "$big"
fi

# full_disk [metakeepd options]: part 2 on $small, with a fresh database.
# With --relaxed-sync the pool writes through its map (write_map): a page
# written there where the disk has no block would be SIGBUS, not an error.
full_disk()
{
	local m="" created got503 bad id n
	[ $# -gt 0 ] && m=" ($*)"
	mk_stop_pid "$MK_DAEMON_PID"
	MK_DAEMON_PID=
	rm -rf "$small/db" "$small/filler"
	MK_DB=$small/db
	mkdir -p "$MK_DB"
	: >"$MK_TMP/metakeepd.log"
	TOKEN=$("$ctl" -d "$MK_DB" token create --scope all)
	# 4 MiB kept aside, freed later as an operator would free space.
	head -c $((4 * 1024 * 1024)) /dev/zero >"$small/filler"
	soak_start_daemon "$@" || fail "start on a small filesystem with default settings$m"
	soak_fill 400000 100
	created=("${SOAK_CREATED[@]}")
	got503=$SOAK_FULL
	echo "# ${#created[@]} users of 400 KB created before the disk was full"
	assert_eq "$got503" 1 "a full disk refuses the write$m"
	assert_error 503 "Service Unavailable" - "The disk is full*" "full disk: 503 body$m"
	assert_true '.message | test("no space left on device") and test("Free space")' \
		"full disk: the message says why and what to do$m"
	assert_header Retry-After '^[0-9]+$' "full disk: Retry-After$m"
	assert_header Content-Type 'application/json' "full disk: JSON$m"
	grep -q 'No space left on device' "$MK_TMP/metakeepd.log" && pass "the log says the disk is full$m" ||
		fail "the log says the disk is full$m" "$(tail -n 5 "$MK_TMP/metakeepd.log")"
	bad=0
	for id in "${created[@]}"; do
		req GET "/api/v2/users/${id/|/%7C}"
		if [ "$STATUS" != 200 ] || [ "$(jqb '.user_metadata.blob | length')" != 400000 ]; then
			bad=$((bad + 1))
		fi
	done
	assert_eq "$bad" 0 "reads go on at a full disk: all ${#created[@]} users intact$m"
	# A pool started again at the full disk serves (a relaxed one writes
	# through its map only if the map's room can be allocated).
	mk_stop_pid "$MK_DAEMON_PID"
	MK_DAEMON_PID=
	soak_start_daemon "$@" || fail "start again at the full disk$m"
	req GET "/api/v2/users/${created[0]/|/%7C}"
	assert_status 200 "a read after starting again at the full disk$m"
	# With no cap the limit is the disk: stats warns past 80% of it too.
	"$ctl" -d "$MK_DB" stats >"$MK_TMP/stats.full" 2>&1
	grep -q 'warning: the database uses .* over 80% of its .* limit (free disk space): free space on its filesystem' \
	    "$MK_TMP/stats.full" && pass "stats warns at a full disk$m" ||
		fail "stats warns at a full disk$m" "$(head -n 3 "$MK_TMP/stats.full")"
	rm -f "$small/filler"
	blob=$(head -c 400000 /dev/zero | tr '\0' 'x')
	req POST /api/v2/users "{\"email\":\"after@cap.example\",\"connection\":\"Username-Password-Authentication\",\"user_metadata\":{\"blob\":\"$blob\"}}"
	assert_status 201 "space freed: writes succeed again with no restart$m"
	[ "$STATUS" = 201 ] && created+=("$(jqb -r .user_id)")
	soak_no_crash " at the full disk$m"
	mk_stop_pid "$MK_DAEMON_PID"
	MK_DAEMON_PID=
	n=$("$ctl" -d "$MK_DB" stats --json | jq -r .users)
	assert_eq "$n" "${#created[@]}" "after a restart every acknowledged user is there$m"
	if "$ctl" -d "$MK_DB" check >"$MK_TMP/check.out" 2>&1; then
		pass "check is clean after the full disk$m"
	else
		fail "check is clean after the full disk$m" "$(tail -n 5 "$MK_TMP/check.out")"
	fi
}

# ---- 2. a full disk ----
small=$MK_TMP/small
mkdir -p "$small"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=24m,mode=0755 tmpfs "$small" 2>"$MK_TMP/mount.err"; then
	echo "# skipped the full-disk part: cannot mount a tmpfs ($(cat "$MK_TMP/mount.err" 2>/dev/null))"
	skipped=1
else
	# Unmount whatever happens; stop_stack runs from the EXIT trap.
	trap 'mk_stop_pid "$MK_DAEMON_PID"; umount "$small" 2>/dev/null; stop_stack' EXIT
	full_disk
	full_disk --relaxed-sync
	umount "$small" 2>/dev/null
	trap stop_stack EXIT
fi

# ---- 3. a hard cap says which setting to raise ----
cap=$MK_TMP/cap
mkdir -p "$cap"
gen 40 100 >"$cap/users.json"
"$ctl" -d "$cap/db" token create --scope all >/dev/null
printf '[metakeepd]\nmap_size = 2M\n' >"$cap/conf"
"$ctl" -c "$cap/conf" -d "$cap/db" import --batch 1 "$cap/users.json" >"$cap/import.out" 2>&1
grep -q 'The store is full: the database uses .* of its 2.0 MiB limit. Raise map_size' "$cap/import.out" &&
	pass "metakeepctl at a hard cap names the size, the limit and map_size" ||
	fail "metakeepctl at a hard cap names the size, the limit and map_size" "$(head -n 3 "$cap/import.out")"
"$ctl" -c "$cap/conf" -d "$cap/db" stats >"$cap/stats.out" 2>&1
grep -q 'warning: the database uses .* over 80% of its 2.0 MiB limit (map_size)' "$cap/stats.out" &&
	pass "stats warns past 80% of the limit" ||
	fail "stats warns past 80% of the limit" "$(cat "$cap/stats.out")"
"$ctl" -d "$cap/db" stats >"$cap/stats2.out" 2>&1
grep -q 'warning' "$cap/stats2.out" &&
	fail "no warning without a cap (the disk has room)" "$(cat "$cap/stats2.out")" ||
	pass "no warning without a cap (the disk has room)"

[ "$skipped" = 1 ] && echo "# 1 part skipped (no tmpfs)"
summary

#!/bin/bash
# test_daemon_nowmap: a relaxed pool (write_map, the default) on a
# data.mdb that cannot have what write_map needs opens without it, says
# so, and serves as any pool does (store.c store_open, wmap_off; issue 13).
# tests/soak/failshim.so (LD_PRELOAD) plays the filesystem, for data.mdb
# only:
#
#  - ofd: fcntl F_OFD_SETLK(W) fails with EINVAL (a filesystem without
#    open-file-description locks): wmap_open fails, "opening data.mdb";
#  - fallocate: fallocate fails with EOPNOTSUPP (a filesystem without
#    it): wmap_opened fails, "allocating the map", after LMDB opened the
#    environment with MDB_WRITEMAP, which store_open closes and opens again
#    without; and the tail ahead of data.mdb (tail_ahead, which the
#    workers then have) turns itself off once per worker instead of
#    trying at every write.
#
# Each round: the shim made its calls fail (its own log), every worker
# logged the fallback and maps data.mdb read-only (LMDB without
# MDB_WRITEMAP, /proc/PID/maps), 30 POSTs (201) are read back (GET: 200, the same
# user), PATCHed (200, merged) and read again; the pool stops cleanly;
# metakeepctl check is clean and counts the users; then the pool starts on
# the same database without the shim (write_map on, over a file written
# without it: its workers map data.mdb writable), reads every user, writes 10 more, and check is clean again.
#
# usage: tests/proc/test_daemon_nowmap.sh BUILD_DIR   (bounded to 300 s)
# shellcheck disable=SC2015 # ok and bad always succeed: A && ok || bad is safe
if [ -z "${MK_PROC_BOUNDED:-}" ]; then
	MK_PROC_BOUNDED=1 exec timeout -k 5 300 bash "$0" "$@"
fi
# shellcheck source=tests/proc/daemon.bash
. "$(dirname "$0")/daemon.bash"

shim=$build/tests/soak/failshim.so
if [ ! -f "$shim" ]; then
	bad "no $shim (make)"
	summary
	exit
fi
# An ASan build must accept a library loaded before its runtime.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
faillog=$tmp/fail.log
workers=2
users=30

# users_roundtrip NAME FROM COUNT: POST users FROM..FROM+COUNT-1, read each
# back, PATCH it, read it again.
users_roundtrip() {
	local name=$1 from=$2 n=$3 i id okc=0
	for ((i = from; i < from + n; i++)); do
		fcgi POST /api/v2/users "{\"email\":\"nw$i@example.com\",\"user_id\":\"nw$i\",\
\"connection\":\"Username-Password-Authentication\",\"user_metadata\":{\"n\":$i,\"k\":\"v$i\"}}" \
			"Bearer $token"
		[ "$status" = 201 ] || { bad "$name: POST $i: $status $body"; continue; }
		id=auth0%7Cnw$i
		fcgi GET "/api/v2/users/$id" "" "Bearer $token"
		[ "$status" = 200 ] && [[ $body == *'"email":"nw'$i'@example.com"'* ]] &&
			[[ $body == *'"user_metadata":{"n":'$i',"k":"v'$i'"}'* ]] ||
			{ bad "$name: GET $i: $status $body"; continue; }
		fcgi PATCH "/api/v2/users/$id" "{\"user_metadata\":{\"k\":null,\"p\":$i}}" "Bearer $token"
		[ "$status" = 200 ] || { bad "$name: PATCH $i: $status $body"; continue; }
		fcgi GET "/api/v2/users/$id" "" "Bearer $token"
		[ "$status" = 200 ] && [[ $body == *'"user_metadata":{"n":'$i',"p":'$i'}'* ]] ||
			{ bad "$name: GET after PATCH $i: $status $body"; continue; }
		okc=$((okc + 1))
	done
	eq "$name: $n users written and read back" "$okc" "$n"
}

# users_read NAME COUNT: every user of the round reads as PATCHed.
users_read() {
	local name=$1 n=$2 i okc=0
	for ((i = 0; i < n; i++)); do
		fcgi GET "/api/v2/users/auth0%7Cnw$i" "" "Bearer $token"
		[ "$status" = 200 ] && [[ $body == *'"user_metadata":{"n":'$i',"p":'$i'}'* ]] &&
			okc=$((okc + 1))
	done
	eq "$name: $n users read back" "$okc" "$n"
}

# maps POOL: how each worker of POOL maps data.mdb ("r--s": LMDB's
# read-only map, no MDB_WRITEMAP; "rw-s": write_map), sorted, on a line.
maps() {
	local w
	for w in $(children "$1"); do
		grep -m 1 " $db/data.mdb\$" "/proc/$w/maps" | awk '{ print $2 }'
	done | sort | tr '\n' ' '
}

# ctl_clean NAME COUNT: metakeepctl check is clean, stats counts COUNT users.
ctl_clean() {
	local out
	out=$("$ctl" -d "$db" check 2>&1)
	check "$1: check is clean" grep -q "no problems" <<<"$out"
	out=$("$ctl" -d "$db" stats 2>&1)
	check "$1: $2 users" grep -q "^users: *$2\$" <<<"$out"
}

# round NAME VARIABLE ERRNO NUMBER WHY
round() {
	local name=$1 var=$2 ename=$3 enum=$4 why=$5 n
	db=$tmp/db-$name
	mkd_log=$tmp/mkd-$name.log
	rm -f "$faillog"
	: >"$faillog" && chmod 0666 "$faillog"
	token=$("$ctl" -d "$db" token create --scope all 2>"$tmp/err") ||
		{ bad "$name: token create: $(cat "$tmp/err")"; return; }
	# Only the pool runs on the shim.
	export LD_PRELOAD=$shim MK_FAIL_FILE=$db/data.mdb MK_FAIL_LOG=$faillog
	export "$var=$enum"
	start_daemon --relaxed-sync -w "$workers"
	n=$?
	unset LD_PRELOAD MK_FAIL_FILE MK_FAIL_LOG "$var"
	[ "$n" -eq 0 ] || { bad "$name: the pool did not start"; return; }
	pool=$mkd_pid
	users_roundtrip "$name" 0 "$users"
	n=$(grep -c " $name $enum\$" "$faillog")
	check "$name: the shim failed $name calls on data.mdb ($n)" test "$n" -gt 0
	n=$(grep -c "store $db: no write_map, commits write(2) their pages: $why: $ename" "$mkd_log")
	eq "$name: each worker opened without write_map, logged" "$n" "$workers"
	eq "$name: each worker maps data.mdb read-only" "$(maps "$pool")" "r--s r--s "
	if [ "$name" = fallocate ]; then
		# tail_ahead turned off at the first failure, not tried again.
		n=$(grep -c "store $db: no tail ahead of data.mdb: fallocate: $ename" "$mkd_log")
		check "$name: the tail turned off once a worker ($n)" \
			test "$n" -ge 1 -a "$n" -le "$workers"
	fi
	stop_daemon "$pool"
	eq "$name: the pool stops cleanly" "$stop_rc" 0
	check "$name: no worker died" bash -c "! grep -Eq 'killed by signal|exited with status|respawning' '$mkd_log'"
	ctl_clean "$name" "$users"

	# Again with write_map, over the file written without it.
	mkd_log=$tmp/mkd-$name-again.log
	if ! start_daemon --relaxed-sync -w "$workers"; then
		bad "$name: the pool did not start again"
		return
	fi
	pool=$mkd_pid
	users_read "$name, write_map" "$users"
	users_roundtrip "$name, write_map" "$users" 10
	check "$name, write_map: no fallback" bash -c "! grep -q 'no write_map' '$mkd_log'"
	eq "$name, write_map: each worker maps data.mdb writable" "$(maps "$pool")" "rw-s rw-s "
	stop_daemon "$pool"
	eq "$name, write_map: the pool stops cleanly" "$stop_rc" 0
	ctl_clean "$name, write_map" $((users + 10))
}

round ofd MK_FAIL_OFD "Invalid argument" 22 "opening data.mdb"
round fallocate MK_FAIL_FALLOCATE "Operation not supported" 95 "allocating the map"

summary

#!/bin/bash
# test_run: scripts/run as a newcomer runs it (issue 11's blocker).
#
#  1. As root, from a copy of the checkout inside a mktemp -d directory
#     (mode 0700, so the service user nobody cannot reach ./var):
#     scripts/run says "running" and prints a token; a POST and a GET with
#     that token through its lighttpd answer 201 and 200, over http and
#     over https (the certificate it made in var/tls/, key 0600, trusted
#     with curl --cacert and nothing else); a token that
#     metakeepctl makes as root next to the running daemon works too, and
#     the database files stay nobody's; SIGTERM stops it, lighttpd and
#     metakeepd included.
#  2. A copy whose service cannot start (var/db/data.mdb is a directory, so
#     every worker fails): scripts/run exits 1, never prints "running",
#     prints the cause and a fix, and leaves no process behind.
#
# scripts/run gets MK_BIN=BUILD_DIR (no build in the copy) and MK_STATE, a
# temporary directory, for the database it moves out of the closed one.
# Not root: only part 2 runs (part 1 is about root), and says so.
#
# usage: tests/proc/test_run.sh BUILD_DIR   (bounded to 170 s)
# shellcheck disable=SC2015 # ok and bad always succeed: A && ok || bad is safe
if [ -z "${MK_PROC_BOUNDED:-}" ]; then
	MK_PROC_BOUNDED=1 exec timeout -k 5 170 bash "$0" "$@"
fi
set -u
build=${1:?usage: $0 BUILD_DIR}
build=$(cd "$build" && pwd) || exit 2
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib.sh
. "$src/scripts/lib.sh"

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }

outer=$(mktemp -d "${TMPDIR:-/tmp}/mk-run.XXXXXX") || exit 2  # mode 0700
state=$(mktemp -d "${TMPDIR:-/tmp}/mk-state.XXXXXX") || exit 2
chmod 0755 "$state"
run_pid=
cleanup()
{
	mk_stop_pid "$run_pid" 20
	rm -rf "$outer" "$state"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# copy DEST: the checkout's files, without build directories (those with
# a config.status), var/ or git.
copy()
{
	mkdir -p "$1" &&
	tar -C "$src" --exclude=./.git --exclude-tag-all=config.status --exclude=./var \
	    --exclude=./autom4te.cache -cf - . | tar -C "$1" -xf -
}

# start_run CHECKOUT OUT: scripts/run in the background; sets run_pid.
start_run()
{
	local port tport
	port=$(mk_free_port) || return 1
	tport=$(mk_free_port) || return 1
	(cd "$1" && exec env PORT="$port" TLS_PORT="$tport" WORKERS=2 MK_BIN="$build" MK_STATE="$state" \
	    scripts/run) </dev/null >"$2" 2>&1 &
	run_pid=$!
}

# wait_run OUT SECONDS: until OUT says running, or scripts/run exits.
wait_run()
{
	local n=$(($2 * 10))
	while [ "$n" -gt 0 ]; do
		grep -q '^metakeep is running at' "$1" && return 0
		mk_alive "$run_pid" || return 1
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# req METHOD URL TOKEN [BODY]: curl; sets STATUS and BODY.
req()
{
	local args=(-s -o "$outer/body" -w '%{http_code}' --max-time 10 -X "$1"
		-H "Authorization: Bearer $3")
	[ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' -d "$4")
	STATUS=$(curl "${args[@]}" "$2") || STATUS=000
	BODY=$(cat "$outer/body" 2>/dev/null)
}

if [ "$(id -u)" = 0 ]; then
	eq "the outer directory is closed to others" "$(stat -c %a "$outer")" 700
	co=$outer/metakeep
	copy "$co" || bad "copy of the checkout"
	start_run "$co" "$outer/run1.out"
	if wait_run "$outer/run1.out" 90; then
		ok "scripts/run says running"
	else
		bad "scripts/run did not say running; it printed:"
		sed 's/^/#   /' "$outer/run1.out"
	fi
	base=$(sed -n 's/^metakeep is running at //p' "$outer/run1.out")
	token=$(sed -n '/^Admin token/{n;s/^ *//;p;}' "$outer/run1.out")
	grep -q "nobody cannot reach $co/var" "$outer/run1.out" &&
		ok "it says why the database is not in ./var" || bad "no word on the database's place"
	[ -L "$co/var/db" ] && ok "var/db links to the database" || bad "var/db is not a link"
	eq "the token in var/admin-token is the one printed" "$(cat "$co/var/admin-token" 2>/dev/null)" "$token"

	req POST "$base/users" "$token" \
	    '{"email":"newcomer@example.com","connection":"Username-Password-Authentication","user_metadata":{"hobby":"surfing"}}'
	eq "POST /users with the printed token" "$STATUS" 201
	id=$(printf '%s' "$BODY" | jq -r .user_id 2>/dev/null)
	req GET "$base/users/$id" "$token"
	eq "GET /users/{id} with the printed token" "$STATUS" 200
	eq "the user as stored" "$(printf '%s' "$BODY" | jq -c .user_metadata 2>/dev/null)" '{"hobby":"surfing"}'

	# https, with the certificate it made and says how to trust.
	tbase=$(sed -n 's/^ *and at \(https:.*\)/\1/p' "$outer/run1.out")
	case $tbase in https://127.0.0.1:*/api/v2) ok "it prints the https address" ;;
	*) bad "no https address printed: '$tbase'" ;; esac
	grep -q "NODE_EXTRA_CA_CERTS=$co/var/tls/cert.pem" "$outer/run1.out" &&
		ok "it says how to trust the certificate" || bad "no word on trusting var/tls/cert.pem"
	eq "the key is private" "$(stat -c %a "$co/var/tls/key.pem" 2>/dev/null)" 600
	STATUS=$(curl -s -o "$outer/body" -w '%{http_code}' --max-time 10 \
	    --cacert "$co/var/tls/cert.pem" -H "Authorization: Bearer $token" "$tbase/users/$id") || STATUS=000
	eq "GET /users/{id} over https, trusting var/tls/cert.pem" "$STATUS" 200

	# metakeepctl as root, next to the running daemon, through ./var/db.
	t2=$("$build/metakeepctl" -d "$co/var/db" token create --scope read:users 2>/dev/null)
	req GET "$base/users/$id" "$t2"
	eq "a token metakeepctl made as root next to the daemon" "$STATUS" 200
	eq "the database files are nobody's" \
	    "$(stat -c %U "$co/var/db/data.mdb" "$co/var/db/lock.mdb" | sort -u)" nobody

	mkd=$(cat "$co/var/run/metakeepd.pid" 2>/dev/null)
	httpd=$(cat "$co/var/run/lighttpd.pid" 2>/dev/null)
	kill -TERM "$run_pid" 2>/dev/null
	n=150
	while [ "$n" -gt 0 ] && mk_alive "$run_pid"; do sleep 0.1; n=$((n - 1)); done
	wait "$run_pid" 2>/dev/null
	eq "SIGTERM stops scripts/run (exit 0)" "$?" 0
	run_pid=
	{ [ -n "$mkd" ] && ! kill -0 "$mkd" 2>/dev/null; } && ok "metakeepd is gone" ||
		bad "metakeepd ($mkd) still runs"
	{ [ -n "$httpd" ] && ! kill -0 "$httpd" 2>/dev/null; } && ok "lighttpd is gone" ||
		bad "lighttpd ($httpd) still runs"
else
	echo "# not root: the run as root from a 0700 directory is skipped"
fi

# --- a service that cannot start: never "running"
co2=$outer/broken
copy "$co2" || bad "second copy of the checkout"
mkdir -p "$co2/var/db/data.mdb"
start_run "$co2" "$outer/run2.out"
n=900
while [ "$n" -gt 0 ] && mk_alive "$run_pid"; do sleep 0.1; n=$((n - 1)); done
if mk_alive "$run_pid"; then
	bad "scripts/run still runs after 90 s with a broken database"
	mk_stop_pid "$run_pid" 20
else
	wait "$run_pid"
	eq "scripts/run exits 1 when the service cannot start" "$?" 1
fi
run_pid=
grep -q 'running at' "$outer/run2.out" && bad "it printed running" ||
	ok "running is never printed"
grep -q '^run: metakeep is NOT running: ' "$outer/run2.out" && ok "it prints the cause" ||
	bad "no cause printed"
grep -q '^run: fix: ' "$outer/run2.out" && ok "it prints a fix" || bad "no fix printed"
grep -q 'cannot open the store' "$outer/run2.out" && ok "the cause shows metakeepd's own message" ||
	bad "metakeepd's message is not shown"
for f in metakeepd lighttpd; do
	[ -e "$co2/var/run/$f.pid" ] && bad "$f.pid left behind" || ok "no $f.pid left behind"
done
if [ "$fail" -gt 0 ]; then
	echo "# scripts/run printed (second run):"
	sed 's/^/#   /' "$outer/run2.out"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# test_ctl_oauth: metakeepctl's commands for /oauth/token against a
# temporary database: client create (with and without --scope), client
# grant (create, then replace the scopes), key rotate and key list, and
# backup leaving the private signing keys out unless --with-keys (no
# "PRIVATE KEY" bytes anywhere in the copy's file).  Exit codes: 0 done,
# 1 failed, 2 usage.  Every run is under a timeout.
#
# usage: tests/proc/test_ctl_oauth.sh BUILD_DIR
set -u

build=${1:?usage: $0 BUILD_DIR}
ctl=$build/metakeepctl
[ -x "$ctl" ] || { echo "no executable $ctl" >&2; exit 2; }

tmp=$(mktemp -d /tmp/mk-ctl-oauth.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
db=$tmp/db
pass=0
fail=0
AUD=https://127.0.0.1:8443/api/v2/

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# Making an RSA key under valgrind (MK_VALGRIND, tests/soak/valgrind.sh) takes minutes.
limit=30
[ -n "${MK_VALGRIND:-}" ] && limit=600
run() {
	timeout "$limit" "$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
expect_rc() {
	if [ "$rc" -eq "$1" ]; then ok; else bad "$2: exit $rc, want $1: $(cat "$tmp/err")"; fi
}

# --- client create: the record (secret included) on stdout
run --db "$db" client create --name robot
expect_rc 0 "client create"
cid=$(jq -r .client_id "$tmp/out")
[ "$(jq -r '.name + " " + (.client_secret | length | tostring)' "$tmp/out")" = "robot 64" ] &&
	ok || bad "client create prints the client with its secret: $(cat "$tmp/out")"

# --- a grant needs an audience: from --audience or the config
run --db "$db" client grant "$cid" --scope read:users
expect_rc 1 "client grant without an audience"
grep -q "give --audience" "$tmp/err" && ok || bad "the message says what to give: $(cat "$tmp/err")"
run --db "$db" client grant "$cid"
expect_rc 2 "client grant without --scope"
run --db "$db" client grant "$cid" --scope read:nothing --audience "$AUD"
expect_rc 2 "client grant with an unknown scope"
run --db "$db" client grant nobody --scope read:users --audience "$AUD"
expect_rc 1 "client grant for an unknown client"
run --db "$db" client grant "$cid" --scope "read:users read:clients" --audience "$AUD"
expect_rc 0 "client grant"
grep -q "read:users read:clients" "$tmp/err" && ok || bad "grant says the scopes: $(cat "$tmp/err")"
run --db "$db" client grant "$cid" --scope read:users --audience "$AUD"
expect_rc 0 "client grant again replaces the scopes"
printf '[metakeepd]\ndatabase = %s\naudience = %s\n' "$db" "$AUD" > "$tmp/conf"
run -c "$tmp/conf" client create --scope all
expect_rc 0 "client create --scope all, audience from the config"
grep -q "may get tokens for $AUD with: read:users" "$tmp/err" && ok ||
	bad "create --scope grants: $(cat "$tmp/err")"

# --- keys: the first rotation makes one; list shows ids and dates only
run --db "$db" key list
expect_rc 0 "key list (no key yet)"
[ "$(wc -l < "$tmp/out")" -eq 1 ] && ok || bad "key list: only the heading: $(cat "$tmp/out")"
run --db "$db" key rotate
expect_rc 0 "key rotate"
k1=$(cat "$tmp/out")
run --db "$db" key rotate
expect_rc 0 "key rotate again"
k2=$(cat "$tmp/out")
[ "$k1" != "$k2" ] && [ ${#k2} -eq 24 ] && ok || bad "two rotations, two keys: '$k1' '$k2'"
run --db "$db" key list
expect_rc 0 "key list"
grep -q "^$k2 .* active$" "$tmp/out" && ok || bad "the new key is active: $(cat "$tmp/out")"
grep -q "^$k1 .*Z *[0-9-]*T" "$tmp/out" && ok || bad "the old key is retired: $(cat "$tmp/out")"
grep -q "PRIVATE" "$tmp/out" && bad "key list shows a key" || ok

# --- backup: the keys stay out unless --with-keys
grep -qa "PRIVATE KEY" "$db/data.mdb" && ok || bad "the store holds the keys (control)"
run --db "$db" backup "$tmp/b1"
expect_rc 0 "backup"
grep -qa "PRIVATE KEY" "$tmp/b1/data.mdb" && bad "backup: the copy holds a private key" || ok
run --db "$tmp/b1" key list
[ "$(wc -l < "$tmp/out")" -eq 1 ] && ok || bad "backup: no key in the copy: $(cat "$tmp/out")"
run --db "$tmp/b1" check
expect_rc 0 "backup: the copy checks clean"
run --db "$db" backup --with-keys "$tmp/b2"
expect_rc 0 "backup --with-keys"
grep -qa "PRIVATE KEY" "$tmp/b2/data.mdb" && ok || bad "backup --with-keys: the keys are in the copy"
run --db "$tmp/b2" key list
grep -q "^$k2 " "$tmp/out" && ok || bad "backup --with-keys: the key is listed: $(cat "$tmp/out")"

# --- export writes users only, never a key
run --db "$db" export
expect_rc 0 "export"
grep -q "PRIVATE" "$tmp/out" && bad "export carries a key" || ok

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

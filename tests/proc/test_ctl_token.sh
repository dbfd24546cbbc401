#!/bin/sh
# test_ctl_token: metakeepctl's token commands against a temporary database:
# create, list, revoke, config file and --db precedence, and exit codes
# (0 done, 1 failed, 2 usage).  Every run is under a timeout.
#
# usage: tests/proc/test_ctl_token.sh BUILD_DIR
set -u

build=${1:?usage: $0 BUILD_DIR}
ctl=$build/metakeepctl
[ -x "$ctl" ] || { echo "no executable $ctl" >&2; exit 2; }

tmp=$(mktemp -d /tmp/mk-ctl-token.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
db=$tmp/db
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# run ARGS...: run metakeepctl with a timeout; stdout in $tmp/out, stderr
# in $tmp/err, exit status in $rc.
run() {
	timeout 10 "$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# expect_rc WANT WHAT: check $rc.
expect_rc() {
	if [ "$rc" -eq "$1" ]; then ok; else bad "$2: exit $rc, want $1: $(cat "$tmp/err")"; fi
}

# The id of a token: the first 16 hex digits of its SHA-256.
token_id() { printf %s "$1" | sha256sum | cut -c1-16; }

# --- help and version
run --version
expect_rc 0 "--version"
grep -q '^metakeepctl (metakeep) [0-9]' "$tmp/out" && ok || bad "--version output: $(cat "$tmp/out")"
run --help
expect_rc 0 "--help"
grep -q 'token' "$tmp/out" && ok || bad "--help lists no token command"
run token --help
expect_rc 0 "token --help"
grep -q 'revoke' "$tmp/out" && ok || bad "token --help lists no revoke"
run token create --help
expect_rc 0 "token create --help"
grep -q 'update:users_app_metadata' "$tmp/out" && ok || bad "create --help lists no scopes"

# --- usage errors: exit 2, a message on stderr, nothing on stdout
for args in "" "frob" "--frob" "token" "token frob" "token create" \
    "token create --scope read:userz" "token create --scope all --expires 5x" \
    "token create --scope all --expires 0" "token create --scope all --expires" \
    "token create --scope all --subject" "token create --scope all extra" \
    "token create --scope all --bogus" "token list extra" "token revoke" \
    "token revoke a b" "token revoke abc" "token revoke not-hex"; do
	# shellcheck disable=SC2086 # word splitting wanted
	run --db "$db" $args
	expect_rc 2 "'$args'"
	if [ -n "$args" ]; then
		grep -q '^metakeepctl: ' "$tmp/err" && ok || bad "'$args': no 'metakeepctl: ' message"
		[ -s "$tmp/out" ] && bad "'$args': wrote to stdout" || ok
	fi
done
[ -e "$db/data.mdb" ] && bad "usage errors created the database" || ok

# --- list with no token yet: the header alone, or [] (nothing to sort)
run --db "$tmp/empty" import /dev/null
expect_rc 0 "an empty database"
run --db "$tmp/empty" token list
expect_rc 0 "list of no tokens"
[ "$(cat "$tmp/out")" = "$(printf '%-16s  %-24s  %-34s  %-24s  %s' ID CREATED EXPIRES SUBJECT SCOPES)" ] &&
    ok || bad "list of no tokens: $(cat "$tmp/out")"
run --db "$tmp/empty" token list --json
expect_rc 0 "list --json of no tokens"
[ "$(tr -d ' \n' <"$tmp/out")" = "[]" ] && ok || bad "list --json of no tokens: $(cat "$tmp/out")"

# --- create: the token alone on stdout, a note on stderr
run --db "$db" token create --scope "read:users update:users" --subject 'auth0|abc123' --expires 7d
expect_rc 0 "create"
tok1=$(cat "$tmp/out")
lines=$(wc -l <"$tmp/out")
[ "$lines" -eq 1 ] && ok || bad "create printed $lines lines on stdout"
printf %s "$tok1" | grep -Eq '^mk_[A-Za-z0-9_-]{43}$' && ok || bad "token shape: '$tok1'"
id1=$(token_id "$tok1")
grep -q "$id1" "$tmp/err" && ok || bad "create note does not name id $id1"
grep -q "$tok1" "$tmp/err" && bad "create note repeats the token" || ok

run --db "$db" token create --scope all
expect_rc 0 "create --scope all"
tok2=$(cat "$tmp/out")
id2=$(token_id "$tok2")
[ "$tok1" != "$tok2" ] && ok || bad "two creates gave the same token"

run --db "$db" token create -s read:clients,read:client_keys -e 3600
expect_rc 0 "create short options"
tok3=$(cat "$tmp/out")
id3=$(token_id "$tok3")

run --db "$db" token create --scope delete:users --expires 1s
expect_rc 0 "create 1s"
id4=$(token_id "$(cat "$tmp/out")")

# --- the token is never stored: not in the data file
if grep -qF "$tok1" "$db/data.mdb"; then bad "token found in data.mdb"; else ok; fi
grep -qF "$(printf %s "$tok1" | sha256sum | cut -c1-64)" "$db/data.mdb" && ok ||
    bad "hash of token not in data.mdb (scan broken?)"

# --- list
sleep 1.2   # let the 1s token expire
run --db "$db" token list
expect_rc 0 "list"
for id in "$id1" "$id2" "$id3" "$id4"; do
	grep -q "^$id " "$tmp/out" && ok || bad "list lacks $id"
done
for tok in "$tok1" "$tok2" "$tok3"; do
	grep -qF "$tok" "$tmp/out" && bad "list shows a token" || ok
done
grep "^$id1 " "$tmp/out" | grep -q 'auth0|abc123' && ok || bad "list: subject of $id1"
grep "^$id1 " "$tmp/out" | grep -q 'read:users,update:users' && ok || bad "list: scopes of $id1"
grep "^$id2 " "$tmp/out" | grep -q ' never ' && ok || bad "list: $id2 should never expire"
# "all" is shown as what it is, every scope by name (as --json lists them).
grep "^$id2 " "$tmp/out" |
	grep -q ' read:users,.*,delete:clients,read:connections,read:logs,read:logs_users,read:client_grants,.*,delete:client_grants$' &&
	ok ||
	bad "list: $id2 should list every scope by name"
grep "^$id4 " "$tmp/out" | grep -q '(expired)' && ok || bad "list: $id4 not marked expired"
[ "$(wc -l <"$tmp/out")" -eq 5 ] && ok || bad "list: want header + 4 lines"

run --db "$db" token list --json
expect_rc 0 "list --json"
if command -v jq >/dev/null 2>&1; then
	[ "$(jq length "$tmp/out")" = 4 ] && ok || bad "list --json: length"
	[ "$(jq -r ".[] | select(.id == \"$id1\") | .sub" "$tmp/out")" = 'auth0|abc123' ] &&
	    ok || bad "list --json: sub"
	[ "$(jq -r ".[] | select(.id == \"$id1\") | .scopes | join(\" \")" "$tmp/out")" = \
	    'read:users update:users' ] && ok || bad "list --json: scopes"
	[ "$(jq -r ".[] | select(.id == \"$id4\") | .expired" "$tmp/out")" = true ] &&
	    ok || bad "list --json: expired"
	[ "$(jq -r ".[] | select(.id == \"$id2\") | has(\"exp\")" "$tmp/out")" = false ] &&
	    ok || bad "list --json: no exp on a token that never expires"
else
	grep -q "\"$id1\"" "$tmp/out" && ok || bad "list --json lacks $id1"
fi
grep -qF "$tok1" "$tmp/out" && bad "list --json shows a token" || ok

# --- revoke
run --db "$db" token revoke "$id1"
expect_rc 0 "revoke by id"
run --db "$db" token list
grep -q "^$id1 " "$tmp/out" && bad "revoked $id1 still listed" || ok
grep -q "^$id2 " "$tmp/out" && ok || bad "revoke removed $id2 too"
run --db "$db" token revoke "$id1"
expect_rc 1 "revoke again"
grep -q '^metakeepctl: ' "$tmp/err" && ok || bad "revoke again: no message"
run --db "$db" token revoke "$(printf %s "$id3" | cut -c1-8)"
expect_rc 0 "revoke by 8-char prefix"
grep -q "^metakeepctl: revoked token $id3\$" "$tmp/err" && ok ||
	bad "revoke by prefix names the whole id: $(cat "$tmp/err")"
run --db "$db" token list
grep -q "^$id3 " "$tmp/out" && bad "prefix-revoked $id3 still listed" || ok
run --db "$db" token revoke "$(printf %s "$id2" | tr 'a-f' 'A-F')"
expect_rc 0 "revoke by upper-case id"
run --db "$db" token revoke 0000000000000000
expect_rc 1 "revoke unknown id"
grep -q "token list" "$tmp/err" && ok || bad "unknown id: no hint of token list: $(cat "$tmp/err")"

# --- config file, and --db over it
mkdir -p "$tmp/conf"
printf '[metakeepd]\ndatabase = %s\n' "$tmp/fromconf" >"$tmp/conf/mk.conf"
run -c "$tmp/conf/mk.conf" token create --scope read:users
expect_rc 0 "create with -c"
[ -e "$tmp/fromconf/data.mdb" ] && ok || bad "-c: database not in the configured dir"
idc=$(token_id "$(cat "$tmp/out")")
run --db "$tmp/fromconf" token list
grep -q "^$idc " "$tmp/out" && ok || bad "-c: token not in the configured database"
run -c "$tmp/conf/mk.conf" --db "$tmp/override" token create --scope read:users
expect_rc 0 "create with -c and --db"
[ -e "$tmp/override/data.mdb" ] && ok || bad "--db did not override the config file"
run --db "$tmp/override" -c "$tmp/conf/mk.conf" token list
grep -q "^$idc " "$tmp/out" && bad "--db before -c lost to the config file" || ok
run -c "$tmp/nonexistent.conf" token list
expect_rc 1 "-c missing file"
printf '[metakeepd]\nnonsense = 1\n' >"$tmp/conf/bad.conf"
run -c "$tmp/conf/bad.conf" token list
expect_rc 1 "-c bad file"
grep -q 'nonsense' "$tmp/err" && ok || bad "bad config: message does not name the key"

# --- an unusable database directory: operation failed, not usage
: >"$tmp/afile"
run --db "$tmp/afile" token create --scope all
expect_rc 1 "create in a file, not a directory"
[ -s "$tmp/out" ] && bad "failed create printed a token" || ok

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# test_ctl_admin: metakeepctl's admin commands against temporary databases:
# export/import round trip of 10,000 generated users (nested metadata,
# unicode), import with bad records, upsert reruns, backup under write load,
# check and check --repair on an index broken on purpose, stats, user get
# and user patch, and the --help of each command.  Every run is under a
# timeout.  Export and import rates of the 10,000 set are printed.
#
# Indexes are broken with mdb_load(1) from lmdb-utils, writing raw entries
# into the index tables (and a record without its entries); no debug option
# exists in metakeepctl for it.
#
# usage: tests/proc/test_ctl_admin.sh BUILD_DIR
# (MK_CTL_TIMEOUT: seconds per metakeepctl run, default 120; sanitizer
# builds on a busy machine may need more.)
set -u

build=${1:?usage: $0 BUILD_DIR}
ctl=$build/metakeepctl
[ -x "$ctl" ] || { echo "no executable $ctl" >&2; exit 2; }
command -v mdb_load >/dev/null || { echo "mdb_load (lmdb-utils) is needed" >&2; exit 2; }

tmp=$(mktemp -d /tmp/mk-ctl-admin.XXXXXX) || exit 2
bgpid=
cleanup() {
	[ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null && wait "$bgpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# run ARGS...: metakeepctl under a timeout; stdout in $tmp/out, stderr in
# $tmp/err, exit status in $rc.
run() {
	timeout "${MK_CTL_TIMEOUT:-120}" "$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
expect_rc() {
	if [ "$rc" -eq "$1" ]; then ok; else bad "$2: exit $rc, want $1: $(head -c 600 "$tmp/err")"; fi
}
# has FILE PATTERN WHAT: grep -q with a failure message.
has() {
	if grep -q -- "$2" "$1"; then ok; else bad "$3: no '$2' in: $(head -c 600 "$1")"; fi
}
hasnt() {
	if grep -q -- "$2" "$1"; then bad "$3: unexpected '$2'"; else ok; fi
}
now_ms() { date +%s%3N; }

# gen N: N users in Auth0's bulk import format on stdout.  Every third has
# no user_id (a random one is made), every sixth gives created_at, every
# fourth a name (the others get Auth0's defaults); metadata is nested six
# deep, with arrays, null, numbers, escapes, and unicode both literal and
# as \u escapes (BMP and a surrogate pair).
gen() {
	awk -v n="$1" '
	BEGIN {
		split("Ann Bård Zoë Łukasz 李雷 Ωmega Jürgen Siobhán Ngozi Åsa", given, " ");
		split("Smith Ødegård Müller 山田 Nuñez O_Brien Dvořák Σωκράτης", family, " ");
		printf "[\n";
		for (i = 0; i < n; i++) {
			g = given[i % 10 + 1];
			f = family[i % 8 + 1];
			printf "%s{\"email\":\"User%05d@Example.com\"", i ? ",\n" : "", i;
			if (i % 3 != 0)
				printf ",\"user_id\":\"imp%06d\"", i;
			printf ",\"given_name\":\"%s\",\"family_name\":\"%s\"", g, f;
			if (i % 4 == 0)
				printf ",\"name\":\"%s %s\"", g, f;
			if (i % 5 == 0)
				printf ",\"phone_number\":\"+1555%07d\",\"phone_verified\":true", i;
			if (i % 7 == 0)
				printf ",\"blocked\":true,\"picture\":\"https://img.example.com/%d.png\"", i;
			if (i % 2 == 0)
				printf ",\"email_verified\":true";
			if (i % 6 == 0)
				printf ",\"created_at\":\"2019-%02d-%02dT%02d:%02d:%02d.%03dZ\"", \
				    i % 12 + 1, i % 28 + 1, i % 24, i % 60, (i * 7) % 60, i % 1000;
			printf ",\"user_metadata\":{\"plan\":\"p%d\",\"score\":%d,\"ratio\":%s", \
			    i % 5, i * 37 - 5000, (i % 2 ? "0.25" : "-1.5");
			printf ",\"prefs\":{\"theme\":\"dark\",\"langs\":[\"en\",\"fr\",\"%s\"]", g;
			printf ",\"nested\":{\"a\":{\"b\":{\"c\":[1,[2,[3,{\"d\":null}]]]}}}}";
			printf ",\"note\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" back\\\\slash\\ttab é😀\"";
			printf ",\"empty\":{},\"list\":[]}";
			if (i % 3 != 1)
				printf ",\"app_metadata\":{\"roles\":[\"r%d\",\"admin\"],\"tier\":%d,\"flags\":{\"beta\":%s}}", \
				    i % 4, i % 9, (i % 2 ? "true" : "false");
			printf "}";
		}
		printf "\n]\n";
	}'
}

# --- help: every command has one, exit 0, on stdout
for c in export import backup check stats "user get" "user patch" user; do
	# shellcheck disable=SC2086 # word splitting wanted
	run $c --help
	expect_rc 0 "$c --help"
	has "$tmp/out" "usage: metakeepctl" "$c --help"
done
run --help
for c in export import backup check stats user; do has "$tmp/out" "  $c " "--help lists $c"; done
# What each help promises is what the command does.
run backup --help
has "$tmp/out" "--with-keys" "backup --help: names --with-keys"
has "$tmp/out" "leaves out the token signing keys" "backup --help: says the keys stay out"
run check --help
hasnt "$tmp/out" "(one write" "check --help: repair is not one transaction"
run export --help
has "$tmp/out" "not for import" "export --help: --fields output is not for import"

# --- usage errors: exit 2
db=$tmp/db
for args in "export --format xml" "export extra" "export --fields ..a" "import" \
    "import a b" "import --batch 0 f" "backup" "check extra" "stats extra" \
    "user get" "user patch onlyid" "user frob"; do
	# shellcheck disable=SC2086
	run --db "$db" $args
	expect_rc 2 "'$args'"
done
[ -e "$db/data.mdb" ] && bad "usage errors created the database" || ok
run --db "$db" export
expect_rc 1 "export of a database that does not exist"

# --- round trip: 10,000 users, export, wipe, import, export again
gen 10000 >"$tmp/users.json"
n=$(grep -c '"email"' "$tmp/users.json")
[ "$n" -eq 10000 ] && ok || bad "generator made $n users"
t0=$(now_ms)
run --db "$db" import "$tmp/users.json"
t1=$(now_ms)
expect_rc 0 "import of 10000"
has "$tmp/err" "10000 records: 10000 created, 0 updated, 0 unchanged, 0 failed" "import summary"
# Into an empty store, import writes every table in key order (bulk.h):
# compact as written, so not rewritten (batches are: see --batch below).
has "$tmp/err" "import: data.mdb written in key order, compact" "bulk import is compact"
hasnt "$tmp/err" "compacted from" "bulk import does not copy the file again"
import_ms=$((t1 - t0))
t0=$(now_ms)
timeout 60 "$ctl" --db "$db" export >"$tmp/e1.ndjson" 2>"$tmp/err"
rc=$?
t1=$(now_ms)
expect_rc 0 "export of 10000"
export_ms=$((t1 - t0))
lines=$(wc -l <"$tmp/e1.ndjson")
[ "$lines" -eq 10000 ] && ok || bad "export wrote $lines lines"
# Properties of the export: emails lower-cased, ids kept, unicode kept.
has "$tmp/e1.ndjson" '"email":"user00001@example.com"' "email lower-cased"
has "$tmp/e1.ndjson" '"user_id":"auth0|imp000001"' "given user_id gets auth0|"
has "$tmp/e1.ndjson" '"created_at":"2019-01-01T00:00:00.000Z"' "given created_at kept"
has "$tmp/e1.ndjson" '"family_name":"Σωκράτης"' "unicode name"
has "$tmp/e1.ndjson" 'café 😀 \\"q\\" back\\\\slash\\ttab é😀' "escapes and unicode in metadata"
has "$tmp/e1.ndjson" '"nested":{"a":{"b":{"c":\[1,\[2,\[3,{"d":null}\]\]\]}}}' "nested metadata"
rm -rf "$db"
run --db "$db" import "$tmp/e1.ndjson"
expect_rc 0 "import of the export"
timeout 60 "$ctl" --db "$db" export >"$tmp/e2.ndjson" 2>"$tmp/err"
rc=$?
expect_rc 0 "second export"
if cmp -s "$tmp/e1.ndjson" "$tmp/e2.ndjson"; then ok; else bad "round trip differs: $(cmp "$tmp/e1.ndjson" "$tmp/e2.ndjson")"; fi
# The JSON array form is the bulk import format: it round-trips too.
timeout 60 "$ctl" --db "$db" export --format json >"$tmp/e.json" 2>/dev/null
head -c 2 "$tmp/e.json" | grep -q '^\[' && ok || bad "--format json is not an array"
run --db "$tmp/db3" import "$tmp/e.json"
expect_rc 0 "import of --format json"
timeout 60 "$ctl" --db "$tmp/db3" export >"$tmp/e3.ndjson" 2>/dev/null
cmp -s "$tmp/e1.ndjson" "$tmp/e3.ndjson" && ok || bad "json array round trip differs"
rm -rf "$tmp/db3"
# --fields
run --db "$db" export --fields user_id,user_metadata.plan
expect_rc 0 "export --fields"
has "$tmp/out" '^{"user_id":"auth0|imp000001","user_metadata.plan":"p1"}$' "--fields projection"
hasnt "$tmp/out" '"email"' "--fields leaves other attributes out"

# --- upsert: rerunning the same file changes nothing
run --db "$db" import "$tmp/e1.ndjson"
expect_rc 1 "rerun without --upsert"
has "$tmp/err" "record 1: The user already exists (--upsert updates existing users)." \
	"rerun reports existing users and how to update them"
has "$tmp/err" "0 created, 0 updated, 0 unchanged, 10000 failed" "rerun summary"
run --db "$db" stats --json
has "$tmp/out" '"last_txn_id":' "stats --json has last_txn_id"
txn_before=$(sed -n 's/.*"last_txn_id":\([0-9]*\).*/\1/p' "$tmp/out")
run --db "$db" import --upsert "$tmp/e1.ndjson"
expect_rc 0 "rerun with --upsert"
has "$tmp/err" "0 created, 0 updated, 10000 unchanged, 0 failed" "upsert rerun unchanged"
# The bulk file has records without user_id and created_at: upsert matches
# them by email and keeps the stored id and created_at.
run --db "$db" import --upsert "$tmp/users.json"
expect_rc 0 "upsert of the original file"
has "$tmp/err" "0 created, 0 updated, 10000 unchanged, 0 failed" "upsert of bulk file unchanged"
timeout 60 "$ctl" --db "$db" export >"$tmp/e4.ndjson" 2>/dev/null
cmp -s "$tmp/e1.ndjson" "$tmp/e4.ndjson" && ok || bad "upsert reruns changed the export"

# --- bad records: the good land, each bad is reported, stored users unchanged
cat >"$tmp/bad.json" <<'EOF'
[
 {"email":"good1@example.com","user_id":"good1","user_metadata":{"ok":true}},
 {"email":"not-an-email"},
 {"email":"user00001@example.com","user_id":"imp000001","given_name":"Changed"},
 42,
 {"email":"good2@example.com",
  "user_metadata":{"a.b":1}},
 {"email":"broken@example.com", "x": tru},
 {"email":"good3@example.com","password_hash":"$2b$10$abcdefghijklmnopqrstuuRZ5nq5bJ3y6tE6qkVgW7C1i0a2Qf1O6"},
 {"email":"x@example.com","logins_count":3},
 {"email":"y@example.com","created_at":"yesterday"},
 {"email":"good4@example.com","connection":"no-such-connection"}
]
EOF
timeout 60 "$ctl" --db "$db" export >"$tmp/before.ndjson" 2>/dev/null
run --db "$db" import "$tmp/bad.json"
expect_rc 1 "import with bad records"
has "$tmp/err" "bad.json:3: record 2: Payload validation error: .*format email" "record 2 reported"
has "$tmp/err" "bad.json:4: record 3: The user already exists." "record 3 reported"
has "$tmp/err" "record 4: Payload validation error: 'Expected type object" "record 4 reported"
has "$tmp/err" "bad.json:6: record 5: .*dotted fields" "record 5 reported at its first line"
has "$tmp/err" "record 6: Payload validation error: 'Invalid JSON" "record 6 reported"
has "$tmp/err" "record 8: .*Additional properties not allowed: logins_count" "record 8 reported"
has "$tmp/err" "record 9: .*created_at" "record 9 reported"
has "$tmp/err" "record 10: Connection does not exist." "record 10 reported"
hasnt "$tmp/err" "record 1:" "good record 1 not reported"
hasnt "$tmp/err" "record 7:" "good record 7 not reported"
has "$tmp/err" "10 records: 2 created, 0 updated, 0 unchanged, 8 failed" "bad import summary"
run --db "$db" user get 'auth0|good1'
expect_rc 0 "good record landed"
run --db "$db" user get 'auth0|imp000001'
hasnt "$tmp/out" "Changed" "existing user unchanged"
# Every user that was there is byte for byte the same.
timeout 60 "$ctl" --db "$db" export >"$tmp/after.ndjson" 2>/dev/null
grep -v -e good1@ -e good3@ "$tmp/after.ndjson" >"$tmp/after-old.ndjson"
cmp -s "$tmp/before.ndjson" "$tmp/after-old.ndjson" && ok || bad "stored users changed"
[ "$(wc -l <"$tmp/after.ndjson")" -eq 10002 ] && ok || bad "not 10002 users after the bad import"
# Structural errors stop the import; what came before is written.
printf '[{"email":"s1@example.com"},\n{"email":"s2@example.com"} {"email":"s3@example.com"}]' >"$tmp/struct.json"
run --db "$db" import "$tmp/struct.json"
expect_rc 1 "structural error"
has "$tmp/err" "struct.json:2: unexpected '{'" "structural error located"
has "$tmp/err" "stopped early" "structural error stops"
printf '[{"email":"t1@example.com"}' >"$tmp/trunc.json"
run --db "$db" import "$tmp/trunc.json"
expect_rc 1 "truncated file"
has "$tmp/err" "ends before the closing" "truncated file reported"
# (s1, s2 and t1 above were written: 10004 users now.)
printf '' | timeout 10 "$ctl" --db "$db" import - 2>"$tmp/err"
rc=$?
expect_rc 0 "empty stdin"
# --connection must be configured; with a config naming it, users land there.
run --db "$db" import --connection other "$tmp/trunc.json"
expect_rc 1 "unknown --connection"
has "$tmp/err" "not configured" "unknown --connection message"
printf '[metakeepd]\nconnections = Username-Password-Authentication, other\n' >"$tmp/conf"
printf '[{"email":"user00002@example.com","user_id":"other2"}]' >"$tmp/other.json"
run -c "$tmp/conf" --db "$db" import --connection other "$tmp/other.json"
expect_rc 0 "import into another connection (same email, other connection)"
run --db "$db" user get 'auth0|other2'
has "$tmp/out" '"connection":"other"' "user in connection other"

# --- import into an empty store: one sorted write (bulk.h), with the same
# outcome as batches.  Records that name a user_id or an email (in its
# connection) an earlier record named are written after the others; each
# must end as it would in file order, with and without --upsert.
T='"created_at":"2020-02-02T00:00:00.000Z"'
cat >"$tmp/dup.json" <<EOF
[
 {"user_id":"a1","email":"a@example.com",$T,"given_name":"A1"},
 {"user_id":"a1","email":"a2@example.com",$T,"given_name":"A1bis"},
 {"user_id":"b1","email":"a@example.com",$T},
 {"user_id":"c1","email":"a2@example.com",$T},
 {"user_id":"d1","email":"d@example.com","connection":"other",$T},
 {"user_id":"d2","email":"d@example.com",$T},
 {"email":"bad"},
 {"user_id":"e1","email":"e@example.com",$T,"password_hash":"\$2b\$10\$abcdefghijklmnopqrstuuRZ5nq5bJ3y6tE6qkVgW7C1i0a2Qf1O6"},
 {"email":"a@example.com",$T,"given_name":"byemail"},
 {"user_id":"f1","email":"f@example.com",$T,"user_metadata":{"k":"v"}},
 {"user_id":"g1","email":"g@example.com",$T},
 {"user_id":"f1","email":"g@example.com",$T,"user_metadata":{"k":"w"}}
]
EOF
for up in "" --upsert; do
	# (the records are prepared by threads; MK_IMPORT_NOTHREADS=1: by one)
	if [ "$up" = "" ]; then export MK_IMPORT_NOTHREADS=1; fi
	run -c "$tmp/conf" --db "$tmp/dbulk" import $up "$tmp/dup.json"
	unset MK_IMPORT_NOTHREADS
	brc=$rc
	sed 's/^.*record/record/' "$tmp/err" | grep '^record' | sort >"$tmp/bulk.msg"
	grep 'records:' "$tmp/err" >"$tmp/bulk.sum"
	run -c "$tmp/conf" --db "$tmp/dbatch" import $up --batch 1000 "$tmp/dup.json"
	[ "$rc" -eq "$brc" ] && ok || bad "bulk import$up exits $brc, batches $rc"
	sed 's/^.*record/record/' "$tmp/err" | grep '^record' | sort >"$tmp/batch.msg"
	grep 'records:' "$tmp/err" >"$tmp/batch.sum"
	# Alone on the store, batches are rewritten compact (store_compact).
	has "$tmp/err" "import: data.mdb compacted from [0-9]* to [0-9]* bytes" \
		"import --batch$up compacts the store"
	cmp -s "$tmp/bulk.msg" "$tmp/batch.msg" && ok ||
		bad "bulk import$up reports other records: $(diff "$tmp/bulk.msg" "$tmp/batch.msg")"
	cmp -s "$tmp/bulk.sum" "$tmp/batch.sum" && ok ||
		bad "bulk import$up summary: $(cat "$tmp/bulk.sum") against $(cat "$tmp/batch.sum")"
	# (an update's updated_at is the time of its write)
	timeout 60 "$ctl" --db "$tmp/dbulk" export 2>/dev/null |
		sed 's/"updated_at":"[^"]*"/"updated_at":"-"/' >"$tmp/bulk.ndjson"
	timeout 60 "$ctl" --db "$tmp/dbatch" export 2>/dev/null |
		sed 's/"updated_at":"[^"]*"/"updated_at":"-"/' >"$tmp/batch.ndjson"
	[ -s "$tmp/bulk.ndjson" ] && cmp -s "$tmp/bulk.ndjson" "$tmp/batch.ndjson" && ok ||
		bad "bulk import$up stores other users: $(diff "$tmp/bulk.ndjson" "$tmp/batch.ndjson")"
	run -c "$tmp/conf" --db "$tmp/dbulk" check
	expect_rc 0 "check after the bulk import$up"
	has "$tmp/out" "no problems" "bulk import$up leaves the indexes exact"
	run --db "$tmp/dbulk" user get 'auth0|e1'
	expect_rc 0 "bulk import$up: user e1"
	rm -rf "$tmp/dbulk" "$tmp/dbatch"
done
has "$tmp/batch.sum" "12 records: 7 created, 2 updated, 0 unchanged, 3 failed" "upsert of the duplicates"

# --- relaxed_sync in the configuration: metakeepctl's stores never use
# write_map (the pool's MDB_WRITEMAP, store.c "write_map stores"), whose
# data.mdb is allocated ahead of the data and never shortened: an import's
# store_reserve (64 MiB and twice the records) stayed in the file (73.5 MB
# for the 3.8 MB of these 5,000 users without; a token create 270 KB for
# 28 KB), and a write_map store_write cannot run an import batch again
# after the map grew (--batch failed: "the store is growing; try again").
# The same file into a durable store and a relaxed one: the same size
# (1/64 slack for layout), each command alike.
printf '[metakeepd]\nrelaxed_sync = true\n' >"$tmp/relaxed.conf"
awk 'BEGIN { print "["; for (i = 0; i < 5000; i++)
	printf "%s{\"user_id\":\"rx%05d\",\"email\":\"rx%d@example.com\",\"user_metadata\":{\"k\":\"%d\"}}\n",
	    i ? "," : "", i, i, i; print "]" }' >"$tmp/rx.json"
# size_within WHAT DIR_RELAXED DIR_DURABLE
size_within() {
	rs=$(stat -c %s "$2/data.mdb" 2>/dev/null || echo 0)
	ds=$(stat -c %s "$3/data.mdb" 2>/dev/null || echo 0)
	[ "$ds" -gt 0 ] && [ "$rs" -gt 0 ] && [ "$rs" -le $((ds + ds / 64)) ] && ok ||
		bad "$1: relaxed data.mdb $rs bytes, durable $ds"
}
for args in "import" "import --batch 1000"; do
	rm -rf "$tmp/rxd" "$tmp/rxr"
	run --db "$tmp/rxd" $args "$tmp/rx.json"
	expect_rc 0 "durable $args"
	run -c "$tmp/relaxed.conf" --db "$tmp/rxr" $args "$tmp/rx.json"
	expect_rc 0 "relaxed_sync $args"
	has "$tmp/err" "5000 records: 5000 created" "relaxed_sync $args writes every user"
	size_within "relaxed_sync $args" "$tmp/rxr" "$tmp/rxd"
done
run -c "$tmp/relaxed.conf" --db "$tmp/rxr" check
expect_rc 0 "check after the relaxed_sync import"
for d in rxd rxr; do rm -rf "${tmp:?}/$d"; done
run --db "$tmp/rxd" token create --scope all
run -c "$tmp/relaxed.conf" --db "$tmp/rxr" token create --scope all
expect_rc 0 "relaxed_sync token create"
size_within "relaxed_sync token create" "$tmp/rxr" "$tmp/rxd"
rm -rf "$tmp/rxd" "$tmp/rxr"

# --- an import into an empty store while another process writes a user:
# the one sorted write finds the store no longer empty and writes nothing
# (bulk.c commit_tx, store.c store_users_bulk), not even the records it
# deferred; the other process's user stays, the store stays exact, and the
# import run again lands whole (in batches: the store has a user now).
# The race is made certain, without sleeps, by the pipe: the import reads
# its file from a FIFO, and once cat has put 2.2 MB into it (more than any
# pipe's buffer) the import has read some of it, so it is past bulk_begin
# (the store was empty then) and gathering; it then waits for the rest,
# with nothing written, while the other process writes.  (Without the
# check, the sorted write's appends still fail, MDB_KEYEXIST on a table
# that is not empty, but as an internal error: the message tells.)
gen 6000 | sed '$d' >"$tmp/race.json"
# One more record, for a user_id the file named already: deferred until
# after the sorted write (an update, with --upsert).
printf ',\n{"user_id":"imp000001","email":"late@example.com","user_metadata":{"deferred":1}}\n]\n' \
    >>"$tmp/race.json"
head -c 2200000 "$tmp/race.json" >"$tmp/race1"
tail -c +2200001 "$tmp/race.json" >"$tmp/race2"
[ -s "$tmp/race2" ] && ok || bad "race file too short to split"
printf '[{"user_id":"zz-other","email":"other@example.com"}]\n' >"$tmp/other1.json"
mkfifo "$tmp/fifo" || bad "mkfifo"
for mode in "--batch 1" ""; do
	rm -rf "$tmp/drace"
	timeout "${MK_CTL_TIMEOUT:-120}" "$ctl" --db "$tmp/drace" import --upsert "$tmp/fifo" \
	    >/dev/null 2>"$tmp/race.err" &
	bgpid=$!
	# Read-write: does not wait for the reader (Linux); the import started
	# before, so it does not hold this writer and sees the end at exec 3>&-.
	exec 3<>"$tmp/fifo"
	if timeout 60 cat "$tmp/race1" >&3; then ok; else bad "race ($mode): the import did not read"; fi
	# shellcheck disable=SC2086 # word splitting wanted
	run --db "$tmp/drace" import $mode "$tmp/other1.json"
	expect_rc 0 "race ($mode): the other writer's import"
	has "$tmp/err" "1 records*: 1 created" "race ($mode): the other writer's user acknowledged"
	timeout 60 cat "$tmp/race2" >&3 || bad "race ($mode): the import did not read the rest"
	exec 3>&-
	wait "$bgpid"
	rc=$?
	bgpid=
	cp "$tmp/race.err" "$tmp/err"
	expect_rc 1 "race ($mode): import into a store another process wrote"
	has "$tmp/err" "the 6000 users gathered were not written: the store got users since the import began (another process wrote)" \
	    "race ($mode): the import says it wrote nothing, and why"
	has "$tmp/err" "6001 records: 0 created, 0 updated, 0 unchanged, 0 failed; stopped early" \
	    "race ($mode): import summary"
	[ "$(wc -l <"$tmp/err")" -eq 2 ] && ok || bad "race ($mode): the import said more: $(head -c 600 "$tmp/err")"
	timeout 60 "$ctl" --db "$tmp/drace" export >"$tmp/race.ndjson" 2>/dev/null
	[ "$(wc -l <"$tmp/race.ndjson")" -eq 1 ] && grep -q '"user_id":"auth0|zz-other"' "$tmp/race.ndjson" &&
	    ok || bad "race ($mode): the store holds other than the other user: $(head -c 300 "$tmp/race.ndjson")"
	run --db "$tmp/drace" check
	expect_rc 0 "race ($mode): check after the refused import"
	has "$tmp/out" "check: 1 users,.*no problems" "race ($mode): the store is exact"
	# Run again: it lands whole, the deferred record as an update.
	run --db "$tmp/drace" import --upsert "$tmp/race.json"
	expect_rc 0 "race ($mode): the import run again"
	has "$tmp/err" "6001 records: 6000 created, 1 updated, 0 unchanged, 0 failed" \
	    "race ($mode): summary of the import run again"
	run --db "$tmp/drace" check
	expect_rc 0 "race ($mode): check after the import run again"
	has "$tmp/out" "check: 6001 users,.*no problems" "race ($mode): every user, indexes exact"
	run --db "$tmp/drace" user get 'auth0|imp000001'
	has "$tmp/out" '"deferred":1' "race ($mode): the deferred update landed"
	run --db "$tmp/drace" user get 'auth0|zz-other'
	expect_rc 0 "race ($mode): the other writer's user kept"
done
rm -rf "$tmp/drace" "$tmp/race.json" "$tmp/race1" "$tmp/race2" "$tmp/fifo"

# --- user get / user patch: the API's rules
run --db "$db" user get 'auth0|nobody'
expect_rc 1 "user get of a missing user"
has "$tmp/err" "The user does not exist." "user get message"
run --db "$db" user patch 'auth0|good1' '{"user_metadata":{"ok":null,"n":{"x":[1,"é"]}},"given_name":"Good"}'
expect_rc 0 "user patch"
has "$tmp/out" '"given_name":"Good"' "patch sets given_name"
has "$tmp/out" '"user_metadata":{"n":{"x":\[1,"é"\]}}' "patch merges metadata"
run --db "$db" user get 'auth0|good1'
has "$tmp/out" '"user_metadata":{"n":{"x":\[1,"é"\]}}' "patch stored"
echo '{"app_metadata":{"plan":"gold"}}' | timeout 10 "$ctl" --db "$db" user patch 'auth0|good1' - >"$tmp/out" 2>"$tmp/err"
rc=$?
expect_rc 0 "user patch from stdin"
has "$tmp/out" '"app_metadata":{"plan":"gold"}' "patch from stdin"
run --db "$db" user patch 'auth0|good1' '{"user_id":"x"}'
expect_rc 1 "patch of a read-only attribute"
has "$tmp/err" "Additional properties not allowed: user_id" "read-only message"
run --db "$db" user patch 'auth0|good1' '{}'
expect_rc 1 "empty patch"
run --db "$db" user patch 'auth0|good1' '{"user_metadata":'
expect_rc 1 "malformed patch"
run --db "$db" user patch 'auth0|good1' '{"email":"user00003@example.com"}'
expect_rc 1 "patch to a taken email"
has "$tmp/err" "The user already exists." "taken email message"
run --db "$db" user patch 'auth0|nobody' '{"name":"x"}'
expect_rc 1 "patch of a missing user"

# 10000 + good1, good3, s1, s2, t1, other2.
# --- stats
run --db "$db" stats
expect_rc 0 "stats"
has "$tmp/out" "^users: *10006$" "stats users"
for k in "data file:" "map:" "last txn id:" "readers:" "users_email"; do has "$tmp/out" "$k" "stats $k"; done
run --db "$db" stats --json
expect_rc 0 "stats --json"
has "$tmp/out" '"users":10006' "stats --json users"
has "$tmp/out" '"map_used_bytes":' "stats --json map"
has "$tmp/out" '"reader_slots":' "stats --json readers"

# --- check on a clean store, then on broken indexes, then --repair
# (-c: the connection "other" is configured; without it, other2 is a problem.)
run --db "$db" check
expect_rc 1 "check without the configuration"
has "$tmp/out" "user auth0|other2: Connection does not exist." "unconfigured connection reported"
run -c "$tmp/conf" --db "$db" check
expect_rc 0 "check of a clean store"
has "$tmp/out" "10006 users.*no problems" "check summary"
cp -r "$db" "$tmp/broken"
rm -f "$tmp/broken/lock.mdb"
# An entry pointing at no user, an entry that disagrees with its record,
# and a valid record with no index entries at all.
# Order index keys (store.c okey_make): the time packed into 6 bytes
# (7ee108000000 is 2030-01-01T00:00:00.000Z, 7d1108000000
# 2001-01-01T00:00:00.000Z), in users_created the first 8 bytes of the
# user_id, then the user's number, 4 bytes big-endian:
# 0x0fffffff is nobody's; auth0|imp000001's is the first 4 bytes of its
# users value (native byte order, little-endian here).
printf '\\7e\\e1\\08\\00\\00\\00auth0|gh\\0f\\ff\\ff\\ff\n\n' | mdb_load -T -s users_created "$tmp/broken"
n1=$(mdb_dump -s users "$tmp/broken" |
    awk -v k=" $(printf 'auth0|imp000001' | od -An -tx1 | tr -d ' \n')" 'f == 1 { print substr($1, 1, 8); f = 2 } $0 == k { f = 1 }')
[ ${#n1} -eq 8 ] && ok || bad "number of auth0|imp000001 not found: '$n1'"
# (cut, not ${n1:6:2}: /bin/sh is dash, which has no substrings)
printf '\\7d\\11\\08\\00\\00\\00\\%s\\%s\\%s\\%s\n\n' "$(echo "$n1" | cut -c7-8)" \
    "$(echo "$n1" | cut -c5-6)" "$(echo "$n1" | cut -c3-4)" "$(echo "$n1" | cut -c1-2)" |
    mdb_load -T -s users_updated "$tmp/broken"
# A users value is the user's 4-byte number, then the JSON: this one's
# number (0x70000000) names no user in user_nums.
printf 'auth0|stray\n\\00\\00\\00p{"created_at":"2020-01-01T00:00:00.000Z","email":"stray@example.com","email_verified":false,"identities":[{"connection":"Username-Password-Authentication","user_id":"stray","provider":"auth0","isSocial":false}],"updated_at":"2020-01-01T00:00:00.000Z","user_id":"auth0|stray"}\n' |
    mdb_load -T -s users "$tmp/broken"
run -c "$tmp/conf" --db "$tmp/broken" check
expect_rc 1 "check of broken indexes"
has "$tmp/out" "search: user auth0|stray lacks entry email" "search entries of the stray user missing"
has "$tmp/out" "search: user auth0|stray has number 1879048192, which names no user" "number naming no user found"
has "$tmp/out" "users_created: entry '2030-01-01T00:00:00.000Z' has no id (or a user number that names no user)" "ghost entry found"
has "$tmp/out" "users_updated: entry '2001-01-01T00:00:00.000Z' for user auth0|imp000001 does not match" "wrong entry found"
has "$tmp/out" "user auth0|stray: no users_email entry" "missing entries found"
nprob=$(sed -n 's/^check: .*: \([0-9]*\) problems$/\1/p' "$tmp/out")
[ -n "$nprob" ] && [ "$nprob" -ge 5 ] && ok || bad "check counted '$nprob' problems"
run -c "$tmp/conf" --db "$tmp/broken" check --repair
expect_rc 0 "check --repair"
has "$tmp/out" "repair: indexes rebuilt from 10007 users" "repair summary"
has "$tmp/out" "repair: search index rebuilt" "search index rebuilt"
run -c "$tmp/conf" --db "$tmp/broken" check
expect_rc 0 "check after repair"
run --db "$tmp/broken" user get 'auth0|stray'
expect_rc 0 "stray user readable"
# A search index entry for a user that does not exist, alone.
cp -r "$db" "$tmp/broken2"
rm -f "$tmp/broken2/lock.mdb"
# (terms: term key -> 4-byte user numbers; 0x0fffffff is no user's.)
printf 'user_id\\00sauth0|zzz\n\\ff\\ff\\ff\\0f\n' | mdb_load -T -s terms "$tmp/broken2"
run -c "$tmp/conf" --db "$tmp/broken2" check
expect_rc 1 "check of a stray search entry"
has "$tmp/out" "search: 1 stray entr" "stray search entry found"
run -c "$tmp/conf" --db "$tmp/broken2" check --repair
expect_rc 0 "repair of the search index"
run -c "$tmp/conf" --db "$tmp/broken2" check
expect_rc 0 "check after the search repair"
rm -rf "$tmp/broken2"
# The index split at the floor (terms below meta termfloor, terms_new at or
# above): a floor lowered under every entry puts them all on its wrong side.
cp -r "$db" "$tmp/broken3"
rm -f "$tmp/broken3/lock.mdb"
printf 'termfloor\n\\01\\00\\00\\00\n' | mdb_load -T -s meta "$tmp/broken3"
run -c "$tmp/conf" --db "$tmp/broken3" check
expect_rc 1 "check of a lowered floor"
has "$tmp/out" "search: .* keys with numbers on the wrong side of the new users' floor" \
    "entries on the wrong side of the floor found"
run -c "$tmp/conf" --db "$tmp/broken3" check --repair
expect_rc 0 "repair of the split"
has "$tmp/out" "repair: search index rebuilt" "search index rebuilt after the floor"
run -c "$tmp/conf" --db "$tmp/broken3" check
expect_rc 0 "check after the split's repair"
rm -rf "$tmp/broken3"
# A record that is not valid is reported, and not "repaired" away.
printf 'auth0|junk\n\\00\\00\\00q{"email":"junk"\n' | mdb_load -T -s users "$tmp/broken"
run -c "$tmp/conf" --db "$tmp/broken" check --repair
expect_rc 1 "check --repair with a bad record"
has "$tmp/out" "user auth0|junk: the record does not parse" "bad record reported"
has "$tmp/out" "1 records unreadable" "repair leaves it out"

# --- backup while writes go on
cat >"$tmp/writer.sh" <<'EOF'
#!/bin/sh
# Patch users in a loop until killed, counting successful patches.  The
# count is replaced by rename, so a reader never sees it empty.
ctl=$1 db=$2 count=$3 i=0
while :; do
	i=$((i + 1))
	timeout 10 "$ctl" --db "$db" user patch "auth0|imp$(printf %06d $((i % 500 * 3 + 1)))" \
	    "{\"user_metadata\":{\"load\":$i}}" >/dev/null 2>&1 &&
	    echo "$i" >"$count.new" && mv "$count.new" "$count"
done
EOF
: >"$tmp/count"
sh "$tmp/writer.sh" "$ctl" "$db" "$tmp/count" &
bgpid=$!
# A concurrent import too: large write transactions.
timeout 60 "$ctl" --db "$db" import --upsert --batch 200 "$tmp/e1.ndjson" 2>"$tmp/imp.err" &
imppid=$!
waited=0
while [ ! -s "$tmp/count" ] && [ $waited -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
before=$(cat "$tmp/count")
run --db "$db" backup "$tmp/backup"
expect_rc 0 "backup during writes"
has "$tmp/err" "wrote .*/backup/data.mdb" "backup note"
sleep 0.5
after=$(cat "$tmp/count")
kill "$bgpid" 2>/dev/null
wait "$bgpid" 2>/dev/null
bgpid=
wait "$imppid"
imprc=$?
[ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] && ok ||
    bad "writes did not go on during the backup ($before -> $after)"
[ "$imprc" -eq 0 ] && ok || bad "concurrent import failed: $(cat "$tmp/imp.err")"
perm=$(stat -c %a "$tmp/backup/data.mdb")
[ "$perm" = 600 ] && ok || bad "backup mode $perm"
run -c "$tmp/conf" --db "$tmp/backup" check
expect_rc 0 "backup passes check"
run --db "$tmp/backup" stats
has "$tmp/out" "^users: *10006$" "backup holds every user"
run --db "$db" backup "$tmp/backup"
expect_rc 1 "backup over an existing one"
has "$tmp/err" "already exists" "backup refuses to overwrite"
run -c "$tmp/conf" --db "$db" check
expect_rc 0 "live store still clean after the load"

echo "rates (10000 users): import ${import_ms} ms ($((10000 * 1000 / (import_ms + 1))) users/s), export ${export_ms} ms ($((10000 * 1000 / (export_ms + 1))) users/s)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

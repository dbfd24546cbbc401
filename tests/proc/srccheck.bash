# srccheck.bash: what the tests of the source checks (test_check_layers.sh,
# test_check_params.sh) share: a temp dir removed on exit, the pass/fail
# counts, a fresh copy of src/ to plant a fault in, and one way to run the
# check.  The sourcing script sets top (the tree) and check (the script
# under test) first.
# shellcheck disable=SC2154,SC2034 # top and check come from the sourcing script, rc goes to it
tmp=$(mktemp -d /tmp/mk-srccheck.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# run ARGS...: the check with ARGS; output in $tmp/out, exit status in $rc.
run() {
	timeout 60 "$check" "$@" >"$tmp/out" 2>&1
	rc=$?
}

# copy_src: $tmp/src, a fresh copy of the tree's src/.
copy_src() {
	rm -rf "$tmp/src"
	cp -r "$top/src" "$tmp/src"
}

# summary: the count line scripts/test reads, and the exit status.
summary() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

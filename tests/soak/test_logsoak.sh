#!/bin/bash
# test_logsoak.sh BUILD_DIR: the event log stays bounded.  tests/soak/
# mklogsoak sends N logged PATCHes through api_handle on a real store with
# log_max_events 2000: each writes its record and its event, and the events
# past the cap are pruned in short transactions as requests go.  Passes when
# every PATCH succeeded, the events never passed the cap by more than one
# prune's lag, and data.mdb did not grow by more than a quarter between
# the middle and the end of the run (its size is printed).
# Writes: MK_LOGSOAK_N (default 20000; 1000000 with MK_TEST_LONG=1).
set -uo pipefail
b=${1:?usage: test_logsoak.sh BUILD_DIR}
n=${MK_LOGSOAK_N:-20000}
[ "${MK_TEST_LONG:-0}" = 1 ] && n=${MK_LOGSOAK_N:-1000000}
soak=$b/tests/soak/mklogsoak
[ -x "$soak" ] || { echo "no $soak (make)"; echo "0 passed, 1 failed"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/mk-logsoak.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
echo "# $n logged writes, log_max_events 2000"
if "$soak" -d "$dir/db" -n "$n" -m 2000 | sed 's/^/# /'; [ "${PIPESTATUS[0]}" = 0 ]; then
	echo "ok - the event log stays bounded over $n writes"
	echo "1 passed, 0 failed"
else
	echo "FAIL - the event log grew past its bounds, or a write failed"
	echo "0 passed, 1 failed"
	exit 1
fi

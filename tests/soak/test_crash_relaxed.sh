#!/bin/bash
# test_crash_relaxed.sh BUILD_DIR: test_crash.sh on a pool with
# --relaxed-sync, where group commit shares transactions but no syncs.
# Iterations: MK_CRASH_ITER (default 4; 100 with MK_TEST_LONG=1).
here=$(cd "$(dirname "$0")" && pwd)
iters=4
[ "${MK_TEST_LONG:-0}" = 1 ] && iters=100
MK_CRASH_SYNC=relaxed MK_CRASH_ITER=${MK_CRASH_ITER:-$iters} exec bash "$here/test_crash.sh" "$@"

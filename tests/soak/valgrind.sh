#!/bin/bash
# valgrind.sh BUILD_DIR: the unit suites and the process tests under
# valgrind memcheck; any report fails.  Prints "N passed, N failed".
#
#   unit   each tests/unit/test_* of BUILD_DIR (already built: make check
#          builds them), Criterion's forked test processes included
#   proc   tests/proc/*.sh against a shadow build directory whose
#          metakeepd and metakeepctl run under valgrind (workers are forked,
#          so memcheck follows them); one log per process, and a log with
#          an error in it is a failure.  Leaks are not counted for the
#          daemon: workers end by signal, by design without freeing.
#          MK_VG_PROC: a glob of the proc tests to run (default all).
#          The scripts see MK_VALGRIND=1: a check that measures the
#          allocator itself (a worker's RssAnon) is not made under
#          valgrind, whose malloc keeps freed blocks.
#
# The last lines before the counts name every failed suite ("# failed:
# ..."), so that the tail scripts/test shows of a failed run says which.
#
# Run it from make: `make valgrind` (builds what it needs first).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
b=$(cd "${1:?usage: valgrind.sh BUILD_DIR}" && pwd)
command -v valgrind >/dev/null || { echo "valgrind.sh: no valgrind (apt-get install valgrind)"; echo "0 passed, 1 failed"; exit 1; }
logs=$(mktemp -d "${TMPDIR:-/tmp}/metakeep-vg.XXXXXX")
# Workers run as another user when started as root: they write logs here too.
chmod 1777 "$logs"
passed=0 failed=0 failed_names=()
# --vgdb=no: no gdbserver pipes in /tmp (a worker that runs as another user
# cannot unlink them, and says so in the log).
VG=(valgrind -q --error-exitcode=99 --track-fds=no --vgdb=no)

# ---- unit suites (MK_VG_UNIT=0 skips them) ----
for t in "$b"/tests/unit/test_*; do
	[ "${MK_VG_UNIT:-1}" = 1 ] || break
	[ -x "$t" ] && [ ! -d "$t" ] || continue
	case $t in *.o|*.log|*.trs) continue ;; esac
	name=$(basename "$t")
	start=$(date +%s)
	timeout -k 10 900 "${VG[@]}" --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--log-file="$logs/unit-$name.%p" "$t" -j1 >"$logs/unit-$name.out" 2>&1
	rc=$?
	reports=$(cat "$logs"/unit-"$name".[0-9]* 2>/dev/null | grep -c '^==[0-9]*== [A-Z]')
	if [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]; then
		passed=$((passed + 1)); echo "ok - unit $name ($(($(date +%s) - start)) s)"
	else
		failed=$((failed + 1)); echo "FAIL - unit $name: exit $rc, $reports report lines"
		failed_names+=("unit $name")
		cat "$logs"/unit-"$name".[0-9]* 2>/dev/null | head -n 40 | sed 's/^/#   /'
		grep -E 'FAIL|CRASH' "$logs/unit-$name.out" | head -n 10 | sed 's/^/#   /'
	fi
done

# ---- process tests, with the daemon and the admin tool under valgrind ----
shadow=$logs/build
mkdir -p "$shadow"
for p in metakeepd metakeepctl; do
	cat >"$shadow/$p" <<EOW
#!/bin/sh
exec valgrind -q --error-exitcode=99 --vgdb=no --leak-check=no --log-file="$logs/vg-$p.%p" "$b/$p" "\$@"
EOW
	chmod 0755 "$shadow/$p"
done
# Everything else (tests/soak drivers, ...) from the real build.
for f in "$b"/*; do
	n=$(basename "$f")
	[ -e "$shadow/$n" ] || ln -s "$f" "$shadow/$n"
done
for s in "$top"/tests/proc/${MK_VG_PROC:-*}.sh; do
	[ -f "$s" ] || continue
	name=$(basename "$s" .sh)
	rm -f "$logs"/vg-*
	start=$(date +%s)
	# valgrind is slow to start: give the scripts more time (900 s here
	# instead of their own bound of 120-170 s, which MK_PROC_BOUNDED skips).
	MK_VALGRIND=1 MK_PROC_BOUNDED=1 timeout -k 10 900 "$s" "$shadow" \
		>"$logs/proc-$name.out" 2>&1 </dev/null
	rc=$?
	errs=$(cat "$logs"/vg-* 2>/dev/null | grep -c '^==[0-9]*== [A-Z]')
	if [ "$rc" -eq 0 ] && [ "$errs" -eq 0 ]; then
		passed=$((passed + 1)); echo "ok - proc $name under valgrind ($(($(date +%s) - start)) s)"
	else
		failed=$((failed + 1)); echo "FAIL - proc $name under valgrind: exit $rc, $errs report lines"
		failed_names+=("proc $name: $(grep -E '^(FAIL|not ok)' "$logs/proc-$name.out" | head -n 1)")
		cat "$logs"/vg-* 2>/dev/null | head -n 40 | sed 's/^/#   /'
		grep -E '^(FAIL|not ok)' "$logs/proc-$name.out" | head -n 10 | sed 's/^/#   /'
		cp "$logs/proc-$name.out" "$logs/kept-proc-$name.out"
	fi
done
if [ "$failed" -eq 0 ]; then rm -rf "$logs"; else echo "# logs kept in $logs"; fi
for n in "${failed_names[@]}"; do echo "# failed: $n"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

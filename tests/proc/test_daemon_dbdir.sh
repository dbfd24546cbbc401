#!/bin/bash
# test_daemon_dbdir: the database directory as root sees it (issue 11's
# blocker and issue 12 finding 7).
#
#  - metakeepd as root with --user hands the directory and its LMDB files
#    to the user without following links: a data.mdb that is a hard link to
#    root's file (planted by the directory's owner) makes it refuse to start,
#    with and without --group, and the other file keeps its owner, group and
#    mode; a symbolic link is left alone.
#  - a database directory the service user cannot reach (inside a 0700
#    directory) stops metakeepd at once, exit 78, with a message naming the
#    directory, the user and the missing permission; no worker is started.
#  - metakeepctl as root in a directory the service user owns leaves the
#    files it creates to that user, and the daemon serves with them.
#
# The root-only parts are skipped (and say so) when not run as root.
# usage: tests/proc/test_daemon_dbdir.sh BUILD_DIR   (bounded to 120 s)
# shellcheck disable=SC2015 # ok and bad always succeed: A && ok || bad is safe
if [ -z "${MK_PROC_BOUNDED:-}" ]; then
	MK_PROC_BOUNDED=1 exec timeout -k 5 120 bash "$0" "$@"
fi
# shellcheck source=tests/proc/daemon.bash
. "$(dirname "$0")/daemon.bash"

# owner_mode PATH: "user:group mode" of PATH itself.
owner_mode() { stat -c '%U:%G %a' "$1"; }

# refuses NAME LOG ARGS...: metakeepd with ARGS must exit 78 within 10 s.
refuses() {
	local name=$1 log=$2 pid
	shift 2
	"$mkd" -f --socket "$sock" -w 1 "$@" </dev/null >"$log" 2>&1 &
	pid=$!
	started+=("$pid")
	if wait_gone "$pid" 10; then
		wait "$pid"
		eq "$name: exit 78" "$?" 78
	else
		bad "$name: still running after 10 s"
		stop_daemon "$pid"
	fi
}

if [ "$(id -u)" != 0 ]; then
	echo "# not root: the ownership and reach checks need root; skipped"
	# As anyone: an unreachable directory is named before any worker.
	mkdir -m 0700 "$tmp/closed" && mkdir "$tmp/closed/x" && chmod 0 "$tmp/closed"
	refuses "unwritable directory" "$tmp/reach.log" -d "$tmp/closed/x/db"
	chmod 0700 "$tmp/closed"
	grep -q "cannot reach the database directory $tmp/closed/x/db: $tmp/closed (mode 0000" \
	    "$tmp/reach.log" && ok "message names the directory and the permission" ||
		bad "reach message: $(cat "$tmp/reach.log")"
	summary
	exit
fi

# new_victim NAME: a file of root's, mode 0600, as $victim; $before is its
# owner, group and mode.
new_victim() {
	victim=$tmp/victim-$1
	printf 'root only\n' >"$victim"
	chmod 0600 "$victim"
	before=$(owner_mode "$victim")
}

# --- a hard link planted as data.mdb: refused, the victim unchanged
for variant in user group; do
	d=$tmp/hl-$variant
	new_victim "$variant"
	mkdir "$d"
	chown nobody:nogroup "$d"
	ln "$victim" "$d/data.mdb"
	args=(-d "$d" --user nobody)
	[ "$variant" = group ] && args+=(--group nogroup)
	refuses "hard-linked data.mdb (--$variant)" "$tmp/hl-$variant.log" "${args[@]}"
	eq "hard link (--$variant): the linked file keeps owner, group and mode" \
	    "$(owner_mode "$victim")" "$before"
	grep -q "$d/data.mdb: has [0-9]* links" "$tmp/hl-$variant.log" &&
		ok "hard link (--$variant): the message says why" ||
		bad "hard link (--$variant) message: $(cat "$tmp/hl-$variant.log")"
done

# --- a symbolic link planted as lock.mdb: left alone (LMDB then opens it as
# nobody, who cannot: the workers fail, the victim stays root's)
d=$tmp/sl
new_victim sl
mkdir "$d"
chown nobody:nogroup "$d"
ln -s "$victim" "$d/lock.mdb"
refuses "symlinked lock.mdb (--group)" "$tmp/sl.log" -d "$d" --user nobody --group nogroup
eq "symbolic link: the target keeps owner, group and mode" "$(owner_mode "$victim")" "$before"

# --- a directory owned by some third account is not given away
d=$tmp/other
mkdir "$d"
chown daemon "$d"
refuses "directory of another account" "$tmp/other.log" -d "$d" --user nobody
eq "another account's directory keeps its owner" "$(stat -c %U "$d")" daemon

# --- the database directory out of nobody's reach: named at once
mkdir -m 0700 "$tmp/closed"
mkdir -p "$tmp/closed/var"
refuses "unreachable directory" "$tmp/reach.log" -d "$tmp/closed/var/db" --user nobody
grep -q "user nobody cannot reach the database directory $tmp/closed/var/db: $tmp/closed (mode 0700, owner root) gives it no search (x) permission" \
    "$tmp/reach.log" && ok "message names the directory, the user and the permission" ||
	bad "reach message: $(cat "$tmp/reach.log")"
grep -q "cannot open the store\|starting" "$tmp/reach.log" &&
	bad "a worker was started: $(cat "$tmp/reach.log")" || ok "no worker started"

# --- metakeepctl as root next to the service user's directory
d=$tmp/ctl
mkdir "$d"
chown nobody:nogroup "$d"
token=$("$ctl" -d "$d" token create --scope all 2>"$tmp/ctl.err")
eq "token create exits 0" "$?" 0
eq "data.mdb created by metakeepctl belongs to nobody" "$(stat -c %U:%G "$d/data.mdb")" nobody:nogroup
eq "lock.mdb created by metakeepctl belongs to nobody" "$(stat -c %U:%G "$d/lock.mdb")" nobody:nogroup
db=$d
if start_daemon -w 1; then
	fcgi GET '/api/v2/users?per_page=1' '' "Bearer $token"
	eq "the daemon serves with metakeepctl's token" "$status" 200
	# A second token, made while the daemon has the files open.
	t2=$("$ctl" -d "$d" token create --scope read:users 2>/dev/null)
	fcgi GET '/api/v2/users?per_page=1' '' "Bearer $t2"
	eq "a token made next to the running daemon works" "$status" 200
	eq "the files are still nobody's" "$(stat -c %U "$d/data.mdb" "$d/lock.mdb" | sort -u)" nobody
	stop_daemon "$mkd_pid"
else
	bad "metakeepd did not start on metakeepctl's files"
fi

summary

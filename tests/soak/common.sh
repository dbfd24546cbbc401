# shellcheck shell=bash
# common.sh: helpers shared by the tests in tests/soak/ (soak, crash,
# faults, full map).  Sourced after tests/integration/lib.sh, whose stack
# helpers, checks (pass, fail, assert_*) and summary they reuse.
#
#   soak_start_daemon ARGS...   start metakeepd on $MK_SOCK over $MK_DB with
#                               extra ARGS (and -c $MK_POOL_CONF when set, as
#                               start_stack's pool); sets MK_DAEMON_PID
#   soak_workers                print the pids of the master's workers
#   soak_kill_pool SIG          send SIG to the master and its workers at once
#   soak_env_check LABEL        mdb_stat clean, indexes as many as records,
#                               and metakeepctl check when it exists
#   soak_fill BYTES MAX         create users of BYTES of user_metadata each
#                               until one is refused 503, at most MAX; sets
#                               SOAK_CREATED (their ids) and SOAK_FULL (1
#                               when a 503 came); false on any other answer
#   soak_driver ARGS...         run tests/soak/mksoak against $MK_PORT with
#                               $TOKEN; sets SOAK_RESULT (its RESULT line)

soak_start_daemon()
{
	local conf=()
	[ -n "${MK_POOL_CONF:-}" ] && conf=(-c "$MK_POOL_CONF")
	mk_user_args
	"$MK_BUILD/metakeepd" "${conf[@]}" -d "$MK_DB" --socket "$MK_SOCK" -f "${MK_USER_ARGS[@]}" "$@" \
		</dev/null >>"$MK_TMP/metakeepd.log" 2>&1 &
	MK_DAEMON_PID=$!
	# A socket left by a killed pool exists already: wait for a worker.
	local n=150
	while [ "$n" -gt 0 ]; do
		if ! mk_alive "$MK_DAEMON_PID"; then
			echo "soak_start_daemon: metakeepd exited" >&2
			tail -n 20 "$MK_TMP/metakeepd.log" >&2
			return 1
		fi
		[ -S "$MK_SOCK" ] && [ -n "$(soak_workers)" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "soak_start_daemon: no worker after 15 s" >&2
	return 1
}

soak_fill()
{
	local blob i
	blob=$(head -c "$1" /dev/zero | tr '\0' 'x')
	SOAK_CREATED=()
	SOAK_FULL=0
	for i in $(seq 1 "$2"); do
		req POST /api/v2/users "{\"email\":\"fill$i@soak.example\",\"connection\":\"Username-Password-Authentication\",\"user_metadata\":{\"blob\":\"$blob\",\"i\":$i}}"
		case $STATUS in
		201) SOAK_CREATED+=("$(jqb -r .user_id)") ;;
		503) SOAK_FULL=1; return 0 ;;
		*) fail "create user $i: unexpected status $STATUS" "$BODY"; return 1 ;;
		esac
	done
}

soak_workers()
{
	[ -n "$MK_DAEMON_PID" ] || return 0
	ps -o pid= --ppid "$MK_DAEMON_PID" 2>/dev/null | tr -d ' '
}

soak_kill_pool()
{
	local sig=$1 pids
	# Freeze the master first, so it cannot fork a worker we would miss.
	kill -STOP "$MK_DAEMON_PID" 2>/dev/null
	# shellcheck disable=SC2046
	pids="$MK_DAEMON_PID $(soak_workers | tr '\n' ' ')"
	# shellcheck disable=SC2086
	kill -"$sig" $pids 2>/dev/null
	wait "$MK_DAEMON_PID" 2>/dev/null
	# Orphaned workers are children of init now: wait until they are gone.
	local n=100 p left
	while [ "$n" -gt 0 ]; do
		left=0
		for p in $pids; do
			kill -0 "$p" 2>/dev/null && left=1
		done
		[ "$left" = 0 ] && break
		sleep 0.05
		n=$((n - 1))
	done
	MK_DAEMON_PID=
}

# mdb_stat output of one table: the "Entries:" figure.
soak_entries()
{
	mdb_stat -s "$2" "$1" 2>/dev/null | sed -n 's/^ *Entries: *//p'
}

soak_env_check()
{
	local label=$1 out u ue uc uu c cc
	if out=$(mdb_stat -e "$MK_DB" 2>&1) && mdb_stat -a "$MK_DB" >/dev/null 2>&1; then
		pass "$label: mdb_stat reads every table"
	else
		fail "$label: mdb_stat reads every table" "$out"
	fi
	u=$(soak_entries "$MK_DB" users)
	ue=$(soak_entries "$MK_DB" users_email)
	uc=$(soak_entries "$MK_DB" users_created)
	uu=$(soak_entries "$MK_DB" users_updated)
	c=$(soak_entries "$MK_DB" clients)
	cc=$(soak_entries "$MK_DB" clients_created)
	if [ -n "$u" ] && [ "$u" = "$ue" ] && [ "$u" = "$uc" ] && [ "$u" = "$uu" ] &&
	    [ "${c:-0}" = "${cc:-0}" ]; then
		pass "$label: index entries match records ($u users, ${c:-0} clients)"
	else
		fail "$label: index entries match records" \
			"users $u email $ue created $uc updated $uu clients $c created $cc"
	fi
	if "$MK_BUILD/metakeepctl" check --help >/dev/null 2>&1; then
		if out=$("$MK_BUILD/metakeepctl" -d "$MK_DB" check 2>&1); then
			pass "$label: metakeepctl check"
		else
			fail "$label: metakeepctl check" "$(tail -n 5 <<<"$out")"
		fi
	fi
}

# soak_log_check LABEL: every write committed with its log event, and no
# event without its write (logev.h: both in one transaction).  A write and
# its event share their time (the record's updated_at is the event's date),
# so for every user the newest sapi event about it must be its create or
# an update dated its updated_at (a write without its event, or an event
# without its write, breaks that), and no user whose newest event is a
# create or an update may be missing (a lost create, or a delete without
# its event).  Needs jq; reads next to a running pool.
soak_log_check()
{
	local label=$1 ev us bad
	ev=$MK_TMP/logcheck.events us=$MK_TMP/logcheck.users
	"$MK_BUILD/metakeepctl" -d "$MK_DB" logs |
		jq -c 'select(.type == "sapi" and .user_id != null) |
			{u: .user_id, d: .description, t: .date, id: .log_id}' |
		jq -s -c 'group_by(.u) | map(max_by(.id)) | map({(.u): .}) | add // {}' >"$ev"
	"$MK_BUILD/metakeepctl" -d "$MK_DB" export --fields user_id,updated_at |
		jq -s -c 'map({(.user_id): .updated_at}) | add // {}' >"$us"
	bad=$(jq -n -r --slurpfile e "$ev" --slurpfile u "$us" '
		($e[0]) as $E | ($u[0]) as $U |
		([$U | to_entries[] | select(($E[.key] // null) == null or $E[.key].d == "Delete a User"
			or $E[.key].t != .value) | "user \(.key) updated_at \(.value): newest event \($E[.key])"]
		+ [$E | to_entries[] | select(.value.d != "Delete a User" and ($U[.key] // null) == null)
			| "no user \(.key), newest event \(.value)"]) | .[]' 2>&1 | head -n 5)
	if [ -z "$bad" ]; then
		pass "$label: every user's last write and its event agree ($(jq length "$us") users, $(jq length "$ev") with events)"
	else
		fail "$label: a write without its event or an event without its write" "$bad"
	fi
}

# soak_no_crash [SUFFIX]: no worker of the pool died under the load (the
# master logs each death); SUFFIX is added to the check's label.
soak_no_crash()
{
	if grep -q 'killed by signal\|exited with status' "$MK_TMP/metakeepd.log"; then
		fail "no worker crashed${1:-}" "$(grep 'killed by signal\|exited with status' "$MK_TMP/metakeepd.log" | head -n 3)"
	else
		pass "no worker crashed${1:-}"
	fi
}

soak_driver()
{
	local out=$MK_TMP/driver.out rc
	timeout -k 5 "${SOAK_DRIVER_TIMEOUT:-900}" "$MK_BUILD/tests/soak/mksoak" \
		-p "$MK_PORT" -t "$TOKEN" "$@" >"$out" 2>"$MK_TMP/driver.err"
	rc=$?
	SOAK_RESULT=$(grep '^RESULT' "$out" | tail -n 1)
	sed 's/^/#   /' "$MK_TMP/driver.err" | head -n 60
	return "$rc"
}

# soak_field NAME: a figure from the last RESULT line.
soak_field()
{
	sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $SOAK_RESULT"
}

#!/bin/bash
# test_daemon_signals: the master's supervision over real processes: a
# worker killed under load is replaced and requests keep being answered;
# SIGHUP replaces every worker, one at a time, without a failed request;
# --max-requests recycles workers; SIGTERM lets a request in flight finish,
# stops every process quickly when idle, and leaves nothing behind; SIGINT
# too; a worker that keeps dying young is respawned with a growing delay.
#
# usage: tests/proc/test_daemon_signals.sh BUILD_DIR   (bounded to 150 s)
# shellcheck disable=SC2015 # ok and bad always succeed: A && ok || bad is safe
if [ -z "${MK_PROC_BOUNDED:-}" ]; then
	MK_PROC_BOUNDED=1 exec timeout -k 5 150 bash "$0" "$@"
fi
# shellcheck source=tests/proc/daemon.bash
. "$(dirname "$0")/daemon.bash"

# background_load N OUT: load in the background; sets load_pid.
background_load() {
	rm -f "$2"
	load "$1" "$2" &
	load_pid=$!
}

# --- a worker killed under load
start_daemon -w 4
check "4 workers" wait_children "$mkd_pid" 4 10
before=$(children "$mkd_pid")
victim=$(echo "$before" | head -n 1)
background_load 60 "$tmp/kill"
sleep 0.2
kill -KILL "$victim"
check "killed worker replaced: 4 workers again" wait_children "$mkd_pid" 4 10
after=$(children "$mkd_pid")
if echo "$after" | grep -qx "$victim"; then bad "killed pid $victim still listed"; else
	ok "killed pid is gone"; fi
eq "3 of the old workers remain" "$(comm -12 <(echo "$before") <(echo "$after") | wc -l)" 3
wait "$load_pid"
# The one request the killed worker held may go unanswered; no other.
n401=$(grep -c '^401$' "$tmp/kill")
[ "$n401" -ge 59 ] && ok "requests kept succeeding ($n401 of 60)" ||
	bad "only $n401 of 60 requests answered during the kill"
fcgi GET /api/v2/users
eq "answers after the replacement" "$status" 401
alive "$mkd_pid" && ok "master survived" || bad "master died"

# --- SIGHUP: rolling restart
before=$(children "$mkd_pid")
background_load 80 "$tmp/hup"
sleep 0.1
kill -HUP "$mkd_pid"
n=150
while [ "$n" -gt 0 ]; do
	now=$(children "$mkd_pid")
	if [ "$(echo "$now" | wc -l)" -eq 4 ] &&
	    [ -z "$(comm -12 <(echo "$before") <(echo "$now"))" ]; then
		break
	fi
	sleep 0.1
	n=$((n - 1))
done
[ "$n" -gt 0 ] && ok "SIGHUP replaced all 4 workers" ||
	bad "SIGHUP: old workers left: $(comm -12 <(echo "$before") <(echo "$now") | tr '\n' ' ')"
wait "$load_pid"
eq "no request failed during the rolling restart" "$(grep -c '^401$' "$tmp/hup")" 80
grep -q "rolling restart" "$tmp/mkd.log" && ok "rolling restart logged" ||
	bad "no rolling restart in the log"

# --- SIGTERM with a request in flight: its body arrives after the signal
pipe=$tmp/slow
mkfifo "$pipe"
env -i REQUEST_METHOD=POST REQUEST_URI=/api/v2/users CONTENT_TYPE=application/json \
    CONTENT_LENGTH=2 timeout 20 "$cgifcgi" -bind -connect "$sock" \
    <"$pipe" >"$tmp/slow.out" 2>/dev/null &
slow_pid=$!
exec 7>"$pipe"         # the client now waits for its body
sleep 0.5
old=$(children "$mkd_pid")
t0=$(date +%s%N)
kill -TERM "$mkd_pid"
sleep 0.5
printf '{}' >&7        # the body, after SIGTERM
exec 7>&-
wait "$slow_pid"
eq "request in flight at SIGTERM is answered" \
    "$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$tmp/slow.out")" 401
check "master exits after SIGTERM" wait_gone "$mkd_pid" 12
t1=$(date +%s%N)
wait "$mkd_pid"
eq "exit status 0 after SIGTERM" "$?" 0
ms=$(((t1 - t0) / 1000000))
[ "$ms" -lt 5000 ] && ok "stopped in $ms ms (idle workers do not wait for SIGKILL)" ||
	bad "stop took $ms ms"
left=0
for p in $old; do alive "$p" && left=$((left + 1)); done
eq "no worker left after SIGTERM" "$left" 0
grep -q "killing them" "$tmp/mkd.log" && bad "workers needed SIGKILL" ||
	ok "no worker needed SIGKILL"
[ ! -e "$sock" ] && ok "socket removed" || bad "socket left behind"

# --- --max-requests: workers are recycled, requests keep being answered
mkd_log=$tmp/recycle.log
start_daemon -w 2 --max-requests 3
check "2 workers" wait_children "$mkd_pid" 2 10
before=$(children "$mkd_pid")
rm -f "$tmp/rec"
load 20 "$tmp/rec"
eq "20 requests answered across recycling" "$(grep -c '^401$' "$tmp/rec")" 20
check "2 workers after recycling" wait_children "$mkd_pid" 2 10
after=$(children "$mkd_pid")
# 20 requests, at most 3 each: at least one first-generation worker went.
gone=$(comm -23 <(echo "$before") <(echo "$after") | wc -l)
[ "$gone" -ge 1 ] && ok "recycled: $gone of the first workers replaced" ||
	bad "no worker was recycled"
grep -q "killed by signal\|exited with status" "$mkd_log" &&
	bad "a worker crashed: $(grep "killed by signal\|exited with status" "$mkd_log" | head -n 3)" ||
	ok "recycled workers exited cleanly"
stop_daemon "$mkd_pid"
eq "recycling daemon stops with 0" "$stop_rc" 0

# --- a worker that keeps dying young is respawned ever more slowly
# Each successor is killed as soon as it shows: found in /proc and killed
# with shell builtins only, since forking ps or sleep takes long on a loaded
# machine.  One seen after the master's "young" bound (1 s) all the same
# rightly resets the backoff: so the killing goes on (at most 12 kills)
# until the log shows 400 ms, and every delay logged must be 100 ms or
# twice the one before it.
mkd_log=$tmp/backoff.log
start_daemon -w 1
check "1 worker" wait_children "$mkd_pid" 1 10
kids=/proc/$mkd_pid/task/$mkd_pid/children
exec {nap}<> <(:)     # read -t on it: a 10 ms pause without a fork
read -ra w <"$kids"
for _ in $(seq 1 12); do
	[ "${#w[@]}" -gt 0 ] && kill -KILL "${w[0]}"
	grep -q "respawning in 400 ms" "$mkd_log" && break
	# Its successor (up to 5 s), to kill it young as well.
	n=500 next=()
	while [ "$n" -gt 0 ]; do
		read -ra now <"$kids"
		for p in "${now[@]}"; do
			[ "$p" != "${w[0]:-}" ] && next=("$p")
		done
		[ "${#next[@]}" -gt 0 ] && break
		read -r -t 0.01 -u "$nap" _
		n=$((n - 1))
	done
	w=("${next[@]}")
done
exec {nap}<&-
delays=$(sed -n 's/.*respawning in \([0-9]*\) ms.*/\1/p' "$mkd_log" | tr '\n' ' ')
for d in 100 200 400; do
	grep -q "respawning in $d ms" "$mkd_log" && ok "backoff $d ms" ||
		bad "no 'respawning in $d ms' in: $delays"
done
prev=0 rule=1
for d in $delays; do
	[ "$d" = 100 ] || [ "$d" = $((prev * 2)) ] || rule=0
	prev=$d
done
[ "$rule" = 1 ] && ok "each delay is 100 ms or twice the one before ($delays)" ||
	bad "delays do not double: $delays"
check "worker back after the backoff" wait_children "$mkd_pid" 1 10
fcgi GET /api/v2/users
eq "answers after the backoff" "$status" 401
stop_daemon "$mkd_pid"
eq "backoff daemon stops with 0" "$stop_rc" 0

# --- SIGINT (Ctrl-C) stops like SIGTERM
start_daemon -w 2
check "2 workers" wait_children "$mkd_pid" 2 10
old=$(children "$mkd_pid")
kill -INT "$mkd_pid"
check "SIGINT stops the master" wait_gone "$mkd_pid" 12
wait "$mkd_pid"
eq "exit status 0 after SIGINT" "$?" 0
left=0
for p in $old; do alive "$p" && left=$((left + 1)); done
eq "no worker left after SIGINT" "$left" 0

summary

#!/bin/bash
# test_daemon_serve: metakeepd's start-up and request path over real
# FastCGI: options and exit codes, the config file, root without --user,
# a pool of workers on a unix socket (401 without a token; with a token from
# metakeepctl a body makes the round trip, and an oversized one gets 413),
# TCP (--listen), a socket inherited on fd 0 (spawn-fcgi), plain CGI, the
# pid file, and a store that cannot open (exit 78, no respawn loop).
#
# usage: tests/proc/test_daemon_serve.sh BUILD_DIR   (bounded to 150 s)
# shellcheck disable=SC2015 # ok and bad always succeed: A && ok || bad is safe
if [ -z "${MK_PROC_BOUNDED:-}" ]; then
	MK_PROC_BOUNDED=1 exec timeout -k 5 150 bash "$0" "$@"
fi
# shellcheck source=tests/proc/daemon.bash
. "$(dirname "$0")/daemon.bash"

# --- options
"$mkd" --help >"$tmp/out" 2>&1
eq "--help exits 0" "$?" 0
for o in --config --db --socket --listen --workers --body-limit --map-size \
    --max-requests --relaxed-sync --user --pid-file --foreground --debug \
    --help --version; do
	grep -q -- "$o" "$tmp/out" || bad "--help does not list $o"
done
ok "--help lists every option"
eq "--version" "$("$mkd" --version)" "metakeepd 0.1.0"

for args in "--frob" "-w 0" "-w 257" "-w x" "--body-limit 12Q" \
    "--map-size 10" "--listen nohost" "--listen 127.0.0.1:0" \
    "--socket $run/a --listen 127.0.0.1:9" "extra"; do
	# shellcheck disable=SC2086 # word splitting wanted
	env -i "$mkd" -f -d "$db" $args </dev/null >/dev/null 2>"$tmp/err"
	eq "usage error '$args' exits 64" "$?" 64
done
# Nothing to listen on and no CGI environment: a usage error, not a hang.
env -i "$mkd" -f -d "$db" </dev/null >/dev/null 2>"$tmp/err"
eq "no socket, no CGI: exit 64" "$?" 64
grep -q -- "--socket" "$tmp/err" && ok "no socket: says what to give" ||
	bad "no socket message: $(cat "$tmp/err")"

# --- the config file: errors name file and line; the command line wins
printf '[metakeepd]\nworkers = 2\nbogus = 1\n' >"$tmp/bad.conf"
"$mkd" -c "$tmp/bad.conf" -f --socket "$sock" </dev/null >/dev/null 2>"$tmp/err"
eq "unknown key in config: exit 78" "$?" 78
grep -q "bad.conf:3: unknown key 'bogus'" "$tmp/err" && ok "config error names line 3" ||
	bad "config error message: $(cat "$tmp/err")"
printf '[metakeepd]\nworkers = many\n' >"$tmp/bad2.conf"
"$mkd" -c "$tmp/bad2.conf" -f --socket "$sock" </dev/null >/dev/null 2>"$tmp/err"
grep -q "bad2.conf:2: workers" "$tmp/err" && ok "bad value names line 2" ||
	bad "bad value message: $(cat "$tmp/err")"
"$mkd" -c "$tmp/none.conf" -f --socket "$sock" </dev/null >/dev/null 2>"$tmp/err"
eq "missing config file: exit 78" "$?" 78

# --- root without --user
if [ "$(id -u)" = 0 ]; then
	"$mkd" -f -d "$db" --socket "$sock" </dev/null >/dev/null 2>"$tmp/err"
	eq "root without --user: exit 78" "$?" 78
	grep -q "refusing to run as root" "$tmp/err" && ok "root refusal says why" ||
		bad "root refusal message: $(cat "$tmp/err")"
	[ ! -e "$sock" ] && ok "root refusal creates no socket" || bad "socket left behind"
	"$mkd" -f -d "$db" --socket "$sock" --user root </dev/null >/dev/null 2>"$tmp/err"
	eq "--user root: exit 78" "$?" 78
else
	echo "# not root: root refusal not tested"
fi

# --- a pool on a unix socket, the count of workers from the config file
printf '[metakeepd]\nworkers = 3\nbody_limit = 100000\n' >"$tmp/good.conf"
start_daemon -c "$tmp/good.conf" -w 4 --body-limit 2K --pid-file "$run/mk.pid"
check "4 workers (-w beats the file)" wait_children "$mkd_pid" 4 10
eq "socket mode 0660" "$(stat -c %a "$sock")" 660
eq "pid file holds the master's pid" "$(cat "$run/mk.pid" 2>/dev/null)" "$mkd_pid"
if [ "$(id -u)" = 0 ]; then
	eq "workers run as nobody" \
	    "$(ps -o user= -p "$(children "$mkd_pid" | head -n 1)" | tr -d ' ')" nobody
	eq "database dir owned by nobody" "$(stat -c %U "$db")" nobody
fi

fcgi GET /api/v2/users
eq "GET /api/v2/users without a token: 401" "$status" 401
eq "401 body as the spec says" "$body" "$UNAUTH"
eq "Content-Type" "$ctype" "application/json; charset=utf-8"
fcgi GET "/api/v2/users?page=0&per_page=5" "" "Bearer not-a-token"
eq "unknown token: 401" "$status" 401

token=
if [ -x "$ctl" ]; then
	token=$("$ctl" -d "$db" token create --scope all 2>"$tmp/err")
fi
if [ -n "$token" ]; then
	fcgi POST /api/v2/users \
	    '{"email":"Proc.Test@example.com","connection":"Username-Password-Authentication","user_metadata":{"hobby":"surfing","n":[1,2,3]}}' \
	    "Bearer $token"
	eq "POST a user through FastCGI: 201" "$status" 201
	id=$(printf %s "$body" | sed -n 's/.*"user_id":"\([^"]*\)".*/\1/p')
	[ -n "$id" ] && ok "the created user has an id" || bad "no user_id in: $body"
	fcgi GET "/api/v2/users/${id/|/%7C}" "" "Bearer $token"
	eq "GET it back: 200" "$status" 200
	case $body in
	*'"user_metadata":{"hobby":"surfing","n":[1,2,3]}'*) ok "the body made the round trip" ;;
	*) bad "user_metadata lost: $body" ;;
	esac
	big=$(head -c 3000 /dev/zero | tr '\0' a)
	fcgi POST /api/v2/users "{\"email\":\"x@example.com\",\"name\":\"$big\"}" "Bearer $token"
	eq "a body over --body-limit: 413" "$status" 413
	case $body in *payload_too_large*) ok "413 body names payload_too_large" ;;
	*) bad "413 body: $body" ;; esac
	fcgi GET /api/v2/users "" "Bearer $token"
	eq "the worker answers after a 413" "$status" 200
	# The body limit itself (rule: a body of exactly body_limit bytes is
	# let through, one byte more is 413): a small user padded with trailing
	# blanks (JSON whitespace) to exactly 2048 bytes (--body-limit 2K), then
	# to 2049.
	j='{"email":"at-limit@example.com","connection":"Username-Password-Authentication"}'
	fcgi POST /api/v2/users "$j$(printf "%$((2048 - ${#j}))s" '')" "Bearer $token"
	eq "body limit: exactly body_limit (2048) bytes accepted" "$status" 201
	j='{"email":"over-limit@example.com","connection":"Username-Password-Authentication"}'
	fcgi POST /api/v2/users "$j$(printf "%$((2049 - ${#j}))s" '')" "Bearer $token"
	eq "body limit: body_limit + 1 (2049) bytes refused with 413" "$status" 413
	case $body in *'larger than 2048 bytes'*) ok "413 names the limit" ;;
	*) bad "413 body: $body" ;; esac
	fcgi GET "/api/v2/users-by-email?email=over-limit%40example.com" "" "Bearer $token"
	eq "body limit: nothing stored from the refused body" "$body" "[]"
else
	echo "# no token from $ctl: body round trip not tested"
	bad "metakeepctl token create failed: $(cat "$tmp/err" 2>/dev/null)"
fi

# Parallel requests: every one answered.
rm -f "$tmp/par"
loaders=()
for _ in 1 2 3 4 5 6 7 8; do
	load 5 "$tmp/par" &
	loaders+=($!)
done
wait "${loaders[@]}"  # not a bare wait: the daemon is a child too
eq "40 parallel requests all answered 401" "$(grep -c '^401$' "$tmp/par")" 40

stop_daemon "$mkd_pid"
eq "SIGTERM: exit 0" "$stop_rc" 0
[ ! -e "$run/mk.pid" ] && ok "pid file removed at exit" || bad "pid file left behind"

# --- at start, data.mdb's cached pages are read back as 4 KiB pages
# (pagecache.h): the store holds users now, so there is something to read.
start_daemon -w 1
check "restarted on the same store" wait_children "$mkd_pid" 1 10
grep -q "page cache: [1-9][0-9]* of data.mdb's [1-9][0-9]* pages were cached, read back as 4 KiB pages" \
    "$mkd_log" && ok "start logs the page cache read back" ||
	bad "no page cache line: $(grep 'page cache' "$mkd_log")"
stop_daemon "$mkd_pid"
[ ! -e "$sock" ] && ok "socket removed at exit" || bad "socket left behind"

# --- TCP
port=
for _ in 1 2 3 4 5; do
	p=$((20000 + RANDOM % 40000))
	"$mkd" -f -d "$db" --listen "127.0.0.1:$p" -w 2 "${userargs[@]}" \
		</dev/null >>"$tmp/mkd.log" 2>&1 &
	tcp_pid=$!
	started+=("$tcp_pid")
	if wait_children "$tcp_pid" 2 5; then port=$p; break; fi
	stop_daemon "$tcp_pid"
done
if [ -n "$port" ]; then
	fcgi GET /api/v2/users "" "" "" "127.0.0.1:$port"
	eq "--listen 127.0.0.1:PORT answers 401" "$status" 401
	stop_daemon "$tcp_pid"
	eq "TCP daemon stops with 0" "$stop_rc" 0
else
	bad "--listen: no daemon came up"
fi

# --- a listening socket inherited on fd 0 (spawn-fcgi -n execs metakeepd)
if command -v spawn-fcgi >/dev/null; then
	rm -f "$sock"
	spawn-fcgi -n -s "$sock" -M 0660 -- "$mkd" -f -d "$db" -w 3 "${userargs[@]}" \
		</dev/null >>"$tmp/mkd.log" 2>&1 &
	inh_pid=$!
	started+=("$inh_pid")
	check "inherited socket: 3 workers" wait_children "$inh_pid" 3 10
	fcgi GET /api/v2/users
	eq "inherited socket answers 401" "$status" 401
	stop_daemon "$inh_pid"
	eq "inherited mode stops with 0" "$stop_rc" 0
else
	echo "# spawn-fcgi not installed: inherited socket not tested"
fi

# --- plain CGI: one request from the environment and stdin, then exit
env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REQUEST_URI=/api/v2/users \
    timeout 10 "$mkd" -d "$db" "${userargs[@]}" </dev/null >"$tmp/cgi.out" 2>"$tmp/cgi.err"
eq "CGI: exit 0" "$?" 0
eq "CGI: Status 401" "$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$tmp/cgi.out")" 401
eq "CGI: 401 body" "$(sed '1,/^\r$/d' "$tmp/cgi.out")" "$UNAUTH"
if [ -n "$token" ]; then
	b='{"email":"cgi@example.com","connection":"Username-Password-Authentication","app_metadata":{"plan":"gold"}}'
	printf %s "$b" | env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
	    REQUEST_URI=/api/v2/users CONTENT_TYPE=application/json \
	    CONTENT_LENGTH=${#b} HTTP_AUTHORIZATION="Bearer $token" \
	    timeout 10 "$mkd" -d "$db" "${userargs[@]}" >"$tmp/cgi.out" 2>"$tmp/cgi.err"
	eq "CGI POST with a body on stdin: 201" \
	    "$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$tmp/cgi.out")" 201
	grep -q '"app_metadata":{"plan":"gold"}' "$tmp/cgi.out" && ok "CGI body stored" ||
		bad "CGI POST answer: $(cat "$tmp/cgi.out" "$tmp/cgi.err")"
fi

# --- a store that cannot open: the worker exits 78, the master stops with 78
# (data.mdb is a directory: LMDB cannot open it; found only in the workers)
mkdir -p "$tmp/baddb/data.mdb"
"$mkd" -f -d "$tmp/baddb" --socket "$sock" -w 2 "${userargs[@]}" \
	</dev/null >"$tmp/bad.log" 2>&1 &
bad_pid=$!
started+=("$bad_pid")
if wait_gone "$bad_pid" 10; then
	wait "$bad_pid"
	eq "unusable database: master exits 78" "$?" 78
else
	bad "unusable database: master still running after 10 s"
fi
grep -q "fatal configuration" "$tmp/bad.log" && ok "fatal config is logged" ||
	bad "no fatal message: $(tail -n 5 "$tmp/bad.log")"
# At most one worker start per slot: no respawn loop.
n=$(grep -c "cannot open the store" "$tmp/bad.log")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] && ok "no respawn loop ($n store failures)" ||
	bad "store failures logged $n times"

summary

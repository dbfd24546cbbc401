# shellcheck shell=bash disable=SC2034  # MK_USER_ARGS, MK_PORT, MK_TLS_PORT are results for the caller
# lib.sh: shell functions shared by scripts/run, scripts/test and the
# integration tests (tests/integration/lib.sh): bootstrap and build, render
# the web server configurations in etc/ (mk_render), and bring up lighttpd,
# nginx or Apache in front of metakeepd (mk_start_httpd; scripts/run uses
# mk_start_lighttpd).  Sourced, not run.  Every function
# either succeeds or prints why on stderr and returns non-zero; none exits,
# and each is safe under set -e (scripts/run uses it).
#
# Processes are only ever stopped by the pid we recorded when starting them.

# The repository root, from this file's own location.
MK_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# mk_bootstrap: generate ./configure when it is missing (a fresh clone).
# Later changes to configure.ac or Makefile.am are picked up by the rebuild
# rules automake puts into every generated Makefile.
mk_bootstrap()
{
	[ -x "$MK_TOP/configure" ] && return 0
	echo "== autoreconf -fi" >&2
	(cd "$MK_TOP" && autoreconf -fi) || return 1
}

# mk_build DIR [CONFIGURE_ARGS...]: configure (out of tree, in DIR under the
# repository root) when DIR has no Makefile or was configured with other
# arguments or before Criterion was installed (scripts/run installs less
# than scripts/test, and both share ./build), then make.  Extra make
# arguments come from $MK_MAKE_TARGETS.
mk_build()
{
	local dir=$MK_TOP/$1 want crit=no
	shift
	pkg-config --exists criterion 2>/dev/null && crit=yes
	want="$* (criterion: $crit)"
	mkdir -p "$dir" || return 1
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.mk-configure-args" 2>/dev/null)" != "$want" ]; then
		echo "== configure $* (in ${dir#"$MK_TOP"/})" >&2
		(cd "$dir" && "$MK_TOP/configure" -q "$@") || return 1
		printf '%s' "$want" > "$dir/.mk-configure-args"
	fi
	echo "== make (in ${dir#"$MK_TOP"/})" >&2
	# shellcheck disable=SC2086
	make -C "$dir" -s -j"$(nproc)" ${MK_MAKE_TARGETS:-} || return 1
}

# mk_user_args: set the array MK_USER_ARGS to the options metakeepd needs to
# run as the current user.  metakeepd refuses to keep root's rights, so as
# root it gets --user $MK_USER (default nobody); it then chowns its database
# directory and socket to that user itself.
mk_user_args()
{
	MK_USER_ARGS=()
	if [ "$(id -u)" -eq 0 ]; then
		MK_USER_ARGS=(--user "${MK_USER:-nobody}")
	fi
}

# mk_free_port: print a TCP port on 127.0.0.1 that nothing listens on now.
# Someone may take it before we bind; callers retry on a failed bind.
mk_free_port()
{
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		# A refused connection means the port is free.
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "mk_free_port: no free port found" >&2
	return 1
}

# mk_render TEMPLATE OUT NAME=VALUE...: copy TEMPLATE (a path under the
# repository root, e.g. etc/nginx.conf) to OUT with every @NAME@ replaced by
# its VALUE.  Fails when a placeholder is left over.  Values must not hold
# a newline; any other character is taken literally.
mk_render()
{
	local tpl=$MK_TOP/$1 out=$2 kv name val
	shift 2
	cp "$tpl" "$out.tmp" || return 1
	for kv in "$@"; do
		name=${kv%%=*}
		val=${kv#*=}
		# Escape what sed's replacement would read specially.
		val=$(printf '%s' "$val" | sed -e 's/[\\|&]/\\&/g')
		sed -i -e "s|@$name@|$val|g" "$out.tmp" || return 1
	done
	mv "$out.tmp" "$out" || return 1
	if grep -n '@[A-Z_]*@' "$out" >&2; then
		echo "mk_render: unfilled placeholder in $out (from $1)" >&2
		return 1
	fi
}

# mk_tls_cert DIR: a self-signed certificate for https on this machine,
# DIR/cert.pem (0644) and its key DIR/key.pem (0600), made with openssl once
# and kept while it is still valid for a day: subjectAltName IP:127.0.0.1
# and DNS:localhost (what clients check), CN localhost, an EC P-256 key,
# valid 825 days (the most Apple's clients accept).  Clients trust it by
# naming DIR/cert.pem: curl --cacert, NODE_EXTRA_CA_CERTS, Python's
# REQUESTS_CA_BUNDLE.  A real certificate replaces the two files (the web
# server's configuration names them; see README "Behind a web server").
mk_tls_cert()
{
	local dir=$1
	if [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] &&
	    openssl x509 -in "$dir/cert.pem" -noout -checkend 86400 >/dev/null 2>&1; then
		return 0
	fi
	command -v openssl >/dev/null || {
		echo "mk_tls_cert: no openssl (scripts/deps)" >&2
		return 1
	}
	mkdir -p "$dir" || return 1
	(umask 077 && openssl req -x509 -new -nodes -days 825 \
	    -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -keyout "$dir/key.pem.new" -out "$dir/cert.pem.new" \
	    -subj "/CN=localhost/O=metakeep (self-signed, for this machine)" \
	    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	    -addext "extendedKeyUsage=serverAuth" >/dev/null 2>"$dir/openssl.log") || {
		cat "$dir/openssl.log" >&2
		echo "mk_tls_cert: openssl could not make a certificate in $dir" >&2
		return 1
	}
	chmod 0644 "$dir/cert.pem.new"
	mv "$dir/key.pem.new" "$dir/key.pem" && mv "$dir/cert.pem.new" "$dir/cert.pem" &&
	    rm -f "$dir/openssl.log"
}

# mk_npm_ci SRC DEST: the npm packages of the JavaScript tests in SRC (a
# directory under the repository root with package.json and
# package-lock.json, e.g. tests/sdk) installed into DEST (a build
# directory: node_modules never lands in the source tree) with npm ci,
# exactly as the lockfile pins them.  Skipped when DEST already holds the
# packages of that very lockfile (its sha256 in DEST/node_modules/.mk-lock).
# Needs node and npm (scripts/deps test) and, the first time, the npm
# registry.
mk_npm_ci()
{
	local src=$MK_TOP/$1 dest=$2 sum
	if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
		echo "mk_npm_ci: no node or npm (scripts/deps test)" >&2
		return 1
	fi
	mkdir -p "$dest" || return 1
	cp "$src/package.json" "$src/package-lock.json" "$dest/" || return 1
	sum=$(sha256sum < "$src/package-lock.json")
	[ "$(cat "$dest/node_modules/.mk-lock" 2>/dev/null)" = "$sum" ] && return 0
	echo "== npm ci (in $dest)" >&2
	(cd "$dest" && timeout -k 10 600 npm ci --no-audit --no-fund --loglevel=error) >&2 || {
		echo "mk_npm_ci: npm ci failed in $dest" >&2
		return 1
	}
	printf '%s\n' "$sum" > "$dest/node_modules/.mk-lock"
}

# mk_webroot RUNDIR: what the web server configurations serve besides the
# API, copied below RUNDIR (so that a web server running as another user
# can read them, whatever the checkout's modes): the front page
# RUNDIR/www/index.html (etc/www) with the contract as
# RUNDIR/www/docs/api.md (@DOCROOT@), and the JSON error bodies
# RUNDIR/errors/NNN.json with lighttpd's lighttpd.lua (etc/errors,
# @ERRORS@).
mk_webroot()
{
	local run=$1
	mkdir -p "$run/www/docs" "$run/errors" || return 1
	cp "$MK_TOP/etc/www/index.html" "$run/www/" &&
	    cp "$MK_TOP/docs/api.md" "$run/www/docs/" &&
	    cp "$MK_TOP"/etc/errors/*.json "$MK_TOP/etc/errors/lighttpd.lua" "$run/errors/" &&
	    chmod -R a+rX "$run/www" "$run/errors"
}

# mk_render_lighttpd OUT PORT TLS_PORT TLS_DIR SOCKET RUNDIR LOGDIR [PREFIX]:
# write a lighttpd config from etc/lighttpd.conf, listening on
# 127.0.0.1:PORT (http) and 127.0.0.1:TLS_PORT (https, with TLS_DIR's
# cert.pem and key.pem, see mk_tls_cert), with its pid file and upload dir
# in RUNDIR, the front page and error bodies below RUNDIR (mk_webroot), its
# error log in LOGDIR, and the API also under PREFIX (default /mk; /admin/
# is the admin page).
mk_render_lighttpd()
{
	local out=$1 port=$2 tport=$3 tls=$4 sock=$5 run=$6 log=$7 prefix=${8:-/mk}
	mkdir -p "$log" || return 1
	mk_webroot "$run" || return 1
	mk_render etc/lighttpd.conf "$out" BIND=127.0.0.1 PORT="$port" \
	    TLS_PORT="$tport" TLS_CERT="$tls/cert.pem" TLS_KEY="$tls/key.pem" \
	    SOCKET="$sock" DOCROOT="$run/www" ERRORS="$run/errors" RUNDIR="$run" \
	    LOGDIR="$log" PREFIX="$prefix"
}

# mk_alive PID: the process exists and has not exited.  A child of this
# shell that exited stays a zombie until waited for, and kill -0 succeeds on
# a zombie, hence the look at its state.
mk_alive()
{
	kill -0 "$1" 2>/dev/null || return 1
	[ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

# mk_wait_socket PATH PID SECONDS: wait until PATH is a socket, while the
# process PID lives.
mk_wait_socket()
{
	local path=$1 pid=$2 n=$(($3 * 10))
	while [ "$n" -gt 0 ]; do
		[ -S "$path" ] && return 0
		if ! mk_alive "$pid"; then
			echo "mk_wait_socket: process $pid exited before $path appeared" >&2
			return 1
		fi
		sleep 0.1
		n=$((n - 1))
	done
	echo "mk_wait_socket: $path did not appear" >&2
	return 1
}

# mk_wait_port PORT PID SECONDS: wait until 127.0.0.1:PORT accepts
# connections, while the process PID lives.
mk_wait_port()
{
	local port=$1 pid=$2 n=$(($3 * 10))
	while [ "$n" -gt 0 ]; do
		if ! mk_alive "$pid"; then
			echo "mk_wait_port: process $pid exited" >&2
			return 1
		fi
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
		n=$((n - 1))
	done
	echo "mk_wait_port: nothing listens on $port" >&2
	return 1
}

# mk_stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 10) for it
# to go, then SIGKILL.  Only for processes this shell started.
mk_stop_pid()
{
	local pid=$1 n=$((${2:-10} * 10))
	[ -n "$pid" ] || return 0
	if mk_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		while [ "$n" -gt 0 ] && mk_alive "$pid"; do
			sleep 0.1
			n=$((n - 1))
		done
		if mk_alive "$pid"; then
			echo "mk_stop_pid: $pid did not stop on SIGTERM, killing" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

# mk_start_lighttpd CONF_OUT SOCKET RUNDIR LOGDIR TLS_DIR [PORT TLS_PORT]:
# render a config and start lighttpd -D in the background on PORT (http)
# and TLS_PORT (https with TLS_DIR's certificate, see mk_tls_cert), or on
# two free ports (retried when the bind loses a race).  Sets
# MK_LIGHTTPD_PID, MK_PORT and MK_TLS_PORT.
mk_start_lighttpd()
{
	local conf=$1 sock=$2 run=$3 log=$4 tls=$5 want=${6:-} twant=${7:-} port tport p
	for _ in 1 2 3 4 5; do
		if [ -n "$want" ]; then
			port=$want tport=$twant
			for p in "$port" "$tport"; do
				if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
					echo "mk_start_lighttpd: 127.0.0.1:$p is already in use (set PORT and TLS_PORT)" >&2
					return 1
				fi
			done
		else
			port=$(mk_free_port) && tport=$(mk_free_port) || return 1
			[ "$port" != "$tport" ] || continue
		fi
		mk_render_lighttpd "$conf" "$port" "$tport" "$tls" "$sock" "$run" "$log" || return 1
		lighttpd -tt -f "$conf" >/dev/null || {
			echo "mk_start_lighttpd: lighttpd rejects $conf" >&2
			return 1
		}
		lighttpd -D -f "$conf" </dev/null >>"$log/lighttpd-stderr.log" 2>&1 &
		MK_LIGHTTPD_PID=$!
		if mk_wait_port "$port" "$MK_LIGHTTPD_PID" 10 2>/dev/null &&
		    mk_wait_port "$tport" "$MK_LIGHTTPD_PID" 10 2>/dev/null; then
			MK_PORT=$port
			MK_TLS_PORT=$tport
			return 0
		fi
		mk_stop_pid "$MK_LIGHTTPD_PID" 2
		MK_LIGHTTPD_PID=
		[ -n "$want" ] && break
	done
	echo "mk_start_lighttpd: lighttpd did not come up; see $log/lighttpd-error.log" >&2
	tail -n 5 "$log/lighttpd-error.log" "$log/lighttpd-stderr.log" >&2 2>/dev/null
	return 1
}

# mk_httpd_user: print "USER GROUP" for a web server's workers: nobody and
# its group when we are root (never root itself), else ourselves (the
# servers ignore the setting then).
mk_httpd_user()
{
	if [ "$(id -u)" -eq 0 ]; then
		echo "${MK_USER:-nobody} $(id -gn "${MK_USER:-nobody}")"
	else
		echo "$(id -un) $(id -gn)"
	fi
}

# mk_start_httpd KIND TEMPLATE CONF_OUT RUNDIR LOGDIR [NAME=VALUE...]:
# render TEMPLATE (see mk_render) with BIND=127.0.0.1, PORT and TLS_PORT
# (two free ports, retried when the bind loses a race), TLS_CERT and TLS_KEY
# (a self-signed certificate made into RUNDIR/tls, see mk_tls_cert), RUNDIR,
# LOGDIR, DOCROOT=RUNDIR/www and ERRORS=RUNDIR/errors (mk_webroot), USER,
# GROUP (mk_httpd_user), MODULES (Apache's) and the given values, edit it
# with the sed(1) script $MK_HTTPD_SED when that is set (tests shorten
# timeouts this way), then check and start the web server KIND (lighttpd,
# nginx or apache) in the foreground of a background job, with its own pid
# file in RUNDIR.  Sets MK_HTTPD_PID, MK_PORT (http) and MK_TLS_PORT
# (https).  Stop it with mk_stop_pid.
mk_start_httpd()
{
	local kind=$1 tpl=$2 conf=$3 run=$4 log=$5 port tport ug elog
	shift 5
	ug=$(mk_httpd_user)
	mkdir -p "$log" || return 1
	mk_webroot "$run" || return 1
	mk_tls_cert "$run/tls" || return 1
	case $kind in
	lighttpd) elog=$log/lighttpd-error.log ;;
	nginx)    elog=$log/nginx-error.log
		  mkdir -p "$run/client_body" "$run/fastcgi" "$run/proxy" "$run/uwsgi" "$run/scgi" ;;
	apache)   elog=$log/apache-error.log ;;
	*) echo "mk_start_httpd: unknown web server $kind" >&2; return 1 ;;
	esac
	command -v "$( [ "$kind" = apache ] && echo apache2 || echo "$kind")" >/dev/null || {
		echo "mk_start_httpd: $kind is not installed (scripts/deps)" >&2
		return 1
	}
	MK_HTTPD_PID=
	for _ in 1 2 3 4 5; do
		port=$(mk_free_port) && tport=$(mk_free_port) || return 1
		[ "$port" != "$tport" ] || continue
		mk_render "$tpl" "$conf" BIND=127.0.0.1 PORT="$port" TLS_PORT="$tport" \
		    TLS_CERT="$run/tls/cert.pem" TLS_KEY="$run/tls/key.pem" RUNDIR="$run" \
		    LOGDIR="$log" DOCROOT="$run/www" ERRORS="$run/errors" \
		    USER="${ug% *}" GROUP="${ug#* }" \
		    MODULES=/usr/lib/apache2/modules "$@" || return 1
		if [ -n "${MK_HTTPD_SED:-}" ]; then
			sed -i -e "$MK_HTTPD_SED" "$conf" || return 1
		fi
		case $kind in
		lighttpd)
			lighttpd -tt -f "$conf" >/dev/null || {
				echo "mk_start_httpd: lighttpd rejects $conf" >&2; return 1; }
			lighttpd -D -f "$conf" </dev/null >>"$log/lighttpd-stderr.log" 2>&1 &
			;;
		nginx)
			nginx -t -q -p "$run" -e "$elog" -c "$conf" || {
				echo "mk_start_httpd: nginx rejects $conf" >&2; return 1; }
			nginx -p "$run" -e "$elog" -c "$conf" -g 'daemon off;' \
			    </dev/null >>"$log/nginx-stderr.log" 2>&1 &
			;;
		apache)
			apache2 -t -f "$conf" >/dev/null 2>"$log/apache-check.log" || {
				cat "$log/apache-check.log" >&2
				echo "mk_start_httpd: apache2 rejects $conf" >&2; return 1; }
			# -k start with its own PidFile; FOREGROUND keeps the
			# parent our child, so its pid is the one we wait for.
			# A session of its own: prefork signals its whole
			# process group when it stops, which would be ours.
			setsid apache2 -f "$conf" -k start -DFOREGROUND \
			    </dev/null >>"$log/apache-stderr.log" 2>&1 &
			;;
		esac
		MK_HTTPD_PID=$!
		if mk_wait_port "$port" "$MK_HTTPD_PID" 10 2>/dev/null &&
		    mk_wait_port "$tport" "$MK_HTTPD_PID" 10 2>/dev/null; then
			MK_PORT=$port
			MK_TLS_PORT=$tport
			return 0
		fi
		mk_stop_pid "$MK_HTTPD_PID" 2
		MK_HTTPD_PID=
	done
	echo "mk_start_httpd: $kind did not come up; see $elog" >&2
	tail -n 5 "$elog" "$log/$kind-stderr.log" >&2 2>/dev/null
	return 1
}

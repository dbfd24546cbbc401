#!/bin/bash
# test_check_layers: scripts/check-layers passes on the real src/, and on
# copies of it with an include planted it fails when (and only when) the
# include runs upward, naming the file, the line, the include and both
# layers; a file in no layer fails too.
#
# usage: tests/proc/test_check_layers.sh [BUILD_DIR]   (the build is not used)
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
check=$top/scripts/check-layers
# shellcheck source=tests/proc/srccheck.bash
. "$top/tests/proc/srccheck.bash"

# plant FILE TEXT: a copy of src/ in $tmp/src with TEXT added as a line
# after FILE's first quoted include (or at its end); LINE is its number.
plant() {
	copy_src
	local f=$tmp/src/$1 n
	n=$(grep -n '^#include "' "$f" | head -n 1 | cut -d: -f1)
	if [ -n "$n" ]; then
		sed -i "${n}a $2" "$f"
		LINE=$((n + 1))
	else
		echo "$2" >>"$f"
		LINE=$(wc -l <"$f")
	fi
}

# includes: the count of checked includes in check-layers' summary.
includes() { sed -n 's/^check-layers: [0-9]* files, \([0-9]*\) includes.*/\1/p' "$tmp/out"; }

# --- the real tree
run "$top/src"
base=$(includes)
if [ "$rc" -eq 0 ] && grep -q '^check-layers: [0-9]* files, [0-9]* includes of src/ headers, all downward$' "$tmp/out"; then
	ok "src/ passes"
else
	bad "src/ does not pass (exit $rc): $(cat "$tmp/out")"
fi

# upward FILE INCLUDE WANT: planting INCLUDE in FILE fails with WANT
# (the message after "FILE:LINE: ").
upward() {
	plant "$1" "#include \"$2\""
	run "$tmp/src"
	local want="$tmp/src/$1:$LINE: #include \"$2\": $3"
	if [ "$rc" -eq 1 ] && grep -qxF "$want" "$tmp/out" &&
	    [ "$(grep -c ': #include ' "$tmp/out")" -eq 1 ]; then
		ok "$1 including $2 is refused"
	else
		bad "$1 including $2: exit $rc, want 1 and '$want'; got: $(cat "$tmp/out")"
	fi
}

# downward FILE INCLUDE: planting INCLUDE in FILE still passes.
downward() {
	plant "$1" "#include \"$2\""
	run "$tmp/src"
	if [ "$rc" -eq 0 ]; then
		ok "$1 may include $2"
	else
		bad "$1 including $2: exit $rc, want 0: $(cat "$tmp/out")"
	fi
}

upward store.h api.h "store (layer store) includes api (layer api, higher)"
upward svc.h api.h "svc (layer store) includes api (layer api, higher)"
upward jx.h model.h "jx (layer base) includes model (layer model, higher)"
upward meta.c sindex.h "meta (layer model) includes sindex (layer store, higher)"
upward api_users.c worker.h "api_users (layer api) includes worker (layer daemon, higher)"
upward conf.c ctl/ctl.h "conf (layer daemon) includes ctl/ctl (layer ctl, higher)"
# Within one layer, either way.
downward err.h buf.h
downward buf.h err.h
downward sindex.h svc.h
downward ctl/check.c api.h
downward api.c svc.h
downward worker.c model.h
# Next to the file first, as the compiler looks: ctl/x.c's "ctl.h" is
# ctl/ctl.h, checked (one more include counted), not skipped as unknown.
downward ctl/stats.c ctl.h
if [ "$(includes)" = $((base + 1)) ]; then
	ok "an include next to the file is found and checked"
else
	bad "ctl/stats.c's \"ctl.h\" was not checked: $(tail -n 1 "$tmp/out") (src/: $base)"
fi

# --- a file no layer names
copy_src
printf '#include "err.h"\n' >"$tmp/src/newmod.c"
run "$tmp/src"
if [ "$rc" -eq 1 ] && grep -qxF "$tmp/src/newmod.c: module newmod is in no layer: add it to LAYERS in scripts/check-layers" "$tmp/out"; then
	ok "a file in no layer is refused"
else
	bad "newmod.c: exit $rc: $(cat "$tmp/out")"
fi

# --- the summary names the order
plant store.h '#include "api.h"'
run "$tmp/src"
# (each layer's first modules; later modules join the lists)
if grep -q '^check-layers: 1 include(s) or file(s) break the layer order (lowest first: base: err buf util log jx[a-z_ ]*; model: meta model query[a-z_ ]*; store:' "$tmp/out"; then
	ok "the summary names the layer order"
else
	bad "summary: $(tail -n 1 "$tmp/out")"
fi

summary

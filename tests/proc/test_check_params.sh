#!/bin/bash
# test_check_params: scripts/check-params passes on the real src/, and on
# copies of it with a function planted it fails when (and only when) the
# function takes more than 5 parameters and no comment before it, or
# before its declaration, gives its count with a reason, naming the file,
# the line, the function and its count.
#
# usage: tests/proc/test_check_params.sh [BUILD_DIR]   (the build is not used)
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
check=$top/scripts/check-params
# shellcheck source=tests/proc/srccheck.bash
. "$top/tests/proc/srccheck.bash"

# plant FILE TEXT: a copy of src/ in $tmp/src with TEXT (printf's %b: \n,
# \t) added at FILE's end; LINE is the number of the line where TEXT's
# last function or typedef starts (the line check-params names).
plant() {
	copy_src
	local from=$(($(wc -l <"$tmp/src/$1") + 1))
	printf '%b\n' "$2" >>"$tmp/src/$1"
	LINE=$(awk -v from="$from" 'FNR >= from && /^(static int|typedef)/ { n = FNR } END { print n }' "$tmp/src/$1")
}

# over N: the count of functions over 5 parameters in the summary.
over() { sed -n 's/^check-params: [0-9]* files, [0-9]* functions, \([0-9]*\) over 5 parameters, each with its reason$/\1/p' "$tmp/out"; }

# --- the real tree
run "$top/src"
base=$(over)
if [ "$rc" -eq 0 ] && [ -n "$base" ]; then
	ok "src/ passes ($base functions over 5 parameters, each with its reason)"
else
	bad "src/ does not pass (exit $rc): $(cat "$tmp/out")"
fi

# refused FILE TEXT NAME N WHAT: planting TEXT fails, naming NAME (N
# parameters) at the planted line, and nothing else.
refused() {
	plant "$1" "$2"
	run "$tmp/src"
	local want="$tmp/src/$1:$LINE: $3: $4 parameters, and no comment says why"
	if [ "$rc" -eq 1 ] && grep -qF "$want" "$tmp/out" &&
	    [ "$(grep -c 'parameters, and no comment says why' "$tmp/out")" -eq 1 ] &&
	    grep -q "^check-params: 1 of $((base + 1)) function(s) over 5 parameters give no reason$" "$tmp/out"; then
		ok "$5 is refused"
	else
		bad "$5: exit $rc, want 1 and '$want'; got: $(cat "$tmp/out")"
	fi
}

# passes FILE TEXT ADDED WHAT: planting TEXT passes, with ADDED more
# functions over 5 parameters than src/ has.
passes() {
	plant "$1" "$2"
	run "$tmp/src"
	if [ "$rc" -eq 0 ] && [ "$(over)" = $((base + $3)) ]; then
		ok "$4 passes"
	else
		bad "$4: exit $rc, want 0 and $((base + $3)) over 5: $(cat "$tmp/out")"
	fi
}

six='static int\nplanted(int a, int b, int c, int d, int e, int f)\n{\n\treturn a + b + c + d + e + f;\n}'
refused util.c "$six" planted 6 "a 6-parameter function without a comment"
refused util.c "/* Adds them up. */\n$six" planted 6 "a 6-parameter function whose comment gives no reason"
refused ctl/stats.c "/* Six parameters for nothing. */\n$six" planted 6 \
	"a comment with the count but no ':' or ','"
refused util.c "/* Seven parameters: they are one sum. */\n$six" planted 6 \
	"a reason with another count (7 for 6)"
refused store.c "typedef int (*planted_fn)(void *ctx, int a, int b,\n    int c, int d, const char *(*name)(int, int));" planted_fn 6 \
	"a function-pointer typedef over 5 (a parameter that is itself a function counted once)"
# A comment inside the function before does not stand before the next.
refused util.c "static int\nbefore(void)\n{\n\t/* Six parameters: not this one's. */\n\treturn 0;\n}\n$six" planted 6 \
	"a reason inside the function before"
passes util.c "/* Six parameters: they are one sum. */\n$six" 1 "a reason in words"
passes util.c "/*\n * Adds them up.  6\n * parameters, each a term.\n */\n$six" 1 "a reason in digits, over two lines"
passes util.c "static int\nfive(int a, int b, int c, int d, const char *(*e)(int, int, int))\n{\n\treturn a + b + c + d + (e != NULL);\n}" 0 \
	"5 parameters, one a function pointer"
passes util.c "static int\nnone(void)\n{\n\treturn 0;\n}" 0 "(void)"

# The reason before the declaration in a header is enough, and a comment
# stands before every declaration up to the next function body.
copy_src
printf '/* Six parameters: they are one sum. */\nint planted_a(int a, int b, int c, int d, int e, int f);\nint planted_b(int a, int b, int c, int d, int e, int f);\n' >>"$tmp/src/util.h"
printf 'int\nplanted_a(int a, int b, int c, int d, int e, int f)\n{\n\treturn a + b + c + d + e + f;\n}\n\nint\nplanted_b(int a, int b, int c, int d, int e, int f)\n{\n\treturn a;\n}\n' >>"$tmp/src/util.c"
run "$tmp/src"
if [ "$rc" -eq 0 ] && [ "$(over)" = $((base + 2)) ]; then
	ok "a reason before the declarations in a header"
else
	bad "header reason: exit $rc: $(cat "$tmp/out")"
fi

# --- a reason taken away from src/: jwt_sign's (jwt.h)
copy_src
sed -i 's/  Six parameters:$/  Six things:/' "$tmp/src/jwt.h"
if cmp -s "$top/src/jwt.h" "$tmp/src/jwt.h"; then
	bad "jwt.h: its reason was not found to take away"
else
	run "$tmp/src"
	if [ "$rc" -eq 1 ] && grep -q "^$tmp/src/jwt.c:[0-9]*: jwt_sign: 6 parameters, and no comment says why" "$tmp/out"; then
		ok "jwt_sign without its reason is refused"
	else
		bad "jwt_sign without its reason: exit $rc: $(cat "$tmp/out")"
	fi
fi

# --- --list: every function over 5 with its reason's sentence
run --list "$top/src"
if [ "$rc" -eq 0 ] && [ "$(grep -c '^/.*: [a-z_]* ([0-9]*): ' "$tmp/out")" = "$base" ] &&
    grep -qF "jwt_sign (6): Six parameters: payload and n are one byte range." "$tmp/out"; then
	ok "--list gives each one's reason"
else
	bad "--list: exit $rc: $(cat "$tmp/out")"
fi

summary

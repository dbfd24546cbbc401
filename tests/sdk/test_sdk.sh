#!/bin/bash
# test_sdk.sh BUILD_DIR: Auth0's official Node SDK against metakeep, through
# lighttpd over https (tests/integration/lib.sh's set-up, MK_STACK=lighttpd,
# with its self-signed certificate trusted through NODE_EXTRA_CA_CERTS:
# no NODE_TLS_REJECT_UNAUTHORIZED=0, no fetch override, the SDK unchanged).
# The SDK is the npm package auth0 as package-lock.json pins it, installed
# with npm ci into BUILD_DIR/tests/sdk (mk_npm_ci); sdk.test.mjs runs there
# under node's own test runner (node --test), and its TAP counts become the
# last line "N passed, N failed".
#
# usage: tests/sdk/test_sdk.sh BUILD_DIR   (bounded to 280 s; npm ci, the
# first time, needs the npm registry)
if [ -z "${MK_SDK_BOUNDED:-}" ]; then
	MK_SDK_BOUNDED=1 exec timeout -k 5 280 bash "$0" "$@"
fi
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC2034  # read by lib.sh: always lighttpd here
MK_STACK=lighttpd
# shellcheck source=../integration/lib.sh
. "$here/../integration/lib.sh"
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd) || exit 2

# The packages first: without them there is nothing to run.
dest=$build/tests/sdk
if ! mk_npm_ci tests/sdk "$dest"; then
	echo "0 passed, 1 failed"
	exit 1
fi
cp "$here"/*.test.mjs "$dest/" || exit 2
echo "# node $(node --version), auth0 $(cd "$dest" && node -p 'require("./node_modules/auth0/package.json").version')"

start_stack "$build" || { echo "0 passed, 1 failed"; exit 1; }

# The operator's first token: sdk.test.mjs makes its machine clients and
# grants with it, then works through client credentials only.
if ! admin=$(make_token all 2>/dev/null); then
	echo "0 passed, 1 failed"
	exit 1
fi

# node --test: TAP on stdout, kept in a log for the counts.
log=$MK_TMP/node-test.tap
(cd "$dest" && env -u NODE_TLS_REJECT_UNAUTHORIZED \
	NODE_EXTRA_CA_CERTS="$MK_CA" MK_SDK_DOMAIN="127.0.0.1:$MK_TLS_PORT" \
	MK_SDK_ADMIN_TOKEN="$admin" \
	timeout -k 5 180 node --test --test-reporter=tap ./*.test.mjs) > "$log" 2>&1
rc=$?
cat "$log"
PASSED=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
FAILED=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$log" | tail -n 1)
PASSED=${PASSED:-0}
FAILED=$((${FAILED:-0} + ${cancelled:-0}))
# No counts, or a run that failed without a failing test, is a failure.
if [ "$rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
	echo "# node --test exited $rc"
	FAILED=1
fi
[ "$PASSED" -gt 0 ] || FAILED=$((FAILED + 1))
summary

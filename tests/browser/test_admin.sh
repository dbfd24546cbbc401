#!/bin/bash
# test_admin.sh BUILD_DIR: the admin page in a real browser (issue 17):
# metakeepd behind lighttpd (tests/integration/lib.sh's start_stack), some
# users, a client and a read-only token, then admin.test.js: Debian's
# chromium driven by playwright-core, one launch, with axe-core on every
# page.  Screenshots of each page at 1280x800 and 390x844 go to docs/admin/
# in CI (CI=true: a fresh clone) and with MK_SHOTS=docs/admin (to refresh
# the committed ones), else to BUILD_DIR/tests/browser/shots, so that a test
# run leaves a working tree as it was.  The npm packages (package-lock.json) are installed
# once into BUILD_DIR/tests/browser with npm ci, never into the source tree.
# Prints "N passed, N failed" last.  Needs chromium, node and npm
# (scripts/deps test).
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
export MK_STACK=lighttpd
# shellcheck source=tests/integration/lib.sh
. "$here/../integration/lib.sh"

[ -x /usr/bin/chromium ] || { echo "test_admin: no /usr/bin/chromium (scripts/deps test)"; echo "0 passed, 1 failed"; exit 1; }
dest=$build/tests/browser
mk_npm_ci tests/browser "$dest" || { echo "0 passed, 1 failed"; exit 1; }

start_stack "$build" || { echo "0 passed, 1 failed"; exit 1; }

CONN=Username-Password-Authentication
req POST /api/v2/users '{"email":"ada@example.com","connection":"'$CONN'","name":"Ada Admin","given_name":"Ada","user_metadata":{"theme":"dark","lang":"en"}}'
assert_status 201 "create the user to edit"
USER_ID=$(jq -r .user_id <<<"$BODY")
for i in $(seq -w 1 29); do
	req POST /api/v2/users '{"email":"user'"$i"'@example.com","connection":"'$CONN'","name":"User '"$i"'","app_metadata":{"plan":"free"}}'
	[ "$STATUS" = 201 ] || fail "create user$i"
done
req POST /api/v2/clients '{"name":"Example Web App","app_type":"regular_web","description":"The shop front","client_metadata":{"team":"web"}}'
assert_status 201 "create a client"
RO_TOKEN=$(make_token read:users 2>/dev/null)
# shellcheck disable=SC2153 # MK_TOP: set by scripts/lib.sh
if [ -n "${MK_SHOTS:-}" ]; then
	shots=$(cd "$MK_TOP" && mkdir -p "$MK_SHOTS" && cd "$MK_SHOTS" && pwd)
elif [ "${CI:-}" = true ]; then
	shots=$MK_TOP/docs/admin
else
	shots=$dest/shots
fi
echo "# screenshots into $shots"

BASE=$BASE TOKEN=$TOKEN RO_TOKEN=$RO_TOKEN USER_ID=$USER_ID \
SHOTS=$shots NODE_PATH=$dest/node_modules \
	timeout -k 10 300 node "$here/admin.test.js" > "$MK_TMP/browser.log" 2>&1
rc=$?
sed '$d' "$MK_TMP/browser.log"
read -r bp bf _ < <(tail -n 1 "$MK_TMP/browser.log" | awk '/passed, .* failed/ { print $1, $3 }')
PASSED=$((PASSED + ${bp:-0}))
FAILED=$((FAILED + ${bf:-1}))
[ "$rc" -eq 0 ] || [ "${bf:-1}" -gt 0 ] || FAILED=$((FAILED + 1))
summary

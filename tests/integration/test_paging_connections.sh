#!/bin/bash
# test_paging_connections.sh BUILD_DIR: paging of GET /api/v2/connections
# through the web server of $MK_STACK (issue 19): with five connections
# configured, each page of per_page 1, 2 and 3 is exactly its slice of the
# full list (pages do not overlap and together make it), include_totals
# says start, limit and total, the bare array is the same slice, and a page
# past the end is empty.  The set-ups where the web server starts
# metakeepd itself (lighttpd-spawn, apache-fcgid, apache-cgi) do not read
# MK_POOL_CONF: there the list is the default connection alone, and the
# slices are checked on it.
set -u
. "$(dirname "$0")/lib.sh"

conf=$(mktemp "${TMPDIR:-/tmp}/metakeep-conns.XXXXXX")
printf '[metakeepd]\nconnections = Username-Password-Authentication, alpha, bravo, charlie, delta\n' >"$conf"
chmod 0644 "$conf"
MK_POOL_CONF=$conf
start_stack "${1:?usage: $0 BUILD_DIR}" || { rm -f "$conf"; echo "0 passed, 1 failed"; exit 1; }
rm -f "$conf"    # read at start

case $MK_STACK in
lighttpd|nginx|nginx-tcp|apache-proxy) want=5 ;;
*) want=1 ;;
esac
req GET "/api/v2/connections?per_page=100&include_totals=true"
assert_status 200 "connections: the full list"
assert_json '.total' "$want" "connections: $want configured, $want listed"
full=$(jq -c '[.connections[].name]' <<<"$BODY")
assert_json '.connections | length' "$want" "connections: every one on one page"
for pp in 1 2 3; do
	pages=$(((want + pp - 1) / pp))
	for ((p = 0; p <= pages; p++)); do
		slice=$(jq -c --argjson s $((p * pp)) --argjson n "$pp" '.[$s:$s+$n]' <<<"$full")
		req GET "/api/v2/connections?per_page=$pp&page=$p&include_totals=true"
		assert_json '[.connections[].name]' "$slice" \
			"connections: per_page=$pp page=$p is its slice of the full list"
		assert_json '{start,limit,total}' \
			"{\"start\":$((p * pp)),\"limit\":$pp,\"total\":$want}" \
			"connections: per_page=$pp page=$p start, limit and total"
		req GET "/api/v2/connections?per_page=$pp&page=$p"
		assert_json '[.[].name]' "$slice" "connections: per_page=$pp page=$p, bare array"
	done
done
summary

#!/bin/bash
# admin_list.sh [BUILD_DIR] [USERS]: the admin page's users list on a store
# of USERS users (default 100000): builds bench/admin_list, fills a
# temporary store with metakeepctl import (a generated ndjson file: email,
# name, a little user_metadata and app_metadata each), then runs
# bench/admin_list on it, which times GET /admin/users (first page, by
# email, page 100, the last page, a search) through admin_handle: the
# server's own time for the request, signed in as a real session.  Run it
# under flock /work/bench.lock when others benchmark on the same machine.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
b=$(cd "${1:-$top/build}" && pwd)
users=${2:-100000}
make -C "$b" -s bench/admin_list metakeepctl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mk-admin-list.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
awk -v n="$users" 'BEGIN {
	for (i = 1; i <= n; i++)
		printf "{\"email\":\"u%d@example.com\",\"name\":\"User %d\",\"connection\":\"Username-Password-Authentication\",\"user_metadata\":{\"theme\":\"%s\",\"lang\":\"en\"},\"app_metadata\":{\"plan\":\"%s\"}}\n", i, i, (i % 2 ? "dark" : "light"), (i % 3 ? "free" : "pro")
}' > "$tmp/users.ndjson"
start=$(date +%s)
"$b/metakeepctl" -d "$tmp/db" import --batch 5000 "$tmp/users.ndjson" >/dev/null
echo "imported $users users in $(( $(date +%s) - start )) s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$b/bench/admin_list" -d "$tmp/db" -n "${MK_BENCH_N:-50}"

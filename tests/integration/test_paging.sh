#!/bin/bash
# test_paging.sh BUILD_DIR: every list pages right, through the web server
# of $MK_STACK (see lib.sh) and metakeepd.  The rule checked for each list
# (users, users by q search, users sorted by email descending, clients,
# clients filtered by app_type): walked a page at a time with per_page 2
# and 3, the pages do not overlap and together are the full list in its
# order; each page's start is page * per_page, limit is per_page, length
# what is left, total the full count; a page past the end is empty with the
# same total; the bare array (no include_totals) is the same page.  The full
# lists are checked against what was created, so a wrong total or filter
# cannot hide.
set -u
. "$(dirname "$0")/lib.sh"

start_stack "${1:?usage: $0 BUILD_DIR}" || { echo "0 passed, 1 failed"; exit 1; }

CONN=Username-Password-Authentication
N=5

# ---- the records: 5 users (odd ones in team red), 5 clients (odd ones spa)

UIDS=() RED=() CIDS=() SPA=()
for i in $(seq 1 $N); do
	team=blue; [ $((i % 2)) = 1 ] && team=red
	req POST /api/v2/users "{\"email\":\"page$i@example.com\",\"connection\":\"$CONN\",
		\"user_metadata\":{\"team\":\"$team\"}}"
	assert_status 201 "create user $i"
	id=$(jq -r .user_id <<<"$BODY")
	UIDS+=("$id")
	[ $team = red ] && RED+=("$id")
	app=native; [ $((i % 2)) = 1 ] && app=spa
	req POST /api/v2/clients "{\"name\":\"Paging $i\",\"app_type\":\"$app\"}"
	assert_status 201 "create client $i"
	id=$(jq -r .client_id <<<"$BODY")
	CIDS+=("$id")
	[ $app = spa ] && SPA+=("$id")
done

# json_ids ID...: the ids as a JSON array.
json_ids()
{
	printf '%s\n' "$@" | jq -R . | jq -sc .
}

# check_paging LABEL PATH LISTKEY IDKEY WANT: PATH (with its query string,
# or none) listed whole must be WANT (a JSON array of ids); then walked with
# per_page 2 and 3 up to the first page past the end: each page must be its
# slice of WANT (so the pages do not overlap and together are the full
# list) with start, limit, total (and length, which users have and clients
# do not) right.  The bare array is checked for per_page 2.
check_paging()
{
	local label=$1 path=$2 key=$3 idk=$4 want=$5 sep=? pp page total shape
	case $path in *\?*) sep='&' ;; esac
	shape='{start,limit,total}'
	[ "$key" = users ] && shape='{start,limit,length,total}'
	req GET "$path${sep}include_totals=true&per_page=100"
	assert_status 200 "$label: the full list"
	total=$(jq length <<<"$want")
	assert_json "[.$key[].$idk], .total" "$want $total" \
		"$label: the full list and its total are what was created, in order"
	for pp in 2 3; do
		for page in $(seq 0 $(((total + pp - 1) / pp))); do
			req GET "$path${sep}include_totals=true&per_page=$pp&page=$page"
			assert_json "$shape + {ids: [.$key[].$idk]}" "$(jq -c --argjson p "$page" \
				--argjson n "$pp" --arg key "$key" '(length) as $t | ($p * $n) as $s |
				.[$s:$s + $n] as $ids | {start: $s, limit: $n, total: $t, ids: $ids} +
				(if $key == "users" then {length: ($ids | length)} else {} end)' <<<"$want")" \
				"$label: per_page=$pp page=$page: the page is its slice of the full list (pages do not overlap, together the full list), start/limit/total right"
			[ "$pp" = 2 ] || continue
			req GET "$path${sep}per_page=$pp&page=$page"
			assert_json "[.[].$idk]" "$(jq -c --argjson s $((page * pp)) '.[$s:$s + 2]' <<<"$want")" \
				"$label: per_page=$pp page=$page: the bare array is the same slice"
		done
	done
}

check_paging "users" /api/v2/users users user_id "$(json_ids "${UIDS[@]}")"
check_paging "users q=user_metadata.team:red" "/api/v2/users?q=user_metadata.team%3Ared" \
	users user_id "$(json_ids "${RED[@]}")"
DESC=()
for ((i = N - 1; i >= 0; i--)); do DESC+=("${UIDS[$i]}"); done
check_paging "users sort=email:-1" "/api/v2/users?sort=email%3A-1" users user_id \
	"$(json_ids "${DESC[@]}")"
check_paging "clients" /api/v2/clients clients client_id "$(json_ids "${CIDS[@]}")"
check_paging "clients app_type=spa" "/api/v2/clients?app_type=spa" clients client_id \
	"$(json_ids "${SPA[@]}")"

summary

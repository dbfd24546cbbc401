-- wrk.lua: the requests of one bench/run scenario, chosen by environment
-- variables (wrk passes none of its own to a script):
--   BENCH_MODE   get | email | patch | post | list
--   BENCH_USERS  how many users bench/load wrote (ids are computed, see load.c)
--   BENCH_TOKEN  bearer token
--   BENCH_NONCE  makes POSTed emails unique across runs on one database
-- done() prints one line for bench/run to parse:
--   BENCH <requests/s> <p50 ms> <p99 ms> <non-2xx> <socket errors> <requests>

local mode = os.getenv("BENCH_MODE") or "get"
local users = tonumber(os.getenv("BENCH_USERS") or "10000")
local token = os.getenv("BENCH_TOKEN") or ""
local nonce = os.getenv("BENCH_NONCE") or "0"

local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end

local hdr, jhdr
local counter = 0

function init(args)
	math.randomseed(os.time() * 1000 + (tid or 0))
	hdr = { ["Authorization"] = "Bearer " .. token }
	jhdr = { ["Authorization"] = "Bearer " .. token,
		["Content-Type"] = "application/json" }
end

-- The id of user i, as bench/load made it: hex8(h) three times, where
-- h = i * 2654435761 mod 2^32 (exact in a double for i < 2^21).
local function uid(i)
	local h = (i * 2654435761) % 4294967296
	local hex = string.format("%04x%04x", math.floor(h / 65536), h % 65536)
	return "auth0%7C" .. hex .. hex .. hex
end

local function rnd_user()
	return math.random(0, users - 1)
end

-- PATCH one root key of user_metadata, with a value of its usual type.
local patches = {
	function(r) return '{"theme":"' .. ({ "dark", "light", "system" })[r % 3 + 1] .. '"}' end,
	function(r) return '{"language":"' .. ({ "en", "de", "fr" })[r % 3 + 1] .. '"}' end,
	function(r) return '{"timezone":"UTC"}' end,
	function(r) return '{"newsletter":' .. (r % 2 == 0 and "true" or "false") .. '}' end,
	function(r) return '{"plan":"' .. ({ "free", "pro", "team" })[r % 3 + 1] .. '"}' end,
	function(r) return '{"score":' .. r .. '}' end,
	function(r) return '{"address":{"street":"' .. r .. ' Elm Street"}}' end,
	function(r) return '{"tags":["alpha","t' .. r .. '"]}' end,
}

function request()
	if mode == "get" then
		return wrk.format("GET", "/api/v2/users/" .. uid(rnd_user()), hdr)
	elseif mode == "email" then
		return wrk.format("GET", "/api/v2/users-by-email?email=u" .. rnd_user() ..
			"%40example.com", hdr)
	elseif mode == "list" then
		return wrk.format("GET", "/api/v2/users?per_page=50&page=" ..
			math.random(0, math.min(19, math.floor(users / 50) - 1)), hdr)
	elseif mode == "patch" then
		local r = math.random(0, 99999)
		local body = '{"user_metadata":' .. patches[r % #patches + 1](r) .. '}'
		return wrk.format("PATCH", "/api/v2/users/" .. uid(rnd_user()), jhdr, body)
	elseif mode == "post" then
		counter = counter + 1
		local body = '{"email":"p' .. nonce .. '-' .. tid .. '-' .. counter ..
			'@bench.example","connection":"Username-Password-Authentication",' ..
			'"user_metadata":{"theme":"dark","language":"en","timezone":"UTC",' ..
			'"newsletter":true,"plan":"free","score":' .. counter .. ',' ..
			'"address":{"street":"1 Main Street","city":"Springfield","zip":"12345",' ..
			'"country":"US"},"tags":["alpha","beta","gamma"]},' ..
			'"app_metadata":{"roles":["user"],"tier":1,"customer_id":"cus_0000000001",' ..
			'"flags":{"beta":false,"mfa":false}}}'
		return wrk.format("POST", "/api/v2/users", jhdr, body)
	end
	return wrk.format("GET", "/", hdr)
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("BENCH %.1f %.3f %.3f %d %d %d\n",
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		e.status, e.connect + e.read + e.write + e.timeout, summary.requests))
end

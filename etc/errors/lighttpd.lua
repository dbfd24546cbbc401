-- lighttpd.lua: lighttpd's own error answers in the API's language.
--
-- lighttpd (mod_magnet, magnet.attract-response-start-to) runs this at the
-- start of every response.  An error lighttpd made up itself (a body over
-- server.max-request-size, metakeepd not reachable or too slow, header
-- fields too large, a path outside the API) is an HTML page; this replaces
-- it with the JSON body in NNN.json next to this file (the same files nginx
-- and Apache send) and adds Retry-After to a 503.  metakeepd's own errors
-- are already JSON and pass untouched, headers and all.
--
-- Errors: a status with no NNN.json next to this file keeps lighttpd's
-- page (and a line in lighttpd's error log); a failure here makes lighttpd
-- log the Lua error and send the response as it was.

local r = lighty.r
local status = r.req_item.http_status
if status < 400 then
	return 0
end
local ct = r.resp_header["Content-Type"]
if ct ~= nil and string.sub(ct, 1, 16) == "application/json" then
	return 0
end
-- The admin page (/admin/, HTML) answers its errors with its own pages:
-- a form shown again with the mistake marked is a 400, a conflict a 409.
local path = r.req_attr["uri.path"] or ""
if ct ~= nil and string.sub(ct, 1, 9) == "text/html" and
    (string.match(path, "/admin/") or string.match(path, "/admin$")) then
	return 0
end

-- The directory of this script, where the NNN.json files are.
local dir = string.match(debug.getinfo(1, "S").source, "^@?(.*/)") or "./"
local file = dir .. string.format("%d.json", status)
local f = io.open(file, "r")
if f == nil then
	print("lighttpd.lua: no " .. file .. "; lighttpd's own page is sent")
	return 0
end
f:close()

r.resp_body.set({ { filename = file } })
r.resp_header["Content-Type"] = "application/json; charset=utf-8"
if status == 503 then
	r.resp_header["Retry-After"] = "5"
end
-- Returning the status marks the new body complete (lighttpd then sends
-- its Content-Length); resp_body.set left it open.
return status

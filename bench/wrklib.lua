-- What bench's wrk scripts (get.lua, orders.lua, flash.lua) share. Each
-- loads it from its own directory:
--   local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrklib.lua")
local M = {}

-- wrk's threads in the order setup() saw them; each gets "tid" 1, 2, ...
-- (wrk calls the global setup: a script sets setup = lib.setup).
M.threads = {}
function M.setup(thread)
	table.insert(M.threads, thread)
	thread:set("tid", #M.threads)
end

-- The non-empty lines of a file.
function M.lines(path)
	local t = {}
	local f = assert(io.open(path, "r"), "cannot open " .. path)
	for l in f:lines() do
		if l ~= "" then
			table.insert(t, l)
		end
	end
	f:close()
	return t
end

-- "409:3,503:1" of a table status -> count.
function M.by_status(by)
	local parts = {}
	for s, c in pairs(by) do
		table.insert(parts, s .. ":" .. c)
	end
	return table.concat(parts, ",")
end

return M

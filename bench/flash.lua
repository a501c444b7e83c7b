-- wrk script: the flash sale. Every buyer of TOKENSFILE places exactly one
-- order (POST /api/v1/orders, one line: PRODUCT x 1, own Idempotency-Key),
-- all racing for the same product.
--
--   wrk -tT -cC -dD --timeout D -s bench/flash.lua URL -- TOKENSFILE PRODUCT TAG DONEDIR T [START]
--
-- Thread t of T owns the buyers t, t+T, t+2T, ... (each buyer exactly once).
-- wrk runs by duration and asks for a request whenever a connection is free,
-- so the script holds the sending back through delay(), which wrk calls
-- before every request of every connection (also its first): a connection
-- gets a slot (delay 0) while the thread has buyers that were neither sent
-- nor promised to another connection, and is parked otherwise (a delay of an
-- hour: nothing is sent). The opening burst is one request per connection,
-- held back until START (Unix time in ms, CLOCK_REALTIME; default: at once) so
-- that both threads' connections fire together: wrk starts a thread while
-- it still loads the next one's script.
-- wrk also calls request() once in the first thread's state before the run,
-- only to parse it (script_verify_request): that call comes without a slot
-- and is not counted. A parked connection sends nothing, so wrk's
-- latency histogram holds exactly the real requests, each timed by wrk on
-- the client from its write to its last response byte. Once a thread has
-- every answer it writes DONEDIR/thread-<t> (its counts) and stops itself;
-- bench/checkout.sh waits for every such file and then interrupts wrk's
-- sleep (SIGINT), so the run does not last the whole -d.
--
-- done() prints one line that bench/checkout.sh parses:
--   BENCH requests=N seconds=S rps=R p50_ms=X p99_ms=Y max_ms=Z status201=N
--   status409=N out_of_stock=N other=N statuses=... sockerr=N expected=N
-- (out_of_stock: the 409s whose first error code is OUT_OF_STOCK)
-- where seconds is the race's wall time on the client (first request sent to
-- last answer received, over all threads; LuaJIT's ffi clock_gettime) and
-- rps = answers / seconds.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now_us(clock)
	-- CLOCK_MONOTONIC (1) unless told: one clock for every thread
	ffi.C.clock_gettime(clock or 1, ts)
	return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrklib.lua")
local threads = lib.threads
local lines = lib.lines
setup = lib.setup

local product, tag, donedir
local start_ms = 0
local mine = {}          -- this thread's buyers' tokens
granted = 0        -- slots given by delay() and not yet used by request()
sent = 0           -- requests built by request() for a slot
unslotted = 0      -- requests built without a slot (see request())
local by = {}

-- Read by done() through thread:get.
share = 0
answers = 0
ok201 = 0
c409 = 0
c409_oos = 0       -- of the 409s, those whose first error code is OUT_OF_STOCK
other = 0
other_by = ""
t_first = 0
t_last = 0

function init(args)
	local tokens = lines(args[1])
	product = tonumber(args[2])
	tag = args[3] or "flash"
	donedir = args[4]
	-- wrk has created every thread's state before any runs; T is the count.
	local T = tonumber(args[5])
	for i = tid, #tokens, T do
		table.insert(mine, tokens[i])
	end
	share = #mine
	start_ms = tonumber(args[6] or "0") or 0
end

function delay()
	if sent + granted < share then
		granted = granted + 1
		local wait = start_ms - now_us(0) / 1000
		return wait > 0 and math.ceil(wait) or 0
	end
	return 3600000
end

local function order(i)
	return wrk.format("POST", "/api/v1/orders", {
		["Authorization"] = "Bearer " .. mine[i],
		["Content-Type"] = "application/json",
		["Idempotency-Key"] = string.format("%s-%d-%d", tag, tid, i),
	}, string.format('{"items":[{"product_id":%d,"quantity":1}]}', product))
end

function request()
	if granted == 0 then
		-- wrk's script_verify_request: parsed, never sent. (Only a re-send
		-- after a socket error, which wrk counts, would also come here.)
		unslotted = unslotted + 1
		return order(1)
	end
	granted = granted - 1
	sent = sent + 1
	if sent == 1 then
		t_first = now_us()
	end
	return order(sent)
end

local function finish()
	local f = io.open(string.format("%s/thread-%d", donedir, tid), "w")
	if f then
		f:write(string.format("share=%d answers=%d status201=%d status409=%d " ..
			"out_of_stock=%d other=%d\n", share, answers, ok201, c409, c409_oos, other))
		f:close()
	end
	wrk.thread:stop()
end

function response(status, hdrs, body)
	answers = answers + 1
	t_last = now_us()
	if status == 201 then
		ok201 = ok201 + 1
	elseif status == 409 then
		c409 = c409 + 1
		if string.match(body or "", '"code":"([A-Z_]+)"') == "OUT_OF_STOCK" then
			c409_oos = c409_oos + 1
		end
	else
		other = other + 1
		by[status] = (by[status] or 0) + 1
		other_by = lib.by_status(by)
	end
	if answers >= share then
		finish()
	end
end

function done(summary, latency, requests)
	local n, ok, c4, oos, ot, exp = 0, 0, 0, 0, 0, 0
	local first, last = math.huge, 0
	local merged = {}
	for _, t in ipairs(threads) do
		io.write(string.format("BENCH-THREAD tid=%d share=%d sent=%d answers=%d unslotted=%d\n",
			t:get("tid"), t:get("share"), t:get("sent"), t:get("answers"), t:get("unslotted")))
		n = n + t:get("answers")
		ok = ok + t:get("ok201")
		c4 = c4 + t:get("c409")
		oos = oos + t:get("c409_oos")
		ot = ot + t:get("other")
		exp = exp + t:get("share")
		local a, b = t:get("t_first"), t:get("t_last")
		if a > 0 and a < first then first = a end
		if b > last then last = b end
		for s, c in string.gmatch(t:get("other_by") or "", "(%d+):(%d+)") do
			merged[s] = (merged[s] or 0) + tonumber(c)
		end
	end
	local parts = {}
	for s, c in pairs(merged) do
		table.insert(parts, s .. ":" .. c)
	end
	local secs = (last > first) and (last - first) / 1e6 or 0
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
		"status201=%d status409=%d out_of_stock=%d other=%d statuses=%s sockerr=%d expected=%d\n",
		n, secs, secs > 0 and n / secs or 0,
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
		ok, c4, oos, ot, #parts > 0 and table.concat(parts, ",") or "-",
		e.connect + e.read + e.write + e.timeout, exp))
end

-- wrk script: POST /api/v1/orders with two explicit lines (two different
-- products drawn at random from a list, quantity 1 each) and a unique
-- Idempotency-Key per request, as one customer.
--
--   wrk -t2 -c32 -d20s --latency -s bench/orders.lua URL -- TOKENFILE PRODUCTSFILE TAG
--
-- TAG makes the keys unique across runs (key = TAG-<thread>-<n>). done()
-- prints one line that bench/checkout.sh parses:
--   BENCH requests=N seconds=S rps=R p50_ms=X p99_ms=Y max_ms=Z status201=N
--   non201=N statuses=409:3,503:1 sockerr=N
-- (statuses: the non-201 answers by HTTP status; sockerr: wrk's connect,
-- read, write and timeout errors).

local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrklib.lua")
local threads = lib.threads
local lines = lib.lines
setup = lib.setup

local token, products, tag
local seq = 0
local headers

-- Counters read by done() through thread:get (globals of the thread's state).
ok201 = 0
bad = 0
bad_by = ""
local by = {}

function init(args)
	token = lines(args[1])[1]
	products = lines(args[2])
	tag = args[3] or "bench"
	assert(#products >= 2, "need at least two products")
	math.randomseed(os.time() * 100 + (tid or 0))
	headers = {
		["Authorization"] = "Bearer " .. token,
		["Content-Type"] = "application/json",
	}
end

function request()
	seq = seq + 1
	local n = #products
	local a = math.random(n)
	local b = math.random(n - 1)
	if b >= a then
		b = b + 1
	end
	headers["Idempotency-Key"] = string.format("%s-%d-%d", tag, tid or 0, seq)
	local body = string.format(
		'{"items":[{"product_id":%s,"quantity":1},{"product_id":%s,"quantity":1}]}',
		products[a], products[b])
	return wrk.format("POST", "/api/v1/orders", headers, body)
end

function response(status, hdrs, body)
	if status == 201 then
		ok201 = ok201 + 1
	else
		bad = bad + 1
		by[status] = (by[status] or 0) + 1
		bad_by = lib.by_status(by)
	end
end

function done(summary, latency, requests)
	local ok, nb, merged = 0, 0, {}
	for _, t in ipairs(threads) do
		ok = ok + t:get("ok201")
		nb = nb + t:get("bad")
		for s, c in string.gmatch(t:get("bad_by") or "", "(%d+):(%d+)") do
			merged[s] = (merged[s] or 0) + tonumber(c)
		end
	end
	local parts = {}
	for s, c in pairs(merged) do
		table.insert(parts, s .. ":" .. c)
	end
	local e = summary.errors
	local secs = summary.duration / 1e6
	io.write(string.format(
		"BENCH requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
		"status201=%d non201=%d statuses=%s sockerr=%d\n",
		summary.requests, secs, summary.requests / secs,
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
		ok, nb, #parts > 0 and table.concat(parts, ",") or "-",
		e.connect + e.read + e.write + e.timeout))
end

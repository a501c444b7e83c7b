-- wrk script: GET requests drawn from a list of paths (bench/run.sh).
--
--   wrk -tT -cC -dD --latency -s bench/get.lua URL -- PATHSFILE [DIST] [TOKENSFILE]
--
-- PATHSFILE: one path per line (with its query). DIST: how a request picks
-- its path: "uniform" (default; every line alike) or "zipf" (line i with
-- weight 1/i: a few popular products, a long tail). TOKENSFILE: access
-- tokens, one per line; each request then carries "Authorization: Bearer"
-- with one of them drawn at random (several users, as in real traffic).
-- Without it, requests are anonymous. Requests without a token are built
-- once (per path) and reused, so the client spends its time on the wire.
--
-- done() prints one line that bench/run.sh parses:
--   BENCH requests=N seconds=S rps=R p50_ms=X p90_ms=Y p99_ms=Z max_ms=M
--   non2xx=N timeouts=N sockerr=N
-- (non2xx: answers outside 2xx/3xx; timeouts: requests without an answer
-- within wrk's --timeout; sockerr: connect, read and write errors.)

local lib = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrklib.lua")
local lines = lib.lines
setup = lib.setup

local paths, tokens, cdf
local prebuilt = {}
local zipf = false

-- Index of the first cumulative weight >= u (binary search).
local function pick_zipf(u)
	local lo, hi = 1, #cdf
	while lo < hi do
		local mid = math.floor((lo + hi) / 2)
		if cdf[mid] < u then
			lo = mid + 1
		else
			hi = mid
		end
	end
	return lo
end

function init(args)
	paths = lines(args[1])
	assert(#paths > 0, "no paths in " .. args[1])
	zipf = (args[2] == "zipf")
	if args[3] and args[3] ~= "" then
		tokens = lines(args[3])
		assert(#tokens > 0, "no tokens in " .. args[3])
	end
	math.randomseed(os.time() * 100 + (tid or 0))
	if zipf then
		cdf = {}
		local sum = 0
		for i = 1, #paths do
			sum = sum + 1 / i
			cdf[i] = sum
		end
		for i = 1, #paths do
			cdf[i] = cdf[i] / sum
		end
	end
	if not tokens then
		for i, p in ipairs(paths) do
			prebuilt[i] = wrk.format("GET", p)
		end
	end
end

function request()
	local i
	if zipf then
		i = pick_zipf(math.random())
	else
		i = math.random(#paths)
	end
	if not tokens then
		return prebuilt[i]
	end
	return wrk.format("GET", paths[i], {
		["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
	})
end

function done(summary, latency, requests)
	local e = summary.errors
	local secs = summary.duration / 1e6
	io.write(string.format(
		"BENCH requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f " ..
		"max_ms=%.2f non2xx=%d timeouts=%d sockerr=%d\n",
		summary.requests, secs, summary.requests / secs,
		latency:percentile(50) / 1000, latency:percentile(90) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000,
		e.status, e.timeout, e.connect + e.read + e.write))
end

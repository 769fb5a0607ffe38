-- wrk script: every request asks for the boot script of a different node,
-- picked at random among the N nodes bench/run.sh registered, so a server
-- cannot answer the whole run from one cached key.
--
--   wrk ... -s bench/many-macs.lua http://127.0.0.1:PORT -- N
--
-- Node i (1..N) has MAC 02:00:00:00:hi:lo, hi/lo = the two low bytes of i.
-- Requests are formatted once in init(), so the per-request cost on wrk's
-- side is a table lookup, the same for every server it is pointed at.

local nthreads = 0

-- Runs once per thread in the main Lua state: give each thread its own id
-- so each draws a different random sequence.
function setup(thread)
	nthreads = nthreads + 1
	thread:set("thread_id", nthreads)
end

local requests = {}

function init(args)
	local n = tonumber(args[1]) or 10000
	for i = 1, n do
		local hi, lo = math.floor(i / 256) % 256, i % 256
		local path = string.format("/boot/v1/bootscript?mac=02:00:00:00:%02x:%02x", hi, lo)
		requests[i] = wrk.format("GET", path)
	end
	math.randomseed(7919 * (thread_id or 1))
end

function request()
	return requests[math.random(#requests)]
end

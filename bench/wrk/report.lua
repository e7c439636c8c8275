-- Shared by get.lua and ingest.lua: counts answers whose status is not PRR_BENCH_EXPECT
-- (wrk itself counts only 4xx/5xx, so a 303 to the login page would pass unnoticed) and
-- prints one "BENCH-JSON {...}" line with the counts and latency percentiles (microseconds).

local expect = tonumber(os.getenv("PRR_BENCH_EXPECT") or "200")
local threads = {}

unexpected = 0

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function response(status, headers, body)
   if status ~= expect then
      unexpected = unexpected + 1
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("unexpected") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "unexpected": %d, '
         .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
         .. '"p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}\n',
      summary.requests, summary.duration, summary.bytes, bad,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99), latency.max, latency.mean))
end

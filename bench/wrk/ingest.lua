-- POST /api/v1/scans: a real `prr scan --format json` document for a different service
-- each request. PRR_BENCH_BODY names the document with "@@TARGET@@" in place of its
-- target and "@@STARTED@@" in place of started_at; PRR_BENCH_TARGETS names a file of
-- target objects (one JSON object a line); the bearer token is in PRR_BENCH_TOKEN.
-- Expects 201.

dofile(os.getenv("PRR_BENCH_WRK") .. "/report.lua")

local function read(path)
   local file = assert(io.open(path, "rb"))
   local text = file:read("*a")
   file:close()
   return text
end

local head, middle, tail
local targets = {}
local counter = 0
local started = tonumber(os.getenv("PRR_BENCH_START") or "0")

function init(args)
   local body = read(os.getenv("PRR_BENCH_BODY"))
   local t1, t2 = string.find(body, '"@@TARGET@@"', 1, true)
   local s1, s2 = string.find(body, '"@@STARTED@@"', 1, true)
   assert(t1 and s1 and t2 < s1, "the body template needs @@TARGET@@ before @@STARTED@@")
   head = string.sub(body, 1, t1 - 1)
   middle = string.sub(body, t2 + 1, s1 - 1)
   tail = string.sub(body, s2 + 1)
   for line in io.lines(os.getenv("PRR_BENCH_TARGETS")) do
      if #line > 0 then
         table.insert(targets, line)
      end
   end
   -- Threads start at different places in the list, so they never post the same service.
   counter = math.floor((id or 0) * #targets / 2)
   wrk.method = "POST"
   wrk.headers["Authorization"] = "Bearer " .. os.getenv("PRR_BENCH_TOKEN")
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local target = targets[(counter % #targets) + 1]
   local at = os.date("!\"%Y-%m-%dT%H:%M:%S+00:00\"", started + counter)
   return wrk.format(nil, nil, nil, head .. target .. middle .. at .. tail)
end

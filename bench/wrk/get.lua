-- GET the URL wrk was given, with the session cookie from PRR_BENCH_COOKIE (the
-- environment, never the command line); expects 200.

local cookie = os.getenv("PRR_BENCH_COOKIE")
if cookie and cookie ~= "" then
   wrk.headers["Cookie"] = cookie
end

dofile(os.getenv("PRR_BENCH_WRK") .. "/report.lua")

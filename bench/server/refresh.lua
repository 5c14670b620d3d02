-- wrk script for scripts/bench-pg.sh: every request is POST /refresh, each rotating a refresh
-- token once, as a client does. BENCH_TOKENS names a file of refresh tokens, one a line (at least
-- one per connection); a request takes one from the pool and its answer puts the new one back,
-- so no token is ever presented twice (which would be reuse). An answer without a token loses
-- one from the pool; with the pool empty a request carries no valid token and counts as an error.
local pool = {}
init = function(args)
    for line in io.lines(os.getenv("BENCH_TOKENS")) do
        if #line > 0 then pool[#pool + 1] = line end
    end
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
    local t = table.remove(pool) or "none"
    return wrk.format(nil, nil, nil, string.format('{"refresh_token":"%s"}', t))
end
response = function(status, headers, body)
    local t = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if t then pool[#pool + 1] = t end
end

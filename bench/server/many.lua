-- GET /me with a different token on each request (issue 11): the tokens of a file, one a line,
-- taken in turn; each wrk thread starts at its own offset. The requests are formatted once in
-- init, so a request costs no Lua allocation.
-- Usage: wrk -t1 -c64 -d5s -s bench/server/many.lua http://HOST:PORT/me -- TOKENS_FILE
local threads = 0

function setup(thread)
    thread:set("offset", threads * 7919)
    threads = threads + 1
end

local reqs, n, i = {}, 0, 0

function init(args)
    local path = args[1] or error("many.lua: the tokens file is missing (-- FILE)")
    for line in io.lines(path) do
        if #line > 0 then
            n = n + 1
            reqs[n] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. line })
        end
    end
    if n == 0 then error("many.lua: no token in " .. path) end
    i = (offset or 0) % n
end

function request()
    i = i + 1
    if i > n then i = 1 end
    return reqs[i]
end

-- wrk script for scripts/bench-pg.sh: every request is POST /register of a new user (names
-- BENCH_PREFIX-N, unique within the run; BENCH_PREFIX must be unique per run and database), so
-- each request costs one Argon2id hash and one insert.
local prefix = os.getenv("BENCH_PREFIX")
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
    n = n + 1
    return wrk.format(nil, nil, nil,
        string.format('{"username":"%s-%d","password":"bench-password-0123"}', prefix, n))
end

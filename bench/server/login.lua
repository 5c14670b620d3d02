-- wrk script for scripts/bench-server.sh: every request is POST /login with one user's JSON credentials
-- (BENCH_USER, BENCH_PASSWORD from the environment), so each request costs one Argon2id check.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"username":"%s","password":"%s"}', os.getenv("BENCH_USER"), os.getenv("BENCH_PASSWORD"))

#!/usr/bin/env bash
# Benchmarks `jwtd serve` on PostgreSQL beside SQLite in one run (issue 9): POST /login, POST
# /register and POST /refresh throughput, GET /me (no database on its path), and the logout-all
# propagation delay between two instances on one PostgreSQL database (bench/server/propagation.c).
# Figures only, never a test: the exit status is 1 only when a measurement could not be made or had
# errors. The PostgreSQL server is a throwaway one (tests/support/pgtest.sh) in BUILD_DIR/bench-pg,
# stopped at the end. Usage: scripts/bench-pg.sh BUILD_DIR (env: see below).
set -euo pipefail

DUR=${DUR:-5s}                # length of each measured wrk run (whole seconds)
WARM=${WARM:-2s}              # warm-up run of each server and route
RUNS=${RUNS:-3}               # measured runs, alternating the stores; the table shows medians
CONNS=${CONNS:-64}            # wrk connections for GET /me (as scripts/bench-server.sh)
LOGIN_CONNS=${LOGIN_CONNS:-8} # wrk connections for the writes (as bench-server.sh's POST /login)
ROUNDS=${ROUNDS:-100}         # logout-alls of the propagation measurement
PORT_BASE=${PORT_BASE:-18400}
ARGON2_T=${ARGON2_T:-2}       # jwtd's defaults, as bench-server.sh's POST /login
ARGON2_M_KIB=${ARGON2_M_KIB:-19456}

die() { echo "bench-pg: $*" >&2; exit 1; }
[[ $# -eq 1 ]] || die "usage: scripts/bench-pg.sh BUILD_DIR"
[[ -d $1 ]] || die "no build directory $1"
[[ $DUR =~ ^[1-9][0-9]*s$ && $WARM =~ ^[1-9][0-9]*s$ ]] || die "DUR and WARM must be whole seconds, e.g. 5s"
[[ $RUNS =~ ^[1-9][0-9]?$ && $ROUNDS =~ ^[1-9][0-9]{0,3}$ ]] || die "RUNS must be 1..99, ROUNDS 1..9999"
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
JWTD=$build/src/cli/jwtd
PROP=$build/bench/bench_propagation
for t in wrk taskset curl; do command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"; done
[[ -x $JWTD ]] || die "$JWTD not built"
[[ -x $PROP ]] || die "$PROP not built (bench/CMakeLists.txt, needs libcurl)"

cores=$(nproc)
CLIENT_CPU=$(( cores > 1 ? 1 : 0 ))
ALL_CPUS=0-$(( cores - 1 ))
work=$build/bench-pg
pgstate=$work/pgstate
mkdir -p "$work"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jwtd-bench-pg.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for _ in $(seq 25); do
        local alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [[ $alive = 0 ]] && break
        sleep 0.2
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$root/tests/support/pgtest.sh" stop "$pgstate" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t_start=$(date +%s)
unset JWT_SECRET # EdDSA keys, as bench-server.sh's login server (not the default RS256)
export JWTD_KEY_ALG=EdDSA
PASSWORD=bench-password-0123

# ---- the PostgreSQL server and its two databases ----
"$root/tests/support/pgtest.sh" start "$pgstate" >"$tmp/pgtest.log" 2>&1 || {
    cat "$tmp/pgtest.log" >&2
    die "cannot start PostgreSQL (tests/support/pgtest.sh; scripts/deps.sh installs it)"
}
pg_base=$(cat "$pgstate/url")
pg_bin=$(cat "$pgstate/bin")
pg_version=$("$pg_bin/postgres" --version | awk '{print $3}')
for d in bench_rw bench_prop; do
    "$pg_bin/psql" -q -X -v ON_ERROR_STOP=1 -d "$pg_base/postgres" -c "CREATE DATABASE $d" >/dev/null ||
        die "cannot create database $d"
done

# ---- the servers ----
declare -A port_of pid_of db_of
port_no=$PORT_BASE
# start_jwtd NAME DB USER CPUS ARGS...: a fresh store with USER, then the server; waits for /healthz.
start_jwtd() {
    local name=$1 db=$2 user=$3 cpus=$4 i
    shift 4
    port_of[$name]=$port_no; port_no=$((port_no + 1)); db_of[$name]=$db
    if (: <"/dev/tcp/127.0.0.1/${port_of[$name]}") 2>/dev/null; then
        die "port ${port_of[$name]} is already in use (set PORT_BASE)"
    fi
    if [[ -n $user ]]; then
        printf '%s\n' "$PASSWORD" | "$JWTD" user add "$user" --password-stdin --role user --db "$db" \
            >"$tmp/$name-user.log" 2>&1 || die "$name: jwtd user add failed: $(tail -n 2 "$tmp/$name-user.log")"
    fi
    taskset -c "$cpus" "$JWTD" serve --listen "127.0.0.1:${port_of[$name]}" --db "$db" --log-level warn \
        --rate-limit off "$@" >"$tmp/$name.log" 2>&1 &
    pid_of[$name]=$!; pids+=("$!")
    for i in $(seq 150); do
        kill -0 "${pid_of[$name]}" 2>/dev/null || break
        [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port_of[$name]}/healthz") = 200 ]] && return 0
        sleep 0.1
    done
    die "$name did not start: $(tail -n 3 "$tmp/$name.log" | tr '\n' ' ')"
}
# post_login NAME -> the JSON answer of POST /login as alice, and a newline (so that sed ends its
# line: the tokens file has one token a line)
post_login() {
    curl -s -H 'Content-Type: application/json' -d "{\"username\":\"alice\",\"password\":\"$PASSWORD\"}" \
        "http://127.0.0.1:${port_of[$1]}/login"
    echo
}
member() { sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p"; }

# Both stores the same way as bench-server.sh's POST /login: --threads 1, --workers one per core,
# unpinned, Argon2id at the defaults. PostgreSQL runs on the same cores (a loopback TCP connection).
serve_args=(--threads 1 --workers "$cores" --argon2-t "$ARGON2_T" --argon2-m-kib "$ARGON2_M_KIB")
start_jwtd sqlite "$tmp/bench.db" alice "$ALL_CPUS" "${serve_args[@]}"
start_jwtd postgres "$pg_base/bench_rw" alice "$ALL_CPUS" "${serve_args[@]}"
declare -A me_token_of
for s in sqlite postgres; do
    me_token_of[$s]=$(post_login "$s" | member access_token)
    [[ -n ${me_token_of[$s]} ]] || die "$s: POST /login gave no access_token"
done

# ---- measure ----
# parse_wrk FILE -> "req/s p99_us errors" (errors: non-2xx answers + socket errors)
parse_wrk() {
    awk 'function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v + 0 }
        /^ +99%/ { p99 = us($2) } /^Requests\/sec:/ { rps = $2 } /Non-2xx/ { err += $NF }
        /Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
        END { printf "%.1f %.0f %d\n", rps, p99, err }' "$1"
}
med() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# run_wrk STORE ROUTE DUR RUN -> "req/s p99_us errors"; wrk on core CLIENT_CPU as bench-server.sh.
run_wrk() {
    local s=$1 route=$2 dur=$3 r=$4 url="http://127.0.0.1:${port_of[$1]}" out=$tmp/wrk.out i
    local -a cmd=(taskset -c "$CLIENT_CPU" wrk -t1 -c"$LOGIN_CONNS" -d"$dur" --timeout 10s --latency)
    case $route in
    login) env BENCH_USER=alice "BENCH_PASSWORD=$PASSWORD" "${cmd[@]}" -s "$root/bench/server/login.lua" "$url/login" >"$out" ;;
    register) env "BENCH_PREFIX=reg$r-$s-$$" "${cmd[@]}" -s "$root/bench/server/register.lua" "$url/register" >"$out" ;;
    refresh)
        # Two tokens per connection, each from a login: rotated one at a time by refresh.lua.
        : >"$tmp/tokens"
        for i in $(seq $((LOGIN_CONNS * 2))); do post_login "$s" | member refresh_token >>"$tmp/tokens"; done
        env "BENCH_TOKENS=$tmp/tokens" "${cmd[@]}" -s "$root/bench/server/refresh.lua" "$url/refresh" >"$out" ;;
    me) taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$dur" --timeout 10s --latency \
        -H "Authorization: Bearer ${me_token_of[$s]}" "$url/me" >"$out" ;;
    esac
    parse_wrk "$out"
}

routes=(login register refresh me)
echo "# $(date -u +%FT%TZ) $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
    "$(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# jwtd: $JWTD (source $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$([[ -n $(git -C "$root" status --porcelain 2>/dev/null | head -1) ]] && echo ' + uncommitted changes')); PostgreSQL $pg_version (pgtest.sh: fsync=off, 127.0.0.1)"
echo "# both stores: jwtd serve --threads 1 --workers $cores --rate-limit off, unpinned (cores $ALL_CPUS), Argon2id" \
    "t=$ARGON2_T m=$ARGON2_M_KIB KiB; wrk -t1 on core $CLIENT_CPU, -c$LOGIN_CONNS for the writes, -c$CONNS for GET /me;" \
    "warm-up $WARM, then $RUNS x $DUR alternating the stores"
for route in "${routes[@]}"; do
    for s in sqlite postgres; do run_wrk "$s" "$route" "$WARM" 0 >/dev/null; done
done
declare -A RPS P99 ERR
status=0
for r in $(seq "$RUNS"); do
    for route in "${routes[@]}"; do
        for s in sqlite postgres; do
            read -r rps p99 err < <(run_wrk "$s" "$route" "$DUR" "$r")
            RPS[$route.$s]+="$rps "; P99[$route.$s]+="$p99 "; ERR[$route.$s]=$(( ${ERR[$route.$s]:-0} + err ))
            (( err == 0 )) || status=1
            printf 'run %d %-8s %-8s %9s req/s  p99 %8s us%s\n' "$r" "$route" "$s" "$rps" "$p99" \
                "$([[ $err = 0 ]] || echo "  ERRORS $err")"
        done
    done
done

# ---- the propagation delay: two instances on one PostgreSQL database ----
# Cheap Argon2id here: a login per round, and the delay does not depend on the hash.
prop_args=(--threads 1 --workers 1 --argon2-t 1 --argon2-m-kib 8)
start_jwtd prop-a "$pg_base/bench_prop" alice "$ALL_CPUS" "${prop_args[@]}"
start_jwtd prop-b "$pg_base/bench_prop" "" "$ALL_CPUS" "${prop_args[@]}"
prop_line=$("$PROP" --a "http://127.0.0.1:${port_of[prop-a]}" --b "http://127.0.0.1:${port_of[prop-b]}" \
    --user alice --password "$PASSWORD" --rounds "$ROUNDS") || status=1

# ---- the table ----
label() { case $1 in login) echo "POST /login";; register) echo "POST /register";; refresh) echo "POST /refresh";; me) echo "GET /me";; esac; }
echo
echo "PostgreSQL beside SQLite, medians of $RUNS runs of $DUR (req/s; p99 in us)"
printf '%-16s %10s %10s %8s %11s %11s %7s\n' route sqlite postgres 'pg/sq' 'p99 sqlite' 'p99 pg' errors
for route in "${routes[@]}"; do
    sq=$(med <<<"${RPS[$route.sqlite]}"); pg=$(med <<<"${RPS[$route.postgres]}")
    printf '%-16s %10.1f %10.1f %8s %11.0f %11.0f %7d\n' "$(label "$route")" "$sq" "$pg" \
        "$(awk -v a="$pg" -v b="$sq" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
        "$(med <<<"${P99[$route.sqlite]}")" "$(med <<<"${P99[$route.postgres]}")" \
        $(( ${ERR[$route.sqlite]} + ${ERR[$route.postgres]} ))
done
echo
echo "Revocation propagation (jwtd A and B, --threads 1 --workers 1, one PostgreSQL database):"
echo "$prop_line"
echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg); wall time $(( $(date +%s) - t_start )) s"
exit $status

#!/usr/bin/env bash
# The server under password load and under many connections (issue 11, "The server"), in one run:
#  1. POST /login throughput against the Argon2 bound (cores / the time of one Argon2id check at
#     jwtd's defaults, measured here by bench/server/argon2_time.c with the same libsodium call);
#  2. GET /me p99 unloaded and while logins saturate the workers (two wrk at once: one posting
#     /login, one measuring /me with --latency);
#  3. jwtd's RSS with 10,000 idle keep-alive connections (bench/server/idle_conns.js), per
#     connection, and GET /me p99 while they are open.
# Figures only: a missed target prints MISS, never an error; the exit status says whether every
# measurement could be made without errors. Usage: scripts/bench-load.sh BUILD_DIR
# Env: DUR=5s RUNS=3 WARM=2s LOGIN_CONNS=8 ME_CONNS=16 IDLE_CONNS=10000 PORT_BASE=18600
#      WORKERS=0 (jwtd's --workers; 0: its default) JWTD=BUILD_DIR/src/cli/jwtd BENCH_NICE=-10
set -euo pipefail

DUR=${DUR:-5s}
RUNS=${RUNS:-3}
WARM=${WARM:-2s}
LOGIN_CONNS=${LOGIN_CONNS:-8}
ME_CONNS=${ME_CONNS:-16}
IDLE_CONNS=${IDLE_CONNS:-10000}
PORT_BASE=${PORT_BASE:-18600}
WORKERS=${WORKERS:-0}
ARGON2_T=${ARGON2_T:-2}     # jwtd's defaults
ARGON2_M_KIB=${ARGON2_M_KIB:-19456}
BENCH_NICE=${BENCH_NICE:--10}

die() { echo "bench-load: $*" >&2; exit 1; }
# A session of our own whose priority is raised (scripts/bench-session.sh).
# shellcheck source=scripts/bench-session.sh
source "$(dirname "$0")/bench-session.sh"
bench_own_session "$0" "$@"
[[ $# -eq 1 && -d $1 ]] || die "usage: scripts/bench-load.sh BUILD_DIR"
[[ $DUR =~ ^[1-9][0-9]*s$ && $WARM =~ ^[1-9][0-9]*s$ ]] || die "DUR and WARM must be whole seconds, e.g. 5s"
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || die "RUNS must be 1..99"
[[ $IDLE_CONNS =~ ^[1-9][0-9]*$ ]] || die "IDLE_CONNS must be a positive number"
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
JWTD=${JWTD:-$build/src/cli/jwtd}
[[ -x $JWTD ]] || die "$JWTD not built"
for t in wrk taskset curl node cc bc; do
    command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"
done
[[ $(nice -n "$BENCH_NICE" nice 2>/dev/null) = "$BENCH_NICE" ]] || BENCH_NICE=0
cores=$(nproc)
CLIENT_CPU=$(( cores > 1 ? cores - 1 : 0 ))
NICE=(nice -n "$BENCH_NICE")
work=$build/bench-load
mkdir -p "$work"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jwtd-bench-load.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t_start=$(date +%s)

# Descriptors: 10,000 connections need as many on each side (node and jwtd), and a few more.
want_fds=$(( IDLE_CONNS + 1000 ))
hard=$(ulimit -Hn)
if [[ $hard != unlimited && $hard -lt $want_fds ]]; then
    echo "# note: the open-files hard limit is $hard; IDLE_CONNS lowered to $(( hard - 1000 ))"
    IDLE_CONNS=$(( hard - 1000 )); want_fds=$hard
fi
ulimit -n "$want_fds"

ARGON2_BIN=$work/argon2_time
if [[ ! -x $ARGON2_BIN || $root/bench/server/argon2_time.c -nt $ARGON2_BIN ]]; then
    cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$ARGON2_BIN" "$root/bench/server/argon2_time.c" \
        -lsodium || die "cannot build bench/server/argon2_time.c (apt libsodium-dev)"
fi

med() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# parse_wrk FILE -> "req/s requests p99_us errors"
parse_wrk() {
    awk 'function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v + 0 }
        /^ +99%/ { p99 = us($2) } / requests in / { req = $1 } /^Requests\/sec:/ { rps = $2 } /Non-2xx/ { err += $NF }
        /Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
        END { printf "%.1f %d %.0f %d\n", rps, req, p99, err }' "$1"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }  # utime+stime, all threads
HZ=$(getconf CLK_TCK)

# ---- the bound: one Argon2id check alone on core 0, and one per core at once ----
hash_s=$("${NICE[@]}" taskset -c 0 "$ARGON2_BIN" "$ARGON2_T" "$ARGON2_M_KIB" 7)
par_s=$(for c in $(seq 0 $(( cores - 1 ))); do "${NICE[@]}" taskset -c "$c" "$ARGON2_BIN" "$ARGON2_T" "$ARGON2_M_KIB" 7 & done | med)
# CPU per check (user + sys of 21 checks and the first hash), which contention for the machine
# does not inflate as it does wall time: jwtd's CPU per login is compared with it.
cpu_check() {  # CORE
    local TIMEFORMAT='%U %S'
    { time "${NICE[@]}" taskset -c "$1" "$ARGON2_BIN" "$ARGON2_T" "$ARGON2_M_KIB" 21 >/dev/null; } 2>&1 |
        awk '{ printf "%.6f\n", ($1 + $2) / 22 }'
}
check_cpu_s=$(cpu_check 0)
check_cpu_par_s=$(for c in $(seq 0 $(( cores - 1 ))); do cpu_check "$c" & done | med)
bound=$(echo "$cores / $hash_s" | bc -l)
par_bound=$(echo "$cores / $par_s" | bc -l)

# ---- jwtd: a fresh database with alice; one event loop; the workers at their default ----
export JWT_SECRET=${JWT_SECRET:-bench-secret-bench-secret-bench-secret-0123}
PASSWORD=bench-password-0123
port=$PORT_BASE
(: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null && die "port $port is already in use (set PORT_BASE)"
printf '%s\n' "$PASSWORD" | "$JWTD" user add alice --password-stdin --role user --db "$tmp/load.db" \
    >"$tmp/user.log" 2>&1 || die "jwtd user add failed: $(tail -n 2 "$tmp/user.log")"
# Rate limits off (every request comes from 127.0.0.1); the request timeout (also the keep-alive
# idle time) above the length of the idle-connection phase.
"${NICE[@]}" "$JWTD" serve --listen "127.0.0.1:$port" --db "$tmp/load.db" --threads 1 --workers "$WORKERS" \
    --log-level warn --argon2-t "$ARGON2_T" --argon2-m-kib "$ARGON2_M_KIB" --rate-limit off \
    --request-timeout 300 >"$tmp/jwtd.log" 2>&1 &
jpid=$!; pids+=("$jpid")
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$jpid" 2>/dev/null || die "jwtd did not start: $(tail -n 3 "$tmp/jwtd.log")"
    sleep 0.1
done
TOKEN=$(curl -fs -H 'Content-Type: application/json' -d "{\"username\":\"alice\",\"password\":\"$PASSWORD\"}" \
    "http://127.0.0.1:$port/login" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{process.stdout.write(JSON.parse(s).access_token||"")}catch(e){}})')
[[ -n $TOKEN ]] || die "POST /login gave no access_token"
nworkers=$(( WORKERS > 0 ? WORKERS : cores ))

login_wrk() {  # DUR OUT
    env BENCH_USER=alice "BENCH_PASSWORD=$PASSWORD" "${NICE[@]}" taskset -c "$CLIENT_CPU" wrk -t1 -c"$LOGIN_CONNS" \
        -d"$1" --timeout 10s --latency -s "$root/bench/server/login.lua" "http://127.0.0.1:$port/login" >"$2"
}
me_wrk() {  # DUR OUT
    "${NICE[@]}" taskset -c "$CLIENT_CPU" wrk -t1 -c"$ME_CONNS" -d"$1" --timeout 10s --latency \
        -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/me" >"$2"
}

echo "# $(date -u +%FT%TZ) $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(uname -sr);" \
    "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# jwtd $JWTD (source $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')): --threads 1 --workers $WORKERS" \
    "($nworkers), unpinned, Argon2id t=$ARGON2_T m=$ARGON2_M_KIB KiB; both wrk on core $CLIENT_CPU; nice $BENCH_NICE"
printf '# one Argon2id check: %.1f ms alone (bound %d cores / that = %.1f logins/s), %.1f ms with %d at once (%.1f/s)\n' \
    "$(echo "$hash_s * 1000" | bc -l)" "$cores" "$bound" "$(echo "$par_s * 1000" | bc -l)" "$cores" "$par_bound"

# ---- logins, GET /me alone and beside them ----
login_wrk "$WARM" "$tmp/warm.out"
me_wrk "$WARM" "$tmp/warm.out"
L=() LC=() M0=() M1=() L1=() MR0=() MR1=(); errors=0
for r in $(seq "$RUNS"); do
    c0=$(ticks "$jpid")
    login_wrk "$DUR" "$tmp/login.out"; read -r lr ln _ le < <(parse_wrk "$tmp/login.out")
    c1=$(ticks "$jpid")
    LC+=("$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$ln" 'BEGIN { printf "%.2f", (n > 0 ? t / hz / n * 1000 : 0) }')")
    sleep 1  # the logins still queued when wrk stopped
    me_wrk "$DUR" "$tmp/me0.out"; read -r m0r _ m0 m0e < <(parse_wrk "$tmp/me0.out")
    # The login load starts first and outlasts the GET /me run.
    login_wrk "$(( ${DUR%s} + 2 ))s" "$tmp/login-bg.out" & bg=$!; pids+=("$bg")
    sleep 1
    me_wrk "$DUR" "$tmp/me1.out"; read -r m1r _ m1 m1e < <(parse_wrk "$tmp/me1.out")
    wait "$bg" || true
    read -r l1r _ _ l1e < <(parse_wrk "$tmp/login-bg.out")
    L+=("$lr"); M0+=("$m0"); M1+=("$m1"); L1+=("$l1r"); MR0+=("$m0r"); MR1+=("$m1r")
    errors=$(( errors + le + m0e + m1e + l1e ))
    printf 'run %d: login %s/s alone, %s/s beside GET /me; GET /me p99 %s us unloaded (%s req/s), %s us under login load (%s req/s)%s\n' \
        "$r" "$lr" "$l1r" "$m0" "$m0r" "$m1" "$m1r" "$( (( le + m0e + m1e + l1e == 0 )) || echo "  ERRORS $(( le + m0e + m1e + l1e ))")"
done

# ---- 10,000 idle keep-alive connections ----
# After the queued logins are done (their Argon2 memory is unmapped), and after a few requests.
sleep 2
for _ in 1 2 3; do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || true; done
rss0=$(rss_kib "$jpid")
mkfifo "$tmp/idle.in"
"${NICE[@]}" node "$root/bench/server/idle_conns.js" 127.0.0.1 "$port" "$IDLE_CONNS" 60 <"$tmp/idle.in" >"$tmp/idle.out" 2>"$tmp/idle.err" &
ipid=$!; pids+=("$ipid")
exec {idle_in}>"$tmp/idle.in"
idle_ok=0
for _ in $(seq 650); do
    if grep -q '^ready' "$tmp/idle.out" 2>/dev/null; then idle_ok=1; break; fi
    kill -0 "$ipid" 2>/dev/null || break
    sleep 0.1
done
open=0; ifail=$IDLE_CONNS; rss1=$rss0; mi=0; mir=0; mie=0
if [[ $idle_ok = 1 ]]; then
    read -r _ open ifail <"$tmp/idle.out"
    sleep 1
    rss1=$(rss_kib "$jpid")
    me_wrk "$DUR" "$tmp/me-idle.out"; read -r mir _ mi mie < <(parse_wrk "$tmp/me-idle.out")
    errors=$(( errors + mie ))
else
    echo "# idle connections: $(tail -n 2 "$tmp/idle.err" 2>/dev/null)"
fi
exec {idle_in}>&-
wait "$ipid" 2>/dev/null || true
errors=$(( errors + ifail ))

# ---- the table ----
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
mark() { if (( $(echo "$1" | bc -l) )); then echo PASS; else echo MISS; fi; }
lm=$(printf '%s ' "${L[@]}" | med); p0=$(printf '%s ' "${M0[@]}" | med); p1=$(printf '%s ' "${M1[@]}" | med)
echo
echo "Medians of $RUNS runs of $DUR (wrk -c$LOGIN_CONNS on /login, wrk -c$ME_CONNS --latency on /me)"
row() { printf '  %-56s %-26s %s\n' "$1" "$2" "$3"; }
x=$(ratio "$lm" "$bound")
row "POST /login >= 0.9x $cores cores / one check ($(printf '%.1f' "$bound")/s)" "$(printf '%.1f/s = %sx' "$lm" "$x")" "$(mark "$x >= 0.9")"
row "  (against $cores checks at once, $(printf '%.1f' "$par_bound")/s)" "$(ratio "$lm" "$par_bound")x" ""
lcm=$(printf '%s ' "${LC[@]}" | med)
row "  (jwtd CPU per login / CPU of one check alone)" "$(printf '%.1f / %.1f ms = %.2fx' "$lcm" "$(echo "$check_cpu_s * 1000" | bc -l)" "$(echo "$lcm / ($check_cpu_s * 1000)" | bc -l)")" ""
row "  (CPU of one check, $cores at once)" "$(printf '%.1f ms = %.2fx alone' "$(echo "$check_cpu_par_s * 1000" | bc -l)" "$(echo "$check_cpu_par_s / $check_cpu_s" | bc -l)")" ""
x=$(ratio "$p1" "$p0")
row "GET /me p99 under login load <= 2x unloaded" "$p1 / $p0 us = ${x}x" "$(mark "$x <= 2")"
row "  (logins/s beside GET /me; GET /me req/s alone, beside)" "$(printf '%s ' "${L1[@]}" | med)/s; $(printf '%s ' "${MR0[@]}" | med), $(printf '%s ' "${MR1[@]}" | med)" ""
if [[ $idle_ok = 1 ]]; then
    per=$(echo "($rss1 - $rss0) * 1024 / $open" | bc -l)
    row "jwtd RSS with $open idle keep-alive connections" "$(( rss0 / 1024 )) -> $(( rss1 / 1024 )) MiB" ""
    row "  per connection" "$(printf '%.0f bytes' "$per")" ""
    row "  GET /me p99 meanwhile" "$mi us ($mir req/s)" ""
else
    row "idle keep-alive connections" "not measured" MISS
fi
echo "  errors: $errors"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg); wall time $(( $(date +%s) - t_start )) s"
[[ $idle_ok = 1 && $errors = 0 ]]

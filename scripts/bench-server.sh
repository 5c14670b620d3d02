#!/usr/bin/env bash
# Benchmarks `jwtd serve` (GET /me with HS256 and EdDSA tokens, POST /login) beside nginx and the peers in
# ../shared/bench (Rust hyper, Go net/http, Express) in one run, as issue 3 asks; GET /me over many distinct
# tokens in rotation and req/s and p99 against connections (issue 11; the data of scripts/bench-charts.sh).
# Figures only: a missed target is printed as MISS, never an error.
# Usage: scripts/bench-server.sh BUILD_DIR (env: see below).
set -euo pipefail

DUR=${DUR:-5s}              # length of each measured wrk run (whole seconds)
WARM=${WARM:-2s}            # length of the warm-up run of each server
RUNS=${RUNS:-3}             # measured runs per server, alternating servers; the table shows medians
CONNS=${CONNS:-64}          # wrk connections for GET /me (the issue: wrk -t1 -c64)
LOGIN_CONNS=${LOGIN_CONNS:-8}  # wrk connections for POST /login (enough to keep every worker busy)
SERVERS=${SERVERS:-nginx rust go express-str express-key jwtd-hs jwtd-hs0 jwtd-ed}  # jwtd-hs0: --token-cache 0
MANY=${MANY:-1}             # 0 skips GET /me over many distinct tokens (issue 11)
MANY_HS=${MANY_HS:-10000}   # distinct HS256 tokens (jwtd-hs, jwtd-hs0, rust)
MANY_ED=${MANY_ED:-2000}    # distinct EdDSA tokens (jwtd-ed, the default configuration)
SWEEP_CONNS=${SWEEP_CONNS-16 256}  # GET /me also at these wrk connections (beside CONNS); "" skips (set and empty)
LOGIN=${LOGIN:-1}           # 0 skips the POST /login phase
PORT_BASE=${PORT_BASE:-18300}
ARGON2_T=${ARGON2_T:-2}     # jwtd's defaults (OWASP minimum): passed to jwtd and to argon2_time alike
ARGON2_M_KIB=${ARGON2_M_KIB:-19456}
CARGO=${CARGO:-$(command -v cargo || echo /root/.cargo/bin/cargo)}
BENCH_NICE=${BENCH_NICE:--10}  # servers and wrk run at this niceness (when allowed) to keep other work off

die() { echo "bench-server: $*" >&2; exit 1; }
# A session of our own whose priority is raised (scripts/bench-session.sh).
# shellcheck source=scripts/bench-session.sh
source "$(dirname "$0")/bench-session.sh"
bench_own_session "$0" "$@"
[[ $# -eq 1 ]] || die "usage: scripts/bench-server.sh BUILD_DIR"
[[ -d $1 ]] || die "no build directory $1"
[[ $DUR =~ ^[1-9][0-9]*s$ && $WARM =~ ^[1-9][0-9]*s$ ]] || die "DUR and WARM must be whole seconds, e.g. 5s"
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || die "RUNS must be 1..99"
[[ $MANY_HS =~ ^[1-9][0-9]*$ && $MANY_ED =~ ^[1-9][0-9]*$ ]] || die "MANY_HS and MANY_ED must be counts"
for c in $CONNS $SWEEP_CONNS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "CONNS and SWEEP_CONNS: counts"; done
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
peers=${PEERS_DIR:-$root/../shared/bench}
[[ -d $peers ]] || die "peers not found at $peers (set PEERS_DIR)"
for t in wrk nginx taskset curl node npm cc bc; do
    command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"
done

cores=$(nproc)
SERVER_CPU=0
CLIENT_CPU=$(( cores > 1 ? 1 : 0 ))
ALL_CPUS=0-$(( cores - 1 ))
HZ=$(getconf CLK_TCK)
# On a shared machine a higher priority keeps other processes from taking the measured cores; the same
# for every server. Without the right to raise it (not root), run at the normal priority.
[[ $(nice -n "$BENCH_NICE" nice 2>/dev/null) = "$BENCH_NICE" ]] || BENCH_NICE=0
autogroup=$(cat /proc/self/autogroup 2>/dev/null || echo "no autogroup")
PIN=(nice -n "$BENCH_NICE" taskset -c)  # PIN CPUS CMD...: nice and taskset exec, so the pid is CMD's
work=$build/bench-server        # peer builds, cached between runs; never in the source tree
mkdir -p "$work"
t_start=$(date +%s)

# ---- build the peers and the hash timer (each step is skipped when up to date) ----
declare -A why_not              # server -> reason it is not measured
build_rust() {
    local bin=$work/rust-target/release/jwtd-peer-rust
    [[ -x $CARGO ]] || { why_not[rust]="cargo not found (rustup)"; return; }
    # From the peer's own folder so its .cargo/config.toml (Debian crate sources, offline) applies;
    # --frozen: offline and never rewrite its Cargo.lock; output only under the build tree.
    if ! (cd "$peers/rust" && "$CARGO" build --release --frozen --quiet --target-dir "$work/rust-target") \
        >"$work/rust-build.log" 2>&1; then
        why_not[rust]="cargo build failed (see $work/rust-build.log; apt librust-hyper-dev ...)"
        return
    fi
    RUST_BIN=$bin
}
build_go() {
    GO_BIN=$work/goserver
    # Optional like cargo: not in scripts/deps.sh (the tests never need it).
    command -v go >/dev/null || { why_not[go]="go not found (apt golang-go golang-github-golang-jwt-jwt-dev)"; return; }
    [[ -x $GO_BIN && $GO_BIN -nt $peers/go/main.go ]] && return
    if ! (cd "$peers/go" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$work/gocache \
        go build -o "$GO_BIN" main.go) >"$work/go-build.log" 2>&1; then
        why_not[go]="go build failed (see $work/go-build.log; apt golang-go golang-github-golang-jwt-jwt-dev)"
    fi
}
build_express() {
    # A copy in the build tree: npm install never writes into ../shared.
    local d=$work/express f
    mkdir -p "$d"
    for f in server.js mint.js package.json; do
        cmp -s "$peers/express/$f" "$d/$f" || install -m 644 "$peers/express/$f" "$d/$f"
    done
    if [[ ! -d $d/node_modules/express || ! -d $d/node_modules/jsonwebtoken || $d/package.json -nt $d/node_modules ]]; then
        (cd "$d" && npm install --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 \
            || die "npm install failed in $d (see $work/npm.log)"
        touch "$d/node_modules"
    fi
    EXPRESS_DIR=$d
}
build_argon2_time() {
    ARGON2_BIN=$work/argon2_time
    [[ -x $ARGON2_BIN && $ARGON2_BIN -nt $root/bench/server/argon2_time.c ]] && return
    cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -o "$ARGON2_BIN" "$root/bench/server/argon2_time.c" \
        -lsodium || die "cannot build bench/server/argon2_time.c (apt libsodium-dev)"
}
echo "building peers in $work ..."
build_rust; build_go; build_express; build_argon2_time
JWTD=$build/src/cli/jwtd
if [[ ! -x $JWTD ]]; then
    jwtd_missing="$JWTD not built"
elif ! "$JWTD" serve --help >/dev/null 2>&1; then
    jwtd_missing="$JWTD has no 'serve' command (built without the server)"
else
    jwtd_missing=""
fi
if [[ -n $jwtd_missing ]]; then
    why_not[jwtd-hs]=$jwtd_missing; why_not[jwtd-hs0]=$jwtd_missing; why_not[jwtd-ed]=$jwtd_missing
fi

# ---- start the servers ----
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jwtd-bench-server.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [[ $alive = 0 ]] && break
        sleep 0.2
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export JWT_SECRET=${JWT_SECRET:-bench-secret-bench-secret-bench-secret-0123}
PASSWORD=bench-password-0123
PEER_TOKEN=$(node "$EXPRESS_DIR/mint.js")
declare -A pid_of port_of token_of
port_no=$PORT_BASE

# launch NAME CPUS CMD... : CMD runs in the background pinned to CPUS (taskset and env exec, so $! is the
# server itself); its output goes to $tmp/NAME.log.
launch() {
    local name=$1 cpus=$2; shift 2
    local port=${port_of[$name]}
    if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is already in use (set PORT_BASE)"
    fi
    "${PIN[@]}" "$cpus" "$@" >"$tmp/$name.log" 2>&1 &
    pid_of[$name]=$!; pids+=("$!")
}
# ready NAME PATH: waits up to 10 s for an HTTP answer on PATH; records why_not on failure.
ready() {
    local name=$1
    for _ in $(seq 100); do
        kill -0 "${pid_of[$name]}" 2>/dev/null || break
        [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port_of[$name]}$2") != 000 ]] && return 0
        sleep 0.1
    done
    why_not[$name]="did not start: $(tail -n 3 "$tmp/$name.log" | tr '\n' ' ')"
    return 1
}
# login_token NAME: POST /login as alice, prints the access token.
login_token() {
    curl -s -H 'Content-Type: application/json' \
        -d "{\"username\":\"alice\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:${port_of[$1]}/login" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{process.stdout.write(JSON.parse(s).access_token||"")}catch(e){}})'
}
token_alg() {
    node -e 'try{process.stdout.write(JSON.parse(Buffer.from(process.argv[1].split(".")[0],"base64url")).alg)}catch(e){process.stdout.write("?")}' "$1"
}
# start_jwtd NAME CPUS WORKERS HS(0|1) [ARG...]: a fresh database with alice, the server (with the extra
# ARGs), and alice's token.
start_jwtd() {
    local name=$1 cpus=$2 workers=$3 hs=$4 db=$tmp/$1.db
    # jwtd-ed: EdDSA keys, named so (the default key-alg is RS256 since issue 11).
    shift 4
    local -a envs=(env -u JWT_SECRET JWTD_KEY_ALG=EdDSA)
    [[ $hs = 1 ]] && envs=(env "JWT_SECRET=$JWT_SECRET")
    if ! printf '%s\n' "$PASSWORD" | "${envs[@]}" "$JWTD" user add alice --password-stdin --role user \
        --db "$db" >"$tmp/$name-user.log" 2>&1; then
        why_not[$name]="jwtd user add failed: $(tail -n 2 "$tmp/$name-user.log" | tr '\n' ' ')"
        return
    fi
    # Rate limits off: every request comes from 127.0.0.1, and the default 20 logins a minute
    # per address would turn the login load into 429s (the limits are measured by tests).
    launch "$name" "$cpus" "${envs[@]}" "$JWTD" serve --listen "127.0.0.1:${port_of[$name]}" --db "$db" \
        --threads 1 --workers "$workers" --log-level warn --argon2-t "$ARGON2_T" --argon2-m-kib "$ARGON2_M_KIB" \
        --rate-limit off "$@"
    ready "$name" /healthz || return 0
    token_of[$name]=$(login_token "$name")
    [[ -n ${token_of[$name]} ]] || why_not[$name]="POST /login gave no access_token"
}

for s in $SERVERS; do port_of[$s]=$port_no; port_no=$((port_no + 1)); done
port_of[jwtd-login]=$port_no
for s in $SERVERS; do
    [[ -n ${why_not[$s]:-} ]] && continue
    token_of[$s]=$PEER_TOKEN
    case $s in
    nginx)
        mkdir -p "$tmp/nginx/tmp"
        sed "s|@PORT@|${port_of[$s]}|;s|@PREFIX@|$tmp/nginx|" "$peers/nginx/nginx.conf.in" >"$tmp/nginx/nginx.conf"
        launch nginx $SERVER_CPU nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" ;;
    rust) launch rust $SERVER_CPU env "JWT_SECRET=$JWT_SECRET" "$RUST_BIN" "${port_of[$s]}" ;;
    go) launch go $SERVER_CPU env GOMAXPROCS=1 "$GO_BIN" -jwt -addr "127.0.0.1:${port_of[$s]}" ;;
    express-str) launch "$s" $SERVER_CPU env MODE=jwt node "$EXPRESS_DIR/server.js" "${port_of[$s]}" ;;
    express-key) launch "$s" $SERVER_CPU env MODE=jwt KEYOBJ=1 node "$EXPRESS_DIR/server.js" "${port_of[$s]}" ;;
    jwtd-hs) start_jwtd jwtd-hs $SERVER_CPU 1 1 ;;
    jwtd-hs0) start_jwtd jwtd-hs0 $SERVER_CPU 1 1 --token-cache 0 ;;
    jwtd-ed) start_jwtd jwtd-ed $SERVER_CPU 1 0 ;;
    *) die "unknown server $s (known: nginx rust go express-str express-key jwtd-hs jwtd-hs0 jwtd-ed)" ;;
    esac
done
measured=()
for s in $SERVERS; do
    [[ -n ${why_not[$s]:-} ]] && continue
    if [[ $s != jwtd-* ]]; then ready "$s" /me || continue; fi
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${token_of[$s]}" \
        "http://127.0.0.1:${port_of[$s]}/me")
    if [[ $code != 200 ]]; then why_not[$s]="GET /me with its token answered $code"; continue; fi
    measured+=("$s")
done
for s in jwtd-hs jwtd-hs0; do
    if [[ -n ${pid_of[$s]:-} && -z ${why_not[$s]:-} ]]; then
        [[ $(token_alg "${token_of[$s]}") = HS256 ]] || why_not[$s]="token alg is $(token_alg "${token_of[$s]}"), not HS256"
    fi
done
if [[ -n ${pid_of[jwtd-ed]:-} && -z ${why_not[jwtd-ed]:-} ]]; then
    [[ $(token_alg "${token_of[jwtd-ed]}") = EdDSA ]] || why_not[jwtd-ed]="token alg is $(token_alg "${token_of[jwtd-ed]}"), not EdDSA"
fi
ok=(); for s in "${measured[@]}"; do [[ -z ${why_not[$s]:-} ]] && ok+=("$s"); done; measured=("${ok[@]}")

# ---- measure ----
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }  # utime+stime of all threads
# core_busy N: busy ticks of core N (every process, interrupts); less the server's or wrk's own time, it
# shows what other work took of that core during a run.
core_busy() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# parse_wrk FILE -> "req/s requests p50_us p99_us errors" (errors: non-2xx answers + socket errors)
parse_wrk() {
    awk 'function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v + 0 }
        /^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) } / requests in / { req = $1 }
        /^Requests\/sec:/ { rps = $2 } /Non-2xx/ { err += $NF }
        /Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
        END { printf "%.0f %d %.0f %.0f %d\n", rps, req, p50, p99, err }' "$1"
}
# measure_me NAME DUR [CONNS [TOKENS_FILE]] -> "req/s p50_us p99_us cpu_us_per_request server% errors other0%
# other1%": server% is the server's CPU over the run, other0% and other1% what everything but the server
# (resp. wrk) took of the server's (resp. wrk's) core meanwhile. With TOKENS_FILE, each request carries the
# next token of the file (bench/server/many.lua), else every request NAME's one token.
measure_me() {
    local pid=${pid_of[$1]} a b s0 s1 w0 w1 wrk_s out=$tmp/wrk-me.out TIMEFORMAT='%U %S'
    local -a how=(-H "Authorization: Bearer ${token_of[$1]}") after=()
    [[ -n ${4:-} ]] && { how=(-s "$root/bench/server/many.lua"); after=(-- "$4"); }
    a=$(ticks "$pid"); s0=$(core_busy $SERVER_CPU); w0=$(core_busy $CLIENT_CPU)
    { time "${PIN[@]}" $CLIENT_CPU wrk -t1 -c"${3:-$CONNS}" -d"$2" --timeout 10s --latency \
        "${how[@]}" "http://127.0.0.1:${port_of[$1]}/me" "${after[@]}" >"$out"; } 2>"$out.time"
    b=$(ticks "$pid"); s1=$(core_busy $SERVER_CPU); w1=$(core_busy $CLIENT_CPU)
    wrk_s=$(awk '{ print $1 + $2 }' "$out.time")
    parse_wrk "$out" | awk -v t=$((b - a)) -v o0=$((s1 - s0 - (b - a))) -v o1=$((w1 - w0)) -v ws="$wrk_s" \
        -v hz="$HZ" -v d="${2%s}" 'function pct(x) { return (x > 0 ? x : 0) / d * 100 }
        { printf "%s %s %s %.2f %.0f %s %.0f %.0f\n", $1, $3, $4, ($2 > 0 ? t / hz / $2 * 1e6 : 0), t / hz / d * 100,
          $5, pct(o0 / hz), pct(o1 / hz - ws) }'
}
# login_wrk DUR OUT [bg]: wrk posting /login to jwtd-login (each request is one Argon2id check), output to
# OUT; with bg it runs in the background and its pid is in bg_pid (the wrk itself, so cleanup can stop it).
login_wrk() {
    local -a cmd=(env BENCH_USER=alice "BENCH_PASSWORD=$PASSWORD" "${PIN[@]}" "$CLIENT_CPU" wrk -t1
        -c"$LOGIN_CONNS" -d"$1" --timeout 10s --latency -s "$root/bench/server/login.lua"
        "http://127.0.0.1:${port_of[jwtd-login]}/login")
    if [[ ${3:-} = bg ]]; then
        "${cmd[@]}" >"$2" &
        bg_pid=$!; pids+=("$bg_pid")
    else
        "${cmd[@]}" >"$2"
    fi
}
# login_figures OUT -> "req/s requests p99_us errors"
login_figures() { parse_wrk "$1" | awk '{ print $1, $2, $4, $5 }'; }
med() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "# $(date -u +%FT%TZ) $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))," \
    "$(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
echo "# jwtd: $JWTD (CMake build type ${btype:-RelWithDebInfo, the default}; source" \
    "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$([[ -n $(git -C "$root" status --porcelain 2>/dev/null | head -1) ]] && echo ' + uncommitted changes'))"
echo "# servers on core $SERVER_CPU, one thread/event loop; wrk -t1 -c$CONNS --latency on core $CLIENT_CPU;" \
    "nice $BENCH_NICE ($autogroup); warm-up $WARM, then $RUNS x $DUR alternating servers"
for s in "${measured[@]}"; do measure_me "$s" "$WARM" >/dev/null; done
declare -A RPS P50 P99 CPU CORE OTHER0 OTHER1 ERR
for r in $(seq "$RUNS"); do
    for s in "${measured[@]}"; do
        read -r rps p50 p99 cpu core err o0 o1 < <(measure_me "$s" "$DUR")
        RPS[$s]+="$rps "; P50[$s]+="$p50 "; P99[$s]+="$p99 "; CPU[$s]+="$cpu "; CORE[$s]+="$core "
        OTHER0[$s]+="$o0 "; OTHER1[$s]+="$o1 "; ERR[$s]=$(( ${ERR[$s]:-0} + err ))
        printf 'run %d %-12s %7s req/s  p50 %6s us  p99 %7s us  %7s us CPU/req  server %3s%%  other %3s%%/%3s%%%s\n' \
            "$r" "$s" "$rps" "$p50" "$p99" "$cpu" "$core" "$o0" "$o1" "$([[ $err = 0 ]] || echo "  ERRORS $err")"
    done
done

# ---- GET /me over many distinct tokens in rotation (issue 11) ----
# The HS256 tokens are minted here with JWT_SECRET from jwtd's own (the header, iss, aud, sub of alice;
# each its jti, and a "role" claim for the Rust peer), so jwtd-hs, jwtd-hs0 and rust verify the same
# file; the EdDSA ones are jwtd-ed's own, a login and then a chain of refreshes.
# cache_counts NAME -> "hits misses" of the server's verified-token cache (GET /metrics)
cache_counts() {
    curl -s "http://127.0.0.1:${port_of[$1]}/metrics" |
        awk '$1 == "jwtd_token_cache_hits_total" { h = $2 } $1 == "jwtd_token_cache_misses_total" { m = $2 }
            END { printf "%d %d\n", h, m }'
}
declare -A MANY_FILE MANY_N M_RPS_MANY M_CPU_MANY M_P99_MANY HIT_MANY ERR_MANY
many=()
if [[ $MANY = 1 ]]; then
    hs_src=""
    for s in jwtd-hs jwtd-hs0; do
        [[ " ${measured[*]} " = *" $s "* ]] && { hs_src=$s; break; }
    done
    if [[ -n $hs_src ]] && node "$root/bench/server/tokens.js" hs "${token_of[$hs_src]}" "$MANY_HS" >"$tmp/many-hs.txt"; then
        for s in jwtd-hs jwtd-hs0 rust; do MANY_FILE[$s]=$tmp/many-hs.txt; MANY_N[$s]=$MANY_HS; done
    fi
    if [[ " ${measured[*]} " = *" jwtd-ed "* ]] &&
        node "$root/bench/server/tokens.js" refresh "${port_of[jwtd-ed]}" alice "$PASSWORD" "$MANY_ED" >"$tmp/many-ed.txt"; then
        MANY_FILE[jwtd-ed]=$tmp/many-ed.txt; MANY_N[jwtd-ed]=$MANY_ED
    fi
    for s in jwtd-hs jwtd-hs0 rust jwtd-ed; do
        [[ " ${measured[*]} " = *" $s "* && -n ${MANY_FILE[$s]:-} ]] || continue
        f=${MANY_FILE[$s]}
        # the first, the middle and the last token must be accepted
        bad=0
        for l in 1 $(( (MANY_N[$s] + 1) / 2 )) "${MANY_N[$s]}"; do
            code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(sed -n "${l}p" "$f")" \
                "http://127.0.0.1:${port_of[$s]}/me")
            [[ $code = 200 ]] || bad=$code
        done
        if [[ $bad != 0 ]]; then why_not[many-$s]="GET /me with a minted token answered $bad"; continue; fi
        many+=("$s")
    done
    echo "# GET /me over distinct tokens in rotation: ${many[*]:-none}; warm-up $WARM, then $RUNS x $DUR alternating"
    for s in "${many[@]}"; do measure_me "$s" "$WARM" "$CONNS" "${MANY_FILE[$s]}" >/dev/null; done
    declare -A RPS_MANY CPU_MANY P99_MANY HITS_MANY
    for r in $(seq "$RUNS"); do
        for s in "${many[@]}"; do
            h0=(0 0); [[ $s = jwtd-* ]] && read -r -a h0 < <(cache_counts "$s")
            read -r rps _ p99 cpu core err o0 o1 < <(measure_me "$s" "$DUR" "$CONNS" "${MANY_FILE[$s]}")
            hit=-
            if [[ $s = jwtd-* ]]; then
                read -r -a h1 < <(cache_counts "$s")
                hit=$(awk -v h=$(( h1[0] - h0[0] )) -v m=$(( h1[1] - h0[1] )) 'BEGIN { printf "%.1f", (h + m > 0) ? h / (h + m) * 100 : 0 }')
                HITS_MANY[$s]+="$hit "
            fi
            RPS_MANY[$s]+="$rps "; CPU_MANY[$s]+="$cpu "; P99_MANY[$s]+="$p99 "; ERR_MANY[$s]=$(( ${ERR_MANY[$s]:-0} + err ))
            printf 'run %d %-9s %5s tokens %7s req/s  p99 %7s us  %7s us CPU/req  server %3s%%  other %3s%%/%3s%%  cache hits %s%%%s\n' \
                "$r" "$s" "${MANY_N[$s]}" "$rps" "$p99" "$cpu" "$core" "$o0" "$o1" "$hit" "$([[ $err = 0 ]] || echo "  ERRORS $err")"
        done
    done
    for s in "${many[@]}"; do
        M_RPS_MANY[$s]=$(med <<<"${RPS_MANY[$s]}"); M_CPU_MANY[$s]=$(med <<<"${CPU_MANY[$s]}")
        M_P99_MANY[$s]=$(med <<<"${P99_MANY[$s]}"); HIT_MANY[$s]=$([[ $s = jwtd-* ]] && med <<<"${HITS_MANY[$s]}" || echo -)
    done
fi

# ---- GET /me against connections: the chart's other points (CONNS is the table above) ----
declare -A SW_RPS SW_P99
if [[ -n ${SWEEP_CONNS// /} ]]; then
    echo "# GET /me at wrk -c$(tr ' ' '/' <<<"$SWEEP_CONNS"): $RUNS x $DUR each, alternating servers"
    for c in $SWEEP_CONNS; do
        for s in "${measured[@]}"; do measure_me "$s" "$WARM" "$c" >/dev/null; done
        for r in $(seq "$RUNS"); do
            for s in "${measured[@]}"; do
                read -r rps _ p99 _ _ err _ _ < <(measure_me "$s" "$DUR" "$c")
                SW_RPS[$s,$c]+="$rps "; SW_P99[$s,$c]+="$p99 "; ERR[$s]=$(( ${ERR[$s]:-0} + err ))
            done
        done
    done
fi

# ---- POST /login, and GET /me under that load ----
login_done=0
if [[ $LOGIN = 1 && -z $jwtd_missing ]]; then
    hash_s=$("${PIN[@]}" $SERVER_CPU "$ARGON2_BIN" "$ARGON2_T" "$ARGON2_M_KIB" 7)
    bound=$(echo "$cores / $hash_s" | bc -l)
    # Also one check per core at once: memory bandwidth is shared, so this is what the workers can get.
    par_s=$(for c in $(seq 0 $(( cores - 1 ))); do "${PIN[@]}" "$c" "$ARGON2_BIN" "$ARGON2_T" "$ARGON2_M_KIB" 7 & done |
        med)
    # Unpinned: --workers 2 hash on both cores (the bound is cores / hash time); both wrk on core 1.
    start_jwtd jwtd-login "$ALL_CPUS" "$cores" 0
    if [[ -z ${why_not[jwtd-login]:-} ]]; then
        echo "# POST /login: jwtd --threads 1 --workers $cores unpinned (cores $ALL_CPUS), Argon2id t=$ARGON2_T" \
            "m=${ARGON2_M_KIB} KiB; one check takes $(printf '%.1f' "$(echo "$hash_s * 1000" | bc -l)") ms" \
            "-> bound $(printf '%.1f' "$bound") logins/s ($(printf '%.1f' "$(echo "$par_s * 1000" | bc -l)") ms" \
            "with $cores checks at once -> $(printf '%.1f' "$(echo "$cores / $par_s" | bc -l)")/s);" \
            "wrk -c$LOGIN_CONNS on core $CLIENT_CPU"
        login_wrk "$WARM" "$tmp/login.out"
        declare -a L_RPS=() L_CPU=() ME0_P99=() ME0_RPS=() ME1_P99=() ME1_RPS=() L1_RPS=()
        login_err=0
        for r in $(seq "$RUNS"); do
            a=$(ticks "${pid_of[jwtd-login]}")
            login_wrk "$DUR" "$tmp/login.out"
            b=$(ticks "${pid_of[jwtd-login]}")
            read -r lr ln _ le < <(login_figures "$tmp/login.out")
            lcpu=$(awk -v t=$((b - a)) -v hz="$HZ" -v n="$ln" 'BEGIN { printf "%.1f", (n > 0 ? t / hz / n * 1000 : 0) }')
            read -r m0r _ m0p99 _ _ m0e _ _ < <(measure_me jwtd-login "$DUR")
            # The login load starts first and outlasts the GET /me run, so it covers all of it.
            login_wrk "$(( ${DUR%s} + 2 ))s" "$tmp/login-bg.out" bg
            sleep 1
            read -r m1r _ m1p99 _ _ m1e _ _ < <(measure_me jwtd-login "$DUR")
            wait "$bg_pid" || true
            read -r l1r _ _ l1e < <(login_figures "$tmp/login-bg.out")
            L_RPS+=("$lr"); L_CPU+=("$lcpu"); ME0_P99+=("$m0p99"); ME0_RPS+=("$m0r"); ME1_P99+=("$m1p99"); ME1_RPS+=("$m1r")
            L1_RPS+=("$l1r")
            login_err=$(( login_err + le + m0e + m1e + l1e ))
            printf 'run %d login %s/s alone (%s ms jwtd CPU/login), %s/s beside GET /me; GET /me p99 %s us unloaded (%s req/s),' \
                "$r" "$lr" "$lcpu" "$l1r" "$m0p99" "$m0r"
            printf ' %s us under login load (%s req/s)%s\n' "$m1p99" "$m1r" \
                "$( (( le + m0e + m1e + l1e == 0 )) || echo "  ERRORS $(( le + m0e + m1e + l1e ))")"
        done
        login_done=1
    fi
fi

# ---- the table ----
f0() { printf '%.0f' "$1"; }
f2() { printf '%.2f' "$1"; }
ratio() { if [[ -n $2 && $2 != 0 ]]; then f2 "$(echo "$1 / $2" | bc -l)"; else echo -; fi; }
mark() { if (( $(echo "$1" | bc -l) )); then echo PASS; else echo MISS; fi; }
declare -A M_RPS M_CPU
for s in "${measured[@]}"; do M_RPS[$s]=$(med <<<"${RPS[$s]}"); M_CPU[$s]=$(med <<<"${CPU[$s]}"); done
n_rps=${M_RPS[nginx]:-}; n_cpu=${M_CPU[nginx]:-}; r_rps=${M_RPS[rust]:-}
echo
echo "GET /me, medians of $RUNS runs of $DUR (wrk -t1 -c$CONNS; server on core $SERVER_CPU, wrk on core $CLIENT_CPU)"
printf '%-12s %8s %8s %8s %9s %9s %7s %7s %7s %7s %8s %6s\n' server 'req/s' 'best' 'p50 us' 'p99 us' 'CPU/req' \
    'server%' 'other%' 'x nginx' 'x rust' 'CPU x ng' errors
for s in $SERVERS; do
    if [[ -n ${why_not[$s]:-} || -z ${M_RPS[$s]:-} ]]; then
        printf '%-12s not measured: %s\n' "$s" "${why_not[$s]:-not started}"
        continue
    fi
    printf '%-12s %8s %8s %8s %9s %9s %7s %7s %7s %7s %8s %6s\n' "$s" "$(f0 "${M_RPS[$s]}")" \
        "$(tr ' ' '\n' <<<"${RPS[$s]}" | sort -g | tail -n 1)" \
        "$(f0 "$(med <<<"${P50[$s]}")")" "$(f0 "$(med <<<"${P99[$s]}")")" "$(f2 "${M_CPU[$s]}")" \
        "$(f0 "$(med <<<"${CORE[$s]}")")" "$(f0 "$(med <<<"${OTHER0[$s]}")")/$(f0 "$(med <<<"${OTHER1[$s]}")")" "$(ratio "${M_RPS[$s]}" "$n_rps")" "$(ratio "${M_RPS[$s]}" "$r_rps")" \
        "$(ratio "${M_CPU[$s]}" "$n_cpu")" "${ERR[$s]}"
done
echo "(req/s, p50, p99, CPU/req: medians; best: the highest req/s of the runs; CPU/req: server utime+stime"
echo " over the run / requests, in us; server%: the server's CPU over the run; other%: what everything else"
echo " (other processes, interrupts) took of the server's core / of wrk's core meanwhile: the noise)"
if [[ $MANY = 1 ]]; then
    echo
    echo "GET /me over distinct tokens in rotation (issue 11), medians of $RUNS runs of $DUR (wrk -t1 -c$CONNS -s bench/server/many.lua)"
    printf '%-10s %7s %8s %9s %9s %10s %8s %8s %8s %6s\n' server tokens 'req/s' 'p99 us' 'CPU/req' \
        'one token' 'x one' 'x rust' 'cache%' errors
    for s in jwtd-hs jwtd-hs0 rust jwtd-ed; do
        [[ " $SERVERS " = *" $s "* ]] || continue
        if [[ -z ${M_CPU_MANY[$s]:-} ]]; then
            printf '%-10s not measured: %s\n' "$s" "${why_not[many-$s]:-${why_not[$s]:-no tokens}}"; continue
        fi
        xr=-; [[ $s != jwtd-ed && -n ${M_CPU_MANY[rust]:-} ]] && xr=$(ratio "${M_CPU_MANY[$s]}" "${M_CPU_MANY[rust]}")
        printf '%-10s %7s %8s %9s %9s %10s %8s %8s %8s %6s\n' "$s" "${MANY_N[$s]}" "$(f0 "${M_RPS_MANY[$s]}")" \
            "$(f0 "${M_P99_MANY[$s]}")" "$(f2 "${M_CPU_MANY[$s]}")" "$(f2 "${M_CPU[$s]:-0}")" \
            "$(ratio "${M_CPU_MANY[$s]}" "${M_CPU[$s]:-}")" "$xr" "${HIT_MANY[$s]}" "${ERR_MANY[$s]:-0}"
    done
    echo "(CPU/req: server CPU per request in us, as above; one token: the same server's CPU/req in the first"
    echo " table; x one: many / one token; x rust: CPU/req / the Rust peer's over the same tokens; cache%: hits of"
    echo " jwtd's verified-token cache over the runs, from /metrics; jwtd-hs0 runs with --token-cache 0)"
fi
if [[ -n ${SWEEP_CONNS// /} ]]; then
    sweep=$(tr ' ' '\n' <<<"$SWEEP_CONNS $CONNS" | sort -gu | tr '\n' ' ')
    echo
    echo "GET /me req/s and p99 (us) against wrk connections, medians of $RUNS runs of $DUR"
    printf '%-12s' server; for c in $sweep; do printf ' %16s' "c$c req/s p99"; done; echo
    # the chart data (scripts/bench-charts.sh): server connections req/s p99_us
    dat=$work/conns.dat
    echo "# server conns rps p99_us ($(date -u +%FT%TZ), $RUNS x $DUR medians)" >"$dat"
    for s in "${measured[@]}"; do
        printf '%-12s' "$s"
        for c in $sweep; do
            if [[ $c = "$CONNS" ]]; then
                r=${M_RPS[$s]}; p=$(med <<<"${P99[$s]}")
            else
                r=$(med <<<"${SW_RPS[$s,$c]}"); p=$(med <<<"${SW_P99[$s,$c]}")
            fi
            printf ' %8s %7s' "$(f0 "$r")" "$(f0 "$p")"
            echo "$s $c $(f0 "$r") $(f0 "$p")" >>"$dat"
        done
        echo
    done
    echo "(data for the charts in $dat)"
fi
echo
echo "Targets (issue 3; figures only, never a failure)"
target_row() { printf '  %-58s %-22s %s\n' "$1" "$2" "$3"; }
for j in jwtd-hs jwtd-ed; do
    label=$([[ $j = jwtd-hs ]] && echo HS256 || echo EdDSA)
    if [[ -z ${M_RPS[$j]:-} ]]; then
        target_row "GET /me $label: all targets" "not measured" MISS; continue
    fi
    if [[ -n $n_rps ]]; then
        x=$(ratio "${M_RPS[$j]}" "$n_rps"); target_row "GET /me $label req/s >= 0.9x nginx" "${x}x" "$(mark "$x >= 0.9")"
        x=$(ratio "${M_CPU[$j]}" "$n_cpu"); target_row "GET /me $label CPU/req <= 1.2x nginx" "${x}x" "$(mark "$x <= 1.2")"
    else
        target_row "GET /me $label vs nginx" "nginx not measured" MISS
    fi
    if [[ -n $r_rps ]]; then
        x=$(ratio "${M_RPS[$j]}" "$r_rps"); target_row "GET /me $label req/s >= 1.1x Rust hyper+jsonwebtoken" "${x}x" "$(mark "$x >= 1.1")"
    else
        target_row "GET /me $label vs Rust peer" "rust not measured" MISS
    fi
done
if [[ -n ${M_CPU_MANY[jwtd-hs]:-} && -n ${M_CPU_MANY[rust]:-} ]]; then
    x=$(ratio "${M_CPU_MANY[jwtd-hs]}" "${M_CPU_MANY[rust]}")
    target_row "GET /me $MANY_HS HS256 tokens CPU/req <= 0.8x Rust (issue 11)" "${x}x" "$(mark "$x <= 0.8")"
fi
if [[ -n ${M_CPU_MANY[jwtd-hs0]:-} && -n ${M_CPU_MANY[rust]:-} ]]; then
    x=$(ratio "${M_CPU_MANY[jwtd-hs0]}" "${M_CPU_MANY[rust]}")
    target_row "  the same, jwtd --token-cache 0 (every request verifies)" "${x}x" "$(mark "$x <= 0.8")"
fi
if [[ -n ${M_CPU_MANY[jwtd-ed]:-} && -n ${M_CPU[jwtd-ed]:-} ]]; then
    x=$(ratio "${M_CPU_MANY[jwtd-ed]}" "${M_CPU[jwtd-ed]}")
    target_row "GET /me EdDSA $MANY_ED tokens <= 1.5x one token (issue 11)" "${x}x" "$(mark "$x <= 1.5")"
fi
if [[ $login_done = 1 ]]; then
    lm=$(printf '%s\n' "${L_RPS[@]}" | med); x=$(ratio "$lm" "$bound")
    target_row "POST /login req/s within 10% of $cores cores / hash ($(f0 "$bound")/s)" "$(printf '%.1f/s = %sx' "$lm" "$x")" "$(mark "$x >= 0.9")"
    p0=$(printf '%s\n' "${ME0_P99[@]}" | med); p1=$(printf '%s\n' "${ME1_P99[@]}" | med); x=$(ratio "$p1" "$p0")
    target_row "GET /me p99 under login load <= 2x unloaded" "$(f0 "$p1") / $(f0 "$p0") us = ${x}x" "$(mark "$x <= 2")"
    echo "  (jwtd CPU per login $(printf '%s\n' "${L_CPU[@]}" | med) ms; one Argon2id check" \
        "$(printf '%.1f' "$(echo "$hash_s * 1000" | bc -l)") ms alone, $(printf '%.1f' "$(echo "$par_s * 1000" | bc -l)") ms $cores at once)"
    echo "  (login load: $(printf '%.1f' "$(printf '%s\n' "${L1_RPS[@]}" | med)") logins/s beside GET /me;" \
        "GET /me req/s $(f0 "$(printf '%s\n' "${ME0_RPS[@]}" | med)") unloaded," \
        "$(f0 "$(printf '%s\n' "${ME1_RPS[@]}" | med)") under login load; errors $login_err)"
elif [[ $LOGIN = 1 ]]; then
    target_row "POST /login and GET /me p99 under login load" "not measured: ${jwtd_missing:-${why_not[jwtd-login]:-}}" MISS
fi
echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg); wall time $(( $(date +%s) - t_start )) s"

# A failure is a measurement that could not be made or had errors, never a timing.
status=0
for s in $SERVERS; do [[ -n ${why_not[$s]:-} ]] && status=1; done
for s in "${measured[@]}"; do (( ${ERR[$s]:-0} == 0 )) || status=1; done
for s in "${many[@]}"; do (( ${ERR_MANY[$s]:-0} == 0 )) || status=1; done
[[ $LOGIN = 1 && $login_done = 0 ]] && status=1
[[ $login_done = 1 ]] && (( login_err > 0 )) && status=1
exit $status

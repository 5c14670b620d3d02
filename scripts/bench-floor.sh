#!/usr/bin/env bash
# GET /me's server CPU per request beside its floors, in one run (issue 11): nginx's `return 200`
# (../shared/bench/nginx), a minimal server over the same libh2o that answers a fixed body
# (bench/server/h2o_min.c: h2o's own cost), and jwtd serve (HS256, one token). Each on core 0 with
# one thread, wrk -t1 -c64 on core 1, measured alternately RUNS times; medians of req/s and CPU per
# request (utime+stime of the server / requests). Figures only; never a failure for a timing.
# Usage: scripts/bench-floor.sh BUILD_DIR    (env: RUNS=5 DUR=5s PORT_BASE=18700 JWTD=...)
set -euo pipefail
RUNS=${RUNS:-5}
DUR=${DUR:-5s}
PORT_BASE=${PORT_BASE:-18700}
BENCH_NICE=${BENCH_NICE:--10}
die() { echo "bench-floor: $*" >&2; exit 1; }
# A session of our own whose priority is raised (scripts/bench-session.sh).
# shellcheck source=scripts/bench-session.sh
source "$(dirname "$0")/bench-session.sh"
bench_own_session "$0" "$@"
[[ $# -eq 1 && -d $1 ]] || die "usage: scripts/bench-floor.sh BUILD_DIR"
[[ $DUR =~ ^[1-9][0-9]*s$ && $RUNS =~ ^[1-9][0-9]?$ ]] || die "DUR must be whole seconds (5s), RUNS 1..99"
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
JWTD=${JWTD:-$build/src/cli/jwtd}
peers=${PEERS_DIR:-$root/../shared/bench}
[[ -x $JWTD ]] || die "$JWTD not built"
[[ -f $peers/nginx/nginx.conf.in ]] || die "no nginx peer at $peers (set PEERS_DIR)"
for t in wrk nginx taskset curl cc pkg-config python3; do command -v "$t" >/dev/null || die "$t not found (run scripts/deps.sh)"; done
[[ $(nice -n "$BENCH_NICE" nice 2>/dev/null) = "$BENCH_NICE" ]] || BENCH_NICE=0
PIN=(nice -n "$BENCH_NICE" taskset -c)
HZ=$(getconf CLK_TCK)
work=$build/bench-floor
mkdir -p "$work"
H2O_MIN=$work/h2o_min
if [[ ! -x $H2O_MIN || $root/bench/server/h2o_min.c -nt $H2O_MIN ]]; then
    # shellcheck disable=SC2046  # pkg-config's flags are words
    cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$H2O_MIN" "$root/bench/server/h2o_min.c" \
        $(pkg-config --cflags --libs libh2o-evloop openssl) || die "cannot build bench/server/h2o_min.c"
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jwtd-bench-floor.XXXXXX")
declare -A PID PORT TOK RPS CPU
cleanup() { kill "${PID[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
names=(nginx h2o-min jwtd)
i=0; for n in "${names[@]}"; do PORT[$n]=$((PORT_BASE + i)); i=$((i + 1)); done
for n in "${names[@]}"; do
    (: <"/dev/tcp/127.0.0.1/${PORT[$n]}") 2>/dev/null && die "port ${PORT[$n]} is already in use (set PORT_BASE)"
done
mkdir -p "$tmp/nginx/tmp"
sed "s|@PORT@|${PORT[nginx]}|;s|@PREFIX@|$tmp/nginx|" "$peers/nginx/nginx.conf.in" >"$tmp/nginx/nginx.conf"
"${PIN[@]}" 0 nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.log" 2>&1 & PID[nginx]=$!
"${PIN[@]}" 0 "$H2O_MIN" "${PORT[h2o-min]}" >"$tmp/h2o.log" 2>&1 & PID[h2o-min]=$!
export JWT_SECRET=bench-secret-bench-secret-bench-secret-0123
"${PIN[@]}" 0 "$JWTD" serve --listen "127.0.0.1:${PORT[jwtd]}" --db "$tmp/j.db" --threads 1 --workers 1 \
    --argon2-t 1 --argon2-m-kib 8 --log-level warn >"$tmp/jwtd.log" 2>&1 & PID[jwtd]=$!
for n in "${names[@]}"; do
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:${PORT[$n]}/" && break; sleep 0.1; done
done
TOK[jwtd]=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"username":"bench","password":"bench-password-1"}' \
    "http://127.0.0.1:${PORT[jwtd]}/register" | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')
TOK[nginx]=${TOK[jwtd]}; TOK[h2o-min]=${TOK[jwtd]}   # the same request bytes to all three
one() {  # NAME DUR -> "req/s cpu_us non2xx"
    local n=$1 t0 t1 out
    t0=$(sed 's/^.*) //' "/proc/${PID[$n]}/stat" | awk '{ print $12 + $13 }')
    out=$("${PIN[@]}" 1 wrk -t1 -c64 -d"$2" -H "Authorization: Bearer ${TOK[$n]}" "http://127.0.0.1:${PORT[$n]}/me")
    t1=$(sed 's/^.*) //' "/proc/${PID[$n]}/stat" | awk '{ print $12 + $13 }')
    awk -v t=$((t1 - t0)) -v hz="$HZ" '/requests in/ { n = $1 } /Requests\/sec/ { r = $2 } /Non-2xx/ { e = $NF }
        END { printf "%.0f %.2f %d\n", r, (n > 0 ? t / hz / n * 1e6 : 0), e }' <<<"$out"
}
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg); jwtd $JWTD" \
    "(source $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')); servers on core 0, wrk -t1 -c64 on core 1"
for n in "${names[@]}"; do one "$n" 2s >/dev/null; done   # warm-up
errors=0
for r in $(seq "$RUNS"); do
    for n in "${names[@]}"; do
        read -r rps cpu bad < <(one "$n" "$DUR")
        RPS[$n]+="$rps "; CPU[$n]+="$cpu "; errors=$((errors + bad))
        printf 'run %d %-8s %8s req/s %6s us CPU/req%s\n' "$r" "$n" "$rps" "$cpu" "$([[ $bad = 0 ]] || echo "  non-2xx $bad")"
    done
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
nc=$(med <<<"${CPU[nginx]}")
echo
printf '%-8s %9s %9s %9s\n' server 'req/s' 'CPU/req' 'x nginx'
for n in "${names[@]}"; do
    c=$(med <<<"${CPU[$n]}")
    printf '%-8s %9.0f %9.2f %9.2f\n' "$n" "$(med <<<"${RPS[$n]}")" "$c" "$(echo "$c / $nc" | bc -l)"
done
echo "(medians of $RUNS runs of $DUR; CPU/req in us; load average at end $(cut -d' ' -f1-3 /proc/loadavg))"
(( errors == 0 ))

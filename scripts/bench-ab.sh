#!/usr/bin/env bash
# A/B of GET /me between two jwtd binaries (e.g. before and after a change), in one run on the
# same machine: both servers up at once on core 0 (one event loop, one worker, HS256), wrk -t1
# -c64 on core 1, the two measured alternately RUNS times. Prints req/s and the server's CPU
# per request of every run, then the medians. Figures only; never a failure.
# usage: scripts/bench-ab.sh OLD_JWTD NEW_JWTD      (env: RUNS=3 DUR=5s PORT_BASE=18400 TOKENS=0)
# TOKENS=N: N distinct HS256 tokens in rotation (bench/server/many.lua, minted by
# bench/server/tokens.js from each server's own token) instead of one token.
set -euo pipefail
[[ $# -eq 2 && -x $1 && -x $2 ]] || { echo "usage: scripts/bench-ab.sh OLD_JWTD NEW_JWTD" >&2; exit 2; }
RUNS=${RUNS:-3}
DUR=${DUR:-5s}
PORT_BASE=${PORT_BASE:-18400}
TOKENS=${TOKENS:-0}
[[ $TOKENS =~ ^[0-9]+$ ]] || { echo "bench-ab: TOKENS must be a count" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
for t in wrk curl taskset bc python3 $([[ $TOKENS = 0 ]] || echo node); do
    command -v "$t" >/dev/null || { echo "bench-ab: $t not found (run scripts/deps.sh)" >&2; exit 1; }
done
export JWT_SECRET=bench-secret-bench-secret-bench-secret-0123
declare -A BIN=([old]=$1 [new]=$2) PORT=([old]=$((PORT_BASE + 1)) [new]=$((PORT_BASE + 2)))
declare -A PID TOK RPS CPU HOW
HZ=$(getconf CLK_TCK)
NICE=(nice -n -10)
[[ $(nice -n -10 nice 2>/dev/null) = -10 ]] || NICE=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jwtd-bench-ab.XXXXXX")
cleanup() { kill "${PID[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for k in old new; do
    "${NICE[@]}" taskset -c 0 "${BIN[$k]}" serve --listen "127.0.0.1:${PORT[$k]}" --db "$tmp/$k.db" \
        --threads 1 --workers 1 --argon2-t 1 --argon2-m-kib 8 --log-level warn >"$tmp/$k.log" 2>&1 &
    PID[$k]=$!
done
for k in old new; do
    for _ in $(seq 50); do curl -fs "http://127.0.0.1:${PORT[$k]}/healthz" >/dev/null && break; sleep 0.1; done
    TOK[$k]=$(curl -fs -X POST -H 'Content-Type: application/json' \
        -d '{"username":"bench","password":"bench-password-1"}' "http://127.0.0.1:${PORT[$k]}/register" |
        python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')
    HOW[$k]="-H|Authorization: Bearer ${TOK[$k]}|http://127.0.0.1:${PORT[$k]}/me"
    if [[ $TOKENS != 0 ]]; then
        node "$root/bench/server/tokens.js" hs "${TOK[$k]}" "$TOKENS" >"$tmp/$k.tokens"
        HOW[$k]="-s|$root/bench/server/many.lua|http://127.0.0.1:${PORT[$k]}/me|--|$tmp/$k.tokens"
    fi
    IFS='|' read -r -a how <<<"${HOW[$k]}"
    "${NICE[@]}" taskset -c 1 wrk -t1 -c64 -d2s "${how[@]}" >/dev/null   # warm-up
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for run in $(seq "$RUNS"); do
    for k in old new; do
        t0=$(awk '{print $14 + $15}' "/proc/${PID[$k]}/stat")
        IFS='|' read -r -a how <<<"${HOW[$k]}"
        out=$("${NICE[@]}" taskset -c 1 wrk -t1 -c64 -d"$DUR" "${how[@]}")
        t1=$(awk '{print $14 + $15}' "/proc/${PID[$k]}/stat")
        reqs=$(awk '/requests in/ {print $1}' <<<"$out")
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        bad=$(awk '/Non-2xx/ {print $4}' <<<"$out")
        cpu=$(echo "scale=2; ($t1 - $t0) * 1000000 / $HZ / $reqs" | bc)
        RPS[$k]="${RPS[$k]:-} $rps"
        CPU[$k]="${CPU[$k]:-} $cpu"
        printf 'run %d %-3s %10.0f req/s %7.2f us CPU/req  non-2xx %s\n' "$run" "$k" "$rps" "$cpu" "${bad:-0}"
    done
done
for k in old new; do
    # shellcheck disable=SC2086
    printf 'median %-3s %10.0f req/s %7.2f us CPU/req  (%s)\n' "$k" "$(median ${RPS[$k]})" \
        "$(median ${CPU[$k]})" "${BIN[$k]}"
done

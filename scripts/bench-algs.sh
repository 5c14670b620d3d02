#!/usr/bin/env bash
# The figures behind jwtd serve's default signing algorithm (issue 11; docs/BENCHMARKS.md,
# "Default algorithm"): for EdDSA, ES256, RS256 and PS256, the size of a jwtd token and what
# signing and verifying it costs in the verifiers resource servers use — Node (jose,
# jsonwebtoken, bare node:crypto), Python (PyJWT) and Rust (jsonwebtoken 8) — each pinned to
# one core. libjwtd's own figures are bench_jose's table (scripts/bench.sh). Peers that are not
# installed are skipped with a note. Figures only: never fails on a timing.
# Usage: scripts/bench-algs.sh BUILD_DIR   (env: BENCH_CPU)
set -euo pipefail

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
jwtd="$build/src/cli/jwtd"
cpu=${BENCH_CPU:-$(($(nproc) > 1 ? 1 : 0))}
pin=()
command -v taskset >/dev/null 2>&1 && pin=(taskset -c "$cpu")
[[ -x "$jwtd" ]] || { echo "bench-algs: $jwtd not built" >&2; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
claims='{"iss":"https://auth.example.com","sub":"user-8f14e45fceea167a","aud":"https://api.example.com","jti":"1b4e28ba-2fa1-11d2-883f-0016d3cca427","roles":["user","billing:read","admin"]}'
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); pinned to CPU $cpu"
echo
echo "jwtd token sign: the bench claims, header alg + typ JWT + kid (43-char thumbprint)"
echo "alg    token bytes  signature (base64url chars)"
for alg in EdDSA ES256 RS256 PS256; do
    "$jwtd" keygen --alg "$alg" --out "$dir/$alg.pem" >/dev/null
    openssl pkey -in "$dir/$alg.pem" -pubout -out "$dir/$alg.pub.pem"
    tok=$("$jwtd" token sign --key "$dir/$alg.pem" --alg "$alg" --typ JWT --exp-in 900 "$claims")
    printf '%-6s %-12s %s\n' "$alg" "${#tok}" "$(printf '%s' "${tok##*.}" | wc -c)"
done

echo
modules="$build/tests/interop/node_modules"
if command -v node >/dev/null 2>&1 && [[ -d "$modules/jose" && -d "$modules/jsonwebtoken" ]]; then
    NODE_PATH="$modules" "${pin[@]}" node "$root/bench/peers/verify_algs.js"
else
    echo "node: skipped (needs node and $modules from the interop.npm-setup test)"
fi

echo
if /usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null; then
    "${pin[@]}" /usr/bin/python3 "$root/bench/peers/verify_algs.py"
else
    echo "python: skipped (needs Debian's python3-jwt and python3-cryptography)"
fi

echo
rust="$root/bench/peers/rust"
if command -v cargo >/dev/null 2>&1 && (cd "$rust" && cargo build --release --offline -q) 2>/dev/null; then
    "${pin[@]}" "$rust/target/release/jwtd-verify-algs" "$dir"
else
    echo "rust: skipped (needs cargo and Debian's librust-jsonwebtoken-dev, built offline)"
fi

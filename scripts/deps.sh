#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that jwtd's build, tests, fuzzing, lint and benchmarks need.
# Idempotent: asks dpkg what is missing and installs only that. `--check` installs nothing and
# exits 0 only when everything is present (the Makefile runs it before `make run`/`make test`).
set -euo pipefail

# The one list. Grouped by what needs it; keep DESIGN.md's dependency table in step.
PACKAGES=(
    # build
    build-essential cmake pkg-config
    libssl-dev libsodium-dev libjansson-dev
    # the server: HTTP (h2o with its own event loop), store, legacy password hashes
    libh2o-evloop-dev libsqlite3-dev libcrypt-dev
    # the PostgreSQL store (libpq), and the server its tests start in a temporary folder
    # (tests/support/pgtest.sh; the machine's own service is neither needed nor used)
    libpq-dev postgresql
    # tests: unit (cmocka), integration (libcurl); libcurl is also libjwtd-rs's HTTP client
    libcmocka-dev libcurl4-openssl-dev
    # libjwtd-rs: its libmicrohttpd example service, and the JWKS server of its unit tests
    libmicrohttpd-dev
    # CLI tests drive the openssl command to make keys
    openssl
    # fuzzing (libFuzzer) and sanitizer runtimes for clang
    clang libclang-rt-14-dev
    # memcheck of the unit tests
    valgrind
    # interop peers, run with /usr/bin/python3
    python3 python3-jwt python3-jwcrypto python3-cryptography
    # benchmark peers: C libraries, and the HTTP load generator and ceiling for make bench;
    # gnuplot draws its charts (docs/bench, scripts/bench-charts.sh)
    libjwt-dev libcjose-dev wrk nginx-light gnuplot-nox
    # make lint
    cppcheck clang-tidy
    # the browser test of the demo page (tests/browser): Debian's Chromium, run headless by
    # npm's playwright-core, which never downloads a browser of its own
    chromium
    # tests/install (issue 12): systemd-analyze verify of contrib/jwtd.service, and promtool
    # check metrics of /metrics. Debian ships promtool only in the prometheus package (about
    # 96 MB installed, no lighter one); its service is not started nor used.
    systemd prometheus
)
# Node.js and npm run the npm interop peers (jose, jsonwebtoken). A NodeSource nodejs already
# bundles npm and conflicts with Debian's npm package, so these are only wanted when the
# commands are absent.
NODE_PACKAGES=(nodejs npm)

usage() {
    echo "usage: scripts/deps.sh [--check]" >&2
    echo "  installs missing packages with apt-get (root, or sudo); --check only reports" >&2
    exit 2
}

check_only=false
case "${1:-}" in
"") ;;
--check) check_only=true ;;
-h | --help) usage ;;
*) usage ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: dpkg-query not found: this script supports Debian and Ubuntu only." >&2
    echo "deps.sh: install the equivalents of: ${PACKAGES[*]} nodejs npm" >&2
    exit 1
fi

# Prints the packages of "$@" that dpkg does not report as fully installed.
missing_of() {
    local pkg status
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
        [[ $status == ii* ]] || echo "$pkg"
    done
}

mapfile -t missing < <(missing_of "${PACKAGES[@]}")
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    mapfile -t -O "${#missing[@]}" missing < <(missing_of "${NODE_PACKAGES[@]}")
fi

if ((${#missing[@]} == 0)); then
    echo "deps.sh: all ${#PACKAGES[@]} packages present (and node $(node --version), npm $(npm --version))"
    exit 0
fi

echo "deps.sh: missing: ${missing[*]}"
if $check_only; then
    exit 1
fi

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "deps.sh: not root and no sudo: install as root: apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "deps.sh: installing: ${missing[*]}"
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" </dev/null

mapfile -t still < <(missing_of "${missing[@]}")
if ((${#still[@]} != 0)); then
    echo "deps.sh: still missing after apt-get install: ${still[*]}" >&2
    exit 1
fi
echo "deps.sh: installed ${#missing[@]} package(s)"

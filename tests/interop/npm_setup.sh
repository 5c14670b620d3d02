#!/bin/sh
# CTest fixture of npm packages pinned by a package-lock.json: installs them into
# DEST/node_modules with `npm ci`, so the tests that need them run offline after it.
# interop.npm-setup installs the npm peers (jose, jsonwebtoken, oauth4webapi; the default NAME
# and MODULEs); tests/browser reuses it for playwright-core.
# Usage: npm_setup.sh SOURCE_DIR DEST_DIR NPM NODE [NAME [MODULE...]]
set -u
src=$1 dest=$2 npm=$3 node=$4
shift 4
name=${1:-interop.npm-setup}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- jose jsonwebtoken oauth4webapi

fail() {
    echo "$name: FAIL: $*" >&2
    exit 1
}

case $node in *NOTFOUND* | "") fail "node not found (Debian: apt-get install nodejs)" ;; esac
case $npm in *NOTFOUND* | "") fail "npm not found (Debian: apt-get install npm)" ;; esac
echo "node $("$node" --version), npm $("$npm" --version 2>/dev/null)"

mkdir -p "$dest" || fail "cannot create $dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/" || fail "cannot copy package files"
# npm ci never changes the lock file and installs exactly what it pins; the timeout bounds a
# registry that does not answer (npm's own retries can otherwise take many minutes).
if ! timeout 240 "$npm" ci --no-audit --no-fund --prefix "$dest"; then
    fail "'npm ci' into $dest failed: is the npm registry reachable? (needs: $*)"
fi
(cd "$dest" && "$node" -e \
    'for (const m of process.argv.slice(1)) console.log(m, require(m + "/package.json").version)' \
    -- "$@") || fail "the packages installed in $dest do not load"

#!/usr/bin/env bash
# `make lint`: the formatting of every C file against .clang-format (clang-format --dry-run
# --Werror), then clang-tidy (checks in .clang-tidy, and tests/.clang-tidy for the tests; compile
# flags from BUILD/compile_commands.json) and cppcheck over the project's own C sources (src/,
# examples/, tests/, bench/). Exits non-zero on any finding.
# usage: scripts/lint.sh BUILD_DIR
set -euo pipefail
if (($# != 1)); then
    echo "usage: scripts/lint.sh BUILD_DIR (configured with CMAKE_EXPORT_COMPILE_COMMANDS=ON)" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
if [[ ! -f $build/compile_commands.json ]]; then
    echo "lint: $build/compile_commands.json missing: configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON" >&2
    exit 2
fi
cd "$root"
# The project's own C files that the build compiles (so clang-tidy has their exact flags).
sources=()
while IFS= read -r f; do
    if grep -qF "\"file\": \"$root/$f\"" "$build/compile_commands.json"; then
        sources+=("$f")
    fi
done < <(find src examples tests bench -name '*.c' | sort)

status=0
echo "lint: clang-format on every .c and .h"
if ! find src include examples tests bench \( -name '*.c' -o -name '*.h' \) -print0 | sort -z |
    xargs -0 clang-format --dry-run --Werror; then
    echo "lint: formatting differs from .clang-format (fix with clang-format -i FILE)" >&2
    status=1
fi
echo "lint: clang-tidy on ${#sources[@]} files"
# Two at a time: the machine has two cores.
if ! printf '%s\0' "${sources[@]}" |
    xargs -0 -n 4 -P 2 clang-tidy -p "$build" --quiet 2> >(grep -v '^[0-9]* warnings\? generated\.$' >&2); then
    status=1
fi

echo "lint: cppcheck"
# -Isrc finds src/http's "http/http_internal.h", whose #error wants H2O_USE_EPOLL=1: the
# definition src/http/CMakeLists.txt gives jwtd_http.
if ! cppcheck --quiet --std=c11 --enable=warning,performance,portability --error-exitcode=1 \
    --inline-suppr -D_GNU_SOURCE -DH2O_USE_EPOLL=1 -Iinclude -Isrc -Isrc/jose -j 2 \
    src examples tests bench; then
    status=1
fi

if ((status == 0)); then
    echo "lint: clean"
else
    echo "lint: findings above" >&2
fi
exit "$status"

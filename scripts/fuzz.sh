#!/usr/bin/env bash
# Runs each libFuzzer harness of a fuzz build (make fuzz: clang, -DJWTD_FUZZ=ON) for a bounded time,
# starting from tests/fuzz/seeds/<harness> and tests/fuzz/regressions/<harness>, with the
# dictionary tests/fuzz/<harness>.dict when there is one (fuzz_jwrite: fuzz_json.dict; else jose.dict).
# Usage: scripts/fuzz.sh BUILD_DIR [SECONDS_PER_HARNESS (default 60)]. Exit 1 if any harness crashed.
set -euo pipefail

build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS]}
secs=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz_src="$root/tests/fuzz"
work="$build/fuzz"
harnesses=(fuzz_verify fuzz_jwk fuzz_pem fuzz_json fuzz_header fuzz_jwrite fuzz_request fuzz_config fuzz_framing)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for h in "${harnesses[@]}"; do
    bin="$build/tests/fuzz/$h"
    if [[ ! -x "$bin" ]]; then
        echo "fuzz: $bin not built (configure with CC=clang -DJWTD_FUZZ=ON)" >&2
        exit 1
    fi
    corpus="$work/corpus/$h"
    artifacts="$work/artifacts/$h"
    log="$work/$h.log"
    mkdir -p "$corpus" "$artifacts"
    # New inputs go to the first directory (in the build tree); seeds and regressions are only read.
    dirs=("$corpus" "$fuzz_src/seeds/$h")
    [[ -d "$fuzz_src/regressions/$h" ]] && dirs+=("$fuzz_src/regressions/$h")
    # fuzz_json also starts from JSONTestSuite's files when the shared vectors are there.
    suite="$root/../shared/vectors/jsontestsuite/test_parsing"
    [[ $h == fuzz_json && -d "$suite" ]] && dirs+=("$suite")
    # A harness's own dictionary (tests/fuzz/<harness>.dict), else the JOSE one.
    dict="$fuzz_src/$h.dict"
    [[ $h == fuzz_jwrite ]] && dict="$fuzz_src/fuzz_json.dict" # JSON, as fuzz_json's
    [[ -f "$dict" ]] || dict="$fuzz_src/jose.dict"
    echo "fuzz: $h for ${secs}s (log: $log)"
    if "$bin" -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -dict="$dict" -artifact_prefix="$artifacts/" \
        "${dirs[@]}" >"$log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed "s/^/  $h: /" || true
        echo "  $h: corpus $(find "$corpus" -type f | wc -l) files, no crash"
    else
        failed=1
        echo "  $h: CRASH or error; the report:"
        grep -m1 -nE 'ERROR:|runtime error:|==[0-9]+==|deadly signal|fuzz_[a-z]+: ' "$log" | head -5 || true
        sed -n '/ERROR\|runtime error\|deadly signal/,+40p' "$log" | head -60
        for a in "$artifacts"/*; do
            [[ -f "$a" ]] || continue
            echo "  input saved: $a"
            echo "  keep it as a regression: cp '$a' '$fuzz_src/regressions/$h/'"
        done
    fi
done
exit "$failed"

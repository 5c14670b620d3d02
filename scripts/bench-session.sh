# shellcheck shell=bash
# Sourced by the server benchmarks (scripts/bench-server.sh, bench-load.sh, bench-floor.sh).
# bench_own_session SCRIPT ARGS...: with autogroup scheduling, nice only ranks the processes of one
# session, so to keep other sessions' work (other builds on a shared machine) off the measured
# cores, SCRIPT is run again in a session of its own whose priority is raised to BENCH_NICE, and
# this shell exits with its status (signals reach the new session too). In that run the function
# only sets the session's priority and returns. Nothing happens when BENCH_NICE is 0 or the
# priority cannot be set.
bench_own_session() {
    local script=$1 child rc
    shift
    if [[ -n ${BENCH_OWN_SESSION:-} ]]; then
        echo "$BENCH_NICE" 2>/dev/null >/proc/self/autogroup || true
        return 0
    fi
    if [[ $BENCH_NICE == 0 || ! -w /proc/self/autogroup ]] || ! command -v setsid >/dev/null; then
        return 0
    fi
    BENCH_OWN_SESSION=1 setsid bash "$script" "$@" &
    child=$!
    # shellcheck disable=SC2064  # the pid now, not when the trap runs
    trap "kill -TERM $child 2>/dev/null" INT TERM
    while :; do
        wait "$child" && exit 0
        rc=$?
        kill -0 "$child" 2>/dev/null || exit "$rc"
    done
}

#!/usr/bin/env bash
# What an operator relies on after `make install`, each checked with the tool they would use:
#   stage STAGE BUILD      cmake --install BUILD --prefix STAGE (the prefix given at install
#                          time, as `make install PREFIX=` does) and the files it must hold
#   serve STAGE            the installed jwtd serve, started from an unrelated folder, finds
#                          its demo page: GET / is 200 with the installed index.html
#   systemd STAGE          the installed unit passes `systemd-analyze verify` without a word
#   man STAGE              every option of every command group's --help is in its man page,
#                          and jwtd(1) names every group's page
#   completion STAGE       the installed bash completion offers the commands, subcommands and
#                          options that --help lists
#   metrics JWTD           /metrics of a server that answered a registration passes
#                          `promtool check metrics` (format and naming lint) and has the
#                          histograms; /admin/metrics has their counts
#   signals JWTD           SIGHUP leaves jwtd serve running; SIGTERM lets a slow request in
#                          flight finish (its 201) and the process exit 0
set -euo pipefail
mode=$1 arg=$2
bin=$arg/bin/jwtd
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
scratch=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$scratch"
}
trap cleanup EXIT

# start_server JWTD ARGS...: runs jwtd serve in $scratch/run (port 0) and sets $addr.
start_server() {
    local jwtd=$1
    shift
    mkdir -p "$scratch/run"
    (cd "$scratch/run" && exec "$jwtd" serve --listen 127.0.0.1:0 --db "$scratch/run/j.db" \
        "$@" >"$scratch/out" 2>"$scratch/err") &
    server_pid=$!
    for _ in $(seq 100); do
        addr=$(sed -n 's|^jwtd: listening on http://\([^ ]*\) .*|\1|p' "$scratch/out")
        [[ -n $addr ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$scratch/err" >&2
    fail "jwtd serve did not start"
}

# The groups of `jwtd --help` (lines "  group ..." under Commands).
groups_of() { "$1" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | grep -vx jwtd | sort -u; }
options_of() { "$@" --help | { grep -o -- '--[a-z][a-z0-9-]*' || true; } | sort -u; }

case $mode in
stage)
    build=$3
    rm -rf "$arg"
    cmake --install "$build" --prefix "$arg" >"$arg.log"
    for f in bin/jwtd share/jwtd/web/index.html share/jwtd/jwtd.env lib/systemd/system/jwtd.service \
        share/bash-completion/completions/jwtd share/man/man1/jwtd.1 lib/pkgconfig/libjwtd.pc; do
        [[ -e $arg/$f ]] || fail "not installed: $f"
    done
    grep -qx "prefix=$arg" "$arg/lib/pkgconfig/libjwtd.pc" || fail "libjwtd.pc does not name the install prefix"
    ;;
serve)
    start_server "$bin" --rate-limit off
    [[ $(readlink -f "/proc/$server_pid/cwd") == "$scratch/run" ]] || fail "not run from the unrelated folder"
    curl -sS -o "$scratch/page" -w '%{http_code}' "http://$addr/" >"$scratch/status"
    [[ $(cat "$scratch/status") == 200 ]] || fail "GET / answered $(cat "$scratch/status")"
    cmp -s "$scratch/page" "$arg/share/jwtd/web/index.html" || fail "GET / is not the installed index.html"
    grep -q '"web_dir":"'"$arg"'/bin/../share/jwtd/web"' "$scratch/err" || fail "the log does not name the installed web dir"
    echo "GET / from $addr: 200, the installed demo page"
    ;;
systemd)
    unit=$arg/lib/systemd/system/jwtd.service
    grep -qx "ExecStart=$bin serve .*" "$unit" || fail "ExecStart is not the installed jwtd"
    # Documentation=man:jwtd-serve(1) is checked too: MANPATH finds the staged page.
    out=$(MANPATH=$arg/share/man systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
    [[ -z $out ]] || fail "systemd-analyze verify warns: $out"
    echo "systemd-analyze verify: clean"
    ;;
man)
    groups=$(groups_of "$bin")
    [[ -n $groups ]] || fail "no command groups in jwtd --help"
    for g in $groups; do
        page=$arg/share/man/man1/jwtd-$g.1
        [[ -f $page ]] || fail "no man page for jwtd $g"
        grep -q "jwtd\\\\-$g (1)" "$arg/share/man/man1/jwtd.1" || fail "jwtd(1) does not name jwtd-$g(1)"
        text=$(sed 's/\\-/-/g' "$page")
        subs=$("$bin" "$g" --help | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p')
        for s in "" $subs; do
            # shellcheck disable=SC2086 # s is empty (the group's own --help) or one word
            opts=$(options_of "$bin" "$g" $s) || fail "jwtd $g $s --help failed"
            for o in $opts; do
                grep -qF -- "$o" <<<"$text" || fail "jwtd-$g.1 lacks $o of 'jwtd $g $s --help'"
            done
        done
        echo "jwtd-$g.1: every option of its --help"
    done
    ;;
completion)
    export PATH=$arg/bin:$PATH
    # complete WORD...: what _jwtd offers for the command line WORD... (the last one partial).
    complete_words() {
        bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _jwtd; printf "%s\n" "${COMPREPLY[@]}" | sort -u' \
            _ "$arg/share/bash-completion/completions/jwtd" "$@"
    }
    want=$( (groups_of jwtd; printf '%s\n' --help --version) | sort -u)
    [[ $(complete_words jwtd "") == "$want" ]] || fail "commands: $(complete_words jwtd "" | tr '\n' ' ')"
    for g in $(groups_of jwtd); do
        subs=$(jwtd "$g" --help | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' | sort -u)
        if [[ -n $subs ]]; then
            [[ $(complete_words jwtd "$g" "") == "$subs" ]] || fail "subcommands of $g"
        fi
        [[ $(complete_words jwtd "$g" --) == "$(options_of jwtd "$g")" ]] || fail "options of $g"
    done
    [[ $(complete_words jwtd token verify --a) == $'--alg\n--aud' ]] || fail "options of token verify"
    echo "completion: the commands, subcommands and options of --help"
    ;;
signals)
    # Argon2id at t=16, 128 MiB: a registration takes most of a second here.
    start_server "$arg" --rate-limit off --argon2-t 16 --argon2-m-kib 131072
    kill -HUP "$server_pid"
    sleep 0.3
    kill -0 "$server_pid" 2>/dev/null || fail "SIGHUP stopped jwtd serve"
    grep -q 'SIGHUP' "$scratch/err" || fail "SIGHUP was not logged"
    [[ $(curl -sS -o /dev/null -w '%{http_code}' "http://$addr/healthz") == 200 ]] || fail "not serving after SIGHUP"
    curl -sS -o "$scratch/reg" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"username":"slow","password":"correct horse battery staple"}' \
        "http://$addr/register" >"$scratch/status" &
    curl_pid=$!
    # In flight means hashing: wait (at most 10 s) until the server has spent 0.1 s of CPU more
    # than when idle, so that a loaded machine cannot send SIGTERM before the request arrived.
    cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
    idle=$(cpu_ticks) hz=$(getconf CLK_TCK)
    for _ in $(seq 200); do
        (($(cpu_ticks) - idle >= hz / 10)) && break
        sleep 0.05
    done
    (($(cpu_ticks) - idle >= hz / 10)) || fail "the registration never started hashing"
    kill -TERM "$server_pid"
    wait "$curl_pid" || fail "the request in flight failed: $(cat "$scratch/err")"
    rc=0
    wait "$server_pid" || rc=$?
    server_pid=
    [[ $(cat "$scratch/status") == 201 ]] || fail "the request in flight got $(cat "$scratch/status")"
    ((rc == 0)) || fail "jwtd serve exited $rc after SIGTERM"
    "$arg" user list --db "$scratch/run/j.db" | grep -q ' slow ' || fail "the user is not stored"
    echo "SIGHUP: still serving; SIGTERM: the registration in flight got 201, exit 0"
    ;;
metrics)
    "$arg" user add root --role admin --password 'correct horse battery' --db "$scratch/j.db" >/dev/null
    mkdir -p "$scratch/run" && mv "$scratch"/j.db* "$scratch/run/"
    start_server "$arg" --rate-limit off --web-dir ""
    login=$(curl -sS -H 'Content-Type: application/json' \
        -d '{"username":"root","password":"correct horse battery"}' "http://$addr/login")
    access=$(sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<<"$login")
    curl -sS -o /dev/null "http://$addr/nowhere"
    curl -sS -o "$scratch/metrics" "http://$addr/metrics"
    promtool check metrics <"$scratch/metrics" || fail "promtool check metrics"
    for want in 'jwtd_http_request_duration_seconds_count{route_class="password"} 1' \
        'jwtd_http_request_duration_seconds_count{route_class="other"} 1' \
        'jwtd_password_hash_duration_seconds_count 1' 'jwtd_store_errors_total{kind="error"} 0'; do
        grep -qxF "$want" "$scratch/metrics" || fail "/metrics lacks: $want"
    done
    admin=$(curl -sS -H "Authorization: Bearer $access" "http://$addr/admin/metrics")
    grep -q '"password_hash_duration": *{"count": *1' <<<"$admin" || fail "/admin/metrics: $admin"
    grep -q '"request_duration": *{' <<<"$admin" || fail "/admin/metrics lacks request_duration"
    echo "promtool check metrics: clean; histograms in both pages"
    ;;
*) fail "unknown mode $mode" ;;
esac

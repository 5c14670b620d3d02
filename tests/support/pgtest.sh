#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, nothing assumed about the machine's own service.
# usage: pgtest.sh start|stop|pause|resume STATE_DIR
#   start   initdb into a new folder (mktemp -d under /tmp), trust auth for local and
#           127.0.0.1 only, pg_ctl start on a free loopback port with the socket in that folder;
#           writes STATE_DIR/url (postgres://postgres@127.0.0.1:PORT, no database), port,
#           datadir and bin. As root (initdb refuses root) the server runs as user postgres.
#   stop    pg_ctl stop -m fast and removes the folder and STATE_DIR's files.
#   pause   stops the server, keeping its data (a test's "database down").
#   resume  starts it again on the same port.
# CTest runs start and stop as the fixture `postgres` (tests/store/CMakeLists.txt).
set -euo pipefail

usage() {
    echo "usage: pgtest.sh start|stop|pause|resume STATE_DIR" >&2
    exit 2
}
(($# == 2)) || usage
cmd=$1
state=$2

# The highest installed version's binaries.
find_bin() {
    local dir best=""
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x $dir/initdb ]] || continue
        if [[ -z $best ]] || (($(basename "$(dirname "$dir")") > $(basename "$(dirname "$best")"))); then
            best=$dir
        fi
    done
    [[ -n $best ]] || {
        echo "pgtest: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin" \
            "(scripts/deps.sh installs the postgresql package)" >&2
        exit 1
    }
    echo "$best"
}

# Runs "$@" as the unprivileged owner of the data folder.
as_owner() {
    if (($(id -u) == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# pg_ctl start on the recorded port, waiting (bounded) until the server accepts connections.
server_start() {
    local bin=$1 data=$2 port=$3 i
    as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data -c fsync=off -c max_connections=200" \
        start >/dev/null
    for ((i = 0; i < 100; i++)); do
        if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; then
            return 0
        fi
        sleep 0.1
    done
    echo "pgtest: the server did not become ready; its log:" >&2
    cat "$data/server.log" >&2 || true
    return 1
}

case $cmd in
start)
    bin=$(find_bin)
    mkdir -p "$state"
    if [[ -f $state/datadir ]]; then # a leftover of an interrupted run
        "$0" stop "$state" || true
        mkdir -p "$state"
    fi
    data=$(mktemp -d /tmp/jwtd-pgtest-XXXXXX)
    if (($(id -u) == 0)); then
        id postgres >/dev/null 2>&1 || {
            echo "pgtest: running as root needs the user postgres (the postgresql package makes it)" >&2
            exit 1
        }
        chown postgres: "$data"
    fi
    chmod 700 "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        >"$state/initdb.log" 2>&1 || {
        cat "$state/initdb.log" >&2
        rm -rf "$data"
        exit 1
    }
    # Trust only the socket in that folder and 127.0.0.1.
    as_owner sh -c "printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' >'$data/pg_hba.conf'"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$bin" >"$state/bin"
    echo "$data" >"$state/datadir"
    echo "$port" >"$state/port"
    server_start "$bin" "$data" "$port" || {
        "$0" stop "$state" || true
        exit 1
    }
    echo "postgres://postgres@127.0.0.1:$port" >"$state/url"
    echo "pgtest: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $data"
    ;;
stop)
    if [[ -f $state/datadir ]]; then
        bin=$(cat "$state/bin")
        data=$(cat "$state/datadir")
        if [[ -f $data/postmaster.pid ]] &&
            ! as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null; then
            # Keep the folder and the state: the server may still run, and says so there.
            echo "pgtest: pg_ctl stop failed for $data (see $data/server.log)" >&2
            exit 1
        fi
        case $data in
        /tmp/jwtd-pgtest-*) rm -rf "$data" ;;
        esac
    fi
    rm -f "$state/url" "$state/port" "$state/datadir" "$state/bin" "$state/initdb.log"
    rmdir "$state" 2>/dev/null || true
    ;;
pause)
    bin=$(cat "$state/bin")
    data=$(cat "$state/datadir")
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null
    ;;
resume)
    server_start "$(cat "$state/bin")" "$(cat "$state/datadir")" "$(cat "$state/port")"
    ;;
*) usage ;;
esac

#!/usr/bin/env bash
# durability.backup_restore: `jwtd db backup` of a SQLite database while jwtd serve takes
# registrations and logout-alls, then the restore of docs/OPERATIONS.md (copy the backup into
# place, start jwtd serve on it). Every registration and logout-all acknowledged before the
# backup started must be in the restored copy: the user exists, a revoked user's access and
# refresh tokens are refused, a user who did not log out keeps a working access token (the
# control: the restored server does verify the tokens it issued).
# Usage: backup_restore.sh JWTD
set -euo pipefail
jwtd=$(readlink -f "$1")
d=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$d"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# serve DIR: jwtd serve on DIR/jwtd.db (port 0); sets addr to its address.
serve() {
    (cd "$1" && exec "$jwtd" serve --listen 127.0.0.1:0 --db "$1/jwtd.db" --rate-limit off \
        --argon2-t 1 --argon2-m-kib 8 --web-dir "" >"$1/out" 2>"$1/err") &
    pids+=($!)
    for _ in $(seq 100); do
        # The background shell may not have created out yet: not an error, wait on.
        addr=$(sed -n 's|^jwtd: listening on http://\([^ ]*\) .*|\1|p' "$1/out" 2>/dev/null || true)
        [[ -n $addr ]] && return 0
        sleep 0.1
    done
    fail "jwtd serve on $1 did not start: $(cat "$1/err")"
}
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

mkdir -p "$d/a" "$d/r"
serve "$d/a"
a=$addr
# The load: register u<i>; every other user then logs out everywhere. Each acknowledged
# answer appends one line to acks (one short write, so a line counted is whole):
#   user NAME ACCESS            registered (201), token still valid
#   revoked NAME ACCESS REFRESH registered, then logout-all acknowledged (204)
(
    i=0
    while :; do
        i=$((i + 1))
        body=$(curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' \
            -d "{\"username\":\"u$i\",\"password\":\"correct horse battery $i\"}" "http://$a/register") || continue
        [[ ${body##*$'\n'} == 201 ]] || continue
        access=$(json_field access_token <<<"$body")
        refresh=$(json_field refresh_token <<<"$body")
        if ((i % 2 == 0)); then
            code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $access" \
                "http://$a/logout-all") || continue
            [[ $code == 204 ]] && echo "revoked u$i $access $refresh" >>"$d/acks"
        else
            echo "user u$i $access" >>"$d/acks"
        fi
    done
) &
load=$!
pids+=("$load")
sleep 2
# What was acknowledged before the backup started: it must all be in the copy.
n=$(wc -l <"$d/acks")
((n >= 10)) || fail "only $n acknowledged writes before the backup: the load did not run"
"$jwtd" db backup --db "$d/a/jwtd.db" "$d/backup.db"
sleep 0.5
kill "$load"
wait "$load" 2>/dev/null || true
echo "backup taken under load after $n acknowledged writes ($(wc -l <"$d/acks") in all)"

# Restore: the backup copied into place, a server started on it.
cp "$d/backup.db" "$d/r/jwtd.db"
"$jwtd" db check --db "$d/r/jwtd.db" | grep -qx 'integrity: ok' || fail "the restored copy fails db check"
serve "$d/r"
r=$addr
"$jwtd" user list --json --db "$d/r/jwtd.db" >"$d/users"
checked=0
while read -r kind name access refresh; do
    grep -q "\"username\":\"$name\"" "$d/users" || fail "$name was acknowledged before the backup but is not restored"
    me=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $access" "http://$r/me")
    if [[ $kind == user ]]; then
        [[ $me == 200 ]] || fail "$name's access token: $me on the restored server, not 200"
    else
        [[ $me == 401 ]] || fail "$name logged out everywhere before the backup, yet /me answers $me"
        code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            -d "{\"refresh_token\":\"$refresh\"}" "http://$r/refresh")
        [[ $code == 401 ]] || fail "$name's revoked refresh token: $code on the restored server"
    fi
    checked=$((checked + 1))
done < <(head -n "$n" "$d/acks")
echo "durability.backup_restore: $checked acknowledged writes all in the restored copy"

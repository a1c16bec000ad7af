#!/usr/bin/env bash
# A private, throw-away PostgreSQL server for the integration tests.
#
#   pg_server.sh install       install Debian's postgresql if no server binaries are present
#   pg_server.sh start         init a new cluster in a new temp directory, start it on a free
#                              port of 127.0.0.1; prints PGPORT=, PGHOST=, PGUSER=, PGROOT= lines
#   pg_server.sh stop PGROOT   stop that cluster and delete its directory
#
# The cluster belongs to nobody else: trust authentication on 127.0.0.1 only, fsync off, its own
# socket directory. Run as root (CI), initdb and the server run as the `postgres` system user,
# which PostgreSQL requires; run as another user, they run as that user.
set -euo pipefail

find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd_install() {
    if find_bindir >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "pg_server.sh: PostgreSQL is not installed and this user cannot apt-get install it" >&2
        echo "pg_server.sh: run 'sudo apt-get install postgresql' once" >&2
        return 3
    fi
    echo "pg_server.sh: installing Debian's postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    # Debian's package creates and starts a system cluster: the tests do not use it.
    if command -v pg_lsclusters >/dev/null; then
        pg_lsclusters --no-header 2>/dev/null | while read -r version name _; do
            pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
        done
    fi
    find_bindir >/dev/null
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd_start() {
    cmd_install
    local bindir root port attempt
    bindir=$(find_bindir)
    root=$(mktemp -d "${TMPDIR:-/tmp}/tap-listrak-pg.XXXXXX")
    chmod 755 "$root"
    mkdir -p "$root/data" "$root/socket"
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$root"
    fi
    as_owner "$bindir/initdb" -D "$root/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$root/initdb.log" 2>&1 || { cat "$root/initdb.log" >&2; return 1; }
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bindir/pg_ctl" -D "$root/data" -l "$root/server.log" -w -t 60 start \
            -o "-p $port -k $root/socket -c listen_addresses=127.0.0.1 -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
            echo "PGHOST=127.0.0.1"
            echo "PGPORT=$port"
            echo "PGUSER=postgres"
            echo "PGROOT=$root"
            return 0
        fi
    done
    cat "$root/server.log" >&2
    return 1
}

cmd_stop() {
    local root=${1:?usage: pg_server.sh stop PGROOT}
    local bindir
    case "$root" in
        */tap-listrak-pg.*) ;;
        *) echo "pg_server.sh: $root is not a directory made by 'pg_server.sh start'" >&2; return 2 ;;
    esac
    if bindir=$(find_bindir) && [ -f "$root/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$root/data" -w -t 60 -m fast stop >/dev/null || true
    fi
    rm -rf "$root"
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) shift; cmd_stop "$@" ;;
    *) echo "usage: pg_server.sh install | start | stop PGROOT" >&2; exit 2 ;;
esac

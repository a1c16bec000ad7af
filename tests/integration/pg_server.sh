#!/usr/bin/env bash
# A private, throw-away PostgreSQL server for the integration tests.
#
#   pg_server.sh start         init a new cluster in a new temp directory, start it on a free
#                              port of 127.0.0.1; prints PGHOST=, PGPORT=, PGUSER=, PGROOT=, PGBIN=
#   pg_server.sh stop PGROOT   stop that cluster and delete its directory
#
# The server binaries come from the PyPI package pgserver, which `make tools` installs into
# .venv-tools/pgserver (no root, no system package). The cluster belongs to nobody else: trust
# authentication on 127.0.0.1 only, fsync off, its own socket directory.
#
# initdb and postgres refuse to run as root. Run as root (CI), the script runs them as the
# unprivileged system user $PG_RUN_USER (created if missing); run as anyone else, as that user.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
PG_VENV=$REPO/.venv-tools/pgserver
PG_RUN_USER=${PG_RUN_USER:-tap-listrak-pg}

die() { echo "pg_server.sh: $*" >&2; exit 1; }

# The pgserver package directory (its pginstall/bin holds initdb, pg_ctl, postgres, psql).
find_package() {
    local dir
    for dir in "$PG_VENV"/lib/python3*/site-packages/pgserver; do
        if [ -x "$dir/pginstall/bin/initdb" ] && [ -x "$dir/pginstall/bin/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

is_root() { [ "$(id -u)" = 0 ]; }

as_owner() {
    if is_root; then
        runuser -u "$PG_RUN_USER" -- "$@"
    else
        "$@"
    fi
}

ensure_run_user() {
    if ! id -u "$PG_RUN_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_RUN_USER" \
            || die "cannot create the system user $PG_RUN_USER to run PostgreSQL as (initdb refuses root)"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd_start() {
    local package bindir port attempt
    package=$(find_package) || die "PostgreSQL is missing ($PG_VENV): run \`make tools\`"
    root=$(mktemp -d "${TMPDIR:-/tmp}/tap-listrak-pg.XXXXXX")
    trap 'rm -rf "$root"' EXIT  # a start that fails leaves nothing behind
    mkdir -p "$root/data" "$root/socket"
    if is_root; then
        ensure_run_user
        chmod 755 "$root"
        # The unprivileged user may not reach a checkout under a private directory (e.g. /root):
        # then it runs a copy. The package and its .libs sibling are copied together, because
        # the binaries find libpq through a path relative to themselves.
        if ! runuser -u "$PG_RUN_USER" -- test -x "$package/pginstall/bin/postgres"; then
            mkdir "$root/pkg"
            cp -a "$package" "$package".libs "$root/pkg/"
            package=$root/pkg/pgserver
        fi
        chown -R "$PG_RUN_USER": "$root/data" "$root/socket"
    fi
    bindir=$package/pginstall/bin
    as_owner "$bindir/initdb" -D "$root/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
        >"$root/initdb.log" 2>&1 || { cat "$root/initdb.log" >&2; die "initdb failed"; }
    for attempt in 1 2 3 4 5; do  # another process may take the free port before the server does
        port=$(free_port)
        if as_owner "$bindir/pg_ctl" -D "$root/data" -l "$root/data/server.log" -w -t 60 start \
            -o "-p $port -k $root/socket -c listen_addresses=127.0.0.1 -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
            echo "PGHOST=127.0.0.1"
            echo "PGPORT=$port"
            echo "PGUSER=postgres"
            echo "PGROOT=$root"
            echo "PGBIN=$bindir"
            trap - EXIT
            return 0
        fi
    done
    cat "$root/data/server.log" >&2
    die "the server did not start"
}

cmd_stop() {
    local root=${1:?usage: pg_server.sh stop PGROOT}
    local pg_ctl
    case "$root" in
        */tap-listrak-pg.*) ;;
        *) echo "pg_server.sh: $root is not a directory made by 'pg_server.sh start'" >&2; exit 2 ;;
    esac
    if [ -f "$root/data/postmaster.pid" ]; then
        pg_ctl=$root/pkg/pgserver/pginstall/bin/pg_ctl
        [ -x "$pg_ctl" ] || pg_ctl=$(find_package)/pginstall/bin/pg_ctl
        as_owner "$pg_ctl" -D "$root/data" -w -t 60 -m fast stop >/dev/null || true
    fi
    rm -rf "$root"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) shift; cmd_stop "$@" ;;
    *) echo "usage: pg_server.sh start | stop PGROOT" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster.
#
#   scripts/with-postgres.sh pytest -m "not browser"
#
# Starts a private cluster from Debian's /usr/lib/postgresql/<version>/bin (highest version
# present) in a temporary directory, listening on 127.0.0.1 on a free port, with trust
# authentication and fsync off; creates the database fi_test and exports
#   FI_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:<port>/fi_test
# then runs the command. The cluster is stopped and the directory removed on exit, whatever
# happens; the command's exit status is passed through.
#
# Without PostgreSQL binaries it prints one line and exits 0, or 1 when CI=true.
# As root, initdb/pg_ctl run as the "postgres" user (PostgreSQL refuses to run as root).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

# Without a match the glob stays as written and the -x test below fails.
pg_bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "with-postgres: no PostgreSQL found in /usr/lib/postgresql/*/bin (apt-get install postgresql); failing because CI=true" >&2
        exit 1
    fi
    echo "with-postgres: no PostgreSQL found in /usr/lib/postgresql/*/bin (apt-get install postgresql); skipping: $*" >&2
    exit 0
fi

# Run a PostgreSQL server program: as "postgres" when we are root, else as ourselves.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$tmp" && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root but there is no 'postgres' user to run the server" >&2
    exit 1
fi

# Under /tmp rather than $TMPDIR: the postgres user must reach it, and the Unix socket path
# inside it must stay short (about 100 bytes at most).
tmp=$(mktemp -d /tmp/fi-pg.XXXXXXXX)
started=""

# shellcheck disable=SC2329  # called by the EXIT trap
cleanup() {
    if [ -f "$tmp/data/postmaster.pid" ]; then
        as_pg "$pg_bin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$tmp"
fi

# C.UTF-8 keeps sorting stable while lower()/ILIKE still understand non-ASCII letters.
locale=C
if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
    locale=C.UTF-8
fi

if ! as_pg "$pg_bin/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --locale="$locale" \
    --no-sync >"$tmp/initdb.log" 2>&1; then
    echo "with-postgres: initdb failed:" >&2
    cat "$tmp/initdb.log" >&2
    exit 1
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A free port can be taken between the probe and the server's bind: try a few.
for _ in 1 2 3; do
    port=$(free_port)
    if as_pg "$pg_bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >/dev/null 2>&1; then
        started=yes
        break
    fi
done
if [ -z "$started" ]; then
    echo "with-postgres: the server did not start; its log:" >&2
    cat "$tmp/server.log" >&2 || true
    exit 1
fi

"$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres fi_test

export FI_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/fi_test"
echo "with-postgres: PostgreSQL $("$pg_bin/pg_ctl" --version | awk '{print $3}') at $FI_TEST_DATABASE_URL" >&2

status=0
"$@" || status=$?
exit "$status"

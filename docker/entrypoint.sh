#!/bin/sh
# Container entrypoint: apply database migrations, then become the server (PID 1, so it
# receives docker stop's SIGTERM). Other arguments run that fediverse-intranet subcommand
# instead, e.g.  docker run --rm -v fi-data:/data IMAGE migrate
set -eu

if [ "$#" -eq 0 ] || [ "$1" = serve ]; then
    if [ "$#" -gt 0 ]; then
        shift
    fi
    fediverse-intranet migrate
    exec fediverse-intranet serve "$@"
fi

exec fediverse-intranet "$@"
